#!/usr/bin/env python3
"""Compares the events of one capture run with capture.workers=1 (A) and =N (B).

Usage: workers_cmp.py MODE A.json B.json
  MODE events: the multisets of event lines must be equal, but for
    - stats events: left out (B's counters are sums over workers; memory, lock waits
      and ring counters differ by nature);
    - asset events (the inventory): left out; a device's record is built from all of
      its flows, which two workers hand to the shared inventory in a slightly
      different order, so a "new"/"changed" event can carry a name or kind one step
      earlier or later (the final state is the same);
    - recon alerts (port scan / sweep, signature 20000xx): compared as (signature,
      source, timestamp); they name the scan's first target, and when a scanner
      reaches two hosts in the same microsecond through two workers, which one the
      shared detector sees first is not fixed;
    - anomaly events: compared without their running "count" and "suppressed"
      (numbered in the order the events happen over all workers); application-layer
      anomalies (type applayer) only as the set of their kinds (each worker's
      parsers count and sample their own: with N workers up to N times the first
      burst of a kind is written).
  MODE alerts: the sets of (signature_id, src_ip, dest_ip, category) of alerts that
    are not recon, and of (signature_id, src_ip) of recon alerts, must be equal.
Prints the differences (at most 10 lines) and exits 1 when there are any.
"""
import json
import sys
from collections import Counter


def load(path):
    with open(path, encoding="utf-8") as f:
        return [(line.rstrip("\n"), json.loads(line)) for line in f if line.strip()]


def is_recon(e):
    return e.get("event_type") == "alert" and e["alert"].get("category") == "recon"


def events_key(line, e):
    t = e.get("event_type")
    if t in ("stats", "asset"):
        return None
    if is_recon(e):
        return ("recon", e["alert"]["signature_id"], e.get("src_ip"), e.get("timestamp"))
    if t == "anomaly":
        a = dict(e["anomaly"])
        if a.get("type") == "applayer":
            return ("applayer-kind", a.get("event"))
        a.pop("count", None)
        a.pop("suppressed", None)
        e = dict(e, anomaly=a)
        return json.dumps(e, sort_keys=True)
    return line


def alerts_key(line, e):
    if e.get("event_type") != "alert":
        return None
    a = e["alert"]
    if a.get("category") == "recon":
        return (a["signature_id"], e.get("src_ip"))
    return (a["signature_id"], e.get("src_ip"), e.get("dest_ip"), a.get("category"))


def main():
    mode, pa, pb = sys.argv[1:4]
    key = events_key if mode == "events" else alerts_key
    ka = [k for k in (key(l, e) for l, e in load(pa)) if k is not None]
    kb = [k for k in (key(l, e) for l, e in load(pb)) if k is not None]
    if mode == "events":
        kinds = lambda ks: [k for k in ks if isinstance(k, tuple) and k[0] == "applayer-kind"]
        rest = lambda ks: [k for k in ks if not (isinstance(k, tuple) and k[0] == "applayer-kind")]
        ca = Counter(rest(ka)) + Counter(set(kinds(ka)))
        cb = Counter(rest(kb)) + Counter(set(kinds(kb)))
    else:
        ca, cb = Counter(set(ka)), Counter(set(kb))
    only_a = list((ca - cb).elements())
    only_b = list((cb - ca).elements())
    for k in only_a[:5]:
        print("  only with 1 worker: %s" % str(k)[:300])
    for k in only_b[:5]:
        print("  only with N workers: %s" % str(k)[:300])
    if not ka:
        print("  nothing to compare")
        return 1
    return 1 if only_a or only_b else 0


sys.exit(main())
