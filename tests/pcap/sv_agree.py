#!/usr/bin/python3
"""sv_agree: do our events satisfy the corpus's suricata-verify expectations?

For every test folder under $CORPUS/pcap/suricata-verify/ (nested folders too) that
has a test.yaml and a capture, run `otasuke-sensor -r PCAP -o OUT.json` with the
default configuration plus the few settings that the test's suricata.yaml and `args`
map to (see derive_settings), then evaluate each `checks:` entry of type `filter`
whose event type we produce (IN_SCOPE) with suricata-verify's semantics:

  * `count` is the number of events that match ALL the `match` keys;
  * a key is a dotted path, each part optionally indexed (`dns.answers[0].rdata`);
    a part `__len` gives the length of the value reached (-1 when it has none);
    keys ending in `__contains` (`in`), `__find` (substring of str()),
    `__startswith`, `__endswith` (on str()), `__gt/__gte/__lt/__lte` (numbers);
    `has-key` / `not-has-key` take a path (or a list of paths);
  * otherwise the value must be equal (Python ==, so 1 == 1.0, but "1" != 1).

We emulate Suricata EMULATED_VERSION: test- and check-level `requires` (min-version,
lt-version, gt-version, version, features) are evaluated against it and FEATURES.
What is skipped, and counted as such per event type with its reason:
  * tests needing what we are not: a `command` of their own, IPS mode
    (--simulate-ips, stream.inline), features we lack, another Suricata version,
    a capture that is absent here (`pcap: ../x/...`);
  * checks on a file other than eve.json (`filename`), checks whose match needs
    alerts (`alert.*`, `flow.alerted: true`, `verdict`), checks on keys we do not
    write at all (UNSUPPORTED_KEYS, e.g. `pcap_cnt`), checks written for the
    dns EVE version 2 shape when the test's suricata.yaml asks for version 2
    (we write version 3, docs/internals/dns.md);
  * checks whose event type is not in IN_SCOPE (alert, anomaly, dcerpc, ...).
Everything else is scored. A check that fails is listed with the nearest event of
ours (the event of that type matching the most keys) and the keys that differ.
KNOWN maps a test (or test/check index) to the documented reason of a failure that
we understand (docs/internals/agreement.md); a known failure still counts as failed.

Output: a table per event type (checks in scope, passed, %), the failures, and
$OTASUKE_BUILD/sv_agree/summary.json + report.txt. Exit 1 when an event type of
THRESHOLDS is below its threshold, 77 when the corpus or the sensor is absent.
Options: --only SUBSTR (test names), --keep (keep our event files), --jobs N,
--verbose (print every failure, not the first per test).
Python 3 standard library + python3-yaml (Debian).
"""

import argparse
import calendar
import collections
import concurrent.futures
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

SKIP = 77

# ---- knobs -------------------------------------------------------------------------
# Event types we write (or will write as the issue-3 parsers land). Checks on other
# event types are not scored.
IN_SCOPE = ("dns", "dhcp", "flow", "http", "tls", "smtp", "fileinfo", "ssh")
# Minimum pass rate (percent of scored checks) per event type. Adding an event type
# is one line here. Calibrated 2026-11-23 (see docs/internals/agreement.md).
THRESHOLDS = {
    "dns": 94.0,     # measured 97.5% (197/202), 2026-11-23 after the merges
    "dhcp": 95.0,    # measured 100% (2 checks)
    # the issue's target is 90% per protocol:
    "http": 95.0,    # measured 100% (42/42) with issue 3's scope (no HTTP/2)
    "tls": 95.0,     # measured 100% (30/30)
    "smtp": 95.0,    # measured 97.5% (39/40): 1 DIFF (smtp-long-command)
    "fileinfo": 92.0,  # measured 95.2% (60/63) over HTTP/1.x and SMTP
    "ssh": 95.0,     # measured 100% (8/8), HASSH as Suricata had it (ssh_hassh_default)
}
EMULATED_VERSION = (8, 0, 7)          # the Suricata whose expectations we score
FEATURES = {"HAVE_JA3", "HAVE_JA4", "MAGIC", "RUST"}   # build features we have
# Keys of Suricata's EVE that we do not write at all (and why).
UNSUPPORTED_KEYS = {
    "pcap_filename": "Suricata's capture file name; we do not write it",
    "packet": "Suricata's base64 packet dump; we do not write it",
    "verdict": "IPS verdicts (we are an IDS)",
    "tx_guessed": "Suricata's guessed-transaction marker",
}
# Arguments that put Suricata in a mode we do not have: skip the whole test.
SKIP_ARGS = {
    "--simulate-ips": "IPS mode (--simulate-ips)",
    "stream.inline": "IPS mode (stream.inline)",
}
# Suricata --set name -> (our setting, value converter). Only settings our sensor
# has (checked against --help-config at start) are passed.
def _bool(v):
    return "yes" if str(v).lower() in ("1", "yes", "true", "on") else "no"


def _size(v):
    """Suricata sizes ("1mb", "64kb", "4096") in our notation ("1 MiB")."""
    m = re.match(r"^\s*(\d+)\s*([kmg]?)i?b?\s*$", str(v).lower())
    if not m:
        return str(v)
    unit = {"": "", "k": " KiB", "m": " MiB", "g": " GiB"}[m.group(2)]
    return m.group(1) + unit


