#!/usr/bin/env bash
# The center as a sensor and an operator meet it: the otasuke CLI (companies,
# sensors, enrollment codes, revoke), enrollment once, ingest of the sensor's events
# from the demo capture (plain and gzip), replay stored once, malformed lines rejected
# by number while the good ones are kept, 401/400/404/405/413/415, a busy database
# answering 503 with Retry-After, tenant-scoped reads, clean shutdown.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
cd "$T_TMP"
DB=$T_TMP/c.db
LOG=$T_TMP/center.log

# ---- CLI ----
check "otasuke --help" bash -c "'$OTASUKE' --help | grep -q 'company add'"
check "otasuke-center --version" bash -c "'$CENTER' --version | grep -q '^otasuke-center [0-9]'"
check "otasuke-center without --db is a usage error (2)" \
    bash -c "'$CENTER' 2>/dev/null; [ \$? -eq 2 ]"
"$CENTER" -T --db "$DB" --max-body 2MiB --set store.sync=normal >eff1.yaml
check "-T shows the effective settings" \
    bash -c "grep -q '^ingest.max_body: 2 MiB' eff1.yaml && grep -q '^store.sync: normal' eff1.yaml"
"$PY" - eff1.yaml >nested.yaml <<'PYEOF'
import sys
tree = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition(": ")
    node = tree
    for p in k.split(".")[:-1]:
        node = node.setdefault(p, {})
    node[k.split(".")[-1]] = v
def out(n, ind=0):
    for k, v in n.items():
        if isinstance(v, dict):
            print(" " * ind + k + ":"); out(v, ind + 2)
        else:
            print(" " * ind + k + ": " + v)
out(tree)
PYEOF
"$CENTER" -c nested.yaml -T >eff2.yaml
check "-T output loads back to the same settings" diff eff1.yaml eff2.yaml
printf 'db: x.db\nhttp:\n  threads: 8\n  bogus: 1\n' >bad.yaml
"$CENTER" -c bad.yaml -T >/dev/null 2>err.txt; rc=$?
check "unknown setting: exit 2 with file:line" bash -c "[ $rc -eq 2 ] && grep -q 'bad.yaml:4: http.bogus' err.txt"
check "out-of-range setting refused" bash -c "! '$CENTER' -T --db x --threads 0 2>/dev/null"
"$OTASUKE" company add --db "$DB" --name "株式会社ヤマト精機" --sector automotive \
    --tz Asia/Tokyo --lang ja --devices 40 --contacts it@yamato.example >a.txt
check "company add prints company_id" grep -q '^company_id=1$' a.txt
"$OTASUKE" company add --db "$DB" --name "B Retail" --sector retail --lang en >b.txt
check "second company" grep -q '^company_id=2$' b.txt
check "duplicate company name refused" \
    bash -c "! '$OTASUKE' company add --db '$DB' --name '株式会社ヤマト精機' --sector x 2>err.txt && grep -q 'exists already' err.txt"
check "unknown time zone refused" \
    bash -c "! '$OTASUKE' company add --db '$DB' --name C --sector x --tz Mars/Olympus 2>/dev/null"
check "bad language refused" \
    bash -c "! '$OTASUKE' company add --db '$DB' --name C --sector x --lang fr 2>/dev/null"
check "sensor for a missing company refused" \
    bash -c "! '$OTASUKE' sensor add --db '$DB' --company 99 2>/dev/null"
"$OTASUKE" sensor add --db "$DB" --company 1 --name gw-office >s1.txt
"$OTASUKE" sensor add --db "$DB" --company 2 --name gw-b >s2.txt
"$OTASUKE" sensor add --db "$DB" --company 1 --name gw-spare >s3.txt
CODE1=$(sed -n 's/^enrollment_code=//p' s1.txt)
CODE2=$(sed -n 's/^enrollment_code=//p' s2.txt)
CODE3=$(sed -n 's/^enrollment_code=//p' s3.txt)
check "sensor add prints a one-time code" bash -c "[[ '$CODE1' =~ ^otc_[0-9a-f]{32}$ ]]"
check "the code is not stored in clear" \
    bash -c "! sqlite3 '$DB' .dump | grep -q '${CODE1#otc_}'"
check "db version: migrated to the latest" bash -c "'$OTASUKE' db version --db '$DB' >v.txt; [ \"\$(sed -n 's/^schema_version=//p' v.txt)\" = \"\$(sed -n 's/^latest=//p' v.txt)\" ]"

