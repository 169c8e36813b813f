/* daemon/config/config.h — iocd's whole configuration: the core keys
 * (daemon/config/core.h) plus the [adapter NAME] and [alert NAME] sections,
 * parsed from an INI file or taken from the embedded defaults.
 *
 * Owns: struct iocd_config and everything it points to, including the
 * adapter instances built from [adapter NAME] sections and the alert rules.
 * Every key is declared once in a typed table: the core keys in core.c,
 * the adapter section's own keys here (config.c), each format's keys in
 * its adapter (ops->keys), the alert keys in alert_rules.c. The parser,
 * --check-config and `iocd --help-config` all read those tables. Unknown
 * keys, bad values and duplicate keys are errors naming the file and line. */
#ifndef IOCD_CONFIG_H
#define IOCD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "adapters/adapter.h"
#include "daemon/base/error.h"
#include "daemon/base/ini.h"
#include "daemon/base/units.h"
#include "daemon/config/core.h"

/* One [adapter NAME] section. */
struct iocd_adapter_conf {
    char *name;   /* NAME; owned */
    char *topic;  /* MQTT topic filter as subscribed (may be $share/GROUP/FILTER); owned */
    const char *filter; /* what received topics match: FILTER of a shared subscription,
                         * else topic; points into topic */
    char *source; /* series source, defaults to NAME; owned */
    int line;     /* of the section header, for messages */
    const struct iocd_adapter_ops *ops;
    void *state; /* ops->create's result; destroyed by iocd_config_free */
    struct iocd_resolutions resolutions; /* [store] resolutions unless overridden */
    int64_t max_series;                  /* series this adapter may create, 0 = no limit */
    /* FNV-1a of the section's keys and values in file order: a reload keeps
     * the decoder state of a section whose text did not change. */
    uint64_t fingerprint;
};

/* One [alert NAME] section (docs/alerts.md). */
enum iocd_alert_type {
    IOCD_ALERT_THRESHOLD, /* a window statistic above/below a level, with hysteresis */
    IOCD_ALERT_BAND,      /* which band of `bands` a statistic is in; raised above band 0 */
    IOCD_ALERT_STALE,     /* a device silent for `multiple` x its usual interval */
    IOCD_ALERT_EVENT,     /* `count` or more matching events of one subject in `window` */
};
/* What an event rule counts per (docs/alerts.md): one alert per device,
 * per area, or one for the whole source. */
enum iocd_alert_per { IOCD_PER_DEVICE, IOCD_PER_AREA, IOCD_PER_SOURCE };
#define IOCD_ALERT_MAX_WHERE 8
enum iocd_alert_stat {
    IOCD_STAT_LAST, IOCD_STAT_MEAN, IOCD_STAT_MIN, IOCD_STAT_MAX, IOCD_STAT_SUM, IOCD_STAT_COUNT,
};
#define IOCD_ALERT_MAX_BANDS 8
struct iocd_alert_rule {
    char *name;   /* NAME; owned */
    int line;     /* of the section header */
    enum iocd_alert_type type;
    char *match;  /* MQTT-style pattern over series names SOURCE/DEVICE/METRIC
                   * (stale: over SOURCE/DEVICE); owned */
    enum iocd_alert_stat stat;
    int64_t window_ms;   /* trailing window of the statistic (0 with stat last) */
    bool above;          /* threshold: raised when stat > level (else when stat < level) */
    double level;        /* threshold */
    double clear;        /* threshold: cleared when stat <= clear (above) / >= clear (below) */
    double bands[IOCD_ALERT_MAX_BANDS]; /* band: ascending upper edges of bands 0..n-1 */
    int n_bands;
    double hysteresis;   /* band: falls a band only below edge - hysteresis */
    double multiple;     /* stale: x the device's usual interval */
    int severity;        /* ioc.v1.Severity of a raised alert */
    char *text;          /* operator text; owned ("" = generated) */
    /* event rules: match is over SOURCE/KIND */
    bool severity_given;   /* else an event alert takes the event's severity */
    int min_severity;      /* events at or above this ioc.v1.Severity (0: any) */
    char *area;            /* only events of this area; owned; NULL: any */
    char *where_key[IOCD_ALERT_MAX_WHERE], *where_value[IOCD_ALERT_MAX_WHERE]; /* owned */
    int n_where;           /* attributes every counted event has (KEY=VALUE) */
    int64_t count;         /* raised at this many events in the window */
    enum iocd_alert_per per;
};

