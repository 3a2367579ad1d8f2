#!/usr/bin/env bash
# Incidents and notifications end to end, with real components: alert events written
# per the alert contract (tests/lib/alerts.py) are ingested by a real otasuke-center;
# the incidents are read back over the API (grouping by device within the window,
# severity, categories, first steps, timeline), the state machine and comments are
# driven, suppression rules silence alerts; mails go over SMTP to a real receiver
# (python3-aiosmtpd, tests/lib/mailsink.py) and webhooks to a python http.server,
# and the test parses what they received (MIME, decoded subject, device, first steps).
# Faults: the SMTP receiver down (retries, then delivered), a webhook that never
# answers 2xx (given up after notify.max_attempts, error recorded), and the center
# killed (-9) with mails queued (delivered once after the restart). Tenant isolation
# of every new endpoint with tenant admins of A and B (tests/integration/center_auth.sh
# covers every role).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
"$PY" -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd not installed (tools/install-deps.sh)"
cd "$T_TMP"
DB=$T_TMP/c.db
LOG=$T_TMP/center.log
LIB=$OTASUKE_SRC/tests/lib
SMTP_PID=""
HOOK_PID=""
cleanup() {
    [ -n "$CENTER_PID" ] && kill -9 "$CENTER_PID" 2>/dev/null
    [ -n "$SMTP_PID" ] && kill "$SMTP_PID" 2>/dev/null
    [ -n "$HOOK_PID" ] && kill "$HOOK_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T_TMP"
}
trap cleanup EXIT

