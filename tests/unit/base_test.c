/* Unit tests of lib/base and lib/json: allocator caps and faults, bounded reader,
 * JSON writer escaping and bounds, SipHash test vector, timestamp format. */
#include "check.h"
#include "otasuke/alloc.h"
#include "otasuke/ascii.h"
#include "otasuke/hash.h"
#include "otasuke/jw.h"
#include "otasuke/rd.h"
#include "otasuke/timefmt.h"

static void test_alloc_cap(void)
{
    struct mem_stat st;
    mem_set_cap(MEM_APP, 1000);
    void *a = xalloc(MEM_APP, 600);
    CHECK(a != NULL);
    void *b = xalloc(MEM_APP, 600);
    CHECK(b == NULL);
    mem_get(MEM_APP, &st);
    CHECK_EQ_U64(st.in_use, 600);
    CHECK_EQ_U64(st.fails, 1);
    void *c = xrealloc(MEM_APP, a, 900);
    CHECK(c != NULL);
    CHECK(xrealloc(MEM_APP, c, 2000) == NULL); /* c stays valid */
    mem_get(MEM_APP, &st);
    CHECK_EQ_U64(st.in_use, 900);
    xfree(c);
    mem_get(MEM_APP, &st);
    CHECK_EQ_U64(st.in_use, 0);
    CHECK_EQ_U64(st.peak, 900);
    mem_set_cap(MEM_APP, 0);
}

static void test_alloc_fault(void)
{
    mem_fail_after(2);
    void *a = xalloc(MEM_CORE, 8);
    void *b = xalloc(MEM_CORE, 8);
    void *c = xalloc(MEM_CORE, 8);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK(c != NULL);
    xfree(a);
    xfree(c);
    CHECK(xcalloc(MEM_CORE, SIZE_MAX / 2, 4) == NULL); /* overflow refused */
}

static void test_rd(void)
{
    /* 0x0102 0x03040506 then one byte short of another be32 */
    const uint8_t b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct rd r = rd_init(b, sizeof(b));
    CHECK_EQ_U64(rd_be16(&r), 0x0102);
    CHECK_EQ_U64(rd_be32(&r), 0x03040506);
    CHECK(!r.bad);
    CHECK_EQ_U64(rd_be32(&r), 0);
    CHECK(r.bad);
    CHECK_EQ_U64(rd_u8(&r), 0); /* sticky */
    CHECK_EQ_U64(rd_left(&r), 0);
    struct rd r2 = rd_init(b, 3);
    struct rd sub = rd_sub(&r2, 4);
    CHECK(sub.bad && r2.bad);
}

static void test_jw(void)
{
    struct jw w;
    CHECK(jw_init(&w, 16, 4096) == 0);
    jw_obj_open(&w, NULL);
    jw_str(&w, "a", "x\"y\\\n");
    jw_strn(&w, "bin", "\x01\xff\xe3\x81\x82", 5); /* ctrl, invalid byte, valid "あ" */
    jw_arr_open(&w, "l");
    jw_u64(&w, NULL, 1);
    jw_i64(&w, NULL, -2);
    jw_bool(&w, NULL, true);
    jw_arr_close(&w);
    jw_obj_close(&w);
    CHECK(jw_ok(&w));
    CHECK_STR(w.buf, "{\"a\":\"x\\\"y\\\\\\n\",\"bin\":\"\\u0001\\u00ff\xe3\x81\x82\",\"l\":[1,-2,true]}");
    jw_free(&w);

    /* the integers' extremes; plain_at names a string written with no escape only */
    CHECK(jw_init(&w, 16, 4096) == 0);
    jw_obj_open(&w, NULL);
    jw_u64(&w, "max", UINT64_MAX);
    jw_i64(&w, "min", INT64_MIN);
    jw_u64(&w, "zero", 0);
    CHECK(w.plain_at == SIZE_MAX);
    jw_str(&w, "p", "plain");
    CHECK(w.plain_at == w.val_at && w.buf[w.plain_at] == '"');
    jw_str(&w, "q", "a\"b");
    CHECK(w.plain_at == SIZE_MAX);
    jw_obj_close(&w);
    CHECK_STR(w.buf, "{\"max\":18446744073709551615,\"min\":-9223372036854775808,\"zero\":0,"
                     "\"p\":\"plain\",\"q\":\"a\\\"b\"}");
    jw_reset(&w);
    CHECK(w.plain_at == SIZE_MAX);
    jw_free(&w);

    CHECK(jw_init(&w, 16, 32) == 0);
    jw_obj_open(&w, NULL);
    jw_str(&w, "k", "0123456789012345678901234567890123456789");
    jw_obj_close(&w);
    CHECK(!jw_ok(&w)); /* over max: marked bad, never overflowed */
    CHECK(w.len < 32);
    jw_free(&w);
}

