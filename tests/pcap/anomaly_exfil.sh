#!/usr/bin/env bash
# Traffic anomaly (sensor/detect/anomaly.c, 2000801) on a generated capture: two office
# PCs upload 30-45 kB three times a minute to their usual servers for 75 minutes; at
# minutes 70-71 one of them (192.168.1.23) uploads 80 MB to one server
# (exfiltration-like, 4 x 10 MB a minute); the other (192.168.1.40) made the same kind
# of burst at minute 20, inside its learning period (1 h). Expected: exactly one
# anomaly alert, for .23, counting 2 minutes, naming the server, and nothing for .40;
# with detect.anomaly.enabled=no, none; with a floor above the burst, none.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
"$PY" -c 'import scapy.all' 2>/dev/null || skip_all "python3-scapy not installed for $PY"
P="$T_TMP/exfil.pcap"
"$PY" - "$P" <<'PYEOF'
import sys, struct
from scapy.all import Ether, IP, TCP, Raw
# Packets built with scapy; the uploads' data segments are captured with a 96-byte
# snap length (orig_len 1514), as a sensor with a short snaplen sees them: 80 MB of
# upload in an 11 MB file.
out = sys.argv[1]
T0 = 1790000000 - 1790000000 % 60
SNAP = 96
recs = []
def rec(t, raw, wirelen):
    recs.append((int(round(t * 1e6)), len(recs), raw[:SNAP], wirelen))
MAC = {"192.168.1.23": "8c:16:45:00:00:23", "192.168.1.40": "8c:16:45:00:00:40"}
sport_n = [40000]
def session(t, src, dst, nbytes, dur):
    """One TCP upload of nbytes from src to dst:443 over dur seconds, FIN-closed."""
    sport_n[0] += 1
    sp = sport_n[0]
    e1 = Ether(src=MAC[src], dst="00:00:5e:00:01:01")
    e2 = Ether(src="00:00:5e:00:01:01", dst=MAC[src])
    cs, ss = 1000, 5000
    def c(fl, seq, ack, pay=b""):
        return e1 / IP(src=src, dst=dst) / TCP(sport=sp, dport=443, flags=fl, seq=seq, ack=ack) / Raw(pay)
    def s(fl, seq, ack):
        return e2 / IP(src=dst, dst=src) / TCP(sport=443, dport=sp, flags=fl, seq=seq, ack=ack)
    p = c("S", cs, 0); rec(t, bytes(p), len(p))
    p = s("SA", ss, cs + 1); rec(t + 0.01, bytes(p), len(p))
    p = c("A", cs + 1, ss + 1); rec(t + 0.02, bytes(p), len(p))
    npk = max(1, nbytes // 1448)
    tmpl = bytearray(bytes(c("PA", cs + 1, ss + 1, b"\0" * 1448)))
    ack = bytes(s("A", ss + 1, cs + 1))
    seq = cs + 1
    for i in range(npk):
        struct.pack_into("!I", tmpl, 14 + 20 + 4, seq & 0xffffffff)
        rec(t + 0.03 + dur * i / npk, bytes(tmpl), len(tmpl))
        seq += 1448
        if i % 16 == 15:
            rec(t + 0.031 + dur * i / npk, ack, len(ack))
    p = c("FA", seq, ss + 1); rec(t + dur + 0.05, bytes(p), len(p))
    p = s("FA", ss + 1, seq + 1); rec(t + dur + 0.06, bytes(p), len(p))
    p = c("A", seq + 1, ss + 2); rec(t + dur + 0.07, bytes(p), len(p))
import random
r = random.Random(7)
events = []
for m in range(75):
    for k in range(3):   # the steady hour (and more): 3 uploads of 30-45 kB a minute each, at irregular times
        events.append((T0 + m * 60 + k * 17 + r.uniform(0, 6), "192.168.1.23", "203.0.113.80", 30000 + 5000 * ((m + k) % 4), 2))
        events.append((T0 + m * 60 + k * 17 + 8 + r.uniform(0, 6), "192.168.1.40", "203.0.113.81", 30000 + 5000 * ((m + k) % 3), 2))
for m in (70, 71):       # the exfiltration: 4 uploads of 10 MB a minute to one server
    for k in range(4):
        events.append((T0 + m * 60 + k * 14 + r.uniform(0, 3), "192.168.1.23", "198.51.100.66", 10 * 1000 * 1000, 10))
# a burst during the learning period of the other device: no alert
for k in range(4):
    events.append((T0 + 20 * 60 + k * 14 + 3, "192.168.1.40", "198.51.100.67", 10 * 1000 * 1000, 10))
for ev in sorted(events):
    session(*ev)
recs.sort()
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, SNAP, 1))
    for us, _, cap, wl in recs:
        f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(cap), wl) + cap)
