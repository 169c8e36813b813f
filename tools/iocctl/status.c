/* tools/iocctl/status.c — `iocctl status` from the database (with --db, or
 * when iocd does not answer over HTTP): the database, its schema and iocd
 * version, start and last flush, the number of series and every counter
 * by scope, as text or one JSON object.
 *
 * Owns: the counters and meta values read for one run (freed before it
 * returns). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "daemon/base/schema.h"
#include "daemon/base/timeutil.h"
#include "tools/iocctl/iocctl.h"

#define REJECT_PREFIX "reject."
#define NOTE_PREFIX "note."

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
    c->scope = iocctl_strdup(scope);
    c->name = iocctl_strdup(name);
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
    int rc = iocctl_db_prepare(db,
                               "SELECT scope, name, value FROM counters"
                               " ORDER BY scope = 'iocd', scope, name",
                               &st);
    if (rc != EXIT_OK)
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (counters_push(cs, iocctl_column_text(st, 0), iocctl_column_text(st, 1),
                          sqlite3_column_int64(st, 2)) != 0) {
            rc = iocctl_oom();
            break;
        }
    }
    if (rc == EXIT_OK && step != SQLITE_DONE)
        rc = iocctl_db_error(db, "read counters");
    sqlite3_finalize(st);
    return rc;
}

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

/* `messages=10 accepted=9 reject.malformed=1 note.seq_gap=2`; zero
 * rejects and notes are left out. */
static void emit_counter_text(void *ctx, const char *name, int64_t value, enum counter_kind kind)
{
    struct iocd_buf *b = ctx;
    if (kind != CK_PLAIN && value == 0)
        return;
    if (b->len)
        iocd_buf_puts(b, " ");
    iocctl_text_sanitized(b, name, 0);
    iocd_buf_printf(b, "=%" PRId64, value);
}

struct counter_json {
    struct iocd_buf *b;
    enum counter_kind group; /* CK_PLAIN, or the "rejects"/"notes" object open */
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
            iocd_buf_puts(j->b, "}");
        j->group++;
        iocctl_json_key(j->b, group_keys[j->group]);
        iocd_buf_puts(j->b, "{");
    }
}

/* Plain counters as keys, reject.X as key X of "rejects" and note.X as key
 * X of "notes" (all of them, zeros included), in that order. */
static void emit_counter_json(void *ctx, const char *name, int64_t value, enum counter_kind kind)
{
    struct counter_json *j = ctx;
    open_group(j, kind);
    iocctl_json_int(j->b, kind == CK_PLAIN ? name : name + strlen(group_prefixes[kind]), value);
}

/* `{"messages":10,...,"rejects":{"malformed":1},"notes":{}}`; "rejects" and
 * "notes" are always there. */
static void scope_json(struct iocd_buf *b, const struct counter *c, size_t n, bool adapter)
{
    struct counter_json j = {.b = b};
    iocd_buf_puts(b, "{");
    for_each_counter(c, n, adapter, emit_counter_json, &j);
    open_group(&j, CK_NOTE);
    iocd_buf_puts(b, "}}");
}

/* Length of the run of counters sharing c[i]'s scope. */
static size_t scope_run(const struct counters *cs, size_t i)
{
    size_t j = i;
    while (j < cs->n && strcmp(cs->v[j].scope, cs->v[i].scope) == 0)
        j++;
    return j - i;
}

/* meta value for key: 1 and *out (malloc'd), 0 if absent, -1 on error
 * (reported). */
