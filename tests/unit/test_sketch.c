/* tests/unit/test_sketch.c — the quantile sketch (daemon/sketch.c): exact
 * bin representatives on small known sets, the relative error bound
 * against exact quantiles (same rank convention, floor(q*(n-1))) on
 * lognormal, Pareto, exponential and a mixed-sign distribution at n = 10,
 * 1000 and 100000, merge == sketch of the union (byte-equal encodings, any
 * order, with and without collapse), add_n, copy, the encoding (round trip,
 * size, every truncation and random bytes rejected, hand-made malformed
 * inputs), the bin cap collapse, memory, and the SQL functions through an
 * in-memory SQLite database (UPSERT merge, GROUP BY union, quantile, NULLs,
 * malformed blobs). Randomness is a seeded splitmix64: deterministic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "daemon/aggregate/sketch.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
    rng_state = seed;
}

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double rng_unit(void)
{
    return ((double)(rng_next() >> 11) + 0.5) * 0x1p-53;
}

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

/* The formula, computed here independently of sketch.c. */
static double gamma_of(double alpha)
{
    return (1.0 + alpha) / (1.0 - alpha);
}

static int index_of(double alpha, double v)
{
    return (int)ceil(log(fabs(v)) / log(gamma_of(alpha)));
}

static double rep_of(double alpha, int i)
{
    double g = gamma_of(alpha);
    return 2.0 * pow(g, (double)i) / (g + 1.0);
}

/* Signed representative of v's bin at alpha = 0.01. */
static double rep1(double v)
{
    if (fabs(v) < IOCD_SKETCH_MIN_INDEXABLE)
        return 0.0;
    double r = rep_of(0.01, index_of(0.01, v));
    return v < 0 ? -r : r;
}

static double quantile(const struct iocd_sketch *s, double q)
{
    double v = NAN;
    assert_int_equal(iocd_sketch_quantile(s, q, &v), 0);
    return v;
}

