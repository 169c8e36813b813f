/* daemon/query.c — reads of the stored data for the HTTP API (query.h).
 *
 * Owns: the statements of one call and the cJSON it returns. The rolling
 * windows are merged the way tools/iocctl.c merges them: stored windows
 * ("buckets") of one resolution, read once each in order, through a
 * two-stack queue so each step costs O(1) merges amortized; sums carry a
 * Neumaier compensation term; quantiles come from merged sketches,
 * clamped to [min, max]. */
#include "query.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "sketch.h"
#include "timeutil.h"

#define DAY_MS INT64_C(86400000)

static const double quantiles[] = {0.5, 0.9, 0.95, 0.99};
static const char *const quantile_keys[] = {"p50", "p90", "p95", "p99"};
#define N_Q 4

static const char *const severity_names[] = {"unspecified", "info",  "warning",
                                             "minor",       "major", "critical"};

const char *iocd_query_severity_name(int64_t v)
{
    return v >= 0 && v < (int64_t)(sizeof(severity_names) / sizeof(severity_names[0]))
               ? severity_names[v]
               : "unspecified";
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t n, int code,
                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return code;
}

static int db_fail(struct sqlite3 *db, char *err, size_t n)
{
    return fail(err, n, IOCD_QUERY_FAILED, "database: %s", sqlite3_errmsg(db));
}

int iocd_query_open(const char *path, struct sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 2000);
    *out = db;
    return 0;
}

void iocd_query_close(struct sqlite3 *db)
{
    sqlite3_close(db);
}

void iocd_query_time(int64_t ms, char *buf, size_t n)
{
    iocd_time_format(ms, buf, n);
}

void iocd_query_add_time(cJSON *obj, const char *name, int64_t ms)
{
    char t[64], key[64];
    iocd_query_time(ms, t, sizeof(t));
    cJSON_AddStringToObject(obj, name, t);
    snprintf(key, sizeof(key), "%s_ms", name);
    cJSON_AddNumberToObject(obj, key, (double)ms);
}

int iocd_query_parse_time(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return -1;
    char *end;
    if (strspn(s, "0123456789") == strlen(s)) {
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || v > IOCD_TIME_MAX_MS)
            return -1;
        *ms = v;
        return 0;
    }
    return iocd_time_parse_iso8601(s, strlen(s), 0, ms);
}

static cJSON *num_or_null(double v, bool have)
{
    return have && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* ------------------------------------------------------------------------
 * series */

int iocd_query_series(struct sqlite3 *db, const struct iocd_series_query *sq, cJSON **out,
                      char *err, size_t errlen)
{
    sqlite3_stmt *st;
    *out = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, source, device, metric, unit, created_ms FROM series"
                           " ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, errlen);
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    int64_t total = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name)
            continue;
        if (sq->match && *sq->match && !iocd_topic_matches(sq->match, name))
            continue;
        if (sq->q && *sq->q && !strcasestr(name, sq->q))
            continue;
        total++;
        if (total <= sq->offset || total > sq->offset + sq->limit)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        for (int c = 1; c <= 4; c++) {
            static const char *const keys[] = {NULL, "source", "device", "metric", "unit"};
            const char *v = (const char *)sqlite3_column_text(st, c);
            cJSON_AddStringToObject(o, keys[c], v ? v : "");
        }
        iocd_query_add_time(o, "created", sqlite3_column_int64(st, 5));
        cJSON_AddItemToArray(arr, o);
    }
    int rc = IOCD_QUERY_OK;
    if (step != SQLITE_DONE)
        rc = db_fail(db, err, errlen);
    sqlite3_finalize(st);
    cJSON_AddNumberToObject(root, "total", (double)total);
    cJSON_AddItemToObject(root, "series", arr);
    if (rc != IOCD_QUERY_OK) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return rc;
}

/* ------------------------------------------------------------------------
 * windows */

