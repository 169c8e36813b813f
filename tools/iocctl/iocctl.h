/* tools/iocctl/iocctl.h — what iocctl's files share: the command line as
 * parsed, the exit codes, JSON lines and terminal-safe text, text tables,
 * the database connection, and each command's entry point.
 *
 * Owns: nothing; declarations only. One file a command group: main.c
 * (dispatch), args.c (usage, options), values.c (option values), text.c,
 * table.c, db.c (finding and opening the database), config.c (the one
 * place a configuration file is read), series.c, query.c and stats.c,
 * raw.c, events.c, status.c, backup.c (backup and check), users.c (the
 * users file); the HTTP API commands are in api.h. */
#ifndef IOCCTL_H
#define IOCCTL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/base/bbox.h"
#include "daemon/base/buf.h"

#define IOCCTL_MAX_QUANTILES 16     /* --quantile given at most this many times */
#define IOCCTL_N_FIXED_QUANTILES 4  /* p50 p90 p95 p99 */
#define IOCCTL_N_QUANTILES (IOCCTL_N_FIXED_QUANTILES + IOCCTL_MAX_QUANTILES)
#define IOCCTL_TABLE_MAX_COLS (10 + IOCCTL_MAX_QUANTILES)
/* The oldest schema iocctl reads: later versions only added tables iocctl
 * does not read (v3: devices). */
#define IOCCTL_MIN_SCHEMA_VERSION 2
#define IOCCTL_SYSTEM_DB "/var/lib/iocd/iocd.db" /* the database of a system install */

/* Exit codes; the command functions return one of these. */
enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1, /* database problems, unknown series, output errors */
    EXIT_USAGE = 2,   /* bad command line; usage goes to stderr */
    EXIT_CHECK_INTEGRITY = 3, /* check: SQLite's integrity check found damage */
    EXIT_CHECK_SCHEMA = 4,    /* check: not a schema version this iocctl reads */
};

enum iocctl_command {
    CMD_NONE,
    CMD_SERIES,
    CMD_QUERY,
    CMD_RAW,
    CMD_EVENTS,
    CMD_STATUS,
    CMD_TAIL,
    CMD_ALERTS,
    CMD_BACKUP,
    CMD_CHECK,
    CMD_USERS,
    CMD_DEVICES,
};

/* The command line as given (NULL / 0: not given). */
struct iocctl_options {
    const char *db_path;
    const char *config_path;
    const char *match;
    const char *resolution;
    const char *from;
    const char *to;
    bool json;
    enum iocctl_command command;
    const char *series; /* query's and raw's SERIES */
    const char *file;   /* backup's and check's FILE */
    /* backup: how the copy is made */
    const char *method;
    const char *pages;
    const char *pause;
    /* query: rolling windows, extra quantiles */
    const char *rolling;
    const char *step;
    const char *quantiles[IOCCTL_MAX_QUANTILES];
    int n_quantiles;
    /* events' filters */
    const char *source;
    const char *kind;
    const char *area;
    const char *device;
    const char *status;
    const char *min_severity;
    const char *limit;
    /* the HTTP API (tail, alerts, status) */
    const char *url;
    const char *token;
    const char *types;
    const char *count;
    /* alerts ack|assign|resolve ID [--note TEXT] [--to NAME] */
    const char *verb, *alert_id, *note, *assignee;
    /* alerts silence [--rule R] [--source S] [--device D] [--area A] --for DUR --reason TEXT */
    const char *rule, *duration, *reason;
    /* devices [--match P] [--state S] [--area A] [--bbox B] [--registered|--unregistered];
     * events --bbox B */
    const char *state, *bbox;
    bool registered, unregistered;
    /* users add NAME --role ROLE | list | remove NAME  [--file PATH] */
    const char *user_verb, *user_name, *role, *users_file;
};

/* The quantiles query shows: p50, p90, p95, p99, then each --quantile. */
struct iocctl_qlist {
    int n;
    double q[IOCCTL_N_QUANTILES];
    char key[IOCCTL_N_QUANTILES][32];   /* JSON key: "p50", "q0.999" */
    char title[IOCCTL_N_QUANTILES][32]; /* text column: "P50", "Q0.999" */
    bool in_text[IOCCTL_N_QUANTILES];   /* p90 is JSON only */
};

