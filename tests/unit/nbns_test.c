/*
 * Tests of the NetBIOS name service parser (sensor/app/nbns.c) through its app_parser
 * table: first-level name encoding, a broadcast registration, a positive response, a
 * node status response with its name table and MAC, bad names, every truncation, and
 * real captures compared with tshark's dissection.
 */
#include "check.h"
#include "lan_check.h"

#include <ctype.h>

#include "app/nbns.h"

static struct cap_sink g_cap;

/* First-level encoding of a 15-byte space-padded name and a suffix, into enc[33]. */
static void nb_encode(const char *name, uint8_t suffix, char enc[33])
{
    uint8_t raw[16];
    memset(raw, ' ', 15);
    size_t len = strnlen(name, 15);
    for (size_t i = 0; i < len; i++)
        raw[i] = (uint8_t)name[i];
    raw[15] = suffix;
    for (size_t i = 0; i < 16; i++) {
        enc[2 * i] = (char)('A' + (raw[i] >> 4));
        enc[2 * i + 1] = (char)('A' + (raw[i] & 15));
    }
    enc[32] = '\0';
}

static void test_decode_name(void)
{
    uint8_t nb[16];
    /* "FDFCFEFFEBFCDBDACACACACACACACAAA" is "SRTUAR10" padded, suffix <00> */
    CHECK(nbns_decode_name((const uint8_t *)"FDFCFEFFEBFCDBDACACACACACACACAAA", 32, nb));
    CHECK_MEM(nb, "SRTUAR10       \0", 16);
    CHECK(!nbns_decode_name((const uint8_t *)"FDFCFEFFEBFCDBDACACACACACACACAAQ", 32, nb));
    CHECK(!nbns_decode_name((const uint8_t *)"FDFC", 4, nb));
}

/* A broadcast registration of PC-ACCOUNTING<20> with its address. */
static void test_registration(void)
{
    static struct dnsb m;
    char enc[33];
    nb_encode("PC-ACCOUNTING", 0x20, enc);
    db_hdr(&m, 0x8001, 0x2910, 1, 0, 0, 1); /* opcode 5, RD, B */
    db_question(&m, enc, 0x20, 1);
    size_t at = db_rr(&m, enc, 0x20, 1, 300000);
    db_u16(&m, 0x0000); /* unique, B-node */
    db_bytes(&m, "\xc0\xa8\x0a\x15", 4);
    db_end_rr(&m, at);
    cap_datagram(&g_cap, &nbns_parser, APP_TOSERVER, m.b, m.n);
    CHECK_EQ_U64(g_cap.anomalies, 0);
    CHECK_STR(g_cap.out, "{\"event_type\":\"nbns\",\"dir\":0,\"nbns\":{\"type\":\"query\",\"id\":32769,"
                         "\"opcode\":\"registration\",\"broadcast\":true,\"name\":\"PC-ACCOUNTING\","
                         "\"suffix\":\"<20>\",\"rrtype\":\"NB\",\"ttl\":300000,"
                         "\"addresses\":[{\"ip\":\"192.168.10.21\"}]}}\n");
}

/* A positive name query response for a group name with two addresses, and a scope. */
static void test_response(void)
{
    static struct dnsb m;
    char enc[33], scoped[48];
    nb_encode("WORKGROUP", 0x1d, enc);
    snprintf(scoped, sizeof(scoped), "%s|corp", enc);
    db_hdr(&m, 7, 0x8500, 0, 1, 0, 0);
    size_t at = db_rr(&m, scoped, 0x20, 1, 0);
    db_u16(&m, 0x8000);
    db_bytes(&m, "\x0a\0\0\x01", 4);
    db_u16(&m, 0x8000);
    db_bytes(&m, "\x0a\0\0\x02", 4);
    db_end_rr(&m, at);
    cap_datagram(&g_cap, &nbns_parser, APP_TOCLIENT, m.b, m.n);
    CHECK_EQ_U64(g_cap.anomalies, 0);
    CHECK(strstr(g_cap.out, "\"type\":\"response\",\"id\":7,\"opcode\":\"query\",\"rcode\":0,"
                            "\"authoritative\":true,\"name\":\"WORKGROUP\",\"suffix\":\"<1D>\","
                            "\"scope\":\"corp\",\"rrtype\":\"NB\",\"ttl\":0,\"addresses\":["
                            "{\"ip\":\"10.0.0.1\",\"group\":true},{\"ip\":\"10.0.0.2\",\"group\":"
                            "true}]") != NULL);
}

