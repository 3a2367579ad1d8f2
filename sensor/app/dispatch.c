/*
 * Application-layer dispatch: parser choice, feeding, the sink, counters.
 */
#include "app/dispatch.h"

#include "app/appid.h"
#include "app/dhcp.h"
#include "app/dns.h"
#include "app/files.h"
#include "app/arp.h"
#include "app/http.h"
#include "app/mdns.h"
#include "app/nbns.h"
#include "app/ssdp.h"
#include "app/ssh.h"
#include "app/tls.h"
#include "app/smtp.h"
#include "output/eve.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define APP_MAX_KINDS 32
/* A stream no parser took is watched for a TLS handshake that starts later (after a
 * protocol we do not parse upgrades: pgsql SSLRequest, LDAP StartTLS, ...): at most
 * this many bytes in all, then it is given up. */
#define APP_TLS_WATCH_MAX ((uint64_t)64 * 1024)

/* The parsers, in probe order, with the configuration switch that enables each.
 * Stream parsers whose first bytes are distinctive come before DNS over TCP, which
 * has no signature and is chosen by port. */
static const struct {
    const struct app_parser *p;
    size_t enabled; /* offsetof(struct sensor_conf, <bool>) */
} registry[] = {
    {&http_parser, offsetof(struct sensor_conf, http_enabled)},
    {&tls_parser, offsetof(struct sensor_conf, tls_enabled)},
    {&smtp_parser, offsetof(struct sensor_conf, smtp_enabled)},
    {&ssh_parser, offsetof(struct sensor_conf, ssh_enabled)},
    {&dns_parser, offsetof(struct sensor_conf, dns_enabled)},
    {&dhcp_parser, offsetof(struct sensor_conf, dhcp_enabled)},
    {&mdns_parser, offsetof(struct sensor_conf, mdns_enabled)},
    {&llmnr_parser, offsetof(struct sensor_conf, llmnr_enabled)},
    {&nbns_parser, offsetof(struct sensor_conf, nbns_enabled)},
    {&ssdp_parser, offsetof(struct sensor_conf, ssdp_enabled)},
};
#define NPARSERS (sizeof(registry) / sizeof(registry[0]))

struct parser_stats {
    uint64_t flows;     /* stream states created */
    uint64_t bytes;     /* stream bytes fed */
    uint64_t gaps;      /* stream gaps passed on */
    uint64_t datagrams; /* datagrams fed */
    uint64_t events;    /* events written */
    uint64_t nomem;     /* flows not parsed: state refused by MEM_APP */
    uint64_t anom[APP_MAX_KINDS];
    uint64_t suppressed[APP_MAX_KINDS];
};

struct applayer {
    const struct sensor_conf *conf;
    struct applayer_host host;
    bool on[NPARSERS];
    bool any_stream;
    struct parser_stats st[NPARSERS];
    uint64_t probe_nomem; /* flows not probed: no memory for the probe state */
    uint64_t undecided;   /* stream flows that ended before any parser decided */
    struct arp_table *arp; /* ARP request/reply pairing; NULL when ARP is off */
    uint64_t arp_events;
    uint64_t arp_anom[ARP_AN_COUNT];
};

/* Per-flow state in flow->app_stream. */
struct app_stream {
    void *st;       /* the chosen parser's state */
    uint8_t parser; /* registry index + 1; 0 while undecided */
    bool no[2];     /* every probe said no for this direction's first bytes */
    uint16_t plen[2];
    uint64_t dropped[2]; /* bytes of a refused direction not kept while undecided */
    uint8_t *pbuf[2];    /* first bytes while undecided (APP_PROBE_MAX, lazily) */
    bool watch;          /* no parser took it: delivered chunks are probed for TLS */
    uint64_t watched;    /* bytes seen while watching */
    const char *from;    /* what the client's first bytes were, when known (static) */
};

/* flow->app_stream of a flow that no parser wants (or that could not get memory). */
static char no_parser;
#define NO_PARSER ((void *)&no_parser)

/* The sink handed to a parser for one call. */
struct app_ctx {
    struct app_sink sink;
    struct applayer *al;
    struct flow *f;
    unsigned idx;
    bool at_end; /* called from applayer_flow_end: no current packet */
};

/* ---- the sink --------------------------------------------------------------- */

