/* tests/unit/test_config_diff.c — what a reload would change
 * (daemon/config/diff.c): every core key is comparable, restart-only keys
 * are named in the refusal (exact text), feeds and alert rules are mapped by
 * name as same, changed or added, a changed rule keeps its state only when
 * it matches, measures and windows the same, and the [aqi] feed cannot go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config/diff.h"

int iocd_config_diff_known(const struct iocd_key *k);

#define AIR                                                                                        \
    "[adapter air]\n"                                                                              \
    "topic = city/air/+/data\n"                                                                    \
    "format = json\n"                                                                              \
    "device = $.id\n"                                                                              \
    "metric.x = $.x\n"
#define WATER                                                                                      \
    "[adapter water]\n"                                                                            \
    "topic = city/water/+\n"                                                                       \
    "format = json\n"                                                                              \
    "device = $.id\n"                                                                              \
    "metric.level = $.l\n"
#define RULE(name, above, window)                                                                  \
    "[alert " name "]\n"                                                                           \
    "type = threshold\n"                                                                           \
    "match = air/+/x\n"                                                                            \
    "stat = mean\n"                                                                                \
    "window = " window "\n"                                                                        \
    "above = " above "\n"

static void load(struct iocd_config *c, const char *text)
{
    struct iocd_error err;
    if (iocd_config_load_string(c, "t.conf", text, &err) != 0)
        fail_msg("%s", err.msg);
}

/* diff of two texts: 0 with *d, or -1 with the message in msg. */
static int diff(const char *a, const char *b, struct iocd_config_diff *d, char *msg, size_t n)
{
    struct iocd_config ca, cb;
    load(&ca, a);
    load(&cb, b);
    struct iocd_error err;
    err.msg[0] = '\0';
    int rc = iocd_config_diff(&ca, &cb, d, &err);
    snprintf(msg, n, "%s", err.msg);
    iocd_config_free(&ca);
    iocd_config_free(&cb);
    return rc;
}

static void every_core_key_is_comparable(void **state)
{
    (void)state;
    for (size_t i = 0; i < iocd_core_n_keys; i++)
        if (!iocd_config_diff_known(&iocd_core_keys[i]))
            fail_msg("[%s] %s: diff.c cannot compare it", iocd_core_keys[i].section,
                     iocd_core_keys[i].name);
}

static void restart_only_keys_named(void **state)
{
    (void)state;
    struct iocd_config_diff d;
    char msg[512];
    assert_int_equal(diff("[store]\npath = /a.db\n" AIR,
                          "[store]\npath = /b.db\nresolutions = 1m 1h\n[http]\nlisten = "
                          "127.0.0.1:9\n" AIR,
                          &d, msg, sizeof(msg)),
                     -1);
    /* air's windows follow [store] resolutions: they change too. */
    assert_string_equal(msg, "[store] path, [store] resolutions, [http] listen, [adapter air] "
                             "resolutions change only with a restart");
    assert_int_equal(diff("[store]\npath = /a.db\n" AIR,
                          "[store]\npath = /a.db\n[live]\nprefix = x/y\n" AIR, &d, msg,
                          sizeof(msg)),
                     -1);
    assert_string_equal(msg, "[live] prefix changes only with a restart");
    /* Live keys: no refusal, and the sections flagged. */
    assert_int_equal(diff("[store]\npath = /a.db\n" AIR,
                          "[store]\npath = /a.db\nraw_retention = 72h\n[mqtt]\nport = 1884\n"
                          "[log]\nlevel = debug\n[devices]\nstale_multiple = 4\n" AIR,
                          &d, msg, sizeof(msg)),
                     0);
    assert_true(d.mqtt_changed);
    assert_true(d.log_changed);
    assert_int_equal(d.adapters_changed + d.adapters_added + d.adapters_removed, 0);
    iocd_config_diff_free(&d);
}

