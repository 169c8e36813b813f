/* tests/unit/test_buf.c — daemon/buf.c: the growable text buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/base/buf.h"

static void test_small_stays_inline(void **state)
{
    (void)state;
    struct iocd_buf b;
    iocd_buf_init(&b);
    assert_string_equal(b.p, "");
    iocd_buf_puts(&b, "air/");
    iocd_buf_append(&b, "pk-01/xyz", 6);
    iocd_buf_printf(&b, "%s=%d", "pm25", 35);
    assert_string_equal(b.p, "air/pk-01/pm25=35");
    assert_int_equal(b.len, 17);
    assert_ptr_equal(b.p, b.small);
    assert_false(b.oom);
    iocd_buf_reset(&b);
    assert_string_equal(b.p, "");
    assert_int_equal(b.len, 0);
    char *s = iocd_buf_take(&b);
    assert_string_equal(s, "");
    free(s);
    iocd_buf_free(&b);
}

static void test_grows_to_the_heap(void **state)
{
    (void)state;
    struct iocd_buf b;
    iocd_buf_init(&b);
    char want[5001];
    for (int i = 0; i < 1000; i++)
        memcpy(want + 5 * i, "abcde", 5);
    want[5000] = '\0';
    for (int i = 0; i < 500; i++)
        iocd_buf_append(&b, "abcde", 5);
    /* a printf that crosses the inline/heap boundary, written again after growing */
    iocd_buf_printf(&b, "%s", want + 2500);
    assert_int_equal(b.len, 5000);
    assert_string_equal(b.p, want);
    assert_ptr_not_equal(b.p, b.small);
    assert_true(b.cap > 5000);
    char *s = iocd_buf_take(&b);
    assert_string_equal(s, want);
    assert_ptr_equal(b.p, b.small); /* empty and usable again */
    assert_int_equal(b.len, 0);
    free(s);
    iocd_buf_printf(&b, "%0300d", 7); /* one printf larger than the inline room */
    assert_int_equal(b.len, 300);
    assert_int_equal(b.p[298], '0');
    assert_int_equal(b.p[299], '7');
    assert_int_equal(b.p[300], '\0');
    iocd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_stays_inline),
        cmocka_unit_test(test_grows_to_the_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
