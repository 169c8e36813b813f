/* daemon/http/server.c — iocd's HTTP server: h2o (libuv build) on iocd's loop.
 *
 * Owns: the listening socket, h2o's global configuration and context,
 * every accepted connection (tracked so iocd_http_close can end them),
 * the bearer-token check and routing, the live-stream (SSE) clients with
 * their bounded buffers and the ping timer. The endpoints themselves,
 * query jobs and console are in http_api.c. Loop thread only. Endpoint
 * shapes are in docs/api.md.
 *
 * A live client lives in its request's pool (h2o_mem_alloc_shared): its
 * dispose callback removes the live sink and frees its buffers, whichever
 * way the request ends. Shutdown (iocd_http_close) ends every stream and
 * wakes every connection; h2o's context is disposed once the last
 * connection and the last query job are gone. */
#include "daemon/http/internal.h"
#include "daemon/base/topic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/base/log.h"
#include "daemon/query/query.h"
#include "daemon/base/timeutil.h"

#define PING_MS_DEFAULT 15000

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
    bool dirty;      /* queued since the last flush: the flusher hands it over */
    const char *match; /* in the request's pool; NULL: everything */
    unsigned types;    /* bit per enum iocd_live_kind */
    struct sse_buf q, out;
    uint64_t dropped_pending;
    struct sse *prev, *next;
};

/* ------------------------------------------------------------------------
 * responses */

void iocd_http_add_header(h2o_req_t *req, const h2o_token_t *tok, const char *v)
{
    h2o_add_header(&req->pool, &req->res.headers, tok, NULL, v, strlen(v));
}

void iocd_http_send_body(h2o_req_t *req, int status, const char *type, const char *body,
                         size_t len)
{
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : "-";
    req->res.content_length = len;
    iocd_http_add_header(req, H2O_TOKEN_CONTENT_TYPE, type);
    h2o_send_inline(req, body, len);
}

