/* daemon/store/sqlite.c — the store interface on SQLite: the connection,
 * the batched writes and the start-up readers (see store.h, sqlite.h and
 * docs/storage.md; the schema steps are in schema.c).
 *
 * Owns: each handle's write connection, its prepared statements (kept for
 * the handle's lifetime) and its copy of the path.
 *
 * Durability: WAL with synchronous=NORMAL. A committed flush survives a
 * crash or SIGKILL of iocd; a power loss may lose the last flushes but never
 * corrupts the file. The write connection is used only by iocd_store_flush
 * on the worker thread once the loop runs. */
#include "daemon/store/sqlite.h"

#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/aggregate/sketch.h"
#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"
#include "daemon/store/schema.h"

enum stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SERIES,
    ST_WINDOW,
    ST_COUNTER,
    ST_META,
    ST_EVENT,
    ST_PRUNE_WINDOWS,
    ST_PRUNE_EVENTS,
    ST_JOURNAL,
    ST_PRUNE_JOURNAL,
    ST_WINDOW_JRNL,
    ST_DEVICE,
    ST_WINDOW_PUT,
    ST_WINDOW_ROWS,
    ST_STATE_WINDOW,
    ST_STATE_SERIES,
    ST_PRUNE_STATE_WINDOWS,
    ST__COUNT,
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SERIES] = "INSERT OR IGNORE INTO series(id, name, source, device, metric, unit, "
                  "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* Merge, never overwrite: the stored row plus what arrived since.
     * `excluded` holds the newer samples, so ties in time go to it for
     * `last` and to the stored row for `first` (as iocd_window_merge). */
    [ST_WINDOW] =
        "INSERT INTO windows(series_id, res_s, start_ms, count, sum, sumsq, min, max, first, "
        "first_ms, last, last_ms, jrnl, sketch) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
        "ON CONFLICT(series_id, res_s, start_ms) DO UPDATE SET "
        "count = count + excluded.count, sum = sum + excluded.sum, "
        "sumsq = sumsq + excluded.sumsq, min = min(min, excluded.min), "
        "max = max(max, excluded.max), "
        "first = CASE WHEN excluded.first_ms < first_ms THEN excluded.first ELSE first END, "
        "first_ms = min(first_ms, excluded.first_ms), "
        "last = CASE WHEN excluded.last_ms >= last_ms THEN excluded.last ELSE last END, "
        "last_ms = max(last_ms, excluded.last_ms), jrnl = max(jrnl, excluded.jrnl), "
        "sketch = iocd_sketch_merge(sketch, excluded.sketch)",
    [ST_COUNTER] = "INSERT INTO counters(scope, name, value, updated_ms) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT(scope, name) DO UPDATE SET value = value + excluded.value, "
                   "updated_ms = excluded.updated_ms",
    [ST_META] = "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_EVENT] = "INSERT INTO events(source, kind, severity, text, device, area, status, time_ms, "
                 "received_ms, lat, lon, attributes, case_id) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    /* At most ?3 rows a flush, oldest first: pruning never stalls a flush. */
    [ST_PRUNE_WINDOWS] =
        "DELETE FROM windows WHERE (series_id, res_s, start_ms) IN (SELECT series_id, res_s, "
        "start_ms FROM windows WHERE res_s = ?1 AND start_ms < ?2 ORDER BY start_ms LIMIT ?3)",
    [ST_PRUNE_EVENTS] = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < ?1 "
                        "ORDER BY time_ms LIMIT ?2)",
    [ST_JOURNAL] = "INSERT INTO journal(id, flushed_ms, first_ms, last_ms, n, samples) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* Entries every window has absorbed, older than the raw retention. */
    [ST_PRUNE_JOURNAL] = "DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE id < ?1 "
                         "AND flushed_ms < ?2 ORDER BY id LIMIT ?3)",
    [ST_WINDOW_JRNL] = "SELECT jrnl FROM windows WHERE series_id = ?1 AND res_s = ?2 AND "
                       "start_ms = ?3",
    [ST_DEVICE] = "INSERT INTO devices(source, device, first_seen_ms, last_seen_ms, interval_ms, "
                  "messages, state, lat, lon, position_ms) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                  "ON CONFLICT(source, device) DO UPDATE SET "
                  "first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms, "
                  "interval_ms = excluded.interval_ms, messages = excluded.messages, "
                  "state = excluded.state, lat = excluded.lat, lon = excluded.lon, "
                  "position_ms = excluded.position_ms",
    /* A correction: the row becomes exactly the window given (jrnl never
     * goes back, so the journal replay stays off it). */
    [ST_WINDOW_PUT] =
        "INSERT INTO windows(series_id, res_s, start_ms, count, sum, sumsq, min, max, first, "
        "first_ms, last, last_ms, jrnl, sketch) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
        "ON CONFLICT(series_id, res_s, start_ms) DO UPDATE SET "
        "count = excluded.count, sum = excluded.sum, sumsq = excluded.sumsq, "
        "min = excluded.min, max = excluded.max, first = excluded.first, "
        "first_ms = excluded.first_ms, last = excluded.last, last_ms = excluded.last_ms, "
        "jrnl = max(jrnl, excluded.jrnl), sketch = excluded.sketch",
    /* The rows of one resolution within [?3, ?4), oldest first. */
    [ST_WINDOW_ROWS] = "SELECT count, sum, sumsq, min, max, first, first_ms, last, last_ms, sketch "
                       "FROM windows WHERE series_id = ?1 AND res_s = ?2 AND start_ms >= ?3 AND "
                       "start_ms < ?4 ORDER BY start_ms",
    /* State windows (docs/states.md): increments, merged like the windows. */
    [ST_STATE_WINDOW] =
        "INSERT INTO state_windows(series_id, res_s, start_ms, state, ms, entries, transitions) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT(series_id, res_s, start_ms, state) DO UPDATE SET ms = ms + excluded.ms, "
        "entries = entries + excluded.entries, transitions = transitions + excluded.transitions",
    [ST_STATE_SERIES] =
        "INSERT INTO state_series(series_id, names, state, last_ms, carried_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(series_id) DO UPDATE SET "
        "names = excluded.names, state = excluded.state, last_ms = excluded.last_ms, "
        "carried_ms = excluded.carried_ms",
    [ST_PRUNE_STATE_WINDOWS] =
        "DELETE FROM state_windows WHERE (series_id, res_s, start_ms, state) IN (SELECT "
        "series_id, res_s, start_ms, state FROM state_windows WHERE res_s = ?1 AND start_ms < ?2 "
        "ORDER BY start_ms LIMIT ?3)",
};

