/* daemon/http/server.h — iocd's HTTP server (h2o, on iocd's libuv loop).
 *
 * Owns: the listening socket, h2o's context, the live-stream (SSE) clients
 * and their bounded buffers, the read-only SQLite connections used by the
 * query endpoints (on libuv's worker threads, so the loop never waits on
 * the disk), and the embedded operator console. Endpoints: docs/api.md.
 * In-memory state (latest values, device status, active alerts, metrics)
 * comes through struct iocd_http_provider, called on the loop thread. */
#ifndef IOCD_HTTP_H
#define IOCD_HTTP_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/config/config.h"
#include "daemon/base/error.h"
#include "daemon/live/hub.h"

struct iocd_http_provider {
    /* GET /api/v1/status: devices per source by state, rejects per adapter
     * and reason, broker state, flush figures. Caller frees. */
    cJSON *(*status)(void *ud);
    /* GET /api/v1/latest?match=: the latest value of every series matching
     * (NULL: all). Caller frees. */
    cJSON *(*latest)(void *ud, const char *match);
    /* GET /api/v1/devices?match=&state=: devices (pattern over SOURCE/DEVICE). */
    cJSON *(*devices)(void *ud, const char *match, const char *state);
    /* Alerts raised now (an array). */
    cJSON *(*alerts_active)(void *ud);
    /* GET /metrics: Prometheus text exposition of the daemon's figures
     * (malloc'd, NUL-terminated); the server appends its own. */
    char *(*metrics)(void *ud);
    /* GET /healthz: 0 healthy, else not; fills `body` (an object). */
    int (*health)(void *ud, cJSON *body);
    void *ud;
};

struct iocd_http_stats {
    uint64_t requests;
    uint64_t live_clients;      /* connected now */
    uint64_t live_items_sent;
    uint64_t live_items_dropped; /* overflowed a client's buffer */
    uint64_t unauthorized;
};

struct iocd_http;

/* Listen on cfg->http.listen. -1 with err when it cannot (bad address,
 * port taken, token missing for a non-loopback address). */
int iocd_http_start(struct iocd_http **out, uv_loop_t *loop, const struct iocd_config *cfg,
                    struct iocd_live *live, const struct iocd_http_provider *prov,
                    struct iocd_error *err);
/* Stop listening and end every stream; handles close on the loop. */
void iocd_http_close(struct iocd_http *h);
/* After the loop has finished. */
void iocd_http_free(struct iocd_http *h);
void iocd_http_get_stats(const struct iocd_http *h, struct iocd_http_stats *out);
/* The port listened on (useful with port 0 in tests); -1 once closed. */
int iocd_http_port(const struct iocd_http *h);
/* Live-stream keep-alive comment interval (default 15 s; tests shorten it). */
void iocd_http_set_ping_interval(struct iocd_http *h, uint64_t ms);

#endif
