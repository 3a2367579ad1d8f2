/*
 * Device inventory (sensor/inventory): OUI lookup (incl. randomized MACs), fingerprint
 * rules, address-history attribution at a given time, persistence round trip, bounds;
 * the address reader events' values go through (eve_addr_parse) against inet_pton.
 */
#include "check.h"

#include "app/applayer.h"
#include "detect/jscan.h"
#include "inventory/inventory.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "output/eve.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUI_DIR "/usr/share/ieee-data"
#define SEC 1000000ULL
#define T0 (1791156600ULL * SEC) /* 2026-10-05 08:30 JST */

static struct addr v4(const char *s)
{
    struct addr a;
    memset(&a, 0, sizeof(a));
    a.b[10] = a.b[11] = 0xff;
    inet_pton(AF_INET, s, a.b + 12);
    return a;
}

static void mac(const char *s, uint8_t m[6])
{
    CHECK(mac_parse(s, m));
}

static bool have_oui(void)
{
    return access(OUI_DIR "/oui.csv", R_OK) == 0;
}

static void test_oui(void)
{
    char err[256];
    if (!have_oui())
        SKIP("ieee-data is not installed (" OUI_DIR ")");
    struct oui_table *t = oui_load(OUI_DIR, err, sizeof(err));
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(oui_count(t) > 30000);
    uint8_t m[6];
    mac("00:a0:de:8a:31:5c", m);
    CHECK_STR(oui_lookup(t, m), "YAMAHA CORPORATION");
    mac("3c:2a:f4:a1:b2:c3", m); /* quoted name with a comma */
    CHECK_STR(oui_lookup(t, m), "Brother Industries, LTD.");
    mac("f0:18:98:3d:8e:55", m);
    CHECK_STR(oui_lookup(t, m), "Apple, Inc.");
    mac("8c:16:45:77:51:a6", m);
    CHECK(oui_lookup(t, m) != NULL && strncmp(oui_lookup(t, m), "LCFC", 4) == 0);
    /* randomized (locally administered): no maker, flagged */
    mac("5a:e3:1c:9b:40:d7", m);
    CHECK(mac_is_random(m));
    CHECK(oui_lookup(t, m) == NULL);
    mac("f0:18:98:3d:8e:55", m);
    CHECK(!mac_is_random(m));
    mac("01:00:5e:00:00:fb", m); /* multicast: not a randomized unicast address */
    CHECK(!mac_is_random(m));
    /* a 36-bit block (MA-S) wins over its parent 24-bit block: 70:B3:D5 is IEEE's */
    mac("70:b3:d5:f2:f0:01", m);
    CHECK_STR(oui_lookup(t, m), "TELEPLATFORMS");
    mac("70:b3:d5:f2:e0:01", m); /* another block of the same parent */
    CHECK(oui_lookup(t, m) == NULL || strcmp(oui_lookup(t, m), "TELEPLATFORMS") != 0);
    /* unregistered */
    mac("00:00:00:00:00:00", m);
    CHECK(oui_lookup(t, m) == NULL || strstr(oui_lookup(t, m), "XEROX") != NULL);
    CHECK(!mac_parse("00:11:22:33:44", m));
    CHECK(!mac_parse("00:11:22:33:44:gg", m));
    CHECK(oui_load("/nonexistent", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "ieee-data") != NULL);
    oui_free(t);
}

/* Registry rows as Debian's files have them and as they might be mangled: quoted names
 * with commas and "" escapes, CRLF, trailing spaces, rows that are no block. */
static void test_oui_rows(void)
{
    static const char csv[] =
        "Registry,Assignment,Organization Name,Organization Address\r\n"
        "MA-L,002272,American Micro-Fuel Device Corp.,2181 Buchanan Loop Ferndale WA US \r\n"
        "MA-L,001EFC,\"JSC \"\"MASSA-K\"\"\",\"15, A, Pirogovskaya nab. RU 194044 \"\n"
        "MA-M,70B3D51,\"Name, with a comma  \",addr\n"
        "MA-S,8C1F6400A,Short\n"
        "MA-L,001EFD,Short\n"                 /* the same name: shared in the pool */
        "MA-L,00ZZ11,Bad hex,x\n"
        "MA-L,0011,Short hex,x\n"
        "MA-L,001EFE,,no name\n"
        "MA-L,001EFF,\"unterminated";
    struct oui_table *t = oui_new();
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(oui_add_csv(t, csv, sizeof(csv) - 1) == 6);
    oui_finish(t);
    CHECK(oui_count(t) == 6);
    uint8_t m[6];
    mac("00:22:72:01:02:03", m);
    CHECK_STR(oui_lookup(t, m), "American Micro-Fuel Device Corp.");
    mac("00:1e:fc:01:02:03", m);
    CHECK_STR(oui_lookup(t, m), "JSC \"MASSA-K\"");
    mac("70:b3:d5:1a:bc:de", m);
    CHECK_STR(oui_lookup(t, m), "Name, with a comma");
    mac("8c:1f:64:00:a1:23", m);
    CHECK_STR(oui_lookup(t, m), "Short");
    mac("00:1e:fd:00:00:01", m);
    CHECK_STR(oui_lookup(t, m), "Short");
    mac("00:1e:ff:00:00:01", m);
    CHECK_STR(oui_lookup(t, m), "unterminated");
    mac("00:1e:fe:00:00:01", m); /* a row without a name is no block */
    CHECK(oui_lookup(t, m) == NULL);
    oui_free(t);
}

static void test_rules(void)
{
    struct inv_device d;
    memset(&d, 0, sizeof(d));
    snprintf(d.vendor_class, sizeof(d.vendor_class), "MSFT 5.0");
    snprintf(d.dhcp_fp, sizeof(d.dhcp_fp), "1,3,6,15,31,33,43,44,46,47,119,121,249,252");
    inv_classify(&d);
    CHECK_STR(inv_kind_name(d.kind), "windows_pc");
    CHECK_STR(d.os, "Windows");
    CHECK(strstr(d.evidence, "MSFT") != NULL);

    memset(&d, 0, sizeof(d));
    snprintf(d.dhcp_fp, sizeof(d.dhcp_fp), "1,121,3,6,15,108,114,119,252");
    d.randomized = true;
    snprintf(d.name, sizeof(d.name), "iPhone");
    inv_classify(&d);
    CHECK_STR(inv_kind_name(d.kind), "phone");
    CHECK_STR(d.os, "iOS");
    CHECK(strstr(d.evidence, "randomized") != NULL);

    memset(&d, 0, sizeof(d));
    snprintf(d.dhcp_fp, sizeof(d.dhcp_fp), "1,121,3,6,15,108,114,119,252,95,44,46");
    d.maker = "Apple, Inc.";
    inv_classify(&d);
    CHECK_STR(inv_kind_name(d.kind), "mac");

    memset(&d, 0, sizeof(d));
    d.maker = "Brother Industries, LTD.";
    snprintf(d.services[0], sizeof(d.services[0]), "_ipp._tcp.local");
    inv_classify(&d);
    CHECK_STR(inv_kind_name(d.kind), "printer");

    memset(&d, 0, sizeof(d));
    d.maker = "Synology Incorporated";
    snprintf(d.vendor_class, sizeof(d.vendor_class), "udhcp 1.23.2");
    inv_classify(&d);
    CHECK_STR(inv_kind_name(d.kind), "nas");

    memset(&d, 0, sizeof(d));
    d.maker = "Panasonic Connect Co., Ltd.";
    snprintf(d.vendor_class, sizeof(d.vendor_class), "udhcp 1.31.1");
    inv_classify(&d);
    CHECK_STR(inv_kind_name(d.kind), "camera");

    memset(&d, 0, sizeof(d));
    d.maker = "YAMAHA CORPORATION";
    d.dhcp_server = true;
    inv_classify(&d);
    CHECK_STR(inv_kind_name(d.kind), "router");

    memset(&d, 0, sizeof(d));
    inv_classify(&d);
    CHECK_STR(inv_kind_name(d.kind), "unknown");
    CHECK_STR(d.evidence, "");
}

