/* tests/unit/test_series.c — the series registry (daemon/series.c): ids
 * assigned 1, 2, 3… on creation and found again, the unit not being part
 * of a series' identity, preloaded series and the ids after them, the list
 * of new series (every field) and its hand-over, the max_series limit,
 * table growth past thousands of series, iocd_series_find_many (the same
 * ids as one by one, 0 for absent or NULL parts and for a prefix of a
 * name, more than one chunk), and iocd_series_valid_id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/aggregate/series.h"

static void assert_new(const struct iocd_series_new *s, uint32_t id, const char *name,
                       const char *source, const char *device, const char *metric,
                       const char *unit, int64_t created_ms)
{
    assert_int_equal(s->id, id);
    assert_string_equal(s->name, name);
    assert_string_equal(s->source, source);
    assert_string_equal(s->device, device);
    assert_string_equal(s->metric, metric);
    assert_string_equal(s->unit, unit);
    assert_int_equal(s->created_ms, created_ms);
}

static void test_ids_and_take_new(void **state)
{
    (void)state;
    struct iocd_series_reg *r = iocd_series_reg_new(0);
    assert_non_null(r);
    assert_int_equal(iocd_series_count(r), 0);
    uint32_t id = 0;
    assert_int_equal(iocd_series_lookup(r, "air", "GL-AQ01", "pm25", "ug/m3", 1000, &id),
                     IOCD_SERIES_CREATED);
    assert_int_equal(id, 1);
    assert_int_equal(iocd_series_lookup(r, "air", "GL-AQ01", "pm10", "ug/m3", 2000, &id),
                     IOCD_SERIES_CREATED);
    assert_int_equal(id, 2);
    assert_int_equal(iocd_series_lookup(r, "water", "GL-WL01", "level", "", 3000, &id),
                     IOCD_SERIES_CREATED);
    assert_int_equal(id, 3);

    /* Found again, whatever the unit and time now. */
    id = 0;
    assert_int_equal(iocd_series_lookup(r, "air", "GL-AQ01", "pm25", "ug/m3", 9000, &id),
                     IOCD_SERIES_FOUND);
    assert_int_equal(id, 1);
    assert_int_equal(iocd_series_lookup(r, "air", "GL-AQ01", "pm10", "mg/m3", 9000, &id),
                     IOCD_SERIES_FOUND);
    assert_int_equal(id, 2);
    assert_int_equal(iocd_series_lookup(r, "water", "GL-WL01", "level", "cm", 9000, &id),
                     IOCD_SERIES_FOUND);
    assert_int_equal(id, 3);
    /* Another source with the same device and metric is another series. */
    assert_int_equal(iocd_series_lookup(r, "air2", "GL-AQ01", "pm25", "", 4000, &id),
                     IOCD_SERIES_CREATED);
    assert_int_equal(id, 4);
    assert_int_equal(iocd_series_count(r), 4);

    size_t n = 0;
    struct iocd_series_new *fresh = iocd_series_take_new(r, &n);
    assert_int_equal(n, 4);
    assert_non_null(fresh);
    assert_new(&fresh[0], 1, "air/GL-AQ01/pm25", "air", "GL-AQ01", "pm25", "ug/m3", 1000);
    assert_new(&fresh[1], 2, "air/GL-AQ01/pm10", "air", "GL-AQ01", "pm10", "ug/m3", 2000);
    assert_new(&fresh[2], 3, "water/GL-WL01/level", "water", "GL-WL01", "level", "", 3000);
    assert_new(&fresh[3], 4, "air2/GL-AQ01/pm25", "air2", "GL-AQ01", "pm25", "", 4000);
    iocd_series_new_free(fresh, n);

    /* The list is empty after a take; known series stay known. */
    n = 99;
    assert_null(iocd_series_take_new(r, &n));
    assert_int_equal(n, 0);
    assert_int_equal(iocd_series_count(r), 4);
    assert_int_equal(iocd_series_lookup(r, "air", "GL-AQ01", "pm25", "ug/m3", 9000, &id),
                     IOCD_SERIES_FOUND);
    assert_int_equal(id, 1);

    /* New ones after a take continue the ids and form a new list. */
    assert_int_equal(iocd_series_lookup(r, "traffic", "GL-TC001", "vehicles", "1", 5000, &id),
                     IOCD_SERIES_CREATED);
    assert_int_equal(id, 5);
    fresh = iocd_series_take_new(r, &n);
    assert_int_equal(n, 1);
    assert_new(&fresh[0], 5, "traffic/GL-TC001/vehicles", "traffic", "GL-TC001", "vehicles", "1",
               5000);
    iocd_series_new_free(fresh, n);
    iocd_series_reg_free(r);
}

