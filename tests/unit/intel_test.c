/*
 * Unit tests of the indicator sets (lib/intel): every loader format on small inline files
 * with malformed lines, CIDR matching, domains, URLs, hashes, fingerprints, memcap
 * failures, and the lists of ../shared/corpus/intel against its MANIFEST.tsv.
 */
#include "otasuke/intel.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/log.h"

/* A set with list 0 "a" (sev 2), list 1 "b" (sev 1), list 2 "c" (sev 3), each loaded
 * from one inline text with conf. */
struct fixture {
    struct intel_set *s;
    struct intel_load_stats st[3];
};

static const struct intel_list_conf plain_conf = {.name = "t", .format = INTEL_FMT_PLAIN};

static int load(struct intel_set *s, unsigned list, const struct intel_list_conf *c,
                const char *text, struct intel_load_stats *st)
{
    memset(st, 0, sizeof(*st));
    return intel_set_load_buf(s, list, c, "inline", (const uint8_t *)text, strlen(text), st);
}

static struct intel_set *one_list(const struct intel_list_conf *c, const char *text,
                                  struct intel_load_stats *st)
{
    struct intel_set *s = intel_set_new();
    if (s == NULL || intel_set_add_list(s, "l0", "c2", 2) != 0 || load(s, 0, c, text, st) != 0 ||
        intel_set_freeze(s) != 0) {
        intel_set_unref(s);
        return NULL;
    }
    return s;
}

static uint32_t ip4(const char *t)
{
    struct in_addr a;
    if (inet_pton(AF_INET, t, &a) != 1)
        abort();
    return ntohl(a.s_addr);
}

static bool ip6(const struct intel_set *s, const char *t, struct intel_hit *h)
{
    uint8_t a[16];
    if (inet_pton(AF_INET6, t, a) != 1)
        abort();
    return intel_lookup_ip6(s, a, h);
}

static bool dom(const struct intel_set *s, const char *name)
{
    struct intel_hit h;
    return intel_lookup_domain(s, name, strlen(name), &h);
}

static void test_plain_formats(void)
{
    struct intel_load_stats st;
    const char *text = "# comment\n"
                       "! adblock comment\n"
                       "[Adblock Plus]\n"
                       "\n"
                       "0.0.0.0 evil.com\n"
                       "127.0.0.1 localhost\n"
                       "  Bad.Example.ORG.  # trailing comment\r\n"
                       "||ads.test/path/x.js^$all\n"
                       "||adhost.test^\n"
                       "192.0.2.1\t7\n"
                       "198.51.100.0/24\n"
                       "this is not valid\n"
                       "bad..dots.com\n"
                       "1.2.3.256\n"
                       "http://203.0.113.9\n"
                       "44d88612fea8a8f36de82e1278abb02f\n";
    struct intel_set *s = one_list(&plain_conf, text, &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.lines, 16);
    CHECK_EQ_U64(st.loaded, 8);
    CHECK_EQ_U64(st.rejected, 3);
    CHECK(strstr(st.first_error, "inline:12:") == st.first_error);
    CHECK(dom(s, "evil.com"));
    CHECK(dom(s, "bad.example.org"));
    CHECK(dom(s, "adhost.test"));
    CHECK(!dom(s, "localhost"));
    struct intel_hit h;
    CHECK(intel_lookup_url(s, "http://ads.test/path/x.js", 25, &h));
    CHECK(intel_lookup_ip4(s, ip4("192.0.2.1"), &h));
    CHECK(intel_lookup_ip4(s, ip4("198.51.100.77"), &h));
    CHECK_EQ_U64(h.prefix_len, 24);
    CHECK(intel_lookup_ip4(s, ip4("203.0.113.9"), &h)); /* a host-only URL is the host */
    uint8_t md5[16] = {0x44, 0xd8, 0x86, 0x12, 0xfe, 0xa8, 0xa8, 0xf3,
                       0x6d, 0xe8, 0x2e, 0x12, 0x78, 0xab, 0xb0, 0x2f};
    CHECK(intel_lookup_hash(s, md5, 16, &h));
    CHECK_EQ_U64(intel_set_count(s, INTEL_KIND_DOMAIN), 3);
    intel_set_unref(s);
}

