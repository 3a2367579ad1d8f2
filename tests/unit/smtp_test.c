/*
 * SMTP parser tests, through the parser table (smtp_parser) with a sink that captures
 * the events as JSON lines: hand-made sessions (pipelining, multi-line replies, a MIME
 * message with a base64 attachment of known sha256, an RFC 2231 ISO-2022-JP file name,
 * an ISO-2022-JP subject, a Shift_JIS sender name, dot-stuffing, STARTTLS, AUTH, BDAT,
 * the caps), each fed whole, with every segment split at every offset, and byte by
 * byte: the events must be the same. Expected hashes and decodings were computed with
 * Python (hashlib, email.header), not with this parser.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "app/files.h"
#include "app/smtp.h"
#include "decode/decode.h"
#include "flow/flow.h"
#include "flow/reasm.h"
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
    jw_str(&g_w, "app_proto", "smtp");
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
    big[sizeof(big) - 1] = '\0';
    big[0] = 'H', big[1] = 'E', big[2] = 'L', big[3] = 'O', big[4] = ' ';
    big[sizeof(big) - 3] = '\r', big[sizeof(big) - 2] = '\n';
    /* "Subject: big", a blank line, then lines of 98 'b' and the terminator */
    static char msg[4000];
    size_t o = (size_t)snprintf(msg, sizeof(msg), "Subject: big\r\n\r\n");
    while (o + 100 + 6 < sizeof(msg)) {
        memset(msg + o, 'b', 98);
        msg[o + 98] = '\r', msg[o + 99] = '\n';
        o += 100;
    }
    snprintf(msg + o, sizeof(msg) - o, ".\r\n");
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

/* Feeds one segment (exact-size copy) and returns the events it produced. */
static const char *step(void *st, int dir, const char *d)
{
    g_len = 0;
    g_out[0] = '\0';
    size_t n = strlen(d);
    uint8_t *c = malloc(n);
    for (size_t i = 0; i < n; i++)
        c[i] = (uint8_t)d[i];
    smtp_parser.data(st, &g_sink, dir, c, n);
    free(c);
    return g_out;
}

static size_t count_of(const char *o, const char *what)
{
    size_t k = 0;
    for (const char *p = o; (p = strstr(p, what)) != NULL; p++)
        k++;
    return k;
}

/* Suricata 8.0.7: a transaction completes at the server's reply to the end of its
 * message (DATA "." or BDAT LAST), so its smtp event and the fileinfo of the file the
 * end closed come with that reply; a pipelined next envelope does not end it early
 * nor mix into it (suricata-verify smtp-bdat-pipelined-next-mail). */
