/*
 * Flow table: chained hash table of struct flow plus one LRU list per timeout
 * class, all in packet time.
 *
 * Invariants:
 *  - every live flow is in exactly one bucket chain and in exactly one LRU list,
 *    the one of its timeout class (f->lru); within a list, flows are in order of
 *    their last packet (ts_last non-decreasing as long as packet time is), so
 *    expiry looks only at list heads and eviction takes the oldest head: O(1) per
 *    ended flow;
 *  - mem_in_use == bucket array + active * sizeof(struct flow) <= memcap;
 *  - t->now never decreases (the latest packet time seen).
 */
#include "flow/flow.h"

#include <string.h>

#include "otasuke/alloc.h"
#include "otasuke/hash.h"

#define USEC 1000000ULL

#define IPPROTO_ICMP_   1
#define IPPROTO_TCP_    6
#define IPPROTO_UDP_    17
#define IPPROTO_ICMPV6_ 58

enum lru_class {
    LRU_TCP_NEW,
    LRU_TCP_EST,
    LRU_TCP_CLOSED,
    LRU_UDP_NEW,
    LRU_UDP_EST,
    LRU_ICMP,
    LRU_OTHER,
    LRU_COUNT
};

struct lru_list {
    struct flow *head, *tail;
};

struct flow_table {
    struct flow_conf conf;
    struct flow **buckets;
    uint32_t mask;
    struct hash_key bkey;
    struct lru_list lru[LRU_COUNT];
    uint64_t tmo[LRU_COUNT];
    uint64_t emerg_tmo[LRU_COUNT];
    uint64_t now;
    uint64_t last_expire_sec;
    uint64_t bucket_bytes;
    struct flow_stats st;
    void (*on_end)(struct flow *, enum flow_end_reason, void *);
    void *ud;
};

/* The tuple in canonical order (lower address/port first), hashed for both the
 * bucket and the flow id. Padding is zeroed so the bytes are deterministic. */
struct norm_key {
    struct addr a, b;
    uint16_t pa, pb;
    uint16_t vlan[2];
    uint8_t proto;
    uint8_t icmp_echo;
    uint16_t vlan3; /* the third VLAN id took two bytes of the padding: the bytes, and so
                       the flow ids, of flows with fewer tags did not change */
    uint8_t pad_[4];
};

/* Fixed key for flow ids: ids must not depend on the random bucket key. */
static const struct hash_key flow_id_key = {0x6f7461737566696cULL, 0x6f772d6964732121ULL};

void flow_conf_defaults(struct flow_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->memcap = 128ULL << 20;
    c->hash_size = 65536;
    c->timeout_tcp_new = 60 * USEC;
    c->timeout_tcp_established = 600 * USEC;
    c->timeout_tcp_closed = 60 * USEC;
    c->timeout_udp_new = 30 * USEC;
    c->timeout_udp_established = 300 * USEC;
    c->timeout_icmp = 30 * USEC;
    c->timeout_other = 30 * USEC;
    c->emerg_timeout_tcp_new = 5 * USEC;
    c->emerg_timeout_tcp_established = 100 * USEC;
    c->emerg_timeout_tcp_closed = 10 * USEC;
    c->emerg_timeout_udp = 10 * USEC;
    c->emerg_timeout_icmp = 10 * USEC;
    c->emerg_timeout_other = 10 * USEC;
    c->emerg_recovery_pct = 30;
    c->random_hash_key = true;
    c->tcp_reuse_new_flow = true;
}