/* Option values parsed by iocctl_values_parse. */
struct iocctl_values {
    int64_t res_s;          /* query: --resolution in seconds, 0: not given */
    int64_t from_ms, to_ms; /* [from, to) */
    int64_t min_severity;   /* events: -1 when not given */
    int64_t limit;          /* events, raw: 0 for no limit */
    bool has_bbox;          /* events --bbox */
    struct iocd_bbox bbox;
    int64_t rolling_ms;     /* query --rolling, 0: not given */
    int64_t step_ms;        /* query --step */
    bool vacuum;            /* backup --method vacuum (else online) */
    int64_t pages;          /* backup: pages copied per step */
    int64_t pause_ms;       /* backup: sleep between steps */
    struct iocctl_qlist ql;
};

/* args.c */
void iocctl_usage_print(FILE *out);
/* "iocctl: MESSAGE", a blank line and the usage on stderr: EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int iocctl_usage_error(const char *fmt, ...);
/* EXIT_OK to run a command, EXIT_USAGE on errors (reported), or -1 when
 * --help or --version was handled. */
int iocctl_args_parse(int argc, char **argv, struct iocctl_options *o);
const char *iocctl_command_name(enum iocctl_command c);

/* values.c: usage-level checks of the option values, before any I/O. */
int iocctl_values_parse(const struct iocctl_options *o, struct iocctl_values *v);
/* Strict decimal int64 (optional leading '-'): 0 or -1. */
int iocctl_i64_parse(const char *s, int64_t *out);
/* tail's --count: a whole number > 0; EXIT_OK or EXIT_USAGE (reported). */
int iocctl_count_parse(const char *s, int64_t *count);
/* A resolution in seconds as "1m", "1h", "90s". */
void iocctl_resolution_format(int64_t res_s, char *buf, size_t n);

/* text.c: names come from devices, so they are escaped for JSON and for
 * the terminal alike. The JSON writers put the ',' between members and
 * elements themselves (none after '{', '[', ':' or at the start). */
void iocctl_json_string(struct iocd_buf *b, const char *s); /* a string literal */
void iocctl_json_double(struct iocd_buf *b, double v);      /* null unless finite */
void iocctl_json_key(struct iocd_buf *b, const char *key);  /* `,"key":` */
void iocctl_json_str(struct iocd_buf *b, const char *key, const char *v);
void iocctl_json_num(struct iocd_buf *b, const char *key, double v);
void iocctl_json_int(struct iocd_buf *b, const char *key, int64_t v);
void iocctl_json_time(struct iocd_buf *b, const char *key, int64_t ms); /* "2026-...Z" */
void iocctl_json_null(struct iocd_buf *b, const char *key);
/* Control characters and invalid UTF-8 as \xNN / \u00NN; with
 * max_width > 3, cut to at most max_width columns ending in "...". */
void iocctl_text_sanitized(struct iocd_buf *b, const char *s, size_t max_width);
/* s sanitized into b (initialised here, freed by the caller), or "?" when
 * memory ran out: for error messages. */
const char *iocctl_text_safe(struct iocd_buf *b, const char *s);
size_t iocctl_text_width(const char *s); /* columns of sanitized text */
/* A double as JSON writes it, or %g for NaN and infinities. */
void iocctl_text_double(struct iocd_buf *b, double v);
/* b and a newline on stdout: EXIT_OK, or EXIT_RUNTIME when b ran out of
 * memory (reported). */
int iocctl_line_write(const struct iocd_buf *b);
int iocctl_oom(void); /* "iocctl: out of memory": EXIT_RUNTIME */
/* A malloc'd copy of s ("" for NULL) the caller frees; NULL when memory
 * ran out. */
char *iocctl_strdup(const char *s);

/* table.c: aligned text tables. */
struct iocctl_table {
    int ncols;
    const char *const *titles;
    const bool *right; /* right-aligned columns */
};
/* Fills cells[0..ncols) from the row at st: 0, or -1 after reporting. */
typedef int (*iocctl_row_fn)(sqlite3_stmt *st, struct iocd_buf *cells, void *ctx);
/* Every row of st, measured in a first pass and printed in a second. */
int iocctl_table_print(sqlite3 *db, sqlite3_stmt *st, const struct iocctl_table *t,
                       iocctl_row_fn format, void *ctx);
