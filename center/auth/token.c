/* Random secrets and their digests (token.h). */
#include "auth/token.h"

#include "otasuke/err.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int token_random(const char *prefix, size_t nbytes, char *out, size_t outlen)
{
    uint8_t raw[64];
    size_t plen = strlen(prefix);
    if (nbytes > sizeof(raw) || outlen < plen + nbytes * 2 + 1)
        return ERR_INVAL;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t r = getrandom(raw + got, nbytes - got, 0);
        if (r <= 0)
            return ERR_IO;
        got += (size_t)r;
    }
    memcpy(out, prefix, plen);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < nbytes; i++) {
        out[plen + 2 * i] = hex[raw[i] >> 4];
        out[plen + 2 * i + 1] = hex[raw[i] & 15];
    }
    out[plen + nbytes * 2] = '\0';
    return 0;
}

void token_hash(const char *s, size_t n, uint8_t out[32])
{
    SHA256((const unsigned char *)s, n, out);
}

int token_shape_ok(const char *s, size_t n, const char *prefix, size_t nbytes)
{
    size_t plen = strlen(prefix);
    if (n != plen + nbytes * 2 || memcmp(s, prefix, plen) != 0)
        return 0;
    for (size_t i = plen; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}
