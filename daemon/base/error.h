/* daemon/base/error.h — an error message buffer passed down by callers.
 *
 * Owns nothing. Code that detects an error fills the buffer once with the
 * full context ("iocd.conf:12: [mqtt] port: 70000 is out of range 1..65535")
 * and returns -1; the caller that handles it logs or prints it once. */
#ifndef IOCD_ERROR_H
#define IOCD_ERROR_H

struct iocd_error {
    char msg[512];
};

/* Formats into err->msg; returns -1 so callers can `return iocd_error_set(...)`. */
int iocd_error_set(struct iocd_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As iocd_error_set, prefixed with "FILE:LINE: ". */
int iocd_error_at(struct iocd_error *err, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
