/*
 * Decoder entry point, counters, event names and the link layers: Ethernet II with
 * up to PKT_MAX_VLAN 802.1Q/802.1ad tags, Linux SLL and SLL2, raw IP, BSD loopback,
 * and ARP (PPP, Cisco HDLC, PPPoE and MPLS are in encap.c). Each layer reads through
 * a struct rd bounded to the captured bytes and hands the rest to the next layer;
 * nothing is allocated here per packet.
 */
#include "decode/decode.h"

#include <string.h>

#include "decode/decode_int.h"
#include "otasuke/alloc.h"

#define ETH_HDR_LEN  14
#define VLAN_HDR_LEN 4
#define SLL_HDR_LEN  16
#define SLL2_HDR_LEN 20
#define ARP_ETH_LEN  28

#define ETHERTYPE_IPV4   0x0800
#define ETHERTYPE_ARP    0x0806
#define ETHERTYPE_VLAN   0x8100
#define ETHERTYPE_QINQ   0x88a8
#define ETHERTYPE_QINQ9  0x9100
#define ETHERTYPE_IPV6   0x86dd
#define ETHERTYPE_MPLS   0x8847
#define ETHERTYPE_MPLSM  0x8848
#define ETHERTYPE_PPPOED 0x8863
#define ETHERTYPE_PPPOES 0x8864

