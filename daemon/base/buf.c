/* daemon/base/buf.c — growable text buffer (see buf.h). */
#include "daemon/base/buf.h"

#include "daemon/base/number.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void iocd_buf_init(struct iocd_buf *b)
{
    b->p = b->small;
    b->cap = sizeof(b->small);
    b->len = 0;
    b->oom = false;
    b->small[0] = '\0';
}

void iocd_buf_free(struct iocd_buf *b)
{
    if (b->p != b->small)
        free(b->p);
    iocd_buf_init(b);
}

void iocd_buf_reset(struct iocd_buf *b)
{
    b->len = 0;
    b->oom = false;
    b->p[0] = '\0';
}

/* Room for `more` bytes and the NUL; false (and oom) when there is none. */
static bool reserve(struct iocd_buf *b, size_t more)
{
    if (b->oom)
        return false;
    if (more < b->cap - b->len)
        return true;
    size_t ncap = b->cap;
    while (ncap - b->len <= more) {
        if (ncap > ((size_t)-1) / 2) {
            b->oom = true;
            return false;
        }
        ncap *= 2;
    }
    char *np = b->p == b->small ? malloc(ncap) : realloc(b->p, ncap);
    if (!np) {
        b->oom = true;
        return false;
    }
    if (b->p == b->small)
        memcpy(np, b->small, b->len + 1);
    b->p = np;
    b->cap = ncap;
    return true;
}

void iocd_buf_append(struct iocd_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void iocd_buf_puts(struct iocd_buf *b, const char *s)
{
    iocd_buf_append(b, s, strlen(s));
}

void iocd_buf_printf(struct iocd_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        b->p[b->len] = '\0';
        return;
    }
    if ((size_t)n < b->cap - b->len) {
        b->len += (size_t)n;
        return;
    }
    b->p[b->len] = '\0'; /* what did not fit is written again below */
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *iocd_buf_take(struct iocd_buf *b)
{
    char *s = NULL;
    if (!b->oom) {
        if (b->p == b->small) {
            s = malloc(b->len + 1);
            if (s)
                memcpy(s, b->small, b->len + 1);
        } else {
            s = b->p;
            b->p = b->small;
        }
    }
    iocd_buf_free(b);
    return s;
}

void iocd_json_number(char *buf, size_t n, double v)
{
    if (!n)
        return;
    char tmp[IOCD_NUMBER_MAX];
    size_t len = iocd_number_format(tmp, v);
    if (len >= n)
        len = n - 1;
    memcpy(buf, tmp, len);
    buf[len] = '\0';
}
