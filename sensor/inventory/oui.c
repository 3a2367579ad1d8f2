/*
 * The IEEE registry of MAC address blocks (Debian's ieee-data: oui.csv MA-L 24 bits,
 * mam.csv MA-M 28 bits, oui36.csv MA-S and iab.csv IAB 36 bits), loaded once into
 * three sorted arrays of (prefix, name offset) and a string pool; a lookup tries the
 * 36-, 28- then 24-bit prefix by binary search.
 */
#include "inventory/inventory.h"

#include "otasuke/ascii.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUI_LINE_MAX 1024

struct oui_ent {
    uint64_t prefix;
    uint32_t name;
};

struct oui_arr {
    struct oui_ent *e;
    size_t n, cap;
};

struct oui_table {
    struct oui_arr len[3]; /* 36, 28, 24 bits */
    char *pool;
    size_t used, cap;
};

static const unsigned oui_bits[3] = {36, 28, 24};

bool mac_is_random(const uint8_t mac[6])
{
    return (mac[0] & 0x02) != 0 && (mac[0] & 0x01) == 0;
}

bool mac_parse(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int h = ascii_hexval((unsigned char)s[0]);
        int l = h < 0 ? -1 : ascii_hexval((unsigned char)s[1]);
        if (h < 0 || l < 0)
            return false;
        mac[i] = (uint8_t)(h * 16 + l);
        s += 2;
        if (i < 5) {
            if (*s != ':' && *s != '-')
                return false;
            s++;
        }
    }
    return *s == '\0';
}

/* One CSV field starting at *p (quoted with "" escapes, or bare) copied into out;
 * *p moves past the following comma. */
static void csv_field(const char **p, char *out, size_t outlen)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '"') {
        s++;
        while (*s != '\0') {
            if (*s == '"') {
                if (s[1] == '"') {
                    s++;
                } else {
                    s++;
                    break;
                }
            }
            if (n + 1 < outlen)
                out[n++] = *s;
            s++;
        }
    } else {
        while (*s != '\0' && *s != ',' && *s != '\n' && *s != '\r') {
            if (n + 1 < outlen)
                out[n++] = *s;
            s++;
        }
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    if (*s == ',')
        s++;
    *p = s;
}

static int pool_add(struct oui_table *t, const char *s, uint32_t *off)
{
    size_t n = strlen(s) + 1;
    /* the same organization often holds consecutive blocks: share the last string */
    if (t->used > 0) {
        size_t last = t->used - 1;
        while (last > 0 && t->pool[last - 1] != '\0')
            last--;
        if (strcmp(t->pool + last, s) == 0) {
            *off = (uint32_t)last;
            return 0;
        }
    }
    if (t->used + n > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : (size_t)256 * 1024;
        while (nc < t->used + n)
            nc *= 2;
        char *np = xrealloc(MEM_CONF, t->pool, nc);
        if (np == NULL)
            return ERR_NOMEM;
        t->pool = np;
        t->cap = nc;
    }
    memcpy(t->pool + t->used, s, n);
    *off = (uint32_t)t->used;
    t->used += n;
    return 0;
}

static int arr_add(struct oui_arr *a, uint64_t prefix, uint32_t name)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 1024;
        struct oui_ent *ne = xrealloc(MEM_CONF, a->e, nc * sizeof(*ne));
        if (ne == NULL)
            return ERR_NOMEM;
        a->e = ne;
        a->cap = nc;
    }
    a->e[a->n].prefix = prefix;
    a->e[a->n].name = name;
    a->n++;
    return 0;
}

/* Entry order: by prefix, then by the name's pool offset. The offsets grow with the
 * row order (a repeated name shares the previous offset), so this order is the one a
 * stable sort by prefix alone gives, whatever the sort. */
static bool ent_less(const struct oui_ent *x, const struct oui_ent *y)
{
    return x->prefix < y->prefix || (x->prefix == y->prefix && x->name < y->name);
}

static void ins_sort(struct oui_ent *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct oui_ent v = e[i];
        size_t j = i;
        for (; j > 0 && ent_less(&v, &e[j - 1]); j--)
            e[j] = e[j - 1];
        e[j] = v;
    }
}

/* Sorts e[0..n) in place (no memory: the load's figures stay as they were): entries
 * are moved into buckets by the prefix byte at bit sh (American flag sort), each
 * bucket then by the next byte, small ones by insertion. qsort's comparison calls were
 * 40% of the registry's load. */
