/* tests/unit/test_dedup.c — the duplicate horizon: exact membership, FIFO
 * eviction, and agreement with a brute-force model under heavy churn
 * (which exercises the table's backward-shift deletion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/aggregate/dedup.h"

static void test_off_and_basic(void **state)
{
    (void)state;
    assert_null(iocd_dedup_new(0));
    assert_false(iocd_dedup_check(NULL, 1, 5)); /* off: nothing is a duplicate */
    struct iocd_dedup *d = iocd_dedup_new(3);
    assert_non_null(d);
    assert_false(iocd_dedup_check(d, 1, 1000));
    assert_true(iocd_dedup_check(d, 1, 1000));
    assert_false(iocd_dedup_check(d, 2, 1000)); /* other series, same time */
    assert_false(iocd_dedup_check(d, 1, 1001)); /* same series, other time */
    assert_int_equal(iocd_dedup_size(d), 3);
    /* Full: the next new key evicts the oldest, (1, 1000). */
    assert_false(iocd_dedup_check(d, 3, -5));
    assert_int_equal(iocd_dedup_size(d), 3);
    assert_true(iocd_dedup_check(d, 2, 1000));
    assert_true(iocd_dedup_check(d, 1, 1001));
    assert_true(iocd_dedup_check(d, 3, -5));
    assert_false(iocd_dedup_check(d, 1, 1000)); /* forgotten, so new again */
    assert_true(iocd_dedup_check(d, 1, 1000));
    assert_false(iocd_dedup_check(d, 2, 1000)); /* (2,1000) was evicted by (1,1000) */
    iocd_dedup_free(d);
}

static uint64_t rng = 88172645463325252u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A brute-force model: the last `cap` distinct keys in insertion order. */
static void test_matches_model_under_churn(void **state)
{
    (void)state;
    enum { CAP = 1000, OPS = 200000, SPACE = 300 };
    struct iocd_dedup *d = iocd_dedup_new(CAP);
    uint32_t *ms = calloc(CAP, sizeof(*ms));
    int64_t *mt = calloc(CAP, sizeof(*mt));
    size_t head = 0, n = 0;
    size_t dups = 0;
    for (int op = 0; op < OPS; op++) {
        uint32_t s = (uint32_t)(next() % 7) + 1;
        int64_t t = (int64_t)(next() % SPACE) - SPACE / 2;
        int in_model = 0;
        for (size_t i = 0; i < n; i++)
            if (ms[i] == s && mt[i] == t)
                in_model = 1;
        /* The eviction prefetch is a hint: past the ring's end it wraps
         * (ASan checks that it reads only the ring), and it changes no answer. */
        iocd_dedup_prefetch_evictions(d, (size_t)op % 3 ? 32 : CAP + 7);
        int got = iocd_dedup_check(d, s, t);
        if (got != in_model)
            fail_msg("op %d: (%u, %lld): got %d, model %d", op, s, (long long)t, got, in_model);
        dups += (size_t)got;
        if (!in_model) {
            if (n < CAP) {
                ms[n] = s;
                mt[n] = t;
                n++;
            } else {
                ms[head] = s;
                mt[head] = t;
                head = (head + 1) % CAP;
            }
        }
    }
    assert_int_equal(iocd_dedup_size(d), CAP);
    assert_true(dups > OPS / 10); /* the churn really produced duplicates */
    free(ms);
    free(mt);
    iocd_dedup_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_and_basic),
        cmocka_unit_test(test_matches_model_under_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
