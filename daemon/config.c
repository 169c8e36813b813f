/* daemon/config.c — the configuration table, its parser and defaults.
 *
 * Owns: struct iocd_config (see config.h). Every core key is one row of
 * `keys[]`; the parser, `iocd --help-config` and the shipped example config
 * follow that table. Adapter sections are handed to their adapter's
 * create(), which reads its own keys; any key left unread anywhere is an
 * "unknown key" error with its file and line. This file never touches the
 * network, the store or the loop. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <syslog.h>

#include "timeutil.h"

enum key_type {
    KEY_STRING,
    KEY_INT,   /* int slot */
    KEY_INT64, /* int64_t slot */
    KEY_BOOL,
    KEY_DURATION,
    KEY_SIZE,
    KEY_RESOLUTIONS,
    KEY_TIMEZONE,
    KEY_RETENTION,
    KEY_LOGLEVEL,
};

struct key_def {
    const char *section;
    const char *name;
    enum key_type type;
    size_t offset;      /* into struct iocd_config */
    const char *def;    /* default, parsed like a file value; NULL = none */
    int64_t min, max;   /* bounds for ints, durations (ms) and sizes */
    const char *help;
};

#define OFF(field) offsetof(struct iocd_config, field)

static const struct key_def keys[] = {
    {"mqtt", "host", KEY_STRING, OFF(mqtt.host), "localhost", 0, 0,
     "broker host name or address"},
    {"mqtt", "port", KEY_INT, OFF(mqtt.port), "1883", 1, 65535, "broker TCP port"},
    {"mqtt", "client_id", KEY_STRING, OFF(mqtt.client_id), "iocd", 0, 0,
     "MQTT client id; keep it stable so the broker keeps iocd's session across restarts"},
    {"mqtt", "qos", KEY_INT, OFF(mqtt.qos), "1", 0, 2,
     "subscription QoS; 1 lets the broker queue messages while iocd restarts"},
    {"mqtt", "keepalive", KEY_DURATION, OFF(mqtt.keepalive_ms), "30s", 5000, 3600000,
     "MQTT keepalive interval"},
    {"mqtt", "username", KEY_STRING, OFF(mqtt.username), "", 0, 0, "user name; empty for none"},
    {"mqtt", "password", KEY_STRING, OFF(mqtt.password), "", 0, 0, "password; empty for none"},
    {"mqtt", "clean_session", KEY_BOOL, OFF(mqtt.clean_session), "false", 0, 0,
     "start a fresh session on every connect (loses messages queued while iocd was away)"},
    {"mqtt", "reconnect_min", KEY_DURATION, OFF(mqtt.reconnect_min_ms), "1s", 100, 3600000,
     "first reconnect delay; doubles after each failure"},
    {"mqtt", "reconnect_max", KEY_DURATION, OFF(mqtt.reconnect_max_ms), "30s", 100, 3600000,
     "cap of the reconnect delay"},
    {"store", "path", KEY_STRING, OFF(store.path), "", 0, 0,
     "SQLite database file; empty: $STATE_DIRECTORY/iocd.db, else ./iocd.db"},
    {"store", "resolutions", KEY_RESOLUTIONS, OFF(store.resolutions), "1m 1h 1d", 1000,
     INT64_C(31) * 86400000,
     "window lengths, finest first, each a whole multiple of the one before"},
    {"store", "timezone", KEY_TIMEZONE, OFF(store.tz_offset_ms), "UTC", 0, 0,
     "the city's UTC offset (+07:00 for Vietnam); windows of a day or longer start at local "
     "midnight"},
    {"store", "retention", KEY_RETENTION, 0, "", 0, 0,
     "RES:DURATION pairs (1m:14d 1h:730d 1d:forever); unlisted: 14d below 1h, 730d below 1d, "
     "else forever"},
    {"store", "raw_retention", KEY_DURATION, OFF(store.raw_retention_ms), "48h", 0,
     INT64_C(3650) * 86400000,
     "raw samples (the journal) kept for drill-down at least this long (0: only until every "
     "window holds them)"},
    {"store", "max_windows_per_flush", KEY_INT64, OFF(store.max_windows_per_flush), "10000", 100,
     INT64_C(10000000),
     "windows written per flush at most, longest-changed first; the rest wait in memory (their "
     "samples are already durable in the journal)"},
    {"store", "events_retention", KEY_DURATION, OFF(store.events_retention_ms), "365d", 0,
     INT64_C(100) * 365 * 86400000, "how long raw events are kept (0: forever)"},
    {"store", "flush_interval", KEY_DURATION, OFF(store.flush_interval_ms), "1s", 50, 60000,
     "how often changed windows are written, in one transaction, off the event loop"},
    {"ingest", "max_payload", KEY_SIZE, OFF(ingest.max_payload), "256KiB", 16, 16 << 20,
     "larger messages are rejected as too_large"},
    {"ingest", "max_clock_skew", KEY_DURATION, OFF(ingest.max_clock_skew_ms), "5m", 0,
     INT64_C(86400000), "observation times further in the future are rejected as future_time"},
    {"ingest", "dedup_horizon", KEY_INT64, OFF(ingest.dedup_horizon), "1000000", 0,
     INT64_C(100000000),
     "recent (series, observation time) keys remembered to drop redelivered duplicates "
     "(0: off)"},
    {"ingest", "max_series", KEY_INT64, OFF(ingest.max_series), "1000000", 0, INT64_C(100000000),
     "distinct series accepted before new ones are rejected as series_limit (0: no limit)"},
    {"ingest", "dead_letter_topic", KEY_STRING, OFF(ingest.dead_letter_topic), "", 0, 0,
     "publish every rejected message, with its reason, under TOPIC/ADAPTER (empty: off)"},
    {"aqi", "adapter", KEY_STRING, OFF(aqi.adapter), "", 0, 0,
     "the feed whose devices are air-quality stations: hourly and daily VN_AQI as series "
     "FEED/STATION/vn_aqi and vn_aqi_day (empty: off)"},
    {"aqi", "pm25", KEY_STRING, OFF(aqi.pm25), "pm25", 0, 0, "metric of PM2.5 in ug/m3"},
    {"aqi", "pm10", KEY_STRING, OFF(aqi.pm10), "pm10", 0, 0, "metric of PM10 in ug/m3"},
    {"aqi", "o3", KEY_STRING, OFF(aqi.o3), "o3", 0, 0, "metric of O3 in ug/m3"},
    {"aqi", "co", KEY_STRING, OFF(aqi.co), "co", 0, 0, "metric of CO in ug/m3"},
    {"aqi", "so2", KEY_STRING, OFF(aqi.so2), "so2", 0, 0, "metric of SO2 in ug/m3"},
    {"aqi", "no2", KEY_STRING, OFF(aqi.no2), "no2", 0, 0, "metric of NO2 in ug/m3"},
    {"aqi", "delay", KEY_DURATION, OFF(aqi.delay_ms), "10m", 0, INT64_C(86400000),
     "an hour's AQI is computed this long after the hour ends (late samples still count)"},
    {"log", "level", KEY_LOGLEVEL, OFF(log.level), "info", 0, 0,
     "error, warning, notice, info or debug"},
    {"log", "rate_limit_interval", KEY_DURATION, OFF(log.rate_limit_interval_ms), "10s", 0,
     3600000, "per-topic/reason log lines are limited per this interval"},
    {"log", "rate_limit_burst", KEY_INT, OFF(log.rate_limit_burst), "5", 1, 1000000,
     "lines allowed per key and interval before suppression"},
};

