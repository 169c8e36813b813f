/* daemon/http/sse.c — the live stream (see sse.h): each client gets the
 * live hub's items that pass its filters, batched, as server-sent events.
 *
 * Owns: struct iocd_http_sse and its two timers (malloc'd, closed by
 * iocd_http_sse_close), each client's buffers (freed by its dispose
 * callback). A live client lives in its request's pool
 * (h2o_mem_alloc_shared): its dispose callback removes the live sink and
 * frees its buffers, whichever way the request ends. */
#include "daemon/http/sse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/topic.h"

#define PING_MS_DEFAULT 15000

struct sse;

struct iocd_http_sse {
    uv_loop_t *loop;
    const struct iocd_config *cfg;
    struct iocd_live *live;
    struct iocd_http_stats *stats; /* the server's; live_* kept here */
    struct sse *clients;
    uv_timer_t *ping; /* NULL once closed */
    /* Live-stream writes are batched: items only queue, and this timer
     * (started when a client has something new) hands every such client's
     * queue to h2o IOCD_HTTP_STREAM_FLUSH_MS later, so a busy feed costs
     * one write per client per period, not one per item. NULL once closed. */
    uv_timer_t *flusher;
    bool flush_armed;
    /* The SSE head ("id: ...\nevent: ...\ndata: ") of the item being
     * handed out, formatted once for every client. */
    uint64_t head_seq;
    char head[160];
    size_t head_len;
    uint64_t ping_ms;
};

struct sse_buf {
    char *data;
    size_t len, cap;
};

struct sse {
    h2o_generator_t gen; /* first: proceed/stop get &gen */
    struct iocd_http_sse *h;
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
    struct iocd_http_sse *h = t->data;
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
    struct iocd_http_sse *h = s->h;
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
    struct iocd_http_sse *h = s->h;
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
        h->stats->live_items_dropped++;
        sse_mark(s);
        return;
    }
    if (!buf_append(&s->q, h->head, h->head_len) || !buf_append(&s->q, it->json, it->json_len) ||
        !buf_append(&s->q, "\n\n", 2)) {
        s->dropped_pending++;
        h->stats->live_items_dropped++;
        return;
    }
    h->stats->live_items_sent++;
    sse_mark(s);
}

static void on_ping(uv_timer_t *t);

static void sse_dispose(void *p)
{
    struct sse *s = p;
    struct iocd_http_sse *h = s->h;
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
    h->stats->live_clients--;
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
            if ((IOCD_LIVE_STREAM_KINDS & (1u << k)) && strlen(name) == l &&
                strncmp(name, p, l) == 0) {
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

void iocd_http_sse_on_request(struct iocd_http_sse *h, h2o_req_t *req)
{
    char match[PARAM_MAX], types[256], leid[128];
    int rm = iocd_http_param(req, "match", match, sizeof(match));
    int rt = iocd_http_param(req, "types", types, sizeof(types));
    unsigned mask = IOCD_LIVE_STREAM_KINDS;
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
        h->stats->live_clients >= (uint64_t)h->cfg->http.max_clients) {
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
    h->stats->live_clients++;

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
    s->sink = iocd_live_add_sink(h->live, sse_on_item, s, s->types,
                                 IOCD_LIVE_JSON | IOCD_LIVE_CATCHUP);
    if (!s->sink)
        s->closing = true; /* out of memory: end the stream at once */
    sse_flush(s);
}

static void on_ping(uv_timer_t *t)
{
    struct iocd_http_sse *h = t->data;
    static const char ping[] = ": ping\n\n";
    for (struct sse *s = h->clients; s; s = s->next) {
        if (s->stopped || s->final_sent || s->closing)
            continue;
        sse_queue(s, ping, sizeof(ping) - 1);
        sse_flush(s);
    }
}

static void free_handle(uv_handle_t *hd)
{
    free(hd);
}

int iocd_http_sse_new(struct iocd_http_sse **out, uv_loop_t *loop, const struct iocd_config *cfg,
                      struct iocd_live *live, struct iocd_http_stats *stats)
{
    struct iocd_http_sse *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    h->ping = malloc(sizeof(*h->ping));
    h->flusher = malloc(sizeof(*h->flusher));
    if (!h->ping || !h->flusher) {
        free(h->ping);
        free(h->flusher);
        free(h);
        return -1;
    }
    h->loop = loop;
    h->cfg = cfg;
    h->live = live;
    h->stats = stats;
    h->ping_ms = PING_MS_DEFAULT;
    uv_timer_init(loop, h->ping);
    h->ping->data = h;
    uv_timer_start(h->ping, on_ping, h->ping_ms, h->ping_ms);
    uv_timer_init(loop, h->flusher);
    h->flusher->data = h;
    *out = h;
    return 0;
}

void iocd_http_sse_set_ping_interval(struct iocd_http_sse *h, uint64_t ms)
{
    h->ping_ms = ms ? ms : PING_MS_DEFAULT;
    if (h->ping)
        uv_timer_start(h->ping, on_ping, h->ping_ms, h->ping_ms);
}

void iocd_http_sse_close(struct iocd_http_sse *h)
{
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
}

void iocd_http_sse_free(struct iocd_http_sse *h)
{
    free(h);
}
