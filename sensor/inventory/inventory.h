/*
 * The device inventory (issue 5, docs/inventory.md): a device per MAC address seen on
 * the LAN (per IP address where no MAC is visible), with its maker (IEEE OUI
 * registry), the randomized-MAC flag, names (DHCP, mDNS, NetBIOS, LLMNR), DHCP vendor
 * class and parameter-list fingerprint, mDNS services and model, SSDP server string,
 * HTTP user agents and TLS JA3/JA4 seen from it, and a guessed OS family and device
 * kind with the evidence for the guess. It keeps the history of which device had
 * which address when, so that an alert at time T names the device that had the
 * address at T.
 *
 * Fed by the pipeline: the source MAC/IP of IP packets (inv_sender: the first of each
 * direction of a flow, then about once a second, with what it said of the sender the
 * first time) and each application-layer event once written (dhcp, arp, mdns, nbns,
 * llmnr, ssdp, http, tls: the values their parsers noted, see inv_event_noted, or the
 * line; an event repeating the one before is taken for a repeat). Writes `asset`
 * events and asks for `new_device` alerts through its host. Bounded: at most
 * inventory.max_devices devices (later ones are counted, not kept) and
 * inventory.max_history address bindings (a ring).
 *
 * Single-threaded: the pipeline's thread owns an inventory.
 */
#ifndef OTASUKE_SENSOR_INVENTORY_H
#define OTASUKE_SENSOR_INVENTORY_H

#include "decode/pkt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INV_NAME_MAX 64
#define INV_TEXT_MAX 96
#define INV_SET_N 4      /* user agents, JA3, JA4 kept per device */
#define INV_SVC_N 8      /* mDNS service types kept per device */
#define INV_SVC_MAX 40
#define INV_EVIDENCE_MAX 240

enum inv_kind {
    INV_KIND_UNKNOWN = 0,
    INV_KIND_WINDOWS_PC,
    INV_KIND_MAC,
    INV_KIND_LINUX_SERVER,
    INV_KIND_PHONE,
    INV_KIND_PRINTER,
    INV_KIND_NAS,
    INV_KIND_CAMERA,
    INV_KIND_ROUTER,
    INV_KIND_IOT,
    INV_KIND_COUNT
};

enum inv_name_src { INV_NS_NONE = 0, INV_NS_LLMNR, INV_NS_NBNS, INV_NS_MDNS, INV_NS_DHCP };

struct inv_device {
    bool has_mac;
    bool randomized;       /* locally administered MAC (private Wi-Fi address) */
    bool dhcp_server;      /* seen answering DHCP */
    bool igd;              /* announces an UPnP InternetGatewayDevice */
    bool loaded;           /* known from the saved inventory */
    bool quiet;            /* an asset "quiet" event was written */
    bool dirty;            /* changed since the state file last had it (not saved) */
    uint8_t mac[6];
    struct addr ip;        /* current address (IPv4 preferred); zero when none */
    uint64_t first_seen, last_seen;
    uint64_t ip_since;     /* when the current address was bound (not saved) */
    /* bumped when its name, its address or its SSDP server string changes: an event is
     * recalled (inventory.c, struct inv_recall) only while it stands (not saved) */
    uint32_t ver;
    uint8_t name_src;      /* enum inv_name_src */
    uint8_t kind;          /* enum inv_kind */
    uint8_t kind_score;
    char name[INV_NAME_MAX];
    const char *maker;     /* OUI registry (static for the inventory's life) or NULL */
    char vendor_class[INV_NAME_MAX];
    char dhcp_fp[INV_TEXT_MAX];
    char model[INV_NAME_MAX];
    char ssdp_server[INV_TEXT_MAX];
    char os[24];
    char evidence[INV_EVIDENCE_MAX];
    char services[INV_SVC_N][INV_SVC_MAX];
    char queries[INV_SVC_N][INV_SVC_MAX]; /* mDNS service types it asks for */
    char ua[INV_SET_N][INV_TEXT_MAX];
    char ja3[INV_SET_N][33];
    char ja4[INV_SET_N][40];
};

