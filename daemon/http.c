/* daemon/http.c — iocd's HTTP server: h2o (libuv build) on iocd's loop.
 *
 * Owns: the listening socket, h2o's global configuration and context,
 * every accepted connection (tracked so iocd_http_close can end them),
 * the live-stream (SSE) clients with their bounded buffers, the ping
 * timer and the query jobs running on libuv's worker threads. Endpoint
 * shapes are in docs/api.md. Loop thread only, except the body of a
 * query job (query.c), which runs on a worker with its own read-only
 * SQLite connection.
 *
 * Lifetimes. A query job is malloc'd and outlives its request: a small
 * shared block in the request's pool points at it, and the pool's dispose
 * callback cuts that link when h2o frees the request (client gone), so
 * the job's completion then just frees the job. A live client lives in
 * its request's pool (h2o_mem_alloc_shared); its dispose callback removes
 * the live sink and frees its buffers, whichever way the request ends. */
#define H2O_USE_LIBUV 1
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <h2o.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "query.h"
#include "timeutil.h"
#include "web_assets.h"

#define PING_MS_DEFAULT 15000
#define PARAM_MAX 1024       /* a query parameter's decoded length */
#define WEB_FILE_MAX (8 << 20)

struct conn {
    uv_tcp_t tcp; /* first: h2o's close callback gets &tcp */
    struct iocd_http *h;
    struct conn *prev, *next;
};

struct sse_buf {
    char *data;
    size_t len, cap;
};

struct sse {
    h2o_generator_t gen; /* first: proceed/stop get &gen */
    struct iocd_http *h;
    h2o_req_t *req;
    unsigned sink;
    bool stopped;    /* h2o called stop: the connection is gone */
    bool final_sent; /* the stream is over: touch nothing */
    bool closing;    /* send the final chunk at the next chance */
    bool inflight;   /* h2o holds `out` until proceed */
    const char *match; /* in the request's pool; NULL: everything */
    unsigned types;    /* bit per enum iocd_live_kind */
    struct sse_buf q, out;
    uint64_t dropped_pending;
    struct sse *prev, *next;
};

struct iocd_http {
    uv_loop_t *loop;
    const struct iocd_config *cfg;
    struct iocd_live *live;
    struct iocd_http_provider prov;
    h2o_globalconf_t gconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t actx;
    bool ctx_ready, ctx_disposed;
    uv_tcp_t *listener; /* NULL once closed */
    uv_timer_t *ping;   /* NULL once closed */
    uint64_t ping_ms;
    struct conn *conns;
    size_t n_conns;
    struct sse *clients;
    unsigned jobs; /* query jobs on the worker threads */
    bool closing;
    char *token; /* "" = no token */
    char *db_path;
    struct iocd_http_stats stats;
};

/* ------------------------------------------------------------------------
 * responses */

static void add_header(h2o_req_t *req, const h2o_token_t *tok, const char *v)
{
    h2o_add_header(&req->pool, &req->res.headers, tok, NULL, v, strlen(v));
}

static void send_body(h2o_req_t *req, int status, const char *type, const char *body,
                      size_t len)
{
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : "-";
    req->res.content_length = len;
    add_header(req, H2O_TOKEN_CONTENT_TYPE, type);
    h2o_send_inline(req, body, len);
}

