/*
 * Fuzz harness for the TZif reader of the center's mails (center/notify/tzfile.c,
 * tz_lookup): the input is a TZif file's contents, looked up at several instants
 * (before the first transition, around 2026, far future and past). Checked: the
 * offset stays within RFC 8536's range and the abbreviation is a C string within its
 * buffer.
 */
#include "notify/tzfile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t at[] = {INT64_MIN, -5364662400LL, 0, 1795392000LL, 4102444800LL,
                                 INT64_MAX};
    unsigned char *copy = malloc(size ? size : 1); /* exact size: over-reads are caught */
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        int32_t off = 0;
        char abbr[8];
        memset(abbr, 'x', sizeof(abbr));
        if (tz_lookup(copy, size, at[i], &off, abbr, sizeof(abbr)) == 0) {
            if (off < -25 * 3600 || off > 26 * 3600 || memchr(abbr, '\0', sizeof(abbr)) == NULL)
                abort();
        }
    }
    free(copy);
    return 0;
}
