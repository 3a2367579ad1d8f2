/*
 * Tests of the SSH banner parser (sensor/app/ssh.c) through its app_parser table:
 * both banners split at every pair of offsets (same event), server lines before its
 * banner, a cut banner, a client that is not SSH, gaps, the flow's end with one
 * banner, probe(); and real captures: every banner tshark shows (ssh.protocol) and the
 * suricata-verify expectations (test.yaml) are in our events.
 */
#include "check.h"
#include "lan_check.h"

#include <netinet/in.h>

#include "app/ssh.h"
#include "otasuke/alloc.h"
#include "sensor_conf.h"

static struct cap_sink g_cap;

/* Banners followed by the start of a binary packet (length, padding, KEXINIT). */
static const char g_cli[] = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n\x00\x00\x05\xdc\x06\x14";
static const char g_srv[] = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n\x00\x00\x04\x44\x0a\x14";

#define CLI_LEN (sizeof(g_cli) - 1)
#define SRV_LEN (sizeof(g_srv) - 1)

static const char *g_want =
    "{\"event_type\":\"ssh\",\"dir\":0,\"ssh\":{\"client\":{\"proto_version\":\"2.0\","
    "\"software_version\":\"OpenSSH_8.9p1\",\"comments\":\"Ubuntu-3\"},\"server\":{"
    "\"proto_version\":\"2.0\",\"software_version\":\"OpenSSH_8.9p1\",\"comments\":"
    "\"Ubuntu-3ubuntu0.1\"}}}\n";

/* Feeds each of the chunks (exact-size heap copies) to a fresh state; then end(). */
struct chunk {
    int dir;
    const char *p;
    size_t n;
};

static void run_chunks(const struct chunk *c, size_t nc, const struct sensor_conf *conf)
{
    cap_init(&g_cap, &ssh_parser);
    void *st = ssh_parser.state_new(conf);
    if (st == NULL)
        return;
    for (size_t i = 0; i < nc; i++) {
        if (c[i].n == 0)
            continue;
        uint8_t *copy = malloc(c[i].n);
        if (copy == NULL)
            break;
        memcpy(copy, c[i].p, c[i].n);
        ssh_parser.data(st, &g_cap.s, c[i].dir, copy, c[i].n);
        free(copy);
    }
    ssh_parser.end(st, &g_cap.s);
    ssh_parser.state_free(st);
}

static void test_whole(void)
{
    struct chunk c[] = {{0, g_cli, CLI_LEN}, {1, g_srv, SRV_LEN}};
    run_chunks(c, 2, NULL);
    CHECK_STR(g_cap.out, g_want);
    struct chunk r[] = {{1, g_srv, SRV_LEN}, {0, g_cli, CLI_LEN}}; /* server first */
    run_chunks(r, 2, NULL);
    CHECK_STR(g_cap.out, g_want);
}

/* Every split of the client's bytes with every split of the server's, interleaved. */
static void test_every_split(void)
{
    for (size_t i = 0; i <= CLI_LEN; i++) {
        for (size_t j = 0; j <= SRV_LEN; j++) {
            struct chunk c[] = {{0, g_cli, i},
                                {1, g_srv, j},
                                {0, g_cli + i, CLI_LEN - i},
                                {1, g_srv + j, SRV_LEN - j}};
            run_chunks(c, 4, NULL);
            if (strcmp(g_cap.out, g_want) != 0)
                fprintf(stderr, "split %zu/%zu: %s", i, j, g_cap.out);
            CHECK_STR(g_cap.out, g_want);
        }
    }
    /* byte by byte, alternating */
    cap_init(&g_cap, &ssh_parser);
    void *st = ssh_parser.state_new(NULL);
    CHECK(st != NULL);
    for (size_t k = 0; k < CLI_LEN || k < SRV_LEN; k++) {
        if (k < CLI_LEN)
            ssh_parser.data(st, &g_cap.s, 0, (const uint8_t *)g_cli + k, 1);
        if (k < SRV_LEN)
            ssh_parser.data(st, &g_cap.s, 1, (const uint8_t *)g_srv + k, 1);
    }
    ssh_parser.end(st, &g_cap.s);
    ssh_parser.state_free(st);
    CHECK_STR(g_cap.out, g_want);
}

