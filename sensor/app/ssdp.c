/*
 * SSDP message parser and `ssdp` event writer (see ssdp.h).
 *
 * Invariants: the datagram is read through struct rd, line by line; a line is a
 * pointer and a length into the datagram (cut at max_line); at most max_headers
 * lines are looked at; the fields kept are pointers into the datagram, valid during
 * the call that writes the event. Nothing is allocated.
 */
#include "app/ssdp.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "otasuke/jw.h"
#include "otasuke/rd.h"
#include "sensor_conf.h"

#define SSDP_DEF_HEADERS 32
#define SSDP_DEF_LINE    1024

const char *ssdp_anomaly_name(int kind)
{
    static const char *const names[SSDP_AN_COUNT] = {
        "bad_start_line", "line_too_long", "too_many_headers", "bad_header", "dup_header"};
    return kind >= 0 && kind < SSDP_AN_COUNT ? names[kind] : "unknown";
}

/* The headers logged: name on the wire, key in the event, and the path it is noted
 * under for the device inventory (app_note; NULL: not read). */
static const struct {
    const char *hdr;
    const char *key;
    const char *note;
} g_hdrs[] = {
    {"HOST", "host", NULL},
    {"SERVER", "server", "ssdp.server"},
    {"LOCATION", "location", NULL},
    {"USN", "usn", NULL},
    {"NT", "nt", "ssdp.nt"},
    {"NTS", "nts", NULL},
    {"ST", "st", "ssdp.st"},
    {"MAN", "man", NULL},
    {"MX", "mx", NULL},
    {"CACHE-CONTROL", "cache_control", NULL},
    {"USER-AGENT", "user_agent", NULL},
    {"X-USER-AGENT", "x_user_agent", NULL},
    {"BOOTID.UPNP.ORG", "bootid", NULL},
    {"CONFIGID.UPNP.ORG", "configid", NULL},
};
#define NHDRS (sizeof(g_hdrs) / sizeof(g_hdrs[0]))

struct line {
    const uint8_t *p;
    size_t n;
};

struct ssdp_msg {
    struct line method, uri, version; /* request; for a response: version, status, reason */
    struct line status, reason;
    bool response;
    struct line val[NHDRS];
    bool has[NHDRS];
    uint32_t an; /* 1u << enum ssdp_anomaly */
};

/* The next line of r, without its CR LF / LF, cut at max; false at the end. */
static bool next_line(struct rd *r, size_t max, struct line *l, uint32_t *an)
{
    if (rd_left(r) == 0)
        return false;
    const uint8_t *s = rd_ptr(r);
    size_t left = rd_left(r);
    const uint8_t *nl = memchr(s, '\n', left);
    size_t n = nl ? (size_t)(nl - s) : left;
    rd_skip(r, nl ? n + 1 : n);
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (n > max) {
        *an |= 1u << SSDP_AN_LINE_TOO_LONG;
        n = max;
    }
    l->p = s;
    l->n = n;
    return true;
}

/* Splits l at the first space: *a before it, l after it (spaces skipped). */
static struct line word(struct line *l)
{
    struct line a = {l->p, 0};
    while (a.n < l->n && l->p[a.n] != ' ')
        a.n++;
    size_t k = a.n;
    while (k < l->n && l->p[k] == ' ')
        k++;
    l->p += k;
    l->n -= k;
    return a;
}

static bool line_is(struct line l, const char *s)
{
    return l.n == strlen(s) && memcmp(l.p, s, l.n) == 0;
}

static bool start_line(struct ssdp_msg *m, struct line l)
{
    struct line a = word(&l);
    if (a.n >= 5 && strncmp((const char *)a.p, "HTTP/", 5) == 0) {
        m->response = true;
        m->version = a;
        m->status = word(&l);
        m->reason = l;
        if (m->status.n != 3)
            return false;
        for (size_t i = 0; i < 3; i++)
            if (m->status.p[i] < '0' || m->status.p[i] > '9')
                return false;
        return true;
    }
    m->method = a;
    m->uri = word(&l);
    m->version = word(&l);
    return (line_is(a, "NOTIFY") || line_is(a, "M-SEARCH")) && m->version.n >= 5 &&
           strncmp((const char *)m->version.p, "HTTP/", 5) == 0;
}

static void trim(struct line *l)
{
    while (l->n > 0 && (l->p[0] == ' ' || l->p[0] == '\t')) {
        l->p++;
        l->n--;
    }
    while (l->n > 0 && (l->p[l->n - 1] == ' ' || l->p[l->n - 1] == '\t'))
        l->n--;
}