static const char *const g_ev_names[DECODE_EV_COUNT] = {
    [DECODE_EV_NONE] = "none",
    [DECODE_EV_ETH_PKT_TOO_SMALL] = "ethernet.pkt_too_small",
    [DECODE_EV_VLAN_HDR_TOO_SMALL] = "vlan.header_too_small",
    [DECODE_EV_VLAN_TOO_MANY] = "vlan.too_many_layers",
    [DECODE_EV_SLL_PKT_TOO_SMALL] = "sll.pkt_too_small",
    [DECODE_EV_SLL2_PKT_TOO_SMALL] = "sll2.pkt_too_small",
    [DECODE_EV_NULL_PKT_TOO_SMALL] = "null.pkt_too_small",
    [DECODE_EV_RAW_INVALID_IPV] = "raw.invalid_ip_version",
    [DECODE_EV_ARP_PKT_TOO_SMALL] = "arp.pkt_too_small",
    [DECODE_EV_IPV4_PKT_TOO_SMALL] = "ipv4.pkt_too_small",
    [DECODE_EV_IPV4_WRONG_IP_VER] = "ipv4.wrong_ip_version",
    [DECODE_EV_IPV4_HLEN_TOO_SMALL] = "ipv4.hlen_too_small",
    [DECODE_EV_IPV4_IPLEN_SMALLER_THAN_HLEN] = "ipv4.iplen_smaller_than_hlen",
    [DECODE_EV_IPV4_TRUNC_PKT] = "ipv4.trunc_pkt",
    [DECODE_EV_IPV4_OPT_INVALID_LEN] = "ipv4.opt_invalid_len",
    [DECODE_EV_IPV4_FRAG_PKT_TOO_LARGE] = "ipv4.frag_pkt_too_large",
    [DECODE_EV_IPV4_FRAG_OVERLAP] = "ipv4.frag_overlap",
    [DECODE_EV_IPV6_PKT_TOO_SMALL] = "ipv6.pkt_too_small",
    [DECODE_EV_IPV6_WRONG_IP_VER] = "ipv6.wrong_ip_version",
    [DECODE_EV_IPV6_TRUNC_EXTHDR] = "ipv6.trunc_exthdr",
    [DECODE_EV_IPV6_EXTHDR_TOO_MANY] = "ipv6.exthdr_too_many",
    [DECODE_EV_IPV6_EXTHDR_INVALID_OPTLEN] = "ipv6.exthdr_invalid_optlen",
    [DECODE_EV_IPV6_EXTHDR_DUPL_FH] = "ipv6.exthdr_dupl_fh",
    [DECODE_EV_IPV6_FRAG_INVALID_LEN] = "ipv6.frag_invalid_length",
    [DECODE_EV_IPV6_FRAG_PKT_TOO_LARGE] = "ipv6.frag_pkt_too_large",
    [DECODE_EV_IPV6_FRAG_OVERLAP] = "ipv6.frag_overlap",
    [DECODE_EV_TCP_PKT_TOO_SMALL] = "tcp.pkt_too_small",
    [DECODE_EV_TCP_HLEN_TOO_SMALL] = "tcp.hlen_too_small",
    [DECODE_EV_TCP_HLEN_BEYOND_PKT] = "tcp.hlen_beyond_pkt",
    [DECODE_EV_TCP_OPT_INVALID_LEN] = "tcp.opt_invalid_len",
    [DECODE_EV_UDP_PKT_TOO_SMALL] = "udp.pkt_too_small",
    [DECODE_EV_UDP_HLEN_INVALID] = "udp.hlen_invalid",
    [DECODE_EV_UDP_LEN_INVALID] = "udp.len_invalid",
    [DECODE_EV_ICMPV4_PKT_TOO_SMALL] = "icmpv4.pkt_too_small",
    [DECODE_EV_ICMPV6_PKT_TOO_SMALL] = "icmpv6.pkt_too_small",
    [DECODE_EV_GRE_PKT_TOO_SMALL] = "gre.pkt_too_small",
    [DECODE_EV_GRE_WRONG_VERSION] = "gre.wrong_version",
    [DECODE_EV_GRE_VERSION0_RECUR] = "gre.version0_recur",
    [DECODE_EV_GRE_VERSION0_FLAGS] = "gre.version0_flags",
    [DECODE_EV_ERSPAN_PKT_TOO_SMALL] = "erspan.pkt_too_small",
    [DECODE_EV_VXLAN_PKT_TOO_SMALL] = "vxlan.pkt_too_small",
    [DECODE_EV_GENEVE_PKT_TOO_SMALL] = "geneve.pkt_too_small",
    [DECODE_EV_GENEVE_UNKNOWN_PAYLOAD] = "geneve.unknown_payload_type",
    [DECODE_EV_PPP_PKT_TOO_SMALL] = "ppp.pkt_too_small",
    [DECODE_EV_CHDLC_PKT_TOO_SMALL] = "chdlc.pkt_too_small",
    [DECODE_EV_PPPOE_PKT_TOO_SMALL] = "pppoe.pkt_too_small",
    [DECODE_EV_PPPOE_WRONG_VERSION] = "pppoe.wrong_version",
    [DECODE_EV_PPPOE_WRONG_CODE] = "pppoe.wrong_code",
    [DECODE_EV_MPLS_PKT_TOO_SMALL] = "mpls.pkt_too_small",
    [DECODE_EV_MPLS_TOO_MANY_LABELS] = "mpls.too_many_labels",
    [DECODE_EV_TUNNEL_TOO_DEEP] = "decode.tunnel_too_deep",
    [DECODE_EV_DEFRAG_MEMCAP] = "defrag.memcap",
    [DECODE_EV_DEFRAG_MAX_TRACKERS] = "defrag.max_trackers",
    [DECODE_EV_DEFRAG_MAX_FRAGS] = "defrag.max_frags",
    [DECODE_EV_DEFRAG_TIMEOUT] = "defrag.timeout",
    [DECODE_EV_DEFRAG_LEN_MISMATCH] = "defrag.len_mismatch",
};

static const char *const g_proto_names[DECODE_P_COUNT + 1] = {
    [DECODE_P_ETH] = "eth",
    [DECODE_P_VLAN] = "vlan",
    [DECODE_P_SLL] = "sll",
    [DECODE_P_SLL2] = "sll2",
    [DECODE_P_NULL] = "null",
    [DECODE_P_RAW] = "raw",
    [DECODE_P_ARP] = "arp",
    [DECODE_P_IPV4] = "ipv4",
    [DECODE_P_IPV6] = "ipv6",
    [DECODE_P_TCP] = "tcp",
    [DECODE_P_UDP] = "udp",
    [DECODE_P_ICMPV4] = "icmpv4",
    [DECODE_P_ICMPV6] = "icmpv6",
    [DECODE_P_GRE] = "gre",
    [DECODE_P_ERSPAN] = "erspan",
    [DECODE_P_IPIP] = "ipip",
    [DECODE_P_VXLAN] = "vxlan",
    [DECODE_P_GENEVE] = "geneve",
    [DECODE_P_TEREDO] = "teredo",
    [DECODE_P_PPP] = "ppp",
    [DECODE_P_CHDLC] = "chdlc",
    [DECODE_P_PPPOE] = "pppoe",
    [DECODE_P_MPLS] = "mpls",
    [DECODE_P_IP_OTHER] = "ip_other",
    [DECODE_P_FRAG] = "frag",
    [DECODE_P_DEFRAG_REASSEMBLED] = "defrag_reassembled",
    [DECODE_P_TRUNCATED] = "truncated",
    [DECODE_P_IPV4_TSO] = "ipv4_tso",
    [DECODE_P_SKIPPED] = "skipped",
    [DECODE_P_INVALID] = "invalid",
    [DECODE_P_COUNT] = NULL,
};

