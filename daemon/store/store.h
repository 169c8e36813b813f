/* daemon/store/store.h — the SQLite database: schema, migrations and the batched
 * writer.
 *
 * Owns: iocd's one write connection and its prepared statements (kept for
 * the process lifetime). iocd_store_open and the readers (each_series,
 * replay, each_device, each_raised_alert ...) run at start, before the
 * loop; iocd_store_write runs on a libuv worker thread, one call at a
 * time, so the loop never waits on the disk. The schema is
 * documented in docs/storage.md. */
#ifndef IOCD_STORE_H
#define IOCD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/aggregate/agg.h"
#include "daemon/alerts/alerts.h"
#include "daemon/config/config.h"
#include "daemon/aggregate/counters.h"
#include "daemon/alerts/devices.h"
#include "daemon/base/error.h"
#include "daemon/base/schema.h"
#include "daemon/aggregate/series.h"

/* One accepted Event, as the flush writes it; all strings in one block
 * owned by the row (`block`). */
struct iocd_event_row {
    char *block;
    const char *source, *kind, *text, *device, *area, *status;
    const char *attributes; /* a JSON object */
    int severity;
    int64_t time_ms, received_ms;
    int has_location;
    double lat, lon;
};

/* One accepted sample as the journal keeps it. */
struct iocd_sample {
    uint32_t series_id;
    int64_t t_ms;
    double value;
};

/* Everything one flush writes, in one transaction. Owned by whoever holds
 * it: the pipeline builds it, the worker writes it, the pipeline frees it
 * (or keeps it to retry when the write failed). */
struct iocd_flush {
    struct iocd_series_new *series;
    size_t n_series;
    struct iocd_window *windows;
    size_t n_windows;
    struct iocd_counter_delta *counters;
    size_t n_counters;
    struct iocd_event_row *events;
    size_t n_events;
    /* Device records changed since the previous flush (upserted). */
    struct iocd_device_row *devices;
    size_t n_devices;
    /* The journal entry: every sample accepted since the previous flush,
     * made durable by this flush whatever windows it writes. */
    uint64_t journal_id;
    struct iocd_sample *samples;
    size_t n_samples;
    uint64_t replay_from;      /* oldest entry not fully in `windows` after this flush */
    int64_t raw_before_ms;     /* journal entries flushed before this may go (0: keep) */
    int64_t now_ms;
    /* Retention: windows of res_s starting before before_ms, and events
     * before events_before_ms (0: keep), at most prune_limit rows. */
    struct {
        int64_t res_s, before_ms;
    } prune[IOCD_MAX_RESOLUTIONS * 2];
    int n_prune;
    int64_t events_before_ms;
    int64_t prune_limit;
    int64_t pruned; /* result: rows deleted */
    struct iocd_flush *next; /* older flushes to write first (failed earlier) */
    /* results, set by iocd_store_write */
    int rc;
    char error[256];
    int64_t duration_us;
};

struct iocd_store;

/* Open (creating if needed) and migrate the database at `path`. */
int iocd_store_open(struct iocd_store **out, const char *path, struct iocd_error *err);
void iocd_store_close(struct iocd_store *st);
/* Call `cb` for every stored series (at start, to fill the registry). */
int iocd_store_each_series(struct iocd_store *st,
                           int (*cb)(void *ud, uint32_t id, const char *name), void *ud,
                           struct iocd_error *err);
/* Set a meta row (at start; blocking). */
int iocd_store_set_meta(struct iocd_store *st, const char *key, const char *value,
                        struct iocd_error *err);
/* Write `f` and every flush chained on f->next (oldest first) in one
 * transaction. Sets f->rc (0 or -1), f->error and f->duration_us. Safe on
 * a worker thread as long as calls do not overlap. */
void iocd_store_write(struct iocd_store *st, struct iocd_flush *f);
/* After a crash: call `cb` for every sample of every journal entry that
 * may not be fully in the stored windows, oldest first. *next_journal_id
 * receives the id the next flush must use. */
int iocd_store_replay(struct iocd_store *st,
                      int (*cb)(void *ud, uint64_t jrnl, const struct iocd_sample *s), void *ud,
                      uint64_t *next_journal_id, struct iocd_error *err);
/* The journal entry the stored window is complete up to, or 0 when the
 * window is not stored. Used by replay (at start, before the loop). */
uint64_t iocd_store_window_jrnl(struct iocd_store *st, uint32_t series_id, uint32_t res_s,
                                int64_t start_ms);
/* Call `cb` for every stored window of `res_s` starting at or after
 * `since_ms` whose series belongs to `source` (at start, before the loop). */
int iocd_store_each_window(struct iocd_store *st, const char *source, uint32_t res_s,
                           int64_t since_ms,
                           void (*cb)(void *ud, const char *device, const char *metric,
                                      int64_t start_ms, uint64_t count, double sum),
                           void *ud, struct iocd_error *err);
/* Call `cb` for every stored device record (at start, before the loop). */
int iocd_store_each_device(struct iocd_store *st,
                           void (*cb)(void *ud, const struct iocd_device_row *row), void *ud,
                           struct iocd_error *err);
/* Call `cb`, oldest raise first, for every alert whose latest stored change
 * (events of source "iocd", kind "alert", time at or after `since_ms`) is
 * a raise (at start, before the loop). Rows whose attributes cannot be
 * read are skipped. */
int iocd_store_each_raised_alert(struct iocd_store *st, int64_t since_ms,
                                 void (*cb)(void *ud, const struct iocd_alert_saved *a),
                                 void *ud, struct iocd_error *err);
/* Free a flush chain and everything it owns. */
void iocd_flush_free(struct iocd_flush *f);

/* Migrate an open connection to the current schema (also used by tests). */
int iocd_store_migrate_db(void *sqlite_db, struct iocd_error *err);

#endif
