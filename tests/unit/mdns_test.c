/*
 * Tests of the mDNS / DNS-SD and LLMNR parsers (sensor/app/mdns.c), driven through
 * their app_parser tables with a capturing sink: hand-made messages (DNS-SD service
 * with TXT model strings, hostnames, QU and cache-flush bits, caps, every truncation),
 * and real captures from ../shared/corpus compared with tshark's dissection.
 */
#include "check.h"
#include "lan_check.h"

#include "app/mdns.h"
#include "../notes_check.h"

static struct cap_sink g_cap;

/* A DNS-SD response from a printer: service enumeration, the instance (PTR, SRV,
 * TXT), its host (A, AAAA, cache-flush class) and a reverse PTR. */
static void build_printer(struct dnsb *m)
{
    db_hdr(m, 0, 0x8400, 0, 5, 0, 3);
    size_t at = db_rr(m, "_services|_dns-sd|_udp|local", 12, 1, 4500);
    db_name(m, "_ipp|_tcp|local");
    db_end_rr(m, at);
    at = db_rr(m, "_ipp|_tcp|local", 12, 1, 4500);
    db_name(m, "HP LaserJet M404 [A1.B2]|_ipp|_tcp|local");
    db_end_rr(m, at);
    at = db_rr(m, "HP LaserJet M404 [A1.B2]|_ipp|_tcp|local", 33, 0x8001, 120);
    db_u16(m, 0);   /* priority */
    db_u16(m, 0);   /* weight */
    db_u16(m, 631); /* port */
    db_name(m, "NPIA1B2C3|local");
    db_end_rr(m, at);
    at = db_rr(m, "HP LaserJet M404 [A1.B2]|_ipp|_tcp|local", 16, 0x8001, 4500);
    db_txt(m, "txtvers=1");
    db_txt(m, "ty=HP LaserJet Pro M404dn");
    db_txt(m, "usb_MFG=HP");
    db_txt(m, "usb_MDL=LaserJet Pro M404dn");
    db_txt(m, "product=(HP LaserJet Pro M404dn)");
    db_txt(m, "TLS");      /* a key without a value: boolean */
    db_txt(m, "ty=other"); /* a repeated key: only the first counts */
    db_txt(m, "");         /* an empty string: ignored */
    db_end_rr(m, at);
    at = db_rr(m, "50|1|168|192|in-addr|arpa", 12, 0x8001, 120);
    db_name(m, "NPIA1B2C3|local");
    db_end_rr(m, at);
    at = db_rr(m, "NPIA1B2C3|local", 1, 0x8001, 120);
    db_bytes(m, "\xc0\xa8\x01\x32", 4);
    db_end_rr(m, at);
    at = db_rr(m, "NPIA1B2C3|local", 28, 0x8001, 120);
    db_bytes(m, "\xfe\x80\0\0\0\0\0\0\x02\x11\x22\xff\xfe\x33\x44\x55", 16);
    db_end_rr(m, at);
    at = db_rr(m, "NPIA1B2C3|local", 47, 0x8001, 120); /* NSEC: not decoded */
    db_name(m, "NPIA1B2C3|local");
    db_u8(m, 0);
    db_u8(m, 4);
    db_bytes(m, "\x40\0\0\x08", 4);
    db_end_rr(m, at);
}

