/* daemon/query/query.c — reads of the stored data for the HTTP API, and the
 * window core, series lookup and resolution choice that tools/iocctl/
 * shares (query.h).
 *
 * Owns: the statements of one call and the cJSON it returns. Rolling
 * windows are merged from stored windows ("buckets") of one resolution,
 * read once each in order, through a two-stack queue so each step costs
 * O(1) merges amortized; sums carry a Neumaier compensation term;
 * quantiles come from merged sketches, clamped to [min, max]. */
#include "daemon/query/query.h"
#include "daemon/base/severity.h"
#include "daemon/base/topic.h"
#include "daemon/query/states.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/aggregate/sketch.h"
#include "daemon/base/timeutil.h"

#define DAY_MS INT64_C(86400000)

static const double quantiles[] = {0.5, 0.9, 0.95, 0.99};
static const char *const quantile_keys[] = {"p50", "p90", "p95", "p99"};
#define N_Q 4

static const char *severity_name(int64_t v)
{
    const char *n = iocd_severity_name(v);
    return n ? n : "unspecified";
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
 * the window core (query.h; tools/iocctl/ formats from it too) */

enum { W_START, W_COUNT, W_SUM, W_SUMSQ, W_MIN, W_MAX, W_FIRST, W_FIRST_MS, W_LAST, W_LAST_MS,
       W_SKETCH };
#define WINDOW_COLUMNS \
    "start_ms, count, sum, sumsq, min, max, first, first_ms, last, last_ms, sketch"

typedef struct iocd_query_agg agg_t;

/* The empty merge. Allocates nothing. */
static void agg_init(agg_t *a)
{
    memset(a, 0, sizeof(*a));
    a->min = INFINITY;
    a->max = -INFINITY;
    a->first_ms = INT64_MAX;
    a->last_ms = INT64_MIN;
    a->sk_ok = true;
    iocd_sketch_init(&a->sk);
}

static void agg_free(agg_t *a)
{
    iocd_sketch_free(&a->sk);
}

/* *s + *c += x, with the rounding error of the addition kept in *c. */
static void ksum_add(double *s, double *c, double x)
{
    double t = *s + x;
    if (fabs(*s) >= fabs(x))
        *c += (*s - t) + x;
    else
        *c += (x - t) + *s;
    *s = t;
}

/* dst += src: 0, or an IOCD_SKETCH_ error (dst unchanged). Stored windows
 * cover disjoint times, so first and last never tie. */
static int agg_merge(agg_t *dst, const agg_t *src)
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

/* dst (uninitialised) = src: 0 or IOCD_SKETCH_ENOMEM (dst then empty). */
static int agg_copy(agg_t *dst, const agg_t *src)
{
    *dst = *src;
    if (!src->sk_ok) {
        iocd_sketch_init(&dst->sk);
        return 0;
    }
    int r = iocd_sketch_copy(&dst->sk, &src->sk);
    if (r)
        agg_init(dst);
    return r;
}

int iocd_query_agg_quantile(const struct iocd_query_agg *a, double q, double *v)
{
    if (a->count <= 0 || !a->sk_ok)
        return -1;
    if (q <= 0) {
        *v = a->min;
    } else if (q >= 1) {
        *v = a->max;
    } else {
        if (iocd_sketch_quantile(&a->sk, q, v) != 0)
            return -1;
        if (*v < a->min)
            *v = a->min;
        if (*v > a->max)
            *v = a->max;
    }
    return 0;
}

static int fault_db(struct iocd_query_fault *f, struct sqlite3 *db)
{
    f->kind = IOCD_QUERY_FAULT_DB;
    snprintf(f->msg, sizeof(f->msg), "%s", sqlite3_errmsg(db));
    return -1;
}

/* A merge failed with sketch error r. */
static int fault_merge(struct iocd_query_fault *f, int r)
{
    f->kind = IOCD_QUERY_FAULT_MERGE;
    f->nomem = r == IOCD_SKETCH_ENOMEM;
    return -1;
}

/* A window row: 0, or -1 and *f (a is then empty). */
static int agg_from_row(sqlite3_stmt *st, agg_t *a, struct iocd_query_fault *f)
{
    agg_init(a);
    a->count = sqlite3_column_int64(st, W_COUNT);
    a->sum = sqlite3_column_double(st, W_SUM);
    a->sumsq = sqlite3_column_double(st, W_SUMSQ);
    a->min = sqlite3_column_double(st, W_MIN);
    a->max = sqlite3_column_double(st, W_MAX);
    a->first = sqlite3_column_double(st, W_FIRST);
    a->first_ms = sqlite3_column_int64(st, W_FIRST_MS);
    a->last = sqlite3_column_double(st, W_LAST);
    a->last_ms = sqlite3_column_int64(st, W_LAST_MS);
    a->sk_ok = false; /* no sketch: windows stored before schema version 2 */
    if (sqlite3_column_type(st, W_SKETCH) != SQLITE_NULL) {
        const void *blob = sqlite3_column_blob(st, W_SKETCH);
        int len = sqlite3_column_bytes(st, W_SKETCH);
        int r = blob && len > 0 ? iocd_sketch_decode(blob, (size_t)len, &a->sk)
                                : IOCD_SKETCH_EINVAL;
        if (r) {
            agg_free(a);
            f->kind = IOCD_QUERY_FAULT_ROW;
            f->nomem = r == IOCD_SKETCH_ENOMEM;
            f->start_ms = sqlite3_column_int64(st, W_START);
            return -1;
        }
        /* a sketch that misses samples (a pre-v2 window continued) */
        a->sk_ok = a->count >= 0 && iocd_sketch_count(&a->sk) == (uint64_t)a->count;
        if (!a->sk_ok)
            iocd_sketch_free(&a->sk);
    }
    return 0;
}

static void fault_clear(struct iocd_query_fault *f)
{
    memset(f, 0, sizeof(*f));
}

int iocd_query_each_window(struct sqlite3 *db, int64_t series_id, int64_t res_s,
                           int64_t from_ms, int64_t to_ms, int64_t limit,
                           iocd_query_window_fn fn, void *ctx, struct iocd_query_fault *f)
{
    fault_clear(f);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT " WINDOW_COLUMNS " FROM windows WHERE series_id = ?1"
                           " AND res_s = ?2 AND start_ms >= ?3 AND start_ms < ?4"
                           " ORDER BY start_ms LIMIT ?5",
                           -1, &st, NULL) != SQLITE_OK)
        return fault_db(f, db);
    sqlite3_bind_int64(st, 1, series_id);
    sqlite3_bind_int64(st, 2, res_s);
    sqlite3_bind_int64(st, 3, from_ms);
    sqlite3_bind_int64(st, 4, to_ms);
    sqlite3_bind_int64(st, 5, limit < 0 ? -1 : limit);
    int step, rc = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        agg_t a;
        if (agg_from_row(st, &a, f) != 0) {
            rc = -1;
            break;
        }
        int64_t start = sqlite3_column_int64(st, W_START);
        int r = fn(ctx, start, start + res_s * 1000, &a);
        agg_free(&a);
        if (r) {
            f->kind = IOCD_QUERY_FAULT_CALLBACK;
            f->cb_rc = r;
            rc = -1;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = fault_db(f, db);
    sqlite3_finalize(st);
    return rc;
}

