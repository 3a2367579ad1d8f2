/*
 * Detections on what the parsers found: threat-intel lookups of DNS names, HTTP
 * host and URL, TLS SNI and certificate names, SMTP sender domains and file
 * hashes; the HTTP exploit patterns; dangerous files (names, types, archive
 * members: archive.c looks inside, on the bytes the file tracker kept); and intel
 * lookups of a flow's addresses at its first packet.
 *
 * Events are read from their JSON line with jscan (one pass collecting the fields
 * below into a fixed struct), so that the parsers need no hook of their own; only
 * dns, http, tls, smtp and fileinfo lines are walked.
 */
#include "detect/detect_int.h"

#include "app/files.h"
#include "detect/archive.h"
#include "detect/jscan.h"
#include "output/eve.h"

#include <ctype.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NAMES 16
#define NAME_MAX_LEN 256

enum name_kind { NK_DOMAIN, NK_IP };

struct ev {
    char type[16];
    uint64_t flow_id;
    struct addr src, dst;
    bool have_src, have_dst;
    uint16_t sport, dport;
    uint8_t proto, ipver;
    char app_proto[16];
    bool dns_response;
    bool dns_nxdomain; /* rcode NXDOMAIN */
    /* names to look up, with the field they came from */
    unsigned nnames;
    struct {
        char s[NAME_MAX_LEN];
        const char *field;
        uint8_t kind;
    } names[MAX_NAMES];
    char host[NAME_MAX_LEN];
    char url[JSCAN_MAX_STR + 1];
    char ua[512];
    char filename[FILE_NAME_MAX];
    char magic[160];
    char sha256[65], md5[33];
    char ja3[33], ja4[48]; /* tls: the client's fingerprints */
    /* arp */
    bool arp_request, arp_reply, arp_skip;
    char arp_smac[18];
    struct addr arp_sip, arp_dip;
    bool have_arp_sip, have_arp_dip;
};

static bool looks_ip(const char *s)
{
    struct addr a;
    return eve_addr_parse(s, &a);
}

static void add_name(struct ev *e, const char *s, size_t n, const char *field)
{
    if (e->nnames == MAX_NAMES || n == 0 || n >= NAME_MAX_LEN)
        return;
    memcpy(e->names[e->nnames].s, s, n);
    e->names[e->nnames].s[n] = '\0';
    e->names[e->nnames].field = field;
    e->names[e->nnames].kind = looks_ip(e->names[e->nnames].s) ? NK_IP : NK_DOMAIN;
    e->nnames++;
}

static void copy(char *dst, size_t cap, const struct jscan_val *v)
{
    size_t n = v->n < cap - 1 ? v->n : cap - 1;
    memcpy(dst, v->s, n);
    dst[n] = '\0';
}

/* "CN=x, O=y" → the CN's value. */
static void add_cn(struct ev *e, const char *dn, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++) {
        if ((i == 0 || dn[i - 1] == ' ' || dn[i - 1] == ',') && strncmp(dn + i, "CN=", 3) == 0) {
            size_t s = i + 3, t = s;
            while (t < n && dn[t] != ',')
                t++;
            const char *name = dn + s;
            if (t > s && name[0] == '*' && t - s > 2) /* wildcard: look up the parent */
                add_name(e, name + 2, t - s - 2, "tls.subject");
            else
                add_name(e, name, t - s, "tls.subject");
            return;
        }
    }
}

/* The domain of "<user@domain>". */
static void add_mail_domain(struct ev *e, const char *s, size_t n, const char *field)
{
    const char *at = memchr(s, '@', n);
    if (at == NULL)
        return;
    const char *d = at + 1, *end = s + n;
    size_t k = 0;
    while (d + k < end && d[k] != '>' && d[k] != ' ')
        k++;
    add_name(e, d, k, field);
}

enum field_act { F_TYPE, F_SRC, F_DST, F_PROTO, F_APP, F_DNSTYPE, F_NAME, F_HOST, F_URL, F_UA,
                 F_CN, F_MAIL, F_FILENAME, F_MAGIC, F_SHA256, F_MD5, F_ARP_OP, F_ARP_SIP,
                 F_ARP_DIP, F_ARP_SMAC, F_RCODE, F_JA3, F_JA4 };

