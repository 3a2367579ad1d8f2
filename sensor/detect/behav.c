/*
 * Behaviour detections: scans (vertical, horizontal, ICMP echo sweeps) weighed
 * TRW-style, C&C connection bursts, land attacks.
 *
 * Scans: per source address, a tracker counts its first contacts with distinct
 * targets (address, port, protocol) at flow end, when the outcome is known. A
 * failed first contact (no answer, RST, a half-open SYN/SYN-ACK/RST, an unanswered
 * UDP datagram or echo request) adds 1 to the score, a successful one (the client
 * sent data, a UDP or echo answer) subtracts 1. With Jung et al.'s parameters
 * (theta0 = 0.8, theta1 = 0.2) both steps weigh ln 4, so the integer score is the
 * log-likelihood ratio in units of ln 4, and detect.scan.failures = 4 is about
 * their eta1 = 99 (ln 99 / ln 4 = 3.3). A busy server's clients succeed and never
 * reach it. When a source has been idle for detect.scan.idle the tracker is judged:
 * score >= detect.scan.failures and targets >= the minimum (inbound sources
 * detect.scan.min_targets_inbound, internal ones detect.scan.min_targets) raise one
 * alert for the whole scan. Distinct targets are counted in fixed bitmaps (linear
 * counting; collisions undercount slightly, never overcount).
 *
 * Bursts: per (internal device, external address, port), new TCP connections whose
 * gaps are at most detect.c2_burst.gap form a burst; one of at least
 * detect.c2_burst.min_connections that lasted at most detect.c2_burst.window raises
 * one alert when it ends.
 *
 * Both tables are fixed arrays (open addressing, 8 probes, the oldest entry of the
 * probe run replaced when full).
 */
#include "detect/detect_int.h"

#include "output/eve.h"
#include "otasuke/alloc.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define TBITS 1024 /* target bitmap */
#define HBITS 256  /* host bitmap */
#define PBITS 1024 /* port bitmap */
#define ABITS 256  /* answered ARP targets */
#define PROBES 8

struct scan_src {
    bool used;
    uint8_t ipver;
    struct addr src;
    uint64_t first, last, touched, flow_id;
    int32_t score;
    uint32_t attempts, fails, succ, targets, hosts, ports, icmp, arp;
    struct addr first_dst;
    uint16_t first_dport;
    uint8_t first_proto;
    uint64_t tbits[TBITS / 64], hbits[HBITS / 64], pbits[PBITS / 64];
    uint64_t abits[ABITS / 64]; /* ARP targets that answered */
};

struct burst {
    bool used;
    uint8_t ipver;
    struct addr src, dst;
    uint16_t dport, sport;
    uint64_t first, last, flow_id;
    uint32_t count;
};

struct det_behav {
    struct scan_src *scan;
    unsigned nscan;
    struct burst *burst;
    unsigned nburst;
    /* Housekeeping walks a table only once its earliest deadline has come (0: walk
     * at the next call): a lower bound, lowered when an entry is made or touched
     * and recomputed by the walk. Walking 24k slots every second of packet time
     * was 11% of the sensor's time on the benchmark capture. */
    uint64_t scan_due, burst_due;
    /* Bit i set: slot i is used. The walks visit used slots only, in slot order: most
     * slots are free, and testing each one's `used` (a cache miss per slot) was still
     * 8.7% of the sensor's time on the benchmark capture with the deadlines above. */
    uint64_t *scan_bits, *burst_bits;
};

