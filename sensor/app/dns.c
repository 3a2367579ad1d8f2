/*
 * DNS message parser, TCP message framing and the EVE `dns` writer (see dns.h).
 *
 * Invariants: every byte of the message is read through struct rd; nothing is
 * allocated from a count read off the wire (the message is a fixed-size record and
 * the TCP buffer is at most 65535 bytes, the prefix's range); a name costs at most
 * DNS_MAX_PTR_HOPS pointer reads plus the labels of DNS_MAX_NAME bytes once a
 * pointer was taken, and in-place labels advance the cursor, so the work of a
 * message is linear in its size. Compression pointers must point strictly before
 * themselves and before the run of labels that they end, so no name is read twice.
 */
#include "app/dns.h"
#include "app/applayer.h"
#include "output/eve.h"
#include "sensor_conf.h"

#include <stdio.h>
#include <string.h>

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "otasuke/rd.h"

#define DNS_HDR_LEN 12

static void anomaly(struct dns_msg *m, enum dns_anomaly a)
{
    m->anomalies |= 1u << a;
}

/* Copies n bytes into the pool; an empty string when it is full. */
static struct dns_str pool_add(struct dns_msg *m, const uint8_t *b, size_t n)
{
    struct dns_str s = {m->pool_len, 0};
    if (n > (size_t)(DNS_POOL_SIZE - m->pool_len)) {
        anomaly(m, DNS_AN_POOL_FULL);
        return s;
    }
    memcpy(m->pool + m->pool_len, b, n);
    m->pool_len = (uint16_t)(m->pool_len + n);
    s.len = (uint16_t)n;
    return s;
}

const uint8_t *dns_str_ptr(const struct dns_msg *m, struct dns_str s)
{
    return m->pool + s.off;
}

/* Text of a name being read: labels joined by '.', at most DNS_MAX_NAME wire bytes. */
struct name_acc {
    uint8_t txt[DNS_MAX_NAME + 1];
    size_t len;
    size_t wire; /* wire bytes so far: length octets and labels */
    bool full;   /* DNS_AN_NAME_TOO_LONG seen: no more labels kept */
};

/* Appends one label. Returns false once the name is over DNS_MAX_NAME wire bytes
 * (counting the final root octet). */
static bool name_label(struct dns_msg *m, struct name_acc *a, const uint8_t *lab, size_t n)
{
    if (a->full)
        return false;
    if (a->wire + 1 + n + 1 > DNS_MAX_NAME) {
        anomaly(m, DNS_AN_NAME_TOO_LONG);
        a->full = true;
        return false;
    }
    a->wire += 1 + n;
    if (a->len > 0)
        a->txt[a->len++] = '.';
    memcpy(a->txt + a->len, lab, n);
    a->len += n;
    return true;
}

/* Checks a compression pointer at `pos` to `target`, where the run of labels that it
 * ends began at `run`. Returns true when it may be followed. */
static bool ptr_ok(struct dns_msg *m, size_t pos, size_t target, size_t run, unsigned hops)
{
    if (hops > DNS_MAX_PTR_HOPS) {
        anomaly(m, DNS_AN_PTR_TOO_MANY);
        return false;
    }
    if (target > pos) {
        anomaly(m, DNS_AN_PTR_FORWARD);
        return false;
    }
    if (target >= run) { /* itself, or back into the labels just read */
        anomaly(m, DNS_AN_PTR_LOOP);
        return false;
    }
    return true;
}

/* Where a name is being read: c walks its labels (c.len is the in-place limit until
 * the first pointer, then the message's end), run is the start of the current run of
 * labels, placed says r was already advanced past the in-place part. */
struct name_walk {
    struct rd c;
    size_t run;
    unsigned hops;
    bool placed;
};

/* Handles the pointer whose first byte `len` was read at `pos`. Returns true when the
 * walk goes on at the target; false when the name ends here (*ok says whether r is
 * placed). */
static bool name_ptr(struct dns_msg *m, struct rd *r, struct name_walk *nw, size_t pos, uint8_t len,
                     bool *ok)
{
    size_t target = (size_t)(len & 0x3f) << 8 | rd_u8(&nw->c);
    if (nw->c.bad) {
        anomaly(m, DNS_AN_TRUNCATED);
        *ok = nw->placed;
        return false;
    }
    if (!nw->placed) {
        r->off = nw->c.off;
        nw->placed = true;
        nw->c.len = r->len;
    }
    if (!ptr_ok(m, pos, target, nw->run, ++nw->hops))
        return false;
    nw->c.off = nw->run = target;
    return true;
}

