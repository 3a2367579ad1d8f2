#!/usr/bin/env bash
# Cost of the device inventory (issue 5): the 1 GB benchmark capture (bench/README.md)
# read by the sensor with the inventory off and on, alternately, in the same run
# (RUNS each, median), then bench/inv_bench: memory per device and the time to load a
# saved inventory of 10,000 devices. Figures go into bench/README.md and
# docs/inventory.md by hand. Env: RUNS (default 1), BENCH_PCAP.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN="$SRC/build/bin"
PCAP=${BENCH_PCAP:-$SRC/bench/data/mixed-1G.pcap}
RUNS=${RUNS:-1}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
[ -s "$PCAP" ] || { echo "no $PCAP: run bench/run.sh once to make it"; exit 1; }
mkdir -p "$W/state"
one() {   # NAME ARGS...: one run, appends "wall cpu rss" to $W/NAME
    local name=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$W/t" "$BIN/otasuke-sensor" -q -r "$PCAP" \
        -o "$W/$name.json" --set log.level=error "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
    awk '{printf "%s %.2f %d\n", $1, $2+$3, $4}' "$W/t" >>"$W/$name"
}
"$BIN/otasuke-sensor" -q -r "$PCAP" -o /dev/null --set log.level=error >/dev/null 2>&1 || true  # warm-up
for _ in $(seq "$RUNS"); do
    one off --set inventory.enabled=no
    rm -f "$W/state/"*
    one on --set inventory.state_dir="$W/state"
done
med() { sort -n "$W/$1" | awk -v r="$RUNS" 'NR==int((r+1)/2)'; }
echo "name wall_s cpu_s rss_kb"
echo "off $(med off)"
echo "on $(med on)"
echo "cpu ratio on/off: $(awk -v a="$(med on | cut -d' ' -f2)" -v b="$(med off | cut -d' ' -f2)" 'BEGIN{printf "%.3f", a/b}')"
grep -h '"event_type":"stats"' "$W/on.json" | tail -1 | /usr/bin/python3 -c 'import json,sys; print("inventory stats:", json.loads(sys.stdin.read())["stats"]["inventory"])'
"$BIN/inv_bench" 10000 "$W"
