#!/usr/bin/python3
"""Flow-by-flow agreement of otasuke's nDPI verdicts with ndpiReader (same nDPI).

For every capture in $CORPUS/pcap/ndpi/ this runs `ndpiReader -i FILE -v 2 -q` (the
reference: Debian libndpi-bin, the same nDPI 4.2 we link) and
`otasuke-sensor -r FILE -o OUT.json`, aligns flows on the unordered 5-tuple (plus the
innermost VLAN id, as ndpiReader keys them) and compares the verdict name
("TLS.Google", "DNS", "Unknown") and the category ("Web"). ndpiReader is the truth:
any difference is a bug in how we feed nDPI, or in how our flows are cut.

Verdicts per ndpiReader flow:
  agree     same name and category
  disagree  matched, different name or category
  missing   no flow of ours with that key (decoder / flow table difference)
Our flows that ndpiReader does not have are reported as "extra" and not scored.
When we have several flows with one key (our flow table timed one out and started
again), the earliest (flow.start) is compared: it saw the packets ndpiReader fed.

Output: a summary line "ndpi_agree: N passed, M failed" (passed = captures with
every flow in agreement), the flow-weighted agreement, the top disagreements, and a
full report under $OTASUKE_BUILD/ndpi_agree/ (or a temp dir). Exit 1 when the
flow-weighted agreement is below --threshold, 77 when the corpus, ndpiReader or a
working sensor is absent.

--self-check parses ndpiReader's output for all captures and reports flow counts
and any flow-looking line the parser could not read (needs no sensor).
Python 3 standard library only.
"""

import argparse
import collections
import concurrent.futures
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
CAPTURE_EXT = (".pcap", ".pcapng", ".cap")

# ndpiReader 4.2 printFlow(): "\t<n>\t<PROTO> <src>:<port> <->|-> <dst>:<port> [...]..."
# IPv6 addresses are bracketed. ipProto2Name() gives TCP, UDP, ICMP, ICMPV6, VRRP,
# IGMP or the number.
FLOW_RE = re.compile(
    r"^\t(\d+)\t(\S+) (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+) (<->|->) "
    r"(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+) (\[.*)$")
LOOKS_LIKE_FLOW_RE = re.compile(r"^\t\d+\t\S+ .*\[proto: ")
PROTO_RE = re.compile(r"\[proto: ([0-9.]+)/([^\]]+)\]")
CAT_RE = re.compile(r"\[cat: ([^\]/]+)/(\d+)\]")
VLAN_RE = re.compile(r"\[VLAN: (\d+)\]")

IPPROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IPV6-ICMP": 58, "IGMP": 2,
           "VRRP": 112, "GRE": 47, "ESP": 50, "AH": 51, "SCTP": 132, "OSPF": 89,
           "PIM": 103, "IPV6": 41, "IPIP": 4}


def ipproto(name):
    name = str(name).strip().upper()
    if name.isdigit():
        return int(name)
    return IPPROTO.get(name, name)


def ip_ok(s):
    try:
        ipaddress.ip_address(s.strip("[]"))
        return True
    except ValueError:
        return False


def norm_ip(s):
    s = s.strip("[]")
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        return s
    if a.version == 6 and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    return str(a)


def flow_key(proto, ip1, port1, ip2, port2, vlan):
    """Unordered 5-tuple + VLAN. Ports only count for TCP/UDP (ndpiReader uses 0)."""
    p = ipproto(proto)
    if p not in (6, 17):
        port1 = port2 = 0
    ends = tuple(sorted([(norm_ip(ip1), int(port1)), (norm_ip(ip2), int(port2))]))
    return (p, ends, int(vlan or 0))


