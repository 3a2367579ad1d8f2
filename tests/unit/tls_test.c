/*
 * TLS parser tests, all through tls_parser (the table the pipeline calls) with a
 * capturing app_sink: hand-built ClientHello / ServerHello / Certificate /
 * ServerHelloDone streams with their decoded values, each fed whole and split at
 * every offset (and over many records) with the same event expected; JA4 against
 * FoxIO's published example (t13d1516h2_8daaf6152771_e5627efa2ab1); JA3/JA3S
 * against md5 computed outside this code (Python hashlib over the strings); the
 * certificate fields against `openssl x509` output; each anomaly; memory failures.
 * Corpus captures (skipped when absent): JA3/JA3S and SNI against tshark's
 * dissection, and the suricata-verify test.yaml checks on tls.* fields.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "app/tls.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "decode/decode.h"
#include "flow/flow.h"
#include "flow/reasm.h"
#include "sensor_conf.h"

/* ---- capturing sink ---- */

#define CAP_EVENTS 4
#define CAP_LEN    8192

struct cap {
    char ev[CAP_EVENTS][CAP_LEN];
    int nev;
    int an[TLS_AN_COUNT];
};

static struct jw g_w;

static struct jw *cap_begin(struct app_sink *s, const char *type, int dir)
{
    (void)s;
    jw_reset(&g_w);
    jw_obj_open(&g_w, NULL);
    jw_str(&g_w, "event_type", type);
    jw_u64(&g_w, "dir", (uint64_t)dir);
    return &g_w;
}

static void cap_end(struct app_sink *s)
{
    struct cap *c = s->ud;
    jw_obj_close(&g_w);
    if (c->nev < CAP_EVENTS)
        snprintf(c->ev[c->nev], CAP_LEN, "%s", jw_ok(&g_w) ? g_w.buf : "(bad)");
    c->nev++;
}

static void cap_anomaly(struct app_sink *s, int kind, int dir)
{
    struct cap *c = s->ud;
    (void)dir;
    if (kind >= 0 && kind < TLS_AN_COUNT)
        c->an[kind]++;
}

static void cap_init(struct cap *c, struct app_sink *s)
{
    if (g_w.buf == NULL)
        jw_init(&g_w, 65536, 1 << 20);
    memset(c, 0, sizeof(*c));
    memset(s, 0, sizeof(*s));
    s->event_begin = cap_begin;
    s->event_end = cap_end;
    s->anomaly = cap_anomaly;
    s->ud = c;
}

/* Feeds an exact-size heap copy so that ASan sees any over-read. */
static void feed(void *st, struct app_sink *s, int dir, const uint8_t *b, size_t n)
{
    if (n == 0)
        return;
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    tls_parser.data(st, s, dir, c, n);
    free(c);
}

/* Runs a flow: the client's bytes cut at cut_c, then the server's cut at cut_s (a
 * cut of 0 or n means whole), then the flow's end. Fills *c (nev = -1 when no state). */
static void run(const struct sensor_conf *conf, const uint8_t *cb, size_t cn, size_t cut_c,
                const uint8_t *sb, size_t sn, size_t cut_s, struct cap *c)
{
    struct app_sink s;
    cap_init(c, &s);
    void *st = tls_parser.state_new(conf);
    if (st == NULL) {
        c->nev = -1;
        return;
    }
    feed(st, &s, APP_TOSERVER, cb, cut_c);
    feed(st, &s, APP_TOSERVER, cb + cut_c, cn - cut_c);
    feed(st, &s, APP_TOCLIENT, sb, cut_s);
    feed(st, &s, APP_TOCLIENT, sb + cut_s, sn - cut_s);
    tls_parser.end(st, &s);
    tls_parser.state_free(st);
}

/* ---- building handshakes ---- */

struct bb {
    uint8_t b[16384];
    size_t n;
};

static void put8(struct bb *b, unsigned v)
{
    b->b[b->n++] = (uint8_t)v;
}

static void put16(struct bb *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v);
}