ARG_MAP = {
    "stream.reassembly.depth": ("reassembly.depth", _size),
    "app-layer.protocols.http.libhtp.default-config.request-body-limit":
        ("app.http.request_body_limit", _size),
    "flow-timeouts.tcp.new": ("flow.timeout.tcp_new", lambda v: "%ss" % v),
    "flow-timeouts.tcp.established": ("flow.timeout.tcp_established", lambda v: "%ss" % v),
    "flow-timeouts.tcp.closed": ("flow.timeout.tcp_closed", lambda v: "%ss" % v),
    "app-layer.protocols.ssh.hassh": ("app.ssh.hassh", _bool),
}
for _p in IN_SCOPE:
    ARG_MAP["app-layer.protocols.%s.enabled" % _p] = ("app.%s.enabled" % _p, _bool)
for _p in ("vxlan", "geneve", "teredo"):
    ARG_MAP["decoder.%s.enabled" % _p] = ("decoder.%s.enabled" % _p, _bool)
# eve-log options of a test's suricata.yaml -> our settings (the per-flow header fields).
EVE_LOG_MAP = {
    "community-id": ("eve.community_id", _bool),
    "community-id-seed": ("eve.community_id_seed", str),
    "ethernet": ("eve.ethernet", _bool),
}
# Keys we do not write but the scorer derives from the capture (see packet_numbers):
# pcap_cnt, Suricata's 1-based number of the packet that made the event, is taken as
# satisfied when a packet with the event's timestamp has that number.
EMULATED_KEYS = ("pcap_cnt",)
# Suricata's eve type names that differ from their event_type.
EVE_TYPE_ALIASES = {"files": "fileinfo"}
# Failures we understand. A reason starts with BUG (our event differs from Suricata's
# and should not: for the parser owner), TODO (a feature not there yet) or DIFF (we
# differ on purpose, see docs/internals/agreement.md). A known failure still counts as
# failed. KNOWN is by test name ("dns/dns-query/x") or "test#check-index"; CLASSIFIERS
# recognise a kind of failure wherever it occurs: (predicate(check, nearest diff
# keys with indexes removed, test context), reason); the first that applies wins.
KNOWN = {
    "dns/dns-forward-pointer": "DIFF issue 3 asks to reject forward compression "
    "pointers; Suricata 8 accepts one that does not loop (Redmine #8584)",
    # flow checks (decap helper, 2026-11-23)
    "eve-flow-esp": "TODO ESP flows: Suricata keys them by SPI and writes spi; we key "
    "ESP by addresses only",
    "dnp3/dnp3-toclient-start": "TODO flow direction: Suricata's DNP3 parser turns a flow "
    "whose server spoke first around; we orient by ports only when one is below 1024",
    "detect-bypass-udp": "DIFF flow.state bypassed: rule-driven bypass, we have no bypass",
    "ssh-hassh#5": "DIFF flow.state bypassed: Suricata bypasses an encrypted SSH flow",
    "eve-metadata": "TODO traffic.id/label: set by rules (Suricata 8 traffic tags)",
    "eve-metadata-01-alert": "TODO traffic.id/label: set by rules (Suricata 8 traffic tags)",
    "entropy/entropy-01": "TODO metadata.entropy: set by a rule keyword",
    "dcerpc-request-http-response": "TODO app_proto_tc: per-direction protocols on a flow",
    "smtp-tls-protodetect": "TODO app_proto_tc: per-direction protocols on a flow",
    "drop-protocol-change": "TODO app_proto_orig: protocol change (HTTP/1 upgrade to HTTP/2)",
    "http-connect/http-connect-fail": "TODO app_proto_orig: protocol change after CONNECT",
    "pgsql/pgsql-upgrade-tls": "TODO app_proto_orig: protocol change (pgsql STARTTLS)",
    "bug-4953#1": "TODO a response file with 15 gaps: Suricata's size 137708, ours 142628 "
    "(the Content-Length, lost bytes counted as in http-gap-simple); not explained yet",
    "http-range-multiflows": "TODO Suricata joins the Content-Range parts of one file "
    "fetched over several flows into one file (size 37323); we log each part as a file",
    "mime/mime-stream-depth#1": "BUG (smtp/mime parser) a base64 attachment cut by the "
    "reassembly depth: Suricata's size 63891, ours 110010",
    "smtp-long-command": "DIFF Suricata keeps the HELO argument of a command line cut at its "
    "4096-byte limit, CR included (4091 bytes); we keep 255 bytes of HELO and count "
    "line_too_long; and its event comes at the last ACK of the TCP close, ours at the flow's "
    "end (docs/internals/agreement.md)",
}


def _only(keys, allowed):
    return bool(keys) and all(any(k.startswith(a) for a in allowed) for k in keys)


