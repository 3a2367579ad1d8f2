/*
 * The compiled indicator set: build, freeze, look up.
 *
 * Two structures hold everything:
 *   - every exact-match kind (domain, URL, path, endpoint, md5/sha1/sha256, JA3, JA4)
 *     lives in one open-addressing hash table with linear probing. A slot is 16 bytes
 *     (32-bit hash tag, key offset into one byte arena, key length, kind, list ref).
 *     Domains are hashed right to left (an FNV-style step per byte, then a 64-bit
 *     finaliser), so that a lookup hashes the name once and probes each parent suffix as
 *     it reaches a label boundary: O(length) hashing and O(labels) probes. Digests are
 *     already uniform and are hashed from their first 8 bytes. The table grows by
 *     doubling and is compacted to 75% full at freeze (any size: the home slot is a
 *     multiply-shift of the hash, not a mask). It is filled from configured lists, not
 *     from traffic, and frozen before the first lookup, so lookups cannot lengthen its
 *     probe chains.
 *   - IP addresses and CIDR ranges are collected as prefixes, then at freeze flattened into
 *     sorted, non-overlapping intervals (per family) whose value is the set of lists of all
 *     prefixes covering that interval plus the longest prefix length. A lookup is a
 *     binary search; IPv4 first indexes the top 16 bits (a 65537-entry table) so that the
 *     search covers only the intervals of one /16. Each isolated address costs two
 *     interval starts (itself and the gap after it): 16 bytes in IPv4.
 * A "list ref" names an interned, sorted set of list ids (most severe first). Refs below
 * the number of lists are the single lists themselves; unions are interned on demand.
 *
 * Invariants: a frozen set never changes and lookups never allocate; every allocation is
 * MEM_INTEL and a failed one marks the set broken (freeze then refuses it).
 */
#include "intel/intel_int.h"

#include <stdlib.h>
#include <string.h>

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/hash.h"

typedef unsigned __int128 u128; /* scalar typedef: GCC/Clang 128-bit integer */

#define REF_NONE   UINT32_MAX
#define MAX_COMBOS (1u << 24)
#define FNV_PRIME  0x100000001b3ULL
#define IDX4_MIN   4096 /* fewer IPv4 intervals: no /16 index, search them all */

struct ht_slot {
    uint32_t tag;
    uint32_t off;
    uint32_t ref;
    uint16_t len;
    uint8_t kind; /* INTEL_KIND_NONE: empty */
    uint8_t pad;
};

struct pfx {
    uint64_t hi, lo;
    uint32_t combo;
    uint8_t plen;
};

struct pfxvec {
    struct pfx *v;
    size_t n, cap;
};