static void putn(struct bb *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

/* Opens a length field of w bytes; len_close fills it in. */
static size_t len_open(struct bb *b, int w)
{
    size_t at = b->n;
    b->n += (size_t)w;
    return at;
}

static void len_close(struct bb *b, size_t at, int w)
{
    size_t len = b->n - at - (size_t)w;
    for (int i = w - 1; i >= 0; i--) {
        b->b[at + (size_t)i] = (uint8_t)len;
        len >>= 8;
    }
}

static void put16s(struct bb *b, const uint16_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put16(b, v[i]);
}

/* An extension whose body is a 2-byte-length list of 16-bit values. */
static void ext_list16(struct bb *b, unsigned type, const uint16_t *v, size_t n)
{
    put16(b, type);
    size_t l = len_open(b, 2);
    size_t l2 = len_open(b, 2);
    put16s(b, v, n);
    len_close(b, l2, 2);
    len_close(b, l, 2);
}

static void ext_raw(struct bb *b, unsigned type, const void *p, size_t n)
{
    put16(b, type);
    put16(b, (unsigned)n);
    putn(b, p, n);
}

/* Wraps the handshake bytes h into records of at most `frag` body bytes. */
static void records(struct bb *out, const struct bb *h, size_t frag)
{
    for (size_t off = 0; off < h->n; off += frag) {
        size_t k = h->n - off < frag ? h->n - off : frag;
        put8(out, 22);
        put16(out, 0x0303);
        put16(out, (unsigned)k);
        putn(out, h->b + off, k);
    }
}

/* The DER certificate made for this test with (OpenSSL 3.0):
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes
 *     -subj "/C=US/ST=California/O=Otasuke Test/CN=www.example.com"
 *     -addext "subjectAltName=DNS:www.example.com,DNS:example.com,IP:192.0.2.1"
 *     -set_serial 0x8A07E08D4AB50A7B -days 3650 -outform DER
 * `openssl x509 -inform DER -noout -serial -dates -fingerprint -sha1` shows:
 *   serial=8A07E08D4AB50A7B, notBefore=Nov 23 02:51:32 2026 GMT,
 *   notAfter=Nov 20 02:51:32 2036 GMT,
 *   SHA1 Fingerprint=27:90:F6:8D:8C:DF:13:76:49:A0:7D:B7:16:DE:B6:1F:F2:8C:22:65 */
/* clang-format off */
static const uint8_t cert_der[] = {
  0x30, 0x82, 0x02, 0x21, 0x30, 0x82, 0x01, 0xc7, 0xa0, 0x03, 0x02, 0x01,
  0x02, 0x02, 0x09, 0x00, 0x8a, 0x07, 0xe0, 0x8d, 0x4a, 0xb5, 0x0a, 0x7b,
  0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
  0x30, 0x53, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13,
  0x02, 0x55, 0x53, 0x31, 0x13, 0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x08,
  0x0c, 0x0a, 0x43, 0x61, 0x6c, 0x69, 0x66, 0x6f, 0x72, 0x6e, 0x69, 0x61,
  0x31, 0x15, 0x30, 0x13, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x0c, 0x4f,
  0x74, 0x61, 0x73, 0x75, 0x6b, 0x65, 0x20, 0x54, 0x65, 0x73, 0x74, 0x31,
  0x18, 0x30, 0x16, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0f, 0x77, 0x77,
  0x77, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f,
  0x6d, 0x30, 0x1e, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x31, 0x32, 0x33, 0x30,
  0x32, 0x35, 0x31, 0x33, 0x32, 0x5a, 0x17, 0x0d, 0x33, 0x36, 0x31, 0x31,
  0x32, 0x30, 0x30, 0x32, 0x35, 0x31, 0x33, 0x32, 0x5a, 0x30, 0x53, 0x31,
  0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x55, 0x53,
  0x31, 0x13, 0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x08, 0x0c, 0x0a, 0x43,
  0x61, 0x6c, 0x69, 0x66, 0x6f, 0x72, 0x6e, 0x69, 0x61, 0x31, 0x15, 0x30,
  0x13, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x0c, 0x4f, 0x74, 0x61, 0x73,
  0x75, 0x6b, 0x65, 0x20, 0x54, 0x65, 0x73, 0x74, 0x31, 0x18, 0x30, 0x16,
  0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0f, 0x77, 0x77, 0x77, 0x2e, 0x65,
  0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x30, 0x59,
  0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
  0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
  0x04, 0x66, 0x5e, 0xf5, 0xb2, 0x32, 0xc7, 0x7c, 0x96, 0xce, 0xd4, 0x53,
  0x60, 0x41, 0xec, 0x43, 0xa8, 0x00, 0xc1, 0xd7, 0x5c, 0x9e, 0x2a, 0x49,
  0xa5, 0xc4, 0xcc, 0x9d, 0x27, 0x74, 0xa5, 0x0c, 0x4e, 0x07, 0x10, 0x91,
  0xcd, 0x01, 0x0a, 0x6a, 0x27, 0xfb, 0x2e, 0x21, 0x0d, 0x0b, 0x23, 0xdd,
  0x3a, 0x5e, 0xd2, 0x14, 0x8b, 0xd4, 0x08, 0x9a, 0x13, 0x39, 0xa8, 0x75,
  0xeb, 0xf8, 0x78, 0xd9, 0x7c, 0xa3, 0x81, 0x83, 0x30, 0x81, 0x80, 0x30,
  0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0xa4, 0x51,
  0x41, 0x79, 0x30, 0x79, 0xa4, 0x40, 0x02, 0x56, 0x1c, 0x2b, 0x3d, 0x8c,
  0xe9, 0x85, 0xfb, 0xb3, 0xa9, 0x9a, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x1d,
  0x23, 0x04, 0x18, 0x30, 0x16, 0x80, 0x14, 0xa4, 0x51, 0x41, 0x79, 0x30,
  0x79, 0xa4, 0x40, 0x02, 0x56, 0x1c, 0x2b, 0x3d, 0x8c, 0xe9, 0x85, 0xfb,
  0xb3, 0xa9, 0x9a, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01,
  0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff, 0x30, 0x2d, 0x06, 0x03,
  0x55, 0x1d, 0x11, 0x04, 0x26, 0x30, 0x24, 0x82, 0x0f, 0x77, 0x77, 0x77,
  0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f, 0x6d,
  0x82, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f,
  0x6d, 0x87, 0x04, 0xc0, 0x00, 0x02, 0x01, 0x30, 0x0a, 0x06, 0x08, 0x2a,
  0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03, 0x48, 0x00, 0x30, 0x45,
  0x02, 0x20, 0x10, 0x05, 0xbe, 0xb1, 0x9c, 0x41, 0x27, 0x49, 0x2d, 0xfd,
  0x43, 0x57, 0xb1, 0x0c, 0xed, 0xbb, 0x48, 0xda, 0x7d, 0x2b, 0xfe, 0xa2,
  0xaa, 0x2f, 0xc3, 0x8c, 0xc7, 0xa1, 0x69, 0x01, 0x0f, 0xc1, 0x02, 0x21,
  0x00, 0xcc, 0x10, 0x2e, 0xfb, 0x28, 0xed, 0x3a, 0x2f, 0xde, 0x30, 0x31,
  0xe9, 0xb9, 0xd9, 0x5e, 0xde, 0xeb, 0x05, 0x2e, 0xed, 0x78, 0xa0, 0xda,
  0x83, 0x98, 0xfc, 0xa8, 0x67, 0x8a, 0xce, 0xe8, 0xb7
};
/* clang-format on */

/*
 * The ClientHello of FoxIO's JA4 example (a Chrome hello): GREASE 0x0a0a then 15
 * cipher suites; extensions GREASE, server_name "example.com", extended_master_secret,
 * renegotiation_info, supported_groups (GREASE, x25519, secp256r1, secp384r1),
 * ec_point_formats (uncompressed), session_ticket, ALPN (h2, http/1.1),
 * status_request, signature_algorithms (8), signed_certificate_timestamp, key_share,
 * psk_key_exchange_modes, supported_versions (GREASE, 1.3, 1.2), compress_certificate,
 * application_settings (0x4469), padding: 16 extensions without GREASE.
 */
static void client_hello(struct bb *h)
{
    static const uint16_t ciphers[] = {0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                       0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
                                       0x009c, 0x009d, 0x002f, 0x0035};
    static const uint16_t groups[] = {0x2a2a, 0x001d, 0x0017, 0x0018};
    static const uint16_t sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                       0x0805, 0x0501, 0x0806, 0x0601};
    static const uint8_t sni[] = {0,   14,  0,   0,   11,  'e', 'x', 'a',
                                  'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'};
    static const uint8_t alpn[] = {0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    static const uint8_t versions[] = {6, 0x3a, 0x3a, 3, 4, 3, 3};
    static const uint8_t status[] = {1, 0, 0, 0, 0};
    static const uint8_t keyshare[] = {0, 6, 0, 0x1d, 0, 2, 0xaa, 0xbb};
    static const uint8_t zeros[32] = {0};
    put8(h, 1);
    size_t l = len_open(h, 3);
    put16(h, 0x0303);
    putn(h, zeros, 32); /* random */
    put8(h, 32);
    for (int i = 0; i < 32; i++)
        put8(h, 0x40 + i); /* session id */
    put16(h, sizeof(ciphers));
    put16s(h, ciphers, sizeof(ciphers) / 2);
    put8(h, 1);
    put8(h, 0); /* compression: null */
    size_t e = len_open(h, 2);
    ext_raw(h, 0x1a1a, NULL, 0);
    ext_raw(h, 0x0000, sni, sizeof(sni));
    ext_raw(h, 0x0017, NULL, 0);
    ext_raw(h, 0xff01, zeros, 1);
    ext_list16(h, 0x000a, groups, 4);
    ext_raw(h, 0x000b, (const uint8_t[]){1, 0}, 2);
    ext_raw(h, 0x0023, NULL, 0);
    ext_raw(h, 0x0010, alpn, sizeof(alpn));
    ext_raw(h, 0x0005, status, sizeof(status));
    ext_list16(h, 0x000d, sigalgs, 8);
    ext_raw(h, 0x0012, NULL, 0);
    ext_raw(h, 0x0033, keyshare, sizeof(keyshare));
    ext_raw(h, 0x002d, (const uint8_t[]){1, 1}, 2);
    ext_raw(h, 0x002b, versions, sizeof(versions));
    ext_raw(h, 0x001b, (const uint8_t[]){2, 0, 2}, 3);
    ext_raw(h, 0x4469, (const uint8_t[]){0, 3, 2, 'h', '2'}, 5);
    ext_raw(h, 0x0015, zeros, 16);
    len_close(h, e, 2);
    len_close(h, l, 3);
}

/* ServerHello: TLS 1.2, the client's session id echoed when `resume`, else a new one;
 * cipher 0xc02f; extensions renegotiation_info, ec_point_formats, session_ticket,
 * ALPN "h2" (and supported_versions 1.3 when tls13). */
static void server_hello(struct bb *h, bool resume, bool tls13)
{
    static const uint8_t zeros[32] = {0};
    put8(h, 2);
    size_t l = len_open(h, 3);
    put16(h, 0x0303);
    for (int i = 0; i < 32; i++)
        put8(h, 0x80 + i); /* random */
    put8(h, 32);
    for (int i = 0; i < 32; i++)
        put8(h, (resume ? 0x40 : 0x90) + i);
    put16(h, tls13 ? 0x1301 : 0xc02f);
    put8(h, 0);
    size_t e = len_open(h, 2);
    ext_raw(h, 0xff01, zeros, 1);
    ext_raw(h, 0x000b, (const uint8_t[]){1, 0}, 2);
    ext_raw(h, 0x0023, NULL, 0);
    ext_raw(h, 0x0010, (const uint8_t[]){0, 3, 2, 'h', '2'}, 5);
    if (tls13)
        ext_raw(h, 0x002b, (const uint8_t[]){3, 4}, 2);
    len_close(h, e, 2);
    len_close(h, l, 3);
}

/* Certificate (the test certificate, then `extra` more copies) and ServerHelloDone. */
static void certificate_done(struct bb *h, int extra)
{
    put8(h, 11);
    size_t l = len_open(h, 3);
    size_t l2 = len_open(h, 3);
    for (int i = 0; i <= extra; i++) {
        size_t c = len_open(h, 3);
        putn(h, cert_der, sizeof(cert_der));
        len_close(h, c, 3);
    }
    len_close(h, l2, 3);
    len_close(h, l, 3);
    put8(h, 14);
    put8(h, 0);
    put16(h, 0);
}

/* What the client and the server send in a full TLS 1.2 handshake, each handshake
 * message stream cut into records of `frag` bytes, then ChangeCipherSpec and one
 * encrypted record in each direction. */
static void full_handshake(struct bb *cs, struct bb *ss, size_t frag)
{
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    static const uint8_t fin[] = {22, 3, 3, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    struct bb h;
    memset(cs, 0, sizeof(*cs));
    memset(ss, 0, sizeof(*ss));
    h.n = 0;
    client_hello(&h);
    records(cs, &h, frag);
    h.n = 0;
    server_hello(&h, false, false);
    certificate_done(&h, 1);
    records(ss, &h, frag);
    putn(cs, ccs, sizeof(ccs));
    putn(cs, fin, sizeof(fin));
    putn(ss, ccs, sizeof(ccs));
    putn(ss, fin, sizeof(fin));
}

#define JA3_STR                                                                                    \
    "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"            \
    "0-23-65281-10-11-35-16-5-13-18-51-45-43-27-17513-21,29-23-24,0"

static const char full_event[] =
    "{\"event_type\":\"tls\",\"dir\":0,\"tls\":{"
    "\"subject\":\"C=US, ST=California, O=Otasuke Test, CN=www.example.com\","
    "\"issuerdn\":\"C=US, ST=California, O=Otasuke Test, CN=www.example.com\","
    "\"serial\":\"00:8A:07:E0:8D:4A:B5:0A:7B\","
    "\"fingerprint\":\"27:90:f6:8d:8c:df:13:76:49:a0:7d:b7:16:de:b6:1f:f2:8c:22:65\","
    "\"sni\":\"example.com\",\"version\":\"TLS 1.2\","
    "\"notbefore\":\"2026-11-23T02:51:32\",\"notafter\":\"2036-11-20T02:51:32\","
    "\"ja3\":{\"hash\":\"cd08e31494f9531f560d64c695473da9\",\"string\":\"" JA3_STR "\"},"
    "\"ja3s\":{\"hash\":\"8d2a028aa94425f76ced7826b1f39039\","
    "\"string\":\"771,49199,65281-11-35-16\"},"
    "\"ja4\":\"t13d1516h2_8daaf6152771_e5627efa2ab1\","
    "\"client_alpns\":[\"h2\",\"http/1.1\"],\"server_alpns\":[\"h2\"],"
    "\"subjectaltname\":[\"www.example.com\",\"example.com\"]}}";

static int an_total(const struct cap *c)
{
    int n = 0;
    for (int k = 0; k < TLS_AN_COUNT; k++)
        n += c->an[k];
    return n;
}

static struct cap g_c;
static struct bb g_cs, g_ss;

static void test_probe(void)
{
    static const uint8_t ch[] = {22, 3, 1, 0x02, 0x00, 1, 0, 1, 0xfc};
    static const uint8_t sh[] = {22, 3, 3, 0x00, 0x5a, 2, 0, 0, 0x56};
    static const uint8_t http[] = {'G', 'E', 'T', ' ', '/', ' '};
    static const uint8_t ssl2[] = {0x80, 0x2e, 0x01, 0x00, 0x02, 0x00};
    static const uint8_t longrec[] = {22, 3, 1, 0xff, 0xff, 1};
    CHECK_EQ_U64(tls_parser.probe(ch, sizeof(ch), APP_TOSERVER, 50000, 443), APP_PROBE_YES);
    CHECK_EQ_U64(tls_parser.probe(sh, sizeof(sh), APP_TOCLIENT, 50000, 443), APP_PROBE_YES);
    CHECK_EQ_U64(tls_parser.probe(sh, sizeof(sh), APP_TOSERVER, 50000, 443), APP_PROBE_NO);
    CHECK_EQ_U64(tls_parser.probe(ch, 3, APP_TOSERVER, 50000, 443), APP_PROBE_MORE);
    CHECK_EQ_U64(tls_parser.probe(http, sizeof(http), APP_TOSERVER, 50000, 80), APP_PROBE_NO);
    CHECK_EQ_U64(tls_parser.probe(ssl2, sizeof(ssl2), APP_TOSERVER, 50000, 443), APP_PROBE_NO);
    CHECK_EQ_U64(tls_parser.probe(longrec, sizeof(longrec), APP_TOSERVER, 1, 443), APP_PROBE_NO);
}

/* A full TLS 1.2 handshake, one record per flight: exactly the event above. */
static void test_full(void)
{
    full_handshake(&g_cs, &g_ss, 16384);
    run(NULL, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, 0, &g_c);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK_STR(g_c.ev[0], full_event);
    CHECK_EQ_U64(an_total(&g_c), 0);
}

/* The same streams cut at every offset of each direction, and messages spread over
 * records of 1, 7 and 300 bytes: the same event every time. */
static void test_splits(void)
{
    static const size_t frags[] = {16384, 300, 7, 1};
    for (size_t f = 0; f < sizeof(frags) / sizeof(frags[0]); f++) {
        full_handshake(&g_cs, &g_ss, frags[f]);
        for (size_t i = 0; i <= g_cs.n; i++) {
            run(NULL, g_cs.b, g_cs.n, i, g_ss.b, g_ss.n, 0, &g_c);
            CHECK_EQ_U64(g_c.nev, 1);
            CHECK_STR(g_c.ev[0], full_event);
        }
        for (size_t i = 0; i <= g_ss.n; i++) {
            run(NULL, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, i, &g_c);
            CHECK_EQ_U64(g_c.nev, 1);
            CHECK_STR(g_c.ev[0], full_event);
            CHECK_EQ_U64(an_total(&g_c), 0);
        }
    }
}

/* Byte by byte in both directions, alternating client and server. */
static void test_bytewise(void)
{
    struct app_sink s;
    full_handshake(&g_cs, &g_ss, 16384);
    cap_init(&g_c, &s);
    void *st = tls_parser.state_new(NULL);
    CHECK(st != NULL);
    for (size_t i = 0; i < g_cs.n; i++)
        feed(st, &s, APP_TOSERVER, g_cs.b + i, 1);
    for (size_t i = 0; i < g_ss.n; i++)
        feed(st, &s, APP_TOCLIENT, g_ss.b + i, 1);
    tls_parser.end(st, &s);
    tls_parser.state_free(st);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK_STR(g_c.ev[0], full_event);
}

/* TLS 1.3: logged at the ServerHello (version from supported_versions), nothing
 * decoded from the encrypted records that follow. */
static void test_tls13(void)
{
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    static const uint8_t app[] = {23, 3, 3, 0, 4, 0xde, 0xad, 0xbe, 0xef};
    struct bb h = {.n = 0};
    memset(&g_cs, 0, sizeof(g_cs));
    memset(&g_ss, 0, sizeof(g_ss));
    client_hello(&h);
    records(&g_cs, &h, 16384);
    putn(&g_cs, ccs, sizeof(ccs));
    putn(&g_cs, app, sizeof(app));
    h.n = 0;
    server_hello(&h, false, true);
    records(&g_ss, &h, 16384);
    putn(&g_ss, ccs, sizeof(ccs));
    putn(&g_ss, app, sizeof(app));
    h.n = 0;
    certificate_done(&h, 0); /* as if in clear: must not be decoded after the hello */
    records(&g_ss, &h, 16384);
    run(NULL, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, 0, &g_c);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0], "\"version\":\"TLS 1.3\"") != NULL);
    CHECK(strstr(g_c.ev[0], "\"ja3s\":{\"hash\"") != NULL);
    CHECK(strstr(g_c.ev[0], "\"string\":\"771,4865,65281-11-35-16-43\"") != NULL);
    CHECK(strstr(g_c.ev[0], "subject") == NULL);
    CHECK(strstr(g_c.ev[0], "\"sni\":\"example.com\"") != NULL);
    CHECK_EQ_U64(an_total(&g_c), 0);
}

