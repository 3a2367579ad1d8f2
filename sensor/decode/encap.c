/*
 * Point-to-point and label encapsulations found on real links in front of IP: PPP
 * (DLT_PPP, DLT_PPP_SERIAL, inside PPPoE and GRE), Cisco HDLC (DLT_C_HDLC, and
 * inside DLT_PPP where routers write it), PPPoE sessions (ethertype 0x8864,
 * DLT_PPP_ETHER) and MPLS label stacks (ethertype 0x8847/0x8848, PPP 0x0281/0x0283,
 * GRE). Each hands IPv4/IPv6 to ip.c; other payloads (LCP, IPCP, SLARP, CDP, PPPoE
 * discovery, an MPLS payload that is neither IP nor an Ethernet pseudowire) are valid
 * but not for us: DECODE_SKIP.
 *
 * Recursion is bounded: PPP and PPPoE only lead to IP or MPLS, and the one way back to
 * a link layer, an MPLS Ethernet pseudowire, is a tunnel layer counted against
 * DECODE_MAX_TUNNEL with GRE and IP-in-IP. The label stack itself is capped at
 * DECODE_MAX_MPLS entries.
 */
#include "decode/decode_int.h"

#define PPP_IPV4      0x0021
#define PPP_IPV6      0x0057
#define PPP_MPLS_UC   0x0281
#define PPP_MPLS_MC   0x0283
#define CHDLC_HDR_LEN 4
#define CHDLC_UNICAST 0x0f
#define CHDLC_BCAST   0x8f
#define PPPOE_HDR_LEN 6
#define MPLS_BOS      0x100u /* bottom-of-stack bit of a label stack entry */
#define MPLS_V4_NULL  0      /* IPv4 explicit null label */
#define MPLS_V6_NULL  2      /* IPv6 explicit null label */

bool tunnel_enter(struct dctx *c)
{
    if (c->p->tunnel_depth >= DECODE_MAX_TUNNEL) {
        dec_event(c->d, DECODE_EV_TUNNEL_TOO_DEEP);
        return false;
    }
    c->p->tunnel_depth++;
    return true;
}

/* From the PPP protocol field on. A protocol whose first byte is odd is one byte
 * long (protocol field compression, RFC 1661 section 6.5). */
enum decode_rc decode_ppp(struct dctx *c, struct rd *r)
{
    struct decoder *d = c->d;
    if (rd_left(r) < 1)
        return dec_event(d, DECODE_EV_PPP_PKT_TOO_SMALL);
    d->st.proto[DECODE_P_PPP]++;
    uint16_t proto = rd_u8(r);
    if ((proto & 1) == 0) {
        proto = (uint16_t)(proto << 8 | rd_u8(r));
        if (r->bad)
            return dec_event(d, DECODE_EV_PPP_PKT_TOO_SMALL);
    }
    switch (proto) {
    case PPP_IPV4:
        return decode_ipv4(c, r);
    case PPP_IPV6:
        return decode_ipv6(c, r);
    case PPP_MPLS_UC:
    case PPP_MPLS_MC:
        return decode_mpls(c, r);
    default: /* LCP, IPCP, CHAP, VJ-compressed TCP ...: not for us */
        return DECODE_SKIP;
    }
}

/* DLT_PPP and DLT_PPP_SERIAL: Cisco HDLC framing (address 0x0f or 0x8f) is found in
 * both, as tcpdump knows; otherwise an optional ff 03 address/control, then PPP. */
enum decode_rc decode_ppp_link(struct dctx *c, struct rd *r)
{
    struct rd peek = *r;
    uint8_t a = rd_u8(&peek);
    uint8_t ctl = rd_u8(&peek);
    if (peek.bad)
        return dec_event(c->d, DECODE_EV_PPP_PKT_TOO_SMALL);
    if (a == CHDLC_UNICAST || a == CHDLC_BCAST)
        return decode_chdlc(c, r);
    if (a == 0xff && ctl == 0x03)
        rd_skip(r, 2);
    return decode_ppp(c, r);
}

/* Cisco HDLC: address(1) control(1) protocol(2, an ethertype). */
enum decode_rc decode_chdlc(struct dctx *c, struct rd *r)
{
    if (rd_left(r) < CHDLC_HDR_LEN)
        return dec_event(c->d, DECODE_EV_CHDLC_PKT_TOO_SMALL);
    c->d->st.proto[DECODE_P_CHDLC]++;
    rd_skip(r, 2);
    return decode_ethertype(c, r, rd_be16(r)); /* SLARP 0x8035, CDP ...: SKIP */
}

