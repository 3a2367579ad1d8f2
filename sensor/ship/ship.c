/*
 * Shipping to otasuke-center (see ship.h for the picture and the invariants).
 *
 * Spool layout, under <state_dir>/spool/:
 *   <seq:016x>-<runid:016x>.open  the segment being written (at most one per process)
 *   <seq:016x>-<runid:016x>.seg   a closed segment: one batch, waiting for its ack
 * The batch id sent as X-Otasuke-Batch is the name without its suffix; X-Otasuke-Seq
 * is seq. seq starts at max(highest seq in the spool + 1, wall clock in µs) so that it
 * grows across restarts; runid is random per process, so batch ids never repeat even
 * when the clock goes back. A segment is closed (fdatasync, rename .open → .seg,
 * fsync of the directory when ship.fsync is on) when it holds batch_events events or
 * batch_bytes bytes, when its first event is batch_age old, and at exit. At start, a
 * leftover .open segment (the process died) is cut back to its last whole line and
 * closed under its name; it was never sent, so its batch id is still fresh.
 *
 * Threads: the packet thread (ship_offer), the spool writer and the sender share one
 * mutex. The packet thread only copies into the queue under it; the writer swaps the
 * queue with its own buffer under it and writes outside it; the sender takes the
 * oldest closed segment (marked in flight, so the spool cap never deletes it), sends
 * it outside the lock and removes it after a 200.
 */
#define _GNU_SOURCE
#include "ship/ship.h"

#include "sensor_conf.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/log.h"
#include "otasuke/timefmt.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHIP_PATH_MAX   (CONF_STR_MAX + 64)
#define SHIP_FILE_MAX   (SHIP_PATH_MAX + 64)
#define SHIP_MAX_TYPES  32
#define SHIP_TYPE_MAX   64
#define SHIP_TOKEN_LEN  68 /* otk_ + 64 hex */
#define SHIP_RESP_MAX   (64u << 10) /* an ack lists at most 100 errors */
#define SHIP_BODY_MAX   (64u << 20) /* a segment file larger than this is not sent */
#define SHIP_BACKOFF_US 250000u
#define SHIP_RA_MAX_US  (3600ull * 1000000u)
#define SHIP_TICK_US    100000ull

struct seg {
    uint64_t seq;
    uint64_t bytes;
    uint64_t events;
    char runid[17];
};

struct ship {
    struct ship_conf c;
    char token[SHIP_TOKEN_LEN + 1];
    char spool[SHIP_PATH_MAX];
    char runid[17];
    char types[SHIP_MAX_TYPES][SHIP_TYPE_MAX + 1];
    size_t ntypes;
    bool all_types;

    pthread_mutex_t mu;
    pthread_cond_t wcond; /* wakes the writer */
    pthread_cond_t scond; /* wakes the sender */
    /* queue (under mu) */
    char *qbuf, *wbuf;
    size_t qcap, qused;
    /* closed segments, oldest first: segs[shead .. nseg) (under mu) */
    struct seg *segs;
    size_t shead, nseg, segcap;
    bool inflight; /* segs[shead] is being sent */
    /* open segment (writer thread), its bytes are counted in st.spool_bytes */
    int ofd;
    struct seg open;
    uint64_t ostart_us;
    uint64_t next_seq;
    /* control (under mu) */
    bool draining, writer_done, stop;
    uint64_t deadline_us;
    _Atomic uint64_t abort_at_us; /* an in-flight request is aborted after this (0 = no) */
    pthread_t wthr, sthr;
    bool wstarted, sstarted;
    struct ship_stats st; /* under mu */
    struct log_rate rl_spool, rl_send;
};

/* ---- small helpers -------------------------------------------------------- */

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
}

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* Waits on c until the monotonic time until_us (at most). */
static void cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t until_us)
{
    struct timespec ts = {.tv_sec = (time_t)(until_us / 1000000u),
                          .tv_nsec = (long)(until_us % 1000000u) * 1000};
    pthread_cond_timedwait(c, m, &ts);
}

static void seg_name(char *out, size_t outlen, const char *dir, const struct seg *g,
                     const char *suffix)
{
    int n = snprintf(out, outlen, "%s/%016" PRIx64 "-%s%s", dir, g->seq, g->runid, suffix);
    if (n < 0 || (size_t)n >= outlen)
        out[0] = '\0'; /* never: state_dir is at most CONF_STR_MAX */
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    int rc = fsync(fd) == 0 ? 0 : ERR_IO;
    close(fd);
    return rc;
}

static int mkdir_0700(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return ERR_IO;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", dir);
        return ERR_IO;
    }
    return 0;
}