/* What an alert's `device` object needs. */
struct inv_attrib {
    bool has_mac;
    uint8_t mac[6];
    const char *name;  /* NULL when unknown; borrowed until the next inventory call */
    const char *maker;
    const char *kind;
    bool by_history;   /* the address was bound to the device at that time */
};

struct inv_conf {
    unsigned max_devices;
    unsigned max_history;
    uint64_t learning_us;     /* no new_device alert this long after the first packet */
    uint64_t quiet_us;        /* an asset "quiet" event after this long without traffic */
    uint64_t new_device_delay_us;
    uint64_t save_interval_us;
    /* and at least this much wall-clock time between periodic saves (0: packet time
     * alone): a capture file read faster than real time is saved at its end, not every
     * save_interval of its packet time (3,189 times for the 1 GB benchmark capture) */
    uint64_t save_wall_us;
    char state_file[512];     /* "" : not persisted */
    char oui_dir[512];        /* "" : no maker lookup */
    char home_net[1024];      /* CIDRs, comma-separated */
};

struct inv_host {
    /* writes one asset event line */
    void (*write)(void *ud, const char *line, size_t len, uint64_t ts_us);
    /* a device never seen before joined after the learning period */
    void (*new_device)(void *ud, const struct inv_device *d, uint64_t ts_us);
    void *ud;
};

struct inv;
struct jw;

/* Loads the OUI registry and the saved inventory. NULL with a message in err. */
struct inv *inv_new(const struct inv_conf *c, const struct inv_host *h, char *err, size_t errlen);
void inv_free(struct inv *v);

/* A tick of packet time, 2^INV_TICK_SHIFT us (about a second): what packets tell the
 * inventory of a sender it already knows (last_seen) counts once per tick; the
 * pipeline calls inv_sender for a flow direction at most once a tick besides its first
 * packet and a change of MAC. */
#define INV_TICK_SHIFT 20

void inv_packet(struct inv *v, const uint8_t *mac, const struct addr *ip, uint64_t ts_us);
/* inv_packet for the sender of one direction of a flow, with what the inventory told
 * of that sender before: *memo (0 at the direction's first packet and whenever its MAC
 * changes; kept by the caller) names the device the sender is, whose later packets
 * only move its last_seen, or says the sender is outside the LAN, whose later packets
 * are skipped until something new is learned about the LAN. What a packet adds besides
 * (an address bound, a device made) comes at the first. */
void inv_sender(struct inv *v, const uint8_t *mac, const struct addr *ip, uint64_t ts_us,
                uint32_t *memo);
void inv_event(struct inv *v, const char *json, size_t len, uint64_t ts_us);
/* inv_event in three steps, for one JSON walk shared with other readers of the line
 * (the pipeline's hand-off to the inventory and the detections): begin, given the line's
 * event_type (jscan_event_type), says whether the line is read at all; then jscan_want
 * (detect/jscan.h) asks inv_event_want which members it reads (ud: the inventory; the
 * others are skipped without a copy) and hands their values to inv_event_val until it
 * returns false; end takes the walk's result (0, or -1 for a malformed line; 0 when
 * this reader stopped the walk itself) and acts on the event. */
struct jscan_val;
bool inv_event_begin(struct inv *v, const char *type, size_t tlen, uint64_t ts_us);
bool inv_event_want(const char *path, size_t plen, void *inv);
/* Whether the inventory reads the value at path (plen bytes, jscan's dotted path) of an
 * event of this type (tlen bytes), or an object or array on the way to one: what the
 * parsers that note (app/applayer.h, struct app_notes) must note. */
bool inv_reads(const char *type, size_t tlen, const char *path, size_t plen);
/* The event begun is read from the values its parser noted (app/applayer.h, struct
 * app_notes), handed to inv_event_val one by one, not from its line (stats:
 * events_noted). */
