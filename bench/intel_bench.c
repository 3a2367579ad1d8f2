/*
 * Benchmark of the indicator sets (lib/intel): builds one million indicators of each of
 * three kinds (IPv4 addresses, domains, sha256 hashes), synthesised deterministically
 * (xorshift, fixed seed) and given to the plain-list loader as text, then measures
 *   - load time (parse + insert + freeze) and the MEM_INTEL bytes per indicator;
 *   - ns per lookup for hits and for misses;
 *   - the same lookups against a baseline in the same run: a plain sorted array of the
 *     same keys with bsearch (exact match only; domains probe every parent suffix), and
 *     its bytes per indicator.
 * Times are process CPU time (CLOCK_PROCESS_CPUTIME_ID), so that a busy shared machine
 * inflates them less than wall time would; caches are still shared.
 * Usage: intel_bench [count]   (default 1000000). Prints one line per figure.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otasuke/alloc.h"
#include "otasuke/intel.h"

#define QUERIES 1000000

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine may be shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *must(void *p)
{
    if (p == NULL)
        abort();
    return p;
}

/* A text buffer that grows (benchmark scaffolding, plain malloc). */
struct text {
    char *p;
    size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = must(realloc(t->p, t->cap));
    }
    char *dst = must(t->p);
    memcpy(dst + t->len, s, n);
    t->len += n;
}

static struct intel_set *load_text(const struct text *t, double *secs, uint64_t *bytes)
{
    struct intel_list_conf c = {.name = "bench", .format = INTEL_FMT_PLAIN};
    struct intel_load_stats st = {0};
    double t0 = now();
    struct intel_set *s = intel_set_new();
    if (s == NULL || intel_set_add_list(s, "bench", "c2", 1) != 0 ||
        intel_set_load_buf(s, 0, &c, "bench", (const uint8_t *)t->p, t->len, &st) != 0 ||
        intel_set_freeze(s) != 0)
        abort();
    *secs = now() - t0;
    *bytes = intel_set_bytes(s);
    if (st.rejected != 0)
        fprintf(stderr, "bench: %llu rejected (%s)\n", (unsigned long long)st.rejected,
                st.first_error);
    return s;
}

static void report(const char *what, size_t n, double secs, uint64_t bytes, uint64_t base_bytes)
{
    printf("%-8s load %zu in %.3f s (%.0f k/s), %.1f bytes/indicator (baseline %.1f)\n", what, n,
           secs, (double)n / secs / 1e3, (double)bytes / (double)n, (double)base_bytes / (double)n);
}

static void lookups(const char *what, const char *kind, double ns, double base_ns, size_t hits)
{
    printf("%-8s %-4s %6.1f ns/lookup, baseline %6.1f ns (ratio %.2f), %zu hits\n", what, kind, ns,
           base_ns, ns / base_ns, hits);
}

/* ---- IPv4 ----------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static size_t ip_queries(const struct intel_set *s, const uint32_t *q, size_t nq, double *ns)
{
    struct intel_hit h;
    size_t hits = 0;
    double t0 = now();
    for (size_t i = 0; i < nq; i++)
        hits += intel_lookup_ip4(s, q[i], &h);
    *ns = (now() - t0) * 1e9 / (double)nq;
    return hits;
}

static size_t ip_base(const uint32_t *sorted, size_t n, const uint32_t *q, size_t nq, double *ns)
{
    size_t hits = 0;
    double t0 = now();
    for (size_t i = 0; i < nq; i++)
        hits += bsearch(&q[i], sorted, n, sizeof(uint32_t), cmp_u32) != NULL;
    *ns = (now() - t0) * 1e9 / (double)nq;
    return hits;
}

static void bench_ip(size_t n)
{
    struct text t = {0};
    uint32_t *keys = must(malloc(n * sizeof(uint32_t)));
    uint32_t *q = must(malloc(QUERIES * sizeof(uint32_t)));
    char line[32];
    for (size_t i = 0; i < n; i++) {
        keys[i] = (uint32_t)next();
        int l = snprintf(line, sizeof(line), "%u.%u.%u.%u\n", keys[i] >> 24, keys[i] >> 16 & 255,
                         keys[i] >> 8 & 255, keys[i] & 255);
        put(&t, line, (size_t)l);
    }
    double secs, ns, bns;
    uint64_t bytes;
    struct intel_set *s = load_text(&t, &secs, &bytes);
    qsort(keys, n, sizeof(uint32_t), cmp_u32);
    report("ipv4", n, secs, bytes, n * sizeof(uint32_t));
    for (size_t i = 0; i < QUERIES; i++)
        q[i] = keys[next() % n];
    size_t hits = ip_queries(s, q, QUERIES, &ns);
    ip_base(keys, n, q, QUERIES, &bns);
    lookups("ipv4", "hit", ns, bns, hits);
    for (size_t i = 0; i < QUERIES; i++)
        q[i] = (uint32_t)next();
    hits = ip_queries(s, q, QUERIES, &ns);
    ip_base(keys, n, q, QUERIES, &bns);
    lookups("ipv4", "miss", ns, bns, hits);
    intel_set_unref(s);
    free(keys);
    free(q);
    free(t.p);
}

/* ---- domains -------------------------------------------------------------------------- */

static const char *const tlds[] = {"com", "net",  "org",   "ru",          "xyz",
                                   "top", "info", "co.uk", "duckdns.org", "pages.dev"};