static void build_nbstat(struct dnsb *m)
{
    const char *enc = "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; /* "*" and 15 NULs */
    db_hdr(m, 0x42, 0x8400, 0, 1, 0, 0);
    size_t at = db_rr(m, enc, 0x21, 1, 0);
    db_u8(m, 3);
    db_bytes(m, "FILESRV01      \x00", 16);
    db_u16(m, 0x0400); /* active, unique */
    db_bytes(m, "OFFICE         \x00", 16);
    db_u16(m, 0x8400); /* active, group */
    db_bytes(m, "FILESRV01      \x20", 16);
    db_u16(m, 0x0000); /* not active */
    db_bytes(m, "\x00\x1c\xc4\x10\x79\x0f", 6);
    for (int i = 0; i < 40; i++) /* the rest of the statistics */
        db_u8(m, 0);
    db_end_rr(m, at);
}

static void test_node_status(void)
{
    static struct dnsb m;
    build_nbstat(&m);
    cap_datagram(&g_cap, &nbns_parser, APP_TOCLIENT, m.b, m.n);
    CHECK_EQ_U64(g_cap.anomalies, 0); /* no SRV noise from the DNS parser */
    CHECK(strstr(g_cap.out, "\"name\":\"*\",\"suffix\":\"<00>\",\"rrtype\":\"NBSTAT\",\"ttl\":0,"
                            "\"names\":[{\"name\":\"FILESRV01\",\"suffix\":\"<00>\"},{\"name\":"
                            "\"OFFICE\",\"suffix\":\"<00>\",\"group\":true},{\"name\":\"FILESRV01\","
                            "\"suffix\":\"<20>\",\"active\":false}],\"mac\":\"00:1c:c4:10:79:0f\"") !=
          NULL);
}

static void test_bad_name_and_truncations(void)
{
    static struct dnsb m;
    db_hdr(&m, 1, 0, 1, 0, 0, 0);
    db_question(&m, "notnetbios", 0x20, 1);
    cap_datagram(&g_cap, &nbns_parser, 0, m.b, m.n);
    CHECK(strstr(g_cap.out, "\"name\":\"notnetbios\"") != NULL);
    CHECK(strstr(g_cap.out, "anomaly:bad_name:0") != NULL);
    build_nbstat(&m);
    for (size_t n = 0; n <= m.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        CHECK(copy != NULL);
        memcpy(copy, m.b, n);
        cap_datagram(&g_cap, &nbns_parser, 1, copy, n);
        free(copy);
        CHECK(!g_cap.overflow);
        CHECK_EQ_U64(g_cap.events, n >= 12 ? 1 : 0);
        CHECK(n == m.n || g_cap.anomalies > 0);
    }
    CHECK(nbns_parser.udp_match(137, 137) && !nbns_parser.udp_match(138, 138));
}

/* --- corpus against tshark ------------------------------------------------------- */

/* tshark: nbns.name "GUNNAR<00> (Workstation/Redirector)", "*<00><00>...<00>";
 * nbns.addr; nbns.netbios_name (node status names); nbns.unit_id (MAC). */
static bool needle_nbns(int field, const char *item, char *needle, size_t n)
{
    if (field == 0) {
        const char *end = strstr(item, "> (");
        end = end != NULL ? end + 1 : item + strlen(item);
        if (end - item < 4 || end[-4] != '<')
            return false;
        const char *sfx = end - 4; /* "<xx>" */
        const char *stop = sfx;    /* trailing NULs ("<00>") and spaces are trimmed */
        while ((stop - item >= 4 && strncmp(stop - 4, "<00>", 4) == 0) ||
               (stop > item && stop[-1] == ' '))
            stop -= stop[-1] == ' ' ? 1 : 4;
        char name[256];
        size_t o = 0;
        for (const char *c = item; c < stop && o + 7 < sizeof(name);) {
            if (*c == '<' && stop - c >= 4 && c[3] == '>') { /* "<xx>" is a byte */
                o += (size_t)snprintf(name + o, sizeof(name) - o, "\\u00%c%c", c[1], c[2]);
                c += 4;
            } else {
                name[o++] = *c++;
            }
        }
        name[o] = '\0';
        snprintf(needle, n, "\"name\":\"%s\",\"suffix\":\"<%c%c>\"", name,
                 toupper((unsigned char)sfx[1]), toupper((unsigned char)sfx[2]));
        return true;
    }
    if (field == 1)
        snprintf(needle, n, "\"ip\":\"%s\"", item);
    else if (field == 2)
        snprintf(needle, n, "\"name\":\"%s\"", item);
    else
        snprintf(needle, n, "\"mac\":\"%s\"", item);
    return true;
}

