/* Common EVE event fields: timestamp, tuple, and the per-flow fields every event of a
 * flow carries (vlan, ether, community_id). Nothing here allocates. */
#include "output/eve.h"

#include "flow/flow.h"
#include "otasuke/timefmt.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include <stdbool.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool eve_addr_is_v4(const struct addr *a)
{
    return memcmp(a->b, v4_prefix, sizeof(v4_prefix)) == 0;
}

/* Dotted quad without stdio (every event has two addresses). */
static void v4_str(const uint8_t *b, char *out)
{
    char *o = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100)
            *o++ = (char)('0' + v / 100);
        if (v >= 10)
            *o++ = (char)('0' + v / 10 % 10);
        *o++ = (char)('0' + v % 10);
        *o++ = i < 3 ? '.' : '\0';
    }
}

/* A dotted quad as inet_pton(AF_INET) takes it: four decimal parts of at most 255
 * without a leading zero, nothing else; without its cost (events name addresses often). */
static bool v4_parse(const char *s, uint8_t *out)
{
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, n = 0;
        for (; *s >= '0' && *s <= '9' && n < 4; s++, n++)
            v = v * 10 + (unsigned)(*s - '0');
        if (n == 0 || v > 255 || (n > 1 && s[-(long)n] == '0') || *s != (i < 3 ? '.' : '\0'))
            return false;
        out[i] = (uint8_t)v;
        s++;
    }
    return true;
}

bool eve_addr_parse(const char *s, struct addr *out)
{
    memset(out, 0, sizeof(*out));
    if (v4_parse(s, out->b + 12)) {
        memcpy(out->b, v4_prefix, sizeof(v4_prefix));
        return true;
    }
    memset(out->b + 12, 0, 4);
    return inet_pton(AF_INET6, s, out->b) == 1;
}

void eve_ip6_full(const uint8_t *b, char *out)
{
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
        if (i % 2 == 1 && i < 15)
            *o++ = ':';
    }
    *o = '\0';
}

const char *eve_addr_str(const struct addr *a, char *out, size_t outlen)
{
    if (eve_addr_is_v4(a) && outlen >= 16) {
        v4_str(a->b + 12, out);
        return out;
    }
    if (!eve_addr_is_v4(a) && outlen >= EVE_IP6_FULL_LEN) {
        eve_ip6_full(a->b, out);
        return out;
    }
    if (outlen > 0)
        out[0] = '\0';
    return out;
}

const char *eve_proto_name(uint8_t proto, uint8_t ipver, char *buf, size_t len)
{
    switch (proto) {
    case IPPROTO_TCP: return "TCP";
    case IPPROTO_UDP: return "UDP";
    case IPPROTO_ICMP: return "ICMP";
    case IPPROTO_ICMPV6: return "IPv6-ICMP";
    case IPPROTO_SCTP: return "SCTP";
    case IPPROTO_GRE: return "GRE";
    default: snprintf(buf, len, "%03u", proto); return buf;
    }
}

void eve_begin(struct jw *w, uint64_t ts_us, const char *event_type, uint64_t flow_id)
{
    char ts[TS_RFC3339_LEN];
    ts_format(ts, sizeof(ts), ts_us, 0);
    jw_obj_open(w, NULL);
    jw_str(w, "timestamp", ts);
    if (flow_id != 0)
        jw_u64(w, "flow_id", flow_id);
    jw_str(w, "event_type", event_type);
}

void eve_tuple(struct jw *w, const struct addr *src, uint16_t sport, const struct addr *dst,
               uint16_t dport, uint8_t proto, uint8_t ipver)
{
    char a[EVE_ADDR_LEN], pb[8];
    bool ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
    jw_str(w, "src_ip", eve_addr_str(src, a, sizeof(a)));
    if (ports)
        jw_u64(w, "src_port", sport);
    jw_str(w, "dest_ip", eve_addr_str(dst, a, sizeof(a)));
    if (ports)
        jw_u64(w, "dest_port", dport);
    jw_str(w, "proto", eve_proto_name(proto, ipver, pb, sizeof(pb)));
}

/* The ICMP / ICMPv6 types that have a counterpart, as in the Community ID spec (taken
 * from Zeek): the flow is two-way and is ordered like a port pair. 0xff: none. */
