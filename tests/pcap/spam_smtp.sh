#!/usr/bin/env bash
# Spam detections (issue 4, sensor/detect/spam.c) on a generated capture: complete SMTP
# sessions (handshake, EHLO, MAIL, RCPT, DATA with a MIME message, QUIT) written by scapy
# to a pcap, read by the sensor through the real TCP reassembly and SMTP parser:
#   - envelope sender domain differs from the From header domain     -> 2000701
#   - From display name holding another domain's address            -> 2000702
#   - inbound mail with "invoice.pdf.exe" attached (base64 MIME)    -> 2000704 (+ the
#     file check's 2000402 double extension)
#   - 12 messages of 10 recipients from one outside source with
#     detect.spam.bulk_recipients=100                               -> one 2000703
#   - a source listed by a spam intel list                          -> 1000006
#   - a clean inbound message and an internal mail relay            -> nothing
# Then the corpus SMTP captures (nDPI emotet, smtp-starttls) must raise no spam alert
# about benign mail but the sensor must read them without error.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
"$PY" -c 'import scapy' 2>/dev/null || skip_all "python3-scapy missing"
P="$T_TMP/spam.pcap"
"$PY" - "$P" <<'PY' || { echo "FAIL - capture generation"; exit 1; }
import base64, sys
from scapy.all import Ether, IP, TCP, wrpcap
pkts, t = [], [1790000000.0]
def tick(dt=0.01):
    t[0] += dt
    return t[0]
def session(cli, srv, sport, lines):
    """One SMTP session: lines is a list of (client_bytes, server_reply)."""
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    er = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
    c, s = 1000, 5000
    def add(p):
        p.time = tick(); pkts.append(p)
    add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=25, flags="S", seq=c))
    add(er / IP(src=srv, dst=cli) / TCP(sport=25, dport=sport, flags="SA", seq=s, ack=c + 1))
    c += 1; s += 1
    add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=25, flags="A", seq=c, ack=s))
    def srv_say(b):
        nonlocal s
        add(er / IP(src=srv, dst=cli) / TCP(sport=25, dport=sport, flags="PA", seq=s, ack=c) / b)
        s += len(b)
    def cli_say(b):
        nonlocal c
        for i in range(0, len(b), 1200):
            part = b[i:i + 1200]
            add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=25, flags="PA", seq=c, ack=s) / part)
            c += len(part)
    srv_say(b"220 mx.corp.example ESMTP\r\n")
    for cb, sb in lines:
        cli_say(cb)
        srv_say(sb)
    add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=25, flags="FA", seq=c, ack=s))
    add(er / IP(src=srv, dst=cli) / TCP(sport=25, dport=sport, flags="FA", seq=s, ack=c + 1))
    add(e / IP(src=cli, dst=srv) / TCP(sport=sport, dport=25, flags="A", seq=c + 1, ack=s + 1))
def mail(cli, sport, env_from, hdr_from, rcpts, att=None, srv="192.168.1.25"):
    body = ("From: %s\r\nTo: staff@corp.example\r\nSubject: hello\r\n"
            "Message-ID: <%d@x>\r\nMIME-Version: 1.0\r\n" % (hdr_from, sport))
    if att:
        b64 = base64.encodebytes(b"MZ" + b"\0" * 300).decode().replace("\n", "\r\n")
        body += ('Content-Type: multipart/mixed; boundary="BB"\r\n\r\n--BB\r\n'
                 "Content-Type: text/plain\r\n\r\nsee attached\r\n--BB\r\n"
                 'Content-Type: application/octet-stream; name="%s"\r\n'
                 'Content-Disposition: attachment; filename="%s"\r\n'
                 "Content-Transfer-Encoding: base64\r\n\r\n%s--BB--\r\n" % (att, att, b64))
    else:
        body += "Content-Type: text/plain\r\n\r\nhello\r\n"
    lines = [(b"EHLO client.example\r\n", b"250 mx.corp.example\r\n"),
             (("MAIL FROM:%s\r\n" % env_from).encode(), b"250 OK\r\n")]
    lines += [(("RCPT TO:<%s>\r\n" % r).encode(), b"250 OK\r\n") for r in rcpts]
    lines += [(b"DATA\r\n", b"354 go ahead\r\n"),
              (body.encode() + b".\r\n", b"250 queued\r\n"),
              (b"QUIT\r\n", b"221 bye\r\n")]
    session(cli, srv, sport, lines)