/* PPPoE session stage (RFC 2516): ver/type 0x11, code 0, session id, length, then a
 * PPP frame of `length` bytes. A length past the capture is the snap length's doing:
 * what is present is decoded (the IP length decides what is truncated). */
enum decode_rc decode_pppoe_session(struct dctx *c, struct rd *r)
{
    struct decoder *d = c->d;
    if (rd_left(r) < PPPOE_HDR_LEN)
        return dec_event(d, DECODE_EV_PPPOE_PKT_TOO_SMALL);
    d->st.proto[DECODE_P_PPPOE]++;
    uint8_t vt = rd_u8(r);
    uint8_t code = rd_u8(r);
    rd_skip(r, 2); /* session id */
    size_t plen = rd_be16(r);
    if (vt != 0x11)
        return dec_event(d, DECODE_EV_PPPOE_WRONG_VERSION);
    if (code != 0)
        return dec_event(d, DECODE_EV_PPPOE_WRONG_CODE);
    if (plen < 1) /* not even a compressed PPP protocol */
        return dec_event(d, DECODE_EV_PPPOE_PKT_TOO_SMALL);
    if (plen > rd_left(r))
        plen = rd_left(r);
    struct rd body = rd_sub(r, plen);
    return decode_ppp(c, &body);
}

/* MPLS: label stack entries (label 20 bits, TC 3, S 1, TTL 8) down to the one with
 * S set, then the payload: the explicit null labels say IPv4/IPv6, otherwise the
 * first nibble does (4, 6, or 0 for the control word of an Ethernet pseudowire,
 * RFC 4385, as Suricata decodes it). */
enum decode_rc decode_mpls(struct dctx *c, struct rd *r)
{
    struct decoder *d = c->d;
    if (rd_left(r) < 4)
        return dec_event(d, DECODE_EV_MPLS_PKT_TOO_SMALL);
    d->st.proto[DECODE_P_MPLS]++;
    uint32_t e = 0;
    for (unsigned n = 0; (e & MPLS_BOS) == 0; n++) {
        if (n == DECODE_MAX_MPLS)
            return dec_event(d, DECODE_EV_MPLS_TOO_MANY_LABELS);
        e = rd_be32(r);
        if (r->bad)
            return dec_event(d, DECODE_EV_MPLS_PKT_TOO_SMALL);
    }
    uint32_t label = e >> 12;
    struct rd peek = *r;
    uint8_t nib = rd_u8(&peek) >> 4;
    if (peek.bad)
        return dec_event(d, DECODE_EV_MPLS_PKT_TOO_SMALL);
    if (label == MPLS_V4_NULL || (label != MPLS_V6_NULL && nib == 4))
        return decode_ipv4(c, r);
    if (label == MPLS_V6_NULL || nib == 6)
        return decode_ipv6(c, r);
    if (nib != 0)
        return DECODE_SKIP;
    rd_skip(r, 4); /* pseudowire control word */
    if (r->bad)
        return dec_event(d, DECODE_EV_MPLS_PKT_TOO_SMALL);
    if (!tunnel_enter(c))
        return DECODE_BAD;
    return decode_eth(c, r, c->p->has_eth);
}

/* ---- UDP tunnels: VXLAN (RFC 7348), Geneve (RFC 8926), Teredo (RFC 4380) ------- */

#define VXLAN_HDR_LEN  8
#define VXLAN_F_VNI    0x08   /* I flag: the VNI is valid */
#define GENEVE_HDR_LEN 8
#define ETHERTYPE_TEB  0x6558 /* transparent Ethernet bridging */
#define TEREDO_ORIGIN_LEN 8
#define IPV6_HDR_LEN   40
#define IPPROTO_NONE_  59

/* VXLAN: flags(1, I set) reserved(3) VNI(3) reserved(1), then an Ethernet frame. A
 * header without the I flag or with the last reserved byte set is not VXLAN for
 * Suricata 8 either: DECODE_SKIP, the caller keeps the outer datagram. */
static enum decode_rc vxlan_inner(struct dctx *c, struct rd *r, uint32_t dgram_len)
{
    if (rd_left(r) < VXLAN_HDR_LEN)
        return dec_event(c->d, DECODE_EV_VXLAN_PKT_TOO_SMALL);
    uint8_t flags = rd_u8(r);
    rd_skip(r, 6);
    uint8_t res = rd_u8(r);
    if ((flags & VXLAN_F_VNI) == 0 || res != 0)
        return DECODE_SKIP;
    c->d->st.proto[DECODE_P_VXLAN]++;
    c->p->wirelen = dgram_len - VXLAN_HDR_LEN;
    return decode_eth(c, r, true);
}

