/* adapters/json.c — the `json` adapter: one JSON object per message (or an
 * array of records in it, `records =`), its fields picked by configured
 * paths (see docs/adapters.md).
 *
 * Owns: struct json_state (the compiled records/device/time/status/label/
 * metric paths, metric names, units and scale/offset, the status word
 * lists, the source name), built by create() and freed by destroy().
 * decode() reads one payload and puts every string it produces into the
 * batch's arena. When every path is one top-level name (no records, no
 * labels = all_strings), daemon/base/json_scan.c finds just those members
 * in one pass and decode() hangs them, as cJSON nodes in the arena, under
 * a root of its own: the same lookups then read the same values as in a
 * full tree. Any payload the scanner does not vouch for is parsed whole
 * with cJSON, whose tree is freed before returning. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/adapter.h"
#include "adapters/common.h"
#include "daemon/base/json_scan.h"
#include "daemon/base/jsonpath.h"
#include "daemon/base/number.h"
#include "daemon/base/timeutil.h"

#define JSON_MAX_DEVICE 128     /* bytes */
#define JSON_MAX_METRIC_NAME 64 /* characters */
#define JSON_MAX_TOPIC_LEVEL 255
#define JSON_MAX_RECORDS 10000   /* per message; the rest are skipped */
#define JSON_MAX_LABELS 64       /* label.NAME keys */
#define JSON_MAX_AUTO_LABELS 16  /* labels = all_strings */
#define JSON_MAX_LABEL_VALUE 128 /* bytes */
#define JSON_MAX_WORDS 16        /* status lists */
#define JSON_NODES_KEPT 32       /* metric nodes a record keeps between its two passes */

struct json_metric {
    char *name;                 /* "pm25"; owned; NULL: the topic level (metric_from_topic) */
    char *unit;                 /* "ug/m3", "" when not given; owned */
    struct iocd_jsonpath *path; /* owned */
    bool envelope;              /* "^$...": read in the whole message, not the record */
    bool scaled;                /* scale= or offset= given */
    double scale, offset;       /* value = raw * scale + offset when scaled */
};

struct json_label {
    char *name;                 /* owned */
    struct iocd_jsonpath *path; /* owned */
    bool envelope;
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
    bool device_envelope, time_envelope;
    struct iocd_jsonpath *records; /* owned; NULL: the payload is one record */
    int metric_level;              /* metric_from_topic = N; -1 when not set */
    struct iocd_jsonpath *status;  /* owned; NULL: every sample is good */
    bool status_envelope;
    char **invalid; /* owned, lower-case words */
    size_t n_invalid;
    char **valid; /* owned; NULL when `valid` is not given */
    size_t n_valid;
    struct json_label *labels; /* owned */
    size_t n_labels;
    bool all_strings; /* labels = all_strings */
    struct iocd_adapter_states states; /* states = ...: owned */
    /* The scanner's fast path: every top-level name some path reads, each
     * once (names point into the paths); n_want 0 when a path is deeper. */
    struct iocd_json_member *want; /* owned */
    size_t n_want;
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
    for (size_t i = 0; i < st->n_labels; i++) {
        free(st->labels[i].name);
        iocd_jsonpath_free(st->labels[i].path);
    }
    free(st->labels);
    free(st->want);
    iocd_adapter_states_free(&st->states);
    for (size_t i = 0; i < st->n_invalid; i++)
        free(st->invalid[i]);
    free(st->invalid);
    for (size_t i = 0; i < st->n_valid; i++)
        free(st->valid[i]);
    free(st->valid);
    iocd_jsonpath_free(st->records);
    iocd_jsonpath_free(st->status);
    iocd_jsonpath_free(st->device);
    iocd_jsonpath_free(st->time);
    free(st->source);
    free(st);
}

/* ---- create ---- */

/* Compile a path that may start with '^' (read in the whole message rather
 * than the record; only with `records`). */
static int compile_rpath(const struct iocd_adapter_cfg *c, const struct json_state *st,
                         const struct iocd_ini_entry *e, const char *expr,
                         struct iocd_jsonpath **out, bool *envelope)
{
    *envelope = false;
    if (expr[0] == '^') {
        if (!st->records)
            return iocd_adapter_cfg_fail(c, e, "'^' (read in the whole message) needs 'records'");
        *envelope = true;
        expr++;
    }
    return iocd_adapter_compile_path(c, e, expr, out);
}

/* The end of the word starting at `p`: the first blank outside a quoted
 * name. */
