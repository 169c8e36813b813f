/* adapters/text.c — the `text` adapter: plain-text payloads in one of three
 * modes (see docs/adapters.md (text)):
 *   number      the whole payload is one number ("21.5")
 *   kv          key=value pairs ("temp=21.5;hum=40&status=ok")
 *   ultralight  FIWARE IoT Agent UltraLight 2.0 measures
 *               ("2026-11-22T10:04:05Z|t|21.5|h|40#t|22")
 *
 * Owns: struct text_state (the mode, device and metric rules, units, metric
 * renames, the time key and the source name), built by create() and freed
 * by destroy(). decode() checks the whole payload is UTF-8 text, then puts
 * every string, scratch array and observation it produces in the batch's
 * arena. A message is stored whole or not at all (only over-long labels are
 * dropped, with a "partial" note). */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/common.h"
#include "daemon/base/timeutil.h"

#define TEXT_MAX_ID 128          /* bytes in a device id or metric name */
#define TEXT_MAX_LABEL 128       /* bytes in a label key or value */
#define TEXT_MAX_UNIT 32         /* bytes in a configured unit */
#define TEXT_MAX_METRIC_NAME 64  /* characters in a configured metric name */
#define TEXT_MAX_TOPIC_LEVEL 255

enum text_mode { TEXT_NUMBER, TEXT_KV, TEXT_UL };

struct text_pair {
    char *key;   /* owned */
    char *value; /* owned */
};

struct text_state {
    char *source; /* owned */
    enum text_mode mode;
    bool device_default; /* ultralight without `device`: topic[2] after a leading '/',
                          * else topic[1] */
    int device_level;    /* topic[N] when !device_default && !device_key */
    char *device_key;    /* kv `device = key:NAME`; owned */
    int metric_level;    /* number `metric = topic[M]`; -1 for a literal name */
    char *metric_name;   /* number `metric = NAME`; owned */
    char *unit;          /* number `unit`; owned, "" when absent */
    char *time_key;      /* kv; owned, NULL: the receive time */
    struct text_pair *units; /* unit.KEY; owned */
    size_t n_units;
    struct text_pair *renames; /* metric.KEY; owned */
    size_t n_renames;
};

static void free_pairs(struct text_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].key);
        free(p[i].value);
    }
    free(p);
}

static void text_destroy(void *state)
{
    struct text_state *st = state;
    if (!st)
        return;
    free_pairs(st->units, st->n_units);
    free_pairs(st->renames, st->n_renames);
    free(st->device_key);
    free(st->metric_name);
    free(st->unit);
    free(st->time_key);
    free(st->source);
    free(st);
}

/* ---- create ---- */

static const char unit_what[] =
    "expected a unit of 1 to 32 characters without blanks, such as km/h, Cel or %";
static const char name_what[] =
    "expected a metric name of 1 to 64 characters of letters, digits, '_', '.' and '-'";

/* The `PREFIX.KEY = VALUE` family (unit.* or metric.*) into *out. */
static int read_family(const struct iocd_adapter_cfg *c, struct iocd_ini_section *section,
                       const char *prefix, bool is_unit, bool allowed, struct text_pair **out,
                       size_t *n_out)
{
    size_t pl = strlen(prefix), n = iocd_adapter_cfg_count_prefix(section, prefix);
    if (n == 0)
        return 0;
    *out = calloc(n, sizeof(**out));
    if (!*out)
        return iocd_error_set(c->err, "out of memory");
    for (size_t i = 0; i < section->n_entries; i++) {
        struct iocd_ini_entry *e = &section->entries[i];
        if (strncmp(e->key, prefix, pl) != 0)
            continue;
        e->used = true;
        if (!allowed)
            return iocd_adapter_cfg_fail(c, e,
                            is_unit ? "only in mode = kv or ultralight (mode = number uses 'unit')"
                                    : "only in mode = kv or ultralight (mode = number uses "
                                      "'metric')");
        if (e->key[pl] == '\0')
            return iocd_adapter_cfg_fail(c, e, is_unit ? "the key after 'unit.' is empty"
                                          : "the key after 'metric.' is empty");
        if (iocd_adapter_cfg_given_twice(c, section, i))
            return -1;
        if (is_unit ? !iocd_adapter_valid_unit(e->value, TEXT_MAX_UNIT)
                    : !iocd_adapter_name_ok(e->value, strlen(e->value), TEXT_MAX_METRIC_NAME))
            return iocd_adapter_cfg_fail(c, e, is_unit ? unit_what : name_what);
        struct text_pair *p = &(*out)[*n_out];
        p->key = strdup(e->key + pl);
        p->value = strdup(e->value);
        if (!p->key || !p->value) {
            free(p->key);
            free(p->value);
            return iocd_error_set(c->err, "out of memory");
        }
        (*n_out)++;
    }
    return 0;
}