static bool valid_type(const char *t, size_t n)
{
    if (n == 0 || n > SHIP_TYPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
            return false;
    return true;
}

static int parse_types(struct ship *s, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        const char *b = p;
        while (*p != '\0' && *p != ',' && *p != ' ')
            p++;
        size_t n = (size_t)(p - b);
        if (n == 0)
            continue;
        if (n == 1 && *b == '*') {
            s->all_types = true;
            continue;
        }
        if (!valid_type(b, n) || s->ntypes == SHIP_MAX_TYPES) {
            snprintf(err, errlen, "ship.types: \"%.*s\" is not an event type [a-z0-9_]{1,64} "
                     "(or more than %d types)", (int)(n > 64 ? 64 : n), b, SHIP_MAX_TYPES);
            return ERR_INVAL;
        }
        memcpy(s->types[s->ntypes], b, n);
        s->types[s->ntypes][n] = '\0';
        s->ntypes++;
    }
    if (!s->all_types && s->ntypes == 0) {
        snprintf(err, errlen, "ship.types: no event type");
        return ERR_INVAL;
    }
    return 0;
}

static bool valid_token(const char *t, size_t n)
{
    if (n != SHIP_TOKEN_LEN || memcmp(t, "otk_", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    return true;
}

static int read_token(struct ship *s, char *err, size_t errlen)
{
    char path[SHIP_FILE_MAX], buf[128];
    snprintf(path, sizeof(path), "%s/token", s->c.state_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s (enroll first: otasuke-sensor --enroll URL CODE)", path,
                 strerror(errno));
        return ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
        log_warn("ship", "token file is readable by others path=%s mode=%o", path,
                 (unsigned)(st.st_mode & 0777));
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (n <= 0 || !valid_token(buf, (size_t)n)) {
        snprintf(err, errlen, "%s: not a device token (otk_ and 64 hex digits)", path);
        return ERR_INVAL;
    }
    memcpy(s->token, buf, (size_t)n);
    s->token[n] = '\0';
    return 0;
}

/* ---- the spool ------------------------------------------------------------ */

/* Counts the bytes up to and including the last newline of fd, and its lines. */
static int scan_lines(int fd, uint64_t *whole, uint64_t *lines)
{
    char buf[65536];
    uint64_t off = 0;
    *whole = 0;
    *lines = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ERR_IO;
        if (r == 0)
            return 0;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == '\n') {
                (*lines)++;
                *whole = off + (uint64_t)i + 1;
            }
        }
        off += (uint64_t)r;
    }
}

