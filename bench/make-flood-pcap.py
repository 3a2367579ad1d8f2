#!/usr/bin/python3
"""make-flood-pcap: a synthetic capture of N unique 5-tuples, one packet each.

Used by bench/run.sh to measure the sensor's memory per flow: run the sensor with a
flow memcap large enough to hold all N flows and long timeouts, once over this file
and once over the same file made with -n 0 (headers only); then

    memory per flow = (peak RSS(flood) - peak RSS(empty)) / N

and the stats event's flow memory in use / N gives the table's own accounting.
(RELIABILITY.md L2 uses the same generator with -n 10000000 and a small memcap.)

Every packet is Ethernet + IPv4 + either a TCP SYN (--proto tcp, the default) or a
UDP datagram with 8 bytes of payload (--proto udp); --proto mix alternates. Addresses
and ports are a deterministic function of the packet index i:

    src 10.a.b.c          c = i % 250 + 1, b = (i // 250) % 250, a = (i // 62500) % 250
    src port 1024 + (i // 15625000) % 64000      (only moves past 15.6 M flows)
    dst 198.18.x.y:80 (TCP) or :9 (UDP, discard), x.y cycling over 16 servers

so that all N tuples are distinct for N up to 1 billion, checksums are valid, and
packets are 1 microsecond apart (1 M flows fit in one second: no timeout fires).
The output is byte-identical for the same arguments.

    make-flood-pcap.py -o bench/data/flood-1M.pcap -n 1000000 [--proto tcp|udp|mix]
"""
import argparse
import struct
import sys

BASE_TS = 1_700_000_000          # seconds; 2023-11-14T22:13:20Z
SRC_MAC = bytes.fromhex("020000000001")
DST_MAC = bytes.fromhex("020000000002")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def tuple_of(i):
    a, b, c = (i // 62500) % 250, (i // 250) % 250, i % 250 + 1
    src = bytes((10, a, b, c))
    sport = 1024 + (i // 15625000) % 64000
    srv = i % 16
    dst = bytes((198, 18, srv, 1))
    return src, sport, dst


def packet(i, proto):
    src, sport, dst = tuple_of(i)
    if proto == "tcp":
        # SYN, data offset 5, window 64240, seq from the index.
        l4 = struct.pack("!HHIIBBHHH", sport, 80, (i * 2654435761) & 0xFFFFFFFF, 0,
                         5 << 4, 0x02, 64240, 0, 0)
        pnum = 6
    else:
        payload = struct.pack("!Q", i)
        l4 = struct.pack("!HHHH", sport, 9, 8 + len(payload), 0) + payload
        pnum = 17
    pseudo = src + dst + struct.pack("!BBH", 0, pnum, len(l4))
    c = csum(pseudo + l4)
    if pnum == 17 and c == 0:
        c = 0xFFFF
    off = 16 if pnum == 6 else 6
    l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    total = 20 + len(l4)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, i & 0xFFFF, 0x4000, 64, pnum, 0, src, dst)
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    frame = DST_MAC + SRC_MAC + b"\x08\x00" + iph + l4
    if len(frame) < 60:
        frame += b"\0" * (60 - len(frame))     # Ethernet minimum (without FCS)
    return frame


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("-n", "--flows", type=int, default=1_000_000)
    ap.add_argument("--proto", choices=("tcp", "udp", "mix"), default="tcp")
    a = ap.parse_args()
    if a.flows < 0 or a.flows > 1_000_000_000:
        sys.exit("make-flood-pcap: -n must be within 0..1e9")
    rec = struct.Struct("<IIII")
    with open(a.output, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        buf = []
        for i in range(a.flows):
            proto = a.proto if a.proto != "mix" else ("tcp", "udp")[i & 1]
            fr = packet(i, proto)
            buf.append(rec.pack(BASE_TS + i // 1_000_000, i % 1_000_000, len(fr), len(fr)))
            buf.append(fr)
            if len(buf) >= 20000:
                f.write(b"".join(buf))
                buf.clear()
        f.write(b"".join(buf))
    print(f"make-flood-pcap: wrote {a.output}: {a.flows} flows ({a.proto})", file=sys.stderr)


if __name__ == "__main__":
    main()
