/* Unit tests of sensor/output/sink: buffering, file/stdout modes, rotation by size and by
 * event time with deterministic names, keep_files, no overwrite of existing names,
 * leftover eve.json, /dev/full (ENOSPC without root) with the rate-limited log, and, as
 * root, a real 64 KiB tmpfs that fills up and frees space again: output must resume and
 * hold only complete lines, exactly events - dropped of them. */
#include "check.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "output/sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define T0 1763856000000000ull /* 2025-11-23T00:00:00Z in microseconds */

static char g_dir[64];
static char g_err[512];

static int mk_tmpdir(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/sink_test_XXXXXX");
    return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static void rm_tmpdir(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char p[512];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", g_dir, e->d_name);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(g_dir);
}

/* Reads a whole file into a malloc'd NUL-terminated string (NULL when absent). */
static char *slurp(const char *path, size_t *len)
{
    if (len)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *s = NULL;
    size_t n = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 4096;
            char *ns = realloc(s, cap);
            if (ns == NULL) {
                free(s);
                fclose(f);
                return NULL;
            }
            s = ns;
        }
        s[n++] = (char)c;
    }
    fclose(f);
    if (s == NULL)
        s = calloc(1, 1);
    else
        s[n] = '\0';
    if (len)
        *len = n;
    return s;
}

static char *slurp_in(const char *name, size_t *len)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    return slurp(p, len);
}

static bool exists_in(const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    return stat(p, &st) == 0;
}

static int count_files(void)
{
    int n = 0;
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

/* Checks that s holds only complete lines of the form {"n":N,...}; returns the line
 * count, or -1 when a line is malformed or the text does not end with '\n'. */
static long count_good_lines(const char *s, size_t len)
{
    long lines = 0;
    size_t start = 0;
    if (len > 0 && s[len - 1] != '\n')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\n')
            continue;
        if (i - start < 8 || strncmp(s + start, "{\"n\":", 5) != 0 || s[i - 1] != '}')
            return -1;
        lines++;
        start = i + 1;
    }
    return lines;
}

