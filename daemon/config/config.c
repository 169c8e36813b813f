/* daemon/config/config.c — the full loader: the core keys (core.c) plus the
 * [adapter NAME] sections (each handed to its format's create(), which
 * reads the format's typed key table), the [alert NAME] sections
 * (alert_rules.c), the [notify NAME] sections (notify_channels.c), the
 * [group NAME] sections (groups.c), [units] (unit_rules.c) and [states]
 * (state_rules.c).
 *
 * Owns: struct iocd_config's adapter list (struct iocd_adapter_conf and
 * the adapter states) and the table of the adapter section's own keys;
 * `iocd --help-config` (plain or Markdown) printed from every table. Any
 * key left unread anywhere is an "unknown key" error with its file and
 * line. This file never touches the network, the store or the loop. */
#include "daemon/config/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>

#include "daemon/config/credentials.h"
#include "daemon/config/map_areas.h"
#include "daemon/base/topic.h"

/* The keys of an [adapter NAME] section the loader reads itself (the
 * format's own keys are in its adapter's table). */
struct adapter_entries {
    struct iocd_ini_entry *topic, *format, *source, *resolutions, *max_series;
};

#define AOFF(field) offsetof(struct adapter_entries, field)

static const struct iocd_key adapter_keys[] = {
    {NULL, "topic", IOCD_KEY_ENTRY, AOFF(topic), NULL, 0, 0,
     "MQTT topic filter this adapter subscribes to (+ and # allowed; $share/GROUP/FILTER "
     "shares the feed among the subscribers of GROUP; required)", NULL, false},
    {NULL, "format", IOCD_KEY_ENTRY, AOFF(format), NULL, 0, 0,
     "decoder: json, senml, sparkplug, ngsi, influx, text or event (required)", NULL, false},
    {NULL, "source", IOCD_KEY_ENTRY, AOFF(source), NULL, 0, 0,
     "series source name; default: the section's NAME", NULL, false},
    {NULL, "resolutions", IOCD_KEY_ENTRY, AOFF(resolutions), NULL, 0, 0,
     "window lengths for this feed; default: [store] resolutions", NULL, false},
    {NULL, "max_series", IOCD_KEY_ENTRY, AOFF(max_series), NULL, 0, 0,
     "series this feed may create (0: no limit beyond [ingest] max_series)", NULL, false},
};

int iocd_config_check_name(const char *what, const char *s, const char *file, int line,
                           struct iocd_error *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return iocd_error_at(err, file, line, "%s must be 1 to 64 characters", what);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_-.", s[i]))
            return iocd_error_at(err, file, line,
                                 "%s '%s' may only contain letters, digits, '_', '-' and '.'",
                                 what, s);
    return 0;
}

int iocd_config_check_topic_filter(const char *t, const char *file, int line,
                                   struct iocd_error *err)
{
    size_t n = strlen(t);
    if (n == 0 || n > 1024)
        return iocd_error_at(err, file, line, "topic: must be 1 to 1024 characters");
    for (size_t i = 0; i < n; i++) {
        bool level_start = i == 0 || t[i - 1] == '/';
        bool level_end = i + 1 == n || t[i + 1] == '/';
        if (t[i] == '+' && !(level_start && level_end))
            return iocd_error_at(err, file, line,
                                 "topic '%s': '+' must stand alone in its level", t);
        if (t[i] == '#' && !(level_start && i + 1 == n))
            return iocd_error_at(err, file, line,
                                 "topic '%s': '#' must be the whole last level", t);
    }
    return 0;
}