struct intel_set {
    int refs;
    bool frozen, broken;
    uint64_t seed;
    struct intel_list_info *lists;
    size_t nlists, lists_cap;
    /* list-ref sets: pool holds "count, id, id, ..." runs; off[ref] indexes the run */
    uint16_t *pool;
    size_t pool_len, pool_cap;
    uint32_t *off;
    size_t ncombos, combos_cap;
    uint32_t *cindex; /* build only: ref + 1 by content hash, 0 = empty */
    size_t cindex_cap;
    /* exact-match table */
    struct ht_slot *ht;
    size_t ht_cap, ht_n;
    uint8_t *keys;
    size_t keys_len, keys_cap;
    uint64_t count[INTEL_KIND_COUNT];
    /* IP prefixes (build) and intervals (frozen) */
    struct pfxvec p4, p6;
    uint32_t *s4, *r4, *idx4;
    size_t n4;
    uint64_t *s6; /* pairs hi, lo */
    uint32_t *r6;
    size_t n6;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t str_final(uint64_t h, enum intel_kind k, size_t n)
{
    return mix64(h ^ ((uint64_t)k << 56) ^ (uint64_t)n);
}

static bool is_digest(enum intel_kind k)
{
    return k == INTEL_KIND_MD5 || k == INTEL_KIND_SHA1 || k == INTEL_KIND_SHA256 ||
           k == INTEL_KIND_JA3;
}

static uint64_t key_hash(const struct intel_set *s, enum intel_kind k, const uint8_t *p, size_t n)
{
    if (is_digest(k) && n >= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return mix64(v ^ s->seed ^ ((uint64_t)k << 56));
    }
    uint64_t h = s->seed;
    for (size_t i = n; i-- > 0;)
        h = (h ^ p[i]) * FNV_PRIME;
    return str_final(h, k, n);
}

/* Grows *p (elements of `elem` bytes, capacity *cap) to hold `need`; doubles. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return ERR_NOMEM;
        ncap *= 2;
    }
    void *q = xrealloc(MEM_INTEL, *p, ncap * elem);
    if (q == NULL)
        return ERR_NOMEM;
    *p = q;
    *cap = ncap;
    return 0;
}

struct intel_set *intel_set_new(void)
{
    struct intel_set *s = xcalloc(MEM_INTEL, 1, sizeof(*s));
    if (s == NULL)
        return NULL;
    struct hash_key hk;
    hash_key_random(&hk);
    s->seed = hk.k0 ^ hk.k1;
    s->refs = 1;
    return s;
}

static void free_build(struct intel_set *s)
{
    xfree(s->cindex);
    s->cindex = NULL;
    s->cindex_cap = 0;
    xfree(s->p4.v);
    xfree(s->p6.v);
    memset(&s->p4, 0, sizeof(s->p4));
    memset(&s->p6, 0, sizeof(s->p6));
}

void intel_set_unref(struct intel_set *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    for (size_t i = 0; i < s->nlists; i++) {
        xfree((void *)s->lists[i].name);
        xfree((void *)s->lists[i].category);
    }
    free_build(s);
    xfree(s->lists);
    xfree(s->pool);
    xfree(s->off);
    xfree(s->ht);
    xfree(s->keys);
    xfree(s->s4);
    xfree(s->r4);
    xfree(s->idx4);
    xfree(s->s6);
    xfree(s->r6);
    xfree(s);
}

struct intel_set *intel_set_ref(struct intel_set *s)
{
    s->refs++;
    return s;
}

/* ---- list-ref sets ---------------------------------------------------------------- */

static const uint16_t *combo_ids(const struct intel_set *s, uint32_t ref, unsigned *n)
{
    const uint16_t *run = s->pool + s->off[ref];
    *n = run[0];
    return run + 1;
}

static bool list_before(const struct intel_set *s, uint16_t a, uint16_t b)
{
    unsigned sa = s->lists[a].severity, sb = s->lists[b].severity;
    return sa < sb || (sa == sb && a < b);
}

static uint64_t ids_hash(const uint16_t *ids, unsigned n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    for (unsigned i = 0; i < n; i++)
        h = (h ^ ids[i]) * FNV_PRIME;
    return mix64(h);
}

static int combo_append(struct intel_set *s, const uint16_t *ids, unsigned n, uint32_t *ref)
{
    if (s->ncombos >= MAX_COMBOS)
        return ERR_NOMEM;
    if (grow((void **)&s->pool, &s->pool_cap, s->pool_len + n + 1, sizeof(uint16_t)) != 0 ||
        grow((void **)&s->off, &s->combos_cap, s->ncombos + 1, sizeof(uint32_t)) != 0)
        return ERR_NOMEM;
    s->off[s->ncombos] = (uint32_t)s->pool_len;
    s->pool[s->pool_len] = (uint16_t)n;
    memcpy(s->pool + s->pool_len + 1, ids, n * sizeof(uint16_t));
    s->pool_len += n + 1;
    *ref = (uint32_t)s->ncombos++;
    return 0;
}

static void cindex_put(struct intel_set *s, uint32_t ref)
{
    unsigned n;
    const uint16_t *ids = combo_ids(s, ref, &n);
    size_t mask = s->cindex_cap - 1, i = ids_hash(ids, n) & mask;
    while (s->cindex[i] != 0)
        i = (i + 1) & mask;
    s->cindex[i] = ref + 1;
}

static int cindex_grow(struct intel_set *s)
{
    if ((s->ncombos + 1) * 2 <= s->cindex_cap)
        return 0;
    size_t ncap = s->cindex_cap ? s->cindex_cap * 2 : 1024;
    uint32_t *n = xcalloc(MEM_INTEL, ncap, sizeof(uint32_t));
    if (n == NULL)
        return ERR_NOMEM;
    xfree(s->cindex);
    s->cindex = n;
    s->cindex_cap = ncap;
    for (uint32_t r = 0; r < s->ncombos; r++)
        cindex_put(s, r);
    return 0;
}

/* The ref of the sorted id run ids[0..n), created when new. */
static int combo_intern(struct intel_set *s, const uint16_t *ids, unsigned n, uint32_t *ref)
{
    if (cindex_grow(s) != 0)
        return ERR_NOMEM;
    size_t mask = s->cindex_cap - 1, i = ids_hash(ids, n) & mask;
    for (; s->cindex[i] != 0; i = (i + 1) & mask) {
        unsigned m;
        const uint16_t *o = combo_ids(s, s->cindex[i] - 1, &m);
        if (m == n && memcmp(o, ids, n * sizeof(uint16_t)) == 0) {
            *ref = s->cindex[i] - 1;
            return 0;
        }
    }
    if (combo_append(s, ids, n, ref) != 0)
        return ERR_NOMEM;
    s->cindex[i] = *ref + 1;
    return 0;
}

/* The ref of the union of refs a and b. */
static int combo_union(struct intel_set *s, uint32_t a, uint32_t b, uint32_t *out)
{
    unsigned na, nb, n = 0;
    if (a == b) {
        *out = a;
        return 0;
    }
    const uint16_t *ia = combo_ids(s, a, &na), *ib = combo_ids(s, b, &nb);
    uint16_t *m = xalloc(MEM_INTEL, (size_t)(na + nb) * sizeof(uint16_t));
    if (m == NULL)
        return ERR_NOMEM;
    unsigned i = 0, j = 0;
    while (i < na || j < nb) {
        if (j >= nb || (i < na && list_before(s, ia[i], ib[j])))
            m[n++] = ia[i++];
        else if (i >= na || list_before(s, ib[j], ia[i]))
            m[n++] = ib[j++];
        else {
            m[n++] = ia[i++];
            j++;
        }
    }
    int rc = 0;
    if (n == na)
        *out = a;
    else if (n == nb)
        *out = b;
    else
        rc = combo_intern(s, m, n, out);
    xfree(m);
    return rc;
}

/* ---- lists -------------------------------------------------------------------------- */

int intel_set_add_list(struct intel_set *s, const char *name, const char *category,
                       unsigned severity)
{
    if (s->frozen || s->broken || name == NULL || name[0] == '\0' || severity < 1 || severity > 4)
        return ERR_INVAL;
    if (s->nlists >= INTEL_MAX_LISTS)
        return ERR_LIMIT;
    if (grow((void **)&s->lists, &s->lists_cap, s->nlists + 1, sizeof(*s->lists)) != 0)
        goto nomem;
    struct intel_list_info *l = &s->lists[s->nlists];
    l->severity = severity;
    l->name = xstrdup(MEM_INTEL, name);
    l->category = xstrdup(MEM_INTEL, category ? category : "");
    if (l->name == NULL || l->category == NULL) {
        xfree((void *)l->name);
        xfree((void *)l->category);
        goto nomem;
    }
    uint16_t id = (uint16_t)s->nlists;
    uint32_t ref;
    if (combo_append(s, &id, 1, &ref) != 0 || cindex_grow(s) != 0) {
        s->nlists++;
        goto nomem;
    }
    cindex_put(s, ref);
    s->nlists++;
    return (int)id;
nomem:
    s->broken = true;
    return ERR_NOMEM;
}

const struct intel_list_info *intel_set_list(const struct intel_set *s, unsigned id)
{
    return id < s->nlists ? &s->lists[id] : NULL;
}

size_t intel_set_list_count(const struct intel_set *s)
{
    return s->nlists;
}

/* ---- exact-match table -------------------------------------------------------------- */

/* The home slot of hash h in a table of cap slots (any size up to 2^32): the low 32 bits
 * scaled to cap (Lemire's multiply-shift); the tag is the high 32 bits. */
static size_t ht_home(uint64_t h, size_t cap)
{
    return (size_t)(((h & 0xffffffffu) * (uint64_t)cap) >> 32);
}

static const struct ht_slot *ht_find(const struct intel_set *s, uint64_t h, enum intel_kind k,
                                     const uint8_t *p, size_t n)
{
    if (s->ht_cap == 0)
        return NULL;
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = ht_home(h, s->ht_cap);; i = i + 1 == s->ht_cap ? 0 : i + 1) {
        const struct ht_slot *sl = &s->ht[i];
        if (sl->kind == INTEL_KIND_NONE)
            return NULL;
        if (sl->tag == tag && sl->kind == k && sl->len == n && memcmp(s->keys + sl->off, p, n) == 0)
            return sl;
    }
}

