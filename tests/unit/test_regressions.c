/* tests/unit/test_regressions.c — bugs found by review, fixed; each test failed before its fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "daemon/base/arena.h"
#include "daemon/config/config.h"

#define AIR "[adapter air]\ntopic = a/+\nformat = json\ndevice = $.id\nmetric.x = $.x\n"

/* arena: a size near SIZE_MAX passes the rounding check, sizeof(chunk) +
 * size wraps in malloc's argument, and memset then runs off a tiny block. */
static void test_arena_huge_size_refused(void **state)
{
    (void)state;
    struct iocd_arena a;
    iocd_arena_init(&a, 0);
    assert_null(iocd_arena_alloc(&a, SIZE_MAX - 31));
    iocd_arena_free(&a);
}

/* arena: with a limit, used + need wraps to 0 and passes the limit check. */
static void test_arena_limit_wrap_refused(void **state)
{
    (void)state;
    struct iocd_arena a;
    iocd_arena_init(&a, 1024);
    assert_non_null(iocd_arena_alloc(&a, 16));
    assert_null(iocd_arena_alloc(&a, SIZE_MAX - 15));
    iocd_arena_free(&a);
}

/* config: a key repeated in a second [mqtt] section silently overrides. */
static void test_config_repeated_section_duplicate_key(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    int rc = iocd_config_load_string(&cfg, "t.conf", "[mqtt]\nport = 1884\n[mqtt]\nport = 1885\n" AIR, &err);
    if (rc == 0) {
        int port = cfg.mqtt.port;
        iocd_config_free(&cfg);
        fail_msg("accepted; port = %d", port);
    }
    assert_string_equal(err.msg, "t.conf:3: [mqtt] given twice (first on line 1)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_repeated_section_duplicate_key),
        cmocka_unit_test(test_arena_limit_wrap_refused),
        cmocka_unit_test(test_arena_huge_size_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
