#!/usr/bin/env bash
# API tokens for scripts, tenants, sensors and devices over the API (issue 6), end to
# end against a real otasuke-center on loopback, on SQLite — or on a throwaway
# PostgreSQL (tests/lib/pg.sh) when CENTER_TEST_PG=1 (the .pg variant in ctest):
# tokens made over the API (shown once, ota_ + 256 bits, stored as SHA-256 only) and
# with the CLI, read-only and full scope (never more than the owner's role, a role
# change effective at once), expiry, revoke, a disabled owner, last use, no CSRF for
# tokens, the audit rows of every create/revoke/change; the matrix of every endpoint ×
# {anonymous, device token of A, viewer of A, admin of A, admin of B, provider analyst,
# provider admin, read-only token of A's admin, full token of A's admin, a revoked
# token, an expired token} with cross-tenant requests 404 and what each one's lists
# contain; the device inventory built from the demo capture's asset events, shipped
# by a sensor of A.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
cd "$T_TMP"
LOG=$T_TMP/center.log
LIB=$OTASUKE_SRC/tests/lib
PCAP=$(demo_pcap) || skip_all "cannot generate the demo capture (python3-scapy missing?)"
if [ "${CENTER_TEST_PG:-0}" = 1 ]; then
    . "$LIB/pg.sh"
    [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || skip_all "PostgreSQL not installed (tools/install-deps.sh)"
    pg_start || { bad "PostgreSQL starts"; finish; exit 1; }
    DB=$OTASUKE_TEST_DB
    dbq() { pg_q "$1"; }
    dbdump() { pg_as "$PG_BIN/pg_dump" -h "$PG_DIR" -p "$PG_PORT" -U postgres otasuke; }
    HEX="encode"; HEXEND=", 'hex'"
    trap 'center_stop; pg_stop; rm -rf "$T_TMP"' EXIT
    ok "on PostgreSQL"
else
    DB=$T_TMP/c.db
    dbq() { sqlite3 "$DB" "$1"; }
    dbdump() { sqlite3 "$DB" .dump; }
    HEX="lower(hex"; HEXEND=")"
    trap 'center_stop; rm -rf "$T_TMP"' EXIT
fi
is() { if [ "$3" = "$2" ]; then ok "$1"; else bad "$1 (expected [$2], got [$3])"; fi; }
audit_count() { dbq "select count(*) from audit_log where $1"; }

# ---- tenants, people, sensors (CLI), data of each tenant ----
"$OTASUKE" company add --db "$DB" --name "株式会社ヤマト精機" --sector automotive --contacts "it@yamato.example" >/dev/null
"$OTASUKE" company add --db "$DB" --name "B Retail" --sector retail --lang en >/dev/null
user_add root provider_admin
user_add ana provider_analyst
user_add adm.a tenant_admin 1
user_add view.a tenant_viewer 1
user_add adm.b tenant_admin 2
user_add view.b tenant_viewer 2
UADMA=$(dbq "select id from users where name='adm.a'")
UVIEWA=$(dbq "select id from users where name='view.a'")
UVIEWB=$(dbq "select id from users where name='view.b'")
codeA=$("$OTASUKE" sensor add --db "$DB" --company 1 --name gw-a | sed -n 's/^enrollment_code=//p')
codeB=$("$OTASUKE" sensor add --db "$DB" --company 2 --name gw-b | sed -n 's/^enrollment_code=//p')
center_start "$DB" "$LOG" || { cat "$LOG"; bad "center starts"; finish; exit 1; }
ok "center starts on port $CENTER_PORT"
tokA=$(enroll "$codeA")
tokB=$(enroll "$codeB")
"$PY" "$LIB/alerts.py" "mac=8c:16:45:77:51:a6,ip=192.168.1.104,sev=1,cat=c2,sid=1000100" >a.ndjson
"$PY" "$LIB/alerts.py" "mac=02:00:00:00:00:0b,ip=10.0.0.9,sev=2,cat=malware,sid=1000200" >b.ndjson
is "ingest of A's alert" 200 "$(ingest r.json "$tokA" a1 1 a.ndjson)"
is "ingest of B's alert" 200 "$(ingest r.json "$tokB" b1 1 b.ndjson)"
IA=$(dbq "select id from incidents where company_id=1")

# The demo capture's events, shipped by A's sensor in batches: its asset events build
# A's inventory. B gets one asset event of its own (same MAC as one of A's devices).
"$OTASUKE_BIN/otasuke-sensor" -r "$PCAP" -o ev.ndjson 2>/dev/null
split -l 400 -d -a 3 ev.ndjson demo.
n=0; okb=0
for f in demo.*; do n=$((n + 1)); [ "$(ingest r.json "$tokA" "demo-$n" "$n" "$f")" = 200 ] && okb=$((okb + 1)); done
is "every demo batch acknowledged" "$n" "$okb"
MAC1=$(grep -m1 '"event_type":"asset"' ev.ndjson | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())["asset"]["mac"])')
printf '{"timestamp":"2026-11-23T01:00:00.000000+00:00","event_type":"asset","asset":{"change":"new","mac":"%s","ip":"10.0.0.50","name":"B-DEVICE","kind":"printer"}}\n' "$MAC1" >b-asset.ndjson
is "B's asset event" 200 "$(ingest r.json "$tokB" b2 2 b-asset.ndjson)"
# What the inventory should be: per MAC (else IP) the fields of its latest asset event.
"$PY" - ev.ndjson >want-devices.txt <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e.get("event_type") != "asset":
        continue
    a = e["asset"]
    key = "mac:" + a["mac"].lower() if a.get("mac") else ("ip:" + a["ip"] if a.get("ip") else None)
    if key is None:
        continue
    prev = last.get(key)
    if prev is None or e["timestamp"] >= prev[0]:
        ip = a.get("ip") or (prev[1] if prev else None)
        name = a.get("name") or (prev[2] if prev else None)
        last[key] = (e["timestamp"], ip, name, a.get("kind") or (prev[3] if prev else None))
