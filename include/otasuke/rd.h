/*
 * Bounded read cursor over untrusted bytes (tcpdump GET_ / OpenSSH sshbuf idea).
 *
 * Every read checks the remaining length. A short read returns 0 and sets the
 * sticky `bad` flag; later reads keep returning 0, so a parser can read a whole
 * record and check `r.bad` once at the end. Nothing here ever indexes past
 * p + len.
 */
#ifndef OTASUKE_RD_H
#define OTASUKE_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool bad;
};

static inline struct rd rd_init(const uint8_t *p, size_t len)
{
    struct rd r = {p, len, 0, false};
    return r;
}

static inline size_t rd_left(const struct rd *r)
{
    return r->bad ? 0 : r->len - r->off;
}

static inline const uint8_t *rd_ptr(const struct rd *r)
{
    return r->p + r->off;
}

static inline bool rd_need(struct rd *r, size_t n)
{
    if (r->bad || r->len - r->off < n) {
        r->bad = true;
        return false;
    }
    return true;
}

static inline uint8_t rd_u8(struct rd *r)
{
    if (!rd_need(r, 1))
        return 0;
    return r->p[r->off++];
}

static inline uint16_t rd_be16(struct rd *r)
{
    if (!rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
    r->off += 2;
    return v;
}

static inline uint16_t rd_le16(struct rd *r)
{
    if (!rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)(r->p[r->off + 1] << 8 | r->p[r->off]);
    r->off += 2;
    return v;
}

static inline uint32_t rd_be32(struct rd *r)
{
    if (!rd_need(r, 4))
        return 0;
    const uint8_t *b = r->p + r->off;
    r->off += 4;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint32_t rd_le32(struct rd *r)
{
    if (!rd_need(r, 4))
        return 0;
    const uint8_t *b = r->p + r->off;
    r->off += 4;
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* Copies n bytes into dst (zero-filled when short). */
static inline void rd_copy(struct rd *r, void *dst, size_t n)
{
    if (!rd_need(r, n)) {
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
}

/* Returns a pointer to the next n bytes and advances, or NULL when short. */
static inline const uint8_t *rd_take(struct rd *r, size_t n)
{
    if (!rd_need(r, n))
        return NULL;
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}

static inline void rd_skip(struct rd *r, size_t n)
{
    if (rd_need(r, n))
        r->off += n;
}

/* A sub-cursor over the next n bytes; marks r bad (and returns an empty, bad
 * cursor) when fewer than n remain. Advances r past them. */
static inline struct rd rd_sub(struct rd *r, size_t n)
{
    const uint8_t *q = rd_take(r, n);
    struct rd s = {q, q ? n : 0, 0, q == NULL};
    return s;
}

#endif
