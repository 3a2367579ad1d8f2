/*
 * Flow table: the bidirectional connection table of otasuke-sensor.
 *
 * Every IP packet the decoder accepts is mapped to one `struct flow`, keyed on
 * the 5-tuple plus VLAN ids (see docs/internals/flow.md for ICMP and other
 * protocols). The table keeps per-direction counters, first/last timestamps and a
 * small TCP state machine, and ends flows on idle timeout, on TCP port reuse, on
 * memory pressure (eviction of the least recently active flow) and at shutdown.
 *
 * Invariants:
 *  - time comes only from packet timestamps, so a pcap run is deterministic;
 *  - memory is bounded by flow_conf.memcap (bucket array + live flows); a full
 *    table evicts, it never grows;
 *  - on_end is called exactly once per flow, just before the flow is freed;
 *  - flow_id depends only on the normalized tuple and the first timestamp, never
 *    on the (random) bucket key.
 *
 * Not thread-safe: one table per packet thread.
 */
#ifndef OTASUKE_SENSOR_FLOW_H
#define OTASUKE_SENSOR_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/pkt.h"

#define FLOW_TOSERVER 0 /* from the client (initiator) to the server */
#define FLOW_TOCLIENT 1

#define FLOW_ID_BITS 51 /* like Suricata: fits a JSON number exactly */
#define FLOW_ID_MASK ((UINT64_C(1) << FLOW_ID_BITS) - 1)

/* All timeouts in microseconds of packet time. */
struct flow_conf {
    uint64_t memcap;    /* bytes: bucket array + live flows; >= buckets + 1 flow */
    uint32_t hash_size; /* buckets; rounded up to a power of two, 16 .. 2^26 */
    uint64_t timeout_tcp_new, timeout_tcp_established, timeout_tcp_closed;
    uint64_t timeout_udp_new, timeout_udp_established, timeout_icmp, timeout_other;
    uint64_t emerg_timeout_tcp_new, emerg_timeout_tcp_established, emerg_timeout_tcp_closed;
    uint64_t emerg_timeout_udp, emerg_timeout_icmp, emerg_timeout_other;
    uint32_t emerg_recovery_pct; /* leave emergency when in-use falls below this % of memcap */
    bool random_hash_key;        /* bucket key from getrandom(); else hash_key[] */
    bool tcp_reuse_new_flow;     /* a SYN on a FIN/RST-closed TCP flow starts a new flow */
    uint64_t hash_key[2];        /* bucket key used when random_hash_key is false */
};

enum flow_end_reason {
    FLOW_END_TIMEOUT,   /* idle longer than its timeout */
    FLOW_END_FORCED,    /* evicted to make room (memcap) */
    FLOW_END_SHUTDOWN,  /* flow_table_flush() */
    FLOW_END_TCP_REUSE, /* a new SYN reused the tuple of a closed TCP flow */
};

/* TCP states (EVE tcp.state names via flow_tcp_state_name()), Suricata's names for
 * what a passive observer sees, from the server's side (as Suricata's
 * StreamTcpHandleFin): the client's FIN first gives CLOSE_WAIT, the server's FIN then
 * LAST_ACK; the server's FIN first gives FIN_WAIT1, the client's ACK FIN_WAIT2, the
 * client's FIN TIME_WAIT (CLOSING when it carries no ACK); the last ACK, or an RST,
 * CLOSED. LAST_ACK and later are "closed" flows
 * (flow_state_name), as Suricata. The order matters: tcp_reused() and the timeout
 * class compare states. */
enum flow_tcp_state {
    FLOW_TCP_NONE = 0,
    FLOW_TCP_SYN_SENT,
    FLOW_TCP_SYN_RECV,
    FLOW_TCP_ESTABLISHED,
    FLOW_TCP_FIN_WAIT1,
    FLOW_TCP_FIN_WAIT2,
    FLOW_TCP_CLOSING,
    FLOW_TCP_CLOSE_WAIT,
    FLOW_TCP_LAST_ACK,
    FLOW_TCP_TIME_WAIT,
    FLOW_TCP_CLOSED,
};

/* The flow key, oriented: src/sport is the client (initiator), dst/dport the
 * server. ICMP and ICMPv6: sport == dport == echo identifier when icmp_echo is 1
 * (echo request and reply pair up), else sport == dport == type << 8 | code.
 * Other IP protocols: ports are 0. VLAN ids absent are 0. */
struct flow_key {
    struct addr src;
    struct addr dst;
    uint16_t sport;
    uint16_t dport;
    uint16_t vlan[PKT_MAX_VLAN];
    uint8_t proto;
    uint8_t icmp_echo;
};

/* struct flow.flags bits */
#define FLOW_F_SYN_TS       0x01 /* SYN seen to server: tcp_isn[0] is valid */
#define FLOW_F_SYN_TC       0x02 /* SYN+ACK seen to client: tcp_isn[1] is valid */
#define FLOW_F_MIDSTREAM    0x04 /* TCP picked up without the client's SYN */
#define FLOW_F_REVERSED     0x08 /* first packet came from the server (SYN+ACK, a TCP
                                    pickup from a well-known port, a DNS response):
                                    key.src is its receiver */
#define FLOW_F_REASM_OFF_TS 0x10 /* reassembly gave up on this direction (memcap) */
#define FLOW_F_REASM_OFF_TC 0x20

struct reasm_stream; /* reasm.c */

struct flow {
    /* Table links: internal, do not touch. */
    struct flow *hnext;
    struct flow *lprev, *lnext;