CLASSIFIERS = [
    (lambda c, keys, ctx: c["event_type"] == "dns" and keys == {"dns.tx_id"},
     "BUG dns.tx_id: Suricata 8 gives every DNS message over UDP its own transaction "
     "(the n-th message of the flow, requests and responses alike, has tx_id n-1); "
     "we give a request and its response one tx_id"),
    (lambda c, keys, ctx: c["event_type"] == "dns" and _only(
        keys, ("dns.answers[].", "dns.grouped.TXT", "dns.authorities[].",
               "dns.additionals[].")) and "TXT" in json.dumps(c["match"]),
     "BUG dns TXT: Suricata writes one answers entry (and one grouped.TXT value) per "
     "character-string of a TXT record; we concatenate the strings into one"),
    (lambda c, keys, ctx: c["event_type"] == "dns" and _only(keys, ("dns.answers[].sshfp",)),
     "TODO dns SSHFP rdata: Suricata writes an sshfp object {algo, type, fingerprint}; "
     "we write rrname/rrtype/ttl only"),
    (lambda c, keys, ctx: c["event_type"] == "dns" and keys == {"dns.answers[].rdata"}
     and "NULL" in json.dumps(c["match"]),
     "TODO dns NULL rdata: Suricata writes the bytes as printable text with \\xNN escapes; "
     "we write no rdata"),
    (lambda c, keys, ctx: keys == {"pcap_cnt"} and c["event_type"] in ("smtp", "fileinfo")
     and "smtp" in json.dumps(c["match"]),
     "BUG smtp transaction end: Suricata 8.0.7 completes a mail transaction at the server's "
     "reply to the end of its data (logged when the client ACKs that reply); so do we since "
     "2026-11-23: a failure here is a regression"),
    (lambda c, keys, ctx: keys == {"pkt_src"},
     "BUG pkt_src: Suricata 8 writes \"pkt_src\": \"wire/pcap\" on packet events; we do not"),
    (lambda c, keys, ctx: c["event_type"] == "dns" and c.get("got") == 0
     and ctx.get("dns_tcp") and not ctx.get("dns_events"),
     "TODO DNS over TCP on a port other than 53 (the test configures it; our probe "
     "takes DNS over TCP on port 53 only), or a name over Suricata's 1025-byte cut"),
]
SENSOR_TIMEOUT = 300
# ------------------------------------------------------------------------------------

MATCH_SUFFIXES = ("__contains", "__find", "__startswith", "__endswith")
CMP_SUFFIXES = {"__gt": lambda a, b: a > b, "__gte": lambda a, b: a >= b,
                "__lt": lambda a, b: a < b, "__lte": lambda a, b: a <= b}
PART_RE = re.compile(r"^(.*)\[(\d+)\]$")
PART_INDEX_RE = re.compile(r"\[\d+\]")


# ---- suricata-verify filter semantics ---------------------------------------------------
def find_value(name, obj):
    """The value at a dotted path (None when absent); `__len` ends the walk."""
    for part in name.split("."):
        if part == "__len":
            try:
                return len(obj)
            except TypeError:
                return -1
        if part in MATCH_SUFFIXES or part in CMP_SUFFIXES:
            break
        m = PART_RE.match(part)
        key, index = (m.group(1), int(m.group(2))) if m else (part, None)
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
        if index is not None:
            try:
                obj = obj[index]
            except (IndexError, KeyError, TypeError):
                return None
    return obj


def match_key(key, expected, event):
    if key in ("has-key", "not-has-key"):
        items = expected if isinstance(expected, list) else [expected]
        present = [find_value(i, event) is not None for i in items]
        return all(present) if key == "has-key" else not any(present)
    if key in EMULATED_KEYS and key not in event and "_pcap_cnts" in event:
        return expected in event["_pcap_cnts"]
    val = find_value(key, event)
    suffix = key.rsplit(".", 1)[-1]
    if suffix == "__find":
        return val is not None and str(val).find(str(expected)) >= 0
    if suffix == "__contains":
        try:
            return val is not None and expected in val
        except TypeError:
            return False
    if suffix == "__startswith":
        return val is not None and str(val).startswith(str(expected))
    if suffix == "__endswith":
        return val is not None and str(val).endswith(str(expected))
    if suffix in CMP_SUFFIXES:
        ok = (isinstance(val, (int, float)) and isinstance(expected, (int, float))
              and not isinstance(val, bool) and not isinstance(expected, bool))
        return ok and CMP_SUFFIXES[suffix](val, expected)
    return val == expected


def match_event(match, event):
    return all(match_key(k, v, event) for k, v in match.items())


# ---- pcap_cnt emulation -------------------------------------------------------------------
def _pcapng_tsres(opts, endian):
    """if_tsresol from an IDB's options: units per second."""
    off = 0
    while off + 4 <= len(opts):
        code, ln = struct.unpack(endian + "HH", opts[off:off + 4])
        if code == 0:
            break
        if code == 9 and ln >= 1:
            v = opts[off + 4]
            return 2 ** (v & 0x7f) if v & 0x80 else 10 ** v
        off += 4 + ((ln + 3) & ~3)
    return 10 ** 6


def _pcapng_times(f):
    endian, res = "<", []
    while True:
        head = f.read(8)
        if len(head) < 8:
            return
        if head[:4] == b"\x0a\x0d\x0d\x0a":
            bom = f.read(4)
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ln = struct.unpack(endian + "I", head[4:8])[0]
            f.read(ln - 12)
            res = []
            continue
        btype, ln = struct.unpack(endian + "II", head)
        if ln < 12:
            return
        body = f.read(ln - 8)
        if btype == 1 and len(body) >= 8:
            res.append(_pcapng_tsres(body[8:-4], endian))
        elif btype in (2, 6) and len(body) >= 12:
            iface = struct.unpack(endian + "I", body[:4])[0] if btype == 6 else \
                struct.unpack(endian + "H", body[:2])[0]
            hi, lo = struct.unpack(endian + "II", body[4:12])
            units = res[iface] if iface < len(res) else 10 ** 6
            t = (hi << 32) | lo
            yield t // units, (t % units) * 10 ** 6 // units
        elif btype == 3:
            yield None


