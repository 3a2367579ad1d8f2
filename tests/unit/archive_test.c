/*
 * sensor/detect/archive.c (the look inside archives) and the kept-bytes buffers of
 * sensor/app/files.c. The archives are written here with libarchive's writer: zip
 * (stored, deflated, ZipCrypto-encrypted), 7z, tar.gz, a bare gzip stream, nested
 * archives, and archives that hit each limit.
 */
#include "check.h"

#include "app/files.h"
#include "detect/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct member {
    const char *name;
    const uint8_t *data;
    size_t len;
};

/* Writes the members as one archive of format/filter into out; its size, 0 on error.
 * opts and pass may be NULL. */
static size_t make(int format, int filter, const char *opts, const char *pass,
                   const struct member *m, int nm, uint8_t *out, size_t cap)
{
    struct archive *a = archive_write_new();
    size_t used = 0;
    int ok = archive_write_set_format(a, format) == ARCHIVE_OK &&
             archive_write_add_filter(a, filter) == ARCHIVE_OK &&
             (opts == NULL || archive_write_set_options(a, opts) == ARCHIVE_OK) &&
             (pass == NULL || archive_write_set_passphrase(a, pass) == ARCHIVE_OK) &&
             archive_write_open_memory(a, out, cap, &used) == ARCHIVE_OK;
    for (int i = 0; ok && i < nm; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_size(e, (la_int64_t)m[i].len);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        ok = archive_write_header(a, e) == ARCHIVE_OK &&
             (m[i].len == 0 || archive_write_data(a, m[i].data, m[i].len) == (la_ssize_t)m[i].len);
        archive_entry_free(e);
    }
    ok = ok && archive_write_close(a) == ARCHIVE_OK;
    archive_write_free(a);
    return ok ? used : 0;
}

static const struct arc_limits LIM = {64u << 20, 1000, 3, 1000, 4u << 20};

static uint8_t noise[64 * 1024]; /* incompressible filler */
static const uint8_t pe[] = "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
                            "This program cannot be run in DOS mode.";
static const uint8_t text[] = "just a text file\n";
static uint8_t buf[4][1 << 20];

static void fill_noise(void)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof(noise); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise[i] = (uint8_t)x;
    }
}

static void test_magic(void)
{
    uint8_t tar[512] = {0};
    static const uint8_t ustar[5] = {'u', 's', 't', 'a', 'r'};
    memcpy(tar + 257, ustar, sizeof(ustar));
    CHECK(arc_is_archive((const uint8_t *)"PK\003\004xxxx", 8));
    CHECK(arc_is_archive((const uint8_t *)"7z\274\257\047\034", 6));
    CHECK(arc_is_archive((const uint8_t *)"Rar!\032\007\001", 7));
    CHECK(arc_is_archive((const uint8_t *)"\037\213\010", 3));
    CHECK(arc_is_archive(tar, sizeof(tar)));
    CHECK(!arc_is_archive(tar, 200)); /* the tar magic lies past these bytes */
    CHECK(!arc_is_archive(pe, sizeof(pe) - 1));
    CHECK(!arc_is_archive((const uint8_t *)"PK", 2));
    CHECK(arc_exe_name("a/b/PAYMENT SLIP.EXE", 20));
    CHECK(arc_exe_name("x.js", 4));
    CHECK(!arc_exe_name("x.json", 6));
    CHECK(!arc_exe_name("dir.exe/readme", 14));
    CHECK(arc_exe_magic(pe, sizeof(pe) - 1, "report.dat"));
    CHECK(arc_exe_magic((const uint8_t *)"\177ELF\002", 5, "tool"));
    CHECK(!arc_exe_magic((const uint8_t *)"\177ELF\002", 5, "lib/arm64/libx.so"));
    CHECK(!arc_exe_magic(text, sizeof(text) - 1, "a.txt"));
}

/* The executable member lies far past the first 512 bytes (what the zip walk of the
 * file's head used to see). */