/* Two-stack queue of stored windows ("buckets"), oldest first. front[nf -
 * 1] is the oldest bucket and front[i].a the merge of front[i] and every
 * newer front bucket; back[] holds the newer buckets as they were read,
 * back_all their merge. The merge of the whole queue is front[nf - 1].a +
 * back_all. */
struct bucket {
    int64_t start;
    agg_t a;
};
struct swag {
    struct bucket *front, *back;
    size_t nf, nb, capf, capb;
    agg_t back_all;
};

static void swag_init(struct swag *w)
{
    memset(w, 0, sizeof(*w));
    agg_init(&w->back_all);
}

static void swag_free(struct swag *w)
{
    for (size_t i = 0; i < w->nf; i++)
        agg_free(&w->front[i].a);
    for (size_t i = 0; i < w->nb; i++)
        agg_free(&w->back[i].a);
    agg_free(&w->back_all);
    free(w->front);
    free(w->back);
}

static bool grow(struct bucket **v, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    struct bucket *p = n < SIZE_MAX / sizeof(*p) ? realloc(*v, n * sizeof(*p)) : NULL;
    if (!p)
        return false;
    *v = p;
    *cap = n;
    return true;
}

/* Appends b (newer than every queued bucket), taking ownership of it even
 * on failure: 0 or an IOCD_SKETCH_ error. */
