/* tests/unit/test_agg.c — window statistics and the dirty-window table
 * (daemon/agg.c): iocd_window_init/add/merge (count, sum, sumsq, min, max,
 * first/last with their times, ties and out-of-order samples), a merge of
 * two halves equal to adding every sample, iocd_agg_add placing a sample in
 * one aligned window per resolution (negative times, boundaries), and a
 * table of 100k windows (growth) emptied by iocd_agg_take, reused after;
 * iocd_agg_take_series out of the middle of the dirty order.
 * Values are multiples of 0.25 so every sum is exact in binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/aggregate/agg.h"

static const int64_t res3[] = {60000, 3600000, 86400000};

static void assert_window(const struct iocd_window *w, uint32_t series_id, uint32_t res_s,
                          int64_t start_ms, uint64_t count, double sum, double sumsq, double min,
                          double max, double first, int64_t first_ms, double last, int64_t last_ms)
{
    assert_int_equal(w->series_id, series_id);
    assert_int_equal(w->res_s, res_s);
    assert_int_equal(w->start_ms, start_ms);
    assert_int_equal(w->count, count);
    assert_true(w->sum == sum);
    assert_true(w->sumsq == sumsq);
    assert_true(w->min == min);
    assert_true(w->max == max);
    assert_true(w->first == first);
    assert_int_equal(w->first_ms, first_ms);
    assert_true(w->last == last);
    assert_int_equal(w->last_ms, last_ms);
}

static void assert_windows_equal(const struct iocd_window *a, const struct iocd_window *b)
{
    assert_window(a, b->series_id, b->res_s, b->start_ms, b->count, b->sum, b->sumsq, b->min,
                  b->max, b->first, b->first_ms, b->last, b->last_ms);
}

static void test_window_init(void **state)
{
    (void)state;
    struct iocd_window w;
    memset(&w, 0xa5, sizeof(w));
    iocd_window_init(&w, 42, 60, 120000, -2.5, 123456);
    assert_window(&w, 42, 60, 120000, 1, -2.5, 6.25, -2.5, -2.5, -2.5, 123456, -2.5, 123456);
}

static void test_window_add(void **state)
{
    (void)state;
    struct iocd_window w;
    iocd_window_init(&w, 1, 60, 0, 2.5, 1000);
    iocd_window_add(&w, 4.0, 1500); /* later: new last */
    assert_window(&w, 1, 60, 0, 2, 6.5, 22.25, 2.5, 4.0, 2.5, 1000, 4.0, 1500);
    iocd_window_add(&w, -1.25, 500); /* out of order: new first, last unchanged */
    assert_window(&w, 1, 60, 0, 3, 5.25, 23.8125, -1.25, 4.0, -1.25, 500, 4.0, 1500);
    iocd_window_add(&w, 3.0, 1500); /* same time as last: the later-added wins */
    assert_window(&w, 1, 60, 0, 4, 8.25, 32.8125, -1.25, 4.0, -1.25, 500, 3.0, 1500);
    iocd_window_add(&w, 7.0, 500); /* same time as first: the earlier-added stays */
    assert_window(&w, 1, 60, 0, 5, 15.25, 81.8125, -1.25, 7.0, -1.25, 500, 3.0, 1500);
    iocd_window_add(&w, 0.5, 1000); /* in the middle: only the stats move */
    assert_window(&w, 1, 60, 0, 6, 15.75, 82.0625, -1.25, 7.0, -1.25, 500, 3.0, 1500);
}

static void test_window_single_time_ties(void **state)
{
    (void)state;
    /* Every sample at one instant: first is the first added, last the last. */
    struct iocd_window w;
    iocd_window_init(&w, 9, 1, 0, 1.0, 700);
    iocd_window_add(&w, 2.0, 700);
    iocd_window_add(&w, 3.0, 700);
    assert_window(&w, 9, 1, 0, 3, 6.0, 14.0, 1.0, 3.0, 1.0, 700, 3.0, 700);
}

