/*
 * TCP stream reassembly (policy in reasm.h and docs/internals/flow.md).
 *
 * Each direction of a flow has, once it carried payload, a struct reasm_stream:
 * the sequence number of the next byte to deliver (`base`), the stream offset
 * passed so far, and a sorted singly linked list of non-overlapping buffered
 * segments that all end after `base` (only the head may start at or before it:
 * data waiting for its ACK, possibly partly delivered). Data that may be delivered
 * now (in order, and acknowledged by the other side in ack mode) goes to the
 * deliver callback straight from the packet; everything else is copied.
 * Sequence comparisons are serial-number arithmetic on uint32_t.
 */
#include "flow/reasm.h"

#include <string.h>

#include "otasuke/alloc.h"

#define IPPROTO_TCP_  6
#define REASM_MAX_SEG (1u << 30) /* longer payloads are nonsense; ignored */

#define RS_FIN    0x01 /* fin_seq is valid */
#define RS_DONE   0x02 /* nothing more is delivered: depth, RST */
#define RS_ACKED  0x04 /* ack is valid */
#define RS_NOBASE 0x08 /* created by an ACK before any data and without a SYN: base unset */
#define RS_FLUSH  0x10 /* deliver regardless of the ACK (flow end, a limit forces it) */
#define RS_CLOSED 0x20 /* ack mode, after a RST: new data refused, buffered data kept */

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
    uint32_t ack; /* highest ACK number the other direction sent (RS_ACKED) */
    uint32_t ooo_n;
    uint32_t ooo_bytes;
    uint8_t flags;
};

/* Out-of-order segments are mostly one full-sized TCP payload (~1.4 KiB), above
 * glibc's per-thread cache (1,032 bytes), so each malloc/free went through the bins
 * (glibc's allocator was ~8% of the sensor's CPU, these the most frequent blocks).
 * Blocks of SEG_POOL_SIZE bytes for segments between SEG_POOL_MIN and SEG_POOL_SIZE
 * bytes (at most 2x their size; smaller ones stay on the cache) are kept on a LIFO
 * list when freed, at most SEG_POOL_MAX of them, and reused while still in the CPU's
 * cache. r->st.mem_in_use (and the reassembly memcap) still counts each segment's own
 * size; MEM_REASM counts whole blocks, the idle ones too, until reasm_free. */
#define SEG_POOL_SIZE 2048u
#define SEG_POOL_MIN  1024u
/* Under AddressSanitizer the pool is off, so a use after free is still caught. */
#define SEG_POOL_MAX  256u
#if defined(__SANITIZE_ADDRESS__)
#define SEG_POOL_ON false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SEG_POOL_ON false
#endif
#endif
#ifndef SEG_POOL_ON
#define SEG_POOL_ON true
#endif