enum { W_START, W_COUNT, W_SUM, W_SUMSQ, W_MIN, W_MAX, W_FIRST, W_FIRST_MS, W_LAST, W_LAST_MS,
       W_SKETCH };
#define WINDOW_COLUMNS \
    "start_ms, count, sum, sumsq, min, max, first, first_ms, last, last_ms, sketch"

/* A stored window or a merge of stored windows. */
struct ragg {
    int64_t count;
    double sum, sum_c, sumsq, sumsq_c;
    double min, max, first, last;
    int64_t first_ms, last_ms;
    bool sk_ok; /* sk holds every sample */
    struct iocd_sketch sk;
};

static void ragg_init(struct ragg *a)
{
    memset(a, 0, sizeof(*a));
    a->min = INFINITY;
    a->max = -INFINITY;
    a->first_ms = INT64_MAX;
    a->last_ms = INT64_MIN;
    a->sk_ok = true;
    iocd_sketch_init(&a->sk);
}

static void ragg_free(struct ragg *a)
{
    iocd_sketch_free(&a->sk);
}

static void ksum_add(double *s, double *c, double x)
{
    double t = *s + x;
    if (fabs(*s) >= fabs(x))
        *c += (*s - t) + x;
    else
        *c += (x - t) + *s;
    *s = t;
}

static int ragg_merge(struct ragg *dst, const struct ragg *src)
{
    if (dst->sk_ok && src->sk_ok) {
        int r = iocd_sketch_merge(&dst->sk, &src->sk);
        if (r)
            return r;
    } else if (dst->sk_ok) {
        dst->sk_ok = false;
        iocd_sketch_free(&dst->sk);
    }
    dst->count += src->count;
    ksum_add(&dst->sum, &dst->sum_c, src->sum);
    dst->sum_c += src->sum_c;
    ksum_add(&dst->sumsq, &dst->sumsq_c, src->sumsq);
    dst->sumsq_c += src->sumsq_c;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    if (src->first_ms < dst->first_ms) {
        dst->first = src->first;
        dst->first_ms = src->first_ms;
    }
    if (src->last_ms > dst->last_ms) {
        dst->last = src->last;
        dst->last_ms = src->last_ms;
    }
    return 0;
}

static int ragg_copy(struct ragg *dst, const struct ragg *src)
{
    *dst = *src;
    if (!src->sk_ok) {
        iocd_sketch_init(&dst->sk);
        return 0;
    }
    int r = iocd_sketch_copy(&dst->sk, &src->sk);
    if (r)
        ragg_init(dst);
    return r;
}

/* A window row: 0, or -1 when its sketch is damaged / memory ran out. */
static int ragg_from_row(sqlite3_stmt *st, struct ragg *a)
{
    ragg_init(a);
    a->count = sqlite3_column_int64(st, W_COUNT);
    a->sum = sqlite3_column_double(st, W_SUM);
    a->sumsq = sqlite3_column_double(st, W_SUMSQ);
    a->min = sqlite3_column_double(st, W_MIN);
    a->max = sqlite3_column_double(st, W_MAX);
    a->first = sqlite3_column_double(st, W_FIRST);
    a->first_ms = sqlite3_column_int64(st, W_FIRST_MS);
    a->last = sqlite3_column_double(st, W_LAST);
    a->last_ms = sqlite3_column_int64(st, W_LAST_MS);
    a->sk_ok = false;
    if (sqlite3_column_type(st, W_SKETCH) != SQLITE_NULL) {
        const void *blob = sqlite3_column_blob(st, W_SKETCH);
        int len = sqlite3_column_bytes(st, W_SKETCH);
        if (!blob || len <= 0 || iocd_sketch_decode(blob, (size_t)len, &a->sk) != 0)
            return -1;
        a->sk_ok = a->count >= 0 && iocd_sketch_count(&a->sk) == (uint64_t)a->count;
        if (!a->sk_ok)
            iocd_sketch_free(&a->sk);
    }
    return 0;
}

