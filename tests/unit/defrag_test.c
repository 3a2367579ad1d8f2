/*
 * IP fragment reassembly tests: IPv4 in order, out of order, overlapping (first
 * wins), duplicated, timed out, over the memcap, over max frags / max trackers, too
 * large, inconsistent lengths, VLAN in the key; IPv6 fragments with an
 * unfragmentable extension header, atomic fragments and bad fragment lengths.
 *
 * The datagram used throughout: UDP 1111 -> 2222, 64 bytes (8 header + 56 payload
 * bytes 0..55), 10.0.0.1 -> 10.0.0.2, sent as raw IP (DLT_RAW) fragments.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "decode/decode.h"
#include "otasuke/alloc.h"

#define TS 1700000000000000ull

static uint8_t g_dgram[64];
static struct pkt g_p;

static void make_dgram(void)
{
    /* UDP: 1111 -> 2222, length 64, checksum 0 */
    static const uint8_t udp[8] = {0x04, 0x57, 0x08, 0xae, 0x00, 0x40, 0x00, 0x00};
    memcpy(g_dgram, udp, 8);
    for (int i = 0; i < 56; i++)
        g_dgram[8 + i] = (uint8_t)i;
}

/* Builds an IPv4 fragment carrying `len` bytes of `data` at byte offset `off`
 * (a multiple of 8). Returns its length. */
static size_t v4frag(uint8_t *b, uint16_t id, uint32_t off, bool mf, const uint8_t *data,
                     size_t len)
{
    /* IPv4: ihl 5, total 20 + len, id, flags MF?, offset off/8, ttl 64, UDP,
     * 10.0.0.1 -> 10.0.0.2 */
    uint16_t fo = (uint16_t)((off / 8) | (mf ? 0x2000 : 0));
    uint8_t h[20] = {0x45, 0, (uint8_t)((20 + len) >> 8), (uint8_t)(20 + len),
                     (uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(fo >> 8), (uint8_t)fo,
                     64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
    memcpy(b, h, 20);
    memcpy(b + 20, data, len);
    return 20 + len;
}

static enum decode_rc feed4(struct decoder *d, uint16_t id, uint32_t off, bool mf,
                            const uint8_t *data, size_t len, uint64_t ts)
{
    uint8_t *b = malloc(20 + len);
    size_t n = v4frag(b, id, off, mf, data, len);
    enum decode_rc rc = decode_packet(d, &g_p, DECODE_DLT_RAW, b, (uint32_t)n, (uint32_t)n, ts);
    free(b);
    return rc;
}

static struct decoder *mk(uint64_t memcap, uint64_t timeout, uint32_t frags, uint32_t trackers)
{
    struct decode_conf c = {memcap, timeout, frags, trackers, true, 0, 0, 0};
    return decoder_new(&c);
}

/* Checks the reassembled datagram in g_p. */
static int whole_ok(void)
{
    return g_p.defragged && !g_p.is_fragment && g_p.ipver == 4 && g_p.proto == 17 &&
           g_p.sport == 1111 && g_p.dport == 2222 && g_p.l3_len == 84 &&
           g_p.payload_len == 56 && memcmp(g_p.payload, g_dgram + 8, 56) == 0;
}

static void test_in_order(void)
{
    make_dgram();
    struct decoder *d = mk(0, 0, 0, 0);
    CHECK_EQ_U64(feed4(d, 1, 0, true, g_dgram, 24, TS), DECODE_HELD);
    CHECK(g_p.is_fragment);
    CHECK_EQ_U64(g_p.proto, 17);
    CHECK_EQ_U64(g_p.sport, 0); /* no L4 yet */
    CHECK_EQ_U64(decoder_defrag_trackers(d), 1);
    CHECK_EQ_U64(feed4(d, 1, 24, true, g_dgram + 24, 24, TS + 1), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 1, 48, false, g_dgram + 48, 16, TS + 2), DECODE_OK);
    CHECK(whole_ok());
    /* the rebuilt header has the full length and no fragment bits */
    CHECK_EQ_U64(g_p.l3[2] << 8 | g_p.l3[3], 84);
    CHECK_EQ_U64(g_p.l3[6] << 8 | g_p.l3[7], 0);
    const struct decode_stats *st = decoder_stats(d);
    CHECK_EQ_U64(st->proto[DECODE_P_FRAG], 3);
    CHECK_EQ_U64(st->proto[DECODE_P_DEFRAG_REASSEMBLED], 1);
    CHECK_EQ_U64(st->proto[DECODE_P_IPV4], 3); /* wire headers only */
    CHECK_EQ_U64(st->proto[DECODE_P_UDP], 1);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 0);
    CHECK_EQ_U64(decoder_defrag_bytes(d), 0);
    decoder_free(d);
}

