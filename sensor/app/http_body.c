/*
 * HTTP bodies (see http.h): chunk-size lines, gzip/deflate (zlib) and brotli decoding under
 * the size and ratio caps, and the body's file (files.h) with its `fileinfo` event.
 *
 * Invariants: the decoder's memory comes from MEM_APP through zlib's and brotli's allocation
 * hooks and exists only while a coded body is read; decoded bytes go through a
 * fixed stack buffer straight into the file's hashes, never into a heap buffer, so
 * a body's memory does not depend on its size. A body stops being decoded (and its
 * file is cut) at decompress_cap decoded bytes, or once more than 1 MiB was decoded
 * at over decompress_ratio times the coded bytes consumed.
 */
#include "app/http.h"

#include <brotli/decode.h>
#include <string.h>
#include <zlib.h>

#include "app/http_int.h"
#include "otasuke/alloc.h"
#include "otasuke/ascii.h"
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

static void *br_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return xalloc(MEM_APP, size);
}

static void br_free(void *opaque, void *p)
{
    (void)opaque;
    xfree(p);
}

bool http_chunk_size(const uint8_t *p, size_t n, uint64_t *size)
{
    size_t i = 0;
    uint64_t v = 0;
    /* leading white space as C's isspace (libhtp accepts "\fF" for "F") */
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\f' || p[i] == '\v'))
        i++;
    size_t start = i;
    for (; i < n && ascii_hexval(p[i]) >= 0; i++) {
        if (v >> 56)
            return false; /* over 2^60: not a size anyone sends */
        v = v << 4 | (uint64_t)ascii_hexval(p[i]);
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

/* Opens d->file named name[0..len); false when it is not tracked (counted). */
static bool file_begin(struct http_state *h, struct app_sink *s, int dir, const char *name,
                       size_t len, uint64_t declared)
{
    struct http_dir *d = &h->d[dir];
    if (h->nfiles >= h->lim.max_files) {
        http_anomaly(s, HTTP_AN_TOO_MANY_FILES, dir);
        return false;
    }
    d->file = xcalloc(MEM_APP, 1, sizeof(*d->file)); /* zeroed: file_open releases keep */
    if (d->file == NULL) {
        http_anomaly(s, HTTP_AN_NO_MEMORY, dir);
        return false;
    }
    h->nfiles++;
    file_open(d->file, name, len, h->nfiles, declared);
    return true;
}

/* Closes d->file, writes its fileinfo event and frees it. */
static void file_end(struct http_state *h, struct app_sink *s, int dir, bool complete)
{
    struct http_dir *d = &h->d[dir];
    struct app_file *f = d->file;
    if (f == NULL)
        return;
    file_close(f, complete, false);
    struct jw *w = s->event_begin(s, "fileinfo", dir ^ (int)h->swapped);
    if (w != NULL) {
        if (d->tx != NULL)
            http_write_tx(w, NULL, d->tx); /* app_proto: written by the sink's header */
        file_write_fileinfo(w, f, d->tx != NULL ? d->tx->id : 0);
        s->event_end(s);
    }
    file_release(f);
    xfree(f);
    d->file = NULL;
}

/* The body's file, opened on first need; NULL when it is not tracked. */
static struct app_file *file_start(struct http_state *h, struct app_sink *s, int dir)
{
    struct http_dir *d = &h->d[dir];
    if (d->file != NULL || d->discard)
        return d->file;
    const char *name;
    size_t len;
    file_name(d, &name, &len);
    uint64_t declared = (d->has_clen && !d->chunked && !decoding(h, d)) ? d->clen : 0;
    if (!file_begin(h, s, dir, name, len, declared))
        d->discard = true;
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

/* Brotli (RFC 7932) Content-Encoding "br": the same caps as gzip (inflate_out). */
static void brotli_data(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                        size_t n)
{
    struct http_dir *d = &h->d[dir];
    if (d->br == NULL && (d->br = BrotliDecoderCreateInstance(br_alloc, br_free, NULL)) == NULL) {
        body_cut(d, s, dir, HTTP_AN_NO_MEMORY, false);
        return;
    }
    uint8_t out[16384];
    const uint8_t *in = p;
    size_t avail_in = n;
    for (;;) {
        uint8_t *o = out;
        size_t avail_out = sizeof(out);
        size_t in0 = avail_in;
        BrotliDecoderResult rc =
            BrotliDecoderDecompressStream(d->br, &avail_in, &in, &avail_out, &o, NULL);
        size_t got = sizeof(out) - avail_out;
        d->z_in += in0 - avail_in;
        if (got > 0 && !inflate_out(h, s, dir, out, got))
            return;
        if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
            d->z_done = true; /* bytes after the stream's end are ignored */
            return;
        }
        if (rc == BROTLI_DECODER_RESULT_ERROR) {
            body_cut(d, s, dir, HTTP_AN_BAD_GZIP, true);
            return;
        }
        if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            return;
    }
}

/* ---- multipart/form-data (RFC 7578): each part with a file name is a file ---- */

enum mp_state { MP_PREAMBLE = 0, MP_DELIM_LINE, MP_HEADERS, MP_DATA, MP_DONE };

#define MP_DELIM_MAX (4 + HTTP_BOUNDARY_MAX)
#define MP_LINE_MAX  512

struct http_mp {
    uint8_t state; /* enum mp_state */
    uint8_t dlen;  /* "\r\n--" + boundary */
    uint8_t m;     /* bytes of the delimiter matched so far */
    uint8_t delim[MP_DELIM_MAX];
    uint8_t fail[MP_DELIM_MAX + 1]; /* KMP: longest proper border of delim[0..j) */
    uint16_t line_len;
    uint32_t nheaders;
    uint8_t line[MP_LINE_MAX];
};

static struct http_mp *mp_new(const struct http_dir *d)
{
    struct http_mp *mp = xcalloc(MEM_APP, 1, sizeof(*mp));
    if (mp == NULL)
        return NULL;
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, d->boundary, d->boundary_len);
    mp->dlen = (uint8_t)(4 + d->boundary_len);
    for (uint8_t i = 1; i < mp->dlen; i++) {
        uint8_t k = mp->fail[i];
        while (k > 0 && mp->delim[i] != mp->delim[k])
            k = mp->fail[k];
        if (mp->delim[i] == mp->delim[k])
            k++;
        mp->fail[i + 1] = k;
    }
    mp->m = 2; /* the first delimiter may open the body without its CRLF */
    return mp;
}

static void mp_emit(struct http_dir *d, const uint8_t *p, size_t n)
{
    if (d->mp->state == MP_DATA && d->file != NULL && n > 0)
        file_data(d->file, p, n);
}

/* Data or preamble bytes up to a delimiter; returns the bytes consumed (a delimiter
 * found ends the part and the call). The matcher is streaming (KMP), so a delimiter
 * split anywhere is found, and the bytes matched so far are known delimiter bytes:
 * nothing is held back. */
static size_t mp_scan(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct http_dir *d = &h->d[dir];
    struct http_mp *mp = d->mp;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (mp->m == 0 && c != mp->delim[0])
            continue;
        if (mp->m == 0)
            mp_emit(d, p + run, i - run);
        while (mp->m > 0 && mp->delim[mp->m] != c) {
            uint8_t f = mp->fail[mp->m];
            mp_emit(d, mp->delim, (size_t)(mp->m - f));
            mp->m = f;
        }
        if (mp->delim[mp->m] != c) {
            run = i;
            continue;
        }
        mp->m++;
        run = i + 1;
        if (mp->m == mp->dlen) {
            mp->m = 0;
            if (mp->state == MP_DATA)
                file_end(h, s, dir, true);
            mp->state = MP_DELIM_LINE;
            mp->line_len = 0;
            return i + 1;
        }
    }
    if (mp->m == 0)
        mp_emit(d, p + run, n - run);
    return n;
}

