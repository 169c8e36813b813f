/* daemon/config/config.c — the configuration table, its parser and defaults.
 *
 * Owns: struct iocd_config (see config.h). Every core key is one row of
 * `keys[]`; the parser, `iocd --help-config` and the shipped example config
 * follow that table. Adapter sections are handed to their adapter's
 * create(), which reads its own keys; any key left unread anywhere is an
 * "unknown key" error with its file and line. This file never touches the
 * network, the store or the loop. */
#include "daemon/config/config.h"
#include "daemon/base/severity.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <syslog.h>

#include "daemon/base/timeutil.h"

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
    KEY_DOUBLE,        /* double slot; min/max bound it */
    KEY_WINDOWS,       /* like KEY_RESOLUTIONS, but "" (none) allowed */
    KEY_LISTEN,        /* HOST:PORT or "" */
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
    {"live", "prefix", KEY_STRING, OFF(live.prefix), "ioc/v1", 0, 0,
     "republish every observation, event, alert, closed window and device status under this "
     "MQTT topic prefix (empty: no republish); see docs/api.md"},
    {"live", "protobuf", KEY_BOOL, OFF(live.protobuf), "true", 0, 0,
     "publish ioc.v1 protobuf under PREFIX/obs/..., PREFIX/event/..., ..."},
    {"live", "json", KEY_BOOL, OFF(live.json), "true", 0, 0,
     "also publish the JSON form under PREFIX/json/... for dashboards without protobuf"},
    {"live", "observations", KEY_BOOL, OFF(live.observations), "true", 0, 0,
     "republish every observation (false: only events, alerts, windows and status)"},
    {"live", "qos", KEY_INT, OFF(live.qos), "0", 0, 2,
     "QoS of republished messages (device status is always retained)"},
    {"live", "windows", KEY_WINDOWS, OFF(live.windows), "1m", 0, 0,
     "resolutions whose closed windows are published (empty: none)"},
    {"live", "window_grace", KEY_DURATION, OFF(live.window_grace_ms), "5s", 0, 3600000,
     "a window is published as closed this long after its end (late samples still merge "
     "into the stored row)"},
    {"live", "ring", KEY_INT64, OFF(live.ring_items), "20000", 0, 10000000,
     "recent live items kept so a reconnecting client catches up (Last-Event-ID)"},
    {"devices", "stale_multiple", KEY_DOUBLE, OFF(devices.stale_multiple), "3", 1, 1000,
     "a device is stale after this many of its usual intervals without a message"},
    {"devices", "offline_multiple", KEY_DOUBLE, OFF(devices.offline_multiple), "10", 1, 100000,
     "... and offline after this many"},
    {"devices", "default_interval", KEY_DURATION, OFF(devices.default_interval_ms), "60s", 1000,
     INT64_C(86400000), "usual interval assumed until a device's second message"},
    {"devices", "min_interval", KEY_DURATION, OFF(devices.min_interval_ms), "1s", 100,
     INT64_C(86400000), "floor of a device's learned usual interval"},
    {"devices", "persist_interval", KEY_DURATION, OFF(devices.persist_interval_ms), "60s", 0,
     3600000,
     "a device that keeps reporting has its last-seen time stored this often (state changes at "
     "once; a graceful stop stores all): what a crash can make a device look older by"},
    {"devices", "max_devices", KEY_INT64, OFF(devices.max_devices), "1000000", 1,
     INT64_C(100000000), "devices tracked at most"},
    {"http", "listen", KEY_LISTEN, OFF(http.listen), "127.0.0.1:8080", 0, 0,
     "HOST:PORT of the HTTP API and operator console (empty: off); any address but loopback "
     "requires token"},
    {"http", "token", KEY_STRING, OFF(http.token), "", 0, 0,
     "bearer token required on every request but /healthz (required off loopback)"},
    {"http", "client_buffer", KEY_SIZE, OFF(http.client_buffer), "1MiB", 4096, 256 << 20,
     "bytes queued per live-stream client; beyond it items are dropped and counted"},
    {"http", "max_clients", KEY_INT64, OFF(http.max_clients), "64", 1, 100000,
     "live-stream clients at once"},
    {"http", "web_root", KEY_STRING, OFF(http.web_root), "", 0, 0,
     "serve the console from this directory instead of the copy built into iocd"},
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
 * localhost. Kept equal to the adapter and alert sections of
 * config/iocd.conf. */
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
    "types = OffStreetParking\n"
    "[alert pm25_high]\n"
    "type = threshold\n"
    "match = air/+/pm25\n"
    "stat = mean\n"
    "window = 1h\n"
    "above = 55\n"
    "clear = 50\n"
    "severity = major\n"
    "text = PM2.5 trung bình 1 giờ vượt 55 µg/m³ / PM2.5 1-hour mean above 55 µg/m³\n"
    "[alert aqi_band]\n"
    "type = band\n"
    "match = air/+/vn_aqi\n"
    "bands = 50 100 150 200 300\n"
    "hysteresis = 5\n"
    "severity = warning\n"
    "text = Chỉ số VN_AQI đổi mức / VN_AQI band changed\n"
    "[alert flood_level]\n"
    "type = threshold\n"
    "match = water/+/level\n"
    "above = 300\n"
    "clear = 280\n"
    "severity = critical\n"
    "text = Mực nước vượt mức báo động 3 m / Water above the 3 m alert level\n"
    "[alert silent_device]\n"
    "type = stale\n"
    "match = +/+\n"
    "multiple = 5\n"
    "severity = warning\n"
    "text = Thiết bị mất tín hiệu / Device silent\n";

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
    case KEY_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (!*v || *end || errno || !(d >= (double)k->min && d <= (double)k->max))
            return iocd_error_at(err, file, line,
                                 "[%s] %s: '%s' is not a number between %" PRId64 " and %" PRId64,
                                 k->section, k->name, v, k->min, k->max);
        *(double *)(base + k->offset) = d;
        return 0;
    }
    case KEY_WINDOWS:
        if (!*v) {
            ((struct iocd_resolutions *)(base + k->offset))->n = 0;
            return 0;
        }
        return parse_resolutions((struct iocd_resolutions *)(base + k->offset), k->section, v,
                                 file, line, err);
    case KEY_LISTEN: {
        if (*v) {
            const char *colon = strrchr(v, ':');
            int64_t port;
            if (!colon || colon == v || iocd_parse_int(colon + 1, 1, 65535, &port))
                return iocd_error_at(err, file, line,
                                     "[%s] %s: '%s' is not HOST:PORT (e.g. 127.0.0.1:8080, "
                                     "[::1]:8080)",
                                     k->section, k->name, v);
        }
        char **slot = (char **)(base + k->offset);
        char *dup = strdup(v);
        if (!dup)
            return iocd_error_at(err, file, line, "out of memory");
        free(*slot);
        *slot = dup;
        return 0;
    }
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


