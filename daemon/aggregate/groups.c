/* daemon/aggregate/groups.c — roll-ups across devices (see groups.h).
 *
 * Owns: the per-series membership table (one int32 per series id: none,
 * the index of an interned set of groups, or "the own series of group g"),
 * the interned sets, each group's own series id, and the gauges' member
 * lists, latest values and interval clocks. Pattern matching happens only
 * in iocd_groups_resolve, once per series; a sample costs one array read. */
#include "daemon/aggregate/groups.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/aggregate/states.h"
#include "daemon/base/topic.h"
#include "daemon/config/registry.h"

#define NONE (-1)
/* kind_of[id] <= OWNER_BASE: the own series of group OWNER_BASE - value. */
#define OWNER_BASE (-2)

struct set {
    uint32_t off; /* into items */
    uint16_t n;
};

struct latest {
    double v;
    int64_t t; /* observation time; INT64_MIN: no value yet */
};

struct gauge {
    uint32_t *members; /* series ids; owned */
    size_t n, cap;
    int64_t next_ms; /* the next boundary to emit; 0: not armed yet */
    int64_t last_ms; /* the newest boundary emitted (or stored); INT64_MIN: none */
};

struct iocd_groups {
    const struct iocd_config *cfg; /* borrowed */
    int n_groups;
    int32_t *kind_of; /* per series id; owned */
    struct latest *latest; /* per series id, only with a gauge group; owned */
    size_t n_ids;
    struct set *sets;
    size_t n_sets, cap_sets;
    uint16_t *items;
    size_t n_items, cap_items;
    uint32_t *series_id; /* per group */
    bool *has_series;    /* per group */
    struct gauge *gauges; /* per group (used by gauge groups) */
    bool any_gauge;
    const struct iocd_states *states; /* borrowed; for gauges with a state */
};

struct iocd_groups *iocd_groups_new(const struct iocd_config *cfg)
{
    struct iocd_groups *gs = calloc(1, sizeof(*gs));
    if (!gs)
        return NULL;
    gs->cfg = cfg;
    gs->n_groups = cfg->n_groups;
    size_t ng = cfg->n_groups > 0 ? (size_t)cfg->n_groups : 1;
    gs->series_id = calloc(ng, sizeof(*gs->series_id));
    gs->has_series = calloc(ng, sizeof(*gs->has_series));
    gs->gauges = calloc(ng, sizeof(*gs->gauges));
    if (!gs->series_id || !gs->has_series || !gs->gauges) {
        iocd_groups_free(gs);
        return NULL;
    }
    for (int g = 0; g < cfg->n_groups; g++) {
        gs->gauges[g].last_ms = INT64_MIN;
        gs->any_gauge |= cfg->groups[g].kind == IOCD_GROUP_GAUGE;
    }
    return gs;
}

void iocd_groups_free(struct iocd_groups *gs)
{
    if (!gs)
        return;
    for (int g = 0; gs->gauges && g < gs->n_groups; g++)
        free(gs->gauges[g].members);
    free(gs->gauges);
    free(gs->kind_of);
    free(gs->latest);
    free(gs->sets);
    free(gs->items);
    free(gs->series_id);
    free(gs->has_series);
    free(gs);
}

/* Room for series id `id` in the per-series tables. */
static int grow_ids(struct iocd_groups *gs, uint32_t id)
{
    if (id < gs->n_ids)
        return 0;
    size_t n = gs->n_ids ? gs->n_ids : 1024;
    while (n <= id)
        n *= 2;
    int32_t *k = realloc(gs->kind_of, n * sizeof(*k));
    if (!k)
        return -1;
    gs->kind_of = k;
    for (size_t i = gs->n_ids; i < n; i++)
        k[i] = NONE;
    if (gs->any_gauge) {
        struct latest *l = realloc(gs->latest, n * sizeof(*l));
        if (!l)
            return -1; /* kind_of grew: harmless, n_ids stays */
        gs->latest = l;
        for (size_t i = gs->n_ids; i < n; i++)
            l[i] = (struct latest){.v = 0, .t = INT64_MIN};
    }
    gs->n_ids = n;
    return 0;
}

