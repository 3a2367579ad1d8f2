/*
 * The packet ring between the reader and one worker (see pktring.h).
 * Invariants: head <= tail <= head + size (positions modulo size index buf);
 * the producer only writes tail (release), the consumer only writes head
 * (release); each record starts 8-aligned and fits before the buffer's end.
 */
#include "capture/pktring.h"

#include "otasuke/alloc.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#define HDR     sizeof(struct pktring_rec)
#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)
#define SPINS   64

struct pktring {
    uint8_t *buf;
    size_t size;
    /* consumer side, then the producer's 64 bytes further: the two sides' counters
     * on separate cache lines (padding, not alignment: xalloc gives 16 bytes) */
    char pad0_[64];
    uint64_t head;
    size_t cur_len; /* bytes of the record handed out by pktring_get */
    int c_waiting;
    char pad1_[64];
    /* producer side */
    uint64_t tail;
    int p_waiting;
    int closed;
    pthread_mutex_t mu;
    pthread_cond_t cv_data;  /* consumer waits for data */
    pthread_cond_t cv_space; /* producer waits for space */
};

struct pktring *pktring_new(size_t bytes)
{
    struct pktring *r = xcalloc(MEM_CAPTURE, 1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->size = ALIGN8(bytes < 4096 ? 4096 : bytes);
    r->buf = xalloc(MEM_CAPTURE, r->size);
    if (r->buf == NULL) {
        xfree(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv_data, NULL);
    pthread_cond_init(&r->cv_space, NULL);
    return r;
}

void pktring_free(struct pktring *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv_data);
    pthread_cond_destroy(&r->cv_space);
    xfree(r->buf);
    xfree(r);
}

size_t pktring_max_caplen(const struct pktring *r)
{
    return r->size / 4 - HDR;
}

/* Wakes the other side if it announced that it waits. */
static void wake(struct pktring *r, int *waiting, pthread_cond_t *cv)
{
    if (__atomic_load_n(waiting, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_signal(cv);
        pthread_mutex_unlock(&r->mu);
    }
}

static size_t space(struct pktring *r)
{
    return r->size - (size_t)(__atomic_load_n(&r->tail, __ATOMIC_RELAXED) -
                              __atomic_load_n(&r->head, __ATOMIC_ACQUIRE));
}

/* Waits until `need` bytes are free; false at once when !block and they are not. */
static bool wait_space(struct pktring *r, size_t need, bool block)
{
    for (int i = 0; i < SPINS; i++) {
        if (space(r) >= need)
            return true;
        if (!block)
            return false;
        sched_yield();
    }
    /* sleep until a quarter of the ring is free (or what this record needs), so that
     * a full ring does not wake the producer for every record the consumer frees */
    size_t want = need > r->size / 4 ? need : r->size / 4;
    pthread_mutex_lock(&r->mu);
    __atomic_store_n(&r->p_waiting, 1, __ATOMIC_SEQ_CST);
    while (space(r) < want)
        pthread_cond_wait(&r->cv_space, &r->mu);
    __atomic_store_n(&r->p_waiting, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&r->mu);
    return true;
}

bool pktring_put(struct pktring *r, const struct pktring_rec *hdr, const uint8_t *data, bool block)
{
    size_t caplen = hdr->caplen;
    if (caplen > pktring_max_caplen(r))
        caplen = pktring_max_caplen(r);
    size_t len = ALIGN8(HDR + caplen);
    uint64_t tail = r->tail; /* only this thread writes it */
    size_t off = (size_t)(tail % r->size);
    size_t skip = r->size - off < len ? r->size - off : 0;
    if (!wait_space(r, skip + len, block))
        return false;
    if (skip != 0) {
        uint32_t k = PKTRING_WRAP;
        memcpy(r->buf + off, &k, sizeof(k));
        off = 0;
    }
    struct pktring_rec *rec = (struct pktring_rec *)(void *)(r->buf + off);
    *rec = *hdr;
    rec->caplen = (uint32_t)caplen;
    if (caplen != 0)
        memcpy(r->buf + off + HDR, data, caplen);
    __atomic_store_n(&r->tail, tail + skip + len, __ATOMIC_SEQ_CST);
    wake(r, &r->c_waiting, &r->cv_data);
    return true;
}

void pktring_close(struct pktring *r)
{
    pthread_mutex_lock(&r->mu);
    __atomic_store_n(&r->closed, 1, __ATOMIC_SEQ_CST);
    pthread_cond_signal(&r->cv_data);
    pthread_mutex_unlock(&r->mu);
}

static bool have_data(struct pktring *r)
{
    return __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) != r->head;
}

const struct pktring_rec *pktring_get(struct pktring *r)
{
    for (;;) {
        int i = 0;
        while (!have_data(r) && i++ < SPINS)
            sched_yield();
        if (!have_data(r)) {
            pthread_mutex_lock(&r->mu);
            __atomic_store_n(&r->c_waiting, 1, __ATOMIC_SEQ_CST);
            while (!have_data(r) && !__atomic_load_n(&r->closed, __ATOMIC_SEQ_CST))
                pthread_cond_wait(&r->cv_data, &r->mu);
            __atomic_store_n(&r->c_waiting, 0, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&r->mu);
            if (!have_data(r))
                return NULL; /* closed and empty */
        }
        size_t off = (size_t)(r->head % r->size);
        const struct pktring_rec *rec = (const struct pktring_rec *)(void *)(r->buf + off);
        if (rec->kind == PKTRING_WRAP) {
            __atomic_store_n(&r->head, r->head + (r->size - off), __ATOMIC_SEQ_CST);
            if (space(r) >= r->size / 4)
                wake(r, &r->p_waiting, &r->cv_space);
            continue;
        }
        r->cur_len = ALIGN8(HDR + rec->caplen);
        return rec;
    }
}

void pktring_release(struct pktring *r)
{
    __atomic_store_n(&r->head, r->head + r->cur_len, __ATOMIC_SEQ_CST);
    r->cur_len = 0;
    if (space(r) >= r->size / 4)
        wake(r, &r->p_waiting, &r->cv_space);
}
