/* daemon/aggregate/aqi_feed.h — VN_AQI for every air-quality station of one feed.
 *
 * Owns: per station, the hourly sums of each pollutant for the last 48
 * hours and a vn_aqi.c tracker. The pipeline hands it every accepted
 * sample of the configured feed ([aqi] adapter); on each flush tick it
 * closes the hours (and local days) that ended at least [aqi] delay ago,
 * computes the hourly and daily VN_AQI (Decision 1459/QĐ-TCMT, see
 * docs/vn_aqi.md) and emits them back as samples of series
 * FEED/STATION/vn_aqi (at the hour's start) and FEED/STATION/vn_aqi_day (at
 * local midnight, UTC instant). Each hour and day is computed once: samples
 * arriving after it was computed change its windows but not its AQI.
 * After a restart the last 48 hours are rebuilt from the stored 1-hour
 * windows (iocd_aqi_feed_restore), so the NowCast keeps its history.
 * Samples the station flagged invalid never reach it. Loop thread only. */
#ifndef IOCD_AQI_FEED_H
#define IOCD_AQI_FEED_H

#include <stdint.h>

#include "daemon/config/config.h"

struct iocd_aqi_feed;

typedef void (*iocd_aqi_emit_cb)(void *ud, const char *station, const char *metric, int64_t t_ms,
                                 double value);

/* NULL when [aqi] adapter is empty (off) or out of memory. */
struct iocd_aqi_feed *iocd_aqi_feed_new(const struct iocd_config *cfg);
void iocd_aqi_feed_free(struct iocd_aqi_feed *f);
/* The configured feed's adapter index, or -1. */
int iocd_aqi_feed_adapter(const struct iocd_aqi_feed *f);
/* An accepted sample of that feed (other metrics are ignored). */
void iocd_aqi_feed_sample(struct iocd_aqi_feed *f, const char *station, const char *metric,
                          int64_t t_ms, double value);
/* At start: a stored 1-hour window of the feed (pollutant hours rebuild
 * the sums; vn_aqi hours mark what was already computed). */
void iocd_aqi_feed_restore(struct iocd_aqi_feed *f, const char *station, const char *metric,
                           int64_t hour_start_ms, uint64_t count, double sum);
/* Compute and emit everything due at `now_ms`. */
void iocd_aqi_feed_tick(struct iocd_aqi_feed *f, int64_t now_ms, iocd_aqi_emit_cb emit, void *ud);

#endif
