/*
 * Application identification with nDPI 4.2, fed the way ndpiReader 4.2 feeds it
 * (example/reader_util.c, packet_processing() and ndpiReader.c's
 * node_proto_guess_walker()), so that a flow's verdict here equals ndpiReader's.
 *
 * Invariants:
 *   - *slot != NULL  <=>  detection is running for that flow (res->done false);
 *     the slot is one MEM_NDPI block: our counters, then nDPI's flow struct.
 *   - res->done is set once and never cleared; after that appid_packet() and
 *     appid_flow_end() touch nothing but res.
 *   - every byte nDPI allocates is counted in MEM_NDPI (global hooks below).
 */
#include "app/appid.h"

#include <stdio.h>
#include <string.h>

#include <ndpi_api.h>
#include <ndpi_main.h>

#include "decode/pkt.h"
#include "otasuke/alloc.h"

/* Room kept free under the MEM_NDPI cap, beyond the flow struct itself, for what
 * nDPI allocates per flow while dissecting (TLS names, HTTP URL and headers, the
 * lazily built LRU caches). nDPI 4.2 checks most but not all of its allocations,
 * so we make failing ones unlikely rather than rely on its checks. */
#define APPID_FLOW_HEADROOM 8192

struct appid_flow {
    uint32_t packets; /* packets of the flow seen so far, as ndpiReader counts them */
    uint8_t l4proto;
    uint8_t pad_[11];
    /* followed by struct ndpi_flow_struct, 16-byte aligned */
};

struct appid {
    struct ndpi_detection_module_struct *ndpi;
    struct appid_conf conf;
    struct appid_stats st;
};

_Static_assert(sizeof(struct appid_flow) % 16 == 0, "ndpi flow must stay aligned");

static inline struct ndpi_flow_struct *slot_ndpi(struct appid_flow *f)
{
    return (struct ndpi_flow_struct *)(void *)(f + 1);
}

/* nDPI's allocator hooks. ndpi_calloc/realloc/strdup are built on these. */
static void *appid_ndpi_malloc(size_t n)
{
    return xalloc(MEM_NDPI, n);
}

static void appid_ndpi_free(void *p)
{
    xfree(p);
}

void appid_conf_defaults(struct appid_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->max_packets_tcp = APPID_DEFAULT_MAX_TCP;
    c->max_packets_udp = APPID_DEFAULT_MAX_UDP;
    c->max_packets_other = 0;
    c->memcap = 0;
    c->guess_on_giveup = true;
}

size_t appid_flow_state_size(void)
{
    return sizeof(struct appid_flow) + ndpi_detection_get_sizeof_ndpi_flow_struct();
}

struct appid *appid_new(const struct appid_conf *c)
{
    /* ndpiReader: set_ndpi_malloc(wrapper), set_ndpi_flow_malloc(NULL): flows use
     * the same allocator. */
    set_ndpi_malloc(appid_ndpi_malloc);
    set_ndpi_free(appid_ndpi_free);
    set_ndpi_flow_malloc(NULL);
    set_ndpi_flow_free(NULL);

