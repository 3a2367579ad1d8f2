/* Unit tests of lib/conf: defaults, every value type, YAML nesting and dotted keys, every
 * error message with its exact "file:line: name: message" text, atomic loads, the
 * conf_print -> conf_load_buf round trip, --help-config output and allocation failure. */
#include "check.h"
#include "otasuke/alloc.h"
#include "otasuke/conf.h"
#include "otasuke/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

struct tconf {
    bool verbose;
    int64_t workers;
    int64_t offset;
    uint64_t memcap;
    uint64_t timeout;
    char path[CONF_STR_MAX];
    int mode;
    bool deep;
    bool deep16;
};

static const char *const g_modes[] = {"file", "stdout", "dir", NULL};

#define OFF(f) offsetof(struct tconf, f)
static const struct conf_item g_tab[] = {
    {"verbose", CONF_BOOL, "no", 0, 0, OFF(verbose), "Log more.", NULL},
    {"workers", CONF_INT, "2", 1, 64, OFF(workers), "Worker threads.", NULL},
    {"offset", CONF_INT, "-5", 0, 0, OFF(offset), "Any integer.", NULL},
    {"flow.memcap", CONF_SIZE, "64 MiB", 1 << 20, 1 << 30, OFF(memcap), "Flow memory.", NULL},
    {"flow.timeout", CONF_DURATION, "30s", 1000000, 86400000000, OFF(timeout), "Idle timeout.",
     NULL},
    {"output.path", CONF_STRING, "/var/log/otasuke", 0, 0, OFF(path), "Where events go.", NULL},
    {"output.mode", CONF_ENUM, "file", 0, 0, OFF(mode), "Output kind.", g_modes},
    {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", CONF_BOOL, "no", 0, 0, OFF(deep), "17 levels.", NULL},
    {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.x", CONF_BOOL, "no", 0, 0, OFF(deep16), "16 levels.", NULL},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static char g_err[512];

/* Member-wise equality: memcmp of the whole struct would also compare padding bytes. */
static bool tconf_same(const struct tconf *a, const struct tconf *b)
{
    return a->verbose == b->verbose && a->workers == b->workers && a->offset == b->offset &&
           a->memcap == b->memcap && a->timeout == b->timeout &&
           memcmp(a->path, b->path, sizeof(a->path)) == 0 && a->mode == b->mode &&
           a->deep == b->deep && a->deep16 == b->deep16;
}

static int load(struct tconf *c, const char *yaml)
{
    g_err[0] = '\0';
    return conf_load_buf(g_tab, c, "t.yaml", yaml, strlen(yaml), g_err, sizeof(g_err));
}

/* Loads yaml over defaults and expects failure with exactly `msg`. */
#define EXPECT_ERR(yaml, msg)                                                                      \
    do {                                                                                           \
        struct tconf c_;                                                                           \
        CHECK(conf_defaults(g_tab, &c_) == 0);                                                     \
        CHECK(load(&c_, (yaml)) == ERR_INVAL);                                                     \
        CHECK_STR(g_err, (msg));                                                                   \
    } while (0)

static void test_defaults(void)
{
    struct tconf c;
    memset(&c, 0xa5, sizeof(c));
    CHECK(conf_defaults(g_tab, &c) == 0);
    CHECK(!c.verbose);
    CHECK(c.workers == 2);
    CHECK(c.offset == -5);
    CHECK_EQ_U64(c.memcap, 64u << 20);
    CHECK_EQ_U64(c.timeout, 30000000);
    CHECK_STR(c.path, "/var/log/otasuke");
    CHECK(c.mode == 0);
}

static void test_nested_and_dotted(void)
{
    struct tconf c;
    CHECK(conf_defaults(g_tab, &c) == 0);
    CHECK(load(&c, "# comment\n"
                   "flow:\n"
                   "  memcap: 128 MiB\n"
                   "  timeout: 2m\n"
                   "verbose: yes\n"
                   "output.mode: dir\n"
                   "output:\n"
                   "  path: \"/tmp/x y\"\n"
                   "workers: !!int 8\n") == 0);
    CHECK_EQ_U64(c.memcap, 128u << 20);
    CHECK_EQ_U64(c.timeout, 120000000);
    CHECK(c.verbose);
    CHECK(c.mode == 2);
    CHECK_STR(c.path, "/tmp/x y");
    CHECK(c.workers == 8);
    /* flow mappings, anchors without aliases, an empty section */
    CHECK(load(&c, "flow: {memcap: &m 2M, timeout: 1h}\noutput:\n") == 0);
    CHECK_EQ_U64(c.memcap, 2u << 20);
    CHECK_EQ_U64(c.timeout, 3600000000u);
    /* 16 levels are fine */
    CHECK(load(&c, "a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h:\n        i:\n"
                   "         j:\n          k:\n           l:\n            m:\n             n:\n"
                   "              o:\n               x: on\n") == 0);
    CHECK(c.deep16);
}

static void test_empty(void)
{
    struct tconf c, d;
    CHECK(conf_defaults(g_tab, &c) == 0);
    d = c;
    CHECK(load(&c, "") == 0);
    CHECK(load(&c, "# only a comment\n\n") == 0);
    CHECK(load(&c, "---\n...\n") == 0);
    CHECK(load(&c, "~\n") == 0);
    CHECK(tconf_same(&c, &d));
}

static void test_errors(void)
{
    EXPECT_ERR("flow:\n  memcapp: 1\n", "t.yaml:2: flow.memcapp: unknown setting");
    EXPECT_ERR("nope: 1\n", "t.yaml:1: nope: unknown setting");
    EXPECT_ERR("flow:\n  memcap: lots\n",
               "t.yaml:2: flow.memcap: expected a size like 64 MiB, got \"lots\"");
    EXPECT_ERR("flow:\n  memcap:\n    1.5 GiB\n",
               "t.yaml:3: flow.memcap: expected a size like 64 MiB, got \"1.5 GiB\"");
    EXPECT_ERR("flow.memcap: 2 GiB\n", "t.yaml:1: flow.memcap: value too large (max 1 GiB)");
    EXPECT_ERR("flow.memcap: 512 KiB\n", "t.yaml:1: flow.memcap: value too small (min 1 MiB)");
    EXPECT_ERR("flow.memcap: 99999999999999999999999 GiB\n",
               "t.yaml:1: flow.memcap: value too large (max 1 GiB)");
    EXPECT_ERR("flow.timeout: 2d\n", "t.yaml:1: flow.timeout: value too large (max 1d)");
    EXPECT_ERR("flow.timeout: 999ms\n", "t.yaml:1: flow.timeout: value too small (min 1s)");
    EXPECT_ERR("flow.timeout: soon\n",
               "t.yaml:1: flow.timeout: expected a duration like 30s, got \"soon\"");
    EXPECT_ERR("workers: 65\n", "t.yaml:1: workers: value too large (max 64)");
    EXPECT_ERR("workers: 0\n", "t.yaml:1: workers: value too small (min 1)");
    EXPECT_ERR("workers: 0x10\n", "t.yaml:1: workers: expected an integer, got \"0x10\"");
    EXPECT_ERR("workers: 1e3\n", "t.yaml:1: workers: expected an integer, got \"1e3\"");
    EXPECT_ERR("offset: 9223372036854775808\n",
               "t.yaml:1: offset: value too large (max 9223372036854775807)");
    EXPECT_ERR("offset: -9223372036854775809\n",
               "t.yaml:1: offset: value too small (min -9223372036854775808)");
    EXPECT_ERR("verbose: maybe\n",
               "t.yaml:1: verbose: expected true or false (yes/no, on/off), got \"maybe\"");
    EXPECT_ERR("output:\n  mode: pipe\n",
               "t.yaml:2: output.mode: expected one of file, stdout, dir; got \"pipe\"");
    EXPECT_ERR("verbose: yes\nverbose: no\n", "t.yaml:2: verbose: duplicate key");
    EXPECT_ERR("flow:\n  memcap: 1M\nflow:\n  timeout: 1s\n", "t.yaml:3: flow: duplicate key");
    EXPECT_ERR("flow:\n  memcap: 1M\nflow.memcap: 2M\n", "t.yaml:3: flow.memcap: duplicate key");
    EXPECT_ERR("workers:\n  - 1\n  - 2\n", "t.yaml:1: workers: not a scalar (got a list)");
    EXPECT_ERR("workers: {a: 1}\n", "t.yaml:1: workers: not a scalar (got a mapping)");
    EXPECT_ERR("flow: 5\n", "t.yaml:1: flow: is a section, expected a mapping");
    EXPECT_ERR("flow:\n  - memcap\n", "t.yaml:1: flow: is a section, expected a mapping");
    EXPECT_ERR("workers: &w 3\noffset: *w\n", "t.yaml:2: offset: aliases are not supported");
    EXPECT_ERR("verbose: yes\n---\nverbose: no\n", "t.yaml:2: only one YAML document is allowed");
    EXPECT_ERR("hello\n", "t.yaml:1: expected a mapping of settings at the top level");
    EXPECT_ERR("- a\n- b\n", "t.yaml:1: expected a mapping of settings at the top level");
    EXPECT_ERR("? [a]\n: 1\n", "t.yaml:1: keys must be plain names");
    EXPECT_ERR("a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h:\n        i:\n"
               "         j:\n          k:\n           l:\n            m:\n             n:\n"
               "              o:\n               p:\n                q: on\n",
               "t.yaml:17: a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p: nesting deeper than 16 levels");
    /* a dotted key reaches the same setting without nesting */
    {
        struct tconf c;
        CHECK(conf_defaults(g_tab, &c) == 0);
        CHECK(load(&c, "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q: yes\n") == 0);
        CHECK(c.deep);
    }
}

static void test_syntax_errors(void)
{
    EXPECT_ERR("verbose: yes\nflow:\n\tmemcap: 1M\n",
               "t.yaml:3: while scanning for the next token found character that cannot start "
               "any token");
    EXPECT_ERR("verbose: yes\nflow: {memcap: 1M\n",
               "t.yaml:3: while parsing a flow mapping did not find expected ',' or '}'");
    EXPECT_ERR("verbose: yes\n- x\n",
               "t.yaml:2: while parsing a block mapping did not find expected key");
    EXPECT_ERR("verbose: yes\n%YAML 1.1\n", "t.yaml:3: did not find expected <document start>");
    EXPECT_ERR("output.path: \"abc\n",
               "t.yaml:2: while scanning a quoted scalar found unexpected end of stream");
    EXPECT_ERR("output.path: \"\\xff\\xfe\"\n" /* the escape is fine, */
               "verbose: \xff\n",             /* the raw byte is not UTF-8 */
               "t.yaml:2: invalid leading UTF-8 octet");
}

static void test_strings(void)
{
    char big[CONF_STR_MAX + 32];
    memset(big, 'x', sizeof(big));
    memcpy(big, "output.path: ", 13);
    big[13 + CONF_STR_MAX] = '\n';
    big[13 + CONF_STR_MAX + 1] = '\0'; /* a value of CONF_STR_MAX bytes: one too many */
    EXPECT_ERR(big, "t.yaml:1: output.path: too long (max 255 bytes)");
    big[13 + CONF_STR_MAX - 1] = '\n';
    big[13 + CONF_STR_MAX] = '\0';
    struct tconf c;
    CHECK(conf_defaults(g_tab, &c) == 0);
    CHECK(load(&c, big) == 0);
    CHECK_EQ_U64(strlen(c.path), CONF_STR_MAX - 1);
    EXPECT_ERR("output.path: \"a\\x01b\"\n",
               "t.yaml:1: output.path: contains a control character or invalid UTF-8");
    EXPECT_ERR("output.path: \"a\\0b\"\n", "t.yaml:1: output.path: contains a NUL byte");
    CHECK(load(&c, "output.path: ''\n") == 0);
    CHECK_STR(c.path, "");
    CHECK(load(&c, "output.path: >-\n  two\n  lines\n") == 0);
    CHECK_STR(c.path, "two lines");
    EXPECT_ERR("output.path: |\n  two\n  lines\n",
               "t.yaml:1: output.path: contains a control character or invalid UTF-8");
}

static void test_file(void)
{
    struct tconf c;
    char path[] = "/tmp/conf_test_XXXXXX";
    CHECK(conf_defaults(g_tab, &c) == 0);
    CHECK(conf_load_file(g_tab, &c, "/nonexistent/otasuke.yaml", g_err, sizeof(g_err)) ==
          ERR_IO);
    CHECK_STR(g_err, "/nonexistent/otasuke.yaml: No such file or directory");
    CHECK(conf_load_file(g_tab, &c, "/tmp", g_err, sizeof(g_err)) == ERR_IO);
    CHECK_STR(g_err, "/tmp: Is a directory");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *y = "workers: 4\nflow:\n  memcap: 3 MiB\n  timeout: 1\n";
    CHECK(write(fd, y, strlen(y)) == (ssize_t)strlen(y));
    CHECK(conf_load_file(g_tab, &c, path, g_err, sizeof(g_err)) == 0);
    CHECK(c.workers == 4);
    CHECK_EQ_U64(c.memcap, 3u << 20);
    CHECK_EQ_U64(c.timeout, 1000000);
    const char *bad = "verbose: 12\n";
    CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, bad, strlen(bad), 0) == (ssize_t)strlen(bad));
    CHECK(conf_load_file(g_tab, &c, path, g_err, sizeof(g_err)) == ERR_INVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:1: verbose: expected true or false (yes/no, on/off), got \"12\"",
             path);
    CHECK_STR(g_err, want);
    close(fd);
    unlink(path);
}

static void test_atomic(void)
{
    struct tconf c, d;
    CHECK(conf_defaults(g_tab, &c) == 0);
    d = c;
    CHECK(load(&c, "workers: 9\nverbose: on\nflow.memcap: 1 TiB\n") == ERR_INVAL);
    CHECK(tconf_same(&c, &d));
}

static void test_units(void)
{
    static const struct {
        const char *s;
        uint64_t v;
        int ok;
    } sz[] = {
        {"64 MiB", 64ull << 20, 1}, {"64MiB", 64ull << 20, 1}, {"64M", 64ull << 20, 1},
        {"1 GiB", 1ull << 30, 1},   {"512 KiB", 512 << 10, 1}, {"100", 100, 1},
        {"100 B", 100, 1},          {"0", 0, 1},               {"2T", 2ull << 40, 1},
        {"16777215 TiB", 16777215ull << 40, 1},                {"16777216 TiB", 0, 0},
        {"1.5 GiB", 0, 0},          {"-1", 0, 0},              {"1 MB", 0, 0},
        {"1 mib", 0, 0},            {" 1M", 0, 0},             {"1M ", 0, 0},
        {"", 0, 0},                 {"M", 0, 0},               {"18446744073709551615", UINT64_MAX, 1},
        {"18446744073709551616", 0, 0},
    };
    for (size_t i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
        uint64_t v = 12345;
        int rc = conf_parse_size(sz[i].s, &v);
        if (sz[i].ok) {
            CHECK(rc == 0);
            CHECK_EQ_U64(v, sz[i].v);
        } else {
            CHECK(rc == ERR_INVAL);
        }
    }
    static const struct {
        const char *s;
        uint64_t v;
        int ok;
    } du[] = {
        {"30s", 30000000, 1}, {"5 m", 300000000, 1}, {"2h", 7200000000ull, 1},
        {"100ms", 100000, 1}, {"1d", 86400000000ull, 1}, {"7", 7000000, 1},
        {"250us", 250, 1},    {"0", 0, 1},           {"1.5s", 0, 0},
        {"1 sec", 0, 0},      {"-1s", 0, 0},         {"s", 0, 0},
        {"213503983d", 0, 0}, {"213503982d", 213503982ull * 86400000000ull, 1},
    };
    for (size_t i = 0; i < sizeof(du) / sizeof(du[0]); i++) {
        uint64_t v = 12345;
        int rc = conf_parse_duration(du[i].s, &v);
        if (du[i].ok) {
            CHECK(rc == 0);
            CHECK_EQ_U64(v, du[i].v);
        } else {
            CHECK(rc == ERR_INVAL);
        }
    }
    char b[32];
    conf_format_size(64ull << 20, b, sizeof(b));
    CHECK_STR(b, "64 MiB");
    conf_format_size(1536, b, sizeof(b));
    CHECK_STR(b, "1536 B");
    conf_format_size(0, b, sizeof(b));
    CHECK_STR(b, "0 B");
    conf_format_size(3ull << 40, b, sizeof(b));
    CHECK_STR(b, "3 TiB");
    conf_format_duration(120000000, b, sizeof(b));
    CHECK_STR(b, "2m");
    conf_format_duration(90000000, b, sizeof(b));
    CHECK_STR(b, "90s");
    conf_format_duration(500000, b, sizeof(b));
    CHECK_STR(b, "500ms");
    conf_format_duration(0, b, sizeof(b));
    CHECK_STR(b, "0s");
    conf_format_duration(86400000000ull * 2, b, sizeof(b));
    CHECK_STR(b, "2d");
    conf_format_duration(1001, b, sizeof(b));
    CHECK_STR(b, "1001us");
}

static void test_bool_enum_set(void)
{
    struct tconf c;
    static const char *const t[] = {"true", "yes", "on", "True", "YES", "On"};
    static const char *const f[] = {"false", "no", "off", "FALSE", "No", "OFF"};
    CHECK(conf_defaults(g_tab, &c) == 0);
    for (size_t i = 0; i < 6; i++) {
        CHECK(conf_set(g_tab, &c, "verbose", t[i], g_err, sizeof(g_err)) == 0);
        CHECK(c.verbose);
        CHECK(conf_set(g_tab, &c, "verbose", f[i], g_err, sizeof(g_err)) == 0);
        CHECK(!c.verbose);
    }
    CHECK(conf_set(g_tab, &c, "verbose", "1", g_err, sizeof(g_err)) == ERR_INVAL);
    CHECK_STR(g_err, "verbose: expected true or false (yes/no, on/off), got \"1\"");
    CHECK(conf_set(g_tab, &c, "output.mode", "stdout", g_err, sizeof(g_err)) == 0);
    CHECK(c.mode == 1);
    CHECK(conf_set(g_tab, &c, "nope", "1", g_err, sizeof(g_err)) == ERR_INVAL);
    CHECK_STR(g_err, "nope: unknown setting");
    CHECK(conf_set(g_tab, &c, "flow.memcap", "2 GiB", g_err, sizeof(g_err)) == ERR_INVAL);
    CHECK_STR(g_err, "flow.memcap: value too large (max 1 GiB)");
    CHECK(conf_set(g_tab, &c, "offset", "-9223372036854775808", g_err, sizeof(g_err)) == 0);
    CHECK(c.offset == INT64_MIN);
    CHECK(conf_set(g_tab, &c, "offset", "+12", g_err, sizeof(g_err)) == 0);
    CHECK(c.offset == 12);
    CHECK(conf_set(g_tab, &c, "output.path", "a\xc3\x28", g_err, sizeof(g_err)) == ERR_INVAL);
    CHECK(conf_find(g_tab, "flow.timeout") == &g_tab[4]);
    CHECK(conf_find(g_tab, "flow") == NULL);
}

static char *print_to_string(const struct tconf *c)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (f == NULL)
        return NULL;
    conf_print(g_tab, c, f);
    fclose(f);
    return s;
}

