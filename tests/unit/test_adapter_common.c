/* tests/unit/test_adapter_common.c — the decode helpers the format adapters
 * share (adapters/common.c): the JSON prologue (whole-payload parse, what
 * may follow the value, its reject messages), JSON type names and blanks,
 * UTF-8 decoding, the printable echo of untrusted bytes, topic levels and
 * the device/metric id rule.
 *
 * Owns: each test's arena, batch and parsed trees, freed before it ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/common.h"

#define SENTINEL_CP UINT32_C(0xdeadbeef)

/* Runs iocd_adapter_json_parse on `len` bytes copied to a buffer of
 * exactly that size (ASan sees any read past it). The tree, if any, is
 * left in *root; the batch's detail in detail[]. */
static enum iocd_reject parse(const char *bytes, size_t len, cJSON **root, char *detail,
                              size_t detail_size)
{
    struct iocd_arena arena;
    struct iocd_batch b;
    iocd_arena_init(&arena, 0);
    iocd_batch_init(&b, &arena);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, len);
    struct iocd_message m = {.topic = "t", .payload = (const uint8_t *)copy, .len = len,
                             .received_ms = 0};
    *root = (cJSON *)&m; /* must be set either way */
    enum iocd_reject r = iocd_adapter_json_parse(&m, &b, root);
    free(copy);
    snprintf(detail, detail_size, "%s", b.detail);
    assert_int_equal(b.n_obs, 0);
    assert_int_equal(b.n_events, 0);
    iocd_arena_free(&arena);
    return r;
}

static void assert_rejected(const char *bytes, size_t len, const char *want)
{
    cJSON *root;
    char detail[256];
    assert_int_equal(parse(bytes, len, &root, detail, sizeof(detail)), IOCD_REJECT_MALFORMED);
    assert_null(root);
    assert_string_equal(detail, want);
}

static void test_json_parse_accepts(void **state)
{
    (void)state;
    cJSON *root;
    char detail[256];
    static const char obj[] = "{\"a\":1.5}";
    assert_int_equal(parse(obj, strlen(obj), &root, detail, sizeof(detail)), IOCD_REJECT_NONE);
    assert_true(cJSON_IsObject(root));
    assert_true(cJSON_GetObjectItemCaseSensitive(root, "a")->valuedouble == 1.5);
    cJSON_Delete(root);

    /* blanks, then NULs (a C-string sender), may follow; blanks may lead */
    static const char tail[] = " [1,2] \t\r\n\0\0";
    assert_int_equal(parse(tail, sizeof(tail) - 1, &root, detail, sizeof(detail)),
                     IOCD_REJECT_NONE);
    assert_true(cJSON_IsArray(root));
    assert_int_equal(cJSON_GetArraySize(root), 2);
    cJSON_Delete(root);

    /* any JSON value: the caller checks the type */
    assert_int_equal(parse("42", 2, &root, detail, sizeof(detail)), IOCD_REJECT_NONE);
    assert_true(cJSON_IsNumber(root));
    assert_int_equal(root->valueint, 42);
    cJSON_Delete(root);
}

static void test_json_parse_rejects(void **state)
{
    (void)state;
    assert_rejected("", 0, "empty payload");
    assert_rejected("[1,x]", 5, "not valid JSON (at byte 3)");
    assert_rejected("{\"a\":1} x", 9, "not valid JSON (junk after the value at byte 8)");
    assert_rejected("{}{}", 4, "not valid JSON (junk after the value at byte 2)");
    /* a blank after a NUL is junk: NULs end the message */
    assert_rejected("[]\0 ", 4, "not valid JSON (junk after the value at byte 3)");
    /* vertical tab and form feed are not JSON blanks */
    assert_rejected("[] \v", 4, "not valid JSON (junk after the value at byte 3)");
}

static void test_json_type(void **state)
{
    (void)state;
    cJSON *arr = cJSON_Parse("[\"s\", 1, true, false, {}, [], null]");
    assert_non_null(arr);
    assert_string_equal(iocd_adapter_json_type(cJSON_GetArrayItem(arr, 0)), "a string");
    assert_string_equal(iocd_adapter_json_type(cJSON_GetArrayItem(arr, 1)), "a number");
    assert_string_equal(iocd_adapter_json_type(cJSON_GetArrayItem(arr, 2)), "a bool");
    assert_string_equal(iocd_adapter_json_type(cJSON_GetArrayItem(arr, 3)), "a bool");
    assert_string_equal(iocd_adapter_json_type(cJSON_GetArrayItem(arr, 4)), "an object");
    assert_string_equal(iocd_adapter_json_type(cJSON_GetArrayItem(arr, 5)), "an array");
    assert_string_equal(iocd_adapter_json_type(cJSON_GetArrayItem(arr, 6)), "null");
    cJSON_Delete(arr);
    cJSON *raw = cJSON_CreateRaw("1");
    assert_string_equal(iocd_adapter_json_type(raw), "of unknown type");
    cJSON_Delete(raw);
    assert_string_equal(iocd_adapter_json_type(NULL), "of unknown type");
}

