/*
 * Beaconing (issue 4, `c2`, 2000102): an implant calls home at a fixed period with a
 * little jitter; people and browsers do not.
 *
 * Per (internal device, external address, port, protocol) a tracker keeps the start
 * times of the last BEATS new TCP connections (client SYN) and, with
 * detect.beacon.udp, new UDP flows. Voice, game and NAT keep-alive traffic opens UDP
 * flows at fixed periods by design (discord.pcap: a new source port to the voice
 * server every 60.0 s), so a UDP flow is a beat only when it ends (its bytes and nDPI's
 * verdict known) and it carried at most detect.beacon.udp_max_bytes (both directions,
 * whole frames: a call or a game session carries far more) and nDPI did not name a
 * voice, media, streaming, game or VPN protocol or category (udp_excluded). A UDP
 * beat's time is its flow's start; flows end in timeout order, so a beat older than
 * the tracker's latest is dropped.
 * Connections closer than detect.beacon.min_interval to the previous beat are the
 * same beat (an implant or a browser opening two connections at once). Once the
 * tracker has detect.beacon.min_connections beats, the intervals between them are
 * judged: the median interval must lie within [min_interval, max_interval] and at
 * least three quarters of the intervals within detect.beacon.jitter_pct of it, which
 * tolerates jitter and the odd missed or extra beat, not randomness (exponential
 * gaps put only about a fifth of the intervals that close to their median).
 *
 * A detection raises one occurrence counting the beats so far. When the period is
 * shorter than detect.aggregate_window every later regular beat is one more
 * occurrence (the pending alert stays open and counts them); longer periods are
 * raised again, with the beats since, once detect.aggregate_max_span has passed
 * (one alert per device and destination per span, whatever the period).
 *
 * Left out: devices that speak a P2P protocol (their clients ping peers at a fixed
 * period; policy.c), DNS, NTP, mDNS, NetBIOS, DHCP and SSDP ports (resolvers and time servers
 * are polled regularly by design), multicast and broadcast destinations, and
 * internal destinations.
 *
 * The table is a fixed array of detect.beacon.max_trackers (open addressing, 8
 * probes, the least recently used entry of the probe run replaced and counted in
 * beacon_evicted).
 */
#include "detect/detect_int.h"

#include "app/appid.h"
#include "output/eve.h"
#include "otasuke/alloc.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEATS 16
#define PROBES 8

struct beacon {
    bool used;
    uint8_t ipver, proto;
    uint16_t dport, sport;
    struct addr src, dst;
    uint64_t flow_id;
    uint64_t beat[BEATS]; /* ring of beat start times */
    uint32_t nbeats;      /* beats seen (all time) */
    uint32_t unraised;    /* beats not yet reported */
    uint64_t raised;      /* when last raised (0: never) */
    uint64_t last;        /* latest connection */
};

struct det_beacon {
    struct beacon *t;
    unsigned n; /* power of two */
};