static int seg_cmp(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Appends a closed segment (under mu, or before the threads start). */
static int segs_push(struct ship *s, const struct seg *g)
{
    if (s->nseg == s->segcap && s->shead > 0) {
        memmove(s->segs, s->segs + s->shead, (s->nseg - s->shead) * sizeof(*s->segs));
        s->nseg -= s->shead;
        s->shead = 0;
    }
    if (s->nseg == s->segcap) {
        size_t ncap = s->segcap ? s->segcap * 2 : 64;
        struct seg *n = xrealloc(MEM_OUTPUT, s->segs, ncap * sizeof(*n));
        if (n == NULL)
            return ERR_NOMEM;
        s->segs = n;
        s->segcap = ncap;
    }
    s->segs[s->nseg++] = *g;
    s->st.spool_segments++;
    return 0;
}

/* Parses "<16 hex>-<16 hex>.open|.seg"; returns 1 for .seg, 2 for .open, 0 otherwise. */
static int parse_seg_name(const char *name, struct seg *g)
{
    size_t n = strlen(name);
    int kind;
    if (n == 33 + 4 && strcmp(name + 33, ".seg") == 0)
        kind = 1;
    else if (n == 33 + 5 && strcmp(name + 33, ".open") == 0)
        kind = 2;
    else
        return 0;
    if (name[16] != '-')
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 33; i++) {
        if (i == 16)
            continue;
        char ch = name[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
        if (i < 16)
            v = v << 4 | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
    }
    memset(g, 0, sizeof(*g));
    g->seq = v;
    memcpy(g->runid, name + 17, 16);
    g->runid[16] = '\0';
    return kind;
}

/* Takes over one segment file a previous run left (kind 1: .seg, 2: .open): cuts it to
 * its last whole line, closes an .open one under its own name and registers it.
 * Empty or unreadable files are skipped. Returns 0 or ERR_NOMEM. */
static int recover_one(struct ship *s, const char *name, int kind, struct seg *g)
{
    char path[SHIP_FILE_MAX];
    snprintf(path, sizeof(path), "%s/%.40s", s->spool, name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    uint64_t whole = 0, lines = 0;
    if (fd < 0 || scan_lines(fd, &whole, &lines) != 0) {
        log_error("ship", "spool segment unreadable path=%s err=\"%s\"", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > whole && ftruncate(fd, (off_t)whole) == 0)
        log_notice("ship", "spool segment cut to its last whole line path=%s lost_bytes=%" PRIu64,
                   path, (uint64_t)st.st_size - whole);
    if (kind == 2 && s->c.fsync)
        fdatasync(fd);
    close(fd);
    if (lines == 0) {
        unlink(path);
        return 0;
    }
    if (kind == 2) {
        char to[SHIP_FILE_MAX];
        seg_name(to, sizeof(to), s->spool, g, ".seg");
        if (rename(path, to) != 0) {
            log_error("ship", "cannot close spool segment path=%s err=\"%s\"", path,
                      strerror(errno));
            return 0;
        }
    }
    g->bytes = whole;
    g->events = lines;
    if (segs_push(s, g) != 0)
        return ERR_NOMEM;
    s->st.spool_bytes += whole;
    return 0;
}

/* Finds the segments a previous run left: closes .open ones, counts their events. */
static int spool_recover(struct ship *s, char *err, size_t errlen)
{
    DIR *d = opendir(s->spool);
    if (d == NULL) {
        snprintf(err, errlen, "%s: %s", s->spool, strerror(errno));
        return ERR_IO;
    }
    struct dirent *de;
    uint64_t maxseq = 0;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        struct seg g;
        int kind = parse_seg_name(de->d_name, &g);
        if (kind == 0)
            continue;
        if (g.seq > maxseq)
            maxseq = g.seq;
        rc = recover_one(s, de->d_name, kind, &g);
    }
    closedir(d);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory reading the spool");
        return rc;
    }
    if (s->c.fsync)
        fsync_dir(s->spool);
    if (s->nseg > 1)
        qsort(s->segs, s->nseg, sizeof(*s->segs), seg_cmp);
    uint64_t now = ts_now_us();
    s->next_seq = maxseq + 1 > now ? maxseq + 1 : now;
    if (s->nseg > 0)
        log_notice("ship", "spool resumed segments=%zu bytes=%" PRIu64, s->nseg,
                   s->st.spool_bytes);
    return 0;
}

/* Deletes the oldest closed segment that is not in flight (under mu). Returns false
 * when there is none. */
static bool spool_evict_one(struct ship *s)
{
    size_t live = s->nseg - s->shead;
    size_t i = s->shead + (s->inflight ? 1 : 0);
    if (live == 0 || i >= s->nseg)
        return false;
    struct seg g = s->segs[i];
    if (i > s->shead)
        s->segs[i] = s->segs[s->shead]; /* the in-flight head moves up one */
    s->shead++;
    s->st.spool_segments--;
    char path[SHIP_FILE_MAX];
    seg_name(path, sizeof(path), s->spool, &g, ".seg");
    unlink(path);
    s->st.spool_bytes -= g.bytes;
    s->st.dropped_spool += g.events;
    s->st.dropped += g.events;
    uint64_t supp = 0;
    if (log_rate_allow(&s->rl_spool, &supp))
        log_warn("ship", "spool full: oldest batch deleted events=%" PRIu64 " dropped_total=%" PRIu64
                 " suppressed=%" PRIu64, g.events, s->st.dropped_spool, supp);
    return true;
}

/* Reserves n bytes of spool for the open segment, deleting old segments if needed. */
static bool spool_reserve(struct ship *s, uint64_t n)
{
    bool ok = true;
    pthread_mutex_lock(&s->mu);
    while (s->st.spool_bytes + n > s->c.spool_size)
        if (!spool_evict_one(s)) {
            ok = false;
            break;
        }
    if (ok)
        s->st.spool_bytes += n;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void count_drop(struct ship *s, uint64_t *which, uint64_t n, uint64_t unreserve)
{
    pthread_mutex_lock(&s->mu);
    *which += n;
    s->st.dropped += n;
    s->st.spool_bytes -= unreserve;
    pthread_mutex_unlock(&s->mu);
}

static int open_segment(struct ship *s)
{
    char path[SHIP_FILE_MAX];
    memset(&s->open, 0, sizeof(s->open));
    s->open.seq = s->next_seq++;
    memcpy(s->open.runid, s->runid, sizeof(s->runid));
    seg_name(path, sizeof(path), s->spool, &s->open, ".open");
    s->ofd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (s->ofd < 0) {
        uint64_t supp = 0;
        if (log_rate_allow(&s->rl_spool, &supp))
            log_error("ship", "cannot create spool segment path=%s err=\"%s\" suppressed=%" PRIu64,
                      path, strerror(errno), supp);
        return ERR_IO;
    }
    s->ostart_us = ts_mono_us();
    return 0;
}

/* Closes the open segment and hands it to the sender. */
static void seal_segment(struct ship *s)
{
    if (s->ofd < 0)
        return;
    char from[SHIP_FILE_MAX], to[SHIP_FILE_MAX];
    seg_name(from, sizeof(from), s->spool, &s->open, ".open");
    seg_name(to, sizeof(to), s->spool, &s->open, ".seg");
    bool ok = !s->c.fsync || fdatasync(s->ofd) == 0;
    int e = errno;
    close(s->ofd);
    s->ofd = -1;
    if (s->open.events == 0) {
        unlink(from);
        return;
    }
    if (ok && rename(from, to) != 0) {
        ok = false;
        e = errno;
    }
    if (ok && s->c.fsync)
        fsync_dir(s->spool);
    pthread_mutex_lock(&s->mu);
    if (ok && segs_push(s, &s->open) == 0) {
        pthread_cond_signal(&s->scond);
    } else {
        /* an fsync or rename error: the batch may not be on disk, drop it visibly */
        unlink(ok ? to : from);
        s->st.dropped_write += s->open.events;
        s->st.dropped += s->open.events;
        s->st.spool_bytes -= s->open.bytes;
        log_error("ship", "cannot close spool segment path=%s err=\"%s\" events=%" PRIu64, from,
                  strerror(ok ? ENOMEM : e), s->open.events);
    }
    pthread_mutex_unlock(&s->mu);
}

static size_t write_full(int fd, const char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(fd, p + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    return done;
}

/* Appends lines [p, p+n) (whole lines, reserved in the spool) to the open segment. */
static void flush_slice(struct ship *s, const char *p, size_t n, uint64_t events)
{
    if (n == 0)
        return;
    if (s->ofd < 0 || write_full(s->ofd, p, n) != n) {
        int e = errno;
        if (s->ofd >= 0 && ftruncate(s->ofd, (off_t)s->open.bytes) != 0)
            log_error("ship", "cannot cut a partial write err=\"%s\"", strerror(errno));
        uint64_t supp = 0;
        if (log_rate_allow(&s->rl_spool, &supp))
            log_error("ship", "spool write failed err=\"%s\" events=%" PRIu64 " suppressed=%" PRIu64,
                      strerror(e), events, supp);
        count_drop(s, &s->st.dropped_write, events, n);
        return;
    }
    s->open.bytes += n;
    s->open.events += events;
    pthread_mutex_lock(&s->mu);
    s->st.spooled += events;
    pthread_mutex_unlock(&s->mu);
}

/* Moves one drained queue buffer into the spool, closing batches at their limits. */
static void spool_write(struct ship *s, const char *buf, size_t n)
{
    const char *p = buf, *end = buf + n, *slice = buf;
    size_t slen = 0;
    uint64_t sev = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)(nl - p) + 1; /* the queue holds whole lines only */
        bool full = s->ofd >= 0 && s->open.events + sev > 0 &&
                    (s->open.bytes + slen + len > s->c.batch_bytes ||
                     s->open.events + sev >= s->c.batch_events);
        if (full) {
            flush_slice(s, slice, slen, sev);
            seal_segment(s);
        }
        if (full || s->ofd < 0) {
            slice = p;
            slen = 0;
            sev = 0;
        }
        if (s->ofd < 0 && open_segment(s) != 0) {
            count_drop(s, &s->st.dropped_write, 1, 0);
            p += len;
            slice = p;
            continue;
        }
        if (!spool_reserve(s, len)) {
            flush_slice(s, slice, slen, sev);
            count_drop(s, &s->st.dropped_spool, 1, 0);
            p += len;
            slice = p;
            slen = 0;
            sev = 0;
            continue;
        }
        slen += len;
        sev++;
        p += len;
    }
    flush_slice(s, slice, slen, sev);
    if (s->ofd >= 0 && s->open.events >= s->c.batch_events)
        seal_segment(s);
}

static void *writer_main(void *arg)
{
    struct ship *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->qused == 0 && !s->stop && !s->draining) {
            uint64_t now = ts_mono_us(), until = now + SHIP_TICK_US;
            if (s->ofd >= 0) {
                uint64_t due = s->ostart_us + s->c.batch_age_us;
                if (due <= now)
                    break;
                if (due < until)
                    until = due;
            }
            cond_wait_until(&s->wcond, &s->mu, until);
        }
        char *b = s->qbuf;
        size_t n = s->qused;
        s->qbuf = s->wbuf;
        s->wbuf = b;
        s->qused = 0;
        bool last = s->stop || s->draining;
        pthread_mutex_unlock(&s->mu);

        spool_write(s, b, n);
        if (s->ofd >= 0 && (last || ts_mono_us() >= s->ostart_us + s->c.batch_age_us))
            seal_segment(s);
        if (last)
            break;
    }
    pthread_mutex_lock(&s->mu);
    s->writer_done = true;
    pthread_cond_signal(&s->scond);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- the sender ----------------------------------------------------------- */

