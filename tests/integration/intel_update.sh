#!/usr/bin/env bash
# `otasuke intel update` (issue 4) against a local HTTP and HTTPS server on 127.0.0.1
# (a python3 http.server subclass that sends ETag / Last-Modified and answers 304),
# serving lists from ../shared/corpus/intel and generated ones:
#   first download; a second run gets 304 and keeps the file (same inode); a changed
#   list replaces it and the running sensor (live on the loopback of a network
#   namespace, told by --pid) reloads and alerts on the new indicator, not before;
#   an oversized, a garbage and an unreachable download each keep the previous file
#   (exit 1, counted per list); https with a self-signed certificate made here by
#   openssl and `ca_file:`, and refused without it.
# Waits on the sensor's own log lines and on counts, never on fixed times.
. "$(dirname "$0")/../lib/common.sh"
need_corpus
CLI="$OTASUKE_BIN/otasuke"
[ -x "$CLI" ] || { echo "no CLI at $CLI"; exit 1; }
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
TRAILS="$OTASUKE_CORPUS/intel/maltrail/malware/trickbot.txt"
[ -r "$TRAILS" ] || skip_all "no $TRAILS in the corpus"
NS=otk-iu$$
cleanup() {
    [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
    [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$T_TMP"
}
trap cleanup EXIT
S="$T_TMP/srv" L="$T_TMP/lists"
mkdir -p "$S" "$L"
cp "$TRAILS" "$S/trickbot.txt"
printf '# hot addresses\n192.0.2.1\n' >"$S/hot.txt"
printf 'tls-only.example\n' >"$S/tls.txt"

have_https=yes
if command -v openssl >/dev/null &&
   openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
       -addext subjectAltName=IP:127.0.0.1 -keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" \
       >/dev/null 2>&1; then :; else
    have_https=no; echo "note: openssl missing or failed: https is not tested"
fi

# The server: ETag = digest of the body, Last-Modified = the file's mtime; 304 when
# If-None-Match matches (or, without it, If-Modified-Since is not older). Each request
# is logged as "path if-none-match" to requests.log. Ports go to ports.txt.
start_server() {
    "$PY" - "$S" "$T_TMP" "$have_https" >"$T_TMP/server.out" 2>&1 <<'PY' &
import email.utils, hashlib, http.server, os, ssl, sys, threading
root, tmp, https = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        p = os.path.join(root, os.path.basename(self.path))
        with open(os.path.join(tmp, "requests.log"), "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("If-None-Match")))
        try:
            data = open(p, "rb").read()
        except OSError:
            self.send_error(404); return
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:20]
        mtime = int(os.stat(p).st_mtime)
        inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        fresh = inm == etag if inm is not None else (
            ims is not None and email.utils.parsedate_to_datetime(ims).timestamp() >= mtime)
        if fresh:
            self.send_response(304); self.send_header("ETag", etag); self.end_headers(); return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)]
if https:
    s2 = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem"))
    s2.socket = ctx.wrap_socket(s2.socket, server_side=True)
    servers.append(s2)
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
with open(os.path.join(tmp, "ports.tmp"), "w") as f:
    f.write(" ".join(str(s.server_address[1]) for s in servers) + "\n")
os.rename(os.path.join(tmp, "ports.tmp"), os.path.join(tmp, "ports.txt"))
servers[0].serve_forever()
PY
    srv=$!
    for _ in $(seq 100); do [ -s "$T_TMP/ports.txt" ] && break; sleep 0.1; done
    read -r HP SP <"$T_TMP/ports.txt"
}
start_server
check "server started" [ -n "${HP:-}" ]
SP=${SP:-0}

cat >"$L/intel.yaml" <<Y
intel:
  - {name: trickbot, path: trickbot.txt, format: maltrail, category: c2, severity: 1,
     url: "http://127.0.0.1:$HP/trickbot.txt", max_bytes: 200000}
  - {name: hot, path: hot.txt, format: plain, type: ip, category: c2, severity: 1,
     url: "http://127.0.0.1:$HP/hot.txt"}
  - {name: local, path: local.txt, format: plain, category: malware}
Y
echo "203.0.113.250" >"$L/local.txt"
upd() { "$CLI" intel update --intel-file "$L/intel.yaml" "$@" >"$T_TMP/out" 2>"$T_TMP/err"; }
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$T_TMP/out" | tail -1; }

