/*
 * Minimal test harness shared by the unit tests (Suricata FAIL_IF / libuv TEST idea).
 *
 *   static void test_x(void) { CHECK(1 + 1 == 2); CHECK_EQ_U64(a, b); }
 *   int main(void) { RUN(test_x); return check_done(); }
 *
 * A failed check prints file:line and the expression, marks the current test failed
 * and returns from it. check_done() prints "N passed, N failed" and returns the exit
 * status (nonzero when anything failed).
 */
#ifndef OTASUKE_TESTS_CHECK_H
#define OTASUKE_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int check_passed, check_failed, check_cur_failed;
static int check_skipped;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);               \
            check_cur_failed = 1;                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                                         \
    do {                                                                                           \
        uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);                               \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "%s:%d: CHECK_EQ_U64 failed: %s (%" PRIu64 ") != %s (%" PRIu64 ")\n",  \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_);                               \
            check_cur_failed = 1;                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) {             \
            fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__,     \
                    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");               \
            check_cur_failed = 1;                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                         \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s\n", __FILE__, __LINE__, #a, #b);    \
            check_cur_failed = 1;                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Skips the rest of a test with a visible reason (e.g. the corpus is absent). */
#define SKIP(why)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "SKIP %s: %s\n", __func__, (why));                                         \
        check_skipped++;                                                                           \
        check_cur_failed = -1;                                                                     \
        return;                                                                                    \
    } while (0)

/* The corpus's pcap folder: $OTASUKE_CORPUS/pcap, else $OTASUKE_SRC/../shared/corpus/pcap
 * (ctest sets OTASUKE_SRC), else ../shared/corpus/pcap; NULL when absent, and the
 * test then SKIPs with a visible message. */
static inline const char *check_corpus_pcap_dir(void)
{
    static char dir[1024];
    const char *corpus = getenv("OTASUKE_CORPUS");
    const char *src = getenv("OTASUKE_SRC");
    if (corpus != NULL)
        snprintf(dir, sizeof(dir), "%s/pcap", corpus);
    else
        snprintf(dir, sizeof(dir), "%s/../shared/corpus/pcap", src ? src : ".");
    struct stat sb;
    return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? dir : NULL;
}

#define RUN(test)                                                                                  \
    do {                                                                                           \
        check_cur_failed = 0;                                                                      \
        test();                                                                                    \
        if (check_cur_failed > 0) {                                                                \
            check_failed++;                                                                        \
            fprintf(stderr, "FAIL %s\n", #test);                                                   \
        } else if (check_cur_failed == 0) {                                                        \
            check_passed++;                                                                        \
        }                                                                                          \
    } while (0)

static inline int check_done(void)
{
    printf("%d passed, %d failed, %d skipped\n", check_passed, check_failed, check_skipped);
    return check_failed ? 1 : 0;
}

#endif