static void test_window_merge(void **state)
{
    (void)state;
    struct iocd_window a, b;
    iocd_window_init(&a, 5, 3600, 0, 1.0, 2000);
    iocd_window_add(&a, 3.0, 4000);
    iocd_window_init(&b, 5, 3600, 0, -0.5, 1000); /* earlier observation, received later */
    iocd_window_add(&b, 2.0, 3000);
    iocd_window_merge(&a, &b);
    assert_window(&a, 5, 3600, 0, 4, 5.5, 14.25, -0.5, 3.0, -0.5, 1000, 3.0, 4000);
    /* `later` is not changed. */
    assert_window(&b, 5, 3600, 0, 2, 1.5, 4.25, -0.5, 2.0, -0.5, 1000, 2.0, 3000);

    /* Ties: first keeps `into`'s, last takes `later`'s. */
    struct iocd_window c, d;
    iocd_window_init(&c, 5, 60, 0, 10.0, 100);
    iocd_window_add(&c, 20.0, 900);
    iocd_window_init(&d, 5, 60, 0, 11.0, 100);
    iocd_window_add(&d, 21.0, 900);
    iocd_window_merge(&c, &d);
    assert_window(&c, 5, 60, 0, 4, 62.0, 1062.0, 10.0, 21.0, 10.0, 100, 21.0, 900);

    /* A later window entirely newer: its last, into's first. */
    struct iocd_window e, f;
    iocd_window_init(&e, 5, 60, 0, 8.0, 10);
    iocd_window_init(&f, 5, 60, 0, 9.0, 20);
    iocd_window_merge(&e, &f);
    assert_window(&e, 5, 60, 0, 2, 17.0, 145.0, 8.0, 9.0, 8.0, 10, 9.0, 20);
}

/* Deterministic pseudo-random numbers (xorshift32). */
static uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void test_merge_halves_equals_all(void **state)
{
    (void)state;
    enum { N = 1000 };
    double v[N];
    int64_t t[N];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        v[i] = ((int)(rng_next(&seed) % 4001) - 2000) * 0.25; /* -500 .. 500 */
        t[i] = 1000 * (int64_t)(rng_next(&seed) % 50);        /* many ties */
    }
    for (int split = 1; split < N; split += 111) {
        struct iocd_window all, a, b;
        iocd_window_init(&all, 3, 60, 0, v[0], t[0]);
        for (int i = 1; i < N; i++)
            iocd_window_add(&all, v[i], t[i]);
        iocd_window_init(&a, 3, 60, 0, v[0], t[0]);
        for (int i = 1; i < split; i++)
            iocd_window_add(&a, v[i], t[i]);
        iocd_window_init(&b, 3, 60, 0, v[split], t[split]);
        for (int i = split + 1; i < N; i++)
            iocd_window_add(&b, v[i], t[i]);
        iocd_window_merge(&a, &b);
        assert_windows_equal(&a, &all);
        assert_int_equal(all.count, N);
    }
}

static int cmp_window(const void *pa, const void *pb)
{
    const struct iocd_window *a = pa, *b = pb;
    if (a->series_id != b->series_id)
        return a->series_id < b->series_id ? -1 : 1;
    if (a->res_s != b->res_s)
        return a->res_s < b->res_s ? -1 : 1;
    if (a->start_ms != b->start_ms)
        return a->start_ms < b->start_ms ? -1 : 1;
    return 0;
}

/* A stored row and its place in write order. */
struct row {
    struct iocd_window w;
    size_t seq;
};

static int cmp_row_order(const void *pa, const void *pb)
{
    const struct row *a = pa, *b = pb;
    int c = cmp_window(&a->w, &b->w);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Takes every window (asserting the table held `held`), then expands each
 * into the stored rows it goes to (iocd_window_row) and merges rows of one
 * key in write order, as the store's upsert does: `want_n` rows, sorted.
 * The table is empty after. */
static struct iocd_window *take_rows(struct iocd_agg *agg, size_t held, size_t want_n,
                                     int64_t tz_offset_ms)
{
    assert_int_equal(iocd_agg_size(agg), held);
    size_t n = 12345;
    struct iocd_window *w = iocd_agg_take(agg, &n);
    assert_int_equal(n, held);
    assert_non_null(w);
    assert_int_equal(iocd_agg_size(agg), 0);
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += 1 + (size_t)w[i].n_coarser;
    struct row *rows = calloc(cap, sizeof(*rows));
    assert_non_null(rows);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* Each window's sketch holds exactly its samples; the tests here
         * check the statistics, so the sketches are released right away. */
        uint64_t in_sketch = w[i].sketch ? iocd_sketch_count(w[i].sketch) : 0;
        assert_int_equal(in_sketch + w[i].n_pending, w[i].count);
        iocd_window_settle(&w[i]);
        assert_int_equal(w[i].n_pending, 0);
        assert_non_null(w[i].sketch);
        assert_int_equal(iocd_sketch_count(w[i].sketch), w[i].count);
        iocd_window_release(&w[i]);
        assert_null(w[i].sketch);
        for (int r = 0; r <= w[i].n_coarser; r++, k++) {
            rows[k].w = w[i];
            rows[k].seq = k;
            iocd_window_row(&w[i], r, tz_offset_ms, &rows[k].w.res_s, &rows[k].w.start_ms);
            rows[k].w.n_coarser = 0;
        }
    }
    free(w);
    qsort(rows, k, sizeof(*rows), cmp_row_order);
    struct iocd_window *out = calloc(k ? k : 1, sizeof(*out));
    assert_non_null(out);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m && cmp_window(&out[m - 1], &rows[i].w) == 0)
            iocd_window_merge(&out[m - 1], &rows[i].w);
        else
            out[m++] = rows[i].w;
    }
    free(rows);
    assert_int_equal(m, want_n);
    return out;
}

