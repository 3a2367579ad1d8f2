/*
 * `otasuke intel update` (issue 4): downloads every list of an intel YAML file that has
 * a `url:` and replaces the local copy (`path:`) only when the download is complete,
 * within its size cap and loads with the sensor's own loader (lib/intel).
 *
 *   - Conditional GET: the ETag and Last-Modified of the last good download are kept
 *     beside the list in PATH.meta ("etag: ..." / "last-modified: ..." lines) and sent
 *     back as If-None-Match / If-Modified-Since; a 304 leaves the file alone.
 *   - Size cap: the list's max_bytes (else --max-bytes, default 512 MiB); the transfer
 *     is aborted as soon as it goes past it.
 *   - Check: the temporary file is loaded into a scratch indicator set with the list's
 *     format; a list with no indicator, or with more malformed lines than indicators,
 *     is refused.
 *   - Replace: temporary file in the same folder, fsync, rename over the list, fsync
 *     of the folder. Any failure keeps the previous file and is counted.
 *   - Reload: when a list changed and --pid / --pidfile names the running sensor, it is
 *     sent SIGHUP (the sensor reloads every list on its reload thread).
 *
 * Output (stdout, key=value lines): one "list=NAME result=updated|not_modified|failed
 * ..." line per list with a url, then a summary line. Exit 0 when no list failed, 1
 * when one did, 2 on a usage or intel-file error.
 */
#include "cli/intel_update.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/intel.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES ((uint64_t)512 * 1024 * 1024)
#define VALIDATOR_MAX     256 /* longest ETag / Last-Modified value kept */
#define PATH_MAX_LEN      4096

struct upd_opts {
    const char *intel_file, *only, *pidfile;
    long pid;
    uint64_t max_bytes;
    long timeout_s;
};

struct validators {
    char etag[VALIDATOR_MAX];
    char last_modified[VALIDATOR_MAX];
};

struct xfer {
    FILE *f;
    uint64_t got, cap;
    bool too_big, write_failed;
    struct validators v; /* of the final response */
};

static void usage_update(FILE *f)
{
    fprintf(f, "usage: otasuke intel update --intel-file FILE [--list NAME] [--pid N | --pidfile "
               "FILE]\n"
               "                            [--max-bytes N] [--timeout SECONDS]\n"
               "Downloads every list of FILE that has a url: (see docs/detections.md).\n");
}

/* Trimmed copy of a header value (no CR/LF, no surrounding blanks). */
static void keep_value(char *dst, size_t cap, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap) { /* an overlong validator is not kept (the next GET is unconditional) */
        dst[0] = '\0';
        return;
    }
    for (size_t i = 0; i < n; i++) /* control bytes would break the meta file */
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            dst[0] = '\0';
            return;
        }
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) /* a new response (redirects): start over */
        memset(&x->v, 0, sizeof(x->v));
    else if (n > 5 && strncasecmp(buf, "ETag:", 5) == 0)
        keep_value(x->v.etag, sizeof(x->v.etag), buf + 5, n - 5);
    else if (n > 14 && strncasecmp(buf, "Last-Modified:", 14) == 0)
        keep_value(x->v.last_modified, sizeof(x->v.last_modified), buf + 14, n - 14);
    return n;
}

static size_t write_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nitems;
    if (x->got + n > x->cap) {
        x->too_big = true;
        return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    if (fwrite(buf, 1, n, x->f) != n) {
        x->write_failed = true;
        return 0;
    }
    x->got += n;
    return n;
}

static void meta_path(char *dst, size_t cap, const char *path)
{
    snprintf(dst, cap, "%s.meta", path);
}

static void read_meta(const char *path, struct validators *v)
{
    char mp[PATH_MAX_LEN], line[VALIDATOR_MAX + 32];
    memset(v, 0, sizeof(*v));
    meta_path(mp, sizeof(mp), path);
    FILE *f = fopen(mp, "re");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        if (strncmp(line, "etag:", 5) == 0)
            keep_value(v->etag, sizeof(v->etag), line + 5, n - 5);
        else if (strncmp(line, "last-modified:", 14) == 0)
            keep_value(v->last_modified, sizeof(v->last_modified), line + 14, n - 14);
    }
    fclose(f);
}

