/*
 * Event output sink (see sink.h for the modes and the disk-full policy).
 *
 * Lines are copied into one bounded buffer and leave it only as whole lines. Every write
 * goes through emit(), which writes one or two segments and, when the kernel accepts
 * only part of them, cuts the file back to the last newline it wrote (ftruncate on
 * regular files; a leading '\n' on the next write elsewhere). Lines not written are
 * counted as dropped; nothing is retried from memory, so memory stays bounded while the
 * disk is full and the next buffer simply tries again.
 *
 * Directory mode keeps <dir>/eve.json open with O_APPEND. Rotation flushes, closes,
 * renames with RENAME_NOREPLACE (link()+unlink() where the filesystem lacks it) to the
 * first free eve-YYYYmmdd-HHMMSS[-N].json, opens a fresh eve.json and then deletes the
 * oldest rotated files beyond keep_files. Only names of exactly that shape are ever
 * deleted. A failed rotation keeps writing to the current file and is retried after a
 * second of wall time.
 */
#define _GNU_SOURCE
#include "output/sink.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/log.h"
#include "otasuke/timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SINK_PATH_MAX (CONF_STR_MAX + 64)
#define SINK_NAME_TRIES 10000 /* -1 .. -9999 suffixes before a rotation gives up */

struct sink {
    struct sink_conf c;
    int fd;         /* -1 after a failed open: the next flush tries again */
    bool own_fd;    /* false for stdout */
    bool regular;   /* fd is a regular file, so a fragment can be cut off */
    bool broken;    /* the output may end in a fragment: next write starts with '\n' */
    bool has_t0;    /* t0 holds the event time of the current file's first line */
    uint64_t t0;
    uint64_t file_bytes;    /* size of the current file, for rotate_size */
    uint64_t rot_retry_us;  /* monotonic time before which no rotation is tried */
    char *buf;
    size_t cap, used;
    uint64_t nbuf;          /* lines in buf */
    char cur[SINK_PATH_MAX];
    struct sink_stats st;
    struct log_rate rl;
};

static const char *const g_kind[] = {"file", "stdout", "dir"};

/* Logs a failed operation, at most once a second with the count of suppressed lines. */
static void report(struct sink *s, const char *op, int e)
{
    uint64_t supp = 0;
    s->st.write_errors++;
    if (log_rate_allow(&s->rl, &supp))
        log_error("output", "%s failed path=%s err=\"%s\" dropped=%" PRIu64 " suppressed=%" PRIu64,
                  op, s->c.kind == SINK_STDOUT ? "-" : s->cur, strerror(e), s->st.dropped, supp);
}

/* Opens s->cur for appending (truncating first unless append); sets regular,
 * file_bytes and broken. Returns 0 or ERR_IO with errno set. */
static int open_cur(struct sink *s, bool append)
{
    int fd = open(s->cur, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (append ? 0 : O_TRUNC),
                  0640);
    if (fd < 0)
        return ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return ERR_IO;
    }
    s->fd = fd;
    s->regular = S_ISREG(st.st_mode);
    s->file_bytes = s->regular ? (uint64_t)st.st_size : 0;
    s->broken = false;
    if (s->regular && st.st_size > 0) {
        /* A crash may have left a fragment: never glue a line to it. The write-only fd
         * cannot read, so look through a second one; when even that fails, assume the
         * file is whole. */
        char last = '\n';
        int rfd = open(s->cur, O_RDONLY | O_CLOEXEC);
        if (rfd >= 0 && pread(rfd, &last, 1, st.st_size - 1) == 1)
            s->broken = last != '\n';
        if (rfd >= 0)
            close(rfd);
    }
    return 0;
}

static size_t writev_full(int fd, struct iovec *iov, int cnt, int *e)
{
    size_t total = 0;
    while (cnt > 0) {
        ssize_t r = writev(fd, iov, cnt);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            *e = r < 0 ? errno : EIO;
            break;
        }
        total += (size_t)r;
        size_t left = (size_t)r;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return total;
}

