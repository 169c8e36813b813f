/* tools/iocctl.c — iocctl, the operators' command-line view of iocd's
 * SQLite database (docs/storage.md is the schema, docs/iocctl.md the manual).
 *
 * Owns: option parsing, finding and opening the database read-only, and the
 * `series`, `query` (stored windows with their quantiles, or rolling
 * windows merged from stored ones; the reading and merging is daemon/query.c's,
 * shared with the HTTP API), `raw` (samples from the journal),
 * `events` and `status` commands with their text tables and JSON lines. It
 * never writes to the database. Every command runs inside one read
 * transaction so it sees a single snapshot while iocd keeps writing. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sqlite3.h>

#include "daemon/base/buf.h"
#include "daemon/base/severity.h"
#include "daemon/config/config.h"
#include "tools/iocctl_http.h"
#include "daemon/base/error.h"
#include "iocd_build.h"
#include "daemon/query/query.h"
#include "daemon/aggregate/sketch.h"
#include "daemon/store/store.h"
#include "daemon/base/timeutil.h"

#define SCHEMA_VERSION IOCD_SCHEMA_VERSION
/* The oldest schema iocctl reads: later versions only added tables iocctl
 * does not read (v3: devices). */
#define MIN_SCHEMA_VERSION 2
#define DEFAULT_SYSTEM_DB "/var/lib/iocd/iocd.db"
#define BUSY_TIMEOUT_MS 5000
#define MAX_QUANTILES 16 /* --quantile given at most this many times */
#define N_FIXED_QUANTILES 4 /* p50 p90 p95 p99 */
#define TABLE_MAX_COLS (10 + MAX_QUANTILES)
#define EVENTS_DEFAULT_LIMIT 100
#define EVENT_TEXT_MAX_WIDTH 60 /* columns of TEXT in the events table */

/* Exit codes; the command functions return one of these. */
enum {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1, /* database problems, unknown series, output errors */
    EXIT_USAGE = 2,   /* bad command line; usage goes to stderr */
};

enum command {
    CMD_NONE,
    CMD_SERIES,
    CMD_QUERY,
    CMD_RAW,
    CMD_EVENTS,
    CMD_STATUS,
    CMD_TAIL,
    CMD_ALERTS,
};

struct options {
    const char *db_path;
    const char *config_path;
    const char *match;
    const char *resolution;
    const char *from;
    const char *to;
    bool json;
    enum command command;
    const char *series; /* query's and raw's SERIES */
    /* query: rolling windows, extra quantiles (NULL / 0: not given) */
    const char *rolling;
    const char *step;
    const char *quantiles[MAX_QUANTILES];
    int n_quantiles;
    /* events' filters (NULL: not given) */
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
};


/* The quantiles query shows: p50, p90, p95, p99, then each --quantile. */
struct qlist {
    int n;
    double q[N_FIXED_QUANTILES + MAX_QUANTILES];
    char key[N_FIXED_QUANTILES + MAX_QUANTILES][32];   /* JSON key: "p50", "q0.999" */
    char title[N_FIXED_QUANTILES + MAX_QUANTILES][32]; /* text column: "P50", "Q0.999" */
    bool in_text[N_FIXED_QUANTILES + MAX_QUANTILES];   /* p90 is JSON only */
};

/* Option values parsed by parse_values. */
struct values {
    int64_t res_s;          /* query: --resolution in seconds, 0: not given */
    int64_t from_ms, to_ms; /* [from, to) */
    int64_t min_severity;   /* events: -1 when not given */
    int64_t limit;          /* events, raw: 0 for no limit */
    int64_t rolling_ms;     /* query --rolling, 0: not given */
    int64_t step_ms;        /* query --step */
    struct qlist ql;
};

static const char *severity_name(int64_t v)
{
    const char *n = iocd_severity_name(v);
    return n ? n : "unknown";
}

/* ------------------------------------------------------------------------
 * Growable string with a sticky out-of-memory flag: appends after a failed
 * allocation do nothing, callers check `oom` once when the text is done. */

struct strbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static bool sb_reserve(struct strbuf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void sb_append(struct strbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct strbuf *b, const char *s)
{
    sb_append(b, s, strlen(s));
}

static void sb_putc(struct strbuf *b, char c)
{
    sb_append(b, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sb_append(b, small, (size_t)n);
        return;
    }
    if (!sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_clear(struct strbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static const char *sb_str(const struct strbuf *b)
{
    return b->p ? b->p : "";
}

static void sb_free(struct strbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

/* ------------------------------------------------------------------------
 * Text encoding: names come from devices, so they are escaped both for
 * JSON and for the terminal. */

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* A JSON string literal; invalid UTF-8 becomes U+FFFD, control characters
 * (C0 and C1) are \u-escaped so JSON lines are safe on a terminal too. */
static void json_string(struct strbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    sb_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            sb_putc(b, '\\');
            sb_putc(b, (char)c);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\b': sb_puts(b, "\\b"); break;
            case '\f': sb_puts(b, "\\f"); break;
            case '\n': sb_puts(b, "\\n"); break;
            case '\r': sb_puts(b, "\\r"); break;
            case '\t': sb_puts(b, "\\t"); break;
            default: sb_printf(b, "\\u%04x", c); break;
            }
            i++;
        } else {
            size_t len = utf8_seq_len(s + i, n - i);
            if (len == 0) {
                sb_puts(b, "\\ufffd");
                i++;
            } else if (len == 2 && c == 0xC2 && s[i + 1] < 0xA0) {
                sb_printf(b, "\\u%04x", (unsigned)s[i + 1]); /* C1 controls */
                i += 2;
            } else {
                sb_append(b, (const char *)s + i, len);
                i += len;
            }
        }
    }
    sb_putc(b, '"');
}

/* `"key":` */
static void json_key(struct strbuf *b, const char *key)
{
    json_string(b, key);
    sb_putc(b, ':');
}

/* Shortest of %.15g / %.17g that reads back as the same double; null for
 * NaN and infinities, which JSON cannot express. */
static void json_double(struct strbuf *b, double v)
{
    if (!isfinite(v)) {
        sb_puts(b, "null");
        return;
    }
    char tmp[40];
    iocd_json_number(tmp, sizeof(tmp), v);
    sb_puts(b, tmp);
}

static void json_time(struct strbuf *b, int64_t ms)
{
    char tmp[40];
    iocd_time_format(ms, tmp, sizeof(tmp));
    json_string(b, tmp);
}

/* Text for a terminal: control characters (C0, DEL, C1) and invalid UTF-8
 * bytes are shown as \xNN or \u00NN instead of being sent raw. With
 * max_width > 3, a result wider than max_width columns is cut, never inside
 * an escape or a character, to at most max_width - 3 columns plus "...". */
static void text_sanitized_max(struct strbuf *b, const char *str, size_t max_width)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    size_t width = 0, cut = SIZE_MAX; /* b->len where "..." would go */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x20 || c == 0x7f ? 0 : utf8_seq_len(s + i, n - i);
        size_t w;
        if (len == 0) {
            w = 4; /* \xNN */
            len = 1;
        } else if (len == 2 && c == 0xC2 && s[i + 1] < 0xA0) {
            w = 6; /* \u00NN */
        } else {
            w = 1;
        }
        if (max_width > 3 && cut == SIZE_MAX && width + w > max_width - 3)
            cut = b->len;
        if (w == 4)
            sb_printf(b, "\\x%02x", c);
        else if (w == 6)
            sb_printf(b, "\\u%04x", (unsigned)s[i + 1]);
        else
            sb_append(b, (const char *)s + i, len);
        width += w;
        i += len;
    }
    if (max_width > 3 && width > max_width && !b->oom) {
        b->len = cut;
        b->p[cut] = '\0';
        sb_puts(b, "...");
    }
}

static void text_sanitized(struct strbuf *b, const char *str)
{
    text_sanitized_max(b, str, 0);
}

/* Columns a sanitized (valid UTF-8) string takes: one per code point. */
static size_t display_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* ------------------------------------------------------------------------
 * Output helpers. */

static int write_line(const struct strbuf *b)
{
    if (b->oom) {
        fprintf(stderr, "iocctl: out of memory\n");
        return EXIT_RUNTIME;
    }
    fwrite(sb_str(b), 1, b->len, stdout);
    putchar('\n');
    return EXIT_OK;
}

static int db_error(sqlite3 *db, const char *what)
{
    fprintf(stderr, "iocctl: database error (%s): %s\n", what, sqlite3_errmsg(db));
    return EXIT_RUNTIME;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return db_error(db, "prepare");
    }
    return EXIT_OK;
}

static const char *column_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* Text tables: each row is formatted twice (once to measure the columns,
 * once to print), so the output is aligned without holding every row. A
 * formatter returns ROW_OK, or ROW_FAILED after reporting an error; cells
 * that ran out of memory are detected by print_table. */

enum { ROW_OK = 0, ROW_FAILED = -1 };

typedef int (*row_formatter)(sqlite3_stmt *st, struct strbuf *cells, void *ctx);

struct table {
    int ncols;
    const char *const *titles;
    const bool *right; /* right-aligned columns */
};

static void print_cell(const char *s, size_t width, bool right, bool last)
{
    size_t pad = width - display_width(s);
    if (right)
        printf("%*s", (int)pad, "");
    fputs(s, stdout);
    if (!right && !last)
        printf("%*s", (int)pad, "");
    if (!last)
        fputs("  ", stdout);
}

static void table_header(const struct table *t, const size_t *width)
{
    for (int c = 0; c < t->ncols; c++)
        print_cell(t->titles[c], width[c], t->right[c], c == t->ncols - 1);
    putchar('\n');
}

/* One row of a table printed in two passes: pass 0 widens width[] to the
 * cells, pass 1 prints them. EXIT_OK, or EXIT_RUNTIME when a cell ran out
 * of memory (reported). */
static int table_row(const struct table *t, const struct strbuf *cells, size_t *width, int pass)
{
    for (int c = 0; c < t->ncols; c++) {
        if (cells[c].oom) {
            fprintf(stderr, "iocctl: out of memory\n");
            return EXIT_RUNTIME;
        }
    }
    for (int c = 0; c < t->ncols; c++) {
        if (pass == 0) {
            size_t w = display_width(sb_str(&cells[c]));
            if (w > width[c])
                width[c] = w;
        } else {
            print_cell(sb_str(&cells[c]), width[c], t->right[c], c == t->ncols - 1);
        }
    }
    if (pass == 1)
        putchar('\n');
    return EXIT_OK;
}