/* ascii_hex, and jw_hex (which writes through it 32 bytes at a time) across its chunk
 * boundaries, with and without a separator, against the same bytes formatted by hand. */
static void test_hex(void)
{
    char out[8];
    static const uint8_t mac[2] = {0x0a, 0xf3};
    CHECK(ascii_hex(out, mac, 2, ':') == 5 && strcmp(out, "0a:f3") == 0);
    CHECK(ascii_hex(out, mac, 2, '\0') == 4 && strcmp(out, "0af3") == 0);
    CHECK(ascii_hex(out, mac, 0, ':') == 0 && out[0] == '\0');
    uint8_t b[70];
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(i * 37 + 5);
    struct jw w;
    CHECK(jw_init(&w, 16, 4096) == 0);
    static const size_t lens[] = {0, 1, 31, 32, 33, 64, 65, 70};
    for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
        for (int sep = 0; sep < 2; sep++) {
            char want[300];
            size_t k = 0;
            want[k++] = '"';
            for (size_t i = 0; i < lens[t]; i++) {
                if (i > 0 && sep)
                    want[k++] = '-';
                k += (size_t)snprintf(want + k, sizeof(want) - k, "%02x", b[i]);
            }
            want[k++] = '"';
            jw_reset(&w);
            jw_hex(&w, NULL, b, lens[t], sep ? '-' : '\0');
            CHECK(jw_ok(&w) && w.len == k && memcmp(w.buf, want, k) == 0);
        }
    }
    jw_free(&w);
}

/* Writes one document whose keys and strings cross the writer's fast paths (room for
 * the whole quoted text) and slow paths (growing, escaping) at every offset. */
static void jw_doc(struct jw *w, size_t klen, size_t slen)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWX";
    char k[64], v[80];
    memcpy(k, plain, klen);
    k[klen] = '\0';
    memcpy(v, plain, slen);
    jw_obj_open(w, NULL);
    jw_strn(w, k[0] != '\0' ? k : "e", v, slen);
    jw_u64(w, k, slen);
    if (slen > 2) {
        v[slen / 2] = '"';       /* escaped in the middle */
        v[slen - 1] = '\x7f';    /* DEL is carried as it is */
    }
    jw_strn(w, "k\"q", v, slen); /* a key that needs escaping */
    jw_strn(w, k, v, slen);
    jw_obj_close(w);
}

static void test_jw_paths(void)
{
    for (size_t klen = 0; klen < 40; klen += 3) {
        for (size_t slen = 0; slen < 60; slen += 1) { /* plain has 60 bytes */
            struct jw ref, w;
            CHECK(jw_init(&ref, 4096, 4096) == 0);
            jw_doc(&ref, klen, slen);
            CHECK(jw_ok(&ref));
            for (size_t cap = 16; cap < 90; cap += 7) {
                CHECK(jw_init(&w, cap, 4096) == 0);
                jw_doc(&w, klen, slen);
                CHECK(jw_ok(&w));
                CHECK(w.len == ref.len && memcmp(w.buf, ref.buf, ref.len + 1) == 0);
                jw_free(&w);
                /* too small a maximum: bad, never past it */
                CHECK(jw_init(&w, 16, cap) == 0);
                jw_doc(&w, klen, slen);
                CHECK(jw_ok(&w) == (ref.len < cap));
                CHECK(w.len < cap && w.buf[w.len] == '\0');
                jw_free(&w);
            }
            jw_free(&ref);
        }
    }
}

static void test_siphash(void)
{
    /* Reference vector from the SipHash paper: key 00..0f, message 00..0e. */
    struct hash_key k = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    uint8_t m[15];
    for (int i = 0; i < 15; i++)
        m[i] = (uint8_t)i;
    CHECK_EQ_U64(siphash24(&k, m, 15), 0xa129ca6149be45e5ULL);
}

static void test_ts(void)
{
    char b[TS_RFC3339_LEN];
    ts_format(b, sizeof(b), 1700000000123456ULL, 0);
    CHECK_STR(b, "2023-11-14T22:13:20.123456+00:00");
    ts_format(b, sizeof(b), 1700000000123456ULL, 9 * 3600);
    CHECK_STR(b, "2023-11-15T07:13:20.123456+09:00");
}

int main(void)
{
    RUN(test_alloc_cap);
    RUN(test_alloc_fault);
    RUN(test_rd);
    RUN(test_jw);
    RUN(test_hex);
    RUN(test_jw_paths);
    RUN(test_siphash);
    RUN(test_ts);
    return check_done();
}