static void feeds_mapped_by_name(void **state)
{
    (void)state;
    struct iocd_config_diff d;
    char msg[512];
    /* water added before air; air's metric changed in the second. */
    assert_int_equal(diff("[store]\npath = /a.db\n" AIR, "[store]\npath = /a.db\n" WATER AIR,
                          &d, msg, sizeof(msg)),
                     0);
    assert_int_equal(d.adapter_from[0], -1);
    assert_int_equal(d.adapter_kind[0], IOCD_DIFF_ADDED);
    assert_int_equal(d.adapter_from[1], 0);
    assert_int_equal(d.adapter_kind[1], IOCD_DIFF_SAME);
    assert_int_equal(d.adapters_added, 1);
    iocd_config_diff_free(&d);
    assert_int_equal(diff("[store]\npath = /a.db\n" WATER AIR,
                          "[store]\npath = /a.db\n" AIR "metric.y = $.y\n", &d, msg, sizeof(msg)),
                     0);
    assert_int_equal(d.adapter_from[0], 1);
    assert_int_equal(d.adapter_kind[0], IOCD_DIFF_CHANGED);
    assert_int_equal(d.adapters_removed, 1);
    assert_int_equal(d.adapters_changed, 1);
    iocd_config_diff_free(&d);
    /* A feed's own resolutions cannot change under open windows. */
    assert_int_equal(diff("[store]\npath = /a.db\n" AIR,
                          "[store]\npath = /a.db\n" AIR "resolutions = 1m\n", &d, msg,
                          sizeof(msg)),
                     -1);
    assert_string_equal(msg, "[adapter air] resolutions changes only with a restart");
    /* The VN_AQI feed stays. */
    assert_int_equal(diff("[store]\npath = /a.db\n[aqi]\nadapter = air\n" AIR WATER,
                          "[store]\npath = /a.db\n[aqi]\nadapter = air\n" AIR "source = other\n" WATER,
                          &d, msg, sizeof(msg)),
                     -1);
    assert_string_equal(msg, "[adapter air] (the [aqi] feed) removed or its source changes only "
                             "with a restart");
}

#define GROUP(name, pattern)                                                                       \
    "[group " name "]\n"                                                                           \
    "kind = merged\n"                                                                              \
    "members = " pattern "\n"                                                                      \
    "series = air/" name "/x\n"

/* [group] sections are restart-only (docs/groups.md): added, removed,
 * moved or changed, each named; unchanged ones reload. */
static void groups_restart_only(void **state)
{
    (void)state;
    struct iocd_config_diff d;
    char msg[512];
    const char *base = "[store]\npath = /a.db\n" AIR GROUP("a", "air/+/x") GROUP("b", "air/#");
    assert_int_equal(diff(base, base, &d, msg, sizeof(msg)), 0);
    iocd_config_diff_free(&d);
    assert_int_equal(diff(base, "[store]\npath = /a.db\n" AIR GROUP("a", "air/+/y") GROUP("b", "air/#"),
                          &d, msg, sizeof(msg)),
                     -1);
    assert_string_equal(msg, "[group a] changes only with a restart");
    assert_int_equal(diff(base, "[store]\npath = /a.db\n" AIR GROUP("b", "air/#") GROUP("a", "air/+/x"),
                          &d, msg, sizeof(msg)),
                     -1);
    assert_string_equal(msg, "[group b], [group a] change only with a restart");
    assert_int_equal(diff(base, "[store]\npath = /a.db\n" AIR GROUP("a", "air/+/x") GROUP("c", "air/#"),
                          &d, msg, sizeof(msg)),
                     -1);
    assert_string_equal(msg, "[group c] (added), [group b] (removed) change only with a restart");
}

static void rules_mapped_by_name(void **state)
{
    (void)state;
    struct iocd_config_diff d;
    char msg[512];
    assert_int_equal(diff("[store]\npath = /a.db\n" AIR RULE("a", "5", "1h") RULE("b", "5", "1h")
                              RULE("c", "5", "1h"),
                          "[store]\npath = /a.db\n" AIR RULE("c", "5", "1h") RULE("b", "6", "1h")
                              RULE("a", "5", "10m") RULE("d", "1", "1h"),
                          &d, msg, sizeof(msg)),
                     0);
    /* c same, b new level (state kept), a new window (afresh), d added */
    assert_int_equal(d.rule_from[0], 2);
    assert_int_equal(d.rule_kind[0], IOCD_DIFF_SAME);
    assert_true(d.rule_keeps_state[0]);
    assert_int_equal(d.rule_from[1], 1);
    assert_int_equal(d.rule_kind[1], IOCD_DIFF_CHANGED);
    assert_true(d.rule_keeps_state[1]);
    assert_int_equal(d.rule_from[2], 0);
    assert_int_equal(d.rule_kind[2], IOCD_DIFF_CHANGED);
    assert_false(d.rule_keeps_state[2]);
    assert_int_equal(d.rule_from[3], -1);
    assert_int_equal(d.rule_kind[3], IOCD_DIFF_ADDED);
    assert_int_equal(d.rules_added, 1);
    assert_int_equal(d.rules_changed, 2);
    assert_int_equal(d.rules_removed, 0);
    iocd_config_diff_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_core_key_is_comparable),
        cmocka_unit_test(restart_only_keys_named),
        cmocka_unit_test(groups_restart_only),
        cmocka_unit_test(feeds_mapped_by_name),
        cmocka_unit_test(rules_mapped_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
