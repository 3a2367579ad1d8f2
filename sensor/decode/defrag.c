/*
 * IPv4 and IPv6 fragment reassembly.
 *
 * A tracker per datagram, keyed by (ip version, src, dst, id, IPv4 protocol, VLAN
 * ids) in a siphash-keyed table, holds a sorted list of non-overlapping pieces.
 * Overlap policy: the first data received for a byte wins ("first"): a new fragment
 * is trimmed to the holes it fills, and any overlap (duplicates included) counts
 * ipv4.frag_overlap / ipv6.frag_overlap. The datagram is complete when the last
 * fragment (MF=0) has fixed its length, the first (offset 0) has given the header,
 * and the pieces cover every byte. It is then rebuilt in d->reasm, valid until the
 * next decode_packet() call.
 *
 * Limits, each with an event: defrag_memcap bytes (plus the MEM_DEFRAG cap) over all
 * trackers (defrag.memcap: the datagram being added to is dropped), max_trackers at
 * once (defrag.max_trackers: new datagrams are refused, existing ones are kept),
 * max_frags pieces per datagram (defrag.max_frags: the datagram is dropped), 65535
 * bytes per datagram (ipv4/ipv6.frag_pkt_too_large) and the timeout counted from the
 * first fragment (defrag.timeout).
 */
#include <string.h>

#include "decode/decode_int.h"
#include "otasuke/alloc.h"

struct frag_piece {
    struct frag_piece *next;
    uint32_t off;
    uint32_t len;
    uint8_t data[];
};

struct frag_key {
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;
    uint16_t vlan[PKT_MAX_VLAN]; /* 3 ids: 44 bytes, no padding (memcmp'd as a whole) */
    uint8_t ipver;
    uint8_t proto;
};

struct defrag_tracker {
    struct frag_key key;
    struct defrag_tracker *hnext;
    struct defrag_tracker *lprev, *lnext;
    uint32_t bucket;
    uint64_t first_ts;
    uint8_t *hdr;     /* unfragmentable part of the offset-0 fragment */
    uint32_t hdr_len;
    uint32_t nh_off;
    uint8_t nh;
    bool have_last;
    uint32_t total;   /* data length, known once have_last */
    uint32_t max_end; /* highest data byte + 1 received */
    uint32_t covered; /* bytes held in pieces (they never overlap) */
    uint32_t npieces;
    uint64_t mem;     /* bytes charged to d->defrag_bytes */
    struct frag_piece *pieces;
};

static void *defrag_alloc(struct decoder *d, struct defrag_tracker *t, size_t n)
{
    if (d->defrag_bytes + n > d->conf.defrag_memcap)
        return NULL;
    void *m = xalloc(MEM_DEFRAG, n);
    if (m == NULL)
        return NULL;
    d->defrag_bytes += n;
    if (t != NULL)
        t->mem += n;
    return m;
}

int defrag_init(struct decoder *d)
{
    uint32_t n = 16;
    while (n < d->conf.defrag_max_trackers && n < (1u << 16))
        n <<= 1;
    d->nbuckets = n;
    /* buckets is an array of tracker pointers: one pointer per bucket is wanted. */
    d->buckets = xcalloc(MEM_DECODE, n, sizeof(*d->buckets)); // NOLINT(bugprone-sizeof-expression)
    d->reasm = xalloc(MEM_DECODE, DEFRAG_BUF_SIZE);
    if (d->buckets == NULL || d->reasm == NULL)
        return -1;
    hash_key_random(&d->hkey);
    return 0;
}

static void tracker_free(struct decoder *d, struct defrag_tracker *t)
{
    struct defrag_tracker **pp = &d->buckets[t->bucket];
    while (*pp != t)
        pp = &(*pp)->hnext;
    *pp = t->hnext;
    if (t->lprev)
        t->lprev->lnext = t->lnext;
    else
        d->lru_head = t->lnext;
    if (t->lnext)
        t->lnext->lprev = t->lprev;
    else
        d->lru_tail = t->lprev;
    struct frag_piece *q = t->pieces;
    while (q != NULL) {
        struct frag_piece *nx = q->next;
        xfree(q);
        q = nx;
    }
    xfree(t->hdr);
    d->defrag_bytes -= t->mem + sizeof(*t);
    d->ntrackers--;
    xfree(t);
}

