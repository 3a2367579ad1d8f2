#!/usr/bin/env bash
# RELIABILITY L2, PR-sized: 200,000 unique 5-tuples against a flow table capped at
# 4 MiB (room for ~20,000 flows). The sensor must stay within the cap, evict the
# oldest idle flows (counted), enter emergency mode, and still end every flow it
# created with exactly one flow event. The deep tier runs the same with 10 M tuples.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
N=200000
CAP=$((4 * 1024 * 1024))
"$PY" "$OTASUKE_SRC/bench/make-flood-pcap.py" -o "$T_TMP/flood.pcap" -n $N >/dev/null ||
    skip_all "cannot generate the flood capture"
"$SENSOR" -q -r "$T_TMP/flood.pcap" -o "$T_TMP/flood.json" --set flow.memcap=$CAP \
    --set flow.hash_size=16384 2>"$T_TMP/err"; rc=$?
check "sensor exits 0 under a flow flood" [ "$rc" -eq 0 ]
S="$T_TMP/flood.json"
q() { ev_query "$S" "$1"; }
check "every packet read" [ "$(q 'E[-1]["stats"]["capture"]["packets"]')" -eq $N ]
check "evictions counted (> 0)" [ "$(q 'E[-1]["stats"]["flow"]["evictions"]')" -gt 0 ]
check "emergency mode entered" [ "$(q 'E[-1]["stats"]["flow"]["emergency_entered"]')" -gt 0 ]
check "flow memory peak within flow.memcap (+64 KiB for the table's bookkeeping)" \
    [ "$(q 'E[-1]["stats"]["memory"]["flow"]["peak"]')" -le $((CAP + 65536)) ]
check "allocator cap reported as flow.memcap + 64 KiB" [ "$(q 'E[-1]["stats"]["memory"]["flow"]["cap"]')" -eq $((CAP + 65536)) ]
check "every packet got a flow (evicting made room)" [ "$(q 'E[-1]["stats"]["flow"]["memcap_fails"]')" -eq 0 ]
check "one flow event per flow created" [ "$(q 'sum(e["event_type"]=="flow" for e in E)')" -eq "$(q 'E[-1]["stats"]["flow"]["created"]')" ]
check "evicted flows end with reason forced" [ "$(q 'sum(e["event_type"]=="flow" and e["flow"]["reason"]=="forced" for e in E)')" -eq "$(q 'E[-1]["stats"]["flow"]["evictions"]')" ]
check "no flow left in the table" [ "$(q 'E[-1]["stats"]["flow"]["active"]')" -eq 0 ]
finish
