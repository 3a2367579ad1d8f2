/*
 * Traffic anomalies (issue 4, `anomaly`, 2000801 / 2000802): a device whose traffic or
 * connection rate is far above its own usual level.
 *
 * Per internal device, two per-minute figures: bytes sent out of home_net (a flow's
 * bytes from the device's side, counted when the flow ends) and new connections the
 * device opened to addresses outside home_net (flows it started; internal scans are
 * recon's, scan.c). Each has an EWMA mean and an EWMA
 * of the absolute deviation from it (α = 1 / the learning period in minutes, so the
 * "usual level" is about the last learning period's). A device is judged once it has
 * been tracked for detect.anomaly.learn; a minute is anomalous when its figure is above
 * detect.anomaly.factor × (mean + deviation) AND above the absolute floor
 * (detect.anomaly.bytes_floor, conns_floor): a quiet device that sends 2 MB once is
 * not an alert. Anomalous minutes do not teach the usual level (a sustained episode
 * does not become normal while it lasts); every other minute does, empty ones included.
 *
 * An episode is a run of anomalous minutes with at most EP_GAP normal minutes between
 * them; it raises one occurrence when it ends (or when detect.aggregate_max_span old):
 * count = anomalous minutes, evidence = peak, total, usual level, factor and the
 * destination that received the most in the peak minute.
 *
 * Bytes of a flow that lasted more than a minute count as its average per-minute rate
 * (bytes × 60 s / duration) in the minute it ends: the pipeline reports a flow's bytes
 * only at its end, and a long steady upload must not look like one huge minute.
 *
 * The pipeline reports a flow when it ends, up to flow.timeout.tcp_closed (60 s) after
 * its last packet: so each device keeps its last RING minutes open, a flow's bytes go
 * to the minute of its last packet (or the oldest open minute when that one is
 * judged already), and a minute is judged once RING - 1 newer minutes have begun
 * (alerts come about RING minutes late; they are aggregated anyway).
 *
 * Minutes close lazily (the next flow of the device) and, for every device, once per
 * minute of packet time in det_anomaly_housekeep. The table is a fixed array of
 * detect.anomaly.max_devices entries (open addressing, 8 probes; the least recently
 * active entry of the probe run replaced, counted in anomaly_evicted).
 */
#include "detect/detect_int.h"

#include "output/eve.h"
#include "otasuke/alloc.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PROBES 8
#define MINUTE_US 60000000ull
#define EP_GAP 2 /* normal minutes an episode may pause for */
#define RING 4   /* minutes kept open per device (> flow.timeout.tcp_closed) */

enum { M_BYTES = 0, M_CONNS, M_COUNT };

struct episode {
    uint64_t start_min, last_min; /* minute indexes; minutes == 0: none open */
    uint32_t minutes;
    uint64_t peak, total;
    double usual; /* the usual level at the peak */
    struct addr top;
    uint16_t top_port;
    uint8_t top_proto;
    bool has_top;
};

/* One minute's figures. */
struct bin {
    uint64_t v[M_COUNT];
    /* the destination that received the most bytes in the minute */
    struct addr top;
    uint16_t top_port;
    uint8_t top_proto;
    uint64_t top_bytes;
    /* the destination of the minute's latest new connection */
    struct addr conn_dst;
    uint16_t conn_port;
    uint8_t conn_proto;
};

struct adev {
    bool used;
    uint8_t ipver;
    struct addr a;
    uint64_t first_min, minute; /* first minute seen; the newest open minute */
    uint64_t last_us;           /* latest activity (LRU) */
    uint64_t flow_id;
    struct bin bin[RING]; /* minute m in bin[m % RING], for m in (minute - RING, minute] */
    double mean[M_COUNT], dev[M_COUNT];
    uint32_t learned; /* minutes judged */
    struct episode ep[M_COUNT];
};

struct det_anomaly {
    struct adev *t;
    /* a bit per entry of t, set whenever dev_find hands the entry out (activity) and
     * cleared by the minute's walk once the entry is idle and judged: the walk visits
     * only set bits, not every entry (n of them, two cache lines each, every minute of
     * packet time: the walk was the detections' largest per-minute cost and the one
     * most slowed by what else filled the CPU's caches) */
    uint64_t *live;
    unsigned n; /* power of two */
    uint64_t walked_min;
    double alpha;
    uint32_t learn_min;
};