static const char *word_end(const char *p)
{
    char quote = 0;
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
    return p;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A finite number filling all of [b, e). */
static bool parse_finite(const char *b, const char *e, double *out)
{
    char buf[64];
    size_t n = (size_t)(e - b);
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, b, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

#define METRIC_SHAPE "expected 'PATH [UNIT] [scale=X] [offset=Y]'"

/* Fill m from "PATH [UNIT] [scale=X] [offset=Y]" (key `e`). */
static int parse_metric_value(const struct iocd_adapter_cfg *c, const struct json_state *st,
                              const struct iocd_ini_entry *e, struct json_metric *m)
{
    const char *v = e->value;
    const char *pe = word_end(v);
    const char *p = skip_blanks(pe);
    const char *ub = p, *ue = p;
    bool have_scale = false, have_offset = false;
    m->scale = 1;
    m->offset = 0;
    bool first = true;
    while (*p) {
        const char *we = word_end(p);
        if (strncmp(p, "scale=", 6) == 0 || strncmp(p, "offset=", 7) == 0) {
            bool is_scale = p[0] == 's';
            const char *nb = p + (is_scale ? 6 : 7);
            if (is_scale ? have_scale : have_offset)
                return iocd_adapter_cfg_fail(c, e, is_scale ? METRIC_SHAPE ": scale given twice"
                                               : METRIC_SHAPE ": offset given twice");
            if (!parse_finite(nb, we, is_scale ? &m->scale : &m->offset))
                return iocd_adapter_cfg_fail(c, e, is_scale ? "scale: expected a finite number"
                                               : "offset: expected a finite number");
            if (is_scale)
                have_scale = true;
            else
                have_offset = true;
        } else if (first) {
            ub = p;
            ue = we;
        } else {
            return iocd_adapter_cfg_fail(c, e, "expected 'PATH [UNIT]': the unit must be one word");
        }
        first = false;
        p = skip_blanks(we);
    }
    m->scaled = have_scale || have_offset;
    char *expr = strndup(v, (size_t)(pe - v));
    m->unit = strndup(ub, (size_t)(ue - ub));
    if (!expr || !m->unit) {
        free(expr);
        return iocd_error_set(c->err, "out of memory");
    }
    int rc = compile_rpath(c, st, e, expr, &m->path, &m->envelope);
    free(expr);
    return rc;
}

static int add_metric(const struct iocd_adapter_cfg *c, struct json_state *st,
                      struct iocd_ini_section *section, size_t idx)
{
    struct iocd_ini_entry *e = &section->entries[idx];
    const char *name = e->key + strlen("metric.");
    if (!iocd_adapter_name_ok(name, strlen(name), JSON_MAX_METRIC_NAME))
        return iocd_adapter_cfg_fail(c, e,
                        "metric name must be 1 to 64 characters of letters, digits, '_', '.' "
                        "and '-'");
    if (iocd_adapter_cfg_given_twice(c, section, idx))
        return -1;
    if (!*e->value)
        return iocd_adapter_cfg_fail(c, e, "expected 'PATH [UNIT]', e.g. '$.pm25 ug/m3'");
    struct json_metric *m = &st->metrics[st->n_metrics++];
    memset(m, 0, sizeof(*m));
    m->name = strdup(name);
    if (!m->name)
        return iocd_error_set(c->err, "out of memory");
    return parse_metric_value(c, st, e, m);
}

static int add_label(const struct iocd_adapter_cfg *c, struct json_state *st,
                     struct iocd_ini_section *section, size_t idx)
{
    struct iocd_ini_entry *e = &section->entries[idx];
    const char *name = e->key + strlen("label.");
    if (!iocd_adapter_name_ok(name, strlen(name), JSON_MAX_METRIC_NAME))
        return iocd_adapter_cfg_fail(c, e,
                        "label name must be 1 to 64 characters of letters, digits, '_', '.' "
                        "and '-'");
    if (iocd_adapter_cfg_given_twice(c, section, idx))
        return -1;
    if (!*e->value)
        return iocd_adapter_cfg_fail(c, e, "expected a path, e.g. '$.site'");
    struct json_label *l = &st->labels[st->n_labels++];
    memset(l, 0, sizeof(*l));
    l->name = strdup(name);
    if (!l->name)
        return iocd_error_set(c->err, "out of memory");
    return compile_rpath(c, st, e, e->value, &l->path, &l->envelope);
}

/* "a, B ,c" → lower-case words; -1 (nothing allocated past *out) when a
 * word is empty or there are too many. */
static int parse_word_list(const char *v, char ***out, size_t *n_out)
{
    char **words = calloc(JSON_MAX_WORDS, sizeof(*words));
    if (!words)
        return -1;
    size_t n = 0;
    const char *p = v;
    for (;;) {
        p = skip_blanks(p);
        const char *b = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == b || n == JSON_MAX_WORDS)
            goto bad;
        words[n] = strndup(b, (size_t)(e - b));
        if (!words[n])
            goto bad;
        for (char *q = words[n]; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        n++;
        if (!*p)
            break;
        p++;
    }
    *out = words;
    *n_out = n;
    return 0;
bad:
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    free(words);
    return -1;
}

/* The json format's keys, declared once. */
struct json_entries {
    struct iocd_ini_entry *device, *time, *time_format, *time_offset, *records, *metric_from_topic,
        *value, *labels, *status, *invalid, *valid, *states;
};

static const struct iocd_key json_keys[] = {
    IOCD_ADAPTER_KEY(struct json_entries, device,
                     "a JSON path, or topic[N] (required)"),
    IOCD_ADAPTER_KEY(struct json_entries, time,
                     "JSON path of the observation time (default: the receive time)"),
    IOCD_ADAPTER_KEY(struct json_entries, time_format,
                     "auto, iso8601, s, ms or us (default auto; only with time)"),
    IOCD_ADAPTER_KEY(struct json_entries, time_offset,
                     "UTC offset of ISO-8601 times without one (default +00:00; only with time)"),
    IOCD_ADAPTER_KEY(struct json_entries, records,
                     "JSON path of an array of records ($ or $.data; default: one record)"),
    IOCD_ADAPTER_KEY(struct json_entries, metric_from_topic,
                     "N: the one value (value) is named after topic level N"),
    IOCD_ADAPTER_KEY(struct json_entries, value,
                     "with metric_from_topic: PATH [UNIT] [scale=X] [offset=Y]"),
    IOCD_ADAPTER_KEY(struct json_entries, labels,
                     "all_strings: every other top-level string member becomes a label"),
    IOCD_ADAPTER_KEY(struct json_entries, status,
                     "JSON path of the sample status (default: every sample is good)"),
    IOCD_ADAPTER_KEY(struct json_entries, invalid,
                     "with status: values that make a sample invalid (default calibrating, "
                     "maintenance, error, fault, invalid)"),
    IOCD_ADAPTER_KEY(struct json_entries, valid,
                     "with status: the only values that are good (default: all but invalid)"),
    IOCD_ADAPTER_KEY(struct json_entries, states,
                     "metric names whose string values are enumerated states (on, off, "
                     "fault), or * for every metric (default: none; docs/states.md)"),
    IOCD_ADAPTER_PREFIX("metric.NAME",
                        "PATH [UNIT] [scale=X] [offset=Y]: one metric (at least one, unless "
                        "metric_from_topic)"),
    IOCD_ADAPTER_PREFIX("label.NAME", "JSON path of a string or number that becomes label NAME"),
};

static int read_status(const struct iocd_adapter_cfg *c, struct json_state *st,
                       const struct json_entries *k)
{
    struct iocd_ini_entry *status = k->status, *invalid = k->invalid, *valid = k->valid;
    if (!status) {
        if (invalid || valid)
            return iocd_adapter_cfg_fail(c, invalid ? invalid : valid,
                            "has no effect without 'status' (every sample is good)");
        return 0;
    }
    if (compile_rpath(c, st, status, status->value, &st->status, &st->status_envelope))
        return -1;
    const char *list = invalid ? invalid->value : "calibrating, maintenance, error, fault, invalid";
    if (parse_word_list(list, &st->invalid, &st->n_invalid))
        return iocd_adapter_cfg_fail(c, invalid ? invalid : status,
                        "expected a comma-separated list of 1 to 16 status values, e.g. "
                        "'calibrating, error'");
    if (valid && parse_word_list(valid->value, &st->valid, &st->n_valid))
        return iocd_adapter_cfg_fail(c, valid,
                        "expected a comma-separated list of 1 to 16 status values, e.g. "
                        "'ok, normal'");
    return 0;
}

/* records, device, time, time_format and time_offset. */
static int read_device_time(const struct iocd_adapter_cfg *c, struct json_state *st,
                            const struct json_entries *k, int line)
{
    struct iocd_ini_entry *device = k->device, *time = k->time, *time_format = k->time_format,
                          *time_offset = k->time_offset, *records = k->records;
    if (records) {
        if (records->value[0] == '^')
            return iocd_adapter_cfg_fail(c, records, "is always read in the whole message: drop the '^'");
        if (iocd_adapter_compile_path(c, records, records->value, &st->records))
            return -1;
    }

    if (!device)
        return iocd_error_at(c->err, c->ini->path, line,
                             "[adapter %s] device: required key missing (a JSON path such as "
                             "$.id, or topic[N])",
                             c->section);
    int tl = iocd_adapter_parse_topic_level(device->value, JSON_MAX_TOPIC_LEVEL, &st->device_level);
    if (tl < 0)
        return iocd_adapter_cfg_fail(c, device, "expected topic[N] with N a topic level from 0 to 255");
    if (tl == 0 &&
        compile_rpath(c, st, device, device->value, &st->device, &st->device_envelope))
        return -1;

    if (time && compile_rpath(c, st, time, time->value, &st->time, &st->time_envelope))
        return -1;
    if (!time && (time_format || time_offset))
        return iocd_adapter_cfg_fail(c, time_format ? time_format : time_offset,
                        "has no effect without 'time' (the receive time is used)");

    st->time_unit = IOCD_TIME_AUTO;
    if (time_format && iocd_adapter_time_format(time_format->value, &st->time_unit))
        return iocd_adapter_cfg_fail(c, time_format, IOCD_ADAPTER_TIME_FORMATS);

    st->time_offset_s = 0;
    if (time_offset && iocd_adapter_parse_offset(time_offset->value, &st->time_offset_s))
        return iocd_adapter_cfg_fail(c, time_offset, "expected an offset such as +07:00, -05:30 or Z");

    return 0;
}

/* labels, label.NAME, metric_from_topic with value, or metric.NAME. */
static int read_metrics(const struct iocd_adapter_cfg *c, struct json_state *st,
                        struct iocd_ini_section *section, const struct json_entries *k)
{
    struct iocd_ini_entry *mft = k->metric_from_topic, *value = k->value, *labels = k->labels;

    if (labels) {
        if (strcmp(labels->value, "all_strings") != 0)
            return iocd_adapter_cfg_fail(c, labels, "expected all_strings");
        st->all_strings = true;
    }
    size_t n = 0, nl = 0;
    for (size_t i = 0; i < section->n_entries; i++) {
        if (strncmp(section->entries[i].key, "metric.", 7) == 0)
            n++;
        else if (strncmp(section->entries[i].key, "label.", 6) == 0)
            nl++;
    }
    if (nl > JSON_MAX_LABELS)
        return iocd_error_at(c->err, c->ini->path, section->line,
                             "[adapter %s] too many label.NAME keys (at most %d)", c->section,
                             JSON_MAX_LABELS);
    if (nl) {
        st->labels = calloc(nl, sizeof(*st->labels));
        if (!st->labels)
            return iocd_error_set(c->err, "out of memory");
        for (size_t i = 0; i < section->n_entries; i++) {
            struct iocd_ini_entry *e = &section->entries[i];
            if (strncmp(e->key, "label.", 6) != 0)
                continue;
            e->used = true;
            if (add_label(c, st, section, i))
                return -1;
        }
    }

    st->metric_level = -1;
    if (mft) {
        int lvl = 0;
        const char *p = mft->value;
        if (!*p)
            return iocd_adapter_cfg_fail(c, mft, "expected a topic level from 0 to 255");
        for (; *p; p++) {
            if (*p < '0' || *p > '9' || (lvl = lvl * 10 + (*p - '0')) > JSON_MAX_TOPIC_LEVEL)
                return iocd_adapter_cfg_fail(c, mft, "expected a topic level from 0 to 255");
        }
        if (n)
            return iocd_adapter_cfg_fail(c, mft, "cannot be combined with 'metric.NAME' keys");
        if (!value)
            return iocd_adapter_cfg_fail(c, mft, "needs 'value = PATH [UNIT]' (the one value)");
        if (!*value->value)
            return iocd_adapter_cfg_fail(c, value, "expected 'PATH [UNIT]', e.g. '$.v ug/m3'");
        st->metric_level = lvl;
        st->metrics = calloc(1, sizeof(*st->metrics));
        if (!st->metrics)
            return iocd_error_set(c->err, "out of memory");
        st->n_metrics = 1;
        return parse_metric_value(c, st, value, &st->metrics[0]);
    }
    if (value)
        return iocd_adapter_cfg_fail(c, value, "has no effect without 'metric_from_topic'");

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

/* Add path p's top-level name to st->want (once); false when p is deeper. */
static bool want_name(struct json_state *st, const struct iocd_jsonpath *p)
{
    if (!p)
        return true;
    const char *name = iocd_jsonpath_top_name(p);
    if (!name)
        return false;
    size_t len = strlen(name);
    for (size_t i = 0; i < st->n_want; i++)
        if (st->want[i].name_len == len && memcmp(st->want[i].name, name, len) == 0)
            return true;
    st->want[st->n_want].name = name;
    st->want[st->n_want++].name_len = len;
    return true;
}

/* Whether the scanner's fast path serves this section (see the top). */
static int plan_scan(struct json_state *st)
{
    if (st->records || st->all_strings)
        return 0;
    st->want = calloc(4 + st->n_metrics + st->n_labels, sizeof(*st->want));
    if (!st->want)
        return -1;
    bool ok = want_name(st, st->device) && want_name(st, st->time) && want_name(st, st->status);
    for (size_t i = 0; ok && i < st->n_metrics; i++)
        ok = want_name(st, st->metrics[i].path);
    for (size_t i = 0; ok && i < st->n_labels; i++)
        ok = want_name(st, st->labels[i].path);
    if (!ok) {
        free(st->want);
        st->want = NULL;
        st->n_want = 0;
    }
    return 0;
}

static int read_config(const struct iocd_adapter_cfg *c, void *state,
                       struct iocd_ini_section *section, const void *entries)
{
    struct json_state *st = state;
    const struct json_entries *k = entries;
    if (read_device_time(c, st, k, section->line) || read_status(c, st, k) ||
        read_metrics(c, st, section, k) || iocd_adapter_states_read(c, k->states, &st->states))
        return -1;
    return plan_scan(st);
}

static const struct iocd_adapter_spec json_spec = {
    json_keys, sizeof(json_keys) / sizeof(json_keys[0]), sizeof(struct json_entries),
    sizeof(struct json_state), offsetof(struct json_state, source), read_config, json_destroy,
};

static int json_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                       const char *source, void **state, struct iocd_error *err)
{
    return iocd_adapter_create(&json_spec, ini, section, source, state, err);
}

/* ---- decode ---- */

static enum iocd_reject get_device(const struct json_state *st, const struct iocd_message *msg,
                                   const cJSON *root, const cJSON *whole, struct iocd_batch *out,
                                   const char **dev)
{
    char buf[48];
    const char *s;
    size_t n;
    char num[32];
    if (!st->device) {
        if (!iocd_adapter_topic_level(msg->topic, st->device_level, &s, &n))
            return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                                   "device: topic has no level %d", st->device_level);
        const char *why = iocd_adapter_id_problem(s, n);
        if (why)
            return iocd_batch_fail(out, IOCD_REJECT_BAD_ID, "device: topic level %d %s",
                                   st->device_level, why);
    } else {
        const char *path = iocd_jsonpath_text(st->device);
        const cJSON *d = iocd_jsonpath_get(st->device, st->device_envelope ? whole : root);
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
                                   iocd_adapter_json_type(d));
        }
        const char *why = iocd_adapter_id_problem(s, n);
        if (why)
            return iocd_batch_fail(out, IOCD_REJECT_BAD_ID, "device %s '%s' %s", path,
                                   iocd_adapter_printable(s, buf, sizeof(buf)), why);
    }
    *dev = iocd_arena_strndup(out->arena, s, n);
    if (!*dev)
        return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory for the device id");
    return IOCD_REJECT_NONE;
}

