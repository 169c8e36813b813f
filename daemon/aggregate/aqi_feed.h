/* daemon/aggregate/aqi_feed.h — VN_AQI for every air-quality station of one feed.
 *
 * Owns: per station, the hourly sums of each pollutant for the last 48
 * hours, what is known of each hour (data arrived, when, computed, late
 * data since, the value last emitted) and of each local day (computed, the
 * value last emitted), and a vn_aqi.c tracker. The pipeline hands it every
 * accepted sample of the configured feed ([aqi] adapter); on each flush
 * tick it computes the hourly and daily VN_AQI (Decision 1459/QĐ-TCMT, see
 * docs/vn_aqi.md) of every hour that is complete and emits them back as
 * samples of series FEED/STATION/vn_aqi (at the hour's start) and
 * FEED/STATION/vn_aqi_day (at local midnight, UTC instant).
 *
 * Complete is decided in event time, so a backlog after downtime, a
 * backfill or a replay gets the same values as the same data fed live.
 * An hour is complete when it ended at least [aqi] delay ago (wall clock)
 * and no sample for it arrived in the last IOCD_AQI_SETTLE_MS (monotonic); an hour
 * without data when a later hour with data has settled, or when nothing
 * arrived from the station for IOCD_AQI_SETTLE_MS. Hours are computed
 * oldest first, a local day with its last hour. A sample arriving after
 * its hour was computed (within the 48-hour ring) is added all the same:
 * once the hour has settled again, it, the 11 later computed hours whose
 * NowCast it feeds and the computed local days it reaches are computed
 * again, and each value that changed is emitted as a correction (the
 * last value emitted per hour and day is kept, and restored at start).
 * After a restart the last 48 hours come back
 * from the stored 1-hour windows (iocd_aqi_feed_restore): pollutant sums,
 * and which hours and days were computed. Samples the station flagged
 * invalid never reach it. Loop thread only. */
#ifndef IOCD_AQI_FEED_H
#define IOCD_AQI_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config/config.h"

/* An hour whose samples stopped arriving this long ago is complete (once
 * it also ended [aqi] delay ago). */
#define IOCD_AQI_SETTLE_MS 5000

struct iocd_aqi_feed;

/* One value of series FEED/station/metric at t_ms. `correction`: it
 * replaces the value emitted earlier for the same hour or day (late data
 * changed it); the first value of a hour or day is never one. */
typedef void (*iocd_aqi_emit_cb)(void *ud, const char *station, const char *metric, int64_t t_ms,
                                 double value, bool correction);

/* NULL when [aqi] adapter is empty (off) or out of memory. */
struct iocd_aqi_feed *iocd_aqi_feed_new(const struct iocd_config *cfg);
void iocd_aqi_feed_free(struct iocd_aqi_feed *f);
/* The configured feed's adapter index, or -1. */
int iocd_aqi_feed_adapter(const struct iocd_aqi_feed *f);
/* After a reload moved the feed's [adapter] section to index `idx`. */
void iocd_aqi_feed_set_adapter(struct iocd_aqi_feed *f, int idx);
/* An accepted sample of that feed (other metrics are ignored). */
void iocd_aqi_feed_sample(struct iocd_aqi_feed *f, const char *station, const char *metric,
                          int64_t t_ms, double value, int64_t arrival_ms);
/* At start: a stored 1-hour window of the feed (pollutant hours rebuild
 * the sums; vn_aqi and vn_aqi_day rows mark the hours and days already
 * computed, with their value: sum / count). Any order. */
void iocd_aqi_feed_restore(struct iocd_aqi_feed *f, const char *station, const char *metric,
                           int64_t hour_start_ms, uint64_t count, double sum, int64_t arrival_ms);
/* At start, after the restore: a sample of the feed the crash replay puts
 * back because its stored 1-hour window lacks it. A pollutant sample is
 * added like iocd_aqi_feed_sample; a vn_aqi or vn_aqi_day sample marks its
 * hour or day computed with that value (emitted before the crash). */
void iocd_aqi_feed_replayed(struct iocd_aqi_feed *f, const char *station, const char *metric,
                            int64_t t_ms, double value, int64_t arrival_ms);
/* Compute and emit everything complete at wall-clock `now_ms`
 * (iocd_now_ms) and monotonic `mono_ms` (iocd_mono_ms, the clock of every
 * `arrival_ms` above: how long an hour has been quiet). */
void iocd_aqi_feed_tick(struct iocd_aqi_feed *f, int64_t now_ms, int64_t mono_ms,
                        iocd_aqi_emit_cb emit, void *ud);

#endif
