/*
 * Internals shared by the intel modules: set.c (building, freezing, lookups), parse.c
 * (indicator text to keys) and load.c (list formats). Not a public header.
 */
#ifndef OTASUKE_INTEL_INT_H
#define OTASUKE_INTEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otasuke/intel.h"

/* One parsed indicator. IP kinds use addr/plen/v4 (v4 addresses in addr[12..15] with the
 * ::ffff:0:0/96 prefix, plen counted within the family); the others use key/klen. */
struct intel_ind {
    enum intel_kind kind;
    bool v4;
    unsigned plen;
    uint8_t addr[16];
    uint16_t port;
    size_t klen;
    uint8_t key[INTEL_MAX_URL + 8];
};

/* Parses text t[0..n) as an indicator of `type`. Returns 0 or ERR_INVAL; *why gets a
 * static reason on failure. */
int intel_parse(enum intel_type type, const char *t, size_t n, struct intel_ind *out,
                const char **why);
/* Parses an IPv4 or IPv6 address with an optional /prefix (strict: no spaces). */
int intel_parse_ip(const char *t, size_t n, struct intel_ind *out);
/* Hex digits to bytes: returns true when t[0..2*len) is hex. */
bool intel_hex_decode(const char *t, size_t len, uint8_t *out);
/* Lowercases and checks a domain (one trailing dot, a leading "*." or "." dropped) into
 * out; returns its length or -1. */
int intel_domain_normalize(const char *t, size_t n, char *out, size_t cap);
/* Adds a parsed indicator to list `list` of set s. */
int intel_set_add_ind(struct intel_set *s, unsigned list, const struct intel_ind *ind);

#endif