const char *decode_ev_name(enum decode_ev ev)
{
    if ((unsigned)ev >= DECODE_EV_COUNT || g_ev_names[ev] == NULL)
        return "unknown";
    return g_ev_names[ev];
}

const char *const *decode_proto_counter_names(void)
{
    return g_proto_names;
}

struct decoder *decoder_new(const struct decode_conf *c)
{
    struct decoder *d = xcalloc(MEM_DECODE, 1, sizeof(*d));
    if (d == NULL)
        return NULL;
    if (c != NULL)
        d->conf = *c;
    else
        d->conf = (struct decode_conf){.decode_gre = true,
                                       .vxlan_port = DECODE_VXLAN_PORT,
                                       .geneve_port = DECODE_GENEVE_PORT,
                                       .teredo_port = DECODE_TEREDO_PORT};
    if (d->conf.defrag_memcap == 0)
        d->conf.defrag_memcap = 32ull << 20;
    if (d->conf.defrag_timeout_us == 0)
        d->conf.defrag_timeout_us = 60ull * 1000000ull;
    if (d->conf.defrag_max_frags == 0)
        d->conf.defrag_max_frags = 256;
    if (d->conf.defrag_max_trackers == 0)
        d->conf.defrag_max_trackers = 4096;
    if (defrag_init(d) != 0) {
        decoder_free(d);
        return NULL;
    }
    return d;
}

void decoder_free(struct decoder *d)
{
    if (d == NULL)
        return;
    defrag_fini(d);
    xfree(d);
}

enum decode_ev decoder_last_event(const struct decoder *d)
{
    return d->last_ev;
}

const struct decode_stats *decoder_stats(const struct decoder *d)
{
    return &d->st;
}

/* ARP for Ethernet/IPv4; other hardware or protocol types are valid but skipped. */
static enum decode_rc decode_arp(struct dctx *c, struct rd *r)
{
    struct pkt *p = c->p;
    c->d->st.proto[DECODE_P_ARP]++;
    uint16_t htype = rd_be16(r);
    uint16_t ptype = rd_be16(r);
    uint8_t hlen = rd_u8(r);
    uint8_t plen = rd_u8(r);
    uint16_t op = rd_be16(r);
    if (r->bad)
        return dec_event(c->d, DECODE_EV_ARP_PKT_TOO_SMALL);
    if (htype != 1 || ptype != ETHERTYPE_IPV4 || hlen != 6 || plen != 4)
        return DECODE_SKIP;
    uint8_t spa[4], tpa[4];
    rd_copy(r, p->arp_sha, 6);
    rd_copy(r, spa, 4);
    rd_copy(r, p->arp_tha, 6);
    rd_copy(r, tpa, 4);
    if (r->bad)
        return dec_event(c->d, DECODE_EV_ARP_PKT_TOO_SMALL);
    p->is_arp = true;
    p->arp_op = op;
    addr_v4(&p->arp_spa, spa);
    addr_v4(&p->arp_tpa, tpa);
    return DECODE_ARP;
}

enum decode_rc decode_ethertype(struct dctx *c, struct rd *r, uint16_t type)
{
    switch (type) {
    case ETHERTYPE_IPV4:
        return decode_ipv4(c, r);
    case ETHERTYPE_IPV6:
        return decode_ipv6(c, r);
    case ETHERTYPE_ARP:
        return decode_arp(c, r);
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLSM:
        return decode_mpls(c, r);
    case ETHERTYPE_PPPOES:
        return decode_pppoe_session(c, r);
    case ETHERTYPE_PPPOED: /* discovery: no payload for us */
        c->d->st.proto[DECODE_P_PPPOE]++;
        return DECODE_SKIP;
    default:
        return DECODE_SKIP;
    }
}

