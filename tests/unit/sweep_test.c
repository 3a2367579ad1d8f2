/*
 * Tests of the ARP sweep's plan and frames (sensor/inventory/sweep.c): which addresses
 * a sweep asks for (configured or derived prefixes, network and broadcast left out,
 * own addresses skipped, overlaps merged, /31 and /32), the caps and the errors for
 * bad prefixes, the sender chosen per target, the bytes of a request, and the checks
 * sweep_new makes on the interface before it opens anything. Sending for real is
 * tested by tests/integration/arp_sweep.sh (network namespaces, needs root).
 */
#include "check.h"

#include "inventory/sweep.h"
#include "otasuke/err.h"

#include <arpa/inet.h>
#include <stdbool.h>

static uint32_t ip(const char *s)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return 0;
    return ntohl(a.s_addr);
}

/* Every address the plan yields, in order, into out (at most cap); the count. */
static size_t walk(const struct sweep_plan *p, uint32_t *out, size_t cap)
{
    struct sweep_iter it = {0, 0, false};
    uint32_t a;
    size_t n = 0;
    while (sweep_plan_next(p, &it, &a)) {
        if (n < cap)
            out[n] = a;
        n++;
    }
    return n;
}

static void test_slash27_derived(void)
{
    /* the interface 10.213.9.1/27: asks .2 .. .30, not .0 (network), .31 (broadcast), .1 */
    struct sweep_ifaddr self = {ip("10.213.9.1"), ip("255.255.255.224")};
    struct sweep_plan p;
    char err[256];
    CHECK(sweep_plan_build(&p, "", &self, 1, 4096, err, sizeof(err)) == 0);
    CHECK_EQ_U64(p.count, 29);
    uint32_t got[64];
    CHECK_EQ_U64(walk(&p, got, 64), 29);
    CHECK_EQ_U64(got[0], ip("10.213.9.2"));
    CHECK_EQ_U64(got[28], ip("10.213.9.30"));
    for (size_t i = 0; i < 29; i++) {
        CHECK(got[i] > ip("10.213.9.1") && got[i] < ip("10.213.9.31"));
        CHECK(i == 0 || got[i] == got[i - 1] + 1);
    }
    CHECK_EQ_U64(sweep_plan_source(&p, ip("10.213.9.17")), ip("10.213.9.1"));
}

static void test_configured_masks_and_merges(void)
{
    struct sweep_ifaddr self = {ip("192.168.1.10"), ip("255.255.255.0")};
    struct sweep_plan p;
    char err[256];
    /* host bits cleared; a /25 inside the /24 adds nothing; a bare address is a /32 */
    CHECK(sweep_plan_build(&p, "192.168.1.77/24, 192.168.1.0/25 192.168.1.200", &self, 1, 4096,
                           err, sizeof(err)) == 0);
    CHECK_EQ_U64(p.n, 1);
    CHECK_EQ_U64(p.r[0].first, ip("192.168.1.1"));
    CHECK_EQ_U64(p.r[0].last, ip("192.168.1.254"));
    CHECK_EQ_U64(p.count, 253); /* 254 minus our .10 */
    uint32_t got[300];
    CHECK_EQ_U64(walk(&p, got, 300), 253);
    for (size_t i = 0; i < 253; i++)
        CHECK(got[i] != ip("192.168.1.10"));
    /* two separate prefixes, given out of order: walked in address order */
    CHECK(sweep_plan_build(&p, "10.0.1.0/30,10.0.0.0/30", &self, 1, 4096, err, sizeof(err)) ==
          0);
    CHECK_EQ_U64(p.n, 2);
    CHECK_EQ_U64(walk(&p, got, 300), 4);
    CHECK_EQ_U64(got[0], ip("10.0.0.1"));
    CHECK_EQ_U64(got[1], ip("10.0.0.2"));
    CHECK_EQ_U64(got[2], ip("10.0.1.1"));
    CHECK_EQ_U64(got[3], ip("10.0.1.2"));
    /* off our network: sent from our first address */
    CHECK_EQ_U64(sweep_plan_source(&p, ip("10.0.1.1")), ip("192.168.1.10"));
}

