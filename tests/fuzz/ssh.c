/*
 * Fuzz harness for the SSH banner parser (sensor/app/ssh.c). The input's first byte
 * chooses where it splits into the client's stream and the server's; the two streams
 * are fed (1) whole, client then server, and (2) in chunks of sizes and directions
 * drawn from a xorshift seeded by the input, each chunk an exact-size heap copy, with
 * a small banner cap one time in two. probe() sees both streams' starts. Invariant:
 * both feedings write the same event text and the same anomaly counts (every split
 * parses the same as whole).
 */
#include <stdint.h>
#include <stdio.h>

#include "app/ssh.h"
#include "lan_fuzz.h"
#include "sensor_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz_sink g_a, g_b;

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void feed(void *st, struct fz_sink *f, int dir, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    uint8_t *copy = malloc(n);
    if (copy == NULL)
        abort();
    memcpy(copy, p, n);
    ssh_parser.data(st, &f->s, dir, copy, n);
    free(copy);
}

/* Feeds the two streams to st in chunks of random sizes and directions. */
static void feed_chunks(void *st, const uint8_t *cs, size_t cn, const uint8_t *ss, size_t sn,
                        uint32_t s)
{
    size_t co = 0, so = 0;
    while (co < cn || so < sn) {
        int dir = (xorshift(&s) & 1) ? 1 : 0;
        if (dir == 0 && co == cn)
            dir = 1;
        if (dir == 1 && so == sn)
            dir = 0;
        size_t k = 1 + xorshift(&s) % 40;
        size_t *off = dir ? &so : &co;
        size_t lim = dir ? sn : cn;
        if (k > lim - *off)
            k = lim - *off;
        feed(st, &g_b, dir, (dir ? ss : cs) + *off, k);
        *off += k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sensor_conf c;
    if (size < 1)
        return 0;
    conf_defaults(sensor_conf_table, &c);
    if (data[0] & 0x80)
        c.ssh_max_banner = 32;
    size_t cut = size > 1 ? (size_t)data[0] * (size - 1) / 255 : 0;
    const uint8_t *cs = data + 1, *ss = data + 1 + cut;
    size_t cn = cut, sn = size - 1 - cut;
    ssh_parser.probe(cs, cn < 512 ? cn : 512, 0, 40000, 22);
    ssh_parser.probe(ss, sn < 512 ? sn : 512, 1, 40000, 22);

    if (fz_init(&g_a, &ssh_parser) != 0 || fz_init(&g_b, &ssh_parser) != 0)
        return 0;
    void *a = ssh_parser.state_new(&c), *b = ssh_parser.state_new(&c);
    if (a == NULL || b == NULL)
        abort();
    feed(a, &g_a, 0, cs, cn);
    feed(a, &g_a, 1, ss, sn);
    ssh_parser.end(a, &g_a.s);

    uint32_t s = ((uint32_t)size * 2654435761u ^ data[size - 1]) | 1;
    feed_chunks(b, cs, cn, ss, sn, s);
    ssh_parser.end(b, &g_b.s);
    ssh_parser.state_free(a);
    ssh_parser.state_free(b);
    if (g_a.len != g_b.len || memcmp(g_a.out, g_b.out, g_a.len) != 0 ||
        memcmp(g_a.anomalies, g_b.anomalies, sizeof(g_a.anomalies)) != 0) {
        fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)g_a.len, g_a.out, (int)g_b.len,
                g_b.out);
        abort();
    }
    return 0;
}