/* The text format's keys, declared once. */
struct text_entries {
    struct iocd_ini_entry *mode, *device, *metric, *unit, *time_key;
};

static const struct iocd_key text_keys[] = {
    IOCD_ADAPTER_KEY(struct text_entries, mode, "number, kv or ultralight (required)"),
    IOCD_ADAPTER_KEY(struct text_entries, device,
                     "topic[N]; kv: or key:NAME (number, kv: required; ultralight: default the "
                     "level after the API key)"),
    IOCD_ADAPTER_KEY(struct text_entries, metric,
                     "number: topic[M] or a metric name (required)"),
    IOCD_ADAPTER_KEY(struct text_entries, unit, "number: the unit of the value (default none)"),
    IOCD_ADAPTER_KEY(struct text_entries, time_key,
                     "kv: the key holding the observation time (default: the receive time)"),
    IOCD_ADAPTER_PREFIX("metric.KEY", "kv, ultralight: payload key KEY becomes this metric name"),
    IOCD_ADAPTER_PREFIX("unit.KEY", "kv, ultralight: the unit of payload key KEY's values"),
};

static int read_config(const struct iocd_adapter_cfg *c, void *state,
                       struct iocd_ini_section *section, const void *entries)
{
    struct text_state *st = state;
    const struct text_entries *k = entries;
    struct iocd_ini_entry *mode = k->mode, *device = k->device, *metric = k->metric,
                          *unit = k->unit, *time_key = k->time_key;

    if (!mode)
        return iocd_error_at(c->err, c->ini->path, section->line,
                             "[adapter %s] mode: required key missing (number, kv or ultralight)",
                             c->section);
    if (strcmp(mode->value, "number") == 0)
        st->mode = TEXT_NUMBER;
    else if (strcmp(mode->value, "kv") == 0)
        st->mode = TEXT_KV;
    else if (strcmp(mode->value, "ultralight") == 0)
        st->mode = TEXT_UL;
    else
        return iocd_adapter_cfg_fail(c, mode, "expected number, kv or ultralight");

    /* device */
    if (!device) {
        if (st->mode == TEXT_NUMBER)
            return iocd_error_at(c->err, c->ini->path, section->line,
                                 "[adapter %s] device: required key missing (topic[N])",
                                 c->section);
        if (st->mode == TEXT_KV)
            return iocd_error_at(c->err, c->ini->path, section->line,
                                 "[adapter %s] device: required key missing (topic[N] or "
                                 "key:NAME)",
                                 c->section);
        st->device_default = true;
    } else if (st->mode == TEXT_KV && strncmp(device->value, "key:", 4) == 0) {
        if (device->value[4] == '\0')
            return iocd_adapter_cfg_fail(c, device, "expected key:NAME, the key name is empty");
        st->device_key = strdup(device->value + 4);
        if (!st->device_key)
            return iocd_error_set(c->err, "out of memory");
    } else if (iocd_adapter_parse_topic_level(device->value, TEXT_MAX_TOPIC_LEVEL, &st->device_level) <= 0) {
        return iocd_adapter_cfg_fail(c, device,
                        st->mode == TEXT_KV
                            ? "expected topic[N] with N a topic level from 0 to 255, or key:NAME"
                            : "expected topic[N] with N a topic level from 0 to 255");
    }

