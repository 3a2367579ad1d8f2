/* Unit tests of sensor/flow/reasm.c: in-order and out-of-order delivery, overlaps
 * (first data wins), retransmissions, sequence wrap-around, gaps forced by the
 * per-direction limits and the memcap, depth, midstream start, FIN and RST, and
 * a property test: every split and order of a small stream delivers the same
 * bytes. Flows are zeroed structs with the fields the flow table would set; with
 * no packet of the other direction counted (f.pkts) they are one-sided, where ack
 * delivery falls back to delivery on arrival. The test_ack_* tests count both
 * directions: data then waits for the other side's ACK (Suricata's IDS mode). */
#include "check.h"
#include "flow/reasm.h"
#include "otasuke/alloc.h"

#define OUT_MAX 4096

struct sink {
    uint8_t out[2][OUT_MAX];
    size_t len[2];
    uint64_t gaps[2];
    uint64_t gap_bytes[2];
    int calls;
    int pkt;          /* number of the packet being fed (set by the ack tests) */
    int last_pkt[2];  /* the packet during which direction d last got data */
};

static void deliver(void *ud, struct flow *f, int dir, const uint8_t *data, size_t len)
{
    struct sink *k = ud;
    k->calls++;
    k->last_pkt[dir] = k->pkt;
    if (k->len[dir] + len <= OUT_MAX) {
        memcpy(k->out[dir] + k->len[dir], data, len);
        k->len[dir] += len;
    }
}

static void gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    struct sink *k = ud;
    k->gaps[dir]++;
    k->gap_bytes[dir] += len;
}

static struct pkt seg(uint32_t seq, uint8_t flags, const char *data)
{
    struct pkt p;
    memset(&p, 0, sizeof(p));
    p.ipver = 4;
    p.proto = 6;
    p.tcp_seq = seq;
    p.tcp_flags = flags | TH_ACK;
    p.payload = (const uint8_t *)data;
    p.payload_len = data ? (uint32_t)strlen(data) : 0;
    return p;
}

/* A flow whose client SYN (ISN isn) was seen. */
static void flow_syn(struct flow *f, uint32_t isn)
{
    memset(f, 0, sizeof(*f));
    f->key.proto = 6;
    f->flags = FLOW_F_SYN_TS;
    f->tcp_isn[0] = isn;
}

static bool g_arrival; /* mk() builds an arrival-mode reassembler */

static struct reasm *mk(struct sink *k, uint32_t depth, uint32_t segs, uint32_t bytes,
                        uint64_t memcap)
{
    struct reasm_conf c;
    reasm_conf_defaults(&c);
    c.ack_delivery = !g_arrival;
    c.depth = depth;
    if (segs)
        c.max_ooo_segments = segs;
    if (bytes)
        c.max_ooo_bytes = bytes;
    if (memcap)
        c.memcap = memcap;
    memset(k, 0, sizeof(*k));
    return reasm_new(&c, deliver, gap, k);
}

static void feed(struct reasm *r, struct flow *f, int dir, uint32_t seq, uint8_t fl,
                 const char *data)
{
    struct pkt p = seg(seq, fl, data);
    reasm_packet(r, f, dir, &p);
}

#define OUT_IS(k, dir, s)                                                                          \
    do {                                                                                           \
        CHECK_EQ_U64((k).len[dir], strlen(s));                                                     \
        CHECK_MEM((k).out[dir], s, strlen(s));                                                     \
    } while (0)

static void test_in_order(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_syn(&f, 1000);
    feed(r, &f, 0, 1001, 0, "hello ");
    feed(r, &f, 0, 1007, 0, "world");
    OUT_IS(k, 0, "hello world");
    CHECK_EQ_U64(reasm_stream_offset(&f, 0), 11);
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.segments, 2);
    CHECK_EQ_U64(st.bytes_delivered, 11);
    CHECK_EQ_U64(st.ooo_queued, 0);
    CHECK_EQ_U64(st.streams, 1);
    reasm_flow_end(r, &f);
    CHECK(f.stream[0] == NULL);
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
}

static void test_out_of_order_and_handshake_start(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_syn(&f, 1000);
    f.flags |= FLOW_F_SYN_TC;
    f.tcp_isn[1] = 5000;
    feed(r, &f, 0, 1011, 0, "KLMNO"); /* offset 10 */
    feed(r, &f, 0, 1006, 0, "FGHIJ"); /* offset 5 */
    CHECK_EQ_U64(k.len[0], 0);        /* waits for ISN+1 */
    feed(r, &f, 1, 5001, 0, "reply"); /* other direction independent */
    OUT_IS(k, 1, "reply");
    feed(r, &f, 0, 1001, 0, "ABCDE");
    OUT_IS(k, 0, "ABCDEFGHIJKLMNO");
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.ooo_queued, 2);
    CHECK_EQ_U64(st.gaps, 0);
    CHECK_EQ_U64(st.overlaps, 0);
    reasm_flow_end(r, &f);
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
}