void iocctl_table_header(const struct iocctl_table *t, const size_t *width);
/* One row of a two-pass table: pass 0 widens width[], pass 1 prints. */
int iocctl_table_row(const struct iocctl_table *t, const struct iocd_buf *cells, size_t *width,
                     int pass);
/* Writes the row at st as one JSON object into line (empty). */
typedef void (*iocctl_json_row_fn)(struct iocd_buf *line, sqlite3_stmt *st);
/* Every row of st as a JSON line; what names the reading in a database
 * error ("read events"). */
int iocctl_json_rows(sqlite3 *db, sqlite3_stmt *st, iocctl_json_row_fn fn, const char *what);
void iocctl_cells_init(struct iocd_buf *cells, int n);
void iocctl_cells_free(struct iocd_buf *cells, int n);
/* A table whose rows are held (computed rows) until iocctl_texttab_print. */
struct iocctl_texttab {
    const struct iocctl_table *t;
    struct iocd_buf data; /* the cells, NUL-terminated, row after row */
    size_t width[IOCCTL_TABLE_MAX_COLS];
    size_t ncells;
};
void iocctl_texttab_init(struct iocctl_texttab *tt, const struct iocctl_table *t);
void iocctl_texttab_row(struct iocctl_texttab *tt, const struct iocd_buf *cells);
int iocctl_texttab_print(struct iocctl_texttab *tt);
void iocctl_texttab_free(struct iocctl_texttab *tt);

/* config.c: the one place iocctl reads a configuration file. */
struct iocctl_config {
    char *store_path;  /* [store] path, or NULL */
    char *http_listen; /* [http] listen, "" when iocd serves no API */
    char *http_token;  /* [http] token, "" for none */
    char *http_tls_cert; /* [http] tls_cert, "" when iocd serves plain HTTP */
    char *users_file;  /* [http] users_file resolved against the config's directory, "" none */
};
/* 0, or -1 after "iocctl: <why>" on stderr; free with iocctl_config_free. */
int iocctl_load_config(const char *path, struct iocctl_config *cfg);
void iocctl_config_free(struct iocctl_config *cfg);

/* db.c */
int iocctl_db_error(sqlite3 *db, const char *what); /* reports: EXIT_RUNTIME */
int iocctl_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);
const char *iocctl_column_text(sqlite3_stmt *st, int col); /* "" for NULL */
/* The database file (malloc'd): --db, --config's [store] path,
 * $STATE_DIRECTORY/iocd.db, /var/lib/iocd/iocd.db if it exists, ./iocd.db. */
int iocctl_db_path_resolve(const struct iocctl_options *o, char **path);
/* Opens read-only inside one read transaction, schema version checked. */
int iocctl_db_open(const char *path, sqlite3 **out);

/* series.c */
struct iocctl_series {
    const char *name;
    int64_t id;
    char *unit; /* malloc'd by iocctl_series_lookup */
};
/* s->id and s->unit of s->name: EXIT_OK, or EXIT_RUNTIME after reporting
 * (an unknown series too). */
int iocctl_series_lookup(sqlite3 *db, struct iocctl_series *s);

/* The commands: an exit code, errors reported. */
int iocctl_cmd_series(sqlite3 *db, const struct iocctl_options *o);
int iocctl_cmd_query(sqlite3 *db, const struct iocctl_options *o, const struct iocctl_values *v);
int iocctl_cmd_raw(sqlite3 *db, const struct iocctl_options *o, const struct iocctl_values *v);
int iocctl_cmd_events(sqlite3 *db, const struct iocctl_options *o,
                      const struct iocctl_values *v);
int iocctl_cmd_status(sqlite3 *db, const char *path, bool json);
/* backup.c: a consistent copy of db (path, opened by iocctl_db_open, its
 * read transaction still open) into o->file; check FILE on its own. */
int iocctl_cmd_backup(sqlite3 *db, const char *path, const struct iocctl_options *o,
                      const struct iocctl_values *v);
int iocctl_cmd_check(const char *file, bool json);
/* users.c: iocctl users add|list|remove (no database, no API). */
int iocctl_cmd_users(const struct iocctl_options *o);

#endif
