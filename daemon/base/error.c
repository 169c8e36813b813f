/* daemon/base/error.c — error message buffer (see error.h). */
#include "daemon/base/error.h"

#include <stdarg.h>
#include <stdio.h>

int iocd_error_set(struct iocd_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int iocd_error_at(struct iocd_error *err, const char *file, int line, const char *fmt, ...)
{
    if (!err)
        return -1;
    int n = snprintf(err->msg, sizeof(err->msg), "%s:%d: ", file ? file : "(defaults)", line);
    if (n < 0 || (size_t)n >= sizeof(err->msg))
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof(err->msg) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}
