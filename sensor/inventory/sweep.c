/*
 * The ARP sweep (see sweep.h and docs/inventory.md "Active discovery (ARP sweep)").
 *
 * A plan is a short sorted list of disjoint address ranges plus the interface's own
 * addresses (skipped, and used as senders); it is rebuilt at the start of every sweep
 * from the interface's current addresses, so a sensor whose address changed sends from
 * the new one (and, with derived prefixes, sweeps the new network) and a sweep whose
 * interface lost its address is skipped and counted as an error. Nothing is allocated
 * per address: a sweep walks the ranges.
 *
 * Threads: the sweep thread owns the plan, the socket's sends and the log limiter; the
 * counters are read by the pipeline thread with relaxed atomics; stop is a flag under
 * a mutex with a condition variable on the monotonic clock, which is also the pacing
 * timer, so sweep_stop() wakes the thread at once.
 */
#include "inventory/sweep.h"

#include "sensor_conf.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "otasuke/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the plan ------------------------------------------------------------- */

static uint32_t mask_of(unsigned len)
{
    return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

static unsigned len_of(uint32_t mask)
{
    unsigned n = 0;
    while (n < 32 && (mask & (0x80000000u >> n)) != 0)
        n++;
    return n;
}

static void ip_str(uint32_t a, char *out, size_t outlen)
{
    snprintf(out, outlen, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* Appends net/len as a range (network and broadcast left out up to /30); checks the
 * per-prefix cap. what names the source in messages. */
static int add_prefix(struct sweep_plan *p, uint32_t net, unsigned len, uint32_t max,
                      const char *what, char *err, size_t errlen)
{
    char s[16];
    net &= mask_of(len);
    ip_str(net, s, sizeof(s));
    if (p->n == SWEEP_MAX_RANGES) {
        snprintf(err, errlen, "inventory.sweep: more than %d prefixes to sweep",
                 SWEEP_MAX_RANGES);
        return ERR_INVAL;
    }
    uint64_t last = (uint64_t)net + ((uint64_t)1 << (32 - len)) - 1;
    uint64_t first = net;
    if (len <= 30) {
        first++;
        last--;
    }
    uint64_t n = last - first + 1;
    if (n > max) {
        snprintf(err, errlen,
                 "inventory.sweep: %s %s/%u holds %llu addresses, more than "
                 "inventory.sweep.max_addresses (%u): set inventory.sweep.prefixes to the part "
                 "to sweep, or raise the cap",
                 what, s, len, (unsigned long long)n, max);
        return ERR_INVAL;
    }
    p->r[p->n].first = (uint32_t)first;
    p->r[p->n].last = (uint32_t)last;
    p->n++;
    return 0;
}

/* Parses one "a.b.c.d[/len]" token of tok[0..n). */
static int parse_prefix(const char *tok, size_t n, uint32_t *net, unsigned *len, char *err,
                        size_t errlen)
{
    char buf[64];
    if (n >= sizeof(buf)) {
        snprintf(err, errlen, "inventory.sweep.prefixes: \"%.40s...\" is not an IPv4 prefix",
                 tok);
        return ERR_INVAL;
    }
    memcpy(buf, tok, n);
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    struct in_addr ia;
    if (inet_pton(AF_INET, buf, &ia) != 1) {
        snprintf(err, errlen,
                 "inventory.sweep.prefixes: \"%.*s\" is not an IPv4 prefix (ARP is IPv4 only)",
                 (int)n, tok);
        return ERR_INVAL;
    }
    unsigned l = 32;
    if (slash != NULL) {
        const char *d = slash + 1;
        size_t nd = 0;
        for (l = 0; *d >= '0' && *d <= '9' && nd < 3; d++, nd++)
            l = l * 10 + (unsigned)(*d - '0');
        if (nd == 0 || *d != '\0' || l > 32) {
            snprintf(err, errlen, "inventory.sweep.prefixes: bad prefix length in \"%.*s\"",
                     (int)n, tok);
            return ERR_INVAL;
        }
    }
    *net = ntohl(ia.s_addr);
    *len = l;
    return 0;
}

static int add_configured(struct sweep_plan *p, const char *prefixes, uint32_t max, char *err,
                          size_t errlen)
{
    const char *s = prefixes;
    while (*s != '\0') {
        if (*s == ',' || *s == ' ' || *s == '\t') {
            s++;
            continue;
        }
        size_t n = strcspn(s, ", \t");
        uint32_t net;
        unsigned len;
        if (parse_prefix(s, n, &net, &len, err, errlen) != 0 ||
            add_prefix(p, net, len, max, "prefix", err, errlen) != 0)
            return ERR_INVAL;
        s += n;
    }
    return 0;
}

static bool is_self(const struct sweep_plan *p, uint32_t a)
{
    for (unsigned i = 0; i < p->nself; i++)
        if (p->self[i].addr == a)
            return true;
    return false;
}

/* Sorts the ranges and merges overlapping or adjacent ones. */
static void merge_ranges(struct sweep_plan *p)
{
    for (unsigned i = 1; i < p->n; i++) {
        struct sweep_range r = p->r[i];
        unsigned j = i;
        for (; j > 0 && p->r[j - 1].first > r.first; j--)
            p->r[j] = p->r[j - 1];
        p->r[j] = r;
    }
    unsigned k = 0;
    for (unsigned i = 0; i < p->n; i++) {
        if (k > 0 && (uint64_t)p->r[i].first <= (uint64_t)p->r[k - 1].last + 1) {
            if (p->r[i].last > p->r[k - 1].last)
                p->r[k - 1].last = p->r[i].last;
        } else {
            p->r[k++] = p->r[i];
        }
    }
    p->n = k;
}

static uint64_t plan_count(const struct sweep_plan *p)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < p->n; i++)
        n += (uint64_t)p->r[i].last - p->r[i].first + 1;
    for (unsigned i = 0; i < p->nself; i++) {
        bool dup = false;
        for (unsigned j = 0; j < i; j++)
            dup = dup || p->self[j].addr == p->self[i].addr;
        for (unsigned r = 0; r < p->n && !dup; r++)
            if (p->self[i].addr >= p->r[r].first && p->self[i].addr <= p->r[r].last) {
                n--;
                break;
            }
    }
    return n;
}

int sweep_plan_build(struct sweep_plan *p, const char *prefixes, const struct sweep_ifaddr *self,
                     unsigned nself, uint32_t max_addresses, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (nself > SWEEP_MAX_IFADDR)
        nself = SWEEP_MAX_IFADDR;
    memcpy(p->self, self, nself * sizeof(*self));
    p->nself = nself;
    int rc = 0;
    if (prefixes != NULL && prefixes[0] != '\0') {
        rc = add_configured(p, prefixes, max_addresses, err, errlen);
    } else {
        for (unsigned i = 0; i < nself && rc == 0; i++)
            rc = add_prefix(p, self[i].addr, len_of(self[i].mask), max_addresses,
                            "the interface's network", err, errlen);
    }
    if (rc != 0)
        return ERR_INVAL;
    merge_ranges(p);
    p->count = plan_count(p);
    if (p->count > max_addresses) {
        snprintf(err, errlen,
                 "inventory.sweep: the prefixes hold %llu addresses together, more than "
                 "inventory.sweep.max_addresses (%u)",
                 (unsigned long long)p->count, max_addresses);
        return ERR_INVAL;
    }
    if (p->count == 0) {
        snprintf(err, errlen, "inventory.sweep: no address to sweep (only the interface's own)");
        return ERR_INVAL;
    }
    return 0;
}

bool sweep_plan_next(const struct sweep_plan *p, struct sweep_iter *it, uint32_t *addr)
{
    if (!it->started) {
        it->started = true;
        it->range = 0;
        it->next = 0;
    }
    while (it->range < p->n) {
        const struct sweep_range *r = &p->r[it->range];
        if (it->next < r->first)
            it->next = r->first;
        if (it->next > r->last) {
            it->range++;
            continue;
        }
        uint32_t a = (uint32_t)it->next++;
        if (is_self(p, a))
            continue;
        *addr = a;
        return true;
    }
    return false;
}

uint32_t sweep_plan_source(const struct sweep_plan *p, uint32_t target)
{
    for (unsigned i = 0; i < p->nself; i++)
        if ((target & p->self[i].mask) == (p->self[i].addr & p->self[i].mask))
            return p->self[i].addr;
    return p->nself > 0 ? p->self[0].addr : 0;
}

static void put_be16(uint8_t *o, uint16_t v)
{
    o[0] = (uint8_t)(v >> 8);
    o[1] = (uint8_t)v;
}

static void put_be32(uint8_t *o, uint32_t v)
{
    put_be16(o, (uint16_t)(v >> 16));
    put_be16(o + 2, (uint16_t)v);
}

size_t sweep_arp_frame(uint8_t out[SWEEP_FRAME_LEN], const uint8_t mac[6], uint32_t sip,
                       uint32_t tip)
{
    memset(out, 0, SWEEP_FRAME_LEN);
    memset(out, 0xff, 6);       /* to everyone */
    memcpy(out + 6, mac, 6);    /* from us */
    put_be16(out + 12, 0x0806); /* ARP */
    uint8_t *a = out + 14;
    put_be16(a, 1);             /* Ethernet */
    put_be16(a + 2, 0x0800);    /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    put_be16(a + 6, 1);         /* request */
    memcpy(a + 8, mac, 6);      /* sender MAC */
    put_be32(a + 14, sip);      /* sender IP */
    /* target MAC a+18..23 stays zero */
    put_be32(a + 24, tip);      /* target IP */
    return SWEEP_FRAME_LEN;
}

void sweep_conf_from_sensor(const struct sensor_conf *c, const char *capture_iface,
                            struct sweep_conf *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->iface, sizeof(out->iface), "%s",
             c->inv_sweep_iface[0] != '\0' ? c->inv_sweep_iface
             : capture_iface != NULL      ? capture_iface
                                          : "");
    snprintf(out->prefixes, sizeof(out->prefixes), "%s", c->inv_sweep_prefixes);
    out->rate = (unsigned)c->inv_sweep_rate;
    out->interval_us = c->inv_sweep_interval;
    out->max_addresses = (uint32_t)c->inv_sweep_max_addresses;
}

