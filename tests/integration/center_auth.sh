#!/usr/bin/env bash
# People in the center, end to end against a real otasuke-center on loopback (curl):
# users made with the CLI (policy, Argon2id parameters in the stored hash), login
# with a cookie or for a bearer token (the __Host- cookie's attributes, 256-bit ids,
# rotation at login), wrong passwords and unknown names (same answer, audited),
# throttling per account and per source address (429 with Retry-After, one audit row
# per lockout; several loopback source addresses 127.0.0.x), CSRF on cookie sessions
# (no token, wrong token, foreign Origin: 403), the role and tenant matrix of every
# endpoint (tenants, sensors, devices and API tokens included) for {anonymous, device
# token of A, viewer of A, admin of A, admin of B,
# provider analyst, provider admin} with cross-tenant requests answered 404, logout,
# password change and disabling (old sessions end), the audit log (one row per event,
# append-only), and session expiry (idle 1 s, absolute 2 s: waits past them).
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
cd "$T_TMP"
DB=$T_TMP/c.db
LOG=$T_TMP/center.log
LIB=$OTASUKE_SRC/tests/lib
cleanup() {
    [ -n "$CENTER_PID" ] && kill -9 "$CENTER_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T_TMP"
}
trap cleanup EXIT
is() { if [ "$3" = "$2" ]; then ok "$1"; else bad "$1 (expected [$2], got [$3])"; fi; }
URL() { echo "http://127.0.0.1:$CENTER_PORT$1"; }
# login_from ADDR NAME PASSWORD: a bearer login from a loopback source address; prints
# the status, the body goes to lf.json.
login_from() {
    curl -s -o lf.json -w '%{http_code}' --interface "$1" -X POST \
        -d "{\"name\":\"$2\",\"password\":\"$3\",\"bearer\":true}" "$(URL /api/v1/login)"
}
audit_count() { sqlite3 "$DB" "select count(*) from audit_log where $1"; }

# ---- CLI: companies, people ----
"$OTASUKE" company add --db "$DB" --name "株式会社ヤマト精機" --sector automotive >/dev/null
"$OTASUKE" company add --db "$DB" --name "B Retail" --sector retail --lang en >/dev/null
user_add root provider_admin
user_add ana provider_analyst
user_add adm.a tenant_admin 1
user_add view.a tenant_viewer 1
user_add adm.b tenant_admin 2
user_add view.b tenant_viewer 2
is "user list: six people" 6 "$("$OTASUKE" user list --db "$DB" | wc -l)"
is "user list: provider staff have no company" "-	root	provider_admin	active" \
    "$("$OTASUKE" user list --db "$DB" | sed -n 1p | cut -f2-5)"
is "user list --company 2" "adm.b view.b" "$("$OTASUKE" user list --db "$DB" --company 2 | cut -f3 | xargs)"
check "stored hashes are Argon2id with m=19 MiB, t=2 (S2)" \
    [ "$(sqlite3 "$DB" "select count(*) from users where pw_hash like '\$argon2id\$v=19\$m=19456,t=2,p=1\$%'")" = 6 ]
check "no password in clear in the database" bash -c "! sqlite3 '$DB' .dump | grep -q '$TEST_PW'"
check "user add: a weak password is refused" \
    bash -c "! echo password1234 | '$OTASUKE' user add --db '$DB' --name weak --role provider_analyst 2>err.txt && grep -q 'too common' err.txt"
check "user add: a short password is refused" \
    bash -c "! echo short | '$OTASUKE' user add --db '$DB' --name weak --role provider_analyst 2>/dev/null"
check "user add: a tenant role needs --company" \
    bash -c "! echo '$TEST_PW' | '$OTASUKE' user add --db '$DB' --name x --role tenant_viewer 2>/dev/null"
check "user add: a provider role takes no --company" \
    bash -c "! echo '$TEST_PW' | '$OTASUKE' user add --db '$DB' --name x --role provider_admin --company 1 2>/dev/null"