/* The observation time into *ms, or a reject. */
static enum iocd_reject get_time(const struct json_state *st, const struct iocd_message *msg,
                                 const cJSON *root, const cJSON *whole, struct iocd_batch *out,
                                 int64_t *ms)
{
    if (!st->time) {
        *ms = msg->received_ms;
        return IOCD_REJECT_NONE;
    }
    const char *path = iocd_jsonpath_text(st->time);
    const cJSON *t = iocd_jsonpath_get(st->time, st->time_envelope ? whole : root);
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
                                   iocd_adapter_printable(t->valuestring, buf, sizeof(buf)));
        return IOCD_REJECT_NONE;
    }
    return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "time %s is %s", path,
                           iocd_adapter_json_type(t));
}

/* The node of metric m / label l in this record. */
static const cJSON *metric_node(const struct json_metric *m, const cJSON *rec, const cJSON *whole)
{
    return iocd_jsonpath_get(m->path, m->envelope ? whole : rec);
}

/* Text of a string, or of a number printed shortest round-trip, into buf;
 * NULL for other types. */
static const char *scalar_text(const cJSON *n, char *buf, size_t size)
{
    if (cJSON_IsString(n))
        return n->valuestring;
    if (!cJSON_IsNumber(n))
        return NULL;
    char t[IOCD_NUMBER_MAX]; /* %g layout, as the %.{1..17}g loop it replaced */
    size_t len = iocd_number_format_g(t, n->valuedouble);
    snprintf(buf, size, "%.*s", (int)len, t);
    return buf;
}