static int print_table(sqlite3 *db, sqlite3_stmt *st, const struct table *t, row_formatter format,
                       void *ctx)
{
    struct strbuf cells[TABLE_MAX_COLS] = {{0}};
    size_t width[TABLE_MAX_COLS];
    int rc = EXIT_OK;

    for (int c = 0; c < t->ncols; c++)
        width[c] = strlen(t->titles[c]);
    for (int pass = 0; pass < 2 && rc == EXIT_OK; pass++) {
        if (pass == 1) {
            sqlite3_reset(st);
            table_header(t, width);
        }
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            for (int c = 0; c < t->ncols; c++)
                sb_clear(&cells[c]);
            if (format(st, cells, ctx) != ROW_OK || table_row(t, cells, width, pass) != EXIT_OK) {
                rc = EXIT_RUNTIME;
                break;
            }
        }
        if (rc == EXIT_OK && step != SQLITE_DONE)
            rc = db_error(db, "read");
    }
    for (int c = 0; c < t->ncols; c++)
        sb_free(&cells[c]);
    return rc;
}

/* A text table whose rows are computed, not read from a statement: the
 * cells are held (NUL-separated, row after row) until tt_print. */
struct texttab {
    const struct table *t;
    struct strbuf data;
    size_t width[TABLE_MAX_COLS];
    size_t ncells;
};

static void tt_init(struct texttab *tt, const struct table *t)
{
    memset(tt, 0, sizeof(*tt));
    tt->t = t;
    for (int c = 0; c < t->ncols; c++)
        tt->width[c] = strlen(t->titles[c]);
}

/* Appends the cells of one row, cells[0..ncols). */
static void tt_row(struct texttab *tt, const struct strbuf *cells)
{
    for (int c = 0; c < tt->t->ncols; c++) {
        if (cells[c].oom)
            tt->data.oom = true;
        const char *s = sb_str(&cells[c]);
        size_t w = display_width(s);
        if (w > tt->width[c])
            tt->width[c] = w;
        sb_append(&tt->data, s, strlen(s) + 1);
        tt->ncells++;
    }
}

/* Prints the header and every row; EXIT_RUNTIME if memory ran out. */
static int tt_print(struct texttab *tt)
{
    const struct table *t = tt->t;
    if (tt->data.oom) {
        fprintf(stderr, "iocctl: out of memory\n");
        return EXIT_RUNTIME;
    }
    table_header(t, tt->width);
    const char *p = sb_str(&tt->data);
    for (size_t i = 0; i < tt->ncells; i++) {
        int c = (int)(i % (size_t)t->ncols);
        print_cell(p, tt->width[c], t->right[c], c == t->ncols - 1);
        if (c == t->ncols - 1)
            putchar('\n');
        p += strlen(p) + 1;
    }
    return EXIT_OK;
}

static void tt_free(struct texttab *tt)
{
    sb_free(&tt->data);
}

/* ------------------------------------------------------------------------
 * Command-line values. */

/* Strict decimal int64 (optional leading '-'); 0 or -1. */
static int parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* TIME: "now", "-15m" (relative to now), epoch milliseconds (10 or more
 * digits) or ISO-8601. Returns 0 and *ms, or -1. */
static int parse_time_arg(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    if (n == 0)
        return -1;
    if (strcmp(s, "now") == 0) {
        *ms = iocd_now_ms();
        return 0;
    }
    if (s[0] == '-') {
        int64_t d;
        if (iocd_duration_parse(s + 1, &d) != 0)
            return -1;
        *ms = iocd_now_ms() - d;
        return 0;
    }
    if (strspn(s, "0123456789") == n) {
        int64_t v;
        if (n < 10 || parse_i64(s, &v) != 0 || v > IOCD_TIME_MAX_MS)
            return -1;
        *ms = v;
        return 0;
    }
    return iocd_time_parse_iso8601(s, n, 0, ms) == 0 ? 0 : -1;
}

/* Window length as whole seconds > 0 ("1m", "60s", "60", "1h", "1d"). */
static int parse_resolution_arg(const char *s, int64_t *res_s)
{
    int64_t ms;
    if (iocd_duration_parse(s, &ms) != 0 || ms <= 0 || ms % 1000 != 0)
        return -1;
    *res_s = ms / 1000;
    return 0;
}

static void format_resolution(int64_t res_s, char *buf, size_t n)
{
    if (res_s > INT64_MAX / 1000 || res_s <= 0)
        snprintf(buf, n, "%" PRId64 "s", res_s);
    else
        iocd_duration_format(res_s * 1000, buf, n);
}

/* ------------------------------------------------------------------------
 * Usage and option parsing. */

static void print_usage(FILE *out)
{
    fputs("Usage: iocctl [--db PATH | --config FILE] COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  series [--match GLOB] [--json]\n"
          "      List series, ordered by name.\n"
          "  query SERIES [--resolution DUR] [--from TIME] [--to TIME] [--quantile Q]... [--json]\n"
          "      Print the stored windows of one series, ordered by start.\n"
          "  query SERIES --rolling DUR --step DUR [--resolution DUR] [--from TIME] [--to TIME]\n"
          "        [--quantile Q]... [--json]\n"
          "      Rolling windows: every --step, the statistics of the last --rolling,\n"
          "      merged from the stored windows of --resolution.\n"
          "  raw SERIES [--from TIME] [--to TIME] [--limit N] [--json]\n"
          "      Print the raw samples of one series from the journal, by time.\n"
          "  events [--source S] [--kind K] [--area A] [--device D] [--status S]\n"
          "         [--min-severity LEVEL] [--from TIME] [--to TIME] [--limit N] [--json]\n"
          "      Print stored events, newest first.\n"
          "  status [--json]\n"
          "      The running daemon's status from its HTTP API (broker, devices online/\n"
          "      stale/offline, counters, flush); with --db, or when iocd does not\n"
          "      answer, the database summary.\n"
          "  alerts [--from TIME] [--to TIME] [--limit N] [--json]\n"
          "      Active alerts and the raise/clear history, from the HTTP API.\n"
          "  tail [--match PATTERN] [--types LIST] [--count N] [--json]\n"
          "      Follow the live feed (observations, events, alerts, closed windows,\n"
          "      device status) from the HTTP API until interrupted.\n"
          "\n"
          "Options (before or after the command):\n"
          "  --db PATH          database file, opened read-only\n"
          "  --config FILE      use the [store] path of this iocd configuration\n"
          "  --json             JSON output, one object per line\n"
          "  --match GLOB       series: names matching GLOB (SQLite GLOB: * ? [...])\n"
          "  --resolution DUR   query: window length, e.g. 1m, 60s, 1h, 1d\n"
          "                     (default: the finest stored for the series)\n"
          "  --from TIME        query: windows starting at or after TIME;\n"
          "                     events, raw: events, samples at or after TIME;\n"
          "                     rolling: first window end (default: 24 h before --to)\n"
          "  --to TIME          query: windows starting before TIME;\n"
          "                     events, raw: events, samples before TIME;\n"
          "                     rolling: last window end (default: now, rounded up)\n"
          "  --quantile Q       query: also the Q-quantile, 0 <= Q <= 1 (repeatable)\n"
          "  --rolling DUR      query: rolling window length, e.g. 2h, 24h\n"
          "  --step DUR         query: time between rolling window ends, e.g. 1h\n"
          "  --source S, --kind K, --area A, --device D, --status S\n"
          "                     events: only events with exactly this value\n"
          "  --min-severity LEVEL\n"
          "                     events: severity LEVEL or higher, one of unspecified,\n"
          "                     info, warning, minor, major, critical\n"
          "  --limit N          events: at most N events (default 100, 0: no limit);\n"
          "                     raw: at most N samples, the earliest (default 0: no limit)\n"
          "  --url URL          iocd's HTTP API (default: --config's [http] listen, else\n"
          "                     $IOCD_URL, else http://127.0.0.1:8080)\n"
          "  --token TOKEN      bearer token (default: --config's, else $IOCD_TOKEN)\n"
          "  --match PATTERN    tail: MQTT filter over item keys, e.g. 'obs/air/#',\n"
          "                     'alert/#' (docs/api.md)\n"
          "  --types LIST       tail: obs,event,alert,window,status (default: all)\n"
          "  --count N          tail: stop after N items\n"
          "  --version          print the version and exit\n"
          "  -h, --help         print this help and exit\n"
          "\n"
          "TIME: ISO-8601 (2026-11-22T10:00:00Z), epoch milliseconds, 'now',\n"
          "or relative to now: -15m, -24h, -7d.\n"
          "Database: --db, else --config's [store] path, else $STATE_DIRECTORY/iocd.db,\n"
          "else " DEFAULT_SYSTEM_DB " if it exists, else ./iocd.db.\n"
          "Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
          out);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("iocctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    print_usage(stderr);
    return EXIT_USAGE;
}

enum {
    OPT_DB = 256,
    OPT_CONFIG,
    OPT_MATCH,
    OPT_RESOLUTION,
    OPT_FROM,
    OPT_TO,
    OPT_JSON,
    OPT_VERSION,
    OPT_SOURCE,
    OPT_KIND,
    OPT_AREA,
    OPT_DEVICE,
    OPT_STATUS,
    OPT_MIN_SEVERITY,
    OPT_LIMIT,
    OPT_QUANTILE,
    OPT_ROLLING,
    OPT_STEP,
    OPT_URL,
    OPT_TOKEN,
    OPT_TYPES,
    OPT_COUNT,
};

static enum command command_by_name(const char *s)
{
    if (strcmp(s, "series") == 0)
        return CMD_SERIES;
    if (strcmp(s, "query") == 0)
        return CMD_QUERY;
    if (strcmp(s, "raw") == 0)
        return CMD_RAW;
    if (strcmp(s, "events") == 0)
        return CMD_EVENTS;
    if (strcmp(s, "status") == 0)
        return CMD_STATUS;
    if (strcmp(s, "tail") == 0)
        return CMD_TAIL;
    if (strcmp(s, "alerts") == 0)
        return CMD_ALERTS;
    return CMD_NONE;
}

static const char *command_name(enum command c)
{
    switch (c) {
    case CMD_SERIES: return "series";
    case CMD_QUERY: return "query";
    case CMD_RAW: return "raw";
    case CMD_EVENTS: return "events";
    case CMD_STATUS: return "status";
    case CMD_TAIL: return "tail";
    case CMD_ALERTS: return "alerts";
    case CMD_NONE: break;
    }
    return "?";
}

/* Options a command does not take are usage errors, not silently ignored. */
static int check_command_options(const struct options *o)
{
    const struct {
        const char *value, *name;
        bool allowed;
    } opts[] = {
        {o->match, "--match", o->command == CMD_SERIES || o->command == CMD_TAIL},
        {o->resolution, "--resolution", o->command == CMD_QUERY},
        {o->from, "--from",
         o->command == CMD_QUERY || o->command == CMD_RAW || o->command == CMD_EVENTS ||
             o->command == CMD_ALERTS},
        {o->to, "--to",
         o->command == CMD_QUERY || o->command == CMD_RAW || o->command == CMD_EVENTS ||
             o->command == CMD_ALERTS},
        {o->n_quantiles ? o->quantiles[0] : NULL, "--quantile", o->command == CMD_QUERY},
        {o->rolling, "--rolling", o->command == CMD_QUERY},
        {o->step, "--step", o->command == CMD_QUERY},
        {o->source, "--source", o->command == CMD_EVENTS},
        {o->kind, "--kind", o->command == CMD_EVENTS},
        {o->area, "--area", o->command == CMD_EVENTS},
        {o->device, "--device", o->command == CMD_EVENTS},
        {o->status, "--status", o->command == CMD_EVENTS},
        {o->min_severity, "--min-severity", o->command == CMD_EVENTS},
        {o->limit, "--limit",
         o->command == CMD_EVENTS || o->command == CMD_RAW || o->command == CMD_ALERTS},
        {o->types, "--types", o->command == CMD_TAIL},
        {o->count, "--count", o->command == CMD_TAIL},
        {o->url, "--url",
         o->command == CMD_TAIL || o->command == CMD_ALERTS || o->command == CMD_STATUS},
        {o->token, "--token",
         o->command == CMD_TAIL || o->command == CMD_ALERTS || o->command == CMD_STATUS},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (opts[i].value && !opts[i].allowed)
            return usage_error("option %s does not apply to '%s'", opts[i].name,
                               command_name(o->command));
    if (o->step && !o->rolling)
        return usage_error("--step needs --rolling");
    if (o->rolling && !o->step)
        return usage_error("--rolling needs --step");
    return EXIT_OK;
}

/* Returns EXIT_OK to run a command, EXIT_USAGE on errors, or -1 when
 * --help or --version was handled (exit 0). */
static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"match", required_argument, NULL, OPT_MATCH},
        {"resolution", required_argument, NULL, OPT_RESOLUTION},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"source", required_argument, NULL, OPT_SOURCE},
        {"kind", required_argument, NULL, OPT_KIND},
        {"area", required_argument, NULL, OPT_AREA},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"status", required_argument, NULL, OPT_STATUS},
        {"min-severity", required_argument, NULL, OPT_MIN_SEVERITY},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"quantile", required_argument, NULL, OPT_QUANTILE},
        {"rolling", required_argument, NULL, OPT_ROLLING},
        {"step", required_argument, NULL, OPT_STEP},
        {"url", required_argument, NULL, OPT_URL},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"types", required_argument, NULL, OPT_TYPES},
        {"count", required_argument, NULL, OPT_COUNT},
        {"json", no_argument, NULL, OPT_JSON},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *positional[2] = {NULL, NULL};
    int npos = 0;
    const char *extra = NULL;

    opterr = 0;
    /* '-': non-options come back in order as 1, so options may follow the
     * command even under POSIXLY_CORRECT; ':': missing values return ':'. */
    int c;
    while ((c = getopt_long(argc, argv, "-:h", longopts, NULL)) != -1) {
        switch (c) {
        case 1:
            if (npos < 2)
                positional[npos++] = optarg;
            else if (!extra)
                extra = optarg;
            break;
        case OPT_DB: o->db_path = optarg; break;
        case OPT_CONFIG: o->config_path = optarg; break;
        case OPT_MATCH: o->match = optarg; break;
        case OPT_RESOLUTION: o->resolution = optarg; break;
        case OPT_FROM: o->from = optarg; break;
        case OPT_TO: o->to = optarg; break;
        case OPT_SOURCE: o->source = optarg; break;
        case OPT_KIND: o->kind = optarg; break;
        case OPT_AREA: o->area = optarg; break;
        case OPT_DEVICE: o->device = optarg; break;
        case OPT_STATUS: o->status = optarg; break;
        case OPT_MIN_SEVERITY: o->min_severity = optarg; break;
        case OPT_LIMIT: o->limit = optarg; break;
        case OPT_QUANTILE:
            if (o->n_quantiles == MAX_QUANTILES)
                return usage_error("too many --quantile options (at most %d)", MAX_QUANTILES);
            o->quantiles[o->n_quantiles++] = optarg;
            break;
        case OPT_ROLLING: o->rolling = optarg; break;
        case OPT_STEP: o->step = optarg; break;
        case OPT_URL: o->url = optarg; break;
        case OPT_TOKEN: o->token = optarg; break;
        case OPT_TYPES: o->types = optarg; break;
        case OPT_COUNT: o->count = optarg; break;
        case OPT_JSON: o->json = true; break;
        case OPT_VERSION: printf("iocctl %s\n", IOCD_VERSION); return -1;
        case 'h': print_usage(stdout); return -1;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256)
                return usage_error("unknown option -%c", optopt);
            return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    for (; optind < argc; optind++) { /* after "--" */
        if (npos < 2)
            positional[npos++] = argv[optind];
        else if (!extra)
            extra = argv[optind];
    }

    if (npos == 0)
        return usage_error("no command given");
    o->command = command_by_name(positional[0]);
    if (o->command == CMD_NONE)
        return usage_error("unknown command '%s'", positional[0]);
    if (o->command == CMD_QUERY || o->command == CMD_RAW) {
        if (npos < 2)
            return usage_error("%s needs a SERIES name", command_name(o->command));
        o->series = positional[1];
    } else if (npos > 1) {
        extra = positional[1];
    }
    if (extra)
        return usage_error("unexpected argument '%s'", extra);
    if (o->db_path && !*o->db_path)
        return usage_error("--db needs a file name");
    if (o->config_path && !*o->config_path)
        return usage_error("--config needs a file name");
    return check_command_options(o);
}