static size_t make_domain(char *out, size_t cap)
{
    size_t len = 6 + next() % 10, o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++)
        out[o++] = (char)('a' + next() % 26);
    return o + (size_t)snprintf(out + o, cap - o, ".%s", tlds[next() % 10]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Baseline: every parent suffix of the name, bsearch in the sorted array. */
static bool dom_base_one(char *const *sorted, size_t n, const char *name)
{
    for (const char *p = name; p != NULL;) {
        if (bsearch(&p, sorted, n, sizeof(char *), cmp_str) != NULL)
            return true;
        p = strchr(p, '.');
        p = p ? p + 1 : NULL;
    }
    return false;
}

static void dom_run(const struct intel_set *s, char *const *sorted, size_t n, char **q,
                    const char *kind)
{
    struct intel_hit h;
    size_t hits = 0, bhits = 0;
    double t0 = now();
    for (size_t i = 0; i < QUERIES; i++)
        hits += intel_lookup_domain(s, q[i], strlen(q[i]), &h);
    double ns = (now() - t0) * 1e9 / QUERIES;
    t0 = now();
    for (size_t i = 0; i < QUERIES; i++)
        bhits += dom_base_one(sorted, n, q[i]);
    double bns = (now() - t0) * 1e9 / QUERIES;
    if (hits != bhits)
        fprintf(stderr, "bench: domain hits differ: %zu vs baseline %zu\n", hits, bhits);
    lookups("domain", kind, ns, bns, hits);
}

static void bench_domain(size_t n)
{
    struct text t = {0};
    char **keys = must(malloc(n * sizeof(char *)));
    char **q = must(malloc(QUERIES * sizeof(char *)));
    char buf[300];
    uint64_t base_bytes = n * sizeof(char *);
    for (size_t i = 0; i < n; i++) {
        size_t l = make_domain(buf, sizeof(buf));
        keys[i] = must(strndup(buf, l));
        base_bytes += l + 1;
        buf[l] = '\n';
        put(&t, buf, l + 1);
    }
    double secs;
    uint64_t bytes;
    struct intel_set *s = load_text(&t, &secs, &bytes);
    report("domain", n, secs, bytes, base_bytes);
    for (size_t i = 0; i < QUERIES; i++) { /* hits: "www." + a listed name (two probes) */
        snprintf(buf, sizeof(buf), "www.%s", keys[next() % n]);
        q[i] = must(strdup(buf));
    }
    char **sorted = must(malloc(n * sizeof(char *)));
    memcpy(sorted, keys, n * sizeof(char *));
    qsort(sorted, n, sizeof(char *), cmp_str);
    dom_run(s, sorted, n, q, "hit");
    for (size_t i = 0; i < QUERIES; i++) { /* misses: a fresh random name with a subdomain */
        free(q[i]);
        char name[300];
        size_t l = make_domain(name, sizeof(name));
        snprintf(buf, sizeof(buf), "img.%.*s", (int)l, name);
        q[i] = must(strdup(buf));
    }
    dom_run(s, sorted, n, q, "miss");
    for (size_t i = 0; i < QUERIES; i++)
        free(q[i]);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    intel_set_unref(s);
    free(sorted);
    free(keys);
    free(q);
    free(t.p);
}

/* ---- sha256 --------------------------------------------------------------------------- */

static int cmp_h32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void hash_run(const struct intel_set *s, const uint8_t *sorted, size_t n, const uint8_t *q,
                     const char *kind)
{
    struct intel_hit h;
    size_t hits = 0;
    double t0 = now();
    for (size_t i = 0; i < QUERIES; i++)
        hits += intel_lookup_hash(s, q + 32 * i, 32, &h);
    double ns = (now() - t0) * 1e9 / QUERIES;
    t0 = now();
    for (size_t i = 0; i < QUERIES; i++)
        (void)!bsearch(q + 32 * i, sorted, n, 32, cmp_h32);
    double bns = (now() - t0) * 1e9 / QUERIES;
    lookups("sha256", kind, ns, bns, hits);
}

static void bench_hash(size_t n)
{
    struct text t = {0};
    uint8_t *keys = must(calloc(n, 32));
    uint8_t *q = must(malloc((size_t)QUERIES * 32));
    char line[80];
    for (size_t i = 0; i < n * 4; i++) {
        uint64_t v = next();
        memcpy(keys + 8 * i, &v, 8);
    }
    for (size_t i = 0; i < n; i++) {
        static const char hex[] = "0123456789abcdef";
        for (size_t j = 0; j < 32; j++) {
            line[2 * j] = hex[keys[32 * i + j] >> 4];
            line[2 * j + 1] = hex[keys[32 * i + j] & 15];
        }
        line[64] = '\n';
        put(&t, line, 65);
    }
    double secs;
    uint64_t bytes;
    struct intel_set *s = load_text(&t, &secs, &bytes);
    report("sha256", n, secs, bytes, n * 32);
    qsort(keys, n, 32, cmp_h32);
    for (size_t i = 0; i < QUERIES; i++)
        memcpy(q + 32 * i, keys + 32 * (next() % n), 32);
    hash_run(s, keys, n, q, "hit");
    for (size_t i = 0; i < (size_t)QUERIES * 4; i++) {
        uint64_t v = next();
        memcpy(q + 8 * i, &v, 8);
    }
    hash_run(s, keys, n, q, "miss");
    intel_set_unref(s);
    free(keys);
    free(q);
    free(t.p);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (n == 0)
        n = 1000000;
    bench_ip(n);
    bench_domain(n);
    bench_hash(n);
    struct mem_stat ms;
    mem_get(MEM_INTEL, &ms);
    printf("MEM_INTEL peak %.1f MiB over the run (one set at a time; load peak included)\n",
           (double)ms.peak / 1048576.0);
    return 0;
}