struct sink {
    int assets, news;
    char last[4096];
    uint8_t new_mac[6];
};

static void sink_write(void *ud, const char *line, size_t len, uint64_t ts)
{
    struct sink *s = ud;
    (void)ts;
    s->assets++;
    snprintf(s->last, sizeof(s->last), "%.*s", (int)len, line);
}

static void sink_new(void *ud, const struct inv_device *d, uint64_t ts)
{
    struct sink *s = ud;
    (void)ts;
    s->news++;
    memcpy(s->new_mac, d->mac, 6);
}

static void conf_init(struct inv_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->max_devices = 64;
    c->max_history = 64;
    c->learning_us = 3600 * SEC;
    c->new_device_delay_us = 30 * SEC;
    snprintf(c->home_net, sizeof(c->home_net), "192.168.0.0/16,fe80::/10");
    if (have_oui())
        snprintf(c->oui_dir, sizeof(c->oui_dir), OUI_DIR);
}

#define ev(v, ts, FMT, a, b, c)                                                               \
    do {                                                                                       \
        char line_[2048];                                                                      \
        int n_ = snprintf(line_, sizeof(line_), FMT, a, b, c);                                 \
        inv_event(v, line_, (size_t)n_, ts);                                                   \
    } while (0)

#define ACK "{\"timestamp\":\"x\",\"event_type\":\"dhcp\",\"src_ip\":\"192.168.1.1\",\"dhcp\":{\"type\":\"reply\",\"dhcp_type\":\"ack\",\"client_mac\":\"%s\",\"assigned_ip\":\"%s\"%s}}"
#define REQ "{\"timestamp\":\"x\",\"event_type\":\"dhcp\",\"src_ip\":\"0.0.0.0\",\"dhcp\":{\"type\":\"request\",\"dhcp_type\":\"request\",\"client_mac\":\"%s\",\"hostname\":\"%s\",\"params_fingerprint\":\"%s\"}}"


/* An inventory with the tests' configuration (conf_init) writing into s; NULL if it
 * cannot be made. */
static struct inv *inv_fresh(struct sink *s)
{
    struct inv_conf c;
    char err[256];
    memset(s, 0, sizeof(*s));
    conf_init(&c);
    struct inv_host h = {sink_write, sink_new, s};
    return inv_new(&c, &h, err, sizeof(err));
}

/* The demo's story: KEIRI-PC02 at .104 on Tuesday, the iPhone takes .104 on Thursday,
 * KEIRI-PC02 moves to .112. */
static void test_attribution(void)
{
    struct sink s;
    struct inv *v = inv_fresh(&s);
    CHECK(v != NULL);
    uint8_t pc[6], ph[6], rt[6];
    mac("8c:16:45:77:51:a6", pc);
    mac("5a:e3:1c:9b:40:d7", ph);
    mac("00:a0:de:8a:31:5c", rt);
    struct addr a104 = v4("192.168.1.104"), a112 = v4("192.168.1.112"), a1 = v4("192.168.1.1");
    struct addr ext = v4("85.204.116.144");
    uint64_t mon = T0, tue = T0 + 86400ULL * SEC, thu = T0 + 3ULL * 86400 * SEC;

    inv_packet(v, rt, &a1, mon);
    ev(v, mon, REQ, "8c:16:45:77:51:a6", "KEIRI-PC02", "1,3,6,15,31,33,43,44,46,47,119,121,249,252");
    ev(v, mon + SEC, ACK, "8c:16:45:77:51:a6", "192.168.1.104", "");
    inv_packet(v, pc, &a104, mon + 2 * SEC);
    inv_packet(v, rt, &ext, mon + 3 * SEC); /* external address behind the router: ignored */
    CHECK_EQ_U64(inv_count(v), 2);
    inv_housekeep(v, tue);
    CHECK_EQ_U64(s.news, 0); /* joined during the learning period */

    /* Thursday: the iPhone takes .104, then KEIRI-PC02 gets .112 */
    ev(v, thu, REQ, "5a:e3:1c:9b:40:d7", "iPhone", "1,121,3,6,15,108,114,119,252");
    ev(v, thu + SEC, ACK, "5a:e3:1c:9b:40:d7", "192.168.1.104", "");
    inv_packet(v, ph, &a104, thu + 2 * SEC);
    ev(v, thu + 1500 * SEC, ACK, "8c:16:45:77:51:a6", "192.168.1.112", "");
    inv_packet(v, pc, &a112, thu + 1501 * SEC);

    struct inv_attrib at;
    CHECK(inv_attribute(v, &a104, tue, &at));
    CHECK(at.has_mac && memcmp(at.mac, pc, 6) == 0);
    CHECK(at.name != NULL && strcmp(at.name, "KEIRI-PC02") == 0);
    CHECK(at.kind != NULL && strcmp(at.kind, "windows_pc") == 0);
    CHECK(inv_attribute(v, &a104, thu + 3600 * SEC, &at));
    CHECK(at.has_mac && memcmp(at.mac, ph, 6) == 0);
    CHECK(at.name != NULL && strcmp(at.name, "iPhone") == 0);
    CHECK(at.kind != NULL && strcmp(at.kind, "phone") == 0);
    CHECK(at.maker == NULL);
    CHECK(inv_attribute(v, &a112, thu + 7200 * SEC, &at));
    CHECK(memcmp(at.mac, pc, 6) == 0);
    CHECK(!inv_attribute(v, &ext, thu, &at));

    /* the iPhone is new after the learning period: its alert comes after the delay */
    CHECK_EQ_U64(s.news, 0);
    inv_housekeep(v, thu + 60 * SEC);
    CHECK_EQ_U64(s.news, 1);
    CHECK(memcmp(s.new_mac, ph, 6) == 0);
    const struct inv_device *d = inv_find_mac(v, pc);
    CHECK(d != NULL && d->ip.b[15] == 112);
    CHECK(s.assets > 3);
    CHECK(strstr(s.last, "\"event_type\":\"asset\"") != NULL);
    inv_free(v);
}

