/*
 * Fuzz harness for the SMTP parser, through its table (smtp_parser) with a sink that
 * writes every event into a bounded JSON writer. The input is a session: the first byte
 * picks the configuration (small or default caps); then records "direction byte, then
 * bytes up to the next 0xff" give the client (even direction byte) and server (odd)
 * data. Each record is fed in chunks whose sizes come from a xorshift seeded by the
 * input, each chunk an exact-size heap copy so that ASan sees any over-read; some
 * records are replaced by a gap. Every event must be valid (jw_ok).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/smtp.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jw g_w;

static struct jw *f_begin(struct app_sink *s, const char *type, int dir)
{
    (void)s;
    (void)dir;
    jw_reset(&g_w);
    jw_obj_open(&g_w, NULL);
    jw_str(&g_w, "event_type", type);
    return &g_w;
}

static void f_end(struct app_sink *s)
{
    (void)s;
    jw_obj_close(&g_w);
    if (!jw_ok(&g_w))
        abort();
}

static void f_anomaly(struct app_sink *s, int kind, int dir)
{
    (void)s;
    (void)dir;
    if (kind < 0 || kind >= smtp_parser.nkinds || smtp_parser.kind_name(kind) == NULL)
        abort();
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void feed(void *st, struct app_sink *sink, int dir, const uint8_t *d, size_t n,
                 uint32_t *rs)
{
    size_t off = 0;
    while (off < n) {
        size_t k = 1 + xorshift(rs) % 97;
        if (k > n - off)
            k = n - off;
        uint8_t *c = malloc(k);
        if (c == NULL)
            return;
        memcpy(c, d + off, k);
        smtp_parser.data(st, sink, dir, c, k);
        free(c);
        off += k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_w.buf == NULL && jw_init(&g_w, 1024, 1 << 20) != 0)
        return 0;
    if (size < 1)
        return 0;
    struct sensor_conf c;
    memset(&c, 0, sizeof(c));
    bool small = data[0] & 1;
    c.smtp_max_line = small ? 256 : 4096;
    c.smtp_max_rcpt = small ? 2 : 64;
    c.smtp_max_message = small ? 2048 : 1 << 20;
    c.smtp_mime_max_depth = small ? 2 : 8;
    c.smtp_mime_max_parts = small ? 3 : 100;
    c.smtp_decode_attachments = !(data[0] & 2);
    struct app_sink sink = {.event_begin = f_begin, .event_end = f_end, .anomaly = f_anomaly};
    void *st = smtp_parser.state_new(&c);
    if (st == NULL)
        return 0;
    uint32_t rs = (uint32_t)size * 2654435761u | 1;
    size_t i = 1;
    while (i < size) {
        int dir = data[i] & 1 ? APP_TOCLIENT : APP_TOSERVER;
        bool gap = (data[i] & 0x0e) == 0x0e;
        i++;
        const uint8_t *end = memchr(data + i, 0xff, size - i);
        size_t n = end != NULL ? (size_t)(end - (data + i)) : size - i;
        if (gap)
            smtp_parser.gap(st, &sink, dir, n + 1);
        else
            feed(st, &sink, dir, data + i, n, &rs);
        i += n + 1;
    }
    smtp_parser.end(st, &sink);
    smtp_parser.state_free(st);
    return 0;
}