/* The folder of path, for the temporary file and the folder fsync. */
static void dir_of(char *dst, size_t cap, const char *path)
{
    snprintf(dst, cap, "%s", path);
    char *slash = strrchr(dst, '/');
    if (slash == dst)
        dst[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dst, cap, ".");
}

static int fsync_dir(const char *path)
{
    char dir[PATH_MAX_LEN];
    dir_of(dir, sizeof(dir), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes the validators to PATH.meta atomically; an empty pair removes it. */
static int write_meta(const char *path, const struct validators *v)
{
    char mp[PATH_MAX_LEN], tmp[PATH_MAX_LEN + 8];
    meta_path(mp, sizeof(mp), path);
    if (v->etag[0] == '\0' && v->last_modified[0] == '\0')
        return unlink(mp) == 0 || errno == ENOENT ? 0 : -1;
    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", mp) >= (int)sizeof(tmp))
        return -1;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (v->etag[0] != '\0')
        fprintf(f, "etag: %s\n", v->etag);
    if (v->last_modified[0] != '\0')
        fprintf(f, "last-modified: %s\n", v->last_modified);
    int rc = fflush(f) == 0 && fsync(fd) == 0 ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0)
        rc = rename(tmp, mp);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* Loads the downloaded file with the list's settings into a scratch set. */
static int check_list(const struct intel_list_conf *lc, const char *tmp, uint64_t *indicators,
                      char *why, size_t whylen)
{
    struct intel_list_conf c = *lc;
    c.path = tmp;
    struct intel_load_stats st;
    memset(&st, 0, sizeof(st));
    struct intel_set *s = intel_set_new();
    if (s == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int rc = -1;
    int id = intel_set_add_list(s, c.name, c.category, c.severity);
    int lrc = id < 0 ? id : intel_set_load_file(s, (unsigned)id, &c, &st);
    if (lrc != 0)
        snprintf(why, whylen, "check: %s", err_str(lrc));
    else if (st.loaded == 0)
        snprintf(why, whylen, "check: no indicator in the download (%" PRIu64 " malformed lines)",
                 st.rejected);
    else if (st.rejected > st.loaded)
        snprintf(why, whylen,
                 "check: %" PRIu64 " malformed lines for %" PRIu64 " indicators (first: %s)",
                 st.rejected, st.loaded, st.first_error);
    else
        rc = 0;
    *indicators = st.loaded;
    intel_set_unref(s);
    return rc;
}

enum outcome { OUT_UPDATED, OUT_NOT_MODIFIED, OUT_FAILED };

static CURL *make_easy(const struct intel_list_conf *lc, const struct upd_opts *o,
                       struct xfer *x, char *errbuf)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, lc->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "otasuke/" OTASUKE_VERSION);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* what libcurl can decode */
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->cap);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    if (lc->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, lc->ca_file);
    return c;
}

/* Checks the complete download tmp and renames it over the list. 0, or -1 with why. */
static int install(const struct intel_list_conf *lc, struct xfer *xp, const char *tmp,
                   uint64_t *indicators, char *why, size_t whylen)
{
    const struct xfer x = *xp;
    if (fflush(x.f) != 0 || fsync(fileno(x.f)) != 0 || x.write_failed) {
        snprintf(why, whylen, "%.300s: %s", tmp, strerror(errno));
        return -1;
    }
    if (check_list(lc, tmp, indicators, why, whylen) != 0)
        return -1;
    if (fchmod(fileno(x.f), 0644) != 0 || rename(tmp, lc->path) != 0) {
        snprintf(why, whylen, "%.300s: %s", lc->path, strerror(errno));
        return -1;
    }
    if (fsync_dir(lc->path) != 0 || write_meta(lc->path, &x.v) != 0) {
        /* The new list is in place; only the validators were lost (next GET is full). */
        fprintf(stderr, "otasuke: %s: keeping the download validators failed: %s\n", lc->path,
                strerror(errno));
    }
    return 0;
}