static bool is_vlan_type(uint16_t t)
{
    return t == ETHERTYPE_VLAN || t == ETHERTYPE_QINQ || t == ETHERTYPE_QINQ9;
}

/* Ethernet II and its VLAN tags. An inner frame (Ethernet over GRE, ERSPAN) keeps the
 * outer MAC addresses in p but adds its tags. */
enum decode_rc decode_eth(struct dctx *c, struct rd *r, bool inner)
{
    struct pkt *p = c->p;
    struct decoder *d = c->d;
    if (rd_left(r) < ETH_HDR_LEN)
        return dec_event(d, DECODE_EV_ETH_PKT_TOO_SMALL);
    d->st.proto[DECODE_P_ETH]++;
    if (!inner) {
        rd_copy(r, p->eth_dst, 6);
        rd_copy(r, p->eth_src, 6);
        p->has_eth = true;
    } else {
        rd_skip(r, 12);
    }
    uint16_t type = rd_be16(r);
    while (is_vlan_type(type)) {
        if (rd_left(r) < VLAN_HDR_LEN)
            return dec_event(d, DECODE_EV_VLAN_HDR_TOO_SMALL);
        d->st.proto[DECODE_P_VLAN]++;
        if (p->vlan_n >= PKT_MAX_VLAN)
            return dec_event(d, DECODE_EV_VLAN_TOO_MANY);
        p->vlan[p->vlan_n++] = rd_be16(r) & 0x0fff;
        type = rd_be16(r);
    }
    return decode_ethertype(c, r, type); /* 802.3 lengths (< 0x600) land in SKIP */
}

/* Linux cooked v1: pkttype(2) arphrd(2) addrlen(2) addr(8) protocol(2). */
static enum decode_rc decode_sll(struct dctx *c, struct rd *r)
{
    if (rd_left(r) < SLL_HDR_LEN)
        return dec_event(c->d, DECODE_EV_SLL_PKT_TOO_SMALL);
    c->d->st.proto[DECODE_P_SLL]++;
    rd_skip(r, 14);
    return decode_ethertype(c, r, rd_be16(r));
}

/* Linux cooked v2: protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addrlen(1)
 * addr(8). */
static enum decode_rc decode_sll2(struct dctx *c, struct rd *r)
{
    if (rd_left(r) < SLL2_HDR_LEN)
        return dec_event(c->d, DECODE_EV_SLL2_PKT_TOO_SMALL);
    c->d->st.proto[DECODE_P_SLL2]++;
    uint16_t type = rd_be16(r);
    rd_skip(r, 18);
    return decode_ethertype(c, r, type);
}

/* Raw IP: the version nibble says which. */
static enum decode_rc decode_raw(struct dctx *c, struct rd *r, int want)
{
    c->d->st.proto[DECODE_P_RAW]++;
    struct rd peek = *r;
    uint8_t v = rd_u8(&peek) >> 4;
    if (peek.bad)
        return dec_event(c->d, want == 6 ? DECODE_EV_IPV6_PKT_TOO_SMALL
                                         : DECODE_EV_IPV4_PKT_TOO_SMALL);
    if (want == 4 || (want == 0 && v == 4))
        return decode_ipv4(c, r);
    if (want == 6 || (want == 0 && v == 6))
        return decode_ipv6(c, r);
    return dec_event(c->d, DECODE_EV_RAW_INVALID_IPV);
}

static bool null_family_v6(uint32_t f)
{
    return f == 24 || f == 28 || f == 30 || f == 10; /* BSDs, macOS/FreeBSD, Linux */
}

/* BSD loopback: a 4-byte address family, host order for DLT_NULL (so either order is
 * accepted), network order for DLT_LOOP. */