/*
 * Reads the name at r->off. In-place labels must end before `lim` (the end of the
 * record's rdata, or of the message); labels reached through a pointer may lie
 * anywhere before it in r. Advances r past the in-place part (through the first
 * pointer). Stores the text in the pool as *out (empty for the root).
 * Returns false when r's position is lost (a bad label type or truncation before
 * the name's in-place end): the caller stops reading the message or the rdata.
 */
static bool read_name(struct dns_msg *m, struct rd *r, size_t lim, struct dns_str *out)
{
    struct name_acc a;
    a.len = a.wire = 0;
    a.full = false;
    struct name_walk nw = {rd_init(r->p, lim), r->off, 0, false};
    nw.c.off = r->off;
    bool ok = true;
    for (;;) {
        size_t pos = nw.c.off;
        uint8_t len = rd_u8(&nw.c);
        m->work++;
        if (len == 0 && !nw.c.bad) {
            if (!nw.placed)
                r->off = nw.c.off;
            break;
        }
        if (!nw.c.bad && (len & 0xc0) == 0xc0) {
            if (name_ptr(m, r, &nw, pos, len, &ok))
                continue;
            break;
        }
        if (len & 0xc0) { /* 0x40 and 0x80: extended / reserved label types */
            anomaly(m, DNS_AN_LABEL_TOO_LONG);
            ok = nw.placed;
            break;
        }
        const uint8_t *lab = rd_take(&nw.c, len);
        if (lab == NULL) { /* also when the length byte itself was missing */
            anomaly(m, DNS_AN_TRUNCATED);
            ok = nw.placed;
            break;
        }
        /* Over-long: stop at once when r is placed, else walk on to find the end. */
        if (!name_label(m, &a, lab, len) && nw.placed)
            break;
    }
    *out = pool_add(m, a.txt, a.len);
    return ok;
}

/* TXT rdata is kept in wire form (each character-string with its length byte), so
 * that the writer can log one entry per string as Suricata does; at most DNS_MAX_TXT
 * bytes, the string that crosses the cap cut (its length byte adjusted). */
static void rdata_txt(struct dns_msg *m, struct rd *d, struct dns_rr *rr)
{
    uint8_t txt[DNS_MAX_TXT];
    size_t n = 0;
    while (rd_left(d) > 0) {
        uint8_t l = rd_u8(d);
        const uint8_t *s = rd_take(d, l);
        if (s == NULL)
            break;
        if (n + 1 >= DNS_MAX_TXT)
            continue; /* full: the rest is still checked, not kept */
        size_t k = l < DNS_MAX_TXT - n - 1 ? l : DNS_MAX_TXT - n - 1;
        txt[n++] = (uint8_t)k;
        memcpy(txt + n, s, k);
        n += k;
    }
    rr->data = pool_add(m, txt, n);
    rr->has_rdata = !d->bad;
}

bool dns_txt_next(const uint8_t *b, size_t n, size_t *off, const uint8_t **s, size_t *len)
{
    if (*off >= n)
        return false;
    size_t l = b[*off];
    if (l > n - *off - 1)
        l = n - *off - 1; /* cannot happen for data from rdata_txt; stay inside anyway */
    *s = b + *off + 1;
    *len = l;
    *off += 1 + l;
    return true;
}

/* Reads n big-endian 16- or 32-bit numbers into rr->n. */
static void rdata_nums(struct rd *d, struct dns_rr *rr, int first, int n, int bits)
{
    for (int i = first; i < first + n; i++)
        rr->n[i] = bits == 16 ? rd_be16(d) : rd_be32(d);
}

/* Decodes the rdata of the types we log. d covers the message up to the rdata's
 * end and starts at the rdata; anything left over or missing is DNS_AN_RDATA_BAD. */
