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

/* Formats a (possibly IPv4-mapped) address as text; returns out. */
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