/* Events that cannot change a device stop the walk at the field that says so (SSDP
 * search, NBNS other than a registration, LLMNR query); what follows them, even a name
 * or a malformed tail, is not read. The same device then learns from the events that
 * count. */
static void test_walk_stops(void)
{
    struct sink s;
    struct inv *v = inv_fresh(&s);
    CHECK(v != NULL);
    uint8_t m[6];
    mac("8c:16:45:77:51:a6", m);
    struct addr a = v4("192.168.1.50");
    inv_packet(v, m, &a, T0);
    static const char *const moot[][2] = {
        {"nbns", "\"type\":\"query\",\"opcode\":\"query\",\"name\":\"WRONG\",\"suffix\":\"<00>\"},x"},
        {"llmnr", "\"type\":\"query\",\"answers\":[{\"rrname\":\"WRONG\"}]},x"},
        {"ssdp", "\"type\":\"search\",\"server\":\"Wrong/1.0\",\"st\":\"InternetGatewayDevice\"},x"},
    };
    char line[512];
    for (int i = 0; i < 3; i++) {
        int n = snprintf(line, sizeof(line),
                         "{\"timestamp\":\"x\",\"event_type\":\"%s\",\"src_ip\":\"192.168.1.50\",\"%s\":{%s",
                         moot[i][0], moot[i][0], moot[i][1]);
        inv_event(v, line, (size_t)n, T0 + SEC);
    }
    const struct inv_device *d = inv_find_mac(v, m);
    CHECK(d != NULL && d->name[0] == '\0' && d->ssdp_server[0] == '\0' && !d->igd);
    struct jw w; /* the malformed tails were never read */
    CHECK(jw_init(&w, 512, 4096) == 0);
    jw_obj_open(&w, NULL);
    inv_stats(v, &w);
    jw_obj_close(&w);
    CHECK(jw_ok(&w) && strstr(w.buf, "\"events_read\":3,\"events_noted\":0,\"events_repeated\":0,"
                                          "\"events_recalled\":0,\"events_bad\":0") != NULL);
    jw_free(&w);
    static const char *const real[][2] = {
        {"nbns", "\"type\":\"request\",\"opcode\":\"registration\",\"name\":\"KEIRI-PC02\",\"suffix\":\"<00>\"}}"},
        {"ssdp", "\"type\":\"notify\",\"server\":\"Windows/10 UPnP/1.0\",\"nt\":\"upnp:rootdevice\"}}"},
    };
    for (int i = 0; i < 2; i++) {
        int n = snprintf(line, sizeof(line),
                         "{\"timestamp\":\"x\",\"event_type\":\"%s\",\"src_ip\":\"192.168.1.50\",\"%s\":{%s",
                         real[i][0], real[i][0], real[i][1]);
        inv_event(v, line, (size_t)n, T0 + 2 * SEC);
    }
    d = inv_find_mac(v, m);
    CHECK(d != NULL && strcmp(d->name, "KEIRI-PC02") == 0);
    CHECK(d != NULL && strcmp(d->ssdp_server, "Windows/10 UPnP/1.0") == 0);
    inv_free(v);
}

/* Paths of noted values are literals, told apart by their address (struct app_note). */
static const char p_src[] = "src_ip", p_ua[] = "http.http_user_agent", p_type[] = "dhcp.type",
                  p_mac[] = "dhcp.client_mac", p_kind[] = "dhcp.dhcp_type",
                  p_host[] = "dhcp.hostname";

/* How noted_kv hands an event over: value by value (inv_event_str), or as the pipeline
 * does, the event's line and its notes in one call (inv_event_notes). */
static bool g_whole_events;

/* A noted event: its type, then path/value pairs (kv, NULL-terminated, plain strings). */
static void noted_kv(struct inv *v, const char *type, uint64_t ts, const char *const *kv)
{
    if (g_whole_events) {
        /* a flat line, "path":"value" members: the notes say where each value is */
        struct jw w;
        struct app_notes nt = {.on = true};
        CHECK(jw_init(&w, 256, 4096) == 0);
        jw_obj_open(&w, NULL);
        jw_str(&w, "event_type", type);
        for (; kv[0] != NULL; kv += 2) {
            jw_str(&w, kv[0], kv[1]);
            app_notes_jw(&nt, kv[0], strlen(kv[0]), &w);
            CHECK(nt.v[nt.n - 1].text == strlen(kv[1]) + 1); /* plain, as jw wrote it */
        }
        jw_obj_close(&w);
        inv_event_notes(v, type, strlen(type), w.buf, w.len, &nt, ts);
        jw_free(&w);
        return;
    }
    if (!inv_event_begin(v, type, strlen(type), ts))
        return;
    inv_event_noted(v);
    for (; kv[0] != NULL; kv += 2)
        if (!inv_event_str(v, kv[0], strlen(kv[0]), kv[1], strlen(kv[1])))
            break;
    inv_event_end(v, 0, ts);
}
#define noted(v, type, ts, ...) noted_kv(v, type, ts, (const char *const[]){__VA_ARGS__})

/* A counter of the inventory's stats (name with its quotes and colon) */
static uint64_t stat_of(struct inv *v, const char *name)
{
    struct jw w;
    uint64_t n = UINT64_MAX;
    if (jw_init(&w, 512, 4096) != 0)
        return n;
    jw_obj_open(&w, NULL);
    inv_stats(v, &w);
    jw_obj_close(&w);
    const char *p = strstr(w.buf, name);
    if (p != NULL)
        n = strtoull(p + strlen(name), NULL, 10);
    jw_free(&w);
    return n;
}

static uint64_t repeated(struct inv *v)
{
    return stat_of(v, "\"events_repeated\":");
}

static uint64_t recalled(struct inv *v)
{
    return stat_of(v, "\"events_recalled\":");
}

/* An event whose values are those of the inventory event just before it is a repeat:
 * only its device's last_seen moves. Not when anything was learned in between (a
 * packet bound its source), nor when a value differs. Run twice: events handed over
 * value by value, then whole (inv_event_notes finds a repeat in one pass). */