static bool word_in(const char *s, char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    return false;
}

/* The quality of this record's samples, or a reject. */
static enum iocd_reject get_quality(const struct json_state *st, const cJSON *rec,
                                    const cJSON *whole, struct iocd_batch *out,
                                    Ioc__V1__Quality *q)
{
    *q = IOC__V1__QUALITY__QUALITY_GOOD;
    if (!st->status)
        return IOCD_REJECT_NONE;
    const cJSON *n = iocd_jsonpath_get(st->status, st->status_envelope ? whole : rec);
    if (!n || cJSON_IsNull(n))
        return IOCD_REJECT_NONE;
    char buf[32];
    const char *s = scalar_text(n, buf, sizeof(buf));
    if (!s)
        return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "status %s is %s",
                               iocd_jsonpath_text(st->status), iocd_adapter_json_type(n));
    if (word_in(s, st->invalid, st->n_invalid) ||
        (st->valid && !word_in(s, st->valid, st->n_valid)))
        *q = IOC__V1__QUALITY__QUALITY_INVALID;
    return IOCD_REJECT_NONE;
}

/* Is `n` a node some configured path picks in this record? */
static bool node_used(const struct json_state *st, const cJSON *rec, const cJSON *n)
{
    if (st->device && !st->device_envelope && iocd_jsonpath_get(st->device, rec) == n)
        return true;
    if (st->time && !st->time_envelope && iocd_jsonpath_get(st->time, rec) == n)
        return true;
    if (st->status && !st->status_envelope && iocd_jsonpath_get(st->status, rec) == n)
        return true;
    for (size_t i = 0; i < st->n_metrics; i++)
        if (!st->metrics[i].envelope && iocd_jsonpath_get(st->metrics[i].path, rec) == n)
            return true;
    for (size_t i = 0; i < st->n_labels; i++)
        if (!st->labels[i].envelope && iocd_jsonpath_get(st->labels[i].path, rec) == n)
            return true;
    return false;
}

