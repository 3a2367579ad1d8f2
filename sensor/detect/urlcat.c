/*
 * URL categories and nDPI's verdicts on sites (issue 4).
 *
 * URL categories (`url_category`, 1000007): an intel list whose category is
 * `url_category:NAME` (a category list: plain domain lists, any intel format), `piracy`
 * (the category piracy) or `url_category` (the category named after the list) is a
 * category list, not a threat list. A name on it (DNS question or answer, HTTP host or
 * URL, TLS SNI or certificate name, flow address for IP lists) raises an occurrence
 * only when its category is watched (detect.url_category.watch, comma-separated;
 * empty: every category list loaded is watched); occurrences aggregate per (device,
 * category, domain): the alert's count is the weekly report's number of visits.
 * Unwatched hits are only counted (stats detect.url_category_unwatched).
 *
 * nDPI's categories (`malicious_site` 2000601, `malware` 2000602): nDPI 4.2 gives a
 * flow the category Malware (CUSTOM_CATEGORY_MALWARE) or Mining
 * (CUSTOM_CATEGORY_MINING: a crypto-mining pool protocol or a mining pool's host name)
 * from its own host lists and protocol dissectors. A flow in Malware is a malicious
 * site visit; a flow in Mining means the device runs a crypto miner (wanted or a
 * cryptojacker: an infection until proven otherwise), so it is a malware alert. One
 * occurrence per flow, aggregated per (device, destination), only for flows between
 * home_net and the outside (pools and malware sites are on the internet; nDPI 4.2 takes
 * local JSON-RPC for Mining). Cryptocurrency sites and
 * wallets (NDPI_PROTOCOL_CATEGORY_CRYPTO_CURRENCY, not in 4.2) are not alerted.
 */
#include "detect/detect_int.h"

#include "output/eve.h"

#include <ndpi_api.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The URL category of an intel list of category cat named list; NULL: not a category list. */
const char *det_urlcat_name(const char *cat, const char *list)
{
    if (cat == NULL)
        return NULL;
    if (strncmp(cat, "url_category:", 13) == 0 && cat[13] != '\0')
        return cat + 13;
    if (strcmp(cat, "piracy") == 0)
        return cat;
    if (strcmp(cat, "url_category") == 0)
        return list;
    return NULL;
}

bool det_urlcat_watched(const struct detect *d, const char *name)
{
    const char *w = d->conf->detect_urlcat_watch;
    size_t k = strlen(name);
    if (w[0] == '\0')
        return true;
    while (*w != '\0') {
        while (*w == ' ' || *w == ',')
            w++;
        size_t n = strcspn(w, " ,");
        if (n == k && strncasecmp(w, name, n) == 0)
            return true;
        w += n;
    }
    return false;
}

bool det_urlcat_raise(struct detect *d, const struct det_alert *a, const char *cat,
                      const char *list, unsigned severity, const char *indicator,
                      const char *type, const char *match)
{
    const char *name = det_urlcat_name(cat, list);
    if (name == NULL)
        return false;
    if (!det_urlcat_watched(d, name)) {
        d->urlcat_unwatched++;
        return true;
    }
    char ind[300], nm[80], ls[DET_LIST_NAME_MAX * 2], ev[DET_EVIDENCE_MAX];
    det_json_esc(ind, sizeof(ind), indicator);
    det_json_esc(nm, sizeof(nm), name);
    det_json_esc(ls, sizeof(ls), list);
    int n = snprintf(ev, sizeof(ev),
                     "{\"url_category\":\"%s\",\"indicator\":\"%s\",\"type\":\"%s\","
                     "\"list\":\"%s\",\"match\":\"%s\"}",
                     nm, ind, type, ls, match);
    struct det_alert b = *a;
    b.sig = SIG_INTEL_URL_CATEGORY;
    b.severity = severity; /* the list's: declare category lists with severity 4 */
    b.list = name; /* the signature cites the category: "... (piracy)" */
    b.variant = (uint16_t)(1 + siphash24(&d->hk, name, strlen(name)) % 65535);
    b.target = siphash24(&d->hk, indicator, strlen(indicator));
    b.evidence = n > 0 && (size_t)n < sizeof(ev) ? ev : NULL;
    b.evidence_len = b.evidence ? (size_t)n : 0;
    d->intel_hits++;
    det_raise(d, &b);
    return true;
}

void det_ndpi_category_flow(struct detect *d, const struct flow *f, uint16_t category,
                            uint64_t ts)
{
    if (!d->conf->detect_ndpi_malicious)
        return;
    enum det_sig sig;
    const char *name;
    if (category == CUSTOM_CATEGORY_MALWARE) {
        sig = SIG_NDPI_MALWARE_SITE;
        name = "Malware";
    } else if (category == CUSTOM_CATEGORY_MINING) {
        sig = SIG_NDPI_MINING;
        name = "Mining";
    } else {
        return;
    }
    /* a device of ours and a site outside: local JSON-RPC, which nDPI 4.2 takes for
     * Mining (the corpus's jsonrpc.pcap on loopback), is not a miner */
    bool sh = det_is_home(d, &f->key.src), dh = det_is_home(d, &f->key.dst);
    if (sh == dh)
        return;
    char ev[80];
    int n = snprintf(ev, sizeof(ev), "{\"ndpi_category\":\"%s\"}", name);
    struct det_alert a;
    memset(&a, 0, sizeof(a));
    a.sig = sig;
    a.ts = ts;
    a.flow_id = f->flow_id;
    a.src = f->key.src;
    a.dst = f->key.dst;
    a.sport = f->key.sport;
    a.dport = f->key.dport;
    a.proto = f->key.proto;
    a.ipver = f->ipver;
    a.evidence = n > 0 && (size_t)n < sizeof(ev) ? ev : NULL;
    a.evidence_len = a.evidence ? (size_t)n : 0;
    det_raise(d, &a);
}
