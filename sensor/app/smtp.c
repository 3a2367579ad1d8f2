/*
 * SMTP parser (see smtp.h).
 *
 * State per flow: one line buffer per direction (max_line bytes, MEM_APP), the queue of
 * commands awaiting replies, the current transaction (HELO, MAIL FROM, RCPT TO and the
 * message's headers, in fixed-size fields), the MIME walker and one open file. Client
 * bytes are handled by mode: commands (lines), the DATA message (a byte-level dot
 * machine: "." at a line start is removed, a line "." ends the message), BDAT chunks
 * (counted), or data being skipped after a gap. Nothing is allocated after state_new.
 *
 * Transactions end as in Suricata 8.0.7: a message (DATA ".", BDAT LAST) completes its
 * transaction at the server's reply to that end, not at the end itself, so the smtp
 * event (and the fileinfo of the message's last file) is written when that reply is
 * delivered, i.e. at the client's ACK of it. Meanwhile a pipelining client may start
 * the next transaction, so there are two transaction slots: tx[cur] is being filled,
 * tx[cur ^ 1] (when `fin`) is complete and waits for its reply. A closed file is
 * written at the next part's start or with its transaction (Suricata logs it at the
 * next packet of the client), so its email.status does not depend on the split.
 */
#include "app/smtp.h"

#include <stdio.h>
#include <string.h>

#include "app/files.h"
#include "app/mime.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

enum cmd {
    CMD_OTHER = 0,
    CMD_HELO,
    CMD_MAIL,
    CMD_RCPT,
    CMD_DATA,
    CMD_BDAT,
    CMD_BDAT_LAST,
    CMD_RSET,
    CMD_QUIT,
    CMD_STARTTLS,
    CMD_AUTH,
    CMD_AUTH_DATA,
    CMD_DATA_END
};

enum cmode { CM_CMD = 0, CM_DATA, CM_BDAT, CM_SKIP_DATA };
enum dot { DOT_BOL = 0, DOT_MID, DOT_DOT, DOT_DOTCR };
enum msg { MSG_NONE = 0, MSG_HEADERS, MSG_BODY, MSG_DONE, MSG_TRUNC };

#define F_SMALL  256
#define F_LARGE  1024
#define RCPT_POOL 4096
#define ATT_POOL  2048
#define RECV_POOL 2048
#define RECV_MAX  16
#define URL_MAX       32   /* URLs kept per message */
#define URL_LEN_MAX   1024 /* bytes of one URL kept */
#define URL_POOL      4096
#define URL_LINE      2048 /* a decoded line is searched in pieces of at most this */
#define URL_SCHEMES   8
#define URL_SCHEME_MAX 24

struct line {
    uint8_t *buf;
    uint32_t len;
    bool skip; /* the rest of an over-long line is dropped */
};

/* What one transaction logs. helo and auth carry over to the next transaction. */
struct smtp_tx {
    bool open; /* a command of this transaction was seen */
    uint8_t msg; /* enum msg */
    bool rcpt_over;
    uint64_t id;
    uint32_t nrcpt, rcpt_len, natt, att_len, nrecv, recv_len, nurl, url_len;
    char helo[F_SMALL];
    char mail_from[F_SMALL];
    char auth[32];
    char rcpt[RCPT_POOL];
    char att[ATT_POOL];
    char recv[RECV_POOL];      /* Received headers, NUL-separated */
    uint16_t url_off[URL_MAX]; /* into url[] */
    char url[URL_POOL];        /* URLs found, NUL-terminated, in the order found */
    char from[F_LARGE], to[F_LARGE], cc[F_LARGE], subject[F_LARGE];
    char message_id[F_SMALL], date[F_SMALL], x_mailer[F_SMALL];
};

struct smtp {
    /* configuration */
    uint32_t max_line;
    uint32_t max_rcpt;
    uint64_t max_message;
    bool decode_files;
    bool url_extract, url_log_scheme;
    uint8_t nschemes;
    char scheme[URL_SCHEMES][URL_SCHEME_MAX]; /* "http://", NUL-terminated */
    /* streams */
    struct line ln[2];
    uint8_t q[SMTP_QUEUE_MAX];
    uint32_t qhead, qlen;
    uint8_t cmode, dot;
    bool done;        /* after STARTTLS: nothing more is parsed */
    bool auth_active; /* client lines are AUTH exchanges */
    bool bdat_last;
    bool replied;     /* any server reply seen */
    uint64_t bdat_left;
    /* transactions: tx[cur] is filled; tx[cur ^ 1] waits for its reply while fin */
    struct smtp_tx tx[2];
    uint8_t cur;
    bool fin;
    /* message */
    bool msg_capped;
    uint64_t msg_size;
    uint32_t uline_len;
    bool url_scan;           /* the current part is searched for URLs */
    uint8_t uline[URL_LINE]; /* the decoded line being assembled */
    struct mime mime;
    struct app_file file;
    bool file_open;
    bool file_pending; /* closed, its fileinfo not written yet */
    uint8_t file_slot; /* the tx[] it belongs to */
    uint32_t file_ids;
    struct app_sink *sink; /* valid during a call */
};

