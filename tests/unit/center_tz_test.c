/*
 * Time zones of tenants (center/notify/tzfile.c) and their use in notification mails:
 * offsets and abbreviations read from the tz database for fixed instants (standard
 * and daylight time, before and after a transition), bad zone names refused, and a
 * mail for a tenant in Asia/Tokyo showing JST times and a +0900 Date header while
 * another thread formats New York times (no shared TZ state).
 */
#include "check.h"

#include "notify/notify.h"
#include "notify/tzfile.h"

#include "otasuke/err.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int have_tzdata(void)
{
    return access("/usr/share/zoneinfo/Asia/Tokyo", R_OK) == 0 &&
           access("/usr/share/zoneinfo/America/New_York", R_OK) == 0;
}

static void test_offsets(void)
{
    int32_t off = 0;
    char ab[16];
    /* 2026-11-23 00:00:00 UTC */
    CHECK(tz_offset("Asia/Tokyo", 1795392000, &off, ab, sizeof(ab)) == 0);
    CHECK(off == 9 * 3600 && strcmp(ab, "JST") == 0);
    CHECK(tz_offset("America/New_York", 1795392000, &off, ab, sizeof(ab)) == 0);
    CHECK(off == -5 * 3600 && strcmp(ab, "EST") == 0);
    /* 2026-07-01 12:00:00 UTC: daylight time */
    CHECK(tz_offset("America/New_York", 1782907200, &off, ab, sizeof(ab)) == 0);
    CHECK(off == -4 * 3600 && strcmp(ab, "EDT") == 0);
    CHECK(tz_offset("Europe/Berlin", 1782907200, &off, ab, sizeof(ab)) == 0);
    CHECK(off == 2 * 3600 && strcmp(ab, "CEST") == 0);
    /* 2026-03-08 06:59:59 UTC is 01:59:59 EST, one second later 03:00:00 EDT */
    CHECK(tz_offset("America/New_York", 1772953199, &off, ab, sizeof(ab)) == 0 &&
          off == -5 * 3600);
    CHECK(tz_offset("America/New_York", 1772953200, &off, ab, sizeof(ab)) == 0 &&
          off == -4 * 3600);
    CHECK(tz_offset("UTC", 1795392000, &off, ab, sizeof(ab)) == 0 && off == 0);
    /* 1800: before the first transition, local mean time of Tokyo (+9:18:59) */
    CHECK(tz_offset("Asia/Tokyo", -5364662400LL, &off, ab, sizeof(ab)) == 0 && off == 33539);
    CHECK(tz_offset("Nowhere/Land", 0, &off, ab, sizeof(ab)) == ERR_NOTFOUND);
    CHECK(tz_offset("../../etc/passwd", 0, &off, ab, sizeof(ab)) == ERR_INVAL);
    CHECK(tz_offset("/etc/passwd", 0, &off, ab, sizeof(ab)) == ERR_INVAL);
    CHECK(tz_offset("", 0, &off, ab, sizeof(ab)) == ERR_INVAL);
    CHECK(tz_offset("zone.tab", 0, &off, ab, sizeof(ab)) == ERR_INVAL); /* '.' refused */
    char out[80];
    tz_format("Asia/Tokyo", 1795392000000000LL, out, sizeof(out));
    CHECK(strcmp(out, "2026-11-23 09:00:00 JST (UTC+09:00)") == 0);
    tz_format("America/New_York", 1795392000000000LL, out, sizeof(out));
    CHECK(strcmp(out, "2026-11-22 19:00:00 EST (UTC-05:00)") == 0);
    tz_format("Asia/Kolkata", 1795392000000000LL, out, sizeof(out));
    CHECK(strcmp(out, "2026-11-23 05:30:00 IST (UTC+05:30)") == 0);
    tz_format("Nowhere/Land", 1795392000000000LL, out, sizeof(out));
    CHECK(strcmp(out, "2026-11-23 00:00:00 UTC") == 0);
}

