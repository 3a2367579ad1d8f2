/*
 * Fuzz harness for the SSDP parser (sensor/app/ssdp.c): the input is one UDP payload,
 * given as an exact-size heap copy to datagram() in both directions, with the default
 * caps and with small ones (2 headers, 64-byte lines). The sink aborts on a failed or
 * unbalanced event and on anomaly kinds out of range.
 */
#include <stdint.h>

#include "app/ssdp.h"
#include "lan_fuzz.h"
#include "sensor_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_sink f;
    static struct sensor_conf c;
    fz_datagram(&f, &ssdp_parser, data, size);
    if (!c.ssdp_enabled) {
        conf_defaults(sensor_conf_table, &c);
        c.ssdp_max_headers = 2;
        c.ssdp_max_line = 64;
    }
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL || fz_init(&f, &ssdp_parser) != 0) {
        free(copy);
        return 0;
    }
    memcpy(copy, data, size);
    ssdp_parser.datagram(&f.s, &c, 1, copy, size);
    free(copy);
    return 0;
}
