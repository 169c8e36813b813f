/* daemon/alerts/devices.c — device liveness table (see devices.h).
 *
 * One record per (source, device), allocated once with its two names and
 * never freed before the table. Records sit in a dense array (iteration,
 * tick) indexed by an open-addressing hash table of record pointers (linear
 * probing, at most half full, no deletion).
 *
 * The usual interval is learned from the gaps between *arrivals*: messages
 * closer than [devices] min_interval to the previous arrival belong to the
 * same burst (a device publishing several topics at once) and only move
 * last_seen. The first gap is taken as it is; later ones move the interval
 * a quarter of the way (EWMA, alpha 1/4, integer ms). A gap that ends an
 * offline period (timed out or said by the feed) is an outage, not the
 * device's cadence, and is not learned. The interval never falls below
 * min_interval (at least 1 ms); until the second arrival it is
 * default_interval.
 *
 * Silent for more than stale_multiple x interval: stale; more than
 * offline_multiple x interval: offline (a multiple <= 0 disables that step).
 * tick skips all work until the earliest moment any device could change
 * state (kept as a lower bound), and otherwise is one pass over the array.
 *
 * Dirty records: a flag in the record and a list of their positions, in
 * the order they became dirty; take_dirty copies the oldest out and moves
 * the rest to the front. A record whose position cannot be listed (memory
 * short) stays clean and is listed at its next change. A restored record
 * counts its learned interval as measured (the next gap moves it by a
 * quarter) and measures the next gap from its last message. */
#include "daemon/alerts/devices.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rec {
    struct iocd_device_info info; /* source/device point into names[] */
    uint64_t hash;
    int64_t arrival_ms; /* start of the latest burst */
    uint64_t arrivals;  /* bursts seen */
    uint32_t pos;       /* index in recs */
    uint16_t src;       /* index in the table's srcs */
    bool dirty;         /* listed in dirty[] */
    int64_t saved_last_ms; /* last_seen_ms as the store last got it (0: never) */
    char names[];       /* "source\0device\0" */
};

struct iocd_devices {
    const struct iocd_config *cfg;
    iocd_devices_change_fn fn;
    void *ud;
    struct rec **recs; /* dense, insertion order */
    size_t n, cap;
    struct rec **slots; /* NULL = empty; power of two, at most half full */
    size_t n_slots;
    int64_t next_due_ms; /* no device changes state before this */
    uint32_t *dirty;     /* positions of dirty records, oldest first */
    size_t n_dirty, cap_dirty;
    /* Devices per source and state, kept as states change, so /metrics
     * and the status never walk every device (a walk of 10,000 devices
     * was 4 % of iocd's CPU under a 20 ms /metrics poll). Sources in the
     * order their first device came; names owned. */
    struct src_count {
        char *source;
        uint64_t n[IOCD_DEVICE__COUNT];
    } *srcs;
    size_t n_srcs, cap_srcs;
};

/* The index of `source` in srcs, added if new; -1 out of room. */
static int src_index(struct iocd_devices *d, const char *source)
{
    for (size_t i = 0; i < d->n_srcs; i++)
        if (strcmp(d->srcs[i].source, source) == 0)
            return (int)i;
    if (d->n_srcs == UINT16_MAX)
        return -1;
    if (d->n_srcs == d->cap_srcs) {
        size_t ncap = d->cap_srcs ? d->cap_srcs * 2 : 8;
        struct src_count *ns = realloc(d->srcs, ncap * sizeof(*ns));
        if (!ns)
            return -1;
        d->srcs = ns;
        d->cap_srcs = ncap;
    }
    struct src_count *c = &d->srcs[d->n_srcs];
    memset(c, 0, sizeof(*c));
    if (!(c->source = strdup(source)))
        return -1;
    return (int)d->n_srcs++;
}

/* Every change of a record's state goes through here (the counts). */
static void set_state(struct iocd_devices *d, struct rec *r, enum iocd_device_state st)
{
    d->srcs[r->src].n[r->info.state]--;
    d->srcs[r->src].n[st]++;
    r->info.state = st;
}

