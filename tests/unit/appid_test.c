/*
 * Tests of sensor/app/appid: nDPI verdicts on real corpus captures, memcap failure,
 * and that per-flow state is returned.
 *
 * The decoder and flow table are written elsewhere, so this file carries a small
 * throwaway pcap reader of its own (test code, not product code). It parses what
 * ndpiReader 4.2 parses (Ethernet with VLAN/MPLS/PPPoE, Linux SLL, raw IP, BSD
 * loopback; IPv4 without its non-first fragments, IPv6 with extension headers,
 * IP-in-IP) and keys flows as ndpiReader does: innermost VLAN id, IP protocol and
 * the unordered pair of (address, port). Run with `-r FILE -o OUT.json` it writes
 * one EVE-style flow event per flow, the shape tests/pcap/ndpi_agree.py reads, so
 * the agreement scorer can be run against this driver before the sensor exists:
 *   OTASUKE_SENSOR=build-debug/bin/appid_test tests/pcap/ndpi_agree.sh
 */
#include "app/appid.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "decode/pkt.h"
#include "otasuke/alloc.h"
#include "otasuke/rd.h"
#include "otasuke/timefmt.h"

/* ---- the throwaway reader ---------------------------------------------------- */

struct tflow {
    bool used;
    uint8_t proto;
    uint16_t vlan;
    struct addr a, b; /* as first seen: a = source of the first packet */
    uint16_t pa, pb;
    uint64_t first_us;
    uint32_t pkts[2];
    bool feeding;
    struct appid_flow *slot;
    struct appid_result res;
};

struct tdrv {
    struct appid *app;
    struct tflow *f;
    size_t cap, n;
    uint64_t pkts, skipped;
};

static uint64_t tkey_hash(const struct tflow *k)
{
    /* order-independent: combine the two endpoints symmetrically */
    uint64_t ha = 1469598103934665603ull, hb = ha;
    for (int i = 0; i < 16; i++) {
        ha = (ha ^ k->a.b[i]) * 1099511628211ull;
        hb = (hb ^ k->b.b[i]) * 1099511628211ull;
    }
    ha = (ha ^ k->pa) * 1099511628211ull;
    hb = (hb ^ k->pb) * 1099511628211ull;
    return (ha + hb) ^ ((uint64_t)k->proto << 32) ^ k->vlan;
}

static int tkey_match(const struct tflow *x, const struct tflow *k)
{
    if (x->proto != k->proto || x->vlan != k->vlan)
        return 0;
    if (!memcmp(&x->a, &k->a, 16) && !memcmp(&x->b, &k->b, 16) && x->pa == k->pa && x->pb == k->pb)
        return 1;
    if (!memcmp(&x->a, &k->b, 16) && !memcmp(&x->b, &k->a, 16) && x->pa == k->pb && x->pb == k->pa)
        return 2;
    return 0;
}

static int tdrv_grow(struct tdrv *d)
{
    size_t ncap = d->cap ? d->cap * 2 : 1024;
    struct tflow *nf = xcalloc(MEM_CORE, ncap, sizeof(*nf));
    if (nf == NULL)
        return -1;
    for (size_t i = 0; i < d->cap; i++) {
        if (!d->f[i].used)
            continue;
        size_t j = tkey_hash(&d->f[i]) & (ncap - 1);
        while (nf[j].used)
            j = (j + 1) & (ncap - 1);
        nf[j] = d->f[i];
    }
    xfree(d->f);
    d->f = nf;
    d->cap = ncap;
    return 0;
}

