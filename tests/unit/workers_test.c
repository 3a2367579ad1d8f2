/*
 * The pieces of the multi-worker pipeline (capture.workers): the reader's flow hash
 * (capture/flowhash.c) and the packet ring between the reader and a worker
 * (capture/pktring.c). The pipeline as a whole is checked by tests/pcap/workers.sh.
 */
#include "capture/flowhash.h"
#include "capture/pktring.h"
#include "decode/decode.h"

#include "check.h"

#include <pthread.h>

/* Ethernet + IPv4 header + 4 bytes of ports; vlan adds one 802.1Q tag. frag sets
 * the MF bit. Returns the length. */
static size_t eth_ipv4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4], uint16_t sp,
                       uint16_t dp, int vlan, int frag)
{
    size_t o = 0;
    memset(b, 0, 128);
    memcpy(b, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb", 12);
    o = 12;
    if (vlan) {
        b[o++] = 0x81, b[o++] = 0x00, b[o++] = 0x00, b[o++] = 0x0a;
    }
    b[o++] = 0x08, b[o++] = 0x00;
    uint8_t *ip = b + o;
    ip[0] = 0x45;
    ip[3] = 40;
    if (frag)
        ip[6] = 0x20; /* MF */
    ip[8] = 64;
    ip[9] = 6; /* TCP */
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    o += 20;
    b[o++] = (uint8_t)(sp >> 8), b[o++] = (uint8_t)sp;
    b[o++] = (uint8_t)(dp >> 8), b[o++] = (uint8_t)dp;
    return o + 16;
}

static void test_hash_symmetric_v4(void)
{
    static const uint8_t a[4] = {192, 168, 1, 10}, c[4] = {203, 0, 113, 7}, d[4] = {8, 8, 8, 8};
    uint8_t p1[128], p2[128], p3[128];
    size_t n1 = eth_ipv4(p1, a, c, 50000, 443, 0, 0);
    size_t n2 = eth_ipv4(p2, c, a, 443, 50000, 0, 0);
    uint32_t h1 = flowhash_packet(DECODE_DLT_EN10MB, p1, n1);
    CHECK(h1 != 0);
    CHECK_EQ_U64(h1, flowhash_packet(DECODE_DLT_EN10MB, p2, n2));
    /* other ports of the same host pair: same worker (the pair's flows stay together) */
    size_t n3 = eth_ipv4(p3, a, c, 50001, 80, 0, 0);
    CHECK_EQ_U64(h1, flowhash_packet(DECODE_DLT_EN10MB, p3, n3));
    /* a fragment and a VLAN-tagged copy: the same pair, the same hash */
    n3 = eth_ipv4(p3, c, a, 0, 0, 1, 1);
    CHECK_EQ_U64(h1, flowhash_packet(DECODE_DLT_EN10MB, p3, n3));
    /* another pair differs (for these addresses; a collision would be a bad mix) */
    n3 = eth_ipv4(p3, a, d, 50000, 443, 0, 0);
    CHECK(flowhash_packet(DECODE_DLT_EN10MB, p3, n3) != h1);
    /* raw IP (no link header) hashes the same addresses the same way */
    CHECK_EQ_U64(h1, flowhash_packet(DECODE_DLT_RAW, p1 + 14, n1 - 14));
}

static void test_hash_v6_and_unreadable(void)
{
    uint8_t p[80], q[80];
    memset(p, 0, sizeof(p));
    p[0] = 0x60;
    p[6] = 17; /* UDP */
    p[7] = 64;
    for (int i = 0; i < 16; i++) {
        p[8 + i] = (uint8_t)(0x20 + i);
        p[24 + i] = (uint8_t)(0xfe - i);
    }
    memcpy(q, p, sizeof(q));
    memcpy(q + 8, p + 24, 16);
    memcpy(q + 24, p + 8, 16);
    uint32_t h = flowhash_packet(DECODE_DLT_RAW, p, sizeof(p));
    CHECK(h != 0);
    CHECK_EQ_U64(h, flowhash_packet(DECODE_DLT_RAW, q, sizeof(q)));
    CHECK_EQ_U64(h, flowhash_packet(DECODE_DLT_IPV6, q, sizeof(q)));
    /* cut inside the addresses, a bad version, an unknown link type: 0 (fixed worker) */
    CHECK_EQ_U64(0, flowhash_packet(DECODE_DLT_RAW, p, 30));
    q[0] = 0x50;
    CHECK_EQ_U64(0, flowhash_packet(DECODE_DLT_RAW, q, sizeof(q)));
    CHECK_EQ_U64(0, flowhash_packet(9999, p, sizeof(p)));
    CHECK_EQ_U64(0, flowhash_packet(DECODE_DLT_EN10MB, p, 0));
    /* ARP over Ethernet */
    uint8_t arp[42];
    memset(arp, 0, sizeof(arp));
    arp[12] = 0x08, arp[13] = 0x06;
    CHECK_EQ_U64(0, flowhash_packet(DECODE_DLT_EN10MB, arp, sizeof(arp)));
}

/* One thread: records of many sizes through a small ring, across its wrap point. */
static void test_ring_order_and_wrap(void)
{
    struct pktring *r = pktring_new(4096);
    CHECK(r != NULL);
    uint8_t data[900];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    uint64_t next_get = 1;
    for (uint64_t k = 1; k <= 200; k++) {
        struct pktring_rec h = {.kind = PKTRING_PKT, .caplen = (uint32_t)(k * 37 % 900),
                                .wirelen = 1500, .ts_us = k * 10, .pktno = k};
        if (!pktring_put(r, &h, data, false)) {
            /* full: read everything queued, then it must fit */
            while (next_get < k) {
                const struct pktring_rec *g = pktring_get(r);
                CHECK(g != NULL);
                CHECK_EQ_U64(g->pktno, next_get);
                CHECK_EQ_U64(g->caplen, next_get * 37 % 900);
                CHECK_EQ_U64(g->ts_us, next_get * 10);
                CHECK_MEM((const uint8_t *)(g + 1), data, g->caplen);
                pktring_release(r);
                next_get++;
            }
            CHECK(pktring_put(r, &h, data, false));
        }
    }
    pktring_close(r);
    const struct pktring_rec *g;
    while ((g = pktring_get(r)) != NULL) {
        CHECK_EQ_U64(g->pktno, next_get);
        pktring_release(r);
        next_get++;
    }
    CHECK_EQ_U64(next_get, 201);
    /* a packet longer than a quarter of the ring is cut, not refused */
    pktring_free(r);
    r = pktring_new(4096);
    uint8_t big[2000] = {0};
    struct pktring_rec h = {.kind = PKTRING_PKT, .caplen = sizeof(big), .pktno = 1};
    CHECK(pktring_put(r, &h, big, false));
    g = pktring_get(r);
    CHECK(g != NULL && g->caplen == pktring_max_caplen(r));
    pktring_release(r);
    pktring_free(r);
}

struct prod {
    struct pktring *r;
    uint64_t n;
};

static void *producer(void *arg)
{
    struct prod *p = arg;
    uint8_t buf[1600];
    for (uint64_t k = 1; k <= p->n; k++) {
        uint32_t len = (uint32_t)(k * 131 % sizeof(buf));
        memset(buf, (int)(k & 0xff), len);
        struct pktring_rec h = {.kind = PKTRING_PKT, .caplen = len, .pktno = k};
        pktring_put(p->r, &h, buf, true); /* blocks while full: nothing lost */
    }
    pktring_close(p->r);
    return NULL;
}

/* Two threads, a blocking producer: every record arrives once, in order, intact. */
static void test_ring_threads(void)
{
    struct prod p = {pktring_new((size_t)64 * 1024), 200000};
    CHECK(p.r != NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, producer, &p) == 0);
    uint64_t want = 1, bad = 0;
    const struct pktring_rec *g;
    while ((g = pktring_get(p.r)) != NULL) {
        const uint8_t *d = (const uint8_t *)(g + 1);
        if (g->pktno != want || g->caplen != want * 131 % 1600 ||
            (g->caplen > 0 && (d[0] != (uint8_t)(want & 0xff) ||
                               d[g->caplen - 1] != (uint8_t)(want & 0xff))))
            bad++;
        pktring_release(p.r);
        want++;
    }
    pthread_join(t, NULL);
    CHECK_EQ_U64(bad, 0);
    CHECK_EQ_U64(want - 1, p.n);
    pktring_free(p.r);
}

int main(void)
{
    RUN(test_hash_symmetric_v4);
    RUN(test_hash_v6_and_unreadable);
    RUN(test_ring_order_and_wrap);
    RUN(test_ring_threads);
    return check_done();
}