/* Labels of one record, shared by its observations (arena). */
struct rec_labels {
    const char *key[JSON_MAX_LABELS + JSON_MAX_AUTO_LABELS];
    const char *value[JSON_MAX_LABELS + JSON_MAX_AUTO_LABELS];
    size_t n;
};

static bool label_value_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= JSON_MAX_LABEL_VALUE && iocd_adapter_valid_utf8((const unsigned char *)s, n);
}

static enum iocd_reject get_labels(const struct json_state *st, const cJSON *rec,
                                   const cJSON *whole, struct iocd_batch *out,
                                   struct rec_labels *L)
{
    L->n = 0;
    char buf[32], pb[48];
    for (size_t i = 0; i < st->n_labels; i++) {
        const struct json_label *l = &st->labels[i];
        const cJSON *n = iocd_jsonpath_get(l->path, l->envelope ? whole : rec);
        if (!n || cJSON_IsNull(n))
            continue;
        const char *s = scalar_text(n, buf, sizeof(buf));
        if (!s)
            return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "label %s %s is %s", l->name,
                                   iocd_jsonpath_text(l->path), iocd_adapter_json_type(n));
        if (!*s)
            continue;
        if (!label_value_ok(s))
            return iocd_batch_fail(out, IOCD_REJECT_BAD_ID,
                                   "label %s %s '%s' is longer than 128 bytes or not UTF-8",
                                   l->name, iocd_jsonpath_text(l->path),
                                   iocd_adapter_printable(s, pb, sizeof(pb)));
        L->key[L->n] = l->name;
        L->value[L->n] = iocd_arena_strdup(out->arena, s);
        if (!L->value[L->n])
            return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory for a label");
        L->n++;
    }
    if (!st->all_strings || !cJSON_IsObject(rec))
        return IOCD_REJECT_NONE;
    size_t added = 0;
    for (const cJSON *m = rec->child; m && added < JSON_MAX_AUTO_LABELS; m = m->next) {
        if (!cJSON_IsString(m) || !m->string ||
            !iocd_adapter_name_ok(m->string, strlen(m->string), JSON_MAX_METRIC_NAME))
            continue;
        if (!label_value_ok(m->valuestring) || node_used(st, rec, m))
            continue;
        bool taken = false;
        for (size_t k = 0; k < L->n && !taken; k++)
            taken = strcmp(L->key[k], m->string) == 0;
        if (taken)
            continue;
        L->key[L->n] = m->string;
        L->value[L->n] = m->valuestring;
        L->n++;
        added++;
    }
    return IOCD_REJECT_NONE;
}

