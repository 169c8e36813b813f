/* tests/unit/test_states.c — state series (daemon/aggregate/states.c): the
 * token rule, time per state and transitions per window with the state
 * carried across windows, the carry bound, a late sample taking carried
 * time back, the rejects, restore, and agreement with a brute-force model
 * of the increments under random sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/aggregate/states.h"

static const int64_t RES[] = {60000, 3600000};
#define T0 INT64_C(1795168800000) /* 2026-11-20T10:00:00Z */

/* The stored table a run of flushes leaves: (res, start, state) sums. */
struct cell {
    uint32_t res_s;
    int64_t start;
    char state[40];
    int64_t ms, entries, transitions;
};
static struct cell cells[4096];
static size_t n_cells;

static struct cell *cell(uint32_t res_s, int64_t start, const char *state)
{
    for (size_t i = 0; i < n_cells; i++)
        if (cells[i].res_s == res_s && cells[i].start == start &&
            strcmp(cells[i].state, state) == 0)
            return &cells[i];
    assert_true(n_cells < sizeof(cells) / sizeof(cells[0]));
    struct cell *c = &cells[n_cells++];
    memset(c, 0, sizeof(*c));
    c->res_s = res_s;
    c->start = start;
    snprintf(c->state, sizeof(c->state), "%s", state);
    return c;
}

/* Take everything held and add it to the table, as the store's upsert. */
static void flush(struct iocd_states *st)
{
    struct iocd_state_row *rows;
    struct iocd_state_latest *latest;
    size_t nr, nl;
    assert_int_equal(iocd_states_take(st, &rows, &nr, &latest, &nl), 0);
    for (size_t i = 0; i < nr; i++) {
        struct cell *c = cell(rows[i].res_s, rows[i].start_ms, rows[i].state);
        c->ms += rows[i].ms;
        c->entries += rows[i].entries;
        c->transitions += rows[i].transitions;
    }
    free(rows);
    free(latest);
    assert_int_equal(iocd_states_pending(st), 0);
}

static void expect(uint32_t res_s, int64_t start, const char *state, int64_t ms, int64_t entries,
                   int64_t transitions)
{
    struct cell *c = cell(res_s, start, state);
    if (c->ms != ms || c->entries != entries || c->transitions != transitions)
        fail_msg("%us window at +%llds, %s: got %lld ms %lld entries %lld transitions, want "
                 "%lld %lld %lld",
                 res_s, (long long)((start - T0) / 1000), state, (long long)c->ms,
                 (long long)c->entries, (long long)c->transitions, (long long)ms,
                 (long long)entries, (long long)transitions);
}

static void add(struct iocd_states *st, uint32_t id, int64_t sec, const char *state,
                enum iocd_reject want)
{
    char detail[192];
    int idx = -1;
    enum iocd_reject r = iocd_states_add(st, id, RES, 2, state, T0 + sec * 1000, &idx, detail,
                                         sizeof(detail));
    if (r != want)
        fail_msg("%s at +%llds: got %s (%s), want %s", state, (long long)sec, iocd_reject_name(r),
                 detail, iocd_reject_name(want));
}