static void test_preload(void **state)
{
    (void)state;
    struct iocd_series_reg *r = iocd_series_reg_new(0);
    assert_non_null(r);
    /* Out of order, with gaps, as a store could hold them. */
    assert_int_equal(iocd_series_reg_preload(r, 7, "air/a/pm25"), 0);
    assert_int_equal(iocd_series_reg_preload(r, 3, "air/b/pm25"), 0);
    assert_int_equal(iocd_series_reg_preload(r, 5, "water/w/level"), 0);
    assert_int_equal(iocd_series_count(r), 3);

    uint32_t id = 0;
    assert_int_equal(iocd_series_lookup(r, "air", "b", "pm25", "ug/m3", 1, &id),
                     IOCD_SERIES_FOUND);
    assert_int_equal(id, 3);
    assert_int_equal(iocd_series_lookup(r, "air", "a", "pm25", "ug/m3", 1, &id),
                     IOCD_SERIES_FOUND);
    assert_int_equal(id, 7);
    assert_int_equal(iocd_series_lookup(r, "water", "w", "level", "cm", 1, &id),
                     IOCD_SERIES_FOUND);
    assert_int_equal(id, 5);

    /* Preloaded series are not new. */
    size_t n = 99;
    assert_null(iocd_series_take_new(r, &n));
    assert_int_equal(n, 0);

    assert_int_equal(iocd_series_lookup(r, "air", "c", "pm25", "ug/m3", 42, &id),
                     IOCD_SERIES_CREATED);
    assert_int_equal(id, 8);
    assert_int_equal(iocd_series_lookup(r, "air", "d", "pm25", "ug/m3", 43, &id),
                     IOCD_SERIES_CREATED);
    assert_int_equal(id, 9);
    assert_int_equal(iocd_series_count(r), 5);
    struct iocd_series_new *fresh = iocd_series_take_new(r, &n);
    assert_int_equal(n, 2);
    assert_new(&fresh[0], 8, "air/c/pm25", "air", "c", "pm25", "ug/m3", 42);
    assert_new(&fresh[1], 9, "air/d/pm25", "air", "d", "pm25", "ug/m3", 43);
    iocd_series_new_free(fresh, n);
    iocd_series_reg_free(r);
}

static void test_id_space_exhausted(void **state)
{
    (void)state;
    /* The largest id a store may hold: no id is left for a new series. */
    struct iocd_series_reg *r = iocd_series_reg_new(0);
    assert_non_null(r);
    assert_int_equal(iocd_series_reg_preload(r, UINT32_MAX - 1, "a/b/c"), 0);
    uint32_t id = 0;
    assert_int_equal(iocd_series_lookup(r, "a", "b", "c", "", 1, &id), IOCD_SERIES_FOUND);
    assert_int_equal(id, UINT32_MAX - 1);
    assert_int_equal(iocd_series_lookup(r, "a", "b", "d", "", 1, &id), IOCD_SERIES_OVER_LIMIT);
    assert_int_equal(iocd_series_count(r), 1);
    iocd_series_reg_free(r);
}

static void test_max_series(void **state)
{
    (void)state;
    struct iocd_series_reg *r = iocd_series_reg_new(3);
    assert_non_null(r);
    assert_int_equal(iocd_series_reg_preload(r, 1, "air/a/x"), 0);
    uint32_t id = 0;
    assert_int_equal(iocd_series_lookup(r, "air", "b", "x", "", 1, &id), IOCD_SERIES_CREATED);
    assert_int_equal(id, 2);
    assert_int_equal(iocd_series_lookup(r, "air", "c", "x", "", 1, &id), IOCD_SERIES_CREATED);
    assert_int_equal(id, 3);

    id = 12345;
    assert_int_equal(iocd_series_lookup(r, "air", "d", "x", "", 1, &id), IOCD_SERIES_OVER_LIMIT);
    assert_int_equal(id, 12345);
    assert_int_equal(iocd_series_lookup(r, "air", "d", "x", "", 1, &id), IOCD_SERIES_OVER_LIMIT);
    assert_int_equal(iocd_series_count(r), 3);

    /* Existing series, preloaded or created, are still found. */
    assert_int_equal(iocd_series_lookup(r, "air", "a", "x", "", 1, &id), IOCD_SERIES_FOUND);
    assert_int_equal(id, 1);
    assert_int_equal(iocd_series_lookup(r, "air", "c", "x", "", 1, &id), IOCD_SERIES_FOUND);
    assert_int_equal(id, 3);

    size_t n = 0;
    struct iocd_series_new *fresh = iocd_series_take_new(r, &n);
    assert_int_equal(n, 2);
    assert_int_equal(fresh[0].id, 2);
    assert_int_equal(fresh[1].id, 3);
    iocd_series_new_free(fresh, n);
    /* Taking the list does not free room under the limit. */
    assert_int_equal(iocd_series_lookup(r, "air", "e", "x", "", 1, &id), IOCD_SERIES_OVER_LIMIT);
    iocd_series_reg_free(r);
}

