/* adapters/json.c — the `json` adapter: one JSON object per message, its
 * fields picked by configured paths (see docs/adapters.md).
 *
 * Owns: struct json_state (the compiled device/time/metric paths, metric
 * names and units, the source name), built by create() and freed by
 * destroy(). decode() parses one payload with cJSON, frees the tree before
 * returning, and puts every string it produces into the batch's arena. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "jsonpath.h"
#include "timeutil.h"

#define JSON_MAX_DEVICE 128     /* bytes */
#define JSON_MAX_METRIC_NAME 64 /* characters */
#define JSON_MAX_TOPIC_LEVEL 255

struct json_metric {
    char *name;                 /* "pm25"; owned */
    char *unit;                 /* "ug/m3", "" when not given; owned */
    struct iocd_jsonpath *path; /* owned */
};

struct json_state {
    char *source;                 /* owned */
    struct iocd_jsonpath *device; /* owned; NULL when the device is a topic level */
    int device_level;             /* topic[N] when device == NULL */
    struct iocd_jsonpath *time;   /* owned; NULL: use the receive time */
    enum iocd_time_unit time_unit;
    int time_offset_s;           /* for ISO-8601 times without an offset */
    struct json_metric *metrics; /* owned */
    size_t n_metrics;
};

static void json_destroy(void *state)
{
    struct json_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_metrics; i++) {
        free(st->metrics[i].name);
        free(st->metrics[i].unit);
        iocd_jsonpath_free(st->metrics[i].path);
    }
    free(st->metrics);
    iocd_jsonpath_free(st->device);
    iocd_jsonpath_free(st->time);
    free(st->source);
    free(st);
}

/* ---- create ---- */

/* Context for create() messages: "FILE:LINE: [adapter NAME] KEY: ...". */
struct cfg_ctx {
    const struct iocd_ini *ini;
    const char *section; /* the section's NAME */
    struct iocd_error *err;
};

static int cfg_fail(const struct cfg_ctx *c, const struct iocd_ini_entry *e, const char *what)
{
    return iocd_error_at(c->err, c->ini->path, e->line, "[adapter %s] %s: %s", c->section, e->key,
                         what);
}

/* Compile `expr` for key `e`; on error the message names the key. */
static int compile_path(const struct cfg_ctx *c, const struct iocd_ini_entry *e, const char *expr,
                        struct iocd_jsonpath **out)
{
    if (iocd_jsonpath_compile(expr, out, c->err) == 0)
        return 0;
    char why[sizeof(c->err->msg)];
    snprintf(why, sizeof(why), "%s", c->err->msg);
    return iocd_error_at(c->err, c->ini->path, e->line, "[adapter %s] %s: bad path '%s': %s",
                         c->section, e->key, expr, why);
}

/* "topic[N]" → N; returns 1 when `v` has that shape (N checked), 0 when
 * it does not (so it is a JSON path), -1 on a bad N. */
static int parse_topic_level(const char *v, int *level)
{
    if (strncmp(v, "topic[", 6) != 0)
        return 0;
    const char *p = v + 6;
    if (*p < '0' || *p > '9')
        return -1;
    long n = 0;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (*p - '0');
        if (n > JSON_MAX_TOPIC_LEVEL)
            return -1;
        p++;
    }
    if (strcmp(p, "]") != 0)
        return -1;
    *level = (int)n;
    return 1;
}

/* "Z", "+hh:mm", "-hh:mm", "+hhmm", "+hh" → seconds east of UTC. */
static int parse_offset(const char *v, int *off_s)
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

/* Split "PATH [UNIT]": the path ends at the first blank outside a quoted
 * name. Returns 0 with the path [v, *pe) and the unit [*ub, *ue) (empty
 * when absent), or -1 when more than one word follows the path. */
static int split_metric(const char *v, const char **pe, const char **ub, const char **ue)
{
    char quote = 0;
    const char *p = v;
    for (; *p; p++) {
        if (quote) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == ' ' || *p == '\t') {
            break;
        }
    }
    *pe = p;
    while (*p == ' ' || *p == '\t')
        p++;
    *ub = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    *ue = p;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p ? -1 : 0;
}

static bool valid_metric_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > JSON_MAX_METRIC_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