/* A HelloRetryRequest as TLS 1.3 draft-22 sends it (supported_versions 0x7f16), the
 * middlebox ChangeCipherSpec, then the real ServerHello: the CCS must not end the
 * clear part; the version is the draft's (Suricata: "TLS 1.3 draft-22"). */
static void hrr_hello(struct bb *h, bool hrr)
{
    static const uint8_t hrr_random[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
        0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
        0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    put8(h, 2);
    size_t l = len_open(h, 3);
    put16(h, 0x0303);
    if (hrr)
        putn(h, hrr_random, 32);
    else
        for (int i = 0; i < 32; i++)
            put8(h, 0x10 + i);
    put8(h, 0);
    put16(h, 0x1301);
    put8(h, 0);
    size_t e = len_open(h, 2);
    ext_raw(h, 0x002b, (const uint8_t[]){0x7f, 0x16}, 2);
    len_close(h, e, 2);
    len_close(h, l, 3);
}

static void test_hrr_draft22(void)
{
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    static const uint8_t app[] = {23, 3, 3, 0, 4, 0xde, 0xad, 0xbe, 0xef};
    struct bb h = {.n = 0};
    memset(&g_cs, 0, sizeof(g_cs));
    memset(&g_ss, 0, sizeof(g_ss));
    client_hello(&h);
    records(&g_cs, &h, 16384);
    putn(&g_cs, ccs, sizeof(ccs));
    records(&g_cs, &h, 16384); /* the second ClientHello */
    putn(&g_cs, app, sizeof(app));
    h.n = 0;
    hrr_hello(&h, true);
    records(&g_ss, &h, 16384);
    putn(&g_ss, ccs, sizeof(ccs));
    h.n = 0;
    hrr_hello(&h, false);
    records(&g_ss, &h, 16384);
    putn(&g_ss, app, sizeof(app));
    for (size_t cut = 0; cut <= g_ss.n; cut++) {
        run(NULL, g_cs.b, g_cs.n, cut % (g_cs.n + 1), g_ss.b, g_ss.n, cut, &g_c);
        CHECK_EQ_U64(g_c.nev, 1);
        CHECK(strstr(g_c.ev[0], "\"version\":\"TLS 1.3 draft-22\"") != NULL);
        CHECK(strstr(g_c.ev[0], "\"string\":\"771,4865,43\"") != NULL);
        CHECK_EQ_U64(an_total(&g_c), 0);
    }
}

/* A ServerHello of TLS 1.3 drafts 1-15: version field 0x0304, no session id, no
 * compression; Suricata names it "TLS 1.3 draft-<16". */
static void test_draft_pre16(void)
{
    struct bb h = {.n = 0};
    memset(&g_cs, 0, sizeof(g_cs));
    memset(&g_ss, 0, sizeof(g_ss));
    client_hello(&h);
    records(&g_cs, &h, 16384);
    h.n = 0;
    put8(&h, 2);
    size_t l = len_open(&h, 3);
    put16(&h, 0x0304);
    for (int i = 0; i < 32; i++)
        put8(&h, 0x10 + i);
    put16(&h, 0xc02b);
    size_t e = len_open(&h, 2);
    ext_raw(&h, 0x0028, (const uint8_t[]){0, 0x17, 0, 1, 0xaa}, 5);
    len_close(&h, e, 2);
    len_close(&h, l, 3);
    records(&g_ss, &h, 16384);
    run(NULL, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, 0, &g_c);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0], "\"version\":\"TLS 1.3 draft-<16\"") != NULL);
    CHECK(strstr(g_c.ev[0], "\"string\":\"772,49195,40\"") != NULL);
    CHECK_EQ_U64(an_total(&g_c), 0);
}

