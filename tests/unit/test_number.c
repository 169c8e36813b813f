/* tests/unit/test_number.c — daemon/base/number.c: the shortest round-trip
 * number text, against exact expected texts and against printf/strtod.
 *
 * Owns: nothing beyond its stack. Every double checked must read back (strtod)
 * bit for bit; have no text of one digit fewer (%.{n-1}g) that reads back;
 * be the very text of %.15g when it has 15 digits or fewer (today's texts
 * stay; subnormals excepted, they carry fewer digits) and of %.17g when it
 * has 17; with 16 be no longer than %.16g. Where printf's correctly rounded
 * text does not read back (a binade's lower edge), no longer than %.17g.
 * Whole numbers under 1e15 stay whole, as before. About 2 million doubles:
 * random bit patterns and random short decimals (fixed seeds), subnormal and
 * binade edges, powers of two and ten and their neighbours, integers near
 * 2^53, sensor values k/10^d. A few seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>

#include "daemon/base/buf.h"
#include "daemon/base/json_text.h"
#include "daemon/base/number.h"

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static const char *fmt(double v)
{
    static char out[IOCD_NUMBER_MAX];
    size_t n = iocd_number_format(out, v);
    assert_int_equal(n, strlen(out));
    return out;
}

static void test_named_cases(void **state)
{
    (void)state;
    assert_string_equal(fmt(9007199254740991.0), "9007199254740991");
    assert_string_equal(fmt(0.1 + 0.2), "0.30000000000000004");
    assert_string_equal(fmt(DBL_MAX), "1.7976931348623157e+308");
    assert_string_equal(fmt(-DBL_MAX), "-1.7976931348623157e+308");
    assert_string_equal(fmt(from_bits(1)), "5e-324");
    assert_string_equal(fmt(from_bits(2)), "1e-323");
    assert_string_equal(fmt(DBL_MIN), "2.2250738585072014e-308");
    assert_string_equal(fmt(from_bits(0x000FFFFFFFFFFFFFu)), "2.225073858507201e-308");
    assert_string_equal(fmt(9007199254740992.0), "9007199254740992");
    assert_string_equal(fmt(9007199254740994.0), "9007199254740994");
    assert_string_equal(fmt(1e23), "1e+23");
    assert_string_equal(fmt(1e21), "1e+21");
    assert_string_equal(fmt(1e15), "1e+15");
    assert_string_equal(fmt(999999999999999.0), "999999999999999");
    assert_string_equal(fmt(123456789012345680.0), "1.2345678901234568e+17");
    assert_string_equal(fmt(0.1), "0.1");
    assert_string_equal(fmt(-0.1), "-0.1");
    assert_string_equal(fmt(0.3), "0.3");
    assert_string_equal(fmt(21.3), "21.3");
    assert_string_equal(fmt(-7.25), "-7.25");
    assert_string_equal(fmt(123.456), "123.456");
    assert_string_equal(fmt(1.5e300), "1.5e+300");
    assert_string_equal(fmt(0.0001), "0.0001");
    assert_string_equal(fmt(0.00001), "1e-05");
    assert_string_equal(fmt(1.0 / 3.0), "0.3333333333333333");
    assert_string_equal(fmt(2.0 / 3.0), "0.6666666666666666");
    assert_string_equal(fmt(5e-324 * 3), "1.5e-323");
    /* fast paths and the values JSON has no text for: as before */
    assert_string_equal(fmt(0.0), "0");
    assert_string_equal(fmt(-0.0), "-0");
    assert_string_equal(fmt(12.0), "12");
    assert_string_equal(fmt(-3.0), "-3");
    assert_string_equal(fmt(1765000000000.0), "1765000000000");
    assert_string_equal(fmt(INFINITY), "inf");
    assert_string_equal(fmt(-INFINITY), "-inf");
    assert_string_equal(fmt(NAN), "nan");
    /* iocd_json_number: the same text, cut to the caller's room */
    char small[5];
    iocd_json_number(small, sizeof(small), 0.1 + 0.2);
    assert_string_equal(small, "0.30");
    char big[40];
    iocd_json_number(big, sizeof(big), 0.1 + 0.2);
    assert_string_equal(big, "0.30000000000000004");
}

static unsigned long checked;

static bool reads_back(const char *t, double v)
{
    return to_bits(strtod(t, NULL)) == to_bits(v);
}

