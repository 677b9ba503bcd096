#!/bin/sh
# Installs the face model files that FaceMatch needs into DIR (default: $ENROLLD_MODEL_DIR, else
# /var/lib/enrolld/models): dlib's ResNet face embedding model and its 5-point landmark model, from
# the PyPI sdist face_recognition_models==0.3.0 (CC0). Every download and file is checked against a
# pinned SHA-256. The 68-point landmark model in the same sdist is never installed (its training
# data is not licensed for commercial use). Idempotent and quiet when the files are already there.
set -eu

SDIST_NAME="face_recognition_models-0.3.0.tar.gz"
SDIST_SHA256="b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf"
RESNET_NAME="dlib_face_recognition_resnet_model_v1.dat"
RESNET_SHA256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
SHAPE_NAME="shape_predictor_5_face_landmarks.dat"
SHAPE_SHA256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"

DIR="${1:-${ENROLLD_MODEL_DIR:-/var/lib/enrolld/models}}"

fail() {
    echo "install-models: $*" >&2
    exit 1
}

sha256_of() {
    sha256sum "$1" | cut -d ' ' -f 1
}

file_ok() {
    [ -f "$DIR/$1" ] && [ "$(sha256_of "$DIR/$1")" = "$2" ]
}

if file_ok "$RESNET_NAME" "$RESNET_SHA256" && file_ok "$SHAPE_NAME" "$SHAPE_SHA256"; then
    exit 0
fi

command -v sha256sum >/dev/null 2>&1 || fail "sha256sum not found (install coreutils)"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    PYTHON=/usr/bin/python3
elif command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1; then
    PYTHON=python3
else
    fail "pip not found: install python3-pip (apt-get install python3-pip)"
fi

mkdir -p "$DIR" || fail "cannot create $DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT INT TERM

if ! "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    face_recognition_models==0.3.0 -d "$WORK" >"$WORK/pip.log" 2>&1; then
    cat "$WORK/pip.log" >&2
    fail "could not download face_recognition_models==0.3.0 from PyPI (is the network or a PyPI mirror reachable?)"
fi

[ -f "$WORK/$SDIST_NAME" ] || fail "pip did not produce $SDIST_NAME"
GOT="$(sha256_of "$WORK/$SDIST_NAME")"
[ "$GOT" = "$SDIST_SHA256" ] || fail "$SDIST_NAME has sha256 $GOT, expected $SDIST_SHA256: refusing it"

MEMBER_DIR="face_recognition_models-0.3.0/face_recognition_models/models"
tar -xzf "$WORK/$SDIST_NAME" -C "$WORK" "$MEMBER_DIR/$RESNET_NAME" "$MEMBER_DIR/$SHAPE_NAME" \
    || fail "could not extract the model files from $SDIST_NAME"

install_one() {
    got="$(sha256_of "$WORK/$MEMBER_DIR/$1")"
    [ "$got" = "$2" ] || fail "$1 has sha256 $got, expected $2: refusing it"
    cp "$WORK/$MEMBER_DIR/$1" "$DIR/$1.tmp" && chmod 0644 "$DIR/$1.tmp" && mv -f "$DIR/$1.tmp" "$DIR/$1" \
        || fail "could not write $DIR/$1"
}

install_one "$RESNET_NAME" "$RESNET_SHA256"
install_one "$SHAPE_NAME" "$SHAPE_SHA256"
