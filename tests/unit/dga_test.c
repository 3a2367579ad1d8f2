/*
 * Unit tests of the DGA-like name detector (sensor/detect/dga.c), the URL category
 * lists (sensor/detect/urlcat.c, lib/intel/conf.c's url_category:NAME) and nDPI's
 * Malware / Mining categories: the label score on real DGA and real registered names,
 * the names never judged, the thresholds, the window, distinct names, aggregation, the
 * watch list and the category alerts.
 */
#include "check.h"
#include "detect_host.h"

#include "detect/detect.h"
#include "detect/detect_int.h"
#include "otasuke/err.h"
#include "otasuke/intel.h"
#include "otasuke/log.h"
#include "output/eve.h"
#include "sensor_conf.h"

#include <ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC 1000000ull
#define T0  (1790000000ull * SEC)

/* ---- the label score ------------------------------------------------------------- */

static void test_label_score(void)
{
    /* DGA names from maltrail's trails (necurs, cryptolocker, locky, ramnit) */
    static const char *const dga[] = {"fshvbxglxthaptu", "lghpulprgptj", "qgrqmvsebjknf",
                                      "gukcijyqychapcgudaxtc", "ccuqwbwoosxxiwc",
                                      "hdauthcpbwblw", "rbdtujaxgleucvcq", "awxmyvbdep"};
    /* real registered labels (corpus DNS names and well-known sites) */
    static const char *const real[] = {"google", "microsoft", "wikipedia", "amazonaws",
                                       "stackoverflow", "windowsupdate", "trendmicro",
                                       "mailhostbox", "procesoexitos1", "rakuten",
                                       "nikkei", "internetbadguys", "digicert",
                                       "msidentity", "officeapps", "trafficmanager",
                                       "kakaocorp", "softbank", "dropboxusercontent",
                                       "bitdefender"};
    struct dga_score sc;
    int hits = 0;
    for (size_t i = 0; i < sizeof(dga) / sizeof(dga[0]); i++) {
        bool r = dga_label_random(dga[i], strlen(dga[i]), &sc);
        if (!r)
            fprintf(stderr, "  dga not flagged: %s bigram %.2f points %d\n", dga[i], sc.bigram,
                    sc.points);
        hits += r;
    }
    CHECK(hits >= 7); /* one of eight may look pronounceable */
    for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
        bool r = dga_label_random(real[i], strlen(real[i]), &sc);
        if (r)
            fprintf(stderr, "  real name flagged: %s bigram %.2f points %d\n", real[i],
                    sc.bigram, sc.points);
        CHECK(!r);
    }
    /* the features */
    CHECK(dga_label_random("qgrqmvsebjknf", 13, &sc));
    CHECK(sc.bigram < -4.4 && sc.consonant_run >= 5 && sc.points >= 3);
    CHECK(!dga_label_random("google", 6, &sc)); /* short labels are never judged */
    CHECK(sc.points == 0);
    CHECK(!dga_label_random("abc_defghijk", 12, NULL)); /* not a host name label */
    CHECK(dga_label_random("x7k2q9z4m1v8w3", 14, &sc)); /* letters and digits mixed */
    CHECK(sc.digit_ratio > 0.3);
    CHECK(!dga_label_random("20240512", 8, NULL)); /* digits only: a date, a counter */
}

/* ---- the names judged ------------------------------------------------------------ */

