/*
 * Detections: the alert writer, aggregation, devices and home_net (see detect.h).
 *
 * Aggregation: an occurrence is keyed by (signature, variant, device-or-source
 * address, target); the first opens a pending alert, repeats add to its count and
 * last_seen. A pending alert is written when no repeat came for
 * detect.aggregate_window, when it is detect.aggregate_max_span old, when the table
 * (detect.max_pending) is full and it is the oldest, or at detect_flush. A pending
 * alert whose count reaches detect.flood_threshold is flagged as a likely device
 * malfunction (evidence.likely_malfunction, other first steps).
 *
 * Invariants: the pending table and the MAC table are fixed arrays allocated at
 * detect_new; nothing on the packet path allocates.
 */
#include "detect/detect_int.h"
#include "detect/jscan.h"

#include "output/eve.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/log.h"
#include "otasuke/timefmt.h"
#include "app/files.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct det_pending {
    int next;     /* bucket chain, -1 ends */
    bool used;
    uint64_t h;
    uint16_t sig, variant;
    struct addr key_addr;
    uint64_t target;
    /* the first occurrence */
    uint64_t first, last, count, flow_id;
    struct addr src, dst, dev;
    uint16_t sport, dport;
    uint8_t proto, ipver, dir, severity;
    bool has_dev, has_mac;
    uint8_t mac[6];
    char app_proto[16];
    char list[DET_LIST_NAME_MAX];
    uint16_t evlen;
    char evidence[DET_EVIDENCE_MAX];
};

struct det_due {
    uint64_t first;
    int slot;
};

struct det_agg {
    struct det_pending *slot;
    int *bucket;
    struct det_due *due; /* agg_expire's scratch: the slots due (nslot) */
    unsigned nslot, nbucket, used;
    int free_head;
    uint64_t due_at; /* no pending alert is due before (a lower bound; agg_expire) */
};

struct det_mac_ent {
    struct addr a;
    uint8_t mac[6];
    bool used;
};

struct det_macs {
    struct det_mac_ent *e;
    unsigned n; /* power of two */
};

/* ---- addresses and home_net ------------------------------------------------- */

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool det_addr_is_v4(const struct addr *a)
{
    return memcmp(a->b, v4_mapped, 12) == 0;
}

bool det_prefix_match(const struct addr *a, const struct home_prefix *p)
{
    unsigned full = p->bits / 8, rest = p->bits % 8;
    if (memcmp(a->b, p->a.b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (a->b[full] & m) == (p->a.b[full] & m);
}

bool det_is_home(const struct detect *d, const struct addr *a)
{
    for (unsigned i = 0; i < d->nhome; i++)
        if (det_prefix_match(a, &d->home[i]))
            return true;
    return false;
}

/* One "addr/bits" item of home_net. */
int det_parse_prefix(const char *s, size_t n, struct home_prefix *p)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return ERR_INVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash != NULL) {
        *slash = '\0';
        char *end;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || end == slash + 1)
            return ERR_INVAL;
    }
    if (!eve_addr_parse(buf, &p->a))
        return ERR_INVAL;
    bool v4 = strchr(buf, ':') == NULL;
    long max = v4 ? 32 : 128;
    if (bits < 0)
        bits = max;
    if (bits > max)
        return ERR_INVAL;
    p->bits = (unsigned)(v4 ? bits + 96 : bits);
    return 0;
}

static int parse_home_net(struct detect *d, const char *text, char *err, size_t errlen)
{
    const char *p = text;
    d->nhome = 0;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',' || *p == '[' || *p == ']')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, " ,[]");
        if (d->nhome == DET_HOME_MAX || det_parse_prefix(p, n, &d->home[d->nhome]) != 0) {
            snprintf(err, errlen, "detect.home_net: bad or too many prefixes at \"%.*s\"",
                     (int)(n > 60 ? 60 : n), p);
            return ERR_INVAL;
        }
        d->nhome++;
        p += n;
    }
    return 0;
}

/* ---- MAC addresses of internal devices --------------------------------------- */

static unsigned mac_index(const struct detect *d, const struct addr *a)
{
    return (unsigned)siphash24(&d->hk, a->b, sizeof(a->b)) & (d->macs->n - 1);
}

