/* daemon/pipeline/unit_norm.c — canonical units of series (see unit_norm.h). */
#include "daemon/pipeline/unit_norm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/base/topic.h"

/* Conversions cached per profile: distinct units seen for one canonical
 * unit. Beyond this they are worked out again for every sample (still
 * without allocating). */
#define MAX_CONVS 16
#define BUCKETS 256

struct conv_slot {
    struct conv_slot *next;
    struct iocd_unit_conv c;
    bool ok;
    char from[IOCD_UNIT_MAX + 1];
};

struct rule {
    char *match, *metric; /* owned; one of them NULL */
    char origin[160];     /* "[units] metric.co" */
    struct iocd_unit_rule value;
};

struct iocd_unit_profile {
    struct iocd_unit_profile *next; /* in its bucket */
    const struct rule *rule;        /* declared conversions; NULL: built-in only */
    const char *origin;
    struct conv_slot *convs; /* owned */
    int n_convs;
    char unit[]; /* canonical unit */
};

struct series_slot {
    const struct iocd_unit_profile *profile; /* NULL: not bound */
    const struct conv_slot *last;            /* the last other unit this series got */
};

struct iocd_unit_norm {
    struct rule *rules;
    int n_rules;
    char aqi_source[129];
    char *aqi_metric[6]; /* owned; NULL: not measured */
    struct iocd_unit_profile *buckets[BUCKETS];
    size_t n_profiles;
    struct series_slot *slots; /* by series id; owned */
    size_t n_slots;
    struct conv_slot scratch; /* a conversion not cached (profile full) */
    struct conv_slot refused; /* a unit too long to be any known unit */
    uint64_t kept_stored;     /* stored series whose unit the rules would set otherwise */
};

static void free_rules(struct iocd_unit_norm *n)
{
    for (int i = 0; i < n->n_rules; i++) {
        free(n->rules[i].match);
        free(n->rules[i].metric);
    }
    free(n->rules);
}

void iocd_unit_norm_free(struct iocd_unit_norm *n)
{
    if (!n)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        for (struct iocd_unit_profile *p = n->buckets[b], *np; p; p = np) {
            np = p->next;
            for (struct conv_slot *c = p->convs, *nc; c; c = nc) {
                nc = c->next;
                free(c);
            }
            free(p);
        }
    free_rules(n);
    for (int i = 0; i < 6; i++)
        free(n->aqi_metric[i]);
    free(n->slots);
    free(n);
}

struct iocd_unit_norm *iocd_unit_norm_new(const struct iocd_config *cfg)
{
    struct iocd_unit_norm *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->refused.ok = false;
    if (cfg->n_unit_rules) {
        n->rules = calloc((size_t)cfg->n_unit_rules, sizeof(*n->rules));
        if (!n->rules)
            goto fail;
    }
    for (int i = 0; i < cfg->n_unit_rules; i++) {
        const struct iocd_units_rule *c = &cfg->unit_rules[i];
        struct rule *r = &n->rules[n->n_rules++];
        r->value = c->value;
        if (c->match) {
            snprintf(r->origin, sizeof(r->origin), "[units] series = %.100s (line %d)", c->match,
                     c->line);
            r->match = strdup(c->match);
        } else {
            snprintf(r->origin, sizeof(r->origin), "[units] metric.%.128s", c->metric);
            r->metric = strdup(c->metric);
        }
        if (!r->match && !r->metric)
            goto fail;
    }
    for (int i = 0; cfg->aqi.adapter && i < cfg->n_adapters; i++)
        if (strcmp(cfg->adapters[i].name, cfg->aqi.adapter) == 0)
            snprintf(n->aqi_source, sizeof(n->aqi_source), "%s", cfg->adapters[i].source);
    if (n->aqi_source[0]) {
        const char *m[6] = {cfg->aqi.pm25, cfg->aqi.pm10, cfg->aqi.o3,
                            cfg->aqi.co,   cfg->aqi.so2,  cfg->aqi.no2};
        for (int i = 0; i < 6; i++)
            if (m[i] && m[i][0] && !(n->aqi_metric[i] = strdup(m[i])))
                goto fail;
    }
    return n;
fail:
    iocd_unit_norm_free(n);
    return NULL;
}

static uint64_t hash(const char *unit, const struct rule *r)
{
    uint64_t h = 1469598103934665603u;
    for (; *unit; unit++)
        h = (h ^ (unsigned char)*unit) * 1099511628211u;
    return h ^ (uint64_t)(uintptr_t)r;
}