struct sqlite_store {
    struct iocd_store base; /* first: the interface's view */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST__COUNT];
    char *path;
};

static void sq_close(struct iocd_store *base)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    if (!st)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    if (st->db)
        sqlite3_close(st->db);
    free(st->path);
    free(st);
}

/* The connection with its pragmas and SQL functions; the statements are
 * prepared by sq_migrate, once the tables they name exist. */
static int sq_open(struct iocd_store **out, const char *path, struct iocd_error *err)
{
    struct sqlite_store *st = calloc(1, sizeof(*st));
    if (!st)
        return iocd_error_set(err, "out of memory");
    st->path = strdup(path);
    if (!st->path) {
        iocd_error_set(err, "out of memory");
        goto fail;
    }
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        iocd_error_set(err, "%s: cannot open database: %s", path,
                       st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (iocd_sketch_sqlite_register(st->db)) {
        iocd_error_set(err, "%s: cannot register SQL functions", path);
        goto fail;
    }
    struct iocd_error e2;
    if (iocd_schema_exec(st->db, "PRAGMA journal_mode=WAL", &e2, "setting WAL mode") ||
        iocd_schema_exec(st->db, "PRAGMA synchronous=NORMAL", &e2, "setting synchronous") ||
        iocd_schema_exec(st->db, "PRAGMA foreign_keys=OFF", &e2, "setting foreign_keys")) {
        iocd_error_set(err, "%s: %s", path, e2.msg);
        goto fail;
    }
    *out = &st->base;
    return 0;
fail:
    sq_close(&st->base);
    return -1;
}

static int sq_migrate(struct iocd_store *base, struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    struct iocd_error e2;
    /* PATH.pre-migration-UNIXTIME: never an existing file (VACUUM INTO
     * refuses one), found next to the database. */
    char backup[4096];
    bool file = strcmp(st->path, ":memory:") != 0 && st->path[0] != '\0';
    if (file)
        snprintf(backup, sizeof(backup), "%s.pre-migration-%lld", st->path,
                 (long long)time(NULL));
    if (iocd_schema_migrate(st->db, file ? backup : NULL, &e2))
        return iocd_error_set(err, "%s: %s", st->path, e2.msg);
    for (int i = 0; i < ST__COUNT; i++) {
        if (st->stmt[i])
            continue;
        if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK)
            return iocd_error_set(err, "%s: preparing statement: %s", st->path,
                                  sqlite3_errmsg(st->db));
    }
    return 0;
}

static int sq_each_series(struct iocd_store *base,
                           iocd_store_series_cb cb, void *ud,
                           struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT id, name, unit FROM series ORDER BY id", -1, &q, NULL) !=
        SQLITE_OK)
        return iocd_error_set(err, "%s: reading series: %s", st->path, sqlite3_errmsg(st->db));
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(q, 0);
        const char *name = (const char *)sqlite3_column_text(q, 1);
        const char *unit = (const char *)sqlite3_column_text(q, 2);
        if (id <= 0 || id >= UINT32_MAX || !name ||
            cb(ud, (uint32_t)id, name, unit ? unit : "")) {
            sqlite3_finalize(q);
            return iocd_error_set(err, "%s: series %lld: cannot load", st->path, (long long)id);
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading series: %s", st->path, sqlite3_errmsg(st->db));
    return 0;
}

static int step_reset(struct sqlite_store *st, enum stmt s)
{
    sqlite3_stmt *q = st->stmt[s];
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_set_meta(struct iocd_store *base, const char *key, const char *value,
                        struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    sqlite3_bind_text(st->stmt[ST_META], 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st->stmt[ST_META], 2, value, -1, SQLITE_STATIC);
    if (step_reset(st, ST_META))
        return iocd_error_set(err, "%s: writing meta %s: %s", st->path, key,
                              sqlite3_errmsg(st->db));
    return 0;
}

static int sq_get_meta(struct iocd_store *base, const char *key, char **value,
                       struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    sqlite3_stmt *q;
    *value = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1", -1, &q, NULL) !=
        SQLITE_OK)
        return iocd_error_set(err, "%s: reading meta %s: %s", st->path, key,
                              sqlite3_errmsg(st->db));
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        if (v && !(*value = strdup(v)))
            rc = SQLITE_NOMEM;
        else
            rc = SQLITE_DONE;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading meta %s: %s", st->path, key,
                              rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(st->db));
    return 0;
}

