#!/usr/bin/env bash
# bench/run.sh — the otasuke sensor benchmark (RELIABILITY.md P1, and memory per flow for L2).
#
# In ONE run, over the same 1 GB mixed capture built from the corpus:
#   1. baseline: build/bin/pcap_read (plain libpcap read loop), RUNS times;
#   2. sensor:   otasuke-sensor -r mixed-1G.pcap -o <file on the same disk>, RUNS times
#                (flows + nDPI, one thread, default config plus SENSOR_SETTINGS);
#   3. flood:    the sensor over a synthetic capture of FLOOD_N unique 5-tuples and over
#                an empty one, with a memcap big enough for all: memory per flow.
# Prints a Markdown report and writes it to bench/results/latest.md (+ raw data in
# bench/results/). See bench/README.md for the method.
#
# Environment: RUNS (default 3; P1 asks for 5 on release), FLOOD_N (default 1000000),
# BENCH_SIZE (default 1G), OTASUKE_BUILD, OTASUKE_BIN, OTASUKE_CORPUS, SKIP_FLOOD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${OTASUKE_BUILD:-$ROOT/build}"
BIN="${OTASUKE_BIN:-$BUILD/bin}"
CORPUS="${OTASUKE_CORPUS:-$ROOT/../shared/corpus}"
MAKE_BENCH_PCAP="${MAKE_BENCH_PCAP:-$ROOT/../shared/tools/make-bench-pcap}"
DATA="$ROOT/bench/data"          # git-ignored
RESULTS="$ROOT/bench/results"    # git-ignored
RUNS="${RUNS:-3}"
BENCH_SIZE="${BENCH_SIZE:-1G}"
BENCH_SEED=1
# Corpus folders (relative to $CORPUS/pcap) that feed the mixed capture. They are passed
# as relative names from inside that folder, so the file is identical on every machine.
BENCH_DIRS=(ndpi other suricata-verify zeek)
MIXED="$DATA/mixed-$BENCH_SIZE.pcap"
FLOOD_N="${FLOOD_N:-1000000}"
PY=/usr/bin/python3

# ---- sensor settings: keep every setting name here ---------------------------------------
# Throughput run: the default configuration (all parsers, nDPI), one worker thread.
SENSOR_SETTINGS=()               # e.g. (--set runmode.threads=1) once such a setting exists
# Flood run: room for every flow, and no timeout may fire before the end of the file.
FLOOD_MEMCAP="8 GiB"       # sizes take units, as in the config (STYLE.md §6)
FLOOD_SETTINGS=(--set "flow.memcap=$FLOOD_MEMCAP"
                --set flow.timeout.tcp_new=1d --set flow.timeout.tcp_established=1d
                --set flow.timeout.tcp_closed=1d --set flow.timeout.udp_new=1d
                --set flow.timeout.udp_established=1d)
# ------------------------------------------------------------------------------------------

log() { printf 'bench: %s\n' "$*" >&2; }
mkdir -p "$DATA" "$RESULTS"
LOAD_START="$(cut -d' ' -f1 /proc/loadavg)"
WORK="$(mktemp -d "$DATA/run.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# 0. Tools.
[ -x /usr/bin/time ] || { log "installing GNU time"; apt-get install -y time >/dev/null; }
HYPERFINE="$(command -v hyperfine || true)"
if [ ! -x "$BIN/pcap_read" ]; then
    log "building (cmake --preset release)"
    (cd "$ROOT" && cmake --preset release >/dev/null && cmake --build build -j"$(nproc)" >/dev/null)
    BIN="$ROOT/build/bin"
fi
SENSOR="$BIN/otasuke-sensor"
sensor_state="ok"
if [ ! -x "$SENSOR" ]; then
    sensor_state="not built ($SENSOR missing)"
elif "$SENSOR" 2>&1 | grep -q "not yet built"; then
    sensor_state="not built (placeholder main.c)"
fi

