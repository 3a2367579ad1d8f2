/*
 * SMTP parser tests, through the parser table (smtp_parser) with a sink that captures
 * the events as JSON lines: hand-made sessions (pipelining, multi-line replies, a MIME
 * message with a base64 attachment of known sha256, an RFC 2231 ISO-2022-JP file name,
 * an ISO-2022-JP subject, a Shift_JIS sender name, dot-stuffing, STARTTLS, AUTH, BDAT,
 * the caps), each fed whole, with every segment split at every offset, and byte by
 * byte: the events must be the same. Expected hashes and decodings were computed with
 * Python (hashlib, email.header), not with this parser.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "app/files.h"
#include "app/smtp.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

/* ---- a capturing sink ---- */

static struct jw g_w;
static char g_out[1 << 16];
static size_t g_len;

static void out_add(const char *s, size_t n)
{
    if (g_len + n + 1 > sizeof(g_out))
        n = sizeof(g_out) - 1 - g_len;
    memcpy(g_out + g_len, s, n);
    g_len += n;
    g_out[g_len] = '\0';
}

static struct jw *t_begin(struct app_sink *s, const char *type, int dir)
{
    (void)s;
    jw_reset(&g_w);
    jw_obj_open(&g_w, NULL);
    jw_str(&g_w, "event_type", type);
    jw_u64(&g_w, "dir", (uint64_t)dir);
    return &g_w;
}

static void t_end(struct app_sink *s)
{
    (void)s;
    jw_obj_close(&g_w);
    out_add(jw_ok(&g_w) ? g_w.buf : "(bad)", jw_ok(&g_w) ? g_w.len : 5);
    out_add("\n", 1);
}

static void t_anomaly(struct app_sink *s, int kind, int dir)
{
    (void)s;
    char b[96];
    int n = snprintf(b, sizeof(b), "anomaly %s %d\n", smtp_parser.kind_name(kind), dir);
    out_add(b, (size_t)n);
}

static struct app_sink g_sink = {.event_begin = t_begin, .event_end = t_end,
                                 .anomaly = t_anomaly};

/* ---- sessions ---- */

struct seg {
    int dir;
    const char *d;
    size_t n;
};

static struct sensor_conf g_conf;

static void smtp_conf_defaults(void)
{
    memset(&g_conf, 0, sizeof(g_conf));
    g_conf.smtp_enabled = true;
    g_conf.smtp_max_line = 4096;
    g_conf.smtp_max_rcpt = 64;
    g_conf.smtp_max_message = 32u << 20;
    g_conf.smtp_mime_max_depth = 8;
    g_conf.smtp_mime_max_parts = 100;
    g_conf.smtp_decode_attachments = true;
}

/* Feeds the session with each segment cut in pieces of `step` bytes (0: whole), each
 * piece an exact-size heap copy; returns the captured output (static). */
static const char *run(const struct seg *ss, size_t nseg, size_t step)
{
    g_len = 0;
    g_out[0] = '\0';
    void *st = smtp_parser.state_new(&g_conf);
    if (st == NULL)
        return "(no state)";
    for (size_t i = 0; i < nseg; i++) {
        size_t off = 0;
        while (off < ss[i].n) {
            size_t k = step == 0 ? ss[i].n - off : step;
            if (k > ss[i].n - off)
                k = ss[i].n - off;
            uint8_t *c = malloc(k);
            memcpy(c, ss[i].d + off, k);
            smtp_parser.data(st, &g_sink, ss[i].dir, c, k);
            free(c);
            off += k;
        }
    }
    smtp_parser.end(st, &g_sink);
    smtp_parser.state_free(st);
    return g_out;
}

/* Same output whole, with each segment split once at every offset, and byte by byte. */
static bool same_every_split(const struct seg *ss, size_t nseg)
{
    static char whole[sizeof(g_out)];
    snprintf(whole, sizeof(whole), "%s", run(ss, nseg, 0));
    size_t maxn = 0;
    for (size_t i = 0; i < nseg; i++)
        maxn = ss[i].n > maxn ? ss[i].n : maxn;
    struct seg *cut = calloc(nseg * 2, sizeof(*cut));
    for (size_t k = 1; k < maxn; k++) {
        size_t m = 0;
        for (size_t i = 0; i < nseg; i++) {
            size_t a = k < ss[i].n ? k : ss[i].n;
            cut[m++] = (struct seg){ss[i].dir, ss[i].d, a};
            if (a < ss[i].n)
                cut[m++] = (struct seg){ss[i].dir, ss[i].d + a, ss[i].n - a};
        }
        if (strcmp(run(cut, m, 0), whole) != 0) {
            fprintf(stderr, "split at %zu differs:\n%s\nvs whole:\n%s\n", k, g_out, whole);
            free(cut);
            return false;
        }
    }
    free(cut);
    if (strcmp(run(ss, nseg, 1), whole) != 0) {
        fprintf(stderr, "byte by byte differs:\n%s\nvs whole:\n%s\n", g_out, whole);
        return false;
    }
    run(ss, nseg, 0);
    return true;
}