static uint64_t key_hash(const char *source, const char *device)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)source; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    h = (h ^ 0xffu) * 0x100000001b3u; /* separator no name byte can fake */
    for (const unsigned char *p = (const unsigned char *)device; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

const char *iocd_device_state_name(enum iocd_device_state s)
{
    switch (s) {
    case IOCD_DEVICE_ONLINE:
        return "online";
    case IOCD_DEVICE_STALE:
        return "stale";
    case IOCD_DEVICE_OFFLINE:
        return "offline";
    default:
        return "unknown";
    }
}

const char *iocd_position_source_name(enum iocd_position_source s)
{
    return s == IOCD_POSITION_REPORTED ? "reported" : s == IOCD_POSITION_REGISTRY ? "registry" : "";
}

struct iocd_device_position iocd_device_position_of(const struct iocd_device_info *info,
                                                    const struct iocd_registry_entry *entry)
{
    bool reported = info && info->has_position;
    bool registry = entry && entry->has_position;
    if (registry && (!reported || entry->fixed || entry->changed_ms > info->position_ms))
        return (struct iocd_device_position){IOCD_POSITION_REGISTRY, entry->lat, entry->lon,
                                             entry->changed_ms};
    if (reported)
        return (struct iocd_device_position){IOCD_POSITION_REPORTED, info->lat, info->lon,
                                             info->position_ms};
    return (struct iocd_device_position){IOCD_POSITION_NONE, 0, 0, 0};
}

struct iocd_devices *iocd_devices_new(const struct iocd_config *cfg, iocd_devices_change_fn fn,
                                      void *ud)
{
    if (!cfg)
        return NULL;
    struct iocd_devices *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->cfg = cfg;
    d->fn = fn;
    d->ud = ud;
    d->next_due_ms = INT64_MAX;
    return d;
}

void iocd_devices_free(struct iocd_devices *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->recs[i]);
    free(d->recs);
    free(d->slots);
    free(d->dirty);
    for (size_t i = 0; i < d->n_srcs; i++)
        free(d->srcs[i].source);
    free(d->srcs);
    free(d);
}

size_t iocd_devices_sources(const struct iocd_devices *d)
{
    return d ? d->n_srcs : 0;
}

const char *iocd_devices_source_counts(const struct iocd_devices *d, size_t i,
                                       uint64_t counts[IOCD_DEVICE__COUNT])
{
    if (!d || i >= d->n_srcs)
        return NULL;
    memcpy(counts, d->srcs[i].n, sizeof(d->srcs[i].n));
    return d->srcs[i].source;
}

size_t iocd_devices_count(const struct iocd_devices *d)
{
    return d ? d->n : 0;
}

static struct rec *find(const struct iocd_devices *d, const char *source, const char *device,
                        uint64_t h)
{
    if (!d->n_slots)
        return NULL;
    size_t mask = d->n_slots - 1;
    for (size_t j = h & mask; d->slots[j]; j = (j + 1) & mask) {
        struct rec *r = d->slots[j];
        if (r->hash == h && strcmp(r->info.source, source) == 0 &&
            strcmp(r->info.device, device) == 0)
            return r;
    }
    return NULL;
}

const struct iocd_device_info *iocd_devices_get(const struct iocd_devices *d, const char *source,
                                                const char *device)
{
    if (!d || !source || !device)
        return NULL;
    struct rec *r = find(d, source, device, key_hash(source, device));
    return r ? &r->info : NULL;
}

void iocd_devices_foreach(const struct iocd_devices *d, iocd_devices_each_fn fn, void *ud)
{
    if (!d || !fn)
        return;
    /* By position: a callback that adds devices (realloc) stays safe. */
    for (size_t i = 0; i < d->n; i++)
        fn(ud, &d->recs[i]->info);
}

const struct iocd_device_info *iocd_devices_at(const struct iocd_devices *d, size_t i)
{
    return d && i < d->n ? &d->recs[i]->info : NULL;
}

static void slot_put(struct rec **slots, size_t n_slots, struct rec *r)
{
    size_t mask = n_slots - 1;
    size_t j = r->hash & mask;
    while (slots[j])
        j = (j + 1) & mask;
    slots[j] = r;
}

static int grow(struct iocd_devices *d)
{
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 64;
        struct rec **nr = realloc(d->recs, ncap * sizeof(*nr));
        if (!nr)
            return -1;
        d->recs = nr;
        d->cap = ncap;
    }
    if ((d->n + 1) * 2 > d->n_slots) {
        size_t ns = d->n_slots ? d->n_slots * 2 : 128;
        struct rec **s = calloc(ns, sizeof(*s));
        if (!s)
            return -1;
        for (size_t i = 0; i < d->n; i++)
            slot_put(s, ns, d->recs[i]);
        free(d->slots);
        d->slots = s;
        d->n_slots = ns;
    }
    return 0;
}