    /* metric */
    st->metric_level = -1;
    if (st->mode == TEXT_NUMBER) {
        if (!metric)
            return iocd_error_at(c->err, c->ini->path, section->line,
                                 "[adapter %s] metric: required key missing (topic[M] or a "
                                 "metric name)",
                                 c->section);
        if (iocd_adapter_parse_topic_level(metric->value, TEXT_MAX_TOPIC_LEVEL, &st->metric_level) <= 0) {
            st->metric_level = -1;
            if (strncmp(metric->value, "topic[", 6) == 0)
                return iocd_adapter_cfg_fail(c, metric, "expected topic[M] with M a topic level from 0 to 255");
            if (!iocd_adapter_name_ok(metric->value, strlen(metric->value), TEXT_MAX_METRIC_NAME))
                return iocd_adapter_cfg_fail(c, metric, "expected topic[M] or a metric name of 1 to 64 "
                                           "characters of letters, digits, '_', '.' and '-'");
            st->metric_name = strdup(metric->value);
            if (!st->metric_name)
                return iocd_error_set(c->err, "out of memory");
        }
    } else if (metric) {
        return iocd_adapter_cfg_fail(c, metric, "only in mode = number (use metric.KEY to rename a key)");
    }

    /* unit */
    if (st->mode == TEXT_NUMBER) {
        if (unit && !iocd_adapter_valid_unit(unit->value, TEXT_MAX_UNIT))
            return iocd_adapter_cfg_fail(c, unit, unit_what);
        st->unit = strdup(unit ? unit->value : "");
        if (!st->unit)
            return iocd_error_set(c->err, "out of memory");
    } else if (unit) {
        return iocd_adapter_cfg_fail(c, unit, "only in mode = number (use unit.KEY)");
    }

    /* time_key */
    if (time_key) {
        if (st->mode != TEXT_KV)
            return iocd_adapter_cfg_fail(c, time_key, "only in mode = kv");
        if (time_key->value[0] == '\0')
            return iocd_adapter_cfg_fail(c, time_key, "expected the name of a key");
        if (st->device_key && strcmp(st->device_key, time_key->value) == 0)
            return iocd_adapter_cfg_fail(c, time_key, "is also the device key");
        st->time_key = strdup(time_key->value);
        if (!st->time_key)
            return iocd_error_set(c->err, "out of memory");
    }

    bool families = st->mode != TEXT_NUMBER;
    if (read_family(c, section, "unit.", true, families, &st->units, &st->n_units))
        return -1;
    return read_family(c, section, "metric.", false, families, &st->renames, &st->n_renames);
}

static const struct iocd_adapter_spec text_spec = {
    text_keys, sizeof(text_keys) / sizeof(text_keys[0]), sizeof(struct text_entries),
    sizeof(struct text_state), offsetof(struct text_state, source), read_config, text_destroy,
};

static int text_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                       const char *source, void **state, struct iocd_error *err)
{
    return iocd_adapter_create(&text_spec, ini, section, source, state, err);
}

/* ---- decode: helpers ---- */

static bool is_control(unsigned char ch)
{
    return ch < 0x20 || ch == 0x7f;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

enum num_kind { NUM_OK, NUM_NOT_FINITE, NUM_NOT_A_NUMBER, NUM_NO_MEMORY };

/* "nan", "inf", "infinity" in any case, optionally signed. */
/* A decimal number in strtod's syntax without hex, inf, nan or blanks:
 * [+-]digits[.digits][e[+-]digits], digits on either side of the point
 * optional but not both. */
static enum num_kind parse_number(struct iocd_arena *a, const char *s, size_t n, double *out)
{
    size_t i = 0, d = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && is_digit(s[i]))
        i++, d++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i]))
            i++, d++;
    }
    bool ok = d > 0;
    if (ok && i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = 0;
        while (i < n && is_digit(s[i]))
            i++, e++;
        ok = e > 0;
    }
    if (!ok || i != n)
        return iocd_adapter_nonfinite_word(s, n) ? NUM_NOT_FINITE : NUM_NOT_A_NUMBER;
    char small[64];
    char *buf = n < sizeof(small) ? small : iocd_arena_alloc(a, n + 1);
    if (!buf)
        return NUM_NO_MEMORY;
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return NUM_NOT_FINITE;
    *out = v;
    return NUM_OK;
}

