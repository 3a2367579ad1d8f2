/*
 * Pieces shared by every event the sensor writes (EVE-style JSON lines): the common
 * header (timestamp, event_type, flow_id, addresses, ports, proto) and address
 * formatting. Event-specific objects are written by their modules.
 */
#ifndef OTASUKE_SENSOR_EVE_H
#define OTASUKE_SENSOR_EVE_H

#include "decode/pkt.h"
#include "otasuke/jw.h"

#include <stdbool.h>

#include <stddef.h>
#include <stdint.h>

#define EVE_ADDR_LEN 46 /* INET6_ADDRSTRLEN */

#define EVE_IP6_FULL_LEN 40 /* "2001:0db8:0000:...": 39 characters and the NUL */

/* Writes the 16 bytes at b as Suricata writes IPv6 addresses: all eight groups, four
 * lowercase hex digits each ("2001:0db8:0000:0000:0000:0000:0000:0001"), into out
 * (EVE_IP6_FULL_LEN bytes). */
void eve_ip6_full(const uint8_t *b, char *out);
/* Formats a (possibly IPv4-mapped) address as text, IPv6 as eve_ip6_full; returns out
 * (empty when outlen is too small). */
const char *eve_addr_str(const struct addr *a, char *out, size_t outlen);
/* Returns true when a is IPv4-mapped. */
bool eve_addr_is_v4(const struct addr *a);
/* Reads an address as events write it (and inet_pton takes it): a dotted quad into its
 * IPv4-mapped form, else IPv6. False (out zeroed) when s is neither. */
bool eve_addr_parse(const char *s, struct addr *out);
/* Name of an IP protocol as EVE writes it ("TCP", "UDP", "ICMP", "IPv6-ICMP", or "%u"). */
const char *eve_proto_name(uint8_t proto, uint8_t ipver, char *buf, size_t len);
/* Opens the event object and writes timestamp, flow_id (when not 0) and event_type. */
void eve_begin(struct jw *w, uint64_t ts_us, const char *event_type, uint64_t flow_id);
/* Writes src_ip, src_port, dest_ip, dest_port and proto (ports only for TCP/UDP/SCTP,
 * icmp_type/icmp_code for ICMP when icmp is true). */
void eve_tuple(struct jw *w, const struct addr *src, uint16_t sport, const struct addr *dst,
               uint16_t dport, uint8_t proto, uint8_t ipver);

#define EVE_COMMUNITY_ID_LEN 31 /* "1:" + 28 base64 characters + NUL */

struct flow;

/* What every event of a flow carries besides the tuple (sensor settings eve.*). */
struct eve_opts {
    bool community_id;          /* community_id: Community ID v1 of the flow */
    uint16_t community_id_seed;
    bool ethernet;              /* ether: the flow's MAC addresses */
};

/* Community ID v1 (Corelight spec; Suricata's and Zeek's community_id) of a tuple, as
 * text "1:<base64 SHA-1>" into out (EVE_COMMUNITY_ID_LEN bytes). For ICMP and ICMPv6
 * sport and dport are the type and code: a type with a counterpart (echo and reply,
 * ...) is mapped to the pair (type, counterpart) as the spec does. Ports are used for
 * TCP, UDP and SCTP and ICMP only. */
void eve_community_id(char *out, uint16_t seed, const struct addr *src, const struct addr *dst,
                      uint16_t sport, uint16_t dport, uint8_t proto);
/* The flow's Community ID (from its key; ICMP from the first packet's type and code). */
void eve_flow_community_id(char *out, uint16_t seed, const struct flow *f);

/* Writes the per-flow header fields of an event of flow f: vlan (the ids, outermost
 * first, when tagged), ether (when o->ethernet and the flow's first packet had an
 * Ethernet header) and community_id (when o->community_id). `toserver` is the
 * event's orientation (src = the client); a flow event (flow_event) writes ether as
 * Suricata's flow events do: src_macs and dest_macs arrays. */
void eve_flow_fields(struct jw *w, const struct flow *f, bool toserver, const struct eve_opts *o,
                     bool flow_event);

#endif
