/* tests/unit/test_units.c — daemon/base/units.c (the built-in table, exact
 * conversions, [units] rule values) and daemon/pipeline/unit_norm.c (the
 * canonical unit of each series): exact values, round trips, affine
 * temperatures, aliases and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/base/units.h"
#include "daemon/config/config.h"
#include "daemon/pipeline/unit_norm.h"

/* `v` in `from` converted to `to` (fails the test if not convertible). */
static double conv(double v, const char *from, const char *to)
{
    struct iocd_unit_conv c;
    if (iocd_unit_conversion(from, to, &c) != 0)
        fail_msg("%s -> %s refused", from, to);
    return iocd_unit_conv_apply(&c, v);
}

#define EXACT(got, want)                                                                           \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (g_ != w_)                                                                              \
            fail_msg("%s: got %.17g, want %.17g", #got, g_, w_);                                   \
    } while (0)

static void test_exact_values(void **state)
{
    (void)state;
    EXACT(conv(1.2, "mg/m3", "ug/m3"), 1200);
    EXACT(conv(0.4, "mg/m3", "ug/m3"), 400);
    EXACT(conv(1234, "ug/m3", "mg/m3"), 1.234);
    EXACT(conv(13, "ug/m3", "mg/m3"), 0.013); /* 13 × 0.001 would be 0.013000000000000001 */
    EXACT(conv(0.9, "mm", "m"), 0.0009);
    EXACT(conv(0.5, "g/m3", "ug/m3"), 500000);
    EXACT(conv(250, "ng/m3", "ug/m3"), 0.25);
    EXACT(conv(2, "mg/L", "ug/m3"), 2000000);
    EXACT(conv(300, "K", "Cel"), 26.85);
    EXACT(conv(26.85, "Cel", "K"), 300);
    EXACT(conv(0, "Cel", "K"), 273.15);
    EXACT(conv(98.6, "[degF]", "Cel"), 37);
    EXACT(conv(37, "Cel", "[degF]"), 98.6);
    EXACT(conv(-40, "Cel", "[degF]"), -40);
    EXACT(conv(-40, "[degF]", "Cel"), -40);
    EXACT(conv(32, "[degF]", "K"), 273.15);
    EXACT(conv(212, "[degF]", "Cel"), 100);
    EXACT(conv(36, "km/h", "m/s"), 10);
    EXACT(conv(3.6, "km/h", "m/s"), 1);
    EXACT(conv(10, "m/s", "km/h"), 36);
    EXACT(conv(123.4, "cm", "m"), 1.234);
    EXACT(conv(1.5, "m", "cm"), 150);
    EXACT(conv(2.5, "km", "m"), 2500);
    EXACT(conv(12, "mm", "cm"), 1.2);
    EXACT(conv(1013.25, "hPa", "Pa"), 101325);
    EXACT(conv(1013.25, "mbar", "hPa"), 1013.25);
    EXACT(conv(101.325, "kPa", "hPa"), 1013.25);
    EXACT(conv(1, "[psi]", "Pa"), 8896443230521.0 / 1290320000.0);
    EXACT(conv(760, "mm[Hg]", "Pa"), 101325.0144354);
    EXACT(conv(90, "min", "h"), 1.5);
    EXACT(conv(1500, "ms", "s"), 1.5);
    EXACT(conv(2, "d", "h"), 48);
    EXACT(conv(3.6, "m3/h", "L/s"), 1);
    EXACT(conv(1.5, "kWh", "Wh"), 1500);
    EXACT(conv(3600, "J", "Wh"), 1);
    EXACT(conv(2.2, "kW", "W"), 2200);
    EXACT(conv(12, "[ppm]", "[ppb]"), 12000);
    EXACT(conv(10, "[mi_i]/h", "km/h"), 16.09344);
    EXACT(conv(1, "[kn_i]", "km/h"), 1.852);
    EXACT(conv(12, "[in_i]", "cm"), 30.48);
    EXACT(conv(3.6, "mm/h", "m/s"), 0.000001);
    /* Unconverted: the same unit, or the same unknown text. */
    EXACT(conv(7.25, "ug/m3", "ug/m3"), 7.25);
    EXACT(conv(7.25, "veh/h", "veh/h"), 7.25);
}