/* ---- decode ---- */

/* One key|value or key=value of the payload. */
struct text_kv {
    char *key, *value; /* in the arena */
    size_t value_len;
    size_t off;        /* byte offset of the key in the payload */
    bool skip;         /* the device or time key */
    bool numeric;
    double v;
    char *metric; /* numeric: the metric name (arena) */
};

struct text_ctx {
    const struct text_state *st;
    const struct iocd_message *msg;
    struct iocd_batch *out;
    const char *text; /* the payload */
    const char *source, *empty, *device;
    size_t n_dropped;
    char first_drop[160];
};

static enum iocd_reject nomem(struct text_ctx *c)
{
    c->out->n_obs = 0;
    return iocd_batch_fail(c->out, IOCD_REJECT_NO_MEMORY,
                           "decode needs more memory than the arena allows");
}

/* Level `level` of the topic as an id for `what` ("device", "metric"). */
static enum iocd_reject topic_level_id(struct text_ctx *c, int level, const char *what,
                                       const char **out)
{
    const char *s;
    size_t n;
    if (!iocd_adapter_topic_level(c->msg->topic, level, &s, &n))
        return iocd_batch_fail(c->out, IOCD_REJECT_MISSING_FIELD, "%s: topic has no level %d",
                               what, level);
    const char *why = iocd_adapter_id_problem(s, n);
    if (why)
        return iocd_batch_fail(c->out, IOCD_REJECT_BAD_ID, "%s: topic level %d %s", what, level,
                               why);
    *out = iocd_arena_strndup(c->out->arena, s, n);
    return *out ? IOCD_REJECT_NONE : nomem(c);
}

static const char *lookup(const struct text_pair *p, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].key, key) == 0)
            return p[i].value;
    return NULL;
}

static int cmp_kv(const void *x, const void *y)
{
    const struct text_kv *a = *(const struct text_kv *const *)x;
    const struct text_kv *b = *(const struct text_kv *const *)y;
    int r = strcmp(a->key, b->key);
    return r ? r : (a->off > b->off) - (a->off < b->off);
}

/* The first key given twice among kv[0..n), or NULL. */
static const struct text_kv *find_duplicate(struct text_ctx *c, struct text_kv *kv, size_t n,
                                            bool *oom)
{
    *oom = false;
    if (n < 2)
        return NULL;
    struct text_kv **v = iocd_arena_alloc(c->out->arena, n * sizeof(*v));
    if (!v) {
        *oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = &kv[i];
    qsort(v, n, sizeof(*v), cmp_kv);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i - 1]->key, v[i]->key) == 0)
            return v[i];
    return NULL;
}

/* Values to numbers and metric names. `where` prefixes details ("" or
 * "group 2: "). */
static enum iocd_reject classify(struct text_ctx *c, struct text_kv *kv, size_t n,
                                 const char *where, size_t *n_numeric)
{
    char kb[40];
    *n_numeric = 0;
    for (size_t i = 0; i < n; i++) {
        struct text_kv *p = &kv[i];
        if (p->skip)
            continue;
        switch (parse_number(c->out->arena, p->value, p->value_len, &p->v)) {
        case NUM_NOT_FINITE:
            return iocd_batch_fail(c->out, IOCD_REJECT_NOT_FINITE, "%svalue of '%s' is not finite",
                                   where, iocd_adapter_printable(p->key, kb, sizeof(kb)));
        case NUM_NO_MEMORY:
            return nomem(c);
        case NUM_NOT_A_NUMBER:
            continue;
        case NUM_OK:
            break;
        }
        p->numeric = true;
        const char *renamed = lookup(c->st->renames, c->st->n_renames, p->key);
        p->metric = renamed ? iocd_arena_strdup(c->out->arena, renamed) : p->key;
        if (!p->metric)
            return nomem(c);
        const char *why = iocd_adapter_id_problem(p->metric, strlen(p->metric));
        if (why)
            return iocd_batch_fail(c->out, IOCD_REJECT_BAD_ID, "%smetric '%s' %s", where,
                                   iocd_adapter_printable(p->metric, kb, sizeof(kb)), why);
        (*n_numeric)++;
    }
    return IOCD_REJECT_NONE;
}

