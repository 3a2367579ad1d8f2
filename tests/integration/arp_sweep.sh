#!/usr/bin/env bash
# The inventory's active discovery (inventory.sweep, docs/inventory.md "Active
# discovery (ARP sweep)") on a real network made here: a bridge in a "switch"
# namespace, the sensor in its own namespace on 10.213.9.1/27, four silent hosts
# (.5 .9 .17 .30, the last usable address) that send nothing themselves but answer ARP
# because their kernel does, and one host just outside the /27 (.40) on the same
# wire. IPv6 is off everywhere so that nobody talks on their own.
#   - sweep off: the silent hosts are not in the saved inventory;
#   - sweep on (rate 20/s, --user nobody: the raw socket is opened before the drop):
#     every silent host is in the inventory with its MAC; dumpcap on the sensor's
#     bridge port counts the requests: one per address of the /27 but .0, .31 and the
#     sensor's own .1 (29, one sweep per interval), none outside, no bursts; the stats
#     event counts the same;
#   - bad settings fail at start with a clear message; with -r the sweep is ignored
#     with a notice.
# Needs root and iproute2 (network namespaces); skips otherwise.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
command -v ip >/dev/null || skip_all "iproute2 not installed"
command -v dumpcap >/dev/null || skip_all "dumpcap not installed (tshark package)"
command -v tshark >/dev/null || skip_all "tshark not installed"

P=otk-sw$$
SW=$P-sw
S=$P-s
HOSTS=(5 9 17 30)
NS_ALL=("$SW" "$S" "$P-x")
for h in "${HOSTS[@]}"; do NS_ALL+=("$P-h$h"); done
cap_pid=
cleanup() {
    [ -n "$cap_pid" ] && kill "$cap_pid" 2>/dev/null
    for n in "${NS_ALL[@]}"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$T_TMP"
}
trap cleanup EXIT

for n in "${NS_ALL[@]}"; do
    ip netns add "$n" || skip_all "cannot create network namespaces"
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null
    ip -n "$n" link set lo up
done
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up
# plug NS (interface IF, address ADDR) into the bridge through port PORT
plug() {
    local ns=$1 if=$2 port=$3 addr=$4
    ip link add "$if" netns "$ns" type veth peer name "$port" netns "$SW"
    ip -n "$SW" link set "$port" master br0
    ip -n "$SW" link set "$port" up
    ip -n "$ns" addr add "$addr" dev "$if"
    ip -n "$ns" link set "$if" up
}
plug "$S" s0 ps0 10.213.9.1/27
for h in "${HOSTS[@]}"; do plug "$P-h$h" "h$h" "ph$h" "10.213.9.$h/27"; done
plug "$P-x" x0 px0 10.213.9.40/24
mac_of() { ip netns exec "$1" cat "/sys/class/net/$2/address"; }
SMAC=$(mac_of "$S" s0)
chmod 777 "$T_TMP"
mkdir -m 777 "$T_TMP/off" "$T_TMP/on"

# run_sensor NAME ARGS...: the sensor on s0 as nobody, stats every second, in the
# background; its pid in $spid.
run_sensor() {
    local name=$1; shift
    ip netns exec "$S" "$SENSOR" -i s0 -o "$T_TMP/$name.json" --user nobody -q \
        --set output.stats_interval=1s --set "inventory.state_dir=$T_TMP/$name" \
        --set inventory.oui_dir= "$@" 2>"$T_TMP/$name.err" &
    spid=$!
}
# wait_for FILE PYEXPR: up to 30 s until PYEXPR over the events E of FILE is true
wait_for() {
    for _ in $(seq 150); do
        [ -s "$1" ] && [ "$(ev_query "$1" "$2" 2>/dev/null)" = True ] && return 0
        sleep 0.2
    done
    return 1
}
stop_sensor() { kill -TERM "$spid"; wait "$spid"; }
inventory_json() {
    "$SENSOR" --inventory --format json --set "inventory.state_dir=$T_TMP/$1" --set inventory.oui_dir=
}
# inv_has DIR IP MAC: the saved inventory of run DIR has a device IP with MAC
inv_has() {
    inventory_json "$1" | "$PY" -c 'import json,sys
ip, mac = sys.argv[1], sys.argv[2]
sys.exit(0 if any(d.get("ip") == ip and d.get("mac") == mac for d in map(json.loads, sys.stdin)) else 1)' "$2" "$3"
}
inv_ips() {
    inventory_json "$1" | "$PY" -c 'import json,sys
print(" ".join(sorted(str(d.get("ip")) for d in map(json.loads, sys.stdin))))'
}

# ---- sweep off: the silent hosts stay unknown ---------------------------------------
run_sensor off
wait_for "$T_TMP/off.json" 'sum(1 for e in E if e["event_type"]=="stats")>=3' ||
    bad "sweep off: no periodic stats within 30 s"
