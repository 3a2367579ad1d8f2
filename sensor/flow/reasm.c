/*
 * TCP stream reassembly (policy in reasm.h and docs/internals/flow.md).
 *
 * Each direction of a flow has, once it carried payload, a struct reasm_stream:
 * the sequence number of the next byte to deliver (`base`), the stream offset
 * passed so far, and a sorted singly linked list of non-overlapping buffered
 * segments that all start after `base`. In-order data goes to the deliver
 * callback straight from the packet; only out-of-order data is copied.
 * Sequence comparisons are serial-number arithmetic on uint32_t.
 */
#include "flow/reasm.h"

#include <string.h>

#include "otasuke/alloc.h"

#define IPPROTO_TCP_  6
#define REASM_MAX_SEG (1u << 30) /* longer payloads are nonsense; ignored */

#define RS_FIN  0x01 /* fin_seq is valid */
#define RS_DONE 0x02 /* nothing more is delivered: depth, RST */

struct reasm_seg {
    struct reasm_seg *next;
    uint32_t seq;
    uint32_t len;
    uint8_t data[];
};

struct reasm_stream {
    struct reasm_seg *ooo;
    uint64_t offset; /* stream bytes passed: delivered + gaps */
    uint32_t base;   /* sequence number of the next byte to deliver */
    uint32_t fin_seq;
    uint32_t ooo_n;
    uint32_t ooo_bytes;
    uint8_t flags;
};

struct reasm {
    struct reasm_conf conf;
    void (*deliver)(void *ud, struct flow *f, int dir, const uint8_t *data, size_t len);
    void (*gap)(void *ud, struct flow *f, int dir, uint64_t len);
    void *ud;
    struct reasm_stats st;
};

static inline bool seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}
static inline bool seq_leq(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
    return seq_lt(b, a);
}
static inline bool seq_geq(uint32_t a, uint32_t b)
{
    return seq_leq(b, a);
}
static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

void reasm_conf_defaults(struct reasm_conf *c)
{
    c->memcap = 64ULL << 20;
    c->depth = 1u << 20;
    c->max_ooo_segments = 64;
    c->max_ooo_bytes = 256u << 10;
}