static int icmp_counterpart(uint8_t type, bool v6)
{
    static const uint8_t v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16}, {16, 15},
                                    {10, 9}, {9, 10}, {17, 18}, {18, 17}};
    static const uint8_t v6m[][2] = {{128, 129}, {129, 128}, {130, 131}, {131, 130},
                                     {133, 134}, {134, 133}, {135, 136}, {136, 135},
                                     {139, 140}, {140, 139}, {144, 145}, {145, 144}};
    const uint8_t(*m)[2] = v6 ? v6m : v4;
    size_t n = v6 ? sizeof(v6m) / sizeof(v6m[0]) : sizeof(v4) / sizeof(v4[0]);
    for (size_t i = 0; i < n; i++)
        if (m[i][0] == type)
            return m[i][1];
    return -1;
}

void eve_community_id(char *out, uint16_t seed, const struct addr *src, const struct addr *dst,
                      uint16_t sport, uint16_t dport, uint8_t proto)
{
    bool v4 = eve_addr_is_v4(src);
    size_t alen = v4 ? 4 : 16;
    const uint8_t *a = v4 ? src->b + 12 : src->b;
    const uint8_t *b = v4 ? dst->b + 12 : dst->b;
    bool ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
    bool one_way = false;
    if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
        int peer = icmp_counterpart((uint8_t)sport, proto == IPPROTO_ICMPV6);
        ports = true;
        if (peer >= 0)
            dport = (uint16_t)peer;
        else
            one_way = true; /* type and code, never reordered */
    }
    int c = memcmp(a, b, alen);
    if (!one_way && (c > 0 || (c == 0 && ports && sport > dport))) {
        const uint8_t *t = a;
        a = b;
        b = t;
        uint16_t tp = sport;
        sport = dport;
        dport = tp;
    }
    uint8_t buf[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    buf[n++] = (uint8_t)(seed >> 8);
    buf[n++] = (uint8_t)seed;
    memcpy(buf + n, a, alen);
    n += alen;
    memcpy(buf + n, b, alen);
    n += alen;
    buf[n++] = proto;
    buf[n++] = 0;
    if (ports) {
        buf[n++] = (uint8_t)(sport >> 8);
        buf[n++] = (uint8_t)sport;
        buf[n++] = (uint8_t)(dport >> 8);
        buf[n++] = (uint8_t)dport;
    }
    struct sha1_ctx h;
    uint8_t dig[SHA1_DIGEST_SIZE];
    sha1_init(&h);
    sha1_update(&h, n, buf);
    sha1_digest(&h, sizeof(dig), dig);
    out[0] = '1';
    out[1] = ':';
    base64_encode_raw(out + 2, sizeof(dig), dig);
    out[2 + BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
}

void eve_flow_community_id(char *out, uint16_t seed, const struct flow *f)
{
    const struct flow_key *k = &f->key;
    uint16_t sp = k->sport, dp = k->dport;
    if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6) {
        sp = f->icmp_type;
        dp = f->icmp_code;
    }
    eve_community_id(out, seed, &k->src, &k->dst, sp, dp, k->proto);
}

void eve_flow_fields(struct jw *w, const struct flow *f, bool toserver, const struct eve_opts *o,
                     bool flow_event)
{
    if (f->key.vlan[0] != 0) {
        jw_arr_open(w, "vlan");
        for (unsigned i = 0; i < PKT_MAX_VLAN && f->key.vlan[i] != 0; i++)
            jw_u64(w, NULL, f->key.vlan[i]);
        jw_arr_close(w);
    }
    if (o == NULL)
        return;
    if (o->ethernet && f->has_mac) {
        const uint8_t *s = f->mac[toserver ? 0 : 1], *d = f->mac[toserver ? 1 : 0];
        jw_obj_open(w, "ether");
        if (flow_event) {
            jw_arr_open(w, "src_macs");
            jw_hex(w, NULL, s, 6, ':');
            jw_arr_close(w);
            jw_arr_open(w, "dest_macs");
            jw_hex(w, NULL, d, 6, ':');
            jw_arr_close(w);
        } else {
            jw_hex(w, "src_mac", s, 6, ':');
            jw_hex(w, "dest_mac", d, 6, ':');
        }
        jw_obj_close(w);
    }
    if (o->community_id) {
        char cid[EVE_COMMUNITY_ID_LEN];
        eve_flow_community_id(cid, o->community_id_seed, f);
        jw_str(w, "community_id", cid);
    }
}