/* The notes of a new event: on when its values are noted (struct app_notes). */
static struct app_notes *notes_begin(const struct applayer *al, bool on)
{
    struct app_notes *n = al->host.notes;
    if (n != NULL) {
        n->on = on;
        n->lost = false;
        n->n = 0;
    }
    return on ? n : NULL;
}

/* The value the parser just wrote (app_sink.note). */
static void note_value(struct applayer *al, const char *path, size_t plen)
{
    struct app_notes *n = al->host.notes;
    if (n != NULL && n->on)
        app_notes_jw(n, path, plen, al->host.jw);
}

/* The common header of an event about the current flow: as Suricata, pcap_cnt (the
 * number of the packet that completed what is logged) and pkt_src ("wire/pcap", or
 * "stream (flow timeout)" for what is logged when the flow ends). noted: the event's
 * values are noted (its parser notes; not for its anomalies). */
static void write_header(struct app_ctx *c, struct jw *w, const char *event_type, int dir,
                         bool noted)
{
    const struct flow *f = c->f;
    const struct flow_key *k = &f->key;
    struct app_notes *notes = notes_begin(c->al, noted);
    jw_reset(w);
    eve_begin(w, c->sink.now_us, event_type, f->flow_id);
    /* no current packet: the flow's end (a host packet number of 0 says that
     * reassembly flushes the flow's streams) */
    const uint64_t *pkts = c->al->host.packets;
    bool flushed = c->at_end || (pkts != NULL && *pkts == 0);
    if (!flushed && pkts != NULL)
        jw_u64(w, "pcap_cnt", *pkts);
    size_t tuple = w->len;
    if (dir == APP_TOSERVER)
        eve_tuple(w, &k->src, k->sport, &k->dst, k->dport, k->proto, f->ipver);
    else
        eve_tuple(w, &k->dst, k->dport, &k->src, k->sport, k->proto, f->ipver);
    if (notes != NULL) { /* src_ip: the tuple's first member, `,"src_ip":"..."` */
        static const char key[] = ",\"src_ip\":\"";
        const size_t kl = sizeof(key) - 1;
        const char *q = NULL;
        if (!w->bad && w->len - tuple > kl && memcmp(w->buf + tuple, key, kl) == 0)
            q = memchr(w->buf + tuple + kl, '"', w->len - tuple - kl);
        if (q != NULL) /* an address: a plain string */
            app_notes_add(notes, "src_ip", 6, tuple + kl - 1,
                          (size_t)(q - (w->buf + tuple + kl)) + 1);
        else
            notes->lost = true;
    }
    jw_str(w, "pkt_src", flushed ? "stream (flow timeout)" : "wire/pcap");
    const struct sensor_conf *sc = c->al->conf; /* vlan, ether, community_id */
    struct eve_opts eo = {sc->eve_community_id, (uint16_t)sc->eve_community_id_seed,
                          sc->eve_ethernet};
    eve_flow_fields(w, f, dir == APP_TOSERVER, &eo, false);
    if (strcmp(event_type, "fileinfo") == 0) /* Suricata names the carrier of a file */
        jw_str(w, "app_proto", registry[c->idx].p->name);
}

static struct jw *sink_event_begin(struct app_sink *s, const char *event_type, int dir)
{
    struct app_ctx *c = s->ud;
    struct jw *w = c->al->host.jw;
    write_header(c, w, event_type, dir, registry[c->idx].p->notes);
    return w;
}

static void sink_note(struct app_sink *s, const char *path, size_t plen)
{
    note_value(((struct app_ctx *)s->ud)->al, path, plen);
}

static void sink_event_end(struct app_sink *s)
{
    struct app_ctx *c = s->ud;
    jw_obj_close(c->al->host.jw);
    c->al->st[c->idx].events++;
    c->al->host.write(c->al->host.ud, s->now_us);
}

/* Counts the anomaly and writes a sampled `anomaly` event (Suricata's "applayer"
 * anomalies), named "<parser>.<kind>". */
