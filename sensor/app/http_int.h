/*
 * Internals of the HTTP parser shared by http.c (lines, headers, transactions,
 * events) and http_body.c (body framing, content decoding, files). Not a public
 * header: only these two files include it.
 */
#ifndef OTASUKE_SENSOR_HTTP_INT_H
#define OTASUKE_SENSOR_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/applayer.h"
#include "app/files.h"
#include "app/http.h"

#define HTTP_METHOD_MAX 32
#define HTTP_HOST_MAX   256
#define HTTP_UA_MAX     512
#define HTTP_REF_MAX    1024
#define HTTP_CT_MAX     256
#define HTTP_LOC_MAX    1024
#define HTTP_PROTO_MAX  16

/* A kept header value: the first cap - 1 bytes, not NUL-terminated. */
#define HTTP_FIELD(name, cap)                                                                      \
    char name[cap];                                                                                \
    uint16_t name##_len

/* One request and its response. */
struct http_tx {
    struct http_tx *next;
    uint64_t id; /* from 0, per flow, in request order */
    HTTP_FIELD(method, HTTP_METHOD_MAX);
    char *uri; /* exactly uri_len bytes (at most max_line), MEM_APP; NULL when empty */
    uint32_t uri_len;
    HTTP_FIELD(host, HTTP_HOST_MAX); /* lower case, without the port */
    HTTP_FIELD(ua, HTTP_UA_MAX);
    HTTP_FIELD(referer, HTTP_REF_MAX);
    HTTP_FIELD(proto, HTTP_PROTO_MAX);
    HTTP_FIELD(ctype, HTTP_CT_MAX); /* response Content-Type */
    HTTP_FIELD(location, HTTP_LOC_MAX);
    HTTP_FIELD(status_str, 16); /* a status that is not 3 digits ("2XX") */
    int32_t port;               /* from Host or an absolute URI; -1 when none */
    uint16_t status;            /* 0 before a status line */
    uint64_t resp_len;          /* response body bytes (after transfer decoding) */
    bool has_request;
    bool has_response; /* a final (non-1xx) status line was read */
    bool req_done;     /* request headers and body read */
    bool resp_done;    /* response complete */
    bool logged;
    /* dump_all_headers: each direction's header lines as records of a 4-byte name
     * length, a 4-byte value length (host order), the name and the value; at most
     * max_header_bytes + 8 per line in all, MEM_APP, NULL when not kept */
    uint8_t *hdrs[2];
    uint32_t hdrs_len[2], hdrs_cap[2];
    bool head;    /* HEAD request: the response has no body */
    bool connect; /* CONNECT request */
};

enum http_pstate {
    HS_START = 0,  /* before a request or status line (empty lines skipped) */
    HS_HEADERS,    /* header lines until the empty line */
    HS_BODY_LEN,   /* Content-Length body: remain bytes */
    HS_CHUNK_SIZE, /* chunk-size line */
    HS_CHUNK_DATA, /* remain bytes of chunk data */
    HS_CHUNK_END,  /* the CRLF after chunk data */
    HS_TRAILERS,   /* trailer lines after the last chunk */
    HS_BODY_EOF,   /* response body until the connection ends */
    HS_WAIT,       /* after CONNECT: bytes ignored until the response */
    HS_DEAD        /* parsing stopped in this direction */
};

enum http_enc { ENC_NONE = 0, ENC_GZIP, ENC_DEFLATE, ENC_BROTLI };

struct z_stream_s;
struct BrotliDecoderStateStruct;
struct http_mp; /* multipart/form-data state, http_body.c */

#define HTTP_BOUNDARY_MAX 70 /* RFC 2046 5.1.1 */

/* One direction of the flow. */
struct http_dir {
    uint8_t *line;     /* partial line across data calls: max_line bytes, MEM_APP */
    uint32_t line_len; /* bytes kept in line */
    bool line_over;    /* the current line passed max_line (anomaly given) */
    bool junk;         /* skipping lines until a valid start line (anomaly given) */
    bool cr_pending;   /* response head: the data ended in CRs after a line (see line_step) */
    bool chunk_seen;   /* a chunk-size line of this message was valid */
    uint8_t cz;        /* first chunk-size line of a response: validator state */
    bool eol_lf;       /* the line just read ended with LF (after eol_cr CRs) */
    uint32_t eol_cr;   /* CRs that ended the line just read (response head lines) */
    bool fin;          /* response: the body ended, its file (and tx) stay open for the
                        * lines before the next status line (libhtp appends them) */
    uint8_t state;     /* enum http_pstate */
    uint64_t remain;   /* bytes left of a Content-Length body or a chunk */
    /* message being read */
    uint32_t nheaders;
    uint32_t header_bytes;
    bool hdr_limit; /* a header limit was reached: later headers ignored */
    bool has_clen;
    bool chunked;
    bool te_seen;
    uint8_t enc;      /* enum http_enc */
    uint16_t interim; /* 1xx response headers being read */
    uint64_t clen;
    char cd_name[FILE_NAME_MAX]; /* file name from Content-Disposition */
    uint16_t cd_len;
    bool cd_star;         /* cd_name came from filename* (wins over filename) */
    uint8_t boundary_len; /* request multipart/form-data boundary, 0 when none */
    char boundary[HTTP_BOUNDARY_MAX];
    struct http_mp *mp; /* multipart parsing of the body, MEM_APP */
    struct http_tx *tx; /* transaction of the message being read (may be NULL) */
    /* body */
    bool discard;          /* body bytes are counted, not decoded nor hashed */
    struct app_file *file; /* the body's file, MEM_APP, NULL when none */
    struct z_stream_s *z;  /* gzip/deflate decoder, MEM_APP */
    struct BrotliDecoderStateStruct *br; /* brotli decoder, MEM_APP */
    bool z_done;           /* decoder reached the end of the stream */
    uint64_t z_in, z_out;
    uint64_t body_in; /* request body bytes so far that fed files (request_body_limit) */
};

struct http_state {
    struct http_limits lim;
    struct http_dir d[2];
    struct http_tx *head, *tail; /* queue, oldest first */
    uint32_t npending;
    uint64_t next_tx_id;
    uint32_t nfiles;
    bool seen[2]; /* bytes came in this direction of the flow (as the flow sees it) */
    bool swapped; /* midstream: the flow's first sender is the server (swap_dirs) */
};

/* http.c */
void http_anomaly(struct app_sink *s, enum http_anomaly k, int dir);
/* Reads a Content-Disposition value's file name into d->cd_name. */
void http_content_disposition(struct http_dir *d, const uint8_t *v, size_t n);
/* Writes the `http` object of tx; the user agent is noted into s for the inventory
 * (app_note; NULL: an object inside another event, not read). */
void http_write_tx(struct jw *w, struct app_sink *s, const struct http_tx *tx);

/* http_body.c */
/* Body bytes d[0..n) of direction dir (after transfer decoding). */
void http_body_data(struct http_state *h, struct app_sink *s, int dir, const uint8_t *d, size_t n);
/* The body ended (complete or not): closes and logs its file, frees the decoder. */
void http_body_end(struct http_state *h, struct app_sink *s, int dir, bool complete);
/* len body bytes were lost. */
void http_body_gap(struct http_state *h, struct app_sink *s, int dir, uint64_t len);
/* Frees a direction's body resources without logging. */
void http_body_free(struct http_dir *d);
/* Parses one chunk-size line; returns false when it is not one. */
bool http_chunk_size(const uint8_t *p, size_t n, uint64_t *size);

#endif
