/*
 * Login throttling (RELIABILITY.md S3): failures are counted per key (an account
 * name, a source address) in a fixed window; a key with `max_failures` failures in
 * its window is refused until the window ends.
 *
 * Memory is bounded: a fixed table of `entries` slots allocated at creation. A key
 * hashes (keyed SipHash) to a bucket of THROTTLE_WAYS slots; a new key takes a free
 * or expired slot of its bucket, else the slot whose window started first (so a flood
 * of new keys can at worst forget old, mostly idle counts; it never grows memory).
 * The evictions are counted. Thread-safe (one mutex).
 */
#ifndef OTASUKE_CENTER_THROTTLE_H
#define OTASUKE_CENTER_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_WAYS 8

struct throttle;

/* entries (rounded up to a multiple of THROTTLE_WAYS, at least one bucket), failures
 * allowed per window, window length in µs. NULL when out of memory. */
struct throttle *throttle_new(size_t entries, unsigned max_failures, int64_t window_us);
void throttle_free(struct throttle *t);
/* 0 when key may try now; else 1 with *retry_us = time until its window ends.
 * *first_block is set to 1 the first time a blocked key is seen in its window (to
 * audit a lockout once, not per attempt); may be NULL. */
int throttle_check(struct throttle *t, const char *key, int64_t now, int64_t *retry_us,
                   int *first_block);
/* Counts one failure of key at now. */
void throttle_fail(struct throttle *t, const char *key, int64_t now);
/* Forgets key (a successful login resets its account's count). */
void throttle_reset(struct throttle *t, const char *key);
/* Slots in use (unexpired at now) and evictions so far, for tests and stats. */
size_t throttle_used(struct throttle *t, int64_t now);
uint64_t throttle_evictions(struct throttle *t);
/* Bytes the table holds (fixed at creation). */
size_t throttle_bytes(const struct throttle *t);

#endif