/* The statistic keys of a window or merge into obj. */
static void ragg_json(cJSON *o, const struct ragg *a)
{
    double sum = a->sum + a->sum_c, sumsq = a->sumsq + a->sumsq_c;
    bool have = a->count > 0;
    double mean = have ? sum / (double)a->count : 0;
    double var = have ? sumsq / (double)a->count - mean * mean : 0;
    cJSON_AddNumberToObject(o, "count", (double)a->count);
    cJSON_AddItemToObject(o, "sum", num_or_null(sum, true));
    cJSON_AddItemToObject(o, "mean", num_or_null(mean, have));
    cJSON_AddItemToObject(o, "min", num_or_null(a->min, have));
    cJSON_AddItemToObject(o, "max", num_or_null(a->max, have));
    cJSON_AddItemToObject(o, "stddev", num_or_null(sqrt(var > 0 ? var : 0), have));
    cJSON_AddItemToObject(o, "first", num_or_null(a->first, have));
    cJSON_AddItemToObject(o, "last", num_or_null(a->last, have));
    for (int i = 0; i < N_Q; i++) {
        double v = 0;
        bool ok = have && a->sk_ok && iocd_sketch_quantile(&a->sk, quantiles[i], &v) == 0;
        if (ok) {
            if (v < a->min)
                v = a->min;
            if (v > a->max)
                v = a->max;
        }
        cJSON_AddItemToObject(o, quantile_keys[i], num_or_null(v, ok));
    }
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t d = a / b;
    return a % b < 0 ? d - 1 : d;
}

struct series_row {
    int64_t id;
    char unit[128];
};

static int find_series(struct sqlite3 *db, const char *name, struct series_row *s, char *err,
                       size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, unit FROM series WHERE name = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(db, err, errlen);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_ROW) {
        s->id = sqlite3_column_int64(st, 0);
        const char *u = (const char *)sqlite3_column_text(st, 1);
        snprintf(s->unit, sizeof(s->unit), "%s", u ? u : "");
        rc = IOCD_QUERY_OK;
    } else if (step == SQLITE_DONE) {
        rc = fail(err, errlen, IOCD_QUERY_NOTFOUND, "no such series: %s", name);
    } else {
        rc = db_fail(db, err, errlen);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Stored resolutions of the series, ascending (at most `max`). */
static int stored_resolutions(struct sqlite3 *db, int64_t id, int64_t *res, int max, int *n,
                              char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT min(res_s) FROM windows WHERE series_id = ?1 AND res_s > ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, errlen);
    int64_t after = 0;
    *n = 0;
    int rc = IOCD_QUERY_OK;
    while (*n < max) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, after);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = db_fail(db, err, errlen);
            break;
        }
        if (sqlite3_column_type(st, 0) == SQLITE_NULL)
            break;
        after = res[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

static void add_resolution(cJSON *o, const char *key, int64_t ms)
{
    char buf[32];
    iocd_duration_format(ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, key, buf);
}

static int plain_windows(struct sqlite3 *db, const struct iocd_windows_query *wq,
                         const struct series_row *s, int64_t res_s, int64_t from, int64_t to,
                         cJSON *arr, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT " WINDOW_COLUMNS " FROM windows WHERE series_id = ?1"
                           " AND res_s = ?2 AND start_ms >= ?3 AND start_ms < ?4"
                           " ORDER BY start_ms LIMIT ?5",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, errlen);
    sqlite3_bind_int64(st, 1, s->id);
    sqlite3_bind_int64(st, 2, res_s);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, to);
    sqlite3_bind_int64(st, 5, wq->limit);
    int step, rc = IOCD_QUERY_OK;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct ragg a;
        int64_t start = sqlite3_column_int64(st, W_START);
        if (ragg_from_row(st, &a) != 0) {
            ragg_free(&a);
            char t[64];
            iocd_query_time(start, t, sizeof(t));
            rc = fail(err, errlen, IOCD_QUERY_FAILED, "damaged sketch in the window at %s", t);
            break;
        }
        cJSON *o = cJSON_CreateObject();
        iocd_query_add_time(o, "start", start);
        ragg_json(o, &a);
        ragg_free(&a);
        cJSON_AddItemToArray(arr, o);
    }
    if (rc == IOCD_QUERY_OK && step != SQLITE_DONE)
        rc = db_fail(db, err, errlen);
    sqlite3_finalize(st);
    return rc;
}