/* Adapter section keys the core reads itself. */
static const struct {
    const char *name;
    const char *help;
} adapter_keys[] = {
    {"topic", "MQTT topic filter this adapter subscribes to (+ and # allowed)"},
    {"format", "decoder: json"},
    {"source", "series source name; default: the section's NAME"},
    {"resolutions", "window lengths for this feed; default: [store] resolutions"},
    {"max_series", "series this feed may create (0: no limit beyond [ingest] max_series)"},
};

/* With no config file, iocd runs the simulator's feeds against a broker on
 * localhost. Kept equal to the adapter sections of config/iocd.conf. */
static const char default_config[] =
    "[store]\n"
    "timezone = +07:00\n"
    "[aqi]\n"
    "adapter = air\n"
    "[adapter air]\n"
    "topic = pleiku/air/+/data\n"
    "format = json\n"
    "device = $.station\n"
    "time = $.ts\n"
    "metric.pm25 = $.pm25 ug/m3\n"
    "metric.pm10 = $.pm10 ug/m3\n"
    "metric.no2 = $.no2 ug/m3\n"
    "metric.temperature = $.temp Cel\n"
    "metric.humidity = $.rh %\n"
    "[adapter traffic]\n"
    "topic = pleiku/traffic/+/count\n"
    "format = json\n"
    "device = $.counter\n"
    "time = $.time_ms\n"
    "time_format = ms\n"
    "metric.vehicles = $.vehicles 1\n"
    "metric.speed = $.speed_kmh km/h\n"
    "[adapter water]\n"
    "topic = pleiku/water/+/level\n"
    "format = json\n"
    "device = topic[2]\n"
    "time = $.t\n"
    "time_format = s\n"
    "metric.level = $.level_cm cm\n"
    "metric.battery = $.battery_v V\n"
    "[adapter weather]\n"
    "topic = pleiku/weather/+/senml\n"
    "format = senml\n"
    "[adapter rain]\n"
    "topic = pleiku/rain/+/intensity\n"
    "format = text\n"
    "mode = number\n"
    "device = topic[2]\n"
    "metric = intensity\n"
    "unit = mm/h\n"
    "[adapter violations]\n"
    "topic = pleiku/violations/+/event\n"
    "format = event\n"
    "kind = $.type\n"
    "device = $.camera\n"
    "area = $.ward\n"
    "time = $.time\n"
    "lat = $.lat\n"
    "lon = $.lon\n"
    "severity = minor\n"
    "[adapter lighting]\n"
    "topic = spBv1.0/pleiku-lighting/#\n"
    "format = sparkplug\n"
    "[adapter bus]\n"
    "topic = pleiku/bus/+/lp\n"
    "format = influx\n"
    "device = tag:bus\n"
    "metric = field\n"
    "precision = ns\n"
    "unit.lat = deg\n"
    "unit.lon = deg\n"
    "unit.speed = km/h\n"
    "unit.occupancy = 1\n"
    "[adapter fire]\n"
    "topic = pleiku/fire/+/alarm\n"
    "format = event\n"
    "kind = $.event\n"
    "severity = $.priority\n"
    "severity_map = 1:critical, 2:major, 3:warning, 4:info\n"
    "device = $.panel\n"
    "area = $.ward\n"
    "text = $.building\n"
    "time = $.time\n"
    "[adapter reports]\n"
    "topic = pleiku/reports/+/event\n"
    "format = event\n"
    "kind = $.category\n"
    "text = $.description\n"
    "area = $.ward\n"
    "status = $.status\n"
    "statuses = new, received, assigned, in_progress, resolved, rejected\n"
    "severity = $.severity\n"
    "time = $.updated_at\n"
    "location = $.location\n"
    "[adapter parking]\n"
    "topic = pleiku/parking/ngsi/+\n"
    "format = ngsi\n"
    "types = OffStreetParking\n";

