/* daemon/http/api.c — the HTTP server's JSON endpoints and console (see
 * api.h).
 *
 * Owns: the answers built from the provider (loop thread), the query jobs
 * (malloc'd; their body runs on a libuv worker thread with its own
 * read-only SQLite connection through daemon/query) and the serving of the
 * console (embedded table, or files under [http] web_root). A job outlives
 * its request: a small shared block in the request's pool points at it,
 * and the pool's dispose callback cuts that link when h2o frees the
 * request (client gone), so the job's completion then only frees the job.
 * Shapes: docs/api.md. */
#include "daemon/http/api.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/base/bbox.h"
#include "daemon/base/log.h"
#include "daemon/base/severity.h"
#include "daemon/query/events.h"
#include "daemon/query/query.h"
#include "daemon/base/timeutil.h"
#include "daemon/http/web_assets.h"
#include "daemon/http/web_root.h"
#include "daemon/live/feed.h"

#define WEB_FILE_MAX (8 << 20)

/* ------------------------------------------------------------------------
 * provider endpoints (loop thread) */

static void live_stats_json(const struct iocd_http_api *h, cJSON *o)
{
    cJSON_AddNumberToObject(o, "clients", (double)h->stats->live_clients);
    cJSON_AddNumberToObject(o, "sent", (double)h->stats->live_items_sent);
    cJSON_AddNumberToObject(o, "dropped", (double)h->stats->live_items_dropped);
}

void iocd_http_on_healthz(struct iocd_http_api *h, h2o_req_t *req)
{
    cJSON *body = cJSON_CreateObject();
    int r = h->prov.health ? h->prov.health(h->prov.ud, body) : 0;
    if (!cJSON_GetObjectItemCaseSensitive(body, "status"))
        cJSON_AddStringToObject(body, "status", r == 0 ? "ok" : "failing");
    iocd_http_send_json(req, r == 0 ? 200 : 503, body);
}

void iocd_http_on_metrics(struct iocd_http_api *h, h2o_req_t *req)
{
    char *daemon = h->prov.metrics ? h->prov.metrics(h->prov.ud) : NULL;
    char own[3072];
    int n = snprintf(own, sizeof(own),
                     "# HELP iocd_http_requests_total HTTP requests received.\n"
                     "# TYPE iocd_http_requests_total counter\n"
                     "iocd_http_requests_total %" PRIu64 "\n"
                     "# HELP iocd_http_unauthorized_total HTTP requests refused for a missing "
                     "or wrong token.\n"
                     "# TYPE iocd_http_unauthorized_total counter\n"
                     "iocd_http_unauthorized_total %" PRIu64 "\n"
                     "# HELP iocd_http_forbidden_total HTTP requests refused because the "
                     "account's role may not do it (403).\n"
                     "# TYPE iocd_http_forbidden_total counter\n"
                     "iocd_http_forbidden_total %" PRIu64 "\n"
                     "# HELP iocd_http_logins_total Console logins (POST /api/v1/login) by "
                     "result.\n"
                     "# TYPE iocd_http_logins_total counter\n"
                     "iocd_http_logins_total{result=\"ok\"} %" PRIu64 "\n"
                     "iocd_http_logins_total{result=\"refused\"} %" PRIu64 "\n"
                     "# HELP iocd_http_sessions Console login sessions open.\n"
                     "# TYPE iocd_http_sessions gauge\n"
                     "iocd_http_sessions %" PRIu64 "\n"
                     "# HELP iocd_http_host_refused_total HTTP requests refused by the Host "
                     "check: a Host neither the loopback's nor in [http] allowed_hosts (421), "
                     "or none (400).\n"
                     "# TYPE iocd_http_host_refused_total counter\n"
                     "iocd_http_host_refused_total{reason=\"foreign_host\"} %" PRIu64 "\n"
                     "iocd_http_host_refused_total{reason=\"missing_host\"} %" PRIu64 "\n"
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
                     h->stats->requests, h->stats->unauthorized, h->stats->forbidden,
                     h->stats->logins, h->stats->login_failures, h->stats->sessions,
                     h->stats->foreign_host,
                     h->stats->missing_host, h->stats->live_clients,
                     h->stats->live_items_sent, h->stats->live_items_dropped);
    size_t dl = daemon ? strlen(daemon) : 0;
    size_t ol = n > 0 ? (size_t)n : 0;
    char *all = h2o_mem_alloc_pool(&req->pool, dl + ol + 1);
    if (dl)
        memcpy(all, daemon, dl);
    memcpy(all + dl, own, ol);
    free(daemon);
    iocd_http_send_body(req, 200, "text/plain; version=0.0.4; charset=utf-8", all, dl + ol);
}

