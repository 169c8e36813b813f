/* daemon/config/groups.c — [group NAME] sections into roll-up groups.
 *
 * Owns: the group key table (iocd_group_keys), the checks of a group's keys
 * against its kind, the expansion of a series with {area} into one group
 * per area of the device registry, whether a registry row meets a group's
 * `where` (iocd_group_conf_selects), and cfg->groups (freed by
 * iocd_config_free_groups). Which series belong to a group is decided at
 * run time by daemon/aggregate/groups.c; nothing here reads data. See
 * docs/groups.md. */
#include "daemon/config/config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/topic.h"

#include "daemon/base/timeutil.h"
#include "daemon/config/registry.h"

/* The entries of one section, NULL when absent. */
struct group_entries {
    struct iocd_ini_entry *kind, *members, *where, *series, *stat, *interval, *stale, *state;
};

#define GOFF(field) offsetof(struct group_entries, field)
#define GROUP_KEY(field, help)                                                                     \
    {NULL, #field, IOCD_KEY_ENTRY, GOFF(field), NULL, 0, 0, help, NULL, false}

const struct iocd_key iocd_group_keys[] = {
    GROUP_KEY(kind, "merged (every member sample counted in the group's windows: exact) or "
                    "gauge (a statistic of the members' latest values each interval)"),
    GROUP_KEY(members, "member series patterns SOURCE/DEVICE/METRIC (+ and #), comma-separated"),
    GROUP_KEY(where, "FIELD=VALUE: only members whose device's registry row has it (area, "
                     "ward (= area), subsystem, tag); needs [devices] registry"),
    GROUP_KEY(series, "the group's own series SOURCE/DEVICE/METRIC (e.g. air/city/pm25); "
                      "{area} or {ward} in it: one group per area of the registry"),
    GROUP_KEY(stat, "gauge: sum, mean, min, max or count of the fresh members' latest values "
                    "(default mean)"),
    GROUP_KEY(interval, "gauge: one sample per interval, at its boundary (default 1m)"),
    GROUP_KEY(stale, "gauge: a member counts while its latest value is younger than this "
                     "(default 2 x interval)"),
    GROUP_KEY(state, "gauge, with stat count, over state series: count the fresh members "
                     "whose latest state is this one (docs/states.md)"),
};
const size_t iocd_group_n_keys = sizeof(iocd_group_keys) / sizeof(iocd_group_keys[0]);

static const char *const stat_names[] = {"sum", "mean", "min", "max", "count"};

const char *iocd_group_stat_name(enum iocd_group_stat s)
{
    return (unsigned)s < sizeof(stat_names) / sizeof(stat_names[0]) ? stat_names[s] : "?";
}

/* Registry fields a `where` may name. */
static const char *const where_fields[] = {"area", "ward", "subsystem", "tag"};

/* Whether [devices] registry names a file (it is loaded after the
 * sections, in finish): without one a group selecting by a registry field
 * is refused rather than silently selecting nothing. */
static bool registry_ready(const struct iocd_config *cfg)
{
    return cfg->devices.registry && cfg->devices.registry[0];
}

static struct iocd_group_conf *add_group(struct iocd_config *cfg, const char *file,
                                         const struct iocd_ini_section *s, struct iocd_error *err)
{
    if (!s->arg)
        return iocd_error_at(err, file, s->line, "[group] needs a name: [group NAME]"), NULL;
    if (iocd_config_check_name("group name", s->arg, file, s->line, err))
        return NULL;
    if (cfg->n_groups == IOCD_GROUPS_MAX)
        return iocd_error_at(err, file, s->line, "[group %s]: at most %d groups", s->arg,
                             IOCD_GROUPS_MAX),
               NULL;
    for (int i = 0; i < cfg->n_groups; i++)
        if (strcmp(cfg->groups[i].name, s->arg) == 0)
            return iocd_error_at(err, file, s->line,
                                 "[group %s] defined twice (first on line %d)", s->arg,
                                 cfg->groups[i].line),
                   NULL;
    struct iocd_group_conf *g = realloc(cfg->groups, (size_t)(cfg->n_groups + 1) * sizeof(*g));
    if (!g)
        return iocd_error_set(err, "out of memory"), NULL;
    cfg->groups = g;
    g = &cfg->groups[cfg->n_groups++];
    memset(g, 0, sizeof(*g));
    g->line = s->line;
    g->fingerprint = iocd_config_section_fingerprint(s);
    if (!(g->name = strdup(s->arg)))
        return iocd_error_set(err, "out of memory"), NULL;
    return g;
}

/* members: comma-separated patterns, each a filter over three levels. */
static int read_members(struct iocd_group_conf *g, const struct iocd_ini_entry *e,
                        const char *file, struct iocd_error *err)
{
    char buf[2048];
    if (strlen(e->value) >= sizeof(buf))
        return iocd_error_at(err, file, e->line, "[group %s] members: too long", g->name);
    strcpy(buf, e->value);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t end = strlen(tok);
        while (end && (tok[end - 1] == ' ' || tok[end - 1] == '\t'))
            tok[--end] = '\0';
        if (iocd_config_check_topic_filter(tok, file, e->line, err))
            return -1;
        int levels = 1;
        for (const char *c = tok; *c; c++)
            levels += *c == '/';
        if (levels > 3 || (levels < 3 && tok[end - 1] != '#'))
            return iocd_error_at(err, file, e->line,
                                 "[group %s] members: '%s' is not a pattern over "
                                 "SOURCE/DEVICE/METRIC",
                                 g->name, tok);
        if (g->n_members == IOCD_GROUP_MAX_MEMBERS)
            return iocd_error_at(err, file, e->line, "[group %s] members: at most %d patterns",
                                 g->name, IOCD_GROUP_MAX_MEMBERS);
        if (!(g->members[g->n_members++] = strdup(tok)))
            return iocd_error_set(err, "out of memory");
    }
    if (!g->n_members)
        return iocd_error_at(err, file, e->line, "[group %s] members: no pattern", g->name);
    return 0;
}

