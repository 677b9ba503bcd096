#!/usr/bin/env bash
# Installs what enrolld needs to build, test and run its bench on Debian 12: system libraries,
# pcscd with the vpcd virtual reader driver, and the face model files. Idempotent and quiet when
# everything is already there. Run as root or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    pkg-config
    libpcsclite-dev pcscd vsmartcard-vpcd
    libssl-dev openssl
    libsqlite3-dev sqlite3
    # PostgreSQL store for fleets (issue 11): libpq to build; the server for the tests' private clusters.
    libpq-dev postgresql
    libdlib-dev libblas-dev liblapack-dev libopenblas0-pthread
    libopenjp2-7-dev libjpeg-dev libpng-dev
    # Liveness (issue 19): OpenCV's dnn (MiniFASNet), video (point tracking) and imgproc, behind CLivenessEngine.
    libopencv-dnn-dev libopencv-video-dev libopencv-imgproc-dev libopencv-core-dev
    # Card scanning (issue 20): OpenCV (locating, straightening), Tesseract with its English LSTM data (the engine
    # compared with ours), FreeType and the OCR-B font (our classifier's templates), DejaVu (the test cards' text).
    libopencv-dev libtesseract-dev tesseract-ocr-eng libfreetype-dev fonts-ocr-b fonts-dejavu-core
    python3-pip
    # Trust lists (issue 22): libxmlsec1 (OpenSSL engine) to build; the xmlsec1 tool checks exports in the tests.
    libxmlsec1-dev libxmlsec1-openssl xmlsec1
    # Data release by consent (issue 23): libqrencode draws the presentation QR codes; zbarimg (zbar-tools) reads
    # them in enroll-verifier and the tests.
    libqrencode-dev zbar-tools
    # OCSP and CRL published over HTTP (issue 22): Packaging/enrolld-nginx.conf, tested with Debian's nginx.
    nginx-light
    # scripts/check-openapi.sh: openapi-spec-validator from PyPI in a venv under .build-venv/.
    python3-venv
    # Packaging checks (scripts/check-packaging.sh): build, lint and install the .deb, verify units and rules.
    dpkg-dev binutils lintian systemd udev curl libopenblas0
    # Browser tests (issue 21): Debian's Chromium and its WebDriver (Selenium from PyPI drives them, in a venv under
    # .build-venv/browser); a small CJK font so the Traditional Chinese screens render; setpriv (util-linux) runs
    # the gateways as other uids.
    chromium chromium-driver fonts-wqy-microhei util-linux
    # Activation through the contact (issue 24): the tests' loopback SMTP server (STARTTLS, AUTH), run with
    # /usr/bin/python3.
    python3-aiosmtpd
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root or install sudo" >&2; exit 1; }
    sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: the Swift 6 toolchain is not on PATH (install it from swift.org)" >&2; exit 1; }

# Face model files (issue 6): the script pins their sha256.
if [ -x scripts/install-models.sh ]; then
    scripts/install-models.sh "${ENROLLD_MODEL_DIR:-/var/lib/enrolld/models}"
fi
