/*
 * IPv4 and IPv6 decoding. Checks run in Suricata's order: length, version, header
 * length, total length; then options / extension headers, then fragments go to
 * defrag.c and whole datagrams to L4. The IP length trims link-layer padding; when
 * the capture holds less than the IP length (snap length), what is present is
 * decoded and DECODE_P_TRUNCATED counts it, but a cut header is malformed.
 */
#include <string.h>

#include "decode/decode_int.h"

#define IPV4_HDR_LEN 20
#define IPV6_HDR_LEN 40

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_DSTOPTS_ 60

/* IPv4 options: EOL ends the list, NOP is one byte, anything else carries a length
 * of at least 2 that must fit in the header. */
static bool ipv4_opts_ok(struct rd *o)
{
    while (rd_left(o) > 0) {
        uint8_t t = rd_u8(o);
        if (t == 0)
            break;
        if (t == 1)
            continue;
        uint8_t l = rd_u8(o);
        if (o->bad || l < 2 || (size_t)(l - 2) > rd_left(o))
            return false;
        rd_skip(o, (size_t)l - 2);
    }
    return true;
}

/* Decodes the datagram rebuilt by defrag (in d->reasm) as if it came whole. */
static enum decode_rc decode_reassembled(struct dctx *c, const uint8_t *buf, uint32_t len,
                                         int ver)
{
    struct dctx c2 = *c;
    c2.reassembled = true;
    c->d->st.proto[DECODE_P_DEFRAG_REASSEMBLED]++;
    c->p->is_fragment = false;
    c->p->defragged = true;
    struct rd r = rd_init(buf, len);
    return ver == 4 ? decode_ipv4(&c2, &r) : decode_ipv6(&c2, &r);
}

static enum decode_rc ipv4_frag(struct dctx *c, struct rd *body, const uint8_t *l3,
                                uint32_t hlen, uint16_t id, uint16_t fo, bool cut)
{
    struct decoder *d = c->d;
    c->p->is_fragment = true;
    d->st.proto[DECODE_P_FRAG]++;
    struct frag_in f = {
        .ipver = 4, .proto = c->p->proto, .id = id, .off = (uint32_t)(fo & 0x1fff) * 8,
        .more = (fo & 0x2000) != 0, .hdr = l3, .hdr_len = hlen,
        .data = rd_ptr(body), .len = (uint32_t)rd_left(body),
    };
    if (hlen + f.off + f.len > DEFRAG_MAX_DGRAM)
        return dec_event(d, DECODE_EV_IPV4_FRAG_PKT_TOO_LARGE);
    if (cut) /* part of the fragment is missing from the capture: cannot rebuild */
        return DECODE_SKIP;
    const uint8_t *out;
    uint32_t out_len;
    enum decode_rc rc = defrag_add(c, &f, &out, &out_len);
    if (rc != DECODE_OK)
        return rc;
    return decode_reassembled(c, out, out_len, 4);
}