static void sink_anomaly(struct app_sink *s, int kind, int dir)
{
    struct app_ctx *c = s->ud;
    const struct app_parser *p = registry[c->idx].p;
    struct parser_stats *ps = &c->al->st[c->idx];
    if (kind < 0 || kind >= p->nkinds)
        return;
    uint64_t n = ++ps->anom[kind];
    if (!c->al->host.sample(c->al->host.ud, n, &ps->suppressed[kind]))
        return;
    char name[96];
    snprintf(name, sizeof(name), "%s.%s", p->name, p->kind_name(kind));
    struct jw *w = c->al->host.jw;
    write_header(c, w, "anomaly", dir, false);
    jw_str(w, "app_proto", p->name);
    jw_obj_open(w, "anomaly");
    jw_str(w, "type", "applayer");
    jw_str(w, "event", name);
    jw_str(w, "layer", "proto_parser");
    jw_u64(w, "count", n);
    jw_u64(w, "suppressed", ps->suppressed[kind]);
    jw_obj_close(w);
    jw_obj_close(w);
    ps->suppressed[kind] = 0;
    c->al->host.write(c->al->host.ud, s->now_us);
}

static void ctx_init(struct app_ctx *c, struct applayer *al, struct flow *f, unsigned idx,
                     uint64_t now_us)
{
    c->sink.event_begin = sink_event_begin;
    c->sink.event_end = sink_event_end;
    c->sink.anomaly = sink_anomaly;
    c->sink.note = sink_note;
    c->sink.now_us = now_us;
    c->sink.flow_id = f->flow_id;
    c->sink.dgram_index = 0;
    c->sink.ud = c;
    c->al = al;
    c->f = f;
    c->idx = idx;
    c->at_end = false;
}

/* ---- setup ------------------------------------------------------------------ */

struct applayer *applayer_new(const struct sensor_conf *c, const struct applayer_host *h)
{
    struct applayer *al = xcalloc(MEM_APP, 1, sizeof(*al));
    if (al == NULL)
        return NULL;
    al->conf = c;
    al->host = *h;
    files_set_hashes(c->file_hashes);
    for (unsigned i = 0; i < NPARSERS; i++) {
        const bool *enabled = (const bool *)((const char *)c + registry[i].enabled);
        al->on[i] = *enabled && registry[i].p->nkinds <= APP_MAX_KINDS;
        if (al->on[i] && registry[i].p->probe != NULL)
            al->any_stream = true;
    }
    if (c->arp_enabled && (al->arp = arp_table_new(c)) == NULL) {
        xfree(al);
        return NULL;
    }
    return al;
}

void applayer_free(struct applayer *al)
{
    if (al != NULL)
        arp_table_free(al->arp);
    xfree(al);
}

/* ---- datagrams ---------------------------------------------------------------- */

void applayer_udp(struct applayer *al, struct flow *f, int dir, uint16_t sport, uint16_t dport,
                  const uint8_t *d, size_t n, uint64_t now_us)
{
    for (unsigned i = 0; i < NPARSERS; i++) {
        const struct app_parser *p = registry[i].p;
        if (!al->on[i] || p->datagram == NULL || !p->udp_match(sport, dport))
            continue;
        struct app_ctx c;
        ctx_init(&c, al, f, i, now_us);
        c.sink.dgram_index = f->pkts[0] + f->pkts[1] - 1;
        al->st[i].datagrams++;
        p->datagram(&c.sink, al->conf, dir, d, n);
        return;
    }
}

/* ---- streams ------------------------------------------------------------------ */

static void stream_free(struct app_stream *as)
{
    xfree(as->pbuf[0]);
    xfree(as->pbuf[1]);
    xfree(as);
}

static int registry_index(const struct app_parser *p)
{
    for (unsigned i = 0; i < NPARSERS; i++)
        if (registry[i].p == p)
            return (int)i;
    return -1;
}

/* The TLS parser takes over the flow from its parser (ended and freed here), as
 * Suricata does after SMTP STARTTLS or an HTTP CONNECT: the tls event says
 * from_proto. When TLS is off or its state is refused, the flow is not parsed any
 * more. */
static void handoff_tls(struct applayer *al, struct flow *f, struct app_stream *as,
                        uint64_t now_us)
{
    unsigned old = as->parser - 1u;
    const struct app_parser *p = registry[old].p;
    struct app_ctx c;
    ctx_init(&c, al, f, old, now_us);
    if (p->end != NULL)
        p->end(as->st, &c.sink); /* the transaction before the upgrade */
    p->state_free(as->st);
    as->st = NULL;
    as->parser = 0;
    int t = registry_index(&tls_parser);
    if (t < 0 || !al->on[t] || (as->st = tls_parser.state_new(al->conf)) == NULL) {
        if (t >= 0 && al->on[t])
            al->st[t].nomem++;
        stream_free(as);
        f->app_stream = NO_PARSER;
        return;
    }
    tls_set_from_proto(as->st, p->name);
    as->parser = (uint8_t)(t + 1);
    al->st[t].flows++;
}

