/* daemon/config/alert_rules.c — [alert NAME] sections into alert rules.
 *
 * Owns: the alert key table (iocd_alert_keys: every key of an alert
 * section, its help, read by name into struct alert_entries), the checks
 * of a rule's keys against its type, and cfg->alerts (each rule's name,
 * match and text; freed by iocd_config_free_alerts). See docs/alerts.md. */
#include "daemon/config/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/severity.h"
#include "daemon/base/timeutil.h"

/* The entries of one section, NULL when absent. */
struct alert_entries {
    struct iocd_ini_entry *type, *match, *stat, *window, *above, *below, *clear, *bands,
        *hysteresis, *multiple, *severity, *text, *count, *per, *min_severity, *area, *where;
};

#define EOFF(field) offsetof(struct alert_entries, field)
#define ALERT_KEY(field, help)                                                                     \
    {NULL, #field, IOCD_KEY_ENTRY, EOFF(field), NULL, 0, 0, help, NULL, false}

const struct iocd_key iocd_alert_keys[] = {
    ALERT_KEY(type, "threshold, band, stale or event"),
    ALERT_KEY(match, "series pattern SOURCE/DEVICE/METRIC (+ and #); stale: SOURCE/DEVICE; "
                     "event: SOURCE/KIND"),
    ALERT_KEY(stat, "threshold, band: last, mean, min, max, sum or count (default mean; last "
                    "without window)"),
    ALERT_KEY(window, "threshold, band: trailing window of the statistic (default 0: the last "
                      "value)"),
    ALERT_KEY(above, "threshold: raised when the statistic is above this level"),
    ALERT_KEY(below, "threshold: raised when the statistic is below this level"),
    ALERT_KEY(clear, "threshold: cleared when back at or beyond this level (default: the level)"),
    ALERT_KEY(bands, "band: ascending upper edges of the bands (e.g. 50 100 150 200 300)"),
    ALERT_KEY(hysteresis, "band: falls to a lower band only this far below its edge (default 0)"),
    ALERT_KEY(multiple, "stale: raised after this many usual intervals without a message "
                        "(default 3)"),
    ALERT_KEY(severity, "info, warning, minor, major or critical (default warning; event: the "
                        "event's)"),
    ALERT_KEY(text, "what the operator reads (default: generated from the rule)"),
    ALERT_KEY(count, "event: raised at this many matching events of one subject in the window "
                     "(default 1)"),
    ALERT_KEY(per, "event: the subject counted: device, area or source (default device)"),
    ALERT_KEY(min_severity, "event: only events of this severity or higher (default: any)"),
    ALERT_KEY(area, "event: only events of this area (default: any)"),
    ALERT_KEY(where, "event: attributes the events must have, KEY=VALUE, ... (default: none)"),
};
const size_t iocd_alert_n_keys = sizeof(iocd_alert_keys) / sizeof(iocd_alert_keys[0]);

/* A finite number, or -1. */
static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* A new rule for section s, with the defaults (name checked). */
static struct iocd_alert_rule *add_rule(struct iocd_config *cfg, const char *file,
                                        const struct iocd_ini_section *s, struct iocd_error *err)
{
    if (!s->arg)
        return iocd_error_at(err, file, s->line, "[alert] needs a name: [alert NAME]"), NULL;
    if (iocd_config_check_name("alert name", s->arg, file, s->line, err))
        return NULL;
    for (int i = 0; i < cfg->n_alerts; i++)
        if (strcmp(cfg->alerts[i].name, s->arg) == 0)
            return iocd_error_at(err, file, s->line,
                                 "[alert %s] defined twice (first on line %d)", s->arg,
                                 cfg->alerts[i].line),
                   NULL;
    struct iocd_alert_rule *r = realloc(cfg->alerts, (size_t)(cfg->n_alerts + 1) * sizeof(*r));
    if (!r)
        return iocd_error_set(err, "out of memory"), NULL;
    cfg->alerts = r;
    r = &cfg->alerts[cfg->n_alerts++];
    memset(r, 0, sizeof(*r));
    r->line = s->line;
    r->name = strdup(s->arg);
    r->severity = 2;
    r->multiple = 3;
    r->stat = IOCD_STAT_MEAN;
    if (!r->name)
        return iocd_error_set(err, "out of memory"), NULL;
    return r;
}

/* type, match, text and severity: every rule has them. */
static int read_common(struct iocd_alert_rule *r, const struct alert_entries *k,
                       const char *file, const struct iocd_ini_section *s,
                       struct iocd_error *err)
{
    const char *n = s->arg;
    if (!k->type)
        return iocd_error_at(err, file, s->line,
                             "[alert %s] has no 'type' (threshold, band, stale or event)", n);
    if (strcmp(k->type->value, "threshold") == 0)
        r->type = IOCD_ALERT_THRESHOLD;
    else if (strcmp(k->type->value, "band") == 0)
        r->type = IOCD_ALERT_BAND;
    else if (strcmp(k->type->value, "stale") == 0)
        r->type = IOCD_ALERT_STALE;
    else if (strcmp(k->type->value, "event") == 0)
        r->type = IOCD_ALERT_EVENT;
    else
        return iocd_error_at(err, file, k->type->line,
                             "[alert %s] type: '%s' is not threshold, band, stale or event", n,
                             k->type->value);
    if (!k->match)
        return iocd_error_at(err, file, s->line, "[alert %s] has no 'match' (a series pattern)",
                             n);
    if (iocd_config_check_topic_filter(k->match->value, file, k->match->line, err))
        return -1;
    r->match = strdup(k->match->value);
    r->text = strdup(k->text ? k->text->value : "");
    if (!r->match || !r->text)
        return iocd_error_set(err, "out of memory");
    if (k->severity) {
        int found = 0;
        for (int i = 1; iocd_severity_name(i); i++) /* not "unspecified" */
            if (strcmp(k->severity->value, iocd_severity_name(i)) == 0)
                found = i;
        if (!found)
            return iocd_error_at(err, file, k->severity->line,
                                 "[alert %s] severity: '%s' is not info, warning, minor, major "
                                 "or critical",
                                 n, k->severity->value);
        r->severity = found;
        r->severity_given = true;
    }
    /* The event rules' own keys belong to no other type. */
    const struct iocd_ini_entry *own[] = {k->count, k->per, k->min_severity, k->area, k->where};
    for (size_t i = 0; r->type != IOCD_ALERT_EVENT && i < sizeof(own) / sizeof(own[0]); i++)
        if (own[i])
            return iocd_error_at(err, file, own[i]->line,
                                 "[alert %s] %s: only event rules have it", n, own[i]->key);
    return 0;
}

/* "KEY=VALUE, KEY=VALUE" of `where`. */
static int read_where(struct iocd_alert_rule *r, const struct iocd_ini_entry *e, const char *file,
                      const char *n, struct iocd_error *err)
{
    char buf[1024];
    if (strlen(e->value) >= sizeof(buf))
        return iocd_error_at(err, file, e->line, "[alert %s] where: too long", n);
    strcpy(buf, e->value);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *eq = strchr(tok, '=');
        size_t end = strlen(tok);
        while (end && (tok[end - 1] == ' ' || tok[end - 1] == '\t'))
            tok[--end] = '\0';
        if (!eq || eq == tok || !eq[1])
            return iocd_error_at(err, file, e->line,
                                 "[alert %s] where: '%s' is not KEY=VALUE", n, tok);
        if (r->n_where == IOCD_ALERT_MAX_WHERE)
            return iocd_error_at(err, file, e->line, "[alert %s] where: at most %d conditions",
                                 n, IOCD_ALERT_MAX_WHERE);
        *eq = '\0';
        char *key = tok, *value = eq + 1;
        size_t kl = strlen(key);
        while (kl && (key[kl - 1] == ' ' || key[kl - 1] == '\t'))
            key[--kl] = '\0';
        while (*value == ' ' || *value == '\t')
            value++;
        r->where_key[r->n_where] = strdup(key);
        r->where_value[r->n_where] = strdup(value);
        r->n_where++;
        if (!r->where_key[r->n_where - 1] || !r->where_value[r->n_where - 1])
            return iocd_error_set(err, "out of memory");
    }
    if (!r->n_where)
        return iocd_error_at(err, file, e->line, "[alert %s] where: no KEY=VALUE", n);
    return 0;
}

