/*
 * MIME tests: the decoders (base64, quoted-printable, RFC 2047 with ISO-2022-JP,
 * Shift_JIS, EUC-JP, RFC 2231 parameters with continuations) on hand-made values whose
 * expected text comes from Python's email package, the walker fed whole and split at
 * every offset, its caps, and the real messages of ../shared/corpus/mail (skipped when
 * absent): every message's Subject, From and attachment names decoded by this module and
 * by Python's email package (run by the test), with the agreement reported and required.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "app/mime.h"

static const char *dec(const char *s)
{
    static char out[2048];
    mime_decode_words(s, strlen(s), out, sizeof(out), NULL);
    return out;
}

static void test_b64_qp(void)
{
    uint8_t out[64];
    struct mime_b64 b = {0};
    const char *t = "aGVs\r\nbG8g d29y bGQ=";
    size_t n = 0;
    for (size_t i = 0; t[i] != '\0'; i++) /* one byte at a time */
        n += mime_b64_feed(&b, (const uint8_t *)t + i, 1, out + n);
    CHECK_EQ_U64(n, 11);
    CHECK_MEM(out, "hello world", 11);
    CHECK(!b.bad);
    struct mime_b64 b2 = {0};
    mime_b64_feed(&b2, (const uint8_t *)"ab!c", 4, out);
    CHECK(b2.bad);
    struct mime_qp q = {0};
    t = "caf=C3=A9 =\r\nau lait=3D=\nok=ZZ";
    n = 0;
    for (size_t i = 0; t[i] != '\0'; i++)
        n += mime_qp_feed(&q, (const uint8_t *)t + i, 1, out + n);
    out[n] = '\0';
    CHECK_STR((char *)out, "café au lait=ok=ZZ");
    CHECK(q.bad);
}

/* The base64 decoder's four-byte fast path: every split of inputs mixing full quanta,
 * line breaks, spaces, padding and invalid bytes gives what one byte at a time gives. */
static void test_b64_splits(void)
{
    static const char *const in[] = {
        "SGVsbG8sIHdvcmxkIQ==",
        "QUJD\r\nREVG R0hJ\tSktM\r\nTU5P",
        "YWJj!ZGVm=Z2hp",
        "YW=Jj ZG Vm",
        "////++++AAAAzzzz0000",
        "YQ==YWI=YWJj",
    };
    for (size_t t = 0; t < sizeof in / sizeof in[0]; t++) {
        const uint8_t *s = (const uint8_t *)in[t];
        size_t len = strlen(in[t]);
        uint8_t ref[64], out[64];
        struct mime_b64 rb = {0};
        size_t rn = 0;
        for (size_t i = 0; i < len; i++)
            rn += mime_b64_feed(&rb, s + i, 1, ref + rn);
        for (size_t a = 0; a <= len; a++) {
            for (size_t c = a; c <= len; c++) {
                struct mime_b64 b = {0};
                size_t n = mime_b64_feed(&b, s, a, out);
                n += mime_b64_feed(&b, s + a, c - a, out + n);
                n += mime_b64_feed(&b, s + c, len - c, out + n);
                CHECK_EQ_U64(n, rn);
                CHECK_MEM(out, ref, rn);
                CHECK(b.bad == rb.bad && b.n == rb.n && b.pad == rb.pad && b.acc == rb.acc);
            }
        }
    }
    /* a known answer for the mixed input */
    struct mime_b64 b = {0};
    uint8_t out[64];
    size_t n = mime_b64_feed(&b, (const uint8_t *)"QUJD\r\nREVG R0hJ", 15, out);
    CHECK_EQ_U64(n, 9);
    CHECK_MEM(out, "ABCDEFGHI", 9);
    CHECK(!b.bad);
}

