/* tests/unit/test_router.c — which adapter a received topic goes to
 * (daemon/ingest/router.c), shared subscriptions included: the router
 * matches the FILTER of "$share/GROUP/FILTER", never the subscription
 * string itself; and iocd_topic_share_filter (daemon/base/topic.c), which
 * splits one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/base/topic.h"
#include "daemon/config/config.h"
#include "daemon/ingest/router.h"

static void test_share_filter(void **state)
{
    (void)state;
    const char *plain = "city/air/+/data";
    assert_ptr_equal(iocd_topic_share_filter(plain), plain);
    const char *shared = "$share/iocd/city/air/+/data";
    assert_ptr_equal(iocd_topic_share_filter(shared), shared + 12);
    assert_string_equal(iocd_topic_share_filter("$share/g/#"), "#");
    assert_string_equal(iocd_topic_share_filter("$share/g/$SYS/x"), "$SYS/x");
    assert_string_equal(iocd_topic_share_filter("$share/a-b.c/x//y"), "x//y");
    /* Not a shared subscription: the string is the filter. */
    const char *others[] = {"$shared/g/a", "a/$share/g/b", "$share", "$SYS/#", "#"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_ptr_equal(iocd_topic_share_filter(others[i]), others[i]);
    /* Malformed shared subscriptions. */
    const char *bad[] = {"$share/", "$share/g", "$share/g/", "$share//a", "$share/+/a",
                         "$share/g#/a", "$share/#"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(iocd_topic_share_filter(bad[i]));
    assert_null(iocd_topic_share_filter(NULL));
}

static void test_router_matches_filter_part(void **state)
{
    (void)state;
    static const char text[] = "[live]\nprefix =\n" /* "#" would take iocd's own output */
                               "[adapter air]\n"
                               "topic = $share/iocd/city/air/+/data\n"
                               "format = json\ndevice = $.id\nmetric.x = $.x\n"
                               "[adapter water]\n"
                               "topic = city/water/#\n"
                               "format = json\ndevice = $.id\nmetric.x = $.x\n"
                               "[adapter all]\n"
                               "topic = $share/other/#\n"
                               "format = json\ndevice = $.id\nmetric.x = $.x\n";
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    if (iocd_config_load_string(&cfg, "t.conf", text, &err))
        fail_msg("load failed: %s", err.msg);
    struct iocd_router r = {.cfg = &cfg};
    assert_int_equal(iocd_router_match(&r, "city/air/pk-01/data"), 0);
    assert_int_equal(iocd_router_match(&r, "city/water/w1/level"), 1);
    assert_int_equal(iocd_router_match(&r, "city/water"), 1);
    /* Not under the air filter: the shared catch-all takes it. */
    assert_int_equal(iocd_router_match(&r, "city/air/pk-01/data/x"), 2);
    assert_int_equal(iocd_router_match(&r, "anything"), 2);
    /* A received topic is never "$share/...": matched as any topic
     * starting with '$', which '#' in the first level does not take. */
    assert_int_equal(iocd_router_match(&r, "$share/iocd/city/air/pk-01/data"), -1);
    assert_int_equal(iocd_router_match(&r, "$SYS/broker/uptime"), -1);
    iocd_config_free(&cfg);
    /* With the republish on (no [live] section: prefix ioc/v1), a shared
     * "#" is refused like a plain one. */
    if (iocd_config_load_string(&cfg, "t.conf", text + 16, &err) == 0)
        fail_msg("loaded");
    assert_string_equal(err.msg, "t.conf: [live] prefix 'ioc/v1' would be consumed by [adapter "
                                 "all] (topic $share/other/#): iocd never takes its own output");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share_filter),
        cmocka_unit_test(test_router_matches_filter_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