static const char *const level_names[] = {
    [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
    [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int iocd_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int iocd_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

int iocd_parse_size(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {{"", 1}, {"B", 1}, {"KiB", 1024}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
                 {"K", 1024}, {"M", 1 << 20}, {"G", 1 << 30}};
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > (unsigned long long)(INT64_MAX / units[i].mult))
                return -1;
            *out = (int64_t)v * units[i].mult;
            return 0;
        }
    }
    return -1;
}

static int parse_resolutions(struct iocd_resolutions *out, const char *section, const char *v,
                             const char *file, int line, struct iocd_error *err)
{
    const int64_t min = 1000, max = INT64_C(31) * 86400000;
    char buf[256];
    if (strlen(v) >= sizeof(buf))
        return iocd_error_at(err, file, line, "[%s] resolutions: value too long", section);
    strcpy(buf, v);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
        int64_t ms;
        if (n == IOCD_MAX_RESOLUTIONS)
            return iocd_error_at(err, file, line, "[%s] resolutions: at most %d", section,
                                 IOCD_MAX_RESOLUTIONS);
        if (iocd_duration_parse(tok, &ms) || ms % 1000 || ms < min || ms > max)
            return iocd_error_at(err, file, line,
                                 "[%s] resolutions: '%s' is not a whole number of seconds "
                                 "between 1s and 31d",
                                 section, tok);
        if (n && (ms <= out->ms[n - 1] || ms % out->ms[n - 1]))
            return iocd_error_at(err, file, line,
                                 "[%s] resolutions: '%s' must be a larger whole multiple of "
                                 "the resolution before it",
                                 section, tok);
        out->ms[n++] = ms;
    }
    if (!n)
        return iocd_error_at(err, file, line, "[%s] resolutions: at least one is required",
                             section);
    out->n = n;
    return 0;
}