static void test_dnssd_response(void)
{
    static struct dnsb m;
    build_printer(&m);
    cap_datagram(&g_cap, &mdns_parser, APP_TOCLIENT, m.b, m.n);
    const char *o = g_cap.out;
    CHECK_EQ_U64(g_cap.events, 1);
    CHECK_EQ_U64(g_cap.anomalies, 0);
    CHECK(strstr(o, "\"event_type\":\"mdns\",\"dir\":1,\"mdns\":{\"type\":\"response\"") != NULL);
    CHECK(strstr(o, "\"hostnames\":[\"NPIA1B2C3.local\"]") != NULL);
    CHECK(strstr(o, "\"addresses\":[{\"hostname\":\"NPIA1B2C3.local\",\"ip\":\"192.168.1.50\"},"
                    "{\"hostname\":\"NPIA1B2C3.local\",\"ip\":\"fe80::211:22ff:fe33:4455\"}]") !=
          NULL);
    CHECK(strstr(o, "\"service_types\":[\"_ipp._tcp.local\"]") != NULL);
    CHECK(strstr(o, "\"services\":[{\"instance\":\"HP LaserJet M404 [A1.B2]\","
                    "\"type\":\"_ipp._tcp.local\",\"target\":\"NPIA1B2C3.local\",\"port\":631,"
                    "\"txt\":{\"txtvers\":\"1\",\"ty\":\"HP LaserJet Pro M404dn\","
                    "\"usb_MFG\":\"HP\",\"usb_MDL\":\"LaserJet Pro M404dn\","
                    "\"product\":\"(HP LaserJet Pro M404dn)\",\"TLS\":true},"
                    "\"model\":\"LaserJet Pro M404dn\"}]") != NULL);
    CHECK(strstr(o, "queries") == NULL);
}

/* A query with the QU bit, and known answers (PTR to an AirPlay instance whose label
 * contains a dot). */
static void test_query_qu(void)
{
    static struct dnsb m;
    db_hdr(&m, 0, 0, 2, 1, 0, 0);
    db_question(&m, "_airplay|_tcp|local", 12, 0x8001);
    db_question(&m, "Living-Room|local", 28, 1);
    size_t at = db_rr(&m, "_airplay|_tcp|local", 12, 1, 4500);
    db_name(&m, "Living Room.TV|_airplay|_tcp|local");
    db_end_rr(&m, at);
    cap_datagram(&g_cap, &mdns_parser, APP_TOSERVER, m.b, m.n);
    const char *o = g_cap.out;
    CHECK_EQ_U64(g_cap.events, 1);
    CHECK(strstr(o, "\"mdns\":{\"type\":\"query\",\"queries\":[{\"rrname\":\"_airplay._tcp.local\","
                    "\"rrtype\":\"PTR\",\"unicast_response\":true},{\"rrname\":"
                    "\"Living-Room.local\",\"rrtype\":\"AAAA\"}]") != NULL);
    CHECK(strstr(o, "\"services\":[{\"instance\":\"Living Room.TV\",\"type\":\"_airplay._tcp.local\"}]") !=
          NULL);
}

/* More services than the cap, and a TXT over the byte cap. */
static void test_caps(void)
{
    static struct dnsb m;
    db_hdr(&m, 0, 0x8400, 0, 40, 0, 0);
    for (int i = 0; i < 39; i++) {
        char name[64];
        snprintf(name, sizeof(name), "dev%02d|_http|_tcp|local", i);
        size_t at = db_rr(&m, "_http|_tcp|local", 12, 1, 10);
        db_name(&m, name);
        db_end_rr(&m, at);
    }
    size_t at = db_rr(&m, "dev00|_http|_tcp|local", 16, 1, 10);
    char big[201];
    memset(big, 'x', 200);
    big[200] = '\0';
    big[0] = 'k';
    big[1] = '=';
    for (int i = 0; i < 4; i++)
        db_txt(&m, big);
    db_end_rr(&m, at);
    cap_datagram(&g_cap, &mdns_parser, APP_TOCLIENT, m.b, m.n);
    CHECK_EQ_U64(g_cap.events, 1);
    CHECK(strstr(g_cap.out, "\"instance\":\"dev15\"") != NULL);
    CHECK(strstr(g_cap.out, "\"instance\":\"dev16\"") == NULL); /* default cap 16 */
    CHECK(strstr(g_cap.out, "anomaly:too_many_services:1") != NULL);
    CHECK(strstr(g_cap.out, "anomaly:txt_truncated:1") != NULL);
    CHECK(strstr(g_cap.out, "anomaly:too_many_records") == NULL);
    /* nothing of this message stays for the next one */
    build_printer(&m);
    cap_datagram(&g_cap, &mdns_parser, APP_TOCLIENT, m.b, m.n);
    CHECK_EQ_U64(g_cap.anomalies, 0);
}

