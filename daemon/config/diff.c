/* daemon/config/diff.c — what a reload would change (see diff.h).
 *
 * Owns: the list of keys a reload applies in place (live_keys) and the
 * comparison of every other core key, slot by slot through the typed key
 * table, so a key added to the table is restart-only until it is listed
 * here; the name maps of adapters and alert rules; the [group] sections,
 * restart-only (map_groups). */
#include "daemon/config/diff.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "daemon/config/registry.h"

/* Keys a reload changes in place, each safe because every use reads it
 * through the configuration (never a copy made at start):
 *  - [mqtt] *: the session reconnects with the new settings
 *    (iocd_mqtt_reconfigure) when any of them changed;
 *  - [log] *: set again (iocd_log_set_level; the rate limits are read per
 *    line);
 *  - [ingest] max_payload, max_clock_skew, max_series, max_unwritten: read
 *    per message; dead_letter_topic: the hook is set again;
 *  - [devices] *: read on every device update and tick; registry: the
 *    file is read again on every reload, changed or not (a bad one fails
 *    the whole reload, so the old registry stays), and swapped in with the
 *    configuration (iocd_registry_keep_times in main.c's apply_config);
 *  - [store] retention, raw_retention, events_retention,
 *    max_windows_per_flush, window_write_delay: read when a flush is built;
 *    flush_when_quiet: read per message and when its timer fires;
 *  - [http] client_buffer, max_clients, web_root, map_tiles,
 *    map_attribution, map_areas (the file is read again by the load),
 *    map_area_value:
 *    read per request;
 *    token, users_file (the file is read again on every reload, changed
 *    or not), session_idle: set again (iocd_http_set_accounts; the load
 *    checked a token or users_file is there off loopback);
 *    tls_cert, tls_key, tls_min_version: iocd_http_reload_tls (also when
 *    unchanged: a renewed certificate at the same path is read again). */
static const struct {
    const char *section, *key; /* key NULL: the whole section */
} live_keys[] = {
    {"mqtt", NULL},
    {"log", NULL},
    {"devices", NULL},
    {"ingest", "max_payload"},
    {"ingest", "max_clock_skew"},
    {"ingest", "max_series"},
    {"ingest", "max_unwritten"},
    {"ingest", "dead_letter_topic"},
    {"store", "retention"},
    {"store", "raw_retention"},
    {"store", "events_retention"},
    {"store", "max_windows_per_flush"},
    {"store", "window_write_delay"},
    {"store", "flush_when_quiet"},
    {"http", "client_buffer"},
    {"http", "max_clients"},
    {"http", "web_root"},
    {"http", "map_tiles"},
    {"http", "map_attribution"},
    {"http", "map_areas"},
    {"http", "map_area_value"},
    {"http", "token"},
    {"http", "users_file"},
    {"http", "session_idle"},
    {"http", "tls_cert"},
    {"http", "tls_key"},
    {"http", "tls_min_version"},
};

bool iocd_config_key_is_live(const char *section, const char *key)
{
    for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
        if (strcmp(live_keys[i].section, section) == 0 &&
            (!live_keys[i].key || strcmp(live_keys[i].key, key) == 0))
            return true;
    return false;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool res_eq(const struct iocd_resolutions *a, const struct iocd_resolutions *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->ms[i] != b->ms[i])
            return false;
    return true;
}

static bool retention_eq(const struct iocd_config *a, const struct iocd_config *b)
{
    if (a->store.n_retention != b->store.n_retention)
        return false;
    for (int i = 0; i < a->store.n_retention; i++)
        if (a->store.retention[i].res_ms != b->store.retention[i].res_ms ||
            a->store.retention[i].keep_ms != b->store.retention[i].keep_ms)
            return false;
    return true;
}

/* 1 equal, 0 different, -1 a custom row this file does not know (treated
 * as different; tests/unit/test_config_diff.c checks none is left). */
