/*
 * Counting allocator with per-subsystem memcaps and fault injection.
 *
 * Every heap allocation in otasuke goes through xalloc(). Each block carries a
 * small header that records its subsystem and size, so xfree() needs only the
 * pointer, and the bytes in use per subsystem are always exact. A subsystem whose
 * cap would be exceeded gets NULL and its `fail` counter rises; so does every
 * allocation after mem_fail_after(n) has counted down (alloc-failure sweeps,
 * RELIABILITY.md M4). The counters use relaxed atomics, so threads may share it.
 */
#ifndef OTASUKE_ALLOC_H
#define OTASUKE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

enum mem_subsys {
    MEM_CORE = 0,
    MEM_CONF,
    MEM_CAPTURE,
    MEM_DECODE,
    MEM_DEFRAG,
    MEM_FLOW,
    MEM_REASM,
    MEM_NDPI,
    MEM_OUTPUT,
    MEM_APP,
    MEM_INTEL, /* threat-intelligence indicator sets (lib/intel) */
    MEM_SUBSYS_COUNT
};

struct mem_stat {
    uint64_t in_use;  /* bytes currently allocated (payload, without headers) */
    uint64_t peak;    /* highest in_use seen */
    uint64_t cap;     /* 0 means no cap */
    uint64_t allocs;  /* successful allocations */
    uint64_t fails;   /* refused: cap reached or injected fault */
};

/* Returns n bytes for subsystem s, or NULL when the cap is reached, an injected
 * fault fires or the system is out of memory. Memory is not zeroed. */
void *xalloc(enum mem_subsys s, size_t n);
/* As xalloc, zeroed, with overflow check of nmemb * size. */
void *xcalloc(enum mem_subsys s, size_t nmemb, size_t size);
/* Resizes p (may be NULL). On failure returns NULL and p stays valid. */
void *xrealloc(enum mem_subsys s, void *p, size_t n);
/* Frees p (NULL is accepted). The subsystem is taken from the block header. */
void xfree(void *p);
/* Duplicates a NUL-terminated string into subsystem s. */
char *xstrdup(enum mem_subsys s, const char *str);
/* Size of the payload of a block from xalloc. */
size_t xsize(const void *p);

/* Sets subsystem s's cap in bytes; 0 removes it. */
void mem_set_cap(enum mem_subsys s, uint64_t cap);
/* Copies subsystem s's counters into *out. */
void mem_get(enum mem_subsys s, struct mem_stat *out);
/* Returns true when n more bytes would fit under subsystem s's cap. */
int mem_would_fit(enum mem_subsys s, size_t n);
const char *mem_subsys_name(enum mem_subsys s);
/* Makes the n-th allocation from now fail (1 = the next); 0 disables. Reads the
 * OTASUKE_FAIL_ALLOC environment variable when called with -1. */
void mem_fail_after(long n);
/* Total bytes in use over all subsystems. */
uint64_t mem_total_in_use(void);

#endif