static void test_point_to_point_and_host(void)
{
    struct sweep_ifaddr self = {ip("10.9.9.0"), ip("255.255.255.254")}; /* a /31 (RFC 3021) */
    struct sweep_plan p;
    char err[256];
    uint32_t got[4];
    CHECK(sweep_plan_build(&p, "", &self, 1, 16, err, sizeof(err)) == 0);
    CHECK_EQ_U64(walk(&p, got, 4), 1);
    CHECK_EQ_U64(got[0], ip("10.9.9.1"));
    CHECK(sweep_plan_build(&p, "10.1.2.3/32", &self, 1, 16, err, sizeof(err)) == 0);
    CHECK_EQ_U64(walk(&p, got, 4), 1);
    CHECK_EQ_U64(got[0], ip("10.1.2.3"));
    /* only our own address: nothing to do is an error, not a silent no-op */
    CHECK(sweep_plan_build(&p, "10.9.9.0/32", &self, 1, 16, err, sizeof(err)) == ERR_INVAL);
    CHECK(strstr(err, "no address to sweep") != NULL);
}

static void test_edges_of_the_address_space(void)
{
    struct sweep_ifaddr self = {ip("10.0.0.1"), ip("255.0.0.0")};
    struct sweep_plan p;
    char err[256];
    uint32_t got[8];
    CHECK(sweep_plan_build(&p, "255.255.255.252/30", &self, 1, 16, err, sizeof(err)) == 0);
    CHECK_EQ_U64(walk(&p, got, 8), 2); /* ends after .254, no wrap to 0.0.0.0 */
    CHECK_EQ_U64(got[1], ip("255.255.255.254"));
    CHECK(sweep_plan_build(&p, "255.255.255.255", &self, 1, 16, err, sizeof(err)) == 0);
    CHECK_EQ_U64(walk(&p, got, 8), 1);
}

static void test_caps(void)
{
    struct sweep_ifaddr self = {ip("10.20.0.5"), ip("255.255.0.0")};
    struct sweep_plan p;
    char err[256];
    /* a derived /16 is refused by the default cap (a /20), naming the setting */
    CHECK(sweep_plan_build(&p, "", &self, 1, 4096, err, sizeof(err)) == ERR_INVAL);
    CHECK(strstr(err, "10.20.0.0/16") != NULL);
    CHECK(strstr(err, "inventory.sweep.max_addresses") != NULL);
    CHECK(strstr(err, "65534") != NULL);
    /* a /20 fits the default cap, a /19 does not */
    CHECK(sweep_plan_build(&p, "10.20.16.0/20", &self, 1, 4096, err, sizeof(err)) == 0);
    CHECK_EQ_U64(p.count, 4094);
    CHECK(sweep_plan_build(&p, "10.20.32.0/19", &self, 1, 4096, err, sizeof(err)) == ERR_INVAL);
    /* raised cap: allowed */
    CHECK(sweep_plan_build(&p, "", &self, 1, 65536, err, sizeof(err)) == 0);
    CHECK_EQ_U64(p.count, 65533);
    /* each prefix fits but together they do not */
    CHECK(sweep_plan_build(&p, "10.1.0.0/24,10.2.0.0/24", &self, 1, 300, err, sizeof(err)) ==
          ERR_INVAL);
    CHECK(strstr(err, "together") != NULL);
    /* a /0 is not a way around the cap */
    CHECK(sweep_plan_build(&p, "0.0.0.0/0", &self, 1, 1048576, err, sizeof(err)) == ERR_INVAL);
}

