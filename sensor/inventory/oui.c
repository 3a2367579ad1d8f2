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

#define OUI_NAME_MAX 200             /* bytes of an organization's name kept, with its NUL */
#define OUI_FILE_MAX (64L << 20) /* a registry file larger than this is not read */

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
    size_t last, last_len; /* the pool's last name */
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

/* The quoted field at c (after its opening quote) holding "" escapes, unquoted into
 * buf (cut to buflen bytes; *n its length); returns where its closing quote is (e if
 * none). */
static const char *csv_unquote(const char *c, const char *e, char *buf, size_t buflen, size_t *n)
{
    size_t k = 0;
    for (; c < e; c++) {
        if (*c == '"') {
            if (c + 1 >= e || c[1] != '"')
                break; /* the closing quote */
            c++;
        }
        if (k < buflen)
            buf[k++] = *c;
    }
    *n = k;
    return c;
}

/* One CSV field of the line [*p, e): quoted (with "" for a quote) or bare (up to a
 * comma); *p moves past the comma after it. Its text, trailing spaces dropped, is
 * [*s, *s + *n): in place, or, for a quoted field holding "", unquoted into buf (cut to
 * buflen bytes). */
static void csv_field(const char **p, const char *e, char *buf, size_t buflen, const char **s,
                      size_t *n)
{
    const char *c = *p, *q;
    if (c < e && *c == '"') {
        c++;
        q = memchr(c, '"', (size_t)(e - c));
        if (q == NULL)
            q = e;
        *s = c;
        *n = (size_t)(q - c);
        if (q + 1 < e && q[1] == '"') { /* an escaped quote: the slow way */
            q = csv_unquote(c, e, buf, buflen, n);
            *s = buf;
        }
        c = q < e ? q + 1 : e; /* past the closing quote */
        q = memchr(c, ',', (size_t)(e - c));
    } else {
        q = memchr(c, ',', (size_t)(e - c));
        *s = c;
        *n = (size_t)((q != NULL ? q : e) - c);
    }
    while (*n > 0 && (*s)[*n - 1] == ' ')
        (*n)--;
    *p = q != NULL ? q + 1 : e;
}

/* The name (n bytes) into the pool; a repeat of the previous one shares it (the same
 * organization often holds consecutive blocks). */
static int pool_add(struct oui_table *t, const char *s, size_t n, uint32_t *off)
{
    if (t->used > 0 && n == t->last_len && memcmp(t->pool + t->last, s, n) == 0) {
        *off = (uint32_t)t->last;
        return 0;
    }
    if (t->used + n + 1 > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : (size_t)256 * 1024;
        while (nc < t->used + n + 1)
            nc *= 2;
        char *np = xrealloc(MEM_CONF, t->pool, nc);
        if (np == NULL)
            return ERR_NOMEM;
        t->pool = np;
        t->cap = nc;
    }
    memcpy(t->pool + t->used, s, n);
    t->pool[t->used + n] = '\0';
    *off = (uint32_t)t->used;
    t->last = t->used;
    t->last_len = n;
    t->used += n + 1;
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

/* One CSV row [line, e): 0 when it is not a block (header, bad hex, no name), 1 when
 * added, -1 on memory. Fields past the name (the address) are not read. */
static int load_row(struct oui_table *t, const char *line, const char *e)
{
    char buf[OUI_NAME_MAX];
    const char *p = line, *reg, *hex, *name;
    size_t rl, hl, nl;
    csv_field(&p, e, buf, sizeof(buf), &reg, &rl);
    csv_field(&p, e, buf, sizeof(buf), &hex, &hl);
    uint64_t v = 0;
    for (size_t i = 0; i < hl; i++) {
        int h = ascii_hexval((unsigned char)hex[i]);
        if (h < 0)
            return 0;
        v = v * 16 + (uint64_t)h;
    }
    int k = hl == 9 ? 0 : hl == 7 ? 1 : hl == 6 ? 2 : -1;
    csv_field(&p, e, buf, sizeof(buf), &name, &nl);
    if (k < 0 || nl == 0)
        return 0;
    if (nl > OUI_NAME_MAX - 1)
        nl = OUI_NAME_MAX - 1;
    uint32_t off;
    if (pool_add(t, name, nl, &off) != 0 || arr_add(&t->len[k], v, off) != 0)
        return -1;
    return 1;
}

long oui_add_csv(struct oui_table *t, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    long rows = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl != NULL ? nl : end;
        const char *le = e > p && e[-1] == '\r' ? e - 1 : e;
        int r = load_row(t, p, le);
        if (r < 0)
            return -1;
        rows += r;
        p = e < end ? e + 1 : end;
    }
    return rows;
}

/* Loads one CSV file, read whole; returns the rows read (0 for a file that is missing
 * or does not read), or -1 on memory. */
static long load_file(struct oui_table *t, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    long rows = 0;
    char *buf = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size > 0 && size <= OUI_FILE_MAX && fseek(f, 0, SEEK_SET) == 0) {
        buf = xalloc(MEM_CONF, (size_t)size);
        if (buf == NULL)
            rows = -1;
        else if (fread(buf, 1, (size_t)size, f) == (size_t)size)
            rows = oui_add_csv(t, buf, (size_t)size);
    }
    xfree(buf);
    fclose(f);
    return rows;
}

struct oui_table *oui_new(void)
{
    return xcalloc(MEM_CONF, 1, sizeof(struct oui_table));
}

void oui_finish(struct oui_table *t)
{
    for (int k = 0; k < 3; k++)
        flag_sort(t->len[k].e, t->len[k].n, (int)oui_bits[k] - 8);
}

struct oui_table *oui_load(const char *dir, char *err, size_t errlen)
{
    static const char *const files[] = {"oui.csv", "mam.csv", "oui36.csv", "iab.csv"};
    struct oui_table *t = oui_new();
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
    oui_finish(t);
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