static void test_repeats(void)
{
    struct sink s;
    struct inv *v = inv_fresh(&s);
    CHECK(v != NULL);
    uint8_t m[6];
    mac("8c:16:45:77:51:a6", m);
    for (int i = 0; i < 3; i++) /* a client's retries */
        noted(v, "dhcp", T0 + (uint64_t)i * SEC, p_src, "0.0.0.0", p_type, "request", p_mac,
              "8c:16:45:77:51:a6", p_kind, "discover", p_host, "KEIRI-PC02", NULL);
    const struct inv_device *d = inv_find_mac(v, m);
    CHECK(d != NULL && strcmp(d->name, "KEIRI-PC02") == 0);
    CHECK(d != NULL && d->last_seen == T0 + 2 * SEC);
    CHECK(repeated(v) == 2);
    /* another name: read */
    noted(v, "dhcp", T0 + 3 * SEC, p_src, "0.0.0.0", p_type, "request", p_mac,
          "8c:16:45:77:51:a6", p_kind, "discover", p_host, "KEIRI-PC03", NULL);
    CHECK(d != NULL && strcmp(d->name, "KEIRI-PC03") == 0 && d->last_seen == T0 + 3 * SEC);
    CHECK(repeated(v) == 2);
    /* a user agent from an address no device has: nothing; then a packet binds the
     * address (to a device that keeps its own), and the same event again is read, not
     * taken for a repeat */
    struct addr a50 = v4("192.168.1.50");
    inv_packet(v, m, &a50, T0 + 3 * SEC);
    noted(v, "http", T0 + 4 * SEC, p_src, "192.168.1.77", p_ua, "Mozilla/5.0 (Windows NT 10.0)",
          NULL);
    noted(v, "http", T0 + 4 * SEC, p_src, "192.168.1.77", p_ua, "Mozilla/5.0 (Windows NT 10.0)",
          NULL);
    CHECK(repeated(v) == 3);
    struct addr a = v4("192.168.1.77");
    inv_packet(v, m, &a, T0 + 5 * SEC);
    noted(v, "http", T0 + 6 * SEC, p_src, "192.168.1.77", p_ua, "Mozilla/5.0 (Windows NT 10.0)",
          NULL);
    CHECK(repeated(v) == 3);
    CHECK(d != NULL && strcmp(d->ua[0], "Mozilla/5.0 (Windows NT 10.0)") == 0);
    CHECK(d != NULL && memcmp(&d->ip, &a50, sizeof(a50)) == 0);
    /* the walk stopped after the user agent; a repeat with more after it is one */
    noted(v, "http", T0 + 7 * SEC, p_src, "192.168.1.77", p_ua, "Mozilla/5.0 (Windows NT 10.0)",
          p_host, "ignored", NULL);
    CHECK(repeated(v) == 4);
    /* a value that was not plain (read by jscan_value, not kept): no repeat of it, and
     * the next is read too */
    static const char ua2[] = "Mozilla/5.0 (X11; Linux x86_64)";
    CHECK(inv_event_begin(v, "http", 4, T0 + 7 * SEC));
    inv_event_noted(v);
    CHECK(inv_event_str(v, p_src, strlen(p_src), "192.168.1.77", 12));
    struct jscan_val jv = {p_ua, JSCAN_STR, ua2, strlen(ua2), false, strlen(p_ua)};
    inv_event_val(&jv, v);
    inv_event_end(v, 0, T0 + 7 * SEC);
    CHECK(repeated(v) == 4);
    CHECK(d != NULL && strcmp(d->ua[1], ua2) == 0);
    noted(v, "http", T0 + 7 * SEC, p_src, "192.168.1.77", p_ua, ua2, NULL);
    CHECK(repeated(v) == 4);
    noted(v, "http", T0 + 7 * SEC, p_src, "192.168.1.77", p_ua, ua2, NULL);
    CHECK(repeated(v) == 5);
    /* a bad event in between: the next is read */
    CHECK(inv_event_begin(v, "http", 4, T0 + 8 * SEC));
    inv_event_end(v, -1, T0 + 8 * SEC);
    noted(v, "http", T0 + 9 * SEC, p_src, "192.168.1.77", p_ua, "Mozilla/5.0 (Windows NT 10.0)",
          NULL);
    CHECK(repeated(v) == 5);
    inv_free(v);
}

/* What inet_pton makes of s: a dotted quad IPv4-mapped, else IPv6. */
static bool addr_ref(const char *s, struct addr *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, s, out->b + 12) == 1) {
        out->b[10] = out->b[11] = 0xff;
        return true;
    }
    memset(out, 0, sizeof(*out));
    return inet_pton(AF_INET6, s, out->b) == 1;
}

static void check_addr(const char *s)
{
    struct addr a, r;
    bool ok = eve_addr_parse(s, &a), rok = addr_ref(s, &r);
    if (ok != rok || (ok && memcmp(&a, &r, sizeof(a)) != 0)) {
        fprintf(stderr, "eve_addr_parse(\"%s\"): %d, inet_pton: %d\n", s, ok, rok);
        CHECK(false);
    }
}

/* eve_addr_parse's own reading of dotted quads takes what inet_pton takes, no more. */
static void test_addr_parse(void)
{
    static const char *const cases[] = {
        "0.0.0.0", "255.255.255.255", "192.168.1.10", "10.0.0.1", "1.2.3.4", "256.1.1.1",
        "1.2.3.256", "01.2.3.4", "1.2.3.04", "1.2.3.00", "1.2.3", "1.2.3.4.", "1.2.3.4.5",
        ".1.2.3.4", "1..2.3", "1.2.3.4 ", " 1.2.3.4", "1234.1.1.1", "1.2.3.-4", "", ".",
        "::", "::1", "fe80::1", "::ffff:1.2.3.4", "2001:db8::1", "1.2.3.4:80", "a.b.c.d",
        "999.999.999.999", "0.0.0.00", "1.2.3.4\n", "0000.1.1.1",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_addr(cases[i]);
    /* and strings made of what addresses are made of */
    static const char alpha[] = "0123456789...:af";
    uint64_t x = 88172645463325252ULL;
    char b[24];
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = 1 + (size_t)(x % 17);
        for (size_t k = 0; k < n; k++)
            b[k] = alpha[(x >> (3 * k + 8)) % (sizeof(alpha) - 1)];
        b[n] = '\0';
        check_addr(b);
    }
}