/* One observation per numeric pair, all sharing the labels made of the
 * other pairs. Returns -1 when out of memory. */
static int emit(struct text_ctx *c, struct text_kv *kv, size_t n, int64_t observed,
                const char *where)
{
    struct iocd_arena *a = c->out->arena;
    char kb[40];
    Ioc__V1__Observation__LabelsEntry **labels = iocd_arena_alloc(a, n * sizeof(*labels));
    if (!labels)
        return -1;
    size_t n_labels = 0;
    for (size_t i = 0; i < n; i++) {
        struct text_kv *p = &kv[i];
        if (p->skip || p->numeric)
            continue;
        if (strlen(p->key) > TEXT_MAX_LABEL || p->value_len > TEXT_MAX_LABEL) {
            if (c->n_dropped++ == 0)
                snprintf(c->first_drop, sizeof(c->first_drop),
                         "%slabel '%s' is longer than 128 bytes, dropped", where,
                         iocd_adapter_printable(p->key, kb, sizeof(kb)));
            continue;
        }
        Ioc__V1__Observation__LabelsEntry *en = iocd_arena_alloc(a, sizeof(*en));
        if (!en)
            return -1;
        ioc__v1__observation__labels_entry__init(en);
        en->key = p->key;
        en->value = p->value;
        labels[n_labels++] = en;
    }
    for (size_t i = 0; i < n; i++) {
        struct text_kv *p = &kv[i];
        if (p->skip || !p->numeric)
            continue;
        Ioc__V1__Observation *o = iocd_batch_add_observation(c->out);
        if (!o)
            return -1;
        o->source = (char *)c->source;
        o->device = (char *)c->device;
        o->metric = p->metric;
        const char *unit = lookup(c->st->units, c->st->n_units, p->key);
        o->unit = unit ? iocd_arena_strdup(a, unit) : (char *)c->empty;
        if (!o->unit)
            return -1;
        o->value = p->v;
        o->observed_ms = observed;
        o->received_ms = c->msg->received_ms;
        o->quality = IOC__V1__QUALITY__QUALITY_GOOD;
        o->labels = n_labels ? labels : NULL;
        o->n_labels = n_labels;
    }
    return 0;
}

static enum iocd_reject decode_number(struct text_ctx *c, const char *s, size_t n)
{
    const struct text_state *st = c->st;
    char vb[40];
    enum iocd_reject r = topic_level_id(c, st->device_level, "device", &c->device);
    if (r != IOCD_REJECT_NONE)
        return r;
    const char *metric;
    if (st->metric_level >= 0) {
        r = topic_level_id(c, st->metric_level, "metric", &metric);
        if (r != IOCD_REJECT_NONE)
            return r;
    } else {
        metric = iocd_arena_strdup(c->out->arena, st->metric_name);
        if (!metric)
            return nomem(c);
    }
    double v = 0;
    switch (parse_number(c->out->arena, s, n, &v)) {
    case NUM_NOT_FINITE:
        return iocd_batch_fail(c->out, IOCD_REJECT_NOT_FINITE, "payload '%s' is not finite",
                               iocd_adapter_printable_n(s, n, vb, sizeof(vb)));
    case NUM_NO_MEMORY:
        return nomem(c);
    case NUM_NOT_A_NUMBER:
        return iocd_batch_fail(c->out, IOCD_REJECT_WRONG_TYPE, "payload '%s' is not a number",
                               iocd_adapter_printable_n(s, n, vb, sizeof(vb)));
    case NUM_OK:
        break;
    }
    Ioc__V1__Observation *o = iocd_batch_add_observation(c->out);
    if (!o)
        return nomem(c);
    o->source = (char *)c->source;
    o->device = (char *)c->device;
    o->metric = (char *)metric;
    o->unit = iocd_arena_strdup(c->out->arena, st->unit);
    if (!o->unit)
        return nomem(c);
    o->value = v;
    o->observed_ms = c->msg->received_ms;
    o->received_ms = c->msg->received_ms;
    o->quality = IOC__V1__QUALITY__QUALITY_GOOD;
    return IOCD_REJECT_NONE;
}

