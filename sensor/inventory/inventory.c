/*
 * The device inventory (see inventory.h, docs/inventory.md): the device table, the
 * address bindings (current and history), what application-layer events tell about
 * devices, asset events, new_device alerts and persistence.
 */
#include "inventory/inventory.h"

#include "app/applayer.h"
#include "detect/jscan.h"
#include "output/eve.h"
#include "otasuke/alloc.h"
#include "otasuke/ascii.h"
#include "otasuke/err.h"
#include "otasuke/hash.h"
#include "otasuke/jw.h"
#include "otasuke/log.h"
#include "otasuke/timefmt.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define INV_HOME_MAX 64
#define INV_PENDING_MAX 64

struct inv_bind {
    struct addr ip;
    uint32_t dev;  /* index + 1; 0: empty */
    uint32_t last; /* newest history entry of this address: index + 1; 0: none */
};

struct inv_hist {
    struct addr ip;
    uint32_t dev;
    uint32_t prev; /* the address's previous entry: index + 1; 0: none */
    uint64_t from;
};

#define INV_HIST_WALK 256 /* entries of one address walked at most */

struct home_pfx {
    struct addr a;
    unsigned bits;     /* over the 128-bit form (IPv4: 96 + prefix length) */
    uint32_t net4, mask4; /* IPv4 prefixes, host order (mask4 0 for IPv6 ones) */
    bool v4, learned;
};

/* The packet path's cache (inv_packet): a (MAC, address) pair already handled, and
 * with which outcome. Direct-mapped and unkeyed: a collision is only a miss. A device
 * entry stays true for good (devices are never removed, an address once bound stays
 * bound, a device's IPv4 address is only replaced by another) and says in which tick
 * of packet time (INV_TICK_SHIFT) its sender was last heard: another packet
 * in that tick changes nothing worth its cost (last_seen moves by less than a tick).
 * A "not internal" entry holds while nothing new was learned about the LAN (gen). */
#define INV_PCACHE 2048
struct inv_pc {
    struct addr ip;
    uint8_t mac[6];
    bool has_mac, outside;
    uint32_t dev;   /* index + 1; 0: empty (1 for outside entries) */
    uint32_t stamp; /* device entries: the tick (+1) last heard in; outside: v->gen */
};

/* Devices by MAC, for the events and packets that name a MAC (dev_get): index + 1 (0:
 * empty), direct-mapped and unkeyed like pc; a hit spares the keyed hash and the
 * index's probe. Devices are never removed, so an entry that names its MAC is right. */
#define INV_MACCACHE 1024

/* Bound addresses (bind_slot): slot + 1 by address, the same way. A slot keeps its
 * address for good once a device is bound there. */
#define INV_BINDCACHE 1024

/* The event types the inventory reads; from EK_MDNS on, what the event says is about
 * the device at its src_ip. */
enum ev_kind { EK_NONE, EK_DHCP, EK_ARP, EK_MDNS, EK_NBNS, EK_LLMNR, EK_SSDP, EK_HTTP, EK_TLS,
               EK_COUNT };

/* Fields of one event the inventory reads (see ev_fields). */
struct ev {
    struct inv *v;
    unsigned kind;      /* enum ev_kind */
    unsigned got, need; /* ev_fields bits seen / enough to stop the walk */
    /* the strings written since inv_event_begin last emptied them (ev_fields bits,
     * EVB_SRC, EVB_SVC, EVB_QRY): all others are empty */
    unsigned set;
    bool no_device;     /* walk stopped: the source is no known device */
    bool touched;       /* its device's last_seen moved (dhcp requests, arp) */
    struct inv_device *from; /* the device at src_ip (mdns .. tls) */
    struct inv_bind *bound;  /* the binding of src_ip (mdns .. tls) or of arp_ip */
    char src_ip[64];
    char dhcp_type[16], dhcp_kind[16], client_mac[24], assigned_ip[64], subnet_mask[24];
    char hostname[INV_NAME_MAX], params[INV_TEXT_MAX], vendor[INV_NAME_MAX];
    char mdns_type[16], mdns_host[INV_NAME_MAX], model[INV_NAME_MAX];
    char services[INV_SVC_N][INV_SVC_MAX];
    char queries[INV_SVC_N][INV_SVC_MAX];
    char nb_name[INV_NAME_MAX], nb_suffix[8], nb_opcode[24], nb_type[16];
    char llmnr_type[16], llmnr_name[INV_NAME_MAX];
    char ssdp_type[16], ssdp_server[INV_TEXT_MAX], ssdp_nt[INV_TEXT_MAX];
    char ua[INV_TEXT_MAX], ja3[33], ja4[40];
    char arp_mac[24], arp_ip[64];
};

/* Addresses outside home_net that are bound to a device (learned from DHCP or ARP):
 * a bitmap by a hash of the address, a superset (bits are never cleared, and
 * collide). A packet from an address outside home_net whose bit is clear comes from
 * outside the LAN: nothing is looked up, a table miss of the CPU's caches saved on
 * most packets from the Internet. */
#define INV_AWAY_BITS (1U << 15)

/* The noted values of an event, as read (inv_event_str), to tell a repeat: an event
 * whose values are those of the inventory event just before it, with nothing learned
 * in between (inv.epoch), changes nothing but what its device's last_seen and dirty
 * flag say (a DHCP client's retries, the same ARP announcement, the same user agent
 * from one connection after another: two thirds of the events of the 1 GB benchmark
 * capture). */
#define INV_REP_VALS 16
#define INV_REP_TEXT 1024
struct inv_rep {
    bool ok;      /* a noted event whose values all fit */
    bool stopped; /* read stopped after its last value (the rest was not wanted) */
    unsigned n;
    size_t used;
    const char *path[INV_REP_VALS];
    uint16_t plen[INV_REP_VALS], off[INV_REP_VALS], len[INV_REP_VALS];
    char text[INV_REP_TEXT];
};

/* Events read before, by a keyed hash of their type and noted values (siphash: an
 * event cannot be made to pass for another), with what reading one did: its device
 * (index + 1), that device's ver after it, the binding it went by (index + 1: the
 * address of an ARP event, the source of the others) and whether it touched the device.
 * An event with the same values changes nothing more while the device's ver and the
 * binding stand, so it only touches the device and marks it dirty, as a repeat of the
 * event just before does (struct inv_rep): what these events set is either kept once
 * set (a model, the gateway flag; the sets of services, user agents and fingerprints,
 * which only grow) or bumps ver when it changes (the name, the address, the SSDP server
 * string), and reading one again could only set it back. On the 1 GB
 * benchmark capture 73,000 of the 90,000 events that were not such a repeat had the
 * values of an earlier one (the same user agent, JA3, NetBIOS or mDNS name from the
 * same host, the same ARP request): reading one cost ~2,300 cycles, recalling it ~650.
 * DHCP events are read every time (a lease's address moves other devices). */
#define INV_RECALL 4096
struct inv_recall {
    uint64_t h; /* 0: empty */
    uint32_t dev, ver, bind;
    bool touch;
};

/* A noted path's field (ev_field_of) for the kind it was seen in. */
#define INV_NOTE_FIELDS 64
struct inv_note_field {
    const char *path;
    uint8_t kind;
    int8_t field;
};

struct inv {
    /* what every packet from a known sender reads and writes (inv_sender, touch,
     * mark_dirty, clock_at), side by side (64 bytes; one cache line when the block is
     * aligned, which xcalloc does not promise) */
    struct inv_device *dev;
    size_t n;
    uint32_t gen; /* bumped when a prefix is learned or an outside address is bound */
    uint64_t first_ts, now;
    /* no device can go quiet before this: the oldest last_seen of the devices not
     * quiet + quiet_us, lowered when a device comes or wakes (0: not known yet) */
    uint64_t quiet_due;
    uint32_t *dirty; /* devices changed since the state file had them (each once) */
    size_t ndirty;

    struct inv_conf conf;
    struct inv_host host;
    struct oui_table *oui;
    struct hash_key hk;
    uint32_t *idx; /* device key hash → index + 1 */
    size_t nidx;
    struct inv_bind *bind; /* address → device (current) */
    size_t nbind, bind_used;
    struct inv_hist *hist; /* ring */
    size_t nhist, hist_head, hist_len;
    void *tables;          /* the block holding dev, dirty, idx, bind, hist and recall */
    struct inv_recall *recall;
    uint64_t hist_total;   /* bindings recorded (hist_add) since start */
    /* what the state file holds (inv_save_changes): all but the devices in dirty, the
     * bindings and learned prefixes up to these counts; the file's size and the size of
     * its last full write */
    uint64_t hist_saved;
    unsigned home_saved;
    long file_bytes, base_bytes;
    bool need_full;
    struct home_pfx home[INV_HOME_MAX];
    unsigned nhome;
    /* the IPv4 ones again, {net4, mask4} side by side: what is_home reads for nearly
     * every packet it is asked about, in one cache line */
    unsigned nhome4;
    uint32_t home4[INV_HOME_MAX][2];
    uint32_t pending[INV_PENDING_MAX]; /* devices awaiting their new_device alert */
    unsigned npending;
    struct inv_pc pc[INV_PCACHE];
    uint32_t maccache[INV_MACCACHE];
    uint32_t bindcache[INV_BINDCACHE];
    char srv_s[64];    /* the last DHCP server's address as its replies give it ... */
    struct addr srv_a; /* ... and parsed (ev_dhcp_server) */
    uint64_t away[INV_AWAY_BITS / 64];
    struct ev ev; /* the event being read */
    /* the values of the event being read and of the one before (rep[rep_cur ^ 1]);
     * what reading it again would do: while rep_valid, epoch is rep_epoch and the next
     * event is of rep_kind, only touch rep_dev (rep_touch) or mark it dirty */
    struct inv_rep rep[2];
    unsigned rep_cur, rep_kind, rep_at; /* rep_at: values matched so far */
    bool rep_valid, rep_touch, deferring;
    struct inv_device *rep_dev;
    uint64_t rep_epoch;
    /* bumped by every change a packet can make that an event's reading depends on:
     * a device made, an address bound, a device's address moved, a prefix learned */
    uint64_t epoch;
    struct inv_note_field note_field[INV_NOTE_FIELDS]; /* inv_event_str's */
    uint64_t next_save;
    uint64_t last_save_wall; /* ts_mono_us() of the last periodic save, or of the start */
    struct jw jw;
    char name_buf[INV_NAME_MAX], maker_buf[INV_TEXT_MAX];
    /* counters */
    bool save_failed;
    uint64_t dropped, bind_full, events_read, events_noted, events_repeated, events_recalled,
        events_bad, assets, new_alerts, learned;
};

/* ---- addresses ---------------------------------------------------------------- */

static bool addr_is_v4(const struct addr *a)
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->b, pfx, 12) == 0;
}

static uint32_t addr_v4(const struct addr *a)
{
    return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 |
           a->b[15];
}

static bool addr_unusable(const struct addr *a)
{
    static const struct addr zero;
    if (memcmp(a, &zero, sizeof(zero)) == 0)
        return true;
    if (addr_is_v4(a)) {
        const uint8_t *b = a->b + 12;
        return (b[0] == 0) || b[0] >= 224 || (b[0] == 255);
    }
    return a->b[0] == 0xff; /* multicast */
}

/* The IPv4 form of a prefix, for the fast test. */
static void home_fill(struct home_pfx *h)
{
    h->v4 = addr_is_v4(&h->a) && h->bits >= 96;
    if (!h->v4)
        return;
    unsigned b = h->bits - 96;
    h->mask4 = b == 0 ? 0 : 0xffffffffU << (32 - b);
    h->net4 = addr_v4(&h->a) & h->mask4;
}

/* home[nhome] is filled (home_fill): it counts from now on. */
static void home_added(struct inv *v)
{
    const struct home_pfx *h = &v->home[v->nhome++];
    if (h->v4) {
        v->home4[v->nhome4][0] = h->net4;
        v->home4[v->nhome4][1] = h->mask4;
        v->nhome4++;
    }
}