static const char *smtp_kind_name(int kind)
{
    static const char *const names[SMTP_AN_COUNT] = {
        "line_too_long",    "too_many_rcpt",     "message_too_long", "mime_too_deep",
        "too_many_parts",   "bad_base64",        "bad_qp",           "bad_encoded_word",
        "unknown_charset",  "header_too_long",   "gap",              "too_many_commands",
        "bad_reply",
    };
    return kind >= 0 && kind < SMTP_AN_COUNT ? names[kind] : "unknown";
}

static void anomaly(struct smtp *s, enum smtp_anomaly a, int dir)
{
    if (s->sink != NULL && s->sink->anomaly != NULL)
        s->sink->anomaly(s->sink, (int)a, dir);
}

static int up(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

static bool is_wsp(int c)
{
    return c == ' ' || c == '\t';
}

/* Case-insensitive prefix test of l[0..n) against an upper-case word. */
static bool starts(const uint8_t *l, size_t n, const char *w)
{
    size_t k = strlen(w);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (up(l[i]) != w[i])
            return false;
    return true;
}

/* Copies s[0..n) as a NUL-terminated field (cut). */
static void set_field(char *dst, size_t cap, const void *src, size_t n)
{
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Copies a header value v[0..n) with its fold marks ('\n', mime.h) removed; with
 * eat_blank, also the one blank after each (Suricata's unfolding of Received). Returns
 * the length written (NUL-terminated, cut at cap - 1). */
static size_t unfold(char *dst, size_t cap, const char *v, size_t n, bool eat_blank)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (v[i] == '\n') {
            if (eat_blank && i + 1 < n && is_wsp(v[i + 1]))
                i++;
            continue;
        }
        dst[o++] = v[i];
    }
    dst[o] = '\0';
    return o;
}

/* ---- events ---- */

static void write_list(struct jw *w, const char *key, const char *pool, uint32_t count)
{
    if (count == 0)
        return;
    jw_arr_open(w, key);
    const char *p = pool;
    for (uint32_t i = 0; i < count; i++) {
        jw_str(w, NULL, p);
        p += strlen(p) + 1;
    }
    jw_arr_close(w);
}

/* An address header as Suricata logs it: an array of the comma-separated entries
 * (commas inside quotes or angle brackets do not separate), trimmed. */
static void write_addrs(struct jw *w, const char *key, const char *v)
{
    if (v[0] == '\0')
        return;
    jw_arr_open(w, key);
    bool q = false;
    int angle = 0;
    size_t start = 0, n = strlen(v);
    for (size_t i = 0; i <= n; i++) {
        char c = ',';
        if (i < n)
            c = v[i];
        if (c == '"')
            q = !q;
        else if (c == '<' && !q)
            angle++;
        else if (c == '>' && !q && angle > 0)
            angle--;
        if (c != ',' || q || angle > 0)
            continue;
        size_t a = start, b = i;
        while (a < b && (is_wsp(v[a]) || v[a] == '\r' || v[a] == '\n'))
            a++;
        while (b > a && (is_wsp(v[b - 1]) || v[b - 1] == '\r' || v[b - 1] == '\n'))
            b--;
        if (b > a)
            jw_strn(w, NULL, v + a, b - a);
        start = i + 1;
    }
    jw_arr_close(w);
}

static void write_smtp_obj(struct jw *w, const struct smtp_tx *s)
{
    jw_obj_open(w, "smtp");
    if (s->helo[0] != '\0')
        jw_str(w, "helo", s->helo);
    if (s->mail_from[0] != '\0')
        jw_str(w, "mail_from", s->mail_from);
    write_list(w, "rcpt_to", s->rcpt, s->nrcpt);
    if (s->auth[0] != '\0')
        jw_str(w, "auth_mechanism", s->auth);
    jw_obj_close(w);
}

/* Writes key (raw, as Suricata) and key_decoded when RFC 2047 decoding changes it. */
static void write_decoded(struct jw *w, const char *key, const char *raw, bool list)
{
    char dec[F_LARGE * 2];
    size_t n = mime_decode_words(raw, strlen(raw), dec, sizeof(dec), NULL);
    if (list)
        write_addrs(w, key, raw);
    else
        jw_str(w, key, raw);
    if (n == strlen(raw) && memcmp(dec, raw, n) == 0)
        return;
    char k[32];
    snprintf(k, sizeof(k), "%s_decoded", key);
    if (list)
        write_addrs(w, k, dec);
    else
        jw_str(w, k, dec);
}

static const char *msg_status(const struct smtp_tx *s)
{
    switch (s->msg) {
    case MSG_DONE:
        return "PARSE_DONE";
    case MSG_HEADERS:
        return "HEADER_STARTED";
    default:
        return "BODY_STARTED";
    }
}

/* email.url: last found first, as Suricata (its list is written from the end). */
static void write_urls(struct jw *w, const struct smtp_tx *s)
{
    if (s->nurl == 0)
        return;
    jw_arr_open(w, "url");
    for (uint32_t i = s->nurl; i-- > 0;)
        jw_str(w, NULL, s->url + s->url_off[i]);
    jw_arr_close(w);
}

static void write_email_obj(struct jw *w, const struct smtp_tx *s)
{
    if (s->msg == MSG_NONE)
        return;
    jw_obj_open(w, "email");
    jw_str(w, "status", s->msg == MSG_TRUNC ? "BODY_STARTED" : msg_status(s));
    if (s->from[0] != '\0')
        write_decoded(w, "from", s->from, false);
    if (s->to[0] != '\0')
        write_decoded(w, "to", s->to, true);
    if (s->cc[0] != '\0')
        write_decoded(w, "cc", s->cc, true);
    if (s->subject[0] != '\0') {
        char dec[F_LARGE * 2];
        mime_decode_words(s->subject, strlen(s->subject), dec, sizeof(dec), NULL);
        jw_str(w, "subject", dec);
    }
    if (s->message_id[0] != '\0')
        jw_str(w, "message_id", s->message_id);
    if (s->date[0] != '\0')
        jw_str(w, "date", s->date);
    if (s->x_mailer[0] != '\0')
        jw_str(w, "x_mailer", s->x_mailer);
    write_list(w, "attachment", s->att, s->natt);
    write_urls(w, s);
    write_list(w, "received", s->recv, s->nrecv);
    jw_obj_close(w);
}

static struct smtp_tx *cur(struct smtp *s)
{
    return &s->tx[s->cur];
}

/* Empties t for transaction id (helo and auth stay: they are the session's). */
static void tx_reset(struct smtp_tx *t, uint64_t id)
{
    t->open = false;
    t->msg = MSG_NONE;
    t->rcpt_over = false;
    t->id = id;
    t->nrcpt = t->rcpt_len = t->natt = t->att_len = t->nrecv = t->recv_len = 0;
    t->nurl = t->url_len = 0;
    t->mail_from[0] = t->from[0] = t->to[0] = t->cc[0] = t->subject[0] = '\0';
    t->message_id[0] = t->date[0] = t->x_mailer[0] = '\0';
}

static void tx_write(struct smtp *s, const struct smtp_tx *t)
{
    struct jw *w = s->sink != NULL ? s->sink->event_begin(s->sink, "smtp", APP_TOSERVER) : NULL;
    if (w == NULL)
        return;
    jw_u64(w, "tx_id", t->id);
    write_smtp_obj(w, t);
    write_email_obj(w, t);
    s->sink->event_end(s->sink);
}

/* Writes the fileinfo of the closed file, if it waits, with its transaction's fields. */
static void file_flush(struct smtp *s)
{
    if (!s->file_pending)
        return;
    s->file_pending = false;
    const struct smtp_tx *t = &s->tx[s->file_slot];
    struct jw *w = s->sink != NULL ? s->sink->event_begin(s->sink, "fileinfo", APP_TOSERVER)
                                   : NULL;
    if (w != NULL) {
        write_smtp_obj(w, t);
        write_email_obj(w, t);
        file_write_fileinfo(w, &s->file, t->id); /* writes the "fileinfo" object */
        s->sink->event_end(s->sink);
    }
    file_release(&s->file);
}

/* Writes the complete transaction that waits for its reply (and its file). */
static void fin_log(struct smtp *s)
{
    if (!s->fin)
        return;
    if (s->file_slot != s->cur)
        file_flush(s);
    s->fin = false;
    tx_write(s, &s->tx[s->cur ^ 1]);
}

/* Writes the current transaction's smtp event (if anything is in it), after the one
 * that waits (tx_id order), and starts a new one. */
static void tx_log(struct smtp *s)
{
    struct smtp_tx *t = cur(s);
    if (!t->open && t->msg == MSG_NONE)
        return;
    fin_log(s);
    file_flush(s);
    tx_write(s, t);
    tx_reset(t, t->id + 1);
}

/* The current transaction's message is complete: it waits for the server's reply to
 * its end (a transaction still waiting before it is written now), and the next one
 * starts in the other slot. */
static void tx_complete(struct smtp *s)
{
    fin_log(s);
    const struct smtp_tx *t = cur(s);
    s->cur ^= 1;
    s->fin = true;
    struct smtp_tx *n = cur(s);
    memcpy(n->helo, t->helo, sizeof(n->helo));
    memcpy(n->auth, t->auth, sizeof(n->auth));
    tx_reset(n, t->id + 1);
}

/* ---- URLs in message text (Suricata's extract-urls) ---- */

/* Where a URL ends: Suricata's terminators, and line ends and NUL (Suricata searches
 * line by line with the line end included; we stop there). */
static bool url_end(uint8_t c)
{
    return c == ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == ']' || c == '\t' ||
           c == '\r' || c == '\n' || c == '\0';
}

/* Case-insensitive search of the NUL-terminated w in l[0..n); returns the offset or n. */
static size_t find_nocase(const uint8_t *l, size_t n, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++)
        if (starts(l + i, n - i, w))
            return i;
    return n;
}