static void test_rfc2047(void)
{
    /* expected values: python3 email.header.decode_header */
    CHECK_STR(dec("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?="), "こんにちは");
    CHECK_STR(dec("=?Shift_JIS?B?jlKTY5G+mFk=?="), "山田太郎");
    /* "①" (NEC special 0x8740) labelled Shift_JIS: Python's cp932 gives U+2460 */
    CHECK_STR(dec("=?Shift_JIS?B?h0A=?="), "①");
    CHECK_STR(dec("=?EUC-JP?B?xvzL3Ljs?="), "日本語");
    CHECK_STR(dec("=?utf-8?q?caf=C3=A9_au_lait?="), "café au lait");
    /* adjacent words: the white space between them vanishes */
    CHECK_STR(dec("=?utf-8?q?a?= =?utf-8?q?b?=\r\n =?utf-8?q?c?= d"), "abc d");
    /* a UTF-8 character split across two words */
    CHECK_STR(dec("=?utf-8?B?44GT44I=?= =?utf-8?B?kw==?="), "こん");
    CHECK_STR(dec("Re: =?iso-8859-1?q?h=E9?= there"), "Re: hé there");
    uint32_t an = 0;
    char out[64];
    mime_decode_words("=?x-nope?q?abc?=", 16, out, sizeof(out), &an);
    CHECK(an & (1u << MIME_AN_UNKNOWN_CHARSET));
    CHECK_STR(out, "abc");
}

static void test_rfc2231(void)
{
    char out[256];
    const char *v = "attachment; filename*0*=iso-2022-jp''%1B%24B%243%24s; "
                    "filename*1*=%24K%24A%24O%1B%28B; filename*2=\".txt\"";
    CHECK(mime_param(v, strlen(v), "filename", out, sizeof(out), NULL));
    CHECK_STR(out, "こんにちは.txt");
    v = "application/octet-stream; name=\"=?UTF-8?B?44GT44KT?=.pdf\"";
    CHECK(mime_param(v, strlen(v), "name", out, sizeof(out), NULL));
    CHECK_STR(out, "こん.pdf");
    v = "attachment; filename=plain.txt ; size=3";
    CHECK(mime_param(v, strlen(v), "filename", out, sizeof(out), NULL));
    CHECK_STR(out, "plain.txt");
    v = "attachment; filename*=UTF-8''%E6%97%A5.txt";
    CHECK(mime_param(v, strlen(v), "filename", out, sizeof(out), NULL));
    CHECK_STR(out, "日.txt");
    CHECK(!mime_param(v, strlen(v), "name", out, sizeof(out), NULL));
}

/* ---- the walker ---- */

struct rec {
    char log[8192];
    size_t len;
    char subject[1024], from[1024], names[2048];
};

static void rec_add(struct rec *r, const char *s, size_t n)
{
    if (r->len + n + 1 > sizeof(r->log))
        n = sizeof(r->log) - 1 - r->len;
    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}

static void r_header(void *ud, unsigned depth, const char *name, size_t nl, const char *v,
                     size_t vl)
{
    struct rec *r = ud;
    if (depth != 0)
        return;
    char *dst = NULL;
    if (nl == 7 && strncasecmp(name, "subject", 7) == 0)
        dst = r->subject;
    else if (nl == 4 && strncasecmp(name, "from", 4) == 0)
        dst = r->from;
    if (dst != NULL && dst[0] == '\0')
        mime_decode_words(v, vl, dst, 1024, NULL);
}

static void r_begin(void *ud, const struct mime_part *p)
{
    struct rec *r = ud;
    char b[512];
    int n = snprintf(b, sizeof(b), "[%s|%s|%d|%u]", p->ctype, p->name, (int)p->cte, p->depth);
    rec_add(r, b, (size_t)n);
    if (p->name[0] != '\0') {
        size_t k = strlen(r->names);
        snprintf(r->names + k, sizeof(r->names) - k, "%s%s", k ? "|" : "", p->name);
    }
}

static void r_data(void *ud, const uint8_t *d, size_t n)
{
    rec_add(ud, (const char *)d, n);
}

static void r_end(void *ud, bool complete, bool bad)
{
    rec_add(ud, complete ? (bad ? "<bad>" : "<end>") : "<cut>", 5);
}

static void r_anomaly(void *ud, enum mime_anomaly a)
{
    rec_add(ud, "{", 1);
    rec_add(ud, mime_anomaly_name(a), strlen(mime_anomaly_name(a)));
    rec_add(ud, "}", 1);
}

