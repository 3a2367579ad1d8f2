#!/usr/bin/env bash
# JA3 / JA4 indicator lists (issue 4): a client's TLS fingerprint found in a list raises
# an intel alert about that client, with evidence match tls.ja3.hash / tls.ja4. On the
# demo capture, a list holding the NAS's (192.168.1.10) JA3 gives alerts about exactly
# the clients whose tls events carry that JA3 (the NAS and two PCs with the same TLS
# library), and its JA4 about the NAS alone; abuse.ch's SSLBL JA3 list from the corpus
# (abusech CSV, 75 fingerprints) loads and lists none of the demo's clients.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
NAS_JA3=31365a3481af0ebb455dcef4cd7a7986
NAS_JA4=t13d1315h1_f57a46bbacb6_de4a06bb82e3
printf '# the NAS client fingerprint\n%s\n' "$(echo "$NAS_JA3" | tr a-f A-F)" >"$T_TMP/ja3.txt"
printf '%s\n' "$NAS_JA4" >"$T_TMP/ja4.txt"
cat >"$T_TMP/intel.yaml" <<YAML
intel:
  - {name: test-ja3, path: "$T_TMP/ja3.txt", format: plain, type: ja3, category: malware, severity: 2}
YAML
cat >"$T_TMP/intel4.yaml" <<YAML
intel:
  - {name: test-ja4, path: "$T_TMP/ja4.txt", format: plain, type: ja4, category: c2, severity: 1}
YAML
# alerts PATTERN FILE: "src device match indicator" of the intel alerts from list PATTERN
alerts() { "$PY" -c 'import json,sys
for l in open(sys.argv[2]):
    e = json.loads(l)
    a = e.get("alert") or {}
    ev = a.get("evidence") or {}
    if e["event_type"] == "alert" and ev.get("list") == sys.argv[1]:
        print(e["src_ip"], ev.get("match"), ev.get("indicator"), a["category"], a["severity"])' "$1" "$2" | sort -u; }
"$SENSOR" -q -r "$PCAP" -o "$T_TMP/e3.json" --set detect.intel_file="$T_TMP/intel.yaml" \
    --set log.level=error --set inventory.enabled=no
# clients KEY VALUE FILE: "src match value category severity" expected for each client
# whose tls events carry KEY (ja3 / ja4) = VALUE
clients() { "$PY" -c 'import json,sys
key, val, cat, sev = sys.argv[1], sys.argv[2], sys.argv[4], sys.argv[5]
for l in open(sys.argv[3]):
    e = json.loads(l)
    t = e.get("tls") if e["event_type"] == "tls" else None
    if t and (t.get("ja3", {}).get("hash") if key == "ja3" else t.get("ja4")) == val:
        print(e["src_ip"], "tls.ja3.hash" if key == "ja3" else "tls.ja4", val, cat, sev)' "$@" | sort -u; }
want=$(clients ja3 "$NAS_JA3" "$T_TMP/e3.json" malware 2)
check "the NAS's JA3 is carried by the NAS and other clients" \
    [ "$(echo "$want" | grep -c .)" -ge 2 -a -n "$(echo "$want" | grep '^192.168.1.10 ')" ]
check "a listed JA3 (upper case in the list) alerts about exactly those clients, as malware" \
    [ "$(alerts test-ja3 "$T_TMP/e3.json")" = "$want" ]
"$SENSOR" -q -r "$PCAP" -o "$T_TMP/e4.json" --set detect.intel_file="$T_TMP/intel4.yaml" \
    --set log.level=error --set inventory.enabled=no
check "a listed JA4 alerts about the NAS only, as c2" \
    [ "$(alerts test-ja4 "$T_TMP/e4.json")" = "192.168.1.10 tls.ja4 $NAS_JA4 c2 1" ]
check "without lists: no intel alert about the NAS's fingerprints" \
    [ -z "$(grep -h '"event_type":"alert"' "$T_TMP/e3.json" | grep -v test-ja3 | grep -F 'tls.ja')" ]
if [ -d "$OTASUKE_CORPUS/intel/ja3" ]; then
    cat >"$T_TMP/sslbl.yaml" <<YAML
intel:
  - {name: sslbl-ja3, path: "$OTASUKE_CORPUS/intel/ja3/sslbl_ja3_fingerprints.csv", format: abusech, type: ja3, category: malware, severity: 2}
YAML
    "$SENSOR" -q -r "$PCAP" -o "$T_TMP/es.json" --set detect.intel_file="$T_TMP/sslbl.yaml" \
        --set log.level=info --set inventory.enabled=no 2>"$T_TMP/es.log"
    check "SSLBL's JA3 list loads" grep -q 'intel lists=1' "$T_TMP/es.log"
    check "SSLBL lists none of the demo's clients" [ -z "$(alerts sslbl-ja3 "$T_TMP/es.json")" ]
else
    echo "SKIP: corpus intel/ja3 absent (SSLBL list part)"
fi
finish
