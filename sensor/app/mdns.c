/*
 * mDNS / DNS-SD and LLMNR events over dns_parse() (see mdns.h).
 *
 * Invariants: the datagram is parsed once by dns_parse() into a per-thread scratch
 * message; the only other read of the datagram is mdns_rdata_locate(), which walks
 * the same records through struct rd and skips names without following pointers.
 * Services, hostnames and addresses live in fixed arrays on the stack (their caps in
 * mdns.h); names are indexes into the message's string pool. Nothing is allocated.
 */
#include "app/mdns.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "otasuke/rd.h"
#include "sensor_conf.h"

#define T_A     1
#define T_PTR   12
#define T_TXT   16
#define T_AAAA  28
#define T_SRV   33
#define CLASS_MASK 0x7fff /* the top bit: mDNS unicast-response (qclass) / cache-flush */

static _Thread_local struct dns_msg g_scratch;

struct dns_msg *mdns_scratch(void)
{
    return &g_scratch;
}

const char *mdns_anomaly_name(int kind)
{
    static const char *const ours[] = {"too_many_services", "txt_truncated", "too_many_names",
                                       "txt_bad"};
    if (kind >= 0 && kind < DNS_AN_COUNT)
        return dns_anomaly_name((enum dns_anomaly)kind);
    if (kind >= DNS_AN_COUNT && kind < MDNS_AN_COUNT)
        return ours[kind - DNS_AN_COUNT];
    return "unknown";
}

/* --- locating rdata ------------------------------------------------------------ */

/* Skips the in-place part of a name: labels up to the root or the first pointer. */
static bool skip_name(struct rd *r)
{
    for (;;) {
        uint8_t l = rd_u8(r);
        if (r->bad)
            return false;
        if (l == 0)
            return true;
        if ((l & 0xc0) == 0xc0) {
            rd_u8(r);
            return !r->bad;
        }
        if (l & 0xc0)
            return false;
        rd_skip(r, l);
    }
}

unsigned mdns_rdata_locate(const uint8_t *p, size_t n, const struct dns_msg *m,
                           uint16_t off[DNS_MAX_RECORDS], uint16_t len[DNS_MAX_RECORDS])
{
    struct rd r = rd_init(p, n);
    rd_skip(&r, 12);
    for (unsigned i = 0; i < m->nq; i++) {
        if (!skip_name(&r))
            return 0;
        rd_skip(&r, 4);
    }
    unsigned k = 0;
    while (k < m->nrr && k < DNS_MAX_RECORDS) {
        if (!skip_name(&r))
            break;
        rd_skip(&r, 8);
        uint16_t rdlen = rd_be16(&r);
        size_t start = r.off;
        rd_skip(&r, rdlen);
        if (r.bad)
            break;
        off[k] = (uint16_t)start;
        len[k] = rdlen;
        k++;
    }
    return k;
}

/* --- common helpers -------------------------------------------------------------- */

static bool str_eq(const struct dns_msg *m, struct dns_str a, struct dns_str b)
{
    return a.len == b.len && memcmp(dns_str_ptr(m, a), dns_str_ptr(m, b), a.len) == 0;
}

/* Whether the name s ends with suffix (ASCII case-insensitive). */
static bool ends_with(const struct dns_msg *m, struct dns_str s, const char *suffix)
{
    size_t k = strlen(suffix);
    return s.len >= k && strncasecmp((const char *)dns_str_ptr(m, s) + s.len - k, suffix, k) == 0;
}

static void put_dstr(struct jw *w, const char *key, const struct dns_msg *m, struct dns_str s)
{
    jw_strn(w, key, (const char *)dns_str_ptr(m, s), s.len);
}

/* An A or AAAA rdata as text; false when it has no address. */
static bool addr_text(const struct dns_msg *m, const struct dns_rr *rr, char *out, size_t n)
{
    if (!rr->has_rdata)
        return false;
    if (rr->type == T_A && rr->data.len == 4)
        return inet_ntop(AF_INET, dns_str_ptr(m, rr->data), out, (socklen_t)n) != NULL;
    if (rr->type == T_AAAA && rr->data.len == 16)
        return inet_ntop(AF_INET6, dns_str_ptr(m, rr->data), out, (socklen_t)n) != NULL;
    return false;
}

static void put_rrtype(struct jw *w, uint16_t type)
{
    const char *n = dns_rrtype_name(type);
    if (n != NULL)
        jw_str(w, "rrtype", n);
    else
        jw_u64(w, "rrtype", type);
}