static void test_overlap_first_wins(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_syn(&f, 0);
    feed(r, &f, 0, 11, 0, "KLMNO");    /* offset 10..15 buffered first */
    feed(r, &f, 0, 9, 0, "ijKLMNOpq"); /* same bytes where they overlap */
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.overlaps, 1);
    CHECK_EQ_U64(st.overlap_diff, 0);
    feed(r, &f, 0, 13, 0, "xxxxxxyz"); /* offset 12..20: differs on 12..17 */
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.overlap_diff, 1);
    /* in-order data overlapping buffered data: the buffered bytes win too */
    feed(r, &f, 0, 1, 0, "abcdefgh!!!!!"); /* offset 0..13; 8..13 differ */
    OUT_IS(k, 0, "abcdefghijKLMNOpqxyz");
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.overlap_diff, 2);
    CHECK_EQ_U64(st.gaps, 0);
    reasm_flow_end(r, &f);
    reasm_free(r);
}

static void test_retransmission(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_syn(&f, 99);
    feed(r, &f, 0, 100, 0, "abc");
    feed(r, &f, 0, 100, 0, "abc");
    feed(r, &f, 0, 101, 0, "bcdef");  /* partly old, partly new */
    feed(r, &f, 0, 99, TH_SYN, NULL); /* retransmitted SYN, no payload */
    OUT_IS(k, 0, "abcdef");
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.retrans, 1);
    CHECK_EQ_U64(st.bytes_delivered, 6);
    reasm_flow_end(r, &f);
    reasm_free(r);
}

static void test_wraparound(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_syn(&f, 0xfffffff8u);               /* data starts at 2^32 - 7 */
    feed(r, &f, 0, 0x00000003u, 0, "KLMNO"); /* offset 10 (past the wrap) */
    feed(r, &f, 0, 0xfffffff9u, 0, "ABCDE"); /* offset 0 */
    feed(r, &f, 0, 0xfffffffeu, 0, "FGHIJ"); /* offset 5, crosses 2^32 */
    feed(r, &f, 0, 0xfffffffau, 0, "BC");    /* retransmission before the wrap */
    OUT_IS(k, 0, "ABCDEFGHIJKLMNO");
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.retrans, 1);
    CHECK_EQ_U64(st.gaps, 0);
    reasm_flow_end(r, &f);
    reasm_free(r);
}

static void test_gap_on_segment_limit(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 2, 0, 0);
    struct flow f;
    flow_syn(&f, 0);
    feed(r, &f, 0, 11, 0, "KLMNO"); /* [10,15) */
    feed(r, &f, 0, 21, 0, "UVWXY"); /* [20,25) */
    CHECK_EQ_U64(k.len[0], 0);
    feed(r, &f, 0, 31, 0, "efghi"); /* [30,35): third segment, limit 2 */
    /* the hole [0,10) is given up, [10,15) delivered, [30,35) buffered */
    OUT_IS(k, 0, "KLMNO");
    CHECK_EQ_U64(k.gaps[0], 1);
    CHECK_EQ_U64(k.gap_bytes[0], 10);
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.ooo_limit, 1);
    CHECK_EQ_U64(st.gaps, 1);
    feed(r, &f, 0, 1, 0, "abcdefghij"); /* too late: before the delivery point */
    feed(r, &f, 0, 16, 0, "PQRST");     /* fills [15,20): delivers through 25 */
    OUT_IS(k, 0, "KLMNOPQRSTUVWXY");
    /* flow end delivers what is left after giving up [25,30) */
    reasm_flow_end(r, &f);
    OUT_IS(k, 0, "KLMNOPQRSTUVWXYefghi");
    CHECK_EQ_U64(k.gaps[0], 2);
    CHECK_EQ_U64(k.gap_bytes[0], 15);
    CHECK_EQ_U64(reasm_stream_offset(&f, 0), 0); /* freed */
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
}

static void test_gap_on_byte_limit(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 8, 0);
    struct flow f;
    flow_syn(&f, 0);
    feed(r, &f, 0, 3, 0, "cd");          /* [2,4) buffered */
    feed(r, &f, 0, 11, 0, "KLMNOPQRST"); /* 10 bytes > 8: the buffer is given up first,
                                            then the segment is delivered after a gap */
    OUT_IS(k, 0, "cdKLMNOPQRST");
    CHECK_EQ_U64(k.gaps[0], 2);
    CHECK_EQ_U64(k.gap_bytes[0], 2 + 6);
    reasm_flow_end(r, &f);
    reasm_free(r);
}