struct reasm {
    struct reasm_conf conf;
    struct reasm_seg *pool; /* idle SEG_POOL_SIZE blocks, linked by next */
    uint32_t pool_n;
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
    c->ack_delivery = true;
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
    if (r == NULL)
        return;
    while (r->pool != NULL) {
        struct reasm_seg *g = r->pool;
        r->pool = g->next;
        xfree(g);
    }
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

static bool seg_pooled(size_t size)
{
    return SEG_POOL_ON && size > SEG_POOL_MIN && size <= SEG_POOL_SIZE;
}

/* A segment block for n bytes of data: from the pool when its size class fits. */
static struct reasm_seg *seg_alloc(struct reasm *r, uint32_t n)
{
    size_t size = sizeof(struct reasm_seg) + n;
    if (!seg_pooled(size))
        return xalloc(MEM_REASM, size);
    struct reasm_seg *g = r->pool;
    if (g != NULL) {
        r->pool = g->next;
        r->pool_n--;
        return g;
    }
    return xalloc(MEM_REASM, SEG_POOL_SIZE);
}

static void seg_free(struct reasm *r, struct reasm_seg *g)
{
    size_t size = sizeof(*g) + g->len;
    r->st.mem_in_use -= size;
    if (seg_pooled(size) && r->pool_n < SEG_POOL_MAX) {
        g->next = r->pool;
        r->pool = g;
        r->pool_n++;
        return;
    }
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

/* Bytes past s->base that may be delivered now: all of them in arrival mode, when
 * flushing, or while no packet of the other direction was seen (a one-sided
 * capture); else those the other direction acknowledged. */
static uint32_t allowed(const struct reasm *r, const struct flow *f, int dir,
                        const struct reasm_stream *s)
{
    if (!r->conf.ack_delivery || (s->flags & RS_FLUSH) || f->pkts[!dir] == 0)
        return UINT32_MAX;
    if ((s->flags & RS_ACKED) && seq_gt(s->ack, s->base))
        return s->ack - s->base;
    return 0;
}

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

/* Delivers what is allowed of the head segment when it is contiguous with s->base.
 * The head may be delivered in part (an ACK inside it); it then stays buffered.
 * True when all of it went out. */
static bool drain_one(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s)
{
    struct reasm_seg *g = s->ooo;
    if ((s->flags & RS_DONE) || g == NULL || seq_gt(g->seq, s->base))
        return false;
    uint32_t end = g->seq + g->len;
    if (seq_leq(end, s->base)) { /* cannot happen: buffered data ends after base */
        seg_free(r, pop_head(s));
        return true;
    }
    uint32_t a = allowed(r, f, dir, s);
    uint32_t skip = s->base - g->seq;
    uint32_t avail = end - s->base;
    if (a < avail) {
        emit(r, f, dir, s, g->data + skip, a); /* at the depth the buffer (g too) is freed */
        return false;
    }
    pop_head(s); /* popped first: emit frees the buffer at the depth */
    emit(r, f, dir, s, g->data + skip, avail);
    seg_free(r, g);
    return true;
}

/* Delivers buffered data as long as it is contiguous with s->base and allowed. */
static void drain(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s)
{
    while (drain_one(r, f, dir, s)) {
    }
}

/* Gives up the hole before the first buffered segment and delivers from there. */
static void force_gap(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s)
{
    if (seq_gt(s->ooo->seq, s->base))
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

/* New data [*seq, *seq + *len) with *seq == s->base: delivers from the packet what
 * is allowed (buffered bytes win where they overlap it) and advances *seq, *data
 * and *len past what was delivered or found buffered; the rest is for the buffer. */
static void in_order(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s,
                     uint32_t *seq, const uint8_t **data, uint32_t *len)
{
    unsigned ovf = 0;
    while (*len > 0 && !(s->flags & RS_DONE) && *seq == s->base) {
        struct reasm_seg *g = s->ooo;
        if (g != NULL && seq_leq(g->seq, s->base)) {
            /* buffered data at base (it waits for its ACK): it wins over the new bytes */
            uint32_t off = s->base - g->seq;
            uint32_t ov = min_u32(*len, g->len - off);
            note_overlap(&ovf, g->data + off, *data, ov);
            *data += ov;
            *len -= ov;
            *seq += ov;
            if (!drain_one(r, f, dir, s))
                break; /* g waits: what follows it is for the buffer */
            continue;
        }
        uint32_t n = min_u32(*len, allowed(r, f, dir, s));
        if (g != NULL)
            n = min_u32(n, g->seq - s->base);
        if (n == 0)
            break;
        emit(r, f, dir, s, *data, n);
        *data += n;
        *len -= n;
        *seq += n;
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
                struct reasm_seg *ng = seg_alloc(r, n);
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

/* A limit says no to buffering [seq, ...): delivers the oldest waiting data at base
 * regardless of the ACK (buffered head or the new data itself), or, when the data at
 * base is missing, gives up the hole before the next data. */
static void make_room(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s,
                      uint32_t *seq, const uint8_t **data, uint32_t *len)
{
    struct reasm_seg *g = s->ooo;
    uint64_t before = s->offset;
    if ((g != NULL && seq_leq(g->seq, s->base)) || *seq == s->base) {
        s->flags |= RS_FLUSH;
        if (g != NULL && seq_leq(g->seq, s->base))
            drain_one(r, f, dir, s); /* the oldest buffered piece */
        else
            in_order(r, f, dir, s, seq, data, len); /* the new data is the oldest */
        s->flags &= (uint8_t)~RS_FLUSH;
        r->st.unacked_forced++;
        r->st.unacked_forced_bytes += s->offset - before;
        return;
    }
    if (g != NULL)
        force_gap(r, f, dir, s);
    else
        skip_gap(r, f, dir, s, *seq - s->base);
}

/* Data that may not be delivered now: buffer it, making room while limits say no. */
static void buffer_data(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s,
                        uint32_t seq, const uint8_t *data, uint32_t len)
{
    bool counted = false;
    while (len > 0 && !(s->flags & RS_DONE)) {
        if (seq_lt(seq, s->base)) { /* room was made past the start of the new data */
            uint32_t skip = s->base - seq;
            if (skip >= len)
                return;
            seq += skip;
            data += skip;
            len -= skip;
        }
        if (seq == s->base) {
            in_order(r, f, dir, s, &seq, &data, &len);
            if (len == 0 || (s->flags & RS_DONE))
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
        make_room(r, f, dir, s, &seq, &data, &len);
    }
}

/* ---- entry points ------------------------------------------------------- */

static struct reasm_stream *stream_new(struct reasm *r, struct flow *f, int dir)
{
    struct reasm_stream *s;
    uint8_t off = dir == FLOW_TOSERVER ? FLOW_F_REASM_OFF_TS : FLOW_F_REASM_OFF_TC;
    if (f->flags & off)
        return NULL;
    if (r->st.mem_in_use + sizeof(*s) > r->conf.memcap ||
        (s = xalloc(MEM_REASM, sizeof(*s))) == NULL) {
        r->st.memcap_drops++;
        f->flags |= off;
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    r->st.mem_in_use += sizeof(*s);
    r->st.streams++;
    f->stream[dir] = s;
    return s;
}

/* The stream of direction dir for data starting at seq (the first data sets the
 * start unless the SYN did). */
static struct reasm_stream *stream_get(struct reasm *r, struct flow *f, int dir, uint32_t seq)
{
    struct reasm_stream *s = f->stream[dir];
    uint8_t syn = dir == FLOW_TOSERVER ? FLOW_F_SYN_TS : FLOW_F_SYN_TC;
    if (s == NULL) {
        s = stream_new(r, f, dir);
        if (s == NULL)
            return NULL;
        s->flags |= RS_NOBASE;
    }
    if (s->flags & RS_NOBASE) {
        s->base = (f->flags & syn) ? f->tcp_isn[dir] + 1 : seq;
        s->flags &= (uint8_t)~RS_NOBASE;
    }
    return s;
}

/* The other direction acknowledged direction dir's data up to ack: deliver it. An
 * ACK that arrives before any data of dir is kept only when it says something (the
 * direction was seen and the ACK is past its SYN). */
static void ack_update(struct reasm *r, struct flow *f, int dir, uint32_t ack)
{
    struct reasm_stream *s = f->stream[dir];
    if (s == NULL) {
        uint8_t syn = dir == FLOW_TOSERVER ? FLOW_F_SYN_TS : FLOW_F_SYN_TC;
        if (f->pkts[dir] == 0 || ((f->flags & syn) && seq_leq(ack, f->tcp_isn[dir] + 1)))
            return;
        s = stream_new(r, f, dir);
        if (s == NULL)
            return;
        s->flags |= RS_NOBASE;
    }
    if ((s->flags & RS_ACKED) && seq_leq(ack, s->ack))
        return;
    s->ack = ack;
    s->flags |= RS_ACKED;
    if (s->ooo != NULL && !(s->flags & RS_NOBASE))
        drain(r, f, dir, s);
}

static void stream_data(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s,
                        uint32_t seq, const uint8_t *data, uint32_t len)
{
    if (s->flags & (RS_DONE | RS_CLOSED))
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
    if (seq_lt(seq, s->base)) { /* delivered bytes are not looked at again */
        uint32_t skip = s->base - seq;
        seq += skip;
        data += skip;
        len -= skip;
    }
    if (seq == s->base)
        in_order(r, f, dir, s, &seq, &data, &len);
    if (len > 0)
        buffer_data(r, f, dir, s, seq, data, len);
}

/* Delivers everything buffered, giving up the holes between. */
static void flush_stream(struct reasm *r, struct flow *f, int dir, struct reasm_stream *s)
{
    s->flags |= RS_FLUSH;
    while (s->ooo != NULL && !(s->flags & RS_DONE))
        force_gap(r, f, dir, s);
    s->flags &= (uint8_t)~RS_FLUSH;
    free_ooo(r, s);
}

void reasm_packet(struct reasm *r, struct flow *f, int dir, const struct pkt *p)
{
    if (p->proto != IPPROTO_TCP_ || (dir != FLOW_TOSERVER && dir != FLOW_TOCLIENT))
        return;
    uint8_t fl = p->tcp_flags;
    uint32_t seq = p->tcp_seq + ((fl & TH_SYN) ? 1u : 0u);
    uint32_t len = p->payload != NULL ? p->payload_len : 0;
    /* as Suricata in IDS mode: the ACK first, it may deliver the other direction's
     * data (with this packet as the current one), then this packet's data */
    if (r->conf.ack_delivery && (fl & TH_ACK))
        ack_update(r, f, !dir, p->tcp_ack);
    struct reasm_stream *s = f->stream[dir];
    if (len > 0 && len < REASM_MAX_SEG) {
        r->st.segments++;
        s = stream_get(r, f, dir, seq);
        if (s != NULL)
            stream_data(r, f, dir, s, seq, p->payload, len);
    }
    if ((fl & TH_FIN) && s != NULL && !(s->flags & (RS_FIN | RS_NOBASE))) {
        s->flags |= RS_FIN;
        s->fin_seq = seq + len;
    }
    if (fl & TH_RST) {
        for (int d = 0; d < 2; d++) {
            struct reasm_stream *x = f->stream[d];
            if (x == NULL)
                continue;
            if (r->conf.ack_delivery) {
                x->flags |= RS_CLOSED; /* buffered data waits for the flow's end */
            } else {
                flush_stream(r, f, d, x);
                x->flags |= RS_DONE;
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
