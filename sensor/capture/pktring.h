/*
 * A bounded single-producer / single-consumer ring of packet records: the reader
 * thread copies each packet it hands to a pipeline worker into that worker's ring
 * (capture.workers > 1). Records are variable-sized (a 32-byte header and the
 * packet bytes, 8-byte aligned) in one buffer of fixed size, so memory is bounded
 * whatever the packet sizes; a record never wraps (the producer skips the tail of
 * the buffer instead).
 *
 * The producer either blocks while the ring is full (capture files: nothing is
 * lost) or is told "full" (live capture: the caller counts a drop). The consumer
 * blocks while the ring is empty. Waiting is on a condition variable, announced by
 * a flag that the other side reads after each publish, so the fast path takes no
 * lock. Positions are 64-bit counters that only grow.
 */
#ifndef OTASUKE_SENSOR_PKTRING_H
#define OTASUKE_SENSOR_PKTRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pktring_kind {
    PKTRING_PKT = 1,  /* a packet */
    PKTRING_TICK = 2, /* no packet: the clock moved to ts_us (live, idle interface) */
    PKTRING_WRAP = 3, /* internal: the rest of the buffer is unused */
};

struct pktring_rec {
    uint32_t kind;
    uint32_t caplen;
    uint32_t wirelen;
    uint32_t pad_;
    uint64_t ts_us;
    uint64_t pktno; /* the packet's number in the capture, from 1 */
    /* caplen bytes follow */
};

struct pktring;

/* A ring of `bytes` (rounded up to a multiple of 8); its largest record is
 * pktring_max_caplen(). NULL when out of memory. */
struct pktring *pktring_new(size_t bytes);
void pktring_free(struct pktring *r);
size_t pktring_max_caplen(const struct pktring *r);

/* Producer. Appends hdr (its kind, caplen, wirelen, ts_us, pktno) and caplen bytes
 * of data. block: wait while full; otherwise return false when full. A caplen
 * above pktring_max_caplen() is cut to it. */
bool pktring_put(struct pktring *r, const struct pktring_rec *hdr, const uint8_t *data, bool block);
/* Producer: no more records; the consumer sees the end once it has read the rest. */
void pktring_close(struct pktring *r);

/* Consumer. The next record (valid until pktring_release), waiting while the ring is
 * empty; NULL once the ring is closed and empty. */
const struct pktring_rec *pktring_get(struct pktring *r);
void pktring_release(struct pktring *r);

#endif
