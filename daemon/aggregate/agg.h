/* daemon/aggregate/agg.h — windowed aggregates: one window's statistics and the
 * table of windows changed since they were last written.
 *
 * Owns: the dirty-window table. Windows are tumbling and aligned to the
 * UTC epoch (start = floor(t / res) * res; whole days at local midnight);
 * a sample lands in one window per resolution. A window here holds only
 * what arrived since it was last written; the store merges it into the
 * stored row, so late data and restarts add up instead of overwriting.
 *
 * Every sample belongs to a journal entry (the flush that makes it
 * durable). Windows are handed to the store oldest-dirty first, at most a
 * budget per flush; the journal entry of the oldest window still held is
 * the replay point after a crash. Loop thread only. */
#ifndef IOCD_AGG_H
#define IOCD_AGG_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/aggregate/sketch.h"

/* Coarser resolutions a window can carry (IOCD_MAX_RESOLUTIONS - 1). */
#define IOCD_WINDOW_COARSER 7

/* Samples a window holds for its sketch before it builds one. */
#define IOCD_WINDOW_PENDING 6

struct iocd_window {
    uint32_t series_id;
    uint32_t res_s;   /* window length in seconds */
    int64_t start_ms; /* inclusive start, aligned */
    uint64_t count;
    double sum, sumsq, min, max;
    double first, last;        /* values of the earliest / latest sample by observation time */
    int64_t first_ms, last_ms; /* their observation times */
    /* Quantile sketch of the window's samples, filled through
     * iocd_window_sketch_add (the table does it). The first samples wait
     * in `pending` (no allocation, no logarithm on the loop thread); the
     * sketch is allocated only when they are settled: call
     * iocd_window_settle before reading `sketch` (NULL: no samples). Owned
     * by whoever holds the window: iocd_window_release frees it. */
    struct iocd_sketch *sketch;
    double pending[IOCD_WINDOW_PENDING];
    uint8_t n_pending;
    /* Coarser resolutions (seconds) whose windows take these samples too:
     * the table keeps one window per series at its finest resolution when
     * every coarser window contains it whole, and the store writes it to
     * each stored row (iocd_window_row). Held by value: a window outlives
     * the table and any configuration that made it. */
    uint32_t coarser_s[IOCD_WINDOW_COARSER];
    uint8_t n_coarser;
};

/* Start a window holding one sample (its sketch still empty: add the
 * sample with iocd_window_sketch_add too). */
void iocd_window_init(struct iocd_window *w, uint32_t series_id, uint32_t res_s, int64_t start_ms,
                      double v, int64_t t_ms);
/* Add one sample received after every sample already in `w`. Ties in
 * observation time: `last` takes the newer sample, `first` keeps the older. */
void iocd_window_add(struct iocd_window *w, double v, int64_t t_ms);
/* Merge `later` (samples received after those in `into`) into `into`; the
 * same rule the store's upsert applies to stored rows. */
void iocd_window_merge(struct iocd_window *into, const struct iocd_window *later);
/* Count v in the window's quantile sketch (pending while there is room). */
void iocd_window_sketch_add(struct iocd_window *w, double v);
/* Move the pending samples into the sketch, allocating it if needed (the
 * store does it on its thread, before encoding). Out of memory: quantiles
 * miss them. */
void iocd_window_settle(struct iocd_window *w);
/* The window's sketch, pending samples included, in iocd_sketch_encode's
 * form (*buf malloc'd, the caller frees it; NULL when the window has no
 * samples for it). A window whose samples all wait in `pending` is encoded
 * through a sketch on the stack, freed before returning: the store calls
 * this on its thread, so no sketch outlives the encoding. 0, or -1 out of
 * memory. */
int iocd_window_encode_sketch(struct iocd_window *w, uint8_t **buf, size_t *len);
/* Free the sketch; the window's statistics stay. */
void iocd_window_release(struct iocd_window *w);

struct iocd_agg;

/* Start of the window of length `res_ms` holding time `t_ms`: aligned to
 * the UTC epoch, except that windows of whole days start at local midnight
 * of a city `tz_offset_ms` east of UTC. */
