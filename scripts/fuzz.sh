#!/usr/bin/env bash
# Builds the libFuzzer targets (enroll-fuzz with -sanitize=fuzzer,address) and runs each for a bounded time.
# Fails when any target finds a crash, a leak, an out-of-memory or a timeout; the input is left in
# .build-fuzz/artifacts/<target>-crash-… (add it to Fuzz/corpus/<target>/ once fixed).
#
#   scripts/fuzz.sh                 every target for FUZZ_SECONDS each (default 20 s; 10 s for the stateful and
#                                   service targets chip, chip-script, sm, router, crl, x509, release): the CI run
#   scripts/fuzz.sh --long tlv mrz  chosen targets for FUZZ_SECONDS (default 630) each, logs kept
#   scripts/fuzz.sh --build-only    build the fuzzer and stop
#
# Environment: FUZZ_SECONDS, FUZZ_RSS_MB (memory limit, default 2048), FUZZ_TIMEOUT (seconds per input,
# default 10), FUZZ_LOG_DIR (default .build-fuzz/logs), FUZZ_BINARY (use this fuzzer, no build: for long
# runs, a copy that a rebuild cannot replace under the running fuzzer). The working corpus
# .build-fuzz/corpus/<target>/ keeps what earlier runs found; the committed Fuzz/corpus/<target>/ is only read.
set -euo pipefail
cd "$(dirname "$0")/.."

long=0
build_only=0
targets=()
for argument in "$@"; do
    case "$argument" in
        --long) long=1 ;;
        --build-only) build_only=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) echo "fuzz: unknown option $argument" >&2; exit 2 ;;
        *) targets+=("$argument") ;;
    esac
done
# The brief run's time per target: the targets added with issue 18 run 10 s each, so that they add a minute
# to CI (their long runs are recorded in README.md, "Fuzzing").
brief_seconds() {
    case "$1" in
        chip|chip-script|sm|router|crl|x509|release) echo 10 ;;
        *) echo 20 ;;
    esac
}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
scratch=.build-fuzz
log_dir=${FUZZ_LOG_DIR:-$scratch/logs}

# Release code with ASan: the sanitizers and the coverage instrumentation apply to every module (C and C++
# targets included); the system libraries (OpenSSL, dlib, libjpeg, OpenJPEG) run uninstrumented but ASan
# still intercepts their allocations. Only the fuzz product is built: libFuzzer brings its own main.
# -Xswiftc -sanitize=fuzzer,address: with whole-module optimisation swiftc keeps only the last -sanitize= flag,
# so SwiftPM's "-sanitize=fuzzer -sanitize=address" alone leaves the Swift code without coverage counters.
build=(swift build -c release --scratch-path "$scratch" --sanitize=fuzzer --sanitize=address
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -DLIBFUZZER --product enroll-fuzz)
fuzzer=${FUZZ_BINARY:-$scratch/release/enroll-fuzz}
if [ -z "${FUZZ_BINARY:-}" ]; then
    echo "fuzz: building ($(date -u +%H:%M:%S) UTC)"
    mkdir -p "$scratch"
    if ! "${build[@]}" >"$scratch/build.log" 2>&1; then
        grep -v "warning: prohibited flag" "$scratch/build.log" | tail -40 >&2
        echo "fuzz: the fuzzer build failed" >&2
        exit 1
    fi
fi
[ -x "$fuzzer" ] || { echo "fuzz: $fuzzer was not built" >&2; exit 1; }
[ "$build_only" -eq 1 ] && exit 0

if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(ls Fuzz/corpus)
fi
mkdir -p "$log_dir" "$scratch/artifacts"
export SWIFT_BACKTRACE=enable=no
# Leaks are findings; a report names the allocating frame.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:malloc_context_size=20:handle_abort=1}

status=0
summary=()
# libFuzzer's options per target: the chip targets' inputs are scripts of many records (an honest exchange is
# 2-5 KB), so their length limit is set and grows at once instead of creeping up from 100 bytes.
target_options() {
    case "$1" in
        chip) echo "-max_len=4096 -len_control=0" ;;
        chip-script) echo "-max_len=8192 -len_control=0" ;;
    esac
}

for target in "${targets[@]}"; do
    # shellcheck disable=SC2207
    options=($(target_options "$target"))
    seconds=${FUZZ_SECONDS:-$([ "$long" -eq 1 ] && echo 630 || brief_seconds "$target")}
    [ -d "Fuzz/corpus/$target" ] || { echo "fuzz: no seed corpus Fuzz/corpus/$target" >&2; exit 2; }
    work=$scratch/corpus/$target
    mkdir -p "$work"
    log=$log_dir/$target-$(date -u +%Y%m%dT%H%M%S).log
    echo "fuzz: $target for ${seconds}s (log $log)"
    result=0
    ENROLLD_FUZZ_TARGET=$target "$fuzzer" "$work" "Fuzz/corpus/$target" \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout" -print_final_stats=1 "${options[@]}" \
        -artifact_prefix="$scratch/artifacts/$target-" >"$log" 2>&1 || result=$?
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    took=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
    last=$(grep -E "^#[0-9]+[[:space:]]" "$log" | tail -1 | grep -oE "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*" || true)
    if [ "$result" -ne 0 ]; then
        status=1
        echo "fuzz: $target FAILED (exit $result):" >&2
        grep -E "ERROR: |SUMMARY: |Test unit written|Fatal error|panic|precondition" "$log" | head -20 >&2 || true
        summary+=("$target: FAILED after ${execs:-?} execs — see $log")
    else
        summary+=("$target: ${seconds}s, ${execs:-?} execs (${took:-?}/s), ${last:-no stats}")
    fi
done
echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
exit "$status"
