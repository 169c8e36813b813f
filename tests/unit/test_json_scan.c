/* tests/unit/test_json_scan.c — daemon/base/json_scan.c: which payloads the
 * scanner vouches for, and exactly what it reports for the wanted members
 * (tests/fuzz/fuzz_json_scan.c checks the same against cJSON on random
 * inputs; fuzz_json compares the json adapter's two paths). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/base/json_scan.h"

enum { A, PM, TS, SP, N };

static bool scan(const char *text, struct iocd_json_member *m)
{
    static const char *const names[N] = {"a", "pm25", "ts", "x y"};
    for (int i = 0; i < N; i++) {
        m[i].name = names[i];
        m[i].name_len = strlen(names[i]);
    }
    return iocd_json_scan_object(text, strlen(text), m, N);
}

static void assert_text(const struct iocd_json_member *m, enum iocd_json_kind kind,
                        const char *text)
{
    assert_int_equal(m->kind, kind);
    assert_int_equal(m->text_len, strlen(text));
    assert_memory_equal(m->text, text, strlen(text));
}

static void test_members(void **state)
{
    (void)state;
    struct iocd_json_member m[N];
    assert_true(scan(" {\"ts\" : \"2026-12-07T07:00:00Z\", \"pm25\":-12.5e+1,\n"
                     "\"other\":{\"a\":[1,2,{\"pm25\":3}]},\"x y\":[true,null],"
                     "\"a\":\"esc\\\"aped? no: this one is wanted\"}\r\n",
                     m) == false); /* a wanted string with an escape: the full parser's */
    assert_true(scan(" {\"ts\" : \"2026-12-07T07:00:00Z\", \"pm25\":-12.5e+1,\n"
                     "\"other\":{\"a\":[1,2,{\"pm25\":3}], \"s\":\"q\\\"\\n\"},\"x y\":[true,null]}\r\n",
                     m));
    assert_text(&m[TS], IOCD_JSON_STRING, "2026-12-07T07:00:00Z");
    assert_text(&m[PM], IOCD_JSON_NUMBER, "-12.5e+1");
    assert_text(&m[SP], IOCD_JSON_ARRAY, "[true,null]");
    assert_int_equal(m[A].kind, IOCD_JSON_ABSENT); /* nested "a" is not top-level */
    /* The first of two members of one name, as cJSON's lookup. */
    assert_true(scan("{\"a\":1,\"a\":\"two\",\"pm25\":null,\"ts\":false,\"x y\":{}}", m));
    assert_text(&m[A], IOCD_JSON_NUMBER, "1");
    assert_int_equal(m[PM].kind, IOCD_JSON_NULL);
    assert_int_equal(m[TS].kind, IOCD_JSON_FALSE);
    assert_text(&m[SP], IOCD_JSON_OBJECT, "{}");
    assert_true(scan("{}", m));
    for (int i = 0; i < N; i++)
        assert_int_equal(m[i].kind, IOCD_JSON_ABSENT);
}

/* {"b":[[...]]} with `levels` arrays. */
static const char *nested(int levels)
{
    static char buf[200];
    size_t n = 0;
    memcpy(buf, "{\"b\":", 5);
    n = 5;
    for (int i = 0; i < levels; i++)
        buf[n++] = '[';
    for (int i = 0; i < levels; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    buf[n] = '\0';
    return buf;
}

static void test_declined(void **state)
{
    (void)state;
    struct iocd_json_member m[N];
    static const char *const no[] = {
        "",                      "[1]",          "\"s\"",          "{",
        "{\"a\":1,}",            "{\"a\":01}",   "{\"a\":1.}",     "{\"a\":.5}",
        "{\"a\":+1}",            "{\"a\":-}",    "{\"a\":1e}",     "{\"a\":tru}",
        "{\"a\":1} x",           "{\"a\":1}{}",  "{'a':1}",        "{\"a\" 1}",
        "{\"\\u0061\":1}",       "{\"b\":\"\\u00e9\"}", "{\"b\":\"\\x\"}", "{\"b\":\"\t\"}",
        "{\"a\":[1,]}",          "{\"a\":[1 2]}", "\x01{\"a\":1}",
        /* 64 digits: longer than cJSON reads a number */
        "{\"a\":1234567890123456789012345678901234567890123456789012345678901234}",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (scan(no[i], m))
            fail_msg("accepted: %s", no[i]);
    /* A trailing NUL is left to the full parser too. */
    assert_false(iocd_json_scan_object("{}\0", 3, m, N));
    /* 63 digits are fine. */
    assert_true(scan("{\"a\":123456789012345678901234567890123456789012345678901234567890123}", m));
    /* Nesting: 63 levels below the top are fine, 64 are declined. */
    assert_true(scan(nested(63), m));
    assert_false(scan(nested(64), m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_declined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
