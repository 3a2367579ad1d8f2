/*
 * SSH banner parser and EVE `ssh` writer (see ssh.h).
 *
 * Invariants: per direction at most max_banner bytes of the current line are kept, in
 * a buffer allocated once with the state (MEM_APP); a side goes LINE -> KEX (banner
 * known, its KEXINIT packet is collected: the 5-byte header in hdr[], then the rest,
 * at most SSH_MAX_KEXINIT bytes, in pkt from MEM_APP) -> OVER, or LINE -> OVER, and
 * never back, so after both sides are over every byte is ignored in O(1). pkt is
 * freed as soon as the packet is decoded; what stays is the HASSH text (MEM_APP,
 * shorter than the packet). The event is written once.
 */
#include "app/ssh.h"

#include <nettle/md5.h>
#include <stdbool.h>
#include <string.h>

#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

enum side_state { SIDE_LINE = 0, SIDE_KEX, SIDE_OVER };

#define MSG_KEXINIT 20

struct ssh_side {
    uint8_t st;   /* enum side_state */
    bool banner;  /* the banner is known (proto/sw/cm below are valid) */
    bool skip;    /* a cut line: discard up to its LF */
    uint8_t hdr[5]; /* packet_length, padding_length of the first binary packet */
    uint8_t hdr_have;
    uint32_t need, have; /* bytes of the packet after hdr: wanted, collected */
    uint8_t *pkt;        /* MEM_APP, need bytes, while collecting */
    char *hassh;         /* MEM_APP, hassh_len bytes, once decoded */
    size_t hassh_len;
    uint8_t hassh_md5[16];
    uint16_t pre; /* lines before the banner */
    size_t len;   /* bytes of the current line in buf */
    /* the banner, as offsets into buf once DONE */
    size_t proto_len, sw_off, sw_len, cm_off, cm_len;
    uint8_t *buf; /* max bytes, inside the state's block */
};

struct ssh_state {
    struct ssh_side side[2];
    size_t max;
    bool hassh; /* app.ssh.hassh */
    bool logged;
    /* followed by 2 * max bytes of line buffers */
};

const char *ssh_anomaly_name(int kind)
{
    static const char *const names[SSH_AN_COUNT] = {
        "banner_too_long", "bad_banner", "no_banner", "gap", "kexinit_too_long", "bad_kexinit"};
    return kind >= 0 && kind < SSH_AN_COUNT ? names[kind] : "unknown";
}

static enum app_probe ssh_probe(const uint8_t *d, size_t n, int dir, uint16_t sport,
                                uint16_t dport)
{
    (void)dir;
    (void)sport;
    (void)dport;
    size_t k = n < 4 ? n : 4;
    if (memcmp(d, "SSH-", k) != 0)
        return APP_PROBE_NO;
    return n < 4 ? APP_PROBE_MORE : APP_PROBE_YES;
}

static void *ssh_state_new(const struct sensor_conf *c)
{
    size_t max = SSH_DEF_BANNER;
    if (c != NULL && c->ssh_max_banner >= 8 && c->ssh_max_banner <= SSH_MAX_BANNER)
        max = (size_t)c->ssh_max_banner;
    struct ssh_state *st = xcalloc(MEM_APP, 1, sizeof(*st) + 2 * max);
    if (st == NULL)
        return NULL;
    st->max = max;
    st->hassh = c == NULL || c->ssh_hassh;
    st->side[0].buf = (uint8_t *)(st + 1);
    st->side[1].buf = (uint8_t *)(st + 1) + max;
    return st;
}

static void ssh_state_free(void *vst)
{
    struct ssh_state *st = vst;
    if (st == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        xfree(st->side[i].pkt);
        xfree(st->side[i].hassh);
    }
    xfree(st);
}

static void put_side(struct jw *w, const char *key, const struct ssh_side *sd)
{
    if (!sd->banner)
        return;
    jw_obj_open(w, key);
    jw_strn(w, "proto_version", (const char *)sd->buf + 4, sd->proto_len);
    jw_strn(w, "software_version", (const char *)sd->buf + sd->sw_off, sd->sw_len);
    if (sd->cm_len > 0)
        jw_strn(w, "comments", (const char *)sd->buf + sd->cm_off, sd->cm_len);
    if (sd->hassh != NULL) {
        jw_obj_open(w, "hassh");
        jw_hex(w, "hash", sd->hassh_md5, sizeof(sd->hassh_md5), '\0');
        jw_strn(w, "string", sd->hassh, sd->hassh_len);
        jw_obj_close(w);
    }
    jw_obj_close(w);
}

/* Writes the event once, when `final` or when both sides are over, if a banner is
 * known. */
