/* daemon/notify/body.h — what a notification says: the default JSON body
 * or a channel's template, filled from one alert change.
 *
 * Owns: nothing beyond the call (values point into the change and into
 * the struct's own text buffers). Pure: no I/O, no clock. */
#ifndef IOCD_NOTIFY_BODY_H
#define IOCD_NOTIFY_BODY_H

#include "daemon/alerts/alerts.h"
#include "daemon/base/buf.h"

/* "raised", "acknowledged", "assigned" or "cleared" (a resolve too). */
const char *iocd_notify_state(const struct iocd_alert_change *c);
/* The IOCD_NOTIFY_ON_ bit of the change. */
unsigned iocd_notify_change_bit(const struct iocd_alert_change *c);

/* The values of iocd_notify_fields (config.h) for one notification, in
 * that order; numbers and times as text. */
#define IOCD_NOTIFY_FIELDS 18
struct iocd_notify_values {
    const char *v[IOCD_NOTIFY_FIELDS];
    char value[40], threshold[40], time[40], raised[40];
};
void iocd_notify_values_fill(struct iocd_notify_values *out, const struct iocd_alert_change *c,
                             const char *channel, const char *notification_id);
/* The body into out: `template` filled (template.h), or, when NULL, the
 * default JSON object: every field of iocd_notify_fields in that order,
 * strings as JSON strings, value and threshold as JSON numbers (null when
 * not finite). */
void iocd_notify_body(struct iocd_buf *out, const char *template,
                      const struct iocd_notify_values *vals);

#endif
