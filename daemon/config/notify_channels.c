/* daemon/config/notify_channels.c — [notify NAME] sections into webhook
 * channels.
 *
 * Owns: the notify key table (iocd_notify_keys: every key of a notify
 * section with its default and help, read by name into struct
 * notify_entries), the names a template may use (iocd_notify_fields),
 * the checks of each value, and cfg->notify (freed by
 * iocd_config_free_notify). Secrets in `url` and `header.NAME` may come
 * from a file or a systemd credential (credentials.c). What is sent and
 * when is daemon/notify/'s; see docs/alerts.md, "Notifications". */
#include "daemon/config/config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/base/severity.h"
#include "daemon/base/template.h"
#include "daemon/base/timeutil.h"
#include "daemon/config/credentials.h"

const char *const iocd_notify_fields[] = {
    "notification_id", "channel", "id",   "rule",  "state",  "action",
    "severity",        "text",    "source", "device", "series", "value",
    "threshold",       "time",    "raised", "actor", "note",   "assignee",
};
const size_t iocd_notify_n_fields = sizeof(iocd_notify_fields) / sizeof(iocd_notify_fields[0]);

/* The entries of one section, NULL when absent. */
struct notify_entries {
    struct iocd_ini_entry *url, *rules, *min_severity, *on, *template, *timeout, *retry_min,
        *retry_max, *rate_limit, *queue_max, *tls_verify;
};