/* Sends and deletes `j`. */
static void send_json(h2o_req_t *req, int status, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        send_body(req, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    send_body(req, status, "application/json", s, strlen(s));
    free(s);
}

static void send_error(h2o_req_t *req, int status, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    send_json(req, status, j);
}

/* ------------------------------------------------------------------------
 * request parsing */

static bool iov_is(h2o_iovec_t v, const char *s)
{
    size_t n = strlen(s);
    return v.len == n && memcmp(v.base, s, n) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (NUL-terminated): 0, or -1 when it is
 * malformed, too long or holds a NUL. */
static int url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* The query parameter `name`: 1 and its decoded value in out, 0 when
 * absent, -1 when malformed. */
static int param(h2o_req_t *req, const char *name, char *out, size_t cap)
{
    if (req->query_at == SIZE_MAX || req->query_at >= req->path.len)
        return 0;
    const char *p = req->path.base + req->query_at + 1;
    const char *end = req->path.base + req->path.len;
    size_t nl = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        const char *ke = eq ? eq : e;
        if ((size_t)(ke - p) == nl && memcmp(p, name, nl) == 0) {
            const char *v = eq ? eq + 1 : e;
            return url_decode(v, (size_t)(e - v), out, cap) == 0 ? 1 : -1;
        }
        p = e + 1;
    }
    return 0;
}

/* An integer parameter in [min, max]: 0 (absent: *out = dflt), -1 bad. */
static int param_int(h2o_req_t *req, const char *name, int64_t min, int64_t max, int64_t dflt,
                     int64_t *out)
{
    char buf[64];
    int r = param(req, name, buf, sizeof(buf));
    *out = dflt;
    if (r == 0)
        return 0;
    if (r < 0 || iocd_parse_int(buf, min, max, out) != 0)
        return -1;
    return 0;
}

static int param_time(h2o_req_t *req, const char *name, int64_t dflt, int64_t *out)
{
    char buf[128];
    int r = param(req, name, buf, sizeof(buf));
    *out = dflt;
    if (r == 0)
        return 0;
    return r < 0 || iocd_query_parse_time(buf, out) != 0 ? -1 : 0;
}

/* A duration parameter in whole seconds > 0: 0 (absent: 0), -1 bad. */
static int param_duration(h2o_req_t *req, const char *name, int64_t *ms)
{
    char buf[64];
    int r = param(req, name, buf, sizeof(buf));
    *ms = 0;
    if (r == 0)
        return 0;
    if (r < 0 || iocd_duration_parse(buf, ms) != 0 || *ms <= 0 || *ms % 1000 ||
        *ms > IOCD_TIME_MAX_MS)
        return -1;
    return 0;
}

static bool token_ok(const struct iocd_http *h, h2o_req_t *req)
{
    if (!h->token[0])
        return true;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t tl = strlen(h->token);
    if (v.len != 7 + tl || strncasecmp(v.base, "Bearer ", 7) != 0)
        return false;
    unsigned char diff = 0; /* same time whatever matches */
    for (size_t k = 0; k < tl; k++)
        diff |= (unsigned char)(v.base[7 + k] ^ h->token[k]);
    return diff == 0;
}

/* ------------------------------------------------------------------------
 * provider endpoints (loop thread) */

static void live_stats_json(const struct iocd_http *h, cJSON *o)
{
    cJSON_AddNumberToObject(o, "clients", (double)h->stats.live_clients);
    cJSON_AddNumberToObject(o, "sent", (double)h->stats.live_items_sent);
    cJSON_AddNumberToObject(o, "dropped", (double)h->stats.live_items_dropped);
}

static void on_healthz(struct iocd_http *h, h2o_req_t *req)
{
    cJSON *body = cJSON_CreateObject();
    int r = h->prov.health ? h->prov.health(h->prov.ud, body) : 0;
    if (!cJSON_GetObjectItemCaseSensitive(body, "status"))
        cJSON_AddStringToObject(body, "status", r == 0 ? "ok" : "failing");
    send_json(req, r == 0 ? 200 : 503, body);
}

static void on_metrics(struct iocd_http *h, h2o_req_t *req)
{
    char *daemon = h->prov.metrics ? h->prov.metrics(h->prov.ud) : NULL;
    char own[1536];
    int n = snprintf(own, sizeof(own),
                     "# HELP iocd_http_requests_total HTTP requests received.\n"
                     "# TYPE iocd_http_requests_total counter\n"
                     "iocd_http_requests_total %" PRIu64 "\n"
                     "# HELP iocd_http_unauthorized_total HTTP requests refused for a missing "
                     "or wrong token.\n"
                     "# TYPE iocd_http_unauthorized_total counter\n"
                     "iocd_http_unauthorized_total %" PRIu64 "\n"
                     "# HELP iocd_live_clients Live-stream clients connected.\n"
                     "# TYPE iocd_live_clients gauge\n"
                     "iocd_live_clients %" PRIu64 "\n"
                     "# HELP iocd_live_items_sent_total Live items queued to stream clients.\n"
                     "# TYPE iocd_live_items_sent_total counter\n"
                     "iocd_live_items_sent_total %" PRIu64 "\n"
                     "# HELP iocd_live_dropped_total Live items dropped because a client's "
                     "buffer was full.\n"
                     "# TYPE iocd_live_dropped_total counter\n"
                     "iocd_live_dropped_total %" PRIu64 "\n",
                     h->stats.requests, h->stats.unauthorized, h->stats.live_clients,
                     h->stats.live_items_sent, h->stats.live_items_dropped);
    size_t dl = daemon ? strlen(daemon) : 0;
    size_t ol = n > 0 ? (size_t)n : 0;
    char *all = h2o_mem_alloc_pool(&req->pool, dl + ol + 1);
    if (dl)
        memcpy(all, daemon, dl);
    memcpy(all + dl, own, ol);
    free(daemon);
    send_body(req, 200, "text/plain; version=0.0.4; charset=utf-8", all, dl + ol);
}

static void on_status(struct iocd_http *h, h2o_req_t *req)
{
    cJSON *j = h->prov.status ? h->prov.status(h->prov.ud) : NULL;
    if (!j)
        j = cJSON_CreateObject();
    cJSON *live = cJSON_CreateObject();
    live_stats_json(h, live);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "live");
    cJSON_AddItemToObject(j, "live", live);
    send_json(req, 200, j);
}

