/*
 * SMTP parser (RFC 5321, with PIPELINING, CHUNKING/BDAT, STARTTLS and AUTH): a resumable
 * state machine over both directions of a TCP stream.
 *
 * Client commands are read line by line (each line capped) and queued (a bounded queue)
 * until the server's final reply line ("250 ", after any "250-" lines) pairs with the
 * oldest one. DATA switches the client side to the message (dot-unstuffed up to
 * "\r\n.\r\n", size-capped) and BDAT to counted chunks; the message goes through the MIME
 * walker of mime.h: its top-level headers fill the email object and its attachments and
 * non-text parts become files (files.h). A 220 reply to STARTTLS ends parsing (the rest is
 * TLS). AUTH notes the mechanism only; the lines that follow until the final reply are
 * credentials and are neither parsed nor logged.
 *
 * Events (docs/events.md): one `smtp` event per transaction (message, or an envelope
 * ended by RSET/QUIT/HELO/the flow end) with `smtp` and `email` objects in Suricata's
 * shape, and one `fileinfo` per file with the `smtp` and `email` objects beside.
 */
#ifndef OTASUKE_SENSOR_SMTP_H
#define OTASUKE_SENSOR_SMTP_H

#include "app/applayer.h"

enum smtp_anomaly {
    SMTP_AN_LINE_TOO_LONG = 0,
    SMTP_AN_TOO_MANY_RCPT,
    SMTP_AN_MESSAGE_TOO_LONG,
    SMTP_AN_MIME_TOO_DEEP,
    SMTP_AN_TOO_MANY_PARTS,
    SMTP_AN_BAD_BASE64,
    SMTP_AN_BAD_QP,
    SMTP_AN_BAD_ENCODED_WORD,
    SMTP_AN_UNKNOWN_CHARSET,
    SMTP_AN_HEADER_TOO_LONG,
    SMTP_AN_GAP,
    SMTP_AN_TOO_MANY_COMMANDS, /* pipelined commands beyond the queue: oldest dropped */
    SMTP_AN_BAD_REPLY,         /* a server line that is not "ddd", "ddd " or "ddd-" */
    SMTP_AN_COUNT
};

#define SMTP_QUEUE_MAX 64 /* pipelined commands awaiting their replies */

/* The parser's table (applayer.h). */
extern const struct app_parser smtp_parser;

/* Whether the server accepted STARTTLS (220): the rest of the stream is TLS, which
 * the dispatcher hands to the TLS parser. st is a state of smtp_parser. */
bool smtp_upgraded(const void *st);

#endif