/* "UTC", "Z", "+07:00", "-05:30", "+0700", "+07". Fixed offsets only:
 * the cities iocd serves first (Vietnam) keep no daylight saving time. */
static int parse_timezone(const char *v, int64_t *out, const char *file, int line,
                          struct iocd_error *err)
{
    if (strcmp(v, "UTC") == 0 || strcmp(v, "Z") == 0) {
        *out = 0;
        return 0;
    }
    int h = 0, m = 0;
    size_t n = strlen(v);
    bool ok = (v[0] == '+' || v[0] == '-') && isdigit((unsigned char)v[1]) &&
              isdigit((unsigned char)v[2]);
    if (ok) {
        h = (v[1] - '0') * 10 + (v[2] - '0');
        if (n == 3)
            m = 0;
        else if (n == 6 && v[3] == ':' && isdigit((unsigned char)v[4]) &&
                 isdigit((unsigned char)v[5]))
            m = (v[4] - '0') * 10 + (v[5] - '0');
        else if (n == 5 && isdigit((unsigned char)v[3]) && isdigit((unsigned char)v[4]))
            m = (v[3] - '0') * 10 + (v[4] - '0');
        else
            ok = false;
    }
    if (!ok || h > 14 || m > 59)
        return iocd_error_at(err, file, line,
                             "[store] timezone: '%s' is not UTC or an offset like +07:00", v);
    *out = (v[0] == '-' ? -1 : 1) * ((int64_t)h * 3600000 + (int64_t)m * 60000);
    return 0;
}

static int parse_retention(struct iocd_config *cfg, const char *v, const char *file, int line,
                           struct iocd_error *err)
{
    char buf[512];
    if (strlen(v) >= sizeof(buf))
        return iocd_error_at(err, file, line, "[store] retention: value too long");
    strcpy(buf, v);
    cfg->store.n_retention = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
        char *colon = strchr(tok, ':');
        int64_t res, keep = 0;
        if (colon)
            *colon = '\0';
        if (!colon || iocd_duration_parse(tok, &res) || res <= 0 ||
            (strcmp(colon + 1, "forever") != 0 &&
             (iocd_duration_parse(colon + 1, &keep) || keep <= 0)))
            return iocd_error_at(err, file, line,
                                 "[store] retention: '%s%s%s' is not RESOLUTION:DURATION "
                                 "(or RESOLUTION:forever)",
                                 tok, colon ? ":" : "", colon ? colon + 1 : "");
        if (cfg->store.n_retention == IOCD_MAX_RETENTIONS)
            return iocd_error_at(err, file, line, "[store] retention: at most %d entries",
                                 IOCD_MAX_RETENTIONS);
        if (keep && keep < res)
            return iocd_error_at(err, file, line,
                                 "[store] retention: %s windows kept less than one window", tok);
        cfg->store.retention[cfg->store.n_retention].res_ms = res;
        cfg->store.retention[cfg->store.n_retention].keep_ms = keep;
        cfg->store.n_retention++;
    }
    return 0;
}

int64_t iocd_config_retention_ms(const struct iocd_config *cfg, int64_t res_ms)
{
    for (int i = 0; i < cfg->store.n_retention; i++)
        if (cfg->store.retention[i].res_ms == res_ms)
            return cfg->store.retention[i].keep_ms;
    if (res_ms < 3600000)
        return INT64_C(14) * 86400000;
    if (res_ms < 86400000)
        return INT64_C(730) * 86400000;
    return 0;
}