static int home_parse(struct inv *v, const char *list, char *err, size_t errlen)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", []", &save); t != NULL; t = strtok_r(NULL, ", []", &save)) {
        if (v->nhome == INV_HOME_MAX) {
            snprintf(err, errlen, "home_net: more than %d prefixes", INV_HOME_MAX);
            return ERR_LIMIT;
        }
        char *slash = strchr(t, '/');
        long bits = -1;
        if (slash != NULL) {
            *slash = '\0';
            bits = strtol(slash + 1, NULL, 10);
        }
        struct home_pfx *h = &v->home[v->nhome];
        if (!eve_addr_parse(t, &h->a)) {
            snprintf(err, errlen, "home_net: bad address %s", t);
            return ERR_INVAL;
        }
        bool v4 = addr_is_v4(&h->a);
        long maxb = v4 ? 32 : 128;
        if (bits < 0)
            bits = maxb;
        if (bits > maxb) {
            snprintf(err, errlen, "home_net: bad prefix length for %s", t);
            return ERR_INVAL;
        }
        h->bits = (unsigned)(v4 ? bits + 96 : bits);
        home_fill(h);
        home_added(v);
    }
    return 0;
}

static bool is_home(const struct inv *v, const struct addr *a)
{
    if (addr_is_v4(a)) {
        uint32_t x = addr_v4(a);
        for (unsigned i = 0; i < v->nhome4; i++)
            if ((x & v->home4[i][1]) == v->home4[i][0])
                return true;
        return false;
    }
    for (unsigned i = 0; i < v->nhome; i++) {
        const struct home_pfx *h = &v->home[i];
        if (h->v4)
            continue;
        unsigned full = h->bits / 8, rem = h->bits % 8;
        if (memcmp(a->b, h->a.b, full) != 0)
            continue;
        if (rem == 0 || ((a->b[full] ^ h->a.b[full]) & (uint8_t)(0xff << (8 - rem))) == 0)
            return true;
    }
    return false;
}

/* ---- the device table ------------------------------------------------------------ */

/* An unkeyed mix of a sender (MAC or NULL, address) for the inventory's small caches
 * (pc, maccache, bindcache, away): a collision only costs a look-up, so no key is
 * needed. */
static uint64_t pair_hash(const uint8_t *mac, const struct addr *ip)
{
    uint64_t a, b, m = 0;
    memcpy(&a, ip->b, 8);
    memcpy(&b, ip->b + 8, 8);
    if (mac != NULL)
        memcpy(&m, mac, 6);
    uint64_t x = (a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (m * 0xc2b2ae3d27d4eb4fULL));
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x >> 40;
}

static uint64_t key_hash(const struct inv *v, const uint8_t *mac, const struct addr *ip)
{
    uint8_t k[17];
    memset(k, 0, sizeof(k));
    if (mac != NULL) {
        k[0] = 1;
        memcpy(k + 1, mac, 6);
    } else if (ip != NULL) {
        memcpy(k + 1, ip->b, 16);
    }
    return siphash24(&v->hk, k, sizeof(k));
}

static bool dev_is(const struct inv_device *d, const uint8_t *mac, const struct addr *ip)
{
    if (mac != NULL)
        return d->has_mac && memcmp(d->mac, mac, 6) == 0;
    return ip != NULL && !d->has_mac && memcmp(&d->ip, ip, sizeof(*ip)) == 0;
}

/* Index of the device, or -1; *slot gets the free slot where it would go. */
static long dev_find(const struct inv *v, const uint8_t *mac, const struct addr *ip, size_t *slot)
{
    size_t m = v->nidx - 1, i = (size_t)key_hash(v, mac, ip) & m;
    for (;;) {
        uint32_t e = v->idx[i];
        if (e == 0) {
            if (slot)
                *slot = i;
            return -1;
        }
        if (dev_is(&v->dev[e - 1], mac, ip))
            return (long)e - 1;
        i = (i + 1) & m;
    }
}

static void fmt_mac(const uint8_t *m, char out[18])
{
    ascii_hex(out, m, 6, ':');
}

/* Whether any of the l bytes at p is below 14 (a tab, CR or LF among them): eight at a
 * time, as most values have none. */
static bool has_ctl(const char *p, size_t l)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= l; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        if (((x - ones * 14) & ~x & highs) != 0)
            return true;
    }
    for (; i < l; i++)
        if ((unsigned char)p[i] < 14)
            return true;
    return false;
}

/* The sl bytes at s (no NUL among them) into dst (n bytes), cut to fit and
 * NUL-terminated, tabs and line ends as spaces (the state file is tab-separated). */