enum decode_rc decode_ipv4(struct dctx *c, struct rd *r)
{
    struct decoder *d = c->d;
    struct pkt *p = c->p;
    size_t len = rd_left(r);
    const uint8_t *l3 = rd_ptr(r);
    if (len < IPV4_HDR_LEN)
        return dec_event(d, DECODE_EV_IPV4_PKT_TOO_SMALL);
    if (!c->reassembled)
        d->st.proto[DECODE_P_IPV4]++;
    uint8_t vhl = rd_u8(r);
    if ((vhl >> 4) != 4)
        return dec_event(d, DECODE_EV_IPV4_WRONG_IP_VER);
    uint32_t hlen = (uint32_t)(vhl & 0x0f) * 4;
    if (hlen < IPV4_HDR_LEN)
        return dec_event(d, DECODE_EV_IPV4_HLEN_TOO_SMALL);
    rd_skip(r, 1); /* TOS */
    uint32_t tlen = rd_be16(r);
    if (tlen == 0 && len >= hlen && len <= 0xffff && !c->reassembled && p->tunnel_depth == 0) {
        /* A capture taken on the sending host before TCP segmentation offload: the
         * NIC fills in the length later. Wireshark and tshark take the frame's
         * length; so do we, and count it. */
        tlen = (uint32_t)len;
        d->st.proto[DECODE_P_IPV4_TSO]++;
    }
    if (tlen < hlen)
        return dec_event(d, DECODE_EV_IPV4_IPLEN_SMALLER_THAN_HLEN);
    if (len < hlen)
        return dec_event(d, DECODE_EV_IPV4_TRUNC_PKT);
    uint16_t id = rd_be16(r);
    uint16_t fo = rd_be16(r);
    uint8_t ttl = rd_u8(r);
    uint8_t proto = rd_u8(r);
    rd_skip(r, 2); /* checksum: not verified (offloaded checksums are common) */
    uint8_t src[4], dst[4];
    rd_copy(r, src, 4);
    rd_copy(r, dst, 4);
    struct rd opts = rd_sub(r, hlen - IPV4_HDR_LEN);
    if (!ipv4_opts_ok(&opts))
        return dec_event(d, DECODE_EV_IPV4_OPT_INVALID_LEN);

    uint32_t present = tlen;
    bool cut = false;
    if (len < tlen) {
        present = (uint32_t)len;
        cut = true;
        d->st.proto[DECODE_P_TRUNCATED]++;
    }
    p->ipver = 4;
    addr_v4(&p->src, src);
    addr_v4(&p->dst, dst);
    p->ttl = ttl;
    p->proto = proto;
    p->l3 = l3;
    p->l3_len = present;
    struct rd body = rd_sub(r, present - hlen);
    if ((fo & 0x3fff) != 0)
        return ipv4_frag(c, &body, l3, hlen, id, fo, cut);
    return decode_l4(c, &body, tlen - hlen);
}

/* Hop-by-hop and destination options: Pad1 is one byte, others are type, length,
 * value and must fit in the header. */
static bool ipv6_opts_ok(struct rd *o)
{
    while (rd_left(o) > 0) {
        if (rd_u8(o) == 0)
            continue;
        uint8_t l = rd_u8(o);
        if (o->bad || l > rd_left(o))
            return false;
        rd_skip(o, l);
    }
    return true;
}

struct v6_frag {
    const uint8_t *l3;
    uint32_t unfrag_len; /* IPv6 header + extension headers before the fragment header */
    uint32_t nh_off;     /* where the header naming the fragment header keeps that name */
    uint8_t nh;          /* next header after the fragment header */
    uint32_t id;
    uint16_t offm;
    bool cut;
};

static enum decode_rc ipv6_frag(struct dctx *c, struct rd *body, const struct v6_frag *v)
{
    struct decoder *d = c->d;
    c->p->is_fragment = true;
    c->p->proto = v->nh;
    d->st.proto[DECODE_P_FRAG]++;
    struct frag_in f = {
        .ipver = 6, .proto = v->nh, .id = v->id, .off = v->offm & 0xfff8u,
        .more = (v->offm & 1) != 0, .hdr = v->l3, .hdr_len = v->unfrag_len,
        .nh_off = v->nh_off, .data = rd_ptr(body), .len = (uint32_t)rd_left(body),
    };
    if (v->cut)
        return DECODE_SKIP;
    if (f.more && (f.len % 8) != 0)
        return dec_event(d, DECODE_EV_IPV6_FRAG_INVALID_LEN);
    if (f.hdr_len > DEFRAG_MAX_HDR ||
        f.hdr_len - IPV6_HDR_LEN + f.off + f.len > DEFRAG_MAX_DGRAM)
        return dec_event(d, DECODE_EV_IPV6_FRAG_PKT_TOO_LARGE);
    const uint8_t *out;
    uint32_t out_len;
    enum decode_rc rc = defrag_add(c, &f, &out, &out_len);
    if (rc != DECODE_OK)
        return rc;
    return decode_reassembled(c, out, out_len, 6);
}