static void test_out_of_order(void)
{
    make_dgram();
    struct decoder *d = mk(0, 0, 0, 0);
    CHECK_EQ_U64(feed4(d, 2, 48, false, g_dgram + 48, 16, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 2, 0, true, g_dgram, 24, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 2, 24, true, g_dgram + 24, 24, TS), DECODE_OK);
    CHECK(whole_ok());
    CHECK_EQ_U64(decoder_stats(d)->ev[DECODE_EV_IPV4_FRAG_OVERLAP], 0);
    decoder_free(d);
}

/* Overlap: the bytes received first win. */
static void test_overlap_first_wins(void)
{
    make_dgram();
    uint8_t evil[24];
    memset(evil, 0xee, sizeof(evil));
    struct decoder *d = mk(0, 0, 0, 0);
    CHECK_EQ_U64(feed4(d, 3, 0, true, g_dgram, 24, TS), DECODE_HELD);
    /* [16, 40): bytes 16..23 already held, 24..39 new */
    uint8_t mix[24];
    memcpy(mix, evil, 8);
    memcpy(mix + 8, g_dgram + 24, 16);
    CHECK_EQ_U64(feed4(d, 3, 16, true, mix, 24, TS), DECODE_HELD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_IPV4_FRAG_OVERLAP);
    CHECK_EQ_U64(decoder_stats(d)->ev[DECODE_EV_IPV4_FRAG_OVERLAP], 1);
    /* [32, 64) last: 32..39 overlap again (with different bytes), 40..63 new */
    uint8_t tail[32];
    memcpy(tail, evil, 8);
    memcpy(tail + 8, g_dgram + 40, 24);
    CHECK_EQ_U64(feed4(d, 3, 32, false, tail, 32, TS), DECODE_OK);
    CHECK(whole_ok()); /* none of the 0xee bytes made it */
    CHECK_EQ_U64(decoder_stats(d)->ev[DECODE_EV_IPV4_FRAG_OVERLAP], 2);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_IPV4_FRAG_OVERLAP);
    /* a fragment that covers a hole and straddles held data is split around it */
    CHECK_EQ_U64(feed4(d, 4, 24, true, g_dgram + 24, 8, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 4, 0, true, g_dgram, 48, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 4, 48, false, g_dgram + 48, 16, TS), DECODE_OK);
    CHECK(whole_ok());
    decoder_free(d);
}

static void test_duplicate(void)
{
    make_dgram();
    struct decoder *d = mk(0, 0, 0, 0);
    CHECK_EQ_U64(feed4(d, 5, 0, true, g_dgram, 32, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 5, 0, true, g_dgram, 32, TS), DECODE_HELD);
    CHECK_EQ_U64(decoder_stats(d)->ev[DECODE_EV_IPV4_FRAG_OVERLAP], 1);
    CHECK_EQ_U64(feed4(d, 5, 32, false, g_dgram + 32, 32, TS), DECODE_OK);
    CHECK(whole_ok());
    /* the duplicate of a finished datagram starts a new tracker that never completes */
    CHECK_EQ_U64(feed4(d, 5, 32, false, g_dgram + 32, 32, TS), DECODE_HELD);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 1);
    decoder_free(d); /* frees the held tracker: LeakSanitizer checks */
}

static void test_timeout(void)
{
    make_dgram();
    struct decoder *d = mk(0, 1000000, 0, 0); /* 1 s */
    CHECK_EQ_U64(feed4(d, 6, 0, true, g_dgram, 32, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 7, 0, true, g_dgram, 32, TS + 500000), DECODE_HELD);
    /* 1 s after the first fragment: dropped; the rest starts a new datagram */
    CHECK_EQ_U64(feed4(d, 6, 32, false, g_dgram + 32, 32, TS + 1000000), DECODE_HELD);
    CHECK_EQ_U64(decoder_stats(d)->ev[DECODE_EV_DEFRAG_TIMEOUT], 1);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 2);
    /* id 7 is still in time */
    CHECK_EQ_U64(feed4(d, 7, 32, false, g_dgram + 32, 32, TS + 1400000), DECODE_OK);
    CHECK(whole_ok());
    CHECK_EQ_U64(decoder_defrag_trackers(d), 1);
    decoder_expire(d, TS + 1500000); /* id 6's new tracker is 0.5 s old */
    CHECK_EQ_U64(decoder_defrag_trackers(d), 1);
    decoder_expire(d, TS + 2000000);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 0);
    CHECK_EQ_U64(decoder_stats(d)->ev[DECODE_EV_DEFRAG_TIMEOUT], 2);
    CHECK_EQ_U64(decoder_defrag_bytes(d), 0);
    decoder_free(d);
}

