/* daemon/ingest/properties.c — MQTT v5 user properties as labels (see
 * properties.h). */
#include "daemon/ingest/properties.h"

#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* Keep one property (copied into the arena) unless a limit drops it.
 * 0 kept or dropped, -1 out of memory. */
static int take_one(struct iocd_user_property *out, size_t *n, const char *name,
                    const char *value, struct iocd_batch *b)
{
    size_t ln = strlen(name), lv = strlen(value);
    const char *why = NULL;
    if (*n == IOCD_USER_PROPERTIES_MAX)
        why = "more than " STR(IOCD_USER_PROPERTIES_MAX) " user properties";
    else if (ln == 0 || ln > IOCD_USER_PROPERTY_NAME_MAX)
        why = "name empty or longer than " STR(IOCD_USER_PROPERTY_NAME_MAX) " bytes";
    else if (lv > IOCD_USER_PROPERTY_VALUE_MAX)
        why = "value longer than " STR(IOCD_USER_PROPERTY_VALUE_MAX) " bytes";
    for (size_t i = 0; !why && i < *n; i++)
        if (strcmp(out[i].name, name) == 0)
            why = "name repeated";
    if (why) {
        iocd_batch_note(b, IOCD_NOTE_PROPERTY_DROPPED, "user property '%.64s' dropped: %s", name,
                        why);
        return 0;
    }
    out[*n].name = iocd_arena_strndup(b->arena, name, ln);
    out[*n].value = iocd_arena_strndup(b->arena, value, lv);
    if (!out[*n].name || !out[*n].value)
        return -1;
    (*n)++;
    return 0;
}

int iocd_properties_take(const mosquitto_property *props, struct iocd_message *msg,
                         struct iocd_batch *b)
{
    msg->properties = NULL;
    msg->n_properties = 0;
    if (!props)
        return 0; /* MQTT 3.1.1, or a v5 message without properties */
    struct iocd_user_property *out = NULL;
    size_t n = 0;
    int rc = 0;
    char *name, *value;
    bool skip = false;
    /* libmosquitto copies each pair out (malloc); they are freed here. */
    for (const mosquitto_property *p = props;
         (p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value,
                                                  skip));
         skip = true) {
        if (!out)
            out = iocd_arena_alloc(b->arena, IOCD_USER_PROPERTIES_MAX * sizeof(*out));
        if (!out || take_one(out, &n, name, value, b))
            rc = -1;
        free(name);
        free(value);
        if (rc)
            return -1;
    }
    msg->properties = n ? out : NULL;
    msg->n_properties = n;
    return 0;
}

static bool has_label(const Ioc__V1__Observation *o, const char *key)
{
    for (size_t j = 0; j < o->n_labels; j++)
        if (strcmp(o->labels[j]->key, key) == 0)
            return true;
    return false;
}

static bool has_attribute(const Ioc__V1__Event *e, const char *key)
{
    for (size_t j = 0; j < e->n_attributes; j++)
        if (strcmp(e->attributes[j]->key, key) == 0)
            return true;
    return false;
}

static int apply_labels(const struct iocd_message *msg, struct iocd_batch *b)
{
    Ioc__V1__Observation__LabelsEntry *shared = NULL; /* one per property, for every item */
    for (size_t i = 0; i < b->n_obs; i++) {
        Ioc__V1__Observation *o = b->obs[i];
        Ioc__V1__Observation__LabelsEntry **arr =
            iocd_arena_alloc(b->arena, (o->n_labels + msg->n_properties) * sizeof(*arr));
        if (!arr)
            return -1;
        if (!shared) {
            shared = iocd_arena_alloc(b->arena, msg->n_properties * sizeof(*shared));
            if (!shared)
                return -1;
            for (size_t k = 0; k < msg->n_properties; k++) {
                ioc__v1__observation__labels_entry__init(&shared[k]);
                shared[k].key = (char *)msg->properties[k].name;
                shared[k].value = (char *)msg->properties[k].value;
            }
        }
        size_t n = o->n_labels;
        if (n)
            memcpy(arr, o->labels, n * sizeof(*arr));
        for (size_t k = 0; k < msg->n_properties; k++)
            if (!has_label(o, msg->properties[k].name))
                arr[n++] = &shared[k];
        o->labels = arr;
        o->n_labels = n;
    }
    return 0;
}

static int apply_attributes(const struct iocd_message *msg, struct iocd_batch *b)
{
    Ioc__V1__Event__AttributesEntry *shared = NULL;
    for (size_t i = 0; i < b->n_events; i++) {
        Ioc__V1__Event *e = b->events[i];
        Ioc__V1__Event__AttributesEntry **arr =
            iocd_arena_alloc(b->arena, (e->n_attributes + msg->n_properties) * sizeof(*arr));
        if (!arr)
            return -1;
        if (!shared) {
            shared = iocd_arena_alloc(b->arena, msg->n_properties * sizeof(*shared));
            if (!shared)
                return -1;
            for (size_t k = 0; k < msg->n_properties; k++) {
                ioc__v1__event__attributes_entry__init(&shared[k]);
                shared[k].key = (char *)msg->properties[k].name;
                shared[k].value = (char *)msg->properties[k].value;
            }
        }
        size_t n = e->n_attributes;
        if (n)
            memcpy(arr, e->attributes, n * sizeof(*arr));
        for (size_t k = 0; k < msg->n_properties; k++)
            if (!has_attribute(e, msg->properties[k].name))
                arr[n++] = &shared[k];
        e->attributes = arr;
        e->n_attributes = n;
    }
    return 0;
}

int iocd_properties_apply(const struct iocd_message *msg, struct iocd_batch *b)
{
    if (!msg->n_properties)
        return 0;
    return apply_labels(msg, b) || apply_attributes(msg, b) ? -1 : 0;
}
