/*
 * ARP (RFC 826) events: who-has (request) and is-at (reply), gratuitous ARP and ARP
 * probes (RFC 5227, sender 0.0.0.0), as `arp` events in Suricata 8's shape
 * {hw_type, proto_type, opcode, src_mac, src_ip, dest_mac, dest_ip} with our fields:
 * `gratuitous`, `probe`, and on replies `solicited` (a request for it was seen within
 * app.arp.window), `response_time_us`, and `conflict_mac` when another MAC already
 * answered the same request (a sign of ARP spoofing).
 *
 * ARP has no flow: the decoder already reads Ethernet/IPv4 ARP into struct pkt
 * (is_arp, arp_op, arp_sha/spa/tha/tpa); arp_from_pkt() takes it from there and
 * arp_parse() reads the same from raw ARP bytes (after the EtherType) for other
 * callers and tests. arp_observe() writes the event through an app_sink whose
 * event_begin(s, "arp", APP_TOSERVER) writes the timestamp and event_type only (no
 * flow, no 5-tuple: the addresses are in the arp object); s->now_us is the packet's
 * time.
 *
 * Pairing: a fixed table of app.arp.pending entries (allocated once, MEM_APP) keyed
 * by (requester MAC, address asked for); a new request overwrites whatever shares
 * its slot, so memory stays fixed whatever the traffic; entries are stale after the
 * window, so nothing needs expiring.
 */
#ifndef OTASUKE_SENSOR_ARP_H
#define OTASUKE_SENSOR_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/applayer.h"

struct pkt;
struct arp_table;

#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

struct arp_msg {
    uint16_t htype, ptype, op;
    uint8_t sha[6], spa[4], tha[6], tpa[4];
};

enum arp_anomaly {
    ARP_AN_SHORT = 0,   /* arp_parse: fewer bytes than the header says */
    ARP_AN_UNSUPPORTED, /* arp_parse: not Ethernet/IPv4 (not logged) */
    ARP_AN_BAD_OPCODE,  /* an opcode other than request / reply (logged as a number) */
    ARP_AN_COUNT
};

const char *arp_anomaly_name(int kind);

/* Reads an ARP packet p[0..n) (the bytes after the EtherType) into *out. Returns
 * PARSE_OK for Ethernet/IPv4 ARP, PARSE_BAD when short (ARP_AN_SHORT) or of another
 * hardware / protocol type (ARP_AN_UNSUPPORTED); *kind says which. */
int arp_parse(const uint8_t *p, size_t n, struct arp_msg *out, int *kind);

/* Fills *out from a packet the decoder marked is_arp (borrows p). */
void arp_from_pkt(const struct pkt *p, struct arp_msg *out);

/* The pairing table, sized by c (app.arp.pending, app.arp.window); NULL c means the
 * defaults. NULL when memory is refused. */
struct arp_table *arp_table_new(const struct sensor_conf *c);
void arp_table_free(struct arp_table *t); /* accepts NULL */

/* Writes the arp event of m (borrowed) through s and remembers requests. */
void arp_observe(struct arp_table *t, struct app_sink *s, const struct arp_msg *m);

#endif