static void ht_place(struct ht_slot *ht, size_t cap, uint64_t h, const struct ht_slot *src)
{
    size_t i = ht_home(h, cap);
    while (ht[i].kind != INTEL_KIND_NONE)
        i = i + 1 == cap ? 0 : i + 1;
    ht[i] = *src;
    ht[i].tag = (uint32_t)(h >> 32);
}

/* Rebuilds the table with ncap slots. */
static int ht_resize(struct intel_set *s, size_t ncap)
{
    struct ht_slot *n = xcalloc(MEM_INTEL, ncap, sizeof(*n));
    if (n == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < s->ht_cap; i++) {
        const struct ht_slot *sl = &s->ht[i];
        if (sl->kind != INTEL_KIND_NONE)
            ht_place(n, ncap, key_hash(s, sl->kind, s->keys + sl->off, sl->len), sl);
    }
    xfree(s->ht);
    s->ht = n;
    s->ht_cap = ncap;
    return 0;
}

static int ht_grow(struct intel_set *s)
{
    if ((s->ht_n + 1) * 10 <= s->ht_cap * 7)
        return 0;
    if (s->ht_cap >= (size_t)1 << 31)
        return ERR_NOMEM;
    return ht_resize(s, s->ht_cap ? s->ht_cap * 2 : 1024);
}

