/*
 * DNS message parser and EVE `dns` event writer (RFC 1035), standalone: the pipeline
 * wires it to UDP port 53 datagrams and to reassembled TCP streams.
 *
 * A message is parsed into a caller-provided `struct dns_msg`, a fixed-size record
 * (about 20 KiB) with no pointers into the input: names, TXT strings and addresses
 * are copied into its string pool, so the message outlives the bytes it came from.
 * Nothing is allocated from the header's counts: they are claims, and at most
 * `max_questions` questions and `max_records` resource records (all sections
 * together) are kept; the rest are counted as DNS_AN_TOO_MANY_RECORDS and not read.
 *
 * Malformed input is never an error of the caller: what went wrong is recorded as
 * bits in `dns_msg.anomalies` (one per `enum dns_anomaly`), which the caller counts
 * and may turn into `anomaly` events. The parser's work is linear in the message
 * size: each name reads at most DNS_MAX_PTR_HOPS pointers and DNS_MAX_NAME bytes of
 * labels, and `dns_msg.work` counts the labels and pointers read (tests assert it).
 *
 * Over TCP (RFC 1035 4.2.2, RFC 7766) each message has a 2-byte length prefix; a
 * `struct dns_tcp` per direction accumulates at most one message (at most 65535
 * bytes, from MEM_APP) across any split of the stream and parses it when complete,
 * so every split gives the same messages.
 */
#ifndef OTASUKE_SENSOR_DNS_H
#define OTASUKE_SENSOR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw;
struct app_parser;

#define DNS_PORT          53
#define DNS_MAX_NAME      255 /* bytes of a name on the wire (RFC 1035 2.3.4) */
#define DNS_MAX_LABEL     63
#define DNS_MAX_PTR_HOPS  16 /* compression pointers followed per name */
#define DNS_MAX_QUESTIONS 32 /* array sizes; dns_conf may lower them (mDNS: 17 seen) */
#define DNS_MAX_RECORDS   64
#define DNS_MAX_TXT       1024  /* bytes of TXT character-strings kept per record */
#define DNS_POOL_SIZE     16384 /* string pool of one message */

/* What went wrong in a message. Each is a bit (1u << value) in dns_msg.anomalies. */
enum dns_anomaly {
    DNS_AN_NAME_TOO_LONG = 0, /* name over 255 wire bytes: kept truncated */
    DNS_AN_LABEL_TOO_LONG,    /* label type 0x40/0x80 (a length over 63): rest unread */
    DNS_AN_PTR_LOOP,          /* pointer back into the run of labels it ends */
    DNS_AN_PTR_FORWARD,       /* pointer at or after itself */
    DNS_AN_PTR_TOO_MANY,      /* more than DNS_MAX_PTR_HOPS pointers in one name */
    DNS_AN_TRUNCATED,         /* a record or name runs past the end: rest unread */
    DNS_AN_TOO_MANY_RECORDS,  /* header claims more than the caps: extra not read */
    DNS_AN_RDATA_BAD,         /* rdata shorter/longer than its type needs */
    DNS_AN_POOL_FULL,         /* string pool exhausted: later strings empty */
    DNS_AN_TRAILING,          /* bytes after the last counted record */
    DNS_AN_SHORT,             /* under 12 bytes: no header (message not usable) */
    DNS_AN_NOMEM,             /* TCP: no memory for the message's buffer: skipped */
    DNS_AN_COUNT
};

enum dns_section { DNS_SEC_ANSWER = 0, DNS_SEC_AUTHORITY, DNS_SEC_ADDITIONAL };

/* A string in dns_msg.pool: bytes [off, off + len), not NUL-terminated. */
struct dns_str {
    uint16_t off;
    uint16_t len;
};

struct dns_question {
    struct dns_str name;
    uint16_t type;
    uint16_t qclass;
};

/* One resource record. Which rdata fields are set depends on the type:
 * A/AAAA: data = 4/16 address bytes; CNAME/NS/PTR: data = name; MX: data = exchange,
 * n[0] = preference; TXT: data = the character-strings in wire form, each after its
 * length byte (capped at DNS_MAX_TXT; walk them with dns_txt_next()); SRV: data = target, n[0..2] = priority, weight, port; SOA: data =
 * mname, data2 = rname, n[0..4] = serial, refresh, retry, expire, minimum. Other
 * types: only type, class and TTL. has_rdata is false when the rdata was malformed. */
struct dns_rr {
    struct dns_str name;
    struct dns_str data;
    struct dns_str data2;
    uint32_t n[5];
    uint32_t ttl;
    uint16_t type;
    uint16_t rclass;
    uint8_t section; /* enum dns_section */
    bool has_rdata;
};

