/*
 * MIME: a streaming walker of RFC 5322 / RFC 2045-2049 messages and the decoders it
 * needs, reusable outside SMTP (a mail-drill tool parses .eml files with it).
 *
 *  - base64 and quoted-printable decoders that take their input split anywhere (a few
 *    bytes of state each, no allocation);
 *  - RFC 2047 encoded words in header values, decoded to UTF-8 through iconv (B and Q
 *    encodings, any charset iconv knows: ISO-2022-JP, Shift_JIS, EUC-JP, ...; adjacent
 *    encoded words are joined without the white space between them);
 *  - RFC 2231 parameters (filename*=charset'lang'%xx, continuations filename*0*=, ...);
 *  - the walker: unfolds headers, follows multipart boundaries (nesting bounded in depth,
 *    parts bounded in number) and hands each leaf part's decoded content to callbacks.
 *
 * The walker keeps one line buffer (its line cap) and a header buffer from MEM_APP;
 * everything else is fixed size. Data fed in any split gives the same callbacks. Lines
 * longer than the cap are handled in pieces (a piece that does not start a line is never
 * taken for a boundary or a header).
 */
#ifndef OTASUKE_SENSOR_MIME_H
#define OTASUKE_SENSOR_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Anomalies the walker and decoders report (bit numbers of a mask / kinds). */
enum mime_anomaly {
    MIME_AN_TOO_DEEP = 0,     /* multipart nested deeper than the cap */
    MIME_AN_TOO_MANY_PARTS,   /* more parts than the cap */
    MIME_AN_BAD_BASE64,       /* a byte outside the base64 alphabet or bad padding */
    MIME_AN_BAD_QP,           /* '=' not followed by two hex digits or a line end */
    MIME_AN_BAD_ENCODED_WORD, /* malformed =?cs?e?text?= */
    MIME_AN_UNKNOWN_CHARSET,  /* a charset iconv does not know (bytes kept as is) */
    MIME_AN_HEADER_TOO_LONG,  /* an unfolded header longer than MIME_HDR_MAX (cut) */
    MIME_AN_LINE_TOO_LONG,    /* a line longer than the line cap (handled in pieces) */
    MIME_AN_COUNT
};

#define MIME_HDR_MAX      8192 /* bytes of one unfolded header kept */
#define MIME_BOUNDARY_MAX 72   /* RFC 2046: 70 characters, plus slack */
#define MIME_DEPTH_LIMIT  16   /* hard ceiling of the configurable depth */
#define MIME_CT_MAX       64   /* bytes of a content type kept ("application/pdf") */

/* ---- decoders ---- */

struct mime_b64 {
    uint32_t acc;
    uint8_t n;   /* sextets in acc */
    uint8_t pad; /* '=' seen */
    bool bad;    /* sticky: an invalid byte was seen */
};

/* Decodes n bytes of base64 text (CR, LF, spaces and tabs skipped) into out, which has
 * room for at least n * 3 / 4 + 3 bytes. Returns the bytes written. Invalid bytes are
 * skipped and set b->bad. */
size_t mime_b64_feed(struct mime_b64 *b, const uint8_t *in, size_t n, uint8_t *out);

struct mime_qp {
    uint8_t st;  /* 0 normal, 1 after '=', 2 after '=' and a hex digit, 3 after "=\r" */
    uint8_t hi;  /* the first hex digit */
    bool bad;    /* sticky */
};

/* Decodes n bytes of quoted-printable into out (room for n + 3 bytes). Soft line breaks
 * ("=\r\n", "=\n") vanish; a bad escape is copied as is and sets q->bad. Returns the
 * bytes written. */
size_t mime_qp_feed(struct mime_qp *q, const uint8_t *in, size_t n, uint8_t *out);

/* Decodes an RFC 2047 header value in[0..n) to NUL-terminated UTF-8 in out[0..cap) (cut
 * on a character boundary when full). Text outside encoded words is copied as is;
 * folding line breaks become nothing (the following white space stays). Anomalies are
 * OR-ed into *an as bits (1u << enum mime_anomaly); an may be NULL. Returns the length
 * written (the text may hold NUL bytes decoded from the wire, e.g. "=00"). */
size_t mime_decode_words(const char *in, size_t n, char *out, size_t cap, uint32_t *an);

