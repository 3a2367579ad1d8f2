/*
 * The sensor's detections (issue 4): threat-intelligence matching, behaviour
 * (scans, C&C bursts, land attacks), HTTP exploit patterns and dangerous files, and
 * the `alert` events they raise (docs/events.md, docs/detections.md).
 *
 * The pipeline calls in at four points, each cheap: a flow's first packet
 * (detect_flow_new), a flow's end (detect_flow_end), each application-layer event
 * once written (detect_event, which reads its JSON), and housekeeping once a second
 * of packet time (detect_housekeep). Alerts are aggregated: repeats of one
 * signature for one device and target within detect.aggregate_window become one
 * alert with a count, written when the window closes (or at detect_flush).
 *
 * Single-threaded: the pipeline's thread owns a detect. Memory: fixed tables from
 * MEM_CORE sized by the configuration at detect_new, indicator sets from MEM_INTEL.
 */
#ifndef OTASUKE_SENSOR_DETECT_H
#define OTASUKE_SENSOR_DETECT_H

#include "decode/pkt.h"
#include "flow/flow.h"
#include "sensor_conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct detect;
struct jw;
struct app_file;

/* Where alerts go: write(ud, line, len, ts_us) takes one finished JSON line
 * (borrowed until return). */
struct detect_host {
    void (*write)(void *ud, const char *line, size_t len, uint64_t ts_us);
    void *ud;
};

/* Builds the detections from c (home_net, thresholds, the intel lists of
 * detect.intel_file, loaded here). Returns NULL with a message in err (a bad
 * home_net, an intel file error "file:line: reason", out of memory). Borrows c
 * and h for its lifetime. */
struct detect *detect_new(const struct sensor_conf *c, const struct detect_host *h, char *err,
                          size_t errlen);
/* Writes nothing: call detect_flush first. Accepts NULL. */
void detect_free(struct detect *d);

/* The first packet p of flow f (dir: the packet's flow direction). */
void detect_flow_new(struct detect *d, const struct flow *f, const struct pkt *p, int dir);
/* Flow f ends (before its flow event is written). */
void detect_flow_end(struct detect *d, const struct flow *f);
/* One event line json[0..len) as written (dns, http, tls, smtp, fileinfo are read;
 * others are ignored at the cost of a prefix compare). */
/* ARP requests from this MAC (the sensor's own ARP sweep) are not weighed as probes. */
void detect_set_own_mac(struct detect *d, const uint8_t mac[6]);
void detect_event(struct detect *d, const char *json, size_t len, uint64_t ts_us);
/* detect_event in three steps, for one JSON walk shared with other readers of the line
 * (see inv_event_begin in inventory/inventory.h): begin, given the line's event_type
 * (jscan_event_type), says whether the line is read;
 * jscan hands every value to detect_event_val (ud: the detect) until it returns false;
 * end takes the walk's result (0 when this reader stopped it) and raises. */
struct jscan_val;
bool detect_event_begin(struct detect *d, const char *line, size_t len, const char *type,
                        size_t tlen);
bool detect_event_val(const struct jscan_val *v, void *d);
void detect_event_end(struct detect *d, int rc, uint64_t ts_us);
/* A file of an application protocol is complete (its first bytes in f->head). */
void detect_file(struct detect *d, const struct app_file *f, uint64_t ts_us);
/* Packet time advanced to now: closes aggregation windows, idle scans and bursts. */
void detect_housekeep(struct detect *d, uint64_t now_us);
/* Writes every pending alert (end of input). */
void detect_flush(struct detect *d);
/* Asks for a reload of the intel lists of detect.intel_file: a background thread
 * builds the new set (one load at a time; a request during a load runs after it).
 * Returns 0, or an ERR_* with a message in err when the thread cannot start. */
int detect_reload(struct detect *d, char *err, size_t errlen);
/* Called by the packet thread (each second of packet time): installs a set the
 * thread finished (the old one is freed). Returns 1 when a set was swapped in, 0
 * when nothing finished, or ERR_INVAL with "file:line: reason" in err when a load
 * failed (the current set stays; counted in intel_reload_fails). */
int detect_reload_poll(struct detect *d, char *err, size_t errlen);
/* The "detect" object of the stats event. */
void detect_stats(const struct detect *d, struct jw *w);
/* Alerts written so far. */
uint64_t detect_alerts(const struct detect *d);
/* True when every extracted file is scanned (detect.yara.rules): the pipeline then
 * keeps every file's bytes, not only archives' (files_set_keep). */
bool detect_scans_files(const struct detect *d);

/* nDPI (sensor/app/appid.h) for the names in the policy's prohibited applications;
 * NULL (the default): no prohibited_app alerts. Borrowed for d's lifetime. */
struct appid;
void detect_set_appid(struct detect *d, const struct appid *a);
/* nDPI reached a verdict on flow f by inspection (not a guess) at ts_us. */
void detect_flow_app(struct detect *d, const struct flow *f, uint64_t ts_us);

/* ---- device inventory hook (sensor/inventory, issue 5) ---- */
struct detect_device_info {
    bool has_mac;
    uint8_t mac[6];
    const char *name, *maker, *kind; /* NULL when unknown; borrowed until return */
};
/* fn(ud, ip, ts, out) fills out with the device that had address ip at time ts and
 * returns true; the alert's `device` object then takes its MAC, name, maker, kind. */
typedef bool (*detect_device_fn)(void *ud, const struct addr *ip, uint64_t ts_us,
                                 struct detect_device_info *out);
void detect_set_device_lookup(struct detect *d, detect_device_fn fn, void *ud);
/* A new_device alert for the device at ip first seen at ts_us; evidence is a JSON
 * object's text (mac, maker, randomized, name, kind). */
void detect_new_device(struct detect *d, const struct addr *ip, uint64_t ts_us,
                       const char *evidence, size_t evlen);

#endif
