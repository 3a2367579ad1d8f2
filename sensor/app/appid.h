/*
 * Application identification with nDPI (libndpi 4.2).
 *
 * One `struct appid` wraps one nDPI detection module (all protocols enabled). The
 * caller (the flow table) owns, per flow, a `struct appid_flow *` slot that starts
 * NULL and a `struct appid_result` that starts zeroed; this module never sees the
 * flow table's own struct. Packets are fed exactly as nDPI 4.2's ndpiReader feeds
 * them (see docs/internals/appid.md), so that our verdict for a flow agrees with
 * ndpiReader's on the same capture:
 *   - every packet of the flow, IP header onwards, packet time in ms;
 *   - until nDPI has a verdict and no extra dissection is possible, or the flow has
 *     had more than max_packets_tcp / max_packets_udp packets (80 / 24);
 *   - then, or at flow end, ndpi_detection_giveup() with guessing.
 * Per-flow nDPI state (704 bytes with nDPI 4.2, plus what nDPI hangs on it) lives
 * in the slot only while detection runs; it is freed as soon as the verdict is
 * final, so long flows cost nothing here.
 *
 * Memory: every nDPI allocation goes to MEM_NDPI through nDPI's global allocator
 * hooks (set_ndpi_malloc/free), so the hooks are process-wide and there is one
 * nDPI allocator for the whole program. A flow whose state would not fit under the
 * MEM_NDPI cap is not identified: it is counted in memcap_fails and its result is
 * final (unknown) at once. Not thread-safe: one struct appid per thread, fed by
 * that thread only.
 */
#ifndef OTASUKE_SENSOR_APPID_H
#define OTASUKE_SENSOR_APPID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkt;
struct appid;
struct appid_flow;

struct appid_conf {
    /* A flow gets its verdict after more than this many packets (both directions,
     * with or without payload) even when nDPI still wants more. ndpiReader 4.2's
     * defaults (-T 80, -U 24) are APPID_DEFAULT_MAX_TCP / _UDP. */
    uint32_t max_packets_tcp;
    uint32_t max_packets_udp;
    /* Other IP protocols (ICMP, GRE, ESP ...). ndpiReader has no limit there;
     * 0 means no limit, as in ndpiReader (the flow's end still frees the state). */
    uint32_t max_packets_other;
    /* Bytes of MEM_NDPI for per-flow state, on top of the module (~4.6 MB counted
     * with nDPI 4.2): appid_new() sets the MEM_NDPI cap to what the module uses plus
     * this. 0 leaves the cap unchanged. */
    uint64_t memcap;
    /* Guess by port / IP when nDPI gives up without a verdict (ndpiReader's
     * default; ndpiReader -d turns it off). */
    bool guess_on_giveup;
};

#define APPID_DEFAULT_MAX_TCP 80
#define APPID_DEFAULT_MAX_UDP 24

/* Per-flow verdict, owned by the caller, zeroed when the flow is created. */
struct appid_result {
    uint16_t master;   /* nDPI master protocol id (e.g. TLS), 0 when none */
    uint16_t app;      /* nDPI app protocol id (e.g. Google), 0 = unknown */
    uint16_t category; /* ndpi_protocol_category_t */
    bool done;         /* verdict final; appid_packet() does nothing more */
    bool guessed;      /* verdict came from guessing at give-up (port / IP) */
    bool memcap;       /* not identified: MEM_NDPI cap reached for this flow */
    bool had_payload;  /* a fed packet carried L4 payload (for app_proto "failed") */
};

struct appid_stats {
    uint64_t flows_fed;    /* flows that got nDPI state */
    uint64_t packets_fed;  /* packets passed to nDPI */
    uint64_t detected;     /* flows with a verdict by DPI (not guessed) */
    uint64_t guessed;      /* flows whose verdict was guessed at give-up */
    uint64_t unknown;      /* flows that ended unknown (memcap failures excluded) */
    uint64_t memcap_fails; /* flows not identified because of the MEM_NDPI cap */
};

/* Fills *c with ndpiReader 4.2's defaults (80 / 24 / no limit, guessing on). */
void appid_conf_defaults(struct appid_conf *c);

/* Builds the nDPI module: installs the MEM_NDPI allocator hooks, init, enables all
 * protocols, finalizes, then applies c->memcap. Borrows c. Returns NULL when nDPI
 * cannot be initialised (out of memory). */
struct appid *appid_new(const struct appid_conf *c);
/* Frees the module (NULL accepted). Slots must have been ended first. */
void appid_free(struct appid *a);

/* Feeds packet p of one flow. `slot` and `res` are the flow's own storage (NULL and
 * zeroed at flow creation). Allocates *slot from MEM_NDPI on the first call and frees
 * it (back to NULL) once the verdict is final; `res` then has done = true. p must
 * have l3 / l3_len pointing at the IP header (not an IP fragment held for
 * reassembly); dir (0 to server, 1 to client) is informational, nDPI finds the
 * direction itself. Returns true while nDPI still wants packets of this flow. */
bool appid_packet(struct appid *a, struct appid_flow **slot, struct appid_result *res,
                  const struct pkt *p, int dir);

/* At flow end (timeout, eviction, shutdown): when no verdict yet, gives up with
 * guessing as ndpiReader does, fills res, frees *slot (sets it NULL). Safe to call
 * on a flow that never got a slot. */
void appid_flow_end(struct appid *a, struct appid_flow **slot, struct appid_result *res);

/* nDPI's name of protocol id ("TLS", "Google", "Unknown"). Static storage. */
const char *appid_proto_name(const struct appid *a, uint16_t id);
/* Writes ndpiReader's name of the verdict: "TLS.Google", "DNS", "Unknown". Returns
 * the length written (always NUL-terminated when len > 0). */
size_t appid_result_name(const struct appid *a, const struct appid_result *r, char *buf,
                         size_t len);
/* nDPI's category name ("Web", "Network", "Unspecified"). Static storage. */
const char *appid_category_name(const struct appid *a, uint16_t category);
/* EVE app_proto (Suricata's lowercase names: "http", "tls", "dns", ...), "failed"
 * when the flow carried payload but got no verdict, or NULL when the field should
 * be left out (no payload, or an nDPI protocol with no Suricata name; flow.ndpi
 * carries those). Mapping in docs/internals/appid.md. */
const char *appid_eve_app_proto(const struct appid_result *r);

void appid_stats(const struct appid *a, struct appid_stats *out);
/* Bytes of one flow's nDPI state (our header + struct ndpi_flow_struct). */
size_t appid_flow_state_size(void);

#endif
