/*
 * DHCPv4 parser and EVE `dhcp` writer.
 *
 * Checks in Suricata's order: total length (header + cookie), op, hlen, cookie, then
 * the options. The options walk reads each option as a sub-cursor of exactly its
 * claimed length, so an option's decoder cannot read into the next one, and a length
 * past the end of the area stops the walk with DHCP_AN_OPT_LEN. Option overload (52)
 * continues the walk in `file` then `sname` (RFC 2131 4.1), once, from the main area
 * only. The total number of options walked is capped, which bounds the work per
 * message independently of what the options carry.
 *
 * Invariants: struct dhcp_msg is the only output and has fixed size; every string and
 * list in it has len <= its cap; params_fp always matches params[0..params_n).
 */
#include "app/dhcp.h"
#include "app/applayer.h"
#include "sensor_conf.h"

#include <string.h>

#include "otasuke/ascii.h"
#include "otasuke/err.h"
#include "otasuke/rd.h"

#define DHCP_COOKIE 0x63825363u

/* Option codes used here. */
enum {
    OPT_PAD = 0,
    OPT_SUBNET_MASK = 1,
    OPT_ROUTERS = 3,
    OPT_DNS = 6,
    OPT_HOSTNAME = 12,
    OPT_REQUESTED_IP = 50,
    OPT_LEASE_TIME = 51,
    OPT_OVERLOAD = 52,
    OPT_MSG_TYPE = 53,
    OPT_SERVER_ID = 54,
    OPT_PARAMS = 55,
    OPT_RENEWAL_TIME = 58,
    OPT_REBINDING_TIME = 59,
    OPT_VENDOR_CLASS = 60,
    OPT_CLIENT_ID = 61,
    OPT_FQDN = 81,
    OPT_END = 255,
};

/* Offsets of the overloadable fields in the BOOTP header. */
#define SNAME_OFF 44
#define SNAME_LEN 64
#define FILE_OFF  108
#define FILE_LEN  128

#define FQDN_E 0x04 /* option 81: name is in DNS wire format */

_Static_assert(DHCP_FP_LEN >= DHCP_MAX_PARAMS * 4, "params_fp holds 64 codes of \"255,\"");

static void an_set(struct dhcp_msg *m, enum dhcp_anomaly a)
{
    m->anomalies |= 1u << a;
}

/* Appends the rest of o to buf (len bytes used, cap bytes room, plus a NUL). */
static void str_append(struct dhcp_msg *m, char *buf, uint16_t *len, size_t cap, struct rd *o)
{
    size_t n = rd_left(o);
    size_t room = cap - *len;
    if (n > room) {
        an_set(m, DHCP_AN_STR_TRUNCATED);
        n = room;
    }
    rd_copy(o, buf + *len, n);
    *len = (uint16_t)(*len + n);
    buf[*len] = '\0';
}

static void opt_ip4(struct dhcp_msg *m, struct rd *o, uint8_t out[4], uint32_t bit)
{
    if (rd_left(o) != 4) {
        an_set(m, DHCP_AN_OPT_INVALID);
        return;
    }
    rd_copy(o, out, 4);
    m->present |= bit;
}

static void opt_u32(struct dhcp_msg *m, struct rd *o, uint32_t *out, uint32_t bit)
{
    if (rd_left(o) != 4) {
        an_set(m, DHCP_AN_OPT_INVALID);
        return;
    }
    *out = rd_be32(o);
    m->present |= bit;
}

static void opt_addrs(struct dhcp_msg *m, struct rd *o, uint8_t (*out)[4], uint8_t *n, uint32_t bit)
{
    size_t left = rd_left(o);
    if (left == 0 || left % 4 != 0) {
        an_set(m, DHCP_AN_OPT_INVALID);
        return;
    }
    m->present |= bit;
    while (rd_left(o) >= 4) {
        if (*n >= DHCP_MAX_ADDRS) {
            an_set(m, DHCP_AN_LIST_TRUNCATED);
            return;
        }
        rd_copy(o, out[*n], 4);
        (*n)++;
    }
}

static void opt_params(struct dhcp_msg *m, struct rd *o)
{
    m->present |= DHCP_HAS_PARAMS;
    while (rd_left(o) > 0) {
        if (m->params_n >= DHCP_MAX_PARAMS) {
            an_set(m, DHCP_AN_LIST_TRUNCATED);
            return;
        }
        m->params[m->params_n++] = rd_u8(o);
    }
}