static bool is_kv_separator(char ch)
{
    return ch == ',' || ch == ';' || ch == '&' || is_space(ch);
}

static struct text_kv *find_key(struct text_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return &kv[i];
    return NULL;
}

static enum iocd_reject decode_kv(struct text_ctx *c, const char *s, size_t n)
{
    const struct text_state *st = c->st;
    struct iocd_arena *a = c->out->arena;
    char kb[40], vb[40];
    const char *end = s + n;

    /* Tokens are at least "k=" plus a separator. */
    size_t cap = n / 2 + 1, n_kv = 0;
    struct text_kv *kv = iocd_arena_alloc(a, cap * sizeof(*kv));
    if (!kv)
        return nomem(c);
    for (const char *p = s; p < end;) {
        while (p < end && is_kv_separator(*p))
            p++;
        if (p == end)
            break;
        const char *t = p;
        while (p < end && !is_kv_separator(*p))
            p++;
        const char *eq = memchr(t, '=', (size_t)(p - t));
        size_t off = (size_t)(t - c->text);
        if (!eq)
            return iocd_batch_fail(
                c->out, IOCD_REJECT_MALFORMED, "'%s' at byte %zu is not key=value",
                iocd_adapter_printable_n(t, (size_t)(p - t), vb, sizeof(vb)), off);
        if (eq == t)
            return iocd_batch_fail(c->out, IOCD_REJECT_MALFORMED, "empty key at byte %zu", off);
        struct text_kv *k = &kv[n_kv++];
        memset(k, 0, sizeof(*k));
        k->off = off;
        k->key = iocd_arena_strndup(a, t, (size_t)(eq - t));
        k->value_len = (size_t)(p - eq - 1);
        k->value = iocd_arena_strndup(a, eq + 1, k->value_len);
        if (!k->key || !k->value)
            return nomem(c);
    }
    bool oom;
    const struct text_kv *dup = find_duplicate(c, kv, n_kv, &oom);
    if (oom)
        return nomem(c);
    if (dup)
        return iocd_batch_fail(c->out, IOCD_REJECT_MALFORMED, "key '%s' given twice (byte %zu)",
                               iocd_adapter_printable(dup->key, kb, sizeof(kb)), dup->off);

    enum iocd_reject r;
    if (st->device_key) {
        struct text_kv *d = find_key(kv, n_kv, st->device_key);
        if (!d)
            return iocd_batch_fail(c->out, IOCD_REJECT_MISSING_FIELD, "device key '%s' is missing",
                                   iocd_adapter_printable(st->device_key, kb, sizeof(kb)));
        const char *why = iocd_adapter_id_problem(d->value, d->value_len);
        if (why)
            return iocd_batch_fail(c->out, IOCD_REJECT_BAD_ID, "device key '%s' value '%s' %s",
                                   iocd_adapter_printable(d->key, kb, sizeof(kb)),
                                   iocd_adapter_printable(d->value, vb, sizeof(vb)), why);
        d->skip = true;
        c->device = d->value;
    } else {
        r = topic_level_id(c, st->device_level, "device", &c->device);
        if (r != IOCD_REJECT_NONE)
            return r;
    }

    int64_t observed = c->msg->received_ms;
    if (st->time_key) {
        struct text_kv *t = find_key(kv, n_kv, st->time_key);
        if (!t)
            return iocd_batch_fail(c->out, IOCD_REJECT_MISSING_FIELD, "time key '%s' is missing",
                                   iocd_adapter_printable(st->time_key, kb, sizeof(kb)));
        t->skip = true;
        double v;
        enum num_kind k = parse_number(a, t->value, t->value_len, &v);
        if (k == NUM_NO_MEMORY)
            return nomem(c);
        if (k == NUM_OK || k == NUM_NOT_FINITE) {
            if (k != NUM_OK || iocd_time_from_epoch(v, IOCD_TIME_AUTO, &observed))
                return iocd_batch_fail(c->out, IOCD_REJECT_BAD_TIME,
                                       "time key '%s' value '%s' is out of range",
                                       iocd_adapter_printable(t->key, kb, sizeof(kb)),
                                       iocd_adapter_printable(t->value, vb, sizeof(vb)));
        } else if (iocd_time_parse_iso8601(t->value, t->value_len, 0, &observed)) {
            return iocd_batch_fail(c->out, IOCD_REJECT_BAD_TIME,
                                   "time key '%s' value '%s' is not an epoch number or "
                                   "ISO-8601 time",
                                   iocd_adapter_printable(t->key, kb, sizeof(kb)),
                                   iocd_adapter_printable(t->value, vb, sizeof(vb)));
        }
    }