def _pcap_times(f, head):
    m = head[:4]
    endian = "<" if m in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = m in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    while True:
        rec = f.read(16)
        if len(rec) < 16:
            return
        sec, frac, incl, _ = struct.unpack(endian + "IIII", rec)
        f.read(incl)
        yield sec, frac // 1000 if nano else frac


def packet_numbers(path):
    """{(seconds, microseconds): [1-based packet numbers]} of a pcap or pcapng file."""
    out = collections.defaultdict(list)
    try:
        with open(path, "rb") as f:
            head = f.read(24)
            if head[:4] == b"\x0a\x0d\x0d\x0a":
                f.seek(0)
                times = _pcapng_times(f)
            else:
                times = _pcap_times(f, head)
            for n, t in enumerate(times, 1):
                if t is not None:
                    out[t].append(n)
    except (OSError, struct.error):
        pass
    return out


TS_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?")


def event_time(ev):
    """An event's timestamp as (seconds, microseconds) UTC, or None."""
    m = TS_RE.match(str(ev.get("timestamp", "")))
    if not m:
        return None
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "0").ljust(6, "0")[:6]
    off = str(ev["timestamp"])[m.end():]
    sec = calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0))
    om = re.match(r"^([+-])(\d\d):?(\d\d)$", off)
    if om:
        delta = int(om.group(2)) * 3600 + int(om.group(3)) * 60
        sec -= delta if om.group(1) == "+" else -delta
    return sec, int(frac)


def add_packet_numbers(events, pcap):
    nums = packet_numbers(pcap)
    for ev in events:
        if "pcap_cnt" not in ev:
            ev["_pcap_cnts"] = nums.get(event_time(ev), [])


# ---- versions and requirements ------------------------------------------------------------
def parse_version(v):
    nums = [int(x) for x in re.findall(r"\d+", str(v))[:3]]
    return tuple(nums) if nums else (0,)


def version_cmp(want, have=EMULATED_VERSION):
    """-1, 0, 1 comparing `have` with `want` on the parts `want` names."""
    w = parse_version(want)
    h = have[:len(w)]
    return (h > w) - (h < w)


def requires_problem(req, test_dir):
    """None when we satisfy a `requires` mapping, else the reason."""
    for key, val in (req or {}).items():
        if key == "min-version" and version_cmp(val) < 0:
            return "requires Suricata >= %s" % val
        if key == "lt-version" and version_cmp(val) >= 0:
            return "requires Suricata < %s" % val
        if key == "gt-version" and version_cmp(val) <= 0:
            return "requires Suricata > %s" % val
        if key == "version" and version_cmp(val) != 0:
            return "requires Suricata %s" % val
        if key == "features":
            missing = [f for f in val if f not in FEATURES]
            if missing:
                return "requires feature %s" % ",".join(missing)
        if key == "not-features":
            have = [f for f in (val or {}) if f in FEATURES]
            if have:
                return "requires not feature %s" % ",".join(have)
        if key in ("script", "lambda", "env", "command"):
            return "requires %s" % key
        if key == "files":
            for f in val:
                if not os.path.exists(os.path.join(test_dir, f)):
                    return "requires file %s" % f
    return None


# ---- test discovery and configuration ------------------------------------------------------
def load_yaml(path):
    try:
        with open(path, "rb") as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError):
        return None


def find_pcap(test_dir, conf):
    if conf.get("pcap") is False:
        return None
    if isinstance(conf.get("pcap"), str):
        p = os.path.normpath(os.path.join(test_dir, conf["pcap"]))
        return p if os.path.isfile(p) else None
    caps = sorted(f for f in os.listdir(test_dir) if f.endswith((".pcap", ".pcapng")))
    return os.path.join(test_dir, caps[0]) if caps else None


def eve_types(sconf):
    """From a test's suricata.yaml: (set of event types logged or None for all,
    {type: its sub-configuration})."""
    outs = (sconf or {}).get("outputs") or []
    for o in outs:
        if not isinstance(o, dict) or "eve-log" not in o:
            continue
        eve = o["eve-log"] or {}
        types = eve.get("types")
        if not isinstance(types, list):
            return None, {}
        names, subs = set(), {}
        for t in types:
            if isinstance(t, str):
                name, sub = t, {}
            elif isinstance(t, dict) and t:
                name, sub = next(iter(t.items()))
                sub = sub if isinstance(sub, dict) else {}
            else:
                continue
            if str(sub.get("enabled", "yes")).lower() in ("no", "false"):
                continue
            name = EVE_TYPE_ALIASES.get(name, name)
            names.add(name)
            subs[name] = sub
        return names, subs
    return None, {}


def split_args(args):
    """Suricata command-line words from test.yaml `args` (a list of strings)."""
    words = []
    for a in args or []:
        words.extend(str(a).split())
    return words