static int apply_key(struct iocd_config *cfg, const struct key_def *k, const char *v,
                     const char *file, int line, struct iocd_error *err)
{
    char *base = (char *)cfg;
    int64_t n;
    bool b;
    switch (k->type) {
    case KEY_STRING: {
        char **slot = (char **)(base + k->offset);
        char *dup = strdup(v);
        if (!dup)
            return iocd_error_at(err, file, line, "out of memory");
        free(*slot);
        *slot = dup;
        return 0;
    }
    case KEY_INT:
    case KEY_INT64:
        if (iocd_parse_int(v, k->min, k->max, &n))
            return iocd_error_at(err, file, line,
                                 "[%s] %s: '%s' is not an integer in %" PRId64 "..%" PRId64,
                                 k->section, k->name, v, k->min, k->max);
        if (k->type == KEY_INT)
            *(int *)(base + k->offset) = (int)n;
        else
            *(int64_t *)(base + k->offset) = n;
        return 0;
    case KEY_BOOL:
        if (iocd_parse_bool(v, &b))
            return iocd_error_at(err, file, line, "[%s] %s: '%s' is not true or false",
                                 k->section, k->name, v);
        *(bool *)(base + k->offset) = b;
        return 0;
    case KEY_DURATION: {
        char lo[32], hi[32];
        if (iocd_duration_parse(v, &n) || n < k->min || n > k->max) {
            iocd_duration_format(k->min, lo, sizeof(lo));
            iocd_duration_format(k->max, hi, sizeof(hi));
            return iocd_error_at(err, file, line,
                                 "[%s] %s: '%s' is not a duration between %s and %s "
                                 "(units: ms, s, m, h, d)",
                                 k->section, k->name, v, lo, hi);
        }
        *(int64_t *)(base + k->offset) = n;
        return 0;
    }
    case KEY_SIZE:
        if (iocd_parse_size(v, &n) || n < k->min || n > k->max)
            return iocd_error_at(err, file, line,
                                 "[%s] %s: '%s' is not a size between %" PRId64 " and %" PRId64
                                 " bytes (units: KiB, MiB)",
                                 k->section, k->name, v, k->min, k->max);
        *(int64_t *)(base + k->offset) = n;
        return 0;
    case KEY_RESOLUTIONS:
        return parse_resolutions((struct iocd_resolutions *)(base + k->offset), k->section, v,
                                 file, line, err);
    case KEY_TIMEZONE:
        return parse_timezone(v, (int64_t *)(base + k->offset), file, line, err);
    case KEY_RETENTION:
        return parse_retention(cfg, v, file, line, err);
    case KEY_LOGLEVEL:
        for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
            if (level_names[i] && strcmp(level_names[i], v) == 0) {
                *(int *)(base + k->offset) = i;
                return 0;
            }
        }
        return iocd_error_at(err, file, line,
                             "[log] level: '%s' is not one of error, warning, notice, info, debug",
                             v);
    }
    return iocd_error_at(err, file, line, "internal: bad key type");
}

static bool is_core_section(const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].section, name) == 0)
            return true;
    return false;
}

