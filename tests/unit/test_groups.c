/* tests/unit/test_groups.c — [group NAME] sections (daemon/config/groups.c)
 * and the membership and gauge values of daemon/aggregate/groups.c: every
 * key and its refusals (exact message, file and line), which series
 * belong to which group, that a group series is never a member, and the
 * gauge statistics with stale members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/aggregate/groups.h"
#include "daemon/aggregate/states.h"
#include "daemon/config/config.h"

#define AIR                                                                                        \
    "[adapter air]\n"                                                                              \
    "topic = city/air/+/data\n"                                                                    \
    "format = json\n"                                                                              \
    "device = $.id\n"                                                                              \
    "metric.x = $.x\n"

static void expect_error(const char *text, const char *msg)
{
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    int rc = iocd_config_load_string(&cfg, "t.conf", text, &err);
    if (rc == 0)
        iocd_config_free(&cfg);
    assert_int_equal(rc, -1);
    assert_string_equal(err.msg, msg);
    assert_null(cfg.groups);
    assert_int_equal(cfg.n_groups, 0);
}

static void load_ok(struct iocd_config *cfg, const char *text)
{
    struct iocd_error err = {{0}};
    if (iocd_config_load_string(cfg, "t.conf", text, &err) != 0)
        fail_msg("load failed: %s", err.msg);
}

static void test_keys(void **state)
{
    (void)state;
    struct iocd_config cfg;
    load_ok(&cfg, AIR "[group city]\nkind = merged\nmembers = air/+/pm25 , air/GL-X/#\n"
                      "series = air/city/pm25\n"
                      "[group free]\nkind = gauge\nmembers = parking/+/free\n"
                      "series = parking/city/free\nstat = sum\ninterval = 30s\n"
                      "[group lights]\nkind = gauge\nmembers = lighting/+/on\n"
                      "series = lighting/all/on\nstat = count\nstale = 5m\n");
    assert_int_equal(cfg.n_groups, 3);
    const struct iocd_group_conf *g = &cfg.groups[0];
    assert_string_equal(g->name, "city");
    assert_int_equal(g->line, 6);
    assert_int_equal(g->kind, IOCD_GROUP_MERGED);
    assert_int_equal(g->n_members, 2);
    assert_string_equal(g->members[0], "air/+/pm25");
    assert_string_equal(g->members[1], "air/GL-X/#");
    assert_string_equal(g->series, "air/city/pm25");
    assert_string_equal(g->source, "air");
    assert_string_equal(g->device, "city");
    assert_string_equal(g->metric, "pm25");
    g = &cfg.groups[1];
    assert_int_equal(g->kind, IOCD_GROUP_GAUGE);
    assert_int_equal(g->stat, IOCD_GROUP_SUM);
    assert_int_equal(g->interval_ms, 30000);
    assert_int_equal(g->stale_ms, 60000); /* 2 x interval */
    g = &cfg.groups[2];
    assert_int_equal(g->stat, IOCD_GROUP_COUNT);
    assert_int_equal(g->interval_ms, 60000);
    assert_int_equal(g->stale_ms, 300000);
    assert_string_equal(iocd_group_stat_name(IOCD_GROUP_MEAN), "mean");
    iocd_config_free(&cfg);
}