/* The provider's answer, wrapped as {"KEY":[...]} when it is an array. */
static void send_list(h2o_req_t *req, const char *key, cJSON *v)
{
    if (!v)
        v = cJSON_CreateArray();
    if (cJSON_IsArray(v)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, key, v);
        v = o;
    }
    send_json(req, 200, v);
}

static void on_latest(struct iocd_http *h, h2o_req_t *req)
{
    char match[PARAM_MAX];
    int r = param(req, "match", match, sizeof(match));
    if (r < 0)
        return send_error(req, 400, "bad match");
    send_list(req, "series", h->prov.latest ? h->prov.latest(h->prov.ud, r ? match : NULL) : NULL);
}

static void on_devices(struct iocd_http *h, h2o_req_t *req)
{
    char match[PARAM_MAX], state[32];
    int r = param(req, "match", match, sizeof(match));
    int s = param(req, "state", state, sizeof(state));
    if (r < 0)
        return send_error(req, 400, "bad match");
    if (s < 0 || (s > 0 && strcmp(state, "online") && strcmp(state, "stale") &&
                  strcmp(state, "offline")))
        return send_error(req, 400, "bad state (online, stale or offline)");
    send_list(req, "devices",
              h->prov.devices ? h->prov.devices(h->prov.ud, r ? match : NULL, s ? state : NULL)
                              : NULL);
}

/* ------------------------------------------------------------------------
 * query jobs (worker threads) */

enum job_kind { JOB_SERIES, JOB_WINDOWS, JOB_ALERTS };

struct job;
struct job_ref {
    struct job *job; /* NULL once the job answered */
};

struct job {
    uv_work_t work;
    struct iocd_http *h;
    struct job_ref *ref; /* NULL once the request is gone */
    h2o_req_t *req;
    enum job_kind kind;
    char a[PARAM_MAX], b[PARAM_MAX]; /* series / match, q */
    struct iocd_series_query sq;
    struct iocd_windows_query wq;
    struct iocd_alerts_query aq;
    const char *db_path;
    int rc;
    cJSON *result;
    char err[256];
};

static void job_ref_dispose(void *p)
{
    struct job_ref *ref = p;
    if (ref->job)
        ref->job->ref = NULL;
}

static void job_work(uv_work_t *w)
{
    struct job *j = w->data;
    struct sqlite3 *db;
    if (iocd_query_open(j->db_path, &db, j->err, sizeof(j->err)) != 0) {
        j->rc = IOCD_QUERY_FAILED;
        return;
    }
    switch (j->kind) {
    case JOB_SERIES: j->rc = iocd_query_series(db, &j->sq, &j->result, j->err, sizeof(j->err)); break;
    case JOB_WINDOWS: j->rc = iocd_query_windows(db, &j->wq, &j->result, j->err, sizeof(j->err)); break;
    case JOB_ALERTS: j->rc = iocd_query_alerts(db, &j->aq, &j->result, j->err, sizeof(j->err)); break;
    }
    iocd_query_close(db);
}

static void maybe_finish_close(struct iocd_http *h);

static void job_done(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct iocd_http *h = j->h;
    h->jobs--;
    if (j->ref) {
        h2o_req_t *req = j->req;
        j->ref->job = NULL;
        if (status != 0) {
            send_error(req, 500, "cancelled");
        } else if (j->rc != IOCD_QUERY_OK) {
            if (j->rc == IOCD_QUERY_FAILED)
                iocd_log_warn("http", "query failed: %s", j->err);
            send_error(req, j->rc == IOCD_QUERY_BAD ? 400 : j->rc == IOCD_QUERY_NOTFOUND ? 404 : 500,
                       j->err);
        } else {
            cJSON *res = j->result;
            j->result = NULL;
            if (j->kind == JOB_ALERTS) {
                cJSON *active = h->prov.alerts_active ? h->prov.alerts_active(h->prov.ud) : NULL;
                if (!active)
                    active = cJSON_CreateArray();
                cJSON *root = cJSON_CreateObject();
                cJSON_AddItemToObject(root, "active", active);
                cJSON_AddItemToObject(root, "history",
                                      cJSON_DetachItemFromObjectCaseSensitive(res, "history"));
                cJSON_Delete(res);
                res = root;
            }
            send_json(req, 200, res);
        }
    }
    cJSON_Delete(j->result);
    free(j);
    maybe_finish_close(h);
}