/* If-None-Match / If-Modified-Since from the kept validators (NULL: none). */
static struct curl_slist *conditional_headers(const struct validators *old)
{
    struct curl_slist *hdrs = NULL;
    char h[VALIDATOR_MAX + 32];
    if (old->etag[0] != '\0') {
        snprintf(h, sizeof(h), "If-None-Match: %s", old->etag);
        hdrs = curl_slist_append(hdrs, h);
    }
    if (old->last_modified[0] != '\0') {
        snprintf(h, sizeof(h), "If-Modified-Since: %s", old->last_modified);
        hdrs = curl_slist_append(hdrs, h);
    }
    return hdrs;
}

/* Downloads one list. *bytes / *indicators describe the new file when updated. */
static enum outcome update_list(const struct intel_list_conf *lc, const struct upd_opts *o,
                                uint64_t *bytes, uint64_t *indicators, char *why, size_t whylen)
{
    char tmp[PATH_MAX_LEN], errbuf[CURL_ERROR_SIZE] = "";
    struct validators old;
    struct xfer x = {.cap = lc->max_bytes ? lc->max_bytes : o->max_bytes};
    struct curl_slist *hdrs = NULL;
    enum outcome res = OUT_FAILED;
    *bytes = *indicators = 0;
    bool have_file = access(lc->path, R_OK) == 0;
    if (have_file)
        read_meta(lc->path, &old);
    else
        memset(&old, 0, sizeof(old));
    if (snprintf(tmp, sizeof(tmp), "%s.dl.XXXXXX", lc->path) >= (int)sizeof(tmp)) {
        snprintf(why, whylen, "path too long");
        return OUT_FAILED;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, whylen, "%.300s: %s", tmp, strerror(errno));
        return OUT_FAILED;
    }
    x.f = fdopen(fd, "w");
    if (x.f == NULL) {
        snprintf(why, whylen, "%.300s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return OUT_FAILED;
    }
    CURL *c = make_easy(lc, o, &x, errbuf);
    if (c == NULL) {
        snprintf(why, whylen, "libcurl: cannot start a transfer");
        goto out;
    }
    hdrs = conditional_headers(&old);
    if (hdrs != NULL)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (x.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(why, whylen, "larger than max_bytes %" PRIu64, x.cap);
        goto out;
    }
    if (cc != CURLE_OK) {
        snprintf(why, whylen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    if (status == 304 && have_file) {
        res = OUT_NOT_MODIFIED;
        goto out;
    }
    if (status != 200) {
        snprintf(why, whylen, "HTTP status %ld", status);
        goto out;
    }
    if (install(lc, &x, tmp, indicators, why, whylen) != 0)
        goto out;
    tmp[0] = '\0'; /* renamed: nothing to remove */
    *bytes = x.got;
    res = OUT_UPDATED;
out:
    curl_slist_free_all(hdrs);
    if (c != NULL)
        curl_easy_cleanup(c);
    fclose(x.f);
    if (tmp[0] != '\0')
        unlink(tmp);
    return res;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct upd_opts *o)
{
    static const struct option opts[] = {
        {"intel-file", required_argument, NULL, 'f'}, {"list", required_argument, NULL, 'l'},
        {"pid", required_argument, NULL, 'p'},        {"pidfile", required_argument, NULL, 'P'},
        {"max-bytes", required_argument, NULL, 'm'},  {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    int ch;
    uint64_t u = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        bool bad = false;
        switch (ch) {
        case 'f': o->intel_file = optarg; break;
        case 'l': o->only = optarg; break;
        case 'P': o->pidfile = optarg; break;
        case 'p':
            bad = parse_u64(optarg, 2, 4194304, &u) != 0;
            o->pid = (long)u;
            break;
        case 'm':
            bad = parse_u64(optarg, 1, 4000000000u, &o->max_bytes) != 0;
            break;
        case 't':
            bad = parse_u64(optarg, 1, 86400, &u) != 0;
            o->timeout_s = (long)u;
            break;
        case 'h': usage_update(stdout); exit(0);
        default: bad = true;
        }
        if (bad) {
            fprintf(stderr, "otasuke: intel update: bad option or value\n");
            usage_update(stderr);
            return -1;
        }
    }
    if (o->intel_file == NULL || optind != argc || (o->pid != 0 && o->pidfile != NULL)) {
        usage_update(stderr);
        return -1;
    }
    return 0;
}

static long read_pidfile(const char *path)
{
    char buf[32];
    uint64_t pid = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char *l = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (l == NULL)
        return -1;
    buf[strcspn(buf, " \r\n")] = '\0';
    return parse_u64(buf, 2, 4194304, &pid) == 0 ? (long)pid : -1;
}

/* SIGHUP to the sensor; 0, or 1 with a message. */
static int signal_sensor(const struct upd_opts *o)
{
    long pid = o->pid;
    if (o->pidfile != NULL && (pid = read_pidfile(o->pidfile)) < 0) {
        fprintf(stderr, "otasuke: %s: no sensor pid in it\n", o->pidfile);
        return 1;
    }
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "otasuke: cannot signal the sensor (pid %ld): %s\n", pid,
                strerror(errno));
        return 1;
    }
    return 0;
}

int intel_update_main(int argc, char **argv)
{
    struct upd_opts o = {.max_bytes = DEFAULT_MAX_BYTES, .timeout_s = 600};
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    struct intel_conf *ic = xcalloc(MEM_CONF, 1, sizeof(*ic));
    char err[512];
    if (ic == NULL) {
        fprintf(stderr, "otasuke: out of memory\n");
        return 2;
    }
    if (intel_conf_load(o.intel_file, ic, err, sizeof(err)) != 0) {
        fprintf(stderr, "otasuke: %s\n", err);
        intel_conf_free(ic);
        xfree(ic);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "otasuke: libcurl initialisation failed\n");
        intel_conf_free(ic);
        xfree(ic);
        return 2;
    }
    unsigned n_upd = 0, n_same = 0, n_fail = 0, n_nourl = 0;
    bool found = o.only == NULL;
    for (size_t i = 0; i < ic->n; i++) {
        const struct intel_list_conf *lc = &ic->lists[i];
        if (o.only != NULL && strcmp(o.only, lc->name) != 0)
            continue;
        found = true;
        if (lc->url == NULL) {
            n_nourl++;
            continue;
        }
        uint64_t bytes = 0, ind = 0;
        char why[512] = "";
        enum outcome r = update_list(lc, &o, &bytes, &ind, why, sizeof(why));
        if (r == OUT_UPDATED) {
            n_upd++;
            printf("list=%s result=updated bytes=%" PRIu64 " indicators=%" PRIu64 "\n", lc->name,
                   bytes, ind);
        } else if (r == OUT_NOT_MODIFIED) {
            n_same++;
            printf("list=%s result=not_modified\n", lc->name);
        } else {
            n_fail++;
            printf("list=%s result=failed\n", lc->name);
            fprintf(stderr, "otasuke: list %s (%s): %s; the previous file stays\n", lc->name,
                    lc->url, why);
        }
    }
    curl_global_cleanup();
    intel_conf_free(ic);
    xfree(ic);
    if (!found) {
        fprintf(stderr, "otasuke: no list named \"%s\" in %s\n", o.only, o.intel_file);
        return 2;
    }
    bool reload = n_upd > 0 && (o.pid != 0 || o.pidfile != NULL);
    int src = reload ? signal_sensor(&o) : 0;
    printf("updated=%u not_modified=%u failed=%u no_url=%u reloaded=%s\n", n_upd, n_same, n_fail,
           n_nourl, reload && src == 0 ? "yes" : "no");
    return n_fail > 0 || src != 0 ? 1 : 0;
}