/* Significant digits of a text: first to last non-zero digit. */
static int digits_of(const char *t)
{
    int n = 0, upto = 0;
    for (; *t && *t != 'e'; t++) {
        if (*t < '0' || *t > '9' || (n == 0 && *t == '0'))
            continue;
        n++;
        if (*t != '0')
            upto = n;
    }
    return upto;
}

/* Round trip; shortest; today's texts where they were shortest. */
static void check(double v)
{
    if (!isfinite(v))
        return;
    checked++;
    const char *s = fmt(v);
    char *end;
    double back = strtod(s, &end);
    if (*end || to_bits(back) != to_bits(v)) {
        fprintf(stderr, "%a: \"%s\" reads back as %a\n", v, s, back);
        fail();
    }
    if (fabs(v) < 1e15 && v == floor(v))
        return; /* whole numbers stay whole, as before: 30000000000, not 3e+10 */
    char ref[320]; /* %.*g of any double */
    int nd = digits_of(s);
    /* shortest: one digit fewer never reads back */
    if (nd > 1) {
        snprintf(ref, sizeof(ref), "%.*g", nd - 1, v);
        if (reads_back(ref, v)) {
            fprintf(stderr, "%a: \"%s\", shorter %%.%dg \"%s\"\n", v, s, nd - 1, ref);
            fail();
        }
    }
    /* closest: printf's correctly rounded text of as many digits, when that
     * reads back (it may not at a binade's lower edge, where the interval
     * is narrower below); its very text for 15 digits or fewer (today's
     * %.15g texts stay; subnormals have fewer digits than %.15g) and 17 */
    int p = nd <= 15 && fabs(v) >= DBL_MIN ? 15 : nd;
    int len = snprintf(ref, sizeof(ref), "%.*g", p, v);
    if (!reads_back(ref, v)) {
        snprintf(ref, sizeof(ref), "%.17g", v);
        if (strlen(s) > strlen(ref)) {
            fprintf(stderr, "%a: \"%s\" longer than %%.17g \"%s\"\n", v, s, ref);
            fail();
        }
    } else if (p == 16 ? strlen(s) > (size_t)len : strcmp(s, ref) != 0) {
        fprintf(stderr, "%a: \"%s\", %%.%dg \"%s\"\n", v, s, p, ref);
        fail();
    }
}

static void check_around(double v)
{
    check(v);
    check(nextafter(v, INFINITY));
    check(nextafter(v, -INFINITY));
    check(-v);
}

/* The next of a fixed-seed pseudo-random sequence (xorshift64): failures
 * reproduce. */
