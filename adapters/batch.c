/* adapters/batch.c — what one decode produces (struct iocd_batch): the
 * arena-backed Observation/Event arrays every adapter fills, and the names
 * of reject reasons and notes that the counters and logs use. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "adapters/adapter.h"

static const char *const reject_names[IOCD_REJECT__COUNT] = {
    [IOCD_REJECT_NONE] = "none",
    [IOCD_REJECT_MALFORMED] = "malformed",
    [IOCD_REJECT_WRONG_TYPE] = "wrong_type",
    [IOCD_REJECT_MISSING_FIELD] = "missing_field",
    [IOCD_REJECT_BAD_TIME] = "bad_time",
    [IOCD_REJECT_TOO_LARGE] = "too_large",
    [IOCD_REJECT_NOT_FINITE] = "not_finite",
    [IOCD_REJECT_FUTURE_TIME] = "future_time",
    [IOCD_REJECT_NO_ROUTE] = "no_route",
    [IOCD_REJECT_BAD_ID] = "bad_id",
    [IOCD_REJECT_INVALID] = "invalid_sample",
    [IOCD_REJECT_SERIES_LIMIT] = "series_limit",
    [IOCD_REJECT_NO_MEMORY] = "no_memory",
    [IOCD_REJECT_DUPLICATE] = "duplicate",
    [IOCD_REJECT_STALE] = "stale",
    [IOCD_REJECT_UNIT_MISMATCH] = "unit_mismatch",
    [IOCD_REJECT_BAD_STATE] = "bad_state",
    [IOCD_REJECT_UNKNOWN_STATE] = "unknown_state",
    [IOCD_REJECT_STATE_ORDER] = "state_out_of_order",
    [IOCD_REJECT_TOO_MANY_STATES] = "too_many_states",
};

const char *iocd_reject_name(enum iocd_reject r)
{
    if ((unsigned)r >= IOCD_REJECT__COUNT)
        return "unknown";
    return reject_names[r];
}

const char *iocd_note_name(enum iocd_note n)
{
    static const char *const names[IOCD_NOTE__COUNT] = {
        [IOCD_NOTE_SEQ_GAP] = "seq_gap",
        [IOCD_NOTE_PARTIAL] = "partial",
        [IOCD_NOTE_PROPERTY_DROPPED] = "property_dropped",
        [IOCD_NOTE_REBIRTH_LIMITED] = "rebirth_limited",
    };
    return (unsigned)n < IOCD_NOTE__COUNT ? names[n] : "unknown";
}

void iocd_batch_note(struct iocd_batch *b, enum iocd_note n, const char *fmt, ...)
{
    if ((unsigned)n >= IOCD_NOTE__COUNT)
        return;
    b->notes[n]++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->note_detail, sizeof(b->note_detail), fmt, ap);
    va_end(ap);
    memcpy(b->note_text[n], b->note_detail, sizeof(b->note_text[n]));
}

void iocd_batch_init(struct iocd_batch *b, struct iocd_arena *arena)
{
    memset(b, 0, sizeof(*b));
    b->arena = arena;
}

void iocd_batch_reset(struct iocd_batch *b)
{
    struct iocd_arena *a = b->arena;
    iocd_arena_reset(a);
    iocd_batch_init(b, a);
}

/* Grow an arena-backed pointer array; old storage is simply abandoned to
 * the arena (doubling keeps the waste under half). */
static int grow(struct iocd_arena *a, void ***arr, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void **na = iocd_arena_alloc(a, ncap * sizeof(void *));
    if (!na)
        return -1;
    if (n)
        memcpy(na, *arr, n * sizeof(void *));
    *arr = na;
    *cap = ncap;
    return 0;
}

Ioc__V1__Observation *iocd_batch_add_observation(struct iocd_batch *b)
{
    if (grow(b->arena, (void ***)&b->obs, b->n_obs, &b->cap_obs))
        return NULL;
    Ioc__V1__Observation *o = iocd_arena_alloc(b->arena, sizeof(*o));
    if (!o)
        return NULL;
    ioc__v1__observation__init(o);
    b->obs[b->n_obs++] = o;
    return o;
}

Ioc__V1__Event *iocd_batch_add_event(struct iocd_batch *b)
{
    if (grow(b->arena, (void ***)&b->events, b->n_events, &b->cap_events))
        return NULL;
    Ioc__V1__Event *e = iocd_arena_alloc(b->arena, sizeof(*e));
    if (!e)
        return NULL;
    ioc__v1__event__init(e);
    b->events[b->n_events++] = e;
    return e;
}

int iocd_batch_add_command(struct iocd_batch *b, const char *topic, const void *payload,
                           size_t len, int qos, bool retain, const char *why)
{
    if (grow(b->arena, (void ***)&b->commands, b->n_commands, &b->cap_commands))
        return -1;
    struct iocd_command *c = iocd_arena_alloc(b->arena, sizeof(*c));
    uint8_t *copy = iocd_arena_alloc(b->arena, len ? len : 1);
    if (!c || !copy)
        return -1;
    if (len)
        memcpy(copy, payload, len);
    c->topic = iocd_arena_strdup(b->arena, topic);
    c->why = iocd_arena_strdup(b->arena, why ? why : "");
    if (!c->topic || !c->why)
        return -1;
    c->payload = copy;
    c->len = len;
    c->qos = qos;
    c->retain = retain;
    b->commands[b->n_commands++] = c;
    return 0;
}

int iocd_observation_add_label(struct iocd_batch *b, Ioc__V1__Observation *o, const char *key,
                               const char *value)
{
    Ioc__V1__Observation__LabelsEntry *en = iocd_arena_alloc(b->arena, sizeof(*en));
    Ioc__V1__Observation__LabelsEntry **arr =
        iocd_arena_alloc(b->arena, (o->n_labels + 1) * sizeof(*arr));
    if (!en || !arr)
        return -1;
    ioc__v1__observation__labels_entry__init(en);
    en->key = iocd_arena_strdup(b->arena, key);
    en->value = iocd_arena_strdup(b->arena, value);
    if (!en->key || !en->value)
        return -1;
    if (o->n_labels)
        memcpy(arr, o->labels, o->n_labels * sizeof(*arr));
    arr[o->n_labels++] = en;
    o->labels = arr;
    return 0;
}

int iocd_event_add_attribute(struct iocd_batch *b, Ioc__V1__Event *e, const char *key,
                             const char *value)
{
    Ioc__V1__Event__AttributesEntry *en = iocd_arena_alloc(b->arena, sizeof(*en));
    Ioc__V1__Event__AttributesEntry **arr =
        iocd_arena_alloc(b->arena, (e->n_attributes + 1) * sizeof(*arr));
    if (!en || !arr)
        return -1;
    ioc__v1__event__attributes_entry__init(en);
    en->key = iocd_arena_strdup(b->arena, key);
    en->value = iocd_arena_strdup(b->arena, value);
    if (!en->key || !en->value)
        return -1;
    if (e->n_attributes)
        memcpy(arr, e->attributes, e->n_attributes * sizeof(*arr));
    arr[e->n_attributes++] = en;
    e->attributes = arr;
    return 0;
}

enum iocd_reject iocd_batch_fail(struct iocd_batch *b, enum iocd_reject r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
    va_end(ap);
    return r;
}