/* True when a string value of metric `m` (named `topic_name` with
 * metric_from_topic) is a state. */
static bool is_state(const struct json_state *st, const struct json_metric *m,
                     const char *topic_name)
{
    const char *name = m->name ? m->name : topic_name;
    return name && iocd_adapter_states_has(&st->states, name);
}

/* One record's observations, appended to `out`; on a reject nothing of the
 * record stays in `out`. `rec` is the record, `whole` the message. */
static enum iocd_reject decode_record(const struct json_state *st, const struct iocd_message *msg,
                                      const cJSON *rec, const cJSON *whole,
                                      struct iocd_batch *out)
{
    const char *device;
    int64_t observed_ms;
    Ioc__V1__Quality quality;
    struct rec_labels L;
    const char *metric_name = NULL;
    size_t n0 = out->n_obs;
    if (!cJSON_IsObject(rec))
        return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "record is %s, not an object",
                               iocd_adapter_json_type(rec));
    enum iocd_reject r = get_device(st, msg, rec, whole, out, &device);
    if (r != IOCD_REJECT_NONE)
        return r;
    r = get_time(st, msg, rec, whole, out, &observed_ms);
    if (r != IOCD_REJECT_NONE)
        return r;
    r = get_quality(st, rec, whole, out, &quality);
    if (r != IOCD_REJECT_NONE)
        return r;
    if (st->metric_level >= 0) {
        const char *s;
        size_t n;
        if (!iocd_adapter_topic_level(msg->topic, st->metric_level, &s, &n))
            return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "metric: topic has no level %d",
                                   st->metric_level);
        if (!iocd_adapter_name_ok(s, n, JSON_MAX_METRIC_NAME))
            return iocd_batch_fail(out, IOCD_REJECT_BAD_ID,
                                   "metric: topic level %d must be 1 to 64 characters of "
                                   "letters, digits, '_', '.' and '-'",
                                   st->metric_level);
        metric_name = iocd_arena_strndup(out->arena, s, n);
        if (!metric_name)
            goto nomem;
    }

    /* Check every metric before adding any: a record is stored whole or
     * not at all. */
    size_t present = 0;
    /* The metrics' nodes, found once for the check and the adding (a
     * section with more metrics finds the rest again). */
    const cJSON *node[JSON_NODES_KEPT];
    for (size_t i = 0; i < st->n_metrics; i++) {
        const cJSON *v = metric_node(&st->metrics[i], rec, whole);
        if (i < JSON_NODES_KEPT)
            node[i] = v;
        if (!v || cJSON_IsNull(v))
            continue;
        if (!cJSON_IsNumber(v) && !(cJSON_IsString(v) && is_state(st, &st->metrics[i], metric_name)))
            return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "%s is %s",
                                   iocd_jsonpath_text(st->metrics[i].path),
                                   iocd_adapter_json_type(v));
        present++;
    }
    if (present == 0)
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                               "none of the %zu metric fields is present (first: %s)",
                               st->n_metrics, iocd_jsonpath_text(st->metrics[0].path));
    r = get_labels(st, rec, whole, out, &L);
    if (r != IOCD_REJECT_NONE)
        return r;

    for (size_t i = 0; i < st->n_metrics; i++) {
        const struct json_metric *m = &st->metrics[i];
        const cJSON *v = i < JSON_NODES_KEPT ? node[i] : metric_node(m, rec, whole);
        if (!v || (!cJSON_IsNumber(v) && !cJSON_IsString(v)))
            continue; /* a string here is a state: checked above */
        Ioc__V1__Observation *o = iocd_batch_add_observation(out);
        if (!o)
            goto nomem;
        /* The section's own names, not copies: they outlive the batch
         * (adapter.h). */
        o->source = st->source;
        o->device = (char *)device;
        o->metric = m->name ? m->name : (char *)metric_name;
        o->unit = m->unit;
        if (cJSON_IsString(v)) {
            /* A state (docs/states.md): checked by the pipeline, bad_state. */
            o->state = iocd_arena_strdup(out->arena, v->valuestring);
            if (!o->state)
                goto nomem;
        } else {
            o->value = m->scaled ? v->valuedouble * m->scale + m->offset : v->valuedouble;
        }
        o->observed_ms = observed_ms;
        o->received_ms = msg->received_ms;
        o->quality = quality;
        for (size_t k = 0; k < L.n; k++)
            if (iocd_observation_add_label(out, o, L.key[k], L.value[k]))
                goto nomem;
    }
    return IOCD_REJECT_NONE;

