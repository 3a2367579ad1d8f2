/*
 * Internals shared by the detection modules (detect.c: alerts, aggregation, devices,
 * home_net; behav.c: scans, bursts, land; content.c: events and files).
 */
#ifndef OTASUKE_SENSOR_DETECT_INT_H
#define OTASUKE_SENSOR_DETECT_INT_H

#include "detect/detect.h"
#include "detect/sigs.h"
#include "otasuke/hash.h"
#include "otasuke/intel.h"
#include "otasuke/jw.h"

#define DET_EVIDENCE_MAX 480
#define DET_LIST_NAME_MAX 64
#define DET_HOME_MAX 64
#define DET_MAX_INTEL_LISTS INTEL_CONF_MAX_LISTS

/* One occurrence of a detection, as a detector raises it. */
struct det_alert {
    enum det_sig sig;
    unsigned severity; /* 0: the signature's */
    uint16_t variant;  /* intel: list id + 1; 0 otherwise (part of the aggregation key) */
    const char *list;  /* intel: the list's name, cited in the signature text */
    uint64_t ts, last; /* first and last time (last 0: ts) */
    uint64_t count;    /* occurrences (0 means 1) */
    uint64_t flow_id;
    struct addr src, dst;
    uint16_t sport, dport;
    uint8_t proto, ipver;
    const char *app_proto;
    uint64_t target;   /* aggregation target: 0 means the dest address */
    int dir;           /* 0: from the addresses; else enum det_dir + 1 */
    const char *evidence; /* a JSON object's text, or NULL */
    size_t evidence_len;
};

struct home_prefix {
    struct addr a; /* v4 as ::ffff:a.b.c.d */
    unsigned bits; /* on the 128-bit form */
};
/* One "addr[/bits]" item (home_net, allow-lists): 0 or ERR_INVAL. */
int det_parse_prefix(const char *s, size_t n, struct home_prefix *p);
/* True when address a lies in prefix p. */
bool det_prefix_match(const struct addr *a, const struct home_prefix *p);


struct det_agg;
struct det_macs;
struct det_behav;
struct det_reloader; /* detect.c: the intel reload thread */
struct det_policy;   /* policy.c */
struct det_beacon;   /* beacon.c */
struct appid;
struct det_spam;     /* spam.c */
struct det_dga;      /* dga.c */
struct det_anomaly;  /* anomaly.c */

struct detect {
    const struct sensor_conf *conf;
    struct detect_host host;
    struct jw jw;
    struct hash_key hk;
    struct home_prefix home[DET_HOME_MAX];
    unsigned nhome;
    struct intel_slot intel;
    struct det_agg *agg;
    struct det_macs *macs;
    struct det_behav *behav;
    struct det_reloader *rl; /* NULL until the first reload */
    struct det_policy *policy;
    struct det_beacon *beacon;
    struct det_spam *spam;   /* NULL when detect.spam.enabled is off */
    struct det_dga *dga;     /* dga.c; NULL when detect.dga.enabled is off */
    uint64_t urlcat_unwatched; /* urlcat.c: category-list hits of unwatched categories */
    struct det_anomaly *anomaly;
    const struct appid *appid; /* detect_set_appid (names of nDPI verdicts); may be NULL */
    const char *ev_line;     /* the event being read (detect_event_begin .. _end) */
    size_t ev_len;
    struct det_probes *probes; /* probes.c; NULL when stats.probes.enabled is off */
    struct det_filescan *scan; /* filescan.c; NULL without detect.yara.rules */
    char own_mac[18];        /* detect_set_own_mac, as events write MACs; "": none */
    uint64_t now;
    detect_device_fn dev_fn; /* device inventory hook (issue 5) */
    void *dev_ud;
    /* counters */
    uint64_t alerts, occurrences, agg_evicted, events_read, events_bad, intel_hits;
    uint64_t reloads, reload_fails, files_checked;
    uint64_t by_sig[SIG_COUNT];
    uint64_t suppressed, p2p_evicted, p2p_scans_ignored, beacon_evicted;
    uint64_t anomaly_evicted;
    struct { /* content.c: archives looked into (stats detect.archives) */
        uint64_t inspected, partial, members, with_exe, encrypted, errors, bombs, capped;
    } arc;
    struct { /* content.c: files scanned with YARA (stats detect.yara) */
        uint64_t scanned, matched, errors, incomplete;
    } yara;
};

