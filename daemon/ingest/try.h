/* daemon/ingest/try.h — `iocd --try ADAPTER FILE`: show what one payload becomes.
 *
 * Owns nothing lasting. Runs the named adapter of the loaded config on one
 * payload file, then the pipeline's own checks (the unit included: the
 * canonical unit [units] or [aqi] declares, and the value converted into
 * it, or unit_mismatch; stored series' units are not read), and prints every
 * Observation and Event it produces (one JSON object per line) or the exact
 * reason it would be rejected. No broker, no database: integrators use it
 * to check a mapping before they trust it. */
#ifndef IOCD_TRY_H
#define IOCD_TRY_H

#include <stdio.h>

#include "daemon/config/config.h"

/* `topic` may be NULL: the adapter's filter with '+' and '#' replaced by
 * "x". Returns 0 when everything in the payload would be accepted, 1 when
 * the message or any sample would be rejected, 2 on a usage error (unknown
 * adapter, unreadable file); messages go to `out` and `errout`. */
int iocd_try_run(const struct iocd_config *cfg, const char *adapter, const char *path,
                 const char *topic, FILE *out, FILE *errout);

#endif
