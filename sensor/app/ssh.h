/*
 * SSH version exchange (RFC 4253 4.2): the client's and the server's identification
 * lines "SSH-protoversion-softwareversion SP comments CR LF", as an EVE `ssh` event
 * {client: {proto_version, software_version}, server: {...}} (Suricata's shape).
 *
 * A TCP stream parser (applayer.h). probe(): "SSH-" at the start of either
 * direction. Per direction the parser assembles one line at a time in a fixed buffer
 * of app.ssh.max_banner bytes (a longer line is cut: anomaly); the server may send
 * other lines before its banner (RFC 4253), at most SSH_MAX_PRE_LINES, which are
 * skipped; the client's first line must be its banner. Once both banners are known
 * each side's first binary packet (RFC 4253 6, in clear) is taken as its
 * SSH_MSG_KEXINIT (7.1) when app.ssh.hassh is on: buffered whole when its
 * packet_length is at most SSH_MAX_KEXINIT, its name-lists give HASSH (client: MD5
 * of "kex;enc_c2s;mac_c2s;comp_c2s") and HASSHServer (server: "kex;enc_s2c;mac_s2c;
 * comp_s2c"), Salesforce's definitions as Suricata writes them (ssh.client.hassh /
 * ssh.server.hassh {hash, string}). Once both sides are over (KEXINIT decoded or
 * given up, or hassh off) the event is written and the rest of the stream is
 * ignored. At the flow's end (or after a gap) a banner seen only on one side is
 * still logged. Every split of the stream gives the same event.
 */
#ifndef OTASUKE_SENSOR_SSH_H
#define OTASUKE_SENSOR_SSH_H

#include "app/applayer.h"

#define SSH_MAX_BANNER    8192 /* bound of app.ssh.max_banner */
#define SSH_DEF_BANNER    255
#define SSH_MAX_PRE_LINES 32 /* server lines before its banner */
#define SSH_MAX_KEXINIT   16384 /* largest KEXINIT packet buffered (OpenSSH's: ~1.5 KiB) */

enum ssh_anomaly {
    SSH_AN_BANNER_TOO_LONG = 0, /* a line over max_banner: cut */
    SSH_AN_BAD_BANNER,          /* "SSH-" without a '-' after the protocol version */
    SSH_AN_NO_BANNER,           /* client line not "SSH-", or too many server lines */
    SSH_AN_GAP,                 /* bytes lost before the banner */
    SSH_AN_KEXINIT_TOO_LONG,    /* first packet over SSH_MAX_KEXINIT: no hassh */
    SSH_AN_BAD_KEXINIT,         /* first packet not a well-formed KEXINIT */
    SSH_AN_COUNT
};

const char *ssh_anomaly_name(int kind);

extern const struct app_parser ssh_parser;

#endif
