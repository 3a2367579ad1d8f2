#!/usr/bin/env bash
# bench/parser_speed.sh — issue 3's parser budget: the sensor with every parser on and
# detections/inventory off, one thread, against the plain libpcap read, in ONE run.
#
#   bench/parser_speed.sh [SENSOR...]
#
# Runs build/bin/pcap_read (baseline) and each SENSOR binary (default
# build/bin/otasuke-sensor) over the 1 GB benchmark capture, interleaved round by round
# (RUNS rounds, default 3), with GNU time; prints per run and the medians of CPU seconds
# (user + sys: the machine is shared, wall time is mostly waiting) and each sensor's
# ratio = baseline CPU s / sensor CPU s. Issue 3's budget is a ratio >= 0.19.
# Also the WALL seconds (GNU time %e) and throughput ratios on wall time — what issue 3
# asks for once the sensor runs several workers (capture.workers): baseline wall /
# sensor wall, and, with two or more SENSORs, each one's throughput relative to the
# FIRST one (pass the foundation first: issue 3's budget is >= 0.667 of it). Wall time
# is only meaningful on an idle machine: the load average is printed.
# Passing an older build (e.g. a copy of main's otasuke-sensor) as a second SENSOR
# gives the before/after of a change under the same load.
#
# Environment: RUNS (default 3), PCAP (default bench/data/mixed-1G.pcap, made by
# bench/run.sh), OTASUKE_BIN (default build/bin), SENSOR_SET (extra --set arguments,
# space-separated, e.g. "app.files.hashes=md5,sha1,sha256"), OUT (events file, default
# a temporary file on the same disk as the capture).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${OTASUKE_BIN:-$ROOT/build/bin}"
PCAP="${PCAP:-$ROOT/bench/data/mixed-1G.pcap}"
RUNS="${RUNS:-3}"
[ -s "$PCAP" ] || { echo "parser_speed: SKIP: no $PCAP (bench/run.sh builds it)" >&2; exit 77; }
[ -x "$BIN/pcap_read" ] || { echo "parser_speed: no $BIN/pcap_read (build release)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "parser_speed: GNU time (/usr/bin/time) is needed" >&2; exit 1; }
SENSORS=("$@")
[ ${#SENSORS[@]} -gt 0 ] || SENSORS=("$BIN/otasuke-sensor")
SETS=(--set detect.enabled=no --set inventory.enabled=no)
for s in ${SENSOR_SET:-}; do SETS+=(--set "$s"); done

WORK="$(mktemp -d "$(dirname "$PCAP")/speed.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
OUT="${OUT:-$WORK/events.json}"
cat "$PCAP" > /dev/null # page cache warm
load0="$(cut -d' ' -f1-3 /proc/loadavg)"

# one NAME CMD...: one timed run, "user+sys peak_KiB wall" appended to $WORK/NAME
one() {
    local name="$1"; shift
    /usr/bin/time -f '%U %S %M %e' -o "$WORK/t" "$@" > /dev/null 2> "$WORK/err" ||
        { cat "$WORK/err" >&2; exit 1; }
    awk '{printf "%.2f %d %.2f\n", $1 + $2, $3, $4}' "$WORK/t" >> "$WORK/$name"
}

for r in $(seq "$RUNS"); do
    one base "$BIN/pcap_read" "$PCAP"
    for i in "${!SENSORS[@]}"; do
        one "s$i" "${SENSORS[$i]}" -r "$PCAP" -o "$OUT" "${SETS[@]}"
    done
    echo "parser_speed: round $r of $RUNS done" >&2
done
load1="$(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
base_med="$(cut -d' ' -f1 "$WORK/base" | median)"
base_wall="$(cut -d' ' -f3 "$WORK/base" | median)"
echo "load average at start / end: $load0 / $load1; $RUNS rounds; settings: ${SETS[*]}"
echo
echo "| program | CPU s (user+sys) per round | median | ratio | peak RSS MiB | wall s per round | median | wall ratio |"
echo "|---|---|---:|---:|---:|---|---:|---:|"
echo "| pcap_read (baseline) | $(cut -d' ' -f1 "$WORK/base" | paste -sd/ | sed 's|/| / |g') | $base_med | 1.000 | | $(cut -d' ' -f3 "$WORK/base" | paste -sd/ | sed 's|/| / |g') | $base_wall | 1.000 |"
for i in "${!SENSORS[@]}"; do
    med="$(cut -d' ' -f1 "$WORK/s$i" | median)"
    wall="$(cut -d' ' -f3 "$WORK/s$i" | median)"
    rss="$(cut -d' ' -f2 "$WORK/s$i" | sort -n | tail -1)"
    printf '| %s | %s | %s | %.3f | %.0f | %s | %s | %.3f |\n' "${SENSORS[$i]}" \
        "$(cut -d' ' -f1 "$WORK/s$i" | paste -sd/ | sed 's|/| / |g')" "$med" \
        "$(echo "$base_med $med" | awk '{print $1 / $2}')" "$(echo "$rss" | awk '{print $1 / 1024}')" \
        "$(cut -d' ' -f3 "$WORK/s$i" | paste -sd/ | sed 's|/| / |g')" "$wall" \
        "$(echo "$base_wall $wall" | awk '{print $1 / $2}')"
done
if [ ${#SENSORS[@]} -gt 1 ]; then
    echo
    echo "Throughput relative to the first program (${SENSORS[0]}): its seconds / each one's."
    echo
    echo "| program | CPU ratio | wall ratio |"
    echo "|---|---:|---:|"
    c0="$(cut -d' ' -f1 "$WORK/s0" | median)"
    w0="$(cut -d' ' -f3 "$WORK/s0" | median)"
    for i in "${!SENSORS[@]}"; do
        [ "$i" -eq 0 ] && continue
        printf '| %s | %.3f | %.3f |\n' "${SENSORS[$i]}" \
            "$(echo "$c0 $(cut -d' ' -f1 "$WORK/s$i" | median)" | awk '{print $1 / $2}')" \
            "$(echo "$w0 $(cut -d' ' -f3 "$WORK/s$i" | median)" | awk '{print $1 / $2}')"
    done
fi
