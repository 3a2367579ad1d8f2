/*
 * HTTP bodies (see http.h): chunk-size lines, gzip/deflate decoding with zlib under
 * the size and ratio caps, and the body's file (files.h) with its `fileinfo` event.
 *
 * Invariants: the decoder's memory comes from MEM_APP through zlib's allocation
 * hooks and exists only while a coded body is read; decoded bytes go through a
 * fixed stack buffer straight into the file's hashes, never into a heap buffer, so
 * a body's memory does not depend on its size. A body stops being decoded (and its
 * file is cut) at decompress_cap decoded bytes, or once more than 1 MiB was decoded
 * at over decompress_ratio times the coded bytes consumed.
 */
#include "app/http.h"

#include <string.h>
#include <zlib.h>

#include "app/http_int.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"

#define RATIO_FLOOR (1u << 20) /* the ratio cap applies past this many decoded bytes */

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return xcalloc(MEM_APP, items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    xfree(p);
}

static int hexdig(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool http_chunk_size(const uint8_t *p, size_t n, uint64_t *size)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t start = i;
    for (; i < n && hexdig(p[i]) >= 0; i++) {
        if (v >> 56)
            return false; /* over 2^60: not a size anyone sends */
        v = v << 4 | (uint64_t)hexdig(p[i]);
    }
    if (i == start)
        return false;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < n && p[i] != ';') /* chunk extensions follow ';' */
        return false;
    *size = v;
    return true;
}

static bool decoding(const struct http_state *h, const struct http_dir *d)
{
    return d->enc != ENC_NONE && h->lim.decompress;
}

/* The file's name: Content-Disposition's, else the URI's path (as Suricata). */
static void file_name(const struct http_dir *d, const char **name, size_t *len)
{
    *name = "";
    *len = 0;
    if (d->cd_len > 0) {
        *name = d->cd_name;
        *len = d->cd_len;
        return;
    }
    if (d->tx == NULL || d->tx->uri == NULL)
        return;
    size_t k = 0;
    while (k < d->tx->uri_len && d->tx->uri[k] != '?' && d->tx->uri[k] != '#')
        k++;
    *name = d->tx->uri;
    *len = k;
}

/* The body's file, opened on first need; NULL when it is not tracked. */
static struct app_file *file_start(struct http_state *h, struct app_sink *s, int dir)
{
    struct http_dir *d = &h->d[dir];
    if (d->file != NULL || d->discard)
        return d->file;
    if (h->nfiles >= h->lim.max_files) {
        http_anomaly(s, HTTP_AN_TOO_MANY_FILES, dir);
        d->discard = true;
        return NULL;
    }
    d->file = xalloc(MEM_APP, sizeof(*d->file));
    if (d->file == NULL) {
        http_anomaly(s, HTTP_AN_NO_MEMORY, dir);
        d->discard = true;
        return NULL;
    }
    const char *name;
    size_t len;
    file_name(d, &name, &len);
    uint64_t declared = (d->has_clen && !d->chunked && !decoding(h, d)) ? d->clen : 0;
    h->nfiles++;
    file_open(d->file, name, len, h->nfiles, declared);
    return d->file;
}

/* Stops the body's decoding: the file is cut (or in error) and later bytes skipped. */
static void body_cut(struct http_dir *d, struct app_sink *s, int dir, enum http_anomaly k,
                     bool error)
{
    http_anomaly(s, k, dir);
    d->discard = true;
    if (d->file != NULL)
        file_close(d->file, false, error);
}

static bool z_start(struct http_dir *d, uint8_t first)
{
    z_stream *z = xcalloc(MEM_APP, 1, sizeof(*z));
    if (z == NULL)
        return false;
    z->zalloc = z_alloc;
    z->zfree = z_free;
    /* gzip and zlib headers are detected (15 + 32); a "deflate" body that starts with
     * neither (first byte not 0x1f nor a zlib CMF with CM 8) is raw deflate. */
    int wbits = 15 + 32;
    bool zlib_hdr = (first & 0x0f) == 8 && (first >> 4) <= 7;
    if (d->enc == ENC_DEFLATE && first != 0x1f && !zlib_hdr)
        wbits = -15;
    if (inflateInit2(z, wbits) != Z_OK) {
        xfree(z);
        return false;
    }
    d->z = z;
    return true;
}

