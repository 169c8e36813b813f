/* daemon/config/state_rules.c — the [states] section (docs/states.md).
 *
 * Owns: cfg->state_carry_ms and cfg->state_rules, parsed from `carry =
 * DURATION` and `metric.NAME = STATE, STATE...` keys (each metric's
 * enumerated set: any other state of it is refused, unknown_state), and
 * their fingerprint for reload. Applying them is the pipeline's. */
#include "daemon/config/config.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/base/timeutil.h"
#include "daemon/base/topic.h"

#define STATES_CARRY_DEFAULT_MS INT64_C(86400000)
#define STATES_CARRY_MAX_MS (INT64_C(7) * 86400000)

const struct iocd_key iocd_states_keys[] = {
    {NULL, "carry", IOCD_KEY_ENTRY, 0, NULL, 0, 0,
     "how long a state series' latest state holds without a newer sample, 1s to 7d (default "
     "1d); its time after that is in no state",
     NULL, false},
    {NULL, "metric.NAME", IOCD_KEY_PREFIX, 0, NULL, 0, 0,
     "STATE, STATE...: the only states of metric NAME (at most 16, each 1 to 32 letters, digits, "
     "'_', '-', '.'); any other is rejected as unknown_state",
     NULL, false},
};
const size_t iocd_states_n_keys = sizeof(iocd_states_keys) / sizeof(iocd_states_keys[0]);

/* "on, off,fault" into r->names; 0, or -1 with `why`. */
static int parse_set(struct iocd_state_rule *r, const char *v, const char **why)
{
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (!len || len > IOCD_STATE_RULE_NAME_MAX) {
            *why = "each state is 1 to 32 letters, digits, '_', '-' or '.', comma-separated";
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            char ch = p[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.')) {
                *why = "each state is 1 to 32 letters, digits, '_', '-' or '.', comma-separated";
                return -1;
            }
        }
        if (r->n_names == IOCD_STATE_RULE_MAX) {
            *why = "at most 16 states";
            return -1;
        }
        memcpy(r->names[r->n_names], p, len);
        r->names[r->n_names][len] = '\0';
        for (int k = 0; k < r->n_names; k++)
            if (strcmp(r->names[k], r->names[r->n_names]) == 0) {
                *why = "a state is listed twice";
                return -1;
            }
        r->n_names++;
        p += n;
        if (*p == ',')
            p++;
    }
    if (!r->n_names) {
        *why = "expected STATE, STATE...";
        return -1;
    }
    return 0;
}

int iocd_config_load_states(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err)
{
    const char *file = ini->path;
    struct iocd_ini_section *s = NULL;
    cfg->state_carry_ms = STATES_CARRY_DEFAULT_MS;
    for (size_t i = 0; i < ini->n_sections; i++) {
        struct iocd_ini_section *t = &ini->sections[i];
        if (strcmp(t->name, "states") != 0)
            continue;
        if (t->arg)
            return iocd_error_at(err, file, t->line, "[states] takes no name");
        if (s)
            return iocd_error_at(err, file, t->line, "[states] given twice (first on line %d)",
                                 s->line);
        s = t;
    }
    if (!s)
        return 0;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t j = 0; j < s->n_entries; j++) {
        struct iocd_ini_entry *e = &s->entries[j];
        for (size_t k = 0; k < j; k++)
            if (strcmp(s->entries[k].key, e->key) == 0)
                return iocd_error_at(err, file, e->line, "[states] %s: given twice (first on line %d)",
                                     e->key, s->entries[k].line);
        for (int part = 0; part < 2; part++) {
            const unsigned char *c = (const unsigned char *)(part ? e->value : e->key);
            for (; *c; c++)
                h = (h ^ *c) * 0x100000001b3u;
            h = (h ^ 0xffu) * 0x100000001b3u;
        }
        if (strcmp(e->key, "carry") == 0) {
            if (iocd_duration_parse(e->value, &cfg->state_carry_ms) || cfg->state_carry_ms < 1000 ||
                cfg->state_carry_ms > STATES_CARRY_MAX_MS)
                return iocd_error_at(err, file, e->line,
                                     "[states] carry: '%s' is not a duration from 1s to 7d",
                                     e->value);
            e->used = true;
            continue;
        }
        if (strncmp(e->key, "metric.", 7) != 0)
            continue; /* unknown key: reported with its line */
        const char *metric = e->key + 7;
        if (!iocd_topic_level_ok(metric, strlen(metric)))
            return iocd_error_at(err, file, e->line,
                                 "[states] %s: a metric name is 1 to 128 bytes without '/', '+', "
                                 "'#'",
                                 e->key);
        struct iocd_state_rule *r =
            realloc(cfg->state_rules, (size_t)(cfg->n_state_rules + 1) * sizeof(*r));
        if (!r)
            return iocd_error_set(err, "out of memory");
        cfg->state_rules = r;
        r = &cfg->state_rules[cfg->n_state_rules];
        memset(r, 0, sizeof(*r));
        const char *why = NULL;
        if (parse_set(r, e->value, &why))
            return iocd_error_at(err, file, e->line, "[states] %s = %s: %s", e->key, e->value,
                                 why);
        if (!(r->metric = strdup(metric)))
            return iocd_error_set(err, "out of memory");
        r->line = e->line;
        cfg->n_state_rules++;
        e->used = true;
    }
    cfg->states_fingerprint = h;
    return 0;
}

bool iocd_config_state_allowed(const struct iocd_config *cfg, const char *metric,
                               const char *state)
{
    for (int i = 0; i < cfg->n_state_rules; i++) {
        const struct iocd_state_rule *r = &cfg->state_rules[i];
        if (strcmp(r->metric, metric) != 0)
            continue;
        for (int k = 0; k < r->n_names; k++)
            if (strcmp(r->names[k], state) == 0)
                return true;
        return false;
    }
    return true;
}

void iocd_config_free_states(struct iocd_config *cfg)
{
    for (int i = 0; i < cfg->n_state_rules; i++)
        free(cfg->state_rules[i].metric);
    free(cfg->state_rules);
    cfg->state_rules = NULL;
    cfg->n_state_rules = 0;
}
