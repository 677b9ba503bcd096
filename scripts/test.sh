#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test: unit, in-process and
# hardware-in-loop (real pcscd + vpcd, started and stopped by the tests themselves).
# Extra arguments go to `swift test` (e.g. --filter HILTests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ENROLLD_MODEL_DIR=${ENROLLD_MODEL_DIR:-/var/lib/enrolld/models}
# pkg-config's "-pthread" for pcsc-lite is harmless; keep it out of the log.
swift build --build-tests 2>&1 | grep -v "warning: prohibited flag" || true
swift build --build-tests -q
log=$(mktemp /tmp/enrolld-test.XXXXXX)
trap 'rm -f "$log"' EXIT
# Tests run one after another: the hardware-in-loop ones share pcscd and the vpcd ports.
status=0
swift test --skip-build "$@" 2>&1 | tee "$log" || status=$?
# XCTest's overall line, e.g. "Executed 250 tests, with 1 test skipped and 0 failures (0 unexpected)".
summary=$(grep -A1 "Test Suite 'All tests'" "$log" | grep -E "Executed [0-9]+ test" | tail -1 || true)
executed=$(echo "$summary" | sed -nE 's/.*Executed ([0-9]+) tests?.*/\1/p')
failed=$(echo "$summary" | sed -nE 's/.* ([0-9]+) failures?.*/\1/p')
skipped=$(echo "$summary" | sed -nE 's/.* ([0-9]+) tests? skipped.*/\1/p')
if [ -z "$executed" ]; then
    echo "no XCTest summary found: the test run did not complete" >&2
    status=1
fi
# The browser tests (issue 21): the kiosk app and the counter console in headless Chromium against the real daemon
# and bench (scripts/browser-tests.sh, pytest); their counts join the closing line.
browser_passed=0
browser_failed=0
browser_skipped=0
if [ $# -eq 0 ] && [ "${BROWSER_TESTS:-1}" != 0 ]; then
    browser_log=$(mktemp /tmp/enrolld-browser.XXXXXX)
    browser_status=0
    scripts/browser-tests.sh 2>&1 | tee "$browser_log" || browser_status=$?
    browser_summary=$(grep -E "^[0-9]+ (passed|failed|error)|^(=+ )?[0-9]+ (passed|failed)" "$browser_log" | tail -1 || true)
    browser_passed=$(echo "$browser_summary" | sed -nE 's/.*\b([0-9]+) passed.*/\1/p')
    browser_failed=$(( $(echo "$browser_summary" | sed -nE 's/.*\b([0-9]+) failed.*/\1/p' | grep . || echo 0) \
        + $(echo "$browser_summary" | sed -nE 's/.*\b([0-9]+) errors?.*/\1/p' | grep . || echo 0) ))
    browser_skipped=$(echo "$browser_summary" | sed -nE 's/.*\b([0-9]+) skipped.*/\1/p')
    rm -f "$browser_log"
    if [ "$browser_status" -ne 0 ] || [ -z "$browser_passed" ]; then
        echo "browser tests failed (scripts/browser-tests.sh exit $browser_status)" >&2
        [ "$browser_failed" -gt 0 ] || browser_failed=1
        status=1
    fi
fi
# docs/openapi.json must be a valid OpenAPI 3.1 document (OpenAPIDocumentTests check it against the code).
if [ "$status" -eq 0 ] && [ $# -eq 0 ]; then
    scripts/check-openapi.sh || status=$?
fi
if [ "$status" -eq 0 ] && [ -x scripts/check-packaging.sh ] && [ $# -eq 0 ]; then
    scripts/check-packaging.sh || status=$?
fi
# Fuzzing (scripts/fuzz.sh): every libFuzzer target briefly; FUZZ_SECONDS=0 skips it.
if [ "$status" -eq 0 ] && [ $# -eq 0 ] && [ "${FUZZ_SECONDS:-20}" != 0 ]; then
    scripts/fuzz.sh || status=$?
fi
passed=$(( ${executed:-0} - ${failed:-0} - ${skipped:-0} + ${browser_passed:-0} ))
echo "$passed passed, $(( ${failed:-0} + browser_failed )) failed, $(( ${skipped:-0} + ${browser_skipped:-0} )) skipped"
exit "$status"
