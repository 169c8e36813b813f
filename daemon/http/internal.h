/* daemon/http/internal.h — what daemon/http.c (server, routing, live stream,
 * lifecycle) and daemon/http_api.c (the JSON endpoints, query jobs and
 * console) share: the server's state and the request/response helpers.
 * Private to those two files. */
#ifndef IOCD_HTTP_PRIV_H
#define IOCD_HTTP_PRIV_H

#define H2O_USE_LIBUV 1
#include <h2o.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/http/server.h"

#define PARAM_MAX 1024 /* a query parameter's decoded length */
/* Live-stream batching: queued items leave at most this long after they
 * were emitted, or at once when a client has this many bytes queued. */
#define IOCD_HTTP_STREAM_FLUSH_MS 10
#define IOCD_HTTP_STREAM_FLUSH_BYTES 65536

struct conn;
struct sse;

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
    struct conn *conns;
    size_t n_conns;
    struct sse *clients;
    unsigned jobs; /* query jobs on the worker threads */
    bool closing;
    char *token; /* "" = no token */
    char *db_path;
    struct iocd_http_stats stats;
};

/* Responses. send_json sends and deletes `j`. */
void iocd_http_add_header(h2o_req_t *req, const h2o_token_t *tok, const char *v);
void iocd_http_send_body(h2o_req_t *req, int status, const char *type, const char *body,
                         size_t len);
void iocd_http_send_json(h2o_req_t *req, int status, cJSON *j);
void iocd_http_send_error(h2o_req_t *req, int status, const char *msg);

/* Query parameters: 1 (present, decoded into out), 0 (absent), -1 (bad);
 * the typed ones return 0 (absent: the default) or -1. */
int iocd_http_param(h2o_req_t *req, const char *name, char *out, size_t cap);
int iocd_http_param_int(h2o_req_t *req, const char *name, int64_t min, int64_t max, int64_t dflt,
                        int64_t *out);
int iocd_http_param_time(h2o_req_t *req, const char *name, int64_t dflt, int64_t *out);
int iocd_http_param_duration(h2o_req_t *req, const char *name, int64_t *ms);

/* Dispose h2o's context once closing and nothing is left open. */
void iocd_http_finish_close(struct iocd_http *h);

/* Endpoints (http_api.c). */
void iocd_http_on_healthz(struct iocd_http *h, h2o_req_t *req);
void iocd_http_on_metrics(struct iocd_http *h, h2o_req_t *req);
void iocd_http_on_status(struct iocd_http *h, h2o_req_t *req);
void iocd_http_on_latest(struct iocd_http *h, h2o_req_t *req);
void iocd_http_on_devices(struct iocd_http *h, h2o_req_t *req);
void iocd_http_on_series(struct iocd_http *h, h2o_req_t *req);
void iocd_http_on_windows(struct iocd_http *h, h2o_req_t *req);
void iocd_http_on_alerts(struct iocd_http *h, h2o_req_t *req);
void iocd_http_on_static(struct iocd_http *h, h2o_req_t *req);

#endif