static void test_completion_at_reply(void)
{
    smtp_conf_defaults();
    void *st = smtp_parser.state_new(&g_conf);
    CHECK(st != NULL);
    step(st, S_, "220 mx\r\n");
    step(st, C_, "EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    step(st, S_, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    const char *o = step(st, C_,
                         "Subject: one\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
                         "--B\r\nContent-Type: application/octet-stream\r\n"
                         "Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\nAAAA\r\n"
                         "--B\r\nContent-Type: application/octet-stream\r\n"
                         "Content-Disposition: attachment; filename=\"b.bin\"\r\n\r\nBBBB\r\n"
                         "--B--\r\n.\r\n");
    /* the first file was closed by the next part: written then, body started */
    CHECK_EQ_U64(count_of(o, "\"event_type\":\"fileinfo\""), 1);
    CHECK(strstr(o, "\"filename\":\"a.bin\"") != NULL);
    CHECK(strstr(o, "\"status\":\"BODY_STARTED\"") != NULL);
    CHECK_EQ_U64(count_of(o, "\"event_type\":\"smtp\""), 0);
    /* the next envelope, pipelined before the reply: a transaction of its own */
    step(st, C_, "MAIL FROM:<c@x>\r\nRCPT TO:<d@x>\r\n");
    CHECK_EQ_U64(g_len, 0);
    o = step(st, S_, "250 queued\r\n");
    CHECK_EQ_U64(count_of(o, "\"event_type\":\"smtp\""), 1);
    CHECK_EQ_U64(count_of(o, "\"event_type\":\"fileinfo\""), 1);
    CHECK(strstr(o, "\"filename\":\"b.bin\"") != NULL);
    CHECK(strstr(o, "\"tx_id\":0") != NULL);
    CHECK_EQ_U64(count_of(o, "\"status\":\"PARSE_DONE\""), 2);
    CHECK(strstr(o, "\"mail_from\":\"<a@x>\"") != NULL);
    CHECK(strstr(o, "<c@x>") == NULL);
    CHECK(strstr(o, "\"attachment\":[\"a.bin\",\"b.bin\"]") != NULL);
    /* the second transaction: BDAT LAST, completed by its reply */
    step(st, S_, "250 ok\r\n250 ok\r\n");
    CHECK_EQ_U64(g_len, 0);
    step(st, C_, "BDAT 16 LAST\r\nSubject: two\r\n\r\nQUIT\r\n");
    CHECK_EQ_U64(g_len, 0);
    o = step(st, S_, "250 ok\r\n");
    CHECK_EQ_U64(count_of(o, "\"event_type\":\"smtp\""), 1);
    CHECK(strstr(o, "\"tx_id\":1") != NULL);
    CHECK(strstr(o, "\"mail_from\":\"<c@x>\"") != NULL);
    CHECK(strstr(o, "\"subject\":\"two\"") != NULL);
    CHECK(strstr(o, "\"helo\":\"c\"") != NULL);
    /* QUIT after a completed transaction logs nothing more (Suricata 8.0.7) */
    step(st, S_, "221 bye\r\n");
    CHECK_EQ_U64(g_len, 0);
    g_len = 0;
    smtp_parser.end(st, &g_sink);
    CHECK_EQ_U64(g_len, 0);
    smtp_parser.state_free(st);

    /* no reply before the flow ends: the transaction is written at the end */
    st = smtp_parser.state_new(&g_conf);
    CHECK(st != NULL);
    step(st, S_, "220 mx\r\n");
    step(st, C_, "EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    step(st, S_, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    step(st, C_, "Subject: three\r\n\r\nhi\r\n.\r\n");
    CHECK_EQ_U64(g_len, 0);
    g_len = 0;
    g_out[0] = '\0';
    smtp_parser.end(st, &g_sink);
    CHECK(strstr(g_out, "\"subject\":\"three\"") != NULL);
    CHECK(strstr(g_out, "\"status\":\"PARSE_DONE\"") != NULL);
    smtp_parser.state_free(st);
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


/* ---- real captures: the project's decoder, flow table and reassembler feed the parser;
 * the events are compared with tshark's dissection and with the suricata-verify checks
 * by a Python script (run by the test) ---- */

struct mini {
    FILE *out; /* events of the current capture, one JSON line each */
};

static void mini_sink_flush(struct mini *m)
{
    if (g_len > 0)
        fwrite(g_out, 1, g_len, m->out);
    g_len = 0;
    g_out[0] = '\0';
}

static void mini_deliver(void *ud, struct flow *f, int dir, const uint8_t *d, size_t n)
{
    struct mini *m = ud;
    if (f->app_flags == 2)
        return; /* not SMTP */
    if (f->app_state == NULL) {
        enum app_probe pr = smtp_parser.probe(d, n, dir, f->key.sport, f->key.dport);
        if (pr != APP_PROBE_YES) {
            f->app_flags = pr == APP_PROBE_NO ? 2 : 0;
            return;
        }
        f->app_state = smtp_parser.state_new(&g_conf);
        if (f->app_state == NULL)
            return;
    }
    smtp_parser.data(f->app_state, &g_sink, dir, d, n);
    mini_sink_flush(m);
}

static void mini_gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    if (f->app_state != NULL)
        smtp_parser.gap(f->app_state, &g_sink, dir, len);
    mini_sink_flush(ud);
}

static struct reasm *g_reasm;

static void mini_end(struct flow *f, enum flow_end_reason why, void *ud)
{
    (void)why;
    reasm_flow_end(g_reasm, f);
    if (f->app_state != NULL) {
        smtp_parser.end(f->app_state, &g_sink);
        smtp_parser.state_free(f->app_state);
        f->app_state = NULL;
    }
    mini_sink_flush(ud);
}

static int run_capture(const char *path, FILE *out)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, eb);
    if (pc == NULL)
        return -1;
    struct mini m = {out};
    struct flow_conf fc;
    flow_conf_defaults(&fc);
    struct reasm_conf rc;
    reasm_conf_defaults(&rc);
    struct decoder *d = decoder_new(NULL);
    struct flow_table *t = flow_table_new(&fc, mini_end, &m);
    g_reasm = reasm_new(&rc, mini_deliver, mini_gap, &m);
    struct pcap_pkthdr *h;
    const u_char *data;
    struct pkt p;
    int lt = pcap_datalink(pc);
    while (pcap_next_ex(pc, &h, &data) == 1) {
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (decode_packet(d, &p, lt, data, h->caplen, h->len, ts) != DECODE_OK)
            continue;
        int dir;
        struct flow *f = flow_table_update(t, &p, &dir);
        if (f != NULL && p.proto == 6)
            reasm_packet(g_reasm, f, dir, &p);
        flow_table_expire(t, ts);
    }
    flow_table_flush(t);
    flow_table_free(t);
    reasm_free(g_reasm);
    decoder_free(d);
    pcap_close(pc);
    return 0;
}

