/* daemon/alerts/alerts.h — alert rules evaluated as data arrives.
 *
 * Owns: the state of every (rule, series) or (rule, device) pair a rule has
 * matched: the rolling statistic of a threshold or band rule (trailing
 * window of observation time, kept as 60 sub-buckets, so memory per pair
 * is fixed), whether the alert is raised, since when, and its band. Rules
 * come from [alert NAME] sections (docs/alerts.md). Each raise and clear
 * is reported once through the callback; hysteresis keeps a value hovering
 * at the level from raising and clearing over and over. Loop thread only. */
#ifndef IOCD_ALERTS_H
#define IOCD_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config/config.h"
#include "daemon/alerts/devices.h"

struct iocd_alert_change {
    const struct iocd_alert_rule *rule;
    const char *id;       /* RULE/SOURCE/DEVICE/METRIC, or RULE/SOURCE/DEVICE for stale */
    const char *series;   /* SOURCE/DEVICE/METRIC, or SOURCE/DEVICE for stale */
    const char *source, *device;
    bool raised;          /* false: cleared */
    int severity;         /* ioc.v1.Severity (band rules: rises with the band) */
    double value;         /* the statistic; stale: seconds since the device was last seen */
    double threshold;     /* the level crossed (band: the edge; stale: multiple x interval, s) */
    int band, prev_band;  /* band rules; -1 otherwise */
    int64_t time_ms;      /* observation time (stale: now) of the change */
    int64_t raised_ms;    /* when this alert was raised */
    const char *text;     /* operator text */
    /* An operator's action (iocd_alerts_act), NULL for a raise or clear
     * by the rule: "acknowledged", "assigned" or "resolved" (a clear). */
    const char *action;
    const char *actor, *note; /* of the action; NULL otherwise */
    /* The alert's marks as they are now (NULL / 0 when none). */
    const char *ack_by, *ack_note, *assignee;
    int64_t ack_ms;
    bool silenced; /* a silence matches it: recorded and shown, not notified */
};

typedef void (*iocd_alerts_fn)(void *ud, const struct iocd_alert_change *c);

struct iocd_alerts;

/* NULL on ENOMEM. cfg->alerts must outlive the engine. */
struct iocd_alerts *iocd_alerts_new(const struct iocd_config *cfg, iocd_alerts_fn fn, void *ud);
void iocd_alerts_free(struct iocd_alerts *a);
/* After a reload swapped the configuration a->cfg points to (`old`: the
 * one before): rule_to[j] is the new index of old rule j whose state
 * carries over, -1 for a rule removed or redefined, whose raised alerts
 * are cleared now (the callback gets each, time now_ms) and whose pairs
 * are dropped. 0, or -1 out of memory (nothing changed). */
int iocd_alerts_reload(struct iocd_alerts *a, const struct iocd_config *old, const int *rule_to,
                       int64_t now_ms);
/* One accepted observation of series SOURCE/DEVICE/METRIC. */
void iocd_alerts_observe(struct iocd_alerts *a, const char *source, const char *device,
                         const char *metric, double value, int64_t t_ms);
/* Staleness rules against the device table; call about once a second. */
void iocd_alerts_tick(struct iocd_alerts *a, const struct iocd_devices *dev, int64_t now_ms);
/* A stale rule judges a device only once its usual interval has been
 * learned from at least this many gaps between its messages (this many + 1
 * messages, counted across restarts): a device that sent one message is
 * not "silent" against a guessed interval. */
#define IOCD_ALERTS_STALE_MIN_GAPS 3

/* What an operator does to an active alert (docs/alerts.md, lifecycle). */
enum iocd_alert_action {
    IOCD_ALERT_ACK,     /* acknowledged: by whom, when, with a note */
    IOCD_ALERT_ASSIGN,  /* assigned to an operator */
    IOCD_ALERT_RESOLVE, /* cleared by the operator, with a note */
};
enum {
    IOCD_ALERT_ACT_OK = 0,
    IOCD_ALERT_ACT_NOT_ACTIVE = -1, /* no active alert with that id */
    IOCD_ALERT_ACT_ALREADY = -2,    /* already acknowledged */
};
/* Apply `act` by `actor` to the active alert `id` (RULE/SERIES) at
 * wall-clock now_ms; the change is reported through the callback like a
 * raise or a clear. `to` is the assignee (ASSIGN). Strings are copied.
 * Returns an IOCD_ALERT_ACT_ code. */
int iocd_alerts_act(struct iocd_alerts *a, const char *id, enum iocd_alert_action act,
                    const char *actor, const char *note, const char *to, int64_t now_ms);