static int meta_get(sqlite3 *db, const char *key, char **out)
{
    *out = NULL;
    sqlite3_stmt *st;
    if (iocctl_db_prepare(db, "SELECT value FROM meta WHERE key = ?1", &st) != EXIT_OK)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int r = 0;
    if (step == SQLITE_ROW) {
        *out = iocctl_strdup(iocctl_column_text(st, 0));
        r = *out ? 1 : -1;
        if (!*out)
            iocctl_oom();
    } else if (step != SQLITE_DONE) {
        iocctl_db_error(db, "read meta");
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
    if (r == 1 && iocctl_i64_parse(v, ms) != 0)
        r = 0;
    free(v);
    return r;
}

static int count_series(sqlite3 *db, int64_t *n)
{
    sqlite3_stmt *st;
    if (iocctl_db_prepare(db, "SELECT count(*) FROM series", &st) != EXIT_OK)
        return EXIT_RUNTIME;
    int rc = EXIT_OK;
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = iocctl_db_error(db, "count series");
    sqlite3_finalize(st);
    return rc;
}

struct status {
    const char *path;
    char *version; /* meta iocd_version, or NULL */
    bool have_started, have_flush;
    int64_t started_ms, flush_ms;
    int64_t n_series;
    struct counters counters;
};

/* Everything status shows, from the database: EXIT_OK or EXIT_RUNTIME
 * (reported); s is freed by status_free either way. */
static int status_load(sqlite3 *db, struct status *s)
{
    int r1 = 0, r2 = 0;
    if (meta_get(db, "iocd_version", &s->version) < 0 ||
        (r1 = meta_get_time(db, "started_ms", &s->started_ms)) < 0 ||
        (r2 = meta_get_time(db, "last_flush_ms", &s->flush_ms)) < 0)
        return EXIT_RUNTIME;
    s->have_started = r1 == 1;
    s->have_flush = r2 == 1;
    int rc = count_series(db, &s->n_series);
    return rc == EXIT_OK ? load_counters(db, &s->counters) : rc;
}

static void status_free(struct status *s)
{
    free(s->version);
    counters_free(&s->counters);
}

static void status_json(struct iocd_buf *b, const struct status *s)
{
    iocd_buf_puts(b, "{");
    iocctl_json_str(b, "database", s->path);
    iocctl_json_int(b, "schema_version", IOCD_SCHEMA_VERSION);
    if (s->version)
        iocctl_json_str(b, "iocd_version", s->version);
    else
        iocctl_json_null(b, "iocd_version");
    if (s->have_flush)
        iocctl_json_time(b, "last_flush", s->flush_ms);
    else
        iocctl_json_null(b, "last_flush");
    iocctl_json_int(b, "series", s->n_series);
    iocctl_json_key(b, "adapters");
    iocd_buf_puts(b, "{");
    const struct counters *cs = &s->counters;
    size_t i = 0;
    while (i < cs->n && strcmp(cs->v[i].scope, "iocd") != 0) {
        size_t n = scope_run(cs, i);
        iocctl_json_key(b, cs->v[i].scope);
        scope_json(b, &cs->v[i], n, true);
        i += n;
    }
    iocd_buf_puts(b, "}");
    /* the rest (sorted last) is scope "iocd" */
    iocctl_json_key(b, "iocd");
    scope_json(b, i < cs->n ? &cs->v[i] : NULL, cs->n - i, false);
    iocd_buf_puts(b, "}");
}

/* "2026-11-22T10:59:55Z (5 s ago)", or "never". */
static void text_time_ago(struct iocd_buf *b, bool have, int64_t ms, int64_t now)
{
    if (!have) {
        iocd_buf_puts(b, "never");
        return;
    }
    char t[40];
    iocd_time_format(ms, t, sizeof(t));
    int64_t ago = (now - ms) / 1000;
    if (ago >= 0)
        iocd_buf_printf(b, "%s (%" PRId64 " s ago)", t, ago);
    else
        iocd_buf_printf(b, "%s (%" PRId64 " s in the future)", t, -ago);
}

/* `LABEL  VALUE` padded to width columns (by display width, not bytes, for
 * non-ASCII scope names); value is emptied for the next line, its running
 * out of memory passed on to b. */
static void status_line(struct iocd_buf *b, int width, const char *label, struct iocd_buf *value)
{
    int pad = width - (int)iocctl_text_width(label);
    iocd_buf_printf(b, "%s%*s %s\n", label, pad > 0 ? pad : 0, "", value->p);
    if (value->oom)
        b->oom = true;
    iocd_buf_reset(value);
}

/* The label column: "schema version:" or the widest "scope:". */
static int status_label_width(const struct counters *cs, struct iocd_buf *label)
{
    int width = (int)strlen("schema version:");
    for (size_t i = 0; i < cs->n; i += scope_run(cs, i)) {
        iocd_buf_reset(label);
        iocctl_text_sanitized(label, cs->v[i].scope, 0);
        iocd_buf_puts(label, ":");
        int w = (int)iocctl_text_width(label->p);
        if (w > width)
            width = w;
    }
    return width;
}

static void status_text(struct iocd_buf *b, const struct status *s, int64_t now)
{
    const struct counters *cs = &s->counters;
    struct iocd_buf label, value;
    iocd_buf_init(&label);
    iocd_buf_init(&value);
    int width = status_label_width(cs, &label);
    if (label.oom)
        b->oom = true;

    iocctl_text_sanitized(&value, s->path, 0);
    status_line(b, width, "database:", &value);
    iocd_buf_printf(&value, "%d", IOCD_SCHEMA_VERSION);
    status_line(b, width, "schema version:", &value);
    if (s->version)
        iocctl_text_sanitized(&value, s->version, 0);
    else
        iocd_buf_puts(&value, "unknown");
    status_line(b, width, "iocd version:", &value);
    text_time_ago(&value, s->have_started, s->started_ms, now);
    status_line(b, width, "started:", &value);
    text_time_ago(&value, s->have_flush, s->flush_ms, now);
    status_line(b, width, "last flush:", &value);
    iocd_buf_printf(&value, "%" PRId64, s->n_series);
    status_line(b, width, "series:", &value);

    for (size_t i = 0; i < cs->n; i += scope_run(cs, i)) {
        iocd_buf_reset(&label);
        iocctl_text_sanitized(&label, cs->v[i].scope, 0);
        iocd_buf_puts(&label, ":");
        if (label.oom)
            b->oom = true;
        for_each_counter(&cs->v[i], scope_run(cs, i), strcmp(cs->v[i].scope, "iocd") != 0,
                         emit_counter_text, &value);
        status_line(b, width, label.p, &value);
    }
    iocd_buf_free(&label);
    iocd_buf_free(&value);
}

int iocctl_cmd_status(sqlite3 *db, const char *path, bool json)
{
    struct status s = {.path = path};
    struct iocd_buf text;
    iocd_buf_init(&text);
    int rc = status_load(db, &s);
    if (rc == EXIT_OK) {
        if (json)
            status_json(&text, &s);
        else
            status_text(&text, &s, iocd_now_ms());
        if (text.oom) {
            rc = iocctl_oom();
        } else {
            fwrite(text.p, 1, text.len, stdout);
            if (json)
                putchar('\n');
        }
    }
    iocd_buf_free(&text);
    status_free(&s);
    return rc;
}
