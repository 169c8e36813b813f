/* daemon/aggregate/agg.c — window statistics and the dirty-window table (see agg.h).
 *
 * The table is a dense array of windows in the order they became dirty
 * (so the oldest-dirty windows are always its head) and an index over it:
 * open addressing with linear probing over (series, res, start), each
 * entry a position + 1 (0 empty). Taking everything hands the array
 * itself to the caller; taking the oldest moves the head out and
 * re-indexes the rest. Nothing per sample allocates once the array and
 * index have grown to the load. */
#include "daemon/aggregate/agg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config.h"
#include "daemon/base/timeutil.h"

_Static_assert(IOCD_WINDOW_COARSER >= IOCD_MAX_RESOLUTIONS - 1,
               "a window carries every coarser resolution");

struct iocd_agg {
    int64_t res_ms[IOCD_MAX_RESOLUTIONS];
    int n_res;
    int64_t tz_offset_ms;
    struct iocd_window *wins; /* owned; n in dirty order, room for cap */
    uint64_t *jrnl;           /* owned; per window, the journal entry of its first sample */
    size_t n, cap;
    size_t last_take; /* windows the last full take moved out: the next array's size */
    /* owned; idx_cap entries (a power of two), at most half full: the low
     * 32 bits of the key's hash << 32 | position + 1, or 0. The hash bits
     * let a probe skip other keys' windows without reading them (each
     * such read was a cache miss: the profile had add_one at 46 % of the
     * aggregation benchmark). */
    uint64_t *index;
    size_t idx_cap;
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
    w->sketch = NULL;
    w->n_pending = 0;
    w->n_coarser = 0;
}

void iocd_window_settle(struct iocd_window *w)
{
    if (!w->n_pending)
        return;
    if (!w->sketch) {
        w->sketch = malloc(sizeof(*w->sketch));
        if (w->sketch)
            iocd_sketch_init(w->sketch);
    }
    for (uint8_t i = 0; w->sketch && i < w->n_pending; i++)
        iocd_sketch_add(w->sketch, w->pending[i]);
    w->n_pending = 0;
}

void iocd_window_sketch_add(struct iocd_window *w, double v)
{
    if (w->n_pending == IOCD_WINDOW_PENDING)
        iocd_window_settle(w);
    w->pending[w->n_pending++] = v;
}

int iocd_window_encode_sketch(struct iocd_window *w, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (w->sketch) {
        iocd_window_settle(w);
        if (!iocd_sketch_count(w->sketch))
            return 0;
        return iocd_sketch_encode(w->sketch, buf, len) ? -1 : 0;
    }
    if (!w->n_pending)
        return 0;
    struct iocd_sketch tmp;
    iocd_sketch_init(&tmp);
    int rc = 0;
    for (uint8_t i = 0; i < w->n_pending && rc == 0; i++)
        rc = iocd_sketch_add(&tmp, w->pending[i]);
    if (rc == 0)
        rc = iocd_sketch_encode(&tmp, buf, len) ? -1 : 0;
    iocd_sketch_free(&tmp);
    return rc;
}

void iocd_window_release(struct iocd_window *w)
{
    if (w->sketch) {
        iocd_sketch_free(w->sketch);
        free(w->sketch);
        w->sketch = NULL;
    }
    w->n_pending = 0;
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
    for (size_t i = 0; i < agg->n; i++)
        iocd_window_release(&agg->wins[i]);
    free(agg->wins);
    free(agg->jrnl);
    free(agg->index);
    free(agg);
}

static uint64_t key_hash(uint32_t series_id, uint32_t res_s, int64_t start_ms)
{
    uint64_t h = ((uint64_t)series_id << 32 | res_s) ^ ((uint64_t)start_ms * 0x9e3779b97f4a7c15u);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 29;
    return h;
}

/* The index's hash of a window's key. */
static uint64_t window_hash(uint32_t series_id, uint32_t res_s, int64_t start_ms,
                            uint8_t n_coarser)
{
    return key_hash(series_id, res_s, start_ms) ^ n_coarser;
}

/* Index position i (whose key is not indexed yet). */
static void index_put(struct iocd_agg *a, size_t i)
{
    const struct iocd_window *w = &a->wins[i];
    size_t mask = a->idx_cap - 1;
    uint64_t h = window_hash(w->series_id, w->res_s, w->start_ms, w->n_coarser);
    size_t j = h & mask;
    while (a->index[j])
        j = (j + 1) & mask;
    a->index[j] = (uint64_t)(uint32_t)h << 32 | (uint64_t)(i + 1);
}

