#!/usr/bin/env bash
# The sensor ships to a real otasuke-center (issue 6, sensor side): enrollment with a
# one-time code, every shipped event stored exactly once (compared line by line with
# the sensor's own event file), a center that is down at the start (the spool keeps
# everything; in one run, and across a restart that resumes the same batch ids), and
# a small spool cap with the center down (oldest batches dropped and counted, the
# center gets the rest).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
. "$(dirname "$0")/../lib/ship.sh"
need_center
PCAP=$(demo_pcap) || { bad "demo capture generated"; finish; exit 1; }
cd "$T_TMP"
TYPES=dns,http,tls,dhcp,flow,stats,anomaly
LOG=$T_TMP/center.log
PORT=$(free_port)

# ---- enrollment -------------------------------------------------------------------
CODE=$(ship_setup c.db)
center_on "$PORT" c.db "$LOG" || { cat "$LOG"; bad "center starts"; finish; exit 1; }
URL=http://127.0.0.1:$PORT
check "enroll with the one-time code" \
    "$SENSOR" --enroll "$URL" "$CODE" --set ship.state_dir="$T_TMP/st"
check "token stored with mode 0600" [ "$(stat -c %a st/token)" = 600 ]
check "token is otk_ and 64 hex digits" grep -qE '^otk_[0-9a-f]{64}$' st/token
check "the code works once" bash -c "! '$SENSOR' --enroll '$URL' '$CODE' --set ship.state_dir='$T_TMP/st2' 2>en2.err"
check "  with a clear error" grep -q "401" en2.err
check "no token without a center" bash -c "! '$SENSOR' --enroll http://127.0.0.1:1 otc_00 --set ship.state_dir='$T_TMP/st3' 2>/dev/null"
check "shipping without a token is refused at start" bash -c "! '$SENSOR' -q -r '$PCAP' -o /dev/null --set ship.url='$URL' --set ship.state_dir='$T_TMP/none' 2>nt.err && grep -q 'enroll first' nt.err"

# ---- end to end: every shipped event exactly once ----------------------------------
S=(--set ship.url="$URL" --set ship.state_dir="$T_TMP/st" --set ship.types="$TYPES"
   --set ship.batch_events=200 --set ship.drain_timeout=60s)
"$SENSOR" -q -r "$PCAP" -o e1.json "${S[@]}" 2>s1.err
check "sensor run with shipping exits 0" [ $? -eq 0 ]
check "every shipped event is in the center exactly once" ship_compare c.db "$TYPES" e1.json
check "acknowledged = spooled = queued, nothing dropped" bash -c \
    "[ $(ship_counter s1.err acked) -gt 0 ] && [ $(ship_counter s1.err acked) = $(ship_counter s1.err spooled) ] && [ $(ship_counter s1.err spooled) = $(ship_counter s1.err queued) ] && [ $(ship_counter s1.err dropped) = 0 ]"
check "spool empty afterwards" [ -z "$(ls st/spool)" ]
check "stats events carry the ship counters" grep -q '"ship":{"queued":' e1.json
check "batches carry the sensor's sequence numbers" \
    [ "$(sqlite3 c.db 'select count(distinct seq) = count(*) and min(seq) > 0 from batches')" = 1 ]
center_stop

# ---- the center is down at the start; it comes up while the sensor drains -----------
CODE=$(ship_setup d.db)
center_on "$PORT" d.db "$LOG" && "$SENSOR" --enroll "$URL" "$CODE" --set ship.state_dir="$T_TMP/sd" >/dev/null
center_stop
S=(--set ship.url="$URL" --set ship.state_dir="$T_TMP/sd" --set ship.types="$TYPES"
   --set ship.batch_events=300 --set ship.backoff_max=300ms --set ship.drain_timeout=120s)
"$SENSOR" -q -r "$PCAP" -o e2.json "${S[@]}" 2>s2.err &
spid=$!
# wait until the sensor has spooled its batches and failed to send at least twice
for _ in $(seq 1 400); do
    [ "$(ls sd/spool 2>/dev/null | grep -c '\.seg$')" -gt 3 ] && grep -q 'center unreachable' s2.err && break
    sleep 0.05
done
check "center down: batches wait in the spool" [ "$(ls sd/spool | grep -c '\.seg$')" -gt 3 ]
center_on "$PORT" d.db "$LOG" || bad "center starts late"
wait $spid
check "sensor drained and exited 0" [ $? -eq 0 ]
check "everything arrived once the center was up" ship_compare d.db "$TYPES" e2.json
check "the sender retried while the center was down" [ "$(ship_counter s2.err retries)" -gt 0 ]
center_stop

