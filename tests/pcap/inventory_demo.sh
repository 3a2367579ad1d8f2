#!/usr/bin/env bash
# The device inventory on the demo capture (docs/demo.md, docs/inventory.md): every
# device of the office LAN with the right MAC, name, maker and kind; the iPhone with a
# randomized MAC raises new_device on Thursday and alerts on .104 on Thursday name it;
# the C&C alerts on Tuesday (.104) and Thursday (.112) both name KEIRI-PC02; the saved
# inventory survives a restart and prints as a table, CSV and JSON.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
need_corpus
[ -r /usr/share/ieee-data/oui.csv ] || skip_all "ieee-data is not installed (tools/install-deps.sh)"
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
cat >"$T_TMP/intel.yaml" <<YAML
intel:
  - {name: maltrail-trickbot, path: "$OTASUKE_CORPUS/intel/maltrail/malware/trickbot.txt", format: maltrail, category: c2, severity: 1}
YAML
ST="$T_TMP/state"; mkdir -p "$ST"
E="$T_TMP/demo.json"
"$SENSOR" -q -r "$PCAP" -o "$E" --set detect.intel_file="$T_TMP/intel.yaml" \
    --set inventory.state_dir="$ST" --set log.level=error
check "every line is one JSON object" all_json "$E"
"$SENSOR" --inventory --format json --set inventory.state_dir="$ST" >"$T_TMP/inv.json"
check "--inventory --format json: one JSON object a line" all_json "$T_TMP/inv.json"