/* ------------------------------------------------------------------------
 * Finding and opening the database. */

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* systemd may pass several directories separated by ':'; iocd uses the
 * first. Returns a malloc'd path or NULL (out of memory). */
static char *state_directory_db(const char *dirs)
{
    size_t n = strcspn(dirs, ":");
    struct strbuf b = {0};
    sb_append(&b, dirs, n);
    if (n > 0 && dirs[n - 1] != '/')
        sb_putc(&b, '/');
    sb_puts(&b, "iocd.db");
    if (b.oom) {
        sb_free(&b);
        return NULL;
    }
    return b.p;
}

/* Lookup order: --db, --config's [store] path, $STATE_DIRECTORY/iocd.db,
 * /var/lib/iocd/iocd.db if it exists, ./iocd.db. */
static int resolve_db_path(const struct options *o, char **path)
{
    *path = NULL;
    if (o->db_path) {
        *path = dup_string(o->db_path);
    } else if (o->config_path) {
        struct iocd_config cfg;
        struct iocd_error err = {{0}};
        memset(&cfg, 0, sizeof(cfg));
        if (iocd_config_load(&cfg, o->config_path, &err) != 0) {
            fprintf(stderr, "iocctl: %s\n",
                    err.msg[0] ? err.msg : "cannot load the configuration");
            return EXIT_RUNTIME;
        }
        if (cfg.store.path && *cfg.store.path)
            *path = dup_string(cfg.store.path);
        iocd_config_free(&cfg);
        if (!*path) {
            fprintf(stderr, "iocctl: %s: no [store] path\n", o->config_path);
            return EXIT_RUNTIME;
        }
    } else {
        const char *dirs = getenv("STATE_DIRECTORY");
        struct stat sb;
        if (dirs && *dirs)
            *path = state_directory_db(dirs);
        else if (stat(DEFAULT_SYSTEM_DB, &sb) == 0)
            *path = dup_string(DEFAULT_SYSTEM_DB);
        else
            *path = dup_string("./iocd.db");
    }
    if (!*path) {
        fprintf(stderr, "iocctl: out of memory\n");
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

/* Opens read-only (never creates), starts the read transaction every
 * command runs in, and checks the schema version. */
static int open_database(const char *path, sqlite3 **out)
{
    struct stat sb;
    *out = NULL;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "iocctl: cannot open database %s: %s\n", path, strerror(errno));
        return EXIT_RUNTIME;
    }
    if (S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "iocctl: cannot open database %s: %s\n", path, strerror(EISDIR));
        return EXIT_RUNTIME;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "iocctl: cannot open database %s: %s\n", path,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return EXIT_RUNTIME;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);

    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    if (version < 0) {
        fprintf(stderr, "iocctl: cannot open database %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return EXIT_RUNTIME;
    }
    sqlite3_finalize(st);
    /* iocd_sketch_merge, iocd_sketch_union, iocd_sketch_quantile */
    if (iocd_sketch_sqlite_register(db) != SQLITE_OK) {
        fprintf(stderr, "iocctl: cannot open database %s: cannot register SQL functions: %s\n",
                path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return EXIT_RUNTIME;
    }
    if (version < MIN_SCHEMA_VERSION || version > SCHEMA_VERSION) {
        fprintf(stderr,
                "iocctl: database %s has schema version %d; this iocctl reads versions %d to "
                "%d%s\n",
                path, version, MIN_SCHEMA_VERSION, SCHEMA_VERSION,
                version == 0 ? " (not an iocd database, or iocd has not started on it)"
                : version > SCHEMA_VERSION ? " (written by a newer iocd)"
                                           : "");
        sqlite3_close(db);
        return EXIT_RUNTIME;
    }
    *out = db;
    return EXIT_OK;
}

/* ------------------------------------------------------------------------
 * series */

static int format_series_row(sqlite3_stmt *st, struct strbuf *cells, void *ctx)
{
    (void)ctx;
    text_sanitized(&cells[0], column_text(st, 0));
    text_sanitized(&cells[1], column_text(st, 1));
    sb_printf(&cells[2], "%" PRId64, (int64_t)sqlite3_column_int64(st, 2));
    if (sqlite3_column_type(st, 3) == SQLITE_NULL) {
        sb_putc(&cells[3], '-');
    } else {
        char t[40];
        iocd_time_format(sqlite3_column_int64(st, 3), t, sizeof(t));
        sb_puts(&cells[3], t);
    }
    return ROW_OK;
}

static int series_json(sqlite3 *db, sqlite3_stmt *st)
{
    struct strbuf line = {0};
    int rc = EXIT_OK, step;
    while (rc == EXIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        sb_clear(&line);
        sb_putc(&line, '{');
        json_key(&line, "series");
        json_string(&line, column_text(st, 0));
        sb_putc(&line, ',');
        json_key(&line, "source");
        json_string(&line, column_text(st, 1));
        sb_putc(&line, ',');
        json_key(&line, "device");
        json_string(&line, column_text(st, 2));
        sb_putc(&line, ',');
        json_key(&line, "metric");
        json_string(&line, column_text(st, 3));
        sb_putc(&line, ',');
        json_key(&line, "unit");
        json_string(&line, column_text(st, 4));
        sb_putc(&line, '}');
        rc = write_line(&line);
    }
    if (rc == EXIT_OK && step != SQLITE_DONE)
        rc = db_error(db, "read series");
    sb_free(&line);
    return rc;
}

static int cmd_series(sqlite3 *db, const struct options *o)
{
    /* Text: WINDOWS and LAST come from the finest resolution stored for
     * each series (the same windows `query` shows by default). */
    static const char sql_text[] =
        "SELECT s.name, s.unit, count(w.start_ms), max(w.last_ms)"
        " FROM series s LEFT JOIN windows w ON w.series_id = s.id"
        "  AND w.res_s = (SELECT min(x.res_s) FROM windows x WHERE x.series_id = s.id)"
        " WHERE ?1 IS NULL OR s.name GLOB ?1"
        " GROUP BY s.id ORDER BY s.name";
    static const char sql_json[] = "SELECT name, source, device, metric, unit FROM series"
                                   " WHERE ?1 IS NULL OR name GLOB ?1 ORDER BY name";
    static const char *const titles[] = {"NAME", "UNIT", "WINDOWS", "LAST"};
    static const bool right[] = {false, false, true, false};
    static const struct table table = {4, titles, right};

    sqlite3_stmt *st;
    int rc = prepare(db, o->json ? sql_json : sql_text, &st);
    if (rc != EXIT_OK)
        return rc;
    if (o->match)
        sqlite3_bind_text(st, 1, o->match, -1, SQLITE_STATIC);
    if (o->json)
        rc = series_json(db, st);
    else
        rc = print_table(db, st, &table, format_series_row, NULL);
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------------
 * query */

struct query {
    const char *name;
    int64_t id;
    char *unit; /* owned */
    int64_t res_s;
    int64_t from_ms, to_ms; /* [from, to) on start_ms */
    const struct qlist *ql;
};

/* What `query` shows of a window, stored or merged. */
struct stats {
    int64_t count;
    double sum, sumsq, min, max, first, last;
    int64_t first_ms, last_ms;
    bool have_q; /* qv[] holds the quantiles of the qlist */
    double qv[N_FIXED_QUANTILES + MAX_QUANTILES];
};

/* 1 and q->id, q->unit when the series exists, 0 when it does not, -1 on
 * an error (already reported). */
static int find_series(sqlite3 *db, struct query *q)
{
    sqlite3_stmt *st;
    if (prepare(db, "SELECT id, unit FROM series WHERE name = ?1", &st) != EXIT_OK)
        return -1;
    sqlite3_bind_text(st, 1, q->name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int found = 0;
    if (step == SQLITE_ROW) {
        q->id = sqlite3_column_int64(st, 0);
        q->unit = dup_string(column_text(st, 1));
        found = q->unit ? 1 : -1;
        if (!q->unit)
            fprintf(stderr, "iocctl: out of memory\n");
    } else if (step != SQLITE_DONE) {
        db_error(db, "find series");
        found = -1;
    }
    sqlite3_finalize(st);
    return found;
}

/* find_series, reporting an unknown series: EXIT_OK or EXIT_RUNTIME. */
static int lookup_series(sqlite3 *db, struct query *q)
{
    int found = find_series(db, q);
    if (found < 0)
        return EXIT_RUNTIME;
    if (found == 0) {
        struct strbuf name = {0};
        text_sanitized(&name, q->name);
        fprintf(stderr, "iocctl: no such series: %s\n", name.oom ? "?" : sb_str(&name));
        sb_free(&name);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

/* Steps a bound one-row aggregate query (min/max): 1 and *out, 0 when the
 * result is NULL (no rows matched), -1 on a database error (reported). */
static int step_optional_int64(sqlite3 *db, sqlite3_stmt *st, const char *what, int64_t *out)
{
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_error(db, what);
        return -1;
    }
    if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        return 0;
    *out = sqlite3_column_int64(st, 0);
    return 1;
}

/* The stored resolution just above `after` (0 for the finest): 1 and
 * *res_s, 0 when there is none, -1 on a database error. Each call is one
 * index lookup, however many windows the series has. */
static int next_resolution(sqlite3 *db, sqlite3_stmt *st, int64_t id, int64_t after,
                           int64_t *res_s)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, after);
    return step_optional_int64(db, st, "read resolutions", res_s);
}

/* Settles q->res_s. asked: checks the asked one is stored. Otherwise with
 * rolling_ms == 0 the finest stored; with rolling_ms > 0 the coarsest
 * stored that divides both rolling_ms and step_ms. 0 if the series has no
 * windows at all (and none was asked for). */
static int choose_resolution_for(sqlite3 *db, struct query *q, bool asked, int64_t rolling_ms,
                                 int64_t step_ms)
{
    sqlite3_stmt *st;
    int rc = prepare(db,
                     "SELECT min(res_s) FROM windows WHERE series_id = ?1 AND res_s > ?2", &st);
    if (rc != EXIT_OK)
        return rc;
    struct strbuf stored = {0};
    int64_t res = 0, divides = 0;
    bool found = false, any = false;
    int r;
    while ((r = next_resolution(db, st, q->id, res, &res)) == 1) {
        char buf[32];
        any = true;
        if (!asked && !rolling_ms) {
            q->res_s = res;
            found = true;
            break;
        }
        if (asked && res == q->res_s) {
            found = true;
            break;
        }
        if (!asked && res <= INT64_MAX / 1000 && rolling_ms % (res * 1000) == 0 &&
            step_ms % (res * 1000) == 0)
            divides = res;
        format_resolution(res, buf, sizeof(buf));
        sb_printf(&stored, "%s%s", stored.len ? ", " : "", buf);
    }
    sqlite3_finalize(st);
    if (r < 0) {
        rc = EXIT_RUNTIME;
    } else if (!asked && rolling_ms && divides) {
        q->res_s = divides;
    } else if (!asked && !any) {
        q->res_s = 0; /* no windows: nothing to print */
    } else if (!found) {
        struct strbuf name = {0};
        text_sanitized(&name, q->name);
        if (stored.oom || name.oom) {
            fprintf(stderr, "iocctl: out of memory\n");
        } else if (asked) {
            char want[32];
            format_resolution(q->res_s, want, sizeof(want));
            fprintf(stderr, "iocctl: series %s has no %s windows; stored resolutions: %s\n",
                    sb_str(&name), want, stored.len ? sb_str(&stored) : "none");
        } else {
            char roll[32], step[32];
            iocd_duration_format(rolling_ms, roll, sizeof(roll));
            iocd_duration_format(step_ms, step, sizeof(step));
            fprintf(stderr,
                    "iocctl: series %s has no stored resolution that divides --rolling %s and "
                    "--step %s; stored resolutions: %s\n",
                    sb_str(&name), roll, step, sb_str(&stored));
        }
        sb_free(&name);
        rc = EXIT_RUNTIME;
    }
    sb_free(&stored);
    return rc;
}

/* Settles q->res_s: the finest stored when none was asked for (0 if the
 * series has no windows at all), else checks the asked one is stored. */
static int choose_resolution(sqlite3 *db, struct query *q, bool asked)
{
    return choose_resolution_for(db, q, asked, 0, 0);
}

/* "iocctl: series S: the sketch of its 1m window at T is damaged". */
static void report_damaged_sketch(const struct query *q, int64_t start_ms)
{
    struct strbuf name = {0};
    char res[32], t[40];
    text_sanitized(&name, q->name);
    format_resolution(q->res_s, res, sizeof(res));
    iocd_time_format(start_ms, t, sizeof(t));
    fprintf(stderr, "iocctl: series %s: the sketch of its %s window at %s is damaged\n",
            name.oom ? "?" : sb_str(&name), res, t);
    sb_free(&name);
}

/* What `query` shows of a stored or merged window (daemon/query.c reads
 * and merges them): the quantiles of ql, or none (have_q false) when the
 * window has no whole sketch (windows begun before schema version 2). */
static void stats_from_agg(const struct iocd_query_agg *a, const struct qlist *ql,
                           struct stats *s)
{
    s->count = a->count;
    s->sum = a->sum + a->sum_c;
    s->sumsq = a->sumsq + a->sumsq_c;
    s->min = a->min;
    s->max = a->max;
    s->first = a->first;
    s->first_ms = a->first_ms;
    s->last = a->last;
    s->last_ms = a->last_ms;
    s->have_q = true;
    for (int i = 0; i < ql->n && s->have_q; i++)
        s->have_q = iocd_query_agg_quantile(a, ql->q[i], &s->qv[i]) == 0;
}

/* The statistic keys, `"count":...` to `"unit":...`, without braces. */
static void stats_json(struct strbuf *b, const struct stats *s, const struct qlist *ql,
                       const char *unit)
{
    json_key(b, "count");
    sb_printf(b, "%" PRId64, s->count);
    sb_putc(b, ',');
    json_key(b, "sum");
    json_double(b, s->sum);
    sb_putc(b, ',');
    json_key(b, "min");
    json_double(b, s->min);
    sb_putc(b, ',');
    json_key(b, "max");
    json_double(b, s->max);
    sb_putc(b, ',');
    /* docs/storage.md: mean = sum/count, population standard deviation
     * sqrt(max(0, sumsq/count - mean^2)). */
    json_key(b, "mean");
    if (s->count > 0) {
        double mean = s->sum / (double)s->count;
        double var = s->sumsq / (double)s->count - mean * mean;
        json_double(b, mean);
        sb_putc(b, ',');
        json_key(b, "stddev");
        json_double(b, sqrt(var > 0 ? var : 0));
    } else {
        sb_puts(b, "null,");
        json_key(b, "stddev");
        sb_puts(b, "null");
    }
    for (int i = 0; i < ql->n; i++) {
        sb_putc(b, ',');
        json_key(b, ql->key[i]);
        if (s->have_q)
            json_double(b, s->qv[i]);
        else
            sb_puts(b, "null");
    }
    sb_putc(b, ',');
    json_key(b, "first");
    json_double(b, s->first);
    sb_putc(b, ',');
    json_key(b, "first_time");
    json_time(b, s->first_ms);
    sb_putc(b, ',');
    json_key(b, "last");
    json_double(b, s->last);
    sb_putc(b, ',');
    json_key(b, "last_time");
    json_time(b, s->last_ms);
    sb_putc(b, ',');
    json_key(b, "unit");
    json_string(b, unit);
}

/* Text cells COUNT MIN MAX MEAN LAST P50 P95 P99 Q...; returns the number
 * of cells written. */
static int stats_cells(struct strbuf *cells, const struct stats *s, const struct qlist *ql)
{
    int c = 0;
    sb_printf(&cells[c++], "%" PRId64, s->count);
    sb_printf(&cells[c++], "%.6g", s->min);
    sb_printf(&cells[c++], "%.6g", s->max);
    if (s->count > 0)
        sb_printf(&cells[c++], "%.6g", s->sum / (double)s->count);
    else
        sb_putc(&cells[c++], '-');
    sb_printf(&cells[c++], "%.6g", s->last);
    for (int i = 0; i < ql->n; i++) {
        if (!ql->in_text[i])
            continue;
        if (s->have_q)
            sb_printf(&cells[c++], "%.6g", s->qv[i]);
        else
            sb_putc(&cells[c++], '-');
    }
    return c;
}

/* Titles and alignment of a table: `lead` time columns, then the stats. */
static void stats_table(struct table *t, const char **titles, bool *right, const char *const *lead,
                        int n_lead, const struct qlist *ql)
{
    static const char *const stat_titles[] = {"COUNT", "MIN", "MAX", "MEAN", "LAST"};
    int c = 0;
    for (int i = 0; i < n_lead; i++) {
        right[c] = false;
        titles[c++] = lead[i];
    }
    for (size_t i = 0; i < sizeof(stat_titles) / sizeof(stat_titles[0]); i++) {
        right[c] = true;
        titles[c++] = stat_titles[i];
    }
    for (int i = 0; i < ql->n; i++) {
        if (!ql->in_text[i])
            continue;
        right[c] = true;
        titles[c++] = ql->title[i];
    }
    t->ncols = c;
    t->titles = titles;
    t->right = right;
}

static int report_merge_error(const struct query *q, bool nomem)
{
    if (nomem) {
        fprintf(stderr, "iocctl: out of memory\n");
    } else {
        struct strbuf name = {0};
        text_sanitized(&name, q->name);
        fprintf(stderr,
                "iocctl: series %s: cannot merge the sketches of its windows (different "
                "accuracies, or a count overflow)\n",
                name.oom ? "?" : sb_str(&name));
        sb_free(&name);
    }
    return EXIT_RUNTIME;
}

/* Reports why reading q's windows stopped: the exit code. */
static int report_fault(const struct query *q, const struct iocd_query_fault *f)
{
    switch (f->kind) {
    case IOCD_QUERY_FAULT_CALLBACK:
        return f->cb_rc; /* reported already */
    case IOCD_QUERY_FAULT_ROW:
        if (f->nomem)
            fprintf(stderr, "iocctl: out of memory\n");
        else
            report_damaged_sketch(q, f->start_ms);
        return EXIT_RUNTIME;
    case IOCD_QUERY_FAULT_MERGE:
        return report_merge_error(q, f->nomem);
    default:
        fprintf(stderr, "iocctl: database error (read windows): %s\n", f->msg);
        return EXIT_RUNTIME;
    }
}

/* query's output, one stored or rolling window at a time: JSON lines, or
 * a text table. The table of stored windows is measured in a first pass
 * over them (pass 0) and printed in a second, holding no rows; rolling
 * windows cost more to compute, so their rows are held (tt) instead. */
struct window_out {
    const struct query *q;
    const struct values *v; /* rolling: rolling_ms, step_ms */
    bool json, rolling;
    int pass;
    struct table table;
    const char *titles[TABLE_MAX_COLS];
    bool right[TABLE_MAX_COLS];
    size_t width[TABLE_MAX_COLS];
    struct texttab tt;
    struct strbuf line;
    struct strbuf cells[TABLE_MAX_COLS];
};

static void window_out_init(struct window_out *wo, const struct query *q,
                            const struct values *v, bool json, bool rolling)
{
    static const char *const lead[] = {"START", "END"};
    memset(wo, 0, sizeof(*wo));
    wo->q = q;
    wo->v = v;
    wo->json = json;
    wo->rolling = rolling;
    stats_table(&wo->table, wo->titles, wo->right, lead, rolling ? 2 : 1, q->ql);
    for (int c = 0; c < wo->table.ncols; c++)
        wo->width[c] = strlen(wo->titles[c]);
    tt_init(&wo->tt, &wo->table);
}

static void window_out_free(struct window_out *wo)
{
    tt_free(&wo->tt);
    for (int c = 0; c < TABLE_MAX_COLS; c++)
        sb_free(&wo->cells[c]);
    sb_free(&wo->line);
}

static int window_out_json(struct window_out *wo, int64_t start, int64_t end,
                           const struct stats *s)
{
    const struct query *q = wo->q;
    struct strbuf *b = &wo->line;
    sb_clear(b);
    sb_putc(b, '{');
    json_key(b, "series");
    json_string(b, q->name);
    sb_putc(b, ',');
    if (wo->rolling) {
        json_key(b, "rolling_s");
        sb_printf(b, "%" PRId64, wo->v->rolling_ms / 1000);
        sb_putc(b, ',');
        json_key(b, "step_s");
        sb_printf(b, "%" PRId64, wo->v->step_ms / 1000);
        sb_putc(b, ',');
    }
    json_key(b, "resolution_s");
    sb_printf(b, "%" PRId64, q->res_s);
    sb_putc(b, ',');
    json_key(b, "start");
    json_time(b, start);
    sb_putc(b, ',');
    json_key(b, "end");
    json_time(b, end);
    sb_putc(b, ',');
    stats_json(b, s, q->ql, q->unit);
    sb_putc(b, '}');
    return write_line(b);
}

/* iocd_query_window_fn: EXIT_OK, or EXIT_RUNTIME after reporting. */
static int window_out_row(void *ctx, int64_t start, int64_t end, const struct iocd_query_agg *a)
{
    struct window_out *wo = ctx;
    struct stats s;
    stats_from_agg(a, wo->q->ql, &s);
    if (wo->json)
        return window_out_json(wo, start, end, &s);
    char t[40];
    int c = 0;
    for (int i = 0; i < wo->table.ncols; i++)
        sb_clear(&wo->cells[i]);
    iocd_time_format(start, t, sizeof(t));
    sb_puts(&wo->cells[c++], t);
    if (wo->rolling) {
        iocd_time_format(end, t, sizeof(t));
        sb_puts(&wo->cells[c++], t);
    }
    stats_cells(&wo->cells[c], &s, wo->q->ql);
    if (wo->rolling) {
        tt_row(&wo->tt, wo->cells);
        return EXIT_OK;
    }
    return table_row(&wo->table, wo->cells, wo->width, wo->pass);
}

static int print_windows(sqlite3 *db, const struct query *q, const struct values *v, bool json)
{
    struct window_out wo;
    window_out_init(&wo, q, v, json, false);
    struct iocd_query_fault f;
    int rc = EXIT_OK;
    for (wo.pass = json ? 1 : 0; rc == EXIT_OK && wo.pass < 2; wo.pass++) {
        if (wo.pass == 1 && !json)
            table_header(&wo.table, wo.width);
        if (iocd_query_each_window(db, q->id, q->res_s, q->from_ms, q->to_ms, -1, window_out_row,
                                   &wo, &f) != 0)
            rc = report_fault(q, &f);
    }
    window_out_free(&wo);
    return rc;
}

static int cmd_query(sqlite3 *db, const struct options *o, const struct values *v)
{
    struct query q = {.name = o->series,
                      .res_s = v->res_s,
                      .from_ms = v->from_ms,
                      .to_ms = v->to_ms,
                      .ql = &v->ql};
    int rc = lookup_series(db, &q);
    if (rc == EXIT_OK)
        rc = choose_resolution(db, &q, o->resolution != NULL);
    if (rc == EXIT_OK) /* res_s 0 (no windows yet) selects no rows: header only */
        rc = print_windows(db, &q, v, o->json);
    free(q.unit);
    return rc;
}

/* ------------------------------------------------------------------------
 * query --rolling: for every step boundary e, the stored windows of one
 * resolution lying in [e - rolling, e), merged (iocd_query_each_rolling). */

static int cmd_rolling(sqlite3 *db, const struct options *o, const struct values *v)
{
    struct query q = {.name = o->series, .res_s = v->res_s, .ql = &v->ql};
    int rc = lookup_series(db, &q);
    if (rc == EXIT_OK)
        rc = choose_resolution_for(db, &q, o->resolution != NULL, v->rolling_ms, v->step_ms);
    if (rc != EXIT_OK) {
        free(q.unit);
        return rc;
    }
    struct window_out wo;
    window_out_init(&wo, &q, v, o->json, true);
    struct iocd_rolling_query rq = {.series_id = q.id,
                                    .res_s = q.res_s,
                                    .rolling_ms = v->rolling_ms,
                                    .step_ms = v->step_ms,
                                    .from_ms = v->from_ms,
                                    .to_ms = v->to_ms,
                                    .now_ms = iocd_now_ms(),
                                    .limit = INT64_MAX};
    struct iocd_query_fault f;
    if (q.res_s > 0 && /* 0: no windows at all, an empty result */
        iocd_query_each_rolling(db, &rq, window_out_row, &wo, &f) != 0)
        rc = report_fault(&q, &f);
    if (rc == EXIT_OK && !o->json)
        rc = tt_print(&wo.tt);
    window_out_free(&wo);
    free(q.unit);
    return rc;
}

/* ------------------------------------------------------------------------
 * raw: samples from the journal (docs/storage.md): 20 bytes a sample,
 * little-endian series id (u32), observation time (i64 ms), value (f64). */

#define JOURNAL_SAMPLE_BYTES 20

struct raw_sample {
    int64_t t_ms;
    int64_t entry; /* journal.id */
    size_t pos;    /* index in the entry */
    double value;
};

struct raw_samples {
    struct raw_sample *v;
    size_t n, cap;
};

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int raw_cmp(const void *pa, const void *pb)
{
    const struct raw_sample *a = pa, *b = pb;
    if (a->t_ms != b->t_ms)
        return a->t_ms < b->t_ms ? -1 : 1;
    if (a->entry != b->entry)
        return a->entry < b->entry ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The series' samples with time in [from, to), unsorted. Only journal
 * rows whose [first_ms, last_ms] overlaps the range are read; the blob is
 * the last column, so rows skipped are not read past their times. */
static int raw_collect(sqlite3 *db, const struct query *q, const struct values *v,
                       struct raw_samples *out)
{
    sqlite3_stmt *st;
    int rc = prepare(db,
                     "SELECT id, samples FROM journal WHERE last_ms >= ?1 AND first_ms < ?2"
                     " ORDER BY id",
                     &st);
    if (rc != EXIT_OK)
        return rc;
    sqlite3_bind_int64(st, 1, v->from_ms);
    sqlite3_bind_int64(st, 2, v->to_ms);
    int step;
    while (rc == EXIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t entry = sqlite3_column_int64(st, 0);
        const unsigned char *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (len % JOURNAL_SAMPLE_BYTES) {
            fprintf(stderr,
                    "iocctl: journal entry %" PRId64 " is damaged (%zu bytes, not a multiple of "
                    "%d)\n",
                    entry, len, JOURNAL_SAMPLE_BYTES);
            rc = EXIT_RUNTIME;
            break;
        }
        for (size_t off = 0; off < len; off += JOURNAL_SAMPLE_BYTES) {
            const unsigned char *p = blob + off;
            int64_t t = (int64_t)get_le(p + 4, 8);
            if ((int64_t)get_le(p, 4) != q->id || t < v->from_ms || t >= v->to_ms)
                continue;
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 1024;
                struct raw_sample *nv =
                    cap < SIZE_MAX / sizeof(*nv) ? realloc(out->v, cap * sizeof(*nv)) : NULL;
                if (!nv) {
                    fprintf(stderr, "iocctl: out of memory\n");
                    rc = EXIT_RUNTIME;
                    break;
                }
                out->v = nv;
                out->cap = cap;
            }
            uint64_t bits = get_le(p + 12, 8);
            struct raw_sample *s = &out->v[out->n++];
            s->t_ms = t;
            s->entry = entry;
            s->pos = off / JOURNAL_SAMPLE_BYTES;
            memcpy(&s->value, &bits, sizeof(s->value));
        }
    }
    if (rc == EXIT_OK && step != SQLITE_DONE)
        rc = db_error(db, "read journal");
    sqlite3_finalize(st);
    return rc;
}

/* A double as JSON numbers are written (shortest %.15g / %.17g), for text. */
static void text_double(struct strbuf *b, double v)
{
    if (isfinite(v))
        json_double(b, v);
    else
        sb_printf(b, "%g", v);
}

static int cmd_raw(sqlite3 *db, const struct options *o, const struct values *v)
{
    struct query q = {.name = o->series};
    struct raw_samples rs = {0};
    int rc = lookup_series(db, &q);
    if (rc == EXIT_OK)
        rc = raw_collect(db, &q, v, &rs);
    if (rc != EXIT_OK)
        goto out;
    if (rs.n > 1)
        qsort(rs.v, rs.n, sizeof(*rs.v), raw_cmp);
    size_t n = v->limit > 0 && (uint64_t)v->limit < rs.n ? (size_t)v->limit : rs.n;

    static const char *const titles[] = {"TIME", "VALUE"};
    static const bool right[] = {false, true};
    static const struct table table = {2, titles, right};
    struct texttab tt;
    struct strbuf cells[2] = {{0}}, line = {0};
    tt_init(&tt, &table);
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        char t[40];
        iocd_time_format(rs.v[i].t_ms, t, sizeof(t));
        if (o->json) {
            sb_clear(&line);
            sb_putc(&line, '{');
            json_key(&line, "series");
            json_string(&line, q.name);
            sb_putc(&line, ',');
            json_key(&line, "time");
            json_string(&line, t);
            sb_putc(&line, ',');
            json_key(&line, "value");
            json_double(&line, rs.v[i].value);
            sb_putc(&line, '}');
            rc = write_line(&line);
        } else {
            sb_clear(&cells[0]);
            sb_clear(&cells[1]);
            sb_puts(&cells[0], t);
            text_double(&cells[1], rs.v[i].value);
            tt_row(&tt, cells);
        }
    }
    if (rc == EXIT_OK && !o->json)
        rc = tt_print(&tt);
    tt_free(&tt);
    sb_free(&cells[0]);
    sb_free(&cells[1]);
    sb_free(&line);
out:
    free(rs.v);
    free(q.unit);
    return rc;
}

/* ------------------------------------------------------------------------
 * events */

/* Columns of the events SELECT below. */
enum {
    E_ID,
    E_TIME,
    E_RECEIVED,
    E_SOURCE,
    E_KIND,
    E_SEVERITY,
    E_TEXT,
    E_DEVICE,
    E_AREA,
    E_STATUS,
    E_LAT,
    E_LON,
    E_ATTRIBUTES,
};

/* Any JSON value parsed by cJSON, written back with iocctl's own escaping
 * and number format. */
static void json_value(struct strbuf *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        json_string(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        json_double(b, v->valuedouble);
    } else if (cJSON_IsTrue(v)) {
        sb_puts(b, "true");
    } else if (cJSON_IsFalse(v)) {
        sb_puts(b, "false");
    } else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool object = cJSON_IsObject(v);
        sb_putc(b, object ? '{' : '[');
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                sb_putc(b, ',');
            if (object)
                json_key(b, c->string);
            json_value(b, c);
        }
        sb_putc(b, object ? '}' : ']');
    } else {
        sb_puts(b, "null");
    }
}

