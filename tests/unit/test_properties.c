/* tests/unit/test_properties.c — MQTT v5 user properties as labels
 * (daemon/ingest/properties.c): taken into the message in order, limits
 * (count, name and value length, repeated names) noted as
 * property_dropped, added to every Observation and Event without touching
 * a label array the decoder shares, a label the adapter set winning, and
 * nothing allocated for a message without properties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/ingest/properties.h"

struct fx {
    struct iocd_arena arena;
    struct iocd_batch batch;
    mosquitto_property *props;
};

static int setup(void **state)
{
    static struct fx f;
    memset(&f, 0, sizeof(f));
    iocd_arena_init(&f.arena, 1u << 20);
    iocd_batch_init(&f.batch, &f.arena);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mosquitto_property_free_all(&f->props);
    iocd_arena_free(&f->arena);
    return 0;
}

static void add(struct fx *f, const char *name, const char *value)
{
    assert_int_equal(mosquitto_property_add_string_pair(&f->props, MQTT_PROP_USER_PROPERTY, name,
                                                        value),
                     MOSQ_ERR_SUCCESS);
}

static const char *label(const Ioc__V1__Observation *o, const char *key)
{
    for (size_t i = 0; i < o->n_labels; i++)
        if (strcmp(o->labels[i]->key, key) == 0)
            return o->labels[i]->value;
    return NULL;
}

static void test_none_costs_nothing(void **state)
{
    struct fx *f = *state;
    struct iocd_message msg = {.topic = "t", .properties = (void *)1, .n_properties = 9};
    assert_int_equal(iocd_properties_take(NULL, &msg, &f->batch), 0);
    assert_null(msg.properties);
    assert_int_equal(msg.n_properties, 0);
    /* Only other properties (a content type): no user property taken. */
    assert_int_equal(mosquitto_property_add_string(&f->props, MQTT_PROP_CONTENT_TYPE, "json"),
                     MOSQ_ERR_SUCCESS);
    assert_int_equal(iocd_properties_take(f->props, &msg, &f->batch), 0);
    assert_int_equal(msg.n_properties, 0);
    Ioc__V1__Observation *o = iocd_batch_add_observation(&f->batch);
    size_t used = f->arena.used;
    assert_int_equal(iocd_properties_apply(&msg, &f->batch), 0);
    assert_int_equal(o->n_labels, 0);
    assert_int_equal(f->arena.used, used);
    assert_int_equal(f->batch.notes[IOCD_NOTE_PROPERTY_DROPPED], 0);
}

static void test_labels_and_attributes(void **state)
{
    struct fx *f = *state;
    add(f, "district", "Hội Thương");
    assert_int_equal(mosquitto_property_add_string(&f->props, MQTT_PROP_CONTENT_TYPE, "json"),
                     MOSQ_ERR_SUCCESS);
    add(f, "lane", "2");
    add(f, "site", "");
    struct iocd_message msg = {.topic = "t"};
    assert_int_equal(iocd_properties_take(f->props, &msg, &f->batch), 0);
    assert_int_equal(msg.n_properties, 3);
    assert_string_equal(msg.properties[0].name, "district");
    assert_string_equal(msg.properties[0].value, "Hội Thương");
    assert_string_equal(msg.properties[1].name, "lane");
    assert_string_equal(msg.properties[2].value, "");

    /* Two observations sharing one label array, as the influx decoder
     * builds them; the adapter's own "lane" wins. */
    Ioc__V1__Observation *a = iocd_batch_add_observation(&f->batch);
    assert_int_equal(iocd_observation_add_label(&f->batch, a, "lane", "7"), 0);
    Ioc__V1__Observation *b = iocd_batch_add_observation(&f->batch);
    b->labels = a->labels;
    b->n_labels = a->n_labels;
    Ioc__V1__Observation__LabelsEntry **shared = a->labels;
    Ioc__V1__Event *e = iocd_batch_add_event(&f->batch);
    assert_int_equal(iocd_event_add_attribute(&f->batch, e, "site", "kiosk"), 0);

    assert_int_equal(iocd_properties_apply(&msg, &f->batch), 0);
    for (int i = 0; i < 2; i++) {
        Ioc__V1__Observation *o = i ? b : a;
        assert_int_equal(o->n_labels, 3);
        assert_string_equal(o->labels[0]->key, "lane");
        assert_string_equal(label(o, "lane"), "7");
        assert_string_equal(label(o, "district"), "Hội Thương");
        assert_string_equal(label(o, "site"), "");
        assert_ptr_not_equal(o->labels, shared);
    }
    assert_ptr_not_equal(a->labels, b->labels);
    assert_int_equal(shared[0]->key[0], 'l'); /* the decoder's array untouched */
    assert_int_equal(e->n_attributes, 3);
    assert_string_equal(e->attributes[0]->key, "site");
    assert_string_equal(e->attributes[0]->value, "kiosk");
    assert_string_equal(e->attributes[1]->key, "district");
    assert_string_equal(e->attributes[2]->key, "lane");
    assert_string_equal(e->attributes[2]->value, "2");
    assert_int_equal(f->batch.notes[IOCD_NOTE_PROPERTY_DROPPED], 0);
    /* The labels pack: protobuf-c sees a well-formed map. */
    uint8_t buf[512];
    size_t n = ioc__v1__observation__pack(a, buf);
    Ioc__V1__Observation *back = ioc__v1__observation__unpack(NULL, n, buf);
    assert_non_null(back);
    assert_int_equal(back->n_labels, 3);
    ioc__v1__observation__free_unpacked(back, NULL);
}

