/*
 * mDNS / DNS-SD (RFC 6762, RFC 6763; UDP 5353) and LLMNR (RFC 4795; UDP 5355): the
 * names a LAN device announces about itself, as `mdns` and `llmnr` events.
 *
 * Both are DNS messages: a datagram is parsed by dns_parse() (dns.h) into a per-thread
 * scratch `struct dns_msg`, and this module only interprets the records. mDNS's
 * "unicast response" bit (top bit of qclass) and "cache flush" bit (top bit of rclass)
 * are stripped before classes are looked at; the QU bit is logged per query.
 *
 * From an mDNS message we keep:
 *  - queries: name and type (and whether a unicast response was asked);
 *  - hostnames: owners of A/AAAA records and targets of reverse (in-addr.arpa /
 *    ip6.arpa) PTR records, with the addresses the A/AAAA records give;
 *  - service_types: what PTR `_services._dns-sd._udp.local` enumerates;
 *  - services: DNS-SD instances (PTR to an instance, SRV, TXT) with their type,
 *    target host, port and TXT key=value pairs, and the device model when a TXT key
 *    names one (md, model, ty, usb_MDL, product, am, ...).
 * dns_parse() joins TXT character-strings without their boundaries, so the TXT rdata
 * is found again in the datagram by mdns_rdata_locate(), a record walker that only
 * skips names (it decodes nothing that dns_parse() decodes).
 *
 * Every list has a cap (services per message, TXT bytes and keys per service,
 * hostnames and addresses per message); what is over a cap is counted as an anomaly.
 * Events are written during the datagram call; nothing is kept between datagrams.
 */
#ifndef OTASUKE_SENSOR_MDNS_H
#define OTASUKE_SENSOR_MDNS_H

#include <stddef.h>
#include <stdint.h>

#include "app/applayer.h"
#include "app/dns.h"

#define MDNS_PORT  5353
#define LLMNR_PORT 5355

#define MDNS_MAX_SERVICES 32  /* array size; app.mdns.max_services may lower it */
#define MDNS_DEF_SERVICES 16   /* app.mdns.max_services's default */
#define MDNS_MAX_TXT      1024 /* TXT bytes read per service at most */
#define MDNS_DEF_TXT      512  /* app.mdns.max_txt's default */
#define MDNS_MAX_TXT_KEYS 32  /* TXT keys written per service */
/* a longer TXT key is no key (RFC 6763 6.4 asks for 9 characters at most): skipped as
 * txt_bad. Written as a JSON key it makes a path, "mdns.services.txt.KEY", that must
 * stay within jscan's JSCAN_MAX_PATH (128 bytes) for the line to be read back: each
 * byte of the key takes at most two there (a byte that is not UTF-8 is escaped as a
 * Latin-1 character). */
#define MDNS_TXT_KEY_MAX  48
#define MDNS_MAX_HOSTS    16  /* distinct hostnames per message */
#define MDNS_MAX_ADDRS    32  /* addresses per message */

/* Anomaly kinds: first the DNS parser's (enum dns_anomaly, same values), then ours. */
enum mdns_anomaly {
    MDNS_AN_TOO_MANY_SERVICES = DNS_AN_COUNT, /* services over the cap: not logged */
    MDNS_AN_TXT_TRUNCATED,                    /* TXT over the byte or key cap: cut */
    MDNS_AN_TOO_MANY_NAMES,                   /* hostnames / addresses over the caps */
    MDNS_AN_TXT_BAD,                          /* a TXT string runs past its rdata */
    MDNS_AN_COUNT
};

/* "name_too_long" ... (the DNS kinds), "too_many_services", ... */
const char *mdns_anomaly_name(int kind);

/*
 * Finds where the rdata of each record kept by dns_parse() lies in the message p[0..n)
 * that m was parsed from: off[i] and len[i] for m->rr[i] (i < m->nrr). Only names are
 * skipped (labels and the first pointer), header counts are those of m. Returns the
 * number of records located (fewer than m->nrr when the message ends early).
 */
unsigned mdns_rdata_locate(const uint8_t *p, size_t n, const struct dns_msg *m,
                           uint16_t off[DNS_MAX_RECORDS], uint16_t len[DNS_MAX_RECORDS]);

/* The per-thread scratch message of the LAN parsers (mdns, llmnr, nbns). */
struct dns_msg *mdns_scratch(void);

extern const struct app_parser mdns_parser;
extern const struct app_parser llmnr_parser;

#endif
