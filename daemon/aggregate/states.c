/* daemon/aggregate/states.c — state series and their window increments
 * (see states.h).
 *
 * Owns: the state series (a dense array, found by series id through a
 * position table) and the increments since the last flush (a dense array
 * and an open-addressing index over series, resolution, start and state).
 * Room for every increment a call makes is reserved before the first is
 * made, so a call either changes everything it should or nothing. */
#include "daemon/aggregate/states.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/aggregate/agg.h"
#include "daemon/config/core.h"

struct sseries {
    uint32_t id;
    int n_res;
    int64_t res_ms[IOCD_MAX_RESOLUTIONS];
    char names[IOCD_STATE_MAX_NAMES][IOCD_STATE_NAME_MAX + 1];
    int n_names;
    int last; /* index into names; -1: no sample yet */
    int64_t last_ms, carried_ms;
    bool changed; /* since the last take */
};

struct delta {
    uint32_t id, res_s;
    int64_t start_ms;
    int state;
    int64_t ms, entries, transitions;
};

struct iocd_states {
    int64_t carry_ms, tz_offset_ms;
    struct sseries *ser; /* owned; n_ser of cap_ser */
    size_t n_ser, cap_ser;
    uint32_t *pos; /* owned; per series id: index into ser + 1, 0 none */
    size_t n_pos;
    struct delta *d; /* owned; n_d of cap_d */
    size_t n_d, cap_d;
    uint32_t *index; /* owned; idx_cap (a power of two) entries: position + 1, 0 empty */
    size_t idx_cap;
    size_t n_changed;
};

struct iocd_states *iocd_states_new(int64_t carry_ms, int64_t tz_offset_ms)
{
    struct iocd_states *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->carry_ms = carry_ms;
    st->tz_offset_ms = tz_offset_ms;
    return st;
}

void iocd_states_free(struct iocd_states *st)
{
    if (!st)
        return;
    free(st->ser);
    free(st->pos);
    free(st->d);
    free(st->index);
    free(st);
}

bool iocd_state_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (n == IOCD_STATE_NAME_MAX ||
            !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return false;
    }
    return n > 0;
}

static struct sseries *find(const struct iocd_states *st, uint32_t id)
{
    if (id >= st->n_pos || !st->pos[id])
        return NULL;
    return &st->ser[st->pos[id] - 1];
}

bool iocd_states_has(const struct iocd_states *st, uint32_t id)
{
    return st && find(st, id) != NULL;
}

/* The series `id`, created (no states, no sample) if new; NULL out of memory. */
static struct sseries *get(struct iocd_states *st, uint32_t id)
{
    struct sseries *s = find(st, id);
    if (s)
        return s;
    if (id >= st->n_pos) {
        size_t n = st->n_pos ? st->n_pos : 256;
        while (n <= id)
            n *= 2;
        uint32_t *np = realloc(st->pos, n * sizeof(*np));
        if (!np)
            return NULL;
        memset(np + st->n_pos, 0, (n - st->n_pos) * sizeof(*np));
        st->pos = np;
        st->n_pos = n;
    }
    if (st->n_ser == st->cap_ser) {
        size_t n = st->cap_ser ? st->cap_ser * 2 : 16;
        struct sseries *ns = realloc(st->ser, n * sizeof(*ns));
        if (!ns)
            return NULL;
        st->ser = ns;
        st->cap_ser = n;
    }
    s = &st->ser[st->n_ser++];
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->last = -1;
    st->pos[id] = (uint32_t)st->n_ser;
    return s;
}

static void set_res(struct sseries *s, const int64_t *res_ms, int n_res)
{
    if (n_res > IOCD_MAX_RESOLUTIONS)
        n_res = IOCD_MAX_RESOLUTIONS;
    memcpy(s->res_ms, res_ms, (size_t)n_res * sizeof(*res_ms));
    s->n_res = n_res;
}

static int name_index(const struct sseries *s, const char *state)
{
    for (int i = 0; i < s->n_names; i++)
        if (strcmp(s->names[i], state) == 0)
            return i;
    return -1;
}

static size_t key_hash(uint32_t id, uint32_t res_s, int64_t start_ms, int state)
{
    uint64_t h = ((uint64_t)id << 32 | res_s) ^ ((uint64_t)start_ms * 0x9e3779b97f4a7c15u) ^
                 ((uint64_t)(unsigned)state << 56);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 29;
    return (size_t)h;
}

static void index_put(struct iocd_states *st, size_t i)
{
    const struct delta *d = &st->d[i];
    size_t mask = st->idx_cap - 1;
    size_t j = key_hash(d->id, d->res_s, d->start_ms, d->state) & mask;
    while (st->index[j])
        j = (j + 1) & mask;
    st->index[j] = (uint32_t)(i + 1);
}

