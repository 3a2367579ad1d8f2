#!/usr/bin/env bash
# The configuration reference and the example config are generated from the
# program's table: fail when they are stale, and check the example loads as is.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
cd "$OTASUKE_SRC"
check "docs/configuration.md and docs/sensor.yaml match the program" tools/gen-config-docs "$SENSOR" --check
check "docs/sensor.yaml loads with -T" bash -c "'$SENSOR' -c docs/sensor.yaml -T >/dev/null"
check "every event field group the sensor writes is in docs/events.md" bash -c "
  '$SENSOR' -q -r '$(demo_pcap)' -o '$T_TMP/e.json' && '$PY' - '$T_TMP/e.json' docs/events.md <<'PYEOF'
import json, re, sys
doc = open(sys.argv[2], encoding='utf-8').read()
missing = set()
def walk(o, path):
    for k, v in o.items():
        p = path + [k]
        if isinstance(v, dict) and not (p[:2] in (['stats','memory'], ['stats','decoder']) and len(p) >= 3):
            walk(v, p)
        elif p[0] != 'stats' or len(p) <= 3:
            name = '.'.join(p)
            leaf = p[-1]
            if '\`' + name + '\`' not in doc and not re.search(r'\`[a-z_.]*' + re.escape(leaf) + r'\`', doc) \
               and not re.search(r'\.\`?' + re.escape(leaf) + r'\`', doc) and '\`' + leaf + '\`' not in doc:
                missing.add(name)
for line in open(sys.argv[1], encoding='utf-8'):
    walk(json.loads(line), [])
if missing:
    print('undocumented fields:', sorted(missing)); sys.exit(1)
PYEOF"
finish