struct resp {
    char buf[SHIP_RESP_MAX + 1];
    size_t len;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct resp *r = ud;
    size_t n = sz * nm, room = SHIP_RESP_MAX - r->len;
    size_t take = n < room ? n : room;
    memcpy(r->buf + r->len, p, take);
    r->len += take;
    r->buf[r->len] = '\0';
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct ship *s = ud;
    uint64_t at = atomic_load(&s->abort_at_us);
    return at != 0 && ts_mono_us() >= at;
}

/* POSTs body to url; returns the HTTP status, or 0 with a message in r when no answer
 * came. *retry_after_s receives Retry-After (0 when absent). */
static long http_post(CURL *h, const char *url, struct curl_slist *hdrs, const char *body,
                      size_t len, uint64_t timeout_us, struct ship *s, struct resp *r,
                      long *retry_after_s)
{
    char ebuf[CURL_ERROR_SIZE] = "";
    r->len = 0;
    r->buf[0] = '\0';
    *retry_after_s = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_us / 1000));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(timeout_us / 1000 < 10000 ? timeout_us / 1000 : 10000));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (s != NULL) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(r->buf, sizeof(r->buf), "%s", ebuf[0] ? ebuf : curl_easy_strerror(cc));
        r->len = strlen(r->buf);
        return 0;
    }
    long status = 0;
    curl_off_t ra = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        *retry_after_s = ra > 86400 ? 86400 : (long)ra;
    return status;
}

