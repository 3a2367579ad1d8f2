#!/usr/bin/env bash
# Intel reload without a pause (issue 4): the sensor captures live in a network
# namespace while a steady UDP stream (about 3,000 datagrams/s) crosses a veth pair,
# and SIGHUP reloads a generated list of 1,000,000 domains four times. The load runs
# on the reload thread, so the packet thread keeps reading: the kernel drop counter
# must stay 0 and every datagram sent must be counted by the sensor. An indicator
# added to a list before the last reload must raise an alert for traffic sent after
# it, and not before. Count-based: each step waits for the sensor's own log line
# ("intel lists reloaded"), never for a fixed time. Needs root; skips otherwise.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
command -v ip >/dev/null || skip_all "iproute2 not installed"
A=otk-rl-a$$
B=otk-rl-b$$
cleanup() {
    [ -n "${gen:-}" ] && kill "$gen" 2>/dev/null
    ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null; rm -rf "$T_TMP"
}
trap cleanup EXIT
ip netns add "$A" && ip netns add "$B" || skip_all "cannot create network namespaces"
ip link add ra$$ netns "$A" type veth peer name rb$$ netns "$B"
ip -n "$A" addr add 10.213.8.1/24 dev ra$$
ip -n "$B" addr add 10.213.8.2/24 dev rb$$
ip -n "$A" link set ra$$ up
ip -n "$B" link set rb$$ up
chmod 777 "$T_TMP"

"$PY" -c '
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1000000):
        f.write("d%07d.reload-test.example\n" % i)' "$T_TMP/big.txt"
echo "198.51.100.7" >"$T_TMP/hot.txt"
cat >"$T_TMP/intel.yaml" <<Y
intel:
  - {name: big, path: "$T_TMP/big.txt", format: plain, type: domain, category: malicious_site, severity: 2}
  - {name: hot, path: "$T_TMP/hot.txt", format: plain, type: ip, category: c2, severity: 1}
Y
chmod 644 "$T_TMP"/*

ip netns exec "$A" "$SENSOR" -i ra$$ -o "$T_TMP/live.json" --user nobody \
    --set output.stats_interval=1s --set detect.intel_file="$T_TMP/intel.yaml" \
    'udp' 2>"$T_TMP/live.err" &
pid=$!
for _ in $(seq 300); do grep -q "intel lists=" "$T_TMP/live.err" && break; sleep 0.1; done
check "sensor loaded the 1M-indicator lists" grep -q "intel list=big loaded=1000000" "$T_TMP/live.err"
# The sensor installs its SIGHUP handler after loading the lists (sensor/main.c): until
# then a HUP ends it (seen on a loaded machine). Wait until it catches SIGHUP (bit 0 of
# SigCgt in /proc/PID/status; `ip netns exec` execs the sensor, so $pid is the sensor).
hup_caught() { local m; m=$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status" 2>/dev/null) &&
    [ -n "$m" ] && (( 16#$m & 1 )); }
for _ in $(seq 600); do hup_caught && break; sleep 0.1; done
check "sensor catches SIGHUP" hup_caught

# The steady stream: 3,000 datagrams/s from A to B port 7000 until told to stop;
# it prints how many it sent.
ip netns exec "$A" "$PY" -c '
import socket, time, signal, sys
stop = False
def h(*_):
    global stop; stop = True
signal.signal(signal.SIGTERM, h)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0; t0 = time.monotonic()
while not stop:
    s.sendto(b"x" * 64, ("10.213.8.2", 7000)); n += 1
    if n % 30 == 0:
        d = t0 + n / 3000.0 - time.monotonic()
        if d > 0: time.sleep(d)
print(n)' >"$T_TMP/sent" &
gen=$!

reloads() { grep -c "intel lists reloaded" "$T_TMP/live.err"; }
hup_and_wait() {
    local want=$(( $(reloads) + 1 ))
    kill -HUP $pid
    for _ in $(seq 600); do [ "$(reloads)" -ge "$want" ] && return 0; sleep 0.1; done
    return 1
}
check "reload 1 done" hup_and_wait
check "reload 2 done" hup_and_wait
check "reload 3 done" hup_and_wait
# Traffic to the new indicator before it is listed: no alert.
ip netns exec "$A" "$PY" -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.213.8.1", 40001)); s.sendto(b"before", ("10.213.8.2", 9001))'
echo "10.213.8.2" >>"$T_TMP/hot.txt"
check "reload 4 done (hot list now names 10.213.8.2)" hup_and_wait
ip netns exec "$A" "$PY" -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.213.8.1", 40002)); s.sendto(b"after", ("10.213.8.2", 9002))'
# Broken list: counted failure, the set stays.
echo "intel: [" >"$T_TMP/bad.yaml"
cp "$T_TMP/intel.yaml" "$T_TMP/good.yaml"
cp "$T_TMP/bad.yaml" "$T_TMP/intel.yaml"
kill -HUP $pid
for _ in $(seq 300); do grep -q "intel reload failed" "$T_TMP/live.err" && break; sleep 0.1; done
check "a broken intel file is reported with file:line" grep -q "intel reload failed, the previous lists stay: .*intel.yaml:[0-9]" "$T_TMP/live.err"

kill -TERM $gen; wait $gen; gen=
sent=$(cat "$T_TMP/sent")
# Let the sensor read what is in flight: wait for a stats event counting every datagram.
for _ in $(seq 100); do
    n=$(ev_query "$T_TMP/live.json" 'max([0]+[e["stats"]["decoder"]["pkts"] for e in E if e["event_type"]=="stats"])' 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$sent" ] && break
    sleep 0.2
done
kill -TERM $pid
wait $pid; rc=$?
check "exits 0 on SIGTERM" [ "$rc" -eq 0 ]
check "events are JSON" all_json "$T_TMP/live.json"
check "generator sent datagrams (> 3000)" [ "$sent" -gt 3000 ]
check "kernel drops stay 0 through the reloads" [ "$(ev_query "$T_TMP/live.json" 'E[-1]["stats"]["capture"]["kernel_drops"]')" = 0 ]
check "the sensor counted every datagram of the stream" [ "$(ev_query "$T_TMP/live.json" 'sum(e["flow"]["pkts_toserver"] for e in E if e["event_type"]=="flow" and e.get("dest_port")==7000)')" = "$sent" ]
check "4 reloads, 1 failure counted in stats" [ "$(ev_query "$T_TMP/live.json" '(E[-1]["stats"]["detect"]["intel_reloads"], E[-1]["stats"]["detect"]["intel_reload_fails"])')" = "(4, 1)" ]
check "alert for the new indicator after the reload, none before" [ "$(ev_query "$T_TMP/live.json" 'sorted(e["dest_port"] for e in E if e["event_type"]=="alert" and e["dest_ip"]=="10.213.8.2")')" = "[9002]" ]
finish