# 1. The mixed capture (deterministic: same corpus, --size and --seed give the same bytes).
if [ ! -s "$MIXED" ]; then
    [ -d "$CORPUS/pcap" ] || { log "corpus not found at $CORPUS/pcap"; exit 77; }
    log "building $MIXED from ${BENCH_DIRS[*]} (about a minute)"
    t0=$(date +%s)
    (cd "$CORPUS/pcap" && "$PY" "$MAKE_BENCH_PCAP" -o "$MIXED.tmp" --size "$BENCH_SIZE" \
        --seed "$BENCH_SEED" "${BENCH_DIRS[@]}")
    mv "$MIXED.tmp" "$MIXED"
    log "built in $(( $(date +%s) - t0 )) s"
fi
[ -s "$MIXED.sha1" ] && [ "$MIXED.sha1" -nt "$MIXED" ] || sha1sum "$MIXED" | cut -d' ' -f1 > "$MIXED.sha1"
log "warming the page cache"
cat "$MIXED" > /dev/null

# timed NAME RUNS CMD...: runs CMD RUNS times (hyperfine when installed, after one
# warm-up), writing per run: wall seconds to $WORK/NAME.times, and "wall user sys
# maxrss_KiB" (GNU time) to $WORK/NAME.gt. CMD must not need a shell.
timed() {
    local name="$1" runs="$2"; shift 2
    : > "$WORK/$name.gt.all"
    if [ -n "$HYPERFINE" ]; then
        local q; q="$(printf '%q ' "$@")"
        "$HYPERFINE" --style none --warmup 1 --runs "$runs" \
            --export-json "$WORK/$name.hf.json" \
            "/usr/bin/time -f '%e %U %S %M' -a -o $WORK/$name.gt.all $q >/dev/null" >&2
        # The warm-up run is the first line: drop it.
        tail -n +2 "$WORK/$name.gt.all" > "$WORK/$name.gt"
        "$PY" -c 'import json,sys; [print(t) for t in json.load(open(sys.argv[1]))["results"][0]["times"]]' \
            "$WORK/$name.hf.json" > "$WORK/$name.times"
    else
        "$@" > /dev/null   # warm-up
        for _ in $(seq "$runs"); do
            /usr/bin/time -f '%e %U %S %M' -a -o "$WORK/$name.gt" "$@" > /dev/null
        done
        cut -d' ' -f1 "$WORK/$name.gt" > "$WORK/$name.times"
    fi
}

# 2. Baseline: plain libpcap read.
log "baseline: pcap_read x$RUNS"
"$BIN/pcap_read" "$MIXED" > "$WORK/pcap_read.json"       # packet and byte totals
timed pcap_read "$RUNS" "$BIN/pcap_read" "$MIXED"

# 3. The sensor over the same file; events go to a file on the same disk.
if [ "$sensor_state" = ok ]; then
    log "sensor x$RUNS"
    EVE="$DATA/eve-bench.json"
    if "$SENSOR" -r "$MIXED" -o "$EVE" "${SENSOR_SETTINGS[@]}" 2> "$WORK/sensor.err"; then
        tail -n 200 "$EVE" | grep '"event_type":"stats"' | tail -n1 > "$WORK/sensor.stats" || true
        wc -l < "$EVE" > "$WORK/sensor.events"
        timed sensor "$RUNS" "$SENSOR" -r "$MIXED" -o "$EVE" "${SENSOR_SETTINGS[@]}"
        rm -f "$EVE"
    else
        sensor_state="failed: $(tail -n1 "$WORK/sensor.err")"
    fi
fi

# 4. Flood: memory per flow.
if [ "${SKIP_FLOOD:-0}" = 1 ]; then
    flood_state="skipped (SKIP_FLOOD=1)"
elif [ "$sensor_state" != ok ]; then
    flood_state="sensor $sensor_state"
else
    flood_state=ok
    FLOOD="$DATA/flood-$FLOOD_N.pcap"; EMPTY="$DATA/flood-0.pcap"
    [ -s "$FLOOD" ] || "$PY" "$ROOT/bench/make-flood-pcap.py" -o "$FLOOD" -n "$FLOOD_N"
    [ -s "$EMPTY" ] || "$PY" "$ROOT/bench/make-flood-pcap.py" -o "$EMPTY" -n 0
    log "flood: $FLOOD_N flows"
    for which in empty flood; do
        f="$EMPTY"; [ "$which" = flood ] && f="$FLOOD"
        if /usr/bin/time -f '%e %M' -o "$WORK/$which.time" \
                "$SENSOR" -r "$f" -o "$WORK/$which.eve" "${FLOOD_SETTINGS[@]}" 2> "$WORK/$which.err"; then
            grep '"event_type":"stats"' "$WORK/$which.eve" | tail -n1 > "$WORK/$which.stats" || true
            grep -c '"event_type":"flow"' "$WORK/$which.eve" > "$WORK/$which.flows" || true
        else
            flood_state="failed on $which: $(tail -n1 "$WORK/$which.err")"
        fi
        rm -f "$WORK/$which.eve"
    done