void det_mac_put(struct detect *d, const struct addr *a, const uint8_t mac[6])
{
    struct det_macs *m = d->macs;
    unsigned i = mac_index(d, a);
    for (unsigned k = 0; k < 8; k++) {
        struct det_mac_ent *e = &m->e[(i + k) & (m->n - 1)];
        if (!e->used || memcmp(&e->a, a, sizeof(*a)) == 0) {
            e->used = true;
            e->a = *a;
            memcpy(e->mac, mac, 6);
            return;
        }
    }
    struct det_mac_ent *e = &m->e[i]; /* probe run full: replace the home slot */
    e->a = *a;
    memcpy(e->mac, mac, 6);
}

bool det_mac_get(const struct detect *d, const struct addr *a, uint8_t mac[6])
{
    const struct det_macs *m = d->macs;
    unsigned i = mac_index(d, a);
    for (unsigned k = 0; k < 8; k++) {
        const struct det_mac_ent *e = &m->e[(i + k) & (m->n - 1)];
        if (!e->used)
            return false;
        if (memcmp(&e->a, a, sizeof(*a)) == 0) {
            memcpy(mac, e->mac, 6);
            return true;
        }
    }
    return false;
}

/* ---- writing an alert ----------------------------------------------------------- */

static void write_device(struct detect *d, struct jw *w, const struct det_pending *p)
{
    char ip[EVE_ADDR_LEN], mac[18];
    if (!p->has_dev)
        return;
    /* the device inventory (issue 5): the device that had the address at the time */
    struct detect_device_info di;
    memset(&di, 0, sizeof(di));
    bool inv = d->dev_fn != NULL && d->dev_fn(d->dev_ud, (const struct addr *)&p->dev, p->first, &di);
    if (!inv) {
        di.has_mac = p->has_mac;
        memcpy(di.mac, p->mac, 6);
    }
    jw_obj_open(w, "device");
    jw_str(w, "ip", eve_addr_str((const struct addr *)&p->dev, ip, sizeof(ip)));
    if (di.has_mac) {
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", di.mac[0], di.mac[1],
                 di.mac[2], di.mac[3], di.mac[4], di.mac[5]);
        jw_str(w, "mac", mac);
    } else {
        jw_null(w, "mac");
    }
    if (di.name != NULL)
        jw_str(w, "name", di.name);
    else
        jw_null(w, "name");
    if (di.maker != NULL)
        jw_str(w, "maker", di.maker);
    else
        jw_null(w, "maker");
    if (di.kind != NULL)
        jw_str(w, "kind", di.kind);
    else
        jw_null(w, "kind");
    jw_str(w, "confidence", di.has_mac ? "mac" : "ip");
    jw_obj_close(w);
}

void detect_set_device_lookup(struct detect *d, detect_device_fn fn, void *ud)
{
    d->dev_fn = fn;
    d->dev_ud = ud;
}

void detect_new_device(struct detect *d, const struct addr *ip, uint64_t ts_us,
                       const char *evidence, size_t evlen)
{
    struct det_alert a;
    memset(&a, 0, sizeof(a));
    a.sig = SIG_NEW_DEVICE;
    a.ts = ts_us;
    a.src = *ip;
    a.dst = *ip;
    a.ipver = det_addr_is_v4(ip) ? 4 : 6;
    a.dir = DET_INTERNAL + 1;
    a.evidence = evidence;
    a.evidence_len = evlen;
    det_raise(d, &a);
}

