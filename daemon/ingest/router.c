/* daemon/ingest/router.c — topic routing and decode (see router.h). */
#include "daemon/ingest/router.h"

#include <mosquitto.h>
#include <stdbool.h>

#include "daemon/ingest/properties.h"

/* Decoding one message may use at most this much scratch memory; beyond it
 * the message is rejected as no_memory rather than growing without bound. */
#define ROUTER_ARENA_LIMIT (64u << 20)

void iocd_router_init(struct iocd_router *r, const struct iocd_config *cfg,
                      struct iocd_pipeline *pipe)
{
    r->cfg = cfg;
    r->pipe = pipe;
    iocd_arena_init(&r->arena, ROUTER_ARENA_LIMIT);
    iocd_batch_init(&r->batch, &r->arena);
}

int iocd_router_match(const struct iocd_router *r, const char *topic)
{
    for (int i = 0; i < r->cfg->n_adapters; i++) {
        bool match = false;
        /* The filter part: a shared subscription's messages carry the
         * topics FILTER matches, never "$share/..." (MQTT 5 4.8.2). */
        if (mosquitto_topic_matches_sub(r->cfg->adapters[i].filter, topic, &match) ==
                MOSQ_ERR_SUCCESS &&
            match)
            return i;
    }
    return -1;
}

void iocd_router_dispatch(struct iocd_router *r, const char *topic, const void *payload,
                          size_t len, int64_t received_ms, const mosquitto_property *props)
{
    struct iocd_message msg = {
        .topic = topic,
        .payload = payload,
        .len = len,
        .received_ms = received_ms,
    };
    int idx = iocd_router_match(r, topic);
    if (idx < 0) {
        iocd_pipeline_reject_unrouted(r->pipe, &msg, IOCD_REJECT_NO_ROUTE);
        return;
    }
    const struct iocd_adapter_conf *a = &r->cfg->adapters[idx];
    enum iocd_reject reason;
    if ((int64_t)len > r->cfg->ingest.max_payload) {
        reason = iocd_batch_fail(&r->batch, IOCD_REJECT_TOO_LARGE,
                                 "%zu bytes, [ingest] max_payload is %lld", len,
                                 (long long)r->cfg->ingest.max_payload);
    } else if (iocd_properties_take(props, &msg, &r->batch)) {
        reason = iocd_batch_fail(&r->batch, IOCD_REJECT_NO_MEMORY, "out of memory for user "
                                 "properties");
    } else {
        reason = a->ops->decode(a->state, &msg, &r->batch);
        if (reason == IOCD_REJECT_NONE && r->batch.n_obs == 0 && r->batch.n_events == 0)
            reason = iocd_batch_fail(&r->batch, IOCD_REJECT_MISSING_FIELD,
                                     "decoded to nothing");
        if (reason == IOCD_REJECT_NONE && iocd_properties_apply(&msg, &r->batch))
            reason = iocd_batch_fail(&r->batch, IOCD_REJECT_NO_MEMORY,
                                     "out of memory for user properties");
    }
    iocd_pipeline_ingest(r->pipe, idx, &msg, reason, &r->batch);
    iocd_batch_reset(&r->batch);
}

void iocd_router_free(struct iocd_router *r)
{
    iocd_arena_free(&r->arena);
}
