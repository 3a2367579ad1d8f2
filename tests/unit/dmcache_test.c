/*
 * The direct-mapped answer cache (lib/base/dmcache.c) and its two users' contract:
 * a hit only for the exact key bytes, a new key takes its slot, limits refuse
 * cleanly; and the TLS certificate cache gives the same fields as a fresh decode.
 */
#include "otasuke/dmcache.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../sensor/app/tls.h"
#include "../sensor/app/tls_int.h"
#include "check.h"

static void test_hit_miss(void)
{
    struct dmcache *c = dmcache_new(MEM_CORE, 64, 16, sizeof(uint64_t));
    CHECK(c != NULL);
    CHECK(dmcache_get(c, "abc", 3) == NULL);
    uint64_t *v = dmcache_put(c, "abc", 3);
    CHECK(v != NULL);
    CHECK(*v == 0); /* zeroed */
    *v = 42;
    uint64_t *g = dmcache_get(c, "abc", 3);
    CHECK(g != NULL && *g == 42);
    CHECK(dmcache_get(c, "abd", 3) == NULL); /* same length, other bytes */
    CHECK(dmcache_get(c, "ab", 2) == NULL);  /* a prefix is another key */
    uint64_t lookups, hits;
    dmcache_counts(c, &lookups, &hits);
    CHECK_EQ_U64(lookups, 4);
    CHECK_EQ_U64(hits, 1);
    dmcache_free(c);
}

static void test_replacement(void)
{
    /* One slot: every key collides; the newest wins, the older one misses. */
    struct dmcache *c = dmcache_new(MEM_CORE, 1, 8, 4);
    CHECK(c != NULL);
    memcpy(dmcache_put(c, "one", 3), "1111", 4);
    memcpy(dmcache_put(c, "two", 3), "2222", 4);
    CHECK(dmcache_get(c, "one", 3) == NULL);
    const char *v = dmcache_get(c, "two", 3);
    CHECK(v != NULL && memcmp(v, "2222", 4) == 0);
    dmcache_free(c);
}

static void test_limits(void)
{
    struct dmcache *c = dmcache_new(MEM_CORE, 8, 4, 4);
    CHECK(c != NULL);
    CHECK(dmcache_put(c, "12345", 5) == NULL); /* longer than key_max */
    CHECK(dmcache_get(c, "12345", 5) == NULL);
    CHECK(dmcache_put(c, "", 0) == NULL); /* empty keys are never cached */
    dmcache_free(c);
    /* A NULL cache (refused at creation) answers nothing and counts nothing. */
    CHECK(dmcache_get(NULL, "x", 1) == NULL);
    CHECK(dmcache_put(NULL, "x", 1) == NULL);
    uint64_t l, h;
    dmcache_counts(NULL, &l, &h);
    CHECK(l == 0 && h == 0);
    CHECK(dmcache_new(MEM_CORE, 0, 4, 4) == NULL);
    /* The subsystem's cap is honoured. */
    mem_set_cap(MEM_INTEL, 1024);
    CHECK(dmcache_new(MEM_INTEL, 1024, 64, 64) == NULL);
    mem_set_cap(MEM_INTEL, 0);
    dmcache_free(NULL);
}

/* A self-signed certificate with a subject, an issuer and two DNS names, as DER in
 * a TLS Certificate message body (24-bit list length, 24-bit cert length, DER). */
static size_t make_cert_msg(uint8_t *out, size_t cap, const char *cn)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    size_t n = 0;
    if (k == NULL || x == NULL)
        goto out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)"大和精機", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509_EXTENSION *e =
        X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, "DNS:www.example.jp,DNS:example.jp");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    if (X509_sign(x, k, EVP_sha256()) == 0)
        goto out;
    int dl = i2d_X509(x, NULL);
    if (dl <= 0 || (size_t)dl + 6 > cap)
        goto out;
    uint8_t *p = out + 6;
    i2d_X509(x, &p);
    size_t l = (size_t)dl;
    out[0] = (uint8_t)((l + 3) >> 16), out[1] = (uint8_t)((l + 3) >> 8), out[2] = (uint8_t)(l + 3);
    out[3] = (uint8_t)(l >> 16), out[4] = (uint8_t)(l >> 8), out[5] = (uint8_t)l;
    n = l + 6;
out:
    X509_free(x);
    EVP_PKEY_free(k);
    return n;
}

static void test_cert_cache(void)
{
    static uint8_t m1[4096], m2[4096];
    size_t n1 = make_cert_msg(m1, sizeof m1, "www.example.jp");
    size_t n2 = make_cert_msg(m2, sizeof m2, "other.example.jp");
    CHECK(n1 > 0 && n2 > 0);
    static struct tls_cert a, b, c;
    bool ok;
    uint64_t l0, h0, l, h;
    tls_cert_cache_counts(&l0, &h0);
    CHECK(tls_parse_certificate(m1, n1, 8, &a, &ok) == 0 && ok);
    CHECK(tls_parse_certificate(m1, n1, 8, &b, &ok) == 0 && ok); /* from the cache */
    tls_cert_cache_counts(&l, &h);
    CHECK_EQ_U64(l - l0, 2);
    CHECK_EQ_U64(h - h0, 1);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    CHECK(strcmp(a.subject, "O=大和精機, CN=www.example.jp") == 0);
    CHECK(a.nsan == 2);
    /* Another certificate is decoded, not served from the first one's entry. */
    CHECK(tls_parse_certificate(m2, n2, 8, &c, &ok) == 0 && ok);
    CHECK(strcmp(c.subject, "O=大和精機, CN=other.example.jp") == 0);
    /* A certificate OpenSSL refuses is refused again from the cache. */
    m1[6 + 20] ^= 0xff;
    m1[6 + 21] ^= 0xff;
    bool ok1, ok2;
    uint32_t an1 = tls_parse_certificate(m1, n1, 8, &c, &ok1);
    uint32_t an2 = tls_parse_certificate(m1, n1, 8, &c, &ok2);
    CHECK(!ok1 && !ok2 && an1 == an2 && an1 != 0);
    tls_cert_cache_free();
}

int main(void)
{
    RUN(test_hit_miss);
    RUN(test_replacement);
    RUN(test_limits);
    RUN(test_cert_cache);
    return check_done();
}
