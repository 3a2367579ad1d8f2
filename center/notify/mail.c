/*
 * Rendering of notifications (notify.h): the mail as a complete RFC 5322 / MIME
 * message and the webhook's JSON body. Pure functions of the queued row, the
 * incident, the tenant and the signatures, so every retry of a notification sends
 * the same message with the same Date and Message-ID.
 *
 * The mail keeps to: CRLF line ends; header lines within 78 characters (the
 * Subject is folded into RFC 2047 encoded words that each hold whole UTF-8
 * characters); a text/plain; charset=UTF-8 body in base64, 76 characters a line.
 * The language is the tenant's: ja (Japanese, then the same in English) or en.
 */
#include "notify/notify.h"
#include "notify/tzfile.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "otasuke/timefmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NBUF_MAX ((size_t)256 * 1024)

void nbuf_free(struct nbuf *b)
{
    xfree(b->p);
    memset(b, 0, sizeof(*b));
}

static void nbuf_add(struct nbuf *b, const char *s, size_t n)
{
    if (b->bad)
        return;
    if (b->max == 0)
        b->max = NBUF_MAX;
    if (b->len + n + 1 > b->max) {
        b->bad = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = xrealloc(MEM_CORE, b->p, cap);
        if (p == NULL) {
            b->bad = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void nbuf_str(struct nbuf *b, const char *s)
{
    nbuf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void nbuf_printf(struct nbuf *b, const char *fmt,
                                                               ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->bad = 1;
        return;
    }
    nbuf_add(b, tmp, (size_t)n);
}

static const char g_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of n bytes, appended without line breaks. */
static void b64(struct nbuf *b, const unsigned char *p, size_t n)
{
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = g_b64[(v >> 18) & 63];
        q[1] = g_b64[(v >> 12) & 63];
        q[2] = '=';
        q[3] = '=';
        if (i + 1 < n)
            q[2] = g_b64[(v >> 6) & 63];
        if (i + 2 < n)
            q[3] = g_b64[v & 63];
        nbuf_add(b, q, 4);
    }
}

/* Length of the UTF-8 sequence starting with byte c (1 for anything unexpected). */
static size_t u8len(unsigned char c)
{
    return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

#define SUBJECT_WORD_BYTES 39 /* 52 base64 chars: "Subject: " + word stays within 78 */

int notify_encode_subject(const char *text, struct nbuf *out)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t n = strlen(text), i = 0;
    int first = 1;
    while (i < n) {
        size_t take = 0;
        while (i + take < n) {
            size_t l = u8len(p[i + take]);
            if (i + take + l > n || take + l > SUBJECT_WORD_BYTES)
                break;
            take += l;
        }
        if (take == 0)
            take = n - i < SUBJECT_WORD_BYTES ? n - i : SUBJECT_WORD_BYTES;
        nbuf_str(out, first ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
        b64(out, p + i, take);
        nbuf_str(out, "?=");
        i += take;
        first = 0;
    }
    return out->bad ? ERR_NOMEM : 0;
}

int notify_addr(const char *from, char *out, size_t n)
{
    const char *lt = strchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    const char *s = lt && gt ? lt + 1 : from;
    size_t len = lt && gt ? (size_t)(gt - lt - 1) : strlen(from);
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= n || memchr(s, '@', len) == NULL)
        return ERR_INVAL;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

static const char *const g_sev_ja[5] = {"?", "緊急", "高", "中", "情報"};
static const char *const g_sev_en[5] = {"?", "critical", "high", "medium", "informational"};

static int sev_idx(int s)
{
    return s >= 1 && s <= 4 ? s : 0;
}

/* RFC 5322 date-time in the tenant's zone (UTC when unknown), in English whatever the
 * locale. */
static void rfc5322_date(int64_t us, const char *zone, char *out, size_t n)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(us / 1000000);
    int32_t off = 0;
    if (zone == NULL || tz_offset(zone, (int64_t)t, &off, NULL, 0) != 0)
        off = 0;
    time_t lt = t + off;
    struct tm tm;
    gmtime_r(&lt, &tm);
    int32_t a = off < 0 ? -off : off;
    snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d %c%02d%02d", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
             off < 0 ? '-' : '+', (int)(a / 3600), (int)(a % 3600 / 60));
}

/* The device as one short text: the name, else the IP, else the MAC. */
static const char *device_label(const struct store_incident *inc)
{
    if (inc->device_name && inc->device_name[0])
        return inc->device_name;
    if (inc->device_ip && inc->device_ip[0])
        return inc->device_ip;
    if (inc->device_mac && inc->device_mac[0])
        return inc->device_mac;
    return "?";
}

static const char *or_unknown(const char *s, int ja)
{
    return s && s[0] ? s : ja ? "(不明)" : "(unknown)";
}

/* Each line of steps as a "  - " item. */
static void steps_list(struct nbuf *b, const char *steps, int ja)
{
    if (steps == NULL || steps[0] == '\0') {
        nbuf_str(b, ja ? "  - 担当アナリストからの連絡をお待ちください。\r\n"
                       : "  - Please wait for our analyst to contact you.\r\n");
        return;
    }
    for (const char *p = steps; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        nbuf_str(b, "  - ");
        nbuf_add(b, p, l);
        nbuf_str(b, "\r\n");
        p += l + (nl ? 1 : 0);
    }
}

static void text_ja(struct nbuf *b, const struct store_notify_job *j, const struct notify_sigs *sg)
{
    const struct store_incident *inc = &j->inc;
    char f[80], l[80];
    tz_format(j->tz, inc->first_seen, f, sizeof(f));
    tz_format(j->tz, inc->last_seen, l, sizeof(l));
    nbuf_printf(b, "%s ご担当者様\r\n\r\n", j->company);
    if (strcmp(j->n.reason, "escalated") == 0)
        nbuf_printf(b, "インシデント #%lld の重大度が「%s」に上がりました。\r\n\r\n",
                    (long long)inc->id, g_sev_ja[sev_idx(j->n.severity)]);
    else
        nbuf_printf(b, "機器 %s で重大度「%s」のインシデント #%lld を検知しました。\r\n\r\n",
                    device_label(inc), g_sev_ja[sev_idx(j->n.severity)], (long long)inc->id);
    nbuf_str(b, "■ 機器\r\n");
    nbuf_printf(b, "  IPアドレス: %s\r\n", or_unknown(inc->device_ip, 1));
    nbuf_printf(b, "  MACアドレス: %s\r\n", or_unknown(inc->device_mac, 1));
    nbuf_printf(b, "  名前: %s\r\n\r\n", or_unknown(inc->device_name, 1));
    nbuf_printf(b, "■ 分類: %s\r\n", inc->categories);
    nbuf_printf(b, "■ 期間: %s 〜 %s (%lld 件)\r\n\r\n", f, l, (long long)inc->alerts);
    nbuf_str(b, "■ 検知内容\r\n");
    for (int i = 0; i < sg->n; i++)
        nbuf_printf(b, "  - %s\r\n", sg->ja[i][0] ? sg->ja[i] : sg->en[i]);
    nbuf_str(b, "\r\n■ まず行うこと\r\n");
    steps_list(b, inc->steps_ja, 1);
    nbuf_str(b, "\r\nこのメールは otasuke から自動で送信されています。ご不明な点は担当の"
                "セキュリティ窓口までお問い合わせください。\r\n");
}

static void text_en(struct nbuf *b, const struct store_notify_job *j, const struct notify_sigs *sg)
{
    const struct store_incident *inc = &j->inc;
    char f[80], l[80];
    tz_format(j->tz, inc->first_seen, f, sizeof(f));
    tz_format(j->tz, inc->last_seen, l, sizeof(l));
    nbuf_printf(b, "Dear %s,\r\n\r\n", j->company);
    if (strcmp(j->n.reason, "escalated") == 0)
        nbuf_printf(b, "The severity of incident #%lld rose to %s.\r\n\r\n", (long long)inc->id,
                    g_sev_en[sev_idx(j->n.severity)]);
    else
        nbuf_printf(b, "We detected a %s incident (#%lld) on the device %s.\r\n\r\n",
                    g_sev_en[sev_idx(j->n.severity)], (long long)inc->id, device_label(inc));
    nbuf_str(b, "Device\r\n");
    nbuf_printf(b, "  IP address: %s\r\n", or_unknown(inc->device_ip, 0));
    nbuf_printf(b, "  MAC address: %s\r\n", or_unknown(inc->device_mac, 0));
    nbuf_printf(b, "  Name: %s\r\n\r\n", or_unknown(inc->device_name, 0));
    nbuf_printf(b, "Category: %s\r\n", inc->categories);
    nbuf_printf(b, "Seen: %s to %s (%lld alerts)\r\n\r\n", f, l, (long long)inc->alerts);
    nbuf_str(b, "What was detected\r\n");
    for (int i = 0; i < sg->n; i++)
        nbuf_printf(b, "  - %s\r\n", sg->en[i][0] ? sg->en[i] : sg->ja[i]);
    nbuf_str(b, "\r\nFirst steps\r\n");
    steps_list(b, inc->steps_en, 0);
    nbuf_str(b, "\r\nThis mail was sent by otasuke. For questions, contact your security "
                "provider.\r\n");
}

static void subject_text(const struct store_notify_job *j, int ja, char *out, size_t n)
{
    const struct store_incident *inc = &j->inc;
    int esc = strcmp(j->n.reason, "escalated") == 0;
    if (ja)
        snprintf(out, n, "[otasuke] %s: %s #%lld %s (%s)", g_sev_ja[sev_idx(j->n.severity)],
                 esc ? "インシデントの重大度上昇" : "新しいインシデント", (long long)inc->id,
                 device_label(inc), inc->categories);
    else
        snprintf(out, n, "[otasuke] %s: %s #%lld %s (%s)", g_sev_en[sev_idx(j->n.severity)],
                 esc ? "incident escalated" : "new incident", (long long)inc->id,
                 device_label(inc), inc->categories);
}

/* "a@x, b@y" folded so that each header line stays short. */
static void to_header(struct nbuf *b, const char *contacts)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", contacts);
    size_t col = 4;
    int n = 0;
    nbuf_str(b, "To: ");
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        size_t l = strlen(t);
        while (l > 0 && t[l - 1] == ' ')
            t[--l] = '\0';
        if (l == 0)
            continue;
        if (n > 0) {
            nbuf_str(b, col + l + 2 > 76 ? ",\r\n " : ", ");
            col = col + l + 2 > 76 ? 1 : col + 2;
        }
        nbuf_str(b, t);
        col += l;
        n++;
    }
    if (n == 0)
        nbuf_str(b, "undisclosed-recipients:;");
    nbuf_str(b, "\r\n");
}

