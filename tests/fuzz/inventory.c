/*
 * Fuzz harness for the device inventory's readers (sensor/inventory): the input is fed
 * as an event line (after a dhcp, mdns, nbns, ssdp, arp, http or tls header chosen by
 * its first byte) to an inventory; as a series of events of noted values, twice over,
 * both as the parsers hand them over (inv_event_notes: repeats and recalled events
 * taken as such) and as lines (inv_event), which must give the same devices and asset
 * events; written to a file, loaded as a saved inventory (with and without the header
 * line); and read as rows of the IEEE registry (oui.csv), whose blocks are then looked
 * up by MACs taken from the input. Nothing may crash, no asset event may be malformed,
 * a maker found must be a name the registry kept, and no MEM_CORE or MEM_CONF byte may
 * remain once the inventories and the registry are freed.
 */
#include "app/applayer.h"
#include "inventory/inventory.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ud, const char *line, size_t len, uint64_t ts)
{
    (void)ts;
    if (len == 0 || line[0] != '{' || line[len - 1] != '}')
        abort();
    if (ud != NULL) /* a running hash of the asset events written */
        for (size_t i = 0; i < len; i++)
            *(uint64_t *)ud = (*(uint64_t *)ud ^ (uint8_t)line[i]) * 0x100000001b3ULL;
}

static void newdev(void *ud, const struct inv_device *d, uint64_t ts)
{
    (void)ud;
    (void)ts;
    if (memchr(d->name, '\0', INV_NAME_MAX) == NULL) /* a C string within its buffer */
        abort();
}

static void fuzz_conf(struct inv_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->max_devices = 16;
    c->max_history = 16;
    snprintf(c->home_net, sizeof(c->home_net), "192.168.0.0/16");
}

static struct addr host_addr(void)
{
    struct addr a;
    memset(&a, 0, sizeof(a));
    a.b[10] = a.b[11] = 0xff;
    a.b[12] = 192;
    a.b[13] = 168;
    a.b[14] = 1;
    a.b[15] = 10;
    return a;
}

/* The bytes after the first as the rest of one event line (the first picks its head),
 * through a fresh inventory. */
static void feed_event(const uint8_t *data, size_t size)
{
    static const char *const heads[] = {
        "{\"event_type\":\"dhcp\",\"src_ip\":\"192.168.1.1\",",
        "{\"event_type\":\"mdns\",\"src_ip\":\"192.168.1.10\",",
        "{\"event_type\":\"nbns\",\"src_ip\":\"192.168.1.10\",",
        "{\"event_type\":\"ssdp\",\"src_ip\":\"192.168.1.10\",",
        "{\"event_type\":\"arp\",",
        "{\"event_type\":\"http\",\"src_ip\":\"192.168.1.10\",",
        "{\"event_type\":\"tls\",\"src_ip\":\"192.168.1.10\",",
        "",
    };
    struct inv_conf c;
    char err[256];
    fuzz_conf(&c);
    struct inv_host h = {sink, newdev, NULL};
    struct inv *v = inv_new(&c, &h, err, sizeof(err));
    if (v == NULL)
        abort();
    uint8_t mac[6] = {0x00, 0x11, 0x32, 1, 2, 3};
    struct addr a = host_addr();
    inv_packet(v, mac, &a, 1000000);
    const char *hd = heads[size > 0 ? data[0] % 8 : 7];
    size_t hl = strlen(hd);
    size_t body = size > 0 ? size - 1 : 0;
    char *line = malloc(hl + body + 1);
    if (line == NULL) {
        inv_free(v);
        return;
    }
    memcpy(line, hd, hl);
    if (body > 0)
        memcpy(line + hl, data + 1, body);
    line[hl + body] = '\0';
    inv_event(v, line, hl + body, 2000000);
    inv_housekeep(v, 999000000);
    inv_flush(v);
    struct inv_attrib at;
    inv_attribute(v, &a, 1500000, &at);
    inv_free(v);
    free(line);
}

/* What the parsers note (inventory.c, ev_fields), chosen by the input's bytes. */
static const char *const noted_paths[] = {"src_ip",
                                          "dhcp.type",
                                          "dhcp.dhcp_type",
                                          "dhcp.client_mac",
                                          "dhcp.assigned_ip",
                                          "dhcp.subnet_mask",
                                          "dhcp.hostname",
                                          "dhcp.params_fingerprint",
                                          "dhcp.vendor_class_identifier",
                                          "mdns.type",
                                          "mdns.hostnames",
                                          "mdns.services.model",
                                          "mdns.services.type",
                                          "mdns.queries.rrname",
                                          "nbns.name",
                                          "nbns.suffix",
                                          "nbns.opcode",
                                          "nbns.type",
                                          "llmnr.type",
                                          "llmnr.answers.rrname",
                                          "ssdp.type",
                                          "ssdp.server",
                                          "ssdp.nt",
                                          "ssdp.st",
                                          "http.http_user_agent",
                                          "tls.ja3.hash",
                                          "tls.ja4",
                                          "arp.src_mac",
                                          "arp.src_ip"};
#define NOTED_N (sizeof(noted_paths) / sizeof(noted_paths[0]))

/* One event of the input at *p (advanced): a type byte, a count byte, then per value a
 * path byte and the value's bytes up to a 0 byte (64 at most); written as a flat event
 * line into w with its notes in nt. False at the input's end. */