# 1. First download.
upd; rc=$?
check "first download: exit 0" [ "$rc" -eq 0 ]
check "first download: 2 updated, 1 without url" grep -qx "updated=2 not_modified=0 failed=0 no_url=1 reloaded=no" "$T_TMP/out"
check "the list is the served file" cmp -s "$S/trickbot.txt" "$L/trickbot.txt"
check "indicators counted by the sensor's loader" [ "$(sed -n 's/^list=trickbot result=updated .*indicators=\([0-9]*\)$/\1/p' "$T_TMP/out")" -gt 100 ]
check "validators kept beside the list" grep -q '^etag: "' "$L/trickbot.txt.meta"
check "and Last-Modified too" grep -q '^last-modified: .* GMT$' "$L/hot.txt.meta"
check "no temporary file left" [ -z "$(find "$L" -name '*.dl.*' -o -name '*.meta.*')" ]

# 2. Unchanged: 304, the file is not rewritten.
ino=$(stat -c %i "$L/trickbot.txt")
upd; rc=$?
check "second run: exit 0, both not modified" [ "$rc" -eq 0 ] && grep -qx "updated=0 not_modified=2 failed=0 no_url=1 reloaded=no" "$T_TMP/out"
check "the conditional GET sent the ETag" grep -q '^/trickbot.txt "' "$T_TMP/requests.log"
check "304 keeps the same file (inode)" [ "$(stat -c %i "$L/trickbot.txt")" = "$ino" ]

