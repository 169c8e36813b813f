/* daemon/base/buf.h — a growable NUL-terminated text buffer.
 *
 * Owns: its text. It starts in the struct's own 256 bytes (no allocation
 * for the usual short strings: ids, series names, one JSON item) and moves
 * to the heap when it outgrows them, so a struct iocd_buf must not be
 * copied once used. An append that cannot allocate sets `oom` and makes
 * every later append a no-op: callers check once, when the text is done. */
#ifndef IOCD_BUF_H
#define IOCD_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct iocd_buf {
    char *p; /* the text, always NUL-terminated */
    size_t len, cap;
    bool oom;
    char small[256];
};

void iocd_buf_init(struct iocd_buf *b);
/* Frees the text; the buffer is empty and usable again. */
void iocd_buf_free(struct iocd_buf *b);
void iocd_buf_reset(struct iocd_buf *b); /* empty, keeps the memory */
void iocd_buf_append(struct iocd_buf *b, const char *s, size_t n);
void iocd_buf_puts(struct iocd_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void iocd_buf_printf(struct iocd_buf *b, const char *fmt,
                                                            ...);
/* JSON number text of a finite v, cut to n - 1 bytes: iocd_number_format's
 * (number.h), the shortest text that reads back as the same double (12.0 is
 * "12", 0.1 "0.1", 0.1+0.2 "0.30000000000000004"); n >= IOCD_NUMBER_MAX
 * never cuts. */
void iocd_json_number(char *buf, size_t n, double v);

/* The text as a malloc'd string the caller frees (NULL after an oom); the
 * buffer is empty afterwards. */
char *iocd_buf_take(struct iocd_buf *b);

#endif
