/* tools/iocctl/raw.c — `iocctl raw`: the samples of one series from the
 * journal (docs/storage.md: 20 bytes a sample, little-endian series id
 * (u32), observation time (i64 ms), value (f64)), by time, as a text table
 * or JSON lines.
 *
 * Owns: the samples collected for one run (freed before it returns). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "daemon/base/timeutil.h"
#include "daemon/query/states.h"
#include "tools/iocctl/iocctl.h"

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

/* A new sample at the end of out: NULL when memory ran out. */
static struct raw_sample *raw_push(struct raw_samples *out)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 1024;
        struct raw_sample *nv =
            cap < SIZE_MAX / sizeof(*nv) ? realloc(out->v, cap * sizeof(*nv)) : NULL;
        if (!nv)
            return NULL;
        out->v = nv;
        out->cap = cap;
    }
    return &out->v[out->n++];
}

/* The samples of series id with time in [from, to) from one journal entry:
 * EXIT_OK, or EXIT_RUNTIME (reported). */
static int raw_entry(sqlite3_stmt *st, int64_t id, const struct iocctl_values *v,
                     struct raw_samples *out)
{
    int64_t entry = sqlite3_column_int64(st, 0);
    const unsigned char *blob = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    if (len % JOURNAL_SAMPLE_BYTES) {
        fprintf(stderr,
                "iocctl: journal entry %" PRId64 " is damaged (%zu bytes, not a multiple of "
                "%d)\n",
                entry, len, JOURNAL_SAMPLE_BYTES);
        return EXIT_RUNTIME;
    }
    for (size_t off = 0; off < len; off += JOURNAL_SAMPLE_BYTES) {
        const unsigned char *p = blob + off;
        int64_t t = (int64_t)get_le(p + 4, 8);
        if ((int64_t)get_le(p, 4) != id || t < v->from_ms || t >= v->to_ms)
            continue;
        struct raw_sample *s = raw_push(out);
        if (!s)
            return iocctl_oom();
        uint64_t bits = get_le(p + 12, 8);
        s->t_ms = t;
        s->entry = entry;
        s->pos = off / JOURNAL_SAMPLE_BYTES;
        memcpy(&s->value, &bits, sizeof(s->value));
    }
    return EXIT_OK;
}

/* The series' samples with time in [from, to), unsorted. Only journal
 * rows whose [first_ms, last_ms] overlaps the range are read; the blob is
 * the last column, so rows skipped are not read past their times. */
static int raw_collect(sqlite3 *db, int64_t id, const struct iocctl_values *v,
                       struct raw_samples *out)
{
    sqlite3_stmt *st;
    int rc = iocctl_db_prepare(db,
                               "SELECT id, samples FROM journal WHERE last_ms >= ?1 AND"
                               " first_ms < ?2 ORDER BY id",
                               &st);
    if (rc != EXIT_OK)
        return rc;
    sqlite3_bind_int64(st, 1, v->from_ms);
    sqlite3_bind_int64(st, 2, v->to_ms);
    int step;
    while (rc == EXIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = raw_entry(st, id, v, out);
    if (rc == EXIT_OK && step != SQLITE_DONE)
        rc = iocctl_db_error(db, "read journal");
    sqlite3_finalize(st);
    return rc;
}

/* State `idx` of the comma-separated `names` into buf; false when none. */
static bool state_name(const char *names, int idx, char *buf, size_t n)
{
    const char *p = names;
    for (int i = 0; *p; i++) {
        size_t len = strcspn(p, ",");
        if (i == idx) {
            snprintf(buf, n, "%.*s", (int)len, p);
            return true;
        }
        p += len + (p[len] == ',');
    }
    return false;
}

/* The first n samples as JSON lines or a text table. */
static int raw_print(sqlite3 *db, int64_t id, const char *name, const struct raw_sample *v,
                     size_t n, bool json)
{
    /* A state series' samples hold the state's index (docs/states.md). */
    char names[640] = "";
    bool is_state = iocd_query_state_names(db, id, names, sizeof(names)) == 1;
    static const char *const titles[] = {"TIME", "VALUE"};
    static const bool right[] = {false, true};
    static const struct iocctl_table table = {2, titles, right};
    struct iocctl_texttab tt;
    struct iocd_buf cells[2], line;
    int rc = EXIT_OK;
    iocctl_texttab_init(&tt, &table);
    iocctl_cells_init(cells, 2);
    iocd_buf_init(&line);
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        char t[40];
        iocd_time_format(v[i].t_ms, t, sizeof(t));
        if (json) {
            iocd_buf_reset(&line);
            iocd_buf_puts(&line, "{");
            iocctl_json_str(&line, "series", name);
            iocctl_json_str(&line, "time", t);
            char sn[40];
            if (is_state && state_name(names, (int)v[i].value, sn, sizeof(sn)))
                iocctl_json_str(&line, "state", sn);
            else
                iocctl_json_num(&line, "value", v[i].value);
            iocd_buf_puts(&line, "}");
            rc = iocctl_line_write(&line);
        } else {
            iocd_buf_reset(&cells[0]);
            iocd_buf_reset(&cells[1]);
            iocd_buf_puts(&cells[0], t);
            char sn[40];
            if (is_state && state_name(names, (int)v[i].value, sn, sizeof(sn)))
                iocd_buf_puts(&cells[1], sn);
            else
                iocctl_text_double(&cells[1], v[i].value);
            iocctl_texttab_row(&tt, cells);
        }
    }
    if (rc == EXIT_OK && !json)
        rc = iocctl_texttab_print(&tt);
    iocctl_texttab_free(&tt);
    iocctl_cells_free(cells, 2);
    iocd_buf_free(&line);
    return rc;
}

int iocctl_cmd_raw(sqlite3 *db, const struct iocctl_options *o, const struct iocctl_values *v)
{
    struct iocctl_series s = {.name = o->series};
    struct raw_samples rs = {0};
    int rc = iocctl_series_lookup(db, &s);
    if (rc == EXIT_OK)
        rc = raw_collect(db, s.id, v, &rs);
    if (rc == EXIT_OK) {
        if (rs.n > 1)
            qsort(rs.v, rs.n, sizeof(*rs.v), raw_cmp);
        size_t n = v->limit > 0 && (uint64_t)v->limit < rs.n ? (size_t)v->limit : rs.n;
        rc = raw_print(db, s.id, s.name, rs.v, n, o->json);
    }
    free(rs.v);
    free(s.unit);
    return rc;
}