struct det_anomaly *det_anomaly_new(const struct sensor_conf *c)
{
    struct det_anomaly *an = xcalloc(MEM_CORE, 1, sizeof(*an));
    if (an == NULL)
        return NULL;
    an->n = 16;
    while (an->n < (uint64_t)c->detect_anomaly_max_devices && an->n < (1u << 30))
        an->n <<= 1;
    an->learn_min = (uint32_t)(c->detect_anomaly_learn / MINUTE_US);
    if (an->learn_min < 1)
        an->learn_min = 1;
    an->alpha = 1.0 / an->learn_min;
    if (c->detect_anomaly) {
        an->t = xcalloc(MEM_CORE, an->n, sizeof(*an->t));
        an->live = xcalloc(MEM_CORE, (an->n + 63) / 64, sizeof(*an->live));
        if (an->t == NULL || an->live == NULL) {
            xfree(an->t);
            xfree(an->live);
            xfree(an);
            return NULL;
        }
    }
    return an;
}

void det_anomaly_free(struct det_anomaly *an)
{
    if (an == NULL)
        return;
    xfree(an->t);
    xfree(an->live);
    xfree(an);
}

static void mark_live(struct det_anomaly *an, const struct adev *t)
{
    size_t i = (size_t)(t - an->t);
    an->live[i / 64] |= 1ULL << (i % 64);
}

static struct adev *dev_find(struct detect *d, const struct addr *a, uint8_t ipver, uint64_t ts)
{
    struct det_anomaly *an = d->anomaly;
    unsigned h = (unsigned)siphash24(&d->hk, a->b, sizeof(a->b));
    struct adev *victim = NULL;
    for (unsigned k = 0; k < PROBES; k++) {
        struct adev *t = &an->t[(h + k) & (an->n - 1)];
        if (t->used && memcmp(&t->a, a, sizeof(*a)) == 0) {
            mark_live(an, t);
            return t;
        }
        if (victim == NULL || (victim->used && (!t->used || t->last_us < victim->last_us)))
            victim = t;
    }
    mark_live(an, victim);
    if (victim->used)
        d->anomaly_evicted++;
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->a = *a;
    victim->ipver = ipver;
    victim->first_min = ts / MINUTE_US;
    victim->minute = victim->first_min;
    victim->last_us = ts;
    return victim;
}

static void raise_episode(struct detect *d, struct adev *t, int m)
{
    struct episode *e = &t->ep[m];
    const struct sensor_conf *c = d->conf;
    char ev[DET_EVIDENCE_MAX], ip[EVE_ADDR_LEN];
    int n;
    double factor = e->usual > 0 ? (double)e->peak / e->usual : 0;
    const char *metric = m == M_BYTES ? "bytes_out" : "new_connections";
    unsigned long long floor =
        m == M_BYTES ? (unsigned long long)c->detect_anomaly_bytes_floor
                     : (unsigned long long)c->detect_anomaly_conns_floor;
    n = snprintf(ev, sizeof(ev),
                 "{\"metric\":\"%s\",\"minutes\":%u,\"peak_per_minute\":%llu,"
                 "\"usual_per_minute\":%.0f,\"factor\":%.1f,\"total\":%llu,"
                 "\"threshold_factor\":%lld,\"floor_per_minute\":%llu",
                 metric, e->minutes, (unsigned long long)e->peak, e->usual, factor,
                 (unsigned long long)e->total, (long long)c->detect_anomaly_factor, floor);
    if (n > 0 && (size_t)n < sizeof(ev) && e->has_top)
        n += snprintf(ev + n, sizeof(ev) - (size_t)n,
                      det_addr_is_v4(&e->top) ? ",\"%s\":\"%s:%u\"" : ",\"%s\":\"[%s]:%u\"",
                      m == M_BYTES ? "top_dest" : "last_dest",
                      eve_addr_str(&e->top, ip, sizeof(ip)), e->top_port);
    if (n > 0 && (size_t)n + 1 < sizeof(ev)) {
        ev[n++] = '}';
        ev[n] = '\0';
    } else {
        n = 0;
    }
    struct det_alert a = {.sig = m == M_BYTES ? SIG_ANOMALY_BYTES : SIG_ANOMALY_CONNS,
                          .ts = e->start_min * MINUTE_US,
                          .last = (e->last_min + 1) * MINUTE_US - 1,
                          .count = e->minutes,
                          .flow_id = t->flow_id,
                          .src = t->a,
                          .dst = e->has_top ? e->top : t->a,
                          .dport = e->has_top ? e->top_port : 0,
                          .proto = e->has_top ? e->top_proto : 0,
                          .ipver = t->ipver,
                          .target = 1 + (uint64_t)m, /* one episode, whatever the dests */
                          .dir = DET_OUTBOUND + 1,
                          .evidence = n > 0 ? ev : NULL,
                          .evidence_len = (size_t)n};
    det_raise(d, &a);
    memset(e, 0, sizeof(*e));
}