static void read_rdata(struct dns_msg *m, struct rd *d, struct dns_rr *rr)
{
    size_t rdlen = d->len - d->off;
    bool ok = true;
    /* RFC 2136 UPDATE prerequisites and deletions: class NONE or ANY with no rdata. */
    if (rdlen == 0 && (rr->rclass == 254 || rr->rclass == 255))
        return;
    switch (rr->type) {
    case 1:  /* A */
    case 28: /* AAAA */
        if (rdlen != (rr->type == 1 ? 4u : 16u)) {
            ok = false;
            break;
        }
        rr->data = pool_add(m, rd_take(d, rdlen), rdlen);
        break;
    case 2:  /* NS */
    case 5:  /* CNAME */
    case 12: /* PTR */
        ok = read_name(m, d, d->len, &rr->data);
        break;
    case 15: /* MX: preference, exchange */
        rdata_nums(d, rr, 0, 1, 16);
        ok = !d->bad && read_name(m, d, d->len, &rr->data);
        break;
    case 33: /* SRV: priority, weight, port, target */
        rdata_nums(d, rr, 0, 3, 16);
        ok = !d->bad && read_name(m, d, d->len, &rr->data);
        break;
    case 6: /* SOA: mname, rname, serial, refresh, retry, expire, minimum */
        ok = read_name(m, d, d->len, &rr->data) && read_name(m, d, d->len, &rr->data2);
        rdata_nums(d, rr, 0, 5, 32);
        break;
    case 16: /* TXT */
        rdata_txt(m, d, rr);
        ok = rr->has_rdata;
        break;
    default:
        return;
    }
    if (!ok || d->bad || d->off != d->len) {
        anomaly(m, DNS_AN_RDATA_BAD);
        rr->has_rdata = false;
        return;
    }
    rr->has_rdata = true;
}

/* Reads one resource record at r. Returns false when the message cannot be read on. */
static bool read_rr(struct dns_msg *m, struct rd *r, uint8_t section)
{
    struct dns_rr *rr = &m->rr[m->nrr];
    memset(rr, 0, sizeof(*rr));
    rr->section = section;
    if (!read_name(m, r, r->len, &rr->name))
        return false;
    rr->type = rd_be16(r);
    rr->rclass = rd_be16(r);
    rr->ttl = rd_be32(r);
    uint16_t rdlen = rd_be16(r);
    size_t start = r->off;
    rd_skip(r, rdlen);
    if (r->bad) {
        anomaly(m, DNS_AN_TRUNCATED);
        return false;
    }
    m->nrr++;
    struct rd d = rd_init(r->p, start + rdlen); /* names in rdata may point back */
    d.off = start;
    read_rdata(m, &d, rr);
    return true;
}

static void read_header(struct dns_msg *m, struct rd *r)
{
    m->id = rd_be16(r);
    m->flags = rd_be16(r);
    m->qr = (m->flags & 0x8000) != 0;
    m->opcode = (uint8_t)((m->flags >> 11) & 0x0f);
    m->rcode = (uint8_t)(m->flags & 0x0f);
    m->qdcount = rd_be16(r);
    m->ancount = rd_be16(r);
    m->nscount = rd_be16(r);
    m->arcount = rd_be16(r);
}

static bool read_questions(struct dns_msg *m, struct rd *r, unsigned maxq)
{
    for (unsigned i = 0; i < m->qdcount; i++) {
        if (i == maxq) {
            anomaly(m, DNS_AN_TOO_MANY_RECORDS);
            return false;
        }
        struct dns_question *q = &m->q[m->nq];
        if (!read_name(m, r, r->len, &q->name))
            return false;
        q->type = rd_be16(r);
        q->qclass = rd_be16(r);
        if (r->bad) {
            anomaly(m, DNS_AN_TRUNCATED);
            return false;
        }
        m->nq++;
    }
    return true;
}

