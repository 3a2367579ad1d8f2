/* pcap_read: the throughput baseline for bench/run.sh.
 *
 * A plain libpcap read loop over a capture file, as fast as libpcap delivers packets:
 * pcap_next_ex() for every packet, touching each packet's first byte and summing the
 * captured and wire lengths so that the loop cannot be optimized away. This is the
 * floor under any offline sensor run over the same file (same page cache, same disk);
 * the benchmark reports the sensor's throughput as a ratio against it.
 *
 *   pcap_read [-n ROUNDS] FILE.pcap|FILE.pcapng
 *
 * Prints one JSON line:
 *   {"file":..., "rounds":1, "packets":N, "bytes":W, "caplen_bytes":C, "seconds":S,
 *    "pkts_per_s":..., "gbit_per_s":..., "wire_gbit_per_s":..., "checksum":X,
 *    "complete":true}
 * "bytes" are wire lengths (pcap orig_len, tshark's frame.len), "caplen_bytes" what the
 * file holds. gbit_per_s = caplen_bytes*8/s/1e9 (the data actually read), wire_gbit_per_s
 * the same on wire lengths (meaningless when a capture claims huge orig_len values).
 * "complete" is false when a read error (e.g. a truncated tail) stopped the loop; the
 * exit status is then 1, after the line.
 * With -n ROUNDS the file is read ROUNDS times (reopened each time) and the totals are
 * for all rounds. Exit status: 0, or 1 on an open or read error.
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static int usage(void)
{
    fprintf(stderr, "usage: pcap_read [-n ROUNDS] FILE\n");
    return 2;
}

/* Reads "[-n ROUNDS] FILE"; returns 0, or 2 after printing what is wrong. */
static int parse_args(int argc, char **argv, long *rounds, const char **path)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            *rounds = strtol(argv[++i], &end, 10);
            if (errno || !end || *end || *rounds < 1 || *rounds > 1000) {
                fprintf(stderr, "pcap_read: bad -n value\n");
                return 2;
            }
            continue;
        }
        if ((argv[i][0] == '-' && argv[i][1] != '\0') || *path != NULL)
            return usage();
        *path = argv[i];
    }
    return *path ? 0 : usage();
}

int main(int argc, char **argv)
{
    long rounds = 1;
    const char *path = NULL;
    if (parse_args(argc, argv, &rounds, &path) != 0)
        return 2;

    uint64_t pkts = 0, wire = 0, cap = 0, sum = 0;
    int failed = 0;
    double t0 = now_s();
    for (long r = 0; r < rounds; r++) {
        char err[PCAP_ERRBUF_SIZE] = "";
        pcap_t *p = pcap_open_offline(path, err);
        if (!p) {
            fprintf(stderr, "pcap_read: %s: %s\n", path, err);
            return 1;
        }
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc;
        while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
            pkts++;
            wire += h->len;
            cap += h->caplen;
            if (h->caplen > 0)
                sum += data[0];
        }
        if (rc == PCAP_ERROR) {
            /* A truncated tail: report it, still print what was read, exit 1. */
            fprintf(stderr, "pcap_read: %s: %s\n", path, pcap_geterr(p));
            failed = 1;
        }
        pcap_close(p);
        if (failed)
            break;
    }
    double secs = now_s() - t0;
    if (secs <= 0)
        secs = 1e-9;

    printf("{\"file\":");
    json_str(stdout, path);
    printf(",\"rounds\":%ld,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"caplen_bytes\":%" PRIu64
           ",\"seconds\":%.6f,\"pkts_per_s\":%.0f,\"gbit_per_s\":%.4f,\"wire_gbit_per_s\":%.4f"
           ",\"checksum\":%" PRIu64 ",\"complete\":%s}\n",
           rounds, pkts, wire, cap, secs, (double)pkts / secs, (double)cap * 8 / secs / 1e9,
           (double)wire * 8 / secs / 1e9, sum, failed ? "false" : "true");
    return failed;
}
