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
# Written byte by byte (scapy takes minutes for 100,000 packets on a loaded machine).
import struct, sys, random
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(5)
words = ["shop", "news", "mail", "cloud", "photo", "travel", "bank", "game", "music", "city"]
def csum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
def frame(src, dst, sport, dport, dns):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(dns), 0) + dns
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + udp
def dns(qid, name, resp, rcode):
    flags = 0x8180 | rcode if resp else 0x0100
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00\x00\x01\x00\x01"
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + q
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    t = 1700000000.0
    for i in range(n):
        dev = "10.1.0.%d" % (10 + i % 200)
        if i % 2:
            name = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(14)) + ".com"
            rc = 3
        else:
            name = "www.%s%s%d.co.jp" % (rnd.choice(words), rnd.choice(words), i)
            rc = 0
        sp = 1024 + i % 60000
        for k, fr in enumerate((frame(dev, "10.1.0.1", sp, 53, dns(i % 65536, name, False, 0)),
                                frame("10.1.0.1", dev, 53, sp, dns(i % 65536, name, True, rc)))):
            ts = t + k * 0.001
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(fr), len(fr)) + fr)
        t += 0.01
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
