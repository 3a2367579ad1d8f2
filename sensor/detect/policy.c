/*
 * The company's policy (issue 4): prohibited applications, P2P devices, allow-lists.
 *
 * Prohibited applications: detect.policy.prohibited names nDPI protocols (the
 * application or its master, e.g. "BitTorrent", "TeamViewer", "Tor") or nDPI
 * categories ("VPN", "RemoteAccess", "Download"), compared case-insensitively; "P2P"
 * stands for the file-sharing protocols (p2p_names below). When nDPI reaches a verdict
 * by inspection (not a guess from the port: a port is no proof of an application), a
 * matching flow raises one prohibited_app occurrence keyed by (device, application):
 * the aggregation makes it one alert per device and application per
 * detect.aggregate_window with the count of flows.
 *
 * P2P devices: a device that speaks a P2P protocol contacts hundreds of peers, many
 * gone (failed first contacts), which is what a scan looks like. Such a device is
 * remembered for detect.policy.p2p_hold in a fixed table (detect.policy.
 * max_p2p_devices, the oldest replaced and counted); its scan trackers are not judged
 * (counted in p2p_scans_ignored). P2P is then prohibited_app when the policy forbids
 * it, otherwise nothing.
 *
 * Allow-lists: detect.policy.allow lists addresses or prefixes, each for all alert
 * categories or for the ones named ("192.168.1.5=recon"); an occurrence whose source
 * or destination matches is dropped before aggregation and counted as suppressed.
 */
#include "detect/detect_int.h"

#include "app/appid.h"
#include "output/eve.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define POL_MAX_NAMES 32
#define POL_NAME_MAX 40
#define POL_MAX_ALLOW 64
#define POL_MAX_SCOPES 4

struct allow_ent {
    struct home_prefix p;
    unsigned nscope; /* 0: every category */
    char scope[POL_MAX_SCOPES][24];
};

struct p2p_dev {
    bool used;
    struct addr a;
    uint64_t last;
};

struct det_policy {
    char names[POL_MAX_NAMES][POL_NAME_MAX];
    unsigned nnames;
    struct allow_ent allow[POL_MAX_ALLOW];
    unsigned nallow;
    struct p2p_dev *p2p;
    unsigned np2p; /* power of two */
    const struct appid *appid;
};

/* nDPI 4.2's file-sharing protocols ("P2P" in the policy). */
static const char *const p2p_names[] = {"Gnutella", "BitTorrent", "eDonkey", "DirectConnect",
                                        "AppleJuice", "Soulseek", "Thunder", "OpenFT",
                                        "FastTrack", "Stealthnet", "iMESH", "WinMX"};

static bool is_p2p_name(const char *n)
{
    for (size_t i = 0; i < sizeof(p2p_names) / sizeof(p2p_names[0]); i++)
        if (strcasecmp(n, p2p_names[i]) == 0)
            return true;
    return false;
}

/* Splits text at commas, blanks and brackets; calls fn on each item. */
static int each_item(const char *text, int (*fn)(struct det_policy *, const char *, size_t),
                     struct det_policy *pol)
{
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',' || *p == '[' || *p == ']' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, " ,[]\t");
        int rc = fn(pol, p, n);
        if (rc != 0)
            return rc;
        p += n;
    }
    return 0;
}

static int add_name(struct det_policy *pol, const char *s, size_t n)
{
    if (pol->nnames == POL_MAX_NAMES || n >= POL_NAME_MAX || memchr(s, '"', n) != NULL ||
        memchr(s, '\\', n) != NULL)
        return ERR_INVAL; /* names are cited in the alert's JSON evidence */
    memcpy(pol->names[pol->nnames], s, n);
    pol->names[pol->nnames][n] = '\0';
    pol->nnames++;
    return 0;
}

static int add_allow(struct det_policy *pol, const char *s, size_t n)
{
    if (pol->nallow == POL_MAX_ALLOW)
        return ERR_INVAL;
    struct allow_ent *e = &pol->allow[pol->nallow];
    memset(e, 0, sizeof(*e));
    const char *eq = memchr(s, '=', n);
    if (det_parse_prefix(s, eq != NULL ? (size_t)(eq - s) : n, &e->p) != 0)
        return ERR_INVAL;
    if (eq != NULL) {
        const char *c = eq + 1, *end = s + n;
        while (c < end) {
            const char *plus = memchr(c, '+', (size_t)(end - c));
            size_t cl = plus != NULL ? (size_t)(plus - c) : (size_t)(end - c);
            if (cl == 0 || cl >= sizeof(e->scope[0]) || e->nscope == POL_MAX_SCOPES)
                return ERR_INVAL;
            memcpy(e->scope[e->nscope], c, cl);
            e->scope[e->nscope][cl] = '\0';
            e->nscope++;
            c += cl + (plus != NULL);
        }
        if (e->nscope == 0)
            return ERR_INVAL;
    }
    pol->nallow++;
    return 0;
}

struct det_policy *det_policy_new(const struct sensor_conf *c, char *err, size_t errlen)
{
    struct det_policy *pol = xcalloc(MEM_CORE, 1, sizeof(*pol));
    if (pol == NULL) {
        snprintf(err, errlen, "out of memory for the detection policy");
        return NULL;
    }
    if (each_item(c->detect_policy_prohibited, add_name, pol) != 0) {
        snprintf(err, errlen, "detect.policy.prohibited: more than %d names or a name longer "
                 "than %d characters", POL_MAX_NAMES, POL_NAME_MAX - 1);
        goto fail;
    }
    if (each_item(c->detect_policy_allow, add_allow, pol) != 0) {
        snprintf(err, errlen, "detect.policy.allow: bad entry %u (ADDR[/BITS][=CATEGORY"
                 "[+CATEGORY...]], at most %d entries)", pol->nallow + 1, POL_MAX_ALLOW);
        goto fail;
    }
    pol->np2p = 16;
    while (pol->np2p < (uint64_t)c->detect_policy_max_p2p)
        pol->np2p <<= 1;
    pol->p2p = xcalloc(MEM_CORE, pol->np2p, sizeof(*pol->p2p));
    if (pol->p2p == NULL) {
        snprintf(err, errlen, "out of memory for detect.policy.max_p2p_devices");
        goto fail;
    }
    return pol;
fail:
    det_policy_free(pol);
    return NULL;
}