static void test_many_series(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct iocd_series_reg *r = iocd_series_reg_new(0);
    assert_non_null(r);
    char dev[32];
    uint32_t id = 0;
    for (int i = 0; i < N; i++) {
        snprintf(dev, sizeof(dev), "dev-%d", i);
        assert_int_equal(iocd_series_lookup(r, "src", dev, "m", "u", i, &id),
                         IOCD_SERIES_CREATED);
        assert_int_equal(id, (uint32_t)i + 1);
    }
    assert_int_equal(iocd_series_count(r), N);
    for (int i = N - 1; i >= 0; i--) {
        snprintf(dev, sizeof(dev), "dev-%d", i);
        assert_int_equal(iocd_series_lookup(r, "src", dev, "m", "u", 0, &id), IOCD_SERIES_FOUND);
        assert_int_equal(id, (uint32_t)i + 1);
    }
    size_t n = 0;
    struct iocd_series_new *fresh = iocd_series_take_new(r, &n);
    assert_int_equal(n, N);
    for (int i = 0; i < N; i++) {
        char name[48];
        snprintf(dev, sizeof(dev), "dev-%d", i);
        snprintf(name, sizeof(name), "src/dev-%d/m", i);
        assert_new(&fresh[i], (uint32_t)i + 1, name, "src", dev, "m", "u", i);
    }
    iocd_series_new_free(fresh, n);
    iocd_series_reg_free(r);
}

static void test_find_many(void **state)
{
    (void)state;
    struct iocd_series_reg *r = iocd_series_reg_new(0);
    assert_non_null(r);
    uint32_t id = 0, ids[80];
    const char *devs[80], *mets[80];
    /* Before any series exists: every id is 0. */
    devs[0] = "d";
    mets[0] = "m";
    iocd_series_find_many(r, "src", devs, mets, 1, ids);
    assert_int_equal(ids[0], 0);
    /* 2000 series, ids 1..2000: "d<i>" / "m<i % 10>". */
    char dnames[200][16], mnames[10][8];
    for (int m = 0; m < 10; m++)
        snprintf(mnames[m], sizeof(mnames[m]), "m%d", m);
    for (int d = 0; d < 200; d++) {
        snprintf(dnames[d], sizeof(dnames[d]), "d%d", d);
        for (int m = 0; m < 10; m++) {
            assert_int_equal(iocd_series_lookup(r, "src", dnames[d], mnames[m], "u", 0, &id),
                             IOCD_SERIES_CREATED);
            assert_int_equal(id, (uint32_t)(d * 10 + m + 1));
        }
    }
    /* "src/d1/m1" exists; a prefix of it ("d1", "m") and a name with
     * other part boundaries ("d", "1/m1") are not it. */
    assert_int_equal(iocd_series_lookup(r, "src", "d1", "m1", "u", 0, &id), IOCD_SERIES_FOUND);
    assert_int_equal(id, 12);
    /* 80 lookups (three chunks of IOCD_SERIES_FIND_MANY): present ones,
     * an absent device, an absent metric, NULL parts. */
    for (int i = 0; i < 80; i++) {
        devs[i] = dnames[(i * 7) % 200];
        mets[i] = mnames[i % 10];
    }
    devs[5] = "nobody";
    mets[17] = "m10";
    devs[33] = NULL;
    mets[34] = NULL;
    devs[79] = "d1";
    mets[79] = "m1";
    devs[78] = "d";
    mets[78] = "1/m1";
    devs[77] = "d1";
    mets[77] = "m";
    iocd_series_find_many(r, "src", devs, mets, 80, ids);
    for (int i = 0; i < 80; i++) {
        uint32_t want = (uint32_t)(((i * 7) % 200) * 10 + i % 10 + 1);
        if (i == 5 || i == 17 || i == 33 || i == 34 || i == 77 || i == 78)
            want = 0;
        if (i == 79)
            want = 12;
        assert_int_equal(ids[i], want);
        if (devs[i] && mets[i]) {
            uint32_t one = 0;
            enum iocd_series_result sr = iocd_series_find(r, "src", devs[i], mets[i], &one);
            assert_int_equal(sr, want ? IOCD_SERIES_FOUND : IOCD_SERIES_OVER_LIMIT);
            if (want)
                assert_int_equal(one, want);
        }
    }
    /* Another source: none of them. */
    iocd_series_find_many(r, "other", devs, mets, 80, ids);
    for (int i = 0; i < 80; i++)
        assert_int_equal(ids[i], 0);
    /* Runs of one device (a message's observations: the same pointer, its
     * hash carried), across a chunk's end, a device between two runs of
     * another, and an equal name at another address. */
    char copy[16];
    snprintf(copy, sizeof(copy), "%s", dnames[3]);
    const char *run[24] = {dnames[3], dnames[3], dnames[3], dnames[3], dnames[4], dnames[4],
                           dnames[4], dnames[3], dnames[3], dnames[3], copy, copy};
    for (int i = 12; i < 24; i++)
        run[i] = dnames[i < 18 ? 5 : 6];
    for (int i = 0; i < 24; i++)
        mets[i] = mnames[i % 10];
    iocd_series_find_many(r, "src", run, mets, 24, ids);
    for (int i = 0; i < 24; i++) {
        int dev = i < 4 ? 3 : i < 7 ? 4 : i < 12 ? 3 : i < 18 ? 5 : 6;
        assert_int_equal(ids[i], (uint32_t)(dev * 10 + i % 10 + 1));
    }
    iocd_series_reg_free(r);
}