/* At freeze: the table shrinks to 75% full (doubling left it 35..70% full) and the key
 * arena to its size. */
static int ht_compact(struct intel_set *s)
{
    size_t want = s->ht_n + s->ht_n / 3 + 1;
    if (s->ht_n > 0 && want < s->ht_cap && ht_resize(s, want) != 0)
        return ERR_NOMEM;
    if (s->keys_len > 0 && s->keys_len < s->keys_cap) {
        uint8_t *k = xrealloc(MEM_INTEL, s->keys, s->keys_len);
        if (k == NULL)
            return ERR_NOMEM;
        s->keys = k;
        s->keys_cap = s->keys_len;
    }
    return 0;
}

static int ht_add(struct intel_set *s, unsigned list, enum intel_kind k, const uint8_t *p, size_t n)
{
    uint64_t h = key_hash(s, k, p, n);
    struct ht_slot *found = (struct ht_slot *)ht_find(s, h, k, p, n);
    if (found != NULL)
        return combo_union(s, found->ref, list, &found->ref);
    if (n > UINT16_MAX || s->keys_len + n > UINT32_MAX)
        return ERR_NOMEM;
    if (ht_grow(s) != 0 || grow((void **)&s->keys, &s->keys_cap, s->keys_len + n, 1) != 0)
        return ERR_NOMEM;
    struct ht_slot sl = {0, (uint32_t)s->keys_len, list, (uint16_t)n, (uint8_t)k, 0};
    memcpy(s->keys + s->keys_len, p, n);
    s->keys_len += n;
    ht_place(s->ht, s->ht_cap, h, &sl);
    s->ht_n++;
    s->count[k]++;
    return 0;
}

/* ---- adding --------------------------------------------------------------------------- */