/* Two-stack queue (see iocctl.c: front[nf-1] oldest, each front entry the
 * merge of itself and newer front entries; back as read, back_all merged). */
struct bucket {
    int64_t start;
    struct ragg a;
};
struct swag {
    struct bucket *front, *back;
    size_t nf, nb, capf, capb;
    struct ragg back_all;
};

static bool grow(struct bucket **v, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    struct bucket *p = realloc(*v, n * sizeof(*p));
    if (!p)
        return false;
    *v = p;
    *cap = n;
    return true;
}

static void swag_free(struct swag *w)
{
    for (size_t i = 0; i < w->nf; i++)
        ragg_free(&w->front[i].a);
    for (size_t i = 0; i < w->nb; i++)
        ragg_free(&w->back[i].a);
    ragg_free(&w->back_all);
    free(w->front);
    free(w->back);
}

static int swag_push(struct swag *w, struct bucket *b)
{
    int r = grow(&w->back, &w->capb, w->nb + 1) ? ragg_merge(&w->back_all, &b->a)
                                                 : IOCD_SKETCH_ENOMEM;
    if (r) {
        ragg_free(&b->a);
        return r;
    }
    w->back[w->nb++] = *b;
    return 0;
}

static int64_t swag_oldest(const struct swag *w)
{
    return w->nf ? w->front[w->nf - 1].start : w->back[0].start;
}

static int swag_pop(struct swag *w)
{
    if (w->nf == 0) {
        if (!grow(&w->front, &w->capf, w->nb))
            return IOCD_SKETCH_ENOMEM;
        while (w->nb > 0) {
            w->front[w->nf++] = w->back[--w->nb];
            if (w->nf > 1) {
                int r = ragg_merge(&w->front[w->nf - 1].a, &w->front[w->nf - 2].a);
                if (r)
                    return r;
            }
        }
        ragg_free(&w->back_all);
        ragg_init(&w->back_all);
    }
    ragg_free(&w->front[--w->nf].a);
    return 0;
}

static int swag_all(const struct swag *w, struct ragg *out)
{
    if (w->nf == 0)
        return ragg_copy(out, &w->back_all);
    int r = ragg_copy(out, &w->front[w->nf - 1].a);
    if (!r && (r = ragg_merge(out, &w->back_all)) != 0)
        ragg_free(out);
    return r;
}

static int64_t clamp_time(int64_t t)
{
    if (t < -IOCD_TIME_MAX_MS)
        return -IOCD_TIME_MAX_MS;
    if (t > 2 * IOCD_TIME_MAX_MS)
        return 2 * IOCD_TIME_MAX_MS;
    return t;
}

