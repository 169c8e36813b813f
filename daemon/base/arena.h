/* daemon/base/arena.h — bump allocator for per-message scratch memory.
 *
 * Owns: chunks of memory handed out by iocd_arena_alloc and released all at
 * once by iocd_arena_reset / iocd_arena_free. Adapters put every string and
 * protobuf struct of one decoded message here, so a decode never leaks and
 * never needs a matching free. Not thread-safe; one arena per user. */
#ifndef IOCD_ARENA_H
#define IOCD_ARENA_H

#include <stddef.h>

struct iocd_arena_chunk;

struct iocd_arena {
    struct iocd_arena_chunk *head; /* newest chunk first; owned */
    size_t limit;                  /* max bytes in all chunks, 0 = none */
    size_t used;                   /* bytes allocated from chunks */
};

void iocd_arena_init(struct iocd_arena *a, size_t limit);
/* Returns zeroed, 16-byte aligned memory, or NULL when out of memory or
 * over the arena's limit. */
void *iocd_arena_alloc(struct iocd_arena *a, size_t n);
char *iocd_arena_strdup(struct iocd_arena *a, const char *s);
char *iocd_arena_strndup(struct iocd_arena *a, const char *s, size_t n);
char *iocd_arena_printf(struct iocd_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Forget every allocation; keeps the first chunk for reuse. */
void iocd_arena_reset(struct iocd_arena *a);
void iocd_arena_free(struct iocd_arena *a);

#endif