static int64_t floor_interval(const struct iocd_devices *d)
{
    return d->cfg->devices.min_interval_ms > 1 ? d->cfg->devices.min_interval_ms : 1;
}

/* `multiple` x interval in ms; INT64_MAX when that step is disabled. */
static int64_t after_ms(double multiple, int64_t interval_ms)
{
    if (!(multiple > 0))
        return INT64_MAX;
    double v = multiple * (double)interval_ms;
    return v >= 9.0e18 ? INT64_MAX : (int64_t)llround(v);
}

/* The earliest time `r` could change state by itself (INT64_MAX: never). */
static int64_t due_ms(const struct iocd_devices *d, const struct rec *r)
{
    const struct iocd_device_info *i = &r->info;
    int64_t a = after_ms(d->cfg->devices.offline_multiple, i->interval_ms);
    if (i->state == IOCD_DEVICE_ONLINE) {
        int64_t s = after_ms(d->cfg->devices.stale_multiple, i->interval_ms);
        if (s < a)
            a = s;
    } else if (i->state != IOCD_DEVICE_STALE) {
        return INT64_MAX;
    }
    if (a == INT64_MAX || i->last_seen_ms > INT64_MAX - a - 1)
        return INT64_MAX;
    return i->last_seen_ms + a + 1; /* "more than" */
}

static void mark_dirty(struct iocd_devices *d, struct rec *r)
{
    if (r->dirty)
        return;
    if (d->n_dirty == d->cap_dirty) {
        size_t ncap = d->cap_dirty ? d->cap_dirty * 2 : 64;
        uint32_t *nd = realloc(d->dirty, ncap * sizeof(*nd));
        if (!nd)
            return;
        d->dirty = nd;
        d->cap_dirty = ncap;
    }
    d->dirty[d->n_dirty++] = r->pos;
    r->dirty = true;
}

/* A new record for (source, device) of hash h, in the table; NULL when
 * over max_devices or memory is short. */
static struct rec *rec_add(struct iocd_devices *d, const char *source, const char *device,
                           uint64_t h)
{
    int64_t max = d->cfg->devices.max_devices;
    if ((max > 0 && (int64_t)d->n >= max) || d->n >= UINT32_MAX - 1)
        return NULL;
    size_t ls = strlen(source), ld = strlen(device);
    int src = src_index(d, source);
    struct rec *r = src < 0 ? NULL : malloc(sizeof(*r) + ls + ld + 2);
    if (!r || grow(d) < 0) {
        free(r);
        return NULL;
    }
    memset(r, 0, sizeof(*r)); /* state IOCD_DEVICE_ONLINE, counted: */
    r->src = (uint16_t)src;
    d->srcs[src].n[IOCD_DEVICE_ONLINE]++;
    memcpy(r->names, source, ls + 1);
    memcpy(r->names + ls + 1, device, ld + 1);
    r->info.source = r->names;
    r->info.device = r->names + ls + 1;
    r->hash = h;
    r->pos = (uint32_t)d->n;
    d->recs[d->n++] = r;
    slot_put(d->slots, d->n_slots, r);
    return r;
}

static void report(struct iocd_devices *d, const struct rec *r, enum iocd_device_state prev,
                   bool is_new)
{
    if (d->fn)
        d->fn(d->ud, &r->info, prev, is_new);
}

void iocd_devices_prefetch(const struct iocd_devices *d, const char *source, const char *device,
                           int step)
{
    if (!d || !d->n_slots || !source || !device)
        return;
    struct rec *const *slot = &d->slots[key_hash(source, device) & (d->n_slots - 1)];
    if (step == 0)
        __builtin_prefetch(slot);
    else if (*slot)
        __builtin_prefetch(*slot);
}

