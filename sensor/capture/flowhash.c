/*
 * Symmetric address-pair hash of raw packets for the reader thread (flowhash.h).
 * Symmetry: the two addresses are ordered before they are mixed, so A→B and B→A
 * give the same value. The mix is a fixed-key multiply-xorshift: the spread over
 * workers matters, not resistance to chosen keys (a flooder can already load one
 * worker by sending from one address pair).
 */
#include "capture/flowhash.h"

#include "decode/decode.h"
#include "otasuke/rd.h"

#include <stdbool.h>
#include <string.h>

#define ETH_IPV4     0x0800
#define ETH_IPV6     0x86dd
#define ETH_VLAN     0x8100
#define ETH_QINQ     0x88a8
#define ETH_QINQ_OLD 0x9100
#define MAX_VLAN     4

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

static uint64_t mix_bytes(uint64_t h, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = 0;
        memcpy(&v, b + i, n - i < 8 ? n - i : 8);
        h = mix64(h, v);
    }
    return h;
}

static uint32_t sym_hash(const uint8_t *a, const uint8_t *b, size_t alen)
{
    if (memcmp(a, b, alen) > 0) {
        const uint8_t *t = a;
        a = b;
        b = t;
    }
    uint64_t h = mix64(0x6f7461737568ULL, alen);
    h = mix_bytes(h, a, alen);
    h = mix_bytes(h, b, alen);
    uint32_t r = (uint32_t)(h ^ (h >> 32));
    return r != 0 ? r : 1;
}

static uint32_t hash_ipv4(struct rd *r)
{
    uint8_t vihl = rd_u8(r);
    rd_skip(r, 11); /* tos, total length, id, flags/offset, ttl, protocol, checksum */
    uint8_t src[4], dst[4];
    rd_copy(r, src, 4);
    rd_copy(r, dst, 4);
    if (r->bad || vihl >> 4 != 4 || (vihl & 15) < 5)
        return 0;
    return sym_hash(src, dst, 4);
}

static uint32_t hash_ipv6(struct rd *r)
{
    uint8_t v = rd_u8(r);
    rd_skip(r, 7); /* traffic class, flow label, payload length, next header, hops */
    uint8_t src[16], dst[16];
    rd_copy(r, src, 16);
    rd_copy(r, dst, 16);
    if (r->bad || v >> 4 != 6)
        return 0;
    return sym_hash(src, dst, 16);
}

static uint32_t hash_ethertype(struct rd *r, uint16_t type)
{
    if (r->bad)
        return 0;
    if (type == ETH_IPV4)
        return hash_ipv4(r);
    if (type == ETH_IPV6)
        return hash_ipv6(r);
    return 0;
}

static uint32_t hash_eth(struct rd *r)
{
    rd_skip(r, 12);
    uint16_t type = rd_be16(r);
    for (int i = 0; i < MAX_VLAN && (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD);
         i++) {
        rd_skip(r, 2);
        type = rd_be16(r);
    }
    return hash_ethertype(r, type);
}

/* Raw IP: the version nibble says which. */
static uint32_t hash_raw(struct rd *r)
{
    struct rd peek = *r;
    uint8_t v = rd_u8(&peek);
    if (peek.bad)
        return 0;
    return v >> 4 == 4 ? hash_ipv4(r) : v >> 4 == 6 ? hash_ipv6(r) : 0;
}

uint32_t flowhash_packet(int linktype, const uint8_t *data, size_t caplen)
{
    struct rd r = rd_init(data, caplen);
    switch (linktype) {
    case DECODE_DLT_EN10MB:
        return hash_eth(&r);
    case DECODE_DLT_SLL: /* packet type, ARPHRD, address length, 8 address bytes */
        rd_skip(&r, 14);
        return hash_ethertype(&r, rd_be16(&r));
    case DECODE_DLT_SLL2: { /* protocol first, then 18 bytes */
        uint16_t type = rd_be16(&r);
        rd_skip(&r, 18);
        return hash_ethertype(&r, type);
    }
    case DECODE_DLT_RAW:
    case DECODE_DLT_RAW_LT:
    case DECODE_DLT_IPV4:
    case DECODE_DLT_IPV6:
        return hash_raw(&r);
    case DECODE_DLT_NULL: /* a 4-byte address family */
    case DECODE_DLT_LOOP:
        rd_skip(&r, 4);
        return hash_raw(&r);
    default:
        return 0;
    }
}
