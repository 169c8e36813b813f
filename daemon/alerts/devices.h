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
 * iocd_devices_restore). Loop thread only. */
#ifndef IOCD_DEVICES_H
#define IOCD_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config/config.h"

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
};

/* One record as plain data, as the store writes and reads it. A taken row
 * owns `block` ("source\0device\0"), which source and device point into. */
struct iocd_device_row {
    char *block;
    const char *source, *device;
    enum iocd_device_state state;
    int64_t first_seen_ms, last_seen_ms, interval_ms;
    uint64_t messages;
};

/* `is_new`: the device was not known before (previous state meaningless). */
typedef void (*iocd_devices_change_fn)(void *ud, const struct iocd_device_info *d,
                                       enum iocd_device_state previous, bool is_new);
typedef void (*iocd_devices_each_fn)(void *ud, const struct iocd_device_info *d);

struct iocd_devices;

struct iocd_devices *iocd_devices_new(const struct iocd_config *cfg, iocd_devices_change_fn fn,
                                      void *ud);
void iocd_devices_free(struct iocd_devices *d);
/* A message from the device arrived at `now_ms`. 0, or -1 when the device
 * is new and [devices] max_devices are already tracked (not tracked). */
int iocd_devices_seen(struct iocd_devices *d, const char *source, const char *device,
                      int64_t now_ms);
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
/* The device at position i (0 .. count - 1, the order devices were first
 * seen; positions never change), or NULL past the end. */
const struct iocd_device_info *iocd_devices_at(const struct iocd_devices *d, size_t i);
const char *iocd_device_state_name(enum iocd_device_state s); /* "online", "stale", "offline" */
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