    struct appid *a = xcalloc(MEM_NDPI, 1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->conf = *c;
    a->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (a->ndpi == NULL)
        goto fail;
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(a->ndpi, &all);
    ndpi_finalize_initialization(a->ndpi);
    if (c->memcap != 0) {
        /* the budget is for flow state, on top of the fixed module just built */
        struct mem_stat m;
        mem_get(MEM_NDPI, &m);
        mem_set_cap(MEM_NDPI, m.in_use + c->memcap);
    }
    return a;
fail:
    xfree(a);
    return NULL;
}

void appid_free(struct appid *a)
{
    if (a == NULL)
        return;
    if (a->ndpi != NULL)
        ndpi_exit_detection_module(a->ndpi);
    xfree(a);
}

static void slot_free(struct appid_flow **slot)
{
    if (*slot == NULL)
        return;
    /* ndpi_free_flow_data() releases what nDPI hung on the flow (names, URL ...)
     * through ndpi_free; the block itself is ours. */
    ndpi_free_flow_data(slot_ndpi(*slot));
    xfree(*slot);
    *slot = NULL;
}

static struct appid_flow *slot_new(struct appid *a, uint8_t l4proto)
{
    size_t n = appid_flow_state_size();
    if (!mem_would_fit(MEM_NDPI, n + APPID_FLOW_HEADROOM))
        return NULL;
    struct appid_flow *f = xcalloc(MEM_NDPI, 1, n);
    if (f == NULL)
        return NULL;
    f->l4proto = l4proto;
    a->st.flows_fed++;
    return f;
}

static void set_result(struct appid_result *res, ndpi_protocol proto)
{
    res->master = proto.master_protocol;
    res->app = proto.app_protocol;
    res->category = (uint16_t)proto.category;
}

/* The verdict is final: count it, free the state. */
static void finish(struct appid *a, struct appid_flow **slot, struct appid_result *res)
{
    res->done = true;
    if (res->app == NDPI_PROTOCOL_UNKNOWN && res->master == NDPI_PROTOCOL_UNKNOWN)
        a->st.unknown++;
    else if (res->guessed)
        a->st.guessed++;
    else
        a->st.detected++;
    slot_free(slot);
}

/* ndpi_detection_giveup(), with guessing when configured, as ndpiReader does both
 * when its packet limit is hit and for flows still open at the end of the capture.
 * giveup returns the current verdict unchanged when there is one. */
static void give_up(struct appid *a, struct appid_flow *f, struct appid_result *res)
{
    uint8_t guessed = 0;
    ndpi_protocol proto =
        ndpi_detection_giveup(a->ndpi, slot_ndpi(f), a->conf.guess_on_giveup ? 1 : 0, &guessed);
    set_result(res, proto);
    res->guessed = guessed != 0;
}

static bool enough_packets(const struct appid *a, const struct appid_flow *f)
{
    uint32_t max;
    if (f->l4proto == IPPROTO_TCP)
        max = a->conf.max_packets_tcp;
    else if (f->l4proto == IPPROTO_UDP)
        max = a->conf.max_packets_udp;
    else
        max = a->conf.max_packets_other;
    return max != 0 && f->packets > max;
}

bool appid_packet(struct appid *a, struct appid_flow **slot, struct appid_result *res,
                  const struct pkt *p, int dir)
{
    (void)dir; /* nDPI 4.2 derives the direction from the addresses itself */
    if (res->done)
        return false;
    if (p->l3 == NULL || p->l3_len == 0 || p->is_fragment)
        return true; /* nothing nDPI can use; ndpiReader drops these before its flow */
    if (*slot == NULL) {
        *slot = slot_new(a, p->proto);
        if (*slot == NULL) {
            a->st.memcap_fails++;
            res->memcap = true;
            res->done = true;
            return false;
        }
    }
    struct appid_flow *f = *slot;
    f->packets++;
    if (p->payload_len > 0)
        res->had_payload = true;

    /* ndpiReader: time_ms = tv_sec * 1000 + tv_usec / 1000; the whole IP packet
     * (its ipsize is caplen - ip_offset; nDPI uses the IP length fields within). */
    uint32_t len = p->l3_len > 0xffff ? 0xffff : p->l3_len;
    ndpi_protocol proto = ndpi_detection_process_packet(a->ndpi, slot_ndpi(f), p->l3,
                                                        (unsigned short)len, p->ts_us / 1000);
    a->st.packets_fed++;
    set_result(res, proto);

    bool enough = enough_packets(a, f) || slot_ndpi(f)->fail_with_unknown;
    if (!enough && proto.app_protocol == NDPI_PROTOCOL_UNKNOWN)
        return true;
    if (!enough && ndpi_extra_dissection_possible(a->ndpi, slot_ndpi(f)))
        return true; /* verdict known; waiting for more (certificate, response) */
    if (proto.app_protocol == NDPI_PROTOCOL_UNKNOWN)
        give_up(a, f, res);
    finish(a, slot, res);
    return false;
}

void appid_flow_end(struct appid *a, struct appid_flow **slot, struct appid_result *res)
{
    if (res->done) {
        slot_free(slot); /* defensive: a done flow has no slot */
        return;
    }
    if (*slot != NULL)
        give_up(a, *slot, res);
    finish(a, slot, res);
}

const char *appid_proto_name(const struct appid *a, uint16_t id)
{
    const char *n = ndpi_get_proto_name(a->ndpi, id);
    return n != NULL ? n : "Unknown";
}

size_t appid_result_name(const struct appid *a, const struct appid_result *r, char *buf, size_t len)
{
    if (len == 0)
        return 0;
    /* Same rule as ndpi_protocol2name(), which ndpiReader prints. */
    int n;
    if (r->master != NDPI_PROTOCOL_UNKNOWN && r->master != r->app) {
        if (r->app != NDPI_PROTOCOL_UNKNOWN)
            n = snprintf(buf, len, "%s.%s", appid_proto_name(a, r->master),
                         appid_proto_name(a, r->app));
        else
            n = snprintf(buf, len, "%s", appid_proto_name(a, r->master));
    } else {
        n = snprintf(buf, len, "%s", appid_proto_name(a, r->app));
    }
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < len ? (size_t)n : len - 1;
}

const char *appid_category_name(const struct appid *a, uint16_t category)
{
    const char *n = ndpi_category_get_name(a->ndpi, (ndpi_protocol_category_t)category);
    return n != NULL ? n : "Unspecified";
}

struct eve_map {
    uint16_t id;
    const char *name;
};

/* nDPI id -> Suricata app_proto name. Looked up on the master protocol first (the
 * carrier: TLS.Google is "tls"), then on the app. TLS-wrapped mail and DoH/DoT are
 * "tls" because that is what Suricata's parser would see on the wire. */
static const struct eve_map eve_map[] = {
    {NDPI_PROTOCOL_HTTP, "http"},        {NDPI_PROTOCOL_HTTP_CONNECT, "http"},
    {NDPI_PROTOCOL_HTTP_PROXY, "http"},  {NDPI_PROTOCOL_TLS, "tls"},
    {NDPI_PROTOCOL_MAIL_SMTPS, "tls"},   {NDPI_PROTOCOL_MAIL_IMAPS, "tls"},
    {NDPI_PROTOCOL_MAIL_POPS, "tls"},    {NDPI_PROTOCOL_DOH_DOT, "tls"},
    {NDPI_PROTOCOL_DNS, "dns"},          {NDPI_PROTOCOL_MAIL_SMTP, "smtp"},
    {NDPI_PROTOCOL_MAIL_IMAP, "imap"},   {NDPI_PROTOCOL_MAIL_POP, "pop3"},
    {NDPI_PROTOCOL_SSH, "ssh"},          {NDPI_PROTOCOL_DHCP, "dhcp"},
    {NDPI_PROTOCOL_FTP_CONTROL, "ftp"},  {NDPI_PROTOCOL_FTP_DATA, "ftp-data"},
    {NDPI_PROTOCOL_SMBV1, "smb"},        {NDPI_PROTOCOL_SMBV23, "smb"},
    {NDPI_PROTOCOL_DCERPC, "dcerpc"},    {NDPI_PROTOCOL_NFS, "nfs"},
    {NDPI_PROTOCOL_NTP, "ntp"},          {NDPI_PROTOCOL_TFTP, "tftp"},
    {NDPI_PROTOCOL_SNMP, "snmp"},        {NDPI_PROTOCOL_SIP, "sip"},
    {NDPI_PROTOCOL_KERBEROS, "krb5"},    {NDPI_PROTOCOL_RDP, "rdp"},
    {NDPI_PROTOCOL_VNC, "rfb"},          {NDPI_PROTOCOL_MQTT, "mqtt"},
    {NDPI_PROTOCOL_MODBUS, "modbus"},    {NDPI_PROTOCOL_DNP3, "dnp3"},
    {NDPI_PROTOCOL_ETHERNET_IP, "enip"}, {NDPI_PROTOCOL_QUIC, "quic"},
    {NDPI_PROTOCOL_TELNET, "telnet"},    {NDPI_PROTOCOL_LDAP, "ldap"},
    {NDPI_PROTOCOL_POSTGRES, "pgsql"},
};

static const char *eve_lookup(uint16_t id)
{
    for (size_t i = 0; i < sizeof(eve_map) / sizeof(eve_map[0]); i++)
        if (eve_map[i].id == id)
            return eve_map[i].name;
    return NULL;
}

const char *appid_eve_app_proto(const struct appid_result *r)
{
    if (r->master == NDPI_PROTOCOL_UNKNOWN && r->app == NDPI_PROTOCOL_UNKNOWN)
        return r->had_payload ? "failed" : NULL;
    const char *n = NULL;
    if (r->master != NDPI_PROTOCOL_UNKNOWN)
        n = eve_lookup(r->master);
    if (n == NULL)
        n = eve_lookup(r->app);
    /* nDPI knows the protocol but Suricata has no parser for it (NetBIOS, Teredo,
     * STUN ...): Suricata's detection fails on such a flow with payload. */
    if (n == NULL && r->had_payload)
        n = "failed";
    return n;
}

void appid_stats(const struct appid *a, struct appid_stats *out)
{
    *out = a->st;
}
