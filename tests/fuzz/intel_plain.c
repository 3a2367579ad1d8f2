/* Fuzz harness for the plain and maltrail list loaders (see intel_fuzz.h). */
#include "intel_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum intel_format fmts[] = {INTEL_FMT_PLAIN, INTEL_FMT_MALTRAIL};
    return fuzz_intel(data, size, fmts, 2);
}
