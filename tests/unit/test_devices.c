/* tests/unit/test_devices.c — the device liveness table: interval learning
 * (first gap as is, EWMA 1/4, bursts, floor, outages not learned), stale
 * and offline at exact times, reconnects, forced offline, max_devices,
 * many devices through the hash table (and its prefetch), and what survives
 * a restart: dirty records taken as rows (bounded, oldest first) and
 * restored records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/alerts/devices.h"

struct change {
    char source[32], device[32];
    enum iocd_device_state state, prev;
    bool is_new;
    int64_t last_seen_ms, interval_ms;
};

struct rec {
    struct change c[64];
    int n;
};

static void on_change(void *ud, const struct iocd_device_info *d, enum iocd_device_state prev,
                      bool is_new)
{
    struct rec *r = ud;
    if (r->n >= 64)
        return;
    struct change *c = &r->c[r->n++];
    snprintf(c->source, sizeof(c->source), "%s", d->source);
    snprintf(c->device, sizeof(c->device), "%s", d->device);
    c->state = d->state;
    c->prev = prev;
    c->is_new = is_new;
    c->last_seen_ms = d->last_seen_ms;
    c->interval_ms = d->interval_ms;
}

static void base_cfg(struct iocd_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->devices.stale_multiple = 3;
    cfg->devices.offline_multiple = 10;
    cfg->devices.default_interval_ms = 60000;
    cfg->devices.min_interval_ms = 1000;
    cfg->devices.max_devices = 1000000;
}

static void test_interval_learning(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    assert_non_null(d);
    assert_int_equal(iocd_devices_seen(d, "air", "pk-01", 0), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.c[0].source, "air");
    assert_string_equal(r.c[0].device, "pk-01");
    assert_true(r.c[0].is_new);
    assert_int_equal(r.c[0].state, IOCD_DEVICE_ONLINE);
    const struct iocd_device_info *i = iocd_devices_get(d, "air", "pk-01");
    assert_non_null(i);
    assert_int_equal(i->interval_ms, 60000); /* default until the second message */
    assert_int_equal(i->first_seen_ms, 0);

    iocd_devices_seen(d, "air", "pk-01", 10000);
    assert_int_equal(i->interval_ms, 10000); /* first gap as is */
    iocd_devices_seen(d, "air", "pk-01", 30000);
    assert_int_equal(i->interval_ms, 12500); /* 10000 + (20000 - 10000) / 4 */
    iocd_devices_seen(d, "air", "pk-01", 30500); /* same burst: not a gap */
    assert_int_equal(i->interval_ms, 12500);
    assert_int_equal(i->last_seen_ms, 30500);
    iocd_devices_seen(d, "air", "pk-01", 40500); /* gap from the burst start: 10500 */
    assert_int_equal(i->interval_ms, 12000);      /* 12500 + (10500 - 12500) / 4 */
    assert_int_equal(i->messages, 5);
    assert_int_equal(i->last_seen_ms, 40500);
    assert_int_equal(i->first_seen_ms, 0);
    assert_int_equal(r.n, 1); /* no state change while online */

    /* A default below the floor is raised to it. */
    cfg.devices.default_interval_ms = 200;
    iocd_devices_seen(d, "air", "pk-02", 0);
    assert_int_equal(iocd_devices_get(d, "air", "pk-02")->interval_ms, 1000);
    /* Same names in other fields are other devices. */
    assert_null(iocd_devices_get(d, "air/pk", "01"));
    assert_null(iocd_devices_get(d, "pk-01", "air"));
    assert_int_equal(iocd_devices_count(d), 2);
    iocd_devices_free(d);
}

