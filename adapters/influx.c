/* adapters/influx.c — the `influx` adapter: InfluxDB line protocol as
 * Telegraf and edge gateways publish it, one point per line
 * (`measurement[,tag=v...] field=v[,field=v...] [timestamp]`); see
 * docs/adapters.md (influx).
 *
 * Owns: struct influx_state (the device rule, metric naming, timestamp
 * precision, per-field units, the location fields and the source name), built by create() and
 * freed by destroy(). decode() parses each line completely before adding
 * that line's observations, so a bad line is dropped whole while the good
 * lines around it are kept (counted as a "partial" note). Every string it
 * produces and its per-line scratch arrays live in the batch's arena; the
 * labels of one line are built once and shared by that line's
 * observations. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/common.h"
#include "daemon/base/timeutil.h"

#define IFX_MAX_ID 128    /* bytes in a device id or metric name */
#define IFX_MAX_LABEL 128 /* bytes in a label key or value */
#define IFX_MAX_UNIT 32   /* bytes in a configured unit */
#define IFX_MAX_TOPIC_LEVEL 255

enum ifx_precision { IFX_NS, IFX_US, IFX_MS, IFX_S };

struct ifx_unit {
    char *key;  /* "speed" or "bus.speed"; owned */
    char *unit; /* "km/h"; owned */
};

struct influx_state {
    char *source;     /* owned */
    char *device_tag; /* owned; NULL when the device is a topic level */
    int device_level; /* topic[N] when device_tag == NULL */
    bool metric_is_field;
    enum ifx_precision precision;
    struct ifx_unit *units; /* owned */
    size_t n_units;
    char *lat_field, *lon_field; /* location = LAT,LON; owned; NULL: none */
};

static void influx_destroy(void *state)
{
    struct influx_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_units; i++) {
        free(st->units[i].key);
        free(st->units[i].unit);
    }
    free(st->units);
    free(st->lat_field);
    free(st->lon_field);
    free(st->device_tag);
    free(st->source);
    free(st);
}

/* ---- create ---- */

static int read_units(const struct iocd_adapter_cfg *c, struct influx_state *st,
                      struct iocd_ini_section *section)
{
    size_t n = iocd_adapter_cfg_count_prefix(section, "unit.");
    if (n == 0)
        return 0;
    st->units = calloc(n, sizeof(*st->units));
    if (!st->units)
        return iocd_error_set(c->err, "out of memory");
    for (size_t i = 0; i < section->n_entries; i++) {
        struct iocd_ini_entry *e = &section->entries[i];
        if (strncmp(e->key, "unit.", 5) != 0)
            continue;
        e->used = true;
        if (e->key[5] == '\0')
            return iocd_adapter_cfg_fail(c, e, "the field name after 'unit.' is empty");
        if (iocd_adapter_cfg_given_twice(c, section, i))
            return -1;
        if (!iocd_adapter_valid_unit(e->value, IFX_MAX_UNIT))
            return iocd_adapter_cfg_fail(c, e,
                            "expected a unit of 1 to 32 characters without blanks, such as "
                            "km/h, Cel or %");
        struct ifx_unit *u = &st->units[st->n_units];
        u->key = strdup(e->key + 5);
        u->unit = strdup(e->value);
        if (!u->key || !u->unit) {
            free(u->key);
            free(u->unit);
            return iocd_error_set(c->err, "out of memory");
        }
        st->n_units++;
    }
    return 0;
}

/* The influx format's keys, declared once. */
struct influx_entries {
    struct iocd_ini_entry *device, *metric, *precision, *location;
};

static const struct iocd_key influx_keys[] = {
    IOCD_ADAPTER_KEY(struct influx_entries, device,
                     "tag:NAME or topic[N] (required)"),
    IOCD_ADAPTER_KEY(struct influx_entries, metric,
                     "measurement.field or field: how a field becomes a metric name (default "
                     "measurement.field)"),
    IOCD_ADAPTER_KEY(struct influx_entries, precision,
                     "ns, us, ms or s: the unit of line timestamps (default ns)"),
    IOCD_ADAPTER_KEY(struct influx_entries, location,
                     "LAT_FIELD,LON_FIELD: these fields (decimal degrees) are also the position "
                     "of the line's observations, e.g. lat,lon (default: none)"),
    IOCD_ADAPTER_PREFIX("unit.FIELD",
                        "the unit of field FIELD (unit.MEASUREMENT.FIELD: of one measurement)"),
};

