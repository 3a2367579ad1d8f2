#!/usr/bin/python3
"""conv_agree: do the sensor's TCP/UDP flows agree with tshark's conversation tables?

For every Ethernet capture (pcap or pcapng, linktype 1 in every interface) under
$CORPUS/pcap, compare

  * tshark's view:  tshark -n -r FILE -z conv,tcp -z conv,udp   (the peer tool), and
  * our view:       otasuke-sensor -r FILE -o OUT.json --set <long timeouts>

per conversation = (protocol, unordered pair of endpoints addr:port). Several rows or
flows with the same endpoints (TCP port reuse, a flow split by a timeout, the same
5-tuple on several VLANs) are summed before comparing; VLAN is ignored because
tshark 4.0's conversation table ignores it. For each conversation the packets and
bytes of both directions are compared, each direction keyed by its real source
endpoint (so a conversation is direction-agnostic: who is "A" does not matter).

How tshark's numbers are obtained (tshark 4.0):
  The text conversation table prints frames exactly but bytes rounded once they
  reach 10,000 ("4845 bytes", "178 kB", "12 MB": SI prefixes, truncated). So tshark
  runs once per capture with BOTH the conversation taps and per-packet fields
  (frame.len, frame.protocols, tcp.stream/udp.stream, ports, ip/ipv6 addresses; a
  TCP/UDP header's addresses are those of the IP layer just before it). Per-stream
  sums of frame.len give exact bytes; each table row is then paired with the stream
  that has the same endpoints, the same frames per direction and bytes consistent
  with the printed value. Rows printed in plain "bytes" are exact as they stand.
  Rows left without a partner keep the rounded value and are compared with the
  rounding as tolerance (counted separately as "rounded"). The endpoints, the frame
  counts and which packets count are therefore always tshark's table itself.
  On the developers' corpus (tshark 4.0.17): 1,283 Ethernet captures, 12,991 table
  rows (TCP 8,837, UDP 4,154), every one paired with exact bytes, 12,897 conversations
  by endpoint pair.

Documented differences, classified automatically (see DOCUMENTED below):
  ip-fragments      an endpoint pair whose IP packets were fragmented: tshark reassembles
                    and counts a datagram once, on its last fragment's frame length.
  icmp-error        the endpoints appear inside an ICMP/ICMPv6 error's quoted header
                    (tshark 4.0 does not count quoted TCP/UDP headers in its tables).
  tunnel            the endpoints are inside a tunnel (two or more IP layers: GRE,
                    IP-in-IP, VXLAN, Geneve, Teredo, ERSPAN ...), which tshark dissects
                    and counts as conversations of their own.
  Marks are kept per IP address pair, so a mark also covers other conversations
  between the same two addresses (e.g. the outer tunnel when its ends reuse an inner
  pair). They explain a difference, never hide it: it is still counted.
  direction-swapped packets/bytes agree only when one side's directions are swapped.
  address-differs   (not excused) a conversation only in tshark and one only in ours
                    carry the same ports and counts: the same traffic under other
                    addresses (IPv6 Home Address option / type-0 routing header, which
                    tshark shows as the endpoint; IPv4-mapped IPv6 ...).
  sensor-error      the sensor failed on this capture (counted, never excused).
Everything else is "unexplained".

Output: a summary on stdout ("conv_agree: N passed, M failed" + percentages), the full
report in $OTASUKE_BUILD/reports/conv_agree.txt (+ .json). Exit 1 when the exact
conversation agreement is below THRESHOLD, 77 when the corpus or sensor is absent.
tshark's derived tables are cached under $OTASUKE_BUILD/cache/tshark-conv/<sha1>.txt
(the conversation tables verbatim, then one "#json" line), keyed by the capture's
SHA-1 and invalidated by a new tshark version or cache format. tshark costs about
0.6 CPU-s per capture (mostly start-up): about 7 minutes for the corpus on 2 idle
cores the first time, seconds afterwards. Quick runs: --limit N, --sample N,
--files GLOB...; --tshark-only prints tshark's totals without running the sensor.
"""
import argparse
import collections
import concurrent.futures
import fnmatch
import hashlib
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