static void opt_client_id(struct dhcp_msg *m, struct rd *o)
{
    /* A type byte and at least one byte of identifier (RFC 2132 9.14). */
    if (rd_left(o) < 2 && !(m->present & DHCP_HAS_CLIENT_ID)) {
        an_set(m, DHCP_AN_OPT_INVALID);
        return;
    }
    size_t n = rd_left(o);
    size_t room = DHCP_MAX_CLIENT_ID - m->client_id_len;
    if (n > room) {
        an_set(m, DHCP_AN_STR_TRUNCATED);
        n = room;
    }
    rd_copy(o, m->client_id + m->client_id_len, n);
    m->client_id_len = (uint16_t)(m->client_id_len + n);
    m->present |= DHCP_HAS_CLIENT_ID;
}

/* Option 81 (RFC 4702): flags, two obsolete rcodes, then the name, ASCII or (E bit)
 * DNS wire format without compression, which is turned into dotted text here. */
static void opt_fqdn(struct dhcp_msg *m, struct rd *o)
{
    if (rd_left(o) < 3 || (m->present & DHCP_HAS_FQDN)) {
        if (rd_left(o) < 3)
            an_set(m, DHCP_AN_OPT_INVALID);
        return;
    }
    m->fqdn_flags = rd_u8(o);
    rd_skip(o, 2);
    m->present |= DHCP_HAS_FQDN;
    if (!(m->fqdn_flags & FQDN_E)) {
        str_append(m, m->fqdn, &m->fqdn_len, DHCP_MAX_STR, o);
        return;
    }
    while (rd_left(o) > 0) {
        uint8_t ll = rd_u8(o);
        if (ll == 0)
            return;
        if (ll > 63 || rd_left(o) < ll) { /* pointer or overrun: not allowed here */
            an_set(m, DHCP_AN_OPT_INVALID);
            return;
        }
        struct rd label = rd_sub(o, ll);
        if (m->fqdn_len > 0) {
            struct rd dot = rd_init((const uint8_t *)".", 1);
            str_append(m, m->fqdn, &m->fqdn_len, DHCP_MAX_STR, &dot);
        }
        str_append(m, m->fqdn, &m->fqdn_len, DHCP_MAX_STR, &label);
    }
}

static void opt_msg_type(struct dhcp_msg *m, struct rd *o)
{
    if (rd_left(o) != 1) {
        an_set(m, DHCP_AN_OPT_INVALID);
        return;
    }
    m->msg_type = rd_u8(o);
    m->present |= DHCP_HAS_MSG_TYPE;
}

static void opt_overload(struct dhcp_msg *m, struct rd *o, bool main_area)
{
    uint8_t v = rd_u8(o);
    if (rd_left(o) != 0 || o->bad || v < 1 || v > 3) {
        an_set(m, DHCP_AN_OPT_INVALID);
        return;
    }
    if (main_area)
        m->overload = v;
}

/* Decodes one option's value (o spans exactly the value). */
static void opt_one(struct dhcp_msg *m, uint8_t code, struct rd *o, bool main_area)
{
    switch (code) {
    case OPT_MSG_TYPE:
        opt_msg_type(m, o);
        break;
    case OPT_HOSTNAME:
        m->present |= DHCP_HAS_HOSTNAME;
        str_append(m, m->hostname, &m->hostname_len, DHCP_MAX_STR, o);
        break;
    case OPT_VENDOR_CLASS:
        m->present |= DHCP_HAS_VENDOR_CLASS;
        str_append(m, m->vendor_class, &m->vendor_class_len, DHCP_MAX_STR, o);
        break;
    case OPT_PARAMS:
        opt_params(m, o);
        break;
    case OPT_REQUESTED_IP:
        opt_ip4(m, o, m->requested_ip, DHCP_HAS_REQUESTED_IP);
        break;
    case OPT_SERVER_ID:
        opt_ip4(m, o, m->server_id, DHCP_HAS_SERVER_ID);
        break;
    case OPT_SUBNET_MASK:
        opt_ip4(m, o, m->subnet_mask, DHCP_HAS_SUBNET_MASK);
        break;
    case OPT_LEASE_TIME:
        opt_u32(m, o, &m->lease_time, DHCP_HAS_LEASE_TIME);
        break;
    case OPT_RENEWAL_TIME:
        opt_u32(m, o, &m->renewal_time, DHCP_HAS_RENEWAL_TIME);
        break;
    case OPT_REBINDING_TIME:
        opt_u32(m, o, &m->rebinding_time, DHCP_HAS_REBINDING_TIME);
        break;
    case OPT_ROUTERS:
        opt_addrs(m, o, m->routers, &m->routers_n, DHCP_HAS_ROUTERS);
        break;
    case OPT_DNS:
        opt_addrs(m, o, m->dns, &m->dns_n, DHCP_HAS_DNS);
        break;
    case OPT_CLIENT_ID:
        opt_client_id(m, o);
        break;
    case OPT_FQDN:
        opt_fqdn(m, o);
        break;
    case OPT_OVERLOAD:
        opt_overload(m, o, main_area);
        break;
    default:
        break;
    }
}