static int swag_push(struct swag *w, struct bucket *b)
{
    int r = grow(&w->back, &w->capb, w->nb + 1) ? agg_merge(&w->back_all, &b->a)
                                                 : IOCD_SKETCH_ENOMEM;
    if (r) {
        agg_free(&b->a);
        return r;
    }
    w->back[w->nb++] = *b;
    return 0;
}

static size_t swag_size(const struct swag *w)
{
    return w->nf + w->nb;
}

static int64_t swag_oldest(const struct swag *w)
{
    return w->nf ? w->front[w->nf - 1].start : w->back[0].start;
}

/* Drops the oldest bucket (the queue is not empty): 0 or an error. */
static int swag_pop(struct swag *w)
{
    if (w->nf == 0) {
        /* Move back to front, newest first, merging suffixes. */
        if (!grow(&w->front, &w->capf, w->nb))
            return IOCD_SKETCH_ENOMEM;
        while (w->nb > 0) {
            w->front[w->nf++] = w->back[--w->nb];
            if (w->nf > 1) {
                int r = agg_merge(&w->front[w->nf - 1].a, &w->front[w->nf - 2].a);
                if (r)
                    return r;
            }
        }
        agg_free(&w->back_all);
        agg_init(&w->back_all);
    }
    agg_free(&w->front[--w->nf].a);
    return 0;
}

