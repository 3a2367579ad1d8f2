/* Unit tests of sensor/flow/flow.c: key and direction, per-direction counters,
 * VLAN and ICMP keying, the TCP state machine, midstream pickup, TCP reuse,
 * per-state and emergency timeouts in packet time, eviction under a memcap,
 * deterministic flush order and flow ids, and hash spreading. Packets are built
 * by hand as the decoder would hand them over. */
#include "check.h"
#include "flow/flow.h"
#include "otasuke/alloc.h"

#define S(x) ((uint64_t)(x)*1000000ULL)

#define MAX_ENDED 256

struct ended {
    uint64_t n;
    uint64_t ids[MAX_ENDED];
    enum flow_end_reason why[MAX_ENDED];
    uint16_t sport[MAX_ENDED];
};

static void on_end(struct flow *f, enum flow_end_reason why, void *ud)
{
    struct ended *e = ud;
    if (e->n < MAX_ENDED) {
        e->ids[e->n] = f->flow_id;
        e->why[e->n] = why;
        e->sport[e->n] = f->key.sport;
    }
    e->n++;
}

static void on_end_count(struct flow *f, enum flow_end_reason why, void *ud)
{
    (*(uint64_t *)ud)++;
}

static struct addr v4(uint32_t a)
{
    struct addr x;
    memset(&x, 0, sizeof(x));
    x.b[10] = 0xff;
    x.b[11] = 0xff;
    x.b[12] = (uint8_t)(a >> 24);
    x.b[13] = (uint8_t)(a >> 16);
    x.b[14] = (uint8_t)(a >> 8);
    x.b[15] = (uint8_t)a;
    return x;
}

#define A 0x0a000001u /* 10.0.0.1 */
#define B 0x0a000002u /* 10.0.0.2 */

static struct pkt mk(uint8_t proto, uint32_t sip, uint16_t sp, uint32_t dip, uint16_t dp,
                     uint64_t ts)
{
    struct pkt p;
    memset(&p, 0, sizeof(p));
    p.ts_us = ts;
    p.caplen = p.wirelen = 100;
    p.ipver = 4;
    p.src = v4(sip);
    p.dst = v4(dip);
    p.proto = proto;
    p.sport = sp;
    p.dport = dp;
    return p;
}

static struct pkt mk_tcp(uint32_t sip, uint16_t sp, uint32_t dip, uint16_t dp, uint8_t fl,
                         uint64_t ts)
{
    struct pkt p = mk(6, sip, sp, dip, dp, ts);
    p.tcp_flags = fl;
    p.tcp_seq = 1000;
    return p;
}

static struct flow_conf conf(void)
{
    struct flow_conf c;
    flow_conf_defaults(&c);
    c.hash_size = 1024;
    return c;
}

static struct flow *upd(struct flow_table *t, struct pkt p, int *dir)
{
    return flow_table_update(t, &p, dir);
}

static void test_bidirectional(void)
{
    struct ended e = {0};
    struct flow_conf c = conf();
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    CHECK(t != NULL);
    int d = -1;
    struct pkt p = mk(17, A, 5353, B, 53, S(1));
    p.wirelen = 80;
    struct flow *f = flow_table_update(t, &p, &d);
    CHECK(f != NULL);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK_STR(flow_state_name(f), "new");
    uint64_t id = f->flow_id;
    p = mk(17, B, 53, A, 5353, S(1) + 10);
    p.wirelen = 200;
    f = flow_table_update(t, &p, &d);
    CHECK(f != NULL);
    CHECK_EQ_U64(f->flow_id, id);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    f = upd(t, mk(17, A, 5353, B, 53, S(2)), &d);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK_EQ_U64(f->pkts[FLOW_TOSERVER], 2);
    CHECK_EQ_U64(f->pkts[FLOW_TOCLIENT], 1);
    CHECK_EQ_U64(f->bytes[FLOW_TOSERVER], 180);
    CHECK_EQ_U64(f->bytes[FLOW_TOCLIENT], 200);
    CHECK_EQ_U64(f->ts_start, S(1));
    CHECK_EQ_U64(f->ts_last, S(2));
    struct addr a = v4(A);
    CHECK(memcmp(&f->key.src, &a, sizeof(a)) == 0);
    CHECK_EQ_U64(f->key.sport, 5353);
    CHECK_EQ_U64(f->key.dport, 53);
    CHECK_STR(flow_state_name(f), "established");
    /* a different port is a different flow */
    struct flow *g = upd(t, mk(17, A, 5354, B, 53, S(2)), &d);
    CHECK(g != NULL && g->flow_id != id);
    struct flow_stats st;
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 2);
    CHECK_EQ_U64(st.created, 2);
    flow_table_flush(t);
    CHECK_EQ_U64(e.n, 2);
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.ended_shutdown, 2);
    CHECK_EQ_U64(st.active, 0);
    flow_table_free(t);
}

