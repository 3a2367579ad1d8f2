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
 */
#include "pipeline.h"

#include "app/appid.h"
#include "app/dispatch.h"
#include "app/files.h"
#include "capture/capture.h"
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
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HOUSEKEEP_US 1000000u

struct pipeline {
    const struct sensor_conf *conf;
    struct decoder *dec;
    struct flow_table *flows;
    struct reasm *reasm;
    struct appid *appid;
    struct sink *sink;
    struct capture *cap;
    struct jw jw;

    uint64_t now;           /* highest packet time seen */
    uint64_t first_ts;
    bool clock_started;
    uint64_t next_housekeep;
    uint64_t next_stats;
    uint64_t wall_start;
    volatile sig_atomic_t stop;

    uint64_t packets, bytes;
    /* pcap_cnt of application events: the current packet's number, 0 while a flow's
     * end flushes its streams (the events then say "stream (flow timeout)") */
    uint64_t pcap_cnt;
    uint64_t events_oversized;
    uint64_t ts_backwards;
    uint64_t last_pkt_ts; /* newest packet timestamp seen */
    /* anomaly sampling (Zeek weird-style): per kind a burst, then 1 in N, and a
     * global cap per second of packet time; suppressed ones are counted */
    uint64_t anom_seen[DECODE_EV_COUNT];
    uint64_t anom_suppressed[DECODE_EV_COUNT];
    uint64_t anom_written, anom_dropped;
    uint64_t anom_sec;
    uint64_t anom_in_sec;
    /* application-layer parsers */
    struct applayer *al;
    bool read_error;
    /* detections (sensor/detect); NULL when detect.enabled is off */
    struct detect *det;
    struct inv *inv; /* device inventory (issue 5) */
    volatile sig_atomic_t reload;
    struct ship *ship; /* shipping to the center, NULL when ship.url is empty */
    struct sweep *sweep; /* the ARP sweep (borrowed), NULL when off */
};

/* Every event line goes here: to the output, and to the center when shipping. */
static void write_line(struct pipeline *pl, const char *line, size_t len, uint64_t ts)
{
    sink_write(pl->sink, line, len, ts); /* failures are counted by the sink */
    if (pl->ship != NULL)
        ship_offer(pl->ship, line, len); /* never blocks; drops are counted */
}