check "user add: an unknown role is refused" \
    bash -c "! echo '$TEST_PW' | '$OTASUKE' user add --db '$DB' --name x --role god 2>/dev/null"
check "user add: a taken name is refused" \
    bash -c "! echo '$TEST_PW' | '$OTASUKE' user add --db '$DB' --name root --role provider_admin 2>/dev/null"
check "user add: a company that does not exist is refused" \
    bash -c "! echo '$TEST_PW' | '$OTASUKE' user add --db '$DB' --name x --role tenant_admin --company 9 2>/dev/null"
printf '%s\n' "a 70-character passphrase is fine: $(printf 'x%.0s' $(seq 30)) end" >long.pw
check "user add: a password over 64 characters, from --password-file" \
    bash -c "'$OTASUKE' user add --db '$DB' --name long.pw --role provider_analyst --password-file long.pw >/dev/null"
is "audit: one user_add row per user added (S8)" 7 "$(audit_count "action='user_add' and addr='cli'")"

codeA=$("$OTASUKE" sensor add --db "$DB" --company 1 | sed -n 's/^enrollment_code=//p')
codeB=$("$OTASUKE" sensor add --db "$DB" --company 2 | sed -n 's/^enrollment_code=//p')
center_start "$DB" "$LOG" --set auth.login_max_failures=5 --set auth.login_window=15m \
    --log-level info || { cat "$LOG"; bad "center starts"; finish; exit 1; }
ok "center starts on port $CENTER_PORT"
tokA=$(enroll "$codeA")
tokB=$(enroll "$codeB")
"$PY" "$LIB/alerts.py" "mac=8c:16:45:77:51:a6,ip=192.168.1.104,sev=1,cat=c2,sid=1000100" >a.ndjson
"$PY" "$LIB/alerts.py" "mac=02:00:00:00:00:0b,ip=10.0.0.9,sev=2,cat=malware,sid=1000200" >b.ndjson
is "ingest of A's alert with A's device token" 200 "$(ingest r.json "$tokA" a1 1 a.ndjson)"
is "ingest of B's alert with B's device token" 200 "$(ingest r.json "$tokB" b1 1 b.ndjson)"
IA=$(sqlite3 "$DB" "select id from incidents where company_id=1")
IB=$(sqlite3 "$DB" "select id from incidents where company_id=2")
check "an incident of each tenant" [ -n "$IA" ] && [ -n "$IB" ]

# ---- login with a cookie (S4) ----
curl -s -D h1.txt -o l1.json -X POST -d "{\"name\":\"adm.a\",\"password\":\"$TEST_PW\"}" "$(URL /api/v1/login)" >/dev/null
is "login: 200" 200 "$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' h1.txt)"
SC=$(grep -i '^Set-Cookie:' h1.txt | tr -d '\r')
check "cookie: __Host- prefix, 256-bit id" bash -c "[[ '$SC' =~ ^Set-Cookie:\ __Host-otasuke_session=ots_[0-9a-f]{64}\; ]]"
for attr in "Path=/" "Secure" "HttpOnly" "SameSite=Strict"; do
    check "cookie: $attr" bash -c "tr ';' '\n' <<<'$SC' | sed 's/^ //' | grep -qx '$attr'"
