/*
 * TLS stream parser: record layer, handshake message assembly, per-flow state and the
 * EVE `tls` event (see tls.h for the policy, tls_hello.c and tls_cert.c for the
 * messages).
 *
 * Each direction is a small state machine fed any split of the stream: the 5-byte
 * record header is collected in rh[], then the record's body is walked; the bodies
 * of handshake records in clear form one byte stream in which each message's 4-byte
 * header is collected in hh[] and its body in msg (exactly its length, only for the
 * messages we decode, only up to max_msg). Records after ChangeCipherSpec or
 * application data are counted, not decoded. Invariants: rh_have <= 5, hh_have <= 4,
 * msg_have <= msg_need <= max_msg, msg is NULL unless a message is being buffered.
 */
#include "app/tls.h"

#include <stdio.h>
#include <string.h>

#include "app/tls_int.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

#define REC_CCS       20
#define REC_ALERT     21
#define REC_HANDSHAKE 22
#define REC_APPDATA   23
#define REC_HEARTBEAT 24

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_CERTIFICATE  11
#define HS_SERVER_DONE  14

#define TLS_DEFAULT_MAX_MSG   (64 * 1024)
#define TLS_DEFAULT_MAX_CERTS 8

struct tls_dir {
    uint8_t rh[5];
    uint8_t rh_have;
    uint8_t hh[4];
    uint8_t hh_have;
    uint32_t rec_left; /* body bytes of the current record still to come */
    uint8_t *msg;      /* the handshake message being buffered (MEM_APP) */
    uint32_t msg_need;
    uint32_t msg_have;
    bool msg_skip;  /* the current message is walked over, not kept */
    bool encrypted; /* ChangeCipherSpec or application data seen */
    bool stopped;   /* not parsed any more (gap, bad record header) */
    uint64_t records;
    uint64_t enc_records;
};

struct tls_state {
    struct tls_dir d[2];
    uint32_t max_msg;
    int max_certs;
    bool ja3, ja4, handshake;
    bool has_ch, has_sh, has_cert, logged;
    struct tls_client_hello ch;
    struct tls_server_hello sh;
    struct tls_cert cert;
    char from_proto[16]; /* "" unless the stream was handed over (tls_set_from_proto) */
};

static const char *const an_names[TLS_AN_COUNT] = {
    [TLS_AN_RECORD_TOO_LONG] = "record_too_long",
    [TLS_AN_INVALID_RECORD_TYPE] = "invalid_record_type",
    [TLS_AN_INVALID_VERSION] = "invalid_version",
    [TLS_AN_BAD_HANDSHAKE] = "bad_handshake",
    [TLS_AN_HANDSHAKE_TOO_LONG] = "handshake_too_long",
    [TLS_AN_BAD_EXTENSION] = "bad_extension",
    [TLS_AN_BAD_CERTIFICATE] = "bad_certificate",
    [TLS_AN_TOO_MANY_VALUES] = "too_many_values",
    [TLS_AN_GAP] = "gap",
    [TLS_AN_NOMEM] = "nomem",
};

const char *tls_anomaly_name(int kind)
{
    if (kind < 0 || kind >= TLS_AN_COUNT)
        return "unknown";
    return an_names[kind];
}

const char *tls_version_name(uint16_t v, char *buf, size_t n)
{
    const char *s = NULL;
    switch (v) {
    case 0x0002:
        s = "SSLv2";
        break;
    case 0x0300:
        s = "SSLv3";
        break;
    case 0x0301:
        s = "TLSv1";
        break;
    case 0x0302:
        s = "TLS 1.1";
        break;
    case 0x0303:
        s = "TLS 1.2";
        break;
    case 0x0304:
        s = "TLS 1.3";
        break;
    case 0xfb14:
        s = "TLS 1.3 draft-20-fb";
        break;
    case 0xfb17:
        s = "TLS 1.3 draft-23-fb";
        break;
    case 0xfb1a:
        s = "TLS 1.3 draft-26-fb";
        break;
    default:
        break;
    }
    if (s != NULL)
        snprintf(buf, n, "%s", s);
    else if (v >= 0x7f10 && v <= 0x7f1c)
        snprintf(buf, n, "TLS 1.3 draft-%u", v & 0xffu);
    else if (v >= 0x7f00 && v < 0x7f10)
        snprintf(buf, n, "TLS 1.3 draft-<16");
    else
        snprintf(buf, n, "UNDETERMINED");
    return buf;
}