static uint64_t xorshift(uint64_t x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

static void test_random_bits(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u; /* fixed seed: failures reproduce */
    for (int i = 0; i < 1000000; i++) {
        x = xorshift(x);
        check(from_bits(x));
    }
}

/* Short decimals read by strtod: the texts feeds send, and the doubles whose
 * shortest text sits on or next to their interval's edges. */
static void test_random_decimals(void **state)
{
    (void)state;
    uint64_t x = 0x2545F4914F6CDD1Du;
    char t[48];
    for (int i = 0; i < 300000; i++) {
        x = xorshift(x);
        int nd = 1 + (int)(x % 17);
        uint64_t m = (x >> 8) % 100000000000000000u, p = 1;
        for (int j = 0; j < nd; j++)
            p *= 10;
        snprintf(t, sizeof(t), "%" PRIu64 "e%d", m % p, (int)((x >> 40) % 650) - 340);
        check(strtod(t, NULL));
    }
}

/* iocd_number_parse reads every JSON number text exactly as strtod does:
 * listed edges (exact and inexact fast-path limits, signed zeros, long and
 * leading-zero digit runs, overflow, underflow, malformed texts), random
 * short decimals in the shapes payloads carry (fast path), random long ones
 * and random doubles' %.17g texts (strtod fallback). */
static void parse_like_strtod(const char *t)
{
    double got = -1.0;
    bool ok = iocd_number_parse(t, strlen(t), &got);
    char *e;
    double want = strtod(t, &e);
    bool want_ok = *t && *e == '\0' && isfinite(want);
    if (ok != want_ok || (want_ok && to_bits(got) != to_bits(want)))
        fail_msg("'%s': iocd_number_parse %d %.17g, strtod %d %.17g", t, ok, got, want_ok, want);
}

static void test_parse(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "0", "-0", "0.0", "-0.0", "1", "-1", "23.4", "-3.25", "0.1", "0.30000000000000004",
        "9007199254740992", "9007199254740993", "9007199254740991", "18446744073709551615",
        "18446744073709551616", "1234567890123456789", "12345678901234567890", "1e22", "1e23",
        "1e-22", "1e-23", "4.35e-5", "1.7976931348623157e308", "1.7976931348623159e308",
        "1e400", "-1e400", "5e-324", "2e-324", "1e-400", "0.000000000000000000000000001",
        "00012.50", "1.", ".5", "1e", "1e+", "-", "", "+1", "1e+5", "1E-5", "1.5e+022",
        "123456789012345678.9", "0.1234567890123456789", "3.141592653589793238",
        "100000000000000000000000", "1x", " 1", "1 ",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        parse_like_strtod(texts[i]);
    uint64_t x = 0x9E3779B97F4A7C15u;
    char t[64];
    for (int i = 0; i < 300000; i++) {
        x = xorshift(x);
        switch (i % 4) {
        case 0: /* a sensor value: up to 6 digits, up to 4 decimals */
            snprintf(t, sizeof(t), "%s%" PRIu64 ".%0*" PRIu64, x & 1 ? "-" : "",
                     (x >> 8) % 1000000, (int)(1 + (x >> 40) % 4), (x >> 20) % 10000);
            break;
        case 1: /* up to 19 digits and a small exponent: around the fast path's edges */
            snprintf(t, sizeof(t), "%" PRIu64 "e%d", (x >> 1) % 10000000000000000000u,
                     (int)((x >> 50) % 61) - 30);
            break;
        case 2: /* a double's 17 digits */
            snprintf(t, sizeof(t), "%.17g", from_bits(x));
            break;
        default: /* an integer near 2^53 */
            snprintf(t, sizeof(t), "%" PRIu64, (UINT64_C(1) << 53) - 64 + (x % 128));
            break;
        }
        parse_like_strtod(t);
    }
}

static void test_edges(void **state)
{
    (void)state;
    checked = 0;
    for (uint64_t i = 1; i <= 2000; i++) {
        check(from_bits(i));                         /* smallest subnormals */
        check(from_bits(0x000FFFFFFFFFFFFFu - i + 1)); /* largest subnormals */
        check(from_bits(0x0010000000000000u + i - 1)); /* smallest normals */
        check(from_bits(0x7FEFFFFFFFFFFFFFu - i + 1)); /* largest */
    }
    for (int e = -1074; e <= 1023; e++)
        check_around(ldexp(1.0, e));
    for (int e = -1022; e <= 1023; e++) /* binade edges (the uneven interval) */
        check_around(ldexp(1.9999999999999998, e));
    char t[16];
    for (int e = -323; e <= 308; e++) {
        snprintf(t, sizeof(t), "1e%d", e);
        check_around(strtod(t, NULL));
        snprintf(t, sizeof(t), "5e%d", e);
        check_around(strtod(t, NULL));
    }
    for (int64_t i = -20000; i <= 20000; i++) {
        check((double)((INT64_C(1) << 53) + i));
        check((double)((INT64_C(1) << 54) + 2 * i));
        check((double)(INT64_C(1000000000000000) + i));
        check((double)(INT64_C(10000000000000000) + 2 * i));
    }
    fprintf(stderr, "edges: %lu doubles\n", checked);
}

static void test_sensor_values(void **state)
{
    (void)state;
    checked = 0;
    static const double p10[] = {1, 10, 100, 1000, 1e4, 1e5, 1e6};
    char want[40], t[40];
    for (int d = 1; d <= 6; d++) {
        for (long k = -30000; k <= 30000; k += (d > 3 ? 7 : 1)) {
            double v = (double)k / p10[d];
            check(v);
            /* the reading as the feed wrote it comes back as written */
            snprintf(t, sizeof(t), "%ld.%0*ld", labs(k) / (long)p10[d], d, labs(k) % (long)p10[d]);
            v = strtod(t, NULL);
            snprintf(want, sizeof(want), "%.15g", v);
            assert_string_equal(fmt(v), want);
            check(v * 1e-3);
            check(v * 1e7);
        }
    }
    fprintf(stderr, "sensor values: %lu doubles\n", checked);
}

/* iocd_json_print: cJSON_PrintUnformatted's text, numbers exact. */
static void test_json_text(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "s", "a\"b\\c\b\f\n\r\t\x01\x1f\x7f h\xc3\xa9");
    cJSON_AddNumberToObject(o, "int", 42);
    cJSON_AddNumberToObject(o, "neg", -7.25);
    cJSON_AddNumberToObject(o, "ms", 1765000000123.0);
    cJSON_AddNumberToObject(o, "big", 1e300);
    cJSON_AddNumberToObject(o, "nan", NAN);
    cJSON_AddNumberToObject(o, "inf", -INFINITY);
    cJSON_AddNullToObject(o, "null");
    cJSON_AddTrueToObject(o, "t");
    cJSON_AddFalseToObject(o, "f");
    cJSON_AddRawToObject(o, "raw", "[1,2]");
    cJSON_AddObjectToObject(o, "empty");
    cJSON *a = cJSON_AddArrayToObject(o, "arr");
    cJSON_AddItemToArray(a, cJSON_CreateNumber(0.1));
    cJSON_AddItemToArray(a, cJSON_CreateString(""));
    cJSON_AddItemToArray(a, cJSON_CreateArray());
    cJSON_AddItemToObject(o, "k\ney", cJSON_CreateNumber(1.5));
    char *want = cJSON_PrintUnformatted(o);
    char *got = iocd_json_print(o);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
    /* where cJSON's %.17g was not the shortest text */
    cJSON *n = cJSON_CreateArray();
    cJSON_AddItemToArray(n, cJSON_CreateNumber(0.1 + 0.2));
    cJSON_AddItemToArray(n, cJSON_CreateNumber(strtod("0.3000000000000001", NULL)));
    cJSON_AddItemToArray(n, cJSON_CreateNumber(9007199254740991.0));
    cJSON_AddItemToArray(n, cJSON_CreateNumber(-0.0));
    got = iocd_json_print(n);
    assert_string_equal(got, "[0.30000000000000004,0.3000000000000001,9007199254740991,-0]");
    free(got);
    cJSON_Delete(n);
    cJSON_Delete(o);
}

