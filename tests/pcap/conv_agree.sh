#!/usr/bin/env bash
# conv_agree: the sensor's TCP/UDP flows against tshark's conversation tables, over every
# Ethernet capture of the corpus. See conv_agree.py for the method and the options
# (e.g. `bash tests/pcap/conv_agree.sh --sample 50`, `--files 'zeek/*'`, `--tshark-only`).
# Exit 77 (skipped) when the corpus, tshark or the sensor is absent.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${OTASUKE_SRC:=$(cd "$here/../.." && pwd)}"
: "${OTASUKE_BIN:=$OTASUKE_SRC/build/bin}"
export OTASUKE_SRC OTASUKE_BIN
corpus="${OTASUKE_CORPUS:-$OTASUKE_SRC/../shared/corpus}"
if [ ! -d "$corpus/pcap" ]; then
    echo "conv_agree: SKIP: corpus not found at $corpus/pcap (set OTASUKE_CORPUS)"
    exit 77
fi
if ! command -v tshark >/dev/null 2>&1; then
    echo "conv_agree: SKIP: tshark is not installed"
    exit 77
fi
export OTASUKE_CORPUS="$corpus"
exec /usr/bin/python3 "$here/conv_agree.py" "$@"