# ---- server ----
center_start "$DB" "$LOG" --max-body 1MiB --max-inflated 4MiB --max-line 64KiB \
    --busy-timeout 300ms --timeout 2s || { cat "$LOG"; bad "center starts"; finish; exit 1; }
ok "center starts on port $CENTER_PORT"

st=$(req en1.json POST /api/v1/enroll -d "{\"code\":\"$CODE1\"}")
check "enroll: 200" [ "$st" = 200 ]
TOK1=$(jget en1.json 'J["token"]')
check "enroll: a device token" bash -c "[[ '$TOK1' =~ ^otk_[0-9a-f]{64}$ ]]"
check "the token is not stored in clear" bash -c "! sqlite3 '$DB' .dump | grep -q '${TOK1#otk_}'"
st=$(req en1b.json POST /api/v1/enroll -d "{\"code\":\"$CODE1\"}")
check "enroll twice with one code: 401" [ "$st" = 401 ]
st=$(req x.json POST /api/v1/enroll -d '{"code":42}')
check "enroll with garbage: 400" [ "$st" = 400 ]
head -c 8192 /dev/zero | tr '\0' a >big.txt
st=$(req x.json POST /api/v1/enroll --data-binary @big.txt)
check "enroll body over 4 KiB: 413" [ "$st" = 413 ]
req en2.json POST /api/v1/enroll -d "{\"code\":\"$CODE2\"}" >/dev/null
TOK2=$(jget en2.json 'J["token"]')
req en3.json POST /api/v1/enroll -d "{\"code\":\"$CODE3\"}" >/dev/null
TOK3=$(jget en3.json 'J["token"]')
# People who read: a viewer of A and one of B (device tokens are for ingest only).
user_add view.a tenant_viewer 1
user_add view.b tenant_viewer 2
PA="Authorization: Bearer $(login_bearer view.a)"
PB="Authorization: Bearer $(login_bearer view.b)"
check "viewers of A and B logged in" bash -c "[[ '$PA' =~ ots_[0-9a-f]{64}$ && '$PB' =~ ots_[0-9a-f]{64}$ ]]"

# ---- ingest of the sensor's own events from the demo capture ----
"$SENSOR" -r "$PCAP" -o eve.json 2>/dev/null
NEVE=$(wc -l <eve.json)
check "the sensor wrote events" [ "$NEVE" -gt 1000 ]
split -l 500 -d eve.json part.
seq=0; fails=0
for f in part.*; do
    seq=$((seq + 1))
    if [ $((seq % 2)) -eq 0 ]; then
        gzip -c "$f" >"$f.gz"
        st=$(ingest r.json "$TOK1" "demo-$seq" "$seq" "$f.gz" -H "Content-Encoding: gzip")
    else
        st=$(ingest r.json "$TOK1" "demo-$seq" "$seq" "$f")
    fi
    [ "$st" = 200 ] && [ "$(jget r.json 'J["stored"]')" = "$(wc -l <"$f")" ] || fails=$((fails + 1))
done
check "every demo batch (plain and gzip) answered 200 with all lines stored" [ "$fails" -eq 0 ]
check "events in the database = lines the sensor wrote ($NEVE)" \
    [ "$(sqlite3 "$DB" 'select count(*) from events where sensor_id=1')" = "$NEVE" ]
# Counters per type (center) against a count of the sensor's file (python).
"$PY" - eve.json >want.txt <<'PYEOF'
import collections, json, sys
c = collections.Counter()
for l in open(sys.argv[1]):
    e = json.loads(l)
    c[(e["timestamp"][:10], e["event_type"])] += 1   # the demo's times are UTC (+00:00)
for k in sorted(c): print(k[0], k[1], c[k])
PYEOF
req cnt.json GET /api/v1/counters -H "$PA" >/dev/null
# (alert counters are kept per category too: summed here per day and type)
jget cnt.json '"\n".join("%s %s %d" % (d, t, sum(c["count"] for c in J["counters"] if (c["day"], c["event_type"]) == (d, t))) for d, t in sorted({(c["day"], c["event_type"]) for c in J["counters"]}))' >got.txt
check "counters per day and type = the sensor's file" diff want.txt got.txt

# ---- replay ----
st=$(ingest r.json "$TOK1" demo-1 1 part.00)
check "replayed batch: 200" [ "$st" = 200 ]
check "replayed batch: duplicate, first delivery's count" \
    [ "$(jget r.json 'J["duplicate"] and J["stored"] == 500')" = True ]