/* Raises one occurrence (aggregated; written when its window closes). */
void det_raise(struct detect *d, const struct det_alert *a);
bool det_is_home(const struct detect *d, const struct addr *a);
/* The MAC last seen for an internal address; false when unknown. */
bool det_mac_get(const struct detect *d, const struct addr *a, uint8_t mac[6]);
void det_mac_put(struct detect *d, const struct addr *a, const uint8_t mac[6]);
/* Addresses are read with eve_addr_parse (output/eve.h). */
bool det_addr_is_v4(const struct addr *a);

/* behav.c */
struct det_behav *det_behav_new(const struct sensor_conf *c);
void det_behav_free(struct det_behav *b);
void det_behav_flow_new(struct detect *d, const struct flow *f, const struct pkt *p);
void det_behav_flow_end(struct detect *d, const struct flow *f);
void det_behav_housekeep(struct detect *d, uint64_t now, bool all);
void det_behav_arp(struct detect *d, bool request, const struct addr *sender,
                   const struct addr *target, uint64_t ts);

/* content.c */
/* JSON-escapes s into out (cap bytes, always terminated; cut when full). */
void det_json_esc(char *out, size_t cap, const char *s);
/* An event line read in three steps (detect.h, detect_event_begin). */
struct jscan_val;
bool det_content_begin(struct detect *d, const char *type, size_t tlen);
bool det_content_val(const struct jscan_val *v, void *d);
void det_content_end(struct detect *d, int rc, uint64_t ts);
void det_content_file(struct detect *d, const struct app_file *f, uint64_t ts);
/* The "archives" object of the detect stats (w inside an open object). */
void det_content_stats(const struct detect *d, struct jw *w);
/* Intel on a flow's addresses (first packet). */
void det_intel_flow(struct detect *d, const struct flow *f, const struct pkt *p);

/* policy.c: prohibited applications, P2P devices, allow-lists */
struct det_policy *det_policy_new(const struct sensor_conf *c, char *err, size_t errlen);
void det_policy_free(struct det_policy *pol);
void det_policy_set_appid(struct det_policy *pol, const struct appid *a);
/* True when an allow-list entry covers the occurrence (its source or destination). */
bool det_policy_allowed(const struct detect *d, const struct det_alert *a);
/* True when device a spoke a P2P protocol within detect.policy.p2p_hold before now. */
bool det_policy_is_p2p(const struct detect *d, const struct addr *a, uint64_t now);
/* nDPI's verdict (by inspection) on flow f at ts: P2P devices, prohibited_app. */
void det_policy_flow_app(struct detect *d, const struct flow *f, uint16_t master, uint16_t app,
                         uint16_t category, uint64_t ts);

/* beacon.c: regular beaconing */
struct det_beacon *det_beacon_new(const struct sensor_conf *c);
void det_beacon_free(struct det_beacon *b);
void det_beacon_flow_new(struct detect *d, const struct flow *f, const struct pkt *p);
/* UDP beats are judged when their flow ends (bytes and nDPI's verdict known). */
void det_beacon_flow_end(struct detect *d, const struct flow *f);
/* The judgement on n beat times (ascending): true when regular; *median the period. */
bool det_beacon_regular(const uint64_t *beats, unsigned n, unsigned jitter_pct, uint64_t min_iv,
                        uint64_t max_iv, uint64_t *median);