static void feed(struct applayer *al, struct flow *f, struct app_stream *as, int dir,
                 const uint8_t *d, size_t n, uint64_t now_us) /* NOLINT(misc-no-recursion) */
{
    unsigned idx = as->parser - 1u;
    /* HTTP CONNECT tunnel (bug-2430): a client chunk that starts with a ClientHello
     * record on an HTTP flow is the tunnelled TLS */
    if (registry[idx].p == &http_parser && dir == APP_TOSERVER &&
        tls_parser.probe(d, n < APP_PROBE_MAX ? n : APP_PROBE_MAX, dir, f->key.sport,
                         f->key.dport) == APP_PROBE_YES) {
        handoff_tls(al, f, as, now_us);
        if (f->app_stream == as)
            feed(al, f, as, dir, d, n, now_us);
        return;
    }
    struct app_ctx c;
    ctx_init(&c, al, f, idx, now_us);
    al->st[idx].bytes += n;
    registry[idx].p->data(as->st, &c.sink, dir, d, n);
    if (registry[idx].p == &smtp_parser && smtp_upgraded(as->st))
        handoff_tls(al, f, as, now_us);
}

/* Parser idx wants the flow: create its state and give it what was kept while
 * undecided (the other direction's bytes first: they came before this call's), and
 * tell it about bytes of a refused direction that were not kept. */
static void choose(struct applayer *al, struct flow *f, struct app_stream *as, unsigned idx,
                   int dir, uint64_t now_us)
{
    const struct app_parser *p = registry[idx].p;
    as->st = p->state_new(al->conf);
    if (as->st == NULL) {
        al->st[idx].nomem++;
        stream_free(as);
        f->app_stream = NO_PARSER;
        return;
    }
    as->parser = (uint8_t)(idx + 1);
    al->st[idx].flows++;
    int order[2] = {!dir, dir};
    for (int k = 0; k < 2; k++) {
        int d = order[k];
        if (as->plen[d] > 0)
            feed(al, f, as, d, as->pbuf[d], as->plen[d], now_us);
        if (as->dropped[d] > 0 && p->gap != NULL) {
            struct app_ctx c;
            ctx_init(&c, al, f, idx, now_us);
            al->st[idx].gaps++;
            p->gap(as->st, &c.sink, d, as->dropped[d]);
        }
        as->plen[d] = 0;
    }
}

/* Asks every enabled stream parser about b[0..n) of direction dir: the index of the
 * first that says yes, or -1; *more is set when one needs more bytes. */
static int probe_all(const struct applayer *al, const struct flow *f, int dir, const uint8_t *b,
                     size_t n, bool *more)
{
    *more = false;
    for (unsigned i = 0; i < NPARSERS; i++) {
        const struct app_parser *p = registry[i].p;
        if (!al->on[i] || p->probe == NULL)
            continue;
        enum app_probe r = p->probe(b, n, dir, f->key.sport, f->key.dport);
        if (r == APP_PROBE_YES)
            return (int)i;
        if (r == APP_PROBE_MORE)
            *more = true;
    }
    return -1;
}

/* Keeps d[0..n) (as much as fits) after what direction dir already kept. Returns the
 * number of bytes kept, or -1 when the buffer could not be had. */
static long keep(struct app_stream *as, int dir, const uint8_t *d, size_t n)
{
    if (as->pbuf[dir] == NULL) {
        as->pbuf[dir] = xalloc(MEM_APP, APP_PROBE_MAX);
        if (as->pbuf[dir] == NULL)
            return -1;
    }
    size_t room = APP_PROBE_MAX - as->plen[dir];
    size_t k = n < room ? n : room;
    memcpy(as->pbuf[dir] + as->plen[dir], d, k);
    as->plen[dir] = (uint16_t)(as->plen[dir] + k);
    return (long)k;
}

static void give_up(struct applayer *al, struct flow *f, struct app_stream *as)
{
    (void)al;
    stream_free(as);
    f->app_stream = NO_PARSER;
}