def parse_ndpireader(text):
    """Returns (flows, unparsed lines). flows: list of dicts with key, name, cat."""
    flows, bad = [], []
    for line in text.splitlines():
        m = FLOW_RE.match(line)
        if not m:
            if LOOKS_LIKE_FLOW_RE.match(line):
                bad.append(line)
            continue
        rest = m.group(8)
        pm = PROTO_RE.search(rest)
        if pm is None:
            bad.append(line)
            continue
        cm = CAT_RE.search(rest)
        vm = VLAN_RE.search(rest)
        vlan = int(vm.group(1)) if vm else 0
        flows.append({
            "key": flow_key(m.group(2), m.group(3), m.group(4), m.group(6), m.group(7), vlan),
            # ndpiReader 4.2 sometimes prints an invalid IPv6 address
            # ("[2600:1900:4160:5999::19::]"); such flows are matched on the rest.
            "ip_ok": ip_ok(m.group(3)) and ip_ok(m.group(6)),
            "line": line.strip()[:200],
            "name": pm.group(2),
            "cat": cm.group(1) if cm else "Unspecified",
        })
    return flows, bad


def parse_eve(path):
    """Flow events of our sensor: list of dicts with key, name, cat, start."""
    flows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event_type") != "flow":
                continue
            vl = ev.get("vlan") or []
            vlan = vl[-1] if isinstance(vl, list) and vl else 0
            fl = ev.get("flow") or {}
            nd = fl.get("ndpi") or {}
            flows.append({
                "key": flow_key(ev.get("proto", "?"), ev.get("src_ip", ""),
                                ev.get("src_port", 0) or 0, ev.get("dest_ip", ""),
                                ev.get("dest_port", 0) or 0, vlan),
                "name": nd.get("proto", "(none)"),
                "cat": nd.get("category", "Unspecified"),
                "start": str(fl.get("start", "")),
                "desc": "%s %s:%s -> %s:%s" % (ev.get("proto"), ev.get("src_ip"),
                                               ev.get("src_port"), ev.get("dest_ip"),
                                               ev.get("dest_port")),
            })
    return flows


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, check=False)
        return p.returncode, p.stdout.decode("utf-8", "replace"), \
            p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "", "timeout after %ss" % timeout
    except OSError as e:
        return -1, "", str(e)


def ndpireader_flows(ndpi_reader, path):
    rc, out, err = run([ndpi_reader, "-i", path, "-v", "2", "-q"], 120)
    if rc != 0:
        return None, [], err.strip()[-200:] or "exit %d" % rc
    flows, bad = parse_ndpireader(out)
    return flows, bad, ""


def compare(ref, ours):
    """Returns counters and the list of (kind, ref flow, our flow) problems."""
    mine = collections.defaultdict(list)
    for f in ours:
        mine[f["key"]].append(f)
    for v in mine.values():
        v.sort(key=lambda f: f["start"])
    c = collections.Counter()
    problems = []
    used = set()
    ref_keys = {r["key"] for r in ref}
    loose = collections.defaultdict(list)  # (proto, ports, vlan) -> our unmatched flows
    for k, v in mine.items():
        if k not in ref_keys:
            loose[(k[0], tuple(sorted(e[1] for e in k[1])), k[2])].extend(v)
    for r in ref:
        cand = mine.get(r["key"])
        if not cand and not r["ip_ok"]:
            k = r["key"]
            lk = (k[0], tuple(sorted(e[1] for e in k[1])), k[2])
            if len(loose.get(lk, [])) == 1:
                cand = loose.pop(lk)
                mine[r["key"]] = cand
                for f in cand:
                    f["loose"] = True
        if not cand:
            c["missing"] += 1
            problems.append(("missing", r, None))
            continue
        used.add(r["key"])
        # ndpiReader keeps one flow per key for the whole capture; we may have split
        # it (timeout, or a new SYN reusing the ports of a closed flow, as Suricata
        # does). Compare with our first part that got a verdict: e.g. in rtsp.pcap a
        # SYN answered by RST, then the real session on the same ports.
        o = next((f for f in cand if not f["name"].startswith("Unknown")), cand[0])
        if o["name"] == r["name"] and o["cat"] == r["cat"]:
            c["agree"] += 1
        else:
            c["disagree"] += 1
            problems.append(("disagree", r, o))
    for k, v in mine.items():
        if k not in ref_keys and not v[0].get("loose"):
            c["extra"] += len(v)
        elif len(v) > 1:
            c["split"] += len(v) - 1
    return c, problems


