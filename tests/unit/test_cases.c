/* tests/unit/test_cases.c — open cases (daemon/aggregate/cases.c): a case
 * opens on its first update and keeps its earliest time, its resolving
 * update gives the exact time it took and closes it, a repeated or
 * start-less resolve gives nothing, the bound is counted, and the table
 * stays exact through many opens and closes in scrambled order (backward-
 * shift deletion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "daemon/aggregate/cases.h"

static void one_case(void **state)
{
    (void)state;
    struct iocd_cases *c = iocd_cases_new(10);
    int64_t took = -1;
    assert_int_equal(iocd_cases_update(c, "reports", "PK-1", 1000, "new", &took), 0);
    assert_int_equal(iocd_cases_update(c, "reports", "PK-1", 5000, "assigned", &took), 0);
    /* a late first step moves the start back */
    assert_int_equal(iocd_cases_update(c, "reports", "PK-1", 400, "received", &took), 0);
    /* same id, other source: another case */
    assert_int_equal(iocd_cases_update(c, "other", "PK-1", 0, "new", &took), 0);
    assert_int_equal(iocd_cases_open(c), 2);
    assert_int_equal(iocd_cases_update(c, "reports", "PK-1", 90400, "resolved", &took), 1);
    assert_int_equal(took, 90000);
    assert_int_equal(iocd_cases_open(c), 1);
    took = -1;
    assert_int_equal(iocd_cases_update(c, "reports", "PK-1", 90400, "resolved", &took), 0);
    assert_int_equal(iocd_cases_update(c, "reports", "PK-9", 10, "closed", &took), 0);
    assert_int_equal(took, -1);
    assert_int_equal(iocd_cases_open(c), 1);
    iocd_cases_restore(c, "reports", "PK-2", 100);
    assert_int_equal(iocd_cases_update(c, "reports", "PK-2", 2100, "done", &took), 1);
    assert_int_equal(took, 2000);
    assert_true(iocd_case_status_resolves("resolved"));
    assert_false(iocd_case_status_resolves("rejected"));
    assert_false(iocd_case_status_resolves(""));
    iocd_cases_free(c);
}

static void bound_counted(void **state)
{
    (void)state;
    struct iocd_cases *c = iocd_cases_new(2);
    int64_t took;
    assert_int_equal(iocd_cases_update(c, "s", "a", 1, "new", &took), 0);
    assert_int_equal(iocd_cases_update(c, "s", "b", 1, "new", &took), 0);
    assert_int_equal(iocd_cases_update(c, "s", "c", 1, "new", &took), -1);
    assert_int_equal(iocd_cases_untracked(c), 1);
    assert_int_equal(iocd_cases_update(c, "s", "a", 11, "resolved", &took), 1);
    assert_int_equal(took, 10);
    assert_int_equal(iocd_cases_update(c, "s", "c", 1, "new", &took), 0);
    assert_int_equal(iocd_cases_open(c), 2);
    iocd_cases_free(c);
}

static void many_scrambled(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct iocd_cases *c = iocd_cases_new(N);
    char id[32];
    int64_t took;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "C-%d", i);
        assert_int_equal(iocd_cases_update(c, "r", id, i, "new", &took), 0);
    }
    /* close every case with an odd index, in a scrambled order */
    for (int k = 0; k < N; k++) {
        int i = (int)(((uint64_t)k * 7919u) % N);
        if (i % 2 == 0)
            continue;
        snprintf(id, sizeof(id), "C-%d", i);
        assert_int_equal(iocd_cases_update(c, "r", id, i + 1000, "resolved", &took), 1);
        assert_int_equal(took, 1000);
    }
    assert_int_equal(iocd_cases_open(c), N / 2);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "C-%d", i);
        int rc = iocd_cases_update(c, "r", id, i + 5, "closed", &took);
        assert_int_equal(rc, i % 2 == 0 ? 1 : 0);
        if (rc == 1)
            assert_int_equal(took, 5);
    }
    assert_int_equal(iocd_cases_open(c), 0);
    iocd_cases_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_case),
        cmocka_unit_test(bound_counted),
        cmocka_unit_test(many_scrambled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