/* events.attributes is a JSON object of strings (as iocd writes it); it is
 * re-emitted as an object. Text that is not a JSON object (which iocd never
 * writes) gives null. */
static void json_attributes(struct strbuf *b, const char *text)
{
    cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
    if (cJSON_IsObject(v))
        json_value(b, v);
    else
        sb_puts(b, "null");
    cJSON_Delete(v);
}

static void event_json(struct strbuf *b, sqlite3_stmt *st)
{
    sb_putc(b, '{');
    json_key(b, "id");
    sb_printf(b, "%" PRId64, (int64_t)sqlite3_column_int64(st, E_ID));
    sb_putc(b, ',');
    json_key(b, "time");
    json_time(b, sqlite3_column_int64(st, E_TIME));
    sb_putc(b, ',');
    json_key(b, "received");
    json_time(b, sqlite3_column_int64(st, E_RECEIVED));
    sb_putc(b, ',');
    json_key(b, "source");
    json_string(b, column_text(st, E_SOURCE));
    sb_putc(b, ',');
    json_key(b, "kind");
    json_string(b, column_text(st, E_KIND));
    sb_putc(b, ',');
    json_key(b, "severity");
    json_string(b, severity_name(sqlite3_column_int64(st, E_SEVERITY)));
    sb_putc(b, ',');
    json_key(b, "text");
    json_string(b, column_text(st, E_TEXT));
    sb_putc(b, ',');
    json_key(b, "device");
    json_string(b, column_text(st, E_DEVICE));
    sb_putc(b, ',');
    json_key(b, "area");
    json_string(b, column_text(st, E_AREA));
    sb_putc(b, ',');
    json_key(b, "status");
    json_string(b, column_text(st, E_STATUS));
    sb_putc(b, ',');
    json_key(b, "location");
    if (sqlite3_column_type(st, E_LAT) == SQLITE_NULL ||
        sqlite3_column_type(st, E_LON) == SQLITE_NULL) {
        sb_puts(b, "null");
    } else {
        sb_putc(b, '{');
        json_key(b, "lat");
        json_double(b, sqlite3_column_double(st, E_LAT));
        sb_putc(b, ',');
        json_key(b, "lon");
        json_double(b, sqlite3_column_double(st, E_LON));
        sb_putc(b, '}');
    }
    sb_putc(b, ',');
    json_key(b, "attributes");
    json_attributes(b, column_text(st, E_ATTRIBUTES));
    sb_putc(b, '}');
}