/* Reads a closed segment into *body (grown as needed). */
static int read_segment(struct ship *s, const struct seg *g, char **body, size_t *cap,
                        size_t *len)
{
    char path[SHIP_FILE_MAX];
    seg_name(path, sizeof(path), s->spool, g, ".seg");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    struct stat st;
    int rc = ERR_IO;
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > SHIP_BODY_MAX)
        goto out;
    if ((size_t)st.st_size > *cap) {
        char *n = xrealloc(MEM_OUTPUT, *body, (size_t)st.st_size);
        if (n == NULL) {
            rc = ERR_NOMEM;
            goto out;
        }
        *body = n;
        *cap = (size_t)st.st_size;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, *body + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    *len = got;
    rc = 0;
out:
    close(fd);
    return rc;
}

/* Removes the in-flight head after it was acknowledged or refused (under mu). */
static void segs_pop_head(struct ship *s)
{
    struct seg g = s->segs[s->shead];
    char path[SHIP_FILE_MAX];
    seg_name(path, sizeof(path), s->spool, &g, ".seg");
    unlink(path);
    s->shead++;
    s->st.spool_segments--;
    s->st.spool_bytes -= g.bytes;
    s->inflight = false;
}

struct sender {
    CURL *h;
    char url[SHIP_PATH_MAX];
    char auth[128];
    char *body;
    size_t cap, len;
    uint64_t backoff, next_try;
    struct resp *r;
};

/* Waits for a closed segment that may be sent now and marks it in flight. Returns
 * false when the sender should end (stop, drain deadline, or drained). */
static bool next_batch(struct ship *s, struct sender *sd, struct seg *g)
{
    bool go = false;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        uint64_t now = ts_mono_us();
        bool have = s->nseg > s->shead;
        if (s->stop || (s->draining && now >= s->deadline_us) || (!have && s->writer_done))
            break;
        if (have && now >= sd->next_try) {
            *g = s->segs[s->shead];
            s->inflight = true;
            go = true;
            break;
        }
        uint64_t until = now + SHIP_TICK_US * 10;
        if (have && sd->next_try < until)
            until = sd->next_try;
        if (s->draining && s->deadline_us < until)
            until = s->deadline_us;
        cond_wait_until(&s->scond, &s->mu, until);
    }
    pthread_mutex_unlock(&s->mu);
    return go;
}

/* POSTs segment g; returns the HTTP status (0: no answer) and Retry-After in *ra. */
static long post_batch(struct ship *s, struct sender *sd, const struct seg *g, long *ra)
{
    char hb[96], hs[64];
    snprintf(hb, sizeof(hb), "X-Otasuke-Batch: %016" PRIx64 "-%s", g->seq, g->runid);
    snprintf(hs, sizeof(hs), "X-Otasuke-Seq: %" PRIu64, g->seq & INT64_MAX);
    struct curl_slist *hl = NULL, *t;
    const char *hv[] = {sd->auth, hb, hs, "Content-Type: application/x-ndjson", "Expect:"};
    for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++) {
        t = curl_slist_append(hl, hv[i]);
        if (t == NULL)
            break;
        hl = t;
    }
    long status = http_post(sd->h, sd->url, hl, sd->body, sd->len, s->c.timeout_us, s, sd->r, ra);
    curl_slist_free_all(hl);
    return status;
}

/* Schedules the next attempt after a failure (under mu). */
static void retry_later(struct ship *s, struct sender *sd, long status, long ra)
{
    s->inflight = false;
    s->st.retries++;
    sd->backoff = sd->backoff == 0 ? SHIP_BACKOFF_US : sd->backoff * 2;
    if (sd->backoff > s->c.backoff_max_us)
        sd->backoff = s->c.backoff_max_us;
    uint64_t wait = sd->backoff;
    if (ra > 0)
        wait = (uint64_t)ra * 1000000u > SHIP_RA_MAX_US ? SHIP_RA_MAX_US : (uint64_t)ra * 1000000u;
    sd->next_try = ts_mono_us() + wait;
    uint64_t supp = 0;
    if (!log_rate_allow(&s->rl_send, &supp))
        return;
    if (status == 0)
        log_warn("ship", "center unreachable url=%s err=\"%s\" retry_in_ms=%" PRIu64
                 " suppressed=%" PRIu64, sd->url, sd->r->buf, wait / 1000, supp);
    else
        log_warn("ship", "center answered status=%ld%s retry_in_ms=%" PRIu64 " suppressed=%" PRIu64,
                 status, status == 401 ? " (token refused: enroll again)" : "", wait / 1000, supp);
}