int dns_parse(const uint8_t *p, size_t n, const struct dns_conf *conf, struct dns_msg *m)
{
    unsigned maxq = DNS_MAX_QUESTIONS, maxrr = DNS_MAX_RECORDS;
    if (conf != NULL && conf->max_questions > 0 && conf->max_questions < maxq)
        maxq = conf->max_questions;
    if (conf != NULL && conf->max_records > 0 && conf->max_records < maxrr)
        maxrr = conf->max_records;
    memset(m, 0, offsetof(struct dns_msg, q)); /* the arrays are written as they fill */
    m->pool_len = 0;
    if (n < DNS_HDR_LEN) {
        anomaly(m, DNS_AN_SHORT);
        return PARSE_BAD;
    }
    struct rd r = rd_init(p, n);
    read_header(m, &r);
    if (!read_questions(m, &r, maxq))
        return PARSE_OK;
    const uint16_t counts[3] = {m->ancount, m->nscount, m->arcount};
    for (uint8_t sec = 0; sec < 3; sec++) {
        for (unsigned i = 0; i < counts[sec]; i++) {
            if (m->nrr == maxrr) {
                anomaly(m, DNS_AN_TOO_MANY_RECORDS);
                return PARSE_OK;
            }
            if (!read_rr(m, &r, sec))
                return PARSE_OK;
        }
    }
    if (rd_left(&r) > 0)
        anomaly(m, DNS_AN_TRAILING);
    return PARSE_OK;
}

/* --- names of things ----------------------------------------------------------- */

static const struct {
    uint16_t type;
    const char *name;
} g_types[] = {
    {1, "A"},         {2, "NS"},          {3, "MD"},       {4, "MF"},      {5, "CNAME"},
    {6, "SOA"},       {7, "MB"},          {8, "MG"},       {9, "MR"},      {10, "NULL"},
    {11, "WKS"},      {12, "PTR"},        {13, "HINFO"},   {14, "MINFO"},  {15, "MX"},
    {16, "TXT"},      {17, "RP"},         {18, "AFSDB"},   {19, "X25"},    {20, "ISDN"},
    {21, "RT"},       {22, "NSAP"},       {23, "NSAPPTR"}, {24, "SIG"},    {25, "KEY"},
    {26, "PX"},       {27, "GPOS"},       {28, "AAAA"},    {29, "LOC"},    {33, "SRV"},
    {34, "ATMA"},     {35, "NAPTR"},      {36, "KX"},      {37, "CERT"},   {38, "A6"},
    {39, "DNAME"},    {41, "OPT"},        {42, "APL"},     {43, "DS"},     {44, "SSHFP"},
    {45, "IPSECKEY"}, {46, "RRSIG"},      {47, "NSEC"},    {48, "DNSKEY"}, {49, "DHCID"},
    {50, "NSEC3"},    {51, "NSEC3PARAM"}, {52, "TLSA"},    {55, "HIP"},    {59, "CDS"},
    {60, "CDNSKEY"},  {64, "SVCB"},       {65, "HTTPS"},   {99, "SPF"},    {249, "TKEY"},
    {250, "TSIG"},    {251, "IXFR"},      {252, "AXFR"},   {253, "MAILB"}, {254, "MAILA"},
    {255, "ANY"},     {256, "URI"},       {257, "CAA"},
};

const char *dns_rrtype_name(uint16_t type)
{
    for (size_t i = 0; i < sizeof(g_types) / sizeof(g_types[0]); i++)
        if (g_types[i].type == type)
            return g_types[i].name;
    return NULL;
}

const char *dns_rcode_name(uint8_t rcode)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    return rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : NULL;
}

const char *dns_anomaly_name(enum dns_anomaly a)
{
    static const char *const names[DNS_AN_COUNT] = {
        "name_too_long", "label_too_long", "ptr_loop",         "ptr_forward",
        "ptr_too_many",  "truncated",      "too_many_records", "rdata_bad",
        "pool_full",     "trailing_data",  "short_message",    "nomem",
    };
    return (unsigned)a < DNS_AN_COUNT ? names[a] : "unknown";
}

/* --- EVE writer ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 (Rust's from_utf8 rules). */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t k;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return k;
}

/* Writes bytes as Suricata's jsonbuilder set_string_from_bytes does: valid UTF-8 as
 * is (the JSON writer escapes control characters as \u00XX); otherwise every byte
 * over 0x7f as the four characters \xNN and the others as themselves. */
static void put_bytes(struct jw *w, const char *key, const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(b + i, n - i);
        if (k == 0)
            break;
        i += k;
    }
    if (i == n) {
        jw_strn(w, key, (const char *)b, n);
        return;
    }
    char out[DNS_MAX_TXT * 4];
    size_t o = 0;
    for (i = 0; i < n && o + 4 < sizeof(out); i++) {
        if (b[i] < 0x80) {
            out[o++] = (char)b[i];
        } else {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[b[i] >> 4];
            out[o++] = hex[b[i] & 15];
        }
    }
    jw_strn(w, key, out, o);
}

