/* daemon/aggregate/agg.c — window statistics and the dirty-window table (see agg.h).
 *
 * The table is open addressing with linear probing over (series, res,
 * start), with backward-shift deletion. A FIFO of keys remembers the order
 * in which windows became dirty; windows leave only from its head (or all
 * at once), so every key in the FIFO is in the table. */
#include "daemon/aggregate/agg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config.h"
#include "daemon/base/timeutil.h"

struct slot {
    uint8_t used;
    uint64_t jrnl; /* journal entry of the first sample since the last write */
    struct iocd_window w;
};

struct key {
    uint32_t series_id, res_s;
    int64_t start_ms;
};

struct iocd_agg {
    int64_t res_ms[IOCD_MAX_RESOLUTIONS];
    int n_res;
    int64_t tz_offset_ms;
    struct slot *slots; /* owned; capacity is a power of two */
    size_t cap, size;
    struct key *fifo; /* owned ring, capacity fifo_cap (power of two) */
    size_t fifo_cap, fifo_head, fifo_len;
};

void iocd_window_init(struct iocd_window *w, uint32_t series_id, uint32_t res_s, int64_t start_ms,
                      double v, int64_t t_ms)
{
    w->series_id = series_id;
    w->res_s = res_s;
    w->start_ms = start_ms;
    w->count = 1;
    w->sum = v;
    w->sumsq = v * v;
    w->min = w->max = w->first = w->last = v;
    w->first_ms = w->last_ms = t_ms;
    iocd_sketch_init(&w->sketch);
}

void iocd_window_add(struct iocd_window *w, double v, int64_t t_ms)
{
    w->count++;
    w->sum += v;
    w->sumsq += v * v;
    if (v < w->min)
        w->min = v;
    if (v > w->max)
        w->max = v;
    if (t_ms < w->first_ms) {
        w->first = v;
        w->first_ms = t_ms;
    }
    if (t_ms >= w->last_ms) {
        w->last = v;
        w->last_ms = t_ms;
    }
}

void iocd_window_merge(struct iocd_window *into, const struct iocd_window *later)
{
    into->count += later->count;
    into->sum += later->sum;
    into->sumsq += later->sumsq;
    if (later->min < into->min)
        into->min = later->min;
    if (later->max > into->max)
        into->max = later->max;
    if (later->first_ms < into->first_ms) {
        into->first = later->first;
        into->first_ms = later->first_ms;
    }
    if (later->last_ms >= into->last_ms) {
        into->last = later->last;
        into->last_ms = later->last_ms;
    }
}

struct iocd_agg *iocd_agg_new(const int64_t *res_ms, int n_res)
{
    if (n_res < 1 || n_res > IOCD_MAX_RESOLUTIONS)
        return NULL;
    struct iocd_agg *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    memcpy(a->res_ms, res_ms, (size_t)n_res * sizeof(*res_ms));
    a->n_res = n_res;
    return a;
}

void iocd_agg_free(struct iocd_agg *agg)
{
    if (!agg)
        return;
    for (size_t i = 0; i < agg->cap; i++)
        if (agg->slots[i].used)
            iocd_sketch_free(&agg->slots[i].w.sketch);
    free(agg->slots);
    free(agg->fifo);
    free(agg);
}

/* Room for `need` keys in the FIFO. */
static int fifo_reserve(struct iocd_agg *a, size_t need)
{
    if (need <= a->fifo_cap)
        return 0;
    size_t ncap = a->fifo_cap ? a->fifo_cap : 1024;
    while (ncap < need)
        ncap *= 2;
    struct key *nf = malloc(ncap * sizeof(*nf));
    if (!nf)
        return -1;
    for (size_t i = 0; i < a->fifo_len; i++)
        nf[i] = a->fifo[(a->fifo_head + i) & (a->fifo_cap - 1)];
    free(a->fifo);
    a->fifo = nf;
    a->fifo_cap = ncap;
    a->fifo_head = 0;
    return 0;
}