struct det_beacon *det_beacon_new(const struct sensor_conf *c)
{
    struct det_beacon *b = xcalloc(MEM_CORE, 1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->n = 16;
    while (b->n < (uint64_t)c->detect_beacon_max_trackers && b->n < (1u << 30))
        b->n <<= 1;
    b->t = c->detect_beacon ? xcalloc(MEM_CORE, b->n, sizeof(*b->t)) : NULL;
    if (c->detect_beacon && b->t == NULL) {
        xfree(b);
        return NULL;
    }
    return b;
}

void det_beacon_free(struct det_beacon *b)
{
    if (b == NULL)
        return;
    xfree(b->t);
    xfree(b);
}

static bool ignored_port(uint16_t port)
{
    switch (port) {
    case 53:   /* DNS */
    case 67:   /* DHCP */
    case 68:
    case 123:  /* NTP */
    case 137:  /* NetBIOS */
    case 138:
    case 853:  /* DNS over TLS */
    case 1900: /* SSDP */
    case 5353: /* mDNS */
    case 5355: /* LLMNR */
        return true;
    default:
        return false;
    }
}

static bool broadcastish(const struct addr *a)
{
    if (det_addr_is_v4(a))
        return a->b[12] >= 224 || a->b[15] == 255;
    return a->b[0] == 0xff;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Judges the last beats of t: true when regular; *median the period (µs). */
bool det_beacon_regular(const uint64_t *beats, unsigned n, unsigned jitter_pct,
                        uint64_t min_iv, uint64_t max_iv, uint64_t *median)
{
    uint64_t iv[BEATS], sorted[BEATS];
    if (n < 3 || n > BEATS + 1)
        return false;
    unsigned m = n - 1;
    for (unsigned i = 0; i < m; i++) {
        iv[i] = beats[i + 1] - beats[i];
        sorted[i] = iv[i];
    }
    qsort(sorted, m, sizeof(sorted[0]), cmp_u64);
    uint64_t med = sorted[m / 2];
    *median = med;
    if (med < min_iv || med > max_iv)
        return false;
    uint64_t tol = med / 100 * jitter_pct;
    unsigned close = 0;
    for (unsigned i = 0; i < m; i++)
        close += (iv[i] > med ? iv[i] - med : med - iv[i]) <= tol;
    return close * 4 >= m * 3;
}

static void raise_beacon(struct detect *d, struct beacon *t, uint64_t period, uint64_t now)
{
    char ev[240], ip[EVE_ADDR_LEN];
    const char *dst = eve_addr_str(&t->dst, ip, sizeof(ip));
    unsigned k = t->nbeats < BEATS ? t->nbeats : BEATS;
    uint64_t first = t->beat[(t->nbeats - k) % BEATS];
    int n = snprintf(ev, sizeof(ev),
                     det_addr_is_v4(&t->dst)
                         ? "{\"connections\":%u,\"period_seconds\":%.1f,\"jitter_pct\":%d,"
                           "\"dest\":\"%s:%u\"}"
                         : "{\"connections\":%u,\"period_seconds\":%.1f,\"jitter_pct\":%d,"
                           "\"dest\":\"[%s]:%u\"}",
                     t->nbeats, (double)period / 1e6, (int)d->conf->detect_beacon_jitter, dst,
                     t->dport);
    struct det_alert a = {.sig = SIG_C2_BEACON, .ts = t->raised ? t->raised : first,
                          .last = now, .count = t->unraised, .flow_id = t->flow_id,
                          .src = t->src, .dst = t->dst, .sport = t->sport, .dport = t->dport,
                          .proto = t->proto, .ipver = t->ipver, .evidence = ev,
                          .evidence_len = n > 0 && (size_t)n < sizeof(ev) ? (size_t)n : 0};
    det_raise(d, &a);
    t->raised = now;
    t->unraised = 0;
}

/* The tuple a beat is tracked by (device, destination, port, protocol) and its flow. */
struct beat_key {
    const struct addr *src, *dst;
    uint16_t sport, dport;
    uint8_t proto, ipver;
};

static struct beacon *beacon_find(struct detect *d, const struct beat_key *b, bool *fresh)
{
    struct det_beacon *bt = d->beacon;
    struct {
        struct addr s, t;
        uint16_t port;
        uint8_t proto;
    } key;
    memset(&key, 0, sizeof(key));
    key.s = *b->src;
    key.t = *b->dst;
    key.port = b->dport;
    key.proto = b->proto;
    unsigned h = (unsigned)siphash24(&d->hk, &key, sizeof(key));
    struct beacon *victim = NULL;
    *fresh = false;
    for (unsigned k = 0; k < PROBES; k++) {
        struct beacon *t = &bt->t[(h + k) & (bt->n - 1)];
        if (t->used && t->dport == b->dport && t->proto == b->proto &&
            memcmp(&t->src, b->src, sizeof(*b->src)) == 0 &&
            memcmp(&t->dst, b->dst, sizeof(*b->dst)) == 0)
            return t;
        if (victim == NULL || (victim->used && (!t->used || t->last < victim->last)))
            victim = t;
    }
    if (victim->used)
        d->beacon_evicted++;
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->src = *b->src;
    victim->dst = *b->dst;
    victim->dport = b->dport;
    victim->sport = b->sport;
    victim->proto = b->proto;
    victim->ipver = b->ipver;
    *fresh = true;
    return victim;
}

/* Checks shared by TCP and UDP: an internal device to an external unicast address on
 * a port not polled by design, not a P2P device. */
static bool eligible(struct detect *d, const struct addr *src, const struct addr *dst,
                     uint16_t dport, uint64_t ts)
{
    if (ignored_port(dport) || !det_is_home(d, src) || det_is_home(d, dst) || broadcastish(dst))
        return false;
    return !det_policy_is_p2p(d, src, ts); /* P2P clients ping their peers (policy.c) */
}

/* One connection of b at ts: a beat, then the judgement. */
static void beat(struct detect *d, const struct beat_key *b, uint64_t ts, uint64_t flow_id)
{
    const struct sensor_conf *c = d->conf;
    bool fresh;
    struct beacon *t = beacon_find(d, b, &fresh);
    if (ts > t->last)
        t->last = ts;
    if (!fresh) {
        uint64_t prev = t->beat[(t->nbeats - 1) % BEATS];
        if (ts < prev + c->detect_beacon_min_interval)
            return; /* the same beat (or, UDP, an older flow ending late) */
        if (ts > prev + 2 * c->detect_beacon_max_interval) {
            t->nbeats = 0; /* silent too long: a new series */
            t->raised = 0;
            t->unraised = 0;
        }
    }
    t->beat[t->nbeats % BEATS] = ts;
    t->nbeats++;
    t->unraised++;
    t->flow_id = flow_id;
    t->sport = b->sport;
    if (t->nbeats < (uint32_t)c->detect_beacon_min)
        return;
    uint64_t beats[BEATS];
    unsigned k = t->nbeats < BEATS ? t->nbeats : BEATS;
    for (unsigned i = 0; i < k; i++)
        beats[i] = t->beat[(t->nbeats - k + i) % BEATS];
    uint64_t period;
    if (!det_beacon_regular(beats, k, (unsigned)c->detect_beacon_jitter,
                            c->detect_beacon_min_interval, c->detect_beacon_max_interval,
                            &period))
        return;
    /* a period shorter than the aggregation window keeps one pending alert open: every
     * beat is counted in it; longer periods are raised once per aggregate_max_span */
    if (t->raised == 0 || ts >= t->raised + c->detect_agg_max_span ||
        period < c->detect_agg_window)
        raise_beacon(d, t, period, ts);
}

void det_beacon_flow_new(struct detect *d, const struct flow *f, const struct pkt *p)
{
    if (d->beacon == NULL || d->beacon->t == NULL)
        return;
    if (p->proto != IPPROTO_TCP || (p->tcp_flags & (TH_SYN | TH_ACK)) != TH_SYN)
        return;
    if (!eligible(d, &p->src, &p->dst, p->dport, p->ts_us))
        return;
    struct beat_key b = {&p->src, &p->dst, p->sport, p->dport, p->proto, p->ipver};
    beat(d, &b, p->ts_us, f->flow_id);
}

/* nDPI verdicts whose UDP flows are periodic by design: calls, conferencing, media,
 * games, VPNs and NAT traversal (names as appid_proto_name / appid_category_name). */
static bool udp_excluded(const struct detect *d, const struct flow *f)
{
    static const char *const cats[] = {"VoIP", "Media", "Streaming", "Music", "Video", "Game",
                                       "VPN"};
    static const char *const protos[] = {"STUN", "RTP", "RTCP", "SIP", "IPsec", "WireGuard",
                                         "OpenVPN", "Discord", "Zoom", "Skype_Teams",
                                         "WhatsAppCall", "GoogleCall"};
    if (d->appid == NULL || f->app_proto_master + f->app_proto_app + f->app_category == 0)
        return false;
    const char *cn = appid_category_name(d->appid, f->app_category);
    for (size_t i = 0; cn != NULL && i < sizeof(cats) / sizeof(cats[0]); i++)
        if (strcmp(cn, cats[i]) == 0)
            return true;
    const char *an = appid_proto_name(d->appid, f->app_proto_app);
    const char *mn = appid_proto_name(d->appid, f->app_proto_master);
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if ((an != NULL && strcmp(an, protos[i]) == 0) ||
            (mn != NULL && strcmp(mn, protos[i]) == 0))
            return true;
    return false;
}

void det_beacon_flow_end(struct detect *d, const struct flow *f)
{
    const struct sensor_conf *c = d->conf;
    if (d->beacon == NULL || d->beacon->t == NULL || !c->detect_beacon_udp ||
        f->key.proto != IPPROTO_UDP)
        return;
    if (f->bytes[0] + f->bytes[1] > (uint64_t)c->detect_beacon_udp_max_bytes)
        return; /* a call, a game session, a download: not a beat */
    if (!eligible(d, &f->key.src, &f->key.dst, f->key.dport, f->ts_start) ||
        udp_excluded(d, f))
        return;
    struct beat_key b = {&f->key.src, &f->key.dst, f->key.sport, f->key.dport, f->key.proto,
                         f->ipver};
    beat(d, &b, f->ts_start, f->flow_id);
}