# smtp_start [PORT]: the SMTP receiver, storing into $T_TMP/mail; sets SMTP_PORT.
smtp_start() {
    rm -f smtp.port
    "$PY" "$LIB/mailsink.py" "$T_TMP/mail" smtp.port ${1:-} 2>>smtp.log &
    SMTP_PID=$!
    for _ in $(seq 1 200); do [ -s smtp.port ] && break; sleep 0.05; done
    SMTP_PORT=$(cat smtp.port)
}
smtp_stop() { kill "$SMTP_PID" 2>/dev/null; wait "$SMTP_PID" 2>/dev/null; SMTP_PID=""; }
mails() { ls "$T_TMP"/mail/*.eml 2>/dev/null | wc -l; }
# wait_for DESCRIPTION COMMAND...: retries COMMAND for up to 30 s (a bound, not a
# timing assertion: the test only checks the final state).
wait_for() { local d=$1; shift; for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done; echo "gave up waiting: $d"; return 1; }

smtp_start
mkdir -p hook
"$PY" "$LIB/webhooksink.py" "$T_TMP/hook" hook.port 2>>hook.log &
HOOK_PID=$!
for _ in $(seq 1 200); do [ -s hook.port ] && break; sleep 0.05; done
HOOK_PORT=$(cat hook.port)
# A port with nothing behind it, for the webhook that always fails.
DEAD_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

"$OTASUKE" company add --db "$DB" --name "株式会社ヤマト精機" --sector automotive --lang ja \
    --contacts "it@yamato.example,boss@yamato.example" >/dev/null
"$OTASUKE" company add --db "$DB" --name "B Retail" --sector retail --lang en \
    --contacts ops@b.example >/dev/null
check "company notify: threshold and webhook of A" \
    bash -c "'$OTASUKE' company notify --db '$DB' --id 1 --severity 2 --webhook http://127.0.0.1:$HOOK_PORT/hook >/dev/null"
check "company notify: webhook of B points nowhere" \
    bash -c "'$OTASUKE' company notify --db '$DB' --id 2 --severity 1 --webhook http://127.0.0.1:$DEAD_PORT/x >/dev/null"
check "company notify refuses a threshold of 5" \
    bash -c "! '$OTASUKE' company notify --db '$DB' --id 1 --severity 5 2>/dev/null"
check "company notify refuses a non-http webhook" \
    bash -c "! '$OTASUKE' company notify --db '$DB' --id 1 --webhook file:///etc/passwd 2>/dev/null"
codeA=$("$OTASUKE" sensor add --db "$DB" --company 1 | sed -n 's/^enrollment_code=//p')
codeB=$("$OTASUKE" sensor add --db "$DB" --company 2 | sed -n 's/^enrollment_code=//p')

CENTER_OPTS=(--set "notify.smtp_url=smtp://127.0.0.1:$SMTP_PORT" --set notify.smtp_tls=none
    --set "notify.from=otasuke SOC <soc@provider.example>" --set notify.staff=analyst@provider.example
    --set notify.poll=100ms --set notify.retry_base=100ms --set notify.retry_max=200ms
    --set notify.max_attempts=3 --set notify.timeout=5s --set incident.window=30m --log-level info)
center_start "$DB" "$LOG" "${CENTER_OPTS[@]}" || { echo "center did not start"; cat "$LOG"; exit 1; }
tokA=$(enroll "$codeA")
tokB=$(enroll "$codeB")
# People: an admin of each tenant (device tokens are for ingest only).
user_add adm.a tenant_admin 1
user_add adm.b tenant_admin 2
AA="Authorization: Bearer $(login_bearer adm.a)"
AB="Authorization: Bearer $(login_bearer adm.b)"
# is DESCRIPTION EXPECTED ACTUAL
is() { if [ "$3" = "$2" ]; then ok "$1"; else bad "$1 (expected [$2], got [$3])"; fi; }
# get FILE PATH [TOKEN-HEADER]: GET as A (or as given) into FILE; prints nothing.
get() { req "$1" GET "$2" -H "${3:-$AA}" >/dev/null; }

# ---- grouping ----
MACX=8c:16:45:77:51:a6
# Device X (MAC): medium, then high 5 min later, then critical (n=2) — one incident,
# escalated twice above the threshold (2): mails for "high" (escalated from an
# unnotified medium) and "critical". A non-alert event in between changes nothing.
"$PY" "$LIB/alerts.py" "mac=$MACX,ip=192.168.1.104,sev=3,cat=recon,sid=1000100" \
    "mac=$MACX,ip=192.168.1.104,sev=2,cat=c2,ts=2026-11-23T01:05:00Z" >b1.ndjson
echo '{"timestamp":"2026-11-23T01:06:00Z","event_type":"flow","src_ip":"192.168.1.104"}' >>b1.ndjson
"$PY" "$LIB/alerts.py" "mac=${MACX^^},ip=192.168.1.104,sev=1,cat=malware,sid=1000200,ts=2026-11-23T01:10:00Z,n=2" >>b1.ndjson
# Device Y: IP only, critical. Device Z: no device object at all (grouped by src_ip).
# Device X again 2 hours later (outside the 30 min window): a second incident.
"$PY" "$LIB/alerts.py" "ip=192.168.1.20,sev=1" "nodev=1,ip=-,src=192.168.1.30,sev=2" \
    "mac=$MACX,ip=192.168.1.104,sev=4,ts=2026-11-23T03:30:00Z" >>b1.ndjson
is "ingest of the alerts: 200" 200 "$(ingest r.json "$tokA" a-1 1 b1.ndjson)"
is "8 events stored" 8 "$(jget r.json 'J["stored"]')"
is "replayed batch: 200" 200 "$(ingest r.json "$tokA" a-1 1 b1.ndjson)"
is "replayed batch is a duplicate" True "$(jget r.json 'J["duplicate"]')"
is "list: 200" 200 "$(req inc.json GET /api/v1/incidents -H "$AA")"
is "list: 4 incidents for A (X, Y, src 192.168.1.30, X later)" 4 "$(jget inc.json 'len(J["incidents"])')"
is "list: newest first, keyed by MAC, IP, src_ip" \
    "['mac:$MACX', 'ip:192.168.1.30', 'ip:192.168.1.20', 'mac:$MACX']" \
    "$(jget inc.json '[i["device"]["key"] for i in J["incidents"]]')"
X=$(jget inc.json '[i["id"] for i in J["incidents"] if i["alerts"] == 4][0]')
get x.json "/api/v1/incidents/$X"
is "incident X: 4 alerts, severity 1 (the most severe), state new" "(4, 1, 'new', 4)" \
    "$(jget x.json '(J["alerts"], J["severity"], J["state"], len(J["timeline"]))')"
is "incident X: categories as a set" "['c2', 'malware', 'recon']" "$(jget x.json 'J["categories"]')"
is "incident X: device ip and mac (mac lower-cased)" "('192.168.1.104', '$MACX', None)" \
    "$(jget x.json '(J["device"]["ip"], J["device"]["mac"], J["device"]["name"])')"
is "incident X: first steps from the alerts' actions, each once, both languages" \
    "(3, 3, 'Disconnect this device from the network and call your administrator.')" \
    "$(jget x.json '(len(J["first_steps"]["ja"]), len(J["first_steps"]["en"]), J["first_steps"]["en"][1])')"
is "incident X: timeline in time order with the events as sent" \
    "[(3, 1000100), (2, 1000001), (1, 1000200), (1, 1000200)]" \
    "$(jget x.json '[(a["severity"], a["event"]["alert"]["signature_id"]) for a in J["timeline"]]')"
get f.json '/api/v1/incidents?severity=1'
is "filter severity=1: X and Y" 2 "$(jget f.json 'len(J["incidents"])')"
get f.json '/api/v1/incidents?since=2026-11-23T03:00:00Z'
is "filter since: only the later incident of X" "[1]" "$(jget f.json '[i["alerts"] for i in J["incidents"]]')"
get f.json '/api/v1/incidents?until=2026-11-23T02:00:00%2B00:00'
is "filter until: the three early incidents" 3 "$(jget f.json 'len(J["incidents"])')"
get f.json '/api/v1/incidents?limit=2'
nb=$(jget f.json 'J["next_before"]')
get g.json "/api/v1/incidents?limit=2&before=$nb"
is "paging: limit=2 has more, before= gives the other 2" "True False 2" \
    "$(jget f.json 'J["more"]') $(jget g.json 'J["more"]') $(jget g.json 'len(J["incidents"])')"
for q in 'state=open' 'severity=0' 'severity=5' 'since=yesterday' 'limit=0' 'limit=501' 'before=-1' "state=new%27--"; do
    is "bad query $q: 400" 400 "$(req /dev/null GET "/api/v1/incidents?$q" -H "$AA")"
done

# ---- notifications: mail and webhook ----
# Expected mails for A: X escalated to high (2) and to critical (1); Y critical;
# src 192.168.1.30 high (2); the later X (severity 4) is below the threshold: none.
# Webhooks: the same four.
nfiles() { ls "$T_TMP/$1"/*."$2" 2>/dev/null | wc -l; }
at_least() { [ "$(nfiles "$1" "$2")" -ge "$3" ]; }
wait_for "4 mails" at_least mail eml 4
wait_for "4 webhooks" at_least hook json 4
"$PY" "$LIB/mailcheck.py" "$T_TMP/mail" >m.json
is "exactly 4 mails" 4 "$(jget m.json 'len(J)')"
is "every mail is correct MIME (CRLF, lines <= 78, RFC 2047 subject, Date, Message-ID, UTF-8)" \
    "[[], [], [], []]" "$(jget m.json '[m["problems"] for m in J]')"
is "Message-IDs unique" 4 "$(jget m.json 'len(set(m["message_id"] for m in J))')"
is "envelope: the tenant's contacts and the provider's staff" \
    "['analyst@provider.example', 'boss@yamato.example', 'it@yamato.example']" "$(jget m.json 'sorted(J[0]["rcpt"])')"
is "From and MAIL FROM" "('otasuke SOC <soc@provider.example>', 'soc@provider.example')" \
    "$(jget m.json '(J[0]["from"], J[0]["mail_from"])')"
subjects=$(jget m.json '"\n".join(m["subject"] for m in J)')
check "subject of X decodes to Japanese with the severity, the device and the categories" \
    grep -qF "[otasuke] 緊急: インシデントの重大度上昇 #$X 192.168.1.104 (c2,malware,recon)" <<<"$subjects"
check "subject of Y: new critical incident" grep -qE '緊急: 新しいインシデント #[0-9]+ 192.168.1.20 \(c2\)' <<<"$subjects"
jget m.json "[m['body'] for m in J if m['incident'] == '$X'][-1]" >bx.txt
check "body (ja) names the device's IP" grep -q 'IPアドレス: 192.168.1.104' bx.txt
check "body (ja) names the device's MAC" grep -q "MACアドレス: $MACX" bx.txt
check "body (ja) has the first steps" grep -q 'まず行うこと' bx.txt
check "body (ja) first steps text" grep -q 'この機器でウイルス対策ソフトの全体スキャンを実行してください。' bx.txt
check "body (ja) has the English text too" grep -q 'Run a full antivirus scan on this device.' bx.txt
L=$(jget inc.json '[i["id"] for i in J["incidents"]][0]')
is "no mail for the severity-4 incident (below the threshold)" "[]" "$(jget m.json "[m for m in J if m['incident'] == '$L']")"
is "webhooks: 4 JSON POSTs" 4 "$(nfiles hook json)"
check "webhook body: the incident, its device and first steps" "$PY" -c '
import json,glob,sys
X, MAC = int(sys.argv[1]), sys.argv[2]
docs=[json.load(open(f,encoding="utf-8")) for f in sorted(glob.glob("hook/*.json"))]
x=[d for d in docs if d["incident"]["id"]==X]
assert len(x)==2 and x[-1]["type"]=="incident.escalated" and x[-1]["incident"]["severity"]==1, x
assert x[-1]["incident"]["device"]=={"ip":"192.168.1.104","mac":MAC,"name":None}
assert "Run a full antivirus scan on this device." in x[-1]["incident"]["first_steps"]["en"]
assert len(set(d["notification_id"] for d in docs))==4
' "$X" "$MACX"
check "webhook Content-Type: application/json" grep -qi '^Content-Type: application/json' hook/0001.hdr
get x.json "/api/v1/incidents/$X"
is "incident X lists its notifications as sent" \
    "[('mail', 'sent', 1), ('mail', 'sent', 2), ('webhook', 'sent', 1), ('webhook', 'sent', 2)]" \
    "$(jget x.json 'sorted((n["channel"], n["state"], n["severity"]) for n in J["notifications"])')"

# Tenant B (English, threshold 1, webhook to a dead port).
"$PY" "$LIB/alerts.py" "ip=10.1.1.5,mac=00:11:22:33:44:55,name=pos-terminal-1,sev=1,cat=malware" >b2.ndjson
ingest r.json "$tokB" b-1 1 b2.ndjson >/dev/null
wait_for "B's mail" at_least mail eml 5
"$PY" "$LIB/mailcheck.py" "$T_TMP/mail" >m.json
is "B's mail is in English, names the device by its name, goes only to B (and staff)" \
    "('[otasuke] critical: new incident #5 pos-terminal-1 (malware)', ['analyst@provider.example', 'ops@b.example'], [])" \
    "$(jget m.json '(J[4]["subject"], sorted(J[4]["rcpt"]), J[4]["problems"])')"
jget m.json 'J[4]["body"]' >bb.txt
check "B's mail body: IP" grep -q 'IP address: 10.1.1.5' bb.txt
check "B's mail body: MAC" grep -q 'MAC address: 00:11:22:33:44:55' bb.txt
check "B's mail body: first steps" grep -q 'Run a full antivirus scan' bb.txt
check "B's mail body: no Japanese" bash -c "! grep -q 'まず' bb.txt"
hook_failed() {
    get b5.json /api/v1/incidents/5 "$AB"
    [ "$(jget b5.json '[(n["state"], n["attempts"], "connect" in n["last_error"].lower()) for n in J["notifications"] if n["channel"] == "webhook"]')" = "[('failed', 3, True)]" ]
}
check "webhook to a dead port: given up after 3 attempts with the error recorded" wait_for "webhook failed" hook_failed

# ---- tenant isolation ----
get f.json /api/v1/incidents "$AB"
is "B's list holds only B's incident" "[5]" "$(jget f.json '[i["id"] for i in J["incidents"]]')"
is "B: GET A's incident → 404" 404 "$(req /dev/null GET "/api/v1/incidents/$X" -H "$AB")"
is "B: PATCH A's incident → 404" 404 "$(req /dev/null PATCH "/api/v1/incidents/$X" -H "$AB" -d '{"state":"acknowledged"}')"
is "B: comment on A's incident → 404" 404 "$(req /dev/null POST "/api/v1/incidents/$X/comments" -H "$AB" -d '{"text":"x"}')"
get x.json "/api/v1/incidents/$X"
is "A's incident unchanged by B's attempts" "('new', 0)" "$(jget x.json '(J["state"], len(J["notes"]))')"
zero=$(printf '0%.0s' $(seq 64))
for m in "GET /api/v1/incidents" "GET /api/v1/incidents/1" "PATCH /api/v1/incidents/1" "POST /api/v1/incidents/1/comments" \
    "GET /api/v1/suppressions" "POST /api/v1/suppressions" "GET /api/v1/suppressions/1" "PATCH /api/v1/suppressions/1" "DELETE /api/v1/suppressions/1"; do
    set -- $m
    is "anonymous $m → 401" 401 "$(req /dev/null "$1" "$2")"
    is "unknown session $m → 401" 401 "$(req /dev/null "$1" "$2" -H "Authorization: Bearer ots_$zero")"
    is "device token $m → 403" 403 "$(req /dev/null "$1" "$2" -H "Authorization: Bearer $tokA")"
done
is "PUT /api/v1/incidents/1 → 405" 405 "$(req /dev/null PUT /api/v1/incidents/1 -H "$AA")"
is "/api/v1/incidents/0, /x, /1/other → 404" 404404404 \
    "$(req /dev/null GET /api/v1/incidents/0 -H "$AA")$(req /dev/null GET /api/v1/incidents/x -H "$AA")$(req /dev/null GET /api/v1/incidents/1/other -H "$AA")"
is "nonexistent incident → 404" 404 "$(req /dev/null GET /api/v1/incidents/999 -H "$AA")"

# ---- state machine, assignee, comments ----
patch() { req p.json PATCH "/api/v1/incidents/${2:-$X}" -H "$AA" -H 'Content-Type: application/json' -d "$1"; }
is "new → resolved refused (409)" 409 "$(patch '{"state":"resolved"}')"
is "new → customer_contacted refused (409)" 409 "$(patch '{"state":"customer_contacted"}')"
is "new → acknowledged with an assignee (200)" 200 "$(patch '{"state":"acknowledged","assignee":"佐藤"}')"
is "answer is the changed incident" "('acknowledged', '佐藤')" "$(jget p.json '(J["state"], J["assignee"])')"
is "acknowledged → new refused (409)" 409 "$(patch '{"state":"new"}')"
is "acknowledged → acknowledged refused (409)" 409 "$(patch '{"state":"acknowledged"}')"
is "→ customer_contacted (200)" 200 "$(patch '{"state":"customer_contacted"}')"
is "→ onsite_dispatch (200)" 200 "$(patch '{"state":"onsite_dispatch"}')"
is "→ resolved (200)" 200 "$(patch '{"state":"resolved"}')"
is "resolved → false_positive refused (409)" 409 "$(patch '{"state":"false_positive"}')"
is "unknown state (400)" 400 "$(patch '{"state":"closed"}')"
is "unknown member (400)" 400 "$(patch '{"severity":1}')"
is "empty object (400)" 400 "$(patch '{}')"
is "not JSON (400)" 400 "$(patch 'state=resolved')"
is "duplicate keys (400)" 400 "$(patch '{"state":"new","state":"new"}')"
is "control character in assignee (400)" 400 "$(patch '{"assignee":"a\u0007b"}')"
head -c 20000 /dev/zero | tr '\0' a >big.txt
is "body over 16 KiB (413)" 413 "$(req /dev/null PATCH "/api/v1/incidents/$X" -H "$AA" --data-binary @big.txt)"
is "comment (201)" 201 "$(req c.json POST "/api/v1/incidents/$X/comments" -H "$AA" -d '{"text":"お客様に電話しました。\nPC を回収予定。"}')"
is "empty comment (400)" 400 "$(req /dev/null POST "/api/v1/incidents/$X/comments" -H "$AA" -d '{"text":""}')"
get x.json "/api/v1/incidents/$X"
is "notes: the state changes, the assignee and the comment" \
    "[('state', 'new -> acknowledged'), ('assignee', '佐藤'), ('state', 'acknowledged -> customer_contacted'), ('state', 'customer_contacted -> onsite_dispatch'), ('state', 'onsite_dispatch -> resolved'), ('comment', 'お客様に電話しました。\\nPC を回収予定。')]" \
    "$(jget x.json '[(n["kind"], n["text"]) for n in J["notes"]]')"
is "notes name their author (the person)" adm.a "$(jget x.json 'J["notes"][0]["author"]')"
get f.json '/api/v1/incidents?state=resolved'
is "filter state=resolved" "[$X]" "$(jget f.json '[i["id"] for i in J["incidents"]]')"
Y=$(jget inc.json '[i["id"] for i in J["incidents"] if i["device"]["key"] == "ip:192.168.1.20"][0]')
is "new → false_positive (200)" 200 "$(patch '{"state":"false_positive"}' "$Y")"
# A closed incident takes no new alerts: the device's next alert opens a new one.
"$PY" "$LIB/alerts.py" "ip=192.168.1.20,sev=3,ts=2026-11-23T01:02:00Z" >b3.ndjson
ingest r.json "$tokA" a-3 3 b3.ndjson >/dev/null
get f.json /api/v1/incidents
is "an alert for a device whose incident is closed opens a new incident" "['new', 'false_positive']" \
    "$(jget f.json '[i["state"] for i in J["incidents"] if i["device"]["key"] == "ip:192.168.1.20"]')"

# ---- suppression rules ----
sup() { req s.json "$1" "$2" -H "$AA" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
is "rule needs signature or device (400)" 400 "$(sup POST /api/v1/suppressions '{"reason":"x","duration":"1d"}')"
is "rule needs a reason (400)" 400 "$(sup POST /api/v1/suppressions '{"signature_id":1,"duration":"1d"}')"
is "rule needs an expiry in the future (400)" 400 "$(sup POST /api/v1/suppressions '{"signature_id":1,"reason":"x","expires":"2020-01-01T00:00:00Z"}')"
is "rule needs an expiry at all (400)" 400 "$(sup POST /api/v1/suppressions '{"signature_id":1,"reason":"x"}')"
is "rule: bad device (400)" 400 "$(sup POST /api/v1/suppressions '{"device":"printer","reason":"x","duration":"1d"}')"
is "rule: more than 366 days (400)" 400 "$(sup POST /api/v1/suppressions '{"signature_id":1,"reason":"x","duration":"400d"}')"
is "rule: unknown member (400)" 400 "$(sup POST /api/v1/suppressions '{"signature_id":1,"reason":"x","duration":"1d","tenant":2}')"
is "rule: another tenant's company_id (404)" 404 "$(sup POST /api/v1/suppressions '{"signature_id":1,"reason":"x","duration":"1d","company_id":2}')"
is "rule by signature and device (201)" 201 \
    "$(sup POST /api/v1/suppressions '{"signature_id":1000300,"device":"AA:BB:CC:00:11:22","reason":"社内の脆弱性診断 / internal scanner","duration":"7d"}')"
is "rule as stored" "('mac:aa:bb:cc:00:11:22', True, 0, 1000300)" "$(jget s.json '(J["device"], J["active"], J["hits"], J["signature_id"])')"
R1=$(jget s.json 'J["id"]')
EXP=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
is "rule by device IP only, with an RFC 3339 expiry (201)" 201 \
    "$(sup POST /api/v1/suppressions '{"device":"192.168.1.77","reason":"lab machine","expires":"'"$EXP"'"}')"
R2=$(jget s.json 'J["id"]')
if [ "$R2" = "None" ] || [ -z "$R2" ]; then R2=0; fi
nm_before=$(nfiles mail eml)
"$PY" "$LIB/alerts.py" "mac=aa:bb:cc:00:11:22,ip=192.168.1.50,sid=1000300,sev=1,cat=recon" \
    "mac=aa:bb:cc:00:11:22,ip=192.168.1.50,sid=1000301,sev=1,cat=recon" \
    "mac=de:ad:be:ef:00:01,ip=192.168.1.77,sev=1,sid=42" >b4.ndjson
is "suppressed alerts are stored: 200" 200 "$(ingest r.json "$tokA" a-4 4 b4.ndjson)"
is "suppressed alerts are stored: 3" 3 "$(jget r.json 'J["stored"]')"
get f.json /api/v1/incidents
is "only the alert no rule matches (another signature) makes an incident" "[('mac:aa:bb:cc:00:11:22', 1)]" \
    "$(jget f.json '[(i["device"]["key"], i["alerts"]) for i in J["incidents"] if i["device"]["key"] in ("mac:aa:bb:cc:00:11:22", "mac:de:ad:be:ef:00:01")]')"
sup GET /api/v1/suppressions >/dev/null
is "rule hits counted" "[1, 1]" "$(jget s.json '[r["hits"] for r in J["suppressions"]]')"
get k.json '/api/v1/counters?type=alert_suppressed'
is "suppressed alerts counted per day and category" "[('c2', 1), ('recon', 1)]" \
    "$(jget k.json '[(c["category"], c["count"]) for c in J["counters"]]')"
wait_for "the unsuppressed incident's mail" at_least mail eml $((nm_before + 1))
is "suppressed alerts send no mail (exactly one new mail)" $((nm_before + 1)) "$(nfiles mail eml)"
is "B cannot see, change or delete A's rule (404)" 404404404 \
    "$(req /dev/null GET "/api/v1/suppressions/$R1" -H "$AB")$(req /dev/null PATCH "/api/v1/suppressions/$R1" -H "$AB" -d '{"reason":"x"}')$(req /dev/null DELETE "/api/v1/suppressions/$R1" -H "$AB")"
get f.json /api/v1/suppressions "$AB"
is "B's rule list is empty" "[]" "$(jget f.json 'J["suppressions"]')"
is "PATCH a rule: new reason (200)" 200 "$(sup PATCH "/api/v1/suppressions/$R1" '{"reason":"scanner, ticket 42"}')"
is "PATCH answer" "scanner, ticket 42" "$(jget s.json 'J["reason"]')"
is "PATCH with an unknown member (400)" 400 "$(sup PATCH "/api/v1/suppressions/$R1" '{"hits":0}')"
is "DELETE a rule (200), then 404" 200404 "$(sup DELETE "/api/v1/suppressions/$R2")$(sup DELETE "/api/v1/suppressions/$R2")"
"$PY" "$LIB/alerts.py" "mac=de:ad:be:ef:00:01,ip=192.168.1.77,sev=3,sid=42,ts=2026-11-23T01:20:00Z" >b5.ndjson
ingest r.json "$tokA" a-5 5 b5.ndjson >/dev/null
get f.json /api/v1/incidents
is "after the rule is deleted the device's alerts make an incident" "[1]" \
    "$(jget f.json '[i["alerts"] for i in J["incidents"] if i["device"]["key"] == "mac:de:ad:be:ef:00:01"]')"
check "CLI: suppress list shows A's rule" bash -c "'$OTASUKE' suppress list --db '$DB' --company 1 | grep -q 'scanner, ticket 42'"
check "CLI: incident list" bash -c "'$OTASUKE' incident list --db '$DB' --company 1 | grep -q '^$X	'"
check "CLI: incident set refuses resolved → new" bash -c "! '$OTASUKE' incident set --db '$DB' --id $X --state new 2>/dev/null"

# ---- SMTP receiver down: retries, then delivered ----
# Restarted (SIGTERM) with room for many attempts, so that a slow machine cannot run
# them out before the receiver is back.
check "SIGTERM with the sender idle: clean exit" center_stop
center_start "$DB" "$LOG" "${CENTER_OPTS[@]}" --set notify.max_attempts=1000 || { echo "center did not restart"; tail "$LOG"; }
smtp_stop
nm_before=$(nfiles mail eml)
"$PY" "$LIB/alerts.py" "ip=192.168.1.60,sev=1,ts=2026-11-23T02:00:00Z" >b6.ndjson
ingest r.json "$tokA" a-6 6 b6.ndjson >/dev/null
get f.json /api/v1/incidents
I6=$(jget f.json '[i["id"] for i in J["incidents"] if i["device"]["key"] == "ip:192.168.1.60"][0]')
mail_state() {
    get g.json "/api/v1/incidents/$I6"
    [ "$(jget g.json '[(n["state"], n["attempts"] >= '"$2"') for n in J["notifications"] if n["channel"] == "mail"]')" = "[('$1', True)]" ]
}
check "SMTP down: the mail is retried (2 attempts recorded, still queued)" wait_for "2 attempts" mail_state queued 2
smtp_start "$SMTP_PORT"
check "SMTP back: delivered" wait_for "sent" mail_state sent 3
is "exactly one mail for it" $((nm_before + 1)) "$(nfiles mail eml)"

# ---- kill -9 with mails queued ----
smtp_stop
nm_before=$(nfiles mail eml)
specs=()
for i in 1 2 3 4 5; do specs+=("ip=192.168.2.$i,sev=1,ts=2026-11-23T02:30:00Z"); done
"$PY" "$LIB/alerts.py" "${specs[@]}" >b7.ndjson
ingest r.json "$tokA" a-7 7 b7.ndjson >/dev/null
is "5 mails queued while SMTP is down" 5 "$(sqlite3 "$DB" "select count(*) from notifications where state='queued' and channel='mail'")"
kill -9 "$CENTER_PID"; wait "$CENTER_PID" 2>/dev/null; CENTER_PID=""
is "after kill -9 the 5 mails are still queued" 5 \
    "$(sqlite3 "$DB" "select count(*) from notifications where state='queued' and channel='mail'")"
smtp_start "$SMTP_PORT"
center_start "$DB" "$LOG" "${CENTER_OPTS[@]}" --set notify.max_attempts=1000 || { echo "center did not restart"; tail "$LOG"; }
none_queued() { [ "$(sqlite3 "$DB" "select count(*) from notifications where state='queued'")" = 0 ]; }
check "after the restart all 5 are sent" wait_for "5 sent" none_queued
"$PY" "$LIB/mailcheck.py" "$T_TMP/mail" >m.json
is "each exactly once: 5 new mails" $((nm_before + 5)) "$(nfiles mail eml)"
is "each exactly once: 5 distinct incidents" 5 "$(jget m.json "len(set(m['incident'] for m in J[$nm_before:]))")"
is "PRAGMA integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
"$OTASUKE" db version --db "$DB" >v.txt
is "schema migrated to the latest version" "$(sed -n 's/^latest=//p' v.txt)" "$(sed -n 's/^schema_version=//p' v.txt)"
check "SIGTERM: clean exit" center_stop
if [ "$T_FAIL" -ne 0 ]; then echo "---- center log (tail)"; tail -30 "$LOG"; fi
finish
