/*
 * Fuzz harness for the center answers the sensor parses (sensor/ship, jansson
 * underneath): the enrollment reply (ship_parse_enroll_reply: a success must give a
 * token of exactly otk_ and 64 lowercase hex digits) and the ingest acknowledgement
 * (ship_parse_ack: the first error always fits its buffer, NUL-terminated). The input
 * is copied into an exact-size allocation so reads past its end are caught.
 */
#include "ship/ship.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    if (size > 0)
        memcpy(buf, data, size);
    char tok[80];
    int64_t id = 0;
    if (ship_parse_enroll_reply(buf, size, tok, sizeof(tok), &id) == 0) {
        if (strlen(tok) != 68 || strncmp(tok, "otk_", 4) != 0 ||
            strspn(tok + 4, "0123456789abcdef") != 64)
            abort();
    }
    uint64_t rej = 0;
    bool dup = false;
    char first[48];
    memset(first, 'x', sizeof(first));
    if (ship_parse_ack(buf, size, &rej, &dup, first, sizeof(first)) == 0 &&
        memchr(first, '\0', sizeof(first)) == NULL)
        abort();
    free(buf);
    return 0;
}
