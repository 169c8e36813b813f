/* tools/iocctl/table.c — iocctl's aligned text tables. Rows read from a
 * statement are formatted twice (once to measure the columns, once to
 * print), so no rows are held; computed rows are held in a texttab until
 *
 * they are printed. JSON lines of a statement's rows are here too.
 *
 * Owns: the cells of iocctl_table_print and the held text of a texttab
 * (iocctl_texttab_free). */
#include <stdio.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "tools/iocctl/iocctl.h"

void iocctl_cells_init(struct iocd_buf *cells, int n)
{
    for (int c = 0; c < n; c++)
        iocd_buf_init(&cells[c]);
}

void iocctl_cells_free(struct iocd_buf *cells, int n)
{
    for (int c = 0; c < n; c++)
        iocd_buf_free(&cells[c]);
}

static void print_cell(const char *s, size_t width, bool right, bool last)
{
    size_t pad = width - iocctl_text_width(s);
    if (right)
        printf("%*s", (int)pad, "");
    fputs(s, stdout);
    if (!right && !last)
        printf("%*s", (int)pad, "");
    if (!last)
        fputs("  ", stdout);
}

void iocctl_table_header(const struct iocctl_table *t, const size_t *width)
{
    for (int c = 0; c < t->ncols; c++)
        print_cell(t->titles[c], width[c], t->right[c], c == t->ncols - 1);
    putchar('\n');
}

int iocctl_table_row(const struct iocctl_table *t, const struct iocd_buf *cells, size_t *width,
                     int pass)
{
    for (int c = 0; c < t->ncols; c++)
        if (cells[c].oom)
            return iocctl_oom();
    for (int c = 0; c < t->ncols; c++) {
        if (pass == 0) {
            size_t w = iocctl_text_width(cells[c].p);
            if (w > width[c])
                width[c] = w;
        } else {
            print_cell(cells[c].p, width[c], t->right[c], c == t->ncols - 1);
        }
    }
    if (pass == 1)
        putchar('\n');
    return EXIT_OK;
}

int iocctl_table_print(sqlite3 *db, sqlite3_stmt *st, const struct iocctl_table *t,
                       iocctl_row_fn format, void *ctx)
{
    struct iocd_buf cells[IOCCTL_TABLE_MAX_COLS];
    size_t width[IOCCTL_TABLE_MAX_COLS];
    int rc = EXIT_OK;

    iocctl_cells_init(cells, t->ncols);
    for (int c = 0; c < t->ncols; c++)
        width[c] = strlen(t->titles[c]);
    for (int pass = 0; pass < 2 && rc == EXIT_OK; pass++) {
        if (pass == 1) {
            sqlite3_reset(st);
            iocctl_table_header(t, width);
        }
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            for (int c = 0; c < t->ncols; c++)
                iocd_buf_reset(&cells[c]);
            if (format(st, cells, ctx) != 0 ||
                iocctl_table_row(t, cells, width, pass) != EXIT_OK) {
                rc = EXIT_RUNTIME;
                break;
            }
        }
        if (rc == EXIT_OK && step != SQLITE_DONE)
            rc = iocctl_db_error(db, "read");
    }
    iocctl_cells_free(cells, t->ncols);
    return rc;
}

int iocctl_json_rows(sqlite3 *db, sqlite3_stmt *st, iocctl_json_row_fn fn, const char *what)
{
    struct iocd_buf line;
    int rc = EXIT_OK, step;
    iocd_buf_init(&line);
    while (rc == EXIT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        iocd_buf_reset(&line);
        fn(&line, st);
        rc = iocctl_line_write(&line);
    }
    if (rc == EXIT_OK && step != SQLITE_DONE)
        rc = iocctl_db_error(db, what);
    iocd_buf_free(&line);
    return rc;
}

void iocctl_texttab_init(struct iocctl_texttab *tt, const struct iocctl_table *t)
{
    memset(tt, 0, sizeof(*tt));
    tt->t = t;
    iocd_buf_init(&tt->data);
    for (int c = 0; c < t->ncols; c++)
        tt->width[c] = strlen(t->titles[c]);
}

void iocctl_texttab_row(struct iocctl_texttab *tt, const struct iocd_buf *cells)
{
    for (int c = 0; c < tt->t->ncols; c++) {
        if (cells[c].oom)
            tt->data.oom = true;
        size_t w = iocctl_text_width(cells[c].p);
        if (w > tt->width[c])
            tt->width[c] = w;
        iocd_buf_append(&tt->data, cells[c].p, cells[c].len + 1);
        tt->ncells++;
    }
}

int iocctl_texttab_print(struct iocctl_texttab *tt)
{
    const struct iocctl_table *t = tt->t;
    if (tt->data.oom)
        return iocctl_oom();
    iocctl_table_header(t, tt->width);
    const char *p = tt->data.p;
    for (size_t i = 0; i < tt->ncells; i++) {
        int c = (int)(i % (size_t)t->ncols);
        print_cell(p, tt->width[c], t->right[c], c == t->ncols - 1);
        if (c == t->ncols - 1)
            putchar('\n');
        p += strlen(p) + 1;
    }
    return EXIT_OK;
}

void iocctl_texttab_free(struct iocctl_texttab *tt)
{
    iocd_buf_free(&tt->data);
}