#define NOFF(field) offsetof(struct notify_entries, field)
#define NOTIFY_KEY(field, def, help)                                                               \
    {NULL, #field, IOCD_KEY_ENTRY, NOFF(field), def, 0, 0, help, NULL, false}

const struct iocd_key iocd_notify_keys[] = {
    NOTIFY_KEY(url, NULL,
               "where to POST: http:// or https:// URL (required; credential:NAME or file:PATH "
               "reads it from a file)"),
    NOTIFY_KEY(rules, "", "alert rule names, space- or comma-separated (empty: every rule)"),
    NOTIFY_KEY(min_severity, "info",
               "only alerts of this severity or higher: info, warning, minor, major, critical"),
    NOTIFY_KEY(on, "raised acknowledged cleared",
               "which changes are sent: raised, acknowledged, assigned, cleared (a resolve is a "
               "clear)"),
    NOTIFY_KEY(template, "",
               "the body, with {NAME} placeholders filled JSON-escaped (empty: the default JSON "
               "object)"),
    {NULL, "header.NAME", IOCD_KEY_PREFIX, 0, NULL, 0, 0,
     "an HTTP header of every request (e.g. header.Authorization = Bearer ...; "
     "credential:NAME or file:PATH reads the value from a file)",
     NULL, false},
    NOTIFY_KEY(timeout, "10s", "one attempt, connection included (100ms..5m)"),
    NOTIFY_KEY(retry_min, "1s", "backoff after the first failed attempt, doubled after each (100ms..1h)"),
    NOTIFY_KEY(retry_max, "5m", "the longest backoff (retry_min..1d)"),
    NOTIFY_KEY(rate_limit, "20/1m",
               "at most N notifications per period, N/PERIOD; the rest are counted, not sent "
               "(0: no limit)"),
    NOTIFY_KEY(queue_max, "1000",
               "pending notifications kept on disk (1..1000000); when full the oldest is dropped"),
    NOTIFY_KEY(tls_verify, "true", "check the receiver's TLS certificate and host name"),
};
const size_t iocd_notify_n_keys = sizeof(iocd_notify_keys) / sizeof(iocd_notify_keys[0]);

static struct iocd_notify_channel *add_channel(struct iocd_config *cfg, const char *file,
                                               const struct iocd_ini_section *s,
                                               struct iocd_error *err)
{
    if (!s->arg)
        return iocd_error_at(err, file, s->line, "[notify] needs a name: [notify NAME]"), NULL;
    if (iocd_config_check_name("notify name", s->arg, file, s->line, err))
        return NULL;
    for (int i = 0; i < cfg->n_notify; i++)
        if (strcmp(cfg->notify[i].name, s->arg) == 0)
            return iocd_error_at(err, file, s->line,
                                 "[notify %s] defined twice (first on line %d)", s->arg,
                                 cfg->notify[i].line),
                   NULL;
    struct iocd_notify_channel *c =
        realloc(cfg->notify, (size_t)(cfg->n_notify + 1) * sizeof(*c));
    if (!c)
        return iocd_error_set(err, "out of memory"), NULL;
    cfg->notify = c;
    c = &cfg->notify[cfg->n_notify++];
    memset(c, 0, sizeof(*c));
    c->line = s->line;
    c->name = strdup(s->arg);
    if (!c->name)
        return iocd_error_set(err, "out of memory"), NULL;
    return c;
}

/* A duration key within [min, max], or its default. */
static int read_duration(const struct iocd_ini_entry *e, const char *def, int64_t min,
                         int64_t max, int64_t *out, const char *file, const char *n,
                         const char *key, struct iocd_error *err)
{
    const char *v = e ? e->value : def;
    if (iocd_duration_parse(v, out) || *out < min || *out > max) {
        char lo[32], hi[32];
        iocd_duration_format(min, lo, sizeof(lo));
        iocd_duration_format(max, hi, sizeof(hi));
        return iocd_error_at(err, file, e ? e->line : 0,
                             "[notify %s] %s: '%s' is not a duration from %s to %s", n, key, v,
                             lo, hi);
    }
    return 0;
}

/* http://HOST... or https://HOST... with a host, no spaces or control bytes. */
static bool url_ok(const char *u)
{
    const char *rest = NULL;
    if (strncasecmp(u, "http://", 7) == 0)
        rest = u + 7;
    else if (strncasecmp(u, "https://", 8) == 0)
        rest = u + 8;
    if (!rest || !*rest || *rest == '/' || *rest == ':' || *rest == '?' || *rest == '#')
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return strlen(u) <= 4096;
}

static int read_url(const struct iocd_config *cfg, struct iocd_notify_channel *c,
                    const struct notify_entries *k, const char *file,
                    const struct iocd_ini_section *s, struct iocd_error *err)
{
    const char *n = s->arg;
    if (!k->url)
        return iocd_error_at(err, file, s->line, "[notify %s] has no 'url'", n);
    char key[96];
    snprintf(key, sizeof(key), "[notify %s] url", n);
    if (iocd_config_secret(cfg, key, k->url->value, file, k->url->line, &c->url, err))
        return -1;
    if (!url_ok(c->url)) {
        /* A secret URL is not repeated in the message. */
        bool secret = strcmp(c->url, k->url->value) != 0;
        return iocd_error_at(err, file, k->url->line,
                             "[notify %s] url: '%s' is not an http:// or https:// URL with a "
                             "host",
                             n, secret ? "(from the file)" : c->url);
    }
    return 0;
}

/* `rules`: names of [alert] sections. */
static int read_rules(const struct iocd_config *cfg, struct iocd_notify_channel *c,
                      const struct iocd_ini_entry *e, const char *file, const char *n,
                      struct iocd_error *err)
{
    char *buf = strdup(e->value), *save = NULL;
    if (!buf)
        return iocd_error_set(err, "out of memory");
    int rc = 0;
    for (char *tok = strtok_r(buf, " ,\t", &save); tok && rc == 0;
         tok = strtok_r(NULL, " ,\t", &save)) {
        bool found = false;
        for (int i = 0; i < cfg->n_alerts && !found; i++)
            found = strcmp(cfg->alerts[i].name, tok) == 0;
        if (!found) {
            rc = iocd_error_at(err, file, e->line, "[notify %s] rules: no [alert %s] section", n,
                               tok);
            break;
        }
        char **r = realloc(c->rules, (size_t)(c->n_rules + 1) * sizeof(*r));
        if (!r || !(r[c->n_rules] = strdup(tok))) {
            if (r)
                c->rules = r;
            rc = iocd_error_set(err, "out of memory");
            break;
        }
        c->rules = r;
        c->n_rules++;
    }
    free(buf);
    return rc;
}

/* `on`: the changes sent. */
static int read_on(struct iocd_notify_channel *c, const struct iocd_ini_entry *e,
                   const char *file, const char *n, struct iocd_error *err)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"raised", IOCD_NOTIFY_ON_RAISED},
        {"acknowledged", IOCD_NOTIFY_ON_ACKNOWLEDGED},
        {"assigned", IOCD_NOTIFY_ON_ASSIGNED},
        {"cleared", IOCD_NOTIFY_ON_CLEARED},
    };
    c->on = IOCD_NOTIFY_ON_RAISED | IOCD_NOTIFY_ON_ACKNOWLEDGED | IOCD_NOTIFY_ON_CLEARED;
    if (!e)
        return 0;
    c->on = 0;
    char buf[256], *save = NULL;
    if (strlen(e->value) >= sizeof(buf))
        return iocd_error_at(err, file, e->line, "[notify %s] on: too long", n);
    strcpy(buf, e->value);
    for (char *tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strcmp(tok, names[i].name) == 0)
                bit = names[i].bit;
        if (!bit)
            return iocd_error_at(err, file, e->line,
                                 "[notify %s] on: '%s' is not raised, acknowledged, assigned or "
                                 "cleared",
                                 n, tok);
        c->on |= bit;
    }
    if (!c->on)
        return iocd_error_at(err, file, e->line, "[notify %s] on: names no change", n);
    return 0;
}

