#!/usr/bin/env bash
# Real scans (issue 4): Debian's nmap in one network namespace scans a host in another,
# through a router namespace where the sensor captures live. Each scan type (-sS, -sT,
# -sU on a few ports, -sn over a /28) gets its own sensor run, and each must give a
# `recon` alert naming the scanner (internal: home_net covers both subnets), with the
# scanner as the alert's device, and nothing from the target or the router.
#   scanner 10.213.9.2 --- 10.213.9.1 [router, sensor on r0] 10.213.10.1 --- 10.213.10.2 target
# Needs root and nmap; skips otherwise.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
command -v ip >/dev/null || skip_all "iproute2 not installed"
command -v nmap >/dev/null || skip_all "nmap not installed (tools/install-deps.sh installs it)"
S=otk-scan-s$$
R=otk-scan-r$$
T=otk-scan-t$$
cleanup() {
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
    for n in "$S" "$R" "$T"; do ip netns del "$n" 2>/dev/null; done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$T_TMP"
}
trap cleanup EXIT
ip netns add "$S" && ip netns add "$R" && ip netns add "$T" || skip_all "cannot create network namespaces"
ip link add s0 netns "$S" type veth peer name r0 netns "$R"
ip link add t0 netns "$T" type veth peer name r1 netns "$R"
ip -n "$S" addr add 10.213.9.2/24 dev s0
ip -n "$R" addr add 10.213.9.1/24 dev r0
ip -n "$R" addr add 10.213.10.1/24 dev r1
ip -n "$T" addr add 10.213.10.2/24 dev t0
for n in "$S" "$R" "$T"; do ip -n "$n" link set lo up; done
ip -n "$S" link set s0 up; ip -n "$R" link set r0 up; ip -n "$R" link set r1 up; ip -n "$T" link set t0 up
ip -n "$S" route add default via 10.213.9.1
ip -n "$T" route add default via 10.213.10.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
# Closed UDP ports answer with ICMP port unreachable at full speed (not 1/s).
ip netns exec "$T" sysctl -qw net.ipv4.icmp_ratelimit=0
ip netns exec "$R" sysctl -qw net.ipv4.icmp_ratelimit=0

# Two open TCP ports and one UDP service on the target, so that some probes succeed.
ip netns exec "$T" "$PY" -c '
import select, socket
ss = []
for p in (22, 80):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(64); ss.append(s)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
while True:
    r, _, _ = select.select(ss + [u], [], [], 60)
    if not r:
        break
    for s in r:
        if s is u:
            d, a = u.recvfrom(2048); u.sendto(d, a)
        else:
            c, _ = s.accept(); c.close()' &
srv=$!
ip netns exec "$S" ping -c 1 -W 2 10.213.10.2 >/dev/null || { bad "the target answers through the router"; finish; }

# scan NAME NMAP-ARGS...: one sensor run around one nmap run; events in $T_TMP/NAME.json
scan() {
    local name=$1; shift
    ip netns exec "$R" "$SENSOR" -i r0 -o "$T_TMP/$name.json" -q \
        --set detect.home_net=10.213.0.0/16 --set inventory.enabled=no 2>"$T_TMP/$name.err" &
    local pid=$!
    for _ in $(seq 50); do [ -s "$T_TMP/$name.err" ] || [ -e "$T_TMP/$name.json" ] && break; sleep 0.1; done
    sleep 1
    ip netns exec "$S" nmap -n --max-retries 1 "$@" >"$T_TMP/$name.nmap" 2>&1
    sleep 1
    kill -TERM "$pid"; wait "$pid"
    check "$name: sensor exits 0" [ $? -eq 0 ]
    check "$name: events are JSON" all_json "$T_TMP/$name.json"
}
# recon NAME: the recon alerts of that run as "signature_id src_ip device.ip count"
recon() {
    ev_query "$T_TMP/$1.json" '" ".join(sorted("%d:%s:%s" % (e["alert"]["signature_id"], e["src_ip"], e["device"]["ip"]) for e in E if e["event_type"]=="alert" and e["alert"]["category"]=="recon"))'
}
others() {
    ev_query "$T_TMP/$1.json" 'sum(1 for e in E if e["event_type"]=="alert" and e["alert"]["category"]!="recon" and e["alert"]["severity"]<4)'
}

scan syn -Pn -sS -p 1-40 10.213.10.2
check "nmap -sS: a port scan alert naming the scanner 10.213.9.2 ($(recon syn))" \
    [ "$(recon syn)" = "2000001:10.213.9.2:10.213.9.2" ]
check "nmap -sS: the alert counts the probes (>= 40)" \
    [ "$(ev_query "$T_TMP/syn.json" 'max(e["alert"]["count"] for e in E if e["event_type"]=="alert")')" -ge 40 ]

scan connect -Pn -sT -p 1-40 10.213.10.2
check "nmap -sT: a port scan alert naming the scanner ($(recon connect))" \
    [ "$(recon connect)" = "2000001:10.213.9.2:10.213.9.2" ]

scan udp -Pn -sU -p 40-60 10.213.10.2
check "nmap -sU on 21 ports: a port scan alert naming the scanner ($(recon udp))" \
    [ "$(recon udp)" = "2000001:10.213.9.2:10.213.9.2" ]

scan ping -sn 10.213.10.0/28
check "nmap -sn over a /28: a sweep alert naming the scanner ($(recon ping))" \
    bash -c "echo '$(recon ping)' | grep -Eq '^200000[23]:10\.213\.9\.2:10\.213\.9\.2$'"

for n in syn connect udp ping; do
    check "$n: no other alert above informational" [ "$(others $n)" = 0 ]
done
finish