static void test_memcap(void)
{
    make_dgram();
    uint8_t big[1024];
    memset(big, 0x11, sizeof(big));
    struct decoder *d = mk(4096, 0, 0, 0);
    struct mem_stat before;
    mem_get(MEM_DEFRAG, &before);
    enum decode_rc rc = DECODE_HELD;
    int i;
    for (i = 0; i < 10 && rc == DECODE_HELD; i++)
        rc = feed4(d, 8, (uint32_t)i * 1024, true, big, sizeof(big), TS);
    CHECK_EQ_U64(rc, DECODE_BAD);
    CHECK(i >= 3 && i <= 4); /* 3 pieces of ~1 KiB fit in 4 KiB with the tracker */
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_DEFRAG_MEMCAP);
    CHECK_STR(decode_ev_name(decoder_last_event(d)), "defrag.memcap");
    /* the datagram was dropped and its memory returned */
    CHECK_EQ_U64(decoder_defrag_trackers(d), 0);
    CHECK_EQ_U64(decoder_defrag_bytes(d), 0);
    struct mem_stat after;
    mem_get(MEM_DEFRAG, &after);
    CHECK_EQ_U64(after.in_use, before.in_use);
    /* other datagrams still work */
    CHECK_EQ_U64(feed4(d, 9, 0, true, g_dgram, 32, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 9, 32, false, g_dgram + 32, 32, TS), DECODE_OK);
    CHECK(whole_ok());
    decoder_free(d);

    /* The MEM_DEFRAG subsystem cap applies as well. */
    d = mk(0, 0, 0, 0);
    mem_set_cap(MEM_DEFRAG, after.in_use + 64);
    rc = feed4(d, 10, 0, true, g_dgram, 32, TS);
    mem_set_cap(MEM_DEFRAG, 0);
    CHECK_EQ_U64(rc, DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_DEFRAG_MEMCAP);
    decoder_free(d);
}

static void test_max_frags_and_trackers(void)
{
    make_dgram();
    struct decoder *d = mk(0, 0, 2, 2);
    CHECK_EQ_U64(feed4(d, 11, 0, true, g_dgram, 8, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 11, 16, true, g_dgram + 16, 8, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 11, 32, true, g_dgram + 32, 8, TS), DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_DEFRAG_MAX_FRAGS);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 0); /* dropped whole */
    CHECK_EQ_U64(feed4(d, 12, 0, true, g_dgram, 8, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 13, 0, true, g_dgram, 8, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 14, 0, true, g_dgram, 8, TS), DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_DEFRAG_MAX_TRACKERS);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 2); /* existing ones kept */
    CHECK_EQ_U64(decoder_stats(d)->ev[DECODE_EV_DEFRAG_MAX_TRACKERS], 1);
    decoder_free(d);
}

static void test_too_large_and_mismatch(void)
{
    make_dgram();
    struct decoder *d = mk(0, 0, 0, 0);
    /* offset 65512 + 24 bytes + 20-byte header > 65535 */
    CHECK_EQ_U64(feed4(d, 15, 65512, false, g_dgram, 24, TS), DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_IPV4_FRAG_PKT_TOO_LARGE);
    /* last fragment says 64 bytes; a later one reaches 72 */
    CHECK_EQ_U64(feed4(d, 16, 48, false, g_dgram + 48, 16, TS), DECODE_HELD);
    CHECK_EQ_U64(feed4(d, 16, 64, true, g_dgram, 8, TS), DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_DEFRAG_LEN_MISMATCH);
    /* a second, different last fragment */
    CHECK_EQ_U64(feed4(d, 16, 40, false, g_dgram + 40, 16, TS), DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_DEFRAG_LEN_MISMATCH);
    /* the datagram still completes with consistent fragments */
    CHECK_EQ_U64(feed4(d, 16, 0, true, g_dgram, 48, TS), DECODE_OK);
    CHECK(whole_ok());
    decoder_free(d);
}

