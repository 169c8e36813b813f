/* daemon/store/store.h — the store: where iocd keeps what it accepted
 * (series, windows, counters, events, devices and the raw-sample journal),
 * behind a small interface so a second backend can be added without
 * touching the pipeline, the live feed or main.c.
 *
 * Owns: the interface (struct iocd_store_backend, a table of functions),
 * the rows a flush carries (struct iocd_flush and what it points to, freed
 * by iocd_flush_free) and the dispatch from iocd_store_* to the backend.
 * Each backend owns its connection and state behind `struct iocd_store`.
 * SQLite is the one backend today (daemon/store/sqlite.h, schema in
 * docs/storage.md).
 *
 * Threads: iocd_store_open and the readers (each_series, read_raw,
 * read_windows, each_device, each_raised_alert, window_jrnl) run at start,
 * before the loop; iocd_store_flush runs on a libuv worker thread, one call
 * at a time, so the loop never waits on the disk. */
#ifndef IOCD_STORE_H
#define IOCD_STORE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/aggregate/agg.h"
#include "daemon/alerts/alerts.h"
#include "daemon/config/config.h"
#include "daemon/aggregate/counters.h"
#include "daemon/alerts/devices.h"
#include "daemon/base/error.h"
#include "daemon/base/schema.h"
#include "daemon/aggregate/series.h"
#include "daemon/aggregate/states.h"

/* One accepted Event, as the flush writes it; all strings in one block
 * owned by the row (`block`). */
