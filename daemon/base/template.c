/* daemon/base/template.c — {NAME} placeholders filled JSON-escaped (template.h).
 *
 * Owns: the scanner of placeholders; no state, no allocation of its own. */
#include "daemon/base/template.h"

#include <stdio.h>
#include <string.h>

#include "daemon/base/json_text.h"

/* The length of the placeholder starting at p ('{' NAME '}'), 0 if p does
 * not start one; *name_len gets NAME's length. */
static size_t placeholder(const char *p, size_t *name_len)
{
    if (*p != '{')
        return 0;
    size_t i = 1;
    while (i <= IOCD_TEMPLATE_NAME_MAX &&
           ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
        i++;
    if (i == 1 || p[i] != '}')
        return 0;
    *name_len = i - 1;
    return i + 1;
}

static int find(const char *name, size_t len, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return (int)i;
    return -1;
}

int iocd_template_check(const char *tpl, const char *const *names, size_t n, char *bad,
                        size_t bad_size, size_t *offset)
{
    for (const char *p = tpl; *p; p++) {
        size_t len, whole = placeholder(p, &len);
        if (!whole)
            continue;
        if (find(p + 1, len, names, n) < 0) {
            if (bad_size)
                snprintf(bad, bad_size, "%.*s", (int)whole, p);
            if (offset)
                *offset = (size_t)(p - tpl);
            return -1;
        }
        p += whole - 1;
    }
    return 0;
}

void iocd_template_render(struct iocd_buf *out, const char *tpl, const char *const *names,
                          const char *const *values, size_t n)
{
    const char *run = tpl, *p = tpl;
    while (*p) {
        size_t len, whole = placeholder(p, &len);
        int i = whole ? find(p + 1, len, names, n) : -1;
        if (i < 0) {
            p++;
            continue;
        }
        iocd_buf_append(out, run, (size_t)(p - run));
        iocd_json_escape(out, values[i] ? values[i] : "");
        p += whole;
        run = p;
    }
    iocd_buf_append(out, run, (size_t)(p - run));
}