/* An event rule: match over SOURCE/KIND, count in a window, per subject. */
static int read_event(struct iocd_alert_rule *r, const struct alert_entries *k, const char *file,
                      const char *n, struct iocd_error *err)
{
    const struct iocd_ini_entry *others[] = {k->stat,  k->above, k->below, k->bands,
                                             k->hysteresis, k->multiple, k->clear};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (others[i])
            return iocd_error_at(err, file, others[i]->line,
                                 "[alert %s] %s: not a key of an event rule", n, others[i]->key);
    r->stat = IOCD_STAT_COUNT;
    r->window_ms = 3600000;
    if (k->window && (iocd_duration_parse(k->window->value, &r->window_ms) ||
                      r->window_ms < 1000 || r->window_ms > INT64_C(31) * 86400000))
        return iocd_error_at(err, file, k->window->line,
                             "[alert %s] window: '%s' is not a duration from 1s to 31d", n,
                             k->window->value);
    r->count = 1;
    if (k->count && iocd_parse_int(k->count->value, 1, 1000000, &r->count))
        return iocd_error_at(err, file, k->count->line,
                             "[alert %s] count: '%s' is not an integer in 1..1000000", n,
                             k->count->value);
    r->level = r->clear = (double)r->count;
    r->above = true;
    r->per = IOCD_PER_DEVICE;
    if (k->per) {
        if (strcmp(k->per->value, "area") == 0)
            r->per = IOCD_PER_AREA;
        else if (strcmp(k->per->value, "source") == 0)
            r->per = IOCD_PER_SOURCE;
        else if (strcmp(k->per->value, "device") != 0)
            return iocd_error_at(err, file, k->per->line,
                                 "[alert %s] per: '%s' is not device, area or source", n,
                                 k->per->value);
    }
    if (k->min_severity) {
        r->min_severity = iocd_severity_parse(k->min_severity->value);
        if (r->min_severity < 0)
            return iocd_error_at(err, file, k->min_severity->line,
                                 "[alert %s] min_severity: '%s' is not info, warning, minor, "
                                 "major or critical",
                                 n, k->min_severity->value);
    }
    if (k->area && !(r->area = strdup(k->area->value)))
        return iocd_error_set(err, "out of memory");
    if (k->where && read_where(r, k->where, file, n, err))
        return -1;
    /* SOURCE/KIND: two levels (or a '#'). */
    const char *m = r->match, *slash = strchr(m, '/');
    if (!strchr(m, '#') && (!slash || strchr(slash + 1, '/')))
        return iocd_error_at(err, file, k->match->line,
                             "[alert %s] match: '%s' is not SOURCE/KIND (an event rule)", n, m);
    return 0;
}

