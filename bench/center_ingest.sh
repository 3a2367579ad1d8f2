#!/usr/bin/env bash
# Center ingest benchmark (RELIABILITY.md P3, issue 6): events/s into the store from N
# concurrent senders over loopback and the p99 acknowledgement latency, against a
# baseline measured in the same run on the same events: the same batches parsed and
# stored in-process (ingest_parse + store_ingest, one thread, no HTTP).
#
#   bench/center_ingest.sh            SENDERS=100 BATCHES=5 PER=500 SYNC=full THREADS=4
#
# PG=1 measures PostgreSQL instead of SQLite: a throwaway server (tests/lib/pg.sh) with
# one database for the center and one for the baseline; the server's CPU seconds during
# the HTTP phase are reported too (the center and PostgreSQL share the 2 CPUs), and a
# CHECKPOINT separates the two phases (PG_CHECKPOINT=0: none).
#
# Optional: EVENTS=FILE (NDJSON events to send instead of the demo capture's, e.g.
# alerts to measure incident grouping), BIN=DIR (programs to measure instead of
# building build/bin, e.g. an older build for a before/after ratio), TAG=NAME (results
# go to bench/results/center_ingest-NAME.md).
#
# Events: the sensor's output on the demo capture (make demo/office.pcap), cycled.
# The databases live in bench/data/ (local disk, git-ignored). Prints a Markdown table
# and writes it to bench/results/center_ingest.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SENDERS=${SENDERS:-100}
BATCHES=${BATCHES:-5}
PER=${PER:-500}
SYNC=${SYNC:-full}
THREADS=${THREADS:-4}
B=${BIN:-build/bin}
OUT=bench/results/center_ingest${TAG:+-$TAG}.md
if [ -z "${BIN:-}" ]; then
    cmake --preset release >/dev/null
    cmake --build build -j2 --target otasuke-center otasuke center_load otasuke-sensor >/dev/null
fi
mkdir -p bench/data bench/results
EV=${EVENTS:-bench/data/center-events.ndjson}
if [ ! -s "$EV" ]; then
    make -s demo/office.pcap >/dev/null
    build/bin/otasuke-sensor -r demo/office.pcap -o "$EV" 2>/dev/null
fi
DB=bench/data/center-bench.db
BASE=bench/data/center-baseline.db
rm -f "$DB" "$DB"-* "$BASE" "$BASE"-* bench/data/center.port
if [ "${PG:-0}" = 1 ]; then
    # shellcheck source=tests/lib/pg.sh
    . tests/lib/pg.sh
    pg_start
    pg_as "$PG_BIN/psql" -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE DATABASE bench" -c "CREATE DATABASE baseline"
    DB="postgresql://postgres@127.0.0.1:$PG_PORT/bench"
    BASE="postgresql://postgres@127.0.0.1:$PG_PORT/baseline"
    OUT=bench/results/center_ingest-pg${TAG:+-$TAG}.md
fi
count_events() {
    if [ "${PG:-0}" = 1 ]; then
        pg_as "$PG_BIN/psql" -X -At -h "$PG_DIR" -p "$PG_PORT" -U postgres -d bench \
            -c 'select count(*) from events'
    else
        sqlite3 "$DB" 'select count(*) from events'
    fi
}

echo "baseline (in-process parse + store, no HTTP)..." >&2
base=$("$B/center_load" --baseline "$BASE" --events "$EV" --senders "$SENDERS" \
    --batches "$BATCHES" --per "$PER" --sync "$SYNC")

if [ "${PG:-0}" = 1 ] && [ "${PG_CHECKPOINT:-1}" = 1 ]; then
    # The HTTP phase starts from a server in steady state, as a long-running one is:
    # the baseline's dirty pages written, its WAL segments there to be recycled rather
    # than new ones created and zero-filled during the measurement (PG_CHECKPOINT=0:
    # without, as before 2026-11-23 21:20).
    pg_as "$PG_BIN/psql" -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -c CHECKPOINT