/* where = FIELD=VALUE (one condition). */
static int read_where(struct iocd_config *cfg, struct iocd_group_conf *g,
                      const struct iocd_ini_entry *e, const char *file, struct iocd_error *err)
{
    const char *eq = strchr(e->value, '=');
    size_t fl = eq ? (size_t)(eq - e->value) : 0;
    while (fl && (e->value[fl - 1] == ' ' || e->value[fl - 1] == '\t'))
        fl--;
    const char *v = eq ? eq + 1 : "";
    while (*v == ' ' || *v == '\t')
        v++;
    bool known = false;
    for (size_t i = 0; i < sizeof(where_fields) / sizeof(where_fields[0]); i++)
        known |= strlen(where_fields[i]) == fl && strncmp(where_fields[i], e->value, fl) == 0;
    if (!eq || !*v || !known)
        return iocd_error_at(err, file, e->line,
                             "[group %s] where: '%s' is not FIELD=VALUE with FIELD area, ward, "
                             "subsystem or tag",
                             g->name, e->value);
    g->where_field = strndup(e->value, fl);
    g->where_value = strdup(v);
    if (!g->where_field || !g->where_value)
        return iocd_error_set(err, "out of memory");
    if (!registry_ready(cfg))
        return iocd_error_at(err, file, e->line,
                             "[group %s] where: selecting members by %s needs the device "
                             "registry ([devices] registry = FILE)",
                             g->name, g->where_field);
    return 0;
}

/* One level of a series name (iocd_topic_level_ok). */
static bool valid_id(const char *s)
{
    return iocd_topic_level_ok(s, strlen(s));
}

