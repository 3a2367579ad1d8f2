#!/usr/bin/env bash
# The inventory reads what the DHCP, ARP, mDNS, LLMNR, NBNS, SSDP, HTTP and TLS parsers
# note as they write their events (struct app_notes) instead of reading the lines back;
# `inventory.read_lines: yes` reads the lines. On the demo capture and on every corpus
# capture labelled with one of the first six (../shared/corpus/pcap/MANIFEST.tsv) both ways must give the same events (asset
# events, new_device alerts, the device object of every alert) and the same saved
# inventory, byte for byte, and the inventory must have read as many events; its stats
# must say it read events from the notes (events_noted), and none with read_lines. The
# notes also let it take an event that repeats the one before for a repeat (only its
# device's last_seen moves; events_repeated): the lines, read in full every time, say
# whether that changed anything.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
need_corpus
P="$OTASUKE_CORPUS/pcap"
mapfile -t FILES < <(awk -F'\t' 'NR > 1 && $8 ~ /(^|,)(dhcp|arp|mdns|llmnr|netbios|ssdp)\??(,|$)/ {print $1}' "$P/MANIFEST.tsv")
DEMO=$(demo_pcap) || DEMO=""
[ -n "$DEMO" ] || echo "note: no demo capture (python3-scapy missing?): corpus captures only"
run() {   # CAPTURE MODE: events (no stats) and the saved inventory into $T_TMP/MODE.*
    local st="$T_TMP/st.$2"
    rm -rf "$st"; mkdir -p "$st"
    "$SENSOR" -q -r "$1" -o "$T_TMP/$2.json" --set log.level=error \
        --set inventory.state_dir="$st" --set inventory.read_lines="$2" \
        --set inventory.learning_period=0 >/dev/null 2>"$T_TMP/$2.err" || return 1
    grep -v '"event_type":"stats"' "$T_TMP/$2.json" >"$T_TMP/$2.events"
    grep '"event_type":"stats"' "$T_TMP/$2.json" | tail -1 |
        "$PY" -c 'import json,sys; i=json.loads(sys.stdin.read() or "{}").get("stats", {}).get("inventory", {}); print(i.get("events_read", -1), i.get("events_noted", -1), i.get("events_repeated", -1))' \
        >"$T_TMP/$2.read"
    cp "$st/inventory.tsv" "$T_TMP/$2.tsv" 2>/dev/null || : >"$T_TMP/$2.tsv"
}
n=0 same=0 assets=0 noted=0 repeated=0 lines_noted=0 differ=""
for f in "$DEMO" "${FILES[@]/#/$P/}"; do
    [ -n "$f" ] && [ -r "$f" ] || continue
    n=$((n + 1))
    if ! run "$f" no || ! run "$f" yes; then
        differ="$differ $(basename "$f")(sensor failed: $(head -c 200 "$T_TMP"/*.err | tr '\n' ' '))"
        continue
    fi
    read ra na pa <"$T_TMP/no.read"; read rb nb pb <"$T_TMP/yes.read"
    noted=$((noted + na)); [ "$nb" = 0 ] || lines_noted=$((lines_noted + nb))
    repeated=$((repeated + pa)); [ "$pb" = 0 ] || lines_noted=$((lines_noted + pb))
    if cmp -s "$T_TMP/no.events" "$T_TMP/yes.events" && cmp -s "$T_TMP/no.tsv" "$T_TMP/yes.tsv" &&
        [ "$ra" = "$rb" ]; then
        same=$((same + 1))
    else
        differ="$differ $(basename "$f")"
        diff "$T_TMP/no.events" "$T_TMP/yes.events" | head -4 | cut -c1-300
    fi
    assets=$((assets + $(grep -c '"event_type":"asset"' "$T_TMP/no.events" || true)))
done
echo "captures: $n, identical both ways: $same, asset events (notes): $assets, events read from notes: $noted, of them repeats: $repeated"
check "captures were read (demo + labelled dhcp/arp/mdns/llmnr/netbios/ssdp)" [ "$n" -ge 20 ]
check "asset events were written (the inventory saw devices)" [ "$assets" -ge 100 ]
check "the inventory read events from notes (stats.inventory.events_noted > 0)" [ "$noted" -ge 100 ]
check "events were taken for repeats of the one before (stats.inventory.events_repeated)" [ "$repeated" -ge 100 ]
check "with inventory.read_lines it read none from notes, and took none for a repeat" [ "$lines_noted" -eq 0 ]
check "the notes and the lines give the same events and inventory on every capture (differ:${differ:- none})" [ "$same" -eq "$n" ]
finish