static int add_metric(const struct cfg_ctx *c, struct json_state *st,
                      struct iocd_ini_section *section, size_t idx)
{
    struct iocd_ini_entry *e = &section->entries[idx];
    const char *name = e->key + strlen("metric.");
    if (!valid_metric_name(name))
        return cfg_fail(c, e,
                        "metric name must be 1 to 64 characters of letters, digits, '_', '.' "
                        "and '-'");
    for (size_t j = 0; j < idx; j++)
        if (strcmp(section->entries[j].key, e->key) == 0)
            return iocd_error_at(c->err, c->ini->path, e->line,
                                 "[adapter %s] %s: given twice (first on line %d)", c->section,
                                 e->key, section->entries[j].line);
    const char *pe, *ub, *ue;
    if (!*e->value)
        return cfg_fail(c, e, "expected 'PATH [UNIT]', e.g. '$.pm25 ug/m3'");
    if (split_metric(e->value, &pe, &ub, &ue))
        return cfg_fail(c, e, "expected 'PATH [UNIT]': the unit must be one word");

    struct json_metric *m = &st->metrics[st->n_metrics];
    memset(m, 0, sizeof(*m));
    char *expr = strndup(e->value, (size_t)(pe - e->value));
    m->name = strdup(name);
    m->unit = strndup(ub, (size_t)(ue - ub));
    if (!expr || !m->name || !m->unit) {
        free(expr);
        free(m->name);
        free(m->unit);
        return iocd_error_set(c->err, "out of memory");
    }
    int rc = compile_path(c, e, expr, &m->path);
    free(expr);
    if (rc) {
        free(m->name);
        free(m->unit);
        return -1;
    }
    st->n_metrics++;
    return 0;
}

static int read_config(const struct cfg_ctx *c, struct json_state *st,
                       struct iocd_ini_section *section)
{
    bool dup;
    struct iocd_ini_entry *device = iocd_ini_get(c->ini, section, "device", &dup, c->err);
    if (dup)
        return -1;
    struct iocd_ini_entry *time = iocd_ini_get(c->ini, section, "time", &dup, c->err);
    if (dup)
        return -1;
    struct iocd_ini_entry *time_format = iocd_ini_get(c->ini, section, "time_format", &dup, c->err);
    if (dup)
        return -1;
    struct iocd_ini_entry *time_offset = iocd_ini_get(c->ini, section, "time_offset", &dup, c->err);
    if (dup)
        return -1;

    if (!device)
        return iocd_error_at(c->err, c->ini->path, section->line,
                             "[adapter %s] device: required key missing (a JSON path such as "
                             "$.id, or topic[N])",
                             c->section);
    int tl = parse_topic_level(device->value, &st->device_level);
    if (tl < 0)
        return cfg_fail(c, device, "expected topic[N] with N a topic level from 0 to 255");
    if (tl == 0 && compile_path(c, device, device->value, &st->device))
        return -1;

    if (time && compile_path(c, time, time->value, &st->time))
        return -1;
    if (!time && (time_format || time_offset))
        return cfg_fail(c, time_format ? time_format : time_offset,
                        "has no effect without 'time' (the receive time is used)");

    st->time_unit = IOCD_TIME_AUTO;
    if (time_format) {
        static const struct {
            const char *name;
            enum iocd_time_unit unit;
        } formats[] = {{"auto", IOCD_TIME_AUTO},
                       {"iso8601", IOCD_TIME_ISO8601},
                       {"s", IOCD_TIME_S},
                       {"ms", IOCD_TIME_MS},
                       {"us", IOCD_TIME_US}};
        size_t i = 0;
        while (i < sizeof(formats) / sizeof(formats[0]) &&
               strcmp(formats[i].name, time_format->value) != 0)
            i++;
        if (i == sizeof(formats) / sizeof(formats[0]))
            return cfg_fail(c, time_format, "expected auto, iso8601, s, ms or us");
        st->time_unit = formats[i].unit;
    }

    st->time_offset_s = 0;
    if (time_offset && parse_offset(time_offset->value, &st->time_offset_s))
        return cfg_fail(c, time_offset, "expected an offset such as +07:00, -05:30 or Z");

    size_t n = 0;
    for (size_t i = 0; i < section->n_entries; i++)
        if (strncmp(section->entries[i].key, "metric.", 7) == 0)
            n++;
    if (n == 0)
        return iocd_error_at(c->err, c->ini->path, section->line,
                             "[adapter %s] no metric: add at least one 'metric.NAME = PATH [UNIT]'",
                             c->section);
    st->metrics = calloc(n, sizeof(*st->metrics));
    if (!st->metrics)
        return iocd_error_set(c->err, "out of memory");
    for (size_t i = 0; i < section->n_entries; i++) {
        struct iocd_ini_entry *e = &section->entries[i];
        if (strncmp(e->key, "metric.", 7) != 0)
            continue;
        e->used = true;
        if (add_metric(c, st, section, i))
            return -1;
    }
    return 0;
}