/* Converts in[0..n) from charset (NUL-terminated) to UTF-8 into out[0..cap), NUL-
 * terminated. Returns the length, or -1 when the charset is unknown (nothing written)
 * — bytes iconv cannot convert become U+FFFD. */
long mime_to_utf8(const char *charset, const char *in, size_t n, char *out, size_t cap);

/* Finds parameter `name` (ASCII, case-insensitive) in a structured header value such as
 * `attachment; filename*0*=iso-2022-jp''%1B...; filename*1*=...` and writes its value,
 * RFC 2231-decoded (percent-decoded, continuations joined in order, converted to UTF-8)
 * or, for a plain value, unquoted and RFC 2047-decoded, to out[0..cap), NUL-terminated.
 * Returns true when found. */
bool mime_param(const char *v, size_t n, const char *name, char *out, size_t cap, uint32_t *an);

/* ---- the walker ---- */

enum mime_cte { MIME_CTE_IDENTITY = 0, MIME_CTE_BASE64, MIME_CTE_QP };

/* A leaf part, as its headers describe it. */
struct mime_part {
    char ctype[MIME_CT_MAX]; /* lowercased "type/subtype", "text/plain" by default */
    char name[256];          /* UTF-8 file name (Content-Disposition or Content-Type name) */
    enum mime_cte cte;
    bool attachment;         /* Content-Disposition: attachment */
    unsigned depth;          /* 0: the message itself is the leaf */
};

struct mime_cb {
    /* A header of the message (depth 0) or of a part: value as on the wire without its
     * line ends, except that each fold is marked by one '\n' (before the fold's white
     * space): remove the '\n' to unfold as RFC 5322 says. */
    void (*header)(void *ud, unsigned depth, const char *name, size_t nlen, const char *value,
                   size_t vlen);
    /* A leaf part starts / has decoded content / ends (complete: its closing boundary or
     * the message end was seen; false after mime_abort). */
    void (*part_begin)(void *ud, const struct mime_part *p);
    void (*part_data)(void *ud, const uint8_t *d, size_t n);
    void (*part_end)(void *ud, bool complete, bool bad_encoding);
    void (*anomaly)(void *ud, enum mime_anomaly a);
    void *ud;
};

struct mime_frame {
    char boundary[MIME_BOUNDARY_MAX];
    uint8_t blen;
};

struct mime {
    struct mime_cb cb;
    uint32_t max_line;   /* line cap */
    uint32_t max_depth;  /* multipart nesting */
    uint32_t max_parts;  /* leaf parts */
    uint8_t *line;       /* max_line bytes, MEM_APP */
    uint32_t line_len;
    bool line_cont;      /* the line buffer continues a line already partly handled */
    uint8_t state;       /* internal */
    bool in_part;        /* a leaf part is open */
    bool pending_nl;     /* the previous body line's end is held back (it may belong to a
                            boundary) */
    bool pending_cr;
    bool skip_part;      /* parts over the cap: content dropped */
    bool hdr_cut;
    uint32_t nparts;
    uint32_t depth;      /* frames in use */
    uint32_t hdr_len;
    char *hdr;           /* MIME_HDR_MAX, MEM_APP: the header being unfolded */
    struct mime_part part;          /* the part whose headers are being read */
    char next_boundary[MIME_BOUNDARY_MAX]; /* boundary of the multipart being read */
    uint8_t next_blen;
    struct mime_b64 b64;
    struct mime_qp qp;
    struct mime_frame frame[MIME_DEPTH_LIMIT];
};

/* Prepares m (caps clamped: line 256..1 MiB, depth 1..MIME_DEPTH_LIMIT). Returns 0 or
 * ERR_NOMEM. cb is copied. */
int mime_init(struct mime *m, const struct mime_cb *cb, uint32_t max_line, uint32_t max_depth,
              uint32_t max_parts);
/* Frees m's buffers (m may be zeroed or already freed). */
void mime_free(struct mime *m);
/* Starts a new message (keeps buffers and caps). */
void mime_reset(struct mime *m);
/* n more bytes of the message, any split. */
void mime_feed(struct mime *m, const uint8_t *d, size_t n);
/* The message ended normally: flushes the last line, closes an open part. */
void mime_finish(struct mime *m);
/* The message ended abnormally (gap, cap): closes an open part as incomplete. */
void mime_abort(struct mime *m);

const char *mime_anomaly_name(enum mime_anomaly a);

#endif
