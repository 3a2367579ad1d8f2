/*
 * Files carried by application protocols: hashing, type by content, fileinfo.
 */
#include "app/files.h"

#include "otasuke/alloc.h"
#include "otasuke/dmcache.h"
#include "otasuke/jw.h"
#include "otasuke/log.h"

#include <magic.h>
#include <stdio.h>
#include <string.h>

/* Per thread (libmagic handles are not thread-safe): each pipeline worker thread
 * (capture.workers) calls files_magic_init and files_magic_free itself. */
static _Thread_local magic_t g_magic;      /* description ("PE32 executable ...") */
static _Thread_local magic_t g_magic_mime; /* MIME type ("application/vnd.microsoft.portable-executable") */
static _Thread_local bool g_magic_tried;

/* Digests computed per file (app.files.hashes): sha256 always (the detections and
 * intel match on it), md5 and sha1 as configured. Each costs a pass over every file
 * byte (md5 ~0.6 GB/s, sha1/sha256 ~1.5 GB/s with SHA-NI on the bench machine). */
static unsigned g_hashes = FILE_HASH_MD5 | FILE_HASH_SHA256;

static const unsigned hash_sets[] = {
    FILE_HASH_MD5 | FILE_HASH_SHA256,
    FILE_HASH_MD5 | FILE_HASH_SHA1 | FILE_HASH_SHA256,
    FILE_HASH_SHA1 | FILE_HASH_SHA256,
    FILE_HASH_SHA256,
};

void files_set_hashes(int choice)
{
    if (choice >= 0 && (size_t)choice < sizeof hash_sets / sizeof hash_sets[0])
        g_hashes = hash_sets[choice];
}

/* libmagic costs about 0.25 ms per call (it walks its whole rule set), more than all
 * else a file costs; the same first bytes always give the same answer, and the same
 * content recurs on a network (one resource fetched by many clients), so the answers
 * are kept in a direct-mapped cache keyed by those bytes (otasuke/dmcache.h). */
#define MAGIC_CACHE 4096
struct magic_answer {
    char desc[128];
    char mime[80];
};
/* 2.9 MiB of MEM_CORE (process-wide); without it every file asks libmagic. Direct
 * mapped, so distinct heads collide long before the slots are full: on the 1 GB
 * benchmark (about 613 distinct heads) 512 slots missed 2,156 times, 4,096 slots 840
 * times (16,384: 613), each miss two libmagic calls (bench/README.md, speed). */
static _Thread_local struct dmcache *g_cache; /* per thread, as the handles */

static magic_t open_magic(int flags)
{
    magic_t m = magic_open(flags | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
    if (m == NULL)
        return NULL;
    if (magic_load(m, NULL) != 0) {
        log_warn("files", "cannot load the magic database: %s", magic_error(m));
        magic_close(m);
        return NULL;
    }
    return m;
}

bool files_magic_init(void)
{
    if (!g_magic_tried) {
        g_magic_tried = true;
        g_magic = open_magic(MAGIC_NONE);
        g_magic_mime = g_magic != NULL ? open_magic(MAGIC_MIME_TYPE) : NULL;
        g_cache = dmcache_new(MEM_CORE, MAGIC_CACHE, FILE_HEAD_SIZE, sizeof(struct magic_answer));
    }
    return g_magic != NULL && g_magic_mime != NULL;
}

void files_magic_free(void)
{
    if (g_magic != NULL)
        magic_close(g_magic);
    if (g_magic_mime != NULL)
        magic_close(g_magic_mime);
    g_magic = g_magic_mime = NULL;
    g_magic_tried = false;
    dmcache_free(g_cache);
    g_cache = NULL;
}

void files_magic_stats(uint64_t *calls, uint64_t *hits)
{
    dmcache_counts(g_cache, calls, hits);
}

/* The description and MIME type of f's first bytes, from the cache or libmagic;
 * written into *tmp when there is no cache. */
static const struct magic_answer *magic_of(const struct app_file *f, struct magic_answer *tmp)
{
    struct magic_answer *e = dmcache_get(g_cache, f->head, f->head_len);
    if (e != NULL)
        return e;
    if (g_cache == NULL || (e = dmcache_put(g_cache, f->head, f->head_len)) == NULL)
        e = tmp;
    const char *d = magic_buffer(g_magic, f->head, f->head_len);
    const char *mt = magic_buffer(g_magic_mime, f->head, f->head_len);
    snprintf(e->desc, sizeof e->desc, "%s", d != NULL ? d : "");
    snprintf(e->mime, sizeof e->mime, "%s", mt != NULL ? mt : "");
    return e;
}

/* Length of s[0..n) cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    /* Step back over continuation bytes so the cut falls before a lead byte. */
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    return k;
}

