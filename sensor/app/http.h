/*
 * HTTP/1.x stream parser (RFC 9112) and the EVE `http` and `fileinfo` events,
 * implementing `struct app_parser` (applayer.h) as `http_parser`.
 *
 * A flow's state keeps a bounded queue of transactions (a request and its
 * response): requests are queued as they arrive (pipelining), responses are matched
 * to the oldest request without one, and a transaction is logged as an `http` event
 * when its response is complete, or at a gap that stops the flow's parsing, or at
 * flow end (like Suricata). Bodies are framed by Content-Length, chunked transfer
 * coding or the end of the connection (responses), have none for HEAD, 1xx, 204 and
 * 304, and are decoded from gzip/deflate/br Content-Encoding under a size cap and a
 * ratio cap. Each body becomes a file (files.h) logged as a `fileinfo` event.
 *
 * Every limit reached is an anomaly through the sink (enum http_anomaly), never a
 * crash or unbounded memory: lines are cut at max_line bytes, headers past the
 * count/byte caps are ignored, transactions past max_pending are parsed but not
 * kept, decoded bodies stop at the cap. Data split anywhere gives the same events.
 * See docs/internals/http.md.
 */
#ifndef OTASUKE_SENSOR_HTTP_H
#define OTASUKE_SENSOR_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "app/applayer.h"

struct sensor_conf;

enum http_anomaly {
    HTTP_AN_LINE_TOO_LONG = 0,  /* start/header/chunk line over max_line: cut */
    HTTP_AN_TOO_MANY_HEADERS,   /* more header lines than max_headers: rest ignored */
    HTTP_AN_HEADERS_TOO_BIG,    /* header block over max_header_bytes: rest ignored */
    HTTP_AN_TOO_MANY_PENDING,   /* queue full: the oldest is logged early to make room */
    HTTP_AN_BAD_REQUEST_LINE,   /* not "METHOD SP URI [SP HTTP/x.y]": direction stops */
    HTTP_AN_BAD_STATUS,         /* "HTTP" line without "HTTP/x.y SP status": read on; else junk */
    HTTP_AN_BAD_HEADER,         /* header line without ':' (ignored) */
    HTTP_AN_BAD_CONTENT_LENGTH, /* not digits, or two different values */
    HTTP_AN_TE_AND_CL,          /* Transfer-Encoding chunked and Content-Length */
    HTTP_AN_BAD_CHUNK,          /* bad chunk size or chunk end: direction stops */
    HTTP_AN_BAD_GZIP,           /* gzip/deflate body did not decode: file ERROR */
    HTTP_AN_DECOMPRESSION_BOMB, /* decoded size or ratio over the caps: file cut */
    HTTP_AN_GAP,                /* bytes lost: body skipped or direction stopped */
    HTTP_AN_UNMATCHED_RESPONSE, /* response without a pending request */
    HTTP_AN_TOO_MANY_FILES,     /* files of the flow over max_files: not tracked */
    HTTP_AN_NO_MEMORY,          /* a buffer or decoder could not be allocated */
    HTTP_AN_COUNT
};

/* Limits of one flow's parsing (from app.http.* in the configuration). */
struct http_limits {
    uint32_t max_line;         /* bytes of a start, header or chunk-size line */
    uint32_t max_headers;      /* header lines per message */
    uint32_t max_header_bytes; /* bytes of a message's header block */
    uint32_t max_pending;      /* transactions queued per flow */
    uint32_t max_files;        /* files per flow */
    uint32_t decompress_ratio; /* decoded/encoded bytes allowed (past 1 MiB decoded) */
    uint64_t decompress_cap;   /* decoded bytes per body */
    bool decompress;           /* decode gzip/deflate bodies */
    uint8_t dump_headers;      /* bit 1 << dir: keep that direction's header lines */
    uint64_t req_body_limit;   /* request body bytes that feed files (0: all) */
};

/* Fills *l from c's app.http.* settings, or with the defaults when c is NULL. */
void http_limits_from_conf(struct http_limits *l, const struct sensor_conf *c);

/* "line_too_long", ... ("unknown" out of range). */
const char *http_anomaly_name(int kind);

/* The parser table (name "http"). */
extern const struct app_parser http_parser;

#endif