/* A table cell: the sanitized value, or "-" when it is empty. */
static void event_cell(struct strbuf *cell, const char *value, size_t max_width)
{
    if (*value)
        text_sanitized_max(cell, value, max_width);
    else
        sb_putc(cell, '-');
}

static int format_event_row(sqlite3_stmt *st, struct strbuf *cells, void *ctx)
{
    (void)ctx;
    char t[40];
    iocd_time_format(sqlite3_column_int64(st, E_TIME), t, sizeof(t));
    sb_puts(&cells[0], t);
    event_cell(&cells[1], column_text(st, E_SOURCE), 0);
    event_cell(&cells[2], column_text(st, E_KIND), 0);
    sb_puts(&cells[3], severity_name(sqlite3_column_int64(st, E_SEVERITY)));
    event_cell(&cells[4], column_text(st, E_AREA), 0);
    event_cell(&cells[5], column_text(st, E_DEVICE), 0);
    event_cell(&cells[6], column_text(st, E_STATUS), 0);
    event_cell(&cells[7], column_text(st, E_TEXT), EVENT_TEXT_MAX_WIDTH);
    return ROW_OK;
}

/* The SELECT for the given filters. Newest first comes straight from an
 * index, so a --limit stops the scan early instead of sorting: with both
 * --source and --kind, events_by_kind (source, kind, time_ms) narrows to
 * that kind's time range; otherwise events_by_time (time_ms). The unary +
 * keeps a lone --source from choosing events_by_kind, which would read all
 * of that source's events and sort them. Ties in time_ms go by id, which
 * both indexes already hold in order (the rowid ends every index entry).
 * Parameters: ?1 source, ?2 kind, ?3 area, ?4 device, ?5 status,
 * ?6 min severity, ?7 from, ?8 to, ?9 limit (-1: none). */
