/*
 * The detections' signature table: one row per signature id with its category,
 * default severity and English / Japanese text, and the first-steps texts
 * ("alert.action") per category and direction. docs/detections.md lists the same
 * table; tests/unit/detect_test.c checks that every id is unique.
 */
#ifndef OTASUKE_SENSOR_DETECT_SIGS_H
#define OTASUKE_SENSOR_DETECT_SIGS_H

#include <stddef.h>
#include <stdint.h>

enum det_dir { DET_OUTBOUND = 0, DET_INBOUND, DET_INTERNAL, DET_DIR_COUNT };

enum det_sig {
    /* threat intelligence: one per alert category of the matching list */
    SIG_INTEL_C2 = 0,
    SIG_INTEL_MALWARE,
    SIG_INTEL_MALICIOUS_SITE,
    SIG_INTEL_PHISHING,
    SIG_INTEL_RANSOMWARE,
    SIG_INTEL_SPAM,
    SIG_INTEL_URL_CATEGORY,
    SIG_INTEL_SCANNER,
    SIG_INTEL_INTRUSION,
    SIG_INTEL_PROHIBITED_APP,
    SIG_INTEL_ANOMALY,
    /* behaviour */
    SIG_SCAN_PORTS,
    SIG_SCAN_HOSTS,
    SIG_SCAN_ICMP,
    SIG_C2_BURST,
    SIG_LAND,
    SIG_HTTP_TRAVERSAL,
    SIG_HTTP_SHELLSHOCK,
    SIG_HTTP_LOG4SHELL,
    SIG_HTTP_CMDINJ,
    SIG_FILE_ARCHIVE_EXE,
    SIG_FILE_DOUBLE_EXT,
    SIG_FILE_DISGUISED_EXE,
    SIG_FILE_EXE_ATTACHMENT,
    /* spam and mail abuse (spam.c) */
    SIG_SPAM_SENDER_MISMATCH,
    SIG_SPAM_DISPLAY_NAME,
    SIG_SPAM_BULK,
    SIG_SPAM_ATTACHMENT,
    SIG_FILE_YARA,
    SIG_FILE_CLAMAV,
    /* device inventory (sensor/inventory, issue 5) */
    SIG_NEW_DEVICE,
    /* policy and beaconing (issue 4, behav2) */
    SIG_PROHIBITED_APP,
    SIG_C2_BEACON,
    /* DGA-like names (dga.c), nDPI's site categories (urlcat.c) */
    SIG_C2_DGA,
    SIG_NDPI_MALWARE_SITE,
    SIG_NDPI_MINING,
    /* traffic anomalies (anomaly.c) */
    SIG_ANOMALY_BYTES,
    SIG_ANOMALY_CONNS,
    SIG_COUNT
};

struct det_sig_info {
    uint32_t id;
    const char *category; /* DESIGN.md taxonomy */
    unsigned severity;    /* default; intel alerts take the list's */
    const char *en;
    const char *ja;
};

const struct det_sig_info *det_sig(enum det_sig s);
/* The signature of an intel list's category ("c2", "phishing", ...); -1 when the
 * category is not one we know. */
int det_sig_for_intel_category(const char *category);
/* First steps for an alert category and direction (static strings). */
void det_action(const char *category, enum det_dir dir, const char **ja, const char **en);
/* First steps when one device floods one kind of alert (likely malfunction). */
void det_action_malfunction(const char **ja, const char **en);
const char *det_dir_name(enum det_dir d);

#endif
