# Helpers for the center's script tests (sourced after common.sh): start and stop a
# real otasuke-center on a temporary database and a free loopback port, and make
# HTTP requests with curl.
CENTER="$OTASUKE_BIN/otasuke-center"
OTASUKE="$OTASUKE_BIN/otasuke"
CENTER_PID=""
CENTER_PORT=""

need_center() {
    [ -x "$CENTER" ] && [ -x "$OTASUKE" ] || { echo "no center at $CENTER"; exit 1; }
    command -v curl >/dev/null || skip_all "curl not installed (tools/install-deps.sh)"
}

# center_start DB LOG [options...]: starts the center on 127.0.0.1 port 0 and waits
# until /healthz answers; sets CENTER_PID and CENTER_PORT.
center_start() {
    local db=$1 log=$2; shift 2
    rm -f "$T_TMP/port"
    "$CENTER" --db "$db" --listen 127.0.0.1:0 --port-file "$T_TMP/port" "$@" 2>>"$log" &
    CENTER_PID=$!
    for _ in $(seq 1 100); do
        if [ -s "$T_TMP/port" ]; then
            CENTER_PORT=$(cat "$T_TMP/port")
            curl -sf "http://127.0.0.1:$CENTER_PORT/healthz" >/dev/null && return 0
        fi
        kill -0 "$CENTER_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# center_stop: SIGTERM, then waits; returns the exit status.
center_stop() {
    [ -n "$CENTER_PID" ] || return 0
    kill -TERM "$CENTER_PID" 2>/dev/null
    local rc=0
    wait "$CENTER_PID" || rc=$?
    CENTER_PID=""
    return $rc
}

# req OUT METHOD PATH [curl args...]: prints the HTTP status; the body goes to OUT.
req() {
    local out=$1 method=$2 path=$3; shift 3
    curl -s -o "$out" -w '%{http_code}' -X "$method" "$@" "http://127.0.0.1:$CENTER_PORT$path"
}

# ingest OUT TOKEN BATCH SEQ FILE [curl args...]: POSTs FILE as one batch.
ingest() {
    local out=$1 tok=$2 batch=$3 seq=$4 file=$5; shift 5
    req "$out" POST /api/v1/ingest -H "Authorization: Bearer $tok" -H "X-Otasuke-Batch: $batch" \
        -H "X-Otasuke-Seq: $seq" -H "Content-Type: application/x-ndjson" --data-binary @"$file" "$@"
}

# enroll CODE: redeems a sensor's enrollment code; prints its device token.
enroll() {
    curl -s -X POST -d "{\"code\":\"$1\"}" "http://127.0.0.1:$CENTER_PORT/api/v1/enroll" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# jget FILE EXPR: evaluates a python expression over the JSON document J in FILE.
jget() { "$PY" -c 'import json,sys
J=json.load(open(sys.argv[1],encoding="utf-8"))
print(eval(sys.argv[2]))' "$1" "$2"; }

# People (issue 6 auth): every endpoint but ingest, enroll and /healthz needs a person's
# session. TEST_PW is a password that passes the policy.
TEST_PW="otasuke test passphrase 1"
# user_add NAME ROLE [COMPANY]: adds a user with TEST_PW through the CLI.
user_add() {
    local name=$1 role=$2 company=${3:-}
    printf '%s\n' "$TEST_PW" | "$OTASUKE" user add --db "$DB" --name "$name" --role "$role" \
        ${company:+--company "$company"} >/dev/null
}
# login_bearer NAME [PASSWORD]: logs in for a bearer session; prints the token.
login_bearer() {
    curl -s -X POST -H 'Content-Type: application/json' \
        -d "{\"name\":\"$1\",\"password\":\"${2:-$TEST_PW}\",\"bearer\":true}" \
        "http://127.0.0.1:$CENTER_PORT/api/v1/login" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("token",""))'
}
