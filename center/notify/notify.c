/*
 * The notification sender (notify.h): one thread, its own store connection. Each
 * round takes up to SENDER_BATCH due rows of the queue, renders them (mail.c), sends
 * each with libcurl (SMTP for mail, HTTP POST for webhooks) and records the outcome:
 * sent; or queued again at now + min(retry_base * 2^(attempts-1), retry_max); or
 * failed once max_attempts were made. It sleeps until the next poll or a kick from
 * the ingest path. Nothing is held in memory across rounds: the table is the queue,
 * so a restart resumes where the last recorded outcome left it.
 */
#include "notify/notify.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SENDER_BATCH 8
#define RCPT_MAX 64

struct job {
    int64_t id;
    int attempts;
    int mail; /* else webhook */
    char target[512];
    char contacts[1024];
    struct nbuf msg;
    int render_rc;
};

struct notifier {
    struct notify_conf conf;
    struct store *st;
    pthread_mutex_t *write_mu;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, kicked, started;
    struct job jobs[SENDER_BATCH];
    int n_jobs;
    uint64_t count[2][3]; /* [mail, webhook][sent, retry, failed], for /metrics */
};

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int sig_cb(void *arg, const char *en, const char *ja)
{
    struct notify_sigs *s = arg;
    if (s->n >= NOTIFY_SIGS_MAX)
        return 1;
    snprintf(s->en[s->n], sizeof(s->en[0]), "%s", en ? en : "");
    snprintf(s->ja[s->n], sizeof(s->ja[0]), "%s", ja ? ja : "");
    s->n++;
    return 0;
}

/* Renders one due row into the next job slot (the row's strings die after this). */
static int take_job(void *arg, const struct store_notify_job *j)
{
    struct notifier *nf = arg;
    struct job *jb = &nf->jobs[nf->n_jobs++];
    memset(jb, 0, sizeof(*jb));
    jb->id = j->n.id;
    jb->attempts = j->n.attempts;
    jb->mail = strcmp(j->n.channel, "mail") == 0;
    snprintf(jb->target, sizeof(jb->target), "%s", j->n.target);
    snprintf(jb->contacts, sizeof(jb->contacts), "%s", j->contacts ? j->contacts : "");
    struct notify_sigs *sigs = xcalloc(MEM_CORE, 1, sizeof(*sigs));
    if (sigs == NULL) {
        jb->render_rc = ERR_NOMEM;
    } else {
        (void)store_incident_signatures(nf->st, j->inc.id, NOTIFY_SIGS_MAX, sig_cb, sigs);
        jb->render_rc = jb->mail ? notify_render_mail(j, sigs, nf->conf.from, &jb->msg)
                                 : notify_render_webhook(j, sigs, &jb->msg);
    }
    xfree(sigs);
    return nf->n_jobs == SENDER_BATCH;
}

struct reader {
    const char *p;
    size_t left;
};

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
    struct reader *r = arg;
    size_t want = size * n < r->left ? size * n : r->left;
    memcpy(buf, r->p, want);
    r->p += want;
    r->left -= want;
    return want;
}

static size_t discard_cb(char *buf, size_t size, size_t n, void *arg)
{
    (void)buf;
    (void)arg;
    return size * n;
}

static int progress_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct notifier *nf = arg;
    (void)a, (void)b, (void)c, (void)d;
    pthread_mutex_lock(&nf->mu);
    int stop = nf->stop;
    pthread_mutex_unlock(&nf->mu);
    return stop; /* nonzero aborts the transfer */
}

/* Adds each address of a comma-separated list to *l. */
static int add_rcpts(struct curl_slist **l, const char *list, int *n)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char addr[256];
        if (notify_addr(t, addr, sizeof(addr)) != 0 || *n >= RCPT_MAX)
            continue;
        struct curl_slist *nl = curl_slist_append(*l, addr);
        if (nl == NULL)
            return ERR_NOMEM;
        *l = nl;
        (*n)++;
    }
    return 0;
}

static void common_opts(struct notifier *nf, CURL *c, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(nf->conf.timeout_us / 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(nf->conf.timeout_us / 1000));
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, nf);
    if (nf->conf.smtp_ca[0] != '\0')
        curl_easy_setopt(c, CURLOPT_CAINFO, nf->conf.smtp_ca);
}

