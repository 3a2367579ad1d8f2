/*
 * Notifications of incidents (docs/center.md, "Notification"): rendering of the mail
 * (MIME, UTF-8, RFC 2047 subject, base64 body) and of the webhook's JSON from a queued
 * notification, and the sender: one thread with its own store connection that takes
 * due rows of the notifications table, sends them over SMTP or HTTP with libcurl,
 * and records the outcome (sent, retry with backoff, failed after max_attempts).
 *
 * Delivery is at least once: a row is marked sent only after the SMTP server or the
 * webhook accepted it, so a center killed between the two sends it again after the
 * restart; the Message-ID (and the webhook's notification_id) stay the same across
 * attempts, so receivers can drop the duplicate.
 */
#ifndef OTASUKE_CENTER_NOTIFY_H
#define OTASUKE_CENTER_NOTIFY_H

#include "store/store.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum notify_tls { NOTIFY_TLS_NONE = 0, NOTIFY_TLS_TRY, NOTIFY_TLS_REQUIRED };

struct notify_conf {
    const char *smtp_url;      /* smtp://host:port or smtps://host:port; "" disables mail */
    const char *smtp_user;     /* "" for no authentication */
    const char *smtp_password; /* read from notify.smtp_password_file */
    const char *smtp_ca;       /* CA bundle file; "" for the system's */
    enum notify_tls tls;       /* STARTTLS on smtp:// */
    const char *from;          /* "otasuke <soc@provider.example>" (ASCII) */
    const char *staff;         /* provider staff addresses, comma-separated, get every mail */
    int max_attempts;
    int64_t retry_base_us, retry_max_us, poll_us, timeout_us;
};

/* A growable text buffer with a hard cap. */
struct nbuf {
    char *p;
    size_t len, cap, max;
    int bad; /* an append failed (memory or cap): the content is incomplete */
};

/* The signatures (English, Japanese) of an incident, for the message text. */
#define NOTIFY_SIGS_MAX 8
struct notify_sigs {
    int n;
    char en[NOTIFY_SIGS_MAX][256];
    char ja[NOTIFY_SIGS_MAX][256];
};

void nbuf_free(struct nbuf *b);

/* The whole mail (headers and body, CRLF lines) of job j into out; 0 or ERR_*. */
int notify_render_mail(const struct store_notify_job *j, const struct notify_sigs *sigs,
                       const char *from, struct nbuf *out);
/* The webhook body (one JSON object) of job j into out. */
int notify_render_webhook(const struct store_notify_job *j, const struct notify_sigs *sigs,
                          struct nbuf *out);
/* RFC 2047 "B" encoding of UTF-8 text as a Subject header value, folded so that each
 * encoded word holds whole characters and each line stays within 78 characters. */
int notify_encode_subject(const char *text, struct nbuf *out);
/* The envelope address inside "Name <a@b>" (or the whole text), into out (n bytes). */
int notify_addr(const char *from, char *out, size_t n);

struct notifier;

/* Starts the sender thread on its own connection to db_path. write_mu serializes its
 * writes with the server's (may be NULL). Returns NULL with a message in err. */
struct notifier *notify_start(const struct notify_conf *conf, const char *db_path,
                              const struct store_opts *opts, pthread_mutex_t *write_mu,
                              char *err, size_t errlen);
/* Attempts since start: sent, failed and queued again (retried), and given up. */
struct notify_stats {
    uint64_t mail_sent, mail_retried, mail_failed;
    uint64_t webhook_sent, webhook_retried, webhook_failed;
};
/* A snapshot of nf's counters (all zero for NULL); safe from any thread. */
void notify_stats(const struct notifier *nf, struct notify_stats *out);
/* Wakes the sender (new rows were queued). */
void notify_kick(struct notifier *nf);
/* Stops the thread (an SMTP/HTTP transfer in progress is aborted) and frees nf. */
void notify_stop(struct notifier *nf);

#endif
