/*
 * Fuzz harness for the DHCP parser and event writer. The input is one UDP payload,
 * copied into an exact-size heap buffer so that ASan sees any over-read. It is parsed,
 * checked against the struct's invariants, and written as an event (both the plain and
 * the extended shape) into a writer whose small maximum makes some writes fail. Each
 * line written whole must read back (readback.h: it walks in jscan, and the values the
 * writer notes for the inventory are what a reader of the line finds).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/dhcp.h"
#include "otasuke/err.h"
#include "readback.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_invariants(const struct dhcp_msg *m)
{
    if (m->chaddr_len > DHCP_MAX_HLEN || m->hostname_len > DHCP_MAX_STR ||
        m->vendor_class_len > DHCP_MAX_STR || m->fqdn_len > DHCP_MAX_STR ||
        m->client_id_len > DHCP_MAX_CLIENT_ID || m->params_n > DHCP_MAX_PARAMS ||
        m->routers_n > DHCP_MAX_ADDRS || m->dns_n > DHCP_MAX_ADDRS ||
        m->n_options > DHCP_MAX_OPTIONS)
        abort();
    if (strlen(m->hostname) > m->hostname_len || strlen(m->params_fp) >= DHCP_FP_LEN)
        abort();
    if (m->anomalies >> DHCP_AN_COUNT)
        abort();
}

/* m as an event, plain and extended, into a writer of at most max bytes; room: it
 * must fit. The values noted for the inventory must be what it would read. */
static void write_event(const struct dhcp_msg *m, size_t max, bool room)
{
    struct jw w;
    if (jw_init(&w, 32, max) != 0)
        return;
    for (int ext = 0; ext < 2; ext++) {
        struct notes_sink ns;
        notes_sink_init(&ns, &w);
        jw_reset(&w);
        jw_obj_open(&w, NULL);
        dhcp_write_event(&w, &ns.s, m, ext == 1);
        jw_obj_close(&w);
        if (room && !jw_ok(&w))
            abort();
        if (!jw_ok(&w))
            continue;
        if (w.len == 0 || w.buf[w.len - 1] != '}')
            abort();
        fz_readback(&w, &ns.nt, "dhcp");
    }
    jw_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    if (size)
        memcpy(buf, data, size);
    struct dhcp_msg m;
    int rc = dhcp_parse(&m, size ? buf : NULL, size);
    if (rc != PARSE_OK && rc != PARSE_BAD)
        abort();
    if (rc == PARSE_BAD && m.anomalies == 0)
        abort();
    check_invariants(&m);
    /* The max varies with the input so that writes stop at many different points;
     * then a writer with room for any event, whose notes are always checked. */
    write_event(&m, 64 + (size > 0 ? (size_t)data[0] * 8 : 0), false);
    write_event(&m, 1 << 20, true);
    (void)dhcp_should_log(&m, false);
    free(buf);
    return 0;
}
