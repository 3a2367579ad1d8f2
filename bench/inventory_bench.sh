#!/usr/bin/env bash
# Cost of the device inventory (issue 5): the 1 GB benchmark capture (bench/README.md)
# read by the sensor with the inventory off and on, alternately, in the same run
# (RUNS each, median of the CPU seconds; also the median of each round's own ratio and
# the ratio of the fastest runs), then bench/inv_bench: memory per device and
# the time to load a saved inventory of 10,000 devices. With BIN_BEFORE=path/to/an
# older otasuke-sensor, that binary is run with the inventory on in the same loop too
# (A/B against a build from before a change). PAIRS=1 runs each round's "off" and "on"
# at the same time, one per core (taskset; cores swapped every round), and "before_on"
# beside an "off" of its own: on a host whose speed drifts from one run to the next both
# halves of a pair see the same host, so the rounds' ratios scatter less (the machine
# must have two cores to spare). Figures go into bench/README.md and docs/inventory.md
# by hand. With DURATION=seconds the rounds go on until that much time has passed (RUNS
# at least): where a round's ratio scatters by 7-15% (this VM, 2026-11-24), the paired
# estimate (the geometric mean of the rounds' own ratios, with its 95% interval) needs
# several hundred rounds to resolve 1%; and with PAIRS=1 the two runs share the
# last-level cache (a likely reason why "on" fared worse that way than alone).
# PAIRS=core runs each round's two at the same time on one core (the last, or CORE),
# time-sliced by the scheduler, the one started first swapped every round: both see
# the same host from millisecond to millisecond, and on this VM a round's ratio
# scattered by 0.5-0.9% (against 7-15% otherwise; off against off, 8 rounds: 0.9997,
# sd 0.0005), so 8 rounds resolve half a percent. Env: RUNS (default 1), DURATION, BENCH_PCAP,
# BIN_BEFORE, PAIRS (0, 1 or core), CORE, SENSOR (the binary measured; default
# build/bin/otasuke-sensor).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN="$SRC/build/bin"
PCAP=${BENCH_PCAP:-$SRC/bench/data/mixed-1G.pcap}
RUNS=${RUNS:-1}
DURATION=${DURATION:-0}
SENSOR=${SENSOR:-$BIN/otasuke-sensor}
BEFORE=${BIN_BEFORE:-}
PAIRS=${PAIRS:-0}
# the runs' output in memory where possible: writing ~340 MB of events to disk each run
# added I/O noise to figures of a few percent
W=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'rm -rf "$W"' EXIT
[ -s "$PCAP" ] || { echo "no $PCAP: run bench/run.sh once to make it"; exit 1; }
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || { echo "BIN_BEFORE=$BEFORE is not an executable"; exit 1; }
[ "$PAIRS" != 1 ] || [ "$(nproc)" -ge 2 ] || { echo "PAIRS=1 needs two cores"; exit 1; }
CORE=${CORE:-$(($(nproc) - 1))}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
one() {   # NAME CORE BINARY ARGS...: one run (on CORE unless "-"), appends "cpu wall rss" to $W/NAME
    local name=$1 core=$2 bin=$3 pin=()
    shift 3
    [ "$core" = - ] || pin=(taskset -c "$core")
    rm -rf "$W/state.$name"; mkdir -p "$W/state.$name"
    "${pin[@]}" /usr/bin/time -f "%e %U %S %M" -o "$W/t.$name" "$bin" -q -r "$PCAP" \
        -o "$W/$name.json" --set log.level=error --set inventory.state_dir="$W/state.$name" \
        "$@" >/dev/null 2>"$W/err.$name" || {
        echo "$name: the sensor failed:"; cat "$W/err.$name"; return 1; }
    awk '{printf "%.2f %s %d\n", $2+$3, $1, $4}' "$W/t.$name" >>"$W/$name"
}
pair() {   # ROUND NAME_A BIN_A ARGS_A -- NAME_B BIN_B ARGS_B: A and B at once (PAIRS=1) or one after the other
    local r=$1 na=$2 ba=$3 a=() b=()
    shift 3
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    local nb=$1 bb=$2
    shift 2
    b=("$@")
    if [ "$PAIRS" = 0 ]; then
        one "$na" - "$ba" "${a[@]}" && one "$nb" - "$bb" "${b[@]}" || exit 1
        return
    fi
    local pa pb
    if [ "$PAIRS" = core ]; then
        if [ $((r % 2)) = 1 ]; then
            one "$na" "$CORE" "$ba" "${a[@]}" & pa=$!
            one "$nb" "$CORE" "$bb" "${b[@]}" & pb=$!
        else
            one "$nb" "$CORE" "$bb" "${b[@]}" & pb=$!
            one "$na" "$CORE" "$ba" "${a[@]}" & pa=$!
        fi
    else
        one "$na" $((r % 2)) "$ba" "${a[@]}" & pa=$!
        one "$nb" $((1 - r % 2)) "$bb" "${b[@]}" & pb=$!
    fi
    wait "$pa" && wait "$pb" || exit 1
}
"$SENSOR" -q -r "$PCAP" -o /dev/null --set log.level=error >/dev/null 2>&1 || true  # warm-up
names="off on"
r=0 t0=$SECONDS
while [ "$r" -lt "$RUNS" ] || [ $((SECONDS - t0)) -lt "$DURATION" ]; do
    r=$((r + 1))
    pair "$r" off "$SENSOR" --set inventory.enabled=no -- on "$SENSOR"
    if [ -n "$BEFORE" ]; then
        if [ "$PAIRS" = 0 ]; then
            one before_on - "$BEFORE" || exit 1
        else   # beside an "off" of its own
            pair "$r" off_b "$SENSOR" --set inventory.enabled=no -- before_on "$BEFORE"
        fi
        names="off on before_on"
        [ "$PAIRS" = 0 ] || names="off on off_b before_on"
    fi
