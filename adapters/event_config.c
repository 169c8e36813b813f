/* adapters/event_config.c — the `event` adapter's config half: its typed
 * key table, create() (every key checked and compiled into struct
 * event_state) and destroy(). The decode half is event.c; both share
 * adapters/event_internal.h. See docs/adapters.md (event).
 *
 * Owns: struct event_state from create() until destroy() (every value
 * source, the severity map, the allowed statuses, the attribute rule, the
 * excluded members and the source name). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/event_internal.h"

static void src_free(struct value_src *s)
{
    iocd_jsonpath_free(s->path);
    free(s->literal);
    free(s->text);
    memset(s, 0, sizeof(*s));
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void iocd_event_destroy(void *state)
{
    struct event_state *st = state;
    if (!st)
        return;
    struct value_src *srcs[] = {&st->kind,  &st->severity, &st->text, &st->device, &st->area,
                                &st->status, &st->time,    &st->lat,  &st->lon,    &st->location,
                                &st->case_id};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++)
        src_free(srcs[i]);
    for (size_t i = 0; i < st->n_sev_map; i++)
        free(st->sev_map[i].key);
    free(st->sev_map);
    free_strv(st->statuses, st->n_statuses);
    for (size_t i = 0; i < st->n_attrs; i++) {
        free(st->attrs[i].key);
        src_free(&st->attrs[i].src);
    }
    free(st->attrs);
    free_strv(st->exclude, st->n_exclude);
    iocd_jsonpath_free(st->records);
    free(st->source);
    free(st);
}

/* The one top-level member a path names ("$.ward", "$['a b']"), copied to
 * buf, or false when the path has more or other steps. */
static bool single_member(const char *path, char *buf, size_t n)
{
    const char *p = path;
    if (*p == '$')
        p++;
    if (*p == '.')
        p++;
    if (*p == '[') {
        char q = p[1];
        if (q != '\'' && q != '"')
            return false;
        p += 2;
        size_t len = 0;
        while (*p && *p != q) {
            if (*p == '\\' && (p[1] == q || p[1] == '\\'))
                p++;
            if (len + 1 >= n)
                return false;
            buf[len++] = *p++;
        }
        if (*p != q || strcmp(p + 1, "]") != 0)
            return false;
        buf[len] = '\0';
        return true;
    }
    size_t len = strlen(p);
    if (len == 0 || len >= n || strpbrk(p, ".[") != NULL)
        return false;
    memcpy(buf, p, len + 1);
    return true;
}

/* ---- create ---- */

#define ALLOW_LITERAL 1u
#define ALLOW_TOPIC 2u

/* Reads `v` (the value of entry e, or one item of a list) into *src. */
static int parse_src(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e, const char *v,
                     unsigned allow, struct event_state *st, struct value_src *src)
{
    bool has_records = st->records != NULL;
    memset(src, 0, sizeof(*src));
    src->text = strdup(v);
    if (!src->text)
        return iocd_error_set(c->err, "out of memory");
    const char *what = "a JSON path starting with '$', such as $.description";
    if (strncmp(v, "literal:", 8) == 0) {
        if (!(allow & ALLOW_LITERAL))
            return iocd_adapter_cfg_failf(c, e, "expected %s", what);
        src->type = SRC_LITERAL;
        src->literal = strdup(v + 8);
        return src->literal ? 0 : iocd_error_set(c->err, "out of memory");
    }
    if (v[0] == '^') {
        if (!has_records)
            return iocd_adapter_cfg_failf(c, e,
                            "'%s': a '^' path reads the message around the records, so it "
                            "needs 'records'",
                            v);
        if (v[1] != '$')
            return iocd_adapter_cfg_failf(c, e, "'%s': expected '^' followed by a JSON path starting with '$'",
                            v);
        src->type = SRC_PATH;
        src->outer = true;
        src->slot = st->n_outer++; /* at most EV_MAX_OUTER: 10 keys and 64 attributes */
        return iocd_adapter_compile_path(c, e, v + 1, &src->path);
    }
    if (v[0] == '$') {
        src->type = SRC_PATH;
        return iocd_adapter_compile_path(c, e, v, &src->path);
    }
    if ((allow & ALLOW_TOPIC) && strncmp(v, "topic[", 6) == 0) {
        if (iocd_adapter_parse_topic_level(v, EV_MAX_TOPIC_LEVEL, &src->level) < 0)
            return iocd_adapter_cfg_failf(c, e, "expected topic[N] with N a topic level from 0 to 255");
        src->type = SRC_TOPIC;
        return 0;
    }
    if (!(allow & ALLOW_LITERAL))
        return iocd_adapter_cfg_failf(c, e, "expected %s", what);
    src->type = SRC_LITERAL;
    src->literal = strdup(v);
    return src->literal ? 0 : iocd_error_set(c->err, "out of memory");
}