nomem:
    out->n_obs = n0;
    return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY,
                           "decode needs more memory than the arena allows");
}

/* Everything after the parse; `root` is freed by the caller. */
static enum iocd_reject decode_root(const struct json_state *st, const struct iocd_message *msg,
                                    const cJSON *root, struct iocd_batch *out)
{
    if (!st->records)
        return decode_record(st, msg, root, root, out);
    const char *path = iocd_jsonpath_text(st->records);
    const cJSON *arr = iocd_jsonpath_get(st->records, root);
    if (!arr || cJSON_IsNull(arr))
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "records %s is missing", path);
    if (!cJSON_IsArray(arr))
        return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "records %s is %s, not an array", path,
                               iocd_adapter_json_type(arr));
    if (!arr->child)
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "records %s is empty", path);
    enum iocd_reject first = IOCD_REJECT_NONE;
    char first_detail[sizeof(out->detail) + 32];
    size_t good = 0, idx = 0;
    const cJSON *rec = arr->child;
    for (; rec && idx < JSON_MAX_RECORDS; rec = rec->next, idx++) {
        enum iocd_reject r = decode_record(st, msg, rec, root, out);
        if (r == IOCD_REJECT_NONE) {
            good++;
            continue;
        }
        if (r == IOCD_REJECT_NO_MEMORY) {
            out->n_obs = 0;
            memset(out->notes, 0, sizeof(out->notes));
            return r;
        }
        if (first == IOCD_REJECT_NONE) {
            first = r;
            snprintf(first_detail, sizeof(first_detail), "record %zu: %s", idx, out->detail);
        }
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "record %zu skipped (%s): %s", idx,
                        iocd_reject_name(r), out->detail);
    }
    if (good == 0) {
        memset(out->notes, 0, sizeof(out->notes));
        out->note_detail[0] = '\0';
        return iocd_batch_fail(out, first, "%s", first_detail);
    }
    if (rec) {
        size_t rest = 0;
        for (; rec; rec = rec->next)
            rest++;
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "%zu records after the first %d skipped", rest,
                        JSON_MAX_RECORDS);
    }
    return IOCD_REJECT_NONE;
}