static int json_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                       const char *source, void **state, struct iocd_error *err)
{
    *state = NULL;
    struct cfg_ctx c = {ini, section->arg ? section->arg : "", err};
    struct json_state *st = calloc(1, sizeof(*st));
    if (!st)
        return iocd_error_set(err, "out of memory");
    st->source = strdup(source ? source : c.section);
    if (!st->source) {
        json_destroy(st);
        return iocd_error_set(err, "out of memory");
    }
    if (read_config(&c, st, section)) {
        json_destroy(st);
        return -1;
    }
    *state = st;
    return 0;
}

/* ---- decode ---- */

static const char *type_name(const cJSON *n)
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

/* A short printable copy of `s` for a log detail. */
static const char *printable(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 4 < n; i++)
        buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
    if (s[i] && n >= 4) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing past U+10FFFF. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        size_t len;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xe0) == 0xc0) {
            len = 2, cp = b & 0x1f, min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            len = 3, cp = b & 0x0f, min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* Checks a device id of `n` bytes; returns NULL when fine, else why not. */
static const char *device_problem(const char *s, size_t n)
{
    if (n == 0)
        return "is empty";
    if (n > JSON_MAX_DEVICE)
        return "is longer than 128 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '/' || ch == '+' || ch == '#')
            return "contains '/', '+' or '#'";
        if (ch < 0x20 || ch == 0x7f)
            return "contains a control character";
    }
    if (!valid_utf8((const unsigned char *)s, n))
        return "is not valid UTF-8";
    return NULL;
}

/* The device id into *dev (arena), or a reject. */
static enum iocd_reject get_device(const struct json_state *st, const struct iocd_message *msg,
                                   const cJSON *root, struct iocd_batch *out, const char **dev)
{
    char buf[48];
    const char *s;
    size_t n;
    char num[32];
    if (!st->device) {
        s = msg->topic ? msg->topic : "";
        for (int lvl = 0; lvl < st->device_level; lvl++) {
            s = strchr(s, '/');
            if (!s)
                return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                                       "device: topic has no level %d", st->device_level);
            s++;
        }
        const char *e = strchr(s, '/');
        n = e ? (size_t)(e - s) : strlen(s);
        const char *why = device_problem(s, n);
        if (why)
            return iocd_batch_fail(out, IOCD_REJECT_BAD_ID, "device: topic level %d %s",
                                   st->device_level, why);
    } else {
        const char *path = iocd_jsonpath_text(st->device);
        const cJSON *d = iocd_jsonpath_get(st->device, root);
        if (!d || cJSON_IsNull(d))
            return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "device %s is missing", path);
        if (cJSON_IsString(d)) {
            s = d->valuestring;
            n = strlen(s);
        } else if (cJSON_IsNumber(d)) {
            double v = d->valuedouble;
            /* Integers exactly representable in a double, as decimal text. */
            if (!(v == floor(v) && fabs(v) <= 9007199254740992.0))
                return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE,
                                       "device %s is a number but not an integer", path);
            snprintf(num, sizeof(num), "%" PRId64, (int64_t)v);
            s = num;
            n = strlen(s);
        } else {
            return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "device %s is %s", path,
                                   type_name(d));
        }
        const char *why = device_problem(s, n);
        if (why)
            return iocd_batch_fail(out, IOCD_REJECT_BAD_ID, "device %s '%s' %s", path,
                                   printable(s, buf, sizeof(buf)), why);
    }
    *dev = iocd_arena_strndup(out->arena, s, n);
    if (!*dev)
        return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory for the device id");
    return IOCD_REJECT_NONE;
}