/* Finds or creates the flow of p; *dir = 0 when p goes a->b. */
static struct tflow *tdrv_flow(struct tdrv *d, const struct pkt *p, int *dir)
{
    if ((d->n + 1) * 2 > d->cap && tdrv_grow(d) != 0)
        return NULL;
    struct tflow k = {.proto = p->proto,
                      .vlan = p->vlan_n ? p->vlan[p->vlan_n - 1] : 0,
                      .a = p->src,
                      .b = p->dst,
                      .pa = p->sport,
                      .pb = p->dport};
    size_t j = tkey_hash(&k) & (d->cap - 1);
    for (; d->f[j].used; j = (j + 1) & (d->cap - 1)) {
        int m = tkey_match(&d->f[j], &k);
        if (m) {
            *dir = m - 1;
            return &d->f[j];
        }
    }
    k.used = true;
    k.first_us = p->ts_us;
    k.feeding = true;
    d->f[j] = k;
    d->n++;
    *dir = 0;
    return &d->f[j];
}

static void map4(struct addr *a, const uint8_t *v4)
{
    memset(a->b, 0, 10);
    a->b[10] = a->b[11] = 0xff;
    memcpy(a->b + 12, v4, 4);
}

/* IPv6 extension headers as ndpi_handle_ipv6_extension_headers() walks them. */
static int skip_v6_ext(struct rd *r, uint8_t *nxt)
{
    for (int i = 0; i < 8; i++) {
        uint8_t h = *nxt;
        if (h == 0 || h == 43 || h == 60 || h == 51) {
            uint8_t n2 = rd_u8(r), hl = rd_u8(r);
            rd_skip(r, (h == 51 ? (size_t)(hl + 2) * 4 : (size_t)(hl + 1) * 8) - 2);
            *nxt = n2;
        } else if (h == 44) {
            uint8_t n2 = rd_u8(r);
            rd_skip(r, 1);
            uint16_t off = rd_be16(r);
            rd_skip(r, 4);
            if ((off & 0xfff8) != 0)
                return -1;
            *nxt = n2;
        } else {
            return r->bad ? -1 : 0;
        }
    }
    return -1;
}

/* Parses from the IP header at r; fills p's L3/L4. Returns 0 when p is usable. */
/* Cognitive complexity over 25: to bring down (docs/internals/lint.md). */
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
static int parse_ip(struct rd r, struct pkt *p)
{
    for (int depth = 0; depth < 4; depth++) {
        const uint8_t *l3 = rd_ptr(&r);
        size_t left = rd_left(&r);
        if (left < 20)
            return -1;
        uint8_t ver = l3[0] >> 4;
        struct rd ip = rd_init(l3, left);
        uint8_t nxt;
        if (ver == 4) {
            size_t ihl = (size_t)(l3[0] & 0xf) * 4;
            uint16_t tot = (uint16_t)(l3[2] << 8 | l3[3]);
            uint16_t frag = (uint16_t)(l3[6] << 8 | l3[7]);
            if (ihl < 20 || ihl > left || tot > left || tot < ihl)
                return -1; /* ndpiReader: ipsize < tot_len drops the packet */
            if (frag & 0x1fff)
                return -1; /* ndpiReader drops non-first fragments */
            nxt = l3[9];
            map4(&p->src, l3 + 12);
            map4(&p->dst, l3 + 16);
            p->ipver = 4;
            p->l3 = l3;
            p->l3_len = tot;
            ip = rd_init(l3, tot);
            rd_skip(&ip, ihl);
        } else if (ver == 6) {
            if (left < 40)
                return -1;
            uint16_t plen = (uint16_t)(l3[4] << 8 | l3[5]);
            if (left < 40u + plen)
                return -1;
            nxt = l3[6];
            memcpy(p->src.b, l3 + 8, 16);
            memcpy(p->dst.b, l3 + 24, 16);
            p->ipver = 6;
            p->l3 = l3;
            p->l3_len = 40u + plen;
            ip = rd_init(l3, 40u + plen);
            rd_skip(&ip, 40);
            if (skip_v6_ext(&ip, &nxt) != 0)
                return -1;
        } else {
            return -1;
        }
        if (nxt == 4 || nxt == 41) { /* IP in IP: ndpiReader follows it */
            r = ip;
            r = rd_init(rd_ptr(&ip), rd_left(&ip));
            continue;
        }
        p->proto = nxt;
        p->l4 = rd_ptr(&ip);
        p->l4_len = (uint32_t)rd_left(&ip);
        p->sport = p->dport = 0;
        p->payload_len = 0;
        if (nxt == IPPROTO_TCP && p->l4_len >= 20) {
            p->sport = (uint16_t)(p->l4[0] << 8 | p->l4[1]);
            p->dport = (uint16_t)(p->l4[2] << 8 | p->l4[3]);
            uint32_t doff = (uint32_t)(p->l4[12] >> 4) * 4;
            p->payload_len = p->l4_len > doff ? p->l4_len - doff : 0;
        } else if (nxt == IPPROTO_UDP && p->l4_len >= 8) {
            p->sport = (uint16_t)(p->l4[0] << 8 | p->l4[1]);
            p->dport = (uint16_t)(p->l4[2] << 8 | p->l4[3]);
            p->payload_len = p->l4_len - 8;
        }
        return 0;
    }
    return -1;
}

