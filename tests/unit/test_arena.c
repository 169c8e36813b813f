/* tests/unit/test_arena.c — the bump allocator (daemon/arena.c): 16-byte
 * alignment, zeroed memory (also when reused after a reset), the byte
 * accounting, strdup/strndup/printf, the limit (NULL beyond it, room again
 * after a reset), allocations larger than a chunk, many chunks, and sizes
 * whose rounding would overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/base/arena.h"

static void assert_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            fail_msg("byte %zu is %u, not 0", i, p[i]);
}

static void test_alignment_and_accounting(void **state)
{
    (void)state;
    struct iocd_arena a;
    iocd_arena_init(&a, 0);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
    static const size_t sizes[] = {1, 3, 15, 16, 17, 31, 33, 100, 7};
    unsigned char *prev = NULL;
    size_t prev_n = 0, used = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = iocd_arena_alloc(&a, sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        used += (sizes[i] + 15) / 16 * 16;
        assert_int_equal(a.used, used);
        assert_zero(p, sizes[i]);
        memset(p, 0xff, sizes[i]);
        /* Allocations follow each other in one chunk, rounded up to 16. */
        if (prev)
            assert_ptr_equal(p, prev + (prev_n + 15) / 16 * 16);
        prev = p;
        prev_n = sizes[i];
    }
    iocd_arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
}

static void test_reset_reuses_and_zeroes(void **state)
{
    (void)state;
    struct iocd_arena a;
    iocd_arena_init(&a, 0);
    unsigned char *p = iocd_arena_alloc(&a, 256);
    assert_non_null(p);
    memset(p, 0xaa, 256);
    iocd_arena_reset(&a);
    assert_int_equal(a.used, 0);
    assert_non_null(a.head); /* the ordinary chunk is kept */
    unsigned char *q = iocd_arena_alloc(&a, 256);
    assert_ptr_equal(q, p); /* same memory again... */
    assert_zero(q, 256);    /* ...zeroed */
    assert_int_equal(a.used, 256);
    iocd_arena_reset(&a);
    iocd_arena_reset(&a); /* twice is fine */
    assert_int_equal(a.used, 0);
    iocd_arena_free(&a);

    /* Reset and free of an arena that never allocated. */
    iocd_arena_init(&a, 0);
    iocd_arena_reset(&a);
    assert_null(a.head);
    iocd_arena_free(&a);
    assert_null(a.head);
}

static void test_strings(void **state)
{
    (void)state;
    struct iocd_arena a;
    iocd_arena_init(&a, 0);
    char *s = iocd_arena_strdup(&a, "GL-AQ01");
    assert_string_equal(s, "GL-AQ01");
    assert_int_equal((uintptr_t)s % 16, 0);
    char *e = iocd_arena_strdup(&a, "");
    assert_non_null(e);
    assert_string_equal(e, "");
    char *n = iocd_arena_strndup(&a, "pleiku/air/GL-AQ01/data", 6);
    assert_string_equal(n, "pleiku");
    char *z = iocd_arena_strndup(&a, "abc", 0);
    assert_string_equal(z, "");
    char *p = iocd_arena_printf(&a, "%s/%d/%.2f", "air", 42, 1.5);
    assert_string_equal(p, "air/42/1.50");
    char *pe = iocd_arena_printf(&a, "%s", "");
    assert_non_null(pe);
    assert_string_equal(pe, "");
    /* A long one, larger than a chunk. */
    char *big = iocd_arena_printf(&a, "%20000d|", 7);
    assert_non_null(big);
    assert_int_equal(strlen(big), 20001);
    assert_int_equal(big[19999], '7');
    assert_int_equal(big[20000], '|');
    assert_int_equal(big[0], ' ');
    /* Earlier strings are untouched by later allocations. */
    assert_string_equal(s, "GL-AQ01");
    assert_string_equal(n, "pleiku");
    assert_string_equal(p, "air/42/1.50");
    iocd_arena_free(&a);
}

