#!/usr/bin/env bash
# The sensor as a user meets it: --help/--version, -T with good and bad configs
# (file:line errors), output to a file, stdout and a directory, bad and truncated
# captures (clear error, nothing lost), the progress line only on a terminal.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
cd "$T_TMP"

check "--version names the program" bash -c "'$SENSOR' --version | grep -q '^otasuke-sensor [0-9]'"
check "--help exits 0 and shows -r" bash -c "'$SENSOR' --help | grep -q -- '-r, --read'"
check "no source is a usage error (2)" bash -c "'$SENSOR' -o x.json 2>/dev/null; [ \$? -eq 2 ]"

# -T prints settings that load back unchanged.
"$SENSOR" -T > eff1.txt 2>err.txt; rc=$?
check "-T on defaults exits 0" [ "$rc" -eq 0 ]
check "-T shows flow.memcap" grep -q '^flow.memcap: 128 MiB' eff1.txt
grep -v '^#' eff1.txt | sed 's/^\([a-z_.]*\): /\1: /' > eff.yaml
"$PY" - eff.yaml > nested.yaml <<'PYEOF'
import sys
# dotted "a.b.c: v" lines -> nested YAML
tree = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition(": ")
    node = tree
    parts = k.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = v
def out(n, ind=0):
    for k, v in n.items():
        if isinstance(v, dict):
            print(" " * ind + k + ":"); out(v, ind + 2)
        else:
            print(" " * ind + k + ": " + v)
out(tree)
PYEOF
"$SENSOR" -c nested.yaml -T > eff2.txt 2>err2.txt
check "-T output loads back to the same settings" diff <(grep -v '^#' eff1.txt) <(grep -v '^#' eff2.txt)

printf 'flow:\n  memcap: 64 MiB\n  bogus: 1\n' > bad1.yaml
"$SENSOR" -c bad1.yaml -T >/dev/null 2>err.txt; rc=$?
check "unknown setting: exit non-zero" [ "$rc" -ne 0 ]
check "unknown setting: file:line in the error" grep -q 'bad1.yaml:3:' err.txt
printf 'output:\n  stats_interval: 10s\nflow:\n  memcap: lots\n' > bad2.yaml
"$SENSOR" -c bad2.yaml -T >/dev/null 2>err.txt; rc=$?
check "bad size: exit non-zero with file:line" bash -c "[ $rc -ne 0 ] && grep -q 'bad2.yaml:4:' err.txt"
printf 'flow: [unclosed\n' > bad3.yaml
"$SENSOR" -c bad3.yaml -T >/dev/null 2>err.txt; rc=$?
check "YAML syntax error: exit non-zero with file:line" bash -c "[ $rc -ne 0 ] && grep -q 'bad3.yaml:[0-9]' err.txt"
"$SENSOR" --set flow.memcap=0 -T >/dev/null 2>err.txt; rc=$?
check "--set out of range is refused" bash -c "[ $rc -ne 0 ] && grep -q 'flow.memcap' err.txt"

# A normal run to a file.
"$SENSOR" -r "$PCAP" -o eve.json 2>run.err; rc=$?
check "demo run exits 0" [ "$rc" -eq 0 ]
check "every event line is JSON" all_json eve.json
check "flow events present" [ "$(ev_query eve.json 'sum(e["event_type"]=="flow" for e in E)')" -gt 50 ]
check "exactly one final stats event, last" \
    [ "$(ev_query eve.json 'E[-1]["event_type"]=="stats" and E[-1]["stats"]["final"] and sum(e["event_type"]=="stats" and e["stats"]["final"] for e in E)==1')" = True ]
check "summary printed on stderr" grep -q 'packets.*pkt/s' run.err
check "no progress line without a terminal" bash -c "! grep -q \$'\\r' run.err"
check "stats count every packet" [ "$(ev_query eve.json 'E[-1]["stats"]["capture"]["packets"]')" = "$(tshark -r "$PCAP" 2>/dev/null | wc -l)" ]

# stdout and directory outputs give the same events.
"$SENSOR" -q -r "$PCAP" -o - > stdout.json 2>/dev/null
check "-o - writes the same events to stdout" cmp -s eve.json stdout.json
mkdir outdir
"$SENSOR" -q -r "$PCAP" -o outdir 2>/dev/null
check "-o DIR writes DIR/eve.json" cmp -s eve.json outdir/eve.json
mkdir rot; "$SENSOR" -q -r "$PCAP" -o rot --set output.rotate_size=64KiB --set output.rotate_keep=1000 2>/dev/null
mkdir rot2; "$SENSOR" -q -r "$PCAP" -o rot2 --set output.rotate_size=64KiB --set output.rotate_keep=3 2>/dev/null
check "dir mode keeps only rotate_keep old files" [ "$(ls rot2 | wc -l)" -eq 4 ]
check "dir mode rotates by size" [ "$(ls rot | wc -l)" -gt 1 ]
check "rotated files together hold every event" [ "$(cat rot/*.json | wc -l)" -eq "$(wc -l < eve.json)" ]

# Progress line on a terminal (script(1) gives the sensor a pty).
if command -v script >/dev/null; then
    script -qec "'$SENSOR' -r '$PCAP' -o tty.json" /dev/null > tty.out 2>&1
    check "progress line on a terminal" grep -q '%.*packets.*pkt/s' tty.out
fi

# Bad captures: clear errors, nothing lost.
head -c 100000 "$PCAP" > trunc.pcap
"$SENSOR" -r trunc.pcap -o trunc.json 2>trunc.err; rc=$?
check "truncated pcap: non-zero exit (3)" [ "$rc" -eq 3 ]
check "truncated pcap: error names the problem" grep -qi 'truncated\|read error' trunc.err
check "truncated pcap: events still written and valid" all_json trunc.json
check "truncated pcap: final stats says read_error" [ "$(ev_query trunc.json 'E[-1]["stats"]["capture"]["read_error"]')" = True ]
head -c 4096 /dev/urandom > garbage.pcap
"$SENSOR" -r garbage.pcap -o g.json 2>g.err; rc=$?
check "garbage file: exit 1 with a message" bash -c "[ $rc -eq 1 ] && grep -q 'garbage.pcap' g.err"
: > empty.pcap
"$SENSOR" -r empty.pcap -o e.json 2>e.err; rc=$?
check "empty file: exit 1 with a message" bash -c "[ $rc -eq 1 ] && [ -s e.err ]"
"$SENSOR" -r /nonexistent.pcap -o n.json 2>n.err; rc=$?
check "missing file: exit 1 naming it" bash -c "[ $rc -eq 1 ] && grep -q nonexistent n.err"
"$SENSOR" -r "$PCAP" -o /nonexistent-dir/x.json 2>o.err; rc=$?
check "unwritable output: exit 1 with a message" bash -c "[ $rc -ne 0 ] && [ -s o.err ]"
check "BPF filter applies" bash -c "'$SENSOR' -q -r '$PCAP' -o f.json 'udp port 53' && [ \$(grep -c '\"event_type\":\"flow\"' f.json) -gt 0 ] && ! grep '\"event_type\":\"flow\"' f.json | grep -q '\"proto\":\"TCP\"'"
"$SENSOR" -q -r "$PCAP" -o f2.json 'port nonsense' 2>bpf.err; rc=$?
check "bad BPF filter: exit 1 naming the filter" bash -c "[ $rc -eq 1 ] && grep -q 'BPF filter' bpf.err"
finish
