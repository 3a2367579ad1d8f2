/*
 * libpcap capture source. Files are read with pcap_open_offline (pcap and pcapng);
 * a truncated or corrupt file ends the read with CAPTURE_ERROR and a message, after
 * every whole packet before the damage was delivered. Live interfaces use
 * pcap_create/pcap_activate with a configured snaplen, buffer and read timeout;
 * kernel drops are read with pcap_stats() and reported in stats events.
 *
 * Live reads are non-blocking with our own poll() of the read timeout: with Linux
 * TPACKET_V3 (libpcap >= 1.8) the pcap timeout only bounds how long a packet waits in a
 * partly filled block, so on an interface where nothing arrives a blocking read never
 * returns and the sensor's clock (stats, flow timeouts, inventory saves) would stop.
 */
#include "capture/capture.h"

#include "otasuke/alloc.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CAPTURE_FILE_BUF (1u << 20) /* stdio buffer for capture files: fewer read(2) calls */

struct capture {
    pcap_t *p;
    char *iobuf; /* setvbuf buffer of a file we opened; freed after pcap_close */
    bool live;
    int fd;         /* live: selectable descriptor polled while idle; -1: blocking reads */
    int timeout_ms; /* live: longest wait for a packet before CAPTURE_TIMEOUT */
    uint64_t file_size;
    uint64_t received;
    uint64_t bytes;
    char err[PCAP_ERRBUF_SIZE + 64];
};

static int apply_filter(struct capture *c, const char *bpf, char *err, size_t errlen)
{
    if (bpf == NULL || bpf[0] == '\0')
        return 0;
    struct bpf_program prog;
    if (pcap_compile(c->p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "BPF filter \"%s\": %s", bpf, pcap_geterr(c->p));
        return -1;
    }
    int rc = pcap_setfilter(c->p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(err, errlen, "BPF filter \"%s\": %s", bpf, pcap_geterr(c->p));
        return -1;
    }
    return 0;
}

/* Opens a capture on fp (owned from here on: closed on failure too). iobuf, when not
 * NULL, is fp's stdio buffer and is freed with the capture. */
static struct capture *open_stream(FILE *fp, char *iobuf, const char *name, const char *bpf,
                                   char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct capture *c = xcalloc(MEM_CAPTURE, 1, sizeof(*c));
    if (c == NULL) {
        fclose(fp);
        xfree(iobuf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->iobuf = iobuf;
    c->fd = -1;
    c->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (c->p == NULL) {
        fclose(fp);
        snprintf(err, errlen, "%s: %s", name, ebuf);
        goto fail;
    }
    if (apply_filter(c, bpf, err, errlen) != 0)
        goto fail;
    return c;
fail:
    capture_close(c);
    return NULL;
}

struct capture *capture_open_file(const char *path, const char *bpf, char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0)
        return open_stream(stdin, NULL, "stdin", bpf, err, errlen);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *iobuf = xalloc(MEM_CAPTURE, CAPTURE_FILE_BUF);
    if (iobuf != NULL)
        setvbuf(fp, iobuf, _IOFBF, CAPTURE_FILE_BUF);
    struct stat st;
    uint64_t size = fstat(fileno(fp), &st) == 0 ? (uint64_t)st.st_size : 0;
    struct capture *c = open_stream(fp, iobuf, path, bpf, err, errlen);
    if (c != NULL)
        c->file_size = size;
    return c;
}

struct capture *capture_open_fp(FILE *fp, const char *name, const char *bpf, char *err,
                                size_t errlen)
{
    return open_stream(fp, NULL, name, bpf, err, errlen);
}

struct capture *capture_open_live(const char *iface, const char *bpf,
                                  const struct capture_live_conf *lc, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct capture *c = xcalloc(MEM_CAPTURE, 1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->live = true;
    c->fd = -1;
    c->timeout_ms = lc->timeout_ms;
    c->p = pcap_create(iface, ebuf);
    if (c->p == NULL) {
        snprintf(err, errlen, "%s: %s", iface, ebuf);
        goto fail;
    }
    pcap_set_snaplen(c->p, lc->snaplen);
    pcap_set_promisc(c->p, lc->promisc);
    pcap_set_timeout(c->p, lc->timeout_ms);
    if (lc->buffer_size > 0)
        pcap_set_buffer_size(c->p, (int)(lc->buffer_size > 0x7fffffff ? 0x7fffffff
                                                                       : lc->buffer_size));
    pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_MICRO);
    int rc = pcap_activate(c->p);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", iface,
                 rc == PCAP_ERROR ? pcap_geterr(c->p) : pcap_statustostr(rc));
        goto fail;
    }
    if (apply_filter(c, bpf, err, errlen) != 0)
        goto fail;
    int fd = pcap_get_selectable_fd(c->p);
    if (fd >= 0 && lc->timeout_ms > 0 && pcap_setnonblock(c->p, 1, ebuf) == 0)
        c->fd = fd;
    return c;
fail:
    capture_close(c);
    return NULL;
}

/* Live, non-blocking: waits up to the read timeout for the descriptor to be readable
 * (a signal ends the wait early: pipeline_stop is seen at once). */
static int next_live(struct capture *c, struct pcap_pkthdr **h, const u_char **data)
{
    int rc = pcap_next_ex(c->p, h, data);
    if (rc != 0)
        return rc;
    struct pollfd pf = {c->fd, POLLIN, 0};
    if (poll(&pf, 1, c->timeout_ms) <= 0)
        return 0;
    return pcap_next_ex(c->p, h, data);
}

enum capture_rc capture_next(struct capture *c, struct capture_pkt *out)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = c->fd >= 0 ? next_live(c, &h, &data) : pcap_next_ex(c->p, &h, &data);
    if (rc == 1) {
        out->data = data;
        out->caplen = h->caplen;
        out->wirelen = h->len < h->caplen ? h->caplen : h->len;
        out->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        c->received++;
        c->bytes += out->wirelen;
        return CAPTURE_PKT;
    }
    if (rc == 0)
        return CAPTURE_TIMEOUT;
    if (rc == PCAP_ERROR_BREAK)
        return CAPTURE_EOF;
    snprintf(c->err, sizeof(c->err), "%s", pcap_geterr(c->p));
    return CAPTURE_ERROR;
}

int capture_linktype(const struct capture *c)
{
    return pcap_datalink(c->p);
}

const char *capture_error(const struct capture *c)
{
    return c->err;
}

bool capture_progress(const struct capture *c, uint64_t *pos, uint64_t *size)
{
    if (c->live || c->file_size == 0)
        return false;
    FILE *f = pcap_file(c->p);
    long off = f ? ftell(f) : -1;
    if (off < 0)
        return false;
    *pos = (uint64_t)off;
    *size = c->file_size;
    return true;
}

void capture_stats(struct capture *c, struct capture_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->live = c->live;
    out->received = c->received;
    out->bytes = c->bytes;
    struct pcap_stat ps;
    if (c->live && pcap_stats(c->p, &ps) == 0) {
        out->ps_recv = ps.ps_recv;
        out->ps_drop = ps.ps_drop;
        out->ps_ifdrop = ps.ps_ifdrop;
    }
}

void capture_breakloop(struct capture *c)
{
    if (c && c->p)
        pcap_breakloop(c->p);
}

void capture_close(struct capture *c)
{
    if (c == NULL)
        return;
    if (c->p)
        pcap_close(c->p);
    xfree(c->iobuf);
    xfree(c);
}
