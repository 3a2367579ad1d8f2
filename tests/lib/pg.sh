#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests (Debian's postgresql 15): initdb into a
# temporary directory, listen on a unix socket in that directory and on 127.0.0.1 at
# a free port, stop and remove everything at exit.
#
# Source it and call pg_start; it exports
#   OTASUKE_TEST_PG   libpq key=value string of the server (no dbname)
#   OTASUKE_TEST_DB   postgresql:// URL of database "otasuke" on it
# and pg_stop / pg_pause / pg_resume (stop and start the same cluster: outages).
# Run directly with a command (`pg.sh CMD ARGS..`) it starts a server, runs the
# command with those variables and returns its status.
# When running as root the server runs as the postgres user (initdb refuses root).
# Exits 77 (skip) when PostgreSQL is not installed.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

pg_as() {
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

pg_free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_start() {
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        echo "SKIP: PostgreSQL server binaries not installed (tools/install-deps.sh installs postgresql)"
        exit 77
    fi
    PG_DIR=$(mktemp -d /tmp/otasuke_pg.XXXXXX)
    chmod 755 "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
    PG_PORT=$(pg_free_port)
    pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale -N \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; return 1; }
    cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
max_connections = 200
fsync = on
synchronous_commit = on
shared_buffers = 128MB
CONF
    pg_resume || return 1
    export OTASUKE_TEST_PG="host=$PG_DIR port=$PG_PORT user=postgres"
    export OTASUKE_TEST_DB="postgresql://postgres@127.0.0.1:$PG_PORT/otasuke"
    pg_as "$PG_BIN/psql" -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE DATABASE otasuke" || return 1
    trap pg_stop EXIT
}

# Stops the server, keeping its data (an outage); pg_resume starts it again.
pg_pause() {
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
}

pg_resume() {
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
        >/dev/null 2>&1 || { cat "$PG_DIR/server.log"; return 1; }
}

# pg_q SQL: runs SQL in the tests' database "otasuke"; prints the rows unaligned.
pg_q() { pg_as "$PG_BIN/psql" -X -At -h "$PG_DIR" -p "$PG_PORT" -U postgres -d otasuke -c "$1"; }

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    pg_pause
    rm -rf "$PG_DIR"
    PG_DIR=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    pg_start || exit 1
    "$@"
    rc=$?
    pg_stop
    trap - EXIT
    exit $rc
fi