static void test_vlan_and_other_proto(void)
{
    struct ended e = {0};
    struct flow_conf c = conf();
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    int d;
    struct pkt p = mk(17, A, 1, B, 2, S(1));
    struct flow *f0 = upd(t, p, &d);
    p.vlan_n = 1;
    p.vlan[0] = 10;
    struct flow *f10 = flow_table_update(t, &p, &d);
    p.vlan[0] = 20;
    struct flow *f20 = flow_table_update(t, &p, &d);
    CHECK(f0 != f10 && f10 != f20 && f0 != f20);
    /* reply on vlan 10 finds the vlan-10 flow */
    struct pkt q = mk(17, B, 2, A, 1, S(2));
    q.vlan_n = 1;
    q.vlan[0] = 10;
    CHECK(flow_table_update(t, &q, &d) == f10);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    /* GRE: addresses and proto only, whatever the decoder left in the ports */
    struct flow *g1 = upd(t, mk(47, A, 7, B, 8, S(3)), &d);
    struct flow *g2 = upd(t, mk(47, B, 9, A, 3, S(3)), &d);
    CHECK(g1 != NULL && g1 == g2);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    CHECK_EQ_U64(g1->key.sport, 0);
    /* no IP, or a fragment held for reassembly: no flow */
    p = mk(17, A, 1, B, 2, S(3));
    p.ipver = 0;
    CHECK(flow_table_update(t, &p, &d) == NULL);
    p.ipver = 4;
    p.is_fragment = true;
    CHECK(flow_table_update(t, &p, &d) == NULL);
    struct flow_stats st;
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.not_ip, 2);
    CHECK_EQ_U64(st.active, 4);
    flow_table_flush(t);
    flow_table_free(t);
}

/* ICMP header: type, code, checksum, id, seq */
static struct pkt mk_icmp(uint8_t proto, uint32_t sip, uint32_t dip, uint8_t type, uint8_t code,
                          const uint8_t *l4, uint64_t ts)
{
    struct pkt p = mk(proto, sip, 0, dip, 0, ts);
    p.icmp_type = type;
    p.icmp_code = code;
    p.l4 = l4;
    p.l4_len = 8;
    return p;
}

static void test_icmp(void)
{
    struct ended e = {0};
    struct flow_conf c = conf();
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    int d;
    static const uint8_t req7[] = {8, 0, 0, 0, 0x00, 0x07, 0, 1};   /* echo request id 7 seq 1 */
    static const uint8_t rep7[] = {0, 0, 0, 0, 0x00, 0x07, 0, 1};   /* echo reply id 7 seq 1 */
    static const uint8_t req8[] = {8, 0, 0, 0, 0x00, 0x08, 0, 1};   /* echo request id 8 */
    static const uint8_t unr[] = {3, 3, 0, 0, 0, 0, 0, 0};          /* port unreachable */
    static const uint8_t req6[] = {128, 0, 0, 0, 0x00, 0x07, 0, 1}; /* ICMPv6 echo req id 7 */
    static const uint8_t rep6[] = {129, 0, 0, 0, 0x00, 0x07, 0, 1}; /* ICMPv6 echo reply */
    struct flow *f = upd(t, mk_icmp(1, A, B, 8, 0, req7, S(1)), &d);
    CHECK(f != NULL);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK(!f->icmp_tc_seen);
    CHECK(upd(t, mk_icmp(1, B, A, 0, 0, rep7, S(1) + 5), &d) == f);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    CHECK_STR(flow_state_name(f), "established");
    CHECK(f->icmp_tc_seen); /* EVE response_icmp_type / response_icmp_code */
    CHECK_EQ_U64(f->icmp_type_tc, 0);
    CHECK_EQ_U64(f->icmp_code_tc, 0);
    struct flow *g = upd(t, mk_icmp(1, A, B, 8, 0, req8, S(2)), &d);
    CHECK(g != NULL && g != f);
    /* port unreachable with id bytes 0/0x0303 must not join an echo flow */
    struct flow *u = upd(t, mk_icmp(1, B, A, 3, 3, unr, S(2)), &d);
    CHECK(u != NULL && u != f && u != g);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK(upd(t, mk_icmp(1, A, B, 3, 3, unr, S(2)), &d) == u);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    /* ICMPv6 echo pairs as well, separately from ICMPv4 */
    struct flow *v = upd(t, mk_icmp(58, A, B, 128, 0, req6, S(3)), &d);
    CHECK(v != NULL && v != f);
    CHECK(upd(t, mk_icmp(58, B, A, 129, 0, rep6, S(3)), &d) == v);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    flow_table_flush(t);
    CHECK_EQ_U64(e.n, 4);
    flow_table_free(t);
}