static int rolling_windows(struct sqlite3 *db, const struct iocd_windows_query *wq,
                           const struct series_row *s, int64_t res_s, cJSON *arr, char *err,
                           size_t errlen)
{
    sqlite3_stmt *rd = NULL, *nx = NULL, *ph = NULL;
    int rc = IOCD_QUERY_OK;
    int64_t res_ms = res_s * 1000, step = wq->step_ms, rolling = wq->rolling_ms, phase = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT " WINDOW_COLUMNS " FROM windows WHERE series_id = ?1"
                           " AND res_s = ?2 AND start_ms >= ?3 AND start_ms <= ?4"
                           " ORDER BY start_ms",
                           -1, &rd, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT min(start_ms) FROM windows WHERE series_id = ?1"
                           " AND res_s = ?2 AND start_ms >= ?3 AND start_ms <= ?4",
                           -1, &nx, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT max(start_ms) FROM windows WHERE series_id = ?1"
                           " AND res_s = ?2",
                           -1, &ph, NULL) != SQLITE_OK) {
        rc = db_fail(db, err, errlen);
        goto out;
    }
    sqlite3_stmt *sts[] = {rd, nx, ph};
    for (int i = 0; i < 3; i++) {
        sqlite3_bind_int64(sts[i], 1, s->id);
        sqlite3_bind_int64(sts[i], 2, res_s);
    }
    /* Step boundaries are phase + k * step, phase the alignment of the
     * stored windows (local midnight for whole days). */
    if (sqlite3_step(ph) != SQLITE_ROW) {
        rc = db_fail(db, err, errlen);
        goto out;
    }
    if (sqlite3_column_type(ph, 0) == SQLITE_NULL)
        goto out; /* no windows */
    int64_t latest = sqlite3_column_int64(ph, 0);
    phase = latest - floor_div(latest, res_ms) * res_ms;
#define B_CEIL(t) (phase - floor_div(phase - (t), step) * step)
#define B_FLOOR(t) (phase + floor_div((t) - phase, step) * step)
    int64_t last = wq->to_ms != INT64_MAX ? B_FLOOR(clamp_time(wq->to_ms))
                                          : B_CEIL(clamp_time(wq->now_ms));
    int64_t e = wq->from_ms != INT64_MIN ? B_CEIL(clamp_time(wq->from_ms))
                                         : B_CEIL(last - DAY_MS + 1);
    struct swag w;
    memset(&w, 0, sizeof(w));
    ragg_init(&w.back_all);
    int64_t read_pos = INT64_MIN, points = 0;
    while (rc == IOCD_QUERY_OK && e <= last && points < wq->limit) {
        int64_t lo = e - rolling, hi = e - res_ms;
        while (rc == IOCD_QUERY_OK && w.nf + w.nb && swag_oldest(&w) < lo)
            if (swag_pop(&w))
                rc = fail(err, errlen, IOCD_QUERY_FAILED, "cannot merge sketches");
        if (rc != IOCD_QUERY_OK)
            break;
        int64_t from = lo > read_pos ? lo : read_pos;
        if (from <= hi) {
            sqlite3_reset(rd);
            sqlite3_bind_int64(rd, 3, from);
            sqlite3_bind_int64(rd, 4, hi);
            int st;
            while (rc == IOCD_QUERY_OK && (st = sqlite3_step(rd)) == SQLITE_ROW) {
                struct bucket b = {.start = sqlite3_column_int64(rd, W_START)};
                if (ragg_from_row(rd, &b.a) != 0) {
                    ragg_free(&b.a);
                    rc = fail(err, errlen, IOCD_QUERY_FAILED, "damaged sketch");
                } else if (swag_push(&w, &b)) {
                    rc = fail(err, errlen, IOCD_QUERY_FAILED, "cannot merge sketches");
                }
            }
            if (rc == IOCD_QUERY_OK && st != SQLITE_DONE)
                rc = db_fail(db, err, errlen);
            if (rc != IOCD_QUERY_OK)
                break;
        }
        if (hi + 1 > read_pos)
            read_pos = hi + 1;
        if (w.nf + w.nb == 0) {
            sqlite3_reset(nx);
            sqlite3_bind_int64(nx, 3, read_pos);
            sqlite3_bind_int64(nx, 4, last - res_ms);
            if (sqlite3_step(nx) != SQLITE_ROW) {
                rc = db_fail(db, err, errlen);
                break;
            }
            if (sqlite3_column_type(nx, 0) == SQLITE_NULL)
                break;
            int64_t e2 = B_CEIL(sqlite3_column_int64(nx, 0) + res_ms);
            e = e2 > e ? e2 : e + step;
            continue;
        }
        struct ragg all;
        if (swag_all(&w, &all)) {
            rc = fail(err, errlen, IOCD_QUERY_FAILED, "cannot merge sketches");
            break;
        }
        cJSON *o = cJSON_CreateObject();
        iocd_query_add_time(o, "end", e);
        ragg_json(o, &all);
        ragg_free(&all);
        cJSON_AddItemToArray(arr, o);
        points++;
        e += step;
    }