static void assert_double_eq(double got, double want)
{
    if (!(got == want))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Encodes s; the caller frees *buf. */
static size_t encode(const struct iocd_sketch *s, uint8_t **buf)
{
    size_t len = 0;
    assert_int_equal(iocd_sketch_encode(s, buf, &len), 0);
    return len;
}

static void assert_same_encoding(const struct iocd_sketch *a, const struct iocd_sketch *b)
{
    uint8_t *ea, *eb;
    size_t la = encode(a, &ea), lb = encode(b, &eb);
    assert_int_equal(la, lb);
    assert_memory_equal(ea, eb, la);
    free(ea);
    free(eb);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void add_all(struct iocd_sketch *s, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(iocd_sketch_add(s, v[i]), 0);
}

/* ---- small known sets ----------------------------------------------------- */

static void test_empty(void **state)
{
    (void)state;
    struct iocd_sketch s;
    iocd_sketch_init(&s);
    assert_int_equal(iocd_sketch_count(&s), 0);
    assert_true(iocd_sketch_alpha(&s) == 0.01);
    assert_null(s.pos.counts);
    assert_null(s.neg.counts);
    double v;
    assert_int_equal(iocd_sketch_quantile(&s, 0.5, &v), IOCD_SKETCH_EINVAL);
    uint8_t *buf;
    size_t len = encode(&s, &buf);
    static const uint8_t want[] = {1, 10, 0, 0, 0};
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(buf, want, len);
    struct iocd_sketch d;
    assert_int_equal(iocd_sketch_decode(buf, len, &d), 0);
    assert_int_equal(iocd_sketch_count(&d), 0);
    free(buf);
    iocd_sketch_free(&d);
    iocd_sketch_free(&s);
    iocd_sketch_free(&s); /* twice is fine */
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    struct iocd_sketch s;
    iocd_sketch_init(&s);
    assert_int_equal(iocd_sketch_add(&s, NAN), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_add(&s, INFINITY), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_add(&s, -INFINITY), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_add_n(&s, NAN, 0), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_count(&s), 0);
    assert_int_equal(iocd_sketch_add_n(&s, 3.0, 0), 0);
    assert_int_equal(iocd_sketch_count(&s), 0);
    assert_int_equal(iocd_sketch_add(&s, 3.0), 0);
    double v;
    assert_int_equal(iocd_sketch_quantile(&s, -0.01, &v), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_quantile(&s, 1.01, &v), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_quantile(&s, NAN, &v), IOCD_SKETCH_EINVAL);
    /* Count overflow: refused, nothing changed. */
    assert_int_equal(iocd_sketch_add_n(&s, 5.0, UINT64_MAX), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_add_n(&s, 0.0, UINT64_MAX), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_count(&s), 1);
    assert_int_equal(iocd_sketch_add_n(&s, 5.0, UINT64_MAX - 1), 0);
    assert_true(iocd_sketch_count(&s) == UINT64_MAX);
    assert_int_equal(iocd_sketch_add(&s, 0.0), IOCD_SKETCH_EINVAL);
    assert_double_eq(quantile(&s, 0.0), rep1(3.0));
    assert_double_eq(quantile(&s, 1.0), rep1(5.0));
    assert_double_eq(quantile(&s, 0.5), rep1(5.0));
    iocd_sketch_free(&s);

    assert_int_equal(iocd_sketch_init_alpha(&s, 0), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_init_alpha(&s, 256), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_init_alpha(&s, 1), 0);
    assert_true(iocd_sketch_alpha(&s) == 0.001);
    assert_int_equal(iocd_sketch_init_alpha(&s, 255), 0);
    assert_true(iocd_sketch_alpha(&s) == 0.255);
}

static void test_small_known_set(void **state)
{
    (void)state;
    static const double v[] = {4.0, 1.0, 5.0, 3.0, 2.0};
    struct iocd_sketch s;
    iocd_sketch_init(&s);
    add_all(&s, v, 5);
    assert_int_equal(iocd_sketch_count(&s), 5);
    /* rank = floor(q * 4): 0 -> 1.0, 0.5 -> rank 2 -> 3.0, 1 -> 5.0 */
    assert_double_eq(quantile(&s, 0.0), rep_of(0.01, index_of(0.01, 1.0)));
    assert_double_eq(quantile(&s, 0.0), 2.0 / (gamma_of(0.01) + 1.0)); /* bin 0 */
    assert_double_eq(quantile(&s, 0.5), rep_of(0.01, index_of(0.01, 3.0)));
    assert_double_eq(quantile(&s, 1.0), rep_of(0.01, index_of(0.01, 5.0)));
    assert_double_eq(quantile(&s, 0.74), rep1(3.0)); /* floor(2.96) = 2 */
    assert_double_eq(quantile(&s, 0.75), rep1(4.0)); /* 3 */
    assert_int_equal(index_of(0.01, 5.0), 81);      /* log(5)/log(1.0202...) = 80.47 */
    assert_int_equal(iocd_sketch_bin_index(&s, 5.0), 81);
    assert_int_equal(iocd_sketch_bin_index(&s, -5.0), 81);
    assert_double_eq(iocd_sketch_bin_value(&s, 81), rep_of(0.01, 81));
    assert_int_equal(iocd_sketch_bin_index(&s, 0.0), s.min_index);
    assert_int_equal(iocd_sketch_bin_index(&s, NAN), s.min_index);
    assert_int_equal(iocd_sketch_bin_index(&s, INFINITY), s.max_index);
    assert_true(iocd_sketch_bin_value(&s, s.max_index) <= DBL_MAX);
    assert_true(iocd_sketch_bin_value(&s, s.max_index + 5) == DBL_MAX);
    for (int k = 0; k < 5; k++) {
        double est = rep1(v[k]);
        assert_true(fabs(est - v[k]) <= 0.01 * v[k]);
    }
    iocd_sketch_free(&s);

    /* One value, repeated: every quantile is its bin. */
    iocd_sketch_init(&s);
    assert_int_equal(iocd_sketch_add_n(&s, 12.3, 7), 0);
    assert_double_eq(quantile(&s, 0.0), rep1(12.3));
    assert_double_eq(quantile(&s, 1.0), rep1(12.3));
    iocd_sketch_free(&s);
}

static void test_negatives_and_zeros(void **state)
{
    (void)state;
    static const double v[] = {7.0, -1.0, 0.0, -5.0, 2.0, -0.0, 1e-10, -3e-10};
    struct iocd_sketch s;
    iocd_sketch_init(&s);
    add_all(&s, v, 8);
    /* sorted: -5 -1 [0 -0 1e-10 -3e-10] 2 7; rank = floor(q * 7) */
    assert_int_equal(s.zero_count, 4);
    assert_int_equal(s.neg.n, 2);
    assert_int_equal(s.pos.n, 2);
    assert_double_eq(quantile(&s, 0.0), -rep_of(0.01, index_of(0.01, 5.0)));
    assert_double_eq(quantile(&s, 1.5 / 7.0), -rep_of(0.01, 0)); /* rank 1: -1 */
    assert_double_eq(quantile(&s, 2.5 / 7.0), 0.0);
    assert_double_eq(quantile(&s, 0.5), 0.0); /* floor(3.5) = 3 */
    assert_double_eq(quantile(&s, 5.5 / 7.0), 0.0);
    assert_double_eq(quantile(&s, 6.5 / 7.0), rep1(2.0));
    assert_double_eq(quantile(&s, 1.0), rep1(7.0));
    iocd_sketch_free(&s);

    /* Only negatives: monotonic, the largest is the closest to zero. */
    iocd_sketch_init(&s);
    static const double n3[] = {-100.0, -0.5, -20.0};
    add_all(&s, n3, 3);
    assert_double_eq(quantile(&s, 0.0), rep1(-100.0));
    assert_double_eq(quantile(&s, 0.5), rep1(-20.0));
    assert_double_eq(quantile(&s, 1.0), rep1(-0.5));
    iocd_sketch_free(&s);
}

static void test_extreme_values(void **state)
{
    (void)state;
    struct iocd_sketch s;
    iocd_sketch_init(&s);
    assert_int_equal(iocd_sketch_add(&s, DBL_MAX), 0);
    assert_int_equal(iocd_sketch_add(&s, -DBL_MAX), 0);
    assert_int_equal(iocd_sketch_add(&s, IOCD_SKETCH_MIN_INDEXABLE), 0);
    assert_int_equal(iocd_sketch_add(&s, DBL_MIN), 0);           /* zero bin */
    assert_int_equal(iocd_sketch_add(&s, 4.9406564584124654e-324), 0); /* denormal */
    double q1 = quantile(&s, 1.0), q0 = quantile(&s, 0.0);
    assert_true(isfinite(q1) && isfinite(q0));
    assert_true(q1 <= DBL_MAX && q1 >= DBL_MAX / 1.01);
    assert_true(q0 == -q1);
    assert_int_equal(s.zero_count, 2);
    /* The positive store spans 1e-9 .. DBL_MAX, more than MAX_BINS bins:
     * 1e-9 is collapsed into the lowest kept bin. */
    assert_int_equal(s.pos.hi - s.pos.lo + 1, IOCD_SKETCH_MAX_BINS);
    uint8_t *buf;
    size_t len = encode(&s, &buf);
    struct iocd_sketch d;
    assert_int_equal(iocd_sketch_decode(buf, len, &d), 0);
    assert_same_encoding(&s, &d);
    free(buf);
    iocd_sketch_free(&d);
    iocd_sketch_free(&s);
}

/* ---- error bound against exact quantiles ----------------------------------- */

enum dist { D_LOGNORMAL, D_PARETO, D_EXPONENTIAL, D_MIXTURE, D__COUNT };
static const char *const dist_name[] = {"lognormal(3,1.5)", "pareto(1.16)", "exponential(1)",
                                        "mixture(+/-,0)"};

static double draw(enum dist d)
{
    switch (d) {
    case D_LOGNORMAL:
        return exp(3.0 + 1.5 * rng_normal());
    case D_PARETO:
        return pow(rng_unit(), -1.0 / 1.16);
    case D_EXPONENTIAL:
        return -log(rng_unit());
    default: {
        double u = rng_unit();
        if (u < 0.10)
            return 0.0;
        if (u < 0.35)
            return -exp(1.0 + 2.0 * rng_normal()); /* negative, wide range */
        if (u < 0.60)
            return 10.0 * rng_normal(); /* both signs, values near zero */
        return exp(2.0 + rng_normal());
    }
    }
}

static void test_error_bound(void **state)
{
    (void)state;
    static const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999};
    static const size_t ns[] = {10, 1000, 100000};
    const double alpha = 0.01;
    for (int d = 0; d < D__COUNT; d++) {
        double worst = 0.0, worst_sweep = 0.0;
        for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
            size_t n = ns[k];
            rng_seed(0x5eed0000u + (uint64_t)d * 16 + k);
            double *v = malloc(n * sizeof(double));
            assert_non_null(v);
            struct iocd_sketch s;
            iocd_sketch_init(&s);
            for (size_t i = 0; i < n; i++) {
                v[i] = draw((enum dist)d);
                assert_int_equal(iocd_sketch_add(&s, v[i]), 0);
            }
            qsort(v, n, sizeof(double), cmp_double);
            double prev = -DBL_MAX;
            for (size_t j = 0; j < sizeof(qs) / sizeof(qs[0]); j++) {
                size_t r = (size_t)floor(qs[j] * (double)(n - 1));
                double exact = v[r], est = quantile(&s, qs[j]);
                double err = fabs(est - exact);
                if (!(err <= alpha * fabs(exact) * (1.0 + 1e-12) + IOCD_SKETCH_MIN_INDEXABLE))
                    fail_msg("%s n=%zu q=%g: estimate %.17g, exact %.17g", dist_name[d], n, qs[j],
                             est, exact);
                if (fabs(exact) >= IOCD_SKETCH_MIN_INDEXABLE && err / fabs(exact) > worst)
                    worst = err / fabs(exact);
                assert_true(est >= prev);
                prev = est;
            }
            /* And the bound at every q = k/1000. */
            for (int j = 0; j <= 1000; j++) {
                double q = j / 1000.0;
                double exact = v[(size_t)floor(q * (double)(n - 1))], est = quantile(&s, q);
                double err = fabs(est - exact);
                if (!(err <= alpha * fabs(exact) * (1.0 + 1e-12) + IOCD_SKETCH_MIN_INDEXABLE))
                    fail_msg("%s n=%zu q=%g: estimate %.17g, exact %.17g", dist_name[d], n, q,
                             est, exact);
                if (fabs(exact) >= IOCD_SKETCH_MIN_INDEXABLE && err / fabs(exact) > worst_sweep)
                    worst_sweep = err / fabs(exact);
            }
            free(v);
            iocd_sketch_free(&s);
        }
        print_message("error bound: %-18s max relative error %.6f at the 7 q, %.6f at every "
                      "q = k/1000 (bound %.2f)\n",
                      dist_name[d], worst, worst_sweep, alpha);
    }
}

