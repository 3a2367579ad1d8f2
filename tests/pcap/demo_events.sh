#!/usr/bin/env bash
# The demo capture through the sensor, read as an analyst would: the cases of
# docs/demo.md appear as flows with the right endpoints and applications, and the
# DHCP events name every device (hostname, MAC, fingerprint), the private iPhone
# with its randomized MAC among them. Detections come in a later issue; this checks
# that what they will need is in the events.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
E="$T_TMP/demo.json"
"$SENSOR" -q -r "$PCAP" -o "$E" 2>/dev/null
q() { ev_query "$E" "$1"; }
check "no malformed packets in the demo" [ "$(q 'E[-1]["stats"]["decoder"]["invalid"]')" -eq 0 ]
check "C&C: 28 TCP flows to 85.204.116.144:447" [ "$(q 'sum(1 for e in E if e["event_type"]=="flow" and e["dest_ip"]=="85.204.116.144" and e.get("dest_port")==447)')" -eq 28 ]
check "C&C: from the two addresses KEIRI-PC02 had (.104 Tue, .112 Thu)" [ "$(q 'sorted(set(e["src_ip"] for e in E if e["event_type"]=="flow" and e["dest_ip"]=="85.204.116.144"))')" = "['192.168.1.104', '192.168.1.112']" ]
check "C&C: 14 connections within 17 s on each day" [ "$(q 'sorted(set((lambda t: (max(t)-min(t)).total_seconds() <= 17 and len(t)==14)([__import__("datetime").datetime.fromisoformat(x["flow"]["start"]) for x in E if x["event_type"]=="flow" and x["dest_ip"]=="85.204.116.144" and x["src_ip"]==ip]) for ip in ("192.168.1.104","192.168.1.112")))')" = "[True]" ]
check "port scan: 5 internal devices each reach >= 100 ports of one host" [ "$(q 'sum(1 for s in set(e["src_ip"] for e in E if e["event_type"]=="flow") if max([len(set(e.get("dest_port") for e in E if e["event_type"]=="flow" and e["src_ip"]==s and e["dest_ip"]==d)) for d in set(e["dest_ip"] for e in E if e["event_type"]=="flow" and e["src_ip"]==s)] or [0]) >= 100)')" -eq 5 ]
check "inbound probes on TCP 23, 22 and 80 reach the NAS" [ "$(q 'sorted(set(e["dest_port"] for e in E if e["event_type"]=="flow" and e["dest_ip"]=="192.168.1.10" and not e["src_ip"].startswith("192.168.") and e.get("dest_port") in (22,23,80)))')" = "[22, 23, 80]" ]
check "the mail to srv01:25 is an SMTP flow" [ "$(q 'sum(1 for e in E if e["event_type"]=="flow" and e["dest_ip"]=="192.168.1.11" and e.get("dest_port")==25 and e.get("app_proto")=="smtp")')" -ge 1 ]
check "TLS browsing identified by nDPI" [ "$(q 'sum(1 for e in E if e["event_type"]=="flow" and e.get("app_proto")=="tls")')" -ge 100 ]
check "DHCP: every device's hostname seen" [ "$(q 'len(set(e["dhcp"].get("hostname") for e in E if e["event_type"]=="dhcp" and e["dhcp"].get("hostname")))')" -ge 14 ]
check "DHCP: the iPhone with its randomized MAC" [ "$(q 'sorted(set(e["dhcp"]["client_mac"] for e in E if e["event_type"]=="dhcp" and e["dhcp"].get("hostname")=="iPhone"))')" = "['5a:e3:1c:9b:40:d7']" ]
check "DHCP: Windows PCs send vendor class MSFT 5.0" [ "$(q 'len(set(e["dhcp"]["hostname"] for e in E if e["event_type"]=="dhcp" and e["dhcp"].get("vendor_class_identifier")=="MSFT 5.0"))')" -eq 8 ]
check "DHCP: KEIRI-PC02 was NAKed for .104 and acknowledged .112" [ "$(q 'sorted(set((e["dhcp"]["dhcp_type"], e["dhcp"]["assigned_ip"]) for e in E if e["event_type"]=="dhcp" and e["dhcp"]["client_mac"]=="8c:16:45:77:51:a6" and e["dhcp"]["dhcp_type"] in ("nak","ack")))')" = "[('ack', '192.168.1.104'), ('ack', '192.168.1.112'), ('nak', '0.0.0.0')]" ]
check "DNS: the piracy site's name was asked and answered" [ "$(q 'sorted(set(e["dns"]["type"] for e in E if e["event_type"]=="dns" and any(x["rrname"]=="ww13.manga-zip.info" for x in e["dns"].get("queries",[]))))')" = "['request', 'response']" ]
check "DNS: every query got its response (same id, the next tx_id)" [ "$(q 'sorted(set((e["flow_id"],e["dns"]["id"],e["dns"]["tx_id"] + 1) for e in E if e["event_type"]=="dns" and e["dns"]["type"]=="request")) == sorted(set((e["flow_id"],e["dns"]["id"],e["dns"]["tx_id"]) for e in E if e["event_type"]=="dns" and e["dns"]["type"]=="response"))')" = True ]
check "DNS: no parser anomaly on the demo" [ "$(q 'len(E[-1]["stats"]["app_layer"]["dns"]["anomaly"])')" -eq 0 ]
check "DHCP counters agree with the events" [ "$(q 'E[-1]["stats"]["app_layer"]["dhcp"]["events"]')" -eq "$(q 'sum(e["event_type"]=="dhcp" for e in E)')" ]