stop_sensor; rc=$?
check "sweep off: exits 0" [ "$rc" -eq 0 ]
check "sweep off: events are JSON" all_json "$T_TMP/off.json"
check "sweep off: no arp_sweep object in stats" [ "$(ev_query "$T_TMP/off.json" 'sum(1 for e in E if "arp_sweep" in e.get("stats",{}))')" = 0 ]
off_ips=$(inv_ips off)
for h in "${HOSTS[@]}"; do
    check "sweep off: silent host 10.213.9.$h not in the inventory" \
        bash -c "! grep -qw '10.213.9.$h' <<<'$off_ips'"
done

# ---- bad settings fail at start -----------------------------------------------------
fails_with() { # DESCRIPTION TEXT SETTINGS...
    local d=$1 text=$2; shift 2
    local args=()
    for s in "$@"; do args+=(--set "$s"); done
    ip netns exec "$S" "$SENSOR" -i s0 -o "$T_TMP/bad.json" -q --set inventory.sweep.enabled=yes \
        "${args[@]}" 2>"$T_TMP/bad.err"
    local rc=$?
    check "$d (exit 1, \"$text\")" bash -c "[ $rc -eq 1 ] && grep -q -- '$text' '$T_TMP/bad.err'"
}
fails_with "a /16 is refused by the default cap" "holds 65534 addresses, more than inventory.sweep.max_addresses (4096)" \
    inventory.sweep.prefixes=10.213.0.0/16
fails_with "an IPv6 prefix is refused" "not an IPv4 prefix" inventory.sweep.prefixes=fd00::/64
fails_with "an unknown sweep interface is refused" "no such interface" \
    inventory.sweep.interface=otk-nope0
fails_with "the sweep needs the inventory" "needs inventory.enabled" inventory.enabled=no
check "no request was sent by the refused runs" [ ! -s "$T_TMP/bad.json" ] || \
    [ "$(ev_query "$T_TMP/bad.json" 'sum(1 for e in E if e["event_type"]=="arp")')" = 0 ]

# ---- sweep on ------------------------------------------------------------------------
ip netns exec "$SW" dumpcap -i ps0 -f arp -w "$T_TMP/bridge.pcapng" 2>"$T_TMP/dumpcap.err" &
cap_pid=$!
for _ in $(seq 100); do grep -q "Capturing on" "$T_TMP/dumpcap.err" && break; sleep 0.1; done
sleep 0.3
run_sensor on --set inventory.sweep.enabled=yes --set inventory.sweep.rate=20
# the sweep's start notice comes after the privilege drop
for _ in $(seq 150); do grep -q 'arp sweep on s0' "$T_TMP/on.err" && break; sleep 0.2; done
check "sensor with the sweep runs as a non-root user" \
    bash -c "grep -E '^Uid:' /proc/$spid/status | awk '{exit !(\$2 != 0 && \$3 != 0)}'"
# done when one sweep is counted and every silent host's reply has been logged
want_replies=$(printf '"10.213.9.%s",' "${HOSTS[@]}")
wait_for "$T_TMP/on.json" "any(e.get(\"stats\",{}).get(\"arp_sweep\",{}).get(\"sweeps\",0)>=1 for e in E) and {e[\"arp\"][\"src_ip\"] for e in E if e[\"event_type\"]==\"arp\" and e[\"arp\"][\"opcode\"]==\"reply\"}>={${want_replies}}" ||
    bad "sweep on: sweep or replies not seen within 30 s"
stop_sensor; rc=$?
sleep 0.3
kill -TERM "$cap_pid"; wait "$cap_pid"; cap_pid=
check "sweep on: exits 0" [ "$rc" -eq 0 ]
check "sweep on: events are JSON" all_json "$T_TMP/on.json"
check "sweep on: no error logged" bash -c "! grep -q 'level=error\|level=warn' '$T_TMP/on.err'"
for h in "${HOSTS[@]}"; do
    m=$(mac_of "$P-h$h" "h$h")
    check "sweep on: silent host 10.213.9.$h in the inventory with its MAC $m" inv_has on "10.213.9.$h" "$m"
done
check "sweep on: the host outside the /27 (.40) is not in the inventory" \
    bash -c "! grep -qw '10.213.9.40' <<<'$(inv_ips on)'"
final=$(ev_query "$T_TMP/on.json" '[e["stats"]["arp_sweep"] for e in E if e["event_type"]=="stats"][-1]')
check "final stats: 29 requests, 0 errors, 1 sweep, 29 addresses ($final)" \
    [ "$final" = "{'requests': 29, 'errors': 0, 'sweeps': 1, 'addresses': 29}" ]

# what went over the wire, seen on the bridge port
tshark -r "$T_TMP/bridge.pcapng" -Y "arp.opcode==1 && eth.src==$SMAC" -T fields \
    -e frame.time_epoch -e arp.src.proto_ipv4 -e arp.dst.proto_ipv4 -e eth.dst \
    >"$T_TMP/req.tsv" 2>/dev/null
