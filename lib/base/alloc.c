/*
 * Counting allocator. Each block is preceded by a 16-byte header holding its
 * payload size and subsystem, which keeps the payload 16-byte aligned and lets
 * xfree() update the right counters. Invariant: for every subsystem, in_use is the
 * sum of the payload sizes of its live blocks, and in_use <= cap whenever cap != 0.
 */
#include "otasuke/alloc.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct blk_hdr {
    uint64_t size;
    uint32_t subsys;
    uint32_t magic;
};

#define BLK_MAGIC 0x6f74736bu /* "otsk" */

struct mem_ctr {
    uint64_t in_use, peak, cap, allocs, fails;
};

static struct mem_ctr g_mem[MEM_SUBSYS_COUNT];
static long g_fail_countdown; /* > 0: the allocation that brings it to 0 fails */

static const char *const g_names[MEM_SUBSYS_COUNT] = {
    [MEM_CORE] = "core",     [MEM_CONF] = "conf",     [MEM_CAPTURE] = "capture",
    [MEM_DECODE] = "decode", [MEM_DEFRAG] = "defrag", [MEM_FLOW] = "flow",
    [MEM_REASM] = "reassembly", [MEM_NDPI] = "ndpi", [MEM_OUTPUT] = "output",
    [MEM_APP] = "app",       [MEM_INTEL] = "intel",
};

const char *mem_subsys_name(enum mem_subsys s)
{
    return (unsigned)s < MEM_SUBSYS_COUNT ? g_names[s] : "?";
}

void mem_fail_after(long n)
{
    if (n < 0) {
        const char *e = getenv("OTASUKE_FAIL_ALLOC");
        n = e ? strtol(e, NULL, 10) : 0;
    }
    __atomic_store_n(&g_fail_countdown, n, __ATOMIC_RELAXED);
}

static int injected_fault(void)
{
    long v = __atomic_load_n(&g_fail_countdown, __ATOMIC_RELAXED);
    if (v <= 0)
        return 0;
    return __atomic_sub_fetch(&g_fail_countdown, 1, __ATOMIC_RELAXED) == 0;
}

/* Reserves n bytes under s's cap; returns 0 when refused. */
static int reserve(enum mem_subsys s, size_t n)
{
    struct mem_ctr *c = &g_mem[s];
    uint64_t cap = __atomic_load_n(&c->cap, __ATOMIC_RELAXED);
    uint64_t now = __atomic_add_fetch(&c->in_use, n, __ATOMIC_RELAXED);
    if (injected_fault() || (cap != 0 && now > cap)) {
        __atomic_sub_fetch(&c->in_use, n, __ATOMIC_RELAXED);
        __atomic_add_fetch(&c->fails, 1, __ATOMIC_RELAXED);
        return 0;
    }
    uint64_t pk = __atomic_load_n(&c->peak, __ATOMIC_RELAXED);
    while (now > pk && !__atomic_compare_exchange_n(&c->peak, &pk, now, 1, __ATOMIC_RELAXED,
                                                    __ATOMIC_RELAXED))
        ;
    __atomic_add_fetch(&c->allocs, 1, __ATOMIC_RELAXED);
    return 1;
}

static void release(enum mem_subsys s, size_t n)
{
    __atomic_sub_fetch(&g_mem[s].in_use, n, __ATOMIC_RELAXED);
}

/* Heap growth in big steps backed by transparent huge pages.
 *
 * Most of the sensor's memory comes from glibc's main heap (the break), which grows
 * to the working set (the flows' parser states) and is touched page by page for
 * the first time: on the 1 GB benchmark 45,000 first-touch page faults, which in a
 * virtual machine cost about 10 us each (11% of the CPU samples, attributed to
 * _int_malloc). glibc can ask for transparent huge pages itself
 * (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) but only from the environment at start,
 * so xalloc does the same here: the break grows by at least HEAP_STEP at a time
 * (M_TOP_PAD), and each time it has moved, the new part is marked MADV_HUGEPAGE
 * before most of it is touched, so it faults 2 MiB at a time where the system
 * allows THP (enabled = always or madvise). Nothing changes in what is counted:
 * the memcaps count the bytes asked for, not pages. RSS can be up to one huge page
 * larger at the top of the heap. A no-op under sanitizers and valgrind (their
 * allocators do not use the break). */
#define HEAP_STEP ((size_t)16 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

static uintptr_t g_brk_seen; /* the break when last looked at; 0 before the first */