static void slot_mark(uint64_t *bits, unsigned i, bool used)
{
    if (used)
        bits[i / 64] |= 1ull << (i % 64);
    else
        bits[i / 64] &= ~(1ull << (i % 64));
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static unsigned pow2(int64_t n)
{
    unsigned v = 16;
    while (v < (uint64_t)n && v < (1u << 30))
        v <<= 1;
    return v;
}

struct det_behav *det_behav_new(const struct sensor_conf *c)
{
    struct det_behav *b = xcalloc(MEM_CORE, 1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->nscan = pow2(c->detect_scan_max_sources);
    b->nburst = pow2(c->detect_burst_max_trackers);
    b->scan = c->detect_scan ? xcalloc(MEM_CORE, b->nscan, sizeof(*b->scan)) : NULL;
    b->burst = c->detect_c2_burst ? xcalloc(MEM_CORE, b->nburst, sizeof(*b->burst)) : NULL;
    b->scan_bits = xcalloc(MEM_CORE, b->nscan / 64 + 1, sizeof(uint64_t));
    b->burst_bits = xcalloc(MEM_CORE, b->nburst / 64 + 1, sizeof(uint64_t));
    if ((c->detect_scan && b->scan == NULL) || (c->detect_c2_burst && b->burst == NULL) ||
        b->scan_bits == NULL || b->burst_bits == NULL) {
        det_behav_free(b);
        return NULL;
    }
    return b;
}

void det_behav_free(struct det_behav *b)
{
    if (b == NULL)
        return;
    xfree(b->scan);
    xfree(b->burst);
    xfree(b->scan_bits);
    xfree(b->burst_bits);
    xfree(b);
}

static bool is_multicast(const struct addr *a)
{
    if (det_addr_is_v4(a))
        return a->b[12] >= 224 || (a->b[15] == 255); /* multicast, broadcast, x.x.x.255 */
    return a->b[0] == 0xff;
}

/* Sets bit h % nbits; true when it was clear. */
static bool bit_set(uint64_t *bits, unsigned nbits, uint64_t h)
{
    unsigned i = (unsigned)(h % nbits);
    uint64_t m = 1ull << (i % 64);
    if (bits[i / 64] & m)
        return false;
    bits[i / 64] |= m;
    return true;
}

static bool bit_test(const uint64_t *bits, unsigned nbits, uint64_t h)
{
    unsigned i = (unsigned)(h % nbits);
    return (bits[i / 64] >> (i % 64)) & 1;
}

/* ---- land ------------------------------------------------------------------------ */

static bool is_loopback(const struct addr *a)
{
    static const uint8_t v6_lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return det_addr_is_v4(a) ? a->b[12] == 127 : memcmp(a->b, v6_lo, 16) == 0;
}

/* Same source and destination address and port (the classic LAND packet loops back
 * into the victim's own socket), TCP or UDP. Loopback is left out: captures of a host's
 * own loopback interface are full of it and it never crosses a wire. A host talking to
 * itself from one port to another (a local database or proxy seen on a capture
 * interface) is not an attack: 9 of the 14 land alerts over the 907 benign corpus
 * captures were such, the other 5 had no ports (ICMPv6, fuzzed packets). */
static void land(struct detect *d, const struct flow *f, const struct pkt *p)
{
    if (memcmp(&p->src, &p->dst, sizeof(p->src)) != 0 || is_loopback(&p->src) ||
        (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || p->sport != p->dport)
        return;
    char ev[160], ip[EVE_ADDR_LEN];
    int n = snprintf(ev, sizeof(ev), "{\"address\":\"%s\",\"sport\":%u,\"dport\":%u}",
                     eve_addr_str(&p->src, ip, sizeof(ip)), p->sport, p->dport);
    struct det_alert a = {.sig = SIG_LAND, .ts = p->ts_us, .flow_id = f->flow_id,
                          .src = p->src, .dst = p->dst, .sport = p->sport, .dport = p->dport,
                          .proto = p->proto, .ipver = p->ipver, .evidence = ev,
                          .evidence_len = n > 0 ? (size_t)n : 0};
    det_raise(d, &a);
}

/* ---- bursts ------------------------------------------------------------------------ */

static void burst_end(struct detect *d, struct burst *b)
{
    const struct sensor_conf *c = d->conf;
    if (b->count >= (uint64_t)c->detect_burst_min && b->last - b->first <= c->detect_burst_window) {
        char ev[200], ip[EVE_ADDR_LEN];
        double secs = (double)(b->last - b->first) / 1e6;
        const char *dst = eve_addr_str(&b->dst, ip, sizeof(ip));
        int n = snprintf(ev, sizeof(ev),
                         det_addr_is_v4(&b->dst)
                             ? "{\"connections\":%u,\"seconds\":%.1f,\"dest\":\"%s:%u\"}"
                             : "{\"connections\":%u,\"seconds\":%.1f,\"dest\":\"[%s]:%u\"}",
                         b->count, secs, dst, b->dport);
        struct det_alert a = {.sig = SIG_C2_BURST, .ts = b->first, .last = b->last,
                              .count = b->count, .flow_id = b->flow_id, .src = b->src,
                              .dst = b->dst, .sport = b->sport, .dport = b->dport,
                              .proto = IPPROTO_TCP, .ipver = b->ipver, .evidence = ev,
                              .evidence_len = n > 0 ? (size_t)n : 0};
        det_raise(d, &a);
    }
    b->used = false;
    slot_mark(d->behav->burst_bits, (unsigned)(b - d->behav->burst), false);
}

static void burst_new(struct detect *d, const struct flow *f, const struct pkt *p)
{
    struct det_behav *bh = d->behav;
    if (bh->burst == NULL || p->proto != IPPROTO_TCP || (p->tcp_flags & (TH_SYN | TH_ACK)) != TH_SYN ||
        !det_is_home(d, &p->src) || det_is_home(d, &p->dst) || is_multicast(&p->dst))
        return;
    struct {
        struct addr s, t;
        uint16_t port;
    } key;
    memset(&key, 0, sizeof(key));
    key.s = p->src;
    key.t = p->dst;
    key.port = p->dport;
    unsigned h = (unsigned)siphash24(&d->hk, &key, sizeof(key));
    struct burst *victim = NULL;
    for (unsigned k = 0; k < PROBES; k++) {
        struct burst *b = &bh->burst[(h + k) & (bh->nburst - 1)];
        if (b->used && b->dport == p->dport && memcmp(&b->src, &p->src, sizeof(p->src)) == 0 &&
            memcmp(&b->dst, &p->dst, sizeof(p->dst)) == 0) {
            if (p->ts_us - b->last <= d->conf->detect_burst_gap) {
                b->count++;
                b->last = p->ts_us;
                return;
            }
            burst_end(d, b);
            victim = b;
            break;
        }
        if (victim == NULL || (victim->used && (!b->used || b->last < victim->last)))
            victim = b;
    }
    if (victim->used)
        burst_end(d, victim);
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    slot_mark(bh->burst_bits, (unsigned)(victim - bh->burst), true);
    victim->src = p->src;
    victim->dst = p->dst;
    victim->dport = p->dport;
    victim->sport = p->sport;
    victim->ipver = p->ipver;
    victim->first = victim->last = p->ts_us;
    victim->flow_id = f->flow_id;
    victim->count = 1;
    bh->burst_due = min_u64(bh->burst_due, p->ts_us + d->conf->detect_burst_gap);
}

void det_behav_flow_new(struct detect *d, const struct flow *f, const struct pkt *p)
{
    if (d->conf->detect_land)
        land(d, f, p);
    burst_new(d, f, p);
}

/* ---- scans ------------------------------------------------------------------------ */

/* The outcome of flow f as a first contact: 1 failed, -1 succeeded, 0 not a probe. */
static int outcome(const struct flow *f)
{
    const struct flow_key *k = &f->key;
    if (k->proto == IPPROTO_TCP) {
        if (!(f->flags & FLOW_F_SYN_TS) || (f->flags & (FLOW_F_MIDSTREAM | FLOW_F_REVERSED)))
            return 0;
        uint8_t ts = f->tcp_flags[FLOW_TOSERVER], tc = f->tcp_flags[FLOW_TOCLIENT];
        if ((tc & (TH_SYN | TH_ACK)) != (TH_SYN | TH_ACK))
            return 1; /* no answer, or RST */
        return (ts & TH_PSH) || f->pkts[FLOW_TOSERVER] > 3 ? -1 : 1; /* half-open: fails */
    }
    if (k->proto == IPPROTO_UDP)
        return f->pkts[FLOW_TOCLIENT] > 0 ? -1 : 1;
    if ((k->proto == IPPROTO_ICMP && f->icmp_type == 8) ||
        (k->proto == IPPROTO_ICMPV6 && f->icmp_type == 128))
        return f->pkts[FLOW_TOCLIENT] > 0 ? -1 : 1;
    return 0;
}

static uint64_t target_hash(struct detect *d, const struct addr *a, uint16_t port,
                            uint8_t proto)
{
    struct {
        struct addr a;
        uint16_t port;
        uint8_t proto;
    } t;
    memset(&t, 0, sizeof(t));
    t.a = *a;
    t.port = port;
    t.proto = proto;
    return siphash24(&d->hk, &t, sizeof(t));
}

/* The tracker of src, or NULL. */
static struct scan_src *scan_lookup(struct detect *d, const struct addr *src)
{
    struct det_behav *bh = d->behav;
    unsigned h = (unsigned)siphash24(&d->hk, src->b, sizeof(src->b));
    for (unsigned k = 0; k < PROBES; k++) {
        struct scan_src *s = &bh->scan[(h + k) & (bh->nscan - 1)];
        if (s->used && memcmp(&s->src, src, sizeof(*src)) == 0)
            return s;
    }
    return NULL;
}

static struct scan_src *scan_find(struct detect *d, const struct addr *src)
{
    struct det_behav *bh = d->behav;
    unsigned h = (unsigned)siphash24(&d->hk, src->b, sizeof(src->b));
    struct scan_src *victim = NULL;
    for (unsigned k = 0; k < PROBES; k++) {
        struct scan_src *s = &bh->scan[(h + k) & (bh->nscan - 1)];
        if (s->used && memcmp(&s->src, src, sizeof(*src)) == 0)
            return s;
        if (victim == NULL || (victim->used && (!s->used || s->touched < victim->touched)))
            victim = s;
    }
    memset(victim, 0, sizeof(*victim)); /* a full run drops its oldest source unjudged */
    victim->used = true;
    slot_mark(bh->scan_bits, (unsigned)(victim - bh->scan), true);
    victim->src = *src;
    return victim;
}

static void scan_judge(struct detect *d, struct scan_src *s)
{
    const struct sensor_conf *c = d->conf;
    bool inbound = !det_is_home(d, &s->src);
    if (det_policy_is_p2p(d, &s->src, s->last)) { /* P2P peers, not a scan (policy.c) */
        d->p2p_scans_ignored++;
        s->used = false;
        slot_mark(d->behav->scan_bits, (unsigned)(s - d->behav->scan), false);
        return;
    }
    uint32_t min = (uint32_t)(inbound ? c->detect_scan_min_inbound : c->detect_scan_min_targets);
    if (s->arp == s->targets && s->arp > 0)
        min = (uint32_t)c->detect_scan_min_arp; /* only ARP asked */
    if (s->score >= c->detect_scan_failures && s->targets >= min) {
        enum det_sig sig = s->icmp == s->targets        ? SIG_SCAN_ICMP
                           : s->ports >= s->hosts        ? SIG_SCAN_PORTS
                                                         : SIG_SCAN_HOSTS;
        char ev[320], ip[EVE_ADDR_LEN];
        int n = snprintf(ev, sizeof(ev),
                         "{\"attempts\":%u,\"failed\":%u,\"succeeded\":%u,\"targets\":%u,"
                         "\"hosts\":%u,\"ports\":%u,\"score\":%d,\"seconds\":%.1f,"
                         "\"first_target\":\"%s\"%s%.0u}",
                         s->attempts, s->fails, s->succ, s->targets, s->hosts, s->ports, s->score,
                         (double)(s->last - s->first) / 1e6,
                         eve_addr_str(&s->first_dst, ip, sizeof(ip)),
                         s->arp ? ",\"arp\":" : "", s->arp);
        bool arp_first = s->arp != 0 && s->first_proto == 0;
        struct det_alert a = {.sig = sig, .ts = s->first, .last = s->last, .count = s->attempts,
                              .flow_id = s->flow_id, .src = s->src, .dst = s->first_dst,
                              .dport = s->first_dport, .proto = s->first_proto,
                              .ipver = s->ipver, .app_proto = arp_first ? "arp" : NULL,
                              .target = 1, .evidence = ev, .evidence_len = n > 0 ? (size_t)n : 0};
        det_raise(d, &a);
    }
    s->used = false;
    slot_mark(d->behav->scan_bits, (unsigned)(s - d->behav->scan), false);
}

/* When housekeeping judges s if nothing touches it again. */
static uint64_t scan_deadline(const struct sensor_conf *c, const struct scan_src *s)
{
    return min_u64(s->touched + c->detect_scan_idle, s->first + c->detect_agg_max_span);
}

/* One probe of source src: its target (dst, port, proto) and when. The caller weighs
 * it with scan_weigh when it is a first contact (true returned). */
struct probe {
    const struct addr *src, *dst;
    uint16_t port;
    uint8_t proto, ipver;
    bool icmp, arp;
    uint64_t ts, last, flow_id;
};

static struct scan_src *scan_probe(struct detect *d, const struct probe *pr, bool *first)
{
    struct scan_src *s = scan_find(d, pr->src);
    if (s->attempts == 0)
        s->first = pr->ts;
    if (s->attempts == 0 || (s->first_proto == 0 && !pr->arp)) { /* an IP probe names it */
        s->flow_id = pr->flow_id;
        s->first_dst = *pr->dst;
        s->first_dport = pr->port;
        s->first_proto = pr->proto;
        s->ipver = pr->ipver;
    }
    if (pr->ts < s->first)
        s->first = pr->ts;
    if (pr->ts > s->last)
        s->last = pr->ts;
    s->touched = d->now > pr->last ? d->now : pr->last;
    s->attempts++;
    d->behav->scan_due = min_u64(d->behav->scan_due, scan_deadline(d->conf, s));
    *first = bit_set(s->tbits, TBITS, target_hash(d, pr->dst, pr->port, pr->proto));
    if (!*first)
        return s; /* a repeat: only first contacts weigh */
    s->targets++;
    s->icmp += pr->icmp;
    s->arp += pr->arp;
    if (bit_set(s->hbits, HBITS, siphash24(&d->hk, pr->dst->b, sizeof(pr->dst->b))))
        s->hosts++;
    if (!pr->icmp && !pr->arp &&
        bit_set(s->pbits, PBITS, (uint64_t)pr->port * 0x9e3779b97f4a7c15ull >> 20))
        s->ports++;
    return s;
}

/* A failed first contact (o > 0) or a successful one. */
static void scan_weigh(struct detect *d, struct scan_src *s, int o)
{
    if (o > 0) {
        s->fails++;
        s->score++;
    } else {
        s->succ++;
        /* TRW decides "benign" at the lower threshold; here the score stops there, so
         * that a device that was busy and fine an hour ago is judged on what it does now */
        if (s->score > -(int32_t)d->conf->detect_scan_failures)
            s->score--;
    }
}

static void scan_flow_end(struct detect *d, const struct flow *f)
{
    if (d->behav->scan == NULL || is_multicast(&f->key.dst))
        return;
    int o = outcome(f);
    if (o == 0)
        return;
    const struct flow_key *k = &f->key;
    bool icmp = k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6, first;
    struct probe pr = {.src = &k->src, .dst = &k->dst, .port = icmp ? 0 : k->dport,
                       .proto = k->proto, .ipver = f->ipver, .icmp = icmp,
                       .ts = f->ts_start, .last = f->ts_last, .flow_id = f->flow_id};
    struct scan_src *s = scan_probe(d, &pr, &first);
    if (first)
        scan_weigh(d, s, o);
}

/* ARP sweeps (nmap -sn on its own LAN sends only ARP): a who-has for a distinct
 * address is a first contact, weighed as failed when sent; the first reply from that
 * address to the asker turns it into a success (-2: undoes the failure and weighs the
 * success). Probes (from 0.0.0.0) and announcements are not asked by the caller. */
void det_behav_arp(struct detect *d, bool request, const struct addr *sender,
                   const struct addr *target, uint64_t ts)
{
    struct det_behav *bh = d->behav;
    if (bh->scan == NULL)
        return;
    if (request) {
        bool first;
        struct probe pr = {.src = sender, .dst = target, .proto = 0, .ipver = 4,
                           .arp = true, .ts = ts, .last = ts};
        struct scan_src *s = scan_probe(d, &pr, &first);
        if (first)
            scan_weigh(d, s, 1);
        return;
    }
    /* a reply: sender answered target's question */
    struct scan_src *s = scan_lookup(d, target);
    if (s == NULL || s->arp == 0)
        return;
    uint64_t h = target_hash(d, sender, 0, 0);
    if (!bit_test(s->tbits, TBITS, h) || !bit_set(s->abits, ABITS, h))
        return; /* not asked by it, or already answered */
    s->fails -= s->fails > 0;
    s->score--;
    scan_weigh(d, s, -1);
}

void det_behav_flow_end(struct detect *d, const struct flow *f)
{
    scan_flow_end(d, f);
}

static void scan_housekeep(struct detect *d, uint64_t now, bool all)
{
    struct det_behav *bh = d->behav;
    uint64_t due = UINT64_MAX;
    for (unsigned w = 0; w < bh->nscan / 64 + 1; w++) {
        for (uint64_t m = bh->scan_bits[w]; m != 0; m &= m - 1) {
            struct scan_src *s = &bh->scan[w * 64 + (unsigned)__builtin_ctzll(m)];
            if (all || now >= scan_deadline(d->conf, s))
                scan_judge(d, s);
            else
                due = min_u64(due, scan_deadline(d->conf, s));
        }
    }
    bh->scan_due = due;
}

static void burst_housekeep(struct detect *d, uint64_t now, bool all)
{
    struct det_behav *bh = d->behav;
    uint64_t gap = d->conf->detect_burst_gap, due = UINT64_MAX;
    for (unsigned w = 0; w < bh->nburst / 64 + 1; w++) {
        for (uint64_t m = bh->burst_bits[w]; m != 0; m &= m - 1) {
            struct burst *b = &bh->burst[w * 64 + (unsigned)__builtin_ctzll(m)];
            if (all || now > b->last + gap)
                burst_end(d, b);
            else
                due = min_u64(due, b->last + gap + 1);
        }
    }
    bh->burst_due = due;
}

void det_behav_housekeep(struct detect *d, uint64_t now, bool all)
{
    struct det_behav *bh = d->behav;
    if (bh->scan != NULL && (all || now >= bh->scan_due))
        scan_housekeep(d, now, all);
    if (bh->burst != NULL && (all || now >= bh->burst_due))
        burst_housekeep(d, now, all);
}