# mac name maker-prefix kind (docs/demo.md's devices table)
EXPECT="00:a0:de:8a:31:5c|-|YAMAHA|router
00:11:32:9e:4b:21|YAMATO-NAS|Synology|nas
b8:2a:72:d4:07:e3|srv01|Dell|linux_server
3c:2a:f4:a1:b2:c3|BRN3C2AF4A1B2C3|Brother|printer
4c:36:4e:21:9a:07|CAM-GENKAN|Panasonic Connect|camera
54:bf:64:1e:7a:90|SOUMU-PC01|Dell|windows_pc
f8:bc:12:63:0c:4d|SOUMU-PC02|Dell|windows_pc
10:c5:95:3b:e2:18|KEIRI-PC01|Lenovo|windows_pc
8c:16:45:77:51:a6|KEIRI-PC02|LCFC|windows_pc
70:5a:0f:c4:29:3e|EIGYO-PC01|Hewlett Packard|windows_pc
3c:52:82:0b:f6:71|EIGYO-PC02|Hewlett Packard|windows_pc
d4:81:d7:5a:13:c8|SEIZOU-PC03|Dell|windows_pc
9c:7b:ef:e0:44:02|SEKKEI-PC01|Hewlett Packard|windows_pc
f0:18:98:3d:8e:55|Yamada-MacBook-Pro|Apple|mac
5a:e3:1c:9b:40:d7|iPhone|-|phone"
check "15 devices, no more" [ "$(wc -l <"$T_TMP/inv.json")" -eq 15 ]
while IFS='|' read -r mac name maker kind; do
    got=$("$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    d=json.loads(l)
    if d["mac"]==sys.argv[2]:
        print("%s|%s|%s" % (d["name"] or "-", d["maker"] or "-", d["kind"]))' "$T_TMP/inv.json" "$mac")
    gname=${got%%|*}; rest=${got#*|}; gmaker=${rest%%|*}; gkind=${rest#*|}
    check "device $mac: name $name, maker $maker*, kind $kind (got $got)" \
        [ "$gname" = "$name" -a "${gmaker#"$maker"}" != "$gmaker" -o "$gname" = "$name" -a "$maker" = "-" -a "$gmaker" = "-" ]
    check "device $mac: kind $kind" [ "$gkind" = "$kind" ]
done <<<"$EXPECT"
check "the iPhone's MAC is flagged randomized, with evidence for its kind" \
    [ "$(ev_query "$T_TMP/inv.json" "[(d['randomized_mac'], d['os'], 'iOS' in d['evidence']) for d in E if d['name']=='iPhone']")" = "[(True, 'iOS', True)]" ]

A='[e for e in E if e["event_type"]=="alert"]'
sel() { echo "[e for e in $A if $1]"; }
check "new_device: only the iPhone, Thursday, on .104, randomized, kind phone" \
    [ "$(ev_query "$E" "[(e['alert']['first_seen'][:10], e['device']['ip'], e['device']['mac'], e['device']['name'], e['device']['kind'], e['alert']['evidence']['randomized_mac']) for e in $(sel 'e["alert"]["category"]=="new_device"')]")" = "[('2026-10-07', '192.168.1.104', '5a:e3:1c:9b:40:d7', 'iPhone', 'phone', True)]" ]
check "C&C alerts on Tuesday (.104) and Thursday (.112) both name KEIRI-PC02 (a Windows PC by LCFC)" \
    [ "$(ev_query "$E" "sorted(set((e['device']['ip'], e['device']['name'], e['device']['kind'], e['device']['maker'][:4]) for e in $(sel 'e["alert"]["category"]=="c2"')))")" = "[('192.168.1.104', 'KEIRI-PC02', 'windows_pc', 'LCFC'), ('192.168.1.112', 'KEIRI-PC02', 'windows_pc', 'LCFC')]" ]
check "alerts on .104 from Thursday on name the iPhone" \
    [ "$(ev_query "$E" "sorted(set(e['device']['name'] for e in $(sel 'e["device"]["ip"]=="192.168.1.104" and e["alert"]["first_seen"] >= "2026-10-07T23:41"')))")" = "['iPhone']" ]
check "every alert's device has a name, a kind and the MAC of the named device" \
    [ "$(ev_query "$E" "all(e['device']['name'] and e['device']['kind'] and e['device']['mac'] for e in $A)")" = True ]
check "scanners are named (five Windows PCs)" \
    [ "$(ev_query "$E" "sorted(e['device']['name'] for e in $(sel 'e["alert"]["category"]=="recon" and e["alert"]["direction"]=="internal"'))")" = "['EIGYO-PC01', 'EIGYO-PC02', 'SEIZOU-PC03', 'SEKKEI-PC01', 'SOUMU-PC02']" ]
check "asset events: one new per device, KEIRI-PC02's first address .104 and its move to .112" \
    [ "$(ev_query "$E" "(sum(1 for e in E if e['event_type']=='asset' and e['asset']['change']=='new'), [e['asset']['ip'] for e in E if e['event_type']=='asset' and e['asset']['change']=='changed' and 'ip' in e['asset']['changed'] and e['asset']['mac']=='8c:16:45:77:51:a6'])")" = "(15, ['192.168.1.104', '192.168.1.112'])" ]
check "stats: 15 devices, one new_device alert" \
    [ "$(ev_query "$E" "(E[-1]['stats']['inventory']['devices'], E[-1]['stats']['inventory']['new_device_alerts'])")" = "(15, 1)" ]

# A second run with the saved inventory: nothing is new, the devices stay 15.
"$SENSOR" -q -r "$PCAP" -o "$T_TMP/again.json" --set inventory.state_dir="$ST" --set log.level=error
check "restart: no new_device alert, no new asset, still 15 devices" \
    [ "$(ev_query "$T_TMP/again.json" "(sum(e.get('alert',{}).get('category')=='new_device' for e in E), sum(e['event_type']=='asset' and e['asset']['change']=='new' for e in E), E[-1]['stats']['inventory']['devices'])")" = "(0, 0, 15)" ]
"$SENSOR" --inventory --format csv --set inventory.state_dir="$ST" >"$T_TMP/inv.csv"
check "CSV: header + 15 rows, parsed by python's csv" \
    [ "$("$PY" -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(len(r), sum(1 for x in r if x["maker"].startswith("Brother Industries, LTD.")))' "$T_TMP/inv.csv")" = "15 1" ]
"$SENSOR" --inventory --set inventory.state_dir="$ST" >"$T_TMP/inv.txt"
check "table: a header and the NAS row" grep -q "YAMATO-NAS .*nas" "$T_TMP/inv.txt"
"$SENSOR" --inventory 2>"$T_TMP/err.txt"; rc=$?
check "--inventory without inventory.state_dir: exit 1 with the reason" \
    [ $rc -eq 1 ] && grep -q "inventory.state_dir is not set" "$T_TMP/err.txt"
"$SENSOR" -q -r "$PCAP" -o "$T_TMP/x.json" --set inventory.state_dir="$T_TMP/nonexistent" 2>"$T_TMP/err2.txt"; rc=$?
check "a missing state directory is a clear error at start" \
    [ $rc -ne 0 ] && grep -q "inventory state directory" "$T_TMP/err2.txt"
finish
