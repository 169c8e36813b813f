/* tests/unit/test_users.c — the users file of [http] users_file
 * (daemon/config/users.c): the parser's accepted and refused lines with
 * their exact messages, the salted SHA-256 against a known value, the
 * token check, and the lines iocctl writes reading back. Links only
 * iocd_config_core (with libcrypto) and iocd_base. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config/users.h"

#define SALT "000102030405060708090a0b0c0d0e0f"
/* SHA-256 of the 16 salt bytes 00..0f followed by "secret-token"
 * (python3: hashlib.sha256(bytes(range(16)) + b"secret-token").hexdigest()). */
#define HASH "a53a73f167181f2b4322d531ba02f196f9593743b3c67ec5e52e2044d8282d1a"

static int parse(struct iocd_users *u, const char *text, struct iocd_error *err)
{
    return iocd_users_parse(u, text, strlen(text), "users", err);
}

static void test_roles(void **state)
{
    (void)state;
    assert_int_equal(iocd_role_parse("viewer"), IOCD_ROLE_VIEWER);
    assert_int_equal(iocd_role_parse("operator"), IOCD_ROLE_OPERATOR);
    assert_int_equal(iocd_role_parse("admin"), IOCD_ROLE_ADMIN);
    assert_int_equal(iocd_role_parse("Admin"), -1);
    assert_int_equal(iocd_role_parse(""), -1);
    assert_string_equal(iocd_role_name(IOCD_ROLE_OPERATOR), "operator");
    assert_true(iocd_user_name_ok("nguyen.van-a_1@ioc"));
    assert_false(iocd_user_name_ok(""));
    assert_false(iocd_user_name_ok("a:b"));
    assert_false(iocd_user_name_ok("Nguyễn"));
    char long_name[70];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_false(iocd_user_name_ok(long_name));
    long_name[63] = '\0';
    assert_true(iocd_user_name_ok(long_name));
}

static void test_parse_good(void **state)
{
    (void)state;
    struct iocd_users u;
    struct iocd_error err = {{0}};
    const char *text = "# operators of the night shift\n"
                       "\n"
                       "   \t\n"
                       "lan:operator:sha256:" SALT ":" HASH "\r\n"
                       "  # indented comment\n"
                       "minh:viewer:sha256:" SALT ":" HASH "  \n"
                       "root:admin:sha256:" SALT ":" HASH; /* no final newline */
    assert_int_equal(parse(&u, text, &err), 0);
    assert_int_equal(u.n, 3);
    assert_string_equal(u.v[0].name, "lan");
    assert_int_equal(u.v[0].role, IOCD_ROLE_OPERATOR);
    assert_int_equal(u.v[0].line, 4);
    assert_int_equal(u.v[0].salt[15], 0x0f);
    assert_int_equal(u.v[1].line, 6);
    assert_int_equal(u.v[2].role, IOCD_ROLE_ADMIN);
    assert_ptr_equal(iocd_users_find(&u, "minh"), &u.v[1]);
    assert_null(iocd_users_find(&u, "nobody"));
    iocd_users_free(&u);
    assert_int_equal(u.n, 0);
    assert_int_equal(parse(&u, "", &err), 0);
    assert_int_equal(u.n, 0);
    iocd_users_free(&u);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"lan:operator", "users:2: expected NAME:ROLE:sha256:SALT_HEX:HASH_HEX"},
        {"lan:operator:sha256:" SALT ":" HASH ":x",
         "users:2: expected NAME:ROLE:sha256:SALT_HEX:HASH_HEX (too many ':')"},
        {":operator:sha256:" SALT ":" HASH, "users:2: bad NAME: 1 to 63 of A-Z a-z 0-9 . _ - @"},
        {"l an:operator:sha256:" SALT ":" HASH,
         "users:2: bad NAME: 1 to 63 of A-Z a-z 0-9 . _ - @"},
        {"lan:root:sha256:" SALT ":" HASH, "users:2: bad ROLE: viewer, operator or admin"},
        {"lan:operatoroperator:sha256:" SALT ":" HASH,
         "users:2: bad ROLE: viewer, operator or admin"},
        {"lan:operator:md5:" SALT ":" HASH, "users:2: unknown hash scheme (only sha256)"},
        {"lan:operator:sha256:0001:" HASH, "users:2: bad SALT_HEX: 32 hex digits"},
        {"lan:operator:sha256:" SALT ":secret-token",
         "users:2: bad HASH_HEX: 64 hex digits (the file holds hashes, never tokens)"},
        {"lan:operator:sha256:" SALT ":" HASH "0",
         "users:2: bad HASH_HEX: 64 hex digits (the file holds hashes, never tokens)"},
        {"minh:viewer:sha256:" SALT ":" HASH, "users:2: account 'minh' is already on line 1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "minh:viewer:sha256:%s:%s\n%s\n", SALT, HASH, cases[i].line);
        struct iocd_users u;
        struct iocd_error err = {{0}};
        assert_int_equal(parse(&u, text, &err), -1);
        assert_string_equal(err.msg, cases[i].msg);
        assert_int_equal(u.n, 0);
        assert_null(u.v);
    }
    /* A NUL byte inside a line. */
    static const char nul[] = "lan\0:operator\n";
    struct iocd_users u;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_users_parse(&u, nul, sizeof(nul) - 1, "users", &err), -1);
    assert_string_equal(err.msg, "users:1: a NUL byte in the line");
}