/* A new, zeroed entry of cfg->adapters for section s (name checked). */
static struct iocd_adapter_conf *add_adapter(struct iocd_config *cfg, const char *file,
                                             const struct iocd_ini_section *s,
                                             struct iocd_error *err)
{
    if (!s->arg)
        return iocd_error_at(err, file, s->line, "[adapter] needs a name: [adapter NAME]"), NULL;
    if (iocd_config_check_name("adapter name", s->arg, file, s->line, err))
        return NULL;
    if (strcmp(s->arg, "iocd") == 0)
        return iocd_error_at(err, file, s->line, "adapter name 'iocd' is reserved"), NULL;
    for (int i = 0; i < cfg->n_adapters; i++)
        if (strcmp(cfg->adapters[i].name, s->arg) == 0)
            return iocd_error_at(err, file, s->line,
                                 "[adapter %s] defined twice (first on line %d)", s->arg,
                                 cfg->adapters[i].line),
                   NULL;
    struct iocd_adapter_conf *a =
        realloc(cfg->adapters, (size_t)(cfg->n_adapters + 1) * sizeof(*a));
    if (!a)
        return iocd_error_set(err, "out of memory"), NULL;
    cfg->adapters = a;
    a = &cfg->adapters[cfg->n_adapters++];
    memset(a, 0, sizeof(*a));
    a->line = s->line;
    a->name = strdup(s->arg);
    return a;
}

uint64_t iocd_config_section_fingerprint(const struct iocd_ini_section *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < s->n_entries; i++)
        for (int part = 0; part < 2; part++) {
            const unsigned char *c =
                (const unsigned char *)(part ? s->entries[i].value : s->entries[i].key);
            for (; *c; c++)
                h = (h ^ *c) * 0x100000001b3u;
            h = (h ^ 0xffu) * 0x100000001b3u; /* separator no key or value holds */
        }
    return h;
}

static int load_adapter(struct iocd_config *cfg, struct iocd_ini *ini,
                        struct iocd_ini_section *s, struct iocd_error *err)
{
    const char *file = ini->path;
    struct iocd_adapter_conf *a = add_adapter(cfg, file, s, err);
    if (!a)
        return -1;
    struct adapter_entries k;
    if (iocd_keys_read(&k, adapter_keys, sizeof(adapter_keys) / sizeof(adapter_keys[0]), NULL,
                       ini, s, err))
        return -1;
    if (!k.topic)
        return iocd_error_at(err, file, s->line, "[adapter %s] has no 'topic'", s->arg);
    if (!k.format)
        return iocd_error_at(err, file, s->line, "[adapter %s] has no 'format' (one of: %s)",
                             s->arg, iocd_adapter_formats());
    const char *filter = iocd_topic_share_filter(k.topic->value);
    if (!filter)
        return iocd_error_at(err, file, k.topic->line,
                             "[adapter %s] topic '%s': a shared subscription is "
                             "$share/GROUP/FILTER (GROUP not empty, without '+' or '#'; "
                             "FILTER not empty)",
                             s->arg, k.topic->value);
    if (iocd_config_check_topic_filter(filter, file, k.topic->line, err))
        return -1;
    a->ops = iocd_adapter_find(k.format->value);
    if (!a->ops)
        return iocd_error_at(err, file, k.format->line,
                             "[adapter %s] format: unknown format '%s' (one of: %s)", s->arg,
                             k.format->value, iocd_adapter_formats());
    if (k.source && iocd_config_check_name("source", k.source->value, file, k.source->line, err))
        return -1;
    a->resolutions = cfg->store.resolutions;
    if (k.resolutions) {
        char sec[80];
        snprintf(sec, sizeof(sec), "adapter %s", s->arg);
        if (iocd_config_parse_resolutions(&a->resolutions, sec, k.resolutions->value, file,
                                          k.resolutions->line, err))
            return -1;
    }
    if (k.max_series && iocd_parse_int(k.max_series->value, 0, INT64_C(100000000), &a->max_series))
        return iocd_error_at(err, file, k.max_series->line,
                             "[adapter %s] max_series: '%s' is not an integer in 0..100000000",
                             s->arg, k.max_series->value);
    a->fingerprint = iocd_config_section_fingerprint(s);
    a->topic = strdup(k.topic->value);
    a->source = strdup(k.source ? k.source->value : s->arg);
    if (!a->name || !a->topic || !a->source)
        return iocd_error_set(err, "out of memory");
    a->filter = a->topic + (filter - k.topic->value);
    return a->ops->create(ini, s, a->source, &a->state, err);
}