static void write_alert(struct detect *d, const struct det_pending *p)
{
    const struct det_sig_info *si = det_sig((enum det_sig)p->sig);
    struct jw *w = &d->jw;
    char ts[TS_RFC3339_LEN], text[512];
    const char *ja, *en;
    bool flood = p->count >= (uint64_t)d->conf->detect_flood;

    jw_reset(w);
    eve_begin(w, p->first, "alert", p->flow_id);
    if (p->proto == 0 && strcmp(p->app_proto, "arp") == 0) { /* an ARP sweep */
        char a[EVE_ADDR_LEN];
        jw_str(w, "src_ip", eve_addr_str(&p->src, a, sizeof(a)));
        jw_str(w, "dest_ip", eve_addr_str(&p->dst, a, sizeof(a)));
        jw_str(w, "proto", "ARP");
    } else {
        eve_tuple(w, &p->src, p->sport, &p->dst, p->dport, p->proto, p->ipver);
    }
    if (p->app_proto[0] != '\0')
        jw_str(w, "app_proto", p->app_proto);
    jw_obj_open(w, "alert");
    jw_str(w, "category", si->category);
    jw_u64(w, "severity", p->severity);
    jw_u64(w, "signature_id", si->id);
    if (p->list[0] != '\0') {
        snprintf(text, sizeof(text), "%s (%s)", si->en, p->list);
        jw_str(w, "signature", text);
        snprintf(text, sizeof(text), "%s (%s)", si->ja, p->list);
        jw_str(w, "signature_ja", text);
    } else {
        jw_str(w, "signature", si->en);
        jw_str(w, "signature_ja", si->ja);
    }
    jw_str(w, "direction", det_dir_name((enum det_dir)p->dir));
    jw_u64(w, "count", p->count);
    ts_format(ts, sizeof(ts), p->first, 0);
    jw_str(w, "first_seen", ts);
    ts_format(ts, sizeof(ts), p->last, 0);
    jw_str(w, "last_seen", ts);
    if (p->evlen > 0 && !flood) {
        jw_raw(w, "evidence", p->evidence, p->evlen);
    } else {
        /* the evidence object with the flag added before its closing brace */
        char ev[DET_EVIDENCE_MAX + 40];
        int n;
        if (p->evlen > 1)
            n = snprintf(ev, sizeof(ev), "%.*s,\"likely_malfunction\":true}", (int)p->evlen - 1,
                         p->evidence);
        else
            n = snprintf(ev, sizeof(ev), "{\"likely_malfunction\":%s}", flood ? "true" : "false");
        if (n > 0 && (size_t)n < sizeof(ev))
            jw_raw(w, "evidence", ev, (size_t)n);
    }
    if (flood)
        det_action_malfunction(&ja, &en);
    else
        det_action(si->category, (enum det_dir)p->dir, &ja, &en);
    jw_obj_open(w, "action");
    jw_str(w, "ja", ja);
    jw_str(w, "en", en);
    jw_obj_close(w);
    jw_obj_close(w);
    write_device(d, w, p);
    jw_obj_close(w);
    if (!jw_ok(w))
        return;
    d->alerts++;
    d->by_sig[p->sig]++;
    d->host.write(d->host.ud, w->buf, w->len, p->first);
}

/* ---- the pending table ------------------------------------------------------ */

