/* daemon/config/core.h — the core configuration: every key of the sections
 * [mqtt] [store] [ingest] [aqi] [live] [devices] [http] [log] [sparkplug], declared once
 * in core.c's typed table, and a loader of those keys only.
 *
 * Owns: the core fields of struct iocd_config (strings freed by
 * iocd_config_core_free). The adapter and alert sections are the full
 * loader's (daemon/config/config.h); this loader skips them, so a program
 * that only needs the database path or the HTTP address (iocctl) links
 * iocd_base and this, never the adapters or libmosquitto. */
#ifndef IOCD_CONFIG_CORE_H
#define IOCD_CONFIG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/base/error.h"
#include "daemon/base/ini.h"
#include "daemon/base/keys.h"
#include "daemon/config/users.h"

struct iocd_registry;

struct iocd_registry;

#define IOCD_MAX_RESOLUTIONS 8
#define IOCD_MAX_RETENTIONS 16
#define IOCD_SPARKPLUG_HOST_ID_MAX 128

/* Window lengths in ms (whole seconds), finest first, each a multiple of
 * the one before. */
struct iocd_resolutions {
    int64_t ms[IOCD_MAX_RESOLUTIONS];
    int n;
};

/* A file named by a key, with the line it was given on (0: default), so
 * the full loader can refuse an unreadable file at FILE:LINE. `path` is
 * the value as written until the full loader resolves it (credential:NAME,
 * relative paths: daemon/config/credentials.c). */
struct iocd_config_path {
    char *path; /* owned; "" = not set (first member: freed as the key's string) */
    int line;
};

struct iocd_alert_rule;   /* daemon/config/config.h */
struct iocd_notify_channel; /* daemon/config/config.h */
struct iocd_group_conf;     /* daemon/config/config.h */
struct iocd_adapter_conf; /* daemon/config/config.h */

struct iocd_config {
    char *path; /* file it came from; NULL for embedded defaults */
    struct {
        char *host;
        int port;
        char *client_id;
        int qos;
        int64_t keepalive_ms;
        char *username;
        char *password; /* the password key's value, or password_file's first line */
        struct iocd_config_path password_file;
        bool clean_session;
        bool socket_buffers; /* daemon/mqtt/sockio.c */
        int64_t reconnect_min_ms;
        int64_t reconnect_max_ms;
        int64_t degraded_after_ms; /* unreachable this long: health degraded */
        /* TLS to the broker (daemon/mqtt/tls.c). */
        bool tls;
        struct iocd_config_path tls_ca_file, tls_ca_dir, tls_cert_file, tls_key_file;
        int tls_version;       /* minimum: 12 (TLS 1.2) or 13 (TLS 1.3) */
        char *tls_ciphers;     /* TLS 1.2 cipher list, "" = OpenSSL's default */
        char *tls_ciphersuites; /* TLS 1.3 suites, "" = OpenSSL's default */
        bool tls_insecure;     /* skip the host name check (the chain is still verified) */
        char *tls_alpn;        /* comma-separated ALPN protocols, "" = none */
        /* MQTT v5 (daemon/mqtt/session.c, docs/configuration.md#mqtt-v5). */
        int protocol;                /* protocol level: 4 (MQTT 3.1.1) or 5 (MQTT 5.0) */
        int64_t session_expiry_s;    /* v5 Session Expiry Interval; 4294967295: never */
        int receive_maximum;         /* v5 Receive Maximum: QoS 1/2 messages in flight to iocd */
    } mqtt;
    struct {
        char *path; /* database file */
        struct iocd_resolutions resolutions;
        int64_t flush_interval_ms;
        int64_t flush_when_quiet_ms; /* 0: only flush_interval */
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
        int64_t window_write_delay_ms; /* a changed window waits this long before it is written */
    } store;
    struct {
        int64_t max_payload;       /* bytes */
        int64_t max_clock_skew_ms; /* future tolerance */
        int64_t max_series;        /* distinct series, 0 = unlimited */
        int64_t dedup_horizon;     /* (series, time) keys remembered, 0 = off */
        char *dead_letter_topic;   /* "" = off */
        int64_t max_unwritten;     /* held, not yet written: back-pressure from here */
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
        bool per_metric;      /* PREFIX/obs/S/D/METRIC, one per observation (else a Batch) */
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
        char *registry;              /* the registry file as configured ("" = none) */
        int registry_line;           /* the line it was set on */
        struct iocd_registry *registry_data; /* loaded (NULL: none); owned here */
    } devices;
    struct {
        char *listen;       /* "127.0.0.1:8080"; "" = off */
        char *token;        /* bearer token; required unless listen is loopback */
        int64_t client_buffer; /* bytes queued per live-stream client before dropping */
        int64_t max_clients;   /* live-stream clients at once */
        char *web_root;     /* serve the console from this directory ("" = embedded) */
        char *allowed_hosts; /* Host names answered besides the loopback's (space-separated) */
        char *tls_cert;     /* PEM certificate chain: HTTPS when set ("" = plain HTTP) */
        char *tls_key;      /* PEM private key ("" = in tls_cert's file) */
        int tls_min_version; /* 12 (TLSv1.2) or 13 (TLSv1.3) */
        bool behind_proxy;  /* plain HTTP off loopback, TLS ended by a reverse proxy */
        char *users_file;   /* named accounts ("" = none); as written in the file */
        int64_t session_idle_ms; /* a console session ends after this long unused */
        /* The accounts of users_file, read by the full loader only
         * (iocd_config_http_users): empty for iocctl's core loader. */
        struct iocd_users users;
        char *users_path;   /* users_file resolved (NULL until then) */
        int users_mode;     /* its permission bits (-1: not read) */
        /* The console map (docs/map.md). */
        char *map_tiles;       /* tile URL template with {z} {x} {y} ("" = no tiles) */
        char *map_attribution; /* shown on the map with the tiles */
        char *map_areas;       /* GeoJSON of the areas' outlines ("" = none), as written */
        char *map_area_value;  /* series template with {area}: each area's value ("" = none) */
        /* map_areas read and checked by the full loader (iocd_config_http_map):
         * the file's bytes, served as they are; NULL for none. */
        char *map_areas_json;
        size_t map_areas_len;
        /* The lines the keys were set on (0: the default), for messages. */
        int listen_line, tls_cert_line, tls_key_line, users_file_line, map_areas_line;
    } http;
    struct {
        char *host_id; /* STATE on spBv1.0/STATE/HOST_ID; "" = off */
    } sparkplug;
    struct iocd_alert_rule *alerts;
    int n_alerts;
    struct iocd_notify_channel *notify; /* [notify NAME] sections (config.h) */
    int n_notify;
    struct iocd_group_conf *groups; /* [group NAME] sections (config.h) */
    int n_groups;
    struct iocd_units_rule *unit_rules; /* [units] (config.h); owned */
    int n_unit_rules;
    uint64_t units_fingerprint; /* of the [units] section's text: reload compares it */
    int64_t state_carry_ms;             /* [states] carry (docs/states.md) */
    struct iocd_state_rule *state_rules; /* [states] metric.NAME sets (config.h); owned */
    int n_state_rules;
    uint64_t states_fingerprint; /* of the [states] section's text: reload compares it */
    struct iocd_adapter_conf *adapters;
    int n_adapters;
};