void defrag_fini(struct decoder *d)
{
    if (d->buckets != NULL) {
        while (d->lru_head != NULL)
            tracker_free(d, d->lru_head);
    }
    xfree(d->buckets);
    xfree(d->reasm);
}

static bool expired(const struct decoder *d, const struct defrag_tracker *t, uint64_t now)
{
    return now >= t->first_ts && now - t->first_ts >= d->conf.defrag_timeout_us;
}

void decoder_expire(struct decoder *d, uint64_t now_us)
{
    struct defrag_tracker *t = d->lru_head;
    while (t != NULL) {
        struct defrag_tracker *nx = t->lnext;
        if (expired(d, t, now_us)) {
            d->st.ev[DECODE_EV_DEFRAG_TIMEOUT]++;
            tracker_free(d, t);
        }
        t = nx;
    }
}

uint32_t decoder_defrag_trackers(const struct decoder *d)
{
    return d->ntrackers;
}

uint64_t decoder_defrag_bytes(const struct decoder *d)
{
    return d->defrag_bytes;
}

static struct defrag_tracker *tracker_get(struct dctx *c, const struct frag_in *f,
                                          enum decode_rc *rc)
{
    struct decoder *d = c->d;
    struct frag_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.src, c->p->src.b, 16);
    memcpy(k.dst, c->p->dst.b, 16);
    k.id = f->id;
    memcpy(k.vlan, c->p->vlan, sizeof(k.vlan));
    k.ipver = f->ipver;
    k.proto = f->ipver == 4 ? f->proto : 0;

    /* The oldest trackers first: ts is mostly monotonic, so the head is the oldest. */
    while (d->lru_head != NULL && expired(d, d->lru_head, d->now_us)) {
        d->st.ev[DECODE_EV_DEFRAG_TIMEOUT]++;
        tracker_free(d, d->lru_head);
    }
    uint32_t b = (uint32_t)siphash24(&d->hkey, &k, sizeof(k)) & (d->nbuckets - 1);
    struct defrag_tracker *t;
    for (t = d->buckets[b]; t != NULL; t = t->hnext) {
        if (memcmp(&t->key, &k, sizeof(k)) == 0)
            break;
    }
    if (t != NULL && expired(d, t, d->now_us)) {
        d->st.ev[DECODE_EV_DEFRAG_TIMEOUT]++;
        tracker_free(d, t);
        t = NULL;
    }
    if (t != NULL)
        return t;
    if (d->ntrackers >= d->conf.defrag_max_trackers) {
        *rc = dec_event(d, DECODE_EV_DEFRAG_MAX_TRACKERS);
        return NULL;
    }
    t = defrag_alloc(d, NULL, sizeof(*t));
    if (t == NULL) {
        *rc = dec_event(d, DECODE_EV_DEFRAG_MEMCAP);
        return NULL;
    }
    memset(t, 0, sizeof(*t));
    t->key = k;
    t->bucket = b;
    t->first_ts = d->now_us;
    t->hnext = d->buckets[b];
    d->buckets[b] = t;
    t->lprev = d->lru_tail;
    if (d->lru_tail)
        d->lru_tail->lnext = t;
    else
        d->lru_head = t;
    d->lru_tail = t;
    d->ntrackers++;
    return t;
}

/* Stores the parts of [f->off, f->off + f->len) no piece holds yet. Returns 0, or the
 * event that makes the whole datagram be dropped. *overlap tells whether any byte
 * was already held. */