/* ---- merge --------------------------------------------------------------- */

static void test_merge_halves(void **state)
{
    (void)state;
    for (int d = 0; d < D__COUNT; d++) {
        rng_seed(77 + (uint64_t)d);
        struct iocd_sketch all, a, b;
        iocd_sketch_init(&all);
        iocd_sketch_init(&a);
        iocd_sketch_init(&b);
        for (int i = 0; i < 20000; i++) {
            double x = draw((enum dist)d);
            assert_int_equal(iocd_sketch_add(&all, x), 0);
            assert_int_equal(iocd_sketch_add(i % 3 ? &a : &b, x), 0);
        }
        assert_int_equal(iocd_sketch_merge(&a, &b), 0); /* a += b */
        assert_same_encoding(&a, &all);
        assert_int_equal(iocd_sketch_count(&a), 20000);
        /* The other way round. */
        iocd_sketch_free(&a);
        iocd_sketch_free(&b);
        rng_seed(77 + (uint64_t)d);
        for (int i = 0; i < 20000; i++) {
            double x = draw((enum dist)d);
            assert_int_equal(iocd_sketch_add(i % 3 ? &a : &b, x), 0);
        }
        assert_int_equal(iocd_sketch_merge(&b, &a), 0);
        assert_same_encoding(&b, &all);
        iocd_sketch_free(&a);
        iocd_sketch_free(&b);
        iocd_sketch_free(&all);
    }
}

static void test_merge_many_and_empty(void **state)
{
    (void)state;
    /* 50 small sketches merged one by one into an empty one == all. */
    rng_seed(4242);
    struct iocd_sketch all, acc, part, empty;
    iocd_sketch_init(&all);
    iocd_sketch_init(&acc);
    iocd_sketch_init(&empty);
    for (int p = 0; p < 50; p++) {
        iocd_sketch_init(&part);
        for (int i = 0; i < 1 + p * 7; i++) {
            double x = draw(D_MIXTURE) * (1.0 + p);
            assert_int_equal(iocd_sketch_add(&part, x), 0);
            assert_int_equal(iocd_sketch_add(&all, x), 0);
        }
        assert_int_equal(iocd_sketch_merge(&acc, &part), 0);
        assert_int_equal(iocd_sketch_merge(&acc, &empty), 0);
        iocd_sketch_free(&part);
    }
    assert_same_encoding(&acc, &all);
    assert_int_equal(iocd_sketch_merge(&empty, &acc), 0);
    assert_same_encoding(&empty, &all);

    /* Merging a sketch into itself doubles it. */
    struct iocd_sketch twice;
    assert_int_equal(iocd_sketch_copy(&twice, &all), 0);
    assert_int_equal(iocd_sketch_merge(&twice, &twice), 0);
    assert_int_equal(iocd_sketch_merge(&all, &acc), 0);
    assert_same_encoding(&twice, &all);

    /* Different accuracy: refused, dst unchanged. */
    struct iocd_sketch other;
    assert_int_equal(iocd_sketch_init_alpha(&other, 20), 0);
    assert_int_equal(iocd_sketch_add(&other, 1.0), 0);
    uint64_t before = iocd_sketch_count(&acc);
    assert_int_equal(iocd_sketch_merge(&acc, &other), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_count(&acc), before);
    /* Total overflow: refused. */
    struct iocd_sketch big;
    iocd_sketch_init(&big);
    assert_int_equal(iocd_sketch_add_n(&big, 1.0, UINT64_MAX - 5), 0);
    assert_int_equal(iocd_sketch_merge(&big, &acc), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_count(&big), UINT64_MAX - 5);
    iocd_sketch_free(&big);
    iocd_sketch_free(&other);
    iocd_sketch_free(&twice);
    iocd_sketch_free(&all);
    iocd_sketch_free(&acc);
    iocd_sketch_free(&empty);
}