static const char py_cmp[] =
    "import sys,os,json,subprocess,re,yaml\n"
    "def get(ev,path):\n"
    "    cur=ev\n"
    "    for part in re.findall(r'[^.\\[\\]]+|\\[\\d+\\]',path):\n"
    "        if part.startswith('['):\n"
    "            i=int(part[1:-1])\n"
    "            if not isinstance(cur,list) or i>=len(cur): return KeyError\n"
    "            cur=cur[i]\n"
    "        else:\n"
    "            if not isinstance(cur,dict) or part not in cur: return KeyError\n"
    "            cur=cur[part]\n"
    "    return cur\n"
    "OK=('event_type','app_proto','smtp.','email.','fileinfo.filename','fileinfo.size',\n"
    "    'fileinfo.sha256','fileinfo.md5','fileinfo.sha1','fileinfo.state')\n"
    "def applicable(f):\n"
    "    keys=list(f.get('match',{}).keys())\n"
    "    nk=f.get('match',{}).get('not-has-key',[])\n"
    "    if isinstance(nk,str): nk=[nk]\n"
    "    keys=[k for k in keys if k!='not-has-key']+nk\n"
    "    et=f.get('match',{}).get('event_type')\n"
    "    if et not in ('smtp','fileinfo'): return False\n"
    "    if et=='fileinfo' and f['match'].get('app_proto')!='smtp' and not any(k.startswith(('smtp.','email.')) for k in keys): return False\n"
    "    return all(k.startswith(OK) for k in keys)\n"
    "def evaluate(f,evs):\n"
    "    m=f.get('match',{})\n"
    "    n=0\n"
    "    for ev in evs:\n"
    "        good=True\n"
    "        for k,v in m.items():\n"
    "            if k=='not-has-key':\n"
    "                for kk in ([v] if isinstance(v,str) else v):\n"
    "                    if get(ev,kk) is not KeyError: good=False\n"
    "                continue\n"
    "            g=get(ev,k)\n"
    "            if g is KeyError or (str(g)!=str(v) and g!=v): good=False\n"
    "        n+=good\n"
    "    if 'count' in f: return n==f['count']\n"
    "    return n>=1\n"
    "tsh=[0,0,0]; sv=[0,0]\n"
    "import concurrent.futures as cf\n"
    "rows=[l.rstrip('\\n').split('\\t') for l in open(sys.argv[1])]\n"
    "def tshark(pcap): return subprocess.run(['tshark','-n','-r',pcap,'-Y','smtp.req.command','-T','fields','-e','smtp.req.command','-e','smtp.req.parameter'],capture_output=True,text=True,errors='replace').stdout\n"
    "with cf.ThreadPoolExecutor(3) as ex: touts=list(ex.map(tshark,[r[0] for r in rows]))\n"
    "for (pcap,evf),out in zip(rows,touts):\n"
    "    evs=[json.loads(l) for l in open(evf) if l.startswith('{')]\n"
    "    ours=set()\n"
    "    for e in evs:\n"
    "        s=e.get('smtp',{})\n"
    "        if 'helo' in s: ours.add(('HELO',s['helo']))\n"
    "        if 'mail_from' in s: ours.add(('MAIL',s['mail_from']))\n"
    "        for r in s.get('rcpt_to',[]): ours.add(('RCPT',r))\n"
    "    theirs=set()\n"
    "    for l in out.splitlines():\n"
    "        cs,_,ps=l.partition('\\t'); cs=cs.split(','); ps=ps.split(',')\n"
    "        if len(ps)!=len(cs): ps=[ps[0]]+['']*(len(cs)-1)\n"
    "        for c,prm in zip(cs,ps):\n"
    "            c=c.upper()\n"
    "            if c in ('HELO','EHLO') and prm.strip(): theirs.add(('HELO',prm.strip()))\n"
    "            elif c=='MAIL' and prm.upper().startswith('FROM:') and prm[5:].split(): theirs.add(('MAIL',prm[5:].split()[0]))\n"
    "            elif c=='RCPT' and prm.upper().startswith('TO:') and prm[3:].split(): theirs.add(('RCPT',prm[3:].split()[0]))\n"
    "    tsh[0]+=len(theirs); tsh[1]+=len(theirs&ours); tsh[2]+=len(ours-theirs)\n"
    "    for x in sorted(theirs-ours)[:3]: print('tshark-only',os.path.basename(os.path.dirname(pcap)),x)\n"
    "    for x in sorted(ours-theirs)[:3]: print('ours-only',os.path.basename(os.path.dirname(pcap)),x)\n"
    "    y=os.path.join(os.path.dirname(pcap),'test.yaml')\n"
    "    if 'suricata-verify' in pcap and os.path.exists(y):\n"
    "        t=yaml.safe_load(open(y)) or {}\n"
    "        for c in t.get('checks') or []:\n"
    "            f=c.get('filter') if isinstance(c,dict) else None\n"
    "            if not f or not applicable(f): continue\n"
    "            sv[0]+=1\n"
    "            if evaluate(f,evs): sv[1]+=1\n"
    "            else: print('sv-fail',os.path.basename(os.path.dirname(pcap)),json.dumps(f)[:300])\n"
    "print('TSHARK %d %d %d' % tuple(tsh)); print('SV %d %d' % tuple(sv))\n";