static int read_config(const struct iocd_adapter_cfg *c, void *state,
                       struct iocd_ini_section *section, const void *entries)
{
    struct influx_state *st = state;
    const struct influx_entries *k = entries;
    struct iocd_ini_entry *device = k->device, *metric = k->metric, *precision = k->precision;
    if (!device)
        return iocd_error_at(c->err, c->ini->path, section->line,
                             "[adapter %s] device: required key missing (tag:NAME or topic[N])",
                             c->section);
    if (strncmp(device->value, "tag:", 4) == 0) {
        if (device->value[4] == '\0')
            return iocd_adapter_cfg_fail(c, device, "expected tag:NAME, the tag name is empty");
        st->device_tag = strdup(device->value + 4);
        if (!st->device_tag)
            return iocd_error_set(c->err, "out of memory");
    } else if (iocd_adapter_parse_topic_level(device->value, IFX_MAX_TOPIC_LEVEL, &st->device_level) <= 0) {
        return iocd_adapter_cfg_fail(c, device, "expected tag:NAME or topic[N] with N a topic level from 0 "
                                   "to 255");
    }

    st->metric_is_field = false;
    if (metric) {
        if (strcmp(metric->value, "field") == 0)
            st->metric_is_field = true;
        else if (strcmp(metric->value, "measurement.field") != 0)
            return iocd_adapter_cfg_fail(c, metric, "expected field or measurement.field");
    }

    st->precision = IFX_NS;
    if (precision) {
        static const char *const names[] = {[IFX_NS] = "ns", [IFX_US] = "us", [IFX_MS] = "ms",
                                            [IFX_S] = "s"};
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) && strcmp(names[i], precision->value) != 0)
            i++;
        if (i == sizeof(names) / sizeof(names[0]))
            return iocd_adapter_cfg_fail(c, precision, "expected ns, us, ms or s");
        st->precision = (enum ifx_precision)i;
    }
    if (k->location) {
        const char *v = k->location->value, *comma = strchr(v, ',');
        if (!comma || comma == v || !comma[1] || strchr(comma + 1, ','))
            return iocd_adapter_cfg_fail(c, k->location,
                                         "expected LAT_FIELD,LON_FIELD, e.g. lat,lon");
        st->lat_field = strndup(v, (size_t)(comma - v));
        st->lon_field = strdup(comma + 1);
        if (!st->lat_field || !st->lon_field)
            return iocd_error_set(c->err, "out of memory");
    }
    return read_units(c, st, section);
}

static const struct iocd_adapter_spec influx_spec = {
    influx_keys, sizeof(influx_keys) / sizeof(influx_keys[0]), sizeof(struct influx_entries),
    sizeof(struct influx_state), offsetof(struct influx_state, source), read_config, influx_destroy,
};

static int influx_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                         const char *source, void **state, struct iocd_error *err)
{
    return iocd_adapter_create(&influx_spec, ini, section, source, state, err);
}

/* ---- decode: helpers ---- */

/* Why `s` (n bytes, already valid UTF-8 without control characters) cannot
 * be a device id or metric name, or NULL. */
static const char *id_problem(const char *s, size_t n)
{
    if (n == 0)
        return "is empty";
    if (n > IFX_MAX_ID)
        return "is longer than 128 bytes";
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == '+' || s[i] == '#')
            return "contains '/', '+' or '#'";
    return NULL;
}

/* Full check of a device id taken from the topic. */
static const char *topic_id_problem(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "contains a control character";
    if (iocd_adapter_utf8_invalid_at((const unsigned char *)s, n) != n)
        return "is not valid UTF-8";
    return id_problem(s, n);
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* A separator of a name: ',' and ' ' always, '=' too in tag and field
 * keys and tag values. */
static bool is_stop(char ch, bool eq)
{
    return ch == ',' || ch == ' ' || (eq && ch == '=');
}

/* Digits with an optional leading '-' (when `sign`) into a magnitude and a
 * sign. Returns 0, -1 on a syntax error, -2 above UINT64_MAX. */
static int parse_digits(const char *s, size_t n, bool sign, bool *neg, uint64_t *mag)
{
    size_t i = 0;
    *neg = false;
    if (sign && i < n && s[i] == '-') {
        *neg = true;
        i++;
    }
    if (i == n)
        return -1;
    uint64_t v = 0;
    int rc = 0;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            rc = -2; /* keep scanning: a later non-digit is a syntax error */
        else
            v = v * 10 + d;
    }
    *mag = v;
    return rc;
}

/* int64 from "[-]digits": 0, -1 syntax, -2 out of range. */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
    bool neg;
    uint64_t mag;
    int rc = parse_digits(s, n, true, &neg, &mag);
    if (rc)
        return rc;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return -2;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX)
            return -2;
        *out = (int64_t)mag;
    }
    return 0;
}

/* Line-protocol float syntax: [-]digits[.digits][e[+-]digits], digits on
 * either side of the point optional but not both. */
static bool float_syntax(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    if (i < n && s[i] == '-')
        i++;
    while (i < n && is_digit(s[i]))
        i++, d++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i]))
            i++, d++;
    }
    if (d == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = 0;
        while (i < n && is_digit(s[i]))
            i++, e++;
        if (e == 0)
            return false;
    }
    return i == n;
}

/* "nan", "inf", "infinity" in any case, optionally signed. */
/* ---- decode: one line ---- */

