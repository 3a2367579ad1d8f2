/*
 * ClientHello and ServerHello decoding (RFC 8446 4.1.2-4.1.3, RFC 5246 7.4.1) and the
 * fingerprints computed from them:
 *  - JA3 (Salesforce): "version,ciphers,extensions,groups,point_formats", decimal
 *    values joined by '-', GREASE values (RFC 8701) left out; md5 of that string;
 *  - JA3S: "version,cipher,extensions" of the ServerHello, md5;
 *  - JA4 (FoxIO): "t" + version (highest supported_versions, else legacy_version) +
 *    'd'/'i' (SNI present or not) + cipher and extension counts (2 digits, at most 99)
 *    + first and last character of the first ALPN value, then the first 12 hex digits
 *    of sha256 over the sorted ciphers, and over the sorted extensions without SNI and
 *    ALPN followed by '_' and the signature algorithms in wire order (4-digit hex
 *    joined by ','); GREASE left out everywhere.
 * Every read goes through struct rd; lists are copied into fixed arrays of
 * TLS_MAX_LIST values (values beyond are counted but not hashed: too_many_values).
 */
#include "app/tls_int.h"

#include <nettle/md5.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otasuke/rd.h"

#define EXT_SNI                0
#define EXT_SUPPORTED_GROUPS   10
#define EXT_EC_POINT_FORMATS   11
#define EXT_SIGNATURE_ALGS     13
#define EXT_ALPN               16
#define EXT_SUPPORTED_VERSIONS 43

#define AN(a) (1u << (a))

static bool is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* A list of 16-bit values kept for hashing: at most TLS_MAX_LIST, total counts all. */
struct u16list {
    uint16_t v[TLS_MAX_LIST];
    size_t n;
    size_t total;
};

static void list_add(struct u16list *l, uint16_t v, uint32_t *an)
{
    l->total++;
    if (l->n < TLS_MAX_LIST)
        l->v[l->n++] = v;
    else
        *an |= AN(TLS_AN_TOO_MANY_VALUES);
}

/* What a ClientHello gives the fingerprints, before they are formatted. */
struct ch_lists {
    struct u16list ciphers, exts, groups, sigalgs;
    uint8_t pf[255];
    size_t npf;
    uint16_t maxver; /* highest supported_versions value, 0 when absent */
    bool has_sni;
    const uint8_t *alpn0; /* first ALPN protocol (into the message) */
    size_t alpn0_len;
    uint32_t an;
};

/* ---- text with a running md5: the JA3 strings ---- */

struct fptext {
    char *buf;
    size_t cap; /* including the NUL */
    size_t len;
    bool trunc;
    struct md5_ctx md5;
};

static void fp_init(struct fptext *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->cap = cap;
    t->len = 0;
    t->trunc = false;
    buf[0] = '\0';
    md5_init(&t->md5);
}

static void fp_put(struct fptext *t, const char *s, size_t n)
{
    md5_update(&t->md5, n, (const uint8_t *)s);
    size_t k = n;
    if (k > t->cap - 1 - t->len) {
        k = t->cap - 1 - t->len;
        t->trunc = true;
    }
    memcpy(t->buf + t->len, s, k);
    t->len += k;
    t->buf[t->len] = '\0';
}

/* Appends "-" (when dash) and the decimal digits of v at b[k]; returns the new k.
 * b needs 11 bytes of room. Hand-written: a ClientHello has dozens of values and
 * snprintf was 1% of the benchmark's instructions. */
static size_t dec_append(char *b, size_t k, unsigned v, bool dash)
{
    char d[10];
    size_t n = 0;
    if (dash)
        b[k++] = '-';
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < sizeof(d));
    while (n > 0)
        b[k++] = d[--n];
    return k;
}

static void fp_num(struct fptext *t, unsigned v, bool dash)
{
    char b[12];
    fp_put(t, b, dec_append(b, 0, v, dash));
}

/* "v0-v1-...": formatted in chunks, each hashed and appended with one fp_put (the
 * text and the MD5 are those of the values one by one). */
