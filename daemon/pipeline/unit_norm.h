/* daemon/pipeline/unit_norm.h — one canonical unit per series.
 *
 * Owns: the canonical unit of every known series (by series id), the
 * [units] rules copied from the configuration it was made from (a reload
 * swaps the configuration, not these: [units] changes need a restart),
 * and the conversions looked up so far, cached per (canonical unit, rule)
 * profile and per series, so that a sample in the canonical unit costs one
 * string compare and a converted one a compare and a multiply, with no
 * allocation and no formatting. Loop thread only (and `iocd --try`).
 *
 * A new series gets its canonical unit from the first [units] rule that
 * matches it, else from its first sample (in its canonical spelling:
 * "µg/m³" is stored as "ug/m3"); the pollutants of the [aqi] feed always
 * get ug/m3. A stored series keeps the unit it was stored with. A sample
 * without a unit is taken to be in the canonical unit; a sample in another
 * unit is converted (built-in table, or a factor the rule declares) or
 * refused (unit_mismatch). docs/units.md. */
#ifndef IOCD_UNIT_NORM_H
#define IOCD_UNIT_NORM_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/base/units.h"
#include "daemon/config/config.h"

struct iocd_unit_norm;
struct iocd_unit_profile; /* a canonical unit and the rule that gave it */

/* NULL when out of memory. */
struct iocd_unit_norm *iocd_unit_norm_new(const struct iocd_config *cfg);
void iocd_unit_norm_free(struct iocd_unit_norm *n);

/* At start: series `id` ("SOURCE/DEVICE/METRIC") was stored with `unit`.
 * 0, or -1 out of memory. */
int iocd_unit_norm_preload(struct iocd_unit_norm *n, uint32_t id, const char *name,
                           const char *unit);
/* After the preloads: log how many stored series keep a unit that the
 * rules would now set otherwise (once). */
void iocd_unit_norm_preload_done(struct iocd_unit_norm *n);

/* The profile a new series SOURCE/DEVICE/METRIC would get from a first
 * sample in `unit`, or NULL when out of memory (or over the bound of
 * distinct profiles, IOCD_UNIT_NORM_MAX_PROFILES). */
#define IOCD_UNIT_NORM_MAX_PROFILES 4096
const struct iocd_unit_profile *iocd_unit_norm_profile(struct iocd_unit_norm *n,
                                                       const char *source, const char *device,
                                                       const char *metric, const char *unit);
/* The profile's canonical unit ("" when the series has none) and what
 * set it ("[units] metric.co", "[units] series = air/+/t" (line N), "[aqi]",
 * "first sample"). */
const char *iocd_unit_profile_unit(const struct iocd_unit_profile *p);
const char *iocd_unit_profile_origin(const struct iocd_unit_profile *p);
/* Series `id` (just created) has profile `p`. 0, or -1 out of memory. */
int iocd_unit_norm_bind(struct iocd_unit_norm *n, uint32_t id, const struct iocd_unit_profile *p);

/* Bring *v, given in `unit`, into series `id`'s canonical unit: 0 with *v
 * converted and *canonical its canonical unit, or -1 (unit_mismatch:
 * *canonical still says which unit was expected). A series with no
 * profile (not bound) takes every sample as it is. */
int iocd_unit_norm_convert(struct iocd_unit_norm *n, uint32_t id, const char *unit, double *v,
                           const char **canonical);
/* The same for a profile (a series about to be created, `iocd --try`). */
int iocd_unit_norm_convert_profile(struct iocd_unit_norm *n, const struct iocd_unit_profile *p,
                                   const char *unit, double *v);

#endif
