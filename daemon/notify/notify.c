/* daemon/notify/notify.c — the channels and the notifier thread (notify.h).
 *
 * Owns: struct iocd_notify: the channel array (rebuilt at a reload and
 * swapped under the mutex; the loop thread reads it without the lock, as
 * only the loop thread replaces it), the inbox of notifications built on
 * the loop and not yet written to the queue, the counters, the thread,
 * its CURL handle and the queue connection (thread only).
 *
 * Locking: one mutex guards the inbox, the counters, the channel array's
 * swap and the stop flag's condition variable; neither thread holds it
 * while it touches the disk or the network. */
#include "daemon/notify/notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"
#include "daemon/notify/body.h"
#include "daemon/notify/deliver.h"
#include "daemon/notify/queue.h"

/* Notifications built on the loop and not yet written by the thread; a
 * bound so that a stuck disk cannot grow memory without end. */
#define INBOX_MAX 10000
/* How often the thread tries to open a queue it could not open. */
#define REOPEN_MS 10000

struct chan_stats {
    uint64_t sent, failed, retries, rate_limited, queue_dropped, suppressed;
    int64_t pending; /* in the inbox or the queue */
};

struct chan {
    const struct iocd_notify_channel *conf; /* in cfg; loop thread only */
    /* Copies the thread reads under the mutex (fixed once made). */
    char *name, *url;
    char **header_lines; /* "Name: value" */
    size_t n_headers;
    bool has_content_type, tls_verify;
    int64_t timeout_ms, retry_min_ms, retry_max_ms;
    /* Loop thread only: the rate limit's token bucket, its log line. */
    double tokens;
    int64_t tokens_ms;
    struct iocd_ratelimit log_rl;
    /* Under the mutex. */
    struct chan_stats st;
};

struct inbox_item {
    struct inbox_item *next;
    char *channel;
    char uid[40];
    int64_t created_ms, queue_max;
    char *body;
    size_t len;
    int64_t result; /* of its push: rows trimmed, or -1 (thread only) */
};

struct iocd_notify {
    const struct iocd_config *cfg;
    char *queue_path, *user_agent;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct chan *chans;
    size_t n_chans;
    struct inbox_item *in_head, *in_tail;
    size_t in_len;
    bool purge; /* the set of channels changed: the thread drops the rows of others */
    atomic_bool stop;
    bool thread_on, curl_inited;
    pthread_t thread;
    uint64_t orphaned;     /* pending of channels no longer configured, dropped */
    uint64_t queue_errors; /* the queue could not be opened, written or read */
};

/* ---- channels ---- */

static void free_chans(struct chan *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].name);
        if (c[i].url)
            explicit_bzero(c[i].url, strlen(c[i].url));
        free(c[i].url);
        for (size_t h = 0; h < c[i].n_headers; h++) {
            explicit_bzero(c[i].header_lines[h], strlen(c[i].header_lines[h]));
            free(c[i].header_lines[h]);
        }
        free(c[i].header_lines);
    }
    free(c);
}

static struct chan *find_chan(struct chan *c, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            return &c[i];
    return NULL;
}

/* The runtime channels of cfg->notify; `old` (n_old) gives the rate
 * limits of those that keep their name. NULL out of memory. */