/* series = SOURCE/DEVICE/METRIC, three valid ids. */
static int read_series(struct iocd_group_conf *g, const struct iocd_ini_entry *e,
                       const char *file, struct iocd_error *err)
{
    char *copy = strdup(e->value);
    if (!copy || !(g->series = strdup(e->value))) {
        free(copy);
        return iocd_error_set(err, "out of memory");
    }
    g->source = copy;
    char *d = strchr(copy, '/'), *m = d ? strchr(d + 1, '/') : NULL;
    if (d)
        *d++ = '\0';
    if (m)
        *m++ = '\0';
    if (!d || !m || !valid_id(copy) || !valid_id(d) || !valid_id(m))
        return iocd_error_at(err, file, e->line,
                             "[group %s] series: '%s' is not SOURCE/DEVICE/METRIC (three ids "
                             "without + or #)",
                             g->name, e->value);
    g->device = d;
    g->metric = m;
    g->per_area = strstr(e->value, "{area}") || strstr(e->value, "{ward}");
    return 0;
}

/* stat, interval and stale: a gauge's own. */
static int read_gauge(struct iocd_group_conf *g, const struct group_entries *k,
                      const char *file, struct iocd_error *err)
{
    g->stat = IOCD_GROUP_MEAN;
    if (k->stat) {
        size_t i = 0, n = sizeof(stat_names) / sizeof(stat_names[0]);
        while (i < n && strcmp(stat_names[i], k->stat->value) != 0)
            i++;
        if (i == n)
            return iocd_error_at(err, file, k->stat->line,
                                 "[group %s] stat: '%s' is not sum, mean, min, max or count",
                                 g->name, k->stat->value);
        g->stat = (enum iocd_group_stat)i;
    }
    if (k->state) {
        bool ok = k->state->value[0] && strlen(k->state->value) <= 32;
        for (const char *c = k->state->value; *c && ok; c++)
            ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == '-' || *c == '.';
        if (!ok)
            return iocd_error_at(err, file, k->state->line,
                                 "[group %s] state: '%s' is not 1 to 32 letters, digits, '_', "
                                 "'-' or '.'",
                                 g->name, k->state->value);
        if (k->stat && g->stat != IOCD_GROUP_COUNT)
            return iocd_error_at(err, file, k->state->line,
                                 "[group %s] state: counts members in a state, so stat is count "
                                 "(or left out), not %s",
                                 g->name, k->stat->value);
        g->stat = IOCD_GROUP_COUNT;
        if (!(g->state = strdup(k->state->value)))
            return iocd_error_set(err, "out of memory");
    }
    g->interval_ms = 60000;
    if (k->interval &&
        (iocd_duration_parse(k->interval->value, &g->interval_ms) || g->interval_ms < 1000 ||
         g->interval_ms > 86400000 || g->interval_ms % 1000))
        return iocd_error_at(err, file, k->interval->line,
                             "[group %s] interval: '%s' is not whole seconds from 1s to 1d",
                             g->name, k->interval->value);
    g->stale_ms = 2 * g->interval_ms;
    if (k->stale && (iocd_duration_parse(k->stale->value, &g->stale_ms) ||
                     g->stale_ms < 1000 || g->stale_ms > INT64_C(7) * 86400000))
        return iocd_error_at(err, file, k->stale->line,
                             "[group %s] stale: '%s' is not a duration from 1s to 7d", g->name,
                             k->stale->value);
    return 0;
}