static void test_pre_banner_and_odd(void)
{
    /* RFC 4253: the server may send lines before its banner; LF-only endings */
    const char srv[] = "Welcome\r\nauthorised use only\nSSH-1.99-Cisco_server-1.24 \n";
    const char cli[] = "SSH-2.0-PuTTY_Release_0.78\r\n";
    struct chunk c[] = {{1, srv, sizeof(srv) - 1}, {0, cli, sizeof(cli) - 1}};
    run_chunks(c, 2, NULL);
    CHECK_STR(g_cap.out, "{\"event_type\":\"ssh\",\"dir\":0,\"ssh\":{\"client\":{\"proto_version\":"
                         "\"2.0\",\"software_version\":\"PuTTY_Release_0.78\"},\"server\":{"
                         "\"proto_version\":\"1.99\",\"software_version\":\"Cisco_server-1.24\"}}}\n");
    /* a client that is not SSH: no banner from it, the server's still logged at the end */
    const char bad[] = "GET / HTTP/1.1\r\n";
    struct chunk d[] = {{0, bad, sizeof(bad) - 1}, {1, g_srv, SRV_LEN}};
    run_chunks(d, 2, NULL);
    CHECK(strstr(g_cap.out, "anomaly:no_banner:0\n") != NULL);
    CHECK(strstr(g_cap.out, "\"ssh\":{\"server\":{\"proto_version\":\"2.0\"") != NULL);
    /* "SSH-" without the second '-' */
    const char nodash[] = "SSH-2.0_foo\r\n";
    struct chunk e[] = {{0, nodash, sizeof(nodash) - 1}};
    run_chunks(e, 1, NULL);
    CHECK_STR(g_cap.out, "anomaly:bad_banner:0\n");
}

static void test_long_banner_and_gap(void)
{
    static struct sensor_conf conf;
    conf_defaults(sensor_conf_table, &conf);
    conf.ssh_max_banner = 32;
    static char longb[600];
    size_t n = (size_t)snprintf(longb, sizeof(longb), "SSH-2.0-");
    memset(longb + n, 'v', 400);
    n += 400;
    longb[n++] = '\n';
    struct chunk c[] = {{0, longb, n}, {1, g_srv, SRV_LEN}};
    run_chunks(c, 2, &conf);
    CHECK(strstr(g_cap.out, "anomaly:banner_too_long:0\n") != NULL);
    CHECK(strstr(g_cap.out, "\"software_version\":\"vvvvvvvvvvvvvvvvvvvvvvvv\"}") != NULL);
    CHECK(strstr(g_cap.out, "\"server\":{\"proto_version\":\"2.0\",\"software_version\":"
                            "\"OpenSSH_8.9p1\",\"comments\":\"Ubuntu-3ub\"}") != NULL); /* cut at 32 */
    CHECK_EQ_U64(g_cap.events, 1);

    /* a gap before the client's banner ends: the server's alone is logged at once
     * (hassh off: nothing to wait for after the server's banner) */
    conf_defaults(sensor_conf_table, &conf);
    conf.ssh_hassh = false;
    cap_init(&g_cap, &ssh_parser);
    void *st = ssh_parser.state_new(&conf);
    CHECK(st != NULL);
    ssh_parser.data(st, &g_cap.s, 0, (const uint8_t *)"SSH-2.0-Op", 10);
    ssh_parser.gap(st, &g_cap.s, 0, 100);
    ssh_parser.data(st, &g_cap.s, 1, (const uint8_t *)g_srv, SRV_LEN);
    CHECK_EQ_U64(g_cap.events, 1);
    ssh_parser.end(st, &g_cap.s);
    ssh_parser.state_free(st);
    CHECK_EQ_U64(g_cap.events, 1);
    CHECK(strstr(g_cap.out, "anomaly:gap:0\n") != NULL);
    CHECK(strstr(g_cap.out, "\"client\"") == NULL);

    /* nothing at all: no event */
    struct chunk none[] = {{0, "", 0}};
    run_chunks(none, 1, NULL);
    CHECK_EQ_U64(g_cap.len, 0);

    /* the state's memory is refused: NULL */
    mem_set_cap(MEM_APP, 1);
    CHECK(ssh_parser.state_new(NULL) == NULL);
    mem_set_cap(MEM_APP, 0);
}