static int slot_eq(const struct iocd_key *k, const struct iocd_config *a,
                   const struct iocd_config *b)
{
    const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
    switch (k->type) {
    case IOCD_KEY_STRING:
        return str_eq(*(char *const *)pa, *(char *const *)pb);
    case IOCD_KEY_INT:
        return *(const int *)pa == *(const int *)pb;
    case IOCD_KEY_BOOL:
        return *(const bool *)pa == *(const bool *)pb;
    case IOCD_KEY_INT64:
    case IOCD_KEY_DURATION:
    case IOCD_KEY_SIZE:
        return *(const int64_t *)pa == *(const int64_t *)pb;
    case IOCD_KEY_DOUBLE:
        return memcmp(pa, pb, sizeof(double)) == 0;
    case IOCD_KEY_CUSTOM:
        if (k->owns_string)
            return str_eq(*(char *const *)pa, *(char *const *)pb);
        if (strcmp(k->name, "resolutions") == 0 || strcmp(k->name, "windows") == 0)
            return res_eq((const struct iocd_resolutions *)pa, (const struct iocd_resolutions *)pb);
        if (strcmp(k->name, "timezone") == 0 || strcmp(k->name, "session_expiry") == 0)
            return *(const int64_t *)pa == *(const int64_t *)pb;
        if (strcmp(k->name, "retention") == 0)
            return retention_eq(a, b);
        if (strcmp(k->name, "level") == 0 || strcmp(k->name, "tls_min_version") == 0 ||
            strcmp(k->name, "tls_version") == 0 || strcmp(k->name, "protocol") == 0)
            return *(const int *)pa == *(const int *)pb;
        return -1;
    default:
        return -1;
    }
}

int iocd_config_diff_known(const struct iocd_key *k);
/* For the unit test: does slot_eq know row k? */
int iocd_config_diff_known(const struct iocd_key *k)
{
    struct iocd_config z;
    memset(&z, 0, sizeof(z));
    return slot_eq(k, &z, &z) == 1;
}

/* What an event rule counts, and per what. */
static bool event_filter_eq(const struct iocd_alert_rule *a, const struct iocd_alert_rule *b)
{
    if (a->per != b->per || a->min_severity != b->min_severity || !str_eq(a->area, b->area) ||
        a->n_where != b->n_where)
        return false;
    for (int i = 0; i < a->n_where; i++)
        if (!str_eq(a->where_key[i], b->where_key[i]) ||
            !str_eq(a->where_value[i], b->where_value[i]))
            return false;
    return true;
}

static bool rule_eq(const struct iocd_alert_rule *a, const struct iocd_alert_rule *b)
{
    if (a->type != b->type || !str_eq(a->match, b->match) || a->stat != b->stat ||
        a->window_ms != b->window_ms || a->above != b->above || a->n_bands != b->n_bands ||
        a->severity != b->severity || !str_eq(a->text, b->text))
        return false;
    if (memcmp(&a->level, &b->level, sizeof(double)) || memcmp(&a->clear, &b->clear, sizeof(double)) ||
        memcmp(&a->hysteresis, &b->hysteresis, sizeof(double)) ||
        memcmp(&a->multiple, &b->multiple, sizeof(double)))
        return false;
    if (memcmp(a->bands, b->bands, (size_t)a->n_bands * sizeof(double)))
        return false;
    return a->severity_given == b->severity_given && a->count == b->count &&
           event_filter_eq(a, b);
}

static int find_adapter(const struct iocd_config *c, const char *name)
{
    for (int i = 0; i < c->n_adapters; i++)
        if (strcmp(c->adapters[i].name, name) == 0)
            return i;
    return -1;
}

static int find_rule(const struct iocd_config *c, const char *name)
{
    for (int i = 0; i < c->n_alerts; i++)
        if (str_eq(c->alerts[i].name, name))
            return i;
    return -1;
}

/* Start one more item of the refusal's list. */
static struct iocd_buf *note(struct iocd_buf *b)
{
    if (b->len)
        iocd_buf_puts(b, ", ");
    return b;
}