/* Walks the extension header chain (at most DECODE_MAX_IPV6_EXT headers). */
static enum decode_rc ipv6_ext(struct dctx *c, struct rd *body, uint8_t nh, uint32_t plen,
                               struct v6_frag *v)
{
    struct decoder *d = c->d;
    unsigned n = 0;
    bool seen_fh = false;
    v->nh_off = 6;
    for (;;) {
        if (nh != IPPROTO_HOPOPTS_ && nh != IPPROTO_ROUTING_ && nh != IPPROTO_DSTOPTS_ &&
            nh != IPPROTO_AH_ && nh != IPPROTO_FRAGMENT_)
            break;
        if (++n > DECODE_MAX_IPV6_EXT)
            return dec_event(d, DECODE_EV_IPV6_EXTHDR_TOO_MANY);
        uint32_t hoff = (uint32_t)body->off;
        uint8_t nnh = rd_u8(body);
        uint8_t hl = rd_u8(body);
        if (body->bad)
            return dec_event(d, DECODE_EV_IPV6_TRUNC_EXTHDR);
        if (nh == IPPROTO_FRAGMENT_) {
            uint16_t offm = rd_be16(body);
            uint32_t id = rd_be32(body);
            if (body->bad)
                return dec_event(d, DECODE_EV_IPV6_TRUNC_EXTHDR);
            if (seen_fh || c->reassembled)
                return dec_event(d, DECODE_EV_IPV6_EXTHDR_DUPL_FH);
            seen_fh = true;
            if ((offm & 0xfff9u) != 0) { /* not an atomic fragment (RFC 6946) */
                v->unfrag_len = IPV6_HDR_LEN + hoff;
                v->nh = nnh;
                v->id = id;
                v->offm = offm;
                return ipv6_frag(c, body, v);
            }
        } else {
            size_t elen = nh == IPPROTO_AH_ ? ((size_t)hl + 2) * 4 : ((size_t)hl + 1) * 8;
            struct rd o = rd_sub(body, elen - 2);
            if (body->bad)
                return dec_event(d, DECODE_EV_IPV6_TRUNC_EXTHDR);
            if ((nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_DSTOPTS_) && !ipv6_opts_ok(&o))
                return dec_event(d, DECODE_EV_IPV6_EXTHDR_INVALID_OPTLEN);
        }
        v->nh_off = IPV6_HDR_LEN + hoff;
        nh = nnh;
    }
    c->p->proto = nh;
    return decode_l4(c, body, plen - (uint32_t)body->off);
}

enum decode_rc decode_ipv6(struct dctx *c, struct rd *r)
{
    struct decoder *d = c->d;
    struct pkt *p = c->p;
    size_t len = rd_left(r);
    const uint8_t *l3 = rd_ptr(r);
    if (len < IPV6_HDR_LEN)
        return dec_event(d, DECODE_EV_IPV6_PKT_TOO_SMALL);
    if (!c->reassembled)
        d->st.proto[DECODE_P_IPV6]++;
    uint32_t vtf = rd_be32(r);
    if ((vtf >> 28) != 6)
        return dec_event(d, DECODE_EV_IPV6_WRONG_IP_VER);
    uint32_t plen = rd_be16(r);
    uint8_t nh = rd_u8(r);
    p->ttl = rd_u8(r);
    rd_copy(r, p->src.b, 16);
    rd_copy(r, p->dst.b, 16);
    uint32_t present = plen;
    bool cut = false;
    if (len - IPV6_HDR_LEN < plen) {
        present = (uint32_t)(len - IPV6_HDR_LEN);
        cut = true;
        d->st.proto[DECODE_P_TRUNCATED]++;
    }
    p->ipver = 6;
    p->proto = nh;
    p->l3 = l3;
    p->l3_len = IPV6_HDR_LEN + present;
    struct rd body = rd_sub(r, present);
    struct v6_frag v = {.l3 = l3, .cut = cut};
    return ipv6_ext(c, &body, nh, plen, &v);
}