static struct job *job_new(struct iocd_http *h, h2o_req_t *req, enum job_kind kind)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->h = h;
    j->req = req;
    j->kind = kind;
    j->db_path = h->db_path;
    j->work.data = j;
    return j;
}

static void job_start(struct iocd_http *h, h2o_req_t *req, struct job *j)
{
    struct job_ref *ref = h2o_mem_alloc_shared(&req->pool, sizeof(*ref), job_ref_dispose);
    ref->job = j;
    j->ref = ref;
    int r = uv_queue_work(h->loop, &j->work, job_work, job_done);
    if (r != 0) {
        ref->job = NULL;
        free(j);
        send_error(req, 500, uv_strerror(r));
        return;
    }
    h->jobs++;
}

static void on_series(struct iocd_http *h, h2o_req_t *req)
{
    struct job *j = job_new(h, req, JOB_SERIES);
    if (!j)
        return send_error(req, 500, "out of memory");
    int rm = param(req, "match", j->a, sizeof(j->a));
    int rq = param(req, "q", j->b, sizeof(j->b));
    if (rm < 0 || rq < 0 ||
        param_int(req, "limit", 1, 10000, 1000, &j->sq.limit) < 0 ||
        param_int(req, "offset", 0, INT64_MAX / 2, 0, &j->sq.offset) < 0) {
        free(j);
        return send_error(req, 400, "bad parameter (match, q, limit 1..10000, offset)");
    }
    j->sq.match = rm ? j->a : NULL;
    j->sq.q = rq ? j->b : NULL;
    job_start(h, req, j);
}

static void on_windows(struct iocd_http *h, h2o_req_t *req)
{
    struct job *j = job_new(h, req, JOB_WINDOWS);
    if (!j)
        return send_error(req, 500, "out of memory");
    const char *bad = NULL;
    int64_t res_ms = 0;
    char res[64];
    int rr = param(req, "resolution", res, sizeof(res));
    if (param(req, "series", j->a, sizeof(j->a)) != 1 || !j->a[0])
        bad = "series is required";
    else if (rr < 0 || (rr > 0 && (iocd_duration_parse(res, &res_ms) != 0 || res_ms <= 0 ||
                                    res_ms % 1000)))
        bad = "bad resolution (whole seconds: 60s, 1m, 1h, 1d)";
    else if (param_time(req, "from", INT64_MIN, &j->wq.from_ms) < 0 ||
             param_time(req, "to", INT64_MAX, &j->wq.to_ms) < 0)
        bad = "bad from or to (RFC 3339 or epoch milliseconds)";
    else if (param_int(req, "limit", 1, 10000, 1000, &j->wq.limit) < 0)
        bad = "bad limit (1..10000)";
    else if (param_duration(req, "rolling", &j->wq.rolling_ms) < 0 ||
             param_duration(req, "step", &j->wq.step_ms) < 0)
        bad = "bad rolling or step (whole seconds: 1h, 5m)";
    else if ((j->wq.rolling_ms > 0) != (j->wq.step_ms > 0))
        bad = "rolling and step go together";
    if (bad) {
        free(j);
        return send_error(req, 400, bad);
    }
    j->wq.series = j->a;
    j->wq.res_s = res_ms / 1000;
    j->wq.now_ms = iocd_now_ms();
    job_start(h, req, j);
}

static void on_alerts(struct iocd_http *h, h2o_req_t *req)
{
    struct job *j = job_new(h, req, JOB_ALERTS);
    if (!j)
        return send_error(req, 500, "out of memory");
    int64_t now = iocd_now_ms();
    if (param_time(req, "to", INT64_MAX, &j->aq.to_ms) < 0 ||
        param_time(req, "from", INT64_MIN, &j->aq.from_ms) < 0 ||
        param_int(req, "limit", 1, 10000, 100, &j->aq.limit) < 0) {
        free(j);
        return send_error(req, 400, "bad parameter (from, to, limit 1..10000)");
    }
    if (j->aq.from_ms == INT64_MIN)
        j->aq.from_ms = (j->aq.to_ms == INT64_MAX ? now : j->aq.to_ms) - 86400000;
    job_start(h, req, j);
}

/* ------------------------------------------------------------------------
 * live stream (SSE) */

static bool buf_append(struct sse_buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap : 1024;
        while (c < b->len + n)
            c *= 2;
        char *p = realloc(b->data, c);
        if (!p)
            return false;
        b->data = p;
        b->cap = c;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return true;
}

static size_t sse_queued(const struct sse *s)
{
    return s->q.len + (s->inflight ? s->out.len : 0);
}

