/*
 * SSH banner parser and EVE `ssh` writer (see ssh.h).
 *
 * Invariants: per direction at most max_banner bytes of the current line are kept, in
 * a buffer allocated once with the state (MEM_APP); a side goes LINE -> DONE (its
 * banner is known) or LINE -> FAIL and never back, so after both sides are over every
 * byte is ignored in O(1). The event is written once.
 */
#include "app/ssh.h"

#include <stdbool.h>
#include <string.h>

#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

enum side_state { SIDE_LINE = 0, SIDE_DONE, SIDE_FAIL };

struct ssh_side {
    uint8_t st;   /* enum side_state */
    bool skip;    /* a cut line: discard up to its LF */
    uint16_t pre; /* lines before the banner */
    size_t len;   /* bytes of the current line in buf */
    /* the banner, as offsets into buf once DONE */
    size_t proto_len, sw_off, sw_len, cm_off, cm_len;
    uint8_t *buf; /* max bytes, inside the state's block */
};

struct ssh_state {
    struct ssh_side side[2];
    size_t max;
    bool logged;
    /* followed by 2 * max bytes of line buffers */
};

const char *ssh_anomaly_name(int kind)
{
    static const char *const names[SSH_AN_COUNT] = {"banner_too_long", "bad_banner",
                                                    "no_banner", "gap"};
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
    st->side[0].buf = (uint8_t *)(st + 1);
    st->side[1].buf = (uint8_t *)(st + 1) + max;
    return st;
}

static void ssh_state_free(void *st)
{
    xfree(st);
}

static void put_side(struct jw *w, const char *key, const struct ssh_side *sd)
{
    if (sd->st != SIDE_DONE)
        return;
    jw_obj_open(w, key);
    jw_strn(w, "proto_version", (const char *)sd->buf + 4, sd->proto_len);
    jw_strn(w, "software_version", (const char *)sd->buf + sd->sw_off, sd->sw_len);
    if (sd->cm_len > 0)
        jw_strn(w, "comments", (const char *)sd->buf + sd->cm_off, sd->cm_len);
    jw_obj_close(w);
}

/* Writes the event once, when `final` or when both sides are over, if a banner is
 * known. */
static void maybe_log(struct ssh_state *st, struct app_sink *s, bool final)
{
    const struct ssh_side *c = &st->side[APP_TOSERVER], *v = &st->side[APP_TOCLIENT];
    if (st->logged || (!final && (c->st == SIDE_LINE || v->st == SIDE_LINE)))
        return;
    if (c->st != SIDE_DONE && v->st != SIDE_DONE)
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

/* A complete (or cut) line of direction dir is in sd->buf[0..len). */
static void on_line(struct ssh_side *sd, struct app_sink *s, int dir)
{
    const uint8_t *nul = memchr(sd->buf, '\0', sd->len); /* as tshark: NUL ends the text */
    if (nul != NULL)
        sd->len = (size_t)(nul - sd->buf);
    if (sd->len > 0 && sd->buf[sd->len - 1] == '\r')
        sd->len--;
    if (sd->len >= 4 && memcmp(sd->buf, "SSH-", 4) == 0) {
        if (split_banner(sd)) {
            sd->st = SIDE_DONE;
        } else {
            s->anomaly(s, SSH_AN_BAD_BANNER, dir);
            sd->st = SIDE_FAIL;
        }
        return;
    }
    if (dir == APP_TOSERVER || ++sd->pre > SSH_MAX_PRE_LINES) {
        s->anomaly(s, SSH_AN_NO_BANNER, dir);
        sd->st = SIDE_FAIL;
    }
    sd->len = 0;
}

static void ssh_data(void *vst, struct app_sink *s, int dir, const uint8_t *d, size_t n)
{
    struct ssh_state *st = vst;
    struct ssh_side *sd = &st->side[dir ? 1 : 0];
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
            on_line(sd, s, dir);
        } else {
            memcpy(sd->buf + sd->len, d, k);
            sd->len += k;
            if (nl != NULL)
                on_line(sd, s, dir);
        }
        d += used;
        n -= used;
    }
    maybe_log(st, s, false);
}

static void ssh_gap(void *vst, struct app_sink *s, int dir, uint64_t len)
{
    struct ssh_state *st = vst;
    struct ssh_side *sd = &st->side[dir ? 1 : 0];
    (void)len;
    if (sd->st == SIDE_LINE) {
        s->anomaly(s, SSH_AN_GAP, dir);
        sd->st = SIDE_FAIL;
    }
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
