/*
 * ARP events and request/reply pairing (see arp.h).
 *
 * Invariants: raw bytes are read through struct rd; the pairing table is one array of
 * a power-of-two number of slots allocated by arp_table_new() and never resized; a
 * lookup and an insert touch one slot.
 */
#include "app/arp.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "decode/pkt.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "otasuke/rd.h"
#include "sensor_conf.h"

#define ARP_DEF_PENDING 1024
#define ARP_DEF_WINDOW  3000000 /* µs */

struct arp_slot {
    uint64_t ts;        /* 0: empty */
    uint8_t mac[6];     /* requester */
    uint8_t ip[4];      /* address asked for */
    uint8_t answer[6];  /* MAC of the first reply */
    bool answered;
};

struct arp_table {
    uint64_t window;
    size_t mask;
    struct arp_slot slot[];
};

const char *arp_anomaly_name(int kind)
{
    static const char *const names[ARP_AN_COUNT] = {"short", "unsupported", "bad_opcode"};
    return kind >= 0 && kind < ARP_AN_COUNT ? names[kind] : "unknown";
}

int arp_parse(const uint8_t *p, size_t n, struct arp_msg *out, int *kind)
{
    struct rd r = rd_init(p, n);
    memset(out, 0, sizeof(*out));
    out->htype = rd_be16(&r);
    out->ptype = rd_be16(&r);
    uint8_t hlen = rd_u8(&r), plen = rd_u8(&r);
    out->op = rd_be16(&r);
    if (!r.bad && (out->htype != 1 || out->ptype != 0x0800 || hlen != 6 || plen != 4)) {
        *kind = ARP_AN_UNSUPPORTED;
        return PARSE_BAD;
    }
    rd_copy(&r, out->sha, 6);
    rd_copy(&r, out->spa, 4);
    rd_copy(&r, out->tha, 6);
    rd_copy(&r, out->tpa, 4);
    if (r.bad) {
        *kind = ARP_AN_SHORT;
        return PARSE_BAD;
    }
    return PARSE_OK;
}

void arp_from_pkt(const struct pkt *p, struct arp_msg *out)
{
    out->htype = 1;
    out->ptype = 0x0800;
    out->op = p->arp_op;
    memcpy(out->sha, p->arp_sha, 6);
    memcpy(out->tha, p->arp_tha, 6);
    memcpy(out->spa, p->arp_spa.b + 12, 4); /* IPv4-mapped (pkt.h) */
    memcpy(out->tpa, p->arp_tpa.b + 12, 4);
}

struct arp_table *arp_table_new(const struct sensor_conf *c)
{
    size_t want = ARP_DEF_PENDING;
    uint64_t window = ARP_DEF_WINDOW;
    if (c != NULL && c->arp_pending > 0)
        want = (size_t)c->arp_pending;
    if (c != NULL && c->arp_window > 0)
        window = c->arp_window;
    size_t n = 16;
    while (n < want && n < ((size_t)1 << 24))
        n <<= 1;
    struct arp_table *t = xcalloc(MEM_APP, 1, sizeof(*t) + n * sizeof(struct arp_slot));
    if (t == NULL)
        return NULL;
    t->window = window;
    t->mask = n - 1;
    return t;
}

void arp_table_free(struct arp_table *t)
{
    xfree(t);
}

static struct arp_slot *slot_of(struct arp_table *t, const uint8_t mac[6], const uint8_t ip[4])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 6; i++)
        h = (h ^ mac[i]) * 16777619u;
    for (int i = 0; i < 4; i++)
        h = (h ^ ip[i]) * 16777619u;
    return &t->slot[h & t->mask];
}

static void put_ip(struct jw *w, const char *key, const uint8_t ip[4])
{
    char s[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, ip, s, sizeof(s));
    jw_str(w, key, s);
}

/* The pairing of a reply: its request's slot if seen within the window, else NULL. */
static struct arp_slot *reply_slot(struct arp_table *t, const struct arp_msg *m, uint64_t now)
{
    if (t == NULL)
        return NULL;
    struct arp_slot *sl = slot_of(t, m->tha, m->spa);
    if (sl->ts == 0 || memcmp(sl->mac, m->tha, 6) != 0 || memcmp(sl->ip, m->spa, 4) != 0 ||
        now < sl->ts || now - sl->ts > t->window)
        return NULL;
    return sl;
}

static void put_reply_pairing(struct jw *w, struct arp_table *t, const struct arp_msg *m,
                              uint64_t now)
{
    struct arp_slot *sl = reply_slot(t, m, now);
    jw_bool(w, "solicited", sl != NULL);
    if (sl == NULL)
        return;
    jw_u64(w, "response_time_us", now - sl->ts);
    if (!sl->answered) {
        sl->answered = true;
        memcpy(sl->answer, m->sha, 6);
    } else if (memcmp(sl->answer, m->sha, 6) != 0) {
        jw_hex(w, "conflict_mac", sl->answer, 6, ':');
    }
}

static void remember(struct arp_table *t, const struct arp_msg *m, uint64_t now)
{
    if (t == NULL)
        return;
    struct arp_slot *sl = slot_of(t, m->sha, m->tpa);
    memset(sl, 0, sizeof(*sl));
    sl->ts = now ? now : 1;
    memcpy(sl->mac, m->sha, 6);
    memcpy(sl->ip, m->tpa, 4);
}

void arp_observe(struct arp_table *t, struct app_sink *s, const struct arp_msg *m)
{
    static const uint8_t zero[4];
    if (m->op != ARP_OP_REQUEST && m->op != ARP_OP_REPLY)
        s->anomaly(s, ARP_AN_BAD_OPCODE, APP_TOSERVER);
    struct jw *w = s->event_begin(s, "arp", APP_TOSERVER);
    if (w != NULL) {
        jw_obj_open(w, "arp");
        jw_str(w, "hw_type", "ethernet");
        jw_str(w, "proto_type", "ipv4");
        if (m->op == ARP_OP_REQUEST || m->op == ARP_OP_REPLY)
            jw_str(w, "opcode", m->op == ARP_OP_REQUEST ? "request" : "reply");
        else
            jw_u64(w, "opcode", m->op);
        jw_hex(w, "src_mac", m->sha, 6, ':');
        app_note(s, "arp.src_mac");
        put_ip(w, "src_ip", m->spa);
        app_note(s, "arp.src_ip");
        jw_hex(w, "dest_mac", m->tha, 6, ':');
        put_ip(w, "dest_ip", m->tpa);
        if (m->op == ARP_OP_REQUEST && memcmp(m->spa, zero, 4) == 0)
            jw_bool(w, "probe", true);
        else if (memcmp(m->spa, m->tpa, 4) == 0)
            jw_bool(w, "gratuitous", true);
        if (m->op == ARP_OP_REPLY)
            put_reply_pairing(w, t, m, s->now_us);
        jw_obj_close(w);
        s->event_end(s);
    }
    if (m->op == ARP_OP_REQUEST)
        remember(t, m, s->now_us);
}
