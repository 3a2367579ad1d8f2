/*
 * Argon2id password hashing (password.h) on libargon2 (Debian libargon2-dev).
 *
 * libargon2's argon2id_verify() recomputes the tag with the stored salt and
 * parameters and compares it in constant time. A stored string that is not
 * "$argon2id$…" is treated as a mismatch, never as a different algorithm.
 */
#include "auth/password.h"

#include "otasuke/err.h"

#include <argon2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define PW_SALT_LEN 16
#define PW_TAG_LEN 32

static char g_dummy[PW_HASH_MAX];
static pthread_mutex_t g_dummy_mu = PTHREAD_MUTEX_INITIALIZER;

void pw_params_default(struct pw_params *p)
{
    p->memory_kib = PW_MIN_MEMORY_KIB;
    p->time = PW_MIN_TIME;
    p->parallelism = 1;
}

static int fill_random(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r <= 0)
            return ERR_IO;
        got += (size_t)r;
    }
    return 0;
}

int pw_hash(const struct pw_params *p, const char *pw, size_t n, char *out, size_t outlen)
{
    uint8_t salt[PW_SALT_LEN];
    if (n > PW_MAX_LEN || p->memory_kib < PW_MIN_MEMORY_KIB || p->time < PW_MIN_TIME ||
        p->parallelism < 1)
        return ERR_INVAL;
    if (argon2_encodedlen(p->time, p->memory_kib, p->parallelism, PW_SALT_LEN, PW_TAG_LEN,
                          Argon2_id) > outlen)
        return ERR_INVAL;
    if (fill_random(salt, sizeof(salt)) != 0)
        return ERR_IO;
    int rc = argon2id_hash_encoded(p->time, p->memory_kib, p->parallelism, pw, n, salt,
                                   sizeof(salt), PW_TAG_LEN, out, outlen);
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return ERR_NOMEM;
    return rc == ARGON2_OK ? 0 : ERR_INVAL;
}

int pw_verify(const char *encoded, const char *pw, size_t n)
{
    static const char prefix[] = "$argon2id$";
    if (encoded == NULL || strncmp(encoded, prefix, sizeof(prefix) - 1) != 0 || n > PW_MAX_LEN)
        return ERR_NOTFOUND;
    int rc = argon2id_verify(encoded, pw, n);
    if (rc == ARGON2_OK)
        return 0;
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return ERR_NOMEM;
    return ERR_NOTFOUND;
}

int pw_dummy_init(const struct pw_params *p)
{
    char tmp[PW_HASH_MAX];
    int rc = pw_hash(p, "otasuke-dummy-password", 22, tmp, sizeof(tmp));
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&g_dummy_mu);
    memcpy(g_dummy, tmp, sizeof(g_dummy));
    pthread_mutex_unlock(&g_dummy_mu);
    return 0;
}

void pw_verify_dummy(const char *pw, size_t n)
{
    char copy[PW_HASH_MAX];
    pthread_mutex_lock(&g_dummy_mu);
    memcpy(copy, g_dummy, sizeof(copy));
    pthread_mutex_unlock(&g_dummy_mu);
    if (copy[0] == '\0') {
        struct pw_params p;
        pw_params_default(&p);
        if (pw_dummy_init(&p) != 0)
            return;
        pthread_mutex_lock(&g_dummy_mu);
        memcpy(copy, g_dummy, sizeof(copy));
        pthread_mutex_unlock(&g_dummy_mu);
    }
    (void)pw_verify(copy, pw, n);
}

/* A few passwords every breached list starts with; a longer list can be given to the
 * center (auth.password_blocklist) — not yet. Compared case-insensitively. */
static const char *const g_common[] = {
    "password1234", "123456789012", "qwertyuiopas", "passwordpassword", "111111111111",
    "000000000000", "abcdefghijkl", "iloveyou1234", "admin1234567", "administrator",
    "otasukeotasuke", "letmein12345", "welcome12345", "password123!", "qwerty123456",
};

static int same_ci(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

const char *pw_policy(const char *pw, size_t n, const char *name)
{
    if (n < PW_MIN_LEN)
        return "password: at least 12 bytes";
    if (n > PW_MAX_LEN)
        return "password: at most 1024 bytes";
    if (memchr(pw, '\0', n) != NULL)
        return "password: no NUL bytes";
    if (name != NULL && same_ci(pw, n, name))
        return "password: must not be the user name";
    for (size_t i = 0; i < sizeof(g_common) / sizeof(g_common[0]); i++)
        if (same_ci(pw, n, g_common[i]))
            return "password: too common (on breached-password lists)";
    size_t distinct = 0;
    unsigned char seen[256] = {0};
    for (size_t i = 0; i < n; i++)
        if (!seen[(unsigned char)pw[i]]++)
            distinct++;
    if (distinct < 5)
        return "password: too few different characters";
    return NULL;
}

int ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}
