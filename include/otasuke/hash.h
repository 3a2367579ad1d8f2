/*
 * SipHash-2-4: a keyed hash for tables fed by the network, so that an attacker
 * who does not know the key cannot make keys collide (hash flooding, L3).
 */
#ifndef OTASUKE_HASH_H
#define OTASUKE_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash_key {
    uint64_t k0, k1;
};

uint64_t siphash24(const struct hash_key *key, const void *data, size_t len);
/* Fills *key from getrandom(); falls back to time and pid when that fails. */
void hash_key_random(struct hash_key *key);

#endif