/* ---- the interface -------------------------------------------------------- */

struct iface_info {
    int ifindex;
    uint8_t mac[6];
    struct sweep_ifaddr addr[SWEEP_MAX_IFADDR];
    unsigned naddr;
};

static void iface_entry(const struct ifaddrs *ifa, struct iface_info *ii, bool *ether)
{
    const struct sockaddr *sa = ifa->ifa_addr;
    if (sa->sa_family == AF_PACKET) {
        const struct sockaddr_ll *ll = (const struct sockaddr_ll *)(const void *)sa;
        ii->ifindex = ll->sll_ifindex;
        *ether = ll->sll_hatype == ARPHRD_ETHER && ll->sll_halen == 6;
        if (*ether)
            memcpy(ii->mac, ll->sll_addr, 6);
    } else if (sa->sa_family == AF_INET && ifa->ifa_netmask != NULL &&
               ii->naddr < SWEEP_MAX_IFADDR) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        const struct sockaddr_in *nm = (const struct sockaddr_in *)(const void *)ifa->ifa_netmask;
        ii->addr[ii->naddr].addr = ntohl(in->sin_addr.s_addr);
        ii->addr[ii->naddr].mask = ntohl(nm->sin_addr.s_addr);
        ii->naddr++;
    }
}

/* The interface's index, MAC and IPv4 addresses, now. 0 or ERR_* with a message. */
static int iface_read(const char *name, struct iface_info *ii, char *err, size_t errlen)
{
    struct ifaddrs *all = NULL;
    bool seen = false, ether = false;
    memset(ii, 0, sizeof(*ii));
    if (name[0] == '\0') {
        snprintf(err, errlen, "inventory.sweep.interface: no interface (set it, or capture "
                              "live with -i)");
        return ERR_INVAL;
    }
    if (getifaddrs(&all) != 0) {
        snprintf(err, errlen, "inventory.sweep: getifaddrs: %s", strerror(errno));
        return ERR_IO;
    }
    for (const struct ifaddrs *ifa = all; ifa != NULL; ifa = ifa->ifa_next) {
        if (ifa->ifa_name == NULL || strcmp(ifa->ifa_name, name) != 0 || ifa->ifa_addr == NULL)
            continue;
        seen = true;
        iface_entry(ifa, ii, &ether);
    }
    freeifaddrs(all);
    if (!seen || ii->ifindex == 0) {
        snprintf(err, errlen, "inventory.sweep.interface %s: no such interface", name);
        return ERR_NOTFOUND;
    }
    if (!ether) {
        snprintf(err, errlen,
                 "inventory.sweep.interface %s: not an Ethernet interface (ARP needs one)", name);
        return ERR_UNSUP;
    }
    if (ii->naddr == 0) {
        snprintf(err, errlen, "inventory.sweep.interface %s: no IPv4 address to send from", name);
        return ERR_INVAL;
    }
    return 0;
}