/* Names: the root (empty) is written "<root>", as Suricata does. */
static void put_name(struct jw *w, const char *key, const struct dns_msg *m, struct dns_str s)
{
    if (s.len == 0)
        jw_str(w, key, "<root>");
    else
        put_bytes(w, key, dns_str_ptr(m, s), s.len);
}

static void put_rrtype(struct jw *w, const char *key, uint16_t type)
{
    const char *n = dns_rrtype_name(type);
    char num[8];
    if (n == NULL) {
        snprintf(num, sizeof(num), "%u", type);
        n = num;
    }
    jw_str(w, key, n);
}

/* The rdata as one string, for the types logged that way. Returns false otherwise. */
static bool put_rdata_str(struct jw *w, const char *key, const struct dns_msg *m,
                          const struct dns_rr *rr)
{
    const uint8_t *b = dns_str_ptr(m, rr->data);
    char txt[48];
    if (!rr->has_rdata)
        return false;
    switch (rr->type) {
    case 1:
        if (rr->data.len != 4)
            return false;
        snprintf(txt, sizeof(txt), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        jw_str(w, key, txt);
        return true;
    case 28: /* Suricata writes all eight groups, zero-padded, not RFC 5952 */
        if (rr->data.len != 16)
            return false;
        eve_ip6_full(b, txt);
        jw_str(w, key, txt);
        return true;
    case 2:
    case 5:
    case 12:
    case 15: /* MX: the exchange only, as Suricata */
        put_name(w, key, m, rr->data);
        return true;
    default: /* TXT: one value per character-string, by the callers */
        return false;
    }
}

/* SOA and SRV rdata as objects. Returns false for other types. */
static bool put_rdata_obj(struct jw *w, const char *key, const struct dns_msg *m,
                          const struct dns_rr *rr)
{
    if (!rr->has_rdata)
        return false;
    if (rr->type == 6) {
        jw_obj_open(w, key);
        put_name(w, "mname", m, rr->data);
        put_name(w, "rname", m, rr->data2);
        static const char *const k[5] = {"serial", "refresh", "retry", "expire", "minimum"};
        for (int i = 0; i < 5; i++)
            jw_u64(w, k[i], rr->n[i]);
        jw_obj_close(w);
        return true;
    }
    if (rr->type == 33) {
        jw_obj_open(w, key);
        jw_u64(w, "priority", rr->n[0]);
        jw_u64(w, "weight", rr->n[1]);
        jw_u64(w, "port", rr->n[2]);
        put_name(w, "name", m, rr->data);
        jw_obj_close(w);
        return true;
    }
    return false;
}

static void put_record_head(struct jw *w, const struct dns_msg *m, const struct dns_rr *rr)
{
    put_name(w, "rrname", m, rr->name);
    put_rrtype(w, "rrtype", rr->type);
    jw_u64(w, "ttl", rr->ttl);
}

/* A TXT record is one entry per character-string (Suricata 8), each with the
 * record's name, type and TTL; one without strings (or rdata) is one bare entry. */
static void put_txt_entries(struct jw *w, const struct dns_msg *m, const struct dns_rr *rr)
{
    const uint8_t *b = dns_str_ptr(m, rr->data), *str;
    size_t off = 0, len;
    bool any = false;
    while (rr->has_rdata && dns_txt_next(b, rr->data.len, &off, &str, &len)) {
        jw_obj_open(w, NULL);
        put_record_head(w, m, rr);
        put_bytes(w, "rdata", str, len);
        jw_obj_close(w);
        any = true;
    }
    if (!any) {
        jw_obj_open(w, NULL);
        put_record_head(w, m, rr);
        jw_obj_close(w);
    }
}

static void put_records(struct jw *w, const char *key, const struct dns_msg *m, uint8_t sec)
{
    bool any = false;
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        if (rr->section != sec)
            continue;
        if (!any)
            jw_arr_open(w, key);
        any = true;
        if (rr->type == 16) {
            put_txt_entries(w, m, rr);
            continue;
        }
        jw_obj_open(w, NULL);
        put_record_head(w, m, rr);
        if (!put_rdata_str(w, "rdata", m, rr))
            put_rdata_obj(w, rr->type == 6 ? "soa" : "srv", m, rr);
        jw_obj_close(w);
    }
    if (any)
        jw_arr_close(w);
}