/* Splits `v` at commas outside quotes into trimmed, malloc'd items
 * (at most EV_MAX_LIST). Returns the count, or -1 with err set. */
static long split_list(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e, const char *v,
                       char ***out)
{
    char **items = calloc(EV_MAX_LIST, sizeof(*items));
    if (!items)
        return iocd_error_set(c->err, "out of memory");
    long n = 0;
    const char *p = v;
    for (;;) {
        const char *b = p;
        char quote = 0;
        for (; *p && (quote || *p != ','); p++) {
            if (quote) {
                if (*p == '\\' && p[1])
                    p++;
                else if (*p == quote)
                    quote = 0;
            } else if (*p == '\'' || *p == '"') {
                quote = *p;
            }
        }
        const char *s = b;
        size_t len = (size_t)(p - b);
        iocd_event_trim(&s, &len);
        if (len == 0) {
            free_strv(items, (size_t)n);
            return iocd_adapter_cfg_failf(c, e, "empty item in the comma-separated list");
        }
        if (n == EV_MAX_LIST) {
            free_strv(items, (size_t)n);
            return iocd_adapter_cfg_failf(c, e, "more than %d items", EV_MAX_LIST);
        }
        items[n] = strndup(s, len);
        if (!items[n]) {
            free_strv(items, (size_t)n);
            return iocd_error_set(c->err, "out of memory");
        }
        n++;
        if (!*p)
            break;
        p++;
    }
    *out = items;
    return n;
}

static int read_severity_map(const struct iocd_adapter_cfg *c, struct event_state *st,
                             const struct iocd_ini_entry *e)
{
    char **items;
    long n = split_list(c, e, e->value, &items);
    if (n < 0)
        return -1;
    int rc = 0;
    st->sev_map = calloc((size_t)n, sizeof(*st->sev_map));
    if (!st->sev_map) {
        rc = iocd_error_set(c->err, "out of memory");
        goto out;
    }
    for (long i = 0; i < n; i++) {
        char *colon = strrchr(items[i], ':');
        if (!colon) {
            rc = iocd_adapter_cfg_failf(c, e, "'%s': expected VALUE:SEVERITY, e.g. 1:critical", items[i]);
            goto out;
        }
        const char *k = items[i], *sv = colon + 1;
        size_t kn = (size_t)(colon - items[i]), svn = strlen(sv);
        iocd_event_trim(&k, &kn);
        int sev = iocd_event_severity_from_name(sv, svn);
        if (kn == 0 || kn > EV_MAX_ID) {
            rc = iocd_adapter_cfg_failf(c, e, "'%s': the value before ':' must be 1 to 64 bytes", items[i]);
            goto out;
        }
        if (sev < 0) {
            rc = iocd_adapter_cfg_failf(c, e,
                          "'%s': unknown severity; expected unspecified, info, warning, minor, "
                          "major or critical",
                          items[i]);
            goto out;
        }
        for (size_t j = 0; j < st->n_sev_map; j++)
            if (iocd_event_ci_equal(k, kn, st->sev_map[j].key)) {
                rc = iocd_adapter_cfg_failf(c, e, "'%.*s' is mapped twice", (int)kn, k);
                goto out;
            }
        st->sev_map[st->n_sev_map].key = strndup(k, kn);
        if (!st->sev_map[st->n_sev_map].key) {
            rc = iocd_error_set(c->err, "out of memory");
            goto out;
        }
        st->sev_map[st->n_sev_map++].severity = sev;
    }
out:
    free_strv(items, (size_t)n);
    return rc;
}

