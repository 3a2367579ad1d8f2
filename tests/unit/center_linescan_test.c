/*
 * The ingest line scanner (center/ingest/linescan.c): hand-written lines with the
 * expected verdict and extracted members, then the differential check against jansson
 * (tests/fuzz/linescan_diff.h) on the fuzz seeds, on the real sensor output of the
 * ingest corpus (the .ndjson files of tests/fuzz/corpus/ingest) and on every single-byte
 * replacement (by bytes that matter to JSON and UTF-8) and every truncation of the
 * seed lines, which the test generates itself.
 */
#include "check.h"

#include "../fuzz/linescan_diff.h"

#include <dirent.h>

static struct linescan g_ls;

static int scan(const char *s, struct linescan_fields *f)
{
    return linescan_line(&g_ls, s, strlen(s), f);
}

static void test_verdicts(void)
{
    static const struct {
        const char *line;
        int rc;
    } cases[] = {
        {"{}", LINESCAN_OK},
        {"[]", LINESCAN_OK},
        {" \t{ \"a\" : [ 1 , -2.5e-3 , true , false , null ] } \r", LINESCAN_OK},
        {"\"abc\"", LINESCAN_BAD_JSON},                 /* top level not object/array */
        {"{\"a\":1} x", LINESCAN_BAD_JSON},             /* trailing data */
        {"{\"a\":1}\xff", LINESCAN_BAD_UTF8},           /* trailing bad byte */
        {"{\"a\":1,\"a\":2}", LINESCAN_BAD_JSON},       /* duplicate key */
        {"{\"a\":1,\"\\u0061\":2}", LINESCAN_BAD_JSON}, /* duplicate after unescaping */
        {"{\"a\":{\"a\":1},\"b\":{\"a\":2}}", LINESCAN_OK}, /* same key, other objects */
        {"{\"a\\u0000\":1}", LINESCAN_BAD_JSON},        /* NUL in a key */
        {"{\"a\":\"x\\u0000y\"}", LINESCAN_OK},         /* NUL in a value */
        {"{\"a\":\"\\ud83d\\ude00\"}", LINESCAN_OK},    /* surrogate pair */
        {"{\"a\":\"\\ud83d\"}", LINESCAN_BAD_JSON},     /* lone high surrogate */
        {"{\"a\":\"\\ude00\"}", LINESCAN_BAD_JSON},     /* lone low surrogate */
        {"{\"a\":\"\\ud83d\\ud83d\"}", LINESCAN_BAD_JSON},
        {"{\"a\":\"\\ud83d\xff\"}", LINESCAN_BAD_UTF8}, /* UTF-8 checked before pairs */
        {"{\"a\":\"\\x\"}", LINESCAN_BAD_JSON},         /* unknown escape */
        {"{\"a\":\"\x01\"}", LINESCAN_BAD_JSON},        /* control character */
        {"{\"a\":\"\xc0\xaf\"}", LINESCAN_BAD_UTF8},    /* overlong */
        {"{\"a\":\"\xed\xa0\x80\"}", LINESCAN_BAD_UTF8}, /* encoded surrogate */
        {"{\"a\":\"\xf4\x90\x80\x80\"}", LINESCAN_BAD_UTF8}, /* above U+10FFFF */
        {"{\"a\":\"\xe6\x97\xa5\xf0\x9f\x98\x80\"}", LINESCAN_OK},
        {"{\"a\":\xe6\x97\xa5}", LINESCAN_BAD_JSON},    /* valid UTF-8 outside a string */
        {"{\"a\":tru\xff}", LINESCAN_BAD_UTF8},         /* the byte read ahead counts */
        {"{\"a\":1\xff}", LINESCAN_BAD_UTF8},
        {"{\"a\":01}", LINESCAN_BAD_JSON},
        {"{\"a\":1.}", LINESCAN_BAD_JSON},
        {"{\"a\":-}", LINESCAN_BAD_JSON},
        {"{\"a\":1e}", LINESCAN_BAD_JSON},
        {"{\"a\":9223372036854775807}", LINESCAN_OK},
        {"{\"a\":-9223372036854775808}", LINESCAN_OK},
        {"{\"a\":9223372036854775808}", LINESCAN_BAD_JSON}, /* int64 overflow */
        {"{\"a\":1e308}", LINESCAN_OK},
        {"{\"a\":1e309}", LINESCAN_BAD_JSON}, /* double overflow */
        {"{\"a\":1e-400}", LINESCAN_OK},      /* underflow is not an error */
        {"{\"a\":nulll}", LINESCAN_BAD_JSON},
        {"{\"a\" 1}", LINESCAN_BAD_JSON},
        {"{\"a\":1,}", LINESCAN_BAD_JSON},
        {"[1,]", LINESCAN_BAD_JSON},
        {"{\"a\":\"abc", LINESCAN_BAD_JSON},
        {"", LINESCAN_BAD_JSON},
    };
    struct linescan_fields f;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = scan(cases[i].line, &f);
        if (rc != cases[i].rc)
            fprintf(stderr, "case %zu: %s -> %d\n", i, cases[i].line, rc);
        CHECK_EQ_U64(rc, cases[i].rc);
        CHECK(linescan_diff(&g_ls, cases[i].line, strlen(cases[i].line)) == NULL);
    }
    /* A raw NUL byte is refused (jansson skips one after a number). */
    static const char nul[] = "{\"a\":1\0}";
    CHECK_EQ_U64(linescan_line(&g_ls, nul, sizeof(nul) - 1, &f), LINESCAN_BAD_JSON);
}