# ---- knobs -------------------------------------------------------------------------
# Percentage of tshark conversations that must match exactly (packets and bytes, both
# directions). Calibrated on the first whole-corpus run (98.45%, 2026-11-23): kept
# just under the measured figure so that a regression fails the test.
THRESHOLD = 98.0
# The PR tier measures a fixed sample of PR_SAMPLE captures (see main()) against its own
# threshold: that sample gives 95.84% (2352/2454), 95 of its 102 misses being IP fragments
# tshark reassembles (a documented difference) in one capture, so it sits lower than the
# whole corpus; being fixed, a fall below PR_THRESHOLD is a regression all the same.
PR_SAMPLE = 300
PR_THRESHOLD = 95.0
POOL = 2                 # processes (the CI machine has 2 cores)
SENSOR_TIMEOUT = 300     # seconds per capture
TSHARK_TIMEOUT = 300
# Settings that make one conversation one flow (no timeout splits). Setting names
# live here only; adjust them if the sensor's configuration names change.
SENSOR_SETTINGS = [
    "flow.timeout.tcp_new=1d",
    "flow.timeout.tcp_established=1d",
    "flow.timeout.tcp_closed=1d",
    "flow.timeout.udp_new=1d",
    "flow.timeout.udp_established=1d",
]
SENSOR_NAME = "otasuke-sensor"
CACHE_VERSION = "conv_agree-tshark-cache v4"
FOLDERS = ("ndpi", "suricata-verify", "zeek")    # everything else is "other"
DOCUMENTED = ("ip-fragments", "icmp-error", "tunnel")
# ------------------------------------------------------------------------------------