/* *out (uninitialised) = the merge of every queued bucket: 0 or an error. */
static int swag_all(const struct swag *w, agg_t *out)
{
    if (w->nf == 0)
        return agg_copy(out, &w->back_all);
    int r = agg_copy(out, &w->front[w->nf - 1].a);
    if (!r && (r = agg_merge(out, &w->back_all)) != 0)
        agg_free(out);
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

/* Step boundaries are phase + k * step. */
struct boundaries {
    int64_t phase, step;
};

static int64_t boundary_ceil(const struct boundaries *bd, int64_t t)
{
    return bd->phase - iocd_time_floor_div(bd->phase - t, bd->step) * bd->step;
}

static int64_t boundary_floor(const struct boundaries *bd, int64_t t)
{
    return bd->phase + iocd_time_floor_div(t - bd->phase, bd->step) * bd->step;
}

/* Reads the buckets starting in [lo, hi] into the queue: 0 or -1 and *f. */
static int rolling_read(struct sqlite3 *db, sqlite3_stmt *rd, struct swag *w, int64_t lo,
                        int64_t hi, struct iocd_query_fault *f)
{
    sqlite3_reset(rd);
    sqlite3_bind_int64(rd, 3, lo);
    sqlite3_bind_int64(rd, 4, hi);
    int step;
    while ((step = sqlite3_step(rd)) == SQLITE_ROW) {
        struct bucket b = {.start = sqlite3_column_int64(rd, W_START)};
        if (agg_from_row(rd, &b.a, f) != 0)
            return -1;
        int r = swag_push(w, &b);
        if (r)
            return fault_merge(f, r);
    }
    return step == SQLITE_DONE ? 0 : fault_db(f, db);
}

/* Steps a one-row min()/max() of st: 1 and *out, 0 when NULL (no rows
 * matched), -1 and *f. */
static int step_optional(struct sqlite3 *db, sqlite3_stmt *st, int64_t *out,
                         struct iocd_query_fault *f)
{
    if (sqlite3_step(st) != SQLITE_ROW)
        return fault_db(f, db);
    if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        return 0;
    *out = sqlite3_column_int64(st, 0);
    return 1;
}

static int rolling_run(struct sqlite3 *db, const struct iocd_rolling_query *rq, sqlite3_stmt *rd,
                       sqlite3_stmt *nx, sqlite3_stmt *ph, iocd_query_window_fn fn, void *ctx,
                       struct iocd_query_fault *f)
{
    int64_t res_ms = rq->res_s * 1000, latest;
    /* The phase: the latest stored start aligned down to the resolution,
     * where whole-day windows begin (local midnight). */
    int r = step_optional(db, ph, &latest, f);
    if (r <= 0)
        return r; /* no windows: no points */
    struct boundaries bd = {.phase = latest - iocd_time_floor_div(latest, res_ms) * res_ms,
                            .step = rq->step_ms};
    int64_t last = rq->to_ms != INT64_MAX ? boundary_floor(&bd, clamp_time(rq->to_ms))
                                          : boundary_ceil(&bd, clamp_time(rq->now_ms));
    int64_t e = rq->from_ms != INT64_MIN ? boundary_ceil(&bd, clamp_time(rq->from_ms))
                                         : boundary_ceil(&bd, last - DAY_MS + 1);
    struct swag w;
    swag_init(&w);
    int64_t read_pos = INT64_MIN; /* buckets starting before it were read */
    int64_t points = 0;
    int rc = 0;
    while (rc == 0 && e <= last && points < rq->limit) {
        int64_t lo = e - rq->rolling_ms, hi = e - res_ms; /* bucket starts in [lo, hi] */
        while (rc == 0 && swag_size(&w) && swag_oldest(&w) < lo)
            if ((r = swag_pop(&w)) != 0)
                rc = fault_merge(f, r);
        if (rc != 0)
            break;
        int64_t from = lo > read_pos ? lo : read_pos;
        if (from <= hi && (rc = rolling_read(db, rd, &w, from, hi, f)) != 0)
            break;
        if (hi + 1 > read_pos)
            read_pos = hi + 1;
        if (swag_size(&w) == 0) {
            /* Nothing here: skip to the first boundary that can hold the
             * next stored bucket, if any. */
            int64_t next;
            sqlite3_reset(nx);
            sqlite3_bind_int64(nx, 3, read_pos);
            sqlite3_bind_int64(nx, 4, last - res_ms);
            if ((r = step_optional(db, nx, &next, f)) < 0)
                rc = -1;
            if (r <= 0)
                break;
            int64_t e2 = boundary_ceil(&bd, next + res_ms);
            e = e2 > e ? e2 : e + bd.step;
            continue;
        }
        agg_t all;
        if ((r = swag_all(&w, &all)) != 0) {
            rc = fault_merge(f, r);
            break;
        }
        r = fn(ctx, e - rq->rolling_ms, e, &all);
        agg_free(&all);
        if (r) {
            f->kind = IOCD_QUERY_FAULT_CALLBACK;
            f->cb_rc = r;
            rc = -1;
        }
        points++;
        e += bd.step;
    }
    swag_free(&w);
    return rc;
}

int iocd_query_each_rolling(struct sqlite3 *db, const struct iocd_rolling_query *rq,
                            iocd_query_window_fn fn, void *ctx, struct iocd_query_fault *f)
{
    fault_clear(f);
    sqlite3_stmt *rd = NULL, *nx = NULL, *ph = NULL;
    int rc;
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
        rc = fault_db(f, db);
    } else {
        sqlite3_stmt *sts[] = {rd, nx, ph};
        for (int i = 0; i < 3; i++) {
            sqlite3_bind_int64(sts[i], 1, rq->series_id);
            sqlite3_bind_int64(sts[i], 2, rq->res_s);
        }
        rc = rolling_run(db, rq, rd, nx, ph, fn, ctx, f);
    }
    sqlite3_finalize(rd);
    sqlite3_finalize(nx);
    sqlite3_finalize(ph);
    return rc;
}

