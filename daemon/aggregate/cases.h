/* daemon/aggregate/cases.h — open cases and the time each took to resolve.
 *
 * Owns: the table of open cases, (source, case id) → the time of its
 * earliest update, bounded by IOCD_CASES_MAX. An event with a case id (a
 * citizen report's id, docs/events.md) opens its case or updates it; an
 * update whose status resolves it (iocd_case_status_resolves) closes it and
 * gives the time it took, which the pipeline stores as the series
 * SOURCE/AREA/resolve_time. Restored at start from the stored events. Loop
 * thread only. */
#ifndef IOCD_CASES_H
#define IOCD_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Open cases tracked at once; updates of further new cases are counted
 * (untracked) and give no resolve time. */
#define IOCD_CASES_MAX 1000000
/* How far back the open cases are read from the store at start. */
#define IOCD_CASES_HORIZON_MS (INT64_C(90) * 86400000)

struct iocd_cases;

struct iocd_cases *iocd_cases_new(size_t max);
void iocd_cases_free(struct iocd_cases *c);
/* "resolved", "closed" or "done": the statuses that close a case. */
bool iocd_case_status_resolves(const char *status);
/* One update of case `case_id` of `source` at t_ms with `status`. Returns 1
 * with *took_ms when it resolves an open case (which is then forgotten),
 * else 0: a new case is opened, an open one keeps its earliest time; a
 * resolving update of a case not open (its start unknown, or a repeat)
 * opens nothing. -1 when a new case did not fit (counted). */
int iocd_cases_update(struct iocd_cases *c, const char *source, const char *case_id,
                      int64_t t_ms, const char *status, int64_t *took_ms);
/* At start: an open case as stored (its earliest update). */
void iocd_cases_restore(struct iocd_cases *c, const char *source, const char *case_id,
                        int64_t first_ms);
size_t iocd_cases_open(const struct iocd_cases *c);
uint64_t iocd_cases_untracked(const struct iocd_cases *c);

#endif
