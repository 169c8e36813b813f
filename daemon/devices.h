/* daemon/devices.h — which devices are alive: online, stale or offline.
 *
 * Owns: one record per (source, device) seen — last message time, the
 * device's usual interval (learned from the gaps between its messages)
 * and its state. A device is stale after [devices] stale_multiple x its
 * usual interval without a message, offline after offline_multiple x (or
 * at once when its feed says so, e.g. a Sparkplug DEATH). Every change of
 * state is reported through the callback. Loop thread only. */
#ifndef IOCD_DEVICES_H
#define IOCD_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

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
const char *iocd_device_state_name(enum iocd_device_state s); /* "online", "stale", "offline" */

#endif
