/*
 * Fuzz harness for the DNS parser. The input is a DNS message (the seed corpus holds
 * real ones from ../shared/corpus captures):
 *   - parsed whole as a UDP payload, from an exact-size heap copy;
 *   - then fed to the TCP framing as the stream "2-byte length of the input, the
 *     input, the input again" (so the input is also read as raw stream bytes), cut
 *     into chunks whose sizes come from a xorshift seeded by the input, each chunk
 *     an exact-size heap copy so that ASan sees any over-read.
 * Every parsed message is written as an EVE object into a writer with a small
 * maximum and one with a large one. Invariants checked: the caps, the work bound
 * of dns.h (labels and pointers read are linear in the message size), and that the
 * object written whole reads back (readback.h: it walks in jscan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/dns.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "readback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jw g_small, g_big;

/* At most this many reads per name once a pointer was taken: 16 pointers, 127
 * labels of a 255-byte name, the root and the pointer that was refused. */
#define WORK_PER_NAME (DNS_MAX_PTR_HOPS + 127 + 2)

static void check_msg(const struct dns_msg *m, size_t n)
{
    if (m->nq > DNS_MAX_QUESTIONS || m->nrr > DNS_MAX_RECORDS || m->pool_len > DNS_POOL_SIZE)
        abort();
    size_t names = (size_t)m->nq + 3 * (size_t)m->nrr + 3;
    if (m->work > n + names * WORK_PER_NAME)
        abort();
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        if ((size_t)rr->name.off + rr->name.len > m->pool_len ||
            (size_t)rr->data.off + rr->data.len > m->pool_len)
            abort();
    }
    jw_reset(&g_small);
    jw_obj_open(&g_small, NULL);
    dns_write_event(&g_small, m);
    jw_obj_close(&g_small);
    jw_reset(&g_big);
    jw_obj_open(&g_big, NULL);
    dns_write_event(&g_big, m);
    jw_obj_close(&g_big);
    if (!jw_ok(&g_big))
        abort();
    fz_readback(&g_big, NULL, "dns");
    if (jw_ok(&g_small))
        fz_readback(&g_small, NULL, "dns");
}

struct ctx {
    size_t msgs;
};

static void on_msg(void *ud, const struct dns_msg *m, int rc)
{
    struct ctx *c = ud;
    c->msgs++;
    if (rc == PARSE_OK)
        check_msg(m, 65535);
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void feed_tcp(const uint8_t *stream, size_t n, uint32_t seed, struct dns_msg *scratch)
{
    struct dns_conf conf = {.max_records = (uint8_t)(seed & 1 ? 8 : 0)};
    struct dns_tcp t;
    memset(&t, 0, sizeof(t));
    struct ctx c = {0};
    uint32_t s = seed | 1;
    unsigned maxchunk = 1 + (seed >> 8) % 300;
    size_t off = 0;
    while (off < n) {
        size_t k = 1 + xorshift(&s) % maxchunk;
        if (k > n - off)
            k = n - off;
        uint8_t *chunk = malloc(k);
        if (chunk == NULL)
            break;
        memcpy(chunk, stream + off, k);
        dns_tcp_feed(&t, chunk, k, &conf, scratch, on_msg, &c);
        free(chunk);
        off += k;
    }
    dns_tcp_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_big.buf == NULL && (jw_init(&g_small, 64, 512) != 0 || jw_init(&g_big, 1024, 1 << 20)))
        return 0;
    static struct dns_msg m;
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    int rc = dns_parse(size ? copy : NULL, size, NULL, &m);
    if (rc == PARSE_OK)
        check_msg(&m, size);
    free(copy);

    size_t n = size > 65535 ? 65535 : size;
    uint8_t *stream = malloc(2 + n + size);
    if (stream == NULL)
        return 0;
    stream[0] = (uint8_t)(n >> 8);
    stream[1] = (uint8_t)n;
    memcpy(stream + 2, data, n);
    memcpy(stream + 2 + n, data, size);
    uint32_t seed = (uint32_t)size * 2654435761u ^ (size ? data[0] << 16 | data[size - 1] : 0);
    feed_tcp(stream, 2 + n + size, seed, &m);
    free(stream);
    return 0;
}