def one_capture(args, path, outdir):
    name = os.path.basename(path)
    res = {"file": name, "ref": None, "bad": [], "err": "", "sensor_ok": False}
    ref, bad, err = ndpireader_flows(args.ndpi_reader, path)
    res["ref"], res["bad"], res["err"] = ref, bad, err
    if args.self_check or ref is None:
        return res
    out = os.path.join(outdir, name + ".json")
    rc, _, serr = run([args.sensor, "-r", path, "-o", out], 300)
    if rc != 0 or not os.path.exists(out):
        res["sensor_err"] = (serr.strip().splitlines() or ["exit %d" % rc])[-1][:200]
        res["counts"], res["problems"] = compare(ref, [])
        return res
    res["sensor_ok"] = True
    res["counts"], res["problems"] = compare(ref, parse_eve(out))
    if not args.keep:
        os.unlink(out)
    return res


def captures(corpus):
    d = os.path.join(corpus, "pcap", "ndpi")
    if not os.path.isdir(d):
        return None
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(CAPTURE_EXT))


def self_check(results):
    total = nbad = nfail = 0
    for r in results:
        if r["ref"] is None:
            nfail += 1
            print("  %-50s ndpiReader failed: %s" % (r["file"], r["err"]))
            continue
        total += len(r["ref"])
        nbad += len(r["bad"])
        for b in r["bad"][:3]:
            print("  %-50s UNPARSED: %s" % (r["file"], b[:160]))
    names = collections.Counter(f["name"].split(".")[0] for r in results if r["ref"]
                                for f in r["ref"])
    print("self-check: %d captures, %d ndpiReader flows, %d unparsed flow lines, "
          "%d ndpiReader failures" % (len(results), total, nbad, nfail))
    print("top masters:", ", ".join("%s=%d" % kv for kv in names.most_common(12)))
    return 0 if nbad == 0 and total > 0 else 1