int notify_render_mail(const struct store_notify_job *j, const struct notify_sigs *sigs,
                       const char *from, struct nbuf *out)
{
    int ja = j->lang == NULL || strcmp(j->lang, "en") != 0;
    char date[64], subject[512], addr[256];
    rfc5322_date(j->n.created, j->tz, date, sizeof(date));
    subject_text(j, ja, subject, sizeof(subject));
    if (notify_addr(from, addr, sizeof(addr)) != 0)
        snprintf(addr, sizeof(addr), "otasuke@otasuke.invalid");
    const char *domain = strchr(addr, '@') + 1;
    nbuf_printf(out, "Date: %s\r\n", date);
    nbuf_printf(out, "From: %s\r\n", from[0] ? from : addr);
    to_header(out, j->contacts ? j->contacts : "");
    nbuf_str(out, "Subject: ");
    notify_encode_subject(subject, out);
    nbuf_str(out, "\r\n");
    nbuf_printf(out, "Message-ID: <otasuke.n%lld.i%lld.%lld@%s>\r\n", (long long)j->n.id,
                (long long)j->inc.id, (long long)j->n.created, domain);
    nbuf_str(out, "MIME-Version: 1.0\r\n"
                  "Content-Type: text/plain; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: base64\r\n");
    nbuf_printf(out, "X-Otasuke-Incident: %lld\r\n", (long long)j->inc.id);
    nbuf_printf(out, "X-Otasuke-Severity: %d\r\n\r\n", j->n.severity);
    struct nbuf text = {0};
    if (ja) {
        text_ja(&text, j, sigs);
        nbuf_str(&text, "\r\n---- English ----\r\n\r\n");
    }
    text_en(&text, j, sigs);
    for (size_t i = 0; !text.bad && i < text.len; i += 57) { /* 57 bytes = 76 base64 chars */
        b64(out, (const unsigned char *)text.p + i, text.len - i < 57 ? text.len - i : 57);
        nbuf_str(out, "\r\n");
    }
    int bad = text.bad || out->bad;
    nbuf_free(&text);
    return bad ? ERR_NOMEM : 0;
}