static struct det_agg *agg_new(unsigned n)
{
    struct det_agg *a = xcalloc(MEM_CORE, 1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->nslot = n;
    a->nbucket = 1;
    while (a->nbucket < n)
        a->nbucket <<= 1;
    a->slot = xcalloc(MEM_CORE, n, sizeof(*a->slot));
    a->bucket = xalloc(MEM_CORE, sizeof(int) * a->nbucket);
    a->due = xalloc(MEM_CORE, sizeof(*a->due) * n);
    if (a->slot == NULL || a->bucket == NULL || a->due == NULL) {
        xfree(a->slot);
        xfree(a->bucket);
        xfree(a->due);
        xfree(a);
        return NULL;
    }
    for (unsigned i = 0; i < a->nbucket; i++)
        a->bucket[i] = -1;
    for (unsigned i = 0; i < n; i++)
        a->slot[i].next = i + 1 < n ? (int)i + 1 : -1;
    a->free_head = 0;
    return a;
}

static void agg_free(struct det_agg *a)
{
    if (a == NULL)
        return;
    xfree(a->slot);
    xfree(a->bucket);
    xfree(a->due);
    xfree(a);
}

/* Writes and releases slot i. */
static void agg_close(struct detect *d, int i)
{
    struct det_agg *a = d->agg;
    struct det_pending *p = &a->slot[i];
    write_alert(d, p);
    int *link = &a->bucket[p->h & (a->nbucket - 1)];
    while (*link != -1 && *link != i)
        link = &a->slot[*link].next;
    if (*link == i)
        *link = p->next;
    p->used = false;
    p->next = a->free_head;
    a->free_head = i;
    a->used--;
}

/* When a pending alert is written: its window after the last occurrence, or its
 * longest span after the first, whichever comes first. */
static uint64_t pending_due(const struct sensor_conf *c, const struct det_pending *p)
{
    uint64_t due = p->last + c->detect_agg_window;
    if (p->first + c->detect_agg_max_span < due)
        due = p->first + c->detect_agg_max_span;
    return due;
}

static int agg_oldest(const struct det_agg *a)
{
    int best = -1;
    for (unsigned i = 0; i < a->nslot; i++)
        if (a->slot[i].used && (best < 0 || a->slot[i].first < a->slot[best].first))
            best = (int)i;
    return best;
}

static enum det_dir direction(const struct detect *d, const struct det_alert *a, bool *src_home,
                              bool *dst_home)
{
    *src_home = det_is_home(d, &a->src);
    *dst_home = det_is_home(d, &a->dst);
    if (*src_home && *dst_home)
        return DET_INTERNAL;
    if (*src_home)
        return DET_OUTBOUND;
    return DET_INBOUND;
}

static void fill_pending(struct detect *d, struct det_pending *p, const struct det_alert *a,
                         enum det_dir dir, const struct addr *dev, bool has_dev)
{
    const struct det_sig_info *si = det_sig(a->sig);
    p->first = a->ts;
    p->last = a->last ? a->last : a->ts;
    p->count = a->count ? a->count : 1;
    p->flow_id = a->flow_id;
    p->src = a->src;
    p->dst = a->dst;
    p->sport = a->sport;
    p->dport = a->dport;
    p->proto = a->proto;
    p->ipver = a->ipver;
    p->dir = (uint8_t)dir;
    p->severity = (uint8_t)(a->severity ? a->severity : si->severity);
    p->has_dev = has_dev;
    p->has_mac = false;
    if (has_dev) {
        p->dev = *dev;
        p->has_mac = det_mac_get(d, dev, p->mac);
    }
    snprintf(p->app_proto, sizeof(p->app_proto), "%s", a->app_proto ? a->app_proto : "");
    snprintf(p->list, sizeof(p->list), "%s", a->list ? a->list : "");
    p->evlen = 0;
    if (a->evidence != NULL && a->evidence_len < sizeof(p->evidence)) {
        memcpy(p->evidence, a->evidence, a->evidence_len);
        p->evlen = (uint16_t)a->evidence_len;
    }
}

void det_raise(struct detect *d, const struct det_alert *a)
{
    struct det_agg *ag = d->agg;
    if (det_policy_allowed(d, a)) { /* detect.policy.allow */
        d->suppressed += a->count ? a->count : 1;
        return;
    }
    bool sh, dh;
    enum det_dir dir = direction(d, a, &sh, &dh);
    if (a->dir > 0 && a->dir <= DET_DIR_COUNT)
        dir = (enum det_dir)(a->dir - 1);
    /* The device concerned: the internal party; the source when both are. */
    const struct addr *dev = sh ? &a->src : dh ? &a->dst : NULL;
    struct {
        uint16_t sig, variant;
        struct addr k;
        uint64_t target;
    } key;
    memset(&key, 0, sizeof(key));
    key.sig = (uint16_t)a->sig;
    key.variant = a->variant;
    key.k = dev ? *dev : a->src;
    key.target = a->target;
    if (key.target == 0)
        key.target = siphash24(&d->hk, a->dst.b, sizeof(a->dst.b));
    uint64_t h = siphash24(&d->hk, &key, sizeof(key));
    uint64_t n = a->count ? a->count : 1;
    uint64_t last = a->last ? a->last : a->ts;
    d->occurrences += n;
    for (int i = ag->bucket[h & (ag->nbucket - 1)]; i != -1; i = ag->slot[i].next) {
        struct det_pending *p = &ag->slot[i];
        if (p->h == h && p->sig == key.sig && p->variant == key.variant &&
            p->target == key.target && memcmp(&p->key_addr, &key.k, sizeof(key.k)) == 0) {
            p->count += n;
            if (last > p->last)
                p->last = last;
            return;
        }
    }
    if (ag->free_head < 0) {
        int old = agg_oldest(ag);
        d->agg_evicted++;
        agg_close(d, old);
    }
    int i = ag->free_head;
    struct det_pending *p = &ag->slot[i];
    ag->free_head = p->next;
    ag->used++;
    memset(p, 0, offsetof(struct det_pending, evidence));
    p->used = true;
    p->h = h;
    p->sig = key.sig;
    p->variant = key.variant;
    p->key_addr = key.k;
    p->target = key.target;
    fill_pending(d, p, a, dir, dev, dev != NULL);
    uint64_t due = pending_due(d->conf, p);
    if (due < ag->due_at)
        ag->due_at = due; /* repeats only move a deadline later */
    p->next = ag->bucket[h & (ag->nbucket - 1)];
    ag->bucket[h & (ag->nbucket - 1)] = i;
}

/* The order of due slots: by first_seen, then by slot */
static int due_cmp(const void *x, const void *y)
{
    const struct det_due *a = x, *b = y;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return (a->slot > b->slot) - (a->slot < b->slot);
}

static void agg_expire(struct detect *d, uint64_t now, bool all)
{
    struct det_agg *a = d->agg;
    const struct sensor_conf *c = d->conf;
    if (a->used == 0 || (!all && now < a->due_at))
        return; /* walking the whole table every second cost 1.6% on the benchmark */
    /* One walk finds the slots due and when the next one will be; they are closed in
     * time order, so that the output stays sorted by first_seen where it can (a walk
     * per alert closed was quadratic when many were due at once). */
    unsigned n = 0;
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < a->nslot; i++) {
        const struct det_pending *p = &a->slot[i];
        if (!p->used)
            continue;
        uint64_t dl = pending_due(c, p);
        if (all || now >= dl)
            a->due[n++] = (struct det_due){p->first, (int)i};
        else if (dl < next)
            next = dl;
    }
    qsort(a->due, n, sizeof(a->due[0]), due_cmp);
    for (unsigned k = 0; k < n; k++)
        agg_close(d, a->due[k].slot);
    a->due_at = next;
}