/* The current JSON-ready view of active alert `id` through `fn` (0), or -1. */
int iocd_alerts_get_active(const struct iocd_alerts *a, const char *id, iocd_alerts_fn fn,
                           void *ud);

/* A silence (docs/alerts.md): alerts it matches are recorded and shown,
 * marked silenced, and not notified. Empty fields match anything; `area`
 * matches the alerts of event rules counted per area. */
#define IOCD_ALERTS_MAX_SILENCES 1000
struct iocd_silence {
    char id[24];
    char rule[65], source[65], device[129], area[129];
    int64_t created_ms, until_ms;
    char by[64], reason[256];
};
/* Add `s` (its id set by the caller). 0, or -1 when 1000 are active. */
int iocd_alerts_silence_add(struct iocd_alerts *a, const struct iocd_silence *s);
/* Lift silence `id`: 0, or -1 when no such active silence (*out gets a
 * copy of it when lifted). */
int iocd_alerts_silence_lift(struct iocd_alerts *a, const char *id, struct iocd_silence *out);
/* The active silences at now_ms (expired ones are dropped first). */
size_t iocd_alerts_silences(struct iocd_alerts *a, int64_t now_ms,
                            const struct iocd_silence **out);

/* What event rules look at in an event (the live feed fills it from an
 * ioc.v1.Event; strings are borrowed for the call). */
struct iocd_alert_event {
    const char *source, *kind, *device, *area;
    int severity; /* ioc.v1.Severity */
    int64_t time_ms;
    const char *const *attr_keys, *const *attr_values;
    size_t n_attrs;
};
/* An accepted event (not one of iocd's own alerts): counted by every event
 * rule it matches, raising when a subject reaches the rule's count within
 * its window. Raised event alerts clear in iocd_alerts_tick once fewer
 * remain in the window ending now. */
void iocd_alerts_event(struct iocd_alerts *a, const struct iocd_alert_event *e);
/* Whether any event rule is configured: without one, callers skip
 * building the struct iocd_alert_event at all. */
bool iocd_alerts_has_event_rules(const struct iocd_alerts *a);
/* Every alert raised now (change.raised true, time_ms = last evaluation). */
void iocd_alerts_foreach_active(const struct iocd_alerts *a, iocd_alerts_fn fn, void *ud);
size_t iocd_alerts_active_count(const struct iocd_alerts *a);
/* An alert stored as raised before a restart: its latest stored change. */
struct iocd_alert_saved {
    const char *rule, *source, *device;
    const char *metric;  /* NULL for a stale rule */
    int64_t raised_ms;   /* when it was raised */
    int64_t time_ms;     /* of the latest change (a band rule may have moved since) */
    double value, threshold; /* of the latest change */
    int band, prev_band; /* band rules (band 1..n_bands); ignored otherwise */
    int severity;        /* of the stored raise (event rules keep it) */
    /* An operator's marks on it, as stored (NULL / 0 when none). */
    const char *ack_by, *ack_note, *assignee;
    int64_t ack_ms;
};

/* Put back an alert stored as raised (at start, before any observation or
 * tick): the pair of rule `s->rule` and series SOURCE/DEVICE/METRIC (stale
 * rules: SOURCE/DEVICE, keyed by the device's record in `dev`, which must
 * be restored first) is raised as saved. Nothing is reported; later
 * evaluations clear it (or move its band) as if iocd had never stopped;
 * its windowed statistic is filled by iocd_alerts_prefill. 0; -1 when the rule no longer exists,
 * is of another kind or no longer matches the series, the band is out of
 * range, the device is unknown, the pair is already raised, or the pair
 * bound or memory is reached. */
int iocd_alerts_restore(struct iocd_alerts *a, const struct iocd_devices *dev,
                        const struct iocd_alert_saved *s);

/* At start: the longest window of the rules of a statistic over a window
 * that match `series` and can be rebuilt from its stored windows of res_ms
 * (their sub-buckets, window/60, are whole multiples of res_ms); 0 none. */
int64_t iocd_alerts_history_ms(const struct iocd_alerts *a, const char *series, int64_t res_ms);
/* At start, before any observation: one stored window of `series` (of
 * res_ms, starting at start_ms, oldest first) into the window of every
 * such rule, as if its samples had been observed, without evaluating (the
 * next observation evaluates on the whole window, in event time). */
void iocd_alerts_prefill(struct iocd_alerts *a, const char *series, int64_t start_ms,
                         int64_t res_ms, uint64_t count, double sum, double min, double max);

#endif