/* One [notify NAME] section: a webhook channel for alert changes
 * (docs/alerts.md, "Notifications"; notify_channels.c). */
enum {
    IOCD_NOTIFY_ON_RAISED = 1 << 0,       /* raised by its rule (a band rising included) */
    IOCD_NOTIFY_ON_ACKNOWLEDGED = 1 << 1, /* acknowledged by an operator */
    IOCD_NOTIFY_ON_ASSIGNED = 1 << 2,     /* assigned to an operator */
    IOCD_NOTIFY_ON_CLEARED = 1 << 3,      /* cleared by its rule or resolved by an operator */
};
#define IOCD_NOTIFY_MAX_HEADERS 16
struct iocd_notify_channel {
    char *name;       /* NAME; owned */
    int line;         /* of the section header */
    char *url;        /* http:// or https://, secrets resolved; owned */
    char **rules;     /* alert rule names (owned, each owned); none: every rule */
    int n_rules;
    int min_severity; /* ioc.v1.Severity; 0: any */
    unsigned on;      /* IOCD_NOTIFY_ON_ bits */
    char *template;   /* the body with {NAME} placeholders; owned; NULL: the default JSON */
    char *header_name[IOCD_NOTIFY_MAX_HEADERS], *header_value[IOCD_NOTIFY_MAX_HEADERS]; /* owned */
    int n_headers;
    int64_t timeout_ms;                /* one attempt, connection included */
    int64_t retry_min_ms, retry_max_ms; /* first backoff, doubled up to the cap */
    int64_t rate_count, rate_period_ms; /* at most count per period; count 0: no limit */
    int64_t queue_max;                 /* pending notifications kept; the oldest go first */
    bool tls_verify;                   /* check the receiver's certificate (https) */
    uint64_t fingerprint;              /* of the section's text, for the reload's summary */
};
/* The names a [notify] template may use, in the order body.c fills them. */
extern const char *const iocd_notify_fields[];
extern const size_t iocd_notify_n_fields;

/* One [group NAME] section (docs/groups.md): a series rolled up from the
 * series of other devices. */
enum iocd_group_kind {
    IOCD_GROUP_MERGED, /* every member sample is also a sample of the group: exact windows */
    IOCD_GROUP_GAUGE,  /* each interval, one statistic of the members' latest values */
};
enum iocd_group_stat {
    IOCD_GROUP_SUM, IOCD_GROUP_MEAN, IOCD_GROUP_MIN, IOCD_GROUP_MAX, IOCD_GROUP_COUNT,
};
#define IOCD_GROUP_MAX_MEMBERS 16
#define IOCD_GROUPS_MAX 1024 /* [group] sections at most */
struct iocd_group_conf {
    char *name; /* NAME; owned */
    int line;   /* of the section header */
    enum iocd_group_kind kind;
    char *members[IOCD_GROUP_MAX_MEMBERS]; /* patterns over SOURCE/DEVICE/METRIC; owned */
    int n_members;
    /* `where = FIELD=VALUE`: a selection by a device-registry field (area,
     * ward, subsystem, tag), checked against [devices] registry when a
     * series is resolved; refused without a registry. Owned; NULL: none. */
    char *where_field, *where_value;
    /* A `series` with {area} (or {ward}) makes one group per area of the
     * registry: after iocd_config_expand_groups, each of them has `area`
     * (owned; NULL: not such a group) as a second condition and the
     * placeholder replaced in series/device/metric. */
    char *area;
    bool per_area; /* the section's series had the placeholder */
    char *series; /* the group's own series, SOURCE/DEVICE/METRIC; owned */
    char *source, *device, *metric; /* its parts; one block, owned through `source` */
    enum iocd_group_stat stat; /* gauge */
    char *state; /* gauge, stat count: count only members in this state (docs/states.md); owned */
    int64_t interval_ms;       /* gauge: one sample per interval, at its boundary */
    int64_t stale_ms;          /* gauge: a member counts while its latest value is newer */
    uint64_t fingerprint;      /* of the section's text, for the reload's refusal */
};

/* One line of [units] (docs/units.md): the canonical unit of the series
 * it matches, and the conversions declared into it. */
struct iocd_units_rule {
    char *match;  /* series = PATTERN ...: MQTT-style pattern over SOURCE/DEVICE/METRIC; owned */
    char *metric; /* metric.NAME: every series of metric NAME; owned (one of the two is NULL) */
    int line;
    struct iocd_unit_rule value;
};

