/* daemon/pipeline/pipeline.h — from decoded Observations to stored windows.
 *
 * Owns: validation of every Observation (finite value, valid ids, clock
 * skew, series limit, unit: converted to the series' canonical unit or
 * refused as unit_mismatch, unit_norm.h), the series registry, the dirty-window table, the
 * counters, the samples of group series (roll-ups across devices, computed
 * from accepted member samples: daemon/aggregate/groups.h), and the flush cycle: a timer hands everything changed since
 * the last flush to a libuv worker that writes it in one transaction. At
 * most one flush is in flight; a failed flush is kept and written again
 * with the next one. Runs on the loop thread except iocd_store_flush. */
#ifndef IOCD_PIPELINE_H
#define IOCD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Accepted events held between flushes before new ones are refused
 * (no_memory): a bound for a storm of events with a stuck disk. */
#define IOCD_PIPELINE_MAX_EVENTS 200000
/* Accepted samples held between flushes (the next journal entry) before
 * new ones are refused (no_memory). */
#define IOCD_PIPELINE_MAX_SAMPLES 4000000

/* Events are counted per kind in series SOURCE/AREA/event.KIND, and
 * city-wide in SOURCE/_all/event.KIND. */
#define IOCD_EVENT_ALL_AREAS "_all"

#include "adapters/adapter.h"
#include "daemon/aggregate/agg.h"
#include "daemon/config/config.h"
#include "daemon/aggregate/counters.h"
#include "daemon/aggregate/aqi_feed.h"
#include "daemon/aggregate/cases.h"
#include "daemon/aggregate/dedup.h"
#include "daemon/aggregate/groups.h"
#include "daemon/live/feed.h"
#include "daemon/aggregate/series.h"
#include "daemon/aggregate/states.h"
#include "daemon/pipeline/unit_norm.h"
#include "daemon/store/store.h"

/* Upper bounds (µs) of the flush-duration histogram; the last is +Inf. */
#define IOCD_FLUSH_BUCKETS 12
extern const int64_t iocd_flush_buckets_us[IOCD_FLUSH_BUCKETS];

struct iocd_pipeline;
typedef void (*iocd_pipeline_drained_cb)(struct iocd_pipeline *p, void *ud);
/* Back-pressure turned on (stop reading from the broker) or off. */
typedef void (*iocd_pipeline_pressure_cb)(void *ud, bool on);
/* Called once for every message rejected whole or in part, with the first
 * reason; returns 0 if the dead letter was published, -1 if dropped. */
typedef int (*iocd_pipeline_dead_letter_cb)(void *ud, const char *adapter,
                                            const struct iocd_message *msg,
                                            enum iocd_reject reason, const char *detail);

/* Publish a command an adapter asked for (struct iocd_command); returns
 * 0 if it was queued, -1 if dropped. */
typedef int (*iocd_pipeline_command_cb)(void *ud, const char *adapter,
                                        const struct iocd_command *c);

/* Journal entries whose closing times are kept: at least [store]
 * window_write_delay's maximum (5 min) over the shortest flush_interval
 * (50 ms). */
#define IOCD_PIPELINE_JRNL_RING 8192