static void test_cidr(void)
{
    struct intel_set *s = intel_set_new();
    struct intel_load_stats st;
    CHECK(intel_set_add_list(s, "wide", "spam", 4) == 0);
    CHECK(intel_set_add_list(s, "narrow", "c2", 1) == 1);
    CHECK(intel_set_add_list(s, "v6", "malware", 2) == 2);
    CHECK(load(s, 0, &plain_conf, "0.0.0.0/0\n10.0.0.0/8\n", &st) == 0);
    CHECK(load(s, 1, &plain_conf, "10.1.0.0/16\n10.1.2.3/32\n10.255.255.255\n", &st) == 0);
    CHECK(load(s, 2, &plain_conf,
               "2001:db8::/32\n2001:db8:1::1/128\n::ffff:192.0.2.0/120\n10.1.2.3\n::/0\n",
               &st) == 0);
    CHECK_EQ_U64(st.rejected, 0);
    CHECK(intel_set_freeze(s) == 0);
    struct intel_hit h;
    CHECK(intel_lookup_ip4(s, ip4("8.8.8.8"), &h));
    CHECK_EQ_U64(h.prefix_len, 0);
    CHECK_EQ_U64(h.n, 1);
    CHECK(intel_lookup_ip4(s, ip4("10.9.9.9"), &h));
    CHECK_EQ_U64(h.prefix_len, 8);
    CHECK(intel_lookup_ip4(s, ip4("10.1.9.9"), &h));
    CHECK_EQ_U64(h.prefix_len, 16);
    CHECK_EQ_U64(h.n, 2);
    CHECK_EQ_U64(h.lists[0], 1); /* most severe first */
    CHECK_EQ_U64(h.lists[1], 0);
    CHECK(intel_lookup_ip4(s, ip4("10.1.2.3"), &h));
    CHECK_EQ_U64(h.prefix_len, 32);
    CHECK_EQ_U64(h.n, 3);
    CHECK_EQ_U64(h.lists[0], 1);
    CHECK_EQ_U64(h.lists[1], 2);
    CHECK_EQ_U64(h.lists[2], 0);
    CHECK(intel_lookup_ip4(s, ip4("10.1.2.4"), &h));
    CHECK_EQ_U64(h.prefix_len, 16);
    CHECK(intel_lookup_ip4(s, ip4("10.255.255.255"), &h));
    CHECK_EQ_U64(h.prefix_len, 32);
    CHECK(intel_lookup_ip4(s, ip4("11.0.0.0"), &h));
    CHECK_EQ_U64(h.prefix_len, 0);
    CHECK(intel_lookup_ip4(s, ip4("255.255.255.255"), &h));
    /* v4-mapped looks up v4; ::ffff:192.0.2.0/120 was stored as 192.0.2.0/24 */
    CHECK(ip6(s, "::ffff:10.1.2.3", &h));
    CHECK_EQ_U64(h.prefix_len, 32);
    CHECK(intel_lookup_ip4(s, ip4("192.0.2.200"), &h));
    CHECK_EQ_U64(h.prefix_len, 24);
    CHECK(ip6(s, "2001:db8:1::1", &h));
    CHECK_EQ_U64(h.prefix_len, 128);
    CHECK(ip6(s, "2001:db8:1::2", &h));
    CHECK_EQ_U64(h.prefix_len, 32);
    CHECK(ip6(s, "2001:db9::1", &h));
    CHECK_EQ_U64(h.prefix_len, 0);
    CHECK(ip6(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &h));
    intel_set_unref(s);
}

static void test_cidr_no_default(void)
{
    struct intel_load_stats st;
    struct intel_list_conf c = {.name = "ip", .type = INTEL_TYPE_IP};
    struct intel_set *s = one_list(&c,
                                   "255.255.255.255\n0.0.0.0\n1.2.3.4/24\n1.2.3.4/33\n::1/129\n"
                                   "fe80::/10\n",
                                   &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.rejected, 2);
    struct intel_hit h;
    CHECK(intel_lookup_ip4(s, ip4("255.255.255.255"), &h));
    CHECK(!intel_lookup_ip4(s, ip4("255.255.255.254"), &h));
    CHECK(intel_lookup_ip4(s, ip4("0.0.0.0"), &h));
    CHECK(!intel_lookup_ip4(s, ip4("0.0.0.1"), &h));
    CHECK(intel_lookup_ip4(s, ip4("1.2.3.255"), &h)); /* host bits masked */
    CHECK(!intel_lookup_ip4(s, ip4("1.2.4.0"), &h));
    CHECK(ip6(s, "febf::1", &h));
    CHECK(!ip6(s, "fec0::", &h));
    CHECK(!ip6(s, "::1", &h));
    intel_set_unref(s);
}

/* Random prefixes against a brute-force reference: the union of the lists of every
 * covering prefix and the longest length, for n prefixes (small: no /16 index; large:
 * with it). */
static uint64_t xs = 88172645463325252ULL;
static uint32_t rnd(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return (uint32_t)xs;
}

struct ref_pfx {
    uint32_t addr;
    unsigned plen, list;
};

static struct ref_pfx ref_pfx[20000];

/* The reference: lists (bit mask) and longest length of the prefixes covering a. */
static bool ref_lookup(size_t n, uint32_t a, unsigned *mask, unsigned *plen)
{
    bool found = false;
    *mask = *plen = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ref_pfx *p = &ref_pfx[i];
        uint32_t m = p->plen ? ~(uint32_t)((1ULL << (32 - p->plen)) - 1) : 0;
        if ((a & m) == p->addr) {
            found = true;
            *mask |= 1u << p->list;
            *plen = p->plen > *plen ? p->plen : *plen;
        }
    }
    return found;
}

