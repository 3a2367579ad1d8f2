#!/usr/bin/env bash
# DGA-like names (docs/detections.md, 2000103) on a capture this test generates with
# scapy: an infected PC (192.168.20.50) asks its resolver for 40 names of a
# necurs-like domain generation algorithm (random letters, .com/.net/.org), all answered
# NXDOMAIN; a clean PC (192.168.20.60) asks ordinary names, reverse lookups, .local and
# DNS-SD names, hashed CDN host names, search-domain guesses answered NXDOMAIN and names
# under the network's own domain. Expected: exactly one c2 alert, for the infected PC,
# counting its 40 names, with samples; nothing for the clean PC. Then: the thresholds
# (min_random / min_nxdomain above 40: no alert), the window (names spread over more than
# detect.dga.window: no alert), and the URL category setting on the same capture.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
"$PY" -c 'import scapy.all' 2>/dev/null || skip_all "python3-scapy not installed for $PY"
P="$T_TMP/dga.pcap"
"$PY" - "$P" "$T_TMP/slow.pcap" <<'PY'
import sys
from scapy.all import Ether, IP, UDP, DNS, DNSQR, DNSRR, wrpcap

def lcg_names(seed, n):
    # a necurs-like generator: 12..20 random letters, one of three TLDs
    out, x = [], seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        ln = 12 + x % 9
        s = ""
        for _ in range(ln):
            x = (x * 1103515245 + 12345) & 0x7fffffff
            s += chr(ord("a") + (x >> 16) % 26)
        out.append(s + (".com", ".net", ".org")[x % 3])
    return out

RES, BAD, GOOD = "192.168.20.1", "192.168.20.50", "192.168.20.60"
MAC = {BAD: "02:00:00:00:00:50", GOOD: "02:00:00:00:00:60", RES: "02:00:00:00:00:01"}
def exchange(t, client, name, rcode, qid, answer=None):
    q = Ether(src=MAC[client], dst=MAC[RES]) / IP(src=client, dst=RES) / \
        UDP(sport=40000 + qid % 20000, dport=53) / DNS(id=qid, rd=1, qd=DNSQR(qname=name))
    an = DNSRR(rrname=name, type="A", ttl=60, rdata=answer) if answer else None
    r = Ether(src=MAC[RES], dst=MAC[client]) / IP(src=RES, dst=client) / \
        UDP(sport=53, dport=40000 + qid % 20000) / \
        DNS(id=qid, qr=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=name), an=an)
    q.time, r.time = t, t + 0.01
    return [q, r]

def build(gap):
    pk, t, qid = [], 1700000000.0, 1
    for n in lcg_names(7, 40):
        pk += exchange(t, BAD, n, 3, qid); t += gap; qid += 1
    clean = ["www.google.com", "outlook.office365.com", "www.yahoo.co.jp", "github.com",
             "e13678.dscb.akamaiedge.net", "d3k8f9a0b1c2x7.cloudfront.net",
             "r4---sn-5hne6nsz.googlevideo.com", "50.20.168.192.in-addr.arpa",
             "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa",
             "printer-3f9a7c.local", "_ipp._tcp.local", "_ldap._tcp.dc._msdcs.corp.example.co.jp",
             "wpad", "nas01.lan", "fileserver.internal"]
    for n in clean:
        pk += exchange(t, GOOD, n, 0, qid, answer="93.184.216.34"); t += gap; qid += 1
    # search-domain guesses: the resolver appends the network's domain; all NXDOMAIN
    for i in range(30):
        n = "host%02d-qx7vzkw9p.corp.example.co.jp" % i
        pk += exchange(t, GOOD, n, 3, qid); t += gap; qid += 1
    return pk

wrpcap(sys.argv[1], build(1.0))
wrpcap(sys.argv[2], build(40.0))  # 40 names over 27 minutes: at most 8 in 5 min
PY
[ -s "$P" ] || { bad "scapy wrote no capture"; finish; }
E="$T_TMP/e.json"
run() { "$SENSOR" -q -r "$1" -o "$E" --set log.level=error --set inventory.enabled=no "${@:2}"; }
A='[e for e in E if e["event_type"]=="alert"]'

