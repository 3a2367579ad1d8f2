#!/usr/bin/env bash
# An event the database refuses (a constraint an operator added: PostgreSQL checks it
# per row of the batch's COPY, SQLite through a trigger) in the middle of a batch sent
# over HTTP: the answer is 500 and names the batch line (the rejected line before it
# counted), nothing of the batch is stored (events, batch row, counters), the sender
# can retry; once the constraint is gone the same batch is stored once, whole.
# Run once per store (CENTER_TEST_PG=1: the .pg twin).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
cd "$T_TMP" || exit 1
LOG=$T_TMP/center.log
if [ "${CENTER_TEST_PG:-0}" = 1 ]; then
    . "$OTASUKE_SRC/tests/lib/pg.sh"
    [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || skip_all "PostgreSQL not installed (tools/install-deps.sh)"
    pg_start || { bad "PostgreSQL starts"; finish; exit 1; }
    trap 'center_stop; pg_stop; rm -rf "$T_TMP"' EXIT
    DB=$OTASUKE_TEST_DB
    dbq() { pg_q "$1"; }
    REFUSE="ALTER TABLE events ADD CONSTRAINT t_refuse CHECK (position('\"refuse-me\"' in body) = 0)"
    ALLOW="ALTER TABLE events DROP CONSTRAINT t_refuse"
    ok "on PostgreSQL"
else
    trap 'center_stop; rm -rf "$T_TMP"' EXIT
    DB=$T_TMP/c.db
    dbq() { sqlite3 "$DB" "$1"; }
    REFUSE="CREATE TRIGGER t_refuse BEFORE INSERT ON events WHEN instr(NEW.body, '\"refuse-me\"') > 0 BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ALLOW="DROP TRIGGER t_refuse"
fi
is() { if [ "$3" = "$2" ]; then ok "$1"; else bad "$1 (expected [$2], got [$3])"; fi; }

"$OTASUKE" company add --db "$DB" --name A --sector test >/dev/null
code=$("$OTASUKE" sensor add --db "$DB" --company 1 | sed -n 's/^enrollment_code=//p')
center_start "$DB" "$LOG" || { cat "$LOG"; bad "center starts"; finish; exit 1; }
tok=$(enroll "$code")
dbq "$REFUSE" >/dev/null || bad "constraint added"
{
    for i in 1 2 3; do
        printf '{"timestamp":"2026-11-23T01:00:0%sZ","event_type":"flow","n":%s}\n' "$i" "$i"
    done
    echo 'not json'
    printf '{"timestamp":"2026-11-23T01:00:05Z","event_type":"flow","m":"refuse-me"}\n'
    printf '{"timestamp":"2026-11-23T01:00:06Z","event_type":"dns","n":6}\n'
} >batch.ndjson
st=$(ingest out.json "$tok" b-1 1 batch.ndjson)
is "refused event: 500" 500 "$st"
is "the answer names the line" \
    "store error: the database refused line 5; nothing of the batch was stored" \
    "$(jget out.json 'J["error"]')"
is "no event stored" 0 "$(dbq 'select count(*) from events')"
is "no batch row" 0 "$(dbq 'select count(*) from batches')"
is "no counter" 0 "$(dbq 'select count(*) from counters')"
st=$(ingest out.json "$tok" b-1 1 batch.ndjson)
is "a retry is refused the same way" 500 "$st"
dbq "$ALLOW" >/dev/null || bad "constraint dropped"
st=$(ingest out.json "$tok" b-1 1 batch.ndjson)
is "once allowed: 200" 200 "$st"
is "stored: 5 events" 5 "$(jget out.json 'J["stored"]')"
is "rejected: the one bad line" 1 "$(jget out.json 'J["rejected"]')"
st=$(ingest out.json "$tok" b-1 1 batch.ndjson)
is "then a duplicate" "200 True" "$st $(jget out.json 'J.get("duplicate")')"
is "5 events stored once" 5 "$(dbq 'select count(*) from events')"
is "the refused event is among them" 1 "$(dbq "select count(*) from events where body like '%refuse-me%'")"
is "counters add up" 5 "$(dbq 'select sum(count) from counters')"
center_stop || bad "center exits cleanly"
finish
