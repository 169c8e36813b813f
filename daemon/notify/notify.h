/* daemon/notify/notify.h — webhook notifications of alert changes
 * ([notify NAME] channels, docs/alerts.md "Notifications").
 *
 * Owns: the runtime state of every channel (its rate limit, its counters),
 * the notifier thread and what waits for it. The loop thread hands each
 * alert change in (iocd_notify_alert): every channel whose rules,
 * severity and changes match and whose rate limit allows gets one
 * notification with a new id, its body built there and then; silenced
 * changes are counted, never sent. The notifier thread writes each to the
 * on-disk queue (queue.h) before its first attempt, POSTs it (deliver.h)
 * and deletes it once delivered or refused for good, retrying with
 * exponential backoff otherwise. The loop never waits on a receiver or on
 * the queue's disk. Data flows one way: alerts → notify. */
#ifndef IOCD_NOTIFY_H
#define IOCD_NOTIFY_H

#include <cjson/cJSON.h>

#include "daemon/alerts/alerts.h"
#include "daemon/base/buf.h"
#include "daemon/config/config.h"

struct iocd_notify;

/* The notifier for cfg->notify (read again by iocd_notify_reload; `cfg`
 * must stay at this address). queue_path: its SQLite file; user_agent:
 * sent with every request. The thread starts with the first channel.
 * NULL out of memory. Loop thread. */
struct iocd_notify *iocd_notify_new(const struct iocd_config *cfg, const char *queue_path,
                                    const char *user_agent);
/* One alert change (the alert engine's callback, through the live feed). */
void iocd_notify_alert(struct iocd_notify *n, const struct iocd_alert_change *c);
/* After a reload replaced *cfg: channels follow by name (counters and rate
 * limits carry over); the pending notifications of a removed channel are
 * dropped (counted as orphaned). 0, or -1 out of memory (the previous
 * channels stay). */
int iocd_notify_reload(struct iocd_notify *n);
/* Prometheus text of the counters (nothing without a channel). */
void iocd_notify_metrics(struct iocd_notify *n, struct iocd_buf *out);
/* {"CHANNEL": {"sent":..., ...}, ...} for /api/v1/status; NULL without a
 * channel or out of memory. */
cJSON *iocd_notify_status_json(struct iocd_notify *n);
/* Stop the thread: what waits is written to the queue, an attempt in
 * progress is abandoned (it stays queued); then free. NULL is fine. */
void iocd_notify_free(struct iocd_notify *n);

#endif