static void test_tcp_states(void)
{
    struct ended e = {0};
    struct flow_conf c = conf();
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    int d;
    struct flow *f = upd(t, mk_tcp(A, 40000, B, 80, TH_SYN, S(1)), &d);
    CHECK(f != NULL);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_SYN_SENT);
    CHECK_STR(flow_state_name(f), "new");
    CHECK(f->flags & FLOW_F_SYN_TS);
    CHECK_EQ_U64(f->tcp_isn[0], 1000);
    upd(t, mk_tcp(B, 80, A, 40000, TH_SYN | TH_ACK, S(1) + 1), &d);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_SYN_RECV);
    CHECK(!f->handshake_seen);
    upd(t, mk_tcp(A, 40000, B, 80, TH_ACK, S(1) + 2), &d);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_ESTABLISHED);
    CHECK(f->handshake_seen);
    CHECK(!(f->flags & FLOW_F_MIDSTREAM));
    CHECK_STR(flow_tcp_state_name(f->tcp_state), "established");
    CHECK_STR(flow_state_name(f), "established");
    upd(t, mk_tcp(A, 40000, B, 80, TH_ACK | TH_PSH, S(2)), &d);
    upd(t, mk_tcp(B, 80, A, 40000, TH_ACK | TH_PSH, S(2)), &d);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_ESTABLISHED);
    /* the client closes first (Suricata's close_wait, then last_ack: bug-2646-01) */
    upd(t, mk_tcp(A, 40000, B, 80, TH_FIN | TH_ACK, S(3)), &d);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_CLOSE_WAIT);
    CHECK_STR(flow_tcp_state_name(f->tcp_state), "close_wait");
    upd(t, mk_tcp(B, 80, A, 40000, TH_ACK, S(3)), &d); /* ACK of the FIN only */
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_CLOSE_WAIT);
    CHECK_STR(flow_state_name(f), "established");
    upd(t, mk_tcp(B, 80, A, 40000, TH_FIN | TH_ACK, S(3)), &d);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_LAST_ACK);
    CHECK_STR(flow_tcp_state_name(f->tcp_state), "last_ack");
    CHECK_STR(flow_state_name(f), "closed");
    upd(t, mk_tcp(A, 40000, B, 80, TH_ACK, S(3)), &d);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_CLOSED);
    CHECK_STR(flow_state_name(f), "closed");
    CHECK_EQ_U64(f->tcp_flags[FLOW_TOSERVER], TH_SYN | TH_ACK | TH_PSH | TH_FIN);
    CHECK_EQ_U64(f->tcp_flags[FLOW_TOCLIENT], TH_SYN | TH_ACK | TH_PSH | TH_FIN);
    CHECK_EQ_U64(f->pkts[0] + f->pkts[1], 9);

    /* the server closes first: fin_wait1, fin_wait2, time_wait, closed */
    struct flow *h = upd(t, mk_tcp(A, 40002, B, 80, TH_SYN, S(4)), &d);
    upd(t, mk_tcp(B, 80, A, 40002, TH_SYN | TH_ACK, S(4)), &d);
    upd(t, mk_tcp(A, 40002, B, 80, TH_ACK, S(4)), &d);
    upd(t, mk_tcp(B, 80, A, 40002, TH_FIN | TH_ACK, S(4)), &d);
    CHECK_STR(flow_tcp_state_name(h->tcp_state), "fin_wait1");
    upd(t, mk_tcp(A, 40002, B, 80, TH_ACK, S(4)), &d);
    CHECK_STR(flow_tcp_state_name(h->tcp_state), "fin_wait2");
    CHECK_STR(flow_state_name(h), "established");
    upd(t, mk_tcp(A, 40002, B, 80, TH_FIN | TH_ACK, S(4)), &d);
    CHECK_STR(flow_tcp_state_name(h->tcp_state), "time_wait");
    CHECK_STR(flow_state_name(h), "closed");
    upd(t, mk_tcp(B, 80, A, 40002, TH_ACK, S(4)), &d);
    CHECK_STR(flow_tcp_state_name(h->tcp_state), "closed");
    /* the server's FIN, then the client's, neither with ACK: closing; an ACK: time_wait */
    struct flow *k = upd(t, mk_tcp(A, 40003, B, 80, TH_ACK | TH_PSH, S(4)), &d);
    upd(t, mk_tcp(B, 80, A, 40003, TH_FIN, S(4)), &d);
    upd(t, mk_tcp(A, 40003, B, 80, TH_FIN, S(4)), &d);
    CHECK_STR(flow_tcp_state_name(k->tcp_state), "closing");
    upd(t, mk_tcp(A, 40003, B, 80, TH_ACK, S(4)), &d);
    CHECK_STR(flow_tcp_state_name(k->tcp_state), "time_wait");

    /* RST closes from any state */
    struct flow *g = upd(t, mk_tcp(A, 40001, B, 80, TH_SYN, S(4)), &d);
    upd(t, mk_tcp(B, 80, A, 40001, TH_RST | TH_ACK, S(4)), &d);
    CHECK_EQ_U64(g->tcp_state, FLOW_TCP_CLOSED);
    CHECK_EQ_U64(g->tcp_flags[FLOW_TOCLIENT], TH_RST | TH_ACK);
    flow_table_flush(t);
    flow_table_free(t);
}

