/*
 * ASCII character helpers for protocol text (header names, hex digits), independent
 * of the C locale (ctype.h's answers depend on it, and on signedness of char).
 */
#ifndef OTASUKE_ASCII_H
#define OTASUKE_ASCII_H

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

#endif