static void check_random_cidrs(size_t n)
{
    struct intel_set *s = intel_set_new();
    CHECK(s != NULL && n <= sizeof(ref_pfx) / sizeof(ref_pfx[0]));
    for (unsigned l = 0; l < 4; l++)
        CHECK(intel_set_add_list(s, "l", "c2", 4 - l) == (int)l);
    for (size_t i = 0; i < n; i++) {
        char text[32];
        uint32_t a = rnd() & 0x0fffffffu; /* dense enough for overlaps */
        unsigned plen = i % 3 == 0 ? 32 : 8 + rnd() % 25;
        ref_pfx[i].addr = a & ~(uint32_t)((1ULL << (32 - plen)) - 1);
        ref_pfx[i].plen = plen;
        ref_pfx[i].list = rnd() % 4;
        int tl = snprintf(text, sizeof(text), "%u.%u.%u.%u/%u", a >> 24, a >> 16 & 255,
                          a >> 8 & 255, a & 255, plen);
        CHECK(intel_set_add(s, ref_pfx[i].list, INTEL_TYPE_IP, text, (size_t)tl, NULL) == 0);
    }
    CHECK(intel_set_freeze(s) == 0);
    for (int q = 0; q < 20000; q++) {
        uint32_t a = q % 2 ? ref_pfx[rnd() % n].addr + (rnd() % 4) : rnd() & 0x0fffffffu;
        unsigned want_mask, want_plen, mask = 0;
        bool want = ref_lookup(n, a, &want_mask, &want_plen);
        struct intel_hit h;
        CHECK(intel_lookup_ip4(s, a, &h) == want);
        for (unsigned i = 0; want && i < h.n; i++) {
            mask |= 1u << h.lists[i];
            CHECK(i == 0 || h.lists[i] < h.lists[i - 1]); /* list l has severity 4 - l */
        }
        CHECK_EQ_U64(mask, want_mask);
        CHECK_EQ_U64(want ? h.prefix_len : 0, want_plen);
    }
    intel_set_unref(s);
}

static void test_cidr_random(void)
{
    check_random_cidrs(300);
    check_random_cidrs(20000);
}

static void test_domains(void)
{
    struct intel_load_stats st;
    struct intel_set *s = one_list(&plain_conf,
                                   "evil.com\n*.wild.test\nxn--80ak6aa92e.com\n"
                                   "deep.sub.example.net\ncom\n.zip\n",
                                   &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.rejected, 1); /* a bare TLD; ".zip" is one on purpose */
    CHECK(dom(s, "invoice.zip"));
    CHECK(dom(s, "evil.com"));
    CHECK(dom(s, "EVIL.COM."));
    CHECK(dom(s, "a.b.c.evil.com"));
    CHECK(!dom(s, "notevil.com"));
    CHECK(!dom(s, "evil.com.org"));
    CHECK(!dom(s, "vil.com"));
    CHECK(!dom(s, "com"));
    CHECK(!dom(s, "evil.co"));
    CHECK(dom(s, "wild.test"));
    CHECK(dom(s, "x.wild.test"));
    CHECK(dom(s, "XN--80AK6AA92E.com"));
    CHECK(!dom(s, "sub.example.net"));
    CHECK(dom(s, "x.deep.sub.example.net"));
    CHECK(!dom(s, ""));
    CHECK(!dom(s, "."));
    struct intel_hit h;
    CHECK(intel_lookup_domain(s, "www.evil.com", 12, &h));
    CHECK_EQ_U64(h.suffix_len, 8);
    intel_set_unref(s);
}

static void url_is(const char *in, const char *want)
{
    char out[INTEL_MAX_URL + 8];
    int n = intel_url_normalize(in, strlen(in), out, sizeof(out));
    if (want == NULL) {
        CHECK(n < 0);
        return;
    }
    CHECK(n >= 0);
    CHECK_STR(out, want);
}

static int url_fails;
#define URL_IS(in, want)                                                                           \
    do {                                                                                           \
        check_cur_failed = 0;                                                                      \
        url_is(in, want);                                                                          \
        if (check_cur_failed) {                                                                    \
            fprintf(stderr, "  url %s\n", in);                                                     \
            url_fails++;                                                                           \
        }                                                                                          \
    } while (0)

static void test_url_normalize(void)
{
    URL_IS("HTTP://Example.COM/Path?Q=1#frag", "example.com/Path?Q=1");
    URL_IS("https://example.com:443/a", "example.com/a");
    URL_IS("http://example.com:80", "example.com/");
    URL_IS("http://example.com:443/", "example.com:443/");
    URL_IS("https://example.com:8443/x", "example.com:8443/x");
    URL_IS("example.com/a/b", "example.com/a/b");
    URL_IS("example.com:80/a", "example.com/a");
    URL_IS("http://user:pw@Example.com./x", "example.com/x");
    URL_IS("http://[2001:DB8::1]:8080/x", "[2001:db8::1]:8080/x");
    URL_IS("http://example.com?x=1", "example.com/?x=1");
    URL_IS("http://example.com/%41", "example.com/%41");
    URL_IS("http://exa mple.com/", NULL);
    URL_IS("http:///nohost", NULL);
    URL_IS("http://example.com:99999/", NULL);
    URL_IS("1ttp://x.com/", NULL);
    URL_IS("web.archive.org/web/2022if_/https://x.test/a.pdf",
           "web.archive.org/web/2022if_/https://x.test/a.pdf");
    CHECK(url_fails == 0);
    struct intel_load_stats st;
    struct intel_list_conf c = {.name = "u", .type = INTEL_TYPE_URL};
    struct intel_set *s = one_list(&c, "Example.com/Login.php\nhttps://x.test:443/a?b#c\n", &st);
    CHECK(s != NULL);
    struct intel_hit h;
    const char *u1 = "http://EXAMPLE.com:80/Login.php#top";
    CHECK(intel_lookup_url(s, u1, strlen(u1), &h));
    CHECK(!intel_lookup_url(s, "http://example.com/login.php", 28, &h));
    CHECK(intel_lookup_url(s, "x.test/a?b", 10, &h));
    CHECK(!intel_lookup_url(s, "x.test/a", 8, &h));
    CHECK(!dom(s, "example.com"));
    CHECK(intel_lookup_http(s, "EXAMPLE.com:80", 14, "/Login.php", 10, &h));
    CHECK(intel_lookup_http(s, "ignored", 7, "http://example.com/Login.php", 28, &h));
    CHECK(!intel_lookup_http(s, "example.com", 11, "/login.php", 10, &h));
    CHECK(!intel_lookup_http(s, "", 0, "", 0, &h));
    intel_set_unref(s);
}