/* A TXT string of a key of n bytes `c`, then "=v" when value. */
static void db_txt_key(struct dnsb *m, size_t n, uint8_t c, bool value)
{
    db_u8(m, (unsigned)(n + (value ? 2 : 0)));
    for (size_t i = 0; i < n; i++)
        db_u8(m, c);
    if (value)
        db_bytes(m, "=v", 2);
}

/* TXT keys are written as JSON keys: the path mdns.services.txt.KEY must stay within
 * jscan's JSCAN_MAX_PATH once read back. The longest key kept, of bytes that are not
 * UTF-8 (each escaped as \u00XX, two bytes once unescaped), is written and the line
 * walks; a longer key (MDNS_TXT_KEY_MAX + 1, or ~100 bytes as the fuzzer found) is
 * skipped as txt_bad (tests/fuzz/regress/mdns/txt-key-path-too-long). */
static void test_txt_key_max(void)
{
    static struct dnsb m;
    db_hdr(&m, 0, 0x8400, 0, 2, 0, 0);
    size_t at = db_rr(&m, "_http|_tcp|local", 12, 1, 10);
    db_name(&m, "dev|_http|_tcp|local");
    db_end_rr(&m, at);
    at = db_rr(&m, "dev|_http|_tcp|local", 16, 1, 10);
    db_txt(&m, "a=1");
    db_txt_key(&m, MDNS_TXT_KEY_MAX, 0xff, true);
    db_txt_key(&m, MDNS_TXT_KEY_MAX + 1, 'b', true);
    db_txt_key(&m, 100, 0xfe, false);
    db_txt(&m, "z=2");
    db_end_rr(&m, at);
    cap_datagram(&g_cap, &mdns_parser, APP_TOCLIENT, m.b, m.n);
    CHECK_EQ_U64(g_cap.events, 1);
    CHECK(!g_cap.overflow);
    const char *nl = strchr(g_cap.out, '\n'); /* the event line, then the anomalies */
    CHECK(nl != NULL && line_walks(g_cap.out, (size_t)(nl - g_cap.out)));
    char kept[6 * MDNS_TXT_KEY_MAX + 16];
    size_t k = 0;
    kept[k++] = '"';
    for (size_t i = 0; i < MDNS_TXT_KEY_MAX; i++)
        k += (size_t)snprintf(kept + k, sizeof(kept) - k, "\\u00ff");
    snprintf(kept + k, sizeof(kept) - k, "\":\"v\"");
    CHECK(strstr(g_cap.out, "\"txt\":{\"a\":\"1\",") != NULL);
    CHECK(strstr(g_cap.out, kept) != NULL);
    CHECK(strstr(g_cap.out, "bbb") == NULL && strstr(g_cap.out, "\\u00fe") == NULL);
    CHECK(strstr(g_cap.out, "\"z\":\"2\"}") != NULL);
    CHECK(strstr(g_cap.out, "anomaly:txt_bad:1") != NULL);
}

/* Every prefix of the printer response: no crash (ASan), anomaly kinds in range, and
 * an event for each prefix of at least a header. */
static void test_truncations(void)
{
    static struct dnsb m;
    build_printer(&m);
    for (size_t n = 0; n <= m.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        CHECK(copy != NULL);
        memcpy(copy, m.b, n);
        cap_datagram(&g_cap, &mdns_parser, APP_TOCLIENT, copy, n);
        free(copy);
        CHECK(!g_cap.overflow);
        CHECK_EQ_U64(g_cap.events, n >= 12 ? 1 : 0);
        CHECK(n == m.n || g_cap.anomalies > 0);
    }
}

