/*
 * Fixed-size failure counters per key (throttle.h). Keys are stored only as their
 * 64-bit keyed hash: two keys that collide share a count, which can only make the
 * throttle stricter for them, and the key is random per process.
 */
#include "auth/throttle.h"

#include "otasuke/alloc.h"
#include "otasuke/hash.h"

#include <pthread.h>
#include <string.h>

struct slot {
    uint64_t h;           /* 0: free */
    int64_t window_start; /* µs */
    uint32_t failures;
    uint32_t blocked_seen;
};

struct throttle {
    pthread_mutex_t mu;
    struct hash_key key;
    struct slot *slots;
    size_t n_buckets;
    unsigned max_failures;
    int64_t window_us;
    uint64_t evictions;
};

struct throttle *throttle_new(size_t entries, unsigned max_failures, int64_t window_us)
{
    struct throttle *t = xcalloc(MEM_CORE, 1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->n_buckets = (entries + THROTTLE_WAYS - 1) / THROTTLE_WAYS;
    if (t->n_buckets == 0)
        t->n_buckets = 1;
    t->slots = xcalloc(MEM_CORE, t->n_buckets * THROTTLE_WAYS, sizeof(struct slot));
    if (t->slots == NULL) {
        xfree(t);
        return NULL;
    }
    t->max_failures = max_failures ? max_failures : 1;
    t->window_us = window_us > 0 ? window_us : 1;
    hash_key_random(&t->key);
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void throttle_free(struct throttle *t)
{
    if (t == NULL)
        return;
    pthread_mutex_destroy(&t->mu);
    xfree(t->slots);
    xfree(t);
}

static uint64_t key_hash(const struct throttle *t, const char *key)
{
    uint64_t h = siphash24(&t->key, key, strlen(key));
    return h ? h : 1;
}

static int expired(const struct throttle *t, const struct slot *s, int64_t now)
{
    return s->h == 0 || now - s->window_start >= t->window_us;
}

/* The slot of h, or NULL; with create, a free/expired/oldest slot of the bucket. */
static struct slot *find(struct throttle *t, uint64_t h, int64_t now, int create)
{
    struct slot *b = t->slots + (h % t->n_buckets) * THROTTLE_WAYS;
    struct slot *victim = NULL;
    for (int i = 0; i < THROTTLE_WAYS; i++) {
        if (b[i].h == h) {
            if (expired(t, &b[i], now)) {
                b[i].window_start = now;
                b[i].failures = 0;
                b[i].blocked_seen = 0;
            }
            return &b[i];
        }
    }
    if (!create)
        return NULL;
    for (int i = 0; i < THROTTLE_WAYS; i++) {
        if (expired(t, &b[i], now)) {
            victim = &b[i];
            break;
        }
        if (victim == NULL || b[i].window_start < victim->window_start)
            victim = &b[i];
    }
    if (!expired(t, victim, now))
        t->evictions++;
    *victim = (struct slot){.h = h, .window_start = now};
    return victim;
}

int throttle_check(struct throttle *t, const char *key, int64_t now, int64_t *retry_us,
                   int *first_block)
{
    uint64_t h = key_hash(t, key);
    int blocked = 0;
    pthread_mutex_lock(&t->mu);
    struct slot *s = find(t, h, now, 0);
    if (s != NULL && s->failures >= t->max_failures) {
        blocked = 1;
        *retry_us = s->window_start + t->window_us - now;
        if (first_block != NULL)
            *first_block = s->blocked_seen == 0;
        s->blocked_seen = 1;
    }
    pthread_mutex_unlock(&t->mu);
    return blocked;
}

void throttle_fail(struct throttle *t, const char *key, int64_t now)
{
    uint64_t h = key_hash(t, key);
    pthread_mutex_lock(&t->mu);
    struct slot *s = find(t, h, now, 1);
    if (s->failures < UINT32_MAX)
        s->failures++;
    pthread_mutex_unlock(&t->mu);
}

void throttle_reset(struct throttle *t, const char *key)
{
    uint64_t h = key_hash(t, key);
    pthread_mutex_lock(&t->mu);
    struct slot *s = find(t, h, 0, 0);
    if (s != NULL)
        *s = (struct slot){0};
    pthread_mutex_unlock(&t->mu);
}

size_t throttle_used(struct throttle *t, int64_t now)
{
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n_buckets * THROTTLE_WAYS; i++)
        n += !expired(t, &t->slots[i], now);
    pthread_mutex_unlock(&t->mu);
    return n;
}

uint64_t throttle_evictions(struct throttle *t)
{
    pthread_mutex_lock(&t->mu);
    uint64_t e = t->evictions;
    pthread_mutex_unlock(&t->mu);
    return e;
}

size_t throttle_bytes(const struct throttle *t)
{
    return sizeof(*t) + t->n_buckets * THROTTLE_WAYS * sizeof(struct slot);
}