static int put(struct sink *s, unsigned n, size_t pad, uint64_t ts)
{
    char line[4096];
    int len = snprintf(line, sizeof(line), "{\"n\":%u,\"pad\":\"%.*s\"}", n, (int)pad,
                       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    return sink_write(s, line, (size_t)len, ts);
}

static void test_file_buffered(void)
{
    struct sink_conf c = {.kind = SINK_FILE, .buffer_size = 4096};
    struct sink_stats st;
    size_t len;
    CHECK(mk_tmpdir() == 0);
    snprintf(c.path, sizeof(c.path), "%s/out.json", g_dir);
    struct sink *s = sink_open(&c, g_err, sizeof(g_err));
    CHECK(s != NULL);
    for (unsigned i = 0; i < 10; i++)
        CHECK(put(s, i, 10, 0) == 0);
    char *t = slurp(c.path, &len);
    CHECK(t != NULL && len == 0); /* still buffered */
    free(t);
    CHECK(sink_flush(s) == 0);
    t = slurp(c.path, &len);
    CHECK(count_good_lines(t, len) == 10);
    CHECK(strncmp(t, "{\"n\":0,\"pad\":\"xxxxxxxxxx\"}\n{\"n\":1,", 32) == 0);
    free(t);
    CHECK(sink_write(s, "a\nb", 3, 0) == ERR_INVAL);
    sink_stats(s, &st);
    CHECK_EQ_U64(st.events, 11);
    CHECK_EQ_U64(st.dropped, 1);
    CHECK_EQ_U64(st.bytes, len);
    /* a line larger than the buffer goes straight through, in order */
    CHECK(put(s, 10, 5, 0) == 0);
    char big[5000];
    memset(big, 'y', sizeof(big));
    memcpy(big, "{\"n\":11,\"b\":\"", 13);
    memcpy(big + sizeof(big) - 2, "\"}", 2);
    CHECK(sink_write(s, big, sizeof(big), 0) == 0);
    sink_close(s);
    t = slurp(c.path, &len);
    CHECK(count_good_lines(t, len) == 12);
    free(t);
    /* truncate by default, append on request */
    s = sink_open(&c, g_err, sizeof(g_err));
    CHECK(s != NULL);
    CHECK(put(s, 0, 0, 0) == 0);
    sink_close(s);
    c.append = true;
    c.buffer_size = 0; /* unbuffered: written at once */
    s = sink_open(&c, g_err, sizeof(g_err));
    CHECK(s != NULL);
    CHECK(put(s, 1, 0, 0) == 0);
    t = slurp(c.path, &len);
    CHECK_STR(t, "{\"n\":0,\"pad\":\"\"}\n{\"n\":1,\"pad\":\"\"}\n");
    free(t);
    sink_close(s);
    rm_tmpdir();
}

static void test_open_errors(void)
{
    struct sink_conf c = {.kind = SINK_DIR};
    snprintf(c.path, sizeof(c.path), "/nonexistent/dir");
    CHECK(sink_open(&c, g_err, sizeof(g_err)) == NULL);
    CHECK_STR(g_err, "/nonexistent/dir: No such file or directory");
    c.kind = SINK_FILE;
    c.rotate_size = 1000;
    CHECK(sink_open(&c, g_err, sizeof(g_err)) == NULL);
    CHECK_STR(g_err, "output: rotation needs output mode dir (mode is file)");
    c.rotate_size = 0;
    CHECK(sink_open(&c, g_err, sizeof(g_err)) == NULL);
    CHECK_STR(g_err, "/nonexistent/dir: No such file or directory");
    c.kind = SINK_DIR;
    snprintf(c.path, sizeof(c.path), "/dev/null");
    CHECK(sink_open(&c, g_err, sizeof(g_err)) == NULL);
    CHECK_STR(g_err, "/dev/null: not a directory (output mode dir)");
    c.path[0] = '\0';
    CHECK(sink_open(&c, g_err, sizeof(g_err)) == NULL);
    CHECK_STR(g_err, "output: path is empty or not terminated");
    /* allocation failures: the sink itself, then its buffer */
    c.kind = SINK_STDOUT;
    c.buffer_size = 4096;
    for (long n = 1; n <= 2; n++) {
        mem_fail_after(n);
        struct sink *s = sink_open(&c, g_err, sizeof(g_err));
        mem_fail_after(0);
        CHECK(s == NULL);
        CHECK(strncmp(g_err, "output: out of memory", 21) == 0);
    }
    c.buffer_size = SINK_BUFFER_MAX + 1;
    CHECK(sink_open(&c, g_err, sizeof(g_err)) == NULL);
    CHECK_STR(g_err, "output: buffer size too large (max 67108864 bytes)");
    struct mem_stat ms;
    mem_get(MEM_OUTPUT, &ms);
    CHECK_EQ_U64(ms.in_use, 0);
}

static void test_stdout(void)
{
    char path[] = "/tmp/sink_stdout_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    CHECK(saved >= 0 && dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
    struct sink_conf c = {.kind = SINK_STDOUT, .buffer_size = 256};
    struct sink *s = sink_open(&c, g_err, sizeof(g_err));
    if (s != NULL) {
        for (unsigned i = 0; i < 20; i++)
            put(s, i, 20, 0);
        sink_close(s);
    }
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fd);
    CHECK(s != NULL);
    CHECK(fcntl(STDOUT_FILENO, F_GETFD) >= 0); /* not closed by sink_close */
    size_t len;
    char *t = slurp(path, &len);
    unlink(path);
    CHECK(count_good_lines(t, len) == 20);
    free(t);
}

