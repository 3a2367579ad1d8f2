/*
 * DHCPv4 (RFC 2131 / 2132) message parser and EVE `dhcp` event writer.
 *
 * dhcp_parse() decodes one UDP payload into a fixed-size struct dhcp_msg: nothing is
 * allocated and nothing is sized from a wire length. Strings, lists and the option
 * count have caps (DHCP_MAX_*); what is over a cap is cut and flagged. Malformed
 * input sets an anomaly bit (enum dhcp_anomaly) and never reads outside the payload:
 * every read goes through struct rd.
 *
 * The sensor uses it through `dhcp_parser` (applayer.h): UDP 67/68 datagrams are
 * parsed, dhcp_should_log() decides, the event is the common EVE header and then
 * dhcp_write_event(); anomaly bits become counters and sampled `anomaly` events.
 */
#ifndef OTASUKE_SENSOR_DHCP_H
#define OTASUKE_SENSOR_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otasuke/jw.h"

struct app_parser;

#define DHCP_PORT_SERVER 67
#define DHCP_PORT_CLIENT 68

#define DHCP_HDR_LEN       236 /* fixed BOOTP header, before the magic cookie */
#define DHCP_MAX_HLEN      16  /* chaddr is 16 bytes; a larger hlen is capped */
#define DHCP_MAX_STR       128 /* hostname, vendor class, FQDN (bytes kept) */
#define DHCP_MAX_CLIENT_ID 64  /* option 61 bytes kept, type byte included */
#define DHCP_MAX_PARAMS    64  /* option 55 codes kept */
#define DHCP_MAX_ADDRS     8   /* routers / DNS servers kept */
#define DHCP_MAX_OPTIONS   64  /* options walked (pads not counted) */
/* "1,3,6,...": up to 3 digits and a comma per code, the last comma is the NUL. */
#define DHCP_FP_LEN 256 /* DHCP_MAX_PARAMS * 4 */

enum dhcp_op {
    DHCP_OP_REQUEST = 1,
    DHCP_OP_REPLY = 2,
};

/* Option 53 values. */
enum dhcp_type {
    DHCP_DISCOVER = 1,
    DHCP_OFFER = 2,
    DHCP_REQUEST = 3,
    DHCP_DECLINE = 4,
    DHCP_ACK = 5,
    DHCP_NAK = 6,
    DHCP_RELEASE = 7,
    DHCP_INFORM = 8,
};

/* One bit each in dhcp_msg.anomalies (1u << code). */
enum dhcp_anomaly {
    DHCP_AN_TRUNCATED = 0,    /* shorter than header + cookie: not parsed (PARSE_BAD) */
    DHCP_AN_BAD_COOKIE,       /* magic cookie is not 99.130.83.99 (PARSE_BAD) */
    DHCP_AN_BAD_OP,           /* op is neither 1 (request) nor 2 (reply) */
    DHCP_AN_BAD_HLEN,         /* hlen > 16: chaddr read as 16 bytes */
    DHCP_AN_OPT_LEN,          /* an option's length runs past the end of its area */
    DHCP_AN_OPT_INVALID,      /* a known option with a length its type forbids */
    DHCP_AN_TOO_MANY_OPTIONS, /* more than DHCP_MAX_OPTIONS: the rest is skipped */
    DHCP_AN_NO_END,           /* an option area ended without the END option */
    DHCP_AN_STR_TRUNCATED,    /* a string longer than its cap was cut */
    DHCP_AN_LIST_TRUNCATED,   /* more params / addresses than the cap */
    DHCP_AN_COUNT
};

/* Bits of dhcp_msg.present. */
#define DHCP_HAS_MSG_TYPE       (1u << 0)
#define DHCP_HAS_REQUESTED_IP   (1u << 1)
#define DHCP_HAS_SERVER_ID      (1u << 2)
#define DHCP_HAS_LEASE_TIME     (1u << 3)
#define DHCP_HAS_RENEWAL_TIME   (1u << 4)
#define DHCP_HAS_REBINDING_TIME (1u << 5)
#define DHCP_HAS_SUBNET_MASK    (1u << 6)
#define DHCP_HAS_PARAMS         (1u << 7)
#define DHCP_HAS_CLIENT_ID      (1u << 8)
#define DHCP_HAS_FQDN           (1u << 9)
#define DHCP_HAS_ROUTERS        (1u << 10)
#define DHCP_HAS_DNS            (1u << 11)
#define DHCP_HAS_HOSTNAME       (1u << 12)
#define DHCP_HAS_VENDOR_CLASS   (1u << 13)

