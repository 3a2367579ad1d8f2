/*
 * Unit tests of the traffic-anomaly detector (sensor/detect/anomaly.c): per-device
 * per-minute bytes out and new connections against their EWMA usual level. Steady
 * traffic gives nothing; a 20x spike after the learning period gives one alert; the
 * same spike during learning gives none; slow growth gives none; a spike below the
 * absolute floor gives none; a sustained episode is one alert counting its minutes;
 * the device table's LRU eviction is counted.
 */
#include "check.h"
#include "detect_host.h"

#include "detect/detect.h"
#include "detect/detect_int.h"
#include "otasuke/log.h"
#include "output/eve.h"
#include "sensor_conf.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000ull
#define MIN (60 * SEC)
#define T0  (1790000000ull * SEC / MIN * MIN) /* a minute boundary */
#define MiB (1024ull * 1024)

static uint64_t fid;

/* One flow from dev to an external server: starts at ts, lasts dur, sends `out` bytes
 * out (and a tenth of it back). */
static void flow(struct detect *d, const char *dev, const char *srv, uint64_t ts, uint64_t dur,
                 uint64_t out)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    eve_addr_parse(dev, &f.key.src);
    eve_addr_parse(srv, &f.key.dst);
    f.key.sport = (uint16_t)(30000 + fid % 30000);
    f.key.dport = 443;
    f.key.proto = IPPROTO_TCP;
    f.ipver = 4;
    f.flow_id = ++fid;
    f.ts_start = ts;
    f.ts_last = ts + dur;
    f.bytes[FLOW_TOSERVER] = out;
    f.bytes[FLOW_TOCLIENT] = out / 10;
    f.pkts[0] = f.pkts[1] = 10;
    struct pkt p;
    memset(&p, 0, sizeof(p));
    p.ts_us = ts;
    p.src = f.key.src;
    p.dst = f.key.dst;
    p.sport = f.key.sport;
    p.dport = f.key.dport;
    p.proto = IPPROTO_TCP;
    p.ipver = 4;
    p.tcp_flags = TH_SYN;
    detect_flow_new(d, &f, &p, 0);
    detect_flow_end(d, &f);
}

/* Minutes [from, to) of a device sending bytes(m) per minute in 4 flows, with
 * housekeeping every 10 s as the pipeline does (once a second). */
static void minutes(struct detect *d, const char *dev, unsigned from, unsigned to,
                    uint64_t (*bytes)(unsigned m))
{
    for (unsigned m = from; m < to; m++) {
        uint64_t b = bytes(m), t = T0 + (uint64_t)m * MIN;
        for (unsigned k = 0; k < 4; k++)
            flow(d, dev, "203.0.113.50", t + (uint64_t)k * 12 * SEC, 5 * SEC, b / 4);
        for (unsigned s = 0; s < 6; s++)
            detect_housekeep(d, t + (uint64_t)s * 10 * SEC);
    }
}

/* about 2 MB a minute, ±25 % (a fixed pattern) */
static uint64_t steady(unsigned m)
{
    static const int pct[] = {0, 12, -20, 25, -8, 5, -25, 18, -3, 9, -15, 20, -11};
    return (uint64_t)(2000000LL + 2000000LL / 100 * pct[m % 13]);
}

static unsigned spike_at, spike_len;
static uint64_t spike_mult;

static uint64_t spiky(unsigned m)
{
    return m >= spike_at && m < spike_at + spike_len ? steady(m) * spike_mult : steady(m);
}

/* 100 kB a minute growing 1 % a minute: 100 kB to about 50 MB in ten hours */
static uint64_t growing(unsigned m)
{
    double b = 100000;
    for (unsigned i = 0; i < m; i++)
        b *= 1.01;
    return (uint64_t)b;
}

static void test_steady(void)
{
    struct detect *d = mk();
    minutes(d, "192.168.1.23", 0, 180, steady);
    detect_flush(d);
    for (int i = 0; i < ngot && getenv("ANOM_DEBUG"); i++)
        fprintf(stderr, "%s\n", got[i]);
    CHECK_EQ_U64(ngot, 0);
    detect_free(d);
}