/* A stale rule: only `multiple` of its own. */
static int read_stale(struct iocd_alert_rule *r, const struct alert_entries *k, const char *file,
                      const char *n, struct iocd_error *err)
{
    const struct iocd_ini_entry *only_stats[] = {k->stat,  k->window, k->above, k->below,
                                                 k->clear, k->bands,  k->hysteresis};
    const char *only_stat_names[] = {"stat", "window", "above", "below", "clear", "bands",
                                     "hysteresis"};
    for (size_t i = 0; i < sizeof(only_stats) / sizeof(only_stats[0]); i++)
        if (only_stats[i])
            return iocd_error_at(err, file, only_stats[i]->line,
                                 "[alert %s] %s: not a key of a stale rule", n,
                                 only_stat_names[i]);
    if (k->multiple && (parse_double(k->multiple->value, &r->multiple) || r->multiple < 1 ||
                        r->multiple > 100000))
        return iocd_error_at(err, file, k->multiple->line,
                             "[alert %s] multiple: '%s' is not a number between 1 and 100000", n,
                             k->multiple->value);
    return 0;
}

/* window and stat of a threshold or band rule. */
static int read_statistic(struct iocd_alert_rule *r, const struct alert_entries *k,
                          const char *file, const char *n, struct iocd_error *err)
{
    if (k->multiple)
        return iocd_error_at(err, file, k->multiple->line,
                             "[alert %s] multiple: only stale rules have it", n);
    if (k->window && (iocd_duration_parse(k->window->value, &r->window_ms) || r->window_ms < 0 ||
                      r->window_ms > INT64_C(31) * 86400000))
        return iocd_error_at(err, file, k->window->line,
                             "[alert %s] window: '%s' is not a duration up to 31d", n,
                             k->window->value);
    if (k->stat) {
        static const char *const stats[] = {"last", "mean", "min", "max", "sum", "count"};
        int found = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(k->stat->value, stats[i]) == 0)
                found = i;
        if (found < 0)
            return iocd_error_at(err, file, k->stat->line,
                                 "[alert %s] stat: '%s' is not last, mean, min, max, sum or count",
                                 n, k->stat->value);
        r->stat = (enum iocd_alert_stat)found;
    }
    if (!k->window || r->window_ms == 0) {
        if (k->stat && r->stat != IOCD_STAT_LAST)
            return iocd_error_at(err, file, k->stat->line,
                                 "[alert %s] stat: '%s' needs a 'window'", n, k->stat->value);
        r->stat = IOCD_STAT_LAST;
    }
    return 0;
}

