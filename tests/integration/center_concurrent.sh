#!/usr/bin/env bash
# Concurrent ingest (issue 6): many sensors' batches at once must store exactly what
# one writer at a time stores. On PostgreSQL the center's pooled connections write
# concurrently (store_serial_writes), so this is where row-lock order (the per-day
# counters), the tenant lock around incident grouping and exactly-once batches are
# exercised; on SQLite (one writer per file) it checks the same end state.
# For each backend: the demo capture's events (alerts, assets, flows, ...) sent by
# 16 simulated senders × 4 batches × 250 events (bench/center_load.c) to a center with
# one server thread (serial) and to a fresh one with 6 (concurrent); both databases
# must then hold 16,000 events, identical per-day counters and the same incidents
# (no duplicate from two batches grouping the same device at once).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
cd "$T_TMP"
LOG=$T_TMP/center.log
LOAD=$OTASUKE_BIN/center_load
[ -x "$LOAD" ] || { echo "no $LOAD"; exit 1; }
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
"$SENSOR" -q -r "$PCAP" -o ev.ndjson 2>/dev/null || { bad "sensor on the demo capture"; finish; exit 1; }
SENDERS=16 BATCHES=4 PER=250
TOTAL=$((SENDERS * BATCHES * PER))
if [ "${CENTER_TEST_PG:-0}" = 1 ]; then
    . "$OTASUKE_SRC/tests/lib/pg.sh"
    [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || skip_all "PostgreSQL not installed (tools/install-deps.sh)"
    pg_start || { bad "PostgreSQL starts"; finish; exit 1; }
    trap 'center_stop; pg_stop; rm -rf "$T_TMP"' EXIT
    psqlc() { pg_as "$PG_BIN/psql" -X -At -h "$PG_DIR" -p "$PG_PORT" -U postgres -d "$1" -c "$2"; }
    psqlc postgres "CREATE DATABASE serial" >/dev/null
    psqlc postgres "CREATE DATABASE conc" >/dev/null
    dburl() { echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"; }
    dbq() { psqlc "$1" "$2"; }
    ok "on PostgreSQL"
else
    trap 'center_stop; rm -rf "$T_TMP"' EXIT
    dburl() { echo "$T_TMP/$1.db"; }
    dbq() { sqlite3 "$T_TMP/$1.db" "$2"; }
fi
is() { if [ "$3" = "$2" ]; then ok "$1"; else bad "$1 (expected [$2], got [$3])"; fi; }

# run NAME THREADS: a fresh database, a center with THREADS server threads, the load
run() {
    local name=$1 threads=$2 db code tok out
    db=$(dburl "$name")
    "$OTASUKE" company add --db "$db" --name "A $name" --sector test >/dev/null
    code=$("$OTASUKE" sensor add --db "$db" --company 1 | sed -n 's/^enrollment_code=//p')
    center_start "$db" "$LOG" --threads "$threads" --max-connections $((SENDERS + 8)) ||
        { cat "$LOG"; bad "$name: center starts"; return 1; }
    tok=$(enroll "$code")
    out=$("$LOAD" --port "$CENTER_PORT" --token "$tok" --events ev.ndjson --senders "$SENDERS" \
        --batches "$BATCHES" --per "$PER") || { bad "$name: center_load ($out)"; center_stop; return 1; }
    echo "$name: $out"
    center_stop || bad "$name: center exits cleanly"
    is "$name: every event stored once" "$TOTAL" "$(dbq "$name" 'select count(*) from events')"
    is "$name: every batch recorded once" "$((SENDERS * BATCHES))" "$(dbq "$name" 'select count(*) from batches')"
    is "$name: the counters add up to the events" "$TOTAL" "$(dbq "$name" 'select sum(count) from counters')"
}
run serial 1
run conc 6
is "counters: concurrent = serial" \
    "$(dbq serial 'select day, event_type, category, count from counters order by 1, 2, 3')" \
    "$(dbq conc 'select day, event_type, category, count from counters order by 1, 2, 3')"
n_inc=$(dbq serial 'select count(*) from incidents')
[ "$n_inc" -gt 0 ] && ok "the demo's alerts make incidents ($n_inc)" || bad "no incident from the demo's alerts"
is "incidents: concurrent = serial (no duplicate per device)" \
    "$(dbq serial 'select device_key, severity from incidents order by 1, 2')" \
    "$(dbq conc 'select device_key, severity from incidents order by 1, 2')"
finish
