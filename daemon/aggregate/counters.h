/* daemon/aggregate/counters.h — what iocd counts, per adapter ("scope") and for the
 * daemon as a whole (scope "iocd").
 *
 * Owns: in-memory counter values and how much of each has been handed to
 * the store. Each flush carries the increments since the previous flush;
 * the store adds them to lifetime totals (docs/storage.md). Loop thread
 * only. */
#ifndef IOCD_COUNTERS_H
#define IOCD_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "adapters/adapter.h"
#include "daemon/base/log.h"

enum iocd_counter {
    IOCD_CTR_MESSAGES = 0, /* messages routed to the scope */
    IOCD_CTR_ACCEPTED,     /* messages with at least one accepted sample */
    IOCD_CTR_OBSERVATIONS, /* samples aggregated */
    IOCD_CTR_FLUSHES,      /* flushes committed (scope "iocd") */
    IOCD_CTR_EVENTS,       /* events accepted */
    IOCD_CTR_DEAD_LETTERS, /* rejected messages published to the dead-letter topic */
    IOCD_CTR_DEAD_LETTER_DROPS, /* ... that could not be (broker away, queue full) */
    IOCD_CTR_COMMANDS,     /* commands an adapter asked for, published (Sparkplug NCMD) */
    IOCD_CTR_COMMAND_DROPS, /* ... that could not be (broker away, queue full) */
    IOCD_CTR_REJECT_BASE,  /* + enum iocd_reject */
    IOCD_CTR_NOTE_BASE = IOCD_CTR_REJECT_BASE + IOCD_REJECT__COUNT, /* + enum iocd_note */
    IOCD_CTR__COUNT = IOCD_CTR_NOTE_BASE + IOCD_NOTE__COUNT,
};

#define IOCD_SCOPE_MAX 65

struct iocd_counter_scope {
    char name[IOCD_SCOPE_MAX];
    uint64_t value[IOCD_CTR__COUNT];
    uint64_t flushed[IOCD_CTR__COUNT]; /* part of value already handed to a flush */
    struct iocd_ratelimit log_limit[IOCD_REJECT__COUNT];
    struct iocd_ratelimit note_limit[IOCD_NOTE__COUNT];
    struct iocd_ratelimit command_limit;
};

/* One counter increment carried by a flush. */
struct iocd_counter_delta {
    char scope[IOCD_SCOPE_MAX];
    char name[40];
    uint64_t delta;
};

/* "messages", "accepted", "observations", "flushes", "events",
 * "dead_letters", "dead_letter_drops", "commands", "command_drops",
 * "reject.<reason>", "note.<name>". */
const char *iocd_counter_name(int counter, char *buf, size_t n);

/* Collect every nonzero increment since the last call into a malloc'd
 * array (caller frees) and mark it handed over. Returns the count, or
 * (size_t)-1 on out of memory (nothing is marked then). */
size_t iocd_counters_take(struct iocd_counter_scope *scopes, size_t n_scopes,
                          struct iocd_counter_delta **out);

#endif