static const struct {
    const char *path;
    enum field_act act;
    const char *field; /* F_NAME: the evidence's "match" */
} fields[] = {
    {"event_type", F_TYPE, NULL},          {"src_ip", F_SRC, NULL},
    {"dest_ip", F_DST, NULL},              {"proto", F_PROTO, NULL},
    {"app_proto", F_APP, NULL},            {"dns.type", F_DNSTYPE, NULL},
    {"dns.rcode", F_RCODE, NULL},
    {"dns.queries.rrname", F_NAME, "dns.rrname"},
    {"dns.answers.rdata", F_NAME, "dns.rdata"},
    {"http.hostname", F_HOST, "http.hostname"},
    {"http.url", F_URL, NULL},             {"http.http_user_agent", F_UA, NULL},
    {"tls.sni", F_NAME, "tls.sni"},        {"tls.subject", F_CN, NULL},
    {"tls.ja3.hash", F_JA3, NULL},         {"tls.ja4", F_JA4, NULL},
    {"smtp.mail_from", F_MAIL, "smtp.mail_from"},
    {"fileinfo.filename", F_FILENAME, NULL}, {"fileinfo.magic", F_MAGIC, NULL},
    {"fileinfo.sha256", F_SHA256, NULL},   {"fileinfo.md5", F_MD5, NULL},
    {"arp.opcode", F_ARP_OP, NULL},        {"arp.src_ip", F_ARP_SIP, NULL},
    {"arp.dest_ip", F_ARP_DIP, NULL},      {"arp.src_mac", F_ARP_SMAC, NULL},
};

static void on_str(struct ev *e, enum field_act act, const char *field,
                   const struct jscan_val *v)
{
    switch (act) {
    case F_TYPE: copy(e->type, sizeof(e->type), v); break;
    case F_SRC:
        e->have_src = eve_addr_parse(v->s, &e->src);
        e->ipver = strchr(v->s, ':') ? 6 : 4;
        break;
    case F_DST: e->have_dst = eve_addr_parse(v->s, &e->dst); break;
    case F_PROTO:
        e->proto = strcmp(v->s, "TCP") == 0   ? IPPROTO_TCP
                   : strcmp(v->s, "UDP") == 0 ? IPPROTO_UDP
                                              : 0;
        break;
    case F_APP: copy(e->app_proto, sizeof(e->app_proto), v); break;
    case F_DNSTYPE: e->dns_response = strcmp(v->s, "response") == 0; break;
    case F_RCODE: e->dns_nxdomain = strcmp(v->s, "NXDOMAIN") == 0; break;
    case F_NAME: add_name(e, v->s, v->n, field); break;
    case F_HOST:
        copy(e->host, sizeof(e->host), v);
        add_name(e, v->s, v->n, field);
        break;
    case F_URL: copy(e->url, sizeof(e->url), v); break;
    case F_UA: copy(e->ua, sizeof(e->ua), v); break;
    case F_CN: add_cn(e, v->s, v->n); break;
    case F_MAIL: add_mail_domain(e, v->s, v->n, field); break;
    case F_FILENAME: copy(e->filename, sizeof(e->filename), v); break;
    case F_MAGIC: copy(e->magic, sizeof(e->magic), v); break;
    case F_SHA256: copy(e->sha256, sizeof(e->sha256), v); break;
    case F_MD5: copy(e->md5, sizeof(e->md5), v); break;
    case F_JA3: copy(e->ja3, sizeof(e->ja3), v); break;
    case F_JA4: copy(e->ja4, sizeof(e->ja4), v); break;
    case F_ARP_OP:
        e->arp_request = strcmp(v->s, "request") == 0;
        e->arp_reply = strcmp(v->s, "reply") == 0;
        break;
    case F_ARP_SIP: e->have_arp_sip = eve_addr_parse(v->s, &e->arp_sip); break;
    case F_ARP_DIP: e->have_arp_dip = eve_addr_parse(v->s, &e->arp_dip); break;
    case F_ARP_SMAC: copy(e->arp_smac, sizeof(e->arp_smac), v); break;
    }
}