/* Rebuild the index for the windows held, with at least `cap` entries. */
static int index_rebuild(struct iocd_agg *a, size_t cap)
{
    if (cap != a->idx_cap) {
        uint64_t *ni = calloc(cap, sizeof(*ni));
        if (!ni)
            return -1;
        free(a->index);
        a->index = ni;
        a->idx_cap = cap;
    } else if (a->index) {
        memset(a->index, 0, cap * sizeof(*a->index));
    }
    for (size_t i = 0; i < a->n; i++)
        index_put(a, i);
    return 0;
}

/* Room for `more` windows: the array and an index at most half full. */
static int reserve(struct iocd_agg *a, size_t more)
{
    size_t need = a->n + more;
    if (need > UINT32_MAX - 1)
        return -1;
    if (need > a->cap) {
        size_t ncap = a->cap ? a->cap + a->cap / 2 : (a->last_take > 256 ? a->last_take : 256);
        while (ncap < need)
            ncap += ncap / 2;
        struct iocd_window *nw = realloc(a->wins, ncap * sizeof(*nw));
        if (!nw)
            return -1;
        a->wins = nw;
        uint64_t *nj = realloc(a->jrnl, ncap * sizeof(*nj));
        if (!nj)
            return -1;
        a->jrnl = nj;
        a->cap = ncap;
    }
    if (need * 2 > a->idx_cap) {
        size_t icap = a->idx_cap ? a->idx_cap : 1024;
        while (need * 2 > icap)
            icap *= 2;
        if (index_rebuild(a, icap))
            return -1;
    }
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

/* Do the windows of res[1..n) each hold whole windows of res[0]? Windows
 * of whole days are offset by the time zone, the others are not. */
static bool res_nest(const struct iocd_agg *a, const int64_t *res_ms, int n_res)
{
    int64_t off0 = res_ms[0] % 86400000 == 0 ? a->tz_offset_ms : 0;
    for (int r = 1; r < n_res; r++) {
        int64_t off = res_ms[r] % 86400000 == 0 ? a->tz_offset_ms : 0;
        if (res_ms[r] % res_ms[0] != 0 || (off - off0) % res_ms[0] != 0)
            return false;
    }
    return true;
}

/* Add to the window (series, res_ms[0], carrying res_ms[1..n_res)). */
static void add_one(struct iocd_agg *a, uint32_t series_id, const int64_t *res_ms, int n_res,
                    double v, int64_t t_ms, uint64_t jrnl)
{
    size_t mask = a->idx_cap - 1;
    uint32_t res_s = (uint32_t)(res_ms[0] / 1000);
    uint32_t coarser[IOCD_WINDOW_COARSER];
    uint8_t n_coarser = (uint8_t)(n_res - 1);
    for (int r = 1; r < n_res; r++)
        coarser[r - 1] = (uint32_t)(res_ms[r] / 1000);
    int64_t start = iocd_window_start(t_ms, res_ms[0], a->tz_offset_ms);
    uint64_t h = window_hash(series_id, res_s, start, n_coarser);
    size_t j = h & mask;
    for (;; j = (j + 1) & mask) {
        uint64_t e = a->index[j];
        if (!e) {
            struct iocd_window *w = &a->wins[a->n];
            iocd_window_init(w, series_id, res_s, start, v, t_ms);
            memcpy(w->coarser_s, coarser, n_coarser * sizeof(*coarser));
            w->n_coarser = n_coarser;
            iocd_window_sketch_add(w, v);
            a->jrnl[a->n] = jrnl;
            a->index[j] = (uint64_t)(uint32_t)h << 32 | (uint64_t)(++a->n);
            return;
        }
        if ((uint32_t)(e >> 32) != (uint32_t)h)
            continue;
        struct iocd_window *w = &a->wins[(uint32_t)e - 1];
        bool same = w->series_id == series_id && w->res_s == res_s && w->start_ms == start &&
                    w->n_coarser == n_coarser;
        for (int k = 0; same && k < n_coarser; k++) /* a few: no call to memcmp */
            same = w->coarser_s[k] == coarser[k];
        if (same) {
            iocd_window_add(w, v, t_ms);
            iocd_window_sketch_add(w, v);
            return;
        }
    }
}

bool iocd_agg_nests(const struct iocd_agg *a, const int64_t *res_ms, int n_res)
{
    return res_nest(a, res_ms, n_res);
}

int iocd_agg_add_res(struct iocd_agg *a, uint32_t series_id, const int64_t *res_ms, int n_res,
                     double v, int64_t t_ms, uint64_t jrnl)
{
    bool nest = res_nest(a, res_ms, n_res);
    /* Make room first, so a sample is added to all of its windows or to
     * none. */
    if (reserve(a, nest ? 1 : (size_t)n_res))
        return -1;
    if (nest) {
        add_one(a, series_id, res_ms, n_res, v, t_ms, jrnl);
        return 0;
    }
    for (int r = 0; r < n_res; r++)
        add_one(a, series_id, &res_ms[r], 1, v, t_ms, jrnl);
    return 0;
}

void iocd_agg_prefetch(const struct iocd_agg *a, uint32_t series_id, const int64_t *res_ms,
                       int n_res, int64_t t_ms)
{
    if (!a->idx_cap || n_res < 1)
        return;
    /* The nested case (one window per series, carrying the coarser ones);
     * otherwise the finest resolution's. */
    uint8_t n_coarser = res_nest(a, res_ms, n_res) ? (uint8_t)(n_res - 1) : 0;
    int64_t start = iocd_window_start(t_ms, res_ms[0], a->tz_offset_ms);
    uint64_t h = window_hash(series_id, (uint32_t)(res_ms[0] / 1000), start, n_coarser);
    __builtin_prefetch(&a->index[h & (a->idx_cap - 1)]);
}

size_t iocd_agg_size(const struct iocd_agg *agg)
{
    return agg->n;
}

struct iocd_window *iocd_agg_take(struct iocd_agg *a, size_t *n)
{
    *n = a->n;
    if (a->n == 0)
        return NULL;
    /* The array itself goes; the next one starts at this size, so a steady
     * load does not regrow it. The index is kept and cleared, unless it is
     * far larger than what was held. */
    struct iocd_window *out = a->wins;
    a->last_take = a->n;
    a->wins = NULL;
    free(a->jrnl);
    a->jrnl = NULL;
    a->n = a->cap = 0;
    if (a->idx_cap > 16384 && a->last_take * 16 < a->idx_cap) {
        free(a->index);
        a->index = NULL;
        a->idx_cap = 0;
    } else {
        memset(a->index, 0, a->idx_cap * sizeof(*a->index));
    }
    return out;
}

static bool in_ids(uint32_t id, const uint32_t *ids, size_t n_ids)
{
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] == id)
            return true;
    return false;
}