for k in sorted(last):
    t, ip, name, kind = last[k]
    print(k, ip or "-", name or "-", kind or "-")
PY
check "the demo capture has devices in its asset events ($(wc -l <want-devices.txt))" [ "$(wc -l <want-devices.txt)" -ge 5 ]

# ---- sessions and tokens for the matrix ----
declare -A H
H[anon]=""
H[dev]="Authorization: Bearer $tokA"
for u in view.a adm.a adm.b ana root view.b; do
    H[$u]="Authorization: Bearer $(login_bearer "$u")"
done
# mktok OUT WHO BODY: POST /api/v1/tokens as WHO; prints the status, body to OUT.
mktok() { req "$1" POST /api/v1/tokens -H "${H[$2]}" -H 'Content-Type: application/json' -d "$3"; }
is "adm.a makes a read-only token: 201" 201 "$(mktok tr.json adm.a '{"name":"nightly report","scope":"read","ttl":"90d"}')"
TR=$(jget tr.json 'J["token"]'); TR_ID=$(jget tr.json 'J["id"]')
check "the token: ota_ and 64 hex digits (256 bits)" bash -c "[[ '$TR' =~ ^ota_[0-9a-f]{64}$ ]]"
is "… scope read, owner adm.a of A, expiry in 90 days" "read adm.a 1 True" \
    "$(jget tr.json '" ".join(map(str,(J["scope"],J["user"],J["company_id"],J["expires"] is not None)))')"
