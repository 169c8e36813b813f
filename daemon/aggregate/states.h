/* daemon/aggregate/states.h — state series: per window, the time spent in
 * each state and the transitions (docs/states.md).
 *
 * Owns: every state series' known states (at most IOCD_STATE_MAX_NAMES,
 * by index), its latest state and time, how far its time is attributed
 * ("carried"), and the window increments accumulated since the last flush.
 * A state holds from its sample's observation time until the next sample,
 * for at most `carry` ms; the time of a window is attributed when the next
 * sample arrives or, for the state in force, once the finest window closes
 * (iocd_states_tick). Every increment is additive (a carried time a late
 * sample shows wrong is taken back as a negative increment), so the store
 * merges them like the numeric windows; unlike those, every flush takes
 * all of them with each series' latest state, in the transaction that
 * journals their samples, so nothing is replayed after a crash. Loop
 * thread only. */
#ifndef IOCD_STATES_H
#define IOCD_STATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/adapter.h"

#define IOCD_STATE_MAX_NAMES 16 /* distinct states of one series */
#define IOCD_STATE_NAME_MAX 32  /* bytes of a state */

/* One increment of a stored state window (series, resolution, start,
 * state), as the flush writes it. */
struct iocd_state_row {
    uint32_t series_id;
    uint32_t res_s;
    int64_t start_ms;
    char state[IOCD_STATE_NAME_MAX + 1];
    int64_t ms;          /* time in the state; negative: a carried time taken back */
    int64_t entries;     /* samples of the state in the window */
    int64_t transitions; /* changes into the state in the window */
};

/* A state series as the flush leaves it (upserted whole). */
struct iocd_state_latest {
    uint32_t series_id;
    int64_t last_ms;    /* observation time of the latest sample */
    int64_t carried_ms; /* time attributed up to here */
    char state[IOCD_STATE_NAME_MAX + 1];
    char names[IOCD_STATE_MAX_NAMES * (IOCD_STATE_NAME_MAX + 1)]; /* "on,off,fault", by index */
};

struct iocd_states;

/* `carry_ms`: how long a state holds without a newer sample; whole days
 * start at local midnight `tz_offset_ms` east of UTC. NULL out of memory. */
struct iocd_states *iocd_states_new(int64_t carry_ms, int64_t tz_offset_ms);
void iocd_states_free(struct iocd_states *st);

/* True when `s` is a state: 1..32 bytes of letters, digits, '_', '-', '.'. */
bool iocd_state_valid(const char *s);
/* True when series `id` is a state series. */
bool iocd_states_has(const struct iocd_states *st, uint32_t id);

/* Add state `state` (valid) of series `id` at t_ms, its windows at `n_res`
 * resolutions `res_ms` (finest first). IOCD_REJECT_NONE, STATE_ORDER (older
 * than the series' latest sample), TOO_MANY_STATES or NO_MEMORY, with
 * `detail`; *idx receives the state's index (the journal's value). */
enum iocd_reject iocd_states_add(struct iocd_states *st, uint32_t id, const int64_t *res_ms,
                                 int n_res, const char *state, int64_t t_ms, int *idx,
                                 char *detail, size_t n);
/* At start: a stored state series. `names` comma-separated in index order,
 * `last` one of them. 0, or -1 out of memory or when the row is damaged. */
int iocd_states_restore(struct iocd_states *st, uint32_t id, const int64_t *res_ms, int n_res,
                        const char *names, const char *last, int64_t last_ms,
                        int64_t carried_ms);
/* Attribute each series' state in force up to the start of its finest
 * window holding `closed_ms` (every window before it is closed), at most
 * `carry` past its latest sample. Cost: one step per state series. */
void iocd_states_tick(struct iocd_states *st, int64_t closed_ms);
/* The latest state of series `id` and its time, or NULL. */
const char *iocd_states_latest(const struct iocd_states *st, uint32_t id, int64_t *t_ms);
/* State `idx` of series `id`, or NULL. */
const char *iocd_states_name(const struct iocd_states *st, uint32_t id, int idx);
/* Increments held for the next flush. */
size_t iocd_states_pending(const struct iocd_states *st);
/* Move out the increments and the changed series (malloc'd arrays, the
 * caller frees them; NULL with *n 0 when none). 0, or -1 out of memory
 * (nothing taken). */
int iocd_states_take(struct iocd_states *st, struct iocd_state_row **rows, size_t *n_rows,
                     struct iocd_state_latest **latest, size_t *n_latest);

#endif
