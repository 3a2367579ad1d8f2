#!/usr/bin/env bash
# Application parsers turn what they find wrong into counters and `applayer`
# anomaly events (never a crash, and the message is still logged when usable):
# a DNS capture whose responses run past their end, and a fuzzed DHCP message.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
need_corpus
D="$OTASUKE_CORPUS/pcap"
"$SENSOR" -q -r "$D/zeek/dns-edns-ecs-bad.pcap" -o "$T_TMP/dns.json" 2>/dev/null
q() { ev_query "$T_TMP/$1" "$2"; }
check "dns: 4 truncated messages counted" [ "$(q dns.json 'E[-1]["stats"]["app_layer"]["dns"]["anomaly"].get("truncated")')" = 4 ]
check "dns: one applayer anomaly event each, named dns.truncated" [ "$(q dns.json 'sorted(set((e["anomaly"]["type"], e["anomaly"]["event"], e["app_proto"]) for e in E if e["event_type"]=="anomaly")), sum(e["event_type"]=="anomaly" for e in E)')" = "([('applayer', 'dns.truncated', 'dns')], 4)" ]
check "dns: the messages are still logged" [ "$(q dns.json 'sum(e["event_type"]=="dns" for e in E)')" -eq 4 ]
"$SENSOR" -q -r "$D/ndpi/dhcp-fuzz.pcapng" -o "$T_TMP/dhcp.json" 2>/dev/null
check "dhcp: the bad option length counted" [ "$(q dhcp.json 'E[-1]["stats"]["app_layer"]["dhcp"]["anomaly"].get("option_length")')" = 1 ]
check "dhcp: applayer anomaly event dhcp.option_length" [ "$(q dhcp.json '[e["anomaly"]["event"] for e in E if e["event_type"]=="anomaly"]')" = "['dhcp.option_length']" ]
check "dhcp: the message is still logged" [ "$(q dhcp.json 'sum(e["event_type"]=="dhcp" for e in E)')" -eq 1 ]
finish