/* Walks one option area. Returns false when the walk must stop for good (the option
 * cap was reached), true otherwise. */
static bool opts_walk(struct dhcp_msg *m, struct rd *r, bool main_area)
{
    while (rd_left(r) > 0) {
        uint8_t code = rd_u8(r);
        if (code == OPT_PAD)
            continue;
        if (code == OPT_END)
            return true;
        if (m->n_options >= DHCP_MAX_OPTIONS) {
            an_set(m, DHCP_AN_TOO_MANY_OPTIONS);
            return false;
        }
        m->n_options++;
        uint8_t olen = rd_u8(r);
        struct rd o = rd_sub(r, olen);
        if (r->bad) {
            an_set(m, DHCP_AN_OPT_LEN);
            return true;
        }
        opt_one(m, code, &o, main_area);
    }
    an_set(m, DHCP_AN_NO_END);
    return true;
}

/* Appends the decimal form of v to out at *n (room checked by the caller). */
static void fp_put_u8(char *out, size_t *n, uint8_t v)
{
    if (v >= 100)
        out[(*n)++] = (char)('0' + v / 100);
    if (v >= 10)
        out[(*n)++] = (char)('0' + v / 10 % 10);
    out[(*n)++] = (char)('0' + v % 10);
}

static void fp_build(struct dhcp_msg *m)
{
    size_t n = 0;
    for (uint16_t i = 0; i < m->params_n; i++) {
        if (i > 0)
            m->params_fp[n++] = ',';
        fp_put_u8(m->params_fp, &n, m->params[i]);
    }
    m->params_fp[n] = '\0';
}

static void hdr_read(struct dhcp_msg *m, struct rd *r)
{
    m->op = rd_u8(r);
    m->htype = rd_u8(r);
    m->hlen = rd_u8(r);
    m->hops = rd_u8(r);
    m->xid = rd_be32(r);
    m->secs = rd_be16(r);
    m->flags = rd_be16(r);
    rd_copy(r, m->ciaddr, 4);
    rd_copy(r, m->yiaddr, 4);
    rd_copy(r, m->siaddr, 4);
    rd_copy(r, m->giaddr, 4);
    rd_copy(r, m->chaddr, DHCP_MAX_HLEN);
    m->chaddr_len = m->hlen > DHCP_MAX_HLEN ? DHCP_MAX_HLEN : m->hlen;
    rd_skip(r, SNAME_LEN + FILE_LEN);
}

int dhcp_parse(struct dhcp_msg *m, const uint8_t *p, size_t len)
{
    memset(m, 0, sizeof(*m));
    struct rd r = rd_init(p, len);
    if (len < DHCP_HDR_LEN + 4) {
        an_set(m, DHCP_AN_TRUNCATED);
        hdr_read(m, &r); /* keeps what is there, for the anomaly event */
        return PARSE_BAD;
    }
    hdr_read(m, &r);
    if (m->op != DHCP_OP_REQUEST && m->op != DHCP_OP_REPLY)
        an_set(m, DHCP_AN_BAD_OP);
    if (m->hlen > DHCP_MAX_HLEN)
        an_set(m, DHCP_AN_BAD_HLEN);
    if (rd_be32(&r) != DHCP_COOKIE) {
        an_set(m, DHCP_AN_BAD_COOKIE);
        return PARSE_BAD;
    }
    bool go = opts_walk(m, &r, true);
    /* Overloaded fields hold options too: file first, then sname (RFC 2131 4.1). */
    if (go && (m->overload & 1)) {
        struct rd f = rd_init(p + FILE_OFF, FILE_LEN);
        go = opts_walk(m, &f, false);
    }
    if (go && (m->overload & 2)) {
        struct rd s = rd_init(p + SNAME_OFF, SNAME_LEN);
        opts_walk(m, &s, false);
    }
    fp_build(m);
    return PARSE_OK;
}

bool dhcp_should_log(const struct dhcp_msg *m, bool extended)
{
    return extended || ((m->present & DHCP_HAS_MSG_TYPE) && m->msg_type == DHCP_ACK);
}