static void fp_list(struct fptext *t, const uint16_t *v, size_t n)
{
    char b[256];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > sizeof(b) - 12) {
            fp_put(t, b, k);
            k = 0;
        }
        k = dec_append(b, k, v[i], i > 0);
    }
    if (k > 0)
        fp_put(t, b, k);
}

/* ---- extensions of the ClientHello ---- */

/* RFC 6066 3: the first host_name entry. */
static void ext_sni(struct rd *e, struct tls_client_hello *ch, struct ch_lists *l)
{
    struct rd list = rd_sub(e, rd_be16(e));
    while (rd_left(&list) > 0) {
        uint8_t type = rd_u8(&list);
        uint16_t len = rd_be16(&list);
        const uint8_t *name = rd_take(&list, len);
        if (name != NULL && type == 0 && ch->sni_len == 0) {
            size_t k = len < TLS_MAX_SNI ? len : TLS_MAX_SNI;
            memcpy(ch->sni, name, k);
            ch->sni_len = (uint16_t)k;
        }
    }
    if (list.bad)
        l->an |= AN(TLS_AN_BAD_EXTENSION);
}

static void alpn_keep(struct tls_client_hello *ch, const uint8_t *p, uint8_t len)
{
    if (ch->nalpn >= TLS_MAX_ALPN || len > TLS_ALPN_POOL - ch->alpn_pool_len)
        return;
    ch->alpn_off[ch->nalpn] = ch->alpn_pool_len;
    ch->alpn_len[ch->nalpn] = len;
    memcpy(ch->alpn_pool + ch->alpn_pool_len, p, len);
    ch->alpn_pool_len = (uint16_t)(ch->alpn_pool_len + len);
    ch->nalpn++;
}

/* RFC 7301 3.1: ProtocolNameList. */
static void ext_alpn(struct rd *e, struct tls_client_hello *ch, struct ch_lists *l)
{
    struct rd list = rd_sub(e, rd_be16(e));
    while (rd_left(&list) > 0) {
        uint8_t len = rd_u8(&list);
        const uint8_t *p = rd_take(&list, len);
        if (p == NULL)
            break;
        if (l->alpn0 == NULL) {
            l->alpn0 = p;
            l->alpn0_len = len;
        }
        alpn_keep(ch, p, len);
    }
    if (list.bad)
        l->an |= AN(TLS_AN_BAD_EXTENSION);
}

/* A list of 16-bit values after a length of lenbytes (1 or 2) bytes. */
static void ext_u16s(struct rd *e, int lenbytes, struct u16list *out, uint16_t *maxv, uint32_t *an)
{
    size_t n = lenbytes == 1 ? rd_u8(e) : rd_be16(e);
    struct rd list = rd_sub(e, n);
    while (rd_left(&list) >= 2) {
        uint16_t v = rd_be16(&list);
        if (is_grease(v))
            continue;
        if (out != NULL)
            list_add(out, v, an);
        if (maxv != NULL && v > *maxv)
            *maxv = v;
    }
    if (list.bad || rd_left(&list) != 0)
        *an |= AN(TLS_AN_BAD_EXTENSION);
}

static void ext_point_formats(struct rd *e, struct ch_lists *l)
{
    uint8_t n = rd_u8(e);
    const uint8_t *p = rd_take(e, n);
    if (p == NULL) {
        l->an |= AN(TLS_AN_BAD_EXTENSION);
        return;
    }
    memcpy(l->pf, p, n);
    l->npf = n;
}

static void ch_extension(uint16_t type, struct rd *e, struct tls_client_hello *ch,
                         struct ch_lists *l)
{
    switch (type) {
    case EXT_SNI:
        l->has_sni = true;
        ext_sni(e, ch, l);
        break;
    case EXT_ALPN:
        ext_alpn(e, ch, l);
        break;
    case EXT_SUPPORTED_GROUPS:
        ext_u16s(e, 2, &l->groups, NULL, &l->an);
        break;
    case EXT_EC_POINT_FORMATS:
        ext_point_formats(e, l);
        break;
    case EXT_SIGNATURE_ALGS:
        ext_u16s(e, 2, &l->sigalgs, NULL, &l->an);
        break;
    case EXT_SUPPORTED_VERSIONS:
        ext_u16s(e, 1, NULL, &l->maxver, &l->an);
        break;
    default:
        break;
    }
}

