/*
 * Fuzz harness of the ingest line scanner (center/ingest/linescan.c) with its
 * differential check against jansson (linescan_diff.h): the input is one line; any
 * difference aborts, with what differs on stderr.
 */
#include "linescan_diff.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct linescan g_ls; /* reused across inputs, as ingest_parse does in a batch */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size ? size : 1); /* exact size, so over-reads are caught */
    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    const char *why = linescan_diff(&g_ls, line, size);
    free(line);
    if (why != NULL) {
        fprintf(stderr, "linescan and jansson differ: %s\n", why);
        abort();
    }
    return 0;
}