struct iocd_pipeline {
    uv_loop_t *loop;
    const struct iocd_config *cfg; /* borrowed */
    struct iocd_store *store;      /* borrowed */
    struct iocd_series_reg *series;
    struct iocd_agg *agg;
    struct iocd_dedup *dedup; /* NULL when [ingest] dedup_horizon = 0 */
    struct iocd_aqi_feed *aqi; /* NULL when [aqi] is off */
    struct iocd_cases *cases;  /* open cases of events with a case id */
    struct iocd_groups *groups; /* [group NAME] roll-ups (docs/groups.md); owned */
    struct iocd_ratelimit group_limit; /* the log of group samples that could not be added */
    struct iocd_unit_norm *units; /* canonical unit of each series */
    struct iocd_states *states;   /* state series (docs/states.md); owned */
    /* scopes[i] for cfg->adapters[i]; then the scopes of feeds a reload
     * removed (their counters stay, and come back if the feed does); the
     * last, scopes[n_scopes - 1], is "iocd". */
    struct iocd_counter_scope *scopes;
    size_t n_scopes;
    int64_t *adapter_series; /* series per scope (by source), for its max_series */
    int16_t *series_adapter; /* adapter index of each series id, -1 unknown; owned */
    size_t n_series_adapter;
    uint64_t next_journal;       /* journal entry the samples being accepted go to */
    /* When each recent journal entry was closed (taken by a flush), oldest
     * first, for [store] window_write_delay: a window first dirtied in an
     * entry closed that long ago has waited long enough. A ring of
     * IOCD_PIPELINE_JRNL_RING; owned. Entries from before this start, or
     * pushed out of the ring, count as old enough. */
    struct iocd_jrnl_closed {
        uint64_t jrnl;
        int64_t ms;
    } *closed;
    size_t closed_head, n_closed;
    uint64_t old_enough_jrnl; /* every entry <= this has waited long enough */
    struct iocd_sample *samples; /* accepted since the last flush; owned */
    size_t n_samples, cap_samples;
    /* Corrections since the last flush (VN_AQI computed again); owned */
    struct iocd_replace *replaces;
    size_t n_replaces, cap_replaces;
    char **aqi_names; /* at start only: AQI feed series names by id; owned */
    size_t n_aqi_names;
    uv_timer_t flush_timer;
    /* [store] flush_when_quiet: armed while samples wait; the loop time
     * (uv_now) of the last message that added any. */
    uv_timer_t quiet_timer;
    uint64_t last_sample_loop_ms;
    uv_work_t work;
    struct iocd_event_row *events; /* accepted since the last flush; owned */
    size_t n_events, cap_events;
    struct iocd_flush *inflight; /* being written by the worker */
    struct iocd_flush *failed;   /* to write again with the next flush */
    int64_t last_flush_done_ms;  /* when the last flush finished (ok or not) */
    int64_t last_flush_us;       /* duration of the last write */
    int64_t max_flush_us;
    /* Committed flushes by duration, for /metrics: flush_hist[i] counts
     * those of at most iocd_flush_buckets_us[i] (the last: all of them). */
    uint64_t flush_hist[IOCD_FLUSH_BUCKETS];
    int64_t flush_total_us;
    struct iocd_feed *feed; /* borrowed; NULL: no live feed */
    iocd_pipeline_dead_letter_cb dead_letter; /* NULL: off */
    void *dead_letter_ud;
    iocd_pipeline_command_cb command; /* NULL: adapters' commands are dropped */
    void *command_ud;
    /* Back-pressure ([ingest] max_unwritten, docs/storage.md): samples and
     * events accepted but not yet written are those held for the next
     * flush and those in the flush in flight and the failed ones. */
    size_t chain_held;         /* samples + events in inflight and failed */
    int64_t chain_since_ms;    /* wall clock of the oldest of those, 0: none */
    int64_t batch_since_ms;    /* of the oldest held for the next flush, 0: none */
    bool paused;               /* back-pressure on: not reading from the broker */
    uint64_t pauses;           /* times back-pressure turned on */
    uint64_t flush_failures;   /* flushes that did not commit */
    bool failing;              /* the last flush to finish did not commit */
    uint64_t flushes_committed;
    iocd_pipeline_pressure_cb pressure; /* NULL: nobody to tell */
    void *pressure_ud;
    bool draining;
    iocd_pipeline_drained_cb drained_cb;
    void *drained_ud;
};

int iocd_pipeline_init(struct iocd_pipeline *p, uv_loop_t *loop, const struct iocd_config *cfg,
                       struct iocd_store *store, struct iocd_error *err);
/* Start the flush timer. */
void iocd_pipeline_start(struct iocd_pipeline *p);
/* Account one message routed to adapter `idx` and validate + aggregate
 * what its adapter decoded (`reason` NONE) or count its rejection. */
void iocd_pipeline_ingest(struct iocd_pipeline *p, int idx, const struct iocd_message *msg,
                          enum iocd_reject reason, const struct iocd_batch *b);
/* Why the pipeline would refuse `o` (IOCD_REJECT_NONE: it would not; a
 * state must be a token in its metric's [states] set, docs/states.md);
 * `detail` says more. Also used by `iocd --try`. */
enum iocd_reject iocd_pipeline_check_observation(const struct iocd_config *cfg,
                                                 const Ioc__V1__Observation *o, int64_t now_ms,
                                                 char *detail, size_t n);
enum iocd_reject iocd_pipeline_check_event(const struct iocd_config *cfg, const Ioc__V1__Event *e,
                                           int64_t now_ms, char *detail, size_t n);
/* Keep an event iocd made itself (an alert) for the next flush: stored,
 * not counted in any series. 0, or -1 when out of memory or over the bound. */
int iocd_pipeline_hold_event(struct iocd_pipeline *p, const char *source, const Ioc__V1__Event *e);
/* Count a message nobody could take (scope "iocd"). */
void iocd_pipeline_reject_unrouted(struct iocd_pipeline *p, const struct iocd_message *msg,
                                   enum iocd_reject reason);
/* Write everything held, then call cb once nothing is left in memory or in
 * flight (failed writes are retried, up to the flush interval apart, until
 * they succeed). The flush timer keeps running until then. */
void iocd_pipeline_drain(struct iocd_pipeline *p, iocd_pipeline_drained_cb cb, void *ud);
/* Samples and events accepted but not yet written, and the age of the
 * oldest of them at wall-clock `now_ms` (0 when none). */
size_t iocd_pipeline_unwritten(const struct iocd_pipeline *p);
int64_t iocd_pipeline_unwritten_age_ms(const struct iocd_pipeline *p, int64_t now_ms);
/* A reload swapped the configuration p->cfg points to; `old` is the one
 * before, `d` maps its feeds to the new ones. Counters, series counts and
 * the VN_AQI feed follow their feed by name. 0, or -1 out of memory
 * (nothing changed). */
struct iocd_config_diff;
int iocd_pipeline_reload(struct iocd_pipeline *p, const struct iocd_config *old,
                         const struct iocd_config_diff *d);
/* Close the timer; free everything after the loop has run its close. */
void iocd_pipeline_close(struct iocd_pipeline *p);
void iocd_pipeline_free(struct iocd_pipeline *p);

#endif
