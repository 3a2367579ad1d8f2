/*
 * Fuzz harness for the center's ingest body parser (center/ingest/ingest.c): the
 * input is tried as a plain NDJSON body and, when it starts like a gzip or zlib
 * stream, inflated first under a small cap, as the server does. The parse result is
 * then checked: every event lies inside the body, counts add up.
 */
#include "ingest/ingest.h"

#include "otasuke/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void parse(const char *body, size_t len)
{
    struct ingest_limits lim = {.max_line = 4096, .max_events = 64};
    struct ingest_result res;
    if (ingest_parse(body, len, &lim, &res) == 0) {
        if (res.n_ev + res.rejected != res.lines || res.n_rejects > INGEST_REJECTS_LISTED)
            abort();
        for (size_t i = 0; i < res.n_ev; i++) {
            const struct store_event *e = &res.se[i];
            if (e->body < body || e->body + e->body_len > body + len || e->body_len > 4096 ||
                strlen(e->event_type) == 0)
                abort();
        }
    }
    ingest_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1); /* exact size, so over-reads are caught */
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    parse(copy, size);
    free(copy);
    if (size >= 2 && (data[0] == 0x1f || data[0] == 0x78)) {
        char *out = NULL;
        size_t n = 0;
        if (ingest_inflate(data, size, 1 << 16, &out, &n) == 0) {
            parse(out, n);
            xfree(out);
        }
    }
    return 0;
}