/* app.tls.handshake: tls.client_handshake with the lists in wire order, GREASE left
 * out, version the highest offered (Suricata 8, ja4-cl-handshake). */
static void test_client_handshake(void)
{
    struct sensor_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.tls_max_handshake = 65536;
    conf.tls_max_certificates = 8;
    conf.tls_handshake = true;
    full_handshake(&g_cs, &g_ss, 16384);
    run(&conf, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, 0, &g_c);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0],
                 "\"client_handshake\":{\"version\":\"TLS 1.3\",\"ciphers\":[4865,4866,4867,"
                 "49195,49199,49196,49200,52393,52392,49171,49172,156,157,47,53],\"exts\":[0,23,"
                 "65281,10,11,35,16,5,13,18,51,45,43,27,17513,21],\"sig_algs\":[1027,2052,1025,"
                 "1283,2053,1281,2054,1537]}") != NULL);
    run(NULL, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, 0, &g_c);
    CHECK(strstr(g_c.ev[0], "client_handshake") == NULL); /* off by default */
}

/* Resumption: the server echoes the session id and goes to ChangeCipherSpec. */
static void test_resumed(void)
{
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    struct bb h = {.n = 0};
    memset(&g_cs, 0, sizeof(g_cs));
    memset(&g_ss, 0, sizeof(g_ss));
    client_hello(&h);
    records(&g_cs, &h, 16384);
    h.n = 0;
    server_hello(&h, true, false);
    records(&g_ss, &h, 16384);
    putn(&g_ss, ccs, sizeof(ccs));
    struct app_sink s;
    cap_init(&g_c, &s);
    void *st = tls_parser.state_new(NULL);
    feed(st, &s, APP_TOSERVER, g_cs.b, g_cs.n);
    feed(st, &s, APP_TOCLIENT, g_ss.b, g_ss.n);
    CHECK_EQ_U64(g_c.nev, 1); /* before the flow's end */
    tls_parser.end(st, &s);
    tls_parser.state_free(st);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0], "{\"session_resumed\":true,\"sni\"") != NULL);
}

/* Only a ClientHello: logged at the end with the client's legacy_version (as Suricata
 * since its bug 5713: suricata-verify bug-5713-01 expects "TLSv1"). */
static void test_client_only(void)
{
    struct bb h = {.n = 0};
    memset(&g_cs, 0, sizeof(g_cs));
    client_hello(&h);
    records(&g_cs, &h, 100);
    run(NULL, g_cs.b, g_cs.n, 50, NULL, 0, 0, &g_c);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0], "\"version\":\"TLS 1.2\"") != NULL); /* the client's */
    CHECK(strstr(g_c.ev[0], "\"ja4\":\"t13d1516h2_8daaf6152771_e5627efa2ab1\"") != NULL);
    /* nothing at all: no event */
    run(NULL, NULL, 0, 0, NULL, 0, 0, &g_c);
    CHECK_EQ_U64(g_c.nev, 0);
}

static void test_versions(void)
{
    char b[32];
    CHECK_STR(tls_version_name(0x0301, b, sizeof(b)), "TLSv1");
    CHECK_STR(tls_version_name(0x0302, b, sizeof(b)), "TLS 1.1");
    CHECK_STR(tls_version_name(0x0303, b, sizeof(b)), "TLS 1.2");
    CHECK_STR(tls_version_name(0x0304, b, sizeof(b)), "TLS 1.3");
    CHECK_STR(tls_version_name(0x0300, b, sizeof(b)), "SSLv3");
    CHECK_STR(tls_version_name(0x7f1c, b, sizeof(b)), "TLS 1.3 draft-28");
    CHECK_STR(tls_version_name(0, b, sizeof(b)), "UNDETERMINED");
    CHECK_STR(tls_anomaly_name(TLS_AN_GAP), "gap");
    CHECK_STR(tls_anomaly_name(TLS_AN_COUNT), "unknown");
}

static void test_record_anomalies(void)
{
    static const uint8_t toolong[] = {22, 3, 1, 0x48, 0x01, 1, 0, 0, 0};
    static const uint8_t badver[] = {22, 2, 0, 0, 4, 1, 0, 0, 0};
    static const uint8_t badtype[] = {99, 3, 3, 0, 1, 0};
    run(NULL, toolong, sizeof(toolong), 3, NULL, 0, 0, &g_c);
    CHECK_EQ_U64(g_c.an[TLS_AN_RECORD_TOO_LONG], 1);
    CHECK_EQ_U64(g_c.nev, 0);
    run(NULL, badver, sizeof(badver), 0, NULL, 0, 0, &g_c);
    CHECK_EQ_U64(g_c.an[TLS_AN_INVALID_VERSION], 1);
    run(NULL, badtype, sizeof(badtype), 0, badtype, sizeof(badtype), 2, &g_c);
    CHECK_EQ_U64(g_c.an[TLS_AN_INVALID_RECORD_TYPE], 2);
    CHECK_EQ_U64(an_total(&g_c), 2);
}

/* A certificate message over app.tls.max_handshake_message is skipped (the event
 * comes at ServerHelloDone without certificate fields). */
static void test_handshake_too_long(void)
{
    struct sensor_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.tls_max_handshake = 1024;
    conf.tls_max_certificates = 8;
    conf.tls_ja3 = true;
    full_handshake(&g_cs, &g_ss, 500);
    run(&conf, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, 0, &g_c);
    CHECK_EQ_U64(g_c.an[TLS_AN_HANDSHAKE_TOO_LONG], 1);
    CHECK_EQ_U64(an_total(&g_c), 1);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0], "subject") == NULL);
    CHECK(strstr(g_c.ev[0], "\"ja3s\"") != NULL);
    CHECK(strstr(g_c.ev[0], "\"ja4\"") == NULL); /* tls_ja4 off */
}

/* The hellos and the certificate, malformed. */
static void test_message_anomalies(void)
{
    /* ClientHello of 10 bytes: version, then the random cut short */
    static const uint8_t shortch[] = {22, 3, 1, 0, 14, 1, 0, 0, 10, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8};
    run(NULL, shortch, sizeof(shortch), 7, NULL, 0, 0, &g_c);
    CHECK_EQ_U64(g_c.an[TLS_AN_BAD_HANDSHAKE], 1);
    CHECK_EQ_U64(g_c.nev, 1); /* a hello was seen, even if broken */

    /* a certificate list with a DER that is not one */
    struct bb h = {.n = 0};
    memset(&g_ss, 0, sizeof(g_ss));
    server_hello(&h, false, false);
    put8(&h, 11);
    put8(&h, 0);
    put16(&h, 9);
    put8(&h, 0);
    put16(&h, 6);
    put8(&h, 0);
    put16(&h, 3);
    put8(&h, 0x30);
    put8(&h, 0x01);
    put8(&h, 0x00);
    records(&g_ss, &h, 16384);
    run(NULL, NULL, 0, 0, g_ss.b, g_ss.n, 0, &g_c);
    CHECK_EQ_U64(g_c.an[TLS_AN_BAD_CERTIFICATE], 1);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0], "serial") == NULL);

    /* server_name whose list length overruns the extension */
    h.n = 0;
    memset(&g_cs, 0, sizeof(g_cs));
    static const uint8_t zeros[32] = {0};
    put8(&h, 1);
    size_t l = len_open(&h, 3);
    put16(&h, 0x0303);
    putn(&h, zeros, 32);
    put8(&h, 0);
    put16(&h, 2);
    put16(&h, 0x002f);
    put8(&h, 1);
    put8(&h, 0);
    size_t e = len_open(&h, 2);
    ext_raw(&h, 0, (const uint8_t[]){0, 9, 0, 0, 3, 'a', 'b', 'c'}, 8);
    len_close(&h, e, 2);
    len_close(&h, l, 3);
    records(&g_cs, &h, 16384);
    run(NULL, g_cs.b, g_cs.n, 0, NULL, 0, 0, &g_c);
    CHECK_EQ_U64(g_c.an[TLS_AN_BAD_EXTENSION], 1);
    CHECK_EQ_U64(an_total(&g_c), 1);
    CHECK(strstr(g_c.ev[0], "\"string\":\"771,47,0,,\"") != NULL);
    CHECK(strstr(g_c.ev[0], "\"ja4\":\"t12d0101") != NULL);
}

/* Lists longer than the formatter's 256-byte chunks: 123 cipher suites (after a
 * GREASE value) and 70 extensions. Expected values computed independently (Python
 * hashlib over the JA3 string and the JA4 hex lists). */