static void test_classify(void)
{
    snprintf(conf.detect_dga_ignore, sizeof(conf.detect_dga_ignore), "corp.example.co.jp, .Lan.Example.");
    char err[256];
    struct det_dga *g = det_dga_new(&conf, err, sizeof(err));
    CHECK(g != NULL);
    static const char *const never[] = {
        "34.216.184.93.in-addr.arpa", "b.a.9.8.ip6.arpa", "printer-xq7kzv9w.local",
        "_ipp._tcp.local", "_ldap._tcp.dc._msdcs.qwxzkvbnmtr.com", "wpad", "nas01.lan",
        "fileserver.internal", "box.localdomain", "e13678.dscb.akamaiedge.net",
        "d3k8f9a0b1c2x7.cloudfront.net", "qwxzkvbnmtrpl.corp.example.co.jp",
        "zxqvbnmkwrtp.lan.example", "", "."};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        int f = det_dga_classify(g, never[i], true);
        if (f != -1)
            fprintf(stderr, "  judged: %s (%d)\n", never[i], f);
        CHECK(f == -1);
    }
    CHECK(det_dga_classify(g, "www.google.com", false) == 0);
    CHECK(det_dga_classify(g, "www.google.com", true) == 2);
    CHECK(det_dga_classify(g, "fshvbxglxthaptu.com", false) == 1);
    CHECK(det_dga_classify(g, "FSHVBXGLXTHAPTU.COM.", true) == 3);
    CHECK(det_dga_classify(g, "www.qgrqmvsebjknf.co.jp", false) == 1); /* the registrable label */
    CHECK(det_dga_classify(g, "qgrqmvsebjknf.google.com", false) == 0); /* a host label */
    det_dga_free(g);
    /* a bad ignore list */
    char many[164];
    for (size_t i = 0; i < 40; i++)
        memcpy(many + 4 * i, "a.b,", 4);
    many[160] = '\0';
    snprintf(conf.detect_dga_ignore, sizeof(conf.detect_dga_ignore), "%s", many);
    CHECK(det_dga_new(&conf, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "detect.dga.ignore") != NULL);
    conf.detect_dga_ignore[0] = '\0';
}

/* ---- per device ------------------------------------------------------------------- */

static void dns(struct detect *d, const char *client, const char *name, bool response,
                bool nx, uint64_t ts)
{
    char j[600];
    if (response)
        snprintf(j, sizeof(j),
                 "{\"flow_id\":7,\"event_type\":\"dns\",\"src_ip\":\"192.168.1.1\",\"src_port\":53,"
                 "\"dest_ip\":\"%s\",\"dest_port\":41000,\"proto\":\"UDP\",\"dns\":{\"type\":"
                 "\"response\",\"rcode\":\"%s\",\"queries\":[{\"rrname\":\"%s\"}]}}",
                 client, nx ? "NXDOMAIN" : "NOERROR", name);
    else
        snprintf(j, sizeof(j),
                 "{\"flow_id\":7,\"event_type\":\"dns\",\"src_ip\":\"%s\",\"src_port\":41000,"
                 "\"dest_ip\":\"192.168.1.1\",\"dest_port\":53,\"proto\":\"UDP\",\"dns\":{\"type\":"
                 "\"request\",\"rcode\":\"NOERROR\",\"queries\":[{\"rrname\":\"%s\"}]}}",
                 client, name);
    detect_event(d, j, strlen(j), ts);
}

/* A random-looking name number i (letters only, 13 characters). */
static void rname(char *out, size_t cap, int i)
{
    uint32_t x = 2166136261u ^ (uint32_t)i;
    char s[14];
    for (int k = 0; k < 13; k++) {
        x = x * 1103515245u + 12345u;
        s[k] = (char)('a' + (x >> 16) % 26);
    }
    s[13] = '\0';
    snprintf(out, cap, "%s.net", s);
}

