/* Fuzz harness for the CSV and abuse.ch CSV list loaders (see intel_fuzz.h). */
#include "intel_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum intel_format fmts[] = {INTEL_FMT_CSV, INTEL_FMT_ABUSECH};
    return fuzz_intel(data, size, fmts, 2);
}