static void test_long_lists(void)
{
    static const uint8_t zeros[32] = {0};
    struct bb h = {.n = 0};
    memset(&g_cs, 0, sizeof(g_cs));
    put8(&h, 1);
    size_t l = len_open(&h, 3);
    put16(&h, 0x0303);
    putn(&h, zeros, 32);
    put8(&h, 0);
    put16(&h, 2 * 124);
    put16(&h, 0x0a0a);
    for (uint16_t c = 1; c <= 120; c++)
        put16(&h, c);
    put16(&h, 0xc02b);
    put16(&h, 0xffff);
    put16(&h, 0x1301);
    put8(&h, 1);
    put8(&h, 0);
    size_t e = len_open(&h, 2);
    for (uint16_t x = 0x100; x < 0x100 + 70; x++)
        ext_raw(&h, x, NULL, 0);
    len_close(&h, e, 2);
    len_close(&h, l, 3);
    records(&g_cs, &h, 16384);
    run(NULL, g_cs.b, g_cs.n, 0, NULL, 0, 0, &g_c);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0], "\"hash\":\"817bd3d8f9077bf6285c805a86014457\"") != NULL);
    CHECK(strstr(g_c.ev[0], "\"string\":\"771,1-2-3-4-5-6-7-8-9-10-11-") != NULL);
    CHECK(strstr(g_c.ev[0], "-119-120-49195-65535-4865,256-257-") != NULL);
    CHECK(strstr(g_c.ev[0], "-323-324-325,,\"") != NULL);
    CHECK(strstr(g_c.ev[0], "\"ja4\":\"t12i997000_0105292566fa_d421affb90fe\"") != NULL);
}

/* A gap stops the flow's TLS: what was had is logged at the end. */
static void test_gap(void)
{
    struct app_sink s;
    full_handshake(&g_cs, &g_ss, 16384);
    cap_init(&g_c, &s);
    void *st = tls_parser.state_new(NULL);
    feed(st, &s, APP_TOSERVER, g_cs.b, g_cs.n);
    feed(st, &s, APP_TOCLIENT, g_ss.b, 20);
    tls_parser.gap(st, &s, APP_TOCLIENT, 100);
    tls_parser.gap(st, &s, APP_TOCLIENT, 100); /* counted once */
    feed(st, &s, APP_TOCLIENT, g_ss.b, g_ss.n);
    tls_parser.end(st, &s);
    tls_parser.state_free(st);
    CHECK_EQ_U64(g_c.an[TLS_AN_GAP], 1);
    CHECK_EQ_U64(g_c.nev, 1);
    CHECK(strstr(g_c.ev[0], "\"version\":\"TLS 1.2\"") != NULL);
    CHECK(strstr(g_c.ev[0], "ja3s") == NULL);
}

/* Every allocation refused in turn: no crash, and either no state or an anomaly. */
static void test_nomem(void)
{
    full_handshake(&g_cs, &g_ss, 1000);
    mem_fail_after(1);
    run(NULL, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, 0, &g_c);
    CHECK_EQ_U64((uint64_t)(int64_t)g_c.nev, (uint64_t)(int64_t)-1);
    for (long k = 2; k < 6; k++) {
        mem_fail_after(k);
        run(NULL, g_cs.b, g_cs.n, 0, g_ss.b, g_ss.n, 0, &g_c);
        mem_fail_after(0);
        CHECK_EQ_U64(g_c.an[TLS_AN_NOMEM], k < 5 ? 1 : 0);
        CHECK_EQ_U64(g_c.nev, 1);
    }
    mem_fail_after(0);
    struct mem_stat ms;
    mem_get(MEM_APP, &ms);
    CHECK_EQ_U64(ms.in_use, 0);
}

/* ---- corpus captures: decoder, flow table and reassembler feed the parser ---- */

#define PROBE_MAX 512

struct cflow {
    void *st;
    int decided; /* 0: probing, 1: TLS, 2: not TLS */
    uint8_t buf[PROBE_MAX];
    size_t n;
    int dir0; /* direction of the probed bytes */
};

/* One event of a capture, with the flow's ports (client, server). */
struct cev {
    uint16_t sp, dp;
    char *json;
};

struct cdrv {
    struct reasm *reasm;
    struct app_sink sink;
    const struct flow *cur;
    struct cev *ev;
    size_t nev, cap;
    uint32_t *conns; /* client port << 16 | server port of every flow */
    size_t nconns, capconns;
    uint64_t anomalies;
};

static struct jw *drv_begin(struct app_sink *s, const char *type, int dir)
{
    (void)s;
    (void)dir;
    jw_reset(&g_w);
    jw_obj_open(&g_w, NULL);
    jw_str(&g_w, "event_type", type);
    return &g_w;
}

static void drv_end(struct app_sink *s)
{
    struct cdrv *d = s->ud;
    jw_obj_close(&g_w);
    if (d->nev == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->ev = realloc(d->ev, d->cap * sizeof(*d->ev));
    }
    struct cev *e = &d->ev[d->nev++];
    e->sp = d->cur->key.sport;
    e->dp = d->cur->key.dport;
    e->json = strdup(jw_ok(&g_w) ? g_w.buf : "{}");
}

static void drv_anomaly(struct app_sink *s, int kind, int dir)
{
    struct cdrv *d = s->ud;
    (void)kind;
    (void)dir;
    d->anomalies++;
}

static void drv_probe(struct cdrv *d, struct cflow *cf, int dir, const uint8_t *p, size_t n)
{
    if (cf->n == 0)
        cf->dir0 = dir;
    if (dir != cf->dir0) {
        cf->decided = 2;
        return;
    }
    size_t k = n < PROBE_MAX - cf->n ? n : PROBE_MAX - cf->n;
    memcpy(cf->buf + cf->n, p, k);
    cf->n += k;
    enum app_probe pr = tls_parser.probe(cf->buf, cf->n, dir, d->cur->key.sport, d->cur->key.dport);
    if (pr == APP_PROBE_NO || (pr == APP_PROBE_MORE && cf->n == PROBE_MAX)) {
        cf->decided = 2;
        return;
    }
    if (pr == APP_PROBE_MORE)
        return;
    cf->decided = 1;
    cf->st = tls_parser.state_new(NULL);
    if (cf->st != NULL)
        tls_parser.data(cf->st, &d->sink, dir, cf->buf, cf->n);
    if (cf->st != NULL && k < n)
        tls_parser.data(cf->st, &d->sink, dir, p + k, n - k);
}

static void drv_deliver(void *ud, struct flow *f, int dir, const uint8_t *p, size_t n)
{
    struct cdrv *d = ud;
    if (f->app_state == NULL)
        f->app_state = calloc(1, sizeof(struct cflow));
    struct cflow *cf = f->app_state;
    d->cur = f;
    if (cf->decided == 0)
        drv_probe(d, cf, dir, p, n);
    else if (cf->decided == 1 && cf->st != NULL)
        tls_parser.data(cf->st, &d->sink, dir, p, n);
}

static void drv_gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    struct cdrv *d = ud;
    struct cflow *cf = f->app_state;
    d->cur = f;
    if (cf != NULL && cf->st != NULL)
        tls_parser.gap(cf->st, &d->sink, dir, len);
    else if (cf != NULL)
        cf->decided = 2;
}

static void drv_flow_end(struct flow *f, enum flow_end_reason why, void *ud)
{
    struct cdrv *d = ud;
    (void)why;
    if (d->nconns == d->capconns) {
        d->capconns = d->capconns ? 2 * d->capconns : 64;
        d->conns = realloc(d->conns, d->capconns * sizeof(*d->conns));
    }
    d->conns[d->nconns++] = (uint32_t)f->key.sport << 16 | f->key.dport;
    reasm_flow_end(d->reasm, f);
    struct cflow *cf = f->app_state;
    if (cf != NULL && cf->st != NULL) {
        d->cur = f;
        tls_parser.end(cf->st, &d->sink);
        tls_parser.state_free(cf->st);
    }
    free(cf);
    f->app_state = NULL;
}

static void drv_free(struct cdrv *d)
{
    for (size_t i = 0; i < d->nev; i++)
        free(d->ev[i].json);
    free(d->ev);
    free(d->conns);
    memset(d, 0, sizeof(*d));
}

/* Runs a capture through decoder, flows, reassembly and the parser; the tls events
 * land in d->ev. Returns -1 when the file cannot be read. */
static int drv_run(const char *path, struct cdrv *d)
{
    char eb[PCAP_ERRBUF_SIZE];
    memset(d, 0, sizeof(*d));
    pcap_t *pc = pcap_open_offline(path, eb);
    if (pc == NULL)
        return -1;
    d->sink.event_begin = drv_begin;
    d->sink.event_end = drv_end;
    d->sink.anomaly = drv_anomaly;
    d->sink.ud = d;
    if (g_w.buf == NULL)
        jw_init(&g_w, 65536, 1 << 20);
    struct flow_conf fc;
    flow_conf_defaults(&fc);
    struct reasm_conf rc;
    reasm_conf_defaults(&rc);
    struct decoder *dec = decoder_new(NULL);
    struct flow_table *ft = flow_table_new(&fc, drv_flow_end, d);
    d->reasm = reasm_new(&rc, drv_deliver, drv_gap, d);
    int lt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    struct pkt p;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (decode_packet(dec, &p, lt, data, h->caplen, h->len, ts) != DECODE_OK)
            continue;
        int dir;
        struct flow *f = flow_table_update(ft, &p, &dir);
        if (f != NULL)
            reasm_packet(d->reasm, f, dir, &p);
        flow_table_expire(ft, ts);
    }
    flow_table_flush(ft);
    flow_table_free(ft);
    reasm_free(d->reasm);
    decoder_free(dec);
    pcap_close(pc);
    return 0;
}

