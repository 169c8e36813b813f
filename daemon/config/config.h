/* daemon/config/config.h — iocd's configuration: one table of keys, parsed from
 * an INI file or taken from the embedded defaults.
 *
 * Owns: struct iocd_config and everything it points to, including the
 * adapter instances built from [adapter NAME] sections. Every key is
 * declared once in config.c's table (section, name, type, default, bounds,
 * description); the parser, --check-config and `iocd --help-config` all
 * read that table. Unknown keys, bad values and duplicate keys are errors
 * naming the file and line. */
#ifndef IOCD_CONFIG_H
#define IOCD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "adapters/adapter.h"
#include "daemon/base/error.h"
#include "daemon/base/ini.h"

#define IOCD_MAX_RESOLUTIONS 8
#define IOCD_MAX_RETENTIONS 16

/* Window lengths in ms (whole seconds), finest first, each a multiple of
 * the one before. */
struct iocd_resolutions {
    int64_t ms[IOCD_MAX_RESOLUTIONS];
    int n;
};

/* One [adapter NAME] section. */
struct iocd_adapter_conf {
    char *name;   /* NAME; owned */
    char *topic;  /* MQTT topic filter; owned */
    char *source; /* series source, defaults to NAME; owned */
    int line;     /* of the section header, for messages */
    const struct iocd_adapter_ops *ops;
    void *state; /* ops->create's result; destroyed by iocd_config_free */
    struct iocd_resolutions resolutions; /* [store] resolutions unless overridden */
    int64_t max_series;                  /* series this adapter may create, 0 = no limit */
};

/* One [alert NAME] section (docs/alerts.md). */
enum iocd_alert_type {
    IOCD_ALERT_THRESHOLD, /* a window statistic above/below a level, with hysteresis */
    IOCD_ALERT_BAND,      /* which band of `bands` a statistic is in; raised above band 0 */
    IOCD_ALERT_STALE,     /* a device silent for `multiple` x its usual interval */
};
enum iocd_alert_stat {
    IOCD_STAT_LAST, IOCD_STAT_MEAN, IOCD_STAT_MIN, IOCD_STAT_MAX, IOCD_STAT_SUM, IOCD_STAT_COUNT,
};
#define IOCD_ALERT_MAX_BANDS 8
struct iocd_alert_rule {
    char *name;   /* NAME; owned */
    int line;     /* of the section header */
    enum iocd_alert_type type;
    char *match;  /* MQTT-style pattern over series names SOURCE/DEVICE/METRIC
                   * (stale: over SOURCE/DEVICE); owned */
    enum iocd_alert_stat stat;
    int64_t window_ms;   /* trailing window of the statistic (0 with stat last) */
    bool above;          /* threshold: raised when stat > level (else when stat < level) */
    double level;        /* threshold */
    double clear;        /* threshold: cleared when stat <= clear (above) / >= clear (below) */
    double bands[IOCD_ALERT_MAX_BANDS]; /* band: ascending upper edges of bands 0..n-1 */
    int n_bands;
    double hysteresis;   /* band: falls a band only below edge - hysteresis */
    double multiple;     /* stale: x the device's usual interval */
    int severity;        /* ioc.v1.Severity of a raised alert */
    char *text;          /* operator text; owned ("" = generated) */
};

