/* tools/iocctl/backup.c — `iocctl backup FILE` and `iocctl check FILE`
 * (docs/backup.md is the manual, with the measured figures).
 *
 * Owns: the backup's connection to FILE.tmp and that file until it is
 * renamed to FILE (removed on failure), and check's read-only connection.
 *
 * backup copies one snapshot while iocd keeps writing: the source (opened
 * by iocctl_db_open) is read inside one read transaction that stays open
 * for the whole copy, so every step of SQLite's online backup API reads the
 * same WAL snapshot and iocd's commits never make it start over; a WAL
 * reader never blocks the writer, so iocd's flush is not held up (its
 * checkpoints stop short of the snapshot until the copy ends, so the WAL
 * grows meanwhile). --method vacuum runs VACUUM INTO instead, in its own
 * read transaction. Never writes to the source database. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/base/buf.h"
#include "daemon/base/schema.h"
#include "daemon/base/timeutil.h"
#include "tools/iocctl/iocctl.h"

#define BUSY_RETRIES 500 /* SQLITE_BUSY steps tolerated, 10 ms apart */
#define CHECK_MAX_ERRORS 10

/* What a backup did, for its report. */
struct backup_report {
    int64_t snapshot_ms; /* wall time of the snapshot the copy holds */
    int64_t pages, page_size, steps, restarts;
    double seconds;
};

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* fsync the file at path, and with dir set its directory: 0 or -1 (errno). */
static int sync_path(const char *path, bool dir)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dir ? dirname(copy) : path, O_RDONLY | (dir ? O_DIRECTORY : 0));
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* The online backup API, n pages a step, pausing between steps: EXIT_OK
 * or EXIT_RUNTIME (reported). */
static int copy_online(sqlite3 *src, sqlite3 *dst, const struct iocctl_values *v,
                       struct backup_report *r)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
        return iocctl_db_error(dst, "backup init");
    int rc, busy = 0, remaining = -1;
    for (;;) {
        rc = sqlite3_backup_step(b, (int)v->pages);
        r->steps++;
        int left = sqlite3_backup_remaining(b);
        if (remaining >= 0 && left > remaining)
            r->restarts++; /* the source changed under the copy: SQLite started over */
        remaining = left;
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            if (++busy > BUSY_RETRIES)
                break;
            sqlite3_sleep(10);
            continue;
        }
        if (rc != SQLITE_OK)
            break;
        if (v->pause_ms > 0)
            sqlite3_sleep((int)v->pause_ms);
    }
    r->pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        return iocctl_db_error(dst, "backup step");
    return EXIT_OK;
}

