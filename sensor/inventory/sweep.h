/*
 * Optional active discovery for the device inventory (issue 5, docs/inventory.md
 * "Active discovery (ARP sweep)"): ARP who-has requests for every address of the
 * local IPv4 prefixes, at a low configured rate, repeated every interval, so that
 * devices that never talk still show up. Off by default; live interfaces only.
 *
 * The sweep only sends. Its requests and the answers are captured like any other ARP
 * and feed the inventory through the ARP parser (devices found this way come from
 * ARP). It runs on its own thread, paced by the monotonic clock (one request, then at
 * least 1/rate seconds before the next: no bursts, no catch-up after a stall), and
 * never touches the packet path; the pipeline only reads its counters (atomics).
 *
 * Invariants: requests go only to addresses of the plan, which holds the configured
 * prefixes (or the interface's own IPv4 networks) without their network and broadcast
 * addresses (prefixes up to /30) and without the interface's own addresses; a plan
 * never holds more than max_addresses addresses (larger prefixes are refused with an
 * error at start). The raw socket is opened by sweep_new (before privileges are
 * dropped) and binds no protocol, so it receives nothing.
 */
#ifndef OTASUKE_SENSOR_SWEEP_H
#define OTASUKE_SENSOR_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SWEEP_MAX_RANGES 32 /* prefixes per plan (configured or derived) */
#define SWEEP_MAX_IFADDR 16 /* IPv4 addresses of the interface considered */
#define SWEEP_FRAME_LEN  60 /* Ethernet + ARP, padded to the Ethernet minimum */

struct sensor_conf;
struct jw;

struct sweep_conf {
    char iface[256];       /* interface the requests leave from */
    char prefixes[256];    /* "a.b.c.d/len, ..."; "" : the interface's own networks */
    unsigned rate;         /* requests per second, >= 1 */
    uint64_t interval_us;  /* from the start of one sweep to the start of the next */
    uint32_t max_addresses;
};

/* One IPv4 address of the interface with its netmask (host byte order). */
struct sweep_ifaddr {
    uint32_t addr;
    uint32_t mask;
};

/* Inclusive range of addresses to ask for (host byte order). */
struct sweep_range {
    uint32_t first;
    uint32_t last;
};

struct sweep_plan {
    struct sweep_range r[SWEEP_MAX_RANGES]; /* sorted, disjoint, not adjacent */
    unsigned n;
    struct sweep_ifaddr self[SWEEP_MAX_IFADDR]; /* skipped; sources of the requests */
    unsigned nself;
    uint64_t count; /* addresses asked for per sweep (own addresses excluded) */
};

/* Where an iteration over a plan stands; zero it to start. */
struct sweep_iter {
    unsigned range;
    uint64_t next; /* next address to look at, 64-bit so that 255.255.255.255 ends */
    bool started;
};

/* Builds the plan: from prefixes (comma- or space-separated IPv4 CIDRs; a bare
 * address is a /32; host bits are cleared) or, when prefixes is "", from the networks
 * of self[0..nself). Network and broadcast addresses of prefixes up to /30 are left
 * out, overlapping prefixes merged, the own addresses skipped. Fails with a message
 * naming the setting when a prefix is not IPv4 CIDR, when there are more than
 * SWEEP_MAX_RANGES, when one prefix or all of them hold more than max_addresses
 * addresses, or when nothing is left to ask for. 0 or ERR_INVAL. */
int sweep_plan_build(struct sweep_plan *p, const char *prefixes, const struct sweep_ifaddr *self,
                     unsigned nself, uint32_t max_addresses, char *err, size_t errlen);
/* The next address of the plan to ask for; false at the end. */
bool sweep_plan_next(const struct sweep_plan *p, struct sweep_iter *it, uint32_t *addr);
/* The sender address for a request to target: the own address on target's network,
 * else the first own address. */
uint32_t sweep_plan_source(const struct sweep_plan *p, uint32_t target);

/* Writes a broadcast ARP who-has target, tell sip (from mac) into out. Returns
 * SWEEP_FRAME_LEN. Addresses in host byte order. */
size_t sweep_arp_frame(uint8_t out[SWEEP_FRAME_LEN], const uint8_t mac[6], uint32_t sip,
                       uint32_t tip);

/* The inventory.sweep.* settings; capture_iface is the default interface. */
void sweep_conf_from_sensor(const struct sensor_conf *c, const char *capture_iface,
                            struct sweep_conf *out);

struct sweep;

/* Checks the interface (exists, Ethernet, has an IPv4 address), builds the first plan
 * and opens the raw socket (needs CAP_NET_RAW: call before dropping privileges).
 * Sends nothing yet. NULL with a message in err. */
struct sweep *sweep_new(const struct sweep_conf *c, char *err, size_t errlen);
/* Starts the sending thread (signals stay with the other threads). 0 or an ERR_*. */
int sweep_start(struct sweep *s, char *err, size_t errlen);
/* Stops the thread and waits for it (returns within one wake-up; idempotent). */
void sweep_stop(struct sweep *s);
/* Stops, closes the socket, frees. Accepts NULL. */
void sweep_free(struct sweep *s);
/* The MAC address the requests are sent from (the detections leave its ARP out). */
void sweep_own_mac(const struct sweep *s, uint8_t mac[6]);

struct sweep_stats {
    uint64_t requests;  /* ARP requests sent */
    uint64_t errors;    /* sends that failed, and sweeps skipped (interface gone, no address) */
    uint64_t sweeps;    /* full sweeps completed */
    uint64_t addresses; /* addresses in the current plan */
};
/* Safe to call from another thread while the sweep runs. */
void sweep_get_stats(const struct sweep *s, struct sweep_stats *out);
/* Writes the "arp_sweep" object of the stats event into w. */
void sweep_stats_json(const struct sweep *s, struct jw *w);

#endif