done
check "cookie: no Domain (a __Host- cookie)" bash -c "! grep -qi 'domain=' <<<'$SC'"
is "login answer: no token in the body of a cookie login" False "$(jget l1.json '"token" in J')"
C1=$(sed 's/^Set-Cookie: \([^;]*\);.*/\1/' <<<"$SC")
CSRF1=$(jget l1.json 'J["csrf_token"]')
check "csrf token: 64 hex digits" bash -c "[[ '$CSRF1' =~ ^[0-9a-f]{64}$ ]]"
is "login answer names the user and role" "adm.a tenant_admin 1" "$(jget l1.json '" ".join(map(str,(J["user"]["name"],J["user"]["role"],J["user"]["company_id"])))')"
is "session with the cookie: 200" 200 "$(req s.json GET /api/v1/session -H "Cookie: $C1")"
is "session: the same CSRF token" "$CSRF1" "$(jget s.json 'J["csrf_token"]')"
check "the session id is not stored in clear" bash -c "! sqlite3 '$DB' .dump | grep -q '${C1#*=ots_}'"
# Rotation: logging in again with the old cookie gives a new id and ends the old one.
curl -s -D h2.txt -o l2.json -X POST -H "Cookie: $C1" -d "{\"name\":\"adm.a\",\"password\":\"$TEST_PW\"}" "$(URL /api/v1/login)" >/dev/null
C2=$(grep -i '^Set-Cookie:' h2.txt | tr -d '\r' | sed 's/^Set-Cookie: \([^;]*\);.*/\1/')
CSRF2=$(jget l2.json 'J["csrf_token"]')
check "login again: a new session id" [ -n "$C2" ] && [ "$C2" != "$C1" ]
is "the old session id is rejected after the new login" 401 "$(req /dev/null GET /api/v1/session -H "Cookie: $C1")"
is "the new one works" 200 "$(req /dev/null GET /api/v1/session -H "Cookie: $C2")"

# ---- wrong password, unknown name ----
n0=$(audit_count "action='login_failed'")
is "wrong password: 401" 401 "$(req w1.json POST /api/v1/login -d "{\"name\":\"adm.a\",\"password\":\"not the password 1\"}")"
is "unknown name: 401" 401 "$(req w2.json POST /api/v1/login -d "{\"name\":\"nobody\",\"password\":\"not the password 1\"}")"
check "both answers are the same" cmp -s w1.json w2.json
is "each failure writes one audit row (S8)" $((n0 + 2)) "$(audit_count "action='login_failed'")"
is "bad login body: 400" 400400400 "$(req /dev/null POST /api/v1/login -d '{"name":"adm.a"}')$(req /dev/null POST /api/v1/login -d '[1]')$(req /dev/null POST /api/v1/login -d "{\"name\":\"adm.a\",\"password\":\"$TEST_PW\",\"x\":1}")"
is "cross-origin login: 403" 403 "$(req /dev/null POST /api/v1/login -H 'Origin: http://evil.example' -d "{\"name\":\"adm.a\",\"password\":\"$TEST_PW\"}")"
is "GET /api/v1/login: 405" 405 "$(req /dev/null GET /api/v1/login)"
is "a disabled-looking request for a long password still gets 401 (no 500)" 401 \
    "$(req /dev/null POST /api/v1/login -d "{\"name\":\"adm.a\",\"password\":\"$(head -c 1000 /dev/zero | tr '\0' y)\"}")"
is "a long (70 byte) password logs in" 200 "$(login_from 127.0.0.1 long.pw "$(cat long.pw)")"

# ---- CSRF on cookie sessions (S5) ----
PATCHA=(PATCH "/api/v1/incidents/$IA" -H "Cookie: $C2" -H 'Content-Type: application/json' -d '{"assignee":"佐藤"}')
is "cookie PATCH without X-CSRF-Token: 403" 403 "$(req c.json "${PATCHA[@]}")"
check "the 403 says CSRF" grep -q CSRF c.json
is "cookie PATCH with a wrong token: 403" 403 "$(req /dev/null "${PATCHA[@]}" -H "X-CSRF-Token: $CSRF1")"
is "cookie PATCH with a short token: 403" 403 "$(req /dev/null "${PATCHA[@]}" -H "X-CSRF-Token: ${CSRF2:0:10}")"
is "cookie PATCH with the token from a foreign Origin: 403" 403 "$(req /dev/null "${PATCHA[@]}" -H "X-CSRF-Token: $CSRF2" -H 'Origin: http://evil.example')"
is "cookie PATCH with the token, same origin: 200" 200 "$(req /dev/null "${PATCHA[@]}" -H "X-CSRF-Token: $CSRF2" -H "Origin: http://127.0.0.1:$CENTER_PORT")"
is "cookie PATCH with the token, no Origin: 200" 200 "$(req /dev/null "${PATCHA[@]}" -H "X-CSRF-Token: $CSRF2")"
is "cookie POST comment without the token: 403" 403 "$(req /dev/null POST "/api/v1/incidents/$IA/comments" -H "Cookie: $C2" -d '{"text":"x"}')"
is "cookie logout without the token: 403" 403 "$(req /dev/null POST /api/v1/logout -H "Cookie: $C2")"
is "cookie POST /api/v1/tokens without X-CSRF-Token: 403" 403 \
    "$(req /dev/null POST /api/v1/tokens -H "Cookie: $C2" -d '{"name":"csrf","scope":"read"}')"