/* A banner then a whole KEXINIT binary packet (RFC 4253 6, 7.1) into out. */
static size_t kexinit_stream(char *out, size_t cap, const char *banner, uint32_t bad_len)
{
    static const char *const lists[10] = {"curve25519-sha256", "ssh-ed25519", "aes128-ctr",
                                          "aes256-ctr", "hmac-sha2-256", "hmac-sha1", "none",
                                          "none,zlib@openssh.com", "", ""};
    uint8_t pl[512];
    size_t n = 0;
    pl[n++] = 20; /* SSH_MSG_KEXINIT */
    memset(pl + n, 0xc0, 16); /* cookie */
    n += 16;
    for (int i = 0; i < 10; i++) {
        uint32_t k = (uint32_t)strlen(lists[i]);
        pl[n++] = 0;
        pl[n++] = 0;
        pl[n++] = 0;
        pl[n++] = (uint8_t)k;
        memcpy(pl + n, lists[i], k);
        n += k;
    }
    memset(pl + n, 0, 5); /* first_kex_packet_follows, reserved */
    n += 5;
    size_t b = strlen(banner);
    uint32_t len = bad_len ? bad_len : (uint32_t)(n + 1 + 4); /* padding_length, 4 padding */
    if (b + 5 + n + 4 > cap)
        return 0;
    memcpy(out, banner, b + 1); /* its NUL is overwritten below */
    out[b] = (char)(len >> 24);
    out[b + 1] = (char)(len >> 16);
    out[b + 2] = (char)(len >> 8);
    out[b + 3] = (char)len;
    out[b + 4] = 4;
    memcpy(out + b + 5, pl, n);
    memset(out + b + 5 + n, 0, 4);
    return b + 5 + n + 4;
}

/* HASSH and HASSHServer of the KEXINITs, at every split of both streams. */
static void test_hassh(void)
{
    static char cli[1024], srv[1024];
    size_t cn = kexinit_stream(cli, sizeof(cli), "SSH-2.0-OpenSSH_9.6\r\n", 0);
    size_t sn = kexinit_stream(srv, sizeof(srv), "SSH-2.0-OpenSSH_9.2\r\n", 0);
    CHECK(cn > 0 && sn > 0);
    const char *want =
        "{\"event_type\":\"ssh\",\"dir\":0,\"ssh\":{\"client\":{\"proto_version\":\"2.0\","
        "\"software_version\":\"OpenSSH_9.6\",\"hassh\":{\"hash\":"
        "\"e97d07603350d1111ec2b64bf25413c9\",\"string\":\"curve25519-sha256;aes128-ctr;"
        "hmac-sha2-256;none\"}},\"server\":{\"proto_version\":\"2.0\",\"software_version\":"
        "\"OpenSSH_9.2\",\"hassh\":{\"hash\":\"907fb672cd0c4e33100f5c9a7004c4a0\",\"string\":"
        "\"curve25519-sha256;aes256-ctr;hmac-sha1;none,zlib@openssh.com\"}}}}\n";
    unsigned bad = 0;
    for (size_t i = 0; i <= cn; i++) {
        for (size_t j = 0; j <= sn; j += (i % 7 == 0) ? 1 : 13) {
            struct chunk c[] = {
                {0, cli, i}, {1, srv, j}, {0, cli + i, cn - i}, {1, srv + j, sn - j}};
            run_chunks(c, 4, NULL);
            if (strcmp(g_cap.out, want) != 0 && bad++ < 3)
                fprintf(stderr, "split %zu/%zu: %s", i, j, g_cap.out);
        }
    }
    CHECK_EQ_U64(bad, 0);
    /* the event is written as soon as both KEXINITs are in (before end()) */
    cap_init(&g_cap, &ssh_parser);
    void *st = ssh_parser.state_new(NULL);
    CHECK(st != NULL);
    ssh_parser.data(st, &g_cap.s, 0, (const uint8_t *)cli, cn);
    ssh_parser.data(st, &g_cap.s, 1, (const uint8_t *)srv, sn);
    CHECK_EQ_U64(g_cap.events, 1);
    ssh_parser.end(st, &g_cap.s);
    ssh_parser.state_free(st);
    CHECK_STR(g_cap.out, want);
    /* a packet over SSH_MAX_KEXINIT, or under 2 bytes: no hassh, an anomaly */
    cn = kexinit_stream(cli, sizeof(cli), "SSH-2.0-a\r\n", SSH_MAX_KEXINIT + 1);
    struct chunk c1[] = {{0, cli, cn}, {1, srv, sn}};
    run_chunks(c1, 2, NULL);
    CHECK(strstr(g_cap.out, "anomaly:kexinit_too_long:0\n") != NULL);
    CHECK(strstr(g_cap.out, "\"client\":{\"proto_version\":\"2.0\",\"software_version\":\"a\"}") !=
          NULL);
    CHECK_EQ_U64(kexinit_stream(cli, sizeof(cli), "SSH-2.0-a\r\n", 1), cn); /* c1's length */
    run_chunks(c1, 2, NULL);
    CHECK(strstr(g_cap.out, "anomaly:bad_kexinit:0\n") != NULL);
    /* a packet that is not a KEXINIT (the lists run past its end) */
    CHECK_EQ_U64(kexinit_stream(cli, sizeof(cli), "SSH-2.0-a\r\n", 40), cn);
    struct chunk c2[] = {{0, cli, 11 + 5 + 39}, {1, srv, sn}}; /* the packet's 40 bytes */
    run_chunks(c2, 2, NULL);
    CHECK(strstr(g_cap.out, "anomaly:bad_kexinit:0\n") != NULL);
    CHECK_EQ_U64(g_cap.events, 1);
    /* app.ssh.hassh off: no hassh */
    static struct sensor_conf conf;
    conf_defaults(sensor_conf_table, &conf);
    conf.ssh_hassh = false;
    cn = kexinit_stream(cli, sizeof(cli), "SSH-2.0-OpenSSH_9.6\r\n", 0);
    struct chunk c3[] = {{0, cli, cn}, {1, srv, sn}};
    run_chunks(c3, 2, &conf);
    CHECK(strstr(g_cap.out, "hassh") == NULL);
    CHECK_EQ_U64(g_cap.events, 1);
}

