/*
 * otasuke-sensor: command line, configuration, privilege drop, signals, summary.
 * The packet work is in pipeline.c.
 */
#include "capture/capture.h"
#include "inventory/inventory.h"
#include "inventory/sweep.h"
#include "pipeline.h"
#include "sensor_conf.h"
#include "ship/ship.h"
#include "version.h"

#include "otasuke/alloc.h"
#include "otasuke/conf.h"
#include "otasuke/err.h"
#include "otasuke/intel.h"
#include "otasuke/log.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SETS 64

struct cli {
    const char *read_file;
    const char *iface;
    const char *out;
    const char *config;
    const char *bpf;
    const char *user;
    const char *enroll_url; /* --enroll URL CODE */
    const char *enroll_code;
    const char *sets[MAX_SETS];
    int nsets;
    bool test_config;
    bool inventory;          /* --inventory: print the saved inventory */
    const char *inv_format;  /* --format table|csv|json */
    bool quiet;
    bool verbose;
};

static struct pipeline *g_pl;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: otasuke-sensor (-r FILE | -i IFACE) [-o OUT] [-c CONFIG] [options] [BPF filter]\n"
            "\n"
            "Reads packets from a pcap/pcapng file or a live interface and writes one JSON\n"
            "event per line (EVE style: flow, anomaly, stats; see docs/events.md).\n"
            "\n"
            "  -r, --read FILE        read a pcap or pcapng file (\"-\" for stdin)\n"
            "  -i, --interface IFACE  capture live from IFACE\n"
            "  -o, --output OUT       event output: a file, \"-\" for stdout, or an existing\n"
            "                         directory (rotated files; see output.* settings)\n"
            "  -c, --config FILE      YAML configuration file\n"
            "  -f, --filter BPF       BPF capture filter (also accepted as trailing words)\n"
            "      --set NAME=VALUE   override one setting (repeatable), e.g. --set flow.memcap=1GiB\n"
            "  -u, --user USER        drop root to USER after opening the capture\n"
            "      --enroll URL CODE  exchange a one-time enrollment code (otasuke sensor add)\n"
            "                         for a device token from the center at URL, store it in\n"
            "                         ship.state_dir/token, and exit; then set ship.url=URL\n"
            "  -T, --test-config      check the configuration, print effective settings, exit\n"
            "      --inventory        print the saved device inventory (inventory.state_dir), exit\n"
            "      --format FMT       with --inventory: table (default), csv or json\n"
            "      --help-config      list every setting with its default and range\n"
            "  -q, --quiet            no progress line and no summary\n"
            "  -v, --verbose          more diagnostics (log.level=info)\n"
            "  -V, --version          print the version\n"
            "  -h, --help             this text\n");
}

/* Signals that arrive during start-up (before the pipeline exists: while the intel
 * lists load, say) are remembered and handed over once it does: a SIGHUP then must
 * not kill the sensor with the default action, nor be lost. */
static volatile sig_atomic_t g_early_hup, g_early_stop;

static void on_signal(int sig)
{
    if (g_pl == NULL) {
        if (sig == SIGHUP)
            g_early_hup = 1;
        else
            g_early_stop = 1;
    } else if (sig == SIGHUP) {
        pipeline_reload(g_pl);
    } else {
        pipeline_stop(g_pl);
    }
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* reload the intel lists */
    signal(SIGPIPE, SIG_IGN);
}

static int drop_privileges(const char *user)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        log_error("main", "unknown user \"%s\"", user);
        return ERR_INVAL;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        log_error("main", "cannot drop privileges to \"%s\": %s", user, strerror(errno));
        return ERR_IO;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        log_error("main", "privileges could be regained after dropping to \"%s\"", user);
        return ERR_IO;
    }
    prctl(PR_SET_DUMPABLE, 0);
    log_info("main", "dropped privileges user=%s uid=%u", user, (unsigned)pw->pw_uid);
    return 0;
}

