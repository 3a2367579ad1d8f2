/*
 * Fuzz harness for the detections' JSON walker (sensor/detect/jscan.c) and the event
 * reader on top of it: the input, copied into an exact-size buffer, is walked (every
 * callback checks that the value is NUL-terminated within JSCAN_MAX_STR), then fed to
 * a detect as an event line, with and without a dns/http/fileinfo header prefix.
 * jscan_want, with a filter refusing about half of the members (by their path), must
 * end as jscan does (0 or -1): a skipped value is checked like a read one. jscan_value
 * reads a value starting at each of the first 64 bytes.
 * Nothing may crash and no MEM_CORE byte may remain once the detect is freed.
 */
#include "detect/detect.h"
#include "detect/jscan.h"
#include "otasuke/alloc.h"
#include "otasuke/log.h"
#include "sensor_conf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool cb(const struct jscan_val *v, void *ud)
{
    (void)ud;
    if (strlen(v->s) != v->n || v->n > JSCAN_MAX_STR || strlen(v->path) >= JSCAN_MAX_PATH ||
        strlen(v->path) != v->plen)
        abort();
    return true;
}

/* Refuses the members whose path has an odd byte sum. */
static bool some(const char *path, size_t plen, void *ud)
{
    (void)ud;
    if (strlen(path) != plen)
        abort();
    unsigned sum = 0;
    for (const char *p = path; *p != '\0'; p++)
        sum += (unsigned char)*p;
    return (sum & 1) == 0;
}

static void sink(void *ud, const char *line, size_t len, uint64_t ts)
{
    (void)ud;
    (void)ts;
    if (len == 0 || line[0] != '{')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sensor_conf conf;
    static bool init;
    if (!init) {
        log_set_level(LOG_ERROR);
        conf_defaults(sensor_conf_table, &conf);
        conf.detect_max_pending = 64;
        conf.detect_max_devices = 64;
        conf.detect_scan_max_sources = 64;
        conf.detect_burst_max_trackers = 64;
        init = true;
    }
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    if (jscan(buf, size, cb, NULL) != jscan_want(buf, size, some, cb, NULL))
        abort();
    /* a value read from the middle: from every byte of the first 64 */
    for (size_t at = 0; at < size && at < 64; at++) {
        int rc = jscan_value(buf + at, size - at, "x.y", 3, cb, NULL);
        if (rc < -1 || rc > 1)
            abort();
    }

    struct mem_stat before;
    mem_get(MEM_CORE, &before);
    char err[256];
    struct detect_host h = {sink, NULL};
    struct detect *d = detect_new(&conf, &h, err, sizeof(err));
    if (d != NULL) {
        static const char *const pre[] = {
            "{\"event_type\":\"http\",\"src_ip\":\"203.0.113.1\",\"dest_ip\":\"192.168.1.2\",",
            "{\"event_type\":\"dns\",\"src_ip\":\"192.168.1.2\",\"dest_ip\":\"192.168.1.1\",",
            "{\"event_type\":\"fileinfo\",\"src_ip\":\"::1\",\"dest_ip\":\"fe80::1\","};
        detect_event(d, buf, size, 1);
        for (size_t i = 0; i < 3; i++) {
            size_t pl = strlen(pre[i]);
            char *line = malloc(pl + size + 1);
            if (line == NULL)
                break;
            memcpy(line, pre[i], pl);
            memcpy(line + pl, buf, size);
            detect_event(d, line, pl + size, 1);
            free(line);
        }
        detect_flush(d);
        detect_free(d);
    }
    struct mem_stat after;
    mem_get(MEM_CORE, &after);
    if (after.in_use != before.in_use)
        abort();
    free(buf);
    return 0;
}