fi

# 5. Report.
export WORK MIXED RUNS LOAD_START FLOOD_N FLOOD_MEMCAP sensor_state flood_state
export SENSOR_ARGS="${SENSOR_SETTINGS[*]}" FLOOD_ARGS="${FLOOD_SETTINGS[*]}"
export GIT_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
export BENCH_DIRS_TXT="${BENCH_DIRS[*]}" TOOL="${HYPERFINE:+hyperfine}"
"$PY" - <<'EOF' | tee "$RESULTS/latest.md"
import json, os, platform, statistics, time

W = os.environ["WORK"]
def lines(name):
    try:
        return [l.strip() for l in open(os.path.join(W, name)) if l.strip()]
    except OSError:
        return []
def med(name):
    v = [float(x) for x in lines(name)]
    return statistics.median(v) if v else None
def gt(name):
    """(median CPU seconds user+sys, median peak RSS KiB) from GNU time lines."""
    v = [[float(x) for x in l.split()] for l in lines(name + ".gt")]
    if not v:
        return None, None
    return statistics.median(r[1] + r[2] for r in v), statistics.median(r[3] for r in v)
def flat(d, pre=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flat(v, pre + k + ".")
        else:
            yield pre + k, v
def stats(name):
    l = lines(name)
    try:
        return dict(flat(json.loads(l[-1]).get("stats", {}))) if l else {}
    except ValueError:
        return {}
def mem_keys(st):
    return {k: v for k, v in st.items() if any(w in k for w in ("memcap", "memuse", "mem_", "memory"))}
def mem_summary(st):
    """Peak bytes against the cap of each memory subsystem, plus non-zero failure counters."""
    subs = sorted({k.split(".")[1] for k in st if k.startswith("memory.") and k.count(".") == 2})
    if not subs:
        return ", ".join(f"`{k}`={v}" for k, v in mem_keys(st).items()) or "none found"
    def m(v):
        return f"{float(v) / 1048576:.1f}" if isinstance(v, (int, float)) else str(v)
    parts = [f"{x} {m(st.get(f'memory.{x}.peak'))}" +
             (f"/{m(st[f'memory.{x}.cap'])}" if st.get(f"memory.{x}.cap") else "") for x in subs]
    fails = [f"`{k}`={v}" for k, v in st.items()
             if ("fail" in k or "drops" in k) and isinstance(v, (int, float)) and v]
    return "peak/cap MiB: " + ", ".join(parts) + ("; " + ", ".join(fails) if fails else "")
def mib(kib):
    return f"{kib / 1024:.1f} MiB" if kib is not None else "–"

base = json.load(open(os.path.join(W, "pcap_read.json")))
pk, wire, cap = base["packets"], base["bytes"], base["caplen_bytes"]
cpu = "?"
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    pass
print(f"## Benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (rev {os.environ['GIT_REV']})\n")
la0, la1 = float(os.environ["LOAD_START"]), os.getloadavg()[0]
print(f"- machine: {cpu}, {os.cpu_count()} CPUs, {platform.release()}; load average {la0:.2f} at "
      f"the start, {la1:.2f} at the end"
      + (" — **the machine was busy: wall-clock figures are unreliable, compare CPU seconds**"
         if max(la0, la1) > 0.75 * (os.cpu_count() or 1) else ""))
print(f"- capture: `{os.path.basename(os.environ['MIXED'])}` (sha1 {open(os.environ['MIXED'] + '.sha1').read().strip()}), "
      f"{pk:,} packets, {cap / 1e6:,.1f} MB captured, mean {cap / pk:.0f} B/packet; "
      f"from corpus folders {os.environ['BENCH_DIRS_TXT']}")
print(f"- method: median of {os.environ['RUNS']} runs after 1 warm-up "
      f"({os.environ['TOOL'] or 'plain loop'}), page cache warm; Gbit/s = captured bytes × 8 / time; "
      f"ratio = sensor pkt/s ÷ baseline pkt/s (same file, same run); CPU ratio = the same "
      f"on user+sys CPU seconds (robust when the machine is shared); peak RSS = max RSS per run "
      f"(GNU time %M), median\n")
print("| program | median wall s | pkt/s | Gbit/s | ratio | CPU s (user+sys) | pkt/CPU-s | CPU ratio | peak RSS |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
bt = med("pcap_read.times")
bc, brss = gt("pcap_read")
rows = [("baseline `pcap_read` (libpcap loop)", bt, bc, brss)]
st = None
if os.environ["sensor_state"] == "ok":
    st = med("sensor.times")
    sc, srss = gt("sensor")
    rows.append(("`otasuke-sensor` (flows + nDPI, 1 thread, events to file) " + os.environ["SENSOR_ARGS"], st, sc, srss))
for name, t, c, rss in rows:
    ratio = f"{bt / t:.3f}" if t and bt else "–"
    cratio = f"{bc / c:.3f}" if c and bc else "–"
    pcs = f"{pk / c:,.0f}" if c else "–"
    print(f"| {name} | {t:.3f} | {pk / t:,.0f} | {cap * 8 / t / 1e9:.3f} | {ratio} | {c:.2f} | {pcs} | {cratio} | {mib(rss)} |")
if os.environ["sensor_state"] != "ok":
    print(f"| `otasuke-sensor` | – | – | – | – | – | – | – | {os.environ['sensor_state']} |")
print()
if wire != cap:
    print(f"Wire length (pcap orig_len) totals {wire / 1e9:,.1f} GB, not {cap / 1e9:.1f} GB: some corpus "
          "captures record orig_len far above what they hold (e.g. a fuzz capture claims 4 GB), so "
          "rates use captured bytes.\n")
if st:
    s = stats("sensor.stats")
    ev = lines("sensor.events")
    print(f"Sensor: {ev[0] if ev else '?'} events written; memory in its final stats event: "
          + mem_summary(s) + "\n")
print(f"### Memory per flow ({int(os.environ['FLOOD_N']):,} unique TCP SYN 5-tuples, "
      f"`flow.memcap={os.environ['FLOOD_MEMCAP']}`)\n")
fs = os.environ["flood_state"]
if fs != "ok":
    print(f"not measured: {fs}\n")
else:
    n = int(os.environ["FLOOD_N"])
    def rt(name):
        l = lines(name + ".time")
        return [float(x) for x in l[-1].split()] if l else [None, None]
    (te, re_), (tf, rf) = rt("empty"), rt("flood")
    nf = (lines("flood.flows") or ["?"])[0]
    print("| run | seconds | peak RSS | flow events | memory (stats event) |")
    print("|---|---:|---:|---:|---|")
    for nm, t, r, s in (("empty capture", te, re_, stats("empty.stats")), ("flood", tf, rf, stats("flood.stats"))):
        fl = (lines(("empty" if nm.startswith("empty") else "flood") + ".flows") or ["?"])[0]
        print(f"| {nm} | {t:.2f} | {mib(r)} | {fl} | " + mem_summary(s) + " |")
    if re_ and rf:
        print(f"\n**RSS per flow: {(rf - re_) * 1024 / n:.0f} bytes** ((peak RSS flood − empty) / {n:,}); "
              f"flow events: {nf} (expected {n:,}).")
    # e.g. memory.flow.peak (peak bytes of the flow subsystem) and flow.memuse (at exit).
    fs_ = stats("flood.stats")
    fm = {k: fs_[k] for k in ("memory.flow.peak", "flow.memuse") if k in fs_}
    fm = dict(list(fm.items())[:1])     # the peak when reported, else the in-use figure
    for k, v in fm.items():
        try:
            print(f"Table accounting: `{k}` / flows = {float(v) / n:.0f} bytes.")
        except (TypeError, ValueError):
            pass
    print()
EOF
log "report written to $RESULTS/latest.md"