/* Reports each DNS anomaly bit and each of ours. */
static void report(struct app_sink *s, int dir, uint32_t dns_bits, uint32_t our_bits)
{
    for (int k = 0; k < DNS_AN_COUNT; k++)
        if (dns_bits & (1u << k))
            s->anomaly(s, k, dir);
    for (int k = DNS_AN_COUNT; k < MDNS_AN_COUNT; k++)
        if (our_bits & (1u << (k - DNS_AN_COUNT)))
            s->anomaly(s, k, dir);
}

/* The questions; each name is noted under `note` for the inventory (NULL: it does not
 * read them). */
static void put_queries(struct jw *w, struct app_sink *s, const char *note,
                        const struct dns_msg *m, bool qu_bit)
{
    if (m->nq == 0)
        return;
    jw_arr_open(w, "queries");
    for (unsigned i = 0; i < m->nq; i++) {
        jw_obj_open(w, NULL);
        put_dstr(w, "rrname", m, m->q[i].name);
        if (note != NULL)
            app_note(s, note);
        put_rrtype(w, m->q[i].type);
        if (qu_bit && (m->q[i].qclass & ~CLASS_MASK))
            jw_bool(w, "unicast_response", true);
        jw_obj_close(w);
    }
    jw_arr_close(w);
}

/* --- mDNS: services -------------------------------------------------------------- */

struct svc {
    struct dns_str name;   /* the full instance name */
    struct dns_str ptr_of; /* the service type a PTR named it under (len 0: none) */
    struct dns_str target; /* SRV target */
    uint16_t port;
    bool has_srv;
    int txt; /* index of its TXT record, or -1 */
};

struct mctx {
    struct app_sink *s; /* notes what the inventory reads (app_note) */
    const struct dns_msg *m;
    const uint8_t *p;
    size_t n;
    uint16_t off[DNS_MAX_RECORDS], len[DNS_MAX_RECORDS];
    unsigned located;
    struct svc svc[MDNS_MAX_SERVICES];
    unsigned nsvc, max_svc;
    size_t max_txt;
    struct dns_str hosts[MDNS_MAX_HOSTS];
    unsigned nhosts;
    uint32_t an; /* bits of our anomalies (1u << (kind - DNS_AN_COUNT)) */
};

static void our_anomaly(struct mctx *x, enum mdns_anomaly a)
{
    x->an |= 1u << (a - DNS_AN_COUNT);
}

/* Splits an instance name "Label._type._tcp.domain" at the dot before the service
 * label: *dot is its index. False when the name is not an instance name. */
static bool instance_split(const struct dns_msg *m, struct dns_str s, size_t *dot)
{
    const uint8_t *b = dns_str_ptr(m, s);
    size_t proto = 0;
    for (size_t i = 0; i + 5 <= s.len; i++) {
        if (b[i] == '.' && b[i + 1] == '_' &&
            (strncasecmp((const char *)b + i + 2, "tcp", 3) == 0 ||
             strncasecmp((const char *)b + i + 2, "udp", 3) == 0) &&
            (i + 5 == s.len || b[i + 5] == '.')) {
            proto = i;
            break;
        }
    }
    if (proto == 0)
        return false;
    for (size_t j = proto; j-- > 0;) {
        if (b[j] == '.' && b[j + 1] == '_') {
            *dot = j;
            return true;
        }
    }
    return false;
}

static struct svc *svc_get(struct mctx *x, struct dns_str name)
{
    for (unsigned i = 0; i < x->nsvc; i++)
        if (str_eq(x->m, x->svc[i].name, name))
            return &x->svc[i];
    if (x->nsvc == x->max_svc) {
        our_anomaly(x, MDNS_AN_TOO_MANY_SERVICES);
        return NULL;
    }
    struct svc *v = &x->svc[x->nsvc++];
    memset(v, 0, sizeof(*v));
    v->name = name;
    v->txt = -1;
    return v;
}

static void host_add(struct mctx *x, struct dns_str name)
{
    if (name.len == 0)
        return;
    for (unsigned i = 0; i < x->nhosts; i++)
        if (str_eq(x->m, x->hosts[i], name))
            return;
    if (x->nhosts == MDNS_MAX_HOSTS) {
        our_anomaly(x, MDNS_AN_TOO_MANY_NAMES);
        return;
    }
    x->hosts[x->nhosts++] = name;
}

static bool is_reverse(const struct dns_msg *m, struct dns_str s)
{
    return ends_with(m, s, ".in-addr.arpa") || ends_with(m, s, ".ip6.arpa");
}