/* The fast path: the wanted members as cJSON nodes under a root of their
 * own, all in the arena. 1 decoded (into *r), 0 the scanner declined (parse
 * whole), -1 out of memory (*r set). */
static int decode_scanned(const struct json_state *st, const struct iocd_message *msg,
                          struct iocd_batch *out, enum iocd_reject *r)
{
    struct iocd_json_member *m = iocd_arena_alloc(out->arena, st->n_want * sizeof(*m));
    cJSON *nodes = iocd_arena_alloc(out->arena, (st->n_want + 1) * sizeof(*nodes));
    if (!m || !nodes) {
        *r = iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory for the payload");
        return -1;
    }
    memcpy(m, st->want, st->n_want * sizeof(*m));
    if (!iocd_json_scan_object((const char *)msg->payload, msg->len, m, st->n_want))
        return 0;
    static const int type_of[] = {
        [IOCD_JSON_NULL] = cJSON_NULL,     [IOCD_JSON_FALSE] = cJSON_False,
        [IOCD_JSON_TRUE] = cJSON_True,     [IOCD_JSON_NUMBER] = cJSON_Number,
        [IOCD_JSON_STRING] = cJSON_String, [IOCD_JSON_OBJECT] = cJSON_Object,
        [IOCD_JSON_ARRAY] = cJSON_Array,
    };
    cJSON *root = &nodes[st->n_want], *last = NULL;
    memset(nodes, 0, (st->n_want + 1) * sizeof(*nodes));
    root->type = cJSON_Object;
    for (size_t i = 0; i < st->n_want; i++) {
        if (m[i].kind == IOCD_JSON_ABSENT)
            continue;
        cJSON *n = &nodes[i];
        n->type = type_of[m[i].kind];
        n->string = (char *)m[i].name;
        if (m[i].kind == IOCD_JSON_STRING) {
            n->valuestring = iocd_arena_strndup(out->arena, m[i].text, m[i].text_len);
            if (!n->valuestring) {
                *r = iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory for the payload");
                return -1;
            }
        } else if (m[i].kind == IOCD_JSON_NUMBER) {
            /* The scanner passes at most 63 bytes, as cJSON reads; out of
             * range it is strtod's infinity, as cJSON's. */
            n->valuedouble = 0;
            iocd_number_parse(m[i].text, m[i].text_len, &n->valuedouble);
        }
        if (last) {
            last->next = n;
            n->prev = last;
        } else {
            root->child = n;
        }
        last = n;
    }
    *r = decode_root(st, msg, root, out);
    return 1;
}

static enum iocd_reject json_decode(void *state, const struct iocd_message *msg,
                                    struct iocd_batch *out)
{
    const struct json_state *st = state;
    enum iocd_reject fast;
    if (st->n_want && msg->len && msg->payload && decode_scanned(st, msg, out, &fast) != 0)
        return fast;
    cJSON *root;
    enum iocd_reject r = iocd_adapter_json_parse(msg, out, &root);
    if (r != IOCD_REJECT_NONE)
        return r;
    if (!cJSON_IsObject(root) && !(st->records && cJSON_IsArray(root)))
        r = iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "payload is JSON %s, not an object",
                            iocd_adapter_json_type(root));
    else
        r = decode_root(st, msg, root, out);
    cJSON_Delete(root);
    return r;
}

const struct iocd_adapter_ops iocd_adapter_json = {
    .name = "json",
    .keys = json_keys,
    .n_keys = sizeof(json_keys) / sizeof(json_keys[0]),
    .create = json_create,
    .decode = json_decode,
    .destroy = json_destroy,
};
