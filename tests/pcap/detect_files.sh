#!/usr/bin/env bash
# The look inside archives (sensor/detect/archive.c) on HTTP downloads crafted by
# tools/gen-file-pcaps: an executable member past the first 512 bytes, one two levels
# deep (tar.gz > zip), one in a ZipCrypto archive, one in a bare gzip stream (by its
# magic bytes); no alert for an Office-like zip of XML parts nor for the bomb (a 32 MiB
# member in 354 bytes: not read, counted); the kept-bytes cap and the depth cap change
# what is found, and say so in the stats. YARA (detect.yara.rules, a rules file
# written here): the EICAR file and a marker at the end of a 200 KiB file match, each
# a 2000405 alert citing its rule; with 64 KiB kept the big file is not scanned
# (counted as incomplete); a rules file that does not compile stops the start with
# file:line.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
"$PY" -c 'import scapy.all' 2>/dev/null || skip_all "python3-scapy not installed for $PY"
P="$T_TMP/files.pcap"
"$PY" "$OTASUKE_SRC/tools/gen-file-pcaps" -o "$P" || { bad "tools/gen-file-pcaps runs"; finish; exit 1; }
"$PY" "$OTASUKE_SRC/tools/gen-file-pcaps" -o "$T_TMP/again.pcap"
check "generator is deterministic" cmp -s "$P" "$T_TMP/again.pcap"

E="$T_TMP/files.json"
"$SENSOR" -q -r "$P" -o "$E" --set log.level=error --set inventory.enabled=no
check "every line is one JSON object" all_json "$E"
A='[e for e in E if e["event_type"]=="alert"]'
S='[e for e in E if e["event_type"]=="stats" and e["stats"]["final"]][0]["stats"]'
check "four alerts, all 2000401 malware critical" \
    [ "$(ev_query "$E" "sorted(set((e['alert']['signature_id'],e['alert']['category'],e['alert']['severity']) for e in $A)) == [(2000401,'malware',1)] and len($A)")" = 4 ]
members() { ev_query "$1" "sorted((e['alert']['evidence']['filename'], e['alert']['evidence']['member'], e['alert']['evidence']['member_by'], e['alert']['evidence']['depth'], e['alert']['evidence']['encrypted']) for e in $A)"; }
check "members: past the head, nested, encrypted, bare gzip by magic" [ "$(members "$E")" = \
"[('/dl/big.zip', 'Invoice_2026.pdf.exe', 'name', 1, False), ('/dl/docs.tar.gz', 'docs/inner.zip/a.scr', 'name', 2, False), ('/dl/locked.zip', 'PAYMENT SLIP.exe', 'name', 1, True), ('/dl/tool.bin.gz', '/dl/tool.bin', 'magic', 1, False)]" ]
check "the alerts name the downloading PC" \
    [ "$(ev_query "$E" "sorted(set(e['device']['ip'] for e in $A))")" = "['192.168.1.50']" ]
check "stats: six archives, one bomb, one encrypted, four with executables" \
    [ "$(ev_query "$E" "[$S['detect']['archives'][k] for k in ('inspected','bombs','encrypted','with_executable','errors')]")" = "[6, 1, 1, 4, 0]" ]
check "stats: one file kept (the only one over 512 bytes), nothing held at the end" \
    [ "$(ev_query "$E" "[$S['app_layer']['files'][k] for k in ('kept','kept_cut_size','kept_bytes')]")" = "[1, 0, 0]" ]

E2="$T_TMP/small.json"
"$SENSOR" -q -r "$P" -o "$E2" --set log.level=error --set inventory.enabled=no \
    --set detect.files.archive_buffer=64KiB --set detect.files.archive_max_depth=1
check "64 KiB kept, depth 1: big.zip's member and the nested one are not reached" \
    [ "$(ev_query "$E2" "sorted(e['alert']['evidence']['filename'] for e in $A)")" = "['/dl/locked.zip', '/dl/tool.bin.gz']" ]
check "... and the cut and the depth cap are counted" \
    [ "$(ev_query "$E2" "[$S['app_layer']['files']['kept_cut_size'], $S['detect']['archives']['partial'], $S['detect']['archives']['capped']]")" = "[1, 1, 1]" ]