static void test_stale_offline_exact_times(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    iocd_devices_seen(d, "air", "pk-01", 0);
    iocd_devices_seen(d, "air", "pk-01", 12000); /* interval 12000: stale > 36 s, offline > 120 s */
    r.n = 0;
    iocd_devices_tick(d, 48000); /* silent exactly 36000: not more than 3 x */
    assert_int_equal(r.n, 0);
    iocd_devices_tick(d, 48001);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.c[0].state, IOCD_DEVICE_STALE);
    assert_int_equal(r.c[0].prev, IOCD_DEVICE_ONLINE);
    assert_false(r.c[0].is_new);
    iocd_devices_tick(d, 60000);
    iocd_devices_tick(d, 132000); /* silent exactly 120000 */
    assert_int_equal(r.n, 1);
    iocd_devices_tick(d, 132001);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.c[1].state, IOCD_DEVICE_OFFLINE);
    assert_int_equal(r.c[1].prev, IOCD_DEVICE_STALE);
    iocd_devices_tick(d, 1000000);
    assert_int_equal(r.n, 2);

    /* Back: online, and the outage is not learned as an interval. */
    iocd_devices_seen(d, "air", "pk-01", 200000);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.c[2].state, IOCD_DEVICE_ONLINE);
    assert_int_equal(r.c[2].prev, IOCD_DEVICE_OFFLINE);
    assert_false(r.c[2].is_new);
    assert_int_equal(r.c[2].interval_ms, 12000);
    iocd_devices_seen(d, "air", "pk-01", 204000); /* gap 4000 */
    assert_int_equal(iocd_devices_get(d, "air", "pk-01")->interval_ms, 10000);

    /* A tick that misses the stale window goes straight to offline, once. */
    iocd_devices_tick(d, 204000 + 100001);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.c[3].state, IOCD_DEVICE_OFFLINE);
    assert_int_equal(r.c[3].prev, IOCD_DEVICE_ONLINE);
    iocd_devices_free(d);
}

/* The running counts per source and state follow every change: new,
 * stale, offline (by time and forced), back online, restored. */
static void test_source_counts(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    struct iocd_devices *d = iocd_devices_new(&cfg, NULL, NULL);
    uint64_t n[IOCD_DEVICE__COUNT];
    assert_null(iocd_devices_source_counts(d, 0, n));
    iocd_devices_seen(d, "air", "pk-01", 0);
    iocd_devices_seen(d, "air", "pk-01", 12000); /* stale after 48000, offline after 132000 */
    iocd_devices_seen(d, "traffic", "cam-1", 100000);
    iocd_devices_seen(d, "air", "pk-02", 100000);
    assert_int_equal(iocd_devices_sources(d), 2);
    assert_string_equal(iocd_devices_source_counts(d, 0, n), "air");
    assert_int_equal(n[IOCD_DEVICE_ONLINE], 2);
    iocd_devices_tick(d, 48001); /* pk-01 stale */
    assert_non_null(iocd_devices_source_counts(d, 0, n));
    assert_int_equal(n[IOCD_DEVICE_ONLINE], 1);
    assert_int_equal(n[IOCD_DEVICE_STALE], 1);
    iocd_devices_tick(d, 132001); /* pk-01 offline */
    assert_non_null(iocd_devices_source_counts(d, 0, n));
    assert_int_equal(n[IOCD_DEVICE_STALE], 0);
    assert_int_equal(n[IOCD_DEVICE_OFFLINE], 1);
    iocd_devices_offline(d, "traffic", "cam-1", 132002);
    assert_string_equal(iocd_devices_source_counts(d, 1, n), "traffic");
    assert_int_equal(n[IOCD_DEVICE_ONLINE], 0);
    assert_int_equal(n[IOCD_DEVICE_OFFLINE], 1);
    iocd_devices_seen(d, "air", "pk-01", 140000); /* back */
    assert_non_null(iocd_devices_source_counts(d, 0, n));
    assert_int_equal(n[IOCD_DEVICE_ONLINE], 2);
    assert_int_equal(n[IOCD_DEVICE_OFFLINE], 0);
    const struct iocd_device_row row = {.source = "parking", .device = "lot-9",
                                        .state = IOCD_DEVICE_STALE, .first_seen_ms = 1,
                                        .last_seen_ms = 2, .interval_ms = 60000};
    assert_int_equal(iocd_devices_restore(d, &row), 0);
    assert_string_equal(iocd_devices_source_counts(d, 2, n), "parking");
    assert_int_equal(n[IOCD_DEVICE_ONLINE], 0);
    assert_int_equal(n[IOCD_DEVICE_STALE], 1);
    assert_null(iocd_devices_source_counts(d, 3, n));
    iocd_devices_free(d);
}