#undef B_CEIL
#undef B_FLOOR
    swag_free(&w);
out:
    sqlite3_finalize(rd);
    sqlite3_finalize(nx);
    sqlite3_finalize(ph);
    return rc;
}

int iocd_query_windows(struct sqlite3 *db, const struct iocd_windows_query *wq, cJSON **out,
                       char *err, size_t errlen)
{
    *out = NULL;
    bool rolling = wq->rolling_ms > 0;
    if (rolling && (wq->step_ms <= 0 || wq->rolling_ms % 1000 || wq->step_ms % 1000))
        return fail(err, errlen, IOCD_QUERY_BAD,
                    "rolling and step must both be given, in whole seconds");
    if (wq->res_s < 0 || wq->res_s > IOCD_TIME_MAX_MS / 1000)
        return fail(err, errlen, IOCD_QUERY_BAD, "bad resolution");
    struct series_row s;
    int rc = find_series(db, wq->series, &s, err, errlen);
    if (rc != IOCD_QUERY_OK)
        return rc;
    int64_t res[64];
    int n = 0;
    if ((rc = stored_resolutions(db, s.id, res, 64, &n, err, errlen)) != IOCD_QUERY_OK)
        return rc;
    int64_t res_s = 0;
    if (wq->res_s) {
        for (int i = 0; i < n; i++)
            if (res[i] == wq->res_s)
                res_s = res[i];
        if (!res_s) {
            char want[32];
            iocd_duration_format(wq->res_s * 1000, want, sizeof(want));
            return fail(err, errlen, IOCD_QUERY_BAD, "the series has no %s windows", want);
        }
        if (rolling && (wq->rolling_ms % (res_s * 1000) || wq->step_ms % (res_s * 1000)))
            return fail(err, errlen, IOCD_QUERY_BAD,
                        "rolling and step must be whole multiples of the resolution");
    } else if (!rolling) {
        res_s = n ? res[0] : 0;
    } else {
        for (int i = 0; i < n; i++)
            if (wq->rolling_ms % (res[i] * 1000) == 0 && wq->step_ms % (res[i] * 1000) == 0)
                res_s = res[i];
        if (n && !res_s)
            return fail(err, errlen, IOCD_QUERY_BAD,
                        "no stored resolution divides both rolling and step");
    }

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "series", wq->series);
    cJSON_AddStringToObject(root, "unit", s.unit);
    if (res_s) {
        add_resolution(root, "resolution", res_s * 1000);
        cJSON_AddNumberToObject(root, "res_s", (double)res_s);
    } else {
        cJSON_AddNullToObject(root, "resolution");
        cJSON_AddNullToObject(root, "res_s");
    }
    cJSON *arr = cJSON_CreateArray();
    if (rolling) {
        add_resolution(root, "rolling", wq->rolling_ms);
        add_resolution(root, "step", wq->step_ms);
        cJSON_AddItemToObject(root, "points", arr);
        if (res_s)
            rc = rolling_windows(db, wq, &s, res_s, arr, err, errlen);
    } else {
        cJSON_AddItemToObject(root, "windows", arr);
        int64_t to = wq->to_ms != INT64_MAX ? wq->to_ms : wq->now_ms;
        int64_t from = wq->from_ms != INT64_MIN ? wq->from_ms : to - DAY_MS;
        if (res_s)
            rc = plain_windows(db, wq, &s, res_s, from, to, arr, err, errlen);
    }
    if (rc != IOCD_QUERY_OK) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return IOCD_QUERY_OK;
}

