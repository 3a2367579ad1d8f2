/*
 * Shipping events to otasuke-center (issue 6, sensor side), with a bounded on-disk
 * spool so that a center that is down, slow or unreachable costs nothing but disk.
 *
 * The packet thread hands each event line of a chosen type to ship_offer(), which
 * only copies it into a bounded memory queue (a full queue drops and counts: the
 * packet path never waits for the disk or the network). A spool-writer thread moves
 * the queue into segment files under <state_dir>/spool/; one segment is one batch
 * for the center (ship.batch_events / batch_bytes / batch_age). A sender thread
 * POSTs the oldest closed segment to /api/v1/ingest with its batch id (the file
 * name) and sequence number, and deletes it only after the center answered 200.
 * A full spool (ship.spool_size) deletes its oldest closed segment that is not in
 * flight and counts its events as dropped. See docs/center.md "The sensor side".
 *
 * Invariants: an event leaves the spool only when the center acknowledged its batch
 * (or the spool dropped it and counted it); a batch id names the same bytes forever,
 * so a resend after a crash, a timeout or a restart is a duplicate to the center.
 */
#ifndef OTASUKE_SHIP_H
#define OTASUKE_SHIP_H

#include "otasuke/conf.h"
#include "otasuke/jw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sensor_conf;
struct ship;

struct ship_conf {
    char url[CONF_STR_MAX];       /* center base URL */
    char state_dir[CONF_STR_MAX]; /* token and spool/ */
    char types[CONF_STR_MAX];     /* comma-separated event types, "*" = all */
    uint64_t spool_size;          /* bytes on disk at most */
    uint64_t queue_size;          /* bytes in memory between the threads at most */
    uint64_t batch_events;
    uint64_t batch_bytes;
    uint64_t batch_age_us;
    bool fsync;
    uint64_t timeout_us;
    uint64_t backoff_max_us;
    uint64_t drain_us;
};

struct ship_stats {
    uint64_t queued;          /* events accepted by ship_offer */
    uint64_t spooled;         /* events written to the spool */
    uint64_t batches_sent;    /* POST attempts */
    uint64_t acked;           /* events in batches the center acknowledged */
    uint64_t acked_batches;
    uint64_t duplicates;      /* batches the center answered as already stored */
    uint64_t retries;         /* failed attempts that will be retried */
    uint64_t dropped;         /* sum of the four below and rejected */
    uint64_t dropped_queue;   /* queue full (the spool writer did not keep up) */
    uint64_t dropped_spool;   /* oldest segment deleted by the spool cap */
    uint64_t dropped_write;   /* spool write errors (disk full) */
    uint64_t dropped_refused; /* batches the center refused for good (400, 413, 415) */
    uint64_t rejected;        /* lines the center rejected in acknowledged batches */
    uint64_t spool_bytes;     /* bytes in the spool now */
    uint64_t spool_segments;  /* closed segments waiting to be sent */
};

/* Fills c from the sensor's ship.* settings. */
void ship_conf_from_sensor(const struct sensor_conf *sc, struct ship_conf *c);
/* Reads the device token, opens (and recovers) the spool and starts the two threads.
 * Returns NULL with a message in err. */
struct ship *ship_new(const struct ship_conf *c, char *err, size_t errlen);
/* Copies an event line (no newline) when its event_type is shipped. Never blocks on
 * the disk or the network; a full queue counts the event as dropped. */
void ship_offer(struct ship *s, const char *line, size_t len);
/* Closes the open batch and sends what the spool holds for at most ship.drain_timeout,
 * then stops the threads. What is left stays spooled for the next start. */
void ship_drain(struct ship *s);
/* Stops the threads (at once, if ship_drain was not called) and frees s. NULL is ok. */
void ship_free(struct ship *s);
void ship_stats(struct ship *s, struct ship_stats *out);
/* Writes the "ship" object of a stats event. */
void ship_stats_json(struct ship *s, struct jw *w);

/* Exchanges the one-time enrollment code for a device token at URL/api/v1/enroll
 * and stores it in state_dir/token (mode 0600, written atomically). Prints nothing;
 * on success returns 0 and the sensor id in *sensor_id; else a message in err. */
int ship_enroll(const char *url, const char *code, const char *state_dir, uint64_t timeout_us,
                int64_t *sensor_id, char *err, size_t errlen);
/* Parses the center's answer to an ingest batch ({"batch":…,"duplicate":…,"stored":…,
 * "rejected":N,"errors":[{"line":…,"error":"…"}…]}): *rejected, *duplicate and the
 * first error as "line L: text" in first_error (may be empty). Returns 0 or ERR_INVAL.
 * Exposed for the fuzz harness. */
int ship_parse_ack(const char *body, size_t len, uint64_t *rejected, bool *duplicate,
                   char *first_error, size_t elen);
/* Parses the center's enrollment answer {"token":"otk_…","sensor_id":N,…}: copies the
 * token (checked: otk_ and 64 hex digits) into tok (>= 69 bytes). Returns 0 or
 * ERR_INVAL. Exposed for the fuzz harness. */
int ship_parse_enroll_reply(const char *body, size_t len, char *tok, size_t toklen,
                            int64_t *sensor_id);

#endif