static void test_probe(void)
{
    CHECK(ssh_parser.probe((const uint8_t *)"SSH-2.0-x", 9, 0, 5000, 22) == APP_PROBE_YES);
    CHECK(ssh_parser.probe((const uint8_t *)"SS", 2, 1, 5000, 22) == APP_PROBE_MORE);
    CHECK(ssh_parser.probe((const uint8_t *)"GET ", 4, 0, 5000, 22) == APP_PROBE_NO);
    CHECK(ssh_parser.probe((const uint8_t *)"SSX", 3, 0, 5000, 22) == APP_PROBE_NO);
}

/* --- corpus ---------------------------------------------------------------------- */

#define MAX_FLOWS 64

/* A tiny in-order stream follower for clean captures: per flow and direction the next
 * sequence number; retransmissions are dropped, holes are given to gap(). */
struct tflow {
    uint8_t a[16], b[16];
    uint16_t pa, pb; /* pa: the client's port (the SYN's or the first packet's sender) */
    uint32_t next[2];
    bool started[2];
    void *st;
};

struct tctx {
    struct tflow f[MAX_FLOWS];
    unsigned n;
};

static struct tflow *tflow_of(struct tctx *t, const struct pkt *p, int *dir)
{
    for (unsigned i = 0; i < t->n; i++) {
        struct tflow *f = &t->f[i];
        if (!memcmp(f->a, p->src.b, 16) && !memcmp(f->b, p->dst.b, 16) && f->pa == p->sport &&
            f->pb == p->dport) {
            *dir = 0;
            return f;
        }
        if (!memcmp(f->b, p->src.b, 16) && !memcmp(f->a, p->dst.b, 16) && f->pb == p->sport &&
            f->pa == p->dport) {
            *dir = 1;
            return f;
        }
    }
    if (t->n == MAX_FLOWS)
        return NULL;
    struct tflow *f = &t->f[t->n++];
    memset(f, 0, sizeof(*f));
    /* the client: the SYN's sender, else the side not on port 22 */
    bool src_client = (p->tcp_flags & TH_SYN) ? !(p->tcp_flags & TH_ACK) : p->dport == 22;
    const struct addr *c = src_client ? &p->src : &p->dst, *s = src_client ? &p->dst : &p->src;
    memcpy(f->a, c->b, 16);
    memcpy(f->b, s->b, 16);
    f->pa = src_client ? p->sport : p->dport;
    f->pb = src_client ? p->dport : p->sport;
    f->st = ssh_parser.state_new(NULL);
    *dir = src_client ? 0 : 1;
    return f;
}