TSHARK_FIELDS = [
    "frame.len", "_ws.col.Source", "_ws.col.Destination",
    "tcp.stream", "tcp.srcport", "tcp.dstport",
    "udp.stream", "udp.srcport", "udp.dstport",
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "ip.flags.mf", "ip.frag_offset", "ipv6.fraghdr.offset", "ipv6.fraghdr.more",
    "icmp.type", "icmpv6.type", "frame.protocols",
]
ICMP4_ERRORS = {"3", "4", "5", "11", "12"}
ICMP6_ERRORS = {"1", "2", "3", "4"}
UNITS = {"bytes": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
ROW_RE = re.compile(
    r"^(\S+)\s+<->\s+(\S+)\s+"
    r"([\d,]+)\s+([\d,]+)\s+(bytes|kB|MB|GB|TB)\s+"     # <-  : B -> A
    r"([\d,]+)\s+([\d,]+)\s+(bytes|kB|MB|GB|TB)\s+"     # ->  : A -> B
    r"([\d,]+)\s+([\d,]+)\s+(bytes|kB|MB|GB|TB)\s+"     # total
    r"(\S+)\s+(\S+)\s*$")


# ---- capture selection --------------------------------------------------------------
def linktypes(path):
    """Linktypes of a pcap/pcapng file, or None when libpcap could not read it."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
            if len(head) < 24:
                return None
            m = head[:4]
            if m in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
                return {struct.unpack("<I", head[20:24])[0] & 0x0FFFFFFF}
            if m in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
                return {struct.unpack(">I", head[20:24])[0] & 0x0FFFFFFF}
            if m != b"\x0a\x0d\x0d\x0a":
                return None
            bom = head[8:12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else None
            if e is None:
                return None
            found, off = set(), 0
            f.seek(0, 2)
            size = f.tell()
            while off + 12 <= size:
                f.seek(off)
                b = f.read(12)
                btype, blen = struct.unpack(e + "II", b[:8])
                if btype == 0x0A0D0D0A:     # each section may change byte order
                    bom = b[8:12]
                    e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                    blen = struct.unpack(e + "I", b[4:8])[0]
                elif btype == 1:
                    found.add(struct.unpack(e + "H", b[8:10])[0])
                if blen < 12 or blen % 4:
                    break
                off += blen
            return found or None
    except OSError:
        return None


def find_captures(corpus):
    root = os.path.join(corpus, "pcap")
    eth, other = [], []
    for d, _, files in os.walk(root):
        for n in files:
            if n.endswith((".pcap", ".pcapng", ".cap")):
                p = os.path.join(d, n)
                lt = linktypes(p)
                if lt == {1}:
                    eth.append(os.path.relpath(p, root))
                else:
                    other.append((os.path.relpath(p, root),
                                  "unreadable" if lt is None else "+".join(map(str, sorted(lt)))))
    return sorted(eth), sorted(other)


def folder_of(rel):
    top = rel.split("/", 1)[0]
    return top if top in FOLDERS else "other"


# ---- endpoints ----------------------------------------------------------------------
def canon_addr(a):
    a = a.strip()
    if a.startswith("[") and a.endswith("]"):
        a = a[1:-1]
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        return a


def addr_key(a):
    try:
        ip = ipaddress.ip_address(a)
        return (ip.version, ip.packed)
    except ValueError:
        return (9, a.encode())


def ep_key(ep):
    return (addr_key(ep[0]), ep[1])


def split_ep(text):
    addr, _, port = text.rpartition(":")
    return (canon_addr(addr), int(port))


def conv_key(proto, a, b):
    """(proto, lo, hi) with lo <= hi; returns (key, swapped)."""
    if ep_key(a) <= ep_key(b):
        return (proto, a, b), False
    return (proto, b, a), True


def fmt_ep(ep):
    return f"[{ep[0]}]:{ep[1]}" if ":" in ep[0] else f"{ep[0]}:{ep[1]}"


def fmt_key(k):
    return f"{k[0]} {fmt_ep(k[1])} <-> {fmt_ep(k[2])}"


def ip_pair(a, b):
    a, b = canon_addr(a), canon_addr(b)
    return "|".join(sorted((a, b)))


# ---- tshark side --------------------------------------------------------------------
_TSHARK_VERSION = None


def tshark_version():
    global _TSHARK_VERSION
    if _TSHARK_VERSION is None:
        try:
            out = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
            _TSHARK_VERSION = out.splitlines()[0].strip() if out else "unknown"
        except OSError:
            _TSHARK_VERSION = "missing"
    return _TSHARK_VERSION


def sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def last(v):
    return v.rsplit(",", 1)[-1] if v else ""


def bytes_consistent(exact, shown, unit):
    if unit == "bytes":
        return exact == shown
    k = UNITS[unit]
    return exact // k == shown or round(exact / k) == shown


def ip_layers(fprotos, ip4s, ip4d, ip6s, ip6d, icmpt, icmp6t):
    """Walk frame.protocols ("eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp"), outermost
    first. Returns (layers, transports): layers = [(address pair, quoted)], transports =
    [("TCP"|"UDP", src addr, dst addr, quoted)] where the addresses are those of the IP
    layer just before the transport header and quoted = inside an ICMP error."""
    v4 = list(zip(ip4s.split(","), ip4d.split(","))) if ip4s else []
    v6 = list(zip(ip6s.split(","), ip6d.split(","))) if ip6s else []
    t4, t6 = icmpt.split(",") if icmpt else [], icmp6t.split(",") if icmp6t else []
    layers, transports, quoted, cur = [], [], False, None
    for pr in fprotos.split(":"):
        if pr == "ip" and v4:
            cur = v4.pop(0)
            layers.append((ip_pair(*cur), quoted))
        elif pr == "ipv6" and v6:
            cur = v6.pop(0)
            layers.append((ip_pair(*cur), quoted))
        elif pr == "icmp" and t4:
            quoted = quoted or t4.pop(0) in ICMP4_ERRORS
        elif pr == "icmpv6" and t6:
            quoted = quoted or t6.pop(0) in ICMP6_ERRORS
        elif pr in ("tcp", "udp") and cur:
            transports.append((pr.upper(), cur[0], cur[1], quoted))
    return layers, transports


def zip_transports(transports, proto, streams, sports, dports):
    """Pair this protocol's transport headers with their stream ids and ports."""
    occ = [t for t in transports if t[0] == proto]
    st = streams.split(",") if streams else []
    sp = sports.split(",") if sports else []
    dp = dports.split(",") if dports else []
    if len(sp) != len(occ) or len(dp) != len(occ):
        return []
    rows = [(t, a, b) for t, a, b in zip(occ, sp, dp)]
    # Headers quoted in ICMP errors may get a stream id, but tshark's conversation taps
    # do not count them: align the ids, then leave the quoted headers out.
    if len(st) != len(rows):
        rows = [r for r in rows if not r[0][3]]
        if len(st) != len(rows):
            return []
    return [(t, s, a, b) for (t, a, b), s in zip(rows, st) if not t[3]]


def run_tshark(path):
    """Run tshark once; return (raw conversation tables text, derived dict)."""
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    cmd += ["-z", "conv,tcp", "-z", "conv,udp"]
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                       timeout=TSHARK_TIMEOUT)
    lines = p.stdout.splitlines()
    i = 0
    streams = {}                   # (proto, stream) -> agg
    frag, icmp_err, tunnel = set(), set(), set()
    while i < len(lines) and not lines[i].startswith("====="):
        c = lines[i].split("\t")
        i += 1
        if len(c) < len(TSHARK_FIELDS):
            c += [""] * (len(TSHARK_FIELDS) - len(c))
        (flen, csrc, cdst, tstr, tsp, tdp, ustr, usp, udp_, ip4s, ip4d, ip6s, ip6d,
         mf, foff, f6off, f6more, icmpt, icmp6t, fprotos) = c[:len(TSHARK_FIELDS)]
        layers, transports = ip_layers(fprotos, ip4s, ip4d, ip6s, ip6d, icmpt, icmp6t)
        for n, (pair, quoted) in enumerate(layers):
            if quoted:
                icmp_err.add(pair)          # inside an ICMP error's quoted header
            elif n >= 1:
                tunnel.add(pair)            # any IP layer under the outermost one
        if ("1" in mf.split(",") or "True" in mf.split(",") or
                any(x not in ("", "0") for x in foff.split(",")) or f6off or f6more):
            frag.update(pair for pair, _ in layers)
            if csrc and cdst:
                frag.add(ip_pair(csrc, cdst))
        try:
            ln = int(flen)
        except ValueError:
            continue
        for proto, st_, sp_, dp_ in (("TCP", tstr, tsp, tdp), ("UDP", ustr, usp, udp_)):
            for t, st, sp, dp in zip_transports(transports, proto, st_, sp_, dp_):
                try:
                    src = (canon_addr(t[1]), int(sp))
                    dst = (canon_addr(t[2]), int(dp))
                except ValueError:
                    continue
                k = (proto, st)
                s = streams.get(k)
                if s is None:
                    s = streams[k] = {"a": src, "b": dst, "f": [0, 0], "by": [0, 0]}
                d = 0 if src == s["a"] else 1
                s["f"][d] += 1
                s["by"][d] += ln
    raw = "\n".join(lines[i:]) + "\n"
    rows, proto = [], None
    for ln in lines[i:]:
        if ln.startswith("TCP Conversations"):
            proto = "TCP"
        elif ln.startswith("UDP Conversations"):
            proto = "UDP"
        m = ROW_RE.match(ln)
        if not m or proto is None:
            continue
        g = [x.replace(",", "") for x in m.groups()]
        rows.append({"proto": proto, "a": split_ep(g[0]), "b": split_ep(g[1]),
                     "f_ba": int(g[2]), "b_ba": int(g[3]), "u_ba": g[4],
                     "f_ab": int(g[5]), "b_ab": int(g[6]), "u_ab": g[7]})
    # Pair each row with a stream to get exact bytes.
    by_eps = collections.defaultdict(list)
    for (proto_, _), s in streams.items():
        by_eps[(proto_, frozenset((s["a"], s["b"])))].append(s)
    n_exact = 0
    out_rows = []
    for r in rows:
        exact = None
        for s in by_eps.get((r["proto"], frozenset((r["a"], r["b"]))), []):
            if s.get("used"):
                continue
            if s["a"] == r["a"]:
                fab, fba, bab, bba = s["f"][0], s["f"][1], s["by"][0], s["by"][1]
            else:
                fab, fba, bab, bba = s["f"][1], s["f"][0], s["by"][1], s["by"][0]
            if (fab, fba) == (r["f_ab"], r["f_ba"]) and \
                    bytes_consistent(bab, r["b_ab"], r["u_ab"]) and \
                    bytes_consistent(bba, r["b_ba"], r["u_ba"]):
                s["used"] = True
                exact = (bab, bba)
                break
        row = {"proto": r["proto"], "a": list(r["a"]), "b": list(r["b"]),
               "f_ab": r["f_ab"], "f_ba": r["f_ba"]}
        if exact:
            n_exact += 1
            row.update(b_ab=exact[0], b_ba=exact[1], exact=True)
        else:
            row.update(b_ab=r["b_ab"] * UNITS[r["u_ab"]], b_ba=r["b_ba"] * UNITS[r["u_ba"]],
                       u_ab=r["u_ab"], u_ba=r["u_ba"], shown_ab=r["b_ab"], shown_ba=r["b_ba"],
                       exact=False)
        out_rows.append(row)
    err = p.stderr.replace('Running as user "root" and group "root". This could be dangerous.', "")
    err = err.replace(path, os.path.basename(path))
    derived = {"rc": p.returncode, "stderr": " ".join(err.split())[-300:], "rows": out_rows,
               "rows_exact": n_exact, "frag": sorted(frag), "icmp_err": sorted(icmp_err),
               "tunnel": sorted(tunnel)}
    return raw, derived


