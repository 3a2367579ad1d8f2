/*
 * Fuzz harness for the MIME module: the input is a message, walked with small and
 * default caps, whole and in chunks whose sizes come from a xorshift seeded by the input
 * (each chunk an exact-size heap copy); both walks must give the same callbacks (a
 * checksum of them). Each header value also goes through the RFC 2047 decoder and the
 * RFC 2231 parameter reader into small output buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct acc {
    uint64_t h;
};

static void mix(struct acc *a, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        a->h = (a->h ^ b[i]) * 1099511628211ull;
}

static void c_header(void *ud, unsigned depth, const char *name, size_t nl, const char *v,
                     size_t vl)
{
    mix(ud, &depth, sizeof(depth));
    mix(ud, name, nl);
    mix(ud, v, vl);
    char out[40];
    uint32_t an = 0;
    size_t k = mime_decode_words(v, vl, out, sizeof(out), &an);
    if (k >= sizeof(out) || out[k] != '\0') /* NUL bytes decoded from the wire may occur */
        abort();
    if (mime_param(v, vl, "filename", out, sizeof(out), &an) && strlen(out) >= sizeof(out))
        abort();
}

static void c_begin(void *ud, const struct mime_part *p)
{
    if (strlen(p->name) >= sizeof(p->name) || strlen(p->ctype) >= sizeof(p->ctype))
        abort();
    mix(ud, p->ctype, strlen(p->ctype));
    mix(ud, p->name, strlen(p->name));
}

static void c_data(void *ud, const uint8_t *d, size_t n)
{
    mix(ud, d, n);
}

static void c_end(void *ud, bool complete, bool bad)
{
    uint8_t b = (uint8_t)(complete | bad << 1);
    mix(ud, &b, 1);
}

static void c_anomaly(void *ud, enum mime_anomaly a)
{
    if ((unsigned)a >= MIME_AN_COUNT)
        abort();
    uint8_t b = (uint8_t)(0x80 | a);
    mix(ud, &b, 1);
}

static uint64_t walk(const uint8_t *data, size_t size, uint32_t seed, bool small)
{
    struct acc a = {0};
    struct mime_cb cb = {c_header, c_begin, c_data, c_end, c_anomaly, &a};
    struct mime m;
    if (mime_init(&m, &cb, small ? 256 : 4096, small ? 2 : 8, small ? 3 : 100) != 0)
        return 0;
    uint32_t s = seed | 1;
    size_t off = 0;
    while (off < size) {
        size_t k = seed == 0 ? size : 1 + (s = s ^ s << 13, s ^= s >> 17, s ^= s << 5) % 131;
        if (k > size - off)
            k = size - off;
        uint8_t *c = malloc(k);
        if (c == NULL)
            break;
        memcpy(c, data + off, k);
        mime_feed(&m, c, k);
        free(c);
        off += k;
    }
    mime_finish(&m);
    mime_free(&m);
    return a.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t seed = (uint32_t)size * 2654435761u ^ (size ? data[0] : 0);
    for (int small = 0; small < 2; small++)
        if (walk(data, size, 0, small) != walk(data, size, seed | 1, small))
            abort();
    return 0;
}