fi
"$B/otasuke" company add --db "$DB" --name bench --sector bench >/dev/null
code=$("$B/otasuke" sensor add --db "$DB" --company 1 | sed -n 's/^enrollment_code=//p')
"$B/otasuke-center" --db "$DB" --listen 127.0.0.1:0 --port-file bench/data/center.port \
    --threads "$THREADS" --sync "$SYNC" --max-connections $((SENDERS + 16)) \
    --log-level warn 2>bench/data/center.log &
pid=$!
trap 'kill $pid 2>/dev/null || true; [ "${PG:-0}" = 1 ] && pg_stop' EXIT
for _ in $(seq 1 100); do [ -s bench/data/center.port ] && break; sleep 0.05; done
port=$(cat bench/data/center.port)
tok=$(curl -s -X POST -d "{\"code\":\"$code\"}" "http://127.0.0.1:$port/api/v1/enroll" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# CPU seconds of the PostgreSQL server: the postmaster with its reaped children
# (backends that exited) plus the live ones (utime + stime [+ cutime + cstime]).
pg_cpu() {
    [ "${PG:-0}" = 1 ] || { echo 0; return; }
    local pm
    pm=$(head -1 "$PG_DIR/data/postmaster.pid")
    { awk '{print $14 + $15 + $16 + $17}' /proc/"$pm"/stat
      for c in $(ps -o pid= --ppid "$pm"); do
          awk '{print $14 + $15}' /proc/"$c"/stat 2>/dev/null || true
      done; } | awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.2f", s / hz}'
}
echo "HTTP: $SENDERS senders..." >&2
pg0=$(pg_cpu)
# the load generator's own CPU seconds (it shares the CPUs with the center and server)
http=$(/usr/bin/time -f "load_cpu=%U+%S" -o bench/data/center_load.time "$B/center_load" \
    --port "$port" --token "$tok" --events "$EV" --senders "$SENDERS" \
    --batches "$BATCHES" --per "$PER")
loadcpu=$(sed -n 's/^load_cpu=//p' bench/data/center_load.time | python3 -c 'import sys; print(f"{eval(sys.stdin.read()):.2f}")')
# CPU seconds the center used (utime + stime), so that the rate per CPU second can be
# compared across runs on a shared machine.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' /proc/$pid/stat)
pgcpu=$(python3 -c "print(f'{$(pg_cpu) - $pg0:.2f}')")
kill -TERM $pid; wait $pid || true
stored=$(count_events)

f() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ratio=$(python3 -c "print(f'{$(f events_per_s "$http") / $(f events_per_s "$base"):.2f}')")
{
    echo "| measure | value |"
    echo "|---|---|"
    echo "| store | $([ "${PG:-0}" = 1 ] && echo "PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}')" || echo SQLite) |"
    echo "| setup | $SENDERS senders x $BATCHES batches x $PER events, sync=$SYNC, $THREADS server threads, $(nproc) CPUs |"
    echo "| baseline: in-process parse + store (events/s) | $(f events_per_s "$base") |"
    echo "| otasuke-center over HTTP (events/s) | $(f events_per_s "$http") |"
    echo "| ratio HTTP / baseline | $ratio |"
    echo "| center CPU seconds / events per CPU second | $cpu / $(python3 -c "print(round($(f events "$http") / $cpu))") |"
    if [ "${PG:-0}" = 1 ]; then
        echo "| PostgreSQL server CPU seconds / events per PG CPU second | $pgcpu / $(python3 -c "print(round($(f events "$http") / max($pgcpu, 0.01)))") |"
        echo "| center + PostgreSQL: events per CPU second | $(python3 -c "print(round($(f events "$http") / ($cpu + $pgcpu)))") |"
    fi
    echo "| load generator (center_load, 100 simulated senders) CPU seconds | $loadcpu |"
    echo "| load average during the run | $(cut -d' ' -f1-3 /proc/loadavg) |"
    echo "| ack latency p50 / p99 / max (ms) | $(f p50_ms "$http") / $(f p99_ms "$http") / $(f max_ms "$http") |"
    echo "| retried requests | $(f retries "$http") |"
    echo "| events in the database afterwards | $stored (expected $(f events "$http")) |"
} | tee "$OUT"
