#!/usr/bin/env bash
# Issue 6 "Nothing lost" on PostgreSQL: the center stores into a real PostgreSQL
# (tests/lib/pg.sh); while the database is stopped, ingest answers 503 with
# Retry-After and the sender keeps its batches (a spooling sender: the sensor's event
# stream from the demo capture, cut into batches, resent until acknowledged); after
# the database is back, every batch is stored exactly once: the events and per-day
# counters match the lines sent, and a replayed batch is answered as a duplicate.
# The outage lasts OUTAGE seconds (default 8 here; the issue says a minute: run with
# OUTAGE=60 for that).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
. "$(dirname "$0")/../lib/pg.sh"
need_center
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || skip_all "PostgreSQL not installed (tools/install-deps.sh)"
OUTAGE=${OUTAGE:-8}
cd "$T_TMP"
pg_start || { bad "PostgreSQL starts"; finish; exit 1; }
trap 'center_stop; pg_stop; rm -rf "$T_TMP"' EXIT
DB=$OTASUKE_TEST_DB
LOG=$T_TMP/center.log

"$OTASUKE_BIN/otasuke-sensor" -r "$PCAP" -o events.ndjson 2>/dev/null
split -l 150 -d -a 3 events.ndjson batch.
NB=$(ls batch.* | wc -l)
LINES=$(wc -l <events.ndjson)
check "the demo capture gives several batches ($NB, $LINES events)" test "$NB" -ge 8

"$OTASUKE" company add --db "$DB" --name outage --sector it >/dev/null
code=$("$OTASUKE" sensor add --db "$DB" --company 1 | sed -n 's/^enrollment_code=//p')
check "company and sensor added on PostgreSQL" test -n "$code"
center_start "$DB" "$LOG" --threads 2 || { bad "center starts on PostgreSQL"; finish; exit 1; }
tok=$(enroll "$code")
check "enrolled" test -n "$tok"

# send I: one delivery attempt of batch I; prints the HTTP status (000: no answer, what
# curl said in c.I).
send() {
    ingest "r.$1" "$tok" "b$1" "$1" "$(ls batch.* | sed -n "$(($1 + 1))p")" -D "h.$1" -S 2>"c.$1"
}
acked=0
half=$((NB / 2))
for i in $(seq 0 $((half - 1))); do [ "$(send "$i")" = 200 ] && acked=$((acked + 1)); done
check "first half acknowledged while the database is up ($acked/$half)" test "$acked" -eq "$half"

pg_pause
pg_down() { ! pg_as "$PG_BIN/pg_isready" -q -h "$PG_DIR" -p "$PG_PORT"; }
check "PostgreSQL stopped" pg_down
st=$(send "$half")
check "ingest answers 503 while the database is down (got $st)" test "$st" = 503
check "503 carries Retry-After" grep -qi '^Retry-After:' "h.$half"
end=$((SECONDS + OUTAGE))
down=0
other=0
noans=0
seen=""
pending=$(seq "$half" $((NB - 1)))
while [ $SECONDS -lt $end ]; do
    for i in $pending; do
        s=$(send "$i")
        if [ "$s" = 000 ]; then
            # No HTTP answer at all: the connection failed (twice on loaded CI hosts, one
            # attempt of ~110 each time; not reproduced here in 40 runs). Not an answer of
            # the center's: a sender retries it, and so does this loop, at once; what curl
            # said goes into the check's message.
            noans=$((noans + 1))
            [ "$noans" -gt 3 ] || seen="$seen [no answer: $(tr -d '\n' <"c.$i" | head -c 160)]"
            s=$(send "$i")
        fi
        if [ "$s" = 503 ]; then
            down=$((down + 1))
        else   # kept for the check's message: the status and what the body said
            other=$((other + 1))
            [ "$other" -gt 3 ] || seen="$seen [$s: $(head -c 160 "r.$i" 2>/dev/null | tr -d '\n')]"
        fi
    done
    sleep 1
done
check "every answer during the outage was 503 ($down, other answers: $other, retried after no \
answer: $noans${seen:+:$seen})" test "$down" -gt 0 -a "$other" -eq 0
check "the center is still running" kill -0 "$CENTER_PID"
pg_resume
left=""
for _ in $(seq 1 30); do
    left=""
    for i in $pending; do
        s=$(send "$i")
        [ "$s" = 200 ] || left="$left $i"
    done
    pending=$left
    [ -z "$pending" ] && break
    sleep 1
done
check "after recovery every spooled batch is acknowledged (left:${left:- none})" test -z "$left"
st=$(send 0)
check "a batch replayed after recovery is answered as stored before (200)" test "$st" = 200
check "... and says it was a duplicate" grep -q '"duplicate" *: *true' r.0
check "events stored exactly once ($(pg_q 'select count(*) from events') of $LINES)" \
    test "$(pg_q 'select count(*) from events')" = "$LINES"
check "batches stored once each" test "$(pg_q 'select count(*) from batches')" = "$NB"
check "per-day counters sum to the events" test \
    "$(pg_q "select sum(count) from counters where event_type <> 'alert_suppressed'")" = "$LINES"
check "center stops cleanly" center_stop
finish