static void write_event(struct pipeline *pl, uint64_t ts)
{
    struct jw *w = &pl->jw;
    if (!jw_ok(w)) {
        pl->events_oversized++;
        return;
    }
    write_line(pl, w->buf, w->len, ts);
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

static void write_flow_appid(struct pipeline *pl, struct jw *w, const struct appid_result *r)
{
    char name[64];
    jw_obj_open(w, "ndpi");
    appid_result_name(pl->appid, r, name, sizeof(name));
    jw_str(w, "proto", name);
    if (r->master != 0 && r->master != r->app)
        jw_str(w, "master", appid_proto_name(pl->appid, r->master));
    jw_str(w, "app", appid_proto_name(pl->appid, r->app));
    jw_str(w, "category", appid_category_name(pl->appid, r->category));
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
    struct pipeline *pl = ud;
    struct jw *w = &pl->jw;
    struct appid_result ar;
    bool have_app = false;
    char ts[TS_RFC3339_LEN];

    if (pl->appid != NULL) {
        app_load(f, &ar);
        appid_flow_end(pl->appid, (struct appid_flow **)&f->app_state, &ar);
        have_app = true;
    }
    if (pl->reasm != NULL) {
        /* delivers what was still buffered: no packet of the flow is current */
        uint64_t cnt = pl->pcap_cnt;
        pl->pcap_cnt = 0;
        reasm_flow_end(pl->reasm, f);
        pl->pcap_cnt = cnt;
    }
    if (pl->al != NULL)
        applayer_flow_end(pl->al, f);
    if (pl->det != NULL)
        detect_flow_end(pl->det, f);

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
        write_flow_appid(pl, w, &ar);
    jw_obj_close(w);
    if (f->key.proto == IPPROTO_TCP)
        write_flow_tcp(w, f);
    jw_obj_close(w);
    write_event(pl, f->ts_last);
}

/* ---- anomaly events ------------------------------------------------------- */

/* The sampling decision for the n-th anomaly of one kind (n counts from 1): the
 * first anomaly_burst, then one in anomaly_sample, at most anomaly_rate per second
 * of packet time over all kinds. Increments *suppressed when not written. */
static bool anomaly_sample(struct pipeline *pl, uint64_t n, uint64_t *suppressed)
{
    const struct sensor_conf *c = pl->conf;
    uint64_t sec = pl->now / 1000000u;
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
static void on_decode_event(struct pipeline *pl, const struct pkt *p)
{
    enum decode_ev ev = decoder_last_event(pl->dec);
    if (ev == DECODE_EV_NONE || (unsigned)ev >= DECODE_EV_COUNT ||
        !anomaly_sample(pl, ++pl->anom_seen[ev], &pl->anom_suppressed[ev]))
        return;
    struct jw *w = &pl->jw;
    jw_reset(w);
    eve_begin(w, p->ts_us, "anomaly", 0);
    jw_u64(w, "pcap_cnt", pl->packets);
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
    write_event(pl, p->ts_us);
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

static void stats_decoder(struct pipeline *pl, struct jw *w)
{
    const struct decode_stats *ds = decoder_stats(pl->dec);
    jw_obj_open(w, "decoder");
    jw_u64(w, "pkts", ds->pkts);
    jw_u64(w, "bytes", ds->bytes);
    const char *const *names = decode_proto_counter_names();
    for (int i = 0; names[i] != NULL; i++)
        jw_u64(w, names[i], ds->proto[i]);
    stats_decode_events(w, ds);
    jw_obj_close(w);
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

static void stats_flow(struct pipeline *pl, struct jw *w)
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

static void write_stats(struct pipeline *pl, bool final)
{
    struct jw *w = &pl->jw;
    struct capture_stats cs;
    struct sink_stats ss;
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
    jw_u64(w, "ts_backwards", pl->ts_backwards);
    jw_bool(w, "read_error", pl->read_error);
    jw_obj_close(w);
    stats_decoder(pl, w);
    stats_flow(pl, w);
    if (pl->al != NULL)
        applayer_stats(pl->al, w);
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
    jw_u64(w, "oversized", pl->events_oversized);
    jw_obj_close(w);
    if (pl->ship != NULL)
        ship_stats_json(pl->ship, w);
    stats_memory(w);
    jw_obj_close(w);
    jw_obj_close(w);
    write_event(pl, pl->now);
}

/* ---- the packet path ------------------------------------------------------ */

/* In-order TCP payload of one direction of a flow, and the holes in it: for the
 * application-layer parsers. */
static void on_stream_data(void *ud, struct flow *f, int dir, const uint8_t *data, size_t len)
{
    struct pipeline *pl = ud;
    if (pl->al != NULL)
        applayer_stream(pl->al, f, dir, data, len, pl->now);
}

static void on_stream_gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    struct pipeline *pl = ud;
    if (pl->al != NULL)
        applayer_gap(pl->al, f, dir, len, pl->now);
}

static void housekeep(struct pipeline *pl)
{
    flow_table_expire(pl->flows, pl->now);
    decoder_expire(pl->dec, pl->now);
    if (pl->conf->stats_interval != 0 && pl->now >= pl->next_stats) {
        if (pl->next_stats != 0)
            write_stats(pl, false);
        pl->next_stats = pl->now + pl->conf->stats_interval;
    }
    if (pl->det != NULL) {
        char err[512];
        if (pl->reload) {
            pl->reload = 0;
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

static void on_ip_packet(struct pipeline *pl, const struct pkt *p)
{
    int dir;
    struct flow *f = flow_table_update(pl->flows, p, &dir);
    if (f == NULL)
        return; /* counted by the flow table (memcap) */
    if (pl->det != NULL && f->pkts[0] + f->pkts[1] == 1)
        detect_flow_new(pl->det, f, p, dir);
    if (pl->appid != NULL && !(f->app_flags & APP_F_DONE)) {
        struct appid_result r;
        app_load(f, &r);
        appid_packet(pl->appid, (struct appid_flow **)&f->app_state, &r, p, dir);
        app_store(f, &r);
        if (pl->det != NULL && r.done && !r.guessed)
            detect_flow_app(pl->det, f, p->ts_us); /* prohibited apps, P2P devices */
    }
    if (pl->reasm != NULL && p->proto == IPPROTO_TCP)
        reasm_packet(pl->reasm, f, dir, p);
    if (pl->al != NULL && p->proto == IPPROTO_UDP && p->payload_len > 0)
        applayer_udp(pl->al, f, dir, p->sport, p->dport, p->payload, p->payload_len, p->ts_us);
}

/* A packet that came out of a UDP tunnel (VXLAN, Geneve): the tunnel's own UDP flow
 * counts it as well, as Suricata does, with no application layer (its payload is the
 * inner packet). */
static void on_tunnel_packet(struct pipeline *pl, const struct pkt *p)
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
    (void)flow_table_update(pl->flows, &o, &dir);
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

static void on_packet(struct pipeline *pl, const struct capture_pkt *cp, int linktype)
{
    struct pkt p;
    if (!pl->clock_started)
        start_clock(pl, cp->ts_us);
    pl->packets++;
    pl->pcap_cnt = pl->packets;
    pl->bytes += cp->wirelen;
    /* Compared with the packets seen, not the clock, which live read timeouts also move. */
    if (cp->ts_us < pl->last_pkt_ts)
        pl->ts_backwards++;
    else
        pl->last_pkt_ts = cp->ts_us;
    if (cp->ts_us > pl->now)
        pl->now = cp->ts_us;

    enum decode_rc rc =
        decode_packet(pl->dec, &p, linktype, cp->data, cp->caplen, cp->wirelen, cp->ts_us);
    if (p.has_outer && rc != DECODE_BAD && rc != DECODE_SKIP)
        on_tunnel_packet(pl, &p);
    if (rc == DECODE_OK) {
        if (pl->inv != NULL && (p.ipver == 4 || p.ipver == 6))
            inv_packet(pl->inv, p.has_eth ? p.eth_src : NULL, &p.src, p.ts_us);
        on_ip_packet(pl, &p);
    } else if (rc == DECODE_ARP && pl->al != NULL) {
        applayer_arp(pl->al, &p, cp->ts_us);
    }
    /* ARP, held fragments and skipped packets are counted by the decoder; any of them
     * may still carry an event (e.g. an overlapping fragment). */
    if (decoder_last_event(pl->dec) != DECODE_EV_NONE)
        on_decode_event(pl, &p);
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

static void read_event(struct pipeline *pl, uint64_t ts)
{
    const char *line = pl->jw.buf, *type;
    size_t len = pl->jw.len, tlen;
    if ((pl->inv == NULL && pl->det == NULL) || !jscan_event_type(line, len, &type, &tlen))
        return;
    bool inv = pl->inv != NULL && inv_event_begin(pl->inv, type, tlen, ts);
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

/* The dispatcher's view of the pipeline (app/dispatch.h). */
static void host_write(void *ud, uint64_t ts)
{
    struct pipeline *pl = ud;
    write_event(pl, ts);
    if (jw_ok(&pl->jw))
        read_event(pl, ts);
}

/* The detections' view: alert lines go straight to the output. */
static void det_write(void *ud, const char *line, size_t len, uint64_t ts)
{
    write_line(ud, line, len, ts);
}

static void det_file(void *ud, const struct app_file *f)
{
    struct pipeline *pl = ud;
    detect_file(pl->det, f, pl->now);
}

/* ---- the device inventory (issue 5) ---- */

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
    detect_set_appid(pl->det, pl->appid);
    files_set_observer(det_file, pl);
    if (pl->conf->detect_files) /* archives kept for a look inside (detect/archive.c) */
        files_set_keep(detect_scans_files(pl->det) ? keep_every_file : arc_is_archive,
                       (size_t)pl->conf->detect_arc_buffer, (size_t)pl->conf->detect_arc_memcap);
    return 0;
}

static bool host_sample(void *ud, uint64_t n, uint64_t *suppressed)
{
    return anomaly_sample(ud, n, suppressed);
}

static int open_applayer(struct pipeline *pl, char *err, size_t errlen)
{
    files_magic_init(); /* without it, files have no type: logged, not fatal */
    struct applayer_host h = {&pl->jw, &pl->pcap_cnt, host_write, host_sample, pl};
    pl->al = applayer_new(pl->conf, &h);
    if (pl->al == NULL) {
        snprintf(err, errlen, "out of memory setting up the application-layer parsers");
        return ERR_NOMEM;
    }
    return 0;
}

struct pipeline *pipeline_new(const struct sensor_conf *c, char *err, size_t errlen)
{
    struct pipeline *pl = xcalloc(MEM_CORE, 1, sizeof(*pl));
    if (pl == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pl->conf = c;
    /* The flow table enforces flow.memcap itself (evicting before it is reached);
     * the allocator cap is a backstop with room for the table's bookkeeping. */
    mem_set_cap(MEM_FLOW, c->flow_memcap + (uint64_t)64 * 1024);
    mem_set_cap(MEM_REASM, c->reasm_memcap);
    mem_set_cap(MEM_DEFRAG, c->defrag_memcap);
    mem_set_cap(MEM_APP, c->app_memcap);

    struct decode_conf dc = {
        .defrag_memcap = c->defrag_memcap,
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
    if (jw_init(&pl->jw, 4096, c->max_event_size) != 0 || (pl->dec = decoder_new(&dc)) == NULL ||
        (pl->flows = flow_table_new(&fc, on_flow_end, pl)) == NULL) {
        snprintf(err, errlen, "out of memory setting up the decoder and flow table");
        goto fail;
    }
    if (c->reasm_enabled) {
        struct reasm_conf rc = {
            .memcap = c->reasm_memcap,
            .depth = c->reasm_depth > UINT32_MAX ? UINT32_MAX : (uint32_t)c->reasm_depth,
            .max_ooo_segments = (uint32_t)c->reasm_max_ooo_segments,
            .max_ooo_bytes = (uint32_t)c->reasm_max_ooo_bytes,
            .ack_delivery = c->reasm_delivery == REASM_DELIVERY_ACK,
        };
        pl->reasm = reasm_new(&rc, on_stream_data, on_stream_gap, pl);
        if (pl->reasm == NULL) {
            snprintf(err, errlen, "out of memory setting up TCP reassembly");
            goto fail;
        }
    }
    if (c->appid_enabled) {
        struct appid_conf ac;
        appid_conf_defaults(&ac);
        ac.max_packets_tcp = (uint32_t)c->appid_max_packets_tcp;
        ac.max_packets_udp = (uint32_t)c->appid_max_packets_udp;
        ac.memcap = c->appid_memcap;
        pl->appid = appid_new(&ac);
        if (pl->appid == NULL) {
            snprintf(err, errlen, "nDPI initialisation failed (appid.memcap too small?)");
            goto fail;
        }
    }
    if (open_applayer(pl, err, errlen) != 0 || open_sink(pl, err, errlen) != 0 ||
        open_detect(pl, err, errlen) != 0 || open_inventory(pl, err, errlen) != 0)
        goto fail;
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
    if (pl->flows != NULL)
        flow_table_free(pl->flows);
    reasm_free(pl->reasm);
    appid_free(pl->appid);
    applayer_free(pl->al);
    if (pl->det != NULL) {
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
    decoder_free(pl->dec);
    sink_close(pl->sink);
    jw_free(&pl->jw);
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
    pl->reload = 1;
}

void pipeline_stop(struct pipeline *pl)
{
    pl->stop = 1;
    if (pl->cap != NULL)
        capture_breakloop(pl->cap);
}

static void show_progress(struct pipeline *pl, bool last)
{
    uint64_t pos, size;
    double el = (double)(ts_mono_us() - pl->wall_start) / 1e6;
    struct flow_stats fs;
    flow_table_stats(pl->flows, &fs);
    double pct =
        capture_progress(pl->cap, &pos, &size) && size ? 100.0 * (double)pos / (double)size : 0;
    fprintf(stderr, "\r%5.1f%%  %llu packets  %.0f pkt/s  %llu active flows%s", last ? 100.0 : pct,
            (unsigned long long)pl->packets, el > 0 ? (double)pl->packets / el : 0.0,
            (unsigned long long)fs.active, last ? "\n" : "   ");
}

int pipeline_run(struct pipeline *pl, struct capture *cap, bool progress)
{
    struct capture_pkt cp;
    int linktype = capture_linktype(cap);
    uint64_t next_progress = 0;
    pl->cap = cap;
    pl->wall_start = ts_mono_us();

    while (!pl->stop) {
        enum capture_rc rc = capture_next(cap, &cp);
        if (rc == CAPTURE_PKT) {
            on_packet(pl, &cp, linktype);
        } else if (rc == CAPTURE_TIMEOUT) {
            uint64_t wall = ts_now_us();
            if (!pl->clock_started)
                start_clock(pl, wall);
            if (wall >= pl->now) {
                pl->now = wall;
                housekeep(pl);
            }
        } else {
            if (rc == CAPTURE_ERROR) {
                pl->read_error = true;
                log_error("capture", "read error after %llu packets: %s",
                          (unsigned long long)pl->packets, capture_error(cap));
            }
            break;
        }
        if (progress && (pl->packets & 0x3ff) == 0) {
            uint64_t m = ts_mono_us();
            if (m >= next_progress) {
                show_progress(pl, false);
                next_progress = m + 500000;
            }
        }
    }
    if (progress)
        show_progress(pl, true);
    sweep_stop(pl->sweep); /* before the final stats, so that they hold every request */
    flow_table_flush(pl->flows);
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
    struct flow_stats fs;
    struct sink_stats ss;
    struct capture_stats cs;
    memset(out, 0, sizeof(*out));
    flow_table_stats(pl->flows, &fs);
    sink_stats(pl->sink, &ss);
    const struct decode_stats *ds = decoder_stats(pl->dec);
    out->packets = pl->packets;
    out->bytes = pl->bytes;
    out->flows = fs.created;
    out->events = ss.events;
    out->events_dropped = ss.dropped + pl->events_oversized;
    out->decode_bad = ds->proto[DECODE_P_INVALID];
    if (pl->cap != NULL) {
        capture_stats(pl->cap, &cs);
        out->kernel_drops = cs.ps_drop + cs.ps_ifdrop;
    }
    out->first_ts = pl->first_ts;
    out->last_ts = pl->now;
    out->wall_s = (double)(ts_mono_us() - pl->wall_start) / 1e6;
    out->read_error = pl->read_error;
}