static void test_print(void)
{
    struct tconf c;
    CHECK(conf_defaults(g_tab, &c) == 0);
    char *s = print_to_string(&c);
    CHECK(s != NULL);
    CHECK_STR(s, "verbose: false\n"
                 "workers: 2\n"
                 "offset: -5\n"
                 "flow.memcap: 64 MiB\n"
                 "flow.timeout: 30s\n"
                 "output.path: /var/log/otasuke\n"
                 "output.mode: file\n"
                 "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q: false\n"
                 "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.x: false\n");
    free(s);
}

static void roundtrip_one(const char *path_value)
{
    struct tconf c, d;
    CHECK(conf_defaults(g_tab, &c) == 0);
    CHECK(conf_set(g_tab, &c, "output.path", path_value, g_err, sizeof(g_err)) == 0);
    c.verbose = true;
    c.offset = INT64_MIN;
    c.memcap = (1u << 30) - 1024;
    c.timeout = 86400000000ull - 1;
    c.mode = 2;
    char *s = print_to_string(&c);
    CHECK(s != NULL);
    memset(&d, 0, sizeof(d));
    int rc = load(&d, s);
    if (rc != 0)
        fprintf(stderr, "round trip of:\n%s\nfailed: %s\n", s, g_err);
    free(s);
    CHECK(rc == 0);
    CHECK(d.verbose == c.verbose && d.workers == c.workers && d.offset == c.offset);
    CHECK_EQ_U64(d.memcap, c.memcap);
    CHECK_EQ_U64(d.timeout, c.timeout);
    CHECK_STR(d.path, c.path);
    CHECK(d.mode == c.mode && d.deep == c.deep);
}