static void ssh_pkt(const struct pkt *p, int rc, unsigned frame, void *ud)
{
    struct tctx *t = ud;
    (void)frame;
    int dir;
    if (rc != DECODE_OK || p->proto != IPPROTO_TCP)
        return;
    struct tflow *f = tflow_of(t, p, &dir);
    if (f == NULL || f->st == NULL)
        return;
    uint32_t seq = p->tcp_seq + ((p->tcp_flags & TH_SYN) ? 1u : 0u);
    if (!f->started[dir]) {
        f->started[dir] = true;
        f->next[dir] = seq;
    }
    if (p->payload_len == 0)
        return;
    int32_t d = (int32_t)(seq - f->next[dir]);
    if (d < 0)
        return; /* retransmission */
    if (d > 0)
        ssh_parser.gap(f->st, &g_cap.s, dir, (uint64_t)d);
    ssh_parser.data(f->st, &g_cap.s, dir, p->payload, p->payload_len);
    f->next[dir] = seq + p->payload_len;
}

/* Our events for every SSH flow of path, in g_cap.out. */
static bool run_file(const char *path)
{
    static struct tctx t;
    memset(&t, 0, sizeof(t));
    cap_init(&g_cap, &ssh_parser);
    int n = lan_each_pcap(path, ssh_pkt, &t);
    for (unsigned i = 0; i < t.n; i++) {
        if (t.f[i].st != NULL) {
            ssh_parser.end(t.f[i].st, &g_cap.s);
            ssh_parser.state_free(t.f[i].st);
        }
    }
    return n > 0 && !g_cap.overflow;
}

/* "SSH-2.0-OpenSSH_5.8p1 Debian-1ubuntu3" as it appears in our event. */
static void banner_needle(const char *b, char *needle, size_t n)
{
    const char *proto = b + 4;
    const char *dash = strchr(proto, '-');
    if (strncmp(b, "SSH-", 4) != 0 || dash == NULL) {
        snprintf(needle, n, "(not a banner: %s)", b);
        return;
    }
    const char *sw = dash + 1;
    size_t swl = strcspn(sw, " ");
    const char *cm = sw[swl] == ' ' ? sw + swl + 1 : "";
    size_t cml = strlen(cm);
    while (cml > 0 && (cm[cml - 1] == '\r' || cm[cml - 1] == ' '))
        cml--;
    int k = snprintf(needle, n, "{\"proto_version\":\"%.*s\",\"software_version\":\"%.*s\"",
                     (int)(dash - proto), proto, (int)swl, sw);
    if (cml > 0)
        snprintf(needle + k, n - (size_t)k, ",\"comments\":\"%.*s\"", (int)cml, cm);
}

/* Whether out has the banner needle, ending its side's object or followed by hassh. */
static bool has_banner(const char *out, const char *needle)
{
    size_t k = strlen(needle);
    for (const char *p = strstr(out, needle); p != NULL; p = strstr(p + 1, needle))
        if (p[k] == '}' || strncmp(p + k, ",\"hassh\":", 9) == 0)
            return true;
    return false;
}

static const char *const g_files[] = {
    "zeek/ssh/ssh.pcap",
    "zeek/ssh/single-conn.pcap",
    "zeek/ssh/reverse-ssh.pcap",
    "zeek/ssh/server-pre-banner-data.pcap",
    "zeek/ssh/ssh1-ssh2-fingerprints.pcap",
    "zeek/ssh/ssh_kex_curve25519.pcap",
    "zeek/ssh/ssh_kex_dh_group18.pcap",
    "zeek/ssh/sshguess.pcap",
    "zeek/ssh/ssh.client-side-half-duplex.pcap",
    "zeek/ssh/ssh.server-side-half-duplex.pcap",
    "ndpi/ssh_unidirectional.pcap",
    "other/corelight/bro-shellshock/exploit.pcap",
    "suricata-verify/ssh-hassh/input.pcap",
    "suricata-verify/ssh-newkeys/input.pcap",
    "suricata-verify/bug-4903/bug-4903-01/input.pcap",
    "suricata-verify/bug-5633-gre-02/gre-sample.pcap",
    "suricata-verify/bypass-ssh-enabled/input.pcap",
};