/* ---- the sweep ------------------------------------------------------------ */

struct sweep {
    struct sweep_conf c;
    uint8_t own_mac[6];       /* the interface's MAC at sweep_new (read-only after) */
    int fd;
    struct iface_info ii;     /* sweep thread's once started */
    struct sweep_plan plan;   /* sweep thread's once started */
    struct log_rate lr;       /* sweep thread's */
    pthread_t thr;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool sync_ok;             /* mu and cv initialised */
    bool stop;                /* under mu */
    /* counters: written by the sweep thread, read by any (relaxed atomics) */
    uint64_t requests, errors, sweeps, addresses;
};

static uint64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void count(uint64_t *c, uint64_t n)
{
    __atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

/* Sleeps until the monotonic clock reaches until_us or the sweep is stopped; false
 * when stopped. */
static bool wait_until(struct sweep *s, uint64_t until_us)
{
    struct timespec ts = {(time_t)(until_us / 1000000u), (long)(until_us % 1000000u) * 1000};
    pthread_mutex_lock(&s->mu);
    while (!s->stop && mono_us() < until_us) {
        int rc = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR) {
            /* the condition variable cannot wait: sleep instead, so that the pace holds
             * (a stop is then seen at the deadline) */
            pthread_mutex_unlock(&s->mu);
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            pthread_mutex_lock(&s->mu);
        }
    }
    bool go = !s->stop;
    pthread_mutex_unlock(&s->mu);
    return go;
}