static void test_depth(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 10, 0, 0, 0);
    struct flow f;
    flow_syn(&f, 0);
    feed(r, &f, 0, 13, 0, "MNOP"); /* buffered beyond the depth */
    feed(r, &f, 0, 1, 0, "abcdefgh");
    feed(r, &f, 0, 9, 0, "ijkl"); /* crosses depth 10 */
    feed(r, &f, 0, 17, 0, "qrst");
    OUT_IS(k, 0, "abcdefghij");
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.depth_reached, 1);
    reasm_flow_end(r, &f);
    OUT_IS(k, 0, "abcdefghij");
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.depth_reached, 1);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
}

static void test_memcap(void)
{
    struct sink k;
    struct mem_stat ms0, ms;
    mem_get(MEM_REASM, &ms0);
    /* room for two stream states and a little data */
    struct reasm *r = mk(&k, 0, 0, 0, 300);
    struct flow f, g;
    flow_syn(&f, 0);
    flow_syn(&g, 0);
    feed(r, &f, 0, 11, 0, "KLMNOPQRSTUVWXYZ"); /* buffered in f */
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.memcap_drops, 0);
    CHECK_EQ_U64(st.ooo_queued, 1);
    for (int i = 0; i < 20; i++) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%08d", i);
        feed(r, &g, 0, (uint32_t)(100 + 20 * i), 0, buf); /* holes everywhere */
        reasm_stats(r, &st);
        CHECK(st.mem_in_use <= 300);
    }
    CHECK(st.memcap_drops > 0);
    CHECK(st.gaps > 0);
    CHECK(k.len[1] == 0);
    CHECK(k.len[0] > 0); /* g's data came through, after gaps */
    /* a third flow cannot even get a stream state once the cap is full */
    struct flow h;
    flow_syn(&h, 0);
    for (int i = 0; i < 3; i++) {
        struct flow x;
        flow_syn(&x, 0);
        feed(r, &x, 1, 50, 0, "zz");
        reasm_flow_end(r, &x);
    }
    reasm_flow_end(r, &f);
    reasm_flow_end(r, &g);
    reasm_flow_end(r, &h);
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
    mem_get(MEM_REASM, &ms);
    CHECK_EQ_U64(ms.in_use, ms0.in_use);
}

static void test_stream_state_memcap(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 1); /* not even one stream state */
    struct flow f;
    flow_syn(&f, 0);
    feed(r, &f, 0, 1, 0, "abc");
    feed(r, &f, 0, 4, 0, "def");
    CHECK_EQ_U64(k.len[0], 0);
    CHECK(f.stream[0] == NULL);
    CHECK(f.flags & FLOW_F_REASM_OFF_TS);
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.memcap_drops, 1); /* tried once, then off for the direction */
    reasm_flow_end(r, &f);
    reasm_free(r);
}

static void test_midstream(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.flags = FLOW_F_MIDSTREAM;
    feed(r, &f, 1, 70000, 0, "HTTP/1.1 200 OK\r\n");
    feed(r, &f, 1, 70017, 0, "\r\n");
    feed(r, &f, 1, 69990, 0, "0123456789"); /* before the start: retransmission */
    OUT_IS(k, 1, "HTTP/1.1 200 OK\r\n\r\n");
    reasm_flow_end(r, &f);
    reasm_free(r);
}

static void test_fin_rst(void)
{
    struct sink k;
    g_arrival = true; /* RST flushes at once in arrival mode; see test_ack_rst */
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    g_arrival = false;
    struct flow f;
    flow_syn(&f, 0);
    feed(r, &f, 0, 1, TH_FIN, "bye");
    feed(r, &f, 0, 4, 0, "after"); /* beyond the FIN: ignored */
    OUT_IS(k, 0, "bye");
    /* SYN with payload (TFO) starts at ISN+1 */
    struct flow g;
    flow_syn(&g, 500);
    struct pkt p = seg(500, TH_SYN, "tfo");
    p.tcp_flags = TH_SYN;
    reasm_packet(r, &g, 0, &p);
    OUT_IS(k, 0, "byetfo");
    /* RST: what is buffered is delivered after a gap, later data ignored */
    feed(r, &g, 0, 510, 0, "XYZ");
    feed(r, &g, 1, 7, TH_RST, NULL);
    OUT_IS(k, 0, "byetfoXYZ");
    CHECK_EQ_U64(k.gaps[0], 1);
    CHECK_EQ_U64(k.gap_bytes[0], 6);
    feed(r, &g, 0, 504, 0, "abcdef");
    OUT_IS(k, 0, "byetfoXYZ");
    reasm_flow_end(r, &f);
    reasm_flow_end(r, &g);
    reasm_free(r);
}

/* ---- ack delivery (two-sided flows) --------------------------------------- */

/* A flow whose handshake was seen: client ISN cisn, server ISN sisn, both sides
 * counted. */
