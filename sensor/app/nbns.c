/*
 * NetBIOS name service events over dns_parse() (see nbns.h).
 *
 * Invariants: the datagram is parsed by dns_parse() into the per-thread scratch of
 * mdns.h; NB and NBSTAT rdata is read through struct rd from the offsets that
 * mdns_rdata_locate() found; names are decoded into fixed 16-byte buffers. Nothing is
 * allocated; lists are capped (nbns.h).
 */
#include "app/nbns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "app/mdns.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "otasuke/rd.h"
#include "sensor_conf.h"

#define T_NB     0x20
#define T_NBSTAT 0x21

/* The DNS anomalies that decoding an NBSTAT rdata as SRV may raise. */
#define SRV_NOISE                                                                                  \
    (1u << DNS_AN_RDATA_BAD | 1u << DNS_AN_LABEL_TOO_LONG | 1u << DNS_AN_PTR_LOOP |               \
     1u << DNS_AN_PTR_FORWARD | 1u << DNS_AN_PTR_TOO_MANY | 1u << DNS_AN_NAME_TOO_LONG |          \
     1u << DNS_AN_TRUNCATED | 1u << DNS_AN_POOL_FULL)

const char *nbns_anomaly_name(int kind)
{
    static const char *const ours[] = {"bad_name", "bad_rdata", "too_many"};
    if (kind >= 0 && kind < DNS_AN_COUNT)
        return dns_anomaly_name((enum dns_anomaly)kind);
    if (kind >= DNS_AN_COUNT && kind < NBNS_AN_COUNT)
        return ours[kind - DNS_AN_COUNT];
    return "unknown";
}