/* The index of the set holding exactly list[0..n), added if new; -1 OOM. */
static int32_t intern(struct iocd_groups *gs, const uint16_t *list, uint16_t n)
{
    for (size_t s = 0; s < gs->n_sets; s++)
        if (gs->sets[s].n == n &&
            memcmp(gs->items + gs->sets[s].off, list, n * sizeof(*list)) == 0)
            return (int32_t)s;
    if (gs->n_sets == gs->cap_sets) {
        size_t c = gs->cap_sets ? gs->cap_sets * 2 : 8;
        struct set *ns = realloc(gs->sets, c * sizeof(*ns));
        if (!ns)
            return -1;
        gs->sets = ns;
        gs->cap_sets = c;
    }
    if (gs->n_items + n > gs->cap_items) {
        size_t c = gs->cap_items ? gs->cap_items : 32;
        while (c < gs->n_items + n)
            c *= 2;
        uint16_t *ni = realloc(gs->items, c * sizeof(*ni));
        if (!ni)
            return -1;
        gs->items = ni;
        gs->cap_items = c;
    }
    memcpy(gs->items + gs->n_items, list, n * sizeof(*list));
    gs->sets[gs->n_sets] = (struct set){.off = (uint32_t)gs->n_items, .n = n};
    gs->n_items += n;
    return (int32_t)gs->n_sets++;
}

static int add_gauge_member(struct gauge *ga, uint32_t id)
{
    for (size_t i = 0; i < ga->n; i++)
        if (ga->members[i] == id)
            return 0;
    if (ga->n == ga->cap) {
        size_t c = ga->cap ? ga->cap * 2 : 16;
        uint32_t *nm = realloc(ga->members, c * sizeof(*nm));
        if (!nm)
            return -1;
        ga->members = nm;
        ga->cap = c;
    }
    ga->members[ga->n++] = id;
    return 0;
}

int iocd_groups_resolve(struct iocd_groups *gs, uint32_t id, const char *name)
{
    if (!gs || !gs->n_groups)
        return 0;
    if (grow_ids(gs, id))
        return -1;
    const struct iocd_config *cfg = gs->cfg;
    for (int g = 0; g < gs->n_groups; g++)
        if (strcmp(cfg->groups[g].series, name) == 0) {
            gs->kind_of[id] = OWNER_BASE - g;
            gs->series_id[g] = id;
            gs->has_series[g] = true;
            return 0;
        }
    uint16_t list[IOCD_GROUPS_MAX];
    uint16_t n = 0;
    /* The series' device in the registry, looked up once, when a group
     * selects by a registry field (where, {area}). */
    const struct iocd_registry_entry *row = NULL;
    bool looked_up = false;
    for (int g = 0; g < gs->n_groups && n < IOCD_GROUPS_MAX; g++) {
        /* A name that is some group's own series never gets here. */
        bool in = false;
        for (int m = 0; !in && m < cfg->groups[g].n_members; m++)
            in = iocd_topic_matches(cfg->groups[g].members[m], name);
        if (in && (cfg->groups[g].where_field || cfg->groups[g].area)) {
            if (!looked_up) {
                char src[IOCD_REGISTRY_ID_MAX + 1], dev[IOCD_REGISTRY_ID_MAX + 1];
                size_t ls = strcspn(name, "/");
                const char *d = name[ls] ? name + ls + 1 : "";
                size_t ld = strcspn(d, "/");
                if (ls < sizeof(src) && ld < sizeof(dev)) {
                    memcpy(src, name, ls);
                    src[ls] = '\0';
                    memcpy(dev, d, ld);
                    dev[ld] = '\0';
                    row = iocd_registry_find(cfg->devices.registry_data, src, dev);
                }
                looked_up = true;
            }
            in = iocd_group_conf_selects(&cfg->groups[g], row);
        }
        if (!in)
            continue;
        list[n++] = (uint16_t)g;
        if (cfg->groups[g].kind == IOCD_GROUP_GAUGE && add_gauge_member(&gs->gauges[g], id))
            return -1;
    }
    if (!n) {
        gs->kind_of[id] = NONE;
        return 0;
    }
    int32_t s = intern(gs, list, n);
    if (s < 0)
        return -1;
    gs->kind_of[id] = s;
    return 0;
}

int iocd_groups_owner(const struct iocd_groups *gs, uint32_t id)
{
    if (!gs || id >= gs->n_ids || gs->kind_of[id] > OWNER_BASE)
        return -1;
    return OWNER_BASE - gs->kind_of[id];
}

