/* daemon/live/feed.h — everything that leaves iocd as it happens.
 *
 * Owns: the live hub (live.h) and what feeds it: the JSON and ioc.v1
 * protobuf form of every accepted observation and event, the latest value
 * of every series, the device table (devices.h) and its status changes,
 * the alert engine (alerts.h) and its raises and clears (also handed to the
 * store as events of kind "alert", source "iocd"), and the open windows of
 * [live] windows, published once closed. The pipeline calls in after it
 * has accepted something; nothing here calls back into the pipeline except
 * through `store_event` (alerts go to the events table). Loop thread only. */
#ifndef IOCD_FEED_H
#define IOCD_FEED_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/alerts/alerts.h"
#include "daemon/base/bbox.h"
#include "daemon/config/config.h"
#include "daemon/alerts/devices.h"
#include "ioc/v1/ioc.pb-c.h"
#include "daemon/live/hub.h"
#include "daemon/store/store.h"

/* Hand an alert event to the store; 0 or -1 (not stored, counted). */
typedef int (*iocd_feed_store_event_fn)(void *ud, const char *source, const Ioc__V1__Event *e);

struct iocd_feed_stats {
    uint64_t items[IOCD_LIVE__COUNT]; /* emitted, per kind */
    uint64_t alerts_raised, alerts_cleared;
    uint64_t alert_store_failures;
    uint64_t untracked_devices; /* over [devices] max_devices */
    /* samples older than their series' open live window or than a window
     * it already published: stored, not in any published window */
    uint64_t late_window_samples;
};

struct iocd_feed;

int iocd_feed_new(struct iocd_feed **out, uv_loop_t *loop, const struct iocd_config *cfg);
/* Where alert events are stored (the pipeline's event buffer). */
void iocd_feed_set_store(struct iocd_feed *f, iocd_feed_store_event_fn fn, void *ud);
/* Where every alert change goes besides the hub and the store (webhook
 * notifications: main.c hands them to daemon/notify/); NULL: nowhere. */
void iocd_feed_set_notify(struct iocd_feed *f, iocd_alerts_fn fn, void *ud);
/* Put back the device table and the raised alerts the store kept (at
 * start, before the loop and before any data): devices first, then every
 * alert whose latest stored change in the last IOCD_FEED_RESTORE_DAYS
 * days is a raise and whose rule still matches it. Nothing is published;
 * the first tick moves devices silent too long to stale / offline. 0, or
 * -1 when the database cannot be read (what was read stays). */
#define IOCD_FEED_RESTORE_DAYS 30
int iocd_feed_restore(struct iocd_feed *f, struct iocd_store *st, struct iocd_error *err);
/* At a graceful stop, once the pipeline is drained (nothing in flight on
 * the store): keep every open live window in the store (meta row
 * "live_open"), so the next start continues it with the samples the broker
 * queued meanwhile and publishes it once, complete. 0 or -1 with err. */
int iocd_feed_save_windows(struct iocd_feed *f, struct iocd_store *st, struct iocd_error *err);
/* The device table (the pipeline takes its dirty records at each flush). */
struct iocd_devices *iocd_feed_devices(struct iocd_feed *f);
/* Start the 1 s timer: device staleness, stale alerts, closing windows. */
void iocd_feed_start(struct iocd_feed *f);
/* A reload swapped the configuration (iocd_alerts_reload: rule_to maps
 * the old rules whose state carries over; the others' alerts are cleared
 * and published as such). 0, or -1 out of memory. */
int iocd_feed_reload(struct iocd_feed *f, const struct iocd_config *old, const int *rule_to);
void iocd_feed_close(struct iocd_feed *f);
void iocd_feed_free(struct iocd_feed *f);
struct iocd_live *iocd_feed_live(struct iocd_feed *f);

/* An accepted observation of series `id` (source: the feed's). */
void iocd_feed_observation(struct iocd_feed *f, uint32_t id, const char *source,
                           const Ioc__V1__Observation *o);
