/*
 * The packet decoder stack: link layer (Ethernet II, 802.1Q/QinQ, Linux SLL/SLL2,
 * raw IP, BSD loopback, PPP, Cisco HDLC), PPPoE, MPLS, ARP, IPv4 (options, fragments),
 * IPv6 (extension headers, fragments), TCP (options), UDP, ICMP, ICMPv6, IP-in-IP
 * (4in4, 6in4, 4in6, 6in6), GRE (v0, inner IPv4/IPv6/Ethernet/MPLS/PPP, ERSPAN
 * I/II/III) and the UDP tunnels VXLAN, Geneve and Teredo into a struct pkt.
 *
 * A decoder is single-threaded state: counters, the last event and the IP
 * fragment trackers. Headers are checked in Suricata's order (length, version,
 * header length, total length, then decode); malformed input becomes a counted
 * event and DECODE_BAD, never a read outside the buffer. A capture cut by the
 * snap length is decoded as far as it goes and counted as "truncated", not as
 * malformed, unless a header itself is cut. See docs/internals/decode.md.
 */
#ifndef OTASUKE_SENSOR_DECODE_H
#define OTASUKE_SENSOR_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/pkt.h"

/* Link types (pcap LINKTYPE_* / DLT_* values) decode_packet() understands. */
#define DECODE_DLT_NULL       0   /* BSD loopback, 4-byte family in host order */
#define DECODE_DLT_EN10MB     1   /* Ethernet II */
#define DECODE_DLT_PPP        9   /* PPP, optional ff 03 address/control, or Cisco HDLC */
#define DECODE_DLT_RAW        12  /* raw IPv4/IPv6 (DLT_RAW on most systems) */
#define DECODE_DLT_PPP_SERIAL 50  /* PPP in HDLC-like framing (RFC 1662), or Cisco HDLC */
#define DECODE_DLT_PPP_ETHER  51  /* PPPoE header without the Ethernet header */
#define DECODE_DLT_RAW_LT     101 /* LINKTYPE_RAW as written in pcap files */
#define DECODE_DLT_C_HDLC     104 /* Cisco HDLC */
#define DECODE_DLT_LOOP       108 /* OpenBSD loopback, family in network order */
#define DECODE_DLT_SLL        113 /* Linux cooked capture v1 */
#define DECODE_DLT_IPV4       228
#define DECODE_DLT_IPV6       229
#define DECODE_DLT_SLL2       276 /* Linux cooked capture v2 */

/* Tunnel layers followed (GRE, IP-in-IP, MPLS Ethernet pseudowire, VXLAN, Geneve,
 * Teredo, all together); one more is decode.tunnel_too_deep. */
#define DECODE_MAX_TUNNEL   3
#define DECODE_MAX_IPV6_EXT 8   /* IPv6 extension headers; one more is ipv6.exthdr_too_many */
#define DECODE_MAX_MPLS     8   /* MPLS label stack entries; one more is mpls.too_many_labels */

/* Zero numeric fields take the defaults below (decoder_new copies the struct). */
struct decode_conf {
    uint64_t defrag_memcap;       /* bytes, MEM_DEFRAG subsystem cap applies too; 32 MiB */
    uint64_t defrag_timeout_us;   /* a datagram whose fragments don't complete in time is
                                     dropped; 60 s */
    uint32_t defrag_max_frags;    /* per datagram; 256 */
    uint32_t defrag_max_trackers; /* datagrams being reassembled at once; 4096 */
    bool decode_gre;              /* follow GRE to the inner packet */
    uint16_t vxlan_port;          /* UDP destination port decoded as VXLAN; 0 = off */
    uint16_t geneve_port;         /* UDP destination port decoded as Geneve; 0 = off */
    uint16_t teredo_port;         /* UDP port (either side) decoded as Teredo; 0 = off */
};

#define DECODE_VXLAN_PORT  4789 /* IANA; Suricata's default */
#define DECODE_GENEVE_PORT 6081
#define DECODE_TEREDO_PORT 3544

enum decode_rc {
    DECODE_OK = 0, /* IPv4/IPv6 decoded down to L4 (or L3 for protocols without ports) */
    DECODE_ARP,    /* ARP decoded into p->arp_* */
    DECODE_HELD,   /* an IP fragment kept for reassembly: nothing for flows yet */
    DECODE_SKIP,   /* valid but nothing to do (unknown ethertype, non-IP, unknown linktype) */
    DECODE_BAD,    /* malformed or over a limit: see decoder_last_event() */
};

