#!/usr/bin/env bash
# Recall of the detections on the corpus captures per label (portscan, hostsweep, c2,
# malware, malware-download, exploit, mining) with the corpus intel lists loaded (maltrail
# malware trails as c2, maltrail malicious trails, URLhaus domains and ESET sample
# hashes as malware, maltrail mass scanners as informational recon), and alerts above
# informational per 1,000 benign captures (the DETECT_BENIGN smallest, default 60; set
# DETECT_BENIGN=100000 for all of them, about an hour of CPU). summary.json in
# DETECT_CORPUS_OUT lists every benign alert above informational with its capture.
# Figures: docs/detections.md. Fails when a label's recall falls below its floor.
. "$(dirname "$0")/../lib/common.sh"
[ -x "$SENSOR" ] || { echo "no sensor at $SENSOR"; exit 1; }
need_corpus
I="$OTASUKE_CORPUS/intel"
W="$T_TMP"
cat "$I"/maltrail/malware/*.txt >"$W/maltrail-malware.txt"
cat "$I"/maltrail/malicious/*.txt >"$W/maltrail-malicious.txt"
cat "$I"/hashes/eset/*/samples.sha256 >"$W/eset.sha256"
cat >"$W/intel.yaml" <<YAML
intel:
  - {name: maltrail-malware, path: "$W/maltrail-malware.txt", format: maltrail, category: c2, severity: 1}
  - {name: maltrail-malicious, path: "$W/maltrail-malicious.txt", format: maltrail, category: malicious_site, severity: 2}
  - {name: urlhaus-domains, path: "$I/urlhaus/urlhaus-filter-domains.txt", format: plain, type: domain, category: malware, severity: 2}
  - {name: eset-sha256, path: "$W/eset.sha256", format: plain, type: sha256, category: malware, severity: 1}
  - {name: maltrail-mass-scanner, path: "$I/maltrail/mass_scanner.txt", format: maltrail, category: recon, severity: 4}
YAML
OUT=${DETECT_CORPUS_OUT:-$W}
# DETECT_NO_INTEL=1: no lists (the behaviour detectors alone; a run over every benign
# capture then takes minutes, not the lists' load time per capture)
INTEL="$W/intel.yaml"
[ "${DETECT_NO_INTEL:-0}" = 1 ] && INTEL=""
if nice "$PY" "$(dirname "$0")/detect_corpus.py" "$SENSOR" "$OTASUKE_CORPUS" "$INTEL" "$OUT" \
    --benign "${DETECT_BENIGN:-60}" \
    --min-recall portscan=0.5 --min-recall hostsweep=0.4 --min-recall c2=0.15 --min-recall exploit=0.15; then
    ok "recall per label at or above its floor"
else
    bad "recall per label"
fi
finish