static void url_add(struct smtp_tx *s, const uint8_t *u, size_t n)
{
    if (n > URL_LEN_MAX)
        n = URL_LEN_MAX;
    if (s->nurl >= URL_MAX || s->url_len + n + 1 > URL_POOL)
        return;
    s->url_off[s->nurl++] = (uint16_t)s->url_len;
    memcpy(s->url + s->url_len, u, n);
    s->url_len += (uint32_t)n;
    s->url[s->url_len++] = '\0';
}

/* One decoded line (or piece of at most URL_LINE bytes): each scheme in the
 * configured order, its matches left to right. */
static void url_line(struct smtp *s, const uint8_t *l, size_t n)
{
    for (unsigned k = 0; k < s->nschemes; k++) {
        const char *sch = s->scheme[k];
        size_t sl = strlen(sch), off = 0;
        while (off < n) {
            size_t at = off + find_nocase(l + off, n - off, sch);
            if (at >= n)
                break;
            size_t e = at + sl;
            while (e < n && !url_end(l[e]))
                e++;
            size_t from = s->url_log_scheme ? at : at + sl;
            url_add(cur(s), l + from, e - from);
            off = e;
        }
    }
}

static void url_flush(struct smtp *s)
{
    if (s->uline_len > 0)
        url_line(s, s->uline, s->uline_len);
    s->uline_len = 0;
}

