/*
 * Shared by the LAN-parser unit tests (mdns, ssdp, nbns, arp, ssh): a test app_sink
 * that captures events as JSON lines and anomalies as "anomaly:<kind>:<dir>" lines in
 * one bounded text, a DNS message builder for hand-made packets, and a corpus walker
 * that decodes a pcap with the sensor's decoder.
 */
#ifndef OTASUKE_TESTS_LAN_CHECK_H
#define OTASUKE_TESTS_LAN_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

#include "app/applayer.h"
#include "decode/decode.h"
#include "decode/pkt.h"
#include "otasuke/jw.h"

/* --- capturing sink ------------------------------------------------------------- */

struct cap_sink {
    struct app_sink s;
    const struct app_parser *parser;
    struct jw w;
    char out[65536];
    size_t len;
    unsigned events, anomalies;
    bool overflow;
};

static void cap_append(struct cap_sink *c, const char *b, size_t n)
{
    if (n > sizeof(c->out) - 1 - c->len) {
        c->overflow = true;
        return;
    }
    memcpy(c->out + c->len, b, n);
    c->len += n;
    c->out[c->len] = '\0';
}

static struct jw *cap_begin(struct app_sink *s, const char *type, int dir)
{
    struct cap_sink *c = (struct cap_sink *)s;
    jw_reset(&c->w);
    jw_obj_open(&c->w, NULL);
    jw_str(&c->w, "event_type", type);
    jw_u64(&c->w, "dir", (uint64_t)dir);
    return &c->w;
}

static void cap_end(struct app_sink *s)
{
    struct cap_sink *c = (struct cap_sink *)s;
    jw_obj_close(&c->w);
    if (!jw_ok(&c->w)) {
        c->overflow = true;
        return;
    }
    cap_append(c, c->w.buf, c->w.len);
    cap_append(c, "\n", 1);
    c->events++;
}

static void cap_anomaly(struct app_sink *s, int kind, int dir)
{
    struct cap_sink *c = (struct cap_sink *)s;
    char line[96];
    const char *name = c->parser && c->parser->kind_name ? c->parser->kind_name(kind) : "?";
    int n = snprintf(line, sizeof(line), "anomaly:%s:%d\n", name, dir);
    if (c->parser != NULL && (kind < 0 || kind >= c->parser->nkinds))
        c->overflow = true; /* a kind out of range is a bug */
    cap_append(c, line, (size_t)n);
    c->anomalies++;
}

static inline void cap_init(struct cap_sink *c, const struct app_parser *p)
{
    memset(&c->s, 0, sizeof(c->s));
    c->s.event_begin = cap_begin;
    c->s.event_end = cap_end;
    c->s.anomaly = cap_anomaly;
    c->parser = p;
    if (c->w.buf == NULL)
        jw_init(&c->w, 4096, 1 << 20);
    c->len = 0;
    c->out[0] = '\0';
    c->events = c->anomalies = 0;
    c->overflow = false;
}

static inline void cap_free(struct cap_sink *c)
{
    jw_free(&c->w);
    c->w.buf = NULL;
}

/* Runs one datagram through p; the events are in c->out. */
static inline void cap_datagram(struct cap_sink *c, const struct app_parser *p, int dir,
                                const uint8_t *d, size_t n)
{
    cap_init(c, p);
    p->datagram(&c->s, NULL, dir, d, n);
}

/* --- DNS message builder ----------------------------------------------------------- */

struct dnsb {
    uint8_t b[4096];
    size_t n;
};

static inline void db_u8(struct dnsb *m, unsigned v)
{
    if (m->n < sizeof(m->b))
        m->b[m->n++] = (uint8_t)v;
}

static inline void db_u16(struct dnsb *m, unsigned v)
{
    db_u8(m, v >> 8);
    db_u8(m, v & 0xff);
}

static inline void db_u32(struct dnsb *m, uint32_t v)
{
    db_u16(m, v >> 16);
    db_u16(m, v & 0xffff);
}

static inline void db_bytes(struct dnsb *m, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        db_u8(m, ((const uint8_t *)p)[i]);
}

/* Header: id, flags, counts. */
static inline void db_hdr(struct dnsb *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
                          unsigned ns, unsigned ar)
{
    m->n = 0;
    db_u16(m, id);
    db_u16(m, flags);
    db_u16(m, qd);
    db_u16(m, an);
    db_u16(m, ns);
    db_u16(m, ar);
}

/* A name in labels; '|' separates labels so that a label may contain dots. */
static inline void db_name(struct dnsb *m, const char *name)
{
    while (*name != '\0') {
        const char *e = strchr(name, '|');
        size_t l = e ? (size_t)(e - name) : strlen(name);
        db_u8(m, (unsigned)l);
        db_bytes(m, name, l);
        name += l;
        if (*name == '|')
            name++;
    }
    db_u8(m, 0);
}

static inline void db_question(struct dnsb *m, const char *name, unsigned type, unsigned qclass)
{
    db_name(m, name);
    db_u16(m, type);
    db_u16(m, qclass);
}