/* A decoded message. Strings are byte arrays with a length (not necessarily text, not
 * NUL-terminated on the wire; a NUL is kept after the last byte for convenience).
 * Repeated options are concatenated (RFC 3396) up to the caps. */
struct dhcp_msg {
    uint8_t op, htype, hlen, hops;
    uint32_t xid;
    uint16_t secs, flags;
    uint8_t ciaddr[4], yiaddr[4], siaddr[4], giaddr[4];
    uint8_t chaddr[DHCP_MAX_HLEN];
    uint8_t chaddr_len; /* min(hlen, 16) */

    uint32_t present;   /* DHCP_HAS_* */
    uint32_t anomalies; /* 1u << enum dhcp_anomaly */
    uint16_t n_options; /* options walked, pads and END not counted */
    uint8_t overload;   /* option 52: 1 file, 2 sname, 3 both; 0 none */

    uint8_t msg_type; /* option 53, enum dhcp_type (0 when absent: plain BOOTP) */
    uint8_t requested_ip[4], server_id[4], subnet_mask[4];
    uint32_t lease_time, renewal_time, rebinding_time;

    char hostname[DHCP_MAX_STR + 1];
    uint16_t hostname_len;
    char vendor_class[DHCP_MAX_STR + 1];
    uint16_t vendor_class_len;
    uint8_t client_id[DHCP_MAX_CLIENT_ID]; /* type byte, then the identifier */
    uint16_t client_id_len;
    uint8_t fqdn_flags;          /* option 81 flags (S O E N bits) */
    char fqdn[DHCP_MAX_STR + 1]; /* as dotted text, also when wire-encoded */
    uint16_t fqdn_len;

    uint8_t params[DHCP_MAX_PARAMS]; /* option 55, wire order */
    uint16_t params_n;
    char params_fp[DHCP_FP_LEN]; /* "1,3,6,15": params joined, NUL-terminated */

    uint8_t routers[DHCP_MAX_ADDRS][4];
    uint8_t routers_n;
    uint8_t dns[DHCP_MAX_ADDRS][4];
    uint8_t dns_n;
};

/* Parses the UDP payload p[0..len) into *m (borrows p until return; m is fully
 * overwritten). Returns PARSE_OK when the header and cookie were read: m is then
 * loggable even if anomaly bits are set (options after a bad one are skipped).
 * Returns PARSE_BAD when the payload is too short or the cookie is wrong; the
 * anomaly bit says which and the header fields read so far are kept. */
int dhcp_parse(struct dhcp_msg *m, const uint8_t *p, size_t len);

/* Suricata's policy: without `extended` only ACKs are logged; with it, all. */
bool dhcp_should_log(const struct dhcp_msg *m, bool extended);

/* Writes the "dhcp" object (key and value) into the open event object of w, in
 * Suricata 7's shape; `extended` adds what Suricata's dhcp.extended adds, plus our
 * fields (docs/internals/dhcp.md). Borrows m. Errors are left in w (jw_ok()). s, when
 * not NULL, is the sink the event goes to: the values the inventory reads are noted
 * there (app_note). */
struct app_sink;
void dhcp_write_event(struct jw *w, struct app_sink *s, const struct dhcp_msg *m, bool extended);

/* Static names: "discover" ... "inform", or "unknown". */
const char *dhcp_type_name(uint8_t msg_type);
/* Static names for anomaly events: "truncated", "bad_cookie", ... or "unknown". */
const char *dhcp_anomaly_name(enum dhcp_anomaly a);

/* The parser as the pipeline uses it (applayer.h): datagrams on UDP 67/68. */
extern const struct app_parser dhcp_parser;

#endif
