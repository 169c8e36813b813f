/* daemon/aggregate/counters.c — counter names and flush increments (see counters.h). */
#include "daemon/aggregate/counters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *iocd_counter_name(int counter, char *buf, size_t n)
{
    static const char *const names[] = {"messages", "accepted",     "observations",
                                        "flushes",  "events",       "dead_letters",
                                        "dead_letter_drops", "commands", "command_drops"};
    if (counter < IOCD_CTR_REJECT_BASE)
        snprintf(buf, n, "%s", names[counter]);
    else if (counter < IOCD_CTR_NOTE_BASE)
        snprintf(buf, n, "reject.%s",
                 iocd_reject_name((enum iocd_reject)(counter - IOCD_CTR_REJECT_BASE)));
    else
        snprintf(buf, n, "note.%s", iocd_note_name((enum iocd_note)(counter - IOCD_CTR_NOTE_BASE)));
    return buf;
}

size_t iocd_counters_take(struct iocd_counter_scope *scopes, size_t n_scopes,
                          struct iocd_counter_delta **out)
{
    size_t n = 0;
    for (size_t s = 0; s < n_scopes; s++)
        for (int c = 0; c < IOCD_CTR__COUNT; c++)
            if (scopes[s].value[c] != scopes[s].flushed[c])
                n++;
    *out = NULL;
    if (n == 0)
        return 0;
    struct iocd_counter_delta *d = calloc(n, sizeof(*d));
    if (!d)
        return (size_t)-1;
    size_t k = 0;
    for (size_t s = 0; s < n_scopes; s++) {
        for (int c = 0; c < IOCD_CTR__COUNT; c++) {
            if (scopes[s].value[c] == scopes[s].flushed[c])
                continue;
            snprintf(d[k].scope, sizeof(d[k].scope), "%s", scopes[s].name);
            iocd_counter_name(c, d[k].name, sizeof(d[k].name));
            d[k].delta = scopes[s].value[c] - scopes[s].flushed[c];
            scopes[s].flushed[c] = scopes[s].value[c];
            k++;
        }
    }
    *out = d;
    return n;
}