/* Link layer as ndpiReader 4.2 handles it; positions r at the IP header. */
/* Cognitive complexity over 25: to bring down (docs/internals/lint.md). */
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
static int parse_link(int dlt, struct rd *r, struct pkt *p)
{
    uint16_t type;
    switch (dlt) {
    case DLT_EN10MB:
        rd_skip(r, 12);
        type = rd_be16(r);
        break;
    case DLT_LINUX_SLL:
        rd_skip(r, 14);
        type = rd_be16(r);
        break;
    case DLT_NULL:
    case DLT_LOOP:
        rd_skip(r, 4);
        return r->bad ? -1 : 0;
    case DLT_RAW:
    case 14:
    case 228: /* DLT_IPV4 */
    case 229: /* DLT_IPV6 */
        return 0;
    default:
        return -1;
    }
    for (int i = 0; i < 8 && !r->bad; i++) {
        if (type == 0x8100) {
            uint16_t tci = rd_be16(r);
            if (p->vlan_n < PKT_MAX_VLAN)
                p->vlan[p->vlan_n++] = tci & 0xfff;
            else
                p->vlan[PKT_MAX_VLAN - 1] = tci & 0xfff; /* innermost wins */
            type = rd_be16(r);
        } else if (type == 0x8847 || type == 0x8848) {
            uint32_t lbl;
            do
                lbl = rd_be32(r);
            while (!r->bad && !(lbl & 0x100));
            return r->bad ? -1 : 0;
        } else if (type == 0x8864) {
            rd_skip(r, 8);
            return r->bad ? -1 : 0;
        } else {
            break;
        }
    }
    return (!r->bad && (type == 0x0800 || type == 0x86dd)) ? 0 : -1;
}

static void tdrv_feed(struct tdrv *d, int dlt, const struct pcap_pkthdr *h, const uint8_t *data)
{
    struct pkt p;
    memset(&p, 0, sizeof(p));
    p.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    p.caplen = h->caplen;
    p.wirelen = h->len;
    p.raw = data;
    p.linktype = dlt;
    struct rd r = rd_init(data, h->caplen);
    if (parse_link(dlt, &r, &p) != 0 || parse_ip(rd_init(rd_ptr(&r), rd_left(&r)), &p) != 0) {
        d->skipped++;
        return;
    }
    int dir;
    struct tflow *f = tdrv_flow(d, &p, &dir);
    if (f == NULL)
        return;
    d->pkts++;
    f->pkts[dir]++;
    if (f->feeding)
        f->feeding = appid_packet(d->app, &f->slot, &f->res, &p, dir);
}

/* Reads a whole capture into d. Returns 0, or -1 when the file cannot be opened. */
static int tdrv_run(struct tdrv *d, const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (pc == NULL)
        return -1;
    int dlt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(pc, &h, &data) == 1)
        tdrv_feed(d, dlt, h, data);
    pcap_close(pc);
    return 0;
}

static void tdrv_end_all(struct tdrv *d)
{
    for (size_t i = 0; i < d->cap; i++)
        if (d->f[i].used)
            appid_flow_end(d->app, &d->f[i].slot, &d->f[i].res);
}

