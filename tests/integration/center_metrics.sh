#!/usr/bin/env bash
# Prometheus metrics at GET /metrics (issue 6): who may scrape (provider staff or the
# scrape token; anonymous 401, tenants' users and device tokens 403, a wrong token
# 401), and what the counters say after a known sequence of requests: batches stored
# and replayed, events stored, lines rejected, responses by status code, the latency
# histogram (cumulative, +Inf = count), the store pool, the notification queue depth
# (equal to the database's). The text is parsed as exposition format 0.0.4.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/center.sh"
need_center
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"
cd "$T_TMP"
DB=$T_TMP/c.db
LOG=$T_TMP/center.log
"$OTASUKE" company add --db "$DB" --name A --sector x >/dev/null
"$OTASUKE" sensor add --db "$DB" --company 1 >s.txt
CODE=$(sed -n 's/^enrollment_code=//p' s.txt)
user_add staff provider_admin
user_add ana provider_analyst
user_add viewer tenant_viewer 1
SCRAPE=scrape-token-0123456789abcdef
printf '%s\n' "$SCRAPE" >tok.txt
check "a scrape token under 16 characters is refused at start (2)" bash -c \
    "echo short >short.txt; '$CENTER' --db '$DB' --set metrics.token_file=short.txt 2>/dev/null; [ \$? -eq 2 ]"
center_start "$DB" "$LOG" --set metrics.token_file="$T_TMP/tok.txt" ||
    { cat "$LOG"; bad "center starts"; finish; exit 1; }
req en.json POST /api/v1/enroll -d "{\"code\":\"$CODE\"}" >/dev/null
TOK=$(jget en.json 'J["token"]')
STAFF=$(login_bearer staff)
ANA=$(login_bearer ana)
VIEW=$(login_bearer viewer)

# ---- who may scrape ----
check "anonymous: 401" [ "$(req m.txt GET /metrics)" = 401 ]
check "wrong scrape token: 401" [ "$(req m.txt GET /metrics -H 'Authorization: Bearer wrong-token-0123456789ab')" = 401 ]
check "tenant viewer: 403" [ "$(req m.txt GET /metrics -H "Authorization: Bearer $VIEW")" = 403 ]
check "device token: 403" [ "$(req m.txt GET /metrics -H "Authorization: Bearer $TOK")" = 403 ]
check "provider analyst: 200" [ "$(req m.txt GET /metrics -H "Authorization: Bearer $ANA")" = 200 ]
check "provider admin: 200" [ "$(req m.txt GET /metrics -H "Authorization: Bearer $STAFF")" = 200 ]
check "POST /metrics: 405" [ "$(req m.txt POST /metrics -H "Authorization: Bearer $SCRAPE")" = 405 ]
check "scrape token: 200" [ "$(req m0.txt GET /metrics -H "Authorization: Bearer $SCRAPE")" = 200 ]
check "content type is the text format 0.0.4" bash -c \
    "curl -s -D - -o /dev/null -H 'Authorization: Bearer $SCRAPE' http://127.0.0.1:$CENTER_PORT/metrics | grep -qi '^Content-Type: text/plain; version=0.0.4'"

# ---- a known sequence of ingest requests ----
"$PY" - <<'PYEOF'
import json
for b in range(3):
    with open("b%d.ndjson" % b, "w") as f:
        for i in range(10):
            if b == 1 and i in (3, 7):
                f.write("{not json\n")
            else:
                f.write(json.dumps({"timestamp": "2026-11-22T10:00:00Z", "event_type": "flow", "i": i}) + "\n")
PYEOF
for b in 0 1 2; do
    check "batch $b stored" [ "$(ingest r.json "$TOK" "b$b" "$b" "b$b.ndjson")" = 200 ]
done
st=$(ingest r.json "$TOK" b1 1 b1.ndjson)
check "replay of batch 1: 200 duplicate" bash -c "[ $st = 200 ] && grep -q '\"duplicate\":true' r.json"
check "unknown device token: 401" [ "$(ingest r.json ots_dev_nonsense b9 9 b0.ndjson)" = 401 ]
check "bad batch id: 400" [ "$(ingest r.json "$TOK" 'b 9' 9 b0.ndjson)" = 400 ]
check "no such endpoint: 404" [ "$(req r.json GET /nothing)" = 404 ]
check "scrape after: 200" [ "$(req m1.txt GET /metrics -H "Authorization: Bearer $SCRAPE")" = 200 ]
sqlite3 "$DB" "select count(*) from notifications where state='queued'" >queued.txt

