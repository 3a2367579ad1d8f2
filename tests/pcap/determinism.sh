#!/usr/bin/env bash
# RELIABILITY R2: the same capture twice gives byte-identical events, and the flow
# events are the same set after sorting by flow id. Also R3 (every line is JSON).
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
files=()
PCAP=$(demo_pcap) && files+=("$PCAP")
if [ -d "$OTASUKE_CORPUS/pcap" ]; then
    for f in ndpi/1kxun.pcap ndpi/dns_exfiltration.pcap zeek/http/basic-auth-with-colon.pcap other/otasuke-lab/nmap-syn-vertical.pcap zeek/tunnels/gre-pptp.pcap zeek/tunnels/6in4.pcap; do
        [ -f "$OTASUKE_CORPUS/pcap/$f" ] && files+=("$OTASUKE_CORPUS/pcap/$f")
    done
else
    echo "SKIP part: corpus not found at $OTASUKE_CORPUS; checking the demo capture only"
fi
[ ${#files[@]} -gt 0 ] || skip_all "no capture available"
for f in "${files[@]}"; do
    n=$(basename "$f")
    "$SENSOR" -q -r "$f" -o "$T_TMP/a.json" 2>/dev/null
    "$SENSOR" -q -r "$f" -o "$T_TMP/b.json" 2>/dev/null
    check "$n: two runs byte-identical" cmp -s "$T_TMP/a.json" "$T_TMP/b.json"
    check "$n: every line is JSON" all_json "$T_TMP/a.json"
    check "$n: flow ids unique" [ "$(ev_query "$T_TMP/a.json" 'len([e["flow_id"] for e in E if e["event_type"]=="flow"])==len(set(e["flow_id"] for e in E if e["event_type"]=="flow"))')" = True ]
done
finish
