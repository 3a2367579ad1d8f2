/*
 * The sensor's settings: one struct, described once by the table in
 * sensor_conf.c, which drives defaults, the YAML file, --set, -T and --help-config.
 */
#ifndef OTASUKE_SENSOR_CONF_H
#define OTASUKE_SENSOR_CONF_H

#include "otasuke/conf.h"

#include <stdbool.h>
#include <stdint.h>

enum output_mode { OUTPUT_FILE, OUTPUT_STDOUT, OUTPUT_DIR };
enum reasm_delivery { REASM_DELIVERY_ACK, REASM_DELIVERY_ARRIVAL };

struct sensor_conf {
    /* capture */
    int64_t snaplen;
    bool promisc;
    uint64_t capture_buffer;
    int64_t capture_workers; /* 0: one per online CPU (at most PIPELINE_MAX_WORKERS) */
    char bpf[CONF_STR_MAX];
    char user[CONF_STR_MAX];
    /* output */
    int output_mode;
    char output_path[CONF_STR_MAX];
    bool output_append;
    uint64_t rotate_size;
    uint64_t rotate_interval;
    int64_t rotate_keep;
    uint64_t output_buffer;
    uint64_t max_event_size;
    uint64_t stats_interval;
    /* decoder */
    bool decode_gre;
    uint64_t defrag_memcap;
    uint64_t defrag_timeout;
    int64_t defrag_max_frags;
    int64_t defrag_max_trackers;
    int64_t anomaly_burst;
    int64_t anomaly_sample;
    int64_t anomaly_rate;
    /* flows */
    uint64_t flow_memcap;
    int64_t flow_hash_size;
    uint64_t to_tcp_new, to_tcp_est, to_tcp_closed, to_udp_new, to_udp_est, to_icmp, to_other;
    uint64_t eto_tcp_new, eto_tcp_est, eto_tcp_closed, eto_udp, eto_icmp, eto_other;
    int64_t emerg_recovery;
    bool tcp_reuse_new_flow;
    /* reassembly */
    bool reasm_enabled;
    uint64_t reasm_memcap;
    uint64_t reasm_depth;
    int64_t reasm_max_ooo_segments;
    uint64_t reasm_max_ooo_bytes;
    int reasm_delivery; /* enum reasm_delivery */
    /* application identification */
    bool appid_enabled;
    int64_t appid_max_packets_tcp;
    int64_t appid_max_packets_udp;
    uint64_t appid_memcap;
    /* application-layer parsers */
    uint64_t app_memcap;
    bool dns_enabled;
    int64_t dns_max_questions;
    int64_t dns_max_records;
    bool dhcp_enabled;
    bool dhcp_extended;
    /* http */
    bool http_enabled;
    int64_t http_max_line;
    int64_t http_max_headers;
    int64_t http_max_header_bytes;
    int64_t http_max_pending;
    int64_t http_max_files;
    bool http_decompress;
    uint64_t http_decompress_cap;
    int64_t http_decompress_ratio;
    int http_dump_all_headers;
    uint64_t http_request_body_limit; /* enum http_dump: none, request, response, both */
    int file_hashes; /* app.files.hashes: index into its choices (files_set_hashes) */
    /* smtp */
    bool smtp_enabled;
    int64_t smtp_max_line;
    int64_t smtp_max_rcpt;
    uint64_t smtp_max_message;
    int64_t smtp_mime_max_depth;
    int64_t smtp_mime_max_parts;
    bool smtp_decode_attachments;
    bool smtp_extract_urls;
    char smtp_url_schemes[CONF_STR_MAX]; /* comma-separated: "http,https" */
    bool smtp_log_url_scheme;
    /* LAN discovery and SSH parsers (mdns, llmnr, ssdp, nbns, arp, ssh) */
    bool mdns_enabled;
    int64_t mdns_max_services;
    uint64_t mdns_max_txt;
    bool llmnr_enabled;
    bool ssdp_enabled;
    int64_t ssdp_max_headers;
    uint64_t ssdp_max_line;
    bool nbns_enabled;
    bool arp_enabled;
    int64_t arp_pending;
    uint64_t arp_window;
    bool ssh_enabled;
    uint64_t ssh_max_banner;
    bool ssh_hassh; /* HASSH of the KEXINIT packets */
    /* tls */
    bool tls_enabled;
    uint64_t tls_max_handshake; /* bytes of one handshake message buffered at most */
    int64_t tls_max_certificates;
    bool tls_ja3;
    bool tls_ja4;
    bool tls_handshake; /* log tls.client_handshake */
    /* shipping to the center (sensor/ship) */
    char ship_url[CONF_STR_MAX];
    char ship_state_dir[CONF_STR_MAX];
    char ship_types[CONF_STR_MAX];
    uint64_t ship_spool_size;
    uint64_t ship_queue_size;
    int64_t ship_batch_events;
    uint64_t ship_batch_bytes;
    uint64_t ship_batch_age;
    bool ship_fsync;
    uint64_t ship_timeout;
    uint64_t ship_backoff_max;
    uint64_t ship_drain_timeout;
    /* logging */
    int log_level;
    /* per-flow event header fields and UDP tunnels (decap helper) */
    bool eve_community_id;
    int64_t eve_community_id_seed;
    bool eve_ethernet;
    bool decode_vxlan;
    int64_t vxlan_port;
    bool decode_geneve;
    int64_t geneve_port;
    bool decode_teredo;
    int64_t teredo_port;
    /* detections (sensor/detect, docs/detections.md) */
    bool detect_enabled;
    char detect_home_net[CONF_STR_MAX];
    char detect_intel_file[CONF_STR_MAX];
    /* not a setting: the configuration file loaded (-c), whose `intel:` key holds
     * inline intel lists (lib/intel/conf.c); "" when none */
    char config_file[CONF_STR_MAX];
    uint64_t detect_agg_window;
    uint64_t detect_agg_max_span;
    int64_t detect_max_pending;
    int64_t detect_flood;
    int64_t detect_max_devices;
    bool detect_scan;
    int64_t detect_scan_failures;
    int64_t detect_scan_min_inbound;
    int64_t detect_scan_min_targets;
    int64_t detect_scan_min_arp;
    uint64_t detect_scan_idle;
    int64_t detect_scan_max_sources;
    bool detect_c2_burst;
    int64_t detect_burst_min;
    uint64_t detect_burst_gap;
    uint64_t detect_burst_window;
    int64_t detect_burst_max_trackers;
    bool detect_land;
    bool detect_http_exploits;
    bool detect_files;
    char detect_policy_prohibited[CONF_STR_MAX];
    char detect_policy_allow[CONF_STR_MAX];
    uint64_t detect_policy_p2p_hold;
    int64_t detect_policy_max_p2p;
    bool detect_beacon;
    int64_t detect_beacon_min;
    int64_t detect_beacon_jitter;
    uint64_t detect_beacon_min_interval;
    uint64_t detect_beacon_max_interval;
    int64_t detect_beacon_max_trackers;
    bool detect_beacon_udp;
    int64_t detect_beacon_udp_max_bytes;
    bool detect_anomaly;
    int64_t detect_anomaly_factor;
    uint64_t detect_anomaly_bytes_floor;
    int64_t detect_anomaly_conns_floor;
    uint64_t detect_anomaly_learn;
    int64_t detect_anomaly_max_devices;
    bool detect_spam;
    int64_t detect_spam_bulk_messages;
    int64_t detect_spam_bulk_recipients;
    uint64_t detect_spam_window;
    /* DGA-like names (sensor/detect/dga.c) and URL categories (sensor/detect/urlcat.c) */
    bool detect_dga;
    uint64_t detect_dga_window;
    int64_t detect_dga_min_random;
    int64_t detect_dga_min_nxdomain;
    int64_t detect_dga_max_devices;
    char detect_dga_ignore[CONF_STR_MAX];
    char detect_urlcat_watch[CONF_STR_MAX];
    bool detect_ndpi_malicious;
    uint64_t detect_arc_buffer;
    uint64_t detect_arc_memcap;
    uint64_t detect_arc_max_bytes;
    int64_t detect_arc_max_members;
    int64_t detect_arc_max_depth;
    int64_t detect_arc_max_ratio;
    /* inbound probe statistics (sensor/detect/probes.c) */
    bool probes_enabled;
    int64_t probes_max_ports;
    int64_t probes_max_countries;
    int64_t probes_top;
    char geoip_db[CONF_STR_MAX];
    /* YARA scanning of extracted files (sensor/detect/filescan.c) */
    char yara_rules[CONF_STR_MAX];
    uint64_t yara_timeout;
    char clamav_db[CONF_STR_MAX];
    /* device inventory (sensor/inventory, docs/inventory.md) */
    bool inv_enabled;
    char inv_state_dir[CONF_STR_MAX];
    char inv_oui_dir[CONF_STR_MAX];
    int64_t inv_max_devices;
    int64_t inv_max_history;
    uint64_t inv_learning;
    uint64_t inv_quiet;
    uint64_t inv_new_delay;
    uint64_t inv_save_interval;
    bool inv_read_lines;
    /* active discovery: the ARP sweep (sensor/inventory/sweep.c) */
    bool inv_sweep_enabled;
    char inv_sweep_iface[CONF_STR_MAX];
    char inv_sweep_prefixes[CONF_STR_MAX];
    int64_t inv_sweep_rate;
    uint64_t inv_sweep_interval;
    int64_t inv_sweep_max_addresses;
};

extern const struct conf_item sensor_conf_table[];

#endif