/* Decoded content of a searched part, any split: assembled into lines. */
static void url_feed(struct smtp *s, const uint8_t *d, size_t n)
{
    while (n > 0) {
        const uint8_t *nl = memchr(d, '\n', n);
        size_t k = nl != NULL ? (size_t)(nl - d) + 1 : n;
        size_t room = URL_LINE - s->uline_len;
        size_t t = k < room ? k : room;
        memcpy(s->uline + s->uline_len, d, t);
        s->uline_len += (uint32_t)t;
        if (s->uline_len == URL_LINE || (nl != NULL && t == k))
            url_flush(s);
        d += t;
        n -= t;
    }
}

/* Parses "http,https" into "HTTP://", "HTTPS://". */
static void url_schemes(struct smtp *s, const char *list)
{
    s->nschemes = 0;
    const char *p = list;
    while (*p != '\0' && s->nschemes < URL_SCHEMES) {
        size_t n = strcspn(p, ", ");
        if (n > 0 && n + 4 <= URL_SCHEME_MAX) {
            char *dst = s->scheme[s->nschemes++]; /* upper case: starts() compares so */
            for (size_t i = 0; i < n; i++)
                dst[i] = (char)up((unsigned char)p[i]);
            memcpy(dst + n, "://", 4);
        }
        p += n;
        p += strspn(p, ", ");
    }
}

/* ---- MIME callbacks ---- */

static void on_header(void *ud, unsigned depth, const char *name, size_t nl, const char *v,
                      size_t vl)
{
    struct smtp_tx *s = cur(ud);
    if (depth != 0)
        return;
    if (nl == 8 && starts((const uint8_t *)name, nl, "RECEIVED")) {
        if (s->nrecv < RECV_MAX && s->recv_len + 2 <= RECV_POOL) {
            size_t k = unfold(s->recv + s->recv_len, RECV_POOL - s->recv_len, v, vl, true);
            s->recv_len += (uint32_t)k + 1;
            s->nrecv++;
        }
        return;
    }
    static const struct {
        const char *name;
        size_t off, cap;
    } h[] = {
        {"FROM", offsetof(struct smtp_tx, from), F_LARGE},
        {"TO", offsetof(struct smtp_tx, to), F_LARGE},
        {"CC", offsetof(struct smtp_tx, cc), F_LARGE},
        {"SUBJECT", offsetof(struct smtp_tx, subject), F_LARGE},
        {"MESSAGE-ID", offsetof(struct smtp_tx, message_id), F_SMALL},
        {"DATE", offsetof(struct smtp_tx, date), F_SMALL},
        {"X-MAILER", offsetof(struct smtp_tx, x_mailer), F_SMALL},
        {"USER-AGENT", offsetof(struct smtp_tx, x_mailer), F_SMALL},
    };
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
        if (strlen(h[i].name) != nl || !starts((const uint8_t *)name, nl, h[i].name))
            continue;
        char *dst = (char *)s + h[i].off;
        if (dst[0] == '\0')
            unfold(dst, h[i].cap, v, vl, false);
        return;
    }
}

static bool part_is_file(const struct mime_part *p)
{
    if (p->attachment || p->name[0] != '\0')
        return true;
    return strncmp(p->ctype, "text/", 5) != 0 && strncmp(p->ctype, "message/", 8) != 0 &&
           strncmp(p->ctype, "multipart/", 10) != 0;
}

static void on_part_begin(void *ud, const struct mime_part *p)
{
    struct smtp *s = ud;
    struct smtp_tx *t = cur(s);
    t->msg = MSG_BODY;
    /* Suricata searches parts with a file name and text/plain, text/html, message/ */
    s->url_scan = s->url_extract &&
                  (p->name[0] != '\0' || strcmp(p->ctype, "text/plain") == 0 ||
                   strcmp(p->ctype, "text/html") == 0 || strncmp(p->ctype, "message/", 8) == 0);
    s->uline_len = 0;
    if (!s->decode_files || !part_is_file(p))
        return;
    size_t nl = strlen(p->name);
    if (nl > 0 && t->att_len + nl + 1 <= ATT_POOL) {
        memcpy(t->att + t->att_len, p->name, nl + 1);
        t->att_len += (uint32_t)nl + 1;
        t->natt++;
    }
    file_flush(s); /* the file before: s->file is reused */
    file_open(&s->file, p->name, nl, ++s->file_ids, 0);
    s->file_open = true;
}