static void take_ptr(struct mctx *x, const struct dns_rr *rr)
{
    const struct dns_msg *m = x->m;
    if (!rr->has_rdata || rr->data.len == 0)
        return;
    if (is_reverse(m, rr->name)) {
        host_add(x, rr->data);
        return;
    }
    if (ends_with(m, rr->name, "_services._dns-sd._udp.local"))
        return; /* service type enumeration: written from the records directly */
    if (rr->name.len > 0 && dns_str_ptr(m, rr->name)[0] == '_') {
        struct svc *v = svc_get(x, rr->data);
        if (v != NULL && v->ptr_of.len == 0)
            v->ptr_of = rr->name;
    }
}

/* One pass over the records: services, hostnames. */
static void collect(struct mctx *x)
{
    const struct dns_msg *m = x->m;
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        size_t dot;
        struct svc *v;
        switch (rr->type) {
        case T_A:
        case T_AAAA:
            if (rr->has_rdata)
                host_add(x, rr->name);
            break;
        case T_PTR:
            take_ptr(x, rr);
            break;
        case T_SRV:
            if (!rr->has_rdata || (v = svc_get(x, rr->name)) == NULL)
                break;
            v->has_srv = true;
            v->target = rr->data;
            v->port = (uint16_t)rr->n[2];
            host_add(x, rr->data);
            break;
        case T_TXT:
            if (instance_split(m, rr->name, &dot) && (v = svc_get(x, rr->name)) != NULL &&
                v->txt < 0)
                v->txt = (int)i;
            break;
        default:
            break;
        }
    }
}

/* Keys whose value names the device model, in order of preference (TXT keys of
 * AirPlay/RAOP, Google Cast, IPP/printers, Apple device-info, Sonos, HomeKit...). */
static const char *const g_model_keys[] = {"usb_MDL", "ty", "product", "model", "md", "am",
                                           "mdl", "rpMd"};

struct txt_kv {
    const uint8_t *k, *v;
    size_t klen, vlen;
    bool has_v;
};

/* Splits the TXT rdata into up to MDNS_MAX_TXT_KEYS pairs; returns how many. */
static unsigned txt_split(struct mctx *x, const uint8_t *d, size_t n, struct txt_kv *kv)
{
    struct rd r = rd_init(d, n < x->max_txt ? n : x->max_txt);
    unsigned k = 0;
    if (n > x->max_txt)
        our_anomaly(x, MDNS_AN_TXT_TRUNCATED);
    while (rd_left(&r) > 0) {
        uint8_t l = rd_u8(&r);
        const uint8_t *s = rd_take(&r, l);
        if (s == NULL) {
            if (n <= x->max_txt)
                our_anomaly(x, MDNS_AN_TXT_BAD);
            break;
        }
        if (l == 0 || s[0] == '=') /* empty string, or no key: ignored (RFC 6763 6.4) */
            continue;
        if (k == MDNS_MAX_TXT_KEYS) {
            our_anomaly(x, MDNS_AN_TXT_TRUNCATED);
            break;
        }
        const uint8_t *eq = memchr(s, '=', l);
        size_t klen = eq ? (size_t)(eq - s) : l;
        if (klen > MDNS_TXT_KEY_MAX) {
            our_anomaly(x, MDNS_AN_TXT_BAD);
            continue;
        }
        kv[k].k = s;
        kv[k].klen = klen;
        kv[k].has_v = eq != NULL;
        kv[k].v = eq ? eq + 1 : s + l;
        kv[k].vlen = eq ? l - klen - 1 : 0;
        k++;
    }
    return k;
}

static bool key_is(const struct txt_kv *kv, const char *key)
{
    return kv->klen == strlen(key) && strncasecmp((const char *)kv->k, key, kv->klen) == 0;
}