/* ---- intel ----------------------------------------------------------------------- */

/* True when the lists come from somewhere: detect.intel_file, or an `intel:` key in the
 * configuration file (looked for at load time; a file without it adds nothing). */
static bool intel_configured(const struct sensor_conf *c)
{
    return c->detect_intel_file[0] != '\0' || c->config_file[0] != '\0';
}

/* 0 when no list name of the inline lists a is also one of the file's b; else
 * ERR_INVAL with both places named in err. */
static int names_unique(const struct sensor_conf *c, const struct intel_conf *a,
                        const struct intel_conf *b, char *err, size_t errlen)
{
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (strcmp(a->lists[i].name, b->lists[j].name) == 0) {
                snprintf(err, errlen,
                         "intel list \"%.64s\" is declared both in %s (intel:) and in %s "
                         "(detect.intel_file); names must be unique",
                         a->lists[i].name, c->config_file, c->detect_intel_file);
                return ERR_INVAL;
            }
    return 0;
}

/* Reads the lists: the `intel:` key of the configuration file (inline, first) and the
 * file named by detect.intel_file; both may be given: their lists are loaded together
 * (a name used in both is an error, at most DET_MAX_INTEL_LISTS in all). *out stays
 * NULL (and 0 is returned) when neither declares a list. */
static int load_intel(const struct sensor_conf *c, struct intel_set **out, char *err,
                      size_t errlen)
{
    struct intel_conf *ic = xcalloc(MEM_CONF, 2, sizeof(*ic)); /* [0] inline, [1] file */
    struct intel_list_conf *all = NULL;
    int rc = ERR_NOMEM;
    *out = NULL;
    if (ic == NULL) {
        snprintf(err, errlen, "out of memory reading the intel file");
        return rc;
    }
    bool found = false;
    if (c->config_file[0] != '\0' &&
        (rc = intel_conf_load_inline(c->config_file, &ic[0], &found, err, errlen)) != 0)
        goto out;
    if (c->detect_intel_file[0] != '\0' &&
        (rc = intel_conf_load(c->detect_intel_file, &ic[1], err, errlen)) != 0)
        goto out;
    size_t n = ic[0].n + ic[1].n;
    rc = 0;
    if (n == 0 && !found && c->detect_intel_file[0] == '\0')
        goto out; /* no intel: key and no intel file */
    if (n > DET_MAX_INTEL_LISTS) {
        snprintf(err, errlen, "%s: more than %d intel lists with those of %s", c->config_file,
                 DET_MAX_INTEL_LISTS, c->detect_intel_file);
        rc = ERR_INVAL;
        goto out;
    }
    all = xcalloc(MEM_CONF, n ? n : 1, sizeof(*all));
    struct intel_load_stats *st = xcalloc(MEM_CONF, n ? n : 1, sizeof(*st));
    if (all == NULL || st == NULL) {
        xfree(st);
        rc = ERR_NOMEM;
        goto out;
    }
    memcpy(all, ic[0].lists, ic[0].n * sizeof(*all));
    memcpy(all + ic[0].n, ic[1].lists, ic[1].n * sizeof(*all));
    if ((rc = names_unique(c, &ic[0], &ic[1], err, errlen)) != 0) {
        xfree(st);
        goto out;
    }
    uint64_t t0 = ts_mono_us();
    *out = intel_set_load_conf(all, n, st);
    if (*out == NULL) {
        snprintf(err, errlen, "%s: an intel list could not be loaded (see the log)",
                 c->detect_intel_file[0] ? c->detect_intel_file : c->config_file);
        rc = ERR_INVAL;
    } else {
        for (size_t i = 0; i < n; i++) {
            log_notice("detect", "intel list=%s loaded=%llu rejected=%llu%s%s", all[i].name,
                       (unsigned long long)st[i].loaded, (unsigned long long)st[i].rejected,
                       st[i].first_error[0] ? " first_error=" : "", st[i].first_error);
        }
        log_notice("detect", "intel lists=%zu inline=%zu bytes=%llu load_ms=%llu", n, ic[0].n,
                   (unsigned long long)intel_set_bytes(*out),
                   (unsigned long long)((ts_mono_us() - t0) / 1000));
    }
    xfree(st);
out:
    xfree(all);
    intel_conf_free(&ic[0]);
    intel_conf_free(&ic[1]);
    xfree(ic);
    return rc;
}