static void events_sql(struct strbuf *sql, const struct options *o, const struct values *v)
{
    sb_puts(sql, "SELECT id, time_ms, received_ms, source, kind, severity, text, device, area,"
                 " status, lat, lon, attributes FROM events"
                 " WHERE time_ms >= ?7 AND time_ms < ?8");
    if (o->source)
        sb_puts(sql, o->kind ? " AND source = ?1" : " AND +source = ?1");
    if (o->kind)
        sb_puts(sql, " AND kind = ?2");
    if (o->area)
        sb_puts(sql, " AND area = ?3");
    if (o->device)
        sb_puts(sql, " AND device = ?4");
    if (o->status)
        sb_puts(sql, " AND status = ?5");
    if (v->min_severity >= 0)
        sb_puts(sql, " AND severity >= ?6");
    sb_puts(sql, " ORDER BY time_ms DESC, id DESC LIMIT ?9");
}

static int cmd_events(sqlite3 *db, const struct options *o, const struct values *v)
{
    static const char *const titles[] = {"TIME", "SOURCE", "KIND",   "SEVERITY",
                                         "AREA", "DEVICE", "STATUS", "TEXT"};
    static const bool right[] = {false, false, false, false, false, false, false, false};
    static const struct table table = {8, titles, right};

    struct strbuf sql = {0};
    events_sql(&sql, o, v);
    if (sql.oom) {
        sb_free(&sql);
        fprintf(stderr, "iocctl: out of memory\n");
        return EXIT_RUNTIME;
    }
    sqlite3_stmt *st;
    int rc = prepare(db, sb_str(&sql), &st);
    sb_free(&sql);
    if (rc != EXIT_OK)
        return rc;
    const char *text[] = {o->source, o->kind, o->area, o->device, o->status};
    for (int i = 0; i < 5; i++)
        if (text[i])
            sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, v->min_severity);
    sqlite3_bind_int64(st, 7, v->from_ms);
    sqlite3_bind_int64(st, 8, v->to_ms);
    sqlite3_bind_int64(st, 9, v->limit > 0 ? v->limit : -1);

    if (!o->json) {
        rc = print_table(db, st, &table, format_event_row, NULL);
    } else {
        struct strbuf line = {0};
        int step;
        while (rc == EXIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
            sb_clear(&line);
            event_json(&line, st);
            rc = write_line(&line);
        }
        if (rc == EXIT_OK && step != SQLITE_DONE)
            rc = db_error(db, "read events");
        sb_free(&line);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------------
 * status */

struct counter {
    char *scope;
    char *name;
    int64_t value;
};

struct counters {
    struct counter *v;
    size_t n, cap;
};

static void counters_free(struct counters *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->v[i].scope);
        free(cs->v[i].name);
    }
    free(cs->v);
    cs->v = NULL;
    cs->n = cs->cap = 0;
}