void iocd_http_on_status(struct iocd_http_api *h, h2o_req_t *req)
{
    cJSON *j = h->prov.status ? h->prov.status(h->prov.ud) : NULL;
    if (!j)
        j = cJSON_CreateObject();
    cJSON *live = cJSON_CreateObject();
    live_stats_json(h, live);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "live");
    cJSON_AddItemToObject(j, "live", live);
    iocd_http_send_json(req, 200, j);
}

/* GET /api/v1/meta: the names the console translates, from the daemon's
 * own tables: {"severities":[NAME of ioc.v1.Severity 0, 1, ...]}. */
void iocd_http_on_meta(struct iocd_http_api *h, h2o_req_t *req)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *sev = cJSON_AddArrayToObject(j, "severities");
    for (int i = 0; i < IOCD_SEVERITY__COUNT; i++)
        cJSON_AddItemToArray(sev, cJSON_CreateString(iocd_severity_name(i)));
    /* The console map's settings (docs/map.md). */
    cJSON *map = cJSON_AddObjectToObject(j, "map");
    cJSON_AddStringToObject(map, "tiles", h->cfg->http.map_tiles ? h->cfg->http.map_tiles : "");
    cJSON_AddStringToObject(map, "attribution",
                            h->cfg->http.map_attribution ? h->cfg->http.map_attribution : "");
    cJSON_AddBoolToObject(map, "areas", h->cfg->http.map_areas_json != NULL);
    cJSON_AddStringToObject(map, "area_value",
                            h->cfg->http.map_area_value ? h->cfg->http.map_area_value : "");
    iocd_http_send_json(req, 200, j);
}

void iocd_http_on_map_areas(struct iocd_http_api *h, h2o_req_t *req)
{
    if (!h->cfg->http.map_areas_json)
        return iocd_http_send_error(req, 404, "no [http] map_areas is configured");
    iocd_http_send_body(req, 200, "application/geo+json", h->cfg->http.map_areas_json,
                        h->cfg->http.map_areas_len);
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
    iocd_http_send_json(req, 200, v);
}

/* Paged: a listing of every series in one answer held the loop for
 * 0.75 s at 200,000 series. */
void iocd_http_on_latest(struct iocd_http_api *h, h2o_req_t *req)
{
    char match[PARAM_MAX];
    int64_t limit, after;
    int r = iocd_http_param(req, "match", match, sizeof(match));
    if (r < 0 || iocd_http_param_int(req, "limit", 1, 2000, 1000, &limit) < 0 ||
        iocd_http_param_int(req, "after", 0, INT64_MAX, 0, &after) < 0)
        return iocd_http_send_error(req, 400, "bad parameter (match, limit 1..2000, after)");
    if (!h->prov.latest)
        return send_list(req, "series", NULL);
    size_t len = 0;
    char *body = h->prov.latest(h->prov.ud, r ? match : NULL, (uint64_t)after, (size_t)limit, &len);
    if (!body)
        return iocd_http_send_error(req, 500, "out of memory");
    iocd_http_send_body(req, 200, "application/json", body, len);
    free(body);
}