/* 20 bytes a sample, little-endian: series id (u32), time (i64 ms),
 * value (IEEE 754 double). */
#define SAMPLE_BYTES 20

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int write_journal(struct sqlite_store *st, const struct iocd_flush *f)
{
    /* Written even when empty: journal ids must never be reused, since
     * windows carry them. */
    if (!f->journal_id)
        return 0;
    uint8_t *blob = malloc(f->n_samples * SAMPLE_BYTES + 1);
    if (!blob)
        return -1;
    int64_t first = f->n_samples ? INT64_MAX : 0, last = f->n_samples ? INT64_MIN : 0;
    for (size_t i = 0; i < f->n_samples; i++) {
        const struct iocd_sample *sm = &f->samples[i];
        uint8_t *p = blob + i * SAMPLE_BYTES;
        uint64_t bits;
        memcpy(&bits, &sm->value, sizeof(bits));
        put_le(p, sm->series_id, 4);
        put_le(p + 4, (uint64_t)sm->t_ms, 8);
        put_le(p + 12, bits, 8);
        if (sm->t_ms < first)
            first = sm->t_ms;
        if (sm->t_ms > last)
            last = sm->t_ms;
    }
    sqlite3_stmt *q = st->stmt[ST_JOURNAL];
    sqlite3_bind_int64(q, 1, (sqlite3_int64)f->journal_id);
    sqlite3_bind_int64(q, 2, f->now_ms);
    sqlite3_bind_int64(q, 3, first);
    sqlite3_bind_int64(q, 4, last);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)f->n_samples);
    sqlite3_bind_blob(q, 6, blob, (int)(f->n_samples * SAMPLE_BYTES), free);
    return step_reset(st, ST_JOURNAL);
}

/* Write one row of window `w` at (res_s, start) with `which` (ST_WINDOW
 * merges into the stored row, ST_WINDOW_PUT replaces it), its encoded
 * sketch `sk` (NULL: none), marked complete up to journal entry `jrnl`. */
static int put_row(struct sqlite_store *st, enum stmt which, const struct iocd_window *w,
                   uint32_t res_s, int64_t start, const uint8_t *sk, size_t sk_len, uint64_t jrnl)
{
    sqlite3_stmt *q = st->stmt[which];
    sqlite3_bind_int64(q, 1, w->series_id);
    sqlite3_bind_int64(q, 2, res_s);
    sqlite3_bind_int64(q, 3, start);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)w->count);
    sqlite3_bind_double(q, 5, w->sum);
    sqlite3_bind_double(q, 6, w->sumsq);
    sqlite3_bind_double(q, 7, w->min);
    sqlite3_bind_double(q, 8, w->max);
    sqlite3_bind_double(q, 9, w->first);
    sqlite3_bind_int64(q, 10, w->first_ms);
    sqlite3_bind_double(q, 11, w->last);
    sqlite3_bind_int64(q, 12, w->last_ms);
    sqlite3_bind_int64(q, 13, (sqlite3_int64)jrnl);
    if (sk)
        sqlite3_bind_blob(q, 14, sk, (int)sk_len, SQLITE_STATIC);
    return step_reset(st, which);
}

/* Write `w` to its own row and to the row of each coarser resolution it
 * carries (iocd_window_row), encoding its sketch once. The sketch's work
 * (logarithms, bins) is done here, off the loop thread; out of memory,
 * the rows' quantiles miss these samples. */
static int put_window(struct sqlite_store *st, enum stmt which, struct iocd_window *w,
                      int64_t tz_offset_ms, uint64_t jrnl)
{
    uint8_t *sk = NULL;
    size_t sk_len = 0;
    if (iocd_window_encode_sketch(w, &sk, &sk_len) != 0)
        sk = NULL;
    int rc = 0;
    for (int r = 0; r <= w->n_coarser && rc == 0; r++) {
        uint32_t res_s;
        int64_t start;
        iocd_window_row(w, r, tz_offset_ms, &res_s, &start);
        rc = put_row(st, which, w, res_s, start, sk, sk_len, jrnl);
    }
    free(sk);
    return rc;
}

/* The statistics of a window row from column `c` on: count, sum, sumsq,
 * min, max, first, first_ms, last, last_ms (every reader selects them in
 * this order). */
static void row_stats(sqlite3_stmt *q, int c, struct iocd_window *w)
{
    w->count = (uint64_t)sqlite3_column_int64(q, c);
    w->sum = sqlite3_column_double(q, c + 1);
    w->sumsq = sqlite3_column_double(q, c + 2);
    w->min = sqlite3_column_double(q, c + 3);
    w->max = sqlite3_column_double(q, c + 4);
    w->first = sqlite3_column_double(q, c + 5);
    w->first_ms = sqlite3_column_int64(q, c + 6);
    w->last = sqlite3_column_double(q, c + 7);
    w->last_ms = sqlite3_column_int64(q, c + 8);
}

/* The merge of the stored rows of `series_id` at `res_s` starting in
 * [from, to), into `out` (window fields) and `sk` (an initialised sketch
 * the caller owns). 1 when there is at least one row, 0 when none, -1 on
 * error. */