/* ---- kept bytes (files_set_keep) ---- */

#define KEEP_FIRST_CAP ((size_t)64 * 1024)

/* Per thread: a file is kept, counted and freed by the worker thread that owns its
 * flow; each worker sets its own share of the total (files_set_keep). */
static _Thread_local struct {
    bool (*want)(const uint8_t *head, size_t n);
    size_t per_file, total;
    struct files_keep_stats st;
} g_keep;

void files_set_keep(bool (*want)(const uint8_t *head, size_t n), size_t per_file, size_t total)
{
    bool on = want != NULL && per_file > 0 && total > 0;
    g_keep.want = on ? want : NULL;
    g_keep.per_file = per_file < FILE_HEAD_SIZE ? FILE_HEAD_SIZE : per_file;
    g_keep.total = total;
}

void files_keep_stats(struct files_keep_stats *out)
{
    *out = g_keep.st;
}

void file_release(struct app_file *f)
{
    if (f == NULL || f->keep == NULL)
        return;
    g_keep.st.bytes_now -= f->keep_cap;
    xfree(f->keep);
    f->keep = NULL;
    f->keep_len = f->keep_cap = 0;
}

static void keep_cut(struct app_file *f, uint64_t *counter)
{
    if (f->keep_state == FILE_KEEP_YES) {
        f->keep_state = FILE_KEEP_CUT;
        (*counter)++;
    }
}

/* Makes room for need bytes in f->keep (doubling, at most per_file, under total);
 * false (and f cut, counted) when it cannot. */
static bool keep_grow(struct app_file *f, size_t need)
{
    size_t cap = f->keep_cap != 0 ? f->keep_cap : KEEP_FIRST_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > g_keep.per_file)
        cap = g_keep.per_file;
    size_t grow = cap - f->keep_cap;
    if (g_keep.st.bytes_now + grow > g_keep.total) {
        keep_cut(f, &g_keep.st.cut_total);
        return false;
    }
    uint8_t *p = xrealloc(MEM_APP, f->keep, cap);
    if (p == NULL) {
        keep_cut(f, &g_keep.st.cut_other);
        return false;
    }
    f->keep = p;
    f->keep_cap = cap;
    g_keep.st.bytes_now += grow;
    return true;
}

static void keep_append(struct app_file *f, const uint8_t *d, size_t n)
{
    if (f->keep_state != FILE_KEEP_YES || n == 0)
        return;
    bool over = n > g_keep.per_file - f->keep_len;
    if (over)
        n = g_keep.per_file - f->keep_len;
    if (f->keep_len + n > f->keep_cap && !keep_grow(f, f->keep_len + n))
        n = f->keep_cap - f->keep_len; /* what still fits; f is cut */
    if (n > 0)
        memcpy(f->keep + f->keep_len, d, n);
    f->keep_len += n;
    if (over)
        keep_cut(f, &g_keep.st.cut_size);
}

/* Once the head is full: keep f's bytes (its head first) when they are wanted. */
static void keep_decide(struct app_file *f)
{
    if (g_keep.want == NULL || !g_keep.want(f->head, f->head_len)) {
        f->keep_state = FILE_KEEP_NO;
        return;
    }
    f->keep_state = FILE_KEEP_YES;
    g_keep.st.kept++;
    keep_append(f, f->head, f->head_len);
}

const uint8_t *file_kept(const struct app_file *f, size_t *len, bool *complete)
{
    bool all = f->state == FILE_CLOSED && !f->gaps;
    if (f->keep != NULL) {
        *len = f->keep_len;
        *complete = all && f->keep_state == FILE_KEEP_YES;
        return f->keep;
    }
    *len = f->head_len;
    *complete = all && f->size == f->head_len;
    return f->head;
}

void file_open(struct app_file *f, const char *name, size_t namelen, uint32_t id,
               uint64_t declared)
{
    file_release(f);
    f->keep_state = g_keep.want != NULL ? FILE_KEEP_UNDECIDED : FILE_KEEP_NO;
    size_t k = utf8_cut(name, namelen, FILE_NAME_MAX - 1);
    memcpy(f->name, name, k);
    f->name[k] = '\0';
    f->size = 0;
    f->declared = declared;
    f->gap_bytes = 0;
    f->id = id;
    f->state = FILE_OPEN;
    f->gaps = false;
    f->head_len = 0;
    f->hashes = (uint8_t)g_hashes;
    if (f->hashes & FILE_HASH_MD5)
        md5_init(&f->md5);
    if (f->hashes & FILE_HASH_SHA1)
        sha1_init(&f->sha1);
    sha256_init(&f->sha256);
}