/* The reload thread. SIGHUP must not stall the packet thread while 420k..1M
 * indicators are parsed and frozen (seconds), so one background thread builds the new
 * set and hands it over through `ready`; the packet thread (detect_reload_poll, once
 * a second of packet time) swaps it into d->intel, which stays single-threaded: the
 * lookups take no lock and never see a half-built set. Bounded: one load at a time; a
 * request during a load is remembered (one flag) and runs after it; a finished set
 * not yet taken is replaced by a newer one. The old set is freed by the swap, so
 * MEM_INTEL holds old + new (+ the builder's scratch) at the peak. */
struct det_reloader {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const struct sensor_conf *conf;
    bool want, stop, started;
    bool done;               /* a load finished: ready or err below */
    struct intel_set *ready; /* owned until taken by the packet thread */
    unsigned fails;          /* failed loads not yet reported */
    char err[512];
};

static void *reloader_main(void *arg)
{
    struct det_reloader *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->want && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop)
            break;
        r->want = false;
        pthread_mutex_unlock(&r->mu);
        char err[512] = "";
        struct intel_set *s = NULL;
        int rc = load_intel(r->conf, &s, err, sizeof(err));
        pthread_mutex_lock(&r->mu);
        if (rc == 0) {
            intel_set_unref(r->ready); /* a newer set replaces one never taken */
            r->ready = s;
        } else {
            r->fails++;
            snprintf(r->err, sizeof(r->err), "%s", err);
        }
        r->done = true;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void reloader_free(struct det_reloader *r)
{
    if (r == NULL)
        return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->th, NULL); /* waits for a load in progress */
    }
    intel_set_unref(r->ready);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    xfree(r);
}