static void test_json_space(void **state)
{
    (void)state;
    assert_true(iocd_adapter_json_space(' '));
    assert_true(iocd_adapter_json_space('\t'));
    assert_true(iocd_adapter_json_space('\n'));
    assert_true(iocd_adapter_json_space('\r'));
    assert_false(iocd_adapter_json_space('\v'));
    assert_false(iocd_adapter_json_space('\f'));
    assert_false(iocd_adapter_json_space('\0'));
    assert_false(iocd_adapter_json_space(0xa0));
    assert_false(iocd_adapter_json_space('x'));
}

/* utf8_next on the bytes of `s` (length `n`): its length, and *cp. */
static size_t next(const char *s, size_t n, uint32_t *cp)
{
    *cp = SENTINEL_CP;
    return iocd_adapter_utf8_next((const unsigned char *)s, n, cp);
}

static void test_utf8_next(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(next("A", 1, &cp), 1);
    assert_int_equal(cp, 0x41);
    assert_int_equal(next("\x7f", 1, &cp), 1);
    assert_int_equal(cp, 0x7f);
    assert_int_equal(next("\xc3\xa9x", 3, &cp), 2); /* é */
    assert_int_equal(cp, 0xe9);
    assert_int_equal(next("\xe1\xbb\x99", 3, &cp), 3); /* ộ (Vietnamese) */
    assert_int_equal(cp, 0x1ed9);
    assert_int_equal(next("\xe2\x82\xac", 3, &cp), 3); /* € */
    assert_int_equal(cp, 0x20ac);
    assert_int_equal(next("\xf0\x9f\x98\x80", 4, &cp), 4); /* U+1F600 */
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(next("\xf4\x8f\xbf\xbf", 4, &cp), 4); /* the last: U+10FFFF */
    assert_int_equal(cp, 0x10ffff);

    /* not one: *cp untouched */
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        {"\x80", 1},             /* a lone continuation byte */
        {"\xc0\x80", 2},         /* overlong NUL */
        {"\xc1\xbf", 2},         /* overlong 0x7f */
        {"\xe0\x9f\xbf", 3},     /* overlong U+07FF */
        {"\xf0\x8f\xbf\xbf", 4}, /* overlong U+FFFF */
        {"\xed\xa0\x80", 3},     /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3},     /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4}, /* U+110000 */
        {"\xf8\x88\x80\x80", 4}, /* a 5-byte lead */
        {"\xff", 1},
        {"\xe2\x82\xac", 2}, /* cut short by n */
        {"\xc3", 1},
        {"\xc3x", 2}, /* no continuation */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (next(bad[i].s, bad[i].n, &cp) != 0)
            fail_msg("bad[%zu] decoded", i);
        assert_int_equal(cp, SENTINEL_CP);
    }
}

static void test_utf8_invalid_at(void **state)
{
    (void)state;
    const unsigned char *ok = (const unsigned char *)"Pleiku \xe2\x82\xac \xf0\x9f\x98\x80";
    size_t n = strlen((const char *)ok);
    assert_int_equal(iocd_adapter_utf8_invalid_at(ok, n), n);
    assert_true(iocd_adapter_valid_utf8(ok, n));
    const unsigned char *bad = (const unsigned char *)"ab\xc3\xa9\xff";
    assert_int_equal(iocd_adapter_utf8_invalid_at(bad, 5), 4);
    assert_false(iocd_adapter_valid_utf8(bad, 5));
    /* a sequence cut by the length */
    assert_int_equal(iocd_adapter_utf8_invalid_at(ok, 9), 7);
    assert_int_equal(iocd_adapter_utf8_invalid_at(ok, 0), 0);
}