static struct chan *make_chans(const struct iocd_config *cfg, const struct chan *old,
                               size_t n_old)
{
    size_t n = (size_t)cfg->n_notify;
    struct chan *c = calloc(n ? n : 1, sizeof(*c));
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const struct iocd_notify_channel *k = &cfg->notify[i];
        struct chan *ch = &c[i];
        ch->conf = k;
        ch->name = strdup(k->name);
        ch->url = strdup(k->url);
        ch->header_lines = calloc((size_t)k->n_headers + 1, sizeof(char *));
        if (!ch->name || !ch->url || !ch->header_lines) {
            free_chans(c, i + 1);
            return NULL;
        }
        for (int h = 0; h < k->n_headers; h++) {
            size_t len = strlen(k->header_name[h]) + strlen(k->header_value[h]) + 3;
            char *line = malloc(len);
            if (!line) {
                free_chans(c, i + 1);
                return NULL;
            }
            snprintf(line, len, "%s: %s", k->header_name[h], k->header_value[h]);
            ch->header_lines[ch->n_headers++] = line;
            if (strcasecmp(k->header_name[h], "Content-Type") == 0)
                ch->has_content_type = true;
        }
        ch->tls_verify = k->tls_verify;
        ch->timeout_ms = k->timeout_ms;
        ch->retry_min_ms = k->retry_min_ms;
        ch->retry_max_ms = k->retry_max_ms;
        ch->tokens = (double)k->rate_count;
        ch->tokens_ms = iocd_mono_ms();
        /* The loop's own state carries over here; the counters, which
         * the thread also writes, under the mutex (iocd_notify_reload). */
        for (size_t j = 0; j < n_old; j++)
            if (strcmp(old[j].name, k->name) == 0) {
                ch->log_rl = old[j].log_rl;
                ch->tokens = old[j].tokens < (double)k->rate_count ? old[j].tokens
                                                                    : (double)k->rate_count;
                ch->tokens_ms = old[j].tokens_ms;
            }
    }
    return c;
}

/* Take one token of ch's bucket (count per period, refilled evenly). */
static bool take_token(struct chan *ch, int64_t now)
{
    const struct iocd_notify_channel *k = ch->conf;
    if (k->rate_count <= 0)
        return true;
    double cap = (double)k->rate_count;
    if (now > ch->tokens_ms) {
        ch->tokens += (double)(now - ch->tokens_ms) * cap / (double)k->rate_period_ms;
        if (ch->tokens > cap)
            ch->tokens = cap;
    }
    ch->tokens_ms = now;
    if (ch->tokens < 1.0)
        return false;
    ch->tokens -= 1.0;
    return true;
}

static bool wants(const struct iocd_notify_channel *k, const struct iocd_alert_change *c,
                  unsigned bit)
{
    if (!(k->on & bit))
        return false;
    if (k->min_severity && c->severity < k->min_severity)
        return false;
    if (!k->n_rules)
        return true;
    for (int i = 0; i < k->n_rules; i++)
        if (c->rule && strcmp(k->rules[i], c->rule->name) == 0)
            return true;
    return false;
}