/* A UDP flow whose first packet is a DNS response (from port 53, QR set) belongs to
 * the response's receiver (dns-reversed-udp-1); a query, or a non-DNS datagram from
 * port 53, does not turn the flow around. The first packet's MACs are kept, client's
 * first. */
static void test_dns_response_first(void)
{
    struct ended e = {0};
    struct flow_conf c = conf();
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    int d;
    /* DNS header: id 0x1234, flags 0x8180 (response, RD, RA), counts 1/1/0/0 */
    static const uint8_t resp[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
    static const uint8_t query[12] = {0x12, 0x35, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    struct pkt p = mk(17, B, 53, A, 41805, S(1));
    p.payload = resp;
    p.payload_len = sizeof(resp);
    p.has_eth = true;
    memcpy(p.eth_src, "\x02\x00\x00\x00\x00\x0b", 6); /* the server's MAC */
    memcpy(p.eth_dst, "\x02\x00\x00\x00\x00\x0a", 6);
    struct flow *f = upd(t, p, &d);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    struct addr a = v4(A);
    CHECK(memcmp(&f->key.src, &a, sizeof(a)) == 0);
    CHECK_EQ_U64(f->key.sport, 41805);
    CHECK_EQ_U64(f->key.dport, 53);
    CHECK(f->flags & FLOW_F_REVERSED);
    CHECK(f->has_mac);
    CHECK_MEM(f->mac[0], "\x02\x00\x00\x00\x00\x0a", 6);
    CHECK_MEM(f->mac[1], "\x02\x00\x00\x00\x00\x0b", 6);
    /* a query from port 53 (server to server): the sender stays the client */
    p = mk(17, B, 53, A, 41806, S(1));
    p.payload = query;
    p.payload_len = sizeof(query);
    f = upd(t, p, &d);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK(!(f->flags & FLOW_F_REVERSED));
    CHECK(!f->has_mac);
    /* too short to be DNS */
    p = mk(17, B, 53, A, 41807, S(1));
    p.payload = resp;
    p.payload_len = 11;
    f = upd(t, p, &d);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK(!(f->flags & FLOW_F_REVERSED));
    flow_table_flush(t);
    flow_table_free(t);
}

static void test_midstream(void)
{
    struct ended e = {0};
    struct flow_conf c = conf();
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    int d;
    /* first packet a SYN+ACK from the server: its receiver is the client */
    struct flow *f = upd(t, mk_tcp(B, 443, A, 50000, TH_SYN | TH_ACK, S(1)), &d);
    CHECK(f != NULL);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    struct addr a = v4(A), b = v4(B);
    CHECK(memcmp(&f->key.src, &a, sizeof(a)) == 0);
    CHECK_EQ_U64(f->key.sport, 50000);
    CHECK_EQ_U64(f->key.dport, 443);
    CHECK(f->flags & FLOW_F_REVERSED);
    CHECK(f->flags & FLOW_F_MIDSTREAM);
    CHECK(f->flags & FLOW_F_SYN_TC);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_SYN_RECV);
    CHECK_EQ_U64(f->pkts[FLOW_TOCLIENT], 1);
    upd(t, mk_tcp(A, 50000, B, 443, TH_ACK, S(1)), &d);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK_EQ_U64(f->tcp_state, FLOW_TCP_ESTABLISHED);
    CHECK(!f->handshake_seen); /* the SYN was never seen */
    /* data first between two ephemeral ports: its sender is the client, established
     * at once */
    struct flow *g = upd(t, mk_tcp(B, 40022, A, 50001, TH_ACK | TH_PSH, S(2)), &d);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK(memcmp(&g->key.src, &b, sizeof(b)) == 0);
    CHECK_EQ_U64(g->tcp_state, FLOW_TCP_ESTABLISHED);
    CHECK(g->flags & FLOW_F_MIDSTREAM);
    CHECK(!(g->flags & FLOW_F_REVERSED));
    /* data first from a well-known port to an ephemeral one: the server spoke first
     * (Suricata's probing parser turns such a flow around: tcp-stream-after-swap) */
    struct flow *h = upd(t, mk_tcp(B, 80, A, 50002, TH_ACK | TH_PSH, S(2)), &d);
    CHECK_EQ_U64(d, FLOW_TOCLIENT);
    CHECK(memcmp(&h->key.src, &a, sizeof(a)) == 0);
    CHECK_EQ_U64(h->key.dport, 80);
    CHECK(h->flags & FLOW_F_REVERSED);
    CHECK_EQ_U64(h->pkts[FLOW_TOCLIENT], 1);
    /* a SYN from a well-known port is still the client's */
    struct flow *i = upd(t, mk_tcp(B, 80, A, 50003, TH_SYN, S(2)), &d);
    CHECK_EQ_U64(d, FLOW_TOSERVER);
    CHECK(!(i->flags & FLOW_F_REVERSED));
    flow_table_flush(t);
    flow_table_free(t);
}

static void test_tcp_reuse(void)
{
    for (int reuse = 0; reuse < 2; reuse++) {
        struct ended e = {0};
        struct flow_conf c = conf();
        c.tcp_reuse_new_flow = reuse;
        struct flow_table *t = flow_table_new(&c, on_end, &e);
        int d;
        struct flow *f = upd(t, mk_tcp(A, 40000, B, 80, TH_SYN, S(1)), &d);
        uint64_t id = f->flow_id;
        upd(t, mk_tcp(B, 80, A, 40000, TH_RST | TH_ACK, S(1)), &d);
        CHECK_EQ_U64(f->tcp_state, FLOW_TCP_CLOSED);
        struct flow *g = upd(t, mk_tcp(A, 40000, B, 80, TH_SYN, S(2)), &d);
        struct flow_stats st;
        flow_table_stats(t, &st);
        if (reuse) {
            CHECK(g->flow_id != id);
            CHECK_EQ_U64(g->tcp_state, FLOW_TCP_SYN_SENT);
            CHECK_EQ_U64(g->pkts[0], 1);
            CHECK_EQ_U64(e.n, 1);
            CHECK_EQ_U64(e.ids[0], id);
            CHECK_EQ_U64(e.why[0], FLOW_END_TCP_REUSE);
            CHECK_EQ_U64(st.tcp_reuse, 1);
            CHECK_STR(flow_end_reason_name(e.why[0]), "tcp_reuse");
        } else {
            CHECK_EQ_U64(g->flow_id, id);
            CHECK_EQ_U64(g->pkts[0], 2);
            CHECK_EQ_U64(e.n, 0);
            CHECK_EQ_U64(st.tcp_reuse, 0);
        }
        flow_table_flush(t);
        flow_table_free(t);
    }
}

static void test_timeouts(void)
{
    struct ended e = {0};
    struct flow_conf c = conf();
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    int d;
    /* udp new (30 s), udp established (300 s), tcp new (60 s), tcp est (600 s),
     * tcp closed (60 s), icmp (30 s), other (30 s); all last seen at 100 s */
    upd(t, mk(17, A, 1, B, 1, S(100)), &d);
    upd(t, mk(17, A, 2, B, 2, S(100)), &d);
    upd(t, mk(17, B, 2, A, 2, S(100)), &d);
    upd(t, mk_tcp(A, 3, B, 3, TH_SYN, S(100)), &d);
    upd(t, mk_tcp(A, 4, B, 4, TH_ACK, S(100)), &d);
    upd(t, mk_tcp(A, 5, B, 5, TH_RST, S(100)), &d);
    upd(t, mk(50, A, 0, B, 0, S(100)), &d);
    struct flow_stats st;
    /* at exactly last + timeout nothing ends */
    flow_table_expire(t, S(130));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 6);
    flow_table_expire(t, S(131)); /* udp new + other */
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 4);
    CHECK_EQ_U64(e.why[0], FLOW_END_TIMEOUT);
    flow_table_expire(t, S(160));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 4);
    flow_table_expire(t, S(161)); /* tcp new + closed */
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 2);
    flow_table_expire(t, S(400));
    flow_table_expire(t, S(401)); /* udp established */
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 1);
    flow_table_expire(t, S(700));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 1);
    flow_table_expire(t, S(701)); /* tcp established */
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 0);
    CHECK_EQ_U64(st.ended_timeout, 6);
    CHECK_EQ_U64(e.n, 6);

    /* rate limit: a second call within the same packet second does nothing */
    upd(t, mk(17, A, 1, B, 1, S(1000)), &d);
    flow_table_expire(t, S(1030));          /* idle exactly 30 s: stays */
    flow_table_expire(t, S(1030) + 500000); /* past it, but the same second: no walk */
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 1);
    flow_table_expire(t, S(1031));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 0);

    /* a packet for a flow past its timeout starts a new flow even before expiry */
    struct flow *f = upd(t, mk(17, A, 9, B, 9, S(2000)), &d);
    uint64_t id = f->flow_id;
    f = upd(t, mk(17, A, 9, B, 9, S(2031)), &d);
    CHECK(f->flow_id != id);
    CHECK_EQ_U64(f->pkts[0], 1);
    CHECK_EQ_U64(e.ids[e.n - 1], id);
    flow_table_flush(t);
    flow_table_free(t);
}

