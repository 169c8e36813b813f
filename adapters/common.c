/* adapters/common.c — helpers shared by the format adapters (see common.h).
 *
 * Owns: config-error reporting, the shared create() (state, source, typed
 * key table read into entries, the adapter's read), "topic[N]" parsing,
 * topic levels, id checks, UTF-8 decoding and validation, unit validation,
 * printable echoes of untrusted text, and the JSON parse prologue of the
 * JSON-based decoders (the tree it returns is the caller's). Nothing past a
 * call: create's entries struct is freed before it returns; the state it
 * allocates is the caller's. */
#include "adapters/common.h"

#include "daemon/base/jsonpath.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IOCD_ADAPTER_MAX_ID 128 /* bytes in a device id or metric name (the pipeline's) */

int iocd_adapter_create(const struct iocd_adapter_spec *spec, const struct iocd_ini *ini,
                        struct iocd_ini_section *section, const char *source, void **state,
                        struct iocd_error *err)
{
    *state = NULL;
    struct iocd_adapter_cfg c = {ini, section->arg ? section->arg : "", err};
    char *st = calloc(1, spec->state_size);
    if (!st)
        return iocd_error_set(err, "out of memory");
    char **src = (char **)(st + spec->source_offset);
    *src = strdup(source ? source : c.section);
    void *entries = calloc(1, spec->entries_size);
    int rc = -1;
    if (!*src || !entries)
        iocd_error_set(err, "out of memory");
    else if (iocd_keys_read(entries, spec->keys, spec->n_keys, NULL, ini, section, err) == 0)
        rc = spec->read(&c, st, section, entries);
    free(entries);
    if (rc) {
        spec->destroy(st);
        return -1;
    }
    *state = st;
    return 0;
}

int iocd_adapter_cfg_given_twice(const struct iocd_adapter_cfg *c,
                                 const struct iocd_ini_section *section, size_t idx)
{
    const struct iocd_ini_entry *e = &section->entries[idx];
    for (size_t j = 0; j < idx; j++)
        if (strcmp(section->entries[j].key, e->key) == 0)
            return iocd_error_at(c->err, c->ini->path, e->line,
                                 "[adapter %s] %s: given twice (first on line %d)", c->section,
                                 e->key, section->entries[j].line);
    return 0;
}

size_t iocd_adapter_cfg_count_prefix(const struct iocd_ini_section *section, const char *prefix)
{
    size_t n = 0, pl = strlen(prefix);
    for (size_t i = 0; i < section->n_entries; i++)
        n += strncmp(section->entries[i].key, prefix, pl) == 0;
    return n;
}

int iocd_adapter_cfg_fail(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                          const char *what)
{
    return iocd_error_at(c->err, c->ini->path, e->line, "[adapter %s] %s: %s", c->section, e->key,
                         what);
}

int iocd_adapter_cfg_failf(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                           const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return iocd_adapter_cfg_fail(c, e, what);
}

int iocd_adapter_parse_offset(const char *v, int *off_s)
{
    if (strcmp(v, "Z") == 0) {
        *off_s = 0;
        return 0;
    }
    if (v[0] != '+' && v[0] != '-')
        return -1;
    int sign = v[0] == '-' ? -1 : 1;
    const char *p = v + 1;
    int digits[4], nd = 0;
    for (; *p && nd < 4; p++) {
        if (*p == ':' && nd == 2 && p == v + 3)
            continue;
        if (*p < '0' || *p > '9')
            return -1;
        digits[nd++] = *p - '0';
    }
    if (*p || (nd != 2 && nd != 4) || (nd == 2 && strchr(v, ':')))
        return -1;
    int hh = digits[0] * 10 + digits[1];
    int mm = nd == 4 ? digits[2] * 10 + digits[3] : 0;
    if (hh > 23 || mm > 59)
        return -1;
    *off_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int iocd_adapter_compile_path(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                              const char *expr, struct iocd_jsonpath **out)
{
    if (iocd_jsonpath_compile(expr, out, c->err) == 0)
        return 0;
    char why[sizeof(c->err->msg)];
    snprintf(why, sizeof(why), "%s", c->err->msg);
    return iocd_adapter_cfg_failf(c, e, "bad path '%s': %s", expr, why);
}

bool iocd_adapter_topic_level(const char *topic, int level, const char **s, size_t *n)
{
    const char *p = topic ? topic : "";
    for (int lvl = 0; lvl < level; lvl++) {
        p = strchr(p, '/');
        if (!p)
            return false;
        p++;
    }
    const char *e = strchr(p, '/');
    *s = p;
    *n = e ? (size_t)(e - p) : strlen(p);
    return true;
}

int iocd_adapter_parse_topic_level(const char *v, int max, int *level)
{
    if (strncmp(v, "topic[", 6) != 0)
        return 0;
    const char *p = v + 6;
    if (*p < '0' || *p > '9')
        return -1;
    long n = 0;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (*p - '0');
        if (n > max)
            return -1;
        p++;
    }
    if (strcmp(p, "]") != 0)
        return -1;
    *level = (int)n;
    return 1;
}