is "adm.a makes a full token: 201" 201 "$(mktok tf.json adm.a '{"name":"ticket sync","scope":"full"}')"
TF=$(jget tf.json 'J["token"]'); TF_ID=$(jget tf.json 'J["id"]')
is "… no expiry" None "$(jget tf.json 'J["expires"]')"
is "a token to revoke: 201" 201 "$(mktok tv.json adm.a '{"name":"old","scope":"full"}')"
TV=$(jget tv.json 'J["token"]'); TV_ID=$(jget tv.json 'J["id"]')
is "a token to expire: 201" 201 "$(mktok te.json adm.a '{"name":"short","scope":"full","ttl":"1h"}')"
TE=$(jget te.json 'J["token"]'); TE_ID=$(jget te.json 'J["id"]')
is "the token to revoke works before" 200 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer $TV")"
is "its owner revokes it: 200" 200 "$(req /dev/null DELETE "/api/v1/tokens/$TV_ID" -H "${H[adm.a]}")"
is "revoking it again: 409" 409 "$(req /dev/null DELETE "/api/v1/tokens/$TV_ID" -H "${H[adm.a]}")"
is "the token to expire works before" 200 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer $TE")"
# Time passes: its expiry is moved to the past (as an hour going by would).
dbq "update api_tokens set expires=1000000 where id=$TE_ID" >/dev/null
is "an expired token: 401" 401 "$(req ex.json GET /api/v1/session -H "Authorization: Bearer $TE")"
check "… saying it expired" grep -q expired ex.json
dbdump >dump.sql
check "the database holds no token's secret ($(wc -c <dump.sql) bytes dumped)" \
    bash -c "[ -s dump.sql ] && ! grep -qE '${TR#ota_}|${TF#ota_}|${TV#ota_}|${TE#ota_}' dump.sql"
is "the stored digest is SHA-256 of the token" "$(printf '%s' "$TR" | sha256sum | cut -d' ' -f1)" \
    "$(dbq "select $HEX(token_hash$HEXEND) from api_tokens where id=$TR_ID")"
H[tokR]="Authorization: Bearer $TR"
H[tokF]="Authorization: Bearer $TF"
H[rev]="Authorization: Bearer $TV"
H[exp]="Authorization: Bearer $TE"
SX=$(jget <(curl -s -X POST -H "${H[root]}" -d '{"company_id":2,"name":"to revoke"}' "http://127.0.0.1:$CENTER_PORT/api/v1/sensors") 'J["id"]')
check "a sensor of B to revoke in the matrix" [ -n "$SX" ]
is "root makes a token of view.b: 201" 201 "$(mktok tx.json root "{\"name\":\"vb\",\"scope\":\"read\",\"user_id\":$UVIEWB}")"
TX_ID=$(jget tx.json 'J["id"]')
is "… created_by root, owner view.b" "root view.b 2" "$(jget tx.json '" ".join(map(str,(J["created_by"],J["user"],J["company_id"])))')"

# mx "METHOD PATH [BODY]" then the status for each of WHO.
WHO=(anon dev view.a adm.a adm.b ana root tokR tokF rev exp)
mx_bad=0
mx() {
    local m=$1 p=$2 body=$3; shift 3
    local got="" who
    for who in "${WHO[@]}"; do
        local args=(-H 'Content-Type: application/json')
        [ -n "${H[$who]}" ] && args+=(-H "${H[$who]}")
        [ -n "$body" ] && args+=(-d "$body")
        got+="$(req mx.json "$m" "$p" "${args[@]}") "
    done
    got=${got% }
    if [ "$got" = "$*" ]; then ok "matrix $m $p${body:+ $body}: $got"
    else bad "matrix $m $p${body:+ $body}: expected [$*] got [$got]"; mx_bad=$((mx_bad + 1)); fi
}
#                                                         anon dev view.a adm.a adm.b ana root tokR tokF rev exp
mx GET /api/v1/tenants ""                                  401 403 200 200 200 200 200 200 200 401 401
mx GET /api/v1/tenants/1 ""                                401 403 200 200 404 200 200 200 200 401 401
mx GET /api/v1/tenants/2 ""                                401 403 404 404 200 200 200 404 404 401 401
mx GET /api/v1/tenants/99 ""                               401 403 404 404 404 404 404 404 404 401 401
mx POST /api/v1/tenants '{"name":"C Clinic","sector":"medical","contacts":"a@c.example"}' \
                                                           401 403 403 403 403 403 201 403 403 401 401