static void test_persistence(void)
{
    struct inv_conf c;
    struct sink s;
    char err[256], dir[] = "/tmp/inv_test_XXXXXX";
    memset(&s, 0, sizeof(s));
    CHECK(mkdtemp(dir) != NULL);
    conf_init(&c);
    snprintf(c.state_file, sizeof(c.state_file), "%s/inventory.tsv", dir);
    struct inv_host h = {sink_write, sink_new, &s};
    struct inv *v = inv_new(&c, &h, err, sizeof(err));
    CHECK(v != NULL);
    if (v == NULL)
        return;
    uint8_t pc[6], ph[6];
    mac("8c:16:45:77:51:a6", pc);
    mac("5a:e3:1c:9b:40:d7", ph);
    struct addr a104 = v4("192.168.1.104");
    ev(v, T0, REQ, "8c:16:45:77:51:a6", "KEIRI\\tPC02", "1,3,6");
    ev(v, T0 + SEC, ACK, "8c:16:45:77:51:a6", "192.168.1.104", "");
    inv_packet(v, pc, &a104, T0 + 2 * SEC);
    ev(v, T0 + 86400 * SEC, ACK, "5a:e3:1c:9b:40:d7", "192.168.1.104", "");
    CHECK(inv_save(v, err, sizeof(err)) == 0);
    inv_free(v);

    v = inv_new(&c, &h, err, sizeof(err));
    CHECK(v != NULL);
    if (v == NULL)
        return;
    CHECK_EQ_U64(inv_count(v), 2);
    const struct inv_device *d = inv_find_mac(v, pc);
    CHECK(d != NULL && d->loaded);
    CHECK(d != NULL && strcmp(d->name, "KEIRI PC02") == 0); /* the tab was replaced */
    CHECK(d != NULL && strcmp(d->dhcp_fp, "1,3,6") == 0);
    CHECK(d != NULL && d->first_seen == T0);
    struct inv_attrib at;
    CHECK(inv_attribute(v, &a104, T0 + 3600ULL * SEC, &at) && memcmp(at.mac, pc, 6) == 0);
    CHECK(inv_attribute(v, &a104, T0 + 2ULL * 86400 * SEC, &at) && memcmp(at.mac, ph, 6) == 0);
    /* a device known from the saved inventory is not new; the learning period is over */
    uint8_t nw[6];
    mac("00:11:32:00:00:01", nw);
    struct addr a50 = v4("192.168.1.50");
    inv_packet(v, pc, &a104, T0 + 5ULL * 86400 * SEC);
    inv_packet(v, nw, &a50, T0 + 5ULL * 86400 * SEC);
    inv_housekeep(v, T0 + 5ULL * 86400 * SEC + 60 * SEC);
    CHECK_EQ_U64(s.news, 1);
    CHECK(memcmp(s.new_mac, nw, 6) == 0);
    inv_free(v);

    /* printing the saved file */
    CHECK(inv_print_file(c.state_file, "", "json", err, sizeof(err)) == 0);
    CHECK(inv_print_file("/nonexistent/inventory.tsv", "", "table", err, sizeof(err)) != 0);
    /* a file that is not ours */
    FILE *f = fopen(c.state_file, "w");
    if (f != NULL) {
        fputs("garbage\n", f);
        fclose(f);
    }
    CHECK(inv_new(&c, &h, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "not an otasuke inventory") != NULL);
    unlink(c.state_file);
    rmdir(dir);
}

