/*
 * Device inventory costs (issue 5): memory per device and the time to load a saved
 * inventory of N devices (default 10,000). Builds an inventory of N devices from DHCP
 * and HTTP/TLS event lines (names, fingerprints, user agents, JA3/JA4 filled, so the
 * saved file is the size a real one would be), saves it, then loads it 5 times and
 * prints the median load time. Usage: inv_bench [N] [state-dir]
 */
#include "inventory/inventory.h"

#include "otasuke/alloc.h"
#include "otasuke/timefmt.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    struct inv_conf c;
    char err[512], line[1024];
    memset(&c, 0, sizeof(c));
    c.max_devices = n;
    c.max_history = n * 2;
    c.learning_us = 3600ULL * 1000000ULL;
    snprintf(c.home_net, sizeof(c.home_net), "10.0.0.0/8");
    snprintf(c.state_file, sizeof(c.state_file), "%s/inv_bench_%d.tsv", dir, (int)getpid());
    if (access("/usr/share/ieee-data/oui.csv", R_OK) == 0)
        snprintf(c.oui_dir, sizeof(c.oui_dir), "/usr/share/ieee-data");
    struct mem_stat m0, m1;
    mem_get(MEM_CORE, &m0);
    struct inv *v = inv_new(&c, NULL, err, sizeof(err));
    if (v == NULL) {
        fprintf(stderr, "inv_bench: %s\n", err);
        return 1;
    }
    uint64_t ts = 1791156600ULL * 1000000ULL;
    for (unsigned i = 0; i < n; i++) {
        char mac[18];
        snprintf(mac, sizeof(mac), "%s:%02x:%02x:%02x", i % 3 ? "54:bf:64" : "f0:18:98",
                 (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
        int l = snprintf(line, sizeof(line),
                         "{\"event_type\":\"dhcp\",\"src_ip\":\"0.0.0.0\",\"dhcp\":{\"type\":"
                         "\"request\",\"client_mac\":\"%s\",\"hostname\":\"PC-%05u\","
                         "\"vendor_class_identifier\":\"MSFT 5.0\",\"params_fingerprint\":"
                         "\"1,3,6,15,31,33,43,44,46,47,119,121,249,252\"}}",
                         mac, i);
        inv_event(v, line, (size_t)l, ts + i);
        l = snprintf(line, sizeof(line),
                     "{\"event_type\":\"dhcp\",\"src_ip\":\"10.0.0.1\",\"dhcp\":{\"type\":"
                     "\"reply\",\"dhcp_type\":\"ack\",\"client_mac\":\"%s\",\"assigned_ip\":"
                     "\"10.%u.%u.%u\"}}",
                     mac, (i >> 16) & 0xff, (i >> 8) & 0xff, (i & 0xff) | 1);
        inv_event(v, line, (size_t)l, ts + i);
        l = snprintf(line, sizeof(line),
                     "{\"event_type\":\"http\",\"src_ip\":\"10.%u.%u.%u\",\"http\":{"
                     "\"http_user_agent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                     "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\"}}",
                     (i >> 16) & 0xff, (i >> 8) & 0xff, (i & 0xff) | 1);
        inv_event(v, line, (size_t)l, ts + i);
    }
    mem_get(MEM_CORE, &m1);
    size_t got = inv_count(v);
    if (inv_save(v, err, sizeof(err)) != 0) {
        fprintf(stderr, "inv_bench: %s\n", err);
        return 1;
    }
    inv_free(v);
    uint64_t t[5];
    for (int k = 0; k < 5; k++) {
        uint64_t t0 = ts_mono_us();
        v = inv_new(&c, NULL, err, sizeof(err));
        t[k] = ts_mono_us() - t0;
        if (v == NULL || inv_count(v) != got) {
            fprintf(stderr, "inv_bench: reload failed: %s\n", err);
            return 1;
        }
        inv_free(v);
    }
    /* the same without the OUI registry: the load of the saved devices alone */
    c.oui_dir[0] = '\0';
    uint64_t u[5];
    for (int k = 0; k < 5; k++) {
        uint64_t t0 = ts_mono_us();
        v = inv_new(&c, NULL, err, sizeof(err));
        u[k] = ts_mono_us() - t0;
        inv_free(v);
    }
    qsort(t, 5, sizeof(t[0]), cmp_u64);
    qsort(u, 5, sizeof(u[0]), cmp_u64);
    FILE *f = fopen(c.state_file, "r");
    long fsz = 0;
    if (f != NULL) {
        fseek(f, 0, SEEK_END);
        fsz = ftell(f);
        fclose(f);
    }
    remove(c.state_file);
    printf("devices %zu\n", got);
    printf("memory_per_device_bytes %.0f (table, index, address map and history sized for "
           "max_devices=%u; OUI registry not counted)\n",
           (double)(m1.in_use - m0.in_use) / (double)n, n);
    printf("sizeof_inv_device %zu\n", sizeof(struct inv_device));
    printf("state_file_bytes %ld (%.0f per device)\n", fsz, (double)fsz / (double)got);
    printf("load_ms_with_oui %.1f\n", (double)t[2] / 1000.0);
    printf("load_ms_without_oui %.1f\n", (double)u[2] / 1000.0);
    return 0;
}
