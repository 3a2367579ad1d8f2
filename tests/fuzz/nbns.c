/*
 * Fuzz harness for the NetBIOS name service parser (sensor/app/nbns.c): the input is
 * one UDP payload, given as an exact-size heap copy to datagram() in both directions.
 * The sink aborts on a failed or unbalanced event and on anomaly kinds out of range.
 */
#include <stdint.h>

#include "app/nbns.h"
#include "lan_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_sink f;
    fz_datagram(&f, &nbns_parser, data, size);
    return 0;
}