/* The extensions block (absent in old hellos). */
static void ch_extensions(struct rd *r, struct tls_client_hello *ch, struct ch_lists *l)
{
    if (rd_left(r) == 0)
        return;
    struct rd exts = rd_sub(r, rd_be16(r));
    while (rd_left(&exts) > 0) {
        uint16_t type = rd_be16(&exts);
        struct rd e = rd_sub(&exts, rd_be16(&exts));
        if (exts.bad)
            break;
        if (!is_grease(type))
            list_add(&l->exts, type, &l->an);
        ch_extension(type, &e, ch, l);
    }
    if (exts.bad || r->bad)
        l->an |= AN(TLS_AN_BAD_HANDSHAKE);
}

/* ---- fingerprints ---- */

static void ja3_build(struct tls_client_hello *ch, const struct ch_lists *l)
{
    struct fptext t;
    fp_init(&t, ch->ja3, sizeof(ch->ja3));
    fp_num(&t, ch->version, false);
    fp_put(&t, ",", 1);
    fp_list(&t, l->ciphers.v, l->ciphers.n);
    fp_put(&t, ",", 1);
    fp_list(&t, l->exts.v, l->exts.n);
    fp_put(&t, ",", 1);
    fp_list(&t, l->groups.v, l->groups.n);
    fp_put(&t, ",", 1);
    for (size_t i = 0; i < l->npf; i++)
        fp_num(&t, l->pf[i], i > 0);
    md5_digest(&t.md5, MD5_DIGEST_SIZE, ch->ja3_md5);
    ch->ja3_len = (uint16_t)t.len;
    ch->ja3_trunc = t.trunc;
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* Hashes "xxxx,xxxx,..." (4-digit hex) of v into h, skipping SNI and ALPN when
 * skip_sni_alpn. Returns how many values went in. */
static size_t sha_hexlist(struct sha256_ctx *h, const uint16_t *v, size_t n, bool skip_sni_alpn,
                          size_t done)
{
    static const char hex[] = "0123456789abcdef";
    char b[256];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip_sni_alpn && (v[i] == EXT_SNI || v[i] == EXT_ALPN))
            continue;
        if (k > sizeof(b) - 8) {
            sha256_update(h, k, (const uint8_t *)b);
            k = 0;
        }
        if (done > 0)
            b[k++] = ',';
        b[k++] = hex[v[i] >> 12];
        b[k++] = hex[(v[i] >> 8) & 15];
        b[k++] = hex[(v[i] >> 4) & 15];
        b[k++] = hex[v[i] & 15];
        done++;
    }
    if (k > 0)
        sha256_update(h, k, (const uint8_t *)b);
    return done;
}

/* Writes 12 hex digits of the sha256 in h, or twelve '0' when it hashed nothing. */
static void sha_trunc12(struct sha256_ctx *h, bool empty, char *out)
{
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(h, sizeof(d), d);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 6; i++) {
        uint8_t b = empty ? 0 : d[i];
        out[2 * i] = hex[b >> 4];
        out[2 * i + 1] = hex[b & 15];
    }
    out[12] = '\0';
}

static const char *ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "13";
    case 0x0303:
        return "12";
    case 0x0302:
        return "11";
    case 0x0301:
        return "10";
    case 0x0300:
        return "s3";
    case 0x0002:
        return "s2";
    default:
        return "00";
    }
}

static char hexdig(unsigned v)
{
    return "0123456789abcdef"[v & 15];
}

static bool is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* First and last character of the first ALPN value ("00" when none); their hex digits
 * when either is not alphanumeric. */
