/*
 * Shared by the application-layer parser tests and fuzz harnesses:
 *
 *  - struct test_sink: a `struct app_sink` that keeps every event as a JSON line in a
 *    growing buffer (each with "event_type" and "dir" first), counts anomalies per
 *    kind, and checks the sink contract (begin/end paired, kind and direction in
 *    range): with `strict` a breach abort()s (fuzzing), else it is counted in
 *    `misuse` for a CHECK.
 *  - test_feed_split(): feeds bytes to a stream parser in pseudo-random pieces, each
 *    copied into a buffer of its exact size so that ASan sees any over-read.
 *  - test_pcap_events(): a capture through the sensor's own path (decode, flows, TCP
 *    reassembly, the application-layer dispatcher with every parser that the
 *    configuration enables), the events as JSON lines: for corpus comparisons.
 *
 * Header-only (static functions); include it once per test program.
 */
#ifndef OTASUKE_TESTS_APP_TEST_H
#define OTASUKE_TESTS_APP_TEST_H

#include "app/applayer.h"
#include "app/dispatch.h"
#include "decode/decode.h"
#include "flow/flow.h"
#include "flow/reasm.h"
#include "otasuke/jw.h"

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SINK_MAX_KINDS 64

struct test_sink {
    struct app_sink s; /* first: a struct app_sink * is a struct test_sink * */
    const struct app_parser *p;
    struct jw w;
    char *out; /* events, one JSON line each, NUL-terminated */
    size_t len, cap;
    uint64_t anom[TEST_SINK_MAX_KINDS];
    uint64_t events;
    uint64_t misuse; /* contract breaches seen (non-strict) */
    bool open;       /* between event_begin and event_end */
    bool strict;     /* abort() on a breach */
};

static inline void test_sink_breach(struct test_sink *t)
{
    if (t->strict)
        abort();
    t->misuse++;
}

static inline void test_sink_put(struct test_sink *t, const char *b, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *o = realloc(t->out, cap);
        if (o == NULL)
            abort();
        t->out = o;
        t->cap = cap;
    }
    memcpy(t->out + t->len, b, n);
    t->len += n;
    t->out[t->len] = '\0';
}

static inline struct jw *test_sink_begin(struct app_sink *s, const char *type, int dir)
{
    struct test_sink *t = (struct test_sink *)s;
    if (t->open || (dir != APP_TOSERVER && dir != APP_TOCLIENT) || type == NULL)
        test_sink_breach(t);
    t->open = true;
    jw_reset(&t->w);
    jw_obj_open(&t->w, NULL);
    jw_str(&t->w, "event_type", type);
    jw_u64(&t->w, "dir", (uint64_t)dir);
    return &t->w;
}

static inline void test_sink_end(struct app_sink *s)
{
    struct test_sink *t = (struct test_sink *)s;
    if (!t->open)
        test_sink_breach(t);
    t->open = false;
    jw_obj_close(&t->w);
    if (!jw_ok(&t->w) || t->w.depth != 0) {
        test_sink_breach(t);
        test_sink_put(t, "(bad event)\n", 12);
        return;
    }
    t->events++;
    test_sink_put(t, t->w.buf, t->w.len);
    test_sink_put(t, "\n", 1);
}

static inline void test_sink_anomaly(struct app_sink *s, int kind, int dir)
{
    struct test_sink *t = (struct test_sink *)s;
    if (kind < 0 || kind >= t->p->nkinds || kind >= TEST_SINK_MAX_KINDS ||
        (dir != APP_TOSERVER && dir != APP_TOCLIENT) || t->p->kind_name(kind) == NULL) {
        test_sink_breach(t);
        return;
    }
    t->anom[kind]++;
}

/* Prepares t for parser p (zeroes it; allocates the writer). */
static inline void test_sink_init(struct test_sink *t, const struct app_parser *p, bool strict)
{
    memset(t, 0, sizeof(*t));
    t->p = p;
    t->strict = strict;
    if (jw_init(&t->w, 1024, 1 << 20) != 0)
        abort();
    t->s.event_begin = test_sink_begin;
    t->s.event_end = test_sink_end;
    t->s.anomaly = test_sink_anomaly;
    t->s.ud = t;
}

/* Forgets the events and counts kept so far. */
static inline void test_sink_reset(struct test_sink *t)
{
    t->len = 0;
    if (t->out != NULL)
        t->out[0] = '\0';
    memset(t->anom, 0, sizeof(t->anom));
    t->events = t->misuse = 0;
    t->open = false;
}

static inline void test_sink_free(struct test_sink *t)
{
    jw_free(&t->w);
    free(t->out);
    t->out = NULL;
}

/* The anomaly count of the kind named `name` (0 when no kind has that name). */
static inline uint64_t test_sink_anomalies(const struct test_sink *t, const char *name)
{
    for (int k = 0; k < t->p->nkinds && k < TEST_SINK_MAX_KINDS; k++)
        if (strcmp(t->p->kind_name(k), name) == 0)
            return t->anom[k];
    return 0;
}