/* ------------------------------------------------------------------------
 * windows (HTTP) */

/* The statistic keys of a window or merge into obj. */
static void agg_json(cJSON *o, const agg_t *a)
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
        bool ok = iocd_query_agg_quantile(a, quantiles[i], &v) == 0;
        cJSON_AddItemToObject(o, quantile_keys[i], num_or_null(v, ok));
    }
}

int iocd_query_find_series(struct sqlite3 *db, const char *name, int64_t *id, char **unit,
                           struct iocd_query_fault *f)
{
    fault_clear(f);
    *unit = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, unit FROM series WHERE name = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return fault_db(f, db);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st), found = 0;
    if (step == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(st, 1);
        size_t n = u ? strlen(u) + 1 : 1;
        *id = sqlite3_column_int64(st, 0);
        *unit = malloc(n);
        if (*unit) {
            memcpy(*unit, u ? u : "", n);
            found = 1;
        } else {
            f->kind = IOCD_QUERY_FAULT_DB;
            f->nomem = true;
            found = -1;
        }
    } else if (step != SQLITE_DONE) {
        found = fault_db(f, db);
    }
    sqlite3_finalize(st);
    return found;
}

int iocd_query_resolutions(struct sqlite3 *db, int64_t series_id,
                           struct iocd_query_resolutions *r, struct iocd_query_fault *f)
{
    fault_clear(f);
    r->n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT min(res_s) FROM windows WHERE series_id = ?1 AND res_s > ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return fault_db(f, db);
    /* one index lookup a resolution, however many windows the series has */
    int64_t after = 0;
    int got = 1;
    while (r->n < IOCD_QUERY_MAX_RESOLUTIONS && got == 1) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, series_id);
        sqlite3_bind_int64(st, 2, after);
        got = step_optional(db, st, &after, f);
        if (got == 1)
            r->res_s[r->n++] = after;
    }
    sqlite3_finalize(st);
    return got < 0 ? -1 : 0;
}

int iocd_query_pick_resolution(const struct iocd_query_resolutions *r, int64_t asked_s,
                               int64_t rolling_ms, int64_t step_ms, int64_t *res_s)
{
    *res_s = 0;
    if (asked_s) {
        for (int i = 0; i < r->n; i++)
            if (r->res_s[i] == asked_s)
                *res_s = asked_s;
        return *res_s ? 0 : -1;
    }
    if (!rolling_ms) {
        *res_s = r->n ? r->res_s[0] : 0;
        return 0;
    }
    for (int i = 0; i < r->n; i++) {
        int64_t res = r->res_s[i];
        if (res <= INT64_MAX / 1000 && rolling_ms % (res * 1000) == 0 &&
            step_ms % (res * 1000) == 0)
            *res_s = res;
    }
    return r->n && !*res_s ? -1 : 0;
}

int iocd_query_begin(struct sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    *version = -1;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (*version < 0)
        return -1;
    /* iocd_sketch_merge, iocd_sketch_union, iocd_sketch_quantile */
    return iocd_sketch_sqlite_register(db) == SQLITE_OK ? 0 : -2;
}

static void add_resolution(cJSON *o, const char *key, int64_t ms)
{
    char buf[32];
    iocd_duration_format(ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, key, buf);
}


/* A window or rolling point as JSON into the array ctx. */
struct points {
    cJSON *arr;
    bool rolling; /* points keyed by their end, windows by their start */
};

