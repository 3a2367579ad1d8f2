#!/usr/bin/env bash
# Shipping survives a center that crashes and one that misbehaves (issue 6, "Nothing
# lost"): the center is killed with SIGKILL at least 5 times while the sensor sends
# small batches, and restarted on the same database; then a stub in front of the
# center answers 503 with Retry-After, 500 with garbage, and stores a batch but
# answers too late (the sensor times out and resends: a duplicate). In every case the
# center holds each shipped event exactly once.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
. "$(dirname "$0")/../lib/ship.sh"
need_center
PCAP=$(demo_pcap) || { bad "demo capture generated"; finish; exit 1; }
cd "$T_TMP"
LOG=$T_TMP/center.log
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
KILLS=${SHIP_KILLS:-6}

# ---- kill -9 the center during shipping ---------------------------------------------
CODE=$(ship_setup k.db)
center_on "$PORT" k.db "$LOG" || { cat "$LOG"; bad "center starts"; finish; exit 1; }
"$SENSOR" --enroll "$URL" "$CODE" --set ship.state_dir="$T_TMP/sk" >/dev/null
# Every event type, 4 events a batch: about 1,600 batches, so the stream lasts long
# enough for the kills; the sensor drains for up to 10 minutes. The memory queue is
# made larger than the demo's whole output (about 4 MB): with an fsync per 4-event
# batch the spool writer falls behind the packet path, and the default queue (8 MiB,
# two halves) then drops the tail, counted, which is not what this test is about.
"$SENSOR" -q -r "$PCAP" -o k.json --set ship.url="$URL" --set ship.state_dir="$T_TMP/sk" \
    --set ship.types='*' --set ship.batch_events=4 --set ship.backoff_max=200ms \
    --set ship.queue_size=64MiB \
    --set ship.timeout=5s --set ship.drain_timeout=600s 2>k.err &
spid=$!
kills=0
while [ $kills -lt "$KILLS" ] && kill -0 $spid 2>/dev/null; do
    sleep "0.$((RANDOM % 4 + 2))"
    kill -9 "$CENTER_PID" 2>/dev/null && wait "$CENTER_PID" 2>/dev/null
    kills=$((kills + 1))
    center_on "$PORT" k.db "$LOG" || { bad "center restarts after kill $kills"; break; }
done
wait $spid
check "sensor exited 0" [ $? -eq 0 ]
check "center killed $KILLS times while the sensor shipped ($kills)" [ "$kills" -ge "$KILLS" ]
check "the sensor retried across the kills" [ "$(ship_counter k.err retries)" -gt 0 ]
check "nothing left in the spool" [ "$(ship_counter k.err spool_segments)" = 0 ]
check "no event dropped by the shipper" [ "$(ship_counter k.err dropped)" = 0 ]
center_stop
check "integrity_check ok" [ "$(sqlite3 k.db 'PRAGMA integrity_check')" = ok ]
check "every event exactly once after $kills kills" ship_compare k.db '*' k.json
echo "  batches=$(sqlite3 k.db 'select count(*) from batches') acked_batches=$(ship_counter k.err acked_batches) duplicates=$(ship_counter k.err duplicates) retries=$(ship_counter k.err retries)"

# ---- a misbehaving center: 503 + Retry-After, 500 + garbage, late answers ----------
CODE=$(ship_setup f.db)
center_on "$PORT" f.db "$LOG" || { bad "center starts"; finish; exit 1; }
"$SENSOR" --enroll "$URL" "$CODE" --set ship.state_dir="$T_TMP/sf" >/dev/null
SPORT=$(free_port)
cat >stub.py <<'PYEOF'
# Answers request n by n % 4: 0 → 503 Retry-After: 2; 1 → 500 with a garbage body;
# 2 → forwards to the center (which stores the batch) and answers after the client
# gave up; 3 → forwards and answers. Logs "time n action batch".
import http.client, http.server, sys, time
port, center, logf = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], "w", buffering=1)
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        k = n[0] % 4; n[0] += 1
        b = self.headers.get("X-Otasuke-Batch")
        logf.write("%.3f %d %s\n" % (time.monotonic(), k, b))
        if k == 0:
            self.send_response(503); self.send_header("Retry-After", "2")
            self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
            return
        if k == 1:
            g = b"\x00\xffnot json <html>"
            self.send_response(500); self.send_header("Content-Length", str(len(g)))
            self.end_headers(); self.wfile.write(g)
            return
        c = http.client.HTTPConnection("127.0.0.1", center, timeout=30)
        hd = {h: self.headers[h] for h in ("Authorization", "X-Otasuke-Batch", "X-Otasuke-Seq", "Content-Type")}
        c.request("POST", "/api/v1/ingest", body, hd)
        r = c.getresponse(); data = r.read()
        if k == 2:
            time.sleep(2.5)      # the sensor's ship.timeout is 1 s
        try:
            self.send_response(r.status); self.send_header("Content-Length", str(len(data)))
            self.end_headers(); self.wfile.write(data)
        except OSError:
            pass
http.server.HTTPServer.allow_reuse_address = True
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PYEOF
"$PY" stub.py "$SPORT" "$PORT" stub.log &
stub=$!
for _ in $(seq 1 100); do "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $SPORT))" 2>/dev/null && break; sleep 0.05; done
"$SENSOR" -q -r "$PCAP" -o f.json --set ship.url="http://127.0.0.1:$SPORT" \
    --set ship.state_dir="$T_TMP/sf" --set ship.types=dns,http,tls --set ship.batch_events=400 \
    --set ship.timeout=1s --set ship.backoff_max=300ms --set ship.drain_timeout=120s 2>f.err
check "sensor exited 0" [ $? -eq 0 ]
kill "$stub"; wait "$stub" 2>/dev/null
check "every event exactly once behind the misbehaving stub" ship_compare f.db dns,http,tls f.json
check "the sensor saw 503, 500 and timeouts and retried" [ "$(ship_counter f.err retries)" -ge 3 ]
check "a batch stored but not acknowledged in time was resent and answered as duplicate" \
    [ "$(ship_counter f.err duplicates)" -ge 1 ]
check "nothing dropped" [ "$(ship_counter f.err dropped)" = 0 ]
"$PY" - stub.log <<'PYEOF' >ra.txt
import sys
rows = [l.split() for l in open(sys.argv[1])]
gaps = [float(rows[i + 1][0]) - float(rows[i][0]) for i in range(len(rows) - 1) if rows[i][1] == "0"]
print("after_503", len(gaps), "min_gap %.2f" % (min(gaps) if gaps else -1))
print("ok" if gaps and min(gaps) >= 1.9 else "not honoured")
PYEOF
sed 's/^/  /' ra.txt
check "Retry-After: 2 honoured (the next request came 2 s or more later)" grep -qx ok ra.txt
center_stop
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' k.err f.err"
finish