static void tdrv_free(struct tdrv *d)
{
    struct appid *app = d->app;
    tdrv_end_all(d);
    xfree(d->f);
    memset(d, 0, sizeof(*d));
    d->app = app; /* the module outlives the table */
}

static struct tflow *tdrv_find(struct tdrv *d, uint8_t proto, const char *ip1, uint16_t p1,
                               const char *ip2, uint16_t p2)
{
    struct tflow k = {.proto = proto, .pa = p1, .pb = p2};
    uint8_t v4[4];
    if (inet_pton(AF_INET, ip1, v4) == 1) {
        map4(&k.a, v4);
        if (inet_pton(AF_INET, ip2, v4) != 1)
            return NULL;
        map4(&k.b, v4);
    } else if (inet_pton(AF_INET6, ip1, k.a.b) != 1 || inet_pton(AF_INET6, ip2, k.b.b) != 1) {
        return NULL;
    }
    for (size_t i = 0; i < d->cap; i++) {
        struct tflow *f = &d->f[i];
        if (f->used && f->proto == proto) {
            k.vlan = f->vlan;
            if (tkey_match(f, &k))
                return f;
        }
    }
    return NULL;
}

/* ---- EVE-style dump for the agreement scorer -------------------------------- */

static void addr_str(const struct addr *a, char *buf, size_t len)
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!memcmp(a->b, pfx, 12))
        inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
    else
        inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
}

static const char *proto_str(uint8_t p, char *buf, size_t len)
{
    switch (p) {
    case IPPROTO_TCP:
        return "TCP";
    case IPPROTO_UDP:
        return "UDP";
    case IPPROTO_ICMP:
        return "ICMP";
    case IPPROTO_ICMPV6:
        return "IPv6-ICMP";
    default:
        snprintf(buf, len, "%u", p);
        return buf;
    }
}

static void dump_flow(struct tdrv *d, const struct tflow *f, FILE *out)
{
    char sa[64], da[64], pb[8], name[96], ts[TS_RFC3339_LEN];
    addr_str(&f->a, sa, sizeof(sa));
    addr_str(&f->b, da, sizeof(da));
    appid_result_name(d->app, &f->res, name, sizeof(name));
    ts_format(ts, sizeof(ts), f->first_us, 0);
    const char *ap = appid_eve_app_proto(&f->res);
    fprintf(out,
            "{\"event_type\":\"flow\",\"src_ip\":\"%s\",\"src_port\":%u,\"dest_ip\":\"%s\","
            "\"dest_port\":%u,\"proto\":\"%s\"",
            sa, f->pa, da, f->pb, proto_str(f->proto, pb, sizeof(pb)));
    if (f->vlan)
        fprintf(out, ",\"vlan\":[%u]", f->vlan);
    if (ap != NULL)
        fprintf(out, ",\"app_proto\":\"%s\"", ap);
    fprintf(out,
            ",\"flow\":{\"start\":\"%s\",\"pkts_toserver\":%u,\"pkts_toclient\":%u,"
            "\"ndpi\":{\"proto\":\"%s\",\"master\":\"%s\",\"app\":\"%s\",\"category\":\"%s\"}}}\n",
            ts, f->pkts[0], f->pkts[1], name, appid_proto_name(d->app, f->res.master),
            appid_proto_name(d->app, f->res.app), appid_category_name(d->app, f->res.category));
}