static void test_bounds(void)
{
    struct inv_conf c;
    char err[256];
    conf_init(&c);
    c.max_devices = 16;
    c.max_history = 16;
    c.oui_dir[0] = '\0';
    struct inv *v = inv_new(&c, NULL, err, sizeof(err));
    CHECK(v != NULL);
    if (v == NULL)
        return;
    for (unsigned i = 0; i < 1000; i++) {
        uint8_t m[6] = {0x00, 0x11, 0x22, (uint8_t)(i >> 8), (uint8_t)i, 1};
        char ip[32];
        snprintf(ip, sizeof(ip), "192.168.%u.%u", (i / 200) + 1, (i % 200) + 1);
        struct addr a = v4(ip);
        inv_packet(v, m, &a, T0 + i);
    }
    CHECK_EQ_U64(inv_count(v), 16);
    /* a multicast source MAC and an unusable address make no device */
    uint8_t mc[6] = {0x01, 0, 0x5e, 0, 0, 1};
    struct addr a = v4("192.168.1.7"), z = v4("0.0.0.0");
    inv_packet(v, mc, &a, T0);
    uint8_t ok[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
    inv_packet(v, ok, &z, T0);
    CHECK_EQ_U64(inv_count(v), 16);
    /* bad event lines are counted, never crash */
    inv_event(v, "{\"event_type\":\"dhcp\",", 21, T0);
    inv_event(v, "{\"event_type\":\"dhcp\",\"dhcp\":{\"client_mac\":\"zz\"}}", 49, T0);
    inv_free(v);
    /* a bad home_net is an error */
    snprintf(c.home_net, sizeof(c.home_net), "192.168.0.0/40");
    CHECK(inv_new(&c, NULL, err, sizeof(err)) == NULL);
}

/* Internal versus external: a LAN numbered outside home_net is learned from a DHCP
 * ACK's subnet mask (saved and loaded again), an address ARP binds is internal, and
 * the packet path's cache neither hides a later learning nor stops last_seen. */
static void test_learned_lan(void)
{
    struct inv_conf c;
    struct sink s;
    char err[256], dir[] = "/tmp/inv_lan_XXXXXX";
    memset(&s, 0, sizeof(s));
    CHECK(mkdtemp(dir) != NULL);
    conf_init(&c);
    snprintf(c.state_file, sizeof(c.state_file), "%s/inventory.tsv", dir);
    struct inv_host h = {sink_write, sink_new, &s};
    struct inv *v = inv_new(&c, &h, err, sizeof(err));
    CHECK(v != NULL);
    if (v == NULL)
        return;
    uint8_t a[6], b[6], r[6];
    mac("00:11:32:00:00:0a", a);
    mac("00:11:32:00:00:0b", b);
    mac("00:11:32:00:00:0c", r);
    struct addr pa = v4("198.51.100.20"), pb = v4("198.51.100.30"), pr = v4("203.0.113.9");
    /* outside home_net: no device, however often (the cache's "outside" entry) */
    inv_packet(v, b, &pb, T0);
    inv_packet(v, b, &pb, T0 + 1);
    CHECK_EQ_U64(inv_count(v), 0);
    /* an ACK with a /24 mask teaches the prefix: the same packet now makes a device */
    ev(v, T0 + SEC, ACK, "00:11:32:00:00:0a", "198.51.100.20", ",\"subnet_mask\":\"255.255.255.0\"");
    CHECK_EQ_U64(inv_count(v), 1);
    inv_packet(v, b, &pb, T0 + 2 * SEC);
    CHECK_EQ_U64(inv_count(v), 2);
    /* later packets (cache hits) still move last_seen */
    inv_packet(v, b, &pb, T0 + 9 * SEC);
    const struct inv_device *d = inv_find_mac(v, b);
    CHECK(d != NULL && d->last_seen == T0 + 9 * SEC);
    inv_packet(v, a, &pa, T0 + 3 * SEC);
    /* ARP binds an address outside every prefix: that address is internal */
    inv_packet(v, r, &pr, T0 + 4 * SEC);
    CHECK_EQ_U64(inv_count(v), 2);
    ev(v, T0 + 5 * SEC,
       "{\"event_type\":\"arp\",\"arp\":{\"opcode\":\"reply\",\"src_mac\":\"%s\",\"src_ip\":\"%s\"%s}}",
       "00:11:32:00:00:0c", "203.0.113.9", "");
    CHECK_EQ_U64(inv_count(v), 3);
    inv_packet(v, r, &pr, T0 + 7 * SEC);
    d = inv_find_mac(v, r);
    CHECK(d != NULL && d->last_seen == T0 + 7 * SEC);
    /* a bad mask teaches nothing */
    ev(v, T0 + 6 * SEC, ACK, "00:11:32:00:00:0d", "100.64.0.5", ",\"subnet_mask\":\"255.0.255.0\"");
    uint8_t e[6];
    mac("00:11:32:00:00:0e", e);
    struct addr pe = v4("100.64.0.6");
    inv_packet(v, e, &pe, T0 + 7 * SEC);
    CHECK(inv_find_mac(v, e) == NULL);
    CHECK(inv_save(v, err, sizeof(err)) == 0);
    inv_free(v);
    /* the learned prefix comes back with the saved inventory */
    v = inv_new(&c, &h, err, sizeof(err));
    CHECK(v != NULL);
    if (v != NULL) {
        uint8_t n[6];
        mac("00:11:32:00:00:0f", n);
        struct addr pn = v4("198.51.100.77");
        inv_packet(v, n, &pn, T0 + 10 * SEC);
        CHECK(inv_find_mac(v, n) != NULL);
        inv_free(v);
    }
    unlink(c.state_file);
    rmdir(dir);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

#define NDEV 200
#define NADDR 150
#define NSTEP 4000
#define STEP_US (97ULL * SEC)

static void step_mac(unsigned d, uint8_t m[6])
{
    m[0] = 0x00;
    m[1] = 0x11;
    m[2] = 0x32;
    m[3] = 0x01;
    m[4] = (uint8_t)(d >> 8);
    m[5] = (uint8_t)d;
}

static struct addr step_addr(unsigned a)
{
    char ip[32];
    snprintf(ip, sizeof(ip), "10.1.%u.%u", a / 200, a % 200 + 1);
    return v4(ip);
}

static uint16_t owner_at[NSTEP][NADDR]; /* the scenario: holder + 1 after step k */

struct file_watch {
    long max_size, prev;
    unsigned grew, shrank;
};

static void watch_file(struct file_watch *fw, const char *path)
{
    long sz = file_size(path);
    if (sz > fw->max_size)
        fw->max_size = sz;
    if (fw->prev >= 0 && sz > fw->prev)
        fw->grew++;
    if (fw->prev >= 0 && sz < fw->prev)
        fw->shrank++;
    fw->prev = sz;
}

/* Step k of the scenario: device (7k mod 200) gets address (13k + k/150 mod 150) by a
 * DHCP ACK (every 5th step a request with a new host name first), then sends a packet;
 * the housekeeping tick saves every 5 minutes. */
static void incr_step(struct inv *v, unsigned k, uint16_t owner[NADDR])
{
    uint64_t t = T0 + k * STEP_US;
    unsigned d = (k * 7) % NDEV, a = (k * 13 + k / 150) % NADDR;
    uint8_t m[6];
    char ms[18], as[32];
    step_mac(d, m);
    snprintf(ms, sizeof(ms), "00:11:32:01:%02x:%02x", m[4], m[5]);
    struct addr ad = step_addr(a);
    inet_ntop(AF_INET, ad.b + 12, as, sizeof(as));
    if (k % 5 == 0) {
        char host[32];
        snprintf(host, sizeof(host), "PC-%03u-%u", d, k);
        ev(v, t, REQ, ms, host, "1,3,6,15");
    }
    ev(v, t, ACK, ms, as, "");
    owner[a] = (uint16_t)(d + 1);
    inv_packet(v, m, &ad, t + SEC);
    if (k == NSTEP / 2) /* a learned prefix, appended as a P line */
        ev(v, t, ACK, ms, "198.51.100.20", ",\"subnet_mask\":\"255.255.255.0\"");
    memcpy(owner_at[k], owner, sizeof(owner_at[k]));
    inv_housekeep(v, t + 2 * SEC);
}

static void same_devices(const struct inv *v, const struct inv *w)
{
    CHECK_EQ_U64(inv_count(w), inv_count(v));
    for (size_t i = 0; i < inv_count(v); i++) {
        const struct inv_device *x = inv_get(v, i), *y = inv_get(w, i);
        CHECK(y != NULL && memcmp(x->mac, y->mac, 6) == 0);
        if (y == NULL)
            continue;
        CHECK(memcmp(&x->ip, &y->ip, sizeof(x->ip)) == 0);
        CHECK_STR(y->name, x->name);
        CHECK_STR(y->dhcp_fp, x->dhcp_fp);
        CHECK(x->first_seen == y->first_seen && x->last_seen == y->last_seen);
        CHECK(x->kind == y->kind);
    }
}

/* Who had each address at times over the whole run: the same in v and w; in the last
 * 200 steps (every address was bound at most 300 steps before, the ring holds the
 * last 512 bindings) found by history and the scenario's holder. */
static void same_attributions(struct inv *v, struct inv *w)
{
    unsigned hist_ok = 0, checked = 0, same = 0, queries = 0;
    for (unsigned k = 0; k < NSTEP; k += 7) {
        uint64_t ts = T0 + k * STEP_US + SEC / 2;
        for (unsigned a = 0; a < NADDR; a++) {
            struct addr ad = step_addr(a);
            struct inv_attrib x, y;
            bool fx = inv_attribute(v, &ad, ts, &x), fy = inv_attribute(w, &ad, ts, &y);
            queries++;
            if (fx == fy && (!fx || (memcmp(x.mac, y.mac, 6) == 0 && x.by_history == y.by_history)))
                same++;
            if (k < NSTEP - 200 || owner_at[k][a] == 0)
                continue;
            checked++;
            uint8_t m[6];
            step_mac(owner_at[k][a] - 1U, m);
            if (fy && y.by_history && memcmp(y.mac, m, 6) == 0)
                hist_ok++;
        }
    }
    CHECK_EQ_U64(same, queries);
    CHECK(checked >= 28U * NADDR); /* steps 3801..3997, all 150 addresses held */
    CHECK_EQ_U64(hist_ok, checked);
}

/* Periodic saves append what changed (inv_save_changes) and the file is rewritten when
 * the appended part has grown: 200 devices and 150 addresses handed round by DHCP over
 * 4.5 days of packet time (4,000 bindings, a history ring of 512), a save every 5
 * minutes. Loaded again, the inventory equals the one in memory (every device's fields,
 * and who had each address at times over the whole run, after the ring wrapped too),
 * the recent attributions are those of the scenario, the file stays within 3 times a
 * full write, and a last line cut short is ignored. */
static void test_incremental_save(void)
{
    struct inv_conf c;
    char err[256], dir[] = "/tmp/inv_incr_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    conf_init(&c);
    c.max_devices = 256;
    c.max_history = 512;
    c.oui_dir[0] = '\0';
    c.save_interval_us = 300 * SEC;
    snprintf(c.home_net, sizeof(c.home_net), "10.0.0.0/8");
    snprintf(c.state_file, sizeof(c.state_file), "%s/inventory.tsv", dir);
    struct inv *v = inv_new(&c, NULL, err, sizeof(err));
    CHECK(v != NULL);
    if (v == NULL)
        return;
    uint16_t owner[NADDR];
    memset(owner, 0, sizeof(owner));
    struct file_watch fw = {0, -1, 0, 0};
    for (unsigned k = 0; k < NSTEP; k++) {
        incr_step(v, k, owner);
        watch_file(&fw, c.state_file);
    }
    CHECK(inv_save_changes(v, err, sizeof(err)) == 0);
    CHECK(fw.grew > 500);  /* appended */
    CHECK(fw.shrank >= 1); /* and rewritten */
    CHECK_EQ_U64(inv_count(v), NDEV);

    struct inv *w = inv_new(&c, NULL, err, sizeof(err));
    CHECK(w != NULL);
    if (w == NULL) {
        inv_free(v);
        return;
    }
    same_devices(v, w);
    same_attributions(v, w);
    uint8_t n[6];
    mac("00:11:32:00:00:0f", n);
    struct addr pn = v4("198.51.100.77");
    inv_packet(w, n, &pn, T0 + NSTEP * STEP_US);
    CHECK(inv_find_mac(w, n) != NULL); /* the appended prefix came back */
    inv_free(w);

    /* bounded: never more than the appended part's limit past a full write */
    CHECK(inv_save(v, err, sizeof(err)) == 0);
    long full = file_size(c.state_file);
    CHECK(full > 0 && fw.max_size <= 3 * full + 65536);

    /* a last line cut short (stopped while appending) is left out */
    FILE *f = fopen(c.state_file, "a");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs("H\t10.1.0.5\t3\t17", f);
        fclose(f);
    }
    w = inv_new(&c, NULL, err, sizeof(err));
    CHECK(w != NULL);
    if (w != NULL) {
        struct addr a5 = v4("10.1.0.5");
        struct inv_attrib x, y;
        CHECK(inv_attribute(v, &a5, T0 + 18, &x) == inv_attribute(w, &a5, T0 + 18, &y));
        CHECK(memcmp(x.mac, y.mac, 6) == 0);
        /* its first save rewrites the file without the cut line */
        CHECK(inv_save_changes(w, err, sizeof(err)) == 0);
        CHECK(file_size(c.state_file) == full);
        inv_free(w);
    }
    inv_free(v);
    unlink(c.state_file);
    rmdir(dir);
}

/* Loaded again, an address belongs to the device that took it last (its last H line),
 * not to an earlier holder whose D line still names it. */
static void test_reload_holder(void)
{
    struct inv_conf c;
    char err[256], dir[] = "/tmp/inv_hold_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    conf_init(&c);
    c.oui_dir[0] = '\0';
    snprintf(c.state_file, sizeof(c.state_file), "%s/inventory.tsv", dir);
    struct inv *v = inv_new(&c, NULL, err, sizeof(err));
    CHECK(v != NULL);
    if (v == NULL)
        return;
    uint8_t b[6];
    mac("00:11:32:00:00:0b", b);
    struct addr a5 = v4("192.168.1.5");
    ev(v, T0, ACK, "00:11:32:00:00:0b", "192.168.1.9", "");      /* B: device 0 */
    ev(v, T0 + SEC, ACK, "00:11:32:00:00:0a", "192.168.1.5", ""); /* A: device 1 */
    ev(v, T0 + 2 * SEC, ACK, "00:11:32:00:00:0b", "192.168.1.5", ""); /* B takes .5 */
    struct inv_attrib x, y;
    CHECK(inv_attribute(v, &a5, T0, &x) && memcmp(x.mac, b, 6) == 0); /* before: today's */
    CHECK(inv_save(v, err, sizeof(err)) == 0);
    struct inv *w = inv_new(&c, NULL, err, sizeof(err));
    CHECK(w != NULL);
    if (w != NULL) {
        CHECK(inv_attribute(w, &a5, T0, &y) && memcmp(y.mac, b, 6) == 0);
        CHECK(inv_attribute(w, &a5, T0 + SEC, &y) && y.by_history && memcmp(y.mac, b, 6) != 0);
        inv_free(w);
    }
    inv_free(v);
    unlink(c.state_file);
    rmdir(dir);
}

struct quiet_sink {
    unsigned quiet;
    char mac[18];
};

static void quiet_write(void *ud, const char *line, size_t len, uint64_t ts)
{
    struct quiet_sink *q = ud;
    (void)ts;
    const char *m = strstr(line, "\"mac\":\"");
    if (strstr(line, "\"change\":\"quiet\"") != NULL && m != NULL && m + 7 + 17 <= line + len) {
        q->quiet++;
        memcpy(q->mac, m + 7, 17);
        q->mac[17] = '\0';
    }
}

/* asset "quiet": once per silence, when quiet_after has passed; the table is walked
 * only when a device may be due, and a device that comes or wakes with an older time
 * than the others is still found. */
static void test_quiet(void)
{
    struct inv_conf c;
    char err[256];
    struct quiet_sink q;
    memset(&q, 0, sizeof(q));
    conf_init(&c);
    c.oui_dir[0] = '\0';
    c.quiet_us = 3600 * SEC;
    struct inv_host h = {quiet_write, NULL, &q};
    struct inv *v = inv_new(&c, &h, err, sizeof(err));
    CHECK(v != NULL);
    if (v == NULL)
        return;
    uint8_t a[6], b[6], o[6];
    mac("00:11:32:00:00:0a", a);
    mac("00:11:32:00:00:0b", b);
    mac("00:11:32:00:00:0c", o);
    struct addr pa = v4("192.168.1.10"), pb = v4("192.168.1.11"), po = v4("192.168.1.12");
    inv_packet(v, a, &pa, T0);
    inv_packet(v, b, &pb, T0 + 1800 * SEC);
    for (uint64_t t = T0; t <= T0 + 3599 * SEC; t += 60 * SEC)
        inv_housekeep(v, t);
    CHECK_EQ_U64(q.quiet, 0);
    inv_housekeep(v, T0 + 3601 * SEC);
    CHECK_EQ_U64(q.quiet, 1);
    CHECK_STR(q.mac, "00:11:32:00:00:0a");
    inv_housekeep(v, T0 + 3700 * SEC); /* once per silence */
    CHECK_EQ_U64(q.quiet, 1);
    /* a packet with an older time than B's makes a device: it is quiet before B */
    inv_packet(v, o, &po, T0 + 600 * SEC);
    inv_housekeep(v, T0 + 4201 * SEC);
    CHECK_EQ_U64(q.quiet, 2);
    CHECK_STR(q.mac, "00:11:32:00:00:0c");
    inv_housekeep(v, T0 + 5401 * SEC);
    CHECK_EQ_U64(q.quiet, 3);
    CHECK_STR(q.mac, "00:11:32:00:00:0b");
    /* A wakes and goes quiet again an hour after its last packet */
    inv_packet(v, a, &pa, T0 + 6000 * SEC);
    inv_housekeep(v, T0 + 9599 * SEC);
    CHECK_EQ_U64(q.quiet, 3);
    inv_housekeep(v, T0 + 9601 * SEC);
    CHECK_EQ_U64(q.quiet, 4);
    CHECK_STR(q.mac, "00:11:32:00:00:0a");
    inv_free(v);
}

/* Periodic saves need save_interval of packet time and, when save_wall_us is set, as
 * much wall-clock time: two hours of packet time read in a moment append nothing with
 * a wall gap of an hour, and append at every interval without one; the save at the
 * end writes the file either way. */
static void test_save_wall_gap(void)
{
    for (int gap = 0; gap < 2; gap++) {
        struct inv_conf c;
        char err[256], dir[] = "/tmp/inv_wall_XXXXXX", path[600];
        CHECK(mkdtemp(dir) != NULL);
        conf_init(&c);
        c.save_interval_us = 300 * SEC;
        c.save_wall_us = gap ? 3600 * SEC : 0;
        snprintf(c.state_file, sizeof(c.state_file), "%s/inventory.tsv", dir);
        snprintf(path, sizeof(path), "%s", c.state_file);
        struct inv *v = inv_new(&c, NULL, err, sizeof(err));
        CHECK(v != NULL);
        if (v == NULL)
            return;
        struct stat st;
        for (unsigned k = 0; k < 120; k++) { /* a new device a minute, housekeeping */
            uint8_t m[6] = {0x00, 0x11, 0x32, 0x00, 0x01, (uint8_t)k};
            struct addr a = v4("192.168.7.1");
            a.b[15] = (uint8_t)(k + 1);
            inv_packet(v, m, &a, T0 + (uint64_t)k * 60 * SEC);
            inv_housekeep(v, T0 + (uint64_t)k * 60 * SEC);
        }
        bool written = stat(path, &st) == 0 && st.st_size > 0;
        CHECK(gap ? !written : written);
        CHECK(inv_save(v, err, sizeof(err)) == 0);
        CHECK(stat(path, &st) == 0 && st.st_size > 0);
        inv_free(v);
        unlink(path);
        rmdir(dir);
    }
}

static const char p_arp_mac[] = "arp.src_mac", p_arp_ip[] = "arp.src_ip",
                  p_llmnr_type[] = "llmnr.type", p_llmnr_name[] = "llmnr.answers.rrname";

/* An event with the values of an earlier one, not the one just before, is recalled
 * (inv_event_notes): only its device is touched (ARP) and marked dirty. Not when the
 * device changed since (another name in between: the first again is a change back),
 * nor when its binding did (another MAC took the address: the first again moves it
 * back). */
static void test_recall(void)
{
    struct sink s;
    struct inv *v = inv_fresh(&s);
    CHECK(v != NULL);
    g_whole_events = true;
    uint8_t m1[6], m2[6], m3[6];
    mac("8c:16:45:77:51:a6", m1);
    mac("00:1b:a9:12:34:56", m2);
    mac("3c:22:fb:01:02:03", m3);
    struct addr a77 = v4("192.168.1.77"), a78 = v4("192.168.1.78");
    inv_packet(v, m1, &a77, T0);
    const struct inv_device *d1 = inv_find_mac(v, m1);
    CHECK(d1 != NULL);
    static const char ua1[] = "Mozilla/5.0 (Windows NT 10.0)", ua2[] = "curl/8.5.0";
    noted(v, "http", T0 + SEC, p_src, "192.168.1.77", p_ua, ua1, NULL);
    noted(v, "http", T0 + SEC, p_src, "192.168.1.77", p_ua, ua2, NULL);
    noted(v, "http", T0 + 2 * SEC, p_src, "192.168.1.77", p_ua, ua1, NULL);
    CHECK(recalled(v) == 1 && repeated(v) == 0);
    CHECK(d1 != NULL && strcmp(d1->ua[0], ua1) == 0 && strcmp(d1->ua[1], ua2) == 0 &&
          d1->ua[2][0] == '\0');
    /* a name, another, the first again: each is read and changes the name */
    int assets = s.assets;
    noted(v, "llmnr", T0 + 3 * SEC, p_src, "192.168.1.77", p_llmnr_type, "response",
          p_llmnr_name, "keiri-pc02", NULL);
    noted(v, "llmnr", T0 + 3 * SEC, p_src, "192.168.1.77", p_llmnr_type, "response",
          p_llmnr_name, "keiri-pc03", NULL);
    noted(v, "llmnr", T0 + 4 * SEC, p_src, "192.168.1.77", p_llmnr_type, "response",
          p_llmnr_name, "keiri-pc02", NULL);
    CHECK(recalled(v) == 1);
    CHECK(d1 != NULL && strcmp(d1->name, "keiri-pc02") == 0);
    CHECK(s.assets == assets + 3); /* "changed" name, three times */
    /* ARP: the same request again is recalled and touches its device */
    noted(v, "arp", T0 + 5 * SEC, p_arp_mac, "3c:22:fb:01:02:03", p_arp_ip, "192.168.1.78",
          NULL);
    noted(v, "arp", T0 + 5 * SEC, p_arp_mac, "00:1b:a9:12:34:56", p_arp_ip, "192.168.1.79",
          NULL);
    noted(v, "arp", T0 + 6 * SEC, p_arp_mac, "3c:22:fb:01:02:03", p_arp_ip, "192.168.1.78",
          NULL);
    const struct inv_device *d3 = inv_find_mac(v, m3), *d2 = inv_find_mac(v, m2);
    CHECK(recalled(v) == 2);
    CHECK(d3 != NULL && d3->last_seen == T0 + 6 * SEC && memcmp(&d3->ip, &a78, sizeof(a78)) == 0);
    /* another MAC takes .78, then the first announces it again: read, .78 moves back */
    noted(v, "arp", T0 + 7 * SEC, p_arp_mac, "00:1b:a9:12:34:56", p_arp_ip, "192.168.1.78",
          NULL);
    CHECK(d2 != NULL && memcmp(&d2->ip, &a78, sizeof(a78)) == 0);
    noted(v, "arp", T0 + 8 * SEC, p_arp_mac, "3c:22:fb:01:02:03", p_arp_ip, "192.168.1.78",
          NULL);
    CHECK(recalled(v) == 2);
    struct inv_attrib at;
    CHECK(inv_attribute(v, &a78, T0 + 8 * SEC, &at) && at.has_mac && memcmp(at.mac, m3, 6) == 0);
    CHECK(inv_attribute(v, &a78, T0 + 7 * SEC, &at) && at.has_mac && memcmp(at.mac, m2, 6) == 0);
    g_whole_events = false;
    inv_free(v);
}

int main(void)
{
    RUN(test_oui);
    RUN(test_oui_rows);
    RUN(test_rules);
    RUN(test_attribution);
    RUN(test_walk_stops);
    RUN(test_repeats);
    g_whole_events = true;
    RUN(test_repeats);
    g_whole_events = false;
    RUN(test_recall);
    RUN(test_addr_parse);
    RUN(test_persistence);
    RUN(test_bounds);
    RUN(test_save_wall_gap);
    RUN(test_learned_lan);
    RUN(test_incremental_save);
    RUN(test_reload_holder);
    RUN(test_quiet);
    return check_done();
}