/* Hands the queue to h2o when it is not holding a chunk already. */
static void sse_flush(struct sse *s)
{
    if (s->stopped || s->final_sent || s->inflight)
        return;
    if (s->dropped_pending && !s->closing) {
        char ev[96];
        int n = snprintf(ev, sizeof(ev), "event: dropped\ndata: {\"dropped\":%" PRIu64 "}\n\n",
                         s->dropped_pending);
        if (buf_append(&s->q, ev, (size_t)n))
            s->dropped_pending = 0;
    }
    if (s->q.len == 0 && !s->closing)
        return;
    struct sse_buf t = s->out;
    s->out = s->q;
    s->q = t;
    s->q.len = 0;
    h2o_iovec_t v = h2o_iovec_init(s->out.data, s->out.len);
    if (s->closing) {
        s->final_sent = true; /* s may be gone once h2o_send returns */
        h2o_send(s->req, &v, s->out.len ? 1 : 0, H2O_SEND_STATE_FINAL);
        return;
    }
    s->inflight = true;
    h2o_send(s->req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void sse_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    struct sse *s = (struct sse *)g;
    s->inflight = false;
    s->out.len = 0;
    sse_flush(s);
}

static void sse_stop(h2o_generator_t *g, h2o_req_t *req)
{
    struct sse *s = (struct sse *)g;
    s->stopped = true;
}

/* Queues `n` bytes, or drops them when the client's buffer would overflow:
 * true when queued. */
static bool sse_queue(struct sse *s, const char *rec, size_t n)
{
    size_t cap = (size_t)s->h->cfg->http.client_buffer;
    if (sse_queued(s) + n > cap || !buf_append(&s->q, rec, n))
        return false;
    return true;
}

static void sse_on_item(void *ud, const struct iocd_live_item *it)
{
    struct sse *s = ud;
    struct iocd_http *h = s->h;
    if (s->stopped || s->final_sent || s->closing)
        return;
    if ((unsigned)it->kind >= IOCD_LIVE__COUNT || !(s->types & (1u << it->kind)))
        return;
    if (s->match && !iocd_topic_matches(s->match, it->key))
        return;
    char head[160];
    int n = snprintf(head, sizeof(head), "id: %" PRIx64 "-%" PRIu64 "\nevent: %s\ndata: ",
                     iocd_live_run_id(h->live), it->seq, iocd_live_kind_name(it->kind));
    size_t need = (size_t)n + it->json_len + 2;
    size_t cap = (size_t)h->cfg->http.client_buffer;
    if (sse_queued(s) + need > cap) {
        s->dropped_pending++;
        h->stats.live_items_dropped++;
        sse_flush(s);
        return;
    }
    if (!buf_append(&s->q, head, (size_t)n) || !buf_append(&s->q, it->json, it->json_len) ||
        !buf_append(&s->q, "\n\n", 2)) {
        s->dropped_pending++;
        h->stats.live_items_dropped++;
        return;
    }
    h->stats.live_items_sent++;
    sse_flush(s);
}

static void sse_dispose(void *p)
{
    struct sse *s = p;
    struct iocd_http *h = s->h;
    if (s->sink)
        iocd_live_remove_sink(h->live, s->sink);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->clients = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s->q.data);
    free(s->out.data);
    h->stats.live_clients--;
}

static int parse_types(const char *v, unsigned *mask)
{
    *mask = 0;
    const char *p = v;
    while (*p) {
        size_t l = strcspn(p, ",");
        bool found = false;
        for (int k = 0; k < IOCD_LIVE__COUNT; k++) {
            const char *name = iocd_live_kind_name((enum iocd_live_kind)k);
            if (name && strlen(name) == l && strncmp(name, p, l) == 0) {
                *mask |= 1u << k;
                found = true;
            }
        }
        if (!found)
            return -1;
        p += l;
        if (*p == ',')
            p++;
    }
    return *mask ? 0 : -1;
}