static inline int64_t iocd_window_start(int64_t t_ms, int64_t res_ms, int64_t tz_offset_ms)
{
    int64_t off = res_ms % 86400000 == 0 ? tz_offset_ms : 0;
    int64_t local = t_ms + off;
    int64_t r = local % res_ms;
    return (r < 0 ? local - r - res_ms : local - r) - off;
}

/* Row i (0 .. n_coarser) of the stored windows `w` goes to: its own
 * resolution and start (i = 0), then each coarser one's, holding it. */
static inline void iocd_window_row(const struct iocd_window *w, int i, int64_t tz_offset_ms,
                                   uint32_t *res_s, int64_t *start_ms)
{
    if (i == 0) {
        *res_s = w->res_s;
        *start_ms = w->start_ms;
        return;
    }
    *res_s = w->coarser_s[i - 1];
    *start_ms = iocd_window_start(w->start_ms, (int64_t)*res_s * 1000, tz_offset_ms);
}

/* `res_ms` lists the default resolutions (ms, whole seconds), finest first. */
struct iocd_agg *iocd_agg_new(const int64_t *res_ms, int n_res);
/* Windows of whole days start at local midnight `tz_offset_ms` east of UTC
 * (default 0). */
void iocd_agg_set_timezone(struct iocd_agg *agg, int64_t tz_offset_ms);
void iocd_agg_free(struct iocd_agg *agg);
/* Add a sample to its window at every resolution. 0, or -1 out of memory
 * (the sample is then not counted anywhere). When the resolutions nest
 * (each coarser window holds whole windows of the finest: always, unless
 * whole days start at a local midnight that is not on a finest-window
 * boundary) this is one window of the finest resolution carrying the
 * coarser ones (iocd_window.coarser_s): one lookup a sample, a third of the
 * memory; otherwise one window per resolution. */
int iocd_agg_add(struct iocd_agg *agg, uint32_t series_id, double v, int64_t t_ms);
/* True when iocd_agg_add_res keeps a sample at these resolutions in one
 * window of res_ms[0] that carries the coarser ones (each coarser window
 * holds whole windows of res_ms[0]): its coarser rows are then written
 * with it, in the same flush, or not at all. */
bool iocd_agg_nests(const struct iocd_agg *agg, const int64_t *res_ms, int n_res);
/* The same with `n_res` resolutions of its own (a feed's own resolutions),
 * for a sample of journal entry `jrnl` (non-decreasing across calls). */
int iocd_agg_add_res(struct iocd_agg *agg, uint32_t series_id, const int64_t *res_ms, int n_res,
                     double v, int64_t t_ms, uint64_t jrnl);
/* Start loading the index slot of the window iocd_agg_add_res would add
 * this sample to, so that the add does not wait on memory. */
void iocd_agg_prefetch(const struct iocd_agg *agg, uint32_t series_id, const int64_t *res_ms,
                       int n_res, int64_t t_ms);
/* Windows currently held. */
size_t iocd_agg_size(const struct iocd_agg *agg);
/* Move every held window into a new malloc'd array (the caller frees it,
 * after iocd_window_release on each window) and empty the table. *n = 0
 * and NULL when empty; NULL with *n > 0 on out of memory (the table is
 * then left as it was). */
struct iocd_window *iocd_agg_take(struct iocd_agg *agg, size_t *n);
/* Move out every held window of the `n_ids` series in `ids` (a store
 * correction must find them written first), in the order they became
 * dirty. *n as above; the table is left as it was on out of memory. */
struct iocd_window *iocd_agg_take_series(struct iocd_agg *agg, const uint32_t *ids, size_t n_ids,
                                         size_t *n);
/* Move out at most `max` windows, those dirty the longest first, and only
 * windows first dirtied in journal entries <= `max_jrnl` (UINT64_MAX: any).
 * *n as above. *replay_from receives the journal entry of the oldest
 * window still held (0 when none is), so every entry before it is fully
 * written. */
struct iocd_window *iocd_agg_take_oldest(struct iocd_agg *agg, size_t max, uint64_t max_jrnl,
                                         size_t *n, uint64_t *replay_from);

#endif
