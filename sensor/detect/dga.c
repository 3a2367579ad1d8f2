/*
 * DGA-like domain names (issue 4, `c2`, 2000103): malware that finds its C&C server
 * through a domain generation algorithm looks up many names that were never registered
 * (answered NXDOMAIN) and whose registrable label looks random ("fshvbxglxthaptu.com").
 *
 * Per internal device (the DNS client), within detect.dga.window from its first
 * suspicious name, the distinct names it asked that are
 *   - random-looking: the registrable label (left of the public suffix, found with
 *     Debian's libpsl) is at least 8 characters and scores as random (dga_label_random:
 *     the mean log-probability of its character bigrams against a table built from real
 *     registered names, tools/gen-dga-bigrams, plus character entropy, the longest
 *     consonant run and a mix of letters and digits), or
 *   - answered NXDOMAIN,
 * are counted in two counters. detect.dga.min_random random-looking names, or
 * detect.dga.min_nxdomain NXDOMAIN names, raise one alert (evidence: both counts and up
 * to four sample names); each further suspicious name in the window is one more
 * occurrence of that alert (aggregated by detect.c: one alert per device).
 *
 * Never judged: reverse lookups (in-addr.arpa, ip6.arpa, any .arpa), single-label
 * names, names whose top-level domain is not on the public suffix list (.local, .lan,
 * .internal, .localdomain, .corp: LAN names and search-domain guesses), DNS-SD and SRV
 * names (a label starting with '_'), names under a built-in CDN / cloud parent whose
 * labels are hashes by design (akamaiedge.net, cloudfront.net, ...), and names under a
 * domain of detect.dga.ignore (the network's search domains).
 *
 * Memory: a fixed table of detect.dga.max_devices trackers (open addressing, 8 probes,
 * the least recently active of the probe run replaced and counted in dga_evicted);
 * each holds the hashes of its first DGA_SET suspicious names (later ones are counted
 * without the duplicate check: by then the alert has been raised). The classification
 * of the last names seen is cached (CACHE entries, direct-mapped by the name's hash), so
 * that a request and its response, and the names an office asks all day, cost one
 * public-suffix lookup; names without a label of 8+ characters skip that lookup.
 */
#include "detect/detect_int.h"
#include "detect/dga_bigrams.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <ctype.h>
#include <libpsl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DGA_SET 64
#define DGA_SAMPLES 4
#define DGA_SAMPLE_LEN 64
#define PROBES 8
#define MAX_IGNORE 32
#define NAME_MAX_LEN 256
#define CACHE 1024 /* names classified lately (direct-mapped by hash) */

enum { F_RANDOM = 1, F_NX = 2 };

struct dga_dev {
    bool used, raised;
    uint8_t ipver, proto, nsample;
    uint16_t sport, dport;
    struct addr dev, resolver;
    uint64_t flow_id;
    uint64_t start, last;
    uint32_t nrandom, nnx, nset;
    uint64_t h[DGA_SET];
    uint8_t flags[DGA_SET];
    char sample[DGA_SAMPLES][DGA_SAMPLE_LEN];
};

struct det_dga {
    struct dga_dev *t;
    unsigned n; /* power of two */
    const psl_ctx_t *psl;
    unsigned nignore;
    char ignore[MAX_IGNORE][128];
    uint64_t names_judged, names_random, names_nx, evicted;
    /* the classification (without NXDOMAIN) of names seen lately: a request and its
     * response, and the names an office asks all day, are classified once */
    uint64_t ckey[CACHE];
    uint8_t cval[CACHE]; /* the classification + 1 */
};

/* CDN and cloud parents whose host labels are hashes or counters by design. */
static const char *const cdn_parents[] = {
    "akamai.net",          "akamaiedge.net",    "akamaihd.net",      "akadns.net",
    "akamaized.net",       "edgekey.net",       "edgesuite.net",     "cloudfront.net",
    "amazonaws.com",       "awsglobalaccelerator.com", "azureedge.net", "azurefd.net",
    "azure.com",           "windows.net",       "trafficmanager.net", "msedge.net",
    "azure-dns.com",       "azure-dns.net",     "azure-dns.org",     "azure-dns.info",
    "googleusercontent.com", "googlevideo.com", "gvt1.com",          "gvt2.com",
    "1e100.net",           "googlesyndication.com", "doubleclick.net", "appspot.com",
    "fastly.net",          "fastlylb.net",      "cdn77.org",         "phicdn.net",
    "llnwd.net",           "edgecastcdn.net",   "cloudflare.net",    "cloudflare.com",
    "herokuapp.com",       "digicert.com",      "footprintdns.com",  "office.net",
    "sophosxl.net",        "mcafee.com",        "e5.sk",             "spotify.com",
    "yandex.net",          "ntp.org",           "ddns.net",          "duckdns.org",
};

