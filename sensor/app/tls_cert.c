/*
 * The Certificate handshake message of TLS 1.2 and older (RFC 5246 7.4.2): a 24-bit
 * list length, then certificates each with a 24-bit length and DER bytes. The first
 * (the server's own) is decoded with OpenSSL's d2i_X509 into the fields Suricata
 * logs, in Suricata's forms: subject and issuer "C=US, O=..., CN=..." (RDNs in
 * certificate order joined by ", ", multi-valued ones by " + "), serial as the
 * DER INTEGER's content bytes "00:8A:..." (upper case), validity as
 * "2016-01-01T00:00:00" (UTC), SHA-1 of the DER "aa:bb:..." (written by the event
 * writer), and the dNSName subjectAltNames. The next certificates, up to
 * max_certs in all, only have their framing checked: decoding them cost more than
 * the rest of the parser (OpenSSL's decoder allocates and locks) and nothing is
 * logged from them. OpenSSL's own allocations are not counted in MEM_APP; they live
 * only during this call.
 *
 * A server sends the same certificate to every client, and decoding it with OpenSSL
 * costs more than the rest of the handshake, so decoded certificates are kept in a
 * direct-mapped cache (otasuke/dmcache.h) keyed by the SHA-256 of their DER bytes:
 * a recurring certificate is decoded once. Certificates OpenSSL refuses are cached
 * as refused.
 */
#include "app/tls_int.h"

#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "otasuke/dmcache.h"
#include "otasuke/rd.h"

#define AN(a) (1u << (a))

/* Appends s[0..n) to out (capacity cap with the NUL), cutting at the cap. */
static void text_put(char *out, size_t cap, uint16_t *len, const char *s, size_t n)
{
    size_t room = cap - 1 - *len;
    size_t k = n < room ? n : room;
    memcpy(out + *len, s, k);
    *len = (uint16_t)(*len + k);
    out[*len] = '\0';
}

static void dn_entry(const X509_NAME_ENTRY *e, char *out, size_t cap, uint16_t *len)
{
    const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
    int nid = OBJ_obj2nid(o);
    const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
    char oid[80];
    if (sn == NULL) {
        if (OBJ_obj2txt(oid, sizeof(oid), o, 1) <= 0)
            oid[0] = '\0';
        sn = oid;
    }
    text_put(out, cap, len, sn, strlen(sn));
    text_put(out, cap, len, "=", 1);
    unsigned char *u = NULL;
    int ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
    if (ul > 0)
        text_put(out, cap, len, (const char *)u, (size_t)ul);
    OPENSSL_free(u);
}

static void dn_text(const X509_NAME *nm, char *out, size_t cap, uint16_t *len)
{
    *len = 0;
    out[0] = '\0';
    if (nm == NULL)
        return;
    int cnt = X509_NAME_entry_count(nm);
    int prev = -1;
    for (int i = 0; i < cnt; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
        int set = X509_NAME_ENTRY_set(e);
        if (i > 0)
            text_put(out, cap, len, set == prev ? " + " : ", ", set == prev ? 3 : 2);
        prev = set;
        dn_entry(e, out, cap, len);
    }
}