static void heap_grown(void)
{
    /* xalloc runs on several threads (shipper, intel reload, ARP sweep): the last break
     * seen is swapped atomically, so each growth is marked once */
    uintptr_t now = (uintptr_t)sbrk(0);
    if (now == __atomic_load_n(&g_brk_seen, __ATOMIC_RELAXED))
        return;
    uintptr_t seen = __atomic_exchange_n(&g_brk_seen, now, __ATOMIC_RELAXED);
    if (seen == 0) {
        mallopt(M_TOP_PAD, (int)HEAP_STEP);
        return;
    }
    if (now > seen) {
        uintptr_t lo = (seen + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        if (now > lo)
            (void)madvise((void *)lo, now - lo, MADV_HUGEPAGE);
    }
}

/* A block of two huge pages or more is mapped by glibc on its own, away from the
 * heap that heap_grown marks: its 2 MiB-aligned interior is marked too, so that a
 * big table read at random (a hash table, the inventory's devices) costs a TLB entry
 * and a page fault per 2 MiB rather than per 4 KiB. On the 1 GB benchmark capture
 * the inventory's tables on huge pages made it ~0.5% cheaper (issue 5, bench/README.md). */
static void big_block(void *p, size_t n)
{
    if (n < 2 * HUGE_PAGE)
        return;
    uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

/* calloc() for zeroed blocks: fresh pages from the kernel are already zero, so a large
 * table is not written (and faulted in) page by page at start-up. */
static void *blk_alloc(enum mem_subsys s, size_t n, int zero)
{
    if ((unsigned)s >= MEM_SUBSYS_COUNT || n > SIZE_MAX - sizeof(struct blk_hdr))
        return NULL;
    if (!reserve(s, n))
        return NULL;
    struct blk_hdr *h = zero ? calloc(1, sizeof(*h) + n) : malloc(sizeof(*h) + n);
    if (h == NULL) {
        release(s, n);
        __atomic_add_fetch(&g_mem[s].fails, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    h->size = n;
    h->subsys = (uint32_t)s;
    h->magic = BLK_MAGIC;
    heap_grown();
    big_block(h + 1, n);
    return h + 1;
}

void *xalloc(enum mem_subsys s, size_t n)
{
    return blk_alloc(s, n, 0);
}

void *xcalloc(enum mem_subsys s, size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size)
        return NULL;
    return blk_alloc(s, nmemb * size, 1);
}

void *xrealloc(enum mem_subsys s, void *p, size_t n)
{
    if (p == NULL)
        return xalloc(s, n);
    struct blk_hdr *h = (struct blk_hdr *)p - 1;
    enum mem_subsys os = (enum mem_subsys)h->subsys;
    size_t old = (size_t)h->size;
    if (n > SIZE_MAX - sizeof(*h))
        return NULL;
    if (n > old && !reserve(os, n - old))
        return NULL;
    struct blk_hdr *nh = realloc(h, sizeof(*nh) + n);
    if (nh == NULL) {
        if (n > old)
            release(os, n - old);
        return NULL;
    }
    if (n < old)
        release(os, old - n);
    nh->size = n;
    return nh + 1;
}

void xfree(void *p)
{
    if (p == NULL)
        return;
    struct blk_hdr *h = (struct blk_hdr *)p - 1;
    if (h->magic != BLK_MAGIC)
        abort(); /* not ours, or freed twice: fail loudly rather than corrupt counters */
    h->magic = 0;
    release((enum mem_subsys)h->subsys, (size_t)h->size);
    free(h);
}

size_t xsize(const void *p)
{
    return p ? (size_t)((const struct blk_hdr *)p - 1)->size : 0;
}

char *xstrdup(enum mem_subsys s, const char *str)
{
    size_t n = strlen(str) + 1;
    char *d = xalloc(s, n);
    if (d != NULL)
        memcpy(d, str, n);
    return d;
}

void mem_set_cap(enum mem_subsys s, uint64_t cap)
{
    if ((unsigned)s < MEM_SUBSYS_COUNT)
        __atomic_store_n(&g_mem[s].cap, cap, __ATOMIC_RELAXED);
}

void mem_get(enum mem_subsys s, struct mem_stat *out)
{
    const struct mem_ctr *c = &g_mem[s];
    out->in_use = __atomic_load_n(&c->in_use, __ATOMIC_RELAXED);
    out->peak = __atomic_load_n(&c->peak, __ATOMIC_RELAXED);
    out->cap = __atomic_load_n(&c->cap, __ATOMIC_RELAXED);
    out->allocs = __atomic_load_n(&c->allocs, __ATOMIC_RELAXED);
    out->fails = __atomic_load_n(&c->fails, __ATOMIC_RELAXED);
}

int mem_would_fit(enum mem_subsys s, size_t n)
{
    uint64_t cap = __atomic_load_n(&g_mem[s].cap, __ATOMIC_RELAXED);
    return cap == 0 || __atomic_load_n(&g_mem[s].in_use, __ATOMIC_RELAXED) + n <= cap;
}

uint64_t mem_total_in_use(void)
{
    uint64_t t = 0;
    for (int i = 0; i < MEM_SUBSYS_COUNT; i++)
        t += __atomic_load_n(&g_mem[i].in_use, __ATOMIC_RELAXED);
    return t;
}
