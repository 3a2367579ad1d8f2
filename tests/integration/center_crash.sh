#!/usr/bin/env bash
# Nothing acknowledged is lost (RELIABILITY.md D3): a sender streams batches of
# numbered events and, like a sensor's spool, retries each batch until it is
# acknowledged; meanwhile the center is killed with SIGKILL several times and
# restarted on the same database. Afterwards PRAGMA integrity_check is ok, every
# acknowledged batch is stored, every event exactly once, and the per-day counters
# (same transaction) agree with the events.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
KILLS=${CENTER_KILLS:-20}
BATCHES=${CENTER_BATCHES:-200}
PER=200
cd "$T_TMP"
DB=$T_TMP/c.db
LOG=$T_TMP/center.log
"$OTASUKE" company add --db "$DB" --name A --sector x >/dev/null
"$OTASUKE" sensor add --db "$DB" --company 1 >s.txt
CODE=$(sed -n 's/^enrollment_code=//p' s.txt)
center_start "$DB" "$LOG" || { cat "$LOG"; bad "center starts"; finish; exit 1; }
req en.json POST /api/v1/enroll -d "{\"code\":\"$CODE\"}" >/dev/null
TOK=$(jget en.json 'J["token"]')

cat >sender.py <<'PYEOF'
import http.client, json, sys, time
import os
port_file, tok, batches, per, acks, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
out = open(acks, "w", buffering=1)
conn = None
retries = 0
b = -1
while True:   # at least `batches` batches, and on until the kills are over
    b += 1
    if b >= batches and os.path.exists(stop):
        break
    body = "".join(json.dumps({"timestamp": "2026-11-%02dT%02d:00:00.000001+09:00" % (1 + b % 28, b % 24),
                               "event_type": "alert", "alert": {"category": "recon"}, "n": b * per + i}) + "\n"
                   for i in range(per)).encode()
    while True:
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", int(open(port_file).read()), timeout=10)
            conn.request("POST", "/api/v1/ingest", body, {"Authorization": "Bearer " + tok,
                         "X-Otasuke-Batch": "b%d" % b, "X-Otasuke-Seq": str(b)})
            r = conn.getresponse()
            data = r.read()
            if r.status == 200:
                j = json.loads(data)
                out.write("%d %d %d\n" % (b, j["stored"], j["duplicate"]))
                break
            print("status", r.status, data[:200], file=sys.stderr)
        except (OSError, http.client.HTTPException, ValueError):
            conn = None
        retries += 1
        time.sleep(0.02)
print("retries", retries, file=sys.stderr)
PYEOF
"$PY" sender.py "$T_TMP/port" "$TOK" "$BATCHES" "$PER" acks.txt stop 2>sender.err &
spid=$!
kills=0
while [ $kills -lt "$KILLS" ] && kill -0 $spid 2>/dev/null; do
    sleep "0.$((RANDOM % 5 + 3))"
    kill -9 "$CENTER_PID" 2>/dev/null && wait "$CENTER_PID" 2>/dev/null
    kills=$((kills + 1))
    center_start "$DB" "$LOG" || { bad "center restarts after kill $kills"; break; }
done
touch stop
wait $spid
check "sender finished" [ $? -eq 0 ]
check "center killed $KILLS times during the stream ($kills)" [ "$kills" -eq "$KILLS" ]
check "sender retried across the kills" grep -q '^retries [1-9]' sender.err
center_stop
check "integrity_check ok" [ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ]
check "foreign_key_check empty" [ -z "$(sqlite3 "$DB" 'PRAGMA foreign_key_check')" ]
NB=$(wc -l <acks.txt)
check "every batch acknowledged, in order ($NB >= $BATCHES)" \
    bash -c "[ $NB -ge $BATCHES ] && awk '\$1 != NR - 1 {exit 1}' acks.txt"
want=$((NB * PER))
check "events stored = events acknowledged ($want)" \
    [ "$(sqlite3 "$DB" 'select count(*) from events')" = "$want" ]
check "every event exactly once" \
    [ "$(sqlite3 "$DB" "select count(distinct json_extract(body,'$.n')) from events")" = "$want" ]
check "batches recorded once each" [ "$(sqlite3 "$DB" 'select count(*) from batches')" = "$NB" ]
check "counters agree with the events" \
    [ "$(sqlite3 "$DB" 'select sum(count) from counters')" = "$want" ]
check "no kill left a second stored copy (duplicates answered as such)" \
    bash -c "awk '\$2 != $PER {exit 1}' acks.txt"
echo "replays answered as duplicate: $(awk '$3 == 1' acks.txt | wc -l)"
finish