static int merge_rows(struct sqlite_store *st, uint32_t series_id, uint32_t res_s, int64_t from,
                      int64_t to, struct iocd_window *out, struct iocd_sketch *sk)
{
    sqlite3_stmt *q = st->stmt[ST_WINDOW_ROWS];
    sqlite3_bind_int64(q, 1, series_id);
    sqlite3_bind_int64(q, 2, res_s);
    sqlite3_bind_int64(q, 3, from);
    sqlite3_bind_int64(q, 4, to);
    int rc, found = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct iocd_window w = {.series_id = series_id, .res_s = res_s};
        row_stats(q, 0, &w);
        struct iocd_sketch row;
        const uint8_t *blob = sqlite3_column_blob(q, 9);
        int blen = sqlite3_column_bytes(q, 9);
        if (blob && blen > 0) {
            if (iocd_sketch_decode(blob, (size_t)blen, &row))
                break; /* rc is SQLITE_ROW: an error */
        } else {
            iocd_sketch_init(&row);
        }
        if (!found)
            *out = w;
        else
            iocd_window_merge(out, &w);
        int mrc = iocd_sketch_merge(sk, &row);
        iocd_sketch_free(&row);
        if (mrc)
            break;
        found = 1;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE ? found : -1;
}

/* Apply one correction (see struct iocd_replace): finest first, so each
 * coarser window is rebuilt from rows already corrected. */