static int load_group(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_ini_section *s,
                      struct iocd_error *err)
{
    const char *file = ini->path;
    struct iocd_group_conf *g = add_group(cfg, file, s, err);
    if (!g)
        return -1;
    struct group_entries k;
    if (iocd_keys_read(&k, iocd_group_keys, iocd_group_n_keys, NULL, ini, s, err))
        return -1;
    if (!k.kind)
        return iocd_error_at(err, file, s->line, "[group %s] has no 'kind' (merged or gauge)",
                             g->name);
    if (strcmp(k.kind->value, "merged") == 0)
        g->kind = IOCD_GROUP_MERGED;
    else if (strcmp(k.kind->value, "gauge") == 0)
        g->kind = IOCD_GROUP_GAUGE;
    else
        return iocd_error_at(err, file, k.kind->line,
                             "[group %s] kind: '%s' is not merged or gauge", g->name,
                             k.kind->value);
    if (!k.members && !k.where)
        return iocd_error_at(err, file, s->line,
                             "[group %s] has no 'members' (series patterns such as "
                             "air/+/pm25)",
                             g->name);
    if (k.members && read_members(g, k.members, file, err))
        return -1;
    if (k.where && read_where(cfg, g, k.where, file, err))
        return -1;
    if (!k.series)
        return iocd_error_at(err, file, s->line,
                             "[group %s] has no 'series' (its own SOURCE/DEVICE/METRIC, e.g. "
                             "air/city/pm25)",
                             g->name);
    if (read_series(g, k.series, file, err))
        return -1;
    if (g->per_area && !registry_ready(cfg))
        return iocd_error_at(err, file, k.series->line,
                             "[group %s] series: {area} makes one group per area of the device "
                             "registry, and there is none ([devices] registry = FILE)",
                             g->name);
    if (g->kind == IOCD_GROUP_GAUGE)
        return read_gauge(g, &k, file, err);
    const struct iocd_ini_entry *own[] = {k.stat, k.interval, k.stale, k.state};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (own[i])
            return iocd_error_at(err, file, own[i]->line,
                                 "[group %s] %s: only gauge groups have it (a merged group "
                                 "counts every member sample)",
                                 g->name, own[i]->key);
    return 0;
}

int iocd_config_load_groups(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err)
{
    for (size_t i = 0; i < ini->n_sections; i++)
        if (strcmp(ini->sections[i].name, "group") == 0 &&
            load_group(cfg, ini, &ini->sections[i], err))
            return -1;
    return 0;
}

bool iocd_group_conf_selects(const struct iocd_group_conf *g, const struct iocd_registry_entry *e)
{
    if (!g->where_field && !g->area)
        return true;
    if (!e)
        return false; /* an unregistered device has no area, subsystem or tag */
    if (g->area && strcmp(e->area, g->area) != 0)
        return false;
    if (!g->where_field)
        return true;
    if (strcmp(g->where_field, "tag") == 0)
        return iocd_registry_has_tag(e, g->where_value);
    const char *have = strcmp(g->where_field, "subsystem") == 0 ? e->subsystem : e->area;
    return strcmp(have, g->where_value) == 0;
}

/* `in` with each {area} and {ward} replaced by `area`; NULL out of memory. */
static char *subst_area(const char *in, const char *area)
{
    size_t al = strlen(area), n = strlen(in) + 1;
    for (const char *p = in; (p = strchr(p, '{')); p++)
        if (strncmp(p, "{area}", 6) == 0 || strncmp(p, "{ward}", 6) == 0)
            n += al;
    char *out = malloc(n), *o = out;
    if (!out)
        return NULL;
    for (const char *p = in; *p;)
        if (strncmp(p, "{area}", 6) == 0 || strncmp(p, "{ward}", 6) == 0) {
            memcpy(o, area, al);
            o += al;
            p += 6;
        } else {
            *o++ = *p++;
        }
    *o = '\0';
    return out;
}

/* Group `t` as `src` for one area: every string its own. */
static int clone_for_area(struct iocd_group_conf *t, const struct iocd_group_conf *src,
                          const char *area, const char *file, struct iocd_error *err)
{
    *t = *src;
    t->name = t->where_field = t->where_value = t->series = t->source = t->state = NULL;
    for (int m = 0; m < t->n_members; m++)
        t->members[m] = NULL;
    size_t nl = strlen(src->name) + 1 + strlen(area) + 1;
    if (!(t->name = malloc(nl)) || !(t->area = strdup(area)) ||
        !(t->series = subst_area(src->series, area)) || !(t->source = strdup(t->series)))
        return iocd_error_set(err, "out of memory");
    snprintf(t->name, nl, "%s:%s", src->name, area);
    for (int m = 0; m < t->n_members; m++)
        if (!(t->members[m] = strdup(src->members[m])))
            return iocd_error_set(err, "out of memory");
    if (src->where_field &&
        (!(t->where_field = strdup(src->where_field)) || !(t->where_value = strdup(src->where_value))))
        return iocd_error_set(err, "out of memory");
    if (src->state && !(t->state = strdup(src->state)))
        return iocd_error_set(err, "out of memory");
    char *d = strchr(t->source, '/'), *m = strchr(d + 1, '/');
    *d++ = '\0';
    *m++ = '\0';
    t->device = d;
    t->metric = m;
    if (!valid_id(t->source) || !valid_id(d) || !valid_id(m))
        return iocd_error_at(err, file, src->line,
                             "[group %s] series: for area '%s', '%s' is not SOURCE/DEVICE/METRIC "
                             "(each id 1 to 128 bytes)",
                             src->name, area, t->series);
    return 0;
}