static void test_printable(void **state)
{
    (void)state;
    char buf[8];
    assert_string_equal(iocd_adapter_printable_n("a\0b\x01", 4, buf, sizeof(buf)), "a?b?");
    assert_string_equal(iocd_adapter_printable_n("\xc3\xa9\x7f", 3, buf, sizeof(buf)), "???");
    assert_string_equal(iocd_adapter_printable_n("abcd", 4, buf, sizeof(buf)), "abcd");
    assert_string_equal(iocd_adapter_printable_n("abcde", 5, buf, sizeof(buf)), "abcd...");
    assert_string_equal(iocd_adapter_printable_n("abcdefghij", 3, buf, sizeof(buf)), "abc");
    assert_string_equal(iocd_adapter_printable_n("", 0, buf, sizeof(buf)), "");
    char tiny[4];
    assert_string_equal(iocd_adapter_printable_n("abc", 3, tiny, sizeof(tiny)), "...");
    /* the NUL-terminated form is the same on strlen(s) bytes */
    assert_string_equal(iocd_adapter_printable("abcde", buf, sizeof(buf)), "abcd...");
    assert_string_equal(iocd_adapter_printable("a\tb", buf, sizeof(buf)), "a?b");
}

static void test_id_problem(void **state)
{
    (void)state;
    char id[130];
    memset(id, 'x', sizeof(id));
    assert_null(iocd_adapter_id_problem("GL-AQ01", 7));
    assert_null(iocd_adapter_id_problem("Hội Thương", strlen("Hội Thương")));
    assert_null(iocd_adapter_id_problem(id, 128));
    assert_string_equal(iocd_adapter_id_problem(id, 129), "is longer than 128 bytes");
    assert_string_equal(iocd_adapter_id_problem("", 0), "is empty");
    assert_string_equal(iocd_adapter_id_problem("a/b", 3), "contains '/', '+' or '#'");
    assert_string_equal(iocd_adapter_id_problem("a+", 2), "contains '/', '+' or '#'");
    assert_string_equal(iocd_adapter_id_problem("#", 1), "contains '/', '+' or '#'");
    assert_string_equal(iocd_adapter_id_problem("a\tb", 3), "contains a control character");
    assert_string_equal(iocd_adapter_id_problem("a\x7f", 2), "contains a control character");
    assert_string_equal(iocd_adapter_id_problem("a\0b", 3), "contains a control character");
    /* the first problem byte by byte */
    assert_string_equal(iocd_adapter_id_problem("\x01/", 2), "contains a control character");
    assert_string_equal(iocd_adapter_id_problem("/\x01", 2), "contains '/', '+' or '#'");
    assert_string_equal(iocd_adapter_id_problem("\xc3(", 2), "is not valid UTF-8");
    assert_string_equal(iocd_adapter_id_problem("\xed\xa0\x80", 3), "is not valid UTF-8");
}

/* Level `level` of `topic` as a string ("(none)" when there is none). */
static const char *level_of(const char *topic, int level, char *buf, size_t size)
{
    const char *s = "untouched";
    size_t n = 99;
    if (!iocd_adapter_topic_level(topic, level, &s, &n)) {
        assert_string_equal(s, "untouched");
        assert_int_equal(n, 99);
        return "(none)";
    }
    assert_true(n < size);
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static void test_topic_level(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(level_of("pleiku/air/GL-AQ01/data", 0, b, sizeof(b)), "pleiku");
    assert_string_equal(level_of("pleiku/air/GL-AQ01/data", 2, b, sizeof(b)), "GL-AQ01");
    assert_string_equal(level_of("pleiku/air/GL-AQ01/data", 3, b, sizeof(b)), "data");
    assert_string_equal(level_of("pleiku/air/GL-AQ01/data", 4, b, sizeof(b)), "(none)");
    assert_string_equal(level_of("a//c", 1, b, sizeof(b)), "");
    assert_string_equal(level_of("/ABCDEF/id_sen1/attrs", 0, b, sizeof(b)), "");
    assert_string_equal(level_of("/ABCDEF/id_sen1/attrs", 2, b, sizeof(b)), "id_sen1");
    assert_string_equal(level_of("a/b/", 2, b, sizeof(b)), "");
    assert_string_equal(level_of("a/b/", 3, b, sizeof(b)), "(none)");
    assert_string_equal(level_of(NULL, 0, b, sizeof(b)), "");
    assert_string_equal(level_of(NULL, 1, b, sizeof(b)), "(none)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parse_accepts),
        cmocka_unit_test(test_json_parse_rejects),
        cmocka_unit_test(test_json_type),
        cmocka_unit_test(test_json_space),
        cmocka_unit_test(test_utf8_next),
        cmocka_unit_test(test_utf8_invalid_at),
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_topic_level),
        cmocka_unit_test(test_id_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