static void test_longest_parts(void **state)
{
    (void)state;
    char part[IOCD_ID_MAX + 1];
    memset(part, 'x', IOCD_ID_MAX);
    part[IOCD_ID_MAX] = '\0';
    assert_true(iocd_series_valid_id(part));
    struct iocd_series_reg *r = iocd_series_reg_new(0);
    assert_non_null(r);
    uint32_t id = 0;
    assert_int_equal(iocd_series_lookup(r, part, part, part, "u", 1, &id), IOCD_SERIES_CREATED);
    assert_int_equal(id, 1);
    assert_int_equal(iocd_series_lookup(r, part, part, part, "u", 1, &id), IOCD_SERIES_FOUND);
    size_t n = 0;
    struct iocd_series_new *fresh = iocd_series_take_new(r, &n);
    assert_int_equal(n, 1);
    assert_int_equal(strlen(fresh[0].name), 3 * IOCD_ID_MAX + 2);
    assert_string_equal(fresh[0].device, part);
    iocd_series_new_free(fresh, n);
    iocd_series_reg_free(r);
}

static void test_valid_id(void **state)
{
    (void)state;
    char s[IOCD_ID_MAX + 2];
    memset(s, 'a', sizeof(s));
    s[IOCD_ID_MAX] = '\0';
    assert_int_equal(iocd_series_valid_id(s), 1); /* 128 bytes */
    s[IOCD_ID_MAX] = 'a';
    s[IOCD_ID_MAX + 1] = '\0';
    assert_int_equal(iocd_series_valid_id(s), 0); /* 129 bytes */

    assert_int_equal(iocd_series_valid_id(""), 0);
    assert_int_equal(iocd_series_valid_id("a"), 1);
    assert_int_equal(iocd_series_valid_id("GL-AQ01"), 1);
    assert_int_equal(iocd_series_valid_id("a b.c_d-e:f@g"), 1);
    assert_int_equal(iocd_series_valid_id("a/b"), 0);
    assert_int_equal(iocd_series_valid_id("/"), 0);
    assert_int_equal(iocd_series_valid_id("a+b"), 0);
    assert_int_equal(iocd_series_valid_id("#"), 0);
    assert_int_equal(iocd_series_valid_id("abc#"), 0);
    assert_int_equal(iocd_series_valid_id("a\tb"), 0);
    assert_int_equal(iocd_series_valid_id("a\nb"), 0);
    assert_int_equal(iocd_series_valid_id("\x1f"), 0);
    assert_int_equal(iocd_series_valid_id("a\x7f"), 0);
    assert_int_equal(iocd_series_valid_id("H\xc3\xb9ng V\xc6\xb0\xc6\xa1ng"), 1); /* Hùng Vương */

    /* 128 bytes of UTF-8 (64 two-byte characters) is the limit too. */
    char u[2 * 65 + 1];
    for (int i = 0; i < 65; i++)
        memcpy(u + 2 * i, "\xc3\xb9", 2);
    u[128] = '\0';
    assert_int_equal(iocd_series_valid_id(u), 1);
    u[128] = '\xc3';
    u[129] = '\xb9';
    u[130] = '\0';
    assert_int_equal(iocd_series_valid_id(u), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_take_new),
        cmocka_unit_test(test_preload),
        cmocka_unit_test(test_id_space_exhausted),
        cmocka_unit_test(test_max_series),
        cmocka_unit_test(test_many_series),
        cmocka_unit_test(test_find_many),
        cmocka_unit_test(test_longest_parts),
        cmocka_unit_test(test_valid_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