static void report(struct app_sink *s, uint32_t an, int dir)
{
    for (int k = 0; k < TLS_AN_COUNT; k++)
        if (an & (1u << k))
            s->anomaly(s, k, dir);
}

/* ---- the event ---- */

static void write_serial(struct jw *w, const struct tls_cert *c)
{
    char b[TLS_SERIAL_MAX * 3 + 1];
    size_t n = 0;
    for (size_t i = 0; i < c->serial_len; i++)
        n += (size_t)snprintf(b + n, sizeof(b) - n, "%s%02X", i ? ":" : "", c->serial[i]);
    jw_strn(w, "serial", b, n);
}

static void write_cert_names(struct jw *w, const struct tls_cert *c)
{
    if (c->subject_len > 0)
        jw_strn(w, "subject", c->subject, c->subject_len);
    if (c->issuer_len > 0)
        jw_strn(w, "issuerdn", c->issuer, c->issuer_len);
}

static bool session_resumed(const struct tls_state *t)
{
    const struct tls_server_hello *sh = &t->sh;
    return t->has_ch && t->has_sh && !t->has_cert && sh->selected == 0 && sh->sid_len > 0 &&
           sh->sid_len == t->ch.sid_len && memcmp(sh->sid, t->ch.sid, sh->sid_len) == 0;
}

/* JA3, JA3S, JA4; the inventory's (the client's JA3 and JA4) noted into s (app_note). */
static void write_fingerprints(struct jw *w, struct app_sink *s, const struct tls_state *t)
{
    if (t->ja3 && t->has_ch) {
        jw_obj_open(w, "ja3");
        jw_hex(w, "hash", t->ch.ja3_md5, sizeof(t->ch.ja3_md5), '\0');
        app_note(s, "tls.ja3.hash");
        jw_strn(w, "string", t->ch.ja3, t->ch.ja3_len);
        jw_obj_close(w);
    }
    if (t->ja3 && t->has_sh && t->sh.ja3s_len > 0) { /* 0: the hello was cut short */
        jw_obj_open(w, "ja3s");
        jw_hex(w, "hash", t->sh.ja3s_md5, sizeof(t->sh.ja3s_md5), '\0');
        jw_strn(w, "string", t->sh.ja3s, t->sh.ja3s_len);
        jw_obj_close(w);
    }
    if (t->ja4 && t->has_ch && t->ch.ja4[0] != '\0') {
        jw_str(w, "ja4", t->ch.ja4);
        app_note(s, "tls.ja4");
    }
}

static void write_lists(struct jw *w, const struct tls_state *t)
{
    if (t->has_ch && t->ch.nalpn > 0) {
        jw_arr_open(w, "client_alpns");
        for (int i = 0; i < t->ch.nalpn; i++)
            jw_strn(w, NULL, t->ch.alpn_pool + t->ch.alpn_off[i], t->ch.alpn_len[i]);
        jw_arr_close(w);
    }
    if (t->has_sh && t->sh.alpn_len > 0) {
        jw_arr_open(w, "server_alpns");
        jw_strn(w, NULL, t->sh.alpn, t->sh.alpn_len);
        jw_arr_close(w);
    }
    if (t->has_cert && t->cert.nsan > 0) {
        jw_arr_open(w, "subjectaltname");
        for (int i = 0; i < t->cert.nsan; i++)
            jw_strn(w, NULL, t->cert.san_pool + t->cert.san_off[i], t->cert.san_len[i]);
        jw_arr_close(w);
    }
}

static void write_u16s(struct jw *w, const char *name, const uint16_t *v, size_t n)
{
    jw_arr_open(w, name);
    for (size_t i = 0; i < n; i++)
        jw_u64(w, NULL, v[i]);
    jw_arr_close(w);
}

/* Suricata 8's tls.client_handshake (custom: [client_handshake]). */
static void write_client_handshake(struct jw *w, const struct tls_state *t)
{
    if (!t->handshake || !t->has_ch)
        return;
    const struct tls_hs_lists *h = &t->ch.hs;
    char vb[32];
    jw_obj_open(w, "client_handshake");
    jw_str(w, "version", tls_version_name(h->version, vb, sizeof(vb)));
    write_u16s(w, "ciphers", h->ciphers, h->nciphers);
    write_u16s(w, "exts", h->exts, h->nexts);
    write_u16s(w, "sig_algs", h->sigalgs, h->nsigalgs);
    jw_obj_close(w);
}