static void flow_hs(struct flow *f, uint32_t cisn, uint32_t sisn)
{
    flow_syn(f, cisn);
    f->flags |= FLOW_F_SYN_TC;
    f->tcp_isn[1] = sisn;
    f->pkts[0] = f->pkts[1] = 1;
}

/* Packet number n of direction dir: seq, ACK number ack, flags (ACK added). */
static void pkt_ack(struct reasm *r, struct sink *k, struct flow *f, int n, int dir, uint32_t seq,
                    uint32_t ack, uint8_t fl, const char *data)
{
    struct pkt p = seg(seq, fl, data);
    p.tcp_ack = ack;
    k->pkt = n;
    f->pkts[dir]++;
    reasm_packet(r, f, dir, &p);
}

static void test_ack_basic(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_hs(&f, 1000, 5000);
    pkt_ack(r, &k, &f, 4, 0, 1001, 5001, 0, "GET / HTTP/1.1\r\n"); /* 16 bytes */
    CHECK_EQ_U64(k.len[0], 0);                                    /* waits for the ACK */
    pkt_ack(r, &k, &f, 5, 1, 5001, 1017, 0, "HTTP/1.1 200 OK\r\n");
    OUT_IS(k, 0, "GET / HTTP/1.1\r\n");
    CHECK_EQ_U64(k.last_pkt[0], 5); /* delivered while the ACKing packet is current */
    CHECK_EQ_U64(k.len[1], 0);      /* the response waits for the client's ACK */
    pkt_ack(r, &k, &f, 6, 0, 1017, 5018, 0, NULL);
    OUT_IS(k, 1, "HTTP/1.1 200 OK\r\n");
    CHECK_EQ_U64(k.last_pkt[1], 6);
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.ooo_queued, 2); /* both copied while waiting */
    CHECK_EQ_U64(st.unacked_forced, 0);
    CHECK_EQ_U64(st.gaps, 0);
    reasm_flow_end(r, &f);
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
}

/* Data split over packets, one ACK for all; an ACK inside a segment delivers part of
 * it; old and duplicate ACKs change nothing. */
static void test_ack_split_and_partial(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_hs(&f, 0, 100);
    pkt_ack(r, &k, &f, 1, 0, 1, 101, 0, "abc");
    pkt_ack(r, &k, &f, 2, 0, 4, 101, 0, "defg");
    pkt_ack(r, &k, &f, 3, 0, 8, 101, 0, "hij");
    CHECK_EQ_U64(k.len[0], 0);
    pkt_ack(r, &k, &f, 4, 1, 101, 8, 0, NULL); /* acks [0,7): abc, defg */
    OUT_IS(k, 0, "abcdefg");
    CHECK_EQ_U64(k.calls, 2);
    pkt_ack(r, &k, &f, 5, 1, 101, 9, 0, NULL); /* inside "hij" */
    OUT_IS(k, 0, "abcdefgh");
    CHECK_EQ_U64(k.last_pkt[0], 5);
    pkt_ack(r, &k, &f, 6, 1, 101, 5, 0, NULL); /* older ACK: nothing */
    pkt_ack(r, &k, &f, 7, 1, 101, 9, 0, NULL); /* duplicate: nothing */
    OUT_IS(k, 0, "abcdefgh");
    /* a retransmission of the waiting part: buffered bytes win, nothing new */
    pkt_ack(r, &k, &f, 8, 0, 8, 101, 0, "hXj");
    pkt_ack(r, &k, &f, 9, 1, 101, 11, 0, NULL);
    OUT_IS(k, 0, "abcdefghij");
    CHECK_EQ_U64(k.last_pkt[0], 9);
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.overlaps, 1);
    CHECK_EQ_U64(st.overlap_diff, 1);
    /* data that arrives already acknowledged goes straight through */
    uint64_t q = st.ooo_queued;
    pkt_ack(r, &k, &f, 10, 1, 101, 14, 0, NULL); /* acks data not yet seen */
    pkt_ack(r, &k, &f, 11, 0, 11, 101, 0, "klmno"); /* [10,15): 3 acked */
    OUT_IS(k, 0, "abcdefghijklm");
    CHECK_EQ_U64(k.last_pkt[0], 11);
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.ooo_queued, q + 1); /* only "no" copied */
    reasm_flow_end(r, &f);              /* the flow's end delivers the unacked rest */
    OUT_IS(k, 0, "abcdefghijklmno");
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
}

/* ACKs seen before the data they cover (capture reordering), with and without the
 * handshake; the packet that carries both an ACK and data applies the ACK first. */