struct det_dga *det_dga_new(const struct sensor_conf *c, char *err, size_t errlen)
{
    struct det_dga *g = xcalloc(MEM_CORE, 1, sizeof(*g));
    if (g == NULL) {
        snprintf(err, errlen, "out of memory for detect.dga");
        return NULL;
    }
    g->n = 16;
    while (g->n < (uint64_t)c->detect_dga_max_devices && g->n < (1u << 30))
        g->n <<= 1;
    g->t = xcalloc(MEM_CORE, g->n, sizeof(*g->t));
    /* the newer of the built-in list and Debian's publicsuffix file */
    g->psl = psl_latest(NULL);
    if (g->psl == NULL)
        g->psl = psl_builtin();
    if (g->t == NULL || g->psl == NULL) {
        snprintf(err, errlen, g->t == NULL ? "out of memory for detect.dga.max_devices"
                                           : "detect.dga: no public suffix list (libpsl)");
        det_dga_free(g);
        return NULL;
    }
    const char *p = c->detect_dga_ignore;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',' || *p == '.')
            p++;
        size_t n = strcspn(p, " ,");
        while (n > 0 && p[n - 1] == '.')
            n--;
        if (n == 0)
            break;
        if (g->nignore == MAX_IGNORE || n >= sizeof(g->ignore[0])) {
            snprintf(err, errlen, "detect.dga.ignore: at most %d domains of at most %zu characters",
                     MAX_IGNORE, sizeof(g->ignore[0]) - 1);
            det_dga_free(g);
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            g->ignore[g->nignore][i] = (char)tolower((unsigned char)p[i]);
        g->ignore[g->nignore][n] = '\0';
        g->nignore++;
        p += n;
    }
    return g;
}

void det_dga_free(struct det_dga *g)
{
    if (g == NULL)
        return;
    if (g->psl != NULL && g->psl != psl_builtin())
        psl_free((psl_ctx_t *)g->psl);
    xfree(g->t);
    xfree(g);
}

/* ---- the label score ------------------------------------------------------------ */

/* The index of c in DGA_SYMS ("^a..z0..9-$"), -1 for other characters. */
static int sym(char c)
{
    if (c >= 'a' && c <= 'z')
        return 1 + (c - 'a');
    if (c >= '0' && c <= '9')
        return 27 + (c - '0');
    return c == '-' ? 37 : -1;
}

bool dga_label_random(const char *l, size_t n, struct dga_score *sc)
{
    struct dga_score s;
    memset(&s, 0, sizeof(s));
    if (sc != NULL)
        *sc = s;
    if (n < 8 || n > 63)
        return false;
    int prev = 0; /* '^' */
    long sum = 0;
    unsigned count[DGA_NSYMS] = {0}, digits = 0, run = 0;
    for (size_t i = 0; i < n; i++) {
        int k = sym((char)tolower((unsigned char)l[i]));
        if (k < 0)
            return false; /* not a host name label (IDN's xn-- labels are letters) */
        sum += dga_bigram[prev][k];
        prev = k;
        count[k]++;
        char c = DGA_SYMS[k]; /* lowercased */
        digits += c >= '0' && c <= '9';
        if (c >= 'a' && c <= 'z' && strchr("aeiouy", c) == NULL) {
            if (++run > s.consonant_run)
                s.consonant_run = run;
        } else {
            run = 0;
        }
    }
    sum += dga_bigram[prev][DGA_NSYMS - 1]; /* '$' */
    s.bigram = (double)sum / 8.0 / (double)(n + 1);
    for (int k = 0; k < DGA_NSYMS; k++)
        if (count[k] != 0) {
            double p = (double)count[k] / (double)n;
            s.entropy -= p * log2(p);
        }
    s.digit_ratio = (double)digits / (double)n;
    /* points: tuned on maltrail's DGA trails (necurs, cryptolocker, locky, ramnit, ...)
     * against UT1's category domain lists and the corpus's DNS names (docs/detections.md) */
    int pts = 0;
    if (s.bigram < -5.5)
        pts += 3; /* on its own: letters that real names hardly ever put together */
    else if (s.bigram < -5.0)
        pts += 2;
    else if (s.bigram < -4.4)
        pts += 1;
    pts += s.consonant_run >= 5;
    pts += s.entropy >= 3.5;
    pts += n >= 10 && s.digit_ratio >= 0.3 && s.digit_ratio < 1.0;
    s.points = pts;
    if (sc != NULL)
        *sc = s;
    return pts >= 3;
}