/* The values of one record in "grouped": TXT gives one per character-string. */
static void put_grouped_values(struct jw *w, const struct dns_msg *m, const struct dns_rr *rr)
{
    if (rr->type == 16) {
        const uint8_t *b = dns_str_ptr(m, rr->data), *str;
        size_t off = 0, len;
        while (dns_txt_next(b, rr->data.len, &off, &str, &len))
            put_bytes(w, NULL, str, len);
    } else if (!put_rdata_str(w, NULL, m, rr)) {
        put_rdata_obj(w, NULL, m, rr);
    }
}

static bool groupable(const struct dns_rr *rr)
{
    if (rr->section != DNS_SEC_ANSWER || !rr->has_rdata)
        return false;
    switch (rr->type) {
    case 1:
    case 2:
    case 5:
    case 6:
    case 12:
    case 15:
    case 16:
    case 28:
    case 33:
        return true;
    default:
        return false;
    }
}

/* "grouped": {"A": [...], "CNAME": [...]} over the answers, types in order of first
 * appearance, records with rdata only. n <= DNS_MAX_RECORDS, so n^2 is small. */
static void put_grouped(struct jw *w, const struct dns_msg *m)
{
    bool open = false;
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dns_rr *rr = &m->rr[i];
        if (!groupable(rr))
            continue;
        bool seen = false;
        for (unsigned j = 0; j < i && !seen; j++)
            seen = groupable(&m->rr[j]) && m->rr[j].type == rr->type;
        if (seen)
            continue;
        if (!open)
            jw_obj_open(w, "grouped");
        open = true;
        jw_arr_open(w, dns_rrtype_name(rr->type));
        for (unsigned j = i; j < m->nrr; j++)
            if (groupable(&m->rr[j]) && m->rr[j].type == rr->type)
                put_grouped_values(w, m, &m->rr[j]);
        jw_arr_close(w);
    }
    if (open)
        jw_obj_close(w);
}

void dns_write_event(struct jw *w, const struct dns_msg *m)
{
    char flags[8];
    jw_obj_open(w, "dns");
    jw_u64(w, "version", 3);
    jw_str(w, "type", m->qr ? "response" : "request");
    jw_u64(w, "tx_id", m->tx_id);
    jw_u64(w, "id", m->id);
    snprintf(flags, sizeof(flags), "%x", m->flags);
    jw_str(w, "flags", flags);
    static const struct {
        uint16_t bit;
        const char *name;
    } bits[] = {{0x8000, "qr"}, {0x0400, "aa"}, {0x0200, "tc"},
                {0x0100, "rd"}, {0x0080, "ra"}, {0x0040, "z"}};
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (m->flags & bits[i].bit)
            jw_bool(w, bits[i].name, true);
    jw_u64(w, "opcode", m->opcode);
    const char *rc = dns_rcode_name(m->rcode);
    char rcnum[4];
    if (rc == NULL) {
        snprintf(rcnum, sizeof(rcnum), "%u", m->rcode);
        rc = rcnum;
    }
    jw_str(w, "rcode", rc);
    if (m->nq > 0) {
        jw_arr_open(w, "queries");
        for (unsigned i = 0; i < m->nq; i++) {
            jw_obj_open(w, NULL);
            put_name(w, "rrname", m, m->q[i].name);
            put_rrtype(w, "rrtype", m->q[i].type);
            jw_obj_close(w);
        }
        jw_arr_close(w);
    }
    put_records(w, "answers", m, DNS_SEC_ANSWER);
    put_grouped(w, m);
    put_records(w, "authorities", m, DNS_SEC_AUTHORITY);
    put_records(w, "additionals", m, DNS_SEC_ADDITIONAL);
    jw_obj_close(w);
}

/* --- DNS over TCP ---------------------------------------------------------------- */

static void tcp_done(struct dns_tcp *s)
{
    xfree(s->buf);
    s->buf = NULL;
    s->need = s->have = 0;
    s->hdr_have = 0;
    s->skip = false;
}