static struct iocd_window *take_sorted(struct iocd_agg *agg, size_t want_n)
{
    return take_rows(agg, want_n, want_n, 0);
}

/* The table keeps a quantile sketch per window (docs/sketch.md: 1 %). */
static void test_agg_window_sketch(void **state)
{
    (void)state;
    const int64_t res1[] = {60000};
    struct iocd_agg *agg = iocd_agg_new(res1, 1);
    for (int i = 1; i <= 100; i++)
        assert_int_equal(iocd_agg_add(agg, 5, (double)i, 60000 + i), 0);
    size_t n;
    struct iocd_window *w = iocd_agg_take(agg, &n);
    assert_int_equal(n, 1);
    /* 100 = 96 settled (16 times IOCD_WINDOW_PENDING = 6) + the last 4 pending. */
    assert_int_equal(w[0].n_pending, 4);
    assert_int_equal(iocd_sketch_count(w[0].sketch), 96);
    iocd_window_settle(&w[0]);
    assert_int_equal(iocd_sketch_count(w[0].sketch), 100);
    double p50, p99;
    assert_int_equal(iocd_sketch_quantile(w[0].sketch, 0.5, &p50), 0);
    assert_int_equal(iocd_sketch_quantile(w[0].sketch, 0.99, &p99), 0);
    /* Rank q*(n-1): 49.5 -> the 50th value (50) and 98.01 -> the 99th (99). */
    assert_true(fabs(p50 - 50.0) <= 0.01 * 50.0);
    assert_true(fabs(p99 - 99.0) <= 0.01 * 99.0);
    iocd_window_release(&w[0]);
    free(w);
    iocd_agg_free(agg);
}

/* The encoded sketch is the same whether samples wait in `pending` (encoded
 * through a sketch on the stack, none kept) or were settled first. */
static void test_window_encode_sketch(void **state)
{
    (void)state;
    struct iocd_window a, b;
    iocd_window_init(&a, 1, 60, 0, 3.0, 1000);
    iocd_window_init(&b, 1, 60, 0, 3.0, 1000);
    uint8_t *buf;
    size_t len;
    assert_int_equal(iocd_window_encode_sketch(&a, &buf, &len), 0);
    assert_null(buf); /* nothing counted yet */
    assert_int_equal(len, 0);
    const double v[] = {3.0, -1.5, 0.0, 250.0};
    for (int i = 0; i < 4; i++) {
        iocd_window_sketch_add(&a, v[i]);
        iocd_window_sketch_add(&b, v[i]);
    }
    iocd_window_settle(&b);
    uint8_t *ba, *bb;
    size_t la, lb;
    assert_int_equal(iocd_window_encode_sketch(&a, &ba, &la), 0);
    assert_null(a.sketch); /* encoded without keeping a sketch */
    assert_int_equal(iocd_window_encode_sketch(&b, &bb, &lb), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    struct iocd_sketch d;
    assert_int_equal(iocd_sketch_decode(ba, la, &d), 0);
    assert_int_equal(iocd_sketch_count(&d), 4);
    iocd_sketch_free(&d);
    free(ba);
    free(bb);
    iocd_window_release(&a);
    iocd_window_release(&b);
}

static void test_agg_new_bounds(void **state)
{
    (void)state;
    int64_t r[9] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000};
    assert_null(iocd_agg_new(r, 0));
    assert_null(iocd_agg_new(r, 9));
    struct iocd_agg *agg = iocd_agg_new(r, 8);
    assert_non_null(agg);
    assert_int_equal(iocd_agg_size(agg), 0);
    size_t n = 99;
    assert_null(iocd_agg_take(agg, &n));
    assert_int_equal(n, 0);
    assert_int_equal(iocd_agg_add(agg, 1, 1.0, 1000), 0);
    assert_int_equal(iocd_agg_size(agg), 1); /* they nest: one window carries all 8 */
    iocd_agg_free(agg);
    iocd_agg_free(NULL);
}