static void put_txt(struct jw *w, struct mctx *x, int rri)
{
    if (rri < 0 || (unsigned)rri >= x->located)
        return;
    struct txt_kv kv[MDNS_MAX_TXT_KEYS];
    unsigned k = txt_split(x, x->p + x->off[rri], x->len[rri], kv);
    if (k == 0)
        return;
    jw_obj_open(w, "txt");
    for (unsigned i = 0; i < k; i++) {
        bool dup = false; /* only the first of a key counts (RFC 6763 6.4) */
        for (unsigned j = 0; j < i && !dup; j++)
            dup = kv[j].klen == kv[i].klen && strncasecmp((const char *)kv[j].k,
                                                          (const char *)kv[i].k, kv[i].klen) == 0;
        if (dup)
            continue;
        char key[256];
        memcpy(key, kv[i].k, kv[i].klen);
        key[kv[i].klen] = '\0';
        if (kv[i].has_v)
            jw_strn(w, key, (const char *)kv[i].v, kv[i].vlen);
        else
            jw_bool(w, key, true);
    }
    jw_obj_close(w);
    for (size_t p = 0; p < sizeof(g_model_keys) / sizeof(g_model_keys[0]); p++)
        for (unsigned i = 0; i < k; i++)
            if (key_is(&kv[i], g_model_keys[p]) && kv[i].vlen > 0) {
                jw_strn(w, "model", (const char *)kv[i].v, kv[i].vlen);
                app_note(x->s, "mdns.services.model");
                return;
            }
}

static void put_service(struct jw *w, struct mctx *x, const struct svc *v)
{
    const struct dns_msg *m = x->m;
    const char *b = (const char *)dns_str_ptr(m, v->name);
    size_t dot;
    jw_obj_open(w, NULL);
    if (instance_split(m, v->name, &dot)) {
        jw_strn(w, "instance", b, dot);
        jw_strn(w, "type", b + dot + 1, v->name.len - dot - 1);
        app_note(x->s, "mdns.services.type");
    } else {
        put_dstr(w, "instance", m, v->name);
        if (v->ptr_of.len > 0) {
            put_dstr(w, "type", m, v->ptr_of);
            app_note(x->s, "mdns.services.type");
        }
    }
    if (v->has_srv) {
        put_dstr(w, "target", m, v->target);
        jw_u64(w, "port", v->port);
    }
    put_txt(w, x, v->txt);
    jw_obj_close(w);
}

static void put_service_types(struct jw *w, const struct dns_msg *m)
{
    bool open = false;
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        if (rr->type != T_PTR || !rr->has_rdata ||
            !ends_with(m, rr->name, "_services._dns-sd._udp.local"))
            continue;
        if (!open)
            jw_arr_open(w, "service_types");
        open = true;
        put_dstr(w, NULL, m, rr->data);
    }
    if (open)
        jw_arr_close(w);
}

static void put_addresses(struct jw *w, struct mctx *x)
{
    const struct dns_msg *m = x->m;
    unsigned n = 0;
    for (unsigned i = 0; i < m->nrr; i++) {
        char ip[64];
        if (!addr_text(m, &m->rr[i], ip, sizeof(ip)))
            continue;
        if (n == MDNS_MAX_ADDRS) {
            our_anomaly(x, MDNS_AN_TOO_MANY_NAMES);
            break;
        }
        if (n++ == 0)
            jw_arr_open(w, "addresses");
        jw_obj_open(w, NULL);
        put_dstr(w, "hostname", m, m->rr[i].name);
        jw_str(w, "ip", ip);
        jw_obj_close(w);
    }
    if (n > 0)
        jw_arr_close(w);
}

static void mdns_write(struct jw *w, struct mctx *x)
{
    const struct dns_msg *m = x->m;
    jw_obj_open(w, "mdns");
    jw_str(w, "type", m->qr ? "response" : "query");
    app_note(x->s, "mdns.type");
    if (m->id != 0)
        jw_u64(w, "id", m->id);
    if (m->rcode != 0)
        jw_u64(w, "rcode", m->rcode);
    put_queries(w, x->s, "mdns.queries.rrname", m, true);
    if (x->nhosts > 0) {
        jw_arr_open(w, "hostnames");
        for (unsigned i = 0; i < x->nhosts; i++) {
            put_dstr(w, NULL, m, x->hosts[i]);
            app_note(x->s, "mdns.hostnames");
        }
        jw_arr_close(w);
    }
    put_addresses(w, x);
    put_service_types(w, m);
    if (x->nsvc > 0) {
        jw_arr_open(w, "services");
        for (unsigned i = 0; i < x->nsvc; i++)
            put_service(w, x, &x->svc[i]);
        jw_arr_close(w);
    }
    jw_obj_close(w);
}

static bool mdns_udp_match(uint16_t sport, uint16_t dport)
{
    return sport == MDNS_PORT || dport == MDNS_PORT;
}