/* Byte i of the concatenation a + b. */
static char at2(const char *a, size_t alen, const char *b, size_t i)
{
    if (i < alen)
        return a[i];
    /* Callers pass i < alen + blen, so b is non-NULL here; the analyzer cannot see that
     * bytes written (w) never exceed alen + blen. */
    return b[i - alen]; // NOLINT(clang-analyzer-core.NullDereference)
}

/* Removes the last frag bytes written, so the output ends after a whole line. */
static void cut_fragment(struct sink *s, size_t frag)
{
    if (s->regular) {
        off_t end = lseek(s->fd, 0, SEEK_CUR); /* O_APPEND: the end of what we wrote */
        if (end >= (off_t)frag && ftruncate(s->fd, end - (off_t)frag) == 0 &&
            lseek(s->fd, end - (off_t)frag, SEEK_SET) >= 0)
            return;
        report(s, "truncate", errno);
    }
    s->broken = true;
}

/* Writes a[0..alen) + b[0..blen), holding nlines whole lines. On failure keeps what was
 * written up to the last newline, cuts the rest and counts the lost lines. */
static int emit(struct sink *s, const char *a, size_t alen, const char *b, size_t blen,
                uint64_t nlines)
{
    int e = 0;
    size_t n = alen + blen, w = 0;
    if (s->fd < 0 && open_cur(s, true) != 0) {
        e = errno;
        goto fail;
    }
    if (s->broken) {
        struct iovec nl = {.iov_base = (void *)"\n", .iov_len = 1};
        if (writev_full(s->fd, &nl, 1, &e) != 1)
            goto fail;
        s->broken = false;
        s->file_bytes++;
    }
    struct iovec iov[2] = {{.iov_base = (void *)a, .iov_len = alen},
                           {.iov_base = (void *)b, .iov_len = blen}};
    w = writev_full(s->fd, iov, 2, &e);
    if (w == n) {
        s->st.bytes += n;
        s->file_bytes += n;
        return 0;
    }
fail:;
    size_t keep = w;
    uint64_t kept = 0;
    while (keep > 0 && at2(a, alen, b, keep - 1) != '\n')
        keep--;
    for (size_t i = 0; i < keep; i++)
        kept += at2(a, alen, b, i) == '\n';
    if (keep < w)
        cut_fragment(s, w - keep);
    s->st.bytes += keep;
    s->file_bytes += keep;
    s->st.dropped += nlines - kept;
    report(s, "write", e);
    return e == ENOSPC || e == EDQUOT ? ERR_NOSPACE : ERR_IO;
}

int sink_flush(struct sink *s)
{
    if (s->used == 0)
        return 0;
    int rc = emit(s, s->buf, s->used, NULL, 0, s->nbuf);
    s->used = 0;
    s->nbuf = 0;
    return rc;
}

/* ---- rotation ------------------------------------------------------------------------- */

/* Parses "eve-YYYYmmdd-HHMMSS[-N].json" into a sort key; returns false for other names. */
static bool rotated_key(const char *name, uint64_t *when, uint64_t *seq)
{
    const char *p = name;
    uint64_t t = 0, n = 0;
    if (strncmp(p, "eve-", 4) != 0)
        return false;
    p += 4;
    for (int i = 0; i < 15; i++, p++) {
        if (i == 8) {
            if (*p != '-')
                return false;
            continue;
        }
        if (*p < '0' || *p > '9')
            return false;
        t = t * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '-') {
        p++;
        if (*p < '1' || *p > '9')
            return false;
        for (int i = 0; *p >= '0' && *p <= '9'; p++, i++) {
            if (i >= 9)
                return false;
            n = n * 10 + (uint64_t)(*p - '0');
        }
    }
    *when = t;
    *seq = n;
    return strcmp(p, ".json") == 0;
}