static int check_name(const char *what, const char *s, const char *file, int line,
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

static int check_topic_filter(const char *t, const char *file, int line, struct iocd_error *err)
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

static int load_adapter(struct iocd_config *cfg, struct iocd_ini *ini,
                        struct iocd_ini_section *s, struct iocd_error *err)
{
    const char *file = ini->path;
    if (!s->arg)
        return iocd_error_at(err, file, s->line, "[adapter] needs a name: [adapter NAME]");
    if (check_name("adapter name", s->arg, file, s->line, err))
        return -1;
    if (strcmp(s->arg, "iocd") == 0)
        return iocd_error_at(err, file, s->line, "adapter name 'iocd' is reserved");
    for (int i = 0; i < cfg->n_adapters; i++)
        if (strcmp(cfg->adapters[i].name, s->arg) == 0)
            return iocd_error_at(err, file, s->line, "[adapter %s] defined twice (first on line %d)",
                                 s->arg, cfg->adapters[i].line);
    struct iocd_adapter_conf *a =
        realloc(cfg->adapters, (size_t)(cfg->n_adapters + 1) * sizeof(*a));
    if (!a)
        return iocd_error_set(err, "out of memory");
    cfg->adapters = a;
    a = &cfg->adapters[cfg->n_adapters++];
    memset(a, 0, sizeof(*a));
    a->line = s->line;
    a->name = strdup(s->arg);

    bool dup;
    struct iocd_ini_entry *topic = iocd_ini_get(ini, s, "topic", &dup, err);
    if (dup)
        return -1;
    struct iocd_ini_entry *format = iocd_ini_get(ini, s, "format", &dup, err);
    if (dup)
        return -1;
    struct iocd_ini_entry *source = iocd_ini_get(ini, s, "source", &dup, err);
    if (dup)
        return -1;
    if (!topic)
        return iocd_error_at(err, file, s->line, "[adapter %s] has no 'topic'", s->arg);
    if (!format)
        return iocd_error_at(err, file, s->line, "[adapter %s] has no 'format' (one of: %s)",
                             s->arg, iocd_adapter_formats());
    if (check_topic_filter(topic->value, file, topic->line, err))
        return -1;
    a->ops = iocd_adapter_find(format->value);
    if (!a->ops)
        return iocd_error_at(err, file, format->line,
                             "[adapter %s] format: unknown format '%s' (one of: %s)", s->arg,
                             format->value, iocd_adapter_formats());
    if (source && check_name("source", source->value, file, source->line, err))
        return -1;
    struct iocd_ini_entry *res = iocd_ini_get(ini, s, "resolutions", &dup, err);
    if (dup)
        return -1;
    a->resolutions = cfg->store.resolutions;
    if (res) {
        char sec[80];
        snprintf(sec, sizeof(sec), "adapter %s", s->arg);
        if (parse_resolutions(&a->resolutions, sec, res->value, file, res->line, err))
            return -1;
    }
    struct iocd_ini_entry *ms = iocd_ini_get(ini, s, "max_series", &dup, err);
    if (dup)
        return -1;
    if (ms && iocd_parse_int(ms->value, 0, INT64_C(100000000), &a->max_series))
        return iocd_error_at(err, file, ms->line,
                             "[adapter %s] max_series: '%s' is not an integer in 0..100000000",
                             s->arg, ms->value);
    a->topic = strdup(topic->value);
    a->source = strdup(source ? source->value : s->arg);
    if (!a->name || !a->topic || !a->source)
        return iocd_error_set(err, "out of memory");
    return a->ops->create(ini, s, a->source, &a->state, err);
}

static int load_ini(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err)
{
    /* Core sections first: adapters inherit [store] resolutions. */
    for (size_t i = 0; i < ini->n_sections; i++) {
        struct iocd_ini_section *s = &ini->sections[i];
        if (strcmp(s->name, "adapter") == 0)
            continue;
        if (!is_core_section(s->name))
            return iocd_error_at(err, ini->path, s->line,
                                 "unknown section [%s] (known: mqtt, store, ingest, aqi, "
                                 "log, adapter NAME)",
                                 s->name);
        if (s->arg)
            return iocd_error_at(err, ini->path, s->line, "[%s] takes no name", s->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ini->sections[j].name, s->name) == 0)
                return iocd_error_at(err, ini->path, s->line, "[%s] given twice (first on line %d)",
                                     s->name, ini->sections[j].line);
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            if (strcmp(keys[k].section, s->name) != 0)
                continue;
            bool dup;
            struct iocd_ini_entry *e = iocd_ini_get(ini, s, keys[k].name, &dup, err);
            if (dup)
                return -1;
            if (e && apply_key(cfg, &keys[k], e->value, ini->path, e->line, err))
                return -1;
        }
    }
    for (size_t i = 0; i < ini->n_sections; i++)
        if (strcmp(ini->sections[i].name, "adapter") == 0 &&
            load_adapter(cfg, ini, &ini->sections[i], err))
            return -1;
    return iocd_ini_check_unused(ini, err);
}

static int apply_defaults(struct iocd_config *cfg, struct iocd_error *err)
{
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (keys[k].def && apply_key(cfg, &keys[k], keys[k].def, "(defaults)", 0, err))
            return -1;
    return 0;
}