static void test_agg_one_sample_three_windows(void **state)
{
    (void)state;
    struct iocd_agg *agg = iocd_agg_new(res3, 3);
    assert_non_null(agg);
    /* 1 day + 1 h + 1 min + 1 s + 1 ms. */
    const int64_t t = 86400000 + 3600000 + 60000 + 1000 + 1;
    assert_int_equal(iocd_agg_add(agg, 7, 1.5, t), 0);
    /* One window of the finest resolution carrying the two coarser ones. */
    struct iocd_window *w = take_rows(agg, 1, 3, 0);
    assert_window(&w[0], 7, 60, 90060000, 1, 1.5, 2.25, 1.5, 1.5, 1.5, t, 1.5, t);
    assert_window(&w[1], 7, 3600, 90000000, 1, 1.5, 2.25, 1.5, 1.5, 1.5, t, 1.5, t);
    assert_window(&w[2], 7, 86400, 86400000, 1, 1.5, 2.25, 1.5, 1.5, 1.5, t, 1.5, t);
    free(w);
    iocd_agg_free(agg);
}

static void test_agg_alignment(void **state)
{
    (void)state;
    struct iocd_agg *agg = iocd_agg_new(res3, 3);
    assert_non_null(agg);
    /* Exactly on a day boundary: every window starts there. */
    assert_int_equal(iocd_agg_add(agg, 1, 0.25, 86400000), 0);
    /* One ms before the epoch aligns down. */
    assert_int_equal(iocd_agg_add(agg, 2, 0.5, -1), 0);
    /* Exactly on a negative boundary stays there. */
    assert_int_equal(iocd_agg_add(agg, 3, 0.75, -86400000), 0);
    /* The last ms of a window. */
    assert_int_equal(iocd_agg_add(agg, 4, 1.0, 86400000 - 1), 0);
    struct iocd_window *w = take_rows(agg, 4, 12, 0);
    static const struct {
        uint32_t series, res_s;
        int64_t start;
    } want[] = {
        {1, 60, 86400000},  {1, 3600, 86400000}, {1, 86400, 86400000},
        {2, 60, -60000},    {2, 3600, -3600000}, {2, 86400, -86400000},
        {3, 60, -86400000}, {3, 3600, -86400000}, {3, 86400, -86400000},
        {4, 60, 86340000},  {4, 3600, 82800000}, {4, 86400, 0},
    };
    for (size_t i = 0; i < 12; i++) {
        assert_int_equal(w[i].series_id, want[i].series);
        assert_int_equal(w[i].res_s, want[i].res_s);
        assert_int_equal(w[i].start_ms, want[i].start);
        assert_int_equal(w[i].count, 1);
    }
    free(w);
    iocd_agg_free(agg);
}