static void test_ack_before_data(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_hs(&f, 0, 100);
    pkt_ack(r, &k, &f, 1, 1, 101, 6, 0, NULL);
    pkt_ack(r, &k, &f, 2, 0, 1, 101, 0, "hello");
    OUT_IS(k, 0, "hello");
    CHECK_EQ_U64(k.last_pkt[0], 2);
    /* midstream (no SYN): the first ACK creates the state, the data sets the start */
    struct flow g;
    memset(&g, 0, sizeof(g));
    g.key.proto = 6;
    g.flags = FLOW_F_MIDSTREAM;
    g.pkts[0] = g.pkts[1] = 1;
    pkt_ack(r, &k, &g, 3, 0, 7000, 9003, 0, NULL);
    pkt_ack(r, &k, &g, 4, 1, 9000, 7000, 0, "xyz12");
    OUT_IS(k, 1, "xyz");
    /* one packet with data and the ACK for the other side's data */
    pkt_ack(r, &k, &g, 5, 0, 7000, 9005, 0, "req");
    OUT_IS(k, 1, "xyz12");
    CHECK_EQ_U64(k.last_pkt[1], 5);
    CHECK_EQ_U64(k.len[0], 5); /* "req" waits */
    pkt_ack(r, &k, &g, 6, 1, 9005, 7003, 0, NULL);
    OUT_IS(k, 0, "helloreq");
    reasm_flow_end(r, &f);
    reasm_flow_end(r, &g);
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    CHECK_EQ_U64(st.gaps, 0);
    reasm_free(r);
}

static void test_ack_wraparound(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_hs(&f, 0xfffffff8u, 77);
    pkt_ack(r, &k, &f, 1, 0, 0xfffffff9u, 78, 0, "ABCDE"); /* [2^32-7, 2^32-2) */
    pkt_ack(r, &k, &f, 2, 0, 0xfffffffeu, 78, 0, "FGHIJ"); /* crosses 2^32 */
    pkt_ack(r, &k, &f, 3, 1, 78, 0xfffffffcu, 0, NULL);
    OUT_IS(k, 0, "ABC");
    pkt_ack(r, &k, &f, 4, 1, 78, 0x00000001u, 0, NULL); /* past the wrap: inside FGHIJ */
    OUT_IS(k, 0, "ABCDEFGH");
    pkt_ack(r, &k, &f, 5, 1, 78, 0xfffffffdu, 0, NULL); /* older, before the wrap */
    pkt_ack(r, &k, &f, 6, 1, 78, 0x00000003u, 0, NULL);
    OUT_IS(k, 0, "ABCDEFGHIJ");
    CHECK_EQ_U64(k.last_pkt[0], 6);
    reasm_flow_end(r, &f);
    reasm_free(r);
}

/* One-sided capture: while the other direction was never seen, data is delivered
 * on arrival; once it shows up, its ACKs rule. */
static void test_ack_one_sided(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_syn(&f, 0);
    f.pkts[0] = 1;
    pkt_ack(r, &k, &f, 2, 0, 1, 0, 0, "USER x\r\n");
    OUT_IS(k, 0, "USER x\r\n");
    CHECK_EQ_U64(k.last_pkt[0], 2);
    pkt_ack(r, &k, &f, 3, 0, 9, 0, 0, "PASS y\r\n");
    OUT_IS(k, 0, "USER x\r\nPASS y\r\n");
    pkt_ack(r, &k, &f, 4, 1, 500, 17, 0, "+OK\r\n"); /* the other side appears */
    pkt_ack(r, &k, &f, 5, 0, 17, 505, 0, "QUIT\r\n");
    OUT_IS(k, 0, "USER x\r\nPASS y\r\n");
    pkt_ack(r, &k, &f, 6, 1, 505, 23, 0, NULL);
    OUT_IS(k, 0, "USER x\r\nPASS y\r\nQUIT\r\n");
    /* the server's data: its start was not seen (no SYN+ACK), it waits for ACK 505 */
    OUT_IS(k, 1, "+OK\r\n");
    CHECK_EQ_U64(k.last_pkt[1], 5);
    reasm_flow_end(r, &f);
    reasm_free(r);
}

/* Limits: unacknowledged data beyond max_ooo_segments / max_ooo_bytes is delivered
 * oldest first without its ACK, never dropped; out-of-order holes still become gaps. */
