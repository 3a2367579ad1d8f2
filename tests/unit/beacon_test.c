/*
 * Unit tests of UDP beaconing (sensor/detect/beacon.c, detect.beacon.udp): UDP flows are
 * beats when they end, if small and not a voice/media/game/VPN verdict of nDPI. Regular
 * small flows give one alert (proto UDP); the same flows carrying a call's bytes, or
 * with nDPI's VoIP category or the STUN protocol, or with detect.beacon.udp off, give
 * none; flows reported out of order (a late-ending older flow) are not beats.
 * (TCP beaconing: tests/unit/detect_test.c.)
 */
#include "check.h"
#include "detect_host.h"

#include "app/appid.h"
#include "detect/detect.h"
#include "detect/detect_int.h"
#include "otasuke/log.h"
#include "output/eve.h"
#include "sensor_conf.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define SEC 1000000ull
#define T0  (1790000000ull * SEC)

/* n UDP flows from 192.168.1.50 to 198.51.100.30:9999 every `period`, each carrying
 * `bytes` in all, with nDPI's (app, category); each ends 30 s after it starts. */
static void udp_beats(struct detect *d, int n, uint64_t period, uint64_t bytes, uint16_t app,
                      uint16_t cat)
{
    for (int i = 0; i < n; i++) {
        struct flow f;
        memset(&f, 0, sizeof(f));
        eve_addr_parse("192.168.1.50", &f.key.src);
        eve_addr_parse("198.51.100.30", &f.key.dst);
        f.key.sport = (uint16_t)(40000 + i);
        f.key.dport = 9999;
        f.key.proto = IPPROTO_UDP;
        f.ipver = 4;
        f.flow_id = (uint64_t)i + 1;
        f.ts_start = T0 + (uint64_t)i * period;
        f.ts_last = f.ts_start + SEC / 10;
        f.pkts[0] = f.pkts[1] = 1;
        f.bytes[0] = bytes / 2;
        f.bytes[1] = bytes - bytes / 2;
        f.app_proto_app = app;
        f.app_proto_master = app;
        f.app_category = cat;
        struct pkt p;
        memset(&p, 0, sizeof(p));
        p.ts_us = f.ts_start;
        p.src = f.key.src;
        p.dst = f.key.dst;
        p.sport = f.key.sport;
        p.dport = f.key.dport;
        p.proto = IPPROTO_UDP;
        p.ipver = 4;
        detect_flow_new(d, &f, &p, 0);
        detect_housekeep(d, f.ts_start + 30 * SEC);
        detect_flow_end(d, &f);
    }
}

static void test_udp_regular(void)
{
    struct detect *d = mk();
    udp_beats(d, 12, 60 * SEC, 300, 0, 0);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 1);
    CHECK_EQ_U64(count_with("\"proto\":\"UDP\""), 1);
    CHECK_EQ_U64(count_with("\"period_seconds\":60.0"), 1);
    CHECK_EQ_U64(count_with("\"dest\":\"198.51.100.30:9999\""), 1);
    CHECK_EQ_U64(count_with("\"count\":12,"), 1);
    detect_free(d);
}

static void test_udp_big(void)
{
    struct detect *d = mk();
    udp_beats(d, 12, 60 * SEC, 50000, 0, 0); /* a call's worth per flow */
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 0);
    detect_free(d);
    d = mk();
    udp_beats(d, 12, 60 * SEC, 2048, 0, 0); /* at the cap: still a beat */
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 1);
    detect_free(d);
}

static void test_udp_ndpi(void)
{
    struct appid_conf ac;
    appid_conf_defaults(&ac);
    struct appid *a = appid_new(&ac);
    CHECK(a != NULL);
    if (a == NULL)
        return;
    uint16_t voip = 0, stun = 0, dns = 0;
    for (uint16_t c = 1; c < 64; c++)
        if (voip == 0 && appid_category_name(a, c) != NULL &&
            strcmp(appid_category_name(a, c), "VoIP") == 0)
            voip = c;
    for (uint16_t p = 1; p < 400; p++) {
        const char *n = appid_proto_name(a, p);
        if (stun == 0 && n != NULL && strcmp(n, "STUN") == 0)
            stun = p;
        if (dns == 0 && n != NULL && strcmp(n, "DNS") == 0)
            dns = p;
    }
    CHECK(voip != 0 && stun != 0 && dns != 0);
    struct detect *d = mk();
    detect_set_appid(d, a);
    udp_beats(d, 12, 60 * SEC, 300, 0, voip);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 0);
    detect_free(d);
    d = mk();
    detect_set_appid(d, a);
    udp_beats(d, 12, 60 * SEC, 300, stun, 0);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 0);
    detect_free(d);
    d = mk(); /* another verdict (DNS on an odd port) is still judged */
    detect_set_appid(d, a);
    udp_beats(d, 12, 60 * SEC, 300, dns, 0);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 1);
    detect_free(d);
    appid_free(a);
}

static void test_udp_off(void)
{
    conf.detect_beacon_udp = false;
    struct detect *d = mk();
    udp_beats(d, 12, 60 * SEC, 300, 0, 0);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 0);
    detect_free(d);
    conf.detect_beacon_udp = true;
}

static void test_udp_late(void)
{
    /* an older flow reported after a newer one is not a beat: 8 flows, the 4th ends
     * last, so 7 beats only (below min_connections) */
    struct detect *d = mk();
    struct flow late;
    for (int i = 0; i < 8; i++) {
        struct flow f;
        memset(&f, 0, sizeof(f));
        eve_addr_parse("192.168.1.50", &f.key.src);
        eve_addr_parse("198.51.100.30", &f.key.dst);
        f.key.sport = (uint16_t)(40000 + i);
        f.key.dport = 9999;
        f.key.proto = IPPROTO_UDP;
        f.ipver = 4;
        f.flow_id = (uint64_t)i + 1;
        f.ts_start = f.ts_last = T0 + (uint64_t)i * 60 * SEC;
        f.bytes[0] = 100;
        if (i == 3)
            late = f;
        else
            detect_flow_end(d, &f);
    }
    detect_flow_end(d, &late);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 0);
    detect_free(d);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    conf_defaults(sensor_conf_table, &conf);
    RUN(test_udp_regular);
    RUN(test_udp_big);
    RUN(test_udp_ndpi);
    RUN(test_udp_off);
    RUN(test_udp_late);
    return check_done();
}