static void test_llmnr(void)
{
    static struct dnsb m;
    db_hdr(&m, 0x1234, 0, 1, 0, 0, 0);
    db_question(&m, "wpad", 1, 1);
    cap_datagram(&g_cap, &llmnr_parser, APP_TOSERVER, m.b, m.n);
    CHECK(strstr(g_cap.out, "\"llmnr\":{\"type\":\"query\",\"id\":4660,\"queries\":[{\"rrname\":"
                            "\"wpad\",\"rrtype\":\"A\"}]}") != NULL);
    db_hdr(&m, 0x1234, 0x8000, 1, 1, 0, 0);
    db_question(&m, "fileserver", 1, 1);
    size_t at = db_rr(&m, "fileserver", 1, 1, 30);
    db_bytes(&m, "\x0a\x00\x00\x05", 4);
    db_end_rr(&m, at);
    cap_datagram(&g_cap, &llmnr_parser, APP_TOCLIENT, m.b, m.n);
    CHECK(strstr(g_cap.out, "\"type\":\"response\",\"id\":4660,\"rcode\":\"NOERROR\"") != NULL);
    CHECK(strstr(g_cap.out, "\"answers\":[{\"rrname\":\"fileserver\",\"rrtype\":\"A\",\"ttl\":30,"
                            "\"rdata\":\"10.0.0.5\"}]") != NULL);
    CHECK(llmnr_parser.udp_match(5355, 49000) && !llmnr_parser.udp_match(53, 5353));
    CHECK(mdns_parser.udp_match(5353, 5353) && !mdns_parser.udp_match(53, 5355));
}

/* --- corpus against tshark ------------------------------------------------------- */

static bool needle_mdns(int field, const char *item, char *needle, size_t n)
{
    switch (field) {
    case 0: /* dns.qry.name */
        snprintf(needle, n, "\"rrname\":\"%s\"", item);
        return true;
    case 1: /* dns.a */
    case 2: /* dns.aaaa */
        snprintf(needle, n, "\"ip\":\"%s\"", item);
        return true;
    case 3: /* dns.srv.target */
        snprintf(needle, n, "\"target\":\"%s\"", item);
        return true;
    case 4: /* dns.srv.port */
        snprintf(needle, n, "\"port\":%s", item);
        return true;
    case 5: { /* dns.txt: "key=value": the key must be in a txt object. Strings
               * without '=' are skipped: outside DNS-SD instances (e.g. Apple's
               * _kerberos.<host> LKDC realm) TXT records are not logged. */
        size_t k = strcspn(item, "=");
        if (k == 0 || k > 200 || item[k] != '=')
            return false;
        snprintf(needle, n, "\"%.*s\":", (int)k, item);
        return true;
    }
    default:
        return false;
    }
}

static bool needle_llmnr(int field, const char *item, char *needle, size_t n)
{
    if (field == 0)
        snprintf(needle, n, "\"rrname\":\"%s\"", item);
    else
        snprintf(needle, n, "\"rdata\":\"%s\"", item);
    return true;
}

static const struct {
    const char *file;
    int llmnr;
} g_files[] = {
    {"zeek/dns/mdns.pcap", 0},
    {"zeek/dns/mdns-no-assoc.pcap", 0},
    {"ndpi/iphone.pcap", 0},
    {"ndpi/telegram.pcap", 0},
    {"ndpi/wechat.pcap", 0},
    {"ndpi/anyconnect-vpn.pcap", 0},
    {"ndpi/gnutella.pcap", 0},
    {"ndpi/1kxun.pcap", 1},
    {"ndpi/wechat.pcap", 1},
    {"suricata-verify/llmnr/llmnr-authority-additional/input.pcap", 1},
    {"suricata-verify/llmnr/llmnr-udp/input.pcap", 1},
};

static void test_corpus(void)
{
    if (check_corpus_pcap_dir() == NULL)
        SKIP("corpus not found");
    static struct lan_frames f;
    unsigned items = 0, found = 0, capped = 0, missing = 0, files = 0;
    for (size_t i = 0; i < sizeof(g_files) / sizeof(g_files[0]); i++) {
        char path[1024];
        if (lan_corpus(g_files[i].file, path, sizeof(path)) == NULL)
            continue;
        const struct app_parser *p = g_files[i].llmnr ? &llmnr_parser : &mdns_parser;
        CHECK(lan_frames_run(&f, p, path) > 0);
        struct lan_score sc;
        bool ran = g_files[i].llmnr
                       ? lan_tshark_compare(&f, path, "llmnr", "-e dns.qry.name -e dns.a",
                                            needle_llmnr, NULL, &sc)
                       : lan_tshark_compare(&f, path, "mdns",
                                            "-e dns.qry.name -e dns.a -e dns.aaaa "
                                            "-e dns.srv.target -e dns.srv.port -e dns.txt",
                                            needle_mdns, "anomaly:too_many_records", &sc);
        lan_frames_free(&f);
        if (!ran || sc.frames == 0) {
            fprintf(stderr, "%s: tshark gave nothing\n", g_files[i].file);
            continue;
        }
        fprintf(stderr, "%s %s: %u frames, %u/%u values agree, %u beyond caps\n", p->name,
                g_files[i].file, sc.frames, sc.found, sc.items, sc.capped);
        files++;
        items += sc.items;
        found += sc.found;
        capped += sc.capped;
        missing += sc.missing;
    }
    if (files == 0)
        SKIP("tshark or the corpus files are absent");
    fprintf(stderr, "mdns+llmnr corpus: %u files, %u/%u values agree with tshark, %u beyond caps\n",
            files, found, items, capped);
    CHECK(items > 100);
    CHECK_EQ_U64(missing, 0);
}