static void test_maltrail(void)
{
    struct intel_load_stats st;
    struct intel_list_conf c = {.name = "m", .format = INTEL_FMT_MALTRAIL};
    const char *text = "# Copyright (c) 2014-2026 Maltrail developers\n"
                       "# Reference: https://example.org/x\n"
                       "\n"
                       "c2.evil.example\n"
                       "91.134.73.222 # scanner.modat.io\n"
                       "198.51.100.7:8443\n"
                       "[2001:db8::7]:443\n"
                       "http://157.254.165.254\n"
                       "dl.evil.example/payload.bin\n"
                       "/wp-content/gate.php\n"
                       "bad.example# comment glued\n"
                       "1.2.3.4:99999\n";
    struct intel_set *s = one_list(&c, text, &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 8);
    CHECK_EQ_U64(st.rejected, 1);
    CHECK_EQ_U64(st.by_kind[INTEL_KIND_ENDPOINT], 2);
    CHECK_EQ_U64(st.by_kind[INTEL_KIND_PATH], 1);
    struct intel_hit h;
    uint8_t a4[4] = {198, 51, 100, 7};
    CHECK(intel_lookup_endpoint(s, a4, 4, 8443, &h));
    CHECK(!intel_lookup_endpoint(s, a4, 4, 443, &h));
    CHECK(!intel_lookup_ip4(s, ip4("198.51.100.7"), &h));
    uint8_t a6[16];
    CHECK(inet_pton(AF_INET6, "2001:db8::7", a6) == 1);
    CHECK(intel_lookup_endpoint(s, a6, 16, 443, &h));
    CHECK(intel_lookup_ip4(s, ip4("91.134.73.222"), &h));
    CHECK(intel_lookup_ip4(s, ip4("157.254.165.254"), &h));
    CHECK(intel_lookup_url(s, "http://dl.evil.example/payload.bin", 34, &h));
    const char *u = "http://any.host/wp-content/gate.php?id=1";
    CHECK(intel_lookup_url(s, u, strlen(u), &h));
    CHECK(intel_lookup_path(s, "/wp-content/gate.php", 20, &h));
    CHECK(dom(s, "x.c2.evil.example"));
    CHECK(dom(s, "bad.example"));
    intel_set_unref(s);
}

static void test_csv(void)
{
    struct intel_load_stats st;
    struct intel_list_conf c = {.name = "c", .format = INTEL_FMT_CSV, .column = 3, .header = true};
    const char *text = "# comment\n"
                       "id,when,host,note\n"
                       "1,2024,evil.example,plain\n"
                       "2,2024,\"quoted.example\",\"a, b\"\n"
                       "3,\"x,y\",comma.example,\n"
                       "4,\"he said \"\"hi\"\"\",esc.example\n"
                       "5,2024\n"
                       "6,\"unbalanced,x.example\n";
    struct intel_set *s = one_list(&c, text, &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 4);
    CHECK_EQ_U64(st.rejected, 2);
    CHECK(dom(s, "evil.example"));
    CHECK(dom(s, "quoted.example"));
    CHECK(dom(s, "comma.example"));
    CHECK(dom(s, "esc.example"));
    intel_set_unref(s);
    struct intel_list_conf t = {.name = "t",
                                .format = INTEL_FMT_CSV,
                                .delimiter = '\t',
                                .column = 2,
                                .type = INTEL_TYPE_SHA256};
    s = one_list(&t,
                 "x\t9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
                 "y\t9f86d081\n",
                 &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 1);
    CHECK_EQ_U64(st.rejected, 1);
    CHECK_EQ_U64(intel_set_count(s, INTEL_KIND_SHA256), 1);
    intel_set_unref(s);
}

