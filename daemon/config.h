/* daemon/config.h — iocd's configuration: one table of keys, parsed from
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

#include "adapter.h"
#include "error.h"
#include "ini.h"

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

/* Value parsers shared with adapters; 0 on success, -1 on a bad value. */
int iocd_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
int iocd_parse_bool(const char *s, bool *out);
/* "64KiB", "1MiB", "512" (bytes). */
int iocd_parse_size(const char *s, int64_t *out);

#endif
