#!/usr/bin/env bash
# The browser tests (Tests/BrowserTests): the kiosk app and the counter console in headless Chromium (Debian's
# chromium + chromium-driver; nothing is downloaded but the pinned PyPI packages below, into the git-ignored venv
# .build-venv/browser), with a fake camera fed from Y4M files made from ../shared/faces/johns, against a real
# enrolld, pcscd + vpcd and the virtual card. Screenshots go to .build/browser-artefacts/. Test tooling only.
#   scripts/browser-tests.sh [PYTEST ARGUMENTS...]      (after swift build)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build-venv/browser
requirements="selenium==4.38.0 pytest==9.2.0 pillow==13.0.0"
python=/usr/bin/python3
[ -x "$python" ] || python=python3
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
    [ -x "$tool" ] || { echo "browser-tests: $tool is missing (scripts/setup.sh installs chromium chromium-driver)" >&2; exit 1; }
done
stamp="$venv/.requirements"
if [ "$(cat "$stamp" 2>/dev/null)" != "$requirements" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv" || { echo "browser-tests: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 1; }
    # shellcheck disable=SC2086
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check $requirements >"$venv.log" 2>&1; then
        cat "$venv.log" >&2
        echo "browser-tests: could not install $requirements from PyPI" >&2
        exit 1
    fi
    echo "$requirements" >"$stamp"
fi
bin=$(swift build --show-bin-path 2>/dev/null)
export ENROLLD_BIN=${ENROLLD_BIN:-$bin}
export ENROLLD_MODEL_DIR=${ENROLLD_MODEL_DIR:-/var/lib/enrolld/models}
# Selenium must use the system's chromedriver and Chromium, never fetch its own.
export SE_OFFLINE=true
# Paths given on the command line replace the whole suite.
paths=(Tests/BrowserTests)
for argument in "$@"; do
    case $argument in Tests/*) paths=() ;; esac
done
exec "$venv/bin/python" -m pytest "${paths[@]}" -p no:cacheprovider -q "$@"