static void maybe_log(struct ssh_state *st, struct app_sink *s, bool final)
{
    const struct ssh_side *c = &st->side[APP_TOSERVER], *v = &st->side[APP_TOCLIENT];
    if (st->logged || (!final && (c->st != SIDE_OVER || v->st != SIDE_OVER)))
        return;
    if (!c->banner && !v->banner)
        return;
    st->logged = true;
    struct jw *w = s->event_begin(s, "ssh", APP_TOSERVER);
    if (w == NULL)
        return;
    jw_obj_open(w, "ssh");
    put_side(w, "client", c);
    put_side(w, "server", v);
    jw_obj_close(w);
    s->event_end(s);
}

/* Splits the banner "SSH-proto-software comments" in sd->buf[0..len). */
static bool split_banner(struct ssh_side *sd)
{
    const uint8_t *b = sd->buf;
    const uint8_t *dash = memchr(b + 4, '-', sd->len - 4);
    if (dash == NULL || dash == b + 4)
        return false;
    sd->proto_len = (size_t)(dash - b) - 4;
    sd->sw_off = (size_t)(dash - b) + 1;
    const uint8_t *sp = memchr(b + sd->sw_off, ' ', sd->len - sd->sw_off);
    sd->sw_len = sp ? (size_t)(sp - b) - sd->sw_off : sd->len - sd->sw_off;
    sd->cm_off = sp ? (size_t)(sp - b) + 1 : sd->len;
    sd->cm_len = sd->len - sd->cm_off;
    return true;
}

/* SSH 1.x (but not 1.99, RFC 4253 5.1) has no KEXINIT. */
static bool has_kexinit(const struct ssh_side *sd)
{
    const uint8_t *pv = sd->buf + 4;
    return !(sd->proto_len >= 2 && pv[0] == '1' && pv[1] == '.' &&
             !(sd->proto_len == 4 && memcmp(pv, "1.99", 4) == 0));
}

/* A complete (or cut) line of direction dir is in sd->buf[0..len). */
static void on_line(struct ssh_state *st, struct ssh_side *sd, struct app_sink *s, int dir)
{
    const uint8_t *nul = memchr(sd->buf, '\0', sd->len); /* as tshark: NUL ends the text */
    if (nul != NULL)
        sd->len = (size_t)(nul - sd->buf);
    if (sd->len > 0 && sd->buf[sd->len - 1] == '\r')
        sd->len--;
    if (sd->len >= 4 && memcmp(sd->buf, "SSH-", 4) == 0) {
        if (split_banner(sd)) {
            sd->banner = true;
            sd->st = st->hassh && has_kexinit(sd) ? SIDE_KEX : SIDE_OVER;
        } else {
            s->anomaly(s, SSH_AN_BAD_BANNER, dir);
            sd->st = SIDE_OVER;
        }
        return;
    }
    if (dir == APP_TOSERVER || ++sd->pre > SSH_MAX_PRE_LINES) {
        s->anomaly(s, SSH_AN_NO_BANNER, dir);
        sd->st = SIDE_OVER;
    }
    sd->len = 0;
}

/* ---- the KEXINIT packet (RFC 4253 6 and 7.1) ---- */

struct nl_rd {
    const uint8_t *p;
    size_t n;
};

/* The next name-list: its text in *s, *len; false when it runs past the end. */
static bool name_list(struct nl_rd *r, const uint8_t **s, size_t *len)
{
    if (r->n < 4)
        return false;
    uint32_t k = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
                 r->p[3];
    if (k > r->n - 4)
        return false;
    *s = r->p + 4;
    *len = k;
    r->p += 4 + (size_t)k;
    r->n -= 4 + (size_t)k;
    return true;
}

/* Decodes the collected packet (pkt: padding_length's packet minus its first byte)
 * and computes HASSH (client: lists 0,2,4,6) or HASSHServer (server: 0,3,5,7). */
static bool kexinit_decode(struct ssh_side *sd, int dir)
{
    uint8_t pad = sd->hdr[4];
    if (pad > sd->need || sd->need - pad < 17 ||
        sd->pkt[0] != MSG_KEXINIT)
        return false;
    struct nl_rd r = {sd->pkt + 17, (size_t)sd->need - pad - 17};
    const uint8_t *ls[8];
    size_t ll[8];
    for (int i = 0; i < 8; i++)
        if (!name_list(&r, &ls[i], &ll[i]))
            return false;
    const int pick[2][4] = {{0, 2, 4, 6}, {0, 3, 5, 7}};
    const int *k = pick[dir ? 1 : 0];
    size_t total = ll[k[0]] + ll[k[1]] + ll[k[2]] + ll[k[3]] + 3;
    char *h = xalloc(MEM_APP, total);
    if (h == NULL)
        return false;
    size_t o = 0;
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            h[o++] = ';';
        memcpy(h + o, ls[k[i]], ll[k[i]]);
        o += ll[k[i]];
    }
    struct md5_ctx m;
    md5_init(&m);
    md5_update(&m, o, (const uint8_t *)h);
    md5_digest(&m, MD5_DIGEST_SIZE, sd->hassh_md5);
    sd->hassh = h;
    sd->hassh_len = o;
    return true;
}