static void free_group(struct iocd_group_conf *g)
{
    free(g->name);
    for (int m = 0; m < g->n_members; m++)
        free(g->members[m]);
    free(g->where_field);
    free(g->where_value);
    free(g->area);
    free(g->state);
    free(g->series);
    free(g->source);
}

/* The groups of a section with {area}, one per distinct area. */
static int expand_one(struct iocd_config *cfg, const struct iocd_group_conf *src,
                      struct iocd_group_conf **out, int *n_out, const char *file,
                      struct iocd_error *err)
{
    const struct iocd_registry *r = cfg->devices.registry_data;
    int made = 0, first = *n_out;
    /* Rows x areas made so far (at most IOCD_GROUPS_MAX): not rows x rows. */
    for (size_t i = 0; i < iocd_registry_count(r); i++) {
        const char *area = iocd_registry_at(r, i)->area;
        bool seen = !area[0];
        for (int j = first; !seen && j < *n_out; j++)
            seen = strcmp((*out)[j].area, area) == 0;
        if (seen)
            continue;
        if (*n_out == IOCD_GROUPS_MAX)
            return iocd_error_at(err, file, src->line,
                                 "[group %s]: one group per area makes more than %d groups",
                                 src->name, IOCD_GROUPS_MAX);
        struct iocd_group_conf *t = &(*out)[(*n_out)++];
        memset(t, 0, sizeof(*t));
        if (clone_for_area(t, src, area, file, err))
            return -1;
        made++;
    }
    if (!made)
        return iocd_error_at(err, file, src->line,
                             "[group %s] series: {area}, but no device of the registry has an "
                             "area",
                             src->name);
    return 0;
}

int iocd_config_expand_groups(struct iocd_config *cfg, struct iocd_error *err)
{
    const char *file = cfg->path ? cfg->path : "(defaults)";
    bool any = false;
    for (int i = 0; i < cfg->n_groups; i++)
        any |= cfg->groups[i].per_area;
    if (any) {
        struct iocd_group_conf *out = calloc(IOCD_GROUPS_MAX, sizeof(*out));
        int n = 0, rc = 0;
        if (!out)
            return iocd_error_set(err, "out of memory");
        for (int i = 0; rc == 0 && i < cfg->n_groups; i++) {
            if (!cfg->groups[i].per_area) {
                out[n++] = cfg->groups[i]; /* moved */
                memset(&cfg->groups[i], 0, sizeof(cfg->groups[i]));
                continue;
            }
            rc = expand_one(cfg, &cfg->groups[i], &out, &n, file, err);
        }
        iocd_config_free_groups(cfg); /* what was not moved */
        cfg->groups = out;
        cfg->n_groups = n;
        if (rc)
            return -1;
    }
    /* One series, one group: two groups writing one series would mix. */
    for (int i = 0; i < cfg->n_groups; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->groups[i].series, cfg->groups[j].series) == 0)
                return iocd_error_at(err, file, cfg->groups[i].line,
                                     "[group %s] series: '%s' is already [group %s]'s",
                                     cfg->groups[i].name, cfg->groups[i].series,
                                     cfg->groups[j].name);
    return 0;
}

void iocd_config_free_groups(struct iocd_config *cfg)
{
    for (int i = 0; i < cfg->n_groups; i++)
        free_group(&cfg->groups[i]);
    free(cfg->groups);
    cfg->groups = NULL;
    cfg->n_groups = 0;
}
