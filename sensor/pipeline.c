/*
 * The packet pipeline. For each packet: decode; a malformed packet becomes a
 * counter and, sampled, an `anomaly` event; an IP packet finds its flow, feeds
 * nDPI while it still wants packets, and feeds TCP reassembly. Housekeeping runs
 * once per second of packet time (flow and fragment timeouts, periodic stats).
 * When a flow ends, its `flow` event is written.
 *
 * Time is packet time only (the highest timestamp seen), so a pcap run is
 * deterministic; on a live interface an idle read timeout advances time by the
 * wall clock so that flows still expire while nothing arrives.
 *
 * Workers (capture.workers). The per-flow work is done by one or more workers;
 * each owns a decoder (with its fragment reassembly), a flow table, TCP
 * reassembly, an nDPI module, the application-layer parsers and a JSON writer.
 * With one worker, pipeline_run drives it on the calling thread and no lock is
 * ever taken. With N > 1, the calling thread is the reader: it reads the capture,
 * picks a worker by a symmetric hash of each packet (capture/flowhash.h: both
 * directions of a flow, all fragments of a datagram and all of a tunnel's traffic
 * go to one worker) and copies the packet into that worker's ring
 * (capture/pktring.h); the workers run on threads of their own. What is shared
 * across flows — the output sink, shipping, the detections, the inventory, the
 * anomaly sampling and the stats — is used under one mutex (pl->lock), taken
 * around each call into them. Each worker keeps its own clock (its newest packet)
 * for its flow timeouts; the shared clock pl->now is the newest of the workers'
 * clocks, and the shared housekeeping (stats, detections, inventory) runs once per
 * second of it, under the lock, from whichever worker first sees it pass. The
 * stats event sums the workers' counters: each worker writes its own sections at
 * its housekeeping and publishes the text under the lock; the stats writer adds
 * them up key by key (merge_sections).
 */
#include "pipeline.h"

#include "app/appid.h"
#include "app/dispatch.h"
#include "app/files.h"
#include "app/tls.h"
#include "capture/capture.h"
#include "capture/flowhash.h"
#include "capture/pktring.h"
#include "detect/archive.h"
#include "detect/detect.h"
#include "detect/jscan.h"
#include "inventory/inventory.h"
#include "inventory/sweep.h"
#include "decode/decode.h"
#include "flow/flow.h"
#include "flow/reasm.h"
#include "output/eve.h"
#include "output/sink.h"
#include "ship/ship.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "otasuke/log.h"
#include "otasuke/timefmt.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOUSEKEEP_US 1000000u
/* Each worker's packet ring: 8 MiB (bounded memory: 16 workers at most, so at most
 * 128 MiB); a record is at most a quarter of it (capture.snaplen tops at 256 KiB). */
#define RING_BYTES ((size_t)8 << 20)
/* The reader's snapshot of the capture counters for stats events, at most this often */
#define CAP_SNAPSHOT_US 250000u
/* Threaded: the reader tells every worker the packet time (a tick record) each time it
 * has moved this much, so that a worker without packets still follows the clock */
#define TICK_US 100000u

struct pipeline;

/* One worker: the per-flow half of the pipeline. */
struct worker {
    struct pipeline *pl;
    unsigned idx;
    struct decoder *dec;
    struct flow_table *flows;
    struct reasm *reasm;
    struct appid *appid;
    struct applayer *al;
    struct jw jw;
    struct app_notes notes;  /* the values the application event in jw noted */

    uint64_t now;            /* highest packet time this worker has seen */
    uint64_t next_housekeep; /* threaded: this worker's own next housekeeping */
    bool clock_started;
    uint64_t packets, bytes;
    /* pcap_cnt of application events: the current packet's number, 0 while a flow's
     * end flushes its streams (the events then say "stream (flow timeout)") */
    uint64_t pcap_cnt;
    uint64_t events_oversized;

    /* threaded mode */
    pthread_t thr;
    bool started;
    struct pktring *ring;
    uint64_t ring_drops; /* live: packets the reader could not queue (reader's counter) */
    uint64_t clock_pub;  /* now, as last published for the reader and the others (atomic) */
    struct jw frag[2];   /* this worker's stats sections: [0] decoder, [1] flow..app_layer */
    char *pub[2];        /* ... as last published (under pl->lock) */
    size_t pub_len[2], pub_cap[2];
};

struct pipeline {
    const struct sensor_conf *conf;
    struct sink *sink;
    struct capture *cap;
    struct jw jw; /* threaded: stats events (under the lock) */

    unsigned nworkers;
    bool threaded; /* nworkers > 1: worker threads and the lock */
    struct worker *wk;
    pthread_mutex_t lock;
    bool lock_init;
    uint64_t lock_waits; /* acquisitions that found the lock taken (atomic) */
    uint64_t lock_takes; /* acquisitions (under the lock) */

    uint64_t now;           /* highest packet time seen (threaded: by the workers) */
    uint64_t first_ts;
    bool clock_started;
    uint64_t next_housekeep;
    uint64_t next_stats;
    uint64_t wall_start;
    volatile sig_atomic_t stop;

    uint64_t packets, bytes; /* read from the capture */
    uint64_t ts_backwards;
    uint64_t last_pkt_ts; /* newest packet timestamp seen */
    /* anomaly sampling (Zeek weird-style): per kind a burst, then 1 in N, and a
     * global cap per second of packet time; suppressed ones are counted. Shared by
     * the workers (under the lock). */
    uint64_t anom_seen[DECODE_EV_COUNT];
    uint64_t anom_suppressed[DECODE_EV_COUNT];
    uint64_t anom_written, anom_dropped;
    uint64_t anom_sec;
    uint64_t anom_in_sec;
    bool read_error;
    /* detections (sensor/detect); NULL when detect.enabled is off */
    struct detect *det;
    struct inv *inv; /* device inventory (issue 5) */
    volatile sig_atomic_t reload;
    struct ship *ship; /* shipping to the center, NULL when ship.url is empty */
    struct sweep *sweep; /* the ARP sweep (borrowed), NULL when off */
    /* threaded: the reader's last snapshot of its counters (under the lock) */
    struct capture_stats cap_st;
    uint64_t snap_ts_backwards;
    bool snap_read_error;
    uint64_t cap_snap_next;
    uint64_t tick_last;   /* reader: the packet time of the last tick */
    uint64_t max_ts;      /* reader: the newest packet time read */
};

static void pl_lock(struct pipeline *pl)
{
    if (!pl->threaded)
        return;
    if (pthread_mutex_trylock(&pl->lock) != 0) {
        __atomic_add_fetch(&pl->lock_waits, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&pl->lock);
    }
    pl->lock_takes++;
}

static void pl_unlock(struct pipeline *pl)
{
    if (pl->threaded)
        pthread_mutex_unlock(&pl->lock);
}

/* Every event line goes here: to the output, and to the center when shipping.
 * Threaded: the caller holds the lock. */
static void write_line(struct pipeline *pl, const char *line, size_t len, uint64_t ts)
{
    sink_write(pl->sink, line, len, ts); /* failures are counted by the sink */
    if (pl->ship != NULL)
        ship_offer(pl->ship, line, len); /* never blocks; drops are counted */
}

/* Writes the worker's current event (w->jw); takes the lock. */
static void write_event(struct worker *w, uint64_t ts)
{
    struct jw *j = &w->jw;
    if (!jw_ok(j)) {
        __atomic_add_fetch(&w->events_oversized, 1, __ATOMIC_RELAXED);
        return;
    }
    pl_lock(w->pl);
    write_line(w->pl, j->buf, j->len, ts);
    pl_unlock(w->pl);
}
/* ---- flow events ---------------------------------------------------------- */

static void write_tcp_flags(struct jw *w, const char *key, uint8_t fl)
{
    static const char digits[] = "0123456789abcdef";
    char hex[2] = {digits[fl >> 4], digits[fl & 15]};
    jw_strn(w, key, hex, 2);
}

