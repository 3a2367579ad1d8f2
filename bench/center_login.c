/*
 * center_login: what a login costs (issue 6, people). Times Argon2id verification
 * (auth/password.h) with several parameter sets, interleaved round by round, as CPU
 * time (the comparable figure on a shared machine) and wall time, each as a ratio to
 * the default (19 MiB, t=2, p=1) measured in the same run, and against the SHA-256
 * digest a device token costs per request (ingest's authentication).
 *
 *   center_login [--rounds N]       (default 20 verifications per parameter set)
 *
 * Output: a Markdown table on stdout.
 */
#include "auth/password.h"
#include "auth/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_ms(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(double *v, int n, int pct)
{
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    int k = (n * pct) / 100;
    return v[k < n ? k : n - 1];
}

#define N_SETS 5
#define MAX_ROUNDS 10000
static const struct pw_params g_sets[N_SETS] = {
    {19456, 2, 1}, /* the default (OWASP's first choice), first: the reference */
    {47104, 2, 1}, /* OWASP's 46 MiB alternative (with our t >= 2 minimum) */
    {19456, 3, 1},
    {65536, 2, 1},
    {65536, 3, 2},
};

int main(int argc, char **argv)
{
    int rounds = 20;
    if (argc == 3 && strcmp(argv[1], "--rounds") == 0)
        rounds = (int)strtol(argv[2], NULL, 10);
    if (rounds < 3 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: center_login [--rounds 3..10000]\n");
        return 2;
    }
    const char *pw = "correct horse battery staple";
    static char hash[N_SETS][PW_HASH_MAX];
    static double wall[N_SETS][MAX_ROUNDS], cpu[N_SETS][MAX_ROUNDS];
    for (int k = 0; k < N_SETS; k++) {
        if (pw_hash(&g_sets[k], pw, strlen(pw), hash[k], sizeof(hash[k])) != 0) {
            fprintf(stderr, "center_login: hashing failed\n");
            return 1;
        }
    }
    /* Interleaved: round r verifies once with every set, so that load changes on a
     * shared machine hit every set alike. */
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < N_SETS; k++) {
            double w0 = now_ms(), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
            if (pw_verify(hash[k], pw, strlen(pw)) != 0) {
                fprintf(stderr, "center_login: verification failed\n");
                return 1;
            }
            cpu[k][r] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
            wall[k][r] = now_ms() - w0;
        }
    }
    /* The token digest a device-authenticated request costs, for scale. */
    uint8_t d[32];
    double t0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < 100000; i++)
        token_hash("otk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 68, d);
    double sha_ms = (clock_ms(CLOCK_PROCESS_CPUTIME_ID) - t0) / 100000;
    printf("| Argon2id m KiB / t / p | CPU ms median | CPU ms p90 | wall ms median | CPU ratio to "
           "default | logins/s per core |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    double ref = 0;
    for (int k = 0; k < N_SETS; k++) {
        double cmed = quantile(cpu[k], rounds, 50), c90 = quantile(cpu[k], rounds, 90);
        double wmed = quantile(wall[k], rounds, 50);
        if (k == 0)
            ref = cmed;
        printf("| %u / %u / %u | %.1f | %.1f | %.1f | %.2f | %.1f |\n", g_sets[k].memory_kib,
               g_sets[k].time, g_sets[k].parallelism, cmed, c90, wmed, cmed / ref, 1000.0 / cmed);
    }
    printf("\nSHA-256 of a device token (ingest's per-request authentication): %.4f ms CPU; "
           "one default login costs as much CPU as %.0f of them\n",
           sha_ms, ref / sha_ms);
    return 0;
}