/* "RUNHEX-SEQ": 0, or -1 when malformed. */
static int parse_event_id(const char *v, uint64_t *run, uint64_t *seq)
{
    char *end;
    if (!*v || *v == '-' || *v == '+')
        return -1;
    errno = 0;
    *run = strtoull(v, &end, 16);
    if (errno || *end != '-' || !end[1] || end[1] == '-' || end[1] == '+')
        return -1;
    const char *s = end + 1;
    *seq = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static void on_live(struct iocd_http *h, h2o_req_t *req)
{
    char match[PARAM_MAX], types[256], leid[128];
    int rm = param(req, "match", match, sizeof(match));
    int rt = param(req, "types", types, sizeof(types));
    unsigned mask = (1u << IOCD_LIVE__COUNT) - 1;
    if (rm < 0 || (rm > 0 && !match[0]))
        return send_error(req, 400, "bad match");
    if (rt < 0 || (rt > 0 && parse_types(types, &mask) != 0))
        return send_error(req, 400, "bad types (obs, event, alert, window, status)");
    int rl = 0;
    ssize_t hi = h2o_find_header_by_str(&req->headers, H2O_STRLIT("last-event-id"), -1);
    if (hi >= 0) {
        h2o_iovec_t v = req->headers.entries[hi].value;
        if (v.len < sizeof(leid)) {
            memcpy(leid, v.base, v.len);
            leid[v.len] = '\0';
            rl = 1;
        } else {
            rl = -1;
        }
    } else {
        rl = param(req, "last_event_id", leid, sizeof(leid));
    }
    if (h->cfg->http.max_clients >= 0 &&
        h->stats.live_clients >= (uint64_t)h->cfg->http.max_clients)
        return send_error(req, 503, "too many live clients");

    struct sse *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), sse_dispose);
    memset(s, 0, sizeof(*s));
    s->gen.proceed = sse_proceed;
    s->gen.stop = sse_stop;
    s->h = h;
    s->req = req;
    s->types = mask;
    if (rm > 0) {
        char *m = h2o_mem_alloc_pool(&req->pool, strlen(match) + 1);
        strcpy(m, match);
        s->match = m;
    }
    s->next = h->clients;
    if (h->clients)
        h->clients->prev = s;
    h->clients = s;
    h->stats.live_clients++;

    req->res.status = 200;
    req->res.reason = "OK";
    add_header(req, H2O_TOKEN_CONTENT_TYPE, "text/event-stream");
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-cache");
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0,
                          NULL, H2O_STRLIT("no"));
    h2o_start_response(req, &s->gen);
    static const char hello[] = "retry: 2000\n\n";
    buf_append(&s->q, hello, sizeof(hello) - 1);

    if (rl != 0) {
        uint64_t run, seq;
        bool reset = rl < 0 || parse_event_id(leid, &run, &seq) != 0 ||
                     run != iocd_live_run_id(h->live) || seq > iocd_live_last_seq(h->live);
        if (!reset && iocd_live_replay(h->live, seq, sse_on_item, s) != 0)
            reset = true;
        if (reset) {
            /* anything replayed before the gap was found is useless */
            s->q.len = sizeof(hello) - 1;
            char ev[96];
            int n = snprintf(ev, sizeof(ev), "event: reset\ndata: {\"run\":\"%" PRIx64 "\"}\n\n",
                             iocd_live_run_id(h->live));
            buf_append(&s->q, ev, (size_t)n);
        }
    }
    s->sink = iocd_live_add_sink(h->live, sse_on_item, s);
    if (!s->sink)
        s->closing = true; /* out of memory: end the stream at once */
    sse_flush(s);
}

static void on_ping(uv_timer_t *t)
{
    struct iocd_http *h = t->data;
    static const char ping[] = ": ping\n\n";
    for (struct sse *s = h->clients; s; s = s->next) {
        if (s->stopped || s->final_sent || s->closing)
            continue;
        sse_queue(s, ping, sizeof(ping) - 1);
        sse_flush(s);
    }
}

/* ------------------------------------------------------------------------
 * console */

static const char *content_type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static void on_static(struct iocd_http *h, h2o_req_t *req)
{
    char path[PARAM_MAX];
    h2o_iovec_t p = req->path_normalized;
    if (p.len == 0 || p.len >= sizeof(path) - 16 || p.base[0] != '/' ||
        memchr(p.base, '\0', p.len))
        return send_error(req, 404, "not found");
    memcpy(path, p.base, p.len);
    path[p.len] = '\0';
    if (strcmp(path, "/") == 0)
        strcpy(path, "/index.html");
    /* h2o normalised the path (no "." or ".." segments left); refuse any
     * that slipped through, and hidden files. */
    if (strstr(path, "/.") || strstr(path, "//") || strchr(path, '\\'))
        return send_error(req, 404, "not found");

    if (h->cfg->http.web_root && h->cfg->http.web_root[0]) {
        char full[PATH_MAX];
        if ((size_t)snprintf(full, sizeof(full), "%s%s", h->cfg->http.web_root, path) >=
            sizeof(full))
            return send_error(req, 404, "not found");
        int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_FILE_MAX) {
            if (fd >= 0)
                close(fd);
            return send_error(req, 404, "not found");
        }
        size_t len = (size_t)st.st_size, got = 0;
        char *body = h2o_mem_alloc_pool(&req->pool, len + 1);
        while (got < len) {
            ssize_t r = read(fd, body + got, len - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fd);
        if (got != len)
            return send_error(req, 500, "read error");
        return send_body(req, 200, content_type_of(path), body, len);
    }
    for (size_t i = 0; i < iocd_web_n_assets; i++) {
        const struct iocd_web_asset *a = &iocd_web_assets[i];
        if (strcmp(a->path, path) == 0)
            return send_body(req, 200, a->content_type, (const char *)a->data, a->len);
    }
    send_error(req, 404, iocd_web_n_assets ? "not found" : "not found (console not built in)");
}