static void write_flow_tcp(struct jw *w, const struct flow *f)
{
    uint8_t ts = f->tcp_flags[FLOW_TOSERVER], tc = f->tcp_flags[FLOW_TOCLIENT];
    uint8_t all = ts | tc;
    jw_obj_open(w, "tcp");
    write_tcp_flags(w, "tcp_flags", all);
    write_tcp_flags(w, "tcp_flags_ts", ts);
    write_tcp_flags(w, "tcp_flags_tc", tc);
    static const struct {
        uint8_t bit;
        const char *name;
    } names[] = {{TH_SYN, "syn"}, {TH_FIN, "fin"}, {TH_RST, "rst"}, {TH_PSH, "psh"},
                 {TH_ACK, "ack"}, {TH_URG, "urg"}, {TH_ECE, "ecn"}, {TH_CWR, "cwr"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (all & names[i].bit)
            jw_bool(w, names[i].name, true);
    jw_str(w, "state", flow_tcp_state_name((enum flow_tcp_state)f->tcp_state));
    jw_obj_close(w);
}

static void write_flow_appid(struct worker *wk, struct jw *w, const struct appid_result *r)
{
    char name[64];
    jw_obj_open(w, "ndpi");
    appid_result_name(wk->appid, r, name, sizeof(name));
    jw_str(w, "proto", name);
    if (r->master != 0 && r->master != r->app)
        jw_str(w, "master", appid_proto_name(wk->appid, r->master));
    jw_str(w, "app", appid_proto_name(wk->appid, r->app));
    jw_str(w, "category", appid_category_name(wk->appid, r->category));
    if (r->guessed)
        jw_bool(w, "guessed", true);
    jw_obj_close(w);
}

/* The flow keeps the nDPI verdict in its app fields; these pack the flags. */
#define APP_F_DONE        0x01
#define APP_F_GUESSED     0x02
#define APP_F_MEMCAP      0x04
#define APP_F_HAD_PAYLOAD 0x08

static void app_load(const struct flow *f, struct appid_result *r)
{
    r->master = f->app_proto_master;
    r->app = f->app_proto_app;
    r->category = f->app_category;
    r->done = f->app_flags & APP_F_DONE;
    r->guessed = f->app_flags & APP_F_GUESSED;
    r->memcap = f->app_flags & APP_F_MEMCAP;
    r->had_payload = f->app_flags & APP_F_HAD_PAYLOAD;
}

static void app_store(struct flow *f, const struct appid_result *r)
{
    f->app_proto_master = r->master;
    f->app_proto_app = r->app;
    f->app_category = r->category;
    f->app_flags = (uint8_t)((r->done ? APP_F_DONE : 0) | (r->guessed ? APP_F_GUESSED : 0) |
                             (r->memcap ? APP_F_MEMCAP : 0) |
                             (r->had_payload ? APP_F_HAD_PAYLOAD : 0));
}

static void on_flow_end(struct flow *f, enum flow_end_reason why, void *ud)
{
    struct worker *wk = ud;
    struct pipeline *pl = wk->pl;
    struct jw *w = &wk->jw;
    struct appid_result ar;
    bool have_app = false;
    char ts[TS_RFC3339_LEN];

    if (wk->appid != NULL) {
        app_load(f, &ar);
        appid_flow_end(wk->appid, (struct appid_flow **)&f->app_state, &ar);
        have_app = true;
    }
    if (wk->reasm != NULL) {
        /* delivers what was still buffered: no packet of the flow is current */
        uint64_t cnt = wk->pcap_cnt;
        wk->pcap_cnt = 0;
        reasm_flow_end(wk->reasm, f);
        wk->pcap_cnt = cnt;
    }
    if (wk->al != NULL)
        applayer_flow_end(wk->al, f);
    if (pl->det != NULL) {
        pl_lock(pl);
        detect_flow_end(pl->det, f);
        pl_unlock(pl);
    }

    jw_reset(w);
    eve_begin(w, f->ts_start, "flow", f->flow_id);
    eve_tuple(w, &f->key.src, f->key.sport, &f->key.dst, f->key.dport, f->key.proto, f->ipver);
    if (f->key.proto == IPPROTO_ICMP || f->key.proto == IPPROTO_ICMPV6) {
        jw_u64(w, "icmp_type", f->icmp_type);
        jw_u64(w, "icmp_code", f->icmp_code);
        if (f->icmp_tc_seen) {
            jw_u64(w, "response_icmp_type", f->icmp_type_tc);
            jw_u64(w, "response_icmp_code", f->icmp_code_tc);
        }
    }
    const struct sensor_conf *sc = pl->conf;
    struct eve_opts eo = {sc->eve_community_id, (uint16_t)sc->eve_community_id_seed,
                          sc->eve_ethernet};
    eve_flow_fields(w, f, true, &eo, true); /* vlan, ether, community_id */
    /* Suricata's app-layer runs on TCP and UDP only (no app_proto on ICMP flows) */
    bool app_l4 = f->key.proto == IPPROTO_TCP || f->key.proto == IPPROTO_UDP;
    const char *app_proto = have_app && app_l4 ? appid_eve_app_proto(&ar) : NULL;
    if (app_proto != NULL)
        jw_str(w, "app_proto", app_proto);
    jw_obj_open(w, "flow");
    jw_u64(w, "pkts_toserver", f->pkts[FLOW_TOSERVER]);
    jw_u64(w, "pkts_toclient", f->pkts[FLOW_TOCLIENT]);
    jw_u64(w, "bytes_toserver", f->bytes[FLOW_TOSERVER]);
    jw_u64(w, "bytes_toclient", f->bytes[FLOW_TOCLIENT]);
    ts_format(ts, sizeof(ts), f->ts_start, 0);
    jw_str(w, "start", ts);
    ts_format(ts, sizeof(ts), f->ts_last, 0);
    jw_str(w, "end", ts);
    jw_u64(w, "age", f->ts_last / 1000000u - f->ts_start / 1000000u); /* as Suricata: seconds fields */
    jw_str(w, "state", flow_state_name(f));
    jw_str(w, "reason", flow_end_reason_name(why));
    jw_bool(w, "alerted", false);
    if (have_app)
        write_flow_appid(wk, w, &ar);
    jw_obj_close(w);
    if (f->key.proto == IPPROTO_TCP)
        write_flow_tcp(w, f);
    jw_obj_close(w);
    write_event(wk, f->ts_last);
}

/* ---- anomaly events ------------------------------------------------------- */

/* The sampling decision for the n-th anomaly of one kind (n counts from 1): the
 * first anomaly_burst, then one in anomaly_sample, at most anomaly_rate per second
 * of packet time (now) over all kinds. Increments *suppressed when not written.
 * Threaded: the caller holds the lock. */
static bool anomaly_sample(struct pipeline *pl, uint64_t now, uint64_t n, uint64_t *suppressed)
{
    const struct sensor_conf *c = pl->conf;
    uint64_t sec = now / 1000000u;
    if (sec != pl->anom_sec) {
        pl->anom_sec = sec;
        pl->anom_in_sec = 0;
    }
    bool want = n <= (uint64_t)c->anomaly_burst ||
                (n - (uint64_t)c->anomaly_burst) % (uint64_t)c->anomaly_sample == 0;
    if (!want || pl->anom_in_sec >= (uint64_t)c->anomaly_rate) {
        (*suppressed)++;
        pl->anom_dropped++;
        return false;
    }
    pl->anom_in_sec++;
    return true;
}

/* Writes a sampled anomaly event for the decoder's last event on this packet:
 * malformed packets, and events on packets still accepted (fragment overlap). */
static void on_decode_event(struct worker *wk, const struct pkt *p)
{
    struct pipeline *pl = wk->pl;
    enum decode_ev ev = decoder_last_event(wk->dec);
    if (ev == DECODE_EV_NONE || (unsigned)ev >= DECODE_EV_COUNT)
        return;
    pl_lock(pl);
    if (!anomaly_sample(pl, wk->now, ++pl->anom_seen[ev], &pl->anom_suppressed[ev])) {
        pl_unlock(pl);
        return;
    }
    struct jw *w = &wk->jw;
    jw_reset(w);
    eve_begin(w, p->ts_us, "anomaly", 0);
    jw_u64(w, "pcap_cnt", wk->pcap_cnt);
    if (p->ipver != 0)
        eve_tuple(w, &p->src, p->sport, &p->dst, p->dport, p->proto, p->ipver);
    jw_str(w, "pkt_src", "wire/pcap");
    jw_obj_open(w, "anomaly");
    jw_str(w, "type", "decode");
    jw_str(w, "event", decode_ev_name(ev));
    jw_u64(w, "count", pl->anom_seen[ev]);
    jw_u64(w, "suppressed", pl->anom_suppressed[ev]);
    jw_u64(w, "caplen", p->caplen);
    jw_u64(w, "wirelen", p->wirelen);
    jw_obj_close(w);
    jw_obj_close(w);
    pl->anom_suppressed[ev] = 0;
    pl->anom_written++;
    if (jw_ok(w))
        write_line(pl, w->buf, w->len, p->ts_us);
    else
        __atomic_add_fetch(&wk->events_oversized, 1, __ATOMIC_RELAXED);
    pl_unlock(pl);
}
/* ---- stats events --------------------------------------------------------- */

static void stats_memory(struct jw *w)
{
    jw_obj_open(w, "memory");
    for (int s = 0; s < MEM_SUBSYS_COUNT; s++) {
        struct mem_stat ms;
        mem_get((enum mem_subsys)s, &ms);
        if (ms.allocs == 0 && ms.cap == 0)
            continue;
        jw_obj_open(w, mem_subsys_name((enum mem_subsys)s));
        jw_u64(w, "in_use", ms.in_use);
        jw_u64(w, "peak", ms.peak);
        jw_u64(w, "cap", ms.cap);
        jw_u64(w, "fails", ms.fails);
        jw_obj_close(w);
    }
    jw_u64(w, "total_in_use", mem_total_in_use());
    jw_obj_close(w);
}

/* Writes decoder event counters nested by their dotted names' first part
 * ("ipv4.trunc_pkt" → "ipv4": {"trunc_pkt": n}); zero counters are left out. */
static void stats_decode_events(struct jw *w, const struct decode_stats *ds)
{
    char open_grp[32] = "";
    jw_obj_open(w, "event");
    for (int e = 1; e < DECODE_EV_COUNT; e++) {
        if (ds->ev[e] == 0)
            continue;
        const char *name = decode_ev_name((enum decode_ev)e);
        const char *dot = strchr(name, '.');
        size_t gl = dot ? (size_t)(dot - name) : 0;
        if (gl == 0 || gl >= sizeof(open_grp)) {
            jw_u64(w, name, ds->ev[e]);
            continue;
        }
        if (strncmp(open_grp, name, gl) != 0 || open_grp[gl] != '\0') {
            if (open_grp[0])
                jw_obj_close(w);
            memcpy(open_grp, name, gl);
            open_grp[gl] = '\0';
            jw_obj_open(w, open_grp);
        }
        jw_u64(w, dot + 1, ds->ev[e]);
    }
    if (open_grp[0])
        jw_obj_close(w);
    jw_obj_close(w);
}

static void stats_decoder(struct worker *wk, struct jw *w)
{
    const struct decode_stats *ds = decoder_stats(wk->dec);
    jw_obj_open(w, "decoder");
    jw_u64(w, "pkts", ds->pkts);
    jw_u64(w, "bytes", ds->bytes);
    const char *const *names = decode_proto_counter_names();
    for (int i = 0; names[i] != NULL; i++)
        jw_u64(w, names[i], ds->proto[i]);
    stats_decode_events(w, ds);
    jw_obj_close(w);
}

static void stats_anomaly(struct pipeline *pl, struct jw *w)
{
    jw_obj_open(w, "anomaly");
    jw_u64(w, "written", pl->anom_written);
    jw_u64(w, "suppressed", pl->anom_dropped);
    jw_obj_close(w);
}

/* A stats object whose fields are uint64_t counters of a module's stats struct:
 * one table per module instead of one jw_u64 line per counter. */
struct stat_field {
    const char *name;
    size_t off;
};

static void write_fields(struct jw *w, const void *st, const struct stat_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)st + f[i].off, sizeof(v));
        jw_u64(w, f[i].name, v);
    }
}