/* Room for exactly `n` flows with 16 buckets. */
static struct flow_conf tiny_conf(unsigned n)
{
    struct flow_conf c = conf();
    c.hash_size = 16;
    c.memcap = 16 * sizeof(void *) + n * sizeof(struct flow);
    c.emerg_recovery_pct = 50;
    return c;
}

static void test_eviction_and_emergency(void)
{
    struct ended e = {0};
    struct flow_conf c = tiny_conf(4);
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    CHECK(t != NULL);
    int d;
    struct flow *f[6];
    for (int i = 0; i < 4; i++)
        f[i] = upd(t, mk(17, A, (uint16_t)(100 + i), B, 53, S(10 + i)), &d);
    uint64_t id1 = f[1]->flow_id;
    upd(t, mk(17, A, 100, B, 53, S(20)), &d); /* flow 0 is now the most recent */
    struct flow_stats st;
    flow_table_stats(t, &st);
    CHECK(!st.emergency);
    CHECK_EQ_U64(st.evictions, 0);
    f[4] = upd(t, mk(17, A, 104, B, 53, S(21)), &d);
    CHECK(f[4] != NULL);
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.evictions, 1);
    CHECK_EQ_U64(st.ended_forced, 1);
    CHECK_EQ_U64(st.active, 4);
    CHECK(st.emergency);
    CHECK_EQ_U64(st.emergency_entered, 1);
    CHECK(st.mem_in_use <= c.memcap);
    CHECK_EQ_U64(e.n, 1);
    CHECK_EQ_U64(e.ids[0], id1); /* the oldest idle, not the oldest created */
    CHECK_EQ_U64(e.why[0], FLOW_END_FORCED);
    CHECK_STR(flow_end_reason_name(e.why[0]), "forced");

    /* emergency timeouts: udp 10 s instead of 30 s. Flows 2 and 3 (last 12 s,
     * 13 s) end at 24 s; 0 (20 s) and 4 (21 s) stay. */
    flow_table_expire(t, S(24));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 2);
    CHECK_EQ_U64(st.ended_timeout, 2);
    CHECK(st.emergency); /* 2 flows + buckets are still above 50 % of the cap */
    flow_table_flush(t);
    flow_table_free(t);
}