static inline uint32_t test_xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Feeds d[0..n) of direction dir to p's state st in pieces of 1..maxpiece bytes,
 * drawn from *rs (a non-zero seed), each in its own exact-size heap copy. */
static inline void test_feed_split(const struct app_parser *p, void *st, struct app_sink *s, int dir,
                            const uint8_t *d, size_t n, uint32_t *rs, size_t maxpiece)
{
    size_t off = 0;
    while (off < n) {
        size_t k = 1 + test_xorshift(rs) % (maxpiece ? maxpiece : 1);
        if (k > n - off)
            k = n - off;
        uint8_t *c = malloc(k);
        if (c == NULL)
            abort();
        memcpy(c, d + off, k);
        p->data(st, s, dir, c, k);
        free(c);
        off += k;
    }
}

/* ---- a capture through the sensor's path ----------------------------------------- */

struct test_pcap_run {
    struct test_sink *out;
    struct jw w;
    struct reasm *ra;
    struct applayer *al;
    uint64_t now, packets;
};

static struct test_pcap_run *test_pcap_cur;

static inline void test_pcap_write(void *ud, uint64_t ts)
{
    (void)ts;
    struct test_pcap_run *r = ud;
    if (jw_ok(&r->w)) {
        test_sink_put(r->out, r->w.buf, r->w.len);
        test_sink_put(r->out, "\n", 1);
        r->out->events++;
    }
}

static inline bool test_pcap_sample(void *ud, uint64_t n, uint64_t *suppressed)
{
    (void)ud;
    (void)n;
    (void)suppressed;
    return true;
}

static inline void test_pcap_data(void *ud, struct flow *f, int dir, const uint8_t *d, size_t n)
{
    struct test_pcap_run *r = ud;
    applayer_stream(r->al, f, dir, d, n, r->now);
}

static inline void test_pcap_gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    struct test_pcap_run *r = ud;
    applayer_gap(r->al, f, dir, len, r->now);
}

static inline void test_pcap_end(struct flow *f, enum flow_end_reason why, void *ud)
{
    (void)why;
    (void)ud;
    uint64_t cnt = test_pcap_cur->packets; /* 0: no current packet (as the pipeline) */
    test_pcap_cur->packets = 0;
    reasm_flow_end(test_pcap_cur->ra, f);
    test_pcap_cur->packets = cnt;
    applayer_flow_end(test_pcap_cur->al, f);
}

/* Runs the capture at path through decode, flows, reassembly and the dispatcher
 * configured by c; appends every application-layer event (the sensor's own JSON
 * line) to out's buffer. Returns the packets read, or -1 when the file cannot be
 * opened. */
static inline long test_pcap_events(const char *path, const struct sensor_conf *c, struct test_sink *out)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (pc == NULL)
        return -1;
    struct test_pcap_run r;
    memset(&r, 0, sizeof(r));
    r.out = out;
    if (jw_init(&r.w, 4096, 1 << 20) != 0)
        abort();
    struct applayer_host h = {&r.w, &r.packets, test_pcap_write, test_pcap_sample, &r, NULL};
    struct flow_conf fc;
    flow_conf_defaults(&fc);
    fc.random_hash_key = false;
    struct reasm_conf rc;
    reasm_conf_defaults(&rc);
    struct decoder *dec = decoder_new(NULL);
    r.al = applayer_new(c, &h);
    r.ra = reasm_new(&rc, test_pcap_data, test_pcap_gap, &r);
    struct flow_table *ft = flow_table_new(&fc, test_pcap_end, NULL);
    if (dec == NULL || r.al == NULL || r.ra == NULL || ft == NULL)
        abort();
    test_pcap_cur = &r;
    int dlt = pcap_datalink(pc);
    struct pcap_pkthdr *ph;
    const u_char *data;
    while (pcap_next_ex(pc, &ph, &data) == 1) {
        struct pkt p;
        r.packets++;
        r.now = (uint64_t)ph->ts.tv_sec * 1000000u + (uint64_t)ph->ts.tv_usec;
        if (decode_packet(dec, &p, dlt, data, ph->caplen, ph->len, r.now) != DECODE_OK)
            continue;
        int dir;
        struct flow *f = flow_table_update(ft, &p, &dir);
        if (f == NULL)
            continue;
        if (p.proto == 6)
            reasm_packet(r.ra, f, dir, &p);
        else if (p.proto == 17 && p.payload_len > 0)
            applayer_udp(r.al, f, dir, p.sport, p.dport, p.payload, p.payload_len, r.now);
        flow_table_expire(ft, r.now);
    }
    pcap_close(pc);
    flow_table_flush(ft);
    flow_table_free(ft);
    reasm_free(r.ra);
    applayer_free(r.al);
    decoder_free(dec);
    jw_free(&r.w);
    test_pcap_cur = NULL;
    return (long)r.packets;
}

#endif
