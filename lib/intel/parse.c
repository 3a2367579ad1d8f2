/*
 * Indicator text to lookup keys: IP addresses and CIDR ranges, ip:port endpoints,
 * domains, URLs (normalised), paths, hex digests and TLS fingerprints.
 *
 * Every function reads only t[0..n) (never a NUL) and writes only within the output it
 * is given; text that is not a valid indicator of the asked type is refused with a static
 * reason, never half-added. The normalisations here are the same ones the lookups apply,
 * so that a listed indicator and an observed value meet on the same key.
 */
#define _GNU_SOURCE /* memmem, memrchr */
#include "intel/intel_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "otasuke/ascii.h"
#include "otasuke/err.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool intel_hex_decode(const char *t, size_t len, uint8_t *out)
{
    for (size_t i = 0; i < len; i++) {
        int hi = ascii_hexval((unsigned char)t[2 * i]);
        int lo = ascii_hexval((unsigned char)t[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool all_hex(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ascii_hexval((unsigned char)t[i]) < 0)
            return false;
    return true;
}

/* Parses decimal digits t[0..n) into *v, at most max. */
static bool parse_uint(const char *t, size_t n, unsigned max, unsigned *v)
{
    unsigned x = 0;
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        x = x * 10 + (unsigned)(t[i] - '0');
    }
    if (x > max)
        return false;
    *v = x;
    return true;
}

/* Address only (no prefix) into out->addr / out->v4; v4-mapped v6 becomes v4. */
static bool parse_addr(const char *t, size_t n, struct intel_ind *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, t, n);
    buf[n] = '\0';
    if (memchr(t, ':', n) == NULL) {
        if (inet_pton(AF_INET, buf, out->addr + 12) != 1)
            return false;
        memcpy(out->addr, v4_mapped, sizeof(v4_mapped));
        out->v4 = true;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->addr) != 1)
        return false;
    out->v4 = memcmp(out->addr, v4_mapped, sizeof(v4_mapped)) == 0;
    return true;
}

/* Clears the host bits of out->addr beyond the prefix (1.2.3.4/24 is 1.2.3.0/24). */
static void mask_addr(struct intel_ind *out)
{
    unsigned bits = out->v4 ? out->plen + 96 : out->plen;
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : (bits > 8 * i ? bits - 8 * i : 0);
        out->addr[i] &= (uint8_t)(0xff00u >> keep);
    }
}

int intel_parse_ip(const char *t, size_t n, struct intel_ind *out)
{
    const char *slash = memchr(t, '/', n);
    size_t alen = slash ? (size_t)(slash - t) : n;
    if (!parse_addr(t, alen, out))
        return ERR_INVAL;
    bool mapped = out->v4 && memchr(t, ':', alen) != NULL;
    unsigned max = out->v4 && !mapped ? 32 : 128, plen = max;
    if (slash && !parse_uint(slash + 1, n - alen - 1, max, &plen))
        return ERR_INVAL;
    if (mapped) {
        if (plen < 96) /* a range wider than the mapped block: keep it as v6 */
            out->v4 = false;
        else
            plen -= 96;
    }
    out->kind = INTEL_KIND_IP;
    out->plen = plen;
    mask_addr(out);
    return 0;
}

/* "a.b.c.d:port" or "[v6]:port". */
static int parse_endpoint(const char *t, size_t n, struct intel_ind *out)
{
    const char *end = t + n, *colon, *a = t;
    size_t alen;
    unsigned port;
    if (n > 0 && t[0] == '[') {
        const char *close = memchr(t, ']', n);
        if (close == NULL || close + 1 >= end || close[1] != ':')
            return ERR_INVAL;
        colon = close + 1;
        a = t + 1;
        alen = (size_t)(close - a);
    } else {
        colon = memchr(t, ':', n);
        if (colon == NULL || memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL)
            return ERR_INVAL;
        alen = (size_t)(colon - t);
    }
    if (!parse_addr(a, alen, out) ||
        !parse_uint(colon + 1, (size_t)(end - colon - 1), 65535, &port))
        return ERR_INVAL;
    out->kind = INTEL_KIND_ENDPOINT;
    out->port = (uint16_t)port;
    memcpy(out->key, out->addr, 16);
    out->key[16] = (uint8_t)(port >> 8);
    out->key[17] = (uint8_t)port;
    out->klen = 18;
    return 0;
}

