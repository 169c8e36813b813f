/* tests/fuzz/fuzz_users.c — libFuzzer target for the users-file parser
 * (daemon/config/users.c), which reads [http] users_file at start and on
 * every reload.
 *
 * Owns: the per-input account list. For every input: the parse either
 * fails with a "users:LINE: why" message and an empty list, or succeeds
 * with at most IOCD_USERS_MAX accounts, each with a valid name and role,
 * distinct names, and lines in increasing order; a token checked against
 * the accounts finds nothing or an account of the list. Violations abort. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_users: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iocd_users u;
    struct iocd_error err = {{0}};
    int rc = iocd_users_parse(&u, (const char *)data, size, "users", &err);
    if (rc != 0) {
        CHECK(rc == -1);
        CHECK(u.n == 0 && u.v == NULL);
        CHECK(strncmp(err.msg, "users:", 6) == 0);
        return 0;
    }
    CHECK(u.n <= IOCD_USERS_MAX);
    for (size_t i = 0; i < u.n; i++) {
        CHECK(iocd_user_name_ok(u.v[i].name));
        CHECK(u.v[i].role >= IOCD_ROLE_VIEWER && u.v[i].role <= IOCD_ROLE_ADMIN);
        CHECK(iocd_users_find(&u, u.v[i].name) == &u.v[i]);
        CHECK(i == 0 || u.v[i].line > u.v[i - 1].line);
    }
    /* The input's first bytes as a token: no account, or one of the list. */
    size_t tl = size < 64 ? size : 64;
    const struct iocd_user *hit = iocd_users_check(&u, (const char *)data, tl);
    CHECK(!hit || (hit >= u.v && hit < u.v + u.n));
    iocd_users_free(&u);
    CHECK(u.n == 0 && u.v == NULL);
    return 0;
}