static int apply_replace(struct sqlite_store *st, const struct iocd_replace *r, uint64_t jrnl)
{
    for (int i = 0; i < r->n_res; i++) {
        struct iocd_window w;
        struct iocd_sketch sk;
        iocd_sketch_init(&sk);
        if (r->res_s[i] <= 3600) {
            iocd_window_init(&w, r->series_id, r->res_s[i], r->start_ms[i], r->value, r->t_ms);
            iocd_sketch_add(&sk, r->value);
        } else if (i > 0) {
            memset(&w, 0, sizeof(w));
            int found = merge_rows(st, r->series_id, r->res_s[i - 1], r->start_ms[i],
                                   r->start_ms[i] + (int64_t)r->res_s[i] * 1000, &w, &sk);
            if (found <= 0) {
                iocd_sketch_free(&sk);
                if (found < 0)
                    return -1;
                continue; /* nothing finer stored (retention): left as it is */
            }
            w.series_id = r->series_id;
            w.res_s = r->res_s[i];
            w.start_ms = r->start_ms[i];
        } else {
            continue; /* no resolution of 1 h or finer to rebuild from */
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc = iocd_sketch_count(&sk) && iocd_sketch_encode(&sk, &buf, &len) ? -1 : 0;
        if (rc == 0)
            rc = put_row(st, ST_WINDOW_PUT, &w, w.res_s, w.start_ms, buf, len, jrnl);
        free(buf);
        iocd_sketch_free(&sk);
        if (rc)
            return -1;
    }
    return 0;
}

static int write_one(struct sqlite_store *st, struct iocd_flush *f)
{
    if (write_journal(st, f))
        return -1;
    for (size_t i = 0; i < f->n_series; i++) {
        const struct iocd_series_new *s = &f->series[i];
        sqlite3_stmt *q = st->stmt[ST_SERIES];
        sqlite3_bind_int64(q, 1, s->id);
        sqlite3_bind_text(q, 2, s->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, s->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, s->device, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, s->metric, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, s->unit, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 7, s->created_ms);
        if (step_reset(st, ST_SERIES))
            return -1;
    }
    for (size_t i = 0; i < f->n_windows; i++)
        if (put_window(st, ST_WINDOW, &f->windows[i], f->tz_offset_ms, f->journal_id))
            return -1;
    for (size_t i = 0; i < f->n_replaces; i++)
        if (apply_replace(st, &f->replaces[i], f->journal_id))
            return -1;
    for (size_t i = 0; i < f->n_events; i++) {
        const struct iocd_event_row *e = &f->events[i];
        sqlite3_stmt *q = st->stmt[ST_EVENT];
        sqlite3_bind_text(q, 1, e->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, e->kind, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 3, e->severity);
        sqlite3_bind_text(q, 4, e->text, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, e->device, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, e->area, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 7, e->status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 8, e->time_ms);
        sqlite3_bind_int64(q, 9, e->received_ms);
        if (e->has_location) {
            sqlite3_bind_double(q, 10, e->lat);
            sqlite3_bind_double(q, 11, e->lon);
        }
        sqlite3_bind_text(q, 12, e->attributes, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 13, e->case_id ? e->case_id : "", -1, SQLITE_STATIC);
        if (step_reset(st, ST_EVENT))
            return -1;
    }
    for (size_t i = 0; i < f->n_devices; i++) {
        const struct iocd_device_row *d = &f->devices[i];
        sqlite3_stmt *q = st->stmt[ST_DEVICE];
        sqlite3_bind_text(q, 1, d->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, d->device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, d->first_seen_ms);
        sqlite3_bind_int64(q, 4, d->last_seen_ms);
        sqlite3_bind_int64(q, 5, d->interval_ms);
        sqlite3_bind_int64(q, 6, (sqlite3_int64)d->messages);
        sqlite3_bind_text(q, 7, iocd_device_state_name(d->state), -1, SQLITE_STATIC);
        if (d->has_position) {
            sqlite3_bind_double(q, 8, d->lat);
            sqlite3_bind_double(q, 9, d->lon);
            sqlite3_bind_int64(q, 10, d->position_ms);
        } else {
            sqlite3_bind_null(q, 8);
            sqlite3_bind_null(q, 9);
            sqlite3_bind_null(q, 10);
        }
        if (step_reset(st, ST_DEVICE))
            return -1;
    }
    for (size_t i = 0; i < f->n_state_rows; i++) {
        const struct iocd_state_row *r = &f->state_rows[i];
        sqlite3_stmt *q = st->stmt[ST_STATE_WINDOW];
        sqlite3_bind_int64(q, 1, r->series_id);
        sqlite3_bind_int64(q, 2, r->res_s);
        sqlite3_bind_int64(q, 3, r->start_ms);
        sqlite3_bind_text(q, 4, r->state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, r->ms);
        sqlite3_bind_int64(q, 6, r->entries);
        sqlite3_bind_int64(q, 7, r->transitions);
        if (step_reset(st, ST_STATE_WINDOW))
            return -1;
    }
    for (size_t i = 0; i < f->n_state_latest; i++) {
        const struct iocd_state_latest *l = &f->state_latest[i];
        sqlite3_stmt *q = st->stmt[ST_STATE_SERIES];
        sqlite3_bind_int64(q, 1, l->series_id);
        sqlite3_bind_text(q, 2, l->names, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, l->state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, l->last_ms);
        sqlite3_bind_int64(q, 5, l->carried_ms);
        if (step_reset(st, ST_STATE_SERIES))
            return -1;
    }
    for (size_t i = 0; i < f->n_counters; i++) {
        const struct iocd_counter_delta *c = &f->counters[i];
        sqlite3_stmt *q = st->stmt[ST_COUNTER];
        sqlite3_bind_text(q, 1, c->scope, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)c->delta);
        sqlite3_bind_int64(q, 4, f->now_ms);
        if (step_reset(st, ST_COUNTER))
            return -1;
    }
    return 0;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Retention: delete a bounded number of expired rows. */
static int prune(struct sqlite_store *st, struct iocd_flush *f)
{
    int64_t budget = f->prune_limit;
    for (int i = 0; i < f->n_prune && budget > 0; i++) {
        sqlite3_stmt *q = st->stmt[ST_PRUNE_WINDOWS];
        sqlite3_bind_int64(q, 1, f->prune[i].res_s);
        sqlite3_bind_int64(q, 2, f->prune[i].before_ms);
        sqlite3_bind_int64(q, 3, budget);
        if (step_reset(st, ST_PRUNE_WINDOWS))
            return -1;
        budget -= sqlite3_changes(st->db);
    }
    for (int i = 0; i < f->n_prune && budget > 0; i++) {
        sqlite3_stmt *q = st->stmt[ST_PRUNE_STATE_WINDOWS];
        sqlite3_bind_int64(q, 1, f->prune[i].res_s);
        sqlite3_bind_int64(q, 2, f->prune[i].before_ms);
        sqlite3_bind_int64(q, 3, budget);
        if (step_reset(st, ST_PRUNE_STATE_WINDOWS))
            return -1;
        budget -= sqlite3_changes(st->db);
    }
    if (f->events_before_ms > 0 && budget > 0) {
        sqlite3_stmt *q = st->stmt[ST_PRUNE_EVENTS];
        sqlite3_bind_int64(q, 1, f->events_before_ms);
        sqlite3_bind_int64(q, 2, budget);
        if (step_reset(st, ST_PRUNE_EVENTS))
            return -1;
        budget -= sqlite3_changes(st->db);
    }
    if (f->raw_before_ms > 0 && budget > 0) {
        sqlite3_stmt *q = st->stmt[ST_PRUNE_JOURNAL];
        sqlite3_bind_int64(q, 1, (sqlite3_int64)f->replay_from);
        sqlite3_bind_int64(q, 2, f->raw_before_ms);
        sqlite3_bind_int64(q, 3, budget);
        if (step_reset(st, ST_PRUNE_JOURNAL))
            return -1;
        budget -= sqlite3_changes(st->db);
    }
    f->pruned = f->prune_limit - budget;
    return 0;
}

/* Oldest first: the chain is newest-first, so recurse to its end. */
static int write_chain(struct sqlite_store *st, struct iocd_flush *f)
{
    if (f->next && write_chain(st, f->next))
        return -1;
    return write_one(st, f);
}

static void sq_flush(struct iocd_store *base, struct iocd_flush *f)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    int64_t t0 = mono_us();
    f->rc = -1;
    f->error[0] = '\0';
    if (step_reset(st, ST_BEGIN)) {
        snprintf(f->error, sizeof(f->error), "BEGIN: %s", sqlite3_errmsg(st->db));
        goto out;
    }
    char now[32];
    snprintf(now, sizeof(now), "%lld", (long long)f->now_ms);
    sqlite3_bind_text(st->stmt[ST_META], 1, "last_flush_ms", -1, SQLITE_STATIC);
    sqlite3_bind_text(st->stmt[ST_META], 2, now, -1, SQLITE_TRANSIENT);
    char replay[32];
    snprintf(replay, sizeof(replay), "%llu", (unsigned long long)f->replay_from);
    int rc = write_chain(st, f) || prune(st, f) || step_reset(st, ST_META);
    if (!rc && f->journal_id) {
        sqlite3_bind_text(st->stmt[ST_META], 1, "replay_from", -1, SQLITE_STATIC);
        sqlite3_bind_text(st->stmt[ST_META], 2, replay, -1, SQLITE_TRANSIENT);
        rc = step_reset(st, ST_META);
    }
    if (rc || step_reset(st, ST_COMMIT)) {
        snprintf(f->error, sizeof(f->error), "%s", sqlite3_errmsg(st->db));
        step_reset(st, ST_ROLLBACK);
        goto out;
    }
    f->rc = 0;
out:
    f->duration_us = mono_us() - t0;
}