static void mp_header(struct http_state *h, struct http_dir *d, const uint8_t *p, size_t n)
{
    static const char cd[] = "content-disposition:";
    struct http_mp *mp = d->mp;
    if (++mp->nheaders > h->lim.max_headers || n < sizeof(cd) - 1)
        return;
    for (size_t i = 0; i < sizeof(cd) - 1; i++)
        if ((p[i] | 0x20) != (uint8_t)cd[i] && !(cd[i] == ':' && p[i] == ':'))
            return;
    http_content_disposition(d, p + sizeof(cd) - 1, n - (sizeof(cd) - 1));
}

/* One line of the delimiter's rest or of a part's headers (CR removed). */
static void mp_line(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct http_dir *d = &h->d[dir];
    struct http_mp *mp = d->mp;
    if (mp->state == MP_DELIM_LINE) {
        bool last = n >= 2 && p[0] == '-' && p[1] == '-';
        mp->state = last ? MP_DONE : MP_HEADERS;
        mp->nheaders = 0;
        d->cd_len = 0;
        d->cd_star = false;
        return;
    }
    if (n > 0) {
        mp_header(h, d, p, n);
        return;
    }
    mp->state = MP_DATA; /* CRLF CRLF: the part's content follows */
    if (d->cd_len > 0)
        (void)file_begin(h, s, dir, d->cd_name, d->cd_len, 0);
}