/* A random (version 4) UUID: the notification's id. */
static void new_uid(char out[40])
{
    unsigned char b[16];
    static uint64_t counter;
    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
        /* No entropy yet (early boot; the loop must not wait for it): the
         * time and a counter, unique within this process. */
        uint64_t t = (uint64_t)iocd_now_ms(), k = ++counter;
        memcpy(b, &t, 8);
        memcpy(b + 8, &k, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 40,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* ---- the notifier thread ---- */

static int64_t backoff_ms(const struct chan *ch, int64_t attempts, int64_t retry_after_ms)
{
    int64_t d = ch->retry_min_ms;
    for (int64_t i = 1; i < attempts && d < ch->retry_max_ms; i++)
        d *= 2;
    if (retry_after_ms > d)
        d = retry_after_ms;
    return d < ch->retry_max_ms ? d : ch->retry_max_ms;
}

static void add_pending(void *ud, const char *channel, int64_t count)
{
    struct iocd_notify *n = ud;
    struct chan *ch = find_chan(n->chans, n->n_chans, channel);
    if (ch)
        ch->st.pending += count;
}

static void note_orphans(void *ud, const char *channel, int64_t count)
{
    uint64_t *total = ud;
    *total += (uint64_t)count;
    iocd_log_notice("notify", "%" PRId64 " pending notification(s) of channel '%s' dropped: "
                    "no [notify %s] section any more",
                    count, channel, channel);
}

/* Drop the rows of channels no longer configured (mutex held on entry and
 * exit, released around the disk). */
static void purge(struct iocd_notify *n, struct iocd_notify_queue *q)
{
    size_t k = n->n_chans;
    char **names = calloc(k ? k : 1, sizeof(*names));
    bool ok = names != NULL;
    for (size_t i = 0; ok && i < k; i++)
        ok = (names[i] = strdup(n->chans[i].name)) != NULL;
    n->purge = !ok; /* out of memory: tried again */
    pthread_mutex_unlock(&n->mu);
    struct iocd_error err;
    uint64_t dropped = 0;
    int64_t rc = ok ? iocd_notify_queue_purge(q, (const char *const *)names, k, note_orphans,
                                              &dropped, &err)
                    : 0;
    if (rc < 0)
        iocd_log_err("notify", "%s", err.msg);
    for (size_t i = 0; names && i < k; i++)
        free(names[i]);
    free(names);
    pthread_mutex_lock(&n->mu);
    n->orphaned += dropped;
    n->queue_errors += rc < 0;
}

/* Write the inbox's notifications to the queue, in one transaction
 * (mutex held on entry and exit, released around the disk). A channel
 * over its queue_max loses its oldest; a notification that cannot be
 * written is lost: both counted as dropped. */
static void persist_inbox(struct iocd_notify *n, struct iocd_notify_queue *q)
{
    struct inbox_item *list = n->in_head;
    n->in_head = n->in_tail = NULL;
    n->in_len = 0;
    if (!list)
        return;
    pthread_mutex_unlock(&n->mu);
    struct iocd_error err;
    bool tx = iocd_notify_queue_begin(q, &err) == 0; /* else each push commits alone */
    if (!tx)
        iocd_log_err("notify", "%s", err.msg);
    bool failed = false;
    char why[sizeof(err.msg)] = "";
    for (struct inbox_item *it = list; it; it = it->next) {
        it->result = iocd_notify_queue_push(q, it->channel, it->uid, it->created_ms, it->body,
                                            it->len, it->queue_max, &err);
        if (it->result < 0 && !failed) {
            failed = true;
            snprintf(why, sizeof(why), "%s", err.msg);
        }
    }
    bool rolled_back = tx && iocd_notify_queue_commit(q, &err) != 0;
    if (rolled_back && !failed) {
        failed = true;
        snprintf(why, sizeof(why), "%s", err.msg);
    }
    const char *full = NULL;
    int64_t full_max = 0;
    size_t lost = 0;
    pthread_mutex_lock(&n->mu);
    for (struct inbox_item *it = list; it; it = it->next) {
        /* Rolled back: nothing of the batch was written, nothing trimmed. */
        int64_t dropped = it->result < 0 || rolled_back ? 1 : it->result;
        lost += it->result < 0 || rolled_back;
        if (!(it->result < 0 || rolled_back) && it->result > 0) {
            full = it->channel;
            full_max = it->queue_max;
        }
        struct chan *ch = find_chan(n->chans, n->n_chans, it->channel);
        if (ch && dropped) {
            ch->st.queue_dropped += (uint64_t)dropped;
            ch->st.pending -= dropped;
        }
    }
    n->queue_errors += failed;
    pthread_mutex_unlock(&n->mu);
    static struct iocd_ratelimit rl_lost, rl_full;
    uint64_t sup = 0;
    int64_t mono = iocd_mono_ms();
    if (lost && iocd_ratelimit_allow(&rl_lost, mono, 60000, 1, &sup))
        iocd_log_err("notify", "%s; %zu notification(s) not queued, dropped", why, lost);
    if (full && iocd_ratelimit_allow(&rl_full, mono, 60000, 1, &sup))
        iocd_log_warn("notify", "channel '%s': queue full (queue_max %" PRId64 "): the oldest "
                      "pending notification dropped%s",
                      full, full_max, sup ? " (and more since)" : "");
    for (struct inbox_item *it = list, *next; it; it = next) {
        next = it->next;
        free(it->channel);
        free(it->body);
        free(it);
    }
    pthread_mutex_lock(&n->mu);
}

/* One attempt at the queue's head `it` (mutex held on entry and exit,
 * released during the attempt). */
static void attempt(struct iocd_notify *n, struct iocd_notify_queue *q, CURL *curl,
                    struct iocd_notify_item *it)
{
    struct chan *ch = find_chan(n->chans, n->n_chans, it->channel);
    struct iocd_error err;
    if (!ch) { /* removed by a reload: purge counts it */
        n->purge = true;
        return;
    }
    /* What the attempt needs, copied: a reload may free ch meanwhile. */
    struct chan c = *ch;
    c.name = strdup(ch->name);
    c.url = strdup(ch->url);
    c.header_lines = calloc(ch->n_headers + 1, sizeof(char *));
    bool ok = c.name && c.url && c.header_lines;
    for (size_t i = 0; ok && i < ch->n_headers; i++)
        ok = (c.header_lines[i] = strdup(ch->header_lines[i])) != NULL;
    pthread_mutex_unlock(&n->mu);
    enum iocd_notify_outcome out = IOCD_NOTIFY_RETRY;
    struct iocd_notify_result res = {.status = 0};
    snprintf(res.error, sizeof(res.error), "out of memory");
    if (ok) {
        const struct iocd_notify_request rq = {
            .url = c.url,
            .headers = (const char *const *)c.header_lines,
            .n_headers = c.n_headers,
            .has_content_type = c.has_content_type,
            .uid = it->uid,
            .body = it->body,
            .len = it->len,
            .timeout_ms = c.timeout_ms,
            .tls_verify = c.tls_verify,
            .user_agent = n->user_agent,
        };
        out = iocd_notify_post(curl, &rq, &n->stop, &res);
    }
    int rc = 0;
    static struct iocd_ratelimit rl_retry, rl_fail;
    uint64_t sup = 0;
    int64_t now = iocd_now_ms();
    switch (out) {
    case IOCD_NOTIFY_DELIVERED:
    case IOCD_NOTIFY_PERMANENT:
        rc = iocd_notify_queue_remove(q, it->row, &err);
        if (out == IOCD_NOTIFY_PERMANENT &&
            iocd_ratelimit_allow(&rl_fail, iocd_mono_ms(), 10000, 5, &sup))
            iocd_log_err("notify", "channel '%s': notification %s refused (%s); not retried%s",
                         c.name ? c.name : "?", it->uid, res.error,
                         sup ? " (more refusals not logged)" : "");
        break;
    case IOCD_NOTIFY_RETRY: {
        int64_t delay = backoff_ms(&c, it->attempts + 1, res.retry_after_ms);
        rc = iocd_notify_queue_postpone(q, it->row, it->attempts + 1, now + delay, &err);
        if (iocd_ratelimit_allow(&rl_retry, iocd_mono_ms(), 10000, 5, &sup))
            iocd_log_warn("notify", "channel '%s': notification %s not delivered (%s); attempt "
                          "%" PRId64 ", next in %" PRId64 " ms%s",
                          c.name ? c.name : "?", it->uid, res.error, it->attempts + 1, delay,
                          sup ? " (more failures not logged)" : "");
        break;
    }
    case IOCD_NOTIFY_ABORTED:
        break;
    }
    if (rc)
        iocd_log_err("notify", "%s", err.msg);
    free(c.name);
    free(c.url);
    for (size_t i = 0; c.header_lines && i < c.n_headers; i++)
        free(c.header_lines[i]);
    free(c.header_lines);
    pthread_mutex_lock(&n->mu);
    n->queue_errors += rc != 0;
    ch = find_chan(n->chans, n->n_chans, it->channel);
    if (ch) {
        if (out == IOCD_NOTIFY_DELIVERED)
            ch->st.sent++;
        else if (out == IOCD_NOTIFY_PERMANENT)
            ch->st.failed++;
        else if (out == IOCD_NOTIFY_RETRY)
            ch->st.retries++;
        if (out == IOCD_NOTIFY_DELIVERED || out == IOCD_NOTIFY_PERMANENT)
            ch->st.pending--;
    }
}

/* Wait on the condition until `until_ms` (wall clock) at the latest. */
static void wait_until(struct iocd_notify *n, int64_t until_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (until_ms <= now)
        return;
    int64_t d = until_ms - now;
    ts.tv_sec += d / 1000;
    ts.tv_nsec += (long)(d % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

static void *worker(void *arg)
{
    struct iocd_notify *n = arg;
    struct iocd_notify_queue *q = NULL;
    CURL *curl = curl_easy_init();
    struct iocd_error err;
    int64_t last_open_fail = 0;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        if (!q) {
            pthread_mutex_unlock(&n->mu);
            int rc = iocd_notify_queue_open(&q, n->queue_path, &err);
            pthread_mutex_lock(&n->mu);
            if (rc) {
                if (!last_open_fail)
                    iocd_log_err("notify", "%s; notifications wait in memory, tried again "
                                 "every %d s", err.msg, REOPEN_MS / 1000);
                last_open_fail = iocd_now_ms();
                n->queue_errors++;
                if (atomic_load(&n->stop))
                    break;
                wait_until(n, iocd_now_ms() + REOPEN_MS);
                continue;
            }
            last_open_fail = 0;
            purge(n, q);
            /* What an earlier run left: pending (under the lock: add_pending
             * reads the channels; one small query, once). */
            if (iocd_notify_queue_counts(q, add_pending, n, &err))
                iocd_log_err("notify", "%s", err.msg);
        }
        persist_inbox(n, q);
        if (n->purge)
            purge(n, q);
        if (atomic_load(&n->stop))
            break;
        struct iocd_notify_item it;
        pthread_mutex_unlock(&n->mu);
        int got = iocd_notify_queue_next(q, &it, &err);
        pthread_mutex_lock(&n->mu);
        if (got < 0) {
            iocd_log_err("notify", "%s", err.msg);
            n->queue_errors++;
            wait_until(n, iocd_now_ms() + REOPEN_MS);
            continue;
        }
        if (got && it.next_ms <= iocd_now_ms() && curl) {
            /* Abandoned (stopping) or not, the loop goes round: it writes
             * the inbox, then ends if stopping. */
            attempt(n, q, curl, &it);
            iocd_notify_item_free(&it);
            continue;
        }
        int64_t until = got ? it.next_ms : iocd_now_ms() + 3600000;
        if (got)
            iocd_notify_item_free(&it);
        if (!n->in_head && !n->purge && !atomic_load(&n->stop))
            wait_until(n, until);
    }
    pthread_mutex_unlock(&n->mu);
    iocd_notify_queue_close(q);
    if (curl)
        curl_easy_cleanup(curl);
    return NULL;
}

static int start_thread(struct iocd_notify *n)
{
    if (n->thread_on || !n->n_chans)
        return 0;
    if (!n->curl_inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            iocd_log_err("notify", "libcurl could not be initialised: no notification is sent");
            return -1;
        }
        n->curl_inited = true;
    }
    int rc = pthread_create(&n->thread, NULL, worker, n);
    if (rc) {
        iocd_log_err("notify", "cannot start the notifier thread: %s", strerror(rc));
        return -1;
    }
    n->thread_on = true;
    return 0;
}

/* ---- the loop thread's side ---- */

struct iocd_notify *iocd_notify_new(const struct iocd_config *cfg, const char *queue_path,
                                    const char *user_agent)
{
    struct iocd_notify *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->cfg = cfg;
    n->queue_path = strdup(queue_path);
    n->user_agent = strdup(user_agent);
    n->chans = make_chans(cfg, NULL, 0);
    n->n_chans = (size_t)cfg->n_notify;
    if (!n->queue_path || !n->user_agent || !n->chans) {
        free_chans(n->chans, n->chans ? n->n_chans : 0);
        free(n->queue_path);
        free(n->user_agent);
        free(n);
        return NULL;
    }
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    atomic_init(&n->stop, false);
    if (n->n_chans)
        iocd_log_info("notify", "%zu notification channel(s); queue %s", n->n_chans, queue_path);
    start_thread(n);
    return n;
}

void iocd_notify_alert(struct iocd_notify *n, const struct iocd_alert_change *c)
{
    if (!n || !n->n_chans)
        return;
    unsigned bit = iocd_notify_change_bit(c);
    int64_t mono = iocd_mono_ms();
    for (size_t i = 0; i < n->n_chans; i++) {
        struct chan *ch = &n->chans[i];
        if (!wants(ch->conf, c, bit))
            continue;
        if (c->silenced) {
            pthread_mutex_lock(&n->mu);
            ch->st.suppressed++;
            pthread_mutex_unlock(&n->mu);
            continue;
        }
        if (!take_token(ch, mono)) {
            pthread_mutex_lock(&n->mu);
            ch->st.rate_limited++;
            pthread_mutex_unlock(&n->mu);
            uint64_t sup = 0;
            if (iocd_ratelimit_allow(&ch->log_rl, mono, 60000, 1, &sup))
                iocd_log_warn("notify", "channel '%s': rate limit of %" PRId64 " per %" PRId64
                              " s reached: %s %s not sent (counted in "
                              "iocd_notifications_rate_limited_total)",
                              ch->name, ch->conf->rate_count, ch->conf->rate_period_ms / 1000,
                              c->id, iocd_notify_state(c));
            continue;
        }
        struct inbox_item *it = calloc(1, sizeof(*it));
        struct iocd_buf b;
        iocd_buf_init(&b);
        if (it) {
            new_uid(it->uid);
            struct iocd_notify_values vals;
            iocd_notify_values_fill(&vals, c, ch->name, it->uid);
            iocd_notify_body(&b, ch->conf->template, &vals);
            it->len = b.len;
            it->body = iocd_buf_take(&b);
            it->channel = strdup(ch->name);
            it->created_ms = iocd_now_ms();
            it->queue_max = ch->conf->queue_max;
        }
        pthread_mutex_lock(&n->mu);
        if (!it || !it->body || !it->channel || n->in_len >= INBOX_MAX) {
            ch->st.queue_dropped++;
            pthread_mutex_unlock(&n->mu);
            if (it) {
                free(it->body);
                free(it->channel);
                free(it);
            }
            iocd_buf_free(&b);
            continue;
        }
        if (n->in_tail)
            n->in_tail->next = it;
        else
            n->in_head = it;
        n->in_tail = it;
        n->in_len++;
        ch->st.pending++;
        pthread_cond_signal(&n->cv);
        pthread_mutex_unlock(&n->mu);
    }
}

int iocd_notify_reload(struct iocd_notify *n)
{
    struct chan *c = make_chans(n->cfg, n->chans, n->n_chans);
    if (!c)
        return -1;
    size_t added = 0, removed = 0;
    for (int i = 0; i < n->cfg->n_notify; i++)
        added += !find_chan(n->chans, n->n_chans, n->cfg->notify[i].name);
    for (size_t i = 0; i < n->n_chans; i++) {
        bool kept = false;
        for (int j = 0; j < n->cfg->n_notify && !kept; j++)
            kept = strcmp(n->cfg->notify[j].name, n->chans[i].name) == 0;
        removed += !kept;
    }
    pthread_mutex_lock(&n->mu);
    /* The counters of the channels that keep their name. */
    for (int i = 0; i < n->cfg->n_notify; i++) {
        struct chan *o = find_chan(n->chans, n->n_chans, c[i].name);
        if (o)
            c[i].st = o->st;
    }
    struct chan *old = n->chans;
    size_t n_old = n->n_chans;
    n->chans = c;
    n->n_chans = (size_t)n->cfg->n_notify;
    n->purge = true;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    free_chans(old, n_old);
    if (added || removed)
        iocd_log_notice("notify", "reload: notification channels: %zu added, %zu removed, %zu "
                        "now", added, removed, n->n_chans);
    start_thread(n);
    return 0;
}

void iocd_notify_metrics(struct iocd_notify *n, struct iocd_buf *out)
{
    if (!n || !n->n_chans)
        return;
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } rows[] = {
        {"iocd_notifications_sent_total", "counter", "notifications delivered (a 2xx answer)",
         offsetof(struct chan_stats, sent)},
        {"iocd_notifications_failed_total", "counter",
         "notifications refused for good (an answer other than 2xx, 408, 429, 5xx): not retried",
         offsetof(struct chan_stats, failed)},
        {"iocd_notifications_retries_total", "counter",
         "failed attempts (no answer, 408, 429, 5xx) tried again after a backoff",
         offsetof(struct chan_stats, retries)},
        {"iocd_notifications_rate_limited_total", "counter",
         "notifications over the channel's rate_limit: counted, not sent",
         offsetof(struct chan_stats, rate_limited)},
        {"iocd_notifications_queue_dropped_total", "counter",
         "pending notifications dropped because the queue was full (the oldest first)",
         offsetof(struct chan_stats, queue_dropped)},
        {"iocd_notifications_suppressed_total", "counter",
         "changes of silenced alerts the channel would have sent: not sent",
         offsetof(struct chan_stats, suppressed)},
    };
    pthread_mutex_lock(&n->mu);
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        iocd_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", rows[r].name, rows[r].help,
                        rows[r].name, rows[r].type);
        for (size_t i = 0; i < n->n_chans; i++)
            iocd_buf_printf(out, "%s{channel=\"%s\"} %" PRIu64 "\n", rows[r].name,
                            n->chans[i].name,
                            *(const uint64_t *)((const char *)&n->chans[i].st + rows[r].off));
    }
    iocd_buf_printf(out, "# HELP iocd_notifications_pending notifications waiting to be "
                         "delivered (queued on disk or about to be)\n"
                         "# TYPE iocd_notifications_pending gauge\n");
    for (size_t i = 0; i < n->n_chans; i++)
        iocd_buf_printf(out, "iocd_notifications_pending{channel=\"%s\"} %" PRId64 "\n",
                        n->chans[i].name, n->chans[i].st.pending);
    iocd_buf_printf(out, "# HELP iocd_notifications_orphaned_total pending notifications of "
                         "channels no longer configured, dropped\n"
                         "# TYPE iocd_notifications_orphaned_total counter\n"
                         "iocd_notifications_orphaned_total %" PRIu64 "\n"
                         "# HELP iocd_notifications_queue_errors_total the notification queue "
                         "could not be opened, written or read\n"
                         "# TYPE iocd_notifications_queue_errors_total counter\n"
                         "iocd_notifications_queue_errors_total %" PRIu64 "\n",
                    n->orphaned, n->queue_errors);
    pthread_mutex_unlock(&n->mu);
}