/* Same id, addresses and protocol on two VLANs are two datagrams. */
static void test_vlan_in_key(void)
{
    make_dgram();
    struct decoder *d = mk(0, 0, 0, 0);
    uint8_t b[18 + 20 + 64];
    /* Ethernet with 802.1Q tag `vid`, then the fragment */
    static const uint8_t eth[18] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                    0x99, 0xaa, 0xbb, 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00};
    memcpy(b, eth, 18);
    size_t n = v4frag(b + 18, 20, 0, true, g_dgram, 32);
    CHECK_EQ_U64(decode_packet(d, &g_p, DECODE_DLT_EN10MB, b, 18 + n, 18 + n, TS), DECODE_HELD);
    b[15] = 0x0b; /* VLAN 11 */
    n = v4frag(b + 18, 20, 32, false, g_dgram + 32, 32);
    CHECK_EQ_U64(decode_packet(d, &g_p, DECODE_DLT_EN10MB, b, 18 + n, 18 + n, TS), DECODE_HELD);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 2);
    b[15] = 0x0a;
    CHECK_EQ_U64(decode_packet(d, &g_p, DECODE_DLT_EN10MB, b, 18 + n, 18 + n, TS), DECODE_OK);
    CHECK(whole_ok());
    CHECK_EQ_U64(g_p.vlan[0], 10);
    decoder_free(d);
}

/* A fragment cut by the snap length cannot be reassembled: skipped, not bad. */
static void test_truncated_fragment(void)
{
    make_dgram();
    struct decoder *d = mk(0, 0, 0, 0);
    uint8_t b[84];
    size_t n = v4frag(b, 21, 0, true, g_dgram, 64);
    CHECK_EQ_U64(decode_packet(d, &g_p, DECODE_DLT_RAW, b, 40, (uint32_t)n, TS), DECODE_SKIP);
    CHECK(g_p.is_fragment);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 0);
    CHECK_EQ_U64(decoder_stats(d)->proto[DECODE_P_TRUNCATED], 1);
    decoder_free(d);
}

/* IPv6: header, destination options (unfragmentable), fragment header, data. */
static size_t v6frag(uint8_t *b, uint32_t id, uint32_t off, bool m, const uint8_t *data,
                     size_t len)
{
    size_t plen = 8 + 8 + len;
    uint8_t h[40 + 8 + 8] = {
        /* IPv6: plen, next Dst opts, hlim 64, 2001:db8::a -> 2001:db8::b */
        0x60, 0, 0, 0, (uint8_t)(plen >> 8), (uint8_t)plen, 60, 64,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
        /* Dst opts: next Fragment, len 0, PadN 4 */
        44, 0, 1, 4, 0, 0, 0, 0,
        /* Fragment: next UDP, reserved, offset | M, id */
        17, 0, (uint8_t)(off >> 8), (uint8_t)((off & 0xf8) | (m ? 1 : 0)),
        (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id,
    };
    memcpy(b, h, sizeof(h));
    memcpy(b + sizeof(h), data, len);
    return sizeof(h) + len;
}

static enum decode_rc feed6(struct decoder *d, uint32_t id, uint32_t off, bool m,
                            const uint8_t *data, size_t len)
{
    uint8_t *b = malloc(56 + len);
    size_t n = v6frag(b, id, off, m, data, len);
    enum decode_rc rc = decode_packet(d, &g_p, DECODE_DLT_RAW, b, (uint32_t)n, (uint32_t)n, TS);
    free(b);
    return rc;
}

static void test_ipv6_frags(void)
{
    make_dgram();
    struct decoder *d = mk(0, 0, 0, 0);
    CHECK_EQ_U64(feed6(d, 0xdeadbeef, 32, false, g_dgram + 32, 32), DECODE_HELD);
    CHECK(g_p.is_fragment);
    CHECK_EQ_U64(g_p.ipver, 6);
    CHECK_EQ_U64(feed6(d, 0xdeadbeef, 0, true, g_dgram, 32), DECODE_OK);
    CHECK(g_p.defragged);
    CHECK_EQ_U64(g_p.ipver, 6);
    CHECK_EQ_U64(g_p.proto, 17);
    CHECK_EQ_U64(g_p.sport, 1111);
    CHECK_EQ_U64(g_p.payload_len, 56);
    CHECK_MEM(g_p.payload, g_dgram + 8, 56);
    /* rebuilt: IPv6 header + dst opts (next UDP now) + 64 bytes */
    CHECK_EQ_U64(g_p.l3_len, 40 + 8 + 64);
    CHECK_EQ_U64(g_p.l3[4] << 8 | g_p.l3[5], 8 + 64);
    CHECK_EQ_U64(g_p.l3[40], 17);
    CHECK_EQ_U64(decoder_stats(d)->proto[DECODE_P_DEFRAG_REASSEMBLED], 1);

    /* overlap in IPv6 counts its own event, first still wins */
    uint8_t evil[32];
    memset(evil, 0xee, sizeof(evil));
    CHECK_EQ_U64(feed6(d, 7, 0, true, g_dgram, 32), DECODE_HELD);
    CHECK_EQ_U64(feed6(d, 7, 24, true, evil, 16), DECODE_HELD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_IPV6_FRAG_OVERLAP);
    /* 32..39 are held from `evil`, so the last fragment completes the datagram */
    CHECK_EQ_U64(feed6(d, 7, 40, false, g_dgram + 40, 24), DECODE_OK);
    CHECK_EQ_U64(g_p.payload[24 - 8], 16); /* byte 24 came from the first fragment */
    CHECK(memcmp(g_p.payload, g_dgram + 8, 56) != 0); /* 32..39 came from `evil` */

    /* a non-last fragment whose length is not a multiple of 8 */
    CHECK_EQ_U64(feed6(d, 8, 0, true, g_dgram, 12), DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_IPV6_FRAG_INVALID_LEN);
    /* too large */
    CHECK_EQ_U64(feed6(d, 9, 65528, false, g_dgram, 16), DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_IPV6_FRAG_PKT_TOO_LARGE);
    /* atomic fragment (offset 0, M 0): decoded at once, not held */
    CHECK_EQ_U64(feed6(d, 10, 0, false, g_dgram, 64), DECODE_OK);
    CHECK(!g_p.defragged && !g_p.is_fragment);
    CHECK_EQ_U64(g_p.dport, 2222);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 0);
    decoder_free(d);
}

