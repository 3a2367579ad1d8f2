/*
 * Fuzz harness for the TLS parser, driven through tls_parser (the table the pipeline
 * calls). The input is
 *   [2 bytes: n, big-endian] [n bytes: client to server] [the rest: server to client]
 * (the seeds are real handshakes from ../shared/corpus captures). Both streams are cut
 * into chunks whose sizes come from a xorshift seeded by the input and fed
 * interleaved, each chunk an exact-size heap copy so that ASan sees any over-read;
 * now and then a gap is declared instead of a chunk. The configuration (handshake
 * message cap, certificates, fingerprints) also comes from the seed.
 * Invariants checked: at most one tls event per flow, every event is valid output
 * of the bounded writer and reads back (readback.h: it walks in jscan, its notes are
 * what the line says), anomaly kinds are in range, and MEM_APP returns to where it
 * was once the state is freed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/tls.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "readback.h"
#include "sensor_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jw g_w;

struct fz {
    int events;
    int open;
    struct app_notes nt; /* the current event's */
};

static struct jw *fz_begin(struct app_sink *s, const char *type, int dir)
{
    struct fz *f = s->ud;
    if (f->open || strcmp(type, "tls") != 0 || dir != APP_TOSERVER)
        abort();
    f->open = 1;
    jw_reset(&g_w);
    jw_obj_open(&g_w, NULL);
    jw_str(&g_w, "event_type", type);
    memset(&f->nt, 0, sizeof(f->nt));
    f->nt.on = tls_parser.notes;
    return &g_w;
}

static void fz_note(struct app_sink *s, const char *path, size_t plen)
{
    struct fz *f = s->ud;
    if (!f->open || !f->nt.on)
        abort();
    notes_take(&f->nt, path, plen, &g_w);
}

static void fz_end(struct app_sink *s)
{
    struct fz *f = s->ud;
    if (!f->open)
        abort();
    f->open = 0;
    jw_obj_close(&g_w);
    if (!jw_ok(&g_w) || g_w.depth != 0)
        abort();
    fz_readback(&g_w, &f->nt, "tls");
    if (++f->events > 1)
        abort();
}

static void fz_anomaly(struct app_sink *s, int kind, int dir)
{
    (void)s;
    if (kind < 0 || kind >= TLS_AN_COUNT || (dir != APP_TOSERVER && dir != APP_TOCLIENT))
        abort();
    if (tls_anomaly_name(kind) == NULL)
        abort();
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void feed(void *st, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n);
    if (c == NULL)
        return;
    memcpy(c, p, n);
    tls_parser.data(st, s, dir, c, n);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_w.buf == NULL && jw_init(&g_w, 1024, 1 << 20) != 0)
        return 0;
    if (size < 2)
        return 0;
    size_t cn = (size_t)data[0] << 8 | data[1];
    const uint8_t *stream[2] = {data + 2, NULL};
    size_t len[2], off[2] = {0, 0};
    if (cn > size - 2)
        cn = size - 2;
    len[0] = cn;
    stream[1] = data + 2 + cn;
    len[1] = size - 2 - cn;
    uint32_t seed = (uint32_t)size * 2654435761u ^ (uint32_t)data[size - 1] << 8 ^ data[0];
    uint32_t s = seed | 1;

    struct sensor_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.tls_max_handshake = seed & 1 ? 512 : 65536;
    conf.tls_max_certificates = 1 + (seed >> 1) % 4;
    conf.tls_ja3 = (seed & 8) == 0;
    conf.tls_ja4 = (seed & 16) == 0;

    struct mem_stat before, after;
    mem_get(MEM_APP, &before);
    static struct fz f; /* its notes: off the stack */
    memset(&f, 0, sizeof(f));
    struct app_sink sink = {.event_begin = fz_begin, .event_end = fz_end, .anomaly = fz_anomaly,
                            .note = fz_note, .now_us = 0, .flow_id = 1, .ud = &f};
    void *st = tls_parser.state_new(&conf);
    if (st == NULL)
        return 0;
    unsigned maxchunk = 1 + (seed >> 8) % 700;
    while (off[0] < len[0] || off[1] < len[1]) {
        int dir = off[0] < len[0] && (off[1] >= len[1] || (xorshift(&s) & 1)) ? 0 : 1;
        size_t k = 1 + xorshift(&s) % maxchunk;
        if (k > len[dir] - off[dir])
            k = len[dir] - off[dir];
        if (xorshift(&s) % 997 == 0)
            tls_parser.gap(st, &sink, dir, k);
        else
            feed(st, &sink, dir, stream[dir] + off[dir], k);
        off[dir] += k;
    }
    tls_parser.end(st, &sink);
    tls_parser.state_free(st);
    mem_get(MEM_APP, &after);
    if (after.in_use != before.in_use || f.open)
        abort();
    return 0;
}
