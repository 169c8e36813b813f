/* tools/iocctl/db.c — finding iocd's database and opening it read-only
 * (never creating it) inside the one read transaction every command runs
 * in, so a command sees a single snapshot while iocd keeps writing; the
 * schema version is checked (daemon/query's iocd_query_begin reads it).
 *
 * Owns: the path iocctl_db_path_resolve returns (the caller frees it) and
 * the connection iocctl_db_open returns (the caller closes it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/base/buf.h"
#include "daemon/base/schema.h"
#include "daemon/query/query.h"
#include "tools/iocctl/iocctl.h"

#define BUSY_TIMEOUT_MS 5000

int iocctl_db_error(sqlite3 *db, const char *what)
{
    fprintf(stderr, "iocctl: database error (%s): %s\n", what, sqlite3_errmsg(db));
    return EXIT_RUNTIME;
}

int iocctl_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return iocctl_db_error(db, "prepare");
    }
    return EXIT_OK;
}

const char *iocctl_column_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* systemd may pass several directories separated by ':'; iocd uses the
 * first. A malloc'd path or NULL (out of memory). */
static char *state_directory_db(const char *dirs)
{
    size_t n = strcspn(dirs, ":");
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_buf_append(&b, dirs, n);
    if (n > 0 && dirs[n - 1] != '/')
        iocd_buf_append(&b, "/", 1);
    iocd_buf_puts(&b, "iocd.db");
    return iocd_buf_take(&b);
}

/* --config's [store] path: EXIT_OK and *path, or EXIT_RUNTIME (reported). */
static int config_db_path(const char *config_path, char **path)
{
    struct iocctl_config cfg;
    if (iocctl_load_config(config_path, &cfg) != 0)
        return EXIT_RUNTIME;
    *path = cfg.store_path; /* taken over */
    cfg.store_path = NULL;
    iocctl_config_free(&cfg);
    if (!*path) {
        fprintf(stderr, "iocctl: %s: no [store] path\n", config_path);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

int iocctl_db_path_resolve(const struct iocctl_options *o, char **path)
{
    *path = NULL;
    if (o->db_path) {
        *path = iocctl_strdup(o->db_path);
    } else if (o->config_path) {
        int rc = config_db_path(o->config_path, path);
        if (rc != EXIT_OK)
            return rc;
    } else {
        const char *dirs = getenv("STATE_DIRECTORY");
        struct stat sb;
        if (dirs && *dirs)
            *path = state_directory_db(dirs);
        else if (stat(IOCCTL_SYSTEM_DB, &sb) == 0)
            *path = iocctl_strdup(IOCCTL_SYSTEM_DB);
        else
            *path = iocctl_strdup("./iocd.db");
    }
    return *path ? EXIT_OK : iocctl_oom();
}

static int open_failed(const char *path, const char *why, sqlite3 *db)
{
    fprintf(stderr, "iocctl: cannot open database %s: %s\n", path, why);
    sqlite3_close(db);
    return EXIT_RUNTIME;
}

/* The schema version is one iocctl reads: EXIT_OK, or EXIT_RUNTIME
 * (reported). */
static int check_version(const char *path, int version)
{
    if (version >= IOCCTL_MIN_SCHEMA_VERSION && version <= IOCD_SCHEMA_VERSION)
        return EXIT_OK;
    fprintf(stderr,
            "iocctl: database %s has schema version %d; this iocctl reads versions %d to "
            "%d%s\n",
            path, version, IOCCTL_MIN_SCHEMA_VERSION, IOCD_SCHEMA_VERSION,
            version == 0 ? " (not an iocd database, or iocd has not started on it)"
            : version > IOCD_SCHEMA_VERSION ? " (written by a newer iocd)"
                                            : "");
    return EXIT_RUNTIME;
}

int iocctl_db_open(const char *path, sqlite3 **out)
{
    struct stat sb;
    *out = NULL;
    if (stat(path, &sb) != 0)
        return open_failed(path, strerror(errno), NULL);
    if (S_ISDIR(sb.st_mode))
        return open_failed(path, strerror(EISDIR), NULL);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return open_failed(path, db ? sqlite3_errmsg(db) : "out of memory", db);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);

    int version, r = iocd_query_begin(db, &version);
    if (r == -1)
        return open_failed(path, sqlite3_errmsg(db), db);
    if (r == -2) {
        fprintf(stderr, "iocctl: cannot open database %s: cannot register SQL functions: %s\n",
                path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return EXIT_RUNTIME;
    }
    if (check_version(path, version) != EXIT_OK) {
        sqlite3_close(db);
        return EXIT_RUNTIME;
    }
    *out = db;
    return EXIT_OK;
}