def normalize(derived):
    """Rows printed in plain bytes are exact even without a stream partner."""
    for r in derived["rows"]:
        if not r["exact"] and r["u_ab"] == "bytes" and r["u_ba"] == "bytes":
            r["exact"] = True
    derived["rows_exact"] = sum(1 for r in derived["rows"] if r["exact"])
    return derived


def tshark_conv(path, cache_dir):
    key = sha1_file(path)
    cpath = os.path.join(cache_dir, key + ".txt") if cache_dir else None
    header = f"# {CACHE_VERSION}\n# {tshark_version()}\n"
    if cpath and os.path.exists(cpath):
        with open(cpath, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if text.startswith(header):
            for ln in reversed(text.splitlines()):
                if ln.startswith("#json "):
                    return normalize(json.loads(ln[6:])), True
    raw, derived = run_tshark(path)
    if cpath:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = cpath + f".tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(header + f"# file: {path}\n" + raw + "#json " +
                    json.dumps(derived, separators=(",", ":")) + "\n")
        os.replace(tmp, cpath)
    return normalize(derived), False


# ---- sensor side --------------------------------------------------------------------
def run_sensor(sensor, path):
    """Return (flows, error). flows: list of (proto, src_ep, dst_ep, pkts_ts, pkts_tc, b_ts, b_tc)."""
    with tempfile.TemporaryDirectory(prefix="conv_agree.") as td:
        out = os.path.join(td, "eve.json")
        cmd = [sensor, "-r", path, "-o", out]
        for s in SENSOR_SETTINGS:
            cmd += ["--set", s]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                               timeout=SENSOR_TIMEOUT)
        except subprocess.TimeoutExpired:
            return [], f"timeout after {SENSOR_TIMEOUT}s"
        # A failed run still counts what it wrote (e.g. a capture with a corrupt tail).
        err = f"rc={p.returncode}: {' '.join(p.stderr.split())[-200:]}" if p.returncode else None
        flows, bad = [], 0
        try:
            f = open(out, encoding="utf-8", errors="replace")
        except OSError as e:
            return [], err or f"no output file: {e}"
        with f:
            for ln in f:
                try:
                    ev = json.loads(ln)
                except ValueError:
                    bad += 1
                    continue
                if ev.get("event_type") != "flow":
                    continue
                proto = {"TCP": "TCP", "UDP": "UDP", "6": "TCP", "17": "UDP"}.get(
                    str(ev.get("proto")))
                if proto is None:
                    continue
                fl = ev.get("flow", {})
                try:
                    flows.append((proto,
                                  (canon_addr(str(ev["src_ip"])), int(ev["src_port"])),
                                  (canon_addr(str(ev["dest_ip"])), int(ev["dest_port"])),
                                  int(fl.get("pkts_toserver", 0)), int(fl.get("pkts_toclient", 0)),
                                  int(fl.get("bytes_toserver", 0)), int(fl.get("bytes_toclient", 0))))
                except (KeyError, ValueError, TypeError):
                    bad += 1
        if bad:
            err = (err + "; " if err else "") + f"{bad} unparsable lines or flow events"
        return flows, err