cat >parse.py <<'PYEOF'
import re, sys
def parse(path):
    """Exposition format 0.0.4: HELP/TYPE comments, then samples name{labels} value."""
    types, samples = {}, {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*)?\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if line.startswith("# TYPE "):
            _, _, name, t = line.split(" ", 3)
            assert t in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, "TYPE twice: " + name
            types[name] = t
            continue
        if line.startswith("# HELP ") or line == "":
            continue
        m = line_re.match(line)
        assert m, "line %d not a sample: %r" % (n, line)
        name, labels, value = m.group(1), m.group(3) or "", float(m.group(5))
        base = re.sub(r'_(bucket|sum|count)$', '', name)
        assert name in types or base in types, "sample before its TYPE: " + name
        key = name + ("{" + labels + "}" if labels else "")
        assert key not in samples, "sample twice: " + key
        samples[key] = value
    return types, samples
t0, s0 = parse(sys.argv[1])
t1, s1 = parse(sys.argv[2])
queued = int(open(sys.argv[3]).read())
def d(k):
    return s1.get(k, 0) - s0.get(k, 0)
fails = []
def want(what, cond):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)
want("batches stored +3", d('otasuke_center_ingest_batches_total{result="stored"}') == 3)
want("batches duplicate +1", d('otasuke_center_ingest_batches_total{result="duplicate"}') == 1)
want("events stored +28", d('otasuke_center_ingest_events_total') == 28)
want("rejected lines +2", d('otasuke_center_ingest_rejected_lines_total') == 2)
want("401 +1 (the unknown device token)", d('otasuke_center_http_responses_total{code="401"}') == 1)
want("400 +1", d('otasuke_center_http_responses_total{code="400"}') == 1)
want("404 +1", d('otasuke_center_http_responses_total{code="404"}') == 1)
want("200 +6 (4 ingest answers, the scrape m0 itself and the content-type scrape)",
     d('otasuke_center_http_responses_total{code="200"}') == 6)
want("before: 401 x2, 403 x2, 405 x1 counted",
     s0.get('otasuke_center_http_responses_total{code="401"}') == 2 and
     s0.get('otasuke_center_http_responses_total{code="403"}') == 2 and
     s0.get('otasuke_center_http_responses_total{code="405"}') == 1)
h = "otasuke_center_http_request_duration_seconds"
want("histogram typed", t1.get(h) == "histogram")
b = sorted(((float(k.split('le="')[1].rstrip('"}')) if '+Inf' not in k else float("inf")), v)
           for k, v in s1.items() if k.startswith(h + "_bucket"))
want("histogram: 13 buckets, cumulative", len(b) == 13 and all(b[i][1] <= b[i + 1][1] for i in range(12)))
want("histogram: +Inf = count = sum of responses",
     b[-1][1] == s1[h + "_count"] == sum(v for k, v in s1.items() if k.startswith("otasuke_center_http_responses_total")))
want("histogram: sum >= 0", s1[h + "_sum"] >= 0)
want("pool size 4, in use 0 (idle; read before the scrape borrows one)", s1["otasuke_center_store_pool_size"] == 4 and s1["otasuke_center_store_pool_in_use"] == 0)
want("notification queue depth = the database's (%d)" % queued, s1["otasuke_center_notifications_queued"] == queued)
want("store errors 0", all(v == 0 for k, v in s1.items() if k.startswith("otasuke_center_store_errors_total")))
want("mail counters present", 'otasuke_center_notifications_total{channel="mail",result="sent"}' in s1)
sys.exit(1 if fails else 0)
PYEOF
"$PY" parse.py m0.txt m1.txt queued.txt >parse.out 2>&1
rc=$?
cat parse.out
check "metrics parse and agree with the requests made" [ $rc -eq 0 ]
center_stop
finish
