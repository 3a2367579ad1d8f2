#!/usr/bin/env bash
# RELIABILITY L1 for the application-layer parsers: every parser limit and kind of
# malformed message, crafted by tools/gen-app-limit-pcaps as real TCP sessions (each
# message cut across small segments), gives its counter
# stats.app_layer.<parser>.anomaly.<kind> and as many `anomaly` events named
# <parser>.<kind> (as sampled); the usable messages are still logged; the parsers' memory stays
# under app.memcap; the sensor exits 0 with no sanitizer report.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
"$PY" -c 'import scapy.all' 2>/dev/null || skip_all "python3-scapy not installed for $PY"
GEN="$OTASUKE_SRC/tools/gen-app-limit-pcaps"
D="$T_TMP/pcaps"
"$PY" "$GEN" -o "$D" >/dev/null || { bad "tools/gen-app-limit-pcaps runs"; finish; exit 1; }
"$PY" "$GEN" -o "$T_TMP/again" >/dev/null
check "generator is deterministic" diff -r "$D" "$T_TMP/again"

# count: N exactly, or +N at least N (where the number depends on memory layout).
count_ok() { case $2 in +*) [ "$1" -ge "${2#+}" ] 2>/dev/null ;; *) [ "$1" = "$2" ] ;; esac; }

while IFS=$'\t' read -r name pcap parser kind count events sets; do
    [ -n "$name" ] || continue
    out="$T_TMP/$name.json"
    if ! run_limit_case "$D" "$name" "$sets"; then
        bad "$name: sensor run"
        continue
    fi
    final="E[-1]['stats'] if E[-1]['event_type']=='stats' and E[-1]['stats']['final'] else None"
    n_ctr=$(ev_query "$out" "($final)['app_layer']['$parser']['anomaly'].get('$kind',0)")
    n_ev=$(ev_query "$out" "sum(1 for e in E if e['event_type']=='anomaly' and e['anomaly']['event']=='$parser.$kind')")
    n_other=$(ev_query "$out" "sorted(set(e['anomaly']['event'] for e in E if e['event_type']=='anomaly' and e['anomaly']['event']!='$parser.$kind'))")
    mem=$(ev_query "$out" "(lambda m: m['peak'] <= m['cap'] or m['cap'] == 0)(($final)['memory']['app'])")
    check "$name: stats.app_layer.$parser.anomaly.$kind = $count (got $n_ctr)" count_ok "$n_ctr" "$count"
    # default sampling (decoder.anomaly_burst 10, decoder.anomaly_sample 100)
    want_ev=$(( n_ctr <= 10 ? n_ctr : 10 + (n_ctr - 10) / 100 ))
    check "$name: $want_ev anomaly events $parser.$kind (got $n_ev)" [ "$n_ev" = "$want_ev" ]
    check "$name: no other anomaly kind (got $n_other)" [ "$n_other" = "[]" ]
    if [ "$events" != "-" ]; then
        n_log=$(ev_query "$out" "sum(1 for e in E if e['event_type']=='$parser')")
        check "$name: $events $parser events still logged (got $n_log)" [ "$n_log" = "$events" ]
    fi
    check "$name: parser memory peak within app.memcap" [ "$mem" = True ]
done < "$D/cases.tsv"
finish