def derive_settings(test_dir, conf, ours):
    """Our --set list, the event types to keep (None = all), the dns version asked
    for, a skip reason (or None) and notes on what could not be mapped."""
    sconf = load_yaml(os.path.join(test_dir, "suricata.yaml")) \
        if os.path.exists(os.path.join(test_dir, "suricata.yaml")) else None
    types, subs = eve_types(sconf)
    settings, notes = [], []
    # Suricata's default suricata.yaml logs only DHCP ACKs (extended: no).
    ext = (subs.get("dhcp") or {}).get("extended", False)
    if "app.dhcp.extended" in ours:
        settings.append("app.dhcp.extended=%s" % _bool(ext))
    # eve-log types: - http: {dump-all-headers: both|request|response} (default off)
    dump = str((subs.get("http") or {}).get("dump-all-headers", "none")).lower()
    if "app.http.dump_all_headers" in ours and dump in ("both", "request", "response"):
        settings.append("app.http.dump_all_headers=%s" % dump)
    # app-layer.protocols.http.libhtp.default-config.request-body-limit, when the
    # test's suricata.yaml sets it (files of request bodies are cut there)
    htp = ((((sconf or {}).get("app-layer") or {}).get("protocols") or {}).get("http") or {})
    rbl = ((htp.get("libhtp") or {}).get("default-config") or {}).get("request-body-limit")
    if rbl is not None and "app.http.request_body_limit" in ours:
        settings.append("app.http.request_body_limit=%s" % _size(rbl))
    dns_version = (subs.get("dns") or {}).get("version", 3)
    for o in (sconf or {}).get("outputs") or []:
        eve = o.get("eve-log") if isinstance(o, dict) else None
        for name, (ours_name, conv) in EVE_LOG_MAP.items():
            if isinstance(eve, dict) and name in eve and ours_name in ours:
                settings.append("%s=%s" % (ours_name, conv(eve[name])))
    # SMTP URL extraction (app-layer.protocols.smtp.mime in the test's suricata.yaml).
    mime = (((((sconf or {}).get("app-layer") or {}).get("protocols") or {}).get("smtp")
             or {}).get("mime")) or {}
    if isinstance(mime, dict):
        if "extract-urls" in mime and "app.smtp.extract_urls" in ours:
            settings.append("app.smtp.extract_urls=%s" % _bool(mime["extract-urls"]))
        sch = mime.get("extract-urls-schemes")
        if isinstance(sch, list) and sch and "app.smtp.url_schemes" in ours:
            settings.append("app.smtp.url_schemes=%s" % ",".join(str(x) for x in sch))
        if "log-url-scheme" in mime and "app.smtp.log_url_scheme" in ours:
            settings.append("app.smtp.log_url_scheme=%s" % _bool(mime["log-url-scheme"]))
    # Suricata 8 logs tls.client_handshake only with custom: [client_handshake].
    custom = (subs.get("tls") or {}).get("custom") or []
    if "app.tls.handshake" in ours and isinstance(custom, list):
        settings.append("app.tls.handshake=%s" % _bool("client_handshake" in custom))
    words = split_args(conf.get("args"))
    for i, w in enumerate(words):
        for pat, why in SKIP_ARGS.items():
            if pat in w:
                return settings, types, dns_version, why, notes
        if w != "--set" or i + 1 >= len(words):
            continue
        name, _, val = words[i + 1].partition("=")
        if name in ARG_MAP and ARG_MAP[name][0] in ours:
            settings.append("%s=%s" % (ARG_MAP[name][0], ARG_MAP[name][1](val)))
        elif name not in ("stream.midstream",):
            notes.append("unmapped --set %s" % words[i + 1])
    hassh = ssh_hassh_default(test_dir, sconf)
    if "app.ssh.hassh" in ours and not any(s.startswith("app.ssh.hassh=") for s in settings):
        settings.append("app.ssh.hassh=%s" % _bool(hassh))
    return settings, types, dns_version, None, notes


def ssh_hassh_default(test_dir, sconf):
    """Whether Suricata computes HASSH in this test when no --set says: its default is
    off; the test's suricata.yaml (app-layer.protocols.ssh.hassh) or a rule with an
    ssh.hassh* keyword (whose setup turns HASSH on) enables it. Our sensor's default is
    on, and with HASSH on an ssh event waits for the KEXINITs (Suricata: for NEWKEYS),
    so the scorer runs each test with the setting Suricata had (bug-4903-04: an event
    at the ACK of the second banner, no KEXINIT in the capture)."""
    ssh = ((((sconf or {}).get("app-layer") or {}).get("protocols") or {}).get("ssh") or {})
    if isinstance(ssh, dict) and "hassh" in ssh:
        return ssh["hassh"]
    rules = os.path.join(test_dir, "test.rules")
    if os.path.exists(rules):
        with open(rules, errors="replace") as f:
            if re.search(r"\bssh\.hassh", f.read()):
                return True
    return False


def check_event_type(match):
    et = match.get("event_type")
    if et is not None:
        return str(et)
    for k in match:
        head = k.split(".")[0].split("[")[0]
        if head in IN_SCOPE:
            return head
    return "(none)"


# Issue 3's protocols are HTTP/1.x, SMTP, TLS, DNS, DHCP, SSH and LAN discovery. A
# check on the http or fileinfo event of another carrier is not applicable; the carrier
# comes from the check's app_proto, else a well-known port in the check, else a
# protocol word in the test's name (e.g. http2-range, smb-length-5770).
CARRIER_PORTS = {445: "smb", 139: "smb", 20: "ftp-data", 21: "ftp", 2049: "nfs",
                 69: "tftp"}