static void test_agg_accumulates(void **state)
{
    (void)state;
    struct iocd_agg *agg = iocd_agg_new(res3, 3);
    assert_non_null(agg);
    /* Two samples in one minute, one in the next minute of the same hour,
     * and one out of order in the first minute. */
    assert_int_equal(iocd_agg_add(agg, 1, 1.0, 10000), 0);
    assert_int_equal(iocd_agg_add(agg, 1, 2.0, 20000), 0);
    assert_int_equal(iocd_agg_add(agg, 1, 4.0, 70000), 0);
    assert_int_equal(iocd_agg_add(agg, 1, -1.0, 5000), 0);
    /* Another series at the same times is separate. */
    assert_int_equal(iocd_agg_add(agg, 2, 8.0, 10000), 0);
    /* Held: three one-minute windows (series 1 twice, series 2). */
    struct iocd_window *w = take_rows(agg, 3, 7, 0);
    assert_window(&w[0], 1, 60, 0, 3, 2.0, 6.0, -1.0, 2.0, -1.0, 5000, 2.0, 20000);
    assert_window(&w[1], 1, 60, 60000, 1, 4.0, 16.0, 4.0, 4.0, 4.0, 70000, 4.0, 70000);
    assert_window(&w[2], 1, 3600, 0, 4, 6.0, 22.0, -1.0, 4.0, -1.0, 5000, 4.0, 70000);
    assert_window(&w[3], 1, 86400, 0, 4, 6.0, 22.0, -1.0, 4.0, -1.0, 5000, 4.0, 70000);
    assert_window(&w[4], 2, 60, 0, 1, 8.0, 64.0, 8.0, 8.0, 8.0, 10000, 8.0, 10000);
    assert_window(&w[5], 2, 3600, 0, 1, 8.0, 64.0, 8.0, 8.0, 8.0, 10000, 8.0, 10000);
    assert_window(&w[6], 2, 86400, 0, 1, 8.0, 64.0, 8.0, 8.0, 8.0, 10000, 8.0, 10000);
    free(w);
    iocd_agg_free(agg);
}

/* Whole days at local midnight: with +07:00 and 1 min / 1 h / 1 d the
 * day still holds whole minutes (one window a sample); with 2 h windows a
 * local midnight at 17:00 UTC splits one, so each resolution keeps its
 * own window, and the rows are the same either way. */
static void test_agg_nesting_and_time_zones(void **state)
{
    (void)state;
    const int64_t tz = 7 * 3600000;
    /* 2024-03-09T16:59:59.999Z and 17:00Z: the last ms of local 9 March and
     * the first of 10 March. */
    const int64_t t1 = INT64_C(1710003599999), t2 = INT64_C(1710003600000);
    struct iocd_agg *agg = iocd_agg_new(res3, 3);
    iocd_agg_set_timezone(agg, tz);
    assert_int_equal(iocd_agg_add(agg, 1, 1.0, t1), 0);
    assert_int_equal(iocd_agg_add(agg, 1, 2.0, t2), 0);
    struct iocd_window *w = take_rows(agg, 2, 6, tz);
    assert_window(&w[0], 1, 60, t1 - 59999, 1, 1.0, 1.0, 1.0, 1.0, 1.0, t1, 1.0, t1);
    assert_window(&w[1], 1, 60, t2, 1, 2.0, 4.0, 2.0, 2.0, 2.0, t2, 2.0, t2);
    assert_window(&w[2], 1, 3600, t2 - 3600000, 1, 1.0, 1.0, 1.0, 1.0, 1.0, t1, 1.0, t1);
    assert_window(&w[3], 1, 3600, t2, 1, 2.0, 4.0, 2.0, 2.0, 2.0, t2, 2.0, t2);
    assert_window(&w[4], 1, 86400, t2 - 86400000, 1, 1.0, 1.0, 1.0, 1.0, 1.0, t1, 1.0, t1);
    assert_window(&w[5], 1, 86400, t2, 1, 2.0, 4.0, 2.0, 2.0, 2.0, t2, 2.0, t2);
    free(w);
    iocd_agg_free(agg);

    const int64_t res2h[] = {7200000, 86400000};
    agg = iocd_agg_new(res2h, 2);
    iocd_agg_set_timezone(agg, tz);
    assert_int_equal(iocd_agg_add(agg, 1, 1.0, t1), 0);
    assert_int_equal(iocd_agg_add(agg, 1, 2.0, t2), 0);
    /* 16:00-18:00Z is one 2 h window, across two local days: 3 windows held. */
    w = take_rows(agg, 3, 3, tz);
    assert_window(&w[0], 1, 7200, t2 - 3600000, 2, 3.0, 5.0, 1.0, 2.0, 1.0, t1, 2.0, t2);
    assert_window(&w[1], 1, 86400, t2 - 86400000, 1, 1.0, 1.0, 1.0, 1.0, 1.0, t1, 1.0, t1);
    assert_window(&w[2], 1, 86400, t2, 1, 2.0, 4.0, 2.0, 2.0, 2.0, t2, 2.0, t2);
    free(w);
    iocd_agg_free(agg);
}

/* 1000 series x 100 minutes = 100k one-minute windows; every window gets
 * one sample, and every other window a second one. */