/* Acts on the answer to segment g (under mu). */
static void on_answer(struct ship *s, struct sender *sd, const struct seg *g, long status, long ra)
{
    s->st.batches_sent++;
    if (status == 200) {
        s->st.acked += g->events;
        s->st.acked_batches++;
        uint64_t rej = 0;
        bool dup = false;
        char first[160];
        if (ship_parse_ack(sd->r->buf, sd->r->len, &rej, &dup, first, sizeof(first)) != 0)
            log_warn("ship", "acknowledgement not understood (batch counted as stored) "
                     "answer=\"%.200s\"", sd->r->buf);
        s->st.duplicates += dup;
        if (rej > 0 && !dup) {
            /* lines the center refused for good: counted, shown once in a while */
            s->st.rejected += rej;
            s->st.dropped += rej;
            uint64_t supp = 0;
            if (log_rate_allow(&s->rl_send, &supp))
                log_warn("ship", "center rejected lines batch=%016" PRIx64 "-%s rejected=%" PRIu64
                         " first=\"%s\" suppressed=%" PRIu64, g->seq, g->runid, rej, first, supp);
        }
        segs_pop_head(s);
        sd->backoff = 0;
        sd->next_try = 0;
    } else if (status == 400 || status == 413 || status == 415) {
        /* the center will never take this batch: drop it visibly */
        log_error("ship", "center refused a batch for good status=%ld batch=%016" PRIx64
                  "-%s events=%" PRIu64 " answer=\"%.200s\"", status, g->seq, g->runid,
                  g->events, sd->r->buf);
        s->st.dropped_refused += g->events;
        s->st.dropped += g->events;
        segs_pop_head(s);
    } else {
        retry_later(s, sd, status, ra);
    }
}

static void *sender_main(void *arg)
{
    struct ship *s = arg;
    struct sender sd;
    memset(&sd, 0, sizeof(sd));
    size_t ul = strlen(s->c.url);
    while (ul > 0 && s->c.url[ul - 1] == '/')
        ul--;
    snprintf(sd.url, sizeof(sd.url), "%.*s/api/v1/ingest", (int)ul, s->c.url);
    snprintf(sd.auth, sizeof(sd.auth), "Authorization: Bearer %s", s->token);
    sd.h = curl_easy_init();
    sd.r = xalloc(MEM_OUTPUT, sizeof(*sd.r));
    if (sd.h == NULL || sd.r == NULL) {
        log_error("ship", "cannot start the sender: out of memory");
        goto out;
    }
    struct seg g;
    while (next_batch(s, &sd, &g)) {
        if (read_segment(s, &g, &sd.body, &sd.cap, &sd.len) != 0) {
            log_error("ship", "spool segment unreadable, dropped seq=%" PRIu64 " events=%" PRIu64,
                      g.seq, g.events);
            pthread_mutex_lock(&s->mu);
            segs_pop_head(s);
            s->st.dropped_write += g.events;
            s->st.dropped += g.events;
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        long ra = 0;
        long status = post_batch(s, &sd, &g, &ra);
        pthread_mutex_lock(&s->mu);
        on_answer(s, &sd, &g, status, ra);
        pthread_mutex_unlock(&s->mu);
    }
out:
    xfree(sd.body);
    xfree(sd.r);
    if (sd.h != NULL)
        curl_easy_cleanup(sd.h);
    return NULL;
}

/* ---- public --------------------------------------------------------------- */

void ship_conf_from_sensor(const struct sensor_conf *sc, struct ship_conf *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->url, sizeof(c->url), "%s", sc->ship_url);
    snprintf(c->state_dir, sizeof(c->state_dir), "%s", sc->ship_state_dir);
    snprintf(c->types, sizeof(c->types), "%s", sc->ship_types);
    c->spool_size = sc->ship_spool_size;
    c->queue_size = sc->ship_queue_size;
    c->batch_events = (uint64_t)sc->ship_batch_events;
    c->batch_bytes = sc->ship_batch_bytes;
    c->batch_age_us = sc->ship_batch_age;
    c->fsync = sc->ship_fsync;
    c->timeout_us = sc->ship_timeout;
    c->backoff_max_us = sc->ship_backoff_max;
    c->drain_us = sc->ship_drain_timeout;
}

struct ship *ship_new(const struct ship_conf *c, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init_once);
    struct ship *s = xcalloc(MEM_OUTPUT, 1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->c = *c;
    s->ofd = -1;
    pthread_mutex_init(&s->mu, NULL);
    cond_init_mono(&s->wcond);
    cond_init_mono(&s->scond);
    s->rl_spool.interval_s = 1;
    s->rl_send.interval_s = 10;
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0) {
        snprintf(err, errlen, "ship.url: \"%s\" is not an http:// or https:// URL", c->url);
        goto fail;
    }
    if (c->batch_bytes * 2 > c->spool_size) {
        snprintf(err, errlen, "ship.spool_size must hold two batches (2 x ship.batch_bytes)");
        goto fail;
    }
    if (parse_types(s, c->types, err, errlen) != 0 || read_token(s, err, errlen) != 0)
        goto fail;
    snprintf(s->spool, sizeof(s->spool), "%s/spool", c->state_dir);
    if (mkdir_0700(c->state_dir, err, errlen) != 0 || mkdir_0700(s->spool, err, errlen) != 0)
        goto fail;
    uint8_t rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        snprintf(err, errlen, "getrandom: %s", strerror(errno));
        goto fail;
    }
    for (int i = 0; i < 8; i++)
        snprintf(s->runid + (size_t)2 * (size_t)i, 3, "%02x", rnd[i]);
    s->qcap = c->queue_size / 2;
    s->qbuf = xalloc(MEM_OUTPUT, s->qcap);
    s->wbuf = xalloc(MEM_OUTPUT, s->qcap);
    if (s->qbuf == NULL || s->wbuf == NULL) {
        snprintf(err, errlen, "out of memory for the ship queue");
        goto fail;
    }
    if (spool_recover(s, err, errlen) != 0)
        goto fail;
    /* a lowered cap: make room now */
    while (s->st.spool_bytes > s->c.spool_size && spool_evict_one(s))
        ;
    if (pthread_create(&s->wthr, NULL, writer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the spool writer thread");
        goto fail;
    }
    s->wstarted = true;
    if (pthread_create(&s->sthr, NULL, sender_main, s) != 0) {
        snprintf(err, errlen, "cannot start the sender thread");
        goto fail;
    }
    s->sstarted = true;
    log_info("ship", "shipping to %s spool=%s types=%s", c->url, s->spool, c->types);
    return s;
fail:
    ship_free(s);
    return NULL;
}

