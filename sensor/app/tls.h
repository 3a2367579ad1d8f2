/*
 * TLS parser (stream parser of the app-layer interface, applayer.h): the record
 * layer of each direction, the handshake messages in clear (ClientHello,
 * ServerHello, Certificate, ServerHelloDone), the JA3, JA3S and JA4 fingerprints,
 * the server certificate (decoded with OpenSSL), and one EVE `tls` event per flow
 * in Suricata's shape (docs/events.md, docs/internals/tls.md).
 *
 * What it keeps true:
 *  - resumable: records and handshake messages may be split anywhere in the stream
 *    and span records; every split gives the same event;
 *  - bounded: a handshake message is assembled in one buffer of exactly its length,
 *    allocated only when that length is at most app.tls.max_handshake_message
 *    (larger ones are skipped: handshake_too_long); every string of the event has a
 *    fixed cap inside the per-flow state, which is allocated once (MEM_APP);
 *  - after ChangeCipherSpec or application data in a direction, records of that
 *    direction are only counted, never decoded; after a gap, a malformed record
 *    header or a record over 2^14 + 2048 bytes, the direction is not parsed any more;
 *  - the event is written once: when the server's certificate or ServerHelloDone
 *    was parsed, when the server went encrypted (TLS 1.3 ServerHello, resumption),
 *    or at flow end when a hello was seen.
 */
#ifndef OTASUKE_SENSOR_TLS_H
#define OTASUKE_SENSOR_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/applayer.h"

/* Largest TLSCiphertext fragment (RFC 5246 6.2.3: 2^14 + 2048). */
#define TLS_MAX_RECORD 18432

/* Anomaly kinds of the tls parser (app_sink.anomaly's `kind`). */
enum tls_anomaly {
    TLS_AN_RECORD_TOO_LONG = 0, /* record length over TLS_MAX_RECORD: direction stops */
    TLS_AN_INVALID_RECORD_TYPE, /* content type not 20..24: direction stops */
    TLS_AN_INVALID_VERSION,     /* record version major not 3: direction stops */
    TLS_AN_BAD_HANDSHAKE,       /* a hello shorter than its fields or lengths disagree */
    TLS_AN_HANDSHAKE_TOO_LONG,  /* message over the configured maximum: skipped */
    TLS_AN_BAD_EXTENSION,       /* an extension whose inner lengths disagree */
    TLS_AN_BAD_CERTIFICATE,     /* certificate list malformed or a DER OpenSSL refuses */
    TLS_AN_TOO_MANY_VALUES,     /* a hello list over TLS_MAX_LIST: the rest not hashed */
    TLS_AN_GAP,                 /* bytes lost: the flow's TLS is not parsed any more */
    TLS_AN_NOMEM,               /* a handshake buffer could not be had: message skipped */
    TLS_AN_COUNT
};

/* "record_too_long", ... (static strings); "unknown" out of range. */
const char *tls_anomaly_name(int kind);

/* Suricata's name of a TLS version: "TLSv1", "TLS 1.2", "TLS 1.3", "SSLv3",
 * "TLS 1.3 draft-28", ... and "UNDETERMINED" for 0 or an unknown value. Writes into
 * buf (at least 24 bytes) and returns it. */
const char *tls_version_name(uint16_t v, char *buf, size_t n);

/* The parser table (probe, state_new, state_free, data, gap, end). */
extern const struct app_parser tls_parser;

/* Decoded server certificates are cached process-wide (tls_cert.c): lookups and
 * hits so far; and the cache's release (tests, leak checks). */
void tls_cert_cache_counts(uint64_t *lookups, uint64_t *hits);
void tls_cert_cache_free(void);
/* The flow's TLS started after another protocol (STARTTLS, pgsql SSLRequest, ...): the
 * tls event carries "from_proto": proto (Suricata's tls.from_proto). st is a state of
 * tls_parser; proto is copied (at most 15 bytes). */
void tls_set_from_proto(void *st, const char *proto);

#endif
