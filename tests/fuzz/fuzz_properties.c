/* tests/fuzz/fuzz_properties.c — libFuzzer target for the MQTT 5 user
 * properties of a message becoming labels and attributes
 * (daemon/ingest/properties.c), and for the split of a shared subscription
 * (iocd_topic_share_filter, daemon/base/topic.c).
 *
 * Owns: per input, one libmosquitto property list (freed before return)
 * and the batch on a process-lifetime arena (reset per input). The input
 * is: byte 0, how many observations (low 3 bits) and events (next 2 bits)
 * the "adapter" made, and whether two observations share one label array
 * as the influx decoder builds them (bit 5); then NUL-separated strings,
 * in pairs: the first pair is the adapter's own label, every later pair a
 * user property (libmosquitto refuses pairs that are not valid MQTT
 * strings, as it would on the wire). The whole input up to its first NUL
 * is also split as a subscription. Checked: what is taken respects every
 * limit and names are distinct; taken + dropped = offered; every item has
 * its adapter label unchanged and first, then each property whose name the
 * adapter did not use, exactly once; a shared label array is left alone;
 * everything packs. Violations abort. */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/topic.h"
#include "daemon/ingest/properties.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_properties: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_STRINGS 64

static void check_share(const char *sub)
{
    const char *f = iocd_topic_share_filter(sub);
    if (strncmp(sub, "$share/", 7) != 0) {
        CHECK(f == sub);
        return;
    }
    if (!f)
        return;
    /* "$share/" GROUP "/" FILTER, GROUP without '/', '+' and '#'. */
    CHECK(f > sub + 8 && f <= sub + strlen(sub) && f[-1] == '/' && *f);
    for (const char *g = sub + 7; g < f - 1; g++)
        CHECK(*g != '/' && *g != '+' && *g != '#');
}

static bool has_key(Ioc__V1__Observation__LabelsEntry **l, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i]->key, k) == 0)
            return true;
    return false;
}

/* Item labels (or attributes, the same layout through these arrays):
 * the adapter's one first and unchanged, then each taken property the
 * adapter's name did not hide, in order, once. */
static void check_item(char **keys, char **values, size_t n, const char *own_key,
                       const char *own_value, const struct iocd_message *msg)
{
    size_t at = 0;
    if (own_key) {
        CHECK(n >= 1 && strcmp(keys[0], own_key) == 0 && strcmp(values[0], own_value) == 0);
        at = 1;
    }
    for (size_t k = 0; k < msg->n_properties; k++) {
        if (own_key && strcmp(msg->properties[k].name, own_key) == 0)
            continue;
        CHECK(at < n && keys[at] == msg->properties[k].name &&
              values[at] == msg->properties[k].value);
        at++;
    }
    CHECK(at == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct iocd_arena arena;
    static bool ready;
    if (!ready) {
        iocd_arena_init(&arena, 4u << 20);
        ready = true;
    }
    if (size < 1 || size > 65536)
        return 0;
    char *text = malloc(size); /* data[1..] with a final NUL */
    CHECK(text);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    check_share(text);

    const char *str[MAX_STRINGS];
    size_t n_str = 0;
    for (size_t i = 0; i < size - 1 && n_str < MAX_STRINGS; i += strlen(text + i) + 1)
        str[n_str++] = text + i;
    const char *own_key = n_str >= 2 && str[0][0] ? str[0] : NULL;
    const char *own_value = own_key ? str[1] : NULL;
    mosquitto_property *props = NULL;
    unsigned offered = 0;
    for (size_t i = 2; i + 1 < n_str; i += 2)
        if (mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, str[i],
                                               str[i + 1]) == MOSQ_ERR_SUCCESS)
            offered++;

    struct iocd_batch b;
    iocd_batch_init(&b, &arena);
    size_t n_obs = data[0] & 7, n_ev = (data[0] >> 3) & 3;
    bool share_array = (data[0] >> 5) & 1;
    for (size_t i = 0; i < n_obs; i++) {
        Ioc__V1__Observation *o = iocd_batch_add_observation(&b);
        CHECK(o);
        if (!own_key)
            continue;
        if (share_array && i > 0) { /* the influx decoder's shared array */
            o->labels = b.obs[0]->labels;
            o->n_labels = b.obs[0]->n_labels;
        } else {
            CHECK(iocd_observation_add_label(&b, o, own_key, own_value) == 0);
        }
    }
    for (size_t i = 0; i < n_ev; i++) {
        Ioc__V1__Event *e = iocd_batch_add_event(&b);
        CHECK(e);
        if (own_key)
            CHECK(iocd_event_add_attribute(&b, e, own_key, own_value) == 0);
    }
    Ioc__V1__Observation__LabelsEntry **shared = n_obs ? b.obs[0]->labels : NULL;

    struct iocd_message msg = {.topic = "t"};
    CHECK(iocd_properties_take(props, &msg, &b) == 0);
    CHECK(msg.n_properties <= IOCD_USER_PROPERTIES_MAX);
    CHECK((msg.n_properties == 0) == (msg.properties == NULL));
    CHECK(msg.n_properties + b.notes[IOCD_NOTE_PROPERTY_DROPPED] == offered);
    for (size_t k = 0; k < msg.n_properties; k++) {
        size_t ln = strlen(msg.properties[k].name);
        CHECK(ln >= 1 && ln <= IOCD_USER_PROPERTY_NAME_MAX);
        CHECK(strlen(msg.properties[k].value) <= IOCD_USER_PROPERTY_VALUE_MAX);
        for (size_t j = 0; j < k; j++)
            CHECK(strcmp(msg.properties[j].name, msg.properties[k].name) != 0);
    }

    CHECK(iocd_properties_apply(&msg, &b) == 0);
    if (shared && own_key)
        CHECK(strcmp(shared[0]->key, own_key) == 0);
    char *keys[IOCD_USER_PROPERTIES_MAX + 1], *values[IOCD_USER_PROPERTIES_MAX + 1];
    for (size_t i = 0; i < b.n_obs; i++) {
        Ioc__V1__Observation *o = b.obs[i];
        CHECK(o->n_labels <= IOCD_USER_PROPERTIES_MAX + 1);
        CHECK(msg.n_properties == 0 || !share_array || i == 0 || o->labels != shared);
        for (size_t k = 0; k < o->n_labels; k++) {
            keys[k] = o->labels[k]->key;
            values[k] = o->labels[k]->value;
            CHECK(!has_key(o->labels, k, keys[k]));
        }
        check_item(keys, values, o->n_labels, own_key, own_value, &msg);
        size_t len = ioc__v1__observation__get_packed_size(o);
        uint8_t *buf = iocd_arena_alloc(&arena, len ? len : 1);
        CHECK(buf && ioc__v1__observation__pack(o, buf) == len);
    }
    for (size_t i = 0; i < b.n_events; i++) {
        Ioc__V1__Event *e = b.events[i];
        CHECK(e->n_attributes <= IOCD_USER_PROPERTIES_MAX + 1);
        for (size_t k = 0; k < e->n_attributes; k++) {
            keys[k] = e->attributes[k]->key;
            values[k] = e->attributes[k]->value;
        }
        check_item(keys, values, e->n_attributes, own_key, own_value, &msg);
        size_t len = ioc__v1__event__get_packed_size(e);
        uint8_t *buf = iocd_arena_alloc(&arena, len ? len : 1);
        CHECK(buf && ioc__v1__event__pack(e, buf) == len);
    }
    iocd_batch_reset(&b);
    mosquitto_property_free_all(&props);
    free(text);
    return 0;
}