/* Deletes the oldest rotated files until at most keep_files remain. */
static void prune(struct sink *s)
{
    char path[SINK_PATH_MAX + 256];
    if (s->c.keep_files == 0)
        return;
    for (;;) {
        DIR *d = opendir(s->c.path);
        if (d == NULL) {
            report(s, "opendir", errno);
            return;
        }
        uint64_t count = 0, ow = UINT64_MAX, os = UINT64_MAX, w, q;
        char oldest[256] = "";
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!rotated_key(de->d_name, &w, &q))
                continue;
            count++;
            if (w < ow || (w == ow && q < os)) {
                ow = w, os = q;
                snprintf(oldest, sizeof(oldest), "%s", de->d_name);
            }
        }
        closedir(d);
        if (count <= s->c.keep_files)
            return;
        snprintf(path, sizeof(path), "%s/%s", s->c.path, oldest);
        if (unlink(path) != 0) {
            report(s, "unlink", errno);
            return;
        }
    }
}

/* Renames s->cur to the first free eve-<ts>[-N].json without replacing anything. */
static int rename_rotated(struct sink *s, uint64_t ts_us)
{
    char dst[SINK_PATH_MAX + 32];
    time_t sec = (time_t)(ts_us / 1000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    for (unsigned n = 0; n < SINK_NAME_TRIES; n++) {
        char sfx[16] = "";
        if (n > 0)
            snprintf(sfx, sizeof(sfx), "-%u", n);
        snprintf(dst, sizeof(dst), "%s/eve-%04d%02d%02d-%02d%02d%02d%s.json", s->c.path,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, sfx);
        if (renameat2(AT_FDCWD, s->cur, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno == EINVAL || errno == ENOSYS) { /* no RENAME_NOREPLACE here */
            if (link(s->cur, dst) == 0)
                return unlink(s->cur) == 0 ? 0 : ERR_IO;
        }
        if (errno != EEXIST)
            return ERR_IO;
    }
    errno = EEXIST;
    return ERR_IO;
}

static int rotate(struct sink *s, uint64_t ts_us)
{
    int rc = sink_flush(s);
    uint64_t when = s->has_t0 ? s->t0 : ts_us ? ts_us : ts_now_us();
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (rename_rotated(s, when) != 0) {
        report(s, "rotate", errno);
        s->rot_retry_us = ts_mono_us() + 1000000;
        if (open_cur(s, true) != 0)
            report(s, "open", errno); /* emit() retries */
        return rc;
    }
    s->st.rotations++;
    s->has_t0 = false;
    if (open_cur(s, false) != 0)
        report(s, "open", errno);
    prune(s);
    return rc;
}

static int maybe_rotate(struct sink *s, size_t add, uint64_t ts_us)
{
    if (s->c.kind != SINK_DIR)
        return 0;
    uint64_t pending = s->file_bytes + s->used, iv = s->c.rotate_interval_us;
    bool by_size = s->c.rotate_size && pending > 0 && pending + add > s->c.rotate_size;
    bool by_time = iv && ts_us && s->has_t0 && ts_us / iv > s->t0 / iv;
    if (!by_size && !by_time)
        return 0;
    if (s->rot_retry_us != 0 && ts_mono_us() < s->rot_retry_us)
        return 0;
    s->rot_retry_us = 0;
    return rotate(s, ts_us);
}

/* ---- public --------------------------------------------------------------------------- */

int sink_write(struct sink *s, const char *line, size_t len, uint64_t ts_us)
{
    s->st.events++;
    if (len > SIZE_MAX / 2 || memchr(line, '\n', len) != NULL) {
        s->st.dropped++;
        return ERR_INVAL;
    }
    int rc = maybe_rotate(s, len + 1, ts_us);
    if (s->cap - s->used < len + 1) {
        int r = sink_flush(s);
        rc = rc ? rc : r;
    }
    if (len + 1 > s->cap) {
        int r = emit(s, line, len, "\n", 1, 1);
        rc = rc ? rc : r;
    } else {
        memcpy(s->buf + s->used, line, len);
        s->buf[s->used + len] = '\n';
        s->used += len + 1;
        s->nbuf++;
    }
    if (!s->has_t0 && ts_us != 0) {
        s->t0 = ts_us;
        s->has_t0 = true;
    }
    return rc;
}

/* Checks c and fills s->cur; returns 0 or writes err and returns ERR_INVAL. */
static int check_conf(const struct sink_conf *c, char *cur, char *err, size_t errlen)
{
    struct stat st;
    if ((unsigned)c->kind > SINK_DIR) {
        snprintf(err, errlen, "output: unknown mode %d", (int)c->kind);
        return ERR_INVAL;
    }
    if (c->buffer_size > SINK_BUFFER_MAX) {
        snprintf(err, errlen, "output: buffer size too large (max %u bytes)", SINK_BUFFER_MAX);
        return ERR_INVAL;
    }
    if (c->kind != SINK_DIR && (c->rotate_size || c->rotate_interval_us)) {
        snprintf(err, errlen, "output: rotation needs output mode dir (mode is %s)",
                 g_kind[c->kind]);
        return ERR_INVAL;
    }
    if (c->kind == SINK_STDOUT)
        return 0;
    size_t plen = strnlen(c->path, sizeof(c->path));
    if (plen == 0 || plen == sizeof(c->path)) {
        snprintf(err, errlen, "output: path is empty or not terminated");
        return ERR_INVAL;
    }
    if (c->kind == SINK_FILE) {
        memcpy(cur, c->path, plen + 1);
        return 0;
    }
    if (stat(c->path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
        return ERR_INVAL;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory (output mode dir)", c->path);
        return ERR_INVAL;
    }
    snprintf(cur, SINK_PATH_MAX, "%s/eve.json", c->path);
    return 0;
}

/* Directory mode without append: moves a non-empty eve.json out of the way. */
static int rotate_leftover(struct sink *s)
{
    struct stat st;
    if (stat(s->cur, &st) != 0 || st.st_size == 0)
        return 0;
    uint64_t mt = (uint64_t)st.st_mtim.tv_sec * 1000000u + (uint64_t)st.st_mtim.tv_nsec / 1000u;
    if (rename_rotated(s, mt) != 0)
        return ERR_IO;
    s->st.rotations++;
    prune(s);
    return 0;
}

struct sink *sink_open(const struct sink_conf *c, char *err, size_t errlen)
{
    struct sink *s = xcalloc(MEM_OUTPUT, 1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "output: out of memory");
        return NULL;
    }
    s->c = *c;
    s->fd = -1;
    s->rl.interval_s = 1;
    s->cap = (size_t)c->buffer_size;
    if (check_conf(c, s->cur, err, errlen) != 0)
        goto fail;
    if (s->cap > 0 && (s->buf = xalloc(MEM_OUTPUT, s->cap)) == NULL) {
        snprintf(err, errlen, "output: out of memory for a %zu byte buffer", s->cap);
        goto fail;
    }
    if (c->kind == SINK_STDOUT) {
        struct stat st;
        s->fd = STDOUT_FILENO;
        s->regular = fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode);
        return s;
    }
    s->own_fd = true;
    if (c->kind == SINK_DIR && !c->append && rotate_leftover(s) != 0) {
        snprintf(err, errlen, "%s: cannot rotate the previous eve.json: %s", c->path,
                 strerror(errno));
        goto fail;
    }
    if (open_cur(s, c->append || c->kind == SINK_DIR) != 0) {
        snprintf(err, errlen, "%s: %s", s->cur, strerror(errno));
        goto fail;
    }
    return s;
fail:
    xfree(s->buf);
    xfree(s);
    return NULL;
}

int sink_reopen(struct sink *s)
{
    sink_flush(s);
    if (s->c.kind == SINK_STDOUT)
        return 0;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (open_cur(s, true) != 0) {
        report(s, "open", errno);
        return ERR_IO;
    }
    return 0;
}

void sink_close(struct sink *s)
{
    if (s == NULL)
        return;
    sink_flush(s);
    if (s->own_fd && s->fd >= 0)
        close(s->fd);
    xfree(s->buf);
    xfree(s);
}

void sink_stats(const struct sink *s, struct sink_stats *out)
{
    *out = s->st;
}