/* The demo capture's devices (docs/demo.md, "Devices"): what their mDNS says. */
static void test_demo(void)
{
    const char *path = lan_demo_path();
    if (path == NULL)
        SKIP("demo/office.pcap absent (make demo/office.pcap)");
    char *m = lan_all_text(&mdns_parser, path);
    char *l = lan_all_text(&llmnr_parser, path);
    CHECK(m != NULL && l != NULL);
    static const char *const want[] = {
        /* NAS: _http._tcp with TXT vendor=Synology, model=DS220+; _smb, _afpovertcp,
         * _device-info */
        "\"instance\":\"YAMATO-NAS\",\"type\":\"_http._tcp.local\"",
        "\"vendor\":\"Synology\",\"model\":\"DS220+\"",
        "\"model\":\"DS220+\"}",
        "\"type\":\"_smb._tcp.local\"",
        "\"type\":\"_afpovertcp._tcp.local\"",
        "\"type\":\"_device-info._tcp.local\"",
        /* Brother printer: _ipp, _printer, _pdl-datastream; ty, note */
        "\"instance\":\"Brother MFC-L2750DW series\",\"type\":\"_ipp._tcp.local\"",
        "\"type\":\"_printer._tcp.local\"",
        "\"type\":\"_pdl-datastream._tcp.local\"",
        "\"ty\":\"Brother MFC-L2750DW series\"",
        "\"note\":\"2F 事務所\"",
        /* the Mac and the PCs' host announcements */
        "\"hostname\":\"Yamada-MacBook-Pro.local\",\"ip\":\"192.168.1.110\"",
        "\"hostname\":\"SOUMU-PC01.local\",\"ip\":\"192.168.1.101\"",
        "\"hostname\":\"SEKKEI-PC01.local\",\"ip\":\"192.168.1.108\"",
        /* the iPhone's queries */
        "\"rrname\":\"_companion-link._tcp.local\"",
        "\"rrname\":\"_airplay._tcp.local\"",
        "\"rrname\":\"_raop._tcp.local\"",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (strstr(m, want[i]) == NULL)
            fprintf(stderr, "demo mdns: missing %s\n", want[i]);
        CHECK(strstr(m, want[i]) != NULL);
    }
    /* the Windows PCs' LLMNR queries for wpad and fileserv */
    CHECK(strstr(l, "\"rrname\":\"wpad\"") != NULL);
    CHECK(strstr(l, "\"rrname\":\"fileserv\"") != NULL);
    CHECK(strstr(m, "anomaly:") == NULL && strstr(l, "anomaly:") == NULL);
    fprintf(stderr, "demo: %u mdns and %u llmnr events, every device named\n",
            lan_count(m, "\"event_type\":\"mdns\""), lan_count(l, "\"event_type\":\"llmnr\""));
    free(m);
    free(l);
}

int main(void)
{
    RUN(test_dnssd_response);
    RUN(test_query_qu);
    RUN(test_caps);
    RUN(test_txt_key_max);
    RUN(test_truncations);
    RUN(test_llmnr);
    RUN(test_corpus);
    RUN(test_demo);
    cap_free(&g_cap);
    return check_done();
}
