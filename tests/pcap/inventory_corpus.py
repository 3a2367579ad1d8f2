#!/usr/bin/env python3
"""Device inventory vs tshark on the corpus captures labelled dhcp, mdns, ssdp, netbios
or arp (../shared/corpus/pcap/MANIFEST.tsv): for each capture, the sensor's saved
inventory (--inventory --format json) against what tshark shows for the same capture:
DHCP host names (option 12) per client MAC, NetBIOS registration names per source MAC,
and the maker of each MAC (tshark's eth.src.oui_resolved, Wireshark's manuf list;
compared loosely as it abbreviates). Prints the agreement and the share of devices with
a maker, a name and a kind; writes summary.json to the work directory.
Usage: inventory_corpus.py SENSOR CORPUS_PCAP_DIR WORKDIR"""
import json, os, re, subprocess, sys
from collections import defaultdict

sensor, pdir, work = sys.argv[1:4]
LABELS = {"dhcp", "mdns", "ssdp", "netbios", "arp"}
files = []
for line in open(os.path.join(pdir, "MANIFEST.tsv")):
    f = line.rstrip("\n").split("\t")
    if f[0] == "file" or len(f) < 8:
        continue
    if LABELS & set(x.rstrip("?") for x in f[7].split(",")):
        files.append(f[0])

def norm(s):
    return re.sub(r"[^a-z0-9]", "", (s or "").lower())

def maker_agrees(ours, ts):
    # Wireshark abbreviates and sometimes keeps an older name of the same company
    # ("PCS Computer Systems" / "PCS Systemtechnik"): the first word decides
    a = norm((ts or "").split(" ")[0])
    b = norm((ours or "").split(" ")[0])
    if not a or not b:
        return None
    k = min(len(a), len(b), 6)
    return a[:k] == b[:k]

def tshark(path, filt, fields):
    args = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t"]
    if filt:
        args += ["-Y", filt]
    for x in fields:
        args += ["-e", x]
    r = subprocess.run(args, capture_output=True, text=True)
    return [l.split("\t") for l in r.stdout.splitlines()]

tot = defaultdict(int)
per_file = []
for rel in files:
    path = os.path.join(pdir, rel)
    st = os.path.join(work, "state")
    os.makedirs(st, exist_ok=True)
    for x in os.listdir(st):
        os.remove(os.path.join(st, x))
    subprocess.run([sensor, "-q", "-r", path, "-o", os.path.join(work, "e.json"),
                    "--set", "log.level=error", "--set", "inventory.state_dir=" + st],
                   capture_output=True)
    r = subprocess.run([sensor, "--inventory", "--format", "json",
                        "--set", "inventory.state_dir=" + st], capture_output=True, text=True)
    devs = {}
    for l in r.stdout.splitlines():
        d = json.loads(l)
        if d.get("mac"):
            devs[d["mac"]] = d
    # tshark: DHCP host names per client MAC (requests), NBNS registrations per source MAC
    dh = {}
    for f in tshark(path, "dhcp.option.hostname && dhcp.flags.bc >= 0 && dhcp.type == 1",
                    ["dhcp.hw.mac_addr", "dhcp.option.hostname"]):
        # dhcp.hw.mac_addr occurs twice when the client sends option 61 (client
        # identifier, hardware type 1): "chaddr,option61". The first is the chaddr.
        if len(f) == 2 and f[0] and f[1]:
            dh[f[0].split(",")[0].lower()] = f[1].split(",")[0]
    makers = {}
    for f in tshark(path, "eth", ["eth.src", "eth.src.oui_resolved"]):
        if len(f) == 2 and f[0] and f[1]:
            makers[f[0].lower()] = f[1]
    fr = {"file": rel, "devices": len(devs)}
    for mac, d in devs.items():
        tot["devices"] += 1
        tot["with_maker"] += d.get("maker") is not None
        tot["with_name"] += d.get("name") is not None
        tot["with_kind"] += d.get("kind") != "unknown"
        tot["randomized"] += bool(d.get("randomized_mac"))
        if mac in dh:
            tot["dhcp_names"] += 1
            ok = (d.get("name") or "").lower() == dh[mac].lower().rstrip(".")
            tot["dhcp_names_equal"] += ok
            if not ok:
                print("name  %s %s: ours %r, tshark %r" % (rel, mac, d.get("name"), dh[mac]))
        a = maker_agrees(d.get("maker"), makers.get(mac))
        if makers.get(mac) and not d.get("randomized_mac"):
            tot["ts_makers"] += 1
            if a:
                tot["makers_agree"] += 1
            elif d.get("maker") is None:
                tot["makers_missing"] += 1
                print("maker %s %s: ours none, tshark %r" % (rel, mac, makers[mac]))
            else:
                print("maker %s %s: ours %r, tshark %r" % (rel, mac, d.get("maker"), makers[mac]))
    # DHCP clients tshark saw that we do not list
    for mac in dh:
        tot["ts_dhcp_clients"] += 1
        tot["ts_dhcp_clients_listed"] += mac in devs
    per_file.append(fr)

tot["files"] = len(files)
pct = lambda a, b: round(100.0 * a / b, 1) if b else None
summary = dict(tot)
summary["share_maker_pct"] = pct(tot["with_maker"], tot["devices"])
summary["share_name_pct"] = pct(tot["with_name"], tot["devices"])
summary["share_kind_pct"] = pct(tot["with_kind"], tot["devices"])
summary["dhcp_name_agreement_pct"] = pct(tot["dhcp_names_equal"], tot["dhcp_names"])
summary["maker_agreement_pct"] = pct(tot["makers_agree"], tot["ts_makers"])
summary["dhcp_clients_listed_pct"] = pct(tot["ts_dhcp_clients_listed"], tot["ts_dhcp_clients"])
json.dump(summary, open(os.path.join(work, "summary.json"), "w"), indent=1)
print(json.dumps(summary, indent=1))