void iocd_http_on_devices(struct iocd_http_api *h, h2o_req_t *req)
{
    char match[PARAM_MAX], state[32], area[PARAM_MAX], registered[16], bbox[256];
    int r = iocd_http_param(req, "match", match, sizeof(match));
    int s = iocd_http_param(req, "state", state, sizeof(state));
    int ra = iocd_http_param(req, "area", area, sizeof(area));
    int rr = iocd_http_param(req, "registered", registered, sizeof(registered));
    int rb = iocd_http_param(req, "bbox", bbox, sizeof(bbox));
    struct iocd_devices_filter flt = {.registered = -1};
    if (r < 0 || ra < 0)
        return iocd_http_send_error(req, 400, "bad match or area");
    if (s < 0 || (s > 0 && strcmp(state, "online") && strcmp(state, "stale") &&
                  strcmp(state, "offline") && strcmp(state, "unseen")))
        return iocd_http_send_error(req, 400, "bad state (online, stale, offline or unseen)");
    if (rr < 0 || (rr > 0 && strcmp(registered, "true") && strcmp(registered, "false")))
        return iocd_http_send_error(req, 400, "bad registered (true or false)");
    if (rb < 0 || (rb > 0 && iocd_bbox_parse(bbox, &flt.bbox) < 0))
        return iocd_http_send_error(req, 400,
                                    "bad bbox (minlon,minlat,maxlon,maxlat: lon -180..180, "
                                    "lat -90..90, minlat <= maxlat)");
    int64_t limit, after;
    if (iocd_http_param_int(req, "limit", 1, 2000, 1000, &limit) < 0 ||
        iocd_http_param_int(req, "after", 0, INT64_MAX, 0, &after) < 0)
        return iocd_http_send_error(req, 400, "bad parameter (limit 1..2000, after)");
    flt.match = r ? match : NULL;
    flt.state = s ? state : NULL;
    flt.area = ra ? area : NULL;
    if (rr > 0)
        flt.registered = strcmp(registered, "true") == 0;
    flt.has_bbox = rb > 0;
    if (!h->prov.devices)
        return send_list(req, "devices", NULL);
    size_t len = 0;
    char *body = h->prov.devices(h->prov.ud, &flt, (uint64_t)after, (size_t)limit, &len);
    if (!body)
        return iocd_http_send_error(req, 500, "out of memory");
    iocd_http_send_body(req, 200, "application/json", body, len);
    free(body);
}

/* ------------------------------------------------------------------------
 * query jobs (worker threads) */

enum job_kind { JOB_SERIES, JOB_WINDOWS, JOB_ALERTS, JOB_EVENTS };

struct job;
struct job_ref {
    struct job *job; /* NULL once the job answered */
};

struct job {
    uv_work_t work;
    struct iocd_http_api *h;
    struct job_ref *ref; /* NULL once the request is gone */
    h2o_req_t *req;
    enum job_kind kind;
    char a[PARAM_MAX], b[PARAM_MAX]; /* series / match, q */
    struct iocd_series_query sq;
    struct iocd_windows_query wq;
    struct iocd_alerts_query aq;
    struct iocd_events_query eq;
    char ev[6][PARAM_MAX]; /* events: source, kind, area, device, status, case */
    struct iocd_bbox bbox; /* events: eq.bbox points here */
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
    size_t n = sizeof(j->err);
    switch (j->kind) {
    case JOB_SERIES: j->rc = iocd_query_series(db, &j->sq, &j->result, j->err, n); break;
    case JOB_WINDOWS: j->rc = iocd_query_windows(db, &j->wq, &j->result, j->err, n); break;
    case JOB_ALERTS: j->rc = iocd_query_alerts(db, &j->aq, &j->result, j->err, n); break;
    case JOB_EVENTS: j->rc = iocd_query_events(db, &j->eq, &j->result, j->err, n); break;
    }
    iocd_query_close(db);
}

static void job_done(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct iocd_http_api *h = j->h;
    h->jobs--;
    if (j->ref) {
        h2o_req_t *req = j->req;
        j->ref->job = NULL;
        if (status != 0) {
            iocd_http_send_error(req, 500, "cancelled");
        } else if (j->rc != IOCD_QUERY_OK) {
            if (j->rc == IOCD_QUERY_FAILED)
                iocd_log_warn("http", "query failed: %s", j->err);
            int code = j->rc == IOCD_QUERY_BAD ? 400 : j->rc == IOCD_QUERY_NOTFOUND ? 404 : 500;
            iocd_http_send_error(req, code, j->err);
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
            iocd_http_send_json(req, 200, res);
        }
    }
    cJSON_Delete(j->result);
    free(j);
    if (h->job_ended)
        h->job_ended(h->job_ended_ud);
}