static bool on_val(const struct jscan_val *v, void *ud)
{
    struct ev *e = ud;
    const char *p = v->path;
    if (v->type == JSCAN_NUM) {
        unsigned long long x = strtoull(v->s, NULL, 10);
        if (strcmp(p, "flow_id") == 0)
            e->flow_id = x;
        else if (strcmp(p, "src_port") == 0)
            e->sport = (uint16_t)x;
        else if (strcmp(p, "dest_port") == 0)
            e->dport = (uint16_t)x;
        return true;
    }
    if (v->type == JSCAN_BOOL) { /* address probes and announcements are not sweeps */
        if (strcmp(p, "arp.probe") == 0 || strcmp(p, "arp.gratuitous") == 0)
            e->arp_skip |= v->s[0] == 't';
        return true;
    }
    if (v->type != JSCAN_STR || v->cut)
        return true;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(p, fields[i].path) == 0) {
            on_str(e, fields[i].act, fields[i].field, v);
            break;
        }
    return true;
}

/* ---- raising ------------------------------------------------------------------- */

/* JSON-escapes s into out (the indicators are names, URLs and hashes, but a URL may
 * hold anything). */
void det_json_esc(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s != '\0' && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

/* Header of an alert from event e; swaps to the client's view for DNS responses
 * (the device is the client, not the resolver). */
static void header(const struct ev *e, struct det_alert *a, uint64_t ts)
{
    memset(a, 0, sizeof(*a));
    a->ts = ts;
    a->flow_id = e->flow_id;
    a->src = e->src;
    a->dst = e->dst;
    a->sport = e->sport;
    a->dport = e->dport;
    if (e->dns_response) {
        a->src = e->dst;
        a->dst = e->src;
        a->sport = e->dport;
        a->dport = e->sport;
    }
    a->proto = e->proto;
    a->ipver = e->ipver;
    a->app_proto = e->app_proto[0] ? e->app_proto : (e->type[0] ? e->type : NULL);
}

static void raise_intel(struct detect *d, const struct det_alert *a, const struct intel_hit *hit,
                        const char *indicator, const char *type, const char *match)
{
    const struct intel_set *s = intel_slot_get(&d->intel);
    const struct intel_list_info *li = intel_set_list(s, hit->lists[0]);
    if (li == NULL)
        return;
    int sig = det_sig_for_intel_category(li->category);
    if (sig == SIG_INTEL_URL_CATEGORY &&
        det_urlcat_raise(d, a, li->category, li->name, li->severity, indicator, type, match))
        return; /* a category list (urlcat.c) */
    if (sig < 0)
        sig = SIG_INTEL_ANOMALY;
    char ind[300], ev[DET_EVIDENCE_MAX];
    det_json_esc(ind, sizeof(ind), indicator);
    int n = snprintf(ev, sizeof(ev),
                     "{\"indicator\":\"%s\",\"type\":\"%s\",\"list\":\"%s\",\"match\":\"%s\","
                     "\"lists\":%u}",
                     ind, type, li->name, match, hit->n);
    if (n < 0 || (size_t)n >= sizeof(ev))
        n = 0;
    struct det_alert b = *a;
    b.sig = (enum det_sig)sig;
    b.severity = li->severity;
    b.variant = (uint16_t)(hit->lists[0] + 1);
    b.list = li->name;
    b.target = siphash24(&d->hk, indicator, strlen(indicator));
    b.evidence = n ? ev : NULL;
    b.evidence_len = (size_t)n;
    d->intel_hits++;
    det_raise(d, &b);
}

static void intel_names(struct detect *d, const struct ev *e, uint64_t ts)
{
    const struct intel_set *s = intel_slot_get(&d->intel);
    if (s == NULL)
        return;
    for (unsigned i = 0; i < e->nnames; i++) {
        struct intel_hit hit;
        struct det_alert a;
        const char *n = e->names[i].s;
        if (e->names[i].kind == NK_IP) {
            /* answers only: addresses in headers are matched on the flow */
            struct addr ip;
            if (strcmp(e->names[i].field, "dns.rdata") != 0 || !eve_addr_parse(n, &ip))
                continue;
            bool hitp = det_addr_is_v4(&ip)
                            ? intel_lookup_ip4(s, (uint32_t)ip.b[12] << 24 | (uint32_t)ip.b[13] << 16 |
                                                      (uint32_t)ip.b[14] << 8 | ip.b[15],
                                               &hit)
                            : intel_lookup_ip6(s, ip.b, &hit);
            if (hitp) {
                header(e, &a, ts);
                raise_intel(d, &a, &hit, n, "ip", "dns.rdata");
            }
            continue;
        }
        if (intel_lookup_domain(s, n, strlen(n), &hit)) {
            header(e, &a, ts);
            /* a name asked of the (internal) resolver is about an outside site */
            if (strncmp(e->names[i].field, "dns.", 4) == 0 && det_is_home(d, &a.src))
                a.dir = DET_OUTBOUND + 1;
            raise_intel(d, &a, &hit, n, "domain", e->names[i].field);
        }
    }
    if (e->url[0] != '\0') {
        struct intel_hit hit;
        struct det_alert a;
        if (intel_lookup_http(s, e->host, strlen(e->host), e->url, strlen(e->url), &hit)) {
            char full[NAME_MAX_LEN + JSCAN_MAX_STR + 2];
            snprintf(full, sizeof(full), "%s%s", e->url[0] == '/' ? e->host : "", e->url);
            header(e, &a, ts);
            raise_intel(d, &a, &hit, full, "url", "http.url");
        }
    }
}

static int hexbytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void intel_hashes(struct detect *d, const struct ev *e, uint64_t ts)
{
    const struct intel_set *s = intel_slot_get(&d->intel);
    uint8_t dg[32];
    struct intel_hit hit;
    struct det_alert a;
    if (s == NULL)
        return;
    if (strlen(e->sha256) == 64 && hexbytes(e->sha256, dg, 32) == 0 &&
        intel_lookup_hash(s, dg, 32, &hit)) {
        header(e, &a, ts);
        raise_intel(d, &a, &hit, e->sha256, "sha256", "fileinfo.sha256");
    } else if (strlen(e->md5) == 32 && hexbytes(e->md5, dg, 16) == 0 &&
               intel_lookup_hash(s, dg, 16, &hit)) {
        header(e, &a, ts);
        raise_intel(d, &a, &hit, e->md5, "md5", "fileinfo.md5");
    }
}

/* A client's TLS fingerprints against JA3 / JA4 lists (abuse.ch SSLBL's JA3 list, say):
 * malware families keep their TLS library's fingerprint whatever server they call. */
static void intel_tls_prints(struct detect *d, const struct ev *e, uint64_t ts)
{
    const struct intel_set *s = intel_slot_get(&d->intel);
    struct intel_hit hit;
    struct det_alert a;
    if (s == NULL)
        return;
    if (e->ja3[0] != '\0' && intel_lookup_ja3(s, e->ja3, strlen(e->ja3), &hit)) {
        header(e, &a, ts);
        raise_intel(d, &a, &hit, e->ja3, "ja3", "tls.ja3.hash");
    } else if (e->ja4[0] != '\0' && intel_lookup_ja4(s, e->ja4, strlen(e->ja4), &hit)) {
        header(e, &a, ts);
        raise_intel(d, &a, &hit, e->ja4, "ja4", "tls.ja4");
    }
}

/* ---- HTTP exploit patterns ----------------------------------------------------- */

/* Percent-decodes s once into out, lowercased. */
static void url_decode_lower(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; s[i] != '\0' && o + 1 < cap; i++) {
        char c = s[i];
        if (c == '%' && s[i + 1] != '\0' && s[i + 2] != '\0' &&
            isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
            unsigned v;
            if (sscanf(s + i + 1, "%2x", &v) == 1) {
                c = (char)v;
                i += 2;
            }
        } else if (c == '+') {
            c = ' ';
        }
        out[o++] = (char)tolower((unsigned char)c);
    }
    out[o] = '\0';
}