/* Could some topic match both MQTT filters? */
static bool filters_overlap(const char *a, const char *b)
{
    for (;;) {
        size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
        if ((la == 1 && a[0] == '#') || (lb == 1 && b[0] == '#'))
            return true;
        bool same = (la == 1 && a[0] == '+') || (lb == 1 && b[0] == '+') ||
                    (la == lb && memcmp(a, b, la) == 0);
        if (!same)
            return false;
        bool enda = a[la] == '\0', endb = b[lb] == '\0';
        if (enda && endb)
            return true;
        if (enda)
            return strcmp(b + lb, "/#") == 0; /* "x" matches "x/#" */
        if (endb)
            return strcmp(a + la, "/#") == 0;
        a += la + 1;
        b += lb + 1;
    }
}

/* Would an adapter consume iocd's own output: the dead-letter topic
 * (what 0) or the live prefix (what 1)? (iocd_config_core_finish asks.) */
static int consumed_by_adapter(const struct iocd_config *cfg, int what, const char *file,
                               struct iocd_error *err)
{
    if (what == 0) {
        const char *dlt = cfg->ingest.dead_letter_topic;
        for (int i = 0; i < cfg->n_adapters; i++) {
            char probe[1100];
            bool m1 = false, m2 = false;
            snprintf(probe, sizeof(probe), "%s/%s", dlt, cfg->adapters[i].name);
            mosquitto_topic_matches_sub(cfg->adapters[i].filter, probe, &m1);
            mosquitto_topic_matches_sub(cfg->adapters[i].filter, dlt, &m2);
            if (m1 || m2)
                return iocd_error_set(err,
                                      "%s: [ingest] dead_letter_topic '%s' would be consumed "
                                      "by [adapter %s] (topic %s): iocd never takes its own output",
                                      file, dlt, cfg->adapters[i].name, cfg->adapters[i].topic);
        }
        return 0;
    }
    const char *pfx = cfg->live.prefix;
    char own[260];
    snprintf(own, sizeof(own), "%s/#", pfx);
    for (int i = 0; i < cfg->n_adapters; i++)
        if (filters_overlap(cfg->adapters[i].filter, own))
            return iocd_error_set(err,
                                  "%s: [live] prefix '%s' would be consumed by [adapter %s] "
                                  "(topic %s): iocd never takes its own output",
                                  file, pfx, cfg->adapters[i].name, cfg->adapters[i].topic);
    return 0;
}

/* Checks that involve the adapters, after the core's. */
static int finish(struct iocd_config *cfg, struct iocd_error *err)
{
    const char *file = cfg->path ? cfg->path : "(defaults)";
    if (iocd_config_core_finish(cfg, consumed_by_adapter, err))
        return -1;
    /* The broker's credentials and TLS files: resolved and readable (their
     * contents are daemon/mqtt/tls.c's to check: iocd_tls_check). */
    if (iocd_config_mqtt_files(cfg, err) || iocd_config_http_users(cfg, err) ||
        iocd_config_http_map(cfg, err) || iocd_config_devices_registry(cfg, err) ||
        iocd_config_expand_groups(cfg, err))
        return -1;
    if (cfg->aqi.adapter[0]) {
        bool found = false;
        for (int i = 0; i < cfg->n_adapters; i++)
            found |= strcmp(cfg->adapters[i].name, cfg->aqi.adapter) == 0;
        if (!found)
            return iocd_error_set(err, "%s: [aqi] adapter '%s' is not an [adapter NAME] section",
                                  file, cfg->aqi.adapter);
    }
    if (cfg->n_adapters == 0)
        return iocd_error_set(err, "%s: no [adapter NAME] section: iocd would subscribe to nothing",
                              file);
    return 0;
}

static int load(struct iocd_config *cfg, const char *name, const char *text, const char *path,
                struct iocd_error *err)
{
    struct iocd_ini ini;
    int rc = iocd_config_core_begin(cfg, name, text, path, &ini, err);
    for (size_t i = 0; rc == 0 && i < ini.n_sections; i++)
        if (strcmp(ini.sections[i].name, "adapter") == 0)
            rc = load_adapter(cfg, &ini, &ini.sections[i], err);
    if (rc == 0)
        rc = iocd_config_load_groups(cfg, &ini, err);
    if (rc == 0)
        rc = iocd_config_load_alerts(cfg, &ini, err);
    if (rc == 0)
        rc = iocd_config_load_notify(cfg, &ini, err);
    if (rc == 0)
        rc = iocd_config_load_units(cfg, &ini, err);
    if (rc == 0)
        rc = iocd_config_load_states(cfg, &ini, err);
    if (rc == 0)
        rc = iocd_ini_check_unused(&ini, err);
    if (rc == 0)
        rc = finish(cfg, err);
    iocd_ini_free(&ini);
    if (rc)
        iocd_config_free(cfg);
    return rc;
}