/* The text of a %.{1..17}g loop until strtod reads v back. */
static void loop_text(char *buf, size_t size, double v)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, v);
        if (to_bits(strtod(buf, NULL)) == to_bits(v))
            return;
    }
}

static void check_g(double v)
{
    char want[320], got[IOCD_NUMBER_MAX];
    loop_text(want, sizeof(want), v);
    iocd_number_format_g(got, v);
    if (strcmp(got, want) == 0)
        return;
    /* a binade's edge: one digit fewer than the loop, and reads back */
    if (digits_of(got) < digits_of(want) && reads_back(got, v))
        return;
    fprintf(stderr, "%a: g \"%s\", loop \"%s\"\n", v, got, want);
    fail();
}

/* iocd_number_format_g: the texts of the loops it replaced (adapters). */
static void test_format_g(void **state)
{
    (void)state;
    char t[IOCD_NUMBER_MAX];
    iocd_number_format_g(t, 1000000.0);
    assert_string_equal(t, "1e+06");
    iocd_number_format_g(t, 12.0);
    assert_string_equal(t, "12");
    iocd_number_format_g(t, -0.0);
    assert_string_equal(t, "-0");
    iocd_number_format_g(t, 0.0);
    assert_string_equal(t, "0");
    iocd_number_format_g(t, 0.1 + 0.2);
    assert_string_equal(t, "0.30000000000000004");
    iocd_number_format_g(t, 12345678901234560.0);
    assert_string_equal(t, "1.234567890123456e+16");
    uint64_t x = 0x853C49E6748FEA9Bu;
    for (int i = 0; i < 30000; i++) {
        x = xorshift(x);
        check_g(from_bits(x & 0x7FEFFFFFFFFFFFFFu));
        check_g((double)(int64_t)(x >> (x & 63)) / 1000.0);
        check_g((double)(int64_t)(x >> (x & 63)));
    }
    for (int e = -1074; e <= 1023; e++)
        check_g(ldexp(1.0, e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_cases),
        cmocka_unit_test(test_json_text),
        cmocka_unit_test(test_format_g),
        cmocka_unit_test(test_random_bits),
        cmocka_unit_test(test_random_decimals),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_sensor_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
