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
 * the event is written and the rest of the stream is ignored (the binary packet
 * protocol follows). At the flow's end (or after a gap) a banner seen only on one
 * side is still logged. Every split of the stream gives the same event.
 */
#ifndef OTASUKE_SENSOR_SSH_H
#define OTASUKE_SENSOR_SSH_H

#include "app/applayer.h"

#define SSH_MAX_BANNER    8192 /* bound of app.ssh.max_banner */
#define SSH_DEF_BANNER    255
#define SSH_MAX_PRE_LINES 32 /* server lines before its banner */

enum ssh_anomaly {
    SSH_AN_BANNER_TOO_LONG = 0, /* a line over max_banner: cut */
    SSH_AN_BAD_BANNER,          /* "SSH-" without a '-' after the protocol version */
    SSH_AN_NO_BANNER,           /* client line not "SSH-", or too many server lines */
    SSH_AN_GAP,                 /* bytes lost before the banner */
    SSH_AN_COUNT
};

const char *ssh_anomaly_name(int kind);

extern const struct app_parser ssh_parser;

#endif