static int dump_main(const char *in, const char *outp)
{
    struct appid_conf c;
    appid_conf_defaults(&c);
    /* Other packet limits, to compare with `ndpiReader -T n -U m` or to show that
     * the scorer notices when we feed nDPI differently from ndpiReader. */
    const char *e = getenv("APPID_TEST_MAX_TCP");
    if (e != NULL)
        c.max_packets_tcp = (uint32_t)strtoul(e, NULL, 10);
    if ((e = getenv("APPID_TEST_MAX_UDP")) != NULL)
        c.max_packets_udp = (uint32_t)strtoul(e, NULL, 10);
    struct tdrv d = {0};
    d.app = appid_new(&c);
    if (d.app == NULL)
        return 2;
    int rc = 0;
    FILE *out = strcmp(outp, "-") ? fopen(outp, "w") : stdout;
    if (out == NULL || tdrv_run(&d, in) != 0) {
        fprintf(stderr, "appid_test: cannot read %s or write %s\n", in, outp);
        rc = 1;
    } else {
        tdrv_end_all(&d);
        for (size_t i = 0; i < d.cap; i++)
            if (d.f[i].used)
                dump_flow(&d, &d.f[i], out);
    }
    if (out != NULL && out != stdout)
        fclose(out);
    tdrv_free(&d);
    appid_free(d.app);
    return rc;
}

/* ---- tests -------------------------------------------------------------------- */

static char g_dir[1100]; /* the corpus folder (<= 1023 bytes) + "/ndpi" */

static bool corpus_file(const char *name, char *path, size_t len)
{
    struct stat st;
    snprintf(path, len, "%s/%s", g_dir, name);
    return stat(path, &st) == 0;
}

static struct appid *new_default(void)
{
    struct appid_conf c;
    appid_conf_defaults(&c);
    return appid_new(&c);
}

/* Verdicts from `ndpiReader -i FILE -v 2 -q` of nDPI 4.2 (Debian libndpi-bin 4.2-2)
 * on these corpus captures. */
struct expect {
    const char *file;
    uint8_t proto;
    const char *ip1;
    uint16_t p1;
    const char *ip2;
    uint16_t p2;
    const char *name;
    const char *cat;
};

static const struct expect g_expect[] = {
    /* dns.pcap: DNS with a sub-protocol from the query name; flow 1 is on VLAN 785 */
    {"dns.pcap", 17, "82.178.113.245", 47255, "82.178.158.181", 53, "DNS.WhatsApp", "Chat"},
    {"dns.pcap", 17, "192.168.170.20", 53, "192.168.170.8", 32795, "DNS.Google", "Web"},
    /* http.pcapng: HTTP, sub-protocol from the Host header */
    {"http.pcapng", 6, "192.168.1.128", 42170, "216.58.208.142", 80, "HTTP.Google", "Web"},
    /* ssl-cert-name-mismatch.pcap: TLS with SNI */
    {"ssl-cert-name-mismatch.pcap", 6, "192.168.2.222", 54772, "104.154.89.105", 443, "TLS.Google",
     "Web"},
    /* 4in6tunnel.pcap: IPv4 TLS inside IPv6 */
    {"4in6tunnel.pcap", 6, "192.168.0.1", 64455, "10.10.10.1", 443, "TLS.Microsoft", "Web"},
};

static void test_corpus_verdicts(void)
{
    char path[1200];
    const char *last = NULL;
    struct tdrv d = {0};
    if (!corpus_file("dns.pcap", path, sizeof(path)))
        SKIP("corpus pcap/ndpi absent (set CORPUS or put ../shared/corpus beside the repo)");
    d.app = new_default();
    CHECK(d.app != NULL);
    for (size_t i = 0; i < sizeof(g_expect) / sizeof(g_expect[0]); i++) {
        const struct expect *e = &g_expect[i];
        if (last == NULL || strcmp(last, e->file) != 0) {
            tdrv_end_all(&d);
            xfree(d.f);
            d.f = NULL;
            d.cap = d.n = 0;
            CHECK(corpus_file(e->file, path, sizeof(path)));
            CHECK(tdrv_run(&d, path) == 0);
            tdrv_end_all(&d);
            last = e->file;
        }
        struct tflow *f = tdrv_find(&d, e->proto, e->ip1, e->p1, e->ip2, e->p2);
        if (f == NULL)
            fprintf(stderr, "flow %s %s:%u missing\n", e->file, e->ip1, e->p1);
        CHECK(f != NULL);
        char name[96];
        appid_result_name(d.app, &f->res, name, sizeof(name));
        if (strcmp(name, e->name) != 0)
            fprintf(stderr, "%s: %s:%u got %s\n", e->file, e->ip1, e->p1, name);
        CHECK_STR(name, e->name);
        CHECK_STR(appid_category_name(d.app, f->res.category), e->cat);
        CHECK(f->res.done);
        CHECK(f->slot == NULL);
    }
    tdrv_free(&d);
    appid_free(d.app);
}