static int counters_push(struct counters *cs, const char *scope, const char *name, int64_t value)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 32;
        struct counter *v = realloc(cs->v, cap * sizeof(*v));
        if (!v)
            return -1;
        cs->v = v;
        cs->cap = cap;
    }
    struct counter *c = &cs->v[cs->n];
    c->scope = dup_string(scope);
    c->name = dup_string(name);
    c->value = value;
    if (!c->scope || !c->name) {
        free(c->scope);
        free(c->name);
        return -1;
    }
    cs->n++;
    return 0;
}

/* All counters, adapters' scopes by name first, "iocd" last, names sorted. */
static int load_counters(sqlite3 *db, struct counters *cs)
{
    sqlite3_stmt *st;
    int rc = prepare(db,
                     "SELECT scope, name, value FROM counters"
                     " ORDER BY scope = 'iocd', scope, name",
                     &st);
    if (rc != EXIT_OK)
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (counters_push(cs, column_text(st, 0), column_text(st, 1),
                          sqlite3_column_int64(st, 2)) != 0) {
            fprintf(stderr, "iocctl: out of memory\n");
            rc = EXIT_RUNTIME;
            break;
        }
    }
    if (rc == EXIT_OK && step != SQLITE_DONE)
        rc = db_error(db, "read counters");
    sqlite3_finalize(st);
    return rc;
}

#define REJECT_PREFIX "reject."
#define NOTE_PREFIX "note."
static const char *const core_counters[] = {"messages", "accepted", "observations"};
#define N_CORE_COUNTERS (sizeof(core_counters) / sizeof(core_counters[0]))

/* What a counter is, by its name; also the order of the groups shown. */
enum counter_kind { CK_PLAIN, CK_REJECT, CK_NOTE };

static enum counter_kind counter_kind(const char *name)
{
    if (strncmp(name, REJECT_PREFIX, strlen(REJECT_PREFIX)) == 0)
        return CK_REJECT;
    if (strncmp(name, NOTE_PREFIX, strlen(NOTE_PREFIX)) == 0)
        return CK_NOTE;
    return CK_PLAIN;
}

static bool is_core(const char *name)
{
    for (size_t i = 0; i < N_CORE_COUNTERS; i++)
        if (strcmp(name, core_counters[i]) == 0)
            return true;
    return false;
}

/* Calls `emit` for one scope's counters c[0..n) in display order:
 * messages, accepted, observations (for adapters always, as 0 when not
 * stored), the other plain counters by name, then every reject.<reason>,
 * then every note.<name>. */
typedef void (*counter_emitter)(void *ctx, const char *name, int64_t value,
                                enum counter_kind kind);

static void for_each_counter(const struct counter *c, size_t n, bool adapter, counter_emitter emit,
                             void *ctx)
{
    for (size_t k = 0; k < N_CORE_COUNTERS; k++) {
        size_t i = 0;
        while (i < n && strcmp(c[i].name, core_counters[k]) != 0)
            i++;
        if (i < n || adapter)
            emit(ctx, core_counters[k], i < n ? c[i].value : 0, CK_PLAIN);
    }
    for (size_t i = 0; i < n; i++)
        if (!is_core(c[i].name) && counter_kind(c[i].name) == CK_PLAIN)
            emit(ctx, c[i].name, c[i].value, CK_PLAIN);
    for (enum counter_kind kind = CK_REJECT; kind <= CK_NOTE; kind++)
        for (size_t i = 0; i < n; i++)
            if (counter_kind(c[i].name) == kind)
                emit(ctx, c[i].name, c[i].value, kind);
}

struct counter_text {
    struct strbuf *b;
    bool any;
};

/* `messages=10 accepted=9 reject.malformed=1 note.seq_gap=2`; zero
 * rejects and notes are left out. */
static void emit_counter_text(void *ctx, const char *name, int64_t value, enum counter_kind kind)
{
    struct counter_text *t = ctx;
    if (kind != CK_PLAIN && value == 0)
        return;
    if (t->any)
        sb_putc(t->b, ' ');
    t->any = true;
    text_sanitized(t->b, name);
    sb_printf(t->b, "=%" PRId64, value);
}

struct counter_json {
    struct strbuf *b;
    enum counter_kind group; /* CK_PLAIN, or the "rejects"/"notes" object open */
    bool any;                /* something was written in the current group */
};

static const char *const group_keys[] = {[CK_REJECT] = "rejects", [CK_NOTE] = "notes"};
static const char *const group_prefixes[] = {[CK_REJECT] = REJECT_PREFIX,
                                             [CK_NOTE] = NOTE_PREFIX};

/* Closes the group open (if any) and opens the next ones up to `to`, so
 * every group object is written, empty or not, in order. */
static void open_group(struct counter_json *j, enum counter_kind to)
{
    while (j->group < to) {
        if (j->group != CK_PLAIN)
            sb_putc(j->b, '}');
        if (j->group != CK_PLAIN || j->any)
            sb_putc(j->b, ',');
        j->group++;
        json_key(j->b, group_keys[j->group]);
        sb_putc(j->b, '{');
        j->any = false;
    }
}

/* Plain counters as keys, reject.X as key X of "rejects" and note.X as key
 * X of "notes" (all of them, zeros included), in that order. */
static void emit_counter_json(void *ctx, const char *name, int64_t value, enum counter_kind kind)
{
    struct counter_json *j = ctx;
    open_group(j, kind);
    if (j->any)
        sb_putc(j->b, ',');
    j->any = true;
    json_key(j->b, kind == CK_PLAIN ? name : name + strlen(group_prefixes[kind]));
    sb_printf(j->b, "%" PRId64, value);
}

/* `{"messages":10,...,"rejects":{"malformed":1},"notes":{}}`; "rejects" and
 * "notes" are always there. */
static void scope_json(struct strbuf *b, const struct counter *c, size_t n, bool adapter)
{
    struct counter_json j = {.b = b};
    sb_putc(b, '{');
    for_each_counter(c, n, adapter, emit_counter_json, &j);
    open_group(&j, CK_NOTE);
    sb_puts(b, "}}");
}

/* meta value for key: 1 and *out (malloc'd), 0 if absent, -1 on error. */
static int meta_get(sqlite3 *db, const char *key, char **out)
{
    *out = NULL;
    sqlite3_stmt *st;
    if (prepare(db, "SELECT value FROM meta WHERE key = ?1", &st) != EXIT_OK)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int r = 0;
    if (step == SQLITE_ROW) {
        *out = dup_string(column_text(st, 0));
        r = *out ? 1 : -1;
        if (!*out)
            fprintf(stderr, "iocctl: out of memory\n");
    } else if (step != SQLITE_DONE) {
        db_error(db, "read meta");
        r = -1;
    }
    sqlite3_finalize(st);
    return r;
}

/* A meta key holding a time in ms: 1 and *ms, 0 if absent or not a number,
 * -1 on error. */
static int meta_get_time(sqlite3 *db, const char *key, int64_t *ms)
{
    char *v;
    int r = meta_get(db, key, &v);
    if (r == 1 && parse_i64(v, ms) != 0)
        r = 0;
    free(v);
    return r;
}

static int count_series(sqlite3 *db, int64_t *n)
{
    sqlite3_stmt *st;
    if (prepare(db, "SELECT count(*) FROM series", &st) != EXIT_OK)
        return EXIT_RUNTIME;
    int rc = EXIT_OK;
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = db_error(db, "count series");
    sqlite3_finalize(st);
    return rc;
}

/* "2026-11-22T10:59:55Z (5 s ago)", or "never". */
static void text_time_ago(struct strbuf *b, bool have, int64_t ms, int64_t now)
{
    if (!have) {
        sb_puts(b, "never");
        return;
    }
    char t[40];
    iocd_time_format(ms, t, sizeof(t));
    int64_t ago = (now - ms) / 1000;
    if (ago >= 0)
        sb_printf(b, "%s (%" PRId64 " s ago)", t, ago);
    else
        sb_printf(b, "%s (%" PRId64 " s in the future)", t, -ago);
}

struct status {
    const char *path;
    char *version; /* meta iocd_version, or NULL */
    bool have_started, have_flush;
    int64_t started_ms, flush_ms;
    int64_t n_series;
    struct counters counters;
};

/* Length of the run of counters sharing c[i]'s scope. */
static size_t scope_run(const struct counters *cs, size_t i)
{
    size_t j = i;
    while (j < cs->n && strcmp(cs->v[j].scope, cs->v[i].scope) == 0)
        j++;
    return j - i;
}

static void status_json(struct strbuf *b, const struct status *s)
{
    sb_putc(b, '{');
    json_key(b, "database");
    json_string(b, s->path);
    sb_putc(b, ',');
    json_key(b, "schema_version");
    sb_printf(b, "%d", SCHEMA_VERSION);
    sb_putc(b, ',');
    json_key(b, "iocd_version");
    if (s->version)
        json_string(b, s->version);
    else
        sb_puts(b, "null");
    sb_putc(b, ',');
    json_key(b, "last_flush");
    if (s->have_flush)
        json_time(b, s->flush_ms);
    else
        sb_puts(b, "null");
    sb_putc(b, ',');
    json_key(b, "series");
    sb_printf(b, "%" PRId64, s->n_series);
    sb_putc(b, ',');
    json_key(b, "adapters");
    sb_putc(b, '{');
    const struct counters *cs = &s->counters;
    size_t i = 0;
    bool first = true;
    while (i < cs->n && strcmp(cs->v[i].scope, "iocd") != 0) {
        size_t n = scope_run(cs, i);
        if (!first)
            sb_putc(b, ',');
        first = false;
        json_key(b, cs->v[i].scope);
        scope_json(b, &cs->v[i], n, true);
        i += n;
    }
    sb_puts(b, "},");
    json_key(b, "iocd");
    /* the rest (sorted last) is scope "iocd" */
    scope_json(b, i < cs->n ? &cs->v[i] : NULL, cs->n - i, false);
    sb_putc(b, '}');
}

static void status_text_line(struct strbuf *b, int width, const char *label, const char *value)
{
    sb_printf(b, "%-*s %s\n", width, label, value);
}

