/* daemon/config/credentials.c — the files the [mqtt] keys name: where they
 * are, that iocd can read them, and the password read from password_file.
 *
 * Owns: resolving password_file, tls_ca_file, tls_ca_dir, tls_cert_file
 * and tls_key_file in place (cfg->mqtt.*.path becomes the path iocd
 * opens), and cfg->mqtt.password when it comes from password_file. A value
 * is one of:
 *   credential:NAME  $CREDENTIALS_DIRECTORY/NAME, the directory systemd
 *                    fills from LoadCredential= / SetCredential= (refused
 *                    when iocd is not started with one);
 *   /absolute/path   as written;
 *   relative/path    relative to the directory of the config file.
 * Every refusal names the key's FILE:LINE. Only the full loader runs this
 * (iocd, --check-config, a reload): iocctl reads the core keys without it,
 * so it needs neither the credentials nor the right to read them. The TLS
 * material itself is parsed by daemon/mqtt/tls.c.
 *
 * Also [http] users_file: resolved (absolute, or relative to the config
 * file's directory), read and parsed (daemon/config/users.c) into
 * cfg->http.users, so a bad line fails the load, at start, in
 * --check-config and at a reload (which then keeps the old accounts). */
#include "daemon/config/credentials.h"
#include "daemon/config/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREDENTIAL_PREFIX "credential:"
#define FILE_PREFIX "file:"
/* A password is one line; anything longer is not a password file. */
#define PASSWORD_MAX 4096

int iocd_config_relative(const struct iocd_config *cfg, const char *v, char *buf, size_t cap)
{
    const char *slash = v[0] != '/' && cfg->path ? strrchr(cfg->path, '/') : NULL;
    size_t n = slash ? (size_t)snprintf(buf, cap, "%.*s/%s", (int)(slash - cfg->path), cfg->path, v)
                     : (size_t)snprintf(buf, cap, "%s", v);
    return n < cap ? 0 : -1;
}

/* "credential:NAME" or a path, into an absolute (or as-written) path;
 * `key` names it in messages ("[mqtt] password_file"). */
static int resolve(const struct iocd_config *cfg, const char *key, struct iocd_config_path *p,
                   const char *file, struct iocd_error *err)
{
    char buf[4096];
    const char *v = p->path;
    if (strncmp(v, CREDENTIAL_PREFIX, strlen(CREDENTIAL_PREFIX)) == 0) {
        const char *name = v + strlen(CREDENTIAL_PREFIX);
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            return iocd_error_at(err, file, p->line,
                                 "%s: '%s': NAME must be a plain file name", key, v);
        if (!dir || !*dir)
            return iocd_error_at(err, file, p->line,
                                 "%s: '%s' needs $CREDENTIALS_DIRECTORY (start iocd from "
                                 "systemd with LoadCredential=%s:/path/to/file)",
                                 key, v, name);
        if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", dir, name) >= sizeof(buf))
            return iocd_error_at(err, file, p->line, "%s: path too long", key);
    } else if (v[0] != '/' && cfg->path && strchr(cfg->path, '/')) {
        if (iocd_config_relative(cfg, v, buf, sizeof(buf)))
            return iocd_error_at(err, file, p->line, "%s: path too long", key);
    } else {
        return 0;
    }
    char *dup = strdup(buf);
    if (!dup)
        return iocd_error_set(err, "out of memory");
    free(p->path);
    p->path = dup;
    return 0;
}

