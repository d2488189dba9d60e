#!/usr/bin/env bash
# A private PostgreSQL cluster for the ledger's PostgreSQL tests and benchmark (docs/ledger.md,
# "PostgreSQL at scale"), from Debian's postgresql package:
#   scripts/postgres.sh start   initdb (first time) and start it on 127.0.0.1, a free port
#   scripts/postgres.sh url     print postgres://sealkit@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop    stop it (the data stays until the directory is removed)
# SEALKIT_PG_DIR (default /tmp/sealkit-postgres-UID) holds the cluster, its log, socket and port;
# SEALKIT_PG_PORT picks the port (default: a free one, found at the first start).
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user (Debian's
# package makes it) and every server command runs through `runuser -u postgres`.
set -euo pipefail
dir="${SEALKIT_PG_DIR:-/tmp/sealkit-postgres-$(id -u)}"
bin="${SEALKIT_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
url() { echo "postgres://sealkit@127.0.0.1:$(cat "$dir/port")/postgres"; }

case "${1:-}" in
start)
    [ -x "$bin/pg_ctl" ] || { echo "postgres.sh: no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir/data" -U sealkit --auth=trust -E UTF8 --no-locale >"$dir/initdb.log"
    fi
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then url; exit 0; fi
    port="${SEALKIT_PG_PORT:-$(free_port)}"
    echo "$port" | as_owner tee "$dir/port" >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400" start >/dev/null
    url
    ;;
stop)
    if [ -f "$dir/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
url)
    [ -f "$dir/port" ] || { echo "postgres.sh: not started" >&2; exit 1; }
    url
    ;;
*)
    echo "usage: scripts/postgres.sh start|stop|url" >&2
    exit 64
    ;;
esac