static void status_text(struct strbuf *b, const struct status *s, int64_t now)
{
    int width = (int)strlen("schema version:");
    const struct counters *cs = &s->counters;
    struct strbuf label = {0}, value = {0};

    for (size_t i = 0; i < cs->n; i += scope_run(cs, i)) {
        sb_clear(&label);
        text_sanitized(&label, cs->v[i].scope);
        int w = (int)display_width(sb_str(&label)) + 1;
        if (w > width)
            width = w;
    }
    text_sanitized(&value, s->path);
    status_text_line(b, width, "database:", sb_str(&value));
    sb_clear(&value);
    sb_printf(&value, "%d", SCHEMA_VERSION);
    status_text_line(b, width, "schema version:", sb_str(&value));
    sb_clear(&value);
    if (s->version)
        text_sanitized(&value, s->version);
    else
        sb_puts(&value, "unknown");
    status_text_line(b, width, "iocd version:", sb_str(&value));
    sb_clear(&value);
    text_time_ago(&value, s->have_started, s->started_ms, now);
    status_text_line(b, width, "started:", sb_str(&value));
    sb_clear(&value);
    text_time_ago(&value, s->have_flush, s->flush_ms, now);
    status_text_line(b, width, "last flush:", sb_str(&value));
    sb_clear(&value);
    sb_printf(&value, "%" PRId64, s->n_series);
    status_text_line(b, width, "series:", sb_str(&value));

    for (size_t i = 0; i < cs->n;) {
        size_t n = scope_run(cs, i);
        bool adapter = strcmp(cs->v[i].scope, "iocd") != 0;
        sb_clear(&label);
        text_sanitized(&label, cs->v[i].scope);
        sb_putc(&label, ':');
        sb_clear(&value);
        struct counter_text t = {.b = &value};
        for_each_counter(&cs->v[i], n, adapter, emit_counter_text, &t);
        /* pad by display width, not bytes, for non-ASCII scope names */
        int pad = width - (int)display_width(sb_str(&label));
        sb_printf(b, "%s%*s %s\n", sb_str(&label), pad > 0 ? pad : 0, "", sb_str(&value));
        i += n;
    }
    if (label.oom || value.oom)
        b->oom = true;
    sb_free(&label);
    sb_free(&value);
}

static int cmd_status(sqlite3 *db, const char *path, bool json)
{
    struct status s = {.path = path};
    int rc = EXIT_RUNTIME;
    int r1 = 0, r2 = 0;
    if (meta_get(db, "iocd_version", &s.version) < 0 ||
        (r1 = meta_get_time(db, "started_ms", &s.started_ms)) < 0 ||
        (r2 = meta_get_time(db, "last_flush_ms", &s.flush_ms)) < 0)
        goto out;
    s.have_started = r1 == 1;
    s.have_flush = r2 == 1;
    if ((rc = count_series(db, &s.n_series)) != EXIT_OK ||
        (rc = load_counters(db, &s.counters)) != EXIT_OK)
        goto out;

    struct strbuf text = {0};
    if (json)
        status_json(&text, &s);
    else
        status_text(&text, &s, iocd_now_ms());
    if (text.oom) {
        fprintf(stderr, "iocctl: out of memory\n");
        rc = EXIT_RUNTIME;
    } else {
        fwrite(sb_str(&text), 1, text.len, stdout);
        if (json)
            putchar('\n');
        rc = EXIT_OK;
    }
    sb_free(&text);
out:
    free(s.version);
    counters_free(&s.counters);
    return rc;
}

/* ------------------------------------------------------------------------ */

/* p50, p90, p95, p99, then each --quantile Q (0 <= Q <= 1) under the key
 * "q%g"; a Q whose key is already there is not repeated. */
static int quantile_list(const struct options *o, struct qlist *ql)
{
    static const struct {
        double q;
        const char *key, *title;
        bool in_text;
    } fixed[N_FIXED_QUANTILES] = {
        {0.5, "p50", "P50", true},
        {0.9, "p90", "P90", false},
        {0.95, "p95", "P95", true},
        {0.99, "p99", "P99", true},
    };
    memset(ql, 0, sizeof(*ql));
    for (int i = 0; i < N_FIXED_QUANTILES; i++) {
        ql->q[i] = fixed[i].q;
        snprintf(ql->key[i], sizeof(ql->key[i]), "%s", fixed[i].key);
        snprintf(ql->title[i], sizeof(ql->title[i]), "%s", fixed[i].title);
        ql->in_text[i] = fixed[i].in_text;
    }
    ql->n = N_FIXED_QUANTILES;
    for (int i = 0; i < o->n_quantiles; i++) {
        const char *a = o->quantiles[i];
        char *end;
        errno = 0;
        double q = strtod(a, &end);
        if (!*a || *end || errno || !(q >= 0 && q <= 1))
            return usage_error("bad --quantile '%s' (expected a number from 0 to 1)", a);
        char key[32];
        snprintf(key, sizeof(key), "q%g", q);
        bool dup = false;
        for (int k = N_FIXED_QUANTILES; k < ql->n; k++)
            dup = dup || strcmp(ql->key[k], key) == 0;
        if (dup)
            continue;
        ql->q[ql->n] = q;
        memcpy(ql->key[ql->n], key, sizeof(key));
        snprintf(ql->title[ql->n], sizeof(ql->title[ql->n]), "Q%g", q);
        ql->in_text[ql->n] = true;
        ql->n++;
    }
    return EXIT_OK;
}

/* Usage-level checks of the option values, before touching the database
 * (options a command does not take are already refused). */
static int parse_values(const struct options *o, struct values *v)
{
    v->res_s = 0;
    v->from_ms = INT64_MIN;
    v->to_ms = INT64_MAX;
    v->min_severity = -1;
    v->limit = o->command == CMD_RAW ? 0 : EVENTS_DEFAULT_LIMIT;
    v->rolling_ms = v->step_ms = 0;
    if (o->resolution && parse_resolution_arg(o->resolution, &v->res_s) != 0)
        return usage_error("bad --resolution '%s' (expected whole seconds: 60s, 1m, 1h, 1d)",
                           o->resolution);
    int64_t s;
    if (o->rolling) {
        if (parse_resolution_arg(o->rolling, &s) != 0 || s > IOCD_TIME_MAX_MS / 1000)
            return usage_error("bad --rolling '%s' (expected whole seconds: 2h, 24h, 7d)",
                               o->rolling);
        v->rolling_ms = s * 1000;
    }
    if (o->step) {
        if (parse_resolution_arg(o->step, &s) != 0 || s > IOCD_TIME_MAX_MS / 1000)
            return usage_error("bad --step '%s' (expected whole seconds: 1m, 1h, 1d)", o->step);
        v->step_ms = s * 1000;
    }
    if (v->rolling_ms && v->res_s &&
        (v->rolling_ms % (v->res_s * 1000) || v->step_ms % (v->res_s * 1000))) {
        char r[32];
        format_resolution(v->res_s, r, sizeof(r));
        return usage_error("--rolling %s and --step %s must be whole multiples of --resolution %s",
                           o->rolling, o->step, r);
    }
    if (quantile_list(o, &v->ql) != EXIT_OK)
        return EXIT_USAGE;
    if (o->from && parse_time_arg(o->from, &v->from_ms) != 0)
        return usage_error("bad --from time '%s' (expected ISO-8601, epoch ms, now or -15m)",
                           o->from);
    if (o->to && parse_time_arg(o->to, &v->to_ms) != 0)
        return usage_error("bad --to time '%s' (expected ISO-8601, epoch ms, now or -15m)",
                           o->to);
    if (o->min_severity) {
        for (int i = 0; iocd_severity_name(i); i++)
            if (strcmp(o->min_severity, iocd_severity_name(i)) == 0)
                v->min_severity = i;
        if (v->min_severity < 0)
            return usage_error("bad --min-severity '%s' (expected unspecified, info, warning, "
                               "minor, major or critical)",
                               o->min_severity);
    }
    if (o->limit && (strspn(o->limit, "0123456789") != strlen(o->limit) ||
                     parse_i64(o->limit, &v->limit) != 0))
        return usage_error("bad --limit '%s' (expected a whole number, 0 for no limit)",
                           o->limit);
    return EXIT_OK;
}

static int run_command(sqlite3 *db, const char *path, const struct options *o,
                       const struct values *v)
{
    switch (o->command) {
    case CMD_SERIES: return cmd_series(db, o);
    case CMD_QUERY: return o->rolling ? cmd_rolling(db, o, v) : cmd_query(db, o, v);
    case CMD_RAW: return cmd_raw(db, o, v);
    case CMD_EVENTS: return cmd_events(db, o, v);
    case CMD_STATUS: return cmd_status(db, path, o->json);
    case CMD_TAIL:
    case CMD_ALERTS:
    case CMD_NONE: break;
    }
    return EXIT_USAGE;
}

/* tail, alerts, and status unless --db: through iocd's HTTP API. Returns
 * an exit code, or -1 to go on with the database. */
static int run_api_command(const struct options *o, const struct values *v)
{
    if (o->command != CMD_TAIL && o->command != CMD_ALERTS &&
        !(o->command == CMD_STATUS && !o->db_path))
        return -1;
    int64_t count = 0;
    if (o->count && (strspn(o->count, "0123456789") != strlen(o->count) ||
                     parse_i64(o->count, &count) != 0 || count <= 0))
        return usage_error("bad --count '%s' (expected a whole number > 0)", o->count);
    struct iocctl_api api;
    int rc = iocctl_api_resolve(&api, o->url, o->token, o->config_path);
    if (rc != EXIT_OK)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    switch (o->command) {
    case CMD_TAIL: rc = iocctl_tail(&api, o->match, o->types, count, o->json); break;
    case CMD_ALERTS: {
        /* Times as the API takes them: epoch ms (relative ones resolved here). */
        char from[32], to[32];
        snprintf(from, sizeof(from), "%" PRId64, v->from_ms);
        snprintf(to, sizeof(to), "%" PRId64, v->to_ms);
        rc = iocctl_alerts(&api, o->from ? from : NULL, o->to ? to : NULL, o->limit, o->json);
        break;
    }
    default:
        rc = iocctl_status_api(&api, o->json);
        if (rc < 0 && !o->url)
            fprintf(stderr, "iocctl: iocd is not answering at %s; status from the database\n",
                    api.base);
        else if (rc < 0) {
            fprintf(stderr, "iocctl: iocd is not answering at %s\n", api.base);
            rc = EXIT_RUNTIME;
        }
        break;
    }
    curl_global_cleanup();
    return rc;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc < 0)
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
    if (rc != EXIT_OK)
        return rc;

    struct values v;
    if ((rc = parse_values(&o, &v)) != EXIT_OK)
        return rc;
    if ((rc = run_api_command(&o, &v)) >= 0)
        return fflush(stdout) == 0 && rc == EXIT_OK ? EXIT_OK : rc ? rc : EXIT_RUNTIME;

    char *path = NULL;
    sqlite3 *db = NULL;
    if ((rc = resolve_db_path(&o, &path)) == EXIT_OK &&
        (rc = open_database(path, &db)) == EXIT_OK) {
        rc = run_command(db, path, &o, &v);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL); /* ends the read transaction */
        sqlite3_close(db);
    }
    free(path);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "iocctl: error writing output: %s\n", strerror(errno));
        if (rc == EXIT_OK)
            rc = EXIT_RUNTIME;
    }
    return rc;
}