static void test_ack_limits(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 2, 0, 0);
    struct flow f;
    flow_hs(&f, 0, 100);
    pkt_ack(r, &k, &f, 1, 0, 1, 101, 0, "aaa");
    pkt_ack(r, &k, &f, 2, 0, 4, 101, 0, "bbb");
    CHECK_EQ_U64(k.len[0], 0);
    pkt_ack(r, &k, &f, 3, 0, 7, 101, 0, "ccc"); /* third: "aaa" goes out */
    OUT_IS(k, 0, "aaa");
    CHECK_EQ_U64(k.last_pkt[0], 3);
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.unacked_forced, 1);
    CHECK_EQ_U64(st.unacked_forced_bytes, 3);
    CHECK_EQ_U64(st.gaps, 0);
    pkt_ack(r, &k, &f, 4, 1, 101, 10, 0, NULL);
    OUT_IS(k, 0, "aaabbbccc");
    /* byte limit: one segment larger than the buffer is delivered at once */
    struct reasm *r2 = mk(&k, 0, 0, 4, 0);
    struct flow g;
    flow_hs(&g, 0, 100);
    pkt_ack(r2, &k, &g, 1, 0, 1, 101, 0, "0123456789");
    OUT_IS(k, 0, "0123456789");
    reasm_stats(r2, &st);
    CHECK_EQ_U64(st.unacked_forced_bytes, 10);
    /* a hole is still a gap: [3,6) missing, then the limit */
    pkt_ack(r2, &k, &g, 2, 0, 15, 101, 0, "EF");
    pkt_ack(r2, &k, &g, 3, 0, 18, 101, 0, "HI"); /* [17,19): 4 bytes buffered */
    pkt_ack(r2, &k, &g, 4, 0, 20, 101, 0, "J");  /* over 4: the hole [10,14) is given up */
    CHECK_EQ_U64(k.gaps[0], 1);
    CHECK_EQ_U64(k.gap_bytes[0], 4);
    reasm_flow_end(r, &f);
    reasm_flow_end(r2, &g);
    OUT_IS(k, 0, "0123456789EFHIJ");
    reasm_stats(r2, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
    reasm_free(r2);
}

/* Out-of-order data in ack mode: filled holes still wait for the ACK; FIN data is
 * acknowledged by the FIN's ACK; the depth cuts delivery inside an ACK. */
static void test_ack_ooo_fin_depth(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 8, 0, 0, 0);
    struct flow f;
    flow_hs(&f, 0, 100);
    pkt_ack(r, &k, &f, 1, 0, 5, 101, 0, "EFGH");
    pkt_ack(r, &k, &f, 2, 1, 101, 3, 0, NULL); /* acks [0,2): not there yet */
    CHECK_EQ_U64(k.len[0], 0);
    pkt_ack(r, &k, &f, 3, 0, 1, 101, 0, "ABCD");
    OUT_IS(k, 0, "AB"); /* acknowledged before it arrived */
    pkt_ack(r, &k, &f, 4, 1, 101, 12, 0, NULL);
    OUT_IS(k, 0, "ABCDEFGH"); /* depth 8 */
    struct reasm_stats st;
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.depth_reached, 1);
    struct flow g;
    flow_hs(&g, 0, 100);
    pkt_ack(r, &k, &g, 5, 1, 101, 1, TH_FIN, "bye");
    pkt_ack(r, &k, &g, 6, 1, 104, 1, 0, "more"); /* after the FIN: ignored */
    pkt_ack(r, &k, &g, 7, 0, 1, 105, 0, NULL);   /* ACK of the FIN */
    OUT_IS(k, 1, "bye");
    CHECK_EQ_U64(k.last_pkt[1], 7);
    reasm_flow_end(r, &f);
    reasm_flow_end(r, &g);
    reasm_stats(r, &st);
    CHECK_EQ_U64(st.mem_in_use, 0);
    reasm_free(r);
}

/* RST in ack mode: what waits is kept for the flow's end, new data is refused. */
static void test_ack_rst(void)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_hs(&f, 0, 100);
    pkt_ack(r, &k, &f, 1, 0, 1, 101, 0, "abc");
    pkt_ack(r, &k, &f, 2, 0, 4, 101, 0, "def");
    pkt_ack(r, &k, &f, 3, 1, 101, 4, TH_RST, NULL); /* its ACK delivers "abc" */
    OUT_IS(k, 0, "abc");
    pkt_ack(r, &k, &f, 4, 0, 7, 101, 0, "ghi");
    reasm_flow_end(r, &f);
    OUT_IS(k, 0, "abcdef");
    reasm_free(r);
}

/* Property: every split and order of a stream, each piece followed by an ACK of a
 * pseudo-random point, delivers the stream exactly once, in order, without gaps. */
static void test_ack_every_split(void)
{
    static const char msg[] = "GET / HT";
    const uint32_t len = 8;
    uint32_t rnd = 12345;
    for (uint32_t mask = 0; mask < (1u << (len - 1)); mask++) {
        uint32_t cut[9];
        int n = 0;
        cut[n++] = 0;
        for (uint32_t i = 1; i < len; i++)
            if (mask & (1u << (i - 1)))
                cut[n++] = i;
        cut[n] = len;
        int order[8];
        for (int i = 0; i < n; i++)
            order[i] = n - 1 - i; /* reversed: the worst case for waiting */
        struct sink k;
        struct reasm *r = mk(&k, 0, 0, 0, 0);
        struct flow f;
        flow_hs(&f, 50, 100);
        char buf[16];
        for (int i = 0; i < n; i++) {
            int j = order[i];
            memcpy(buf, msg + cut[j], cut[j + 1] - cut[j]);
            buf[cut[j + 1] - cut[j]] = 0;
            pkt_ack(r, &k, &f, 2 * i, 0, 51 + cut[j], 101, 0, buf);
            rnd = rnd * 1103515245u + 12345u;
            pkt_ack(r, &k, &f, 2 * i + 1, 1, 101, 51 + (rnd >> 16) % (len + 1), 0, NULL);
        }
        pkt_ack(r, &k, &f, 99, 1, 101, 51 + len, 0, NULL);
        OUT_IS(k, 0, msg);
        struct reasm_stats st;
        reasm_stats(r, &st);
        CHECK_EQ_U64(st.gaps, 0);
        reasm_flow_end(r, &f);
        reasm_free(r);
    }
}