/* VACUUM INTO tmp, in a read transaction of its own. */
static int copy_vacuum(sqlite3 *src, const char *tmp, struct backup_report *r)
{
    sqlite3_exec(src, "COMMIT", NULL, NULL, NULL); /* VACUUM runs outside a transaction */
    r->snapshot_ms = iocd_now_ms();
    sqlite3_stmt *st;
    int rc = iocctl_db_prepare(src, "VACUUM INTO ?1", &st);
    if (rc != EXIT_OK)
        return rc;
    sqlite3_bind_text(st, 1, tmp, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return iocctl_db_error(src, "VACUUM INTO");
    return EXIT_OK;
}

/* The copy made, tmp in rollback-journal mode (one self-contained file)
 * and its page count: EXIT_OK or EXIT_RUNTIME (reported). */
static int copy_make(sqlite3 *src, const char *tmp, const struct iocctl_values *v,
                     struct backup_report *r)
{
    int rc = EXIT_OK;
    if (v->vacuum && (rc = copy_vacuum(src, tmp, r)) != EXIT_OK)
        return rc;
    sqlite3 *dst = NULL;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | (v->vacuum ? 0 : SQLITE_OPEN_CREATE),
                        NULL) != SQLITE_OK) {
        rc = iocctl_db_error(dst, "open the backup");
    } else {
        if (!v->vacuum)
            rc = copy_online(src, dst, v, r);
        sqlite3_stmt *st = NULL;
        if (rc == EXIT_OK &&
            (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK ||
             iocctl_db_prepare(dst, "PRAGMA page_count", &st) != EXIT_OK ||
             sqlite3_step(st) != SQLITE_ROW))
            rc = iocctl_db_error(dst, "finish the backup");
        else if (rc == EXIT_OK)
            r->pages = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (rc == EXIT_OK && iocctl_db_prepare(dst, "PRAGMA page_size", &st) == EXIT_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            r->page_size = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (sqlite3_close(dst) != SQLITE_OK && rc == EXIT_OK)
        rc = iocctl_db_error(dst, "close the backup");
    return rc;
}

static void backup_print(const struct iocctl_options *o, const char *path,
                         const struct backup_report *r)
{
    struct iocd_buf b;
    iocd_buf_init(&b);
    int64_t bytes = r->pages * r->page_size;
    if (o->json) {
        iocd_buf_puts(&b, "{");
        iocctl_json_str(&b, "file", o->file);
        iocctl_json_str(&b, "source", path);
        iocctl_json_str(&b, "method", o->method ? o->method : "online");
        iocctl_json_time(&b, "snapshot", r->snapshot_ms);
        iocctl_json_int(&b, "snapshot_ms", r->snapshot_ms);
        iocctl_json_int(&b, "pages", r->pages);
        iocctl_json_int(&b, "bytes", bytes);
        iocctl_json_int(&b, "steps", r->steps);
        iocctl_json_int(&b, "restarts", r->restarts);
        iocctl_json_num(&b, "seconds", r->seconds);
        iocd_buf_puts(&b, "}");
    } else {
        char when[40];
        iocd_time_format(r->snapshot_ms, when, sizeof(when));
        iocd_buf_puts(&b, "backup ");
        iocctl_text_sanitized(&b, o->file, 0);
        iocd_buf_printf(&b, ": %" PRId64 " pages, %.1f MiB in %.2f s, snapshot of %s", r->pages,
                        (double)bytes / 1048576.0, r->seconds, when);
    }
    iocctl_line_write(&b);
    iocd_buf_free(&b);
}

int iocctl_cmd_backup(sqlite3 *db, const char *path, const struct iocctl_options *o,
                      const struct iocctl_values *v)
{
    struct iocd_buf safe, tmp;
    struct stat sb;
    if (lstat(o->file, &sb) == 0 || errno != ENOENT) {
        fprintf(stderr, "iocctl: backup: %s: %s\n", iocctl_text_safe(&safe, o->file),
                errno == ENOENT ? "exists; give a new file name" : strerror(errno));
        iocd_buf_free(&safe);
        return EXIT_RUNTIME;
    }
    iocd_buf_init(&tmp);
    iocd_buf_printf(&tmp, "%s.tmp", o->file);
    if (tmp.oom) {
        iocd_buf_free(&tmp);
        return iocctl_oom();
    }
    unlink(tmp.p); /* a copy an interrupted backup left */
    struct backup_report r = {0};
    double t0 = monotonic_seconds();
    int rc = EXIT_OK;
    if (!v->vacuum) {
        /* A fresh snapshot, begun just after snapshot_ms: the copy holds
         * every flush committed before that time. */
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        r.snapshot_ms = iocd_now_ms();
        if (sqlite3_exec(db, "BEGIN; SELECT COUNT(*) FROM sqlite_schema", NULL, NULL, NULL) !=
            SQLITE_OK)
            rc = iocctl_db_error(db, "begin the snapshot");
    }
    if (rc == EXIT_OK)
        rc = copy_make(db, tmp.p, v, &r);
    if (rc == EXIT_OK && (sync_path(tmp.p, false) != 0 || rename(tmp.p, o->file) != 0 ||
                          sync_path(o->file, true) != 0)) {
        fprintf(stderr, "iocctl: backup: %s: %s\n", iocctl_text_safe(&safe, o->file),
                strerror(errno));
        iocd_buf_free(&safe);
        rc = EXIT_RUNTIME;
    }
    r.seconds = monotonic_seconds() - t0;
    if (rc != EXIT_OK)
        unlink(tmp.p);
    iocd_buf_free(&tmp);
    if (rc == EXIT_OK)
        backup_print(o, path, &r);
    return rc;
}

/* What check found. */
struct check_report {
    const char *file;
    int version;
    bool intact;
    bool counted; /* the counts and newest windows were read */
    int64_t series, windows, events, journal;
    int n_res;
    int64_t res_s[8], newest_ms[8]; /* the newest window start of each resolution */
};

/* One number a query returns, or -1. */
static int64_t query_i64(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* PRAGMA integrity_check: c->intact, each problem on stderr (at most
 * CHECK_MAX_ERRORS): EXIT_OK, or EXIT_RUNTIME when it could not run. */
static int check_integrity(sqlite3 *db, struct check_report *c)
{
    sqlite3_stmt *st;
    if (iocctl_db_prepare(db, "PRAGMA integrity_check(10)", &st) != EXIT_OK)
        return EXIT_RUNTIME;
    int s, n = 0;
    c->intact = false;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = iocctl_column_text(st, 0);
        if (n == 0 && strcmp(line, "ok") == 0) {
            c->intact = true;
        } else if (n < CHECK_MAX_ERRORS) {
            /* One problem a line ("*** in database main ***\nOn tree page ...") */
            for (const char *p = line; *p;) {
                size_t len = strcspn(p, "\n");
                char *part = strndup(p, len);
                struct iocd_buf safe;
                if (len)
                    fprintf(stderr, "iocctl: check: %s\n",
                            part ? iocctl_text_safe(&safe, part) : "?");
                if (len && part)
                    iocd_buf_free(&safe);
                free(part);
                p += len + (p[len] == '\n');
            }
        }
        n++;
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return iocctl_db_error(db, "integrity check");
    return EXIT_OK;
}

/* Row counts and the newest window of each resolution. */
static int check_contents(sqlite3 *db, struct check_report *c)
{
    c->series = query_i64(db, "SELECT COUNT(*) FROM series");
    c->windows = query_i64(db, "SELECT COUNT(*) FROM windows");
    c->events = query_i64(db, "SELECT COUNT(*) FROM events");
    c->journal = query_i64(db, "SELECT COUNT(*) FROM journal");
    if (c->series < 0 || c->windows < 0 || c->events < 0 || c->journal < 0)
        return iocctl_db_error(db, "count rows");
    sqlite3_stmt *st;
    if (iocctl_db_prepare(db, "SELECT res_s, MAX(start_ms) FROM windows GROUP BY res_s "
                              "ORDER BY res_s", &st) != EXIT_OK)
        return EXIT_RUNTIME;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW && c->n_res < 8) {
        c->res_s[c->n_res] = sqlite3_column_int64(st, 0);
        c->newest_ms[c->n_res++] = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE && s != SQLITE_ROW)
        return iocctl_db_error(db, "read the newest windows");
    c->counted = true;
    return EXIT_OK;
}

static void check_print(const struct check_report *c, bool json)
{
    struct iocd_buf b;
    iocd_buf_init(&b);
    char res[32], when[40];
    if (json) {
        iocd_buf_puts(&b, "{");
        iocctl_json_str(&b, "file", c->file);
        iocctl_json_str(&b, "integrity", c->intact ? "ok" : "damaged");
        iocctl_json_int(&b, "schema_version", c->version);
        if (!c->counted) {
            iocd_buf_puts(&b, "}");
            iocctl_line_write(&b);
            iocd_buf_free(&b);
            return;
        }
        iocctl_json_int(&b, "series", c->series);
        iocctl_json_int(&b, "windows", c->windows);
        iocctl_json_int(&b, "events", c->events);
        iocctl_json_int(&b, "journal", c->journal);
        iocctl_json_key(&b, "newest");
        iocd_buf_puts(&b, "{");
        for (int i = 0; i < c->n_res; i++) {
            iocctl_resolution_format(c->res_s[i], res, sizeof(res));
            iocctl_json_time(&b, res, c->newest_ms[i]);
        }
        iocd_buf_puts(&b, "}}");
        iocctl_line_write(&b);
        iocd_buf_free(&b);
        return;
    }
    iocd_buf_puts(&b, "file           ");
    iocctl_text_sanitized(&b, c->file, 0);
    iocd_buf_printf(&b, "\nintegrity      %s\nschema version %d (this iocctl reads %d to %d)",
                    c->intact ? "ok" : "damaged", c->version, IOCCTL_MIN_SCHEMA_VERSION,
                    IOCD_SCHEMA_VERSION);
    if (c->counted)
        iocd_buf_printf(&b, "\nseries         %" PRId64 "\nwindows        %" PRId64
                            "\nevents         %" PRId64 "\njournal rows   %" PRId64,
                        c->series, c->windows, c->events, c->journal);
    for (int i = 0; i < c->n_res; i++) {
        iocctl_resolution_format(c->res_s[i], res, sizeof(res));
        iocd_time_format(c->newest_ms[i], when, sizeof(when));
        iocd_buf_printf(&b, "\nnewest %-7s %s", res, when);
    }
    iocctl_line_write(&b);
    iocd_buf_free(&b);
}

int iocctl_cmd_check(const char *file, bool json)
{
    struct check_report c = {.file = file};
    struct stat sb;
    struct iocd_buf safe;
    int st = stat(file, &sb);
    if (st != 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "iocctl: check: %s: %s\n", iocctl_text_safe(&safe, file),
                st != 0 ? strerror(errno) : "not a regular file");
        iocd_buf_free(&safe);
        return EXIT_RUNTIME;
    }
    sqlite3 *db = NULL;
    int rc = EXIT_OK;
    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        rc = iocctl_db_error(db, "open");
    else if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
             (c.version = (int)query_i64(db, "PRAGMA user_version")) < 0)
        rc = iocctl_db_error(db, "read the schema version");
    if (rc == EXIT_OK)
        rc = check_integrity(db, &c);
    if (rc == EXIT_OK && c.intact && c.version >= IOCCTL_MIN_SCHEMA_VERSION &&
        c.version <= IOCD_SCHEMA_VERSION)
        rc = check_contents(db, &c);
    if (rc == EXIT_OK) {
        check_print(&c, json);
        if (!c.intact)
            rc = EXIT_CHECK_INTEGRITY;
        else if (c.version < IOCCTL_MIN_SCHEMA_VERSION || c.version > IOCD_SCHEMA_VERSION) {
            fprintf(stderr, "iocctl: check: schema version %d; this iocctl reads %d to %d%s\n",
                    c.version, IOCCTL_MIN_SCHEMA_VERSION, IOCD_SCHEMA_VERSION,
                    c.version == 0 ? " (not an iocd database)" : " (written by a newer iocd)");
            rc = EXIT_CHECK_SCHEMA;
        }
    }
    sqlite3_close(db);
    return rc;
}