/* Room for `k` more increments without allocating. 0, or -1. */
static int reserve(struct iocd_states *st, size_t k)
{
    size_t need = st->n_d + k;
    if (need > UINT32_MAX / 4)
        return -1;
    if (need > st->cap_d) {
        size_t n = st->cap_d ? st->cap_d : 64;
        while (n < need)
            n *= 2;
        struct delta *nd = realloc(st->d, n * sizeof(*nd));
        if (!nd)
            return -1;
        st->d = nd;
        st->cap_d = n;
    }
    if (need * 2 > st->idx_cap) {
        size_t n = st->idx_cap ? st->idx_cap : 128;
        while (n < need * 2)
            n *= 2;
        uint32_t *ni = calloc(n, sizeof(*ni));
        if (!ni)
            return -1;
        free(st->index);
        st->index = ni;
        st->idx_cap = n;
        for (size_t i = 0; i < st->n_d; i++)
            index_put(st, i);
    }
    return 0;
}

/* Add to the increment of one window and state (room reserved). */
static void add(struct iocd_states *st, uint32_t id, uint32_t res_s, int64_t start_ms, int state,
                int64_t ms, int64_t entries, int64_t transitions)
{
    size_t mask = st->idx_cap - 1;
    size_t j = key_hash(id, res_s, start_ms, state) & mask;
    while (st->index[j]) {
        struct delta *d = &st->d[st->index[j] - 1];
        if (d->id == id && d->res_s == res_s && d->start_ms == start_ms && d->state == state) {
            d->ms += ms;
            d->entries += entries;
            d->transitions += transitions;
            return;
        }
        j = (j + 1) & mask;
    }
    st->d[st->n_d] = (struct delta){id, res_s, start_ms, state, ms, entries, transitions};
    st->index[j] = (uint32_t)++st->n_d;
}

/* Increments that attributing [from, to) of series `s` makes at most. */
static size_t span_rows(const struct sseries *s, int64_t from, int64_t to)
{
    size_t k = 0;
    if (to < from) {
        int64_t t = to;
        to = from;
        from = t;
    }
    for (int r = 0; r < s->n_res; r++)
        k += (size_t)((to - from) / s->res_ms[r]) + 2;
    return k;
}

/* Attribute [from, to) of series `s` to `state`, `sign` ±1, in every window it crosses. */
static void attribute(struct iocd_states *st, const struct sseries *s, int state, int64_t from,
                      int64_t to, int sign)
{
    for (int r = 0; r < s->n_res && from < to; r++) {
        int64_t res = s->res_ms[r];
        for (int64_t w = iocd_window_start(from, res, st->tz_offset_ms); w < to; w += res) {
            int64_t a = w > from ? w : from, b = w + res < to ? w + res : to;
            add(st, s->id, (uint32_t)(res / 1000), w, state, sign * (b - a), 0, 0);
        }
    }
}

static void mark_changed(struct iocd_states *st, struct sseries *s)
{
    if (!s->changed) {
        s->changed = true;
        st->n_changed++;
    }
}

enum iocd_reject iocd_states_add(struct iocd_states *st, uint32_t id, const int64_t *res_ms,
                                 int n_res, const char *state, int64_t t_ms, int *idx,
                                 char *detail, size_t n)
{
    struct sseries *s = get(st, id);
    if (!s) {
        snprintf(detail, n, "state series table");
        return IOCD_REJECT_NO_MEMORY;
    }
    if (s->last >= 0 && t_ms < s->last_ms) {
        snprintf(detail, n, "state '%s' at %" PRId64 " ms is older than the series' latest, '%s' at %" PRId64 " ms",
                 state, t_ms, s->names[s->last], s->last_ms);
        return IOCD_REJECT_STATE_ORDER;
    }
    int i = name_index(s, state);
    if (i < 0 && s->n_names == IOCD_STATE_MAX_NAMES) {
        snprintf(detail, n, "state '%s' would be the series' %dth distinct state (at most %d)",
                 state, IOCD_STATE_MAX_NAMES + 1, IOCD_STATE_MAX_NAMES);
        return IOCD_REJECT_TOO_MANY_STATES;
    }
    set_res(s, res_ms, n_res);
    int64_t target = 0;
    size_t k = (size_t)s->n_res;
    if (s->last >= 0) {
        target = t_ms < s->last_ms + st->carry_ms ? t_ms : s->last_ms + st->carry_ms;
        k += span_rows(s, s->carried_ms, target);
    }
    if (reserve(st, k)) {
        snprintf(detail, n, "state window table");
        return IOCD_REJECT_NO_MEMORY;
    }
    if (i < 0) {
        i = s->n_names++;
        snprintf(s->names[i], sizeof(s->names[i]), "%s", state);
    }
    if (s->last >= 0) {
        if (target > s->carried_ms)
            attribute(st, s, s->last, s->carried_ms, target, 1);
        else if (target < s->carried_ms)
            attribute(st, s, s->last, target, s->carried_ms, -1);
    }
    int64_t tr = s->last >= 0 && s->last != i;
    for (int r = 0; r < s->n_res; r++)
        add(st, id, (uint32_t)(s->res_ms[r] / 1000),
            iocd_window_start(t_ms, s->res_ms[r], st->tz_offset_ms), i, 0, 1, tr);
    s->last = i;
    s->last_ms = s->carried_ms = t_ms;
    mark_changed(st, s);
    *idx = i;
    return IOCD_REJECT_NONE;
}