/* Lines of steps as a JSON array. */
static void steps_json(struct jw *w, const char *key, const char *steps)
{
    jw_arr_open(w, key);
    for (const char *p = steps ? steps : ""; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        jw_strn(w, NULL, p, l);
        p += l + (nl ? 1 : 0);
    }
    jw_arr_close(w);
}

static void opt_str(struct jw *w, const char *key, const char *v)
{
    if (v != NULL && v[0] != '\0')
        jw_str(w, key, v);
    else
        jw_null(w, key);
}

int notify_render_webhook(const struct store_notify_job *j, const struct notify_sigs *sigs,
                          struct nbuf *out)
{
    const struct store_incident *inc = &j->inc;
    struct jw w;
    if (jw_init(&w, 4096, NBUF_MAX) != 0)
        return ERR_NOMEM;
    char t[TS_RFC3339_LEN];
    jw_obj_open(&w, NULL);
    jw_str(&w, "type", strcmp(j->n.reason, "escalated") == 0 ? "incident.escalated"
                                                            : "incident.opened");
    jw_i64(&w, "notification_id", j->n.id);
    ts_format(t, sizeof(t), (uint64_t)j->n.created, 0);
    jw_str(&w, "queued", t);
    jw_obj_open(&w, "incident");
    jw_i64(&w, "id", inc->id);
    jw_i64(&w, "company_id", inc->company_id);
    jw_str(&w, "company", j->company);
    jw_i64(&w, "severity", j->n.severity);
    jw_str(&w, "severity_name", g_sev_en[sev_idx(j->n.severity)]);
    jw_str(&w, "severity_name_ja", g_sev_ja[sev_idx(j->n.severity)]);
    jw_str(&w, "state", incident_state_name(inc->state));
    jw_arr_open(&w, "categories");
    for (const char *p = inc->categories; *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        jw_strn(&w, NULL, p, l);
        p += l + (c ? 1 : 0);
    }
    jw_arr_close(&w);
    jw_obj_open(&w, "device");
    opt_str(&w, "ip", inc->device_ip);
    opt_str(&w, "mac", inc->device_mac);
    opt_str(&w, "name", inc->device_name);
    jw_obj_close(&w);
    jw_i64(&w, "alerts", inc->alerts);
    ts_format(t, sizeof(t), (uint64_t)inc->first_seen, 0);
    jw_str(&w, "first_seen", t);
    ts_format(t, sizeof(t), (uint64_t)inc->last_seen, 0);
    jw_str(&w, "last_seen", t);
    jw_arr_open(&w, "signatures");
    for (int i = 0; i < sigs->n; i++) {
        jw_obj_open(&w, NULL);
        jw_str(&w, "en", sigs->en[i]);
        jw_str(&w, "ja", sigs->ja[i]);
        jw_obj_close(&w);
    }
    jw_arr_close(&w);
    jw_obj_open(&w, "first_steps");
    steps_json(&w, "ja", inc->steps_ja);
    steps_json(&w, "en", inc->steps_en);
    jw_obj_close(&w);
    jw_obj_close(&w);
    jw_obj_close(&w);
    int rc = jw_ok(&w) ? 0 : ERR_NOMEM;
    if (rc == 0)
        nbuf_add(out, w.buf, w.len);
    jw_free(&w);
    return rc == 0 && !out->bad ? 0 : ERR_NOMEM;
}
