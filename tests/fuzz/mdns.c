/*
 * Fuzz harness for the mDNS / DNS-SD and LLMNR parsers (sensor/app/mdns.c): the input
 * is one UDP payload, given as an exact-size heap copy to both parsers' datagram()
 * in both directions. The sink aborts on a failed or unbalanced event and on anomaly
 * kinds out of range (lan_fuzz.h); ASan/UBSan catch the rest.
 */
#include <stdint.h>

#include "app/mdns.h"
#include "lan_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_sink f;
    fz_datagram(&f, &mdns_parser, data, size);
    fz_datagram(&f, &llmnr_parser, data, size);
    return 0;
}