static const struct {
    enum det_sig sig;
    const char *pat;
} http_pats[] = {
    {SIG_HTTP_TRAVERSAL, "../"},
    {SIG_HTTP_TRAVERSAL, "..\\"},
    {SIG_HTTP_TRAVERSAL, "/etc/passwd"},
    {SIG_HTTP_TRAVERSAL, "win.ini"},
    {SIG_HTTP_SHELLSHOCK, "() {"},
    {SIG_HTTP_LOG4SHELL, "${jndi:"},
    {SIG_HTTP_LOG4SHELL, "${${"},
    {SIG_HTTP_CMDINJ, ";wget "},
    {SIG_HTTP_CMDINJ, ";curl "},
    {SIG_HTTP_CMDINJ, "|wget "},
    {SIG_HTTP_CMDINJ, ";sh "},
    {SIG_HTTP_CMDINJ, "|sh"},
    {SIG_HTTP_CMDINJ, "$(wget"},
    {SIG_HTTP_CMDINJ, "$(curl"},
    {SIG_HTTP_CMDINJ, "`wget"},
    {SIG_HTTP_CMDINJ, "/bin/sh"},
    {SIG_HTTP_CMDINJ, "/bin/bash"},
    {SIG_HTTP_CMDINJ, "cmd.exe"},
    {SIG_HTTP_CMDINJ, "powershell"},
    {SIG_HTTP_CMDINJ, ";cat /"},
    {SIG_HTTP_CMDINJ, ";id;"},
    {SIG_HTTP_CMDINJ, "chmod +x"},
    {SIG_HTTP_CMDINJ, "chmod 777"},
};