static int sq_read_windows(struct iocd_store *base, const char *source, uint32_t res_s,
                           int64_t since_ms,
                           void (*cb)(void *ud, const char *device, const char *metric,
                                      int64_t start_ms, uint64_t count, double sum),
                           void *ud, struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT s.device, s.metric, w.start_ms, w.count, w.sum FROM windows w "
                           "JOIN series s ON s.id = w.series_id WHERE w.res_s = ?1 AND "
                           "w.start_ms >= ?2 AND s.source = ?3 ORDER BY w.start_ms",
                           -1, &q, NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading windows: %s", st->path, sqlite3_errmsg(st->db));
    sqlite3_bind_int64(q, 1, res_s);
    sqlite3_bind_int64(q, 2, since_ms);
    sqlite3_bind_text(q, 3, source, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        cb(ud, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
           sqlite3_column_int64(q, 2), (uint64_t)sqlite3_column_int64(q, 3),
           sqlite3_column_double(q, 4));
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading windows: %s", st->path, sqlite3_errmsg(st->db));
    return 0;
}

static uint64_t sq_window_jrnl(struct iocd_store *base, uint32_t series_id, uint32_t res_s,
                                int64_t start_ms)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    sqlite3_stmt *q = st->stmt[ST_WINDOW_JRNL];
    sqlite3_bind_int64(q, 1, series_id);
    sqlite3_bind_int64(q, 2, res_s);
    sqlite3_bind_int64(q, 3, start_ms);
    uint64_t j = 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        j = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return j;
}

/* The id of the oldest journal entry among the newest ones that hold at
 * least `seed` samples together (1 when the whole journal holds fewer),
 * or 0 on a read error. */
static uint64_t seed_start(struct sqlite_store *st, size_t seed)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT id, length(samples) FROM journal ORDER BY id DESC", -1,
                           &q, NULL) != SQLITE_OK)
        return 0;
    uint64_t start = 1;
    size_t n = 0;
    while (n < seed && sqlite3_step(q) == SQLITE_ROW) {
        start = (uint64_t)sqlite3_column_int64(q, 0);
        n += (size_t)sqlite3_column_int64(q, 1) / SAMPLE_BYTES;
    }
    sqlite3_finalize(q);
    return start;
}

/* Both ends of what read_raw reads: the first entry to replay (max_id + 1:
 * none) and the newest entry. */
static int journal_bounds(struct sqlite_store *st, uint64_t *from, uint64_t *max_id,
                          struct iocd_error *err)
{
    sqlite3_stmt *q;
    *from = *max_id = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'replay_from'", -1, &q,
                           NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading meta: %s", st->path, sqlite3_errmsg(st->db));
    if (sqlite3_step(q) == SQLITE_ROW)
        *from = (uint64_t)strtoull((const char *)sqlite3_column_text(q, 0), NULL, 10);
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(id), 0) FROM journal", -1, &q, NULL) !=
        SQLITE_OK)
        return iocd_error_set(err, "%s: reading journal: %s", st->path, sqlite3_errmsg(st->db));
    if (sqlite3_step(q) == SQLITE_ROW)
        *max_id = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (!*from || *from > *max_id)
        *from = *max_id + 1; /* nothing to replay */
    return 0;
}

static int sq_read_raw(struct iocd_store *base, size_t seed, iocd_store_sample_cb cb, void *ud,
                       uint64_t *next_journal_id, struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    uint64_t from, max_id;
    if (journal_bounds(st, &from, &max_id, err))
        return -1;
    *next_journal_id = max_id + 1;
    uint64_t start = seed ? seed_start(st, seed) : from;
    if (!start)
        return iocd_error_set(err, "%s: reading journal: %s", st->path, sqlite3_errmsg(st->db));
    if (start > from)
        start = from;
    if (start > max_id)
        return 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT id, samples FROM journal WHERE id >= ?1 ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading journal: %s", st->path, sqlite3_errmsg(st->db));
    sqlite3_bind_int64(q, 1, (sqlite3_int64)start);
    int rc;
    size_t entries = 0, samples = 0, seeded = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(q, 0);
        const uint8_t *blob = sqlite3_column_blob(q, 1);
        size_t len = (size_t)sqlite3_column_bytes(q, 1);
        bool replay = id >= from;
        if (len % SAMPLE_BYTES) {
            sqlite3_finalize(q);
            return iocd_error_set(err, "%s: journal entry %llu is damaged", st->path,
                                  (unsigned long long)id);
        }
        for (size_t off = 0; off < len; off += SAMPLE_BYTES) {
            struct iocd_sample sm;
            uint64_t bits = get_le(blob + off + 12, 8);
            sm.series_id = (uint32_t)get_le(blob + off, 4);
            sm.t_ms = (int64_t)get_le(blob + off + 4, 8);
            memcpy(&sm.value, &bits, sizeof(bits));
            if (cb(ud, id, &sm, replay)) {
                sqlite3_finalize(q);
                return iocd_error_set(err, "%s: replaying journal entry %llu: out of memory",
                                      st->path, (unsigned long long)id);
            }
            if (replay)
                samples++;
            else
                seeded++;
        }
        if (replay)
            entries++;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading journal: %s", st->path, sqlite3_errmsg(st->db));
    if (entries)
        iocd_log_notice("store", "replayed %zu journal entr%s (%zu samples) not yet in the windows",
                        entries, entries == 1 ? "y" : "ies", samples);
    if (seeded)
        iocd_log_info("store", "duplicate horizon: %zu stored samples remembered", seeded);
    return 0;
}