static void tcp_parse(struct dns_tcp *s, const uint8_t *p, size_t n, const struct dns_conf *conf,
                      struct dns_msg *scratch, dns_msg_fn fn, void *ud)
{
    int rc = dns_parse(p, n, conf, scratch);
    s->msgs++;
    if (fn != NULL)
        fn(ud, scratch, rc);
}

/* Takes one prefix byte; when the prefix is complete, starts the message. */
static void tcp_prefix_byte(struct dns_tcp *s, uint8_t b, const struct dns_conf *conf,
                            struct dns_msg *scratch, dns_msg_fn fn, void *ud)
{
    s->hdr[s->hdr_have++] = b;
    if (s->hdr_have < 2)
        return;
    s->need = (uint32_t)s->hdr[0] << 8 | s->hdr[1];
    s->have = 0;
    if (s->need == 0) { /* an empty message: reported, as dns_parse sees it */
        tcp_parse(s, NULL, 0, conf, scratch, fn, ud);
        tcp_done(s);
    }
}

/* Takes message bytes from r into the buffer (or skips them); parses when complete. */
static void tcp_body(struct dns_tcp *s, struct rd *r, const struct dns_conf *conf,
                     struct dns_msg *scratch, dns_msg_fn fn, void *ud)
{
    if (s->buf == NULL && !s->skip) {
        s->buf = xalloc(MEM_APP, s->need);
        if (s->buf == NULL) {
            s->skip = true;
            s->nomem++;
        }
    }
    size_t take = s->need - s->have;
    if (take > rd_left(r))
        take = rd_left(r);
    const uint8_t *b = rd_take(r, take);
    if (!s->skip)
        memcpy(s->buf + s->have, b, take);
    s->have += (uint32_t)take;
    if (s->have == s->need) {
        if (!s->skip)
            tcp_parse(s, s->buf, s->need, conf, scratch, fn, ud);
        tcp_done(s);
    }
}

int dns_tcp_feed(struct dns_tcp *s, const uint8_t *p, size_t n, const struct dns_conf *conf,
                 struct dns_msg *scratch, dns_msg_fn fn, void *ud)
{
    struct rd r = rd_init(p, n);
    while (rd_left(&r) > 0) {
        if (s->hdr_have < 2) {
            tcp_prefix_byte(s, rd_u8(&r), conf, scratch, fn, ud);
        } else if (s->buf == NULL && !s->skip && s->have == 0 && rd_left(&r) >= s->need) {
            /* the whole message is here: parse it in place */
            tcp_parse(s, rd_take(&r, s->need), s->need, conf, scratch, fn, ud);
            tcp_done(s);
        } else {
            tcp_body(s, &r, conf, scratch, fn, ud);
        }
    }
    return s->hdr_have == 0 ? PARSE_OK : PARSE_MORE;
}

void dns_tcp_free(struct dns_tcp *s)
{
    tcp_done(s);
}

/* --- as an application-layer parser (applayer.h): UDP datagrams and TCP streams ---- */

static const char *dns_kind_name(int k)
{
    return dns_anomaly_name((enum dns_anomaly)k);
}

/* Anomalies of m counted, then its dns event unless the message had no header. */
static void dns_report(struct app_sink *s, int dir, const struct dns_msg *m, int rc)
{
    for (int a = 0; a < DNS_AN_COUNT; a++)
        if (m->anomalies & (1u << a))
            s->anomaly(s, a, dir);
    if (rc != PARSE_OK)
        return;
    struct jw *w = s->event_begin(s, "dns", dir);
    if (w == NULL)
        return;
    dns_write_event(w, m);
    s->event_end(s);
}

static bool dns_udp_match(uint16_t sport, uint16_t dport)
{
    return sport == DNS_PORT || dport == DNS_PORT;
}

/* One message per datagram, each its own transaction as in Suricata 8: tx_id is the
 * message's index in the flow, both directions counted. */
static void dns_datagram(struct app_sink *s, const struct sensor_conf *c, int dir,
                         const uint8_t *d, size_t n)
{
    struct dns_conf dc = {(uint8_t)c->dns_max_questions, (uint8_t)c->dns_max_records};
    struct dns_msg m; /* ~20 KiB: on the stack, nothing outlives the call */
    int rc = dns_parse(d, n, &dc, &m);
    m.tx_id = s->dgram_index;
    dns_report(s, dir, &m, rc);
}

