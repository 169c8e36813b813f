/* daemon/config/unit_rules.c — the [units] section (docs/units.md).
 *
 * Owns: cfg->unit_rules, parsed from `metric.NAME = UNIT[, FROM * FACTOR]...`
 * keys and repeatable `series = PATTERN UNIT[, ...]` lines (INI keys
 * cannot hold '/', '+' or '#'), their fingerprint for reload,
 * and the check that no rule gives the VN_AQI pollutants of the [aqi] feed
 * a unit other than ug/m3. Never touches series or the store: applying the
 * rules is daemon/pipeline/unit_norm.c's. */
#include "daemon/config/config.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/base/topic.h"

const struct iocd_key iocd_units_keys[] = {
    {NULL, "series", IOCD_KEY_ENTRY, 0, NULL, 0, 0,
     "PATTERN UNIT[, FROM * FACTOR]... (repeatable): the canonical unit of the series "
     "SOURCE/DEVICE/METRIC matching PATTERN (+ one level, # the rest) and conversions declared "
     "into it; the first matching line wins",
     NULL, false},
    {NULL, "metric.NAME", IOCD_KEY_PREFIX, 0, NULL, 0, 0,
     "UNIT[, FROM * FACTOR]...: the same for every series of metric NAME, after the series "
     "lines",
     NULL, false},
};
const size_t iocd_units_n_keys = sizeof(iocd_units_keys) / sizeof(iocd_units_keys[0]);

static bool valid_metric(const char *s)
{
    return iocd_topic_level_ok(s, strlen(s));
}

static int add_rule(struct iocd_config *cfg, const char *file, struct iocd_ini_entry *e,
                    bool series, struct iocd_error *err)
{
    /* series = PATTERN REST; metric.NAME = REST */
    char pattern[1025];
    const char *arg = series ? pattern : e->key + 7, *rest = e->value;
    if (series) {
        size_t n = strcspn(e->value, " \t");
        if (n == 0 || n >= sizeof(pattern) || !e->value[n])
            return iocd_error_at(err, file, e->line,
                                 "[units] series = %s: expected 'PATTERN UNIT[, FROM * FACTOR]...'",
                                 e->value);
        memcpy(pattern, e->value, n);
        pattern[n] = '\0';
        rest = e->value + n;
        if (iocd_config_check_topic_filter(pattern, file, e->line, err))
            return -1;
    } else if (!valid_metric(arg)) {
        return iocd_error_at(err, file, e->line,
                             "[units] %s: a metric name is 1 to 128 bytes without '/', '+', '#'",
                             e->key);
    }
    struct iocd_units_rule *r =
        realloc(cfg->unit_rules, (size_t)(cfg->n_unit_rules + 1) * sizeof(*r));
    if (!r)
        return iocd_error_set(err, "out of memory");
    cfg->unit_rules = r;
    r = &cfg->unit_rules[cfg->n_unit_rules];
    memset(r, 0, sizeof(*r));
    char why[160];
    if (iocd_unit_rule_parse(rest, &r->value, why, sizeof(why)))
        return iocd_error_at(err, file, e->line, "[units] %s = %s: %s", e->key, e->value, why);
    r->line = e->line;
    char *s = strdup(arg);
    if (!s)
        return iocd_error_set(err, "out of memory");
    *(series ? &r->match : &r->metric) = s;
    cfg->n_unit_rules++;
    e->used = true;
    return 0;
}

static bool rule_matches(const struct iocd_units_rule *r, const char *name, const char *metric)
{
    return r->match ? iocd_topic_matches(r->match, name) : strcmp(r->metric, metric) == 0;
}

const struct iocd_units_rule *iocd_config_units_match(const struct iocd_config *cfg,
                                                      const char *name, const char *metric)
{
    for (int i = 0; i < cfg->n_unit_rules; i++)
        if (rule_matches(&cfg->unit_rules[i], name, metric))
            return &cfg->unit_rules[i];
    return NULL;
}