# 3. A running sensor, live on the loopback of a network namespace.
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add "$NS" 2>/dev/null; then
    ip -n "$NS" link set lo up
    ip -n "$NS" addr add 198.51.100.50/32 dev lo
    ip -n "$NS" addr add 203.0.113.9/32 dev lo
    ip netns exec "$NS" "$SENSOR" -i lo -o "$T_TMP/live.json" \
        --set detect.intel_file="$L/intel.yaml" --set output.stats_interval=1s \
        'udp and host 203.0.113.9' 2>"$T_TMP/live.err" &
    spid=$!
    for _ in $(seq 300); do grep -q "intel lists=" "$T_TMP/live.err" && break; sleep 0.1; done
    check "sensor started with the downloaded lists" grep -q "intel list=hot loaded=1" "$T_TMP/live.err"
    # its SIGHUP handler comes after the lists (sensor/main.c): before, a HUP ends it
    hup_caught() { local m; m=$(awk '/^SigCgt:/ {print $2}' "/proc/$spid/status" 2>/dev/null) &&
        [ -n "$m" ] && (( 16#$m & 1 )); }
    for _ in $(seq 600); do hup_caught && break; sleep 0.1; done
    check "sensor catches SIGHUP" hup_caught
    send() { ip netns exec "$NS" "$PY" -c '
import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.50", int(sys.argv[1]))); s.sendto(b"x", ("203.0.113.9", int(sys.argv[2])))' "$1" "$2"; }
    send 41001 9001 # before the indicator is listed: no alert
    printf '# hot addresses\n192.0.2.1\n203.0.113.9\n' >"$S/hot.txt"
    touch -d '+1 minute' "$S/hot.txt"
    upd --pid "$spid"; rc=$?
    check "changed list: exit 0, replaced, sensor told" [ "$rc" -eq 0 ] && grep -qx "updated=1 not_modified=1 failed=0 no_url=1 reloaded=yes" "$T_TMP/out"
    check "the new list is in place" cmp -s "$S/hot.txt" "$L/hot.txt"
    for _ in $(seq 300); do grep -q "intel lists reloaded" "$T_TMP/live.err" && break; sleep 0.1; done
    check "the sensor reloaded" grep -q "intel lists reloaded" "$T_TMP/live.err"
    send 41002 9002 # after: alert
    # Wait until a stats event counts both datagrams (the second crossed the reload).
    for _ in $(seq 100); do
        n=$(ev_query "$T_TMP/live.json" 'max([0]+[e["stats"]["decoder"]["pkts"] for e in E if e["event_type"]=="stats"])' 2>/dev/null || echo 0)
        [ "${n:-0}" -ge 2 ] && break
        sleep 0.2
    done
    kill -TERM "$spid"; wait "$spid"; spid=
    check "events are JSON" all_json "$T_TMP/live.json"
    check "alert on the new indicator after the reload, none before" [ "$(ev_query "$T_TMP/live.json" 'sorted(e["dest_port"] for e in E if e["event_type"]=="alert" and e["dest_ip"]=="203.0.113.9")')" = "[9002]" ]
    check "the alert cites the downloaded list" [ "$(ev_query "$T_TMP/live.json" '[e["alert"]["signature"] for e in E if e["event_type"]=="alert"][0].endswith("(hot)")')" = True ]
else
    echo "note: no root or no network namespaces: the live reload part is skipped"
    printf '# hot addresses\n192.0.2.1\n203.0.113.9\n' >"$S/hot.txt"
    touch -d '+1 minute' "$S/hot.txt"
    upd
fi
cp "$L/trickbot.txt" "$T_TMP/trickbot.before"
cp "$L/hot.txt" "$T_TMP/hot.before"

# 4. Oversized: past max_bytes (200,000) the transfer stops, the previous file stays.
"$PY" -c 'import sys
with open(sys.argv[1], "w") as f:
    for i in range(20000): f.write("bad%06d.example.com\n" % i)' "$S/trickbot.txt"
upd --list trickbot; rc=$?
check "oversized: exit 1, counted" [ "$rc" -eq 1 ] && grep -qx "updated=0 not_modified=0 failed=1 no_url=0 reloaded=no" "$T_TMP/out"
check "oversized: the reason names max_bytes" grep -q "trickbot.*larger than max_bytes 200000; the previous file stays" "$T_TMP/err"
check "oversized: previous file kept" cmp -s "$T_TMP/trickbot.before" "$L/trickbot.txt"

# 5. Garbage: refused by the loader's check.
head -c 3000 /dev/urandom | tr -d '\n' >"$S/hot.txt"
upd --list hot; rc=$?
check "garbage: exit 1, counted" [ "$rc" -eq 1 ] && grep -q "^list=hot result=failed" "$T_TMP/out"
check "garbage: the reason is the check" grep -q "hot.*check: " "$T_TMP/err"
check "garbage: previous file kept" cmp -s "$T_TMP/hot.before" "$L/hot.txt"
check "no temporary file left after failures" [ -z "$(find "$L" -name '*.dl.*' -o -name '*.meta.*')" ]

# 6. Server down: every list fails, the files stay.
kill "$srv"; wait "$srv" 2>/dev/null; srv=
upd; rc=$?
check "server down: exit 1, 2 failures" [ "$rc" -eq 1 ] && grep -qx "updated=0 not_modified=0 failed=2 no_url=1 reloaded=no" "$T_TMP/out"
check "server down: files kept" cmp -s "$T_TMP/trickbot.before" "$L/trickbot.txt" && cmp -s "$T_TMP/hot.before" "$L/hot.txt"

# 7. HTTPS with the self-signed certificate.
if [ "$have_https" = yes ]; then
    rm -f "$T_TMP/ports.txt"
    start_server
    cp "$T_TMP/cert.pem" "$L/feed-ca.pem"
    cat >"$L/tls.yaml" <<Y
- {name: tls, path: tls.txt, format: plain, category: phishing,
   url: "https://127.0.0.1:$SP/tls.txt", ca_file: feed-ca.pem}
Y
    cat >"$L/tls-noca.yaml" <<Y
- {name: tls2, path: tls2.txt, format: plain, category: phishing,
   url: "https://127.0.0.1:$SP/tls.txt"}
Y
    "$CLI" intel update --intel-file "$L/tls.yaml" >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
    check "https with ca_file: downloaded" [ "$rc" -eq 0 ] && cmp -s "$S/tls.txt" "$L/tls.txt"
    "$CLI" intel update --intel-file "$L/tls.yaml" >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
    check "https: 304 on the second run" [ "$rc" -eq 0 ] && grep -q "^list=tls result=not_modified" "$T_TMP/out"
    "$CLI" intel update --intel-file "$L/tls-noca.yaml" >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
    check "https without the CA: refused, nothing written" [ "$rc" -eq 1 ] && [ ! -e "$L/tls2.txt" ]
else
    echo "SKIP https part: openssl could not make a certificate"
fi

# Usage errors.
"$CLI" intel update >/dev/null 2>&1; rc=$?
check "no --intel-file: exit 2" [ "$rc" -eq 2 ]
"$CLI" intel update --intel-file "$L/intel.yaml" --list nosuch >/dev/null 2>&1; rc=$?
check "unknown --list: exit 2" [ "$rc" -eq 2 ]
echo "intel: [" >"$L/broken.yaml"
"$CLI" intel update --intel-file "$L/broken.yaml" >/dev/null 2>"$T_TMP/err"; rc=$?
check "broken intel file: exit 2 with file:line" [ "$rc" -eq 2 ] && grep -q "broken.yaml:[0-9]" "$T_TMP/err"
finish
