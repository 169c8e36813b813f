/* daemon/aggregate/cases.c — open cases (see cases.h).
 *
 * An open-addressing table of entries (linear probing, at most half full,
 * backward-shift deletion so no tombstones pile up as cases close). Each
 * entry owns one allocation holding "SOURCE\0CASE_ID\0". */
#include "daemon/aggregate/cases.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    uint64_t hash;
    char *key; /* "SOURCE\0CASE_ID\0"; owned; NULL: empty slot */
    size_t key_len;
    int64_t first_ms;
};

struct iocd_cases {
    struct entry *slots; /* power of two */
    size_t n_slots, n, max;
    uint64_t untracked;
};

static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 0x100000001b3u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

struct iocd_cases *iocd_cases_new(size_t max)
{
    struct iocd_cases *c = calloc(1, sizeof(*c));
    if (c)
        c->max = max;
    return c;
}

void iocd_cases_free(struct iocd_cases *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_slots; i++)
        free(c->slots[i].key);
    free(c->slots);
    free(c);
}

bool iocd_case_status_resolves(const char *status)
{
    return status && (strcmp(status, "resolved") == 0 || strcmp(status, "closed") == 0 ||
                      strcmp(status, "done") == 0);
}

/* "SOURCE\0CASE_ID\0" into buf (n bytes); its length, or 0 when too long. */
static size_t make_key(char *buf, size_t n, const char *source, const char *case_id)
{
    size_t ls = strlen(source), lc = strlen(case_id);
    if (ls + lc + 2 > n)
        return 0;
    memcpy(buf, source, ls + 1);
    memcpy(buf + ls + 1, case_id, lc + 1);
    return ls + lc + 2;
}

static struct entry *find(const struct iocd_cases *c, const char *k, size_t n, uint64_t h)
{
    if (!c->n_slots)
        return NULL;
    size_t mask = c->n_slots - 1;
    for (size_t j = h & mask; c->slots[j].key; j = (j + 1) & mask)
        if (c->slots[j].hash == h && c->slots[j].key_len == n &&
            memcmp(c->slots[j].key, k, n) == 0)
            return &c->slots[j];
    return NULL;
}

static void put(struct entry *slots, size_t n_slots, struct entry e)
{
    size_t mask = n_slots - 1, j = e.hash & mask;
    while (slots[j].key)
        j = (j + 1) & mask;
    slots[j] = e;
}

static int grow(struct iocd_cases *c)
{
    if ((c->n + 1) * 2 <= c->n_slots)
        return 0;
    size_t ns = c->n_slots ? c->n_slots * 2 : 1024;
    struct entry *s = calloc(ns, sizeof(*s));
    if (!s)
        return -1;
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].key)
            put(s, ns, c->slots[i]);
    free(c->slots);
    c->slots = s;
    c->n_slots = ns;
    return 0;
}

/* Remove the entry at slot j, shifting later entries of its run back. */
static void erase(struct iocd_cases *c, size_t j)
{
    size_t mask = c->n_slots - 1;
    free(c->slots[j].key);
    c->slots[j].key = NULL;
    c->n--;
    for (size_t k = (j + 1) & mask; c->slots[k].key; k = (k + 1) & mask) {
        size_t home = c->slots[k].hash & mask;
        /* Move k back to j when its home is not in (j, k] (cyclically). */
        bool stays = j <= k ? (home > j && home <= k) : (home > j || home <= k);
        if (!stays) {
            c->slots[j] = c->slots[k];
            c->slots[k].key = NULL;
            j = k;
        }
    }
}

static struct entry *insert(struct iocd_cases *c, const char *k, size_t n, uint64_t h,
                            int64_t first_ms)
{
    if (c->n >= c->max || grow(c) < 0)
        return NULL;
    char *key = malloc(n);
    if (!key)
        return NULL;
    memcpy(key, k, n);
    put(c->slots, c->n_slots, (struct entry){.hash = h, .key = key, .key_len = n,
                                             .first_ms = first_ms});
    c->n++;
    return find(c, k, n, h);
}

int iocd_cases_update(struct iocd_cases *c, const char *source, const char *case_id,
                      int64_t t_ms, const char *status, int64_t *took_ms)
{
    char k[512];
    size_t n = make_key(k, sizeof(k), source, case_id);
    if (!c || !n)
        return 0;
    uint64_t h = key_hash(k, n);
    struct entry *e = find(c, k, n, h);
    if (iocd_case_status_resolves(status)) {
        if (!e)
            return 0;
        *took_ms = t_ms > e->first_ms ? t_ms - e->first_ms : 0;
        erase(c, (size_t)(e - c->slots));
        return 1;
    }
    if (e) {
        if (t_ms < e->first_ms)
            e->first_ms = t_ms;
        return 0;
    }
    if (!insert(c, k, n, h, t_ms)) {
        c->untracked++;
        return -1;
    }
    return 0;
}

void iocd_cases_restore(struct iocd_cases *c, const char *source, const char *case_id,
                        int64_t first_ms)
{
    int64_t took;
    iocd_cases_update(c, source, case_id, first_ms, "", &took);
}

size_t iocd_cases_open(const struct iocd_cases *c)
{
    return c ? c->n : 0;
}

uint64_t iocd_cases_untracked(const struct iocd_cases *c)
{
    return c ? c->untracked : 0;
}