/* VN_AQI reads its pollutants in ug/m3 (docs/vn_aqi.md): a rule that
 * would give them another unit is a mistake. */
static int check_aqi(const struct iocd_config *cfg, const char *file, struct iocd_error *err)
{
    const char *source = NULL;
    for (int i = 0; i < cfg->n_adapters; i++)
        if (cfg->aqi.adapter && strcmp(cfg->adapters[i].name, cfg->aqi.adapter) == 0)
            source = cfg->adapters[i].source;
    if (!source)
        return 0;
    const char *pollutants[] = {cfg->aqi.pm25, cfg->aqi.pm10, cfg->aqi.o3,
                                cfg->aqi.co,   cfg->aqi.so2,  cfg->aqi.no2};
    for (size_t p = 0; p < sizeof(pollutants) / sizeof(pollutants[0]); p++) {
        if (!pollutants[p] || !pollutants[p][0])
            continue;
        char probe[400];
        snprintf(probe, sizeof(probe), "%s/+/%s", source, pollutants[p]);
        for (int i = 0; i < cfg->n_unit_rules; i++) {
            const struct iocd_units_rule *r = &cfg->unit_rules[i];
            if (rule_matches(r, probe, pollutants[p]) && strcmp(r->value.unit, "ug/m3") != 0)
                return iocd_error_at(err, file, r->line,
                                     "[units] %s%s: series %s feed VN_AQI ([aqi] adapter %s), "
                                     "which reads ug/m3; their canonical unit must be ug/m3 "
                                     "(declare conversions into it instead)",
                                     r->match ? "series = " : "metric.",
                                     r->match ? r->match : r->metric, probe, cfg->aqi.adapter);
        }
    }
    return 0;
}

int iocd_config_load_units(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err)
{
    const char *file = ini->path;
    struct iocd_ini_section *s = NULL;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < ini->n_sections; i++) {
        struct iocd_ini_section *t = &ini->sections[i];
        if (strcmp(t->name, "units") != 0)
            continue;
        if (t->arg)
            return iocd_error_at(err, file, t->line, "[units] takes no name");
        if (s)
            return iocd_error_at(err, file, t->line, "[units] given twice (first on line %d)",
                                 s->line);
        s = t;
    }
    if (!s)
        return check_aqi(cfg, file, err);
    for (size_t j = 0; j < s->n_entries; j++) {
        for (size_t k = 0; k < j; k++)
            if (strcmp(s->entries[j].key, "series") != 0 &&
                strcmp(s->entries[k].key, s->entries[j].key) == 0)
                return iocd_error_at(err, file, s->entries[j].line,
                                     "key '%s' given twice (first on line %d)",
                                     s->entries[j].key, s->entries[k].line);
        for (int part = 0; part < 2; part++) {
            const unsigned char *c =
                (const unsigned char *)(part ? s->entries[j].value : s->entries[j].key);
            for (; *c; c++)
                h = (h ^ *c) * 0x100000001b3u;
            h = (h ^ 0xffu) * 0x100000001b3u;
        }
    }
    cfg->units_fingerprint = h;
    /* series lines first (the more specific), then metric. keys; keys
     * of neither kind stay unused: "unknown key" with their line. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < s->n_entries; j++) {
            struct iocd_ini_entry *e = &s->entries[j];
            bool take = pass == 0 ? strcmp(e->key, "series") == 0
                                  : strncmp(e->key, "metric.", 7) == 0;
            if (take && add_rule(cfg, file, e, pass == 0, err))
                return -1;
        }
    return check_aqi(cfg, file, err);
}

void iocd_config_free_units(struct iocd_config *cfg)
{
    for (int i = 0; i < cfg->n_unit_rules; i++) {
        free(cfg->unit_rules[i].match);
        free(cfg->unit_rules[i].metric);
    }
    free(cfg->unit_rules);
    cfg->unit_rules = NULL;
    cfg->n_unit_rules = 0;
}