static void test_add_n_equals_repeated_add(void **state)
{
    (void)state;
    struct iocd_sketch a, b;
    iocd_sketch_init(&a);
    iocd_sketch_init(&b);
    static const double v[] = {3.5, -2.0, 0.0, 1e6, 0.001};
    for (int k = 0; k < 5; k++) {
        assert_int_equal(iocd_sketch_add_n(&a, v[k], (uint64_t)k + 3), 0);
        for (int i = 0; i < k + 3; i++)
            assert_int_equal(iocd_sketch_add(&b, v[k]), 0);
    }
    assert_same_encoding(&a, &b);
    iocd_sketch_free(&a);
    iocd_sketch_free(&b);
}

/* ---- encoding ------------------------------------------------------------ */

static void test_encode_roundtrip(void **state)
{
    (void)state;
    for (int d = 0; d < D__COUNT; d++) {
        rng_seed(99 + (uint64_t)d);
        struct iocd_sketch s, t;
        iocd_sketch_init(&s);
        for (int i = 0; i < 5000; i++)
            assert_int_equal(iocd_sketch_add(&s, draw((enum dist)d)), 0);
        uint8_t *buf;
        size_t len = encode(&s, &buf);
        memset(&t, 0xa5, sizeof(t)); /* decode treats *out as uninitialised */
        assert_int_equal(iocd_sketch_decode(buf, len, &t), 0);
        assert_int_equal(iocd_sketch_count(&t), 5000);
        assert_same_encoding(&s, &t);
        for (double q = 0.0; q <= 1.0; q += 1.0 / 64)
            assert_double_eq(quantile(&t, q), quantile(&s, q));
        /* A decoded sketch keeps growing normally. */
        assert_int_equal(iocd_sketch_add(&t, -1e7), 0);
        assert_int_equal(iocd_sketch_add(&t, 1e7), 0);
        assert_int_equal(iocd_sketch_add(&s, -1e7), 0);
        assert_int_equal(iocd_sketch_add(&s, 1e7), 0);
        assert_same_encoding(&s, &t);
        free(buf);
        iocd_sketch_free(&s);
        iocd_sketch_free(&t);
    }
    /* Another accuracy round-trips with its code. */
    struct iocd_sketch s, t;
    assert_int_equal(iocd_sketch_init_alpha(&s, 25), 0);
    assert_int_equal(iocd_sketch_add(&s, 42.0), 0);
    uint8_t *buf;
    size_t len = encode(&s, &buf);
    assert_int_equal(buf[1], 25);
    assert_int_equal(iocd_sketch_decode(buf, len, &t), 0);
    assert_true(iocd_sketch_alpha(&t) == 0.025);
    assert_double_eq(quantile(&t, 0.5), rep_of(0.025, index_of(0.025, 42.0)));
    free(buf);
    iocd_sketch_free(&s);
    iocd_sketch_free(&t);
}

static void test_encoding_bytes(void **state)
{
    (void)state;
    /* Hand-checked layout: 1.0 twice (bin 0), 1.03 (bin 2: 1.0202^1 < 1.03
     * <= 1.0202^2), -1.0 once, one zero. */
    struct iocd_sketch s;
    iocd_sketch_init(&s);
    assert_int_equal(iocd_sketch_add_n(&s, 1.0, 2), 0);
    assert_int_equal(iocd_sketch_add(&s, 1.03), 0);
    assert_int_equal(iocd_sketch_add(&s, -1.0), 0);
    assert_int_equal(iocd_sketch_add(&s, 0.0), 0);
    uint8_t *buf;
    size_t len = encode(&s, &buf);
    static const uint8_t want[] = {
        1, 10, 1,      /* version, alpha code, zero count */
        3, 0, 2, 0, 0, 1, /* pos: span 3, lo zigzag(0), 2, zero run of 1, 1 */
        1, 0, 1,       /* neg: span 1, lo 0, 1 */
    };
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(buf, want, len);
    free(buf);
    iocd_sketch_free(&s);
}

static void test_decode_truncations_and_garbage(void **state)
{
    (void)state;
    rng_seed(1234);
    struct iocd_sketch s, t;
    iocd_sketch_init(&s);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(iocd_sketch_add(&s, draw(D_MIXTURE) * 1e3), 0);
    assert_int_equal(iocd_sketch_add_n(&s, 5.0, (uint64_t)1 << 40), 0); /* a long varint */
    uint8_t *buf;
    size_t len = encode(&s, &buf);
    for (size_t k = 0; k < len; k++) {
        uint8_t *p = malloc(k ? k : 1); /* exact size: ASan sees any overread */
        assert_non_null(p);
        memcpy(p, buf, k);
        if (iocd_sketch_decode(p, k, &t) != IOCD_SKETCH_EINVAL)
            fail_msg("a truncation to %zu of %zu bytes decoded", k, len);
        assert_int_equal(iocd_sketch_count(&t), 0);
        assert_null(t.pos.counts);
        assert_null(t.neg.counts);
        free(p);
    }
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(iocd_sketch_decode(longer, len + 1, &t), IOCD_SKETCH_EINVAL);
    assert_int_equal(iocd_sketch_decode(longer, len, &t), 0);
    iocd_sketch_free(&t);
    /* Every single-byte change either fails or gives a canonical sketch. */
    for (size_t k = 0; k < len; k++) {
        for (int delta = 1; delta < 256; delta += 37) {
            longer[k] = (uint8_t)(buf[k] + delta);
            if (iocd_sketch_decode(longer, len, &t) == 0) {
                uint8_t *re;
                size_t rlen = encode(&t, &re);
                assert_int_equal(rlen, len);
                assert_memory_equal(re, longer, len);
                free(re);
                iocd_sketch_free(&t);
            }
        }
        longer[k] = buf[k];
    }
    free(longer);
    free(buf);
    iocd_sketch_free(&s);

    /* Random bytes, and random bytes behind a valid header. */
    int ok = 0;
    for (int i = 0; i < 200000; i++) {
        uint8_t p[48];
        size_t n = (size_t)(rng_next() % sizeof(p));
        for (size_t k = 0; k < n; k++)
            p[k] = (uint8_t)rng_next();
        if (i % 2 && n >= 2) {
            p[0] = 1;
            p[1] = 10;
        }
        if (iocd_sketch_decode(p, n, &t) == 0) {
            ok++;
            uint8_t *re;
            size_t rlen = encode(&t, &re);
            assert_int_equal(rlen, n);
            assert_memory_equal(re, p, n);
            free(re);
            iocd_sketch_free(&t);
        } else {
            assert_int_equal(iocd_sketch_count(&t), 0);
        }
    }
    print_message("random bytes: %d of 200000 decoded (all canonical)\n", ok);
}