static struct job *job_new(struct iocd_http_api *h, h2o_req_t *req, enum job_kind kind)
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

static void job_start(struct iocd_http_api *h, h2o_req_t *req, struct job *j)
{
    struct job_ref *ref = h2o_mem_alloc_shared(&req->pool, sizeof(*ref), job_ref_dispose);
    ref->job = j;
    j->ref = ref;
    int r = uv_queue_work(h->loop, &j->work, job_work, job_done);
    if (r != 0) {
        ref->job = NULL;
        free(j);
        iocd_http_send_error(req, 500, uv_strerror(r));
        return;
    }
    h->jobs++;
}

void iocd_http_on_series(struct iocd_http_api *h, h2o_req_t *req)
{
    struct job *j = job_new(h, req, JOB_SERIES);
    if (!j)
        return iocd_http_send_error(req, 500, "out of memory");
    int rm = iocd_http_param(req, "match", j->a, sizeof(j->a));
    int rq = iocd_http_param(req, "q", j->b, sizeof(j->b));
    if (rm < 0 || rq < 0 ||
        iocd_http_param_int(req, "limit", 1, 10000, 1000, &j->sq.limit) < 0 ||
        iocd_http_param_int(req, "offset", 0, INT64_MAX / 2, 0, &j->sq.offset) < 0) {
        free(j);
        return iocd_http_send_error(req, 400, "bad parameter (match, q, limit 1..10000, offset)");
    }
    j->sq.match = rm ? j->a : NULL;
    j->sq.q = rq ? j->b : NULL;
    job_start(h, req, j);
}

void iocd_http_on_windows(struct iocd_http_api *h, h2o_req_t *req)
{
    struct job *j = job_new(h, req, JOB_WINDOWS);
    if (!j)
        return iocd_http_send_error(req, 500, "out of memory");
    const char *bad = NULL;
    int64_t res_ms = 0;
    char res[64];
    int rr = iocd_http_param(req, "resolution", res, sizeof(res));
    if (iocd_http_param(req, "series", j->a, sizeof(j->a)) != 1 || !j->a[0])
        bad = "series is required";
    else if (rr < 0 || (rr > 0 && (iocd_duration_parse(res, &res_ms) != 0 || res_ms <= 0 ||
                                    res_ms % 1000)))
        bad = "bad resolution (whole seconds: 60s, 1m, 1h, 1d)";
    else if (iocd_http_param_time(req, "from", INT64_MIN, &j->wq.from_ms) < 0 ||
             iocd_http_param_time(req, "to", INT64_MAX, &j->wq.to_ms) < 0)
        bad = "bad from or to (RFC 3339 or epoch milliseconds)";
    else if (iocd_http_param_int(req, "limit", 1, 10000, 1000, &j->wq.limit) < 0)
        bad = "bad limit (1..10000)";
    else if (iocd_http_param_duration(req, "rolling", &j->wq.rolling_ms) < 0 ||
             iocd_http_param_duration(req, "step", &j->wq.step_ms) < 0)
        bad = "bad rolling or step (whole seconds: 1h, 5m)";
    else if ((j->wq.rolling_ms > 0) != (j->wq.step_ms > 0))
        bad = "rolling and step go together";
    if (bad) {
        free(j);
        return iocd_http_send_error(req, 400, bad);
    }
    j->wq.series = j->a;
    j->wq.res_s = res_ms / 1000;
    j->wq.now_ms = iocd_now_ms();
    job_start(h, req, j);
}

void iocd_http_on_alerts(struct iocd_http_api *h, h2o_req_t *req)
{
    struct job *j = job_new(h, req, JOB_ALERTS);
    if (!j)
        return iocd_http_send_error(req, 500, "out of memory");
    int64_t now = iocd_now_ms();
    if (iocd_http_param_time(req, "to", INT64_MAX, &j->aq.to_ms) < 0 ||
        iocd_http_param_time(req, "from", INT64_MIN, &j->aq.from_ms) < 0 ||
        iocd_http_param_int(req, "limit", 1, 10000, 100, &j->aq.limit) < 0) {
        free(j);
        return iocd_http_send_error(req, 400, "bad parameter (from, to, limit 1..10000)");
    }
    if (j->aq.from_ms == INT64_MIN)
        j->aq.from_ms = (j->aq.to_ms == INT64_MAX ? now : j->aq.to_ms) - 86400000;
    job_start(h, req, j);
}

