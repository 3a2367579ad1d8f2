/*
 * NetBIOS name service (RFC 1001 / 1002; UDP 137): name queries, registrations,
 * releases, refreshes and their responses, and node status (NBSTAT) responses with
 * the node's name table and MAC address, as `nbns` events.
 *
 * NBNS messages have the DNS layout, so a datagram is parsed by dns_parse() (dns.h)
 * into the LAN parsers' scratch message (mdns.h); the rdata of NB (0x20) and NBSTAT
 * (0x21) records, which DNS does not know, is found with mdns_rdata_locate() and
 * decoded here through struct rd. A NetBIOS name is the first label of the DNS name,
 * in first-level encoding: 32 letters 'A'..'P', two per byte, giving 15 bytes of name
 * (space padded) and a suffix byte (the service: <00> workstation, <20> file server,
 * <1D> master browser, <1C> domain controllers, ...); labels after it are the scope.
 *
 * dns_parse() reads type 0x21 as DNS SRV (the same number), so for messages that
 * carry NBSTAT records the DNS parser's rdata anomalies are not reported; ours are.
 * Caps: NBNS_MAX_ADDRS addresses and NBNS_MAX_NAMES node-status names per message.
 */
#ifndef OTASUKE_SENSOR_NBNS_H
#define OTASUKE_SENSOR_NBNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/applayer.h"
#include "app/dns.h"

#define NBNS_PORT      137
#define NBNS_MAX_ADDRS 16
#define NBNS_MAX_NAMES 32

/* Anomaly kinds: the DNS parser's (same values), then ours. */
enum nbns_anomaly {
    NBNS_AN_BAD_NAME = DNS_AN_COUNT, /* first label is not 32 letters 'A'..'P' */
    NBNS_AN_BAD_RDATA,               /* NB / NBSTAT rdata of an impossible length */
    NBNS_AN_TOO_MANY,                /* addresses or node names over the caps */
    NBNS_AN_COUNT
};

const char *nbns_anomaly_name(int kind);

/* Decodes the first-level encoded label enc[0..n) (n must be 32) into name[16]: 15
 * name bytes and the suffix. Returns false when it is not a valid encoding. */
bool nbns_decode_name(const uint8_t *enc, size_t n, uint8_t name[16]);

extern const struct app_parser nbns_parser;

#endif