static void set_timeouts(struct flow_table *t)
{
    const struct flow_conf *c = &t->conf;
    t->tmo[LRU_TCP_NEW] = c->timeout_tcp_new;
    t->tmo[LRU_TCP_EST] = c->timeout_tcp_established;
    t->tmo[LRU_TCP_CLOSED] = c->timeout_tcp_closed;
    t->tmo[LRU_UDP_NEW] = c->timeout_udp_new;
    t->tmo[LRU_UDP_EST] = c->timeout_udp_established;
    t->tmo[LRU_ICMP] = c->timeout_icmp;
    t->tmo[LRU_OTHER] = c->timeout_other;
    t->emerg_tmo[LRU_TCP_NEW] = c->emerg_timeout_tcp_new;
    t->emerg_tmo[LRU_TCP_EST] = c->emerg_timeout_tcp_established;
    t->emerg_tmo[LRU_TCP_CLOSED] = c->emerg_timeout_tcp_closed;
    t->emerg_tmo[LRU_UDP_NEW] = c->emerg_timeout_udp;
    t->emerg_tmo[LRU_UDP_EST] = c->emerg_timeout_udp;
    t->emerg_tmo[LRU_ICMP] = c->emerg_timeout_icmp;
    t->emerg_tmo[LRU_OTHER] = c->emerg_timeout_other;
}

struct flow_table *flow_table_new(const struct flow_conf *c,
                                  void (*on_end)(struct flow *, enum flow_end_reason, void *),
                                  void *ud)
{
    if (c == NULL || on_end == NULL || c->emerg_recovery_pct > 100)
        return NULL;
    uint32_t n = 16;
    while (n < c->hash_size && n < (1u << 26))
        n <<= 1;
    uint64_t bucket_bytes = (uint64_t)n * sizeof(struct flow *);
    if (c->memcap < bucket_bytes + sizeof(struct flow))
        return NULL;
    struct flow_table *t = xcalloc(MEM_FLOW, 1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->buckets = xcalloc(MEM_FLOW, n, sizeof(struct flow *));
    if (t->buckets == NULL) {
        xfree(t);
        return NULL;
    }
    t->conf = *c;
    t->mask = n - 1;
    t->bucket_bytes = bucket_bytes;
    t->st.mem_in_use = bucket_bytes;
    if (c->random_hash_key) {
        hash_key_random(&t->bkey);
    } else {
        t->bkey.k0 = c->hash_key[0];
        t->bkey.k1 = c->hash_key[1];
    }
    set_timeouts(t);
    t->on_end = on_end;
    t->ud = ud;
    return t;
}

void flow_table_free(struct flow_table *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < LRU_COUNT; i++) {
        struct flow *f = t->lru[i].head;
        while (f != NULL) {
            struct flow *next = f->lnext;
            xfree(f);
            f = next;
        }
    }
    xfree(t->buckets);
    xfree(t);
}

/* ---- LRU lists ---------------------------------------------------------- */