static void test_corpus_tshark(void)
{
    if (check_corpus_pcap_dir() == NULL)
        SKIP("corpus not found");
    unsigned items = 0, found = 0, files = 0;
    for (size_t i = 0; i < sizeof(g_files) / sizeof(g_files[0]); i++) {
        char path[1024], cmd[1400];
        if (lan_corpus(g_files[i], path, sizeof(path)) == NULL)
            continue;
        CHECK(run_file(path));
        snprintf(cmd, sizeof(cmd),
                 "tshark -n -r '%s' -Y ssh.protocol -T fields -e ssh.protocol 2>/dev/null", path);
        FILE *pf = popen(cmd, "r");
        if (pf == NULL)
            continue;
        char line[1024];
        unsigned fi = 0, ff = 0;
        while (fgets(line, sizeof(line), pf) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            char needle[1200];
            banner_needle(line, needle, sizeof(needle));
            fi++;
            if (has_banner(g_cap.out, needle))
                ff++;
            else
                fprintf(stderr, "  %s: missing %s\n", g_files[i], needle);
        }
        pclose(pf);
        if (fi == 0)
            continue;
        files++;
        fprintf(stderr, "ssh %s: %u/%u banners agree with tshark\n", g_files[i], ff, fi);
        items += fi;
        found += ff;
    }
    if (files == 0)
        SKIP("tshark or the corpus files are absent");
    fprintf(stderr, "ssh corpus: %u files, %u/%u banners agree with tshark\n", files, found, items);
    CHECK(items >= 20);
    CHECK_EQ_U64(found, items);
}

/* suricata-verify test.yaml expectations (ssh.client / ssh.server). */
static const struct {
    const char *file;
    const char *expect;
} g_sv[] = {
    {"suricata-verify/bug-5633-gre-02/gre-sample.pcap",
     "\"ssh\":{\"client\":{\"proto_version\":\"2.0\",\"software_version\":\"OpenSSH_3.6.1p1\","},
    {"suricata-verify/bug-5633-gre-02/gre-sample.pcap",
     "\"server\":{\"proto_version\":\"1.99\",\"software_version\":\"OpenSSH_3.1p1\","},
    {"suricata-verify/bug-4903/bug-4903-01/input.pcap",
     "\"server\":{\"proto_version\":\"1.99\",\"software_version\":\"Cisco_server-1.24\"}"},
    {"suricata-verify/bug-4903/bug-4903-02/input.pcap",
     "\"server\":{\"proto_version\":\"1.99\",\"software_version\":\"Cisco_server-1.24\"}"},
    {"suricata-verify/ssh-hassh/input.pcap", "\"hassh\":{\"hash\":\"2dd6531c7e89d3c925db9214711be76a\""},
    {"suricata-verify/ssh-hassh/input.pcap", "\"hassh\":{\"hash\":\"6832f1ce43d4397c2c0a3e2f8c94334e\""},
    {"suricata-verify/ssh-hassh-only/input.pcap",
     "\"hassh\":{\"hash\":\"2dd6531c7e89d3c925db9214711be76a\""},
};

static void test_corpus_suricata_verify(void)
{
    if (check_corpus_pcap_dir() == NULL)
        SKIP("corpus not found");
    unsigned n = 0;
    for (size_t i = 0; i < sizeof(g_sv) / sizeof(g_sv[0]); i++) {
        char path[1024];
        if (lan_corpus(g_sv[i].file, path, sizeof(path)) == NULL)
            continue;
        CHECK(run_file(path));
        if (strstr(g_cap.out, g_sv[i].expect) == NULL)
            fprintf(stderr, "%s: got %s\n", g_sv[i].file, g_cap.out);
        CHECK(strstr(g_cap.out, g_sv[i].expect) != NULL);
        n++;
    }
    if (n == 0)
        SKIP("suricata-verify captures absent");
    fprintf(stderr, "ssh suricata-verify: %u/%u expectations met\n", n, n);
}

int main(void)
{
    RUN(test_whole);
    RUN(test_every_split);
    RUN(test_pre_banner_and_odd);
    RUN(test_long_banner_and_gap);
    RUN(test_hassh);
    RUN(test_probe);
    RUN(test_corpus_tshark);
    RUN(test_corpus_suricata_verify);
    cap_free(&g_cap);
    return check_done();
}