static void test_aliases(void **state)
{
    (void)state;
    const char *ug[] = {"ug/m3", "µg/m3", "μg/m3", "µg/m³", "μg/m³", "ug/m³"};
    for (size_t i = 0; i < sizeof(ug) / sizeof(ug[0]); i++) {
        assert_string_equal(iocd_unit_code(ug[i]), "ug/m3");
        EXACT(conv(3.5, ug[i], "mg/m3"), 0.0035);
    }
    assert_string_equal(iocd_unit_code("°C"), "Cel");
    assert_string_equal(iocd_unit_code("℃"), "Cel");
    assert_string_equal(iocd_unit_code("degC"), "Cel");
    assert_string_equal(iocd_unit_code("°F"), "[degF]");
    assert_string_equal(iocd_unit_code("ppm"), "[ppm]");
    assert_string_equal(iocd_unit_code("mph"), "[mi_i]/h");
    assert_string_equal(iocd_unit_code("mg/m³"), "mg/m3");
    assert_string_equal(iocd_unit_dimension("µg/m³"), "mass concentration");
    /* Case matters, as in UCUM; bare C and F are coulomb and farad. */
    assert_null(iocd_unit_code("pa"));
    assert_null(iocd_unit_code("C"));
    assert_null(iocd_unit_code("F"));
    assert_null(iocd_unit_code(""));
    assert_null(iocd_unit_code("veh/h"));
    assert_null(iocd_unit_code("ug/m3 "));
    /* An alias and its code are the same unit: the identity. */
    struct iocd_unit_conv c;
    assert_int_equal(iocd_unit_conversion("°C", "Cel", &c), 0);
    assert_true(iocd_unit_conv_is_identity(&c));
}