static void time_text(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;
    out[0] = '\0';
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return;
    /* ASN1_TIME_to_tm gives a normalised time (GeneralizedTime years end at 9999):
     * every field fits its width; the reductions tell the compiler so. */
    unsigned year = tm.tm_year + 1900 < 0 ? 0u : (unsigned)(tm.tm_year + 1900) % 10000u;
    snprintf(out, cap, "%04u-%02u-%02uT%02u:%02u:%02u", year,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

/* The serial's DER content bytes (with the sign octet when there is one). */
static void serial_bytes(const X509 *x, struct tls_cert *c)
{
    const ASN1_INTEGER *s = X509_get0_serialNumber(x);
    uint8_t der[TLS_SERIAL_MAX + 8];
    int n = i2d_ASN1_INTEGER(s, NULL);
    if (n <= 0 || (size_t)n > sizeof(der))
        return;
    uint8_t *p = der;
    if (i2d_ASN1_INTEGER(s, &p) != n)
        return;
    struct rd r = rd_init(der, (size_t)n);
    (void)rd_u8(&r); /* tag 0x02 */
    size_t len = rd_u8(&r);
    if (len == 0x81)
        len = rd_u8(&r);
    else if (len > 0x7f)
        return;
    if (rd_left(&r) != len || len > TLS_SERIAL_MAX)
        return;
    rd_copy(&r, c->serial, len);
    c->serial_len = (uint8_t)len;
}

static void san_names(X509 *x, struct tls_cert *c)
{
    GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (g == NULL)
        return;
    int cnt = sk_GENERAL_NAME_num(g);
    for (int i = 0; i < cnt && c->nsan < TLS_MAX_SAN; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
        if (gn->type != GEN_DNS)
            continue;
        int n = ASN1_STRING_length(gn->d.dNSName);
        if (n <= 0 || n > 255 || (size_t)n > (size_t)TLS_SAN_POOL - c->san_pool_len)
            continue;
        memcpy(c->san_pool + c->san_pool_len, ASN1_STRING_get0_data(gn->d.dNSName), (size_t)n);
        c->san_off[c->nsan] = c->san_pool_len;
        c->san_len[c->nsan++] = (uint8_t)n;
        c->san_pool_len = (uint16_t)(c->san_pool_len + n);
    }
    GENERAL_NAMES_free(g);
}

/* Decodes one DER certificate with OpenSSL into *c. Returns false when OpenSSL
 * refuses it. */
static bool cert_decode_openssl(const uint8_t *der, size_t n, struct tls_cert *c)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    if (x == NULL)
        return false;
    memset(c, 0, sizeof(*c));
    dn_text(X509_get_subject_name(x), c->subject, sizeof(c->subject), &c->subject_len);
    dn_text(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer), &c->issuer_len);
    serial_bytes(x, c);
    time_text(X509_get0_notBefore(x), c->notbefore, sizeof(c->notbefore));
    time_text(X509_get0_notAfter(x), c->notafter, sizeof(c->notafter));
    san_names(x, c);
    struct sha1_ctx h;
    sha1_init(&h);
    sha1_update(&h, n, der);
    sha1_digest(&h, sizeof(c->sha1), c->sha1);
    X509_free(x);
    return true;
}

#define CERT_CACHE 256
struct cert_answer {
    bool ok;
    struct tls_cert c;
};
/* 256 * ~1.7 KiB of MEM_CORE (per thread, not per flow: each pipeline worker thread
 * has its own, freed by tls_cert_cache_free on that thread), made at first use */
static _Thread_local struct dmcache *g_certs;
static _Thread_local bool g_certs_tried;

/* As cert_decode_openssl, through the cache. */
static bool cert_decode(const uint8_t *der, size_t n, struct tls_cert *c)
{
    if (!g_certs_tried) {
        g_certs_tried = true;
        g_certs = dmcache_new(MEM_CORE, CERT_CACHE, SHA256_DIGEST_SIZE, sizeof(struct cert_answer));
    }
    uint8_t key[SHA256_DIGEST_SIZE];
    struct sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, n, der);
    sha256_digest(&h, sizeof(key), key);
    const struct cert_answer *hit = dmcache_get(g_certs, key, sizeof(key));
    if (hit != NULL) {
        if (hit->ok)
            memcpy(c, &hit->c, sizeof(*c));
        return hit->ok;
    }
    bool ok = cert_decode_openssl(der, n, c);
    struct cert_answer *slot = dmcache_put(g_certs, key, sizeof(key));
    if (slot != NULL) {
        slot->ok = ok;
        if (ok)
            memcpy(&slot->c, c, sizeof(*c));
    }
    return ok;
}

void tls_cert_cache_counts(uint64_t *lookups, uint64_t *hits)
{
    dmcache_counts(g_certs, lookups, hits);
}

void tls_cert_cache_free(void)
{
    dmcache_free(g_certs);
    g_certs = NULL;
    g_certs_tried = false;
}

static uint32_t rd_be24(struct rd *r)
{
    uint32_t hi = rd_u8(r);
    return hi << 16 | rd_be16(r);
}

uint32_t tls_parse_certificate(const uint8_t *b, size_t n, int max_certs, struct tls_cert *c,
                               bool *ok)
{
    uint32_t an = 0;
    *ok = false;
    struct rd r = rd_init(b, n);
    struct rd list = rd_sub(&r, rd_be24(&r));
    if (r.bad || rd_left(&r) != 0)
        an |= AN(TLS_AN_BAD_CERTIFICATE);
    for (int i = 0; rd_left(&list) > 0 && i < max_certs; i++) {
        uint32_t len = rd_be24(&list);
        const uint8_t *der = rd_take(&list, len);
        if (der == NULL || len == 0) {
            an |= AN(TLS_AN_BAD_CERTIFICATE);
            break;
        }
        if (i > 0)
            continue; /* the chain's other certificates: framing checked, not decoded */
        *ok = cert_decode(der, len, c);
        if (!*ok)
            an |= AN(TLS_AN_BAD_CERTIFICATE);
    }
    return an;
}