/* What a stream that turns to TLS was before, from the client's first bytes: the
 * PostgreSQL SSLRequest (length 8, code 80877103), an LDAP ExtendedRequest with the
 * StartTLS OID (RFC 4511 4.14.1); else nDPI's verdict so far (Suricata's spelling),
 * or NULL. */
static const char *pre_tls_proto(const struct app_stream *as, const struct flow *f)
{
    static const uint8_t pg_ssl[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    static const char ldap_starttls[] = "1.3.6.1.4.1.1466.20037";
    const uint8_t *b = as->pbuf[APP_TOSERVER];
    size_t n = as->plen[APP_TOSERVER];
    if (as->from != NULL)
        return as->from;
    if (b != NULL && n >= 8 && memcmp(b, pg_ssl, 8) == 0)
        return "pgsql";
    size_t k = sizeof(ldap_starttls) - 1;
    for (size_t i = 0; b != NULL && b[0] == 0x30 && i + k <= n; i++)
        if (memcmp(b + i, ldap_starttls, k) == 0)
            return "ldap";
    struct appid_result r;
    memset(&r, 0, sizeof(r));
    r.master = f->app_proto_master;
    r.app = f->app_proto_app;
    const char *name = appid_eve_app_proto(&r);
    return name != NULL && strcmp(name, "tls") != 0 ? name : NULL;
}

/* Drops what was kept while undecided (it was not TLS), remembering what it was. */
static void forget_kept(struct app_stream *as, const struct flow *f)
{
    as->from = pre_tls_proto(as, f);
    for (int d = 0; d < 2; d++) {
        as->watched += as->plen[d] + as->dropped[d];
        xfree(as->pbuf[d]);
        as->pbuf[d] = NULL;
        as->plen[d] = 0;
        as->dropped[d] = 0;
    }
}

/* A chunk of direction dir starts with a TLS hello on a stream no parser has: TLS
 * takes the flow from this chunk on (what came before is not fed to it). */
static bool tls_takeover(struct applayer *al, struct flow *f, struct app_stream *as, int dir,
                         const uint8_t *d, size_t n, uint64_t now_us)
{
    int t = registry_index(&tls_parser);
    size_t k = n < APP_PROBE_MAX ? n : APP_PROBE_MAX;
    if (t < 0 || !al->on[t] ||
        tls_parser.probe(d, k, dir, f->key.sport, f->key.dport) != APP_PROBE_YES)
        return false;
    forget_kept(as, f);
    as->watch = false;
    choose(al, f, as, (unsigned)t, dir, now_us);
    if (f->app_stream != as)
        return true;
    tls_set_from_proto(as->st, as->from);
    feed(al, f, as, dir, d, n, now_us);
    return true;
}

/* Neither direction's start is a protocol we parse: watch for TLS (when on). */
static void watch_start(struct applayer *al, struct flow *f, struct app_stream *as)
{
    int t = registry_index(&tls_parser);
    if (t < 0 || !al->on[t]) {
        give_up(al, f, as);
        return;
    }
    forget_kept(as, f);
    as->watch = true;
}

/* A watched stream: a delivered chunk that starts with a ClientHello (to the server)
 * or a ServerHello (to the client) record hands the flow to the TLS parser; at most
 * APP_TLS_WATCH_MAX bytes are looked at. A handshake that does not start a chunk is
 * not found (documented). */
static void watch_stream(struct applayer *al, struct flow *f, struct app_stream *as, int dir,
                         const uint8_t *d, size_t n, uint64_t now_us)
{
    if (tls_takeover(al, f, as, dir, d, n, now_us))
        return;
    as->watched += n;
    if (as->watched > APP_TLS_WATCH_MAX)
        give_up(al, f, as);
}

/* More bytes of a direction every parser refused while the other side is still
 * undecided (e.g. pgsql's one-byte 'S'): TLS may start now, else they are lost to
 * the parser the other side may choose. */
static void refused_more(struct applayer *al, struct flow *f, struct app_stream *as, int dir,
                         const uint8_t *d, size_t n, uint64_t now_us)
{
    if (!tls_takeover(al, f, as, dir, d, n, now_us))
        as->dropped[dir] += n;
}

/* The undecided case: probe this direction's first bytes (those kept plus d). */
static void probe_stream(struct applayer *al, struct flow *f, struct app_stream *as, int dir,
                         const uint8_t *d, size_t n, uint64_t now_us)
{
    if (as->no[dir]) {
        refused_more(al, f, as, dir, d, n, now_us);
        return;
    }
    const uint8_t *b = d;
    size_t bn = n, used = n;
    if (as->plen[dir] > 0) {
        long k = keep(as, dir, d, n);
        if (k < 0) {
            give_up(al, f, as);
            return;
        }
        b = as->pbuf[dir];
        bn = as->plen[dir];
        used = (size_t)k;
    }
    bool more;
    int idx = probe_all(al, f, dir, b, bn, &more);
    if (idx >= 0) {
        if (b == d) { /* decided on this call's bytes alone: nothing kept */
            choose(al, f, as, (unsigned)idx, dir, now_us);
            if (f->app_stream == as)
                feed(al, f, as, dir, d, n, now_us);
        } else {
            choose(al, f, as, (unsigned)idx, dir, now_us); /* feeds the kept bytes */
            if (f->app_stream == as && used < n)
                feed(al, f, as, dir, d + used, n - used, now_us);
        }
        return;
    }
    if (more && bn < APP_PROBE_MAX) {
        if (b == d && keep(as, dir, d, n) < 0)
            give_up(al, f, as);
        return;
    }
    /* No parser wants this direction's start: keep what fits, for a parser that the
     * other direction may still choose, and count the rest as lost to it. */
    as->no[dir] = true;
    if (b == d) {
        long k = keep(as, dir, d, n);
        if (k < 0) {
            give_up(al, f, as);
            return;
        }
        used = (size_t)k;
    }
    as->dropped[dir] += n - used;
    if (as->no[!dir])
        watch_start(al, f, as);
}

void applayer_stream(struct applayer *al, struct flow *f, int dir, const uint8_t *d, size_t n,
                     uint64_t now_us)
{
    if (!al->any_stream || n == 0 || f->app_stream == NO_PARSER)
        return;
    struct app_stream *as = f->app_stream;
    if (as == NULL) {
        as = xcalloc(MEM_APP, 1, sizeof(*as));
        if (as == NULL) {
            al->probe_nomem++;
            f->app_stream = NO_PARSER;
            return;
        }
        f->app_stream = as;
    }
    if (as->parser != 0)
        feed(al, f, as, dir, d, n, now_us);
    else if (as->watch)
        watch_stream(al, f, as, dir, d, n, now_us);
    else
        probe_stream(al, f, as, dir, d, n, now_us);
}

void applayer_gap(struct applayer *al, struct flow *f, int dir, uint64_t len, uint64_t now_us)
{
    struct app_stream *as = f->app_stream;
    if (as == NULL || as == NO_PARSER)
        return;
    if (as->parser == 0) {
        /* Undecided: what was kept no longer starts the stream; stop looking. */
        give_up(al, f, as);
        return;
    }
    unsigned idx = as->parser - 1u;
    const struct app_parser *p = registry[idx].p;
    al->st[idx].gaps++;
    if (p->gap != NULL) {
        struct app_ctx c;
        ctx_init(&c, al, f, idx, now_us);
        p->gap(as->st, &c.sink, dir, len);
    }
}

void applayer_flow_end(struct applayer *al, struct flow *f)
{
    struct app_stream *as = f->app_stream;
    f->app_stream = NULL;
    if (as == NULL || as == NO_PARSER)
        return;
    if (as->parser != 0) {
        unsigned idx = as->parser - 1u;
        const struct app_parser *p = registry[idx].p;
        struct app_ctx c;
        ctx_init(&c, al, f, idx, f->ts_last);
        c.at_end = true;
        if (p->end != NULL)
            p->end(as->st, &c.sink);
        p->state_free(as->st);
    } else {
        al->undecided++;
    }
    stream_free(as);
}

/* ---- ARP: packets without a flow --------------------------------------------- */

struct arp_ctx {
    struct app_sink sink;
    struct applayer *al;
};

/* An arp event's header: timestamp, event_type and pcap_cnt; the addresses are in
 * the arp object. */
static struct jw *arp_event_begin(struct app_sink *s, const char *event_type, int dir)
{
    (void)dir;
    struct arp_ctx *c = s->ud;
    struct jw *w = c->al->host.jw;
    notes_begin(c->al, true);
    jw_reset(w);
    eve_begin(w, s->now_us, event_type, 0);
    if (c->al->host.packets != NULL)
        jw_u64(w, "pcap_cnt", *c->al->host.packets);
    return w;
}

static void arp_event_note(struct app_sink *s, const char *path, size_t plen)
{
    note_value(((struct arp_ctx *)s->ud)->al, path, plen);
}

static void arp_event_end(struct app_sink *s)
{
    struct arp_ctx *c = s->ud;
    jw_obj_close(c->al->host.jw);
    c->al->arp_events++;
    c->al->host.write(c->al->host.ud, s->now_us);
}

/* ARP anomalies are counted (stats.app_layer.arp.anomaly), not written: no flow. */
static void arp_event_anomaly(struct app_sink *s, int kind, int dir)
{
    (void)dir;
    struct arp_ctx *c = s->ud;
    if (kind >= 0 && kind < ARP_AN_COUNT)
        c->al->arp_anom[kind]++;
}

void applayer_arp(struct applayer *al, const struct pkt *p, uint64_t now_us)
{
    if (al->arp == NULL)
        return;
    struct arp_msg m;
    arp_from_pkt(p, &m);
    struct arp_ctx c = {
        {arp_event_begin, arp_event_end, arp_event_anomaly, arp_event_note, now_us, 0, 0, NULL},
        al};
    c.sink.ud = &c;
    arp_observe(al->arp, &c.sink, &m);
}

/* ---- counters ----------------------------------------------------------------- */

void applayer_stats(const struct applayer *al, struct jw *w)
{
    jw_obj_open(w, "app_layer");
    for (unsigned i = 0; i < NPARSERS; i++) {
        const struct app_parser *p = registry[i].p;
        const struct parser_stats *ps = &al->st[i];
        if (!al->on[i])
            continue;
        jw_obj_open(w, p->name);
        if (p->probe != NULL) {
            jw_u64(w, "flows", ps->flows);
            jw_u64(w, "bytes", ps->bytes);
            jw_u64(w, "gaps", ps->gaps);
            jw_u64(w, "nomem", ps->nomem);
        }
        if (p->datagram != NULL)
            jw_u64(w, "datagrams", ps->datagrams);
        jw_u64(w, "events", ps->events);
        jw_obj_open(w, "anomaly");
        for (int k = 0; k < p->nkinds; k++)
            if (ps->anom[k] != 0)
                jw_u64(w, p->kind_name(k), ps->anom[k]);
        jw_obj_close(w);
        jw_obj_close(w);
    }
    if (al->arp != NULL) {
        jw_obj_open(w, "arp");
        jw_u64(w, "events", al->arp_events);
        jw_obj_open(w, "anomaly");
        for (int k = 0; k < ARP_AN_COUNT; k++)
            if (al->arp_anom[k] != 0)
                jw_u64(w, arp_anomaly_name(k), al->arp_anom[k]);
        jw_obj_close(w);
        jw_obj_close(w);
    }
    uint64_t typed, cached;
    files_magic_stats(&typed, &cached);
    jw_obj_open(w, "files");
    jw_u64(w, "typed", typed);
    jw_u64(w, "type_cache_hits", cached);
    struct files_keep_stats ks;
    files_keep_stats(&ks);
    jw_u64(w, "kept", ks.kept);
    jw_u64(w, "kept_cut_size", ks.cut_size);
    jw_u64(w, "kept_cut_total", ks.cut_total);
    jw_u64(w, "kept_cut_other", ks.cut_other);
    jw_u64(w, "kept_bytes", ks.bytes_now);
    jw_obj_close(w);
    tls_cert_cache_counts(&typed, &cached);
    jw_obj_open(w, "tls_certs");
    jw_u64(w, "decoded", typed);
    jw_u64(w, "cache_hits", cached);
    jw_obj_close(w);
    jw_u64(w, "undecided", al->undecided);
    jw_u64(w, "probe_nomem", al->probe_nomem);
    jw_obj_close(w);
}

uint64_t applayer_events(const struct applayer *al, const char *name)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < NPARSERS; i++)
        if (strcmp(registry[i].p->name, name) == 0)
            n += al->st[i].events;
    return n;
}
