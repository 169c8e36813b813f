/* tools/iocctl/stats.c — the statistics `query` shows of a window (see
 * stats.h); docs/iocctl.md describes the columns and keys.
 *
 * Owns: nothing beyond the caller's buffers it appends to. */
#include <inttypes.h>
#include <math.h>

#include "tools/iocctl/stats.h"

void iocctl_stats_from_agg(const struct iocd_query_agg *a, const struct iocctl_qlist *ql,
                           struct iocctl_stats *s)
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

void iocctl_stats_json(struct iocd_buf *b, const struct iocctl_stats *s,
                       const struct iocctl_qlist *ql, const char *unit)
{
    iocctl_json_int(b, "count", s->count);
    iocctl_json_num(b, "sum", s->sum);
    iocctl_json_num(b, "min", s->min);
    iocctl_json_num(b, "max", s->max);
    /* docs/storage.md: mean = sum/count, population standard deviation
     * sqrt(max(0, sumsq/count - mean^2)). */
    if (s->count > 0) {
        double mean = s->sum / (double)s->count;
        double var = s->sumsq / (double)s->count - mean * mean;
        iocctl_json_num(b, "mean", mean);
        iocctl_json_num(b, "stddev", sqrt(var > 0 ? var : 0));
    } else {
        iocctl_json_null(b, "mean");
        iocctl_json_null(b, "stddev");
    }
    for (int i = 0; i < ql->n; i++) {
        if (s->have_q)
            iocctl_json_num(b, ql->key[i], s->qv[i]);
        else
            iocctl_json_null(b, ql->key[i]);
    }
    iocctl_json_num(b, "first", s->first);
    iocctl_json_time(b, "first_time", s->first_ms);
    iocctl_json_num(b, "last", s->last);
    iocctl_json_time(b, "last_time", s->last_ms);
    iocctl_json_str(b, "unit", unit);
}

int iocctl_stats_cells(struct iocd_buf *cells, const struct iocctl_stats *s,
                       const struct iocctl_qlist *ql)
{
    int c = 0;
    iocd_buf_printf(&cells[c++], "%" PRId64, s->count);
    iocd_buf_printf(&cells[c++], "%.6g", s->min);
    iocd_buf_printf(&cells[c++], "%.6g", s->max);
    if (s->count > 0)
        iocd_buf_printf(&cells[c++], "%.6g", s->sum / (double)s->count);
    else
        iocd_buf_puts(&cells[c++], "-");
    iocd_buf_printf(&cells[c++], "%.6g", s->last);
    for (int i = 0; i < ql->n; i++) {
        if (!ql->in_text[i])
            continue;
        if (s->have_q)
            iocd_buf_printf(&cells[c++], "%.6g", s->qv[i]);
        else
            iocd_buf_puts(&cells[c++], "-");
    }
    return c;
}

void iocctl_stats_table(struct iocctl_table *t, const char **titles, bool *right,
                        const char *const *lead, int n_lead, const struct iocctl_qlist *ql)
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