static void test_emergency_recovery(void)
{
    struct ended e = {0};
    struct flow_conf c = tiny_conf(10);
    c.emerg_recovery_pct = 40;
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    int d;
    for (int i = 0; i < 11; i++)
        CHECK(upd(t, mk(17, A, (uint16_t)(100 + i), B, 53, S(10) + (uint64_t)i), &d) != NULL);
    struct flow_stats st;
    flow_table_stats(t, &st);
    CHECK(st.emergency);
    CHECK_EQ_U64(st.evictions, 1);
    CHECK_EQ_U64(st.active, 10);
    /* refresh 3 flows; the other 7 time out with the emergency udp timeout */
    for (int i = 8; i < 11; i++)
        upd(t, mk(17, A, (uint16_t)(100 + i), B, 53, S(19)), &d);
    flow_table_expire(t, S(21));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 3);
    CHECK(!st.emergency);
    CHECK_EQ_U64(st.emergency_left, 1);
    /* normal timeouts again: 30 s */
    flow_table_expire(t, S(49));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 3);
    flow_table_expire(t, S(50));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 0);
    CHECK_EQ_U64(st.mem_in_use, 16 * sizeof(void *));
    flow_table_free(t);
}

static void test_memcap_fail(void)
{
    uint64_t n = 0;
    struct flow_conf c = tiny_conf(2);
    struct flow_table *t = flow_table_new(&c, on_end_count, &n);
    int d;
    mem_fail_after(1); /* the flow allocation fails */
    CHECK(upd(t, mk(17, A, 1, B, 2, S(1)), &d) == NULL);
    mem_fail_after(0);
    struct flow_stats st;
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.memcap_fails, 1);
    CHECK_EQ_U64(st.active, 0);
    CHECK(upd(t, mk(17, A, 1, B, 2, S(1)), &d) != NULL);
    flow_table_flush(t);
    CHECK_EQ_U64(n, 1);
    flow_table_free(t);
    /* allocation failures while building a table leave nothing behind */
    for (long k = 1; k <= 2; k++) {
        mem_fail_after(k);
        CHECK(flow_table_new(&c, on_end_count, &n) == NULL);
        mem_fail_after(0);
    }
    /* a cap that cannot hold the buckets and one flow is refused */
    c.memcap = 16 * sizeof(void *);
    CHECK(flow_table_new(&c, on_end_count, &n) == NULL);
}