#define SF(type, name, field) {name, offsetof(struct type, field)}
#define NFIELDS(a)            (sizeof(a) / sizeof((a)[0]))

static const struct stat_field flow_fields[] = {
    SF(flow_stats, "active", active),
    SF(flow_stats, "created", created),
    SF(flow_stats, "ended_timeout", ended_timeout),
    SF(flow_stats, "ended_forced", ended_forced),
    SF(flow_stats, "ended_shutdown", ended_shutdown),
    SF(flow_stats, "evictions", evictions),
    SF(flow_stats, "memcap_fails", memcap_fails),
    SF(flow_stats, "ended_tcp_reuse", ended_tcp_reuse),
    SF(flow_stats, "tcp_reuse", tcp_reuse),
};
static const struct stat_field flow_fields2[] = {
    SF(flow_stats, "emergency_entered", emergency_entered),
    SF(flow_stats, "emergency_left", emergency_left),
    SF(flow_stats, "memuse", mem_in_use),
};
static const struct stat_field reasm_fields[] = {
    SF(reasm_stats, "segments", segments),
    SF(reasm_stats, "bytes_delivered", bytes_delivered),
    SF(reasm_stats, "ooo_queued", ooo_queued),
    SF(reasm_stats, "retrans", retrans),
    SF(reasm_stats, "overlaps", overlaps),
    SF(reasm_stats, "overlap_diff", overlap_diff),
    SF(reasm_stats, "gaps", gaps),
    SF(reasm_stats, "gap_bytes", gap_bytes),
    SF(reasm_stats, "depth_reached", depth_reached),
    SF(reasm_stats, "ooo_limit", ooo_limit),
    SF(reasm_stats, "memcap_drops", memcap_drops),
    SF(reasm_stats, "unacked_forced", unacked_forced),
    SF(reasm_stats, "unacked_forced_bytes", unacked_forced_bytes),
    SF(reasm_stats, "streams", streams),
    SF(reasm_stats, "memuse", mem_in_use),
};
static const struct stat_field appid_fields[] = {
    SF(appid_stats, "flows_fed", flows_fed),
    SF(appid_stats, "packets_fed", packets_fed),
    SF(appid_stats, "detected", detected),
    SF(appid_stats, "guessed", guessed),
    SF(appid_stats, "unknown", unknown),
    SF(appid_stats, "memcap_fails", memcap_fails),
};

static void stats_flow(struct worker *pl, struct jw *w)
{
    struct flow_stats fs;
    flow_table_stats(pl->flows, &fs);
    jw_obj_open(w, "flow");
    write_fields(w, &fs, flow_fields, NFIELDS(flow_fields));
    jw_bool(w, "emergency", fs.emergency);
    write_fields(w, &fs, flow_fields2, NFIELDS(flow_fields2));
    jw_obj_close(w);
    if (pl->reasm != NULL) {
        struct reasm_stats rs;
        reasm_stats(pl->reasm, &rs);
        jw_obj_open(w, "reassembly");
        write_fields(w, &rs, reasm_fields, NFIELDS(reasm_fields));
        jw_obj_close(w);
    }
    if (pl->appid != NULL) {
        struct appid_stats as;
        appid_stats(pl->appid, &as);
        jw_obj_open(w, "appid");
        write_fields(w, &as, appid_fields, NFIELDS(appid_fields));
        jw_obj_close(w);
    }
}

/* ---- the workers' stats sections, summed ---------------------------------- */

/* One scalar of the merged sections: its dotted path (jscan's) and its value. */
struct merge_ent {
    char path[JSCAN_MAX_PATH];
    enum jscan_type type;
    bool num; /* an unsigned integer: summed */
    uint64_t n;
    char s[64]; /* other scalars: the first worker's text */
};

struct merge {
    struct merge_ent *e;
    size_t n, cap;
    size_t next; /* where the next value is expected (the workers' sections have the
                  * same keys in the same order, but for zero counters left out) */
    bool append; /* the first document: its order is kept as it is */
    bool nomem;
};

/* Number of whole leading path components a and b share. */
static size_t common_parts(const char *a, const char *b)
{
    size_t parts = 0, i = 0;
    for (; a[i] != '\0' && a[i] == b[i]; i++)
        if (a[i] == '.')
            parts++;
    return parts;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* Adds v into the entry of the same path; false when there is none. */
static bool merge_into(struct merge *m, const struct jscan_val *v)
{
    for (size_t k = 0; k < m->n; k++) {
        size_t i = (m->next + k) % m->n; /* from where it is expected: one compare */
        struct merge_ent *e = &m->e[i];
        if (strcmp(e->path, v->path) != 0)
            continue;
        m->next = i + 1;
        uint64_t x;
        if (e->num && v->type == JSCAN_NUM && parse_u64(v->s, &x))
            e->n += x;
        else if (e->type == JSCAN_BOOL && v->type == JSCAN_BOOL && strcmp(v->s, "true") == 0)
            snprintf(e->s, sizeof(e->s), "true"); /* e.g. flow.emergency: any worker's */
        return true;
    }
    return false;
}

static bool merge_val(const struct jscan_val *v, void *ud)
{
    struct merge *m = ud;
    if (!m->append && merge_into(m, v))
        return true;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        struct merge_ent *ne = xrealloc(MEM_CORE, m->e, cap * sizeof(*ne));
        if (ne == NULL) {
            m->nomem = true;
            return false;
        }
        m->e = ne;
        m->cap = cap;
    }
    /* a key only some workers have goes after its last sibling (or cousin) */
    size_t at = m->n;
    if (!m->append) {
        size_t best = 0;
        for (size_t i = 0; i < m->n; i++) {
            size_t c = common_parts(m->e[i].path, v->path);
            if (c >= best && c > 0) {
                best = c;
                at = i + 1;
            }
        }
    }
    memmove(&m->e[at + 1], &m->e[at], (m->n - at) * sizeof(*m->e));
    m->n++;
    m->next = at + 1;
    struct merge_ent *e = &m->e[at];
    memset(e, 0, sizeof(*e));
    snprintf(e->path, sizeof(e->path), "%s", v->path);
    e->type = v->type;
    e->num = v->type == JSCAN_NUM && parse_u64(v->s, &e->n);
    snprintf(e->s, sizeof(e->s), "%s", v->s);
    return true;
}

/* Closes the open objects (dotted path open[], depth levels) down to the longest
 * prefix of parent[0..plen) at a key boundary. */
static size_t merge_close_to(char *open, size_t depth, const char *parent, size_t plen,
                             struct jw *w)
{
    for (; depth > 0; depth--) {
        size_t ol = strlen(open);
        if (ol <= plen && strncmp(open, parent, ol) == 0 && (ol == plen || parent[ol] == '.'))
            break;
        char *dot = strrchr(open, '.');
        if (dot != NULL)
            *dot = '\0';
        else
            open[0] = '\0';
        jw_obj_close(w);
    }
    return depth;
}

/* Opens the objects of parent[0..plen) past the open path open[]. */
static size_t merge_open_to(char *open, size_t cap, size_t depth, const char *parent,
                            size_t plen, struct jw *w)
{
    size_t ol = strlen(open);
    while (ol < plen) {
        size_t start = ol == 0 ? 0 : ol + 1;
        const char *end = memchr(parent + start, '.', plen - start);
        size_t stop = end != NULL ? (size_t)(end - parent) : plen;
        char key[JSCAN_MAX_PATH];
        snprintf(key, sizeof(key), "%.*s", (int)(stop - start), parent + start);
        jw_obj_open(w, key);
        snprintf(open, cap, "%.*s", (int)stop, parent);
        ol = stop;
        depth++;
    }
    return depth;
}

