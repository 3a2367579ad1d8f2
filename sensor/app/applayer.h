/*
 * The interface between the pipeline and the application-layer parsers of TCP
 * streams (HTTP, TLS, SMTP, SSH, DNS over TCP) and of UDP datagrams (mDNS, SSDP,
 * NBNS, LLMNR).
 *
 * A parser is a table of functions (`struct app_parser`). The pipeline picks one for
 * a TCP flow by asking each parser's probe() about the first bytes of the stream
 * (either direction, whichever comes first), then creates the flow's state and feeds
 * it every in-order byte of both directions as the reassembler delivers it, in any
 * split. A parser never sees the packet path: what it learns it writes as events
 * through a `struct app_sink`, which the pipeline implements (and a unit test can
 * implement to capture events). The sink also counts anomalies and samples them into
 * `anomaly` events (type "applayer").
 *
 * Rules every parser follows:
 *  - resumable: data split anywhere parses the same as whole (tests feed every split);
 *  - bounded: no allocation from a length on the wire; state from MEM_APP, with the
 *    caps of its configuration; a limit reached is an anomaly, not a crash;
 *  - it never calls back into the pipeline except through the sink, and the sink's
 *    functions are valid only during the call that received the sink.
 */
#ifndef OTASUKE_SENSOR_APPLAYER_H
#define OTASUKE_SENSOR_APPLAYER_H

#include "otasuke/jw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sensor_conf;

/* Directions, as in flow.h: bytes from the client (the flow's initiator), from the
 * server. */
#define APP_TOSERVER 0
#define APP_TOCLIENT 1

enum app_probe {
    APP_PROBE_NO = 0, /* not this protocol */
    APP_PROBE_YES,    /* this protocol */
    APP_PROBE_MORE    /* cannot tell yet: ask again with more bytes (up to 512) */
};

/* Values of an event noted as the parser writes them, for a reader in the sensor that
 * would otherwise read the line back (the device inventory): each is the path of the
 * value in the line, as jscan gives it ("dhcp.client_mac"; array levels add nothing),
 * where the value begins in the line (jw's val_at) and, for a string with no escape in
 * it (most), the length of its text, which then stands between the quotes as it is.
 * A parser with app_parser.notes set notes every string value the inventory reads from
 * its events (inv_reads in sensor/inventory/inventory.h) in the order it writes them;
 * its fuzz harness checks that with tests/notes_check.h, and `inventory.read_lines:
 * yes` reads the lines instead, which pcap.inventory_notes compares. */
#define APP_NOTES_MAX 16
struct app_note {
    const char *path; /* a literal */
    size_t plen, at;
    size_t text; /* a plain string: 1 + its text's length; 0: read it with jscan_value */
};
struct app_notes {
    bool on;   /* the event being written is noted (its parser notes) */
    bool lost; /* more than APP_NOTES_MAX were noted: the line is read instead */
    unsigned n;
    struct app_note v[APP_NOTES_MAX];
};

/* Appends a note (the value at `at` of the line, under path; text as in struct
 * app_note); past APP_NOTES_MAX the notes are lost. */
static inline void app_notes_add(struct app_notes *n, const char *path, size_t plen, size_t at,
                                 size_t text)
{
    if (n->n < APP_NOTES_MAX)
        n->v[n->n++] = (struct app_note){path, plen, at, text};
    else
        n->lost = true;
}

/* Notes the value w wrote last (it ends where w's document does), under path (plen
 * bytes): as a plain string when it is a string without a backslash (jw escapes every
 * control byte, so its text is the value); jw says so of a string it wrote with no
 * escape (plain_at), else the string is searched. */
static inline void app_notes_jw(struct app_notes *n, const char *path, size_t plen,
                                const struct jw *w)
{
    size_t at = w->val_at, end = w->len, text = 0;
    if (end >= at + 2 && w->buf[at] == '"' && w->buf[end - 1] == '"' &&
        (w->plain_at == at || memchr(w->buf + at + 1, '\\', end - at - 2) == NULL))
        text = end - at - 1;
    app_notes_add(n, path, plen, at, text);
}

