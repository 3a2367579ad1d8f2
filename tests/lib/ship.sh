# Helpers for the shipping tests (sourced after common.sh and center.sh): a center on
# a fixed loopback port (so that it can be killed and restarted where the sensor
# looks for it), sensor enrollment, and the comparison of the sensor's own event
# file with what the center stored.

# free_port: prints a loopback TCP port that was free a moment ago.
free_port() { "$PY" -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# center_on PORT DB LOG [options...]: starts the center on 127.0.0.1:PORT and waits
# until /healthz answers; sets CENTER_PID and CENTER_PORT.
center_on() {
    local port=$1 db=$2 log=$3; shift 3
    "$CENTER" --db "$db" --listen "127.0.0.1:$port" "$@" 2>>"$log" &
    CENTER_PID=$!
    CENTER_PORT=$port
    for _ in $(seq 1 200); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
        kill -0 "$CENTER_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# ship_setup DB: a company and a sensor in DB; prints the enrollment code.
ship_setup() {
    "$OTASUKE" company add --db "$1" --name A --sector x >/dev/null || return 1
    "$OTASUKE" sensor add --db "$1" --company 1 | sed -n 's/^enrollment_code=//p'
}

# empty_pcap FILE: a pcap file with no packet (the sensor then only drains its spool
# and ships its final stats event).
empty_pcap() { "$PY" -c 'import struct,sys
open(sys.argv[1],"wb").write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' "$1"; }

# ship_compare DB TYPES EVE...: the events of TYPES ("*" = all) in the sensor's event
# files and the event bodies the center stored are the same multiset of lines (every
# event exactly once). Prints the counts by type.
ship_compare() { "$PY" - "$@" <<'PYEOF'
import collections, json, sqlite3, sys
db, types, eves = sys.argv[1], sys.argv[2], sys.argv[3:]
want = set(types.split(","))
sent = collections.Counter()
for f in eves:
    for l in open(f, encoding="utf-8"):
        l = l.rstrip("\n")
        if types == "*" or json.loads(l)["event_type"] in want:
            sent[l] += 1
got = collections.Counter(b for (b,) in sqlite3.connect(db).execute("select body from events"))
by = collections.Counter(json.loads(l)["event_type"] for l in sent.elements())
print("  sensor wrote %d events of the shipped types: %s" % (sum(sent.values()), dict(sorted(by.items()))))
print("  center stored %d" % sum(got.values()))
missing, extra = sent - got, got - sent
for l in list(missing)[:3]: print("  missing:", l[:160])
for l in list(extra)[:3]: print("  extra or twice:", l[:160])
sys.exit(0 if not missing and not extra and sum(sent.values()) > 0 else 1)
PYEOF
}

# ship_counter ERRFILE NAME: the value of NAME in the sensor's final "ship: done" line.
ship_counter() { sed -n "/mod=ship done / s/.* $2=\([0-9]*\).*/\1/p" "$1" | tail -1; }