struct iocd_window *iocd_agg_take_series(struct iocd_agg *a, const uint32_t *ids, size_t n_ids,
                                         size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++)
        k += in_ids(a->wins[i].series_id, ids, n_ids);
    *n = k;
    if (!k)
        return NULL;
    struct iocd_window *out = malloc(k * sizeof(*out));
    if (!out)
        return NULL;
    /* One pass: take the series' windows, close up the rest (dirty order
     * kept), then index what stays. */
    size_t kept = 0;
    k = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (in_ids(a->wins[i].series_id, ids, n_ids)) {
            out[k++] = a->wins[i];
            continue;
        }
        a->wins[kept] = a->wins[i];
        a->jrnl[kept] = a->jrnl[i];
        kept++;
    }
    a->n = kept;
    index_rebuild(a, a->idx_cap); /* same size: cannot fail */
    return out;
}

struct iocd_window *iocd_agg_take_oldest(struct iocd_agg *a, size_t max, uint64_t max_jrnl,
                                         size_t *n, uint64_t *replay_from)
{
    size_t k = a->n < max ? a->n : max;
    /* The array is in dirty order, so its journal entries never decrease:
     * the windows old enough are a prefix. */
    if (k && a->jrnl[k - 1] > max_jrnl) {
        size_t lo = 0, hi = k; /* first position past max_jrnl, in [lo, hi] */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (a->jrnl[mid] <= max_jrnl)
                lo = mid + 1;
            else
                hi = mid;
        }
        k = lo;
    }
    *n = k;
    *replay_from = a->n ? a->jrnl[0] : 0;
    if (k == a->n && k > 0) {
        *replay_from = 0;
        /* Everything: cheaper as a whole-table take. */
        return iocd_agg_take(a, n);
    }
    if (!k)
        return NULL;
    struct iocd_window *out = malloc(k * sizeof(*out));
    if (!out)
        return NULL;
    memcpy(out, a->wins, k * sizeof(*out));
    a->n -= k;
    memmove(a->wins, a->wins + k, a->n * sizeof(*a->wins));
    memmove(a->jrnl, a->jrnl + k, a->n * sizeof(*a->jrnl));
    index_rebuild(a, a->idx_cap); /* same size: cannot fail */
    *replay_from = a->jrnl[0];
    return out;
}