is "cookie POST /api/v1/tokens with it: 201" 201 \
    "$(req /dev/null POST /api/v1/tokens -H "Cookie: $C2" -H "X-CSRF-Token: $CSRF2" -d '{"name":"csrf","scope":"read"}')"
is "cookie PATCH /api/v1/tenants/1 without X-CSRF-Token: 403" 403 \
    "$(req /dev/null PATCH /api/v1/tenants/1 -H "Cookie: $C2" -d '{"contacts":"x@evil.example"}')"
is "cookie GET needs no token" 200 "$(req /dev/null GET /api/v1/incidents -H "Cookie: $C2")"
is "only the two accepted requests changed it" "2 佐藤" \
    "$(sqlite3 "$DB" "select count(*), max(text) from incident_notes where incident_id=$IA and kind='assignee'" | tr '|' ' ')"

# ---- bearer sessions for the matrix ----
declare -A H
H[anon]=""
H[dev]="Authorization: Bearer $tokA"
for u in view.a adm.a adm.b ana root; do
    t=$(login_bearer "$u")
    check "bearer login of $u: an ots_ token" bash -c "[[ '$t' =~ ^ots_[0-9a-f]{64}$ ]]"
    H[$u]="Authorization: Bearer $t"
done
# Ids the matrix refers to.
UA=$(sqlite3 "$DB" "select id from users where name='view.a'")
UB=$(sqlite3 "$DB" "select id from users where name='view.b'")
code=$(req sa.json POST /api/v1/suppressions -H "${H[adm.a]}" -d '{"signature_id":42,"reason":"matrix","duration":"1d"}')
is "A's admin adds a rule for A: 201" 201 "$code"
SA=$(jget sa.json 'J["id"]')

