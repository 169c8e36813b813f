/* daemon/http/api.h — the HTTP server's JSON endpoints (status, latest,
 * devices, series, windows, alerts, meta, metrics, healthz) and the
 * operator console's files. Shapes: docs/api.md.
 *
 * Owns: the query jobs in flight (each malloc'd, its body run on a libuv
 * worker thread with its own read-only SQLite connection through
 * daemon/query); struct iocd_http_api itself is the server's, filled by
 * it. Loop thread only, except the jobs' bodies. */
#ifndef IOCD_HTTP_API_H
#define IOCD_HTTP_API_H

#include <uv.h>

#include "daemon/config/config.h"
#include "daemon/http/provider.h"
#include "daemon/http/request.h"

struct iocd_http_api {
    uv_loop_t *loop;
    const struct iocd_config *cfg;
    struct iocd_http_provider prov;
    const char *db_path;                 /* the store the jobs read */
    const struct iocd_http_stats *stats; /* the server's, for /metrics and status */
    unsigned jobs;                       /* query jobs on the worker threads */
    /* Called when a job has ended (jobs may have dropped to 0). */
    void (*job_ended)(void *ud);
    void *job_ended_ud;
};

void iocd_http_on_healthz(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_metrics(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_status(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_meta(struct iocd_http_api *a, h2o_req_t *req);
/* GET /api/v1/map/areas: the GeoJSON of [http] map_areas (404 without). */
void iocd_http_on_map_areas(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_latest(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_devices(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_series(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_windows(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_alerts(struct iocd_http_api *a, h2o_req_t *req);
/* POST /api/v1/alerts/ACTION (ack, assign, resolve) by `actor`: a JSON
 * body {"id":..., "note":..., "to":...} (Content-Type application/json). */
void iocd_http_on_alert_act(struct iocd_http_api *a, h2o_req_t *req, const char *action,
                            const char *actor);
/* GET /api/v1/silences; POST /api/v1/silences ({"rule", "source",
 * "device", "area", "duration": "2h", "reason"}); POST
 * /api/v1/silences/lift ({"id"}). op: "list", "add" or "lift". */
void iocd_http_on_silences(struct iocd_http_api *a, h2o_req_t *req, const char *op,
                           const char *actor);
/* GET /api/v1/events: stored events, filtered, newest first, paged. */
void iocd_http_on_events(struct iocd_http_api *a, h2o_req_t *req);
void iocd_http_on_static(struct iocd_http_api *a, h2o_req_t *req);

#endif