static void test_bad_prefixes(void)
{
    struct sweep_ifaddr self = {ip("10.0.0.1"), ip("255.255.255.0")};
    struct sweep_plan p;
    char err[256];
    static const char *const bad[] = {
        "fd00::/64",     /* ARP is IPv4 only */
        "10.0.0.0/33",   /* length */
        "10.0.0.0/",     /* no length */
        "10.0.0.0/2x",   /* trailing junk */
        "10.0.0/24",     /* three octets */
        "printer",       /* a name */
        "10.0.0.0/0024", /* four digits */
        "10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0/24", /* long */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(sweep_plan_build(&p, bad[i], &self, 1, 4096, err, sizeof(err)) == ERR_INVAL);
        CHECK(strstr(err, "inventory.sweep.prefixes") != NULL);
    }
    CHECK(sweep_plan_build(&p, "fd00::/64", &self, 1, 4096, err, sizeof(err)) == ERR_INVAL);
    CHECK(strstr(err, "not an IPv4 prefix") != NULL);
    /* more prefixes than the plan holds */
    char many[1024] = "";
    size_t used = 0;
    for (int i = 0; i < SWEEP_MAX_RANGES + 1; i++)
        used += (size_t)snprintf(many + used, sizeof(many) - used, "10.%d.0.0/30,", i);
    CHECK(sweep_plan_build(&p, many, &self, 1, 4096, err, sizeof(err)) == ERR_INVAL);
    CHECK(strstr(err, "more than") != NULL);
}

static void test_two_own_addresses(void)
{
    /* two addresses on one /24 (merged, both skipped) and one on another /24 */
    struct sweep_ifaddr self[3] = {{ip("192.168.5.1"), ip("255.255.255.0")},
                                   {ip("192.168.5.2"), ip("255.255.255.0")},
                                   {ip("172.16.0.1"), ip("255.255.255.0")}};
    struct sweep_plan p;
    char err[256];
    CHECK(sweep_plan_build(&p, "", self, 3, 4096, err, sizeof(err)) == 0);
    CHECK_EQ_U64(p.n, 2);
    CHECK_EQ_U64(p.count, 254 - 2 + 254 - 1);
    uint32_t got[600];
    CHECK_EQ_U64(walk(&p, got, 600), p.count);
    CHECK_EQ_U64(sweep_plan_source(&p, ip("192.168.5.77")), ip("192.168.5.1"));
    CHECK_EQ_U64(sweep_plan_source(&p, ip("172.16.0.77")), ip("172.16.0.1"));
}

static void test_frame(void)
{
    static const uint8_t mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
    /* Ethernet ff:ff:ff:ff:ff:ff <- 02:42:ac:11:00:02, ARP; who-has 10.213.9.17 tell
     * 10.213.9.1; padded with zeros to 60 bytes */
    static const uint8_t want[SWEEP_FRAME_LEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02,
        10,   213,  9,    1,    0,    0,    0,    0,    0,    0,    10,   213,  9,    17};
    uint8_t f[SWEEP_FRAME_LEN];
    memset(f, 0xaa, sizeof(f));
    CHECK_EQ_U64(sweep_arp_frame(f, mac, ip("10.213.9.1"), ip("10.213.9.17")), SWEEP_FRAME_LEN);
    CHECK_MEM(f, want, SWEEP_FRAME_LEN);
}

static void test_new_checks_the_interface(void)
{
    struct sweep_conf c;
    char err[256];
    memset(&c, 0, sizeof(c));
    c.rate = 10;
    c.interval_us = 3600000000u;
    c.max_addresses = 4096;
    snprintf(c.iface, sizeof(c.iface), "otk-no-such0");
    CHECK(sweep_new(&c, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "no such interface") != NULL);
    /* loopback: no ARP there */
    snprintf(c.iface, sizeof(c.iface), "lo");
    CHECK(sweep_new(&c, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "not an Ethernet interface") != NULL);
    c.iface[0] = '\0';
    CHECK(sweep_new(&c, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "no interface") != NULL);
    sweep_free(NULL);
}

int main(void)
{
    RUN(test_slash27_derived);
    RUN(test_configured_masks_and_merges);
    RUN(test_point_to_point_and_host);
    RUN(test_edges_of_the_address_space);
    RUN(test_caps);
    RUN(test_bad_prefixes);
    RUN(test_two_own_addresses);
    RUN(test_frame);
    RUN(test_new_checks_the_interface);
    return check_done();
}