static void test_refusals(void **state)
{
    (void)state;
    expect_error(AIR "[group]\nkind = merged\n", "t.conf:6: [group] needs a name: [group NAME]");
    expect_error(AIR "[group g]\nmembers = a/+/b\nseries = a/c/b\n",
                 "t.conf:6: [group g] has no 'kind' (merged or gauge)");
    expect_error(AIR "[group g]\nkind = sum\n", "t.conf:7: [group g] kind: 'sum' is not merged or gauge");
    expect_error(AIR "[group g]\nkind = merged\nseries = a/c/b\n",
                 "t.conf:6: [group g] has no 'members' (series patterns such as air/+/pm25)");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+\nseries = a/c/b\n",
                 "t.conf:8: [group g] members: 'a/+' is not a pattern over SOURCE/DEVICE/METRIC");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b/c\nseries = a/c/b\n",
                 "t.conf:8: [group g] members: 'a/+/b/c' is not a pattern over "
                 "SOURCE/DEVICE/METRIC");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/x+/b\nseries = a/c/b\n",
                 "t.conf:8: topic 'a/x+/b': '+' must stand alone in its level");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b\n",
                 "t.conf:6: [group g] has no 'series' (its own SOURCE/DEVICE/METRIC, e.g. "
                 "air/city/pm25)");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b\nseries = a/+/b\n",
                 "t.conf:9: [group g] series: 'a/+/b' is not SOURCE/DEVICE/METRIC (three ids "
                 "without + or #)");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b\nseries = a/c\n",
                 "t.conf:9: [group g] series: 'a/c' is not SOURCE/DEVICE/METRIC (three ids "
                 "without + or #)");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b\nseries = a/c/b\nstat = sum\n",
                 "t.conf:10: [group g] stat: only gauge groups have it (a merged group counts "
                 "every member sample)");
    expect_error(AIR "[group g]\nkind = gauge\nmembers = a/+/b\nseries = a/c/b\nstat = p50\n",
                 "t.conf:10: [group g] stat: 'p50' is not sum, mean, min, max or count");
    expect_error(AIR "[group g]\nkind = gauge\nmembers = a/+/b\nseries = a/c/b\n"
                     "interval = 1500ms\n",
                 "t.conf:10: [group g] interval: '1500ms' is not whole seconds from 1s to 1d");
    expect_error(AIR "[group g]\nkind = gauge\nmembers = a/+/b\nseries = a/c/b\nstale = 0s\n",
                 "t.conf:10: [group g] stale: '0s' is not a duration from 1s to 7d");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b\nseries = a/c/b\n"
                     "[group g]\nkind = merged\nmembers = a/+/b\nseries = a/d/b\n",
                 "t.conf:10: [group g] defined twice (first on line 6)");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b\nseries = a/c/b\n"
                     "[group h]\nkind = merged\nmembers = x/+/b\nseries = a/c/b\n",
                 "t.conf:10: [group h] series: 'a/c/b' is already [group g]'s");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b\nseries = a/c/b\ncolour = red\n",
                 "t.conf:10: unknown key 'colour' in [group g]");
    /* A registry field, or {area}: refused without a device registry. */
    expect_error(AIR "[group g]\nkind = merged\nwhere = area=Hội Thương\nseries = a/c/b\n",
                 "t.conf:8: [group g] where: selecting members by area needs the device "
                 "registry ([devices] registry = FILE)");
    expect_error(AIR "[group g]\nkind = merged\nmembers = a/+/b\nseries = a/w:{area}/b\n",
                 "t.conf:9: [group g] series: {area} makes one group per area of the device "
                 "registry, and there is none ([devices] registry = FILE)");
    expect_error(AIR "[group g]\nkind = merged\nwhere = colour=red\nseries = a/c/b\n",
                 "t.conf:8: [group g] where: 'colour=red' is not FIELD=VALUE with FIELD area, "
                 "ward, subsystem or tag");
}

static const char *GROUPS = AIR "[group city]\nkind = merged\nmembers = air/+/pm25\n"
                                "series = air/city/pm25\n"
                                "[group all]\nkind = merged\nmembers = air/#\n"
                                "series = air/all/x\n"
                                "[group free]\nkind = gauge\nmembers = lot/+/free\n"
                                "series = lot/city/free\nstat = sum\ninterval = 10s\n"
                                "stale = 20s\n"
                                "[group freemin]\nkind = gauge\nmembers = lot/+/free\n"
                                "series = lot/city/free_min\nstat = min\ninterval = 10s\n"
                                "stale = 20s\n";

static void test_membership(void **state)
{
    (void)state;
    struct iocd_config cfg;
    load_ok(&cfg, GROUPS);
    struct iocd_groups *gs = iocd_groups_new(&cfg);
    assert_non_null(gs);
    assert_int_equal(iocd_groups_resolve(gs, 1, "air/GL-AQ01/pm25"), 0);
    assert_int_equal(iocd_groups_resolve(gs, 2, "air/GL-AQ01/pm10"), 0);
    assert_int_equal(iocd_groups_resolve(gs, 3, "water/GL-WL01/level"), 0);
    assert_int_equal(iocd_groups_resolve(gs, 4, "air/city/pm25"), 0); /* [group city]'s own */
    assert_int_equal(iocd_groups_resolve(gs, 5000, "air/GL-AQ02/pm25"), 0);
    size_t n;
    const uint16_t *l = iocd_groups_of(gs, 1, &n);
    assert_int_equal(n, 2);
    assert_int_equal(l[0], 0);
    assert_int_equal(l[1], 1);
    l = iocd_groups_of(gs, 5000, &n);
    assert_int_equal(n, 2); /* the same interned set */
    assert_ptr_equal(l, iocd_groups_of(gs, 1, &n));
    l = iocd_groups_of(gs, 2, &n);
    assert_int_equal(n, 1);
    assert_int_equal(l[0], 1);
    assert_null(iocd_groups_of(gs, 3, &n));
    assert_int_equal(n, 0);
    /* A group's own series is in no group, not even one whose pattern matches it. */
    assert_null(iocd_groups_of(gs, 4, &n));
    assert_int_equal(iocd_groups_owner(gs, 4), 0);
    assert_int_equal(iocd_groups_owner(gs, 1), -1);
    assert_int_equal(iocd_groups_owner(gs, 99999), -1);
    uint32_t id;
    assert_true(iocd_groups_series_id(gs, 0, &id));
    assert_int_equal(id, 4);
    assert_false(iocd_groups_series_id(gs, 1, &id));
    iocd_groups_free(gs);
    iocd_config_free(&cfg);
}

