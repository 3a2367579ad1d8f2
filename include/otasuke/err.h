/*
 * Project-wide error codes. Functions that can fail return int: 0 on success and
 * a negative ERR_* on failure (libuv / OpenSSH style). Constructors return NULL.
 * Parsers return the PARSE_* codes instead, which say whether more input helps.
 */
#ifndef OTASUKE_ERR_H
#define OTASUKE_ERR_H

enum err {
    ERR_OK = 0,
    ERR_NOMEM = -1,   /* allocation failed or a memcap was reached */
    ERR_INVAL = -2,   /* bad argument or malformed input */
    ERR_IO = -3,      /* read/write/open failed; errno says more */
    ERR_LIMIT = -4,   /* a configured limit was reached */
    ERR_NOTFOUND = -5,
    ERR_EXISTS = -6,
    ERR_TRUNC = -7,   /* input ended early */
    ERR_NOSPACE = -8, /* disk full */
    ERR_UNSUP = -9,   /* valid but not supported */
};

enum parse_rc {
    PARSE_OK = 0,
    PARSE_MORE = 1,   /* need more input; state kept */
    PARSE_BAD = -1,   /* malformed input */
    PARSE_LIMIT = -2, /* a configured limit was hit */
};

/* Returns a static English name for an ERR_* code. */
const char *err_str(int rc);

#endif