static int parse_cli(int argc, char **argv, struct cli *cl, char *filter, size_t flen)
{
    enum { OPT_SET = 256, OPT_HELP_CONFIG, OPT_INVENTORY, OPT_FORMAT, OPT_ENROLL };
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'},    {"interface", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},  {"config", required_argument, NULL, 'c'},
        {"filter", required_argument, NULL, 'f'},  {"user", required_argument, NULL, 'u'},
        {"set", required_argument, NULL, OPT_SET}, {"test-config", no_argument, NULL, 'T'},
        {"help-config", no_argument, NULL, OPT_HELP_CONFIG},
        {"inventory", no_argument, NULL, OPT_INVENTORY},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"enroll", required_argument, NULL, OPT_ENROLL},
        {"quiet", no_argument, NULL, 'q'},         {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "r:i:o:c:f:u:TqvVh", opts, NULL)) != -1) {
        switch (o) {
        case 'r': cl->read_file = optarg; break;
        case 'i': cl->iface = optarg; break;
        case 'o': cl->out = optarg; break;
        case 'c': cl->config = optarg; break;
        case 'f': cl->bpf = optarg; break;
        case 'u': cl->user = optarg; break;
        case 'T': cl->test_config = true; break;
        case 'q': cl->quiet = true; break;
        case 'v': cl->verbose = true; break;
        case OPT_SET:
            if (cl->nsets == MAX_SETS) {
                fprintf(stderr, "otasuke-sensor: too many --set options\n");
                return 2;
            }
            cl->sets[cl->nsets++] = optarg;
            break;
        case OPT_INVENTORY: cl->inventory = true; break;
        case OPT_FORMAT: cl->inv_format = optarg; break;
        case OPT_ENROLL:
            if (optind >= argc) {
                fprintf(stderr, "otasuke-sensor: --enroll URL CODE\n");
                return 2;
            }
            cl->enroll_url = optarg;
            cl->enroll_code = argv[optind++];
            break;
        case OPT_HELP_CONFIG: conf_help(sensor_conf_table, stdout); exit(0);
        case 'V': printf("%s\n", sensor_version_string()); exit(0);
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    /* Trailing words form the BPF filter, as with tcpdump. */
    size_t used = 0;
    for (int i = optind; i < argc; i++) {
        int n = snprintf(filter + used, flen - used, "%s%s", used ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= flen - used) {
            fprintf(stderr, "otasuke-sensor: BPF filter too long\n");
            return 2;
        }
        used += (size_t)n;
    }
    if (used > 0)
        cl->bpf = filter;
    return 0;
}

/* Loads defaults, the file and the --set overrides, then applies the command line. */
static int load_config(const struct cli *cl, struct sensor_conf *c)
{
    char err[512];
    static const char *const inline_blocks[] = {"intel", NULL}; /* lib/intel/conf.c */
    conf_defaults(sensor_conf_table, c);
    if (cl->config != NULL &&
        conf_load_file_skip(sensor_conf_table, c, cl->config, inline_blocks, err, sizeof(err)) !=
            0) {
        fprintf(stderr, "%s\n", err);
        return ERR_INVAL;
    }
    if (cl->config != NULL) {
        if (strlen(cl->config) >= sizeof(c->config_file)) {
            fprintf(stderr, "%s: path too long\n", cl->config);
            return ERR_INVAL;
        }
        snprintf(c->config_file, sizeof(c->config_file), "%s", cl->config);
        /* the inline intel: list is checked here too, so that -T reports a bad entry */
        struct intel_conf *ic = xcalloc(MEM_CONF, 1, sizeof(*ic));
        bool found;
        if (ic == NULL) {
            fprintf(stderr, "out of memory\n");
            return ERR_INVAL;
        }
        int rc = intel_conf_load_inline(cl->config, ic, &found, err, sizeof(err));
        intel_conf_free(ic);
        xfree(ic);
        if (rc != 0) {
            fprintf(stderr, "%s\n", err);
            return ERR_INVAL;
        }
    }
    for (int i = 0; i < cl->nsets; i++) {
        char name[128];
        const char *eq = strchr(cl->sets[i], '=');
        if (eq == NULL || (size_t)(eq - cl->sets[i]) >= sizeof(name)) {
            fprintf(stderr, "--set %s: expected NAME=VALUE\n", cl->sets[i]);
            return ERR_INVAL;
        }
        memcpy(name, cl->sets[i], (size_t)(eq - cl->sets[i]));
        name[eq - cl->sets[i]] = '\0';
        if (conf_set(sensor_conf_table, c, name, eq + 1, err, sizeof(err)) != 0) {
            fprintf(stderr, "--set %s\n", err);
            return ERR_INVAL;
        }
    }
    if (cl->out != NULL) {
        struct stat st;
        if (strcmp(cl->out, "-") == 0)
            c->output_mode = OUTPUT_STDOUT;
        else if (stat(cl->out, &st) == 0 && S_ISDIR(st.st_mode))
            c->output_mode = OUTPUT_DIR;
        else
            c->output_mode = OUTPUT_FILE;
        snprintf(c->output_path, sizeof(c->output_path), "%s", cl->out);
    }
    if (cl->bpf != NULL)
        snprintf(c->bpf, sizeof(c->bpf), "%s", cl->bpf);
    if (cl->user != NULL)
        snprintf(c->user, sizeof(c->user), "%s", cl->user);
    if (cl->verbose && c->log_level < LOG_INFO)
        c->log_level = LOG_INFO;
    log_set_level((enum log_level)c->log_level);
    return 0;
}

static void print_summary(const struct pipeline *pl, const struct sensor_conf *c)
{
    struct pipeline_summary s;
    pipeline_summary(pl, &s);
    double span = s.last_ts > s.first_ts ? (double)(s.last_ts - s.first_ts) / 1e6 : 0;
    fprintf(stderr,
            "otasuke-sensor: %llu packets, %llu bytes (%.1f s of traffic) in %.2f s: %.0f pkt/s, "
            "%.3f Gbit/s\n"
            "otasuke-sensor: %llu flows, %llu events to %s, %llu events dropped, "
            "%llu malformed packets, %llu kernel drops%s\n",
            (unsigned long long)s.packets, (unsigned long long)s.bytes, span, s.wall_s,
            s.wall_s > 0 ? (double)s.packets / s.wall_s : 0.0,
            s.wall_s > 0 ? (double)s.bytes * 8.0 / s.wall_s / 1e9 : 0.0,
            (unsigned long long)s.flows,
            (unsigned long long)s.events,
            c->output_mode == OUTPUT_STDOUT ? "stdout" : c->output_path,
            (unsigned long long)s.events_dropped, (unsigned long long)s.decode_bad,
            (unsigned long long)s.kernel_drops, s.read_error ? " (capture ended with an error)" : "");
}

/* --inventory: prints the saved inventory; the exit status. */
static int print_inventory(const struct cli *cl, const struct sensor_conf *conf)
{
    const char *fmt = cl->inv_format ? cl->inv_format : "table";
    char path[CONF_STR_MAX + 32], err[512];
    if (strcmp(fmt, "table") != 0 && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
        fprintf(stderr, "otasuke-sensor: --format: expected table, csv or json\n");
        return 2;
    }
    if (conf->inv_state_dir[0] == '\0') {
        fprintf(stderr, "otasuke-sensor: --inventory: inventory.state_dir is not set\n");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/inventory.tsv", conf->inv_state_dir);
    if (inv_print_file(path, conf->inv_oui_dir, fmt, err, sizeof(err)) != 0) {
        fprintf(stderr, "otasuke-sensor: %s\n", err);
        return 1;
    }
    return 0;
}

/* inventory.sweep: set up on a live interface only, here before privileges are dropped
 * (the raw socket needs them); started after. 0, or nonzero with a message printed. */
static int open_sweep(const struct cli *cl, const struct sensor_conf *c, struct sweep **out)
{
    char err[512];
    *out = NULL;
    if (!c->inv_sweep_enabled)
        return 0;
    if (cl->read_file != NULL) {
        log_notice("inventory", "inventory.sweep.enabled is ignored when reading a capture file "
                                "(-r): the ARP sweep runs on a live interface only");
        return 0;
    }
    if (!c->inv_enabled || !c->arp_enabled) {
        fprintf(stderr, "otasuke-sensor: inventory.sweep.enabled needs inventory.enabled and "
                        "app.arp.enabled (the answers reach the inventory as ARP)\n");
        return 1;
    }
    struct sweep_conf sc;
    sweep_conf_from_sensor(c, cl->iface, &sc);
    if (strcmp(sc.iface, cl->iface) != 0)
        log_notice("inventory",
                   "arp sweep on %s, capture on %s: the answers reach the inventory only if the "
                   "capture sees that interface's traffic",
                   sc.iface, cl->iface);
    if (c->bpf[0] != '\0')
        log_notice("inventory", "arp sweep with a capture filter: it must let ARP through");
    *out = sweep_new(&sc, err, sizeof(err));
    if (*out == NULL) {
        fprintf(stderr, "otasuke-sensor: %s\n", err);
        return 1;
    }
    return 0;
}

/* --enroll URL CODE: exchanges the code for the device token; the exit status. */
static int enroll(const struct cli *cl, const struct sensor_conf *conf)
{
    char err[512];
    int64_t sid = -1;
    if (ship_enroll(cl->enroll_url, cl->enroll_code, conf->ship_state_dir, conf->ship_timeout,
                    &sid, err, sizeof(err)) != 0) {
        fprintf(stderr, "otasuke-sensor: enrollment failed: %s\n", err);
        return 1;
    }
    printf("enrolled sensor_id=%lld token=%s/token\n", (long long)sid, conf->ship_state_dir);
    return 0;
}

int main(int argc, char **argv)
{
    static struct sensor_conf conf;
    struct cli cl;
    char filter[1024], err[512];
    int rc = 1;
    struct capture *cap = NULL;
    struct sweep *sweep = NULL;

    memset(&cl, 0, sizeof(cl));
    if (parse_cli(argc, argv, &cl, filter, sizeof(filter)) != 0)
        return 2;
    if (load_config(&cl, &conf) != 0)
        return 1;
    if (cl.test_config) {
        printf("# %s: configuration OK\n", cl.config ? cl.config : "(defaults)");
        conf_print(sensor_conf_table, &conf, stdout);
        return 0;
    }
    if (cl.inventory)
        return print_inventory(&cl, &conf);
    if (cl.enroll_url != NULL)
        return enroll(&cl, &conf);
    if ((cl.read_file == NULL) == (cl.iface == NULL)) {
        fprintf(stderr, "otasuke-sensor: give exactly one of -r FILE or -i IFACE\n");
        usage(stderr);
        return 2;
    }
    if (cl.read_file != NULL) {
        cap = capture_open_file(cl.read_file, conf.bpf, err, sizeof(err));
    } else {
        struct capture_live_conf lc = {(int)conf.snaplen, conf.promisc, conf.capture_buffer, 200};
        cap = capture_open_live(cl.iface, conf.bpf, &lc, err, sizeof(err));
    }
    if (cap == NULL) {
        fprintf(stderr, "otasuke-sensor: %s\n", err);
        return 1;
    }
    install_signals();
    g_pl = pipeline_new(&conf, err, sizeof(err));
    if (g_pl == NULL) {
        fprintf(stderr, "otasuke-sensor: %s\n", err);
        goto out;
    }
    if (g_early_hup)
        pipeline_reload(g_pl);
    if (g_early_stop)
        pipeline_stop(g_pl);
    if (open_sweep(&cl, &conf, &sweep) != 0)
        goto out;
    pipeline_set_sweep(g_pl, sweep);
    if (conf.user[0] != '\0' && drop_privileges(conf.user) != 0)
        goto out;
    if (sweep != NULL && sweep_start(sweep, err, sizeof(err)) != 0) {
        fprintf(stderr, "otasuke-sensor: %s\n", err);
        goto out;
    }

    bool progress = !cl.quiet && cl.read_file != NULL && isatty(STDERR_FILENO);
    int prc = pipeline_run(g_pl, cap, progress);
    if (!cl.quiet)
        print_summary(g_pl, &conf);
    rc = prc == 0 ? 0 : 3;
out:;
    struct pipeline *pl = g_pl;
    g_pl = NULL; /* before the free: a late signal must not reach a freed pipeline */
    pipeline_free(pl);
    sweep_free(sweep);
    capture_close(cap);
    return rc;
}