static void warn_limited(struct sweep *s, const char *what, const char *detail)
{
    uint64_t suppressed = 0;
    if (log_rate_allow(&s->lr, &suppressed))
        log_warn("inventory", "arp sweep on %s: %s: %s (%llu similar lines suppressed)",
                 s->c.iface, what, detail, (unsigned long long)suppressed);
}

static void send_one(struct sweep *s, uint32_t target)
{
    uint8_t frame[SWEEP_FRAME_LEN];
    size_t n = sweep_arp_frame(frame, s->ii.mac, sweep_plan_source(&s->plan, target), target);
    struct sockaddr_ll to;
    memset(&to, 0, sizeof(to));
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = s->ii.ifindex;
    to.sll_halen = 6;
    memset(to.sll_addr, 0xff, 6);
    ssize_t w = sendto(s->fd, frame, n, MSG_DONTWAIT, (const struct sockaddr *)(const void *)&to,
                       sizeof(to));
    if (w == (ssize_t)n) {
        count(&s->requests, 1);
        return;
    }
    count(&s->errors, 1);
    warn_limited(s, "send failed", w < 0 ? strerror(errno) : "short write");
}

/* Re-reads the interface and rebuilds the plan; false (counted) when it cannot. */
static bool refresh(struct sweep *s)
{
    char err[512];
    if (iface_read(s->c.iface, &s->ii, err, sizeof(err)) != 0 ||
        sweep_plan_build(&s->plan, s->c.prefixes, s->ii.addr, s->ii.naddr, s->c.max_addresses,
                         err, sizeof(err)) != 0) {
        count(&s->errors, 1);
        warn_limited(s, "sweep skipped", err);
        return false;
    }
    __atomic_store_n(&s->addresses, s->plan.count, __ATOMIC_RELAXED);
    return true;
}

/* One pass over the plan, one request per period. False when stopped. */
static bool run_sweep(struct sweep *s)
{
    if (!refresh(s))
        return true;
    uint64_t period = 1000000u / (s->c.rate > 0 ? s->c.rate : 1);
    uint64_t next = mono_us();
    struct sweep_iter it = {0, 0, false};
    uint32_t a;
    while (sweep_plan_next(&s->plan, &it, &a)) {
        if (!wait_until(s, next))
            return false;
        uint64_t t = mono_us();
        send_one(s, a);
        next = t + period; /* from this send: a late send never brings the next closer */
    }
    count(&s->sweeps, 1);
    return true;
}

static void *sweep_main(void *arg)
{
    struct sweep *s = arg;
    for (;;) {
        uint64_t start = mono_us();
        if (!run_sweep(s) || !wait_until(s, start + s->c.interval_us))
            break;
    }
    return NULL;
}

/* Configured prefixes outside the interface's networks are swept as asked, but hosts
 * there may not answer a sender that is not on their network: say so once. */
