/*
 * Fuzz harness: the input is a whole capture file (pcap or pcapng) read through
 * the sensor's capture module, then every packet goes through the decoder, the flow
 * table (small memcap, so eviction runs) and TCP reassembly, as in the sensor. No
 * nDPI here (its own fuzzing is upstream's) and no output, which keeps runs fast.
 */
#include "capture/capture.h"
#include "decode/decode.h"
#include "flow/flow.h"
#include "flow/reasm.h"
#include "otasuke/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PKTS 20000

static size_t g_delivered;

static void on_data(void *ud, struct flow *f, int dir, const uint8_t *d, size_t n)
{
    (void)ud;
    (void)f;
    (void)dir;
    if (n > 0)
        g_delivered += d[0] + n; /* touch the bytes so ASan checks them */
}

static void on_end(struct flow *f, enum flow_end_reason why, void *ud)
{
    (void)why;
    reasm_flow_end(ud, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    struct decode_conf dc = {256ull * 1024, 30000000, 16, 32, true};
    struct flow_conf fc;
    flow_conf_defaults(&fc);
    fc.memcap = 64ull * 1024;
    fc.hash_size = 1024;
    fc.random_hash_key = false;
    struct reasm_conf rc;
    reasm_conf_defaults(&rc);
    rc.memcap = 256ull * 1024;
    struct decoder *dec = decoder_new(&dc);
    struct reasm *ra = reasm_new(&rc, on_data, NULL, NULL);
    struct flow_table *ft = ra ? flow_table_new(&fc, on_end, ra) : NULL;
    if (dec && ft) {
        struct capture_pkt cp;
        struct pkt p;
        int lt = capture_linktype(cap);
        for (int n = 0; n < MAX_PKTS && capture_next(cap, &cp) == CAPTURE_PKT; n++) {
            if (decode_packet(dec, &p, lt, cp.data, cp.caplen, cp.wirelen, cp.ts_us) != DECODE_OK)
                continue;
            int dir;
            struct flow *f = flow_table_update(ft, &p, &dir);
            if (f != NULL && p.proto == 6)
                reasm_packet(ra, f, dir, &p);
            flow_table_expire(ft, cp.ts_us);
            decoder_expire(dec, cp.ts_us);
        }
        flow_table_flush(ft);
    }
    if (ft)
        flow_table_free(ft);
    reasm_free(ra);
    decoder_free(dec);
    capture_close(cap);
    free(copy);
    return 0;
}