static void str_setn(char *dst, size_t n, const char *s, size_t sl)
{
    if (n == 0)
        return;
    size_t l = sl < n - 1 ? sl : n - 1;
    memmove(dst, s, l);
    dst[l] = '\0';
    if (!has_ctl(dst, l))
        return;
    for (char *p = dst; *p != '\0'; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = ' ';
}

/* The string s into dst (n bytes), as snprintf "%s" cuts it, without its cost. */
static void str_set(char *dst, size_t n, const char *s)
{
    if (n > 0)
        str_setn(dst, n, s, strnlen(s, n - 1));
}

/* Adds s to a bounded set (first come, kept); returns true when it was new. */
static bool set_add(char *set, size_t width, size_t n, const char *s)
{
    if (s[0] == '\0')
        return false;
    for (size_t i = 0; i < n; i++) {
        char *e = set + i * width;
        if (e[0] == '\0') {
            str_set(e, width, s);
            return true;
        }
        if (strncmp(e, s, width - 1) == 0)
            return false;
    }
    return false;
}

void inv_device_json(struct jw *w, const struct inv_device *d)
{
    char buf[EVE_ADDR_LEN], ts[TS_RFC3339_LEN];
    static const struct addr zero;
    if (d->has_mac) {
        fmt_mac(d->mac, buf);
        jw_str(w, "mac", buf);
    } else {
        jw_null(w, "mac");
    }
    if (memcmp(&d->ip, &zero, sizeof(zero)) != 0)
        jw_str(w, "ip", eve_addr_str(&d->ip, buf, sizeof(buf)));
    else
        jw_null(w, "ip");
    if (d->name[0] != '\0') {
        static const char *const src[] = {"", "llmnr", "nbns", "mdns", "dhcp"};
        jw_str(w, "name", d->name);
        jw_str(w, "name_source", src[d->name_src < 5 ? d->name_src : 0]);
    } else {
        jw_null(w, "name");
    }
    if (d->maker != NULL)
        jw_str(w, "maker", d->maker);
    else
        jw_null(w, "maker");
    jw_bool(w, "randomized_mac", d->randomized);
    jw_str(w, "kind", inv_kind_name(d->kind));
    jw_str(w, "kind_confidence", d->kind_score >= 40 ? "high" : d->kind_score >= 20 ? "medium"
                                 : d->kind_score > 0  ? "low"
                                                      : "none");
    if (d->os[0] != '\0')
        jw_str(w, "os", d->os);
    if (d->evidence[0] != '\0')
        jw_str(w, "evidence", d->evidence);
    if (d->vendor_class[0] != '\0')
        jw_str(w, "dhcp_vendor_class", d->vendor_class);
    if (d->dhcp_fp[0] != '\0')
        jw_str(w, "dhcp_fingerprint", d->dhcp_fp);
    if (d->model[0] != '\0')
        jw_str(w, "model", d->model);
    if (d->ssdp_server[0] != '\0')
        jw_str(w, "ssdp_server", d->ssdp_server);
#define ARR(key, field, cnt)                                                                   \
    if (d->field[0][0] != '\0') {                                                              \
        jw_arr_open(w, key);                                                                   \
        for (int i_ = 0; i_ < (cnt) && d->field[i_][0] != '\0'; i_++)                          \
            jw_str(w, NULL, d->field[i_]);                                                     \
        jw_arr_close(w);                                                                       \
    }
    ARR("mdns_services", services, INV_SVC_N)
    ARR("mdns_queries", queries, INV_SVC_N)
    ARR("user_agents", ua, INV_SET_N)
    ARR("ja3", ja3, INV_SET_N)
    ARR("ja4", ja4, INV_SET_N)
#undef ARR
    ts_format(ts, sizeof(ts), d->first_seen, 0);
    jw_str(w, "first_seen", ts);
    ts_format(ts, sizeof(ts), d->last_seen, 0);
    jw_str(w, "last_seen", ts);
}

/* An asset event: change is "new", "changed" (what lists the fields) or "quiet". */
static void write_asset(struct inv *v, const struct inv_device *d, const char *change,
                        const char *const *what, unsigned nwhat, uint64_t ts)
{
    if (v->host.write == NULL)
        return;
    struct jw *w = &v->jw;
    jw_reset(w);
    eve_begin(w, ts, "asset", 0);
    jw_obj_open(w, "asset");
    jw_str(w, "change", change);
    if (nwhat > 0) {
        jw_arr_open(w, "changed");
        for (unsigned i = 0; i < nwhat; i++)
            jw_str(w, NULL, what[i]);
        jw_arr_close(w);
    }
    inv_device_json(w, d);
    jw_obj_close(w);
    jw_obj_close(w);
    if (!jw_ok(w))
        return;
    v->assets++;
    v->host.write(v->host.ud, w->buf, w->len, ts);
}

static uint32_t dev_id(const struct inv *v, const struct inv_device *d)
{
    return (uint32_t)(d - v->dev);
}

/* d changed: the next inv_save_changes writes it. */
static void mark_dirty(struct inv *v, struct inv_device *d)
{
    if (!d->dirty) {
        d->dirty = true;
        v->dirty[v->ndirty++] = dev_id(v, d);
    }
}

static struct inv_device *dev_get(struct inv *v, const uint8_t *mac, const struct addr *ip,
                                  uint64_t ts, bool *created)
{
    static const uint8_t zero_mac[6];
    size_t slot = 0;
    *created = false;
    if (mac != NULL && memcmp(mac, zero_mac, 6) == 0)
        return NULL; /* not an address: a placeholder some stacks send */
    static const struct addr none;
    uint32_t *mc = mac != NULL ? &v->maccache[pair_hash(mac, &none) % INV_MACCACHE] : NULL;
    if (mc != NULL && *mc != 0 && dev_is(&v->dev[*mc - 1], mac, NULL))
        return &v->dev[*mc - 1];
    long i = dev_find(v, mac, ip, &slot);
    if (i >= 0) {
        if (mc != NULL)
            *mc = (uint32_t)i + 1;
        return &v->dev[i];
    }
    v->epoch++; /* a device made, or one more dropped (counted again if repeated) */
    if (v->n >= v->conf.max_devices) {
        v->dropped++;
        return NULL;
    }
    struct inv_device *d = &v->dev[v->n];
    memset(d, 0, sizeof(*d));
    if (mac != NULL) {
        d->has_mac = true;
        memcpy(d->mac, mac, 6);
        d->randomized = mac_is_random(mac);
        d->maker = oui_lookup(v->oui, mac);
    } else {
        d->ip = *ip;
    }
    d->first_seen = d->last_seen = ts;
    if (ts + v->conf.quiet_us < v->quiet_due)
        v->quiet_due = ts + v->conf.quiet_us;
    inv_classify(d);
    v->idx[slot] = (uint32_t)(v->n + 1);
    v->n++;
    if (mc != NULL)
        *mc = (uint32_t)v->n;
    mark_dirty(v, d);
    *created = true;
    return d;
}

/* Devices found after the learning period wait new_device_delay for their names. */
static void on_created(struct inv *v, struct inv_device *d, uint64_t ts)
{
    write_asset(v, d, "new", NULL, 0, ts);
    if (v->first_ts != 0 && ts >= v->first_ts + v->conf.learning_us &&
        v->npending < INV_PENDING_MAX)
        v->pending[v->npending++] = dev_id(v, d);
}

/* ---- address bindings -------------------------------------------------------------- */

static uint32_t away_bit(const struct addr *ip)
{
    return (uint32_t)(pair_hash(NULL, ip) % INV_AWAY_BITS);
}

/* ip may be bound to a device though outside home_net (see INV_AWAY_BITS) */
static bool away_maybe(const struct inv *v, const struct addr *ip)
{
    uint32_t k = away_bit(ip);
    return (v->away[k / 64] >> (k % 64) & 1) != 0;
}

static struct inv_bind *bind_slot(struct inv *v, const struct addr *ip, bool insert)
{
    uint32_t *bc = &v->bindcache[pair_hash(NULL, ip) % INV_BINDCACHE];
    if (*bc != 0) {
        struct inv_bind *b = &v->bind[*bc - 1];
        if (b->dev != 0 && memcmp(&b->ip, ip, sizeof(*ip)) == 0)
            return b;
    }
    size_t m = v->nbind - 1;
    size_t i = (size_t)siphash24(&v->hk, ip->b, sizeof(ip->b)) & m;
    for (;;) {
        struct inv_bind *b = &v->bind[i];
        if (b->dev == 0) {
            if (!insert)
                return NULL;
            if (v->bind_used * 4 >= v->nbind * 3) {
                v->bind_full++;
                return NULL;
            }
            b->ip = *ip;
            v->bind_used++;
            *bc = (uint32_t)i + 1;
            if (!is_home(v, ip)) {
                uint32_t k = away_bit(ip);
                v->away[k / 64] |= 1ULL << (k % 64);
            }
            return b;
        }
        if (memcmp(&b->ip, ip, sizeof(*ip)) == 0) {
            *bc = (uint32_t)i + 1;
            return b;
        }
        i = (i + 1) & m;
    }
}

static void hist_add(struct inv *v, struct inv_bind *b, const struct addr *ip, uint32_t dev,
                     uint64_t from)
{
    size_t pos = (v->hist_head + v->hist_len) % v->nhist;
    if (v->hist_len == v->nhist) {
        pos = v->hist_head;
        v->hist_head = (v->hist_head + 1) % v->nhist;
    } else {
        v->hist_len++;
    }
    v->hist[pos].ip = *ip;
    v->hist[pos].dev = dev;
    v->hist[pos].from = from;
    v->hist[pos].prev = b != NULL && b->last != (uint32_t)pos + 1 ? b->last : 0;
    if (b != NULL)
        b->last = (uint32_t)pos + 1;
    v->hist_total++;
    v->epoch++;
}

/* Device d uses address ip at ts: rebinds the address, records the change in the
 * history and, for the device's current address, writes an asset "changed". A packet
 * (weak: a router forwards many source addresses with its own MAC) binds an address
 * nobody holds and gives a device without an address its first; DHCP and ARP
 * (strong) rebind and move. Returns the address's binding (NULL: none, the address
 * unusable or the map full). */
static struct inv_bind *bind_ip(struct inv *v, struct inv_device *d, const struct addr *ip,
                                uint64_t ts, bool created, bool strong)
{
    if (addr_unusable(ip))
        return NULL;
    mark_dirty(v, d);
    struct inv_bind *b = bind_slot(v, ip, true);
    uint32_t id = dev_id(v, d) + 1;
    if (b != NULL && b->dev != id && (strong || b->dev == 0)) {
        if (b->dev == 0 && !is_home(v, ip))
            v->gen++; /* learned: an address outside home_net is on the LAN */
        b->dev = id;
        hist_add(v, b, ip, id - 1, ts);
    }
    static const struct addr zero;
    bool none = memcmp(&d->ip, &zero, sizeof(zero)) == 0;
    if (!d->has_mac)
        return b;
    if (!strong && !none && !(addr_is_v4(ip) && !addr_is_v4(&d->ip)))
        return b;
    if (memcmp(&d->ip, ip, sizeof(*ip)) != 0 && (none || addr_is_v4(ip) || !addr_is_v4(&d->ip))) {
        d->ip = *ip;
        d->ip_since = ts;
        d->ver++;
        v->epoch++;
        if (!created) { /* the first address too: a user wants to know it */
            static const char *const what[] = {"ip"};
            write_asset(v, d, "changed", what, 1, ts);
        }
    }
    return b;
}

/* ---- what packets and events tell ---------------------------------------------------- */

static void touch(struct inv *v, struct inv_device *d, uint64_t ts)
{
    if (ts > d->last_seen)
        d->last_seen = ts;
    if (d->quiet) {
        d->quiet = false;
        if (d->last_seen + v->conf.quiet_us < v->quiet_due)
            v->quiet_due = d->last_seen + v->conf.quiet_us;
    }
    mark_dirty(v, d);
}

static void clock_at(struct inv *v, uint64_t ts)
{
    if (v->first_ts == 0)
        v->first_ts = ts;
    if (ts > v->now)
        v->now = ts;
}

/* The device a binding holds (b NULL: none). */
static struct inv_device *bound_dev(struct inv *v, const struct inv_bind *b)
{
    return b != NULL && b->dev != 0 ? &v->dev[b->dev - 1] : NULL;
}

/* The current device of an address. */
static struct inv_device *dev_by_ip(struct inv *v, const struct addr *ip)
{
    return bound_dev(v, bind_slot(v, ip, false));
}

/* Inside the LAN: in a home_net prefix (configured or learned from DHCP), or bound to
 * a device by DHCP or ARP (an address a packet binds is a home one already). */
static bool is_internal(struct inv *v, const struct addr *ip)
{
    return is_home(v, ip) || dev_by_ip(v, ip) != NULL;
}

static struct inv_pc *pc_slot(struct inv *v, const uint8_t *mac, const struct addr *ip)
{
    return &v->pc[pair_hash(mac, ip) % INV_PCACHE];
}

static bool pc_is(const struct inv_pc *c, const uint8_t *mac, const struct addr *ip)
{
    return c->has_mac == (mac != NULL) && (mac == NULL || memcmp(c->mac, mac, 6) == 0) &&
           memcmp(&c->ip, ip, sizeof(*ip)) == 0;
}

static void pc_put(struct inv_pc *c, const uint8_t *mac, const struct addr *ip, uint32_t dev,
                   bool outside, uint32_t stamp)
{
    c->ip = *ip;
    c->has_mac = mac != NULL;
    if (mac != NULL)
        memcpy(c->mac, mac, 6);
    c->dev = dev;
    c->outside = outside;
    c->stamp = stamp;
}

/* inv_sender's memo: a sender outside the LAN while gen stays the same; else a device's
 * index + 1, or 0. */
#define INV_MEMO_OUT 0x80000000U

static uint32_t memo_out(const struct inv *v)
{
    return INV_MEMO_OUT | (v->gen & ~INV_MEMO_OUT);
}

void inv_sender(struct inv *v, const uint8_t *mac, const struct addr *ip, uint64_t ts,
                uint32_t *memo)
{
    clock_at(v, ts);
    uint32_t m = *memo;
    if (m == memo_out(v))
        return;
    if (m != 0 && (m & INV_MEMO_OUT) == 0) {
        touch(v, &v->dev[m - 1], ts);
        return;
    }
    *memo = 0;
    if (!is_home(v, ip) && !away_maybe(v, ip)) {
        *memo = memo_out(v);
        return; /* from outside the LAN (is_internal would say so) */
    }
    uint32_t tick = (uint32_t)(ts >> INV_TICK_SHIFT) + 1;
    struct inv_pc *c = pc_slot(v, mac, ip);
    if (c->dev != 0 && pc_is(c, mac, ip)) {
        if (!c->outside) {
            *memo = c->dev;
            if (c->stamp != tick) { /* else heard in this tick already */
                c->stamp = tick;
                touch(v, &v->dev[c->dev - 1], ts);
            }
            return;
        }
        if (c->stamp == v->gen) {
            *memo = memo_out(v);
            return;
        }
    }
    if (addr_unusable(ip))
        return;
    static const uint8_t zero_mac[6];
    if (mac != NULL && ((mac[0] & 1) != 0 || memcmp(mac, zero_mac, 6) == 0))
        return;
    if (!is_internal(v, ip)) {
        pc_put(c, mac, ip, 1, true, v->gen);
        *memo = memo_out(v);
        return;
    }
    bool created;
    struct inv_device *d = dev_get(v, mac, ip, ts, &created);
    if (d == NULL)
        return;
    touch(v, d, ts);
    bind_ip(v, d, ip, ts, created, false);
    if (created)
        on_created(v, d, ts);
    *memo = dev_id(v, d) + 1;
    pc_put(c, mac, ip, *memo, false, tick);
}

void inv_packet(struct inv *v, const uint8_t *mac, const struct addr *ip, uint64_t ts)
{
    uint32_t memo = 0;
    inv_sender(v, mac, ip, ts, &memo);
}


static const struct {
    const char *name;
    size_t len;
} ek_names[EK_COUNT] = {{"", 0},      {"dhcp", 4}, {"arp", 3},  {"mdns", 4}, {"nbns", 4},
                        {"llmnr", 5}, {"ssdp", 4}, {"http", 4}, {"tls", 3}};

/* Paths copied into struct ev, under the event type's object ("dhcp.type" is
 * {EK_DHCP, "type"}); `first`: only the first value of an array is kept. Each has a
 * bit in ev.got; the walk stops once ev.need is seen. */
struct ev_field {
    unsigned kind;
    const char *path;
    size_t plen, off, len;
    bool first;
};

#define EVF(k, p, f, first)                                                                   \
    {k, p, sizeof(p) - 1, offsetof(struct ev, f), sizeof(((struct ev *)0)->f), first}
static const struct ev_field ev_fields[] = {
    EVF(EK_DHCP, "type", dhcp_type, false),
    EVF(EK_DHCP, "dhcp_type", dhcp_kind, false),
    EVF(EK_DHCP, "client_mac", client_mac, false),
    EVF(EK_DHCP, "assigned_ip", assigned_ip, false),
    EVF(EK_DHCP, "subnet_mask", subnet_mask, false),
    EVF(EK_DHCP, "hostname", hostname, false),
    EVF(EK_DHCP, "params_fingerprint", params, false),
    EVF(EK_DHCP, "vendor_class_identifier", vendor, false),
    EVF(EK_MDNS, "type", mdns_type, false),
    EVF(EK_MDNS, "hostnames", mdns_host, true),
    EVF(EK_MDNS, "services.model", model, true),
    EVF(EK_NBNS, "name", nb_name, false),
    EVF(EK_NBNS, "suffix", nb_suffix, false),
    EVF(EK_NBNS, "opcode", nb_opcode, false),
    EVF(EK_NBNS, "type", nb_type, false),
    EVF(EK_LLMNR, "type", llmnr_type, false),
    EVF(EK_LLMNR, "answers.rrname", llmnr_name, true),
    EVF(EK_SSDP, "type", ssdp_type, false),
    EVF(EK_SSDP, "server", ssdp_server, false),
    EVF(EK_SSDP, "nt", ssdp_nt, false),
    EVF(EK_SSDP, "st", ssdp_nt, false),
    EVF(EK_HTTP, "http_user_agent", ua, false),
    EVF(EK_TLS, "ja3.hash", ja3, false),
    EVF(EK_TLS, "ja4", ja4, false),
    EVF(EK_ARP, "src_mac", arp_mac, false),
    EVF(EK_ARP, "src_ip", arp_ip, false),
};
#undef EVF
#define EVB_SRC (1U << 31) /* src_ip seen */
#define EVB_SVC (1U << 30) /* services written */
#define EVB_QRY (1U << 29) /* queries written */
_Static_assert(sizeof(ev_fields) / sizeof(ev_fields[0]) <= 29, "ev_fields bits meet EVB_*");

static unsigned ev_bit(const struct ev_field *f)
{
    return 1U << (unsigned)(f - ev_fields);
}

/* Each kind's fields are one run of ev_fields, [ek_lo, ek_hi) (the table is in kind
 * order; ev_ranges_ok checks it when an inventory is made). */
static const uint8_t ek_lo[EK_COUNT] = {0, 0, 24, 8, 11, 15, 17, 21, 22};
static const uint8_t ek_hi[EK_COUNT] = {0, 8, 26, 11, 15, 17, 21, 22, 24};

static bool ev_ranges_ok(void)
{
    for (size_t i = 0; i < sizeof(ev_fields) / sizeof(ev_fields[0]); i++) {
        unsigned k = ev_fields[i].kind;
        if (i < ek_lo[k] || i >= ek_hi[k])
            return false;
    }
    return ek_hi[EK_ARP] == sizeof(ev_fields) / sizeof(ev_fields[0]);
}

/* What is enough to stop reading an event: http and tls say one thing each. */
static unsigned ev_need(unsigned kind)
{
    unsigned need = 0;
    if (kind != EK_HTTP && kind != EK_TLS)
        return 0; /* read to the end */
    for (size_t i = 0; i < sizeof(ev_fields) / sizeof(ev_fields[0]); i++)
        if (ev_fields[i].kind == kind)
            need |= ev_bit(&ev_fields[i]);
    return need | EVB_SRC;
}

/* The device an event from src_ip is about; NULL when the address is no device's
 * (is_internal's answer too, as an address bound to a device is internal). */
static struct inv_device *ev_source(struct inv *v, const char *src)
{
    struct addr ip;
    if (!eve_addr_parse(src, &ip))
        return NULL;
    v->ev.bound = bind_slot(v, &ip, false);
    return bound_dev(v, v->ev.bound);
}

/* True when the field just read (at dst) means the rest of the event cannot change the
 * device (ev_from ignores it): an SSDP search, an NBNS message other than a
 * registration, an LLMNR query. The walk stops there. */
static bool ev_moot(const struct ev *e, const char *dst)
{
    if (dst == e->ssdp_type)
        return strcmp(dst, "search") == 0;
    if (dst == e->nb_opcode)
        return strcmp(dst, "registration") != 0;
    if (dst == e->llmnr_type)
        return strcmp(dst, "response") != 0;
    return false;
}

/* The n bytes at a and b are equal; for the few bytes of a path, cheaper than a call
 * of memcmp for every member of every event line. */
static bool same(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* f (fl bytes) is k (kl bytes) or lies under it ("services.model" under "services"). */
static bool path_under(const char *f, size_t fl, const char *k, size_t kl)
{
    return kl <= fl && (kl == fl || f[kl] == '.') && same(f, k, kl);
}

/* The path (plen bytes) of a value in the event type's object: the part after "dhcp.",
 * or NULL when it lies elsewhere. */
static const char *in_kind(unsigned kind, const char *path, size_t plen, size_t *kl)
{
    size_t tl = ek_names[kind].len;
    if (plen <= tl || path[tl] != '.' || path[0] != ek_names[kind].name[0] ||
        !same(path, ek_names[kind].name, tl))
        return NULL;
    *kl = plen - tl - 1;
    return path + tl + 1;
}

static bool is_src_ip(const char *path, size_t plen)
{
    return plen == 6 && memcmp(path, "src_ip", 6) == 0;
}

/* What a string value under path is to an event of kind: an index of ev_fields, or
 * one of these. */
enum { F_NONE = -1, F_SRC = -2, F_SVC = -3, F_QRY = -4 };

static int ev_field_of(unsigned kind, const char *p, size_t plen)
{
    if (is_src_ip(p, plen))
        return F_SRC;
    size_t kl;
    const char *k = in_kind(kind, p, plen, &kl);
    if (k == NULL)
        return F_NONE;
    if (kind == EK_MDNS && kl == 13 && memcmp(k, "services.type", 13) == 0)
        return F_SVC;
    if (kind == EK_MDNS && kl == 14 && memcmp(k, "queries.rrname", 14) == 0)
        return F_QRY;
    for (size_t i = ek_lo[kind]; i < ek_hi[kind]; i++)
        if (ev_fields[i].plen == kl && same(k, ev_fields[i].path, kl))
            return (int)i;
    return F_NONE;
}

/* Takes the string s (n bytes, no NUL among them; not NUL-terminated) as the value of
 * field (ev_field_of); false when the rest of the event is not needed. */
static bool ev_take(struct ev *e, int field, const char *s, size_t n)
{
    if (field == F_SRC) {
        str_setn(e->src_ip, sizeof(e->src_ip), s, n);
        e->got |= EVB_SRC;
        e->set |= EVB_SRC;
        if (e->kind >= EK_MDNS) {
            /* the rest is about the device at src_ip: none, nothing to read */
            e->from = ev_source(e->v, e->src_ip);
            if (e->from == NULL) {
                e->no_device = true;
                return false;
            }
        }
        return e->need == 0 || (e->got & e->need) != e->need;
    }
    if (field == F_SVC || field == F_QRY) {
        char b[INV_SVC_MAX]; /* what set_add reads of s at most */
        size_t k = n < sizeof(b) - 1 ? n : sizeof(b) - 1;
        memcpy(b, s, k);
        b[k] = '\0';
        set_add(field == F_SVC ? &e->services[0][0] : &e->queries[0][0], INV_SVC_MAX,
                INV_SVC_N, b);
        e->set |= field == F_SVC ? EVB_SVC : EVB_QRY;
        return true;
    }
    if (field < 0)
        return true;
    const struct ev_field *f = &ev_fields[field];
    char *dst = (char *)e + f->off;
    if (!f->first || dst[0] == '\0')
        str_setn(dst, f->len, s, n);
    e->got |= ev_bit(f);
    e->set |= ev_bit(f);
    if (ev_moot(e, dst))
        return false;
    return e->need == 0 || (e->got & e->need) != e->need;
}

static bool ev_cb(const struct jscan_val *val, void *ud)
{
    struct ev *e = ud;
    if (val->type != JSCAN_STR)
        return true;
    /* jscan's strings hold no NUL (one decoded from \u0000 cuts the value) */
    return ev_take(e, ev_field_of(e->kind, val->path, val->plen), val->s, val->n);
}

/* Sets a classification input; true when it changed. */
static bool str_upd(char *dst, size_t n, const char *s)
{
    char t[INV_TEXT_MAX];
    str_set(t, n < sizeof(t) ? n : sizeof(t), s);
    if (strcmp(t, dst) == 0)
        return false;
    memcpy(dst, t, strlen(t) + 1);
    return true;
}

/* A name as the inventory keeps it: without a trailing ".local" / ".". */
static void set_name(struct inv_device *d, const char *name, enum inv_name_src src, bool *chg)
{
    char n[INV_NAME_MAX];
    str_set(n, sizeof(n), name);
    size_t l = strlen(n);
    if (l > 6 && strcasecmp(n + l - 6, ".local") == 0)
        n[l - 6] = '\0';
    l = strlen(n);
    if (l > 0 && n[l - 1] == '.')
        n[l - 1] = '\0';
    if (n[0] == '\0' || (unsigned)src < d->name_src)
        return;
    if (strcmp(n, d->name) != 0) {
        if (d->name[0] != '\0' || src != d->name_src)
            *chg = d->name[0] != '\0' ? true : *chg;
        if (d->name[0] == '\0')
            *chg = true;
        memcpy(d->name, n, sizeof(n));
        d->ver++;
    }
    if (d->name_src != (uint8_t)src)
        d->ver++;
    d->name_src = (uint8_t)src;
}

/* The inventory's kind of an event type (jscan_event_type), else EK_NONE. Asked of
 * every event line: its first letter picks the one candidate (the kinds' names begin
 * with different letters; event_kinds_ok checks it against ek_names), compared as a
 * constant, without a table to fetch. */
static unsigned event_kind(const char *t, size_t n)
{
#define EK_IS(name, k)                                                                  \
    (n == sizeof(name) - 1 && memcmp(t, name, sizeof(name) - 1) == 0 ? (k) : EK_NONE)
    switch (n > 0 ? t[0] : '\0') {
    case 'a': return EK_IS("arp", EK_ARP);
    case 'd': return EK_IS("dhcp", EK_DHCP);
    case 'h': return EK_IS("http", EK_HTTP);
    case 'l': return EK_IS("llmnr", EK_LLMNR);
    case 'm': return EK_IS("mdns", EK_MDNS);
    case 'n': return EK_IS("nbns", EK_NBNS);
    case 's': return EK_IS("ssdp", EK_SSDP);
    case 't': return EK_IS("tls", EK_TLS);
    default: return EK_NONE;
    }
#undef EK_IS
}

/* The DHCP server answering marks its device a router candidate. */
static void ev_dhcp_server(struct inv *v, const struct ev *e, uint64_t ts)
{
    if (strcmp(e->dhcp_type, "reply") != 0 || e->src_ip[0] == '\0')
        return;
    /* a LAN has one or two servers, answering often: their address is parsed once */
    if (strcmp(e->src_ip, v->srv_s) != 0) {
        if (!eve_addr_parse(e->src_ip, &v->srv_a)) {
            v->srv_s[0] = '\0';
            return;
        }
        memcpy(v->srv_s, e->src_ip, sizeof(v->srv_s));
    }
    struct inv_device *srv = dev_by_ip(v, &v->srv_a);
    if (srv == NULL || srv->dhcp_server)
        return;
    srv->dhcp_server = true;
    mark_dirty(v, srv);
    unsigned old = srv->kind;
    inv_classify(srv);
    if (srv->kind != old) {
        static const char *const what[] = {"kind"};
        write_asset(v, srv, "changed", what, 1, ts);
    }
}

/* Adds a learned IPv4 prefix (net/bits) to home_net. */
static void home_learn(struct inv *v, uint32_t net, unsigned bits)
{
    if (v->nhome == INV_HOME_MAX)
        return;
    struct home_pfx *h = &v->home[v->nhome];
    memset(h, 0, sizeof(*h));
    h->a.b[10] = h->a.b[11] = 0xff;
    h->a.b[12] = (uint8_t)(net >> 24);
    h->a.b[13] = (uint8_t)(net >> 16);
    h->a.b[14] = (uint8_t)(net >> 8);
    h->a.b[15] = (uint8_t)net;
    h->bits = 96 + bits;
    h->learned = true;
    home_fill(h);
    home_added(v);
    v->learned++;
    v->gen++;
    v->epoch++;
}

/* A DHCP ACK's address and subnet mask: the LAN's prefix, learned when home_net does
 * not hold the address (a LAN numbered outside the private ranges). Masks wider than a
 * /8 or narrower than a /30 are not taken. */
static void learn_prefix(struct inv *v, const struct addr *ip, const char *mask_s)
{
    struct addr m;
    if (is_home(v, ip) || mask_s[0] == '\0' || !eve_addr_parse(mask_s, &m) || !addr_is_v4(&m) ||
        !addr_is_v4(ip))
        return;
    uint32_t mask = addr_v4(&m);
    unsigned bits = 0;
    while (bits < 32 && (mask & (0x80000000U >> bits)) != 0)
        bits++;
    if (bits < 8 || bits > 30 || (mask << bits) != 0)
        return; /* not contiguous, or out of range */
    home_learn(v, addr_v4(ip) & mask, bits);
}

static struct inv_device *ev_dhcp(struct inv *v, const struct ev *e, uint64_t ts, bool *created,
                                  bool *name_chg, bool *chg)
{
    uint8_t mac[6];
    struct addr ip;
    ev_dhcp_server(v, e, ts);
    if (!mac_parse(e->client_mac, mac) || (mac[0] & 1) != 0)
        return NULL;
    struct inv_device *d = dev_get(v, mac, NULL, ts, created);
    if (d == NULL)
        return NULL;
    if (strcmp(e->dhcp_type, "request") == 0) {
        touch(v, d, ts);
        v->ev.touched = true;
        if (e->hostname[0] != '\0')
            set_name(d, e->hostname, INV_NS_DHCP, name_chg);
        if (e->vendor[0] != '\0')
            *chg |= str_upd(d->vendor_class, sizeof(d->vendor_class), e->vendor);
        if (e->params[0] != '\0')
            *chg |= str_upd(d->dhcp_fp, sizeof(d->dhcp_fp), e->params);
    } else if (strcmp(e->dhcp_kind, "ack") == 0 && eve_addr_parse(e->assigned_ip, &ip) &&
               !addr_unusable(&ip)) {
        learn_prefix(v, &ip, e->subnet_mask);
        bind_ip(v, d, &ip, ts, *created, true);
        if (e->hostname[0] != '\0' && d->name[0] == '\0')
            set_name(d, e->hostname, INV_NS_DHCP, name_chg);
    }
    return d;
}

static struct inv_device *ev_arp(struct inv *v, const struct ev *e, uint64_t ts, bool *created)
{
    uint8_t mac[6];
    struct addr ip;
    if (!mac_parse(e->arp_mac, mac) || (mac[0] & 1) != 0 || !eve_addr_parse(e->arp_ip, &ip) ||
        addr_unusable(&ip))
        return NULL;
    struct inv_device *d = dev_get(v, mac, NULL, ts, created);
    if (d != NULL) {
        touch(v, d, ts);
        v->ev.touched = true;
        v->ev.bound = bind_ip(v, d, &ip, ts, *created, true);
    }
    return d;
}

static void ev_mdns(struct inv_device *d, const struct ev *e, bool *name_chg, bool *chg)
{
    if (strcmp(e->mdns_type, "response") != 0) {
        for (int i = 0; i < INV_SVC_N; i++)
            if (e->queries[i][0] == '_')
                *chg |= set_add(&d->queries[0][0], INV_SVC_MAX, INV_SVC_N, e->queries[i]);
        return;
    }
    if (e->mdns_host[0] != '\0')
        set_name(d, e->mdns_host, INV_NS_MDNS, name_chg);
    for (int i = 0; i < INV_SVC_N; i++)
        *chg |= set_add(&d->services[0][0], INV_SVC_MAX, INV_SVC_N, e->services[i]);
    if (e->model[0] != '\0' && d->model[0] == '\0')
        *chg |= str_upd(d->model, sizeof(d->model), e->model);
}

/* Events from a device's current address: mdns, nbns, llmnr, ssdp, http, tls. */
static void ev_from(struct inv_device *d, const struct ev *e, bool *name_chg, bool *chg)
{
    switch (e->kind) {
    case EK_MDNS: ev_mdns(d, e, name_chg, chg); break;
    case EK_NBNS:
        if (strcmp(e->nb_opcode, "registration") == 0 && strcmp(e->nb_suffix, "<00>") == 0 &&
            e->nb_name[0] != '\0' && d->name[0] == '\0')
            set_name(d, e->nb_name, INV_NS_NBNS, name_chg);
        break;
    case EK_LLMNR:
        if (strcmp(e->llmnr_type, "response") == 0 && e->llmnr_name[0] != '\0')
            set_name(d, e->llmnr_name, INV_NS_LLMNR, name_chg);
        break;
    case EK_SSDP: {
        bool announce = strcmp(e->ssdp_type, "search") != 0;
        if (announce && e->ssdp_server[0] != '\0' &&
            str_upd(d->ssdp_server, sizeof(d->ssdp_server), e->ssdp_server)) {
            *chg = true;
            d->ver++;
        }
        if (announce && !d->igd && strstr(e->ssdp_nt, "InternetGatewayDevice") != NULL) {
            d->igd = true;
            *chg = true;
        }
        break;
    }
    case EK_HTTP: *chg |= set_add(&d->ua[0][0], INV_TEXT_MAX, INV_SET_N, e->ua); break;
    case EK_TLS: /* JA3/JA4 are kept, the rules do not read them */
        set_add(&d->ja3[0][0], sizeof(d->ja3[0]), INV_SET_N, e->ja3);
        set_add(&d->ja4[0][0], sizeof(d->ja4[0]), INV_SET_N, e->ja4);
        break;
    default: break;
    }
}

/* After an event: the kind again when an input of the rules changed, and the asset
 * event saying what changed. */
static void ev_done(struct inv *v, struct inv_device *d, bool created, bool name_chg, bool chg,
                    uint64_t ts)
{
    unsigned old = d->kind;
    mark_dirty(v, d);
    if (created || name_chg || chg)
        inv_classify(d);
    if (created) {
        on_created(v, d, ts);
        return;
    }
    const char *what[2];
    unsigned n = 0;
    if (name_chg)
        what[n++] = "name";
    if (d->kind != old)
        what[n++] = "kind";
    if (n > 0)
        write_asset(v, d, "changed", what, n, ts);
}

/* event_kind knows each name of ek_names as its kind. */
static bool event_kinds_ok(void)
{
    for (unsigned k = 1; k < EK_COUNT; k++)
        if (event_kind(ek_names[k].name, ek_names[k].len) != k)
            return false;
    return true;
}

bool inv_event_begin(struct inv *v, const char *type, size_t tlen, uint64_t ts)
{
    unsigned kind = event_kind(type, tlen);
    if (kind == EK_NONE)
        return false;
    struct ev *e = &v->ev;
    /* no memset of its 2 KB of text: each string is empty once its first byte is, and
     * only those the event before wrote are not (a repeat writes none) */
    for (unsigned b = e->set & ~(EVB_SRC | EVB_SVC | EVB_QRY); b != 0; b &= b - 1)
        ((char *)e + ev_fields[__builtin_ctz(b)].off)[0] = '\0';
    if ((e->set & EVB_SRC) != 0)
        e->src_ip[0] = '\0';
    for (int i = 0; i < INV_SVC_N && (e->set & (EVB_SVC | EVB_QRY)) != 0; i++)
        e->services[i][0] = e->queries[i][0] = '\0';
    e->set = 0;
    e->got = 0;
    e->no_device = false;
    e->touched = false;
    e->from = NULL;
    e->bound = NULL;
    v->rep[v->rep_cur].ok = false; /* until inv_event_noted */
    v->deferring = false;
    e->v = v;
    e->kind = kind;
    e->need = ev_need(kind);
    clock_at(v, ts);
    v->events_read++;
    return true;
}

/* Whether path leads to a value ev_cb keeps: src_ip, the event type's object and, in
 * it, each path of ev_fields (and the two mdns lists) or an object or array on the way
 * to one ("mdns.services" for "mdns.services.model"). ev_cb acts on nothing else, so
 * skipping the rest changes nothing it reads. */
static bool kind_wants(unsigned kind, const char *path, size_t plen)
{
    if (is_src_ip(path, plen))
        return true;
    size_t tl = ek_names[kind].len, kl;
    if (plen == tl)
        return same(path, ek_names[kind].name, tl);
    const char *k = in_kind(kind, path, plen, &kl);
    if (k == NULL)
        return false;
    for (size_t i = ek_lo[kind]; i < ek_hi[kind]; i++)
        if (path_under(ev_fields[i].path, ev_fields[i].plen, k, kl))
            return true;
    return kind == EK_MDNS &&
           (path_under("services.type", 13, k, kl) || path_under("queries.rrname", 14, k, kl));
}

bool inv_event_want(const char *path, size_t plen, void *inv)
{
    return kind_wants(((const struct inv *)inv)->ev.kind, path, plen);
}

bool inv_reads(const char *type, size_t tlen, const char *path, size_t plen)
{
    unsigned kind = event_kind(type, tlen);
    return kind != EK_NONE && kind_wants(kind, path, plen);
}

void inv_event_noted(struct inv *v)
{
    struct inv_rep *cur = &v->rep[v->rep_cur];
    v->events_noted++;
    cur->ok = true;
    cur->stopped = false;
    cur->n = 0;
    cur->used = 0;
    /* maybe a repeat: its values are only compared with those of the one before */
    v->deferring = v->rep_valid && v->rep_kind == v->ev.kind && v->rep_epoch == v->epoch;
    v->rep_at = 0;
}

static bool rep_stop(struct inv *v);

bool inv_event_val(const struct jscan_val *val, void *inv)
{
    struct inv *v = inv;
    /* a value read from the line is not kept: no repeat of this event, nor by the next */
    if (!rep_stop(v))
        return false;
    return ev_cb(val, &v->ev);
}

/* A noted value into the event. */
static bool take_str(struct inv *v, const char *path, size_t plen, const char *s, size_t n)
{
    struct ev *e = &v->ev;
    /* the field of a path, kept by the path's address (a literal: the same address
     * always names the same path) */
    struct inv_note_field *c = &v->note_field[((uintptr_t)path >> 3) % INV_NOTE_FIELDS];
    if (c->path != path || c->kind != e->kind) {
        c->path = path;
        c->kind = (uint8_t)e->kind;
        c->field = (int8_t)ev_field_of(e->kind, path, plen);
    }
    return ev_take(e, c->field, s, n); /* plain: no NUL, no other control byte */
}

/* Keeps a value of the event in r (r no longer ok when it does not fit). */
static void rep_add(struct inv_rep *r, const char *path, size_t plen, const char *s, size_t n)
{
    if (!r->ok || r->n == INV_REP_VALS || n > INV_REP_TEXT - r->used || plen > UINT16_MAX) {
        r->ok = false;
        return;
    }
    r->path[r->n] = path;
    r->plen[r->n] = (uint16_t)plen;
    r->off[r->n] = (uint16_t)r->used;
    r->len[r->n] = (uint16_t)n;
    memcpy(r->text + r->used, s, n);
    r->used += n;
    r->n++;
}

/* The values kept in r, into the event as if read one by one; false once it wants no more. */
static bool rep_take(struct inv *v, const struct inv_rep *r)
{
    for (unsigned i = 0; i < r->n; i++)
        if (!take_str(v, r->path[i], r->plen[i], r->text + r->off[i], r->len[i]))
            return false;
    return true;
}

/* cur (empty) becomes the first k values of prev. */
static void rep_prefix(struct inv_rep *cur, const struct inv_rep *prev, unsigned k)
{
    size_t used = k < prev->n ? prev->off[k] : prev->used;
    memcpy(cur->path, prev->path, k * sizeof(cur->path[0]));
    memcpy(cur->plen, prev->plen, k * sizeof(cur->plen[0]));
    memcpy(cur->off, prev->off, k * sizeof(cur->off[0]));
    memcpy(cur->len, prev->len, k * sizeof(cur->len[0]));
    memcpy(cur->text, prev->text, used);
    cur->n = k;
    cur->used = used;
}

/* While a repeat is possible (deferring): whether value i of the event is value i of
 * the one before (a path is a literal: the same address for the same path). */
static bool rep_match(const struct inv_rep *prev, unsigned i, const char *path, const char *s,
                      size_t n)
{
    return i < prev->n && prev->path[i] == path && prev->len[i] == n &&
           memcmp(prev->text + prev->off[i], s, n) == 0;
}

/* No repeat (any more): the values matched so far, those of the event before, are
 * read now. False when the event wants no more. */
static bool rep_undefer(struct inv *v)
{
    struct inv_rep *cur = &v->rep[v->rep_cur];
    if (!v->deferring)
        return true;
    v->deferring = false;
    rep_prefix(cur, &v->rep[v->rep_cur ^ 1U], v->rep_at);
    if (rep_take(v, cur))
        return true;
    cur->stopped = true;
    return false;
}

/* A value that is not kept is read: rep_undefer, and the event repeats nothing. */
static bool rep_stop(struct inv *v)
{
    bool more = rep_undefer(v);
    v->rep[v->rep_cur].ok = false;
    return more;
}

bool inv_event_str(struct inv *v, const char *path, size_t plen, const char *s, size_t n)
{
    struct inv_rep *cur = &v->rep[v->rep_cur];
    if (v->deferring) {
        const struct inv_rep *prev = &v->rep[v->rep_cur ^ 1U];
        if (rep_match(prev, v->rep_at, path, s, n)) {
            v->rep_at++;
            /* the one before was not read further: neither is this one */
            return !(prev->stopped && v->rep_at == prev->n);
        }
        if (!rep_undefer(v))
            return false;
    }
    rep_add(cur, path, plen, s, n);
    if (take_str(v, path, plen, s, n))
        return true;
    cur->stopped = true;
    return false;
}

/* What reading again an event read before does, its device d (NULL: none) as it was:
 * touches it if the event did, and marks it dirty. */
static void read_again(struct inv *v, struct inv_device *d, bool touched, uint64_t ts)
{
    v->deferring = false;
    if (d == NULL)
        return;
    if (touched)
        touch(v, d, ts);
    mark_dirty(v, d);
}

/* The event is a repeat of the one before: what reading it would do. */
static void rep_hit(struct inv *v, uint64_t ts)
{
    v->events_repeated++;
    read_again(v, v->rep_dev, v->rep_touch, ts);
}

/* At the end of an event whose values so far all matched the one before: true when it
 * was a repeat (then done). */
static bool ev_repeat(struct inv *v, uint64_t ts)
{
    if (v->rep_at == v->rep[v->rep_cur ^ 1U].n) {
        rep_hit(v, ts);
        return true;
    }
    rep_undefer(v); /* fewer values than the one before: read now */
    return false;
}

/* The event just read (not a repeat) is the one the next is compared with. */
static void rep_keep(struct inv *v, struct inv_device *d)
{
    struct inv_rep *cur = &v->rep[v->rep_cur];
    v->rep_valid = cur->ok;
    if (!cur->ok)
        return;
    v->rep_kind = v->ev.kind;
    v->rep_dev = d;
    v->rep_touch = v->ev.touched;
    v->rep_epoch = v->epoch;
    v->rep_cur ^= 1U;
}

static struct inv_device *ev_read(struct inv *v, uint64_t ts);

/* inv_event_end; the device of an event read (NULL: none, or not read) */
static struct inv_device *event_end(struct inv *v, int rc, uint64_t ts)
{
    if (rc != 0) {
        v->events_bad++;
        v->deferring = false;
        v->rep_valid = false;
        return NULL;
    }
    if (v->deferring && ev_repeat(v, ts))
        return NULL;
    struct inv_device *d = ev_read(v, ts);
    rep_keep(v, d);
    return d;
}

void inv_event_end(struct inv *v, int rc, uint64_t ts)
{
    (void)event_end(v, rc, ts);
}

/* What the event read tells; its device (NULL: none). */
static struct inv_device *ev_read(struct inv *v, uint64_t ts)
{
    struct ev *e = &v->ev;
    if (e->no_device)
        return NULL;
    struct inv_device *d = NULL;
    bool created = false, name_chg = false, chg = false;
    if (e->kind == EK_DHCP) {
        d = ev_dhcp(v, e, ts, &created, &name_chg, &chg);
    } else if (e->kind == EK_ARP) {
        d = ev_arp(v, e, ts, &created);
    } else if (e->from != NULL) {
        d = e->from;
        ev_from(d, e, &name_chg, &chg);
    }
    if (d != NULL)
        ev_done(v, d, created, name_chg, chg, ts);
    return d;
}

/* Whether the noted values of line are those of the event before, as inv_event_str
 * would find them one by one: all of them, or its first ones when the one before was
 * not read further; each a plain string. */
static bool notes_repeat(const struct inv *v, const char *line, size_t len,
                         const struct app_notes *nt)
{
    const struct inv_rep *prev = &v->rep[v->rep_cur ^ 1U];
    if (prev->stopped ? nt->n < prev->n : nt->n != prev->n)
        return false;
    for (unsigned i = 0; i < prev->n; i++) {
        const struct app_note *a = &nt->v[i];
        if (a->text == 0 || a->at >= len || a->text > len - a->at ||
            !rep_match(prev, i, a->path, line + a->at + 1, a->text - 1))
            return false;
    }
    return true;
}

/* The noted values, in the line's order, each read alone (a plain string as it stands,
 * anything else decoded by jscan_value). The walk's result (0, or -1 for a value that
 * does not read). */
static int read_notes(struct inv *v, const char *line, size_t len, const struct app_notes *nt)
{
    for (unsigned i = 0; i < nt->n; i++) {
        const struct app_note *a = &nt->v[i];
        if (a->at >= len || a->text > len - a->at)
            return -1;
        int rc;
        if (a->text != 0)
            rc = inv_event_str(v, a->path, a->plen, line + a->at + 1, a->text - 1) ? 0 : 1;
        else
            rc = jscan_value(line + a->at, len - a->at, a->path, a->plen, inv_event_val, v);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    return 0;
}

/* The slot of struct inv_recall for the event being read (NULL: not one to recall, a
 * DHCP event or one with a value that is not a plain string) and the hash of its type
 * and noted paths and values (*h, never 0). */
static struct inv_recall *recall_slot(struct inv *v, const char *line, size_t len,
                                      const struct app_notes *nt, uint64_t *h)
{
    uint8_t buf[1024];
    size_t n = 0;
    if (v->ev.kind == EK_DHCP)
        return NULL;
    buf[n++] = (uint8_t)v->ev.kind;
    for (unsigned i = 0; i < nt->n; i++) {
        const struct app_note *a = &nt->v[i];
        if (a->text == 0 || a->at >= len || a->text > len - a->at)
            return NULL;
        size_t l = a->text - 1;
        if (a->plen > 255 || l > UINT16_MAX || a->plen + l + 3 > sizeof(buf) - n)
            return NULL;
        buf[n++] = (uint8_t)a->plen;
        memcpy(buf + n, a->path, a->plen);
        n += a->plen;
        buf[n++] = (uint8_t)l;
        buf[n++] = (uint8_t)(l >> 8);
        memcpy(buf + n, line + a->at + 1, l);
        n += l;
    }
    *h = siphash24(&v->hk, buf, n) | 1U;
    /* the slot by an unkeyed mix (the same events meet in the same slots every run, so
     * the counts repeat); only the keyed hash tells an event */
    uint64_t x = n, w;
    for (size_t i = 0; i < n; i += 8) {
        w = 0;
        memcpy(&w, buf + i, n - i < 8 ? n - i : 8);
        x = (x ^ w) * 0x9e3779b97f4a7c15ULL;
        x ^= x >> 32;
    }
    return &v->recall[x % INV_RECALL];
}

/* Whether the event is r's, with its device and binding as they were: then done as a
 * repeat is (rep_hit). */
static bool recall_hit(struct inv *v, const struct inv_recall *r, uint64_t h, uint64_t ts)
{
    if (r->h != h || r->dev - 1 >= v->n || r->bind - 1 >= v->nbind)
        return false;
    struct inv_device *d = &v->dev[r->dev - 1];
    if (d->ver != r->ver || v->bind[r->bind - 1].dev != r->dev)
        return false;
    v->events_recalled++;
    read_again(v, d, r->touch, ts);
    return true;
}

/* After the event was read: what it did, when it went by a binding to its device. */
static void recall_keep(struct inv *v, struct inv_recall *r, uint64_t h, const struct inv_device *d)
{
    const struct ev *e = &v->ev;
    uint32_t id = d != NULL ? dev_id(v, d) + 1 : 0;
    if (id == 0 || e->bound == NULL || e->bound->dev != id)
        return;
    r->h = h;
    r->dev = id;
    r->ver = d->ver;
    r->bind = (uint32_t)(e->bound - v->bind) + 1;
    r->touch = e->touched;
}

void inv_event_notes(struct inv *v, const char *type, size_t tlen, const char *line, size_t len,
                     const struct app_notes *nt, uint64_t ts)
{
    if (!inv_event_begin(v, type, tlen, ts))
        return;
    inv_event_noted(v);
    /* a repeat (a flood of DHCP discovers, say) is found in one pass, no value read */
    if (v->deferring && notes_repeat(v, line, len, nt)) {
        rep_hit(v, ts);
        return;
    }
    uint64_t h = 0;
    struct inv_recall *r = recall_slot(v, line, len, nt, &h);
    if (r != NULL && recall_hit(v, r, h, ts))
        return;
    struct inv_device *d = event_end(v, read_notes(v, line, len, nt), ts);
    if (r != NULL)
        recall_keep(v, r, h, d);
}

void inv_event(struct inv *v, const char *json, size_t len, uint64_t ts)
{
    const char *type;
    size_t tlen;
    if (jscan_event_type(json, len, &type, &tlen) && inv_event_begin(v, type, tlen, ts))
        inv_event_end(v, jscan_want(json, len, inv_event_want, inv_event_val, v), ts);
}

/* new_device alerts, once the device had time to say its name */
static void raise_pending(struct inv *v, uint64_t now)
{
    unsigned k = 0;
    for (unsigned i = 0; i < v->npending; i++) {
        struct inv_device *d = &v->dev[v->pending[i]];
        if (now >= d->first_seen + v->conf.new_device_delay_us) {
            /* dated when it had its address, so the alert names this device */
            uint64_t at = d->ip_since > d->first_seen ? d->ip_since : d->first_seen;
            if (v->host.new_device != NULL)
                v->host.new_device(v->host.ud, d, at);
            v->new_alerts++;
        } else {
            v->pending[k++] = v->pending[i];
        }
    }
    v->npending = k;
}

void inv_housekeep(struct inv *v, uint64_t now)
{
    clock_at(v, now);
    raise_pending(v, now);
    /* quiet devices: the table is walked only once one may be due (a walk per
     * housekeeping tick cost max_devices steps a second of packet time) */
    if (v->conf.quiet_us > 0 && now > v->quiet_due) {
        uint64_t due = UINT64_MAX;
        for (size_t i = 0; i < v->n; i++) {
            struct inv_device *d = &v->dev[i];
            if (d->quiet)
                continue;
            if (now > d->last_seen + v->conf.quiet_us) {
                d->quiet = true;
                write_asset(v, d, "quiet", NULL, 0, now);
            } else if (d->last_seen + v->conf.quiet_us < due) {
                due = d->last_seen + v->conf.quiet_us;
            }
        }
        v->quiet_due = due;
    }
    if (v->conf.state_file[0] != '\0' && v->conf.save_interval_us > 0) {
        if (v->next_save == 0) {
            v->next_save = now + v->conf.save_interval_us;
        } else if (now >= v->next_save &&
                   (v->conf.save_wall_us == 0 ||
                    ts_mono_us() - v->last_save_wall >= v->conf.save_wall_us)) {
            v->last_save_wall = ts_mono_us();
            char err[256];
            bool ok = inv_save_changes(v, err, sizeof(err)) == 0;
            if (!ok && !v->save_failed)
                log_error("inventory", "%s (logged once until a save succeeds)", err);
            v->save_failed = !ok;
            v->next_save = now + v->conf.save_interval_us;
        }
    }
}

void inv_flush(struct inv *v)
{
    for (unsigned i = 0; i < v->npending; i++) {
        const struct inv_device *d = &v->dev[v->pending[i]];
        if (v->host.new_device != NULL)
            v->host.new_device(v->host.ud, d, d->ip_since > d->first_seen ? d->ip_since : d->first_seen);
        v->new_alerts++;
    }
    v->npending = 0;
}

bool inv_attribute(struct inv *v, const struct addr *ip, uint64_t ts, struct inv_attrib *out)
{
    const struct inv_device *d = NULL;
    memset(out, 0, sizeof(*out));
    /* newest binding of ip that began at or before ts: the address's chain */
    struct inv_bind *b = bind_slot(v, ip, false);
    uint32_t k = b != NULL ? b->last : 0;
    for (unsigned steps = 0; k != 0 && steps < INV_HIST_WALK; steps++) {
        const struct inv_hist *h = &v->hist[k - 1];
        if (memcmp(&h->ip, ip, sizeof(*ip)) != 0)
            break; /* overwritten by the ring */
        if (h->from <= ts) {
            d = &v->dev[h->dev];
            out->by_history = true;
            break;
        }
        k = h->prev;
    }
    if (d == NULL)
        d = dev_by_ip(v, ip);
    if (d == NULL)
        return false;
    out->has_mac = d->has_mac;
    memcpy(out->mac, d->mac, 6);
    if (d->name[0] != '\0') {
        memcpy(v->name_buf, d->name, sizeof(v->name_buf));
        out->name = v->name_buf;
    }
    out->maker = d->maker;
    out->kind = d->kind != INV_KIND_UNKNOWN ? inv_kind_name(d->kind) : NULL;
    return true;
}

/* ---- persistence ----------------------------------------------------------------------
 * A text file, one record a line, tab-separated (values never hold tabs or newlines):
 *   otasuke-inventory 1
 *   D mac|ip-key ip first last flags name_src name vendor fp model ssdp services queries
 *     uas ja3s ja4s        (sets joined with \x1f)
 *   H ip device-number from
 * Written to a temporary file and renamed over the old one.
 */

/* A state file line built in memory and written with one fwrite: fprintf's parsing of
 * its format was most of a save's cost (a full save writes every binding of the
 * history). A line never outgrows the buffer: it holds a device's fields once, each
 * bounded by its array in struct inv_device, with a separator or so between them. */
struct line {
    char b[sizeof(struct inv_device) + 256];
    size_t n;
};

static void ln_c(struct line *l, char c)
{
    l->b[l->n++] = c;
}

static void ln_s(struct line *l, const char *s, size_t max)
{
    size_t k = strnlen(s, max);
    memcpy(l->b + l->n, s, k);
    l->n += k;
}

/* "\t" and a field: a number, an address */
static void ln_u64(struct line *l, uint64_t v)
{
    char b[24];
    const char *d = ascii_u64(b, v);
    size_t k = (size_t)(b + sizeof(b) - d);
    ln_c(l, '\t');
    memcpy(l->b + l->n, d, k);
    l->n += k;
}

/* "\t" and a string field (max bytes at most) */
static void ln_str(struct line *l, const char *s, size_t max)
{
    ln_c(l, '\t');
    ln_s(l, s, max);
}

static void ln_addr(struct line *l, const struct addr *a)
{
    char ip[EVE_ADDR_LEN];
    ln_str(l, eve_addr_str(a, ip, sizeof(ip)), sizeof(ip));
}

/* "\t" and the set's members separated by 0x1f */
static void ln_set(struct line *l, const char *set, size_t width, size_t n)
{
    ln_c(l, '\t');
    for (size_t i = 0; i < n && set[i * width] != '\0'; i++) {
        if (i > 0)
            ln_c(l, 0x1f);
        ln_s(l, set + i * width, width);
    }
}

static void put_device(FILE *f, const struct inv_device *d)
{
    struct line l;
    char mac[18] = "-";
    if (d->has_mac)
        fmt_mac(d->mac, mac);
    l.n = 0;
    ln_c(&l, 'D');
    ln_str(&l, mac, sizeof(mac));
    ln_addr(&l, &d->ip);
    ln_u64(&l, d->first_seen);
    ln_u64(&l, d->last_seen);
    ln_u64(&l, (d->dhcp_server ? 1U : 0U) | (d->igd ? 2U : 0U));
    ln_u64(&l, d->name_src);
    ln_str(&l, d->name, sizeof(d->name));
    ln_str(&l, d->vendor_class, sizeof(d->vendor_class));
    ln_str(&l, d->dhcp_fp, sizeof(d->dhcp_fp));
    ln_str(&l, d->model, sizeof(d->model));
    ln_str(&l, d->ssdp_server, sizeof(d->ssdp_server));
    ln_set(&l, &d->services[0][0], INV_SVC_MAX, INV_SVC_N);
    ln_set(&l, &d->queries[0][0], INV_SVC_MAX, INV_SVC_N);
    ln_set(&l, &d->ua[0][0], INV_TEXT_MAX, INV_SET_N);
    ln_set(&l, &d->ja3[0][0], sizeof(d->ja3[0]), INV_SET_N);
    ln_set(&l, &d->ja4[0][0], sizeof(d->ja4[0]), INV_SET_N);
    ln_c(&l, '\n');
    fwrite(l.b, 1, l.n, f);
}

/* Learned prefixes from home[from] on. */
static void put_prefixes(FILE *f, const struct inv *v, unsigned from)
{
    char ip[EVE_ADDR_LEN];
    for (unsigned k = from; k < v->nhome; k++) {
        const struct home_pfx *hp = &v->home[k];
        if (hp->learned)
            fprintf(f, "P\t%s/%u\n", eve_addr_str(&hp->a, ip, sizeof(ip)), hp->bits - 96);
    }
}

/* The newest m bindings of the ring, oldest first. */
static void put_hist(FILE *f, const struct inv *v, size_t m)
{
    struct line l;
    if (m > v->hist_len)
        m = v->hist_len;
    for (size_t k = v->hist_len - m; k < v->hist_len; k++) {
        const struct inv_hist *h = &v->hist[(v->hist_head + k) % v->nhist];
        l.n = 0;
        ln_c(&l, 'H');
        ln_addr(&l, &h->ip);
        ln_u64(&l, h->dev);
        ln_u64(&l, h->from);
        ln_c(&l, '\n');
        fwrite(l.b, 1, l.n, f);
    }
}

/* The state file has everything up to now (size: its length after the write). */
static void saved(struct inv *v, long size, bool full)
{
    for (size_t i = 0; i < v->ndirty; i++)
        v->dev[v->dirty[i]].dirty = false;
    v->ndirty = 0;
    v->hist_saved = v->hist_total;
    v->home_saved = v->nhome;
    v->file_bytes = size;
    if (full)
        v->base_bytes = size;
    v->need_full = false;
}

int inv_save(struct inv *v, char *err, size_t errlen)
{
    if (v->conf.state_file[0] == '\0')
        return 0;
    v->need_full = true; /* until this write succeeds */
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", v->conf.state_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return ERR_IO;
    }
    fprintf(f, "otasuke-inventory 1\n");
    for (size_t i = 0; i < v->n; i++)
        put_device(f, &v->dev[i]);
    put_prefixes(f, v, 0);
    put_hist(f, v, v->hist_len);
    long size = ftell(f);
    bool bad = ferror(f) != 0 || size < 0;
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s: write failed: %s", tmp, strerror(errno));
        remove(tmp);
        return ERR_IO;
    }
    if (rename(tmp, v->conf.state_file) != 0) {
        snprintf(err, errlen, "%s: %s", v->conf.state_file, strerror(errno));
        remove(tmp);
        return ERR_IO;
    }
    saved(v, size, true);
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int inv_save_changes(struct inv *v, char *err, size_t errlen)
{
    if (v->conf.state_file[0] == '\0')
        return 0;
    if (v->need_full || v->file_bytes > 2 * v->base_bytes + 65536)
        return inv_save(v, err, errlen);
    if (v->ndirty == 0 && v->hist_total == v->hist_saved && v->home_saved == v->nhome)
        return 0;
    FILE *f = fopen(v->conf.state_file, "a");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", v->conf.state_file, strerror(errno));
        return ERR_IO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size != v->file_bytes) {
        fclose(f); /* not the file written last (replaced, cut): write it anew */
        return inv_save(v, err, errlen);
    }
    /* in table order: a device new since the last save gets, when the file is loaded,
     * the index its bindings (H lines) name */
    qsort(v->dirty, v->ndirty, sizeof(v->dirty[0]), cmp_u32);
    for (size_t i = 0; i < v->ndirty; i++)
        put_device(f, &v->dev[v->dirty[i]]);
    put_prefixes(f, v, v->home_saved);
    put_hist(f, v, v->hist_total - v->hist_saved);
    bool bad = fflush(f) != 0 || ferror(f) != 0;
    long size = ftell(f);
    if (bad || size < 0) {
        int e = errno;
        /* no partial line may stay for the next append to run into */
        if (ftruncate(fileno(f), (off_t)v->file_bytes) != 0)
            log_warn("inventory", "%s: could not cut a failed append: %s", v->conf.state_file,
                     strerror(errno));
        fclose(f);
        v->need_full = true;
        snprintf(err, errlen, "%s: append failed: %s", v->conf.state_file, strerror(e));
        return ERR_IO;
    }
    if (fclose(f) != 0) {
        v->need_full = true;
        snprintf(err, errlen, "%s: append failed: %s", v->conf.state_file, strerror(errno));
        return ERR_IO;
    }
    saved(v, size, false);
    return 0;
}

/* Splits line at tabs into at most max fields; returns the count. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (t == NULL)
            break;
        *t = '\0';
        p = t + 1;
    }
    char *nl = strpbrk(f[n - 1], "\r\n");
    if (nl != NULL)
        *nl = '\0';
    return n;
}

static void get_set(char *set, size_t width, size_t n, const char *s)
{
    size_t i = 0;
    while (*s != '\0' && i < n) {
        const char *e = strchr(s, 0x1f);
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l >= width)
            l = width - 1;
        memcpy(set + i * width, s, l);
        set[i * width + l] = '\0';
        i++;
        s = e ? e + 1 : s + strlen(s);
    }
}

static void load_device(struct inv *v, char **fld)
{
    uint8_t mac[6];
    struct addr ip;
    bool hm = mac_parse(fld[1], mac);
    if (!eve_addr_parse(fld[2], &ip)) {
        memset(&ip, 0, sizeof(ip));
        if (!hm)
            return;
    }
    bool created;
    struct inv_device *d = dev_get(v, hm ? mac : NULL, &ip, 0, &created);
    if (d == NULL)
        return; /* over max_devices: counted */
    d->ip = ip;
    d->first_seen = strtoull(fld[3], NULL, 10);
    d->last_seen = strtoull(fld[4], NULL, 10);
    unsigned flags = (unsigned)strtoul(fld[5], NULL, 10);
    d->dhcp_server = (flags & 1U) != 0;
    d->igd = (flags & 2U) != 0;
    d->name_src = (uint8_t)strtoul(fld[6], NULL, 10);
    str_set(d->name, sizeof(d->name), fld[7]);
    str_set(d->vendor_class, sizeof(d->vendor_class), fld[8]);
    str_set(d->dhcp_fp, sizeof(d->dhcp_fp), fld[9]);
    str_set(d->model, sizeof(d->model), fld[10]);
    str_set(d->ssdp_server, sizeof(d->ssdp_server), fld[11]);
    /* a later line of the same device (an appended save) replaces the earlier one */
    memset(d->services, 0, sizeof(d->services));
    memset(d->queries, 0, sizeof(d->queries));
    memset(d->ua, 0, sizeof(d->ua));
    memset(d->ja3, 0, sizeof(d->ja3));
    memset(d->ja4, 0, sizeof(d->ja4));
    get_set(&d->services[0][0], INV_SVC_MAX, INV_SVC_N, fld[12]);
    get_set(&d->queries[0][0], INV_SVC_MAX, INV_SVC_N, fld[13]);
    get_set(&d->ua[0][0], INV_TEXT_MAX, INV_SET_N, fld[14]);
    get_set(&d->ja3[0][0], sizeof(d->ja3[0]), INV_SET_N, fld[15]);
    get_set(&d->ja4[0][0], sizeof(d->ja4[0]), INV_SET_N, fld[16]);
    d->loaded = true;
    inv_classify(d);
    if (!addr_unusable(&ip)) {
        struct inv_bind *b = bind_slot(v, &ip, true);
        if (b != NULL)
            b->dev = dev_id(v, d) + 1;
    }
}

