/*
 * Inbound probe statistics: connection attempts from the internet to the company (a
 * flow whose first packet goes from outside home_net to inside it: a TCP SYN without
 * ACK, any UDP datagram, an ICMP/ICMPv6 echo request), counted per destination
 * protocol and port ("TCP/23") and per source country ("CN"), for the "TCP/23: 9,182"
 * tables of a monthly report. Written in the detect stats ("probes").
 *
 * Both tables are fixed at start (stats.probes.max_ports / max_countries entries,
 * open addressing): a key that finds the table full is counted in "other", never
 * stored. The country comes from a MaxMind-format database (stats.geoip.db, opened
 * with libmaxminddb, memory-mapped, read-only); without one, attempts are counted by
 * port only and the stats say "geoip": false. Counters are totals since start.
 */
#include "detect/detect_int.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct probe_slot {
    uint32_t key; /* ports: proto << 16 | port, +1 (0 = empty); countries: 'A' << 8 | 'B' */
    uint64_t count;
};

struct probe_table {
    struct probe_slot *s;
    uint32_t *order; /* the slots in use, as they were taken (write_top walks these) */
    uint32_t mask, used, max;
    uint64_t other; /* attempts whose key found the table full */
};

struct det_probes {
    struct probe_table ports, countries;
    uint64_t attempts, unknown_country;
    bool have_db;
    MMDB_s db;
    unsigned top;
};

static int table_init(struct probe_table *t, uint32_t max)
{
    uint32_t n = 16;
    while (n < 2 * max)
        n <<= 1;
    t->s = xcalloc(MEM_CORE, n, sizeof(*t->s));
    t->order = xalloc(MEM_CORE, max * sizeof(*t->order));
    t->mask = n - 1;
    t->max = max;
    return t->s != NULL && t->order != NULL ? 0 : ERR_NOMEM;
}

static void table_add(struct probe_table *t, uint32_t key)
{
    uint32_t h = (key * 2654435761u) & t->mask;
    for (uint32_t i = 0; i <= t->mask; i++, h = (h + 1) & t->mask) {
        if (t->s[h].key == key) {
            t->s[h].count++;
            return;
        }
        if (t->s[h].key == 0) {
            if (t->used >= t->max)
                break;
            t->s[h].key = key;
            t->s[h].count = 1;
            t->order[t->used++] = h;
            return;
        }
    }
    t->other++;
}

struct det_probes *det_probes_new(const struct sensor_conf *c, char *err, size_t errlen)
{
    struct det_probes *pr = xcalloc(MEM_CORE, 1, sizeof(*pr));
    if (pr == NULL || table_init(&pr->ports, (uint32_t)c->probes_max_ports) != 0 ||
        table_init(&pr->countries, (uint32_t)c->probes_max_countries) != 0) {
        snprintf(err, errlen, "out of memory for stats.probes tables");
        det_probes_free(pr);
        return NULL;
    }
    pr->top = (unsigned)c->probes_top;
    if (c->geoip_db[0] != '\0') {
        int rc = MMDB_open(c->geoip_db, MMDB_MODE_MMAP, &pr->db);
        if (rc != MMDB_SUCCESS) {
            snprintf(err, errlen, "stats.geoip.db: %s: %s", c->geoip_db, MMDB_strerror(rc));
            det_probes_free(pr);
            return NULL;
        }
        pr->have_db = true;
    }
    return pr;
}

void det_probes_free(struct det_probes *pr)
{
    if (pr == NULL)
        return;
    if (pr->have_db)
        MMDB_close(&pr->db);
    xfree(pr->ports.s);
    xfree(pr->ports.order);
    xfree(pr->countries.s);
    xfree(pr->countries.order);
    xfree(pr);
}

/* Private, shared, loopback and link-local addresses have no country (the whois-based
 * databases file some of them under the registry's own country: 172.16/12 and
 * 192.168/16 as "AU"). */