    struct flow_key key;
    uint32_t hash;     /* bucket hash (internal) */
    uint64_t flow_id;  /* 51 bits, never 0, deterministic for the same input */
    uint64_t ts_start; /* µs, first packet */
    uint64_t ts_last;  /* µs, latest packet time seen (never decreases) */
    uint64_t pkts[2];  /* indexed by FLOW_TOSERVER / FLOW_TOCLIENT */
    /* Owned by the caller (pipeline.c), beside pkts, which every packet reads: when
     * the inventory last heard of each direction's sender and that sender's MAC tag,
     * as one key (tick << 32 | tag; 0: not yet), and what the inventory said of it
     * (inv_sender's memo). */
    uint64_t inv_key[2];
    uint32_t inv_memo[2];
    uint64_t bytes[2]; /* sum of pkt.wirelen (whole frames, like Suricata and tshark) */

    /* Application layer: owned by the caller; free app_state in on_end. */
    void *app_state;
    /* Reassembly state (reasm.c), allocated lazily; freed by reasm_flow_end(). */
    struct reasm_stream *stream[2];
    /* Application-layer dispatch state (app/dispatch.c); released by applayer_flow_end. */
    void *app_stream;
    uint32_t tcp_isn[2]; /* valid when FLOW_F_SYN_TS / FLOW_F_SYN_TC is set */
    uint16_t app_proto_master;
    uint16_t app_proto_app;
    uint16_t app_category;
    uint8_t app_flags; /* owned by the application layer (pipeline.c APP_F_*) */

    uint8_t tcp_state;    /* enum flow_tcp_state */
    uint8_t tcp_flags[2]; /* OR of TH_* seen per direction */
    bool handshake_seen;  /* SYN, SYN+ACK and ACK all seen */
    uint8_t flags;        /* FLOW_F_* */
    uint8_t end_reason;   /* enum flow_end_reason, set before on_end */
    uint8_t lru;          /* internal: timeout class */
    uint8_t fin_dir;      /* internal: direction of the first FIN */
    uint8_t ipver;        /* 4 or 6 */
    uint8_t icmp_type;    /* ICMP/ICMPv6: type and code of the first packet */
    uint8_t icmp_code;
    bool icmp_tc_seen;    /* ICMP/ICMPv6: a packet to the client was seen, with */
    uint8_t icmp_type_tc; /* the type and code of the first one (EVE response_icmp_*) */
    uint8_t icmp_code_tc;
    bool has_mac;         /* the first packet had an Ethernet header: */
    uint8_t mac[2][6];    /* its MAC addresses, [0] the client's, [1] the server's */
};

struct flow_stats {
    uint64_t active; /* live flows */
    uint64_t created;
    uint64_t ended_timeout;
    uint64_t ended_forced; /* == evictions */
    uint64_t ended_shutdown;
    uint64_t ended_tcp_reuse;
    uint64_t evictions;
    uint64_t memcap_fails; /* packets that got no flow */
    uint64_t emergency_entered;
    uint64_t emergency_left;
    uint64_t tcp_reuse;
    uint64_t not_ip; /* packets refused: no IP or an unreassembled fragment */
    bool emergency;
    uint64_t mem_in_use; /* bytes: bucket array + live flows */
};

struct flow_table;

/* Fills *c with the defaults (Suricata-like timeouts, 128 MiB, 65536 buckets). */
void flow_conf_defaults(struct flow_conf *c);

/* Creates a table. Borrows c until return (copied). on_end(f, why, ud) is called
 * exactly once per flow before it is freed; it owns nothing of f but app_state and
 * the reassembly streams it must release, and it must not call into the table.
 * Returns NULL on bad configuration or out of memory. */
struct flow_table *
flow_table_new(const struct flow_conf *c,
               void (*on_end)(struct flow *f, enum flow_end_reason why, void *ud), void *ud);
/* Frees the table and any flows still in it WITHOUT calling on_end (call
 * flow_table_flush() first). Accepts NULL. */
void flow_table_free(struct flow_table *t);

/* Finds or creates the flow of p (an IP packet the decoder accepted), updates its
 * counters, timestamps and TCP state, and stores FLOW_TOSERVER or FLOW_TOCLIENT in
 * *dir. A flow found but already past its timeout is ended (TIMEOUT) and a new one
 * started. Returns NULL (counted) when p is not a flow packet or no flow could be
 * had. The flow stays valid until the next call into the table. */
struct flow *flow_table_update(struct flow_table *t, const struct pkt *p, int *dir);

/* Ends flows idle for longer than their timeout at packet time now_us (reason
 * TIMEOUT). Cheap to call for every packet: does work only when now_us is in a
 * different second than at the previous call. */
void flow_table_expire(struct flow_table *t, uint64_t now_us);

/* Ends every flow (reason SHUTDOWN), least recently active first: LRU order within
 * each timeout class, and across classes the older list head first (equal times:
 * lower flow_id). Deterministic for the same input. */
void flow_table_flush(struct flow_table *t);

void flow_table_stats(const struct flow_table *t, struct flow_stats *out);

/* Longest bucket chain (diagnostics and tests; walks every bucket). */
uint32_t flow_table_max_chain(const struct flow_table *t);

/* EVE tcp.state: "none", "syn_sent", "syn_recv", "established", "fin_wait1",
 * "fin_wait2", "closing", "close_wait", "last_ack", "time_wait", "closed". */
const char *flow_tcp_state_name(enum flow_tcp_state s);
/* EVE flow.state: "new", "established" or "closed". */
const char *flow_state_name(const struct flow *f);
/* EVE flow.reason: "timeout", "forced", "shutdown", "tcp_reuse". */
const char *flow_end_reason_name(enum flow_end_reason r);

#endif