static void test_rotate_size_keep(void)
{
    struct sink_conf c = {.kind = SINK_DIR, .rotate_size = 1000, .keep_files = 3,
                          .buffer_size = 512};
    struct sink_stats st;
    size_t len;
    CHECK(mk_tmpdir() == 0);
    snprintf(c.path, sizeof(c.path), "%s", g_dir);
    char p[512];
    snprintf(p, sizeof(p), "%s/eve-keep.json", g_dir); /* not ours: never deleted */
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fclose(f);
    struct sink *s = sink_open(&c, g_err, sizeof(g_err));
    CHECK(s != NULL);
    /* 100-byte lines, one per second from T0: ten lines (1000 bytes) per file */
    for (unsigned i = 0; i < 60; i++)
        CHECK(put(s, i, 84 - (i >= 10 ? 2 : 1), T0 + (uint64_t)i * 1000000) == 0);
    CHECK(sink_flush(s) == 0);
    sink_stats(s, &st);
    sink_close(s);
    CHECK_EQ_U64(st.rotations, 5);
    CHECK_EQ_U64(st.events, 60);
    CHECK_EQ_U64(st.bytes, 6000);
    CHECK_EQ_U64(st.dropped, 0);
    CHECK(count_files() == 5);
    CHECK(exists_in("eve-keep.json"));
    CHECK(!exists_in("eve-20251123-000010.json")); /* pruned, oldest first */
    const char *kept[] = {"eve-20251123-000020.json", "eve-20251123-000030.json",
                          "eve-20251123-000040.json", "eve.json"};
    for (unsigned k = 0; k < 4; k++) {
        char *t = slurp_in(kept[k], &len);
        CHECK(t != NULL);
        CHECK(count_good_lines(t, len) == 10);
        char want[16];
        snprintf(want, sizeof(want), "{\"n\":%u,", 20 + k * 10);
        CHECK(strncmp(t, want, strlen(want)) == 0);
        free(t);
    }
    rm_tmpdir();
}

static void test_rotate_interval_names(void)
{
    struct sink_conf c = {.kind = SINK_DIR, .rotate_interval_us = 3600000000ull,
                          .buffer_size = 4096};
    struct sink_stats st;
    size_t len;
    CHECK(mk_tmpdir() == 0);
    snprintf(c.path, sizeof(c.path), "%s", g_dir);
    struct sink *s = sink_open(&c, g_err, sizeof(g_err));
    CHECK(s != NULL);
    static const uint64_t ts[] = {T0 + 5000000, T0 + 1800000000, T0 + 3599999999,
                                  T0 + 3600000000, T0 + 5400000000, T0 + 10805000000,
                                  T0 + 3000000 /* late packet: no rotation backwards */};
    for (unsigned i = 0; i < 7; i++)
        CHECK(put(s, i, 3, ts[i]) == 0);
    sink_stats(s, &st);
    sink_close(s);
    CHECK_EQ_U64(st.rotations, 2);
    char *t = slurp_in("eve-20251123-000005.json", &len); /* named by its first event */
    CHECK(t != NULL && count_good_lines(t, len) == 3);
    free(t);
    t = slurp_in("eve-20251123-010000.json", &len);
    CHECK(t != NULL && count_good_lines(t, len) == 2);
    free(t);
    t = slurp_in("eve.json", &len);
    CHECK(t != NULL && count_good_lines(t, len) == 2);
    free(t);

    /* Restart without append: the leftover eve.json is rotated away by its mtime, and
     * the name taken by an existing file gets -1 instead of replacing it. */
    char p[512];
    snprintf(p, sizeof(p), "%s/eve.json", g_dir);
    struct timeval tv[2] = {{(time_t)((T0 + 10805000000) / 1000000), 0},
                            {(time_t)((T0 + 10805000000) / 1000000), 0}};
    CHECK(utimes(p, tv) == 0);
    snprintf(p, sizeof(p), "%s/eve-20251123-030005.json", g_dir);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fputs("other\n", f);
    fclose(f);
    s = sink_open(&c, g_err, sizeof(g_err));
    CHECK(s != NULL);
    CHECK(put(s, 99, 0, T0 + 10805000000) == 0);
    sink_close(s);
    t = slurp_in("eve-20251123-030005.json", &len);
    CHECK_STR(t, "other\n");
    free(t);
    t = slurp_in("eve-20251123-030005-1.json", &len);
    CHECK(t != NULL && count_good_lines(t, len) == 2);
    free(t);
    t = slurp_in("eve.json", &len);
    CHECK_STR(t, "{\"n\":99,\"pad\":\"\"}\n");
    free(t);
    CHECK(count_files() == 5);
    rm_tmpdir();
}

/* Runs fn with stderr sent to a temporary file; returns how many lines it logged that
 * contain `needle`. */