static void test_zip_member_past_head(void)
{
    struct member m[] = {{"readme.txt", noise, sizeof(noise)}, {"invoice.pdf.exe", pe, sizeof(pe)}};
    size_t n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, NULL, NULL, m, 2, buf[0], sizeof(buf[0]));
    CHECK(n > sizeof(noise));
    struct arc_result r;
    arc_inspect(buf[0], n, "x.zip", &LIM, &r);
    CHECK(r.opened && r.exe && !r.error);
    CHECK_STR(r.member, "invoice.pdf.exe");
    CHECK_EQ_U64(r.why, ARC_WHY_NAME);
    CHECK_EQ_U64(r.depth, 1);
    CHECK_EQ_U64(r.members, 2);
    CHECK(strstr(r.format, "ZIP") != NULL);
    /* the prefix that ends before the second member's header: nothing found */
    arc_inspect(buf[0], 30000, "x.zip", &LIM, &r);
    CHECK(r.opened && !r.exe);
}

static void test_by_magic_and_benign(void)
{
    struct member m[] = {{"[Content_Types].xml", text, sizeof(text)},
                         {"word/document.xml", noise, 4096}};
    size_t n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, "zip:compression=deflate", NULL, m,
                    2, buf[0], sizeof(buf[0]));
    struct arc_result r;
    arc_inspect(buf[0], n, "a.docx", &LIM, &r);
    CHECK(r.opened && !r.exe && !r.error && !r.encrypted);
    CHECK_EQ_U64(r.members, 2);
    struct member p[] = {{"report.dat", pe, sizeof(pe)}};
    n = make(ARCHIVE_FORMAT_7ZIP, ARCHIVE_FILTER_NONE, NULL, NULL, p, 1, buf[0], sizeof(buf[0]));
    CHECK(n > 0);
    arc_inspect(buf[0], n, "a.7z", &LIM, &r);
    CHECK(r.exe);
    CHECK_EQ_U64(r.why, ARC_WHY_MAGIC);
    CHECK_STR(r.member, "report.dat");
}

/* A member with an empty name (fuzzing found one holding an executable) is reported
 * under a placeholder: an alert must name some member. */
static void test_unnamed_member(void)
{
    /* libarchive writes no empty name: the name's bytes are zeroed afterwards, in the
     * local header and in the central directory */
    struct member p[] = {{"QQQQ", pe, sizeof(pe)}};
    size_t n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, NULL, NULL, p, 1, buf[0],
                    sizeof(buf[0]));
    CHECK(n > 0);
    unsigned zeroed = 0;
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(buf[0] + i, "QQQQ", 4) == 0) {
            memset(buf[0] + i, 0, 4);
            zeroed++;
        }
    CHECK_EQ_U64(zeroed, 2);
    struct arc_result r;
    arc_inspect(buf[0], n, "a.zip", &LIM, &r);
    CHECK(r.exe);
    CHECK_EQ_U64(r.why, ARC_WHY_MAGIC);
    CHECK_STR(r.member, "(unnamed)");
}

/* tar.gz ⊃ zip ⊃ a.scr: found at depth 2; with max_depth 1 the inner zip is not
 * looked into (counted). */
static void test_nested(void)
{
    struct member in[] = {{"a.scr", text, sizeof(text)}};
    size_t zn = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, NULL, NULL, in, 1, buf[1], sizeof(buf[1]));
    struct member out[] = {{"docs/notes.txt", text, sizeof(text)}, {"docs/inner.zip", buf[1], zn}};
    size_t n = make(ARCHIVE_FORMAT_TAR_USTAR, ARCHIVE_FILTER_GZIP, NULL, NULL, out, 2, buf[0],
                    sizeof(buf[0]));
    CHECK(zn > 0 && n > 0);
    CHECK(arc_is_archive(buf[0], n));
    struct arc_result r;
    arc_inspect(buf[0], n, "docs.tar.gz", &LIM, &r);
    CHECK(r.exe);
    CHECK_EQ_U64(r.depth, 2);
    CHECK_STR(r.member, "docs/inner.zip/a.scr");
    struct arc_limits one = LIM;
    one.max_depth = 1;
    arc_inspect(buf[0], n, "docs.tar.gz", &one, &r);
    CHECK(!r.exe && r.cap_depth);
}

/* ZipCrypto: member names stay readable, data is not read. */
static void test_encrypted(void)
{
    struct member m[] = {{"PAYMENT SLIP.exe", pe, sizeof(pe)}};
    size_t n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, "zip:encryption=zipcrypt", "infected",
                    m, 1, buf[0], sizeof(buf[0]));
    CHECK(n > 0);
    struct arc_result r;
    arc_inspect(buf[0], n, "PAYMENT SLIP.zip", &LIM, &r);
    CHECK(r.exe && r.exe_encrypted && r.encrypted);
    struct member d[] = {{"secret.dat", pe, sizeof(pe)}};
    n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, "zip:encryption=zipcrypt", "infected", d, 1,
             buf[0], sizeof(buf[0]));
    arc_inspect(buf[0], n, "x.zip", &LIM, &r);
    CHECK(!r.exe && r.encrypted); /* the MZ inside is not seen: its data is encrypted */
}