def report(args, results, outdir):
    tot = collections.Counter()
    passed = failed = 0
    kinds = collections.Counter()
    lines = []
    for r in results:
        if r["ref"] is None:
            lines.append("%s: SKIPPED (ndpiReader failed: %s)" % (r["file"], r["err"]))
            continue
        c = r["counts"]
        tot.update(c)
        n = len(r["ref"])
        ok = c["agree"] == n
        passed += ok
        failed += not ok
        pct = 100.0 * c["agree"] / n if n else 100.0
        lines.append("%s: %s %d/%d flows agree (%.1f%%), %d disagree, %d missing, "
                     "%d extra, %d split%s" % (
                         r["file"], "PASS" if ok else "FAIL", c["agree"], n, pct,
                         c["disagree"], c["missing"], c["extra"], c["split"],
                         "" if r["sensor_ok"] else " [sensor failed: %s]" %
                         r.get("sensor_err", "")))
        for kind, ref, ours in r["problems"]:
            if kind == "disagree":
                kinds[(ref["name"], ref["cat"], ours["name"], ours["cat"])] += 1
                lines.append("    DISAGREE ndpiReader %s/%s, ours %s/%s: %s" % (
                    ref["name"], ref["cat"], ours["name"], ours["cat"], ref["line"]))
            else:
                kinds[(ref["name"], ref["cat"], "(no flow)", "")] += 1
                lines.append("    MISSING  %s" % ref["line"])
    nref = sum(len(r["ref"]) for r in results if r["ref"] is not None)
    pct = 100.0 * tot["agree"] / nref if nref else 0.0
    matched = tot["agree"] + tot["disagree"]
    mpct = 100.0 * tot["agree"] / matched if matched else 0.0
    path = os.path.join(outdir, "report.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("ndpi_agree: %d passed, %d failed" % (passed, failed))
    print("ndpi_agree: flow-weighted agreement %.2f%% (%d/%d ndpiReader flows); "
          "on matched flows %.2f%%; %d disagree, %d missing, %d extra, %d split; "
          "threshold %.2f%%" % (pct, tot["agree"], nref, mpct, tot["disagree"],
                                tot["missing"], tot["extra"], tot["split"], args.threshold))
    print("top disagreements (ndpiReader -> ours, flows):")
    for (rn, rc, on, oc), n in kinds.most_common(args.top):
        print("  %5d  %s/%s -> %s%s" % (n, rn, rc, on, "/" + oc if oc else ""))
    worst = sorted((r for r in results if r["ref"]),
                   key=lambda r: r["counts"]["agree"] - len(r["ref"]))[:args.top]
    print("worst captures:")
    for r in worst:
        if r["counts"]["agree"] < len(r["ref"]):
            print("  %-48s %d/%d" % (r["file"], r["counts"]["agree"], len(r["ref"])))
    print("full report: %s" % path)
    return 0 if pct >= args.threshold else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = os.environ.get("OTASUKE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--corpus", default=os.environ.get(
        "CORPUS", os.path.join(src, "..", "shared", "corpus")))
    ap.add_argument("--sensor", default=os.environ.get("OTASUKE_SENSOR") or os.path.join(
        os.environ.get("OTASUKE_BIN", "build/bin"), "otasuke-sensor"))
    ap.add_argument("--ndpi-reader", default=os.environ.get("NDPI_READER", "ndpiReader"))
    ap.add_argument("--threshold", type=float, default=99.5,
                    help="minimum flow-weighted agreement in percent")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--only", help="substring of capture names to run")
    ap.add_argument("--keep", action="store_true", help="keep our JSON outputs")
    ap.add_argument("--self-check", action="store_true",
                    help="only parse ndpiReader output for all captures")
    args = ap.parse_args()

    caps = captures(args.corpus)
    if caps is None:
        print("ndpi_agree: SKIP: no corpus at %s/pcap/ndpi (set CORPUS)" % args.corpus)
        return SKIP
    if args.only:
        caps = [c for c in caps if args.only in os.path.basename(c)]
    if shutil.which(args.ndpi_reader) is None:
        print("ndpi_agree: SKIP: %s not found (Debian package libndpi-bin)" % args.ndpi_reader)
        return SKIP
    if not args.self_check and not os.access(args.sensor, os.X_OK):
        print("ndpi_agree: SKIP: sensor %s not built" % args.sensor)
        return SKIP
    build = os.environ.get("OTASUKE_BUILD")
    if build:
        outdir = os.path.join(build, "ndpi_agree")
        os.makedirs(outdir, exist_ok=True)
    else:
        outdir = tempfile.mkdtemp(prefix="ndpi_agree.")

    if not args.self_check and caps:
        # Probe once before spending minutes on ndpiReader: a sensor that cannot
        # write flow events for the smallest capture is not integrated yet.
        probe = min(caps, key=os.path.getsize)
        pout = os.path.join(outdir, "probe.json")
        rc, _, serr = run([args.sensor, "-r", probe, "-o", pout], 120)
        if rc != 0 or not os.path.exists(pout):
            print("ndpi_agree: SKIP: the sensor failed on %s (exit %d: %s)" % (
                os.path.basename(probe), rc, serr.strip()[-200:]))
            return SKIP
        os.unlink(pout)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        results = list(ex.map(lambda c: one_capture(args, c, outdir), caps))

    if args.self_check:
        return self_check(results)
    if not any(r["sensor_ok"] for r in results if r["ref"] is not None):
        errs = collections.Counter(r.get("sensor_err", "") for r in results)
        print("ndpi_agree: SKIP: the sensor produced no output on any capture (%s)" %
              errs.most_common(1)[0][0] if errs else "")
        return SKIP
    return report(args, results, outdir)


if __name__ == "__main__":
    sys.exit(main())