/* A record header; returns the offset of rdlength to patch with db_end_rr. */
static inline size_t db_rr(struct dnsb *m, const char *name, unsigned type, unsigned rclass,
                           uint32_t ttl)
{
    db_name(m, name);
    db_u16(m, type);
    db_u16(m, rclass);
    db_u32(m, ttl);
    size_t at = m->n;
    db_u16(m, 0);
    return at;
}

static inline void db_end_rr(struct dnsb *m, size_t at)
{
    size_t l = m->n - at - 2;
    m->b[at] = (uint8_t)(l >> 8);
    m->b[at + 1] = (uint8_t)l;
}

/* A TXT string. */
static inline void db_txt(struct dnsb *m, const char *s)
{
    db_u8(m, (unsigned)strlen(s));
    db_bytes(m, s, strlen(s));
}

/* --- corpus --------------------------------------------------------------------------- */

/* Decodes every packet of the pcap at path with the sensor's decoder and calls fn on
 * each that decodes (DECODE_OK or DECODE_ARP) with its frame number (from 1). Returns
 * the number of frames, or -1 when the file cannot be opened. */
static inline int lan_each_pcap(const char *path,
                                void (*fn)(const struct pkt *, int, unsigned, void *), void *ud)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (pc == NULL)
        return -1;
    struct decoder *d = decoder_new(NULL);
    struct pcap_pkthdr *h;
    const u_char *data;
    unsigned frame = 0;
    while (d != NULL && pcap_next_ex(pc, &h, &data) == 1) {
        struct pkt p;
        frame++;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        enum decode_rc rc =
            decode_packet(d, &p, pcap_datalink(pc), data, h->caplen, h->len, ts);
        if (rc == DECODE_OK || rc == DECODE_ARP)
            fn(&p, rc, frame, ud);
    }
    decoder_free(d);
    pcap_close(pc);
    return (int)frame;
}

/* The corpus path of rel in buf, or NULL when absent. */
static inline const char *lan_corpus(const char *rel, char *buf, size_t len)
{
    const char *dir = check_corpus_pcap_dir();
    if (dir == NULL)
        return NULL;
    int k = snprintf(buf, len, "%s/%s", dir, rel);
    if (k < 0 || (size_t)k >= len)
        return NULL;
    FILE *f = fopen(buf, "rb");
    if (f == NULL)
        return NULL;
    fclose(f);
    return buf;
}

#define LAN_MAX_FRAMES 8192

/* What our parser wrote for each frame of a capture (events and anomalies). */
struct lan_frames {
    char *txt[LAN_MAX_FRAMES + 1];
    const struct app_parser *parser;
    struct cap_sink cap;
};

static void lan_frame_pkt(const struct pkt *p, int rc, unsigned frame, void *ud)
{
    struct lan_frames *f = ud;
    if (rc != DECODE_OK || p->proto != 17 || frame > LAN_MAX_FRAMES ||
        !f->parser->udp_match(p->sport, p->dport))
        return;
    cap_datagram(&f->cap, f->parser, 0, p->payload, p->payload_len);
    f->txt[frame] = strdup(f->cap.out);
}

/* Runs the datagram parser over every matching UDP packet of path. */
static inline int lan_frames_run(struct lan_frames *f, const struct app_parser *p, const char *path)
{
    memset(f->txt, 0, sizeof(f->txt));
    f->parser = p;
    return lan_each_pcap(path, lan_frame_pkt, f);
}

static inline void lan_frames_free(struct lan_frames *f)
{
    for (size_t i = 0; i <= LAN_MAX_FRAMES; i++)
        free(f->txt[i]);
    cap_free(&f->cap);
}

struct lan_score {
    unsigned frames; /* frames tshark listed */
    unsigned items;  /* values tshark showed */
    unsigned found;  /* ... that our events carry */
    unsigned capped; /* ... missing where our parser reported a cap (cap_marker) */
    unsigned undecoded; /* ... in frames the decoder did not give the parser */
    unsigned missing;
};

/* Turns tshark's item of field number `field` into the text our event must contain
 * (in needle); returns false to skip the item. */
typedef bool (*lan_needle_fn)(int field, const char *item, char *needle, size_t n);

/* Checks one tshark value against txt (the frame's events; NULL: not decoded). */
static inline void lan_check_item(struct lan_score *sc, unsigned frame, const char *txt,
                                  const char *needle, const char *cap_marker)
{
    sc->items++;
    if (txt == NULL) {
        sc->undecoded++;
    } else if (strstr(txt, needle) != NULL) {
        sc->found++;
    } else if (cap_marker != NULL && strstr(txt, cap_marker) != NULL) {
        sc->capped++;
    } else if (sc->missing++ < 8) {
        fprintf(stderr, "  frame %u: missing %s in: %.300s\n", frame, needle, txt);
    }
}

/* Checks every value of one tshark line ("frame\tf0\tf1..."; values of a field joined
 * by \x01). */