static int stderr_lines(void (*fn)(void *), void *arg, const char *needle)
{
    char path[] = "/tmp/sink_stderr_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    size_t len;
    char *t = slurp(path, &len);
    unlink(path);
    int n = 0;
    for (char *p = t; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(t);
    return n;
}

struct full_run {
    struct sink *s;
    int nospace;
};

static void write_1000(void *arg)
{
    struct full_run *r = arg;
    for (unsigned i = 0; i < 1000; i++)
        r->nospace += put(r->s, i, 80, 0) == ERR_NOSPACE;
    r->nospace += sink_flush(r->s) == ERR_NOSPACE;
}

static void test_dev_full(void)
{
    struct sink_conf c = {.kind = SINK_FILE, .buffer_size = 1024};
    struct sink_stats st;
    snprintf(c.path, sizeof(c.path), "/dev/full");
    struct full_run r = {.s = sink_open(&c, g_err, sizeof(g_err))};
    if (r.s == NULL)
        SKIP(g_err);
    int logged = stderr_lines(write_1000, &r, "mod=output write failed");
    sink_stats(r.s, &st);
    sink_close(r.s);
    CHECK_EQ_U64(st.events, 1000);
    CHECK_EQ_U64(st.dropped, 1000);
    CHECK_EQ_U64(st.bytes, 0);
    CHECK(st.write_errors >= 100);
    CHECK(r.nospace >= 100);
    CHECK(logged >= 1 && logged <= 2); /* one per second at most */
}

/* Fills a 64 KiB tmpfs, then frees space: output resumes with whole lines only. */
static void test_tmpfs_full(void)
{
    struct sink_stats st;
    size_t len;
    if (geteuid() != 0)
        SKIP("needs root to mount a tmpfs");
    CHECK(mk_tmpdir() == 0);
    if (mount("tmpfs", g_dir, "tmpfs", 0, "size=64k") != 0) {
        rmdir(g_dir);
        SKIP("mount -t tmpfs failed");
    }
    char filler[128], eve[128];
    snprintf(filler, sizeof(filler), "%s/filler", g_dir);
    snprintf(eve, sizeof(eve), "%s/eve.json", g_dir);
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    char blk[4096];
    memset(blk, 'f', sizeof(blk));
    for (int i = 0; i < 8; i++)
        if (fd < 0 || write(fd, blk, sizeof(blk)) != (ssize_t)sizeof(blk))
            break;
    close(fd);

    struct sink_conf c = {.kind = SINK_FILE, .buffer_size = 1000};
    snprintf(c.path, sizeof(c.path), "%s", eve);
    struct sink *s = sink_open(&c, g_err, sizeof(g_err));
    unsigned n = 0;
    for (st.dropped = 0; s != NULL && st.dropped < 200 && n < 10000; n++) {
        put(s, n, 50 + n % 37, 0);
        sink_stats(s, &st);
    }
    sink_flush(s);
    sink_stats(s, &st);
    char *t = slurp(eve, &len);
    long good = count_good_lines(t, len);
    free(t);
    unlink(filler); /* space returns */
    for (unsigned i = 0; s != NULL && i < 100; i++)
        put(s, n++, 50, 0);
    struct sink_stats st2;
    if (s != NULL) {
        sink_flush(s);
        sink_stats(s, &st2);
        sink_close(s);
    }
    t = slurp(eve, &len);
    long good2 = count_good_lines(t, len);
    char last[32];
    snprintf(last, sizeof(last), "{\"n\":%u,", n - 1);
    bool last_ok = t != NULL && len > 0 && strstr(t, last) != NULL;
    free(t);
    umount2(g_dir, MNT_DETACH);
    rmdir(g_dir);
    CHECK(s != NULL);
    CHECK(st.dropped >= 200 && st.write_errors > 0);
    CHECK(good >= 0 && (uint64_t)good == st.events - st.dropped);
    CHECK_EQ_U64(st2.dropped, st.dropped); /* nothing lost once space came back */
    CHECK(good2 >= 0 && (uint64_t)good2 == st2.events - st2.dropped);
    CHECK(last_ok);
}

int main(void)
{
    RUN(test_file_buffered);
    RUN(test_open_errors);
    RUN(test_stdout);
    RUN(test_rotate_size_keep);
    RUN(test_rotate_interval_names);
    RUN(test_dev_full);
    RUN(test_tmpfs_full);
    return check_done();
}