/* A bare gzip stream: one member named after the file. */
static void test_raw_gzip(void)
{
    struct member m[] = {{"data", pe, sizeof(pe)}};
    size_t n = make(ARCHIVE_FORMAT_RAW, ARCHIVE_FILTER_GZIP, NULL, NULL, m, 1, buf[0], sizeof(buf[0]));
    CHECK(n > 0);
    struct arc_result r;
    arc_inspect(buf[0], n, "setup.exe.gz", &LIM, &r);
    CHECK(r.exe);
    CHECK_STR(r.member, "setup.exe");
    arc_inspect(buf[0], n, "blob.gz", &LIM, &r);
    CHECK(r.exe);
    CHECK_EQ_U64(r.why, ARC_WHY_MAGIC);
    CHECK_STR(r.member, "blob");
    struct member t[] = {{"data", text, sizeof(text)}};
    n = make(ARCHIVE_FORMAT_RAW, ARCHIVE_FILTER_GZIP, NULL, NULL, t, 1, buf[0], sizeof(buf[0]));
    arc_inspect(buf[0], n, "notes.txt.gz", &LIM, &r);
    CHECK(r.opened && !r.exe && !r.error);
}

/* 8 MiB of zeros deflate to about 8 KiB: over a ratio of 100 it is a bomb, and the
 * executable after it is not reached. The member and byte caps stop walks too. */
static void test_limits(void)
{
    uint8_t *zeros = calloc(1, 8u << 20);
    CHECK(zeros != NULL);
    struct member m[] = {{"zeros.bin", zeros, 8u << 20}, {"z.exe", pe, sizeof(pe)}};
    size_t n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, "zip:compression=deflate", NULL, m, 2,
                    buf[0], sizeof(buf[0]));
    free(zeros);
    CHECK(n > 0 && n < 100000);
    struct arc_limits lim = LIM;
    lim.max_ratio = 100;
    struct arc_result r;
    arc_inspect(buf[0], n, "b.zip", &lim, &r);
    CHECK(r.bomb && !r.exe);
    arc_inspect(buf[0], n, "b.zip", &LIM, &r); /* ratio 1000: about 1000 here, not over */
    CHECK(r.exe || r.bomb);

    struct member many[21];
    char names[21][24];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "f%02d.txt", i);
        many[i] = (struct member){names[i], text, sizeof(text)};
    }
    many[20] = (struct member){"last.exe", pe, sizeof(pe)};
    n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, NULL, NULL, many, 21, buf[0], sizeof(buf[0]));
    lim = LIM;
    lim.max_members = 5;
    arc_inspect(buf[0], n, "m.zip", &lim, &r);
    CHECK(r.cap_members && !r.exe);
    CHECK_EQ_U64(r.members, 5);
    arc_inspect(buf[0], n, "m.zip", &LIM, &r);
    CHECK(r.exe);
    CHECK_EQ_U64(r.members, 21);

    /* bytes: a nested archive larger than the budget is read only that far */
    struct member in[] = {{"pad.bin", noise, sizeof(noise)}, {"in.exe", pe, sizeof(pe)}};
    size_t zn = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, NULL, NULL, in, 2, buf[1], sizeof(buf[1]));
    struct member out[] = {{"inner.zip", buf[1], zn}};
    n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, NULL, NULL, out, 1, buf[0], sizeof(buf[0]));
    lim = LIM;
    lim.max_bytes = 16384;
    arc_inspect(buf[0], n, "o.zip", &lim, &r);
    CHECK(r.cap_bytes && !r.exe && r.bytes <= 16384);
    arc_inspect(buf[0], n, "o.zip", &LIM, &r);
    CHECK(r.exe);
    CHECK_STR(r.member, "inner.zip/in.exe");
}