static void test_stale_then_seen_learns_gap(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    iocd_devices_seen(d, "water", "w1", 0);
    iocd_devices_seen(d, "water", "w1", 10000);
    iocd_devices_tick(d, 40001);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.c[1].state, IOCD_DEVICE_STALE);
    iocd_devices_seen(d, "water", "w1", 45000); /* gap 35000 while stale: learned */
    assert_int_equal(r.n, 3);
    assert_int_equal(r.c[2].state, IOCD_DEVICE_ONLINE);
    assert_int_equal(r.c[2].prev, IOCD_DEVICE_STALE);
    assert_int_equal(r.c[2].interval_ms, 16250); /* 10000 + 25000 / 4 */
    /* The new interval moves the stale time: 45000 + 3 x 16250. */
    iocd_devices_tick(d, 93750);
    assert_int_equal(r.n, 3);
    iocd_devices_tick(d, 93751);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.c[3].state, IOCD_DEVICE_STALE);
    iocd_devices_free(d);
}

static void test_forced_offline(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    iocd_devices_seen(d, "sp", "edge1", 1000);
    iocd_devices_offline(d, "sp", "edge1", 2000);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.c[1].state, IOCD_DEVICE_OFFLINE);
    assert_int_equal(r.c[1].prev, IOCD_DEVICE_ONLINE);
    assert_int_equal(r.c[1].last_seen_ms, 1000); /* the DEATH is not a message */
    iocd_devices_offline(d, "sp", "edge1", 3000); /* already offline */
    iocd_devices_offline(d, "sp", "nobody", 3000); /* unknown: ignored */
    iocd_devices_tick(d, 10000000);
    assert_int_equal(r.n, 2);
    assert_null(iocd_devices_get(d, "sp", "nobody"));
    assert_int_equal(iocd_devices_count(d), 1);
    iocd_devices_seen(d, "sp", "edge1", 5000);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.c[2].state, IOCD_DEVICE_ONLINE);
    assert_int_equal(r.c[2].prev, IOCD_DEVICE_OFFLINE);
    assert_int_equal(r.c[2].interval_ms, 60000); /* nothing learned across the outage */
    /* Stale can be forced offline too. */
    iocd_devices_tick(d, 5000 + 180001);
    assert_int_equal(r.c[3].state, IOCD_DEVICE_STALE);
    iocd_devices_offline(d, "sp", "edge1", 200000);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.c[4].prev, IOCD_DEVICE_STALE);
    assert_int_equal(r.c[4].state, IOCD_DEVICE_OFFLINE);
    /* Bad input does nothing. */
    iocd_devices_offline(NULL, "a", "b", 0);
    iocd_devices_offline(d, NULL, "b", 0);
    assert_int_equal(iocd_devices_seen(d, NULL, "b", 0), -1);
    assert_int_equal(iocd_devices_seen(NULL, "a", "b", 0), -1);
    iocd_devices_tick(NULL, 0);
    assert_null(iocd_devices_get(d, "sp", NULL));
    assert_int_equal(r.n, 5);
    iocd_devices_free(d);
    iocd_devices_free(NULL);
}