int iocd_states_restore(struct iocd_states *st, uint32_t id, const int64_t *res_ms, int n_res,
                        const char *names, const char *last, int64_t last_ms,
                        int64_t carried_ms)
{
    struct sseries *s = get(st, id);
    if (!s)
        return -1;
    set_res(s, res_ms, n_res);
    s->n_names = 0;
    for (const char *p = names; *p;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len > IOCD_STATE_NAME_MAX || s->n_names == IOCD_STATE_MAX_NAMES)
            return -1;
        memcpy(s->names[s->n_names], p, len);
        s->names[s->n_names++][len] = '\0';
        p += len;
        if (*p == ',')
            p++;
    }
    s->last = name_index(s, last);
    s->last_ms = last_ms;
    s->carried_ms = carried_ms < last_ms ? last_ms : carried_ms;
    return 0;
}

void iocd_states_tick(struct iocd_states *st, int64_t closed_ms)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_ser; i++) {
        struct sseries *s = &st->ser[i];
        if (s->last < 0 || !s->n_res)
            continue;
        int64_t until = iocd_window_start(closed_ms, s->res_ms[0], st->tz_offset_ms);
        if (until > s->last_ms + st->carry_ms)
            until = s->last_ms + st->carry_ms;
        if (until <= s->carried_ms || reserve(st, span_rows(s, s->carried_ms, until)))
            continue; /* out of memory: the next tick tries again */
        attribute(st, s, s->last, s->carried_ms, until, 1);
        s->carried_ms = until;
        mark_changed(st, s);
    }
}

const char *iocd_states_latest(const struct iocd_states *st, uint32_t id, int64_t *t_ms)
{
    const struct sseries *s = st ? find(st, id) : NULL;
    if (!s || s->last < 0)
        return NULL;
    if (t_ms)
        *t_ms = s->last_ms;
    return s->names[s->last];
}

const char *iocd_states_name(const struct iocd_states *st, uint32_t id, int idx)
{
    const struct sseries *s = st ? find(st, id) : NULL;
    return s && idx >= 0 && idx < s->n_names ? s->names[idx] : NULL;
}

size_t iocd_states_pending(const struct iocd_states *st)
{
    return st ? st->n_d + st->n_changed : 0;
}

int iocd_states_take(struct iocd_states *st, struct iocd_state_row **rows, size_t *n_rows,
                     struct iocd_state_latest **latest, size_t *n_latest)
{
    *rows = NULL;
    *latest = NULL;
    *n_rows = *n_latest = 0;
    struct iocd_state_row *r = st->n_d ? malloc(st->n_d * sizeof(*r)) : NULL;
    struct iocd_state_latest *l = st->n_changed ? malloc(st->n_changed * sizeof(*l)) : NULL;
    if ((st->n_d && !r) || (st->n_changed && !l)) {
        free(r);
        free(l);
        return -1;
    }
    size_t nr = 0, nl = 0;
    for (size_t i = 0; i < st->n_d; i++) {
        const struct delta *d = &st->d[i];
        if (!d->ms && !d->entries && !d->transitions)
            continue; /* a carried time taken back whole */
        const struct sseries *s = find(st, d->id);
        struct iocd_state_row *o = &r[nr++];
        o->series_id = d->id;
        o->res_s = d->res_s;
        o->start_ms = d->start_ms;
        snprintf(o->state, sizeof(o->state), "%s", s->names[d->state]);
        o->ms = d->ms;
        o->entries = d->entries;
        o->transitions = d->transitions;
    }
    for (size_t i = 0; i < st->n_ser && nl < st->n_changed; i++) {
        struct sseries *s = &st->ser[i];
        if (!s->changed)
            continue;
        struct iocd_state_latest *o = &l[nl++];
        o->series_id = s->id;
        o->last_ms = s->last_ms;
        o->carried_ms = s->carried_ms;
        snprintf(o->state, sizeof(o->state), "%s", s->last >= 0 ? s->names[s->last] : "");
        size_t off = 0;
        o->names[0] = '\0';
        for (int k = 0; k < s->n_names; k++)
            off += (size_t)snprintf(o->names + off, sizeof(o->names) - off, "%s%s", k ? "," : "",
                                    s->names[k]);
        s->changed = false;
    }
    st->n_changed = 0;
    st->n_d = 0;
    if (st->index)
        memset(st->index, 0, st->idx_cap * sizeof(*st->index));
    if (!nr) {
        free(r);
        r = NULL;
    }
    *rows = r;
    *n_rows = nr;
    *latest = l;
    *n_latest = nl;
    return 0;
}