static int pfx_add(struct intel_set *s, unsigned list, const struct intel_ind *ind)
{
    struct pfxvec *v = ind->v4 ? &s->p4 : &s->p6;
    if (grow((void **)&v->v, &v->cap, v->n + 1, sizeof(struct pfx)) != 0)
        return ERR_NOMEM;
    struct pfx *p = &v->v[v->n++];
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | ind->addr[i];
        lo = lo << 8 | ind->addr[8 + i];
    }
    p->hi = ind->v4 ? 0 : hi;
    p->lo = ind->v4 ? (lo & 0xffffffffu) : lo;
    p->combo = list;
    p->plen = (uint8_t)ind->plen;
    return 0;
}

int intel_set_add_ind(struct intel_set *s, unsigned list, const struct intel_ind *ind)
{
    if (s->frozen || s->broken || list >= s->nlists)
        return ERR_INVAL;
    int rc = ind->kind == INTEL_KIND_IP ? pfx_add(s, list, ind)
                                        : ht_add(s, list, ind->kind, ind->key, ind->klen);
    if (rc == ERR_NOMEM)
        s->broken = true;
    return rc;
}

int intel_set_add(struct intel_set *s, unsigned list, enum intel_type type, const char *text,
                  size_t len, enum intel_kind *kind_out)
{
    struct intel_ind *ind = xalloc(MEM_INTEL, sizeof(*ind));
    const char *why;
    if (ind == NULL) {
        s->broken = true;
        return ERR_NOMEM;
    }
    int rc = intel_parse(type, text, len, ind, &why);
    if (rc == 0)
        rc = intel_set_add_ind(s, list, ind);
    if (kind_out != NULL)
        *kind_out = rc == 0 ? ind->kind : INTEL_KIND_NONE;
    xfree(ind);
    return rc;
}

/* ---- freezing: prefixes to intervals -------------------------------------------------- */

struct segvec {
    u128 *start;
    uint32_t *ref;
    size_t n, cap, rcap;
};

static u128 pfx_start(const struct pfx *p)
{
    return (u128)p->hi << 64 | p->lo;
}

static u128 pfx_end(const struct pfx *p, unsigned bits)
{
    unsigned host = bits - p->plen;
    u128 span = host >= 128 ? ~(u128)0 : (((u128)1 << host) - 1);
    return pfx_start(p) | span;
}

static int pfx_cmp(const void *a, const void *b)
{
    const struct pfx *x = a, *y = b;
    u128 sx = pfx_start(x), sy = pfx_start(y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return (int)x->plen - (int)y->plen;
}

/* Appends an interval start; a start equal to the last replaces it, and an interval
 * with the same value as the one before merges into it. */
static int seg_emit(struct segvec *v, u128 pos, uint32_t ref)
{
    if (v->n > 0 && v->start[v->n - 1] == pos) {
        v->ref[v->n - 1] = ref;
        if (v->n > 1 && v->ref[v->n - 2] == ref)
            v->n--;
        return 0;
    }
    if (v->n > 0 && v->ref[v->n - 1] == ref)
        return 0;
    if (grow((void **)&v->start, &v->cap, v->n + 1, sizeof(u128)) != 0 ||
        grow((void **)&v->ref, &v->rcap, v->n + 1, sizeof(uint32_t)) != 0)
        return ERR_NOMEM;
    v->start[v->n] = pos;
    v->ref[v->n] = ref;
    v->n++;
    return 0;
}

struct stack_ent {
    u128 end;
    uint32_t combo, packed;
};

static uint32_t pack(uint32_t combo, unsigned plen)
{
    return combo << 8 | plen;
}

/* Merges duplicate prefixes (same start and length) into one with the union of lists;
 * returns the new count or a negative error. */
static long pfx_dedup(struct intel_set *s, struct pfx *v, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o > 0 && pfx_cmp(&v[o - 1], &v[i]) == 0) {
            if (combo_union(s, v[o - 1].combo, v[i].combo, &v[o - 1].combo) != 0)
                return ERR_NOMEM;
            continue;
        }
        v[o++] = v[i];
    }
    return (long)o;
}

/* Pops the top of the stack: the interval after it takes the enclosing prefix's value. */
static int stack_pop(struct segvec *out, struct stack_ent *st, size_t *sp, u128 max)
{
    const struct stack_ent *t = &st[--*sp];
    if (t->end == max)
        return 0;
    return seg_emit(out, t->end + 1, *sp > 0 ? st[*sp - 1].packed : REF_NONE);
}

