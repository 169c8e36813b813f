/* daemon/alerts/alerts.c — alert rule evaluation (see alerts.h, docs/alerts.md).
 *
 * One `pair` per (rule, series) — or (rule, device) for stale rules —
 * created the first time the rule matches, allocated once with its names
 * and, for a windowed statistic, its 60 sub-buckets; never freed before the
 * engine. Pairs are found through an open-addressing hash table of
 * pointers (linear probing, at most half full, no deletion). At most
 * IOCD_ALERTS_MAX_PAIRS pairs exist; series beyond that are not evaluated
 * (logged once). Raised pairs are also on a doubly linked list, in the
 * order they were raised, for foreach_active and for clearing stale alerts
 * without scanning every device.
 *
 * A windowed statistic keeps sub-buckets of window/60 ms aligned to
 * multiples of that width in observation time; the window is the 60
 * buckets ending with the newest observation's bucket, so it moves in
 * steps of window/60. A sample older than that is ignored for the
 * statistic (and triggers no evaluation). Without a window (stat `last` or
 * window 0) the statistic is the value of the newest observation; an older
 * one does not replace it.
 *
 * Stale pairs are keyed by the address of the device's record, so a tick
 * formats and matches a device's name only until the rule has matched it
 * once: iocd_alerts_tick must be given the same device table every time.
 *
 * A restored alert (iocd_alerts_restore, at start) is an ordinary raised
 * pair: linked on the active list in the order restored; its window (if
 * any) is filled from the stored windows (iocd_alerts_prefill), so the next
 * evaluation clears, keeps or moves it on the same samples as before.
 *
 * Strings handed to the callback (id, text, series ...) live for the call
 * only. The callback may call iocd_alerts_foreach_active and
 * iocd_alerts_active_count, not observe or tick. */
#include "daemon/alerts/alerts.h"
#include "daemon/base/topic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"

#define IOCD_ALERTS_MAX_PAIRS 100000
#define WIN_BUCKETS 60
#define SEVERITY_MAX 5 /* ioc.v1.Severity CRITICAL */

struct win {
    int64_t head; /* slot (t / width, floored) of the newest bucket */
    bool any;
    double v[WIN_BUCKETS];   /* sum (mean, sum), min or max of the bucket */
    uint32_t n[WIN_BUCKETS]; /* samples in the bucket */
};

/* What operators did to a raised alert; allocated at the first action,
 * freed when the alert clears. */
#define OPS_NAME_MAX 64
#define OPS_NOTE_MAX 512
struct pair_ops {
    char ack_by[OPS_NAME_MAX];
    int64_t ack_ms; /* 0: not acknowledged */
    char ack_note[OPS_NOTE_MAX];
    char assignee[OPS_NAME_MAX];
};

struct pair {
    struct pair *prev_active, *next_active; /* while raised */
    struct pair_ops *ops; /* NULL until an operator acts; owned */
    uint64_t hash;
    int rule;      /* index into cfg->alerts */
    bool raised;
    int band, prev_band; /* band rules (band starts at 0); -1 otherwise */
    int severity;        /* of the raised alert */
    double value;        /* the statistic at the latest evaluation */
    double raise_value;  /* ... at the latest raise (or band change) */
    double threshold;    /* the level crossed at the latest raise */
    int64_t eval_ms, raised_ms;
    bool has_last;
    int64_t last_t; /* newest observation (no window) */
    struct win *win; /* in the same allocation; NULL without a window */
    const char *source, *device, *series; /* in the same allocation */
    const void *dev_key; /* stale rules: the device's record, compared, never read */
};

struct iocd_alerts {
    const struct iocd_config *cfg;
    iocd_alerts_fn fn;
    void *ud;
    struct pair **slots; /* power of two */
    size_t n_slots, n_pairs, max_pairs;
    struct pair *active_head, *active_tail;
    size_t n_active;
    bool warned_full;
    bool has_obs_rules, has_stale_rules, has_event_rules;
    struct iocd_silence *silences; /* active ones; owned */
    size_t n_silences;
};

