/*
 * Secrets of the center: enrollment codes and device tokens. They are random
 * (getrandom), shown once, and stored only as SHA-256 digests (store.h).
 *
 *   enrollment code  "otc_" + 32 hex digits (128 bits), one use, with an expiry
 *   device token     "otk_" + 64 hex digits (256 bits), until revoked
 *   API token        "ota_" + 64 hex digits (256 bits), a person's, until revoked or
 *                    expired (a prefix of its own: a device token and an API token are
 *                    told apart before any lookup)
 */
#ifndef OTASUKE_CENTER_TOKEN_H
#define OTASUKE_CENTER_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_CODE_PREFIX "otc_"
#define TOKEN_DEVICE_PREFIX "otk_"
#define TOKEN_CODE_BYTES 16
#define TOKEN_DEVICE_BYTES 32
#define TOKEN_API_PREFIX "ota_"
#define TOKEN_API_BYTES 32
#define TOKEN_MAX_LEN 80 /* prefix + hex + NUL, with room */

/* Writes prefix + hex of nbytes random bytes into out. Returns 0 or ERR_IO. */
int token_random(const char *prefix, size_t nbytes, char *out, size_t outlen);
/* out = SHA-256(s[0..n)). */
void token_hash(const char *s, size_t n, uint8_t out[32]);
/* Returns 1 when s[0..n) has the shape prefix + 2*nbytes lowercase hex digits. */
int token_shape_ok(const char *s, size_t n, const char *prefix, size_t nbytes);

#endif