/* Prefixes sorted by start then length are nested or disjoint: a stack of the enclosing
 * prefixes gives each interval the union of their lists. */
static int flatten(struct intel_set *s, struct pfxvec *pv, unsigned bits, struct segvec *out)
{
    struct stack_ent st[130];
    size_t sp = 0;
    u128 max = bits == 128 ? ~(u128)0 : (((u128)1 << bits) - 1);
    if (pv->n > 1)
        qsort(pv->v, pv->n, sizeof(struct pfx), pfx_cmp);
    long n = pfx_dedup(s, pv->v, pv->n);
    if (n < 0 || seg_emit(out, 0, REF_NONE) != 0)
        return ERR_NOMEM;
    pv->n = (size_t)n;
    for (size_t i = 0; i < pv->n; i++) {
        const struct pfx *p = &pv->v[i];
        u128 start = pfx_start(p);
        while (sp > 0 && st[sp - 1].end < start)
            if (stack_pop(out, st, &sp, max) != 0)
                return ERR_NOMEM;
        uint32_t combo = p->combo;
        if (sp > 0 && combo_union(s, st[sp - 1].combo, p->combo, &combo) != 0)
            return ERR_NOMEM;
        struct stack_ent e = {pfx_end(p, bits), combo, pack(combo, p->plen)};
        if (seg_emit(out, start, e.packed) != 0)
            return ERR_NOMEM;
        st[sp++] = e;
    }
    while (sp > 0)
        if (stack_pop(out, st, &sp, max) != 0)
            return ERR_NOMEM;
    return 0;
}

/* The /16 index: idx4[h] is the last interval starting at or before h << 16. */
static int build_idx4(struct intel_set *s)
{
    s->idx4 = xalloc(MEM_INTEL, 65537 * sizeof(uint32_t));
    if (s->idx4 == NULL)
        return ERR_NOMEM;
    size_t j = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        while (j + 1 < s->n4 && s->s4[j + 1] <= h << 16)
            j++;
        s->idx4[h] = (uint32_t)j;
    }
    s->idx4[65536] = (uint32_t)(s->n4 - 1);
    return 0;
}

static int freeze_v4(struct intel_set *s)
{
    struct segvec v = {0};
    int rc = ERR_NOMEM;
    if (flatten(s, &s->p4, 32, &v) != 0)
        goto out;
    s->count[INTEL_KIND_IP] += s->p4.n;
    s->s4 = xalloc(MEM_INTEL, v.n * sizeof(uint32_t));
    s->r4 = xalloc(MEM_INTEL, v.n * sizeof(uint32_t));
    if (s->s4 == NULL || s->r4 == NULL)
        goto out;
    for (size_t i = 0; i < v.n; i++) {
        s->s4[i] = (uint32_t)v.start[i];
        s->r4[i] = v.ref[i];
    }
    s->n4 = v.n;
    if (v.n >= IDX4_MIN && build_idx4(s) != 0)
        goto out;
    rc = 0;
out:
    xfree(v.start);
    xfree(v.ref);
    return rc;
}

static int freeze_v6(struct intel_set *s)
{
    struct segvec v = {0};
    int rc = ERR_NOMEM;
    if (flatten(s, &s->p6, 128, &v) != 0)
        goto out;
    s->count[INTEL_KIND_IP] += s->p6.n;
    s->s6 = xalloc(MEM_INTEL, v.n * 2 * sizeof(uint64_t));
    s->r6 = xalloc(MEM_INTEL, v.n * sizeof(uint32_t));
    if (s->s6 == NULL || s->r6 == NULL)
        goto out;
    for (size_t i = 0; i < v.n; i++) {
        s->s6[2 * i] = (uint64_t)(v.start[i] >> 64);
        s->s6[2 * i + 1] = (uint64_t)v.start[i];
        s->r6[i] = v.ref[i];
    }
    s->n6 = v.n;
    rc = 0;
out:
    xfree(v.start);
    xfree(v.ref);
    return rc;
}