const char *dhcp_type_name(uint8_t msg_type)
{
    static const char *const names[] = {
        NULL, "discover", "offer", "request", "decline", "ack", "nak", "release", "inform",
    };
    if (msg_type >= 1 && msg_type <= DHCP_INFORM)
        return names[msg_type];
    return "unknown";
}

const char *dhcp_anomaly_name(enum dhcp_anomaly a)
{
    static const char *const names[DHCP_AN_COUNT] = {
        [DHCP_AN_TRUNCATED] = "truncated",
        [DHCP_AN_BAD_COOKIE] = "bad_cookie",
        [DHCP_AN_BAD_OP] = "bad_op",
        [DHCP_AN_BAD_HLEN] = "bad_hlen",
        [DHCP_AN_OPT_LEN] = "option_length",
        [DHCP_AN_OPT_INVALID] = "option_invalid",
        [DHCP_AN_TOO_MANY_OPTIONS] = "too_many_options",
        [DHCP_AN_NO_END] = "no_end_option",
        [DHCP_AN_STR_TRUNCATED] = "string_truncated",
        [DHCP_AN_LIST_TRUNCATED] = "list_truncated",
    };
    if ((unsigned)a < DHCP_AN_COUNT && names[a] != NULL)
        return names[a];
    return "unknown";
}

/* ---- EVE ---- */

/* out must hold 16 bytes: "255.255.255.255" and the NUL. */
static const char *ip4_str(const uint8_t a[4], char out[16])
{
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            out[n++] = '.';
        fp_put_u8(out, &n, a[i]);
    }
    out[n] = '\0';
    return out;
}

static void w_ip4(struct jw *w, const char *key, const uint8_t a[4])
{
    char buf[16];
    jw_str(w, key, ip4_str(a, buf));
}

/* "aa:bb:cc" of b[0..n) (at most DHCP_MAX_CLIENT_ID bytes). */
static void w_hex(struct jw *w, const char *key, const uint8_t *b, size_t n)
{
    char out[3 * DHCP_MAX_CLIENT_ID + 1];
    jw_strn(w, key, out, ascii_hex(out, b, n < DHCP_MAX_CLIENT_ID ? n : DHCP_MAX_CLIENT_ID, ':'));
}

static void w_addrs(struct jw *w, const char *key, const uint8_t (*a)[4], uint8_t n)
{
    jw_arr_open(w, key);
    for (uint8_t i = 0; i < n; i++)
        w_ip4(w, NULL, a[i]);
    jw_arr_close(w);
}

/* Suricata names only these codes in "params" and leaves the others out. */
static const char *param_name(uint8_t code)
{
    switch (code) {
    case 1:
        return "subnet_mask";
    case 3:
        return "router";
    case 6:
        return "dns_server";
    case 15:
        return "domain";
    case 35:
        return "arp_timeout";
    case 42:
        return "ntp_server";
    case 66:
        return "tftp_server_name";
    case 150:
        return "tftp_server_ip";
    default:
        return NULL;
    }
}

static void w_params(struct jw *w, struct app_sink *s, const struct dhcp_msg *m)
{
    jw_arr_open(w, "params");
    for (uint16_t i = 0; i < m->params_n; i++) {
        const char *name = param_name(m->params[i]);
        if (name != NULL)
            jw_str(w, NULL, name);
    }
    jw_arr_close(w);
    jw_str(w, "params_fingerprint", m->params_fp); /* ours */
    app_note(s, "dhcp.params_fingerprint");
}

static void w_header(struct jw *w, struct app_sink *s, const struct dhcp_msg *m, bool extended)
{
    const char *type = "<unknown>";
    if (m->op == DHCP_OP_REQUEST)
        type = "request";
    else if (m->op == DHCP_OP_REPLY)
        type = "reply";
    jw_str(w, "type", type);
    app_note(s, "dhcp.type");
    jw_u64(w, "id", m->xid);
    w_hex(w, "client_mac", m->chaddr, m->chaddr_len);
    app_note(s, "dhcp.client_mac");
    w_ip4(w, "assigned_ip", m->yiaddr);
    app_note(s, "dhcp.assigned_ip");
    if (!extended)
        return;
    w_ip4(w, "client_ip", m->ciaddr);
    if (m->op == DHCP_OP_REPLY) {
        w_ip4(w, "relay_ip", m->giaddr);
        w_ip4(w, "next_server_ip", m->siaddr);
    }
}

