/*
 * Layer 4: TCP (with MSS, window scale, SACK-permitted and timestamp options), UDP,
 * ICMP, ICMPv6, IP-in-IP (protocols 4 and 41), GRE version 0 (checksum/key/
 * sequence, inner IPv4, IPv6, ARP, MPLS, PPP, Ethernet 0x6558 and ERSPAN I/II/III)
 * and, on their UDP ports, VXLAN, Geneve and Teredo (encap.c);
 * tunnels are followed at most DECODE_MAX_TUNNEL deep, all kinds together.
 * Each decoder sees exactly the L4 bytes present; `claimed` is what the IP header
 * says, so a UDP length is checked against the datagram, not the snap length.
 * ICMP keeps sport/dport at 0: the flow table keys ICMP by type and code itself.
 */
#include "decode/decode_int.h"

#define TCP_HDR_LEN  20
#define UDP_HDR_LEN  8
#define ICMP_HDR_LEN 8

#define TCPOPT_EOL       0
#define TCPOPT_NOP       1
#define TCPOPT_MSS       2
#define TCPOPT_WS        3
#define TCPOPT_SACKPERM  4
#define TCPOPT_TS        8

#define GRE_F_CSUM    0x8000
#define GRE_F_ROUTING 0x4000
#define GRE_F_KEY     0x2000
#define GRE_F_SEQ     0x1000
#define GRE_F_STRICT  0x0800
#define GRE_RECUR     0x0700
#define GRE_FLAGS     0x00f8
#define GRE_VERSION   0x0007

/* Options with a length must have at least 2 and fit; known ones must have their
 * exact length (Suricata's tcp.opt_invalid_len). */
static bool tcp_opts(struct pkt *p, struct rd *o)
{
    while (rd_left(o) > 0) {
        uint8_t kind = rd_u8(o);
        if (kind == TCPOPT_EOL)
            break;
        if (kind == TCPOPT_NOP)
            continue;
        uint8_t l = rd_u8(o);
        if (o->bad || l < 2 || (size_t)(l - 2) > rd_left(o))
            return false;
        struct rd v = rd_sub(o, (size_t)l - 2);
        switch (kind) {
        case TCPOPT_MSS:
            if (l != 4)
                return false;
            p->tcp_mss = rd_be16(&v);
            break;
        case TCPOPT_WS:
            if (l != 3)
                return false;
            p->tcp_wscale = rd_u8(&v);
            break;
        case TCPOPT_SACKPERM:
            if (l != 2)
                return false;
            p->tcp_sack_perm = true;
            break;
        case TCPOPT_TS:
            if (l != 10)
                return false;
            p->tcp_has_ts = true;
            p->tcp_tsval = rd_be32(&v);
            break;
        default:
            break;
        }
    }
    return true;
}

static enum decode_rc decode_tcp(struct dctx *c, struct rd *r)
{
    struct decoder *d = c->d;
    struct pkt *p = c->p;
    size_t len = rd_left(r);
    if (len < TCP_HDR_LEN)
        return dec_event(d, DECODE_EV_TCP_PKT_TOO_SMALL);
    d->st.proto[DECODE_P_TCP]++;
    p->l4 = rd_ptr(r);
    p->l4_len = (uint32_t)len;
    p->sport = rd_be16(r);
    p->dport = rd_be16(r);
    p->tcp_seq = rd_be32(r);
    p->tcp_ack = rd_be32(r);
    size_t hlen = (size_t)(rd_u8(r) >> 4) * 4;
    p->tcp_flags = rd_u8(r);
    p->tcp_win = rd_be16(r);
    rd_skip(r, 4); /* checksum, urgent pointer */
    if (hlen < TCP_HDR_LEN)
        return dec_event(d, DECODE_EV_TCP_HLEN_TOO_SMALL);
    if (hlen > len)
        return dec_event(d, DECODE_EV_TCP_HLEN_BEYOND_PKT);
    struct rd o = rd_sub(r, hlen - TCP_HDR_LEN);
    if (!tcp_opts(p, &o))
        return dec_event(d, DECODE_EV_TCP_OPT_INVALID_LEN);
    p->payload = rd_ptr(r);
    p->payload_len = (uint32_t)rd_left(r);
    return DECODE_OK;
}