/* The core key table (section order as documented). */
extern const struct iocd_key iocd_core_keys[];
extern const size_t iocd_core_n_keys;

/* Load only the core keys of `path` (NULL: the embedded defaults); the
 * [adapter NAME] and [alert NAME] sections are skipped unread. On error
 * returns -1 with err saying file, line and what is wrong; *cfg is then
 * freed. Free with iocd_config_core_free. */
int iocd_config_core_load(struct iocd_config *cfg, const char *path, struct iocd_error *err);
/* Free the core fields and the path (not adapters or alerts). */
void iocd_config_core_free(struct iocd_config *cfg);

/* Steps of a load, shared with the full loader (config.c). */
/* Zero *cfg, apply the defaults, parse `path` (or `text` named `name`)
 * into *ini and read the core sections. Whatever it returns, the caller
 * frees *ini (iocd_ini_free) and, on error, *cfg. */
int iocd_config_core_begin(struct iocd_config *cfg, const char *name, const char *text,
                           const char *path, struct iocd_ini *ini, struct iocd_error *err);
/* Checks of one or more core keys together, and derived values (the
 * default database path). `consumed`, when given, is asked whether an
 * adapter would take the dead-letter topic (what = 0) or the live prefix
 * (what = 1): it fills err and returns -1 if so. */
int iocd_config_core_finish(struct iocd_config *cfg,
                            int (*consumed)(const struct iocd_config *cfg, int what,
                                            const char *file, struct iocd_error *err),
                            struct iocd_error *err);
/* "1m 1h 1d" into *out; messages name "[SECTION] resolutions". */
int iocd_config_parse_resolutions(struct iocd_resolutions *out, const char *section,
                                  const char *v, const char *file, int line,
                                  struct iocd_error *err);
/* How long windows of `res_ms` are kept (0 = forever): the configured
 * value, else 14 days below 1 h, 2 years below 1 day, forever from 1 day. */
int64_t iocd_config_retention_ms(const struct iocd_config *cfg, int64_t res_ms);
/* HOST:PORT names a loopback address (127.x, ::1, localhost). */
bool iocd_listen_is_loopback(const char *listen);
/* The embedded defaults (generated from config/iocd.conf at build time). */
extern const char iocd_default_config[];

#endif