static void load_hist(struct inv *v, char **fld)
{
    struct addr ip;
    if (!eve_addr_parse(fld[1], &ip) || addr_unusable(&ip))
        return;
    unsigned long id = strtoul(fld[2], NULL, 10);
    struct inv_bind *b = bind_slot(v, &ip, true);
    if (id < v->n && b != NULL) {
        /* H lines come oldest first: the last one of an address is its current holder
         * (a device's D line may still name an address another device took since) */
        b->dev = (uint32_t)id + 1;
        hist_add(v, b, &ip, (uint32_t)id, strtoull(fld[3], NULL, 10));
    }
}

/* "a.b.c.d/bits": a prefix learned before the restart. */
static void load_prefix(struct inv *v, char *s)
{
    char *slash = strchr(s, '/');
    struct addr a;
    if (slash == NULL)
        return;
    *slash = '\0';
    long bits = strtol(slash + 1, NULL, 10);
    if (!eve_addr_parse(s, &a) || !addr_is_v4(&a) || bits < 8 || bits > 30 || is_home(v, &a))
        return;
    home_learn(v, addr_v4(&a) & (0xffffffffU << (32 - bits)), (unsigned)bits);
}

/* Reads the state file into v (devices marked loaded). A missing file is no error. */
static int inv_load(struct inv *v, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    char *line = xalloc(MEM_CORE, 4096);
    if (line == NULL) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, 4096, f) != NULL) {
        lineno++;
        if (lineno == 1) {
            if (strncmp(line, "otasuke-inventory 1", 19) != 0) {
                snprintf(err, errlen, "%s: not an otasuke inventory file", path);
                rc = ERR_INVAL;
                break;
            }
            continue;
        }
        if (strchr(line, '\n') == NULL && feof(f))
            break; /* a last line cut short (the sensor stopped while appending) */
        char *fld[17];
        int n = split_tabs(line, fld, 17);
        if (fld[0][0] == 'D' && n == 17)
            load_device(v, fld);
        else if (fld[0][0] == 'H' && n == 4)
            load_hist(v, fld);
        else if (fld[0][0] == 'P' && n == 2)
            load_prefix(v, fld[1]);
    }
    xfree(line);
    fclose(f);
    return rc;
}