/* UDP tunnels by port: VXLAN and Geneve on their destination port, Teredo on either
 * port (its server and relays answer from 3544). */
static enum decode_rc decode_udp_tunnels(struct dctx *c, uint32_t dgram_len)
{
    const struct decode_conf *cf = &c->d->conf;
    struct pkt *p = c->p;
    enum udp_tunnel kind;
    if (p->dport == 0)
        return DECODE_OK;
    if (p->dport == cf->vxlan_port)
        kind = UDP_TUN_VXLAN;
    else if (p->dport == cf->geneve_port)
        kind = UDP_TUN_GENEVE;
    else if (cf->teredo_port != 0 && (p->dport == cf->teredo_port || p->sport == cf->teredo_port))
        kind = UDP_TUN_TEREDO;
    else
        return DECODE_OK;
    struct rd in = rd_init(p->payload, p->payload_len);
    return decode_udp_tunnel(c, &in, kind, dgram_len);
}

static enum decode_rc decode_udp(struct dctx *c, struct rd *r, uint32_t claimed)
{
    struct decoder *d = c->d;
    struct pkt *p = c->p;
    size_t len = rd_left(r);
    if (len < UDP_HDR_LEN)
        return dec_event(d, DECODE_EV_UDP_PKT_TOO_SMALL);
    d->st.proto[DECODE_P_UDP]++;
    p->l4 = rd_ptr(r);
    p->l4_len = (uint32_t)len;
    p->sport = rd_be16(r);
    p->dport = rd_be16(r);
    uint32_t ulen = rd_be16(r);
    rd_skip(r, 2);
    if (ulen < UDP_HDR_LEN)
        return dec_event(d, DECODE_EV_UDP_HLEN_INVALID);
    if (ulen > claimed)
        return dec_event(d, DECODE_EV_UDP_LEN_INVALID);
    uint32_t have = ulen < len ? ulen : (uint32_t)len; /* UDP length trims, snaplen cuts */
    p->l4_len = have;
    p->payload = rd_ptr(r);
    p->payload_len = have - UDP_HDR_LEN;
    return decode_udp_tunnels(c, ulen - UDP_HDR_LEN);
}

static enum decode_rc decode_icmp(struct dctx *c, struct rd *r, bool v6)
{
    struct decoder *d = c->d;
    struct pkt *p = c->p;
    size_t len = rd_left(r);
    if (len < ICMP_HDR_LEN)
        return dec_event(d, v6 ? DECODE_EV_ICMPV6_PKT_TOO_SMALL : DECODE_EV_ICMPV4_PKT_TOO_SMALL);
    d->st.proto[v6 ? DECODE_P_ICMPV6 : DECODE_P_ICMPV4]++;
    p->l4 = rd_ptr(r);
    p->l4_len = (uint32_t)len;
    p->icmp_type = rd_u8(r);
    p->icmp_code = rd_u8(r);
    rd_skip(r, 6); /* checksum and the type-specific word (id/seq, mtu, pointer) */
    p->payload = rd_ptr(r);
    p->payload_len = (uint32_t)rd_left(r);
    return DECODE_OK;
}

/* ERSPAN type I (no sequence), II (8-byte header) and III (12 bytes + optional 8). */
static enum decode_rc decode_erspan(struct dctx *c, struct rd *r, uint16_t type, bool seq)
{
    c->d->st.proto[DECODE_P_ERSPAN]++;
    if (type == 0x88be && seq) {
        rd_skip(r, 8);
    } else if (type == 0x22eb) {
        rd_skip(r, 10);
        uint16_t w = rd_be16(r);
        if (w & 1) /* O bit: platform-specific subheader */
            rd_skip(r, 8);
    }
    if (r->bad)
        return dec_event(c->d, DECODE_EV_ERSPAN_PKT_TOO_SMALL);
    return decode_eth(c, r, true);
}

