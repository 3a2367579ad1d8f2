/*
 * Tests of the SSDP parser (sensor/app/ssdp.c) through its app_parser table:
 * NOTIFY, M-SEARCH and a 200 OK response, LF-only lines, caps, bad start lines,
 * every truncation, and real captures compared with tshark's dissection.
 */
#include "check.h"
#include "lan_check.h"

#include "app/ssdp.h"
#include "sensor_conf.h"

static struct cap_sink g_cap;

static void run(const char *msg)
{
    cap_datagram(&g_cap, &ssdp_parser, APP_TOSERVER, (const uint8_t *)msg, strlen(msg));
}

static void test_notify(void)
{
    run("NOTIFY * HTTP/1.1\r\n"
        "HOST: 239.255.255.250:1900\r\n"
        "CACHE-CONTROL: max-age=1800\r\n"
        "LOCATION: http://192.168.1.20:49152/description.xml\r\n"
        "NT: urn:schemas-upnp-org:device:MediaRenderer:1\r\n"
        "NTS: ssdp:alive\r\n"
        "SERVER: Linux/3.14 UPnP/1.0 Sonos/63.2-88230 (ZPS12)\r\n"
        "USN: uuid:RINCON_000E58A0B1C2::urn:schemas-upnp-org:device:MediaRenderer:1\r\n"
        "X-RINCON-HOUSEHOLD: Sonos_abc\r\n"
        "\r\n");
    CHECK_EQ_U64(g_cap.events, 1);
    CHECK_EQ_U64(g_cap.anomalies, 0);
    CHECK_STR(g_cap.out,
              "{\"event_type\":\"ssdp\",\"dir\":0,\"ssdp\":{\"type\":\"notify\",\"method\":\"NOTIFY\","
              "\"uri\":\"*\",\"protocol\":\"HTTP/1.1\",\"host\":\"239.255.255.250:1900\","
              "\"server\":\"Linux/3.14 UPnP/1.0 Sonos/63.2-88230 (ZPS12)\","
              "\"location\":\"http://192.168.1.20:49152/description.xml\","
              "\"usn\":\"uuid:RINCON_000E58A0B1C2::urn:schemas-upnp-org:device:MediaRenderer:1\","
              "\"nt\":\"urn:schemas-upnp-org:device:MediaRenderer:1\",\"nts\":\"ssdp:alive\","
              "\"cache_control\":\"max-age=1800\"}}\n");
}

static void test_search_and_response(void)
{
    /* LF-only lines, lower-case header names, no final empty line */
    run("M-SEARCH * HTTP/1.1\n"
        "host:239.255.255.250:1900\n"
        "man: \"ssdp:discover\"\n"
        "mx: 3\n"
        "st: ssdp:all\n"
        "user-agent: Chromium/120 Windows\n");
    CHECK_EQ_U64(g_cap.anomalies, 0);
    CHECK(strstr(g_cap.out, "\"type\":\"search\",\"method\":\"M-SEARCH\"") != NULL);
    CHECK(strstr(g_cap.out, "\"st\":\"ssdp:all\",\"man\":\"\\\"ssdp:discover\\\"\",\"mx\":\"3\","
                            "\"user_agent\":\"Chromium/120 Windows\"") != NULL);
    run("HTTP/1.1 200 OK\r\n"
        "CACHE-CONTROL: max-age=120\r\n"
        "ST: upnp:rootdevice\r\n"
        "USN: uuid:abc::upnp:rootdevice\r\n"
        "EXT:\r\n"
        "SERVER: RICOH MP C3004 1.10\r\n"
        "LOCATION: http://10.0.0.9:80/desc.xml\r\n"
        "\r\n");
    CHECK(strstr(g_cap.out, "\"ssdp\":{\"type\":\"response\",\"status\":200,\"reason\":\"OK\","
                            "\"protocol\":\"HTTP/1.1\",\"server\":\"RICOH MP C3004 1.10\"") != NULL);
}

static void test_bad_and_caps(void)
{
    run("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ_U64(g_cap.events, 0);
    CHECK_STR(g_cap.out, "anomaly:bad_start_line:0\n");
    run("HTTP/1.1 2x0 OK\r\n\r\n");
    CHECK_EQ_U64(g_cap.events, 0);
    static char msg[8192];
    size_t n = (size_t)snprintf(msg, sizeof(msg), "NOTIFY * HTTP/1.1\r\nSERVER: ");
    memset(msg + n, 'a', 2000);
    n += 2000;
    n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\r\nbroken line\r\nNTS: a\r\nNTS: b\r\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "X-%d: y\r\n", i);
    run(msg);
    CHECK_EQ_U64(g_cap.events, 1);
    CHECK(strstr(g_cap.out, "anomaly:line_too_long:0") != NULL);
    CHECK(strstr(g_cap.out, "anomaly:bad_header:0") != NULL);
    CHECK(strstr(g_cap.out, "anomaly:dup_header:0") != NULL);
    CHECK(strstr(g_cap.out, "anomaly:too_many_headers:0") != NULL);
    CHECK(strstr(g_cap.out, "\"nts\":\"a\"") != NULL);
    /* the server value is cut at max_line (1 KiB default) minus "SERVER: " */
    const char *sv = strstr(g_cap.out, "\"server\":\"");
    CHECK(sv != NULL);
    CHECK_EQ_U64(strcspn(sv + 10, "\""), 1024 - 8);
    /* configured caps */
    static struct sensor_conf c;
    conf_defaults(sensor_conf_table, &c);
    c.ssdp_max_headers = 2;
    cap_init(&g_cap, &ssdp_parser);
    ssdp_parser.datagram(&g_cap.s, &c, 0, (const uint8_t *)msg, n);
    CHECK(strstr(g_cap.out, "\"nts\"") == NULL);
    c.ssdp_enabled = false;
    cap_init(&g_cap, &ssdp_parser);
    ssdp_parser.datagram(&g_cap.s, &c, 0, (const uint8_t *)msg, n);
    CHECK_EQ_U64(g_cap.len, 0);
}