int iocd_devices_seen(struct iocd_devices *d, const char *source, const char *device,
                      int64_t now_ms)
{
    if (!d || !source || !device)
        return -1;
    uint64_t h = key_hash(source, device);
    struct rec *r = find(d, source, device, h);
    if (!r) {
        if (!(r = rec_add(d, source, device, h)))
            return -1;
        int64_t iv = d->cfg->devices.default_interval_ms;
        r->info.first_seen_ms = now_ms;
        r->info.last_seen_ms = now_ms;
        r->info.interval_ms = iv > floor_interval(d) ? iv : floor_interval(d);
        r->info.messages = 1;
        r->arrival_ms = now_ms;
        r->arrivals = 1;
        mark_dirty(d, r);
        int64_t due = due_ms(d, r);
        if (due < d->next_due_ms)
            d->next_due_ms = due;
        report(d, r, IOCD_DEVICE_ONLINE, true);
        return 0;
    }
    struct iocd_device_info *i = &r->info;
    enum iocd_device_state prev = i->state;
    i->messages++;
    if (now_ms > i->last_seen_ms)
        i->last_seen_ms = now_ms;
    int64_t gap = now_ms - r->arrival_ms;
    int64_t lo = floor_interval(d);
    if (prev == IOCD_DEVICE_OFFLINE) {
        r->arrival_ms = i->last_seen_ms; /* an outage: restart measuring */
    } else if (gap >= lo) {
        if (r->arrivals == 1)
            i->interval_ms = gap;
        else
            i->interval_ms += (gap - i->interval_ms) / 4;
        if (i->interval_ms < lo)
            i->interval_ms = lo;
        r->arrivals++;
        r->arrival_ms = now_ms;
    }
    set_state(d, r, IOCD_DEVICE_ONLINE);
    /* A state change is written with the next flush; a device that just
     * keeps reporting only every [devices] persist_interval (a store write
     * per message would cost the flush more than the message). */
    int64_t every = d->cfg->devices.persist_interval_ms;
    if (prev != IOCD_DEVICE_ONLINE || every <= 0 || now_ms - r->saved_last_ms >= every)
        mark_dirty(d, r);
    int64_t due = due_ms(d, r);
    if (due < d->next_due_ms)
        d->next_due_ms = due;
    if (prev != IOCD_DEVICE_ONLINE)
        report(d, r, prev, false);
    return 0;
}

int iocd_devices_locate(struct iocd_devices *d, const char *source, const char *device,
                        double lat, double lon, int64_t received_ms)
{
    if (!d || !source || !device)
        return -1;
    if (!isfinite(lat) || !isfinite(lon) || fabs(lat) > 90 || fabs(lon) > 180)
        return -1;
    struct rec *r = find(d, source, device, key_hash(source, device));
    if (!r)
        return -1;
    struct iocd_device_info *i = &r->info;
    if (i->has_position && received_ms < i->position_ms)
        return 0; /* the clock stepped back: keep the later one */
    bool first = !i->has_position;
    i->has_position = true;
    i->lat = lat;
    i->lon = lon;
    i->position_ms = received_ms;
    if (first)
        mark_dirty(d, r);
    return 0;
}

void iocd_devices_offline(struct iocd_devices *d, const char *source, const char *device,
                          int64_t now_ms)
{
    (void)now_ms; /* last_seen stays the latest message's time */
    if (!d || !source || !device)
        return;
    struct rec *r = find(d, source, device, key_hash(source, device));
    if (!r || r->info.state == IOCD_DEVICE_OFFLINE)
        return;
    enum iocd_device_state prev = r->info.state;
    set_state(d, r, IOCD_DEVICE_OFFLINE);
    mark_dirty(d, r);
    report(d, r, prev, false);
}

void iocd_devices_tick(struct iocd_devices *d, int64_t now_ms)
{
    if (!d || now_ms < d->next_due_ms)
        return;
    int64_t next = INT64_MAX;
    d->next_due_ms = INT64_MAX; /* lowered by iocd_devices_seen from a callback */
    /* By position and re-reading d->n: the callback may add devices. */
    for (size_t k = 0; k < d->n; k++) {
        struct rec *r = d->recs[k];
        struct iocd_device_info *i = &r->info;
        if (i->state != IOCD_DEVICE_OFFLINE) {
            int64_t silent = now_ms - i->last_seen_ms;
            enum iocd_device_state prev = i->state, st = prev;
            if (silent > after_ms(d->cfg->devices.offline_multiple, i->interval_ms))
                st = IOCD_DEVICE_OFFLINE;
            else if (prev == IOCD_DEVICE_ONLINE &&
                     silent > after_ms(d->cfg->devices.stale_multiple, i->interval_ms))
                st = IOCD_DEVICE_STALE;
            if (st != prev) {
                set_state(d, r, st);
                mark_dirty(d, r);
                report(d, r, prev, false);
            }
        }
        /* The callback may have changed r (seen again): read it afresh. */
        int64_t due = due_ms(d, d->recs[k]);
        if (due < next)
            next = due;
    }
    if (next < d->next_due_ms)
        d->next_due_ms = next;
}

