/* daemon/base/json_scan.c — one pass over a JSON object for a few top-level members.
 *
 * Owns: nothing; see json_scan.h for the contract. A recursive-descent
 * check of strict JSON that records only the wanted members of the top
 * object; nested values are checked and skipped. "Out of the subset" and
 * "invalid" are the same answer (false): the caller's full parser then
 * decides, so every reject keeps its old reason and byte offset. */
#include "daemon/base/json_scan.h"

#include <string.h>

#define SCAN_MAX_DEPTH 64
#define SCAN_MAX_NUMBER 63 /* cJSON parses at most 63 bytes of a number */

struct scan {
    const char *p, *end;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool lit(struct scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* A string at s->p (the opening quote): its contents into *t, *n; *escaped
 * whether it held an escape. False on anything outside the subset. */
static bool string(struct scan *s, const char **t, size_t *n, bool *escaped)
{
    const char *p = ++s->p;
    *escaped = false;
    for (; p < s->end; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            *t = s->p;
            *n = (size_t)(p - s->p);
            s->p = p + 1;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch == '\\') {
            /* The one-letter escapes; \u is left to the full parser (its
             * surrogate rules). */
            if (++p >= s->end || !strchr("\"\\/bfnrt", *p) || *p == '\0')
                return false;
            *escaped = true;
        }
    }
    return false;
}

static bool digits(struct scan *s)
{
    const char *p0 = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > p0;
}

static bool number(struct scan *s)
{
    const char *p0 = s->p;
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!digits(s))
        return false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!digits(s))
            return false;
    }
    return s->p - p0 <= SCAN_MAX_NUMBER;
}

static bool value(struct scan *s, int depth, enum iocd_json_kind *kind);

/* An object or array at s->p, checked and skipped. */
static bool container(struct scan *s, int depth, bool object)
{
    if (depth >= SCAN_MAX_DEPTH)
        return false;
    char close = object ? '}' : ']';
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        if (object) {
            const char *t;
            size_t n;
            bool esc;
            if (s->p >= s->end || *s->p != '"' || !string(s, &t, &n, &esc) || esc)
                return false;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return false;
            s->p++;
            skip_ws(s);
        }
        enum iocd_json_kind k;
        if (!value(s, depth + 1, &k))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == close) {
            s->p++;
            return true;
        }
        if (*s->p != ',')
            return false;
        s->p++;
        skip_ws(s);
    }
}

static bool value(struct scan *s, int depth, enum iocd_json_kind *kind)
{
    if (s->p >= s->end)
        return false;
    const char *t;
    size_t n;
    bool esc;
    switch (*s->p) {
    case '{':
        *kind = IOCD_JSON_OBJECT;
        return container(s, depth, true);
    case '[':
        *kind = IOCD_JSON_ARRAY;
        return container(s, depth, false);
    case '"':
        *kind = IOCD_JSON_STRING;
        return string(s, &t, &n, &esc);
    case 't':
        *kind = IOCD_JSON_TRUE;
        return lit(s, "true", 4);
    case 'f':
        *kind = IOCD_JSON_FALSE;
        return lit(s, "false", 5);
    case 'n':
        *kind = IOCD_JSON_NULL;
        return lit(s, "null", 4);
    default:
        *kind = IOCD_JSON_NUMBER;
        return number(s);
    }
}

static struct iocd_json_member *wanted(struct iocd_json_member *m, size_t n, const char *name,
                                       size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].name_len == len && m[i].kind == IOCD_JSON_ABSENT &&
            memcmp(m[i].name, name, len) == 0)
            return &m[i];
    return NULL;
}

bool iocd_json_scan_object(const char *text, size_t len, struct iocd_json_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        m[i].kind = IOCD_JSON_ABSENT;
        m[i].text = NULL;
        m[i].text_len = 0;
    }
    struct scan s = {text, text + len};
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return false;
    s.p++;
    skip_ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
    } else {
        for (;;) {
            const char *key;
            size_t klen;
            bool esc;
            if (s.p >= s.end || *s.p != '"' || !string(&s, &key, &klen, &esc) || esc)
                return false;
            skip_ws(&s);
            if (s.p >= s.end || *s.p != ':')
                return false;
            s.p++;
            skip_ws(&s);
            struct iocd_json_member *w = wanted(m, n, key, klen);
            const char *v0 = s.p;
            enum iocd_json_kind kind;
            if (w && s.p < s.end && *s.p == '"') {
                const char *t;
                size_t tl;
                if (!string(&s, &t, &tl, &esc) || esc)
                    return false;
                w->kind = IOCD_JSON_STRING;
                w->text = t;
                w->text_len = tl;
            } else {
                if (!value(&s, 1, &kind))
                    return false;
                if (w) {
                    w->kind = kind;
                    w->text = v0;
                    w->text_len = (size_t)(s.p - v0);
                }
            }
            skip_ws(&s);
            if (s.p >= s.end)
                return false;
            if (*s.p == '}') {
                s.p++;
                break;
            }
            if (*s.p != ',')
                return false;
            s.p++;
            skip_ws(&s);
        }
    }
    skip_ws(&s);
    return s.p == s.end;
}
