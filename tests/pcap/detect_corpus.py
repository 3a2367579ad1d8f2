#!/usr/bin/env python3
"""Recall of the detections on the corpus captures (issue 4, "How we know it works").

Runs otasuke-sensor with the corpus intel lists (intel.yaml written by
detect_corpus.sh) over every capture labelled portscan, hostsweep, c2, malware,
malware-download or exploit in ../shared/corpus/pcap/MANIFEST.tsv, and over the
benign-labelled ones, and reports per label the share of captures with an alert of the
expected category (and with any alert above informational), and the number of alerts
above informational per 1,000 benign captures. Writes summary.json into the work dir.

usage: detect_corpus.py SENSOR CORPUS INTEL_YAML WORKDIR [--benign N] [--min-recall L=x ...]
"""
import concurrent.futures as cf, csv, json, os, subprocess, sys

EXPECT = {
    "portscan": {"recon"},
    "hostsweep": {"recon"},
    "c2": {"c2"},
    "malware": {"malware", "c2"},
    "malware-download": {"malware"},
    "exploit": {"intrusion"},
    "mining": {"malware"},
}


# The detections' default home_net (RFC 1918, ULA, link-local) plus the internal networks
# of corpus captures recorded on public addresses: the Stratosphere (slips) captures'
# client network is CTU's 147.32.0.0/16. Outbound detectors (bursts, beaconing) need the
# infected host to be internal.
HOME_NET = ("10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7,fe80::/10,147.32.0.0/16")


def run(sensor, pcap, intel, out):
    subprocess.run([sensor, "-q", "-r", pcap, "-o", out, "--set", "detect.intel_file=" + intel,
                    "--set", "detect.home_net=" + HOME_NET, "--set", "log.level=error",
                    "--set", "inventory.enabled=no"],  # new_device: the inventory's (issue 5)
                   stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=900)
    alerts = []
    try:
        with open(out, encoding="utf-8") as f:
            for line in f:
                if '"event_type":"alert"' in line:
                    e = json.loads(line)
                    a = e["alert"]
                    a["_src"], a["_dst"] = e.get("src_ip"), e.get("dest_ip")
                    alerts.append(a)
    except FileNotFoundError:
        pass
    os.unlink(out) if os.path.exists(out) else None
    return alerts


def main():
    sensor, corpus, intel, work = sys.argv[1:5]
    args = sys.argv[5:]
    nbenign = 10**9
    mins = {}
    i = 0
    while i < len(args):
        if args[i] == "--benign":
            nbenign = int(args[i + 1]); i += 2
        elif args[i] == "--min-recall":
            k, v = args[i + 1].split("="); mins[k] = float(v); i += 2
        else:
            i += 1
    rows = list(csv.DictReader(open(os.path.join(corpus, "pcap/MANIFEST.tsv")), delimiter="\t"))
    res = {k: {"captures": 0, "right": 0, "any": 0, "misses": []} for k in EXPECT}
    benign = {"captures": 0, "alerts_above_info": 0, "by_signature": {}, "alerts": []}
    todo = []
    bcount = 0
    for r in sorted(rows, key=lambda r: int(r["bytes"])):
        labels = set(r["labels"].split(","))
        want = [l for l in EXPECT if l in labels]
        is_benign = "benign" in labels and not want
        if not want and not (is_benign and bcount < nbenign):
            continue
        pcap = os.path.join(corpus, "pcap", r["file"])
        if not os.path.exists(pcap):
            continue
        bcount += is_benign
        todo.append((r, want, is_benign, pcap))
    # One sensor per core; results are read back in the order above, and each is
    # appended to results.jsonl as it comes (a run cut short still leaves its figures).
    results = []
    with cf.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex, \
            open(os.path.join(work, "results.jsonl"), "w", encoding="utf-8") as log:
        runs = ex.map(lambda it: run(sensor, it[1][3], intel,
                                     os.path.join(work, "e%d.json" % it[0])), enumerate(todo))
        for item, alerts in zip(todo, runs):
            r, want, is_benign, _ = item
            log.write(json.dumps({"file": r["file"], "want": want, "benign": is_benign,
                                  "alerts": alerts}) + "\n")
            log.flush()
            results.append((item, alerts))
    for (r, want, is_benign, pcap), alerts in results:
        cats = {a["category"] for a in alerts if a["severity"] < 4}
        print("  %-60s %-28s %s" % (r["file"][:60], ",".join(want) or "benign",
                                    ",".join(sorted(cats)) or "-"), flush=True)
        for l in want:
            res[l]["captures"] += 1
            if cats & EXPECT[l]:
                res[l]["right"] += 1
            else:
                res[l]["misses"].append(r["file"])
            if cats:
                res[l]["any"] += 1
        if is_benign:
            benign["captures"] += 1
            for a in alerts:
                if a["severity"] < 4:
                    benign["alerts_above_info"] += 1
                    k = str(a["signature_id"])
                    benign["by_signature"][k] = benign["by_signature"].get(k, 0) + 1
                    benign["alerts"].append({"file": r["file"], "signature_id": a["signature_id"],
                                             "signature": a["signature"], "count": a["count"],
                                             "evidence": a.get("evidence")})
    per1000 = 1000.0 * benign["alerts_above_info"] / max(1, benign["captures"])
    benign["per_1000_captures"] = round(per1000, 1)
    summary = {"labels": res, "benign": benign}
    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    fail = 0
    for l, v in res.items():
        n = v["captures"]
        rec = v["right"] / n if n else 0.0
        print("%-17s captures %3d  recall %5.1f%%  (any alert > info: %d)  misses: %s"
              % (l, n, 100 * rec, v["any"], ", ".join(v["misses"][:6])))
        if l in mins and n and rec < mins[l]:
            print("FAIL - recall of %s below %.2f" % (l, mins[l])); fail = 1
    print("benign: %d captures, %d alerts above informational (%.1f per 1,000 captures) %s"
          % (benign["captures"], benign["alerts_above_info"], per1000, benign["by_signature"]))
    return fail


if __name__ == "__main__":
    sys.exit(main())