static void test_thresholds(void)
{
    struct detect *d = mk();
    CHECK(d != NULL);
    char n[64];
    int judged_random = 0;
    for (int i = 0; i < 200 && judged_random < 9; i++) {
        rname(n, sizeof(n), i);
        if (det_dga_classify(d->dga, n, false) != 1)
            continue;
        dns(d, "192.168.1.50", n, false, false, T0 + (uint64_t)judged_random * SEC);
        dns(d, "192.168.1.50", n, false, false, T0 + (uint64_t)judged_random * SEC); /* repeat */
        judged_random++;
    }
    CHECK_EQ_U64((uint64_t)judged_random, 9);
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)ngot, 0); /* 9 distinct names: below 10 */
    int i = 500, extra = 0;
    while (extra < 6) { /* the 10th raises; 5 more add to its count */
        rname(n, sizeof(n), i++);
        if (det_dga_classify(d->dga, n, false) != 1)
            continue;
        dns(d, "192.168.1.50", n, false, false, T0 + 20 * SEC);
        extra++;
    }
    dns(d, "10.9.9.9", n, false, false, T0 + 21 * SEC); /* the same name from another device */
    dns(d, "203.0.113.9", "qwxzkvbnmtrpl.com", false, false, T0 + 21 * SEC); /* outside: no */
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)ngot, 1);
    CHECK_EQ_U64((uint64_t)count_with("\"signature_id\":2000103"), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"count\":15"), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"random_names\":10,\"nxdomain_names\":0"), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"ip\":\"192.168.1.50\""), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"direction\":\"outbound\""), 1);
    detect_free(d);

    /* NXDOMAIN: ordinary names; a request then its response count once */
    d = mk();
    for (int k = 0; k < 19; k++) {
        snprintf(n, sizeof(n), "www.shop%d.example.com", k);
        dns(d, "192.168.1.60", n, false, false, T0 + (uint64_t)k * SEC);
        dns(d, "192.168.1.60", n, true, true, T0 + (uint64_t)k * SEC);
        dns(d, "192.168.1.60", n, true, true, T0 + (uint64_t)k * SEC + 1);
    }
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)ngot, 0);
    dns(d, "192.168.1.60", "www.shop19.example.com", true, true, T0 + 30 * SEC);
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)count_with("\"random_names\":0,\"nxdomain_names\":20"), 1);
    detect_free(d);

    /* the window: 19 NXDOMAIN names, then 19 more after the window: no alert */
    d = mk();
    for (int k = 0; k < 38; k++) {
        snprintf(n, sizeof(n), "host%d.example.org", k);
        dns(d, "192.168.1.61", n, true, true,
            T0 + (uint64_t)k * SEC + (k >= 19 ? conf.detect_dga_window : 0));
    }
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)ngot, 0);
    detect_free(d);

    /* disabled */
    conf.detect_dga = false;
    d = mk();
    CHECK(d != NULL && d->dga == NULL);
    for (int k = 0; k < 30; k++) {
        snprintf(n, sizeof(n), "host%d.example.org", k);
        dns(d, "192.168.1.62", n, true, true, T0 + (uint64_t)k * SEC);
    }
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)ngot, 0);
    detect_free(d);
    conf.detect_dga = true;
}

/* ---- URL categories ---------------------------------------------------------------- */

static void write_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs(text, fp);
    fclose(fp);
}

static void test_urlcat(void)
{
    CHECK_STR(det_urlcat_name("url_category:gambling", "x"), "gambling");
    CHECK_STR(det_urlcat_name("piracy", "x"), "piracy");
    CHECK_STR(det_urlcat_name("url_category", "ut1-warez"), "ut1-warez");
    CHECK(det_urlcat_name("c2", "x") == NULL);
    CHECK(det_urlcat_name("url_category:", "x") == NULL);
    CHECK(intel_category_known("url_category:gambling"));
    CHECK(intel_category_known("url_category:adult_2"));
    CHECK(!intel_category_known("url_category:"));
    CHECK(!intel_category_known("url_category:bad name"));
    CHECK(!intel_category_known("gambling"));

    char l1[] = "/tmp/dga_test_l1_XXXXXX", l2[] = "/tmp/dga_test_l2_XXXXXX";
    char y[] = "/tmp/dga_test_y_XXXXXX", yaml[600];
    write_file(l1, "# gambling sites\ncasino.example\n");
    write_file(l2, "0.0.0.0 tube.example\n");
    snprintf(yaml, sizeof(yaml),
             "intel:\n  - {name: gamble, path: %s, format: plain, type: domain, "
             "category: \"url_category:gambling\", severity: 4}\n"
             "  - {name: adult, path: %s, format: plain, type: domain, "
             "category: \"url_category:adult\", severity: 4}\n",
             l1, l2);
    write_file(y, yaml);
    snprintf(conf.detect_intel_file, sizeof(conf.detect_intel_file), "%s", y);
    snprintf(conf.detect_urlcat_watch, sizeof(conf.detect_urlcat_watch), "Gambling, piracy");
    struct detect *d = mk();
    CHECK(d != NULL);
#define Q "{\"flow_id\":%d,\"event_type\":\"dns\",\"src_ip\":\"%s\",\"src_port\":5," \
          "\"dest_ip\":\"192.168.1.1\",\"dest_port\":53,\"proto\":\"UDP\",\"dns\":" \
          "{\"type\":\"request\",\"queries\":[{\"rrname\":\"%s\"}]}}"
    char j[400];
    const struct {
        const char *src, *name;
    } visits[] = {{"192.168.1.20", "www.casino.example"}, {"192.168.1.20", "casino.example"},
                  {"192.168.1.20", "www.casino.example"}, {"192.168.1.21", "casino.example"},
                  {"192.168.1.20", "tube.example"}};
    for (size_t i = 0; i < sizeof(visits) / sizeof(visits[0]); i++) {
        snprintf(j, sizeof(j), Q, (int)i + 1, visits[i].src, visits[i].name);
        detect_event(d, j, strlen(j), T0 + i * SEC);
    }
    detect_flush(d);
    /* per (device, category, domain): .20 www.casino ×2, .20 casino, .21 casino; adult
     * is not watched */
    CHECK_EQ_U64((uint64_t)ngot, 3);
    CHECK_EQ_U64((uint64_t)count_with("\"signature\":\"Access to a watched URL category (gambling)\""), 3);
    CHECK_EQ_U64((uint64_t)count_with("\"severity\":4"), 3);
    CHECK_EQ_U64((uint64_t)count_with("\"indicator\":\"www.casino.example\"") , 1);
    CHECK_EQ_U64((uint64_t)count_with("\"count\":2"), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"url_category\":\"gambling\""), 3);
    CHECK_EQ_U64((uint64_t)count_with("tube.example"), 0);
    CHECK_EQ_U64(d->urlcat_unwatched, 1);
    detect_free(d);
    /* an empty watch list watches every category list */
    conf.detect_urlcat_watch[0] = '\0';
    d = mk();
    snprintf(j, sizeof(j), Q, 9, "192.168.1.20", "tube.example");
    detect_event(d, j, strlen(j), T0);
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)count_with("(adult)"), 1);
    detect_free(d);
    conf.detect_intel_file[0] = '\0';
    unlink(l1);
    unlink(l2);
    unlink(y);
}