static int read_statuses(const struct iocd_adapter_cfg *c, struct event_state *st,
                         const struct iocd_ini_entry *e)
{
    char **items;
    long n = split_list(c, e, e->value, &items);
    if (n < 0)
        return -1;
    st->statuses = items;
    st->n_statuses = (size_t)n;
    for (long i = 0; i < n; i++) {
        char norm[EV_MAX_ID + 1];
        if (iocd_event_normalize_id(items[i], strlen(items[i]), norm) != ID_OK || strcmp(norm, items[i]))
            return iocd_adapter_cfg_failf(c, e,
                            "'%s' is not a status id: 1 to 64 of lowercase letters, digits, "
                            "'_', '.' and '-'",
                            items[i]);
        for (long j = 0; j < i; j++)
            if (strcmp(items[j], items[i]) == 0)
                return iocd_adapter_cfg_failf(c, e, "'%s' is listed twice", items[i]);
    }
    return 0;
}

static int read_attributes(const struct iocd_adapter_cfg *c, struct event_state *st,
                           const struct iocd_ini_entry *e)
{
    if (strcmp(e->value, "all") == 0) {
        st->attr_mode = ATTR_ALL;
        return 0;
    }
    if (strcmp(e->value, "none") == 0) {
        st->attr_mode = ATTR_NONE;
        return 0;
    }
    st->attr_mode = ATTR_LIST;
    char **items;
    long n = split_list(c, e, e->value, &items);
    if (n < 0)
        return -1;
    int rc = 0;
    st->attrs = calloc((size_t)n, sizeof(*st->attrs));
    if (!st->attrs) {
        rc = iocd_error_set(c->err, "out of memory");
        goto out;
    }
    for (long i = 0; i < n && rc == 0; i++) {
        struct attr_path *a = &st->attrs[st->n_attrs++];
        if (items[i][0] != '$' && items[i][0] != '^') {
            rc = iocd_adapter_cfg_failf(c, e,
                          "'%s': expected all, none, or JSON paths starting with '$' separated "
                          "by commas",
                          items[i]);
            break;
        }
        if (parse_src(c, e, items[i], 0, st, &a->src)) {
            rc = -1;
            break;
        }
        char name[EV_MAX_ATTR_KEY + 1];
        const char *p = a->src.outer ? items[i] + 1 : items[i];
        if (single_member(p, name, sizeof(name)))
            a->key = strdup(name);
        else
            a->key = strdup(p + (strncmp(p, "$.", 2) == 0 ? 2 : 1));
        if (!a->key) {
            rc = iocd_error_set(c->err, "out of memory");
            break;
        }
        size_t kl = strlen(a->key);
        if (kl == 0 || kl > EV_MAX_ATTR_KEY) {
            rc = iocd_adapter_cfg_failf(c, e, "'%s': the attribute key '%s' must be 1 to 64 bytes", items[i],
                          a->key);
            break;
        }
        for (size_t j = 0; j + 1 < st->n_attrs; j++)
            if (strcmp(st->attrs[j].key, a->key) == 0) {
                rc = iocd_adapter_cfg_failf(c, e, "'%s': attribute key '%s' given twice", items[i], a->key);
                break;
            }
    }
out:
    free_strv(items, (size_t)n);
    return rc;
}