/* ------------------------------------------------------------------------
 * routing */

struct handler {
    h2o_handler_t super;
    struct iocd_http *h;
};

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct iocd_http *h = ((struct handler *)self)->h;
    h2o_iovec_t p = req->path_normalized;
    h->stats.requests++;
    bool head = iov_is(req->method, "HEAD");
    if (!iov_is(req->method, "GET") && !head) {
        add_header(req, H2O_TOKEN_ALLOW, "GET, HEAD");
        send_error(req, 405, "method not allowed");
        return 0;
    }
    if (iov_is(p, "/healthz")) {
        on_healthz(h, req);
        return 0;
    }
    if (!token_ok(h, req)) {
        h->stats.unauthorized++;
        add_header(req, H2O_TOKEN_WWW_AUTHENTICATE, "Bearer realm=\"iocd\"");
        send_error(req, 401, "unauthorized");
        return 0;
    }
    if (h->closing) {
        send_error(req, 503, "shutting down");
        return 0;
    }
    if (iov_is(p, "/metrics"))
        on_metrics(h, req);
    else if (iov_is(p, "/api/v1/status"))
        on_status(h, req);
    else if (iov_is(p, "/api/v1/latest"))
        on_latest(h, req);
    else if (iov_is(p, "/api/v1/devices"))
        on_devices(h, req);
    else if (iov_is(p, "/api/v1/series"))
        on_series(h, req);
    else if (iov_is(p, "/api/v1/windows"))
        on_windows(h, req);
    else if (iov_is(p, "/api/v1/alerts"))
        on_alerts(h, req);
    else if (iov_is(p, "/api/v1/live") && head)
        send_error(req, 405, "the live stream is GET only");
    else if (iov_is(p, "/api/v1/live"))
        on_live(h, req);
    else if (p.len >= 5 && memcmp(p.base, "/api/", 5) == 0)
        send_error(req, 404, "no such endpoint");
    else
        on_static(h, req);
    return 0;
}

/* ------------------------------------------------------------------------
 * connections and lifecycle */

static void maybe_finish_close(struct iocd_http *h)
{
    if (h->closing && h->n_conns == 0 && h->jobs == 0 && h->ctx_ready && !h->ctx_disposed) {
        h2o_context_dispose(&h->ctx); /* closes h2o's timers on the loop */
        h->ctx_disposed = true;
    }
}

static void conn_unlink(struct conn *c)
{
    struct iocd_http *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->n_conns--;
}

static void on_conn_closed(uv_handle_t *hd)
{
    struct conn *c = (struct conn *)hd;
    struct iocd_http *h = c->h;
    conn_unlink(c);
    free(c);
    maybe_finish_close(h);
}

static void on_accept(uv_stream_t *l, int status)
{
    struct iocd_http *h = l->data;
    if (status != 0 || h->closing)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->h = h;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
    uv_tcp_init(h->loop, &c->tcp);
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
    h2o_accept(&h->actx, sock);
}

/* HOST:PORT, [V6]:PORT, localhost:PORT into *sa; *loopback. 0 or -1. */
static int parse_listen(const char *s, struct sockaddr_storage *sa, bool *loopback)
{
    char host[128];
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
            return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host) || memchr(s, ':', (size_t)(colon - s)))
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    int64_t port;
    if (iocd_parse_int(colon + 1, 0, 65535, &port) != 0)
        return -1;
    memset(sa, 0, sizeof(*sa));
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (uv_ip4_addr(host, (int)port, v4) == 0) {
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        return 0;
    }
    if (uv_ip6_addr(host, (int)port, v6) == 0) {
        static const unsigned char lo6[16] = {[15] = 1};
        *loopback = memcmp(&v6->sin6_addr, lo6, 16) == 0;
        return 0;
    }
    return -1;
}

static void free_handle(uv_handle_t *hd)
{
    free(hd);
}