static void assert_rejected(const uint8_t *p, size_t n, const char *what)
{
    struct iocd_sketch t;
    if (iocd_sketch_decode(p, n, &t) != IOCD_SKETCH_EINVAL)
        fail_msg("accepted: %s", what);
    assert_int_equal(iocd_sketch_count(&t), 0);
}

static void assert_accepted(const uint8_t *p, size_t n, const char *what)
{
    struct iocd_sketch t;
    if (iocd_sketch_decode(p, n, &t) != 0)
        fail_msg("rejected: %s", what);
    iocd_sketch_free(&t);
}

#define REJECT(what, ...)                                                                          \
    do {                                                                                           \
        static const uint8_t b_[] = {__VA_ARGS__};                                                 \
        assert_rejected(b_, sizeof(b_), what);                                                     \
    } while (0)
#define ACCEPT(what, ...)                                                                          \
    do {                                                                                           \
        static const uint8_t b_[] = {__VA_ARGS__};                                                 \
        assert_accepted(b_, sizeof(b_), what);                                                     \
    } while (0)

static void test_decode_malformed(void **state)
{
    (void)state;
    assert_rejected(NULL, 0, "nothing");
    ACCEPT("empty sketch", 1, 10, 0, 0, 0);
    ACCEPT("zero run", 1, 10, 0, 3, 0, 1, 0, 0, 1, 0);
    ACCEPT("negative lo", 1, 10, 0, 1, 1, 1, 0); /* bin -1 */
    ACCEPT("max zero count", 1, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
           0, 0);
    REJECT("version 0", 0, 10, 0, 0, 0);
    REJECT("version 2", 2, 10, 0, 0, 0);
    REJECT("alpha code 0", 1, 0, 0, 0, 0);
    REJECT("header only", 1, 10);
    REJECT("missing neg store", 1, 10, 0, 0);
    REJECT("trailing byte", 1, 10, 0, 0, 0, 0);
    REJECT("truncated varint", 1, 10, 0x80);
    REJECT("overlong varint", 1, 10, 0x80, 0x00, 0, 0);
    REJECT("overlong span", 1, 10, 0, 0x81, 0x00, 0, 1, 0);
    REJECT("varint of 65 bits", 1, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
           0, 0);
    REJECT("varint of 11 bytes", 1, 10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
           0x81, 0x01, 0, 0);
    REJECT("zero + bin overflow", 1, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
           0x01, 1, 0, 1, 0);
    REJECT("bins overflow", 1, 10, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
           0x01, 1, 0);
    REJECT("pos + neg overflow", 1, 10, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
           0xff, 0x01, 1, 0, 1);
    REJECT("span 2049", 1, 10, 0, 0x81, 0x10, 0, 1, 0, 0x80, 0x0f, 1, 0);
    REJECT("span count missing bins", 1, 10, 0, 3, 0, 1, 1, 0);
    REJECT("leading zero run", 1, 10, 0, 3, 0, 0, 1, 1, 0);
    REJECT("trailing zero run", 1, 10, 0, 3, 0, 1, 0, 1, 0);
    REJECT("zero run past the end", 1, 10, 0, 3, 0, 1, 0, 5, 1, 0);
    REJECT("huge zero run", 1, 10, 0, 3, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
           0xff, 0x01, 1, 0);
    REJECT("two zero runs in a row", 1, 10, 0, 5, 0, 1, 0, 0, 0, 0, 1, 0);
    REJECT("single zero bin as count", 1, 10, 0, 1, 0, 0, 0);
    REJECT("lo zigzag huge", 1, 10, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0);

    /* Index bounds for alpha = 0.01: the bins of 1e-9 and DBL_MAX. */
    struct iocd_sketch s;
    iocd_sketch_init(&s);
    int32_t lo = s.min_index, hi = s.max_index;
    assert_int_equal(lo, index_of(0.01, 1e-9));
    assert_int_equal(hi, index_of(0.01, DBL_MAX));
    struct {
        int64_t lo;
        uint64_t span;
        int ok;
    } cases[] = {{lo, 1, 1}, {lo - 1, 1, 0}, {hi, 1, 1}, {hi + 1, 1, 0}, {hi - 1, 2, 1},
                 {hi - 1, 3, 0}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        uint8_t p[32];
        size_t n = 0;
        p[n++] = 1;
        p[n++] = 10;
        p[n++] = 0;
        p[n++] = (uint8_t)cases[k].span;
        uint64_t zz = cases[k].lo < 0 ? ((uint64_t)(-(cases[k].lo + 1)) << 1) | 1
                                      : (uint64_t)cases[k].lo << 1;
        while (zz >= 0x80) {
            p[n++] = (uint8_t)(zz | 0x80);
            zz >>= 7;
        }
        p[n++] = (uint8_t)zz;
        for (uint64_t b = 0; b < cases[k].span; b++)
            p[n++] = 1;
        p[n++] = 0;
        struct iocd_sketch t;
        int rc = iocd_sketch_decode(p, n, &t);
        if (cases[k].ok) {
            assert_int_equal(rc, 0);
            double v = quantile(&t, 1.0);
            assert_true(isfinite(v) && v > 0);
            iocd_sketch_free(&t);
        } else {
            assert_int_equal(rc, IOCD_SKETCH_EINVAL);
        }
    }
}

/* ---- the bin cap ----------------------------------------------------------- */