/* ATTR_ALL: the top-level members that the other keys read directly. */
static int collect_excludes(const struct iocd_adapter_cfg *c, struct event_state *st)
{
    const struct value_src *srcs[] = {&st->kind,   &st->severity, &st->text, &st->device,
                                      &st->area,   &st->status,   &st->time, &st->lat,
                                      &st->lon,    &st->location, &st->case_id};
    size_t n = sizeof(srcs) / sizeof(srcs[0]);
    st->exclude = calloc(n, sizeof(*st->exclude));
    if (!st->exclude)
        return iocd_error_set(c->err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char name[256];
        if (srcs[i]->type != SRC_PATH || srcs[i]->outer ||
            !single_member(srcs[i]->text, name, sizeof(name)))
            continue;
        st->exclude[st->n_exclude] = strdup(name);
        if (!st->exclude[st->n_exclude])
            return iocd_error_set(c->err, "out of memory");
        st->n_exclude++;
    }
    return 0;
}

/* The event format's keys, declared once. */
struct event_entries {
    struct iocd_ini_entry *kind, *severity, *severity_map, *text, *device, *area, *status,
        *statuses, *time, *time_format, *time_offset, *lat, *lon, *location, *attributes, *records,
        *case_id;
};

const struct iocd_key iocd_event_keys[IOCD_EVENT_N_KEYS] = {
    IOCD_ADAPTER_KEY(struct event_entries, kind,
                     "a JSON path, topic[N] or a literal kind: what happened (required)"),
    IOCD_ADAPTER_KEY(struct event_entries, severity,
                     "a path, topic[N] or a literal severity name or 0 to 5 (default info)"),
    IOCD_ADAPTER_KEY(struct event_entries, severity_map,
                     "with a path or topic[N] severity: VALUE:SEVERITY, ... (default: the "
                     "built-in names)"),
    IOCD_ADAPTER_KEY(struct event_entries, text,
                     "JSON path of the human-readable description (default empty)"),
    IOCD_ADAPTER_KEY(struct event_entries, device,
                     "a path, topic[N] or a literal: the device (default empty)"),
    IOCD_ADAPTER_KEY(struct event_entries, area,
                     "a path, topic[N] or a literal: the ward or commune (default empty)"),
    IOCD_ADAPTER_KEY(struct event_entries, status,
                     "a path, topic[N] or a literal: the event status (default empty)"),
    IOCD_ADAPTER_KEY(struct event_entries, statuses,
                     "with status: the allowed statuses, comma-separated (default: any)"),
    IOCD_ADAPTER_KEY(struct event_entries, time,
                     "JSON path of the event time (default: the receive time)"),
    IOCD_ADAPTER_KEY(struct event_entries, time_format,
                     "auto, iso8601, s, ms or us (default auto; only with time)"),
    IOCD_ADAPTER_KEY(struct event_entries, time_offset,
                     "UTC offset of ISO-8601 times without one (default +00:00; only with time)"),
    IOCD_ADAPTER_KEY(struct event_entries, lat,
                     "JSON path of the latitude in decimal degrees (with lon)"),
    IOCD_ADAPTER_KEY(struct event_entries, lon,
                     "JSON path of the longitude in decimal degrees (with lat)"),
    IOCD_ADAPTER_KEY(struct event_entries, location,
                     "JSON path of a GeoJSON Point or \"lat,lon\" string (instead of lat and lon)"),
    IOCD_ADAPTER_KEY(struct event_entries, attributes,
                     "all, none or a list of members kept as attributes (default all)"),
    IOCD_ADAPTER_KEY(struct event_entries, records,
                     "JSON path of an array of events ($ for a payload that is an array)"),
    {NULL, "case", IOCD_KEY_ENTRY, offsetof(struct event_entries, case_id), NULL, 0, 0,
     "a path or topic[N]: the case the event updates (a report's id); its updates are one "
     "case, and resolving it gives SOURCE/AREA/resolve_time (default: none)",
     NULL, false},
};