static void walk(struct rec *r, const char *msg, size_t n, size_t cut, uint32_t depth,
                 uint32_t parts)
{
    memset(r, 0, sizeof(*r));
    struct mime m;
    struct mime_cb cb = {r_header, r_begin, r_data, r_end, r_anomaly, r};
    if (mime_init(&m, &cb, 256, depth, parts) != 0)
        return;
    size_t a = cut < n ? cut : n;
    uint8_t *c = malloc(n + 1);
    memcpy(c, msg, n);
    mime_feed(&m, c, a);
    mime_feed(&m, c + a, n - a);
    free(c);
    mime_finish(&m);
    mime_free(&m);
}

static const char nested[] =
    "Subject: nested\r\n"
    "Content-Type: multipart/mixed; boundary=outer\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "soft=\r\n"
    "break =E2=9C=93\r\n"
    "--inner\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>x</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: image/png; name=\"a.png\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0K\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

static void test_walker_splits(void)
{
    static struct rec whole, part;
    walk(&whole, nested, sizeof(nested) - 1, sizeof(nested), 8, 100);
    CHECK_STR(whole.log, "[text/plain||2|2]softbreak ✓<end>[text/html||0|2]<p>x</p><end>"
                         "[image/png|a.png|1|1]\x89PNG\r\n<end>");
    CHECK_STR(whole.subject, "nested");
    for (size_t k = 0; k < sizeof(nested); k++) {
        walk(&part, nested, sizeof(nested) - 1, k, 8, 100);
        if (strcmp(part.log, whole.log) != 0)
            fprintf(stderr, "cut %zu: %s\n", k, part.log);
        CHECK_STR(part.log, whole.log);
    }
    /* caps: depth 1 skips the inner multipart, 1 part keeps only the first leaf */
    walk(&part, nested, sizeof(nested) - 1, sizeof(nested), 1, 100);
    CHECK_STR(part.log, "{mime_too_deep}[image/png|a.png|1|1]\x89PNG\r\n<end>");
    walk(&part, nested, sizeof(nested) - 1, sizeof(nested), 8, 1);
    CHECK_STR(part.log, "[text/plain||2|2]softbreak ✓<end>{too_many_parts}");
}

static void test_long_lines(void)
{
    static char msg[3000];
    static struct rec r, r2;
    int n = snprintf(msg, sizeof(msg), "Subject: x\r\n\r\n");
    memset(msg + n, 'z', 1000);
    memcpy(msg + n + 1000, "\r\nend\r\n", 8);
    walk(&r, msg, strlen(msg), 5, 8, 100);
    CHECK(strstr(r.log, "{line_too_long}") != NULL);
    CHECK(strstr(r.log, "zzzz\r\nend<end>") != NULL);
    walk(&r2, msg, strlen(msg), 300, 8, 100);
    CHECK_STR(r2.log, r.log);
}

/* ---- the corpus against Python's email package ---- */

static const char py_ref[] =
    "import os,sys,email\n"
    "from email.header import decode_header\n"
    "def d(v):\n"
    "    if v is None: return ''\n"
    "    v=''.join(str(v).splitlines())\n"
    "    try: parts=decode_header(v)\n"
    "    except Exception: return v\n"
    "    o=''\n"
    "    for b,cs in parts:\n"
    "        if isinstance(b,str): o+=b; continue\n"
    "        try: o+=b.decode(cs or 'ascii','surrogateescape' if not cs else 'replace')\n"
    "        except LookupError: o+=b.decode('ascii','surrogateescape')\n"
    "    return o\n"
    "def clean(s): return ''.join(' ' if c in '\\t\\r\\n' else c for c in s)\n"
    "root=sys.argv[1]\n"
    "for dp,dn,fn in sorted(os.walk(root)):\n"
    "    dn.sort()\n"
    "    for f in sorted(fn):\n"
    "        if not f.endswith('.eml'): continue\n"
    "        p=os.path.join(dp,f)\n"
    "        m=email.message_from_binary_file(open(p,'rb'))\n"
    "        names=[]\n"
    "        for part in m.walk():\n"
    "            if part.is_multipart(): continue\n"
    "            n=part.get_filename()\n"
    "            if n: names.append(d(n))\n"
    "        row=[p,d(m.get('Subject')),d(m.get('From')),'|'.join(names)]\n"
    "        sys.stdout.buffer.write(('\\t'.join(clean(x) for x in row)+'\\n')"
    ".encode('utf-8','surrogateescape'))\n";