static void test_abusech(void)
{
    struct intel_load_stats st;
    struct intel_list_conf c = {.name = "a", .format = INTEL_FMT_ABUSECH};
    const char *urlhaus =
        "################################################################\n"
        "# abuse.ch URLhaus Database Dump (CSV)                          #\n"
        "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
        "\"3290000\",\"2024-11-20 "
        "10:00:03\",\"http://192.0.2.5:43567/i\",\"online\",\"2024-11-20\","
        "\"malware_download\",\"32-bit,elf,mips,Mozi\",\"https://urlhaus.abuse.ch/url/3290000/\","
        "\"geenensp\"\n"
        "\"3290001\",\"2024-11-20 10:00:04\",\"https://Evil.example/a.exe\",\"online\"\n"
        "\"3290002\",\"2024\n";
    struct intel_set *s = one_list(&c, urlhaus, &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 2);
    CHECK_EQ_U64(st.rejected, 1);
    struct intel_hit h;
    CHECK(intel_lookup_url(s, "http://192.0.2.5:43567/i", 24, &h));
    CHECK(intel_lookup_url(s, "http://evil.example/a.exe", 25, &h));
    intel_set_unref(s);

    const char *feodo =
        "# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n"
        "\"2021-01-17 07:44:46\",\"51.178.161.32\",\"4643\",\"online\",\"2024-11-20\","
        "\"Dridex\"\n";
    s = one_list(&c, feodo, &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 1);
    CHECK(intel_lookup_ip4(s, ip4("51.178.161.32"), &h));
    intel_set_unref(s);

    const char *threatfox =
        "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\"\n"
        "\"2024-11-20 10:00:00\",\"1\",\"203.0.113.4:443\",\"ip:port\",\"botnet_cc\"\n"
        "\"2024-11-20 10:00:00\",\"2\",\"c2.example\",\"domain\",\"botnet_cc\"\n"
        "\"2024-11-20 10:00:00\",\"3\",\"http://c2.example/gate\",\"url\",\"payload_delivery\"\n"
        "\"2024-11-20 10:00:00\",\"4\",\"44d88612fea8a8f36de82e1278abb02f\",\"md5_hash\",\"x\"\n";
    s = one_list(&c, threatfox, &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 4);
    CHECK_EQ_U64(st.by_kind[INTEL_KIND_ENDPOINT], 1);
    CHECK_EQ_U64(st.by_kind[INTEL_KIND_MD5], 1);
    CHECK(dom(s, "c2.example"));
    intel_set_unref(s);

    const char *ja3 = "# ja3_md5,Firstseen,Lastseen,Listingreason\n"
                      "b386946a5a44d1ddcc843bc75336dfce,2017-07-14 18:08:15,2019-07-27,Dridex\n"
                      "nothex,2017,2019,x\n";
    s = one_list(&c, ja3, &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 1);
    CHECK_EQ_U64(st.rejected, 1);
    CHECK(intel_lookup_ja3(s, "B386946A5A44D1DDCC843BC75336DFCE", 32, &h));
    CHECK(!intel_lookup_hash(s, h.lists ? (const uint8_t *)"0123456789abcdef" : NULL, 16, &h));
    intel_set_unref(s);

    s = one_list(&c, "no header at all\n", &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.rejected, 1);
    intel_set_unref(s);
}

static void test_iprep(void)
{
    const char *cats = "/tmp/otasuke_intel_test_cats.csv";
    FILE *f = fopen(cats, "w");
    CHECK(f != NULL);
    fputs("1,BadHosts,Known bad hosts\n2,Google,Known google host\n", f);
    fclose(f);
    struct intel_load_stats st;
    struct intel_list_conf c = {.name = "r",
                                .format = INTEL_FMT_IPREP,
                                .categories_path = cats,
                                .iprep_category = "badhosts",
                                .min_score = 10};
    struct intel_set *s = intel_set_new();
    CHECK(intel_set_add_list(s, "r", "c2", 1) == 0);
    CHECK(load(s, 0, &c,
               "# ip,cat,score\n"
               "192.0.2.1,1,127\n"
               "192.0.2.2,1,5\n"
               "192.0.2.3,2,100\n"
               "198.51.100.0/24,1,50\n"
               "192.0.2.4,9,100\n"
               "192.0.2.5,1,128\n"
               "192.0.2.6\n"
               "2001:db8::1,1,20\n",
               &st) == 0);
    CHECK(intel_set_freeze(s) == 0);
    CHECK_EQ_U64(st.loaded, 3);
    CHECK_EQ_U64(st.skipped, 2);
    CHECK_EQ_U64(st.rejected, 3);
    struct intel_hit h;
    CHECK(intel_lookup_ip4(s, ip4("192.0.2.1"), &h));
    CHECK(!intel_lookup_ip4(s, ip4("192.0.2.2"), &h));
    CHECK(!intel_lookup_ip4(s, ip4("192.0.2.3"), &h));
    CHECK(intel_lookup_ip4(s, ip4("198.51.100.9"), &h));
    CHECK(ip6(s, "2001:db8::1", &h));
    intel_set_unref(s);
    remove(cats);
}

static void test_dataset(void)
{
    struct intel_load_stats st;
    /* "evil.example" and "Other.Example." in base64; a datarep value after the comma */
    struct intel_list_conf c = {.name = "d",
                                .format = INTEL_FMT_DATASET,
                                .dataset_type = INTEL_DS_STRING,
                                .type = INTEL_TYPE_DOMAIN};
    struct intel_set *s =
        one_list(&c, "ZXZpbC5leGFtcGxl\nT3RoZXIuRXhhbXBsZS4=,10\n!!notb64\n", &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 2);
    CHECK_EQ_U64(st.rejected, 1);
    CHECK(dom(s, "evil.example"));
    CHECK(dom(s, "www.other.example"));
    intel_set_unref(s);
    c.dataset_type = INTEL_DS_SHA256;
    c.type = INTEL_TYPE_AUTO;
    s = one_list(&c, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\nabcd\n",
                 &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 1);
    CHECK_EQ_U64(st.rejected, 1);
    intel_set_unref(s);
    c.dataset_type = INTEL_DS_IPV4;
    s = one_list(&c, "192.0.2.1\n2001:db8::1\n", &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 1);
    CHECK_EQ_U64(st.rejected, 1);
    intel_set_unref(s);
    c.dataset_type = INTEL_DS_IPV6;
    s = one_list(&c, "192.0.2.1\n2001:db8::1\n", &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 1);
    intel_set_unref(s);
}