/* The "tls" object, in Suricata's field order (output-json-tls.c). */
static void write_tls(struct jw *w, struct app_sink *s, const struct tls_state *t)
{
    const struct tls_cert *c = &t->cert;
    jw_obj_open(w, "tls");
    if (t->has_cert)
        write_cert_names(w, c);
    if (session_resumed(t))
        jw_bool(w, "session_resumed", true);
    if (t->has_cert) {
        write_serial(w, c);
        jw_hex(w, "fingerprint", c->sha1, sizeof(c->sha1), ':');
    }
    if (t->has_ch && t->ch.sni_len > 0)
        jw_strn(w, "sni", t->ch.sni, t->ch.sni_len);
    char vb[32];
    /* the server's choice; the client's legacy_version when no ServerHello was seen */
    uint16_t v = t->has_ch ? t->ch.version : 0;
    if (t->has_sh && t->sh.selected != 0)
        v = t->sh.selected; /* also a HelloRetryRequest's choice */
    else if (t->has_sh && !t->sh.hrr)
        v = t->sh.version;
    jw_str(w, "version", tls_version_name(v, vb, sizeof(vb)));
    if (t->has_cert && c->notbefore[0] != '\0')
        jw_str(w, "notbefore", c->notbefore);
    if (t->has_cert && c->notafter[0] != '\0')
        jw_str(w, "notafter", c->notafter);
    write_fingerprints(w, s, t);
    write_lists(w, t);
    write_client_handshake(w, t);
    if (t->from_proto[0] != '\0')
        jw_str(w, "from_proto", t->from_proto);
    jw_obj_close(w);
}

/* Writes the flow's event once. */
static void log_tls(struct tls_state *t, struct app_sink *s)
{
    if (t->logged || (!t->has_ch && !t->has_sh))
        return;
    t->logged = true;
    struct jw *w = s->event_begin(s, "tls", APP_TOSERVER);
    if (w == NULL)
        return;
    write_tls(w, s, t);
    s->event_end(s);
}

/* ---- handshake messages ---- */

static bool server_is_tls13(const struct tls_state *t)
{
    uint16_t v = t->sh.selected ? t->sh.selected : t->sh.version;
    return t->has_sh && !t->sh.hrr &&
           (v == 0x0304 || (v >= 0x7f00 && v <= 0x7fff) || (v & 0xff00) == 0xfb00);
}

/* Whether the message of this type in this direction is decoded (and so buffered). */
static bool msg_wanted(const struct tls_state *t, int dir, uint8_t type)
{
    if (dir == APP_TOSERVER)
        return type == HS_CLIENT_HELLO && !t->has_ch;
    if (type == HS_SERVER_HELLO)
        return !t->has_sh || t->sh.hrr;
    return type == HS_CERTIFICATE && !t->has_cert && !server_is_tls13(t);
}

static void msg_server_hello(struct tls_state *t, struct app_sink *s, const uint8_t *b, size_t n)
{
    report(s, tls_parse_server_hello(b, n, &t->sh, t->ja3), APP_TOCLIENT);
    t->has_sh = true;
    if (server_is_tls13(t)) { /* all that follows from the server is encrypted */
        t->d[APP_TOCLIENT].encrypted = true;
        log_tls(t, s);
    }
}

static void msg_certificate(struct tls_state *t, struct app_sink *s, const uint8_t *b, size_t n)
{
    bool ok;
    report(s, tls_parse_certificate(b, n, t->max_certs, &t->cert, &ok), APP_TOCLIENT);
    t->has_cert = ok;
    log_tls(t, s);
}

/* A whole message (b is NULL when it was skipped). */
static void msg_done(struct tls_state *t, struct app_sink *s, int dir, uint8_t type,
                     const uint8_t *b, size_t n)
{
    if (dir == APP_TOCLIENT && type == HS_SERVER_DONE) {
        log_tls(t, s);
        return;
    }
    if (b == NULL)
        return;
    if (type == HS_CLIENT_HELLO) {
        report(s, tls_parse_client_hello(b, n, &t->ch, t->ja3, t->ja4), APP_TOSERVER);
        t->has_ch = true;
    } else if (type == HS_SERVER_HELLO) {
        msg_server_hello(t, s, b, n);
    } else if (type == HS_CERTIFICATE) {
        msg_certificate(t, s, b, n);
    }
}