static void test_depth(void)
{
    static char buf[2 * 2049 + 2];
    struct linescan_fields f;
    for (int depth = 2047; depth <= 2049; depth++) {
        memset(buf, '[', (size_t)depth);
        memset(buf + depth, ']', (size_t)depth);
        int rc = linescan_line(&g_ls, buf, 2 * (size_t)depth, &f);
        CHECK_EQ_U64(rc, depth <= LINESCAN_MAX_DEPTH ? LINESCAN_OK : LINESCAN_BAD_JSON);
        CHECK(linescan_diff(&g_ls, buf, 2 * (size_t)depth) == NULL);
    }
}

static void test_fields(void)
{
    struct linescan_fields f;
    char out[64];
    const char *l = "{\"x\":{\"event_type\":\"no\"},\"\\u0065vent_type\":\"al\\u0065rt\","
                    "\"timestamp\":\"2026-11-22T10:00:00Z\",\"alert\":{\"category\":\"c2\"}}";
    CHECK_EQ_U64(scan(l, &f), LINESCAN_OK);
    CHECK(f.top_object);
    CHECK_EQ_U64(f.event_type.kind, LS_STRING);
    size_t n = linescan_unescape(f.event_type.raw, f.event_type.raw_len, out, sizeof(out));
    CHECK(n == 5 && memcmp(out, "alert", 5) == 0);
    CHECK(f.timestamp.kind == LS_STRING && f.timestamp.raw_len == 20);
    CHECK(f.category.kind == LS_STRING && f.category.raw_len == 2);
    CHECK_EQ_U64(scan("{\"event_type\":5,\"alert\":\"c2\"}", &f), LINESCAN_OK);
    CHECK_EQ_U64(f.event_type.kind, LS_OTHER);
    CHECK_EQ_U64(f.timestamp.kind, LS_ABSENT);
    CHECK_EQ_U64(f.category.kind, LS_ABSENT);
    /* found by fuzz_ingest_scan: a wanted member holding an object is "other" */
    CHECK_EQ_U64(scan("{\"event_type\":{\"category\":\"c2\"},\"timestamp\":[],"
                      "\"alert\":{\"category\":{}}}", &f), LINESCAN_OK);
    CHECK_EQ_U64(f.event_type.kind, LS_OTHER);
    CHECK_EQ_U64(f.timestamp.kind, LS_OTHER);
    CHECK_EQ_U64(f.category.kind, LS_OTHER);
    CHECK_EQ_U64(scan("[{\"event_type\":\"flow\"}]", &f), LINESCAN_OK);
    CHECK(!f.top_object && f.event_type.kind == LS_ABSENT);
}