static void *ny_loop(void *arg)
{
    int *bad = arg;
    char out[80];
    for (int i = 0; i < 2000; i++) {
        tz_format("America/New_York", 1795392000000000LL, out, sizeof(out));
        if (strcmp(out, "2026-11-22 19:00:00 EST (UTC-05:00)") != 0)
            (*bad)++;
    }
    return NULL;
}

static int unb64(const char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned v = 0;
    int bits = 0, o = 0;
    for (size_t i = 0; i < n && in[i] != '='; i++) {
        const char *p = strchr(tab, in[i]);
        if (p == NULL)
            continue;
        v = v << 6 | (unsigned)(p - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(v >> bits & 0xff);
        }
    }
    out[o] = '\0';
    return o;
}

static void test_mail_in_tenant_zone(void)
{
    struct store_notify_job j = {0};
    j.n = (struct store_notification){.id = 3, .channel = "mail", .reason = "opened",
                                      .severity = 1, .created = 1795392000000000LL};
    j.inc = (struct store_incident){.id = 12, .device_ip = "192.168.1.104", .severity = 1,
                                    .categories = "c2", .steps_ja = "抜く", .steps_en = "unplug",
                                    .assignee = "", .alerts = 2,
                                    .first_seen = 1795392000000000LL,
                                    .last_seen = 1795392300000000LL};
    j.company = "A";
    j.lang = "ja";
    j.contacts = "it@a.example";
    j.tz = "Asia/Tokyo";
    struct notify_sigs sg = {.n = 0};
    pthread_t th;
    int bad = 0;
    CHECK(pthread_create(&th, NULL, ny_loop, &bad) == 0);
    static char body[65536], b64[65536];
    for (int round = 0; round < 50; round++) {
        struct nbuf m = {0};
        CHECK(notify_render_mail(&j, &sg, "soc@p.example", &m) == 0);
        if (round == 0)
            CHECK(strstr(m.p, "Date: Mon, 23 Nov 2026 09:00:00 +0900\r\n") == m.p);
        char *sep = strstr(m.p, "\r\n\r\n");
        size_t bl = 0;
        for (char *p = sep + 4; *p; p++)
            if (*p != '\r' && *p != '\n')
                b64[bl++] = *p;
        unb64(b64, bl, body);
        if (round == 0) {
            CHECK(strstr(body, "2026-11-23 09:00:00 JST (UTC+09:00) 〜 2026-11-23 09:05:00 JST") !=
                  NULL);
            CHECK(strstr(body, "---- English ----") != NULL); /* ja: Japanese first */
            CHECK(strstr(body, "ご担当者様") < strstr(body, "Dear A"));
        }
        nbuf_free(&m);
    }
    pthread_join(th, NULL);
    CHECK(bad == 0);
    /* English tenant in New York: English only, EST */
    j.lang = "en";
    j.tz = "America/New_York";
    struct nbuf m = {0};
    CHECK(notify_render_mail(&j, &sg, "soc@p.example", &m) == 0);
    CHECK(strstr(m.p, "Date: Sun, 22 Nov 2026 19:00:00 -0500\r\n") == m.p);
    char *sep = strstr(m.p, "\r\n\r\n");
    size_t bl = 0;
    for (char *p = sep + 4; *p; p++)
        if (*p != '\r' && *p != '\n')
            b64[bl++] = *p;
    unb64(b64, bl, body);
    CHECK(strstr(body, "2026-11-22 19:00:00 EST (UTC-05:00)") != NULL);
    CHECK(strstr(body, "ご担当者様") == NULL);
    nbuf_free(&m);
    /* A zone the database does not know: UTC */
    j.tz = "Nowhere/Land";
    CHECK(notify_render_mail(&j, &sg, "soc@p.example", &m) == 0);
    CHECK(strstr(m.p, "Date: Mon, 23 Nov 2026 00:00:00 +0000\r\n") == m.p);
    nbuf_free(&m);
}

int main(void)
{
    if (!have_tzdata()) {
        printf("SKIP: tzdata not installed\n");
        return 77;
    }
    RUN(test_offsets);
    RUN(test_mail_in_tenant_zone);
    return check_done();
}