/* ------------------------------------------------------------------------
 * alerts */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A number, or a string holding one (event attributes are strings). */
static cJSON *jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v))
        return cJSON_CreateNumber(v->valuedouble);
    if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end;
        double d = strtod(v->valuestring, &end);
        if (*end == '\0' && isfinite(d))
            return cJSON_CreateNumber(d);
    }
    return cJSON_CreateNull();
}

int iocd_query_alerts(struct sqlite3 *db, const struct iocd_alerts_query *aq, cJSON **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    sqlite3_stmt *st;
    /* Every alert event from the first raise on (clears may come after
     * `to`), oldest first: each clear closes the open raise of its id. */
    if (sqlite3_prepare_v2(db,
                           "SELECT time_ms, severity, text, attributes FROM events"
                           " WHERE source = 'iocd' AND kind = 'alert' AND time_ms >= ?1"
                           " ORDER BY time_ms, id",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, errlen);
    sqlite3_bind_int64(st, 1, aq->from_ms);
    cJSON *list = cJSON_CreateArray(); /* oldest raise first */
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *attrs = (const char *)sqlite3_column_text(st, 3);
        cJSON *a = attrs ? cJSON_Parse(attrs) : NULL;
        const char *id = jstr(a, "id"), *state = jstr(a, "state");
        int64_t t = sqlite3_column_int64(st, 0);
        if (!id || !state) {
            cJSON_Delete(a);
            continue;
        }
        if (strcmp(state, "raised") == 0 && t < aq->to_ms) {
            cJSON *h = cJSON_CreateObject();
            const char *rule = jstr(a, "rule"), *series = jstr(a, "series");
            const char *text = (const char *)sqlite3_column_text(st, 2);
            cJSON_AddStringToObject(h, "id", id);
            cJSON_AddStringToObject(h, "rule", rule ? rule : "");
            cJSON_AddStringToObject(h, "series", series ? series : "");
            cJSON_AddStringToObject(h, "severity",
                                    iocd_query_severity_name(sqlite3_column_int64(st, 1)));
            iocd_query_add_time(h, "raised", t);
            cJSON_AddNullToObject(h, "cleared");
            cJSON_AddNullToObject(h, "cleared_ms");
            cJSON_AddItemToObject(h, "value", jnum(a, "value"));
            cJSON_AddItemToObject(h, "threshold", jnum(a, "threshold"));
            cJSON_AddStringToObject(h, "text", text ? text : "");
            cJSON_AddItemToArray(list, h);
        } else if (strcmp(state, "cleared") == 0) {
            /* the latest still-open raise of this id */
            for (cJSON *h = list->child ? list->child->prev : NULL; h;
                 h = h == list->child ? NULL : h->prev) {
                if (strcmp(jstr(h, "id"), id) != 0)
                    continue;
                if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(h, "cleared"))) {
                    char tb[64];
                    iocd_query_time(t, tb, sizeof(tb));
                    cJSON_ReplaceItemInObjectCaseSensitive(h, "cleared", cJSON_CreateString(tb));
                    cJSON_ReplaceItemInObjectCaseSensitive(h, "cleared_ms",
                                                           cJSON_CreateNumber((double)t));
                }
                break;
            }
        }
        cJSON_Delete(a);
    }
    int rc = step == SQLITE_DONE ? IOCD_QUERY_OK : db_fail(db, err, errlen);
    sqlite3_finalize(st);
    if (rc != IOCD_QUERY_OK) {
        cJSON_Delete(list);
        return rc;
    }
    /* newest raise first, at most limit */
    cJSON *hist = cJSON_CreateArray();
    int64_t n = 0;
    while (list->child && n < aq->limit) {
        cJSON *last = list->child->prev;
        cJSON_AddItemToArray(hist, cJSON_DetachItemViaPointer(list, last));
        n++;
    }
    cJSON_Delete(list);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "history", hist);
    *out = root;
    return IOCD_QUERY_OK;
}