static void test_hash_and_check(void **state)
{
    (void)state;
    unsigned char salt[16], h[32];
    for (int i = 0; i < 16; i++)
        salt[i] = (unsigned char)i;
    assert_int_equal(iocd_users_hash(salt, "secret-token", 12, h), 0);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    assert_string_equal(hex, HASH);

    struct iocd_users u;
    struct iocd_error err = {{0}};
    assert_int_equal(parse(&u, "a:viewer:sha256:" SALT ":" HASH "\n", &err), 0);
    assert_ptr_equal(iocd_users_check(&u, "secret-token", 12), &u.v[0]);
    assert_null(iocd_users_check(&u, "secret-tokem", 12));
    assert_null(iocd_users_check(&u, "secret-token", 11));
    assert_null(iocd_users_check(&u, "", 0));
    assert_null(iocd_users_check(NULL, "secret-token", 12));
    iocd_users_free(&u);
}

static void test_new_lines_read_back(void **state)
{
    (void)state;
    char t1[IOCD_USER_TOKEN_LEN + 1], t2[IOCD_USER_TOKEN_LEN + 1];
    assert_int_equal(iocd_users_token_new(t1), 0);
    assert_int_equal(iocd_users_token_new(t2), 0);
    assert_int_equal(strlen(t1), 64);
    assert_int_equal(strspn(t1, "0123456789abcdef"), 64);
    assert_string_not_equal(t1, t2);
    char l1[IOCD_USER_LINE_MAX], l2[IOCD_USER_LINE_MAX], text[600];
    assert_int_equal(iocd_users_line(l1, "lan", IOCD_ROLE_OPERATOR, t1), 0);
    assert_int_equal(iocd_users_line(l2, "minh", IOCD_ROLE_VIEWER, t2), 0);
    assert_null(strstr(l1, t1));
    assert_int_equal(strlen(l1), strlen("lan:operator:sha256:") + 32 + 1 + 64);
    assert_int_equal(iocd_users_line(l1 + 0, "a:b", IOCD_ROLE_VIEWER, t1), -1);
    assert_int_equal(iocd_users_line(l1, "lan", IOCD_ROLE_OPERATOR, t1), 0);
    snprintf(text, sizeof(text), "%s\n%s\n", l1, l2);
    struct iocd_users u;
    struct iocd_error err = {{0}};
    assert_int_equal(parse(&u, text, &err), 0);
    assert_int_equal(u.n, 2);
    const struct iocd_user *a = iocd_users_check(&u, t1, strlen(t1));
    const struct iocd_user *b = iocd_users_check(&u, t2, strlen(t2));
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->name, "lan");
    assert_int_equal(a->role, IOCD_ROLE_OPERATOR);
    assert_string_equal(b->name, "minh");
    /* Two lines for one token have different salts. */
    char l3[IOCD_USER_LINE_MAX];
    assert_int_equal(iocd_users_line(l3, "lan", IOCD_ROLE_OPERATOR, t1), 0);
    assert_string_not_equal(l1, l3);
    iocd_users_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_hash_and_check),
        cmocka_unit_test(test_new_lines_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