/* The fields Suricata writes only with dhcp.extended, and ours. */
static void w_extended(struct jw *w, struct app_sink *s, const struct dhcp_msg *m)
{
    uint32_t h = m->present;
    if (h & DHCP_HAS_REQUESTED_IP)
        w_ip4(w, "requested_ip", m->requested_ip);
    if (h & DHCP_HAS_PARAMS)
        w_params(w, s, m);
    if (h & DHCP_HAS_LEASE_TIME)
        jw_u64(w, "lease_time", m->lease_time);
    if (h & DHCP_HAS_REBINDING_TIME)
        jw_u64(w, "rebinding_time", m->rebinding_time);
    if (h & DHCP_HAS_SUBNET_MASK) {
        w_ip4(w, "subnet_mask", m->subnet_mask);
        app_note(s, "dhcp.subnet_mask");
    }
    if (h & DHCP_HAS_ROUTERS)
        w_addrs(w, "routers", (const uint8_t(*)[4])m->routers, m->routers_n);
    if (h & DHCP_HAS_DNS)
        w_addrs(w, "dns_servers", (const uint8_t(*)[4])m->dns, m->dns_n);
    if ((h & DHCP_HAS_VENDOR_CLASS) && m->vendor_class_len > 0) {
        jw_strn(w, "vendor_class_identifier", m->vendor_class, m->vendor_class_len);
        app_note(s, "dhcp.vendor_class_identifier");
    }
    /* Ours (docs/internals/dhcp.md). */
    if (h & DHCP_HAS_SERVER_ID)
        w_ip4(w, "server_id", m->server_id);
    if ((h & DHCP_HAS_FQDN) && m->fqdn_len > 0)
        jw_strn(w, "client_fqdn", m->fqdn, m->fqdn_len);
}

void dhcp_write_event(struct jw *w, struct app_sink *s, const struct dhcp_msg *m, bool extended)
{
    jw_obj_open(w, "dhcp");
    w_header(w, s, m, extended);
    if (m->present & DHCP_HAS_MSG_TYPE) {
        jw_str(w, "dhcp_type", dhcp_type_name(m->msg_type));
        app_note(s, "dhcp.dhcp_type");
    }
    /* As Suricata: the identifier without its type byte. */
    if ((m->present & DHCP_HAS_CLIENT_ID) && m->client_id_len > 1)
        w_hex(w, "client_id", m->client_id + 1, m->client_id_len - 1u);
    if ((m->present & DHCP_HAS_HOSTNAME) && m->hostname_len > 0) {
        jw_strn(w, "hostname", m->hostname, m->hostname_len);
        app_note(s, "dhcp.hostname");
    }
    /* Suricata writes renewal_time also without extended. */
    if (m->present & DHCP_HAS_RENEWAL_TIME)
        jw_u64(w, "renewal_time", m->renewal_time);
    if (extended)
        w_extended(w, s, m);
    jw_obj_close(w);
}

/* --- as an application-layer parser (applayer.h) ---------------------------------- */

static const char *dhcp_kind_name(int k)
{
    return dhcp_anomaly_name((enum dhcp_anomaly)k);
}

static bool dhcp_udp_match(uint16_t sport, uint16_t dport)
{
    return (sport == DHCP_PORT_CLIENT && dport == DHCP_PORT_SERVER) ||
           (sport == DHCP_PORT_SERVER && dport == DHCP_PORT_CLIENT) ||
           (sport == DHCP_PORT_SERVER && dport == DHCP_PORT_SERVER);
}

/* One message per datagram: counted anomalies, then a dhcp event when Suricata's
 * policy (dhcp_should_log) wants one. */
static void dhcp_datagram(struct app_sink *s, const struct sensor_conf *c, int dir,
                          const uint8_t *d, size_t n)
{
    struct dhcp_msg m;
    int rc = dhcp_parse(&m, d, n);
    for (int a = 0; a < DHCP_AN_COUNT; a++)
        if (m.anomalies & (1u << a))
            s->anomaly(s, a, dir);
    if (rc != PARSE_OK || !dhcp_should_log(&m, c->dhcp_extended))
        return;
    struct jw *w = s->event_begin(s, "dhcp", dir);
    if (w == NULL)
        return;
    dhcp_write_event(w, s, &m, c->dhcp_extended);
    s->event_end(s);
}

const struct app_parser dhcp_parser = {
    .name = "dhcp",
    .nkinds = DHCP_AN_COUNT,
    .kind_name = dhcp_kind_name,
    .udp_match = dhcp_udp_match,
    .datagram = dhcp_datagram,
    .notes = true,
};