/* Many keys in one object: the duplicate table grows; the last key repeats the first. */
static void test_many_keys(void)
{
    size_t cap = 5000 * 24 + 16, n = 0;
    char *b = malloc(cap);
    CHECK(b != NULL);
    b[n++] = '{';
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    b[n++] = '}';
    struct linescan_fields f;
    int ok = linescan_line(&g_ls, b, n, &f);
    n--;
    n += (size_t)snprintf(b + n, cap - n, ",\"k0\":1}");
    int dup = linescan_line(&g_ls, b, n, &f);
    free(b);
    CHECK_EQ_U64(ok, LINESCAN_OK);
    CHECK_EQ_U64(dup, LINESCAN_BAD_JSON);
}

static const unsigned char g_bytes[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '0', '9', '-',
                                        'e', '.', 'u', 't', 'n', ' ', 0x01, 0x7f, 0x80, 0xbf,
                                        0xc3, 0xe3, 0xf0, 0xff};

static size_t g_compared;

/* The line itself, every replacement of one byte by each of g_bytes, and every
 * truncation (at 64 evenly spread positions of lines longer than 400 bytes). */
static void diff_mutations(const char *line, size_t n)
{
    char *m = malloc(n + 1);
    CHECK(m != NULL);
    const char *why = linescan_diff(&g_ls, line, n);
    g_compared++;
    size_t step = n > 400 ? n / 64 : 1;
    for (size_t i = 0; why == NULL && i < n; i += step) {
        memcpy(m, line, n);
        for (size_t b = 0; why == NULL && b < sizeof(g_bytes); b++) {
            m[i] = (char)g_bytes[b];
            why = linescan_diff(&g_ls, m, n);
            g_compared++;
        }
        if (why == NULL)
            why = linescan_diff(&g_ls, line, i);
        g_compared++;
        if (why != NULL)
            fprintf(stderr, "differs (%s) on: %.*s\n", why, (int)n, m);
    }
    free(m);
    CHECK(why == NULL);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    char *buf = malloc(1 << 22);
    *n = buf ? fread(buf, 1, 1 << 22, fp) : 0;
    fclose(fp);
    return buf;
}

/* Each file of dir (each line of it when lines is set) through diff_mutations. */
static void diff_dir(const char *dir, const char *suffix, int lines, size_t max_lines)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *de;
    int failed = 0;
    while (!failed && (de = readdir(d)) != NULL) {
        size_t sl = strlen(de->d_name), xl = strlen(suffix);
        if (sl < xl || strcmp(de->d_name + sl - xl, suffix) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t n = 0;
        char *buf = slurp(path, &n);
        if (buf == NULL)
            continue;
        size_t off = 0, done = 0;
        while (off < n && done < max_lines) {
            const char *nl = lines ? memchr(buf + off, '\n', n - off) : NULL;
            size_t len = nl ? (size_t)(nl - (buf + off)) : n - off;
            int before = check_cur_failed;
            diff_mutations(buf + off, len);
            failed = check_cur_failed && !before;
            check_cur_failed = before || failed;
            if (failed)
                break;
            off += len + 1;
            done++;
        }
        free(buf);
    }
    closedir(d);
    CHECK(!failed);
}

static void test_differential(void)
{
    const char *src = getenv("OTASUKE_SRC");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/ingest_scan", src ? src : "..");
    g_compared = 0;
    diff_dir(dir, ".json", 0, 1);
    CHECK(g_compared > 1000);
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/ingest", src ? src : "..");
    diff_dir(dir, ".ndjson", 1, 40);
    printf("linescan vs jansson: %zu lines compared\n", g_compared);
    CHECK(g_compared > 10000);
}

int main(void)
{
    RUN(test_verdicts);
    RUN(test_depth);
    RUN(test_fields);
    RUN(test_many_keys);
    RUN(test_differential);
    linescan_free(&g_ls);
    return check_done();
}