CARRIER_NAME_RE = re.compile(r"(?:^|[-_/])(http2|smb[12]?|ftp|nfs[34]?|tftp)(?=[-_/]|$)")
ISSUE3_CARRIERS = ("http", "http1", "smtp")


def check_carrier(name, match):
    """The application protocol a check's event rides on, when known."""
    ap = match.get("app_proto")
    if isinstance(ap, str):
        return ap
    for k in ("src_port", "dest_port"):
        if match.get(k) in CARRIER_PORTS:
            return CARRIER_PORTS[match[k]]
    m = CARRIER_NAME_RE.search(name.lower())
    return m.group(1) if m else None


def carrier_skip_reason(name, match):
    et = check_event_type(match)
    if et not in ("http", "fileinfo"):
        return None
    carrier = check_carrier(name, match)
    if carrier is None or carrier in ISSUE3_CARRIERS:
        return None
    if carrier == "http2":
        return "HTTP/2 (not in issue 3)"
    if et == "fileinfo":
        return "fileinfo over %s (not in issue 3)" % re.sub(r"\d+$", "", carrier)
    return None


def check_skip_reason(flt, match, dns_version, test_dir, name=""):
    why = carrier_skip_reason(name, match)
    if why:
        return why
    if "filename" in flt and os.path.basename(str(flt["filename"])) != "eve.json":
        return "check on %s, not eve.json" % flt["filename"]
    why = requires_problem(flt.get("requires"), test_dir)
    if why:
        return why
    for k, v in match.items():
        head = k.split(".")[0].split("[")[0]
        if head == "alert" or (k == "flow.alerted" and v is True):
            return "needs alerts (rules)"
        if head in UNSUPPORTED_KEYS:
            return "key %s: %s" % (head, UNSUPPORTED_KEYS[head])
    if check_event_type(match) == "dns" and str(dns_version) == "2":
        v2 = match.get("dns.version") == 2 or match.get("dns.type") in ("query", "answer") \
            or any(k in ("dns.rrname", "dns.rrtype") for k in match)
        if v2:
            return "dns EVE version 2 shape (we write version 3)"
    return None


def rules_change_logging(test_dir):
    try:
        with open(os.path.join(test_dir, "test.rules"), encoding="utf-8",
                  errors="replace") as f:
            return any(re.search(r"config:\s*logging\s+disable", l) for l in f
                       if not l.lstrip().startswith("#"))
    except OSError:
        return False


def discover(root):
    tests = []
    for dirpath, _, files in os.walk(root):
        if "test.yaml" in files:
            tests.append(dirpath)
    return sorted(tests)


# ---- running ------------------------------------------------------------------------------
def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, check=False)
        return p.returncode, p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "timeout after %ss" % timeout
    except OSError as e:
        return -1, str(e)