/* A string member of `body` up to `max` bytes: 1, 0 absent, -1 bad. */
static int body_str(const cJSON *body, const char *key, size_t max, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    *out = "";
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
        return -1;
    *out = v->valuestring;
    return 1;
}

void iocd_http_on_silences(struct iocd_http_api *h, h2o_req_t *req, const char *op,
                           const char *actor)
{
    if (!h->prov.silence)
        return iocd_http_send_error(req, 404, "no such endpoint");
    cJSON *out = NULL;
    int status;
    if (strcmp(op, "list") == 0) {
        status = h->prov.silence(h->prov.ud, op, NULL, NULL, 0, NULL, actor, &out);
    } else {
        bool answered;
        cJSON *body = iocd_http_json_body(req, &answered);
        if (answered)
            return;
        const char *bad = NULL, *id = "", *reason = "", *dur = "";
        const char *f[4] = {"", "", "", ""};
        static const char *const names[4] = {"rule", "source", "device", "area"};
        static const size_t max[4] = {64, 64, 128, 128};
        int64_t dur_ms = 0;
        if (!cJSON_IsObject(body))
            bad = "the body must be a JSON object";
        else if (strcmp(op, "lift") == 0 && (body_str(body, "id", 23, &id) != 1 || !id[0]))
            bad = "id: the silence's id is required";
        for (int i = 0; !bad && strcmp(op, "add") == 0 && i < 4; i++)
            if (body_str(body, names[i], max[i], &f[i]) < 0)
                bad = "rule, source, device, area: strings (64, 64, 128, 128 bytes at most)";
        if (!bad && strcmp(op, "add") == 0) {
            if (!f[0][0] && !f[1][0] && !f[2][0] && !f[3][0])
                bad = "a silence names at least one of rule, source, device, area";
            else if (body_str(body, "duration", 32, &dur) != 1 ||
                     iocd_duration_parse(dur, &dur_ms) || dur_ms <= 0 ||
                     dur_ms > INT64_C(366) * 86400000)
                bad = "duration: a duration up to 366d, e.g. 2h, is required";
            else if (body_str(body, "reason", 255, &reason) != 1 || !reason[0])
                bad = "reason: why (at most 255 bytes) is required";
        }
        if (bad) {
            cJSON_Delete(body);
            return iocd_http_send_error(req, 400, bad);
        }
        status = h->prov.silence(h->prov.ud, op, id, f, dur_ms, reason, actor, &out);
        cJSON_Delete(body);
    }
    if (!out)
        return iocd_http_send_error(req, 500, "out of memory");
    iocd_http_send_json(req, status, out);
}

void iocd_http_on_alert_act(struct iocd_http_api *h, h2o_req_t *req, const char *action,
                            const char *actor)
{
    bool answered;
    cJSON *body = iocd_http_json_body(req, &answered);
    if (answered)
        return;
    const char *id, *note, *to;
    const char *bad = NULL;
    if (!cJSON_IsObject(body))
        bad = "the body must be a JSON object";
    else if (body_str(body, "id", 1024, &id) != 1 || !id[0])
        bad = "id: the alert's id (RULE/SERIES) is required";
    else if (body_str(body, "note", 500, &note) < 0)
        bad = "note: a string of at most 500 bytes";
    else if (body_str(body, "to", 63, &to) < 0 ||
             (strcmp(action, "assign") == 0 && !to[0]))
        bad = "to: the operator it is assigned to (a string of 1 to 63 bytes)";
    if (bad || !h->prov.alert_act) {
        cJSON_Delete(body);
        return iocd_http_send_error(req, 400, bad ? bad : "not available");
    }
    cJSON *out = NULL;
    int status = h->prov.alert_act(h->prov.ud, action, id, actor, note, to, &out);
    cJSON_Delete(body);
    if (!out)
        return iocd_http_send_error(req, 500, "out of memory");
    iocd_http_send_json(req, status, out);
}