run "$P" --set detect.dga.ignore=corp.example.co.jp
check "every line is one JSON object" all_json "$E"
check "one DGA alert (2000103, c2), for the infected PC only" \
    [ "$(ev_query "$E" "[(e['alert']['signature_id'], e['alert']['category'], e['device']['ip'], e['device']['mac']) for e in $A]")" = "[(2000103, 'c2', '192.168.20.50', '02:00:00:00:00:50')]" ]
check "it counts the 40 distinct names; evidence: random and NXDOMAIN counts at the threshold, 4 samples" \
    [ "$(ev_query "$E" "[(e['alert']['count'], e['alert']['evidence']['random_names'] >= 10, e['alert']['evidence']['nxdomain_names'] >= 10, len(e['alert']['evidence']['samples']), e['alert']['severity'], e['alert']['direction']) for e in $A]")" = "[(40, True, True, 4, 2, 'outbound')]" ]
check "the samples are the first names asked" \
    [ "$(ev_query "$E" "all(s.endswith(('.com','.net','.org')) and len(s) >= 16 for e in $A for s in e['alert']['evidence']['samples'])")" = True ]
check "stats: names judged, random and NXDOMAIN counted" \
    [ "$(ev_query "$E" "(lambda g: (g['names_random'] >= 30, g['names_nxdomain'], g['evicted']))(E[-1]['stats']['detect']['dga'])")" = "(True, 40, 0)" ]
check "Japanese and English texts and the c2 first steps" \
    [ "$(ev_query "$E" "all('DGA' in e['alert']['signature_ja'] and 'DGA' in e['alert']['signature'] and 'ウイルス' in e['alert']['action']['ja'] and 'infected' in e['alert']['action']['en'] for e in $A) and len($A) == 1")" = True ]

run "$P"
check "without detect.dga.ignore the search-domain guesses (30 NXDOMAIN) alert for the clean PC too" \
    [ "$(ev_query "$E" "sorted(e['device']['ip'] for e in $A)")" = "['192.168.20.50', '192.168.20.60']" ]

run "$P" --set detect.dga.ignore=corp.example.co.jp --set detect.dga.min_random=41 --set detect.dga.min_nxdomain=41
check "thresholds above 40 names: no alert" [ "$(ev_query "$E" "len($A)")" -eq 0 ]
run "$P" --set detect.dga.ignore=corp.example.co.jp --set detect.dga.min_random=64 --set detect.dga.min_nxdomain=40
check "min_nxdomain 40: alert at the 40th NXDOMAIN name" [ "$(ev_query "$E" "[e['alert']['evidence']['nxdomain_names'] for e in $A]")" = "[40]" ]
run "$T_TMP/slow.pcap" --set detect.dga.ignore=corp.example.co.jp
check "40 names 40 s apart: at most 8 within 5 min, no alert" [ "$(ev_query "$E" "len($A)")" -eq 0 ]
run "$T_TMP/slow.pcap" --set detect.dga.ignore=corp.example.co.jp --set detect.dga.window=30m
check "the same with a 30 min window: one alert" [ "$(ev_query "$E" "len($A)")" -eq 1 ]
run "$P" --set detect.dga.enabled=no
check "detect.dga.enabled=no: no alert, no dga stats" \
    [ "$(ev_query "$E" "(len($A), 'dga' in E[-1]['stats']['detect'])")" = "(0, False)" ]
if "$SENSOR" -q -r "$P" -o "$E" --set log.level=error --set "detect.dga.ignore=$(printf 'a%.0s,' $(seq 40))" 2>"$T_TMP/err"; then
    bad "too many ignored domains accepted"
else
    check "too many ignored domains: a clear error" grep -q 'detect.dga.ignore: at most 32' "$T_TMP/err"
fi
finish
