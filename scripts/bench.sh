#!/usr/bin/env bash
# The hardware-in-loop bench without hardware: pcscd with the vpcd driver and virtual cards.
#
#   scripts/bench.sh start [PROFILE0 [PROFILE1]]   start pcscd (unless one runs) and a card per profile
#   scripts/bench.sh card-stop [0|1]               pull a card (pcscd sees it removed)
#   scripts/bench.sh card-start [0|1] [PROFILE]    tap it again
#   scripts/bench.sh stop                          stop what this script started (by pid), nothing else
#   scripts/bench.sh status
#
# State lives in $ENROLLD_BENCH_DIR (default /tmp/enrolld-bench). Binaries come from $ENROLLD_BIN
# (default .build/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
state=${ENROLLD_BENCH_DIR:-/tmp/enrolld-bench}
bin=${ENROLLD_BIN:-.build/debug}
mkdir -p "$state"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

pcscd_answers() { "$bin/enroll-vcard" --wait-reader "Virtual PCD 00 00" --timeout "${1:-0.3}" 2>/dev/null; }

start_pcscd() {
    if pcscd_answers; then
        echo "bench: using the pcscd already running"
        return
    fi
    # A killed pcscd leaves its socket and pid file; a new one must not trip over them.
    rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
    pcscd_bin=$(command -v pcscd || echo /usr/sbin/pcscd)
    "$pcscd_bin" --foreground >"$state/pcscd.log" 2>&1 &
    echo $! >"$state/pcscd.pid"
    pcscd_answers 15 || { echo "bench: pcscd did not list the virtual readers; see $state/pcscd.log" >&2; exit 1; }
    echo "bench: pcscd started (pid $(cat "$state/pcscd.pid"))"
}

start_card() {
    local slot=$1 profile=${2:-}
    local port=$((35963 + slot))
    if alive "$state/card$slot.pid"; then echo "bench: card $slot already present"; return; fi
    local args=(--port "$port")
    if [ -n "$profile" ]; then args+=(--profile "$profile"); fi
    "$bin/enroll-vcard" "${args[@]}" >>"$state/card$slot.log" 2>&1 &
    echo $! >"$state/card$slot.pid"
    if [ -n "$profile" ]; then echo "$profile" >"$state/card$slot.profile"; fi
    echo "bench: card $slot on Virtual PCD 00 0$slot (pid $(cat "$state/card$slot.pid"))"
}

stop_pid() {
    local file=$1
    if alive "$file"; then
        local pid
        pid=$(cat "$file")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

case "${1:-}" in
start)
    start_pcscd
    start_card 0 "${2:-}"
    if [ -n "${3:-}" ]; then start_card 1 "$3"; fi
    ;;
card-start)
    start_card "${2:-0}" "${3:-$(cat "$state/card${2:-0}.profile" 2>/dev/null || true)}"
    ;;
card-stop)
    stop_pid "$state/card${2:-0}.pid"
    echo "bench: card ${2:-0} removed"
    ;;
stop)
    stop_pid "$state/card1.pid"
    stop_pid "$state/card0.pid"
    if [ -f "$state/pcscd.pid" ]; then
        stop_pid "$state/pcscd.pid"
        echo "bench: pcscd stopped"
    fi
    ;;
status)
    for f in pcscd card0 card1; do
        if alive "$state/$f.pid"; then echo "$f: running (pid $(cat "$state/$f.pid"))"; else echo "$f: not started here"; fi
    done
    ;;
*)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