static void test_limits(void **state)
{
    struct fx *f = *state;
    char name[80], value[300];
    memset(name, 'n', IOCD_USER_PROPERTY_NAME_MAX + 1);
    name[IOCD_USER_PROPERTY_NAME_MAX + 1] = '\0';
    add(f, name, "too long a name");                           /* dropped */
    name[IOCD_USER_PROPERTY_NAME_MAX] = '\0';
    add(f, name, "longest name");                              /* kept: 1 */
    memset(value, 'v', IOCD_USER_PROPERTY_VALUE_MAX + 1);
    value[IOCD_USER_PROPERTY_VALUE_MAX + 1] = '\0';
    add(f, "big", value);                                      /* dropped */
    value[IOCD_USER_PROPERTY_VALUE_MAX] = '\0';
    add(f, "big", value);                                      /* kept: 2 */
    add(f, "big", "again");                                    /* dropped: repeated */
    add(f, "", "empty name");                                  /* dropped */
    for (int i = 0; i < IOCD_USER_PROPERTIES_MAX; i++) {       /* 14 kept, 2 dropped */
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        add(f, k, "x");
    }
    struct iocd_message msg = {.topic = "t"};
    assert_int_equal(iocd_properties_take(f->props, &msg, &f->batch), 0);
    assert_int_equal(msg.n_properties, IOCD_USER_PROPERTIES_MAX);
    assert_int_equal(strlen(msg.properties[0].name), IOCD_USER_PROPERTY_NAME_MAX);
    assert_string_equal(msg.properties[1].name, "big");
    assert_int_equal(strlen(msg.properties[1].value), IOCD_USER_PROPERTY_VALUE_MAX);
    assert_string_equal(msg.properties[2].name, "k0");
    assert_string_equal(msg.properties[15].name, "k13");
    assert_int_equal(f->batch.notes[IOCD_NOTE_PROPERTY_DROPPED], 6);
    assert_string_equal(f->batch.note_detail,
                        "user property 'k15' dropped: more than 16 user properties");
}

/* The arena's limit reached: -1, never a crash. */
static void test_out_of_memory(void **state)
{
    struct fx *f = *state;
    add(f, "a", "b");
    struct iocd_arena small;
    iocd_arena_init(&small, 16);
    struct iocd_batch b;
    iocd_batch_init(&b, &small);
    struct iocd_message msg = {.topic = "t"};
    assert_int_equal(iocd_properties_take(f->props, &msg, &b), -1);
    assert_int_equal(msg.n_properties, 0);
    iocd_arena_free(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_none_costs_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_and_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