static const struct iocd_unit_profile *find_profile(const struct iocd_unit_norm *n,
                                                    const char *unit, const struct rule *r,
                                                    const char *origin)
{
    for (const struct iocd_unit_profile *p = n->buckets[hash(unit, r) % BUCKETS]; p; p = p->next)
        if (p->rule == r && p->origin == origin && strcmp(p->unit, unit) == 0)
            return p;
    return NULL;
}

static const struct iocd_unit_profile *intern(struct iocd_unit_norm *n, const char *unit,
                                              const struct rule *r, const char *origin)
{
    const struct iocd_unit_profile *found = find_profile(n, unit, r, origin);
    if (found)
        return found;
    size_t b = hash(unit, r) % BUCKETS;
    if (n->n_profiles >= IOCD_UNIT_NORM_MAX_PROFILES)
        return NULL;
    size_t len = strlen(unit);
    struct iocd_unit_profile *p = calloc(1, sizeof(*p) + len + 1);
    if (!p)
        return NULL;
    memcpy(p->unit, unit, len + 1);
    p->rule = r;
    p->origin = origin;
    p->next = n->buckets[b];
    n->buckets[b] = p;
    n->n_profiles++;
    return p;
}

static const struct rule *match_rule(const struct iocd_unit_norm *n, const char *name,
                                     const char *metric)
{
    for (int i = 0; i < n->n_rules; i++) {
        const struct rule *r = &n->rules[i];
        if (r->match ? iocd_topic_matches(r->match, name) : strcmp(r->metric, metric) == 0)
            return r;
    }
    return NULL;
}

static bool is_aqi(const struct iocd_unit_norm *n, const char *source, size_t ls,
                   const char *metric)
{
    if (!n->aqi_source[0] || strlen(n->aqi_source) != ls || memcmp(source, n->aqi_source, ls))
        return false;
    for (int i = 0; i < 6; i++)
        if (n->aqi_metric[i] && strcmp(n->aqi_metric[i], metric) == 0)
            return true;
    return false;
}

static const char ORIGIN_AQI[] = "[aqi] (VN_AQI reads ug/m3)";
static const char ORIGIN_FIRST[] = "its first sample";
static const char ORIGIN_STORED[] = "the stored series";

/* What the rules and [aqi] declare for series `name` (its source is the
 * part before the first '/'): its unit (NULL: nothing declared), the rule
 * whose conversions apply, and the origin. */
static const char *declared(const struct iocd_unit_norm *n, const char *name, const char *metric,
                            const struct rule **rule, const char **origin)
{
    const struct rule *r = match_rule(n, name, metric);
    if (is_aqi(n, name, strcspn(name, "/"), metric)) {
        *rule = r && strcmp(r->value.unit, "ug/m3") == 0 ? r : NULL;
        *origin = *rule ? (*rule)->origin : ORIGIN_AQI;
        return "ug/m3";
    }
    *rule = r;
    *origin = r ? r->origin : ORIGIN_FIRST;
    return r ? r->value.unit : NULL;
}

const struct iocd_unit_profile *iocd_unit_norm_profile(struct iocd_unit_norm *n,
                                                       const char *source, const char *device,
                                                       const char *metric, const char *unit)
{
    const struct rule *r = NULL;
    const char *origin = ORIGIN_FIRST, *u = NULL;
    if (n->n_rules || n->aqi_source[0]) {
        /* "SOURCE/DEVICE/METRIC" without printf: ids are at most 128 bytes. */
        char name[3 * 129 + 8];
        size_t ls = strlen(source), ld = strlen(device), lm = strlen(metric);
        if (ls + ld + lm + 3 > sizeof(name))
            return NULL;
        memcpy(name, source, ls);
        name[ls] = '/';
        memcpy(name + ls + 1, device, ld);
        name[ls + 1 + ld] = '/';
        memcpy(name + ls + ld + 2, metric, lm + 1);
        u = declared(n, name, metric, &r, &origin);
    }
    if (!u) {
        /* A unit already some series' canonical code needs no table scan. */
        const struct iocd_unit_profile *p = find_profile(n, unit, NULL, ORIGIN_FIRST);
        if (p)
            return p;
        const char *code = iocd_unit_code(unit);
        u = code ? code : unit;
    }
    return intern(n, u, r, origin);
}

const char *iocd_unit_profile_unit(const struct iocd_unit_profile *p)
{
    return p->unit;
}

const char *iocd_unit_profile_origin(const struct iocd_unit_profile *p)
{
    return p->origin;
}

