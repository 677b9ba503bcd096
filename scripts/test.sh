#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test: unit, in-process and
# hardware-in-loop (real pcscd + vpcd, started and stopped by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ENROLLD_MODEL_DIR=${ENROLLD_MODEL_DIR:-/var/lib/enrolld/models}
swift build --build-tests 2>&1 | grep -v "warning: prohibited flag" || true
swift build --build-tests -q
# Tests run one after another: the hardware-in-loop ones share pcscd and the vpcd ports.
swift test --skip-build "$@"
# Packaging (issue 9): build the .deb, lint it, install it, start the installed daemon the way its units
# do, verify units and udev rules, remove it. Full runs only (no test filter); needs root.
if [ $# -eq 0 ] && [ "${ENROLLD_SKIP_PACKAGING:-0}" != 1 ]; then
    if [ "$(id -u)" -eq 0 ]; then scripts/check-packaging.sh; else sudo scripts/check-packaging.sh; fi
fi
