/*
 * Threat-intelligence indicator sets (issue 4): the lists of IP addresses and CIDR
 * ranges, domains, URLs, file hashes and TLS fingerprints that the sensor's detections
 * look traffic up in.
 *
 * Life cycle: intel_set_new() gives a set in the building state; lists are declared
 * (intel_set_add_list) and filled from files or buffers in one of the supported formats
 * (intel_set_load_file / intel_set_load_buf) or one indicator at a time
 * (intel_set_add). intel_set_freeze() then compiles the set; from then on it is
 * immutable, lookups are allowed and never allocate, and nothing more may be added.
 * A frozen set is refcounted so that a reload can swap it for a new one while a reader
 * still holds the old one (intel_slot; see docs/internals/intel.md for the contract).
 *
 * Matching rules (details in docs/internals/intel.md):
 *   - IP: every listed address or CIDR range that covers the address; IPv4-mapped IPv6
 *     (::ffff:a.b.c.d) is looked up as IPv4. hit.prefix_len is the longest one.
 *   - ip:port (maltrail "1.2.3.4:8080"): only through intel_lookup_endpoint().
 *   - domain: a listed domain matches itself and every subdomain; case-insensitive, one
 *     trailing dot ignored, IDNA (xn--) left as is. The most specific listed suffix wins.
 *   - URL: exact match after normalisation (intel_url_normalize).
 *   - path: maltrail's path-only trails ("/gate.php"), exact match on the URL path.
 *   - md5/sha1/sha256 file hashes, JA3 (md5 hex, stored binary) and JA4 strings: exact.
 * A lookup returns every list that holds the indicator, most severe first (severity 1
 * before 4, ties by declaration order); the ids point into the set and are borrowed.
 *
 * All memory comes from the MEM_INTEL subsystem. A load that reaches its cap fails with
 * ERR_NOMEM and leaves the set unusable for freezing; the caller keeps the previous one.
 */
#ifndef OTASUKE_INTEL_H
#define OTASUKE_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct intel_set;

/* Longest input line a loader accepts; longer lines are rejected (counted, skipped). */
#define INTEL_MAX_LINE 4096
/* Longest domain name (RFC 1035 text form without the trailing dot). */
#define INTEL_MAX_DOMAIN 253
/* Longest URL kept or looked up; longer ones are rejected / never match. */
#define INTEL_MAX_URL 2048
/* Lists per set (list ids are uint16_t). */
#define INTEL_MAX_LISTS 65535

enum intel_kind {
    INTEL_KIND_NONE = 0,
    INTEL_KIND_IP,       /* address or CIDR range, v4 or v6 */
    INTEL_KIND_ENDPOINT, /* address and port (maltrail ip:port) */
    INTEL_KIND_DOMAIN,
    INTEL_KIND_URL,
    INTEL_KIND_PATH, /* URL path only (maltrail "/x.php") */
    INTEL_KIND_MD5,
    INTEL_KIND_SHA1,
    INTEL_KIND_SHA256,
    INTEL_KIND_JA3, /* md5 of the JA3 string, given as 32 hex digits */
    INTEL_KIND_JA4,
    INTEL_KIND_COUNT
};

/* What a line of a list holds. AUTO guesses per line: IP/CIDR, ip:port, URL (has a
 * scheme or a '/' after the host), path ('/' first), md5/sha1/sha256 (32/40/64 hex
 * digits), else domain. The others force one kind (HASH = md5/sha1/sha256 by length). */
enum intel_type {
    INTEL_TYPE_AUTO = 0,
    INTEL_TYPE_IP,
    INTEL_TYPE_DOMAIN,
    INTEL_TYPE_URL,
    INTEL_TYPE_HASH,
    INTEL_TYPE_MD5,
    INTEL_TYPE_SHA1,
    INTEL_TYPE_SHA256,
    INTEL_TYPE_JA3,
    INTEL_TYPE_JA4,
};

enum intel_format {
    INTEL_FMT_PLAIN = 0, /* one per line, '#'/'!' comments, hosts and adblock "||x^" forms */
    INTEL_FMT_CSV,       /* one column (1-based) of a CSV file, quoted fields */
    INTEL_FMT_MALTRAIL,  /* maltrail trails: plain plus "# comment" tails, ip:port, paths */
    INTEL_FMT_ABUSECH,   /* abuse.ch CSV exports: column chosen from the '#' header line */
    INTEL_FMT_IPREP,     /* Suricata iprep: ip,category,score */
    INTEL_FMT_DATASET,   /* Suricata dataset file: one value per line, see dataset_type */
};

/* Suricata dataset types (the `type:` of the dataset declaration). */
enum intel_dataset_type {
    INTEL_DS_STRING = 0, /* base64 of the value, optionally ",reputation" */
    INTEL_DS_MD5,
    INTEL_DS_SHA256,
    INTEL_DS_IPV4,
    INTEL_DS_IPV6,
};