/* ---- small helpers ---- */

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static uint64_t pair_hash(int rule, const char *series)
{
    uint64_t h = 0xcbf29ce484222325u ^ ((uint64_t)(unsigned)rule * 0x9e3779b97f4a7c15u);
    for (const unsigned char *p = (const unsigned char *)series; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

/* Stale pairs are found by the device table's record address (stable while
 * the table lives), so a tick needs no name formatting for known pairs. */
static uint64_t dev_hash(int rule, const void *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15u ^ (uint64_t)(unsigned)rule;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

static size_t slot_index(int64_t slot)
{
    int64_t m = slot % WIN_BUCKETS;
    return (size_t)(m < 0 ? m + WIN_BUCKETS : m);
}

static bool windowed(const struct iocd_alert_rule *r)
{
    return r->type != IOCD_ALERT_STALE && r->window_ms > 0 && r->stat != IOCD_STAT_LAST;
}

/* Names and texts are built in an iocd_buf (buf.h): on the stack for usual
 * sizes, and no engine state, so it is safe however the callback re-enters. */
static const char *sb_str(const struct iocd_buf *b)
{
    return b->oom ? "" : b->p;
}

/* Numbers as an operator reads them: integers whole, others 6 digits. */
static void fmt_num(char *buf, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.6g", v);
}

static void fmt_dur(char *buf, size_t n, int64_t ms)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ms % units[i].ms == 0) {
            snprintf(buf, n, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    snprintf(buf, n, "%lldms", (long long)ms);
}

static const char *stat_name(enum iocd_alert_stat s)
{
    switch (s) {
    case IOCD_STAT_MEAN:
        return "mean";
    case IOCD_STAT_MIN:
        return "min";
    case IOCD_STAT_MAX:
        return "max";
    case IOCD_STAT_SUM:
        return "sum";
    case IOCD_STAT_COUNT:
        return "count";
    default:
        return "last";
    }
}

static double stale_multiple(const struct iocd_alerts *a, const struct iocd_alert_rule *r)
{
    if (r->multiple > 0)
        return r->multiple;
    if (a->cfg->devices.stale_multiple > 0)
        return a->cfg->devices.stale_multiple;
    return 3;
}

static int clamp_severity(int s)
{
    return s < 0 ? 0 : s > SEVERITY_MAX ? SEVERITY_MAX : s;
}

static int band_severity(const struct iocd_alert_rule *r, int band)
{
    return clamp_severity(r->severity + (band > 1 ? band - 1 : 0));
}

/* Effective clear level: never on the wrong side of the level, so a value
 * can never both raise and clear. */
static double clear_level(const struct iocd_alert_rule *r)
{
    if (r->above)
        return r->clear < r->level ? r->clear : r->level;
    return r->clear > r->level ? r->clear : r->level;
}

/* ---- the engine ---- */

/* Which kinds of rules there are: each entry point returns at once when
 * none of its kind is configured. */
static void note_rule_kinds(struct iocd_alerts *a)
{
    a->has_obs_rules = a->has_stale_rules = a->has_event_rules = false;
    for (int i = 0; i < a->cfg->n_alerts; i++) {
        enum iocd_alert_type t = a->cfg->alerts[i].type;
        if (t == IOCD_ALERT_STALE)
            a->has_stale_rules = true;
        else if (t == IOCD_ALERT_EVENT)
            a->has_event_rules = true;
        else
            a->has_obs_rules = true;
    }
}

struct iocd_alerts *iocd_alerts_new(const struct iocd_config *cfg, iocd_alerts_fn fn, void *ud)
{
    if (!cfg)
        return NULL;
    struct iocd_alerts *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = cfg;
    a->fn = fn;
    a->ud = ud;
    a->max_pairs = IOCD_ALERTS_MAX_PAIRS;
    note_rule_kinds(a);
    return a;
}

void iocd_alerts_free(struct iocd_alerts *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_slots; i++)
        if (a->slots[i]) {
            free(a->slots[i]->ops);
            free(a->slots[i]);
        }
    free(a->slots);
    free(a->silences);
    free(a);
}

size_t iocd_alerts_active_count(const struct iocd_alerts *a)
{
    return a ? a->n_active : 0;
}

static struct pair *pair_find(const struct iocd_alerts *a, int rule, const char *series, uint64_t h)
{
    if (!a->n_slots)
        return NULL;
    size_t mask = a->n_slots - 1;
    for (size_t j = h & mask; a->slots[j]; j = (j + 1) & mask) {
        struct pair *p = a->slots[j];
        if (p->hash == h && p->rule == rule && !p->dev_key && strcmp(p->series, series) == 0)
            return p;
    }
    return NULL;
}

static struct pair *pair_find_dev(const struct iocd_alerts *a, int rule, const void *key,
                                  uint64_t h)
{
    if (!a->n_slots)
        return NULL;
    size_t mask = a->n_slots - 1;
    for (size_t j = h & mask; a->slots[j]; j = (j + 1) & mask) {
        struct pair *p = a->slots[j];
        if (p->hash == h && p->rule == rule && p->dev_key == key)
            return p;
    }
    return NULL;
}

static void slot_put(struct pair **slots, size_t n_slots, struct pair *p)
{
    size_t mask = n_slots - 1;
    size_t j = p->hash & mask;
    while (slots[j])
        j = (j + 1) & mask;
    slots[j] = p;
}

static int slots_grow(struct iocd_alerts *a)
{
    if ((a->n_pairs + 1) * 2 <= a->n_slots)
        return 0;
    size_t ns = a->n_slots ? a->n_slots * 2 : 64;
    struct pair **s = calloc(ns, sizeof(*s));
    if (!s)
        return -1;
    for (size_t i = 0; i < a->n_slots; i++)
        if (a->slots[i])
            slot_put(s, ns, a->slots[i]);
    free(a->slots);
    a->slots = s;
    a->n_slots = ns;
    return 0;
}

/* The pair of (rule, series) — for a stale rule (rule, dev_key) — created
 * on first use; NULL when the bound is reached or memory is short.
 * `source`/`device` are the first two levels of `series` (lengths given). */
static struct pair *pair_get(struct iocd_alerts *a, int rule, const char *series,
                             const char *source, size_t ls, const char *device, size_t ld,
                             const void *dev_key)
{
    uint64_t h = dev_key ? dev_hash(rule, dev_key) : pair_hash(rule, series);
    struct pair *p = dev_key ? pair_find_dev(a, rule, dev_key, h) : pair_find(a, rule, series, h);
    if (p)
        return p;
    if (a->n_pairs >= a->max_pairs) {
        if (!a->warned_full) {
            a->warned_full = true;
            iocd_log_warn("alerts",
                          "%zu (rule, series) pairs tracked, the most allowed; rule '%s' and "
                          "later ones do not evaluate new series such as '%.200s'",
                          a->n_pairs, a->cfg->alerts[rule].name, series);
        }
        return NULL;
    }
    if (slots_grow(a) < 0)
        return NULL;
    const struct iocd_alert_rule *r = &a->cfg->alerts[rule];
    size_t lsr = strlen(series);
    size_t wsz = windowed(r) ? sizeof(struct win) : 0;
    char *mem = calloc(1, sizeof(struct pair) + wsz + ls + 1 + ld + 1 + lsr + 1);
    if (!mem)
        return NULL;
    p = (struct pair *)mem;
    char *names = mem + sizeof(struct pair) + wsz;
    memcpy(names, source, ls);
    memcpy(names + ls + 1, device, ld);
    memcpy(names + ls + 1 + ld + 1, series, lsr + 1);
    p->source = names;
    p->device = names + ls + 1;
    p->series = names + ls + 1 + ld + 1;
    p->win = wsz ? (struct win *)(mem + sizeof(struct pair)) : NULL;
    p->hash = h;
    p->dev_key = dev_key;
    p->rule = rule;
    p->band = p->prev_band = r->type == IOCD_ALERT_BAND ? 0 : -1;
    p->severity = clamp_severity(r->severity);
    slot_put(a->slots, a->n_slots, p);
    a->n_pairs++;
    return p;
}

static void active_link(struct iocd_alerts *a, struct pair *p)
{
    p->prev_active = a->active_tail;
    p->next_active = NULL;
    if (a->active_tail)
        a->active_tail->next_active = p;
    else
        a->active_head = p;
    a->active_tail = p;
    a->n_active++;
}

static void active_unlink(struct iocd_alerts *a, struct pair *p)
{
    if (p->prev_active)
        p->prev_active->next_active = p->next_active;
    else
        a->active_head = p->next_active;
    if (p->next_active)
        p->next_active->prev_active = p->prev_active;
    else
        a->active_tail = p->prev_active;
    p->prev_active = p->next_active = NULL;
    a->n_active--;
    free(p->ops); /* a new raise starts unacknowledged */
    p->ops = NULL;
}

/* The generated operator text of a change. */
static void gen_text(struct iocd_buf *b, const struct iocd_alert_rule *r, const struct pair *p,
                     bool raised, double value, double threshold)
{
    char v[40], t[40], w[40];
    fmt_num(v, sizeof(v), value);
    fmt_num(t, sizeof(t), threshold);
    iocd_buf_printf(b, "%s: %s ", r->name ? r->name : "", p->series);
    if (r->type == IOCD_ALERT_EVENT) {
        fmt_dur(w, sizeof(w), r->window_ms);
        iocd_buf_printf(b, "%s event(s) in %s %s %s%s", v, w, raised ? ">=" : "<", t,
                        raised ? "" : ", cleared");
        return;
    }
    if (r->type == IOCD_ALERT_STALE) {
        if (raised) {
            iocd_buf_printf(b, "silent %s s > %s s", v, t);
        } else {
            iocd_buf_printf(b, "reporting again, cleared");
        }
        return;
    }
    if (windowed(r)) {
        fmt_dur(w, sizeof(w), r->window_ms);
        iocd_buf_printf(b, "%s over %s ", stat_name(r->stat), w);
    }
    if (r->type == IOCD_ALERT_THRESHOLD) {
        const char *op = r->above ? (raised ? ">" : "<=") : (raised ? "<" : ">=");
        iocd_buf_printf(b, "%s %s %s%s", v, op, t, raised ? "" : ", cleared");
        return;
    }
    /* band */
    bool up = p->band > p->prev_band;
    iocd_buf_printf(b, "%s %s %s, band %d (was %d)%s", v, up ? ">" : "back below", t, p->band,
              p->prev_band, raised ? "" : ", cleared");
}

/* Hand `fn` one change of `p`; `text_value` is the value the generated
 * text quotes (the raise's, for an active alert). */
/* An operator's action being reported (NULL: a raise or clear). */
struct act_info {
    const char *action, *actor, *note;
};

static bool silenced(const struct iocd_alerts *a, const struct iocd_alert_rule *r,
                     const struct pair *p, int64_t now_ms);

static void deliver_rule(const struct iocd_alerts *a, const struct iocd_alert_rule *r,
                         const struct pair *p, bool raised,
                         double value, double text_value, double threshold, int64_t time_ms,
                         const char *why, const struct act_info *act, iocd_alerts_fn fn, void *ud)
{
    struct iocd_buf id, text;
    iocd_buf_init(&id);
    iocd_buf_init(&text);
    iocd_buf_printf(&id, "%s/%s", r->name ? r->name : "", p->series);
    const char *tx;
    if (act && act->action && strcmp(act->action, "resolved") == 0) {
        iocd_buf_printf(&text, "%s: %s resolved by %s%s%s", r->name ? r->name : "", p->series,
                        act->actor ? act->actor : "", act->note && act->note[0] ? ": " : "",
                        act->note ? act->note : "");
        tx = sb_str(&text);
    } else if (why) {
        iocd_buf_printf(&text, "%s: %s %s, cleared", r->name ? r->name : "", p->series, why);
        tx = sb_str(&text);
    } else if (r->text && r->text[0]) {
        tx = r->text;
    } else {
        gen_text(&text, r, p, raised, text_value, threshold);
        tx = sb_str(&text);
    }
    struct iocd_alert_change c = {
        .rule = r,
        .id = sb_str(&id),
        .series = p->series,
        .source = p->source,
        .device = p->device,
        .raised = raised,
        .severity = p->severity,
        .value = value,
        .threshold = threshold,
        .band = p->band,
        .prev_band = p->prev_band,
        .time_ms = time_ms,
        .raised_ms = p->raised_ms,
        .text = tx,
        .action = act ? act->action : NULL,
        .actor = act ? act->actor : NULL,
        .note = act ? act->note : NULL,
        .ack_by = p->ops && p->ops->ack_ms ? p->ops->ack_by : NULL,
        .ack_note = p->ops && p->ops->ack_ms ? p->ops->ack_note : NULL,
        .ack_ms = p->ops ? p->ops->ack_ms : 0,
        .assignee = p->ops && p->ops->assignee[0] ? p->ops->assignee : NULL,
        .silenced = silenced(a, r, p, time_ms),
    };
    fn(ud, &c);
    iocd_buf_free(&id);
    iocd_buf_free(&text);
}

static void deliver(const struct iocd_alerts *a, const struct pair *p, bool raised, double value,
                    double text_value, double threshold, int64_t time_ms, iocd_alerts_fn fn,
                    void *ud)
{
    deliver_rule(a, &a->cfg->alerts[p->rule], p, raised, value, text_value, threshold, time_ms, NULL,
                 NULL, fn, ud);
}

static void emit(struct iocd_alerts *a, const struct pair *p, bool raised, double value,
                 double threshold, int64_t time_ms)
{
    if (a->fn)
        deliver(a, p, raised, value, value, threshold, time_ms, a->fn, a->ud);
}

/* Put `n` samples whose bucket value is `x` (their sum for mean and sum,
 * their min or max) into the bucket `slot` of `w`, moving the window to it
 * when it is newer; false when it is older than the window or full. */
static bool bucket_put(struct win *w, const struct iocd_alert_rule *r, int64_t slot, uint32_t n,
                       double x)
{
    if (!w->any) {
        w->any = true;
        w->head = slot;
    } else if (slot > w->head) {
        int64_t steps = slot - w->head < WIN_BUCKETS ? slot - w->head : WIN_BUCKETS;
        for (int64_t k = 0; k < steps; k++) {
            size_t i = slot_index(slot - k);
            w->v[i] = 0;
            w->n[i] = 0;
        }
        w->head = slot;
    } else if (slot <= w->head - WIN_BUCKETS) {
        return false; /* older than the window */
    }
    size_t i = slot_index(slot);
    if (w->n[i] > UINT32_MAX - n)
        return false;
    switch (r->stat) {
    case IOCD_STAT_MIN:
        w->v[i] = w->n[i] == 0 || x < w->v[i] ? x : w->v[i];
        break;
    case IOCD_STAT_MAX:
        w->v[i] = w->n[i] == 0 || x > w->v[i] ? x : w->v[i];
        break;
    case IOCD_STAT_COUNT:
        break;
    default: /* mean, sum */
        w->v[i] += x;
        break;
    }
    w->n[i] += n;
    return true;
}

/* The statistic of the window's 60 buckets. */
static double win_stat(const struct win *w, const struct iocd_alert_rule *r)
{
    uint64_t n = 0;
    double acc = 0;
    bool first = true;
    for (size_t k = 0; k < WIN_BUCKETS; k++) {
        if (!w->n[k])
            continue;
        n += w->n[k];
        if (r->stat == IOCD_STAT_MIN)
            acc = first || w->v[k] < acc ? w->v[k] : acc;
        else if (r->stat == IOCD_STAT_MAX)
            acc = first || w->v[k] > acc ? w->v[k] : acc;
        else
            acc += w->v[k];
        first = false;
    }
    switch (r->stat) {
    case IOCD_STAT_MEAN:
        return acc / (double)n;
    case IOCD_STAT_COUNT:
        return (double)n;
    default:
        return acc;
    }
}

static int64_t bucket_width(const struct iocd_alert_rule *r)
{
    return r->window_ms / WIN_BUCKETS > 0 ? r->window_ms / WIN_BUCKETS : 1;
}

/* Add one sample to `p`'s statistic; false when it does not change it. */
static bool stat_add(struct pair *p, const struct iocd_alert_rule *r, double x, int64_t t,
                     double *stat)
{
    if (!p->win) {
        if (p->has_last && t < p->last_t)
            return false;
        p->has_last = true;
        p->last_t = t;
        *stat = x;
        return true;
    }
    if (!bucket_put(p->win, r, iocd_time_floor_div(t, bucket_width(r)), 1, x))
        return false;
    *stat = win_stat(p->win, r);
    return true;
}

/* Does rule r's window fill from stored windows of res_ms (each inside one
 * of its buckets)? */
static bool fills_from(const struct iocd_alert_rule *r, int64_t res_ms)
{
    return r->type != IOCD_ALERT_STALE && r->type != IOCD_ALERT_EVENT && windowed(r) &&
           res_ms > 0 &&
           bucket_width(r) % res_ms == 0;
}

int64_t iocd_alerts_history_ms(const struct iocd_alerts *a, const char *series, int64_t res_ms)
{
    int64_t longest = 0;
    if (!a || !a->has_obs_rules)
        return 0;
    for (int i = 0; i < a->cfg->n_alerts; i++) {
        const struct iocd_alert_rule *r = &a->cfg->alerts[i];
        if (fills_from(r, res_ms) && r->window_ms > longest &&
            iocd_topic_matches(r->match, series))
            longest = r->window_ms;
    }
    return longest;
}

void iocd_alerts_prefill(struct iocd_alerts *a, const char *series, int64_t start_ms,
                         int64_t res_ms, uint64_t count, double sum, double min, double max)
{
    const char *dev = series ? strchr(series, '/') : NULL;
    const char *met = dev ? strchr(dev + 1, '/') : NULL;
    if (!a || !met || !count || count > UINT32_MAX)
        return;
    for (int i = 0; i < a->cfg->n_alerts; i++) {
        const struct iocd_alert_rule *r = &a->cfg->alerts[i];
        if (!fills_from(r, res_ms) || !iocd_topic_matches(r->match, series))
            continue;
        struct pair *p = pair_get(a, i, series, series, (size_t)(dev - series), dev + 1,
                                  (size_t)(met - dev - 1), NULL);
        if (!p || !p->win)
            continue;
        double x = r->stat == IOCD_STAT_MIN ? min : r->stat == IOCD_STAT_MAX ? max : sum;
        bucket_put(p->win, r, iocd_time_floor_div(start_ms, bucket_width(r)), (uint32_t)count, x);
    }
}

static void eval_threshold(struct iocd_alerts *a, struct pair *p, const struct iocd_alert_rule *r,
                           double stat, int64_t t)
{
    p->value = stat;
    p->eval_ms = t;
    if (!p->raised) {
        if (r->above ? stat > r->level : stat < r->level) {
            p->raised = true;
            p->raised_ms = t;
            p->raise_value = stat;
            p->threshold = r->level;
            p->severity = clamp_severity(r->severity);
            active_link(a, p);
            emit(a, p, true, stat, r->level, t);
        }
        return;
    }
    double clr = clear_level(r);
    if (r->above ? stat <= clr : stat >= clr) {
        p->raised = false;
        active_unlink(a, p);
        emit(a, p, false, stat, clr, t);
    }
}

static void eval_band(struct iocd_alerts *a, struct pair *p, const struct iocd_alert_rule *r,
                      double stat, int64_t t)
{
    p->value = stat;
    p->eval_ms = t;
    int n = r->n_bands < 0 ? 0 : r->n_bands > IOCD_ALERT_MAX_BANDS ? IOCD_ALERT_MAX_BANDS : r->n_bands;
    double hyst = r->hysteresis > 0 ? r->hysteresis : 0;
    int cur = p->band;
    while (cur < n && stat > r->bands[cur])
        cur++;
    if (cur == p->band)
        while (cur > 0 && stat < r->bands[cur - 1] - hyst)
            cur--;
    if (cur == p->band)
        return;
    p->prev_band = p->band;
    p->band = cur;
    double edge = cur > p->prev_band ? r->bands[cur - 1] : r->bands[cur];
    p->raise_value = stat;
    p->threshold = edge;
    if (cur >= 1) {
        p->severity = band_severity(r, cur);
        if (!p->raised) {
            p->raised = true;
            p->raised_ms = t;
            active_link(a, p);
        }
        emit(a, p, true, stat, edge, t);
    } else {
        /* severity stays that of the band the alert ends in */
        p->raised = false;
        active_unlink(a, p);
        emit(a, p, false, stat, edge, t);
    }
}

void iocd_alerts_observe(struct iocd_alerts *a, const char *source, const char *device,
                         const char *metric, double value, int64_t t_ms)
{
    if (!a || !a->has_obs_rules || !source || !device || !metric || !isfinite(value))
        return;
    struct iocd_buf series;
    iocd_buf_init(&series);
    iocd_buf_printf(&series, "%s/%s/%s", source, device, metric);
    if (series.oom)
        return;
    size_t ls = strlen(source), ld = strlen(device);
    for (int i = 0; i < a->cfg->n_alerts; i++) {
        const struct iocd_alert_rule *r = &a->cfg->alerts[i];
        if (r->type == IOCD_ALERT_STALE || r->type == IOCD_ALERT_EVENT ||
            !iocd_topic_matches(r->match, series.p))
            continue;
        struct pair *p = pair_get(a, i, series.p, source, ls, device, ld, NULL);
        double stat;
        if (!p || !stat_add(p, r, value, t_ms, &stat))
            continue;
        if (r->type == IOCD_ALERT_BAND)
            eval_band(a, p, r, stat, t_ms);
        else
            eval_threshold(a, p, r, stat, t_ms);
    }
    iocd_buf_free(&series);
}

struct tick_ctx {
    struct iocd_alerts *a;
    int64_t now_ms;
};

static int64_t stale_after_ms(const struct iocd_alerts *a, const struct iocd_alert_rule *r,
                              int64_t interval_ms)
{
    double v = stale_multiple(a, r) * (double)interval_ms;
    return v >= 9.0e18 ? INT64_MAX : (int64_t)llround(v);
}

/* Raise: a silent device that a stale rule matches. */
static void stale_each(void *ud, const struct iocd_device_info *d)
{
    struct tick_ctx *c = ud;
    struct iocd_alerts *a = c->a;
    if (d->messages < IOCD_ALERTS_STALE_MIN_GAPS + 1)
        return; /* its interval is not learned yet */
    int64_t silent = c->now_ms - d->last_seen_ms;
    struct iocd_buf series;
    iocd_buf_init(&series);
    for (int i = 0; i < a->cfg->n_alerts; i++) {
        const struct iocd_alert_rule *r = &a->cfg->alerts[i];
        if (r->type != IOCD_ALERT_STALE)
            continue;
        int64_t after = stale_after_ms(a, r, d->interval_ms);
        if (silent <= after)
            continue;
        struct pair *p = pair_find_dev(a, i, d, dev_hash(i, d)); /* matched before */
        if (!p) {
            if (!series.len) {
                iocd_buf_printf(&series, "%s/%s", d->source, d->device);
                if (series.oom)
                    break;
            }
            if (!iocd_topic_matches(r->match, series.p))
                continue;
            p = pair_get(a, i, series.p, d->source, strlen(d->source), d->device,
                         strlen(d->device), d);
            if (!p)
                continue;
        }
        p->value = (double)silent / 1000.0;
        p->eval_ms = c->now_ms;
        if (p->raised)
            continue;
        p->raised = true;
        p->raised_ms = c->now_ms;
        p->raise_value = p->value;
        p->threshold = (double)after / 1000.0;
        p->severity = clamp_severity(r->severity);
        active_link(a, p);
        emit(a, p, true, p->value, p->threshold, c->now_ms);
    }
    iocd_buf_free(&series);
}

/* The events of `p`'s window of rule r that end at `now_ms`: the buckets
 * whose slot is within the last WIN_BUCKETS up to now's. */
static uint64_t events_in_window(const struct pair *p, const struct iocd_alert_rule *r,
                                 int64_t now_ms)
{
    const struct win *w = p->win;
    if (!w || !w->any)
        return 0;
    int64_t now_slot = iocd_time_floor_div(now_ms, bucket_width(r));
    int64_t lo = now_slot - (WIN_BUCKETS - 1), hi = w->head < now_slot ? w->head : now_slot;
    if (lo < w->head - (WIN_BUCKETS - 1))
        lo = w->head - (WIN_BUCKETS - 1);
    uint64_t n = 0;
    for (int64_t slot = lo; slot <= hi; slot++)
        n += w->n[slot_index(slot)];
    return n;
}

/* Clear: raised event alerts whose window, ending now, holds fewer events
 * than the rule's count. */
static void expire_events(struct iocd_alerts *a, int64_t now_ms)
{
    struct pair *next;
    for (struct pair *p = a->active_head; p; p = next) {
        next = p->next_active;
        const struct iocd_alert_rule *r = &a->cfg->alerts[p->rule];
        if (r->type != IOCD_ALERT_EVENT)
            continue;
        uint64_t n = events_in_window(p, r, now_ms);
        if (n >= (uint64_t)r->count)
            continue;
        p->value = (double)n;
        p->eval_ms = now_ms;
        p->raised = false;
        active_unlink(a, p);
        emit(a, p, false, (double)n, (double)r->count, now_ms);
    }
}

static bool event_matches(const struct iocd_alert_rule *r, const struct iocd_alert_event *e,
                          const char *source_kind)
{
    if (e->severity < r->min_severity || !iocd_topic_matches(r->match, source_kind))
        return false;
    if (r->area && strcmp(r->area, e->area ? e->area : "") != 0)
        return false;
    for (int w = 0; w < r->n_where; w++) {
        bool found = false;
        for (size_t i = 0; i < e->n_attrs && !found; i++)
            found = strcmp(e->attr_keys[i], r->where_key[w]) == 0 &&
                    strcmp(e->attr_values[i], r->where_value[w]) == 0;
        if (!found)
            return false;
    }
    return true;
}

bool iocd_alerts_has_event_rules(const struct iocd_alerts *a)
{
    return a && a->has_event_rules;
}

void iocd_alerts_event(struct iocd_alerts *a, const struct iocd_alert_event *e)
{
    if (!a || !a->has_event_rules || !e || !e->source || !e->kind)
        return;
    struct iocd_buf sk, subj;
    iocd_buf_init(&sk);
    iocd_buf_init(&subj);
    iocd_buf_printf(&sk, "%s/%s", e->source, e->kind);
    size_t ls = strlen(e->source);
    for (int i = 0; !sk.oom && i < a->cfg->n_alerts; i++) {
        const struct iocd_alert_rule *r = &a->cfg->alerts[i];
        if (r->type != IOCD_ALERT_EVENT || !event_matches(r, e, sk.p))
            continue;
        /* SOURCE/SUBJECT: the device, the area or "_all"; "-" when empty. */
        const char *who = r->per == IOCD_PER_SOURCE ? "_all"
                          : r->per == IOCD_PER_AREA ? e->area
                                                    : e->device;
        if (!who || !who[0])
            who = "-";
        iocd_buf_reset(&subj);
        iocd_buf_printf(&subj, "%s/%s", e->source, who);
        if (subj.oom)
            break;
        struct pair *p = pair_get(a, i, subj.p, e->source, ls, who, strlen(who), NULL);
        if (!p || !p->win ||
            !bucket_put(p->win, r, iocd_time_floor_div(e->time_ms, bucket_width(r)), 1, 1))
            continue;
        int64_t at = e->time_ms > p->win->head * bucket_width(r) ? e->time_ms
                                                                 : p->win->head * bucket_width(r);
        uint64_t n = events_in_window(p, r, at);
        p->value = (double)n;
        p->eval_ms = e->time_ms;
        if (p->raised || n < (uint64_t)r->count)
            continue;
        p->raised = true;
        p->raised_ms = e->time_ms;
        p->raise_value = (double)n;
        p->threshold = (double)r->count;
        p->severity = clamp_severity(r->severity_given ? r->severity : e->severity);
        active_link(a, p);
        emit(a, p, true, (double)n, (double)r->count, e->time_ms);
    }
    iocd_buf_free(&sk);
    iocd_buf_free(&subj);
}

void iocd_alerts_tick(struct iocd_alerts *a, const struct iocd_devices *dev, int64_t now_ms)
{
    if (a && a->has_event_rules)
        expire_events(a, now_ms);
    if (!a || !dev || !a->has_stale_rules)
        return;
    /* Clear first: a raised stale pair whose device has been seen. */
    struct pair *next;
    for (struct pair *p = a->active_head; p; p = next) {
        next = p->next_active;
        const struct iocd_alert_rule *r = &a->cfg->alerts[p->rule];
        if (r->type != IOCD_ALERT_STALE)
            continue;
        const struct iocd_device_info *d = iocd_devices_get(dev, p->source, p->device);
        if (!d)
            continue;
        int64_t silent = now_ms - d->last_seen_ms;
        p->value = (double)silent / 1000.0;
        p->eval_ms = now_ms;
        if (silent > stale_after_ms(a, r, d->interval_ms))
            continue;
        p->raised = false;
        active_unlink(a, p);
        emit(a, p, false, p->value, (double)stale_after_ms(a, r, d->interval_ms) / 1000.0,
             now_ms);
    }
    struct tick_ctx c = {a, now_ms};
    iocd_devices_foreach(dev, stale_each, &c);
}

void iocd_alerts_foreach_active(const struct iocd_alerts *a, iocd_alerts_fn fn, void *ud)
{
    if (!a || !fn)
        return;
    for (const struct pair *p = a->active_head; p; p = p->next_active)
        deliver(a, p, true, p->value, p->raise_value, p->threshold, p->eval_ms, fn, ud);
}

/* An operator's marks on a restored alert. */
static void restore_ops(struct pair *p, const struct iocd_alert_saved *s)
{
    if (!s->ack_ms && !(s->assignee && s->assignee[0]))
        return;
    if (!(p->ops = calloc(1, sizeof(*p->ops))))
        return;
    p->ops->ack_ms = s->ack_ms;
    copy_str(p->ops->ack_by, sizeof(p->ops->ack_by), s->ack_by);
    copy_str(p->ops->ack_note, sizeof(p->ops->ack_note), s->ack_note);
    copy_str(p->ops->assignee, sizeof(p->ops->assignee), s->assignee);
}

/* A raised event alert as stored: its window gets the count it had at its
 * last change, at that time, so it clears one window after that at the
 * latest (the events themselves are not read back). */
static int restore_event(struct iocd_alerts *a, int rule, const struct iocd_alert_saved *s)
{
    const struct iocd_alert_rule *r = &a->cfg->alerts[rule];
    if (s->metric || s->value < 1 || s->value > UINT32_MAX)
        return -1;
    struct iocd_buf series;
    iocd_buf_init(&series);
    iocd_buf_printf(&series, "%s/%s", s->source, s->device);
    struct pair *p = series.oom ? NULL
                                : pair_get(a, rule, series.p, s->source, strlen(s->source),
                                           s->device, strlen(s->device), NULL);
    iocd_buf_free(&series);
    if (!p || p->raised || !p->win ||
        !bucket_put(p->win, r, iocd_time_floor_div(s->time_ms, bucket_width(r)),
                    (uint32_t)s->value, 1))
        return -1;
    p->raised = true;
    p->raised_ms = s->raised_ms;
    p->eval_ms = s->time_ms;
    p->value = p->raise_value = s->value;
    p->threshold = s->threshold;
    p->severity = clamp_severity(s->severity);
    active_link(a, p);
    restore_ops(p, s);
    return 0;
}

int iocd_alerts_restore(struct iocd_alerts *a, const struct iocd_devices *dev,
                        const struct iocd_alert_saved *s)
{
    if (!a || !s || !s->rule || !s->source || !s->device || !isfinite(s->value) ||
        !isfinite(s->threshold))
        return -1;
    int rule = -1;
    for (int i = 0; i < a->cfg->n_alerts && rule < 0; i++)
        if (a->cfg->alerts[i].name && strcmp(a->cfg->alerts[i].name, s->rule) == 0)
            rule = i;
    if (rule < 0)
        return -1;
    const struct iocd_alert_rule *r = &a->cfg->alerts[rule];
    if (r->type == IOCD_ALERT_EVENT)
        return restore_event(a, rule, s);
    bool stale = r->type == IOCD_ALERT_STALE;
    int n_bands = r->n_bands > IOCD_ALERT_MAX_BANDS ? IOCD_ALERT_MAX_BANDS : r->n_bands;
    if (stale != !s->metric ||
        (r->type == IOCD_ALERT_BAND && (s->band < 1 || s->band > n_bands)))
        return -1;
    const struct iocd_device_info *d = NULL;
    if (stale && !(d = iocd_devices_get(dev, s->source, s->device)))
        return -1;
    struct iocd_buf series;
    iocd_buf_init(&series);
    if (stale)
        iocd_buf_printf(&series, "%s/%s", s->source, s->device);
    else
        iocd_buf_printf(&series, "%s/%s/%s", s->source, s->device, s->metric);
    int rc = -1;
    struct pair *p = NULL;
    if (!series.oom && iocd_topic_matches(r->match, series.p))
        p = pair_get(a, rule, series.p, s->source, strlen(s->source), s->device,
                     strlen(s->device), d);
    if (p && !p->raised) {
        p->raised = true;
        p->raised_ms = s->raised_ms;
        p->eval_ms = s->time_ms;
        p->value = p->raise_value = s->value;
        p->threshold = s->threshold;
        if (r->type == IOCD_ALERT_BAND) {
            p->band = s->band;
            p->prev_band = s->prev_band >= 0 && s->prev_band <= n_bands ? s->prev_band : 0;
            p->severity = band_severity(r, s->band);
        } else {
            p->severity = clamp_severity(r->severity);
        }
        active_link(a, p);
        restore_ops(p, s);
        rc = 0;
    }
    iocd_buf_free(&series);
    return rc;
}

int iocd_alerts_reload(struct iocd_alerts *a, const struct iocd_config *old, const int *rule_to,
                       int64_t now_ms)
{
    if (!a)
        return 0;
    struct pair **slots = a->n_slots ? calloc(a->n_slots, sizeof(*slots)) : NULL;
    if (a->n_slots && !slots)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < a->n_slots; i++) {
        struct pair *p = a->slots[i];
        if (!p)
            continue;
        int to = rule_to[p->rule];
        if (to >= 0) {
            p->rule = to;
            p->hash = p->dev_key ? dev_hash(to, p->dev_key) : pair_hash(to, p->series);
            slot_put(slots, a->n_slots, p);
            kept++;
            continue;
        }
        /* Its rule is gone, or matches, measures or windows differently
         * now: what it raised is cleared, saying why. */
        if (p->raised) {
            const struct iocd_alert_rule *r = &old->alerts[p->rule];
            if (a->fn)
                deliver_rule(a, r, p, false, p->value, p->value, p->threshold, now_ms,
                             "rule removed or redefined by a reload", NULL, a->fn, a->ud);
            active_unlink(a, p);
        }
        free(p->ops);
        free(p);
    }
    free(a->slots);
    a->slots = slots;
    a->n_pairs = kept;
    a->warned_full = false;
    note_rule_kinds(a);
    return 0;
}

/* ---- operators' actions ---- */

/* The active pair whose id (RULE/SERIES) is `id`. */
static struct pair *find_active(const struct iocd_alerts *a, const char *id)
{
    const char *slash = id ? strchr(id, '/') : NULL;
    if (!slash)
        return NULL;
    size_t ln = (size_t)(slash - id);
    for (struct pair *p = a->active_head; p; p = p->next_active) {
        const char *name = a->cfg->alerts[p->rule].name;
        if (name && strlen(name) == ln && memcmp(name, id, ln) == 0 &&
            strcmp(p->series, slash + 1) == 0)
            return p;
    }
    return NULL;
}

int iocd_alerts_get_active(const struct iocd_alerts *a, const char *id, iocd_alerts_fn fn,
                           void *ud)
{
    const struct pair *p = a ? find_active(a, id) : NULL;
    if (!p)
        return -1;
    deliver(a, p, true, p->value, p->raise_value, p->threshold, p->eval_ms, fn, ud);
    return 0;
}

int iocd_alerts_act(struct iocd_alerts *a, const char *id, enum iocd_alert_action act,
                    const char *actor, const char *note, const char *to, int64_t now_ms)
{
    struct pair *p = a ? find_active(a, id) : NULL;
    if (!p)
        return IOCD_ALERT_ACT_NOT_ACTIVE;
    const struct iocd_alert_rule *r = &a->cfg->alerts[p->rule];
    if (act == IOCD_ALERT_ACK && p->ops && p->ops->ack_ms)
        return IOCD_ALERT_ACT_ALREADY;
    if (act != IOCD_ALERT_RESOLVE && !p->ops && !(p->ops = calloc(1, sizeof(*p->ops))))
        return IOCD_ALERT_ACT_NOT_ACTIVE;
    struct act_info info = {.actor = actor, .note = note ? note : ""};
    switch (act) {
    case IOCD_ALERT_ACK:
        copy_str(p->ops->ack_by, sizeof(p->ops->ack_by), actor);
        copy_str(p->ops->ack_note, sizeof(p->ops->ack_note), note);
        p->ops->ack_ms = now_ms;
        info.action = "acknowledged";
        break;
    case IOCD_ALERT_ASSIGN:
        copy_str(p->ops->assignee, sizeof(p->ops->assignee), to);
        info.action = "assigned";
        break;
    case IOCD_ALERT_RESOLVE:
        /* Cleared by hand: the rule raises it again at its next evaluation
         * if the condition still holds (a silence keeps it quiet). */
        info.action = "resolved";
        p->raised = false;
        if (r->type == IOCD_ALERT_BAND)
            p->band = 0;
        if (a->fn) {
            /* Reported with the marks it had, then unlinked. */
            deliver_rule(a, r, p, false, p->value, p->value, p->threshold, now_ms, NULL, &info,
                         a->fn, a->ud);
        }
        active_unlink(a, p);
        return IOCD_ALERT_ACT_OK;
    }
    if (a->fn)
        deliver_rule(a, r, p, true, p->value, p->raise_value, p->threshold, now_ms, NULL, &info,
                     a->fn, a->ud);
    return IOCD_ALERT_ACT_OK;
}

/* ---- silences ---- */

static bool field_matches(const char *want, const char *have)
{
    return !want[0] || (have && strcmp(want, have) == 0);
}

static bool silenced(const struct iocd_alerts *a, const struct iocd_alert_rule *r,
                     const struct pair *p, int64_t now_ms)
{
    /* An area is known for the alerts of event rules counted per area. */
    const char *area = r->type == IOCD_ALERT_EVENT && r->per == IOCD_PER_AREA ? p->device : NULL;
    for (size_t i = 0; i < a->n_silences; i++) {
        const struct iocd_silence *s = &a->silences[i];
        if (s->until_ms > now_ms && field_matches(s->rule, r->name) &&
            field_matches(s->source, p->source) &&
            (!s->device[0] || (!area && strcmp(s->device, p->device) == 0)) &&
            field_matches(s->area, area))
            return true;
    }
    return false;
}

int iocd_alerts_silence_add(struct iocd_alerts *a, const struct iocd_silence *s)
{
    if (!a || a->n_silences >= IOCD_ALERTS_MAX_SILENCES)
        return -1;
    struct iocd_silence *n = realloc(a->silences, (a->n_silences + 1) * sizeof(*n));
    if (!n)
        return -1;
    a->silences = n;
    a->silences[a->n_silences++] = *s;
    return 0;
}

int iocd_alerts_silence_lift(struct iocd_alerts *a, const char *id, struct iocd_silence *out)
{
    for (size_t i = 0; a && i < a->n_silences; i++)
        if (strcmp(a->silences[i].id, id) == 0) {
            if (out)
                *out = a->silences[i];
            a->silences[i] = a->silences[--a->n_silences];
            return 0;
        }
    return -1;
}

size_t iocd_alerts_silences(struct iocd_alerts *a, int64_t now_ms,
                            const struct iocd_silence **out)
{
    if (!a) {
        *out = NULL;
        return 0;
    }
    for (size_t i = 0; i < a->n_silences;)
        if (a->silences[i].until_ms <= now_ms)
            a->silences[i] = a->silences[--a->n_silences];
        else
            i++;
    *out = a->silences;
    return a->n_silences;
}