static int add_point(void *ctx, int64_t start_ms, int64_t end_ms, const agg_t *a)
{
    struct points *p = ctx;
    cJSON *o = cJSON_CreateObject();
    if (p->rolling)
        iocd_query_add_time(o, "end", end_ms);
    else
        iocd_query_add_time(o, "start", start_ms);
    agg_json(o, a);
    cJSON_AddItemToArray(p->arr, o);
    return 0;
}

static int windows_fail(const struct iocd_query_fault *f, bool rolling, char *err, size_t errlen)
{
    char t[64];
    switch (f->kind) {
    case IOCD_QUERY_FAULT_DB:
        return fail(err, errlen, IOCD_QUERY_FAILED, "database: %s", f->msg);
    case IOCD_QUERY_FAULT_ROW:
        if (rolling)
            return fail(err, errlen, IOCD_QUERY_FAILED, "damaged sketch");
        iocd_query_time(f->start_ms, t, sizeof(t));
        return fail(err, errlen, IOCD_QUERY_FAILED, "damaged sketch in the window at %s", t);
    default:
        return fail(err, errlen, IOCD_QUERY_FAILED, "cannot merge sketches");
    }
}

struct series_row {
    int64_t id;
    char *unit; /* malloc'd */
};

/* iocd_query_find_series in the API's terms: IOCD_QUERY_OK and *s, or a
 * code and err. */
static int series_row_find(struct sqlite3 *db, const char *name, struct series_row *s,
                           char *err, size_t errlen)
{
    struct iocd_query_fault f;
    int found = iocd_query_find_series(db, name, &s->id, &s->unit, &f);
    if (found == 1)
        return IOCD_QUERY_OK;
    if (found == 0)
        return fail(err, errlen, IOCD_QUERY_NOTFOUND, "no such series: %s", name);
    if (f.nomem)
        return fail(err, errlen, IOCD_QUERY_FAILED, "out of memory");
    return fail(err, errlen, IOCD_QUERY_FAILED, "database: %s", f.msg);
}

/* The resolution wq reads of the series: IOCD_QUERY_OK and *res_s (0 when
 * the series has no windows), or a code and err. */