# HTTP: the Windows connectivity probe from every Windows PC, and the piracy site's
# redirect to HTTPS from SEIZOU-PC03 (.107).
check "HTTP: NCSI probes (Microsoft NCSI) from the 8 Windows PCs (KEIRI-PC02 at .104 and .112)" [ "$(q 'sorted(set(e["src_ip"] for e in E if e["event_type"]=="http" and e["http"].get("http_user_agent")=="Microsoft NCSI" and e["http"].get("url")=="/connecttest.txt"))')" = "$(printf "['192.168.1.101', '192.168.1.102', '192.168.1.103', '192.168.1.104', '192.168.1.105', '192.168.1.106', '192.168.1.107', '192.168.1.108', '192.168.1.112']")" ]
check "HTTP: the piracy site answered 301 to https, for 192.168.1.107" [ "$(q '[(e["src_ip"], e["http"]["status"], e["http"].get("redirect")) for e in E if e["event_type"]=="http" and e["http"].get("hostname")=="ww13.manga-zip.info"]')" = "[('192.168.1.107', 301, 'https://ww13.manga-zip.info/')]" ]
check "HTTP: no parser anomaly on the demo" [ "$(q 'len(E[-1]["stats"]["app_layer"]["http"]["anomaly"])')" -eq 0 ]