/* Whether d starts like a DNS-over-TCP message: a length prefix that covers at least a
 * header, a standard-ish opcode, and one to a few questions (a response may have
 * none). Enough to tell DNS from another protocol on port 53, and to find a message
 * boundary again after a gap (Suricata resynchronises the same way). */
static bool dns_tcp_start(const uint8_t *d, size_t n)
{
    if (n < 2 + 12)
        return false;
    unsigned len = (unsigned)d[0] << 8 | d[1];
    unsigned opcode = (d[4] >> 3) & 15u;
    unsigned qd = (unsigned)d[6] << 8 | d[7];
    bool qr = (d[4] & 0x80) != 0;
    return len >= 12 && opcode <= 6 && qd <= 16 && (qd > 0 || qr);
}

static enum app_probe dns_probe(const uint8_t *d, size_t n, int dir, uint16_t sport,
                                uint16_t dport)
{
    (void)dir;
    if (sport != DNS_PORT && dport != DNS_PORT)
        return APP_PROBE_NO;
    if (n < 2 + 12)
        return APP_PROBE_MORE;
    return dns_tcp_start(d, n) ? APP_PROBE_YES : APP_PROBE_NO;
}

struct dns_tcp_flow {
    struct dns_tcp dir[2];
    struct dns_conf conf;
    bool lost[2]; /* after a gap: waiting for data that starts like a message */
};

struct dns_tcp_call {
    struct app_sink *s;
    const struct dns_tcp_flow *t;
    struct dns_msg *scratch; /* the message dns_tcp_feed parses into */
    int dir;
};

static void dns_tcp_msg(void *ud, const struct dns_msg *m, int rc)
{
    struct dns_tcp_call *c = ud;
    (void)m; /* == c->scratch */
    c->scratch->tx_id = c->t->dir[0].msgs + c->t->dir[1].msgs - 1; /* index in the flow */
    dns_report(c->s, c->dir, c->scratch, rc);
}

static void *dns_tcp_new(const struct sensor_conf *c)
{
    struct dns_tcp_flow *t = xcalloc(MEM_APP, 1, sizeof(*t));
    if (t != NULL) {
        t->conf.max_questions = (uint8_t)c->dns_max_questions;
        t->conf.max_records = (uint8_t)c->dns_max_records;
    }
    return t;
}

static void dns_tcp_state_free(void *st)
{
    struct dns_tcp_flow *t = st;
    dns_tcp_free(&t->dir[0]);
    dns_tcp_free(&t->dir[1]);
    xfree(t);
}

static void dns_tcp_data(void *st, struct app_sink *s, int dir, const uint8_t *d, size_t n)
{
    struct dns_tcp_flow *t = st;
    if (t->lost[dir]) {
        if (!dns_tcp_start(d, n))
            return;
        t->lost[dir] = false;
    }
    struct dns_msg m;
    struct dns_tcp_call c = {s, t, &m, dir};
    uint64_t nomem = t->dir[dir].nomem;
    dns_tcp_feed(&t->dir[dir], d, n, &t->conf, &m, dns_tcp_msg, &c);
    if (t->dir[dir].nomem != nomem)
        s->anomaly(s, DNS_AN_NOMEM, dir);
}

/* After a gap the framing is lost: drop the partial message and skip data until a
 * chunk starts like a message (segments usually start on message boundaries). */
static void dns_tcp_gap(void *st, struct app_sink *s, int dir, uint64_t len)
{
    (void)s;
    (void)len;
    struct dns_tcp_flow *t = st;
    t->lost[dir] = true;
    dns_tcp_free(&t->dir[dir]);
}

const struct app_parser dns_parser = {
    .name = "dns",
    .nkinds = DNS_AN_COUNT,
    .kind_name = dns_kind_name,
    .probe = dns_probe,
    .state_new = dns_tcp_new,
    .state_free = dns_tcp_state_free,
    .data = dns_tcp_data,
    .gap = dns_tcp_gap,
    .end = NULL,
    .udp_match = dns_udp_match,
    .datagram = dns_datagram,
};