/* ---- names ---------------------------------------------------------------------- */

static bool ends_with_domain(const char *name, size_t n, const char *dom)
{
    size_t k = strlen(dom);
    if (k > n || memcmp(name + n - k, dom, k) != 0)
        return false;
    return k == n || name[n - k - 1] == '.';
}

/* True when the lowercased name[0..n) (its last label at dot) is never judged. */
static bool excluded(const struct det_dga *g, const char *name, size_t n, const char *dot)
{
    if (ends_with_domain(name, n, "arpa"))
        return true; /* reverse lookups (in-addr.arpa, ip6.arpa) */
    if (name[0] == '_' || strstr(name, "._") != NULL)
        return true; /* DNS-SD, SRV */
    /* a top-level domain not on the list (.local, .lan, .internal, .corp, ...) */
    if (!psl_is_public_suffix2(g->psl, dot + 1, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
        return true;
    for (unsigned i = 0; i < g->nignore; i++)
        if (ends_with_domain(name, n, g->ignore[i]))
            return true;
    for (size_t i = 0; i < sizeof(cdn_parents) / sizeof(cdn_parents[0]); i++)
        if (ends_with_domain(name, n, cdn_parents[i]))
            return true;
    return false;
}

static size_t longest_label(const char *name, size_t n)
{
    size_t run = 0, longest = 0;
    for (size_t i = 0; i < n; i++) {
        run = name[i] == '.' ? 0 : run + 1;
        if (run > longest)
            longest = run;
    }
    return longest;
}

/* -1: never judged; 0: judged, ordinary; F_RANDOM: random-looking. */
static int classify_base(const struct det_dga *g, const char *name_in)
{
    char name[NAME_MAX_LEN];
    size_t n = strlen(name_in);
    if (n == 0 || n >= sizeof(name))
        return -1;
    for (size_t i = 0; i <= n; i++)
        name[i] = (char)tolower((unsigned char)name_in[i]);
    while (n > 0 && name[n - 1] == '.')
        name[--n] = '\0';
    const char *dot = strrchr(name, '.');
    if (dot == NULL || dot[1] == '\0')
        return -1; /* single label: a LAN name or a search-domain guess */
    if (excluded(g, name, n, dot))
        return -1;
    if (longest_label(name, n) < 8)
        return 0; /* nothing can look random */
    const char *reg = psl_registrable_domain(g->psl, name);
    if (reg != NULL) {
        const char *end = strchr(reg, '.');
        if (end != NULL && dga_label_random(reg, (size_t)(end - reg), NULL))
            return F_RANDOM;
    }
    return 0;
}

int det_dga_classify(const struct det_dga *g, const char *name, bool nxdomain)
{
    int f = classify_base(g, name);
    return f < 0 ? -1 : f | (nxdomain ? F_NX : 0);
}

/* ---- trackers ------------------------------------------------------------------- */

static struct dga_dev *dev_find(struct detect *d, const struct addr *a, uint64_t ts)
{
    struct det_dga *g = d->dga;
    unsigned h = (unsigned)siphash24(&d->hk, a->b, sizeof(a->b));
    struct dga_dev *victim = NULL;
    for (unsigned k = 0; k < PROBES; k++) {
        struct dga_dev *t = &g->t[(h + k) & (g->n - 1)];
        if (t->used && memcmp(&t->dev, a, sizeof(*a)) == 0)
            return t;
        if (victim == NULL || (victim->used && (!t->used || t->last < victim->last)))
            victim = t;
    }
    if (victim->used)
        g->evicted++;
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->dev = *a;
    victim->start = ts;
    return victim;
}

static void add_sample(struct dga_dev *t, const char *name)
{
    if (t->nsample < DGA_SAMPLES)
        snprintf(t->sample[t->nsample++], DGA_SAMPLE_LEN, "%s", name);
}

static void raise_dga(struct detect *d, struct dga_dev *t, uint64_t ts, uint64_t count)
{
    char ev[DET_EVIDENCE_MAX], samples[4 * DGA_SAMPLE_LEN * 2 + 16], esc[DGA_SAMPLE_LEN * 2];
    size_t o = 0;
    samples[o++] = '[';
    for (unsigned i = 0; i < t->nsample; i++) {
        det_json_esc(esc, sizeof(esc), t->sample[i]);
        o += (size_t)snprintf(samples + o, sizeof(samples) - o, "%s\"%s\"", i ? "," : "", esc);
    }
    snprintf(samples + o, sizeof(samples) - o, "]");
    int n = snprintf(ev, sizeof(ev),
                     "{\"random_names\":%u,\"nxdomain_names\":%u,\"window_seconds\":%llu,"
                     "\"samples\":%s}",
                     t->nrandom, t->nnx,
                     (unsigned long long)(d->conf->detect_dga_window / 1000000), samples);
    struct det_alert a = {.sig = SIG_C2_DGA, .ts = t->raised ? ts : t->start, .last = ts,
                          .count = count, .flow_id = t->flow_id, .src = t->dev,
                          .dst = t->resolver, .sport = t->sport, .dport = t->dport,
                          .proto = t->proto, .ipver = t->ipver, .app_proto = "dns",
                          .target = 0x6467612d6e616d65ull, /* one alert per device */
                          .dir = DET_OUTBOUND + 1, /* names of outside sites */
                          .evidence = ev,
                          .evidence_len = n > 0 && (size_t)n < sizeof(ev) ? (size_t)n : 0};
    det_raise(d, &a);
    t->raised = true;
}

static int classify_cached(struct det_dga *g, const char *name, uint64_t h)
{
    unsigned ci = (unsigned)h & (CACHE - 1);
    if (g->ckey[ci] != h || h == 0) {
        g->ckey[ci] = h;
        g->cval[ci] = (uint8_t)(classify_base(g, name) + 1);
    }
    return (int)g->cval[ci] - 1;
}

/* The flags slot of name hash h in t's set (NULL past DGA_SET); *known: seen before. */
static uint8_t *name_slot(struct dga_dev *t, uint64_t h, bool *known)
{
    *known = false;
    for (uint32_t i = 0; i < t->nset && i < DGA_SET; i++)
        if (t->h[i] == h) {
            *known = true;
            return &t->flags[i];
        }
    uint8_t *fl = NULL;
    if (t->nset < DGA_SET) {
        t->h[t->nset] = h;
        t->flags[t->nset] = 0;
        fl = &t->flags[t->nset];
    }
    t->nset++; /* past DGA_SET names are counted without the duplicate check */
    return fl;
}

void det_dga_dns(struct detect *d, const char *name, bool nxdomain, const struct det_alert *hdr)
{
    struct det_dga *g = d->dga;
    if (g == NULL || !det_is_home(d, &hdr->src))
        return;
    uint64_t h = siphash24(&d->hk, name, strlen(name));
    int f = classify_cached(g, name, h);
    if (f < 0)
        return;
    f |= nxdomain ? F_NX : 0;
    g->names_judged++;
    if (f == 0)
        return;
    struct dga_dev *t = dev_find(d, &hdr->src, hdr->ts);
    const struct sensor_conf *c = d->conf;
    if (hdr->ts >= t->start + c->detect_dga_window) { /* a new window */
        struct addr dev = t->dev;
        memset(t, 0, sizeof(*t));
        t->used = true;
        t->dev = dev;
        t->start = hdr->ts;
    }
    if (hdr->ts > t->last)
        t->last = hdr->ts;
    bool known;
    uint8_t *fl = name_slot(t, h, &known);
    int fresh = f & ~(fl != NULL ? *fl : 0);
    if (fresh == 0)
        return; /* this name was counted already */
    if (fl != NULL)
        *fl |= (uint8_t)fresh;
    g->names_random += (fresh & F_RANDOM) != 0;
    g->names_nx += (fresh & F_NX) != 0;
    t->nrandom += (fresh & F_RANDOM) != 0;
    t->nnx += (fresh & F_NX) != 0;
    if (!known)
        add_sample(t, name);
    t->flow_id = hdr->flow_id;
    t->resolver = hdr->dst;
    t->sport = hdr->sport;
    t->dport = hdr->dport;
    t->proto = hdr->proto;
    t->ipver = hdr->ipver;
    if (t->raised) {
        if (!known)
            raise_dga(d, t, hdr->ts, 1); /* one more name: one more occurrence */
        return;
    }
    if (t->nrandom >= (uint32_t)c->detect_dga_min_random ||
        t->nnx >= (uint32_t)c->detect_dga_min_nxdomain)
        raise_dga(d, t, hdr->ts, t->nset); /* count: the distinct suspicious names */
}

void det_dga_stats(const struct detect *d, struct jw *w)
{
    const struct det_dga *g = d->dga;
    if (g == NULL)
        return;
    jw_obj_open(w, "dga");
    jw_u64(w, "names_judged", g->names_judged);
    jw_u64(w, "names_random", g->names_random);
    jw_u64(w, "names_nxdomain", g->names_nx);
    jw_u64(w, "evicted", g->evicted);
    jw_obj_close(w);
}