enum ifx_type { IFX_FLOAT, IFX_INT, IFX_UINT, IFX_BOOL, IFX_STRING };

struct ifx_tag {
    char *key, *value; /* unescaped, in the arena */
    const char *at;    /* where the key starts in the line */
};

struct ifx_field {
    char *key;       /* unescaped, in the arena */
    char *str;       /* IFX_STRING: the unescaped value */
    size_t str_len;  /* bytes in str */
    double value;    /* numeric types */
    enum ifx_type type;
    const char *at;  /* where the key starts in the line */
    char *metric;    /* numeric types, set by check_line */
};

struct ifx_line {
    char *measurement;
    struct ifx_tag *tags;
    size_t n_tags;
    struct ifx_field *fields;
    size_t n_fields;
    bool has_ts;
    int64_t ts;
};

/* Decode state of one message. */
struct ifx_ctx {
    const struct influx_state *st;
    const struct iocd_message *msg;
    struct iocd_batch *out;
    const char *source;       /* in the arena */
    const char *topic_device; /* in the arena; NULL when the device is a tag */
    const char *empty;        /* "" in the arena */
    size_t line_no;           /* 1-based */
    const char *line;         /* the current line's first byte, for columns */
    /* the current line's error */
    enum iocd_reject lr;
    char lmsg[160];
    bool oom;
    /* the message */
    size_t n_lines, n_bad;
    enum iocd_reject first_r;
    char first[160];
    size_t n_dropped;
    char first_drop[160];
};

/* Records why the current line is unusable; `at` (a position in the line,
 * or NULL) gives the column. Returns `r`. */