static void header(struct ssdp_msg *m, struct line l)
{
    const uint8_t *colon = memchr(l.p, ':', l.n);
    if (colon == NULL) {
        m->an |= 1u << SSDP_AN_BAD_HEADER;
        return;
    }
    struct line name = {l.p, (size_t)(colon - l.p)};
    struct line val = {colon + 1, l.n - name.n - 1};
    trim(&name);
    trim(&val);
    for (size_t i = 0; i < NHDRS; i++) {
        if (name.n != strlen(g_hdrs[i].hdr) ||
            strncasecmp((const char *)name.p, g_hdrs[i].hdr, name.n) != 0)
            continue;
        if (m->has[i]) {
            m->an |= 1u << SSDP_AN_DUP_HEADER;
            return;
        }
        m->has[i] = true;
        m->val[i] = val;
        return;
    }
}

/* Parses the datagram into m; false when it is not an SSDP message. */
static bool ssdp_parse(const uint8_t *d, size_t n, size_t max_line, size_t max_hdrs,
                       struct ssdp_msg *m)
{
    memset(m, 0, sizeof(*m));
    struct rd r = rd_init(d, n);
    struct line l;
    if (!next_line(&r, max_line, &l, &m->an) || !start_line(m, l)) {
        m->an |= 1u << SSDP_AN_BAD_START_LINE;
        return false;
    }
    size_t k = 0;
    while (next_line(&r, max_line, &l, &m->an) && l.n > 0) {
        if (k++ == max_hdrs) {
            m->an |= 1u << SSDP_AN_TOO_MANY_HEADERS;
            break;
        }
        header(m, l);
    }
    return true;
}

static void put_line(struct jw *w, const char *key, struct line l)
{
    jw_strn(w, key, (const char *)l.p, l.n);
}

static void ssdp_write(struct jw *w, struct app_sink *s, const struct ssdp_msg *m)
{
    jw_obj_open(w, "ssdp");
    if (m->response) {
        jw_str(w, "type", "response");
        app_note(s, "ssdp.type");
        unsigned st = 0;
        for (size_t i = 0; i < 3; i++)
            st = st * 10 + (unsigned)(m->status.p[i] - '0');
        jw_u64(w, "status", st);
        if (m->reason.n > 0)
            put_line(w, "reason", m->reason);
    } else {
        jw_str(w, "type", line_is(m->method, "NOTIFY") ? "notify" : "search");
        app_note(s, "ssdp.type");
        put_line(w, "method", m->method);
        put_line(w, "uri", m->uri);
    }
    put_line(w, "protocol", m->version);
    for (size_t i = 0; i < NHDRS; i++) {
        if (!m->has[i])
            continue;
        put_line(w, g_hdrs[i].key, m->val[i]);
        if (g_hdrs[i].note != NULL)
            app_note(s, g_hdrs[i].note);
    }
    jw_obj_close(w);
}

static bool ssdp_udp_match(uint16_t sport, uint16_t dport)
{
    return sport == SSDP_PORT || dport == SSDP_PORT;
}

static void ssdp_datagram(struct app_sink *s, const struct sensor_conf *c, int dir,
                          const uint8_t *d, size_t n)
{
    if (c != NULL && !c->ssdp_enabled)
        return;
    size_t max_line = SSDP_DEF_LINE, max_hdrs = SSDP_DEF_HEADERS;
    if (c != NULL && c->ssdp_max_line > 0)
        max_line = (size_t)c->ssdp_max_line;
    if (c != NULL && c->ssdp_max_headers > 0)
        max_hdrs = (size_t)c->ssdp_max_headers;
    struct ssdp_msg m;
    if (ssdp_parse(d, n, max_line, max_hdrs, &m)) {
        struct jw *w = s->event_begin(s, "ssdp", dir);
        if (w != NULL) {
            ssdp_write(w, s, &m);
            s->event_end(s);
        }
    }
    for (int k = 0; k < SSDP_AN_COUNT; k++)
        if (m.an & (1u << k))
            s->anomaly(s, k, dir);
}

const struct app_parser ssdp_parser = {
    .name = "ssdp",
    .nkinds = SSDP_AN_COUNT,
    .kind_name = ssdp_anomaly_name,
    .udp_match = ssdp_udp_match,
    .datagram = ssdp_datagram,
    .notes = true,
};
