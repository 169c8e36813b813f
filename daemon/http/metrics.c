/* daemon/http/metrics.c — /metrics, /api/v1/status and /healthz bodies (metrics.h).
 *
 * Owns: the text and JSON it returns (the caller frees them); reads the
 * pipeline, session, feed and republisher, never changes them. */
#include "daemon/http/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "iocd_build.h"
#include "daemon/base/timeutil.h"
#include "daemon/mqtt/sockio.h"

static void head(struct iocd_buf *t, const char *name, const char *type, const char *help)
{
    iocd_buf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter of the broker socket's calls, by libmosquitto and by the kernel. */
static void by_layer(struct iocd_buf *t, const char *name, const char *help, uint64_t library,
                     uint64_t kernel)
{
    head(t, name, "counter", help);
    iocd_buf_printf(t, "%s{by=\"libmosquitto\"} %" PRIu64 "\n", name, library);
    iocd_buf_printf(t, "%s{by=\"kernel\"} %" PRIu64 "\n", name, kernel);
}

/* The flush cycle and what waits for it: committed and failed flushes,
 * unwritten data and back-pressure, durations, what is pending. */
static void flush_figures(struct iocd_buf *t, const struct iocd_pipeline *p)
{
    int64_t now = iocd_now_ms();
    head(t, "iocd_flushes_total", "counter", "flushes committed to SQLite");
    iocd_buf_printf(t, "iocd_flushes_total %" PRIu64 "\n", p->flushes_committed);
    head(t, "iocd_flush_failures_total", "counter",
         "flushes that did not commit (full or read-only disk...); each is retried");
    iocd_buf_printf(t, "iocd_flush_failures_total %" PRIu64 "\n", p->flush_failures);
    head(t, "iocd_unwritten", "gauge", "accepted samples and events not yet written");
    iocd_buf_printf(t, "iocd_unwritten %zu\n", iocd_pipeline_unwritten(p));
    head(t, "iocd_unwritten_max", "gauge", "[ingest] max_unwritten: back-pressure from here");
    iocd_buf_printf(t, "iocd_unwritten_max %" PRId64 "\n", p->cfg->ingest.max_unwritten);
    head(t, "iocd_unwritten_oldest_age_seconds", "gauge",
         "age of the oldest accepted sample or event not yet written (0: none)");
    iocd_buf_printf(t, "iocd_unwritten_oldest_age_seconds %.3f\n",
                    (double)iocd_pipeline_unwritten_age_ms(p, now) / 1000.0);
    head(t, "iocd_backpressure", "gauge", "1 while iocd does not read from the broker");
    iocd_buf_printf(t, "iocd_backpressure %d\n", p->paused);
    head(t, "iocd_backpressure_total", "counter", "times back-pressure turned on");
    iocd_buf_printf(t, "iocd_backpressure_total %" PRIu64 "\n", p->pauses);
    head(t, "iocd_flush_last_seconds", "gauge", "duration of the last flush");
    iocd_buf_printf(t, "iocd_flush_last_seconds %.6f\n", (double)p->last_flush_us / 1e6);
    head(t, "iocd_flush_max_seconds", "gauge", "longest flush since start");
    iocd_buf_printf(t, "iocd_flush_max_seconds %.6f\n", (double)p->max_flush_us / 1e6);
    head(t, "iocd_flush_duration_seconds", "histogram",
         "time to commit a flush (one SQLite transaction on the worker thread)");
    for (int i = 0; i < IOCD_FLUSH_BUCKETS; i++) {
        if (i == IOCD_FLUSH_BUCKETS - 1)
            iocd_buf_printf(t, "iocd_flush_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
                            p->flush_hist[i]);
        else
            iocd_buf_printf(t, "iocd_flush_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                            (double)iocd_flush_buckets_us[i] / 1e6, p->flush_hist[i]);
    }
    iocd_buf_printf(t, "iocd_flush_duration_seconds_sum %.6f\n", (double)p->flush_total_us / 1e6);
    iocd_buf_printf(t, "iocd_flush_duration_seconds_count %" PRIu64 "\n",
                    p->flush_hist[IOCD_FLUSH_BUCKETS - 1]);
    head(t, "iocd_flush_in_progress", "gauge", "1 while a flush is being written");
    iocd_buf_printf(t, "iocd_flush_in_progress %d\n", p->inflight != NULL);
    head(t, "iocd_pending_windows", "gauge", "changed windows not yet written");
    iocd_buf_printf(t, "iocd_pending_windows %zu\n", iocd_agg_size(p->agg));
    head(t, "iocd_pending_samples", "gauge", "accepted samples not yet in the journal");
    iocd_buf_printf(t, "iocd_pending_samples %zu\n", p->n_samples);
    head(t, "iocd_pending_events", "gauge", "accepted events not yet written");
    iocd_buf_printf(t, "iocd_pending_events %zu\n", p->n_events);
}

static int health_status(const struct iocd_metrics_src *s, cJSON *body);

char *iocd_metrics_render(const struct iocd_metrics_src *s)
{
    const struct iocd_pipeline *p = s->pipe;
    struct iocd_buf t;
    iocd_buf_init(&t);
    static const struct {
        int ctr;
        const char *name, *help;
    } per_adapter[] = {
        {IOCD_CTR_MESSAGES, "iocd_messages_total", "MQTT messages routed to the adapter"},
        {IOCD_CTR_ACCEPTED, "iocd_messages_accepted_total",
         "messages with at least one accepted observation or event"},
        {IOCD_CTR_OBSERVATIONS, "iocd_observations_total", "observations aggregated"},
        {IOCD_CTR_EVENTS, "iocd_events_total", "events accepted"},
        {IOCD_CTR_DEAD_LETTERS, "iocd_dead_letters_total",
         "rejected messages published to the dead-letter topic"},
        {IOCD_CTR_COMMANDS, "iocd_commands_total",
         "commands the adapter asked for (Sparkplug Rebirth requests), published"},
        {IOCD_CTR_COMMAND_DROPS, "iocd_command_drops_total",
         "commands that could not be published (broker away or queue full)"},
    };
    for (size_t k = 0; k < sizeof(per_adapter) / sizeof(per_adapter[0]); k++) {
        head(&t, per_adapter[k].name, "counter", per_adapter[k].help);
        for (size_t i = 0; i + 1 < p->n_scopes; i++)
            iocd_buf_printf(&t, "%s{adapter=\"%s\"} %" PRIu64 "\n", per_adapter[k].name, p->scopes[i].name,
                p->scopes[i].value[per_adapter[k].ctr]);
    }
    head(&t, "iocd_rejects_total", "counter",
         "samples or messages rejected, per adapter (iocd: no adapter took it) and reason");
    for (size_t i = 0; i < p->n_scopes; i++)
        for (int r = 1; r < IOCD_REJECT__COUNT; r++)
            if (p->scopes[i].value[IOCD_CTR_REJECT_BASE + r])
                iocd_buf_printf(&t, "iocd_rejects_total{adapter=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                    p->scopes[i].name, iocd_reject_name((enum iocd_reject)r),
                    p->scopes[i].value[IOCD_CTR_REJECT_BASE + r]);
    head(&t, "iocd_duplicates_total", "counter",
         "redelivered samples dropped (same series and observation time)");
    for (size_t i = 0; i + 1 < p->n_scopes; i++)
        iocd_buf_printf(&t, "iocd_duplicates_total{adapter=\"%s\"} %" PRIu64 "\n", p->scopes[i].name,
            p->scopes[i].value[IOCD_CTR_REJECT_BASE + IOCD_REJECT_DUPLICATE]);
    head(&t, "iocd_notes_total", "counter", "adapter notes (partial decodes, sequence gaps)");
    for (size_t i = 0; i < p->n_scopes; i++)
        for (int n = 0; n < IOCD_NOTE__COUNT; n++)
            if (p->scopes[i].value[IOCD_CTR_NOTE_BASE + n])
                iocd_buf_printf(&t, "iocd_notes_total{adapter=\"%s\",note=\"%s\"} %" PRIu64 "\n",
                    p->scopes[i].name, iocd_note_name((enum iocd_note)n),
                    p->scopes[i].value[IOCD_CTR_NOTE_BASE + n]);
    flush_figures(&t, p);
    head(&t, "iocd_series", "gauge", "distinct series known");
    iocd_buf_printf(&t, "iocd_series %zu\n", iocd_series_count(p->series));
    head(&t, "iocd_broker_connected", "gauge", "1 while connected to the MQTT broker");
    iocd_buf_printf(&t, "iocd_broker_connected %d\n", s->mqtt->state == IOCD_MQTT_CONNECTED);
    head(&t, "iocd_broker_connects_total", "counter", "successful connections to the broker");
    iocd_buf_printf(&t, "iocd_broker_connects_total %" PRIu64 "\n", s->mqtt->connects);
    struct iocd_sockio_stats io = iocd_sockio_stats();
    by_layer(&t, "iocd_broker_socket_reads_total",
             "reads of the broker socket: by libmosquitto, and those that reached the kernel "
             "([mqtt] socket_buffers)",
             io.read_calls, io.read_syscalls);
    by_layer(&t, "iocd_broker_socket_writes_total",
             "writes to the broker socket: by libmosquitto, and those that reached the kernel",
             io.write_calls, io.write_syscalls);
    head(&t, "iocd_broker_wakeups_skipped_total", "counter",
         "bytes libmosquitto would have written to its wake-up pipe for a loop thread iocd "
         "does not run, one per queued packet");
    iocd_buf_printf(&t, "iocd_broker_wakeups_skipped_total %" PRIu64 "\n", io.wake_writes);
    head(&t, "iocd_broker_unreachable_seconds", "gauge",
         "how long the broker has been unreachable (0: connected, or paused by back-pressure)");
    iocd_buf_printf(&t, "iocd_broker_unreachable_seconds %.3f\n",
                    (double)iocd_mqtt_unreachable_ms(s->mqtt, iocd_now_ms()) / 1000.0);
    struct iocd_feed_stats fs;
    iocd_feed_get_stats(s->feed, &fs);
    head(&t, "iocd_live_items_total", "counter", "live items emitted, per type");
    for (int k = 0; k < IOCD_LIVE__COUNT; k++)
        iocd_buf_printf(&t, "iocd_live_items_total{type=\"%s\"} %" PRIu64 "\n",
            iocd_live_kind_name((enum iocd_live_kind)k), fs.items[k]);
    head(&t, "iocd_live_late_samples_total", "counter",
         "samples too late for their series' live window (stored, not republished)");
    iocd_buf_printf(&t, "iocd_live_late_samples_total %" PRIu64 "\n", fs.late_window_samples);
    head(&t, "iocd_republished_total", "counter", "MQTT messages republished");
    iocd_buf_printf(&t, "iocd_republished_total %" PRIu64 "\n", s->republish->published);
    head(&t, "iocd_republish_dropped_total", "counter",
         "republish messages dropped (broker away or too many unacknowledged)");
    iocd_buf_printf(&t, "iocd_republish_dropped_total %" PRIu64 "\n", s->republish->dropped);
    if (s->sparkplug && iocd_sparkplug_host_topic(s->sparkplug)) {
        const struct iocd_sparkplug_host *h = s->sparkplug;
        head(&t, "iocd_sparkplug_state_total", "counter",
             "Sparkplug STATE published: births (answers to a death on the topic included), "
             "deaths at a clean stop, births again, STATE not set or queued");
        iocd_buf_printf(&t, "iocd_sparkplug_state_total{state=\"birth\"} %" PRIu64 "\n",
                        h->births);
        iocd_buf_printf(&t, "iocd_sparkplug_state_total{state=\"death\"} %" PRIu64 "\n",
                        h->deaths);
        iocd_buf_printf(&t, "iocd_sparkplug_state_total{state=\"answered\"} %" PRIu64 "\n",
                        h->answered);
        iocd_buf_printf(&t, "iocd_sparkplug_state_total{state=\"failed\"} %" PRIu64 "\n",
                        h->failures);
    }
    head(&t, "iocd_alerts_active", "gauge", "alerts raised and not cleared");
    iocd_buf_printf(&t, "iocd_alerts_active %zu\n", iocd_feed_active_alerts(s->feed));
    head(&t, "iocd_alerts_raised_total", "counter", "alert raises (band changes included)");
    iocd_buf_printf(&t, "iocd_alerts_raised_total %" PRIu64 "\n", fs.alerts_raised);
    head(&t, "iocd_alerts_cleared_total", "counter", "alert clears");
    iocd_buf_printf(&t, "iocd_alerts_cleared_total %" PRIu64 "\n", fs.alerts_cleared);
    cJSON *counts = iocd_feed_device_counts_json(s->feed);
    head(&t, "iocd_devices", "gauge", "devices per source and state");
    for (cJSON *src = counts ? counts->child : NULL; src; src = src->next)
        for (cJSON *st = src->child; st; st = st->next)
            iocd_buf_printf(&t, "iocd_devices{source=\"%s\",state=\"%s\"} %.0f\n", src->string, st->string,
                st->valuedouble);
    cJSON_Delete(counts);
    head(&t, "iocd_start_time_seconds", "gauge", "when iocd started, seconds since the epoch");
    iocd_buf_printf(&t, "iocd_start_time_seconds %.3f\n", (double)s->started_ms / 1000.0);
    return iocd_buf_take(&t);
}

cJSON *iocd_status_json(const struct iocd_metrics_src *s)
{
    const struct iocd_pipeline *p = s->pipe;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "version", IOCD_VERSION);
    cJSON_AddNumberToObject(o, "started_ms", (double)s->started_ms);
    cJSON_AddNumberToObject(o, "now_ms", (double)iocd_now_ms());
    cJSON *b = cJSON_AddObjectToObject(o, "broker");
    cJSON_AddStringToObject(b, "state", s->mqtt->state == IOCD_MQTT_CONNECTED ? "connected"
                                                                               : "disconnected");
    cJSON_AddNumberToObject(b, "connects", (double)s->mqtt->connects);
    /* Failed connects since the last success, and why the last one failed. */
    cJSON_AddNumberToObject(b, "attempts", (double)s->mqtt->attempts);
    cJSON_AddStringToObject(b, "last_error", s->mqtt->last_error);
    cJSON_AddItemToObject(o, "devices", iocd_feed_device_counts_json(s->feed));
    cJSON *ad = cJSON_AddObjectToObject(o, "adapters");
    for (size_t i = 0; i < p->n_scopes && ad; i++) {
        const struct iocd_counter_scope *sc = &p->scopes[i];
        cJSON *a = cJSON_AddObjectToObject(ad, sc->name);
        if (!a)
            break;
        cJSON_AddNumberToObject(a, "messages", (double)sc->value[IOCD_CTR_MESSAGES]);
        cJSON_AddNumberToObject(a, "accepted", (double)sc->value[IOCD_CTR_ACCEPTED]);
        cJSON_AddNumberToObject(a, "observations", (double)sc->value[IOCD_CTR_OBSERVATIONS]);
        cJSON_AddNumberToObject(a, "events", (double)sc->value[IOCD_CTR_EVENTS]);
        cJSON *rj = cJSON_AddObjectToObject(a, "rejects");
        for (int r = 1; r < IOCD_REJECT__COUNT && rj; r++)
            if (sc->value[IOCD_CTR_REJECT_BASE + r])
                cJSON_AddNumberToObject(rj, iocd_reject_name((enum iocd_reject)r),
                                        (double)sc->value[IOCD_CTR_REJECT_BASE + r]);
    }
    cJSON_AddNumberToObject(o, "series", (double)iocd_series_count(p->series));
    cJSON_AddNumberToObject(o, "alerts_active", (double)iocd_feed_active_alerts(s->feed));
    cJSON *fl = cJSON_AddObjectToObject(o, "flush");
    cJSON_AddNumberToObject(fl, "last_ms", (double)p->last_flush_done_ms);
    cJSON_AddNumberToObject(fl, "last_us", (double)p->last_flush_us);
    cJSON_AddNumberToObject(fl, "max_us", (double)p->max_flush_us);
    cJSON_AddNumberToObject(fl, "pending_windows", (double)iocd_agg_size(p->agg));
    cJSON_AddNumberToObject(fl, "committed", (double)p->flushes_committed);
    cJSON_AddNumberToObject(fl, "failures", (double)p->flush_failures);
    int64_t now = iocd_now_ms();
    cJSON *bp = cJSON_AddObjectToObject(o, "backpressure");
    cJSON_AddBoolToObject(bp, "on", p->paused);
    cJSON_AddNumberToObject(bp, "unwritten", (double)iocd_pipeline_unwritten(p));
    cJSON_AddNumberToObject(bp, "max_unwritten", (double)p->cfg->ingest.max_unwritten);
    cJSON_AddNumberToObject(bp, "oldest_age_ms", (double)iocd_pipeline_unwritten_age_ms(p, now));
    cJSON_AddNumberToObject(bp, "pauses", (double)p->pauses);
    cJSON *hj = cJSON_AddObjectToObject(o, "health");
    if (hj)
        health_status(s, hj);
    if (s->sparkplug && iocd_sparkplug_host_topic(s->sparkplug)) {
        const struct iocd_sparkplug_host *h = s->sparkplug;
        cJSON *sp = cJSON_AddObjectToObject(o, "sparkplug");
        cJSON_AddStringToObject(sp, "state_topic", h->topic);
        cJSON_AddBoolToObject(sp, "online", h->online);
        cJSON_AddNumberToObject(sp, "timestamp", (double)h->timestamp_ms);
        cJSON_AddNumberToObject(sp, "births", (double)h->births);
        cJSON_AddNumberToObject(sp, "deaths", (double)h->deaths);
        cJSON_AddNumberToObject(sp, "answered", (double)h->answered);
        cJSON_AddNumberToObject(sp, "failures", (double)h->failures);
    }
    cJSON *rp = cJSON_AddObjectToObject(o, "republish");
    cJSON_AddNumberToObject(rp, "published", (double)s->republish->published);
    cJSON_AddNumberToObject(rp, "dropped", (double)s->republish->dropped);
    return o;
}

/* "status" and, unless ok, "reason" into `body`; 0 when ok, -1 otherwise. */
static int health_status(const struct iocd_metrics_src *s, cJSON *body)
{
    const struct iocd_pipeline *p = s->pipe;
    int64_t now = iocd_now_ms();
    const char *status = "ok", *reason = NULL;
    char why[160];
    int64_t down = iocd_mqtt_unreachable_ms(s->mqtt, now);
    if (p->inflight && now - p->last_flush_done_ms > IOCD_FLUSH_STUCK_MS) {
        status = "failing";
        reason = "flush stuck: the database has not finished a write for over 60 s";
    } else if (p->failing) {
        status = "failing";
        reason = "the last flush failed (it is retried)";
    } else if (p->paused) {
        status = "degraded";
        reason = "back-pressure: not reading from the broker until held data is written";
    } else if (down > 0 && down >= p->cfg->mqtt.degraded_after_ms) {
        status = "degraded";
        snprintf(why, sizeof(why), "broker unreachable for %lld s", (long long)(down / 1000));
        reason = why;
    }
    cJSON_AddStringToObject(body, "status", status);
    if (reason)
        cJSON_AddStringToObject(body, "reason", reason);
    return reason ? -1 : 0;
}

int iocd_health(const struct iocd_metrics_src *s, cJSON *body)
{
    int rc = health_status(s, body);
    cJSON_AddStringToObject(body, "broker", s->mqtt->state == IOCD_MQTT_CONNECTED
                                                ? "connected"
                                                : "disconnected");
    cJSON_AddNumberToObject(body, "last_flush_ms", (double)s->pipe->last_flush_done_ms);
    return rc;
}