/* One list as configured (the sensor's `intel:` entries). Borrowed during the call. */
struct intel_list_conf {
    const char *name;     /* cited by alerts; required */
    const char *path;     /* file to load (intel_set_load_conf) */
    const char *category; /* c2, malware, malicious_site, phishing, ransomware, spam, ... */
    unsigned severity;    /* 1 (critical) .. 4 (informational) */
    enum intel_format format;
    enum intel_type type;
    unsigned column; /* CSV: 1-based column; 0 means 1. abusech: override the header */
    char delimiter;  /* CSV: field separator; 0 means ',' */
    bool header;     /* CSV: skip the first non-comment line */
    enum intel_dataset_type dataset_type;
    const char *categories_path; /* iprep: the categories file "id,shortname,description" */
    const char *iprep_category;  /* iprep: keep only this category shortname (NULL: all) */
    unsigned min_score;          /* iprep: keep rows with score >= this (0 means 1) */
    const char *url;             /* where `otasuke intel update` downloads it (NULL: none) */
    uint64_t max_bytes;          /* its download size cap (0: the command's default) */
    const char *ca_file;         /* https: CA bundle for the download (NULL: the system's) */
};

/* Per-load counters. */
struct intel_load_stats {
    uint64_t lines;    /* lines read, comments and blanks included */
    uint64_t loaded;   /* indicators added (duplicates within the list included) */
    uint64_t rejected; /* malformed or overlong lines, skipped */
    uint64_t skipped;  /* well-formed lines that hold no indicator we keep (filters) */
    uint64_t by_kind[INTEL_KIND_COUNT];
    char first_error[160]; /* "file:line: reason" of the first rejected line, or "" */
};

/* The lists that matched, most severe first. `lists` points into the set. */
struct intel_hit {
    const uint16_t *lists;
    unsigned n;          /* 0: no match */
    unsigned prefix_len; /* IP lookups: the longest matching prefix (v4 0..32, v6 0..128) */
    size_t suffix_len;   /* domain lookups: length of the listed domain that matched */
};

/* A declared list, as the set keeps it. */
struct intel_list_info {
    const char *name;
    const char *category;
    unsigned severity;
};

/* Returns a new, empty set in the building state, or NULL when out of memory. */
struct intel_set *intel_set_new(void);
/* Drops one reference; the set is freed with the last. NULL is accepted. */
void intel_set_unref(struct intel_set *s);
/* Takes one more reference on a frozen set; returns s. */
struct intel_set *intel_set_ref(struct intel_set *s);

/* Declares a list (name, category and severity are copied); returns its id (>= 0) or
 * ERR_INVAL (bad severity or name, frozen set), ERR_LIMIT, ERR_NOMEM. */
int intel_set_add_list(struct intel_set *s, const char *name, const char *category,
                       unsigned severity);
/* Adds one indicator in text form to list `list`. Returns 0, ERR_INVAL when the text is
 * not a valid indicator of that type, ERR_NOMEM. *kind_out (may be NULL) gets its kind. */
int intel_set_add(struct intel_set *s, unsigned list, enum intel_type type, const char *text,
                  size_t len, enum intel_kind *kind_out);
/* Loads the bytes buf[0..len) in conf's format into list `list`. `origin` names the
 * source in error messages. Bad lines are counted in *st and skipped; returns 0, or
 * ERR_NOMEM (the set must then be dropped) or ERR_INVAL (bad conf). */
int intel_set_load_buf(struct intel_set *s, unsigned list, const struct intel_list_conf *conf,
                       const char *origin, const uint8_t *buf, size_t len,
                       struct intel_load_stats *st);
/* As intel_set_load_buf from conf->path, read in bounded chunks. ERR_IO when the file
 * (or the iprep categories file) cannot be read. */
int intel_set_load_file(struct intel_set *s, unsigned list, const struct intel_list_conf *conf,
                        struct intel_load_stats *st);
/* Declares and loads every list of confs[0..n), then freezes. Returns a frozen set, or
 * NULL (nothing is kept) when a list cannot be declared or read or memory runs out; the
 * reason goes to the log. st (may be NULL) receives per-list counters, n entries. */
struct intel_set *intel_set_load_conf(const struct intel_list_conf *confs, size_t n,
                                      struct intel_load_stats *st);
/* Compiles the set for lookups. Returns 0 or ERR_NOMEM (the set is then unusable). */
int intel_set_freeze(struct intel_set *s);

/* Lookups: set must be frozen; return true and fill *hit on a match. Never allocate. */
bool intel_lookup_ip4(const struct intel_set *s, uint32_t addr_host_order, struct intel_hit *hit);
bool intel_lookup_ip6(const struct intel_set *s, const uint8_t addr[16], struct intel_hit *hit);
/* Address (4 or 16 bytes, network order) and port: the ip:port indicators only. */
bool intel_lookup_endpoint(const struct intel_set *s, const uint8_t *addr, size_t alen,
                           uint16_t port, struct intel_hit *hit);
bool intel_lookup_domain(const struct intel_set *s, const char *name, size_t len,
                         struct intel_hit *hit);