/* Geneve: ver(2 bits, 0) optlen(6 bits, 4-byte words) flags(1) protocol(2) VNI(3)
 * reserved(1), options, then the payload the protocol names: Ethernet (0x6558), IPv4
 * or IPv6. */
static enum decode_rc geneve_inner(struct dctx *c, struct rd *r, uint32_t dgram_len)
{
    if (rd_left(r) < GENEVE_HDR_LEN)
        return dec_event(c->d, DECODE_EV_GENEVE_PKT_TOO_SMALL);
    uint8_t vo = rd_u8(r);
    rd_skip(r, 1);
    uint16_t type = rd_be16(r);
    rd_skip(r, 4);
    if ((vo >> 6) != 0)
        return DECODE_SKIP; /* a version we do not know: leave the datagram as it is */
    size_t opt = (size_t)(vo & 0x3f) * 4;
    rd_skip(r, opt);
    if (r->bad)
        return dec_event(c->d, DECODE_EV_GENEVE_PKT_TOO_SMALL);
    c->d->st.proto[DECODE_P_GENEVE]++;
    uint32_t hdr = (uint32_t)(GENEVE_HDR_LEN + opt);
    c->p->wirelen = dgram_len > hdr ? dgram_len - hdr : 0;
    switch (type) {
    case ETHERTYPE_TEB:
        return decode_eth(c, r, true);
    case 0x0800:
    case 0x86dd:
        return decode_ethertype(c, r, type);
    default:
        dec_note(c->d, DECODE_EV_GENEVE_UNKNOWN_PAYLOAD);
        return DECODE_SKIP;
    }
}

/* Teredo (RFC 4380): an optional origin indication (00 00, 8 bytes), then an IPv6
 * packet whose length fills the datagram exactly: there is no Teredo header to check,
 * so the IPv6 header must be right (Suricata's test). Authentication indications
 * (00 01) and bubbles (no next header, no payload) are left as UDP, as in Suricata. */
static enum decode_rc teredo_inner(struct dctx *c, struct rd *r, uint32_t dgram_len)
{
    struct rd peek = *r;
    uint8_t b0 = rd_u8(&peek);
    uint8_t b1 = rd_u8(&peek);
    if (peek.bad)
        return DECODE_SKIP;
    uint32_t skip = 0;
    if (b0 == 0) {
        if (b1 != 0)
            return DECODE_SKIP;
        skip = TEREDO_ORIGIN_LEN;
    }
    rd_skip(r, skip);
    peek = *r;
    uint8_t ver = rd_u8(&peek) >> 4;
    rd_skip(&peek, 3);
    uint32_t plen = rd_be16(&peek);
    uint8_t nh = rd_u8(&peek);
    if (r->bad || peek.bad || ver != 6 || plen + IPV6_HDR_LEN + skip != dgram_len ||
        (nh == IPPROTO_NONE_ && plen == 0))
        return DECODE_SKIP;
    c->d->st.proto[DECODE_P_TEREDO]++;
    c->p->wirelen = dgram_len - skip;
    return decode_ipv6(c, r);
}

/* The inner packet replaces p's L3/L4 as with GRE, and p remembers the outermost UDP
 * tuple (has_outer) so that the tunnel's own flow is tracked as well. When the inner
 * frame is not something we decode (not IP or ARP, malformed, too deep) p is put
 * back as the outer UDP datagram, whose events stay counted. */
enum decode_rc decode_udp_tunnel(struct dctx *c, struct rd *r, enum udp_tunnel kind,
                                 uint32_t dgram_len)
{
    struct pkt *p = c->p;
    struct pkt outer = *p; /* only tunnel packets pay for this copy */
    if (!tunnel_enter(c))
        return DECODE_OK;
    if (!p->has_outer) {
        p->has_outer = true;
        p->outer_ipver = p->ipver;
        p->outer_vlan_n = p->vlan_n;
        p->outer_src = p->src;
        p->outer_dst = p->dst;
        p->outer_sport = p->sport;
        p->outer_dport = p->dport;
        p->outer_wirelen = p->wirelen;
    }
    p->l4 = NULL;
    p->l4_len = 0;
    p->payload = NULL;
    p->payload_len = 0;
    p->sport = 0;
    p->dport = 0;
    struct dctx in = *c;
    in.reassembled = false;
    enum decode_rc rc = kind == UDP_TUN_GENEVE ? geneve_inner(&in, r, dgram_len)
                        : kind == UDP_TUN_VXLAN ? vxlan_inner(&in, r, dgram_len)
                                                : teredo_inner(&in, r, dgram_len);
    if (rc == DECODE_OK || rc == DECODE_HELD || rc == DECODE_ARP)
        return rc;
    *p = outer;
    return DECODE_OK;
}