static const struct {
    const char *name;
    const char *help;
} alert_keys[] = {
    {"type", "threshold, band or stale"},
    {"match", "series pattern SOURCE/DEVICE/METRIC (+ and #); stale: SOURCE/DEVICE"},
    {"stat", "threshold, band: last, mean, min, max, sum or count (default mean; last without "
             "window)"},
    {"window", "threshold, band: trailing window of the statistic (default 0: the last value)"},
    {"above", "threshold: raised when the statistic is above this level"},
    {"below", "threshold: raised when the statistic is below this level"},
    {"clear", "threshold: cleared when back at or beyond this level (default: the level)"},
    {"bands", "band: ascending upper edges of the bands (e.g. 50 100 150 200 300)"},
    {"hysteresis", "band: falls to a lower band only this far below its edge (default 0)"},
    {"multiple", "stale: raised after this many usual intervals without a message (default 3)"},
    {"severity", "info, warning, minor, major or critical (default warning)"},
    {"text", "what the operator reads (default: generated from the rule)"},
};

/* A finite number, or -1. */
static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static int load_alert(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_ini_section *s,
                      struct iocd_error *err)
{
    const char *file = ini->path;
    if (!s->arg)
        return iocd_error_at(err, file, s->line, "[alert] needs a name: [alert NAME]");
    if (check_name("alert name", s->arg, file, s->line, err))
        return -1;
    for (int i = 0; i < cfg->n_alerts; i++)
        if (strcmp(cfg->alerts[i].name, s->arg) == 0)
            return iocd_error_at(err, file, s->line, "[alert %s] defined twice (first on line %d)",
                                 s->arg, cfg->alerts[i].line);
    struct iocd_alert_rule *r = realloc(cfg->alerts, (size_t)(cfg->n_alerts + 1) * sizeof(*r));
    if (!r)
        return iocd_error_set(err, "out of memory");
    cfg->alerts = r;
    r = &cfg->alerts[cfg->n_alerts++];
    memset(r, 0, sizeof(*r));
    r->line = s->line;
    r->name = strdup(s->arg);
    r->severity = 2;
    r->multiple = 3;
    r->stat = IOCD_STAT_MEAN;
    if (!r->name)
        return iocd_error_set(err, "out of memory");