static void test_truncations(void)
{
    const char *msg = "HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nSERVER: x\r\n\r\n";
    size_t len = strlen(msg);
    for (size_t n = 0; n <= len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        CHECK(copy != NULL);
        memcpy(copy, msg, n);
        cap_datagram(&g_cap, &ssdp_parser, 0, copy, n);
        free(copy);
        CHECK(!g_cap.overflow);
        CHECK_EQ_U64(g_cap.events, n >= 12 ? 1 : 0); /* "HTTP/1.1 200" */
    }
    CHECK(ssdp_parser.udp_match(1900, 50000) && !ssdp_parser.udp_match(1901, 50000));
}

/* --- corpus against tshark ------------------------------------------------------- */

/* Fields: http.request.method, http.response.code, http.server, http.location,
 * http.host, http.user_agent, http.cache_control, http.unknown_header. */
static bool needle_ssdp(int field, const char *item, char *needle, size_t n)
{
    static const char *const keys[] = {"method", "status", "server", "location", "host",
                                       "user_agent", "cache_control"};
    if (field == 1) {
        snprintf(needle, n, "\"status\":%s", item);
        return true;
    }
    if (field >= 0 && field < 7) {
        snprintf(needle, n, "\"%s\":\"%s\"", keys[field], item);
        return true;
    }
    /* http.unknown_header "NAME: value\r\n" (escaped as \r\n by tshark): ST, USN, NT, NTS */
    static const char *const unk[][2] = {{"ST", "st"}, {"USN", "usn"}, {"NT", "nt"}, {"NTS", "nts"}};
    size_t k = strcspn(item, ":");
    for (size_t i = 0; i < 4; i++) {
        if (k != strlen(unk[i][0]) || strncasecmp(item, unk[i][0], k) != 0)
            continue;
        const char *v = item + k + 1;
        while (*v == ' ')
            v++;
        size_t vl = strlen(v);
        if (vl >= 4 && strcmp(v + vl - 4, "\\r\\n") == 0)
            vl -= 4;
        while (vl > 0 && v[vl - 1] == ' ')
            vl--;
        snprintf(needle, n, "\"%s\":\"%.*s\"", unk[i][1], (int)vl, v);
        return true;
    }
    return false;
}

static const char *const g_files[] = {
    "ndpi/1kxun.pcap",
    "ndpi/ssdp-m-search-ua.pcap",
    "ndpi/ssdp-m-search.pcap",
    "ndpi/gnutella.pcap",
    "ndpi/telegram.pcap",
    "ndpi/anyconnect-vpn.pcap",
    "ndpi/netflix.pcap",
    "other/corelight/PetitPotam/PatchedDCUnauthenticatedTry.pcapng",
    "suricata-verify/sip-ssdp-pm/ssdp.pcap",
    "zeek/igmp/home-multicast-short.pcap",
};

static void test_corpus(void)
{
    if (check_corpus_pcap_dir() == NULL)
        SKIP("corpus not found");
    struct lan_score t;
    bool unreadable;
    unsigned files = lan_corpus_agree(&ssdp_parser, g_files, sizeof(g_files) / sizeof(g_files[0]),
                                      "ssdp",
                                      "-e http.request.method -e http.response.code "
                                      "-e http.server -e http.location -e http.host "
                                      "-e http.user_agent -e http.cache_control "
                                      "-e http.unknown_header",
                                      needle_ssdp, NULL, &t, &unreadable);
    CHECK(!unreadable);
    if (files == 0)
        SKIP("tshark or the corpus files are absent");
    fprintf(stderr, "ssdp corpus: %u files, %u frames, %u/%u values agree with tshark\n", files,
            t.frames, t.found, t.items);
    CHECK(t.items > 100);
    CHECK_EQ_U64(t.missing, 0);
}

/* The demo capture (docs/demo.md): the router, NAS and camera announce themselves. */
static void test_demo(void)
{
    const char *path = lan_demo_path();
    if (path == NULL)
        SKIP("demo/office.pcap absent (make demo/office.pcap)");
    char *t = lan_all_text(&ssdp_parser, path);
    CHECK(t != NULL);
    bool ok = strstr(t, "\"server\":\"Synology/DSM/192.168.1.10\"") != NULL &&
              strstr(t, "Panasonic-UPnP-MW/1.0\"") != NULL &&
              strstr(t, "\"type\":\"search\"") != NULL &&
              strstr(t, "\"st\":\"urn:schemas-upnp-org:device:InternetGatewayDevice:1\"") != NULL &&
              strstr(t, "anomaly:") == NULL;
    fprintf(stderr, "demo: %u ssdp events\n", lan_count(t, "\"event_type\":\"ssdp\""));
    free(t);
    CHECK(ok);
}

int main(void)
{
    RUN(test_notify);
    RUN(test_search_and_response);
    RUN(test_bad_and_caps);
    RUN(test_truncations);
    RUN(test_corpus);
    RUN(test_demo);
    cap_free(&g_cap);
    return check_done();
}