/* Bytes of a line state; returns the bytes consumed. */
static size_t mp_lines(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p,
                       size_t n)
{
    struct http_mp *mp = h->d[dir].mp;
    const uint8_t *lf = memchr(p, '\n', n);
    size_t take = lf != NULL ? (size_t)(lf - p) : n;
    size_t room = MP_LINE_MAX - mp->line_len;
    size_t keep = take < room ? take : room;
    memcpy(mp->line + mp->line_len, p, keep);
    mp->line_len = (uint16_t)(mp->line_len + keep);
    if (lf == NULL)
        return n;
    size_t len = mp->line_len;
    if (len > 0 && mp->line[len - 1] == '\r')
        len--;
    mp->line_len = 0;
    mp_line(h, s, dir, mp->line, len);
    return take + 1;
}

static void mp_data(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct http_dir *d = &h->d[dir];
    if (d->mp == NULL && (d->mp = mp_new(d)) == NULL) {
        http_anomaly(s, HTTP_AN_NO_MEMORY, dir);
        d->discard = true;
        return;
    }
    size_t off = 0;
    while (off < n && d->mp->state != MP_DONE) {
        if (d->mp->state == MP_PREAMBLE || d->mp->state == MP_DATA)
            off += mp_scan(h, s, dir, p + off, n - off);
        else
            off += mp_lines(h, s, dir, p + off, n - off);
    }
}

void http_body_data(struct http_state *h, struct app_sink *s, int dir, const uint8_t *p, size_t n)
{
    struct http_dir *d = &h->d[dir];
    if (dir == APP_TOCLIENT && d->tx != NULL)
        d->tx->resp_len += n;
    if (d->discard || n == 0 || d->z_done)
        return;
    uint64_t lim = dir == APP_TOSERVER ? h->lim.req_body_limit : 0;
    if (lim > 0 && d->body_in + n > lim) { /* libhtp's request-body-limit: files cut */
        size_t k = (size_t)(lim - d->body_in);
        if (k > 0)
            http_body_data(h, s, dir, p, k);
        d->body_in = lim;
        d->discard = true;
        if (d->file != NULL)
            file_close(d->file, false, false);
        return;
    }
    d->body_in += n;
    if (d->boundary_len > 0) {
        mp_data(h, s, dir, p, n);
        return;
    }
    if (file_start(h, s, dir) == NULL)
        return;
    if (decoding(h, d) && d->enc == ENC_BROTLI)
        brotli_data(h, s, dir, p, n);
    else if (decoding(h, d))
        inflate_data(h, s, dir, p, n);
    else
        file_data(d->file, p, n);
}

void http_body_gap(struct http_state *h, struct app_sink *s, int dir, uint64_t len)
{
    struct http_dir *d = &h->d[dir];
    if (dir == APP_TOCLIENT && d->tx != NULL)
        d->tx->resp_len += len;
    if (d->boundary_len > 0) { /* multipart: the open part (if any) has a hole */
        if (d->file != NULL)
            file_gap(d->file, len);
        if (d->mp != NULL)
            d->mp->m = 0;
        return;
    }
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
    if (d->br != NULL) {
        BrotliDecoderDestroyInstance(d->br);
        d->br = NULL;
    }
}

void http_body_end(struct http_state *h, struct app_sink *s, int dir, bool complete)
{
    struct http_dir *d = &h->d[dir];
    if (d->mp != NULL) {
        file_end(h, s, dir, false); /* a part without its closing delimiter */
        xfree(d->mp);
        d->mp = NULL;
    }
    /* a coded body that ended before its stream did is not complete */
    if (d->file != NULL && decoding(h, d) && !d->z_done)
        complete = false;
    file_end(h, s, dir, complete);
    z_release(d);
    d->z_done = false;
    d->z_in = d->z_out = 0;
    d->body_in = 0;
    d->discard = false;
}

void http_body_free(struct http_dir *d)
{
    xfree(d->mp);
    d->mp = NULL;
    z_release(d);
    file_release(d->file);
    xfree(d->file);
    d->file = NULL;
}
