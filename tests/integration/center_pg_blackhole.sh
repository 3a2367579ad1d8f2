#!/usr/bin/env bash
# A database that stops answering rather than refusing (its host gone, a firewall
# dropping packets): the center's store connection to PostgreSQL breaks, and every
# attempt to connect again would wait for the system's TCP timeout (about two minutes
# on Linux) while holding the request and its server thread. The center bounds that
# (center/store/db.c: libpq connect_timeout 5 s, keepalives, a 2 s pause after a failed
# attempt), so ingest still answers 503 with Retry-After and the sensor keeps its batch;
# once the database is back every batch is stored exactly once.
# The "black hole" is a listener on PostgreSQL's port with its accept queue full: the
# kernel drops new SYNs, which is what a client sees of a host that has gone away.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
. "$(dirname "$0")/../lib/pg.sh"
need_center
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || skip_all "PostgreSQL not installed (tools/install-deps.sh)"
cd "$T_TMP"
pg_start || { bad "PostgreSQL starts"; finish; exit 1; }
HOLE_PID=""
trap '[ -z "$HOLE_PID" ] || kill "$HOLE_PID" 2>/dev/null; center_stop; pg_stop; rm -rf "$T_TMP"' EXIT
DB=$OTASUKE_TEST_DB

# four batches of events of our own (the center checks only that each line is JSON
# with a known event_type)
for b in 0 1 2 3; do
    for i in $(seq 1 50); do
        printf '{"timestamp":"2026-11-24T10:00:%02d.000000+00:00","event_type":"flow",' "$i"
        printf '"src_ip":"192.168.1.%d","dest_ip":"192.0.2.1","proto":"TCP","flow_id":%d}\n' \
            "$((b + 10))" "$((b * 100 + i))"
    done >"batch.$b"
done
"$OTASUKE" company add --db "$DB" --name hole --sector it >/dev/null
code=$("$OTASUKE" sensor add --db "$DB" --company 1 | sed -n 's/^enrollment_code=//p')
check "company and sensor added on PostgreSQL" test -n "$code"
center_start "$DB" "$T_TMP/center.log" --threads 2 ||
    { bad "center starts on PostgreSQL"; finish; exit 1; }
tok=$(enroll "$code")
check "enrolled" test -n "$tok"
# send I: one delivery attempt of batch I, given up by curl after 40 s (the connect
# attempt the center would make without its bounds takes about two minutes); prints the
# HTTP status (000: no answer in time).
send() { ingest "r.$1" "$tok" "b$1" "$1" "batch.$1" -D "h.$1" -m 40; }
check "a batch is stored while the database is up" test "$(send 0)" = 200

pg_pause
"$PY" - "$PG_PORT" hole.ready <<'EOF' &
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(0)  # never accepted: once the queue holds one connection, SYNs are dropped
fill = []
for _ in range(3):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(c)
open(sys.argv[2], "w").write("ready\n")
time.sleep(600)
EOF
HOLE_PID=$!
for _ in $(seq 1 50); do [ -s hole.ready ] && break; sleep 0.1; done
dropped() {
    "$PY" -c 'import socket,sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1.5)
except socket.timeout:
    sys.exit(0)
sys.exit(1)' "$PG_PORT"
}
check "PostgreSQL's port now drops new connections (no answer, no refusal)" dropped

# Each of the center's two store connections first fails its query (the server is
# gone), then tries to connect again: four attempts make sure the reconnects happen.
got=""
for i in 1 2 1 2; do got="$got $(send "$i")"; done
check "ingest answers 503 to every attempt while the database does not answer (got$got)" \
    test "$got" = " 503 503 503 503"
check "503 carries Retry-After" grep -qi '^Retry-After:' h.1
check "the center still answers /healthz" \
    test "$(curl -s -m 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CENTER_PORT/healthz")" = 200
check "the log says why (a connection timeout)" grep -qi 'timeout' "$T_TMP/center.log"

kill "$HOLE_PID" 2>/dev/null
wait "$HOLE_PID" 2>/dev/null
HOLE_PID=""
pg_resume || { bad "PostgreSQL starts again"; finish; exit 1; }
left="1 2 3"
for _ in $(seq 1 30); do
    next=""
    for i in $left; do [ "$(send "$i")" = 200 ] || next="$next $i"; done
    left=$next
    [ -z "$left" ] && break
    sleep 1
done
check "after recovery every batch is acknowledged (left:${left:- none})" test -z "$left"
check "events stored exactly once ($(pg_q 'select count(*) from events') of 200)" \
    test "$(pg_q 'select count(*) from events')" = 200
check "center stops cleanly" center_stop
finish