/* The observation time into *ms, or a reject. */
static enum iocd_reject get_time(const struct json_state *st, const struct iocd_message *msg,
                                 const cJSON *root, struct iocd_batch *out, int64_t *ms)
{
    if (!st->time) {
        *ms = msg->received_ms;
        return IOCD_REJECT_NONE;
    }
    const char *path = iocd_jsonpath_text(st->time);
    const cJSON *t = iocd_jsonpath_get(st->time, root);
    char buf[48];
    if (!t || cJSON_IsNull(t))
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "time %s is missing", path);
    if (cJSON_IsNumber(t)) {
        if (st->time_unit == IOCD_TIME_ISO8601)
            return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE,
                                   "time %s is a number, time_format is iso8601", path);
        if (iocd_time_from_epoch(t->valuedouble, st->time_unit, ms))
            return iocd_batch_fail(out, IOCD_REJECT_BAD_TIME, "time %s %.17g is out of range", path,
                                   t->valuedouble);
        return IOCD_REJECT_NONE;
    }
    if (cJSON_IsString(t)) {
        if (st->time_unit != IOCD_TIME_AUTO && st->time_unit != IOCD_TIME_ISO8601)
            return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE,
                                   "time %s is a string, time_format expects a number", path);
        if (iocd_time_parse_iso8601(t->valuestring, strlen(t->valuestring), st->time_offset_s, ms))
            return iocd_batch_fail(out, IOCD_REJECT_BAD_TIME,
                                   "time %s '%s' is not a valid ISO-8601 time", path,
                                   printable(t->valuestring, buf, sizeof(buf)));
        return IOCD_REJECT_NONE;
    }
    return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "time %s is %s", path, type_name(t));
}

/* Everything after the parse; `root` is freed by the caller. */
static enum iocd_reject decode_root(const struct json_state *st, const struct iocd_message *msg,
                                    const cJSON *root, struct iocd_batch *out)
{
    const char *device;
    int64_t observed_ms;
    enum iocd_reject r = get_device(st, msg, root, out, &device);
    if (r != IOCD_REJECT_NONE)
        return r;
    r = get_time(st, msg, root, out, &observed_ms);
    if (r != IOCD_REJECT_NONE)
        return r;

    /* Check every metric before adding any: a message is stored whole or
     * not at all. */
    size_t present = 0;
    for (size_t i = 0; i < st->n_metrics; i++) {
        const cJSON *v = iocd_jsonpath_get(st->metrics[i].path, root);
        if (!v || cJSON_IsNull(v))
            continue;
        if (!cJSON_IsNumber(v))
            return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "%s is %s",
                                   iocd_jsonpath_text(st->metrics[i].path), type_name(v));
        present++;
    }
    if (present == 0)
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                               "none of the %zu metric fields is present (first: %s)",
                               st->n_metrics, iocd_jsonpath_text(st->metrics[0].path));

    const char *source = iocd_arena_strdup(out->arena, st->source);
    if (!source)
        goto nomem;
    for (size_t i = 0; i < st->n_metrics; i++) {
        const struct json_metric *m = &st->metrics[i];
        const cJSON *v = iocd_jsonpath_get(m->path, root);
        if (!v || !cJSON_IsNumber(v))
            continue;
        Ioc__V1__Observation *o = iocd_batch_add_observation(out);
        if (!o)
            goto nomem;
        o->source = (char *)source;
        o->device = (char *)device;
        o->metric = iocd_arena_strdup(out->arena, m->name);
        o->unit = iocd_arena_strdup(out->arena, m->unit);
        if (!o->metric || !o->unit)
            goto nomem;
        o->value = v->valuedouble;
        o->observed_ms = observed_ms;
        o->received_ms = msg->received_ms;
        o->quality = IOC__V1__QUALITY__QUALITY_GOOD;
    }
    return IOCD_REJECT_NONE;

nomem:
    out->n_obs = 0;
    return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY,
                           "decode needs more memory than the arena allows");
}

static bool is_json_space(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static enum iocd_reject json_decode(void *state, const struct iocd_message *msg,
                                    struct iocd_batch *out)
{
    const struct json_state *st = state;
    if (msg->len == 0 || !msg->payload)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "empty payload");
    const char *text = (const char *)msg->payload;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, msg->len, &end, false);
    if (!root) {
        size_t at = end && end >= text && end <= text + msg->len ? (size_t)(end - text) : 0;
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "not valid JSON (at byte %zu)", at);
    }
    /* Only blanks (and trailing NULs from C-string senders) may follow. */
    size_t off = end && end >= text && end <= text + msg->len ? (size_t)(end - text) : msg->len;
    while (off < msg->len && is_json_space(msg->payload[off]))
        off++;
    while (off < msg->len && msg->payload[off] == 0)
        off++;
    enum iocd_reject r;
    if (off < msg->len)
        r = iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                            "not valid JSON (junk after the value at byte %zu)", off);
    else if (!cJSON_IsObject(root))
        r = iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "payload is JSON %s, not an object",
                            type_name(root));
    else
        r = decode_root(st, msg, root, out);
    cJSON_Delete(root);
    return r;
}

const struct iocd_adapter_ops iocd_adapter_json = {
    .name = "json",
    .create = json_create,
    .decode = json_decode,
    .destroy = json_destroy,
};