static int sq_series_windows(struct iocd_store *base, uint32_t series_id, uint32_t res_s,
                             int64_t span_ms, iocd_store_row_cb cb, void *ud,
                             struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT start_ms, count, sum, sumsq, min, max, first, first_ms, last, "
                           "last_ms FROM windows WHERE series_id = ?1 AND res_s = ?2 AND "
                           "start_ms > (SELECT max(start_ms) FROM windows WHERE series_id = ?1 "
                           "AND res_s = ?2) - ?3 ORDER BY start_ms",
                           -1, &q, NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading windows: %s", st->path, sqlite3_errmsg(st->db));
    sqlite3_bind_int64(q, 1, series_id);
    sqlite3_bind_int64(q, 2, res_s);
    sqlite3_bind_int64(q, 3, span_ms);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct iocd_window w = {.series_id = series_id, .res_s = res_s,
                                .start_ms = sqlite3_column_int64(q, 0)};
        row_stats(q, 1, &w);
        /* no sketch: the reader wants the statistics */
        cb(ud, &w);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading windows: %s", st->path, sqlite3_errmsg(st->db));
    return 0;
}

static int sq_each_device(struct iocd_store *base,
                           void (*cb)(void *ud, const struct iocd_device_row *row), void *ud,
                           struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT source, device, first_seen_ms, last_seen_ms, interval_ms, "
                           "messages, state, lat, lon, position_ms FROM devices",
                           -1, &q, NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading devices: %s", st->path, sqlite3_errmsg(st->db));
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int state = iocd_device_state_parse((const char *)sqlite3_column_text(q, 6));
        struct iocd_device_row row = {
            .source = (const char *)sqlite3_column_text(q, 0),
            .device = (const char *)sqlite3_column_text(q, 1),
            .first_seen_ms = sqlite3_column_int64(q, 2),
            .last_seen_ms = sqlite3_column_int64(q, 3),
            .interval_ms = sqlite3_column_int64(q, 4),
            .messages = (uint64_t)sqlite3_column_int64(q, 5),
            .state = (enum iocd_device_state)state,
            .has_position = sqlite3_column_type(q, 7) == SQLITE_FLOAT &&
                            sqlite3_column_type(q, 8) == SQLITE_FLOAT &&
                            sqlite3_column_type(q, 9) == SQLITE_INTEGER,
            .lat = sqlite3_column_double(q, 7),
            .lon = sqlite3_column_double(q, 8),
            .position_ms = sqlite3_column_int64(q, 9),
        };
        if (row.source && row.device && state >= 0)
            cb(ud, &row);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading devices: %s", st->path, sqlite3_errmsg(st->db));
    return 0;
}

/* A number stored as attribute text; false when it is not one. */
static bool column_number(sqlite3_stmt *q, int col, double *out)
{
    const char *s = (const char *)sqlite3_column_text(q, col);
    char *end;
    if (!s || !*s)
        return false;
    *out = strtod(s, &end);
    return *end == '\0';
}

static int sq_each_silence(struct iocd_store *base, int64_t now_ms, iocd_store_silence_cb cb,
                           void *ud, struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    /* The latest row of each silence id (events_by_kind bounds the scan). */
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT e.attributes FROM events e JOIN (SELECT max(id) AS id FROM "
                           "events WHERE source = 'iocd' AND kind = 'silence' AND "
                           "json_valid(attributes) GROUP BY json_extract(attributes, '$.id')) m "
                           "ON e.id = m.id WHERE e.status = 'active' AND "
                           "CAST(json_extract(e.attributes, '$.until_ms') AS INTEGER) > ?1 "
                           "ORDER BY e.id",
                           -1, &q, NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading silences: %s", st->path, sqlite3_errmsg(st->db));
    sqlite3_bind_int64(q, 1, now_ms);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        cb(ud, (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading silences: %s", st->path, sqlite3_errmsg(st->db));
    return 0;
}

static int sq_each_open_case(struct iocd_store *base, int64_t since_ms, iocd_store_case_cb cb,
                             void *ud, struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    /* The statuses are iocd_case_status_resolves's; events_by_case orders
     * the groups. */
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT source, case_id, min(time_ms) FROM events WHERE case_id != '' "
                           "AND time_ms >= ?1 GROUP BY source, case_id "
                           "HAVING sum(status IN ('resolved', 'closed', 'done')) = 0",
                           -1, &q, NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading open cases: %s", st->path,
                              sqlite3_errmsg(st->db));
    sqlite3_bind_int64(q, 1, since_ms);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        cb(ud, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1),
           sqlite3_column_int64(q, 2));
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading open cases: %s", st->path,
                              sqlite3_errmsg(st->db));
    return 0;
}

