/* tests/unit/test_live_hub.c — what the live hub asks producers to build
 * (daemon/live/hub.c, iocd_live_needs): nothing without sinks; per kind,
 * the union of the forms its sinks read; JSON for the catch-up ring while a
 * live-stream sink is there and for IOCD_LIVE_RING_GRACE_MS after the last
 * one left (never with a ring of 0); and items reach only the sinks that
 * asked for their kind's forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/live/hub.h"

static void count(void *ud, const struct iocd_live_item *it)
{
    (void)it;
    (*(int *)ud)++;
}

static void test_needs_follow_sinks(void **state)
{
    struct iocd_live *l = iocd_live_new(8);
    assert_non_null(l);
    for (int k = 0; k < IOCD_LIVE__COUNT; k++)
        assert_int_equal(iocd_live_needs(l, (enum iocd_live_kind)k), 0);
    int n_rep = 0, n_sse = 0;
    /* A republisher of protobuf, observations off. */
    unsigned rep = iocd_live_add_sink(l, count, &n_rep,
                                      IOCD_LIVE_ALL_KINDS & ~(1u << IOCD_LIVE_OBS), IOCD_LIVE_PB);
    assert_int_not_equal(rep, 0);
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_OBS), 0);
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_WINDOW), IOCD_LIVE_PB);
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_STATUS), IOCD_LIVE_PB);
    /* A live-stream client of observations. */
    unsigned sse = iocd_live_add_sink(l, count, &n_sse, 1u << IOCD_LIVE_OBS,
                                      IOCD_LIVE_JSON | IOCD_LIVE_CATCHUP);
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_OBS), IOCD_LIVE_JSON);
    /* The ring keeps JSON of every kind for a client that catches up. */
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_WINDOW), IOCD_LIVE_PB | IOCD_LIVE_JSON);
    iocd_live_emit(l, IOCD_LIVE_OBS, "obs/a/b/c", "{}", 2, NULL, 0, false);
    assert_int_equal(n_sse, 1);
    /* The client leaves: the ring still wants JSON during the grace. */
    iocd_live_remove_sink(l, sse);
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_OBS), IOCD_LIVE_JSON);
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_WINDOW), IOCD_LIVE_PB | IOCD_LIVE_JSON);
    iocd_live_remove_sink(l, rep);
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_WINDOW), IOCD_LIVE_JSON);
    iocd_live_free(l);
}

static void test_no_ring_no_json(void **state)
{
    struct iocd_live *l = iocd_live_new(0);
    assert_non_null(l);
    int n = 0;
    unsigned sse = iocd_live_add_sink(l, count, &n, IOCD_LIVE_ALL_KINDS,
                                      IOCD_LIVE_JSON | IOCD_LIVE_CATCHUP);
    assert_int_equal(iocd_live_needs(l, IOCD_LIVE_ALERT), IOCD_LIVE_JSON);
    iocd_live_remove_sink(l, sse);
    for (int k = 0; k < IOCD_LIVE__COUNT; k++)
        assert_int_equal(iocd_live_needs(l, (enum iocd_live_kind)k), 0);
    iocd_live_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs_follow_sinks),
        cmocka_unit_test(test_no_ring_no_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
