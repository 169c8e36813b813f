/* tools/iocctl/query.c — `iocctl query`: the stored windows of one series
 * with their quantiles, or with --rolling the rolling windows merged from
 * stored ones, as a text table or JSON lines. Finding the series, its
 * stored resolutions, reading and merging the windows are daemon/query's,
 * shared with the HTTP API; this file chooses and words.
 *
 * Owns: the unit of the series looked up, and the output buffers of one
 * run (struct window_out). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "daemon/base/json_text.h"
#include "daemon/base/timeutil.h"
#include "daemon/query/query.h"
#include "daemon/query/states.h"
#include "tools/iocctl/iocctl.h"
#include "tools/iocctl/stats.h"

struct query {
    struct iocctl_series s;
    int64_t res_s;
    const struct iocctl_values *v;
};

/* "1m, 1h": the stored resolutions, for messages. */
static void resolutions_text(struct iocd_buf *b, const struct iocd_query_resolutions *r)
{
    for (int i = 0; i < r->n; i++) {
        char buf[32];
        iocctl_resolution_format(r->res_s[i], buf, sizeof(buf));
        iocd_buf_printf(b, "%s%s", i ? ", " : "", buf);
    }
}

/* No stored resolution fits what was asked: reported, EXIT_RUNTIME. */
static int report_no_resolution(const struct query *q, const struct iocd_query_resolutions *r,
                                int64_t asked_s)
{
    struct iocd_buf stored, name;
    iocd_buf_init(&stored);
    resolutions_text(&stored, r);
    const char *n = iocctl_text_safe(&name, q->s.name);
    if (stored.oom || name.oom) {
        iocctl_oom();
    } else if (asked_s) {
        char want[32];
        iocctl_resolution_format(asked_s, want, sizeof(want));
        fprintf(stderr, "iocctl: series %s has no %s windows; stored resolutions: %s\n", n, want,
                stored.len ? stored.p : "none");
    } else {
        char roll[32], step[32];
        iocd_duration_format(q->v->rolling_ms, roll, sizeof(roll));
        iocd_duration_format(q->v->step_ms, step, sizeof(step));
        fprintf(stderr,
                "iocctl: series %s has no stored resolution that divides --rolling %s and "
                "--step %s; stored resolutions: %s\n",
                n, roll, step, stored.p);
    }
    iocd_buf_free(&name);
    iocd_buf_free(&stored);
    return EXIT_RUNTIME;
}

/* Settles q->res_s: the asked one if stored; else without --rolling the
 * finest stored, with it the coarsest dividing --rolling and --step; 0 when
 * the series has no windows at all (and none was asked for). */
static int choose_resolution(sqlite3 *db, struct query *q, bool asked)
{
    struct iocd_query_resolutions r;
    struct iocd_query_fault f;
    if (iocd_query_resolutions(db, q->s.id, &r, &f) != 0) {
        fprintf(stderr, "iocctl: database error (read resolutions): %s\n", f.msg);
        return EXIT_RUNTIME;
    }
    int64_t asked_s = asked ? q->v->res_s : 0;
    if (iocd_query_pick_resolution(&r, asked_s, q->v->rolling_ms, q->v->step_ms, &q->res_s) != 0)
        return report_no_resolution(q, &r, asked_s);
    return EXIT_OK;
}

/* Reports why reading q's windows stopped: the exit code. */
static int report_fault(const struct query *q, const struct iocd_query_fault *f)
{
    if (f->kind == IOCD_QUERY_FAULT_CALLBACK)
        return f->cb_rc; /* reported already */
    if (f->kind == IOCD_QUERY_FAULT_DB) {
        fprintf(stderr, "iocctl: database error (read windows): %s\n", f->msg);
        return EXIT_RUNTIME;
    }
    if (f->nomem)
        return iocctl_oom();
    struct iocd_buf name;
    const char *n = iocctl_text_safe(&name, q->s.name);
    if (f->kind == IOCD_QUERY_FAULT_ROW) {
        char res[32], t[40];
        iocctl_resolution_format(q->res_s, res, sizeof(res));
        iocd_time_format(f->start_ms, t, sizeof(t));
        fprintf(stderr, "iocctl: series %s: the sketch of its %s window at %s is damaged\n", n,
                res, t);
    } else {
        fprintf(stderr,
                "iocctl: series %s: cannot merge the sketches of its windows (different "
                "accuracies, or a count overflow)\n",
                n);
    }
    iocd_buf_free(&name);
    return EXIT_RUNTIME;
}

