#!/usr/bin/env bash
# tests/integration/demo_pcap.sh -- the demo capture generator (tools/gen-demo-pcap)
#
# Generates the demo capture twice and checks that the files are byte-identical,
# then checks with tshark that every case of docs/demo.md is in the capture and
# that tshark finds nothing malformed and no bad checksum.
#
# Env: OTASUKE_SRC (repo root; default: two levels up from this script),
#      OTASUKE_CORPUS (default: $OTASUKE_SRC/../shared/corpus; optional).
# Exit: 0 pass, 1 fail, 77 skip (no scapy for /usr/bin/python3, or no tshark).

set -u
SRC=${OTASUKE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN="$SRC/tools/gen-demo-pcap"
PY=/usr/bin/python3
CORPUS=${OTASUKE_CORPUS:-$SRC/../shared/corpus}

if [ ! -x "$PY" ] || ! "$PY" -c 'import scapy.layers.inet' 2>/dev/null; then
    echo "demo_pcap: SKIP: /usr/bin/python3 has no scapy (apt-get install python3-scapy)"
    exit 77
fi
if ! command -v tshark >/dev/null 2>&1; then
    echo "demo_pcap: SKIP: tshark not installed (apt-get install tshark)"
    exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/demo_pcap.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PASS=0
FAIL=0
ok()   { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() {   # check "description" test-expression...
    local d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
ts() { tshark -r "$F" "$@" 2>/dev/null; }   # tshark, quiet about running as root

CNC_IP=85.204.116.144
PIRACY=ww13.manga-zip.info

# --- determinism --------------------------------------------------------------
F="$TMP/a/office.pcap"
t0=$(date +%s)
if ! PYTHONHASHSEED=1 "$GEN" -o "$F" 2>"$TMP/gen.err"; then
    cat "$TMP/gen.err"
    bad "generator runs"
    echo "demo_pcap: $PASS passed, $FAIL failed"
    exit 1
fi
t1=$(date +%s)
ok "generator runs ($((t1 - t0)) s): $(cat "$TMP/gen.err")"
PYTHONHASHSEED=2 "$GEN" -o "$TMP/b.pcap" 2>/dev/null
ha=$(sha256sum <"$F" | cut -d' ' -f1)
hb=$(sha256sum <"$TMP/b.pcap" | cut -d' ' -f1)
check "same command twice gives a byte-identical file ($ha)" [ "$ha" = "$hb" ]
"$GEN" -o "$TMP/c.pcap" --seed 7 2>/dev/null
hc=$(sha256sum <"$TMP/c.pcap" | cut -d' ' -f1)
check "another --seed gives another file" [ "$ha" != "$hc" ]

size=$(stat -c %s "$F")
check "size is a few MB at most ($size bytes)" [ "$size" -gt 500000 ] && [ "$size" -lt 10000000 ]
magic=$(od -An -tx1 -N4 "$F" | tr -d ' ')
check "classic pcap, microsecond timestamps (magic $magic)" [ "$magic" = "d4c3b2a1" ]
lt=$(od -An -tu4 -j20 -N4 "$F" | tr -d ' ')
check "link type Ethernet" [ "$lt" = "1" ]

# --- well-formed ----------------------------------------------------------------
CK="-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE"
n=$(ts $CK -Y '_ws.malformed' | wc -l)
check "no malformed packets ($n)" [ "$n" -eq 0 ]
n=$(ts $CK -Y '_ws.expert.severity == error' | wc -l)
check "no expert errors ($n)" [ "$n" -eq 0 ]
n=$(ts $CK -Y 'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0' | wc -l)
check "no bad IP/TCP/UDP/ICMP checksum ($n)" [ "$n" -eq 0 ]
n=$(ts -Y 'tcp.analysis.retransmission || tcp.analysis.out_of_order || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.duplicate_ack' | wc -l)
check "TCP sequence numbers consistent (no retransmission/lost/out-of-order: $n)" [ "$n" -eq 0 ]
ts -T fields -e frame.time_epoch >"$TMP/times"
npk=$(wc -l <"$TMP/times")
n=$(awk 'NR>1 && $1 < p {c++} {p=$1} END {print c+0}' "$TMP/times")
check "timestamps non-decreasing ($npk packets)" [ "$n" -eq 0 ] && [ "$npk" -gt 1000 ]
first=$(head -1 "$TMP/times"); last=$(tail -1 "$TMP/times")
days=$(awk -v a="$first" -v b="$last" 'BEGIN {printf "%d", (b - a) / 86400}')
check "capture spans several days ($days)" [ "$days" -ge 4 ]

# --- DHCP / ARP inventory ------------------------------------------------------------
n=$(ts -Y 'dhcp.option.dhcp == 5' -T fields -e dhcp.hw.mac_addr | sort -u | wc -l)
check "DHCP ACKs for >= 12 devices ($n)" [ "$n" -ge 12 ]
n=$(ts -Y 'dhcp.option.dhcp == 3 && dhcp.option.hostname' -T fields -e dhcp.option.hostname | sort -u | wc -l)
check "DHCP REQUESTs with hostname (option 12) from >= 12 devices ($n)" [ "$n" -ge 12 ]
n=$(ts -Y 'dhcp.option.vendor_class_id == "MSFT 5.0"' -T fields -e dhcp.hw.mac_addr | sort -u | wc -l)
check "Windows PCs with vendor class MSFT 5.0 ($n)" [ "$n" -ge 6 ]
n=$(ts -Y 'dhcp.option.dhcp == 1 && dhcp.option.request_list_item' -T fields -e dhcp.hw.mac_addr | sort -u | wc -l)
check "DHCP DISCOVERs with parameter request list ($n devices)" [ "$n" -ge 10 ]
n=$(ts -Y 'dhcp && eth.src.lg == 1 && dhcp.option.dhcp == 1' | wc -l)
check "a locally administered (randomized) MAC does DHCP ($n)" [ "$n" -ge 1 ]
n=$(ts -Y 'dhcp.option.dhcp == 6' | wc -l)
check "a DHCP NAK (address no longer available) ($n)" [ "$n" -ge 1 ]
# an address handed to two different MACs over the week
n=$(ts -Y 'dhcp.option.dhcp == 5' -T fields -e dhcp.ip.your -e dhcp.hw.mac_addr | sort -u |
    awk '{c[$1]++} END {for (i in c) if (c[i] > 1) n++; print n+0}')
check "an IP address reused by another device ($n)" [ "$n" -ge 1 ]
n=$(ts -Y 'arp.opcode == 1' | wc -l); m=$(ts -Y 'arp.opcode == 2' | wc -l)
g=$(ts -Y 'arp.isgratuitous == 1 || arp.isprobe == 1' | wc -l)
check "ARP who-has ($n), is-at ($m), probes/gratuitous ($g)" [ "$n" -ge 20 ] && [ "$m" -ge 20 ] && [ "$g" -ge 12 ]

# --- discovery chatter ------------------------------------------------------------------
n=$(ts -Y 'mdns && dns.ptr.domain_name contains "_ipp._tcp" && dns.txt contains "ty="' | wc -l)
check "printer's mDNS _ipp._tcp advertisement with TXT model ($n)" [ "$n" -ge 1 ]
n=$(ts -Y 'mdns && dns.ptr.domain_name contains "_printer._tcp"' | wc -l)
check "mDNS _printer._tcp ($n)" [ "$n" -ge 1 ]
n=$(ts -Y 'ssdp && http.request.method == "NOTIFY" && http.server' | wc -l)
m=$(ts -Y 'ssdp && http.request.method == "M-SEARCH"' | wc -l)
check "SSDP NOTIFY with server strings ($n) and M-SEARCH ($m)" [ "$n" -ge 5 ] && [ "$m" -ge 5 ]
n=$(ts -Y 'nbns.flags.opcode == 5' -T fields -e ip.src | sort -u | wc -l)
check "NetBIOS name registrations from the Windows PCs ($n hosts)" [ "$n" -ge 6 ]
n=$(ts -Y 'llmnr' -T fields -e ip.src | sort -u | wc -l)
check "LLMNR queries ($n hosts)" [ "$n" -ge 6 ]

# --- DNS, HTTP, TLS ----------------------------------------------------------------------
n=$(ts -Y 'dns.flags.response == 1 && dns.cname' | wc -l)
m=$(ts -Y 'dns.flags.response == 1 && dns.aaaa' | wc -l)
check "DNS answers with CNAME ($n) and AAAA ($m)" [ "$n" -ge 10 ] && [ "$m" -ge 10 ]
n=$(ts -Y 'http.request.method == "GET" && http.host && http.user_agent' | wc -l)
m=$(ts -Y 'http.response.code == 200' | wc -l)
check "HTTP GETs with Host/User-Agent ($n) and 200 responses ($m)" [ "$n" -ge 20 ] && [ "$m" -ge 20 ]
ts -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.extensions_server_name -e tls.handshake.extensions_alpn_str >"$TMP/sni"
n=$(awk -F'\t' '$1 != "" && $2 != ""' "$TMP/sni" | wc -l)
m=$(cut -f1 "$TMP/sni" | sort -u | wc -l)
check "TLS ClientHellos with SNI and ALPN ($n, $m names)" [ "$n" -ge 50 ] && [ "$m" -ge 8 ]
n=$(ts -Y 'tls.handshake.type == 2 && tls.handshake.extensions.supported_version == 0x0304' | wc -l)
check "TLS 1.3 ServerHellos ($n)" [ "$n" -ge 50 ]

# --- case: C&C burst (14 connections in 17 s) on two days, same MAC, two IPs ------------------
ts -Y "ip.dst == $CNC_IP && tcp.flags.syn == 1 && tcp.flags.ack == 0" \
   -T fields -e eth.src -e ip.src -e frame.time_epoch >"$TMP/cnc"
# per MAC and JST day: max number of SYNs inside any 17 s window
awk '{d = int(($3 + 9 * 3600) / 86400); k = $1 " " d; n[k]++; t[k, n[k]] = $3}
     END {for (k in n) {best = 0; j = 1
            for (i = 1; i <= n[k]; i++) {while (t[k, i] - t[k, j] > 17) j++; if (i - j + 1 > best) best = i - j + 1}
            if (best >= 14) {split(k, a, " "); print a[1], a[2]}}}' "$TMP/cnc" | sort >"$TMP/cnc_days"
n=$(awk '{print $1}' "$TMP/cnc_days" | uniq -c | awk '$1 >= 2' | wc -l)
check "14 SYNs within 17 s to C&C $CNC_IP on two different days from the same MAC" [ "$n" -ge 1 ]
n=$(awk '{print $1, $2}' "$TMP/cnc" | sort -u | wc -l)
check "the C&C PC used two different IP addresses ($n)" [ "$n" -ge 2 ]
n=$(ts -Y "ip.src == $CNC_IP && tcp.flags.fin == 1" | wc -l)
check "C&C connections complete (server FINs: $n)" [ "$n" -ge 28 ]

# --- case: five internal port scanners ---------------------------------------------------
n=$(ts -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == 192.168.1.0/24 && ip.dst == 192.168.1.0/24' \
       -T fields -e ip.src -e tcp.dstport | sort -u | awk '{c[$1]++} END {for (i in c) if (c[i] >= 100) n++; print n+0}')
check "5 internal scanners each sending SYNs to >= 100 distinct ports ($n)" [ "$n" -ge 5 ]
n=$(ts -Y 'tcp.flags.reset == 1 && ip.src == 192.168.1.0/24 && ip.dst == 192.168.1.0/24' | wc -l)
check "scans answered by RSTs ($n)" [ "$n" -ge 300 ]

# --- case: inbound probes from the Internet ---------------------------------------------
EXT='!(ip.src == 192.168.0.0/16 || ip.src == 10.0.0.0/8 || ip.src == 172.16.0.0/12) && ip.dst == 192.168.1.0/24'
for p in 23 22 80; do
    n=$(ts -Y "$EXT && tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == $p" -T fields -e ip.src | sort -u | wc -l)
    check "inbound SYNs to port $p from external sources ($n)" [ "$n" -ge 2 ]
done
n=$(ts -Y "$EXT && icmp.type == 8" -T fields -e ip.src | sort -u | wc -l)
check "inbound ICMP echo requests from external sources ($n)" [ "$n" -ge 2 ]

# --- case: mail with PAYMENT SLIP.zip -----------------------------------------------
n=$(ts -Y 'smtp.req.command' -T fields -e smtp.req.command | sort -u | tr '\n' ' ')
check "SMTP session EHLO/MAIL/RCPT/DATA/QUIT ($n)" bash -c "for c in EHLO MAIL RCPT DATA QUIT; do echo '$n' | grep -qw \$c || exit 1; done"
n=$(ts -Y 'imf' -T fields -e mime_multipart.header.content-disposition | grep -c 'PAYMENT SLIP.zip')
check "SMTP DATA with attachment \"PAYMENT SLIP.zip\" ($n)" [ "$n" -ge 1 ]
mkdir -p "$TMP/imf"
ts --export-objects "imf,$TMP/imf" >/dev/null
if "$PY" - "$TMP/imf" <<'EOF'
import email, email.header, glob, io, os, sys, zipfile
files = glob.glob(os.path.join(sys.argv[1], "*"))
assert len(files) == 1, files
m = email.message_from_bytes(open(files[0], "rb").read())
subj = str(email.header.make_header(email.header.decode_header(m["Subject"])))
assert "お支払い" in subj, subj
assert m.get_content_type() == "multipart/mixed"
att = [p for p in m.walk() if p.get_filename() == "PAYMENT SLIP.zip"]
z = zipfile.ZipFile(io.BytesIO(att[0].get_payload(decode=True)))
assert z.testzip() is None
data = z.read("PAYMENT SLIP.exe")
assert data[:2] == b"MZ" and b"This is an otasuke demo file, not a program." in data
EOF
then ok "attachment decodes: Japanese subject, a valid zip holding the harmless PAYMENT SLIP.exe"
else bad "attachment decodes: Japanese subject, a valid zip holding the harmless PAYMENT SLIP.exe"; fi

# --- case: piracy site ------------------------------------------------------------------
n=$(ts -Y "dns.flags.response == 0 && dns.qry.name == \"$PIRACY\"" | wc -l)
check "piracy domain $PIRACY queried in DNS ($n)" [ "$n" -ge 1 ]
n=$(grep -c "^$PIRACY	" "$TMP/sni")
m=$(ts -Y "http.host == \"$PIRACY\"" | wc -l)
check "piracy site visited over TLS (SNI: $n) and HTTP (Host: $m)" [ "$n" -ge 1 ] && [ "$m" -ge 1 ]

# --- the indicators really are in the corpus lists named in docs/demo.md --------------------
INTEL="$CORPUS/intel"
if [ -d "$INTEL" ]; then
    check "C&C $CNC_IP listed in maltrail trickbot.txt" grep -q "^$CNC_IP:447" "$INTEL/maltrail/malware/trickbot.txt"
    check "$PIRACY listed in UT1 warez/domains" grep -qx "$PIRACY" "$INTEL/categories/ut1/warez/domains"
else
    echo "skip - corpus intel lists not found at $INTEL (indicator cross-check not run)"
fi

echo "demo_pcap: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