struct iocd_event_row {
    char *block;
    const char *source, *kind, *text, *device, *area, *status;
    const char *attributes; /* a JSON object */
    const char *case_id;    /* "" when none */
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

/* A correction: the sample of series `series_id` at `t_ms` has the value
 * `value` now, instead of what its windows hold. The store REPLACES the
 * window holding t_ms at every resolution `res_s` (finest first, each a
 * multiple of the one before; start_ms[i] the window's aligned start):
 * at 1 h or finer the window becomes the one sample (a series corrected
 * this way has at most one sample a window there: VN_AQI, one an hour);
 * a coarser window is rebuilt from the stored rows of the next finer
 * resolution within it. Applied after the flush's windows, in the same
 * transaction; every row it writes takes the flush's journal id, so the
 * journal replay never adds the corrected sample again (docs/vn_aqi.md). */
struct iocd_replace {
    uint32_t series_id;
    int64_t t_ms;
    double value;
    int n_res;
    uint32_t res_s[IOCD_MAX_RESOLUTIONS];
    int64_t start_ms[IOCD_MAX_RESOLUTIONS];
};

/* Everything one flush writes, in one transaction. Owned by whoever holds
 * it: the pipeline builds it, the worker writes it, the pipeline frees it
 * (or keeps it to retry when the write failed). */
struct iocd_flush {
    struct iocd_series_new *series;
    size_t n_series;
    struct iocd_window *windows;
    size_t n_windows;
    /* Corrections, applied in order after `windows` (the pipeline puts
     * every held window of a corrected series into `windows` first). */
    struct iocd_replace *replaces;
    size_t n_replaces;
    struct iocd_counter_delta *counters;
    size_t n_counters;
    /* State windows' increments and the state series they leave (all of
     * them every flush, docs/states.md). */
    struct iocd_state_row *state_rows;
    size_t n_state_rows;
    struct iocd_state_latest *state_latest;
    size_t n_state_latest;
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
    int64_t tz_offset_ms; /* [store] timezone: the coarser rows of windows (iocd_window_row) */
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
    /* results, set by iocd_store_flush */
    int rc;
    char error[256];
    int64_t duration_us;
};

/* Reader callbacks. A non-zero return from a callback that returns int
 * stops the read with an error. */
/* Each stored series: its id, name (SOURCE/DEVICE/METRIC) and unit. */
typedef int (*iocd_store_series_cb)(void *ud, uint32_t id, const char *name, const char *unit);
typedef int (*iocd_store_sample_cb)(void *ud, uint64_t jrnl, const struct iocd_sample *s,
                                    bool replay);
typedef void (*iocd_store_window_cb)(void *ud, const char *device, const char *metric,
                                     int64_t start_ms, uint64_t count, double sum);
/* A stored window's statistics (its sketch left empty). */
typedef void (*iocd_store_row_cb)(void *ud, const struct iocd_window *w);
typedef void (*iocd_store_device_cb)(void *ud, const struct iocd_device_row *row);
typedef void (*iocd_store_alert_cb)(void *ud, const struct iocd_alert_saved *a);
/* An active silence as stored: its attributes (a JSON object's text). */
typedef void (*iocd_store_silence_cb)(void *ud, const char *attributes);
/* A stored state series (docs/states.md): its known states (comma-separated,
 * by index), latest state and time, and how far its time is counted. */
typedef int (*iocd_store_state_cb)(void *ud, uint32_t series_id, const char *names,
                                   const char *state, int64_t last_ms, int64_t carried_ms);
/* An open case: its source, id and the time of its earliest stored update. */
typedef void (*iocd_store_case_cb)(void *ud, const char *source, const char *case_id,
                                   int64_t first_ms);

struct iocd_store;

/* One storage backend: every function the daemon needs from a store. A
 * backend's handle embeds `struct iocd_store` as its first member. The
 * meaning of each entry is that of the iocd_store_* function below that
 * calls it. */
struct iocd_store_backend {
    const char *name;
    /* Connect (creating the storage if needed); no schema work yet. */
    int (*open)(struct iocd_store **out, const char *path, struct iocd_error *err);
    /* Bring the storage to the current schema; after it the store is ready. */
    int (*migrate)(struct iocd_store *st, struct iocd_error *err);
    void (*close)(struct iocd_store *st);
    void (*flush)(struct iocd_store *st, struct iocd_flush *f);
    int (*set_meta)(struct iocd_store *st, const char *key, const char *value,
                    struct iocd_error *err);
    int (*get_meta)(struct iocd_store *st, const char *key, char **value,
                    struct iocd_error *err);
    int (*each_series)(struct iocd_store *st, iocd_store_series_cb cb, void *ud,
                       struct iocd_error *err);
    int (*read_raw)(struct iocd_store *st, size_t seed, iocd_store_sample_cb cb, void *ud,
                    uint64_t *next_journal_id, struct iocd_error *err);
    uint64_t (*window_jrnl)(struct iocd_store *st, uint32_t series_id, uint32_t res_s,
                            int64_t start_ms);
    int (*read_windows)(struct iocd_store *st, const char *source, uint32_t res_s,
                        int64_t since_ms, iocd_store_window_cb cb, void *ud,
                        struct iocd_error *err);
    int (*series_windows)(struct iocd_store *st, uint32_t series_id, uint32_t res_s,
                          int64_t span_ms, iocd_store_row_cb cb, void *ud,
                          struct iocd_error *err);
    int (*each_device)(struct iocd_store *st, iocd_store_device_cb cb, void *ud,
                       struct iocd_error *err);
    int (*each_raised_alert)(struct iocd_store *st, int64_t since_ms, iocd_store_alert_cb cb,
                             void *ud, struct iocd_error *err);
    int (*each_open_case)(struct iocd_store *st, int64_t since_ms, iocd_store_case_cb cb,
                          void *ud, struct iocd_error *err);
    int (*each_silence)(struct iocd_store *st, int64_t now_ms, iocd_store_silence_cb cb,
                        void *ud, struct iocd_error *err);
    int (*each_state_series)(struct iocd_store *st, iocd_store_state_cb cb, void *ud,
                             struct iocd_error *err);
};

/* The part of every backend's handle the dispatch reads. */
struct iocd_store {
    const struct iocd_store_backend *backend;
};

/* Open the store at `path` with `backend` and migrate it to the current
 * schema. -1 with err (naming the path) when it cannot; nothing is left
 * open then. */
int iocd_store_open(struct iocd_store **out, const struct iocd_store_backend *backend,
                    const char *path, struct iocd_error *err);
/* Migrate an open store again (a no-op when current; iocd_store_open has
 * done it once). */
int iocd_store_migrate(struct iocd_store *st, struct iocd_error *err);
/* Close and free; NULL is allowed. */
void iocd_store_close(struct iocd_store *st);
/* Call `cb` for every stored series (at start, to fill the registry). */
int iocd_store_each_series(struct iocd_store *st, iocd_store_series_cb cb, void *ud,
                           struct iocd_error *err);
/* Set a meta row (at start; blocking). */
int iocd_store_set_meta(struct iocd_store *st, const char *key, const char *value,
                        struct iocd_error *err);
/* Read a meta row (at start; blocking): *value is a malloc'd copy, or NULL
 * when there is no such row. */
int iocd_store_get_meta(struct iocd_store *st, const char *key, char **value,
                        struct iocd_error *err);
/* Write `f` and every flush chained on f->next (oldest first) in one
 * transaction. Sets f->rc (0 or -1), f->error and f->duration_us. Safe on
 * a worker thread as long as calls do not overlap. */
void iocd_store_flush(struct iocd_store *st, struct iocd_flush *f);
/* At start: call `cb` for the samples of the newest journal entries,
 * oldest first: every sample of every entry that may not be fully in the
 * stored windows (replay true: a crash left them out), and before those
 * the already stored samples of the newest entries that together hold at
 * least `seed` samples (replay false: for the duplicate horizon, whatever
 * ended the last run). *next_journal_id receives the id the next flush
 * must use. */
int iocd_store_read_raw(struct iocd_store *st, size_t seed, iocd_store_sample_cb cb, void *ud,
                        uint64_t *next_journal_id, struct iocd_error *err);
/* The journal entry the stored window is complete up to, or 0 when the
 * window is not stored. Used by replay (at start, before the loop). */
uint64_t iocd_store_window_jrnl(struct iocd_store *st, uint32_t series_id, uint32_t res_s,
                                int64_t start_ms);
/* Call `cb` for every stored window of `res_s` starting at or after
 * `since_ms` whose series belongs to `source`, oldest first (at start,
 * before the loop). */
int iocd_store_read_windows(struct iocd_store *st, const char *source, uint32_t res_s,
                            int64_t since_ms, iocd_store_window_cb cb, void *ud,
                            struct iocd_error *err);
/* Call `cb` for the newest stored windows of series `series_id` at
 * `res_s`: those starting less than `span_ms` before the newest one's
 * start, oldest first (at start, before the loop: the alert rules'
 * windows, in the series' own event time). */
int iocd_store_series_windows(struct iocd_store *st, uint32_t series_id, uint32_t res_s,
                              int64_t span_ms, iocd_store_row_cb cb, void *ud,
                              struct iocd_error *err);
/* Call `cb` for every stored device record (at start, before the loop). */
int iocd_store_each_device(struct iocd_store *st, iocd_store_device_cb cb, void *ud,
                           struct iocd_error *err);
/* Call `cb`, oldest raise first, for every alert whose latest stored change
 * (events of source "iocd", kind "alert", time at or after `since_ms`) is
 * a raise (at start, before the loop). Rows whose attributes cannot be
 * read are skipped. */
/* At start: every silence whose latest stored row (source iocd, kind
 * silence) is active and lasts past now_ms. */
int iocd_store_each_silence(struct iocd_store *st, int64_t now_ms, iocd_store_silence_cb cb,
                            void *ud, struct iocd_error *err);
/* At start: every case with an update at or after since_ms and none with a
 * status that resolves it (daemon/aggregate/cases.h). */
int iocd_store_each_open_case(struct iocd_store *st, int64_t since_ms, iocd_store_case_cb cb,
                              void *ud, struct iocd_error *err);
int iocd_store_each_raised_alert(struct iocd_store *st, int64_t since_ms, iocd_store_alert_cb cb,
                                 void *ud, struct iocd_error *err);
/* At start, before the journal is read: every stored state series. */
int iocd_store_each_state_series(struct iocd_store *st, iocd_store_state_cb cb, void *ud,
                                 struct iocd_error *err);
/* Free a flush chain and everything it owns. */
void iocd_flush_free(struct iocd_flush *f);

#endif