/* A fragment inside a rebuilt IPv6 datagram is refused, not reassembled again. */
static void test_ipv6_nested_fh(void)
{
    make_dgram();
    /* the fragmented payload itself starts with a fragment header */
    uint8_t inner[16] = {17, 0, 0, 1, 0, 0, 0, 1, 0x04, 0x57, 0x08, 0xae, 0, 8, 0, 0};
    struct decoder *d = mk(0, 0, 0, 0);
    uint8_t b[56 + 16];
    size_t n = v6frag(b, 30, 0, true, inner, 8);
    b[48] = 44; /* fragment header's next: another fragment header */
    CHECK_EQ_U64(decode_packet(d, &g_p, DECODE_DLT_RAW, b, (uint32_t)n, (uint32_t)n, TS),
                 DECODE_HELD);
    n = v6frag(b, 30, 8, false, inner + 8, 8);
    b[48] = 44;
    CHECK_EQ_U64(decode_packet(d, &g_p, DECODE_DLT_RAW, b, (uint32_t)n, (uint32_t)n, TS),
                 DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_IPV6_EXTHDR_DUPL_FH);
    decoder_free(d);
}

static void test_alloc_failure(void)
{
    make_dgram();
    /* decoder_new under every allocation failure returns NULL without leaking */
    for (long i = 1; i <= 4; i++) {
        mem_fail_after(i);
        struct decoder *d = decoder_new(NULL);
        mem_fail_after(0);
        decoder_free(d);
    }
    struct decoder *d = mk(0, 0, 0, 0);
    CHECK(d != NULL);
    CHECK_EQ_U64(feed4(d, 40, 0, true, g_dgram, 32, TS), DECODE_HELD);
    mem_fail_after(1);
    enum decode_rc rc = feed4(d, 40, 32, true, g_dgram + 32, 16, TS);
    mem_fail_after(0);
    CHECK_EQ_U64(rc, DECODE_BAD);
    CHECK_EQ_U64(decoder_last_event(d), DECODE_EV_DEFRAG_MEMCAP);
    CHECK_EQ_U64(decoder_defrag_trackers(d), 0);
    decoder_free(d);
}

int main(void)
{
    RUN(test_in_order);
    RUN(test_out_of_order);
    RUN(test_overlap_first_wins);
    RUN(test_duplicate);
    RUN(test_timeout);
    RUN(test_memcap);
    RUN(test_max_frags_and_trackers);
    RUN(test_too_large_and_mismatch);
    RUN(test_vlan_in_key);
    RUN(test_truncated_fragment);
    RUN(test_ipv6_frags);
    RUN(test_ipv6_nested_fh);
    RUN(test_alloc_failure);
    return check_done();
}
