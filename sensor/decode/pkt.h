/*
 * The decoded packet: what the decoder stack hands to the flow table, nDPI and,
 * later, the application parsers. Types only (HAProxy style).
 *
 * All pointers point into the capture buffer or into a buffer owned by the
 * decoder (a reassembled IP fragment); they stay valid until the next call to
 * decode_packet(). Addresses are 16 bytes; IPv4 is stored IPv4-mapped
 * (::ffff:a.b.c.d) so that one key type serves both families.
 */
#ifndef OTASUKE_SENSOR_PKT_H
#define OTASUKE_SENSOR_PKT_H

#include <stdbool.h>
#include <stdint.h>

struct addr {
    uint8_t b[16];
};

/* TCP flag bits as on the wire. */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20
#define TH_ECE 0x40
#define TH_CWR 0x80

#define PKT_MAX_VLAN 3 /* as Suricata: a fourth tag is vlan.too_many_layers */

struct pkt {
    uint64_t ts_us;    /* capture timestamp, µs since the epoch */
    uint32_t caplen;   /* bytes captured */
    uint32_t wirelen;  /* bytes on the wire */
    const uint8_t *raw;
    int linktype;      /* DLT_* of the capture */

    /* Layer 2. */
    bool has_eth;
    uint8_t eth_src[6];
    uint8_t eth_dst[6];
    uint16_t vlan[PKT_MAX_VLAN]; /* outermost first */
    uint8_t vlan_n;
    bool is_arp;                 /* ARP: see arp_* fields, no L3/L4 */
    uint16_t arp_op;
    uint8_t arp_sha[6];
    uint8_t arp_tha[6];
    struct addr arp_spa;
    struct addr arp_tpa;

    /* Layer 3 (of the innermost IP header when tunnelled). */
    uint8_t ipver;          /* 4, 6, or 0 when there is no IP */
    struct addr src;
    struct addr dst;
    uint8_t ttl;            /* TTL or hop limit */
    uint8_t proto;          /* IPPROTO_* of the L4 header (after IPv6 extension headers) */
    const uint8_t *l3;      /* start of the (innermost) IP header */
    uint32_t l3_len;        /* from l3 to the end of the IP payload, capped at caplen */
    bool defragged;         /* l3 points at a reassembled datagram */
    bool is_fragment;       /* a fragment held for reassembly: no L4 yet */
    uint8_t tunnel_depth;   /* tunnel layers passed: GRE, IP-in-IP, MPLS pseudowire,
                               VXLAN, Geneve */
    /* The outermost UDP tunnel (VXLAN, Geneve) a packet came out of: its flow is
     * tracked too, as Suricata does. The rest is only meaningful when has_outer. */
    bool has_outer;
    uint8_t outer_ipver;
    uint8_t outer_vlan_n;   /* the tunnel's VLAN tags are vlan[0 .. outer_vlan_n) */
    uint16_t outer_sport;
    uint16_t outer_dport;
    uint32_t outer_wirelen; /* the whole frame; wirelen is then the inner frame's */
    struct addr outer_src;
    struct addr outer_dst;

    /* Layer 4. */
    uint16_t sport;
    uint16_t dport;
    const uint8_t *l4;      /* start of the L4 header */
    uint32_t l4_len;        /* L4 header + payload */
    const uint8_t *payload;
    uint32_t payload_len;   /* bytes of payload present (IP length minus headers, capped) */
    uint8_t tcp_flags;
    uint32_t tcp_seq;
    uint32_t tcp_ack;
    uint16_t tcp_win;
    uint8_t tcp_wscale;     /* 0xff when the option is absent */
    uint16_t tcp_mss;       /* 0 when absent */
    bool tcp_sack_perm;
    bool tcp_has_ts;
    uint32_t tcp_tsval;
    uint8_t icmp_type;
    uint8_t icmp_code;
};

#endif
