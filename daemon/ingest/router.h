/* daemon/ingest/router.h — from an MQTT message to the adapter that decodes it.
 *
 * Owns: the per-message scratch arena and batch. For each message: first
 * adapter whose topic filter matches (in config order; of a shared
 * subscription $share/GROUP/FILTER, FILTER), size check, the MQTT v5 user
 * properties (properties.h), decode, the properties as labels, hand the
 * result to the pipeline, reset the arena. Never blocks, never keeps
 * anything of a message after dispatch returns. */
#ifndef IOCD_ROUTER_H
#define IOCD_ROUTER_H

#include <mosquitto.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/adapter.h"
#include "daemon/base/arena.h"
#include "daemon/config/config.h"
#include "daemon/pipeline/pipeline.h"

struct iocd_router {
    const struct iocd_config *cfg; /* borrowed */
    struct iocd_pipeline *pipe;    /* borrowed */
    struct iocd_arena arena;
    struct iocd_batch batch;
};

void iocd_router_init(struct iocd_router *r, const struct iocd_config *cfg,
                      struct iocd_pipeline *pipe);
/* The index of the adapter for `topic` (a received message's topic), or -1. */
int iocd_router_match(const struct iocd_router *r, const char *topic);
/* `props`: the message's MQTT v5 properties, NULL under 3.1.1 or none. */
void iocd_router_dispatch(struct iocd_router *r, const char *topic, const void *payload,
                          size_t len, int64_t received_ms, const mosquitto_property *props);
void iocd_router_free(struct iocd_router *r);

#endif
