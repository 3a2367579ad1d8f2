/*
 * The sensor's configuration table. Each row is one setting: its dotted name (the
 * YAML path), type, default, bounds, place in struct sensor_conf and help text.
 * docs/configuration.md is generated from this table (--help-config).
 */
#include "sensor_conf.h"

#include <stddef.h>

#define OFF(f) offsetof(struct sensor_conf, f)
#define KiB    1024LL
#define MiB    (1024LL * KiB)
#define GiB    (1024LL * MiB)
#define SEC    1000000LL

static const char *const output_modes[] = {"file", "stdout", "dir", NULL};
static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

const struct conf_item sensor_conf_table[] = {
    {"capture.snaplen", CONF_INT, "65535", 64, 262144, OFF(snaplen),
     "bytes captured per packet on a live interface", NULL},
    {"capture.promisc", CONF_BOOL, "yes", 0, 0, OFF(promisc),
     "put a live interface in promiscuous mode", NULL},
    {"capture.buffer_size", CONF_SIZE, "32 MiB", 1 * MiB, 2 * GiB, OFF(capture_buffer),
     "kernel capture buffer of a live interface", NULL},
    {"capture.bpf", CONF_STRING, "", 0, 0, OFF(bpf),
     "BPF filter applied to the capture (the command line's filter wins)", NULL},
    {"capture.user", CONF_STRING, "", 0, 0, OFF(user),
     "drop root to this user after opening the capture (--user)", NULL},

    {"output.mode", CONF_ENUM, "file", 0, 0, OFF(output_mode),
     "where events go: a file, stdout, or a directory with rotation", output_modes},
    {"output.path", CONF_STRING, "eve.json", 0, 0, OFF(output_path),
     "the event file, or the directory in dir mode (-o overrides)", NULL},
    {"output.append", CONF_BOOL, "no", 0, 0, OFF(output_append),
     "append to an existing event file instead of truncating it", NULL},
    {"output.rotate_size", CONF_SIZE, "0", 0, 1024 * GiB, OFF(rotate_size),
     "dir mode: rotate eve.json when it reaches this size (0 = never)", NULL},
    {"output.rotate_interval", CONF_DURATION, "0", 0, 366LL * 86400 * SEC, OFF(rotate_interval),
     "dir mode: rotate after this much event time (0 = never)", NULL},
    {"output.rotate_keep", CONF_INT, "24", 1, 100000, OFF(rotate_keep),
     "dir mode: rotated files kept; the oldest are deleted", NULL},
    {"output.buffer_size", CONF_SIZE, "256 KiB", 4 * KiB, 64 * MiB, OFF(output_buffer),
     "write buffer of the event output", NULL},
    {"output.max_event_size", CONF_SIZE, "64 KiB", 1 * KiB, 16 * MiB, OFF(max_event_size),
     "largest event line; larger events are dropped and counted", NULL},
    {"output.stats_interval", CONF_DURATION, "60s", 0, 86400 * SEC, OFF(stats_interval),
     "period of stats events, in packet time (0 = only the final one)", NULL},

    {"decoder.gre", CONF_BOOL, "yes", 0, 0, OFF(decode_gre),
     "decode GRE tunnels and track the inner packets' flows", NULL},
    {"decoder.anomaly_burst", CONF_INT, "10", 0, 1000000, OFF(anomaly_burst),
     "anomaly events written for each kind before sampling starts", NULL},
    {"decoder.anomaly_sample", CONF_INT, "100", 1, 1000000000, OFF(anomaly_sample),
     "after the burst, one anomaly event per this many of a kind", NULL},
    {"decoder.anomaly_rate", CONF_INT, "50", 1, 1000000, OFF(anomaly_rate),
     "anomaly events per second of packet time at most, over all kinds", NULL},
    {"defrag.memcap", CONF_SIZE, "32 MiB", 64 * KiB, 64 * GiB, OFF(defrag_memcap),
     "memory for IP fragments awaiting reassembly", NULL},
    {"defrag.timeout", CONF_DURATION, "60s", 1 * SEC, 3600 * SEC, OFF(defrag_timeout),
     "a datagram whose fragments do not complete within this time is dropped", NULL},
    {"defrag.max_frags", CONF_INT, "64", 2, 8192, OFF(defrag_max_frags),
     "fragments per datagram at most", NULL},
    {"defrag.max_trackers", CONF_INT, "4096", 1, 1000000, OFF(defrag_max_trackers),
     "datagrams in reassembly at once at most", NULL},

    {"flow.memcap", CONF_SIZE, "128 MiB", 1 * MiB, 256 * GiB, OFF(flow_memcap),
     "memory for the flow table; when full, the oldest idle flows are evicted", NULL},
    {"flow.hash_size", CONF_INT, "65536", 1024, 1 << 28, OFF(flow_hash_size),
     "buckets of the flow hash table", NULL},
    {"flow.timeout.tcp_new", CONF_DURATION, "60s", 1 * SEC, 30LL * 86400 * SEC, OFF(to_tcp_new),
     "idle timeout of a TCP flow whose handshake did not complete", NULL},
    {"flow.timeout.tcp_established", CONF_DURATION, "1h", 1 * SEC, 30LL * 86400 * SEC,
     OFF(to_tcp_est), "idle timeout of an established TCP flow", NULL},
    {"flow.timeout.tcp_closed", CONF_DURATION, "60s", 0, 30LL * 86400 * SEC, OFF(to_tcp_closed),
     "time a closed (FIN/RST) TCP flow is kept", NULL},
    {"flow.timeout.udp_new", CONF_DURATION, "30s", 1 * SEC, 30LL * 86400 * SEC, OFF(to_udp_new),
     "idle timeout of a one-way UDP flow", NULL},
    {"flow.timeout.udp_established", CONF_DURATION, "5m", 1 * SEC, 30LL * 86400 * SEC,
     OFF(to_udp_est), "idle timeout of a UDP flow seen in both directions", NULL},
    {"flow.timeout.icmp", CONF_DURATION, "30s", 1 * SEC, 30LL * 86400 * SEC, OFF(to_icmp),
     "idle timeout of an ICMP flow", NULL},
    {"flow.timeout.other", CONF_DURATION, "30s", 1 * SEC, 30LL * 86400 * SEC, OFF(to_other),
     "idle timeout of other IP protocols", NULL},
    {"flow.emergency.tcp_new", CONF_DURATION, "5s", 0, 86400 * SEC, OFF(eto_tcp_new),
     "emergency-mode timeout of a new TCP flow", NULL},
    {"flow.emergency.tcp_established", CONF_DURATION, "5m", 0, 86400 * SEC, OFF(eto_tcp_est),
     "emergency-mode timeout of an established TCP flow", NULL},
    {"flow.emergency.tcp_closed", CONF_DURATION, "0", 0, 86400 * SEC, OFF(eto_tcp_closed),
     "emergency-mode timeout of a closed TCP flow", NULL},
    {"flow.emergency.udp", CONF_DURATION, "5s", 0, 86400 * SEC, OFF(eto_udp),
     "emergency-mode timeout of a UDP flow", NULL},
    {"flow.emergency.icmp", CONF_DURATION, "5s", 0, 86400 * SEC, OFF(eto_icmp),
     "emergency-mode timeout of an ICMP flow", NULL},
    {"flow.emergency.other", CONF_DURATION, "5s", 0, 86400 * SEC, OFF(eto_other),
     "emergency-mode timeout of other flows", NULL},
    {"flow.emergency.recovery", CONF_INT, "70", 1, 99, OFF(emerg_recovery),
     "leave emergency mode when flow memory falls below this percent of the memcap", NULL},
    {"flow.tcp_reuse_new_flow", CONF_BOOL, "yes", 0, 0, OFF(tcp_reuse_new_flow),
     "a SYN on a closed TCP flow ends it and starts a new flow (port reuse)", NULL},

    {"reassembly.enabled", CONF_BOOL, "yes", 0, 0, OFF(reasm_enabled),
     "reassemble TCP streams for the application parsers", NULL},
    {"reassembly.memcap", CONF_SIZE, "64 MiB", 64 * KiB, 64 * GiB, OFF(reasm_memcap),
     "memory for out-of-order TCP data over all flows", NULL},
    {"reassembly.depth", CONF_SIZE, "1 MiB", 0, 4 * GiB, OFF(reasm_depth),
     "bytes reassembled per direction of a flow (0 = unlimited)", NULL},
    {"reassembly.max_ooo_segments", CONF_INT, "64", 0, 65535, OFF(reasm_max_ooo_segments),
     "out-of-order segments buffered per direction", NULL},
    {"reassembly.max_ooo_bytes", CONF_SIZE, "256 KiB", 0, 64 * MiB, OFF(reasm_max_ooo_bytes),
     "out-of-order bytes buffered per direction", NULL},

    {"appid.enabled", CONF_BOOL, "yes", 0, 0, OFF(appid_enabled),
     "identify applications with nDPI", NULL},
    {"appid.max_packets_tcp", CONF_INT, "80", 1, 100000, OFF(appid_max_packets_tcp),
     "packets of a TCP flow given to nDPI at most before it gives up (ndpiReader: 80)", NULL},
    {"appid.max_packets_udp", CONF_INT, "24", 1, 100000, OFF(appid_max_packets_udp),
     "packets of a UDP flow given to nDPI at most before it gives up (ndpiReader: 24)", NULL},
    {"appid.memcap", CONF_SIZE, "128 MiB", 1 * MiB, 64 * GiB, OFF(appid_memcap),
     "memory for nDPI's per-flow state (on top of its module); flows beyond are not identified",
     NULL},

    {"app.dns.enabled", CONF_BOOL, "yes", 0, 0, OFF(dns_enabled),
     "parse DNS over UDP port 53 and write dns events (DNS over TCP: not yet)", NULL},
    {"app.dhcp.enabled", CONF_BOOL, "yes", 0, 0, OFF(dhcp_enabled),
     "parse DHCPv4 (UDP 67/68) and write dhcp events", NULL},
    {"app.dhcp.extended", CONF_BOOL, "yes", 0, 0, OFF(dhcp_extended),
     "log every DHCP message with all options (no: only ACKs, Suricata's default)", NULL},
    /* smtp */
    {"app.smtp.enabled", CONF_BOOL, "yes", 0, 0, OFF(smtp_enabled),
     "parse SMTP (commands, replies, the DATA message and its MIME parts) and write smtp, "
     "fileinfo events", NULL},
    {"app.smtp.max_line", CONF_INT, "4096", 256, 1048576, OFF(smtp_max_line),
     "bytes of an SMTP command, reply or message line kept (longer: line_too_long)", NULL},
    {"app.smtp.max_rcpt", CONF_INT, "64", 1, 10000, OFF(smtp_max_rcpt),
     "RCPT TO addresses logged per message (more: too_many_rcpt)", NULL},
    {"app.smtp.max_message_size", CONF_SIZE, "32 MiB", 1 * KiB, 4 * GiB, OFF(smtp_max_message),
     "bytes of a DATA/BDAT message parsed (more: message_too_long, files truncated)", NULL},
    {"app.smtp.mime_max_depth", CONF_INT, "8", 1, 16, OFF(smtp_mime_max_depth),
     "nesting of multipart entities followed (deeper: mime_too_deep, content skipped)", NULL},
    {"app.smtp.mime_max_parts", CONF_INT, "100", 1, 100000, OFF(smtp_mime_max_parts),
     "leaf MIME parts handled per message (more: too_many_parts, content skipped)", NULL},
    {"app.smtp.decode_attachments", CONF_BOOL, "yes", 0, 0, OFF(smtp_decode_attachments),
     "decode attachments and non-text parts into files (hashes, type, fileinfo events)", NULL},

    {"log.level", CONF_ENUM, "notice", 0, 0, OFF(log_level),
     "diagnostics written to stderr at or above this level", log_levels},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};
