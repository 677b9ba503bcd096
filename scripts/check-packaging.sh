#!/usr/bin/env bash
# CI checks of the Debian packaging (run by scripts/test.sh after the tests; needs root):
#  1. scripts/build-deb.sh builds enrolld_VERSION_amd64.deb, enrolld-bench_VERSION_amd64.deb and
#     enrolld-face-models_0.3.0_all.deb; the daemon's package holds no test tool (enroll-vcard, enroll-bench), the
#     bench package holds both
#  2. lintian on every package: no errors (warnings are printed; overrides: none)
#  3. dpkg -i of the daemon (no test tool on the machine after it), then of enrolld-bench (its tools run), then the
#     installed /usr/sbin/enrolld --version and --check-config, as root and as user enrolld
#     and enrollctl's links: Package.swift gives it only EnrollAPIModel and UnixHTTP, and ldd on the installed
#     /usr/bin/enrollctl shows none of dlib, libpq, pcsc-lite, OpenJPEG, BLAS/LAPACK (ldd on enrolld must show
#     them all, so the check is known to work); `--enrollctl-links [BIN_DIR]` runs this check alone on a build
#     (default .build/debug), without root
#  4. systemd-analyze verify of both installed units: any output fails
#  5. udevadm test with a copy of the rules (udev 252 has no `udevadm verify`): any message about the
#     copy fails; a deliberately broken copy must be caught, so the check is known to work
#  6. the installed daemon started the way enrolld.socket + enrolld.service start it (see emulate_unit_start)
#     answers /v1/health and /metrics through the socket, and speaks sd_notify
#  7. dpkg -r and dpkg -P leave nothing of the package behind
# Exits non-zero at the first failing check and says which.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

fail() {
    echo "check-packaging: FAILED: $*" >&2
    exit 1
}
step() { echo "check-packaging: $*"; }

unit_dir=/lib/systemd/system

# The unit's settings, read from the installed files so the emulation follows them.
unit_value() { sed -n "s/^$2=//p" "$unit_dir/$1" | tail -1; }