/* EVE names follow the carrier: TLS.Google is "tls", DNS.Google "dns". */
static void test_eve_names(void)
{
    struct appid *a = new_default();
    CHECK(a != NULL);
    struct appid_result r = {.master = 91, .app = 126, .done = true};
    char name[64];
    CHECK_EQ_U64(appid_result_name(a, &r, name, sizeof(name)), strlen("TLS.Google"));
    CHECK_STR(name, "TLS.Google");
    CHECK_STR(appid_eve_app_proto(&r), "tls");
    r.master = 0;
    r.app = 5;
    CHECK_STR(appid_eve_app_proto(&r), "dns");
    appid_result_name(a, &r, name, 3);
    CHECK_STR(name, "DN"); /* truncated, terminated */
    r.app = 0;
    CHECK(appid_eve_app_proto(&r) == NULL); /* no payload, nothing to say */
    r.had_payload = true;
    CHECK_STR(appid_eve_app_proto(&r), "failed");
    CHECK_STR(appid_category_name(a, 5), "Web");
    appid_free(a);
}

/* After every flow has ended, MEM_NDPI is back to where it was before the flows.
 * nDPI builds some LRU caches lazily on first use, so a first pass over the same
 * capture warms them up and the baseline is taken after it. */
static void test_slots_freed(void)
{
    char path[1200];
    if (!corpus_file("1kxun.pcap", path, sizeof(path)))
        SKIP("corpus pcap/ndpi/1kxun.pcap absent");
    struct mem_stat m0, m1, m2;
    mem_get(MEM_NDPI, &m0);
    struct tdrv d = {0};
    d.app = new_default();
    CHECK(d.app != NULL);
    mem_get(MEM_NDPI, &m1);
    fprintf(stderr, "nDPI module: %" PRIu64 " bytes in MEM_NDPI, flow state %zu bytes\n",
            m1.in_use - m0.in_use, appid_flow_state_size());
    CHECK(tdrv_run(&d, path) == 0);
    tdrv_free(&d);
    mem_get(MEM_NDPI, &m1);
    CHECK(tdrv_run(&d, path) == 0);
    struct appid_stats st;
    appid_stats(d.app, &st);
    CHECK(st.flows_fed > 100);
    mem_get(MEM_NDPI, &m2);
    fprintf(stderr, "1kxun: %zu flows, MEM_NDPI +%" PRIu64 " bytes held before flow end\n", d.n,
            m2.in_use - m1.in_use);
    tdrv_free(&d);
    mem_get(MEM_NDPI, &m2);
    CHECK_EQ_U64(m2.in_use, m1.in_use);
    appid_free(d.app);
    mem_get(MEM_NDPI, &m2);
    CHECK_EQ_U64(m2.in_use, m0.in_use); /* the module gives everything back */
}

/* With the MEM_NDPI cap just above the module, new flows are refused, counted, and
 * marked done; nothing crashes and no state is held. */
