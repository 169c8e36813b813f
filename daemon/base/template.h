/* daemon/base/template.h — text with {NAME} placeholders, filled JSON-escaped.
 *
 * Owns: nothing allocated; it reads the template and appends to the
 * caller's buffer. The syntax (docs/alerts.md, "Templates"): a placeholder
 * is '{', a NAME of 1 to 32 lower-case letters, digits or '_', then '}'.
 * Every other byte, each '{' and '}' that does not form a placeholder
 * included, is copied as it is, so a JSON body is written as itself:
 * {"text": "{rule} on {device}"}. A value is inserted JSON-escaped (what
 * goes between the quotes of a JSON string: \" \\ \n ..., other control
 * bytes as \u00xx), so it can neither end the string it stands in nor
 * break the body around it. Used for [notify] bodies; the names a caller
 * accepts are its own list. */
#ifndef IOCD_TEMPLATE_H
#define IOCD_TEMPLATE_H

#include <stddef.h>

#include "daemon/base/buf.h"

#define IOCD_TEMPLATE_NAME_MAX 32

/* Check that every placeholder of `tpl` is one of names[0..n). 0, or -1
 * with `bad` (bad_size bytes) holding the first unknown placeholder,
 * braces included, and *offset its byte offset in tpl. */
int iocd_template_check(const char *tpl, const char *const *names, size_t n, char *bad,
                        size_t bad_size, size_t *offset);
/* Append `tpl` to `out` with each placeholder names[i] replaced by
 * values[i] JSON-escaped (NULL values as ""); a placeholder not in
 * `names` is copied as written. */
void iocd_template_render(struct iocd_buf *out, const char *tpl, const char *const *names,
                          const char *const *values, size_t n);

#endif