static enum decode_ev insert_pieces(struct decoder *d, struct defrag_tracker *t,
                                    const struct frag_in *f, bool *overlap)
{
    uint32_t cur = f->off, end = f->off + f->len;
    struct frag_piece **pp = &t->pieces;
    while (cur < end) {
        struct frag_piece *q = *pp;
        if (q != NULL && q->off + q->len <= cur) {
            pp = &q->next;
            continue;
        }
        if (q != NULL && q->off <= cur) { /* q holds cur: first wins */
            *overlap = true;
            cur = q->off + q->len;
            pp = &q->next;
            continue;
        }
        uint32_t stop = (q != NULL && q->off < end) ? q->off : end;
        if (t->npieces >= d->conf.defrag_max_frags)
            return DECODE_EV_DEFRAG_MAX_FRAGS;
        struct frag_piece *n = defrag_alloc(d, t, sizeof(*n) + (stop - cur));
        if (n == NULL)
            return DECODE_EV_DEFRAG_MEMCAP;
        n->off = cur;
        n->len = stop - cur;
        memcpy(n->data, f->data + (cur - f->off), n->len);
        n->next = q;
        *pp = n;
        pp = &n->next;
        t->npieces++;
        t->covered += n->len;
        cur = stop;
    }
    return DECODE_EV_NONE;
}

/* Rebuilds the datagram in d->reasm: header of the first fragment with its length
 * fields fixed (IPv4 checksum not recomputed), then the data. */
static uint32_t rebuild(struct decoder *d, const struct defrag_tracker *t)
{
    uint8_t *b = d->reasm;
    memcpy(b, t->hdr, t->hdr_len);
    for (const struct frag_piece *q = t->pieces; q != NULL; q = q->next)
        memcpy(b + t->hdr_len + q->off, q->data, q->len);
    uint32_t len = t->hdr_len + t->total;
    if (t->key.ipver == 4) {
        b[2] = (uint8_t)(len >> 8);
        b[3] = (uint8_t)len;
        b[6] = 0; /* flags and fragment offset */
        b[7] = 0;
    } else {
        uint32_t plen = len - 40;
        b[4] = (uint8_t)(plen >> 8);
        b[5] = (uint8_t)plen;
        b[t->nh_off] = t->nh;
    }
    return len;
}

static enum decode_rc drop(struct decoder *d, struct defrag_tracker *t, enum decode_ev ev)
{
    tracker_free(d, t);
    return dec_event(d, ev);
}

enum decode_rc defrag_add(struct dctx *c, const struct frag_in *f, const uint8_t **out,
                          uint32_t *out_len)
{
    struct decoder *d = c->d;
    enum decode_rc rc = DECODE_BAD;
    struct defrag_tracker *t = tracker_get(c, f, &rc);
    if (t == NULL)
        return rc;
    uint32_t end = f->off + f->len;
    /* A fragment that disagrees with the known end of the datagram is discarded. */
    if ((t->have_last && end > t->total) ||
        (!f->more && (t->have_last ? end != t->total : t->max_end > end)))
        return dec_event(d, DECODE_EV_DEFRAG_LEN_MISMATCH);
    if (!f->more) {
        t->have_last = true;
        t->total = end;
    }
    if (end > t->max_end)
        t->max_end = end;
    if (f->off == 0 && t->hdr == NULL) {
        t->hdr = defrag_alloc(d, t, f->hdr_len);
        if (t->hdr == NULL)
            return drop(d, t, DECODE_EV_DEFRAG_MEMCAP);
        memcpy(t->hdr, f->hdr, f->hdr_len);
        t->hdr_len = f->hdr_len;
        t->nh_off = f->nh_off;
        t->nh = f->proto;
    }
    bool overlap = false;
    enum decode_ev ev = insert_pieces(d, t, f, &overlap);
    if (ev != DECODE_EV_NONE)
        return drop(d, t, ev);
    if (overlap)
        dec_note(d, f->ipver == 4 ? DECODE_EV_IPV4_FRAG_OVERLAP : DECODE_EV_IPV6_FRAG_OVERLAP);
    if (!t->have_last || t->hdr == NULL || t->covered != t->total)
        return DECODE_HELD;
    uint32_t limit = f->ipver == 4 ? DEFRAG_MAX_DGRAM : DEFRAG_MAX_DGRAM + 40;
    if (t->hdr_len + t->total > limit)
        return drop(d, t, f->ipver == 4 ? DECODE_EV_IPV4_FRAG_PKT_TOO_LARGE
                                        : DECODE_EV_IPV6_FRAG_PKT_TOO_LARGE);
    *out = d->reasm;
    *out_len = rebuild(d, t);
    tracker_free(d, t);
    return DECODE_OK;
}
