/*
 * Fuzz harness for the only center answer the sensor parses: the enrollment reply
 * (sensor/ship, ship_parse_enroll_reply; jansson underneath). A success must give a
 * token of exactly otk_ and 64 lowercase hex digits; the input is copied into an
 * exact-size allocation so reads past its end are caught.
 */
#include "ship/ship.h"

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
    free(buf);
    return 0;
}
