/*
 * Fuzz harness for the device inventory's readers (sensor/inventory): the input is fed
 * as an event line (after a dhcp, mdns, nbns, ssdp, arp, http or tls header chosen by
 * its first byte) to an inventory, and, written to a file, loaded as a saved inventory
 * (with and without the header line), and read as rows of the IEEE registry (oui.csv),
 * whose blocks are then looked up by MACs taken from the input. Nothing may crash, no
 * asset event may be malformed, a maker found must be a name the registry kept, and
 * no MEM_CORE or MEM_CONF byte may remain once the inventories and the registry are
 * freed.
 */
#include "inventory/inventory.h"
#include "otasuke/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ud, const char *line, size_t len, uint64_t ts)
{
    (void)ud;
    (void)ts;
    if (len == 0 || line[0] != '{' || line[len - 1] != '}')
        abort();
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
    load_state(data, size);
    read_registry(data, size);
    mem_get(MEM_CORE, &m1);
    mem_get(MEM_CONF, &c1);
    if (m1.in_use != m0.in_use || c1.in_use != c0.in_use)
        abort();
    return 0;
}
