/*
 * Event output sink: one JSON event per line, to a file, stdout or a rotating directory.
 *
 * Modes:
 *   SINK_FILE    `path` is the file. Truncated on open unless `append` is set (the
 *                default is append = false, like Suricata's `append: no`). No rotation;
 *                use sink_reopen() after an external logrotate.
 *   SINK_STDOUT  standard output (not closed by sink_close). No rotation.
 *   SINK_DIR     `path` is an existing directory. Events go to <dir>/eve.json; it is
 *                rotated to <dir>/eve-YYYYmmdd-HHMMSS[-N].json when rotate_size bytes or
 *                the rotate_interval_us boundary of *event* time is reached. The name is
 *                the UTC time of the first event in the rotated file (so pcap runs are
 *                deterministic); -N (1, 2, ...) is added when the name is taken, and an
 *                existing file is never overwritten. Beyond keep_files rotated files
 *                (0 = keep all), the oldest by name are deleted. A non-empty eve.json
 *                found at open is rotated away (named by its mtime) unless `append` is
 *                set, so restarting never truncates events.
 *
 * Lines are buffered (buffer_size bytes, 0 = write each line at once) and written as
 * whole lines. Write errors (ENOSPC, EDQUOT, EIO, ...) never stop the program: the lines
 * that could not be written are dropped and counted, the error is logged at most once a
 * second with a suppressed count, and the next write tries again, so output resumes when
 * space returns. A partial write is cut back with ftruncate() to the last complete line;
 * where that is impossible (pipes, ttys) the next write starts with '\n', so no line is
 * ever glued to a fragment. Invariant: every byte the sink leaves in a regular file
 * belongs to a complete, newline-terminated line that was passed to sink_write.
 * A sink is not thread-safe: one writer thread owns it. The program should ignore
 * SIGPIPE so that a closed stdout pipe turns into EPIPE write errors.
 * See docs/internals/output.md.
 */
#ifndef OTASUKE_SINK_H
#define OTASUKE_SINK_H

#include "otasuke/conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sink_kind { SINK_FILE, SINK_STDOUT, SINK_DIR };

#define SINK_BUFFER_MAX (64u << 20) /* largest buffer_size accepted */

struct sink_conf {
    enum sink_kind kind;
    char path[CONF_STR_MAX];     /* file (SINK_FILE) or directory (SINK_DIR) */
    bool append;                 /* keep existing content (default false) */
    uint64_t rotate_size;        /* SINK_DIR: bytes per file, 0 = never */
    uint64_t rotate_interval_us; /* SINK_DIR: event-time period, 0 = never */
    uint32_t keep_files;         /* SINK_DIR: rotated files kept, 0 = all */
    uint64_t buffer_size;        /* write buffer, 0 = unbuffered, <= SINK_BUFFER_MAX */
};

struct sink_stats {
    uint64_t events;       /* lines passed to sink_write */
    uint64_t bytes;        /* bytes written and kept, newlines included */
    uint64_t dropped;      /* lines lost to write errors (or rejected as malformed) */
    uint64_t write_errors; /* failed write, truncate, open or rotate attempts */
    uint64_t rotations;    /* successful rotations */
};

struct sink;

/* Opens a sink as described by c (borrowed until return). Returns NULL on error with a
 * message in err ("path: strerror", "rotation needs output mode dir", ...). The sink's
 * memory comes from MEM_OUTPUT. */
struct sink *sink_open(const struct sink_conf *c, char *err, size_t errlen);
/* Queues line[0..len) (borrowed; must not contain '\n') plus a newline. ts_us is the
 * event time, used for interval rotation and rotated names (0 = unknown). Returns 0
 * when the line was queued or written; ERR_NOSPACE or ERR_IO when this call lost lines
 * (counted in stats); ERR_INVAL for a line containing '\n' (counted as dropped). */
int sink_write(struct sink *s, const char *line, size_t len, uint64_t ts_us);
/* Writes the buffered lines. Returns 0, ERR_NOSPACE or ERR_IO (lines were dropped). */
int sink_flush(struct sink *s);
/* Flushes, then closes and reopens the output file (SINK_FILE, SINK_DIR), always in
 * append mode, for external log rotation. Returns 0 or ERR_IO; on failure later writes
 * keep trying to open the file. */
int sink_reopen(struct sink *s);
/* Flushes and frees s (NULL accepted). Does not close stdout. */
void sink_close(struct sink *s);
/* Copies the counters into *out. */
void sink_stats(const struct sink *s, struct sink_stats *out);

#endif
