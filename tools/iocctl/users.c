/* tools/iocctl/users.c — `iocctl users add|list|remove`: iocd's users file
 * ([http] users_file; format in daemon/config/users.h, docs/api.md).
 *
 * Owns: the reading and writing of that file. `add` appends one line
 * (creating the file 0600), `remove` writes the file again without the
 * account (FILE.tmp, 0600, renamed over it), both refuse a file that does
 * not parse. A new token is printed once on stdout and kept nowhere; the
 * file holds its salted hash. iocd reads the file at start and on reload
 * (SIGHUP), so every change ends with how to reload. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config/users.h"
#include "tools/iocctl/iocctl.h"

#define RELOAD_HINT "reload iocd to apply it: systemctl reload iocd (or kill -HUP its PID)"

/* The users file: --file, else --config's [http] users_file. Malloc'd
 * into *path; EXIT_OK or EXIT_USAGE (reported). */
static int users_path(const struct iocctl_options *o, char **path)
{
    *path = NULL;
    if (o->users_file) {
        *path = iocctl_strdup(o->users_file);
        return *path ? EXIT_OK : iocctl_oom();
    }
    if (!o->config_path)
        return iocctl_usage_error("users: give --file PATH, or --config FILE with [http] "
                                  "users_file");
    struct iocctl_config cfg;
    if (iocctl_load_config(o->config_path, &cfg) != 0)
        return EXIT_USAGE;
    int rc = EXIT_OK;
    if (!cfg.users_file[0]) {
        fprintf(stderr, "iocctl: %s sets no [http] users_file (set it, or give --file)\n",
                o->config_path);
        rc = EXIT_USAGE;
    } else {
        *path = iocctl_strdup(cfg.users_file);
        if (!*path)
            rc = iocctl_oom();
    }
    iocctl_config_free(&cfg);
    return rc;
}

/* The accounts of path (none when it does not exist and may_be_missing):
 * EXIT_OK or EXIT_RUNTIME (reported). */
