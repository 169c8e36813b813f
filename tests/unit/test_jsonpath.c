/* tests/unit/test_jsonpath.c — compiling path expressions and looking them
 * up (daemon/jsonpath.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/base/jsonpath.h"

static const char doc_text[] = "{\"station\":\"GL-AQ01\","
                               " \"a\":{\"b\":{\"c\":7}},"
                               " \"list\":[10,20,{\"x\":\"deep\"},[1,2]],"
                               " \"with.dot\":1.5,"
                               " \"with space\":\"sp\","
                               " \"it's\":\"apos\","
                               " \"$\":\"dollar\","
                               " \"Case\":1, \"case\":2,"
                               " \"empty\":[],"
                               " \"n\":null}";

static int setup(void **state)
{
    cJSON *doc = cJSON_Parse(doc_text);
    if (!doc)
        return -1;
    *state = doc;
    return 0;
}

static int teardown(void **state)
{
    cJSON_Delete(*state);
    return 0;
}

/* Compiles `expr` (must succeed) and returns the node it selects. */
static const cJSON *lookup(const cJSON *doc, const char *expr)
{
    struct iocd_jsonpath *p = NULL;
    struct iocd_error err = {{0}};
    if (iocd_jsonpath_compile(expr, &p, &err) != 0)
        fail_msg("'%s' did not compile: %s", expr, err.msg);
    assert_non_null(p);
    assert_string_equal(iocd_jsonpath_text(p), expr);
    const cJSON *n = iocd_jsonpath_get(p, doc);
    iocd_jsonpath_free(p);
    return n;
}

static double num_at(const cJSON *doc, const char *expr)
{
    const cJSON *n = lookup(doc, expr);
    if (!cJSON_IsNumber(n))
        fail_msg("'%s' is not a number", expr);
    return n->valuedouble;
}

static const char *str_at(const cJSON *doc, const char *expr)
{
    const cJSON *n = lookup(doc, expr);
    if (!cJSON_IsString(n))
        fail_msg("'%s' is not a string", expr);
    return n->valuestring;
}

static void test_names(void **state)
{
    const cJSON *doc = *state;
    assert_string_equal(str_at(doc, "$.station"), "GL-AQ01");
    assert_string_equal(str_at(doc, "station"), "GL-AQ01");
    assert_true(num_at(doc, "$.a.b.c") == 7);
    assert_true(num_at(doc, "a.b.c") == 7);
    assert_true(num_at(doc, "$['a']['b'].c") == 7);
    assert_true(num_at(doc, "['a'].b[\"c\"]") == 7);
    assert_true(num_at(doc, "$.Case") == 1); /* case-sensitive */
    assert_true(num_at(doc, "$.case") == 2);
    assert_ptr_equal(lookup(doc, "$"), doc);
    assert_true(cJSON_IsObject(lookup(doc, "$.a.b")));
    assert_true(cJSON_IsNull(lookup(doc, "$.n")));
}

static void test_indexes(void **state)
{
    const cJSON *doc = *state;
    assert_true(num_at(doc, "$.list[0]") == 10);
    assert_true(num_at(doc, "$.list[1]") == 20);
    assert_string_equal(str_at(doc, "$.list[2].x"), "deep");
    assert_true(num_at(doc, "$.list[3][1]") == 2);
    assert_true(num_at(doc, "list[-1][0]") == 1);
    assert_true(num_at(doc, "$.list[-4]") == 10);
    assert_string_equal(str_at(doc, "$.list[-2]['x']"), "deep");
}

static void test_quoted(void **state)
{
    const cJSON *doc = *state;
    assert_true(num_at(doc, "$['with.dot']") == 1.5);
    assert_true(num_at(doc, "[\"with.dot\"]") == 1.5);
    assert_string_equal(str_at(doc, "$['with space']"), "sp");
    assert_string_equal(str_at(doc, "$['it\\'s']"), "apos");
    assert_string_equal(str_at(doc, "$[\"it's\"]"), "apos");
    assert_string_equal(str_at(doc, "$['$']"), "dollar");
    /* a dotted bare name is two steps, not the quoted key */
    assert_null(lookup(doc, "$.with.dot"));
}