static void test_roundtrip(void)
{
    static const char *const v[] = {
        "", "yes", "No", "null", "~", "123", "-x", "a b", " lead", "trail ", "a: b", "#x",
        "q\"uote", "back\\slash", "tab\there", "it's", "[x]", "{x}", "&a", "*a", "!t", "%p",
        "@at", "`bt`", "|", ">", "caf\xc3\xa9", "\xe2\x80\xa8sep", "\xef\xbb\xbf\x62om",
        "\xef\xbf\xbe", "\xf0\x9f\x98\x80", ".inf", "0x1f", "/var/log/otasuke-1.2", "a,b",
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        roundtrip_one(v[i]);
        if (check_cur_failed) {
            fprintf(stderr, "round trip failed for value #%zu\n", i);
            return;
        }
    }
}

static void test_help(void)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    CHECK(f != NULL);
    conf_help(g_tab, f);
    fclose(f);
    CHECK(strstr(s, "flow.memcap (size, default 64 MiB, range 1 MiB .. 1 GiB)\n"
                    "    Flow memory.\n") != NULL);
    CHECK(strstr(s, "flow.timeout (duration, default 30s, range 1s .. 1d)\n") != NULL);
    CHECK(strstr(s, "workers (integer, default 2, range 1 .. 64)\n") != NULL);
    CHECK(strstr(s, "output.mode (enum, default file, one of file, stdout, dir)\n") != NULL);
    CHECK(strstr(s, "verbose (bool, default no)\n    Log more.\n") != NULL);
    free(s);
}

static void test_alloc_failure(void)
{
    struct mem_stat st;
    struct tconf c;
    CHECK(conf_defaults(g_tab, &c) == 0);
    for (long n = 1; n <= 3; n++) {
        mem_fail_after(n);
        int rc = load(&c, "workers: 3\n");
        mem_fail_after(0);
        CHECK(rc == 0 || rc == ERR_NOMEM);
        if (rc == ERR_NOMEM)
            CHECK_STR(g_err, "t.yaml: out of memory");
    }
    mem_get(MEM_CONF, &st);
    CHECK_EQ_U64(st.in_use, 0);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_nested_and_dotted);
    RUN(test_empty);
    RUN(test_errors);
    RUN(test_syntax_errors);
    RUN(test_strings);
    RUN(test_file);
    RUN(test_atomic);
    RUN(test_units);
    RUN(test_bool_enum_set);
    RUN(test_print);
    RUN(test_roundtrip);
    RUN(test_help);
    RUN(test_alloc_failure);
    return check_done();
}