int intel_set_freeze(struct intel_set *s)
{
    if (s->frozen)
        return 0;
    if (s->broken || (s->p4.n > 0 && freeze_v4(s) != 0) || (s->p6.n > 0 && freeze_v6(s) != 0) ||
        ht_compact(s) != 0) {
        s->broken = true;
        return ERR_NOMEM;
    }
    free_build(s);
    s->frozen = true;
    return 0;
}

/* ---- lookups ---------------------------------------------------------------------------- */

static char ascii_lower(char c)
{
    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    return c;
}

static bool fill_hit(const struct intel_set *s, uint32_t ref, struct intel_hit *hit)
{
    memset(hit, 0, sizeof(*hit));
    hit->lists = combo_ids(s, ref, &hit->n);
    return true;
}

static bool fill_packed(const struct intel_set *s, uint32_t packed, struct intel_hit *hit)
{
    if (packed == REF_NONE)
        return false;
    fill_hit(s, packed >> 8, hit);
    hit->prefix_len = packed & 0xff;
    return true;
}

bool intel_lookup_ip4(const struct intel_set *s, uint32_t a, struct intel_hit *hit)
{
    if (!s->frozen || s->n4 == 0)
        return false;
    size_t lo = 0, hi = s->n4 - 1;
    if (s->idx4 != NULL) {
        lo = s->idx4[a >> 16];
        hi = s->idx4[(a >> 16) + 1];
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (s->s4[mid] <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    return fill_packed(s, s->r4[lo], hit);
}

static bool v6_le(const uint64_t *s6, size_t i, uint64_t hi, uint64_t lo)
{
    return s6[2 * i] < hi || (s6[2 * i] == hi && s6[2 * i + 1] <= lo);
}

bool intel_lookup_ip6(const struct intel_set *s, const uint8_t addr[16], struct intel_hit *hit)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, 12) == 0)
        return intel_lookup_ip4(
            s, (uint32_t)addr[12] << 24 | (uint32_t)addr[13] << 16 | addr[14] << 8 | addr[15], hit);
    if (!s->frozen || s->n6 == 0)
        return false;
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | addr[i];
        lo = lo << 8 | addr[8 + i];
    }
    size_t a = 0, b = s->n6 - 1;
    while (a < b) {
        size_t mid = a + (b - a + 1) / 2;
        if (v6_le(s->s6, mid, hi, lo))
            a = mid;
        else
            b = mid - 1;
    }
    return fill_packed(s, s->r6[a], hit);
}

static bool lookup_key(const struct intel_set *s, enum intel_kind k, const uint8_t *p, size_t n,
                       struct intel_hit *hit)
{
    if (!s->frozen || s->count[k] == 0)
        return false;
    const struct ht_slot *sl = ht_find(s, key_hash(s, k, p, n), k, p, n);
    return sl != NULL && fill_hit(s, sl->ref, hit);
}

bool intel_lookup_endpoint(const struct intel_set *s, const uint8_t *addr, size_t alen,
                           uint16_t port, struct intel_hit *hit)
{
    uint8_t key[18] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (alen == 4)
        memcpy(key + 12, addr, 4);
    else if (alen == 16)
        memcpy(key, addr, 16);
    else
        return false;
    key[16] = (uint8_t)(port >> 8);
    key[17] = (uint8_t)port;
    return lookup_key(s, INTEL_KIND_ENDPOINT, key, sizeof(key), hit);
}

bool intel_lookup_domain(const struct intel_set *s, const char *name, size_t len,
                         struct intel_hit *hit)
{
    char buf[INTEL_MAX_DOMAIN];
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (!s->frozen || s->count[INTEL_KIND_DOMAIN] == 0 || len == 0 || len > sizeof(buf))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        buf[i] = ascii_lower(c);
    }
    const struct ht_slot *best = NULL;
    size_t best_len = 0;
    uint64_t h = s->seed;
    for (size_t i = len; i-- > 0;) {
        h = (h ^ (uint8_t)buf[i]) * FNV_PRIME;
        if (i > 0 && buf[i - 1] != '.')
            continue;
        size_t n = len - i;
        const struct ht_slot *sl = ht_find(s, str_final(h, INTEL_KIND_DOMAIN, n), INTEL_KIND_DOMAIN,
                                           (const uint8_t *)buf + i, n);
        if (sl != NULL) {
            best = sl;
            best_len = n;
        }
    }
    if (best == NULL)
        return false;
    fill_hit(s, best->ref, hit);
    hit->suffix_len = best_len;
    return true;
}