static void fifo_push(struct iocd_agg *a, struct key k)
{
    a->fifo[(a->fifo_head + a->fifo_len) & (a->fifo_cap - 1)] = k;
    a->fifo_len++;
}

static uint64_t key_hash(uint32_t series_id, uint32_t res_s, int64_t start_ms)
{
    uint64_t h = ((uint64_t)series_id << 32 | res_s) ^ ((uint64_t)start_ms * 0x9e3779b97f4a7c15u);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 29;
    return h;
}

static int grow(struct iocd_agg *a)
{
    size_t ncap = a->cap ? a->cap * 2 : 1024;
    struct slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < a->cap; i++) {
        if (!a->slots[i].used)
            continue;
        const struct iocd_window *w = &a->slots[i].w;
        size_t j = key_hash(w->series_id, w->res_s, w->start_ms) & (ncap - 1);
        while (ns[j].used)
            j = (j + 1) & (ncap - 1);
        ns[j] = a->slots[i];
    }
    free(a->slots);
    a->slots = ns;
    a->cap = ncap;
    return 0;
}

void iocd_agg_set_timezone(struct iocd_agg *agg, int64_t tz_offset_ms)
{
    agg->tz_offset_ms = tz_offset_ms;
}

int iocd_agg_add(struct iocd_agg *a, uint32_t series_id, double v, int64_t t_ms)
{
    return iocd_agg_add_res(a, series_id, a->res_ms, a->n_res, v, t_ms, 0);
}

int iocd_agg_add_res(struct iocd_agg *a, uint32_t series_id, const int64_t *res_ms, int n_res,
                     double v, int64_t t_ms, uint64_t jrnl)
{
    /* Make room for every resolution first, so a sample is added to all of
     * its windows or to none. */
    if ((a->size + (size_t)n_res) * 4 > a->cap * 3 && grow(a))
        return -1;
    if (fifo_reserve(a, a->fifo_len + (size_t)n_res))
        return -1;
    for (int r = 0; r < n_res; r++) {
        uint32_t res_s = (uint32_t)(res_ms[r] / 1000);
        int64_t start = iocd_window_start(t_ms, res_ms[r], a->tz_offset_ms);
        size_t j = key_hash(series_id, res_s, start) & (a->cap - 1);
        for (;;) {
            struct slot *s = &a->slots[j];
            if (!s->used) {
                s->used = 1;
                s->jrnl = jrnl;
                iocd_window_init(&s->w, series_id, res_s, start, v, t_ms);
                a->size++;
                fifo_push(a, (struct key){series_id, res_s, start});
                iocd_sketch_add(&s->w.sketch, v); /* out of memory: quantiles miss it */
                break;
            }
            if (s->w.series_id == series_id && s->w.res_s == res_s && s->w.start_ms == start) {
                iocd_window_add(&s->w, v, t_ms);
                iocd_sketch_add(&s->w.sketch, v);
                break;
            }
            j = (j + 1) & (a->cap - 1);
        }
    }
    return 0;
}

size_t iocd_agg_size(const struct iocd_agg *agg)
{
    return agg->size;
}

struct iocd_window *iocd_agg_take(struct iocd_agg *a, size_t *n)
{
    *n = a->size;
    if (a->size == 0)
        return NULL;
    struct iocd_window *out = malloc(a->size * sizeof(*out));
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < a->cap; i++)
        if (a->slots[i].used)
            out[k++] = a->slots[i].w;
    /* Emptied: a big table (and FIFO) is given back rather than kept for
     * the next burst, so memory follows what is actually held; a small one
     * is cleared for reuse. */
    if (a->cap > 16384) {
        free(a->slots);
        a->slots = NULL;
        a->cap = 0;
    } else {
        memset(a->slots, 0, a->cap * sizeof(*a->slots));
    }
    if (a->fifo_cap > 16384) {
        free(a->fifo);
        a->fifo = NULL;
        a->fifo_cap = 0;
    }
    a->size = 0;
    a->fifo_len = a->fifo_head = 0;
    return out;
}