/* Judges metric m of minute `min` of t (its figures in b); true when anomalous. */
static bool judge(struct detect *d, struct adev *t, int m, const struct bin *b, uint64_t min)
{
    uint64_t x = b->v[m];
    const struct sensor_conf *c = d->conf;
    struct det_anomaly *an = d->anomaly;
    struct episode *e = &t->ep[m];
    uint64_t floor = m == M_BYTES ? c->detect_anomaly_bytes_floor
                                  : (uint64_t)c->detect_anomaly_conns_floor;
    double usual = t->mean[m] + t->dev[m];
    bool bad = t->learned >= an->learn_min && x >= floor &&
               (double)x > (double)c->detect_anomaly_factor * usual;
    if (bad) {
        if (e->minutes == 0)
            e->start_min = min;
        e->last_min = min;
        e->minutes++;
        e->total += x;
        if (x > e->peak) {
            e->peak = x;
            e->usual = usual;
            if (m == M_BYTES) {
                e->has_top = b->top_bytes > 0;
                e->top = b->top;
                e->top_port = b->top_port;
                e->top_proto = b->top_proto;
            } else {
                e->has_top = b->conn_proto != 0;
                e->top = b->conn_dst;
                e->top_port = b->conn_port;
                e->top_proto = b->conn_proto;
            }
        }
        return true;
    }
    double dx = (double)x - t->mean[m];
    t->mean[m] += an->alpha * dx;
    t->dev[m] += an->alpha * (fabs(dx) - t->dev[m]);
    return false;
}

/* Ends an open episode of t that paused for more than EP_GAP minutes before `min`, or
 * is aggregate_max_span old. */
static void episode_check(struct detect *d, struct adev *t, uint64_t min)
{
    uint64_t span_min = d->conf->detect_agg_max_span / MINUTE_US;
    for (int m = 0; m < M_COUNT; m++) {
        struct episode *e = &t->ep[m];
        if (e->minutes > 0 &&
            (min > e->last_min + EP_GAP || min >= e->start_min + (span_min ? span_min : 1)))
            raise_episode(d, t, m);
    }
}

/* Judges minute `min` (its figures in b) and the episodes. */
static void judge_minute(struct detect *d, struct adev *t, const struct bin *b, uint64_t min)
{
    for (int m = 0; m < M_COUNT; m++)
        judge(d, t, m, b, min);
    t->learned++;
    episode_check(d, t, min + 1);
}

/* k empty minutes ending with minute `last`: never anomalous (the floors are >= 1), so
 * in closed form (r = 1 - α): mean_k = r^k mean, dev_k = r^k dev + α k r^(k-1) mean.
 * A loop over them was a third of the sensor's time on the benchmark capture, whose
 * packet time jumps by days between its parts. */
static void judge_empty(struct detect *d, struct adev *t, uint64_t k, uint64_t last)
{
    if (k == 0)
        return;
    double r = 1.0 - d->anomaly->alpha, rk = pow(r, (double)k);
    for (int m = 0; m < M_COUNT; m++) {
        t->dev[m] = rk * t->dev[m] + d->anomaly->alpha * (double)k * (rk / r) * t->mean[m];
        t->mean[m] *= rk;
    }
    t->learned = k > UINT32_MAX - t->learned ? UINT32_MAX : t->learned + (uint32_t)k;
    episode_check(d, t, last + 1);
}

/* Opens minute now_min of t: the minutes leaving the window of RING are judged. */
static void dev_advance(struct detect *d, struct adev *t, uint64_t now_min)
{
    if (now_min <= t->minute)
        return;
    uint64_t from = t->minute + 1 >= RING ? t->minute + 1 - RING : 0; /* oldest open */
    uint64_t to = now_min + 1 >= RING ? now_min + 1 - RING : 0;       /* judge [from, to) */
    uint64_t m = from;
    for (; m < to && m <= t->minute; m++) { /* the open bins, in order */
        struct bin *b = &t->bin[m % RING];
        if (m >= t->first_min)
            judge_minute(d, t, b, m);
        memset(b, 0, sizeof(*b));
    }
    if (m < t->first_min)
        m = t->first_min;
    if (m < to) /* empty minutes teach the usual level too */
        judge_empty(d, t, to - m, to - 1);
    for (uint64_t k = t->minute + 1; k <= now_min && k + RING > now_min; k++)
        memset(&t->bin[k % RING], 0, sizeof(t->bin[0]));
    t->minute = now_min;
}