/* Can iocd read it (a regular file, or with want_dir a directory)? */
static int check_readable(const char *key, const struct iocd_config_path *p, bool want_dir,
                          const char *file, struct iocd_error *err)
{
    struct stat st;
    int fd = want_dir ? open(p->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                      : open(p->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return iocd_error_at(err, file, p->line, "[mqtt] %s: cannot read %s: %s", key, p->path,
                             strerror(errno));
    int rc = fstat(fd, &st);
    close(fd);
    if (rc == 0 && !want_dir && !S_ISREG(st.st_mode))
        return iocd_error_at(err, file, p->line, "[mqtt] %s: %s is not a regular file", key,
                             p->path);
    return 0;
}

/* The first line of p->path, without its line end, into *out (owned by
 * the caller); `key` names it in messages. */
static int read_first_line(const char *key, const struct iocd_config_path *p, const char *file,
                           char **out, struct iocd_error *err)
{
    FILE *f = fopen(p->path, "re");
    if (!f)
        return iocd_error_at(err, file, p->line, "%s: cannot read %s: %s", key, p->path,
                             strerror(errno));
    char *line = malloc(PASSWORD_MAX + 2);
    if (!line) {
        fclose(f);
        return iocd_error_set(err, "out of memory");
    }
    bool got = fgets(line, PASSWORD_MAX + 2, f) != NULL;
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    size_t n = got ? strcspn(line, "\r\n") : 0;
    int rc = 0;
    if (read_errno)
        rc = iocd_error_at(err, file, p->line, "%s: cannot read %s: %s", key, p->path,
                           strerror(read_errno));
    else if (n > PASSWORD_MAX)
        rc = iocd_error_at(err, file, p->line, "%s: the first line of %s is longer than %d bytes",
                           key, p->path, PASSWORD_MAX);
    else if (n == 0)
        rc = iocd_error_at(err, file, p->line, "%s: %s is empty (the value is its first line)",
                           key, p->path);
    if (rc == 0) {
        line[n] = '\0';
        *out = strdup(line);
        if (!*out)
            rc = iocd_error_set(err, "out of memory");
    }
    explicit_bzero(line, PASSWORD_MAX + 2);
    free(line);
    return rc;
}

/* The first line of password_file into cfg->mqtt.password. */
static int read_password(struct iocd_config *cfg, const char *file, struct iocd_error *err)
{
    char *pw = NULL;
    if (read_first_line("[mqtt] password_file", &cfg->mqtt.password_file, file, &pw, err))
        return -1;
    free(cfg->mqtt.password);
    cfg->mqtt.password = pw;
    return 0;
}

int iocd_config_secret(const struct iocd_config *cfg, const char *key, const char *value,
                       const char *file, int line, char **out, struct iocd_error *err)
{
    *out = NULL;
    bool cred = strncmp(value, CREDENTIAL_PREFIX, strlen(CREDENTIAL_PREFIX)) == 0;
    bool path = strncmp(value, FILE_PREFIX, strlen(FILE_PREFIX)) == 0;
    if (!cred && !path) {
        *out = strdup(value);
        return *out ? 0 : iocd_error_set(err, "out of memory");
    }
    struct iocd_config_path p = {strdup(path ? value + strlen(FILE_PREFIX) : value), line};
    if (!p.path)
        return iocd_error_set(err, "out of memory");
    int rc = 0;
    if (path && !p.path[0])
        rc = iocd_error_at(err, file, line, "%s: 'file:' needs a path", key);
    else if (p.path[0] != '/' || cred)
        rc = resolve(cfg, key, &p, file, err);
    if (rc == 0)
        rc = read_first_line(key, &p, file, out, err);
    free(p.path);
    return rc;
}

int iocd_config_mqtt_files(struct iocd_config *cfg, struct iocd_error *err)
{
    const char *file = cfg->path ? cfg->path : "(defaults)";
    struct {
        const char *key;
        struct iocd_config_path *p;
        bool dir, tls;
    } files[] = {
        {"password_file", &cfg->mqtt.password_file, false, false},
        {"tls_ca_file", &cfg->mqtt.tls_ca_file, false, true},
        {"tls_ca_dir", &cfg->mqtt.tls_ca_dir, true, true},
        {"tls_cert_file", &cfg->mqtt.tls_cert_file, false, true},
        {"tls_key_file", &cfg->mqtt.tls_key_file, false, true},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct iocd_config_path *p = files[i].p;
        if (!p->path[0])
            continue;
        if (files[i].tls && !cfg->mqtt.tls)
            return iocd_error_at(err, file, p->line,
                                 "[mqtt] %s is set but tls = false: set tls = true (and the "
                                 "broker's TLS port)",
                                 files[i].key);
        char key[64];
        snprintf(key, sizeof(key), "[mqtt] %s", files[i].key);
        if (resolve(cfg, key, p, file, err) || check_readable(files[i].key, p, files[i].dir, file, err))
            return -1;
    }
    if (cfg->mqtt.tls_cert_file.path[0] && !cfg->mqtt.tls_key_file.path[0])
        return iocd_error_at(err, file, cfg->mqtt.tls_cert_file.line,
                             "[mqtt] tls_cert_file needs tls_key_file");
    if (cfg->mqtt.tls_key_file.path[0] && !cfg->mqtt.tls_cert_file.path[0])
        return iocd_error_at(err, file, cfg->mqtt.tls_key_file.line,
                             "[mqtt] tls_key_file needs tls_cert_file");
    if (!cfg->mqtt.tls &&
        (cfg->mqtt.tls_insecure || cfg->mqtt.tls_alpn[0] || cfg->mqtt.tls_ciphers[0] ||
         cfg->mqtt.tls_ciphersuites[0] || cfg->mqtt.tls_version != 12))
        return iocd_error_set(err, "%s: [mqtt] tls_* keys are set but tls = false", file);
    if (!cfg->mqtt.password_file.path[0])
        return 0;
    if (cfg->mqtt.password[0])
        return iocd_error_at(err, file, cfg->mqtt.password_file.line,
                             "[mqtt] password_file: password is set too; keep one of them");
    if (!cfg->mqtt.username[0])
        return iocd_error_at(err, file, cfg->mqtt.password_file.line,
                             "[mqtt] password_file needs username (MQTT sends no password "
                             "without a user name)");
    return read_password(cfg, file, err);
}

int iocd_config_file_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (int)(st.st_mode & 07777);
}

int iocd_config_http_users(struct iocd_config *cfg, struct iocd_error *err)
{
    const char *file = cfg->path ? cfg->path : "(defaults)";
    const char *v = cfg->http.users_file;
    cfg->http.users_mode = -1;
    if (!v || !v[0])
        return 0;
    char buf[4096];
    if (iocd_config_relative(cfg, v, buf, sizeof(buf)))
        return iocd_error_at(err, file, cfg->http.users_file_line,
                             "[http] users_file: path too long");
    free(cfg->http.users_path);
    cfg->http.users_path = strdup(buf);
    if (!cfg->http.users_path)
        return iocd_error_set(err, "out of memory");
    struct iocd_error why;
    if (iocd_users_load(&cfg->http.users, buf, &cfg->http.users_mode, &why))
        return iocd_error_at(err, file, cfg->http.users_file_line, "[http] users_file: %s",
                             why.msg);
    return 0;
}

int iocd_config_devices_registry(struct iocd_config *cfg, struct iocd_error *err)
{
    const char *file = cfg->path ? cfg->path : "(defaults)";
    const char *v = cfg->devices.registry;
    iocd_registry_free(cfg->devices.registry_data);
    cfg->devices.registry_data = NULL;
    if (!v || !v[0])
        return 0;
    char buf[4096];
    if (v[0] != '/' && cfg->path && strchr(cfg->path, '/')) {
        const char *slash = strrchr(cfg->path, '/');
        if ((size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)(slash - cfg->path), cfg->path,
                             v) >= sizeof(buf))
            return iocd_error_at(err, file, cfg->devices.registry_line,
                                 "[devices] registry: path too long");
    } else if ((size_t)snprintf(buf, sizeof(buf), "%s", v) >= sizeof(buf)) {
        return iocd_error_at(err, file, cfg->devices.registry_line,
                             "[devices] registry: path too long");
    }
    struct iocd_error why;
    if (iocd_registry_load(buf, &cfg->devices.registry_data, &why))
        return iocd_error_at(err, file, cfg->devices.registry_line, "[devices] registry: %s",
                             why.msg);
    return 0;
}
