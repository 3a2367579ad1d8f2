/* Fuzz harness for the Suricata iprep and dataset loaders (see intel_fuzz.h). */
#include "intel_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum intel_format fmts[] = {INTEL_FMT_IPREP, INTEL_FMT_DATASET};
    return fuzz_intel(data, size, fmts, 2);
}
