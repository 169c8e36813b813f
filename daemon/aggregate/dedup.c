/* daemon/aggregate/dedup.c — bounded recent-key set (see dedup.h).
 *
 * A ring of keys (times and series in two arrays: 12 bytes a key) gives the
 * eviction order; an open-addressing index answers membership (linear
 * probing, backward-shift deletion). An index entry is 8 bytes: the ring
 * position and the low 32 bits of the key's hash, so probing, inserting and
 * evicting read the ring only for a key whose hash bits match (profiled:
 * the ring reads were a cache miss per probed entry, about a third of the
 * check). */
#include "daemon/aggregate/dedup.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KEYS (UINT32_C(1) << 31)

struct iocd_dedup {
    size_t capacity;  /* keys kept */
    int64_t *ring_t;  /* insertion order; grows to capacity */
    uint32_t *ring_s; /* series of each ring key (ids start at 1) */
    size_t ring_cap, head, count;
    uint64_t *table; /* hash bits << 32 | ring position + 1, 0 empty; a power of two, at
                      * most half full */
    size_t table_cap;
};

static uint64_t key_hash(uint32_t series, int64_t t)
{
    uint64_t h = (uint64_t)t * 0x9e3779b97f4a7c15u ^ ((uint64_t)series << 17 | series);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

struct iocd_dedup *iocd_dedup_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    struct iocd_dedup *d = calloc(1, sizeof(*d));
    if (d)
        d->capacity = capacity < MAX_KEYS ? capacity : MAX_KEYS;
    return d;
}

void iocd_dedup_free(struct iocd_dedup *d)
{
    if (!d)
        return;
    free(d->ring_t);
    free(d->ring_s);
    free(d->table);
    free(d);
}

size_t iocd_dedup_size(const struct iocd_dedup *d)
{
    return d ? d->count : 0;
}

/* An index entry's ring position and home slot. The table has at most
 * 2^32 entries (MAX_KEYS * 2), so the stored hash bits hold the home. */
static size_t entry_pos(uint64_t e)
{
    return (size_t)(uint32_t)e - 1;
}

static size_t entry_home(uint64_t e, size_t mask)
{
    return (size_t)(e >> 32) & mask;
}

/* Index ring position `pos`, whose key hashes to `h` (not indexed yet). */
static void table_put(struct iocd_dedup *d, size_t pos, uint64_t h)
{
    size_t mask = d->table_cap - 1;
    size_t j = h & mask;
    while (d->table[j])
        j = (j + 1) & mask;
    d->table[j] = (uint64_t)(uint32_t)h << 32 | (uint64_t)(pos + 1);
}

static int table_grow(struct iocd_dedup *d)
{
    size_t ncap = d->table_cap ? d->table_cap * 2 : 1024;
    uint64_t *nt = calloc(ncap, sizeof(*nt));
    if (!nt)
        return -1;
    uint64_t *old = d->table;
    size_t old_cap = d->table_cap;
    d->table = nt;
    d->table_cap = ncap;
    for (size_t j = 0; j < old_cap; j++)
        if (old[j])
            table_put(d, entry_pos(old[j]), old[j] >> 32);
    free(old);
    return 0;
}

/* Remove ring position `pos` from the index, keeping every probe chain
 * intact (backward shift). */
static void table_remove(struct iocd_dedup *d, size_t pos)
{
    size_t mask = d->table_cap - 1;
    size_t j = key_hash(d->ring_s[pos], d->ring_t[pos]) & mask;
    while (d->table[j] && entry_pos(d->table[j]) != pos)
        j = (j + 1) & mask;
    if (!d->table[j])
        return;
    size_t hole = j;
    for (size_t i = (hole + 1) & mask; d->table[i]; i = (i + 1) & mask) {
        size_t home = entry_home(d->table[i], mask);
        /* Move i into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            d->table[hole] = d->table[i];
            hole = i;
        }
    }
    d->table[hole] = 0;
}

void iocd_dedup_prefetch(const struct iocd_dedup *d, uint32_t series, int64_t t_ms)
{
    if (d && d->table_cap)
        __builtin_prefetch(&d->table[key_hash(series, t_ms) & (d->table_cap - 1)]);
}

void iocd_dedup_prefetch_evictions(const struct iocd_dedup *d, size_t n)
{
    if (!d || d->count < d->capacity || !d->table_cap)
        return;
    size_t mask = d->table_cap - 1;
    for (size_t i = 0, pos = d->head; i < n; i++) {
        __builtin_prefetch(&d->table[key_hash(d->ring_s[pos], d->ring_t[pos]) & mask]);
        if (++pos == d->capacity)
            pos = 0;
    }
}

bool iocd_dedup_check(struct iocd_dedup *d, uint32_t series, int64_t t_ms)
{
    if (!d || series == 0)
        return false;
    uint64_t h = key_hash(series, t_ms);
    if (d->table_cap) {
        size_t mask = d->table_cap - 1;
        for (size_t j = h & mask; d->table[j]; j = (j + 1) & mask) {
            if ((uint32_t)(d->table[j] >> 32) != (uint32_t)h)
                continue;
            size_t pos = entry_pos(d->table[j]);
            if (d->ring_s[pos] == series && d->ring_t[pos] == t_ms)
                return true;
        }
    }
    if (d->count == d->capacity) {
        /* Full: evict the oldest, reuse its ring slot. */
        size_t pos = d->head;
        table_remove(d, pos);
        d->ring_t[pos] = t_ms;
        d->ring_s[pos] = series;
        d->head = (d->head + 1) % d->capacity;
        table_put(d, pos, h);
        return false;
    }
    if (d->count == d->ring_cap) {
        size_t ncap = d->ring_cap ? d->ring_cap * 2 : 1024;
        if (ncap > d->capacity)
            ncap = d->capacity;
        int64_t *nt = realloc(d->ring_t, ncap * sizeof(*nt));
        if (!nt)
            return false;
        d->ring_t = nt;
        uint32_t *ns = realloc(d->ring_s, ncap * sizeof(*ns));
        if (!ns)
            return false;
        d->ring_s = ns;
        d->ring_cap = ncap;
    }
    if ((d->count + 1) * 2 > d->table_cap && table_grow(d))
        return false;
    size_t pos = d->count++; /* head stays 0 until the ring is full */
    d->ring_t[pos] = t_ms;
    d->ring_s[pos] = series;
    table_put(d, pos, h);
    return false;
}
