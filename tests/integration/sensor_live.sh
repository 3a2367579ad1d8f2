#!/usr/bin/env bash
# Live capture for real: two test hosts in network namespaces made here, joined by
# a veth pair. The sensor captures on one side with --user nobody (RELIABILITY H1:
# uid != 0 and no effective capabilities after the capture is open), sees a ping
# and a TCP exchange, stops on SIGTERM and writes its flows and final stats
# (with the kernel drop counters). Needs root; skips otherwise.
# LIVE_WORKERS=N (sensor_live_workers.sh sources this with 2) runs the sensor with
# capture.workers=N in namespaces and a subnet of its own, and also checks the worker
# threads, a SIGHUP, no ring drops and no sanitizer report (it runs on TSan builds too).
. "$(dirname "$0")/../lib/common.sh"
workers=${LIVE_WORKERS:-1}
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
command -v ip >/dev/null || skip_all "iproute2 not installed"
# several workers: not yet with detections or the inventory (docs/internals/workers.md)
if [ "$workers" -gt 1 ]; then tag=lw net=10.213.9 va=wa$$ vb=wb$$ det=no; else tag=live net=10.213.7 va=va$$ vb=vb$$ det=yes; fi
A=otk-$tag-a$$
B=otk-$tag-b$$
cleanup() { ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null; rm -rf "$T_TMP"; }
trap cleanup EXIT
ip netns add "$A" && ip netns add "$B" || skip_all "cannot create network namespaces"
ip link add "$va" netns "$A" type veth peer name "$vb" netns "$B"
ip -n "$A" addr add "$net.1/24" dev "$va"
ip -n "$B" addr add "$net.2/24" dev "$vb"
ip -n "$A" link set "$va" up
ip -n "$B" link set "$vb" up
ip -n "$A" link set lo up
ip -n "$B" link set lo up
chmod 777 "$T_TMP"

ip netns exec "$A" "$SENSOR" -i "$va" -o "$T_TMP/live.json" --user nobody -q \
    --set output.stats_interval=1s --set capture.workers="$workers" \
    --set detect.enabled="$det" --set inventory.enabled="$det" 'not arp' 2>"$T_TMP/live.err" &
pid=$!
# wait (up to 15 s) for the privilege drop instead of a fixed sleep: under load the
# start-up (nDPI, intel lists) can take longer than a second or two
for _ in $(seq 75); do
    grep -qE '^Uid:[[:space:]]+0[[:space:]]' /proc/$pid/status 2>/dev/null || break
    sleep 0.2
done
sleep 0.3
check "sensor is running" kill -0 $pid
check "runs as a non-root user after opening the capture" \
    bash -c "grep -E '^Uid:' /proc/$pid/status | awk '{exit !(\$2 != 0 && \$3 != 0)}'"
check "holds no effective capabilities" grep -qE '^CapEff:[[:space:]]+0+$' /proc/$pid/status

ip netns exec "$A" ping -c 3 -i 0.2 "$net.2" >/dev/null 2>&1
ip netns exec "$B" "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080)); s.listen(1); s.settimeout(5)
c, _ = s.accept(); c.recv(100); c.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello"); c.close()' "$net.2" &
srv=$!
sleep 0.5
ip netns exec "$A" "$PY" -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 8080), timeout=5)
c.sendall(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n"); c.recv(100); c.close()' "$net.2"
wait $srv
# The clock runs on read timeouts while idle, so periodic stats (1 s here) come even
# without traffic; wait for one (up to 10 s) instead of guessing a sleep.
for _ in $(seq 50); do
    grep -q '"final":false' "$T_TMP/live.json" 2>/dev/null && break
    sleep 0.2
done
sleep 0.3
if [ "$workers" -gt 1 ]; then
    kill -HUP $pid # an intel reload request (none configured): handled, the sensor goes on
    sleep 1.5
    check "still running after SIGHUP" kill -0 $pid
    check "$workers worker threads besides the reader" [ "$(ls /proc/$pid/task | wc -l)" -gt "$workers" ]
fi
kill -TERM $pid
wait $pid; rc=$?
check "exits 0 on SIGTERM" [ "$rc" -eq 0 ]
check "events are JSON" all_json "$T_TMP/live.json"
check "ICMP flow seen with 3 requests and 3 replies" [ "$(ev_query "$T_TMP/live.json" '[ (e["flow"]["pkts_toserver"],e["flow"]["pkts_toclient"]) for e in E if e["event_type"]=="flow" and e["proto"]=="ICMP"]')" = "[(3, 3)]" ]
check "TCP flow to port 8080, closed, identified as HTTP" [ "$(ev_query "$T_TMP/live.json" '[ (e["flow"]["state"],e["app_proto"]) for e in E if e["event_type"]=="flow" and e.get("dest_port")==8080]')" = "[('closed', 'http')]" ]
check "periodic stats events while live" [ "$(ev_query "$T_TMP/live.json" 'sum(1 for e in E if e["event_type"]=="stats" and not e["stats"]["final"])')" -ge 1 ]
check "final stats carry kernel drop counters" [ "$(ev_query "$T_TMP/live.json" 'E[-1]["stats"]["capture"]["kernel_drops"]')" = 0 ]
if [ "$workers" -gt 1 ]; then
    check "no sanitizer report (this test also runs on TSan builds)" \
        bash -c "! grep -qE 'Sanitizer|runtime error' '$T_TMP/live.err'"
    check "final stats: $workers workers, no ring drops" [ "$(ev_query "$T_TMP/live.json" '(E[-1]["stats"]["workers"]["count"], E[-1]["stats"]["workers"]["ring_drops"])')" = "($workers, 0)" ]
fi
finish