enum { MANY_SERIES = 1000, MANY_MINUTES = 100, MANY = MANY_SERIES * MANY_MINUTES };

static void add_many(struct iocd_agg *agg, int64_t base_ms)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < MANY; i++) {
            if (pass == 1 && i % 2)
                continue;
            uint32_t series = (uint32_t)(i % MANY_SERIES) + 1;
            int64_t minute = i / MANY_SERIES;
            int64_t t = base_ms + minute * 60000 + (pass ? 59999 : 1000);
            double v = (i % 97) * 0.25 + pass;
            if (iocd_agg_add(agg, series, v, t) != 0)
                fail_msg("iocd_agg_add failed at %d", i);
        }
    }
}

static void check_many(struct iocd_window *w, int64_t base_ms)
{
    /* Sorted by series, then start. */
    for (int s = 0; s < MANY_SERIES; s++) {
        for (int m = 0; m < MANY_MINUTES; m++) {
            int i = m * MANY_SERIES + s;
            const struct iocd_window *x = &w[s * MANY_MINUTES + m];
            int64_t start = base_ms + (int64_t)m * 60000;
            double v = (i % 97) * 0.25;
            if (i % 2) {
                assert_window(x, (uint32_t)s + 1, 60, start, 1, v, v * v, v, v, v, start + 1000,
                              v, start + 1000);
            } else {
                double v2 = v + 1;
                assert_window(x, (uint32_t)s + 1, 60, start, 2, v + v2, v * v + v2 * v2, v, v2,
                              v, start + 1000, v2, start + 59999);
            }
        }
    }
}

static void test_agg_many_windows(void **state)
{
    (void)state;
    const int64_t res1[] = {60000};
    struct iocd_agg *agg = iocd_agg_new(res1, 1);
    assert_non_null(agg);
    const int64_t base = INT64_C(1763780000000) / 60000 * 60000;

    add_many(agg, base);
    struct iocd_window *w = take_sorted(agg, MANY);
    check_many(w, base);
    free(w);
    size_t n = 7;
    assert_null(iocd_agg_take(agg, &n));
    assert_int_equal(n, 0);

    /* The table is reused after a take: the same windows again start from
     * nothing. */
    add_many(agg, base);
    w = take_sorted(agg, MANY);
    check_many(w, base);
    free(w);

    /* A few windows in the big table (shrinks at the next take), then
     * again in the table regrown from nothing. */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(iocd_agg_add(agg, 77, 0.5, base), 0);
        assert_int_equal(iocd_agg_add(agg, 78, 1.5, base + 60000), 0);
        assert_int_equal(iocd_agg_add(agg, 77, 2.5, base + 30000), 0);
        w = take_sorted(agg, 2);
        assert_window(&w[0], 77, 60, base, 2, 3.0, 6.5, 0.5, 2.5, 0.5, base, 2.5, base + 30000);
        assert_window(&w[1], 78, 60, base + 60000, 1, 1.5, 2.25, 1.5, 1.5, 1.5, base + 60000, 1.5,
                      base + 60000);
        free(w);
    }
    iocd_agg_free(agg);
}

/* iocd_agg_take_series: the windows of the series asked for, in the
 * order they became dirty; the others stay, and leave afterwards by
 * iocd_agg_take_oldest in their own order, with the right replay point. */
