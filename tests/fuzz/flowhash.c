/*
 * Fuzz harness for the reader's flow hash (sensor/capture/flowhash.c), which reads
 * every packet's link and IP headers when capture.workers > 1. Input: byte 0 picks
 * the link type from g_links, the rest is one packet, copied into an exact-size
 * heap buffer so that ASan sees any over-read. The hash must not depend on bytes it
 * claims not to read: it is also computed on a copy with the payload past the IP
 * addresses changed, and the two must agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/flowhash.h"
#include "decode/decode.h"

static const int g_links[] = {
    DECODE_DLT_EN10MB, DECODE_DLT_RAW,  DECODE_DLT_SLL,    DECODE_DLT_SLL2,
    DECODE_DLT_NULL,   DECODE_DLT_LOOP, DECODE_DLT_IPV4,   DECODE_DLT_IPV6,
    DECODE_DLT_RAW_LT, 9999,            DECODE_DLT_PPP,    DECODE_DLT_C_HDLC,
};
#define NLINKS (sizeof(g_links) / sizeof(g_links[0]))
/* Past this many bytes nothing is read: 20 (SLL2) + 4 VLAN tags + 40 (IPv6 header) */
#define READ_MAX 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int link = g_links[data[0] % NLINKS];
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL)
        return 0;
    memcpy(p, data + 1, n);
    uint32_t h = flowhash_packet(link, p, n);
    if (n > READ_MAX) {
        for (size_t i = READ_MAX; i < n; i++)
            p[i] ^= 0xa5;
        if (flowhash_packet(link, p, n) != h)
            abort();
    }
    free(p);
    return 0;
}
