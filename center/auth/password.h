/*
 * Passwords of people (provider staff and customer users): Argon2id hashes in the
 * PHC string format ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash"), a 16-byte random
 * salt each, a 32-byte tag. The parameters are settings (auth.argon2_*), and every
 * stored string carries its own, so a hash made with older parameters still verifies.
 *
 * Plain passwords are borrowed for the call only and never stored or logged.
 */
#ifndef OTASUKE_CENTER_PASSWORD_H
#define OTASUKE_CENTER_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#define PW_HASH_MAX 192   /* the encoded string with its NUL, with room */
#define PW_MIN_LEN 12     /* bytes */
#define PW_MAX_LEN 1024   /* bytes; longer is refused (hashing cost is per byte) */
#define PW_MIN_MEMORY_KIB 19456u /* RELIABILITY.md S2: m >= 19 MiB, t >= 2 */
#define PW_MIN_TIME 2u

struct pw_params {
    uint32_t memory_kib;
    uint32_t time;
    uint32_t parallelism;
};

/* The defaults (OWASP's first Argon2id choice): 19 MiB, 2 passes, 1 lane. */
void pw_params_default(struct pw_params *p);
/* Hashes pw[0..n) into out (PHC string). Returns 0, ERR_INVAL (n > PW_MAX_LEN, or
 * parameters below the minimums), ERR_IO (no randomness) or ERR_NOMEM. */
int pw_hash(const struct pw_params *p, const char *pw, size_t n, char *out, size_t outlen);
/* 0 when pw[0..n) matches the stored encoded Argon2id string, ERR_NOTFOUND when it
 * does not (or the string is not an argon2id hash), ERR_NOMEM. The tag is compared in
 * constant time (libargon2). */
int pw_verify(const char *encoded, const char *pw, size_t n);
/* Spends the time of one verification against a fixed hash, so that a login with an
 * unknown name costs as much as one with a wrong password. */
void pw_verify_dummy(const char *pw, size_t n);
/* Sets the parameters the dummy hash is made with (call once at start). */
int pw_dummy_init(const struct pw_params *p);
/* NULL when pw[0..n) may be set for the user `name`, else why not (English). */
const char *pw_policy(const char *pw, size_t n, const char *name);
/* 1 when a[0..n) equals b[0..n), in time independent of where they differ. */
int ct_equal(const void *a, const void *b, size_t n);

#endif