static int sq_each_state_series(struct iocd_store *base, iocd_store_state_cb cb, void *ud,
                                struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT series_id, names, state, last_ms, carried_ms FROM state_series "
                           "ORDER BY series_id",
                           -1, &q, NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading state series: %s", st->path,
                              sqlite3_errmsg(st->db));
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(q, 0);
        if (cb(ud, (uint32_t)id, (const char *)sqlite3_column_text(q, 1),
               (const char *)sqlite3_column_text(q, 2), sqlite3_column_int64(q, 3),
               sqlite3_column_int64(q, 4))) {
            sqlite3_finalize(q);
            return iocd_error_set(err, "%s: state series %lld: damaged row or out of memory",
                                  st->path, id);
        }
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading state series: %s", st->path,
                              sqlite3_errmsg(st->db));
    return 0;
}

static int sq_each_raised_alert(struct iocd_store *base, int64_t since_ms,
                                 void (*cb)(void *ud, const struct iocd_alert_saved *a),
                                 void *ud, struct iocd_error *err)
{
    struct sqlite_store *st = (struct sqlite_store *)base;
    /* The latest row of every alert id (rows are inserted in the order the
     * engine changed them; observation times may go back), kept when it
     * is a raise. The inner scan is bounded by events_by_kind. */
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(
            st->db,
            "SELECT e.time_ms, json_extract(e.attributes, '$.rule'), "
            "json_extract(e.attributes, '$.series'), json_extract(e.attributes, '$.raised_ms'), "
            "json_extract(e.attributes, '$.value'), json_extract(e.attributes, '$.threshold'), "
            "json_extract(e.attributes, '$.band'), json_extract(e.attributes, '$.prev_band'), "
            "e.severity, json_extract(e.attributes, '$.ack_by'), "
            "json_extract(e.attributes, '$.ack_ms'), json_extract(e.attributes, '$.ack_note'), "
            "json_extract(e.attributes, '$.assignee') FROM events e JOIN (SELECT max(id) AS id FROM events WHERE source = 'iocd' AND "
            "kind = 'alert' AND time_ms >= ?1 AND json_valid(attributes) "
            "GROUP BY json_extract(attributes, '$.id')) m ON e.id = m.id "
            "WHERE e.status IN ('raised', 'acknowledged', 'assigned') ORDER BY e.id",
            -1, &q, NULL) != SQLITE_OK)
        return iocd_error_set(err, "%s: reading alerts: %s", st->path, sqlite3_errmsg(st->db));
    sqlite3_bind_int64(q, 1, since_ms);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *rule = (const char *)sqlite3_column_text(q, 1);
        const char *series = (const char *)sqlite3_column_text(q, 2);
        double raised, value, threshold, band = -1, prev_band = -1;
        if (!rule || !series || !column_number(q, 3, &raised) || !column_number(q, 4, &value) ||
            !column_number(q, 5, &threshold))
            continue;
        if (sqlite3_column_type(q, 6) != SQLITE_NULL && !column_number(q, 6, &band))
            continue;
        if (sqlite3_column_type(q, 7) != SQLITE_NULL && !column_number(q, 7, &prev_band))
            continue;
        /* SOURCE/DEVICE/METRIC, or SOURCE/DEVICE for a stale rule */
        char buf[400];
        if (strlen(series) >= sizeof(buf))
            continue;
        strcpy(buf, series);
        char *dev = strchr(buf, '/');
        if (!dev || dev == buf)
            continue;
        *dev++ = '\0';
        char *metric = strchr(dev, '/');
        if (metric) {
            *metric++ = '\0';
            if (!*metric || strchr(metric, '/'))
                continue;
        }
        if (!*dev || !(fabs(raised) < 9.0e15) || !(fabs(band) < 1000) ||
            !(fabs(prev_band) < 1000))
            continue;
        struct iocd_alert_saved a = {
            .rule = rule,
            .source = buf,
            .device = dev,
            .metric = metric,
            .raised_ms = (int64_t)raised,
            .time_ms = sqlite3_column_int64(q, 0),
            .value = value,
            .threshold = threshold,
            .band = (int)band,
            .prev_band = (int)prev_band,
            .severity = sqlite3_column_int(q, 8),
            .ack_by = (const char *)sqlite3_column_text(q, 9),
            .ack_note = (const char *)sqlite3_column_text(q, 11),
            .assignee = (const char *)sqlite3_column_text(q, 12),
        };
        double ack_ms = 0;
        if (sqlite3_column_type(q, 10) != SQLITE_NULL && column_number(q, 10, &ack_ms) &&
            ack_ms > 0 && ack_ms < 9.0e15)
            a.ack_ms = (int64_t)ack_ms;
        cb(ud, &a);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE)
        return iocd_error_set(err, "%s: reading alerts: %s", st->path, sqlite3_errmsg(st->db));
    return 0;
}

const struct iocd_store_backend iocd_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .migrate = sq_migrate,
    .close = sq_close,
    .flush = sq_flush,
    .set_meta = sq_set_meta,
    .get_meta = sq_get_meta,
    .each_series = sq_each_series,
    .read_raw = sq_read_raw,
    .window_jrnl = sq_window_jrnl,
    .read_windows = sq_read_windows,
    .series_windows = sq_series_windows,
    .each_device = sq_each_device,
    .each_raised_alert = sq_each_raised_alert,
    .each_open_case = sq_each_open_case,
    .each_silence = sq_each_silence,
    .each_state_series = sq_each_state_series,
};