/* The observations handed in since the last call were one received
 * message: republish them as one ioc.v1.Batch per device (when a sink
 * wants batches). Called by the pipeline after each message. */
void iocd_feed_message_end(struct iocd_feed *f);
/* An accepted event (source: the feed's). */
void iocd_feed_event(struct iocd_feed *f, const char *source, const Ioc__V1__Event *e);

/* Hand the current status of every device to `fn` (not to the hub): the
 * republisher sends them again, retained, after a broker reconnect. */
void iocd_feed_resend_status(struct iocd_feed *f, iocd_live_sink_fn fn, void *ud);

/* The provider side of the HTTP API (http.h), all on the loop thread. */
/* One page of GET /api/v1/latest as JSON text (malloc'd, *len bytes; NULL
 * out of memory), in series-registry order (the order
 * series were first seen): at most `limit` items after cursor `after`
 * (0: from the start), looking at no more than IOCD_FEED_LATEST_SCAN series,
 * so that no request holds the loop long; "next" (a decimal cursor) is set
 * whenever the listing is not finished, even after a short page. */
#define IOCD_FEED_LATEST_SCAN 20000
char *iocd_feed_latest_text(const struct iocd_feed *f, const char *match, uint64_t after,
                            size_t limit, size_t *len);
/* What GET /api/v1/devices selects (every member optional). */
struct iocd_devices_filter {
    const char *match; /* pattern over SOURCE/DEVICE; NULL or "": any */
    const char *state; /* online, stale, offline, unseen; NULL or "": any */
    const char *area;  /* the registry's area, exactly; NULL: any */
    int registered;    /* 1 registered only, 0 unregistered only, -1 both */
    bool has_bbox;     /* the device's position within bbox (daemon/base/bbox.h) */
    struct iocd_bbox bbox;
};
/* Cursors from this value on page through the registered devices never
 * seen (the registry's rows, in file order), after the device table. */
#define IOCD_FEED_UNSEEN_CURSOR (UINT64_C(1) << 40)
/* One page of GET /api/v1/devices as JSON text (malloc'd, *len bytes;
 * NULL out of memory): the devices iocd has heard from, in the order they
 * were first seen, then the registered ones it has not heard from (state
 * "unseen"), each with its registry row and position (docs/registry.md),
 * those `flt` selects; paged like iocd_feed_latest_text. */
char *iocd_feed_devices_text(const struct iocd_feed *f, const struct iocd_devices_filter *flt,
                             uint64_t after, size_t limit, size_t *len);
cJSON *iocd_feed_alerts_active_json(const struct iocd_feed *f);
/* An operator's action ("ack", "assign", "resolve") by `actor` on active
 * alert `id`: applied, stored and published like any alert change. Returns
 * the HTTP status (200, 404 not active, 409 already acknowledged, 400 bad
 * action) with *out the answer ({"alert": ...} or {"error": ...}). */
int iocd_feed_alert_act(struct iocd_feed *f, const char *action, const char *id,
                        const char *actor, const char *note, const char *to, cJSON **out);
/* {"air":{"online":5,"stale":0,"offline":0},...} */
cJSON *iocd_feed_device_counts_json(const struct iocd_feed *f);
void iocd_feed_get_stats(const struct iocd_feed *f, struct iocd_feed_stats *out);
size_t iocd_feed_active_alerts(const struct iocd_feed *f);
/* Silences (docs/alerts.md): add one (its id and creation time are set
 * here; stored and logged), lift one by id (by `actor`), list the active
 * ones ({"silences":[...]}). The first two return the HTTP status with *out
 * the answer's body. */
int iocd_feed_silence(struct iocd_feed *f, const struct iocd_silence *want, cJSON **out);
int iocd_feed_unsilence(struct iocd_feed *f, const char *id, const char *actor, cJSON **out);
cJSON *iocd_feed_silences_json(struct iocd_feed *f);

#endif
