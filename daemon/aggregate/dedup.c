/* daemon/aggregate/dedup.c — bounded recent-key set (see dedup.h).
 *
 * A ring of keys (times and series in two arrays: 12 bytes a key) gives the
 * eviction order; an open-addressing index of ring positions (4 bytes an
 * entry, linear probing, backward-shift deletion) answers membership. */
#include "daemon/aggregate/dedup.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KEYS (UINT32_C(1) << 31)

struct iocd_dedup {
    size_t capacity;  /* keys kept */
    int64_t *ring_t;  /* insertion order; grows to capacity */
    uint32_t *ring_s; /* series of each ring key (ids start at 1) */
    size_t ring_cap, head, count;
    uint32_t *table; /* ring position + 1, 0 empty; a power of two, at most half full */
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

static size_t home_of(const struct iocd_dedup *d, size_t pos, size_t mask)
{
    return key_hash(d->ring_s[pos], d->ring_t[pos]) & mask;
}

/* Index ring position `pos` (its key is not indexed yet). */
static void table_put(struct iocd_dedup *d, size_t pos)
{
    size_t mask = d->table_cap - 1;
    size_t j = home_of(d, pos, mask);
    while (d->table[j])
        j = (j + 1) & mask;
    d->table[j] = (uint32_t)(pos + 1);
}

static int table_grow(struct iocd_dedup *d)
{
    size_t ncap = d->table_cap ? d->table_cap * 2 : 1024;
    uint32_t *nt = calloc(ncap, sizeof(*nt));
    if (!nt)
        return -1;
    free(d->table);
    d->table = nt;
    d->table_cap = ncap;
    for (size_t pos = 0; pos < d->count; pos++)
        table_put(d, pos);
    return 0;
}

/* Remove ring position `pos` from the index, keeping every probe chain
 * intact (backward shift). */
static void table_remove(struct iocd_dedup *d, size_t pos)
{
    size_t mask = d->table_cap - 1;
    size_t j = home_of(d, pos, mask);
    while (d->table[j] && d->table[j] != pos + 1)
        j = (j + 1) & mask;
    if (!d->table[j])
        return;
    size_t hole = j;
    for (size_t i = (hole + 1) & mask; d->table[i]; i = (i + 1) & mask) {
        size_t home = home_of(d, d->table[i] - 1, mask);
        /* Move i into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            d->table[hole] = d->table[i];
            hole = i;
        }
    }
    d->table[hole] = 0;
}

bool iocd_dedup_check(struct iocd_dedup *d, uint32_t series, int64_t t_ms)
{
    if (!d || series == 0)
        return false;
    if (d->table_cap) {
        size_t mask = d->table_cap - 1;
        for (size_t j = key_hash(series, t_ms) & mask; d->table[j]; j = (j + 1) & mask) {
            size_t pos = d->table[j] - 1;
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
        table_put(d, pos);
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
    table_put(d, pos);
    return false;
}
