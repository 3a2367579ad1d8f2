#!/usr/bin/env bash
# Every capture of ../shared/corpus/pcap, whatever its link type, through the sensor:
# it must end normally (exit 0, or 3 when the file itself is truncated or corrupt),
# write only valid JSON lines ending with a final stats event, and (under the
# asan-ubsan build) trip no sanitizer. Also counts packets against capinfos.
# Under the sanitizers (`make asan` sets OTASUKE_SANITIZED=1) the PR tier runs a fixed
# deterministic half of the captures (the sanitized sensor is ~3x slower and this test
# set CI's critical path); OTASUKE_TIER=deep runs every capture there too.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
need_corpus
"$PY" - "$SENSOR" "$OTASUKE_CORPUS/pcap" "$T_TMP" <<'PYEOF'
import concurrent.futures as cf, csv, hashlib, json, os, subprocess, sys
sensor, root, tmp = sys.argv[1:4]
rows = list(csv.DictReader(open(os.path.join(root, "MANIFEST.tsv")), delimiter="\t"))
if os.environ.get("OTASUKE_SANITIZED") == "1" and os.environ.get("OTASUKE_TIER", "pr") != "deep":
    total = len(rows)
    rows = [r for r in rows if hashlib.sha1(r["file"].encode()).digest()[0] < 128]
    print("corpus_all: sanitized PR tier: a deterministic half, %d of %d captures "
          "(OTASUKE_TIER=deep for all)" % (len(rows), total), flush=True)
def run(row):
    f = os.path.join(root, row["file"])
    out = os.path.join(tmp, "%d.json" % abs(hash(row["file"])))
    p = subprocess.run([sensor, "-q", "-r", f, "-o", out], capture_output=True, text=True,
                       timeout=300)
    problems = []
    if p.returncode not in (0, 3) or "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        problems.append("exit %d: %s" % (p.returncode, p.stderr.strip()[-500:]))
    try:
        ev = [json.loads(l) for l in open(out, encoding="utf-8")]
        if not ev or ev[-1].get("event_type") != "stats" or not ev[-1]["stats"]["final"]:
            problems.append("no final stats event")
        elif p.returncode == 0 and row["packets"].isdigit() and \
                ev[-1]["stats"]["capture"]["packets"] != int(row["packets"]):
            problems.append("packets %d != capinfos %s" % (ev[-1]["stats"]["capture"]["packets"],
                                                            row["packets"]))
    except Exception as e:  # noqa: BLE001 - any parse failure is the finding
        problems.append("bad output: %r" % e)
    if os.path.exists(out):
        os.unlink(out)
    return row["file"], p.returncode, problems
bad = 0; n = 0; trunc = 0
with cf.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
    for name, rc, problems in ex.map(run, rows):
        n += 1
        trunc += rc == 3
        if problems:
            bad += 1
            print("FAIL - %s: %s" % (name, "; ".join(problems)))
print("corpus_all: %d captures, %d ended with a read error (damaged files, reported)" % (n, trunc))
print("corpus_all: %d passed, %d failed" % (n - bad, bad))
sys.exit(1 if bad else 0)
PYEOF
