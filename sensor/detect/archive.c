/*
 * A look inside archives with libarchive (archive.h): each entry's name is checked,
 * then (unless encrypted) its first bytes; an entry that is itself an archive is read
 * into memory (bounded) and looked into one level deeper. The walk stops at the first
 * executable member, or at the first limit reached; the result says which.
 *
 * Only compression filters that Debian's libarchive has built in are enabled (gzip,
 * bzip2, xz, lzma, zstd, compress): filter_all would also register filters that run
 * external programs (lrzip, lzop, grzip), which a sensor must never start.
 */
#include "detect/archive.h"

#include "otasuke/alloc.h"

#include <archive.h>
#include <archive_entry.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ARC_UNNAMED "(unnamed)" /* a member whose name is empty */
#define ARC_HEAD 512             /* first bytes of a member read for its magic */
#define ARC_BOMB_FLOOR (1u << 20) /* the ratio counts once this much is declared/read */

/* ---- names and magic ------------------------------------------------------------- */

static const char *const exe_ext[] = {"exe", "scr", "com", "pif", "bat", "cmd", "vbs", "vbe",
                                      "js",  "jse", "wsf", "wsh", "hta", "lnk", "ps1", "msi",
                                      "jar", "cpl", "dll", "iso", "img", NULL};

static bool ext_is(const char *ext, size_t n, const char *const *list)
{
    for (int i = 0; list[i] != NULL; i++)
        if (strlen(list[i]) == n && strncasecmp(ext, list[i], n) == 0)
            return true;
    return false;
}

/* The last extension of name[0..n) (after the last dot, not past a '/'), or NULL. */
static const char *last_ext(const char *name, size_t n, size_t *len)
{
    for (size_t i = n; i > 0; i--) {
        if (name[i - 1] == '/' || name[i - 1] == '\\')
            return NULL;
        if (name[i - 1] == '.') {
            *len = n - i;
            return name + i;
        }
    }
    return NULL;
}

bool arc_exe_name(const char *name, size_t n)
{
    size_t l = 0;
    const char *e = last_ext(name, n, &l);
    return e != NULL && ext_is(e, l, exe_ext);
}

bool arc_exe_magic(const uint8_t *p, size_t n, const char *name)
{
    static const uint8_t lnk[8] = {0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0};
    if (n >= 2 && p[0] == 'M' && p[1] == 'Z')
        return true;
    if (n >= 8 && memcmp(p, lnk, 8) == 0)
        return true;
    if (n >= 4 && memcmp(p, "\177ELF", 4) == 0) /* shared libraries ride in APKs, JARs */
        return name == NULL || strstr(name, ".so") == NULL;
    return false;
}

static bool starts(const uint8_t *p, size_t n, size_t at, const char *m, size_t ml)
{
    return n >= at + ml && memcmp(p + at, m, ml) == 0;
}

/* A compressed stream (no archive format of its own needed). */
static bool is_compressed(const uint8_t *p, size_t n)
{
    return starts(p, n, 0, "\037\213", 2) || starts(p, n, 0, "BZh", 3) ||
           starts(p, n, 0, "\375" "7zXZ\000", 6) || starts(p, n, 0, "\050\265\057\375", 4) ||
           starts(p, n, 0, "\037\235", 2);
}

bool arc_is_archive(const uint8_t *p, size_t n)
{
    return starts(p, n, 0, "PK\003\004", 4) || starts(p, n, 0, "PK\005\006", 4) ||
           starts(p, n, 0, "PK\007\010", 4) || starts(p, n, 0, "7z\274\257\047\034", 6) ||
           starts(p, n, 0, "Rar!\032\007", 6) || starts(p, n, 0, "MSCF\000\000\000\000", 8) ||
           (starts(p, n, 2, "-lh", 3) && starts(p, n, 6, "-", 1)) ||
           starts(p, n, 257, "ustar", 5) || starts(p, n, 0, "07070", 5) ||
           is_compressed(p, n);
}

/* ---- the walk ------------------------------------------------------------------- */

struct walk {
    const struct arc_limits *lim;
    struct arc_result *r;
    bool stop;
};