static void mdns_datagram(struct app_sink *s, const struct sensor_conf *c, int dir,
                          const uint8_t *d, size_t n)
{
    if (c != NULL && !c->mdns_enabled)
        return;
    struct dns_msg *m = &g_scratch;
    m->tx_id = 0;
    int rc = dns_parse(d, n, NULL, m);
    static _Thread_local struct mctx x; /* about 2 KiB: kept off the stack */
    x.s = s;
    x.m = m;
    x.p = d;
    x.n = n;
    x.max_svc = MDNS_DEF_SERVICES;
    x.max_txt = MDNS_DEF_TXT;
    if (c != NULL && c->mdns_max_services > 0)
        x.max_svc = c->mdns_max_services < MDNS_MAX_SERVICES ? (unsigned)c->mdns_max_services
                                                             : MDNS_MAX_SERVICES;
    if (c != NULL && c->mdns_max_txt > 0)
        x.max_txt = c->mdns_max_txt < MDNS_MAX_TXT ? (size_t)c->mdns_max_txt : MDNS_MAX_TXT;
    x.nsvc = x.nhosts = x.located = 0; /* every field that is read is set here */
    x.an = 0;
    if (rc == PARSE_OK) {
        x.located = mdns_rdata_locate(d, n, m, x.off, x.len);
        collect(&x);
        struct jw *w = s->event_begin(s, "mdns", dir);
        if (w != NULL) {
            mdns_write(w, &x);
            s->event_end(s);
        }
    }
    report(s, dir, m->anomalies, x.an);
}

/* --- LLMNR ------------------------------------------------------------------------- */

static void llmnr_answers(struct jw *w, struct app_sink *s, const struct dns_msg *m)
{
    bool open = false;
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        if (!open)
            jw_arr_open(w, "answers");
        open = true;
        jw_obj_open(w, NULL);
        if (rr->section != DNS_SEC_ANSWER)
            jw_str(w, "section", rr->section == DNS_SEC_AUTHORITY ? "authority" : "additional");
        put_dstr(w, "rrname", m, rr->name);
        app_note(s, "llmnr.answers.rrname");
        put_rrtype(w, rr->type);
        jw_u64(w, "ttl", rr->ttl);
        char ip[64];
        if (addr_text(m, rr, ip, sizeof(ip)))
            jw_str(w, "rdata", ip);
        else if (rr->has_rdata && (rr->type == T_PTR || rr->type == 5))
            put_dstr(w, "rdata", m, rr->data);
        jw_obj_close(w);
    }
    if (open)
        jw_arr_close(w);
}

static void llmnr_write(struct jw *w, struct app_sink *s, const struct dns_msg *m)
{
    jw_obj_open(w, "llmnr");
    jw_str(w, "type", m->qr ? "response" : "query");
    app_note(s, "llmnr.type");
    jw_u64(w, "id", m->id);
    if (m->opcode != 0)
        jw_u64(w, "opcode", m->opcode);
    if (m->flags & 0x0400)
        jw_bool(w, "conflict", true); /* C: the name is not unique */
    if (m->flags & 0x0200)
        jw_bool(w, "tc", true);
    if (m->flags & 0x0100)
        jw_bool(w, "tentative", true); /* T: the responder has not verified the name */
    if (m->qr) {
        const char *rc = dns_rcode_name(m->rcode);
        if (rc != NULL)
            jw_str(w, "rcode", rc);
        else
            jw_u64(w, "rcode", m->rcode);
    }
    put_queries(w, s, NULL, m, false);
    llmnr_answers(w, s, m);
    jw_obj_close(w);
}

static bool llmnr_udp_match(uint16_t sport, uint16_t dport)
{
    return sport == LLMNR_PORT || dport == LLMNR_PORT;
}

static void llmnr_datagram(struct app_sink *s, const struct sensor_conf *c, int dir,
                           const uint8_t *d, size_t n)
{
    if (c != NULL && !c->llmnr_enabled)
        return;
    struct dns_msg *m = &g_scratch;
    m->tx_id = 0;
    if (dns_parse(d, n, NULL, m) == PARSE_OK) {
        struct jw *w = s->event_begin(s, "llmnr", dir);
        if (w != NULL) {
            llmnr_write(w, s, m);
            s->event_end(s);
        }
    }
    report(s, dir, m->anomalies, 0);
}

const struct app_parser mdns_parser = {
    .name = "mdns",
    .nkinds = MDNS_AN_COUNT,
    .kind_name = mdns_anomaly_name,
    .udp_match = mdns_udp_match,
    .datagram = mdns_datagram,
    .notes = true,
};

const struct app_parser llmnr_parser = {
    .name = "llmnr",
    .nkinds = MDNS_AN_COUNT,
    .kind_name = mdns_anomaly_name,
    .udp_match = llmnr_udp_match,
    .datagram = llmnr_datagram,
    .notes = true,
};