    struct iocd_ini_entry *e[sizeof(alert_keys) / sizeof(alert_keys[0])];
    for (size_t k = 0; k < sizeof(alert_keys) / sizeof(alert_keys[0]); k++) {
        bool dup;
        e[k] = iocd_ini_get(ini, s, alert_keys[k].name, &dup, err);
        if (dup)
            return -1;
    }
    struct iocd_ini_entry *type = e[0], *match = e[1], *stat = e[2], *window = e[3],
                          *above = e[4], *below = e[5], *clear = e[6], *bands = e[7],
                          *hyst = e[8], *multiple = e[9], *severity = e[10], *text = e[11];
    const char *n = s->arg;
    if (!type)
        return iocd_error_at(err, file, s->line,
                             "[alert %s] has no 'type' (threshold, band or stale)", n);
    if (strcmp(type->value, "threshold") == 0)
        r->type = IOCD_ALERT_THRESHOLD;
    else if (strcmp(type->value, "band") == 0)
        r->type = IOCD_ALERT_BAND;
    else if (strcmp(type->value, "stale") == 0)
        r->type = IOCD_ALERT_STALE;
    else
        return iocd_error_at(err, file, type->line,
                             "[alert %s] type: '%s' is not threshold, band or stale", n,
                             type->value);
    if (!match)
        return iocd_error_at(err, file, s->line, "[alert %s] has no 'match' (a series pattern)",
                             n);
    if (check_topic_filter(match->value, file, match->line, err))
        return -1;
    r->match = strdup(match->value);
    r->text = strdup(text ? text->value : "");
    if (!r->match || !r->text)
        return iocd_error_set(err, "out of memory");
    if (severity) {
        int found = 0;
        for (int i = 1; iocd_severity_name(i); i++) /* not "unspecified" */
            if (strcmp(severity->value, iocd_severity_name(i)) == 0)
                found = i;
        if (!found)
            return iocd_error_at(err, file, severity->line,
                                 "[alert %s] severity: '%s' is not info, warning, minor, major "
                                 "or critical",
                                 n, severity->value);
        r->severity = found;
    }
    /* Keys that do not belong to the type. */
    struct iocd_ini_entry *only_stats[] = {stat, window, above, below, clear, bands, hyst};
    const char *only_stat_names[] = {"stat", "window", "above", "below", "clear", "bands",
                                     "hysteresis"};
    if (r->type == IOCD_ALERT_STALE) {
        for (size_t k = 0; k < sizeof(only_stats) / sizeof(only_stats[0]); k++)
            if (only_stats[k])
                return iocd_error_at(err, file, only_stats[k]->line,
                                     "[alert %s] %s: not a key of a stale rule", n,
                                     only_stat_names[k]);
        if (multiple && (parse_double(multiple->value, &r->multiple) || r->multiple < 1 ||
                         r->multiple > 100000))
            return iocd_error_at(err, file, multiple->line,
                                 "[alert %s] multiple: '%s' is not a number between 1 and 100000",
                                 n, multiple->value);
        return 0;
    }
    if (multiple)
        return iocd_error_at(err, file, multiple->line,
                             "[alert %s] multiple: only stale rules have it", n);
    if (window && (iocd_duration_parse(window->value, &r->window_ms) || r->window_ms < 0 ||
                   r->window_ms > INT64_C(31) * 86400000))
        return iocd_error_at(err, file, window->line,
                             "[alert %s] window: '%s' is not a duration up to 31d", n,
                             window->value);
    if (stat) {
        static const char *const stats[] = {"last", "mean", "min", "max", "sum", "count"};
        int found = -1;
        for (int i = 0; i < 6; i++)
            if (strcmp(stat->value, stats[i]) == 0)
                found = i;
        if (found < 0)
            return iocd_error_at(err, file, stat->line,
                                 "[alert %s] stat: '%s' is not last, mean, min, max, sum or count",
                                 n, stat->value);
        r->stat = (enum iocd_alert_stat)found;
    }
    if (!window || r->window_ms == 0) {
        if (stat && r->stat != IOCD_STAT_LAST)
            return iocd_error_at(err, file, stat->line,
                                 "[alert %s] stat: '%s' needs a 'window'", n, stat->value);
        r->stat = IOCD_STAT_LAST;
    }
    if (r->type == IOCD_ALERT_THRESHOLD) {
        if (bands || hyst)
            return iocd_error_at(err, file, (bands ? bands : hyst)->line,
                                 "[alert %s] %s: only band rules have it", n,
                                 bands ? "bands" : "hysteresis");
        if (!above == !below)
            return iocd_error_at(err, file, above ? above->line : s->line,
                                 "[alert %s] a threshold rule needs exactly one of 'above' and "
                                 "'below'",
                                 n);
        struct iocd_ini_entry *lv = above ? above : below;
        r->above = above != NULL;
        if (parse_double(lv->value, &r->level))
            return iocd_error_at(err, file, lv->line, "[alert %s] %s: '%s' is not a number", n,
                                 lv->key, lv->value);
        r->clear = r->level;
        if (clear) {
            if (parse_double(clear->value, &r->clear))
                return iocd_error_at(err, file, clear->line,
                                     "[alert %s] clear: '%s' is not a number", n, clear->value);
            if (r->above ? r->clear > r->level : r->clear < r->level)
                return iocd_error_at(err, file, clear->line,
                                     "[alert %s] clear: %s must be %s the level %g", n,
                                     clear->value, r->above ? "at or below" : "at or above",
                                     r->level);
        }
        return 0;
    }
    /* band */
    struct iocd_ini_entry *stray = above ? above : below ? below : clear;
    if (stray)
        return iocd_error_at(err, file, stray->line, "[alert %s] %s: only threshold rules have it",
                             n, stray->key);
    if (!bands)
        return iocd_error_at(err, file, s->line, "[alert %s] a band rule needs 'bands'", n);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", bands->value);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
        double d;
        if (r->n_bands == IOCD_ALERT_MAX_BANDS)
            return iocd_error_at(err, file, bands->line, "[alert %s] bands: at most %d edges", n,
                                 IOCD_ALERT_MAX_BANDS);
        if (parse_double(tok, &d) || (r->n_bands && d <= r->bands[r->n_bands - 1]))
            return iocd_error_at(err, file, bands->line,
                                 "[alert %s] bands: '%s' is not a number above the edge before it",
                                 n, tok);
        r->bands[r->n_bands++] = d;
    }
    if (!r->n_bands)
        return iocd_error_at(err, file, bands->line, "[alert %s] bands: at least one edge", n);
    if (hyst && (parse_double(hyst->value, &r->hysteresis) || r->hysteresis < 0))
        return iocd_error_at(err, file, hyst->line,
                             "[alert %s] hysteresis: '%s' is not a number >= 0", n, hyst->value);
    return 0;
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

