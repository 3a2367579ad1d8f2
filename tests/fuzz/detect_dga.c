/*
 * Fuzz harness for the DGA-like name detector (sensor/detect/dga.c): the names of DNS
 * questions are untrusted. Each input line is a name: it is classified (libpsl, the
 * ignore list, the label score) with and without NXDOMAIN, scored as a bare label,
 * then sent through a detect as a dns request and an NXDOMAIN response of one device
 * (JSON-escaped), so that the tracker, its set of name hashes, the samples and the
 * evidence writer see every byte. One detect serves every input (building one per
 * input, with its fixed tables and the public suffix list, ran at 13 inputs/s); its
 * trackers fill and evict across inputs. Nothing may crash; ASan's leak check covers
 * the end.
 */
#include "detect/detect.h"
#include "detect/detect_int.h"
#include "otasuke/log.h"
#include "sensor_conf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        conf.detect_beacon_max_trackers = 16;
        conf.detect_policy_max_p2p = 16;
        conf.detect_dga_max_devices = 16;
        conf.detect_dga_min_random = 2;
        conf.detect_dga_min_nxdomain = 3;
        snprintf(conf.detect_dga_ignore, sizeof(conf.detect_dga_ignore), "corp.example,lan");
        init = true;
    }
    static struct detect *d;
    if (d == NULL) {
        char err[256];
        struct detect_host h = {sink, NULL};
        d = detect_new(&conf, &h, err, sizeof(err));
        if (d == NULL)
            abort();
    }
    size_t i = 0;
    uint64_t ts = 1000000;
    while (i < size) {
        size_t n = 0;
        while (i + n < size && data[i + n] != '\n')
            n++;
        char name[300], esc[1800], line[2200];
        size_t k = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
        memcpy(name, data + i, k);
        name[k] = '\0';
        i += n + 1;
        (void)det_dga_classify(d->dga, name, false);
        (void)det_dga_classify(d->dga, name, true);
        struct dga_score sc;
        (void)dga_label_random(name, strlen(name), &sc);
        det_json_esc(esc, sizeof(esc), name);
        for (int resp = 0; resp < 2; resp++) {
            int m = snprintf(line, sizeof(line),
                             resp ? "{\"event_type\":\"dns\",\"src_ip\":\"192.168.1.1\","
                                    "\"dest_ip\":\"192.168.1.2\",\"proto\":\"UDP\",\"dns\":{"
                                    "\"type\":\"response\",\"rcode\":\"NXDOMAIN\",\"queries\":"
                                    "[{\"rrname\":\"%s\"}]}}"
                                  : "{\"event_type\":\"dns\",\"src_ip\":\"192.168.1.2\","
                                    "\"dest_ip\":\"192.168.1.1\",\"proto\":\"UDP\",\"dns\":{"
                                    "\"type\":\"request\",\"queries\":[{\"rrname\":\"%s\"}]}}",
                             esc);
            if (m > 0 && (size_t)m < sizeof(line))
                detect_event(d, line, (size_t)m, ts);
        }
        ts += 1000000;
    }
    detect_flush(d);
    return 0;
}
