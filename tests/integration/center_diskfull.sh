#!/usr/bin/env bash
# A full disk under the center's database (RELIABILITY.md D2): the database lives on a
# small tmpfs; batches are sent until the disk is full. The center must stay up and
# answer 503 with Retry-After (nothing half-stored), log the error at most about once
# a second, and, once space is back, store the same batch; integrity_check is ok and
# the events stored are exactly those acknowledged. Then the sensor's spool on a full
# tmpfs with the center down: the sensor does not crash, counts every event it could
# not write, and once the center is up the rest arrives (stored = queued - dropped).
# Needs root (mount); else SKIP.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
. "$(dirname "$0")/../lib/ship.sh"
need_center
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount a tmpfs"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"
MNT=$T_TMP/mnt
mkdir -p "$MNT"
mount -t tmpfs -o size=6m tmpfs "$MNT" 2>/dev/null || skip_all "cannot mount a tmpfs here"
MNT2=$T_TMP/mnt2
trap 'center_stop; umount "$MNT"; umount "$MNT2" 2>/dev/null; rm -rf "$T_TMP"' EXIT
cd "$T_TMP"
DB=$MNT/c.db
LOG=$T_TMP/center.log
"$OTASUKE" company add --db "$DB" --name A --sector x >/dev/null
"$OTASUKE" sensor add --db "$DB" --company 1 >s.txt
CODE=$(sed -n 's/^enrollment_code=//p' s.txt)
dd if=/dev/zero of="$MNT/filler" bs=1k count=1024 status=none   # 1 MiB to give back later
printf 'scrape-token-0123456789abcdef\n' >"$T_TMP/tok.txt"
center_start "$DB" "$LOG" --set metrics.token_file="$T_TMP/tok.txt" || { cat "$LOG"; bad "center starts"; finish; exit 1; }
req en.json POST /api/v1/enroll -d "{\"code\":\"$CODE\"}" >/dev/null
TOK=$(jget en.json 'J["token"]')

"$PY" - batch.ndjson <<'PYEOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(400):
        f.write(json.dumps({"timestamp": "2026-11-22T10:00:00Z", "event_type": "flow",
                            "pad": "x" * 600, "i": i}) + "\n")
PYEOF
acked=0; full=""; n=0
t0=$(date +%s)
while [ $n -lt 60 ]; do
    n=$((n + 1))
    st=$(curl -s -D hdr.txt -o r.json -w '%{http_code}' -H "Authorization: Bearer $TOK" \
        -H "X-Otasuke-Batch: b$n" -H "X-Otasuke-Seq: $n" --data-binary @batch.ndjson \
        "http://127.0.0.1:$CENTER_PORT/api/v1/ingest")
    if [ "$st" = 200 ]; then acked=$((acked + $(jget r.json 'J["stored"]'))); continue; fi
    full=$st; break
done
check "disk full: 503 (after $acked events stored)" [ "$full" = 503 ]
check "disk full: Retry-After" grep -qi '^Retry-After: 1' hdr.txt
# More attempts while full: still 503, the center stays up, the log stays short.
for i in 1 2 3 4 5 6 7 8 9 10; do
    st=$(ingest r.json "$TOK" "b$n" "$n" batch.ndjson)
    [ "$st" = 503 ] || break
done
check "still full: 503 each time" [ "$st" = 503 ]
check "center still running" kill -0 "$CENTER_PID"
secs=$(( $(date +%s) - t0 + 1 ))
lines=$(grep -c 'store error' "$LOG")
check "store errors logged at most once a second ($lines lines in ${secs}s)" [ "$lines" -le $((secs + 1)) ]
curl -s -H 'Authorization: Bearer scrape-token-0123456789abcdef' \
    "http://127.0.0.1:$CENTER_PORT/metrics" >metrics.txt
nospace=$(sed -n 's/^otasuke_center_store_errors_total{kind="nospace"} //p' metrics.txt)
n503=$(sed -n 's/^otasuke_center_http_responses_total{code="503"} //p' metrics.txt)
check "metrics count the full disk (nospace=$nospace, 503 answers=$n503)" \
    bash -c "[ '${nospace:-0}' -ge 1 ] && [ '${n503:-0}' -ge 1 ]"
rm -f "$MNT/filler"
st=$(ingest r.json "$TOK" "b$n" "$n" batch.ndjson)
check "space back: the same batch stored" [ "$st" = 200 ]
[ "$st" = 200 ] && acked=$((acked + $(jget r.json 'J["stored"]')))
center_stop
check "integrity_check ok" [ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ]
check "foreign_key_check empty" [ -z "$(sqlite3 "$DB" 'PRAGMA foreign_key_check')" ]
check "events stored = events acknowledged ($acked)" \
    [ "$(sqlite3 "$DB" 'select count(*) from events')" = "$acked" ]
check "counters = events acknowledged" [ "$(sqlite3 "$DB" 'select sum(count) from counters')" = "$acked" ]

# ---- the sensor's spool on a full tmpfs, the center down ------------------------------
PCAP=$(demo_pcap) || { echo "SKIP sensor part: cannot generate the demo capture"; finish; exit $?; }
mkdir -p "$MNT2"
mount -t tmpfs -o size=192k tmpfs "$MNT2" || { bad "mount a second tmpfs"; finish; exit 1; }
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
CODE=$(ship_setup "$T_TMP/s.db")
center_on "$PORT" "$T_TMP/s.db" "$LOG" &&
    "$SENSOR" --enroll "$URL" "$CODE" --set ship.state_dir="$MNT2/st" >/dev/null
center_stop
S=(--set ship.url="$URL" --set ship.state_dir="$MNT2/st" --set ship.types='*'
   --set ship.spool_size=64MiB --set ship.batch_bytes=16KiB --set ship.queue_size=64MiB)
"$SENSOR" -q -r "$PCAP" -o e1.json "${S[@]}" --set ship.drain_timeout=0 2>s1.err
rc=$?
q=$(ship_counter s1.err queued); sp=$(ship_counter s1.err spooled)
dw=$(ship_counter s1.err dropped_write); dr=$(ship_counter s1.err dropped)
echo "  full spool run: queued=$q spooled=$sp dropped_write=$dw dropped=$dr df=$(df -k "$MNT2" | awk 'NR==2 {print $4}')KiB free"
check "sensor with a full spool disk exits 0 (no crash)" [ $rc -eq 0 ]
check "the full disk dropped events and counted them (dropped_write=$dw)" [ "${dw:-0}" -gt 0 ]
check "the drop counters add up" [ "$dr" -eq "$((dw + $(ship_counter s1.err dropped_spool) + $(ship_counter s1.err dropped_queue)))" ]
check "spooled + dropped = queued" [ "$((sp + dr))" -eq "$q" ]
check "the sensor logged the write failure" grep -qi 'spool' s1.err
empty_pcap empty.pcap
center_on "$PORT" "$T_TMP/s.db" "$LOG" || bad "center starts"
"$SENSOR" -q -r empty.pcap -o e2.json "${S[@]}" --set ship.drain_timeout=60s 2>s2.err
center_stop
stored=$(sqlite3 "$T_TMP/s.db" 'select count(*) from events')
want=$((q - dr + $(ship_counter s2.err queued) - $(ship_counter s2.err dropped)))
check "afterwards the center holds every event not counted as dropped ($stored = $want)" [ "$stored" -eq "$want" ]
check "spool empty afterwards" [ "$(ship_counter s2.err spool_segments)" = 0 ]
check "center integrity_check ok" [ "$(sqlite3 "$T_TMP/s.db" 'PRAGMA integrity_check')" = ok ]
finish