void file_data(struct app_file *f, const uint8_t *d, size_t n)
{
    if (f->state != FILE_OPEN || n == 0)
        return;
    size_t k = 0;
    if (f->head_len < FILE_HEAD_SIZE && !f->gaps) {
        k = FILE_HEAD_SIZE - f->head_len;
        if (k > n)
            k = n;
        memcpy(f->head + f->head_len, d, k);
        f->head_len = (uint16_t)(f->head_len + k);
    }
    if (f->keep_state == FILE_KEEP_UNDECIDED) {
        if (f->head_len == FILE_HEAD_SIZE) {
            keep_decide(f);
            keep_append(f, d + k, n - k);
        }
    } else {
        keep_append(f, d, n);
    }
    if (f->hashes & FILE_HASH_MD5)
        md5_update(&f->md5, n, d);
    if (f->hashes & FILE_HASH_SHA1)
        sha1_update(&f->sha1, n, d);
    sha256_update(&f->sha256, n, d);
    f->size += n;
}

void file_gap(struct app_file *f, uint64_t len)
{
    if (f->state != FILE_OPEN)
        return;
    f->gaps = true;
    f->gap_bytes += len;
    if (f->keep_state == FILE_KEEP_UNDECIDED)
        f->keep_state = FILE_KEEP_NO; /* the head holds what there is */
    keep_cut(f, &g_keep.st.cut_other);
    f->size += len; /* as Suricata: the size counts the lost bytes (they are not hashed) */
}

void file_close(struct app_file *f, bool complete, bool error)
{
    if (f->state != FILE_OPEN)
        return;
    if (f->keep_state == FILE_KEEP_UNDECIDED)
        f->keep_state = FILE_KEEP_NO; /* shorter than the head: the head holds it all */
    if (error)
        f->state = FILE_ERROR;
    else if (complete && !f->gaps && (f->declared == 0 || f->size >= f->declared))
        f->state = FILE_CLOSED;
    else
        f->state = FILE_TRUNCATED;
    if (f->hashes & FILE_HASH_MD5)
        md5_digest(&f->md5, sizeof f->md5_digest, f->md5_digest);
    if (f->hashes & FILE_HASH_SHA1)
        sha1_digest(&f->sha1, sizeof f->sha1_digest, f->sha1_digest);
    sha256_digest(&f->sha256, sizeof f->sha256_digest, f->sha256_digest);
}

const char *file_state_name(enum file_state s)
{
    switch (s) {
    case FILE_OPEN:
        return "OPEN";
    case FILE_CLOSED:
        return "CLOSED";
    case FILE_TRUNCATED:
        return "TRUNCATED";
    case FILE_ERROR:
        return "ERROR";
    }
    return "UNKNOWN";
}

/* The detections' look at each file logged (files_set_observer). */
static _Thread_local void (*g_observer)(void *ud, const struct app_file *f); /* per thread */
static _Thread_local void *g_observer_ud;

void files_set_observer(void (*fn)(void *ud, const struct app_file *f), void *ud)
{
    g_observer = fn;
    g_observer_ud = ud;
}

void file_write_fileinfo(struct jw *w, const struct app_file *f, uint64_t tx_id)
{
    if (g_observer != NULL)
        g_observer(g_observer_ud, f);
    jw_obj_open(w, "fileinfo");
    jw_str(w, "filename", f->name);
    if (g_magic != NULL && f->head_len > 0) {
        struct magic_answer tmp;
        const struct magic_answer *e = magic_of(f, &tmp);
        if (e->desc[0] != '\0')
            jw_str(w, "magic", e->desc);
        if (e->mime[0] != '\0')
            jw_str(w, "mimetype", e->mime);
    }
    jw_bool(w, "gaps", f->gaps);
    jw_str(w, "state", file_state_name((enum file_state)f->state));
    if (f->state == FILE_CLOSED || f->state == FILE_TRUNCATED) { /* Suricata: both */
        if (f->hashes & FILE_HASH_MD5)
            jw_hex(w, "md5", f->md5_digest, sizeof f->md5_digest, '\0');
        if (f->hashes & FILE_HASH_SHA1)
            jw_hex(w, "sha1", f->sha1_digest, sizeof f->sha1_digest, '\0');
        jw_hex(w, "sha256", f->sha256_digest, sizeof f->sha256_digest, '\0');
    }
    jw_bool(w, "stored", false);
    jw_u64(w, "size", f->size);
    jw_u64(w, "tx_id", tx_id);
    jw_u64(w, "file_id", f->id);
    jw_obj_close(w);
}