static void test_collapse(void **state)
{
    (void)state;
    const int n = 3000, M = IOCD_SKETCH_MAX_BINS;
    struct iocd_sketch up, down, shuffled, pa, pb, neg;
    iocd_sketch_init(&up);
    iocd_sketch_init(&down);
    iocd_sketch_init(&shuffled);
    iocd_sketch_init(&pa);
    iocd_sketch_init(&pb);
    iocd_sketch_init(&neg);
    /* One sample in each bin 0 .. n-1 (a bin's representative lies inside it). */
    for (int i = 0; i < n; i++) {
        assert_int_equal(iocd_sketch_add(&up, rep_of(0.01, i)), 0);
        assert_int_equal(iocd_sketch_add(&down, rep_of(0.01, n - 1 - i)), 0);
        assert_int_equal(iocd_sketch_add(&neg, -rep_of(0.01, i)), 0);
    }
    int *perm = malloc((size_t)n * sizeof(int));
    assert_non_null(perm);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    rng_seed(5);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rng_next() % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < n; i++) {
        double v = rep_of(0.01, perm[i]);
        assert_int_equal(iocd_sketch_add(&shuffled, v), 0);
        assert_int_equal(iocd_sketch_add(i % 2 ? &pa : &pb, v), 0);
    }
    free(perm);
    /* Kept: the top M bins; bins 0 .. n-M were folded into bin n-M. */
    assert_int_equal(up.pos.hi, n - 1);
    assert_int_equal(up.pos.lo, n - M);
    assert_int_equal(up.pos.counts[n - M - up.pos.base], n - M + 1);
    assert_true(up.pos.cap <= (uint32_t)M);
    assert_int_equal(iocd_sketch_count(&up), n);
    /* Order does not matter, nor does merging. */
    assert_same_encoding(&up, &down);
    assert_same_encoding(&up, &shuffled);
    assert_int_equal(iocd_sketch_merge(&pa, &pb), 0);
    assert_same_encoding(&up, &pa);
    /* Upper quantiles are exact bins; lower ones read the collapsed bin. */
    for (int r = 0; r < n; r += 7) {
        double q = (double)r / (n - 1);
        size_t rank = (size_t)floor(q * (double)(n - 1));
        int want = rank <= (size_t)(n - M) ? n - M : (int)rank;
        assert_double_eq(quantile(&up, q), rep_of(0.01, want));
    }
    assert_double_eq(quantile(&up, 0.0), rep_of(0.01, n - M));
    /* Negative store: the smallest magnitudes (the top quantiles) collapse. */
    assert_int_equal(neg.neg.lo, n - M);
    assert_double_eq(quantile(&neg, 0.0), -rep_of(0.01, n - 1));
    assert_double_eq(quantile(&neg, 1.0), -rep_of(0.01, n - M));
    /* Exactly MAX_BINS bins: nothing collapses. */
    struct iocd_sketch fit;
    iocd_sketch_init(&fit);
    for (int i = 0; i < M; i++)
        assert_int_equal(iocd_sketch_add(&fit, rep_of(0.01, i * 3 % M)), 0);
    assert_int_equal(fit.pos.lo, 0);
    assert_int_equal(fit.pos.hi, M - 1);
    assert_double_eq(quantile(&fit, 0.0), rep_of(0.01, 0));
    /* One more bin above: bins 0 and 1 share bin 1. */
    assert_int_equal(iocd_sketch_add(&fit, rep_of(0.01, M)), 0);
    assert_int_equal(fit.pos.lo, 1);
    assert_int_equal(fit.pos.counts[1 - fit.pos.base], 2);
    /* A sample far below the kept range lands in its lowest bin. */
    assert_int_equal(iocd_sketch_add(&fit, 1e-8), 0);
    assert_int_equal(fit.pos.counts[1 - fit.pos.base], 3);
    assert_int_equal(fit.pos.lo, 1);
    /* Round trip of a collapsed sketch. */
    uint8_t *buf;
    size_t len = encode(&up, &buf);
    struct iocd_sketch t;
    assert_int_equal(iocd_sketch_decode(buf, len, &t), 0);
    assert_same_encoding(&up, &t);
    free(buf);
    iocd_sketch_free(&t);
    iocd_sketch_free(&fit);
    iocd_sketch_free(&up);
    iocd_sketch_free(&down);
    iocd_sketch_free(&shuffled);
    iocd_sketch_free(&pa);
    iocd_sketch_free(&pb);
    iocd_sketch_free(&neg);
}

/* Merges where the union spans more than MAX_BINS: still the sketch of the
 * union, whichever side holds the high bins. */
static void test_collapse_merge(void **state)
{
    (void)state;
    struct iocd_sketch low, high, all, low2;
    iocd_sketch_init(&low);
    iocd_sketch_init(&high);
    iocd_sketch_init(&all);
    for (int i = -500; i < 300; i++) {
        double v = rep_of(0.01, i);
        assert_int_equal(iocd_sketch_add_n(&low, v, 2), 0);
        assert_int_equal(iocd_sketch_add_n(&all, v, 2), 0);
    }
    for (int i = 1800; i < 2600; i += 3) {
        double v = rep_of(0.01, i);
        assert_int_equal(iocd_sketch_add(&high, v), 0);
        assert_int_equal(iocd_sketch_add(&all, v), 0);
    }
    assert_int_equal(iocd_sketch_copy(&low2, &low), 0);
    assert_int_equal(iocd_sketch_merge(&low, &high), 0);
    assert_same_encoding(&low, &all);
    assert_int_equal(iocd_sketch_merge(&high, &low2), 0);
    assert_same_encoding(&high, &all);
    assert_int_equal(all.pos.hi - all.pos.lo + 1, IOCD_SKETCH_MAX_BINS);
    iocd_sketch_free(&low);
    iocd_sketch_free(&low2);
    iocd_sketch_free(&high);
    iocd_sketch_free(&all);
}

/* ---- memory and size -------------------------------------------------------- */

/* PM2.5-like concentrations (ug/m3, one decimal): a sensor over a minute
 * (10), a sensor over a day (1000), a city over a day (100000, with some
 * 0.0 readings). */
static double pm25(size_t n)
{
    double v;
    if (n <= 10)
        v = 14.0 * exp(0.05 * rng_normal());
    else if (n <= 1000)
        v = 15.0 * exp(0.5 * rng_normal());
    else
        v = rng_unit() < 0.01 ? 0.0 : 12.0 * exp(0.9 * rng_normal());
    return round(v * 10.0) / 10.0;
}