cJSON *iocd_notify_status_json(struct iocd_notify *n)
{
    if (!n || !n->n_chans)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; o && i < n->n_chans; i++) {
        const struct chan_stats *s = &n->chans[i].st;
        cJSON *c = cJSON_AddObjectToObject(o, n->chans[i].name);
        if (!c)
            break;
        cJSON_AddNumberToObject(c, "sent", (double)s->sent);
        cJSON_AddNumberToObject(c, "failed", (double)s->failed);
        cJSON_AddNumberToObject(c, "retries", (double)s->retries);
        cJSON_AddNumberToObject(c, "rate_limited", (double)s->rate_limited);
        cJSON_AddNumberToObject(c, "queue_dropped", (double)s->queue_dropped);
        cJSON_AddNumberToObject(c, "suppressed", (double)s->suppressed);
        cJSON_AddNumberToObject(c, "pending", (double)s->pending);
    }
    pthread_mutex_unlock(&n->mu);
    return o;
}

void iocd_notify_free(struct iocd_notify *n)
{
    if (!n)
        return;
    if (n->thread_on) {
        pthread_mutex_lock(&n->mu);
        atomic_store(&n->stop, true);
        pthread_cond_signal(&n->cv);
        pthread_mutex_unlock(&n->mu);
        pthread_join(n->thread, NULL);
    }
    for (struct inbox_item *it = n->in_head, *next; it; it = next) {
        next = it->next;
        free(it->channel);
        free(it->body);
        free(it);
    }
    free_chans(n->chans, n->n_chans);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    if (n->curl_inited)
        curl_global_cleanup();
    free(n->queue_path);
    free(n->user_agent);
    free(n);
}