static void test_max_devices(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    cfg.devices.max_devices = 2;
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    assert_int_equal(iocd_devices_seen(d, "a", "1", 0), 0);
    assert_int_equal(iocd_devices_seen(d, "a", "2", 0), 0);
    assert_int_equal(iocd_devices_seen(d, "a", "3", 0), -1);
    assert_int_equal(iocd_devices_count(d), 2);
    assert_null(iocd_devices_get(d, "a", "3"));
    assert_int_equal(r.n, 2);
    assert_int_equal(iocd_devices_seen(d, "a", "1", 5000), 0); /* known ones still count */
    assert_int_equal(iocd_devices_get(d, "a", "1")->messages, 2);
    iocd_devices_free(d);
}

static void test_disabled_stale_step(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    cfg.devices.stale_multiple = 0; /* only offline */
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    iocd_devices_seen(d, "a", "1", 0); /* interval 60000: offline after 600 s */
    iocd_devices_tick(d, 600000);
    assert_int_equal(r.n, 1);
    iocd_devices_tick(d, 600001);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.c[1].prev, IOCD_DEVICE_ONLINE);
    assert_int_equal(r.c[1].state, IOCD_DEVICE_OFFLINE);
    assert_string_equal(iocd_device_state_name(IOCD_DEVICE_ONLINE), "online");
    assert_string_equal(iocd_device_state_name(IOCD_DEVICE_STALE), "stale");
    assert_string_equal(iocd_device_state_name(IOCD_DEVICE_OFFLINE), "offline");
    iocd_devices_free(d);
}

struct counts {
    size_t seen, stale, offline, online;
    unsigned char *visited;
};

static void count_change(void *ud, const struct iocd_device_info *d, enum iocd_device_state prev,
                         bool is_new)
{
    struct counts *c = ud;
    (void)prev;
    if (is_new)
        c->seen++;
    else if (d->state == IOCD_DEVICE_STALE)
        c->stale++;
    else if (d->state == IOCD_DEVICE_OFFLINE)
        c->offline++;
    else
        c->online++;
}

static void visit(void *ud, const struct iocd_device_info *d)
{
    struct counts *c = ud;
    int k = atoi(d->device);
    c->visited[k]++;
}

/* Many devices: every one is found, visited once and changes state at its
 * own time (half have interval 10 s, half 20 s). */
static void test_many_devices(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct iocd_config cfg;
    base_cfg(&cfg);
    struct counts c = {0};
    c.visited = calloc(N, 1);
    struct iocd_devices *d = iocd_devices_new(&cfg, count_change, &c);
    char dev[16];
    /* The prefetch is only a hint: on no table, an empty one, NULL names,
     * absent and known devices, through every growth of the index (ASan
     * checks that it reads nothing outside it), nothing changes. */
    iocd_devices_prefetch(NULL, "s", "0", 0);
    iocd_devices_prefetch(d, "s", "0", 1);
    iocd_devices_prefetch(d, NULL, "0", 0);
    iocd_devices_prefetch(d, "s", NULL, 1);
    for (int k = 0; k < N; k++) {
        snprintf(dev, sizeof(dev), "%d", k);
        iocd_devices_prefetch(d, "s", dev, 0);
        iocd_devices_prefetch(d, "s", dev, 1);
        assert_int_equal(iocd_devices_seen(d, "s", dev, 0), 0);
        iocd_devices_prefetch(d, "s", dev, 1);
        iocd_devices_seen(d, "s", dev, k % 2 ? 20000 : 10000);
    }
    assert_int_equal(iocd_devices_count(d), N);
    assert_int_equal(c.seen, N);
    for (int k = 0; k < N; k++) {
        snprintf(dev, sizeof(dev), "%d", k);
        const struct iocd_device_info *i = iocd_devices_get(d, "s", dev);
        assert_non_null(i);
        assert_string_equal(i->device, dev);
        assert_int_equal(i->interval_ms, k % 2 ? 20000 : 10000);
    }
    iocd_devices_foreach(d, visit, &c);
    for (int k = 0; k < N; k++)
        assert_int_equal(c.visited[k], 1);
    iocd_devices_tick(d, 40001); /* even ones: 10000 + 30000 */
    assert_int_equal(c.stale, N / 2);
    iocd_devices_tick(d, 80001); /* odd ones: 20000 + 60000 */
    assert_int_equal(c.stale, N);
    iocd_devices_tick(d, 110001); /* even ones offline: 10000 + 100000 */
    assert_int_equal(c.offline, N / 2);
    assert_int_equal(c.online, 0);
    iocd_devices_free(d);
    free(c.visited);
}