static void merge_scalar(const struct merge_ent *e, const char *leaf, struct jw *w)
{
    if (e->num)
        jw_u64(w, leaf, e->n);
    else if (e->type == JSCAN_BOOL)
        jw_bool(w, leaf, strcmp(e->s, "true") == 0);
    else if (e->type == JSCAN_NULL)
        jw_null(w, leaf);
    else if (e->type == JSCAN_NUM)
        jw_raw(w, leaf, e->s, strlen(e->s));
    else
        jw_str(w, leaf, e->s);
}

/* Writes the merged scalars into w, opening and closing objects along their paths. */
static void merge_emit(const struct merge *m, struct jw *w)
{
    char open[JSCAN_MAX_PATH] = ""; /* the path of the objects open now, dotted */
    size_t depth = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct merge_ent *e = &m->e[i];
        const char *leaf = strrchr(e->path, '.');
        size_t plen = leaf != NULL ? (size_t)(leaf - e->path) : 0;
        leaf = leaf != NULL ? leaf + 1 : e->path;
        depth = merge_close_to(open, depth, e->path, plen, w);
        depth = merge_open_to(open, sizeof(open), depth, e->path, plen, w);
        merge_scalar(e, leaf, w);
    }
    while (depth-- > 0)
        jw_obj_close(w);
}

/* Writes the sum of the workers' published sections `which` into w. Threaded: the
 * caller holds the lock. Empty objects (no scalar inside) are not written. */
static void merge_sections(struct pipeline *pl, int which, struct jw *w)
{
    struct merge m = {.append = true};
    for (unsigned i = 0; i < pl->nworkers; i++) {
        const struct worker *wk = &pl->wk[i];
        if (wk->pub_len[which] == 0)
            continue;
        (void)jscan(wk->pub[which], wk->pub_len[which], merge_val, &m);
        m.append = false;
        m.next = 0;
    }
    if (m.nomem)
        log_warn("stats", "out of memory summing the workers' counters: stats event cut");
    merge_emit(&m, w);
    xfree(m.e);
}

/* Writes the worker-owned stats sections of wk into its frag[] buffers and (under the
 * lock) publishes them for the stats writer. Runs on the worker's own thread. */
static void worker_publish(struct worker *wk)
{
    struct jw *f = &wk->frag[0];
    jw_reset(f);
    jw_obj_open(f, NULL);
    stats_decoder(wk, f);
    jw_obj_close(f);
    f = &wk->frag[1];
    jw_reset(f);
    jw_obj_open(f, NULL);
    stats_flow(wk, f);
    if (wk->al != NULL)
        applayer_stats(wk->al, f);
    jw_obj_close(f);
    pl_lock(wk->pl);
    for (int k = 0; k < 2; k++) {
        const struct jw *src = &wk->frag[k];
        if (!jw_ok(src))
            continue;
        if (wk->pub_cap[k] < src->len) {
            char *nb = xrealloc(MEM_CORE, wk->pub[k], src->len);
            if (nb == NULL)
                continue; /* the previous text stays */
            wk->pub[k] = nb;
            wk->pub_cap[k] = src->len;
        }
        memcpy(wk->pub[k], src->buf, src->len);
        wk->pub_len[k] = src->len;
    }
    pl_unlock(wk->pl);
}

static void stats_workers(struct pipeline *pl, struct jw *w)
{
    uint64_t drops = 0;
    for (unsigned i = 0; i < pl->nworkers; i++)
        drops += __atomic_load_n(&pl->wk[i].ring_drops, __ATOMIC_RELAXED);
    jw_obj_open(w, "workers");
    jw_u64(w, "count", pl->nworkers);
    jw_u64(w, "lock_takes", pl->lock_takes);
    jw_u64(w, "lock_waits", __atomic_load_n(&pl->lock_waits, __ATOMIC_RELAXED));
    jw_u64(w, "ring_drops", drops);
    jw_obj_close(w);
}

static uint64_t events_oversized(const struct pipeline *pl)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < pl->nworkers; i++)
        n += __atomic_load_n(&pl->wk[i].events_oversized, __ATOMIC_RELAXED);
    return n;
}

/* Threaded: the caller holds the lock. */
static void write_stats(struct pipeline *pl, bool final)
{
    struct worker *w0 = &pl->wk[0];
    struct jw *w = pl->threaded ? &pl->jw : &w0->jw;
    struct capture_stats cs;
    struct sink_stats ss;
    if (pl->threaded)
        cs = pl->cap_st; /* the capture belongs to the reader thread */
    else
        capture_stats(pl->cap, &cs);
    sink_stats(pl->sink, &ss);

    jw_reset(w);
    eve_begin(w, pl->now, "stats", 0);
    jw_obj_open(w, "stats");
    jw_u64(w, "uptime", pl->now > pl->first_ts ? (pl->now - pl->first_ts) / 1000000u : 0);
    jw_bool(w, "final", final);
    jw_obj_open(w, "capture");
    jw_u64(w, "packets", cs.received);
    jw_u64(w, "bytes", cs.bytes);
    if (cs.live) {
        jw_u64(w, "kernel_packets", cs.ps_recv);
        jw_u64(w, "kernel_drops", cs.ps_drop);
        jw_u64(w, "kernel_ifdrops", cs.ps_ifdrop);
    }
    jw_u64(w, "ts_backwards", pl->threaded ? pl->snap_ts_backwards : pl->ts_backwards);
    jw_bool(w, "read_error", pl->threaded ? pl->snap_read_error : pl->read_error);
    jw_obj_close(w);
    if (!pl->threaded) {
        stats_decoder(w0, w);
        stats_anomaly(pl, w);
        stats_flow(w0, w);
        if (w0->al != NULL)
            applayer_stats(w0->al, w);
    } else {
        merge_sections(pl, 0, w);
        stats_anomaly(pl, w);
        merge_sections(pl, 1, w);
        stats_workers(pl, w);
    }
    if (pl->det != NULL)
        detect_stats(pl->det, w);
    if (pl->inv != NULL)
        inv_stats(pl->inv, w);
    if (pl->sweep != NULL)
        sweep_stats_json(pl->sweep, w);
    jw_obj_open(w, "output");
    jw_u64(w, "events", ss.events);
    jw_u64(w, "bytes", ss.bytes);
    jw_u64(w, "dropped", ss.dropped);
    jw_u64(w, "write_errors", ss.write_errors);
    jw_u64(w, "rotations", ss.rotations);
    jw_u64(w, "oversized", events_oversized(pl));
    jw_obj_close(w);
    if (pl->ship != NULL)
        ship_stats_json(pl->ship, w);
    stats_memory(w);
    jw_obj_close(w);
    jw_obj_close(w);
    if (jw_ok(w))
        write_line(pl, w->buf, w->len, pl->now);
    else
        __atomic_add_fetch(&w0->events_oversized, 1, __ATOMIC_RELAXED);
}

/* ---- the packet path ------------------------------------------------------ */

/* In-order TCP payload of one direction of a flow, and the holes in it: for the
 * application-layer parsers. */
static void on_stream_data(void *ud, struct flow *f, int dir, const uint8_t *data, size_t len)
{
    struct worker *wk = ud;
    if (wk->al != NULL)
        applayer_stream(wk->al, f, dir, data, len, wk->now);
}

static void on_stream_gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    struct worker *wk = ud;
    if (wk->al != NULL)
        applayer_gap(wk->al, f, dir, len, wk->now);
}

/* The cross-flow housekeeping: periodic stats, intel reloads, the detections' and
 * the inventory's timers, the output's flush. Threaded: the caller holds the lock. */
static void housekeep_shared(struct pipeline *pl)
{
    if (pl->conf->stats_interval != 0 && pl->now >= pl->next_stats) {
        if (pl->next_stats != 0)
            write_stats(pl, false);
        /* atomic: threaded workers read it to know when to publish their counters */
        __atomic_store_n(&pl->next_stats, pl->now + pl->conf->stats_interval, __ATOMIC_RELAXED);
    }
    if (pl->det != NULL) {
        char err[512];
        if (__atomic_exchange_n(&pl->reload, 0, __ATOMIC_RELAXED)) {
            if (detect_reload(pl->det, err, sizeof(err)) != 0)
                log_error("detect", "intel reload failed, the previous lists stay: %s", err);
        }
        int rr = detect_reload_poll(pl->det, err, sizeof(err));
        if (rr < 0)
            log_error("detect", "intel reload failed, the previous lists stay: %s", err);
        if (rr == 1)
            log_notice("detect", "intel lists reloaded");
        detect_housekeep(pl->det, pl->now);
    }
    if (pl->inv != NULL)
        inv_housekeep(pl->inv, pl->now);
    sink_flush(pl->sink); /* events reach the file at least once a second */
    pl->next_housekeep = pl->now + HOUSEKEEP_US;
}

/* One worker: its flows' and fragments' timeouts. */
static void housekeep_worker(struct worker *wk)
{
    flow_table_expire(wk->flows, wk->now);
    decoder_expire(wk->dec, wk->now);
}

/* Single worker: everything, in today's order. */
static void housekeep(struct pipeline *pl)
{
    housekeep_worker(&pl->wk[0]);
    housekeep_shared(pl);
}

/* Threaded: a worker's own housekeeping (once a second of its packet time), then the
 * shared one if the shared clock (the slowest worker's), which this worker may move,
 * has passed its second. */