static void test_hashes_and_fingerprints(void)
{
    struct intel_load_stats st;
    struct intel_list_conf c = {.name = "h", .type = INTEL_TYPE_HASH};
    struct intel_set *s =
        one_list(&c,
                 "44D88612FEA8A8F36DE82E1278ABB02F\n"
                 "3395856ce81f2b7382dee72602f798b642f14140\n"
                 "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\n"
                 "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0\n"
                 "zz5a021bbfb6489e54d471899f7db9d1\n",
                 &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 3);
    CHECK_EQ_U64(st.rejected, 2);
    uint8_t sha256[32] = {0x27, 0x5a, 0x02, 0x1b, 0xbf, 0xb6, 0x48, 0x9e, 0x54, 0xd4, 0x71,
                          0x89, 0x9f, 0x7d, 0xb9, 0xd1, 0x66, 0x3f, 0xc6, 0x95, 0xec, 0x2f,
                          0xe2, 0xa2, 0xc4, 0x53, 0x8a, 0xab, 0xf6, 0x51, 0xfd, 0x0f};
    struct intel_hit h;
    CHECK(intel_lookup_hash(s, sha256, 32, &h));
    sha256[31] ^= 1;
    CHECK(!intel_lookup_hash(s, sha256, 32, &h));
    CHECK(!intel_lookup_hash(s, sha256, 31, &h));
    CHECK(!intel_lookup_ja3(s, "44d88612fea8a8f36de82e1278abb02f", 32, &h)); /* md5 != ja3 */
    intel_set_unref(s);
    c.type = INTEL_TYPE_JA4;
    s = one_list(&c, "t13d1516h2_8daaf6152771_b186095e22b6\nshort\n", &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.loaded, 1);
    CHECK(intel_lookup_ja4(s, "T13D1516H2_8daaf6152771_b186095e22b6", 36, &h));
    CHECK(!intel_lookup_ja4(s, "t13d1516h2_8daaf6152771_b186095e22b7", 36, &h));
    intel_set_unref(s);
}

static void test_multi_list_and_dups(void)
{
    struct intel_set *s = intel_set_new();
    struct intel_load_stats st;
    CHECK(intel_set_add_list(s, "low", "url_category", 4) == 0);
    CHECK(intel_set_add_list(s, "high", "malware", 1) == 1);
    CHECK(intel_set_add_list(s, "bad", "c2", 0) == ERR_INVAL);
    CHECK(load(s, 0, &plain_conf, "evil.com\nevil.com\nsub.evil.com\n", &st) == 0);
    CHECK(load(s, 1, &plain_conf, "evil.com\n", &st) == 0);
    CHECK(intel_set_freeze(s) == 0);
    CHECK(intel_set_add_list(s, "late", "c2", 1) == ERR_INVAL);
    CHECK_EQ_U64(intel_set_count(s, INTEL_KIND_DOMAIN), 2);
    struct intel_hit h;
    CHECK(intel_lookup_domain(s, "evil.com", 8, &h));
    CHECK_EQ_U64(h.n, 2);
    CHECK_STR(intel_set_list(s, h.lists[0])->name, "high");
    CHECK_STR(intel_set_list(s, h.lists[1])->name, "low");
    CHECK(intel_lookup_domain(s, "a.sub.evil.com", 14, &h)); /* most specific suffix */
    CHECK_EQ_U64(h.n, 1);
    CHECK_EQ_U64(h.suffix_len, 12);
    /* swap: the slot's old set goes when the last reader drops it */
    struct intel_slot slot = {0};
    intel_slot_swap(&slot, intel_set_ref(s));
    CHECK(intel_slot_get(&slot) == s);
    intel_set_unref(s);
    intel_slot_swap(&slot, NULL);
    CHECK(intel_slot_get(&slot) == NULL);
}

static void test_long_lines_file(void)
{
    const char *path = "/tmp/otasuke_intel_test_long.txt";
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("first.example\n", f);
    for (int i = 0; i < 3 * INTEL_MAX_LINE; i++)
        fputc('a', f);
    fputs("\nsecond.example\n", f);
    for (int i = 0; i < 70000; i++) /* longer than the read chunk, no newline at the end */
        fputc('b', f);
    fclose(f);
    struct intel_load_stats st = {0};
    struct intel_list_conf c = {.name = "f", .path = path, .category = "c2", .severity = 1};
    struct intel_set *s = intel_set_load_conf(&c, 1, &st);
    CHECK(s != NULL);
    CHECK_EQ_U64(st.lines, 4);
    CHECK_EQ_U64(st.loaded, 2);
    CHECK_EQ_U64(st.rejected, 2);
    CHECK(strstr(st.first_error, ":2: line too long") != NULL);
    CHECK(dom(s, "second.example"));
    intel_set_unref(s);
    c.path = "/nonexistent/list.txt";
    CHECK(intel_set_load_conf(&c, 1, &st) == NULL);
    remove(path);
}

