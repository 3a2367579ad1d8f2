# Shared helpers for the script tests (sourced). Each test prints one closing line
# "NAME: N passed, M failed" and exits 0 (all passed), 1 (a failure) or 77 (skipped).
: "${OTASUKE_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${OTASUKE_BIN:=$OTASUKE_SRC/build/bin}"
: "${OTASUKE_CORPUS:=$OTASUKE_SRC/../shared/corpus}"
SENSOR="$OTASUKE_BIN/otasuke-sensor"
PY=/usr/bin/python3
T_PASS=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT

ok()   { T_PASS=$((T_PASS + 1)); echo "ok   - $*"; }
bad()  { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $*"; }
# check DESCRIPTION COMMAND...: passes when COMMAND exits 0
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
skip_all() { echo "SKIP $T_NAME: $*"; echo "$T_NAME: 0 passed, 0 failed, 1 skipped"; exit 77; }
finish() {
    echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ]
}
need_corpus() { [ -d "$OTASUKE_CORPUS/pcap" ] || skip_all "corpus not found at $OTASUKE_CORPUS (set OTASUKE_CORPUS)"; }
# The demo capture, generated on demand into the build tree.
demo_pcap() {
    local f="$OTASUKE_SRC/demo/office.pcap"
    if [ ! -s "$f" ]; then
        mkdir -p "$OTASUKE_SRC/demo"
        "$PY" "$OTASUKE_SRC/tools/gen-demo-pcap" -o "$f" >/dev/null || return 1
    fi
    echo "$f"
}
# demo_intel FILE: the intel lists the demo capture's cases need (docs/demo.md, as
# tests/detect/demo-intel.yaml), from $OTASUKE_CORPUS, written as FILE.
demo_intel() {
    local i="$OTASUKE_CORPUS/intel"
    cat >"$1" <<YAML
intel:
  - {name: maltrail-trickbot, path: "$i/maltrail/malware/trickbot.txt", format: maltrail, category: c2, severity: 1}
  - {name: ut1-warez, path: "$i/categories/ut1/warez/domains", format: plain, type: domain, category: url_category, severity: 3}
  - {name: maltrail-mass-scanner, path: "$i/maltrail/mass_scanner.txt", format: maltrail, category: recon, severity: 4}
YAML
}
# every line of a file is a JSON object
# all_json FILE: every line is one JSON object, with no key twice in any object
# (strict readers such as jansson refuse duplicates), and there is at least one line.
all_json() { "$PY" -c 'import json,sys
def once(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in %s" % keys)
    return dict(pairs)
n=0
for i,l in enumerate(open(sys.argv[1],encoding="utf-8"),1):
    o=json.loads(l, object_pairs_hook=once); assert isinstance(o,dict), i; n+=1
assert n>0' "$1"; }
# jq-free query: prints the result of a python expression over the list of events E
ev_query() { "$PY" -c 'import json,sys
E=[json.loads(l) for l in open(sys.argv[1],encoding="utf-8")]
print(eval(sys.argv[2]))' "$1" "$2"; }

# run_limit_case DIR NAME SETTINGS: runs the sensor on DIR/NAME.pcap into
# $T_TMP/NAME.json with the space-separated NAME=VALUE settings ("-" for none); fails
# (printing the end of stderr) on a non-zero exit, a sanitizer report or a line that
# is not JSON. For the crafted-capture limit tests.
run_limit_case() {
    local dir=$1 name=$2 sets=$3 args=()
    if [ "$sets" != "-" ]; then
        for s in $sets; do args+=(--set "$s"); done
    fi
    "$SENSOR" -q -r "$dir/$name.pcap" -o "$T_TMP/$name.json" "${args[@]}" 2>"$T_TMP/$name.err"
    local rc=$?
    if [ $rc -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$T_TMP/$name.err"; then
        echo "  sensor exit $rc: $(tail -3 "$T_TMP/$name.err")"
        return 1
    fi
    all_json "$T_TMP/$name.json"
}
