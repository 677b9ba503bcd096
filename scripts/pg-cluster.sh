#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and benches, on a Unix socket in its own directory (no TCP port).
#
#   scripts/pg-cluster.sh start DIR [--durable]   initdb + start; prints the libpq connection string
#   scripts/pg-cluster.sh schema DIR NAME          creates an empty schema; prints a connection string using it
#   scripts/pg-cluster.sh stop DIR                 stops that cluster (pg_ctl, by its postmaster.pid) and removes DIR
#
# Without --durable the server skips fsync (tests); with it, it commits as a production server does (benches).
# initdb refuses to run as root: under root the cluster runs as `nobody` (uid 65534) through setpriv.
set -euo pipefail
command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { sed -n '2,9p' "$0" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || {
    echo "pg-cluster: no PostgreSQL server under /usr/lib/postgresql: run scripts/setup.sh" >&2
    exit 1
}
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    as_owner=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi
conninfo="host=$dir port=5432 user=enrolld dbname=postgres"

# Runs a command without the descriptors this script inherited beyond stdin/out/err: the server must not hold
# the caller's pipes open (Foundation's Process, for one, waits for those to close to see the script exit).
without_inherited_descriptors() {
    (
        for fd in $(ls /proc/$BASHPID/fd); do
            [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
        done
        exec "$@"
    )
}

case $command in
start)
    mkdir -p "$dir"
    chmod 700 "$dir"
    [ ${#as_owner[@]} -eq 0 ] || chown 65534:65534 "$dir"
    if ! "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U enrolld -A trust -E UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        exit 1
    fi
    options="-k $dir -c listen_addresses= -c max_connections=60 -c shared_buffers=32MB"
    if [ "${3:-}" != "--durable" ]; then
        options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    if ! without_inherited_descriptors "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -o "$options" -w -t 60 start >/dev/null; then
        cat "$dir/server.log" >&2
        exit 1
    fi
    echo "$conninfo"
    ;;
schema)
    name=${3:?schema needs a name}
    [[ $name =~ ^[a-z][a-z0-9_]*$ ]] || { echo "pg-cluster: schema names are [a-z][a-z0-9_]*" >&2; exit 2; }
    "$bin/psql" -X -q -v ON_ERROR_STOP=1 -d "$conninfo" -c "CREATE SCHEMA $name" >/dev/null
    echo "$conninfo options='-csearch_path=$name'"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    sed -n '2,9p' "$0" >&2
    exit 2
    ;;
esac
