/* daemon/base/arena.c — bump allocator (see arena.h). */
#include "daemon/base/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_MIN 8192

struct iocd_arena_chunk {
    struct iocd_arena_chunk *next;
    size_t size; /* usable bytes in data[] */
    size_t off;  /* first free byte in data[] */
    _Alignas(16) unsigned char data[];
};

void iocd_arena_init(struct iocd_arena *a, size_t limit)
{
    a->head = NULL;
    a->limit = limit;
    a->used = 0;
}

void *iocd_arena_alloc(struct iocd_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n || need > SIZE_MAX - sizeof(struct iocd_arena_chunk))
        return NULL;
    if (a->limit && need > a->limit - a->used)
        return NULL;
    struct iocd_arena_chunk *c = a->head;
    if (!c || c->size - c->off < need) {
        size_t size = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->off = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += need;
    memset(p, 0, n);
    return p;
}

char *iocd_arena_strndup(struct iocd_arena *a, const char *s, size_t n)
{
    char *p = iocd_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *iocd_arena_strdup(struct iocd_arena *a, const char *s)
{
    return iocd_arena_strndup(a, s, strlen(s));
}

char *iocd_arena_printf(struct iocd_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = iocd_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void iocd_arena_reset(struct iocd_arena *a)
{
    struct iocd_arena_chunk *c = a->head;
    if (!c)
        return;
    struct iocd_arena_chunk *next = c->next;
    while (next) {
        struct iocd_arena_chunk *n = next->next;
        free(next);
        next = n;
    }
    /* Keep the newest chunk only if it is the ordinary size; a huge one
     * made for one big message is not worth keeping. */
    if (c->size > ARENA_CHUNK_MIN * 8) {
        free(c);
        a->head = NULL;
    } else {
        c->next = NULL;
        c->off = 0;
    }
    a->used = 0;
}

void iocd_arena_free(struct iocd_arena *a)
{
    iocd_arena_reset(a);
    free(a->head);
    a->head = NULL;
}