/* Derived values and checks that involve more than one key. */
static int finish(struct iocd_config *cfg, struct iocd_error *err)
{
    const char *file = cfg->path ? cfg->path : "(defaults)";
    if (cfg->mqtt.reconnect_max_ms < cfg->mqtt.reconnect_min_ms)
        return iocd_error_set(err, "%s: [mqtt] reconnect_max must not be below reconnect_min",
                              file);
    if (!cfg->store.path[0]) {
        const char *dir = getenv("STATE_DIRECTORY");
        char buf[4096];
        if (dir && *dir) {
            /* systemd may pass several directories separated by ':'. */
            size_t n = strcspn(dir, ":");
            snprintf(buf, sizeof(buf), "%.*s/iocd.db", (int)n, dir);
        } else {
            snprintf(buf, sizeof(buf), "iocd.db");
        }
        free(cfg->store.path);
        cfg->store.path = strdup(buf);
        if (!cfg->store.path)
            return iocd_error_set(err, "out of memory");
    }
    const char *dlt = cfg->ingest.dead_letter_topic;
    if (dlt[0]) {
        if (strchr(dlt, '+') || strchr(dlt, '#') || dlt[strlen(dlt) - 1] == '/')
            return iocd_error_set(err, "%s: [ingest] dead_letter_topic '%s' must be a plain topic "
                                       "without wildcards or a trailing '/'",
                                  file, dlt);
        for (int i = 0; i < cfg->n_adapters; i++) {
            char probe[1100];
            bool m1 = false, m2 = false;
            snprintf(probe, sizeof(probe), "%s/%s", dlt, cfg->adapters[i].name);
            mosquitto_topic_matches_sub(cfg->adapters[i].topic, probe, &m1);
            mosquitto_topic_matches_sub(cfg->adapters[i].topic, dlt, &m2);
            if (m1 || m2)
                return iocd_error_set(err,
                                      "%s: [ingest] dead_letter_topic '%s' would be consumed "
                                      "by [adapter %s] (topic %s): iocd never takes its own output",
                                      file, dlt, cfg->adapters[i].name, cfg->adapters[i].topic);
        }
    }
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
    memset(cfg, 0, sizeof(*cfg));
    struct iocd_ini ini;
    int rc = -1;
    if (apply_defaults(cfg, err))
        goto out_nofree;
    if (path) {
        cfg->path = strdup(path);
        if (iocd_ini_load(&ini, path, err))
            goto out;
    } else {
        if (name) {
            cfg->path = strdup(name);
        }
        if (iocd_ini_parse(&ini, name ? name : "(defaults)", text, err))
            goto out;
    }
    if (load_ini(cfg, &ini, err) == 0 && finish(cfg, err) == 0)
        rc = 0;
out:
    iocd_ini_free(&ini);
out_nofree:
    if (rc)
        iocd_config_free(cfg);
    return rc;
}

int iocd_config_load(struct iocd_config *cfg, const char *path, struct iocd_error *err)
{
    return load(cfg, NULL, default_config, path, err);
}

int iocd_config_load_string(struct iocd_config *cfg, const char *name, const char *text,
                            struct iocd_error *err)
{
    return load(cfg, name, text, NULL, err);
}

void iocd_config_free(struct iocd_config *cfg)
{
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        if (keys[k].type == KEY_STRING) {
            char **slot = (char **)((char *)cfg + keys[k].offset);
            free(*slot);
            *slot = NULL;
        }
    }
    for (int i = 0; i < cfg->n_adapters; i++) {
        struct iocd_adapter_conf *a = &cfg->adapters[i];
        if (a->ops && a->state)
            a->ops->destroy(a->state);
        free(a->name);
        free(a->topic);
        free(a->source);
    }
    free(cfg->adapters);
    free(cfg->path);
    memset(cfg, 0, sizeof(*cfg));
}

void iocd_config_print_keys(FILE *out)
{
    const char *section = "";
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        if (strcmp(section, keys[k].section) != 0) {
            section = keys[k].section;
            fprintf(out, "%s[%s]\n", k ? "\n" : "", section);
        }
        fprintf(out, "%-20s default %-12s %s\n", keys[k].name,
                keys[k].def && keys[k].def[0] ? keys[k].def : "(empty)", keys[k].help);
    }
    fprintf(out, "\n[adapter NAME]\n");
    for (size_t k = 0; k < sizeof(adapter_keys) / sizeof(adapter_keys[0]); k++)
        fprintf(out, "%-20s %s\n", adapter_keys[k].name, adapter_keys[k].help);
    fprintf(out, "plus the keys of the chosen format: see docs/adapters.md\n");
}