mx POST /api/v1/tenants '{"name":"C Clinic","sector":"medical"}' \
                                                           401 403 403 403 403 403 409 403 403 401 401
mx POST /api/v1/tenants '{"name":"D","sector":"x","tz":"Mars/Base"}' \
                                                           401 403 403 403 403 403 400 403 403 401 401
mx PATCH /api/v1/tenants/1 '{"contacts":"it@yamato.example,soc@yamato.example"}' \
                                                           401 403 403 200 404 403 200 403 200 401 401
mx PATCH /api/v1/tenants/1 '{"devices":40}'                401 403 403 403 404 403 200 403 403 401 401
mx PATCH /api/v1/tenants/2 '{"contacts":"x@evil.example"}' 401 403 403 404 200 403 200 403 404 401 401
mx PATCH /api/v1/tenants/1 '{"contacts":"not a mail"}'     401 403 403 400 404 403 400 403 400 401 401
mx PUT /api/v1/tenants/1 ""                                405 405 405 405 405 405 405 405 405 405 405
mx GET /api/v1/sensors ""                                  401 403 200 200 200 200 200 200 200 401 401
mx GET "/api/v1/sensors?company=1" ""                      401 403 200 200 404 200 200 200 200 401 401
mx POST /api/v1/sensors '{"company_id":1,"name":"new"}'    401 403 403 403 403 403 201 403 403 401 401
mx POST /api/v1/sensors '{"company_id":99}'                401 403 403 403 403 403 404 403 403 401 401
mx DELETE "/api/v1/sensors/$SX" ""                         401 403 403 403 403 403 200 403 403 401 401
mx DELETE "/api/v1/sensors/$SX" ""                         401 403 403 403 403 403 409 403 403 401 401
mx GET /api/v1/devices ""                                  401 403 200 200 200 200 200 200 200 401 401
mx GET "/api/v1/devices?company=1" ""                      401 403 200 200 404 200 200 200 200 401 401
mx GET "/api/v1/devices?company=2&limit=0" ""              401 403 404 404 400 400 400 404 404 401 401
mx GET /api/v1/tokens ""                                   401 403 200 200 200 200 200 200 200 401 401
mx GET "/api/v1/tokens?user=$UADMA" ""                     401 403 404 200 404 404 200 200 200 401 401
mx POST /api/v1/tokens '{"name":"m","scope":"read"}'       401 403 201 201 201 201 201 403 403 401 401
mx POST /api/v1/tokens "{\"name\":\"m\",\"scope\":\"full\",\"user_id\":$UVIEWA}" \
                                                           401 403 201 403 403 403 201 403 403 401 401
mx POST /api/v1/tokens '{"name":"m","scope":"admin"}'      401 403 400 400 400 400 400 403 403 401 401
mx DELETE "/api/v1/tokens/$TX_ID" ""                       401 403 404 404 404 404 200 403 404 401 401
mx GET /api/v1/tokens/1 ""                                 405 405 405 405 405 405 405 405 405 405 405
# The endpoints of before, with the tokens' columns.
mx POST /api/v1/ingest ""                                  401 400 401 401 401 401 401 401 401 401 401
mx GET "/api/v1/events?company=1&limit=1" ""               401 403 200 200 404 200 200 200 200 401 401
mx GET "/api/v1/counters?company=1" ""                     401 403 200 200 404 200 200 200 200 401 401
mx GET /api/v1/incidents ""                                401 403 200 200 200 200 200 200 200 401 401
mx GET "/api/v1/incidents/$IA" ""                          401 403 200 200 404 200 200 200 200 401 401
mx PATCH "/api/v1/incidents/$IA" '{"assignee":"m"}'        401 403 403 200 404 200 200 403 200 401 401
mx POST "/api/v1/incidents/$IA/comments" '{"text":"m"}'    401 403 403 201 404 201 201 403 201 401 401
mx GET "/api/v1/suppressions?company=1" ""                 401 403 200 200 404 200 200 200 200 401 401
mx POST /api/v1/suppressions '{"signature_id":7,"reason":"m","duration":"1h","company_id":1}' \
                                                           401 403 403 201 404 201 201 403 201 401 401
