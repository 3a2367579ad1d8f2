#!/usr/bin/env bash
# Inbound probe statistics (sensor/detect/probes.c, stats detect.probes): on a capture
# generated here, connection attempts from the internet to home_net are counted per
# protocol/port and per source country (from the ip-location-db mmdb that
# tools/install-deps.sh fetches; the countries are checked against mmdblookup), while
# outbound connections, replies and internal traffic are not; the port table's cap
# sends the rest to ports_other; without a database no country is written. On the
# corpus SYN scan (ndpi/synscan.pcap) with the target as home_net: 1,994 attempts on
# 1,000 ports, the scanner's private address without a country.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
"$PY" -c 'import scapy.all' 2>/dev/null || skip_all "python3-scapy not installed for $PY"
DB=${OTASUKE_GEOIP_MMDB:-$OTASUKE_SRC/build-cache/geoip/geo-whois-asn-country.mmdb}
P="$T_TMP/probes.pcap"
"$PY" - "$P" <<'PYEOF'
import sys
from scapy.all import Ether, IP, TCP, UDP, ICMP, wrpcap
pk = []
def add(p): p.time = 1700000000 + len(pk) * 0.01; pk.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / p)
nas = "192.168.1.10"
for i in range(3): add(IP(src="133.242.0.1", dst=nas) / TCP(sport=40000 + i, dport=23, flags="S"))   # JP
for i in range(2): add(IP(src="8.8.8.8", dst=nas) / TCP(sport=41000 + i, dport=445, flags="S"))       # US
add(IP(src="8.8.8.8", dst=nas) / UDP(sport=5000, dport=161) / b"x")                                    # US
add(IP(src="91.134.73.222", dst=nas) / ICMP(type=8))                                                   # FR
add(IP(src="200.160.2.3", dst=nas) / TCP(sport=42000, dport=23, flags="S"))                            # BR
# not counted: outbound, a reply from outside, internal, an outside ACK without SYN
add(IP(src="192.168.1.20", dst="8.8.8.8") / TCP(sport=43000, dport=443, flags="S"))
add(IP(src="1.1.1.1", dst="192.168.1.20") / TCP(sport=53, dport=43001, flags="SA"))
add(IP(src="192.168.1.20", dst=nas) / TCP(sport=43002, dport=22, flags="S"))
add(IP(src="41.0.0.1", dst=nas) / TCP(sport=43003, dport=80, flags="A"))
# twenty ports more from one source (the cap run)
for i in range(20): add(IP(src="41.0.0.1", dst=nas) / TCP(sport=44000, dport=10000 + i, flags="S"))  # ZA
wrpcap(sys.argv[1], pk)
PYEOF
[ -s "$P" ] || { bad "capture generated"; finish; exit 1; }
Q="[e for e in E if e['event_type']=='stats' and e['stats']['final']][0]['stats']['detect']['probes']"
run() { "$SENSOR" -q -r "$1" -o "$2" --set log.level=error --set inventory.enabled=no "${@:3}"; }

E0="$T_TMP/nodb.json"
run "$P" "$E0"
check "without a database: attempts by port only, geoip false" \
    [ "$(ev_query "$E0" "[$Q['attempts'], $Q['geoip'], 'by_country' in $Q]")" = "[28, False, False]" ]
check "ports: TCP/23 4, TCP/445 2, UDP/161 1, ICMP/8 1, 20 more" \
    [ "$(ev_query "$E0" "[$Q['by_port'].get(k) for k in ('TCP/23','TCP/445','UDP/161','ICMP/8','TCP/10000','TCP/22','TCP/443','TCP/80')] + [$Q['ports_tracked']]")" = \
      "[4, 2, 1, 1, 1, None, None, None, 24]" ]
check "largest first" [ "$(ev_query "$E0" "list($Q['by_port'])[:2]")" = "['TCP/23', 'TCP/445']" ]
E1="$T_TMP/cap.json"
run "$P" "$E1" --set stats.probes.max_ports=16 --set stats.probes.top=3
check "max_ports 16: 16 tracked, the rest in ports_other; top 3 written" \
    [ "$(ev_query "$E1" "[$Q['ports_tracked'], $Q['ports_other'], len($Q['by_port'])]")" = "[16, 8, 3]" ]

if [ ! -s "$DB" ]; then
    echo "SKIP countries: no GeoIP database at $DB (tools/install-deps.sh fetches it with npm)"
else
    E="$T_TMP/geo.json"
    run "$P" "$E" --set stats.geoip.db="$DB"
    check "countries: JP 3, US 3, FR 1, BR 1, ZA 20" \
        [ "$(ev_query "$E" "sorted($Q['by_country'].items())")" = "[('BR', 1), ('FR', 1), ('JP', 3), ('US', 3), ('ZA', 20)]" ]
    if command -v mmdblookup >/dev/null; then
        want=""
        for ip in 133.242.0.1 8.8.8.8 91.134.73.222 200.160.2.3 41.0.0.1; do
            want="$want$(mmdblookup -f "$DB" -i "$ip" country_code | sed -n 's/.*"\(..\)".*/\1/p')"
        done
        check "the countries are the database's (mmdblookup)" [ "$want" = "JPUSFRBRZA" ]
    fi
    check "a bad database path is refused at start" \
        bash -c "! '$SENSOR' -q -r '$P' -o '$T_TMP/x.json' --set stats.geoip.db=/nonexistent.mmdb 2>/dev/null"
fi

if [ -n "${OTASUKE_CORPUS:-}" ] && [ -s "$OTASUKE_CORPUS/pcap/ndpi/synscan.pcap" ]; then
    E="$T_TMP/syn.json"
    run "$OTASUKE_CORPUS/pcap/ndpi/synscan.pcap" "$E" --set detect.home_net=64.13.134.0/24 \
        $([ -s "$DB" ] && echo --set stats.geoip.db="$DB")
    check "corpus SYN scan: 1994 attempts on 1000 ports" \
        [ "$(ev_query "$E" "[$Q['attempts'], $Q['ports_tracked'], $Q['ports_other']]")" = "[1994, 1000, 0]" ]
    [ -s "$DB" ] && check "... from a private address: no country" \
        [ "$(ev_query "$E" "[$Q['country_unknown'], $Q['by_country']]")" = "[1994, {}]" ]
else
    echo "SKIP corpus scan: no corpus"
fi
finish