static void lru_unlink(struct flow_table *t, struct flow *f)
{
    struct lru_list *l = &t->lru[f->lru];
    if (f->lprev != NULL)
        f->lprev->lnext = f->lnext;
    else
        l->head = f->lnext;
    if (f->lnext != NULL)
        f->lnext->lprev = f->lprev;
    else
        l->tail = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void lru_append(struct flow_table *t, struct flow *f, uint8_t cls)
{
    struct lru_list *l = &t->lru[cls];
    f->lru = cls;
    f->lnext = NULL;
    f->lprev = l->tail;
    if (l->tail != NULL)
        l->tail->lnext = f;
    else
        l->head = f;
    l->tail = f;
}

static uint8_t flow_class(const struct flow *f)
{
    switch (f->key.proto) {
    case IPPROTO_TCP_:
        if (f->tcp_state >= FLOW_TCP_LAST_ACK) /* Suricata's closed flow states */
            return LRU_TCP_CLOSED;
        if (f->tcp_state >= FLOW_TCP_ESTABLISHED)
            return LRU_TCP_EST;
        return LRU_TCP_NEW;
    case IPPROTO_UDP_:
        return f->pkts[FLOW_TOCLIENT] != 0 ? LRU_UDP_EST : LRU_UDP_NEW;
    case IPPROTO_ICMP_:
    case IPPROTO_ICMPV6_:
        return LRU_ICMP;
    default:
        return LRU_OTHER;
    }
}

/* Moves f to the tail of its (possibly new) class list. */
static inline void lru_touch(struct flow_table *t, struct flow *f)
{
    uint8_t cls = flow_class(f);
    if (cls == f->lru && t->lru[cls].tail == f)
        return;
    lru_unlink(t, f);
    lru_append(t, f, cls);
}

static inline uint64_t class_timeout(const struct flow_table *t, int cls)
{
    return t->st.emergency ? t->emerg_tmo[cls] : t->tmo[cls];
}

/* ---- ending flows ------------------------------------------------------- */

static void hash_unlink(struct flow_table *t, struct flow *f)
{
    struct flow **pp = &t->buckets[f->hash & t->mask];
    while (*pp != NULL && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp == f)
        *pp = f->hnext;
    f->hnext = NULL;
}

static void maybe_leave_emergency(struct flow_table *t)
{
    if (t->st.emergency &&
        t->st.mem_in_use * 100 < t->conf.memcap * (uint64_t)t->conf.emerg_recovery_pct) {
        t->st.emergency = false;
        t->st.emergency_left++;
    }
}

static void end_flow(struct flow_table *t, struct flow *f, enum flow_end_reason why)
{
    hash_unlink(t, f);
    lru_unlink(t, f);
    f->end_reason = (uint8_t)why;
    switch (why) {
    case FLOW_END_TIMEOUT:
        t->st.ended_timeout++;
        break;
    case FLOW_END_FORCED:
        t->st.ended_forced++;
        t->st.evictions++;
        break;
    case FLOW_END_SHUTDOWN:
        t->st.ended_shutdown++;
        break;
    case FLOW_END_TCP_REUSE:
        t->st.ended_tcp_reuse++;
        break;
    }
    t->on_end(f, why, t->ud);
    xfree(f);
    t->st.active--;
    t->st.mem_in_use -= sizeof(struct flow);
    maybe_leave_emergency(t);
}

static void expire_all(struct flow_table *t, uint64_t now)
{
    for (int c = 0; c < LRU_COUNT; c++) {
        uint64_t tmo = class_timeout(t, c);
        struct flow *f;
        while ((f = t->lru[c].head) != NULL && now > f->ts_last && now - f->ts_last > tmo)
            end_flow(t, f, FLOW_END_TIMEOUT);
        /* entering or leaving emergency changes tmo; a later pass catches up */
    }
}

void flow_table_expire(struct flow_table *t, uint64_t now_us)
{
    if (now_us > t->now)
        t->now = now_us;
    uint64_t sec = now_us / USEC;
    if (sec == t->last_expire_sec)
        return;
    t->last_expire_sec = sec;
    expire_all(t, now_us);
}

/* The least recently active flow over all lists; ties go to the lower flow id. */
static struct flow *oldest_head(const struct flow_table *t)
{
    struct flow *best = NULL;
    for (int c = 0; c < LRU_COUNT; c++) {
        struct flow *f = t->lru[c].head;
        if (f != NULL && (best == NULL || f->ts_last < best->ts_last ||
                          (f->ts_last == best->ts_last && f->flow_id < best->flow_id)))
            best = f;
    }
    return best;
}

void flow_table_flush(struct flow_table *t)
{
    struct flow *f;
    while ((f = oldest_head(t)) != NULL)
        end_flow(t, f, FLOW_END_SHUTDOWN);
}

/* Makes room for one more flow: emergency mode, emergency expiry, then eviction
 * of the oldest-idle flow. Returns false when nothing could be freed. */
static bool make_room(struct flow_table *t)
{
    while (t->st.mem_in_use + sizeof(struct flow) > t->conf.memcap) {
        if (!t->st.emergency) {
            t->st.emergency = true;
            t->st.emergency_entered++;
            expire_all(t, t->now);
            continue;
        }
        struct flow *f = oldest_head(t);
        if (f == NULL)
            return false;
        end_flow(t, f, FLOW_END_FORCED);
    }
    return true;
}

/* ---- keys and lookup ---------------------------------------------------- */

static bool icmp_echo_id(const struct pkt *p, uint16_t *id)
{
    bool v6 = p->proto == IPPROTO_ICMPV6_;
    uint8_t req = v6 ? 128 : 8, rep = v6 ? 129 : 0;
    if ((p->icmp_type != req && p->icmp_type != rep) || p->l4 == NULL || p->l4_len < 8)
        return false;
    *id = (uint16_t)(p->l4[4] << 8 | p->l4[5]);
    return true;
}

/* Builds the key of p as seen on the wire (src = sender). */
static void pkt_key(const struct pkt *p, struct flow_key *k)
{
    memset(k, 0, sizeof(*k));
    k->src = p->src;
    k->dst = p->dst;
    k->proto = p->proto;
    for (int i = 0; i < PKT_MAX_VLAN && i < p->vlan_n; i++)
        k->vlan[i] = p->vlan[i];
    switch (p->proto) {
    case IPPROTO_TCP_:
    case IPPROTO_UDP_:
        k->sport = p->sport;
        k->dport = p->dport;
        break;
    case IPPROTO_ICMP_:
    case IPPROTO_ICMPV6_: {
        uint16_t id;
        if (icmp_echo_id(p, &id)) {
            k->icmp_echo = 1;
            k->sport = k->dport = id;
        } else {
            k->sport = k->dport = (uint16_t)(p->icmp_type << 8 | p->icmp_code);
        }
        break;
    }
    default:
        break;
    }
}

static void norm_key(const struct flow_key *k, struct norm_key *n)
{
    memset(n, 0, sizeof(*n));
    int c = memcmp(&k->src, &k->dst, sizeof(k->src));
    bool swap = c > 0 || (c == 0 && k->sport > k->dport);
    n->a = swap ? k->dst : k->src;
    n->b = swap ? k->src : k->dst;
    n->pa = swap ? k->dport : k->sport;
    n->pb = swap ? k->sport : k->dport;
    n->vlan[0] = k->vlan[0];
    n->vlan[1] = k->vlan[1];
    n->vlan3 = k->vlan[2];
    n->proto = k->proto;
    n->icmp_echo = k->icmp_echo;
}

static inline bool addr_eq(const struct addr *a, const struct addr *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

/* Finds the flow of k; *dir receives the direction of k within it. */
static struct flow *lookup(struct flow_table *t, const struct flow_key *k, uint32_t h, int *dir)
{
    for (struct flow *f = t->buckets[h & t->mask]; f != NULL; f = f->hnext) {
        const struct flow_key *fk = &f->key;
        if (f->hash != h || fk->proto != k->proto || fk->icmp_echo != k->icmp_echo ||
            memcmp(fk->vlan, k->vlan, sizeof(k->vlan)) != 0)
            continue;
        if (fk->sport == k->sport && fk->dport == k->dport && addr_eq(&fk->src, &k->src) &&
            addr_eq(&fk->dst, &k->dst)) {
            *dir = FLOW_TOSERVER;
            return f;
        }
        if (fk->sport == k->dport && fk->dport == k->sport && addr_eq(&fk->src, &k->dst) &&
            addr_eq(&fk->dst, &k->src)) {
            *dir = FLOW_TOCLIENT;
            return f;
        }
    }
    return NULL;
}

/* True when the first packet of a flow was sent by its server, as Suricata orients
 * flows: a TCP SYN+ACK; a TCP pickup without SYN from a well-known port (below 1024)
 * to an ephemeral one, which Suricata's probing parsers turn around when they
 * recognise a response (tcp-stream-after-swap); a UDP DNS response from port 53
 * (QR bit set), which Suricata's DNS probe turns around (dns-reversed-udp-1). */
static bool first_from_server(const struct pkt *p)
{
    if (p->proto == IPPROTO_TCP_) {
        if ((p->tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK))
            return true;
        return (p->tcp_flags & TH_SYN) == 0 && p->sport < 1024 && p->dport >= 1024;
    }
    if (p->proto == IPPROTO_UDP_ && p->sport == 53 && p->dport != 53)
        return p->payload != NULL && p->payload_len >= 12 && (p->payload[2] & 0x80) != 0;
    return false;
}

static struct flow *create(struct flow_table *t, const struct flow_key *k,
                           const struct norm_key *nk, uint32_t h, const struct pkt *p, int *dir)
{
    if (!make_room(t)) {
        t->st.memcap_fails++;
        return NULL;
    }
    struct flow *f = xalloc(MEM_FLOW, sizeof(*f));
    if (f == NULL) {
        /* The allocator refused (its MEM_FLOW cap also counts the table's own
         * bookkeeping, or an injected fault): evict the oldest flow and retry once. */
        struct flow *old = oldest_head(t);
        if (old != NULL) {
            end_flow(t, old, FLOW_END_FORCED);
            f = xalloc(MEM_FLOW, sizeof(*f));
        }
    }
    if (f == NULL) {
        t->st.memcap_fails++;
        return NULL;
    }
    memset(f, 0, sizeof(*f));
    f->key = *k;
    *dir = FLOW_TOSERVER;
    bool rev = first_from_server(p);
    if (rev) {
        f->key.src = k->dst;
        f->key.dst = k->src;
        f->key.sport = k->dport;
        f->key.dport = k->sport;
        f->flags |= FLOW_F_REVERSED;
        *dir = FLOW_TOCLIENT;
    }
    if (p->has_eth) { /* the MAC addresses of the first packet, client's first */
        f->has_mac = true;
        memcpy(f->mac[rev ? 1 : 0], p->eth_src, 6);
        memcpy(f->mac[rev ? 0 : 1], p->eth_dst, 6);
    }
    f->hash = h;
    f->ts_start = f->ts_last = p->ts_us;
    f->ipver = p->ipver;
    f->icmp_type = p->icmp_type;
    f->icmp_code = p->icmp_code;
    struct {
        struct norm_key k;
        uint64_t ts;
    } idk;
    memset(&idk, 0, sizeof(idk));
    idk.k = *nk;
    idk.ts = p->ts_us;
    f->flow_id = siphash24(&flow_id_key, &idk, sizeof(idk)) & FLOW_ID_MASK;
    if (f->flow_id == 0)
        f->flow_id = 1;
    f->hnext = t->buckets[h & t->mask];
    t->buckets[h & t->mask] = f;
    lru_append(t, f, flow_class(f));
    t->st.active++;
    t->st.created++;
    t->st.mem_in_use += sizeof(*f);
    return f;
}

/* ---- TCP state ---------------------------------------------------------- */

/* After the first FIN (see enum flow_tcp_state). `dir` sent flags `fl`; the side that
 * sent the first FIN is f->fin_dir. */
static void tcp_closing(struct flow *f, int dir, uint8_t fl)
{
    bool fin = fl & TH_FIN, ack = fl & TH_ACK, other = dir != f->fin_dir;
    switch (f->tcp_state) {
    case FLOW_TCP_FIN_WAIT1: /* the server's FIN */
        if (other && fin)
            f->tcp_state = ack ? FLOW_TCP_TIME_WAIT : FLOW_TCP_CLOSING;
        else if (other && ack)
            f->tcp_state = FLOW_TCP_FIN_WAIT2;
        break;
    case FLOW_TCP_FIN_WAIT2:
        if (other && fin)
            f->tcp_state = FLOW_TCP_TIME_WAIT;
        break;
    case FLOW_TCP_CLOSING:
        if (ack && !fin)
            f->tcp_state = FLOW_TCP_TIME_WAIT;
        break;
    case FLOW_TCP_CLOSE_WAIT: /* the client's FIN */
        if (other && fin)
            f->tcp_state = FLOW_TCP_LAST_ACK;
        break;
    case FLOW_TCP_LAST_ACK: /* both FINs, the client's first: its ACK ends it */
    case FLOW_TCP_TIME_WAIT: /* both FINs, the server's first: its ACK ends it */
        if (ack && !fin && dir == f->fin_dir)
            f->tcp_state = FLOW_TCP_CLOSED;
        break;
    default:
        break;
    }
}

/* Cognitive complexity over 25: to bring down (docs/internals/lint.md). */
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
static void tcp_update(struct flow *f, int dir, const struct pkt *p)
{
    uint8_t fl = p->tcp_flags;
    bool syn = fl & TH_SYN, ack = fl & TH_ACK;
    f->tcp_flags[dir] |= fl;
    if (syn && !ack && dir == FLOW_TOSERVER) {
        f->tcp_isn[0] = p->tcp_seq;
        f->flags |= FLOW_F_SYN_TS;
    } else if (syn && ack && dir == FLOW_TOCLIENT) {
        f->tcp_isn[1] = p->tcp_seq;
        f->flags |= FLOW_F_SYN_TC;
    }
    if (fl & TH_RST) {
        f->tcp_state = FLOW_TCP_CLOSED;
        return;
    }
    switch (f->tcp_state) {
    case FLOW_TCP_NONE:
        if (syn && !ack) {
            f->tcp_state = FLOW_TCP_SYN_SENT;
        } else {
            f->flags |= FLOW_F_MIDSTREAM;
            f->tcp_state = syn ? FLOW_TCP_SYN_RECV : FLOW_TCP_ESTABLISHED;
        }
        break;
    case FLOW_TCP_SYN_SENT:
        if (syn && ack && dir == FLOW_TOCLIENT)
            f->tcp_state = FLOW_TCP_SYN_RECV;
        break;
    case FLOW_TCP_SYN_RECV:
        if (ack && !syn && dir == FLOW_TOSERVER) {
            f->tcp_state = FLOW_TCP_ESTABLISHED;
            f->handshake_seen =
                (f->flags & (FLOW_F_SYN_TS | FLOW_F_SYN_TC)) == (FLOW_F_SYN_TS | FLOW_F_SYN_TC);
        }
        break;
    case FLOW_TCP_ESTABLISHED:
        break;
    default:
        tcp_closing(f, dir, fl);
        return;
    }
    if ((fl & TH_FIN) && f->tcp_state >= FLOW_TCP_SYN_RECV) {
        f->tcp_state = dir == FLOW_TOSERVER ? FLOW_TCP_CLOSE_WAIT : FLOW_TCP_FIN_WAIT1;
        f->fin_dir = (uint8_t)dir;
    }
}

/* A SYN on a TCP flow that FIN or RST already closed starts a new connection. */
static inline bool tcp_reused(const struct flow_table *t, const struct flow *f, const struct pkt *p)
{
    return f->key.proto == IPPROTO_TCP_ && t->conf.tcp_reuse_new_flow &&
           (p->tcp_flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
           f->tcp_state >= FLOW_TCP_FIN_WAIT1;
}

/* The bucket hash of a canonical tuple: SipHash-2-4 with the table's secret key (so
 * buckets cannot be targeted from the wire), over the 48-byte norm_key, or for
 * IPv4 (both addresses v4-mapped, nearly all traffic) over the 20 bytes that
 * differ, which takes 10 SipHash rounds instead of 18. Only buckets depend on it:
 * flow ids hash the full norm_key with their own fixed key. */
static uint32_t bucket_hash(const struct flow_table *t, const struct norm_key *nk)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(nk->a.b, v4mapped, sizeof(v4mapped)) != 0 ||
        memcmp(nk->b.b, v4mapped, sizeof(v4mapped)) != 0)
        return (uint32_t)siphash24(&t->bkey, nk, sizeof(*nk));
    uint8_t c[20];
    memcpy(c, nk->a.b + 12, 4);
    memcpy(c + 4, nk->b.b + 12, 4);
    memcpy(c + 8, &nk->pa, 2);
    memcpy(c + 10, &nk->pb, 2);
    memcpy(c + 12, nk->vlan, 4);
    memcpy(c + 16, &nk->vlan3, 2);
    c[18] = nk->proto;
    c[19] = nk->icmp_echo;
    return (uint32_t)siphash24(&t->bkey, c, sizeof(c));
}

struct flow *flow_table_update(struct flow_table *t, const struct pkt *p, int *dir)
{
    if (p->ipver == 0 || p->is_fragment) {
        t->st.not_ip++;
        return NULL;
    }
    if (p->ts_us > t->now)
        t->now = p->ts_us;
    struct flow_key k;
    struct norm_key nk;
    pkt_key(p, &k);
    norm_key(&k, &nk);
    uint32_t h = bucket_hash(t, &nk);
    int d = FLOW_TOSERVER;
    struct flow *f = lookup(t, &k, h, &d);
    if (f != NULL && p->ts_us > f->ts_last && p->ts_us - f->ts_last > class_timeout(t, f->lru)) {
        end_flow(t, f, FLOW_END_TIMEOUT);
        f = NULL;
    } else if (f != NULL && tcp_reused(t, f, p)) {
        t->st.tcp_reuse++;
        end_flow(t, f, FLOW_END_TCP_REUSE);
        f = NULL;
    }
    if (f == NULL && (f = create(t, &k, &nk, h, p, &d)) == NULL)
        return NULL;
    f->pkts[d]++;
    f->bytes[d] += p->wirelen;
    if (p->ts_us > f->ts_last)
        f->ts_last = p->ts_us;
    if (k.proto == IPPROTO_TCP_) {
        tcp_update(f, d, p);
    } else if (d == FLOW_TOCLIENT && !f->icmp_tc_seen &&
               (k.proto == IPPROTO_ICMP_ || k.proto == IPPROTO_ICMPV6_)) {
        f->icmp_tc_seen = true;
        f->icmp_type_tc = p->icmp_type;
        f->icmp_code_tc = p->icmp_code;
    }
    lru_touch(t, f);
    *dir = d;
    return f;
}

void flow_table_stats(const struct flow_table *t, struct flow_stats *out)
{
    *out = t->st;
}

uint32_t flow_table_max_chain(const struct flow_table *t)
{
    uint32_t best = 0;
    for (uint32_t i = 0; i <= t->mask; i++) {
        uint32_t n = 0;
        for (const struct flow *f = t->buckets[i]; f != NULL; f = f->hnext)
            n++;
        if (n > best)
            best = n;
    }
    return best;
}

const char *flow_tcp_state_name(enum flow_tcp_state s)
{
    static const char *const names[] = {
        [FLOW_TCP_NONE] = "none",           [FLOW_TCP_SYN_SENT] = "syn_sent",
        [FLOW_TCP_SYN_RECV] = "syn_recv",   [FLOW_TCP_ESTABLISHED] = "established",
        [FLOW_TCP_FIN_WAIT1] = "fin_wait1", [FLOW_TCP_FIN_WAIT2] = "fin_wait2",
        [FLOW_TCP_CLOSING] = "closing",     [FLOW_TCP_CLOSE_WAIT] = "close_wait",
        [FLOW_TCP_LAST_ACK] = "last_ack",   [FLOW_TCP_TIME_WAIT] = "time_wait",
        [FLOW_TCP_CLOSED] = "closed",
    };
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *flow_state_name(const struct flow *f)
{
    switch (flow_class(f)) {
    case LRU_TCP_NEW:
    case LRU_UDP_NEW:
        return "new";
    case LRU_TCP_CLOSED:
        return "closed";
    case LRU_TCP_EST:
    case LRU_UDP_EST:
        return "established";
    default:
        return f->pkts[FLOW_TOCLIENT] != 0 ? "established" : "new";
    }
}

const char *flow_end_reason_name(enum flow_end_reason r)
{
    switch (r) {
    case FLOW_END_TIMEOUT:
        return "timeout";
    case FLOW_END_FORCED:
        return "forced";
    case FLOW_END_SHUTDOWN:
        return "shutdown";
    case FLOW_END_TCP_REUSE:
        return "tcp_reuse";
    }
    return "unknown";
}
