#!/usr/bin/env bash
# Cost of shipping to the center (issue 6, sensor side): the sensor over the 1 GB
# capture with shipping off, then on (to a real otasuke-center on SQLite, loopback),
# in the same run, RUNS times each, interleaved. Shipping runs are given the default
# types (alert, asset, anomaly, stats) and every event type ("*"). Prints a Markdown
# table of medians: sensor wall and CPU seconds (user+sys, the sensor process only),
# ratios against "off", and the events the center stored.
# Usage: bench/ship_cost.sh [PCAP]   (default bench/data/mixed-1G.pcap; RUNS=3)
set -u
cd "$(dirname "$0")/.."
PCAP=${1:-bench/data/mixed-1G.pcap}
RUNS=${RUNS:-3}
BIN=build/bin
[ -s "$PCAP" ] || { echo "no capture at $PCAP (see bench/README.md)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "GNU time needed (tools/install-deps.sh --bench)"; exit 2; }
T=$(mktemp -d)
trap 'kill $CPID 2>/dev/null; rm -rf "$T"' EXIT
"$BIN/otasuke" company add --db "$T/c.db" --name bench --sector x >/dev/null
CODE=$("$BIN/otasuke" sensor add --db "$T/c.db" --company 1 | sed -n 's/^enrollment_code=//p')
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$BIN/otasuke-center" --db "$T/c.db" --listen "127.0.0.1:$PORT" 2>"$T/center.log" &
CPID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
"$BIN/otasuke-sensor" --enroll "http://127.0.0.1:$PORT" "$CODE" --set ship.state_dir="$T/st" >/dev/null
SHIP=(--set ship.url="http://127.0.0.1:$PORT" --set ship.state_dir="$T/st" --set ship.drain_timeout=1h)

run() { # run NAME ARGS...: appends "name wall cpu" to $T/res
    local name=$1; shift
    /usr/bin/time -f '%e %U %S' -o "$T/time" "$BIN/otasuke-sensor" -q -r "$PCAP" -o "$T/eve.json" "$@" 2>"$T/$name.err"
    read -r wall u s <"$T/time"
    echo "$name $wall $(echo "$u + $s" | bc)" >>"$T/res"
    grep 'mod=ship done' "$T/$name.err" | tail -1 >"$T/$name.done"
}
"$BIN/otasuke-sensor" -q -r "$PCAP" -o "$T/eve.json" >/dev/null 2>&1   # warm-up (page cache)
for i in $(seq 1 "$RUNS"); do
    run off
    run default "${SHIP[@]}"
    run all "${SHIP[@]}" --set ship.types='*'
done
python3 - "$T/res" "$T" "$(wc -l <"$T/eve.json")" "$(sqlite3 "$T/c.db" 'select count(*) from events')" <<'PYEOF'
import collections, statistics, sys, re
res = collections.defaultdict(list)
for l in open(sys.argv[1]):
    n, w, c = l.split(); res[n].append((float(w), float(c)))
med = {n: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for n, v in res.items()}
def cnt(n, k):
    m = re.search(r" %s=(\d+)" % k, open("%s/%s.done" % (sys.argv[2], n)).read() or "")
    return int(m.group(1)) if m else 0
print("| shipping | events shipped per run | median wall s | wall ratio | median CPU s | CPU ratio | dropped |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n, label in (("off", "off"), ("default", "on, default types (alert, asset, anomaly, stats)"), ("all", "on, every event type")):
    w, c = med[n]
    shipped = "-" if n == "off" else "{:,}".format(cnt(n, "acked"))
    print("| %s | %s | %.2f | %.3f | %.2f | %.3f | %s |" % (label, shipped, w, w / med["off"][0], c, c / med["off"][1], "-" if n == "off" else cnt(n, "dropped")))
print("\nevents per sensor run: %s; events stored by the center over all runs: %s; runs: %d" % (sys.argv[3], sys.argv[4], len(res["off"])))
PYEOF
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
