#!/usr/bin/env bash
# A private PostgreSQL primary with a streaming standby on loopback, for `enroll-bench load --store postgresql`:
# synchronous replication (a commit returns once the standby has it), so promoting the standby loses no
# committed transaction.
#
#   scripts/pg-replica.sh start DIR PORT1 PORT2   primary on 127.0.0.1:PORT1 (initdb), standby on PORT2 made with
#                                                 pg_basebackup -R -X stream; prints the daemon's connection string
#                                                 (both hosts, target_session_attrs=read-write)
#   scripts/pg-replica.sh failover DIR            stops the primary (immediate: as a crash) and promotes the standby
#   scripts/pg-replica.sh stop DIR                stops both servers (pg_ctl, by their postmaster.pid), removes DIR
#
# Durable (fsync on). initdb refuses to run as root: under root the servers run as `nobody` through setpriv.
set -euo pipefail
command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { sed -n '2,12p' "$0" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || {
    echo "pg-replica: no PostgreSQL server under /usr/lib/postgresql: run scripts/setup.sh" >&2
    exit 1
}
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    as_owner=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi

# The servers must not hold the caller's pipes open (see scripts/pg-cluster.sh).
without_inherited_descriptors() {
    (
        for fd in $(ls /proc/$BASHPID/fd); do
            [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
        done
        exec "$@"
    )
}

start_server() { # NAME PORT EXTRA-OPTIONS
    local name=$1 port=$2 extra=$3
    mkdir -p "$dir/$name-socket"
    [ ${#as_owner[@]} -eq 0 ] || chown 65534:65534 "$dir/$name-socket"
    if ! without_inherited_descriptors "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/$name" -l "$dir/$name.log" \
        -o "-p $port -k $dir/$name-socket -c listen_addresses=127.0.0.1 -c max_connections=60 $extra" \
        -w -t 60 start >/dev/null; then
        cat "$dir/$name.log" >&2
        exit 1
    fi
}

case $command in
start)
    port1=${3:?start needs two ports}
    port2=${4:?start needs two ports}
    mkdir -p "$dir"
    chmod 700 "$dir"
    [ ${#as_owner[@]} -eq 0 ] || chown 65534:65534 "$dir"
    # -A trust: initdb's pg_hba.conf then lets loopback connect and replicate without a password.
    if ! "${as_owner[@]}" "$bin/initdb" -D "$dir/primary" -U enrolld -A trust -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        exit 1
    fi
    start_server primary "$port1" \
        "-c wal_level=replica -c max_wal_senders=4 -c synchronous_commit=on -c synchronous_standby_names=*"
    if ! "${as_owner[@]}" "$bin/pg_basebackup" -h 127.0.0.1 -p "$port1" -U enrolld -D "$dir/standby" -R -X stream \
        >"$dir/basebackup.log" 2>&1; then
        cat "$dir/basebackup.log" >&2
        exit 1
    fi
    start_server standby "$port2" "-c hot_standby=on"
    # Until the primary reports the standby as synchronous, commits would wait for it anyway; make sure it does.
    for _ in $(seq 1 100); do
        state=$("$bin/psql" -X -A -t -h 127.0.0.1 -p "$port1" -U enrolld -d postgres \
            -c "SELECT sync_state FROM pg_stat_replication" 2>/dev/null || true)
        [ "$state" = "sync" ] && break
        sleep 0.1
    done
    [ "$state" = "sync" ] || { echo "pg-replica: the standby is not synchronous ($state)" >&2; exit 1; }
    echo "host=127.0.0.1,127.0.0.1 port=$port1,$port2 user=enrolld dbname=postgres target_session_attrs=read-write connect_timeout=5"
    ;;
failover)
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/primary" -m immediate -w stop >/dev/null
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/standby" -w -t 60 promote >/dev/null
    ;;
stop)
    for name in standby primary; do
        if [ -f "$dir/$name/postmaster.pid" ]; then
            "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/$name" -m fast -w stop >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$dir"
    ;;
*)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