/* ---- life ------------------------------------------------------------------------------ */

static size_t line_up(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static bool alloc_tables(struct inv *v)
{
    v->nidx = 16;
    while (v->nidx < (size_t)v->conf.max_devices * 2)
        v->nidx <<= 1;
    v->nbind = 16;
    while (v->nbind < (size_t)v->conf.max_devices * 4)
        v->nbind <<= 1;
    v->nhist = v->conf.max_history;
    /* One zeroed block (glibc maps a block this large on its own: fresh pages, not
     * written, so the devices' pages are touched only as devices come, 20 MB at the
     * default max_devices), so that all but its ends lie on huge pages (alloc.c): the
     * tables are read at random, likely a TLB miss each on small pages. The history
     * ring comes first and the devices last, whose ends are reached in order. */
    size_t o_recall = line_up(v->nhist * sizeof(*v->hist));
    size_t o_idx = o_recall + line_up(INV_RECALL * sizeof(*v->recall));
    size_t o_bind = o_idx + line_up(v->nidx * sizeof(*v->idx));
    size_t o_dirty = o_bind + line_up(v->nbind * sizeof(*v->bind));
    size_t o_dev = o_dirty + line_up((size_t)v->conf.max_devices * sizeof(*v->dirty));
    char *t = xcalloc(MEM_CORE, 1, o_dev + (size_t)v->conf.max_devices * sizeof(*v->dev));
    if (t == NULL)
        return false;
    v->tables = t;
    v->hist = (struct inv_hist *)(void *)t;
    v->recall = (struct inv_recall *)(void *)(t + o_recall);
    v->idx = (uint32_t *)(void *)(t + o_idx);
    v->bind = (struct inv_bind *)(void *)(t + o_bind);
    v->dirty = (uint32_t *)(void *)(t + o_dirty);
    v->dev = (struct inv_device *)(void *)(t + o_dev);
    return jw_init(&v->jw, 4096, (size_t)64 * 1024) == 0;
}

/* The state file's directory must exist and be writable (checked at start). */
static bool state_dir_ok(const char *state_file, char *err, size_t errlen)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", state_file);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, W_OK) == 0)
        return true;
    snprintf(err, errlen, "inventory state directory %s: %s", dir, strerror(errno));
    return false;
}