static void ja4_alpn(const struct ch_lists *l, char out[2])
{
    out[0] = out[1] = '0';
    if (l->alpn0 == NULL || l->alpn0_len == 0)
        return;
    uint8_t a = l->alpn0[0], z = l->alpn0[l->alpn0_len - 1];
    if (is_alnum(a) && is_alnum(z)) {
        out[0] = (char)a;
        out[1] = (char)z;
    } else {
        out[0] = hexdig(a >> 4);
        out[1] = hexdig(z);
    }
}

static void ja4_build(struct tls_client_hello *ch, struct ch_lists *l)
{
    char alpn[2];
    ja4_alpn(l, alpn);
    size_t nc = l->ciphers.total > 99 ? 99 : l->ciphers.total;
    size_t ne = l->exts.total > 99 ? 99 : l->exts.total;
    uint16_t ver = l->maxver != 0 ? l->maxver : ch->version;
    int k = snprintf(ch->ja4, sizeof(ch->ja4), "t%s%c%02zu%02zu%c%c_", ja4_version(ver),
                     l->has_sni ? 'd' : 'i', nc, ne, alpn[0], alpn[1]);
    if (k != 11)
        return;
    struct sha256_ctx h;
    sha256_init(&h);
    qsort(l->ciphers.v, l->ciphers.n, sizeof(uint16_t), cmp_u16);
    size_t done = sha_hexlist(&h, l->ciphers.v, l->ciphers.n, false, 0);
    sha_trunc12(&h, done == 0, ch->ja4 + 11);
    ch->ja4[23] = '_';
    sha256_init(&h);
    uint16_t sorted[TLS_MAX_LIST];
    memcpy(sorted, l->exts.v, l->exts.n * sizeof(uint16_t));
    qsort(sorted, l->exts.n, sizeof(uint16_t), cmp_u16);
    done = sha_hexlist(&h, sorted, l->exts.n, true, 0);
    if (l->sigalgs.n > 0) {
        sha256_update(&h, 1, (const uint8_t *)"_");
        done += sha_hexlist(&h, l->sigalgs.v, l->sigalgs.n, false, 0);
    }
    sha_trunc12(&h, done == 0, ch->ja4 + 24);
}

/* ---- the hellos ---- */

/* legacy_version, random, session id: common to both hellos. */
static void hello_start(struct rd *r, uint16_t *version, uint8_t *sid, uint8_t *sid_len,
                        const uint8_t **random)
{
    *version = rd_be16(r);
    *random = rd_take(r, 32);
    uint8_t n = rd_u8(r);
    if (n > 32) {
        r->bad = true;
        return;
    }
    rd_copy(r, sid, n);
    *sid_len = r->bad ? 0 : n;
}

static uint8_t copy_u16s(uint16_t *dst, size_t cap, const struct u16list *src)
{
    size_t k = src->n < cap ? src->n : cap;
    memcpy(dst, src->v, k * sizeof(uint16_t));
    return (uint8_t)k;
}

/* The lists for tls.client_handshake, before JA4 sorts the ciphers. */
static void hs_lists(struct tls_client_hello *ch, const struct ch_lists *l)
{
    struct tls_hs_lists *h = &ch->hs;
    h->version = l->maxver > ch->version ? l->maxver : ch->version;
    h->nciphers = copy_u16s(h->ciphers, TLS_LOG_CIPHERS, &l->ciphers);
    h->nexts = copy_u16s(h->exts, TLS_LOG_EXTS, &l->exts);
    h->nsigalgs = copy_u16s(h->sigalgs, TLS_LOG_SIGALGS, &l->sigalgs);
}