def sensor_settings(sensor):
    """The setting names our sensor knows (from --help-config)."""
    try:
        out = subprocess.run([sensor, "--help-config"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {l.split()[0] for l in out.decode("utf-8", "replace").splitlines()
            if l and not l[0].isspace() and l.split()}


def read_events(path, types):
    events = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict) and (types is None or ev.get("event_type") in types):
                events.append(ev)
    return events


def nearest(match, events, etype):
    """Our event of type etype matching the most keys: (n matched, differing keys)."""
    best, best_n = None, -1
    for ev in events:
        if ev.get("event_type") != etype:
            continue
        n = sum(1 for k, v in match.items() if match_key(k, v, ev))
        if n > best_n:
            best, best_n = ev, n
    if best is None:
        return None
    diffs = []
    for k, v in match.items():
        if not match_key(k, v, best):
            got = find_value(k, best) if k not in ("has-key", "not-has-key") else "-"
            diffs.append((k, v, got))
    return {"matched": best_n, "of": len(match), "diffs": diffs}


DNS_PORTS = (53, 1053, 5353)


def test_context(events):
    """Facts about our output that the classifiers use."""
    ctx = {"dns_events": sum(1 for e in events if e.get("event_type") == "dns")}
    for e in events:
        if e.get("event_type") != "flow" or e.get("proto") != "TCP":
            continue
        nd = (e.get("flow") or {}).get("ndpi") or {}
        if e.get("app_proto") == "dns" or str(nd.get("master", nd.get("proto", ""))) \
                .startswith("DNS") or e.get("dest_port") in DNS_PORTS \
                or e.get("src_port") in DNS_PORTS:
            ctx["dns_tcp"] = True
    return ctx


def classify(c, ctx):
    nb = c.get("nearest") or {}
    keys = {PART_INDEX_RE.sub("[]", k) for k, _, _ in nb.get("diffs", [])}
    for pred, reason in CLASSIFIERS:
        if pred(c, keys, ctx):
            return reason
    return None


def one_test(args, t, ours, outdir):
    """Runs one test: returns a dict with its checks' outcomes."""
    name = t["name"]
    res = {"name": name, "checks": [], "skip": None, "notes": []}
    settings, types, dns_version, why, notes = derive_settings(t["dir"], t["conf"], ours)
    res["notes"] = notes
    if why is None:
        why = requires_problem(t["conf"].get("requires"), t["dir"])
    if why is None and rules_change_logging(t["dir"]):
        why = "the test's rules turn logging off (config: logging disable)"
    if why is None and "command" in t["conf"]:
        why = "a command of its own"
    pcap = find_pcap(t["dir"], t["conf"])
    if why is None and pcap is None:
        why = "capture absent"
    checks = []
    for idx, ch in enumerate(t["conf"].get("checks") or []):
        if not isinstance(ch, dict) or "filter" not in ch:
            continue
        flt = ch["filter"] or {}
        match = flt.get("match") or {}
        et = check_event_type(match)
        if et not in IN_SCOPE:
            continue
        c = {"index": idx, "event_type": et, "count": flt.get("count"), "match": match}
        c["skip"] = why or check_skip_reason(flt, match, dns_version, t["dir"], name)
        checks.append(c)
    res["checks"] = checks
    if why is not None or all(c["skip"] for c in checks):
        res["skip"] = why
        return res
    out = os.path.join(outdir, name.replace("/", "__") + ".json")
    cmd = [args.sensor, "-q", "-r", pcap, "-o", out]
    for s in settings:
        cmd += ["--set", s]
    rc, err = run(cmd, SENSOR_TIMEOUT)
    res["cmd"] = " ".join(cmd[1:])
    if rc != 0:
        res["sensor_err"] = (err.strip().splitlines() or ["exit %d" % rc])[-1][:200]
    if not os.path.exists(out):
        events = []
        ctx = {}
    else:
        events = read_events(out, None)
        ctx = test_context(events)
        if types is not None:
            events = [e for e in events if e.get("event_type") in types]
        if any(not c["skip"] and "pcap_cnt" in c["match"] for c in checks):
            add_packet_numbers(events, pcap)
        if not args.keep:
            os.unlink(out)
    for c in checks:
        if c["skip"]:
            continue
        got = sum(1 for ev in events if match_event(c["match"], ev))
        c["got"] = got
        c["pass"] = got == c["count"]
        if not c["pass"]:
            c["nearest"] = nearest(c["match"], events, c["event_type"])
            c["known"] = KNOWN.get("%s#%d" % (name, c["index"])) or KNOWN.get(name) \
                or classify(c, ctx)
    return res


# ---- report -------------------------------------------------------------------------------
def short(v, n=60):
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
    return s if len(s) <= n else s[:n - 3] + "..."


def describe_failure(r, c):
    keys = ", ".join("%s=%s" % (k, short(v, 40)) for k, v in c["match"].items()
                     if k != "event_type")
    lines = ["  %s#%d [%s] expected %s, got %s: %s" % (
        r["name"], c["index"], c["event_type"], c["count"], c["got"], short(keys, 220))]
    nb = c.get("nearest")
    if c["got"] == 0 and nb:
        d = "; ".join("%s: want %s, ours %s" % (k, short(w, 40), short(g, 40))
                      for k, w, g in nb["diffs"][:4])
        lines.append("      nearest event matches %d/%d keys; %s" % (nb["matched"], nb["of"], d))
    elif c["got"] == 0:
        lines.append("      no %s event of ours" % c["event_type"])
    if c.get("known"):
        lines.append("      known: %s" % c["known"])
    return lines


def tally(results):
    """Per event type: counters, skip reasons, failure reasons."""
    per = collections.OrderedDict((t, collections.Counter()) for t in IN_SCOPE)
    skipped = collections.defaultdict(collections.Counter)
    reasons = collections.defaultdict(collections.Counter)
    for r in results:
        for c in r["checks"]:
            cnt = per.setdefault(c["event_type"], collections.Counter())
            if c["skip"]:
                cnt["skipped"] += 1
                skipped[c["event_type"]][c["skip"]] += 1
                continue
            cnt["scored"] += 1
            if c["pass"]:
                cnt["passed"] += 1
                continue
            cnt["known"] += bool(c.get("known"))
            reasons[c["event_type"]][c.get("known") or "(unexplained)"] += 1
    return per, skipped, reasons


def failure_lines(args, results):
    """(lines for stdout, lines for the full report)."""
    out, full = [], []
    for r in results:
        if r.get("sensor_err"):
            full.append("%s: sensor failed: %s" % (r["name"], r["sensor_err"]))
            out.append(full[-1])
        shown = collections.Counter()
        for c in r["checks"]:
            if c["skip"] or c["pass"]:
                continue
            lines = describe_failure(r, c)
            full.extend(lines)
            # stdout: the thresholded types in full (2 per test and kind), others
            # only with --verbose
            kind = c.get("known") or ""
            if args.verbose or (c["event_type"] in THRESHOLDS and shown[kind] < 2):
                out.extend(lines)
            shown[kind] += 1
    return out, full


def report(args, results, outdir):
    per, skipped, reasons = tally(results)
    out_lines, full = failure_lines(args, results)
    bad, summary = [], {}
    for t, c in per.items():
        pct = 100.0 * c["passed"] / c["scored"] if c["scored"] else None
        thr = THRESHOLDS.get(t)
        summary[t] = {"scored": c["scored"], "passed": c["passed"], "percent": pct,
                      "known_failures": c["known"], "threshold": thr,
                      "skipped": c["skipped"], "skip_reasons": dict(skipped[t]),
                      "failure_reasons": dict(reasons[t])}
        if thr is not None and (pct is None or pct < thr):
            bad.append("%s %.1f%% < %.1f%%" % (t, pct or 0.0, thr))
    with open(os.path.join(outdir, "report.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(full) + "\n")
    with open(os.path.join(outdir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"emulated_version": ".".join(map(str, EMULATED_VERSION)),
                   "per_event_type": summary, "tests": results}, f, indent=1, default=str)

    print("sv_agree: Suricata %s expectations over %d tests with checks in scope" % (
        ".".join(map(str, EMULATED_VERSION)), len(results)))
    print("  %-9s %7s %7s %7s %7s %9s %8s" % ("type", "scored", "passed", "pass%",
                                             "known", "threshold", "skipped"))
    for t, v in summary.items():
        print("  %-9s %7d %7d %7s %7d %9s %8d" % (
            t, v["scored"], v["passed"], "%.1f" % v["percent"] if v["percent"] is not None
            else "-", v["known_failures"], "%.1f" % v["threshold"] if v["threshold"]
            else "-", v["skipped"]))
    print("failures by reason (thresholded types; BUG = ours to fix, TODO = not there "
          "yet, DIFF = on purpose):")
    for t in THRESHOLDS:
        for why, n in reasons[t].most_common():
            print("  %-5s %4d  %s" % (t, n, why))
    if out_lines:
        print("failing checks (thresholded types, 2 per test and reason; --verbose: all):")
        print("\n".join(out_lines))
    print("skipped checks by reason (all types):")
    allskip = collections.Counter()
    for t in skipped:
        allskip.update(skipped[t])
    for why, n in allskip.most_common(10):
        print("  %5d  %s" % (n, why))
    npass = sum(c["passed"] for c in per.values())
    nfail = sum(c["scored"] - c["passed"] for c in per.values())
    print("full report: %s (summary.json beside it)" % os.path.join(outdir, "report.txt"))
    print("sv_agree: %d passed, %d failed%s" % (
        npass, nfail, ("; below threshold: " + ", ".join(bad)) if bad else ""))
    return 1 if bad else 0


def self_test():
    """The filter semantics on small cases (run every time: a broken scorer fails)."""
    ev = {"event_type": "dns", "timestamp": "2017-01-27T16:03:18.623093+00:00",
          "dns": {"queries": [{"rrname": "a.example"}], "answers": [1, 2],
                  "flags": "8180", "id": 7}}
    cases = [("event_type", "dns", True), ("dns.queries[0].rrname", "a.example", True),
             ("dns.queries[1].rrname", "a.example", False), ("dns.answers.__len", 2, True),
             ("dns.missing.__len", -1, False),
             ("dns.flags.__len", 4, True), ("dns.id.__len", -1, True), ("dns.flags.__startswith", "81", True),
             ("dns.flags.__endswith", "81", False), ("dns.answers.__contains", 2, True),
             ("dns.queries[0].rrname.__find", "exam", True), ("dns.id.__gt", 6, True),
             ("dns.id.__lte", 6, False), ("dns.id", "7", False), ("dns.id", 7.0, True),
             ("has-key", "dns.flags", True), ("not-has-key", ["dns.x", "dns.id"], False)]
    bad = [(k, v) for k, v, want in cases if match_key(k, v, ev) != want]
    if event_time(ev) != (1485532998, 623093):
        bad.append(("timestamp", ev["timestamp"]))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = os.environ.get("OTASUKE_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--corpus", default=os.environ.get(
        "OTASUKE_CORPUS", os.path.join(src, "..", "shared", "corpus")))
    ap.add_argument("--sensor", default=os.path.join(
        os.environ.get("OTASUKE_BIN", os.path.join(src, "build", "bin")), "otasuke-sensor"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", help="substring of test names to run")
    ap.add_argument("--keep", action="store_true", help="keep our event files")
    ap.add_argument("--verbose", action="store_true", help="list every failing check")
    args = ap.parse_args()

    if yaml is None:
        print("sv_agree: SKIP: python3-yaml is not installed")
        return SKIP
    bad = self_test()
    if bad:
        print("sv_agree: FAIL: the scorer's own semantics are broken: %s" % bad)
        return 1
    root = os.path.join(args.corpus, "pcap", "suricata-verify")
    if not os.path.isdir(root):
        print("sv_agree: SKIP: no corpus at %s (set OTASUKE_CORPUS)" % root)
        return SKIP
    if not os.access(args.sensor, os.X_OK):
        print("sv_agree: SKIP: sensor %s not built" % args.sensor)
        return SKIP
    ours = sensor_settings(args.sensor)
    build = os.environ.get("OTASUKE_BUILD")
    if build:
        outdir = os.path.join(build, "sv_agree")
        os.makedirs(outdir, exist_ok=True)
    else:
        outdir = tempfile.mkdtemp(prefix="sv_agree.")
    tests = []
    for d in discover(root):
        name = os.path.relpath(d, root)
        if args.only and args.only not in name:
            continue
        conf = load_yaml(os.path.join(d, "test.yaml"))
        if isinstance(conf, dict):
            tests.append({"name": name, "dir": d, "conf": conf})
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        results = list(ex.map(lambda t: one_test(args, t, ours, outdir), tests))
    results = [r for r in results if r["checks"]]
    if not any("got" in c for r in results for c in r["checks"]) and \
            all(r.get("sensor_err") for r in results if "cmd" in r) and \
            any("cmd" in r for r in results):
        print("sv_agree: SKIP: the sensor failed on every test (%s)" % next(
            r["sensor_err"] for r in results if r.get("sensor_err")))
        return SKIP
    return report(args, results, outdir)


if __name__ == "__main__":
    sys.exit(main())
