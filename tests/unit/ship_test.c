/*
 * Unit tests of the shipper's spool (sensor/ship) without a center: the URL points at
 * a closed loopback port, so every batch stays spooled. Checks batching by count,
 * the event-type filter, the spool cap (oldest deleted and counted, bytes under the
 * cap), recovery of a segment a crashed process left open (cut to its last whole
 * line, closed under its own name, counted), and bad settings refused with a message.
 */
#include "check.h"
#include "ship/ship.h"

#include "otasuke/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[200];

static void mkstate(const char *name)
{
    char cmd[512];
    snprintf(g_dir, sizeof(g_dir), "/tmp/otasuke-ship-test-%d-%s", (int)getpid(), name);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    if (system(cmd) != 0)
        return;
    char p[512];
    snprintf(p, sizeof(p), "%s/token", g_dir);
    FILE *f = fopen(p, "w");
    if (f != NULL) {
        fprintf(f, "otk_");
        for (int i = 0; i < 64; i++)
            fputc('a', f);
        fputc('\n', f);
        fclose(f);
    }
}

static void cleanup(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

static void conf(struct ship_conf *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->url, sizeof(c->url), "http://127.0.0.1:1");
    snprintf(c->state_dir, sizeof(c->state_dir), "%s", g_dir);
    snprintf(c->types, sizeof(c->types), "dns, http");
    c->spool_size = 1 << 20;
    c->queue_size = 1 << 20;
    c->batch_events = 10;
    c->batch_bytes = (uint64_t)64 * 1024;
    c->batch_age_us = 3600ull * 1000000;
    c->fsync = false;
    c->timeout_us = 1000000;
    c->backoff_max_us = 3600ull * 1000000; /* one failed try, then quiet */
    c->drain_us = 0;
}

static void offer(struct ship *s, const char *type, int n)
{
    char line[256];
    int len = snprintf(line, sizeof(line),
                       "{\"timestamp\":\"2026-11-23T00:00:00.000000+0000\",\"event_type\":\"%s\","
                       "\"n\":%d,\"pad\":\"%040d\"}", type, n, n);
    ship_offer(s, line, (size_t)len);
}

/* Counts *.seg and *.open files and their lines in the spool. */
static void count_spool(int *segs, int *opens, int *lines)
{
    char dir[300], p[600];
    snprintf(dir, sizeof(dir), "%s/spool", g_dir);
    *segs = *opens = *lines = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".seg") == 0)
            (*segs)++;
        else if (n > 5 && strcmp(de->d_name + n - 5, ".open") == 0)
            (*opens)++;
        else
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        FILE *f = fopen(p, "r");
        int ch;
        while (f != NULL && (ch = fgetc(f)) != EOF)
            *lines += ch == '\n';
        if (f != NULL)
            fclose(f);
    }
    closedir(d);
}

static void test_batches_and_filter(void)
{
    struct ship_conf c;
    char err[512];
    mkstate("batch");
    conf(&c);
    struct ship *s = ship_new(&c, err, sizeof(err));
    CHECK(s != NULL);
    for (int i = 0; i < 95; i++)
        offer(s, i % 2 ? "dns" : "http", i);
    for (int i = 0; i < 20; i++)
        offer(s, "flow", i); /* not shipped */
    ship_drain(s);
    struct ship_stats st;
    ship_stats(s, &st);
    ship_free(s);
    CHECK_EQ_U64(st.queued, 95);
    CHECK_EQ_U64(st.spooled, 95);
    CHECK_EQ_U64(st.dropped, 0);
    CHECK_EQ_U64(st.acked, 0);
    CHECK_EQ_U64(st.spool_segments, 10); /* 9 full batches and the rest, closed at exit */
    int segs, opens, lines;
    count_spool(&segs, &opens, &lines);
    CHECK_EQ_U64(segs, 10);
    CHECK_EQ_U64(opens, 0);
    CHECK_EQ_U64(lines, 95);

    /* a restart finds all of them */
    s = ship_new(&c, err, sizeof(err));
    CHECK(s != NULL);
    ship_drain(s);
    ship_stats(s, &st);
    ship_free(s);
    CHECK_EQ_U64(st.spool_segments, 10);
    cleanup();
}

static void test_cap(void)
{
    struct ship_conf c;
    char err[512];
    mkstate("cap");
    conf(&c);
    c.spool_size = (uint64_t)64 * 1024;
    c.batch_bytes = (uint64_t)4 * 1024;
    c.batch_events = 1000;
    c.queue_size = 8 << 20; /* no queue drops: this test is about the cap */
    struct ship *s = ship_new(&c, err, sizeof(err));
    CHECK(s != NULL);
    for (int i = 0; i < 5000; i++)
        offer(s, "dns", i);
    ship_drain(s);
    struct ship_stats st;
    ship_stats(s, &st);
    ship_free(s);
    CHECK_EQ_U64(st.queued, 5000);
    CHECK(st.dropped_spool > 0);
    CHECK(st.spool_bytes <= c.spool_size);
    int segs, opens, lines;
    count_spool(&segs, &opens, &lines);
    /* every queued event is in the spool or counted */
    CHECK_EQ_U64((uint64_t)lines + st.dropped, 5000);
    cleanup();
}

static void test_recover_open(void)
{
    struct ship_conf c;
    char err[512], p[600];
    mkstate("recover");
    conf(&c);
    snprintf(p, sizeof(p), "%s/spool", g_dir);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof(p), "%s/spool/00000000000000ff-0123456789abcdef.open", g_dir);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fputs("{\"event_type\":\"dns\",\"n\":1}\n{\"event_type\":\"dns\",\"n\":2}\n{\"event_ty", f);
    fclose(f);
    struct ship *s = ship_new(&c, err, sizeof(err));
    CHECK(s != NULL);
    ship_drain(s);
    struct ship_stats st;
    ship_stats(s, &st);
    ship_free(s);
    CHECK_EQ_U64(st.spool_segments, 1);
    CHECK_EQ_U64(st.spool_bytes, 2 * strlen("{\"event_type\":\"dns\",\"n\":1}\n"));
    snprintf(p, sizeof(p), "%s/spool/00000000000000ff-0123456789abcdef.seg", g_dir);
    struct stat sb;
    CHECK(stat(p, &sb) == 0);
    CHECK_EQ_U64(sb.st_size, st.spool_bytes);
    cleanup();
}

static void test_bad_settings(void)
{
    struct ship_conf c;
    char err[512];
    mkstate("bad");
    conf(&c);
    snprintf(c.types, sizeof(c.types), "dns,Bad-Type");
    CHECK(ship_new(&c, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "ship.types") != NULL);
    conf(&c);
    snprintf(c.url, sizeof(c.url), "ftp://x");
    CHECK(ship_new(&c, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "ship.url") != NULL);
    conf(&c);
    c.spool_size = c.batch_bytes;
    CHECK(ship_new(&c, err, sizeof(err)) == NULL);
    conf(&c);
    snprintf(c.state_dir, sizeof(c.state_dir), "%s/none", g_dir);
    CHECK(ship_new(&c, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "enroll first") != NULL);
    cleanup();
}

int main(void)
{
    log_set_level(LOG_ERROR);
    RUN(test_batches_and_filter);
    RUN(test_cap);
    RUN(test_recover_open);
    RUN(test_bad_settings);
    return check_done();
}
