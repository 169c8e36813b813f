/* daemon/notify/queue.c — the on-disk notification queue (queue.h).
 *
 * Owns: the SQLite connection to the queue file and its statements. The
 * file is separate from the database so that the notifier thread never
 * contends with the store's flush for SQLite's write lock, and a backup
 * or restore of the database carries no delivery state. */
#include "daemon/notify/queue.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_INSERT,
    S_TRIM,
    S_NEXT,
    S_REMOVE,
    S_POSTPONE,
    S_COUNTS,
    S_BEGIN,
    S_COMMIT,
    S__COUNT
};

static const char *const sql_text[S__COUNT] = {
    [S_INSERT] = "INSERT INTO notification(channel, uid, created_ms, next_ms, attempts, body) "
                 "VALUES (?1, ?2, ?3, 0, 0, ?4)",
    [S_TRIM] = "DELETE FROM notification WHERE row IN (SELECT row FROM notification "
               "WHERE channel = ?1 ORDER BY row LIMIT max(0, (SELECT count(*) FROM notification "
               "WHERE channel = ?1) - ?2))",
    [S_NEXT] = "SELECT row, channel, uid, created_ms, next_ms, attempts, body FROM notification "
               "WHERE row IN (SELECT min(row) FROM notification GROUP BY channel) "
               "ORDER BY next_ms, row LIMIT 1",
    [S_REMOVE] = "DELETE FROM notification WHERE row = ?1",
    [S_POSTPONE] = "UPDATE notification SET attempts = ?2, next_ms = ?3 WHERE row = ?1",
    [S_COUNTS] = "SELECT channel, count(*) FROM notification GROUP BY channel",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
};

struct iocd_notify_queue {
    sqlite3 *db;
    sqlite3_stmt *st[S__COUNT];
};

static int fail(struct iocd_notify_queue *q, const char *what, struct iocd_error *err)
{
    return iocd_error_set(err, "notification queue: %s: %s", what, sqlite3_errmsg(q->db));
}

/* Step a statement to its end and reset it. */
static int run(struct iocd_notify_queue *q, int s, const char *what, struct iocd_error *err)
{
    int rc = sqlite3_step(q->st[s]);
    sqlite3_reset(q->st[s]);
    sqlite3_clear_bindings(q->st[s]);
    return rc == SQLITE_DONE ? 0 : fail(q, what, err);
}

int iocd_notify_queue_open(struct iocd_notify_queue **out, const char *path,
                           struct iocd_error *err)
{
    *out = NULL;
    struct iocd_notify_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return iocd_error_set(err, "out of memory");
    static const char schema[] =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS notification ("
        " row INTEGER PRIMARY KEY AUTOINCREMENT,"
        " channel TEXT NOT NULL,"
        " uid TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL,"
        " next_ms INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL,"
        " body BLOB NOT NULL);"
        "CREATE INDEX IF NOT EXISTS notification_channel ON notification(channel, row);"
        "UPDATE notification SET next_ms = 0;";
    if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        iocd_error_set(err, "notification queue %s: %s", path,
                       q->db ? sqlite3_errmsg(q->db) : "out of memory");
        iocd_notify_queue_close(q);
        return -1;
    }
    sqlite3_busy_timeout(q->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(q->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        iocd_error_set(err, "notification queue %s: %s", path, msg ? msg : "error");
        sqlite3_free(msg);
        iocd_notify_queue_close(q);
        return -1;
    }
    for (int i = 0; i < S__COUNT; i++)
        if (sqlite3_prepare_v3(q->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i],
                               NULL) != SQLITE_OK) {
            fail(q, "prepare", err);
            iocd_notify_queue_close(q);
            return -1;
        }
    *out = q;
    return 0;
}

void iocd_notify_queue_close(struct iocd_notify_queue *q)
{
    if (!q)
        return;
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(q->st[i]);
    sqlite3_close(q->db);
    free(q);
}

int iocd_notify_queue_begin(struct iocd_notify_queue *q, struct iocd_error *err)
{
    return run(q, S_BEGIN, "begin", err);
}

int iocd_notify_queue_commit(struct iocd_notify_queue *q, struct iocd_error *err)
{
    if (run(q, S_COMMIT, "commit", err)) {
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int64_t iocd_notify_queue_push(struct iocd_notify_queue *q, const char *channel, const char *uid,
                               int64_t created_ms, const char *body, size_t len, int64_t max,
                               struct iocd_error *err)
{
    sqlite3_stmt *s = q->st[S_INSERT];
    sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, uid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, created_ms);
    sqlite3_bind_blob64(s, 4, body, len, SQLITE_STATIC);
    if (run(q, S_INSERT, "insert", err))
        return -1;
    s = q->st[S_TRIM];
    sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, max);
    if (run(q, S_TRIM, "trim", err))
        return -1;
    return sqlite3_changes(q->db);
}

