/* daemon/config/users.c — the users file of [http] users_file (see users.h).
 *
 * Owns: parsing a users file into struct iocd_users, the salted SHA-256
 * of a token (OpenSSL's libcrypto), the constant-time token check, and
 * the making of new tokens and file lines for iocctl. Never logs; every
 * refusal is one "FILE:LINE: why" in the caller's iocd_error. */
#include "daemon/config/users.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const role_names[] = {
    [IOCD_ROLE_NONE] = "", [IOCD_ROLE_VIEWER] = "viewer", [IOCD_ROLE_OPERATOR] = "operator",
    [IOCD_ROLE_ADMIN] = "admin",
};

const char *iocd_role_name(enum iocd_role r)
{
    return r >= IOCD_ROLE_NONE && r <= IOCD_ROLE_ADMIN ? role_names[r] : "";
}

int iocd_role_parse(const char *s)
{
    for (int r = IOCD_ROLE_VIEWER; r <= IOCD_ROLE_ADMIN; r++)
        if (strcmp(s, role_names[r]) == 0)
            return r;
    return -1;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == '@';
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > IOCD_USER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]))
            return false;
    return true;
}

bool iocd_user_name_ok(const char *name)
{
    return name_ok(name, strlen(name));
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 2 * n hex digits into n bytes: 0 or -1. */
static int unhex(const char *s, size_t len, unsigned char *out, size_t n)
{
    if (len != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* One line (without its end) into *u: 0, 1 (comment or blank), -1. */
static int parse_line(struct iocd_user *u, const char *s, size_t n, const char **why)
{
    size_t i = 0;
    while (i < n && blank(s[i]))
        i++;
    if (i == n || s[i] == '#')
        return 1;
    while (n > i && blank(s[n - 1]))
        n--;
    const char *field[5];
    size_t flen[5];
    int nf = 0;
    size_t start = i;
    for (size_t k = i; k <= n; k++) {
        if (k < n && s[k] != ':')
            continue;
        if (nf == 5) {
            *why = "expected NAME:ROLE:sha256:SALT_HEX:HASH_HEX (too many ':')";
            return -1;
        }
        field[nf] = s + start;
        flen[nf++] = k - start;
        start = k + 1;
    }
    if (nf != 5) {
        *why = "expected NAME:ROLE:sha256:SALT_HEX:HASH_HEX";
        return -1;
    }
    if (!name_ok(field[0], flen[0])) {
        *why = "bad NAME: 1 to 63 of A-Z a-z 0-9 . _ - @";
        return -1;
    }
    char role[16];
    if (flen[1] >= sizeof(role)) {
        *why = "bad ROLE: viewer, operator or admin";
        return -1;
    }
    memcpy(role, field[1], flen[1]);
    role[flen[1]] = '\0';
    int r = iocd_role_parse(role);
    if (r < 0) {
        *why = "bad ROLE: viewer, operator or admin";
        return -1;
    }
    if (flen[2] != 6 || memcmp(field[2], "sha256", 6) != 0) {
        *why = "unknown hash scheme (only sha256)";
        return -1;
    }
    if (unhex(field[3], flen[3], u->salt, IOCD_USER_SALT_LEN)) {
        *why = "bad SALT_HEX: 32 hex digits";
        return -1;
    }
    if (unhex(field[4], flen[4], u->hash, IOCD_USER_HASH_LEN)) {
        *why = "bad HASH_HEX: 64 hex digits (the file holds hashes, never tokens)";
        return -1;
    }
    memcpy(u->name, field[0], flen[0]);
    u->name[flen[0]] = '\0';
    u->role = (enum iocd_role)r;
    return 0;
}

int iocd_users_parse(struct iocd_users *out, const char *text, size_t len, const char *file,
                     struct iocd_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t cap = 0;
    int line = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        line++;
        if (n && text[pos + n - 1] == '\r')
            n--;
        struct iocd_user u = {.line = line};
        const char *why = NULL;
        int rc = memchr(text + pos, '\0', n) ? (why = "a NUL byte in the line", -1)
                                              : parse_line(&u, text + pos, n, &why);
        pos = end + 1;
        if (rc == 1)
            continue;
        if (rc == 0 && out->n == IOCD_USERS_MAX) {
            why = "too many accounts (at most 10000)";
            rc = -1;
        }
        const struct iocd_user *dup = rc == 0 ? iocd_users_find(out, u.name) : NULL;
        if (dup) {
            int first = dup->line;
            iocd_users_free(out);
            return iocd_error_at(err, file, line, "account '%s' is already on line %d", u.name,
                                 first);
        }
        if (rc < 0) {
            iocd_users_free(out);
            return iocd_error_at(err, file, line, "%s", why);
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct iocd_user *nv = realloc(out->v, ncap * sizeof(*nv));
            if (!nv) {
                iocd_users_free(out);
                return iocd_error_set(err, "%s: out of memory", file);
            }
            out->v = nv;
            cap = ncap;
        }
        out->v[out->n++] = u;
    }
    return 0;
}

int iocd_users_load(struct iocd_users *out, const char *path, int *mode, struct iocd_error *err)
{
    memset(out, 0, sizeof(*out));
    *mode = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0)
        return iocd_error_set(err, "%s: cannot read: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return iocd_error_set(err, "%s: not a regular file", path);
    }
    if (st.st_size > IOCD_USERS_FILE_MAX) {
        close(fd);
        return iocd_error_set(err, "%s: larger than 4 MiB", path);
    }
    *mode = (int)(st.st_mode & 07777);
    size_t len = (size_t)st.st_size, got = 0;
    char *text = malloc(len + 1);
    if (!text) {
        close(fd);
        return iocd_error_set(err, "%s: out of memory", path);
    }
    while (got < len) {
        ssize_t r = read(fd, text + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    int read_errno = errno;
    close(fd);
    int rc = got == len ? iocd_users_parse(out, text, len, path, err)
                        : iocd_error_set(err, "%s: cannot read: %s", path, strerror(read_errno));
    free(text);
    return rc;
}

void iocd_users_free(struct iocd_users *u)
{
    if (u->v)
        explicit_bzero(u->v, u->n * sizeof(*u->v));
    free(u->v);
    u->v = NULL;
    u->n = 0;
}

const struct iocd_user *iocd_users_find(const struct iocd_users *u, const char *name)
{
    for (size_t i = 0; u && i < u->n; i++)
        if (strcmp(u->v[i].name, name) == 0)
            return &u->v[i];
    return NULL;
}

int iocd_users_hash(const unsigned char salt[IOCD_USER_SALT_LEN], const char *token, size_t len,
                    unsigned char out[IOCD_USER_HASH_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, salt, IOCD_USER_SALT_LEN) == 1 &&
             EVP_DigestUpdate(ctx, token, len) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 &&
             n == IOCD_USER_HASH_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

bool iocd_users_same(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

const struct iocd_user *iocd_users_check(const struct iocd_users *u, const char *token,
                                         size_t len)
{
    const struct iocd_user *found = NULL;
    if (!u || len == 0)
        return NULL;
    for (size_t i = 0; i < u->n; i++) {
        unsigned char h[IOCD_USER_HASH_LEN];
        if (iocd_users_hash(u->v[i].salt, token, len, h) != 0)
            return NULL;
        if (iocd_users_same(h, u->v[i].hash, sizeof(h)) && !found)
            found = &u->v[i];
    }
    return found;
}

int iocd_users_random(unsigned char *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int iocd_users_token_new(char out[IOCD_USER_TOKEN_LEN + 1])
{
    unsigned char raw[IOCD_USER_TOKEN_LEN / 2];
    if (iocd_users_random(raw, sizeof(raw)) != 0)
        return -1;
    hex(raw, sizeof(raw), out);
    explicit_bzero(raw, sizeof(raw));
    return 0;
}

int iocd_users_line(char out[IOCD_USER_LINE_MAX], const char *name, enum iocd_role role,
                    const char *token)
{
    unsigned char salt[IOCD_USER_SALT_LEN], h[IOCD_USER_HASH_LEN];
    char salt_hex[2 * IOCD_USER_SALT_LEN + 1], hash_hex[2 * IOCD_USER_HASH_LEN + 1];
    if (!iocd_user_name_ok(name) || role < IOCD_ROLE_VIEWER || role > IOCD_ROLE_ADMIN ||
        iocd_users_random(salt, sizeof(salt)) != 0 ||
        iocd_users_hash(salt, token, strlen(token), h) != 0)
        return -1;
    hex(salt, sizeof(salt), salt_hex);
    hex(h, sizeof(h), hash_hex);
    snprintf(out, IOCD_USER_LINE_MAX, "%s:%s:sha256:%s:%s", name, iocd_role_name(role), salt_hex,
             hash_hex);
    return 0;
}
