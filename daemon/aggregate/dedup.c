/* daemon/aggregate/dedup.c — bounded recent-key set (see dedup.h).
 *
 * A FIFO ring of keys gives the eviction order; an open-addressing table
 * with linear probing and backward-shift deletion answers membership. */
#include "daemon/aggregate/dedup.h"

#include <stdlib.h>
#include <string.h>

struct key {
    int64_t t;
    uint32_t series; /* 0 = empty slot (series ids start at 1) */
};

struct iocd_dedup {
    size_t capacity;  /* keys kept */
    struct key *ring; /* insertion order; grows to capacity */
    size_t ring_cap, head, count;
    struct key *table; /* power of two, at most half full */
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
        d->capacity = capacity;
    return d;
}

void iocd_dedup_free(struct iocd_dedup *d)
{
    if (!d)
        return;
    free(d->ring);
    free(d->table);
    free(d);
}

size_t iocd_dedup_size(const struct iocd_dedup *d)
{
    return d ? d->count : 0;
}

static void table_put(struct key *table, size_t cap, struct key k)
{
    size_t j = key_hash(k.series, k.t) & (cap - 1);
    while (table[j].series)
        j = (j + 1) & (cap - 1);
    table[j] = k;
}

static int table_grow(struct iocd_dedup *d)
{
    size_t ncap = d->table_cap ? d->table_cap * 2 : 1024;
    struct key *nt = calloc(ncap, sizeof(*nt));
    if (!nt)
        return -1;
    for (size_t i = 0; i < d->table_cap; i++)
        if (d->table[i].series)
            table_put(nt, ncap, d->table[i]);
    free(d->table);
    d->table = nt;
    d->table_cap = ncap;
    return 0;
}

/* Remove `k` keeping every probe chain intact (backward shift). */
static void table_remove(struct iocd_dedup *d, struct key k)
{
    size_t mask = d->table_cap - 1;
    size_t j = key_hash(k.series, k.t) & mask;
    while (d->table[j].series && (d->table[j].series != k.series || d->table[j].t != k.t))
        j = (j + 1) & mask;
    if (!d->table[j].series)
        return;
    size_t hole = j;
    for (size_t i = (hole + 1) & mask; d->table[i].series; i = (i + 1) & mask) {
        size_t home = key_hash(d->table[i].series, d->table[i].t) & mask;
        /* Move i into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            d->table[hole] = d->table[i];
            hole = i;
        }
    }
    d->table[hole].series = 0;
}

bool iocd_dedup_check(struct iocd_dedup *d, uint32_t series, int64_t t_ms)
{
    if (!d || series == 0)
        return false;
    if (d->table_cap) {
        size_t mask = d->table_cap - 1;
        for (size_t j = key_hash(series, t_ms) & mask; d->table[j].series; j = (j + 1) & mask)
            if (d->table[j].series == series && d->table[j].t == t_ms)
                return true;
    }
    struct key k = {.t = t_ms, .series = series};
    if (d->count == d->capacity) {
        /* Full: evict the oldest, reuse its ring slot. */
        table_remove(d, d->ring[d->head]);
        d->ring[d->head] = k;
        d->head = (d->head + 1) % d->capacity;
        table_put(d->table, d->table_cap, k);
        return false;
    }
    if (d->count == d->ring_cap) {
        size_t ncap = d->ring_cap ? d->ring_cap * 2 : 1024;
        if (ncap > d->capacity)
            ncap = d->capacity;
        struct key *nr = realloc(d->ring, ncap * sizeof(*nr));
        if (!nr)
            return false;
        d->ring = nr;
        d->ring_cap = ncap;
    }
    if ((d->count + 1) * 2 > d->table_cap && table_grow(d))
        return false;
    d->ring[d->count++] = k; /* head stays 0 until the ring is full */
    table_put(d->table, d->table_cap, k);
    return false;
}
