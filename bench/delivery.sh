#!/usr/bin/env bash
# bench/delivery.sh — the cost of ACK-gated stream delivery: the sensor over the same
# 1 GB mixed capture with reassembly.delivery=arrival (baseline) and =ack, RUNS times
# each, interleaved (arrival, ack, arrival, ack, ...) after one warm-up of each, in ONE
# run. Reports median wall and CPU (user+sys) seconds, the ratio ack / arrival, peak
# RSS, the event count and the reassembly counters of the final stats event.
# The capture is bench/data/mixed-1G.pcap (bench/run.sh builds it; see README.md).
# Environment: RUNS (default 3), OTASUKE_BIN, MIXED.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${OTASUKE_BIN:-$ROOT/build/bin}"
MIXED="${MIXED:-$ROOT/bench/data/mixed-1G.pcap}"
RUNS="${RUNS:-3}"
PY=/usr/bin/python3

[ -f "$MIXED" ] || { echo "delivery: no $MIXED (run bench/run.sh once to build it)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "delivery: needs GNU time (/usr/bin/time)" >&2; exit 1; }
WORK="$(mktemp -d "$ROOT/bench/data/delivery.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# one run: appends "wall cpu rss_kib" to $WORK/<mode>.times
run() {
    local mode="$1" keep="${2:-}"
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/t" "$BIN/otasuke-sensor" -q -r "$MIXED" \
        -o "$WORK/eve-$mode.json" --set "reassembly.delivery=$mode" 2> "$WORK/err-$mode" ||
        { echo "delivery: sensor failed ($mode):" >&2; cat "$WORK/err-$mode" >&2; exit 1; }
    [ -n "$keep" ] || awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$WORK/t" >> "$WORK/$mode.times"
}

LOAD="$(cut -d' ' -f1 /proc/loadavg)"
run arrival warmup
run ack warmup
for _ in $(seq "$RUNS"); do
    run arrival
    run ack
done

"$PY" - "$WORK" "$LOAD" "$(nproc)" <<'EOF'
import json, statistics, sys
work, load, ncpu = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
def med(mode, i):
    rows = [l.split() for l in open(f"{work}/{mode}.times")]
    return statistics.median(float(r[i]) for r in rows)
def last_stats(mode):
    n, st = 0, None
    with open(f"{work}/eve-{mode}.json") as f:
        for line in f:
            n += 1
            if '"event_type":"stats"' in line:
                st = json.loads(line)
    return n, (st or {}).get("stats", {}).get("reassembly", {})
res = {m: (med(m, 0), med(m, 1), med(m, 2) / 1024, *last_stats(m)) for m in ("arrival", "ack")}
print(f"load average at start {load} on {ncpu} CPUs" + (" (busy: compare CPU s)" if load > 0.75 * ncpu else ""))
print("| reassembly.delivery | median wall s | ratio | CPU s (user+sys) | CPU ratio | peak RSS MiB | events |")
print("|---|---:|---:|---:|---:|---:|---:|")
wa, ca = res["arrival"][0], res["arrival"][1]
for m in ("arrival", "ack"):
    w, c, rss, n, _ = res[m]
    print(f"| {m} | {w:.3f} | {w / wa:.3f} | {c:.2f} | {c / ca:.3f} | {rss:.1f} | {n:,} |")
keys = ("segments", "bytes_delivered", "ooo_queued", "gaps", "gap_bytes", "unacked_forced",
        "unacked_forced_bytes", "streams", "memuse")
print("\nreassembly counters (final stats event):")
for m in ("arrival", "ack"):
    r = res[m][4]
    print(f"  {m}: " + ", ".join(f"{k} {r.get(k)}" for k in keys))
EOF