static void msg_reset(struct tls_dir *d)
{
    xfree(d->msg);
    d->msg = NULL;
    d->msg_need = d->msg_have = 0;
    d->msg_skip = false;
    d->hh_have = 0;
}

/* The 4-byte message header is complete: decide whether to buffer the body. */
static void msg_begin(struct tls_state *t, struct app_sink *s, int dir)
{
    struct tls_dir *d = &t->d[dir];
    uint32_t len = (uint32_t)d->hh[1] << 16 | (uint32_t)d->hh[2] << 8 | d->hh[3];
    d->msg_need = len;
    d->msg_have = 0;
    d->msg_skip = true;
    if (!msg_wanted(t, dir, d->hh[0]) || len == 0)
        return;
    if (len > t->max_msg) {
        s->anomaly(s, TLS_AN_HANDSHAKE_TOO_LONG, dir);
        return;
    }
    d->msg = xalloc(MEM_APP, len);
    if (d->msg == NULL) {
        s->anomaly(s, TLS_AN_NOMEM, dir);
        return;
    }
    d->msg_skip = false;
}

static void msg_end(struct tls_state *t, struct app_sink *s, int dir)
{
    struct tls_dir *d = &t->d[dir];
    uint8_t type = d->hh[0];
    const uint8_t *b = d->msg_skip ? NULL : d->msg;
    if (d->msg_need == 0 && msg_wanted(t, dir, type))
        b = (const uint8_t *)""; /* an empty message still counts as seen */
    msg_done(t, s, dir, type, b, d->msg_need);
    msg_reset(d);
}

/* n bytes of handshake records in clear. */
static void hs_feed(struct tls_state *t, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct tls_dir *d = &t->d[dir];
    while (n > 0 && !d->encrypted && !d->stopped) {
        if (d->hh_have < 4) {
            size_t k = 4u - d->hh_have < n ? 4u - d->hh_have : n;
            memcpy(d->hh + d->hh_have, p, k);
            d->hh_have = (uint8_t)(d->hh_have + k);
            p += k;
            n -= k;
            if (d->hh_have == 4)
                msg_begin(t, s, dir);
        } else {
            size_t k = d->msg_need - d->msg_have < n ? d->msg_need - d->msg_have : n;
            if (!d->msg_skip)
                memcpy(d->msg + d->msg_have, p, k);
            d->msg_have += (uint32_t)k;
            p += k;
            n -= k;
        }
        if (d->hh_have == 4 && d->msg_have == d->msg_need)
            msg_end(t, s, dir);
    }
}

/* ---- records ---- */

static void dir_stop(struct tls_dir *d)
{
    d->stopped = true;
    msg_reset(d);
}

static void went_encrypted(struct tls_state *t, struct app_sink *s, int dir)
{
    struct tls_dir *d = &t->d[dir];
    if (d->encrypted)
        return;
    d->encrypted = true;
    msg_reset(d);
    if (dir == APP_TOCLIENT && t->has_sh)
        log_tls(t, s); /* resumption: the server's handshake is over */
}

/* TLS 1.3 (RFC 8446 D.4, and drafts from 22 on): a ChangeCipherSpec after a
 * HelloRetryRequest or a TLS 1.3 ServerHello is for middleboxes only; the second
 * ClientHello / ServerHello after it are still in clear. */
static bool tls13_compat_ccs(const struct tls_state *t)
{
    return t->has_sh && (t->sh.hrr || server_is_tls13(t));
}

/* The 5-byte record header is complete. */
static void record_begin(struct tls_state *t, struct app_sink *s, int dir)
{
    struct tls_dir *d = &t->d[dir];
    uint8_t type = d->rh[0];
    uint32_t len = (uint32_t)d->rh[3] << 8 | d->rh[4];
    int an = -1;
    if (type < REC_CCS || type > REC_HEARTBEAT)
        an = TLS_AN_INVALID_RECORD_TYPE;
    else if (d->rh[1] != 3)
        an = TLS_AN_INVALID_VERSION;
    else if (len > TLS_MAX_RECORD)
        an = TLS_AN_RECORD_TOO_LONG;
    if (an >= 0) {
        s->anomaly(s, an, dir);
        dir_stop(d);
        return;
    }
    d->records++;
    d->rec_left = len;
    if (d->encrypted)
        d->enc_records++;
    else if (type == REC_APPDATA || (type == REC_CCS && !tls13_compat_ccs(t)))
        went_encrypted(t, s, dir);
}