bool intel_lookup_path(const struct intel_set *s, const char *path, size_t len,
                       struct intel_hit *hit)
{
    return lookup_key(s, INTEL_KIND_PATH, (const uint8_t *)path, len, hit);
}

bool intel_lookup_url(const struct intel_set *s, const char *url, size_t len, struct intel_hit *hit)
{
    char buf[INTEL_MAX_URL + 8];
    if (!s->frozen || (s->count[INTEL_KIND_URL] == 0 && s->count[INTEL_KIND_PATH] == 0))
        return false;
    int n = intel_url_normalize(url, len, buf, sizeof(buf));
    if (n < 0)
        return false;
    if (lookup_key(s, INTEL_KIND_URL, (const uint8_t *)buf, (size_t)n, hit))
        return true;
    const char *path = memchr(buf, '/', (size_t)n);
    if (path == NULL)
        return false;
    const char *q = memchr(path, '?', (size_t)(buf + n - path));
    size_t plen = (size_t)((q ? q : buf + n) - path);
    return intel_lookup_path(s, path, plen, hit);
}

bool intel_lookup_http(const struct intel_set *s, const char *host, size_t host_len,
                       const char *target, size_t target_len, struct intel_hit *hit)
{
    char buf[INTEL_MAX_URL + 8];
    if (target_len > 0 && target[0] != '/')
        return intel_lookup_url(s, target, target_len, hit);
    if (host_len + target_len >= sizeof(buf))
        return false;
    memcpy(buf, host, host_len);
    memcpy(buf + host_len, target, target_len);
    return intel_lookup_url(s, buf, host_len + target_len, hit);
}

bool intel_lookup_hash(const struct intel_set *s, const uint8_t *digest, size_t len,
                       struct intel_hit *hit)
{
    enum intel_kind k = len == 16   ? INTEL_KIND_MD5
                        : len == 20 ? INTEL_KIND_SHA1
                        : len == 32 ? INTEL_KIND_SHA256
                                    : INTEL_KIND_NONE;
    return k != INTEL_KIND_NONE && lookup_key(s, k, digest, len, hit);
}

bool intel_lookup_ja3(const struct intel_set *s, const char *hex, size_t len, struct intel_hit *hit)
{
    uint8_t d[16];
    return len == 32 && intel_hex_decode(hex, 16, d) &&
           lookup_key(s, INTEL_KIND_JA3, d, sizeof(d), hit);
}

bool intel_lookup_ja4(const struct intel_set *s, const char *ja4, size_t len, struct intel_hit *hit)
{
    char buf[512];
    if (len > sizeof(buf))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = ja4[i];
        buf[i] = ascii_lower(c);
    }
    return lookup_key(s, INTEL_KIND_JA4, (const uint8_t *)buf, len, hit);
}

uint64_t intel_set_count(const struct intel_set *s, enum intel_kind kind)
{
    return (unsigned)kind < INTEL_KIND_COUNT ? s->count[kind] : 0;
}

uint64_t intel_set_bytes(const struct intel_set *s)
{
    const void *blocks[] = {s,     s->lists, s->pool, s->off, s->ht,   s->keys, s->s4,
                            s->r4, s->idx4,  s->s6,   s->r6,  s->p4.v, s->p6.v, s->cindex};
    uint64_t total = 0;
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        total += blocks[i] ? xsize(blocks[i]) : 0;
    for (size_t i = 0; i < s->nlists; i++)
        total += xsize(s->lists[i].name) + xsize(s->lists[i].category);
    return total;
}

/* ---- the current set ------------------------------------------------------------------- */

const struct intel_set *intel_slot_get(const struct intel_slot *sl)
{
    return sl->cur;
}

void intel_slot_swap(struct intel_slot *sl, struct intel_set *next)
{
    struct intel_set *old = sl->cur;
    sl->cur = next;
    intel_set_unref(old);
}