struct iocd_config {
    char *path; /* file it came from; NULL for embedded defaults */
    struct {
        char *host;
        int port;
        char *client_id;
        int qos;
        int64_t keepalive_ms;
        char *username;
        char *password;
        bool clean_session;
        int64_t reconnect_min_ms;
        int64_t reconnect_max_ms;
    } mqtt;
    struct {
        char *path; /* database file */
        struct iocd_resolutions resolutions;
        int64_t flush_interval_ms;
        /* Offset of the city's local time from UTC: windows of a day or
         * longer start at local midnight. */
        int64_t tz_offset_ms;
        /* Explicit retention per resolution (keep_ms 0 = forever); the
         * rest follow iocd_config_retention_ms's defaults. */
        struct {
            int64_t res_ms, keep_ms;
        } retention[IOCD_MAX_RETENTIONS];
        int n_retention;
        int64_t events_retention_ms; /* 0 = forever */
        int64_t raw_retention_ms;    /* journal (raw samples) kept at least this long */
        int64_t max_windows_per_flush;
    } store;
    struct {
        int64_t max_payload;       /* bytes */
        int64_t max_clock_skew_ms; /* future tolerance */
        int64_t max_series;        /* distinct series, 0 = unlimited */
        int64_t dedup_horizon;     /* (series, time) keys remembered, 0 = off */
        char *dead_letter_topic;   /* "" = off */
    } ingest;
    struct {
        char *adapter; /* feed whose stations get VN_AQI; "" = off */
        char *pm25, *pm10, *o3, *co, *so2, *no2; /* metric names; "" = not measured */
        int64_t delay_ms; /* an hour is computed this long after it ends */
    } aqi;
    struct {
        int level; /* LOG_ERR .. LOG_DEBUG */
        int64_t rate_limit_interval_ms;
        int rate_limit_burst;
    } log;
    struct {
        char *prefix;         /* republish topic prefix, "" = no republish */
        bool protobuf;        /* PREFIX/obs/..., PREFIX/event/..., ... as ioc.v1 protobuf */
        bool json;            /* twin under PREFIX/json/... */
        bool observations;    /* republish every observation */
        int qos;
        struct iocd_resolutions windows; /* closed windows published (n = 0: none) */
        int64_t window_grace_ms;         /* a window is closed this long after its end */
        int64_t ring_items;              /* live items kept for catch-up (Last-Event-ID) */
    } live;
    struct {
        double stale_multiple;   /* stale after this x the usual interval */
        double offline_multiple; /* offline after this x the usual interval */
        int64_t default_interval_ms; /* usual interval until two messages are seen */
        int64_t min_interval_ms;     /* floor of the usual interval */
        int64_t max_devices;
        int64_t persist_interval_ms; /* a reporting device's row is rewritten this often */
    } devices;
    struct {
        char *listen;       /* "127.0.0.1:8080"; "" = off */
        char *token;        /* bearer token; required unless listen is loopback */
        int64_t client_buffer; /* bytes queued per live-stream client before dropping */
        int64_t max_clients;   /* live-stream clients at once */
        char *web_root;     /* serve the console from this directory ("" = embedded) */
    } http;
    struct iocd_alert_rule *alerts;
    int n_alerts;
    struct iocd_adapter_conf *adapters;
    int n_adapters;
};

/* Load `path`, or the embedded defaults when path is NULL. On error returns
 * -1 with err saying file, line and what is wrong; *cfg is then freed. */
int iocd_config_load(struct iocd_config *cfg, const char *path, struct iocd_error *err);
/* Same, from a string (tests). `name` is used in messages. */
int iocd_config_load_string(struct iocd_config *cfg, const char *name, const char *text,
                            struct iocd_error *err);
void iocd_config_free(struct iocd_config *cfg);
/* How long windows of `res_ms` are kept (0 = forever): the configured
 * value, else 14 days below 1 h, 2 years below 1 day, forever from 1 day. */
int64_t iocd_config_retention_ms(const struct iocd_config *cfg, int64_t res_ms);
/* Print every key with its default and description (iocd --help-config). */
void iocd_config_print_keys(FILE *out);

/* HOST:PORT names a loopback address (127.x, ::1, localhost). */
bool iocd_listen_is_loopback(const char *listen);

/* Value parsers shared with adapters; 0 on success, -1 on a bad value. */
int iocd_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
int iocd_parse_bool(const char *s, bool *out);
/* "64KiB", "1MiB", "512" (bytes). */
int iocd_parse_size(const char *s, int64_t *out);

#endif