static void http_exploits(struct detect *d, const struct ev *e, uint64_t ts)
{
    static char buf[2][JSCAN_MAX_STR + 1];
    url_decode_lower(e->url, buf[0], sizeof(buf[0]));
    url_decode_lower(e->ua, buf[1], sizeof(buf[1]));
    for (size_t i = 0; i < sizeof(http_pats) / sizeof(http_pats[0]); i++) {
        for (int k = 0; k < 2; k++) {
            if (strstr(buf[k], http_pats[i].pat) == NULL)
                continue;
            char ev[DET_EVIDENCE_MAX], val[300], pat[40];
            det_json_esc(val, sizeof(val), k == 0 ? e->url : e->ua);
            det_json_esc(pat, sizeof(pat), http_pats[i].pat);
            int n = snprintf(ev, sizeof(ev), "{\"pattern\":\"%s\",\"field\":\"%s\",\"value\":\"%s\"}",
                             pat, k == 0 ? "http.url" : "http.http_user_agent", val);
            struct det_alert a;
            header(e, &a, ts);
            a.sig = http_pats[i].sig;
            a.evidence = n > 0 && (size_t)n < sizeof(ev) ? ev : NULL;
            a.evidence_len = a.evidence ? (size_t)n : 0;
            det_raise(d, &a);
            return; /* one alert per request */
        }
    }
}

/* ---- files ----------------------------------------------------------------------- */

static const char *const doc_ext[] = {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt",
                                      "jpg", "jpeg", "png", "gif", "rtf", "csv", "zip", NULL};

static bool ext_in(const char *ext, size_t n, const char *const *list)
{
    for (int i = 0; list[i] != NULL; i++)
        if (strlen(list[i]) == n && strncasecmp(ext, list[i], n) == 0)
            return true;
    return false;
}

/* The last extension of name[0..n) (after the last dot), and the one before. */
static void exts(const char *name, size_t n, const char **e1, size_t *l1, const char **e2,
                 size_t *l2)
{
    *e1 = *e2 = NULL;
    *l1 = *l2 = 0;
    const char *end = name + n;
    for (const char *p = end; p > name; p--) {
        if (p[-1] != '.')
            continue;
        if (*e1 == NULL) {
            *e1 = p;
            *l1 = (size_t)(end - p);
            end = p - 1;
        } else {
            *e2 = p;
            *l2 = (size_t)(end - p);
            return;
        }
    }
}

/* The archive part of a file alert's evidence: the member, why it counts, where. The
 * name budgets keep the whole evidence within DET_EVIDENCE_MAX (longer names are cut;
 * the fileinfo event has them whole). */
static void arc_evidence(const struct arc_result *ar, char *out, size_t cap)
{
    char mb[96], fmt[40];
    out[0] = '\0';
    if (ar == NULL)
        return;
    det_json_esc(mb, sizeof(mb), ar->member);
    det_json_esc(fmt, sizeof(fmt), ar->format);
    snprintf(out, cap, ",\"member\":\"%s\",\"member_by\":\"%s\",\"depth\":%u,\"encrypted\":%s,"
             "\"archive_format\":\"%s\"",
             mb, ar->why == ARC_WHY_MAGIC ? "magic" : "name", (unsigned)ar->depth,
             ar->exe_encrypted ? "true" : "false", fmt);
}