static void warn_off_link(const struct sweep *s)
{
    if (s->c.prefixes[0] == '\0')
        return;
    for (unsigned i = 0; i < s->plan.n; i++) {
        uint32_t a = s->plan.r[i].first;
        bool on = false;
        for (unsigned j = 0; j < s->plan.nself && !on; j++)
            on = (a & s->plan.self[j].mask) == (s->plan.self[j].addr & s->plan.self[j].mask);
        if (!on) {
            char t[16];
            ip_str(a, t, sizeof(t));
            log_warn("inventory",
                     "arp sweep: %s is not on a network of %s: its hosts may not answer",
                     t, s->c.iface);
        }
    }
}

struct sweep *sweep_new(const struct sweep_conf *c, char *err, size_t errlen)
{
    struct sweep *s = xcalloc(MEM_CORE, 1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->c = *c;
    s->fd = -1;
    s->lr.interval_s = 60;
    if (s->c.rate == 0)
        s->c.rate = 1;
    if (iface_read(c->iface, &s->ii, err, errlen) != 0 ||
        sweep_plan_build(&s->plan, c->prefixes, s->ii.addr, s->ii.naddr, c->max_addresses, err,
                         errlen) != 0)
        goto fail;
    memcpy(s->own_mac, s->ii.mac, sizeof(s->own_mac));
    s->addresses = s->plan.count;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        snprintf(err, errlen, "inventory.sweep: cannot set up its timer");
        goto fail;
    }
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0 && (rc = pthread_mutex_init(&s->mu, NULL)) == 0 &&
        (rc = pthread_cond_init(&s->cv, &ca)) != 0)
        pthread_mutex_destroy(&s->mu);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        snprintf(err, errlen, "inventory.sweep: cannot set up its timer");
        goto fail;
    }
    s->sync_ok = true;
    /* protocol 0: the socket only sends, the capture sees the answers */
    s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        snprintf(err, errlen,
                 "inventory.sweep: cannot open a raw socket on %s (needs root or CAP_NET_RAW): %s",
                 c->iface, strerror(errno));
        goto fail;
    }
    warn_off_link(s);
    uint64_t sweep_us = s->plan.count * (1000000u / s->c.rate);
    if (sweep_us > c->interval_us)
        log_notice("inventory",
                   "arp sweep: %llu addresses at %u/s take longer than inventory.sweep.interval: "
                   "sweeps run back to back",
                   (unsigned long long)s->plan.count, s->c.rate);
    return s;
fail:
    sweep_free(s);
    return NULL;
}

int sweep_start(struct sweep *s, char *err, size_t errlen)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits: no signals */
    int rc = pthread_create(&s->thr, NULL, sweep_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "inventory.sweep: cannot start its thread: %s", strerror(rc));
        return ERR_NOMEM;
    }
    s->started = true;
    char first[16];
    ip_str(s->plan.n > 0 ? s->plan.r[0].first : 0, first, sizeof(first));
    log_notice("inventory", "arp sweep on %s: %llu addresses (from %s) at %u/s every %llus",
               s->c.iface, (unsigned long long)s->plan.count, first, s->c.rate,
               (unsigned long long)(s->c.interval_us / 1000000u));
    return 0;
}

void sweep_stop(struct sweep *s)
{
    if (s == NULL || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thr, NULL);
    s->started = false;
}

void sweep_free(struct sweep *s)
{
    if (s == NULL)
        return;
    sweep_stop(s);
    if (s->fd >= 0)
        close(s->fd);
    if (s->sync_ok) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
    }
    xfree(s);
}

void sweep_get_stats(const struct sweep *s, struct sweep_stats *out)
{
    out->requests = __atomic_load_n(&s->requests, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
    out->sweeps = __atomic_load_n(&s->sweeps, __ATOMIC_RELAXED);
    out->addresses = __atomic_load_n(&s->addresses, __ATOMIC_RELAXED);
}

void sweep_stats_json(const struct sweep *s, struct jw *w)
{
    struct sweep_stats st;
    sweep_get_stats(s, &st);
    jw_obj_open(w, "arp_sweep");
    jw_u64(w, "requests", st.requests);
    jw_u64(w, "errors", st.errors);
    jw_u64(w, "sweeps", st.sweeps);
    jw_u64(w, "addresses", st.addresses);
    jw_obj_close(w);
}

void sweep_own_mac(const struct sweep *s, uint8_t mac[6])
{
    memcpy(mac, s->own_mac, 6);
}