static bool next_event(const uint8_t *data, size_t size, size_t *p, struct jw *w,
                       struct app_notes *nt, const char **type)
{
    static const char *const types[] = {"dhcp",  "arp",  "mdns", "nbns",
                                        "llmnr", "ssdp", "http", "tls"};
    if (*p + 2 > size)
        return false;
    *type = types[data[*p] % 8];
    unsigned nv = data[*p + 1] % 8;
    *p += 2;
    jw_reset(w);
    memset(nt, 0, sizeof(*nt));
    nt->on = true;
    jw_obj_open(w, NULL);
    jw_str(w, "event_type", *type);
    for (unsigned i = 0; i < nv && *p < size; i++) {
        const char *path = noted_paths[data[(*p)++] % NOTED_N];
        char val[65];
        size_t n = 0;
        while (*p < size && data[*p] != 0 && n < 64)
            val[n++] = (char)data[(*p)++];
        if (*p < size && data[*p] == 0)
            (*p)++;
        val[n] = '\0';
        jw_str(w, path, val);
        app_notes_jw(nt, path, strlen(path), w);
    }
    jw_obj_close(w);
    return jw_ok(w);
}

/* The input as events of noted values, fed twice (a packet binds an address between the
 * two) to one inventory as noted values and to another as lines: the devices they keep
 * and the asset events they write must be the same. */
static void feed_noted(const uint8_t *data, size_t size)
{
    struct inv_conf c;
    char err[256];
    fuzz_conf(&c);
    uint64_t ha = 14695981039346656037ULL, hb = ha;
    struct inv_host h1 = {sink, newdev, &ha}, h2 = {sink, newdev, &hb};
    struct inv *a = inv_new(&c, &h1, err, sizeof(err)), *b = inv_new(&c, &h2, err, sizeof(err));
    struct jw w;
    struct app_notes *nt = malloc(sizeof(*nt));
    if (a == NULL || b == NULL || nt == NULL || jw_init(&w, 512, 8192) != 0)
        abort();
    uint64_t ts = 1000000;
    for (int pass = 0; pass < 2; pass++) {
        size_t p = 0;
        const char *type;
        while (next_event(data, size, &p, &w, nt, &type)) {
            ts += 1000;
            inv_event_notes(a, type, strlen(type), w.buf, w.len, nt, ts);
            inv_event(b, w.buf, w.len, ts);
        }
        uint8_t mac[6] = {0x00, 0x11, 0x32, 1, 2, 3};
        struct addr ip = host_addr();
        inv_packet(a, mac, &ip, ts);
        inv_packet(b, mac, &ip, ts);
    }
    if (inv_count(a) != inv_count(b) || ha != hb)
        abort();
    struct jw ja, jb;
    if (jw_init(&ja, 4096, 65536) != 0 || jw_init(&jb, 4096, 65536) != 0)
        abort();
    for (size_t i = 0; i < inv_count(a); i++) {
        jw_reset(&ja);
        jw_reset(&jb);
        jw_obj_open(&ja, NULL);
        jw_obj_open(&jb, NULL);
        inv_device_json(&ja, inv_get(a, i));
        inv_device_json(&jb, inv_get(b, i));
        jw_obj_close(&ja);
        jw_obj_close(&jb);
        if (ja.len != jb.len || memcmp(ja.buf, jb.buf, ja.len) != 0)
            abort();
    }
    jw_free(&ja);
    jw_free(&jb);
    jw_free(&w);
    free(nt);
    inv_free(a);
    inv_free(b);
}

/* The same bytes as a saved inventory, with a header when the first byte's top bit is
 * set. */
static void load_state(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz_inventory_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(path);
        return;
    }
    if (size > 0 && (data[0] & 0x80) != 0)
        fputs("otasuke-inventory 1\n", f);
    fwrite(data, 1, size, f);
    fclose(f);
    struct inv_conf c;
    char err[256];
    fuzz_conf(&c);
    snprintf(c.state_file, sizeof(c.state_file), "%s", path);
    struct inv_host h = {sink, newdev, NULL};
    struct inv *v = inv_new(&c, &h, err, sizeof(err));
    if (v != NULL) {
        for (size_t i = 0; i < inv_count(v); i++)
            if (inv_get(v, i)->name[INV_NAME_MAX - 1] != '\0')
                abort();
        struct addr a = host_addr();
        struct inv_attrib at;
        inv_attribute(v, &a, 1500000, &at);
        inv_free(v);
    }
    unlink(path);
}

/* The same bytes as registry rows; then each 6 bytes of the input as a MAC to look up. */
static void read_registry(const uint8_t *data, size_t size)
{
    struct oui_table *t = oui_new();
    if (t == NULL)
        return;
    long rows = oui_add_csv(t, (const char *)data, size);
    oui_finish(t);
    if (rows >= 0 && oui_count(t) != (size_t)rows)
        abort();
    for (size_t i = 0; i + 6 <= size && i < 600; i += 6) {
        const char *m = oui_lookup(t, data + i);
        if (m != NULL && (m[0] == '\0' || strlen(m) >= 200))
            abort(); /* names are kept non-empty and cut to 199 bytes */
    }
    oui_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct mem_stat m0, m1, c0, c1;
    mem_get(MEM_CORE, &m0);
    mem_get(MEM_CONF, &c0);
    feed_event(data, size);
    feed_noted(data, size);
    load_state(data, size);
    read_registry(data, size);
    mem_get(MEM_CORE, &m1);
    mem_get(MEM_CONF, &c1);
    if (m1.in_use != m0.in_use || c1.in_use != c0.in_use)
        abort();
    return 0;
}