static struct det_reloader *reloader_new(const struct sensor_conf *c)
{
    struct det_reloader *r = xcalloc(MEM_CORE, 1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->conf = c;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    /* Signals stay with the packet thread (its blocking reads wake on them). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&r->th, NULL, reloader_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        reloader_free(r);
        return NULL;
    }
    r->started = true;
    return r;
}

int detect_reload(struct detect *d, char *err, size_t errlen)
{
    if (!intel_configured(d->conf))
        return 0;
    if (d->rl == NULL) {
        d->rl = reloader_new(d->conf);
        if (d->rl == NULL) {
            d->reload_fails++;
            snprintf(err, errlen, "cannot start the intel reload thread");
            return ERR_NOMEM;
        }
    }
    pthread_mutex_lock(&d->rl->mu);
    d->rl->want = true; /* a load in progress runs once more after it */
    pthread_cond_signal(&d->rl->cv);
    pthread_mutex_unlock(&d->rl->mu);
    return 0;
}

int detect_reload_poll(struct detect *d, char *err, size_t errlen)
{
    struct det_reloader *r = d->rl;
    if (r == NULL)
        return 0;
    struct intel_set *s = NULL;
    unsigned fails = 0;
    if (pthread_mutex_trylock(&r->mu) != 0)
        return 0; /* the thread holds it only briefly: next second */
    if (r->done) {
        s = r->ready;
        r->ready = NULL;
        fails = r->fails;
        r->fails = 0;
        r->done = false;
        if (fails != 0)
            snprintf(err, errlen, "%s", r->err);
    }
    pthread_mutex_unlock(&r->mu);
    d->reload_fails += fails;
    if (s != NULL) {
        intel_slot_swap(&d->intel, s); /* frees the old set */
        d->reloads++;
        return fails != 0 ? ERR_INVAL : 1;
    }
    return fails != 0 ? ERR_INVAL : 0;
}

/* ---- life cycle and entry points ---------------------------------------------- */

struct detect *detect_new(const struct sensor_conf *c, const struct detect_host *h, char *err,
                          size_t errlen)
{
    struct detect *d = xcalloc(MEM_CORE, 1, sizeof(*d));
    if (d == NULL) {
        snprintf(err, errlen, "out of memory setting up the detections");
        return NULL;
    }
    d->conf = c;
    d->host = *h;
    /* A fixed key: the same input must give the same alerts (counts from the bitmaps,
     * the order of judging), byte for byte (RELIABILITY R2). Colliding keys cost only
     * evictions from the fixed tables (8 probes), never time. */
    d->hk.k0 = 0x6f7461737573656eull;
    d->hk.k1 = 0x6465746563743031ull;
    if (parse_home_net(d, c->detect_home_net, err, errlen) != 0)
        goto fail;
    d->agg = agg_new((unsigned)c->detect_max_pending);
    d->macs = xcalloc(MEM_CORE, 1, sizeof(*d->macs));
    d->behav = det_behav_new(c);
    d->beacon = det_beacon_new(c);
    d->anomaly = det_anomaly_new(c);
    d->policy = det_policy_new(c, err, errlen);
    if (d->policy == NULL)
        goto fail;
    d->spam = c->detect_spam ? det_spam_new() : NULL;
    if (c->detect_dga && (d->dga = det_dga_new(c, err, errlen)) == NULL)
        goto fail;
    if (d->agg == NULL || d->macs == NULL || d->behav == NULL || d->beacon == NULL ||
        d->anomaly == NULL || (c->detect_spam && !d->spam) ||
        jw_init(&d->jw, 4096, c->max_event_size) != 0) {
        snprintf(err, errlen, "out of memory setting up the detections");
        goto fail;
    }
    d->macs->n = 16;
    while (d->macs->n < (unsigned)c->detect_max_devices)
        d->macs->n <<= 1;
    d->macs->e = xcalloc(MEM_CORE, d->macs->n, sizeof(*d->macs->e));
    if (d->macs->e == NULL) {
        snprintf(err, errlen, "out of memory for detect.max_devices");
        goto fail;
    }
    if (c->probes_enabled && (d->probes = det_probes_new(c, err, errlen)) == NULL)
        goto fail;
    if (c->detect_files && (c->yara_rules[0] != '\0' || c->clamav_db[0] != '\0') &&
        (d->scan = det_filescan_new(c, err, errlen)) == NULL)
        goto fail;
    if (intel_configured(c)) {
        struct intel_set *s;
        if (load_intel(c, &s, err, errlen) != 0)
            goto fail;
        if (s != NULL)
            intel_slot_swap(&d->intel, s);
    }
    return d;
fail:
    detect_free(d);
    return NULL;
}

void detect_free(struct detect *d)
{
    if (d == NULL)
        return;
    reloader_free(d->rl);
    intel_slot_swap(&d->intel, NULL);
    agg_free(d->agg);
    if (d->macs != NULL)
        xfree(d->macs->e);
    xfree(d->macs);
    det_behav_free(d->behav);
    det_beacon_free(d->beacon);
    det_anomaly_free(d->anomaly);
    det_policy_free(d->policy);
    det_spam_free(d->spam);
    det_dga_free(d->dga);
    det_probes_free(d->probes);
    det_filescan_free(d->scan);
    jw_free(&d->jw);
    xfree(d);
}

void detect_flow_new(struct detect *d, const struct flow *f, const struct pkt *p, int dir)
{
    (void)dir;
    if (p->has_eth && det_is_home(d, &p->src))
        det_mac_put(d, &p->src, p->eth_src);
    det_intel_flow(d, f, p);
    det_behav_flow_new(d, f, p);
    det_beacon_flow_new(d, f, p);
    det_anomaly_flow_new(d, f, p);
    det_probes_flow_new(d, p);
}

void detect_set_appid(struct detect *d, const struct appid *a)
{
    det_policy_set_appid(d->policy, a);
    d->appid = a;
}

void detect_flow_app(struct detect *d, const struct flow *f, uint64_t ts_us)
{
    det_policy_flow_app(d, f, f->app_proto_master, f->app_proto_app, f->app_category, ts_us);
    det_ndpi_category_flow(d, f, f->app_category, ts_us);
}

void detect_flow_end(struct detect *d, const struct flow *f)
{
    det_behav_flow_end(d, f);
    det_beacon_flow_end(d, f);
    det_anomaly_flow_end(d, f);
}

bool detect_event_begin(struct detect *d, const char *line, size_t len, const char *type,
                        size_t tlen)
{
    d->ev_line = line;
    d->ev_len = len;
    return det_content_begin(d, type, tlen);
}

bool detect_event_val(const struct jscan_val *v, void *d)
{
    return det_content_val(v, d);
}

void detect_event_end(struct detect *d, int rc, uint64_t ts_us)
{
    det_content_end(d, rc, ts_us);
}

void detect_event(struct detect *d, const char *json, size_t len, uint64_t ts_us)
{
    const char *type;
    size_t tlen;
    if (jscan_event_type(json, len, &type, &tlen) && detect_event_begin(d, json, len, type, tlen))
        detect_event_end(d, jscan(json, len, detect_event_val, d), ts_us);
}

void detect_file(struct detect *d, const struct app_file *f, uint64_t ts_us)
{
    det_content_file(d, f, ts_us);
}

void detect_housekeep(struct detect *d, uint64_t now_us)
{
    d->now = now_us;
    det_behav_housekeep(d, now_us, false);
    det_anomaly_housekeep(d, now_us, false);
    agg_expire(d, now_us, false);
}

void detect_flush(struct detect *d)
{
    det_behav_housekeep(d, d->now, true);
    det_anomaly_housekeep(d, d->now, true);
    agg_expire(d, d->now, true);
}

void detect_stats(const struct detect *d, struct jw *w)
{
    jw_obj_open(w, "detect");
    jw_u64(w, "alerts", d->alerts);
    jw_u64(w, "occurrences", d->occurrences);
    jw_u64(w, "pending", d->agg->used);
    jw_u64(w, "pending_evicted", d->agg_evicted);
    jw_u64(w, "events_read", d->events_read);
    jw_u64(w, "events_bad", d->events_bad);
    jw_u64(w, "intel_hits", d->intel_hits);
    jw_u64(w, "files_checked", d->files_checked);
    det_content_stats(d, w);
    det_probes_stats(d, w);
    jw_u64(w, "intel_reloads", d->reloads);
    jw_u64(w, "intel_reload_fails", d->reload_fails);
    jw_u64(w, "suppressed", d->suppressed);
    jw_u64(w, "p2p_scans_ignored", d->p2p_scans_ignored);
    jw_u64(w, "p2p_evicted", d->p2p_evicted);
    jw_u64(w, "beacon_evicted", d->beacon_evicted);
    det_dga_stats(d, w);
    jw_u64(w, "url_category_unwatched", d->urlcat_unwatched);
    jw_u64(w, "anomaly_evicted", d->anomaly_evicted);
    const struct intel_set *s = intel_slot_get(&d->intel);
    jw_u64(w, "intel_bytes", s ? intel_set_bytes(s) : 0);
    jw_obj_open(w, "by_signature");
    for (int i = 0; i < SIG_COUNT; i++) {
        if (d->by_sig[i] == 0)
            continue;
        char id[16];
        snprintf(id, sizeof(id), "%u", (unsigned)det_sig((enum det_sig)i)->id);
        jw_u64(w, id, d->by_sig[i]);
    }
    jw_obj_close(w);
    jw_obj_close(w);
}

bool detect_scans_files(const struct detect *d)
{
    return d != NULL && d->scan != NULL;
}

uint64_t detect_alerts(const struct detect *d)
{
    return d->alerts;
}

void detect_set_own_mac(struct detect *d, const uint8_t mac[6])
{
    snprintf(d->own_mac, sizeof(d->own_mac), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
             mac[2], mac[3], mac[4], mac[5]);
}