static bool no_country(const struct addr *a)
{
    const uint8_t *b = a->b;
    if (det_addr_is_v4(a)) {
        b += 12;
        return b[0] == 10 || b[0] == 127 || b[0] == 0 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
               (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
               (b[0] == 100 && (b[1] & 0xc0) == 64);
    }
    return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

/* The two-letter country of a, as 'A' << 8 | 'B'; 0 when unknown. Reads
 * "country_code" (ip-location-db) or "country"/"iso_code" (MaxMind's layout). */
static uint32_t country_of(struct det_probes *pr, const struct addr *a)
{
    if (no_country(a))
        return 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (det_addr_is_v4(a)) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->b + 12, 4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->b, 16);
    }
    int rc = 0;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&pr->db, (struct sockaddr *)&ss, &rc);
    if (rc != MMDB_SUCCESS || !r.found_entry)
        return 0;
    MMDB_entry_data_s v;
    if ((MMDB_get_value(&r.entry, &v, "country_code", NULL) != MMDB_SUCCESS || !v.has_data) &&
        (MMDB_get_value(&r.entry, &v, "country", "iso_code", NULL) != MMDB_SUCCESS ||
         !v.has_data))
        return 0;
    if (v.type != MMDB_DATA_TYPE_UTF8_STRING || v.data_size != 2)
        return 0;
    uint8_t c0 = (uint8_t)v.utf8_string[0], c1 = (uint8_t)v.utf8_string[1];
    if (c0 < 'A' || c0 > 'Z' || c1 < 'A' || c1 > 'Z')
        return 0;
    return (uint32_t)c0 << 8 | c1;
}

void det_probes_flow_new(struct detect *d, const struct pkt *p)
{
    struct det_probes *pr = d->probes;
    if (pr == NULL || p->ipver == 0)
        return;
    uint16_t port;
    if ((p->proto == IPPROTO_TCP && (p->tcp_flags & 0x12) == 0x02) || /* SYN, no ACK */
        p->proto == IPPROTO_UDP)
        port = p->dport;
    else if ((p->proto == IPPROTO_ICMP && p->icmp_type == 8) ||
             (p->proto == IPPROTO_ICMPV6 && p->icmp_type == 128))
        port = p->icmp_type;
    else
        return;
    if (det_is_home(d, &p->src) || !det_is_home(d, &p->dst))
        return;
    pr->attempts++;
    table_add(&pr->ports, ((uint32_t)p->proto << 16 | port) + 1);
    if (!pr->have_db)
        return;
    uint32_t cc = country_of(pr, &p->src);
    if (cc == 0)
        pr->unknown_country++;
    else
        table_add(&pr->countries, cc);
}

static int by_count(const void *a, const void *b)
{
    const struct probe_slot *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static void port_name(uint32_t key, char *out, size_t cap)
{
    key -= 1;
    unsigned proto = key >> 16, port = key & 0xffff;
    const char *pn = proto == IPPROTO_TCP    ? "TCP"
                     : proto == IPPROTO_UDP  ? "UDP"
                     : proto == IPPROTO_ICMP ? "ICMP"
                                             : "ICMPv6";
    snprintf(out, cap, "%s/%u", pn, port);
}

/* The table's top entries as an object "name": count (largest first). */
static void write_top(struct jw *w, const char *name, const struct probe_table *t, unsigned top,
                      bool ports)
{
    jw_obj_open(w, name);
    struct probe_slot *v = t->used ? xalloc(MEM_CORE, t->used * sizeof(*v)) : NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; v != NULL && i < t->used; i++)
        v[n++] = t->s[t->order[i]]; /* not the whole table: a stats event each interval */
    if (v != NULL)
        qsort(v, n, sizeof(*v), by_count);
    for (uint32_t i = 0; i < n && i < top; i++) {
        char k[16];
        if (ports)
            port_name(v[i].key, k, sizeof(k));
        else
            snprintf(k, sizeof(k), "%c%c", (char)(v[i].key >> 8), (char)(v[i].key & 0xff));
        jw_u64(w, k, v[i].count);
    }
    xfree(v);
    jw_obj_close(w);
}

void det_probes_stats(const struct detect *d, struct jw *w)
{
    const struct det_probes *pr = d->probes;
    if (pr == NULL)
        return;
    jw_obj_open(w, "probes");
    jw_u64(w, "attempts", pr->attempts);
    jw_bool(w, "geoip", pr->have_db);
    write_top(w, "by_port", &pr->ports, pr->top, true);
    jw_u64(w, "ports_tracked", pr->ports.used);
    jw_u64(w, "ports_other", pr->ports.other);
    if (pr->have_db) {
        write_top(w, "by_country", &pr->countries, pr->top, false);
        jw_u64(w, "countries_other", pr->countries.other);
        jw_u64(w, "country_unknown", pr->unknown_country);
    }
    jw_obj_close(w);
}