# ---- restart: a sensor that stopped with a full spool resumes the same batch ids ---
CODE=$(ship_setup r.db)
center_on "$PORT" r.db "$LOG" && "$SENSOR" --enroll "$URL" "$CODE" --set ship.state_dir="$T_TMP/sr" >/dev/null
center_stop
S=(--set ship.url="$URL" --set ship.state_dir="$T_TMP/sr" --set ship.types="$TYPES"
   --set ship.batch_events=250)
"$SENSOR" -q -r "$PCAP" -o e3.json "${S[@]}" --set ship.drain_timeout=0 2>s3.err
check "center down, no drain time: exit 0 with the batches spooled" \
    bash -c "[ \$(ls sr/spool | grep -c '\.seg\$') -gt 5 ] && grep -q 'sent after the next start' s3.err"
ls sr/spool | sed -n 's/\.seg$//p' | sort >ids_before.txt
empty_pcap empty.pcap
center_on "$PORT" r.db "$LOG" || bad "center starts"
"$SENSOR" -q -r empty.pcap -o e4.json "${S[@]}" --set ship.drain_timeout=60s 2>s4.err
check "restart: everything arrived exactly once" ship_compare r.db "$TYPES" e3.json e4.json
sqlite3 r.db 'select batch_id from batches' | sort >ids_center.txt
check "restart: the spooled batches were sent under their original batch ids" \
    bash -c "[ -s ids_before.txt ] && [ -z \"\$(comm -23 ids_before.txt ids_center.txt)\" ]"
center_stop

# ---- small spool cap with the center down: oldest dropped, counted, rest arrives ---
CODE=$(ship_setup p.db)
center_on "$PORT" p.db "$LOG" && "$SENSOR" --enroll "$URL" "$CODE" --set ship.state_dir="$T_TMP/sp" >/dev/null
center_stop
S=(--set ship.url="$URL" --set ship.state_dir="$T_TMP/sp" --set ship.types="$TYPES"
   --set ship.spool_size=256KiB --set ship.batch_bytes=16KiB)
"$SENSOR" -q -r "$PCAP" -o e5.json "${S[@]}" --set ship.drain_timeout=0 2>s5.err
q=$(ship_counter s5.err queued); sp=$(ship_counter s5.err spooled); dr=$(ship_counter s5.err dropped_spool)
echo "  spool cap run: queued=$q spooled=$sp dropped_spool=$dr spool_bytes=$(ship_counter s5.err spool_bytes)"
check "spool stayed under its cap" [ "$(du -sb sp/spool | cut -f1)" -le $((256 * 1024 + 4096)) ]
check "the cap dropped events and counted them" [ "${dr:-0}" -gt 0 ]
check "the drop counters add up" [ "$(ship_counter s5.err dropped)" -eq "$((dr + $(ship_counter s5.err dropped_queue) + $(ship_counter s5.err dropped_write)))" ]
center_on "$PORT" p.db "$LOG" || bad "center starts"
"$SENSOR" -q -r empty.pcap -o e6.json "${S[@]}" --set ship.drain_timeout=60s 2>s6.err
check "the center got the rest: every queued event is stored or counted as dropped" \
    [ "$(sqlite3 p.db 'select count(*) from events')" -eq "$((q - $(ship_counter s5.err dropped) + $(ship_counter s6.err queued) - $(ship_counter s6.err dropped)))" ]
"$PY" - e5.json p.db "$TYPES" <<'PYEOF' >cap.txt
import json, sqlite3, sys
want = set(sys.argv[3].split(","))
lines = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if json.loads(l)["event_type"] in want]
got = [b for (b,) in sqlite3.connect(sys.argv[2]).execute("select body from events")]
gs = set(got)
print("dups", len(got) - len(gs))
print("unknown", sum(1 for b in gs if b not in set(lines)) - 1)   # run 2's final stats
# the newest events survived: the last 200 shipped lines are all stored
print("newest_missing", sum(1 for l in lines[-200:] if l not in gs))
print("oldest_missing", sum(1 for l in lines[:2000] if l not in gs))
PYEOF
cat cap.txt | sed 's/^/  /'
check "no event stored twice" grep -qx 'dups 0' cap.txt
check "nothing stored that the sensor did not write" grep -qx 'unknown 0' cap.txt
check "the newest events survived the cap" grep -qx 'newest_missing 0' cap.txt
check "the oldest events were the ones dropped" bash -c "! grep -qx 'oldest_missing 0' cap.txt"
center_stop
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' s*.err"
finish