# ---- comparison ---------------------------------------------------------------------
def tshark_convs(rows):
    """conv key -> [pkts lo->hi, pkts hi->lo, bytes lo->hi, bytes hi->lo, all rows exact,
    number of rows, [(inexact row, swapped)]], lo/hi = the endpoints in canonical order."""
    convs = {}
    for r in rows:
        k, sw = conv_key(r["proto"], tuple(r["a"]), tuple(r["b"]))
        c = convs.setdefault(k, [0, 0, 0, 0, True, 0, []])
        fab, fba, bab, bba = r["f_ab"], r["f_ba"], r["b_ab"], r["b_ba"]
        if sw:
            fab, fba, bab, bba = fba, fab, bba, bab
        c[0] += fab
        c[1] += fba
        c[2] += bab
        c[3] += bba
        c[5] += 1
        if not r["exact"]:
            c[4] = False
            c[6].append((r, sw))
    return convs


def our_convs(flows):
    """conv key -> [pkts lo->hi, pkts hi->lo, bytes lo->hi, bytes hi->lo, number of flows]"""
    convs = {}
    for proto, src, dst, pts, ptc, bts, btc in flows:
        k, sw = conv_key(proto, src, dst)
        c = convs.setdefault(k, [0, 0, 0, 0, 0])
        if sw:
            pts, ptc, bts, btc = ptc, pts, btc, bts
        c[0] += pts
        c[1] += ptc
        c[2] += bts
        c[3] += btc
        c[4] += 1
    return convs


def classify(k, t, o, marks):
    """Reason for a difference: a documented case, direction-swapped or unexplained."""
    pair = ip_pair(k[1][0], k[2][0])
    for name in DOCUMENTED:
        if pair in marks[name]:
            return name
    if t is not None and o is not None and \
            (t[0], t[1], t[2], t[3]) == (o[1], o[0], o[3], o[2]):
        return "direction-swapped"
    return "unexplained"


def compare(derived, flows, sensor_err):
    tc = tshark_convs(derived["rows"])
    oc = our_convs(flows)
    marks = {"ip-fragments": set(derived["frag"]), "icmp-error": set(derived["icmp_err"]),
             "tunnel": set(derived["tunnel"])}
    res = {"exact": 0, "rounded": 0, "differ": 0, "only_tshark": 0, "only_ours": 0,
           "reasons": collections.Counter(), "examples": []}
    for k in sorted(set(tc) | set(oc), key=lambda k: (k[0], ep_key(k[1]), ep_key(k[2]))):
        t, o = tc.get(k), oc.get(k)
        if t is not None and o is not None:
            if t[4] and t[:4] == o[:4]:
                res["exact"] += 1
                continue
            if not t[4] and t[0] == o[0] and t[1] == o[1] and within_rounding(k, t, o):
                res["rounded"] += 1
                continue
            kind = "differ"
        elif t is not None:
            kind = "only_tshark"
        else:
            kind = "only_ours"
        res[kind] += 1
        reason = "sensor-error" if sensor_err else classify(k, t, o, marks)
        res["reasons"][f"{kind}:{reason}"] += 1
        if len(res["examples"]) < 200:
            res["examples"].append({
                "kind": kind, "reason": reason, "conv": fmt_key(k),
                "tshark": None if t is None else
                {"pkts": [t[0], t[1]], "bytes": [t[2], t[3]], "rows": t[5],
                 "exact_bytes": t[4]},
                "ours": None if o is None else
                {"pkts": [o[0], o[1]], "bytes": [o[2], o[3]], "flows": o[4]}})
    pair_moved_addresses(res)
    res["tshark_convs"] = len(tc)
    res["our_convs"] = len(oc)
    res["reasons"] = dict(res["reasons"])
    return res