bool nbns_decode_name(const uint8_t *enc, size_t n, uint8_t name[16])
{
    if (n != 32)
        return false;
    for (size_t i = 0; i < 16; i++) {
        uint8_t hi = enc[2 * i], lo = enc[2 * i + 1];
        if (hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P')
            return false;
        name[i] = (uint8_t)((hi - 'A') << 4 | (lo - 'A'));
    }
    return true;
}

struct nctx {
    struct app_sink *s; /* notes what the inventory reads (app_note) */
    const struct dns_msg *m;
    const uint8_t *p;
    uint16_t off[DNS_MAX_RECORDS], len[DNS_MAX_RECORDS];
    unsigned located;
    uint32_t an; /* 1u << (kind - DNS_AN_COUNT) */
};

static void our_anomaly(struct nctx *x, enum nbns_anomaly a)
{
    x->an |= 1u << (a - DNS_AN_COUNT);
}

/* Writes name (trailing spaces and NULs trimmed) and suffix "<XX>" of 16 bytes; both
 * are noted into s (NULL: not read by the inventory). */
static void put_nb16(struct jw *w, struct app_sink *s, const uint8_t nb[16])
{
    size_t n = 15;
    while (n > 0 && (nb[n - 1] == ' ' || nb[n - 1] == '\0'))
        n--;
    char suffix[8];
    snprintf(suffix, sizeof(suffix), "<%02X>", nb[15]);
    jw_strn(w, "name", (const char *)nb, n);
    app_note(s, "nbns.name");
    jw_str(w, "suffix", suffix);
    app_note(s, "nbns.suffix");
}

/* Writes the NetBIOS name of the DNS name s: name, suffix, scope (or the raw name
 * when it is not encoded). */
static void put_name(struct jw *w, struct nctx *x, struct dns_str s)
{
    const uint8_t *b = dns_str_ptr(x->m, s);
    const uint8_t *dot = memchr(b, '.', s.len);
    size_t first = dot ? (size_t)(dot - b) : s.len;
    uint8_t nb[16];
    if (!nbns_decode_name(b, first, nb)) {
        our_anomaly(x, NBNS_AN_BAD_NAME);
        jw_strn(w, "name", (const char *)b, s.len);
        app_note(x->s, "nbns.name");
        return;
    }
    put_nb16(w, x->s, nb);
    if (dot != NULL)
        jw_strn(w, "scope", (const char *)dot + 1, s.len - first - 1);
}

static const char *type_name(uint16_t t)
{
    return t == T_NB ? "NB" : t == T_NBSTAT ? "NBSTAT" : NULL;
}

static const char *opcode_name(uint8_t op)
{
    switch (op) {
    case 0:
        return "query";
    case 5:
        return "registration";
    case 6:
        return "release";
    case 7:
        return "wack";
    case 8:
    case 9:
        return "refresh";
    case 15:
        return "multihomed_registration";
    default:
        return NULL;
    }
}

/* A name, noted into s under note (NULL: not read), or else the number. */
static void put_num_or_name(struct jw *w, struct app_sink *s, const char *note, const char *key,
                            const char *name, unsigned v)
{
    if (name != NULL) {
        jw_str(w, key, name);
        if (note != NULL)
            app_note(s, note);
    } else {
        jw_u64(w, key, v);
    }
}

/* Addresses of every NB record with rdata: [{ip, group}]. */
static void put_addresses(struct jw *w, struct nctx *x)
{
    unsigned n = 0;
    for (unsigned i = 0; i < x->located; i++) {
        if (x->m->rr[i].type != T_NB || x->len[i] == 0)
            continue;
        if (x->len[i] % 6 != 0)
            our_anomaly(x, NBNS_AN_BAD_RDATA);
        struct rd r = rd_init(x->p + x->off[i], x->len[i]);
        while (rd_left(&r) >= 6) {
            uint16_t flags = rd_be16(&r);
            const uint8_t *a = rd_take(&r, 4);
            if (n == NBNS_MAX_ADDRS) {
                our_anomaly(x, NBNS_AN_TOO_MANY);
                break;
            }
            if (n++ == 0)
                jw_arr_open(w, "addresses");
            char ip[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, a, ip, sizeof(ip));
            jw_obj_open(w, NULL);
            jw_str(w, "ip", ip);
            if (flags & 0x8000)
                jw_bool(w, "group", true);
            jw_obj_close(w);
        }
    }
    if (n > 0)
        jw_arr_close(w);
}

/* The node status (NBSTAT) rdata of record i: names and the unit id (MAC). */
static void put_node_status(struct jw *w, struct nctx *x, unsigned i)
{
    struct rd r = rd_init(x->p + x->off[i], x->len[i]);
    uint8_t count = rd_u8(&r);
    if (count > 0)
        jw_arr_open(w, "names");
    for (unsigned k = 0; k < count; k++) {
        const uint8_t *e = rd_take(&r, 18);
        if (e == NULL) {
            our_anomaly(x, NBNS_AN_BAD_RDATA);
            break;
        }
        if (k == NBNS_MAX_NAMES) {
            our_anomaly(x, NBNS_AN_TOO_MANY);
            rd_skip(&r, (size_t)(count - k - 1) * 18);
            break;
        }
        uint16_t flags = (uint16_t)(e[16] << 8 | e[17]);
        jw_obj_open(w, NULL);
        put_nb16(w, NULL, e); /* nbns.names[].name: not the inventory's */
        if (flags & 0x8000)
            jw_bool(w, "group", true);
        if (!(flags & 0x0400))
            jw_bool(w, "active", false);
        jw_obj_close(w);
    }
    if (count > 0)
        jw_arr_close(w);
    const uint8_t *mac = rd_take(&r, 6);
    if (mac != NULL)
        jw_hex(w, "mac", mac, 6, ':');
}

/* The name the message is about: its first question, else its first record. */
static void put_subject(struct jw *w, struct nctx *x)
{
    const struct dns_msg *m = x->m;
    if (m->nq > 0) {
        put_name(w, x, m->q[0].name);
        put_num_or_name(w, NULL, NULL, "rrtype", type_name(m->q[0].type), m->q[0].type);
    } else if (m->nrr > 0) {
        put_name(w, x, m->rr[0].name);
        put_num_or_name(w, NULL, NULL, "rrtype", type_name(m->rr[0].type), m->rr[0].type);
    }
    for (unsigned i = 0; i < m->nrr; i++) {
        if (m->rr[i].type == T_NB || m->rr[i].type == T_NBSTAT) {
            jw_u64(w, "ttl", m->rr[i].ttl);
            break;
        }
    }
}

static void nbns_write(struct jw *w, struct nctx *x)
{
    const struct dns_msg *m = x->m;
    jw_obj_open(w, "nbns");
    jw_str(w, "type", m->qr ? "response" : "query");
    app_note(x->s, "nbns.type");
    jw_u64(w, "id", m->id);
    put_num_or_name(w, x->s, "nbns.opcode", "opcode", opcode_name(m->opcode), m->opcode);
    if (m->qr)
        jw_u64(w, "rcode", m->rcode);
    if (m->flags & 0x0010)
        jw_bool(w, "broadcast", true);
    if (m->flags & 0x0400)
        jw_bool(w, "authoritative", true);
    put_subject(w, x);
    put_addresses(w, x);
    for (unsigned i = 0; i < x->located; i++) {
        if (m->rr[i].type == T_NBSTAT && m->rr[i].section == DNS_SEC_ANSWER && m->qr) {
            put_node_status(w, x, i);
            break;
        }
    }
    jw_obj_close(w);
}

/* The DNS anomalies worth reporting for this message (see nbns.h). */
static uint32_t dns_bits(const struct dns_msg *m)
{
    bool nbstat = false;
    for (unsigned i = 0; i < m->nrr; i++)
        nbstat |= m->rr[i].type == T_NBSTAT;
    if (!nbstat)
        return m->anomalies;
    uint32_t bits = m->anomalies & ~SRV_NOISE;
    unsigned claimed = (unsigned)m->ancount + m->nscount + m->arcount;
    if (m->nrr < claimed && !(m->anomalies & (1u << DNS_AN_TOO_MANY_RECORDS)))
        bits |= 1u << DNS_AN_TRUNCATED;
    return bits;
}

static bool nbns_udp_match(uint16_t sport, uint16_t dport)
{
    return sport == NBNS_PORT || dport == NBNS_PORT;
}

static void nbns_datagram(struct app_sink *s, const struct sensor_conf *c, int dir,
                          const uint8_t *d, size_t n)
{
    if (c != NULL && !c->nbns_enabled)
        return;
    struct dns_msg *m = mdns_scratch();
    m->tx_id = 0;
    int rc = dns_parse(d, n, NULL, m);
    static _Thread_local struct nctx x;
    x.s = s;
    x.m = m;
    x.p = d;
    x.an = 0;
    x.located = 0;
    if (rc == PARSE_OK) {
        x.located = mdns_rdata_locate(d, n, m, x.off, x.len);
        struct jw *w = s->event_begin(s, "nbns", dir);
        if (w != NULL) {
            nbns_write(w, &x);
            s->event_end(s);
        }
    }
    uint32_t bits = dns_bits(m);
    for (int k = 0; k < DNS_AN_COUNT; k++)
        if (bits & (1u << k))
            s->anomaly(s, k, dir);
    for (int k = DNS_AN_COUNT; k < NBNS_AN_COUNT; k++)
        if (x.an & (1u << (k - DNS_AN_COUNT)))
            s->anomaly(s, k, dir);
}

const struct app_parser nbns_parser = {
    .name = "nbns",
    .nkinds = NBNS_AN_COUNT,
    .kind_name = nbns_anomaly_name,
    .udp_match = nbns_udp_match,
    .datagram = nbns_datagram,
    .notes = true,
};