mx GET /api/v1/users ""                                    401 403 403 200 200 403 200 200 200 401 401
mx GET "/api/v1/users/$UVIEWB" ""                          401 403 403 404 200 403 200 404 404 401 401
mx PATCH "/api/v1/users/$UVIEWA" '{"disabled":false}'      401 403 403 200 404 403 200 403 200 401 401
mx GET "/api/v1/audit?company=1&limit=1" ""                401 403 403 200 404 403 200 200 200 401 401
mx GET /api/v1/session ""                                  401 403 200 200 200 200 200 200 200 401 401
mx POST /api/v1/password '{}'                              401 403 400 400 400 400 400 403 403 401 401
mx GET /metrics ""                                         401 403 403 403 403 200 200 403 403 401 401
is "the whole matrix held" 0 "$mx_bad"

# ---- what each one sees (0 cross-tenant successes) ----
req t.json GET /api/v1/tenants -H "${H[tokR]}" >/dev/null
is "A's token lists only tenant A" "[1]" "$(jget t.json '[t["id"] for t in J["tenants"]]')"
req t.json GET /api/v1/tenants -H "${H[ana]}" >/dev/null
is "the analyst lists every tenant" "[1, 2, 3]" "$(jget t.json '[t["id"] for t in J["tenants"]]')"
is "… with A's contacts as A's admin set them" "it@yamato.example,soc@yamato.example 40" \
    "$(jget t.json '" ".join(map(str,(J["tenants"][0]["contacts"],J["tenants"][0]["devices"])))')"
is "B's contacts unchanged by A's attempts" "x@evil.example" "$(dbq "select contacts from companies where id=2")"
req s.json GET /api/v1/sensors -H "${H[adm.b]}" >/dev/null
is "B's admin lists only B's sensors" "{2}" "$(jget s.json 'set(s["company_id"] for s in J["sensors"])')"
is "… with the revoked one marked" "revoked" "$(jget s.json '[s["state"] for s in J["sensors"] if s["id"]=='"$SX"'][0]')"
req s.json GET /api/v1/sensors -H "${H[root]}" >/dev/null
is "the provider admin lists every sensor" "{1, 2}" "$(jget s.json 'set(s["company_id"] for s in J["sensors"])')"
is "root's new sensor of A: an enrollment code that enrolls" 200 \
    "$(code=$(curl -s -X POST -H "${H[root]}" -d '{"company_id":1,"name":"e2e","ttl":"10m"}' "http://127.0.0.1:$CENTER_PORT/api/v1/sensors" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["enrollment_code"])'); req /dev/null POST /api/v1/enroll -d "{\"code\":\"$code\"}")"
is "the revoked sensor's device token is refused" 0 "$(dbq "select count(*) from sensors where id=$SX and token_hash is not null and revoked is null")"
req tk.json GET /api/v1/tokens -H "${H[adm.a]}" >/dev/null
is "adm.a lists its own tokens, without secrets" "nightly report,ticket sync,old,short,m" \
    "$(jget tk.json '",".join(t["name"] for t in J["tokens"])')"
check "… and no secret in the listing" bash -c "! grep -q 'ota_' tk.json"
is "… the revoked one shows when" True "$(jget tk.json '[t for t in J["tokens"] if t["id"]=='"$TV_ID"'][0]["revoked"] is not None')"
is "… the used one shows its last use" True "$(jget tk.json '[t for t in J["tokens"] if t["id"]=='"$TR_ID"'][0]["last_used"] is not None')"
req tk.json GET /api/v1/tokens -H "${H[view.b]}" >/dev/null
is "view.b sees its token made by root, revoked" "vb True" "$(jget tk.json '" ".join(map(str,(J["tokens"][0]["name"],J["tokens"][0]["revoked"] is not None)))')"

