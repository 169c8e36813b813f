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
#include <stdint.h>

#include "daemon/aggregate/sketch.h"

struct iocd_window {
    uint32_t series_id;
    uint32_t res_s;   /* window length in seconds */
    int64_t start_ms; /* inclusive start, aligned */
    uint64_t count;
    double sum, sumsq, min, max;
    double first, last;        /* values of the earliest / latest sample by observation time */
    int64_t first_ms, last_ms; /* their observation times */
    /* Quantile sketch of the window's samples. Filled by the table
     * (iocd_agg_add*), not by iocd_window_*; owned by whoever holds the
     * window (free with iocd_sketch_free). */
    struct iocd_sketch sketch;
};

/* Start a window holding one sample. */
void iocd_window_init(struct iocd_window *w, uint32_t series_id, uint32_t res_s, int64_t start_ms,
                      double v, int64_t t_ms);
/* Add one sample received after every sample already in `w`. Ties in
 * observation time: `last` takes the newer sample, `first` keeps the older. */
void iocd_window_add(struct iocd_window *w, double v, int64_t t_ms);
/* Merge `later` (samples received after those in `into`) into `into`; the
 * same rule the store's upsert applies to stored rows. */
void iocd_window_merge(struct iocd_window *into, const struct iocd_window *later);

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

/* `res_ms` lists the default resolutions (ms, whole seconds), finest first. */
struct iocd_agg *iocd_agg_new(const int64_t *res_ms, int n_res);
/* Windows of whole days start at local midnight `tz_offset_ms` east of UTC
 * (default 0). */
void iocd_agg_set_timezone(struct iocd_agg *agg, int64_t tz_offset_ms);
void iocd_agg_free(struct iocd_agg *agg);
/* Add a sample to its window at every resolution. 0, or -1 out of memory
 * (the sample is then not counted anywhere). */
int iocd_agg_add(struct iocd_agg *agg, uint32_t series_id, double v, int64_t t_ms);
/* The same with `n_res` resolutions of its own (a feed's own resolutions),
 * for a sample of journal entry `jrnl` (non-decreasing across calls). */
int iocd_agg_add_res(struct iocd_agg *agg, uint32_t series_id, const int64_t *res_ms, int n_res,
                     double v, int64_t t_ms, uint64_t jrnl);
/* Windows currently held. */
size_t iocd_agg_size(const struct iocd_agg *agg);
/* Move every held window into a new malloc'd array (the caller frees it,
 * after iocd_sketch_free on each window's sketch) and empty the table. *n = 0 and NULL when empty; NULL with *n > 0 on
 * out of memory (the table is then left as it was). */
struct iocd_window *iocd_agg_take(struct iocd_agg *agg, size_t *n);
/* Move out at most `max` windows, those dirty the longest first. *n as
 * above. *replay_from receives the journal entry of the oldest window
 * still held (0 when none is), so every entry before it is fully written. */
/* Move out every held window of the `n_ids` series in `ids` (a store
 * correction must find them written first), in the order they became
 * dirty. *n as above; the table is left as it was on out of memory. */
struct iocd_window *iocd_agg_take_series(struct iocd_agg *agg, const uint32_t *ids, size_t n_ids,
                                         size_t *n);
struct iocd_window *iocd_agg_take_oldest(struct iocd_agg *agg, size_t max, size_t *n,
                                         uint64_t *replay_from);

#endif