static void test_corpus_pcaps(void)
{
    const char *dir = check_corpus_pcap_dir();
    if (dir == NULL)
        SKIP("corpus not found");
    smtp_conf_defaults();
    g_len = 0; /* nothing of the earlier tests */
    g_out[0] = '\0';
    char path[2048 + 8192];
    snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
    FILE *man = fopen(path, "r");
    CHECK(man != NULL);
    FILE *list = fopen("smtp_pcaps.tsv", "w");
    CHECK(list != NULL);
    static char line[8192];
    unsigned n = 0;
    while (fgets(line, sizeof(line), man) != NULL) {
        char *tab = strchr(line, '\t');
        char *labels = strrchr(line, '\t');
        if (tab == NULL || labels == NULL || strstr(labels, "smtp") == NULL)
            continue;
        *tab = '\0';
        char ev[64];
        snprintf(ev, sizeof(ev), "smtp_ev_%u.json", n);
        snprintf(path, sizeof(path), "%s/%s", dir, line);
        FILE *out = fopen(ev, "w");
        if (out == NULL || run_capture(path, out) != 0) {
            if (out != NULL)
                fclose(out);
            continue;
        }
        fclose(out);
        fprintf(list, "%s\t%s\n", path, ev);
        n++;
    }
    fclose(man);
    fclose(list);
    FILE *py = fopen("smtp_cmp.py", "w");
    CHECK(py != NULL);
    fputs(py_cmp, py);
    fclose(py);
    FILE *p = popen("python3 smtp_cmp.py smtp_pcaps.tsv", "r");
    CHECK(p != NULL);
    unsigned th = 0, tagree = 0, tours = 0, svn = 0, svp = 0;
    while (fgets(line, sizeof(line), p) != NULL) {
        if (sscanf(line, "TSHARK %u %u %u", &th, &tagree, &tours) == 3 ||
            sscanf(line, "SV %u %u", &svn, &svp) == 2)
            continue;
        fputs(line, stderr);
    }
    CHECK(pclose(p) == 0);
    for (unsigned i = 0; i < n; i++) {
        char ev[64];
        snprintf(ev, sizeof(ev), "smtp_ev_%u.json", i);
        remove(ev);
    }
    remove("smtp_pcaps.tsv");
    remove("smtp_cmp.py");
    fprintf(stderr, "smtp corpus: %u captures; tshark HELO/MAIL/RCPT values %u, found by us %u "
                    "(ours not in tshark: %u); suricata-verify checks %u, passed %u\n",
            n, th, tagree, tours, svn, svp);
    CHECK(n >= 20);
    CHECK(tagree * 100 >= th * 90);
    CHECK(svp * 100 >= svn * 80);
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
    RUN(test_completion_at_reply);
    RUN(test_probe);
    RUN(test_corpus_pcaps);
    jw_free(&g_w);
    return check_done();
}