static void raise_file(struct detect *d, const struct ev *e, uint64_t ts, enum det_sig sig,
                       const struct arc_result *ar)
{
    char ev[DET_EVIDENCE_MAX], fn[96], mg[64], arc[DET_EVIDENCE_MAX];
    det_json_esc(fn, sizeof(fn), e->filename);
    det_json_esc(mg, sizeof(mg), e->magic);
    arc_evidence(ar, arc, sizeof(arc));
    int n = snprintf(ev, sizeof(ev), "{\"filename\":\"%s\"%s,\"magic\":\"%s\",\"sha256\":\"%s\"}",
                     fn, arc, mg, e->sha256);
    struct det_alert a;
    header(e, &a, ts);
    a.sig = sig;
    a.target = siphash24(&d->hk, e->sha256, strlen(e->sha256));
    a.evidence = n > 0 && (size_t)n < sizeof(ev) ? ev : NULL;
    a.evidence_len = a.evidence ? (size_t)n : 0;
    det_raise(d, &a);
}

/* A .js file fetched over HTTP is a web page's script, not a delivered program: the
 * benign corpus had 23 such alerts in 907 captures (jquery.js, general.js, ...). */
static bool web_script(const struct ev *e, const char *ext, size_t n)
{
    return ext != NULL && n == 2 && strncasecmp(ext, "js", 2) == 0 &&
           strncmp(e->app_proto, "http", 4) == 0;
}

static void check_file_name(struct detect *d, const struct ev *e, uint64_t ts)
{
    const char *e1, *e2;
    size_t l1, l2, n = strlen(e->filename);
    if (n == 0)
        return;
    exts(e->filename, n, &e1, &l1, &e2, &l2);
    bool exe_magic = strncmp(e->magic, "PE32", 4) == 0 || strncmp(e->magic, "MS-DOS executable", 17) == 0 ||
                     strncmp(e->magic, "ELF", 3) == 0;
    if (e1 != NULL && e2 != NULL && arc_exe_name(e->filename, n) && ext_in(e2, l2, doc_ext))
        raise_file(d, e, ts, SIG_FILE_DOUBLE_EXT, NULL);
    else if (exe_magic && e1 != NULL && ext_in(e1, l1, doc_ext))
        raise_file(d, e, ts, SIG_FILE_DISGUISED_EXE, NULL);
    else if (exe_magic || (arc_exe_name(e->filename, n) && !web_script(e, e1, l1)))
        raise_file(d, e, ts, SIG_FILE_EXE_ATTACHMENT, NULL);
}

/* The look inside the last file, made by det_content_file just before its fileinfo
 * event is read (the parsers write the event right after the observer's call), and
 * matched to the event by its sha256. */
static struct {
    bool valid;
    uint8_t sha256[32];
    bool arc; /* ar holds a look inside */
    struct arc_result ar;
    struct det_scan_hits yara;
} last_file;

/* YARA over the kept bytes of a complete file (detect.yara.rules). */
static void scan_file(struct detect *d, const uint8_t *p, size_t n, const char *name,
                      bool complete)
{
    if (!complete) {
        d->yara.incomplete++;
        return;
    }
    d->yara.scanned++;
    if (det_filescan_scan(d->scan, p, n, name, &last_file.yara) != 0)
        d->yara.errors++;
    d->yara.matched += last_file.yara.n > 0;
}

void det_content_file(struct detect *d, const struct app_file *f, uint64_t ts)
{
    (void)ts;
    d->files_checked++;
    last_file.valid = last_file.arc = false;
    last_file.yara.n = 0;
    if (!d->conf->detect_files)
        return;
    size_t n;
    bool complete;
    const uint8_t *p = file_kept(f, &n, &complete);
    last_file.valid = true;
    memcpy(last_file.sha256, f->sha256_digest, 32);
    if (d->scan != NULL)
        scan_file(d, p, n, f->name, complete);
    if (!arc_is_archive(p, n))
        return;
    const struct sensor_conf *c = d->conf;
    struct arc_limits lim = {
        .max_bytes = c->detect_arc_max_bytes,
        .max_members = (uint32_t)c->detect_arc_max_members,
        .max_depth = (uint32_t)c->detect_arc_max_depth,
        .max_ratio = (uint32_t)c->detect_arc_max_ratio,
        .max_nested = (size_t)c->detect_arc_buffer,
    };
    struct arc_result *r = &last_file.ar;
    arc_inspect(p, n, f->name, &lim, r);
    last_file.arc = true;
    d->arc.inspected++;
    d->arc.partial += !complete;
    d->arc.with_exe += r->exe;
    d->arc.encrypted += r->encrypted;
    d->arc.errors += r->error && complete; /* a cut archive ends in an error anyway */
    d->arc.bombs += r->bomb;
    d->arc.capped += r->cap_bytes || r->cap_members || r->cap_depth;
    d->arc.members += r->members;
}