check "bridge: 29 requests from the sensor, one per address of one sweep (<= 29 per interval)" \
    [ "$(wc -l <"$T_TMP/req.tsv")" -eq 29 ]
check "bridge: the requests ask for exactly .2 .. .30 (not .0, .31, the sensor's .1 or .40)" \
    "$PY" -c 'import sys
t = sorted(int(l.split("\t")[2].split(".")[3]) for l in open(sys.argv[1]))
sys.exit(0 if t == list(range(2, 31)) and all(l.split("\t")[2].startswith("10.213.9.") for l in open(sys.argv[1])) else 1)' "$T_TMP/req.tsv"
check "bridge: every request is a broadcast from the sensor's address" \
    "$PY" -c 'import sys
sys.exit(0 if all(l.split("\t")[1] == "10.213.9.1" and l.split("\t")[3].strip() == "ff:ff:ff:ff:ff:ff" for l in open(sys.argv[1])) else 1)' "$T_TMP/req.tsv"
# Pacing, counted on the capture's timestamps: at 20/s a 250 ms window holds 5
# requests; allow 10 (scheduling jitter), where an unpaced sweep puts all 29 in one.
# A load can only spread the requests further apart, never closer.
check "bridge: no burst (at most 10 requests in any 250 ms window)" \
    "$PY" -c 'import sys
t = sorted(float(l.split("\t")[0]) for l in open(sys.argv[1]))
worst = max(sum(1 for u in t if s <= u < s + 0.25) for s in t)
print("  most requests in 250 ms:", worst); sys.exit(0 if worst <= 10 else 1)' "$T_TMP/req.tsv"
check "bridge: the 29 requests span at least 28/20 s x 0.8" \
    "$PY" -c 'import sys
t = sorted(float(l.split("\t")[0]) for l in open(sys.argv[1]))
print("  span: %.3f s" % (t[-1] - t[0])); sys.exit(0 if t[-1] - t[0] >= 28 / 20 * 0.8 else 1)' "$T_TMP/req.tsv"

# ---- repeated sweeps: one request per address per interval ----------------------------
# interval 1 s at 100/s (0.29 s a sweep): after 3 sweeps, the sensor's own log of the
# requests (arp events from its MAC) holds each address once per sweep started.
mkdir -m 777 "$T_TMP/again"
run_sensor again --set inventory.sweep.enabled=yes --set inventory.sweep.rate=100 \
    --set inventory.sweep.interval=1s
wait_for "$T_TMP/again.json" 'any(e.get("stats",{}).get("arp_sweep",{}).get("sweeps",0)>=3 for e in E)' ||
    bad "repeat: 3 sweeps not counted within 30 s"
stop_sensor; rc=$?
check "repeat: exits 0" [ "$rc" -eq 0 ]
check "repeat: each address asked once per sweep (sweeps or sweeps+1 times: one may be cut by the stop)" \
    "$PY" -c 'import json,sys
E = [json.loads(l) for l in open(sys.argv[1])]
st = [e["stats"]["arp_sweep"] for e in E if e["event_type"] == "stats"][-1]
n = {}
for e in E:
    a = e.get("arp")
    if e["event_type"] == "arp" and a["opcode"] == "request" and a["src_mac"] == sys.argv[2]:
        n[a["dest_ip"]] = n.get(a["dest_ip"], 0) + 1
print("  final stats:", st, " requests per address:", sorted(set(n.values())))
# requests of the last ~0.2 s before the stop may never reach the capture loop
ok = (st["sweeps"] >= 3 and st["errors"] == 0 and st["requests"] - 29 <= sum(n.values()) <= st["requests"]
      and sorted(n) == sorted("10.213.9.%d" % i for i in range(2, 31))
      and all(st["sweeps"] <= c <= st["sweeps"] + 1 for c in n.values())
      and st["requests"] <= 29 * (st["sweeps"] + 1))
sys.exit(0 if ok else 1)' "$T_TMP/again.json" "$SMAC"

# ---- reading a file: the sweep is ignored with a notice ------------------------------
"$SENSOR" -r "$T_TMP/bridge.pcapng" -o "$T_TMP/file.json" -q \
    --set inventory.sweep.enabled=yes 2>"$T_TMP/file.err"; rc=$?
check "-r with the sweep on: exits 0" [ "$rc" -eq 0 ]
check "-r with the sweep on: a notice says it is ignored" \
    grep -q 'inventory.sweep.enabled is ignored when reading a capture file' "$T_TMP/file.err"
check "-r with the sweep on: no arp_sweep stats" [ "$(ev_query "$T_TMP/file.json" 'sum(1 for e in E if "arp_sweep" in e.get("stats",{}))')" = 0 ]
finish