static void on_part_data(void *ud, const uint8_t *d, size_t n)
{
    struct smtp *s = ud;
    if (s->url_scan)
        url_feed(s, d, n);
    if (s->file_open)
        file_data(&s->file, d, n);
}

static void on_part_end(void *ud, bool complete, bool bad)
{
    struct smtp *s = ud;
    if (s->url_scan)
        url_flush(s);
    s->url_scan = false;
    if (!s->file_open)
        return;
    s->file_open = false;
    file_close(&s->file, complete && !s->msg_capped, bad);
    s->file_pending = true; /* written at the next part or with the transaction */
    s->file_slot = s->cur;
}

static void on_mime_anomaly(void *ud, enum mime_anomaly a)
{
    static const uint8_t map[MIME_AN_COUNT] = {
        [MIME_AN_TOO_DEEP] = SMTP_AN_MIME_TOO_DEEP,
        [MIME_AN_TOO_MANY_PARTS] = SMTP_AN_TOO_MANY_PARTS,
        [MIME_AN_BAD_BASE64] = SMTP_AN_BAD_BASE64,
        [MIME_AN_BAD_QP] = SMTP_AN_BAD_QP,
        [MIME_AN_BAD_ENCODED_WORD] = SMTP_AN_BAD_ENCODED_WORD,
        [MIME_AN_UNKNOWN_CHARSET] = SMTP_AN_UNKNOWN_CHARSET,
        [MIME_AN_HEADER_TOO_LONG] = SMTP_AN_HEADER_TOO_LONG,
        [MIME_AN_LINE_TOO_LONG] = SMTP_AN_LINE_TOO_LONG,
    };
    anomaly(ud, (enum smtp_anomaly)map[a], APP_TOSERVER);
}

/* ---- the message ---- */

static void msg_start(struct smtp *s)
{
    struct smtp_tx *t = cur(s);
    if (t->msg != MSG_NONE)
        return;
    t->open = true;
    t->msg = MSG_HEADERS;
    s->url_scan = false;
    s->uline_len = 0;
    s->msg_size = 0;
    s->msg_capped = false;
    mime_reset(&s->mime);
}

static void msg_data(struct smtp *s, const uint8_t *d, size_t n)
{
    if (n == 0 || s->msg_capped)
        return;
    if (s->msg_size + n > s->max_message) {
        n = (size_t)(s->max_message - s->msg_size);
        mime_feed(&s->mime, d, n);
        s->msg_size += n;
        s->msg_capped = true;
        anomaly(s, SMTP_AN_MESSAGE_TOO_LONG, APP_TOSERVER);
        mime_abort(&s->mime);
        return;
    }
    s->msg_size += n;
    mime_feed(&s->mime, d, n);
}

/* The message ended: complete (terminator / BDAT LAST: the transaction waits for the
 * reply) or not (gap, flow end: it is written now). */
static void msg_end(struct smtp *s, bool complete)
{
    struct smtp_tx *t = cur(s);
    if (t->msg == MSG_NONE)
        return;
    if (complete && !s->msg_capped) {
        mime_finish(&s->mime);
        t->msg = MSG_DONE;
    } else {
        mime_abort(&s->mime);
        t->msg = complete ? MSG_DONE : MSG_TRUNC;
    }
    if (complete)
        tx_complete(s);
    else
        tx_log(s);
}

/* ---- commands and replies ---- */

static void q_push(struct smtp *s, enum cmd c)
{
    if (s->qlen == SMTP_QUEUE_MAX) {
        anomaly(s, SMTP_AN_TOO_MANY_COMMANDS, APP_TOSERVER);
        s->qhead = (s->qhead + 1) % SMTP_QUEUE_MAX;
        s->qlen--;
    }
    s->q[(s->qhead + s->qlen) % SMTP_QUEUE_MAX] = (uint8_t)c;
    s->qlen++;
}

static int q_pop(struct smtp *s)
{
    if (s->qlen == 0)
        return -1;
    int c = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % SMTP_QUEUE_MAX;
    s->qlen--;
    return c;
}

/* The argument of "MAIL FROM:" / "RCPT TO:": the <path> (or the first word). */
static size_t path_arg(const uint8_t *l, size_t n, size_t skip, const uint8_t **out)
{
    size_t i = skip;
    while (i < n && is_wsp(l[i]))
        i++;
    size_t a = i;
    if (i < n && l[i] == '<') {
        while (i < n && l[i] != '>')
            i++;
        if (i < n)
            i++;
    } else {
        while (i < n && !is_wsp(l[i]))
            i++;
    }
    *out = l + a;
    return i - a;
}

static void cmd_rcpt(struct smtp *s, const uint8_t *l, size_t n)
{
    const uint8_t *a;
    size_t k = path_arg(l, n, 8, &a);
    struct smtp_tx *t = cur(s);
    t->open = true;
    if (t->nrcpt >= s->max_rcpt) {
        if (!t->rcpt_over)
            anomaly(s, SMTP_AN_TOO_MANY_RCPT, APP_TOSERVER);
        t->rcpt_over = true;
        return;
    }
    if (k > F_SMALL - 1)
        k = F_SMALL - 1;
    if (t->rcpt_len + k + 1 > RCPT_POOL)
        return;
    memcpy(t->rcpt + t->rcpt_len, a, k);
    t->rcpt[t->rcpt_len + k] = '\0';
    t->rcpt_len += (uint32_t)k + 1;
    t->nrcpt++;
}