static enum iocd_reject line_fail(struct ifx_ctx *c, enum iocd_reject r, const char *at,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum iocd_reject line_fail(struct ifx_ctx *c, enum iocd_reject r, const char *at,
                                  const char *fmt, ...)
{
    c->lr = r;
    if (c->n_bad > 0)
        return r; /* only the message's first bad line is reported */
    char what[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (at)
        snprintf(c->lmsg, sizeof(c->lmsg), "line %zu, column %zu: %s", c->line_no,
                 (size_t)(at - c->line) + 1, what);
    else
        snprintf(c->lmsg, sizeof(c->lmsg), "line %zu: %s", c->line_no, what);
    return r;
}

static enum iocd_reject line_oom(struct ifx_ctx *c)
{
    c->oom = true;
    return line_fail(c, IOCD_REJECT_NO_MEMORY, NULL, "out of memory");
}

/* Scans an escaped name from *pp up to the first unescaped separator
 * (is_stop) or `end`. "\\" and a backslash before a separator are escapes;
 * any other backslash is literal. The unescaped copy goes to *out (arena);
 * returns -1 when out of memory. */
static int scan_name(struct iocd_arena *a, const char **pp, const char *end, bool eq,
                     char **out)
{
    const char *p = *pp, *q = p;
    size_t n = 0;
    while (q < end) {
        if (*q == '\\' && q + 1 < end && (q[1] == '\\' || is_stop(q[1], eq))) {
            q += 2;
        } else {
            if (is_stop(*q, eq))
                break;
            q++;
        }
        n++;
    }
    char *s = iocd_arena_alloc(a, n + 1);
    if (!s)
        return -1;
    size_t k = 0;
    while (p < q) {
        if (*p == '\\' && p + 1 < q && (p[1] == '\\' || is_stop(p[1], eq))) {
            s[k++] = p[1];
            p += 2;
        } else {
            s[k++] = *p++;
        }
    }
    s[k] = '\0';
    *pp = q;
    *out = s;
    return 0;
}

/* A quoted string field value; *pp is just after the opening quote. */
static enum iocd_reject scan_string(struct ifx_ctx *c, const char **pp, const char *end,
                                    struct ifx_field *f)
{
    char kb[40];
    const char *p = *pp, *q = p;
    size_t n = 0;
    while (q < end && *q != '"') {
        if (*q == '\\' && q + 1 < end && (q[1] == '"' || q[1] == '\\'))
            q += 2;
        else
            q++;
        n++;
    }
    if (q == end)
        return line_fail(c, IOCD_REJECT_MALFORMED, p - 1,
                         "string value of field '%s' has no closing quote",
                         iocd_adapter_printable(f->key, kb, sizeof(kb)));
    char *s = iocd_arena_alloc(c->out->arena, n + 1);
    if (!s)
        return line_oom(c);
    size_t k = 0;
    while (p < q) {
        if (*p == '\\' && p + 1 < q && (p[1] == '"' || p[1] == '\\')) {
            s[k++] = p[1];
            p += 2;
        } else {
            s[k++] = *p++;
        }
    }
    s[k] = '\0';
    f->type = IFX_STRING;
    f->str = s;
    f->str_len = k;
    *pp = q + 1;
    return IOCD_REJECT_NONE;
}

/* An unquoted field value [v, v + n). */
static enum iocd_reject classify_value(struct ifx_ctx *c, const char *v, size_t n,
                                       struct ifx_field *f)
{
    static const char *const trues[] = {"t", "T", "true", "True", "TRUE"};
    static const char *const falses[] = {"f", "F", "false", "False", "FALSE"};
    char kb[40], vb[40];
    for (size_t i = 0; n <= 5 && i < 5; i++) {
        if (strlen(trues[i]) == n && memcmp(trues[i], v, n) == 0) {
            f->type = IFX_BOOL;
            f->value = 1;
            return IOCD_REJECT_NONE;
        }
        if (strlen(falses[i]) == n && memcmp(falses[i], v, n) == 0) {
            f->type = IFX_BOOL;
            f->value = 0;
            return IOCD_REJECT_NONE;
        }
    }
    const char *key = iocd_adapter_printable(f->key, kb, sizeof(kb));
    if (v[n - 1] == 'i') {
        int64_t x;
        int rc = parse_i64(v, n - 1, &x);
        if (rc == -2)
            return line_fail(c, IOCD_REJECT_MALFORMED, v,
                             "integer value of field '%s' is out of range", key);
        if (rc == 0) {
            f->type = IFX_INT;
            f->value = (double)x;
            return IOCD_REJECT_NONE;
        }
    } else if (v[n - 1] == 'u') {
        bool neg;
        uint64_t x;
        int rc = parse_digits(v, n - 1, false, &neg, &x);
        if (rc == -2)
            return line_fail(c, IOCD_REJECT_MALFORMED, v,
                             "unsigned value of field '%s' is out of range", key);
        if (rc == 0) {
            f->type = IFX_UINT;
            f->value = (double)x;
            return IOCD_REJECT_NONE;
        }
    } else if (iocd_adapter_nonfinite_word(v, n)) {
        return line_fail(c, IOCD_REJECT_NOT_FINITE, v, "value of field '%s' is not finite", key);
    } else if (float_syntax(v, n)) {
        char small[64];
        char *buf = n < sizeof(small) ? small : iocd_arena_alloc(c->out->arena, n + 1);
        if (!buf)
            return line_oom(c);
        memcpy(buf, v, n);
        buf[n] = '\0';
        double x = strtod(buf, NULL);
        if (!isfinite(x))
            return line_fail(c, IOCD_REJECT_NOT_FINITE, v,
                             "value of field '%s' overflows to infinity", key);
        f->type = IFX_FLOAT;
        f->value = x;
        return IOCD_REJECT_NONE;
    }
    char *copy = iocd_arena_strndup(c->out->arena, v, n);
    if (!copy)
        return line_oom(c);
    return line_fail(c, IOCD_REJECT_MALFORMED, v, "invalid value '%s' of field '%s'",
                     iocd_adapter_printable(copy, vb, sizeof(vb)), key);
}

static size_t count_char(const char *p, const char *end, char ch)
{
    size_t n = 0;
    for (; p < end; p++)
        n += *p == ch;
    return n;
}

/* Parses the line [p, end) (leading blanks skipped, trailing blanks cut,
 * neither empty nor a comment) into *L. */
static enum iocd_reject parse_line(struct ifx_ctx *c, const char *p, const char *end,
                                   struct ifx_line *L)
{
    struct iocd_arena *a = c->out->arena;
    char kb[40];
    for (const char *q = p; q < end; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            return line_fail(c, IOCD_REJECT_MALFORMED, q, "control character 0x%02x",
                             (unsigned char)*q);
    size_t bad = iocd_adapter_utf8_invalid_at((const unsigned char *)p, (size_t)(end - p));
    if (bad != (size_t)(end - p))
        return line_fail(c, IOCD_REJECT_MALFORMED, p + bad, "invalid UTF-8");

    /* Every tag and field but the first follows a comma. */
    size_t cap = count_char(p, end, ',') + 1;
    L->tags = iocd_arena_alloc(a, cap * sizeof(*L->tags));
    L->fields = iocd_arena_alloc(a, cap * sizeof(*L->fields));
    if (!L->tags || !L->fields)
        return line_oom(c);

    const char *at = p;
    if (scan_name(a, &p, end, false, &L->measurement))
        return line_oom(c);
    if (!L->measurement[0])
        return line_fail(c, IOCD_REJECT_MALFORMED, at, "measurement is empty");

    while (p < end && *p == ',') {
        struct ifx_tag *t = &L->tags[L->n_tags];
        t->at = ++p;
        if (scan_name(a, &p, end, true, &t->key))
            return line_oom(c);
        if (!t->key[0])
            return line_fail(c, IOCD_REJECT_MALFORMED, t->at, "tag key is empty");
        if (p == end || *p != '=')
            return line_fail(c, IOCD_REJECT_MALFORMED, p, "tag '%s' has no '=value'",
                             iocd_adapter_printable(t->key, kb, sizeof(kb)));
        at = ++p;
        if (scan_name(a, &p, end, true, &t->value))
            return line_oom(c);
        if (!t->value[0])
            return line_fail(c, IOCD_REJECT_MALFORMED, at, "tag '%s' has an empty value",
                             iocd_adapter_printable(t->key, kb, sizeof(kb)));
        if (p < end && *p == '=')
            return line_fail(c, IOCD_REJECT_MALFORMED, p, "unescaped '=' in the value of tag '%s'",
                             iocd_adapter_printable(t->key, kb, sizeof(kb)));
        L->n_tags++;
    }

    while (p < end && *p == ' ')
        p++;
    if (p == end)
        return line_fail(c, IOCD_REJECT_MALFORMED, p, "no fields");

    for (;;) {
        struct ifx_field *f = &L->fields[L->n_fields];
        memset(f, 0, sizeof(*f));
        f->at = p;
        if (scan_name(a, &p, end, true, &f->key))
            return line_oom(c);
        if (!f->key[0])
            return line_fail(c, IOCD_REJECT_MALFORMED, f->at, "field key is empty");
        if (p == end || *p != '=')
            return line_fail(c, IOCD_REJECT_MALFORMED, p, "field '%s' has no '=value'",
                             iocd_adapter_printable(f->key, kb, sizeof(kb)));
        p++;
        enum iocd_reject r;
        if (p < end && *p == '"') {
            p++;
            r = scan_string(c, &p, end, f);
            if (r == IOCD_REJECT_NONE && p < end && *p != ',' && *p != ' ')
                r = line_fail(c, IOCD_REJECT_MALFORMED, p,
                              "junk after the string value of field '%s'",
                              iocd_adapter_printable(f->key, kb, sizeof(kb)));
        } else {
            const char *v = p;
            while (p < end && *p != ',' && *p != ' ')
                p++;
            if (p == v)
                r = line_fail(c, IOCD_REJECT_MALFORMED, v, "field '%s' has an empty value",
                              iocd_adapter_printable(f->key, kb, sizeof(kb)));
            else
                r = classify_value(c, v, (size_t)(p - v), f);
        }
        if (r != IOCD_REJECT_NONE)
            return r;
        L->n_fields++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        break;
    }

    while (p < end && *p == ' ')
        p++;
    if (p == end)
        return IOCD_REJECT_NONE;
    const char *ts = p;
    while (p < end && *p != ' ')
        p++;
    const char *ts_end = p;
    while (p < end && *p == ' ')
        p++;
    if (p < end)
        return line_fail(c, IOCD_REJECT_MALFORMED, p, "junk after the timestamp");
    int rc = parse_i64(ts, (size_t)(ts_end - ts), &L->ts);
    if (rc == -1)
        return line_fail(c, IOCD_REJECT_MALFORMED, ts, "timestamp is not an integer");
    if (rc == -2)
        return line_fail(c, IOCD_REJECT_BAD_TIME, ts, "timestamp is out of range");
    L->has_ts = true;
    return IOCD_REJECT_NONE;
}

static int cmp_tag(const void *x, const void *y)
{
    const struct ifx_tag *a = *(const struct ifx_tag *const *)x;
    const struct ifx_tag *b = *(const struct ifx_tag *const *)y;
    int r = strcmp(a->key, b->key);
    return r ? r : (a->at > b->at) - (a->at < b->at);
}

static int cmp_field(const void *x, const void *y)
{
    const struct ifx_field *a = *(const struct ifx_field *const *)x;
    const struct ifx_field *b = *(const struct ifx_field *const *)y;
    int r = strcmp(a->key, b->key);
    return r ? r : (a->at > b->at) - (a->at < b->at);
}

/* The tag named `key` among `sorted` (by key), or NULL. */
static const struct ifx_tag *find_tag(struct ifx_tag **sorted, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(sorted[mid]->key, key);
        if (r == 0)
            return sorted[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Notes a label left out for its size (the line is still used). */
static void drop_label(struct ifx_ctx *c, const char *at, const char *key)
{
    char kb[40];
    if (c->n_dropped++ == 0)
        snprintf(c->first_drop, sizeof(c->first_drop),
                 "line %zu, column %zu: label '%s' is longer than 128 bytes, dropped", c->line_no,
                 (size_t)(at - c->line) + 1, iocd_adapter_printable(key, kb, sizeof(kb)));
}

static int add_label(struct ifx_ctx *c, Ioc__V1__Observation__LabelsEntry **arr, size_t *n,
                     char *key, char *value, size_t value_len, const char *at)
{
    if (strlen(key) > IFX_MAX_LABEL || value_len > IFX_MAX_LABEL) {
        drop_label(c, at, key);
        return 0;
    }
    Ioc__V1__Observation__LabelsEntry *en = iocd_arena_alloc(c->out->arena, sizeof(*en));
    if (!en)
        return -1;
    ioc__v1__observation__labels_entry__init(en);
    en->key = key;
    en->value = value;
    arr[(*n)++] = en;
    return 0;
}

/* Whether unit key `k` is "MEASUREMENT.FIELD" of this field. */
static bool unit_key_is_qualified(const char *k, const char *meas, const char *field)
{
    size_t ml = strlen(meas);
    return strncmp(k, meas, ml) == 0 && k[ml] == '.' && strcmp(k + ml + 1, field) == 0;
}

static const char *unit_for(const struct influx_state *st, const char *meas, const char *field)
{
    const char *plain = NULL;
    for (size_t i = 0; i < st->n_units; i++) {
        if (unit_key_is_qualified(st->units[i].key, meas, field))
            return st->units[i].unit;
        if (!plain && strcmp(st->units[i].key, field) == 0)
            plain = st->units[i].unit;
    }
    return plain;
}

/* Sorts the line's tags and fields by key into arena arrays *tags and
 * *fields (so tags can be looked up), and rejects a key given twice. */
static enum iocd_reject sort_line(struct ifx_ctx *c, struct ifx_line *L, struct ifx_tag ***tags,
                                  struct ifx_field ***fields)
{
    struct iocd_arena *a = c->out->arena;
    char kb[40];
    struct ifx_tag **t = iocd_arena_alloc(a, (L->n_tags + 1) * sizeof(*t));
    struct ifx_field **f = iocd_arena_alloc(a, L->n_fields * sizeof(*f));
    if (!t || !f)
        return line_oom(c);
    for (size_t i = 0; i < L->n_tags; i++)
        t[i] = &L->tags[i];
    for (size_t i = 0; i < L->n_fields; i++)
        f[i] = &L->fields[i];
    qsort(t, L->n_tags, sizeof(*t), cmp_tag);
    qsort(f, L->n_fields, sizeof(*f), cmp_field);
    for (size_t i = 1; i < L->n_tags; i++)
        if (strcmp(t[i - 1]->key, t[i]->key) == 0)
            return line_fail(c, IOCD_REJECT_MALFORMED, t[i]->at, "tag '%s' given twice",
                             iocd_adapter_printable(t[i]->key, kb, sizeof(kb)));
    for (size_t i = 1; i < L->n_fields; i++)
        if (strcmp(f[i - 1]->key, f[i]->key) == 0)
            return line_fail(c, IOCD_REJECT_MALFORMED, f[i]->at, "field '%s' given twice",
                             iocd_adapter_printable(f[i]->key, kb, sizeof(kb)));
    *tags = t;
    *fields = f;
    return IOCD_REJECT_NONE;
}

/* The line's device: the topic's, or the device tag's value (that tag in
 * *dev_tag, else NULL). */
static enum iocd_reject line_device(struct ifx_ctx *c, const struct ifx_line *L,
                                    struct ifx_tag **tags, const char **device,
                                    const struct ifx_tag **dev_tag)
{
    const struct influx_state *st = c->st;
    char kb[40], vb[40];
    *device = c->topic_device;
    *dev_tag = NULL;
    if (!st->device_tag)
        return IOCD_REJECT_NONE;
    const struct ifx_tag *t = find_tag(tags, L->n_tags, st->device_tag);
    if (!t)
        return line_fail(c, IOCD_REJECT_MISSING_FIELD, NULL, "no tag '%s' for the device",
                         iocd_adapter_printable(st->device_tag, kb, sizeof(kb)));
    const char *why = id_problem(t->value, strlen(t->value));
    if (why)
        return line_fail(c, IOCD_REJECT_BAD_ID, t->at, "device tag '%s' value '%s' %s",
                         iocd_adapter_printable(t->key, kb, sizeof(kb)),
                         iocd_adapter_printable(t->value, vb, sizeof(vb)), why);
    *device = t->value;
    *dev_tag = t;
    return IOCD_REJECT_NONE;
}

/* Names the metric of every numeric field (f->metric); a string field,
 * which becomes a label, must not share a tag's key. At least one field
 * must be numeric. */
static enum iocd_reject line_metrics(struct ifx_ctx *c, struct ifx_line *L, struct ifx_tag **tags)
{
    const struct influx_state *st = c->st;
    char kb[40];
    size_t n_numeric = 0;
    for (size_t i = 0; i < L->n_fields; i++) {
        struct ifx_field *f = &L->fields[i];
        if (f->type == IFX_STRING) {
            if (find_tag(tags, L->n_tags, f->key))
                return line_fail(c, IOCD_REJECT_MALFORMED, f->at,
                                 "string field '%s' has the same key as a tag",
                                 iocd_adapter_printable(f->key, kb, sizeof(kb)));
            continue;
        }
        f->metric = st->metric_is_field
                        ? f->key
                        : iocd_arena_printf(c->out->arena, "%s.%s", L->measurement, f->key);
        if (!f->metric)
            return line_oom(c);
        const char *why = id_problem(f->metric, strlen(f->metric));
        if (why)
            return line_fail(c, IOCD_REJECT_BAD_ID, f->at, "metric '%s' %s",
                             iocd_adapter_printable(f->metric, kb, sizeof(kb)), why);
        n_numeric++;
    }
    if (n_numeric == 0)
        return line_fail(c, IOCD_REJECT_MISSING_FIELD, NULL, "no numeric field");
    return IOCD_REJECT_NONE;
}

/* The line's time in ms: its timestamp in the configured precision, else
 * the receive time. */
static enum iocd_reject line_time(struct ifx_ctx *c, const struct ifx_line *L, int64_t *observed)
{
    *observed = c->msg->received_ms;
    if (!L->has_ts)
        return IOCD_REJECT_NONE;
    int64_t ms;
    switch (c->st->precision) {
    case IFX_NS:
        ms = iocd_time_floor_div(L->ts, 1000000);
        break;
    case IFX_US:
        ms = iocd_time_floor_div(L->ts, 1000);
        break;
    case IFX_MS:
        ms = L->ts;
        break;
    default:
        if (L->ts < 0)
            ms = -1;
        else if (L->ts > IOCD_TIME_MAX_MS / 1000)
            ms = IOCD_TIME_MAX_MS + 1;
        else
            ms = L->ts * 1000;
        break;
    }
    if (ms < 0 || ms > IOCD_TIME_MAX_MS)
        return line_fail(c, IOCD_REJECT_BAD_TIME, NULL, "timestamp %" PRId64 " is %s", L->ts,
                         ms < 0 ? "before 1970" : "after 9999");
    *observed = ms;
    return IOCD_REJECT_NONE;
}

/* The labels every observation of the line carries: the tags but the
 * device tag, then the string fields; too long ones are left out. */
static enum iocd_reject line_labels(struct ifx_ctx *c, const struct ifx_line *L,
                                    const struct ifx_tag *dev_tag,
                                    Ioc__V1__Observation__LabelsEntry ***labels, size_t *n_labels)
{
    Ioc__V1__Observation__LabelsEntry **arr =
        iocd_arena_alloc(c->out->arena, (L->n_tags + L->n_fields) * sizeof(*arr));
    if (!arr)
        return line_oom(c);
    size_t n = 0;
    for (size_t i = 0; i < L->n_tags; i++) {
        struct ifx_tag *t = &L->tags[i];
        if (t == dev_tag)
            continue;
        if (add_label(c, arr, &n, t->key, t->value, strlen(t->value), t->at))
            return line_oom(c);
    }
    for (size_t i = 0; i < L->n_fields; i++) {
        struct ifx_field *f = &L->fields[i];
        if (f->type == IFX_STRING && add_label(c, arr, &n, f->key, f->str, f->str_len, f->at))
            return line_oom(c);
    }
    *labels = arr;
    *n_labels = n;
    return IOCD_REJECT_NONE;
}

/* The line's position from the fields `location` names, or NULL when the
 * key is not set or either field is missing, not a number or out of range
 * (the fields still become observations). */
static Ioc__V1__Location *line_location(struct ifx_ctx *c, const struct ifx_line *L)
{
    const struct influx_state *st = c->st;
    if (!st->lat_field)
        return NULL;
    const struct ifx_field *lat = NULL, *lon = NULL;
    for (size_t i = 0; i < L->n_fields; i++) {
        const struct ifx_field *f = &L->fields[i];
        if (f->type == IFX_FLOAT || f->type == IFX_INT || f->type == IFX_UINT) {
            if (strcmp(f->key, st->lat_field) == 0)
                lat = f;
            else if (strcmp(f->key, st->lon_field) == 0)
                lon = f;
        }
    }
    if (!lat || !lon || !isfinite(lat->value) || !isfinite(lon->value) ||
        fabs(lat->value) > 90 || fabs(lon->value) > 180)
        return NULL;
    Ioc__V1__Location *loc = iocd_arena_alloc(c->out->arena, sizeof(*loc));
    if (!loc)
        return NULL;
    ioc__v1__location__init(loc);
    loc->lat = lat->value;
    loc->lon = lon->value;
    return loc;
}

/* Checks a parsed line and adds its observations; nothing is added when
 * the line is rejected. */
static enum iocd_reject emit_line(struct ifx_ctx *c, struct ifx_line *L)
{
    struct ifx_tag **tags = NULL;
    struct ifx_field **fields = NULL;
    const char *device = NULL;
    const struct ifx_tag *dev_tag = NULL;
    int64_t observed = 0;
    Ioc__V1__Observation__LabelsEntry **labels = NULL;
    size_t n_labels = 0;
    enum iocd_reject r = sort_line(c, L, &tags, &fields);
    if (r == IOCD_REJECT_NONE)
        r = line_device(c, L, tags, &device, &dev_tag);
    if (r == IOCD_REJECT_NONE)
        r = line_metrics(c, L, tags);
    if (r == IOCD_REJECT_NONE)
        r = line_time(c, L, &observed);
    if (r == IOCD_REJECT_NONE)
        r = line_labels(c, L, dev_tag, &labels, &n_labels);
    if (r != IOCD_REJECT_NONE)
        return r;
    Ioc__V1__Location *location = line_location(c, L);

    for (size_t i = 0; i < L->n_fields; i++) {
        struct ifx_field *f = &L->fields[i];
        if (f->type == IFX_STRING)
            continue;
        Ioc__V1__Observation *o = iocd_batch_add_observation(c->out);
        if (!o)
            return line_oom(c);
        o->source = (char *)c->source;
        o->device = (char *)device;
        o->metric = f->metric;
        const char *unit = unit_for(c->st, L->measurement, f->key);
        o->unit = unit ? iocd_arena_strdup(c->out->arena, unit) : (char *)c->empty;
        if (!o->unit)
            return line_oom(c);
        o->value = f->value;
        o->observed_ms = observed;
        o->received_ms = c->msg->received_ms;
        o->quality = IOC__V1__QUALITY__QUALITY_GOOD;
        o->labels = n_labels ? labels : NULL;
        o->n_labels = n_labels;
        o->location = location;
    }
    return IOCD_REJECT_NONE;
}

/* ---- decode ---- */

/* The device id from the topic level, into c->topic_device. */
static enum iocd_reject topic_device(struct ifx_ctx *c)
{
    int level = c->st->device_level;
    const char *s;
    size_t n;
    if (!iocd_adapter_topic_level(c->msg->topic, level, &s, &n))
        return iocd_batch_fail(c->out, IOCD_REJECT_MISSING_FIELD,
                               "device: topic has no level %d", level);
    const char *why = topic_id_problem(s, n);
    if (why)
        return iocd_batch_fail(c->out, IOCD_REJECT_BAD_ID, "device: topic level %d %s", level,
                               why);
    c->topic_device = iocd_arena_strndup(c->out->arena, s, n);
    if (!c->topic_device)
        return iocd_batch_fail(c->out, IOCD_REJECT_NO_MEMORY, "out of memory for the device id");
    return IOCD_REJECT_NONE;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static enum iocd_reject influx_decode(void *state, const struct iocd_message *msg,
                                      struct iocd_batch *out)
{
    const struct influx_state *st = state;
    if (msg->len == 0 || !msg->payload)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "empty payload");
    const char *text = (const char *)msg->payload;
    const char *end = text + msg->len;
    /* Trailing NULs from C-string senders are not part of the text. */
    while (end > text && end[-1] == '\0')
        end--;
    if (end == text)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "empty payload");

    struct ifx_ctx c = {.st = st, .msg = msg, .out = out};
    c.source = iocd_arena_strdup(out->arena, st->source);
    c.empty = iocd_arena_strdup(out->arena, "");
    if (!c.source || !c.empty)
        return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory");
    if (!st->device_tag) {
        enum iocd_reject r = topic_device(&c);
        if (r != IOCD_REJECT_NONE)
            return r;
    }

    const char *p = text;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        c.line = p;
        c.line_no++;
        const char *ls = p;
        p = nl ? nl + 1 : end;
        while (ls < le && (*ls == ' ' || *ls == '\t'))
            ls++;
        while (le > ls && is_blank(le[-1]))
            le--;
        if (ls == le || *ls == '#')
            continue;
        c.n_lines++;
        c.lr = IOCD_REJECT_NONE;
        struct ifx_line L;
        memset(&L, 0, sizeof(L));
        size_t before = out->n_obs;
        enum iocd_reject r = parse_line(&c, ls, le, &L);
        if (r == IOCD_REJECT_NONE)
            r = emit_line(&c, &L);
        if (c.oom)
            goto nomem;
        if (r != IOCD_REJECT_NONE) {
            out->n_obs = before;
            if (c.n_bad++ == 0) {
                c.first_r = r;
                snprintf(c.first, sizeof(c.first), "%s", c.lmsg);
            }
        }
    }

    if (out->n_obs == 0) {
        if (c.n_bad)
            return iocd_batch_fail(out, c.first_r, "%s", c.first);
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "no data line (only blank lines and comments)");
    }
    if (c.n_bad)
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "%s; %zu of %zu lines dropped", c.first, c.n_bad,
                        c.n_lines);
    else if (c.n_dropped)
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "%s", c.first_drop);
    return IOCD_REJECT_NONE;

nomem:
    out->n_obs = 0;
    return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY,
                           "decode needs more memory than the arena allows");
}

const struct iocd_adapter_ops iocd_adapter_influx = {
    .name = "influx",
    .keys = influx_keys,
    .n_keys = sizeof(influx_keys) / sizeof(influx_keys[0]),
    .create = influx_create,
    .decode = influx_decode,
    .destroy = influx_destroy,
};