static enum decode_rc decode_gre(struct dctx *c, struct rd *r)
{
    struct decoder *d = c->d;
    struct pkt *p = c->p;
    size_t len = rd_left(r);
    const uint8_t *gre = rd_ptr(r);
    p->l4 = gre;
    p->l4_len = (uint32_t)len;
    if (len < 4)
        return dec_event(d, DECODE_EV_GRE_PKT_TOO_SMALL);
    d->st.proto[DECODE_P_GRE]++;
    uint16_t flags = rd_be16(r);
    uint16_t type = rd_be16(r);
    uint16_t ver = flags & GRE_VERSION;
    if (ver == 1) /* PPTP enhanced GRE: valid, inner PPP not followed */
        return DECODE_OK;
    if (ver != 0)
        return dec_event(d, DECODE_EV_GRE_WRONG_VERSION);
    if (flags & GRE_RECUR)
        return dec_event(d, DECODE_EV_GRE_VERSION0_RECUR);
    if (flags & (GRE_F_ROUTING | GRE_F_STRICT | GRE_FLAGS))
        return dec_event(d, DECODE_EV_GRE_VERSION0_FLAGS);
    rd_skip(r, ((flags & GRE_F_CSUM) ? 4u : 0u) + ((flags & GRE_F_KEY) ? 4u : 0u) +
                   ((flags & GRE_F_SEQ) ? 4u : 0u));
    if (r->bad)
        return dec_event(d, DECODE_EV_GRE_PKT_TOO_SMALL);
    if (!d->conf.decode_gre)
        return DECODE_OK;
    uint8_t depth = p->tunnel_depth;
    const uint8_t *outer_l3 = p->l3;
    if (!tunnel_enter(c))
        return DECODE_BAD;
    p->l4 = NULL; /* the inner packet's L4 replaces the GRE header */
    p->l4_len = 0;
    struct dctx in = *c; /* the inner packet is not the reassembled datagram */
    in.reassembled = false;
    enum decode_rc rc;
    switch (type) {
    case 0x0800:
    case 0x86dd:
    case 0x0806:
        return decode_ethertype(&in, r, type);
    case 0x8847:
    case 0x8848:
        rc = decode_mpls(&in, r);
        break;
    case 0x880b:
        rc = decode_ppp(&in, r);
        break;
    case 0x6558:
        rc = decode_eth(&in, r, true);
        break;
    case 0x88be:
    case 0x22eb:
        rc = decode_erspan(&in, r, type, (flags & GRE_F_SEQ) != 0);
        break;
    default: /* WCCP, NSH ...: the GRE packet itself is the flow */
        p->tunnel_depth = depth;
        p->l4 = gre;
        p->l4_len = (uint32_t)len;
        return DECODE_OK;
    }
    /* Inner frame not IP: keep the outer GRE packet. (An inner IP packet that is
     * skipped, a fragment cut by the snap length, has replaced p's L3: it stays
     * skipped.) */
    if (rc == DECODE_SKIP && p->l3 == outer_l3) {
        p->tunnel_depth = depth;
        p->l4 = gre;
        p->l4_len = (uint32_t)len;
        return DECODE_OK;
    }
    return rc;
}

/* IP-in-IP (4in4, 6in4, 4in6, 6in6; RFC 2003, RFC 4213, RFC 2473): the inner header
 * becomes p's L3, as with GRE. Its version must match the protocol number, else the
 * inner decoder reports wrong_ip_version. */
static enum decode_rc decode_ipip(struct dctx *c, struct rd *r)
{
    if (!tunnel_enter(c))
        return DECODE_BAD;
    c->d->st.proto[DECODE_P_IPIP]++;
    struct dctx in = *c;
    in.reassembled = false;
    c->p->l4 = NULL;
    c->p->l4_len = 0;
    return c->p->proto == 4 ? decode_ipv4(&in, r) : decode_ipv6(&in, r);
}

enum decode_rc decode_l4(struct dctx *c, struct rd *r, uint32_t claimed)
{
    struct pkt *p = c->p;
    switch (p->proto) {
    case 6:
        return decode_tcp(c, r);
    case 17:
        return decode_udp(c, r, claimed);
    case 1:
        if (p->ipver == 4)
            return decode_icmp(c, r, false);
        break;
    case 58:
        if (p->ipver == 6)
            return decode_icmp(c, r, true);
        break;
    case 47:
        return decode_gre(c, r);
    case 4:
    case 41:
        return decode_ipip(c, r);
    default:
        break;
    }
    c->d->st.proto[DECODE_P_IP_OTHER]++;
    p->l4 = rd_ptr(r);
    p->l4_len = (uint32_t)rd_left(r);
    return DECODE_OK;
}