static enum decode_rc decode_null(struct dctx *c, struct rd *r, bool loop)
{
    if (rd_left(r) < 4)
        return dec_event(c->d, DECODE_EV_NULL_PKT_TOO_SMALL);
    c->d->st.proto[DECODE_P_NULL]++;
    struct rd peek = *r;
    uint32_t be = rd_be32(r);
    uint32_t le = rd_le32(&peek);
    uint32_t fam = (loop || be < 256) ? be : le;
    if (fam == 2)
        return decode_ipv4(c, r);
    if (null_family_v6(fam))
        return decode_ipv6(c, r);
    return DECODE_SKIP;
}

static enum decode_rc decode_link(struct dctx *c, struct rd *r, int linktype)
{
    switch (linktype) {
    case DECODE_DLT_EN10MB:
        return decode_eth(c, r, false);
    case DECODE_DLT_SLL:
        return decode_sll(c, r);
    case DECODE_DLT_SLL2:
        return decode_sll2(c, r);
    case DECODE_DLT_RAW:
    case DECODE_DLT_RAW_LT:
        return decode_raw(c, r, 0);
    case DECODE_DLT_IPV4:
        return decode_raw(c, r, 4);
    case DECODE_DLT_IPV6:
        return decode_raw(c, r, 6);
    case DECODE_DLT_NULL:
        return decode_null(c, r, false);
    case DECODE_DLT_LOOP:
        return decode_null(c, r, true);
    case DECODE_DLT_PPP:
    case DECODE_DLT_PPP_SERIAL:
        return decode_ppp_link(c, r);
    case DECODE_DLT_PPP_ETHER:
        return decode_pppoe_session(c, r);
    case DECODE_DLT_C_HDLC:
        return decode_chdlc(c, r);
    default:
        return DECODE_SKIP;
    }
}

/* Resets every field of p but the arp_* block, which decode_arp() fills whole and
 * which is only meaningful when is_arp. Field by field on purpose: a memset of the
 * whole struct (~220 bytes) compiles to `rep stos` and was a third of the decode
 * time in bench runs; small fixed-size stores are a few cycles. */
static inline void pkt_reset(struct pkt *p)
{
    p->has_eth = false;
    memset(p->eth_src, 0, sizeof(p->eth_src));
    memset(p->eth_dst, 0, sizeof(p->eth_dst));
    memset(p->vlan, 0, sizeof(p->vlan));
    p->vlan_n = 0;
    p->is_arp = false;
    p->ipver = 0;
    memset(&p->src, 0, sizeof(p->src));
    memset(&p->dst, 0, sizeof(p->dst));
    p->ttl = 0;
    p->proto = 0;
    p->l3 = NULL;
    p->l3_len = 0;
    p->defragged = false;
    p->is_fragment = false;
    p->tunnel_depth = 0;
    p->has_outer = false;
    p->sport = 0;
    p->dport = 0;
    p->l4 = NULL;
    p->l4_len = 0;
    p->payload = NULL;
    p->payload_len = 0;
    p->tcp_flags = 0;
    p->tcp_seq = 0;
    p->tcp_ack = 0;
    p->tcp_win = 0;
    p->tcp_wscale = 0xff; /* absent */
    p->tcp_mss = 0;
    p->tcp_sack_perm = false;
    p->tcp_has_ts = false;
    p->tcp_tsval = 0;
    p->icmp_type = 0;
    p->icmp_code = 0;
}

enum decode_rc decode_packet(struct decoder *d, struct pkt *p, int linktype, const uint8_t *data,
                             uint32_t caplen, uint32_t wirelen, uint64_t ts_us)
{
    pkt_reset(p);
    p->ts_us = ts_us;
    p->caplen = caplen;
    p->wirelen = wirelen;
    p->raw = data;
    p->linktype = linktype;

    d->last_ev = DECODE_EV_NONE;
    d->now_us = ts_us;
    d->st.pkts++;
    d->st.bytes += wirelen;

    struct dctx c = {d, p, false};
    struct rd r = rd_init(data, data ? caplen : 0);
    enum decode_rc rc = decode_link(&c, &r, linktype);
    if (rc == DECODE_BAD)
        d->st.proto[DECODE_P_INVALID]++;
    else if (rc == DECODE_SKIP)
        d->st.proto[DECODE_P_SKIPPED]++;
    return rc;
}