static void test_sizes(void **state)
{
    (void)state;
    static const size_t ns[] = {10, 1000, 100000};
    for (size_t k = 0; k < 3; k++) {
        rng_seed(2500 + k);
        struct iocd_sketch s;
        iocd_sketch_init(&s);
        assert_int_equal(iocd_sketch_bytes(&s), sizeof(s));
        for (size_t i = 0; i < ns[k]; i++)
            assert_int_equal(iocd_sketch_add(&s, pm25(ns[k])), 0);
        uint8_t *buf;
        size_t len = encode(&s, &buf);
        print_message("PM2.5-like n=%-6zu bins %3d..%3d (%3d)  encoded %4zu B  memory %5zu B "
                      "(struct %zu + %u counts)  p50 %.2f  p99 %.2f\n",
                      ns[k], s.pos.lo, s.pos.hi, s.pos.hi - s.pos.lo + 1, len,
                      iocd_sketch_bytes(&s), sizeof(s), s.pos.cap + s.neg.cap,
                      quantile(&s, 0.5), quantile(&s, 0.99));
        if (ns[k] == 10) {
            assert_true(len <= 32);
            assert_true(iocd_sketch_bytes(&s) <= sizeof(s) + 16 * sizeof(uint64_t));
        }
        assert_true(s.pos.cap < 2u * (uint32_t)(s.pos.hi - s.pos.lo + 1) + 8u);
        free(buf);
        iocd_sketch_free(&s);
        assert_int_equal(iocd_sketch_bytes(&s), sizeof(s));
    }
}

/* ---- SQL --------------------------------------------------------------------- */

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

/* Runs a one-row, one-column query with optional blob parameters; returns
 * the step's result code and leaves the statement in *st (finalize it). */
static int query1(sqlite3 *db, const char *sql, sqlite3_stmt **st, const uint8_t *b1, size_t l1,
                  const uint8_t *b2, size_t l2)
{
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, st, NULL), SQLITE_OK);
    if (b1)
        sqlite3_bind_blob(*st, 1, b1, (int)l1, SQLITE_TRANSIENT);
    if (b2)
        sqlite3_bind_blob(*st, 2, b2, (int)l2, SQLITE_TRANSIENT);
    return sqlite3_step(*st);
}

static void assert_sql_error(sqlite3 *db, const char *sql, const uint8_t *b1, size_t l1,
                             const char *msg)
{
    sqlite3_stmt *st;
    int rc = query1(db, sql, &st, b1, l1, NULL, 0);
    while (rc == SQLITE_ROW) /* rows before the bad one may come out first */
        rc = sqlite3_step(st);
    if (rc != SQLITE_ERROR)
        fail_msg("%s: step gave %d, not an error", sql, rc);
    if (strcmp(sqlite3_errmsg(db), msg) != 0)
        fail_msg("%s: error \"%s\", want \"%s\"", sql, sqlite3_errmsg(db), msg);
    sqlite3_finalize(st);
}

static void assert_sql_null(sqlite3 *db, const char *sql, const uint8_t *b1, size_t l1)
{
    sqlite3_stmt *st;
    assert_int_equal(query1(db, sql, &st, b1, l1, NULL, 0), SQLITE_ROW);
    if (sqlite3_column_type(st, 0) != SQLITE_NULL)
        fail_msg("%s: not NULL", sql);
    sqlite3_finalize(st);
}

static void assert_blob_is(sqlite3_stmt *st, int col, const struct iocd_sketch *want)
{
    uint8_t *buf;
    size_t len = encode(want, &buf);
    assert_int_equal(sqlite3_column_type(st, col), SQLITE_BLOB);
    const void *p = sqlite3_column_blob(st, col);
    assert_int_equal((size_t)sqlite3_column_bytes(st, col), len);
    assert_memory_equal(p, buf, len);
    free(buf);
}

enum { SQL_SERIES = 3, SQL_WINDOWS = 6, SQL_BATCHES = 4 };