struct inv *inv_new(const struct inv_conf *c, const struct inv_host *h, char *err, size_t errlen)
{
    struct inv *v = xcalloc(MEM_CORE, 1, sizeof(*v));
    if (v == NULL) {
        snprintf(err, errlen, "out of memory for the inventory");
        return NULL;
    }
    v->conf = *c;
    v->last_save_wall = ts_mono_us();
    if (v->conf.max_devices < 1)
        v->conf.max_devices = 1;
    if (v->conf.max_history < 16)
        v->conf.max_history = 16;
    if (h != NULL)
        v->host = *h;
    hash_key_random(&v->hk);
    if (!ev_ranges_ok() || !event_kinds_ok()) { /* a field or kind added out of order */
        snprintf(err, errlen, "inventory: ev_fields, ek_lo/ek_hi and event_kind disagree");
        inv_free(v);
        return NULL;
    }
    if (!alloc_tables(v)) {
        snprintf(err, errlen, "out of memory for inventory.max_devices");
        inv_free(v);
        return NULL;
    }
    if (home_parse(v, c->home_net, err, errlen) != 0) {
        inv_free(v);
        return NULL;
    }
    if (c->oui_dir[0] != '\0') {
        v->oui = oui_load(c->oui_dir, err, errlen);
        if (v->oui == NULL) {
            inv_free(v);
            return NULL;
        }
    }
    if (c->state_file[0] != '\0' && h != NULL && !state_dir_ok(c->state_file, err, errlen)) {
        inv_free(v);
        return NULL;
    }
    if (c->state_file[0] != '\0' && inv_load(v, c->state_file, err, errlen) != 0) {
        inv_free(v);
        return NULL;
    }
    if (v->n > 0)
        v->conf.learning_us = 0; /* a saved inventory: the learning period is over */
    v->need_full = true; /* the first save rewrites the file (appends follow) */
    return v;
}

