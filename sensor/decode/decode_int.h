/*
 * Internals shared by the decoder's files (decode.c: API and link layers, ip.c: IPv4
 * and IPv6, l4.c: TCP/UDP/ICMP/GRE, defrag.c: fragment reassembly). Not for other
 * modules. Every layer takes a bounded cursor over exactly the bytes it may read.
 */
#ifndef OTASUKE_SENSOR_DECODE_INT_H
#define OTASUKE_SENSOR_DECODE_INT_H

#include "decode/decode.h"

#include <string.h>

#include "otasuke/hash.h"
#include "otasuke/rd.h"

#define DEFRAG_MAX_DGRAM 65535u  /* largest IP datagram rebuilt (IPv4 total length) */
#define DEFRAG_BUF_SIZE  (DEFRAG_MAX_DGRAM + 64u)
#define DEFRAG_MAX_HDR   1024u   /* IPv6 unfragmentable part kept per datagram */

struct defrag_tracker;

struct decoder {
    struct decode_conf conf;
    struct decode_stats st;
    enum decode_ev last_ev;
    uint64_t now_us; /* packet time of the current decode_packet() call */

    /* Fragment reassembly (defrag.c). */
    struct defrag_tracker **buckets;
    uint32_t nbuckets; /* power of two */
    uint32_t ntrackers;
    uint64_t defrag_bytes;             /* charged against conf.defrag_memcap */
    struct defrag_tracker *lru_head;   /* oldest first */
    struct defrag_tracker *lru_tail;
    struct hash_key hkey;
    uint8_t *reasm;                    /* DEFRAG_BUF_SIZE bytes, owned */
};

/* Decoding context of one call: the packet and how deep in tunnels we are. */
struct dctx {
    struct decoder *d;
    struct pkt *p;
    bool reassembled; /* decoding a datagram rebuilt by defrag */
};

static inline enum decode_rc dec_event(struct decoder *d, enum decode_ev ev)
{
    d->st.ev[ev]++;
    d->last_ev = ev;
    return DECODE_BAD;
}

/* Writes a 4-byte IPv4 address as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
static inline void addr_v4(struct addr *a, const uint8_t v4[4])
{
    memset(a->b, 0, 10);
    a->b[10] = 0xff;
    a->b[11] = 0xff;
    memcpy(a->b + 12, v4, 4);
}

/* Counts an event that does not make the packet invalid. */
static inline void dec_note(struct decoder *d, enum decode_ev ev)
{
    d->st.ev[ev]++;
    d->last_ev = ev;
}

/* Link layer (decode.c). r covers the frame from the Ethernet header on. */
enum decode_rc decode_eth(struct dctx *c, struct rd *r, bool inner);
enum decode_rc decode_ethertype(struct dctx *c, struct rd *r, uint16_t type);

/* PPP, Cisco HDLC, PPPoE and MPLS (encap.c). `r` starts at the layer's header.
 * decode_ppp_link() is DLT_PPP / DLT_PPP_SERIAL (address/control optional, Cisco HDLC
 * recognised by its address byte); decode_ppp() starts at the PPP protocol field. */
enum decode_rc decode_ppp_link(struct dctx *c, struct rd *r);
enum decode_rc decode_ppp(struct dctx *c, struct rd *r);
enum decode_rc decode_chdlc(struct dctx *c, struct rd *r);
enum decode_rc decode_pppoe_session(struct dctx *c, struct rd *r);
enum decode_rc decode_mpls(struct dctx *c, struct rd *r);
/* VXLAN, Geneve or Teredo in the UDP payload r (dgram_len: the UDP length minus its
 * header): see encap.c. Returns the inner packet's result, or DECODE_OK with p left
 * as the outer UDP datagram. */
enum udp_tunnel { UDP_TUN_VXLAN, UDP_TUN_GENEVE, UDP_TUN_TEREDO };
enum decode_rc decode_udp_tunnel(struct dctx *c, struct rd *r, enum udp_tunnel kind,
                                 uint32_t dgram_len);
/* Enters one more tunnel layer (GRE, IP-in-IP, pseudowire): false, with
 * decode.tunnel_too_deep counted, when DECODE_MAX_TUNNEL layers are already open. */
bool tunnel_enter(struct dctx *c);

/* IP (ip.c). r covers the IP header to the end of the captured bytes. */
enum decode_rc decode_ipv4(struct dctx *c, struct rd *r);
enum decode_rc decode_ipv6(struct dctx *c, struct rd *r);

/* L4 (l4.c). `r` covers the L4 bytes present; `claimed` is the length the IP header
 * gives them (>= present unless the capture was cut). */
enum decode_rc decode_l4(struct dctx *c, struct rd *r, uint32_t claimed);

/* Fragment reassembly (defrag.c). */
struct frag_in {
    uint8_t ipver;
    uint8_t proto;        /* IPv4 protocol (part of the key); IPv6: next header after FH */
    uint32_t id;
    uint32_t off;         /* data offset in bytes */
    bool more;
    const uint8_t *hdr;   /* unfragmentable part: IPv4 header / IPv6 header + ext headers */
    uint32_t hdr_len;
    uint32_t nh_off;      /* IPv6: offset in hdr of the byte naming the fragment header */
    const uint8_t *data;
    uint32_t len;
};
int defrag_init(struct decoder *d);
void defrag_fini(struct decoder *d);
/* Adds a fragment. Returns DECODE_HELD, DECODE_BAD (limit event counted) or DECODE_OK
 * with *out / *out_len set to the rebuilt datagram in d->reasm. */
enum decode_rc defrag_add(struct dctx *c, const struct frag_in *f, const uint8_t **out,
                          uint32_t *out_len);

#endif