/* Sends a mail; 0, or an error text in err. */
static int send_mail(struct notifier *nf, struct job *jb, char *err, size_t errlen)
{
    struct curl_slist *rcpt = NULL;
    int n = 0;
    if (add_rcpts(&rcpt, jb->contacts, &n) != 0 || add_rcpts(&rcpt, nf->conf.staff, &n) != 0) {
        curl_slist_free_all(rcpt);
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    if (n == 0) {
        snprintf(err, errlen, "no recipients (tenant contacts and notify.staff are empty)");
        return ERR_NOTFOUND;
    }
    char from[256], errbuf[CURL_ERROR_SIZE] = "";
    if (notify_addr(nf->conf.from, from, sizeof(from)) != 0)
        snprintf(from, sizeof(from), "otasuke@otasuke.invalid");
    CURL *c = curl_easy_init();
    if (c == NULL) {
        curl_slist_free_all(rcpt);
        snprintf(err, errlen, "curl_easy_init failed");
        return ERR_NOMEM;
    }
    struct reader rd = {jb->msg.p, jb->msg.len};
    common_opts(nf, c, errbuf);
    curl_easy_setopt(c, CURLOPT_URL, nf->conf.smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &rd);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)jb->msg.len);
    curl_easy_setopt(c, CURLOPT_USE_SSL, nf->conf.tls == NOTIFY_TLS_REQUIRED ? (long)CURLUSESSL_ALL
                                         : nf->conf.tls == NOTIFY_TLS_TRY  ? (long)CURLUSESSL_TRY
                                                                           : (long)CURLUSESSL_NONE);
    if (nf->conf.smtp_user[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_USERNAME, nf->conf.smtp_user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, nf->conf.smtp_password);
    }
    CURLcode cr = curl_easy_perform(c);
    if (cr != CURLE_OK)
        snprintf(err, errlen, "smtp: %s", errbuf[0] ? errbuf : curl_easy_strerror(cr));
    curl_easy_cleanup(c);
    curl_slist_free_all(rcpt);
    return cr == CURLE_OK ? 0 : ERR_IO;
}

static int send_webhook(struct notifier *nf, struct job *jb, char *err, size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (c == NULL || h == NULL) {
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    common_opts(nf, c, errbuf);
    curl_easy_setopt(c, CURLOPT_URL, jb->target);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "otasuke-center/" OTASUKE_VERSION);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, jb->msg.p);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)jb->msg.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (cr != CURLE_OK) {
        snprintf(err, errlen, "webhook: %s", errbuf[0] ? errbuf : curl_easy_strerror(cr));
        rc = ERR_IO;
    } else if (status < 200 || status > 299) {
        snprintf(err, errlen, "webhook: HTTP status %ld", status);
        rc = ERR_IO;
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return rc;
}

static int64_t backoff(const struct notify_conf *c, int attempts)
{
    int64_t d = c->retry_base_us;
    for (int i = 1; i < attempts && d < c->retry_max_us; i++)
        d *= 2;
    return d < c->retry_max_us ? d : c->retry_max_us;
}

static void record(struct notifier *nf, struct job *jb, int rc, const char *err)
{
    int64_t now = now_us();
    int attempts = jb->attempts + 1;
    const char *state = "sent";
    int64_t next = now;
    if (rc != 0) {
        int permanent = rc == ERR_NOTFOUND || jb->render_rc != 0;
        state = permanent || attempts >= nf->conf.max_attempts ? "failed" : "queued";
        next = now + backoff(&nf->conf, attempts);
    }
    if (nf->write_mu)
        pthread_mutex_lock(nf->write_mu);
    int wrc = store_notify_result(nf->st, jb->id, state, rc ? err : NULL, next, now);
    if (nf->write_mu)
        pthread_mutex_unlock(nf->write_mu);
    int outcome = rc == 0 ? 0 : strcmp(state, "queued") == 0 ? 1 : 2;
    __atomic_fetch_add(&nf->count[jb->mail ? 0 : 1][outcome], 1, __ATOMIC_RELAXED);
    if (wrc != 0)
        log_warn("notify", "cannot record notification=%lld: %s", (long long)jb->id,
                 store_errmsg(nf->st));
    else if (rc != 0)
        log_warn("notify", "notification=%lld channel=%s attempt=%d state=%s error=\"%s\"",
                 (long long)jb->id, jb->mail ? "mail" : "webhook", attempts, state, err);
    else
        log_info("notify", "notification=%lld channel=%s sent attempt=%d", (long long)jb->id,
                 jb->mail ? "mail" : "webhook", attempts);
}