/* One value per kind of malformed or limit condition. Names (decode_ev_name) follow
 * Suricata's decoder events where one exists. */
enum decode_ev {
    DECODE_EV_NONE = 0,
    DECODE_EV_ETH_PKT_TOO_SMALL,
    DECODE_EV_VLAN_HDR_TOO_SMALL,
    DECODE_EV_VLAN_TOO_MANY,
    DECODE_EV_SLL_PKT_TOO_SMALL,
    DECODE_EV_SLL2_PKT_TOO_SMALL,
    DECODE_EV_NULL_PKT_TOO_SMALL,
    DECODE_EV_RAW_INVALID_IPV,
    DECODE_EV_ARP_PKT_TOO_SMALL,
    DECODE_EV_IPV4_PKT_TOO_SMALL,
    DECODE_EV_IPV4_WRONG_IP_VER,
    DECODE_EV_IPV4_HLEN_TOO_SMALL,
    DECODE_EV_IPV4_IPLEN_SMALLER_THAN_HLEN,
    DECODE_EV_IPV4_TRUNC_PKT,
    DECODE_EV_IPV4_OPT_INVALID_LEN,
    DECODE_EV_IPV4_FRAG_PKT_TOO_LARGE,
    DECODE_EV_IPV4_FRAG_OVERLAP,
    DECODE_EV_IPV6_PKT_TOO_SMALL,
    DECODE_EV_IPV6_WRONG_IP_VER,
    DECODE_EV_IPV6_TRUNC_EXTHDR,
    DECODE_EV_IPV6_EXTHDR_TOO_MANY,
    DECODE_EV_IPV6_EXTHDR_INVALID_OPTLEN,
    DECODE_EV_IPV6_EXTHDR_DUPL_FH,
    DECODE_EV_IPV6_FRAG_INVALID_LEN,
    DECODE_EV_IPV6_FRAG_PKT_TOO_LARGE,
    DECODE_EV_IPV6_FRAG_OVERLAP,
    DECODE_EV_TCP_PKT_TOO_SMALL,
    DECODE_EV_TCP_HLEN_TOO_SMALL,
    DECODE_EV_TCP_HLEN_BEYOND_PKT,
    DECODE_EV_TCP_OPT_INVALID_LEN,
    DECODE_EV_UDP_PKT_TOO_SMALL,
    DECODE_EV_UDP_HLEN_INVALID,
    DECODE_EV_UDP_LEN_INVALID,
    DECODE_EV_ICMPV4_PKT_TOO_SMALL,
    DECODE_EV_ICMPV6_PKT_TOO_SMALL,
    DECODE_EV_GRE_PKT_TOO_SMALL,
    DECODE_EV_GRE_WRONG_VERSION,
    DECODE_EV_GRE_VERSION0_RECUR,
    DECODE_EV_GRE_VERSION0_FLAGS,
    DECODE_EV_ERSPAN_PKT_TOO_SMALL,
    DECODE_EV_VXLAN_PKT_TOO_SMALL,
    DECODE_EV_GENEVE_PKT_TOO_SMALL,
    DECODE_EV_GENEVE_UNKNOWN_PAYLOAD,
    /* a stats writer nests these by the part before the dot: keep each group together */
    DECODE_EV_PPP_PKT_TOO_SMALL,
    DECODE_EV_CHDLC_PKT_TOO_SMALL,
    DECODE_EV_PPPOE_PKT_TOO_SMALL,
    DECODE_EV_PPPOE_WRONG_VERSION,
    DECODE_EV_PPPOE_WRONG_CODE,
    DECODE_EV_MPLS_PKT_TOO_SMALL,
    DECODE_EV_MPLS_TOO_MANY_LABELS,
    DECODE_EV_TUNNEL_TOO_DEEP,
    DECODE_EV_DEFRAG_MEMCAP,
    DECODE_EV_DEFRAG_MAX_TRACKERS,
    DECODE_EV_DEFRAG_MAX_FRAGS,
    DECODE_EV_DEFRAG_TIMEOUT,
    DECODE_EV_DEFRAG_LEN_MISMATCH,
    DECODE_EV_COUNT
};