# ---- devices: the inventory of the demo capture ----
req d.json GET "/api/v1/devices?limit=1000" -H "${H[tokR]}" >/dev/null
jget d.json '"\n".join(sorted(" ".join((d["device"], d["ip"] or "-", d["name"] or "-", d["kind"] or "-")) for d in J["devices"]))' >got-devices.txt
check "A's devices are those of the asset events, with their latest fields ($(wc -l <got-devices.txt))" diff want-devices.txt got-devices.txt
is "… all from A's sensor" "{1}" "$(jget d.json 'set(d["sensor_id"] for d in J["devices"])')"
req d.json GET "/api/v1/devices" -H "${H[adm.b]}" >/dev/null
is "B's admin sees only B's device (the same MAC is B's own row)" "B-DEVICE 10.0.0.50 1" \
    "$(jget d.json '" ".join(map(str,(J["devices"][0]["name"],J["devices"][0]["ip"],len(J["devices"]))))')"
req d.json GET "/api/v1/devices?company=1&limit=2" -H "${H[ana]}" >/dev/null
N1=$(jget d.json 'J["next_after"]')
is "paging: 2 devices, more" "2 True" "$(jget d.json '" ".join(map(str,(len(J["devices"]),J["more"])))')"
req d2.json GET "/api/v1/devices?company=1&limit=2&after=$N1" -H "${H[ana]}" >/dev/null
check "… the next page starts after them" [ "$(jget d2.json 'J["devices"][0]["id"]')" -gt "$N1" ]
is "a replayed demo batch: acknowledged as a duplicate, the inventory unchanged" \
    "True $(wc -l <want-devices.txt)" \
    "$(ingest r.json "$tokA" demo-1 1 demo.000 >/dev/null; jget r.json 'J["duplicate"]') $(dbq "select count(*) from devices where company_id=1")"

# ---- tokens: scope, role, disabled owner, CSRF, CLI ----
is "a full token changes state without any CSRF token (no cookie)" 200 \
    "$(req /dev/null PATCH "/api/v1/incidents/$IA" -H "${H[tokF]}" -d '{"assignee":"script"}')"
is "a token cannot log out or make tokens (403)" 403403 \
    "$(req /dev/null POST /api/v1/logout -H "${H[tokF]}")$(mktok /dev/null tokF '{"name":"x","scope":"read"}')"
curl -s -D hc.txt -o /dev/null -H "${H[tokF]}" -H "Cookie: __Host-otasuke_session=ots_$(printf '0%.0s' $(seq 64))" \
    -X PATCH -d '{"assignee":"c"}' "http://127.0.0.1:$CENTER_PORT/api/v1/incidents/$IA"
is "a token and a stray cookie: the token decides (200)" 200 "$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' hc.txt)"
is "the owner's role lowered to viewer: the full token may no longer triage (403)" "200 403" \
    "$(req /dev/null PATCH "/api/v1/users/$UADMA" -H "${H[root]}" -d '{"role":"tenant_viewer"}') $(req /dev/null PATCH "/api/v1/incidents/$IA" -H "${H[tokF]}" -d '{"assignee":"x"}')"
is "… and back to admin: it may again" "200 200" \
    "$(req /dev/null PATCH "/api/v1/users/$UADMA" -H "${H[root]}" -d '{"role":"tenant_admin"}') $(req /dev/null PATCH "/api/v1/incidents/$IA" -H "${H[tokF]}" -d '{"assignee":"y"}')"
is "the owner disabled: its tokens get 401" "200 401 401" \
    "$(req /dev/null PATCH "/api/v1/users/$UADMA" -H "${H[root]}" -d '{"disabled":true}') $(req /dev/null GET /api/v1/tenants -H "${H[tokR]}") $(req /dev/null GET /api/v1/tenants -H "${H[tokF]}")"
