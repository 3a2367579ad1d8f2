#!/bin/bash
# Application identification agrees with ndpiReader (same nDPI), flow by flow, on the
# corpus's nDPI captures. The scorer is ndpi_agree.py (see its docstring); extra
# arguments are passed on (e.g. --self-check, --only tls, --threshold 99.5).
# Environment: OTASUKE_BIN (built programs), OTASUKE_SRC (repo root), CORPUS
# (default $OTASUKE_SRC/../shared/corpus), OTASUKE_SENSOR (another program with the
# sensor's `-r FILE -o OUT.json` interface, e.g. build-debug/bin/appid_test).
# Exit 77 (skip) when the corpus, ndpiReader or the sensor is absent.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${OTASUKE_SRC:=$(cd "$here/../.." && pwd)}"
: "${CORPUS:=$OTASUKE_SRC/../shared/corpus}"
export OTASUKE_SRC CORPUS
if [ ! -d "$CORPUS/pcap/ndpi" ]; then
    echo "ndpi_agree: SKIP: no corpus at $CORPUS/pcap/ndpi"
    exit 77
fi
exec /usr/bin/python3 "$here/ndpi_agree.py" "$@"
