/* daemon/config/users.h — the named operator accounts of [http] users_file:
 * the file's format, its parser, the token hash and the token check.
 *
 * Owns: struct iocd_users (the accounts of one file, malloc'd by
 * iocd_users_parse / iocd_users_load, freed by iocd_users_free). No I/O
 * but iocd_users_load's read of the file and iocd_users_random's read of
 * the kernel's random bytes; no logging. Shared by iocd (the loader, the
 * HTTP server's checks) and iocctl (`iocctl users`).
 *
 * One account a line, `NAME:ROLE:sha256:SALT_HEX:HASH_HEX`:
 *   NAME  1 to 63 of A-Z a-z 0-9 . _ - @ (the actor recorded for its actions)
 *   ROLE  viewer, operator or admin
 *   SALT  16 random bytes (32 hex digits)
 *   HASH  SHA-256(SALT || TOKEN) (64 hex digits)
 * '#' starts a comment line; blank lines are skipped. A token is 32 random
 * bytes written as 64 hex digits (iocd_users_token_new), so one salted
 * SHA-256 is enough: nobody can guess 256 bits, and a slow password hash
 * would cost its full price on every API request. docs/api.md. */
#ifndef IOCD_CONFIG_USERS_H
#define IOCD_CONFIG_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/base/error.h"

#define IOCD_USER_NAME_MAX 63
#define IOCD_USERS_MAX 10000     /* accounts in one file at most */
#define IOCD_USERS_FILE_MAX (4 << 20)
#define IOCD_USER_SALT_LEN 16
#define IOCD_USER_HASH_LEN 32
#define IOCD_USER_TOKEN_LEN 64   /* hex digits of a generated token */
#define IOCD_USER_LINE_MAX 256   /* a line iocd_users_line writes, with NUL */

enum iocd_role {
    IOCD_ROLE_NONE = 0,
    IOCD_ROLE_VIEWER = 1,   /* reads: GET, the live stream */
    IOCD_ROLE_OPERATOR = 2, /* and acts: ack, assign, resolve, silence, lift */
    IOCD_ROLE_ADMIN = 3,    /* everything */
};

struct iocd_user {
    char name[IOCD_USER_NAME_MAX + 1];
    enum iocd_role role;
    unsigned char salt[IOCD_USER_SALT_LEN];
    unsigned char hash[IOCD_USER_HASH_LEN];
    int line; /* in the file */
};

struct iocd_users {
    struct iocd_user *v; /* n of them, in file order */
    size_t n;
};

/* "viewer", "operator", "admin" ("" for none); parse: the role or -1. */
const char *iocd_role_name(enum iocd_role r);
int iocd_role_parse(const char *s);
/* A name the file can hold (see above). */
bool iocd_user_name_ok(const char *name);

/* Parse `len` bytes of a users file named `file` (for messages) into *out
 * (emptied first). 0, or -1 with err "FILE:LINE: why" and *out empty. */
int iocd_users_parse(struct iocd_users *out, const char *text, size_t len, const char *file,
                     struct iocd_error *err);
/* Read and parse the file at `path`; *mode gets its permission bits (or -1). */
int iocd_users_load(struct iocd_users *out, const char *path, int *mode, struct iocd_error *err);
void iocd_users_free(struct iocd_users *u);
const struct iocd_user *iocd_users_find(const struct iocd_users *u, const char *name);

/* SHA-256(salt || token): 0, or -1 when the digest is not available. */
int iocd_users_hash(const unsigned char salt[IOCD_USER_SALT_LEN], const char *token, size_t len,
                    unsigned char out[IOCD_USER_HASH_LEN]);
/* The account whose token this is, or NULL. Every account's hash is
 * computed and compared in constant time, so the time taken says nothing
 * of which account came close. */
const struct iocd_user *iocd_users_check(const struct iocd_users *u, const char *token,
                                         size_t len);
/* Constant-time equality of n bytes. */
bool iocd_users_same(const void *a, const void *b, size_t n);

/* n bytes from the kernel's random source (getrandom): 0 or -1. */
int iocd_users_random(unsigned char *out, size_t n);
/* A new token: 64 lowercase hex digits and a NUL into out. 0 or -1. */
int iocd_users_token_new(char out[IOCD_USER_TOKEN_LEN + 1]);
/* The file line of an account (no newline) for `token` with a fresh salt:
 * 0, or -1 (bad name or role, no random bytes). */
int iocd_users_line(char out[IOCD_USER_LINE_MAX], const char *name, enum iocd_role role,
                    const char *token);

#endif
