#!/usr/bin/env bash
# CPU cost of the DGA-like name detector (sensor/detect/dga.c) on the worst case: a
# generated capture of N DNS exchanges (default 50,000) from 200 devices, every name
# distinct and judged (half random-looking .com labels answered NXDOMAIN, half ordinary
# names), read by two sensors in the same run: A (e.g. main's build) and B (this tree),
# each 3 times alternately, user+sys CPU seconds from GNU time. B is also run with
# detect.dga.enabled=no. Usage: bench/dga_dns.sh SENSOR_A SENSOR_B [N]
set -euo pipefail
A=$1 B=$2 N=${3:-50000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/python3 - "$W/dns.pcap" "$N" <<'PY'
import sys, random
from scapy.all import Ether, IP, UDP, DNS, DNSQR, PcapWriter
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(5)
w = PcapWriter(out, sync=False)
t = 1700000000.0
words = ["shop", "news", "mail", "cloud", "photo", "travel", "bank", "game", "music", "city"]
for i in range(n):
    dev = "10.1.%d.%d" % (i % 200 // 250, 10 + i % 200)
    if i % 2:
        name = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(14)) + ".com"
        rc = 3
    else:
        name = "www.%s%s%d.co.jp" % (rnd.choice(words), rnd.choice(words), i)
        rc = 0
    q = Ether() / IP(src=dev, dst="10.1.0.1") / UDP(sport=1024 + i % 60000, dport=53) / \
        DNS(id=i % 65536, rd=1, qd=DNSQR(qname=name))
    r = Ether() / IP(src="10.1.0.1", dst=dev) / UDP(sport=53, dport=1024 + i % 60000) / \
        DNS(id=i % 65536, qr=1, rd=1, ra=1, rcode=rc, qd=DNSQR(qname=name))
    q.time, r.time = t, t + 0.001
    t += 0.01
    w.write(q); w.write(r)
w.close()
PY
cpu() { /usr/bin/time -f "%U %S" -o "$W/t" "$@" >/dev/null 2>&1; awk '{printf "%.2f", $1 + $2}' "$W/t"; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   capture: $N exchanges, $(stat -c %s "$W/dns.pcap") bytes"
for run in 1 2 3; do
    a=$(cpu "$A" -q -r "$W/dns.pcap" -o /dev/null --set log.level=error)
    b=$(cpu "$B" -q -r "$W/dns.pcap" -o /dev/null --set log.level=error)
    c=$(cpu "$B" -q -r "$W/dns.pcap" -o /dev/null --set log.level=error --set detect.dga.enabled=no)
    echo "run $run: A ${a}s  B ${b}s  B-without-dga ${c}s"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