struct emitted {
    int g[8];
    int64_t t[8];
    double v[8];
    size_t n_fresh[8];
    int n;
};

static void record(void *ud, int g, int64_t t_ms, double value, size_t n_fresh)
{
    struct emitted *e = ud;
    assert_true(e->n < 8);
    e->g[e->n] = g;
    e->t[e->n] = t_ms;
    e->v[e->n] = value;
    e->n_fresh[e->n++] = n_fresh;
}

static void test_gauge(void **state)
{
    (void)state;
    struct iocd_config cfg;
    load_ok(&cfg, GROUPS);
    struct iocd_groups *gs = iocd_groups_new(&cfg);
    assert_int_equal(iocd_groups_resolve(gs, 10, "lot/P1/free"), 0);
    assert_int_equal(iocd_groups_resolve(gs, 11, "lot/P2/free"), 0);
    assert_int_equal(iocd_groups_resolve(gs, 12, "lot/P3/free"), 0);
    int64_t t0 = 1795305600000; /* a multiple of 10 s */
    struct emitted e = {0};
    iocd_groups_tick(gs, t0 + 3000, record, &e); /* arms: t0 is before the start */
    assert_int_equal(e.n, 0);
    iocd_groups_note(gs, 10, 10, t0 + 1000);
    iocd_groups_note(gs, 11, 20, t0 + 2000);
    iocd_groups_note(gs, 12, 35, t0 + 4000);
    iocd_groups_note(gs, 12, 99, t0 + 3000); /* older: not the latest */
    iocd_groups_tick(gs, t0 + 9999, record, &e);
    assert_int_equal(e.n, 0);
    iocd_groups_tick(gs, t0 + 10200, record, &e);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.g[0], 2);
    assert_int_equal(e.t[0], t0 + 10000);
    assert_true(e.v[0] == 65.0);
    assert_int_equal(e.n_fresh[0], 3);
    assert_int_equal(e.g[1], 3);
    assert_true(e.v[1] == 10.0);
    /* At t0 + 21 s, P1 (from t0 + 1 s) is exactly `stale` old: no longer
     * counted; P2 and P3 are. At t0 + 22 s, P2 is out too. */
    double v;
    size_t n;
    assert_true(iocd_groups_gauge_value(gs, 2, t0 + 21000, &v, &n));
    assert_int_equal(n, 2); /* P2, P3 */
    assert_true(v == 55.0);
    assert_true(iocd_groups_gauge_value(gs, 2, t0 + 22000, &v, &n));
    assert_int_equal(n, 1); /* P3: a value exactly `stale` old no longer counts */
    assert_true(v == 35.0);
    /* No fresh member: nothing emitted. */
    e.n = 0;
    iocd_groups_tick(gs, t0 + 60500, record, &e);
    assert_int_equal(e.n, 0);
    assert_false(iocd_groups_gauge_value(gs, 2, t0 + 60000, &v, &n));
    assert_int_equal(n, 0);
    /* A boundary already stored (a restart within the interval) is not
     * emitted again. */
    iocd_groups_note(gs, 10, 7, t0 + 65000);
    iocd_groups_emitted(gs, 2, t0 + 70000);
    iocd_groups_tick(gs, t0 + 70100, record, &e);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.g[0], 3);
    assert_true(e.v[0] == 7.0);
    iocd_groups_free(gs);
    iocd_config_free(&cfg);
}

