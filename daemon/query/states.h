/* daemon/query/states.h — stored state windows (docs/states.md): the time
 * in each state and the transitions per window of a state series, for
 * `GET /api/v1/windows` and `iocctl query`.
 *
 * Owns: nothing beyond one call, on the caller's read-only connection
 * (iocd_query_open). A database from before schema 6 has no state series. */
#ifndef IOCD_QUERY_STATES_H
#define IOCD_QUERY_STATES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlite3;

/* 1 when series `id` is a state series, 0 when not, -1 on a database error. */
int iocd_query_is_state(struct sqlite3 *db, int64_t id);

/* The states of series `id`, comma-separated, in the order of the index
 * its journal samples carry as their value, into buf (at least 528 bytes
 * for all 16): 1, 0 when it is not a state series, -1 on a database error. */
int iocd_query_state_names(struct sqlite3 *db, int64_t id, char *buf, size_t n);

/* Adds to `root` the series' "kind":"state", "resolution", "res_s",
 * "latest" ({"state","time","time_ms"}) and "windows": per window of
 * `res_s` (0: the finest stored) starting in [from_ms, to_ms), at most
 * `limit` (<= 0: no limit), oldest first: {"start","start_ms",
 * "transitions","entries","states":{STATE:{"ms","entries","transitions"}}}.
 * IOCD_QUERY_OK, or IOCD_QUERY_BAD / IOCD_QUERY_FAILED with err. */
int iocd_query_state_windows(struct sqlite3 *db, int64_t id, int64_t res_s, int64_t from_ms,
                             int64_t to_ms, int64_t limit, cJSON *root, char *err,
                             size_t errlen);

#endif