/* query's output, one stored or rolling window at a time: JSON lines, or
 * a text table. The table of stored windows is measured in a first pass
 * over them (pass 0) and printed in a second, holding no rows; rolling
 * windows cost more to compute, so their rows are held (tt) instead. */
struct window_out {
    const struct query *q;
    bool json, rolling;
    int pass;
    struct iocctl_table table;
    const char *titles[IOCCTL_TABLE_MAX_COLS];
    bool right[IOCCTL_TABLE_MAX_COLS];
    size_t width[IOCCTL_TABLE_MAX_COLS];
    struct iocctl_texttab tt;
    struct iocd_buf line;
    struct iocd_buf cells[IOCCTL_TABLE_MAX_COLS];
};

static void window_out_init(struct window_out *wo, const struct query *q, bool json,
                            bool rolling)
{
    static const char *const lead[] = {"START", "END"};
    memset(wo, 0, sizeof(*wo));
    wo->q = q;
    wo->json = json;
    wo->rolling = rolling;
    iocctl_stats_table(&wo->table, wo->titles, wo->right, lead, rolling ? 2 : 1, &q->v->ql);
    for (int c = 0; c < wo->table.ncols; c++)
        wo->width[c] = strlen(wo->titles[c]);
    iocctl_texttab_init(&wo->tt, &wo->table);
    iocd_buf_init(&wo->line);
    iocctl_cells_init(wo->cells, IOCCTL_TABLE_MAX_COLS);
}

static void window_out_free(struct window_out *wo)
{
    iocctl_texttab_free(&wo->tt);
    iocctl_cells_free(wo->cells, IOCCTL_TABLE_MAX_COLS);
    iocd_buf_free(&wo->line);
}

static int window_out_json(struct window_out *wo, int64_t start, int64_t end,
                           const struct iocctl_stats *s)
{
    const struct query *q = wo->q;
    struct iocd_buf *b = &wo->line;
    iocd_buf_reset(b);
    iocd_buf_puts(b, "{");
    iocctl_json_str(b, "series", q->s.name);
    if (wo->rolling) {
        iocctl_json_int(b, "rolling_s", q->v->rolling_ms / 1000);
        iocctl_json_int(b, "step_s", q->v->step_ms / 1000);
    }
    iocctl_json_int(b, "resolution_s", q->res_s);
    iocctl_json_time(b, "start", start);
    iocctl_json_time(b, "end", end);
    iocctl_stats_json(b, s, &q->v->ql, q->s.unit);
    iocd_buf_puts(b, "}");
    return iocctl_line_write(b);
}

/* iocd_query_window_fn: EXIT_OK, or EXIT_RUNTIME after reporting. */
static int window_out_row(void *ctx, int64_t start, int64_t end, const struct iocd_query_agg *a)
{
    struct window_out *wo = ctx;
    struct iocctl_stats s;
    iocctl_stats_from_agg(a, &wo->q->v->ql, &s);
    if (wo->json)
        return window_out_json(wo, start, end, &s);
    char t[40];
    int c = 0;
    for (int i = 0; i < wo->table.ncols; i++)
        iocd_buf_reset(&wo->cells[i]);
    iocd_time_format(start, t, sizeof(t));
    iocd_buf_puts(&wo->cells[c++], t);
    if (wo->rolling) {
        iocd_time_format(end, t, sizeof(t));
        iocd_buf_puts(&wo->cells[c++], t);
    }
    iocctl_stats_cells(&wo->cells[c], &s, &wo->q->v->ql);
    if (wo->rolling) {
        iocctl_texttab_row(&wo->tt, wo->cells);
        return EXIT_OK;
    }
    return iocctl_table_row(&wo->table, wo->cells, wo->width, wo->pass);
}

/* The stored windows starting in [--from, --to). A res_s of 0 (no windows
 * yet) selects none: the header only. */
static int print_windows(sqlite3 *db, const struct query *q, bool json)
{
    struct window_out wo;
    window_out_init(&wo, q, json, false);
    struct iocd_query_fault f;
    int rc = EXIT_OK;
    for (wo.pass = json ? 1 : 0; rc == EXIT_OK && wo.pass < 2; wo.pass++) {
        if (wo.pass == 1 && !json)
            iocctl_table_header(&wo.table, wo.width);
        if (iocd_query_each_window(db, q->s.id, q->res_s, q->v->from_ms, q->v->to_ms, -1,
                                   window_out_row, &wo, &f) != 0)
            rc = report_fault(q, &f);
    }
    window_out_free(&wo);
    return rc;
}