static void housekeep_threaded(struct worker *wk)
{
    struct pipeline *pl = wk->pl;
    housekeep_worker(wk);
    /* the sections are written out only for a stats event that is due */
    uint64_t ns = __atomic_load_n(&pl->next_stats, __ATOMIC_RELAXED);
    if (pl->conf->stats_interval != 0 && wk->now >= ns)
        worker_publish(wk);
    /* the shared clock is the slowest worker's: what every worker has reached */
    uint64_t low = UINT64_MAX;
    for (unsigned i = 0; i < pl->nworkers; i++) {
        uint64_t c = __atomic_load_n(&pl->wk[i].clock_pub, __ATOMIC_ACQUIRE);
        if (c < low)
            low = c;
    }
    pl_lock(pl);
    if (low != UINT64_MAX && low > pl->now)
        pl->now = low;
    if (pl->now >= pl->next_housekeep)
        housekeep_shared(pl);
    pl_unlock(pl);
    wk->next_housekeep = wk->now + HOUSEKEEP_US;
}

/* A packet's source MAC as 32 bits, never 0 (1: none), to notice that a flow
 * direction's sender changed MAC (a collision only delays that by a tick). */
static uint32_t mac_tag(const struct pkt *p)
{
    if (!p->has_eth)
        return 1;
    uint32_t a;
    uint16_t b;
    memcpy(&a, p->eth_src, 4);
    memcpy(&b, p->eth_src + 4, 2);
    return (a ^ ((uint32_t)b * 0x9e3779b1U)) | 1U;
}

/* The inventory hears of a packet's sender (inv_sender) at the first packet of each
 * direction of a flow, whenever the direction's source MAC changes (often, in a
 * capture of a trunk or of both sides of a router), and then once per tick (about
 * a second) of packet time: what it keeps from packets (last seen, an address bound
 * only in the meantime) comes at most that much later, at a fraction of the cost (its
 * tables missed the CPU's caches on most packets: issue 5's figure, bench/README.md).
 * The direction keeps what the inventory said of its sender (a device, or outside the
 * LAN), so that the later calls skip its look-ups. f NULL: no flow (memcap), every
 * packet. */
static void inv_heard(struct worker *wk, struct flow *f, const struct pkt *p, int dir)
{
    struct pipeline *pl = wk->pl;
    uint32_t none = 0, *memo = &none;
    if (f != NULL) {
        /* one compare per packet: the same tick and the same MAC (a new flow's key is 0) */
        uint32_t mac = mac_tag(p);
        uint64_t key = (p->ts_us >> INV_TICK_SHIFT) << 32 | mac;
        if (key == f->inv_key[dir])
            return;
        if ((uint32_t)f->inv_key[dir] != mac)
            f->inv_memo[dir] = 0; /* another sender, or the first */
        f->inv_key[dir] = key;
        memo = &f->inv_memo[dir];
    }
    pl_lock(pl);
    inv_sender(pl->inv, p->has_eth ? p->eth_src : NULL, &p->src, p->ts_us, memo);
    pl_unlock(pl);
}

static void on_ip_packet(struct worker *wk, const struct pkt *p)
{
    struct pipeline *pl = wk->pl;
    int dir;
    struct flow *f = flow_table_update(wk->flows, p, &dir);
    if (pl->inv != NULL && (p->ipver == 4 || p->ipver == 6))
        inv_heard(wk, f, p, dir);
    if (f == NULL)
        return; /* counted by the flow table (memcap) */
    if (pl->det != NULL && f->pkts[0] + f->pkts[1] == 1) {
        pl_lock(pl);
        detect_flow_new(pl->det, f, p, dir);
        pl_unlock(pl);
    }
    if (wk->appid != NULL && !(f->app_flags & APP_F_DONE)) {
        struct appid_result r;
        app_load(f, &r);
        appid_packet(wk->appid, (struct appid_flow **)&f->app_state, &r, p, dir);
        app_store(f, &r);
        if (pl->det != NULL && r.done && !r.guessed) {
            pl_lock(pl);
            detect_flow_app(pl->det, f, p->ts_us); /* prohibited apps, P2P devices */
            pl_unlock(pl);
        }
    }
    if (wk->reasm != NULL && p->proto == IPPROTO_TCP)
        reasm_packet(wk->reasm, f, dir, p);
    if (wk->al != NULL && p->proto == IPPROTO_UDP && p->payload_len > 0)
        applayer_udp(wk->al, f, dir, p->sport, p->dport, p->payload, p->payload_len, p->ts_us);
}

/* A packet that came out of a UDP tunnel (VXLAN, Geneve): the tunnel's own UDP flow
 * counts it as well, as Suricata does, with no application layer (its payload is the
 * inner packet). */
static void on_tunnel_packet(struct worker *wk, const struct pkt *p)
{
    struct pkt o;
    memset(&o, 0, sizeof(o));
    o.ts_us = p->ts_us;
    o.caplen = p->caplen;
    o.wirelen = p->outer_wirelen;
    o.raw = p->raw;
    o.linktype = p->linktype;
    o.has_eth = p->has_eth;
    memcpy(o.eth_src, p->eth_src, 6);
    memcpy(o.eth_dst, p->eth_dst, 6);
    o.vlan_n = p->outer_vlan_n;
    memcpy(o.vlan, p->vlan, sizeof(o.vlan));
    o.ipver = p->outer_ipver;
    o.src = p->outer_src;
    o.dst = p->outer_dst;
    o.proto = IPPROTO_UDP;
    o.sport = p->outer_sport;
    o.dport = p->outer_dport;
    int dir;
    (void)flow_table_update(wk->flows, &o, &dir);
}

/* The sensor's clock starts at the first packet of a file, or, live, at the first read
 * timeout if that comes first, so that periodic stats run on an idle interface too. */
static void start_clock(struct pipeline *pl, uint64_t ts)
{
    pl->clock_started = true;
    pl->first_ts = ts;
    pl->now = ts;
    pl->next_housekeep = ts + HOUSEKEEP_US;
}

/* The reader's count of a packet read (both modes). */
static void count_packet(struct pipeline *pl, const struct capture_pkt *cp)
{
    if (!pl->clock_started) {
        pl_lock(pl); /* threaded: the shared clock is the workers' (under the lock) */
        start_clock(pl, cp->ts_us);
        pl_unlock(pl);
    }
    pl->packets++;
    pl->bytes += cp->wirelen;
    /* Compared with the packets seen, not the clock, which live read timeouts also move. */
    if (cp->ts_us < pl->last_pkt_ts)
        pl->ts_backwards++;
    else
        pl->last_pkt_ts = cp->ts_us;
    if (cp->ts_us > pl->max_ts)
        pl->max_ts = cp->ts_us;
}

/* One packet through a worker: pktno is its number in the capture. */
static void worker_packet(struct worker *wk, const struct capture_pkt *cp, int linktype,
                          uint64_t pktno)
{
    struct pkt p;
    wk->packets++;
    wk->bytes += cp->wirelen;
    wk->pcap_cnt = pktno;
    if (cp->ts_us > wk->now)
        wk->now = cp->ts_us;
    if (!wk->clock_started) {
        wk->clock_started = true;
        wk->next_housekeep = wk->now + HOUSEKEEP_US;
    }

    enum decode_rc rc =
        decode_packet(wk->dec, &p, linktype, cp->data, cp->caplen, cp->wirelen, cp->ts_us);
    if (p.has_outer && rc != DECODE_BAD && rc != DECODE_SKIP)
        on_tunnel_packet(wk, &p);
    if (rc == DECODE_OK) {
        on_ip_packet(wk, &p);
    } else if (rc == DECODE_ARP && wk->al != NULL) {
        applayer_arp(wk->al, &p, cp->ts_us);
    }
    /* ARP, held fragments and skipped packets are counted by the decoder; any of them
     * may still carry an event (e.g. an overlapping fragment). */
    if (decoder_last_event(wk->dec) != DECODE_EV_NONE)
        on_decode_event(wk, &p);
}

/* Single worker: the packet on the calling thread, as it always was. */
static void on_packet(struct pipeline *pl, const struct capture_pkt *cp, int linktype)
{
    struct worker *wk = &pl->wk[0];
    count_packet(pl, cp);
    if (cp->ts_us > pl->now)
        pl->now = cp->ts_us;
    wk->now = pl->now;
    worker_packet(wk, cp, linktype, pl->packets);
    if (pl->now >= pl->next_housekeep)
        housekeep(pl);
}

/* ---- setup ---------------------------------------------------------------- */

static void fill_flow_conf(const struct sensor_conf *c, struct flow_conf *fc)
{
    memset(fc, 0, sizeof(*fc));
    fc->memcap = c->flow_memcap;
    fc->hash_size = (uint32_t)c->flow_hash_size;
    fc->timeout_tcp_new = c->to_tcp_new;
    fc->timeout_tcp_established = c->to_tcp_est;
    fc->timeout_tcp_closed = c->to_tcp_closed;
    fc->timeout_udp_new = c->to_udp_new;
    fc->timeout_udp_established = c->to_udp_est;
    fc->timeout_icmp = c->to_icmp;
    fc->timeout_other = c->to_other;
    fc->emerg_timeout_tcp_new = c->eto_tcp_new;
    fc->emerg_timeout_tcp_established = c->eto_tcp_est;
    fc->emerg_timeout_tcp_closed = c->eto_tcp_closed;
    fc->emerg_timeout_udp = c->eto_udp;
    fc->emerg_timeout_icmp = c->eto_icmp;
    fc->emerg_timeout_other = c->eto_other;
    fc->emerg_recovery_pct = (uint32_t)c->emerg_recovery;
    fc->random_hash_key = true;
    fc->tcp_reuse_new_flow = c->tcp_reuse_new_flow;
}

