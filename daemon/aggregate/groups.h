/* daemon/aggregate/groups.h — roll-ups across devices ([group NAME]).
 *
 * Owns: which series belong to which group (resolved once per series,
 * when it is created or preloaded, and interned as small sets shared by
 * series of the same membership), each group's own series id, and for
 * gauge groups the members' latest values and the interval clock. The
 * pipeline feeds it accepted samples and turns what it says into samples
 * of the group series; nothing here touches windows, the journal or the
 * store, and nothing flows back to the members. Loop thread only.
 * Membership is fixed for the life of the process ([group] is
 * restart-only, and so, while a group selects by the device registry
 * (`where`, {area}), are the registry's area, subsystem and tags:
 * daemon/config/diff.c). See docs/groups.md. */
#ifndef IOCD_GROUPS_H
#define IOCD_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config/config.h"

struct iocd_groups;

/* The groups of `cfg` (borrowed; it must outlive the result). NULL out of
 * memory. With no [group] section every call below is a cheap no-op. */
struct iocd_groups *iocd_groups_new(const struct iocd_config *cfg);
void iocd_groups_free(struct iocd_groups *gs);

/* Decide once what series `id`, named SOURCE/DEVICE/METRIC, is: a group's
 * own series (its name is a group's `series`), a member of some groups
 * (its name matches one of their `members` patterns and its device's row
 * of the registry meets their `where`/area, iocd_group_conf_selects), or
 * neither. A group
 * series is never a member (groups do not nest). Called when the series is
 * created or preloaded, never per sample. 0, or -1 out of memory. */
int iocd_groups_resolve(struct iocd_groups *gs, uint32_t id, const char *name);
/* The group whose own series is `id`, or -1. */
int iocd_groups_owner(const struct iocd_groups *gs, uint32_t id);
/* The indexes (into cfg->groups) of the groups series `id` is a member
 * of; *n of them (0: none). Valid until the next iocd_groups_resolve. */
const uint16_t *iocd_groups_of(const struct iocd_groups *gs, uint32_t id, size_t *n);
/* A group's own series id, once known (created or preloaded). */
bool iocd_groups_series_id(const struct iocd_groups *gs, int g, uint32_t *id);

/* The state series (borrowed; NULL: none): a gauge with `state` counts
 * the fresh members whose latest state it is (docs/states.md). */
struct iocd_states;
void iocd_groups_set_states(struct iocd_groups *gs, const struct iocd_states *states);
/* An accepted sample of member `id` at observation time t_ms: kept as its
 * latest value when it is the newest (gauges read it). */
void iocd_groups_note(struct iocd_groups *gs, uint32_t id, double v, int64_t t_ms);
/* A sample of gauge `g`'s own series at t_ms was stored (at start, from
 * the journal): no sample at or before t_ms is emitted again. */
void iocd_groups_emitted(struct iocd_groups *gs, int g, int64_t t_ms);

/* For each gauge group whose interval boundary T (a multiple of its
 * interval since the epoch, UTC) passed since the last call (the first
 * call only arms the clock: a boundary before the start is not emitted),
 * the statistic over the members whose latest value is younger than
 * `stale` at T (observation time > T - stale); `fn` is called with it and
 * with how many members counted. A group with no fresh member emits
 * nothing that interval. */
typedef void (*iocd_groups_emit_fn)(void *ud, int g, int64_t t_ms, double value,
                                    size_t n_fresh);
void iocd_groups_tick(struct iocd_groups *gs, int64_t now_ms, iocd_groups_emit_fn fn, void *ud);

/* The statistic `stat` of gauge `g` at boundary t_ms (what tick emits);
 * false when no member is fresh. For tests and the tick. */
bool iocd_groups_gauge_value(const struct iocd_groups *gs, int g, int64_t t_ms, double *value,
                             size_t *n_fresh);

#endif
