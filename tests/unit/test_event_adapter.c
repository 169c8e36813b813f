/* placeholder: replaced by the real test in this session */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "adapter.h"
static void placeholder(void **state) { (void)state; assert_non_null(iocd_adapter_find("json")); }
int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(placeholder)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