/* ---- nDPI categories ---------------------------------------------------------------- */

static void test_ndpi_categories(void)
{
    struct detect *d = mk();
    struct flow f;
    memset(&f, 0, sizeof(f));
    eve_addr_parse("192.168.1.30", &f.key.src);
    eve_addr_parse("198.51.100.7", &f.key.dst);
    f.key.sport = 40000;
    f.key.dport = 3333;
    f.key.proto = 6;
    f.ipver = 4;
    f.flow_id = 1;
    f.app_category = CUSTOM_CATEGORY_MINING;
    detect_flow_app(d, &f, T0);
    f.flow_id = 2;
    detect_flow_app(d, &f, T0 + SEC); /* the same pair: aggregated */
    f.app_category = CUSTOM_CATEGORY_MALWARE;
    f.key.dport = 443;
    detect_flow_app(d, &f, T0 + 2 * SEC);
    f.app_category = NDPI_PROTOCOL_CATEGORY_WEB;
    detect_flow_app(d, &f, T0 + 3 * SEC);
    /* local JSON-RPC that nDPI takes for Mining: internal, and loopback */
    f.app_category = CUSTOM_CATEGORY_MINING;
    eve_addr_parse("192.168.1.31", &f.key.dst);
    detect_flow_app(d, &f, T0 + 4 * SEC);
    eve_addr_parse("127.0.0.1", &f.key.src);
    eve_addr_parse("127.0.0.1", &f.key.dst);
    detect_flow_app(d, &f, T0 + 5 * SEC);
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)ngot, 2);
    CHECK_EQ_U64((uint64_t)count_with("\"signature_id\":2000602,\"signature\":\"Cryptocurrency"), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"category\":\"malware\""), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"count\":2"), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"category\":\"malicious_site\""), 1);
    CHECK_EQ_U64((uint64_t)count_with("\"ndpi_category\":\"Malware\""), 1);
    detect_free(d);
    conf.detect_ndpi_malicious = false;
    d = mk();
    f.app_category = CUSTOM_CATEGORY_MINING;
    eve_addr_parse("192.168.1.30", &f.key.src);
    eve_addr_parse("198.51.100.7", &f.key.dst);
    detect_flow_app(d, &f, T0);
    detect_flush(d);
    CHECK_EQ_U64((uint64_t)ngot, 0);
    detect_free(d);
    conf.detect_ndpi_malicious = true;
}

int main(void)
{
    log_set_level(LOG_ERROR);
    conf_defaults(sensor_conf_table, &conf);
    RUN(test_label_score);
    RUN(test_classify);
    RUN(test_thresholds);
    RUN(test_urlcat);
    RUN(test_ndpi_categories);
    return check_done();
}