#define S(dir, lit) {dir, lit, sizeof(lit) - 1}
#define C_ APP_TOSERVER
#define S_ APP_TOCLIENT

static const char *b64_attachment(void)
{
    /* 768 bytes 0x00..0xff three times, base64 in lines of 76 (sha256 from Python:
     * f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363) */
    static char out[2048];
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t in[768];
    for (int i = 0; i < 768; i++)
        in[i] = (uint8_t)i;
    size_t o = 0, col = 0;
    for (int i = 0; i < 768; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        for (int k = 3; k >= 0; k--)
            out[o++] = al[(v >> (6 * k)) & 63];
        col += 4;
        if (col == 76) {
            out[o++] = '\r';
            out[o++] = '\n';
            col = 0;
        }
    }
    out[o++] = '\r';
    out[o++] = '\n';
    out[o] = '\0';
    return out;
}

static char g_msg[8192];

static void build_message(void)
{
    snprintf(g_msg, sizeof(g_msg), "%s%s%s",
             /* From: "山田太郎" in Shift_JIS, B-encoded */
             "From: =?Shift_JIS?B?jlKTY5G+mFk=?= <yamada@example.jp>\r\n"
             "To: bob@example.com, \"Carol, C\" <carol@example.com>\r\n"
             /* "こんにちは" in ISO-2022-JP twice, the second on a folded line */
             "Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n"
             " =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n"
             "Message-ID: <1@example.jp>\r\n"
             "X-Mailer: handmade 1.0\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
             "\r\n"
             "preamble\r\n"
             "--XX\r\n"
             "Content-Type: text/plain; charset=us-ascii\r\n"
             "\r\n"
             "..a text part, not a file\r\n"
             "--XX\r\n"
             "Content-Type: application/octet-stream\r\n"
             /* RFC 2231: "こん" in ISO-2022-JP, percent-encoded, then ".bin" */
             "Content-Disposition: attachment;\r\n"
             " filename*=iso-2022-jp''%1B%24B%243%24s%1B%28B.bin\r\n"
             "Content-Transfer-Encoding: base64\r\n"
             "\r\n",
             b64_attachment(),
             "--XX\r\n"
             "Content-Type: text/plain\r\n"
             "Content-Disposition: attachment; filename=\"dots.txt\"\r\n"
             "\r\n"
             /* dot-stuffed: the file is ".hidden line\r\nend" (sha256 from Python:
              * a284525e259293acd8925741fe2faa23f35f0b55e124b1c2e0924399e10f1446) */
             "..hidden line\r\n"
             "end\r\n"
             "--XX--\r\n"
             ".\r\n");
}

