/* daemon/http/metrics.h — iocd's figures for operators: /metrics (Prometheus
 * text format 0.0.4), /api/v1/status and /healthz.
 *
 * Owns: nothing but the formatting; reads the pipeline's counters and
 * flush figures, the MQTT session, the live feed, the republisher and the
 * Sparkplug STATE on the loop thread. */
#ifndef IOCD_METRICS_H
#define IOCD_METRICS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "daemon/live/feed.h"
#include "daemon/mqtt/session.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/mqtt/republish.h"
#include "daemon/mqtt/sparkplug_host.h"

struct iocd_metrics_src {
    const struct iocd_pipeline *pipe;
    const struct iocd_mqtt *mqtt;
    const struct iocd_feed *feed;
    const struct iocd_republish *republish;
    const struct iocd_sparkplug_host *sparkplug; /* NULL: none (tests) */
    int64_t started_ms;
};

/* Prometheus text (malloc'd), NULL on ENOMEM. */
char *iocd_metrics_render(const struct iocd_metrics_src *s);
/* The body of GET /api/v1/status (docs/api.md). */
cJSON *iocd_status_json(const struct iocd_metrics_src *s);
/* 0 healthy; fills body with "status" and, when failing, "reason". */
int iocd_health(const struct iocd_metrics_src *s, cJSON *body);

/* A flush in flight longer than this means the disk is stuck. */
#define IOCD_FLUSH_STUCK_MS 60000

#endif