is "… enabled again: they work again" "200 200" \
    "$(req /dev/null PATCH "/api/v1/users/$UADMA" -H "${H[root]}" -d '{"disabled":false}') $(req /dev/null GET /api/v1/tenants -H "${H[tokR]}")"
H[adm.a]="Authorization: Bearer $(login_bearer adm.a)" # disabling ended its sessions
is "a malformed ota_ token: 401" 401 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer ota_xyz")"
is "an unknown well-formed token: 401" 401 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer ota_$(printf 'a%.0s' $(seq 64))")"
is "an API token on ingest: 401" 401 "$(ingest /dev/null "$TF" x 1 a.ndjson)"
is "bad token bodies: 400" 400400400400 \
    "$(mktok /dev/null adm.a '{"scope":"read"}')$(mktok /dev/null adm.a '{"name":"x","scope":"read","ttl":"1s"}')$(mktok /dev/null adm.a '{"name":"","scope":"read"}')$(mktok /dev/null adm.a '{"name":"x","scope":"read","extra":1}')"
is "a token for a user that does not exist: 404" 404 "$(mktok /dev/null root '{"name":"x","scope":"read","user_id":9999}')"
out=$("$OTASUKE" token create --db "$DB" --user view.b --name "cli made" --scope read --ttl 7d)
TC=$(sed -n 's/^token=//p' <<<"$out"); TC_ID=$(sed -n 's/^token_id=//p' <<<"$out")
check "CLI token create prints the secret once" bash -c "[[ '$TC' =~ ^ota_[0-9a-f]{64}$ ]]"
is "… it works on the API as view.b (B only)" "200 404" \
    "$(req /dev/null GET /api/v1/tenants/2 -H "Authorization: Bearer $TC") $(req /dev/null GET /api/v1/tenants/1 -H "Authorization: Bearer $TC")"
is "CLI token list --user view.b" "vb read revoked|cli made read active" \
    "$("$OTASUKE" token list --db "$DB" --user view.b | awk -F'\t' '{print $3, $4, $7}' | paste -sd'|')"
check "CLI token create: an unknown scope is refused" bash -c "! '$OTASUKE' token create --db '$DB' --user view.b --scope root 2>/dev/null"
check "CLI token create: an unknown user is refused" bash -c "! '$OTASUKE' token create --db '$DB' --user nobody 2>/dev/null"
is "CLI token revoke" "revoked=$TC_ID" "$("$OTASUKE" token revoke --db "$DB" --id "$TC_ID")"
is "… the CLI-revoked token: 401" 401 "$(req /dev/null GET /api/v1/tenants -H "Authorization: Bearer $TC")"
check "CLI token revoke again fails" bash -c "! '$OTASUKE' token revoke --db '$DB' --id '$TC_ID' 2>/dev/null"

# ---- the audit log: every create, revoke and change ----
is "audit: one token_create row per token made" "$(dbq "select count(*) from api_tokens")" "$(audit_count "action='token_create'")"
is "audit: one token_revoke row per revoke (API 2, CLI 1)" 3 "$(audit_count "action='token_revoke'")"
is "audit: tenant_add, tenant_change rows" "1 6" "$(audit_count "action='tenant_add'") $(audit_count "action='tenant_change'")"
is "audit: sensor_add, sensor_revoke rows" "3 1" "$(audit_count "action='sensor_add'") $(audit_count "action='sensor_revoke'")"
is "audit: changes made with a token name it" "adm.a (token:$TF_ID)" \
    "$(dbq "select distinct actor from audit_log where action='incident_change' and actor like '%token%'")"
is "audit: A's rows of tokens are A's" "1" "$(dbq "select distinct company_id from audit_log where action='token_create' and target='token:$TR_ID'")"

center_stop; rc=$?
is "SIGTERM: exit 0" 0 "$rc"
finish