static int windows_resolution(struct sqlite3 *db, const struct iocd_windows_query *wq,
                              int64_t series_id, int64_t *res_s, char *err, size_t errlen)
{
    struct iocd_query_resolutions r;
    struct iocd_query_fault f;
    bool rolling = wq->rolling_ms > 0;
    if (iocd_query_resolutions(db, series_id, &r, &f) != 0)
        return fail(err, errlen, IOCD_QUERY_FAILED, "database: %s", f.msg);
    if (iocd_query_pick_resolution(&r, wq->res_s, wq->rolling_ms, wq->step_ms, res_s) == 0) {
        if (wq->res_s && rolling &&
            (wq->rolling_ms % (*res_s * 1000) || wq->step_ms % (*res_s * 1000)))
            return fail(err, errlen, IOCD_QUERY_BAD,
                        "rolling and step must be whole multiples of the resolution");
        return IOCD_QUERY_OK;
    }
    if (!wq->res_s)
        return fail(err, errlen, IOCD_QUERY_BAD,
                    "no stored resolution divides both rolling and step");
    char want[32];
    iocd_duration_format(wq->res_s * 1000, want, sizeof(want));
    return fail(err, errlen, IOCD_QUERY_BAD, "the series has no %s windows", want);
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
    int rc = series_row_find(db, wq->series, &s, err, errlen);
    if (rc != IOCD_QUERY_OK)
        return rc;
    int is_state = iocd_query_is_state(db, s.id);
    if (is_state) {
        /* A state series (docs/states.md): time per state, transitions. */
        free(s.unit);
        if (is_state < 0)
            return fail(err, errlen, IOCD_QUERY_FAILED, "database: %s", sqlite3_errmsg(db));
        if (rolling)
            return fail(err, errlen, IOCD_QUERY_BAD, "a state series has no rolling windows");
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "series", wq->series);
        int64_t to = wq->to_ms != INT64_MAX ? wq->to_ms : wq->now_ms;
        int64_t from = wq->from_ms != INT64_MIN ? wq->from_ms : to - DAY_MS;
        rc = iocd_query_state_windows(db, s.id, wq->res_s, from, to, wq->limit, root, err,
                                      errlen);
        if (rc != IOCD_QUERY_OK) {
            cJSON_Delete(root);
            return rc;
        }
        *out = root;
        return IOCD_QUERY_OK;
    }
    int64_t res_s = 0;
    if ((rc = windows_resolution(db, wq, s.id, &res_s, err, errlen)) != IOCD_QUERY_OK) {
        free(s.unit);
        return rc;
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
        struct iocd_rolling_query rq = {.series_id = s.id,
                                        .res_s = res_s,
                                        .rolling_ms = wq->rolling_ms,
                                        .step_ms = wq->step_ms,
                                        .from_ms = wq->from_ms,
                                        .to_ms = wq->to_ms,
                                        .now_ms = wq->now_ms,
                                        .limit = wq->limit};
        struct points p = {arr, true};
        struct iocd_query_fault f;
        if (res_s && iocd_query_each_rolling(db, &rq, add_point, &p, &f) != 0)
            rc = windows_fail(&f, true, err, errlen);
    } else {
        cJSON_AddItemToObject(root, "windows", arr);
        int64_t to = wq->to_ms != INT64_MAX ? wq->to_ms : wq->now_ms;
        int64_t from = wq->from_ms != INT64_MIN ? wq->from_ms : to - DAY_MS;
        struct points p = {arr, false};
        struct iocd_query_fault f;
        if (res_s && iocd_query_each_window(db, s.id, res_s, from, to, wq->limit, add_point, &p,
                                            &f) != 0)
            rc = windows_fail(&f, false, err, errlen);
    }
    free(s.unit);
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

/* One step of an alert's history: what happened, when, and for an
 * operator's action who did it, with the note (and the assignee). */
static cJSON *transition(const cJSON *attrs, const char *action, int64_t t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "action", action);
    iocd_query_add_time(o, "time", t);
    const char *actor = jstr(attrs, "actor");
    if (actor) {
        cJSON_AddStringToObject(o, "actor", actor);
        const char *note = jstr(attrs, "note");
        cJSON_AddStringToObject(o, "note", note ? note : "");
    }
    const char *assignee = jstr(attrs, "assignee");
    if (strcmp(action, "assigned") == 0 && assignee)
        cJSON_AddStringToObject(o, "assignee", assignee);
    return o;
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
                                    severity_name(sqlite3_column_int64(st, 1)));
            iocd_query_add_time(h, "raised", t);
            cJSON_AddNullToObject(h, "cleared");
            cJSON_AddNullToObject(h, "cleared_ms");
            cJSON_AddItemToObject(h, "value", jnum(a, "value"));
            cJSON_AddItemToObject(h, "threshold", jnum(a, "threshold"));
            cJSON_AddStringToObject(h, "text", text ? text : "");
            cJSON *tr = cJSON_AddArrayToObject(h, "transitions");
            cJSON_AddItemToArray(tr, transition(a, "raised", t));
            cJSON_AddItemToArray(list, h);
        } else if (strcmp(state, "cleared") == 0 || strcmp(state, "acknowledged") == 0 ||
                   strcmp(state, "assigned") == 0) {
            /* the latest still-open raise of this id */
            for (cJSON *h = list->child ? list->child->prev : NULL; h;
                 h = h == list->child ? NULL : h->prev) {
                if (strcmp(jstr(h, "id"), id) != 0)
                    continue;
                if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(h, "cleared")))
                    break;
                const char *action = jstr(a, "action");
                cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(h, "transitions"),
                                     transition(a, action ? action : state, t));
                if (strcmp(state, "cleared") == 0) {
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
