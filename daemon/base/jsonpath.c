/* daemon/base/jsonpath.c — compiling path expressions and looking them up in a
 * cJSON tree (see jsonpath.h).
 *
 * Owns: struct iocd_jsonpath, one allocation holding the steps, a copy of
 * the expression and the (unescaped) names the steps point into. */
#include "daemon/base/jsonpath.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum step_kind {
    STEP_NAME,
    STEP_INDEX,
};

struct step {
    enum step_kind kind;
    const char *name; /* STEP_NAME: points into the path's name pool */
    long index;       /* STEP_INDEX: negative counts from the end */
};

struct iocd_jsonpath {
    const char *text; /* the expression as written */
    size_t n_steps;
    struct step steps[]; /* followed by the text and the name pool */
};

/* Characters allowed in a bare (unquoted) name. */
static bool is_bare_char(unsigned char ch)
{
    return ch > 0x20 && ch != 0x7f && ch != '.' && ch != '[' && ch != ']' && ch != '\'' &&
           ch != '"';
}

/* `ch` for a message: "'x'", or "byte 0x07" when not printable. */
static const char *show_char(char ch, char buf[8])
{
    unsigned char u = (unsigned char)ch;
    if (u >= 0x20 && u < 0x7f)
        snprintf(buf, 8, "'%c'", ch);
    else
        snprintf(buf, 8, "0x%02x", u);
    return buf;
}

/* One pass over `expr`: counts steps (when `p` is NULL) or fills them,
 * copying unescaped names to *pool. Returns the step count or -1 with err. */
static long parse(const char *expr, struct iocd_jsonpath *p, char *pool, struct iocd_error *err)
{
    const char *s = expr;
    long n = 0;
    bool need_sep = false; /* after a step, only '.' or '[' may follow */
    char buf[8];

    if (!*s)
        return iocd_error_set(err, "empty path");
    if (*s == '$') {
        s++;
        if (*s == '.') {
            s++;
            if (!is_bare_char((unsigned char)*s))
                return iocd_error_set(err, "empty name after '.' at character 2");
        } else if (*s && *s != '[') {
            return iocd_error_set(err, "expected '.' or '[' after '$' at character 2");
        }
    }

    while (*s) {
        int at = (int)(s - expr) + 1; /* 1-based character position, for messages */
        if (need_sep) {
            if (*s == '.') {
                s++;
                if (!is_bare_char((unsigned char)*s))
                    return iocd_error_set(err, "empty name after '.' at character %d", at);
            } else if (*s != '[') {
                return iocd_error_set(err, "unexpected %s at character %d, expected '.' or '['",
                                      show_char(*s, buf), at);
            }
        }
        if (*s == '[') {
            s++;
            if (*s == '\'' || *s == '"') {
                char q = *s++;
                char *out = pool;
                while (*s && *s != q) {
                    if (*s == '\\' && (s[1] == q || s[1] == '\\'))
                        s++;
                    if (pool)
                        *pool++ = *s;
                    s++;
                }
                if (!*s)
                    return iocd_error_set(err, "unterminated quoted name starting at character %d",
                                          at);
                s++;
                if (*s != ']')
                    return iocd_error_set(err, "expected ']' after quoted name at character %d",
                                          (int)(s - expr) + 1);
                s++;
                if (p) {
                    *pool++ = '\0';
                    p->steps[n].kind = STEP_NAME;
                    p->steps[n].name = out;
                }
            } else {
                bool neg = *s == '-';
                if (neg)
                    s++;
                if (*s < '0' || *s > '9')
                    return iocd_error_set(err,
                                          "expected an index or a quoted name after '[' at "
                                          "character %d",
                                          at);
                long v = 0;
                while (*s >= '0' && *s <= '9') {
                    if (v > (INT_MAX - (*s - '0')) / 10)
                        return iocd_error_set(err, "index too large at character %d", at);
                    v = v * 10 + (*s - '0');
                    s++;
                }
                if (*s != ']')
                    return iocd_error_set(err, "expected ']' at character %d", (int)(s - expr) + 1);
                if (neg && v == 0)
                    return iocd_error_set(err, "index -0 at character %d", at);
                s++;
                if (p) {
                    p->steps[n].kind = STEP_INDEX;
                    p->steps[n].index = neg ? -v : v;
                }
            }
        } else {
            const char *b = s;
            while (is_bare_char((unsigned char)*s))
                s++;
            if (s == b)
                return iocd_error_set(err, "unexpected %s at character %d", show_char(*s, buf), at);
            if (p) {
                memcpy(pool, b, (size_t)(s - b));
                p->steps[n].kind = STEP_NAME;
                p->steps[n].name = pool;
                pool += s - b;
                *pool++ = '\0';
            }
        }
        n++;
        need_sep = true;
    }
    return n;
}

int iocd_jsonpath_compile(const char *expr, struct iocd_jsonpath **out, struct iocd_error *err)
{
    *out = NULL;
    if (!expr)
        return iocd_error_set(err, "empty path");
    long n = parse(expr, NULL, NULL, err);
    if (n < 0)
        return -1;
    size_t len = strlen(expr);
    /* Names are never longer than the expression, nor are their NULs more
     * than its characters plus one. */
    size_t steps_size = sizeof(struct iocd_jsonpath) + (size_t)n * sizeof(struct step);
    struct iocd_jsonpath *p = malloc(steps_size + (len + 1) + (len + 1));
    if (!p)
        return iocd_error_set(err, "out of memory");
    char *text = (char *)p + steps_size;
    memcpy(text, expr, len + 1);
    p->text = text;
    p->n_steps = (size_t)n;
    if (parse(expr, p, text + len + 1, err) != n) {
        free(p);
        return iocd_error_set(err, "internal error compiling path");
    }
    *out = p;
    return 0;
}

const cJSON *iocd_jsonpath_get(const struct iocd_jsonpath *p, const cJSON *root)
{
    const cJSON *node = root;
    for (size_t i = 0; node && i < p->n_steps; i++) {
        const struct step *st = &p->steps[i];
        if (st->kind == STEP_NAME) {
            if (!cJSON_IsObject(node))
                return NULL;
            const cJSON *c = node->child;
            while (c && c->string != st->name)
                c = c->next;
            /* Pointer compares first: the profile had strcmp at 3 % of
             * iocd's CPU, ten metrics each looked up twice in a message. */
            node = c ? c : cJSON_GetObjectItemCaseSensitive(node, st->name);
        } else {
            if (!cJSON_IsArray(node))
                return NULL;
            long idx = st->index;
            if (idx < 0) {
                idx += cJSON_GetArraySize(node);
                if (idx < 0)
                    return NULL;
            }
            node = cJSON_GetArrayItem(node, (int)idx);
        }
    }
    return node;
}

const char *iocd_jsonpath_top_name(const struct iocd_jsonpath *p)
{
    return p->n_steps == 1 && p->steps[0].kind == STEP_NAME ? p->steps[0].name : NULL;
}

const char *iocd_jsonpath_text(const struct iocd_jsonpath *p)
{
    return p->text;
}

void iocd_jsonpath_free(struct iocd_jsonpath *p)
{
    free(p);
}