/* ---- property: every split and order delivers the same stream ------------- */

static int run_pieces(const char *msg, uint32_t isn, const uint32_t *cut, int n, const int *order)
{
    struct sink k;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    struct flow f;
    flow_syn(&f, isn);
    char buf[64];
    for (int i = 0; i < n; i++) {
        int j = order[i];
        uint32_t a = cut[j], b = cut[j + 1];
        memcpy(buf, msg + a, b - a);
        buf[b - a] = 0;
        feed(r, &f, 0, isn + 1 + a, 0, buf);
    }
    struct reasm_stats st;
    reasm_stats(r, &st);
    int ok = k.len[0] == strlen(msg) && memcmp(k.out[0], msg, k.len[0]) == 0 && st.gaps == 0;
    reasm_flow_end(r, &f);
    reasm_free(r);
    return ok;
}

static bool next_perm(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return false;
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
    for (int x = i + 1, y = n - 1; x < y; x++, y--) {
        t = a[x];
        a[x] = a[y];
        a[y] = t;
    }
    return true;
}

static void test_every_split_and_order(void)
{
    static const char msg[] = "GET / HT"; /* 8 bytes: 128 compositions */
    const uint32_t len = 8;
    static const uint32_t isns[] = {0, 0xfffffffbu}; /* plain, and across 2^32 */
    unsigned runs = 0;
    for (unsigned ii = 0; ii < 2; ii++) {
        for (uint32_t mask = 0; mask < (1u << (len - 1)); mask++) {
            uint32_t cut[9];
            int n = 0;
            cut[n++] = 0;
            for (uint32_t b = 1; b < len; b++)
                if (mask & (1u << (b - 1)))
                    cut[n++] = b;
            cut[n] = len;
            if (n > 5)
                continue; /* at most 5 pieces: all 120 orders */
            int order[8] = {0};
            for (int i = 0; i < n; i++)
                order[i] = i;
            do {
                runs++;
                CHECK(run_pieces(msg, isns[ii], cut, n, order));
            } while (next_perm(order, n));
        }
    }
    CHECK(runs > 5000);
}

/* Random overlapping pieces with the same bytes, shuffled and duplicated. */
static void test_random_overlaps(void)
{
    static const char msg[] = "the quick brown fox jumps over the lazy dog 0123456789";
    const uint32_t len = (uint32_t)strlen(msg);
    uint32_t rng = 12345;
    for (int trial = 0; trial < 2000; trial++) {
        struct sink k;
        struct reasm *r = mk(&k, 0, 0, 0, 0);
        struct flow f;
        uint32_t isn = trial & 1 ? 0xffffffe0u : (uint32_t)trial * 7919u;
        flow_syn(&f, isn);
        /* pieces: a cover of [0,len) plus random extra ranges, in random order */
        uint32_t a[64], b[64];
        int n = 0;
        for (uint32_t pos = 0; pos < len && n < 40;) {
            rng = rng * 1103515245u + 12345u;
            uint32_t l = 1 + (rng >> 16) % 9;
            uint32_t start = pos > 3 ? pos - (rng >> 8) % 4 : pos; /* overlap back */
            a[n] = start;
            b[n] = pos + l < len ? pos + l : len;
            pos = b[n++];
        }
        for (int e = 0; e < 10 && n < 64; e++) {
            rng = rng * 1103515245u + 12345u;
            uint32_t s = (rng >> 16) % len;
            uint32_t l = 1 + (rng >> 8) % 12;
            a[n] = s;
            b[n] = s + l < len ? s + l : len;
            n++;
        }
        for (int i = n - 1; i > 0; i--) {
            rng = rng * 1103515245u + 12345u;
            int j = (int)((rng >> 16) % (uint32_t)(i + 1));
            uint32_t ta = a[i], tb = b[i];
            a[i] = a[j];
            b[i] = b[j];
            a[j] = ta;
            b[j] = tb;
        }
        char buf[64];
        for (int i = 0; i < n; i++) {
            memcpy(buf, msg + a[i], b[i] - a[i]);
            buf[b[i] - a[i]] = 0;
            feed(r, &f, 0, isn + 1 + a[i], 0, buf);
        }
        struct reasm_stats st;
        reasm_stats(r, &st);
        CHECK_EQ_U64(st.overlap_diff, 0);
        CHECK_EQ_U64(st.gaps, 0);
        OUT_IS(k, 0, msg);
        reasm_flow_end(r, &f);
        reasm_free(r);
    }
}