PYEOF
[ -s "$P" ] || { bad "capture generated"; finish; exit 1; }
run() { "$SENSOR" -q -r "$P" -o "$2" --set log.level=error --set inventory.enabled=no "${@:3}"; }
E="$T_TMP/e.json"
run "$P" "$E"
check "every line is one JSON object" all_json "$E"
A='[e for e in E if e["event_type"]=="alert" and e["alert"]["category"]=="anomaly"]'
check "exactly one anomaly alert" [ "$(ev_query "$E" "len($A)")" -eq 1 ]
check "for 192.168.1.23 with its MAC, bytes out, outbound, severity 3" \
    [ "$(ev_query "$E" "[(e['device']['ip'], e['device']['mac'], e['alert']['signature_id'], e['alert']['direction'], e['alert']['severity']) for e in $A]")" = \
      "[('192.168.1.23', '8c:16:45:00:00:23', 2000801, 'outbound', 3)]" ]
check "one episode of 2 minutes, to 198.51.100.66:443, starting at minute 70" \
    [ "$(ev_query "$E" "[(e['alert']['count'], e['alert']['evidence']['minutes'], e['alert']['evidence']['top_dest'], e['dest_ip'], e['alert']['first_seen'][11:19]) for e in $A]")" = \
      "[(2, 2, '198.51.100.66:443', '198.51.100.66', '15:23:00')]" ]
check "peak above the 32 MiB floor and over 100x the usual level (about 120 kB)" \
    [ "$(ev_query "$E" "[(e['alert']['evidence']['peak_per_minute'] > 33554432, e['alert']['evidence']['factor'] > 100, 80000 < e['alert']['evidence']['usual_per_minute'] < 200000) for e in $A]")" = \
      "[(True, True, True)]" ]
check "Japanese and English texts" \
    [ "$(ev_query "$E" "[(e['alert']['signature_ja'], e['alert']['action']['en'][:15]) for e in $A]")" = \
      "[('端末から外部への送信量が普段より大幅に多い', 'Unusual traffic')]" ]
check "stats: nothing evicted" \
    [ "$(ev_query "$E" "[e['stats']['detect']['anomaly_evicted'] for e in E if e['event_type']=='stats' and e['stats']['final']]")" = "[0]" ]
E2="$T_TMP/off.json"
run "$P" "$E2" --set detect.anomaly.enabled=no
check "detect.anomaly.enabled=no: none" [ "$(ev_query "$E2" "len($A)")" -eq 0 ]
E3="$T_TMP/floor.json"
run "$P" "$E3" --set detect.anomaly.bytes_floor=64MiB
check "a floor above the burst (64 MiB a minute): none" [ "$(ev_query "$E3" "len($A)")" -eq 0 ]
E4="$T_TMP/learn.json"
run "$P" "$E4" --set detect.anomaly.learn=10m
check "learning 10 min: the burst of .40 at minute 20 is judged too" \
    [ "$(ev_query "$E4" "sorted(e['device']['ip'] for e in $A)")" = "['192.168.1.23', '192.168.1.40']" ]
finish