int iocd_http_start(struct iocd_http **out, uv_loop_t *loop, const struct iocd_config *cfg,
                    struct iocd_live *live, const struct iocd_http_provider *prov,
                    struct iocd_error *err)
{
    *out = NULL;
    const char *listen = cfg->http.listen ? cfg->http.listen : "";
    struct sockaddr_storage sa;
    bool loopback = false;
    if (parse_listen(listen, &sa, &loopback) != 0) {
        iocd_error_set(err, "[http] listen = %s: expected HOST:PORT (IPv4 or [IPv6] literal, or "
                            "localhost)", listen);
        return -1;
    }
    const char *token = cfg->http.token ? cfg->http.token : "";
    if (!loopback && !token[0]) {
        iocd_error_set(err, "[http] listen = %s is not a loopback address: set [http] token",
                       listen);
        return -1;
    }
    if (!cfg->store.path || !cfg->store.path[0]) {
        iocd_error_set(err, "http: no [store] path to read from");
        return -1;
    }
    struct iocd_http *h = calloc(1, sizeof(*h));
    if (!h) {
        iocd_error_set(err, "http: out of memory");
        return -1;
    }
    h->loop = loop;
    h->cfg = cfg;
    h->live = live;
    if (prov)
        h->prov = *prov;
    h->ping_ms = PING_MS_DEFAULT;
    h->token = strdup(token);
    h->db_path = strdup(cfg->store.path);
    h->listener = malloc(sizeof(*h->listener));
    h->ping = malloc(sizeof(*h->ping));
    if (!h->token || !h->db_path || !h->listener || !h->ping) {
        iocd_error_set(err, "http: out of memory");
        goto fail_alloc;
    }

    h2o_config_init(&h->gconf);
    h->gconf.server_name = h2o_iovec_init(H2O_STRLIT("iocd"));
    h2o_hostconf_t *host =
        h2o_config_register_host(&h->gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    struct handler *hd = (struct handler *)h2o_create_handler(pc, sizeof(*hd));
    hd->super.on_req = on_req;
    hd->h = h;

    uv_tcp_init(loop, h->listener);
    h->listener->data = h;
    int r = uv_tcp_bind(h->listener, (struct sockaddr *)&sa, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)h->listener, 128, on_accept);
    if (r != 0) {
        iocd_error_set(err, "http: listen on %s: %s", listen, uv_strerror(r));
        uv_close((uv_handle_t *)h->listener, free_handle);
        h->listener = NULL;
        h2o_config_dispose(&h->gconf);
        free(h->ping);
        free(h->token);
        free(h->db_path);
        free(h);
        return -1;
    }
    h2o_context_init(&h->ctx, loop, &h->gconf);
    h->ctx_ready = true;
    h->actx.ctx = &h->ctx;
    h->actx.hosts = h->gconf.hosts;
    uv_timer_init(loop, h->ping);
    h->ping->data = h;
    uv_timer_start(h->ping, on_ping, h->ping_ms, h->ping_ms);
    iocd_log_info("http", "listening on %s%s", listen, token[0] ? " (token required)" : "");
    *out = h;
    return 0;

fail_alloc:
    free(h->ping);
    free(h->listener);
    free(h->token);
    free(h->db_path);
    free(h);
    return -1;
}

void iocd_http_set_ping_interval(struct iocd_http *h, uint64_t ms)
{
    h->ping_ms = ms ? ms : PING_MS_DEFAULT;
    if (h->ping)
        uv_timer_start(h->ping, on_ping, h->ping_ms, h->ping_ms);
}

int iocd_http_port(const struct iocd_http *h)
{
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    if (!h->listener || uv_tcp_getsockname(h->listener, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    if (sa.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&sa)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
}

void iocd_http_close(struct iocd_http *h)
{
    if (!h || h->closing)
        return;
    h->closing = true;
    if (h->listener) {
        uv_close((uv_handle_t *)h->listener, free_handle);
        h->listener = NULL;
    }
    if (h->ping) {
        uv_close((uv_handle_t *)h->ping, free_handle);
        h->ping = NULL;
    }
    /* End every stream: the final chunk now, or when h2o gives the
     * in-flight one back. */
    for (struct sse *s = h->clients, *next; s; s = next) {
        next = s->next;
        if (s->sink) {
            iocd_live_remove_sink(h->live, s->sink);
            s->sink = 0;
        }
        s->closing = true;
        sse_flush(s);
    }
    /* Wake every connection: h2o sees end-of-stream (or a write error) and
     * closes it through its own path; on_conn_closed counts them down. */
    for (struct conn *c = h->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RDWR);
    }
    maybe_finish_close(h);
}

void iocd_http_free(struct iocd_http *h)
{
    if (!h)
        return;
    if (h->ctx_ready && !h->ctx_disposed)
        iocd_log_warn("http", "freed with %zu connection(s) and %u job(s) open",
                 h->n_conns, h->jobs);
    else
        h2o_config_dispose(&h->gconf);
    free(h->token);
    free(h->db_path);
    free(h);
}

void iocd_http_get_stats(const struct iocd_http *h, struct iocd_http_stats *out)
{
    *out = h->stats;
}
