/*
 * Pieces shared by every event the sensor writes (EVE-style JSON lines): the common
 * header (timestamp, event_type, flow_id, addresses, ports, proto) and address
 * formatting. Event-specific objects are written by their modules.
 */
#ifndef OTASUKE_SENSOR_EVE_H
#define OTASUKE_SENSOR_EVE_H

#include "decode/pkt.h"
#include "otasuke/jw.h"

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
/* Name of an IP protocol as EVE writes it ("TCP", "UDP", "ICMP", "IPv6-ICMP", or "%u"). */
const char *eve_proto_name(uint8_t proto, uint8_t ipver, char *buf, size_t len);
/* Opens the event object and writes timestamp, flow_id (when not 0) and event_type. */
void eve_begin(struct jw *w, uint64_t ts_us, const char *event_type, uint64_t flow_id);
/* Writes src_ip, src_port, dest_ip, dest_port and proto (ports only for TCP/UDP/SCTP,
 * icmp_type/icmp_code for ICMP when icmp is true). */
void eve_tuple(struct jw *w, const struct addr *src, uint16_t sport, const struct addr *dst,
               uint16_t dport, uint8_t proto, uint8_t ipver);

#endif