/* anomaly.c: per-device traffic and connection-rate anomalies */
struct det_anomaly *det_anomaly_new(const struct sensor_conf *c);
void det_anomaly_free(struct det_anomaly *an);
void det_anomaly_flow_new(struct detect *d, const struct flow *f, const struct pkt *p);
void det_anomaly_flow_end(struct detect *d, const struct flow *f);
/* Closes the minutes of every device once per minute of packet time (all: end of input,
 * open episodes raised). */
void det_anomaly_housekeep(struct detect *d, uint64_t now, bool all);

/* spam.c: mail abuse from smtp events (hdr: the event's alert header). */
struct det_spam *det_spam_new(void);
void det_spam_free(struct det_spam *s);
void det_spam_event(struct detect *d, const char *json, size_t len, const struct det_alert *hdr);
/* content.c: an executable or script name, or an executable behind a document extension
 * (the file checks' lists). */
bool det_file_name_dangerous(const char *name, size_t n);
/* probes.c: inbound probe statistics. det_probes_new returns NULL with err set (no
 * memory, stats.geoip.db not readable). */
struct det_probes *det_probes_new(const struct sensor_conf *c, char *err, size_t errlen);
void det_probes_free(struct det_probes *pr);
void det_probes_flow_new(struct detect *d, const struct pkt *p);
/* The "probes" object of the detect stats (w inside an open object). */
void det_probes_stats(const struct detect *d, struct jw *w);

/* filescan.c: YARA / ClamAV scanning of kept files. det_filescan_new compiles
 * c->yara_rules (NULL with "file:line: reason" in err); det_filescan_scan fills h with
 * the first matching rules of p[0..n) and returns 0, or ERR_INVAL (timeout, error). */
#define DET_SCAN_MAX_HITS 4
struct det_scan_hits {
    unsigned n;
    char rule[DET_SCAN_MAX_HITS][DET_LIST_NAME_MAX];
    char ns[DET_SCAN_MAX_HITS][32];
    bool clamav[DET_SCAN_MAX_HITS]; /* the hit is ClamAV's (rule = its signature name) */
};
struct det_filescan *det_filescan_new(const struct sensor_conf *c, char *err, size_t errlen);
void det_filescan_free(struct det_filescan *s);
int det_filescan_scan(struct det_filescan *s, const uint8_t *p, size_t n, const char *name,
                      struct det_scan_hits *h);

/* dga.c: DGA-like names. det_dga_new returns NULL with err set. */
struct dga_score {
    double bigram;       /* mean log2 probability per transition */
    double entropy;      /* bits per character */
    double digit_ratio;
    unsigned consonant_run;
    int points;          /* random at 3 */
};
struct det_dga *det_dga_new(const struct sensor_conf *c, char *err, size_t errlen);
void det_dga_free(struct det_dga *g);
/* True when the label l[0..n) looks random; sc (may be NULL) gets the features. */
bool dga_label_random(const char *l, size_t n, struct dga_score *sc);
/* -1: the name is never judged (reverse, local, DNS-SD, CDN, ignored); else a mask of
 * 1 (random-looking) and 2 (NXDOMAIN, when nxdomain). */
int det_dga_classify(const struct det_dga *g, const char *name, bool nxdomain);
/* One question name of a dns event (hdr: the alert header, the client as src). */
void det_dga_dns(struct detect *d, const char *name, bool nxdomain, const struct det_alert *hdr);
void det_dga_stats(const struct detect *d, struct jw *w);

/* urlcat.c: URL categories and nDPI's Malware / Mining categories. */
const char *det_urlcat_name(const char *cat, const char *list);
bool det_urlcat_watched(const struct detect *d, const char *name);
/* A hit on list `list` of category cat: false when it is not a category list (the
 * caller raises the threat alert); true when handled (raised or counted unwatched). */
bool det_urlcat_raise(struct detect *d, const struct det_alert *a, const char *cat,
                      const char *list, unsigned severity, const char *indicator,
                      const char *type, const char *match);
void det_ndpi_category_flow(struct detect *d, const struct flow *f, uint16_t category,
                            uint64_t ts);

#endif
