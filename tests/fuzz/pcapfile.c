/*
 * Fuzz harness: the input is a whole capture file (pcap or pcapng) read through
 * the sensor's capture module, then every packet goes through the decoder, the flow
 * table (small memcap, so eviction runs), TCP reassembly and the application-layer
 * dispatch with every parser the default configuration enables, as in the sensor
 * (ARP packets too).
 * No nDPI here (its own fuzzing is upstream's); events are built and discarded, after
 * the read-back check (readback.h: every line walks in jscan, and the values their
 * parsers noted for the inventory are what the line says).
 */
#include "app/dispatch.h"
#include "capture/capture.h"
#include "decode/decode.h"
#include "flow/flow.h"
#include "flow/reasm.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "readback.h"
#include "sensor_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PKTS 20000

static size_t g_delivered;
static struct sensor_conf g_conf;
static struct jw g_jw;
static struct reasm *g_ra;
static struct applayer *g_al;
static struct app_notes g_notes;
static uint64_t g_now;

static void on_data(void *ud, struct flow *f, int dir, const uint8_t *d, size_t n)
{
    (void)ud;
    if (n > 0)
        g_delivered += d[0] + n; /* touch the bytes so ASan checks them */
    applayer_stream(g_al, f, dir, d, n, g_now);
}

static void on_gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    (void)ud;
    applayer_gap(g_al, f, dir, len, g_now);
}

static void on_end(struct flow *f, enum flow_end_reason why, void *ud)
{
    (void)why;
    (void)ud;
    reasm_flow_end(g_ra, f);
    applayer_flow_end(g_al, f);
}

static void host_write(void *ud, uint64_t ts)
{
    (void)ud;
    (void)ts;
    if (!jw_ok(&g_jw))
        return;
    g_delivered += g_jw.len; /* events are built, then dropped */
    const char *type;
    size_t tlen;
    char t[32];
    bool typed = jscan_event_type(g_jw.buf, g_jw.len, &type, &tlen) && tlen < sizeof(t);
    if (typed) {
        memcpy(t, type, tlen);
        t[tlen] = '\0';
    }
    fz_readback(&g_jw, typed ? &g_notes : NULL, typed ? t : "");
}

static bool host_sample(void *ud, uint64_t n, uint64_t *suppressed)
{
    (void)ud;
    (void)suppressed;
    return n < 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every packet of cap (MAX_PKTS at most) through the decoder, the flow table, the
 * reassembler and the application layer (ARP packets too). */
static void feed(struct capture *cap, struct decoder *dec, struct flow_table *ft, struct reasm *ra)
{
    struct capture_pkt cp;
    struct pkt p;
    int lt = capture_linktype(cap);
    for (int n = 0; n < MAX_PKTS && capture_next(cap, &cp) == CAPTURE_PKT; n++) {
        enum decode_rc drc = decode_packet(dec, &p, lt, cp.data, cp.caplen, cp.wirelen, cp.ts_us);
        if (drc == DECODE_ARP)
            applayer_arp(g_al, &p, cp.ts_us);
        if (drc != DECODE_OK)
            continue;
        int dir;
        struct flow *f = flow_table_update(ft, &p, &dir);
        g_now = cp.ts_us;
        if (f != NULL && p.proto == 6)
            reasm_packet(ra, f, dir, &p);
        else if (f != NULL && p.proto == 17 && p.payload_len > 0)
            applayer_udp(g_al, f, dir, p.sport, p.dport, p.payload, p.payload_len, cp.ts_us);
        flow_table_expire(ft, cp.ts_us);
        decoder_expire(dec, cp.ts_us);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    FILE *fp = fmemopen(copy, size ? size : 1, "rb");
    if (fp == NULL) {
        free(copy);
        return 0;
    }
    struct capture *cap = capture_open_fp(fp, "fuzz", NULL, err, sizeof(err));
    if (cap == NULL) {
        free(copy);
        return 0;
    }
    struct decode_conf dc = {256ull * 1024,     30000000,           16, 32, true,
                              DECODE_VXLAN_PORT, DECODE_GENEVE_PORT, DECODE_TEREDO_PORT};
    struct flow_conf fc;
    flow_conf_defaults(&fc);
    fc.memcap = 64ull * 1024;
    fc.hash_size = 1024;
    fc.random_hash_key = false;
    struct reasm_conf rc;
    reasm_conf_defaults(&rc);
    rc.memcap = 256ull * 1024;
    if (g_jw.buf == NULL && (conf_defaults(sensor_conf_table, &g_conf) != 0 ||
                             jw_init(&g_jw, 4096, 1 << 20) != 0))
        abort();
    struct applayer_host h = {&g_jw, NULL, host_write, host_sample, NULL, &g_notes};
    g_al = applayer_new(&g_conf, &h);
    struct decoder *dec = decoder_new(&dc);
    struct reasm *ra = reasm_new(&rc, on_data, on_gap, NULL);
    g_ra = ra;
    struct flow_table *ft = ra && g_al ? flow_table_new(&fc, on_end, NULL) : NULL;
    if (dec && ft) {
        feed(cap, dec, ft, ra);
        flow_table_flush(ft);
    }
    if (ft)
        flow_table_free(ft);
    reasm_free(ra);
    applayer_free(g_al);
    decoder_free(dec);
    capture_close(cap);
    free(copy);
    return 0;
}
