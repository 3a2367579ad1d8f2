/*
 * Internals shared by tls.c (records, state, event), tls_hello.c (hellos and
 * fingerprints) and tls_cert.c (certificates): what one flow keeps. Every field is
 * a fixed-size copy; nothing points into the stream.
 */
#ifndef OTASUKE_SENSOR_TLS_INT_H
#define OTASUKE_SENSOR_TLS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/tls.h"

#define TLS_MAX_LIST   1024 /* cipher suites / extensions / groups kept for hashing */
#define TLS_MAX_SNI    255  /* bytes of the server name kept */
#define TLS_MAX_ALPN   8    /* client ALPN protocols kept */
#define TLS_ALPN_POOL  256  /* bytes of their names */
#define TLS_JA3_MAX    1536 /* bytes of the JA3 string kept (the hash covers all) */
#define TLS_JA3S_MAX   256
#define TLS_DN_MAX     512 /* subject / issuer text */
#define TLS_SERIAL_MAX 64  /* serial bytes kept */
#define TLS_MAX_SAN    8   /* dNSName SANs kept */
#define TLS_SAN_POOL   512
#define TLS_JA4_LEN    36 /* "t13d1516h2_8daaf6152771_e5627efa2ab1" */
#define TLS_LOG_CIPHERS 128 /* values kept for tls.client_handshake (more are counted) */
#define TLS_LOG_EXTS    64
#define TLS_LOG_SIGALGS 64

/* The lists of a hello in wire order, GREASE left out, for the handshake objects. */
struct tls_hs_lists {
    uint16_t version; /* highest of legacy_version and supported_versions */
    uint8_t nciphers, nexts, nsigalgs;
    uint16_t ciphers[TLS_LOG_CIPHERS];
    uint16_t exts[TLS_LOG_EXTS];
    uint16_t sigalgs[TLS_LOG_SIGALGS];
};

struct tls_client_hello {
    uint16_t version; /* legacy_version */
    uint16_t sni_len;
    uint8_t nalpn;
    uint8_t sid_len;
    uint16_t alpn_pool_len;
    uint16_t ja3_len;
    bool ja3_trunc;
    uint8_t sid[32];
    uint8_t ja3_md5[16];
    char sni[TLS_MAX_SNI];
    uint16_t alpn_off[TLS_MAX_ALPN];
    uint8_t alpn_len[TLS_MAX_ALPN];
    char alpn_pool[TLS_ALPN_POOL];
    char ja3[TLS_JA3_MAX];
    char ja4[TLS_JA4_LEN + 1];
    struct tls_hs_lists hs;
};

struct tls_server_hello {
    uint16_t version;  /* legacy_version */
    uint16_t selected; /* supported_versions, 0 when absent */
    uint16_t cipher;
    uint8_t sid_len;
    uint8_t alpn_len;
    uint16_t ja3s_len;
    bool ja3s_trunc;
    bool hrr; /* a HelloRetryRequest (TLS 1.3) */
    uint8_t sid[32];
    uint8_t ja3s_md5[16];
    char alpn[64];
    char ja3s[TLS_JA3S_MAX];
};

struct tls_cert {
    uint16_t subject_len, issuer_len;
    uint8_t serial_len;
    uint8_t nsan;
    uint16_t san_pool_len;
    uint8_t serial[TLS_SERIAL_MAX];
    uint8_t sha1[20];
    char subject[TLS_DN_MAX];
    char issuer[TLS_DN_MAX];
    char notbefore[24];
    char notafter[24];
    uint16_t san_off[TLS_MAX_SAN];
    uint8_t san_len[TLS_MAX_SAN];
    char san_pool[TLS_SAN_POOL];
};

/* The decoders below return what went wrong as bits (1u << enum tls_anomaly). */

/* Decodes a ClientHello body into *ch, computing JA3 (when ja3) and JA4 (when ja4).
 * Returns the anomaly bits. Borrows b until return. */
uint32_t tls_parse_client_hello(const uint8_t *b, size_t n, struct tls_client_hello *ch, bool ja3,
                                bool ja4);
/* Decodes a ServerHello body into *sh, computing JA3S (when ja3). */
uint32_t tls_parse_server_hello(const uint8_t *b, size_t n, struct tls_server_hello *sh, bool ja3);
/* Decodes a Certificate message body (TLS 1.2 and older): the first certificate into
 * *c, and the next ones up to max_certs in all only checked with OpenSSL. Returns the
 * anomaly bits; *ok says whether *c was filled. */
uint32_t tls_parse_certificate(const uint8_t *b, size_t n, int max_certs, struct tls_cert *c,
                               bool *ok);

#endif