static void test_memcap(void)
{
    char path[1200];
    if (!corpus_file("1kxun.pcap", path, sizeof(path)))
        SKIP("corpus pcap/ndpi/1kxun.pcap absent");
    struct appid_conf c;
    appid_conf_defaults(&c);
    c.memcap = 3 * appid_flow_state_size() + 8192; /* room for a few flows only */
    struct tdrv d = {0};
    d.app = appid_new(&c);
    CHECK(d.app != NULL);
    struct mem_stat m;
    mem_get(MEM_NDPI, &m);
    CHECK_EQ_U64(m.cap, m.in_use + c.memcap);
    CHECK(tdrv_run(&d, path) == 0);
    struct appid_stats st;
    appid_stats(d.app, &st);
    fprintf(stderr, "memcap: fed %" PRIu64 " flows, %" PRIu64 " memcap fails\n", st.flows_fed,
            st.memcap_fails);
    CHECK(st.memcap_fails > 0);
    CHECK(st.flows_fed + st.memcap_fails >= d.n - 1);
    size_t refused = 0;
    for (size_t i = 0; i < d.cap; i++) {
        struct tflow *f = &d.f[i];
        if (f->used && f->res.memcap) {
            CHECK(f->res.done);
            CHECK(f->slot == NULL);
            CHECK(f->res.app == 0);
            refused++;
        }
    }
    CHECK_EQ_U64(refused, st.memcap_fails);
    tdrv_free(&d);
    mem_get(MEM_NDPI, &m);
    CHECK(m.cap == 0 || m.in_use <= m.cap);
    mem_set_cap(MEM_NDPI, 0);
    appid_free(d.app);
}

/* Every allocation made while feeding a capture fails in turn (curl torture idea,
 * mem_fail_after): no crash, and MEM_NDPI still returns to its baseline. Returns the
 * number of allocations of one pass. */
static long sweep_one(struct appid *a, const char *path)
{
    struct mem_stat m0, m1;
    struct tdrv d = {.app = a};
    if (tdrv_run(&d, path) != 0) /* warm up lazily built caches */
        return -1;
    tdrv_free(&d);
    mem_get(MEM_NDPI, &m0);
    if (tdrv_run(&d, path) != 0)
        return -1;
    mem_get(MEM_NDPI, &m1);
    long n = (long)(m1.allocs - m0.allocs);
    tdrv_free(&d);
    mem_get(MEM_NDPI, &m0);
    for (long i = 1; i <= n + 2; i++) {
        if (tdrv_grow(&d) != 0) /* the driver's own table first: count from the flows on */
            return -1;
        while (d.cap < 8192)
            if (tdrv_grow(&d) != 0)
                return -1;
        mem_fail_after(i);
        int rc = tdrv_run(&d, path);
        mem_fail_after(0);
        tdrv_free(&d);
        mem_get(MEM_NDPI, &m1);
        if (rc != 0 || m1.in_use != m0.in_use) {
            fprintf(stderr, "sweep %s: allocation %ld: MEM_NDPI %" PRIu64 " != %" PRIu64 "\n", path,
                    i, m1.in_use, m0.in_use);
            return -1;
        }
    }
    return n;
}

static void test_alloc_fail_sweep(void)
{
    static const char *const files[] = {"ssl-cert-name-mismatch.pcap", "http.pcapng", "dns.pcap",
                                        "1kxun.pcap"};
    char path[1200];
    if (!corpus_file(files[0], path, sizeof(path)))
        SKIP("corpus pcap/ndpi absent");
    struct appid *a = new_default();
    CHECK(a != NULL);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        CHECK(corpus_file(files[i], path, sizeof(path)));
        long n = sweep_one(a, path);
        fprintf(stderr, "alloc sweep %s: %ld allocations, each failed in turn\n", files[i], n);
        CHECK(n > 0);
    }
    appid_free(a);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "-r") == 0 && strcmp(argv[3], "-o") == 0)
        return dump_main(argv[2], argv[4]);
    /* CORPUS is what tests/pcap/ndpi_agree.sh passes; otherwise the shared lookup. */
    const char *corpus = getenv("CORPUS");
    const char *pcaps = check_corpus_pcap_dir();
    if (corpus != NULL)
        snprintf(g_dir, sizeof(g_dir), "%s/pcap/ndpi", corpus);
    else
        snprintf(g_dir, sizeof(g_dir), "%s/ndpi", pcaps ? pcaps : "(corpus not found)");
    RUN(test_eve_names);
    RUN(test_corpus_verdicts);
    RUN(test_slots_freed);
    RUN(test_memcap);
    RUN(test_alloc_fail_sweep);
    return check_done();
}
