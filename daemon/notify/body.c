/* daemon/notify/body.c — notification bodies from alert changes (body.h).
 *
 * Owns: the default JSON object's layout (docs/alerts.md lists it field
 * by field) and the mapping of a change to the template's values. */
#include "daemon/notify/body.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/base/json_text.h"
#include "daemon/base/severity.h"
#include "daemon/base/template.h"
#include "daemon/base/timeutil.h"
#include "daemon/config/config.h"

/* Indexes into iocd_notify_fields. */
enum { F_VALUE = 11, F_THRESHOLD = 12 };

const char *iocd_notify_state(const struct iocd_alert_change *c)
{
    if (c->action && strcmp(c->action, "resolved") != 0)
        return c->action; /* acknowledged, assigned */
    return c->raised ? "raised" : "cleared";
}

unsigned iocd_notify_change_bit(const struct iocd_alert_change *c)
{
    const char *s = iocd_notify_state(c);
    if (strcmp(s, "acknowledged") == 0)
        return IOCD_NOTIFY_ON_ACKNOWLEDGED;
    if (strcmp(s, "assigned") == 0)
        return IOCD_NOTIFY_ON_ASSIGNED;
    return c->raised ? IOCD_NOTIFY_ON_RAISED : IOCD_NOTIFY_ON_CLEARED;
}

static void number(char *buf, size_t n, double v)
{
    if (isfinite(v))
        iocd_json_number(buf, n, v);
    else
        snprintf(buf, n, "null");
}

void iocd_notify_values_fill(struct iocd_notify_values *out, const struct iocd_alert_change *c,
                             const char *channel, const char *notification_id)
{
    number(out->value, sizeof(out->value), c->value);
    number(out->threshold, sizeof(out->threshold), c->threshold);
    iocd_time_format(c->time_ms, out->time, sizeof(out->time));
    iocd_time_format(c->raised_ms, out->raised, sizeof(out->raised));
    const char *sev = iocd_severity_name(c->severity);
    const char *v[IOCD_NOTIFY_FIELDS] = {
        notification_id,
        channel,
        c->id,
        c->rule ? c->rule->name : "",
        iocd_notify_state(c),
        c->action ? c->action : "",
        sev ? sev : "unspecified",
        c->text,
        c->source,
        c->device,
        c->series,
        out->value,
        out->threshold,
        out->time,
        out->raised,
        c->actor,
        c->note,
        c->assignee,
    };
    for (int i = 0; i < IOCD_NOTIFY_FIELDS; i++)
        out->v[i] = v[i] ? v[i] : "";
}

void iocd_notify_body(struct iocd_buf *out, const char *template,
                      const struct iocd_notify_values *vals)
{
    if (template) {
        iocd_template_render(out, template, iocd_notify_fields, vals->v, IOCD_NOTIFY_FIELDS);
        return;
    }
    iocd_buf_append(out, "{", 1);
    for (int i = 0; i < IOCD_NOTIFY_FIELDS; i++) {
        if (i)
            iocd_buf_append(out, ",", 1);
        iocd_buf_append(out, "\"", 1);
        iocd_buf_puts(out, iocd_notify_fields[i]);
        iocd_buf_append(out, "\":", 2);
        if (i == F_VALUE || i == F_THRESHOLD) {
            iocd_buf_puts(out, vals->v[i]);
            continue;
        }
        iocd_buf_append(out, "\"", 1);
        iocd_json_escape(out, vals->v[i]);
        iocd_buf_append(out, "\"", 1);
    }
    iocd_buf_append(out, "}", 1);
}