/* Every change marks the record dirty once; take hands the oldest out as
 * plain rows (copies), at most `max` a time, and they are clean again. */
static void test_dirty_take(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    size_t n = 99;
    assert_null(iocd_devices_take_dirty(d, 10, &n));
    assert_int_equal(n, 0);
    iocd_devices_seen(d, "air", "pk-01", 1000);
    iocd_devices_seen(d, "water", "w1", 2000);
    iocd_devices_seen(d, "air", "pk-01", 11000); /* already dirty: listed once */
    iocd_devices_seen(d, "air", "pk-02", 3000);
    assert_int_equal(iocd_devices_dirty_count(d), 3);
    assert_null(iocd_devices_take_dirty(d, 0, &n));
    assert_int_equal(iocd_devices_dirty_count(d), 3);
    struct iocd_device_row *rows = iocd_devices_take_dirty(d, 2, &n);
    assert_non_null(rows);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].source, "air");
    assert_string_equal(rows[0].device, "pk-01");
    assert_int_equal(rows[0].state, IOCD_DEVICE_ONLINE);
    assert_int_equal(rows[0].first_seen_ms, 1000);
    assert_int_equal(rows[0].last_seen_ms, 11000);
    assert_int_equal(rows[0].interval_ms, 10000);
    assert_int_equal(rows[0].messages, 2);
    assert_string_equal(rows[1].source, "water");
    assert_string_equal(rows[1].device, "w1");
    assert_int_equal(rows[1].interval_ms, 60000);
    assert_int_equal(rows[1].messages, 1);
    assert_int_equal(iocd_devices_dirty_count(d), 1);
    /* The rows are copies: the table moving on does not change them. */
    iocd_devices_seen(d, "air", "pk-01", 21000);
    assert_int_equal(rows[0].last_seen_ms, 11000);
    iocd_device_rows_free(rows, n);
    rows = iocd_devices_take_dirty(d, 10, &n);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].device, "pk-02"); /* oldest dirty first */
    assert_string_equal(rows[1].device, "pk-01");
    assert_int_equal(rows[1].last_seen_ms, 21000);
    assert_int_equal(rows[1].messages, 3);
    iocd_device_rows_free(rows, n);
    assert_int_equal(iocd_devices_dirty_count(d), 0);
    /* A state change by time or by the feed marks it dirty too. */
    iocd_devices_tick(d, 21000 + 3 * 12500 + 1); /* pk-01 stale (interval 12500) */
    assert_int_equal(iocd_devices_dirty_count(d), 1);
    iocd_devices_offline(d, "water", "w1", 60000);
    assert_int_equal(iocd_devices_dirty_count(d), 2);
    iocd_devices_offline(d, "water", "w1", 61000); /* no change: nothing new */
    assert_int_equal(iocd_devices_dirty_count(d), 2);
    rows = iocd_devices_take_dirty(d, 10, &n);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].device, "pk-01");
    assert_int_equal(rows[0].state, IOCD_DEVICE_STALE);
    assert_string_equal(rows[1].device, "w1");
    assert_int_equal(rows[1].state, IOCD_DEVICE_OFFLINE);
    assert_int_equal(rows[1].last_seen_ms, 2000);
    iocd_device_rows_free(rows, n);
    iocd_device_rows_free(NULL, 3);
    assert_null(iocd_devices_take_dirty(NULL, 10, &n));
    assert_int_equal(n, 0);
    assert_int_equal(iocd_devices_dirty_count(NULL), 0);
    iocd_devices_free(d);
}