static void run_flush_order(uint64_t *ids, uint16_t *ports, uint64_t *n, bool random_key,
                            uint64_t k0)
{
    struct ended e = {0};
    struct flow_conf c = conf();
    c.random_hash_key = random_key;
    c.hash_key[0] = k0;
    struct flow_table *t = flow_table_new(&c, on_end, &e);
    int d;
    static const uint16_t order[] = {7, 3, 9, 1, 5, 8, 2};
    for (int i = 0; i < 7; i++)
        upd(t, mk(17, A, order[i], B, 53, S(1)), &d);
    upd(t, mk(17, A, 3, B, 53, S(5)), &d);
    upd(t, mk(17, B, 53, A, 9, S(4)), &d);
    upd(t, mk_tcp(A, 11, B, 80, TH_SYN, S(3)), &d);
    flow_table_flush(t);
    *n = e.n;
    for (uint64_t i = 0; i < e.n; i++) {
        ids[i] = e.ids[i];
        ports[i] = e.sport[i];
    }
    flow_table_free(t);
}

static void test_flush_order_and_ids_deterministic(void)
{
    uint64_t a[16], b[16], c[16], na, nb, nc;
    uint16_t pa[16], pb[16], pc[16];
    run_flush_order(a, pa, &na, true, 0);
    run_flush_order(b, pb, &nb, true, 0);
    run_flush_order(c, pc, &nc, false, 12345);
    CHECK_EQ_U64(na, 8);
    CHECK_EQ_U64(nb, 8);
    CHECK_EQ_U64(nc, 8);
    CHECK_MEM(a, b, sizeof(uint64_t) * 8);
    CHECK_MEM(a, c, sizeof(uint64_t) * 8);
    for (int i = 0; i < 8; i++) {
        CHECK(a[i] != 0 && a[i] <= FLOW_ID_MASK);
        for (int j = 0; j < i; j++)
            CHECK(a[i] != a[j]);
    }
    /* least recently active first: the five untouched (1 s, creation order), then
     * the TCP flow (3 s), the flow answered at 4 s, the one refreshed at 5 s */
    static const uint16_t want[] = {7, 1, 5, 8, 2, 11, 9, 3};
    for (int i = 0; i < 8; i++) {
        CHECK_EQ_U64(pa[i], want[i]);
        CHECK_EQ_U64(pb[i], want[i]);
        CHECK_EQ_U64(pc[i], want[i]);
    }
}

static void test_hash_spread(void)
{
    uint64_t n = 0;
    struct flow_conf c = conf();
    c.hash_size = 65536;
    struct flow_table *t = flow_table_new(&c, on_end_count, &n);
    int d;
    /* 50k sequential sources, the kind of keys a weak hash lines up in a bucket */
    for (uint32_t i = 0; i < 50000; i++)
        CHECK(upd(t, mk(17, 0x0a000000u + i, 1024, B, 53, S(1)), &d) != NULL);
    uint32_t mc = flow_table_max_chain(t);
    CHECK(mc >= 1 && mc <= 12);
    flow_table_flush(t);
    CHECK_EQ_U64(n, 50000);
    flow_table_free(t);
}