/* Copies the JSON string value after `"key":"` in js into out ("" when absent). */
static const char *jget(const char *js, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    out[0] = '\0';
    const char *p = strstr(js, pat);
    if (p == NULL)
        return out;
    p += strlen(pat);
    size_t n = 0;
    while (*p != '\0' && *p != '"' && n + 1 < cap) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        out[n++] = *p++;
    }
    out[n] = '\0';
    return out;
}

/* The event of the flow with these ports (either orientation), or NULL. */
static const char *drv_find(const struct cdrv *d, unsigned sp, unsigned dp)
{
    for (size_t i = 0; i < d->nev; i++)
        if ((d->ev[i].sp == sp && d->ev[i].dp == dp) || (d->ev[i].sp == dp && d->ev[i].dp == sp))
            return d->ev[i].json;
    return NULL;
}

/* ---- agreement with tshark ---- */

struct agree {
    unsigned n;       /* flows the reference has a value for */
    unsigned ok;      /* ... and we agree */
    unsigned missing; /* ... and we logged no event */
};

static bool g_verbose; /* TLS_TEST_VERBOSE=1: every disagreement */

static void agree_add(struct agree *a, const char *ref, const char *ours, bool have_event,
                      const char *what, const char *file)
{
    a->n++;
    if (!have_event) {
        a->missing++;
        if (g_verbose)
            fprintf(stderr, "  %s: %s: no event (ref %s)\n", file, what, ref);
    } else if (strcasecmp(ref, ours) == 0) {
        a->ok++;
    } else if (g_verbose) {
        fprintf(stderr, "  %s: %s: ref \"%s\" ours \"%s\"\n", file, what, ref, ours);
    }
}

/* Splits a tab-separated line in place into at most n fields. */
static int split_tabs(char *line, char **f, int n)
{
    int k = 0;
    line[strcspn(line, "\r\n")] = '\0';
    while (k < n) {
        f[k++] = line;
        char *t = strchr(line, '\t');
        if (t == NULL)
            break;
        *t = '\0';
        line = t + 1;
    }
    return k;
}

/* Whether key was seen (and marks it). */
static bool seen_key(uint32_t *keys, size_t *nk, size_t cap, uint32_t key)
{
    for (size_t i = 0; i < *nk; i++)
        if (keys[i] == key)
            return true;
    if (*nk < cap)
        keys[(*nk)++] = key;
    return false;
}

/* One line of tshark's fields (client port, server port, ja3 or ja3s, full string,
 * SNI) compared with our event of that connection. */
static void cmp_tshark_line(char *line, int type, const struct cdrv *d, const char *file,
                            struct agree *a[3])
{
    char ours[2048];
    char *f[5] = {"", "", "", "", ""};
    if (split_tabs(line, f, 5) < 4 || f[2][0] == '\0')
        return;
    unsigned sp = (unsigned)strtoul(f[0], NULL, 10), dp = (unsigned)strtoul(f[1], NULL, 10);
    const char *ev = drv_find(d, sp, dp);
    const char *obj = ev ? strstr(ev, type == 1 ? "\"ja3\"" : "\"ja3s\"") : NULL;
    jget(obj ? obj : "", "hash", ours, sizeof(ours));
    agree_add(a[type - 1], f[2], ours, ev != NULL, type == 1 ? "ja3" : "ja3s", file);
    if (type == 1 && f[4][0] != '\0') {
        jget(ev ? ev : "", "sni", ours, sizeof(ours));
        agree_add(a[2], f[4], ours, ev != NULL, "sni", file);
    }
}

/* The first ClientHello (JA3 hash, SNI) and ServerHello (JA3S) of each TCP connection
 * as tshark dissects them, compared with our events. a: ja3, ja3s, sni. */
static void cmp_tshark(const char *path, const struct cdrv *d, struct agree *a[3])
{
    char cmd[4096], line[8192];
    static uint32_t keys[4096];
    const char *slash = strrchr(path, '/');
    const char *file = slash ? slash + 1 : path;
    for (int type = 1; type <= 2; type++) {
        snprintf(
            cmd, sizeof(cmd),
            "tshark -r '%s' -Y 'tcp && tls.handshake.type==%d && !tcp.analysis.retransmission' "
            "-T fields -E occurrence=f -e tcp.srcport -e tcp.dstport -e %s -e %s "
            "-e tls.handshake.extensions_server_name 2>/dev/null",
            path, type, type == 1 ? "tls.handshake.ja3" : "tls.handshake.ja3s",
            type == 1 ? "tls.handshake.ja3_full" : "tls.handshake.ja3s_full");
        FILE *fp = popen(cmd, "r");
        if (fp == NULL)
            return;
        size_t nk = 0;
        while (fgets(line, sizeof(line), fp) != NULL) {
            unsigned sp = (unsigned)strtoul(line, NULL, 10);
            const char *t = strchr(line, '\t');
            unsigned dp = t ? (unsigned)strtoul(t + 1, NULL, 10) : 0;
            if (!seen_key(keys, &nk, 4096, sp << 16 | dp))
                cmp_tshark_line(line, type, d, file, a);
        }
        pclose(fp);
    }
}

/* TLS captures compared with tshark; all the corpus's TLS captures when the
 * environment has TLS_TEST_ALL=1 (slow: two tshark runs per file). */
static const char *const tshark_files[] = {"ndpi/443-chrome.pcap",
                                           "ndpi/443-curl.pcap",
                                           "ndpi/443-firefox.pcap",
                                           "ndpi/443-git.pcap",
                                           "ndpi/443-safari.pcap",
                                           "ndpi/tls_verylong_certificate.pcap",
                                           "ndpi/tls_esni_sni_both.pcap",
                                           "ndpi/tls-appdata.pcap",
                                           "ndpi/tls_certificate_too_long.pcap",
                                           "ndpi/tls_missing_ch_frag.pcap",
                                           "ndpi/tls_multiple_synack_different_seq.pcapng",
                                           "ndpi/tls_unidirectional.pcap",
                                           "ndpi/long_tls_certificate.pcap",
                                           "ndpi/ssl-cert-name-mismatch.pcap",
                                           "ndpi/tls-esni-fuzzed.pcap",
                                           "ndpi/1kxun.pcap",
                                           "ndpi/tls_1.2_unidirectional_client.pcapng",
                                           "ndpi/tls_1.3_unidirectional_server.pcapng",
                                           "suricata-verify/bug-2646-01/input.pcap",
                                           "suricata-verify/tls-duplicate-hello/input.pcap",
                                           "suricata-verify/community-id-ipv4/input.pcap",
                                           "suricata-verify/tls/tls13-draft14/tls13_draft14.pcap",
                                           "suricata-verify/tls/tls13-draft18/tls13_draft18.pcap",
                                           "suricata-verify/tls/tls13-draft19/tls13_draft19.pcap",
                                           "zeek/tls/tls-13draft19-early-data.pcap",
                                           NULL};

static void report_agree(const char *what, const struct agree *a)
{
    fprintf(stderr, "agreement %s: %u/%u (%.1f%%), no event for %u\n", what, a->ok, a->n,
            a->n ? 100.0 * a->ok / a->n : 100.0, a->missing);
}

static void test_corpus_tshark(void)
{
    const char *dir = check_corpus_pcap_dir();
    if (dir == NULL)
        SKIP("corpus not found (../shared/corpus/pcap or OTASUKE_CORPUS)");
    if (system("tshark -v >/dev/null 2>&1") != 0)
        SKIP("tshark not installed");
    struct agree ja3 = {0}, ja3s = {0}, sni = {0};
    char path[2048];
    bool all = getenv("TLS_TEST_ALL") != NULL;
    FILE *ls = NULL;
    if (all) {
        snprintf(path, sizeof(path), "grep -P '\\ttls|,tls' '%s/MANIFEST.tsv' | cut -f1", dir);
        ls = popen(path, "r");
    }
    char rel[1024];
    for (int i = 0;; i++) {
        if (ls != NULL) {
            if (fgets(rel, sizeof(rel), ls) == NULL)
                break;
            rel[strcspn(rel, "\n")] = '\0';
        } else if (tshark_files[i] != NULL) {
            snprintf(rel, sizeof(rel), "%s", tshark_files[i]);
        } else {
            break;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        struct cdrv d;
        struct agree *a[3] = {&ja3, &ja3s, &sni};
        if (drv_run(path, &d) == 0)
            cmp_tshark(path, &d, a);
        drv_free(&d);
    }
    if (ls != NULL)
        pclose(ls);
    report_agree("ja3 vs tshark", &ja3);
    report_agree("ja3s vs tshark", &ja3s);
    report_agree("sni vs tshark", &sni);
    CHECK(ja3.n > 20);
    CHECK(ja3.ok * 100 >= ja3.n * 95);
    CHECK(ja3s.ok * 100 >= ja3s.n * 95);
    CHECK(sni.ok * 100 >= sni.n * 95);
}

/* ---- agreement with nDPI's expected output (ndpiReader .out beside each capture) ---- */

/* Copies the value of "[name: value]" in line into out ("" when absent). */
static const char *bracket(const char *line, const char *name, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "[%s: ", name);
    out[0] = '\0';
    const char *p = strstr(line, pat);
    if (p == NULL)
        return out;
    p += strlen(pat);
    size_t n = 0;
    int depth = 0; /* values such as "Validity" hold no brackets; subjects may */
    while (*p != '\0' && (*p != ']' || depth > 0) && n + 1 < cap) {
        depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
        out[n++] = *p++;
    }
    out[n] = '\0';
    return out;
}