void ship_offer(struct ship *s, const char *line, size_t len)
{
    static const char key[] = "\"event_type\":\"";
    size_t look = len < 256 ? len : 256;
    const char *k = memmem(line, look, key, sizeof(key) - 1);
    if (k == NULL)
        return;
    const char *t = k + sizeof(key) - 1, *end = line + len;
    const char *q = memchr(t, '"', (size_t)(end - t));
    if (q == NULL)
        return;
    size_t tl = (size_t)(q - t);
    if (!s->all_types) {
        bool hit = false;
        for (size_t i = 0; i < s->ntypes && !hit; i++)
            hit = strlen(s->types[i]) == tl && memcmp(s->types[i], t, tl) == 0;
        if (!hit)
            return;
    }
    if (memchr(line, '\n', len) != NULL)
        return; /* never: event lines have no newline */
    pthread_mutex_lock(&s->mu);
    if (s->qused + len + 1 > s->qcap) {
        s->st.dropped_queue++;
        s->st.dropped++;
    } else {
        memcpy(s->qbuf + s->qused, line, len);
        s->qbuf[s->qused + len] = '\n';
        size_t before = s->qused;
        s->qused += len + 1;
        s->st.queued++;
        if (before < s->qcap / 8 && s->qused >= s->qcap / 8)
            pthread_cond_signal(&s->wcond); /* once per fill, not per event */
    }
    pthread_mutex_unlock(&s->mu);
}

static void join_all(struct ship *s)
{
    if (s->wstarted)
        pthread_join(s->wthr, NULL);
    if (s->sstarted)
        pthread_join(s->sthr, NULL);
    s->wstarted = s->sstarted = false;
}

void ship_drain(struct ship *s)
{
    pthread_mutex_lock(&s->mu);
    s->draining = true;
    s->deadline_us = ts_mono_us() + s->c.drain_us;
    atomic_store(&s->abort_at_us, s->deadline_us ? s->deadline_us : 1);
    pthread_cond_signal(&s->wcond);
    pthread_cond_signal(&s->scond);
    pthread_mutex_unlock(&s->mu);
    join_all(s);
    struct ship_stats st;
    ship_stats(s, &st);
    log_notice("ship", "done queued=%" PRIu64 " spooled=%" PRIu64 " acked=%" PRIu64
               " acked_batches=%" PRIu64 " duplicates=%" PRIu64 " retries=%" PRIu64
               " dropped=%" PRIu64 " dropped_queue=%" PRIu64 " dropped_spool=%" PRIu64
               " dropped_write=%" PRIu64 " dropped_refused=%" PRIu64 " rejected=%" PRIu64
               " spool_segments=%" PRIu64
               " spool_bytes=%" PRIu64,
               st.queued, st.spooled, st.acked, st.acked_batches, st.duplicates, st.retries,
               st.dropped, st.dropped_queue, st.dropped_spool, st.dropped_write,
               st.dropped_refused, st.rejected, st.spool_segments, st.spool_bytes);
    if (st.spool_segments > 0)
        log_notice("ship", "batches left in the spool are sent after the next start "
                   "segments=%" PRIu64, st.spool_segments);
}

void ship_free(struct ship *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    atomic_store(&s->abort_at_us, 1);
    pthread_cond_signal(&s->wcond);
    pthread_cond_signal(&s->scond);
    pthread_mutex_unlock(&s->mu);
    join_all(s);
    if (s->ofd >= 0)
        close(s->ofd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wcond);
    pthread_cond_destroy(&s->scond);
    xfree(s->qbuf);
    xfree(s->wbuf);
    xfree(s->segs);
    xfree(s);
}

void ship_stats(struct ship *s, struct ship_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}

void ship_stats_json(struct ship *s, struct jw *w)
{
    struct ship_stats st;
    ship_stats(s, &st);
    jw_obj_open(w, "ship");
    jw_u64(w, "queued", st.queued);
    jw_u64(w, "spooled", st.spooled);
    jw_u64(w, "batches_sent", st.batches_sent);
    jw_u64(w, "acked", st.acked);
    jw_u64(w, "acked_batches", st.acked_batches);
    jw_u64(w, "duplicates", st.duplicates);
    jw_u64(w, "retries", st.retries);
    jw_u64(w, "dropped", st.dropped);
    jw_u64(w, "dropped_queue", st.dropped_queue);
    jw_u64(w, "dropped_spool", st.dropped_spool);
    jw_u64(w, "dropped_write", st.dropped_write);
    jw_u64(w, "dropped_refused", st.dropped_refused);
    jw_u64(w, "rejected", st.rejected);
    jw_u64(w, "spool_bytes", st.spool_bytes);
    jw_u64(w, "spool_segments", st.spool_segments);
    jw_obj_close(w);
}