/* `rate_limit`: N/PERIOD, or 0. */
static int read_rate(struct iocd_notify_channel *c, const struct iocd_ini_entry *e,
                     const char *file, const char *n, struct iocd_error *err)
{
    const char *v = e ? e->value : "20/1m";
    if (strcmp(v, "0") == 0) {
        c->rate_count = 0;
        c->rate_period_ms = 0;
        return 0;
    }
    char num[24];
    const char *slash = strchr(v, '/');
    size_t len = slash ? (size_t)(slash - v) : 0;
    if (!slash || len == 0 || len >= sizeof(num) ||
        (memcpy(num, v, len), num[len] = '\0', iocd_parse_int(num, 1, 1000000, &c->rate_count)) ||
        iocd_duration_parse(slash + 1, &c->rate_period_ms) || c->rate_period_ms < 1000 ||
        c->rate_period_ms > INT64_C(86400000))
        return iocd_error_at(err, file, e ? e->line : 0,
                             "[notify %s] rate_limit: '%s' is not N/PERIOD (N 1..1000000, "
                             "PERIOD 1s..1d, e.g. 20/1m) or 0",
                             n, v);
    return 0;
}

static int read_template(struct iocd_notify_channel *c, const struct iocd_ini_entry *e,
                         const char *file, const char *n, struct iocd_error *err)
{
    if (!e || !e->value[0])
        return 0;
    char bad[IOCD_TEMPLATE_NAME_MAX + 8];
    size_t at = 0;
    if (iocd_template_check(e->value, iocd_notify_fields, iocd_notify_n_fields, bad, sizeof(bad),
                            &at))
        return iocd_error_at(err, file, e->line,
                             "[notify %s] template: unknown placeholder %s at byte %zu (known: "
                             "{notification_id} {channel} {id} {rule} {state} {action} "
                             "{severity} {text} {source} {device} {series} {value} {threshold} "
                             "{time} {raised} {actor} {note} {assignee})",
                             n, bad, at + 1);
    c->template = strdup(e->value);
    return c->template ? 0 : iocd_error_set(err, "out of memory");
}

/* Every header.NAME of the section. */
static int read_headers(const struct iocd_config *cfg, struct iocd_notify_channel *c,
                        struct iocd_ini_section *s, const char *file, struct iocd_error *err)
{
    const char *n = s->arg;
    for (size_t i = 0; i < s->n_entries; i++) {
        struct iocd_ini_entry *e = &s->entries[i];
        if (strncmp(e->key, "header.", strlen("header.")) != 0)
            continue;
        e->used = true;
        const char *name = e->key + strlen("header.");
        if (!*name)
            return iocd_error_at(err, file, e->line, "[notify %s] header.: no header name", n);
        for (int j = 0; j < c->n_headers; j++)
            if (strcasecmp(c->header_name[j], name) == 0)
                return iocd_error_at(err, file, e->line, "[notify %s] %s given twice", n,
                                     e->key);
        if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Host") == 0 ||
            strcasecmp(name, "X-Iocd-Notification-Id") == 0 ||
            strcasecmp(name, "Transfer-Encoding") == 0)
            return iocd_error_at(err, file, e->line, "[notify %s] %s: iocd sets this header", n,
                                 e->key);
        if (c->n_headers == IOCD_NOTIFY_MAX_HEADERS)
            return iocd_error_at(err, file, e->line, "[notify %s] at most %d headers", n,
                                 IOCD_NOTIFY_MAX_HEADERS);
        char key[160];
        snprintf(key, sizeof(key), "[notify %s] %s", n, e->key);
        char *value = NULL;
        if (iocd_config_secret(cfg, key, e->value, file, e->line, &value, err))
            return -1;
        for (const unsigned char *p = (const unsigned char *)value; *p; p++)
            if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
                free(value);
                return iocd_error_at(err, file, e->line,
                                     "[notify %s] %s: a header value has no control characters",
                                     n, e->key);
            }
        c->header_name[c->n_headers] = strdup(name);
        c->header_value[c->n_headers] = value;
        if (!c->header_name[c->n_headers++])
            return iocd_error_set(err, "out of memory");
    }
    return 0;
}

