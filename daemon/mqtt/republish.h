/* daemon/mqtt/republish.h — iocd's own output on MQTT.
 *
 * Owns: two live-hub sinks that publish under [live] prefix: PREFIX/KEY
 * as ioc.v1 protobuf (observations as one ioc.v1.Batch per received
 * message and device on PREFIX/obs/SOURCE/DEVICE, closed windows as one
 * ioc.v1.WindowBatch per device and resolution; with per_metric one per
 * observation or window) and, opt-in, PREFIX/json/KEY as JSON, one per item;
 * device status retained. Publishing never waits: with the broker away or
 * too much unacknowledged, the item is dropped and counted. Loop thread
 * only. */
#ifndef IOCD_REPUBLISH_H
#define IOCD_REPUBLISH_H

#include <stdint.h>

#include "daemon/config/config.h"
#include "daemon/live/hub.h"
#include "daemon/mqtt/session.h"

struct iocd_republish {
    const struct iocd_config *cfg;
    struct iocd_mqtt *mqtt;
    struct iocd_live *live;
    unsigned sink, json_sink;        /* hub handles: protobuf, JSON twin */
    unsigned pb_kinds, json_kinds;   /* bit per enum iocd_live_kind */
    uint64_t published; /* MQTT messages queued */
    uint64_t dropped;   /* could not be queued */
};

/* Attach to `live` (no-op when [live] prefix is empty). 0 or -1 (ENOMEM). */
int iocd_republish_start(struct iocd_republish *r, const struct iocd_config *cfg,
                         struct iocd_mqtt *mqtt, struct iocd_live *live);
void iocd_republish_stop(struct iocd_republish *r);
/* Publish one item in every form configured (used to re-send device
 * status after a reconnect). */
void iocd_republish_item(void *ud, const struct iocd_live_item *it);

#endif