static struct archive *open_mem(const uint8_t *p, size_t n, bool raw)
{
    struct archive *a = archive_read_new();
    if (a == NULL)
        return NULL;
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_compress(a);
    if (raw)
        archive_read_support_format_raw(a);
    else
        archive_read_support_format_all(a);
    if (archive_read_open_memory(a, p, n) != ARCHIVE_OK) {
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Reads up to cap bytes of the current entry into buf, counted against the byte
 * budget; the count read (0 at the entry's end or an error). */
static size_t read_data(struct walk *w, struct archive *a, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        uint64_t left = w->lim->max_bytes - w->r->bytes;
        if (left == 0) {
            w->r->cap_bytes = true;
            w->stop = true;
            break;
        }
        size_t want = cap - got < left ? cap - got : (size_t)left;
        la_ssize_t k = archive_read_data(a, buf + got, want);
        if (k <= 0) {
            if (k < 0)
                w->r->error = true;
            break;
        }
        got += (size_t)k;
        w->r->bytes += (uint64_t)k;
    }
    return got;
}

static void path_join(char *out, size_t cap, const char *prefix, const char *name)
{
    snprintf(out, cap, "%s%s%s", prefix, prefix[0] ? "/" : "", name);
}

static void found(struct walk *w, const char *prefix, const char *name, unsigned depth,
                  enum arc_why why, bool enc)
{
    struct arc_result *r = w->r;
    r->exe = true;
    r->exe_encrypted = enc;
    r->why = (uint8_t)why;
    r->depth = depth;
    path_join(r->member, sizeof(r->member), prefix, name);
    w->stop = true;
}

static void walk(struct walk *w, const uint8_t *p, size_t n, unsigned depth, const char *prefix,
                 const char *raw_name);

/* The rest of a nested archive whose first bytes are head[0..hn): read into memory
 * (at most max_nested) and walked one level deeper. */
static void nested(struct walk *w, struct archive *a, const uint8_t *head, size_t hn,
                   unsigned depth, const char *path, const char *name)
{
    size_t cap = w->lim->max_nested;
    uint8_t *buf = cap > hn ? xalloc(MEM_APP, cap) : NULL;
    if (buf == NULL) {
        walk(w, head, hn, depth + 1, path, name); /* what there is */
        return;
    }
    memcpy(buf, head, hn);
    size_t len = hn + read_data(w, a, buf + hn, cap - hn);
    bool stopped = w->stop;
    w->stop = false;
    walk(w, buf, len, depth + 1, path, name);
    w->stop |= stopped;
    xfree(buf);
}

static const char *entry_name(struct archive_entry *e)
{
    const char *s = archive_entry_pathname_utf8(e);
    if (s == NULL)
        s = archive_entry_pathname(e);
    return s != NULL ? s : "";
}

/* One entry (its header just read): by name, then by its first bytes. */
static void entry(struct walk *w, struct archive *a, struct archive_entry *e, size_t n,
                  unsigned depth, const char *prefix, const char *raw_name)
{
    struct arc_result *r = w->r;
    const char *name = raw_name != NULL ? raw_name : entry_name(e);
    if (name[0] == '\0')
        name = ARC_UNNAMED; /* an alert must still say which member */
    if (archive_entry_filetype(e) != AE_IFREG)
        return;
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
        r->declared += (uint64_t)archive_entry_size(e);
    if (w->lim->max_ratio > 0 && r->declared > ARC_BOMB_FLOOR &&
        r->declared / w->lim->max_ratio > n) {
        r->bomb = true;
        w->stop = true;
        return;
    }
    bool enc = archive_entry_is_encrypted(e) != 0;
    r->encrypted |= enc;
    if (arc_exe_name(name, strlen(name))) {
        found(w, prefix, name, depth, ARC_WHY_NAME, enc);
        return;
    }
    if (enc)
        return;
    uint8_t head[ARC_HEAD];
    size_t hn = read_data(w, a, head, sizeof(head));
    if (arc_exe_magic(head, hn, name)) {
        found(w, prefix, name, depth, ARC_WHY_MAGIC, false);
        return;
    }
    if (!arc_is_archive(head, hn) || w->stop)
        return;
    if (depth >= w->lim->max_depth) {
        r->cap_depth = true;
        return;
    }
    char path[ARC_NAME_MAX];
    path_join(path, sizeof(path), prefix, name);
    nested(w, a, head, hn, depth, path, name);
}

/* "x.exe.gz" → "x.exe" into out (a bare compressed stream's member). */
static const char *strip_compressor(const char *name, char *out, size_t cap)
{
    static const char *const comp[] = {"gz", "bz2", "xz", "zst", "z", "lzma", NULL};
    size_t n = strlen(name), l = 0;
    const char *e = last_ext(name, n, &l);
    if (e == NULL || !ext_is(e, l, comp))
        return "data";
    snprintf(out, cap, "%.*s", (int)(e - 1 - name), name);
    return out;
}

/* One pass over the entries of p[0..n) as archive (raw false) or as one bare stream
 * (raw true); true when at least one entry was read. */
static bool walk_once(struct walk *w, const uint8_t *p, size_t n, unsigned depth,
                      const char *prefix, const char *raw_name, bool raw)
{
    struct arc_result *r = w->r;
    char stripped[ARC_NAME_MAX];
    const char *member = raw ? strip_compressor(raw_name ? raw_name : "", stripped,
                                                sizeof(stripped))
                             : NULL;
    struct archive *a = open_mem(p, n, raw);
    if (a == NULL)
        return false;
    struct archive_entry *e;
    int rc = archive_read_next_header(a, &e);
    bool any = false;
    while ((rc == ARCHIVE_OK || rc == ARCHIVE_WARN) && !w->stop) {
        if (r->members >= w->lim->max_members) {
            r->cap_members = true;
            w->stop = true;
            break;
        }
        r->members++;
        if (!r->opened)
            snprintf(r->format, sizeof(r->format), "%s", archive_format_name(a));
        r->opened = any = true;
        entry(w, a, e, n, depth, prefix, member);
        rc = archive_read_next_header(a, &e);
    }
    if (archive_read_has_encrypted_entries(a) > 0)
        r->encrypted = true;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN && rc != ARCHIVE_EOF && (any || raw))
        r->error = true;
    archive_read_free(a);
    return any;
}

static void walk(struct walk *w, const uint8_t *p, size_t n, unsigned depth, const char *prefix,
                 const char *raw_name)
{
    /* a bare compressed stream is no archive format: once more as one raw member */
    if (!walk_once(w, p, n, depth, prefix, raw_name, false) && !w->stop && is_compressed(p, n))
        walk_once(w, p, n, depth, prefix, raw_name, true);
}

void arc_inspect(const uint8_t *p, size_t n, const char *outer_name, const struct arc_limits *lim,
                 struct arc_result *out)
{
    memset(out, 0, sizeof(*out));
    struct walk w = {lim, out, false};
    if (n == 0 || lim->max_depth == 0)
        return;
    walk(&w, p, n, 1, "", outer_name);
}
