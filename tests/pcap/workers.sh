#!/usr/bin/env bash
# capture.workers (sensor/pipeline.c): with every parser on (detections and inventory
# off: several workers are not yet allowed with them), a set of corpus captures gives
# the same events with two workers as with one (tests/pcap/workers_cmp.py says what
# may differ and why), and the stats event of a threaded run sums the workers: its
# decoder and flow counters equal the single-worker run's. With detections on, the
# sensor says so and runs on one thread: the demo's detections as with one worker.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
need_corpus
CMP="$PY $OTASUKE_SRC/tests/pcap/workers_cmp.py"
W=2
PARSERS=(--set detect.enabled=no --set inventory.enabled=no)
files=(ndpi/1kxun.pcap ndpi/dns_exfiltration.pcap ndpi/netflix.pcap ndpi/iphone.pcap
       ndpi/gnutella.pcap ndpi/srvloc.pcap ndpi/log4j-webapp-exploit.pcap
       zeek/http/basic-auth-with-colon.pcap zeek/smtp.pcap zeek/tunnels/gre-pptp.pcap
       zeek/tunnels/6in4.pcap other/otasuke-lab/nmap-syn-vertical.pcap
       suricata-verify/smb2-ntlmssp-negotiateflags/input.pcap
       suricata-verify/dhcp-request-flood/test.pcap
       other/corelight/zeek-agenttesla-detector/f9421792-7d2c-47d3-90e0-07eb54ae12fa.pcap)
n=0
for f in "${files[@]}"; do
    p="$OTASUKE_CORPUS/pcap/$f"
    [ -f "$p" ] || { echo "  (absent: $f)"; continue; }
    n=$((n + 1))
    "$SENSOR" -q -r "$p" -o "$T_TMP/a.json" --set capture.workers=1 "${PARSERS[@]}" 2>"$T_TMP/a.err"
    ra=$?
    "$SENSOR" -q -r "$p" -o "$T_TMP/b.json" --set capture.workers=$W "${PARSERS[@]}" 2>"$T_TMP/b.err"
    rb=$?
    check "$f: both runs exit 0" [ $ra -eq 0 -a $rb -eq 0 ]
    check "$f: no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' '$T_TMP/a.err' '$T_TMP/b.err'"
    check "$f: the same events with $W workers as with 1" $CMP events "$T_TMP/a.json" "$T_TMP/b.json"
done
check "at least 10 corpus captures compared" [ $n -ge 10 ]

# the stats event's worker-owned sections are summed over the workers
P="$OTASUKE_CORPUS/pcap/ndpi/1kxun.pcap"
if [ -f "$P" ]; then
    "$SENSOR" -q -r "$P" -o "$T_TMP/a.json" --set capture.workers=1 "${PARSERS[@]}" 2>/dev/null
    "$SENSOR" -q -r "$P" -o "$T_TMP/b.json" --set capture.workers=$W "${PARSERS[@]}" 2>/dev/null
    q='[e["stats"] for e in E if e["event_type"]=="stats" and e["stats"]["final"]][0]'
    for k in 'decoder"]["pkts' 'decoder"]["ipv4' 'decoder"]["tcp' 'flow"]["created' \
             'reassembly"]["segments' 'appid"]["detected' 'app_layer"]["dns"]["events'; do
        check "final stats $k: the sum over $W workers equals 1 worker's" \
            [ "$(ev_query "$T_TMP/a.json" "${q}[\"$k\"]")" = "$(ev_query "$T_TMP/b.json" "${q}[\"$k\"]")" ]
    done
    check "final stats: workers.count = $W" [ "$(ev_query "$T_TMP/b.json" "${q}['workers']['count']")" = $W ]
    check "final stats: no ring drops reading a file" [ "$(ev_query "$T_TMP/b.json" "${q}['workers']['ring_drops']")" = 0 ]
    check "final stats: 1 worker writes no workers object" [ "$(ev_query "$T_TMP/a.json" "'workers' in $q")" = False ]
fi

# with detections: one thread, said on stderr, the same alerts as with 1 worker
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
demo_intel "$T_TMP/intel.yaml"
for w in 1 $W; do
    "$SENSOR" -q -r "$PCAP" -o "$T_TMP/demo$w.json" --set capture.workers=$w \
        --set detect.intel_file="$T_TMP/intel.yaml" --set log.level=warn 2>"$T_TMP/demo$w.err"
done
check "demo: capture.workers=$W with detections runs on one thread and says so" \
    grep -q "not yet with detections or the inventory on; running on one thread" "$T_TMP/demo$W.err"
check "demo: no workers object in the stats (one thread)" [ "$(ev_query "$T_TMP/demo$W.json" "'workers' in E[-1]['stats']")" = False ]
check "demo: alerts found" [ "$(ev_query "$T_TMP/demo1.json" 'len([e for e in E if e["event_type"]=="alert"])')" -ge 18 ]
check "demo: the same detections with $W workers as with 1" $CMP alerts "$T_TMP/demo1.json" "$T_TMP/demo$W.json"
check "demo: the c2 burst alerts with $W workers" [ "$(ev_query "$T_TMP/demo$W.json" 'len([e for e in E if e["event_type"]=="alert" and e["alert"]["signature_id"]==2000101])')" -ge 2 ]
finish