/* A YARA match or a ClamAV detection: the rule (signature name) is cited in the
 * signature text ("... (rule)") and the evidence. */
static void raise_yara(struct detect *d, const struct ev *e, uint64_t ts, const char *rule,
                       const char *ns, bool clamav)
{
    char ev[DET_EVIDENCE_MAX], fn[200], r[140], n[80];
    det_json_esc(fn, sizeof(fn), e->filename);
    det_json_esc(r, sizeof(r), rule);
    det_json_esc(n, sizeof(n), ns);
    int k = snprintf(ev, sizeof(ev),
                     clamav ? "{\"filename\":\"%s\",\"virus\":\"%s\",\"engine\":\"%s\",\"sha256\":\"%s\"}"
                            : "{\"filename\":\"%s\",\"rule\":\"%s\",\"namespace\":\"%s\",\"sha256\":\"%s\"}",
                     fn, r, n, e->sha256);
    struct det_alert a;
    header(e, &a, ts);
    a.sig = clamav ? SIG_FILE_CLAMAV : SIG_FILE_YARA;
    a.list = rule;
    a.variant = (uint16_t)(1 + siphash24(&d->hk, rule, strlen(rule)) % 65535);
    a.target = siphash24(&d->hk, e->sha256, strlen(e->sha256));
    a.evidence = k > 0 && (size_t)k < sizeof(ev) ? ev : NULL;
    a.evidence_len = a.evidence ? (size_t)k : 0;
    det_raise(d, &a);
}

static void check_archive(struct detect *d, const struct ev *e, uint64_t ts)
{
    uint8_t dg[32];
    if (!last_file.valid || strlen(e->sha256) != 64 || hexbytes(e->sha256, dg, 32) != 0 ||
        memcmp(dg, last_file.sha256, 32) != 0)
        return;
    if (last_file.arc && last_file.ar.exe)
        raise_file(d, e, ts, SIG_FILE_ARCHIVE_EXE, &last_file.ar);
    for (unsigned i = 0; i < last_file.yara.n; i++)
        raise_yara(d, e, ts, last_file.yara.rule[i], last_file.yara.ns[i],
                   last_file.yara.clamav[i]);
}

void det_content_stats(const struct detect *d, struct jw *w)
{
    jw_obj_open(w, "archives");
    jw_u64(w, "inspected", d->arc.inspected);
    jw_u64(w, "partial", d->arc.partial);
    jw_u64(w, "members", d->arc.members);
    jw_u64(w, "with_executable", d->arc.with_exe);
    jw_u64(w, "encrypted", d->arc.encrypted);
    jw_u64(w, "errors", d->arc.errors);
    jw_u64(w, "bombs", d->arc.bombs);
    jw_u64(w, "capped", d->arc.capped);
    jw_obj_close(w);
    if (d->scan != NULL) {
        jw_obj_open(w, "scan"); /* YARA and ClamAV */
        jw_u64(w, "scanned", d->yara.scanned);
        jw_u64(w, "matched", d->yara.matched);
        jw_u64(w, "errors", d->yara.errors);
        jw_u64(w, "incomplete", d->yara.incomplete);
        jw_obj_close(w);
    }
}

/* ---- entry points ------------------------------------------------------------------ */

/* The event types read (the type from jscan_event_type). */
static bool wanted(const char *type, size_t tlen)
{
    static const char *const types[] = {"dns", "http", "tls", "smtp", "fileinfo", "arp"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strlen(types[i]) == tlen && memcmp(type, types[i], tlen) == 0)
            return true;
    return false;
}

/* dga.c: the question names of a dns event (the client as the header's source). */
static void dga_names(struct detect *d, const struct ev *e, uint64_t ts)
{
    struct det_alert h;
    header(e, &h, ts);
    for (unsigned i = 0; i < e->nnames; i++)
        if (e->names[i].kind == NK_DOMAIN && strcmp(e->names[i].field, "dns.rrname") == 0)
            det_dga_dns(d, e->names[i].s, e->dns_response && e->dns_nxdomain, &h);
}

/* The event being read (one at a time: the sensor's single packet thread). */
static struct ev cur;