static void test_spike(void)
{
    struct detect *d = mk();
    spike_at = 90;
    spike_len = 1;
    spike_mult = 20;
    minutes(d, "192.168.1.23", 0, 120, spiky);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000801"), 1);
    CHECK_EQ_U64(count_with("\"category\":\"anomaly\""), 1);
    CHECK_EQ_U64(count_with("\"count\":1,"), 1);
    CHECK_EQ_U64(count_with("\"metric\":\"bytes_out\",\"minutes\":1,"), 1);
    CHECK_EQ_U64(count_with("\"top_dest\":\"203.0.113.50:443\""), 1);
    CHECK_EQ_U64(count_with("\"device\":{\"ip\":\"192.168.1.23\""), 1);
    CHECK_EQ_U64(count_with("\"direction\":\"outbound\""), 1);
    CHECK_EQ_U64(count_with("普段より"), 1);
    detect_free(d);
}

static void test_spike_learning(void)
{
    struct detect *d = mk();
    spike_at = 30; /* the learning period is 1 h */
    spike_len = 1;
    spike_mult = 20;
    minutes(d, "192.168.1.23", 0, 50, spiky);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    detect_free(d);
}

static void test_sustained(void)
{
    struct detect *d = mk();
    spike_at = 70;
    spike_len = 6;
    spike_mult = 30;
    minutes(d, "192.168.1.23", 0, 100, spiky);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1); /* one episode, one alert */
    CHECK_EQ_U64(count_with("\"count\":6,"), 1);
    CHECK_EQ_U64(count_with("\"minutes\":6,"), 1);
    detect_free(d);
}

static void test_slow_growth(void)
{
    struct detect *d = mk();
    minutes(d, "192.168.1.23", 0, 620, growing);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    detect_free(d);
}

static uint64_t quiet(unsigned m)
{
    return m == 80 ? 2000000 : 2000; /* 2 kB a minute, then 2 MB once: 1000x, below the floor */
}

static void test_floor(void)
{
    struct detect *d = mk();
    minutes(d, "192.168.1.23", 0, 100, quiet);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    detect_free(d);
}

static void test_long_flow(void)
{
    /* a 30-minute upload of 300 MB counts as 10 MB in the minute it ends: no alert */
    struct detect *d = mk();
    minutes(d, "192.168.1.23", 0, 90, steady);
    flow(d, "192.168.1.23", "198.51.100.7", T0 + 60 * MIN, 30 * MIN, 300 * MiB);
    minutes(d, "192.168.1.23", 90, 100, steady);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    detect_free(d);
}

static void test_connections(void)
{
    struct detect *d = mk();
    minutes(d, "192.168.1.23", 0, 70, steady); /* 4 connections a minute */
    uint64_t t = T0 + 70 * MIN;
    for (unsigned i = 0; i < 600; i++) /* 600 in one minute, 1 kB each */
        flow(d, "192.168.1.23", "198.51.100.8", t + (uint64_t)i * 90000, 1000, 1000);
    minutes(d, "192.168.1.23", 71, 80, steady);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000802"), 1);
    CHECK_EQ_U64(count_with("\"metric\":\"new_connections\""), 1);
    detect_free(d);
}

static void test_evicted(void)
{
    int64_t saved = conf.detect_anomaly_max_devices;
    conf.detect_anomaly_max_devices = 16;
    struct detect *d = mk();
    char a[32];
    for (unsigned i = 0; i < 200; i++) {
        snprintf(a, sizeof(a), "10.1.%u.%u", i / 250, i % 250 + 1);
        flow(d, a, "203.0.113.9", T0 + i * SEC, SEC, 1000);
    }
    struct jw w;
    CHECK(jw_init(&w, 4096, 1 << 20) == 0);
    jw_obj_open(&w, NULL);
    detect_stats(d, &w);
    jw_obj_close(&w);
    CHECK(jw_ok(&w) && strstr(w.buf, "\"anomaly_evicted\":184") != NULL);
    jw_free(&w);
    detect_free(d);
    conf.detect_anomaly_max_devices = saved;
}

static void test_off(void)
{
    conf.detect_anomaly = false;
    struct detect *d = mk();
    spike_at = 90;
    spike_len = 1;
    spike_mult = 20;
    minutes(d, "192.168.1.23", 0, 100, spiky);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    detect_free(d);
    conf.detect_anomaly = true;
}

int main(void)
{
    log_set_level(LOG_ERROR);
    conf_defaults(sensor_conf_table, &conf);
    /* the flows below are regular: only the anomaly detector is under test */
    conf.detect_beacon = false;
    conf.detect_c2_burst = false;
    conf.detect_scan = false;
    RUN(test_steady);
    RUN(test_spike);
    RUN(test_spike_learning);
    RUN(test_sustained);
    RUN(test_slow_growth);
    RUN(test_floor);
    RUN(test_long_flow);
    RUN(test_connections);
    RUN(test_evicted);
    RUN(test_off);
    return check_done();
}
