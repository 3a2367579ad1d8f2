/*
 * The application layer as the pipeline sees it: picks a parser for each TCP stream
 * (by asking the parsers' probes about its first bytes) and for each UDP datagram
 * (by port), feeds it, implements the `struct app_sink` through which parsers write
 * events and anomalies, and keeps per-parser counters for the stats event.
 *
 * Per flow it keeps a small state (the chosen parser, its per-flow state, up to
 * APP_PROBE_MAX bytes per direction while undecided) in flow->app_stream, from
 * MEM_APP; a flow that no parser wants costs nothing after the decision.
 */
#ifndef OTASUKE_SENSOR_DISPATCH_H
#define OTASUKE_SENSOR_DISPATCH_H

#include "app/applayer.h"
#include "decode/pkt.h"
#include "flow/flow.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APP_PROBE_MAX 512 /* bytes per direction buffered while no parser has decided */

struct jw;
struct sensor_conf;

/* What the dispatcher needs from the pipeline: its event writer, its packet count, the function that
 * writes the finished event in w (counting oversized ones), the anomaly
 * sampling decision for the n-th anomaly of a kind, and where to note values. */
struct applayer_host {
    struct jw *jw;
    const uint64_t *packets; /* the current packet's number (pcap_cnt); 0: none, the
                                events come from a flow's end (reassembly flush) */
    void (*write)(void *ud, uint64_t ts_us);
    bool (*sample)(void *ud, uint64_t n, uint64_t *suppressed);
    void *ud;
    /* Where the values of the event being written are noted (struct app_notes): reset
     * by each event's header, read by write. NULL: nothing is noted. */
    struct app_notes *notes;
};

struct applayer;

/* Creates the dispatcher for the parsers that c enables. Borrows c and h for its
 * lifetime. NULL when out of memory. */
struct applayer *applayer_new(const struct sensor_conf *c, const struct applayer_host *h);
/* Frees al. Flows must have been ended first (applayer_flow_end). Accepts NULL. */
void applayer_free(struct applayer *al);

/* A UDP datagram payload of flow f sent in direction dir between ports sport → dport. */
void applayer_udp(struct applayer *al, struct flow *f, int dir, uint16_t sport, uint16_t dport,
                  const uint8_t *d, size_t n, uint64_t now_us);
/* An ARP packet the decoder read (DECODE_ARP): an `arp` event, requests paired with
 * their replies. */
void applayer_arp(struct applayer *al, const struct pkt *p, uint64_t now_us);
/* In-order stream bytes of TCP flow f, direction dir (from the reassembler). */
void applayer_stream(struct applayer *al, struct flow *f, int dir, const uint8_t *d, size_t n,
                     uint64_t now_us);
/* len bytes of direction dir were lost (reassembly gap). */
void applayer_gap(struct applayer *al, struct flow *f, int dir, uint64_t len, uint64_t now_us);
/* The flow ends: the parser logs what is pending; its state is freed. */
void applayer_flow_end(struct applayer *al, struct flow *f);

/* Writes the "app_layer" object of the stats event: per enabled parser its counters
 * and non-zero anomaly counts. */
void applayer_stats(const struct applayer *al, struct jw *w);
/* Events written by parser `name` so far (tests, summary); 0 when unknown. */
uint64_t applayer_events(const struct applayer *al, const char *name);

#endif
