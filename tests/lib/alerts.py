#!/usr/bin/env python3
"""Writes alert events as the sensor's detections send them (the alert contract of
issue 4/6: EVE "alert" with alert.{category, severity, signature_id, signature,
signature_ja, direction, count, first_seen, last_seen, evidence, action.{ja,en}} and
device.{ip, mac, name, ...}; see docs/api.md#incidents), one JSON line each, to stdout.

    alerts.py SPEC...

Each SPEC is comma-separated key=value: ts (RFC 3339, default 2026-11-23T01:00:00Z),
ip, mac, name (device fields; "-" or absent leaves the field out; nodev=1 leaves the
whole device object out), src (src_ip, default ip), sev (1..4), sid (signature_id),
cat (category), n (repeat, timestamps one minute apart).
"""
import datetime
import json
import sys

CAT = {
    "c2": ("Known C&C server contacted (TrickBot, maltrail)",
           "既知のC&Cサーバーへの通信 (TrickBot, maltrail)",
           "この機器をネットワークから外し、管理者に連絡してください。",
           "Disconnect this device from the network and call your administrator."),
    "malware": ("Malware download (URLhaus)", "マルウェアのダウンロード (URLhaus)",
                "この機器でウイルス対策ソフトの全体スキャンを実行してください。",
                "Run a full antivirus scan on this device."),
    "recon": ("Port scan of the LAN", "社内ネットワークのポートスキャン",
              "この機器を使っている人に、身に覚えがあるか確認してください。",
              "Ask the person using this device whether they expected this."),
}


def one(spec, i):
    kv = dict(p.split("=", 1) for p in spec.split(",") if p)
    ts = datetime.datetime.fromisoformat(kv.get("ts", "2026-11-23T01:00:00+00:00").replace("Z", "+00:00"))
    ts += datetime.timedelta(minutes=i)
    cat = kv.get("cat", "c2")
    sig, sig_ja, act_ja, act_en = CAT.get(cat, CAT["c2"])
    ip = kv.get("ip", "192.168.1.104")
    src = kv.get("src", ip if ip != "-" else "192.168.1.250")
    ev = {
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "flow_id": 1000 + i,
        "event_type": "alert",
        "src_ip": src, "src_port": 50000 + i,
        "dest_ip": "85.204.116.144", "dest_port": 447, "proto": "TCP",
        "alert": {
            "category": cat,
            "severity": int(kv.get("sev", "2")),
            "signature_id": int(kv.get("sid", "1000001")),
            "signature": sig, "signature_ja": sig_ja,
            "direction": "outbound", "count": 1,
            "first_seen": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "last_seen": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "evidence": {"indicator": "85.204.116.144", "type": "ip",
                         "list": "maltrail-trickbot", "match": "dest_ip"},
            "action": {"ja": act_ja, "en": act_en},
        },
    }
    if kv.get("nodev") != "1":
        dev = {"confidence": "mac"}
        for k in ("ip", "mac", "name"):
            v = kv.get(k, {"ip": ip, "mac": None, "name": None}[k])
            if v is not None and v != "-":
                dev[k] = v
        ev["device"] = dev
    return json.dumps(ev, ensure_ascii=False)


for spec in sys.argv[1:]:
    kv = dict(p.split("=", 1) for p in spec.split(",") if p)
    for i in range(int(kv.get("n", "1"))):
        print(one(spec, i))