done
RUNS=$r
med() { sort -n "$W/$1" | awk -v r="$RUNS" 'NR==int((r+1)/2)'; }  # by CPU seconds
echo "name cpu_s wall_s rss_kb   (median of $RUNS; all cpu_s: ...)"
for n in $names; do
    echo "$n $(med "$n")   (all: $(cut -d' ' -f1 "$W/$n" | tr '\n' ' '))"
done
cpu() { med "$1" | cut -d' ' -f1; }
# On this VM one run's CPU time varies by several percent: besides the ratio of the
# medians, the median of the rounds' own ratios (each round runs off and on back to
# back, so slow drifts cancel) and the ratio of the fastest runs (noise only adds).
ratios() {   # NAME BASE: "median-of-medians median-of-round-ratios min-ratio"
    paste -d' ' "$W/$1" "$W/$2" | awk '{print $1 / $4}' | sort -n >"$W/r.$1"
    local rr mn
    rr=$(awk -v r="$RUNS" 'NR==int((r+1)/2)' "$W/r.$1")
    mn=$(awk -v a="$(sort -n "$W/$1" | head -1 | cut -d' ' -f1)" \
             -v b="$(sort -n "$W/$2" | head -1 | cut -d' ' -f1)" 'BEGIN{printf "%.3f", a/b}')
    awk -v a="$(cpu "$1")" -v b="$(cpu "$2")" -v rr="$rr" -v mn="$mn" \
        'BEGIN{printf "%.3f (median of the rounds: %.3f, fastest runs: %s)", a/b, rr, mn}'
}
# the rounds' own ratios: geometric mean and its 95% interval (normal approximation;
# Student's t for a few rounds would be wider)
paired() {   # NAME BASE
    paste -d' ' "$W/$1" "$W/$2" | awk '{l = log($1 / $4); s += l; q += l * l; n++}
        END {m = s / n; sd = n > 1 ? sqrt((q - n * m * m) / (n - 1)) : 0; h = 1.96 * sd / sqrt(n)
             printf "%.4f, 95%% interval %.4f-%.4f (%d rounds, sd of a round %.3f)",
                    exp(m), exp(m - h), exp(m + h), n, sd}'
}
echo "cpu ratio on/off: $(ratios on off)"
echo "paired on/off: $(paired on off)"
if [ -n "$BEFORE" ]; then
    base=off
    [ "$PAIRS" = 0 ] || base=off_b
    echo "cpu ratio before_on/off: $(ratios before_on "$base")"
    echo "paired before_on/off: $(paired before_on "$base")"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
# the final stats event of the last run with the inventory on
stats=$(grep -h '"event_type":"stats"' "$W/on.json" | tail -1 || true)
if [ -z "$stats" ]; then
    echo "inventory stats: no stats event in the output of the last 'on' run"
else
    printf '%s\n' "$stats" | /usr/bin/python3 -c \
        'import json,sys; print("inventory stats:", json.dumps(json.loads(sys.stdin.read())["stats"].get("inventory")))'
fi
st="$W/state.on/inventory.tsv"
if [ -s "$st" ]; then
    echo "state file after the last 'on' run: $(wc -c <"$st") bytes," \
        "$(grep -c '^D' "$st") D lines, $(grep -c '^H' "$st") H lines"
fi
rm -f "$W"/*.json
echo "inv_bench (memory per device, load of a saved inventory of 10,000 devices):"
"$BIN/inv_bench" 10000 "$W" || echo "inv_bench failed (exit $?)"