struct reasm *reasm_new(const struct reasm_conf *c,
                        void (*deliver)(void *ud, struct flow *f, int dir, const uint8_t *data,
                                        size_t len),
                        void (*gap)(void *ud, struct flow *f, int dir, uint64_t len), void *ud)
{
    if (c == NULL || deliver == NULL)
        return NULL;
    struct reasm *r = xcalloc(MEM_REASM, 1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->conf = *c;
    r->deliver = deliver;
    r->gap = gap;
    r->ud = ud;
    return r;
}

void reasm_free(struct reasm *r)
{
    xfree(r);
}

void reasm_stats(const struct reasm *r, struct reasm_stats *out)
{
    *out = r->st;
}

uint64_t reasm_stream_offset(const struct flow *f, int dir)
{
    const struct reasm_stream *s = f->stream[dir & 1];
    return s != NULL ? s->offset : 0;
}

/* ---- buffer bookkeeping ------------------------------------------------- */

static void seg_free(struct reasm *r, struct reasm_seg *g)
{
    r->st.mem_in_use -= sizeof(*g) + g->len;
    xfree(g);
}

static void free_ooo(struct reasm *r, struct reasm_stream *s)
{
    struct reasm_seg *g = s->ooo;
    while (g != NULL) {
        struct reasm_seg *next = g->next;
        seg_free(r, g);
        g = next;
    }
    s->ooo = NULL;
    s->ooo_n = s->ooo_bytes = 0;
}

static struct reasm_seg *pop_head(struct reasm_stream *s)
{
    struct reasm_seg *g = s->ooo;
    s->ooo = g->next;
    s->ooo_n--;
    s->ooo_bytes -= g->len;
    return g;
}

/* ---- delivery ----------------------------------------------------------- */

static void finish_depth(struct reasm *r, struct reasm_stream *s)
{
    s->flags |= RS_DONE;
    r->st.depth_reached++;
    free_ooo(r, s);
}

/* Delivers len bytes at s->base (cut at the depth limit) and advances. */
static void emit(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s,
                 const uint8_t *data, uint32_t len)
{
    if (len == 0 || (s->flags & RS_DONE))
        return;
    uint64_t n = len;
    bool hit = false;
    if (r->conf.depth != 0 && s->offset + n >= r->conf.depth) {
        n = r->conf.depth - s->offset;
        hit = true;
    }
    if (n > 0) {
        r->deliver(r->ud, f, dir, data, (size_t)n);
        r->st.bytes_delivered += n;
    }
    s->offset += n;
    s->base += len;
    if (hit)
        finish_depth(r, s);
}

/* Gives up len missing bytes at s->base. */
static void skip_gap(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s, uint32_t len)
{
    if (len == 0 || (s->flags & RS_DONE))
        return;
    uint64_t n = len;
    bool hit = false;
    if (r->conf.depth != 0 && s->offset + n >= r->conf.depth) {
        n = r->conf.depth - s->offset; /* the stream ends at the depth */
        hit = true;
    }
    r->st.gaps++;
    r->st.gap_bytes += n;
    if (r->gap != NULL)
        r->gap(r->ud, f, dir, n);
    s->offset += n;
    s->base += len;
    if (hit)
        finish_depth(r, s);
}

/* Delivers the head segment, which starts at or before s->base. */
static void emit_head(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s)
{
    struct reasm_seg *g = pop_head(s);
    uint32_t end = g->seq + g->len;
    if (seq_gt(end, s->base)) {
        uint32_t skip = s->base - g->seq;
        emit(r, f, dir, s, g->data + skip, g->len - skip);
    }
    seg_free(r, g);
}

/* Delivers buffered segments as long as they are contiguous with s->base. */
static void drain(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s)
{
    while (!(s->flags & RS_DONE) && s->ooo != NULL && seq_leq(s->ooo->seq, s->base))
        emit_head(r, f, dir, s);
}

/* Gives up the hole before the first buffered segment and delivers from there. */
static void force_gap(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s)
{
    skip_gap(r, f, dir, s, s->ooo->seq - s->base);
    drain(r, f, dir, s);
}

/* Overlaps are counted once per segment: ov bit 0 = overlapped, bit 1 = differed. */
static void note_overlap(unsigned *ov, const uint8_t *old, const uint8_t *new, uint32_t n)
{
    *ov |= 1u;
    if (memcmp(old, new, n) != 0)
        *ov |= 2u;
}

static void count_overlap(struct reasm *r, unsigned ov)
{
    if (ov & 1u)
        r->st.overlaps++;
    if (ov & 2u)
        r->st.overlap_diff++;
}

/* Data that starts at or before s->base and ends after it. Buffered bytes win
 * where they overlap the new data. */
static void in_order(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s, uint32_t seq,
                     const uint8_t *data, uint32_t len)
{
    uint32_t skip = s->base - seq;
    data += skip;
    len -= skip;
    seq = s->base;
    unsigned ovf = 0;
    while (len > 0 && !(s->flags & RS_DONE)) {
        struct reasm_seg *g = s->ooo;
        if (g == NULL || seq_geq(g->seq, seq + len)) {
            emit(r, f, dir, s, data, len);
            break;
        }
        uint32_t before = g->seq - seq; /* g starts after base: before > 0 or g is at base */
        emit(r, f, dir, s, data, before);
        if (s->flags & RS_DONE) /* depth reached: the buffer is gone */
            break;
        data += before;
        len -= before;
        uint32_t ov = min_u32(len, g->len);
        note_overlap(&ovf, g->data, data, ov);
        data += ov;
        len -= ov;
        seq = g->seq + ov;
        emit_head(r, f, dir, s);
    }
    count_overlap(r, ovf);
    drain(r, f, dir, s);
}

/* Walks the buffer for new data [seq, seq+len): counts (dry) or inserts the pieces
 * not yet buffered; overlapping bytes keep the buffered copy. */
static void ooo_walk(struct reasm *r, struct reasm_stream *s, uint32_t seq, const uint8_t *data,
                     uint32_t len, bool dry, uint32_t *pieces, uint32_t *bytes)
{
    struct reasm_seg **pp = &s->ooo;
    uint32_t c = 0;
    unsigned ovf = 0;
    *pieces = *bytes = 0;
    while (c < len) {
        uint32_t cs = seq + c;
        while (*pp != NULL && seq_leq((*pp)->seq + (*pp)->len, cs))
            pp = &(*pp)->next;
        struct reasm_seg *g = *pp;
        uint32_t n;
        if (g == NULL || seq_geq(g->seq, seq + len))
            n = len - c;
        else
            n = seq_gt(g->seq, cs) ? g->seq - cs : 0;
        if (n > 0) {
            (*pieces)++;
            *bytes += n;
            if (!dry) {
                struct reasm_seg *ng = xalloc(MEM_REASM, sizeof(*ng) + n);
                if (ng == NULL) {
                    r->st.memcap_drops++; /* lost; becomes a gap later */
                } else {
                    ng->seq = cs;
                    ng->len = n;
                    memcpy(ng->data, data + c, n);
                    ng->next = *pp;
                    *pp = ng;
                    pp = &ng->next;
                    s->ooo_n++;
                    s->ooo_bytes += n;
                    r->st.ooo_queued++;
                    r->st.mem_in_use += sizeof(*ng) + n;
                }
            }
            c += n;
            continue;
        }
        /* g != NULL: with g == NULL, n = len - c > 0 (loop condition) and we continued. */
        uint32_t off = cs - g->seq; // NOLINT(clang-analyzer-core.NullDereference)
        uint32_t ov = min_u32(g->len - off, len - c);
        if (!dry)
            note_overlap(&ovf, g->data + off, data + c, ov);
        c += ov;
    }
    count_overlap(r, ovf);
}

/* Data that starts after s->base: buffer it, giving up holes while limits say no. */
static void out_of_order(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s,
                         uint32_t seq, const uint8_t *data, uint32_t len)
{
    bool counted = false;
    while (!(s->flags & RS_DONE)) {
        if (seq_leq(seq, s->base)) {
            if (seq_gt(seq + len, s->base))
                in_order(r, f, dir, s, seq, data, len);
            return;
        }
        uint32_t pieces, bytes;
        ooo_walk(r, s, seq, data, len, true, &pieces, &bytes);
        bool seg_lim = (uint64_t)s->ooo_n + pieces > r->conf.max_ooo_segments ||
                       (uint64_t)s->ooo_bytes + bytes > r->conf.max_ooo_bytes;
        bool mem_lim =
            r->st.mem_in_use + bytes + (uint64_t)pieces * sizeof(struct reasm_seg) > r->conf.memcap;
        if (bytes == 0 || (!seg_lim && !mem_lim)) {
            ooo_walk(r, s, seq, data, len, false, &pieces, &bytes);
            return;
        }
        if (!counted) {
            counted = true;
            if (seg_lim)
                r->st.ooo_limit++;
            else
                r->st.memcap_drops++;
        }
        if (s->ooo != NULL)
            force_gap(r, f, dir, s);
        else
            skip_gap(r, f, dir, s, seq - s->base);
    }
}

/* ---- entry points ------------------------------------------------------- */

static struct reasm_stream *stream_get(struct reasm *r, struct flow *f, int dir, uint32_t seq)
{
    struct reasm_stream *s = f->stream[dir];
    uint8_t off = dir == FLOW_TOSERVER ? FLOW_F_REASM_OFF_TS : FLOW_F_REASM_OFF_TC;
    uint8_t syn = dir == FLOW_TOSERVER ? FLOW_F_SYN_TS : FLOW_F_SYN_TC;
    if (s != NULL || (f->flags & off))
        return s;
    if (r->st.mem_in_use + sizeof(*s) > r->conf.memcap ||
        (s = xalloc(MEM_REASM, sizeof(*s))) == NULL) {
        r->st.memcap_drops++;
        f->flags |= off;
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->base = (f->flags & syn) ? f->tcp_isn[dir] + 1 : seq;
    r->st.mem_in_use += sizeof(*s);
    r->st.streams++;
    f->stream[dir] = s;
    return s;
}

static void stream_data(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s,
                        uint32_t seq, const uint8_t *data, uint32_t len)
{
    if (s->flags & RS_DONE)
        return;
    if (s->flags & RS_FIN) { /* nothing after the FIN */
        if (seq_geq(seq, s->fin_seq))
            return;
        if (seq_gt(seq + len, s->fin_seq))
            len = s->fin_seq - seq;
    }
    if (seq_leq(seq + len, s->base)) {
        r->st.retrans++;
        return;
    }
    if (seq_leq(seq, s->base))
        in_order(r, f, dir, s, seq, data, len);
    else
        out_of_order(r, f, dir, s, seq, data, len);
}

/* Delivers everything buffered, giving up the holes between. */
static void flush_stream(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s)
{
    while (s->ooo != NULL && !(s->flags & RS_DONE))
        force_gap(r, f, dir, s);
    free_ooo(r, s);
}

void reasm_packet(struct reasm *r, struct flow *f, int dir, const struct pkt *p)
{
    if (p->proto != IPPROTO_TCP_ || (dir != FLOW_TOSERVER && dir != FLOW_TOCLIENT))
        return;
    uint8_t fl = p->tcp_flags;
    uint32_t seq = p->tcp_seq + ((fl & TH_SYN) ? 1u : 0u);
    uint32_t len = p->payload != NULL ? p->payload_len : 0;
    struct reasm_stream *s = f->stream[dir];
    if (len > 0 && len < REASM_MAX_SEG) {
        r->st.segments++;
        s = stream_get(r, f, dir, seq);
        if (s != NULL)
            stream_data(r, f, dir, s, seq, p->payload, len);
    }
    if ((fl & TH_FIN) && s != NULL && !(s->flags & RS_FIN)) {
        s->flags |= RS_FIN;
        s->fin_seq = seq + len;
    }
    if (fl & TH_RST) {
        for (int d = 0; d < 2; d++) {
            if (f->stream[d] != NULL) {
                flush_stream(r, f, d, f->stream[d]);
                f->stream[d]->flags |= RS_DONE;
            }
        }
    }
}

void reasm_flow_end(struct reasm *r, struct flow *f)
{
    for (int d = 0; d < 2; d++) {
        struct reasm_stream *s = f->stream[d];
        if (s == NULL)
            continue;
        flush_stream(r, f, d, s);
        r->st.mem_in_use -= sizeof(*s);
        xfree(s);
        f->stream[d] = NULL;
    }
}
