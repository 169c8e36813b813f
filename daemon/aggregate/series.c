/* daemon/aggregate/series.c — series registry (see series.h). An open-addressing
 * table from name to id; names are owned by the table. */
#include "daemon/aggregate/series.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *name; /* owned; NULL = empty slot */
    uint64_t hash;
    uint32_t id;
};

struct iocd_series_reg {
    struct entry *slots;
    size_t cap, size;
    int64_t max_series;
    uint32_t next_id;
    struct iocd_series_new *fresh; /* created since the last take; owned */
    size_t n_fresh, cap_fresh;
};

/* FNV-1a, folded: over a name, or over its parts with the '/' between. */
static uint64_t fnv_add(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211u;
    }
    return h;
}

#define FNV_OFFSET 1469598103934665603u

static uint64_t str_hash(const char *s)
{
    uint64_t h = fnv_add(FNV_OFFSET, s);
    return h ^ (h >> 32);
}

struct iocd_series_reg *iocd_series_reg_new(int64_t max_series)
{
    struct iocd_series_reg *r = calloc(1, sizeof(*r));
    if (r) {
        r->max_series = max_series;
        r->next_id = 1;
    }
    return r;
}

void iocd_series_reg_free(struct iocd_series_reg *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->cap; i++)
        free(r->slots[i].name);
    free(r->slots);
    iocd_series_new_free(r->fresh, r->n_fresh);
    free(r);
}

static int grow(struct iocd_series_reg *r)
{
    size_t ncap = r->cap ? r->cap * 2 : 1024;
    struct entry *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < r->cap; i++) {
        if (!r->slots[i].name)
            continue;
        size_t j = r->slots[i].hash & (ncap - 1);
        while (ns[j].name)
            j = (j + 1) & (ncap - 1);
        ns[j] = r->slots[i];
    }
    free(r->slots);
    r->slots = ns;
    r->cap = ncap;
    return 0;
}

/* The slot holding `name`, or the empty slot where it would go. */
static struct entry *find(struct iocd_series_reg *r, const char *name, uint64_t h)
{
    size_t j = h & (r->cap - 1);
    while (r->slots[j].name &&
           (r->slots[j].hash != h || strcmp(r->slots[j].name, name) != 0))
        j = (j + 1) & (r->cap - 1);
    return &r->slots[j];
}

static int insert(struct iocd_series_reg *r, const char *name, uint64_t h, uint32_t id)
{
    if ((r->size + 1) * 4 > r->cap * 3 && grow(r))
        return -1;
    struct entry *e = find(r, name, h);
    e->name = strdup(name);
    if (!e->name)
        return -1;
    e->hash = h;
    e->id = id;
    r->size++;
    if (id >= r->next_id)
        r->next_id = id + 1;
    return 0;
}

int iocd_series_reg_preload(struct iocd_series_reg *r, uint32_t id, const char *name)
{
    return insert(r, name, str_hash(name), id);
}

int iocd_series_valid_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#')
            return 0;
        if (n >= IOCD_ID_MAX)
            return 0;
    }
    return n > 0;
}

/* "SOURCE/DEVICE/METRIC" into name (cap bytes) without printf: this runs
 * for every observation. Its length, or -1 when it does not fit. */
static int series_name(char *name, size_t cap, const char *source, const char *device,
                       const char *metric)
{
    size_t ls = strlen(source), ld = strlen(device), lm = strlen(metric);
    if (ls + ld + lm + 3 > cap)
        return -1;
    char *p = name;
    memcpy(p, source, ls);
    p += ls;
    *p++ = '/';
    memcpy(p, device, ld);
    p += ld;
    *p++ = '/';
    memcpy(p, metric, lm + 1);
    return (int)(ls + ld + lm + 2);
}

enum iocd_series_result iocd_series_lookup(struct iocd_series_reg *r, const char *source,
                                           const char *device, const char *metric,
                                           const char *unit, int64_t now_ms, uint32_t *id)
{
    char name[3 * IOCD_ID_MAX + 8];
    int n = series_name(name, sizeof(name), source, device, metric);
    if (n < 0)
        return IOCD_SERIES_NO_MEMORY;
    uint64_t h = str_hash(name);
    if (r->cap) {
        struct entry *e = find(r, name, h);
        if (e->name) {
            *id = e->id;
            return IOCD_SERIES_FOUND;
        }
    }
    if (r->max_series > 0 && (int64_t)r->size >= r->max_series)
        return IOCD_SERIES_OVER_LIMIT;
    if (r->next_id == UINT32_MAX)
        return IOCD_SERIES_OVER_LIMIT;
    if (r->n_fresh == r->cap_fresh) {
        size_t ncap = r->cap_fresh ? r->cap_fresh * 2 : 64;
        struct iocd_series_new *nf = realloc(r->fresh, ncap * sizeof(*nf));
        if (!nf)
            return IOCD_SERIES_NO_MEMORY;
        r->fresh = nf;
        r->cap_fresh = ncap;
    }
    /* One block: "name\0source\0device\0metric\0unit\0". */
    size_t ls = strlen(source), ld = strlen(device), lm = strlen(metric), lu = strlen(unit);
    char *block = malloc((size_t)n + ls + ld + lm + lu + 5);
    if (!block)
        return IOCD_SERIES_NO_MEMORY;
    uint32_t new_id = r->next_id;
    if (insert(r, name, h, new_id)) {
        free(block);
        return IOCD_SERIES_NO_MEMORY;
    }
    struct iocd_series_new *f = &r->fresh[r->n_fresh++];
    f->id = new_id;
    f->created_ms = now_ms;
    char *p = block;
    f->name = memcpy(p, name, (size_t)n + 1), p += n + 1;
    f->source = memcpy(p, source, ls + 1), p += ls + 1;
    f->device = memcpy(p, device, ld + 1), p += ld + 1;
    f->metric = memcpy(p, metric, lm + 1), p += lm + 1;
    f->unit = memcpy(p, unit, lu + 1);
    *id = new_id;
    return IOCD_SERIES_CREATED;
}