const uint16_t *iocd_groups_of(const struct iocd_groups *gs, uint32_t id, size_t *n)
{
    *n = 0;
    if (!gs || id >= gs->n_ids || gs->kind_of[id] < 0)
        return NULL;
    const struct set *s = &gs->sets[gs->kind_of[id]];
    *n = s->n;
    return gs->items + s->off;
}

bool iocd_groups_series_id(const struct iocd_groups *gs, int g, uint32_t *id)
{
    if (!gs || g < 0 || g >= gs->n_groups || !gs->has_series[g])
        return false;
    *id = gs->series_id[g];
    return true;
}

void iocd_groups_set_states(struct iocd_groups *gs, const struct iocd_states *states)
{
    if (gs)
        gs->states = states;
}

void iocd_groups_note(struct iocd_groups *gs, uint32_t id, double v, int64_t t_ms)
{
    if (!gs || !gs->latest || id >= gs->n_ids || gs->kind_of[id] < 0)
        return;
    struct latest *l = &gs->latest[id];
    if (l->t == INT64_MIN || t_ms >= l->t)
        *l = (struct latest){.v = v, .t = t_ms};
}

void iocd_groups_emitted(struct iocd_groups *gs, int g, int64_t t_ms)
{
    if (gs && g >= 0 && g < gs->n_groups && t_ms > gs->gauges[g].last_ms)
        gs->gauges[g].last_ms = t_ms;
}

bool iocd_groups_gauge_value(const struct iocd_groups *gs, int g, int64_t t_ms, double *value,
                             size_t *n_fresh)
{
    const struct iocd_group_conf *c = &gs->cfg->groups[g];
    const struct gauge *ga = &gs->gauges[g];
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    size_t n = 0, in_state = 0;
    for (size_t i = 0; i < ga->n; i++) {
        if (c->state) {
            /* A state member: its latest state, as the state series keep it
             * (restored at start with them). */
            int64_t t;
            const char *s = iocd_states_latest(gs->states, ga->members[i], &t);
            if (!s || t <= t_ms - c->stale_ms)
                continue;
            n++;
            in_state += strcmp(s, c->state) == 0;
            continue;
        }
        if (iocd_states_has(gs->states, ga->members[i]))
            continue; /* a state has no value to sum, average or count */
        const struct latest *l = &gs->latest[ga->members[i]];
        if (l->t == INT64_MIN || l->t <= t_ms - c->stale_ms)
            continue;
        n++;
        sum += l->v;
        lo = l->v < lo ? l->v : lo;
        hi = l->v > hi ? l->v : hi;
    }
    *n_fresh = n;
    if (!n)
        return false;
    switch (c->stat) {
    case IOCD_GROUP_SUM: *value = sum; break;
    case IOCD_GROUP_MEAN: *value = sum / (double)n; break;
    case IOCD_GROUP_MIN: *value = lo; break;
    case IOCD_GROUP_MAX: *value = hi; break;
    case IOCD_GROUP_COUNT: *value = (double)(c->state ? in_state : n); break;
    }
    return true;
}

void iocd_groups_tick(struct iocd_groups *gs, int64_t now_ms, iocd_groups_emit_fn fn, void *ud)
{
    if (!gs || !gs->any_gauge)
        return;
    for (int g = 0; g < gs->n_groups; g++) {
        const struct iocd_group_conf *c = &gs->cfg->groups[g];
        if (c->kind != IOCD_GROUP_GAUGE)
            continue;
        struct gauge *ga = &gs->gauges[g];
        int64_t boundary = now_ms - now_ms % c->interval_ms;
        if (!ga->next_ms) { /* first call: the boundary before the start is not ours */
            ga->next_ms = boundary + c->interval_ms;
            continue;
        }
        if (now_ms < ga->next_ms)
            continue;
        /* Boundaries missed while the loop was held: only the newest. */
        ga->next_ms = boundary + c->interval_ms;
        if (boundary <= ga->last_ms)
            continue;
        double v;
        size_t n;
        if (iocd_groups_gauge_value(gs, g, boundary, &v, &n)) {
            ga->last_ms = boundary;
            fn(ud, g, boundary, v, n);
        }
    }
}
