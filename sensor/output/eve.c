/* Common EVE event fields. */
#include "output/eve.h"

#include "otasuke/timefmt.h"

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
