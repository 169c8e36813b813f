/* daemon/notify/queue.h — the notifications not yet delivered, on disk.
 *
 * Owns: one SQLite file of its own (the database's path + "-notify", WAL,
 * synchronous FULL) and its prepared statements: a row per notification
 * (channel, id, body, attempts, when it is next due), written before the
 * first attempt and deleted once delivered or given up, so what is
 * pending survives a restart (docs/alerts.md, "Notifications"). One
 * thread only: the notifier's. */
#ifndef IOCD_NOTIFY_QUEUE_H
#define IOCD_NOTIFY_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/base/error.h"

struct iocd_notify_queue;

struct iocd_notify_item {
    int64_t row;
    char *channel; /* owned */
    char uid[40];
    int64_t created_ms, next_ms;
    int64_t attempts;
    char *body; /* owned, NUL-terminated */
    size_t len;
};

/* Open (create) the queue at `path`; every row found is due at once. 0,
 * or -1 with err. */
int iocd_notify_queue_open(struct iocd_notify_queue **out, const char *path,
                           struct iocd_error *err);
void iocd_notify_queue_close(struct iocd_notify_queue *q);
/* A transaction around several pushes. 0 or -1 with err. */
int iocd_notify_queue_begin(struct iocd_notify_queue *q, struct iocd_error *err);
int iocd_notify_queue_commit(struct iocd_notify_queue *q, struct iocd_error *err);
/* Append one notification, due now; then, when `channel` holds more than
 * `max`, delete its oldest. The number deleted (>= 0), or -1 with err. */
int64_t iocd_notify_queue_push(struct iocd_notify_queue *q, const char *channel, const char *uid,
                               int64_t created_ms, const char *body, size_t len, int64_t max,
                               struct iocd_error *err);
/* Of the oldest notification of each channel, the one due first: 1 with
 * *out filled (free it with iocd_notify_item_free), 0 when empty, -1 with
 * err. */
int iocd_notify_queue_next(struct iocd_notify_queue *q, struct iocd_notify_item *out,
                           struct iocd_error *err);
int iocd_notify_queue_remove(struct iocd_notify_queue *q, int64_t row, struct iocd_error *err);
/* Record a failed attempt: `attempts` so far, next due at next_ms. */
int iocd_notify_queue_postpone(struct iocd_notify_queue *q, int64_t row, int64_t attempts,
                               int64_t next_ms, struct iocd_error *err);
/* Delete the rows of every channel not in names[0..n); the number
 * deleted per channel goes to fn. Total deleted, or -1 with err. */
int64_t iocd_notify_queue_purge(struct iocd_notify_queue *q, const char *const *names, size_t n,
                                void (*fn)(void *ud, const char *channel, int64_t n), void *ud,
                                struct iocd_error *err);
/* The pending count of every channel with rows, through fn. 0 or -1. */
int iocd_notify_queue_counts(struct iocd_notify_queue *q,
                             void (*fn)(void *ud, const char *channel, int64_t n), void *ud,
                             struct iocd_error *err);
void iocd_notify_item_free(struct iocd_notify_item *it);

#endif
