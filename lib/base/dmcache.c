/*
 * Direct-mapped answer cache (otasuke/dmcache.h). A slot is laid out as
 * [key length: size_t][key: key_max bytes][value: val_size bytes], rounded up to
 * 8 bytes; a key length of 0 marks an empty slot, so empty keys are never cached.
 */
#include "otasuke/dmcache.h"

#include <string.h>

#include "otasuke/hash.h"

struct dmcache {
    size_t nslots, key_max, val_size, stride;
    uint64_t lookups, hits;
    uint8_t *slots;
};

/* Fixed on purpose (see the header): a cache miss costs work, not correctness. */
static const struct hash_key g_slot_key = {0x6f7461737563686bull, 0x6d61676963636163ull};

struct dmcache *dmcache_new(enum mem_subsys s, size_t nslots, size_t key_max, size_t val_size)
{
    if (nslots == 0 || key_max == 0)
        return NULL;
    size_t stride = (sizeof(size_t) + key_max + val_size + 7) & ~(size_t)7;
    struct dmcache *c = xcalloc(s, 1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->slots = xcalloc(s, nslots, stride);
    if (c->slots == NULL) {
        xfree(c);
        return NULL;
    }
    c->nslots = nslots;
    c->key_max = key_max;
    c->val_size = val_size;
    c->stride = stride;
    return c;
}

void dmcache_free(struct dmcache *c)
{
    if (c == NULL)
        return;
    xfree(c->slots);
    xfree(c);
}

static uint8_t *slot_of(const struct dmcache *c, const void *key, size_t klen)
{
    return c->slots + (siphash24(&g_slot_key, key, klen) % c->nslots) * c->stride;
}

void *dmcache_get(struct dmcache *c, const void *key, size_t klen)
{
    if (c == NULL)
        return NULL;
    c->lookups++;
    if (klen == 0 || klen > c->key_max)
        return NULL;
    uint8_t *s = slot_of(c, key, klen);
    size_t have;
    memcpy(&have, s, sizeof(have));
    if (have != klen || memcmp(s + sizeof(size_t), key, klen) != 0)
        return NULL;
    c->hits++;
    return s + sizeof(size_t) + c->key_max;
}

void *dmcache_put(struct dmcache *c, const void *key, size_t klen)
{
    if (c == NULL || klen == 0 || klen > c->key_max)
        return NULL;
    uint8_t *s = slot_of(c, key, klen);
    memcpy(s, &klen, sizeof(klen));
    memcpy(s + sizeof(size_t), key, klen);
    uint8_t *v = s + sizeof(size_t) + c->key_max;
    memset(v, 0, c->val_size);
    return v;
}

void dmcache_counts(const struct dmcache *c, uint64_t *lookups, uint64_t *hits)
{
    *lookups = c != NULL ? c->lookups : 0;
    *hits = c != NULL ? c->hits : 0;
}
