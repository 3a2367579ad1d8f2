/*
 * SSDP (UPnP discovery, HTTP over UDP port 1900): NOTIFY announcements, M-SEARCH
 * queries and their unicast "HTTP/1.1 200 OK" responses, as `ssdp` events.
 *
 * One datagram is one message: a start line, header lines up to an empty line (or
 * the end of the datagram), no body. Lines end with CR LF or LF. Header names are
 * matched without regard to case; the headers logged are HOST, SERVER, LOCATION, USN,
 * NT, NTS, ST, MAN, MX, CACHE-CONTROL, USER-AGENT (and X-USER-AGENT) and the UPnP 1.1
 * BOOTID / CONFIGID. Values are written as they are, borrowed from the datagram
 * during the call (nothing is copied or allocated).
 *
 * Caps: at most app.ssdp.max_headers header lines are read and each line is cut at
 * app.ssdp.max_line bytes; either limit is an anomaly. A datagram whose start line is
 * none of the three forms gives a `bad_start_line` anomaly and no event.
 */
#ifndef OTASUKE_SENSOR_SSDP_H
#define OTASUKE_SENSOR_SSDP_H

#include "app/applayer.h"

#define SSDP_PORT 1900

enum ssdp_anomaly {
    SSDP_AN_BAD_START_LINE = 0, /* not NOTIFY / M-SEARCH / HTTP status: no event */
    SSDP_AN_LINE_TOO_LONG,      /* a line over max_line: cut */
    SSDP_AN_TOO_MANY_HEADERS,   /* more header lines than max_headers: rest unread */
    SSDP_AN_BAD_HEADER,         /* a header line without ':' */
    SSDP_AN_DUP_HEADER,         /* a logged header repeated: the first is kept */
    SSDP_AN_COUNT
};

const char *ssdp_anomaly_name(int kind);

extern const struct app_parser ssdp_parser;

#endif