static void kex_over(struct ssh_side *sd)
{
    xfree(sd->pkt);
    sd->pkt = NULL;
    sd->st = SIDE_OVER;
}

/* The 5-byte header is in: check the length, allocate the packet. */
static void kex_begin(struct ssh_side *sd, struct app_sink *s, int dir)
{
    uint32_t len = (uint32_t)sd->hdr[0] << 24 | (uint32_t)sd->hdr[1] << 16 |
                   (uint32_t)sd->hdr[2] << 8 | sd->hdr[3];
    if (len < 2 || len > SSH_MAX_KEXINIT) {
        s->anomaly(s, len < 2 || len > 35000 ? SSH_AN_BAD_KEXINIT : SSH_AN_KEXINIT_TOO_LONG,
                   dir);
        kex_over(sd);
        return;
    }
    sd->need = len - 1;
    sd->have = 0;
    sd->pkt = xalloc(MEM_APP, sd->need);
    if (sd->pkt == NULL)
        kex_over(sd);
}

/* Up to n bytes of the first binary packet; returns how many were used. */
static size_t kex_feed(struct ssh_side *sd, struct app_sink *s, int dir, const uint8_t *d,
                       size_t n)
{
    if (sd->hdr_have < 5) {
        size_t k = 5u - sd->hdr_have < n ? 5u - sd->hdr_have : n;
        memcpy(sd->hdr + sd->hdr_have, d, k);
        sd->hdr_have = (uint8_t)(sd->hdr_have + k);
        if (sd->hdr_have == 5)
            kex_begin(sd, s, dir);
        return k;
    }
    size_t k = sd->need - sd->have < n ? sd->need - sd->have : n;
    memcpy(sd->pkt + sd->have, d, k);
    sd->have += (uint32_t)k;
    if (sd->have == sd->need) {
        if (!kexinit_decode(sd, dir))
            s->anomaly(s, SSH_AN_BAD_KEXINIT, dir);
        kex_over(sd);
    }
    return k;
}

static void ssh_data(void *vst, struct app_sink *s, int dir, const uint8_t *d, size_t n)
{
    struct ssh_state *st = vst;
    struct ssh_side *sd = &st->side[dir ? 1 : 0];
    while (n > 0 && sd->st == SIDE_KEX) { /* after a cut banner: the rest of its line */
        if (sd->skip) {
            const uint8_t *nl = memchr(d, '\n', n);
            size_t used = nl ? (size_t)(nl - d) + 1 : n;
            sd->skip = nl == NULL;
            d += used;
            n -= used;
            continue;
        }
        size_t used = kex_feed(sd, s, dir, d, n);
        d += used;
        n -= used;
    }
    while (n > 0 && sd->st == SIDE_LINE) {
        const uint8_t *nl = memchr(d, '\n', n);
        size_t k = nl ? (size_t)(nl - d) : n; /* bytes of this line here, LF excluded */
        size_t used = nl ? k + 1 : k;
        if (sd->skip) {
            sd->skip = nl == NULL;
        } else if (sd->len + k > st->max) {
            memcpy(sd->buf + sd->len, d, st->max - sd->len);
            sd->len = st->max;
            s->anomaly(s, SSH_AN_BANNER_TOO_LONG, dir);
            sd->skip = nl == NULL;
            on_line(st, sd, s, dir);
        } else {
            memcpy(sd->buf + sd->len, d, k);
            sd->len += k;
            if (nl != NULL)
                on_line(st, sd, s, dir);
        }
        d += used;
        n -= used;
    }
    if (n > 0 && sd->st == SIDE_KEX) {
        ssh_data(vst, s, dir, d, n); /* the packet after the banner, once (LINE is over) */
        return;
    }
    maybe_log(st, s, false);
}

static void ssh_gap(void *vst, struct app_sink *s, int dir, uint64_t len)
{
    struct ssh_state *st = vst;
    struct ssh_side *sd = &st->side[dir ? 1 : 0];
    (void)len;
    if (sd->st == SIDE_LINE)
        s->anomaly(s, SSH_AN_GAP, dir);
    kex_over(sd);
    maybe_log(st, s, false);
}

static void ssh_end(void *vst, struct app_sink *s)
{
    maybe_log(vst, s, true);
}

const struct app_parser ssh_parser = {
    .name = "ssh",
    .nkinds = SSH_AN_COUNT,
    .kind_name = ssh_anomaly_name,
    .probe = ssh_probe,
    .state_new = ssh_state_new,
    .state_free = ssh_state_free,
    .data = ssh_data,
    .gap = ssh_gap,
    .end = ssh_end,
};