static void flag_sort(struct oui_ent *e, size_t n, int sh)
{
    if (n <= 32 || sh < 0) {
        ins_sort(e, n);
        return;
    }
    size_t start[257] = {0}, next[256];
    for (size_t i = 0; i < n; i++)
        start[((e[i].prefix >> sh) & 0xff) + 1]++;
    for (unsigned b = 0; b < 256; b++)
        start[b + 1] += start[b];
    memcpy(next, start, sizeof(next));
    for (unsigned b = 0; b < 256; b++)
        while (next[b] < start[b + 1]) {
            struct oui_ent v = e[next[b]];
            unsigned d = (unsigned)(v.prefix >> sh) & 0xff;
            while (d != b) { /* v goes to its bucket; what was there is placed next */
                struct oui_ent t = e[next[d]];
                e[next[d]++] = v;
                v = t;
                d = (unsigned)(v.prefix >> sh) & 0xff;
            }
            e[next[b]++] = v;
        }
    for (unsigned b = 0; b < 256; b++)
        flag_sort(e + start[b], start[b + 1] - start[b], sh - 8);
}

/* One CSV row: 0 when it is not a block (header, bad hex), 1 when added, -1 on memory. */
static int load_row(struct oui_table *t, const char *line)
{
    char reg[16], hex[16], name[200];
    const char *p = line;
    csv_field(&p, reg, sizeof(reg));
    csv_field(&p, hex, sizeof(hex));
    csv_field(&p, name, sizeof(name));
    size_t hl = strlen(hex);
    int k = hl == 9 ? 0 : hl == 7 ? 1 : hl == 6 ? 2 : -1;
    if (k < 0 || name[0] == '\0')
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < hl; i++) {
        int h = ascii_hexval((unsigned char)hex[i]);
        if (h < 0)
            return 0;
        v = v * 16 + (uint64_t)h;
    }
    uint32_t off;
    if (pool_add(t, name, &off) != 0 || arr_add(&t->len[k], v, off) != 0)
        return -1;
    return 1;
}

/* Loads one CSV file; returns the rows read, or -1 on memory. */
static long load_file(struct oui_table *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[OUI_LINE_MAX];
    long rows = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        int r = load_row(t, line);
        if (r < 0) {
            fclose(f);
            return -1;
        }
        rows += r;
    }
    fclose(f);
    return rows;
}

struct oui_table *oui_load(const char *dir, char *err, size_t errlen)
{
    static const char *const files[] = {"oui.csv", "mam.csv", "oui36.csv", "iab.csv"};
    struct oui_table *t = xcalloc(MEM_CONF, 1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "out of memory for the OUI registry");
        return NULL;
    }
    long total = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        long r = load_file(t, path);
        if (r < 0) {
            snprintf(err, errlen, "out of memory for the OUI registry");
            oui_free(t);
            return NULL;
        }
        total += r;
    }
    if (total == 0) {
        snprintf(err, errlen, "%s: no IEEE registry file (oui.csv; Debian package ieee-data)",
                 dir);
        oui_free(t);
        return NULL;
    }
    for (int k = 0; k < 3; k++)
        flag_sort(t->len[k].e, t->len[k].n, (int)oui_bits[k] - 8);
    return t;
}

void oui_free(struct oui_table *t)
{
    if (t == NULL)
        return;
    for (int k = 0; k < 3; k++)
        xfree(t->len[k].e);
    xfree(t->pool);
    xfree(t);
}

const char *oui_lookup(const struct oui_table *t, const uint8_t mac[6])
{
    if (t == NULL || mac_is_random(mac))
        return NULL;
    uint64_t m = 0;
    for (int i = 0; i < 6; i++)
        m = (m << 8) | mac[i];
    for (int k = 0; k < 3; k++) {
        const struct oui_arr *a = &t->len[k];
        uint64_t key = m >> (48 - oui_bits[k]);
        size_t lo = 0, hi = a->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (a->e[mid].prefix < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < a->n && a->e[lo].prefix == key)
            return t->pool + a->e[lo].name;
    }
    return NULL;
}

size_t oui_count(const struct oui_table *t)
{
    return t ? t->len[0].n + t->len[1].n + t->len[2].n : 0;
}

size_t oui_memory(const struct oui_table *t)
{
    return t ? t->cap + (t->len[0].cap + t->len[1].cap + t->len[2].cap) * sizeof(struct oui_ent)
             : 0;
}