static int open_sink(struct pipeline *pl, char *err, size_t errlen)
{
    const struct sensor_conf *c = pl->conf;
    struct sink_conf sc;
    memset(&sc, 0, sizeof(sc));
    sc.kind = c->output_mode == OUTPUT_STDOUT ? SINK_STDOUT
              : c->output_mode == OUTPUT_DIR  ? SINK_DIR
                                              : SINK_FILE;
    snprintf(sc.path, sizeof(sc.path), "%s", c->output_path);
    sc.append = c->output_append;
    sc.rotate_size = c->rotate_size;
    sc.rotate_interval_us = c->rotate_interval;
    sc.keep_files = (uint32_t)c->rotate_keep;
    sc.buffer_size = c->output_buffer;
    pl->sink = sink_open(&sc, err, errlen);
    return pl->sink ? 0 : ERR_IO;
}


/* One JSON walk of a written event line serves both of its readers: each value goes
 * to the inventory and the detections while each still wants more. */
struct ev_readers {
    struct pipeline *pl;
    bool inv, det; /* still reading */
};

static bool ev_both(const struct jscan_val *v, void *ud)
{
    struct ev_readers *r = ud;
    if (r->inv)
        r->inv = inv_event_val(v, r->pl->inv);
    if (r->det)
        r->det = detect_event_val(v, r->pl->det);
    return r->inv || r->det;
}

/* While the detections read the line, every member is read; else only what the
 * inventory wants (the rest is skipped, not copied). */
static bool ev_want(const char *path, size_t plen, void *ud)
{
    struct ev_readers *r = ud;
    return r->det || inv_event_want(path, plen, r->pl->inv);
}

/* Threaded: the caller holds the lock. nt: the values noted while the line was
 * written (NULL, or not on: none). */
static void read_event(struct pipeline *pl, const struct jw *j, const struct app_notes *nt,
                       uint64_t ts)
{
    const char *line = j->buf, *type;
    size_t len = j->len, tlen;
    if ((pl->inv == NULL && pl->det == NULL) || !jscan_event_type(line, len, &type, &tlen))
        return;
    bool inv = pl->inv != NULL;
    if (inv && !pl->conf->inv_read_lines && nt != NULL) {
        /* the parsers note what the inventory reads: an event not noted is none of its */
        if (nt->on && !nt->lost)
            inv_event_notes(pl->inv, type, tlen, line, len, nt, ts);
        inv = nt->on && nt->lost && inv_event_begin(pl->inv, type, tlen, ts);
    } else if (inv) {
        inv = inv_event_begin(pl->inv, type, tlen, ts);
    }
    bool det = pl->det != NULL && detect_event_begin(pl->det, line, len, type, tlen);
    if (!inv && !det)
        return;
    struct ev_readers r = {pl, inv, det};
    int rc = jscan_want(line, len, inv ? ev_want : NULL, ev_both, &r);
    /* a reader that stopped the walk itself did not see what came after */
    if (inv)
        inv_event_end(pl->inv, r.inv ? rc : 0, ts);
    if (det)
        detect_event_end(pl->det, r.det ? rc : 0, ts);
}

/* The dispatcher's view of the pipeline (app/dispatch.h): ud is the worker. */
static void host_write(void *ud, uint64_t ts)
{
    struct worker *wk = ud;
    struct pipeline *pl = wk->pl;
    if (!jw_ok(&wk->jw)) {
        __atomic_add_fetch(&wk->events_oversized, 1, __ATOMIC_RELAXED);
        return;
    }
    pl_lock(pl);
    write_line(pl, wk->jw.buf, wk->jw.len, ts);
    read_event(pl, &wk->jw, &wk->notes, ts);
    pl_unlock(pl);
}

/* The detections' view: alert lines go straight to the output (under the lock
 * already: every call into the detections is made holding it). */
static void det_write(void *ud, const char *line, size_t len, uint64_t ts)
{
    write_line(ud, line, len, ts);
}

/* ud is the worker whose thread logs the file (files_set_observer is per thread) */
static void det_file(void *ud, const struct app_file *f)
{
    struct worker *wk = ud;
    struct pipeline *pl = wk->pl;
    pl_lock(pl);
    detect_file(pl->det, f, wk->now);
    pl_unlock(pl);
}

/* ---- the device inventory (issue 5) ---- */

/* Called from inside the inventory: under the lock already. */
static void inv_write(void *ud, const char *line, size_t len, uint64_t ts)
{
    write_line(ud, line, len, ts);
}
static void inv_new_device(void *ud, const struct inv_device *dv, uint64_t ts)
{
    struct pipeline *pl = ud;
    static const struct addr zero;
    if (pl->det == NULL || memcmp(&dv->ip, &zero, sizeof(zero)) == 0)
        return;
    struct jw w;
    if (jw_init(&w, 512, 2048) != 0)
        return;
    char mac[18];
    jw_obj_open(&w, NULL);
    if (dv->has_mac) {
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", dv->mac[0], dv->mac[1],
                 dv->mac[2], dv->mac[3], dv->mac[4], dv->mac[5]);
        jw_str(&w, "mac", mac);
    }
    jw_bool(&w, "randomized_mac", dv->randomized);
    if (dv->maker != NULL)
        jw_str(&w, "maker", dv->maker);
    if (dv->name[0] != '\0')
        jw_str(&w, "name", dv->name);
    jw_str(&w, "kind", inv_kind_name(dv->kind));
    if (dv->evidence[0] != '\0')
        jw_str(&w, "kind_evidence", dv->evidence);
    jw_obj_close(&w);
    if (jw_ok(&w))
        detect_new_device(pl->det, &dv->ip, ts, w.buf, w.len);
    jw_free(&w);
}

static bool inv_lookup(void *ud, const struct addr *ip, uint64_t ts, struct detect_device_info *out)
{
    struct pipeline *pl = ud;
    struct inv_attrib a;
    if (!inv_attribute(pl->inv, ip, ts, &a))
        return false;
    out->has_mac = a.has_mac;
    memcpy(out->mac, a.mac, 6);
    out->name = a.name;
    out->maker = a.maker;
    out->kind = a.kind;
    return true;
}

static int open_inventory(struct pipeline *pl, char *err, size_t errlen)
{
    const struct sensor_conf *c = pl->conf;
    if (!c->inv_enabled)
        return 0;
    struct inv_conf ic;
    memset(&ic, 0, sizeof(ic));
    ic.max_devices = (unsigned)c->inv_max_devices;
    ic.max_history = (unsigned)c->inv_max_history;
    ic.learning_us = c->inv_learning;
    ic.quiet_us = c->inv_quiet;
    ic.new_device_delay_us = c->inv_new_delay;
    ic.save_interval_us = c->inv_save_interval;
    ic.save_wall_us = c->inv_save_interval; /* live, packet time is wall time */
    if (c->inv_state_dir[0] != '\0')
        snprintf(ic.state_file, sizeof(ic.state_file), "%s/inventory.tsv", c->inv_state_dir);
    snprintf(ic.oui_dir, sizeof(ic.oui_dir), "%s", c->inv_oui_dir);
    snprintf(ic.home_net, sizeof(ic.home_net), "%s", c->detect_home_net);
    struct inv_host h = {inv_write, inv_new_device, pl};
    pl->inv = inv_new(&ic, &h, err, errlen);
    if (pl->inv == NULL)
        return ERR_INVAL;
    if (pl->det != NULL)
        detect_set_device_lookup(pl->det, inv_lookup, pl);
    return 0;
}

/* With YARA scanning every file's bytes are kept (within the same caps). */
static bool keep_every_file(const uint8_t *head, size_t n)
{
    (void)head;
    (void)n;
    return true;
}


static int open_detect(struct pipeline *pl, char *err, size_t errlen)
{
    if (!pl->conf->detect_enabled)
        return 0;
    struct detect_host h = {det_write, pl};
    pl->det = detect_new(pl->conf, &h, err, errlen);
    if (pl->det == NULL)
        return ERR_INVAL;
    /* names of applications only (read-only tables): any worker's module serves */
    detect_set_appid(pl->det, pl->wk[0].appid);
    return 0;
}

/* The per-thread state of the application layer (app/files.c, app/tls_cert.c keep
 * their caches and libmagic handles per thread): set up on the thread that runs wk. */
static void worker_thread_init(struct worker *wk)
{
    struct pipeline *pl = wk->pl;
    const struct sensor_conf *c = pl->conf;
    files_magic_init(); /* without it, files have no type: logged, not fatal */
    if (pl->det != NULL) {
        files_set_observer(det_file, wk);
        if (c->detect_files) /* archives kept for a look inside (detect/archive.c) */
            files_set_keep(detect_scans_files(pl->det) ? keep_every_file : arc_is_archive,
                           (size_t)c->detect_arc_buffer,
                           (size_t)(c->detect_arc_memcap / pl->nworkers));
    }
}

/* Undoes worker_thread_init on a worker thread that ends. */
static void worker_thread_done(void)
{
    files_set_observer(NULL, NULL);
    files_set_keep(NULL, 0, 0);
    files_magic_free();
    tls_cert_cache_free();
}

static bool host_sample(void *ud, uint64_t n, uint64_t *suppressed)
{
    struct worker *wk = ud;
    pl_lock(wk->pl);
    bool r = anomaly_sample(wk->pl, wk->now, n, suppressed);
    pl_unlock(wk->pl);
    return r;
}