/* Per-protocol counters, indexes into decode_stats.proto[]. */
enum decode_proto {
    DECODE_P_ETH = 0,
    DECODE_P_VLAN,      /* per 802.1Q/802.1ad tag */
    DECODE_P_SLL,
    DECODE_P_SLL2,
    DECODE_P_NULL,      /* BSD loopback (DLT_NULL / DLT_LOOP) */
    DECODE_P_RAW,       /* raw IP link types */
    DECODE_P_ARP,
    DECODE_P_IPV4,      /* IPv4 headers from the wire (reassembled ones not recounted) */
    DECODE_P_IPV6,
    DECODE_P_TCP,
    DECODE_P_UDP,
    DECODE_P_ICMPV4,
    DECODE_P_ICMPV6,
    DECODE_P_GRE,
    DECODE_P_ERSPAN,
    DECODE_P_IPIP,      /* IP-in-IP layers (IPv4 protocol / IPv6 next header 4 or 41) */
    DECODE_P_VXLAN,     /* VXLAN headers decapsulated */
    DECODE_P_GENEVE,    /* Geneve headers decapsulated */
    DECODE_P_TEREDO,    /* Teredo packets decapsulated */
    DECODE_P_PPP,       /* PPP headers (DLT_PPP, PPPoE, GRE) */
    DECODE_P_CHDLC,     /* Cisco HDLC headers */
    DECODE_P_PPPOE,     /* PPPoE headers (session and discovery) */
    DECODE_P_MPLS,      /* MPLS label stacks */
    DECODE_P_IP_OTHER,  /* IP packets with another L4 protocol (ESP, SCTP, IGMP ...) */
    DECODE_P_FRAG,      /* IPv4/IPv6 fragments seen */
    DECODE_P_DEFRAG_REASSEMBLED,
    DECODE_P_TRUNCATED, /* informational: IP payload cut by the snap length */
    DECODE_P_IPV4_TSO,  /* informational: IPv4 total length 0 (segmentation offload) */
    DECODE_P_SKIPPED,   /* DECODE_SKIP results */
    DECODE_P_INVALID,   /* DECODE_BAD results */
    DECODE_P_COUNT
};

struct decode_stats {
    uint64_t pkts;  /* decode_packet() calls */
    uint64_t bytes; /* sum of wirelen */
    uint64_t proto[DECODE_P_COUNT];
    uint64_t ev[DECODE_EV_COUNT];
};

struct decoder;

/* Returns a new decoder configured from *c (copied; NULL means all defaults with
 * decode_gre on and VXLAN, Geneve and Teredo on their IANA ports), or NULL on ERR_NOMEM. Its fixed memory comes from MEM_DECODE,
 * fragment trackers from MEM_DEFRAG. */
struct decoder *decoder_new(const struct decode_conf *c);
/* Frees d and every fragment it holds. Accepts NULL. */
void decoder_free(struct decoder *d);

/* Decodes one captured frame of `linktype` into *p. Every field is reset first except
 * the arp_* block, which is only meaningful (and then fully set) when p->is_arp.
 * Borrows `data` (caplen bytes) until the next call: p's pointers point into it or
 * into a reassembly buffer owned by d, valid until the next decode_packet() call
 * on d. `ts_us` is packet time, also used to time out fragment trackers. */
enum decode_rc decode_packet(struct decoder *d, struct pkt *p, int linktype, const uint8_t *data,
                             uint32_t caplen, uint32_t wirelen, uint64_t ts_us);

/* The last event raised by the most recent decode_packet() call, DECODE_EV_NONE when
 * it raised none. Events can come with non-BAD results (e.g. ipv4.frag_overlap with
 * DECODE_HELD); DECODE_BAD always comes with one. */
enum decode_ev decoder_last_event(const struct decoder *d);
/* Static name such as "ipv4.hlen_too_small"; "unknown" when out of range. */
const char *decode_ev_name(enum decode_ev ev);

/* Counters of d; the pointer stays valid for d's lifetime. */
const struct decode_stats *decoder_stats(const struct decoder *d);
/* Names of the per-protocol counters, indexed by enum decode_proto and terminated by
 * NULL, so a stats writer does:
 *   const char *const *n = decode_proto_counter_names();
 *   for (int i = 0; n[i]; i++) emit(n[i], st->proto[i]);
 * and for events: for (e = 1; e < DECODE_EV_COUNT; e++) emit(decode_ev_name(e), st->ev[e]). */
const char *const *decode_proto_counter_names(void);

/* Drops fragment trackers whose first fragment is older than defrag_timeout_us at
 * packet time now_us (counted as defrag.timeout). decode_packet() also does this
 * for the trackers it meets, so calling it is only needed when traffic stops. */
void decoder_expire(struct decoder *d, uint64_t now_us);
/* Number of datagrams being reassembled, and bytes they hold (for stats and tests). */
uint32_t decoder_defrag_trackers(const struct decoder *d);
uint64_t decoder_defrag_bytes(const struct decoder *d);

#endif