/* got decoded bytes; false when a cap was reached (the body is cut). */
static bool inflate_out(struct http_state *h, struct app_sink *s, int dir, const uint8_t *out,
                        size_t got)
{
    struct http_dir *d = &h->d[dir];
    uint64_t cap = h->lim.decompress_cap;
    if (cap > 0 && d->z_out + got > cap) {
        file_data(d->file, out, (size_t)(cap - d->z_out));
        d->z_out = cap;
        body_cut(d, s, dir, HTTP_AN_DECOMPRESSION_BOMB, false);
        return false;
    }
    d->z_out += got;
    file_data(d->file, out, got);
    uint64_t ratio = h->lim.decompress_ratio;
    if (ratio > 0 && d->z_out > RATIO_FLOOR && d->z_out / ratio > d->z_in) {
        body_cut(d, s, dir, HTTP_AN_DECOMPRESSION_BOMB, false);
        return false;
    }
    return true;
}

/* Runs the decoder over p[0..n) (n <= UINT_MAX). */
static void inflate_run(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                        size_t n)
{
    struct http_dir *d = &h->d[dir];
    z_stream *z = d->z;
    uint8_t out[16384];
    z->next_in = (Bytef *)(uintptr_t)p;
    z->avail_in = (uInt)n;
    for (;;) {
        z->next_out = out;
        z->avail_out = sizeof(out);
        uInt in0 = z->avail_in;
        int rc = inflate(z, Z_NO_FLUSH);
        size_t got = sizeof(out) - z->avail_out;
        d->z_in += in0 - z->avail_in;
        if (got > 0 && !inflate_out(h, s, dir, out, got))
            return;
        if (rc == Z_STREAM_END) {
            d->z_done = true; /* bytes after the stream's end are ignored */
            return;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            body_cut(d, s, dir, HTTP_AN_BAD_GZIP, true);
            return;
        }
        if ((z->avail_in == 0 && z->avail_out != 0) || (got == 0 && in0 == z->avail_in))
            return;
    }
}

static void inflate_data(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                         size_t n)
{
    struct http_dir *d = &h->d[dir];
    if (d->z == NULL && !z_start(d, p[0])) {
        body_cut(d, s, dir, HTTP_AN_NO_MEMORY, false);
        return;
    }
    while (n > 0 && !d->discard && !d->z_done) {
        size_t k = n > (1u << 30) ? (1u << 30) : n;
        inflate_run(h, s, dir, p, k);
        p += k;
        n -= k;
    }
}

void http_body_data(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct http_dir *d = &h->d[dir];
    if (dir == APP_TOCLIENT && d->tx != NULL)
        d->tx->resp_len += n;
    if (d->discard || n == 0 || d->z_done)
        return;
    if (file_start(h, s, dir) == NULL)
        return;
    if (decoding(h, d))
        inflate_data(h, s, dir, p, n);
    else
        file_data(d->file, p, n);
}

void http_body_gap(struct http_state *h, struct app_sink *s, int dir, uint64_t len)
{
    struct http_dir *d = &h->d[dir];
    if (dir == APP_TOCLIENT && d->tx != NULL)
        d->tx->resp_len += len;
    if (file_start(h, s, dir) != NULL)
        file_gap(d->file, len);
    /* A plain body goes on being hashed after the gap (the file is TRUNCATED anyway,
     * its size counts the bytes seen, as Suricata's); a coded one cannot resume. */
    if (decoding(h, d))
        d->discard = true;
}

static void z_release(struct http_dir *d)
{
    if (d->z != NULL) {
        inflateEnd(d->z);
        xfree(d->z);
        d->z = NULL;
    }
}

void http_body_end(struct http_state *h, struct app_sink *s, int dir, bool complete)
{
    struct http_dir *d = &h->d[dir];
    struct app_file *f = d->file;
    if (f != NULL) {
        /* a coded body that ended before its stream did is not complete */
        if (decoding(h, d) && !d->z_done)
            complete = false;
        file_close(f, complete, false);
        struct jw *w = s->event_begin(s, "fileinfo", dir);
        if (w != NULL) {
            if (d->tx != NULL)
                http_write_tx(w, d->tx);
            jw_str(w, "app_proto", "http");
            file_write_fileinfo(w, f, d->tx != NULL ? d->tx->id : 0);
            s->event_end(s);
        }
        xfree(f);
        d->file = NULL;
    }
    z_release(d);
    d->z_done = false;
    d->z_in = d->z_out = 0;
    d->discard = false;
}

void http_body_free(struct http_dir *d)
{
    z_release(d);
    xfree(d->file);
    d->file = NULL;
}