/* Checks a device or area literal and replaces it by its cleaned form. */
static int clean_literal_label(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                               struct value_src *src)
{
    char buf[EV_MAX_LABEL + 1];
    const char *why = iocd_event_clean_label(src->literal, strlen(src->literal), buf);
    if (!why && !buf[0])
        why = "is empty";
    if (why)
        return iocd_adapter_cfg_failf(c, e, "the literal '%s' %s", src->literal, why);
    free(src->literal);
    src->literal = strdup(buf);
    return src->literal ? 0 : iocd_error_set(c->err, "out of memory");
}

/* records, kind, severity and severity_map. */
static int read_kind(const struct iocd_adapter_cfg *c, struct event_state *st,
                     const struct event_entries *k, int line)
{
    if (!k->kind)
        return iocd_error_at(c->err, c->ini->path, line,
                             "[adapter %s] kind: required key missing (a JSON path such as "
                             "$.category, topic[N], or a literal kind such as fire_alarm)",
                             c->section);

    if (k->records) {
        if (k->records->value[0] != '$')
            return iocd_adapter_cfg_failf(c, k->records,
                            "expected a JSON path starting with '$' ($ for a payload that is "
                            "an array)");
        if (iocd_adapter_compile_path(c, k->records, k->records->value, &st->records))
            return -1;
    }
    /* kind */
    if (parse_src(c, k->kind, k->kind->value, ALLOW_LITERAL | ALLOW_TOPIC, st, &st->kind))
        return -1;
    if (st->kind.type == SRC_LITERAL && !iocd_event_valid_id(st->kind.literal))
        return iocd_adapter_cfg_failf(c, k->kind,
                        "the literal kind '%s' must be 1 to 64 characters of letters, digits, "
                        "'_', '.' and '-'",
                        st->kind.literal);

    /* severity, severity_map */
    st->severity_fixed = IOC__V1__SEVERITY__SEVERITY_INFO;
    if (k->severity) {
        if (parse_src(c, k->severity, k->severity->value, ALLOW_LITERAL | ALLOW_TOPIC, st,
                      &st->severity))
            return -1;
        if (st->severity.type == SRC_LITERAL) {
            st->severity_fixed =
                iocd_event_severity_from_name(st->severity.literal, strlen(st->severity.literal));
            if (st->severity_fixed < 0)
                return iocd_adapter_cfg_failf(c, k->severity,
                                "unknown severity '%s'; expected unspecified, info, warning, "
                                "minor, major or critical (or 0 to 5)",
                                st->severity.literal);
        }
    }
    if (k->severity_map) {
        if (st->severity.type == SRC_NONE || st->severity.type == SRC_LITERAL)
            return iocd_adapter_cfg_failf(c, k->severity_map,
                            "has no effect unless 'severity' is a JSON path or topic[N]");
        if (read_severity_map(c, st, k->severity_map))
            return -1;
    }

    return 0;
}

/* text, device, area, status and statuses. */
static int read_labels(const struct iocd_adapter_cfg *c, struct event_state *st,
                       const struct event_entries *k)
{
    /* text */
    if (k->text && parse_src(c, k->text, k->text->value, 0, st, &st->text))
        return -1;

    /* device, area */
    if (k->device) {
        if (parse_src(c, k->device, k->device->value, ALLOW_LITERAL | ALLOW_TOPIC, st,
                      &st->device))
            return -1;
        if (st->device.type == SRC_LITERAL && clean_literal_label(c, k->device, &st->device))
            return -1;
    }
    if (k->area) {
        if (parse_src(c, k->area, k->area->value, ALLOW_LITERAL | ALLOW_TOPIC, st, &st->area))
            return -1;
        if (st->area.type == SRC_LITERAL && clean_literal_label(c, k->area, &st->area))
            return -1;
    }

    /* case */
    if (k->case_id && parse_src(c, k->case_id, k->case_id->value, ALLOW_TOPIC, st, &st->case_id))
        return -1;

    /* status, statuses */
    if (k->status) {
        if (parse_src(c, k->status, k->status->value, ALLOW_LITERAL | ALLOW_TOPIC, st,
                      &st->status))
            return -1;
        if (st->status.type == SRC_LITERAL) {
            char norm[EV_MAX_ID + 1];
            if (iocd_event_normalize_id(st->status.literal, strlen(st->status.literal), norm) != ID_OK)
                return iocd_adapter_cfg_failf(c, k->status,
                                "the literal status '%s' must give 1 to 64 characters of "
                                "letters, digits, '_', '.' and '-'",
                                st->status.literal);
            free(st->status.literal);
            st->status.literal = strdup(norm);
            if (!st->status.literal)
                return iocd_error_set(c->err, "out of memory");
        }
    }
    if (k->statuses) {
        if (!k->status)
            return iocd_adapter_cfg_failf(c, k->statuses, "has no effect without 'status'");
        if (read_statuses(c, st, k->statuses))
            return -1;
        if (st->status.type == SRC_LITERAL) {
            size_t i = 0;
            while (i < st->n_statuses && strcmp(st->statuses[i], st->status.literal) != 0)
                i++;
            if (i == st->n_statuses)
                return iocd_adapter_cfg_failf(c, k->status, "the literal status '%s' is not in statuses",
                                st->status.literal);
        }
    }

    return 0;
}