static void test_garbage(void)
{
    struct arc_result r;
    uint8_t g[600];
    static const uint8_t pk[4] = {'P', 'K', 3, 4}, gzm[2] = {0x1f, 0x8b};
    memcpy(g + 4, noise, sizeof(g) - 4);
    memcpy(g, pk, sizeof(pk));
    arc_inspect(g, sizeof(g), "g.zip", &LIM, &r);
    CHECK(!r.exe);
    memcpy(g, gzm, sizeof(gzm));
    arc_inspect(g, sizeof(g), "g.gz", &LIM, &r);
    CHECK(!r.exe);
    arc_inspect(g, 0, "g.gz", &LIM, &r);
    CHECK(!r.opened);
}

/* ---- kept bytes (files.c) ---- */

static void feed(struct app_file *f, const uint8_t *p, size_t n, size_t chunk)
{
    for (size_t o = 0; o < n; o += chunk)
        file_data(f, p + o, n - o < chunk ? n - o : chunk);
}

static void test_keep(void)
{
    struct member m[] = {{"a.txt", noise, 20000}, {"b.exe", pe, sizeof(pe)}};
    size_t n = make(ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, NULL, NULL, m, 2, buf[0], sizeof(buf[0]));
    CHECK(n > 20000);
    struct files_keep_stats s0, s1;
    files_keep_stats(&s0);
    files_set_keep(arc_is_archive, 1u << 20, 4u << 20);
    static struct app_file f, g, h;
    file_open(&f, "a.zip", 5, 1, 0);
    feed(&f, buf[0], n, 97);
    file_close(&f, true, false);
    size_t len;
    bool complete;
    const uint8_t *p = file_kept(&f, &len, &complete);
    CHECK(complete && len == n && memcmp(p, buf[0], n) == 0);
    /* not an archive: nothing kept beyond the head */
    file_open(&g, "b.bin", 5, 2, 0);
    feed(&g, noise, 4000, 1000);
    file_close(&g, true, false);
    (void)file_kept(&g, &len, &complete);
    CHECK(g.keep == NULL && len == FILE_HEAD_SIZE && !complete);
    /* the per-file cap: a prefix kept, counted */
    files_set_keep(arc_is_archive, 4096, 4u << 20);
    file_open(&h, "c.zip", 5, 3, 0);
    feed(&h, buf[0], n, 1000);
    file_close(&h, true, false);
    p = file_kept(&h, &len, &complete);
    CHECK(len == 4096 && !complete && memcmp(p, buf[0], 4096) == 0);
    files_keep_stats(&s1);
    CHECK_EQ_U64(s1.kept - s0.kept, 2);
    CHECK_EQ_U64(s1.cut_size - s0.cut_size, 1);
    file_release(&f);
    file_release(&g);
    file_release(&h);
    files_keep_stats(&s1);
    CHECK_EQ_U64(s1.bytes_now, 0);
    /* the total: the second file cannot grow past the first's share */
    files_set_keep(arc_is_archive, 1u << 20, (size_t)100 * 1024);
    file_open(&f, "a.zip", 5, 1, 0);
    file_open(&g, "b.zip", 5, 2, 0);
    feed(&f, buf[0], n, 1000);
    feed(&g, buf[0], n, 1000);
    file_close(&f, true, false);
    file_close(&g, true, false);
    files_keep_stats(&s1);
    CHECK(s1.bytes_now <= (uint64_t)100 * 1024);
    CHECK_EQ_U64(s1.cut_total - s0.cut_total, 1);
    (void)file_kept(&g, &len, &complete);
    CHECK(!complete && len < n);
    /* a gap cuts */
    file_release(&f);
    file_open(&f, "a.zip", 5, 1, 0);
    feed(&f, buf[0], 2000, 1000);
    file_gap(&f, 100);
    feed(&f, buf[0] + 2100, 1000, 1000);
    file_close(&f, true, false);
    (void)file_kept(&f, &len, &complete);
    CHECK(len == 2000 && !complete);
    file_release(&f);
    file_release(&g);
    files_keep_stats(&s1);
    CHECK_EQ_U64(s1.bytes_now, 0);
    files_set_keep(NULL, 0, 0);
}

int main(void)
{
    fill_noise();
    RUN(test_magic);
    RUN(test_zip_member_past_head);
    RUN(test_by_magic_and_benign);
    RUN(test_unnamed_member);
    RUN(test_nested);
    RUN(test_encrypted);
    RUN(test_raw_gzip);
    RUN(test_limits);
    RUN(test_garbage);
    RUN(test_keep);
    return check_done();
}