/* Remove the window at `j` keeping every probe chain intact. */
static void remove_at(struct iocd_agg *a, size_t j)
{
    size_t mask = a->cap - 1, hole = j;
    for (size_t i = (hole + 1) & mask; a->slots[i].used; i = (i + 1) & mask) {
        const struct iocd_window *w = &a->slots[i].w;
        size_t home = key_hash(w->series_id, w->res_s, w->start_ms) & mask;
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            a->slots[hole] = a->slots[i];
            hole = i;
        }
    }
    a->slots[hole].used = 0;
    a->size--;
}

static bool in_ids(uint32_t id, const uint32_t *ids, size_t n_ids)
{
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* The slot holding `key` (which is in the table). */
static size_t find_slot(const struct iocd_agg *a, struct key key)
{
    size_t j = key_hash(key.series_id, key.res_s, key.start_ms) & (a->cap - 1);
    while (a->slots[j].w.series_id != key.series_id || a->slots[j].w.res_s != key.res_s ||
           a->slots[j].w.start_ms != key.start_ms)
        j = (j + 1) & (a->cap - 1);
    return j;
}

struct iocd_window *iocd_agg_take_series(struct iocd_agg *a, const uint32_t *ids, size_t n_ids,
                                         size_t *n)
{
    size_t k = 0, mask = a->fifo_cap - 1;
    for (size_t i = 0; i < a->fifo_len; i++)
        k += in_ids(a->fifo[(a->fifo_head + i) & mask].series_id, ids, n_ids);
    *n = k;
    if (!k)
        return NULL;
    struct iocd_window *out = malloc(k * sizeof(*out));
    if (!out)
        return NULL;
    /* One pass over the FIFO: take the series' windows, close up the rest
     * (every key left in the FIFO stays in the table). */
    size_t kept = 0, len = a->fifo_len;
    k = 0;
    for (size_t i = 0; i < len; i++) {
        struct key key = a->fifo[(a->fifo_head + i) & mask];
        if (!in_ids(key.series_id, ids, n_ids)) {
            a->fifo[(a->fifo_head + kept++) & mask] = key;
            continue;
        }
        size_t j = find_slot(a, key);
        out[k++] = a->slots[j].w;
        remove_at(a, j);
    }
    a->fifo_len = kept;
    return out;
}

struct iocd_window *iocd_agg_take_oldest(struct iocd_agg *a, size_t max, size_t *n,
                                         uint64_t *replay_from)
{
    size_t k = a->size < max ? a->size : max;
    *n = k;
    *replay_from = 0;
    if (k == a->size && k > 0) {
        /* Everything: cheaper as a whole-table take. */
        return iocd_agg_take(a, n);
    }
    struct iocd_window *out = NULL;
    if (k) {
        out = malloc(k * sizeof(*out));
        if (!out)
            return NULL;
    }
    for (size_t i = 0; i < k; i++) {
        struct key key = a->fifo[a->fifo_head];
        a->fifo_head = (a->fifo_head + 1) & (a->fifo_cap - 1);
        a->fifo_len--;
        size_t j = key_hash(key.series_id, key.res_s, key.start_ms) & (a->cap - 1);
        while (a->slots[j].w.series_id != key.series_id || a->slots[j].w.res_s != key.res_s ||
               a->slots[j].w.start_ms != key.start_ms)
            j = (j + 1) & (a->cap - 1);
        out[i] = a->slots[j].w;
        remove_at(a, j);
    }
    if (a->fifo_len) {
        struct key key = a->fifo[a->fifo_head];
        size_t j = key_hash(key.series_id, key.res_s, key.start_ms) & (a->cap - 1);
        while (a->slots[j].w.series_id != key.series_id || a->slots[j].w.res_s != key.res_s ||
               a->slots[j].w.start_ms != key.start_ms)
            j = (j + 1) & (a->cap - 1);
        *replay_from = a->slots[j].jrnl;
    }
    return out;
}