static int grow_slots(struct iocd_unit_norm *n, uint32_t id)
{
    if (id < n->n_slots)
        return 0;
    size_t cap = n->n_slots ? n->n_slots : 1024;
    while (cap <= id)
        cap *= 2;
    struct series_slot *s = realloc(n->slots, cap * sizeof(*s));
    if (!s)
        return -1;
    memset(s + n->n_slots, 0, (cap - n->n_slots) * sizeof(*s));
    n->slots = s;
    n->n_slots = cap;
    return 0;
}

int iocd_unit_norm_bind(struct iocd_unit_norm *n, uint32_t id, const struct iocd_unit_profile *p)
{
    if (grow_slots(n, id))
        return -1;
    n->slots[id] = (struct series_slot){.profile = p, .last = NULL};
    return 0;
}

int iocd_unit_norm_preload(struct iocd_unit_norm *n, uint32_t id, const char *name,
                           const char *unit)
{
    const char *metric = strrchr(name, '/');
    metric = metric ? metric + 1 : name;
    const struct rule *r;
    const char *origin;
    const char *want = declared(n, name, metric, &r, &origin);
    const char *code = iocd_unit_code(unit);
    const char *have = code ? code : unit;
    if (want && strcmp(want, have) != 0) {
        /* Stored data is in its stored unit: that stays canonical. */
        if (n->kept_stored++ < 5)
            iocd_log_warn("ingest",
                          "series %s keeps its stored unit '%s', not '%s' of %s: stored values "
                          "are in '%s' (docs/units.md#changing-a-canonical-unit)",
                          name, unit, want, origin, unit);
        r = NULL;
    }
    const struct iocd_unit_profile *p = intern(n, unit, r, ORIGIN_STORED);
    return p ? iocd_unit_norm_bind(n, id, p) : -1;
}

void iocd_unit_norm_preload_done(struct iocd_unit_norm *n)
{
    if (n->kept_stored > 5)
        iocd_log_warn("ingest", "%llu stored series in all keep a stored unit other than "
                      "[units] or [aqi] declare",
                      (unsigned long long)n->kept_stored);
}

/* The conversion from `unit` into profile p's unit (cached when there is
 * room). */
static const struct conv_slot *lookup(struct iocd_unit_norm *n, struct iocd_unit_profile *p,
                                      const char *unit, bool *cached)
{
    *cached = true;
    for (const struct conv_slot *c = p->convs; c; c = c->next)
        if (strcmp(c->from, unit) == 0)
            return c;
    *cached = false;
    size_t len = strlen(unit);
    if (len > IOCD_UNIT_MAX)
        return &n->refused;
    struct conv_slot *c = p->n_convs < MAX_CONVS ? calloc(1, sizeof(*c)) : NULL;
    if (!c)
        c = &n->scratch;
    c->ok = (p->rule ? iocd_unit_rule_conversion(&p->rule->value, unit, &c->c)
                     : iocd_unit_conversion(unit, p->unit, &c->c)) == 0;
    memcpy(c->from, unit, len + 1);
    if (c != &n->scratch) {
        c->next = p->convs;
        p->convs = c;
        p->n_convs++;
        *cached = true;
    }
    return c;
}

int iocd_unit_norm_convert_profile(struct iocd_unit_norm *n, const struct iocd_unit_profile *p,
                                   const char *unit, double *v)
{
    if (!unit[0] || strcmp(unit, p->unit) == 0)
        return 0;
    bool cached;
    /* Profiles are owned here; callers only see them const. */
    const struct conv_slot *c = lookup(n, (struct iocd_unit_profile *)p, unit, &cached);
    if (!c->ok)
        return -1;
    *v = iocd_unit_conv_apply(&c->c, *v);
    return 0;
}

/* a and b are the same text: units are a few bytes, so a loop here beats
 * a call into the C library on every sample. */
static inline bool same_text(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int iocd_unit_norm_convert(struct iocd_unit_norm *n, uint32_t id, const char *unit, double *v,
                           const char **canonical)
{
    struct series_slot *s = id < n->n_slots ? &n->slots[id] : NULL;
    if (!s || !s->profile) {
        *canonical = unit;
        return 0;
    }
    const struct iocd_unit_profile *p = s->profile;
    *canonical = p->unit;
    if (!unit[0] || same_text(unit, p->unit))
        return 0;
    const struct conv_slot *c = s->last;
    if (!c || !same_text(c->from, unit)) {
        bool cached;
        c = lookup(n, (struct iocd_unit_profile *)p, unit, &cached);
        if (cached)
            s->last = c;
    }
    if (!c->ok)
        return -1;
    *v = iocd_unit_conv_apply(&c->c, *v);
    return 0;
}