void det_policy_free(struct det_policy *pol)
{
    if (pol == NULL)
        return;
    xfree(pol->p2p);
    xfree(pol);
}

void det_policy_set_appid(struct det_policy *pol, const struct appid *a)
{
    pol->appid = a;
}

/* ---- allow-lists ---------------------------------------------------------------- */

bool det_policy_allowed(const struct detect *d, const struct det_alert *a)
{
    const struct det_policy *pol = d->policy;
    if (pol == NULL || pol->nallow == 0)
        return false;
    const char *cat = det_sig(a->sig)->category;
    for (unsigned i = 0; i < pol->nallow; i++) {
        const struct allow_ent *e = &pol->allow[i];
        if (!det_prefix_match(&a->src, &e->p) && !det_prefix_match(&a->dst, &e->p))
            continue;
        if (e->nscope == 0)
            return true;
        for (unsigned k = 0; k < e->nscope; k++)
            if (strcmp(e->scope[k], cat) == 0 || strcmp(e->scope[k], "all") == 0)
                return true;
    }
    return false;
}

/* ---- P2P devices ------------------------------------------------------------------ */

static void p2p_mark(struct detect *d, const struct addr *a, uint64_t now)
{
    struct det_policy *pol = d->policy;
    unsigned h = (unsigned)siphash24(&d->hk, a->b, sizeof(a->b));
    struct p2p_dev *victim = NULL;
    for (unsigned k = 0; k < 8; k++) {
        struct p2p_dev *e = &pol->p2p[(h + k) & (pol->np2p - 1)];
        if (e->used && memcmp(&e->a, a, sizeof(*a)) == 0) {
            if (now > e->last)
                e->last = now;
            return;
        }
        if (victim == NULL || (victim->used && (!e->used || e->last < victim->last)))
            victim = e;
    }
    if (victim->used)
        d->p2p_evicted++;
    victim->used = true;
    victim->a = *a;
    victim->last = now;
}

bool det_policy_is_p2p(const struct detect *d, const struct addr *a, uint64_t now)
{
    const struct det_policy *pol = d->policy;
    if (pol == NULL)
        return false;
    unsigned h = (unsigned)siphash24(&d->hk, a->b, sizeof(a->b));
    for (unsigned k = 0; k < 8; k++) {
        const struct p2p_dev *e = &pol->p2p[(h + k) & (pol->np2p - 1)];
        if (e->used && memcmp(&e->a, a, sizeof(*a)) == 0)
            return now <= e->last + d->conf->detect_policy_p2p_hold;
    }
    return false;
}

/* ---- prohibited applications -------------------------------------------------------- */

/* The policy name matching app / master / category, or NULL. */
static const char *prohibited(const struct det_policy *pol, const char *app, const char *master,
                              const char *cat, bool p2p)
{
    for (unsigned i = 0; i < pol->nnames; i++) {
        const char *n = pol->names[i];
        if (strcasecmp(n, app) == 0 || (master != NULL && strcasecmp(n, master) == 0) ||
            strcasecmp(n, cat) == 0 || (p2p && strcasecmp(n, "P2P") == 0))
            return n;
    }
    return NULL;
}

void det_policy_flow_app(struct detect *d, const struct flow *f, uint16_t master, uint16_t app,
                         uint16_t category, uint64_t ts)
{
    struct det_policy *pol = d->policy;
    if (pol == NULL || pol->appid == NULL)
        return;
    const char *an = appid_proto_name(pol->appid, app);
    const char *mn = master != 0 && master != app ? appid_proto_name(pol->appid, master) : NULL;
    const char *cn = appid_category_name(pol->appid, category);
    bool p2p = is_p2p_name(an) || (mn != NULL && is_p2p_name(mn));
    bool sh = det_is_home(d, &f->key.src), dh = det_is_home(d, &f->key.dst);
    if (p2p) {
        if (sh)
            p2p_mark(d, &f->key.src, ts);
        if (dh)
            p2p_mark(d, &f->key.dst, ts);
    }
    if (!sh && !dh)
        return;
    const char *rule = prohibited(pol, an, mn, cn, p2p);
    if (rule == NULL)
        return;
    char name[64], ev[256];
    snprintf(name, sizeof(name), "%s%s%s", mn ? mn : "", mn ? "." : "", an);
    int n = snprintf(ev, sizeof(ev),
                     "{\"app\":\"%s\",\"ndpi_category\":\"%s\",\"policy\":\"%s\"}", name, cn,
                     rule);
    struct det_alert a = {.sig = SIG_PROHIBITED_APP, .ts = ts, .flow_id = f->flow_id,
                          .src = f->key.src, .dst = f->key.dst, .sport = f->key.sport,
                          .dport = f->key.dport, .proto = f->key.proto, .ipver = f->ipver,
                          .list = name, .evidence = ev,
                          .evidence_len = n > 0 && (size_t)n < sizeof(ev) ? (size_t)n : 0};
    /* one alert per device and application: the target is the application */
    a.target = siphash24(&d->hk, name, strlen(name)) | 1;
    det_raise(d, &a);
}