void inv_event_noted(struct inv *v);
bool inv_event_val(const struct jscan_val *val, void *inv);
/* The string value s (n bytes, no NUL among them, not NUL-terminated) under path, as
 * inv_event_val would take it from a walk (a noted plain string, struct app_note).
 * path must not change while the inventory lives (a literal, as
 * app_note's are): its field is looked up once per address. */
bool inv_event_str(struct inv *v, const char *path, size_t plen, const char *s, size_t n);
void inv_event_end(struct inv *v, int rc, uint64_t ts_us);
/* A whole event whose parser noted its values (nt on and not lost; app/applayer.h):
 * inv_event_begin, inv_event_noted, each noted value (inv_event_str, or inv_event_val
 * from jscan_value for one that is not a plain string) and inv_event_end. line (len
 * bytes) is the event line the notes point into. A repeat of the event before is
 * found in one pass over the notes. */
struct app_notes;
void inv_event_notes(struct inv *v, const char *type, size_t tlen, const char *line, size_t len,
                     const struct app_notes *nt, uint64_t ts_us);
void inv_housekeep(struct inv *v, uint64_t now_us);
/* End of input: asks for the new_device alerts still waiting for their delay. */
void inv_flush(struct inv *v);
/* Writes the whole state file anew (when configured): temporary file, then rename.
 * 0 or an ERR_*. */
int inv_save(struct inv *v, char *err, size_t errlen);
/* The periodic save (inv_housekeep calls it every inventory.save_interval): appends to
 * the state file only what changed since the last save (the devices changed or seen,
 * new address bindings, new learned prefixes), so its cost follows the changes, not
 * the size of the inventory; rewrites the file (inv_save) when the appended part has
 * grown past the size of the last full write plus 64 KiB, after a load and after a
 * failed append. 0 or an ERR_*. */
int inv_save_changes(struct inv *v, char *err, size_t errlen);
/* The device that had address ip at time ts (history, else the current binding). */
bool inv_attribute(struct inv *v, const struct addr *ip, uint64_t ts_us, struct inv_attrib *out);
void inv_stats(const struct inv *v, struct jw *w);

/* Devices in table order (for printing and tests). */
size_t inv_count(const struct inv *v);
const struct inv_device *inv_get(const struct inv *v, size_t i);
const struct inv_device *inv_find_mac(const struct inv *v, const uint8_t mac[6]);

const char *inv_kind_name(unsigned kind);
/* Re-runs the fingerprint rules on d (kind, os, kind_score, evidence). */
void inv_classify(struct inv_device *d);
/* Writes d's fields into the open object of w (asset events, JSON export). */
void inv_device_json(struct jw *w, const struct inv_device *d);
/* `otasuke-sensor --inventory`: reads a state file and prints it; format "table",
 * "csv" or "json". 0 or an ERR_*. */
int inv_print_file(const char *state_file, const char *oui_dir, const char *format, char *err,
                   size_t errlen);

/* ---- the OUI registry (oui.c) ---- */
struct oui_table;
/* Loads oui.csv, mam.csv, oui36.csv and iab.csv from dir (missing files are skipped,
 * none found is an error). */
struct oui_table *oui_load(const char *dir, char *err, size_t errlen);
void oui_free(struct oui_table *t);
/* oui_load in steps: an empty table (NULL without memory), the rows of a registry CSV
 * in buf (header and malformed rows skipped; returns the blocks added, or -1 without
 * memory), then oui_finish before any lookup. */
struct oui_table *oui_new(void);
long oui_add_csv(struct oui_table *t, const char *buf, size_t len);
void oui_finish(struct oui_table *t);
/* The organization for mac (longest registered prefix), or NULL. */
const char *oui_lookup(const struct oui_table *t, const uint8_t mac[6]);
size_t oui_count(const struct oui_table *t);
size_t oui_memory(const struct oui_table *t);
/* Locally administered (randomized) unicast address. */
bool mac_is_random(const uint8_t mac[6]);
bool mac_parse(const char *s, uint8_t mac[6]);

#endif