static const char *const g_files[] = {
    "ndpi/netbios.pcap",   "ndpi/1kxun.pcap",          "ndpi/gnutella.pcap",
    "ndpi/wechat.pcap",    "ndpi/anyconnect-vpn.pcap", "ndpi/telegram.pcap",
    "ndpi/zoom.pcap",      "suricata-verify/bug-5162/input.pcap",
    "ndpi/netbios_wildcard_dns_query.pcap",
};

static void test_corpus(void)
{
    if (check_corpus_pcap_dir() == NULL)
        SKIP("corpus not found");
    struct lan_score t;
    bool unreadable;
    unsigned files = lan_corpus_agree(&nbns_parser, g_files, sizeof(g_files) / sizeof(g_files[0]),
                                      "nbns",
                                      "-e nbns.name -e nbns.addr -e nbns.netbios_name "
                                      "-e nbns.unit_id",
                                      needle_nbns, NULL, &t, &unreadable);
    CHECK(!unreadable);
    if (files == 0)
        SKIP("tshark or the corpus files are absent");
    fprintf(stderr, "nbns corpus: %u files, %u frames, %u/%u values agree with tshark\n", files,
            t.frames, t.found, t.items);
    CHECK(t.items > 100);
    CHECK_EQ_U64(t.missing, 0);
}

/* The demo capture (docs/demo.md): each Windows PC registers NAME<00>, NAME<20> and
 * the group YAMATO<00>, and asks for WPAD and FILESERV. */
static void test_demo(void)
{
    const char *path = lan_demo_path();
    if (path == NULL)
        SKIP("demo/office.pcap absent (make demo/office.pcap)");
    char *t = lan_all_text(&nbns_parser, path);
    CHECK(t != NULL);
    static const char *const pcs[] = {"SOUMU-PC01", "SOUMU-PC02", "KEIRI-PC01", "KEIRI-PC02",
                                      "EIGYO-PC01", "EIGYO-PC02", "SEIZOU-PC03", "SEKKEI-PC01"};
    bool ok = true;
    for (size_t i = 0; i < sizeof(pcs) / sizeof(pcs[0]); i++) {
        char a[96], b[96];
        snprintf(a, sizeof(a), "\"registration\",\"broadcast\":true,\"name\":\"%s\",\"suffix\":\"<00>\"",
                 pcs[i]);
        snprintf(b, sizeof(b), "\"registration\",\"broadcast\":true,\"name\":\"%s\",\"suffix\":\"<20>\"",
                 pcs[i]);
        if (strstr(t, a) == NULL || strstr(t, b) == NULL) {
            fprintf(stderr, "demo nbns: %s not registered\n", pcs[i]);
            ok = false;
        }
    }
    ok = ok && strstr(t, "\"name\":\"YAMATO\",\"suffix\":\"<00>\"") != NULL &&
         strstr(t, "\"group\":true") != NULL && strstr(t, "\"name\":\"WPAD\"") != NULL &&
         strstr(t, "\"name\":\"FILESERV\",\"suffix\":\"<20>\"") != NULL &&
         strstr(t, "anomaly:") == NULL;
    fprintf(stderr, "demo: %u nbns events\n", lan_count(t, "\"event_type\":\"nbns\""));
    free(t);
    CHECK(ok);
}

int main(void)
{
    RUN(test_decode_name);
    RUN(test_registration);
    RUN(test_response);
    RUN(test_node_status);
    RUN(test_bad_name_and_truncations);
    RUN(test_corpus);
    RUN(test_demo);
    cap_free(&g_cap);
    return check_done();
}