void iocd_http_on_events(struct iocd_http_api *h, h2o_req_t *req)
{
    struct job *j = job_new(h, req, JOB_EVENTS);
    if (!j)
        return iocd_http_send_error(req, 500, "out of memory");
    static const char *const names[6] = {"source", "kind", "area", "device", "status", "case"};
    const char **slots[6] = {&j->eq.source, &j->eq.kind,   &j->eq.area,
                             &j->eq.device, &j->eq.status, &j->eq.case_id};
    const char *bad = NULL;
    for (int i = 0; i < 6 && !bad; i++) {
        int r = iocd_http_param(req, names[i], j->ev[i], sizeof(j->ev[i]));
        if (r < 0)
            bad = "bad source, kind, area, device, status or case";
        *slots[i] = r > 0 ? j->ev[i] : NULL;
    }
    char sev[32], before[64], bbox[256];
    int rs = bad ? 0 : iocd_http_param(req, "severity", sev, sizeof(sev));
    int rb = bad ? 0 : iocd_http_param(req, "before", before, sizeof(before));
    int rx = bad ? 0 : iocd_http_param(req, "bbox", bbox, sizeof(bbox));
    j->eq.min_severity = -1;
    if (bad)
        ;
    else if (rs < 0 || (rs > 0 && (j->eq.min_severity = iocd_severity_parse(sev)) < 0))
        bad = "bad severity (unspecified, info, warning, minor, major, critical: that level or higher)";
    else if (iocd_http_param_time(req, "from", INT64_MIN, &j->eq.from_ms) < 0 ||
             iocd_http_param_time(req, "to", INT64_MAX, &j->eq.to_ms) < 0)
        bad = "bad from or to (RFC 3339 or epoch milliseconds)";
    else if (iocd_http_param_int(req, "limit", 1, 1000, 100, &j->eq.limit) < 0)
        bad = "bad limit (1..1000)";
    else if (rb < 0 || (rb > 0 && iocd_query_events_cursor(before, &j->eq) < 0))
        bad = "bad before (the next of the previous page: TIME_MS:ID)";
    else if (rx < 0 || (rx > 0 && iocd_bbox_parse(bbox, &j->bbox) < 0))
        bad = "bad bbox (minlon,minlat,maxlon,maxlat: lon -180..180, lat -90..90, "
              "minlat <= maxlat)";
    else if (rx > 0)
        j->eq.bbox = &j->bbox;
    if (bad) {
        free(j);
        return iocd_http_send_error(req, 400, bad);
    }
    job_start(h, req, j);
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

void iocd_http_on_static(struct iocd_http_api *h, h2o_req_t *req)
{
    char path[PARAM_MAX];
    h2o_iovec_t p = req->path_normalized;
    if (p.len == 0 || p.len >= sizeof(path) - 16 || p.base[0] != '/' ||
        memchr(p.base, '\0', p.len))
        return iocd_http_send_error(req, 404, "not found");
    memcpy(path, p.base, p.len);
    path[p.len] = '\0';
    if (strcmp(path, "/") == 0)
        strcpy(path, "/index.html");
    /* h2o normalised the path (no "." or ".." segments left); refuse any
     * that slipped through, and hidden files. */
    if (strstr(path, "/.") || strstr(path, "//") || strchr(path, '\\'))
        return iocd_http_send_error(req, 404, "not found");

    if (h->cfg->http.web_root && h->cfg->http.web_root[0]) {
        /* Every component beneath the root, no symbolic link anywhere. */
        int fd = iocd_web_root_open(h->cfg->http.web_root, path + 1, false);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_FILE_MAX) {
            if (fd >= 0)
                close(fd);
            return iocd_http_send_error(req, 404, "not found");
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
            return iocd_http_send_error(req, 500, "read error");
        return iocd_http_send_body(req, 200, content_type_of(path), body, len);
    }
    for (size_t i = 0; i < iocd_web_n_assets; i++) {
        const struct iocd_web_asset *a = &iocd_web_assets[i];
        if (strcmp(a->path, path) == 0)
            return iocd_http_send_body(req, 200, a->content_type, (const char *)a->data, a->len);
    }
    iocd_http_send_error(req, 404,
                         iocd_web_n_assets ? "not found" : "not found (console not built in)");
}