/* Builds worker idx's modules; with n workers, each gets 1/n of the flow table,
 * reassembly and fragment memcaps (nDPI's cap is process-wide already). */
static int worker_open(struct pipeline *pl, struct worker *wk, unsigned idx, char *err,
                       size_t errlen)
{
    const struct sensor_conf *c = pl->conf;
    unsigned n = pl->nworkers;
    wk->pl = pl;
    wk->idx = idx;
    struct decode_conf dc = {
        .defrag_memcap = c->defrag_memcap / n,
        .defrag_timeout_us = c->defrag_timeout,
        .defrag_max_frags = (uint32_t)c->defrag_max_frags,
        .defrag_max_trackers = (uint32_t)c->defrag_max_trackers,
        .decode_gre = c->decode_gre,
        .vxlan_port = c->decode_vxlan ? (uint16_t)c->vxlan_port : 0,
        .geneve_port = c->decode_geneve ? (uint16_t)c->geneve_port : 0,
        .teredo_port = c->decode_teredo ? (uint16_t)c->teredo_port : 0,
    };
    struct flow_conf fc;
    fill_flow_conf(c, &fc);
    fc.memcap /= n;
    if (n > 1 && fc.hash_size / n >= 1024)
        fc.hash_size /= n;
    if (jw_init(&wk->jw, 4096, c->max_event_size) != 0 || (wk->dec = decoder_new(&dc)) == NULL ||
        (wk->flows = flow_table_new(&fc, on_flow_end, wk)) == NULL) {
        snprintf(err, errlen, "out of memory setting up the decoder and flow table");
        return ERR_NOMEM;
    }
    if (c->reasm_enabled) {
        struct reasm_conf rc = {
            .memcap = c->reasm_memcap / n,
            .depth = c->reasm_depth > UINT32_MAX ? UINT32_MAX : (uint32_t)c->reasm_depth,
            .max_ooo_segments = (uint32_t)c->reasm_max_ooo_segments,
            .max_ooo_bytes = (uint32_t)c->reasm_max_ooo_bytes,
            .ack_delivery = c->reasm_delivery == REASM_DELIVERY_ACK,
        };
        wk->reasm = reasm_new(&rc, on_stream_data, on_stream_gap, wk);
        if (wk->reasm == NULL) {
            snprintf(err, errlen, "out of memory setting up TCP reassembly");
            return ERR_NOMEM;
        }
    }
    if (c->appid_enabled) {
        struct appid_conf ac;
        appid_conf_defaults(&ac);
        ac.max_packets_tcp = (uint32_t)c->appid_max_packets_tcp;
        ac.max_packets_udp = (uint32_t)c->appid_max_packets_udp;
        ac.memcap = c->appid_memcap;
        wk->appid = appid_new(&ac);
        if (wk->appid == NULL) {
            snprintf(err, errlen, "nDPI initialisation failed (appid.memcap too small?)");
            return ERR_NOMEM;
        }
    }
    struct applayer_host h = {&wk->jw, &wk->pcap_cnt, host_write, host_sample, wk,
                              c->inv_enabled && !c->inv_read_lines ? &wk->notes : NULL};
    wk->al = applayer_new(c, &h);
    if (wk->al == NULL) {
        snprintf(err, errlen, "out of memory setting up the application-layer parsers");
        return ERR_NOMEM;
    }
    if (pl->threaded &&
        (jw_init(&wk->frag[0], 4096, 1u << 20) != 0 || jw_init(&wk->frag[1], 4096, 1u << 20) != 0 ||
         (wk->ring = pktring_new(RING_BYTES)) == NULL)) {
        snprintf(err, errlen, "out of memory setting up worker %u's packet ring", idx);
        return ERR_NOMEM;
    }
    return 0;
}

static void worker_close(struct worker *wk)
{
    if (wk->flows != NULL)
        flow_table_free(wk->flows);
    reasm_free(wk->reasm);
    appid_free(wk->appid);
    applayer_free(wk->al);
    decoder_free(wk->dec);
    jw_free(&wk->jw);
    jw_free(&wk->frag[0]);
    jw_free(&wk->frag[1]);
    xfree(wk->pub[0]);
    xfree(wk->pub[1]);
    pktring_free(wk->ring);
}

/* capture.workers: 0 is one per online CPU. Not yet with detections or the
 * inventory: their cross-host judgements (scan attempts failed or answered, first
 * targets) came out differently from run to run with two workers on the demo
 * capture, so a sensor with either on runs on one thread and says so. */
static unsigned worker_count(const struct sensor_conf *c)
{
    long n = c->capture_workers;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > PIPELINE_MAX_WORKERS)
        n = PIPELINE_MAX_WORKERS;
    if (n > 1 && (c->detect_enabled || c->inv_enabled)) {
        log_warn("pipeline", "capture.workers=%ld: not yet with detections or the inventory "
                 "on; running on one thread", n);
        n = 1;
    }
    return (unsigned)n;
}