struct dns_msg {
    uint16_t id;
    uint16_t flags; /* the whole flags word; the fields below are taken from it */
    uint8_t opcode;
    uint8_t rcode;
    bool qr;
    uint16_t qdcount, ancount, nscount, arcount; /* as claimed by the header */
    uint8_t nq;                                  /* questions kept */
    uint8_t nrr;        /* records kept, in wire order (answers, authority, additional) */
    uint32_t anomalies; /* bits of enum dns_anomaly */
    uint32_t work;      /* labels and pointers read: linear in the message size */
    uint64_t tx_id;     /* set by the caller; written as dns.tx_id */
    struct dns_question q[DNS_MAX_QUESTIONS];
    struct dns_rr rr[DNS_MAX_RECORDS];
    uint16_t pool_len;
    uint8_t pool[DNS_POOL_SIZE];
};

/* Limits; a NULL conf or a 0 field means the maximum (the array size). */
struct dns_conf {
    uint8_t max_questions; /* <= DNS_MAX_QUESTIONS */
    uint8_t max_records;   /* <= DNS_MAX_RECORDS, all three sections together */
};

/* Parses one DNS message (a UDP payload, or a TCP message without its length prefix)
 * into *m (borrows p until return; m owns copies of everything it keeps).
 * Returns PARSE_OK when the header was read (m is usable, anomalies may be set) or
 * PARSE_BAD when the message is under 12 bytes (DNS_AN_SHORT set). */
int dns_parse(const uint8_t *p, size_t n, const struct dns_conf *conf, struct dns_msg *m);

/* Iterates the character-strings of TXT rdata b[0..n) (struct dns_rr.data): from
 * *off (start at 0), sets *s and *len to the next string and advances *off; returns false
 * at the end. */
bool dns_txt_next(const uint8_t *b, size_t n, size_t *off, const uint8_t **s, size_t *len);

/* Returns the bytes of s inside m. */
const uint8_t *dns_str_ptr(const struct dns_msg *m, struct dns_str s);

/* Static names: "A", "AAAA", ... or NULL when the type has no mnemonic here. */
const char *dns_rrtype_name(uint16_t type);
/* "NOERROR", "NXDOMAIN", ... or NULL for an unassigned rcode. */
const char *dns_rcode_name(uint8_t rcode);
/* "name_too_long", "ptr_loop", ... for counters and anomaly events. */
const char *dns_anomaly_name(enum dns_anomaly a);

/* Writes the "dns" object of a `dns` event (Suricata 8 EVE, version 3 shape, see
 * docs/internals/dns.md) into w, which must be inside an open object. The caller
 * wrote the common header (eve_begin/eve_tuple) and closes the event. */
void dns_write_event(struct jw *w, const struct dns_msg *m);

/* Per-direction state of DNS over TCP. Zero-initialise it; dns_tcp_free() releases
 * the partial message buffer (if any). */
struct dns_tcp {
    uint8_t *buf;  /* the message being assembled, exactly `need` bytes, MEM_APP */
    uint32_t need; /* length of that message, from its prefix */
    uint32_t have; /* bytes of it in buf */
    uint8_t hdr[2];
    uint8_t hdr_have;
    bool skip;      /* discarding this message: its buffer could not be allocated */
    uint64_t msgs;  /* messages parsed */
    uint64_t nomem; /* messages skipped because buf could not be allocated */
};

/* Called for each complete message; m is the caller's scratch, valid until return. */
typedef void (*dns_msg_fn)(void *ud, const struct dns_msg *m, int rc);

/* Feeds n more stream bytes (borrowed until return). For each complete message it
 * parses into *scratch and calls fn(ud, scratch, rc) with dns_parse()'s result.
 * A message that arrives whole in one call is parsed in place; only a split one is
 * buffered. Returns PARSE_MORE when the stream ends inside a message, PARSE_OK when
 * it ends on a message boundary. A buffer that cannot be allocated is skipped (its
 * bytes discarded, nomem counted), so the stream stays in step. */
int dns_tcp_feed(struct dns_tcp *s, const uint8_t *p, size_t n, const struct dns_conf *conf,
                 struct dns_msg *scratch, dns_msg_fn fn, void *ud);
void dns_tcp_free(struct dns_tcp *s);

/* The parser as the pipeline uses it (applayer.h): datagrams to or from port 53, and
 * TCP streams on port 53 (tx_id: the message's index in the flow, as Suricata 8). */
extern const struct app_parser dns_parser;

#endif