static void cmd_bdat(struct smtp *s, const uint8_t *l, size_t n)
{
    size_t i = 4;
    while (i < n && is_wsp(l[i]))
        i++;
    uint64_t v = 0;
    while (i < n && l[i] >= '0' && l[i] <= '9' && v < (1ull << 40))
        v = v * 10 + (uint64_t)(l[i++] - '0');
    while (i < n && is_wsp(l[i]))
        i++;
    s->bdat_last = starts(l + i, n - i, "LAST");
    s->bdat_left = v;
    msg_start(s);
    s->cmode = CM_BDAT;
    if (v == 0 && s->bdat_last) {
        s->cmode = CM_CMD;
        msg_end(s, true);
    }
}

static size_t arg_trim(const uint8_t *l, size_t n, size_t skip, const uint8_t **out)
{
    size_t i = skip < n ? skip : n;
    while (i < n && is_wsp(l[i]))
        i++;
    size_t e = n;
    while (e > i && is_wsp(l[e - 1]))
        e--;
    *out = l + i;
    return e - i;
}

/* Whether the transaction has an envelope or a message (then HELO, MAIL and RSET end
 * it; a transaction of HELO and other commands only is logged at QUIT or the end). */
static bool has_envelope(const struct smtp_tx *t)
{
    return t->mail_from[0] != '\0' || t->nrcpt > 0 || t->msg != MSG_NONE;
}

static enum cmd command(struct smtp *s, const uint8_t *l, size_t n)
{
    const uint8_t *a;
    size_t k;
    if (starts(l, n, "HELO") || starts(l, n, "EHLO")) {
        k = arg_trim(l, n, 4, &a);
        if (k == 0)
            return CMD_OTHER; /* refused by any server: ends nothing */
        if (has_envelope(cur(s)))
            tx_log(s);
        set_field(cur(s)->helo, sizeof(cur(s)->helo), a, k);
        cur(s)->open = true;
        return CMD_HELO;
    }
    if (starts(l, n, "MAIL FROM:")) {
        if (has_envelope(cur(s)))
            tx_log(s);
        k = path_arg(l, n, 10, &a);
        set_field(cur(s)->mail_from, sizeof(cur(s)->mail_from), a, k);
        cur(s)->open = true;
        return CMD_MAIL;
    }
    if (starts(l, n, "RCPT TO:")) {
        cmd_rcpt(s, l, n);
        return CMD_RCPT;
    }
    if (starts(l, n, "DATA") && arg_trim(l, n, 4, &a) == 0) {
        msg_start(s);
        s->cmode = CM_DATA;
        s->dot = DOT_BOL;
        return CMD_DATA;
    }
    if (starts(l, n, "BDAT ")) {
        cmd_bdat(s, l, n);
        return s->bdat_last ? CMD_BDAT_LAST : CMD_BDAT;
    }
    if (starts(l, n, "RSET")) {
        if (has_envelope(cur(s)))
            tx_log(s);
        return CMD_RSET;
    }
    if (starts(l, n, "QUIT")) {
        tx_log(s);
        return CMD_QUIT;
    }
    cur(s)->open = true;
    if (starts(l, n, "STARTTLS"))
        return CMD_STARTTLS;
    if (starts(l, n, "AUTH ")) {
        k = arg_trim(l, n, 5, &a);
        size_t m = 0;
        while (m < k && !is_wsp(a[m]))
            m++;
        set_field(cur(s)->auth, sizeof(cur(s)->auth), a, m);
        s->auth_active = true;
        return CMD_AUTH;
    }
    return CMD_OTHER;
}

static void client_line(struct smtp *s, const uint8_t *l, size_t n)
{
    while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
        n--;
    if (s->auth_active) {
        q_push(s, CMD_AUTH_DATA); /* credentials: not parsed, not kept */
        return;
    }
    q_push(s, command(s, l, n));
}

static void server_reply(struct smtp *s, const uint8_t *l, size_t n)
{
    if (n < 3 || l[0] < '0' || l[0] > '9' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
        l[2] > '9' || (n > 3 && l[3] != ' ' && l[3] != '-' && l[3] != '\r' && l[3] != '\n')) {
        anomaly(s, SMTP_AN_BAD_REPLY, APP_TOCLIENT);
        return;
    }
    if (n > 3 && l[3] == '-')
        return; /* more lines of this reply follow */
    int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    bool first = !s->replied;
    s->replied = true;
    int c = q_pop(s);
    if (c < 0 && first)
        return; /* the greeting */
    switch (c) {
    case CMD_DATA:
        /* DATA refused before any message byte: the client stays in command mode */
        if (code != 354 && s->cmode == CM_DATA && s->msg_size == 0 && s->dot == DOT_BOL) {
            s->cmode = CM_CMD;
            cur(s)->msg = MSG_NONE;
        }
        break;
    case CMD_DATA_END:
    case CMD_BDAT_LAST:
        fin_log(s); /* the reply completes the transaction (Suricata 8.0.7) */
        break;
    case CMD_STARTTLS:
        if (code == 220)
            s->done = true;
        break;
    case CMD_AUTH:
    case CMD_AUTH_DATA:
        if (code != 334)
            s->auth_active = false;
        break;
    default:
        break;
    }
}

