#!/bin/sh
# Installs the face model files that FaceMatch needs into DIR (default: $ENROLLD_MODEL_DIR, else
# /var/lib/enrolld/models): dlib's ResNet face embedding model and its 5-point landmark model, from
# the PyPI sdist face_recognition_models==0.3.0 (CC0). Every download and file is checked against a
# pinned SHA-256. The 68-point landmark model in the same sdist is never installed (its training
# data is not licensed for commercial use). Also the two MiniFASNet presentation-attack models (ONNX,
# Apache 2.0) from ../shared/models/minifasnet beside the repository (or $ENROLLD_MINIFASNET_SOURCE), with
# their licence. Idempotent and quiet when the files are already there.
set -eu

SDIST_NAME="face_recognition_models-0.3.0.tar.gz"
SDIST_SHA256="b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf"
RESNET_NAME="dlib_face_recognition_resnet_model_v1.dat"
RESNET_SHA256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
SHAPE_NAME="shape_predictor_5_face_landmarks.dat"
SHAPE_SHA256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"

MINIFASNET_V2_NAME="MiniFASNetV2.onnx"
MINIFASNET_V2_SHA256="4eed38f0bde33c9b805942a5f25e42ce1161e2bda545254be622be957727794e"
MINIFASNET_V1SE_NAME="MiniFASNetV1SE.onnx"
MINIFASNET_V1SE_SHA256="d819a69bac6b9ade2a0f4d9b60b618e1260f7bf3ba1fddff6c5d82131cb1083f"
MINIFASNET_LICENSE_SHA256="c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4"
MINIFASNET_SOURCE="${ENROLLD_MINIFASNET_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)/../shared/models/minifasnet}"

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

# MiniFASNet: copied from the shared model folder, each file checked against its pin before it is installed.
install_minifasnet() {
    copy_pinned() {
        [ -f "$MINIFASNET_SOURCE/$1" ] || fail "$MINIFASNET_SOURCE/$1 not found (set ENROLLD_MINIFASNET_SOURCE)"
        got="$(sha256_of "$MINIFASNET_SOURCE/$1")"
        [ "$got" = "$3" ] || fail "$MINIFASNET_SOURCE/$1 has sha256 $got, expected $3: refusing it"
        cp "$MINIFASNET_SOURCE/$1" "$DIR/$2.tmp" && chmod 0644 "$DIR/$2.tmp" && mv -f "$DIR/$2.tmp" "$DIR/$2" \
            || fail "could not write $DIR/$2"
    }
    mkdir -p "$DIR" || fail "cannot create $DIR"
    copy_pinned "$MINIFASNET_V2_NAME" "$MINIFASNET_V2_NAME" "$MINIFASNET_V2_SHA256"
    copy_pinned "$MINIFASNET_V1SE_NAME" "$MINIFASNET_V1SE_NAME" "$MINIFASNET_V1SE_SHA256"
    copy_pinned LICENSE MiniFASNet.LICENSE "$MINIFASNET_LICENSE_SHA256"
}
if ! file_ok "$MINIFASNET_V2_NAME" "$MINIFASNET_V2_SHA256" || ! file_ok "$MINIFASNET_V1SE_NAME" "$MINIFASNET_V1SE_SHA256" \
    || ! file_ok MiniFASNet.LICENSE "$MINIFASNET_LICENSE_SHA256"; then
    install_minifasnet
fi

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
