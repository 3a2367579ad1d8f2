#!/bin/bash
# zeek_agree: our dns and dhcp events (and, as their parsers land, http, tls, smtp,
# ssh and fileinfo) against the Zeek baseline logs beside the corpus's Zeek traces.
# See zeek_agree.py for the matching; extra arguments are passed on (e.g. --only dns/,
# --verbose, --keep).
# Environment: OTASUKE_BIN (built programs), OTASUKE_SRC (repo root), OTASUKE_BUILD
# (where the report goes), OTASUKE_CORPUS (default $OTASUKE_SRC/../shared/corpus).
# Exit 77 (skip) when the corpus or the sensor is absent.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${OTASUKE_SRC:=$(cd "$here/../.." && pwd)}"
: "${OTASUKE_BIN:=$OTASUKE_SRC/build/bin}"
: "${OTASUKE_CORPUS:=$OTASUKE_SRC/../shared/corpus}"
export OTASUKE_SRC OTASUKE_BIN OTASUKE_CORPUS
if [ ! -d "$OTASUKE_CORPUS/pcap/zeek" ]; then
    echo "zeek_agree: SKIP: no corpus at $OTASUKE_CORPUS/pcap/zeek (set OTASUKE_CORPUS)"
    exit 77
fi
exec /usr/bin/python3 "$here/zeek_agree.py" "$@"