check "replayed batch stored once" \
    [ "$(sqlite3 "$DB" 'select count(*) from events where sensor_id=1')" = "$NEVE" ]

# ---- bad lines among good ones ----
TS=2026-11-23T01:02:03.000004+09:00
{
    echo "{\"timestamp\":\"$TS\",\"event_type\":\"alert\",\"alert\":{\"category\":\"c2\",\"signature\":\"good-1\"}}"
    echo '{"timestamp": "2026-11-23T01:02:03Z", "event_type": "alert", "alert": {'
    printf '{"timestamp":"%s","event_type":"alert","alert":{"signature":"\xc3\x28"}}\n' "$TS"
    printf '{"timestamp":"%s","event_type":"alert","pad":"%s"}\n' "$TS" "$(head -c 70000 /dev/zero | tr '\0' x)"
    echo '{"timestamp":"yesterday","event_type":"alert"}'
    echo "{\"timestamp\":\"$TS\",\"event_type\":\"alert\",\"alert\":{\"category\":\"c2\",\"signature\":\"good-2 <script>\"}}"
} >mixed.ndjson
st=$(ingest r.json "$TOK1" mixed-1 100 mixed.ndjson)
check "mixed batch: 200" [ "$st" = 200 ]
check "mixed batch: 2 stored, 4 rejected" [ "$(jget r.json '(J["stored"], J["rejected"])')" = "(2, 4)" ]
check "mixed batch: rejected line numbers and reasons" \
    [ "$(jget r.json '[(e["line"], e["error"]) for e in J["errors"]]')" = "[(2, 'invalid JSON'), (3, 'invalid UTF-8'), (4, 'line too long'), (5, 'timestamp not RFC 3339')]" ]
req ev.json GET "/api/v1/events?type=alert&since=2026-11-22T00:00:00Z" -H "$PA" >/dev/null
check "mixed batch: both good lines readable, byte for byte" \
    [ "$(jget ev.json '[e["event"]["alert"]["signature"] for e in J["events"]]')" = "['good-1', 'good-2 <script>']" ]
req cnt2.json GET "/api/v1/counters?type=alert" -H "$PA" >/dev/null
check "alert counted by category on its UTC day" \
    [ "$(jget cnt2.json '[(c["day"], c["category"], c["count"]) for c in J["counters"] if c["day"] == "2026-11-22"]')" = "[('2026-11-22', 'c2', 2)]" ]

# ---- status codes ----
printf 'garbage\n' >g.ndjson
st=$(ingest r.json "otk_$(printf '%064d' 0)" g1 1 g.ndjson); check "unknown token: 401" [ "$st" = 401 ]
st=$(req r.json POST /api/v1/ingest -H "X-Otasuke-Batch: g2" -H "X-Otasuke-Seq: 1" --data-binary @g.ndjson)
check "no token: 401" [ "$st" = 401 ]
st=$(ingest r.json "$TOK1" "bad batch id" 1 g.ndjson); check "bad batch id: 400" [ "$st" = 400 ]
st=$(req r.json POST /api/v1/ingest -H "Authorization: Bearer $TOK1" -H "X-Otasuke-Batch: g3" --data-binary @g.ndjson)
check "no sequence: 400" [ "$st" = 400 ]
st=$(ingest r.json "$TOK1" g4 1 g.ndjson -H "Content-Encoding: br"); check "unknown encoding: 415" [ "$st" = 415 ]
: >empty.ndjson
st=$(ingest r.json "$TOK1" g5 1 empty.ndjson); check "empty batch: 400" [ "$st" = 400 ]
st=$(ingest r.json "$TOK1" g6 1 g.ndjson -H "Content-Encoding: gzip"); check "corrupt gzip: 400" [ "$st" = 400 ]
head -c 1100000 /dev/zero | tr '\0' '\n' >huge.ndjson
st=$(ingest r.json "$TOK1" g7 1 huge.ndjson); check "body over --max-body: 413" [ "$st" = 413 ]
head -c 8000000 /dev/zero | tr '\0' '\n' | gzip -c >bomb.gz
st=$(ingest r.json "$TOK1" g8 1 bomb.gz -H "Content-Encoding: gzip")
check "gzip over --max-inflated: 413" [ "$st" = 413 ]
st=$(req r.json GET /api/v1/ingest -H "Authorization: Bearer $TOK1"); check "GET ingest: 405" [ "$st" = 405 ]
st=$(req r.json GET /api/v1/nothing); check "unknown path: 404" [ "$st" = 404 ]
st=$(req r.json GET "/api/v1/events?limit=0" -H "$PA"); check "bad limit: 400" [ "$st" = 400 ]
st=$(req r.json GET "/api/v1/events?since=%27%20OR%201=1--" -H "$PA")
check "injection string in since: 400" [ "$st" = 400 ]
# S7: injection strings in every parameter: never a 500, never another tenant's data.
inj_bad=0
for v in "%27%20OR%201=1--" "1%3BDROP%20TABLE%20events" "%22%29%29--" "%00" "-1" \
    "99999999999999999999999" "2026-11-22T00:00:00Z%27" "..%2F..%2Fetc%2Fpasswd"; do
    for p in "events?type=$v" "events?since=$v" "events?after=$v" "events?limit=$v" \
        "counters?type=$v" "counters?from=$v" "counters?to=$v"; do
        st=$(req r.json GET "/api/v1/$p" -H "$PB")
        case "$st" in 200) [ "$(jget r.json 'sum(1 for e in J.get("events", []) if e["sensor_id"] != 2)')" = 0 ] || inj_bad=$((inj_bad + 1)) ;;
                      400) ;; *) echo "  $p -> $st"; inj_bad=$((inj_bad + 1)) ;; esac
    done