/* Adds bytes to a line buffer; returns the bytes consumed and sets *full when a line
 * (ending in LF, or cut at max_line) is ready in ln->buf[0..ln->len). */
static size_t line_take(struct smtp *s, struct line *ln, const uint8_t *d, size_t n, int dir,
                        bool *full)
{
    *full = false;
    const uint8_t *nl = memchr(d, '\n', n);
    size_t take = nl != NULL ? (size_t)(nl - d) + 1 : n;
    if (ln->skip) {
        if (nl != NULL)
            ln->skip = false;
        return take;
    }
    size_t room = s->max_line - ln->len;
    if (take > room) {
        memcpy(ln->buf + ln->len, d, room);
        ln->len = s->max_line;
        anomaly(s, SMTP_AN_LINE_TOO_LONG, dir);
        ln->skip = true;
        *full = true;
        return room;
    }
    memcpy(ln->buf + ln->len, d, take);
    ln->len += (uint32_t)take;
    *full = nl != NULL;
    return take;
}

/* One byte after a line-start dot (DOT_DOT, DOT_DOTCR): 1 when it ends the message, 0
 * when it was consumed, -1 when it is content to look at again in DOT_MID (the dot is
 * dropped: unstuffing; a lone "\r" after it is content too). */
static int dot_after(struct smtp *s, uint8_t c, bool keep)
{
    if (c == '\n')
        return 1;
    if (s->dot == DOT_DOT && c == '\r') {
        s->dot = DOT_DOTCR;
        return 0;
    }
    if (s->dot == DOT_DOTCR && keep)
        msg_data(s, (const uint8_t *)"\r", 1);
    s->dot = DOT_MID;
    return -1;
}

/* The DATA message: emits unstuffed content, returns the bytes consumed; sets *end when
 * the terminating line "." was consumed. */
static size_t data_scan(struct smtp *s, const uint8_t *d, size_t n, bool keep, bool *end)
{
    size_t i = 0, run = 0;
    *end = false;
    while (i < n) {
        if (s->dot == DOT_BOL) {
            if (d[i] == '.') {
                if (keep)
                    msg_data(s, d + run, i - run);
                s->dot = DOT_DOT;
                run = ++i;
                continue;
            }
            s->dot = DOT_MID;
        }
        if (s->dot == DOT_MID) {
            const uint8_t *nl = memchr(d + i, '\n', n - i);
            if (nl == NULL)
                break; /* the rest is content */
            i = (size_t)(nl - d) + 1;
            s->dot = DOT_BOL;
            continue;
        }
        int r = dot_after(s, d[i], keep);
        if (r == 1) {
            *end = true;
            return i + 1;
        }
        if (r == 0)
            run = ++i;
    }
    if (keep)
        msg_data(s, d + run, n - run);
    return n;
}

static size_t client_data(struct smtp *s, const uint8_t *d, size_t n)
{
    bool end;
    size_t k = data_scan(s, d, n, s->cmode == CM_DATA, &end);
    if (end) {
        if (s->cmode == CM_DATA)
            msg_end(s, true);
        s->cmode = CM_CMD;
        s->dot = DOT_BOL;
        q_push(s, CMD_DATA_END);
    }
    return k;
}

static size_t client_bdat(struct smtp *s, const uint8_t *d, size_t n)
{
    size_t k = n < s->bdat_left ? n : (size_t)s->bdat_left;
    msg_data(s, d, k);
    s->bdat_left -= k;
    if (s->bdat_left == 0) {
        s->cmode = CM_CMD;
        if (s->bdat_last)
            msg_end(s, true);
    }
    return k;
}

static void client_bytes(struct smtp *s, const uint8_t *d, size_t n)
{
    struct line *ln = &s->ln[APP_TOSERVER];
    while (n > 0 && !s->done) {
        size_t k;
        if (s->cmode == CM_DATA || s->cmode == CM_SKIP_DATA) {
            k = client_data(s, d, n);
        } else if (s->cmode == CM_BDAT) {
            k = client_bdat(s, d, n);
        } else {
            bool full;
            k = line_take(s, ln, d, n, APP_TOSERVER, &full);
            if (full) {
                client_line(s, ln->buf, ln->len);
                ln->len = 0;
            }
        }
        d += k;
        n -= k;
    }
}

static void server_bytes(struct smtp *s, const uint8_t *d, size_t n)
{
    struct line *ln = &s->ln[APP_TOCLIENT];
    while (n > 0 && !s->done) {
        bool full;
        size_t k = line_take(s, ln, d, n, APP_TOCLIENT, &full);
        if (full) {
            server_reply(s, ln->buf, ln->len);
            ln->len = 0;
        }
        d += k;
        n -= k;
    }
}

/* ---- the parser table ---- */