static void test_refusals(void **state)
{
    (void)state;
    struct iocd_unit_conv c;
    const char *bad[][2] = {
        {"ug/m3", "Cel"}, {"%", "1"},         {"1", "%"},     {"[ppm]", "ug/m3"},
        {"[ppb]", "mg/m3"}, {"km/h", "km"},   {"hPa", "m"},   {"veh/h", "veh/min"},
        {"veh/h", "km/h"}, {"ug/m3", ""},     {"", "ug/m3"},  {"%RH", "%"},
        {"s", "m/s"},     {"Wh", "W"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (iocd_unit_conversion(bad[i][0], bad[i][1], &c) == 0)
            fail_msg("%s -> %s converted", bad[i][0], bad[i][1]);
}

/* Every pair of one dimension converts, with exact integer terms, and a
 * round trip comes back within one rounding each way. */
static void test_every_pair_round_trip(void **state)
{
    (void)state;
    const double values[] = {0, 0.1, 1, 12.34, 1000, 987654.321, -3.5};
    const char *da, *db;
    for (size_t i = 0; iocd_unit_at(i, &da, NULL); i++)
        for (size_t j = 0; iocd_unit_at(j, &db, NULL); j++) {
            const char *a = iocd_unit_at(i, NULL, NULL), *b = iocd_unit_at(j, NULL, NULL);
            struct iocd_unit_conv ab, ba;
            int rc = iocd_unit_conversion(a, b, &ab);
            if (strcmp(da, db) != 0) {
                if (rc == 0)
                    fail_msg("%s -> %s (%s, %s) converted", a, b, da, db);
                continue;
            }
            if (rc != 0 || iocd_unit_conversion(b, a, &ba) != 0)
                fail_msg("%s <-> %s refused", a, b);
            assert_true(ab.n >= 1 && ab.n <= 9007199254740992.0);
            assert_true(ab.d >= 1 && ab.d <= 9007199254740992.0);
            assert_true(fabs(ab.o) <= 9007199254740992.0);
            for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
                double v = values[k];
                double back = iocd_unit_conv_apply(&ba, iocd_unit_conv_apply(&ab, v));
                double tol = fabs(v) * 8e-16 + (ab.o != 0 ? 1e-12 : 0);
                if (fabs(back - v) > tol)
                    fail_msg("%s -> %s -> %s: %.17g came back %.17g", a, b, a, v, back);
            }
        }
}

static void test_rule_parse(void **state)
{
    (void)state;
    struct iocd_unit_rule r;
    char why[160];
    assert_int_equal(iocd_unit_rule_parse("µg/m³, ppb * 1.88, [ppm]*1880", &r, why, sizeof(why)),
                     0);
    assert_string_equal(r.unit, "ug/m3");
    assert_int_equal(r.n_from, 2);
    assert_string_equal(r.from[0].unit, "[ppb]");
    assert_int_equal(r.from[0].num, 47);
    assert_int_equal(r.from[0].den, 25);
    assert_string_equal(r.from[1].unit, "[ppm]");
    assert_int_equal(r.from[1].num, 1880);
    assert_int_equal(r.from[1].den, 1);
    struct iocd_unit_conv c;
    /* Declared: 10 ppb × 1.88; ppm is taken by its own factor. */
    assert_int_equal(iocd_unit_rule_conversion(&r, "ppb", &c), 0);
    EXACT(iocd_unit_conv_apply(&c, 10), 18.8);
    assert_int_equal(iocd_unit_rule_conversion(&r, "[ppm]", &c), 0);
    EXACT(iocd_unit_conv_apply(&c, 0.5), 940);
    /* Built in, into the rule's unit. */
    assert_int_equal(iocd_unit_rule_conversion(&r, "mg/m3", &c), 0);
    EXACT(iocd_unit_conv_apply(&c, 0.04), 40);
    assert_int_equal(iocd_unit_rule_conversion(&r, "Cel", &c), -1);

    /* Only ppb declared: ppm goes through ppb's factor (× 1000 × 1.88). */
    assert_int_equal(iocd_unit_rule_parse("ug/m3, [ppb] * 1.88", &r, why, sizeof(why)), 0);
    assert_int_equal(iocd_unit_rule_conversion(&r, "ppm", &c), 0);
    EXACT(iocd_unit_conv_apply(&c, 0.5), 940);
    /* A unit not built in. */
    assert_int_equal(iocd_unit_rule_parse("veh/h, veh/5min * 12", &r, why, sizeof(why)), 0);
    assert_string_equal(r.unit, "veh/h");
    assert_int_equal(iocd_unit_rule_conversion(&r, "veh/5min", &c), 0);
    EXACT(iocd_unit_conv_apply(&c, 7), 84);
    assert_int_equal(iocd_unit_rule_conversion(&r, "veh/min", &c), -1);
    assert_int_equal(iocd_unit_rule_parse("  Cel  ", &r, why, sizeof(why)), 0);
    assert_string_equal(r.unit, "Cel");
    assert_int_equal(r.n_from, 0);
    assert_int_equal(iocd_unit_rule_parse("ug/m3, ppb * 0.001", &r, why, sizeof(why)), 0);
    assert_int_equal(r.from[0].num, 1);
    assert_int_equal(r.from[0].den, 1000);

    const struct {
        const char *text, *why;
    } bad[] = {
        {"", "a unit is missing"},
        {"   ", "a unit is missing"},
        {"ug/m3,", "a unit is missing"},
        {"ug/m3 mg/m3", "expected ',' after 'ug/m3'"},
        {"ug/m3, ppb", "expected '* FACTOR' after '[ppb]'"},
        {"ug/m3, ppb *", "a factor must be a decimal number such as 1.88"},
        {"ug/m3, ppb * 0", "a factor must be above 0"},
        {"ug/m3, ppb * -1", "a factor must be a decimal number such as 1.88"},
        {"ug/m3, ppb * .5", "a factor must be a decimal number such as 1.88"},
        {"ug/m3, ppb * 5.", "a factor must be a decimal number such as 1.88"},
        {"ug/m3, ppb * 1e3", "expected ',' after 'FACTOR'"},
        {"ug/m3, ppb * 1.2.3", "expected ',' after 'FACTOR'"},
        {"ug/m3, ppb * 1234567890123456", "a factor has more than 15 significant digits"},
        {"ug/m3, ppb * 0.0000000000000001", "a factor has more than 15 decimals"},
        {"ug/m3, mg/m3 * 1000", "'mg/m3' already converts to 'ug/m3' (built in)"},
        {"ug/m3, ug/m3 * 2", "'ug/m3' already converts to 'ug/m3' (built in)"},
        {"ug/m3, ppb * 1.88, ppb * 2", "'[ppb]' is declared twice"},
        {"ug/m3, a * 1, b * 1, c * 1, d * 1, e * 1, f * 1, g * 1, h * 1, i * 1",
         "more than 8 declared conversions"},
        {"ug/m3, x\001 * 1", "a unit may not contain control characters"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "a unit is longer than 64 bytes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        if (iocd_unit_rule_parse(bad[i].text, &r, why, sizeof(why)) == 0)
            fail_msg("'%s' parsed", bad[i].text);
        if (strcmp(why, bad[i].why) != 0)
            fail_msg("'%s': got '%s', want '%s'", bad[i].text, why, bad[i].why);
    }
}

/* ---- unit_norm: series' canonical units ---- */

static const char *CONF = "[adapter air]\ntopic = a/+\nformat = json\ndevice = $.d\n"
                          "metric.pm25 = $.p ug/m3\n"
                          "[aqi]\nadapter = air\n"
                          "[units]\n"
                          "metric.no2 = ug/m3, [ppb] * 1.88\n"
                          "metric.level = m\n"
                          "series = air/GL-T1/temp Cel\n"
                          "series = air/+/temp [degF]\n";

static void test_norm(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err;
    assert_int_equal(iocd_config_load_string(&cfg, "t.conf", CONF, &err), 0);
    assert_int_equal(cfg.n_unit_rules, 4);
    struct iocd_unit_norm *n = iocd_unit_norm_new(&cfg);
    iocd_config_free(&cfg); /* the norm keeps its own copy */
    assert_non_null(n);

    /* Declared by metric: conversions into it; the first sample's unit
     * does not matter. */
    const struct iocd_unit_profile *p = iocd_unit_norm_profile(n, "air", "A", "no2", "ppb");
    assert_string_equal(iocd_unit_profile_unit(p), "ug/m3");
    assert_string_equal(iocd_unit_profile_origin(p), "[units] metric.no2");
    assert_int_equal(iocd_unit_norm_bind(n, 5, p), 0);
    double v = 10;
    const char *canon;
    assert_int_equal(iocd_unit_norm_convert(n, 5, "ppb", &v, &canon), 0);
    EXACT(v, 18.8);
    assert_string_equal(canon, "ug/m3");
    v = 0.02; /* the cached conversion of this series */
    assert_int_equal(iocd_unit_norm_convert(n, 5, "ppb", &v, &canon), 0);
    EXACT(v, 0.0376);
    v = 0.05;
    assert_int_equal(iocd_unit_norm_convert(n, 5, "mg/m3", &v, &canon), 0);
    EXACT(v, 50);
    v = 7;
    assert_int_equal(iocd_unit_norm_convert(n, 5, "", &v, &canon), 0);
    EXACT(v, 7);
    assert_int_equal(iocd_unit_norm_convert(n, 5, "Cel", &v, &canon), -1);
    EXACT(v, 7);
    assert_string_equal(canon, "ug/m3");

    /* series = lines before metric. keys, the first match wins. */
    p = iocd_unit_norm_profile(n, "air", "GL-T1", "temp", "K");
    assert_string_equal(iocd_unit_profile_unit(p), "Cel");
    v = 300;
    assert_int_equal(iocd_unit_norm_convert_profile(n, p, "K", &v), 0);
    EXACT(v, 26.85);
    p = iocd_unit_norm_profile(n, "air", "GL-T2", "temp", "Cel");
    assert_string_equal(iocd_unit_profile_unit(p), "[degF]");
    v = 37;
    assert_int_equal(iocd_unit_norm_convert_profile(n, p, "°C", &v), 0);
    EXACT(v, 98.6);

    /* No rule: the first sample's unit, in its canonical spelling. */
    p = iocd_unit_norm_profile(n, "air", "A", "pm1", "µg/m³");
    assert_string_equal(iocd_unit_profile_unit(p), "ug/m3");
    assert_string_equal(iocd_unit_profile_origin(p), "its first sample");
    p = iocd_unit_norm_profile(n, "air", "A", "count", "");
    assert_string_equal(iocd_unit_profile_unit(p), "");
    assert_int_equal(iocd_unit_norm_bind(n, 6, p), 0);
    v = 3;
    assert_int_equal(iocd_unit_norm_convert(n, 6, "1", &v, &canon), -1);
    assert_int_equal(iocd_unit_norm_convert(n, 6, "", &v, &canon), 0);

    /* The [aqi] feed's pollutants are ug/m3 whatever comes first; another
     * feed's pm25 is not. */
    p = iocd_unit_norm_profile(n, "air", "A", "pm25", "mg/m3");
    assert_string_equal(iocd_unit_profile_unit(p), "ug/m3");
    assert_string_equal(iocd_unit_profile_origin(p), "[aqi] (VN_AQI reads ug/m3)");
    v = 0.035;
    assert_int_equal(iocd_unit_norm_convert_profile(n, p, "mg/m3", &v), 0);
    EXACT(v, 35);
    p = iocd_unit_norm_profile(n, "other", "A", "pm25", "mg/m3");
    assert_string_equal(iocd_unit_profile_unit(p), "mg/m3");

    /* Stored series keep their stored unit, even against a rule. */
    assert_int_equal(iocd_unit_norm_preload(n, 9, "air/W1/level", "cm"), 0);
    v = 1.5;
    assert_int_equal(iocd_unit_norm_convert(n, 9, "m", &v, &canon), 0);
    EXACT(v, 150);
    assert_string_equal(canon, "cm");
    assert_int_equal(iocd_unit_norm_preload(n, 10, "air/A/no2", "ug/m3"), 0);
    v = 10;
    assert_int_equal(iocd_unit_norm_convert(n, 10, "ppb", &v, &canon), 0);
    EXACT(v, 18.8);
    iocd_unit_norm_preload_done(n);
    /* A series never bound takes samples as they are. */
    v = 4;
    assert_int_equal(iocd_unit_norm_convert(n, 4000, "whatever", &v, &canon), 0);
    assert_string_equal(canon, "whatever");
    /* Many units on one series: beyond the cache, still right. */
    assert_int_equal(iocd_unit_norm_preload(n, 11, "x/d/len", "m"), 0);
    const char *lens[] = {"mm", "cm", "km", "[in_i]", "[ft_i]", "in", "ft"};
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            char u[16];
            v = 1;
            assert_int_equal(iocd_unit_norm_convert(n, 11, lens[i], &v, &canon), 0);
            snprintf(u, sizeof(u), "bogus%zu", i + 7 * (size_t)round);
            assert_int_equal(iocd_unit_norm_convert(n, 11, u, &v, &canon), -1);
        }
    v = 1;
    assert_int_equal(iocd_unit_norm_convert(n, 11, "km", &v, &canon), 0);
    EXACT(v, 1000);
    iocd_unit_norm_free(n);
}

static void expect_config_error(const char *units, const char *want)
{
    char text[1024];
    snprintf(text, sizeof(text), "%s%s", CONF, units);
    struct iocd_config cfg;
    struct iocd_error err;
    if (iocd_config_load_string(&cfg, "t.conf", text, &err) == 0) {
        iocd_config_free(&cfg);
        fail_msg("loaded: %s", units);
    }
    if (strcmp(err.msg, want) != 0)
        fail_msg("got '%s', want '%s'", err.msg, want);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("metric.so2 = ug/m3, mg/m3 * 1000\n",
                        "t.conf:13: [units] metric.so2 = ug/m3, mg/m3 * 1000: 'mg/m3' already "
                        "converts to 'ug/m3' (built in)");
    expect_config_error("metric.no2 = ug/m3\n",
                        "t.conf:13: key 'metric.no2' given twice (first on line 9)");
    expect_config_error("metric.co = mg/m3\n",
                        "t.conf:13: [units] metric.co: series air/+/co feed VN_AQI ([aqi] "
                        "adapter air), which reads ug/m3; their canonical unit must be ug/m3 "
                        "(declare conversions into it instead)");
    expect_config_error("series = air/# Cel\n",
                        "t.conf:13: [units] series = air/#: series air/+/pm25 feed VN_AQI ([aqi] "
                        "adapter air), which reads ug/m3; their canonical unit must be ug/m3 "
                        "(declare conversions into it instead)");
    expect_config_error("series = air/+/x+ Cel\n",
                        "t.conf:13: topic 'air/+/x+': '+' must stand alone in its level");
    expect_config_error("series = air/+/x\n",
                        "t.conf:13: [units] series = air/+/x: expected 'PATTERN UNIT[, FROM * "
                        "FACTOR]...'");
    expect_config_error("unit = Cel\n", "t.conf:13: unknown key 'unit' in [units]");
    expect_config_error("[units]\n", "t.conf:13: [units] given twice (first on line 8)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_values),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_every_pair_round_trip),
        cmocka_unit_test(test_rule_parse),
        cmocka_unit_test(test_norm),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