struct pipeline *pipeline_new(const struct sensor_conf *c, char *err, size_t errlen)
{
    struct pipeline *pl = xcalloc(MEM_CORE, 1, sizeof(*pl));
    if (pl == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pl->conf = c;
    pl->nworkers = worker_count(c);
    pl->threaded = pl->nworkers > 1;
    pl->wk = xcalloc(MEM_CORE, pl->nworkers, sizeof(*pl->wk));
    if (pl->wk == NULL) {
        snprintf(err, errlen, "out of memory");
        xfree(pl);
        return NULL;
    }
    if (pl->threaded) {
        pthread_mutex_init(&pl->lock, NULL);
        pl->lock_init = true;
        if (jw_init(&pl->jw, 4096, c->max_event_size) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    /* The flow table enforces flow.memcap itself (evicting before it is reached);
     * the allocator cap is a backstop with room for the tables' bookkeeping. */
    mem_set_cap(MEM_FLOW, c->flow_memcap + (uint64_t)64 * 1024 * pl->nworkers);
    mem_set_cap(MEM_REASM, c->reasm_memcap);
    mem_set_cap(MEM_DEFRAG, c->defrag_memcap);
    mem_set_cap(MEM_APP, c->app_memcap);

    for (unsigned i = 0; i < pl->nworkers; i++)
        if (worker_open(pl, &pl->wk[i], i, err, errlen) != 0)
            goto fail;
    if (open_sink(pl, err, errlen) != 0 || open_detect(pl, err, errlen) != 0 ||
        open_inventory(pl, err, errlen) != 0)
        goto fail;
    if (!pl->threaded)
        worker_thread_init(&pl->wk[0]); /* the one worker runs on this thread */
    if (c->ship_url[0] != '\0') {
        struct ship_conf shc;
        ship_conf_from_sensor(c, &shc);
        if ((pl->ship = ship_new(&shc, err, errlen)) == NULL)
            goto fail;
    }
    return pl;
fail:
    pipeline_free(pl);
    return NULL;
}

void pipeline_free(struct pipeline *pl)
{
    if (pl == NULL)
        return;
    ship_free(pl->ship);
    for (unsigned i = 0; i < pl->nworkers; i++)
        worker_close(&pl->wk[i]);
    if (pl->det != NULL && !pl->threaded) {
        files_set_observer(NULL, NULL);
        files_set_keep(NULL, 0, 0);
    }
    if (pl->inv != NULL) {
        char err[512];
        if (inv_save(pl->inv, err, sizeof(err)) != 0)
            log_error("inventory", "%s", err);
    }
    detect_free(pl->det);
    inv_free(pl->inv);
    sink_close(pl->sink);
    jw_free(&pl->jw);
    if (pl->lock_init)
        pthread_mutex_destroy(&pl->lock);
    xfree(pl->wk);
    xfree(pl);
}

void pipeline_set_sweep(struct pipeline *pl, struct sweep *sw)
{
    pl->sweep = sw;
    if (sw != NULL && pl->det != NULL) { /* the sensor's own who-has are not a sweep */
        uint8_t mac[6];
        sweep_own_mac(sw, mac);
        detect_set_own_mac(pl->det, mac);
    }
}

void pipeline_reload(struct pipeline *pl)
{
    __atomic_store_n(&pl->reload, 1, __ATOMIC_RELAXED);
}

void pipeline_stop(struct pipeline *pl)
{
    __atomic_store_n(&pl->stop, 1, __ATOMIC_RELAXED);
    if (pl->cap != NULL)
        capture_breakloop(pl->cap);
}

static bool stopping(struct pipeline *pl)
{
    return __atomic_load_n(&pl->stop, __ATOMIC_RELAXED) != 0;
}

static void show_progress(struct pipeline *pl, bool last)
{
    uint64_t pos, size;
    double el = (double)(ts_mono_us() - pl->wall_start) / 1e6;
    double pct =
        capture_progress(pl->cap, &pos, &size) && size ? 100.0 * (double)pos / (double)size : 0;
    fprintf(stderr, "\r%5.1f%%  %llu packets  %.0f pkt/s", last ? 100.0 : pct,
            (unsigned long long)pl->packets, el > 0 ? (double)pl->packets / el : 0.0);
    if (!pl->threaded) { /* the workers' tables are theirs */
        struct flow_stats fs;
        flow_table_stats(pl->wk[0].flows, &fs);
        fprintf(stderr, "  %llu active flows", (unsigned long long)fs.active);
    }
    fputs(last ? "\n" : "   ", stderr);
}

static void maybe_progress(struct pipeline *pl, bool progress, uint64_t *next)
{
    if (progress && (pl->packets & 0x3ff) == 0) {
        uint64_t m = ts_mono_us();
        if (m >= *next) {
            show_progress(pl, false);
            *next = m + 500000;
        }
    }
}

/* The single-worker loop: everything on this thread. */
/* ---- threaded: the workers and the reader ---------------------------------- */

static void worker_tick(struct worker *wk, uint64_t ts)
{
    if (ts > wk->now)
        wk->now = ts;
    if (!wk->clock_started) {
        wk->clock_started = true;
        wk->next_housekeep = wk->now + HOUSEKEEP_US;
    }
}

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    int linktype = capture_linktype(wk->pl->cap); /* set before the thread started */
    worker_thread_init(wk);
    const struct pktring_rec *rec;
    while ((rec = pktring_get(wk->ring)) != NULL) {
        if (rec->kind == PKTRING_PKT) {
            struct capture_pkt cp = {(const uint8_t *)(rec + 1), rec->caplen, rec->wirelen,
                                     rec->ts_us};
            worker_packet(wk, &cp, linktype, rec->pktno);
        } else {
            worker_tick(wk, rec->ts_us);
        }
        pktring_release(wk->ring);
        __atomic_store_n(&wk->clock_pub, wk->now, __ATOMIC_RELEASE);
        if (wk->clock_started && wk->now >= wk->next_housekeep)
            housekeep_threaded(wk);
    }
    flow_table_flush(wk->flows); /* the reader is done: every flow of this worker ends */
    worker_publish(wk);
    worker_thread_done();
    return NULL;
}

/* Reader: the capture counters for stats events, at most every CAP_SNAPSHOT_US. */
static void snapshot_capture(struct pipeline *pl, bool force)
{
    uint64_t m = ts_mono_us();
    if (!force && m < pl->cap_snap_next)
        return;
    pl->cap_snap_next = m + CAP_SNAPSHOT_US;
    struct capture_stats cs;
    capture_stats(pl->cap, &cs);
    pl_lock(pl);
    pl->cap_st = cs;
    pl->snap_ts_backwards = pl->ts_backwards;
    pl->snap_read_error = pl->read_error;
    pl_unlock(pl);
}

/* Starts the workers with every signal blocked, so that signals reach the reader
 * (the main thread), whose handler breaks the capture loop. */
static int start_workers(struct pipeline *pl)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < pl->nworkers && rc == 0; i++) {
        struct worker *wk = &pl->wk[i];
        if (pthread_create(&wk->thr, NULL, worker_main, wk) != 0) {
            log_error("pipeline", "cannot start worker thread %u", i);
            rc = ERR_NOMEM;
        } else {
            wk->started = true;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void stop_workers(struct pipeline *pl)
{
    for (unsigned i = 0; i < pl->nworkers; i++)
        if (pl->wk[i].ring != NULL)
            pktring_close(pl->wk[i].ring);
    for (unsigned i = 0; i < pl->nworkers; i++)
        if (pl->wk[i].started) {
            pthread_join(pl->wk[i].thr, NULL);
            pl->wk[i].started = false;
        }
}

/* Moves every worker's clock to ts (once each has read what was queued before):
 * an idle read timeout (live: wall clock), or packet time that moved TICK_US. */
static void send_ticks(struct pipeline *pl, uint64_t ts, bool block)
{
    struct pktring_rec tick = {.kind = PKTRING_TICK, .ts_us = ts};
    pl->tick_last = ts;
    for (unsigned i = 0; i < pl->nworkers; i++)
        (void)pktring_put(pl->wk[i].ring, &tick, NULL, block); /* live: a full ring is not idle */
}

/* The reader's work on one packet: count it, tick the workers' clocks when packet
 * time moved, copy it into its worker's ring. */
static void reader_packet(struct pipeline *pl, const struct capture_pkt *cp, int linktype,
                          bool block)
{
    count_packet(pl, cp);
    if (cp->ts_us >= pl->tick_last + TICK_US) {
        send_ticks(pl, cp->ts_us, block);
    }
    uint32_t h = flowhash_packet(linktype, cp->data, cp->caplen);
    struct worker *wk = &pl->wk[h % pl->nworkers];
    struct pktring_rec rec = {.kind = PKTRING_PKT,
                              .caplen = cp->caplen,
                              .wirelen = cp->wirelen,
                              .ts_us = cp->ts_us,
                              .pktno = pl->packets};
    if (!pktring_put(wk->ring, &rec, cp->data, block))
        __atomic_add_fetch(&wk->ring_drops, 1, __ATOMIC_RELAXED);
    if ((pl->packets & 0x3ff) == 0)
        snapshot_capture(pl, false);
}

/* An idle read timeout of a live interface: the clock follows the wall clock. */
static void on_idle(struct pipeline *pl, uint64_t wall)
{
    if (pl->threaded) {
        if (!pl->clock_started) {
            pl_lock(pl);
            start_clock(pl, wall);
            pl_unlock(pl);
        }
        send_ticks(pl, wall, false);
        snapshot_capture(pl, false);
        return;
    }
    if (!pl->clock_started)
        start_clock(pl, wall);
    if (wall >= pl->now) {
        pl->now = wall;
        pl->wk[0].now = wall;
        housekeep(pl);
    }
}

/* Reads the capture to its end or a stop: one thread does everything, or (threaded)
 * each packet goes to its worker's ring; block: wait for ring room (a file). */
static void capture_loop(struct pipeline *pl, bool progress, bool block)
{
    struct capture_pkt cp;
    struct capture *cap = pl->cap;
    int linktype = capture_linktype(cap);
    uint64_t next_progress = 0;
    while (!stopping(pl)) {
        enum capture_rc rc = capture_next(cap, &cp);
        if (rc == CAPTURE_PKT) {
            if (pl->threaded)
                reader_packet(pl, &cp, linktype, block);
            else
                on_packet(pl, &cp, linktype);
        } else if (rc == CAPTURE_TIMEOUT) {
            on_idle(pl, ts_now_us());
        } else {
            if (rc == CAPTURE_ERROR) {
                pl->read_error = true;
                log_error("capture", "read error after %llu packets: %s",
                          (unsigned long long)pl->packets, capture_error(cap));
            }
            break;
        }
        maybe_progress(pl, progress, &next_progress);
    }
}

/* The reader loop: each packet to its worker's ring. A file never loses a packet (the
 * reader waits for room); a live interface counts one it cannot queue as a ring drop. */
static void run_threaded(struct pipeline *pl, bool progress)
{
    struct capture_stats cs0;
    capture_stats(pl->cap, &cs0);
    snapshot_capture(pl, true);
    if (start_workers(pl) != 0) {
        pl->read_error = true;
        stop_workers(pl);
        return;
    }
    capture_loop(pl, progress, !cs0.live);
    snapshot_capture(pl, true);
    /* the flows still open end at the capture's last packet time on every worker, as
     * with one worker (not at each worker's own last packet) */
    if (pl->clock_started)
        send_ticks(pl, pl->max_ts, true);
    stop_workers(pl); /* each ends its flows and publishes its last counters */
    for (unsigned i = 0; i < pl->nworkers; i++)
        if (pl->wk[i].now > pl->now)
            pl->now = pl->wk[i].now;
}

int pipeline_run(struct pipeline *pl, struct capture *cap, bool progress)
{
    pl->cap = cap;
    pl->wall_start = ts_mono_us();
    if (pl->threaded)
        run_threaded(pl, progress);
    else
        capture_loop(pl, progress, false);
    if (progress)
        show_progress(pl, true);
    /* from here on the workers are gone (threaded): only this thread runs */
    sweep_stop(pl->sweep); /* before the final stats, so that they hold every request */
    if (!pl->threaded)
        flow_table_flush(pl->wk[0].flows); /* threaded: each worker flushed its own */
    if (pl->inv != NULL)
        inv_flush(pl->inv);
    if (pl->det != NULL)
        detect_flush(pl->det);
    write_stats(pl, true);
    sink_flush(pl->sink);
    if (pl->ship != NULL)
        ship_drain(pl->ship); /* up to ship.drain_timeout; the rest stays spooled */
    return pl->read_error ? ERR_IO : 0;
}

void pipeline_summary(const struct pipeline *pl, struct pipeline_summary *out)
{
    struct sink_stats ss;
    struct capture_stats cs;
    memset(out, 0, sizeof(*out));
    sink_stats(pl->sink, &ss);
    for (unsigned i = 0; i < pl->nworkers; i++) {
        struct flow_stats fs;
        flow_table_stats(pl->wk[i].flows, &fs);
        out->flows += fs.created;
        out->decode_bad += decoder_stats(pl->wk[i].dec)->proto[DECODE_P_INVALID];
    }
    out->packets = pl->packets;
    out->bytes = pl->bytes;
    out->events = ss.events;
    out->events_dropped = ss.dropped + events_oversized(pl);
    if (pl->cap != NULL) {
        capture_stats(pl->cap, &cs);
        out->kernel_drops = cs.ps_drop + cs.ps_ifdrop;
    }
    out->first_ts = pl->first_ts;
    out->last_ts = pl->now;
    out->wall_s = (double)(ts_mono_us() - pl->wall_start) / 1e6;
    out->read_error = pl->read_error;
}