static void test_agg_take_series(void **state)
{
    struct iocd_agg *a = iocd_agg_new(res3, 1);
    /* Dirty order: (1, 0), (2, 0), (3, 0), (2, 1 min), (1, 1 min), each
     * sample of journal entry 5 + its rank. */
    const uint32_t ids[5] = {1, 2, 3, 2, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(iocd_agg_add_res(a, ids[i], res3, 1, 1.5 + i, (i >= 3) * 60000,
                                          5 + (uint64_t)i),
                         0);
    size_t n = 0;
    const uint32_t want[1] = {2};
    struct iocd_window *w = iocd_agg_take_series(a, want, 1, &n);
    assert_int_equal(n, 2);
    assert_window(&w[0], 2, 60, 0, 1, 2.5, 6.25, 2.5, 2.5, 2.5, 0, 2.5, 0);
    assert_window(&w[1], 2, 60, 60000, 1, 4.5, 20.25, 4.5, 4.5, 4.5, 60000, 4.5, 60000);
    for (size_t i = 0; i < n; i++)
        iocd_window_release(&w[i]);
    free(w);
    assert_int_equal(iocd_agg_size(a), 3);
    assert_null(iocd_agg_take_series(a, want, 1, &n)); /* none left */
    assert_int_equal(n, 0);
    uint64_t replay_from = 0;
    w = iocd_agg_take_oldest(a, 1, UINT64_MAX, &n, &replay_from);
    assert_int_equal(n, 1);
    assert_window(&w[0], 1, 60, 0, 1, 1.5, 2.25, 1.5, 1.5, 1.5, 0, 1.5, 0);
    assert_int_equal(replay_from, 7); /* (3, 0) is next, of entry 7 */
    iocd_window_release(&w[0]);
    free(w);
    w = iocd_agg_take_oldest(a, 1, UINT64_MAX, &n, &replay_from);
    assert_window(&w[0], 3, 60, 0, 1, 3.5, 12.25, 3.5, 3.5, 3.5, 0, 3.5, 0);
    assert_int_equal(replay_from, 9); /* then (1, 1 min), entry 9 */
    iocd_window_release(&w[0]);
    free(w);
    /* Entry 9 is not old enough yet ([store] window_write_delay): nothing
     * leaves, and the replay point stays at the window held. */
    replay_from = 0;
    assert_null(iocd_agg_take_oldest(a, 5, 8, &n, &replay_from));
    assert_int_equal(n, 0);
    assert_int_equal(replay_from, 9);
    assert_int_equal(iocd_agg_size(a), 1);
    w = iocd_agg_take_oldest(a, 5, 9, &n, &replay_from);
    assert_int_equal(n, 1);
    assert_int_equal(replay_from, 0); /* nothing held any more */
    assert_window(&w[0], 1, 60, 60000, 1, 5.5, 30.25, 5.5, 5.5, 5.5, 60000, 5.5, 60000);
    iocd_window_release(&w[0]);
    free(w);
    assert_int_equal(iocd_agg_size(a), 0);
    iocd_agg_free(a);
}

/* iocd_agg_take_oldest with a journal bound: only the prefix of windows
 * first dirtied in entries <= the bound leaves, however large the budget;
 * a window dirtied again stays in its first entry's place. */
static void test_agg_take_oldest_bound(void **state)
{
    (void)state;
    struct iocd_agg *a = iocd_agg_new(res3, 1);
    for (uint32_t i = 0; i < 6; i++) /* series 1..6, entries 10, 10, 11, 11, 12, 12 */
        assert_int_equal(iocd_agg_add_res(a, i + 1, res3, 1, (double)i, 0, 10 + i / 2), 0);
    assert_int_equal(iocd_agg_add_res(a, 1, res3, 1, 7.0, 1000, 12), 0); /* series 1 again */
    size_t n = 0;
    uint64_t replay_from = 0;
    struct iocd_window *w = iocd_agg_take_oldest(a, 100, 11, &n, &replay_from);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(w[i].series_id, i + 1);
        iocd_window_release(&w[i]);
    }
    assert_int_equal(w[0].count, 2); /* both samples of series 1 */
    free(w);
    assert_int_equal(replay_from, 12);
    assert_int_equal(iocd_agg_size(a), 2);
    w = iocd_agg_take_oldest(a, 1, 12, &n, &replay_from); /* the budget still bounds it */
    assert_int_equal(n, 1);
    assert_int_equal(w[0].series_id, 5);
    assert_int_equal(replay_from, 12);
    iocd_window_release(&w[0]);
    free(w);
    iocd_agg_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agg_window_sketch),
        cmocka_unit_test(test_window_encode_sketch),
        cmocka_unit_test(test_window_init),
        cmocka_unit_test(test_window_add),
        cmocka_unit_test(test_window_single_time_ties),
        cmocka_unit_test(test_window_merge),
        cmocka_unit_test(test_merge_halves_equals_all),
        cmocka_unit_test(test_agg_new_bounds),
        cmocka_unit_test(test_agg_one_sample_three_windows),
        cmocka_unit_test(test_agg_alignment),
        cmocka_unit_test(test_agg_accumulates),
        cmocka_unit_test(test_agg_nesting_and_time_zones),
        cmocka_unit_test(test_agg_many_windows),
        cmocka_unit_test(test_agg_take_series),
        cmocka_unit_test(test_agg_take_oldest_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