def pair_moved_addresses(res):
    """An unexplained conversation only in tshark and one only in ours with the same
    protocol, ports and counts are the same traffic under other addresses (e.g. tshark
    showing an IPv6 Home Address option's or type-0 routing header's address, or
    IPv4-mapped IPv6): relabel both "address-differs" (still a difference)."""
    def sig(e, side):
        eps = re.findall(r":(\d+)(?: |$)", e["conv"])
        v = e[side]
        return (e["conv"].split(" ", 1)[0], tuple(sorted(eps)),
                tuple(sorted(zip(v["pkts"], v["bytes"]))))
    left = {}
    for e in res["examples"]:
        if e["kind"] == "only_tshark" and e["reason"] == "unexplained":
            left.setdefault(sig(e, "tshark"), []).append(e)
    for e in res["examples"]:
        if e["kind"] == "only_ours" and e["reason"] == "unexplained":
            cand = left.get(sig(e, "ours"))
            if cand:
                t = cand.pop()
                for x in (t, e):
                    res["reasons"][f"{x['kind']}:unexplained"] -= 1
                    res["reasons"][f"{x['kind']}:address-differs"] += 1
                    x["reason"] = "address-differs"
    res["reasons"] = +res["reasons"]      # drop zero counts


def within_rounding(k, t, o):
    """tshark bytes only known rounded for some rows: accept when our bytes per
    direction lie within [sum of row minimums, sum of row maximums]."""
    lo = [t[2], t[3]]
    hi = [t[2], t[3]]
    for r, sw in t[6]:
        for d, (u, shown) in enumerate(((r["u_ab"], r["shown_ab"]), (r["u_ba"], r["shown_ba"]))):
            if u == "bytes":
                continue
            dd = d ^ 1 if sw else d
            # b_* holds shown * unit; tshark truncates (or rounds): allow both.
            lo[dd] -= UNITS[u] // 2
            hi[dd] += UNITS[u] - 1
    return lo[0] <= o[2] <= hi[0] and lo[1] <= o[3] <= hi[1]


# ---- per capture --------------------------------------------------------------------
def work(args):
    rel, root, cache_dir, sensor = args
    path = os.path.join(root, rel)
    t0 = time.monotonic()
    try:
        derived, cached = tshark_conv(path, cache_dir)
    except (subprocess.TimeoutExpired, OSError) as e:
        return {"file": rel, "tshark_error": str(e)}
    r = {"file": rel, "folder": folder_of(rel), "cached": cached,
         "tshark_rc": derived["rc"], "tshark_stderr": derived["stderr"],
         "rows": len(derived["rows"]), "rows_exact": derived["rows_exact"],
         "tcp_rows": sum(1 for x in derived["rows"] if x["proto"] == "TCP"),
         "udp_rows": sum(1 for x in derived["rows"] if x["proto"] == "UDP"),
         "convs": len(tshark_convs(derived["rows"])),
         "marks": {"frag": len(derived["frag"]), "icmp_err": len(derived["icmp_err"]),
                   "tunnel": len(derived["tunnel"])}}
    if sensor:
        flows, err = run_sensor(sensor, path)
        if err and err.startswith("rc=") and "unparsable" not in err and derived["rc"] != 0:
            # A damaged capture (corrupt or cut-short tail) that tshark also reports:
            # an error exit is then the expected behaviour; the flows are compared.
            r["damaged"] = err
            err = None
        r["sensor_error"] = err
        r["cmp"] = compare(derived, flows, err)
    r["seconds"] = round(time.monotonic() - t0, 3)
    return r


