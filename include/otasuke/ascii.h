/*
 * ASCII character helpers for protocol text (header names, hex digits), independent
 * of the C locale (ctype.h's answers depend on it, and on signedness of char).
 */
#ifndef OTASUKE_ASCII_H
#define OTASUKE_ASCII_H

#include <stddef.h>
#include <stdint.h>

/* c lowered when it is an ASCII capital letter; any other value unchanged. */
static inline int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* The value of the hex digit c (0-9, a-f, A-F), or -1. */
static inline int ascii_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* b[0..n) as lowercase hex digits into out, sep between bytes unless sep is '\0',
 * NUL-terminated (out holds 3 * n + 1 bytes); returns the length written. */
static inline size_t ascii_hex(char *out, const uint8_t *b, size_t n, char sep)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && sep != '\0')
            out[k++] = sep;
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
    return k;
}

/* The decimal digits of v at the end of b[24] (not NUL-terminated); returns where they
 * start. Several times cheaper than snprintf for the many integers of events and state
 * files. */
static inline char *ascii_u64(char b[24], uint64_t v)
{
    size_t i = 24;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return &b[i];
}

#endif