static bool label_ok(const char *l, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        if (!isalnum(c) && c != '-' && c != '_')
            return false;
    }
    return true;
}

int intel_domain_normalize(const char *t, size_t n, char *out, size_t cap)
{
    bool dotted = n >= 1 && t[0] == '.'; /* ".zip": a whole TLD, on purpose (maltrail) */
    if (n >= 2 && t[0] == '*' && t[1] == '.') {
        t += 2;
        n -= 2;
    } else if (dotted) {
        t++;
        n--;
    }
    if (n > 0 && t[n - 1] == '.')
        n--;
    if (n == 0 || n > INTEL_MAX_DOMAIN || n > cap)
        return -1;
    size_t start = 0;
    bool digits_only = true;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && t[i] != '.') {
            out[i] = (char)ascii_lower((unsigned char)t[i]);
            digits_only = digits_only && isdigit((unsigned char)t[i]);
            continue;
        }
        if (!label_ok(t + start, i - start))
            return -1;
        if (i < n) {
            out[i] = '.';
            digits_only = true;
        }
        start = i + 1;
    }
    /* a numeric last label is a broken address; one label alone would match a whole TLD,
     * which only a leading dot asks for */
    return digits_only || (!dotted && memchr(out, '.', n) == NULL) ? -1 : (int)n;
}

static bool scheme_ok(const char *t, size_t n)
{
    if (n == 0 || n > 16 || !isalpha((unsigned char)t[0]))
        return false;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (!isalnum(c) && c != '+' && c != '-' && c != '.')
            return false;
    }
    return true;
}

/* Whether `port` is the default of `scheme` (NULL: no scheme, 80 and 443 both are). */
static bool default_port(const char *scheme, size_t slen, unsigned port)
{
    if (scheme == NULL)
        return port == 80 || port == 443;
    if (slen == 4 && strncasecmp(scheme, "http", 4) == 0)
        return port == 80;
    if (slen == 5 && strncasecmp(scheme, "https", 5) == 0)
        return port == 443;
    return false;
}

/* A URL host: a name of letters, digits, '-', '_' and '.', or a bracketed IPv6 literal. */
static bool host_ok(const char *h, size_t n)
{
    if (n >= 2 && h[0] == '[')
        return h[n - 1] == ']';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.')
            return false;
    }
    return true;
}

struct url_parts {
    const char *scheme, *host, *port, *rest;
    size_t slen, hlen, plen, rlen;
};

/* Splits url into scheme, host, port and path+query (fragment dropped). */
static bool url_split(const char *u, size_t n, struct url_parts *p)
{
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
            return false;
    const char *sep = n >= 3 ? memmem(u, n, "://", 3) : NULL;
    const char *slash = memchr(u, '/', n);
    if (sep != NULL && slash != NULL && slash < sep)
        sep = NULL; /* "host/path/http://x": a URL inside the path, no scheme */
    if (sep != NULL) {
        p->scheme = u;
        p->slen = (size_t)(sep - u);
        if (!scheme_ok(u, p->slen))
            return false;
        n -= p->slen + 3;
        u = sep + 3;
    }
    const char *frag = memchr(u, '#', n);
    if (frag)
        n = (size_t)(frag - u);
    size_t alen = 0;
    while (alen < n && u[alen] != '/' && u[alen] != '?')
        alen++;
    p->rest = u + alen;
    p->rlen = n - alen;
    for (size_t i = alen; i > 0; i--) /* userinfo: up to the last '@' */
        if (u[i - 1] == '@') {
            alen -= i;
            u += i;
            break;
        }
    p->host = u;
    p->hlen = alen;
    const char *close = alen > 0 && u[0] == '[' ? memchr(u, ']', alen) : NULL;
    const char *colon = memrchr(u, ':', alen);
    if (colon != NULL && (u[0] != '[' || (close != NULL && colon > close))) {
        p->port = colon + 1;
        p->plen = alen - (size_t)(colon + 1 - u);
        p->hlen = (size_t)(colon - u);
    }
    return p->hlen > 0 && host_ok(p->host, p->hlen);
}