def pct(a, b):
    return 100.0 * a / b if b else 100.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=None, help="corpus root (default $OTASUKE_CORPUS "
                    "or $OTASUKE_SRC/../shared/corpus)")
    ap.add_argument("--sensor", default=None, help="sensor program (default $OTASUKE_BIN/otasuke-sensor)")
    ap.add_argument("--tshark-only", action="store_true", help="only tshark's side: print totals")
    ap.add_argument("--limit", type=int, default=0, help="only the first N captures")
    ap.add_argument("--sample", type=int, default=0, help="a deterministic sample of N captures")
    ap.add_argument("--files", nargs="*", default=None,
                    help="captures (paths relative to corpus/pcap, or globs)")
    ap.add_argument("--jobs", type=int, default=POOL)
    ap.add_argument("--report", default=None, help="report path (default $OTASUKE_BUILD/reports/conv_agree.txt)")
    ap.add_argument("--no-cache", action="store_true")
    a = ap.parse_args()

    src = os.environ.get("OTASUKE_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    corpus = a.corpus or os.environ.get("OTASUKE_CORPUS") or os.path.join(src, "..", "shared", "corpus")
    root = os.path.join(corpus, "pcap")
    if not os.path.isdir(root):
        print(f"conv_agree: SKIP: corpus not found at {root} (set OTASUKE_CORPUS)")
        return 77
    if tshark_version() == "missing":
        print("conv_agree: SKIP: tshark not installed")
        return 77
    build = os.environ.get("OTASUKE_BUILD")
    base = build or tempfile.mkdtemp(prefix="conv_agree.")
    # tshark's view of a capture depends only on the file and tshark's version (both
    # in the key), so one cache serves every build directory (release and asan runs).
    cache_dir = None if a.no_cache else os.environ.get(
        "OTASUKE_TSHARK_CACHE", os.path.join(src, "build-cache", "tshark-conv"))
    report = a.report or os.path.join(base, "reports", "conv_agree.txt")

    sensor = None
    if not a.tshark_only:
        sensor = a.sensor or os.path.join(os.environ.get("OTASUKE_BIN", os.path.join(src, "build", "bin")),
                                          SENSOR_NAME)
        if not os.access(sensor, os.X_OK):
            print(f"conv_agree: SKIP: sensor not built ({sensor})")
            return 77
        try:
            probe = subprocess.run([sensor], capture_output=True, text=True, errors="replace",
                                   stdin=subprocess.DEVNULL, timeout=10).stderr
        except subprocess.TimeoutExpired:
            probe = ""
        if "not yet built" in probe:
            print(f"conv_agree: SKIP: {sensor} is still the placeholder")
            return 77

    eth, non_eth = find_captures(corpus)
    sel = eth
    if a.files:
        sel = [r for r in eth if any(fnmatch.fnmatch(r, g) or r == g or
                                     os.path.abspath(os.path.join(root, r)) == os.path.abspath(g)
                                     for g in a.files)]
    # The PR tier (make test, CI) measures a fixed deterministic sample: tshark over every
    # capture costs ~15 CPU-minutes on a fresh clone. OTASUKE_TIER=deep runs them all.
    if not (a.sample or a.files or a.limit) and os.environ.get("OTASUKE_TIER", "pr") != "deep":
        global THRESHOLD
        a.sample, THRESHOLD = PR_SAMPLE, PR_THRESHOLD
        print(f"conv_agree: PR tier: a deterministic sample of {PR_SAMPLE} of {len(sel)} "
              "captures (OTASUKE_TIER=deep for all)", flush=True)
    if a.sample:
        sel = sorted(sel, key=lambda r: hashlib.sha1(r.encode()).hexdigest())[:a.sample]
        sel.sort()
    if a.limit:
        sel = sel[:a.limit]
    t0 = time.monotonic()
    results = []
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for r in ex.map(work, [(rel, root, cache_dir, sensor) for rel in sel], chunksize=4):
            results.append(r)
            if len(results) % 100 == 0:
                print(f"conv_agree: {len(results)}/{len(sel)} captures, "
                      f"{time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - t0
    return summarize(results, a, non_eth, len(eth), elapsed, report)


def summarize(results, a, non_eth, n_eth, elapsed, report):
    lines = []
    out = lines.append
    terr = [r for r in results if "tshark_error" in r]
    ok = [r for r in results if "tshark_error" not in r]
    folders = collections.OrderedDict((f, []) for f in FOLDERS + ("other",))
    for r in ok:
        folders[r["folder"]].append(r)
    out(f"conv_agree report ({time.strftime('%Y-%m-%d %H:%M:%S')}, {tshark_version()})")
    out(f"captures: {len(results)} selected of {n_eth} Ethernet ({len(non_eth)} non-Ethernet or "
        f"not libpcap-readable skipped); tshark failures: {len(terr)}; {elapsed:.1f}s; "
        f"{sum(1 for r in ok if r['cached'])} from cache")
    out("skipped linktypes: " + ", ".join(f"{k} x{v}" for k, v in collections.Counter(
        lt for _, lt in non_eth).most_common()))
    rows = sum(r["rows"] for r in ok)
    rex = sum(r["rows_exact"] for r in ok)
    convs = sum(r["convs"] for r in ok)
    out(f"tshark: {rows} conversation rows (TCP {sum(r['tcp_rows'] for r in ok)}, "
        f"UDP {sum(r['udp_rows'] for r in ok)}), {rex} with exact bytes "
        f"({pct(rex, rows):.2f}%), {convs} conversations by endpoint pair")
    out("tshark: captures with fragments %d, ICMP errors quoting headers %d, tunnels %d" % (
        sum(1 for r in ok if r["marks"]["frag"]), sum(1 for r in ok if r["marks"]["icmp_err"]),
        sum(1 for r in ok if r["marks"]["tunnel"])))
    for f, rs in folders.items():
        out(f"  {f:16s} captures {len(rs):5d}  rows {sum(r['rows'] for r in rs):6d}  "
            f"convs {sum(r['convs'] for r in rs):6d}")
    warn = [r for r in ok if r["tshark_rc"] != 0]
    if warn:
        out(f"tshark exited non-zero (output still used) on {len(warn)} captures, e.g. "
            + ", ".join(f"{r['file']} ({r['tshark_stderr'][-100:]})" for r in warn[:5]))
    for r in terr:
        out(f"tshark error: {r['file']}: {r['tshark_error']}")

    if a.tshark_only:
        text = "\n".join(lines) + "\n"
        print(text, end="")
        write_report(report, text, results)
        return 1 if terr else 0

    tot = collections.Counter()
    reasons = collections.Counter()
    passed, failed, all_exact = [], [], 0
    for r in ok:
        c = r["cmp"]
        for k in ("exact", "rounded", "differ", "only_tshark", "only_ours", "tshark_convs", "our_convs"):
            tot[k] += c[k]
        reasons.update(c["reasons"])
        unexplained = sum(v for k, v in c["reasons"].items() if k.split(":")[1] not in DOCUMENTED)
        r["unexplained"] = unexplained
        r["bad"] = c["differ"] + c["only_tshark"] + c["only_ours"]
        if r["sensor_error"] is None and unexplained == 0:
            passed.append(r)
        else:
            failed.append(r)
        if r["bad"] == 0 and r["sensor_error"] is None:
            all_exact += 1
    failed += terr
    good = tot["exact"] + tot["rounded"]
    documented = sum(v for k, v in reasons.items()
                     if k.split(":")[1] in DOCUMENTED and not k.startswith("only_ours"))
    agree = pct(good, tot["tshark_convs"])
    out("")
    out(f"conversations: tshark {tot['tshark_convs']}, ours {tot['our_convs']}; matched exactly "
        f"{tot['exact']} (+{tot['rounded']} within tshark's byte rounding), different counts "
        f"{tot['differ']}, only in tshark {tot['only_tshark']}, only in ours {tot['only_ours']}")
    out(f"agreement: {agree:.2f}% exact ({good}/{tot['tshark_convs']}); "
        f"{pct(good + documented, tot['tshark_convs']):.2f}% counting documented differences; "
        f"threshold {THRESHOLD}%")
    out("differences by kind:reason: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    out(f"captures: {len(passed)} in agreement (no unexplained difference), {all_exact} all exact, "
        f"{len(failed)} failed; sensor errors on {sum(1 for r in ok if r['sensor_error'])}; "
        f"damaged captures both tools reported {sum(1 for r in ok if r.get('damaged'))}")
    out("")
    out("per folder:  captures pass/total   conversations exact/tshark   %")
    for f, rs in folders.items():
        ex = sum(r["cmp"]["exact"] + r["cmp"]["rounded"] for r in rs)
        tc = sum(r["cmp"]["tshark_convs"] for r in rs)
        np_ = sum(1 for r in rs if r in passed)
        out(f"  {f:16s} {np_:5d}/{len(rs):<5d}   {ex:7d}/{tc:<7d}   {pct(ex, tc):6.2f}%")
    out("")
    worst = sorted(failed, key=lambda r: (-r.get("unexplained", 1), -r.get("bad", 0), r["file"]))[:25]
    out("worst captures:")
    for r in worst:
        if "tshark_error" in r:
            out(f"  {r['file']}: tshark error {r['tshark_error']}")
            continue
        c = r["cmp"]
        out(f"  {r['file']}: unexplained {r['unexplained']}, differ {c['differ']}, only tshark "
            f"{c['only_tshark']}, only ours {c['only_ours']} of {c['tshark_convs']}"
            + (f"; sensor error: {r['sensor_error']}" if r["sensor_error"] else ""))
        for e in sorted(c["examples"], key=lambda e: e["reason"] in DOCUMENTED)[:3]:
            out(f"      {e['kind']:11s} {e['reason']:17s} {e['conv']}  tshark={e['tshark']}  ours={e['ours']}")
    out("")
    out("all captures (file: exact/tshark convs, differ, only tshark, only ours, sensor error):")
    for r in sorted(ok, key=lambda r: r["file"]):
        c = r["cmp"]
        out(f"  {r['file']}: {c['exact'] + c['rounded']}/{c['tshark_convs']} d={c['differ']} "
            f"t={c['only_tshark']} o={c['only_ours']}" + (f" ERR {r['sensor_error']}" if r["sensor_error"] else ""))
    text = "\n".join(lines) + "\n"
    write_report(report, text, results)
    # Summary on stdout: everything up to the per-capture list.
    print(text.split("\nall captures")[0])
    print(f"conv_agree: {len(passed)} passed, {len(failed)} failed")
    print(f"conv_agree: conversation agreement {agree:.2f}% (threshold {THRESHOLD}%), report {report}")
    return 0 if agree >= THRESHOLD and not terr else 1


def write_report(report, text, results):
    os.makedirs(os.path.dirname(os.path.abspath(report)), exist_ok=True)
    with open(report, "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.splitext(report)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, default=str)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