/* One round: returns the number of rows handled. */
static int round_once(struct notifier *nf)
{
    nf->n_jobs = 0;
    int rc = store_notify_due(nf->st, now_us(), SENDER_BATCH, nf->conf.smtp_url[0] != '\0',
                              take_job, nf);
    if (rc != 0)
        log_warn("notify", "queue read failed: %s", store_errmsg(nf->st));
    int n = nf->n_jobs;
    for (int i = 0; i < n; i++) {
        struct job *jb = &nf->jobs[i];
        char err[512] = "";
        int src;
        pthread_mutex_lock(&nf->mu);
        int stop = nf->stop;
        pthread_mutex_unlock(&nf->mu);
        if (stop)
            break; /* the rest stays queued as it was */
        if (jb->render_rc != 0) {
            snprintf(err, sizeof(err), "cannot render the message");
            src = jb->render_rc;
        } else {
            src = jb->mail ? send_mail(nf, jb, err, sizeof(err))
                           : send_webhook(nf, jb, err, sizeof(err));
        }
        pthread_mutex_lock(&nf->mu);
        stop = nf->stop;
        pthread_mutex_unlock(&nf->mu);
        if (!(stop && src != 0)) /* an aborted transfer is not an attempt */
            record(nf, jb, src, err);
    }
    for (int i = 0; i < n; i++)
        nbuf_free(&nf->jobs[i].msg);
    return n;
}

static void *run(void *arg)
{
    struct notifier *nf = arg;
    for (;;) {
        int n = round_once(nf);
        pthread_mutex_lock(&nf->mu);
        if (!nf->stop && !nf->kicked && n < SENDER_BATCH) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            int64_t ns = (int64_t)until.tv_nsec + (nf->conf.poll_us % 1000000) * 1000;
            until.tv_sec += (time_t)(nf->conf.poll_us / 1000000 + ns / 1000000000);
            until.tv_nsec = (long)(ns % 1000000000);
            while (!nf->stop && !nf->kicked &&
                   pthread_cond_timedwait(&nf->cv, &nf->mu, &until) != ETIMEDOUT) {
            }
        }
        nf->kicked = 0;
        int stop = nf->stop;
        pthread_mutex_unlock(&nf->mu);
        if (stop)
            break;
    }
    return NULL;
}

struct notifier *notify_start(const struct notify_conf *conf, const char *db_path,
                              const struct store_opts *opts, pthread_mutex_t *write_mu,
                              char *err, size_t errlen)
{
    struct notifier *nf = xcalloc(MEM_CORE, 1, sizeof(*nf));
    if (nf == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    nf->conf = *conf;
    nf->write_mu = write_mu;
    if (nf->conf.max_attempts < 1)
        nf->conf.max_attempts = 1;
    if (nf->conf.retry_base_us <= 0)
        nf->conf.retry_base_us = 1000000;
    if (nf->conf.retry_max_us < nf->conf.retry_base_us)
        nf->conf.retry_max_us = nf->conf.retry_base_us;
    if (nf->conf.poll_us <= 0)
        nf->conf.poll_us = 1000000;
    if (nf->conf.timeout_us <= 0)
        nf->conf.timeout_us = 30000000;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed");
        xfree(nf);
        return NULL;
    }
    nf->st = store_open_sqlite(db_path, opts, err, errlen);
    if (nf->st == NULL) {
        curl_global_cleanup();
        xfree(nf);
        return NULL;
    }
    pthread_mutex_init(&nf->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&nf->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&nf->thread, NULL, run, nf) != 0) {
        snprintf(err, errlen, "cannot start the notification thread");
        notify_stop(nf);
        return NULL;
    }
    nf->started = 1;
    return nf;
}

void notify_stats(const struct notifier *nf, struct notify_stats *out)
{
    *out = (struct notify_stats){0};
    if (nf == NULL)
        return;
    out->mail_sent = __atomic_load_n(&nf->count[0][0], __ATOMIC_RELAXED);
    out->mail_retried = __atomic_load_n(&nf->count[0][1], __ATOMIC_RELAXED);
    out->mail_failed = __atomic_load_n(&nf->count[0][2], __ATOMIC_RELAXED);
    out->webhook_sent = __atomic_load_n(&nf->count[1][0], __ATOMIC_RELAXED);
    out->webhook_retried = __atomic_load_n(&nf->count[1][1], __ATOMIC_RELAXED);
    out->webhook_failed = __atomic_load_n(&nf->count[1][2], __ATOMIC_RELAXED);
}

void notify_kick(struct notifier *nf)
{
    if (nf == NULL)
        return;
    pthread_mutex_lock(&nf->mu);
    nf->kicked = 1;
    pthread_cond_signal(&nf->cv);
    pthread_mutex_unlock(&nf->mu);
}

void notify_stop(struct notifier *nf)
{
    if (nf == NULL)
        return;
    if (nf->started) {
        pthread_mutex_lock(&nf->mu);
        nf->stop = 1;
        pthread_cond_signal(&nf->cv);
        pthread_mutex_unlock(&nf->mu);
        pthread_join(nf->thread, NULL);
    }
    store_close(nf->st);
    pthread_mutex_destroy(&nf->mu);
    pthread_cond_destroy(&nf->cv);
    curl_global_cleanup();
    xfree(nf);
}
