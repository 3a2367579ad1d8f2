/*
 * Spam and mail abuse (category `spam`, issue 4), from the smtp events the SMTP parser
 * writes (one per message): a second jscan pass over those lines only.
 *
 *   2000701  inbound mail whose envelope sender (MAIL FROM) domain differs from the
 *            header From domain (neither is the other or a subdomain of it)
 *   2000702  inbound mail whose From display name carries an address of another
 *            domain than the real From address ("ceo@example.co.jp" <x@evil.example>)
 *   2000703  bulk mail: one source sending detect.spam.bulk_messages messages, or
 *            detect.spam.bulk_recipients recipients (RCPT TO, summed), within
 *            detect.spam.window; any direction (an internal host sending bulk mail is
 *            the interesting case outbound)
 *   2000704  inbound mail with a dangerous attachment name (the file checks' list of
 *            executable and script extensions, double extensions)
 * Mail from a listed spam source is the intel alert 1000006 (the flow's source address,
 * a list of category spam), raised by the flow lookup of content.c.
 *
 * The bulk trackers are a fixed open-addressing table (SPAM_SOURCES slots, a probe run of
 * SPAM_PROBE; when the run is full its oldest tracker is replaced).
 */
#include "detect/detect_int.h"

#include "detect/jscan.h"
#include "otasuke/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPAM_SOURCES 4096
#define SPAM_PROBE   8
#define MAX_ATT      8
#define SPAM_STR     256

struct spam_src {
    struct addr a;
    bool used, raised;
    uint64_t start, last;
    uint64_t msgs, rcpts;
};

struct det_spam {
    struct spam_src t[SPAM_SOURCES];
};

struct mail {
    char mail_from[SPAM_STR];
    char from[SPAM_STR];
    unsigned nrcpt;
    unsigned natt;
    char att[MAX_ATT][SPAM_STR];
};

struct det_spam *det_spam_new(void)
{
    return xcalloc(MEM_CORE, 1, sizeof(struct det_spam));
}

void det_spam_free(struct det_spam *s)
{
    xfree(s);
}

static void cp(char *dst, size_t cap, const struct jscan_val *v)
{
    size_t n = v->n < cap - 1 ? v->n : cap - 1;
    memcpy(dst, v->s, n);
    dst[n] = '\0';
}

static bool on_val(const struct jscan_val *v, void *ud)
{
    struct mail *m = ud;
    if (v->type != JSCAN_STR)
        return true;
    if (strcmp(v->path, "smtp.mail_from") == 0 && !v->cut)
        cp(m->mail_from, sizeof(m->mail_from), v);
    else if (strcmp(v->path, "email.from") == 0 && !v->cut)
        cp(m->from, sizeof(m->from), v);
    else if (strcmp(v->path, "smtp.rcpt_to") == 0)
        m->nrcpt++;
    else if (strcmp(v->path, "email.attachment") == 0 && m->natt < MAX_ATT && !v->cut)
        cp(m->att[m->natt++], SPAM_STR, v);
    return true;
}

/* The domain of the last "@" of s[0..n) up to '>', blank or the end, lowercased into
 * out. Returns its length (0: none). */
static size_t domain_of(const char *s, size_t n, char *out, size_t cap)
{
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '@')
            at = s + i;
    if (at == NULL)
        return 0;
    size_t k = 0;
    for (const char *p = at + 1; p < s + n && *p != '>' && *p != ' ' && *p != '"' && *p != ',' &&
                                 *p != ')' && *p != ';' && k + 1 < cap;
         p++)
        out[k++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    while (k > 0 && out[k - 1] == '.')
        k--;
    out[k] = '\0';
    return k;
}

/* a equals b, or one is a subdomain of the other (mail.example.com / example.com). */
static bool related(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la == lb)
        return strcmp(a, b) == 0;
    const char *lo = la > lb ? a : b, *sh = la > lb ? b : a;
    size_t ll = la > lb ? la : lb, ls = la > lb ? lb : la;
    return strcmp(lo + ll - ls, sh) == 0 && lo[ll - ls - 1] == '.';
}

/* The From header split into its display name (before '<') and address (inside). */
static void split_from(const char *from, const char **name, size_t *nlen, const char **addr,
                       size_t *alen)
{
    const char *lt = strrchr(from, '<');
    if (lt == NULL) {
        *name = from;
        *nlen = 0;
        *addr = from;
        *alen = strlen(from);
        return;
    }
    *name = from;
    *nlen = (size_t)(lt - from);
    *addr = lt + 1;
    const char *gt = strchr(lt, '>');
    *alen = gt ? (size_t)(gt - lt - 1) : strlen(lt + 1);
}

static void spam_raise(struct detect *d, const struct det_alert *hdr, enum det_sig sig,
                  const char *ev, int n, uint64_t target)
{
    struct det_alert a = *hdr;
    a.sig = sig;
    a.target = target;
    a.evidence = n > 0 && (size_t)n < DET_EVIDENCE_MAX ? ev : NULL;
    a.evidence_len = a.evidence ? (size_t)n : 0;
    det_raise(d, &a);
}

