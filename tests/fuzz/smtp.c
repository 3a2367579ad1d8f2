/*
 * Fuzz harness for the SMTP parser, through its table (smtp_parser) with the shared
 * strict test sink (tests/app_test.h: events must be valid JSON, begin/end paired,
 * anomaly kinds in range; each line must read back, readback.h). The input is a
 * session: the first byte
 * picks the configuration (small or default caps); then records "direction byte, then
 * bytes up to the next 0xff" give the client (even direction byte) and server (odd)
 * data. Each record is fed in chunks whose sizes come from a xorshift seeded by the
 * input, each chunk an exact-size heap copy so that ASan sees any over-read
 * (test_feed_split); some records are replaced by a gap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/smtp.h"
#include "readback.h"
#include "sensor_conf.h"

#include "../app_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct test_sink g_t;

/* test_sink_end, then the read-back of the line (readback.h; smtp notes nothing). */
static void fz_end(struct app_sink *s)
{
    test_sink_end(s);
    if (jw_ok(&g_t.w))
        fz_readback(&g_t.w, NULL, "smtp");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_t.p == NULL) {
        test_sink_init(&g_t, &smtp_parser, true); /* a sink contract breach aborts */
        g_t.s.event_end = fz_end;
    }
    test_sink_reset(&g_t);
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
    struct app_sink *sink = &g_t.s;
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
            smtp_parser.gap(st, sink, dir, n + 1);
        else
            test_feed_split(&smtp_parser, st, sink, dir, data + i, n, &rs, 97);
        i += n + 1;
    }
    smtp_parser.end(st, sink);
    smtp_parser.state_free(st);
    return 0;
}