# SMTP: the phishing mail to srv01, its ISO-2022-JP subject decoded, and the attachment
# as a file whose sha256 equals the one Python's email package computes from the
# message tshark exports (an independent reading of the same bytes).
check "SMTP: the mail to keiri@ with its Japanese subject decoded" [ "$(q '[(e["email"]["subject"], e["smtp"]["rcpt_to"]) for e in E if e["event_type"]=="smtp"]')" = "[('【至急】お支払い明細書の送付（10月分）', ['<keiri@yamato-seiki.example.jp>'])]" ]
mkdir -p "$T_TMP/imf"
if command -v tshark >/dev/null && tshark -r "$PCAP" -q --export-objects "imf,$T_TMP/imf" >/dev/null 2>&1; then
    want=$("$PY" -c '
import email, glob, hashlib, sys
m = email.message_from_binary_file(open(glob.glob(sys.argv[1] + "/*.eml")[0], "rb"))
print(sorted((p.get_filename(), hashlib.sha256(p.get_payload(decode=True)).hexdigest()) for p in m.walk() if p.get_filename()))' "$T_TMP/imf")
    check "SMTP: the attachment as a file, hashed as Python hashes it ($want)" [ "$(q 'sorted((e["fileinfo"]["filename"], e["fileinfo"].get("sha256")) for e in E if e["event_type"]=="fileinfo" and e.get("app_proto")=="smtp")')" = "$want" ]
    check "SMTP: the attachment's type from its bytes is a zip" [ "$(q '[e["fileinfo"].get("mimetype") for e in E if e["event_type"]=="fileinfo" and e.get("app_proto")=="smtp"]')" = "['application/zip']" ]
else
    echo "SKIP the attachment checks: tshark cannot export IMF objects here"
fi

# TLS: the SNI of every HTTPS site of docs/demo.md, and a JA3 and JA4 on every event.
check "TLS: the SNIs of the demo's HTTPS sites, the piracy site among them" [ "$(q 'sorted(set(e["tls"].get("sni") for e in E if e["event_type"]=="tls"))')" = "['bank.example.jp', 'cad-vendor.example.com', 'e-tax.example.go.jp', 'kaikei.example.jp', 'mail.example.ne.jp', 'news.example.jp', 'shop.example.com', 'sns.example', 'tenki.example.jp', 'update.nas-vendor.example', 'ww13.manga-zip.info', 'www.example.co.jp']" ]
check "TLS: every tls event has a JA3 and a JA4" [ "$(q 'all(e["tls"].get("ja3",{}).get("hash") and e["tls"].get("ja4") for e in E if e["event_type"]=="tls")')" = True ]

# LAN discovery: what the inventory of issue 5 will name the devices by.
check "mDNS: the NAS's model DS220+ and the printer's model" [ "$(q 'sorted(set((e["src_ip"], s.get("model")) for e in E if e["event_type"]=="mdns" for s in e["mdns"].get("services",[]) if s.get("model") in ("DS220+", "Brother MFC-L2750DW series")))')" = "[('192.168.1.10', 'DS220+'), ('192.168.1.20', 'Brother MFC-L2750DW series')]" ]
check "SSDP: the router's, the NAS's and the camera's server strings" [ "$(q 'sorted(set((e["src_ip"], e["ssdp"]["server"]) for e in E if e["event_type"]=="ssdp" and e["ssdp"].get("server")))')" = "[('192.168.1.1', 'RTX830 UPnP/1.0 YAMAHA/1.0'), ('192.168.1.10', 'Synology/DSM/192.168.1.10'), ('192.168.1.30', 'Linux/4.14 UPnP/1.0 Panasonic-UPnP-MW/1.0')]" ]
check "NBNS: every Windows PC registers NAME<00> and NAME<20>" [ "$(q 'sorted(n for n in ("SOUMU-PC01","SOUMU-PC02","KEIRI-PC01","KEIRI-PC02","EIGYO-PC01","EIGYO-PC02","SEIZOU-PC03","SEKKEI-PC01") if {(n,"<00>"),(n,"<20>")} <= set((e["nbns"].get("name"), e["nbns"].get("suffix")) for e in E if e["event_type"]=="nbns"))')" = "['EIGYO-PC01', 'EIGYO-PC02', 'KEIRI-PC01', 'KEIRI-PC02', 'SEIZOU-PC03', 'SEKKEI-PC01', 'SOUMU-PC01', 'SOUMU-PC02']" ]
check "ARP: probes (sender 0.0.0.0) and gratuitous announcements after DHCP" [ "$(q '(sum(1 for e in E if e["event_type"]=="arp" and e["arp"].get("probe") and e["arp"]["src_ip"]=="0.0.0.0") > 0, sum(1 for e in E if e["event_type"]=="arp" and e["arp"].get("gratuitous")) > 0)')" = "(True, True)" ]
check "no application-layer anomaly on the demo" [ "$(q 'sum(len(v.get("anomaly", {})) for v in E[-1]["stats"]["app_layer"].values() if isinstance(v, dict))')" -eq 0 ]
finish