/* where = FIELD=VALUE and {area} against a registry file. */
static void test_registry_fields(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[512];
    snprintf(path, sizeof(path), "%s/test_groups_reg_%d.csv", tmp, (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("source,device,name,lat,lon,area,subsystem,tags\n"
          "air,A1,,,,Hội Thương,air,school\n"
          "air,A2,,,,Ia Kring,air,\n"
          "air,A3,,,,Hội Thương,traffic,school;fixed\n"
          "air,A4,,,,,air,\n",
          f);
    fclose(f);
    char text[2048];
    snprintf(text, sizeof(text),
             AIR "[devices]\nregistry = %s\n"
                 "[group city]\nkind = merged\nmembers = air/+/pm25\nseries = air/city/pm25\n"
                 "[group w]\nkind = merged\nmembers = air/+/pm25\nseries = air/ward:{area}/pm25\n"
                 "[group school]\nkind = merged\nmembers = air/+/pm25\nwhere = tag = school\n"
                 "series = air/school/pm25\n"
                 "[group sub]\nkind = gauge\nmembers = air/#\nwhere = subsystem=air\n"
                 "series = air/{ward} {area}/n\nstat = count\n"
                 "[group ia]\nkind = merged\nmembers = air/+/pm25\nwhere = ward=Ia Kring\n"
                 "series = air/ia/pm25\n",
             path);
    struct iocd_config cfg;
    load_ok(&cfg, text);
    remove(path);
    /* city, w:Hội Thương, w:Ia Kring, school, sub:Hội Thương, sub:Ia Kring, ia */
    assert_int_equal(cfg.n_groups, 7);
    assert_string_equal(cfg.groups[1].name, "w:Hội Thương");
    assert_string_equal(cfg.groups[1].series, "air/ward:Hội Thương/pm25");
    assert_string_equal(cfg.groups[1].device, "ward:Hội Thương");
    assert_string_equal(cfg.groups[1].area, "Hội Thương");
    assert_string_equal(cfg.groups[2].series, "air/ward:Ia Kring/pm25");
    assert_string_equal(cfg.groups[4].series, "air/Hội Thương Hội Thương/n");
    assert_int_equal(cfg.groups[4].kind, IOCD_GROUP_GAUGE);
    assert_string_equal(cfg.groups[4].where_value, "air");
    assert_string_equal(cfg.groups[5].name, "sub:Ia Kring");
    assert_string_equal(cfg.groups[6].name, "ia");
    struct iocd_groups *gs = iocd_groups_new(&cfg);
    assert_non_null(gs);
    const char *names[] = {"air/A1/pm25", "air/A2/pm25", "air/A3/pm25", "air/A4/pm25",
                           "air/A9/pm25", "air/A1/temp"};
    for (uint32_t i = 0; i < 6; i++)
        assert_int_equal(iocd_groups_resolve(gs, i + 1, names[i]), 0);
    /* The groups of each, in file order. */
    const uint16_t want[6][5] = {{0, 1, 3, 4}, {0, 2, 5, 6}, {0, 1, 3}, {0}, {0}, {4}};
    const size_t n_want[6] = {4, 4, 3, 1, 1, 1};
    for (uint32_t i = 0; i < 6; i++) {
        size_t n;
        const uint16_t *l = iocd_groups_of(gs, i + 1, &n);
        assert_int_equal(n, n_want[i]);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(l[k], want[i][k]);
    }
    iocd_groups_free(gs);
    iocd_config_free(&cfg);
}

/* A gauge with `state` counts the fresh members in that state, from the
 * state series (docs/states.md); a gauge without it ignores state members. */
static void test_count_state(void **unused)
{
    (void)unused;
    struct iocd_config cfg;
    load_ok(&cfg, AIR "[group fault]\nkind = gauge\nmembers = lighting/+/status\n"
                      "series = lighting/city/fault\nstate = fault\nstale = 1m\n"
                      "[group all]\nkind = gauge\nmembers = lighting/+/status\n"
                      "series = lighting/city/all\nstat = count\n");
    assert_int_equal(cfg.groups[0].stat, IOCD_GROUP_COUNT);
    assert_string_equal(cfg.groups[0].state, "fault");
    struct iocd_groups *gs = iocd_groups_new(&cfg);
    struct iocd_states *st = iocd_states_new(86400000, 0);
    iocd_groups_set_states(gs, st);
    static const int64_t res[] = {60000};
    int64_t t0 = 1795305600000;
    const char *seq[][2] = {{"L1", "fault"}, {"L2", "on"}, {"L3", "fault"}, {"L4", "off"}};
    for (uint32_t i = 0; i < 4; i++) {
        char name[64], detail[192];
        int idx;
        snprintf(name, sizeof(name), "lighting/%s/status", seq[i][0]);
        assert_int_equal(iocd_groups_resolve(gs, 20 + i, name), 0);
        /* L4 is 2 minutes old: not fresh */
        int64_t t = i == 3 ? t0 - 120000 : t0 - 1000;
        assert_int_equal(iocd_states_add(st, 20 + i, res, 1, seq[i][1], t, &idx, detail,
                                         sizeof(detail)),
                         IOCD_REJECT_NONE);
        iocd_groups_note(gs, 20 + i, idx, t);
    }
    double v;
    size_t n;
    assert_true(iocd_groups_gauge_value(gs, 0, t0, &v, &n));
    assert_int_equal(n, 3);
    assert_true(v == 2.0);
    assert_false(iocd_groups_gauge_value(gs, 1, t0, &v, &n)); /* no numeric member */
    char detail[192];
    int idx;
    assert_int_equal(iocd_states_add(st, 22, res, 1, "on", t0 - 500, &idx, detail,
                                     sizeof(detail)),
                     IOCD_REJECT_NONE);
    assert_true(iocd_groups_gauge_value(gs, 0, t0, &v, &n));
    assert_true(v == 1.0);
    iocd_states_free(st);
    iocd_groups_free(gs);
    iocd_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_count_state),
        cmocka_unit_test(test_registry_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
