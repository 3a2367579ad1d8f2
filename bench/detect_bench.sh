#!/usr/bin/env bash
# Cost of the detections (issue 4): the 1 GB benchmark capture (bench/README.md) read
# by the plain libpcap loop (baseline), by the sensor with detections off
# (parsers-only), and by the sensor with every detector on and about one million
# indicators loaded (every list of ../shared/corpus/intel plus generated IPv4
# addresses and domains up to 1 M), all in the same run. Prints wall and CPU seconds,
# peak RSS and the ratios; figures go into bench/README.md by hand.
# Env: RUNS (default 1), BENCH_PCAP (default bench/data/mixed-1G.pcap),
#      OTASUKE_CORPUS (default ../shared/corpus), N_IND (default 1000000),
#      BENCH_BIN (default build/bin), BASE_SENSOR (another otasuke-sensor, e.g. a copy of main's: its detections run
#      is interleaved in the same rounds as "detect_base", for an A/B).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BENCH_BIN:-$SRC/build/bin}   # BENCH_BIN: a copy, to keep building meanwhile
PCAP=${BENCH_PCAP:-$SRC/bench/data/mixed-1G.pcap}
CORPUS=${OTASUKE_CORPUS:-$SRC/../shared/corpus}
RUNS=${RUNS:-1}
N_IND=${N_IND:-1000000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
[ -s "$PCAP" ] || { echo "no $PCAP: run bench/run.sh once to make it"; exit 1; }
I="$CORPUS/intel"
# The corpus lists, one file per kind of format, then generated indicators to N_IND.
find "$I/maltrail" -name '*.txt' -print0 | xargs -0 cat >"$W/maltrail.txt"
find "$I/categories" -type f \( -name domains -o -name '*.txt' \) -print0 | xargs -0 cat >"$W/domains.txt"
find "$I/hashes" -name '*.sha256' -print0 | xargs -0 cat >"$W/sha256.txt"
have=$(cat "$W/maltrail.txt" "$W/domains.txt" "$W/sha256.txt" | grep -cv '^#' || true)
more=$(( N_IND > have ? N_IND - have : 0 ))
/usr/bin/python3 - "$more" >"$W/gen.txt" <<'PY'
import sys, random
r = random.Random(4); n = int(sys.argv[1])
for i in range(n):
    if i % 2:
        print("100.%d.%d.%d" % (64 + r.randrange(64), r.randrange(256), r.randrange(256)))
    else:
        print("x%08x.bench-%d.example" % (r.getrandbits(32), i % 997))
PY
cat >"$W/intel.yaml" <<YAML
intel:
  - {name: maltrail, path: "$W/maltrail.txt", format: maltrail, category: c2, severity: 1}
  - {name: categories, path: "$W/domains.txt", format: plain, category: url_category, severity: 3}
  - {name: sha256, path: "$W/sha256.txt", format: plain, type: sha256, category: malware, severity: 1}
  - {name: generated, path: "$W/gen.txt", format: plain, category: malicious_site, severity: 2}
YAML
# Interleaved A/B: each round runs the three programs (and the start-up with the 1 M
# indicators over an empty capture, to separate the load) once; RUNS rounds; the median
# of each program's CPU seconds is reported (wall and RSS of the same run).
EMPTY="$W/empty.pcap"
/usr/bin/python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' "$EMPTY"
run1() {   # NAME CMD...: one run, appends "NAME wall cpu rss" to $W/all
    local name=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$W/t1" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
    awk -v n="$name" '{printf "%s %s %.2f %d\n", n, $1, $2+$3, $4}' "$W/t1" >>"$W/all"
}
"$BIN/otasuke-sensor" -q -r "$PCAP" -o /dev/null --set log.level=error >/dev/null 2>&1 || true  # warm-up
: >"$W/all"
for r in $(seq "$RUNS"); do
    run1 baseline "$BIN/pcap_read" "$PCAP"
    run1 parsers "$BIN/otasuke-sensor" -q -r "$PCAP" -o "$W/e1.json" --set detect.enabled=no
    run1 detect "$BIN/otasuke-sensor" -q -r "$PCAP" -o "$W/e2.json" --set detect.intel_file="$W/intel.yaml"
    run1 loadonly "$BIN/otasuke-sensor" -q -r "$EMPTY" -o /dev/null --set detect.intel_file="$W/intel.yaml"
    if [ -n "${BASE_SENSOR:-}" ]; then
        run1 detect_base "$BASE_SENSOR" -q -r "$PCAP" -o "$W/e3.json" --set detect.intel_file="$W/intel.yaml"
        run1 parsers_base "$BASE_SENSOR" -q -r "$PCAP" -o "$W/e4.json" --set detect.enabled=no
    fi
    echo "round $r:" $(grep -c . "$W/all") runs >&2
done
cat "$W/all" >&2
for n in baseline parsers detect loadonly detect_base parsers_base; do
    awk -v n="$n" '$1==n' "$W/all" | sort -k3,3n | awk -v r="$RUNS" 'NR==int((r+1)/2)'
done | tee "$W/res"
"$BIN/otasuke-sensor" -q -r "$SRC/tests/fuzz/corpus/pcapfile/$(ls "$SRC/tests/fuzz/corpus/pcapfile" | head -1)" -o /dev/null \
    --set detect.intel_file="$W/intel.yaml" 2>"$W/load.log" || true
grep 'intel lists=' "$W/load.log" || true
tail -1 "$W/e2.json" | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; d=s["detect"]; print("alerts", d["alerts"], "occurrences", d["occurrences"], "intel_hits", d["intel_hits"], "intel MiB %.1f" % (d["intel_bytes"]/1048576))'
awk '{w[$1]=$2; c[$1]=$3; m[$1]=$4} END {
  printf "ratio vs baseline (wall): parsers %.3f  detect %.3f\n", w["baseline"]/w["parsers"], w["baseline"]/w["detect"];
  printf "ratio vs baseline (CPU): parsers %.3f  detect %.3f\n", c["baseline"]/c["parsers"], c["baseline"]/c["detect"];
  printf "detect / parsers-only: wall %.3f  CPU %.3f  (RSS %d → %d KiB)\n", w["parsers"]/w["detect"], c["parsers"]/c["detect"], m["parsers"], m["detect"];
  printf "load of the indicators alone: CPU %.2f s, RSS %d KiB\n", c["loadonly"], m["loadonly"];
  printf "detect / parsers-only without the load: CPU %.3f\n", c["parsers"]/(c["detect"]-c["loadonly"]);
  if ("detect_base" in c) {
    printf "BASE_SENSOR: detect CPU %.2f s, parsers-only %.2f s; this build: %.2f s, %.2f s\n", c["detect_base"], c["parsers_base"], c["detect"], c["parsers"];
    printf "BASE_SENSOR detect / parsers-only without the load: CPU %.3f\n", c["parsers_base"]/(c["detect_base"]-c["loadonly"]) } }' "$W/res"