done
check "injection sweep over every query parameter: only 200 (own data) or 400" [ "$inj_bad" -eq 0 ]
check "nothing of the bad requests was stored" \
    [ "$(sqlite3 "$DB" "select count(*) from batches where batch_id like 'g%'")" = 0 ]

# ---- tenant isolation ----
st=$(req e2.json GET /api/v1/events -H "$PB")
check "tenant B sees none of A's events" [ "$st/$(jget e2.json 'len(J["events"])')" = "200/0" ]
req c2.json GET /api/v1/counters -H "$PB" >/dev/null
check "tenant B has no counters" [ "$(jget c2.json 'len(J["counters"])')" = 0 ]
req e3.json GET "/api/v1/events?limit=1000" -H "$PA" >/dev/null
check "A's viewer reads the tenant's events (both sensors)" [ "$(jget e3.json 'len(J["events"])')" = 1000 ]

# ---- busy database: 503 with Retry-After, then stored ----
"$PY" -c 'import sqlite3,sys,time
c=sqlite3.connect(sys.argv[1],isolation_level=None); c.execute("BEGIN IMMEDIATE")
open(sys.argv[2],"w").close(); time.sleep(2)' "$DB" locked &
lockpid=$!
for _ in $(seq 1 100); do [ -e locked ] && break; sleep 0.05; done
curl -s -D hdr.txt -o r.json -H "Authorization: Bearer $TOK1" -H "X-Otasuke-Batch: busy-1" \
    -H "X-Otasuke-Seq: 200" --data-binary @part.00 "http://127.0.0.1:$CENTER_PORT/api/v1/ingest"
check "locked database: 503" grep -q '^HTTP/1.1 503' hdr.txt
check "locked database: Retry-After" grep -qi '^Retry-After: 1' hdr.txt
wait $lockpid
st=$(ingest r.json "$TOK1" busy-1 200 part.00)
check "after the lock: the same batch stored" [ "$st/$(jget r.json 'J["stored"]')" = "200/500" ]

# ---- slow clients (S9): a connection stuck in its headers is closed by the timeout ----
"$PY" - "$CENTER_PORT" >slow.txt <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nX-Slow: ")
s.settimeout(8)
t = time.time()
try:
    data = s.recv(100)
except OSError:
    data = b"error"
print("closed" if data == b"" else "open", round(time.time() - t))
PYEOF
check "headers stalled: connection closed after --timeout 2s" grep -Eq '^closed [1-4]$' slow.txt

# ---- revoke ----
"$OTASUKE" sensor revoke --db "$DB" --id 1 >/dev/null
st=$(ingest r.json "$TOK1" after-revoke 1 part.00); check "revoked token: 401" [ "$st" = 401 ]
st=$(req r.json GET /api/v1/events -H "Authorization: Bearer $TOK3"); check "a device token cannot read events: 403" [ "$st" = 403 ]
check "sensor list shows the state" bash -c "'$OTASUKE' sensor list --db '$DB' | grep -q $'^1\t1\tgw-office\trevoked'"

# ---- shutdown ----
center_stop; rc=$?
check "SIGTERM: exit 0" [ "$rc" -eq 0 ]
check "SIGTERM: logged stopped" grep -q 'mod=center stopped' "$LOG"
check "integrity_check ok" [ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ]
finish