# Runs in a private mount namespace (unshare -m): tmpfs over /var/lib/enrolld and /run/enrolld give
# the daemon the unit's paths without touching the machine's own copies. Then, as systemd would:
# StateDirectory=/RuntimeDirectory= created with the unit's modes and owner; the socket bound by
# systemd-socket-activate (which waits for the first connection, then execs the service with
# LISTEN_FDS=1 and LISTEN_PID set to its own pid, i.e. the daemon's) and given SocketUser/Group/Mode;
# the service exec'd through setpriv as User=/Group= with no capabilities and no new privileges, with
# the environment systemd gives a service (the unit's Environment=, HOME/USER/LOGNAME/SHELL, the
# *_DIRECTORY variables, NOTIFY_SOCKET and WATCHDOG_USEC from a stand-in manager socket).
emulate_unit_start() {
    local user group state runtime socket_path socket_mode exec_start environment
    daemon='' listener=''
    user=$(unit_value enrolld.service User)
    group=$(unit_value enrolld.service Group)
    state=/var/lib/$(unit_value enrolld.service StateDirectory)
    runtime=/run/$(unit_value enrolld.service RuntimeDirectory)
    socket_path=$(unit_value enrolld.socket ListenStream)
    socket_mode=$(unit_value enrolld.socket SocketMode)
    exec_start=$(unit_value enrolld.service ExecStart)
    environment=$(unit_value enrolld.service Environment)
    getent passwd "$user" >/dev/null || fail "user $user was not created by the sysusers entry"

    mkdir -p "$state" "$runtime"
    mount -t tmpfs -o mode=0755 enrolld-state "$state"
    mount -t tmpfs -o mode=0755 enrolld-runtime "$runtime"
    install -d -o "$user" -g "$group" -m "$(unit_value enrolld.service StateDirectoryMode)" "$state"
    install -d -o "$user" -g "$group" -m "$(unit_value enrolld.service RuntimeDirectoryMode)" "$runtime"

    # A stand-in for systemd's notification socket: records every datagram.
    local notify=$runtime/.notify-test
    mkdir -p "$notify"
    python3 - "$notify/socket" "$notify/messages" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        message = s.recv(4096).decode()
        out.write(message.replace("\n", " ") + "\n")
EOF
    listener=$!
    # Whatever happens, stop exactly the processes started here.
    trap 'kill "$daemon" "$listener" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do [ -S "$notify/socket" ] && break; sleep 0.1; done

    local log=$notify/enrolld.log
    # shellcheck disable=SC2086
    systemd-socket-activate -l "$socket_path" \
        -E "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" -E LANG=C.UTF-8 \
        -E "HOME=$(getent passwd "$user" | cut -d: -f6)" -E "USER=$user" -E "LOGNAME=$user" \
        -E "SHELL=$(getent passwd "$user" | cut -d: -f7)" -E "STATE_DIRECTORY=$state" \
        -E "RUNTIME_DIRECTORY=$runtime" -E "CONFIGURATION_DIRECTORY=/etc/enrolld" \
        -E "NOTIFY_SOCKET=$notify/socket" -E WATCHDOG_USEC=2000000 -E "$environment" \
        setpriv --reuid "$user" --regid "$group" --init-groups --no-new-privs --inh-caps=-all \
        --bounding-set=-all -- $exec_start > "$log" 2>&1 &
    daemon=$!
    for _ in $(seq 50); do [ -S "$socket_path" ] && break; sleep 0.1; done
    [ -S "$socket_path" ] || fail "systemd-socket-activate did not bind $socket_path"
    chown "$(unit_value enrolld.socket SocketUser):$(unit_value enrolld.socket SocketGroup)" "$socket_path"
    chmod "$socket_mode" "$socket_path"

    local health metrics content_type
    health=$(curl -sS --max-time 30 --unix-socket "$socket_path" http://localhost/v1/health) \
        || { tail -20 "$log" >&2; fail "GET /v1/health through the activated socket"; }
    echo "  /v1/health: $health"
    echo "$health" | grep -q '"status":"ok"' || fail "/v1/health did not say ok"
    [ "$(ps -o user= -p "$daemon" | tr -d ' ')" = "$user" ] || fail "the daemon does not run as $user"
    grep -q "listening on (socket-activated)" "$log" || { tail -20 "$log" >&2; fail "the daemon did not take the passed socket"; }
    metrics=$(curl -sS --max-time 10 --unix-socket "$socket_path" -D "$notify/headers" http://localhost/metrics) \
        || fail "GET /metrics through the activated socket"
    content_type=$(tr -d '\r' < "$notify/headers" | sed -n 's/^Content-Type: //Ip')
    echo "  /metrics: $(echo "$metrics" | grep -c '^enrolld_') samples, $content_type"
    [[ $content_type == "text/plain; version=0.0.4"* ]] || fail "/metrics content type is '$content_type'"
    for name in 'enrolld_build_info{version="' enrolld_readers_present enrolld_pcsc_available \
        enrolld_card_reads_total enrolld_card_read_seconds_count enrolld_face_match_seconds_count \
        enrolld_certificates_issued_total; do
        echo "$metrics" | grep -q "^$name" || fail "/metrics lacks $name"
    done
    sleep 1.2
    kill -TERM "$daemon"
    local status=0
    wait "$daemon" || status=$?
    [ "$status" -eq 0 ] || { tail -20 "$log" >&2; fail "the daemon exited with $status on SIGTERM"; }
    sleep 0.2
    kill "$listener" 2>/dev/null || true
    echo "  sd_notify: $(sort "$notify/messages" | uniq -c | sed 's/^ *//' | paste -sd ';')"
    grep -q "^READY=1" "$notify/messages" || fail "no READY=1 on NOTIFY_SOCKET"
    grep -q "^WATCHDOG=1" "$notify/messages" || fail "no WATCHDOG=1 on NOTIFY_SOCKET"
    grep -q "^STOPPING=1" "$notify/messages" || fail "no STOPPING=1 on NOTIFY_SOCKET"
    # Journald priority prefixes on every line the daemon wrote.
    if sed '1,/^Execing /d' "$log" | grep -qv '^<[0-7]>'; then
        tail -20 "$log" >&2
        fail "log lines without a <N> priority prefix"
    fi
}

# enrollctl runs on kiosks and operators' machines: it links the API's wire types and the HTTP client, never the
# daemon's libraries. Package.swift says so, and ldd on the built binary proves it.
check_enrollctl_links() {
    local enrollctl=$1 enrolld=$2 dependencies linked library daemon_links
    dependencies=$(swift package dump-package | python3 -c '
import json, sys
target = next(t for t in json.load(sys.stdin)["targets"] if t["name"] == sys.argv[1])
print(" ".join(sorted(value[0] for dependency in target["dependencies"] for value in dependency.values())))' \
        "$(basename "$enrollctl")")
    [ "$dependencies" = "EnrollAPIModel UnixHTTP" ] \
        || fail "Package.swift: target $(basename "$enrollctl") depends on '$dependencies'; only EnrollAPIModel and UnixHTTP may be"
    linked=$(ldd "$enrollctl" | grep -E 'lib(dlib|pq|pcsclite|openjp2|blas|cblas|lapack|openblas)[.-]' || true)
    [ -z "$linked" ] || { echo "$linked" >&2; fail "$enrollctl links the libraries above"; }
    daemon_links=$(ldd "$enrolld")
    for library in dlib pq pcsclite openjp2 blas lapack; do
        grep -qE "lib$library[.-]" <<< "$daemon_links" \
            || fail "ldd shows no lib$library in $enrolld: the enrollctl link check is not working"
    done
    echo "  $enrollctl: $(ldd "$enrollctl" | wc -l) libraries, none of dlib, libpq, pcsc-lite, OpenJPEG, BLAS/LAPACK"
}

if [ "${1:-}" = "--enrollctl-links" ]; then
    bin=${2:-.build/debug}
    check_enrollctl_links "$bin/enrollctl" "$bin/enrolld"
    check_enrollctl_links "$bin/enroll-kiosk" "$bin/enrolld"
    exit 0
fi

if [ "${1:-}" = "--emulate-unit-start" ]; then
    emulate_unit_start
    exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "run as root (dpkg -i, unshare, setpriv)"
# The checks install and purge a machine-wide package: concurrent runs take turns.
exec 9>/tmp/enrolld-packaging.lock
flock 9
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT

started=$(date +%s)
step "building the packages"
scripts/build-deb.sh "$dist"
deb=$(ls "$dist"/enrolld_*_amd64.deb)
bench=$(ls "$dist"/enrolld-bench_*_amd64.deb)
models=$(ls "$dist"/enrolld-face-models_*_all.deb 2>/dev/null || true)
step "build took $(( $(date +%s) - started )) s"

step "test tools in enrolld-bench only"
test_tools='usr/bin/enroll-(vcard|bench|verifier)$'
in_daemon=$(dpkg-deb -c "$deb" | grep -E "$test_tools" || true)
[ -z "$in_daemon" ] || { echo "$in_daemon" >&2; fail "the daemon's package ships test tools"; }
[ "$(dpkg-deb -c "$bench" | grep -cE "$test_tools")" -eq 3 ] \
    || fail "enrolld-bench lacks enroll-vcard, enroll-bench or enroll-verifier"
echo "  $(basename "$deb"): no enroll-vcard, enroll-bench, enroll-verifier; $(basename "$bench"): all three"

step "lintian"
lintian --fail-on error --tag-display-limit 0 "$deb" "$bench" $models > "$dist/lintian.txt" 2>&1 || {
    cat "$dist/lintian.txt" >&2
    fail "lintian reports errors"
}
grep -E '^[EW]:' "$dist/lintian.txt" || echo "  no errors, no warnings"

# A run that was interrupted may have left the package installed.
dpkg -P enrolld-bench enrolld enrolld-face-models >/dev/null 2>&1 || true

step "dpkg -i"
dpkg -i "$deb" $models > "$dist/dpkg.txt" 2>&1 || { cat "$dist/dpkg.txt" >&2; fail "dpkg -i"; }
for tool in /usr/bin/enroll-vcard /usr/bin/enroll-bench /usr/bin/enroll-verifier; do
    [ ! -e "$tool" ] || fail "$tool is on the machine with the daemon's package alone"
done
dpkg -i "$bench" > "$dist/dpkg.txt" 2>&1 || { cat "$dist/dpkg.txt" >&2; fail "dpkg -i enrolld-bench"; }
for tool in /usr/bin/enroll-vcard /usr/bin/enroll-bench /usr/bin/enroll-verifier; do
    [ "$(dpkg -S "$tool" | cut -d: -f1)" = enrolld-bench ] || fail "$tool does not belong to enrolld-bench"
    "$tool" --help > /dev/null || fail "installed $tool --help"
done
[ -n "$(ls /usr/share/enrolld-bench/profiles/*.json)" ] || fail "enrolld-bench installed no card profiles"
for language in en zh-Hant vi pt; do
    [ -f "/usr/share/enrolld/messages/$language/activation-code.txt" ] \
        || fail "enrolld installed no $language activation message template"
done
version=$(/usr/sbin/enrolld --version) || fail "installed enrolld --version"
echo "  $version"
/usr/sbin/enrolld --check-config || fail "installed enrolld --check-config (root)"
setpriv --reuid enrolld --regid enrolld --init-groups /usr/sbin/enrolld --check-config \
    || fail "installed enrolld --check-config as user enrolld"
/usr/bin/enrollctl --help > /dev/null || fail "installed enrollctl"
check_enrollctl_links /usr/bin/enrollctl /usr/sbin/enrolld
/usr/bin/enroll-kiosk --help > /dev/null || fail "installed enroll-kiosk"
[ -f /usr/share/enroll-kiosk/web/kiosk/index.html ] && [ -f /usr/share/enroll-kiosk/web/counter/index.html ] \
    || fail "the web apps are not installed under /usr/share/enroll-kiosk/web"
check_enrollctl_links /usr/bin/enroll-kiosk /usr/sbin/enrolld

step "systemd-analyze verify"
verify=$(systemd-analyze verify "$unit_dir/enrolld.socket" "$unit_dir/enrolld.service" \
    "$unit_dir/enroll-kiosk.service" "$unit_dir/enroll-counter.service" 2>&1) || true
[ -z "$verify" ] || { echo "$verify" >&2; fail "systemd-analyze verify printed the above"; }
units=$dist/units
mkdir -p "$units"
cp "$unit_dir/enrolld.socket" "$units/"
sed 's/^Restart=/BogusKey=1\nRestart=/' "$unit_dir/enrolld.service" > "$units/enrolld.service"
[ -n "$(systemd-analyze verify "$units/enrolld.socket" "$units/enrolld.service" 2>&1)" ] \
    || fail "systemd-analyze verify did not flag a unit with an unknown key: the check is not working"
echo "  no output (an unknown key in a copy is flagged)"

step "udevadm test on a copy of the rules"
rules=$dist/rules
mkdir -p "$rules/good" "$rules/bad"
cp udev/60-enrolld-readers.rules "$rules/good/"
sed 's/ATTR{idProduct}=="2200", TAG+=/ATTR{idProduct}=="2200", TAGG+=/' udev/60-enrolld-readers.rules \
    > "$rules/bad/60-enrolld-readers.rules"
udev_test() {
    unshare --mount --propagation private sh -c \
        "mount --bind '$1' /etc/udev/rules.d && udevadm test --action=add /sys/class/net/lo" 2>&1 \
        | grep '60-enrolld-readers.rules' | grep -v -e '^Reading rules file' -e '^Skipping overridden file' || true
}
complaints=$(udev_test "$rules/good")
[ -z "$complaints" ] || { echo "$complaints" >&2; fail "udevadm complains about the rules"; }
[ -n "$(udev_test "$rules/bad")" ] || fail "udevadm test did not catch a broken rules copy: the check is not working"
echo "  no invalid keys (a broken copy is caught)"

step "the installed daemon started the way the units start it"
unshare --mount --propagation private bash "$root/scripts/check-packaging.sh" --emulate-unit-start

step "dpkg -r, dpkg -P"
dpkg -r enrolld-bench enrolld-face-models enrolld > "$dist/dpkg.txt" 2>&1 || { cat "$dist/dpkg.txt" >&2; fail "dpkg -r"; }
[ ! -e /usr/sbin/enrolld ] || fail "dpkg -r left /usr/sbin/enrolld"
[ ! -e /usr/bin/enroll-vcard ] || fail "dpkg -r left /usr/bin/enroll-vcard"
[ -e /etc/enrolld/enrolld.conf ] || fail "dpkg -r removed the conffile"
dpkg -P enrolld-bench enrolld enrolld-face-models > "$dist/dpkg.txt" 2>&1 || { cat "$dist/dpkg.txt" >&2; fail "dpkg -P"; }
leftovers=$(ls -d /etc/enrolld "$unit_dir"/enrolld.* /lib/udev/rules.d/60-enrolld-readers.rules \
    /usr/share/enrolld /usr/share/enrolld-bench /usr/bin/enroll-bench /etc/systemd/system/*/enrolld.* /var/lib/systemd/deb-systemd-helper-enabled/enrolld.* \
    /var/lib/systemd/deb-systemd-helper-enabled/*/enrolld.* 2>/dev/null || true)
[ -z "$leftovers" ] || fail "purge left: $leftovers"
dpkg-query -W enrolld >/dev/null 2>&1 && fail "dpkg still knows enrolld"
dpkg-query -W enrolld-bench >/dev/null 2>&1 && fail "dpkg still knows enrolld-bench"
step "all packaging checks passed in $(( $(date +%s) - started )) s"
