/*
 * Packet capture through libpcap: a pcap/pcapng file or a live interface, with an
 * optional BPF filter. One packet at a time; the data pointer is valid until the
 * next capture_next() call.
 */
#ifndef OTASUKE_SENSOR_CAPTURE_H
#define OTASUKE_SENSOR_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct capture;

struct capture_live_conf {
    int snaplen;
    bool promisc;
    uint64_t buffer_size; /* kernel ring buffer, bytes */
    int timeout_ms;       /* read timeout, so that the main loop runs while idle */
};

struct capture_pkt {
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
    uint64_t ts_us;
};

struct capture_stats {
    bool live;
    uint64_t received; /* packets read by us */
    uint64_t bytes;    /* wire bytes read */
    uint64_t ps_recv;  /* from pcap_stats (live only) */
    uint64_t ps_drop;
    uint64_t ps_ifdrop;
};

enum capture_rc {
    CAPTURE_PKT = 1,
    CAPTURE_TIMEOUT = 0, /* live: nothing within the read timeout */
    CAPTURE_EOF = -1,
    CAPTURE_ERROR = -2, /* read error or a truncated file; capture_error() says which */
};

/* Opens a capture file (pcap or pcapng; "-" is stdin). bpf may be NULL or "".
 * On failure returns NULL with a message in err. */
struct capture *capture_open_file(const char *path, const char *bpf, char *err, size_t errlen);
/* Reads a capture from an open stream (takes ownership of fp, closed by
 * capture_close or on failure); name is used in messages. */
struct capture *capture_open_fp(FILE *fp, const char *name, const char *bpf, char *err,
                                size_t errlen);
/* Opens a live interface. */
struct capture *capture_open_live(const char *iface, const char *bpf,
                                  const struct capture_live_conf *c, char *err, size_t errlen);
/* Reads the next packet into *out. */
enum capture_rc capture_next(struct capture *c, struct capture_pkt *out);
int capture_linktype(const struct capture *c);
/* The last error text (read errors, truncation). */
const char *capture_error(const struct capture *c);
/* File captures: bytes read so far and file size; returns false when unknown. */
bool capture_progress(const struct capture *c, uint64_t *pos, uint64_t *size);
/* Fills *out; for live captures queries the kernel counters. */
void capture_stats(struct capture *c, struct capture_stats *out);
/* Makes a blocking capture_next() return soon (signal-safe). */
void capture_breakloop(struct capture *c);
void capture_close(struct capture *c);

#endif
