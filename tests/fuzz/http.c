/*
 * Fuzz harness for the HTTP parser, driven through `http_parser` as the pipeline
 * drives it. The input is a first byte that picks limits (small lines, few headers,
 * a short queue, tiny decompression caps, one file, dump_all_headers) and then records:
 *   h = one byte: bit 0 the direction, bit 1 a gap, bits 2..7 a length L (1..63; 63:
 *       the next two bytes, big-endian, are the length);
 *   a data record is followed by L bytes, fed as one exact-size heap copy (ASan sees
 *       any over-read); a gap record (taken only when L % 8 == 0, else data) says
 *       that L bytes were lost.
 * So both directions, random splits and gaps come from the input. Every event is
 * written into a JSON writer that must stay valid, and read back (readback.h: it
 * walks in jscan, its notes are what the line says); anomaly kinds must be in range;
 * all MEM_APP memory must be back after state_free.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/http.h"
#include "otasuke/alloc.h"
#include "otasuke/conf.h"
#include "otasuke/jw.h"
#include "readback.h"
#include "sensor_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jw g_w;
static int g_open;
static struct app_notes g_nt; /* the current event's */
static char g_type[32];

static struct jw *f_begin(struct app_sink *s, const char *type, int dir)
{
    (void)s;
    if (g_open || (dir != 0 && dir != 1))
        abort();
    g_open = 1;
    jw_reset(&g_w);
    jw_obj_open(&g_w, NULL);
    jw_str(&g_w, "event_type", type);
    memset(&g_nt, 0, sizeof(g_nt));
    g_nt.on = http_parser.notes;
    snprintf(g_type, sizeof(g_type), "%s", type);
    return &g_w;
}

static void f_note(struct app_sink *s, const char *path, size_t plen)
{
    (void)s;
    if (!g_open || !g_nt.on)
        abort();
    notes_take(&g_nt, path, plen, &g_w);
}

static void f_end(struct app_sink *s)
{
    (void)s;
    if (!g_open)
        abort();
    g_open = 0;
    jw_obj_close(&g_w);
    if (!jw_ok(&g_w) || g_w.depth != 0)
        abort();
    fz_readback(&g_w, &g_nt, g_type);
}

static void f_anomaly(struct app_sink *s, int kind, int dir)
{
    (void)s;
    if (kind < 0 || kind >= http_parser.nkinds || (dir != 0 && dir != 1))
        abort();
    (void)http_parser.kind_name(kind);
}

static void set_limits(struct sensor_conf *c, uint8_t b)
{
    conf_defaults(sensor_conf_table, c);
    if (b & 1)
        c->http_max_line = 32;
    if (b & 2)
        c->http_max_headers = 3;
    if (b & 4)
        c->http_max_pending = 2;
    if (b & 8)
        c->http_decompress_cap = 4096;
    if (b & 16)
        c->http_decompress_ratio = 2;
    if (b & 32)
        c->http_max_files = 1;
    if (b & 64)
        c->http_decompress = false;
    if (b & 128)
        c->http_dump_all_headers = 3; /* both: request_headers and response_headers */
}

static void feed(void *st, struct app_sink *s, const uint8_t *d, size_t n)
{
    size_t off = 0;
    while (off < n) {
        uint8_t h = d[off++];
        int dir = h & 1;
        size_t len = h >> 2;
        if (len == 0)
            len = 1;
        if (len == 63 && n - off >= 2) {
            len = (size_t)d[off] << 8 | d[off + 1];
            off += 2;
        }
        if ((h & 2) && len % 8 == 0) {
            http_parser.gap(st, s, dir, len);
            continue;
        }
        if (len > n - off)
            len = n - off;
        if (len == 0)
            break;
        uint8_t *c = malloc(len);
        if (c == NULL)
            return;
        memcpy(c, d + off, len);
        http_parser.data(st, s, dir, c, len);
        free(c);
        off += len;
    }
}

static uint64_t app_in_use(void)
{
    struct mem_stat m;
    mem_get(MEM_APP, &m);
    return m.in_use;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_w.buf == NULL && jw_init(&g_w, 1024, 1 << 22) != 0)
        return 0;
    if (size < 1)
        return 0;
    static struct sensor_conf c;
    set_limits(&c, data[0]);
    struct app_sink s = {
        .event_begin = f_begin, .event_end = f_end, .anomaly = f_anomaly, .note = f_note};
    uint64_t before = app_in_use();
    void *st = http_parser.state_new(&c);
    if (st == NULL)
        return 0;
    (void)http_parser.probe(data + 1, size - 1, APP_TOSERVER, 1234, 80);
    (void)http_parser.probe(data + 1, size - 1, APP_TOCLIENT, 1234, 80);
    feed(st, &s, data + 1, size - 1);
    http_parser.end(st, &s);
    http_parser.state_free(st);
    if (app_in_use() != before || g_open)
        abort();
    return 0;
}