/* Full-sized out-of-order segments (the 2 KiB block pool): 300 flows each buffer two
 * 1,400-byte segments at once (more blocks than the pool keeps), then the holes fill;
 * every flow gets its bytes in order, twice over (the second round reuses pooled
 * blocks), and all memory is back at the end. */
static void test_seg_pool(void)
{
    enum { NF = 300, SEG = 1400 };
    static struct flow fl[NF];
    static char data[3][SEG + 1];
    struct mem_stat m0, m1;
    mem_get(MEM_REASM, &m0);
    struct sink k;
    g_arrival = true;
    struct reasm *r = mk(&k, 0, 0, 0, 0);
    g_arrival = false;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NF; i++)
            flow_syn(&fl[i], 0);
        for (int d = 0; d < 3; d++) {
            memset(data[d], 'a' + d + 3 * round, SEG);
            data[d][SEG] = '\0';
        }
        for (int i = 0; i < NF; i++) {
            feed(r, &fl[i], 0, 1 + 2 * SEG, 0, data[2]);
            feed(r, &fl[i], 0, 1 + SEG, 0, data[1]);
        }
        struct reasm_stats st;
        reasm_stats(r, &st);
        CHECK_EQ_U64(st.ooo_queued, (uint64_t)(round + 1) * NF * 2);
        CHECK(st.mem_in_use >= (uint64_t)NF * 2 * (SEG + 16)); /* each segment's own size */
        for (int i = 0; i < NF; i++) {
            k.len[0] = 0;
            feed(r, &fl[i], 0, 1, 0, data[0]);
            CHECK_EQ_U64(k.len[0], 3 * SEG > OUT_MAX ? 2 * SEG : 3 * SEG);
            CHECK_MEM(k.out[0], data[0], SEG);
            CHECK_MEM(k.out[0] + SEG, data[1], SEG);
            CHECK_EQ_U64(reasm_stream_offset(&fl[i], 0), 3 * SEG);
        }
        for (int i = 0; i < NF; i++)
            reasm_flow_end(r, &fl[i]);
        reasm_stats(r, &st);
        CHECK_EQ_U64(st.mem_in_use, 0);
    }
    reasm_free(r);
    mem_get(MEM_REASM, &m1);
    CHECK_EQ_U64(m1.in_use, m0.in_use);
}

/* Every allocation failing in turn: no crash, no leak, counters say so. */
static void test_alloc_failures(void)
{
    struct mem_stat m0, m1;
    mem_get(MEM_REASM, &m0);
    for (long n = 1; n <= 8; n++) {
        struct sink k;
        mem_fail_after(n);
        struct reasm *r = mk(&k, 0, 0, 0, 0);
        if (r == NULL) {
            mem_fail_after(0);
            continue;
        }
        struct flow f;
        flow_syn(&f, 0);
        feed(r, &f, 0, 11, 0, "KLMNO");
        feed(r, &f, 0, 21, 0, "UVWXY");
        feed(r, &f, 1, 1, 0, "reply");
        feed(r, &f, 0, 1, 0, "abcdefghij");
        mem_fail_after(0);
        reasm_flow_end(r, &f);
        struct reasm_stats st;
        reasm_stats(r, &st);
        CHECK_EQ_U64(st.mem_in_use, 0);
        CHECK(k.len[0] <= 20);
        reasm_free(r);
    }
    mem_get(MEM_REASM, &m1);
    CHECK_EQ_U64(m1.in_use, m0.in_use);
}

int main(void)
{
    RUN(test_in_order);
    RUN(test_seg_pool);
    RUN(test_out_of_order_and_handshake_start);
    RUN(test_overlap_first_wins);
    RUN(test_retransmission);
    RUN(test_wraparound);
    RUN(test_gap_on_segment_limit);
    RUN(test_gap_on_byte_limit);
    RUN(test_depth);
    RUN(test_memcap);
    RUN(test_stream_state_memcap);
    RUN(test_midstream);
    RUN(test_fin_rst);
    RUN(test_every_split_and_order);
    RUN(test_random_overlaps);
    RUN(test_alloc_failures);
    RUN(test_ack_basic);
    RUN(test_ack_split_and_partial);
    RUN(test_ack_before_data);
    RUN(test_ack_wraparound);
    RUN(test_ack_one_sided);
    RUN(test_ack_limits);
    RUN(test_ack_ooo_fin_depth);
    RUN(test_ack_rst);
    RUN(test_ack_every_split);
    return check_done();
}
