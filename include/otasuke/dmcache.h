/*
 * A direct-mapped cache of answers computed from byte strings, for work that is
 * costly and recurs on a network: libmagic's verdict on a file's first bytes, a
 * decoded TLS certificate. One slot per hash of the key; a new key takes its slot
 * from whatever was there.
 *
 * Kept true: a hit compares the stored key bytes in full, so a crafted collision
 * costs a miss, never a wrong answer; the slot hash has a fixed key, so the same
 * input always gives the same hits (a pcap run's counters are deterministic).
 * Memory is allocated once, at dmcache_new, from the caller's subsystem.
 */
#ifndef OTASUKE_DMCACHE_H
#define OTASUKE_DMCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "otasuke/alloc.h"

struct dmcache;

/* A cache of nslots slots, each holding a key of at most key_max bytes and a value
 * of val_size bytes, allocated from subsystem s. NULL when that is refused. */
struct dmcache *dmcache_new(enum mem_subsys s, size_t nslots, size_t key_max, size_t val_size);
/* Accepts NULL. */
void dmcache_free(struct dmcache *c);
/* The value stored for key[0..klen), or NULL (also when klen > key_max or c is
 * NULL). Counts a
 * lookup, and a hit when found. */
void *dmcache_get(struct dmcache *c, const void *key, size_t klen);
/* Claims key[0..klen)'s slot: the key is stored and the slot's value buffer
 * (val_size bytes, zeroed) returned for the caller to fill. NULL when klen >
 * key_max or c is NULL. */
void *dmcache_put(struct dmcache *c, const void *key, size_t klen);
/* Lookups and hits so far. */
void dmcache_counts(const struct dmcache *c, uint64_t *lookups, uint64_t *hits);

#endif