/* above or below, and clear. */
static int read_threshold(struct iocd_alert_rule *r, const struct alert_entries *k,
                          const char *file, const struct iocd_ini_section *s,
                          struct iocd_error *err)
{
    const char *n = s->arg;
    if (k->bands || k->hysteresis)
        return iocd_error_at(err, file, (k->bands ? k->bands : k->hysteresis)->line,
                             "[alert %s] %s: only band rules have it", n,
                             k->bands ? "bands" : "hysteresis");
    if (!k->above == !k->below)
        return iocd_error_at(err, file, k->above ? k->above->line : s->line,
                             "[alert %s] a threshold rule needs exactly one of 'above' and "
                             "'below'",
                             n);
    const struct iocd_ini_entry *lv = k->above ? k->above : k->below;
    r->above = k->above != NULL;
    if (parse_double(lv->value, &r->level))
        return iocd_error_at(err, file, lv->line, "[alert %s] %s: '%s' is not a number", n,
                             lv->key, lv->value);
    r->clear = r->level;
    if (k->clear) {
        if (parse_double(k->clear->value, &r->clear))
            return iocd_error_at(err, file, k->clear->line,
                                 "[alert %s] clear: '%s' is not a number", n, k->clear->value);
        if (r->above ? r->clear > r->level : r->clear < r->level)
            return iocd_error_at(err, file, k->clear->line,
                                 "[alert %s] clear: %s must be %s the level %g", n,
                                 k->clear->value, r->above ? "at or below" : "at or above",
                                 r->level);
    }
    return 0;
}

/* bands and hysteresis. */
static int read_bands(struct iocd_alert_rule *r, const struct alert_entries *k, const char *file,
                      const struct iocd_ini_section *s, struct iocd_error *err)
{
    const char *n = s->arg;
    const struct iocd_ini_entry *stray = k->above ? k->above : k->below ? k->below : k->clear;
    if (stray)
        return iocd_error_at(err, file, stray->line, "[alert %s] %s: only threshold rules have it",
                             n, stray->key);
    if (!k->bands)
        return iocd_error_at(err, file, s->line, "[alert %s] a band rule needs 'bands'", n);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", k->bands->value);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
        double d;
        if (r->n_bands == IOCD_ALERT_MAX_BANDS)
            return iocd_error_at(err, file, k->bands->line, "[alert %s] bands: at most %d edges",
                                 n, IOCD_ALERT_MAX_BANDS);
        if (parse_double(tok, &d) || (r->n_bands && d <= r->bands[r->n_bands - 1]))
            return iocd_error_at(err, file, k->bands->line,
                                 "[alert %s] bands: '%s' is not a number above the edge before it",
                                 n, tok);
        r->bands[r->n_bands++] = d;
    }
    if (!r->n_bands)
        return iocd_error_at(err, file, k->bands->line, "[alert %s] bands: at least one edge", n);
    if (k->hysteresis && (parse_double(k->hysteresis->value, &r->hysteresis) || r->hysteresis < 0))
        return iocd_error_at(err, file, k->hysteresis->line,
                             "[alert %s] hysteresis: '%s' is not a number >= 0", n,
                             k->hysteresis->value);
    return 0;
}

static int load_alert(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_ini_section *s,
                      struct iocd_error *err)
{
    const char *file = ini->path;
    struct iocd_alert_rule *r = add_rule(cfg, file, s, err);
    if (!r)
        return -1;
    struct alert_entries k;
    if (iocd_keys_read(&k, iocd_alert_keys, iocd_alert_n_keys, NULL, ini, s, err) ||
        read_common(r, &k, file, s, err))
        return -1;
    if (r->type == IOCD_ALERT_STALE)
        return read_stale(r, &k, file, s->arg, err);
    if (r->type == IOCD_ALERT_EVENT)
        return read_event(r, &k, file, s->arg, err);
    if (read_statistic(r, &k, file, s->arg, err))
        return -1;
    if (r->type == IOCD_ALERT_THRESHOLD)
        return read_threshold(r, &k, file, s, err);
    return read_bands(r, &k, file, s, err);
}

int iocd_config_load_alerts(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err)
{
    for (size_t i = 0; i < ini->n_sections; i++)
        if (strcmp(ini->sections[i].name, "alert") == 0 &&
            load_alert(cfg, ini, &ini->sections[i], err))
            return -1;
    return 0;
}

void iocd_config_free_alerts(struct iocd_config *cfg)
{
    for (int i = 0; i < cfg->n_alerts; i++) {
        free(cfg->alerts[i].name);
        free(cfg->alerts[i].match);
        free(cfg->alerts[i].text);
        free(cfg->alerts[i].area);
        for (int w = 0; w < cfg->alerts[i].n_where; w++) {
            free(cfg->alerts[i].where_key[w]);
            free(cfg->alerts[i].where_value[w]);
        }
    }
    free(cfg->alerts);
    cfg->alerts = NULL;
    cfg->n_alerts = 0;
}