/* One `metric.NAME = STATE, ...` line of [states] (docs/states.md). */
#define IOCD_STATE_RULE_MAX 16
#define IOCD_STATE_RULE_NAME_MAX 32
struct iocd_state_rule {
    char *metric; /* owned */
    int line;
    char names[IOCD_STATE_RULE_MAX][IOCD_STATE_RULE_NAME_MAX + 1];
    int n_names;
};

/* The [states] section (state_rules.c): carry and the enumerated sets. */
int iocd_config_load_states(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err);
void iocd_config_free_states(struct iocd_config *cfg);
/* False when `metric` has an enumerated set without `state`. */
bool iocd_config_state_allowed(const struct iocd_config *cfg, const char *metric,
                               const char *state);
extern const struct iocd_key iocd_states_keys[];
extern const size_t iocd_states_n_keys;

/* Load `path`, or the embedded defaults when path is NULL. On error returns
 * -1 with err saying file, line and what is wrong; *cfg is then freed. */
int iocd_config_load(struct iocd_config *cfg, const char *path, struct iocd_error *err);
/* Same, from a string (tests). `name` is used in messages. */
int iocd_config_load_string(struct iocd_config *cfg, const char *name, const char *text,
                            struct iocd_error *err);
void iocd_config_free(struct iocd_config *cfg);
/* Print every key with its default and description (iocd --help-config);
 * as Markdown tables when markdown is true (the docs' key tables). */
void iocd_config_print_keys(FILE *out, bool markdown);

/* [alert NAME] sections into cfg->alerts (alert_rules.c). */
int iocd_config_load_alerts(struct iocd_config *cfg, struct iocd_ini *ini,
                            struct iocd_error *err);
void iocd_config_free_alerts(struct iocd_config *cfg);
/* [notify NAME] sections into cfg->notify (notify_channels.c), after the
 * alert rules (a channel's `rules` must name them). */
int iocd_config_load_notify(struct iocd_config *cfg, struct iocd_ini *ini,
                            struct iocd_error *err);
void iocd_config_free_notify(struct iocd_config *cfg);
extern const struct iocd_key iocd_notify_keys[];
extern const size_t iocd_notify_n_keys;
/* [group NAME] sections into cfg->groups (groups.c), after the adapters. */
int iocd_config_load_groups(struct iocd_config *cfg, struct iocd_ini *ini,
                            struct iocd_error *err);
void iocd_config_free_groups(struct iocd_config *cfg);
/* Once the registry is loaded: each group whose series has {area} becomes
 * one group per distinct area of the registry ("NAME:AREA", in the
 * registry's order), then one series, one group is checked. 0 or -1. */
int iocd_config_expand_groups(struct iocd_config *cfg, struct iocd_error *err);
/* Whether series SOURCE/DEVICE's registry row `e` (NULL: unregistered)
 * meets group g's `where` and area conditions (true without any). */
struct iocd_registry_entry;
bool iocd_group_conf_selects(const struct iocd_group_conf *g, const struct iocd_registry_entry *e);
extern const struct iocd_key iocd_group_keys[];
extern const size_t iocd_group_n_keys;
/* The name of a statistic of a gauge group ("sum", ...). */
const char *iocd_group_stat_name(enum iocd_group_stat s);
/* The [units] section into cfg->unit_rules (unit_rules.c): `series =`
 * lines first, in file order, then metric.NAME keys; the first that
 * matches a series gives its canonical unit. Checked against [aqi]. */
int iocd_config_load_units(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err);
void iocd_config_free_units(struct iocd_config *cfg);
/* The first rule of `cfg` that matches series SOURCE/DEVICE/METRIC
 * `name` with metric `metric`, or NULL. */
const struct iocd_units_rule *iocd_config_units_match(const struct iocd_config *cfg,
                                                      const char *name, const char *metric);
extern const struct iocd_key iocd_units_keys[];
extern const size_t iocd_units_n_keys;
/* The alert key table, for --help-config. */
extern const struct iocd_key iocd_alert_keys[];
extern const size_t iocd_alert_n_keys;
/* "NAME" is 1 to 64 of letters, digits, '_', '-', '.'; "topic" a valid
 * MQTT filter. 0, or -1 with err at file:line. */
int iocd_config_check_name(const char *what, const char *s, const char *file, int line,
                           struct iocd_error *err);
/* FNV-1a of a section's keys and values in file order. */
uint64_t iocd_config_section_fingerprint(const struct iocd_ini_section *s);
int iocd_config_check_topic_filter(const char *t, const char *file, int line,
                                   struct iocd_error *err);

#endif