static void test_scale_100k(void)
{
    uint64_t n = 0;
    struct flow_conf c = conf();
    c.hash_size = 131072;
    struct flow_table *t = flow_table_new(&c, on_end_count, &n);
    int d;
    for (uint32_t i = 0; i < 100000; i++) {
        struct pkt p =
            mk(17, 0x0a000000u + (i >> 8), (uint16_t)(1024 + (i & 0xff)), B, 53, S(1) + i);
        CHECK(flow_table_update(t, &p, &d) != NULL);
        flow_table_expire(t, p.ts_us);
    }
    struct flow_stats st;
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 100000);
    /* all were seen in [1 s, 1.1 s]: none ends at 31 s, all by 32 s */
    flow_table_expire(t, S(31));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 100000);
    flow_table_expire(t, S(32));
    flow_table_stats(t, &st);
    CHECK_EQ_U64(st.active, 0);
    CHECK_EQ_U64(n, 100000);
    CHECK_EQ_U64(st.mem_in_use, 131072 * sizeof(void *));
    flow_table_free(t);
}

/* Random traffic over a small tuple space with room for 64 flows, time jumping
 * forward and sometimes backwards: the bookkeeping invariants always hold. */
static void test_random_invariants(void)
{
    uint64_t ended = 0;
    struct flow_conf c = tiny_conf(64);
    c.emerg_recovery_pct = 60;
    struct flow_table *t = flow_table_new(&c, on_end_count, &ended);
    static const uint8_t protos[] = {6, 17, 1, 58, 47};
    static const uint8_t fl[] = {TH_SYN, TH_SYN | TH_ACK, TH_ACK, TH_FIN | TH_ACK, TH_RST, 0};
    static const uint8_t echo[] = {8, 0, 0, 0, 0, 1, 0, 1};
    uint32_t rng = 1;
    uint64_t now = S(1000);
    for (int i = 0; i < 200000; i++) {
        rng = rng * 1103515245u + 12345u;
        uint32_t x = rng >> 8;
        now += (x % 7 == 0) ? S(x % 40) : x % 1000;
        uint64_t ts = (x % 101 == 0) ? now - S(2) : now; /* a late packet */
        bool rev = x & 1;
        uint32_t h1 = A + (x >> 1) % 8, h2 = B + 100 + (x >> 4) % 8;
        uint16_t p1 = (uint16_t)(1000 + (x >> 7) % 4), p2 = 80;
        struct pkt p = rev ? mk(protos[(x >> 9) % 5], h2, p2, h1, p1, ts)
                           : mk(protos[(x >> 9) % 5], h1, p1, h2, p2, ts);
        p.tcp_flags = fl[(x >> 12) % 6];
        p.icmp_type = (x >> 15) & 1 ? 8 : 3;
        p.l4 = echo;
        p.l4_len = sizeof(echo);
        p.vlan_n = (x >> 16) % 3 == 0;
        p.vlan[0] = 7;
        int d = -1;
        struct flow *f = flow_table_update(t, &p, &d);
        CHECK(f != NULL);
        CHECK(d == FLOW_TOSERVER || d == FLOW_TOCLIENT);
        CHECK(f->pkts[0] + f->pkts[1] >= 1);
        flow_table_expire(t, now);
        struct flow_stats st;
        flow_table_stats(t, &st);
        CHECK(st.mem_in_use <= c.memcap);
        CHECK_EQ_U64(st.active, st.created - ended);
        CHECK_EQ_U64(ended,
                     st.ended_timeout + st.ended_forced + st.ended_shutdown + st.ended_tcp_reuse);
        CHECK(st.emergency_entered - st.emergency_left == (st.emergency ? 1 : 0));
    }
    struct flow_stats st;
    flow_table_stats(t, &st);
    CHECK(st.evictions > 0);
    CHECK(st.emergency_left > 0);
    CHECK(st.tcp_reuse > 0);
    CHECK(flow_table_max_chain(t) <= 64);
    flow_table_flush(t);
    flow_table_stats(t, &st);
    CHECK_EQ_U64(ended, st.created);
    CHECK_EQ_U64(st.active, 0);
    flow_table_free(t);
}

int main(void)
{
    fprintf(stderr, "sizeof(struct flow) = %zu\n", sizeof(struct flow));
    RUN(test_bidirectional);
    RUN(test_vlan_and_other_proto);
    RUN(test_icmp);
    RUN(test_tcp_states);
    RUN(test_midstream);
    RUN(test_tcp_reuse);
    RUN(test_timeouts);
    RUN(test_eviction_and_emergency);
    RUN(test_emergency_recovery);
    RUN(test_dns_response_first);
    RUN(test_memcap_fail);
    RUN(test_flush_order_and_ids_deterministic);
    RUN(test_hash_spread);
    RUN(test_scale_100k);
    RUN(test_random_invariants);
    struct mem_stat ms;
    mem_get(MEM_FLOW, &ms);
    if (ms.in_use != 0) {
        fprintf(stderr, "MEM_FLOW leak: %llu bytes\n", (unsigned long long)ms.in_use);
        return 1;
    }
    return check_done();
}