/* Every allocation failing in turn: the load or freeze fails cleanly, no leak, no crash. */
static void test_alloc_failures(void)
{
    const char *text = "evil.com\n10.0.0.0/8\n10.1.2.3\n2001:db8::/32\nx.test/a\n"
                       "44d88612fea8a8f36de82e1278abb02f\n198.51.100.7:80\n";
    int failed = 0;
    for (long n = 1; n < 200; n++) {
        mem_fail_after(n);
        struct intel_set *s = intel_set_new();
        int rc = ERR_NOMEM;
        struct intel_load_stats st;
        if (s != NULL && intel_set_add_list(s, "a", "c2", 1) == 0 &&
            intel_set_add_list(s, "b", "c2", 2) == 1 && load(s, 0, &plain_conf, text, &st) == 0 &&
            load(s, 1, &plain_conf, text, &st) == 0)
            rc = intel_set_freeze(s);
        mem_fail_after(0);
        if (rc != 0)
            failed++;
        intel_set_unref(s);
    }
    CHECK(failed > 10);
    struct mem_stat ms;
    mem_get(MEM_INTEL, &ms);
    CHECK_EQ_U64(ms.in_use, 0);
}

static void test_memcap(void)
{
    mem_set_cap(MEM_INTEL, (uint64_t)64 * 1024);
    struct intel_set *s = intel_set_new();
    struct intel_load_stats st;
    CHECK(s != NULL);
    CHECK(intel_set_add_list(s, "a", "c2", 1) == 0);
    char *big = malloc((size_t)20000 * 16);
    CHECK(big != NULL);
    size_t o = 0;
    for (int i = 0; i < 20000; i++)
        o += (size_t)snprintf(big + o, 16, "h%d.test\n", i);
    int rc = intel_set_load_buf(s, 0, &plain_conf, "big", (const uint8_t *)big, o, &st);
    free(big);
    mem_set_cap(MEM_INTEL, 0);
    CHECK(rc == ERR_NOMEM);
    CHECK(intel_set_freeze(s) == ERR_NOMEM);
    intel_set_unref(s);
}

/* ---- corpus ----------------------------------------------------------------------------- */

static const char *corpus_intel_dir(void)
{
    static char dir[1024];
    const char *pcap = check_corpus_pcap_dir();
    if (pcap == NULL)
        return NULL;
    snprintf(dir, sizeof(dir), "%.1000s/../intel", pcap);
    FILE *f;
    char m[1100];
    snprintf(m, sizeof(m), "%s/MANIFEST.tsv", dir);
    f = fopen(m, "r");
    if (f == NULL)
        return NULL;
    fclose(f);
    return dir;
}

/* The configuration each corpus list needs (docs/internals/intel.md lists the same). */
static bool corpus_conf(const char *file, struct intel_list_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->severity = 2;
    c->category = "malicious_site";
    if (strncmp(file, "yara/", 5) == 0)
        return false; /* YARA rules: not indicator lists */
    if (strncmp(file, "maltrail/", 9) == 0)
        c->format = INTEL_FMT_MALTRAIL;
    else if (strncmp(file, "ja3/", 4) == 0)
        c->format = INTEL_FMT_ABUSECH;
    else if (strncmp(file, "hashes/", 7) == 0)
        c->type = INTEL_TYPE_HASH;
    else if (strncmp(file, "categories/ut1/", 15) == 0 && strstr(file, "/urls") != NULL)
        c->type = INTEL_TYPE_URL;
    return true;
}

struct corpus_tot {
    uint64_t files, entries, loaded, rejected, skipped, bad_files;
    uint64_t kinds[INTEL_KIND_COUNT];
};

static void corpus_one(const char *dir, const char *file, uint64_t entries, struct corpus_tot *t)
{
    struct intel_list_conf c;
    char path[4200];
    if (!corpus_conf(file, &c))
        return;
    snprintf(path, sizeof(path), "%.1000s/%.3000s", dir, file);
    c.name = file;
    c.path = path;
    struct intel_load_stats st;
    struct intel_set *s = intel_set_load_conf(&c, 1, &st);
    if (getenv("OTASUKE_INTEL_VERBOSE") != NULL)
        printf("FILE\t%s\t%llu\t%llu\t%llu\t%llu\n", file, (unsigned long long)entries,
               (unsigned long long)st.loaded, (unsigned long long)st.rejected,
               (unsigned long long)st.skipped);
    if (st.rejected > 0)
        printf("  rejected in %s: %s\n", file, st.first_error + strlen(dir) + 1);
    bool ok = s != NULL && st.loaded + st.rejected + st.skipped == entries &&
              st.rejected <= 3 + entries / 100; /* see docs/internals/intel.md */
    if (!ok) {
        t->bad_files++;
        fprintf(stderr, "corpus %s: entries %llu loaded %llu rejected %llu skipped %llu (%s)\n",
                file, (unsigned long long)entries, (unsigned long long)st.loaded,
                (unsigned long long)st.rejected, (unsigned long long)st.skipped, st.first_error);
    }
    t->files++;
    t->entries += entries;
    t->loaded += st.loaded;
    t->rejected += st.rejected;
    t->skipped += st.skipped;
    for (int k = 0; k < INTEL_KIND_COUNT; k++)
        t->kinds[k] += st.by_kind[k];
    intel_set_unref(s);
}