/* Restored records: no callback, not dirty; the next tick judges them by
 * time and reports; learning goes on from the stored interval. */
static void test_restore(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    struct iocd_device_row rows[] = {
        {.source = "air", .device = "pk-01", .state = IOCD_DEVICE_ONLINE, .first_seen_ms = 1000,
         .last_seen_ms = 100000, .interval_ms = 10000, .messages = 5},
        {.source = "air", .device = "pk-02", .state = IOCD_DEVICE_ONLINE, .first_seen_ms = 1000,
         .last_seen_ms = 100000, .interval_ms = 20000, .messages = 1},
        {.source = "water", .device = "w1", .state = IOCD_DEVICE_OFFLINE, .first_seen_ms = 0,
         .last_seen_ms = 5000, .interval_ms = 1000, .messages = 9},
    };
    for (int k = 0; k < 3; k++)
        assert_int_equal(iocd_devices_restore(d, &rows[k]), 0);
    assert_int_equal(iocd_devices_restore(d, &rows[0]), -1); /* known already */
    struct iocd_device_row bad = rows[0];
    bad.device = "";
    assert_int_equal(iocd_devices_restore(d, &bad), -1);
    bad = rows[0];
    bad.device = "pk-09";
    bad.state = IOCD_DEVICE__COUNT;
    assert_int_equal(iocd_devices_restore(d, &bad), -1);
    bad.state = IOCD_DEVICE_ONLINE;
    bad.interval_ms = 0; /* raised to min_interval */
    assert_int_equal(iocd_devices_restore(d, &bad), 0);
    assert_int_equal(iocd_devices_get(d, "air", "pk-09")->interval_ms, 1000);
    assert_int_equal(iocd_devices_restore(NULL, &rows[0]), -1);
    assert_int_equal(iocd_devices_restore(d, NULL), -1);
    assert_int_equal(r.n, 0);
    assert_int_equal(iocd_devices_dirty_count(d), 0);
    assert_int_equal(iocd_devices_count(d), 4);
    const struct iocd_device_info *i = iocd_devices_get(d, "air", "pk-01");
    assert_non_null(i);
    assert_int_equal(i->first_seen_ms, 1000);
    assert_int_equal(i->last_seen_ms, 100000);
    assert_int_equal(i->interval_ms, 10000);
    assert_int_equal(i->messages, 5);
    assert_int_equal(i->state, IOCD_DEVICE_ONLINE);
    /* pk-01 stale after 30 s, pk-02 after 60 s; pk-09 went long ago. */
    iocd_devices_tick(d, 130000);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.c[0].device, "pk-09");
    assert_int_equal(r.c[0].state, IOCD_DEVICE_OFFLINE);
    assert_int_equal(r.c[0].prev, IOCD_DEVICE_ONLINE);
    assert_false(r.c[0].is_new);
    iocd_devices_tick(d, 130001);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.c[1].device, "pk-01");
    assert_int_equal(r.c[1].state, IOCD_DEVICE_STALE);
    assert_int_equal(iocd_devices_dirty_count(d), 2);
    /* A restored device with several messages moves its interval a quarter
     * of the gap; one with a single message takes the first gap as is. */
    iocd_devices_seen(d, "air", "pk-01", 150000);
    assert_int_equal(i->interval_ms, 20000); /* 10000 + (150000 - 100000 - 10000) / 4 */
    assert_int_equal(i->messages, 6);
    assert_int_equal(r.c[2].state, IOCD_DEVICE_ONLINE);
    assert_int_equal(r.c[2].prev, IOCD_DEVICE_STALE);
    iocd_devices_seen(d, "air", "pk-02", 110000);
    assert_int_equal(iocd_devices_get(d, "air", "pk-02")->interval_ms, 10000);
    /* Offline when stored: back online, the outage not learned. */
    iocd_devices_seen(d, "water", "w1", 200000);
    const struct iocd_device_info *w = iocd_devices_get(d, "water", "w1");
    assert_int_equal(w->interval_ms, 1000);
    assert_int_equal(w->state, IOCD_DEVICE_ONLINE);
    assert_int_equal(r.c[r.n - 1].prev, IOCD_DEVICE_OFFLINE);
    iocd_devices_free(d);

    /* max_devices bounds restored records too. */
    cfg.devices.max_devices = 1;
    d = iocd_devices_new(&cfg, NULL, NULL);
    assert_int_equal(iocd_devices_restore(d, &rows[0]), 0);
    assert_int_equal(iocd_devices_restore(d, &rows[1]), -1);
    assert_int_equal(iocd_devices_count(d), 1);
    iocd_devices_free(d);
    assert_int_equal(iocd_device_state_parse("stale"), IOCD_DEVICE_STALE);
    assert_int_equal(iocd_device_state_parse("offline"), IOCD_DEVICE_OFFLINE);
    assert_int_equal(iocd_device_state_parse("gone"), -1);
    assert_int_equal(iocd_device_state_parse(NULL), -1);
}