static void test_valid(void **unused)
{
    (void)unused;
    assert_true(iocd_state_valid("on"));
    assert_true(iocd_state_valid("Free_2.b-x"));
    assert_true(iocd_state_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    assert_false(iocd_state_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
    assert_false(iocd_state_valid(""));
    assert_false(iocd_state_valid("half on"));
    assert_false(iocd_state_valid("on\n"));
    assert_false(iocd_state_valid("b\xc3\xa1t")); /* UTF-8 letters are not tokens */
}

/* The sequence of docs/states.md: on 0, off 20, on 50, fault 70, off 100,
 * carry 30 s. */
static void test_sequence_and_carry(void **unused)
{
    (void)unused;
    n_cells = 0;
    struct iocd_states *st = iocd_states_new(30000, 0);
    assert_non_null(st);
    add(st, 7, 0, "on", IOCD_REJECT_NONE);
    add(st, 7, 20, "off", IOCD_REJECT_NONE);
    flush(st);
    add(st, 7, 50, "on", IOCD_REJECT_NONE);
    add(st, 7, 70, "fault", IOCD_REJECT_NONE);
    add(st, 7, 100, "off", IOCD_REJECT_NONE);
    assert_true(iocd_states_has(st, 7));
    assert_false(iocd_states_has(st, 8));
    int64_t t;
    assert_string_equal(iocd_states_latest(st, 7, &t), "off");
    assert_int_equal(t, T0 + 100000);
    assert_string_equal(iocd_states_name(st, 7, 2), "fault");
    assert_null(iocd_states_name(st, 7, 3));
    /* Windows not closed yet: nothing carried. */
    iocd_states_tick(st, T0 + 119999);
    flush(st);
    expect(60, T0 + 60000, "off", 0, 1, 1);
    /* The minute at +60 closes: off up to +120, then the carry bound. */
    iocd_states_tick(st, T0 + 120000);
    flush(st);
    expect(60, T0 + 60000, "off", 20000, 1, 1);
    iocd_states_tick(st, T0 + 3 * 3600000);
    iocd_states_tick(st, T0 + 3 * 3600000);
    flush(st);
    expect(60, T0, "on", 30000, 2, 1);
    expect(60, T0, "off", 30000, 1, 1);
    expect(60, T0 + 60000, "on", 10000, 0, 0);
    expect(60, T0 + 60000, "fault", 30000, 1, 1);
    expect(60, T0 + 60000, "off", 20000, 1, 1);
    expect(60, T0 + 120000, "off", 10000, 0, 0);
    expect(3600, T0, "on", 40000, 2, 1);
    expect(3600, T0, "off", 60000, 2, 2);
    expect(3600, T0, "fault", 30000, 1, 1);
    iocd_states_free(st);
}

/* A state carried into a window without samples, then a late sample that
 * moves part of it to another state; a same state is no transition. */
static void test_late_sample_takes_back(void **unused)
{
    (void)unused;
    n_cells = 0;
    struct iocd_states *st = iocd_states_new(3600000, 0);
    add(st, 1, 10, "on", IOCD_REJECT_NONE);
    iocd_states_tick(st, T0 + 185000); /* minutes +0, +60, +120 closed */
    flush(st);
    expect(60, T0, "on", 50000, 1, 0);
    expect(60, T0 + 60000, "on", 60000, 0, 0);
    expect(60, T0 + 120000, "on", 60000, 0, 0);
    /* Newer than the latest sample, older than the carried time. */
    add(st, 1, 90, "off", IOCD_REJECT_NONE);
    add(st, 1, 95, "off", IOCD_REJECT_NONE);
    iocd_states_tick(st, T0 + 185000);
    flush(st);
    expect(60, T0 + 60000, "on", 30000, 0, 0);
    expect(60, T0 + 60000, "off", 30000, 2, 1);
    expect(60, T0 + 120000, "on", 0, 0, 0);
    expect(60, T0 + 120000, "off", 60000, 0, 0);
    expect(3600, T0, "on", 80000, 1, 0);
    expect(3600, T0, "off", 90000, 2, 1);
    iocd_states_free(st);
}

static void test_rejects_and_restore(void **unused)
{
    (void)unused;
    n_cells = 0;
    struct iocd_states *st = iocd_states_new(60000, 0);
    add(st, 3, 100, "on", IOCD_REJECT_NONE);
    add(st, 3, 99, "off", IOCD_REJECT_STATE_ORDER);
    add(st, 3, 100, "off", IOCD_REJECT_NONE); /* the same time: accepted */
    char name[8];
    for (int i = 2; i < IOCD_STATE_MAX_NAMES; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        add(st, 3, 100 + i, name, IOCD_REJECT_NONE);
    }
    add(st, 3, 200, "one_more", IOCD_REJECT_TOO_MANY_STATES);
    add(st, 3, 200, "on", IOCD_REJECT_NONE); /* a known one still is */
    flush(st);
    expect(60, T0 + 60000, "on", 0, 1, 0); /* the first sample: no transition */
    expect(60, T0 + 60000, "off", 2000, 1, 1);
    expect(60, T0 + 180000, "on", 0, 1, 1);

    /* What the store keeps, restored into a new table: carried on. */
    struct iocd_states *b = iocd_states_new(60000, 0);
    assert_int_equal(iocd_states_restore(b, 3, RES, 2, "on,off,fault", "off", T0, T0 + 30000), 0);
    assert_int_equal(iocd_states_restore(b, 4, RES, 2, "on,,x", "on", T0, T0), -1);
    add(b, 3, -1, "on", IOCD_REJECT_STATE_ORDER);
    add(b, 3, 40, "fault", IOCD_REJECT_NONE);
    n_cells = 0;
    flush(b);
    expect(60, T0, "off", 10000, 0, 0);
    expect(60, T0, "fault", 0, 1, 1);
    assert_string_equal(iocd_states_latest(b, 3, NULL), "fault");
    iocd_states_free(b);
    iocd_states_free(st);
}

/* Random sequences with random flushes and ticks against a model that
 * recomputes every window from the accepted samples at the end. */
static void test_matches_model(void **unused)
{
    (void)unused;
    const char *names[] = {"a", "b", "c"};
    for (int round = 0; round < 20; round++) {
        n_cells = 0;
        srand((unsigned)round + 1);
        int64_t carry = 1000 * (1 + rand() % 200);
        struct iocd_states *st = iocd_states_new(carry, 0);
        int64_t ts[64];
        int sv[64], n = 0;
        int64_t t = T0 + rand() % 100000;
        for (int i = 0; i < 64; i++) {
            t += (rand() % 4 == 0) ? 0 : rand() % 150000;
            int s = rand() % 3;
            char detail[192];
            int idx;
            assert_int_equal(iocd_states_add(st, 1, RES, 2, names[s], t, &idx, detail,
                                             sizeof(detail)),
                             IOCD_REJECT_NONE);
            ts[n] = t;
            sv[n++] = s;
            if (rand() % 3 == 0)
                iocd_states_tick(st, t + rand() % 200000 - 100000);
            if (rand() % 4 == 0)
                flush(st);
        }
        int64_t end = t + 10 * 3600000;
        iocd_states_tick(st, end);
        flush(st);
        /* The model: each sample's state holds until the next sample, at
         * most `carry`; the last one `carry` (its windows have closed). */
        for (int r = 0; r < 2; r++) {
            int64_t res = RES[r];
            for (int64_t w = T0 - T0 % res; w < end; w += res) {
                for (int s = 0; s < 3; s++) {
                    int64_t ms = 0, entries = 0, tr = 0;
                    for (int i = 0; i < n; i++) {
                        if (sv[i] != s)
                            continue;
                        int64_t a = ts[i], b = i + 1 < n ? ts[i + 1] : ts[i] + carry;
                        if (b > ts[i] + carry)
                            b = ts[i] + carry;
                        a = a > w ? a : w;
                        b = b < w + res ? b : w + res;
                        ms += b > a ? b - a : 0;
                        if (ts[i] >= w && ts[i] < w + res) {
                            entries++;
                            tr += i > 0 && sv[i - 1] != s;
                        }
                    }
                    expect((uint32_t)(res / 1000), w, names[s], ms, entries, tr);
                }
            }
        }
        iocd_states_free(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_sequence_and_carry),
        cmocka_unit_test(test_late_sample_takes_back),
        cmocka_unit_test(test_rejects_and_restore),
        cmocka_unit_test(test_matches_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
