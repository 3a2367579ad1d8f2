/*
 * HTTP/1.x parser: lines, start lines, headers, the transaction queue, the `http`
 * event, and the app_parser table (see http.h; bodies are in http_body.c).
 *
 * Invariants: a line is read in place when it arrives whole in one data call, and
 * only a line split across calls is copied into the direction's line buffer (at most
 * max_line bytes, allocated on first need); a longer line keeps its first max_line
 * bytes in both cases, so every split parses the same. Each transaction is one
 * MEM_APP block of fixed size, and at most max_pending are queued; a transaction is
 * freed once it was logged and neither direction still reads a message of it.
 */
#include "app/http.h"

#include <string.h>

#include "app/http_int.h"
#include "otasuke/alloc.h"
#include "otasuke/ascii.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

/* ---- limits, names ---- */

void http_limits_from_conf(struct http_limits *l, const struct sensor_conf *c)
{
    l->max_line = 8192;
    l->max_headers = 256;
    l->max_header_bytes = 65536;
    l->max_pending = 32;
    l->max_files = 1000;
    l->decompress_ratio = 2048;
    l->decompress_cap = 32u << 20;
    l->decompress = true;
    l->dump_headers = 0;
    l->req_body_limit = 0;
    if (c == NULL)
        return;
    l->max_line = (uint32_t)c->http_max_line;
    l->max_headers = (uint32_t)c->http_max_headers;
    l->max_header_bytes = (uint32_t)c->http_max_header_bytes;
    l->max_pending = (uint32_t)c->http_max_pending;
    l->max_files = (uint32_t)c->http_max_files;
    l->decompress_ratio = (uint32_t)c->http_decompress_ratio;
    l->decompress_cap = c->http_decompress_cap;
    l->decompress = c->http_decompress;
    /* none 0, request 1, response 2, both 3: bit 1 << dir */
    l->dump_headers = (uint8_t)(c->http_dump_all_headers & 3);
    l->req_body_limit = c->http_request_body_limit;
}

static const char *const an_names[HTTP_AN_COUNT] = {
    [HTTP_AN_LINE_TOO_LONG] = "line_too_long",
    [HTTP_AN_TOO_MANY_HEADERS] = "too_many_headers",
    [HTTP_AN_HEADERS_TOO_BIG] = "headers_too_big",
    [HTTP_AN_TOO_MANY_PENDING] = "too_many_pending",
    [HTTP_AN_BAD_REQUEST_LINE] = "invalid_request_line",
    [HTTP_AN_BAD_STATUS] = "invalid_status",
    [HTTP_AN_BAD_HEADER] = "invalid_header",
    [HTTP_AN_BAD_CONTENT_LENGTH] = "invalid_content_length",
    [HTTP_AN_TE_AND_CL] = "te_and_cl",
    [HTTP_AN_BAD_CHUNK] = "bad_chunk",
    [HTTP_AN_BAD_GZIP] = "bad_gzip",
    [HTTP_AN_DECOMPRESSION_BOMB] = "decompression_bomb",
    [HTTP_AN_GAP] = "gap",
    [HTTP_AN_UNMATCHED_RESPONSE] = "response_without_request",
    [HTTP_AN_TOO_MANY_FILES] = "too_many_files",
    [HTTP_AN_NO_MEMORY] = "no_memory",
};

const char *http_anomaly_name(int kind)
{
    if (kind < 0 || kind >= HTTP_AN_COUNT)
        return "unknown";
    return an_names[kind];
}

void http_anomaly(struct app_sink *s, enum http_anomaly k, int dir)
{
    if (s->anomaly != NULL)
        s->anomaly(s, (int)k, dir);
}

/* ---- small string helpers ---- */

/* Whether p[0..n) equals the lower-case literal lit, ignoring case. */
static bool ieq(const uint8_t *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n != k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (ascii_lower(p[i]) != lit[i])
            return false;
    return true;
}

static bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Strips spaces and tabs at both ends of [*p, *p + *n). */
static void trim(const uint8_t **p, size_t *n)
{
    while (*n > 0 && is_ows((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_ows((*p)[*n - 1]))
        (*n)--;
}

static void set_field(char *dst, uint16_t *dlen, size_t cap, const uint8_t *v, size_t n)
{
    if (n > cap)
        n = cap;
    memcpy(dst, v, n);
    *dlen = (uint16_t)n;
}

#define SET(tx, f, v, n) set_field((tx)->f, &(tx)->f##_len, sizeof((tx)->f), (v), (n))

/* Parses decimal digits d[0..n) (n > 0) into *v; false on anything else or overflow. */
static bool parse_dec(const uint8_t *d, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9' || x > (UINT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (uint64_t)(d[i] - '0');
    }
    *v = x;
    return true;
}

/* ---- transactions ---- */

static void tx_log(struct http_state *h, struct app_sink *s, struct http_tx *tx);
static void fin_close(struct http_state *h, struct app_sink *s);

/* The queue is full: the oldest transaction that no direction is reading is logged
 * as it is (its response never came) to make room. False when none can go. */
static bool tx_evict(struct http_state *h, struct app_sink *s)
{
    for (struct http_tx *t = h->head; t != NULL; t = t->next)
        if (!t->logged && t != h->d[0].tx && t != h->d[1].tx) {
            t->has_response = true; /* a late response does not pair with it */
            tx_log(h, s, t);
            return true;
        }
    return false;
}

static struct http_tx *tx_new(struct http_state *h, struct app_sink *s, int dir)
{
    if (h->npending >= h->lim.max_pending) {
        http_anomaly(s, HTTP_AN_TOO_MANY_PENDING, dir);
        if (!tx_evict(h, s) || h->npending >= h->lim.max_pending)
            return NULL;
    }
    struct http_tx *tx = xcalloc(MEM_APP, 1, sizeof(*tx));
    if (tx == NULL) {
        http_anomaly(s, HTTP_AN_NO_MEMORY, dir);
        return NULL;
    }
    tx->id = h->next_tx_id++;
    tx->port = -1;
    if (h->tail != NULL)
        h->tail->next = tx;
    else
        h->head = tx;
    h->tail = tx;
    h->npending++;
    return tx;
}

static void tx_unlink(struct http_state *h, struct http_tx *tx)
{
    struct http_tx **pp = &h->head, *prev = NULL;
    while (*pp != NULL && *pp != tx) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        return;
    *pp = tx->next;
    if (h->tail == tx)
        h->tail = prev;
    h->npending--;
    xfree(tx->uri);
    xfree(tx->hdrs[0]);
    xfree(tx->hdrs[1]);
    xfree(tx);
}

/* Frees tx when it is logged and no direction still reads a message of it. */
static void tx_maybe_free(struct http_state *h, struct http_tx *tx)
{
    if (tx != NULL && tx->logged && h->d[0].tx != tx && h->d[1].tx != tx)
        tx_unlink(h, tx);
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Keeps a header line of tx's direction dir for dump_all_headers. A repeated name
 * (ignoring case) gets ", value" appended to its first record, as libhtp merges
 * repeated headers. Total size: the header bytes read (header_limits) plus 8 per
 * record. False when memory ran out (the rest of the message's headers are not kept). */
/* Offset of the record named nm[0..nl) (ignoring case) in b[0..len), or UINT32_MAX. */
static uint32_t hdr_find(const uint8_t *b, uint32_t len, const uint8_t *nm, size_t nl)
{
    for (uint32_t o = 0; b != NULL && o + 8 <= len;) {
        uint32_t rn = rd32(b + o), rv = rd32(b + o + 4);
        size_t i = 0;
        while (rn == nl && i < nl && ascii_lower(b[o + 8 + i]) == ascii_lower(nm[i]))
            i++;
        if (rn == nl && i == nl)
            return o;
        o += 8 + rn + rv;
    }
    return UINT32_MAX;
}

static bool hdr_keep(struct http_tx *tx, int dir, const uint8_t *nm, size_t nl, const uint8_t *v,
                     size_t vl)
{
    uint8_t *b = tx->hdrs[dir];
    uint32_t len = tx->hdrs_len[dir];
    uint32_t at = hdr_find(b, len, nm, nl); /* the record with this name */
    size_t add = at == UINT32_MAX ? 8 + nl + vl : 2 + vl;
    if (b == NULL || (size_t)len + add > tx->hdrs_cap[dir]) {
        size_t cap = tx->hdrs_cap[dir] ? tx->hdrs_cap[dir] : 512;
        while (cap < (size_t)len + add)
            cap *= 2;
        if (cap > UINT32_MAX)
            return false;
        uint8_t *nb = xrealloc(MEM_APP, b, cap);
        if (nb == NULL)
            return false;
        b = tx->hdrs[dir] = nb;
        tx->hdrs_cap[dir] = (uint32_t)cap;
    }
    if (at == UINT32_MAX) {
        wr32(b + len, (uint32_t)nl);
        wr32(b + len + 4, (uint32_t)vl);
        memcpy(b + len + 8, nm, nl);
        if (vl > 0)
            memcpy(b + len + 8 + nl, v, vl);
    } else {
        uint32_t rn = rd32(b + at), rv = rd32(b + at + 4);
        uint32_t end = at + 8 + rn + rv;
        memmove(b + end + add, b + end, len - end);
        b[end] = ',';
        b[end + 1] = ' ';
        if (vl > 0)
            memcpy(b + end + 2, v, vl);
        wr32(b + at + 4, (uint32_t)(rv + add));
    }
    tx->hdrs_len[dir] = (uint32_t)(len + add);
    return true;
}

static void write_headers(struct jw *w, const struct http_tx *tx, int dir)
{
    const uint8_t *b = tx->hdrs[dir];
    uint32_t len = tx->hdrs_len[dir];
    if (b == NULL || len == 0)
        return;
    jw_arr_open(w, dir == APP_TOSERVER ? "request_headers" : "response_headers");
    for (uint32_t o = 0; o + 8 <= len;) {
        uint32_t rn = rd32(b + o), rv = rd32(b + o + 4);
        jw_obj_open(w, NULL);
        jw_strn(w, "name", (const char *)b + o + 8, rn);
        jw_strn(w, "value", (const char *)b + o + 8 + rn, rv);
        jw_obj_close(w);
        o += 8 + rn + rv;
    }
    jw_arr_close(w);
}

void http_write_tx(struct jw *w, struct app_sink *s, const struct http_tx *tx)
{
    jw_obj_open(w, "http");
    if (tx->host_len > 0)
        jw_strn(w, "hostname", tx->host, tx->host_len);
    if (tx->port >= 0)
        jw_u64(w, "http_port", (uint64_t)tx->port);
    if (tx->has_request)
        jw_strn(w, "url", tx->uri != NULL ? tx->uri : "", tx->uri_len);
    if (tx->ua_len > 0) {
        jw_strn(w, "http_user_agent", tx->ua, tx->ua_len);
        app_note(s, "http.http_user_agent");
    }
    if (tx->ctype_len > 0)
        jw_strn(w, "http_content_type", tx->ctype, tx->ctype_len);
    if (tx->referer_len > 0)
        jw_strn(w, "http_refer", tx->referer, tx->referer_len);
    if (tx->method_len > 0)
        jw_strn(w, "http_method", tx->method, tx->method_len);
    if (tx->proto_len > 0)
        jw_strn(w, "protocol", tx->proto, tx->proto_len);
    if (tx->status > 0)
        jw_u64(w, "status", tx->status);
    else if (tx->status_str_len > 0)
        jw_strn(w, "status_string", tx->status_str, tx->status_str_len);
    if (tx->location_len > 0)
        jw_strn(w, "redirect", tx->location, tx->location_len);
    jw_u64(w, "length", tx->resp_len);
    write_headers(w, tx, APP_TOSERVER);
    write_headers(w, tx, APP_TOCLIENT);
    jw_obj_close(w);
}

/* Writes tx's `http` event (once). */
static void tx_log(struct http_state *h, struct app_sink *s, struct http_tx *tx)
{
    if (tx == NULL || tx->logged)
        return;
    tx->logged = true;
    struct jw *w = s->event_begin(s, "http", APP_TOSERVER ^ (int)h->swapped);
    if (w != NULL) {
        jw_u64(w, "tx_id", tx->id);
        http_write_tx(w, s, tx);
        s->event_end(s);
    }
    tx_maybe_free(h, tx);
}

/* ---- message state ---- */

static void msg_reset(struct http_dir *d)
{
    d->nheaders = 0;
    d->header_bytes = 0;
    d->hdr_limit = false;
    d->has_clen = false;
    d->chunked = false;
    d->te_seen = false;
    d->enc = ENC_NONE;
    d->clen = 0;
    d->cd_len = 0;
    d->cd_star = false;
    d->boundary_len = 0;
    d->remain = 0;
    d->discard = false;
    d->chunk_seen = false;
    d->cz = 0;
}

static void dir_stop(struct http_state *h, struct app_sink *s, int dir)
{
    struct http_dir *d = &h->d[dir];
    if (d->state == HS_DEAD)
        return;
    if (dir == APP_TOCLIENT)
        fin_close(h, s);
    http_body_end(h, s, dir, false);
    d->state = HS_DEAD;
    struct http_tx *tx = d->tx;
    d->tx = NULL;
    tx_maybe_free(h, tx);
}

/* The request (headers and body) of direction 0 is complete. */
static void request_done(struct http_state *h, struct app_sink *s)
{
    struct http_dir *d = &h->d[APP_TOSERVER];
    http_body_end(h, s, APP_TOSERVER, true);
    struct http_tx *tx = d->tx;
    d->tx = NULL;
    d->state = (tx != NULL && tx->connect) ? HS_WAIT : HS_START;
    if (tx != NULL) {
        tx->req_done = true;
        tx_maybe_free(h, tx);
    }
}

/* The response of direction 1 is complete: its transaction is logged. */
static void response_done(struct http_state *h, struct app_sink *s)
{
    struct http_dir *d = &h->d[APP_TOCLIENT];
    struct http_tx *tx = d->tx;
    /* A plain body's file stays open: lines before the next status line are appended
     * to it (fin_line), as libhtp does ("unexpected response body"). */
    bool keep = tx != NULL && d->file != NULL && d->z == NULL && d->br == NULL && d->mp == NULL;
    if (!keep) {
        http_body_end(h, s, APP_TOCLIENT, true);
        d->tx = NULL;
    }
    d->fin = keep;
    d->state = HS_START;
    if (tx != NULL) {
        tx->resp_done = true;
        tx_log(h, s, tx);
    }
}

/* Closes the file kept open after a response body (response_done). */
static void fin_close(struct http_state *h, struct app_sink *s)
{
    struct http_dir *d = &h->d[APP_TOCLIENT];
    if (!d->fin)
        return;
    d->fin = false;
    http_body_end(h, s, APP_TOCLIENT, true);
    struct http_tx *tx = d->tx;
    d->tx = NULL;
    tx_maybe_free(h, tx);
}

/* libhtp's test for a status line: optional white space or NULs, then "http". */
static bool status_like(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == 0 || p[i] == '\f' || p[i] == '\v'))
        i++;
    return n - i >= 4 && ascii_lower(p[i]) == 'h' && ascii_lower(p[i + 1]) == 't' &&
           ascii_lower(p[i + 2]) == 't' && ascii_lower(p[i + 3]) == 'p';
}

/* A line after a response body, before the next status line: it and its line end
 * are more bytes of that body (fin). */
static void fin_line(struct http_state *h, struct app_sink *s, const uint8_t *p, size_t n)
{
    static const uint8_t crs[16] = {'\r', '\r', '\r', '\r', '\r', '\r', '\r', '\r',
                                    '\r', '\r', '\r', '\r', '\r', '\r', '\r', '\r'};
    struct http_dir *d = &h->d[APP_TOCLIENT];
    http_body_data(h, s, APP_TOCLIENT, p, n);
    for (uint32_t c = d->eol_cr; c > 0;) {
        uint32_t k = c < 16 ? c : 16;
        http_body_data(h, s, APP_TOCLIENT, crs, k);
        c -= k;
    }
    if (d->eol_lf)
        http_body_data(h, s, APP_TOCLIENT, (const uint8_t *)"\n", 1);
}

/* The connection became something else (CONNECT tunnel, 101): stop parsing both. */
static void tunnel(struct http_state *h, struct app_sink *s)
{
    response_done(h, s);
    dir_stop(h, s, APP_TOSERVER);
    dir_stop(h, s, APP_TOCLIENT);
}

/* ---- start lines ---- */

static bool is_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_tchar(uint8_t c)
{
    if (is_alpha(c) || is_digit(c))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Whether p[0..n) is "HTTP/d.d". */
static bool is_version(const uint8_t *p, size_t n)
{
    return n == 8 && memcmp(p, "HTTP/", 5) == 0 && p[5] >= '0' && p[5] <= '9' && p[6] == '.' &&
           p[7] >= '0' && p[7] <= '9';
}

/* Host and port of an absolute URI "scheme://host[:port]/...", when it is one. */
static void uri_authority(const uint8_t *u, size_t n, const uint8_t **a, size_t *alen)
{
    *a = NULL;
    *alen = 0;
    size_t k = 0; /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    while (k < n && k < 16 &&
           (is_alpha(u[k]) ||
            (k > 0 && (is_digit(u[k]) || u[k] == '+' || u[k] == '-' || u[k] == '.'))))
        k++;
    const uint8_t *sep = u + k;
    if (k == 0 || n - k < 3 || sep[0] != ':' || sep[1] != '/' || sep[2] != '/')
        return;
    const uint8_t *b = sep + 3;
    k = 0;
    while (b + k < u + n && b[k] != '/' && b[k] != '?' && b[k] != '#')
        k++;
    const uint8_t *at = memchr(b, '@', k); /* userinfo */
    if (at != NULL) {
        k -= (size_t)(at + 1 - b);
        b = at + 1;
    }
    *a = b;
    *alen = k;
}

/* Sets tx's host (lower case) and port from "host[:port]" or "[v6]:port". */
static void set_host(struct http_tx *tx, const uint8_t *a, size_t n)
{
    size_t hl = n;
    const uint8_t *hp = a;
    int32_t port = -1;
    const uint8_t *close = (n > 0 && a[0] == '[') ? memchr(a, ']', n) : NULL;
    const uint8_t *colon = NULL;
    if (close != NULL) {
        hp = a + 1;
        hl = (size_t)(close - hp);
        if (close + 1 < a + n && close[1] == ':')
            colon = close + 1;
    } else {
        colon = memchr(a, ':', n);
        if (colon != NULL)
            hl = (size_t)(colon - a);
    }
    uint64_t v;
    if (colon != NULL && parse_dec(colon + 1, (size_t)(a + n - colon - 1), &v) && v <= 65535)
        port = (int32_t)v;
    while (hl > 0 && hp[hl - 1] == '.')
        hl--;
    SET(tx, host, hp, hl);
    for (size_t i = 0; i < tx->host_len; i++)
        tx->host[i] = (char)ascii_lower((unsigned char)tx->host[i]);
    tx->port = port;
}

/* A line that is not a start line where one was due: one anomaly, then lines are
 * skipped until a valid start line. In a response, the junk is taken for the body of
 * the oldest pending request's response whose headers were lost (capture started
 * late, a gap): that transaction is logged without status, so that the next status
 * line pairs with the next request. */
static void start_junk(struct http_state *h, struct app_sink *s, int dir)
{
    struct http_dir *d = &h->d[dir];
    if (d->junk)
        return;
    d->junk = true;
    http_anomaly(s, dir == APP_TOSERVER ? HTTP_AN_BAD_REQUEST_LINE : HTTP_AN_BAD_STATUS, dir);
    if (dir == APP_TOSERVER)
        return;
    struct http_tx *t = d->tx; /* after a 1xx */
    for (struct http_tx *q = h->head; t == NULL && q != NULL; q = q->next)
        if (!q->has_response && !q->logged)
            t = q;
    d->tx = NULL;
    if (t != NULL) {
        t->has_response = true;
        tx_log(h, s, t);
    }
}

static void request_line(struct http_state *h, struct app_sink *s, const uint8_t *p, size_t n)
{
    struct http_dir *d = &h->d[APP_TOSERVER];
    size_t m = 0;
    while (m < n && is_tchar(p[m]))
        m++;
    if (m == 0 || m >= HTTP_METHOD_MAX || m >= n || !is_ows(p[m])) {
        start_junk(h, s, APP_TOSERVER);
        return;
    }
    /* The URI ends at the first space (as libhtp and tshark); the rest, trimmed, is
     * the protocol, whatever it holds. */
    const uint8_t *u = p + m;
    size_t ul = n - m;
    trim(&u, &ul);
    size_t k = 0;
    while (k < ul && !is_ows(u[k]))
        k++;
    const uint8_t *ver = u + k;
    size_t vl = ul - k;
    trim(&ver, &vl);
    ul = k;
    if (vl == 0 && is_version(u, ul)) { /* "GET  HTTP/1.1": an empty target */
        ver = u;
        vl = ul;
        ul = 0;
    }
    if (d->junk && !is_version(ver, vl))
        return; /* resynchronise only on a complete request line */
    d->junk = false;
    msg_reset(d);
    d->state = HS_HEADERS;
    struct http_tx *tx = tx_new(h, s, APP_TOSERVER);
    d->tx = tx;
    if (tx == NULL)
        return;
    tx->has_request = true;
    SET(tx, method, p, m);
    if (ul > 0) {
        tx->uri = xalloc(MEM_APP, ul);
        if (tx->uri == NULL)
            http_anomaly(s, HTTP_AN_NO_MEMORY, APP_TOSERVER);
        else
            memcpy(tx->uri, u, ul);
        tx->uri_len = tx->uri != NULL ? (uint32_t)ul : 0;
    }
    SET(tx, proto, ver, vl);
    tx->head = ieq(p, m, "head");
    tx->connect = ieq(p, m, "connect");
    const uint8_t *a;
    size_t al;
    uri_authority(u, ul, &a, &al);
    if (a != NULL && al > 0)
        set_host(tx, a, al);
}

/* The transaction a response belongs to: the oldest one without a response. */
static struct http_tx *response_tx(struct http_state *h, struct app_sink *s)
{
    for (struct http_tx *t = h->head; t != NULL; t = t->next)
        if (!t->has_response && !t->logged)
            return t;
    http_anomaly(s, HTTP_AN_UNMATCHED_RESPONSE, APP_TOCLIENT);
    return tx_new(h, s, APP_TOCLIENT);
}

static void status_line(struct http_state *h, struct app_sink *s, const uint8_t *p, size_t n)
{
    struct http_dir *d = &h->d[APP_TOCLIENT];
    /* "HTTP/d.d SP status [SP reason]"; a status that is not 3 digits is kept as a
     * string (Suricata's status_string) and counts as a final response. */
    /* As libhtp: a line that starts with "HTTP" (any case) is a status line even when
     * its version is malformed ("HTTP/1\0.1", "HTTP/1.1\0") or the status is absent
     * ("HTTP/1.1"): the headers that follow frame the body. */
    uint64_t st = 0;
    size_t pl = 0;
    while (pl < n && !is_ows(p[pl]))
        pl++;
    if (n < 4 || !ieq(p, 4, "http")) {
        start_junk(h, s, APP_TOCLIENT);
        return;
    }
    size_t b = pl;
    while (b < n && is_ows(p[b]))
        b++;
    size_t k = b;
    while (k < n && !is_ows(p[k]))
        k++;
    if (k - b != 3 || !parse_dec(p + b, 3, &st) || st < 100)
        st = 0;
    if (pl != 8 || !is_version(p, 8) || k == b)
        http_anomaly(s, HTTP_AN_BAD_STATUS, APP_TOCLIENT); /* read on, as libhtp */
    d->junk = false;
    msg_reset(d);
    d->state = HS_HEADERS;
    d->interim = (st < 200 && st != 101) ? (uint16_t)st : 0;
    if (d->tx == NULL)
        d->tx = response_tx(h, s);
    struct http_tx *tx = d->tx;
    if (tx == NULL)
        return;
    tx->status = (uint16_t)st;
    tx->status_str_len = 0;
    if (st == 0)
        SET(tx, status_str, p + b, k - b);
    if (d->interim == 0)
        tx->has_response = true;
    if (!tx->has_request)
        SET(tx, proto, p, pl);
}

/* ---- headers ---- */

static void content_length(struct http_dir *d, struct app_sink *s, int dir, const uint8_t *v,
                           size_t n)
{
    uint64_t x;
    if (!parse_dec(v, n, &x)) {
        http_anomaly(s, HTTP_AN_BAD_CONTENT_LENGTH, dir);
        return;
    }
    if (d->has_clen && x != d->clen) {
        http_anomaly(s, HTTP_AN_BAD_CONTENT_LENGTH, dir);
        return;
    }
    d->has_clen = true;
    d->clen = x;
}

static void transfer_encoding(struct http_dir *d, const uint8_t *v, size_t n)
{
    d->te_seen = true;
    /* chunked must be the last coding (RFC 9112 6.1) */
    if (n >= 7 && ieq(v + n - 7, 7, "chunked"))
        d->chunked = true;
}

static void content_encoding(struct http_dir *d, const uint8_t *v, size_t n)
{
    if (ieq(v, n, "gzip") || ieq(v, n, "x-gzip"))
        d->enc = ENC_GZIP;
    else if (ieq(v, n, "deflate"))
        d->enc = ENC_DEFLATE;
    else if (ieq(v, n, "br"))
        d->enc = ENC_BROTLI;
    else
        d->enc = ENC_NONE; /* identity, stacked codings: the file keeps the bytes */
}

/* Value of parameter `name` (lower case, with '=') in a Content-Disposition value,
 * unquoted; false when absent. */
static bool cd_param(const uint8_t *v, size_t n, const char *name, const uint8_t **val,
                     size_t *vlen)
{
    size_t k = strlen(name);
    for (size_t i = 0; i + k <= n; i++) {
        bool start = i == 0 || v[i - 1] == ';' || is_ows(v[i - 1]);
        if (!start || !ieq(v + i, k, name))
            continue;
        const uint8_t *b = v + i + k;
        size_t r = n - i - k;
        if (r > 0 && b[0] == '"') {
            const uint8_t *q = memchr(b + 1, '"', r - 1);
            *val = b + 1;
            *vlen = q != NULL ? (size_t)(q - b - 1) : r - 1;
            return true;
        }
        size_t e = 0;
        while (e < r && b[e] != ';' && !is_ows(b[e]))
            e++;
        *val = b;
        *vlen = e;
        return true;
    }
    return false;
}

/* filename*=charset'lang'percent-encoded (RFC 5987), decoded into d->cd_name. */
static void cd_ext_name(struct http_dir *d, const uint8_t *v, size_t n)
{
    const uint8_t *q1 = memchr(v, '\'', n);
    const uint8_t *q2 = q1 != NULL ? memchr(q1 + 1, '\'', (size_t)(v + n - q1 - 1)) : NULL;
    const uint8_t *p = q2 != NULL ? q2 + 1 : v;
    size_t len = (size_t)(v + n - p), o = 0;
    for (size_t i = 0; i < len && o < sizeof(d->cd_name); i++) {
        int hi = (p[i] == '%' && i + 2 < len) ? ascii_hexval(p[i + 1]) : -1;
        int lo = hi >= 0 ? ascii_hexval(p[i + 2]) : -1;
        if (lo >= 0) {
            d->cd_name[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            d->cd_name[o++] = (char)p[i];
        }
    }
    d->cd_len = (uint16_t)o;
    d->cd_star = true;
}

/* Content-Type of a request: the boundary of multipart/form-data. */
static void request_content_type(struct http_dir *d, const uint8_t *v, size_t n)
{
    const uint8_t *b;
    size_t bl;
    if (n < 19 || !ieq(v, 19, "multipart/form-data") || !cd_param(v, n, "boundary=", &b, &bl))
        return;
    if (bl == 0 || bl > HTTP_BOUNDARY_MAX)
        return;
    memcpy(d->boundary, b, bl);
    d->boundary_len = (uint8_t)bl;
}

void http_content_disposition(struct http_dir *d, const uint8_t *v, size_t n)
{
    const uint8_t *fv;
    size_t fl;
    if (cd_param(v, n, "filename*=", &fv, &fl)) {
        cd_ext_name(d, fv, fl);
        return;
    }
    if (!d->cd_star && cd_param(v, n, "filename=", &fv, &fl)) {
        if (fl > sizeof(d->cd_name))
            fl = sizeof(d->cd_name);
        memcpy(d->cd_name, fv, fl);
        d->cd_len = (uint16_t)fl;
    }
}

/* A header that both directions read. */
static bool common_header(struct http_dir *d, struct app_sink *s, int dir, const uint8_t *nm,
                          size_t nl, const uint8_t *v, size_t vl)
{
    if (ieq(nm, nl, "content-length"))
        content_length(d, s, dir, v, vl);
    else if (ieq(nm, nl, "transfer-encoding"))
        transfer_encoding(d, v, vl);
    else if (ieq(nm, nl, "content-encoding"))
        content_encoding(d, v, vl);
    else if (ieq(nm, nl, "content-disposition"))
        http_content_disposition(d, v, vl);
    else
        return false;
    return true;
}

static void header_value(struct http_state *h, struct app_sink *s, int dir, const uint8_t *nm,
                         size_t nl, const uint8_t *v, size_t vl)
{
    struct http_dir *d = &h->d[dir];
    if (common_header(d, s, dir, nm, nl, v, vl))
        return;
    struct http_tx *tx = d->tx;
    if (tx == NULL || d->interim != 0)
        return;
    if (dir == APP_TOSERVER) {
        if (ieq(nm, nl, "host") && tx->host_len == 0)
            set_host(tx, v, vl);
        else if (ieq(nm, nl, "user-agent"))
            SET(tx, ua, v, vl);
        else if (ieq(nm, nl, "referer"))
            SET(tx, referer, v, vl);
        else if (ieq(nm, nl, "content-type"))
            request_content_type(d, v, vl);
    } else {
        if (ieq(nm, nl, "content-type"))
            SET(tx, ctype, v, vl);
        else if (ieq(nm, nl, "location"))
            SET(tx, location, v, vl);
    }
}

/* Counts a header line against the limits; false when it is to be ignored. */
static bool header_limits(struct http_state *h, struct app_sink *s, int dir, size_t n)
{
    struct http_dir *d = &h->d[dir];
    if (d->hdr_limit)
        return false;
    d->nheaders++;
    d->header_bytes += (uint32_t)n + 2;
    if (d->nheaders > h->lim.max_headers) {
        http_anomaly(s, HTTP_AN_TOO_MANY_HEADERS, dir);
        d->hdr_limit = true;
    } else if (d->header_bytes > h->lim.max_header_bytes) {
        http_anomaly(s, HTTP_AN_HEADERS_TOO_BIG, dir);
        d->hdr_limit = true;
    }
    return !d->hdr_limit;
}

static void header_line(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                        size_t n)
{
    if (!header_limits(h, s, dir, n) || is_ows(p[0]))
        return; /* over a limit, or an obsolete folded continuation: ignored */
    const uint8_t *colon = memchr(p, ':', n);
    if (colon == NULL || colon == p) {
        http_anomaly(s, HTTP_AN_BAD_HEADER, dir);
        return;
    }
    const uint8_t *nm = p, *v = colon + 1;
    size_t nl = (size_t)(colon - p), vl = (size_t)(p + n - v);
    trim(&nm, &nl);
    trim(&v, &vl);
    struct http_tx *tx = h->d[dir].tx;
    if ((h->lim.dump_headers >> dir & 1) && tx != NULL && h->d[dir].interim == 0 && nl > 0 &&
        !hdr_keep(tx, dir, nm, nl, v, vl))
        http_anomaly(s, HTTP_AN_NO_MEMORY, dir);
    header_value(h, s, dir, nm, nl, v, vl);
}

/* Picks the body framing after the headers; returns false when there is no body. */
static bool body_framing(struct http_dir *d, struct app_sink *s, int dir, bool eof_ok)
{
    if (d->chunked) {
        if (d->has_clen)
            http_anomaly(s, HTTP_AN_TE_AND_CL, dir);
        d->state = HS_CHUNK_SIZE;
        return true;
    }
    if (d->has_clen) {
        d->remain = d->clen;
        d->state = HS_BODY_LEN;
        return d->clen > 0;
    }
    if (eof_ok) {
        d->state = HS_BODY_EOF;
        return true;
    }
    return false;
}

static void request_headers_end(struct http_state *h, struct app_sink *s)
{
    if (!body_framing(&h->d[APP_TOSERVER], s, APP_TOSERVER, false))
        request_done(h, s);
}

static void response_headers_end(struct http_state *h, struct app_sink *s)
{
    struct http_dir *d = &h->d[APP_TOCLIENT];
    struct http_tx *tx = d->tx;
    if (d->interim != 0) { /* 1xx: the final response follows */
        d->interim = 0;
        d->state = HS_START;
        return;
    }
    uint16_t st = tx != NULL ? tx->status : 0;
    bool conn = tx != NULL && tx->connect && st >= 200 && st < 300;
    if (st == 101 || conn) {
        tunnel(h, s);
        return;
    }
    if (h->d[APP_TOSERVER].state == HS_WAIT && tx != NULL && tx->connect)
        h->d[APP_TOSERVER].state = HS_START; /* CONNECT refused */
    bool nobody = (tx != NULL && tx->head) || st == 204 || st == 304;
    if (nobody || !body_framing(d, s, APP_TOCLIENT, true))
        response_done(h, s);
}

static void headers_end(struct http_state *h, struct app_sink *s, int dir)
{
    if (dir == APP_TOSERVER)
        request_headers_end(h, s);
    else
        response_headers_end(h, s);
}

/* ---- lines ---- */

static void chunk_size_line(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                            size_t n)
{
    struct http_dir *d = &h->d[dir];
    uint64_t sz;
    if (!http_chunk_size(p, n, &sz)) {
        http_anomaly(s, HTTP_AN_BAD_CHUNK, dir);
        dir_stop(h, s, dir);
        return;
    }
    d->chunk_seen = true;
    d->remain = sz;
    d->state = sz > 0 ? HS_CHUNK_DATA : HS_TRAILERS;
}

static void message_done(struct http_state *h, struct app_sink *s, int dir)
{
    if (dir == APP_TOSERVER)
        request_done(h, s);
    else
        response_done(h, s);
}

/* Midstream pickup (the capture began after the request): the flow's first bytes
 * are a status line and the other side sent nothing yet, so the flow's first sender
 * is the server. The directions swap for the rest of the flow (events are written
 * client to server, as Suricata turns such a flow around); true when they did. */
static bool swap_dirs(struct http_state *h, const uint8_t *p, size_t n)
{
    if (h->swapped || h->next_tx_id != 0 || h->seen[1] || n < 5 || memcmp(p, "HTTP/", 5) != 0)
        return false;
    struct http_dir t = h->d[0];
    h->d[0] = h->d[1];
    h->d[1] = t;
    h->swapped = true;
    return true;
}

/* One complete line (without CR LF) of direction dir in state `state`. */
static void on_line(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct http_dir *d = &h->d[dir];
    switch (d->state) {
    case HS_START:
        if (dir == APP_TOSERVER && swap_dirs(h, p, n)) {
            status_line(h, s, p, n);
            return;
        }
        if (dir == APP_TOCLIENT && d->fin) {
            if (!status_like(p, n)) {
                fin_line(h, s, p, n);
                return;
            }
            fin_close(h, s);
        }
        if (n == 0)
            return; /* empty lines before a message (RFC 9112 2.2) */
        if (dir == APP_TOSERVER)
            request_line(h, s, p, n);
        else
            status_line(h, s, p, n);
        return;
    case HS_HEADERS:
        if (n == 0)
            headers_end(h, s, dir);
        else
            header_line(h, s, dir, p, n);
        return;
    case HS_CHUNK_SIZE:
        chunk_size_line(h, s, dir, p, n);
        return;
    case HS_CHUNK_END:
        if (n != 0) {
            http_anomaly(s, HTTP_AN_BAD_CHUNK, dir);
            dir_stop(h, s, dir);
        } else {
            d->state = HS_CHUNK_SIZE;
        }
        return;
    case HS_TRAILERS:
        if (n == 0)
            message_done(h, s, dir);
        else
            (void)header_limits(h, s, dir, n);
        return;
    default:
        return;
    }
}

/* Appends p[0..n) to the direction's partial line (at most max_line bytes kept, one
 * anomaly when more came); false when the buffer could not be allocated (the
 * direction stopped). */
static bool line_append(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                        size_t n)
{
    struct http_dir *d = &h->d[dir];
    uint32_t max = h->lim.max_line;
    size_t room = max > d->line_len ? max - d->line_len : 0;
    size_t keep = n < room ? n : room;
    if (n > room && !d->line_over && !d->junk) {
        d->line_over = true;
        http_anomaly(s, HTTP_AN_LINE_TOO_LONG, dir);
    }
    if (keep > 0 && d->line == NULL) {
        d->line = xalloc(MEM_APP, max);
        if (d->line == NULL) {
            http_anomaly(s, HTTP_AN_NO_MEMORY, dir);
            dir_stop(h, s, dir);
            return false;
        }
    }
    if (keep > 0)
        memcpy(d->line + d->line_len, p, keep);
    d->line_len += (uint32_t)keep;
    return true;
}

/* The partial line is complete: hands it to on_line (CRs already removed). */
static void line_finish(struct http_state *h, struct app_sink *s, int dir)
{
    struct http_dir *d = &h->d[dir];
    size_t len = d->line_len;
    d->line_len = 0;
    d->line_over = false;
    on_line(h, s, dir, len > 0 ? d->line : (const uint8_t *)"", len);
}

/* Whether a lone CR ends a line: in a response's status line and headers, as libhtp
 * (evasions send CR-only header lines; "\n\r\r\n" ends a header block). */
static bool cr_eol(const struct http_dir *d, int dir)
{
    return dir == APP_TOCLIENT && (d->state == HS_START || d->state == HS_HEADERS);
}

/* Line bytes where a run of CRs ends a line, with the LF that follows it if any.
 * A run of CRs at the end of the data waits for the next byte (cr_pending), so every
 * split parses the same; the CRs are never kept. */
static size_t line_step_cr(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                           size_t n)
{
    struct http_dir *d = &h->d[dir];
    size_t e = 0;
    if (!d->cr_pending) {
        d->eol_cr = 0;
        while (e < n && p[e] != '\r' && p[e] != '\n')
            e++;
    }
    size_t j = e;
    while (j < n && p[j] == '\r')
        j++;
    d->eol_cr = (j - e) > UINT32_MAX - d->eol_cr ? UINT32_MAX : d->eol_cr + (uint32_t)(j - e);
    if (e > 0 && !line_append(h, s, dir, p, e))
        return n;
    if (j == n) {
        d->cr_pending = d->eol_cr > 0;
        return n;
    }
    d->eol_lf = p[j] == '\n';
    size_t used = p[j] == '\n' ? j + 1 : j;
    d->cr_pending = false;
    line_finish(h, s, dir);
    return used;
}

/* Consumes bytes of a line state; returns how many. */
static size_t line_step(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                        size_t n)
{
    struct http_dir *d = &h->d[dir];
    if (d->cr_pending || cr_eol(d, dir))
        return line_step_cr(h, s, dir, p, n);
    uint32_t max = h->lim.max_line;
    const uint8_t *lf = memchr(p, '\n', n);
    size_t take = lf != NULL ? (size_t)(lf - p) : n;
    if (lf != NULL && d->line_len == 0) { /* whole line in place */
        size_t keep = take < max ? take : max;
        if (take > max && !d->line_over && !d->junk)
            http_anomaly(s, HTTP_AN_LINE_TOO_LONG, dir);
        size_t len = keep;
        if (len > 0 && len == take && p[len - 1] == '\r')
            len--;
        d->line_over = false;
        on_line(h, s, dir, p, len);
        return take + 1;
    }
    if (!line_append(h, s, dir, p, take))
        return n;
    if (lf == NULL)
        return n;
    /* A CR is stripped only when it ends the line as received (not when cut). */
    if (d->line_len > 0 && !d->line_over && d->line[d->line_len - 1] == '\r')
        d->line_len--;
    line_finish(h, s, dir);
    return take + 1;
}

static bool is_chunk_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

/* The first chunk-size line of a response, checked byte by byte (d->cz: 0 leading
 * space, 1 hex digits, 2 space after them, 3 extension or CR: no more checks). As
 * libhtp, a response whose first chunk size is not one (a "Transfer-Encoding:
 * chunked" header over a plain body, an evasion) is read as a body to the end of the
 * connection, from the first byte of that line; returns the bytes consumed. */
static size_t chunk_first(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                          size_t n)
{
    struct http_dir *d = &h->d[dir];
    for (size_t i = 0; i < n && p[i] != '\n' && d->cz != 3; i++) {
        uint8_t c = p[i];
        if (is_chunk_ws(c) && d->cz != 1 && d->cz != 2)
            continue;
        if (ascii_hexval(c) >= 0 && d->cz <= 1) {
            d->cz = 1;
            continue;
        }
        if (is_chunk_ws(c) && d->cz >= 1) {
            d->cz = 2;
            continue;
        }
        if ((c == ';' || c == '\r') && d->cz >= 1) {
            d->cz = 3;
            continue;
        }
        if (c == '\r' && d->line_len == 0 && i == 0) {
            break; /* an empty line: line_step refuses it */
        }
        http_anomaly(s, HTTP_AN_BAD_CHUNK, dir);
        d->chunked = false;
        d->state = HS_BODY_EOF;
        if (d->line_len > 0 && !d->line_over)
            http_body_data(h, s, dir, d->line, d->line_len);
        d->line_len = 0;
        d->line_over = false;
        return 0;
    }
    return line_step(h, s, dir, p, n);
}

/* Consumes bytes of a body state; returns how many. */
static size_t body_step(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                        size_t n)
{
    struct http_dir *d = &h->d[dir];
    size_t k = n;
    if (d->state != HS_BODY_EOF && d->remain < k)
        k = (size_t)d->remain;
    http_body_data(h, s, dir, p, k);
    if (d->state == HS_BODY_EOF)
        return k;
    d->remain -= k;
    if (d->remain == 0) {
        if (d->state == HS_CHUNK_DATA)
            d->state = HS_CHUNK_END;
        else
            message_done(h, s, dir);
    }
    return k;
}

static void http_data(void *st, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct http_state *h = st;
    dir &= 1;
    if (n > 0)
        h->seen[dir] = true;
    bool sw = h->swapped;
    dir ^= (int)sw;
    struct http_dir *d = &h->d[dir];
    size_t off = 0;
    while (off < n) {
        if (h->swapped != sw) { /* swap_dirs: this direction is now the other */
            sw = h->swapped;
            dir ^= 1;
            d = &h->d[dir];
        }
        switch (d->state) {
        case HS_DEAD:
        case HS_WAIT:
            return;
        case HS_BODY_LEN:
        case HS_CHUNK_DATA:
        case HS_BODY_EOF:
            off += body_step(h, s, dir, p + off, n - off);
            break;
        case HS_CHUNK_SIZE:
            if (dir == APP_TOCLIENT && !d->chunk_seen)
                off += chunk_first(h, s, dir, p + off, n - off);
            else
                off += line_step(h, s, dir, p + off, n - off);
            break;
        default:
            off += line_step(h, s, dir, p + off, n - off);
            break;
        }
    }
}

/* ---- gaps, end ---- */

/* A gap outside a body, or past its end: the message in progress ends there (its
 * file truncated, a response's transaction logged) and parsing resumes at the next
 * valid start line; the lines before it are taken as junk (start_junk). */
static void gap_resync(struct http_state *h, struct app_sink *s, int dir)
{
    struct http_dir *d = &h->d[dir];
    if (dir == APP_TOCLIENT)
        fin_close(h, s);
    http_body_end(h, s, dir, false);
    struct http_tx *tx = d->tx;
    d->tx = NULL;
    d->line_len = 0;
    d->line_over = false;
    d->cr_pending = false;
    d->junk = false;
    d->interim = 0;
    d->state = HS_START;
    if (tx == NULL)
        return;
    if (dir == APP_TOCLIENT) {
        tx->has_response = true;
        tx_log(h, s, tx);
    } else {
        tx->req_done = true;
        tx_maybe_free(h, tx);
    }
}

static void http_gap(void *st, struct app_sink *s, int dir, uint64_t len)
{
    struct http_state *h = st;
    dir = (dir & 1) ^ (int)h->swapped;
    struct http_dir *d = &h->d[dir];
    if (d->state == HS_DEAD || d->state == HS_WAIT)
        return;
    http_anomaly(s, HTTP_AN_GAP, dir);
    bool in_body = d->state == HS_BODY_EOF ||
                   ((d->state == HS_BODY_LEN || d->state == HS_CHUNK_DATA) && len <= d->remain);
    if (!in_body) {
        gap_resync(h, s, dir);
        return;
    }
    /* Resynchronise inside the body: the rest of it is skipped, its file truncated. */
    http_body_gap(h, s, dir, len);
    if (d->state == HS_BODY_EOF)
        return;
    d->remain -= len;
    if (d->remain > 0)
        return;
    if (d->state == HS_CHUNK_DATA)
        d->state = HS_CHUNK_END;
    else
        message_done(h, s, dir);
}

static void http_end(void *st, struct app_sink *s)
{
    struct http_state *h = st;
    struct http_dir *q = &h->d[APP_TOSERVER];
    /* A request line cut by the connection's end ("GET /" then RST) is read as one,
     * as libhtp does with the bytes it holds at close (an HTTP/0.9 request). */
    if (q->state == HS_START && q->line_len > 0 && !q->line_over && !q->junk)
        line_finish(h, s, APP_TOSERVER);
    if (h->d[APP_TOCLIENT].state == HS_BODY_EOF)
        response_done(h, s); /* the connection end delimits the body */
    dir_stop(h, s, APP_TOSERVER);
    dir_stop(h, s, APP_TOCLIENT);
    struct http_tx *t = h->head;
    while (t != NULL) {
        struct http_tx *next = t->next;
        tx_log(h, s, t);
        t = next;
    }
}

/* ---- probe, state ---- */

static const char *const methods[] = {
    "GET ",       "POST ",   "HEAD ",       "PUT ",      "DELETE ",    "OPTIONS ",
    "CONNECT ",   "TRACE ",  "PATCH ",      "PROPFIND ", "PROPPATCH ", "MKCOL ",
    "COPY ",      "MOVE ",   "LOCK ",       "UNLOCK ",   "SEARCH ",    "REPORT ",
    "SUBSCRIBE ", "NOTIFY ", "MKCALENDAR ", NULL,
};

/* YES when d starts with lit, MORE when d is a proper prefix of it. */
static enum app_probe prefix(const uint8_t *d, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    size_t m = n < k ? n : k;
    if (memcmp(d, lit, m) != 0)
        return APP_PROBE_NO;
    return n >= k ? APP_PROBE_YES : APP_PROBE_MORE;
}

static enum app_probe http_probe(const uint8_t *d, size_t n, int dir, uint16_t sport,
                                 uint16_t dport)
{
    (void)sport;
    (void)dport;
    if (n == 0)
        return APP_PROBE_MORE;
    /* A response first toward the server: a midstream flow whose first sender is
     * the server (the parser swaps its directions, swap_dirs). */
    enum app_probe best = prefix(d, n, "HTTP/1.");
    if (dir == APP_TOCLIENT || best == APP_PROBE_YES)
        return best;
    for (size_t i = 0; methods[i] != NULL; i++) {
        enum app_probe r = prefix(d, n, methods[i]);
        if (r == APP_PROBE_YES)
            return r;
        if (r == APP_PROBE_MORE)
            best = r;
    }
    return best;
}

static void *http_state_new(const struct sensor_conf *c)
{
    struct http_state *h = xcalloc(MEM_APP, 1, sizeof(*h));
    if (h == NULL)
        return NULL;
    http_limits_from_conf(&h->lim, c);
    if (h->lim.max_line < 16)
        h->lim.max_line = 16;
    return h;
}

static void http_state_free(void *st)
{
    struct http_state *h = st;
    if (h == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        http_body_free(&h->d[i]);
        xfree(h->d[i].line);
    }
    while (h->head != NULL) {
        struct http_tx *t = h->head;
        h->head = t->next;
        xfree(t->uri);
        xfree(t->hdrs[0]);
        xfree(t->hdrs[1]);
        xfree(t);
    }
    xfree(h);
}

const struct app_parser http_parser = {
    .name = "http",
    .nkinds = HTTP_AN_COUNT,
    .kind_name = http_anomaly_name,
    .probe = http_probe,
    .state_new = http_state_new,
    .state_free = http_state_free,
    .data = http_data,
    .gap = http_gap,
    .end = http_end,
    .notes = true,
};