# mx "METHOD PATH [BODY]" anon dev view.a adm.a adm.b ana root: the status of each.
WHO=(anon dev view.a adm.a adm.b ana root)
mx_bad=0
mx() {
    local m=$1 p=$2 body=$3; shift 3
    local got="" i=0
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
#                                                              anon dev view.a adm.a adm.b ana root
mx GET /healthz ""                                              200 200 200 200 200 200 200
mx POST /api/v1/enroll '{}'                                     400 400 400 400 400 400 400
mx POST /api/v1/ingest ""                                       401 400 401 401 401 401 401
mx GET /api/v1/events ""                                        401 403 200 200 200 400 400
mx GET "/api/v1/events?company=1" ""                            401 403 200 200 404 200 200
mx GET "/api/v1/counters?company=1" ""                          401 403 200 200 404 200 200
mx GET /api/v1/counters ""                                      401 403 200 200 200 400 400
mx GET /api/v1/incidents ""                                     401 403 200 200 200 200 200
mx GET "/api/v1/incidents?company=1" ""                         401 403 200 200 404 200 200
mx GET "/api/v1/incidents/$IA" ""                               401 403 200 200 404 200 200
mx PATCH "/api/v1/incidents/$IA" '{"assignee":"m"}'             401 403 403 200 404 200 200
mx POST "/api/v1/incidents/$IA/comments" '{"text":"m"}'         401 403 403 201 404 201 201
mx GET "/api/v1/suppressions?company=1" ""                      401 403 200 200 404 200 200
mx GET "/api/v1/suppressions/$SA" ""                            401 403 200 200 404 200 200
mx PATCH "/api/v1/suppressions/$SA" '{"reason":"m2"}'           401 403 403 200 404 200 200
mx POST /api/v1/suppressions '{"signature_id":7,"reason":"m","duration":"1h","company_id":1}' \
                                                                401 403 403 201 404 201 201
mx POST /api/v1/suppressions '{"signature_id":7,"reason":"m","duration":"1h"}' \
                                                                401 403 403 201 201 400 400
mx GET /api/v1/users ""                                         401 403 403 200 200 403 200
mx GET "/api/v1/users?company=1" ""                             401 403 403 200 404 403 200
mx GET "/api/v1/users/$UA" ""                                   401 403 403 200 404 403 200
mx GET "/api/v1/users/$UB" ""                                   401 403 403 404 200 403 200
mx PATCH "/api/v1/users/$UA" '{"disabled":false}'               401 403 403 200 404 403 200
mx POST /api/v1/users '{}'                                      401 403 403 400 400 403 400
mx POST /api/v1/users "{\"name\":\"n\",\"role\":\"tenant_viewer\",\"company_id\":2,\"password\":\"$TEST_PW\"}" \
                                                                401 403 403 404 201 403 409
mx GET /api/v1/audit ""                                         401 403 403 200 200 403 200
mx GET "/api/v1/audit?company=1" ""                             401 403 403 200 404 403 200
mx GET /api/v1/session ""                                       401 403 200 200 200 200 200
mx POST /api/v1/password '{}'                                   401 403 400 400 400 400 400
mx DELETE "/api/v1/suppressions/$SA" ""                         401 403 403 200 404 404 404
# Tenants, sensors, devices and API tokens (center_tokens.sh has their full matrix with
# API tokens as callers, on SQLite and PostgreSQL).
mx GET /api/v1/tenants ""                                       401 403 200 200 200 200 200
mx GET /api/v1/tenants/2 ""                                     401 403 404 404 200 200 200
mx PATCH /api/v1/tenants/2 '{"contacts":"ops@b.example"}'       401 403 403 404 200 403 200
mx PATCH /api/v1/tenants/2 '{"sector":"food"}'                  401 403 403 404 403 403 200
mx POST /api/v1/tenants '{}'                                    401 403 403 403 403 403 400
mx GET "/api/v1/sensors?company=2" ""                           401 403 404 404 200 200 200
mx POST /api/v1/sensors '{}'                                    401 403 403 403 403 403 400
mx DELETE /api/v1/sensors/999 ""                                401 403 403 403 403 403 404
mx GET "/api/v1/devices?company=1" ""                           401 403 200 200 404 200 200
mx GET /api/v1/tokens ""                                        401 403 200 200 200 200 200
mx POST /api/v1/tokens '{}'                                     401 403 400 400 400 400 400
mx DELETE /api/v1/tokens/999 ""                                 401 403 404 404 404 404 404
mx PUT /api/v1/audit ""                                         405 405 405 405 405 405 405
mx DELETE "/api/v1/audit" ""                                    405 405 405 405 405 405 405
is "the whole matrix held" 0 "$mx_bad"

# What each one sees: only its tenant's rows (S1: 0 cross-tenant successes).
req e.json GET "/api/v1/events?limit=1000" -H "${H[adm.b]}" >/dev/null
is "B's admin: only B's events" "{2}" "$(jget e.json 'set(e["sensor_id"] for e in J["events"])')"
req i.json GET /api/v1/incidents -H "${H[adm.b]}" >/dev/null
is "B's admin: only B's incidents" "[$IB]" "$(jget i.json '[i["id"] for i in J["incidents"]]')"
req i.json GET /api/v1/incidents -H "${H[ana]}" >/dev/null
is "the provider analyst sees both tenants' incidents" "[$IB, $IA]" "$(jget i.json '[i["id"] for i in J["incidents"]]')"
req u.json GET /api/v1/users -H "${H[adm.a]}" >/dev/null
is "A's admin lists only A's people" "['adm.a', 'view.a']" "$(jget u.json '[u["name"] for u in J["users"]]')"
check "the user list shows no hash" bash -c "! grep -q argon2 u.json"
req au.json GET "/api/v1/audit?limit=1000" -H "${H[adm.a]}" >/dev/null
is "A's admin reads only A's audit rows" "{1}" "$(jget au.json 'set(a["company_id"] for a in J["audit"])')"
req au.json GET "/api/v1/audit?limit=1000" -H "${H[root]}" >/dev/null
check "the provider admin reads every audit row" [ "$(jget au.json 'len(J["audit"])')" = "$(audit_count 1)" ]
is "B's suppression list is B's own" "{2}" "$(sqlite3 "$DB" "select distinct company_id from suppressions where reason='m' and id in (select max(id) from suppressions)" | sed 's/.*/{&}/')"
is "notes of the matrix name the people" "adm.a ana root" \
    "$(sqlite3 "$DB" "select author from incident_notes where incident_id=$IA and kind='comment' order by id" | xargs)"
is "audit: one incident_change row per change" 5 "$(audit_count "action='incident_change' and target='incident:$IA'")"

# ---- roles in the people endpoints ----
is "tenant admin cannot make a provider admin: 403" 403 \
    "$(req /dev/null POST /api/v1/users -H "${H[adm.a]}" -d "{\"name\":\"evil\",\"role\":\"provider_admin\",\"password\":\"$TEST_PW\"}")"
is "tenant admin cannot give a provider role: 400" 400 \
    "$(req /dev/null PATCH "/api/v1/users/$UA" -H "${H[adm.a]}" -d '{"role":"provider_admin"}')"
is "tenant admin adds a viewer of A: 201" 201 \
    "$(req nu.json POST /api/v1/users -H "${H[adm.a]}" -d "{\"name\":\"view2.a\",\"role\":\"tenant_viewer\",\"password\":\"$TEST_PW\"}")"
is "… bound to A" 1 "$(jget nu.json 'J["company_id"]')"
is "a weak password over the API: 400" 400 \
    "$(req /dev/null POST /api/v1/users -H "${H[root]}" -d '{"name":"weak","role":"provider_analyst","password":"qwerty123456"}')"
is "provider admin adds an analyst: 201" 201 \
    "$(req /dev/null POST /api/v1/users -H "${H[root]}" -d "{\"name\":\"ana2\",\"role\":\"provider_analyst\",\"password\":\"$TEST_PW\"}")"
is "a provider role with a company: 400" 400 \
    "$(req /dev/null POST /api/v1/users -H "${H[root]}" -d "{\"name\":\"x\",\"role\":\"provider_analyst\",\"company_id\":1,\"password\":\"$TEST_PW\"}")"
is "a tenant role for a company that does not exist: 404" 404 \
    "$(req /dev/null POST /api/v1/users -H "${H[root]}" -d "{\"name\":\"x\",\"role\":\"tenant_admin\",\"company_id\":99,\"password\":\"$TEST_PW\"}")"
ROOT_ID=$(sqlite3 "$DB" "select id from users where name='root'")
is "disabling oneself: 409" 409 "$(req /dev/null PATCH "/api/v1/users/$ROOT_ID" -H "${H[root]}" -d '{"disabled":true}')"
is "role change of view.a by A's admin: 200" 200 "$(req /dev/null PATCH "/api/v1/users/$UA" -H "${H[adm.a]}" -d '{"role":"tenant_admin"}')"
is "… and back" 200 "$(req /dev/null PATCH "/api/v1/users/$UA" -H "${H[adm.a]}" -d '{"role":"tenant_viewer"}')"
is "view.a's role took effect at once (its session is a viewer again)" 403 \
    "$(req /dev/null GET /api/v1/users -H "${H[view.a]}")"

# ---- disable: the user's sessions end ----
ADMB=$(sqlite3 "$DB" "select id from users where name='adm.b'")
is "root disables adm.b: 200" 200 "$(req d.json PATCH "/api/v1/users/$ADMB" -H "${H[root]}" -d '{"disabled":true}')"
is "… shown disabled" True "$(jget d.json 'J["disabled"]')"
is "adm.b's session ends at once: 401" 401 "$(req /dev/null GET /api/v1/session -H "${H[adm.b]}")"
is "adm.b cannot log in: 401" 401 "$(login_from 127.0.0.40 adm.b "$TEST_PW")"
is "root enables adm.b again: 200" 200 "$(req /dev/null PATCH "/api/v1/users/$ADMB" -H "${H[root]}" -d '{"disabled":false}')"
is "adm.b logs in again: 200" 200 "$(login_from 127.0.0.1 adm.b "$TEST_PW")"
is "audit: disable and enable, one row each" 2 "$(audit_count "action='user_change' and target='user:adm.b'")"

# ---- password change: every session of the user ends ----
t1=$(login_bearer view.a); t2=$(login_bearer view.a)
PW2="a new passphrase for view.a"
is "wrong current password: 403" 403 "$(req /dev/null POST /api/v1/password -H "Authorization: Bearer $t1" -d "{\"current\":\"nope nope nope\",\"new\":\"$PW2\"}")"
is "a weak new password: 400" 400 "$(req /dev/null POST /api/v1/password -H "Authorization: Bearer $t1" -d "{\"current\":\"$TEST_PW\",\"new\":\"view.a\"}")"
is "password change: 200" 200 "$(req pc.json POST /api/v1/password -H "Authorization: Bearer $t1" -d "{\"current\":\"$TEST_PW\",\"new\":\"$PW2\"}")"
check "… ended at least the two sessions" [ "$(jget pc.json 'J["sessions_ended"]')" -ge 2 ]
is "the session that changed it is ended" 401 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer $t1")"
is "another session of the user is ended" 401 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer $t2")"
is "the old password no longer works" 401 "$(login_from 127.0.0.41 view.a "$TEST_PW")"
is "the new one does" 200 "$(login_from 127.0.0.1 view.a "$PW2")"
check "CLI passwd: sets it back and ends sessions" \
    bash -c "printf '%s\n' '$TEST_PW' | '$OTASUKE' user passwd --db '$DB' --name view.a | grep -q '^sessions_ended=1$'"
is "the CLI's password works" 200 "$(login_from 127.0.0.1 view.a "$TEST_PW")"

# ---- logout ----
tl=$(login_bearer view.b)
is "bearer logout: 200" 200 "$(req /dev/null POST /api/v1/logout -H "Authorization: Bearer $tl")"
is "the token is rejected after logout" 401 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer $tl")"
curl -s -D h3.txt -o lo.json -X POST -H "Cookie: $C2" -H "X-CSRF-Token: $CSRF2" "$(URL /api/v1/logout)" >/dev/null
is "cookie logout: 200" 200 "$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' h3.txt)"
check "cookie logout clears the cookie (Max-Age=0)" grep -qi '^Set-Cookie: __Host-otasuke_session=; Path=/; Max-Age=0' h3.txt
is "the cookie is rejected after logout" 401 "$(req /dev/null GET /api/v1/session -H "Cookie: $C2")"
is "audit: logouts" 2 "$(audit_count "action='logout'")"

# ---- throttling (S3): per account and per source address ----
# Account: 5 failures for view.b from 5 different addresses (each address stays under
# its own limit), then even the right password is refused, from a fresh address.
for i in 1 2 3 4 5; do login_from "127.0.0.1$i" view.b "wrong password $i" >/dev/null; done
curl -s -D th.txt -o th.json --interface 127.0.0.20 -X POST \
    -d "{\"name\":\"view.b\",\"password\":\"$TEST_PW\",\"bearer\":true}" "$(URL /api/v1/login)" >/dev/null
is "account throttled: 429" 429 "$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' th.txt)"
check "429 carries Retry-After (up to the 15 min window)" \
    bash -c "ra=\$(grep -i '^Retry-After:' th.txt | tr -dc 0-9); [ \"\$ra\" -ge 1 ] && [ \"\$ra\" -le 901 ]"
is "still throttled on further attempts" 429429 "$(login_from 127.0.0.21 view.b "$TEST_PW")$(login_from 127.0.0.22 view.b "x")"
is "another account from the same address logs in" 200 "$(login_from 127.0.0.20 view.a "$TEST_PW")"
is "one audit row for the account's lockout, not one per attempt" 1 \
    "$(audit_count "action='login_throttled' and target='user:view.b'")"
# Address: 5 failures from 127.0.0.30 on different (unknown) names, then a good login
# from that address is refused; from another address it works.
for i in 1 2 3 4 5; do login_from 127.0.0.30 "ghost$i" "wrong password" >/dev/null; done
is "address throttled: 429" 429 "$(login_from 127.0.0.30 adm.a "$TEST_PW")"
is "the same user from another address: 200" 200 "$(login_from 127.0.0.31 adm.a "$TEST_PW")"
is "audit row of the address lockout" 1 "$(audit_count "action='login_throttled' and addr='127.0.0.30'")"
is "failed logins are audited with their source address" 5 "$(audit_count "action='login_failed' and addr='127.0.0.30'")"
check "throttled attempts do not hash (no login_failed rows for them)" \
    [ "$(audit_count "action='login_failed' and target='user:view.b'")" = 5 ]

# ---- the audit log is append-only (S8) ----
check "UPDATE of audit_log is refused by the database" \
    bash -c "! sqlite3 '$DB' \"update audit_log set actor='x'\" 2>/dev/null"
check "DELETE from audit_log is refused by the database" \
    bash -c "! sqlite3 '$DB' 'delete from audit_log' 2>/dev/null"
check "every row has actor, action, target, time and source" \
    [ "$(audit_count "actor='' or action='' or at<=0 or addr=''")" = 0 ]
check "CLI audit list prints the rows" bash -c "'$OTASUKE' audit list --db '$DB' --limit 5 | wc -l | grep -qx 5"

center_stop; rc=$?
is "SIGTERM: exit 0" 0 "$rc"

# ---- session expiry: idle, then absolute ----
center_start "$DB" "$LOG" --set auth.session_idle=1s --set auth.session_max=1h || { bad "center restarts"; finish; exit 1; }
ti=$(login_bearer ana)
is "fresh session: 200" 200 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer $ti")"
sleep 1.5
is "idle past auth.session_idle=1s: 401" 401 "$(req ex.json GET /api/v1/session -H "Authorization: Bearer $ti")"
check "… saying it expired" grep -q expired ex.json
center_stop
center_start "$DB" "$LOG" --set auth.session_idle=1h --set auth.session_max=2s || { bad "center restarts"; finish; exit 1; }
ta=$(login_bearer ana)
is "fresh session: 200" 200 "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer $ta")"
sleep 2.5
is "older than auth.session_max=2s: 401 (though used within the idle time)" 401 \
    "$(req /dev/null GET /api/v1/session -H "Authorization: Bearer $ta")"
check "the ended sessions are removed at the next login" \
    bash -c "t=\$(cd '$T_TMP' && CENTER_PORT=$CENTER_PORT; curl -s -X POST -d '{\"name\":\"root\",\"password\":\"$TEST_PW\",\"bearer\":true}' http://127.0.0.1:$CENTER_PORT/api/v1/login >/dev/null); [ \"\$(sqlite3 '$DB' 'select count(*) from sessions where created < (select max(created) from sessions) - 2000000')\" = 0 ]"
center_stop
check "integrity_check ok" [ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ]
finish
