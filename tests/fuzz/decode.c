/*
 * Fuzz harness for the decoder stack. Input layout:
 *   byte 0: bits 0-3 pick the link type from g_links, bit 7 turns GRE following off,
 *           bit 6 the UDP tunnels (VXLAN, Geneve, Teredo)
 *   byte 1: packet time step between packets is 1 ms << (byte & 15), so fragment
 *           trackers time out on some inputs and not on others
 *   then packets, each a 2-byte big-endian length and that many bytes (the last one
 *   is cut to what is left).
 * Every packet is copied into an exact-size heap buffer so that ASan sees any
 * over-read, and all go through one decoder with small defrag limits so that
 * reassembly state, eviction and limits are exercised; the decoder is freed at the
 * end (LeakSanitizer checks the trackers were released).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"

static const int g_links[] = {
    DECODE_DLT_EN10MB, DECODE_DLT_RAW, DECODE_DLT_SLL,  DECODE_DLT_SLL2,
    DECODE_DLT_NULL,   DECODE_DLT_LOOP, DECODE_DLT_IPV4, DECODE_DLT_IPV6,
    DECODE_DLT_RAW_LT, 9999,            DECODE_DLT_PPP,  DECODE_DLT_PPP_SERIAL,
    DECODE_DLT_C_HDLC, DECODE_DLT_PPP_ETHER,
};
#define NLINKS (sizeof(g_links) / sizeof(g_links[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cognitive complexity over 25: to bring down (docs/internals/lint.md). */
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct decode_conf conf = {
        .defrag_memcap = 256ull * 1024,
        .defrag_timeout_us = 30ull * 1000,
        .defrag_max_frags = 16,
        .defrag_max_trackers = 8,
        .decode_gre = (data[0] & 0x80) == 0,
        /* bit 6 turns the UDP tunnels (VXLAN, Geneve, Teredo) off */
        .vxlan_port = (data[0] & 0x40) == 0 ? DECODE_VXLAN_PORT : 0,
        .geneve_port = (data[0] & 0x40) == 0 ? DECODE_GENEVE_PORT : 0,
        .teredo_port = (data[0] & 0x40) == 0 ? DECODE_TEREDO_PORT : 0,
    };
    int linktype = g_links[(data[0] & 0x0f) % NLINKS];
    uint64_t step = 1000ull << (data[1] & 15);
    struct decoder *d = decoder_new(&conf);
    if (d == NULL)
        return 0;
    size_t off = 2;
    uint64_t ts = 1700000000ull * 1000000ull;
    struct pkt p;
    while (off + 2 <= size) {
        size_t n = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (n > size - off)
            n = size - off;
        uint8_t *buf = malloc(n ? n : 1);
        if (buf == NULL)
            break;
        memcpy(buf, data + off, n);
        off += n;
        enum decode_rc rc = decode_packet(d, &p, linktype, n ? buf : NULL, (uint32_t)n,
                                          (uint32_t)n, ts);
        /* Invariants a consumer relies on. */
        if (rc == DECODE_BAD && decoder_last_event(d) == DECODE_EV_NONE)
            abort();
        if (rc == DECODE_OK && p.ipver != 4 && p.ipver != 6)
            abort();
        if (p.payload_len > 0 && p.payload == NULL)
            abort();
        volatile uint8_t sink = 0;
        if (p.l4 != NULL && p.l4_len > 0)
            sink ^= p.l4[p.l4_len - 1];
        if (p.payload != NULL && p.payload_len > 0)
            sink ^= p.payload[p.payload_len - 1];
        if (p.l3 != NULL && p.l3_len > 0)
            sink ^= p.l3[p.l3_len - 1];
        (void)sink;
        free(buf);
        ts += step;
    }
    decoder_expire(d, ts);
    decoder_free(d);
    return 0;
}
