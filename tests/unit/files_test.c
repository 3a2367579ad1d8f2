/* Files module: digests against known vectors, split-independence, states, name
 * cutting, and libmagic's type for a few well-known headers. */
#include "app/files.h"
#include "otasuke/jw.h"

#include "../check.h"

static struct app_file F;

static void test_digests_abc(void)
{
    file_open(&F, "abc.txt", 7, 1, 3);
    file_data(&F, (const uint8_t *)"a", 1);
    file_data(&F, (const uint8_t *)"bc", 2);
    file_close(&F, true, false);
    CHECK_EQ_U64(F.state, FILE_CLOSED);
    CHECK_EQ_U64(F.size, 3);
    /* RFC 1321, FIPS 180 test vectors for "abc". */
    static const uint8_t md5[] = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                                  0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72};
    static const uint8_t sha256_head[] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea};
    CHECK_MEM(F.md5_digest, md5, sizeof md5);
    CHECK_MEM(F.sha256_digest, sha256_head, sizeof sha256_head);
    CHECK_STR(F.name, "abc.txt");
}

static void test_states(void)
{
    file_open(&F, "x", 1, 2, 100);
    file_data(&F, (const uint8_t *)"12345", 5);
    file_close(&F, true, false); /* declared 100, got 5 */
    CHECK_EQ_U64(F.state, FILE_TRUNCATED);
    file_close(&F, true, false); /* idempotent */
    CHECK_EQ_U64(F.state, FILE_TRUNCATED);

    file_open(&F, "y", 1, 3, 0);
    file_data(&F, (const uint8_t *)"12345", 5);
    file_gap(&F, 10);
    file_data(&F, (const uint8_t *)"6", 1);
    file_close(&F, true, false);
    CHECK_EQ_U64(F.state, FILE_TRUNCATED);
    CHECK(F.gaps);
    CHECK_EQ_U64(F.gap_bytes, 10);

    file_open(&F, "z", 1, 4, 0);
    file_close(&F, false, true);
    CHECK_EQ_U64(F.state, FILE_ERROR);
}

static void test_name_cut_on_character(void)
{
    static const uint8_t a[3] = {0xe3, 0x81, 0x82}; /* "あ" */
    char name[400];
    /* 133 of them = 399 bytes, cut to <= 255 bytes of whole characters. */
    for (int i = 0; i < 133; i++)
        for (int j = 0; j < 3; j++)
            name[3 * i + j] = (char)a[j];
    file_open(&F, name, 399, 1, 0);
    CHECK_EQ_U64(strlen(F.name), 255);
    CHECK_EQ_U64(strlen(F.name) % 3, 0);
}

static void fileinfo_of(const char *head, size_t n, struct jw *w)
{
    file_open(&F, "f", 1, 1, 0);
    file_data(&F, (const uint8_t *)head, n);
    file_close(&F, true, false);
    jw_reset(w);
    jw_obj_open(w, NULL);
    file_write_fileinfo(w, &F, 0);
    jw_obj_close(w);
}

static void test_magic(void)
{
    if (!files_magic_init()) {
        SKIP("no magic database (libmagic-mgc not installed)");
        return;
    }
    struct jw w;
    CHECK(jw_init(&w, 256, 1 << 16) == 0);
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0";
    fileinfo_of(png, sizeof png - 1, &w);
    CHECK(strstr(w.buf, "\"mimetype\":\"image/png\"") != NULL);
    CHECK(strstr(w.buf, "\"state\":\"CLOSED\"") != NULL);
    fileinfo_of("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15, &w);
    CHECK(strstr(w.buf, "\"mimetype\":\"application/pdf\"") != NULL);
    fileinfo_of("GIF89a\x10\0\x10\0\x80\0\0", 13, &w);
    CHECK(strstr(w.buf, "\"magic\":\"GIF image data, version 89a") != NULL);
    jw_free(&w);
}

int main(void)
{
    RUN(test_digests_abc);
    RUN(test_states);
    RUN(test_name_cut_on_character);
    RUN(test_magic);
    files_magic_free();
    return check_done();
}