static void test_missing(void **state)
{
    const cJSON *doc = *state;
    assert_null(lookup(doc, "$.nope"));
    assert_null(lookup(doc, "$.a.nope.c"));
    assert_null(lookup(doc, "$.a.b.c.d")); /* name step on a number */
    assert_null(lookup(doc, "$.list.x"));  /* name step on an array */
    assert_null(lookup(doc, "$.a[0]"));    /* index step on an object */
    assert_null(lookup(doc, "$.list[4]"));
    assert_null(lookup(doc, "$.list[-5]"));
    assert_null(lookup(doc, "$.empty[0]"));
    assert_null(lookup(doc, "$.empty[-1]"));
    assert_null(lookup(doc, "$.n.x"));
    assert_null(lookup(doc, "$.station[0]")); /* index step on a string */
    assert_null(lookup(doc, "$.STATION"));
}

static void assert_compile_error(const char *expr, const char *msg)
{
    struct iocd_jsonpath *p = (struct iocd_jsonpath *)&p; /* must be reset to NULL */
    struct iocd_error err = {{0}};
    if (iocd_jsonpath_compile(expr, &p, &err) != -1)
        fail_msg("'%s' compiled, expected an error", expr);
    assert_null(p);
    assert_string_equal(err.msg, msg);
}

static void test_compile_errors(void **state)
{
    (void)state;
    assert_compile_error("", "empty path");
    assert_compile_error("$.", "empty name after '.' at character 2");
    assert_compile_error("a..b", "empty name after '.' at character 2");
    assert_compile_error("$.a.", "empty name after '.' at character 4");
    assert_compile_error("[x]", "expected an index or a quoted name after '[' at character 1");
    assert_compile_error("$.a[]", "expected an index or a quoted name after '[' at character 4");
    assert_compile_error("$['abc", "unterminated quoted name starting at character 2");
    assert_compile_error("$[\"abc']", "unterminated quoted name starting at character 2");
    assert_compile_error("$['a'", "expected ']' after quoted name at character 6");
    assert_compile_error("$.a[1", "expected ']' at character 6");
    assert_compile_error("$.a[1x]", "expected ']' at character 6");
    assert_compile_error("$.a[-0]", "index -0 at character 4");
    assert_compile_error("$.a[99999999999]", "index too large at character 4");
    assert_compile_error("$a", "expected '.' or '[' after '$' at character 2");
    assert_compile_error("$.a b", "unexpected ' ' at character 4, expected '.' or '['");
    assert_compile_error(".a", "unexpected '.' at character 1");
    assert_compile_error("$.a]", "unexpected ']' at character 4, expected '.' or '['");
    assert_compile_error("$.['a']", "empty name after '.' at character 2");
    assert_compile_error("$.a\x01", "unexpected 0x01 at character 4, expected '.' or '['");
}

/* A member named by the path's own name pointer (the JSON adapter's
 * scanned payloads) is taken at once; members named by other pointers are
 * compared by text, first occurrence first (cJSON's duplicate keys). */
static void test_name_pointer(void **state)
{
    (void)state;
    struct iocd_jsonpath *p = NULL;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_jsonpath_compile("pm25", &p, &err), 0);
    const char *name = iocd_jsonpath_top_name(p);
    assert_string_equal(name, "pm25");
    char other[] = "pm25", unrelated[] = "pm10";
    cJSON m[3], root;
    memset(m, 0, sizeof(m));
    memset(&root, 0, sizeof(root));
    root.type = cJSON_Object;
    root.child = &m[0];
    for (int i = 0; i < 3; i++) {
        m[i].type = cJSON_Number;
        m[i].valuedouble = i + 1;
        m[i].next = i < 2 ? &m[i + 1] : NULL;
    }
    m[0].string = unrelated;
    m[1].string = other;
    m[2].string = (char *)name;
    assert_ptr_equal(iocd_jsonpath_get(p, &root), &m[2]);
    m[2].string = unrelated;
    assert_ptr_equal(iocd_jsonpath_get(p, &root), &m[1]); /* by text */
    iocd_jsonpath_free(p);
    /* A parsed tree with the key twice: the first. */
    cJSON *doc = cJSON_Parse("{\"k\":1,\"k\":2}");
    assert_non_null(doc);
    assert_true(num_at(doc, "k") == 1);
    cJSON_Delete(doc);
}

static void test_text(void **state)
{
    (void)state;
    struct iocd_jsonpath *p = NULL;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_jsonpath_compile("$['x y'][3].z", &p, &err), 0);
    assert_string_equal(iocd_jsonpath_text(p), "$['x y'][3].z");
    iocd_jsonpath_free(p);
    iocd_jsonpath_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_name_pointer),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