static void clean(char *s)
{
    for (; *s; s++)
        if (*s == '\t' || *s == '\r' || *s == '\n')
            *s = ' ';
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    size_t k;
    while (b != NULL && (k = fread(b + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            char *nb = realloc(b, cap *= 2);
            if (nb == NULL)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    *n = len;
    return b;
}

struct agree {
    unsigned n, subj, from, names, shown;
};

static void compare_one(struct agree *a, char *line)
{
    char *f[4] = {line, NULL, NULL, NULL};
    for (int i = 1; i < 4; i++) {
        f[i] = f[i - 1] ? strchr(f[i - 1], '\t') : NULL;
        if (f[i] != NULL)
            *f[i]++ = '\0';
    }
    if (f[3] == NULL)
        return;
    f[3][strcspn(f[3], "\n")] = '\0';
    size_t n;
    char *msg = read_file(f[0], &n);
    if (msg == NULL)
        return;
    size_t skip = 0;
    if (n > 5 && memcmp(msg, "From ", 5) == 0) { /* the mbox line */
        const char *nl = memchr(msg, '\n', n);
        skip = nl ? (size_t)(nl - msg) + 1 : n;
    }
    static struct rec r, r2;
    walk(&r, msg + skip, n - skip, n, MIME_DEPTH_LIMIT, 1000);
    walk(&r2, msg + skip, n - skip, (n - skip) / 3, MIME_DEPTH_LIMIT, 1000);
    free(msg);
    clean(r.subject);
    clean(r.from);
    a->n++;
    bool same = strcmp(r.log, r2.log) == 0 && strcmp(r.subject, r2.subject) == 0;
    a->subj += same && strcmp(r.subject, f[1]) == 0;
    a->from += same && strcmp(r.from, f[2]) == 0;
    a->names += same && strcmp(r.names, f[3]) == 0;
    if ((strcmp(r.subject, f[1]) != 0 || strcmp(r.from, f[2]) != 0 ||
         strcmp(r.names, f[3]) != 0) &&
        a->shown++ < 8)
        fprintf(stderr, "differs %s:\n  subject [%s] python [%s]\n  from [%s] python [%s]\n"
                        "  names [%s] python [%s]\n",
                f[0], r.subject, f[1], r.from, f[2], r.names, f[3]);
}

static void test_corpus_vs_python(void)
{
    const char *pcap = check_corpus_pcap_dir();
    if (pcap == NULL)
        SKIP("corpus not found");
    char dir[1100], cmd[4096];
    snprintf(dir, sizeof(dir), "%s/../mail", pcap);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        SKIP("corpus mail folder not found");
    FILE *py = fopen("mime_ref.py", "w");
    CHECK(py != NULL);
    fputs(py_ref, py);
    fclose(py);
    snprintf(cmd, sizeof(cmd), "python3 mime_ref.py '%s'", dir);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    static char line[16384];
    struct agree a = {0};
    while (fgets(line, sizeof(line), p) != NULL)
        compare_one(&a, line);
    int rc = pclose(p);
    remove("mime_ref.py");
    CHECK(rc == 0);
    fprintf(stderr, "mail corpus: %u messages; agreement with Python email: subject %u, from %u, "
                    "attachment names %u\n",
            a.n, a.subj, a.from, a.names);
    CHECK(a.n >= 100);
    CHECK(a.subj * 100 >= a.n * 95);
    CHECK(a.from * 100 >= a.n * 95);
    CHECK(a.names * 100 >= a.n * 98);
}

int main(void)
{
    RUN(test_b64_qp);
    RUN(test_b64_splits);
    RUN(test_rfc2047);
    RUN(test_rfc2231);
    RUN(test_walker_splits);
    RUN(test_long_lines);
    RUN(test_corpus_vs_python);
    return check_done();
}