static void check_domains(struct detect *d, const struct det_alert *hdr, const struct mail *m)
{
    char env[SPAM_STR], hdrd[SPAM_STR], dn[SPAM_STR], e1[600], e2[600], ev[DET_EVIDENCE_MAX];
    const char *name, *addr;
    size_t nlen, alen;
    if (m->from[0] == '\0')
        return;
    split_from(m->from, &name, &nlen, &addr, &alen);
    if (domain_of(addr, alen, hdrd, sizeof(hdrd)) == 0)
        return;
    det_json_esc(e2, sizeof(e2), m->from);
    if (domain_of(m->mail_from, strlen(m->mail_from), env, sizeof(env)) > 0 &&
        !related(env, hdrd)) {
        det_json_esc(e1, sizeof(e1), m->mail_from);
        int n = snprintf(ev, sizeof(ev),
                         "{\"mail_from\":\"%s\",\"from\":\"%s\",\"envelope_domain\":\"%s\","
                         "\"header_domain\":\"%s\"}",
                         e1, e2, env, hdrd);
        spam_raise(d, hdr, SIG_SPAM_SENDER_MISMATCH, ev, n, siphash24(&d->hk, hdrd, strlen(hdrd)));
    }
    if (nlen > 0 && domain_of(name, nlen, dn, sizeof(dn)) > 0 && !related(dn, hdrd)) {
        int n = snprintf(ev, sizeof(ev),
                         "{\"from\":\"%s\",\"display_domain\":\"%s\",\"header_domain\":\"%s\"}",
                         e2, dn, hdrd);
        spam_raise(d, hdr, SIG_SPAM_DISPLAY_NAME, ev, n, siphash24(&d->hk, dn, strlen(dn)));
    }
}

static void check_attachments(struct detect *d, const struct det_alert *hdr,
                              const struct mail *m)
{
    char ev[DET_EVIDENCE_MAX], fn[600], e2[600];
    for (unsigned i = 0; i < m->natt; i++) {
        if (!det_file_name_dangerous(m->att[i], strlen(m->att[i])))
            continue;
        det_json_esc(fn, sizeof(fn), m->att[i]);
        det_json_esc(e2, sizeof(e2), m->from);
        int n = snprintf(ev, sizeof(ev), "{\"attachment\":\"%s\",\"from\":\"%s\"}", fn, e2);
        spam_raise(d, hdr, SIG_SPAM_ATTACHMENT, ev, n, siphash24(&d->hk, m->att[i], strlen(m->att[i])));
        return; /* one per message */
    }
}

static struct spam_src *tracker(struct det_spam *s, const struct detect *d, const struct addr *a)
{
    uint64_t h = siphash24(&d->hk, a->b, sizeof(a->b));
    struct spam_src *oldest = NULL;
    for (unsigned i = 0; i < SPAM_PROBE; i++) {
        struct spam_src *t = &s->t[(h + i) % SPAM_SOURCES];
        if (t->used && memcmp(&t->a, a, sizeof(*a)) == 0)
            return t;
        if (!t->used) {
            memset(t, 0, sizeof(*t));
            t->a = *a;
            t->used = true;
            return t;
        }
        if (oldest == NULL || t->last < oldest->last)
            oldest = t;
    }
    memset(oldest, 0, sizeof(*oldest));
    oldest->a = *a;
    oldest->used = true;
    return oldest;
}

static void check_bulk(struct detect *d, const struct det_alert *hdr, const struct mail *m,
                       uint64_t ts)
{
    const struct sensor_conf *c = d->conf;
    struct spam_src *t = tracker(d->spam, d, &hdr->src);
    if (t->msgs == 0 || ts < t->start || ts - t->start > c->detect_spam_window) {
        t->start = ts;
        t->msgs = t->rcpts = 0;
        t->raised = false;
    }
    t->last = ts;
    t->msgs++;
    t->rcpts += m->nrcpt;
    if (t->raised || (t->msgs < (uint64_t)c->detect_spam_bulk_messages &&
                      t->rcpts < (uint64_t)c->detect_spam_bulk_recipients))
        return;
    t->raised = true; /* once per window */
    char ev[DET_EVIDENCE_MAX];
    int n = snprintf(ev, sizeof(ev),
                     "{\"messages\":%llu,\"recipients\":%llu,\"window_s\":%llu}",
                     (unsigned long long)t->msgs, (unsigned long long)t->rcpts,
                     (unsigned long long)((ts - t->start) / 1000000));
    struct det_alert a = *hdr;
    a.count = t->msgs;
    a.last = ts;
    a.ts = t->start;
    spam_raise(d, &a, SIG_SPAM_BULK, ev, n, 1);
}

void det_spam_event(struct detect *d, const char *json, size_t len, const struct det_alert *hdr)
{
    static struct mail m;
    memset(&m, 0, sizeof(m));
    if (d->spam == NULL || jscan(json, len, on_val, &m) != 0)
        return;
    bool inbound = !det_is_home(d, &hdr->src) && det_is_home(d, &hdr->dst);
    if (inbound) {
        check_domains(d, hdr, &m);
        check_attachments(d, hdr, &m);
    }
    check_bulk(d, hdr, &m, hdr->ts);
}
