#!/usr/bin/env bash
# Issue 6, "Nothing lost", with a real sensor: otasuke-sensor ships every event of the
# demo capture (about 6,500 events in batches of 1) while the center is killed with
# SIGKILL 20 times (CENTER_KILLS) and restarted on the same database; when a sensor run
# ends before the 20th kill (a fast or a very loaded machine), another run ships the
# capture again (its own event file), so the kill count never depends on timing. Afterwards: PRAGMA integrity_check ok and foreign_key_check
# empty; the sensor's spool is empty and it dropped nothing; the events the sensor
# counted acknowledged equal the events stored; and the center holds every line of the
# sensor's own event file exactly once (the same multiset). center_crash.sh does the
# same with a scripted sender and exact batch bookkeeping.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
. "$(dirname "$0")/../lib/ship.sh"
need_center
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
cd "$T_TMP"
LOG=$T_TMP/center.log
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
KILLS=${CENTER_KILLS:-20}
CODE=$(ship_setup k.db)
center_on "$PORT" k.db "$LOG" || { cat "$LOG"; bad "center starts"; finish; exit 1; }
"$SENSOR" --enroll "$URL" "$CODE" --set ship.state_dir="$T_TMP/sk" >/dev/null
ship_run() { # ship_run N: one sensor run shipping the capture (k.N.json, k.N.err)
    "$SENSOR" -q -r "$PCAP" -o "k.$1.json" --set ship.url="$URL" \
        --set ship.state_dir="$T_TMP/sk" --set ship.types='*' --set ship.batch_events=1 \
        --set ship.backoff_max=200ms --set ship.queue_size=64MiB --set ship.timeout=5s \
        --set ship.drain_timeout=900s 2>"k.$1.err" &
    spid=$!
}
runs=1
ship_run 1
kills=0
sensor_ok=1
while [ $kills -lt "$KILLS" ]; do
    if ! kill -0 $spid 2>/dev/null; then
        wait $spid || sensor_ok=0
        runs=$((runs + 1))
        ship_run $runs
    fi
    sleep "0.$((RANDOM % 4 + 2))"
    kill -9 "$CENTER_PID" 2>/dev/null && wait "$CENTER_PID" 2>/dev/null
    kills=$((kills + 1))
    center_on "$PORT" k.db "$LOG" || { bad "center restarts after kill $kills"; break; }
done
wait $spid || sensor_ok=0
check "every sensor run exited 0 ($runs runs)" [ $sensor_ok -eq 1 ]
check "center killed $KILLS times while the sensor shipped ($kills)" [ "$kills" -ge "$KILLS" ]
sum_counter() { local t=0 i v; for i in $(seq 1 $runs); do v=$(ship_counter "k.$i.err" "$1"); t=$((t + ${v:-0})); done; echo $t; }
check "the sensor retried across the kills" [ "$(sum_counter retries)" -gt 0 ]
check "nothing left in the spool" [ "$(ship_counter "k.$runs.err" spool_segments)" = 0 ]
check "no event dropped by the shipper" [ "$(sum_counter dropped)" = 0 ]
center_stop
check "integrity_check ok" [ "$(sqlite3 k.db 'PRAGMA integrity_check')" = ok ]
check "foreign_key_check empty" [ -z "$(sqlite3 k.db 'PRAGMA foreign_key_check')" ]
acked=$(sum_counter acked)
stored=$(sqlite3 k.db 'select count(*) from events')
check "events the sensor saw acknowledged ($acked) = events stored ($stored)" \
    bash -c "[ '${acked:-0}' -gt 0 ] && [ '$acked' = '$stored' ]"
check "counters agree with the events" [ "$(sqlite3 k.db 'select sum(count) from counters')" = "$stored" ]
check "every event exactly once after $kills kills" ship_compare k.db '*' k.*.json
echo "  batches=$(sqlite3 k.db 'select count(*) from batches') acked_batches=$(sum_counter acked_batches) duplicates=$(sum_counter duplicates) retries=$(sum_counter retries) runs=$runs"
finish
