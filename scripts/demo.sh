#!/usr/bin/env bash
# The main job: set everything up, start the bench (pcscd + vpcd + a virtual card) and the daemon,
# and show a reader and a card arriving and leaving through the API, as a kiosk would see it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -q 2>&1 | grep -v "warning: prohibited flag" || true
bin=.build/debug
work=$(mktemp -d /tmp/enrolld-demo.XXXXXX)
export ENROLLD_BENCH_DIR=$work/bench
daemon_pid=
watch_pid=
cleanup() {
    if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; fi
    if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    scripts/bench.sh stop >/dev/null || true
}
trap cleanup EXIT

cat >"$work/enrolld.conf" <<CONF
[daemon]
state_directory = $work/state
[readers]
pcsc_retry_seconds = 0.3
CONF
sock=$work/api.sock

echo "== starting the bench"
scripts/bench.sh start
echo "== starting enrolld (socket $sock)"
"$bin/enrolld" --config "$work/enrolld.conf" --socket "$sock" 2>"$work/enrolld.log" &
daemon_pid=$!
for _ in $(seq 100); do "$bin/enrollctl" --socket "$sock" health >/dev/null 2>&1 && break; sleep 0.1; done
"$bin/enrollctl" --socket "$sock" health
sleep 1
echo "== readers"
"$bin/enrollctl" --socket "$sock" readers
echo "== events while the card is pulled and tapped again"
"$bin/enrollctl" --socket "$sock" watch &
watch_pid=$!
sleep 0.5
scripts/bench.sh card-stop 0
sleep 2
scripts/bench.sh card-start 0
sleep 2
echo "== readers"
"$bin/enrollctl" --socket "$sock" readers --json
echo "== daemon log"
cat "$work/enrolld.log"