/* Every list of the corpus in one set, as the sensor would load them: time and memory. */
static void corpus_all(const char *dir)
{
    static struct intel_list_conf confs[3000];
    static char paths[3000][512];
    char mpath[1100], line[4096];
    size_t n = 0;
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST.tsv", dir);
    FILE *m = fopen(mpath, "r");
    CHECK(m != NULL);
    while (n < 3000 && fgets(line, sizeof(line), m) != NULL) {
        char *tab = strchr(line, '\t');
        if (tab == NULL || strncmp(line, "file\t", 5) == 0)
            continue;
        *tab = '\0';
        if (!corpus_conf(line, &confs[n]))
            continue;
        snprintf(paths[n], sizeof(paths[n]), "%.200s/%.300s", dir, line);
        confs[n].path = paths[n];
        confs[n].name = paths[n] + strlen(dir) + 1;
        n++;
    }
    fclose(m);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct intel_set *s = intel_set_load_conf(confs, n, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(s != NULL);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    uint64_t distinct = 0;
    for (int k = 1; k < INTEL_KIND_COUNT; k++)
        distinct += intel_set_count(s, (enum intel_kind)k);
    printf("corpus intel, one set: %zu lists, %llu distinct indicators, %.2f s, %.1f MiB "
           "(%.1f bytes/indicator)\n",
           n, (unsigned long long)distinct, secs, (double)intel_set_bytes(s) / 1048576.0,
           (double)intel_set_bytes(s) / (double)distinct);
    struct intel_hit h;
    CHECK(intel_lookup_ja3(s, "b386946a5a44d1ddcc843bc75336dfce", 32, &h)); /* sslbl: Dridex */
    CHECK(intel_lookup_domain(s, "www.0slot.trade", 15, &h)); /* blocklistproject crypto */
    CHECK(h.n >= 1);
    intel_set_unref(s);
}

static void test_corpus(void)
{
    const char *dir = corpus_intel_dir();
    if (dir == NULL)
        SKIP("../shared/corpus/intel not found (set OTASUKE_CORPUS)");
    char path[1100], line[4096];
    snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
    FILE *m = fopen(path, "r");
    CHECK(m != NULL);
    struct corpus_tot t = {0};
    enum log_level saved = log_level_current;
    log_set_level(LOG_ERROR);
    while (fgets(line, sizeof(line), m) != NULL) {
        char *tab = strchr(line, '\t');
        if (tab == NULL || strncmp(line, "file\t", 5) == 0)
            continue;
        *tab = '\0';
        char *f = tab + 1;
        for (int col = 2; col < 6 && f != NULL; col++) {
            f = strchr(f, '\t');
            f = f ? f + 1 : NULL;
        }
        if (f != NULL)
            corpus_one(dir, line, strtoull(f, NULL, 10), &t);
    }
    fclose(m);
    log_set_level(saved);
    printf("corpus intel: %llu files, %llu entries, %llu loaded, %llu rejected, %llu skipped\n",
           (unsigned long long)t.files, (unsigned long long)t.entries, (unsigned long long)t.loaded,
           (unsigned long long)t.rejected, (unsigned long long)t.skipped);
    for (int k = 1; k < INTEL_KIND_COUNT; k++)
        printf("  %-8s %llu\n", intel_kind_name((enum intel_kind)k),
               (unsigned long long)t.kinds[k]);
    CHECK(t.files > 2900);
    CHECK_EQ_U64(t.bad_files, 0);
    corpus_all(dir);
}

static void test_names(void)
{
    CHECK(intel_format_parse("abusech") == INTEL_FMT_ABUSECH);
    CHECK(intel_format_parse("Maltrail") == INTEL_FMT_MALTRAIL);
    CHECK(intel_format_parse("stix") == -1);
    CHECK(intel_format_parse(NULL) == -1);
    CHECK_STR(intel_format_name(INTEL_FMT_DATASET), "dataset");
    CHECK(intel_type_parse("sha256") == INTEL_TYPE_SHA256);
    CHECK_STR(intel_type_name(INTEL_TYPE_JA4), "ja4");
    CHECK(intel_dataset_type_parse("ipv6") == INTEL_DS_IPV6);
    CHECK_STR(intel_kind_name(INTEL_KIND_ENDPOINT), "endpoint");
}

int main(void)
{
    log_set_level(LOG_ERROR);
    RUN(test_plain_formats);
    RUN(test_cidr);
    RUN(test_cidr_no_default);
    RUN(test_cidr_random);
    RUN(test_domains);
    RUN(test_url_normalize);
    RUN(test_maltrail);
    RUN(test_csv);
    RUN(test_abusech);
    RUN(test_iprep);
    RUN(test_dataset);
    RUN(test_hashes_and_fingerprints);
    RUN(test_multi_list_and_dups);
    RUN(test_long_lines_file);
    RUN(test_alloc_failures);
    RUN(test_memcap);
    RUN(test_names);
    RUN(test_corpus);
    return check_done();
}