/* The two ports of "TCP a:p1 <-> b:p2 [" (IPv6 addresses are in brackets). */
static bool flow_ports(const char *line, unsigned *p1, unsigned *p2)
{
    const char *t = strstr(line, "TCP ");
    const char *arrow = t ? strstr(t, " <-> ") : NULL;
    if (arrow == NULL)
        return false;
    const char *c = arrow;
    while (c > t && *c != ':')
        c--;
    *p1 = (unsigned)strtoul(c + 1, NULL, 10);
    const char *end = strchr(arrow + 5, ' ');
    if (end == NULL)
        return false;
    c = end;
    while (c > arrow && *c != ':')
        c--;
    *p2 = (unsigned)strtoul(c + 1, NULL, 10);
    return true;
}

/* JA4 without the SNI flag (nDPI sets it from any host name it knows, and 'i' for
 * an SNI that is an IP address; FoxIO and Suricata: whether the SNI extension is
 * there) and without the ALPN characters (nDPI writes the first two, FoxIO the first
 * and the last). */
static void ja4_core(const char *in, char *out, size_t cap)
{
    snprintf(out, cap, "%s", in);
    if (strlen(out) >= 10) {
        out[3] = '?';
        out[8] = out[9] = '?';
    }
}

struct ndpi_agree {
    struct agree ja4, ja4core, ja3s, sha1, subject, issuer;
};

/* Compares one nDPI flow line with our event of that flow. */
static void cmp_ndpi_line(const char *line, const struct cdrv *d, const char *file,
                          struct ndpi_agree *a)
{
    char ref[1024], ours[1024];
    unsigned p1, p2;
    if (!flow_ports(line, &p1, &p2))
        return;
    const char *ev = drv_find(d, p1, p2);
    if (bracket(line, "JA4", ref, sizeof(ref))[0] != '\0') {
        jget(ev ? ev : "", "ja4", ours, sizeof(ours));
        agree_add(&a->ja4, ref, ours, ev != NULL, "ja4", file);
        char r2[1024], o2[1024];
        ja4_core(ref, r2, sizeof(r2));
        ja4_core(ours, o2, sizeof(o2));
        agree_add(&a->ja4core, r2, o2, ev != NULL, "ja4core", file);
    }
    const char *js = ev ? strstr(ev, "\"ja3s\"") : NULL;
    if (bracket(line, "JA3S", ref, sizeof(ref))[0] != '\0') {
        ref[strcspn(ref, " ")] = '\0'; /* "hash (WEAK)" */
        agree_add(&a->ja3s, ref, js ? jget(js, "hash", ours, sizeof(ours)) : "", ev != NULL,
                  "ja3s(ndpi)", file);
    }
    if (bracket(line, "Certificate SHA-1", ref, sizeof(ref))[0] != '\0') {
        jget(ev ? ev : "", "fingerprint", ours, sizeof(ours));
        agree_add(&a->sha1, ref, ours, ev != NULL, "sha1", file);
    }
    if (bracket(line, "Subject", ref, sizeof(ref))[0] != '\0')
        agree_add(&a->subject, ref, ev ? jget(ev, "subject", ours, sizeof(ours)) : "", ev != NULL,
                  "subject", file);
    if (bracket(line, "Issuer", ref, sizeof(ref))[0] != '\0')
        agree_add(&a->issuer, ref, ev ? jget(ev, "issuerdn", ours, sizeof(ours)) : "", ev != NULL,
                  "issuerdn", file);
}

static void cmp_ndpi_file(const char *dir, const char *name, struct ndpi_agree *a)
{
    char path[2048], line[16384];
    snprintf(path, sizeof(path), "%s/ndpi/%s.out", dir, name);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return;
    snprintf(path, sizeof(path), "%s/ndpi/%s", dir, name);
    struct cdrv d;
    if (drv_run(path, &d) == 0) {
        while (fgets(line, sizeof(line), fp) != NULL)
            if (strstr(line, "TCP ") != NULL && strstr(line, "[JA4: ") != NULL)
                cmp_ndpi_line(line, &d, name, a);
    }
    drv_free(&d);
    fclose(fp);
}

/* Every nDPI capture whose expected output has a JA4: JA4, JA3S, certificate SHA-1,
 * subject and issuer per TCP flow. */
static void test_corpus_ndpi(void)
{
    const char *dir = check_corpus_pcap_dir();
    if (dir == NULL)
        SKIP("corpus not found (../shared/corpus/pcap or OTASUKE_CORPUS)");
    char cmd[2048], name[1024];
    snprintf(cmd, sizeof(cmd), "cd '%s/ndpi' && grep -l 'TCP .*\\[JA4: ' *.out", dir);
    FILE *ls = popen(cmd, "r");
    CHECK(ls != NULL);
    struct ndpi_agree a;
    memset(&a, 0, sizeof(a));
    unsigned files = 0;
    while (fgets(name, sizeof(name), ls) != NULL) {
        name[strcspn(name, "\n")] = '\0';
        size_t n = strlen(name);
        if (n > 4)
            name[n - 4] = '\0'; /* the capture's name: without ".out" */
        cmp_ndpi_file(dir, name, &a);
        files++;
    }
    pclose(ls);
    fprintf(stderr, "nDPI captures compared: %u\n", files);
    report_agree("ja4 vs nDPI", &a.ja4);
    report_agree("ja4 but SNI flag and ALPN vs nDPI", &a.ja4core);
    report_agree("ja3s vs nDPI", &a.ja3s);
    report_agree("cert sha1 vs nDPI", &a.sha1);
    report_agree("subject vs nDPI", &a.subject);
    report_agree("issuerdn vs nDPI", &a.issuer);
    CHECK(files > 50);
    CHECK(a.ja4core.ok * 100 >= a.ja4core.n * 90);
    CHECK(a.sha1.ok * 100 >= a.sha1.n * 90);
}

/* ---- agreement with the ssl.log baselines of the Zeek traces (zeek/tls) ---- */

/* Our version name in Zeek's form ("TLS 1.2" -> "TLSv12", "TLSv1" -> "TLSv10",
 * "TLS 1.3 draft-23" -> "TLSv13-draft23"). */
static void zeek_version(const char *ours, char *out, size_t cap)
{
    unsigned major, minor, draft;
    if (strcmp(ours, "TLSv1") == 0)
        snprintf(out, cap, "TLSv10");
    else if (sscanf(ours, "TLS %u.%u draft-%u", &major, &minor, &draft) == 3)
        snprintf(out, cap, "TLSv%u%u-draft%u", major, minor, draft);
    else if (sscanf(ours, "TLS %u.%u", &major, &minor) == 2)
        snprintf(out, cap, "TLSv%u%u", major, minor);
    else
        snprintf(out, cap, "%s", ours);
}

struct zeek_agree {
    struct agree sni, version;
};

/* Index of column `name` in a "#fields\t..." header line, or -1. */
static int zeek_col(const char *fields, const char *name)
{
    char buf[2048];
    snprintf(buf, sizeof(buf), "%s", fields);
    char *f[32];
    int n = split_tabs(buf, f, 32);
    for (int i = 1; i < n; i++)
        if (strcmp(f[i], name) == 0)
            return i - 1;
    return -1;
}

static void zeek_row(char *line, const int col[4], const struct cdrv *d, const char *file,
                     struct zeek_agree *a)
{
    char *f[32], ours[512], zv[64];
    int n = split_tabs(line, f, 32);
    if (n <= col[0] || n <= col[1] || n <= col[2] || n <= col[3])
        return;
    unsigned sp = (unsigned)strtoul(f[col[0]], NULL, 10),
             dp = (unsigned)strtoul(f[col[1]], NULL, 10);
    bool in_capture = false;
    for (size_t i = 0; i < d->nconns; i++)
        in_capture |= d->conns[i] == (sp << 16 | dp);
    if (!in_capture)
        return; /* some baselines were made from another trace than the one beside them */
    const char *ev = drv_find(d, sp, dp);
    if (strcmp(f[col[2]], "-") != 0) {
        zeek_version(jget(ev ? ev : "", "version", ours, sizeof(ours)), zv, sizeof(zv));
        if (strncmp(f[col[2]], "unknown-", 8) == 0 && strcmp(zv, "UNDETERMINED") == 0)
            snprintf(zv, sizeof(zv), "%s", f[col[2]]); /* a value neither names */
        agree_add(&a->version, f[col[2]], zv, ev != NULL, "version(zeek)", file);
    }
    if (strcmp(f[col[3]], "-") != 0)
        agree_add(&a->sni, f[col[3]], jget(ev ? ev : "", "sni", ours, sizeof(ours)), ev != NULL,
                  "sni(zeek)", file);
}