Y="$T_TMP/yara.pcap"
"$PY" "$OTASUKE_SRC/tools/gen-file-pcaps" --yara -o "$Y"
cat >"$T_TMP/rules.yar" <<'YAR'
rule EICAR_test_file { strings: $a = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE" condition: $a }
rule Tail_marker { strings: $t = "OTASUKE-TAIL-MARKER" condition: $t }
rule Never { strings: $n = "no such bytes anywhere 0x1f2e3d" condition: $n }
YAR
E3="$T_TMP/yara.json"
"$SENSOR" -q -r "$Y" -o "$E3" --set log.level=error --set inventory.enabled=no \
    --set detect.yara.rules="$T_TMP/rules.yar"
check "yara: two 2000405 alerts citing their rules" \
    [ "$(ev_query "$E3" "sorted((e['alert']['signature_id'], e['alert']['evidence']['filename'], e['alert']['evidence']['rule'], e['alert']['signature']) for e in $A)")" = \
      "[(2000405, '/dl/big.bin', 'Tail_marker', 'File matches a YARA rule (Tail_marker)'), (2000405, '/dl/eicar.com.txt', 'EICAR_test_file', 'File matches a YARA rule (EICAR_test_file)')]" ]
check "yara: the Japanese text cites the rule too" \
    [ "$(ev_query "$E3" "sorted(e['alert']['signature_ja'] for e in $A)[0]")" = "YARAルールに一致するファイル (EICAR_test_file)" ]
check "yara stats: three scanned, two matched" \
    [ "$(ev_query "$E3" "[$S['detect']['scan'][k] for k in ('scanned','matched','errors','incomplete')]")" = "[3, 2, 0, 0]" ]
E4="$T_TMP/yara64.json"
"$SENSOR" -q -r "$Y" -o "$E4" --set log.level=error --set inventory.enabled=no \
    --set detect.yara.rules="$T_TMP/rules.yar" --set detect.files.archive_buffer=64KiB
check "yara, 64 KiB kept: the big file is not scanned, counted" \
    [ "$(ev_query "$E4" "[[e['alert']['evidence']['rule'] for e in $A], $S['detect']['scan']['incomplete']]")" = "[['EICAR_test_file'], 1]" ]
printf 'rule bad { strings: $a = "x" condition: $b }\n' >"$T_TMP/bad.yar"
"$SENSOR" -q -r "$Y" -o "$T_TMP/bad.json" --set detect.yara.rules="$T_TMP/bad.yar" 2>"$T_TMP/bad.err"
check "a rules file that does not compile: exit 1 with file:line" \
    grep -q "bad.yar:1: undefined string" "$T_TMP/bad.err"

# ClamAV (detect.clamav.db) with a database made here: the EICAR file by its MD5
# (.hdb), the marker by a body signature (.ndb); and, on the archive downloads, a
# signature on the PE's DOS stub, which ClamAV finds inside the archives it unpacks.
mkdir -p "$T_TMP/clam"
printf '44d88612fea8a8f36de82e1278abb02f:68:Otasuke.Test.EICAR\n' >"$T_TMP/clam/test.hdb"
printf 'Otasuke.Test.TailMarker:0:*:%s\n' "$(printf OTASUKE-TAIL-MARKER | od -An -tx1 | tr -d ' \n')" >"$T_TMP/clam/test.ndb"
E5="$T_TMP/clam.json"
"$SENSOR" -q -r "$Y" -o "$E5" --set log.level=error --set inventory.enabled=no \
    --set detect.clamav.db="$T_TMP/clam"
check "clamav: two 2000406 alerts naming the signatures" \
    [ "$(ev_query "$E5" "sorted((e['alert']['signature_id'], e['alert']['evidence']['filename'], e['alert']['evidence']['virus'], e['alert']['signature']) for e in $A)")" = \
      "[(2000406, '/dl/big.bin', 'Otasuke.Test.TailMarker.UNOFFICIAL', 'File detected by ClamAV (Otasuke.Test.TailMarker.UNOFFICIAL)'), (2000406, '/dl/eicar.com.txt', 'Otasuke.Test.EICAR.UNOFFICIAL', 'File detected by ClamAV (Otasuke.Test.EICAR.UNOFFICIAL)')]" ]
printf 'Otasuke.Test.DOSStub:1:*:%s\n' "$(printf 'This program cannot be run in DOS mode' | od -An -tx1 | tr -d ' \n')" >"$T_TMP/pe.ndb"
E6="$T_TMP/clam-arc.json"
"$SENSOR" -q -r "$P" -o "$E6" --set log.level=error --set inventory.enabled=no \
    --set detect.clamav.db="$T_TMP/pe.ndb"
check "clamav inside archives: the PE in big.zip, bomb.zip (its second member) and tool.bin.gz" \
    [ "$(ev_query "$E6" "sorted(e['alert']['evidence']['filename'] for e in $A if e['alert']['signature_id']==2000406)")" = \
      "['/dl/big.zip', '/dl/bomb.zip', '/dl/tool.bin.gz']" ]
printf 'not a signature\n' >"$T_TMP/bad.ndb"
"$SENSOR" -q -r "$Y" -o "$T_TMP/bad2.json" --set detect.clamav.db="$T_TMP/bad.ndb" 2>"$T_TMP/bad2.err"
check "a database that does not load stops the start, saying why" \
    grep -q "detect.clamav.db: .*bad.ndb: Malformed database" "$T_TMP/bad2.err"
finish
