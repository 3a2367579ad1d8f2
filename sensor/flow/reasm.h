/*
 * TCP stream reassembly: turns the TCP segments of a flow into two in-order byte
 * streams (to server, to client) for the application parsers.
 *
 * Policy (docs/internals/flow.md has the details):
 *  - a direction starts at ISN+1 when its SYN was seen, else at the first segment
 *    with payload (midstream);
 *  - delivery (conf.ack_delivery, the default; Suricata's IDS semantics): a
 *    direction's in-order bytes are delivered only up to the highest ACK number
 *    that packets of the other direction carried, when such a packet arrives (it
 *    is the current packet for the events the data causes; a packet's ACK is
 *    applied before its own data); data not yet acknowledged is copied and waits.
 *    While no packet of the other direction was seen (one-sided capture), data is
 *    delivered on arrival. Without ack_delivery every in-order byte is delivered
 *    on arrival;
 *  - data that may be delivered now goes straight from the packet, never copied;
 *  - other data (out of order, or waiting for its ACK) is copied into a bounded
 *    per-direction buffer (segments, bytes, and a global memcap); overlaps follow
 *    ONE policy, first data wins:
 *    bytes already buffered are kept, differing new bytes are counted
 *    (overlap_diff); data before the delivery point is a retransmission and is
 *    dropped unseen;
 *  - when a limit would be exceeded, the oldest data is delivered without its
 *    ACK (unacked_forced) if it waits at the delivery point, else the oldest hole
 *    is given up: a gap is declared (gap callback), delivery resumes at the next
 *    buffered segment; this repeats until the new segment fits or is delivered;
 *  - delivery stops for good after `depth` bytes of stream per direction and at
 *    the FIN's sequence number; after a RST no new data is taken (arrival mode
 *    flushes the buffer at the RST, ack mode at the flow's end);
 *  - the flow's end (reasm_flow_end) delivers everything buffered, acknowledged
 *    or not;
 *  - sequence numbers use serial-number arithmetic (RFC 1982), so 2^32 wrap is
 *    transparent.
 *
 * Invariant: buffered segments of a direction are sorted, never overlap, and all
 * end after the delivery point; only the first may start at or before it (data
 * waiting for its ACK, possibly delivered in part); memory in use <= conf.memcap.
 */
#ifndef OTASUKE_SENSOR_REASM_H
#define OTASUKE_SENSOR_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/pkt.h"
#include "flow/flow.h"

struct reasm_conf {
    uint64_t memcap;           /* bytes: stream states + buffered segments, all flows */
    uint32_t depth;            /* bytes of stream per direction to deliver; 0 = no limit */
    uint32_t max_ooo_segments; /* per direction */
    uint32_t max_ooo_bytes;    /* per direction */
    bool ack_delivery;         /* deliver data when the other side ACKs it (else on arrival) */
};

struct reasm_stats {
    uint64_t segments; /* segments with payload looked at */
    uint64_t bytes_delivered;
    uint64_t ooo_queued;   /* segment pieces copied into the buffer (out of order, unacked) */
    uint64_t retrans;      /* segments entirely before the delivery point */
    uint64_t overlaps;     /* segments overlapping buffered data */
    uint64_t overlap_diff; /* ... whose overlapping bytes differed (first kept) */
    uint64_t gaps;         /* holes given up */
    uint64_t gap_bytes;
    uint64_t depth_reached; /* directions that hit the depth limit */
    uint64_t ooo_limit;     /* times a per-direction limit forced a gap */
    uint64_t memcap_drops;  /* times the memcap forced a gap or refused a stream */
    uint64_t unacked_forced;       /* times a limit forced delivery of unacknowledged data */
    uint64_t unacked_forced_bytes; /* ... bytes so delivered */
    uint64_t streams;              /* stream states allocated */
    uint64_t mem_in_use;
};

struct reasm;

/* Fills *c with the defaults: 64 MiB, depth 1 MiB, 64 segments, 256 KiB, ack delivery. */
void reasm_conf_defaults(struct reasm_conf *c);

/* Creates a reassembler. Borrows c until return. deliver(ud, f, dir, data, len)
 * receives every in-order byte once (in ack mode usually while reasm_packet handles
 * the ACKing packet of the other direction, and at reasm_flow_end what was not
 * acknowledged); data is borrowed until it returns. gap(ud, f,
 * dir, len) (may be NULL) says that len bytes were skipped before the next data.
 * Callbacks must not call back into the reassembler for the same flow. */
struct reasm *reasm_new(const struct reasm_conf *c,
                        void (*deliver)(void *ud, struct flow *f, int dir, const uint8_t *data,
                                        size_t len),
                        void (*gap)(void *ud, struct flow *f, int dir, uint64_t len), void *ud);
/* Frees r. Streams still attached to flows must have been released with
 * reasm_flow_end() first. Accepts NULL. */
void reasm_free(struct reasm *r);

/* Feeds one TCP packet p of flow f travelling in direction dir (from
 * flow_table_update). Non-TCP packets are ignored. Borrows p until return. */
void reasm_packet(struct reasm *r, struct flow *f, int dir, const struct pkt *p);

/* The flow ends: delivers what is still buffered (with gaps before it), then frees
 * both directions' state and sets f->stream[] to NULL. Call it from on_end. */
void reasm_flow_end(struct reasm *r, struct flow *f);

/* Bytes of stream passed for f's direction dir (delivered + gaps); 0 when none. */
uint64_t reasm_stream_offset(const struct flow *f, int dir);

void reasm_stats(const struct reasm *r, struct reasm_stats *out);

#endif