static void tls_data(void *st, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct tls_state *t = st;
    struct tls_dir *d = &t->d[dir & 1];
    dir &= 1;
    while (n > 0 && !d->stopped) {
        if (d->rh_have < 5) {
            size_t k = 5u - d->rh_have < n ? 5u - d->rh_have : n;
            memcpy(d->rh + d->rh_have, p, k);
            d->rh_have = (uint8_t)(d->rh_have + k);
            p += k;
            n -= k;
            if (d->rh_have == 5)
                record_begin(t, s, dir);
        } else {
            size_t k = d->rec_left < n ? d->rec_left : n;
            if (d->rh[0] == REC_HANDSHAKE && !d->encrypted)
                hs_feed(t, s, dir, p, k);
            d->rec_left -= (uint32_t)k;
            p += k;
            n -= k;
        }
        if (d->rh_have == 5 && d->rec_left == 0)
            d->rh_have = 0;
    }
}

static void tls_gap(void *st, struct app_sink *s, int dir, uint64_t len)
{
    struct tls_state *t = st;
    (void)len;
    if (t->d[0].stopped && t->d[1].stopped)
        return;
    s->anomaly(s, TLS_AN_GAP, dir & 1);
    dir_stop(&t->d[0]);
    dir_stop(&t->d[1]);
}

static void tls_end(void *st, struct app_sink *s)
{
    log_tls(st, s);
}

static void *tls_state_new(const struct sensor_conf *c)
{
    struct tls_state *t = xcalloc(MEM_APP, 1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->max_msg = TLS_DEFAULT_MAX_MSG;
    t->max_certs = TLS_DEFAULT_MAX_CERTS;
    t->ja3 = t->ja4 = true;
    if (c != NULL) {
        t->max_msg = c->tls_max_handshake < 0xffffff ? (uint32_t)c->tls_max_handshake : 0xffffff;
        t->max_certs = (int)c->tls_max_certificates;
        t->ja3 = c->tls_ja3;
        t->ja4 = c->tls_ja4;
        t->handshake = c->tls_handshake;
    }
    return t;
}

void tls_set_from_proto(void *st, const char *proto)
{
    struct tls_state *t = st;
    snprintf(t->from_proto, sizeof(t->from_proto), "%s", proto != NULL ? proto : "");
}

static void tls_state_free(void *st)
{
    struct tls_state *t = st;
    if (t == NULL)
        return;
    xfree(t->d[0].msg);
    xfree(t->d[1].msg);
    xfree(t);
}

/* A handshake record (0x16), version 3.0-3.4, a plausible length, and a ClientHello
 * to the server or a ServerHello to the client. SSLv2-compatible hellos are not
 * taken. */
static enum app_probe tls_probe(const uint8_t *d, size_t n, int dir, uint16_t sport, uint16_t dport)
{
    (void)sport;
    (void)dport;
    if (n >= 1 && d[0] != REC_HANDSHAKE)
        return APP_PROBE_NO;
    if (n >= 2 && d[1] != 3)
        return APP_PROBE_NO;
    if (n >= 3 && d[2] > 4)
        return APP_PROBE_NO;
    if (n >= 5) {
        uint32_t len = (uint32_t)d[3] << 8 | d[4];
        if (len < 4 || len > TLS_MAX_RECORD)
            return APP_PROBE_NO;
    }
    if (n < 6)
        return APP_PROBE_MORE;
    return d[5] == (dir == APP_TOSERVER ? HS_CLIENT_HELLO : HS_SERVER_HELLO) ? APP_PROBE_YES
                                                                             : APP_PROBE_NO;
}

const struct app_parser tls_parser = {
    .name = "tls",
    .nkinds = TLS_AN_COUNT,
    .kind_name = tls_anomaly_name,
    .probe = tls_probe,
    .state_new = tls_state_new,
    .state_free = tls_state_free,
    .data = tls_data,
    .gap = tls_gap,
    .end = tls_end,
    .udp_match = NULL,
    .datagram = NULL,
    .notes = true,
};
