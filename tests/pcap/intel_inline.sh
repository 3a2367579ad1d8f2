#!/usr/bin/env bash
# The `intel:` list of lists inline in the sensor's own configuration file (-c), next to
# its settings (lib/conf passes the key over, lib/intel/conf.c reads it): on the demo
# capture it gives the same alerts as the same lists in detect.intel_file; paths are
# relative to the configuration file's folder; both forms together load both sets of
# lists (a name in both is an error); a bad entry stops the start, and -T, with the
# configuration file's line number; a config without `intel:` loads no list.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
need_corpus
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
I="$OTASUKE_CORPUS/intel"
D="$T_TMP/etc"
mkdir -p "$D/lists"
cp "$I/maltrail/malware/trickbot.txt" "$D/lists/trickbot.txt"
demo_intel "$T_TMP/intel.yaml"
# the same lists inline, among settings before and after (the trickbot list by a path
# relative to the configuration file)
cat >"$D/sensor.yaml" <<YAML
log:
  level: error
intel:
  - name: maltrail-trickbot
    path: lists/trickbot.txt
    format: maltrail
    category: c2
    severity: 1
  - {name: ut1-warez, path: "$I/categories/ut1/warez/domains", format: plain, type: domain, category: url_category, severity: 3}
  - {name: maltrail-mass-scanner, path: "$I/maltrail/mass_scanner.txt", format: maltrail, category: recon, severity: 4}
inventory:
  enabled: no
stats:
  probes:
    top: 7
YAML
alerts() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event_type"] == "alert":
        print(json.dumps(e, sort_keys=True))' "$1"; }
E1="$T_TMP/file.json"; E2="$T_TMP/inline.json"
"$SENSOR" -q -r "$PCAP" -o "$E1" --set detect.intel_file="$T_TMP/intel.yaml" --set log.level=error \
    --set inventory.enabled=no
"$SENSOR" -q -r "$PCAP" -o "$E2" -c "$D/sensor.yaml"
check "intel_file run: 18 alerts, 4 from the lists" \
    [ "$(alerts "$E1" | grep -c .)" -eq 18 -a "$(alerts "$E1" | grep -c '"signature_id": 10000')" -eq 4 ]
check "inline lists: the same alerts, byte for byte" [ "$(alerts "$E1")" = "$(alerts "$E2")" ]
check "the other settings of the file still apply (-T)" \
    [ "$("$SENSOR" -T -c "$D/sensor.yaml" 2>&1 | grep -E '^(inventory.enabled|stats.probes.top):' | sort | tr '\n' ' ')" = "inventory.enabled: false stats.probes.top: 7 " ]

# both forms: the inline trickbot list and the file's other two; both sets load
cat >"$T_TMP/two.yaml" <<YAML
intel:
  - {name: ut1-warez, path: "$I/categories/ut1/warez/domains", format: plain, type: domain, category: url_category, severity: 3}
  - {name: maltrail-mass-scanner, path: "$I/maltrail/mass_scanner.txt", format: maltrail, category: recon, severity: 4}
YAML
cat >"$D/one.yaml" <<YAML
intel:
  - {name: maltrail-trickbot, path: lists/trickbot.txt, format: maltrail, category: c2, severity: 1}
YAML
E3="$T_TMP/both.json"
"$SENSOR" -q -r "$PCAP" -o "$E3" -c "$D/one.yaml" --set detect.intel_file="$T_TMP/two.yaml" \
    --set log.level=error --set inventory.enabled=no
check "inline + detect.intel_file: the lists of both, the same alerts" [ "$(alerts "$E1")" = "$(alerts "$E3")" ]
out=$("$SENSOR" -q -r "$PCAP" -o "$T_TMP/dup.json" -c "$D/one.yaml" --set detect.intel_file="$T_TMP/intel.yaml" 2>&1); rc=$?
check "a list name in both: refused with both places named" \
    [ "$rc" -ne 0 -a -n "$(echo "$out" | grep -F 'intel list "maltrail-trickbot" is declared both in' | grep -F "$D/one.yaml" | grep -F "$T_TMP/intel.yaml")" ]

# bad entries: the configuration file's line
cat >"$D/bad.yaml" <<YAML
log:
  level: error
intel:
  - name: a
    path: lists/trickbot.txt
    category: c2
  - name: b
    path: lists/trickbot.txt
    category: c2
    severity: 9
YAML
out=$("$SENSOR" -q -r "$PCAP" -o "$T_TMP/bad.json" -c "$D/bad.yaml" 2>&1); rc=$?
check "severity 9 on line 10: refused at start with file:line" \
    [ "$rc" -ne 0 -a -n "$(echo "$out" | grep -F "$D/bad.yaml:10:")" ]
out=$("$SENSOR" -T -c "$D/bad.yaml" 2>&1); rc=$?
check "... and by -T" [ "$rc" -ne 0 -a -n "$(echo "$out" | grep -F "$D/bad.yaml:10:")" ]
printf 'intel:\n  - name: a\n    path: lists/trickbot.txt\n    category: c2\n    colour: red\n' >"$D/bad2.yaml"
out=$("$SENSOR" -T -c "$D/bad2.yaml" 2>&1); rc=$?
check "an unknown key in an entry: refused with its line" [ "$rc" -ne 0 -a -n "$(echo "$out" | grep -F "$D/bad2.yaml:5:")" ]
printf 'intel:\n  - name: a\n    path: lists/trickbot.txt\n    category: c2\nintel:\n  - name: b\n    path: lists/trickbot.txt\n    category: c2\n' >"$D/bad3.yaml"
out=$("$SENSOR" -T -c "$D/bad3.yaml" 2>&1); rc=$?
check "intel: twice: refused (duplicate key)" [ "$rc" -ne 0 -a -n "$(echo "$out" | grep -F 'duplicate key')" ]
printf 'intel: lists.yaml\n' >"$D/bad4.yaml"
out=$("$SENSOR" -T -c "$D/bad4.yaml" 2>&1); rc=$?
check "intel: not a list: refused" [ "$rc" -ne 0 -a -n "$(echo "$out" | grep -F "$D/bad4.yaml:1: intel: expected a list")" ]
printf 'inventory:\n  enabled: no\nlog:\n  level: error\n' >"$D/plain.yaml"
E5="$T_TMP/plain.json"
"$SENSOR" -q -r "$PCAP" -o "$E5" -c "$D/plain.yaml"
check "a config without intel: no list loaded, 14 alerts" [ "$(alerts "$E5" | grep -c .)" -eq 14 ]
finish