/* The open bin of t for packet time ts (the oldest open one when ts's is judged). */
static struct bin *dev_bin(struct detect *d, struct adev *t, uint64_t ts)
{
    uint64_t min = ts / MINUTE_US;
    dev_advance(d, t, min);
    if (min + RING <= t->minute)
        min = t->minute + 1 - RING;
    return &t->bin[min % RING];
}

void det_anomaly_flow_new(struct detect *d, const struct flow *f, const struct pkt *p)
{
    struct det_anomaly *an = d->anomaly;
    if (an == NULL || an->t == NULL || !det_is_home(d, &p->src) || det_is_home(d, &p->dst))
        return;
    struct adev *t = dev_find(d, &p->src, p->ipver, p->ts_us);
    struct bin *b = dev_bin(d, t, p->ts_us);
    b->v[M_CONNS]++;
    b->conn_dst = p->dst;
    b->conn_port = p->dport;
    b->conn_proto = p->proto;
    if (p->ts_us > t->last_us)
        t->last_us = p->ts_us;
    t->flow_id = f->flow_id;
}

void det_anomaly_flow_end(struct detect *d, const struct flow *f)
{
    struct det_anomaly *an = d->anomaly;
    if (an == NULL || an->t == NULL)
        return;
    bool ch = det_is_home(d, &f->key.src), sh = det_is_home(d, &f->key.dst);
    if (ch == sh)
        return; /* internal traffic, or none of ours */
    const struct addr *dev = ch ? &f->key.src : &f->key.dst;
    uint64_t bytes = f->bytes[ch ? FLOW_TOSERVER : FLOW_TOCLIENT];
    if (bytes == 0)
        return;
    uint64_t dur = f->ts_last > f->ts_start ? f->ts_last - f->ts_start : 0;
    if (dur > MINUTE_US)
        bytes = (uint64_t)((double)bytes * (double)MINUTE_US / (double)dur);
    struct adev *t = dev_find(d, dev, f->ipver, f->ts_last);
    struct bin *b = dev_bin(d, t, f->ts_last);
    b->v[M_BYTES] += bytes;
    if (f->ts_last > t->last_us)
        t->last_us = f->ts_last;
    if (bytes > b->top_bytes) {
        b->top_bytes = bytes;
        b->top = ch ? f->key.dst : f->key.src;
        b->top_port = ch ? f->key.dport : f->key.sport;
        b->top_proto = f->key.proto;
        t->flow_id = f->flow_id;
    }
}

void det_anomaly_housekeep(struct detect *d, uint64_t now, bool all)
{
    struct det_anomaly *an = d->anomaly;
    if (an == NULL || an->t == NULL)
        return;
    uint64_t min = now / MINUTE_US;
    if (!all && min <= an->walked_min)
        return;
    an->walked_min = min;
    for (unsigned i = 0; i < an->n; i++) {
        uint64_t *word = &an->live[i / 64];
        if (!all && (*word >> (i % 64)) == 0) {
            i |= 63; /* no live entry in the rest of this word */
            continue;
        }
        if (!all && (*word >> (i % 64) & 1) == 0)
            continue;
        struct adev *t = &an->t[i];
        if (!t->used) {
            *word &= ~(1ULL << (i % 64));
            continue;
        }
        /* idle and judged (no open episode, nothing in the open minutes): its empty
         * minutes are taught lazily, in closed form, when it is next active; walking
         * every device every minute was 10% of the sensor's time on the benchmark. It
         * stays so until dev_find hands it out again, which marks it live. */
        if (!all && t->ep[M_BYTES].minutes == 0 && t->ep[M_CONNS].minutes == 0 &&
            t->last_us / MINUTE_US + RING <= t->minute) {
            *word &= ~(1ULL << (i % 64));
            continue;
        }
        dev_advance(d, t, min);
        if (all) { /* end of input: judge the open minutes, end open episodes */
            dev_advance(d, t, min + RING);
            for (int m = 0; m < M_COUNT; m++)
                if (t->ep[m].minutes > 0)
                    raise_episode(d, t, m);
        }
    }
}