void inv_free(struct inv *v)
{
    if (v == NULL)
        return;
    oui_free(v->oui);
    xfree(v->tables);
    jw_free(&v->jw);
    xfree(v);
}

void inv_stats(const struct inv *v, struct jw *w)
{
    jw_obj_open(w, "inventory");
    jw_u64(w, "devices", v->n);
    jw_u64(w, "devices_dropped", v->dropped);
    jw_u64(w, "history", v->hist_len);
    jw_u64(w, "addresses_dropped", v->bind_full);
    jw_u64(w, "events_read", v->events_read);
    jw_u64(w, "events_noted", v->events_noted);
    jw_u64(w, "events_repeated", v->events_repeated);
    jw_u64(w, "events_recalled", v->events_recalled);
    jw_u64(w, "events_bad", v->events_bad);
    jw_u64(w, "asset_events", v->assets);
    jw_u64(w, "new_device_alerts", v->new_alerts);
    jw_u64(w, "prefixes_learned", v->learned);
    jw_obj_close(w);
}

size_t inv_count(const struct inv *v)
{
    return v->n;
}

const struct inv_device *inv_get(const struct inv *v, size_t i)
{
    return i < v->n ? &v->dev[i] : NULL;
}

const struct inv_device *inv_find_mac(const struct inv *v, const uint8_t mac[6])
{
    long i = dev_find(v, mac, NULL, NULL);
    return i >= 0 ? &v->dev[i] : NULL;
}