/* ---- answers of the center ------------------------------------------------ */

int ship_parse_ack(const char *body, size_t len, uint64_t *rejected, bool *duplicate,
                   char *first_error, size_t elen)
{
    json_error_t je;
    *rejected = 0;
    *duplicate = false;
    if (elen > 0)
        first_error[0] = '\0';
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return ERR_INVAL;
    int rc = ERR_INVAL;
    json_t *rej = json_object_get(j, "rejected"), *dup = json_object_get(j, "duplicate");
    if (!json_is_integer(rej) || json_integer_value(rej) < 0 || !json_is_boolean(dup))
        goto out;
    *rejected = (uint64_t)json_integer_value(rej);
    *duplicate = json_is_true(dup);
    json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
    json_t *line = json_object_get(e0, "line"), *text = json_object_get(e0, "error");
    if (elen > 0 && json_is_integer(line) && json_is_string(text))
        snprintf(first_error, elen, "line %lld: %.100s", (long long)json_integer_value(line),
                 json_string_value(text));
    rc = 0;
out:
    json_decref(j);
    return rc;
}

/* ---- enrollment ----------------------------------------------------------- */

int ship_parse_enroll_reply(const char *body, size_t len, char *tok, size_t toklen,
                            int64_t *sensor_id)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    int rc = ERR_INVAL;
    if (j == NULL)
        return ERR_INVAL;
    json_t *t = json_object_get(j, "token");
    json_t *id = json_object_get(j, "sensor_id");
    if (!json_is_string(t) || !valid_token(json_string_value(t), json_string_length(t)) ||
        toklen <= SHIP_TOKEN_LEN)
        goto out;
    memcpy(tok, json_string_value(t), SHIP_TOKEN_LEN);
    tok[SHIP_TOKEN_LEN] = '\0';
    *sensor_id = json_is_integer(id) ? (int64_t)json_integer_value(id) : -1;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

static int write_token(const char *dir, const char *tok, char *err, size_t errlen)
{
    char path[SHIP_FILE_MAX], tmp[SHIP_FILE_MAX];
    snprintf(path, sizeof(path), "%s/token", dir);
    snprintf(tmp, sizeof(tmp), "%s/token.tmp", dir);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return ERR_IO;
    }
    char line[SHIP_TOKEN_LEN + 2];
    int n = snprintf(line, sizeof(line), "%s\n", tok);
    bool ok = n > 0 && write_full(fd, line, (size_t)n) == (size_t)n && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        e = ok ? errno : e;
        unlink(tmp);
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return ERR_IO;
    }
    fsync_dir(dir);
    return 0;
}

int ship_enroll(const char *url, const char *code, const char *state_dir, uint64_t timeout_us,
                int64_t *sensor_id, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init_once);
    size_t cl = strlen(code);
    if (cl < 5 || cl > 128 || strncmp(code, "otc_", 4) != 0 || !valid_type(code, cl)) {
        snprintf(err, errlen, "enrollment code \"%.128s\" is not otc_ and hex digits", code);
        return ERR_INVAL;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "\"%s\" is not an http:// or https:// URL", url);
        return ERR_INVAL;
    }
    if (mkdir_0700(state_dir, err, errlen) != 0)
        return ERR_IO;
    char full[SHIP_PATH_MAX + CONF_STR_MAX], body[256];
    size_t ul = strlen(url);
    while (ul > 0 && url[ul - 1] == '/')
        ul--;
    snprintf(full, sizeof(full), "%.*s/api/v1/enroll", (int)ul, url);
    int blen = snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
    CURL *h = curl_easy_init();
    struct resp *r = xalloc(MEM_OUTPUT, sizeof(*r));
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    int rc = ERR_IO;
    if (h == NULL || r == NULL || hl == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    long ra = 0;
    long status = http_post(h, full, hl, body, (size_t)blen, timeout_us, NULL, r, &ra);
    char tok[SHIP_TOKEN_LEN + 1];
    if (status == 0) {
        snprintf(err, errlen, "%s: %s", full, r->buf);
    } else if (status != 200) {
        snprintf(err, errlen, "%s: the center answered %ld %.200s%s", full, status, r->buf,
                 status == 401 ? " (unknown, used or expired code)" : "");
    } else if (ship_parse_enroll_reply(r->buf, r->len, tok, sizeof(tok), sensor_id) != 0) {
        snprintf(err, errlen, "%s: the answer holds no device token", full);
        rc = ERR_INVAL;
    } else {
        rc = write_token(state_dir, tok, err, errlen);
    }
out:
    curl_slist_free_all(hl);
    xfree(r);
    if (h != NULL)
        curl_easy_cleanup(h);
    return rc;
}