static bool prefix_of(const uint8_t *d, size_t n, const char *w, bool *more)
{
    size_t k = strlen(w);
    size_t m = n < k ? n : k;
    for (size_t i = 0; i < m; i++)
        if (up(d[i]) != w[i])
            return false;
    if (n < k)
        *more = true;
    return n >= k;
}

static enum app_probe smtp_probe(const uint8_t *d, size_t n, int dir, uint16_t sport,
                                 uint16_t dport)
{
    (void)sport;
    (void)dport;
    bool more = false;
    if (dir == APP_TOCLIENT) {
        if (prefix_of(d, n, "220 ", &more) || prefix_of(d, n, "220-", &more))
            return APP_PROBE_YES;
    } else {
        if (prefix_of(d, n, "EHLO ", &more) || prefix_of(d, n, "HELO ", &more))
            return APP_PROBE_YES;
    }
    return more ? APP_PROBE_MORE : APP_PROBE_NO;
}

bool smtp_upgraded(const void *st)
{
    return ((const struct smtp *)st)->done;
}

static void smtp_state_free(void *st)
{
    struct smtp *s = st;
    if (s == NULL)
        return;
    mime_free(&s->mime);
    file_release(&s->file);
    xfree(s->ln[0].buf);
    xfree(s->ln[1].buf);
    xfree(s);
}

static void *smtp_state_new(const struct sensor_conf *c)
{
    struct smtp *s = xcalloc(MEM_APP, 1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->max_line = c != NULL ? (uint32_t)c->smtp_max_line : 4096;
    s->max_rcpt = c != NULL ? (uint32_t)c->smtp_max_rcpt : 64;
    s->max_message = c != NULL ? c->smtp_max_message : 32u << 20;
    s->decode_files = c != NULL ? c->smtp_decode_attachments : true;
    s->url_extract = c != NULL ? c->smtp_extract_urls : true;
    s->url_log_scheme = c != NULL && c->smtp_log_url_scheme;
    url_schemes(s, c != NULL ? c->smtp_url_schemes : "http");
    if (s->max_line < 256)
        s->max_line = 256;
    uint32_t depth = c != NULL ? (uint32_t)c->smtp_mime_max_depth : 8;
    uint32_t parts = c != NULL ? (uint32_t)c->smtp_mime_max_parts : 100;
    struct mime_cb cb = {
        .header = on_header,
        .part_begin = on_part_begin,
        .part_data = on_part_data,
        .part_end = on_part_end,
        .anomaly = on_mime_anomaly,
        .ud = s,
    };
    s->ln[0].buf = xalloc(MEM_APP, s->max_line);
    s->ln[1].buf = xalloc(MEM_APP, s->max_line);
    if (s->ln[0].buf == NULL || s->ln[1].buf == NULL ||
        mime_init(&s->mime, &cb, s->max_line, depth, parts) != 0) {
        smtp_state_free(s);
        return NULL;
    }
    return s;
}

static void smtp_data(void *st, struct app_sink *sink, int dir, const uint8_t *d, size_t n)
{
    struct smtp *s = st;
    s->sink = sink;
    if (dir == APP_TOSERVER)
        client_bytes(s, d, n);
    else
        server_bytes(s, d, n);
    s->sink = NULL;
}

static void smtp_gap(void *st, struct app_sink *sink, int dir, uint64_t len)
{
    struct smtp *s = st;
    s->sink = sink;
    if (!s->done) {
        anomaly(s, SMTP_AN_GAP, dir);
        struct line *ln = &s->ln[dir == APP_TOSERVER ? 0 : 1];
        ln->len = 0;
        ln->skip = true;
        if (dir == APP_TOCLIENT) {
            s->qlen = 0;
            fin_log(s); /* its reply may have been lost */
        } else if (s->cmode == CM_DATA) {
            if (s->file_open)
                file_gap(&s->file, len);
            msg_end(s, false);
            s->cmode = CM_SKIP_DATA;
            s->dot = DOT_MID;
            ln->skip = false;
        } else if (s->cmode == CM_BDAT) {
            if (s->file_open)
                file_gap(&s->file, len);
            msg_end(s, false);
            s->bdat_left = len < s->bdat_left ? s->bdat_left - len : 0;
            s->msg_capped = true; /* the rest of the chunk is dropped */
            cur(s)->msg = MSG_NONE;
            if (s->bdat_left == 0)
                s->cmode = CM_CMD;
            ln->skip = false;
        }
    }
    s->sink = NULL;
}

static void smtp_end(void *st, struct app_sink *sink)
{
    struct smtp *s = st;
    s->sink = sink;
    if (!s->done && (s->cmode == CM_DATA || s->cmode == CM_BDAT))
        msg_end(s, false);
    fin_log(s); /* no reply came */
    tx_log(s);  /* also after STARTTLS: the transaction of the commands before it */
    file_flush(s);
    s->sink = NULL;
}

const struct app_parser smtp_parser = {
    .name = "smtp",
    .nkinds = SMTP_AN_COUNT,
    .kind_name = smtp_kind_name,
    .probe = smtp_probe,
    .state_new = smtp_state_new,
    .state_free = smtp_state_free,
    .data = smtp_data,
    .gap = smtp_gap,
    .end = smtp_end,
};
