/*
 * The sensor's packet pipeline: capture → decode → flows (+ TCP reassembly)
 * → application identification → events. With capture.workers = 1 one thread owns
 * a pipeline; with N > 1, pipeline_run's thread reads the capture and hands each
 * packet to one of N worker threads by its flow (see pipeline.c).
 */
#ifndef OTASUKE_SENSOR_PIPELINE_H
#define OTASUKE_SENSOR_PIPELINE_H

#include "sensor_conf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* capture.workers is capped at this */
#define PIPELINE_MAX_WORKERS 16

struct pipeline;
struct capture;
struct sweep;

struct pipeline_summary {
    uint64_t packets, bytes, flows, events, events_dropped, decode_bad, kernel_drops;
    uint64_t first_ts, last_ts;
    double wall_s;
    bool read_error;
};

/* Builds every module from conf. The output is opened here (before privileges are
 * dropped). Returns NULL with a message in err. Borrows conf until pipeline_free. */
struct pipeline *pipeline_new(const struct sensor_conf *conf, char *err, size_t errlen);
void pipeline_free(struct pipeline *pl);
/* Reads cap to its end (or until pipeline_stop), then ends all flows and writes the
 * final stats event. progress: show a progress line on stderr. Returns 0, or
 * ERR_IO when the capture ended with a read error (what was read is still logged). */
int pipeline_run(struct pipeline *pl, struct capture *cap, bool progress);
/* The ARP sweep (inventory/sweep.h), borrowed until pipeline_free: its counters go
 * into stats events and pipeline_run stops it before the final stats. */
void pipeline_set_sweep(struct pipeline *pl, struct sweep *sw);
/* Async-signal-safe: asks for the intel lists to be reloaded at the next
 * housekeeping (once a second of packet time; SIGHUP). */
void pipeline_reload(struct pipeline *pl);
/* Async-signal-safe: asks pipeline_run to stop soon. */
void pipeline_stop(struct pipeline *pl);
void pipeline_summary(const struct pipeline *pl, struct pipeline_summary *out);

#endif