/* One ssl.log against our events on its capture. */
static void zeek_log(const char *log, const char *pcap, struct zeek_agree *a)
{
    FILE *fp = fopen(log, "r");
    if (fp == NULL)
        return;
    struct cdrv d;
    if (drv_run(pcap, &d) != 0) {
        fclose(fp);
        return;
    }
    char line[8192];
    int col[4] = {-1, -1, -1, -1};
    const char *file = strrchr(pcap, '/') + 1;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, "#fields", 7) == 0) {
            col[0] = zeek_col(line, "id.orig_p");
            col[1] = zeek_col(line, "id.resp_p");
            col[2] = zeek_col(line, "version");
            col[3] = zeek_col(line, "server_name");
        } else if (line[0] != '#' && col[0] >= 0 && col[1] >= 0 && col[2] >= 0 && col[3] >= 0) {
            zeek_row(line, col, &d, file, a);
        }
    }
    drv_free(&d);
    fclose(fp);
}

/* Zeek's TLS-over-TCP baselines (zeek/tls, not DTLS, QUIC or STARTTLS): server_name
 * and version per connection. */
static void test_corpus_zeek(void)
{
    const char *dir = check_corpus_pcap_dir();
    if (dir == NULL)
        SKIP("corpus not found (../shared/corpus/pcap or OTASUKE_CORPUS)");
    char cmd[4096], log[1024], pcap[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s/zeek/tls' && find . -name ssl.log | grep -v -i 'dtls\\|starttls\\|stun' | "
             "sort",
             dir);
    FILE *ls = popen(cmd, "r");
    CHECK(ls != NULL);
    struct zeek_agree a;
    memset(&a, 0, sizeof(a));
    while (fgets(log, sizeof(log), ls) != NULL) {
        log[strcspn(log, "\n")] = '\0';
        const char *b = strstr(log, ".baseline/");
        if (b == NULL)
            continue;
        snprintf(pcap, sizeof(pcap), "%s/zeek/tls/%.*s", dir, (int)(b - log - 2), log + 2);
        snprintf(cmd, sizeof(cmd), "%s/zeek/tls/%s", dir, log + 2);
        zeek_log(cmd, pcap, &a);
    }
    pclose(ls);
    report_agree("sni vs Zeek ssl.log", &a.sni);
    report_agree("version vs Zeek ssl.log", &a.version);
    CHECK(a.sni.n >= 5 && a.version.n >= 20);
    CHECK(a.sni.ok * 100 >= a.sni.n * 90);
    CHECK(a.version.ok * 100 >= a.version.n * 90);
}

/* ---- suricata-verify expectations (test.yaml checks on tls.* of event_type tls) ---- */

struct sv_check {
    const char *pcap; /* under suricata-verify/ */
    const char *field;
    const char *value;
};

/* Copied from the test.yaml files (values as Suricata 7/8 writes them). Left out:
 * ldap-starttls (TLS after LDAP StartTLS) and bug-2430 (TLS inside an HTTP CONNECT
 * tunnel): there the stream does not start with a TLS record, so the probe cannot
 * pick the parser; the pipeline must hand the stream over after the upgrade. Also
 * left out: the checks gated on a Suricata version. */
static const struct sv_check sv_checks[] = {
    {"bug-2646-01/input.pcap", "fingerprint",
     "cc:aa:48:48:66:46:0e:91:53:2c:9c:7c:23:2a:b1:74:4d:29:9d:33"},
    {"bug-2646-01/input.pcap", "issuerdn",
     "C=US, O=DigiCert Inc, OU=www.digicert.com, CN=DigiCert SHA2 High Assurance Server CA"},
    {"bug-2646-01/input.pcap", "notafter", "2020-05-13T12:00:00"},
    {"bug-2646-01/input.pcap", "notbefore", "2017-03-23T00:00:00"},
    {"bug-2646-01/input.pcap", "serial", "08:3A:84:59:2F:77:F2:E7:95:1B:F8:87:CE:DE:C9:66"},
    {"bug-2646-01/input.pcap", "sni", "raw.githubusercontent.com"},
    {"bug-2646-01/input.pcap", "subject",
     "C=US, ST=California, L=San Francisco, O=GitHub, Inc., CN=www.github.com"},
    {"bug-2646-01/input.pcap", "version", "TLS 1.2"},
    {"bug-5713-01/TLSv1-Extracted-MaliciousC2.pcap", "version", "TLSv1"},
    {"bug-5758/input.pcap", "sni", "ftp.nluug.nl"},
    {"bug-7264-tcp-3whs-ack-data-tls-01/input.pcap", "sni", "raw.githubusercontent.com"},
    {"community-id-ipv4/input.pcap", "sni", "ipv4.google.com"},
    {"community-id-ipv4/input.pcap", "version", "TLS 1.3"},
    {"community-id-ipv6/input.pcap", "sni", "ipv6.google.com"},
    {"community-id-ipv6/input.pcap", "sni", "dns.google"},
    {"community-id-ipv6/input.pcap", "version", "TLS 1.3"},
    {"tcp-fastopen-11-reject-syn-data/tlpw-tcp-tfo-data-on-syn-nack.pcap", "sni", "icloud.com"},
    {"tcp-fastopen-11-reject-syn-data/tlpw-tcp-tfo-data-on-syn-nack.pcap", "version", "TLS 1.3"},
    {"tls/tls13-draft14/tls13_draft14.pcap", "version", "TLS 1.3 draft-<16"},
    {"tls/tls13-draft22/tls13_draft22.pcap", "version", "TLS 1.3 draft-22"},
    {"tls-alpn-log-detect-02/input.pcap", "client_alpns", "[\"h2\",\"http/1.1\"]"},
    {"tls-alpn-log-detect-02/input.pcap", "server_alpns", "[\"http/1.1\"]"},
    {"tls-duplicate-hello/input.pcap", "ja3.string",
     "771,4866-4867-4865-4868-49196-52393-49325-49162-49195-49324-49161-49200-52392-49172-"
     "49199-49171-157-49309-53-156-49308-47-159-52394-49311-57-158-49310-51,5-10-11-13-22-23-"
     "35-51-43-65281-0-45,23,0"},
    {NULL, NULL, NULL},
};

/* Whether some event of d has field == value. */
static bool sv_match(const struct cdrv *d, const struct sv_check *c)
{
    char v[2048], pat[2100];
    for (size_t i = 0; i < d->nev; i++) {
        const char *ev = d->ev[i].json;
        if (c->value[0] == '[') {
            snprintf(pat, sizeof(pat), "\"%s\":%s", c->field, c->value);
            if (strstr(ev, pat) != NULL)
                return true;
        } else if (strcmp(c->field, "ja3.string") == 0) {
            const char *j = strstr(ev, "\"ja3\"");
            if (j != NULL && strcmp(jget(j, "string", v, sizeof(v)), c->value) == 0)
                return true;
        } else if (strcmp(jget(ev, c->field, v, sizeof(v)), c->value) == 0) {
            return true;
        }
    }
    return false;
}

static void test_corpus_suricata_verify(void)
{
    const char *dir = check_corpus_pcap_dir();
    if (dir == NULL)
        SKIP("corpus not found (../shared/corpus/pcap or OTASUKE_CORPUS)");
    unsigned n = 0, ok = 0;
    const char *last = "";
    struct cdrv d;
    memset(&d, 0, sizeof(d));
    char path[2048];
    for (const struct sv_check *c = sv_checks; c->pcap != NULL; c++) {
        if (strcmp(c->pcap, last) != 0) {
            drv_free(&d);
            snprintf(path, sizeof(path), "%s/suricata-verify/%s", dir, c->pcap);
            if (drv_run(path, &d) != 0)
                fprintf(stderr, "  cannot read %s\n", path);
            last = c->pcap;
        }
        n++;
        if (sv_match(&d, c))
            ok++;
        else
            fprintf(stderr, "  suricata-verify %s: tls.%s != \"%s\"\n", c->pcap, c->field,
                    c->value);
    }
    drv_free(&d);
    fprintf(stderr, "agreement suricata-verify tls checks: %u/%u\n", ok, n);
    CHECK_EQ_U64(ok, n);
}

int main(void)
{
    g_verbose = getenv("TLS_TEST_VERBOSE") != NULL;
    RUN(test_probe);
    RUN(test_versions);
    RUN(test_full);
    RUN(test_splits);
    RUN(test_bytewise);
    RUN(test_tls13);
    RUN(test_resumed);
    RUN(test_hrr_draft22);
    RUN(test_draft_pre16);
    RUN(test_client_handshake);
    RUN(test_client_only);
    RUN(test_record_anomalies);
    RUN(test_handshake_too_long);
    RUN(test_message_anomalies);
    RUN(test_long_lists);
    RUN(test_gap);
    RUN(test_nomem);
    RUN(test_corpus_suricata_verify);
    RUN(test_corpus_ndpi);
    RUN(test_corpus_zeek);
    RUN(test_corpus_tshark);
    jw_free(&g_w);
    return check_done();
}
