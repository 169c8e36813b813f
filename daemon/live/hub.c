/* daemon/live/hub.c — the live feed hub (see live.h).
 *
 * Owns: the ring of recent items (each one malloc'd block holding its key,
 * JSON and protobuf) and the sink table. Sinks may remove themselves (or
 * others) while an item is being handed out: removal only clears the slot,
 * which is reused later. */
#include "daemon/live/hub.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/base/timeutil.h"

struct sink {
    iocd_live_sink_fn fn;
    void *ud;
    unsigned handle; /* 0: free slot */
    unsigned kinds, forms;
};

struct iocd_live {
    uint64_t run_id;
    uint64_t seq;
    struct iocd_live_item *ring; /* ring[seq % cap]; key points into its block */
    size_t *ring_size;           /* bytes of each slot's block, reused while it fits */
    size_t cap;
    struct sink *sinks;
    size_t n_sinks, cap_sinks;
    unsigned next_handle;
    unsigned needs[IOCD_LIVE__COUNT]; /* union of the sinks' forms per kind */
    size_t catchup_sinks;             /* sinks with IOCD_LIVE_CATCHUP */
    int64_t ring_until_ms;            /* monotonic: ring kept until then (0: not) */
};

/* Recompute the per-kind needs after a sink came or went. */
static void update_needs(struct iocd_live *l)
{
    memset(l->needs, 0, sizeof(l->needs));
    size_t catchup = 0;
    for (size_t i = 0; i < l->n_sinks; i++) {
        const struct sink *k = &l->sinks[i];
        if (!k->handle)
            continue;
        if (k->forms & IOCD_LIVE_CATCHUP)
            catchup++;
        for (int t = 0; t < IOCD_LIVE__COUNT; t++)
            if (k->kinds & (1u << t))
                l->needs[t] |= k->forms & (IOCD_LIVE_JSON | IOCD_LIVE_PB);
    }
    if (l->catchup_sinks && !catchup)
        l->ring_until_ms = iocd_mono_ms() + IOCD_LIVE_RING_GRACE_MS;
    l->catchup_sinks = catchup;
}

unsigned iocd_live_needs(struct iocd_live *l, enum iocd_live_kind kind)
{
    if ((unsigned)kind >= IOCD_LIVE__COUNT)
        return 0;
    unsigned n = l->needs[kind];
    if (l->cap && (IOCD_LIVE_STREAM_KINDS & (1u << kind)) &&
        (l->catchup_sinks || l->ring_until_ms)) {
        if (l->catchup_sinks || iocd_mono_ms() < l->ring_until_ms)
            n |= IOCD_LIVE_JSON;
        else
            l->ring_until_ms = 0;
    }
    return n;
}

struct iocd_live *iocd_live_new(size_t ring_items)
{
    struct iocd_live *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->run_id = (uint64_t)iocd_now_ms();
    l->cap = ring_items;
    if (ring_items && (!(l->ring = calloc(ring_items, sizeof(*l->ring))) ||
                       !(l->ring_size = calloc(ring_items, sizeof(*l->ring_size))))) {
        free(l->ring);
        free(l);
        return NULL;
    }
    return l;
}

void iocd_live_free(struct iocd_live *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->cap; i++)
        free((void *)l->ring[i].key);
    free(l->ring);
    free(l->ring_size);
    free(l->sinks);
    free(l);
}

uint64_t iocd_live_run_id(const struct iocd_live *l)
{
    return l->run_id;
}

uint64_t iocd_live_last_seq(const struct iocd_live *l)
{
    return l->seq;
}

unsigned iocd_live_add_sink(struct iocd_live *l, iocd_live_sink_fn fn, void *ud, unsigned kinds,
                            unsigned forms)
{
    size_t i;
    for (i = 0; i < l->n_sinks; i++)
        if (!l->sinks[i].handle)
            break;
    if (i == l->n_sinks) {
        if (l->n_sinks == l->cap_sinks) {
            size_t ncap = l->cap_sinks ? l->cap_sinks * 2 : 8;
            struct sink *ns = realloc(l->sinks, ncap * sizeof(*ns));
            if (!ns)
                return 0;
            l->sinks = ns;
            l->cap_sinks = ncap;
        }
        l->n_sinks++;
    }
    if (++l->next_handle == 0)
        l->next_handle = 1;
    l->sinks[i] = (struct sink){
        .fn = fn, .ud = ud, .handle = l->next_handle, .kinds = kinds, .forms = forms};
    update_needs(l);
    return l->next_handle;
}

void iocd_live_remove_sink(struct iocd_live *l, unsigned handle)
{
    for (size_t i = 0; i < l->n_sinks; i++)
        if (l->sinks[i].handle == handle)
            l->sinks[i].handle = 0;
    update_needs(l);
}

void iocd_live_emit(struct iocd_live *l, enum iocd_live_kind kind, const char *key,
                    const char *json, size_t json_len, const void *pb, size_t pb_len, bool retain)
{
    /* Only what a live-stream client can see is numbered (and kept), so
     * catch-up finds every number after the one it asks from. */
    bool stream = (IOCD_LIVE_STREAM_KINDS & (1u << kind)) != 0;
    struct iocd_live_item it = {
        .seq = stream ? ++l->seq : 0,
        .kind = kind,
        .key = key,
        .json = json,
        .json_len = json_len,
        .pb = pb,
        .pb_len = pb_len,
        .retain = retain,
    };
    if (l->cap && stream) {
        size_t i = it.seq % l->cap;
        struct iocd_live_item *slot = &l->ring[i];
        size_t klen = strlen(key) + 1, need = klen + json_len + 1 + pb_len;
        char *block = (char *)slot->key;
        if (need > l->ring_size[i]) { /* grow the slot's block (items are alike in size) */
            free(block);
            size_t size = need < 512 ? 512 : need + need / 4;
            block = malloc(size);
            l->ring_size[i] = block ? size : 0;
        }
        memset(slot, 0, sizeof(*slot));
        if (block) { /* out of memory: the item is not kept for catch-up */
            memcpy(block, key, klen);
            memcpy(block + klen, json, json_len);
            block[klen + json_len] = '\0';
            if (pb_len)
                memcpy(block + klen + json_len + 1, pb, pb_len);
            *slot = it;
            slot->key = block;
            slot->json = block + klen;
            slot->pb = pb_len ? block + klen + json_len + 1 : NULL;
        }
    }
    /* A sink added during this loop is not called for this item. */
    size_t n = l->n_sinks;
    for (size_t i = 0; i < n; i++)
        if (l->sinks[i].handle)
            l->sinks[i].fn(l->sinks[i].ud, &it);
}

int iocd_live_replay(const struct iocd_live *l, uint64_t after, iocd_live_sink_fn fn, void *ud)
{
    if (after >= l->seq)
        return 0;
    uint64_t oldest = l->seq >= l->cap ? l->seq - l->cap + 1 : 1;
    if (!l->cap || after + 1 < oldest)
        return -1;
    for (uint64_t s = after + 1; s <= l->seq; s++) {
        const struct iocd_live_item *it = &l->ring[s % l->cap];
        if (it->seq != s) /* lost to out of memory */
            return -1;
        fn(ud, it);
    }
    return 0;
}

const char *iocd_live_kind_name(enum iocd_live_kind k)
{
    static const char *const names[IOCD_LIVE__COUNT] = {
        "obs", "event", "alert", "window", "status", "obs_batch", "window_batch"};
    return k < IOCD_LIVE__COUNT ? names[k] : "?";
}