static void test_full_session(void)
{
    smtp_conf_defaults();
    build_message();
    struct seg ss[] = {
        S(S_, "220 mx.example.com ESMTP\r\n"),
        S(C_, "EHLO client.example\r\n"),
        S(S_, "250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
        /* pipelined envelope */
        S(C_, "MAIL FROM:<alice@example.com> SIZE=100\r\nRCPT TO:<bob@example.com>\r\n"
              "RCPT TO:<carol@example.com>\r\nDATA\r\n"),
        S(S_, "250 ok\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n"),
        {C_, g_msg, strlen(g_msg)},
        S(S_, "250 queued\r\n"),
        S(C_, "QUIT\r\n"),
        S(S_, "221 bye\r\n"),
    };
    CHECK(same_every_split(ss, sizeof(ss) / sizeof(ss[0])));
    const char *o = g_out;
    if (getenv("SMTP_TEST_DUMP") != NULL)
        fputs(o, stderr);
    CHECK(strstr(o, "anomaly") == NULL);
    CHECK(strstr(o, "\"fileinfo\":{\"filename\":\"こん.bin\"") != NULL);
    CHECK(strstr(o, "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363") != NULL);
    CHECK(strstr(o, "\"size\":768") != NULL);
    CHECK(strstr(o, "\"filename\":\"dots.txt\"") != NULL);
    CHECK(strstr(o, "a284525e259293acd8925741fe2faa23f35f0b55e124b1c2e0924399e10f1446") != NULL);
    CHECK(strstr(o, "\"smtp\":{\"helo\":\"client.example\",\"mail_from\":\"<alice@example.com>\","
                    "\"rcpt_to\":[\"<bob@example.com>\",\"<carol@example.com>\"]}") != NULL);
    CHECK(strstr(o, "\"status\":\"PARSE_DONE\"") != NULL);
    CHECK(strstr(o, "\"from_decoded\":\"山田太郎 <yamada@example.jp>\"") != NULL);
    CHECK(strstr(o, "\"to\":[\"bob@example.com\",\"\\\"Carol, C\\\" <carol@example.com>\"]") !=
          NULL);
    CHECK(strstr(o, "\"subject\":\"こんにちはこんにちは\"") != NULL);
    CHECK(strstr(o, "\"message_id\":\"<1@example.jp>\"") != NULL);
    CHECK(strstr(o, "\"x_mailer\":\"handmade 1.0\"") != NULL);
    CHECK(strstr(o, "\"attachment\":[\"こん.bin\",\"dots.txt\"]") != NULL);
    /* one smtp event, two fileinfo */
    size_t smtp = 0, fi = 0;
    for (const char *p = o; (p = strstr(p, "\"event_type\":")) != NULL; p++) {
        smtp += strncmp(p + 13, "\"smtp\"", 6) == 0;
        fi += strncmp(p + 13, "\"fileinfo\"", 10) == 0;
    }
    CHECK_EQ_U64(smtp, 1);
    CHECK_EQ_U64(fi, 2);
}

static void test_starttls(void)
{
    smtp_conf_defaults();
    struct seg ss[] = {
        S(S_, "220 mx ESMTP\r\n"),
        S(C_, "EHLO c\r\n"),
        S(S_, "250-mx\r\n250 STARTTLS\r\n"),
        S(C_, "STARTTLS\r\n"),
        S(S_, "220 2.0.0 Ready to start TLS\r\n"),
        /* TLS from here: looks like commands, must not be parsed */
        S(C_, "\x16\x03\x01\x00\x05hello\r\nMAIL FROM:<evil@example.com>\r\nDATA\r\n"),
        S(S_, "\x16\x03\x03\x00\x02\r\n250 ok\r\n"),
    };
    CHECK(same_every_split(ss, sizeof(ss) / sizeof(ss[0])));
    CHECK(strstr(g_out, "evil") == NULL);
    CHECK(strstr(g_out, "anomaly") == NULL);
}

static void test_auth_not_logged(void)
{
    smtp_conf_defaults();
    struct seg ss[] = {
        S(S_, "220 mx\r\n"),
        S(C_, "EHLO c\r\n"),
        S(S_, "250 AUTH LOGIN PLAIN\r\n"),
        S(C_, "AUTH LOGIN\r\n"),
        S(S_, "334 VXNlcm5hbWU6\r\n"),
        S(C_, "c2VjcmV0dXNlcg==\r\n"),
        S(S_, "334 UGFzc3dvcmQ6\r\n"),
        S(C_, "MAIL FROM:<notacommand@example.com>\r\n"), /* the password line */
        S(S_, "235 2.7.0 ok\r\n"),
        S(C_, "MAIL FROM:<a@example.com>\r\n"),
        S(S_, "250 ok\r\n"),
        S(C_, "RSET\r\n"),
        S(S_, "250 ok\r\n"),
    };
    CHECK(same_every_split(ss, sizeof(ss) / sizeof(ss[0])));
    CHECK(strstr(g_out, "c2VjcmV0") == NULL);
    CHECK(strstr(g_out, "notacommand") == NULL);
    CHECK(strstr(g_out, "\"auth_mechanism\":\"LOGIN\"") != NULL);
    CHECK(strstr(g_out, "\"mail_from\":\"<a@example.com>\"") != NULL);
}

static void test_bdat_and_rcpt_cap(void)
{
    smtp_conf_defaults();
    g_conf.smtp_max_rcpt = 2;
    struct seg ss[] = {
        S(S_, "220 mx\r\n"),
        S(C_, "EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<1@x>\r\nRCPT TO:<2@x>\r\nRCPT TO:<3@x>\r\n"),
        S(S_, "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"),
        /* 21 bytes: "Subject: hi\r\n" "\r\n" "body\r\n" */
        S(C_, "BDAT 21 LAST\r\nSubject: hi\r\n\r\nbody\r\n"),
        S(S_, "250 ok\r\n"),
    };
    CHECK(same_every_split(ss, sizeof(ss) / sizeof(ss[0])));
    CHECK(strstr(g_out, "anomaly too_many_rcpt 0") != NULL);
    CHECK(strstr(g_out, "\"rcpt_to\":[\"<1@x>\",\"<2@x>\"]") != NULL);
    CHECK(strstr(g_out, "\"subject\":\"hi\"") != NULL);
    CHECK(strstr(g_out, "\"status\":\"PARSE_DONE\"") != NULL);
}

static void test_caps_and_rejected_data(void)
{
    smtp_conf_defaults();
    g_conf.smtp_max_line = 256;
    g_conf.smtp_max_message = 1024;
    static char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "HELO ", 5);
    memcpy(big + sizeof(big) - 3, "\r\n", 2);
    static char msg[4000];
    memset(msg, 'b', sizeof(msg) - 1);
    memcpy(msg, "Subject: big\r\n\r\n", 16);
    for (size_t i = 100; i < sizeof(msg) - 10; i += 100)
        memcpy(msg + i, "\r\n", 2);
    memcpy(msg + sizeof(msg) - 6, "\r\n.\r\n", 5);
    struct seg ss[] = {
        S(S_, "220 mx\r\n"),
        {C_, big, strlen(big)},
        S(S_, "250 ok\r\n"),
        S(C_, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"),
        S(S_, "250 ok\r\n250 ok\r\n554 no\r\n"),
        S(C_, "MAIL FROM:<c@x>\r\nRCPT TO:<d@x>\r\nDATA\r\n"),
        S(S_, "250 ok\r\n250 ok\r\n354 go\r\n"),
        {C_, msg, strlen(msg)},
        S(S_, "250 ok\r\n"),
    };
    CHECK(same_every_split(ss, sizeof(ss) / sizeof(ss[0])));
    CHECK(strstr(g_out, "anomaly line_too_long 0") != NULL);
    CHECK(strstr(g_out, "anomaly message_too_long 0") != NULL);
    /* the refused DATA: its envelope is logged when the next MAIL starts */
    CHECK(strstr(g_out, "\"mail_from\":\"<a@x>\"") != NULL);
    CHECK(strstr(g_out, "\"mail_from\":\"<c@x>\"") != NULL);
    CHECK(strstr(g_out, "\"subject\":\"big\"") != NULL);
}

static void test_gap_in_data(void)
{
    smtp_conf_defaults();
    void *st = smtp_parser.state_new(&g_conf);
    CHECK(st != NULL);
    g_len = 0;
    const char *a = "EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n"
                    "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                    "QUJD\r\n";
    smtp_parser.data(st, &g_sink, C_, (const uint8_t *)a, strlen(a));
    smtp_parser.gap(st, &g_sink, C_, 1000);
    const char *b = "QUJD\r\n.\r\nMAIL FROM:<next@x>\r\n";
    smtp_parser.data(st, &g_sink, C_, (const uint8_t *)b, strlen(b));
    smtp_parser.end(st, &g_sink);
    smtp_parser.state_free(st);
    CHECK(strstr(g_out, "anomaly gap 0") != NULL);
    CHECK(strstr(g_out, "\"state\":\"TRUNCATED\"") != NULL);
    CHECK(strstr(g_out, "\"mail_from\":\"<next@x>\"") != NULL);
}

static void test_probe(void)
{
    const struct app_parser *p = &smtp_parser;
    CHECK_EQ_U64(p->probe((const uint8_t *)"220 mx", 6, APP_TOCLIENT, 1234, 25), APP_PROBE_YES);
    CHECK_EQ_U64(p->probe((const uint8_t *)"220-mx", 6, APP_TOCLIENT, 1234, 25), APP_PROBE_YES);
    CHECK_EQ_U64(p->probe((const uint8_t *)"22", 2, APP_TOCLIENT, 1234, 25), APP_PROBE_MORE);
    CHECK_EQ_U64(p->probe((const uint8_t *)"ehlo x", 6, APP_TOSERVER, 1234, 25), APP_PROBE_YES);
    CHECK_EQ_U64(p->probe((const uint8_t *)"GET / ", 6, APP_TOSERVER, 1234, 80), APP_PROBE_NO);
    CHECK_EQ_U64(p->probe((const uint8_t *)"SSH-2.0", 7, APP_TOCLIENT, 1234, 22), APP_PROBE_NO);
}

int main(void)
{
    jw_init(&g_w, 1024, 1 << 20);
    RUN(test_full_session);
    RUN(test_starttls);
    RUN(test_auth_not_logged);
    RUN(test_bdat_and_rcpt_cap);
    RUN(test_caps_and_rejected_data);
    RUN(test_gap_in_data);
    RUN(test_probe);
    jw_free(&g_w);
    return check_done();
}