/* time, time_format, time_offset; lat and lon, or location. */
static int read_time_location(const struct iocd_adapter_cfg *c, struct event_state *st,
                              const struct event_entries *k)
{
    /* time, time_format, time_offset */
    if (k->time && parse_src(c, k->time, k->time->value, 0, st, &st->time))
        return -1;
    if (!k->time && (k->time_format || k->time_offset))
        return iocd_adapter_cfg_failf(c, k->time_format ? k->time_format : k->time_offset,
                        "has no effect without 'time' (the receive time is used)");
    st->time_unit = IOCD_TIME_AUTO;
    if (k->time_format && iocd_adapter_time_format(k->time_format->value, &st->time_unit))
        return iocd_adapter_cfg_failf(c, k->time_format, IOCD_ADAPTER_TIME_FORMATS);
    if (k->time_offset && iocd_adapter_parse_offset(k->time_offset->value, &st->time_offset_s))
        return iocd_adapter_cfg_failf(c, k->time_offset, "expected an offset such as +07:00, -05:30 or Z");

    /* lat + lon, or location */
    if (k->location && (k->lat || k->lon))
        return iocd_adapter_cfg_failf(c, k->location, "use either 'location' or 'lat' and 'lon', not both");
    if (!k->lat != !k->lon)
        return iocd_adapter_cfg_failf(c, k->lat ? k->lat : k->lon, "'lat' and 'lon' go together");
    if (k->lat && (parse_src(c, k->lat, k->lat->value, 0, st, &st->lat) ||
                     parse_src(c, k->lon, k->lon->value, 0, st, &st->lon)))
        return -1;
    if (k->location &&
        parse_src(c, k->location, k->location->value, 0, st, &st->location))
        return -1;

    return 0;
}

static int read_config(const struct iocd_adapter_cfg *c, void *state,
                       struct iocd_ini_section *section, const void *entries)
{
    struct event_state *st = state;
    const struct event_entries *k = entries;
    if (read_kind(c, st, k, section->line) || read_labels(c, st, k) ||
        read_time_location(c, st, k))
        return -1;
    /* attributes */
    st->attr_mode = ATTR_ALL;
    if (k->attributes && read_attributes(c, st, k->attributes))
        return -1;
    if (st->attr_mode == ATTR_ALL && collect_excludes(c, st))
        return -1;
    return 0;
}

static const struct iocd_adapter_spec event_spec = {
    iocd_event_keys, sizeof(iocd_event_keys) / sizeof(iocd_event_keys[0]),
    sizeof(struct event_entries),
    sizeof(struct event_state), offsetof(struct event_state, source), read_config, iocd_event_destroy,
};

int iocd_event_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                      const char *source, void **state, struct iocd_error *err)
{
    return iocd_adapter_create(&event_spec, ini, section, source, state, err);
}