one = ["staff@corp.example"]
mail("203.0.113.20", 41000, "<news@mail.shop.example>", "Shop <news@shop.example>", one)
mail("203.0.113.21", 41001, "<x@bulk-sender.example>", "Bank <support@bank.example>", one)
mail("203.0.113.22", 41002, "<ceo@evil.example>", '"ceo@corp.example" <ceo@evil.example>', one)
mail("203.0.113.23", 41003, "<a@b.example>", "A <a@b.example>", one, att="invoice.pdf.exe")
mail("203.0.113.66", 41004, "<a@listed.example>", "A <a@listed.example>", one)
mail("192.168.1.30", 41005, "<app@corp.example>", "App <noreply@other.example>", one)
for i in range(12):
    mail("198.51.100.99", 42000 + i, "<promo@deals.example>", "Deals <promo@deals.example>",
         ["u%d@corp.example" % (i * 10 + k) for k in range(10)])
wrpcap(sys.argv[1], pkts)
PY
echo "203.0.113.66" >"$T_TMP/spam.txt"
cat >"$T_TMP/intel.yaml" <<Y
intel:
  - {name: test-spam-sources, path: spam.txt, format: plain, type: ip, category: spam, severity: 3}
Y
E="$T_TMP/e.json"
"$SENSOR" -q -r "$P" -o "$E" --set log.level=error --set inventory.enabled=no \
    --set detect.intel_file="$T_TMP/intel.yaml" --set detect.spam.bulk_recipients=100 \
    --set app.smtp.decode_attachments=yes
check "sensor read the capture, every line JSON" all_json "$E"
check "18 smtp events (one per message)" [ "$(ev_query "$E" 'len([e for e in E if e["event_type"]=="smtp"])')" -eq 18 ]
A='[e for e in E if e["event_type"]=="alert"]'
q() { ev_query "$E" "$1"; }
check "sender mismatch: one, from 203.0.113.21, domains in the evidence" \
    [ "$(q "[(e['src_ip'], e['alert']['evidence']['envelope_domain'], e['alert']['evidence']['header_domain']) for e in $A if e['alert']['signature_id']==2000701]")" = "[('203.0.113.21', 'bulk-sender.example', 'bank.example')]" ]
check "display name impersonation: one, from 203.0.113.22" \
    [ "$(q "[(e['src_ip'], e['alert']['evidence']['display_domain']) for e in $A if e['alert']['signature_id']==2000702]")" = "[('203.0.113.22', 'corp.example')]" ]
check "dangerous attachment: one, invoice.pdf.exe from 203.0.113.23, inbound" \
    [ "$(q "[(e['src_ip'], e['alert']['evidence']['attachment'], e['alert']['direction']) for e in $A if e['alert']['signature_id']==2000704]")" = "[('203.0.113.23', 'invoice.pdf.exe', 'inbound')]" ]
check "bulk: one alert for 198.51.100.99 at 100 recipients" \
    [ "$(q "[(e['src_ip'], e['alert']['evidence']['recipients']) for e in $A if e['alert']['signature_id']==2000703]")" = "[('198.51.100.99', 100)]" ]
check "listed spam source: intel alert 1000006 for 203.0.113.66" \
    [ "$(q "sorted(set(e['src_ip'] for e in $A if e['alert']['signature_id']==1000006))")" = "['203.0.113.66']" ]
check "spam alerts carry Japanese and English texts and first steps" \
    [ "$(q "all(e['alert']['category']=='spam' and e['alert'].get('signature_ja') and e['alert'].get('action') for e in $A if 2000701<=e['alert']['signature_id']<=2000704)")" = True ]
check "clean mail and the internal relay raise no spam alert" \
    [ "$(q "[e['src_ip'] for e in $A if e['alert']['category']=='spam' and e['src_ip'] in ('203.0.113.20','192.168.1.30')]")" = "[]" ]

# Corpus SMTP captures: read without error; benign starttls mail raises no spam alert.
if [ -d "$OTASUKE_CORPUS/pcap/ndpi" ]; then
    for f in smtp-starttls.pcap emotet.pcap; do
        [ -r "$OTASUKE_CORPUS/pcap/ndpi/$f" ] || continue
        "$SENSOR" -q -r "$OTASUKE_CORPUS/pcap/ndpi/$f" -o "$T_TMP/c.json" --set log.level=error \
            --set inventory.enabled=no
        check "corpus $f: read, JSON" all_json "$T_TMP/c.json"
        n=$(ev_query "$T_TMP/c.json" 'len([e for e in E if e["event_type"]=="alert" and e["alert"]["category"]=="spam"])')
        echo "     $f: spam alerts $n"
        [ "$f" = smtp-starttls.pcap ] && check "corpus $f: no spam alert" [ "$n" -eq 0 ]
    done
else
    echo "note: corpus not found: the corpus SMTP part is skipped"
fi
finish