/* Sends and deletes `j`. */
void iocd_http_send_json(h2o_req_t *req, int status, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        iocd_http_send_body(req, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    iocd_http_send_body(req, status, "application/json", s, strlen(s));
    free(s);
}

void iocd_http_send_error(h2o_req_t *req, int status, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    iocd_http_send_json(req, status, j);
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
int iocd_http_param(h2o_req_t *req, const char *name, char *out, size_t cap)
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
int iocd_http_param_int(h2o_req_t *req, const char *name, int64_t min, int64_t max,
                        int64_t dflt, int64_t *out)
{
    char buf[64];
    int r = iocd_http_param(req, name, buf, sizeof(buf));
    *out = dflt;
    if (r == 0)
        return 0;
    if (r < 0 || iocd_parse_int(buf, min, max, out) != 0)
        return -1;
    return 0;
}

int iocd_http_param_time(h2o_req_t *req, const char *name, int64_t dflt, int64_t *out)
{
    char buf[128];
    int r = iocd_http_param(req, name, buf, sizeof(buf));
    *out = dflt;
    if (r == 0)
        return 0;
    return r < 0 || iocd_query_parse_time(buf, out) != 0 ? -1 : 0;
}

/* A duration parameter in whole seconds > 0: 0 (absent: 0), -1 bad. */
int iocd_http_param_duration(h2o_req_t *req, const char *name, int64_t *ms)
{
    char buf[64];
    int r = iocd_http_param(req, name, buf, sizeof(buf));
    *ms = 0;
    if (r == 0)
        return 0;
    if (r < 0 || iocd_duration_parse(buf, ms) != 0 || *ms <= 0 || *ms % 1000 ||
        *ms > IOCD_TIME_MAX_MS)
        return -1;
    return 0;
}

static bool same_secret(const char *a, size_t alen, const char *token)
{
    size_t tl = strlen(token);
    if (alen != tl)
        return false;
    unsigned char diff = 0; /* the same time however much matches */
    for (size_t k = 0; k < tl; k++)
        diff |= (unsigned char)(a[k] ^ token[k]);
    return diff == 0;
}

/* `Authorization: Bearer TOKEN`; on the live stream also ?access_token=
 * (a browser's EventSource cannot set headers). */
static bool token_ok(const struct iocd_http *h, h2o_req_t *req, bool live)
{
    if (!h->token[0])
        return true;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i >= 0) {
        h2o_iovec_t v = req->headers.entries[i].value;
        return v.len >= 7 && strncasecmp(v.base, "Bearer ", 7) == 0 &&
               same_secret(v.base + 7, v.len - 7, h->token);
    }
    char t[256];
    return live && iocd_http_param(req, "access_token", t, sizeof(t)) == 1 &&
           same_secret(t, strlen(t), h->token);
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

static void on_flush_timer(uv_timer_t *t)
{
    struct iocd_http *h = t->data;
    h->flush_armed = false;
    for (struct sse *s = h->clients, *next; s; s = next) {
        next = s->next; /* a flush may end the stream */
        if (s->dirty) {
            s->dirty = false;
            sse_flush(s);
        }
    }
}

/* Flush `s` soon, with everything else that arrives meanwhile (at once
 * when much is queued): one write per client per period, not per item. */
static void sse_mark(struct sse *s)
{
    struct iocd_http *h = s->h;
    if (s->q.len >= IOCD_HTTP_STREAM_FLUSH_BYTES) {
        s->dirty = false;
        sse_flush(s);
        return;
    }
    s->dirty = true;
    if (!h->flush_armed && h->flusher) {
        h->flush_armed = true;
        uv_timer_start(h->flusher, on_flush_timer, IOCD_HTTP_STREAM_FLUSH_MS, 0);
    }
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
    if (h->head_seq != it->seq || !h->head_len) {
        int n = snprintf(h->head, sizeof(h->head), "id: %" PRIx64 "-%" PRIu64 "\nevent: %s\ndata: ",
                         iocd_live_run_id(h->live), it->seq, iocd_live_kind_name(it->kind));
        h->head_len = n > 0 && (size_t)n < sizeof(h->head) ? (size_t)n : 0;
        h->head_seq = it->seq;
    }
    size_t need = h->head_len + it->json_len + 2;
    size_t cap = (size_t)h->cfg->http.client_buffer;
    if (sse_queued(s) + need > cap) {
        s->dropped_pending++;
        h->stats.live_items_dropped++;
        sse_mark(s);
        return;
    }
    if (!buf_append(&s->q, h->head, h->head_len) || !buf_append(&s->q, it->json, it->json_len) ||
        !buf_append(&s->q, "\n\n", 2)) {
        s->dropped_pending++;
        h->stats.live_items_dropped++;
        return;
    }
    h->stats.live_items_sent++;
    sse_mark(s);
}

static void on_ping(uv_timer_t *t);

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
    int rm = iocd_http_param(req, "match", match, sizeof(match));
    int rt = iocd_http_param(req, "types", types, sizeof(types));
    unsigned mask = (1u << IOCD_LIVE__COUNT) - 1;
    if (rm < 0 || (rm > 0 && !match[0]))
        return iocd_http_send_error(req, 400, "bad match");
    if (rt < 0 || (rt > 0 && parse_types(types, &mask) != 0))
        return iocd_http_send_error(req, 400, "bad types (obs, event, alert, window, status)");
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
        rl = iocd_http_param(req, "last_event_id", leid, sizeof(leid));
    }
    if (h->cfg->http.max_clients >= 0 &&
        h->stats.live_clients >= (uint64_t)h->cfg->http.max_clients) {
        /* A client that went away unnoticed (nothing was written to it
         * since) holds a slot: write to every client now, so the dead ones
         * fail and free theirs, and tell this one when to come back. */
        if (h->ping)
            on_ping(h->ping);
        iocd_http_add_header(req, H2O_TOKEN_RETRY_AFTER, "1");
        return iocd_http_send_error(req, 503, "too many live clients");
    }

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
    iocd_http_add_header(req, H2O_TOKEN_CONTENT_TYPE, "text/event-stream");
    iocd_http_add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-cache");
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
        iocd_http_add_header(req, H2O_TOKEN_ALLOW, "GET, HEAD");
        iocd_http_send_error(req, 405, "method not allowed");
        return 0;
    }
    if (iov_is(p, "/healthz")) {
        iocd_http_on_healthz(h, req);
        return 0;
    }
    /* The console's files are public (the same code as in the source
     * tree; a browser cannot add a header when it opens the page): the
     * token guards the data, /api/ and /metrics. */
    bool guarded = iov_is(p, "/metrics") || (p.len >= 5 && memcmp(p.base, "/api/", 5) == 0);
    if (guarded && !token_ok(h, req, iov_is(p, "/api/v1/live"))) {
        h->stats.unauthorized++;
        iocd_http_add_header(req, H2O_TOKEN_WWW_AUTHENTICATE, "Bearer realm=\"iocd\"");
        iocd_http_send_error(req, 401, "unauthorized");
        return 0;
    }
    if (h->closing) {
        iocd_http_send_error(req, 503, "shutting down");
        return 0;
    }
    if (iov_is(p, "/metrics"))
        iocd_http_on_metrics(h, req);
    else if (iov_is(p, "/api/v1/status"))
        iocd_http_on_status(h, req);
    else if (iov_is(p, "/api/v1/latest"))
        iocd_http_on_latest(h, req);
    else if (iov_is(p, "/api/v1/devices"))
        iocd_http_on_devices(h, req);
    else if (iov_is(p, "/api/v1/series"))
        iocd_http_on_series(h, req);
    else if (iov_is(p, "/api/v1/windows"))
        iocd_http_on_windows(h, req);
    else if (iov_is(p, "/api/v1/alerts"))
        iocd_http_on_alerts(h, req);
    else if (iov_is(p, "/api/v1/live") && head)
        iocd_http_send_error(req, 405, "the live stream is GET only");
    else if (iov_is(p, "/api/v1/live"))
        on_live(h, req);
    else if (p.len >= 5 && memcmp(p.base, "/api/", 5) == 0)
        iocd_http_send_error(req, 404, "no such endpoint");
    else
        iocd_http_on_static(h, req);
    return 0;
}

/* ------------------------------------------------------------------------
 * connections and lifecycle */

void iocd_http_finish_close(struct iocd_http *h)
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
    iocd_http_finish_close(h);
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
    h->flusher = malloc(sizeof(*h->flusher));
    if (!h->token || !h->db_path || !h->listener || !h->ping || !h->flusher) {
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
        free(h->flusher);
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
    uv_timer_init(loop, h->flusher);
    h->flusher->data = h;
    iocd_log_info("http", "listening on %s%s", listen, token[0] ? " (token required)" : "");
    *out = h;
    return 0;

fail_alloc:
    free(h->ping);
    free(h->flusher);
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
    if (h->flusher) {
        uv_close((uv_handle_t *)h->flusher, free_handle);
        h->flusher = NULL;
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
    iocd_http_finish_close(h);
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