    size_t n_numeric;
    r = classify(c, kv, n_kv, "", &n_numeric);
    if (r != IOCD_REJECT_NONE)
        return r;
    if (n_numeric == 0)
        return iocd_batch_fail(c->out, IOCD_REJECT_MISSING_FIELD, "no numeric value");
    if (emit(c, kv, n_kv, observed, ""))
        return nomem(c);
    return IOCD_REJECT_NONE;
}

/* One UltraLight measure group [s, e) (trimmed, not empty), number g. */
static enum iocd_reject decode_group(struct text_ctx *c, const char *s, const char *e, size_t g,
                                     bool *had_numeric)
{
    struct iocd_arena *a = c->out->arena;
    char where[32], kb[40], vb[40];
    snprintf(where, sizeof(where), "group %zu: ", g);
    *had_numeric = false;

    size_t n_el = 1;
    for (const char *p = s; p < e; p++)
        n_el += *p == '|';
    struct {
        const char *s;
        size_t n;
    } *el = iocd_arena_alloc(a, n_el * sizeof(*el));
    if (!el)
        return nomem(c);
    size_t k = 0;
    for (const char *p = s;; p++) {
        const char *q = p;
        while (q < e && *q != '|')
            q++;
        const char *b = p, *f = q;
        while (b < f && is_space(*b))
            b++;
        while (f > b && is_space(f[-1]))
            f--;
        for (const char *x = b; x < f; x++)
            if (is_control((unsigned char)*x))
                return iocd_batch_fail(c->out, IOCD_REJECT_MALFORMED,
                                       "%scontrol character 0x%02x at byte %zu", where,
                                       (unsigned char)*x, (size_t)(x - c->text));
        el[k].s = b;
        el[k].n = (size_t)(f - b);
        k++;
        if (q == e)
            break;
        p = q;
    }

    int64_t observed = c->msg->received_ms;
    size_t first = 0;
    if (n_el % 2 == 1) {
        if (iocd_time_parse_iso8601(el[0].s, el[0].n, 0, &observed) == 0) {
            first = 1;
        } else if (el[0].n > 0 && is_digit(el[0].s[0])) {
            return iocd_batch_fail(c->out, IOCD_REJECT_BAD_TIME,
                                   "%s'%s' is not a valid ISO-8601 time", where,
                                   iocd_adapter_printable_n(el[0].s, el[0].n, vb, sizeof(vb)));
        } else {
            return iocd_batch_fail(c->out, IOCD_REJECT_MALFORMED,
                                   "%s%zu elements: an odd count needs a timestamp first, not '%s'",
                                   where, n_el,
                                   iocd_adapter_printable_n(el[0].s, el[0].n, vb, sizeof(vb)));
        }
    }

    size_t n_kv = (n_el - first) / 2;
    struct text_kv *kv = iocd_arena_alloc(a, (n_kv ? n_kv : 1) * sizeof(*kv));
    if (!kv)
        return nomem(c);
    for (size_t i = 0; i < n_kv; i++) {
        struct text_kv *p = &kv[i];
        memset(p, 0, sizeof(*p));
        const char *ks = el[first + 2 * i].s;
        size_t kn = el[first + 2 * i].n;
        p->off = (size_t)(ks - c->text);
        if (kn == 0)
            return iocd_batch_fail(c->out, IOCD_REJECT_MALFORMED, "%sempty key at byte %zu",
                                   where, p->off);
        p->key = iocd_arena_strndup(a, ks, kn);
        p->value_len = el[first + 2 * i + 1].n;
        p->value = iocd_arena_strndup(a, el[first + 2 * i + 1].s, p->value_len);
        if (!p->key || !p->value)
            return nomem(c);
    }
    bool oom;
    const struct text_kv *dup = find_duplicate(c, kv, n_kv, &oom);
    if (oom)
        return nomem(c);
    if (dup)
        return iocd_batch_fail(c->out, IOCD_REJECT_MALFORMED, "%skey '%s' given twice", where,
                               iocd_adapter_printable(dup->key, kb, sizeof(kb)));
    size_t n_numeric;
    enum iocd_reject r = classify(c, kv, n_kv, where, &n_numeric);
    if (r != IOCD_REJECT_NONE)
        return r;
    if (n_numeric == 0)
        return IOCD_REJECT_NONE; /* labels alone: nothing to attach them to */
    *had_numeric = true;
    if (emit(c, kv, n_kv, observed, where))
        return nomem(c);
    return IOCD_REJECT_NONE;
}