static int map_adapters(const struct iocd_config *cur, const struct iocd_config *next,
                        struct iocd_config_diff *d, struct iocd_buf *why)
{
    for (int i = 0; i < next->n_adapters; i++) {
        const struct iocd_adapter_conf *n = &next->adapters[i];
        int j = find_adapter(cur, n->name);
        d->adapter_from[i] = j;
        if (j < 0) {
            d->adapter_kind[i] = IOCD_DIFF_ADDED;
            d->adapters_added++;
            continue;
        }
        const struct iocd_adapter_conf *o = &cur->adapters[j];
        bool same = o->fingerprint == n->fingerprint && o->ops == n->ops &&
                    str_eq(o->topic, n->topic) && str_eq(o->source, n->source) &&
                    res_eq(&o->resolutions, &n->resolutions) && o->max_series == n->max_series;
        d->adapter_kind[i] = same ? IOCD_DIFF_SAME : IOCD_DIFF_CHANGED;
        if (!same)
            d->adapters_changed++;
        /* Windows already open at the old lengths cannot change length. */
        if (!res_eq(&o->resolutions, &n->resolutions))
            iocd_buf_printf(note(why), "[adapter %s] resolutions", n->name);
    }
    for (int j = 0; j < cur->n_adapters; j++)
        if (find_adapter(next, cur->adapters[j].name) < 0)
            d->adapters_removed++;
    /* The VN_AQI stations' hours are kept per feed source. */
    if (cur->aqi.adapter && cur->aqi.adapter[0]) {
        int o = find_adapter(cur, cur->aqi.adapter), n = find_adapter(next, cur->aqi.adapter);
        if (o >= 0 && (n < 0 || !str_eq(cur->adapters[o].source, next->adapters[n].source)))
            iocd_buf_printf(note(why), "[adapter %s] (the [aqi] feed) removed or its source",
                            cur->aqi.adapter);
    }
    return 0;
}

/* [group NAME] sections change only with a restart: the group series and
 * the member lists are resolved when a series is created (and from the
 * stored series at start), by the group's place in the file, and a merged
 * group's open windows already hold the samples of the old members; a
 * membership changed in the middle of a window would make the roll-up
 * count neither the old nor the new set. */
/* Whether registry rows a and b (either NULL) give a device the same
 * area, subsystem and tags: what `where` and {area} select by. */
static bool same_selection(const struct iocd_registry_entry *a, const struct iocd_registry_entry *b)
{
    if (!a || !b)
        return !a && !b;
    return str_eq(a->area, b->area) && str_eq(a->subsystem, b->subsystem) &&
           str_eq(a->tags, b->tags);
}

/* A group selecting by registry field had its members resolved with the
 * registry of the start: a reload whose registry moves a device to another
 * area (or changes its subsystem or tags, or adds or removes it) is
 * refused like a changed [group], so no series is counted in a group it
 * no longer belongs to, or in two. */
static void map_group_registry(const struct iocd_config *cur, const struct iocd_config *next,
                               struct iocd_buf *why)
{
    const struct iocd_group_conf *by = NULL;
    for (int i = 0; !by && i < cur->n_groups; i++)
        if (cur->groups[i].where_field || cur->groups[i].area)
            by = &cur->groups[i];
    if (!by)
        return;
    const struct iocd_registry *r[2] = {cur->devices.registry_data, next->devices.registry_data};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < iocd_registry_count(r[k]); i++) {
            const struct iocd_registry_entry *e = iocd_registry_at(r[k], i);
            const struct iocd_registry_entry *o = iocd_registry_find(r[!k], e->source, e->device);
            if (!same_selection(e, o)) {
                iocd_buf_printf(note(why),
                                "[devices] registry: the area/subsystem/tags of %s/%s ([group "
                                "%s] selects members by them)",
                                e->source, e->device, by->name);
                return;
            }
        }
}

static void map_groups(const struct iocd_config *cur, const struct iocd_config *next,
                       struct iocd_buf *why)
{
    map_group_registry(cur, next, why);
    for (int i = 0; i < next->n_groups; i++) {
        const struct iocd_group_conf *n = &next->groups[i];
        int j = 0;
        while (j < cur->n_groups && !str_eq(cur->groups[j].name, n->name))
            j++;
        if (j == cur->n_groups)
            iocd_buf_printf(note(why), "[group %s] (added)", n->name);
        else if (j != i || cur->groups[j].fingerprint != n->fingerprint)
            iocd_buf_printf(note(why), "[group %s]", n->name);
    }
    for (int j = 0; j < cur->n_groups; j++) {
        int i = 0;
        while (i < next->n_groups && !str_eq(cur->groups[j].name, next->groups[i].name))
            i++;
        if (i == next->n_groups)
            iocd_buf_printf(note(why), "[group %s] (removed)", cur->groups[j].name);
    }
}