static void test_sql(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(iocd_sketch_sqlite_register(db), SQLITE_OK);
    exec_ok(db, "CREATE TABLE windows(series INTEGER, start INTEGER, sketch BLOB,"
                " PRIMARY KEY(series, start))");
    sqlite3_stmt *up;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "INSERT INTO windows(series, start, sketch) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT(series, start) DO UPDATE SET "
                           "sketch = iocd_sketch_merge(sketch, excluded.sketch)",
                           -1, &up, NULL),
        SQLITE_OK);
    /* Late batches for every window, in shuffled window order; one batch
     * per window is NULL (a flush with no quantile data). */
    static struct iocd_sketch win[SQL_SERIES][SQL_WINDOWS], ser[SQL_SERIES];
    for (int a = 0; a < SQL_SERIES; a++) {
        iocd_sketch_init(&ser[a]);
        for (int w = 0; w < SQL_WINDOWS; w++)
            iocd_sketch_init(&win[a][w]);
    }
    rng_seed(31337);
    for (int b = 0; b < SQL_BATCHES; b++) {
        for (int k = 0; k < SQL_SERIES * SQL_WINDOWS; k++) {
            int a = k % SQL_SERIES, w = (k / SQL_SERIES + b) % SQL_WINDOWS;
            sqlite3_bind_int(up, 1, a);
            sqlite3_bind_int(up, 2, w * 60);
            if (b == (a + w) % SQL_BATCHES) {
                sqlite3_bind_null(up, 3);
            } else {
                struct iocd_sketch batch;
                iocd_sketch_init(&batch);
                int n = 1 + (int)(rng_next() % 50);
                for (int i = 0; i < n; i++)
                    assert_int_equal(iocd_sketch_add(&batch, draw((enum dist)a) * (w + 1)), 0);
                uint8_t *buf;
                size_t len = encode(&batch, &buf);
                sqlite3_bind_blob(up, 3, buf, (int)len, free);
                assert_int_equal(iocd_sketch_merge(&win[a][w], &batch), 0);
                assert_int_equal(iocd_sketch_merge(&ser[a], &batch), 0);
                iocd_sketch_free(&batch);
            }
            assert_int_equal(sqlite3_step(up), SQLITE_DONE);
            sqlite3_reset(up);
            sqlite3_clear_bindings(up);
        }
    }
    sqlite3_finalize(up);

    /* Every stored window is the sketch of all its batches. */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT series, start, sketch, "
                                        "iocd_sketch_quantile(sketch, 0.9) FROM windows",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int a = sqlite3_column_int(st, 0), w = sqlite3_column_int(st, 1) / 60;
        assert_blob_is(st, 2, &win[a][w]);
        assert_double_eq(sqlite3_column_double(st, 3), quantile(&win[a][w], 0.9));
        rows++;
    }
    assert_int_equal(rows, SQL_SERIES * SQL_WINDOWS);
    sqlite3_finalize(st);

    /* Rollup: union per series == the sketch of every batch of the series. */
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT series, iocd_sketch_union(sketch), "
                                        "iocd_sketch_quantile(iocd_sketch_union(sketch), 0.99), "
                                        "iocd_sketch_quantile(iocd_sketch_union(sketch), 0) "
                                        "FROM windows GROUP BY series ORDER BY series",
                                        -1, &st, NULL),
                     SQLITE_OK);
    rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int a = sqlite3_column_int(st, 0);
        assert_int_equal(a, rows);
        assert_blob_is(st, 1, &ser[a]);
        assert_double_eq(sqlite3_column_double(st, 2), quantile(&ser[a], 0.99));
        assert_double_eq(sqlite3_column_double(st, 3), quantile(&ser[a], 0.0));
        rows++;
    }
    assert_int_equal(rows, SQL_SERIES);
    sqlite3_finalize(st);

    /* NULL handling. */
    uint8_t *x, *e;
    size_t xl = encode(&ser[0], &x);
    struct iocd_sketch empty;
    iocd_sketch_init(&empty);
    size_t el = encode(&empty, &e);
    assert_sql_null(db, "SELECT iocd_sketch_merge(NULL, NULL)", NULL, 0);
    assert_int_equal(query1(db, "SELECT iocd_sketch_merge(NULL, ?1), iocd_sketch_merge(?1, NULL)",
                            &st, x, xl, NULL, 0),
                     SQLITE_ROW);
    assert_blob_is(st, 0, &ser[0]);
    assert_blob_is(st, 1, &ser[0]);
    sqlite3_finalize(st);
    assert_int_equal(
        query1(db, "SELECT iocd_sketch_merge(?1, ?2)", &st, x, xl, e, el), SQLITE_ROW);
    assert_blob_is(st, 0, &ser[0]);
    sqlite3_finalize(st);
    assert_sql_null(db, "SELECT iocd_sketch_union(sketch) FROM windows WHERE series = 99", NULL,
                    0);
    assert_sql_null(db, "SELECT iocd_sketch_union(NULL) FROM windows", NULL, 0);
    assert_sql_null(db, "SELECT iocd_sketch_quantile(NULL, 0.5)", NULL, 0);
    assert_sql_null(db, "SELECT iocd_sketch_quantile(?1, 0.5)", e, el);
    assert_sql_null(db, "SELECT iocd_sketch_quantile(?1, NULL)", x, xl);
    assert_sql_null(db, "SELECT iocd_sketch_quantile(?1, 1.5)", x, xl);
    assert_sql_null(db, "SELECT iocd_sketch_quantile(?1, -0.1)", x, xl);
    assert_sql_null(db, "SELECT iocd_sketch_quantile(?1, 'p50')", x, xl);
    assert_int_equal(query1(db, "SELECT iocd_sketch_quantile(?1, 1)", &st, x, xl, NULL, 0),
                     SQLITE_ROW);
    assert_double_eq(sqlite3_column_double(st, 0), quantile(&ser[0], 1.0));
    sqlite3_finalize(st);

    /* Malformed input is an SQL error, never a crash. */
    static const char bad[] = "iocd_sketch: malformed sketch";
    static const uint8_t junk[] = {1, 10, 0, 3, 0, 1};
    assert_sql_error(db, "SELECT iocd_sketch_merge(?1, NULL)", junk, sizeof(junk), bad);
    assert_sql_error(db, "SELECT iocd_sketch_merge(NULL, ?1)", junk, sizeof(junk), bad);
    assert_sql_error(db, "SELECT iocd_sketch_quantile(?1, 0.5)", junk, sizeof(junk), bad);
    assert_sql_error(db, "SELECT iocd_sketch_merge(x'', NULL)", NULL, 0, bad);
    assert_sql_error(db, "SELECT iocd_sketch_merge('text', NULL)", NULL, 0, bad);
    assert_sql_error(db, "SELECT iocd_sketch_merge(42, NULL)", NULL, 0, bad);
    assert_sql_error(db, "SELECT iocd_sketch_union(?1)", junk, sizeof(junk), bad);
    /* A bad row in the middle of a rollup: error, nothing leaked (ASan). */
    exec_ok(db, "UPDATE windows SET sketch = x'01' WHERE series = 1 AND start = 120");
    assert_sql_error(db, "SELECT series, iocd_sketch_union(sketch) FROM windows GROUP BY series",
                     NULL, 0, bad);
    assert_sql_error(db, "UPDATE windows SET sketch = iocd_sketch_merge(sketch, sketch)", NULL, 0,
                     bad);
    /* Different accuracies do not merge. */
    struct iocd_sketch other;
    assert_int_equal(iocd_sketch_init_alpha(&other, 20), 0);
    assert_int_equal(iocd_sketch_add(&other, 3.0), 0);
    uint8_t *o;
    size_t ol = encode(&other, &o);
    assert_int_equal(query1(db, "SELECT iocd_sketch_merge(?1, ?2)", &st, x, xl, o, ol),
                     SQLITE_ERROR);
    assert_string_equal(sqlite3_errmsg(db),
                        "iocd_sketch: cannot merge sketches of different accuracy");
    sqlite3_finalize(st);

    free(o);
    free(x);
    free(e);
    iocd_sketch_free(&other);
    for (int a = 0; a < SQL_SERIES; a++) {
        iocd_sketch_free(&ser[a]);
        for (int w = 0; w < SQL_WINDOWS; w++)
            iocd_sketch_free(&win[a][w]);
    }
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_small_known_set),
        cmocka_unit_test(test_negatives_and_zeros),
        cmocka_unit_test(test_extreme_values),
        cmocka_unit_test(test_error_bound),
        cmocka_unit_test(test_merge_halves),
        cmocka_unit_test(test_merge_many_and_empty),
        cmocka_unit_test(test_add_n_equals_repeated_add),
        cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_encoding_bytes),
        cmocka_unit_test(test_decode_truncations_and_garbage),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_collapse),
        cmocka_unit_test(test_collapse_merge),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_sql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