int iocd_notify_queue_next(struct iocd_notify_queue *q, struct iocd_notify_item *out,
                           struct iocd_error *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = q->st[S_NEXT];
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return fail(q, "read", err);
    }
    out->row = sqlite3_column_int64(s, 0);
    const char *ch = (const char *)sqlite3_column_text(s, 1);
    const char *uid = (const char *)sqlite3_column_text(s, 2);
    out->created_ms = sqlite3_column_int64(s, 3);
    out->next_ms = sqlite3_column_int64(s, 4);
    out->attempts = sqlite3_column_int64(s, 5);
    const void *body = sqlite3_column_blob(s, 6);
    out->len = (size_t)sqlite3_column_bytes(s, 6);
    snprintf(out->uid, sizeof(out->uid), "%s", uid ? uid : "");
    out->channel = strdup(ch ? ch : "");
    out->body = malloc(out->len + 1);
    if (out->body) {
        if (out->len)
            memcpy(out->body, body, out->len);
        out->body[out->len] = '\0';
    }
    sqlite3_reset(s);
    if (!out->channel || !out->body) {
        iocd_notify_item_free(out);
        return iocd_error_set(err, "out of memory");
    }
    return 1;
}

int iocd_notify_queue_remove(struct iocd_notify_queue *q, int64_t row, struct iocd_error *err)
{
    sqlite3_bind_int64(q->st[S_REMOVE], 1, row);
    return run(q, S_REMOVE, "delete", err);
}

int iocd_notify_queue_postpone(struct iocd_notify_queue *q, int64_t row, int64_t attempts,
                               int64_t next_ms, struct iocd_error *err)
{
    sqlite3_stmt *s = q->st[S_POSTPONE];
    sqlite3_bind_int64(s, 1, row);
    sqlite3_bind_int64(s, 2, attempts);
    sqlite3_bind_int64(s, 3, next_ms);
    return run(q, S_POSTPONE, "update", err);
}

int iocd_notify_queue_counts(struct iocd_notify_queue *q,
                             void (*fn)(void *ud, const char *channel, int64_t n), void *ud,
                             struct iocd_error *err)
{
    sqlite3_stmt *s = q->st[S_COUNTS];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fn(ud, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1));
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : fail(q, "count", err);
}

/* Collects the channels with rows, for purge. */
struct found {
    char **names;
    int64_t *counts;
    size_t n;
    bool oom;
};

static void collect(void *ud, const char *channel, int64_t n)
{
    struct found *f = ud;
    char **nn = realloc(f->names, (f->n + 1) * sizeof(*nn));
    int64_t *cc = nn ? realloc(f->counts, (f->n + 1) * sizeof(*cc)) : NULL;
    if (nn)
        f->names = nn;
    if (cc)
        f->counts = cc;
    if (!nn || !cc || !(f->names[f->n] = strdup(channel ? channel : ""))) {
        f->oom = true;
        return;
    }
    f->counts[f->n++] = n;
}

int64_t iocd_notify_queue_purge(struct iocd_notify_queue *q, const char *const *names, size_t n,
                                void (*fn)(void *ud, const char *channel, int64_t n), void *ud,
                                struct iocd_error *err)
{
    struct found f = {0};
    int64_t total = 0;
    if (iocd_notify_queue_counts(q, collect, &f, err))
        total = -1;
    else if (f.oom)
        total = iocd_error_set(err, "out of memory");
    sqlite3_stmt *del = NULL;
    if (total == 0 && sqlite3_prepare_v2(q->db, "DELETE FROM notification WHERE channel = ?1",
                                         -1, &del, NULL) != SQLITE_OK)
        total = fail(q, "prepare", err);
    for (size_t i = 0; total >= 0 && i < f.n; i++) {
        bool keep = false;
        for (size_t j = 0; j < n && !keep; j++)
            keep = strcmp(names[j], f.names[i]) == 0;
        if (keep)
            continue;
        sqlite3_bind_text(del, 1, f.names[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(del);
        sqlite3_reset(del);
        if (rc != SQLITE_DONE) {
            total = fail(q, "delete", err);
            break;
        }
        total += f.counts[i];
        fn(ud, f.names[i], f.counts[i]);
    }
    sqlite3_finalize(del);
    for (size_t i = 0; i < f.n; i++)
        free(f.names[i]);
    free(f.names);
    free(f.counts);
    return total;
}

void iocd_notify_item_free(struct iocd_notify_item *it)
{
    free(it->channel);
    free(it->body);
    it->channel = it->body = NULL;
}