/* With [devices] persist_interval, a device that keeps reporting is written
 * at most that often; state changes at once; mark_unsaved (a graceful stop)
 * brings every row up to date. */
static void test_persist_interval(void **state)
{
    (void)state;
    struct iocd_config cfg;
    base_cfg(&cfg);
    cfg.devices.persist_interval_ms = 60000;
    struct rec r = {0};
    struct iocd_devices *d = iocd_devices_new(&cfg, on_change, &r);
    size_t n;
    struct iocd_device_row *rows;
    iocd_devices_seen(d, "air", "pk-01", 1000); /* new: written */
    assert_int_equal(iocd_devices_dirty_count(d), 1);
    rows = iocd_devices_take_dirty(d, 10, &n);
    iocd_device_rows_free(rows, n);
    iocd_devices_seen(d, "air", "pk-01", 11000);
    iocd_devices_seen(d, "air", "pk-01", 60999);
    assert_int_equal(iocd_devices_dirty_count(d), 0); /* < 60 s since the stored 1000 */
    iocd_devices_seen(d, "air", "pk-01", 61000);
    assert_int_equal(iocd_devices_dirty_count(d), 1);
    rows = iocd_devices_take_dirty(d, 10, &n);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].last_seen_ms, 61000);
    assert_int_equal(rows[0].messages, 4);
    iocd_device_rows_free(rows, n);
    iocd_devices_seen(d, "air", "pk-01", 70000);
    assert_int_equal(iocd_devices_dirty_count(d), 0);
    iocd_devices_mark_unsaved(d); /* shutdown: everything exact */
    assert_int_equal(iocd_devices_dirty_count(d), 1);
    rows = iocd_devices_take_dirty(d, 10, &n);
    assert_int_equal(rows[0].last_seen_ms, 70000);
    iocd_device_rows_free(rows, n);
    iocd_devices_mark_unsaved(d); /* nothing unsaved now */
    assert_int_equal(iocd_devices_dirty_count(d), 0);
    /* A state change is written at once, and so is the message after it. */
    iocd_devices_offline(d, "air", "pk-01", 71000);
    assert_int_equal(iocd_devices_dirty_count(d), 1);
    rows = iocd_devices_take_dirty(d, 10, &n);
    iocd_device_rows_free(rows, n);
    iocd_devices_seen(d, "air", "pk-01", 72000);
    assert_int_equal(iocd_devices_dirty_count(d), 1);
    iocd_devices_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_learning),
        cmocka_unit_test(test_stale_offline_exact_times),
        cmocka_unit_test(test_source_counts),
        cmocka_unit_test(test_stale_then_seen_learns_gap),
        cmocka_unit_test(test_forced_offline),
        cmocka_unit_test(test_max_devices),
        cmocka_unit_test(test_disabled_stale_step),
        cmocka_unit_test(test_many_devices),
        cmocka_unit_test(test_dirty_take),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_persist_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