static int users_read(const char *path, bool may_be_missing, struct iocd_users *u)
{
    struct iocd_error err;
    int mode;
    memset(u, 0, sizeof(*u));
    if (may_be_missing && access(path, F_OK) != 0 && errno == ENOENT)
        return EXIT_OK;
    if (iocd_users_load(u, path, &mode, &err) != 0) {
        fprintf(stderr, "iocctl: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

/* Does the file end with a newline (or is it empty)? */
static bool ends_with_newline(int fd)
{
    struct stat st;
    char c;
    if (fstat(fd, &st) != 0 || st.st_size == 0)
        return true;
    return pread(fd, &c, 1, st.st_size - 1) == 1 && c == '\n';
}

static int users_add(const struct iocctl_options *o, const char *path)
{
    int role = iocd_role_parse(o->role);
    if (role < 0)
        return iocctl_usage_error("--role: '%s' is not viewer, operator or admin", o->role);
    if (!iocd_user_name_ok(o->user_name))
        return iocctl_usage_error("users add: '%s' is not a NAME (1 to 63 of A-Z a-z 0-9 . _ - @)",
                                  o->user_name);
    struct iocd_users u;
    int rc = users_read(path, true, &u);
    if (rc != EXIT_OK)
        return rc;
    bool dup = iocd_users_find(&u, o->user_name) != NULL;
    iocd_users_free(&u);
    if (dup) {
        fprintf(stderr, "iocctl: %s already has an account '%s' (users remove it first)\n", path,
                o->user_name);
        return EXIT_RUNTIME;
    }
    char token[IOCD_USER_TOKEN_LEN + 1], line[IOCD_USER_LINE_MAX];
    if (iocd_users_token_new(token) != 0 ||
        iocd_users_line(line, o->user_name, (enum iocd_role)role, token) != 0) {
        fprintf(stderr, "iocctl: cannot make a token: no random bytes or no SHA-256\n");
        return EXIT_RUNTIME;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fprintf(stderr, "iocctl: cannot write %s: %s\n", path, strerror(errno));
        explicit_bzero(token, sizeof(token));
        return EXIT_RUNTIME;
    }
    char out[IOCD_USER_LINE_MAX + 2];
    int n = snprintf(out, sizeof(out), "%s%s\n", ends_with_newline(fd) ? "" : "\n", line);
    bool ok = write(fd, out, (size_t)n) == n && fsync(fd) == 0;
    int werr = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "iocctl: cannot write %s: %s\n", path, strerror(werr));
        explicit_bzero(token, sizeof(token));
        return EXIT_RUNTIME;
    }
    printf("%s\n", token);
    explicit_bzero(token, sizeof(token));
    fprintf(stderr, "iocctl: added %s (%s) to %s. The token above is shown only this once: "
                    "give it to %s (the console's login, or Authorization: Bearer TOKEN); "
                    "%s\n",
            o->user_name, o->role, path, o->user_name, RELOAD_HINT);
    return EXIT_OK;
}

static int users_list(const struct iocctl_options *o, const char *path)
{
    struct iocd_users u;
    int rc = users_read(path, false, &u);
    if (rc != EXIT_OK)
        return rc;
    struct iocd_buf b;
    iocd_buf_init(&b);
    for (size_t i = 0; i < u.n && rc == EXIT_OK; i++) {
        iocd_buf_reset(&b);
        if (o->json) {
            iocd_buf_append(&b, "{", 1);
            iocctl_json_str(&b, "name", u.v[i].name);
            iocctl_json_str(&b, "role", iocd_role_name(u.v[i].role));
            iocd_buf_append(&b, "}", 1);
        } else {
            iocd_buf_printf(&b, "%-24s %s", u.v[i].name, iocd_role_name(u.v[i].role));
        }
        rc = iocctl_line_write(&b);
    }
    iocd_buf_free(&b);
    iocd_users_free(&u);
    return rc;
}

/* The line's account name is `name` (a comment or blank line is not). */
static bool line_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return n - i > k && memcmp(line + i, name, k) == 0 && line[i + k] == ':';
}

static int users_remove(const char *path, const char *name)
{
    struct iocd_users u;
    int rc = users_read(path, false, &u);
    if (rc != EXIT_OK)
        return rc;
    bool found = iocd_users_find(&u, name) != NULL;
    iocd_users_free(&u);
    if (!found) {
        fprintf(stderr, "iocctl: %s has no account '%s'\n", path, name);
        return EXIT_RUNTIME;
    }
    /* The file parsed a moment ago: read it again as text and write it
     * back without that one line, comments and order kept. */
    FILE *in = fopen(path, "re");
    char tmp[4200];
    if (!in || (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        fprintf(stderr, "iocctl: cannot read %s: %s\n", path, strerror(errno));
        if (in)
            fclose(in);
        return EXIT_RUNTIME;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        fprintf(stderr, "iocctl: cannot write %s: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        fclose(in);
        return EXIT_RUNTIME;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) > 0)
        if (!line_is(line, (size_t)n, name))
            fwrite(line, 1, (size_t)n, out);
    free(line);
    bool ok = !ferror(in) && fflush(out) == 0 && fsync(fileno(out)) == 0;
    fclose(in);
    ok = fclose(out) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "iocctl: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return EXIT_RUNTIME;
    }
    fprintf(stderr, "iocctl: removed %s from %s; %s\n", name, path, RELOAD_HINT);
    return EXIT_OK;
}

int iocctl_cmd_users(const struct iocctl_options *o)
{
    char *path;
    int rc = users_path(o, &path);
    if (rc != EXIT_OK)
        return rc;
    if (strcmp(o->user_verb, "add") == 0)
        rc = users_add(o, path);
    else if (strcmp(o->user_verb, "remove") == 0)
        rc = users_remove(path, o->user_name);
    else
        rc = users_list(o, path);
    free(path);
    return rc;
}