/* What a parser may do with what it found. */
struct app_sink {
    /* Opens an event of `event_type` about the current flow: writes timestamp (the
     * current packet's time), flow_id, event_type and the 5-tuple with src = the sender
     * of direction `dir` (APP_TOSERVER: src is the client), and leaves w inside the
     * top-level object. The parser adds its object(s), then calls event_end. Returns
     * NULL when the event is not wanted (the type is disabled): write nothing then. */
    struct jw *(*event_begin)(struct app_sink *s, const char *event_type, int dir);
    void (*event_end)(struct app_sink *s);
    /* Counts one anomaly of this parser (kind < parser's nkinds) seen in direction dir,
     * and may write an `anomaly` event {type: "applayer", app_proto, event: name}. */
    void (*anomaly)(struct app_sink *s, int kind, int dir);
    /* Notes the value just written into the event (a scalar, or an element of an array)
     * under its path (a literal: "dhcp.client_mac"): see struct app_notes. NULL: nobody
     * listens (tests); parsers call app_note(). */
    void (*note)(struct app_sink *s, const char *path, size_t plen);
    /* The current packet's time, µs since the epoch (for fields such as timestamps of
     * transactions). */
    uint64_t now_us;
    /* The flow's id (written by event_begin; for parsers that keep it in state). */
    uint64_t flow_id;
    /* Datagram parsers: packets the flow carried, both directions, before this one
     * (DNS numbers its transactions with it, as Suricata 8: one per message). */
    uint64_t dgram_index;
    void *ud; /* the implementation's */
};

struct app_parser {
    const char *name; /* "http", "tls", ...: app_proto and the stats key */
    int nkinds;       /* anomaly kinds: 0 .. nkinds-1 */
    const char *(*kind_name)(int kind); /* "line_too_long", ... (static strings) */

    /* ---- TCP stream parsers (NULL for datagram parsers) ---- */
    /* Whether a stream whose first bytes in direction dir are d[0..n) is this
     * protocol. sport/dport are the flow's client and server ports (a port may only
     * strengthen a guess from content, except where the protocol has no signature in
     * its first bytes, e.g. DNS over TCP). */
    enum app_probe (*probe)(const uint8_t *d, size_t n, int dir, uint16_t sport,
                            uint16_t dport);
    /* Per-flow state from MEM_APP, configured from c; NULL when memory is refused (the
     * pipeline counts it and does not parse the flow). */
    void *(*state_new)(const struct sensor_conf *c);
    void (*state_free)(void *st);
    /* n > 0 in-order bytes of direction dir, borrowed until return. */
    void (*data)(void *st, struct app_sink *s, int dir, const uint8_t *d, size_t n);
    /* len bytes of direction dir were lost (reassembly gap): resynchronise or stop. */
    void (*gap)(void *st, struct app_sink *s, int dir, uint64_t len);
    /* The flow ends: log what is still pending (a request without response, a file
     * not complete). The sink's now_us is the flow's last packet time. */
    void (*end)(void *st, struct app_sink *s);

    /* ---- UDP datagram parsers (NULL for stream parsers) ---- */
    /* Whether a datagram between these ports is this parser's. */
    bool (*udp_match)(uint16_t sport, uint16_t dport);
    /* One datagram payload sent in direction dir (flow direction); the parser writes
     * its events; c gives its limits. */
    void (*datagram)(struct app_sink *s, const struct sensor_conf *c, int dir, const uint8_t *d,
                     size_t n);
    /* Its events note the values the inventory reads (struct app_notes). */
    bool notes;
};

/* (path's length is computed here, inline: for the literals parsers pass, when the
 * program is compiled) */
static inline void app_note(struct app_sink *s, const char *path)
{
    if (s != NULL && s->note != NULL)
        s->note(s, path, strlen(path));
}

#endif