static enum iocd_reject decode_ultralight(struct text_ctx *c, const char *s, size_t n)
{
    const struct text_state *st = c->st;
    int level = st->device_level;
    if (st->device_default)
        level = c->msg->topic && c->msg->topic[0] == '/' ? 2 : 1;
    enum iocd_reject r = topic_level_id(c, level, "device", &c->device);
    if (r != IOCD_REJECT_NONE)
        return r;

    const char *end = s + n;
    size_t g = 0;
    bool any = false;
    for (const char *p = s;; p++) {
        const char *q = memchr(p, '#', (size_t)(end - p));
        if (!q)
            q = end;
        g++;
        const char *b = p, *e = q;
        while (b < e && is_space(*b))
            b++;
        while (e > b && is_space(e[-1]))
            e--;
        if (b < e) {
            bool numeric;
            r = decode_group(c, b, e, g, &numeric);
            if (r != IOCD_REJECT_NONE) {
                c->out->n_obs = 0;
                return r;
            }
            any |= numeric;
        }
        if (q == end)
            break;
        p = q;
    }
    if (!any)
        return iocd_batch_fail(c->out, IOCD_REJECT_MISSING_FIELD, "no numeric value");
    return IOCD_REJECT_NONE;
}

static enum iocd_reject text_decode(void *state, const struct iocd_message *msg,
                                    struct iocd_batch *out)
{
    const struct text_state *st = state;
    if (msg->len == 0 || !msg->payload)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "empty payload");
    const char *text = (const char *)msg->payload;
    size_t len = msg->len;
    /* Trailing NULs from C-string senders are not part of the text. */
    while (len > 0 && text[len - 1] == '\0')
        len--;
    size_t bad = iocd_adapter_utf8_invalid_at((const unsigned char *)text, len);
    if (bad != len)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "not UTF-8 text (byte %zu)", bad);
    for (size_t i = 0; i < len; i++)
        if (is_control((unsigned char)text[i]) && !is_space(text[i]))
            return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                                   "control character 0x%02x at byte %zu", (unsigned char)text[i],
                                   i);
    size_t b = 0, e = len;
    while (b < e && is_space(text[b]))
        b++;
    while (e > b && is_space(text[e - 1]))
        e--;
    if (b == e)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "empty payload");

    struct text_ctx c = {.st = st, .msg = msg, .out = out, .text = text};
    c.source = iocd_arena_strdup(out->arena, st->source);
    c.empty = iocd_arena_strdup(out->arena, "");
    if (!c.source || !c.empty)
        return nomem(&c);
    enum iocd_reject r;
    switch (st->mode) {
    case TEXT_NUMBER:
        r = decode_number(&c, text + b, e - b);
        break;
    case TEXT_KV:
        r = decode_kv(&c, text + b, e - b);
        break;
    default:
        r = decode_ultralight(&c, text + b, e - b);
        break;
    }
    if (r != IOCD_REJECT_NONE) {
        out->n_obs = 0;
        return r;
    }
    if (c.n_dropped)
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "%s", c.first_drop);
    return IOCD_REJECT_NONE;
}

const struct iocd_adapter_ops iocd_adapter_text = {
    .name = "text",
    .keys = text_keys,
    .n_keys = sizeof(text_keys) / sizeof(text_keys[0]),
    .create = text_create,
    .decode = text_decode,
    .destroy = text_destroy,
};