static inline void lan_check_line(struct lan_frames *f, char *line, lan_needle_fn fn,
                                  const char *cap_marker, struct lan_score *sc)
{
    unsigned frame = (unsigned)strtoul(line, NULL, 10);
    const char *txt = frame <= LAN_MAX_FRAMES ? f->txt[frame] : NULL;
    char *tab = strchr(line, '\t');
    sc->frames++;
    for (int field = 0; tab != NULL; field++) {
        char *item = tab + 1;
        tab = strchr(item, '\t');
        if (tab != NULL)
            *tab = '\0';
        for (char *next; item != NULL; item = next) {
            next = strchr(item, '\x01');
            if (next != NULL)
                *next++ = '\0';
            char needle[1024];
            if (*item != '\0' && fn(field, item, needle, sizeof(needle)))
                lan_check_item(sc, frame, txt, needle, cap_marker);
        }
    }
}

/* Runs `tshark -r path -Y filter -T fields -e frame.number <fields>` and checks every
 * value against the frame's text in f. Values are split on tshark's aggregator (set to
 * \x01 so that commas inside names survive). Returns false when tshark could not run. */
static inline bool lan_tshark_compare(struct lan_frames *f, const char *path, const char *filter,
                                      const char *fields, lan_needle_fn fn, const char *cap_marker,
                                      struct lan_score *sc)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "tshark -n -r '%s' -Y '%s' -T fields -E separator=/t -E 'aggregator=\x01' "
             "-e frame.number %s 2>/dev/null",
             path, filter, fields);
    FILE *pf = popen(cmd, "r");
    if (pf == NULL)
        return false;
    static char line[1 << 16];
    memset(sc, 0, sizeof(*sc));
    while (fgets(line, sizeof(line), pf) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        lan_check_line(f, line, fn, cap_marker, sc);
    }
    return pclose(pf) == 0 || sc->frames > 0;
}

/* Runs parser p over each of files[0..n) found in the corpus and compares it with
 * tshark (as lan_tshark_compare), printing a line per capture and adding the counts
 * into *total (zeroed first). Returns the captures compared (0: tshark or the files
 * absent); *unreadable is set when the parser's run could not read a capture. */
static inline unsigned lan_corpus_agree(const struct app_parser *p, const char *const *files,
                                        size_t n, const char *filter, const char *fields,
                                        lan_needle_fn fn, const char *cap_marker,
                                        struct lan_score *total, bool *unreadable)
{
    static struct lan_frames f;
    unsigned compared = 0;
    memset(total, 0, sizeof(*total));
    *unreadable = false;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        if (lan_corpus(files[i], path, sizeof(path)) == NULL)
            continue;
        if (lan_frames_run(&f, p, path) <= 0)
            *unreadable = true;
        struct lan_score sc;
        bool ran = lan_tshark_compare(&f, path, filter, fields, fn, cap_marker, &sc);
        lan_frames_free(&f);
        if (!ran || sc.frames == 0)
            continue;
        fprintf(stderr, "%s %s: %u frames, %u/%u values agree\n", p->name, files[i], sc.frames,
                sc.found, sc.items);
        compared++;
        total->frames += sc.frames;
        total->items += sc.items;
        total->found += sc.found;
        total->capped += sc.capped;
        total->undecoded += sc.undecoded;
        total->missing += sc.missing;
    }
    return compared;
}

/* --- the demo capture (docs/demo.md) ------------------------------------------------ */

/* demo/office.pcap of the source tree (make demo/office.pcap), or NULL when absent. */
static inline const char *lan_demo_path(void)
{
    static char path[1024];
    const char *src = getenv("OTASUKE_SRC");
    int k = snprintf(path, sizeof(path), "%s/demo/office.pcap", src ? src : ".");
    if (k < 0 || (size_t)k >= sizeof(path))
        return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fclose(f);
    return path;
}

struct lan_all {
    const struct app_parser *parser;
    struct cap_sink cap;
    char *txt;
    size_t len, cap_len;
};

static void lan_all_pkt(const struct pkt *p, int rc, unsigned frame, void *ud)
{
    struct lan_all *a = ud;
    (void)frame;
    if (rc != DECODE_OK || p->proto != 17 || !a->parser->udp_match(p->sport, p->dport))
        return;
    cap_datagram(&a->cap, a->parser, 0, p->payload, p->payload_len);
    if (a->len + a->cap.len + 1 > a->cap_len) {
        size_t n = (a->cap_len + a->cap.len + 1) * 2;
        char *t = realloc(a->txt, n);
        if (t == NULL)
            return;
        a->txt = t;
        a->cap_len = n;
    }
    memcpy(a->txt + a->len, a->cap.out, a->cap.len + 1);
    a->len += a->cap.len;
}

/* Everything the datagram parser p writes for the capture at path, as one text
 * (malloc'ed, the caller frees), or NULL. */
static inline char *lan_all_text(const struct app_parser *p, const char *path)
{
    static struct lan_all a;
    a.parser = p;
    a.txt = NULL;
    a.len = a.cap_len = 0;
    if (lan_each_pcap(path, lan_all_pkt, &a) <= 0) {
        free(a.txt);
        a.txt = NULL;
    }
    cap_free(&a.cap);
    return a.txt;
}

/* How many times needle occurs in hay. */
static inline unsigned lan_count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; hay != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

#endif