static int load_channel(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_ini_section *s,
                        struct iocd_error *err)
{
    const char *file = ini->path, *n = s->arg;
    struct iocd_notify_channel *c = add_channel(cfg, file, s, err);
    if (!c)
        return -1;
    c->fingerprint = iocd_config_section_fingerprint(s);
    struct notify_entries k;
    if (iocd_keys_read(&k, iocd_notify_keys, iocd_notify_n_keys, NULL, ini, s, err) ||
        read_url(cfg, c, &k, file, s, err) || read_headers(cfg, c, s, file, err) ||
        (k.rules && read_rules(cfg, c, k.rules, file, n, err)) || read_on(c, k.on, file, n, err) ||
        read_rate(c, k.rate_limit, file, n, err) || read_template(c, k.template, file, n, err))
        return -1;
    if (k.min_severity) {
        c->min_severity = iocd_severity_parse(k.min_severity->value);
        if (c->min_severity < 1)
            return iocd_error_at(err, file, k.min_severity->line,
                                 "[notify %s] min_severity: '%s' is not info, warning, minor, "
                                 "major or critical",
                                 n, k.min_severity->value);
    }
    if (read_duration(k.timeout, "10s", 100, 300000, &c->timeout_ms, file, n, "timeout", err) ||
        read_duration(k.retry_min, "1s", 100, 3600000, &c->retry_min_ms, file, n, "retry_min",
                      err) ||
        read_duration(k.retry_max, "5m", c->retry_min_ms, 86400000, &c->retry_max_ms, file, n,
                      "retry_max", err))
        return -1;
    c->queue_max = 1000;
    if (k.queue_max && iocd_parse_int(k.queue_max->value, 1, 1000000, &c->queue_max))
        return iocd_error_at(err, file, k.queue_max->line,
                             "[notify %s] queue_max: '%s' is not an integer in 1..1000000", n,
                             k.queue_max->value);
    c->tls_verify = true;
    if (k.tls_verify && iocd_parse_bool(k.tls_verify->value, &c->tls_verify))
        return iocd_error_at(err, file, k.tls_verify->line,
                             "[notify %s] tls_verify: '%s' is not true or false", n,
                             k.tls_verify->value);
    return 0;
}

int iocd_config_load_notify(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err)
{
    for (size_t i = 0; i < ini->n_sections; i++)
        if (strcmp(ini->sections[i].name, "notify") == 0 &&
            load_channel(cfg, ini, &ini->sections[i], err))
            return -1;
    return 0;
}

void iocd_config_free_notify(struct iocd_config *cfg)
{
    for (int i = 0; i < cfg->n_notify; i++) {
        struct iocd_notify_channel *c = &cfg->notify[i];
        free(c->name);
        if (c->url)
            explicit_bzero(c->url, strlen(c->url));
        free(c->url);
        for (int r = 0; r < c->n_rules; r++)
            free(c->rules[r]);
        free(c->rules);
        free(c->template);
        for (int h = 0; h < c->n_headers; h++) {
            free(c->header_name[h]);
            if (c->header_value[h])
                explicit_bzero(c->header_value[h], strlen(c->header_value[h]));
            free(c->header_value[h]);
        }
    }
    free(cfg->notify);
    cfg->notify = NULL;
    cfg->n_notify = 0;
}
