/* tools/iocctl/stats.h — what `query` shows of a window, stored or merged
 * from stored ones (daemon/query reads and merges them): its statistics as
 * JSON members or text table cells.
 *
 * Owns: nothing; struct iocctl_stats is a plain value. */
#ifndef IOCCTL_STATS_H
#define IOCCTL_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/base/buf.h"
#include "daemon/query/query.h"
#include "tools/iocctl/iocctl.h"

struct iocctl_stats {
    int64_t count;
    double sum, sumsq, min, max, first, last;
    int64_t first_ms, last_ms;
    bool have_q; /* qv[] holds the quantiles of the qlist */
    double qv[IOCCTL_N_QUANTILES];
};

/* s from a: the quantiles of ql, or none (have_q false) when the window
 * has no whole sketch (windows begun before schema version 2). */
void iocctl_stats_from_agg(const struct iocd_query_agg *a, const struct iocctl_qlist *ql,
                           struct iocctl_stats *s);
/* The members `"count":...` to `"unit":...`. */
void iocctl_stats_json(struct iocd_buf *b, const struct iocctl_stats *s,
                       const struct iocctl_qlist *ql, const char *unit);
/* Cells COUNT MIN MAX MEAN LAST P50 P95 P99 Q...: how many were written. */
int iocctl_stats_cells(struct iocd_buf *cells, const struct iocctl_stats *s,
                       const struct iocctl_qlist *ql);
/* Titles and alignment of a table: the n_lead columns of lead, then the
 * statistics; titles and right hold IOCCTL_TABLE_MAX_COLS. */
void iocctl_stats_table(struct iocctl_table *t, const char **titles, bool *right,
                        const char *const *lead, int n_lead, const struct iocctl_qlist *ql);

#endif