/* --rolling: for every step boundary e, the stored windows of one
 * resolution lying in [e - rolling, e), merged (iocd_query_each_rolling). */
static int print_rolling(sqlite3 *db, const struct query *q, bool json)
{
    const struct iocctl_values *v = q->v;
    struct window_out wo;
    window_out_init(&wo, q, json, true);
    struct iocd_rolling_query rq = {.series_id = q->s.id,
                                    .res_s = q->res_s,
                                    .rolling_ms = v->rolling_ms,
                                    .step_ms = v->step_ms,
                                    .from_ms = v->from_ms,
                                    .to_ms = v->to_ms,
                                    .now_ms = iocd_now_ms(),
                                    .limit = INT64_MAX};
    struct iocd_query_fault f;
    int rc = EXIT_OK;
    if (q->res_s > 0 && /* 0: no windows at all, an empty result */
        iocd_query_each_rolling(db, &rq, window_out_row, &wo, &f) != 0)
        rc = report_fault(q, &f);
    if (rc == EXIT_OK && !json)
        rc = iocctl_texttab_print(&wo.tt);
    window_out_free(&wo);
    return rc;
}

/* A state series (docs/states.md): per window, the time in each state and
 * the transitions; JSON lines (one a window) or a row per window and state. */
static int print_states(sqlite3 *db, const struct query *q, const struct iocctl_options *o)
{
    if (o->rolling) {
        fprintf(stderr, "iocctl: series %s is a state series: no --rolling\n", q->s.name);
        return EXIT_USAGE;
    }
    cJSON *root = cJSON_CreateObject();
    char err[256];
    if (!root)
        return iocctl_oom();
    int rc = iocd_query_state_windows(db, q->s.id, o->resolution ? q->v->res_s : 0,
                                      q->v->from_ms, q->v->to_ms, -1, root, err, sizeof(err));
    if (rc != IOCD_QUERY_OK) {
        fprintf(stderr, "iocctl: series %s: %s\n", q->s.name, err);
        cJSON_Delete(root);
        return EXIT_RUNTIME;
    }
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "res_s");
    const cJSON *w;
    if (!o->json)
        printf("%-24s  %-32s  %12s  %7s  %11s\n", "START", "STATE", "MS", "ENTRIES",
               "TRANSITIONS");
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(root, "windows"))
    {
        if (o->json) {
            cJSON *line = cJSON_Duplicate(w, true);
            char *text = NULL;
            if (line) {
                cJSON_AddStringToObject(line, "series", q->s.name);
                cJSON_AddNumberToObject(line, "resolution_s",
                                        cJSON_IsNumber(res) ? res->valuedouble : 0);
                text = iocd_json_print(line); /* numbers exact (daemon/base/number.c) */
            }
            cJSON_Delete(line);
            if (!text) {
                cJSON_Delete(root);
                return iocctl_oom();
            }
            printf("%s\n", text);
            free(text);
            continue;
        }
        const char *start = cJSON_GetObjectItemCaseSensitive(w, "start")->valuestring;
        const cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(w, "states"))
        {
            printf("%-24s  %-32s  %12.0f  %7.0f  %11.0f\n", start, s->string,
                   cJSON_GetObjectItemCaseSensitive(s, "ms")->valuedouble,
                   cJSON_GetObjectItemCaseSensitive(s, "entries")->valuedouble,
                   cJSON_GetObjectItemCaseSensitive(s, "transitions")->valuedouble);
        }
    }
    cJSON_Delete(root);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
}

int iocctl_cmd_query(sqlite3 *db, const struct iocctl_options *o, const struct iocctl_values *v)
{
    struct query q = {.s = {.name = o->series}, .v = v};
    int rc = iocctl_series_lookup(db, &q.s);
    if (rc == EXIT_OK && iocd_query_is_state(db, q.s.id) == 1) {
        rc = print_states(db, &q, o);
        free(q.s.unit);
        return rc;
    }
    if (rc == EXIT_OK)
        rc = choose_resolution(db, &q, o->resolution != NULL);
    if (rc == EXIT_OK)
        rc = o->rolling ? print_rolling(db, &q, o->json) : print_windows(db, &q, o->json);
    free(q.s.unit);
    return rc;
}