int intel_url_normalize(const char *url, size_t len, char *out, size_t cap)
{
    struct url_parts p;
    if (!url_split(url, len, &p))
        return -1;
    size_t hlen = p.hlen;
    if (hlen > 1 && p.host[hlen - 1] == '.')
        hlen--;
    unsigned port = 0;
    if (p.port != NULL && p.plen > 0 && !parse_uint(p.port, p.plen, 65535, &port))
        return -1;
    bool keep_port = p.port != NULL && p.plen > 0 && !default_port(p.scheme, p.slen, port);
    size_t need = hlen + (keep_port ? 6 : 0) + 1 + p.rlen;
    if (need >= cap || need > INTEL_MAX_URL)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < hlen; i++)
        out[o++] = (char)ascii_lower((unsigned char)p.host[i]);
    if (keep_port)
        o += (size_t)snprintf(out + o, cap - o, ":%u", port);
    if (p.rlen == 0 || p.rest[0] != '/')
        out[o++] = '/';
    memcpy(out + o, p.rest, p.rlen);
    o += p.rlen;
    out[o] = '\0';
    return (int)o;
}

static int parse_domain(const char *t, size_t n, struct intel_ind *out)
{
    int len = intel_domain_normalize(t, n, (char *)out->key, sizeof(out->key));
    if (len < 0)
        return ERR_INVAL;
    out->kind = INTEL_KIND_DOMAIN;
    out->klen = (size_t)len;
    return 0;
}

static int parse_url(const char *t, size_t n, struct intel_ind *out)
{
    int len = intel_url_normalize(t, n, (char *)out->key, sizeof(out->key));
    if (len < 0)
        return ERR_INVAL;
    out->kind = INTEL_KIND_URL;
    out->klen = (size_t)len;
    return 0;
}

static int parse_path(const char *t, size_t n, struct intel_ind *out)
{
    if (n == 0 || t[0] != '/' || n > INTEL_MAX_URL)
        return ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
            return ERR_INVAL;
    memcpy(out->key, t, n);
    out->kind = INTEL_KIND_PATH;
    out->klen = n;
    return 0;
}

static int parse_digest(enum intel_kind kind, const char *t, size_t n, struct intel_ind *out)
{
    size_t want = kind == INTEL_KIND_SHA256 ? 64 : kind == INTEL_KIND_SHA1 ? 40 : 32;
    if (n != want || !intel_hex_decode(t, n / 2, out->key))
        return ERR_INVAL;
    out->kind = kind;
    out->klen = n / 2;
    return 0;
}

static int parse_hash(const char *t, size_t n, struct intel_ind *out)
{
    switch (n) {
    case 32:
        return parse_digest(INTEL_KIND_MD5, t, n, out);
    case 40:
        return parse_digest(INTEL_KIND_SHA1, t, n, out);
    case 64:
        return parse_digest(INTEL_KIND_SHA256, t, n, out);
    default:
        return ERR_INVAL;
    }
}

/* JA4: "t13d1516h2_8daaf6152771_b186095e22b6" and its raw forms; printable, no spaces. */
static int parse_ja4(const char *t, size_t n, struct intel_ind *out)
{
    if (n < 10 || n > 512 || memchr(t, '_', n) == NULL)
        return ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f)
            return ERR_INVAL;
        out->key[i] = (uint8_t)ascii_lower(c);
    }
    out->kind = INTEL_KIND_JA4;
    out->klen = n;
    return 0;
}

