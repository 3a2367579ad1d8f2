/*
 * Files carried by application protocols (HTTP bodies, mail attachments): each is
 * hashed as its bytes go by (sha256, and md5 and/or sha1 as configured, with nettle: fixed-size state, no
 * allocation), its first bytes are kept for libmagic, and at its end it becomes a
 * Suricata-style `fileinfo` object.
 *
 * A `struct app_file` is a plain value (about 1 KiB) that lives inside the parser's
 * per-flow state. The magic database is loaded once per thread that parses
 * (files_magic_init; libmagic handles are not thread-safe, so each pipeline worker
 * thread has its own, as it has its own answer cache, kept-bytes budget and
 * observer); without it, files simply have no "magic"/"mimetype".
 *
 * Kept bytes: when files_set_keep configured it, a file whose first bytes the given
 * predicate accepts (archives, for sensor/detect/archive.c) is also copied into a
 * buffer of its own (MEM_APP) up to a per-file size and under a per-thread total;
 * past either the rest is not kept (counted) and the prefix stays readable. The
 * buffer is the only allocation here: the parsers release it (file_release) once the
 * fileinfo is written and when their state is freed; file_open releases a previous one,
 * so a struct app_file must start zeroed.
 */
#ifndef OTASUKE_SENSOR_FILES_H
#define OTASUKE_SENSOR_FILES_H

#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw;

#define FILE_NAME_MAX  256  /* bytes of the name kept (UTF-8, cut on a character) */
#define FILE_HEAD_SIZE 512 /* first bytes kept for libmagic (as Suricata: FILEMAGIC_MIN_SIZE) */

enum file_state {
    FILE_OPEN = 0,
    FILE_CLOSED,    /* complete: every byte seen, the declared size (if any) reached */
    FILE_TRUNCATED, /* ended early: flow end, a gap, a cap or a declared size not met */
    FILE_ERROR      /* the carrying encoding was broken (e.g. bad gzip) */
};

struct app_file {
    char name[FILE_NAME_MAX]; /* NUL-terminated; may be empty */
    uint64_t size;            /* bytes seen (after transfer/content decoding) + bytes lost */
    uint64_t declared;        /* size the protocol announced, 0 if none */
    uint64_t gap_bytes;       /* bytes lost inside the file */
    uint32_t id;              /* per-flow file number, from 1 */
    uint8_t state;            /* enum file_state */
    bool gaps;
    uint8_t hashes; /* FILE_HASH_* computed for this file (set at file_open) */
    uint16_t head_len;
    struct md5_ctx md5;
    struct sha1_ctx sha1;
    struct sha256_ctx sha256;
    uint8_t md5_digest[MD5_DIGEST_SIZE];
    uint8_t sha1_digest[SHA1_DIGEST_SIZE];
    uint8_t sha256_digest[SHA256_DIGEST_SIZE];
    uint8_t head[FILE_HEAD_SIZE];
    /* kept bytes (files_set_keep): NULL unless the file is kept */
    uint8_t *keep;
    size_t keep_len, keep_cap;
    uint8_t keep_state; /* enum file_keep */
};

enum file_keep {
    FILE_KEEP_UNDECIDED = 0, /* the head is not full yet */
    FILE_KEEP_NO,            /* not wanted (or keeping is off) */
    FILE_KEEP_YES,           /* every byte so far is in keep[] */
    FILE_KEEP_CUT            /* a prefix is in keep[]: a cap, a gap or no memory */
};

/* Counters of the kept-bytes buffers (stats event, "app.files"). */
struct files_keep_stats {
    uint64_t kept;      /* files whose bytes were kept */
    uint64_t cut_size;  /* ... cut at the per-file size */
    uint64_t cut_total; /* ... cut because the (per-thread) total was reached */
    uint64_t cut_other; /* ... cut by a gap or a failed allocation */
    uint64_t bytes_now; /* bytes held right now */
};

/* The digests computed per file (app.files.hashes); sha256 always. */
#define FILE_HASH_MD5    0x01u
#define FILE_HASH_SHA1   0x02u
#define FILE_HASH_SHA256 0x04u
/* Selects the digests of files opened from now on: choice is the index of the
 * app.files.hashes setting ("md5,sha256" (default), "md5,sha1,sha256",
 * "sha1,sha256", "sha256"); process-wide, set once before the parsers run. */
void files_set_hashes(int choice);

/* Loads the system's magic database (libmagic) once; later calls do nothing.
 * Returns false (and files get no type) when it cannot be loaded. */
bool files_magic_init(void);
/* Releases the magic database (at exit; optional). */
void files_magic_free(void);
/* Files typed so far, and how many of them from the cache of libmagic's answers (the
 * same first bytes give the same type). */
void files_magic_stats(uint64_t *calls, uint64_t *hits);

/* Starts file f named name[0..namelen) (bytes from the wire: invalid UTF-8 is kept
 * as the JSON writer escapes it; cut at FILE_NAME_MAX - 1 on a character boundary).
 * declared is the announced size or 0. */
void file_open(struct app_file *f, const char *name, size_t namelen, uint32_t id,
               uint64_t declared);
/* n more bytes of the file's content. */
void file_data(struct app_file *f, const uint8_t *d, size_t n);
/* len bytes of the file were lost. */
void file_gap(struct app_file *f, uint64_t len);
/* Ends the file: FILE_CLOSED when complete is true, no gap was seen and the declared
 * size (if any) was reached, else FILE_TRUNCATED (or FILE_ERROR when error is true).
 * Computes the digests. Idempotent. */
void file_close(struct app_file *f, bool complete, bool error);

/* Writes the "fileinfo" object (w inside an open object): filename, magic, mimetype,
 * gaps, state, the configured digests among md5, sha1, sha256 (closed and truncated
 * files, as Suricata: the hashes of the bytes seen), stored (false), size, tx_id and
 * file_id. */
void file_write_fileinfo(struct jw *w, const struct app_file *f, uint64_t tx_id);

/* Calls fn(ud, f) for each file as its fileinfo object is written (before it), so
 * that the detections can look at its first bytes (sensor/detect). NULL clears. */
void files_set_observer(void (*fn)(void *ud, const struct app_file *f), void *ud);

/* Keeps the bytes of the files whose first bytes want(head, n) accepts (n is
 * FILE_HEAD_SIZE, or less for a file that ends sooner), at most per_file bytes each
 * and total bytes for all files at once. want NULL (or a size 0) turns keeping off.
 * Process-wide, like the observer. */
void files_set_keep(bool (*want)(const uint8_t *head, size_t n), size_t per_file, size_t total);
/* The bytes kept of f for inspection: its buffer when kept, else its head (the whole
 * file when it is no longer than FILE_HEAD_SIZE). *complete is true when these are
 * all of the file's bytes (f closed, no gap, nothing cut). Borrowed until
 * file_release / file_open. */
const uint8_t *file_kept(const struct app_file *f, size_t *len, bool *complete);
/* Frees f's kept bytes (f may be NULL; idempotent). */
void file_release(struct app_file *f);
void files_keep_stats(struct files_keep_stats *out);

/* "CLOSED", "TRUNCATED", ... as Suricata writes fileinfo.state. */
const char *file_state_name(enum file_state s);

#endif