int iocd_device_state_parse(const char *name)
{
    for (int s = 0; name && s < IOCD_DEVICE__COUNT; s++)
        if (strcmp(name, iocd_device_state_name((enum iocd_device_state)s)) == 0)
            return s;
    return -1;
}

int iocd_devices_restore(struct iocd_devices *d, const struct iocd_device_row *row)
{
    if (!d || !row || !row->source || !row->device || !row->source[0] || !row->device[0] ||
        (int)row->state < 0 || row->state >= IOCD_DEVICE__COUNT)
        return -1;
    uint64_t h = key_hash(row->source, row->device);
    if (find(d, row->source, row->device, h))
        return -1;
    struct rec *r = rec_add(d, row->source, row->device, h);
    if (!r)
        return -1;
    struct iocd_device_info *i = &r->info;
    set_state(d, r, row->state);
    i->first_seen_ms = row->first_seen_ms;
    i->last_seen_ms = row->last_seen_ms;
    i->interval_ms = row->interval_ms > floor_interval(d) ? row->interval_ms : floor_interval(d);
    i->messages = row->messages;
    /* A stored position is used only when it is one (the file may have
     * been edited by hand). */
    i->has_position = row->has_position && isfinite(row->lat) && isfinite(row->lon) &&
                      fabs(row->lat) <= 90 && fabs(row->lon) <= 180;
    i->lat = row->lat;
    i->lon = row->lon;
    i->position_ms = row->position_ms;
    r->arrival_ms = row->last_seen_ms;
    r->arrivals = row->messages > 1 ? 2 : 1;
    r->saved_last_ms = row->last_seen_ms;
    int64_t due = due_ms(d, r);
    if (due < d->next_due_ms)
        d->next_due_ms = due;
    return 0;
}

void iocd_devices_mark_unsaved(struct iocd_devices *d)
{
    if (!d)
        return;
    for (size_t k = 0; k < d->n; k++)
        if (d->recs[k] && d->recs[k]->info.last_seen_ms != d->recs[k]->saved_last_ms)
            mark_dirty(d, d->recs[k]);
}

size_t iocd_devices_dirty_count(const struct iocd_devices *d)
{
    return d ? d->n_dirty : 0;
}

void iocd_device_rows_free(struct iocd_device_row *rows, size_t n)
{
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        free(rows[i].block);
    free(rows);
}

struct iocd_device_row *iocd_devices_take_dirty(struct iocd_devices *d, size_t max, size_t *n)
{
    *n = 0;
    if (!d || !d->n_dirty || !max)
        return NULL;
    size_t k = d->n_dirty < max ? d->n_dirty : max;
    struct iocd_device_row *rows = calloc(k, sizeof(*rows));
    if (!rows)
        return NULL;
    for (size_t j = 0; j < k; j++) {
        const struct rec *r = d->recs[d->dirty[j]];
        const struct iocd_device_info *i = &r->info;
        size_t ls = strlen(i->source), ld = strlen(i->device);
        char *block = malloc(ls + ld + 2);
        if (!block) {
            iocd_device_rows_free(rows, j);
            return NULL;
        }
        memcpy(block, i->source, ls + 1);
        memcpy(block + ls + 1, i->device, ld + 1);
        rows[j] = (struct iocd_device_row){
            .block = block,
            .source = block,
            .device = block + ls + 1,
            .state = i->state,
            .first_seen_ms = i->first_seen_ms,
            .last_seen_ms = i->last_seen_ms,
            .interval_ms = i->interval_ms,
            .messages = i->messages,
            .has_position = i->has_position,
            .lat = i->lat,
            .lon = i->lon,
            .position_ms = i->position_ms,
        };
    }
    for (size_t j = 0; j < k; j++) {
        struct rec *r = d->recs[d->dirty[j]];
        r->dirty = false;
        r->saved_last_ms = r->info.last_seen_ms;
    }
    memmove(d->dirty, d->dirty + k, (d->n_dirty - k) * sizeof(*d->dirty));
    d->n_dirty -= k;
    *n = k;
    return rows;
}