/* A URL whose path is "/" with no query names only its host: keep it as the host. */
static int parse_url_or_host(const char *t, size_t n, struct intel_ind *out)
{
    int rc = parse_url(t, n, out);
    if (rc != 0 || out->klen < 2 || out->key[out->klen - 1] != '/' ||
        memchr(out->key, '/', out->klen) != out->key + out->klen - 1 ||
        memchr(out->key, ':', out->klen) != NULL)
        return rc;
    size_t hlen = out->klen - 1;
    char host[INTEL_MAX_DOMAIN + 1];
    if (hlen > INTEL_MAX_DOMAIN)
        return rc;
    memcpy(host, out->key, hlen);
    if (intel_parse_ip(host, hlen, out) == 0)
        return 0;
    return parse_domain(host, hlen, out);
}

static bool has_scheme(const char *t, size_t n)
{
    const char *sep = n >= 3 ? memmem(t, n, "://", 3) : NULL;
    const char *slash = memchr(t, '/', n);
    return sep != NULL && slash == sep + 1 && scheme_ok(t, (size_t)(sep - t));
}

static int parse_auto(const char *t, size_t n, struct intel_ind *out)
{
    if (n > 0 && t[0] == '/')
        return parse_path(t, n, out);
    if (has_scheme(t, n))
        return parse_url_or_host(t, n, out);
    if (intel_parse_ip(t, n, out) == 0)
        return 0;
    if (memchr(t, ':', n) != NULL && memchr(t, '/', n) == NULL && parse_endpoint(t, n, out) == 0)
        return 0;
    if ((n == 32 || n == 40 || n == 64) && all_hex(t, n))
        return parse_hash(t, n, out);
    if (memchr(t, '/', n) != NULL || memchr(t, '?', n) != NULL || memchr(t, ':', n) != NULL)
        return parse_url_or_host(t, n, out);
    return parse_domain(t, n, out);
}

int intel_parse(enum intel_type type, const char *t, size_t n, struct intel_ind *out,
                const char **why)
{
    int rc;
    *why = "not a valid indicator";
    out->kind = INTEL_KIND_NONE;
    out->v4 = false;
    out->port = 0;
    switch (type) {
    case INTEL_TYPE_AUTO:
        rc = parse_auto(t, n, out);
        break;
    case INTEL_TYPE_IP:
        *why = "not an IP address or CIDR range";
        rc = intel_parse_ip(t, n, out);
        break;
    case INTEL_TYPE_DOMAIN:
        *why = "not a domain name";
        rc = parse_domain(t, n, out);
        break;
    case INTEL_TYPE_URL:
        *why = "not a URL";
        rc = parse_url(t, n, out);
        break;
    case INTEL_TYPE_HASH:
        *why = "not a md5/sha1/sha256 hex digest";
        rc = parse_hash(t, n, out);
        break;
    case INTEL_TYPE_MD5:
        rc = parse_digest(INTEL_KIND_MD5, t, n, out);
        break;
    case INTEL_TYPE_SHA1:
        rc = parse_digest(INTEL_KIND_SHA1, t, n, out);
        break;
    case INTEL_TYPE_SHA256:
        rc = parse_digest(INTEL_KIND_SHA256, t, n, out);
        break;
    case INTEL_TYPE_JA3:
        rc = parse_digest(INTEL_KIND_JA3, t, n, out);
        break;
    case INTEL_TYPE_JA4:
        *why = "not a JA4 fingerprint";
        rc = parse_ja4(t, n, out);
        break;
    default:
        rc = ERR_INVAL;
        break;
    }
    if (rc == 0)
        *why = NULL;
    else if (type == INTEL_TYPE_MD5 || type == INTEL_TYPE_SHA1 || type == INTEL_TYPE_SHA256 ||
             type == INTEL_TYPE_JA3)
        *why = "not a hex digest of the right length";
    return rc;
}