uint32_t tls_parse_client_hello(const uint8_t *b, size_t n, struct tls_client_hello *ch, bool ja3,
                                bool ja4)
{
    struct ch_lists lists; /* about 9 KiB: on the stack, no allocation */
    struct ch_lists *l = &lists;
    memset(l, 0, sizeof(*l));
    memset(ch, 0, sizeof(*ch));
    struct rd r = rd_init(b, n);
    const uint8_t *random;
    hello_start(&r, &ch->version, ch->sid, &ch->sid_len, &random);
    struct rd cs = rd_sub(&r, rd_be16(&r));
    while (rd_left(&cs) >= 2) {
        uint16_t c = rd_be16(&cs);
        if (!is_grease(c))
            list_add(&l->ciphers, c, &l->an);
    }
    struct rd comp = rd_sub(&r, rd_u8(&r));
    (void)comp;
    if (r.bad || rd_left(&cs) != 0)
        l->an |= AN(TLS_AN_BAD_HANDSHAKE);
    else
        ch_extensions(&r, ch, l);
    hs_lists(ch, l);
    if (ja3)
        ja3_build(ch, l);
    if (ja4)
        ja4_build(ch, l);
    return l->an;
}

/* RFC 8446 4.1.3: the random of a HelloRetryRequest. */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static void sh_extension(uint16_t type, struct rd *e, struct tls_server_hello *sh, uint32_t *an)
{
    if (type == EXT_SUPPORTED_VERSIONS) {
        sh->selected = rd_be16(e);
    } else if (type == EXT_ALPN) {
        struct rd list = rd_sub(e, rd_be16(e));
        uint8_t len = rd_u8(&list);
        const uint8_t *p = rd_take(&list, len);
        if (p != NULL && len < sizeof(sh->alpn)) {
            memcpy(sh->alpn, p, len);
            sh->alpn_len = len;
        }
    }
    if (e->bad)
        *an |= AN(TLS_AN_BAD_EXTENSION);
}

uint32_t tls_parse_server_hello(const uint8_t *b, size_t n, struct tls_server_hello *sh, bool ja3)
{
    uint32_t an = 0;
    memset(sh, 0, sizeof(*sh));
    struct rd r = rd_init(b, n);
    const uint8_t *random;
    sh->version = rd_be16(&r);
    uint16_t wire = sh->version; /* JA3S takes the version as sent */
    r.off = 0;
    if ((sh->version & 0xff00) == 0x7f00 || sh->version == 0x0304) {
        /* TLS 1.3 drafts before 22: no session id, no compression method. Drafts
         * 1-15 wrote 0x0304 here (and some 0x7f01-0x7f0f): Suricata names both
         * "TLS 1.3 draft-<16" (TLS_VERSION_13_PRE_DRAFT16), so they become 0x7f00. */
        sh->version = rd_be16(&r);
        if (sh->version == 0x0304 || (sh->version > 0x7f00 && sh->version < 0x7f10))
            sh->version = 0x7f00;
        random = rd_take(&r, 32);
        sh->cipher = rd_be16(&r);
    } else {
        hello_start(&r, &sh->version, sh->sid, &sh->sid_len, &random);
        sh->cipher = rd_be16(&r);
        (void)rd_u8(&r); /* compression method */
    }
    if (r.bad)
        return AN(TLS_AN_BAD_HANDSHAKE);
    sh->hrr = random != NULL && memcmp(random, hrr_random, 32) == 0;
    struct fptext t;
    fp_init(&t, sh->ja3s, sizeof(sh->ja3s));
    fp_num(&t, wire, false);
    fp_put(&t, ",", 1);
    fp_num(&t, sh->cipher, false);
    fp_put(&t, ",", 1);
    struct rd exts = rd_sub(&r, rd_left(&r) > 0 ? rd_be16(&r) : 0);
    size_t k = 0;
    while (rd_left(&exts) > 0) {
        uint16_t type = rd_be16(&exts);
        struct rd e = rd_sub(&exts, rd_be16(&exts));
        if (exts.bad)
            break;
        if (!is_grease(type))
            fp_num(&t, type, k++ > 0);
        sh_extension(type, &e, sh, &an);
    }
    if (exts.bad || r.bad)
        an |= AN(TLS_AN_BAD_HANDSHAKE);
    if (ja3) {
        md5_digest(&t.md5, MD5_DIGEST_SIZE, sh->ja3s_md5);
        sh->ja3s_len = (uint16_t)t.len;
        sh->ja3s_trunc = t.trunc;
    }
    return an;
}
