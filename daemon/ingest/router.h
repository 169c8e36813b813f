/* daemon/ingest/router.h — from an MQTT message to the adapter that decodes it.
 *
 * Owns: the per-message scratch arena and batch. For each message: size
 * check, first adapter whose topic filter matches (in config order),
 * decode, hand the result to the pipeline, reset the arena. Never blocks,
 * never keeps anything of a message after dispatch returns. */
#ifndef IOCD_ROUTER_H
#define IOCD_ROUTER_H

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
/* The index of the adapter for `topic`, or -1. */
int iocd_router_match(const struct iocd_router *r, const char *topic);
void iocd_router_dispatch(struct iocd_router *r, const char *topic, const void *payload,
                          size_t len, int64_t received_ms);
void iocd_router_free(struct iocd_router *r);

#endif
