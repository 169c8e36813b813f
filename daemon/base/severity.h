/* daemon/base/severity.h — the names of ioc.v1.Severity values.
 *
 * Owns the one table of severity names, used by the feed, the API, --try,
 * the config's alert rules, iocctl and (served at /api/v1/meta) the
 * console. The values are ioc.v1.Severity's (proto/ioc/v1/ioc.proto). */
#ifndef IOCD_SEVERITY_H
#define IOCD_SEVERITY_H

#include <stdint.h>

#define IOCD_SEVERITY__COUNT 6

/* "unspecified", "info", "warning", "minor", "major", "critical" for
 * ioc.v1.Severity 0..5; NULL for any other value. */
const char *iocd_severity_name(int64_t severity);

/* The value of a severity name (exact, lower case), or -1. */
int iocd_severity_parse(const char *name);

#endif