/* FNV-1a's state after "SOURCE/DEVICE/": str_hash of "SOURCE/DEVICE/METRIC"
 * is fnv_add of the metric to it, folded, without building the name. */
static uint64_t prefix_hash(const char *source, const char *device)
{
    return fnv_add(fnv_add(fnv_add(fnv_add(FNV_OFFSET, source), "/"), device), "/");
}

/* Whether `name` is "SOURCE/DEVICE/METRIC". */
static bool parts_equal(const char *name, const char *source, const char *device,
                        const char *metric)
{
    const char *part[3] = {source, device, metric};
    for (int k = 0; k < 3; k++) {
        if (k && *name++ != '/')
            return false;
        for (const char *c = part[k]; *c; c++, name++)
            if (*name != *c)
                return false;
    }
    return *name == '\0';
}

void iocd_series_find_many(const struct iocd_series_reg *r, const char *source,
                           const char *const *devices, const char *const *metrics, size_t n,
                           uint32_t *ids)
{
    uint64_t h[IOCD_SERIES_FIND_MANY];
    /* The hash of "SOURCE/DEVICE/" is carried from one name to the next of
     * the same device (a message's observations share it): FNV-1a's chain
     * of multiplies over the device's bytes was paid once per metric. */
    const char *prefix_of = NULL;
    uint64_t prefix = 0;
    for (size_t at = 0; at < n; at += IOCD_SERIES_FIND_MANY) {
        size_t k = n - at < IOCD_SERIES_FIND_MANY ? n - at : IOCD_SERIES_FIND_MANY;
        /* Three passes, so that the misses of one pass overlap: the
         * slots, then the names they point to, then the compare. */
        for (size_t i = 0; i < k; i++) {
            ids[at + i] = 0;
            if (!r->cap || !devices[at + i] || !metrics[at + i])
                continue;
            if (devices[at + i] != prefix_of) {
                prefix_of = devices[at + i];
                prefix = prefix_hash(source, prefix_of);
            }
            uint64_t f = fnv_add(prefix, metrics[at + i]);
            h[i] = f ^ (f >> 32);
            __builtin_prefetch(&r->slots[h[i] & (r->cap - 1)]);
        }
        if (!r->cap)
            return;
        for (size_t i = 0; i < k; i++) {
            const struct entry *e = &r->slots[h[i] & (r->cap - 1)];
            if (devices[at + i] && metrics[at + i] && e->name && e->hash == h[i])
                __builtin_prefetch(e->name);
        }
        for (size_t i = 0; i < k; i++) {
            if (!devices[at + i] || !metrics[at + i])
                continue;
            for (size_t j = h[i] & (r->cap - 1); r->slots[j].name; j = (j + 1) & (r->cap - 1)) {
                const struct entry *e = &r->slots[j];
                if (e->hash == h[i] && parts_equal(e->name, source, devices[at + i],
                                                   metrics[at + i])) {
                    ids[at + i] = e->id;
                    break;
                }
            }
        }
    }
}

enum iocd_series_result iocd_series_find(struct iocd_series_reg *r, const char *source,
                                         const char *device, const char *metric, uint32_t *id)
{
    uint32_t found;
    iocd_series_find_many(r, source, &device, &metric, 1, &found);
    if (!found)
        return IOCD_SERIES_OVER_LIMIT;
    *id = found;
    return IOCD_SERIES_FOUND;
}

size_t iocd_series_count(const struct iocd_series_reg *r)
{
    return r->size;
}

struct iocd_series_new *iocd_series_take_new(struct iocd_series_reg *r, size_t *n)
{
    struct iocd_series_new *f = r->fresh;
    *n = r->n_fresh;
    r->fresh = NULL;
    r->n_fresh = r->cap_fresh = 0;
    return f;
}

void iocd_series_new_free(struct iocd_series_new *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].name);
    free(s);
}
