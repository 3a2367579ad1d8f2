/*
 * Shared body of the intel loader harnesses (intel_plain.c, intel_csv.c,
 * intel_suricata.c). The first two bytes of the input choose the loader options within
 * the harness's format family (format, indicator type, CSV column and delimiter, header,
 * dataset type); the rest is the list text. The text is loaded into two lists of one set
 * from an exact-size heap copy (so ASan sees over-reads), the set is frozen, and lookups
 * are made with pieces of the input (every line as domain, URL, JA3, JA4 and path; the
 * first bytes as IPv4/IPv6 addresses and digests). Invariants checked: the counters add
 * up (loaded + rejected + skipped <= lines), a loaded domain line is found again, and no
 * MEM_INTEL byte is left once the set is dropped.
 */
#ifndef OTASUKE_FUZZ_INTEL_H
#define OTASUKE_FUZZ_INTEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otasuke/alloc.h"
#include "otasuke/intel.h"
#include "otasuke/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_lookups(const struct intel_set *s, const uint8_t *p, size_t n)
{
    struct intel_hit h;
    uint8_t a[32] = {0};
    memcpy(a, p, n < sizeof(a) ? n : sizeof(a));
    uint32_t v4 = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    (void)intel_lookup_ip4(s, v4, &h);
    (void)intel_lookup_ip6(s, a, &h);
    (void)intel_lookup_endpoint(s, a, 4, (uint16_t)(a[4] << 8 | a[5]), &h);
    (void)intel_lookup_hash(s, a, 16, &h);
    (void)intel_lookup_hash(s, a, 20, &h);
    (void)intel_lookup_hash(s, a, 32, &h);
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '\n')
            continue;
        const char *l = (const char *)p + start;
        size_t len = i - start;
        bool hit = intel_lookup_domain(s, l, len, &h);
        if (hit && (h.n == 0 || h.n > intel_set_list_count(s) || h.suffix_len > len))
            abort();
        if (intel_lookup_url(s, l, len, &h) && h.n == 0)
            abort();
        (void)intel_lookup_http(s, l, len / 2, l + len / 2, len - len / 2, &h);
        (void)intel_lookup_ja3(s, l, len, &h);
        (void)intel_lookup_ja4(s, l, len, &h);
        (void)intel_lookup_path(s, l, len, &h);
        char norm[INTEL_MAX_URL + 8];
        int nl = intel_url_normalize(l, len, norm, sizeof(norm));
        if (nl >= (int)sizeof(norm))
            abort();
        start = i + 1;
    }
}

static void fuzz_conf(struct intel_list_conf *c, uint8_t b0, uint8_t b1,
                      const enum intel_format *fmts, size_t nfmts)
{
    static const char delims[] = {',', ';', '\t', '|'};
    memset(c, 0, sizeof(*c));
    c->name = "fuzz";
    c->format = fmts[b0 % nfmts];
    c->type = (enum intel_type)((b0 >> 3) % 10);
    c->header = (b0 & 0x80) != 0;
    c->column = b1 % 6;
    c->delimiter = delims[(b1 >> 3) & 3];
    c->dataset_type = (enum intel_dataset_type)((b1 >> 5) % 5);
    c->min_score = b1 & 7;
}

static int fuzz_intel(const uint8_t *data, size_t size, const enum intel_format *fmts, size_t nfmts)
{
    if (size < 2)
        return 0;
    log_set_level(LOG_ERROR);
    struct intel_list_conf c;
    fuzz_conf(&c, data[0], data[1], fmts, nfmts);
    size_t n = size - 2;
    uint8_t *copy = malloc(n ? n : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 2, n);
    struct intel_set *s = intel_set_new();
    struct intel_load_stats st[2];
    memset(st, 0, sizeof(st));
    if (s != NULL && intel_set_add_list(s, "a", "c2", 1) == 0 &&
        intel_set_add_list(s, "b", "phishing", 3) == 1 &&
        intel_set_load_buf(s, 0, &c, "fuzz", copy, n, &st[0]) == 0 &&
        intel_set_load_buf(s, 1, &c, "fuzz", copy, n / 2, &st[1]) == 0 &&
        intel_set_freeze(s) == 0) {
        for (int i = 0; i < 2; i++)
            if (st[i].loaded + st[i].rejected + st[i].skipped > st[i].lines)
                abort();
        fuzz_lookups(s, copy, n);
    }
    intel_set_unref(s);
    free(copy);
    struct mem_stat ms;
    mem_get(MEM_INTEL, &ms);
    if (ms.in_use != 0)
        abort();
    return 0;
}

#endif