int iocd_config_load(struct iocd_config *cfg, const char *path, struct iocd_error *err)
{
    return load(cfg, NULL, iocd_default_config, path, err);
}

int iocd_config_load_string(struct iocd_config *cfg, const char *name, const char *text,
                            struct iocd_error *err)
{
    return load(cfg, name, text, NULL, err);
}

void iocd_config_free(struct iocd_config *cfg)
{
    for (int i = 0; i < cfg->n_adapters; i++) {
        struct iocd_adapter_conf *a = &cfg->adapters[i];
        if (a->ops && a->state)
            a->ops->destroy(a->state);
        free(a->name);
        free(a->topic);
        free(a->source);
    }
    free(cfg->adapters);
    iocd_config_free_groups(cfg);
    iocd_config_free_alerts(cfg);
    iocd_config_free_notify(cfg);
    iocd_config_free_units(cfg);
    iocd_config_free_states(cfg);
    iocd_config_core_free(cfg);
    memset(cfg, 0, sizeof(*cfg));
}

static void print_heading(FILE *out, bool markdown, bool first, const char *title)
{
    if (markdown)
        fprintf(out, "%s### %s\n\n| Key | Default | Meaning |\n|---|---|---|\n", first ? "" : "\n",
                title);
    else
        fprintf(out, "%s%s\n", first ? "" : "\n", title);
}

void iocd_config_print_keys(FILE *out, bool markdown)
{
    const char *section = "";
    char title[96];
    for (size_t k = 0; k < iocd_core_n_keys; k++) {
        if (strcmp(section, iocd_core_keys[k].section) != 0) {
            section = iocd_core_keys[k].section;
            snprintf(title, sizeof(title), "[%s]", section);
            print_heading(out, markdown, k == 0, title);
            iocd_keys_print(out, iocd_core_keys, iocd_core_n_keys, section, markdown);
        }
    }
    print_heading(out, markdown, false, "[adapter NAME]");
    iocd_keys_print(out, adapter_keys, sizeof(adapter_keys) / sizeof(adapter_keys[0]), NULL,
                    markdown);
    for (size_t i = 0; iocd_adapter_at(i); i++) {
        const struct iocd_adapter_ops *ops = iocd_adapter_at(i);
        snprintf(title, sizeof(title), "[adapter NAME] format = %s", ops->name);
        print_heading(out, markdown, false, title);
        iocd_keys_print(out, ops->keys, ops->n_keys, NULL, markdown);
    }
    print_heading(out, markdown, false,
                  markdown ? "[alert NAME]" : "[alert NAME]  (docs/alerts.md)");
    iocd_keys_print(out, iocd_alert_keys, iocd_alert_n_keys, NULL, markdown);
    print_heading(out, markdown, false,
                  markdown ? "[notify NAME]" : "[notify NAME]  (docs/alerts.md, Notifications)");
    iocd_keys_print(out, iocd_notify_keys, iocd_notify_n_keys, NULL, markdown);
    print_heading(out, markdown, false,
                  markdown ? "[group NAME]" : "[group NAME]  (docs/groups.md)");
    iocd_keys_print(out, iocd_group_keys, iocd_group_n_keys, NULL, markdown);
    print_heading(out, markdown, false, markdown ? "[units]" : "[units]  (docs/units.md)");
    iocd_keys_print(out, iocd_units_keys, iocd_units_n_keys, NULL, markdown);
    print_heading(out, markdown, false, markdown ? "[states]" : "[states]  (docs/states.md)");
    iocd_keys_print(out, iocd_states_keys, iocd_states_n_keys, NULL, markdown);
}