static int load_ini(struct iocd_config *cfg, struct iocd_ini *ini, struct iocd_error *err)
{
    /* Core sections first: adapters inherit [store] resolutions. */
    for (size_t i = 0; i < ini->n_sections; i++) {
        struct iocd_ini_section *s = &ini->sections[i];
        if (strcmp(s->name, "adapter") == 0 || strcmp(s->name, "alert") == 0)
            continue;
        if (!is_core_section(s->name))
            return iocd_error_at(err, ini->path, s->line,
                                 "unknown section [%s] (known: mqtt, store, ingest, aqi, "
                                 "live, devices, http, log, adapter NAME, alert NAME)",
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
    for (size_t i = 0; i < ini->n_sections; i++)
        if (strcmp(ini->sections[i].name, "alert") == 0 &&
            load_alert(cfg, ini, &ini->sections[i], err))
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
    const char *pfx = cfg->live.prefix;
    if (pfx[0]) {
        if (strchr(pfx, '+') || strchr(pfx, '#') || pfx[strlen(pfx) - 1] == '/' ||
            strlen(pfx) > 200)
            return iocd_error_set(err, "%s: [live] prefix '%s' must be a plain topic without "
                                       "wildcards or a trailing '/' (at most 200 characters)",
                                  file, pfx);
        char own[260];
        snprintf(own, sizeof(own), "%s/#", pfx);
        for (int i = 0; i < cfg->n_adapters; i++)
            if (filters_overlap(cfg->adapters[i].topic, own))
                return iocd_error_set(err,
                                      "%s: [live] prefix '%s' would be consumed by [adapter %s] "
                                      "(topic %s): iocd never takes its own output",
                                      file, pfx, cfg->adapters[i].name, cfg->adapters[i].topic);
    }
    if (cfg->devices.offline_multiple < cfg->devices.stale_multiple)
        return iocd_error_set(err, "%s: [devices] offline_multiple must not be below "
                                   "stale_multiple",
                              file);
    if (cfg->http.listen[0] && !cfg->http.token[0] && !iocd_listen_is_loopback(cfg->http.listen))
        return iocd_error_set(err, "%s: [http] listen %s is not a loopback address: set [http] "
                                   "token (clients then send Authorization: Bearer TOKEN)",
                              file, cfg->http.listen);
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

bool iocd_listen_is_loopback(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    size_t n = colon ? (size_t)(colon - listen) : strlen(listen);
    char host[256];
    if (n >= sizeof(host))
        return false;
    memcpy(host, listen, n);
    host[n] = '\0';
    return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0;
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
        if (keys[k].type == KEY_STRING || keys[k].type == KEY_LISTEN) {
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
    for (int i = 0; i < cfg->n_alerts; i++) {
        free(cfg->alerts[i].name);
        free(cfg->alerts[i].match);
        free(cfg->alerts[i].text);
    }
    free(cfg->alerts);
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
    fprintf(out, "\n[alert NAME]  (docs/alerts.md)\n");
    for (size_t k = 0; k < sizeof(alert_keys) / sizeof(alert_keys[0]); k++)
        fprintf(out, "%-20s %s\n", alert_keys[k].name, alert_keys[k].help);
}
