/*
 * Fuzz harness for TCP reassembly (sensor/flow/reasm.c).
 *
 * Input: one config byte, then segments until the input ends:
 *   byte 0   bit 0 direction, bit 1 SYN, bit 2 FIN, bit 3 RST, bit 4 payload from
 *            the input instead of generated, bit 5 ACK number = the other
 *            direction's ISN + 1 + the sequence offset (else ISN + 1: acks nothing),
 *            bit 6 the packet is not counted for its direction (f.pkts), bit 7 of
 *            the FIRST segment only: arrival delivery instead of ack delivery
 *   byte 1-2 sequence offset (big endian) from the direction's ISN + 1, times the
 *            config's stride; wraps around 2^32 when the ISN is near it
 *   byte 3   payload length
 *   ...      payload bytes (when bit 4 is set; cut short at the end of input)
 * Config byte: bits 0-1 depth (0, 16, 300, 4096), bits 2-3 memcap (small to
 * large), bit 4 ISN near 2^32, bit 5 handshake seen, bits 6-7 seq stride.
 * Packets count for their direction's f.pkts as the flow table's would, so ack
 * delivery waits for the other side once it was seen.
 *
 * Invariants checked (abort on violation): delivered bytes per direction never
 * exceed the payload bytes sent; memory in use never exceeds the memcap;
 * generated payload (byte = g(seq)) is delivered at its own sequence number
 * whenever the stream started at ISN+1; everything is freed at flow end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/reasm.h"
#include "otasuke/alloc.h"

struct fz {
    uint64_t delivered[2];
    uint64_t sent[2];
    uint32_t pos[2]; /* sequence number the next delivered byte must have */
    int check_pos;
};

static uint8_t gen(uint32_t seq)
{
    return (uint8_t)(seq * 131u + (seq >> 8) + (seq >> 16));
}

static void deliver(void *ud, struct flow *f, int dir, const uint8_t *data, size_t len)
{
    struct fz *z = ud;
    z->delivered[dir] += len;
    if (z->delivered[dir] > z->sent[dir])
        abort();
    (void)f;
    (void)data;
}

static void deliver_gen(void *ud, struct flow *f, int dir, const uint8_t *data, size_t len)
{
    struct fz *z = ud;
    deliver(ud, f, dir, data, len);
    for (size_t i = 0; i < len; i++)
        if (data[i] != gen(z->pos[dir] + (uint32_t)i))
            abort();
    z->pos[dir] += (uint32_t)len;
}

static void gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    struct fz *z = ud;
    z->pos[dir] += (uint32_t)len;
    (void)f;
}

/* Cognitive complexity over 25: to bring down (docs/internals/lint.md). */
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const uint32_t depths[] = {0, 16, 300, 4096};
    static const uint64_t caps[] = {120, 600, 4096, 1 << 20};
    static const uint32_t strides[] = {1, 7, 256, 65536};
    uint8_t cfg = data[0];
    struct reasm_conf c;
    reasm_conf_defaults(&c);
    c.depth = depths[cfg & 3];
    c.memcap = caps[(cfg >> 2) & 3];
    c.max_ooo_segments = 8;
    c.max_ooo_bytes = 1024;
    uint32_t isn = (cfg & 0x10) ? 0xffffff00u : 1000u;
    bool handshake = cfg & 0x20;
    uint32_t stride = strides[cfg >> 6];
    c.ack_delivery = !(size > 1 && (data[1] & 0x80));

    /* Generated payloads are checked byte by byte only when each direction's start
     * is known (handshake seen) and no input payload may disagree with them. */
    struct fz z;
    memset(&z, 0, sizeof(z));
    z.check_pos = handshake;
    for (size_t i = 1; i + 4 <= size;) {
        if (data[i] & 0x10)
            z.check_pos = 0;
        size_t n = data[i + 3];
        i += 4 + ((data[i] & 0x10) ? n : 0);
    }
    struct mem_stat m0, m1;
    mem_get(MEM_REASM, &m0);
    struct reasm *r = reasm_new(&c, z.check_pos ? deliver_gen : deliver, gap, &z);
    if (r == NULL)
        return 0;
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.key.proto = 6;
    if (handshake) {
        f.flags = FLOW_F_SYN_TS | FLOW_F_SYN_TC;
        f.tcp_isn[0] = f.tcp_isn[1] = isn;
    }
    z.pos[0] = z.pos[1] = isn + 1;

    uint8_t buf[256];
    size_t i = 1;
    while (i + 4 <= size) {
        uint8_t h = data[i];
        int dir = h & 1;
        uint32_t off = (uint32_t)(data[i + 1] << 8 | data[i + 2]) * stride;
        size_t n = data[i + 3];
        i += 4;
        if (h & 0x10) {
            if (n > size - i)
                n = size - i;
            memcpy(buf, data + i, n);
            i += n;
        }
        uint32_t seq = isn + 1 + off;
        if (!(h & 0x40))
            f.pkts[dir]++;
        if (!(h & 0x10))
            for (size_t j = 0; j < n; j++)
                buf[j] = gen(seq + (uint32_t)j);
        struct pkt p;
        memset(&p, 0, sizeof(p));
        p.ipver = 4;
        p.proto = 6;
        p.tcp_flags = (uint8_t)(TH_ACK | ((h & 2) ? TH_SYN : 0) | ((h & 4) ? TH_FIN : 0) |
                                ((h & 8) ? TH_RST : 0));
        p.tcp_seq = (h & 2) ? seq - 1 : seq;
        p.tcp_ack = (h & 0x20) ? seq : isn + 1; /* both directions share the ISN */
        p.payload = buf;
        p.payload_len = (uint32_t)n;
        z.sent[dir] += n;
        reasm_packet(r, &f, dir, &p);
        struct reasm_stats st;
        reasm_stats(r, &st);
        if (st.mem_in_use > c.memcap)
            abort();
        if (c.depth != 0 &&
            (reasm_stream_offset(&f, 0) > c.depth || reasm_stream_offset(&f, 1) > c.depth))
            abort();
    }
    reasm_flow_end(r, &f);
    struct reasm_stats st;
    reasm_stats(r, &st);
    if (st.mem_in_use != 0 || f.stream[0] != NULL || f.stream[1] != NULL)
        abort();
    if (z.delivered[0] > z.sent[0] || z.delivered[1] > z.sent[1])
        abort();
    reasm_free(r);
    mem_get(MEM_REASM, &m1);
    if (m1.in_use != m0.in_use)
        abort();
    return 0;
}