/* The URL is normalised first (intel_url_normalize); the path kind is tried on its path. */
bool intel_lookup_url(const struct intel_set *s, const char *url, size_t len,
                      struct intel_hit *hit);
/* An HTTP request's Host header and request target, as the parser sees them: an
 * absolute-form target ("http://h/x") is looked up alone, else host + target. */
bool intel_lookup_http(const struct intel_set *s, const char *host, size_t host_len,
                       const char *target, size_t target_len, struct intel_hit *hit);
bool intel_lookup_path(const struct intel_set *s, const char *path, size_t len,
                       struct intel_hit *hit);
/* Binary digest: 16 bytes md5, 20 sha1, 32 sha256. */
bool intel_lookup_hash(const struct intel_set *s, const uint8_t *digest, size_t len,
                       struct intel_hit *hit);
/* JA3 as 32 hex digits (any case); JA4 as its string. */
bool intel_lookup_ja3(const struct intel_set *s, const char *hex, size_t len,
                      struct intel_hit *hit);
bool intel_lookup_ja4(const struct intel_set *s, const char *ja4, size_t len,
                      struct intel_hit *hit);

/* The declared list `id`, or NULL. */
const struct intel_list_info *intel_set_list(const struct intel_set *s, unsigned id);
size_t intel_set_list_count(const struct intel_set *s);
/* Distinct indicators of a kind in the set (a frozen set; IP counts prefixes). */
uint64_t intel_set_count(const struct intel_set *s, enum intel_kind kind);
/* Bytes the frozen set holds (MEM_INTEL). */
uint64_t intel_set_bytes(const struct intel_set *s);

/* Normalises a URL into out[0..cap): returns the length or -1 when invalid or too
 * long. The key is host[:port]/path[?query], without scheme and fragment: scheme and
 * host lowercased, userinfo and default ports (80, 443, and 80/443 for no scheme)
 * dropped, one trailing dot of the host dropped, an empty path becomes "/".
 * Percent-escapes and the path's case are kept as they are. */
int intel_url_normalize(const char *url, size_t len, char *out, size_t cap);

/* Names: "plain", "csv", ... and back. The parse functions return -1 when unknown. */
const char *intel_format_name(enum intel_format f);
int intel_format_parse(const char *name);
const char *intel_type_name(enum intel_type t);
int intel_type_parse(const char *name);
const char *intel_kind_name(enum intel_kind k);
int intel_dataset_type_parse(const char *name);

/* The current set of a program: a refcounted pointer swapped whole on reload.
 * Single-threaded contract: the thread that swaps is the thread that reads; a reader
 * that keeps the set past a swap takes its own intel_set_ref(). */
struct intel_slot {
    struct intel_set *cur;
};
/* Returns the current set (borrowed), or NULL. */
const struct intel_set *intel_slot_get(const struct intel_slot *sl);
/* Installs `next` (takes ownership of its reference; NULL clears) and drops the
 * slot's reference on the previous set, which is freed when no reader holds it. */
void intel_slot_swap(struct intel_slot *sl, struct intel_set *next);

/* ---- the intel lists file (lib/intel/conf.c) --------------------------------------------- */

/* Most lists one intel file declares. */
#define INTEL_CONF_MAX_LISTS 256

/* The lists of an intel YAML file (the sensor's detect.intel_file, `otasuke intel update`). */
struct intel_conf {
    struct intel_list_conf lists[INTEL_CONF_MAX_LISTS];
    size_t n;
    char *strings; /* storage of every string of lists[] (MEM_CONF) */
    size_t used, cap;
};
/* Reads the YAML intel file at path (relative list paths are taken from its folder).
 * Returns 0, or ERR_INVAL / ERR_IO / ERR_NOMEM with "path:line: reason" in err.
 * out must be released with intel_conf_free (also after a failure). */
int intel_conf_load(const char *path, struct intel_conf *out, char *err, size_t errlen);
/* The same from a buffer (tests, fuzzing); base_dir for relative paths (may be ""). */
int intel_conf_parse(const char *name, const char *buf, size_t len, const char *base_dir,
                     struct intel_conf *out, char *err, size_t errlen);
/* The `intel:` key of the sensor's own YAML configuration file at path (every other
 * top-level key is passed over: lib/conf reads those, conf_load_file_skip). *found
 * says whether the file has the key; without it out holds no list. Errors as
 * intel_conf_load ("path:line: reason", lines of the configuration file). */
int intel_conf_load_inline(const char *path, struct intel_conf *out, bool *found, char *err,
                           size_t errlen);
int intel_conf_parse_inline(const char *name, const char *buf, size_t len, const char *base_dir,
                            struct intel_conf *out, bool *found, char *err, size_t errlen);
void intel_conf_free(struct intel_conf *c);
/* True for the intel categories a list may carry (c2, malware, ..., see
 * docs/detections.md); the sensor maps each to a signature (det_sig_for_intel_category). */
bool intel_category_known(const char *category);

#endif