static void map_rules(const struct iocd_config *cur, const struct iocd_config *next,
                      struct iocd_config_diff *d)
{
    for (int i = 0; i < next->n_alerts; i++) {
        const struct iocd_alert_rule *n = &next->alerts[i];
        int j = find_rule(cur, n->name);
        d->rule_from[i] = j;
        if (j < 0) {
            d->rule_kind[i] = IOCD_DIFF_ADDED;
            d->rules_added++;
            continue;
        }
        const struct iocd_alert_rule *o = &cur->alerts[j];
        if (rule_eq(o, n)) {
            d->rule_kind[i] = IOCD_DIFF_SAME;
            d->rule_keeps_state[i] = true;
            continue;
        }
        d->rule_kind[i] = IOCD_DIFF_CHANGED;
        d->rules_changed++;
        d->rule_keeps_state[i] = o->type == n->type && str_eq(o->match, n->match) &&
                                 o->stat == n->stat && o->window_ms == n->window_ms &&
                                 o->n_bands == n->n_bands && event_filter_eq(o, n);
    }
    for (int j = 0; j < cur->n_alerts; j++)
        if (find_rule(next, cur->alerts[j].name) < 0)
            d->rules_removed++;
}

int iocd_config_diff(const struct iocd_config *cur, const struct iocd_config *next,
                     struct iocd_config_diff *d, struct iocd_error *err)
{
    memset(d, 0, sizeof(*d));
    size_t na = next->n_adapters > 0 ? (size_t)next->n_adapters : 1;
    size_t nr = next->n_alerts > 0 ? (size_t)next->n_alerts : 1;
    d->adapter_from = calloc(na, sizeof(*d->adapter_from));
    d->adapter_kind = calloc(na, sizeof(*d->adapter_kind));
    d->rule_from = calloc(nr, sizeof(*d->rule_from));
    d->rule_kind = calloc(nr, sizeof(*d->rule_kind));
    d->rule_keeps_state = calloc(nr, sizeof(*d->rule_keeps_state));
    if (!d->adapter_from || !d->adapter_kind || !d->rule_from || !d->rule_kind ||
        !d->rule_keeps_state) {
        iocd_config_diff_free(d);
        return iocd_error_set(err, "out of memory");
    }
    struct iocd_buf why;
    iocd_buf_init(&why);
    for (size_t i = 0; i < iocd_core_n_keys; i++) {
        const struct iocd_key *k = &iocd_core_keys[i];
        if (!k->section || slot_eq(k, cur, next) == 1)
            continue;
        if (strcmp(k->section, "mqtt") == 0)
            d->mqtt_changed = true;
        else if (strcmp(k->section, "log") == 0)
            d->log_changed = true;
        else if (strcmp(k->section, "http") == 0 && iocd_config_key_is_live(k->section, k->name))
            d->http_changed = true;
        if (!iocd_config_key_is_live(k->section, k->name))
            iocd_buf_printf(note(&why), "[%s] %s", k->section, k->name);
    }
    /* A certificate can be renewed live, but HTTP cannot become HTTPS on
     * the listening socket (or back). */
    bool tls_cur = cur->http.tls_cert && cur->http.tls_cert[0];
    bool tls_next = next->http.tls_cert && next->http.tls_cert[0];
    if (tls_cur != tls_next)
        iocd_buf_printf(note(&why), "[http] tls_cert (%s)",
                        tls_next ? "HTTP to HTTPS" : "HTTPS to HTTP");
    /* A series' canonical unit is fixed once it has data, and the rules
     * are read as series are created and restored: docs/units.md#reload. */
    if (cur->units_fingerprint != next->units_fingerprint)
        iocd_buf_printf(note(&why), "[units]");
    /* The state series' carry and sets are read at start: docs/states.md. */
    if (cur->states_fingerprint != next->states_fingerprint)
        iocd_buf_printf(note(&why), "[states]");
    map_adapters(cur, next, d, &why);
    map_groups(cur, next, &why);
    map_rules(cur, next, d);
    if (why.len) {
        iocd_error_set(err, "%s %s only with a restart", why.p,
                       strchr(why.p, ',') ? "change" : "changes");
        iocd_buf_free(&why);
        iocd_config_diff_free(d);
        return -1;
    }
    iocd_buf_free(&why);
    return 0;
}

void iocd_config_diff_free(struct iocd_config_diff *d)
{
    free(d->adapter_from);
    free(d->adapter_kind);
    free(d->rule_from);
    free(d->rule_kind);
    free(d->rule_keeps_state);
    memset(d, 0, sizeof(*d));
}