static void test_limit(void **state)
{
    (void)state;
    struct iocd_arena a;
    iocd_arena_init(&a, 64);
    assert_int_equal(a.limit, 64);
    assert_non_null(iocd_arena_alloc(&a, 20)); /* 32 bytes */
    assert_non_null(iocd_arena_alloc(&a, 17)); /* 32 bytes: exactly at the limit */
    assert_int_equal(a.used, 64);
    assert_null(iocd_arena_alloc(&a, 1));
    assert_null(iocd_arena_strdup(&a, ""));
    assert_null(iocd_arena_printf(&a, "x"));
    assert_int_equal(a.used, 64);

    iocd_arena_reset(&a);
    assert_null(iocd_arena_alloc(&a, 65)); /* 80 bytes > 64 */
    assert_int_equal(a.used, 0);
    unsigned char *p = iocd_arena_alloc(&a, 64);
    assert_non_null(p);
    assert_zero(p, 64);
    assert_null(iocd_arena_alloc(&a, 1));
    iocd_arena_free(&a);

    /* A limit that is not a multiple of 16 counts rounded sizes. */
    iocd_arena_init(&a, 40);
    assert_non_null(iocd_arena_alloc(&a, 1));
    assert_non_null(iocd_arena_alloc(&a, 1));
    assert_null(iocd_arena_alloc(&a, 1)); /* 48 > 40 */
    assert_int_equal(a.used, 32);
    iocd_arena_free(&a);
}

static void test_large_allocations(void **state)
{
    (void)state;
    struct iocd_arena a;
    iocd_arena_init(&a, 0);
    unsigned char *small = iocd_arena_alloc(&a, 10);
    assert_non_null(small);
    memset(small, 0x11, 10);

    const size_t big_n = 100000; /* far over the 8 KiB chunk */
    unsigned char *big = iocd_arena_alloc(&a, big_n);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 16, 0);
    assert_zero(big, big_n);
    memset(big, 0x22, big_n);
    assert_int_equal(a.used, 16 + big_n);

    unsigned char *after = iocd_arena_alloc(&a, 10);
    assert_non_null(after);
    assert_zero(after, 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(small[i], 0x11);
    for (size_t i = 0; i < big_n; i++)
        if (big[i] != 0x22)
            fail_msg("big[%zu] overwritten", i);

    /* Fill many chunks; every block stays intact and distinct. */
    enum { BLOCKS = 64, BLOCK = 3000 };
    unsigned char *blocks[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = iocd_arena_alloc(&a, BLOCK);
        assert_non_null(blocks[i]);
        assert_int_equal((uintptr_t)blocks[i] % 16, 0);
        assert_zero(blocks[i], BLOCK);
        memset(blocks[i], i + 1, BLOCK);
    }
    for (int i = 0; i < BLOCKS; i++)
        for (size_t k = 0; k < BLOCK; k++)
            if (blocks[i][k] != (unsigned char)(i + 1))
                fail_msg("block %d byte %zu overwritten", i, k);
    iocd_arena_reset(&a);
    assert_int_equal(a.used, 0);
    unsigned char *again = iocd_arena_alloc(&a, 50);
    assert_non_null(again);
    assert_zero(again, 50);
    iocd_arena_free(&a);

    /* A huge chunk made for one message is not kept by a reset. */
    iocd_arena_init(&a, 0);
    assert_non_null(iocd_arena_alloc(&a, 1 << 20));
    iocd_arena_reset(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
    assert_non_null(iocd_arena_alloc(&a, 1));
    iocd_arena_free(&a);
}

static void test_rounding_overflow(void **state)
{
    (void)state;
    struct iocd_arena a;
    iocd_arena_init(&a, 0);
    /* n + 15 wraps around: refused, not a 0-byte block. */
    assert_null(iocd_arena_alloc(&a, SIZE_MAX));
    assert_null(iocd_arena_alloc(&a, SIZE_MAX - 14));
    assert_int_equal(a.used, 0);
    iocd_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_accounting),
        cmocka_unit_test(test_reset_reuses_and_zeroes),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_large_allocations),
        cmocka_unit_test(test_rounding_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
