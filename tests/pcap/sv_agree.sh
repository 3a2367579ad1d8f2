#!/bin/bash
# sv_agree: our events against the corpus's suricata-verify test.yaml checks, per event
# type (dns, dhcp, flow, http, tls, smtp, fileinfo, ssh). See sv_agree.py for the
# method; extra arguments are passed on (e.g. --only dns, --verbose, --keep).
# Environment: OTASUKE_BIN (built programs), OTASUKE_SRC (repo root), OTASUKE_BUILD
# (where the report goes), OTASUKE_CORPUS (default $OTASUKE_SRC/../shared/corpus).
# Exit 77 (skip) when the corpus, python3-yaml or the sensor is absent.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${OTASUKE_SRC:=$(cd "$here/../.." && pwd)}"
: "${OTASUKE_BIN:=$OTASUKE_SRC/build/bin}"
: "${OTASUKE_CORPUS:=$OTASUKE_SRC/../shared/corpus}"
export OTASUKE_SRC OTASUKE_BIN OTASUKE_CORPUS
if [ ! -d "$OTASUKE_CORPUS/pcap/suricata-verify" ]; then
    echo "sv_agree: SKIP: no corpus at $OTASUKE_CORPUS/pcap/suricata-verify (set OTASUKE_CORPUS)"
    exit 77
fi
exec /usr/bin/python3 "$here/sv_agree.py" "$@"
