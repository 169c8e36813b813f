/* daemon/aggregate/series.h — the registry of known series and their ids.
 *
 * Owns: every series name ("source/device/metric") iocd has accepted, its
 * integer id (the key of stored windows), and the list of series created
 * since the last flush. Ids are assigned here, on the loop thread, and
 * written by the flush that first carries their windows, so data only ever
 * flows towards the store. At start the registry is filled from the store. */
#ifndef IOCD_SERIES_H
#define IOCD_SERIES_H

#include <stddef.h>
#include <stdint.h>

#define IOCD_ID_MAX 128 /* bytes in a device id or metric name */

/* A series created since the last flush; all strings owned (one block). */
struct iocd_series_new {
    uint32_t id;
    char *name, *source, *device, *metric, *unit;
    int64_t created_ms;
};

struct iocd_series_reg;

/* `max_series` 0 means no limit. */
struct iocd_series_reg *iocd_series_reg_new(int64_t max_series);
void iocd_series_reg_free(struct iocd_series_reg *reg);
/* Register a series already stored (at start). 0, or -1 out of memory. */
int iocd_series_reg_preload(struct iocd_series_reg *reg, uint32_t id, const char *name);

enum iocd_series_result {
    IOCD_SERIES_FOUND = 0,
    IOCD_SERIES_CREATED,
    IOCD_SERIES_OVER_LIMIT,
    IOCD_SERIES_NO_MEMORY,
};

/* Find or create the series; *id receives its id. The parts must already
 * be valid ids (no '/'; see iocd_series_valid_id). */
enum iocd_series_result iocd_series_lookup(struct iocd_series_reg *reg, const char *source,
                                           const char *device, const char *metric,
                                           const char *unit, int64_t now_ms, uint32_t *id);
/* Like iocd_series_lookup, but never creates: IOCD_SERIES_FOUND, or
 * IOCD_SERIES_OVER_LIMIT when the series does not exist. */
enum iocd_series_result iocd_series_find(struct iocd_series_reg *reg, const char *source,
                                         const char *device, const char *metric, uint32_t *id);
/* ids[i] = the id of series SOURCE/devices[i]/metrics[i], or 0 when it
 * does not exist (or either part is NULL). The pipeline looks up all the
 * observations of a message at once: the slots, then the names, then the
 * compares, so that the cache misses of ten lookups overlap instead of
 * following each other (perf had the name compare, a miss each, at 11 %
 * of iocd's CPU). Never creates. */
#define IOCD_SERIES_FIND_MANY 32
void iocd_series_find_many(const struct iocd_series_reg *reg, const char *source,
                           const char *const *devices, const char *const *metrics, size_t n,
                           uint32_t *ids);
/* True when `s` is 1..IOCD_ID_MAX bytes without '/', '+', '#' or control
 * characters. */
int iocd_series_valid_id(const char *s);
size_t iocd_series_count(const struct iocd_series_reg *reg);
/* Move out the series created since the last call (caller frees with
 * iocd_series_new_free). */
struct iocd_series_new *iocd_series_take_new(struct iocd_series_reg *reg, size_t *n);
void iocd_series_new_free(struct iocd_series_new *s, size_t n);

#endif