size_t iocd_adapter_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t len;
    uint32_t c, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if ((b & 0xe0) == 0xc0) {
        len = 2, c = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
        len = 3, c = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
        len = 4, c = b & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[k] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

size_t iocd_adapter_utf8_invalid_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = iocd_adapter_utf8_next(s + i, n - i, &cp);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

bool iocd_adapter_valid_utf8(const unsigned char *s, size_t n)
{
    return iocd_adapter_utf8_invalid_at(s, n) == n;
}

const char *iocd_adapter_id_problem(const char *s, size_t n)
{
    if (n == 0)
        return "is empty";
    if (n > IOCD_ADAPTER_MAX_ID)
        return "is longer than 128 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '/' || ch == '+' || ch == '#')
            return "contains '/', '+' or '#'";
        if (ch < 0x20 || ch == 0x7f)
            return "contains a control character";
    }
    if (!iocd_adapter_valid_utf8((const unsigned char *)s, n))
        return "is not valid UTF-8";
    return NULL;
}

bool iocd_adapter_valid_unit(const char *u, size_t max)
{
    size_t n = strlen(u);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
            return false;
    return true;
}

const char *iocd_adapter_printable_n(const char *s, size_t len, char *buf, size_t n)
{
    size_t i = 0;
    for (; i < len && i + 4 < n; i++)
        buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
    if (i < len && n >= 4) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

const char *iocd_adapter_printable(const char *s, char *buf, size_t n)
{
    return iocd_adapter_printable_n(s, strlen(s), buf, n);
}

bool iocd_adapter_json_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

const char *iocd_adapter_json_type(const cJSON *n)
{
    if (cJSON_IsString(n))
        return "a string";
    if (cJSON_IsNumber(n))
        return "a number";
    if (cJSON_IsBool(n))
        return "a bool";
    if (cJSON_IsObject(n))
        return "an object";
    if (cJSON_IsArray(n))
        return "an array";
    if (cJSON_IsNull(n))
        return "null";
    return "of unknown type";
}

enum iocd_reject iocd_adapter_json_parse(const struct iocd_message *msg, struct iocd_batch *out,
                                         cJSON **root)
{
    *root = NULL;
    if (msg->len == 0 || !msg->payload)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "empty payload");
    const char *text = (const char *)msg->payload;
    const char *end = NULL;
    cJSON *tree = cJSON_ParseWithLengthOpts(text, msg->len, &end, false);
    bool end_ok = end && end >= text && end <= text + msg->len;
    if (!tree)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "not valid JSON (at byte %zu)",
                               end_ok ? (size_t)(end - text) : 0);
    size_t off = end_ok ? (size_t)(end - text) : msg->len;
    while (off < msg->len && iocd_adapter_json_space(msg->payload[off]))
        off++;
    while (off < msg->len && msg->payload[off] == 0)
        off++;
    if (off < msg->len) {
        cJSON_Delete(tree);
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "not valid JSON (junk after the value at byte %zu)", off);
    }
    *root = tree;
    return IOCD_REJECT_NONE;
}

bool iocd_adapter_name_ok(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

bool iocd_adapter_nonfinite_word(const char *s, size_t n)
{
    if (n > 0 && (s[0] == '+' || s[0] == '-'))
        s++, n--;
    static const char *const words[] = {"nan", "inf", "infinity"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t wl = strlen(words[w]);
        if (n != wl)
            continue;
        size_t i = 0;
        while (i < n && (s[i] | 0x20) == words[w][i])
            i++;
        if (i == n)
            return true;
    }
    return false;
}

int iocd_adapter_time_format(const char *value, enum iocd_time_unit *unit)
{
    static const struct {
        const char *name;
        enum iocd_time_unit unit;
    } formats[] = {{"auto", IOCD_TIME_AUTO}, {"iso8601", IOCD_TIME_ISO8601}, {"s", IOCD_TIME_S},
                   {"ms", IOCD_TIME_MS},     {"us", IOCD_TIME_US}};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(formats[i].name, value) == 0) {
            *unit = formats[i].unit;
            return 0;
        }
    return -1;
}

int iocd_adapter_states_read(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                             struct iocd_adapter_states *s)
{
    memset(s, 0, sizeof(*s));
    if (!e)
        return 0;
    const char *p = e->value;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strcmp(p, "*") == 0) {
        s->all = true;
        return 0;
    }
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *b = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > b && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end == b)
            continue;
        if (!iocd_adapter_name_ok(b, (size_t)(end - b), 128) || s->n == IOCD_ADAPTER_STATES_MAX) {
            iocd_adapter_states_free(s);
            return iocd_adapter_cfg_failf(
                c, e, "expects * or up to %d metric names (letters, digits, '_', '.', '-')",
                IOCD_ADAPTER_STATES_MAX);
        }
        if (!s->names && !(s->names = calloc(IOCD_ADAPTER_STATES_MAX, sizeof(*s->names))))
            goto nomem;
        if (!(s->names[s->n] = strndup(b, (size_t)(end - b))))
            goto nomem;
        s->n++;
    }
    if (!s->n)
        return iocd_adapter_cfg_fail(c, e, "expects * or a list of metric names");
    return 0;
nomem:
    iocd_adapter_states_free(s);
    return iocd_adapter_cfg_fail(c, e, "out of memory");
}

bool iocd_adapter_states_has(const struct iocd_adapter_states *s, const char *metric)
{
    if (s->all)
        return true;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], metric) == 0)
            return true;
    return false;
}

void iocd_adapter_states_free(struct iocd_adapter_states *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    memset(s, 0, sizeof(*s));
}
