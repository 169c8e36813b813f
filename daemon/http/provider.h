/* daemon/http/provider.h — the types every part of the HTTP server shares
 * with main.c: what the daemon provides to the endpoints and the server's
 * figures.
 *
 * Owns: nothing (types only). Included by server.h, api.h and sse.h, and
 * includes no other part of daemon/http, so the server's includes run one
 * way: server → api, sse → request → provider. */
#ifndef IOCD_HTTP_PROVIDER_H
#define IOCD_HTTP_PROVIDER_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct iocd_devices_filter;

/* In-memory state for the endpoints, called on the loop thread. */
struct iocd_http_provider {
    /* GET /api/v1/status: devices per source by state, rejects per adapter
     * and reason, broker state, flush figures. Caller frees. */
    cJSON *(*status)(void *ud);
    /* GET /api/v1/latest?match=&limit=&after=: one page of the latest
     * values of the series matching (NULL: all), at most `limit` items,
     * starting after cursor `after` (0: the start), as JSON text
     * {"series":[...]} plus "next" when there is more (*len bytes; NULL
     * out of memory). Caller frees. */
    char *(*latest)(void *ud, const char *match, uint64_t after, size_t limit, size_t *len);
    /* GET /api/v1/devices?match=&state=&area=&registered=&bbox=&limit=&after=:
     * one page of the devices `flt` selects (daemon/live/feed.h) as JSON
     * text, paged like latest (*len bytes; NULL out of memory). Caller
     * frees. */
    char *(*devices)(void *ud, const struct iocd_devices_filter *flt, uint64_t after,
                     size_t limit, size_t *len);
    /* Alerts raised now (an array). */
    cJSON *(*alerts_active)(void *ud);
    /* POST /api/v1/alerts/{ack,assign,resolve}: `action` by `actor` on
     * the active alert `id`, with `note` and (assign) `to`. Returns the
     * HTTP status (200, 404 no such active alert, 409 already
     * acknowledged) and *out, the answer's body (caller frees). */
    int (*alert_act)(void *ud, const char *action, const char *id, const char *actor,
                     const char *note, const char *to, cJSON **out);
    /* Silences: op "list" (GET /api/v1/silences), "add" (POST: the fields,
     * for duration_ms, with the reason, by actor) or "lift" (POST
     * /api/v1/silences/lift: id). Returns the HTTP status, *out the body. */
    int (*silence)(void *ud, const char *op, const char *id, const char *const fields[4],
                   int64_t duration_ms, const char *reason, const char *actor, cJSON **out);
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
    uint64_t foreign_host; /* refused: Host not the loopback's nor allowed (421) */
    uint64_t missing_host; /* refused: HTTP/1.1 without Host (400) */
    uint64_t forbidden;    /* an account whose role may not do it (403) */
    uint64_t logins;       /* POST /api/v1/login that opened a session */
    uint64_t login_failures; /* ... refused: no account has that token */
    uint64_t sessions;     /* login sessions open now */
};

#endif