/* ---- printing ---------------------------------------------------------------------------- */

static void csv_put(FILE *o, const char *s, bool last)
{
    bool q = strpbrk(s, ",\"\n") != NULL;
    if (q) {
        fputc('"', o);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                fputc('"', o);
            fputc(*p, o);
        }
        fputc('"', o);
    } else {
        fputs(s, o);
    }
    fputc(last ? '\n' : ',', o);
}

static void print_json(struct inv *v)
{
        struct jw *w = &v->jw;
        for (size_t i = 0; i < v->n; i++) {
            jw_reset(w);
            jw_obj_open(w, NULL);
            inv_device_json(w, &v->dev[i]);
            jw_obj_close(w);
            if (jw_ok(w))
                printf("%.*s\n", (int)w->len, w->buf);
        }
}

static void print_csv(struct inv *v)
{
    char ip[EVE_ADDR_LEN], mac[18], ts[TS_RFC3339_LEN];
        printf("mac,ip,name,maker,randomized,kind,os,evidence,dhcp_vendor_class,"
               "dhcp_fingerprint,model,first_seen,last_seen\n");
        for (size_t i = 0; i < v->n; i++) {
            const struct inv_device *d = &v->dev[i];
            csv_put(stdout, d->has_mac ? (fmt_mac(d->mac, mac), mac) : "", false);
            csv_put(stdout, eve_addr_str(&d->ip, ip, sizeof(ip)), false);
            csv_put(stdout, d->name, false);
            csv_put(stdout, d->maker ? d->maker : "", false);
            csv_put(stdout, d->randomized ? "yes" : "no", false);
            csv_put(stdout, inv_kind_name(d->kind), false);
            csv_put(stdout, d->os, false);
            csv_put(stdout, d->evidence, false);
            csv_put(stdout, d->vendor_class, false);
            csv_put(stdout, d->dhcp_fp, false);
            csv_put(stdout, d->model, false);
            ts_format(ts, sizeof(ts), d->first_seen, 0);
            csv_put(stdout, ts, false);
            ts_format(ts, sizeof(ts), d->last_seen, 0);
            csv_put(stdout, ts, true);
        }
}

static void print_table(struct inv *v)
{
    char ip[EVE_ADDR_LEN], mac[18], ts[TS_RFC3339_LEN];
        printf("%-17s  %-15s  %-20s  %-24s  %-12s  %-16s  %s\n", "MAC", "IP", "NAME", "MAKER",
               "KIND", "OS", "LAST SEEN (UTC)");
        for (size_t i = 0; i < v->n; i++) {
            const struct inv_device *d = &v->dev[i];
            char maker[25];
            if (d->has_mac)
                fmt_mac(d->mac, mac);
            else
                snprintf(mac, sizeof(mac), "-");
            snprintf(maker, sizeof(maker), "%s",
                     d->maker ? d->maker : d->randomized ? "(randomized MAC)" : "-");
            ts_format(ts, sizeof(ts), d->last_seen, 0);
            printf("%-17s  %-15s  %-20s  %-24s  %-12s  %-16s  %.19s\n", mac,
                   eve_addr_str(&d->ip, ip, sizeof(ip)), d->name[0] ? d->name : "-", maker,
                   inv_kind_name(d->kind), d->os[0] ? d->os : "-", ts);
        }
}

int inv_print_file(const char *state_file, const char *oui_dir, const char *format, char *err,
                   size_t errlen)
{
    struct inv_conf c;
    memset(&c, 0, sizeof(c));
    c.max_devices = 16;
    FILE *f = fopen(state_file, "r");
    if (f != NULL) {
        int ch, prev = '\n';
        while ((ch = fgetc(f)) != EOF) {
            if (prev == '\n' && ch == 'D')
                c.max_devices++;
            prev = ch;
        }
        fclose(f);
    }
    c.max_history = 16;
    snprintf(c.state_file, sizeof(c.state_file), "%s", state_file);
    snprintf(c.oui_dir, sizeof(c.oui_dir), "%s", oui_dir);
    if (access(state_file, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s (set inventory.state_dir)", state_file, strerror(errno));
        return ERR_IO;
    }
    struct inv *v = inv_new(&c, NULL, err, errlen);
    if (v == NULL)
        return ERR_INVAL;
    if (strcmp(format, "json") == 0)
        print_json(v);
    else if (strcmp(format, "csv") == 0)
        print_csv(v);
    else
        print_table(v);
    inv_free(v);
    return 0;
}
