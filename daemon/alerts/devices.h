/* daemon/alerts/devices.h — which devices are alive: online, stale or offline.
 *
 * Owns: one record per (source, device) seen — last message time, the
 * device's usual interval (learned from the gaps between its messages)
 * and its state. A device is stale after [devices] stale_multiple x its
 * usual interval without a message, offline after offline_multiple x (or
 * at once when its feed says so, e.g. a Sparkplug DEATH). Every change of
 * state is reported through the callback. Records changed since they were
 * last taken (seen, forced offline, timed out) are marked dirty, so the
 * store can keep a copy that survives a restart (iocd_devices_take_dirty,
 * iocd_devices_restore). The last position a message reported is kept
 * with the record (iocd_devices_locate; the registry's fixed positions
 * are not: they stay in the configuration). Loop thread only. */
#ifndef IOCD_DEVICES_H
#define IOCD_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config/config.h"
#include "daemon/config/registry.h"

enum iocd_device_state {
    IOCD_DEVICE_ONLINE,
    IOCD_DEVICE_STALE,
    IOCD_DEVICE_OFFLINE,
    IOCD_DEVICE__COUNT,
};

struct iocd_device_info {
    const char *source, *device;
    enum iocd_device_state state;
    int64_t first_seen_ms;
    int64_t last_seen_ms;  /* receive time of the latest message */
    int64_t interval_ms;   /* usual interval between messages */
    uint64_t messages;
    /* The last position a message reported (an observation's or event's
     * Location), and when iocd received it; has_position false: none yet. */
    bool has_position;
    double lat, lon;
    int64_t position_ms;
};

/* One record as plain data, as the store writes and reads it. A taken row
 * owns `block` ("source\0device\0"), which source and device point into. */
struct iocd_device_row {
    char *block;
    const char *source, *device;
    enum iocd_device_state state;
    int64_t first_seen_ms, last_seen_ms, interval_ms;
    uint64_t messages;
    bool has_position; /* lat, lon, position_ms as in iocd_device_info */
    double lat, lon;
    int64_t position_ms;
};

/* `is_new`: the device was not known before (previous state meaningless). */
typedef void (*iocd_devices_change_fn)(void *ud, const struct iocd_device_info *d,
                                       enum iocd_device_state previous, bool is_new);
typedef void (*iocd_devices_each_fn)(void *ud, const struct iocd_device_info *d);

struct iocd_devices;

struct iocd_devices *iocd_devices_new(const struct iocd_config *cfg, iocd_devices_change_fn fn,
                                      void *ud);
void iocd_devices_free(struct iocd_devices *d);
/* Start loading what iocd_devices_seen of (source, device) reads, in two
 * steps some work apart so that the misses overlap that work: step 0 the
 * index slot, step 1 (the slot loaded by then) the device's record. */
void iocd_devices_prefetch(const struct iocd_devices *d, const char *source, const char *device,
                           int step);
/* A message from the device arrived at `now_ms`. 0, or -1 when the device
 * is new and [devices] max_devices are already tracked (not tracked). */
int iocd_devices_seen(struct iocd_devices *d, const char *source, const char *device,
                      int64_t now_ms);
/* A message from the device, received at `received_ms`, said it is at
 * (lat, lon). Kept when
 * no later position is known; the first position marks the record dirty,
 * later ones are stored with the device's next write (persist_interval,
 * a state change, the stop). 0, or -1 when the device is not tracked or
 * the position is out of range (not finite, |lat| > 90, |lon| > 180). */
int iocd_devices_locate(struct iocd_devices *d, const char *source, const char *device,
                        double lat, double lon, int64_t received_ms);
/* The feed said the device went away (state offline until it is seen). */
void iocd_devices_offline(struct iocd_devices *d, const char *source, const char *device,
                          int64_t now_ms);
/* Move devices to stale / offline as time passes; call about once a second. */
void iocd_devices_tick(struct iocd_devices *d, int64_t now_ms);
/* NULL when unknown. */
const struct iocd_device_info *iocd_devices_get(const struct iocd_devices *d, const char *source,
                                                const char *device);
/* Every device, in no particular order. */
void iocd_devices_foreach(const struct iocd_devices *d, iocd_devices_each_fn fn, void *ud);
size_t iocd_devices_count(const struct iocd_devices *d);
/* Sources with devices, in the order their first device came, and for
 * source i its name and the number of its devices in each state (kept as
 * states change: no walk over the devices). NULL past the last. */
size_t iocd_devices_sources(const struct iocd_devices *d);
const char *iocd_devices_source_counts(const struct iocd_devices *d, size_t i,
                                       uint64_t counts[IOCD_DEVICE__COUNT]);
/* The device at position i (0 .. count - 1, the order devices were first
 * seen; positions never change), or NULL past the end. */
const struct iocd_device_info *iocd_devices_at(const struct iocd_devices *d, size_t i);
const char *iocd_device_state_name(enum iocd_device_state s); /* "online", "stale", "offline" */

/* Where a device is, by the documented precedence (docs/registry.md):
 * the registry's position of a row tagged "fixed" always; otherwise the
 * newer of the last reported position (its receive time) and the
 * registry's (the time the row's position last changed: the file's
 * modification time); either when it is the only one. */
enum iocd_position_source { IOCD_POSITION_NONE, IOCD_POSITION_REPORTED, IOCD_POSITION_REGISTRY };
struct iocd_device_position {
    enum iocd_position_source source;
    double lat, lon;
    int64_t time_ms; /* received (reported) or changed (registry) */
};
/* `info` (NULL: never seen) and `entry` (NULL: not registered). */
struct iocd_device_position iocd_device_position_of(const struct iocd_device_info *info,
                                                    const struct iocd_registry_entry *entry);
const char *iocd_position_source_name(enum iocd_position_source s); /* "reported", "registry" */
/* The state named `name`; -1 when none. */
int iocd_device_state_parse(const char *name);

/* Put back a record the store kept (at start, before any message): no
 * callback; the next tick moves it to stale / offline by time (and reports
 * that). Not marked dirty. 0; -1 when the row is invalid, already known,
 * over [devices] max_devices, or memory is short. */
int iocd_devices_restore(struct iocd_devices *d, const struct iocd_device_row *row);
/* Records changed since they were last taken, not yet taken. */
size_t iocd_devices_dirty_count(const struct iocd_devices *d);
/* Mark dirty every record whose last-seen time the store does not have yet
 * (at shutdown: a graceful stop writes every device exactly). */
void iocd_devices_mark_unsaved(struct iocd_devices *d);
/* Take at most `max` dirty records, longest dirty first, as rows the caller
 * owns (free with iocd_device_rows_free); they are no longer dirty. *n
 * receives the count. NULL with *n 0 when none are dirty or memory is short
 * (then they stay dirty). */
struct iocd_device_row *iocd_devices_take_dirty(struct iocd_devices *d, size_t max, size_t *n);
void iocd_device_rows_free(struct iocd_device_row *rows, size_t n);

#endif