bool det_content_begin(struct detect *d, const char *type, size_t tlen)
{
    struct ev *e = &cur;
    if (!wanted(type, tlen))
        return false;
    memset(e, 0, offsetof(struct ev, names));
    e->host[0] = e->url[0] = e->ua[0] = e->filename[0] = e->magic[0] = e->sha256[0] = '\0';
    e->md5[0] = e->ja3[0] = e->ja4[0] = '\0';
    e->arp_request = e->arp_reply = e->arp_skip = e->have_arp_sip = e->have_arp_dip = false;
    e->arp_smac[0] = '\0';
    d->events_read++;
    return true;
}

bool det_content_val(const struct jscan_val *v, void *d)
{
    (void)d;
    return on_val(v, &cur);
}

void det_content_end(struct detect *d, int rc, uint64_t ts)
{
    const struct ev *e = &cur;
    if (rc != 0) {
        d->events_bad++;
        return;
    }
    if (strcmp(e->type, "arp") == 0) { /* no flow, no header addresses */
        if (e->arp_request && d->own_mac[0] != '\0' && strcmp(e->arp_smac, d->own_mac) == 0)
            return; /* the sensor's own ARP sweep */
        if ((e->arp_request || e->arp_reply) && !e->arp_skip && e->have_arp_sip &&
            e->have_arp_dip)
            det_behav_arp(d, e->arp_request, &e->arp_sip, &e->arp_dip, ts);
        return;
    }
    if (!e->have_src || !e->have_dst) {
        d->events_bad++;
        return;
    }
    intel_names(d, e, ts);
    if (strcmp(e->type, "tls") == 0)
        intel_tls_prints(d, e, ts);
    if (strcmp(e->type, "dns") == 0 && d->dga != NULL)
        dga_names(d, e, ts);
    if (strcmp(e->type, "smtp") == 0 && d->spam != NULL) { /* spam.c */
        struct det_alert h;
        header(e, &h, ts);
        det_spam_event(d, d->ev_line, d->ev_len, &h);
    }
    if (strcmp(e->type, "http") == 0 && d->conf->detect_http_exploits)
        http_exploits(d, e, ts);
    if (strcmp(e->type, "fileinfo") == 0) {
        intel_hashes(d, e, ts);
        if (d->conf->detect_files) {
            check_file_name(d, e, ts);
            check_archive(d, e, ts);
        }
        last_file.valid = false;
    }
}

/* ---- flow addresses -------------------------------------------------------------- */

static bool lookup_addr(const struct intel_set *s, const struct addr *a, struct intel_hit *hit)
{
    if (det_addr_is_v4(a))
        return intel_lookup_ip4(s,
                                (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 |
                                    (uint32_t)a->b[14] << 8 | a->b[15],
                                hit);
    return intel_lookup_ip6(s, a->b, hit);
}

void det_intel_flow(struct detect *d, const struct flow *f, const struct pkt *p)
{
    const struct intel_set *s = intel_slot_get(&d->intel);
    if (s == NULL)
        return;
    struct intel_hit hit;
    const struct addr *sides[2] = {&p->dst, &p->src};
    const uint16_t ports[2] = {p->dport, p->sport};
    static const char *const match[2] = {"dest_ip", "src_ip"};
    for (int i = 0; i < 2; i++) {
        const struct addr *ad = sides[i];
        bool v4 = det_addr_is_v4(ad);
        bool ep = intel_lookup_endpoint(s, v4 ? ad->b + 12 : ad->b, v4 ? 4 : 16, ports[i], &hit);
        if (!ep && !lookup_addr(s, ad, &hit))
            continue;
        char ind[EVE_ADDR_LEN + 8], ip[EVE_ADDR_LEN];
        eve_addr_str(ad, ip, sizeof(ip));
        if (ep)
            snprintf(ind, sizeof(ind), v4 ? "%s:%u" : "[%s]:%u", ip, ports[i]);
        else
            snprintf(ind, sizeof(ind), "%s", ip);
        struct det_alert a;
        memset(&a, 0, sizeof(a));
        a.ts = p->ts_us;
        a.flow_id = f->flow_id;
        a.src = p->src;
        a.dst = p->dst;
        a.sport = p->sport;
        a.dport = p->dport;
        a.proto = p->proto;
        a.ipver = p->ipver;
        raise_intel(d, &a, &hit, ind, ep ? "endpoint" : "ip", match[i]);
        return; /* one per flow: the destination first */
    }
}

bool det_file_name_dangerous(const char *name, size_t n)
{
    return arc_exe_name(name, n); /* the one list of executable extensions (archive.c) */
}
