/* daemon/config/core.c — the core configuration keys and their loader.
 *
 * Owns: the core key table (iocd_core_keys: every key of [mqtt] [store]
 * [ingest] [aqi] [live] [devices] [http] [log] [sparkplug], once), the parsers of the
 * core's own value types (resolutions, timezone, retention, windows,
 * listen address, log level), the checks across core keys, and a loader of
 * the core keys only (iocd_config_core_load) for programs that must not
 * link the adapters. Depends only on daemon/base and the generated
 * defaults (daemon/config/defaults.c, from config/iocd.conf). */
#include "daemon/config/core.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon/base/timeutil.h"
#include "daemon/config/registry.h"

static const char *const level_names[] = {
    [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
    [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int iocd_config_parse_resolutions(struct iocd_resolutions *out, const char *section,
                                  const char *v, const char *file, int line,
                                  struct iocd_error *err)
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
static int key_timezone(void *obj, const struct iocd_key *k, const char *v, const char *file,
                        int line, struct iocd_error *err)
{
    int64_t *out = (int64_t *)((char *)obj + k->offset);
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

static int key_retention(void *obj, const struct iocd_key *k, const char *v, const char *file,
                         int line, struct iocd_error *err)
{
    struct iocd_config *cfg = obj;
    (void)k;
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

static int key_resolutions(void *obj, const struct iocd_key *k, const char *v, const char *file,
                           int line, struct iocd_error *err)
{
    return iocd_config_parse_resolutions((struct iocd_resolutions *)((char *)obj + k->offset),
                                         k->section, v, file, line, err);
}

/* Like resolutions, but "" (none) allowed. */
static int key_windows(void *obj, const struct iocd_key *k, const char *v, const char *file,
                       int line, struct iocd_error *err)
{
    struct iocd_resolutions *r = (struct iocd_resolutions *)((char *)obj + k->offset);
    if (!*v) {
        r->n = 0;
        return 0;
    }
    return iocd_config_parse_resolutions(r, k->section, v, file, line, err);
}

/* A copy of v into the key's string slot (the previous one freed). */
static int store_string(void *obj, const struct iocd_key *k, const char *v, const char *file,
                        int line, struct iocd_error *err)
{
    char **slot = (char **)((char *)obj + k->offset);
    char *dup = strdup(v);
    if (!dup)
        return iocd_error_at(err, file, line, "out of memory");
    free(*slot);
    *slot = dup;
    return 0;
}

/* HOST:PORT or "". */
static int key_listen(void *obj, const struct iocd_key *k, const char *v, const char *file,
                      int line, struct iocd_error *err)
{
    if (*v) {
        const char *colon = strrchr(v, ':');
        int64_t port;
        if (!colon || colon == v || iocd_parse_int(colon + 1, 1, 65535, &port))
            return iocd_error_at(err, file, line,
                                 "[%s] %s: '%s' is not HOST:PORT (e.g. 127.0.0.1:8080, "
                                 "[::1]:8080)",
                                 k->section, k->name, v);
    }
    return store_string(obj, k, v, file, line, err);
}

/* [http] listen: HOST:PORT or "", and the line it was set on. */
static int key_http_listen(void *obj, const struct iocd_key *k, const char *v, const char *file,
                           int line, struct iocd_error *err)
{
    if (key_listen(obj, k, v, file, line, err))
        return -1;
    ((struct iocd_config *)obj)->http.listen_line = line;
    return 0;
}

/* [http] tls_cert, tls_key, users_file: a path or "", and the line it was
 * set on (the server or loader names it when the file cannot be loaded). */
static int key_http_tls_file(void *obj, const struct iocd_key *k, const char *v,
                             const char *file, int line, struct iocd_error *err)
{
    struct iocd_config *cfg = obj;
    char **slot = (char **)((char *)obj + k->offset);
    if (store_string(obj, k, v, file, line, err))
        return -1;
    if (slot == &cfg->http.tls_cert)
        cfg->http.tls_cert_line = line;
    else if (slot == &cfg->http.tls_key)
        cfg->http.tls_key_line = line;
    else if (slot == &cfg->http.map_areas)
        cfg->http.map_areas_line = line;
    else
        cfg->http.users_file_line = line;
    return 0;
}

/* [http] map_tiles: empty, or an http(s) URL with {z}, {x} and {y}. */
static int key_map_tiles(void *obj, const struct iocd_key *k, const char *v, const char *file,
                         int line, struct iocd_error *err)
{
    if (v[0] && ((strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) ||
                 !strstr(v, "{z}") || !strstr(v, "{x}") || !strstr(v, "{y}") ||
                 strpbrk(v, " \"'<>\\")))
        return iocd_error_at(err, file, line,
                             "[%s] %s: '%s' is not an http(s) URL template with {z}, {x} and {y} "
                             "(empty: no tiles)",
                             k->section, k->name, v);
    return store_string(obj, k, v, file, line, err);
}

/* [http] map_area_value: empty, or SOURCE/DEVICE/METRIC with {area} (or
 * {ward}) in it: the series whose latest value each area of the map shows. */
static int key_map_area_value(void *obj, const struct iocd_key *k, const char *v,
                              const char *file, int line, struct iocd_error *err)
{
    int slashes = 0;
    for (const char *c = v; *c; c++)
        slashes += *c == '/';
    if (v[0] && (slashes != 2 || (!strstr(v, "{area}") && !strstr(v, "{ward}")) ||
                 strpbrk(v, "+#") || strstr(v, "//") || v[0] == '/' || v[strlen(v) - 1] == '/'))
        return iocd_error_at(err, file, line,
                             "[%s] %s: '%s' is not a series SOURCE/DEVICE/METRIC with {area} "
                             "(e.g. air/ward:{area}/pm25; empty: none)",
                             k->section, k->name, v);
    return store_string(obj, k, v, file, line, err);
}

/* [devices] registry: a path or "", and the line it was set on (the
 * loader names it when the file is refused). */
static int key_devices_registry(void *obj, const struct iocd_key *k, const char *v,
                                const char *file, int line, struct iocd_error *err)
{
    struct iocd_config *cfg = obj;
    if (store_string(obj, k, v, file, line, err))
        return -1;
    cfg->devices.registry_line = line;
    return 0;
}

static int key_tls_min_version(void *obj, const struct iocd_key *k, const char *v,
                               const char *file, int line, struct iocd_error *err)
{
    int *out = (int *)((char *)obj + k->offset);
    if (strcmp(v, "TLSv1.2") == 0)
        *out = 12;
    else if (strcmp(v, "TLSv1.3") == 0)
        *out = 13;
    else
        return iocd_error_at(err, file, line, "[%s] %s: '%s' is not TLSv1.2 or TLSv1.3",
                             k->section, k->name, v);
    return 0;
}

/* [http] allowed_hosts: names (or addresses), each optionally with :PORT,
 * separated by spaces or commas. */
static int key_allowed_hosts(void *obj, const struct iocd_key *k, const char *v,
                             const char *file, int line, struct iocd_error *err)
{
    for (const char *p = v; *p;) {
        p += strspn(p, " ,\t");
        size_t n = strcspn(p, " ,\t");
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            if (!isalnum(c) && !strchr(".-_:[]", c))
                return iocd_error_at(err, file, line,
                                     "[%s] %s: '%.*s' is not a host name or address, "
                                     "optionally with :PORT",
                                     k->section, k->name, (int)n, p);
        }
        p += n;
    }
    return store_string(obj, k, v, file, line, err);
}

static int key_loglevel(void *obj, const struct iocd_key *k, const char *v, const char *file,
                        int line, struct iocd_error *err)
{
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
        if (level_names[i] && strcmp(level_names[i], v) == 0) {
            *(int *)((char *)obj + k->offset) = i;
            return 0;
        }
    }
    return iocd_error_at(err, file, line,
                         "[log] level: '%s' is not one of error, warning, notice, info, debug",
                         v);
}

/* A file name, kept with its line for the checks of the full loader. */
static int key_path(void *obj, const struct iocd_key *k, const char *v, const char *file,
                    int line, struct iocd_error *err)
{
    struct iocd_config_path *slot = (struct iocd_config_path *)((char *)obj + k->offset);
    char *dup = strdup(v);
    if (!dup)
        return iocd_error_at(err, file, line, "out of memory");
    free(slot->path);
    slot->path = dup;
    slot->line = line;
    return 0;
}

/* "tlsv1.2" or "tlsv1.3" (mosquitto's spelling): the lowest version offered. */
static int key_tls_version(void *obj, const struct iocd_key *k, const char *v, const char *file,
                           int line, struct iocd_error *err)
{
    int *slot = (int *)((char *)obj + k->offset);
    if (strcmp(v, "tlsv1.2") == 0)
        *slot = 12;
    else if (strcmp(v, "tlsv1.3") == 0)
        *slot = 13;
    else
        return iocd_error_at(err, file, line,
                             "[mqtt] tls_version: '%s' is not tlsv1.2 or tlsv1.3 (older versions "
                             "are not offered)",
                             v);
    return 0;
}

/* "3.1.1" (level 4) or "5" (level 5); the level is what CONNECT carries. */
static int key_protocol(void *obj, const struct iocd_key *k, const char *v, const char *file,
                        int line, struct iocd_error *err)
{
    int *out = (int *)((char *)obj + k->offset);
    if (strcmp(v, "3.1.1") == 0)
        *out = 4;
    else if (strcmp(v, "5") == 0)
        *out = 5;
    else
        return iocd_error_at(err, file, line, "[mqtt] protocol: '%s' is not 3.1.1 or 5", v);
    return 0;
}

/* A duration in whole seconds up to 2^32-1 s (the MQTT v5 field), or
 * "never" (2^32-1 s: the session never expires). */
static int key_session_expiry(void *obj, const struct iocd_key *k, const char *v,
                              const char *file, int line, struct iocd_error *err)
{
    int64_t *out = (int64_t *)((char *)obj + k->offset);
    int64_t ms;
    if (strcmp(v, "never") == 0) {
        *out = INT64_C(4294967295);
        return 0;
    }
    if (iocd_duration_parse(v, &ms) || ms < 0 || ms % 1000 || ms / 1000 > INT64_C(4294967295))
        return iocd_error_at(err, file, line,
                             "[mqtt] session_expiry: '%s' is not a whole number of seconds "
                             "up to 4294967295s, or never",
                             v);
    *out = ms / 1000;
    return 0;
}

/* A Sparkplug host id: "" (off) or one topic level (Sparkplug 3.0: no '/',
 * '+' or '#'), printable UTF-8, at most IOCD_SPARKPLUG_HOST_ID_MAX bytes. */
static int key_host_id(void *obj, const struct iocd_key *k, const char *v, const char *file,
                       int line, struct iocd_error *err)
{
    size_t n = strlen(v);
    const char *why = NULL;
    if (n > IOCD_SPARKPLUG_HOST_ID_MAX)
        why = "is longer than 128 bytes";
    for (size_t i = 0; i < n && !why; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '/' || c == '+' || c == '#')
            why = "contains '/', '+' or '#' (it is one topic level)";
        else if (c < 0x20 || c == 0x7f)
            why = "contains a control character";
    }
    if (why)
        return iocd_error_at(err, file, line, "[%s] %s: '%s' %s", k->section, k->name, v, why);
    return store_string(obj, k, v, file, line, err);
}

#define OFF(field) offsetof(struct iocd_config, field)
/* A row of a generic type; a row with its own parser (IOCD_KEY_CUSTOM). */
#define KEY(...) {__VA_ARGS__, NULL, false}
#define CUSTOM(...) {__VA_ARGS__}

const struct iocd_key iocd_core_keys[] = {
    KEY("mqtt", "host", IOCD_KEY_STRING, OFF(mqtt.host), "127.0.0.1", 0, 0,
     "broker host name or address (the default is the loopback address itself: a host "
     "without /etc/hosts cannot resolve localhost)"),
    KEY("mqtt", "port", IOCD_KEY_INT, OFF(mqtt.port), "1883", 1, 65535, "broker TCP port"),
    KEY("mqtt", "client_id", IOCD_KEY_STRING, OFF(mqtt.client_id), "iocd", 0, 0,
     "MQTT client id; keep it stable so the broker keeps iocd's session across restarts"),
    KEY("mqtt", "qos", IOCD_KEY_INT, OFF(mqtt.qos), "1", 0, 2,
     "subscription QoS; 1 lets the broker queue messages while iocd restarts"),
    KEY("mqtt", "keepalive", IOCD_KEY_DURATION, OFF(mqtt.keepalive_ms), "30s", 5000, 3600000,
     "MQTT keepalive interval"),
    KEY("mqtt", "username", IOCD_KEY_STRING, OFF(mqtt.username), "", 0, 0,
     "user name; empty for none"),
    KEY("mqtt", "password", IOCD_KEY_STRING, OFF(mqtt.password), "", 0, 0,
     "password; empty for none (prefer password_file: the config file is often world-readable)"),
    CUSTOM("mqtt", "password_file", IOCD_KEY_CUSTOM, OFF(mqtt.password_file), "", 0, 0,
     "read the password from this file's first line; credential:NAME reads "
     "$CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=); a relative path is relative to the "
     "config file", key_path, true),
    KEY("mqtt", "clean_session", IOCD_KEY_BOOL, OFF(mqtt.clean_session), "false", 0, 0,
     "start a fresh session on every connect (loses messages queued while iocd was away)"),
    KEY("mqtt", "reconnect_min", IOCD_KEY_DURATION, OFF(mqtt.reconnect_min_ms), "1s", 100, 3600000,
     "first reconnect delay; doubles after each failure"),
    KEY("mqtt", "reconnect_max", IOCD_KEY_DURATION, OFF(mqtt.reconnect_max_ms), "30s", 100, 3600000,
     "cap of the reconnect delay"),
    KEY("mqtt", "degraded_after", IOCD_KEY_DURATION, OFF(mqtt.degraded_after_ms), "60s", 0,
     INT64_C(86400000),
     "/healthz says degraded once the broker has been unreachable this long (0: at once)"),
    KEY("mqtt", "tls", IOCD_KEY_BOOL, OFF(mqtt.tls), "false", 0, 0,
     "connect with TLS (set port, usually 8883); the broker's certificate is verified against "
     "tls_ca_file / tls_ca_dir, else the system's trust store, and must name host"),
    CUSTOM("mqtt", "tls_ca_file", IOCD_KEY_CUSTOM, OFF(mqtt.tls_ca_file), "", 0, 0,
     "PEM file of the CA certificate(s) the broker's certificate must chain to", key_path, true),
    CUSTOM("mqtt", "tls_ca_dir", IOCD_KEY_CUSTOM, OFF(mqtt.tls_ca_dir), "", 0, 0,
     "directory of CA certificates in OpenSSL's hashed layout (openssl rehash DIR)", key_path,
     true),
    CUSTOM("mqtt", "tls_cert_file", IOCD_KEY_CUSTOM, OFF(mqtt.tls_cert_file), "", 0, 0,
     "PEM client certificate (chain) for brokers that authenticate clients by certificate; "
     "needs tls_key_file", key_path, true),
    CUSTOM("mqtt", "tls_key_file", IOCD_KEY_CUSTOM, OFF(mqtt.tls_key_file), "", 0, 0,
     "PEM private key of tls_cert_file (unencrypted); credential:NAME as for password_file",
     key_path, true),
    CUSTOM("mqtt", "tls_version", IOCD_KEY_CUSTOM, OFF(mqtt.tls_version), "tlsv1.2", 0, 0,
     "lowest TLS version offered: tlsv1.2 or tlsv1.3", key_tls_version, false),
    KEY("mqtt", "tls_ciphers", IOCD_KEY_STRING, OFF(mqtt.tls_ciphers), "", 0, 0,
     "OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's default)"),
    KEY("mqtt", "tls_ciphersuites", IOCD_KEY_STRING, OFF(mqtt.tls_ciphersuites), "", 0, 0,
     "OpenSSL TLS 1.3 cipher suites, colon-separated (empty: OpenSSL's default)"),
    KEY("mqtt", "tls_insecure", IOCD_KEY_BOOL, OFF(mqtt.tls_insecure), "false", 0, 0,
     "do not check that the broker's certificate names host (the chain is still verified); "
     "logs a warning at every start"),
    KEY("mqtt", "tls_alpn", IOCD_KEY_STRING, OFF(mqtt.tls_alpn), "", 0, 0,
     "ALPN protocol(s) to offer, comma-separated, for brokers behind a gateway that needs one "
     "(e.g. mqtt); empty: none"),
    CUSTOM("mqtt", "protocol", IOCD_KEY_CUSTOM, OFF(mqtt.protocol), "3.1.1", 0, 0,
     "MQTT version: 3.1.1 or 5 (session expiry, receive maximum, reason codes, user "
     "properties as labels)", key_protocol, false),
    CUSTOM("mqtt", "session_expiry", IOCD_KEY_CUSTOM, OFF(mqtt.session_expiry_s), "1d", 0, 0,
     "protocol 5: how long the broker keeps iocd's session (and queues for it) after a "
     "disconnect; whole seconds, or never (clean_session = true sends 0)", key_session_expiry,
     false),
    KEY("mqtt", "socket_buffers", IOCD_KEY_BOOL, OFF(mqtt.socket_buffers), "true", 0, 0,
     "read the broker's socket ahead and gather iocd's writes to it (one system call for "
     "many packets instead of four for each); false: every read and write of libmosquitto "
     "goes to the kernel; a change reconnects"),
    KEY("mqtt", "receive_maximum", IOCD_KEY_INT, OFF(mqtt.receive_maximum), "100", 1, 65535,
     "protocol 5: QoS 1 and 2 messages the broker may have in flight to iocd, unacknowledged "
     "(flow control)"),
    KEY("store", "path", IOCD_KEY_STRING, OFF(store.path), "", 0, 0,
     "SQLite database file; empty: $STATE_DIRECTORY/iocd.db, else ./iocd.db"),
    CUSTOM("store", "resolutions", IOCD_KEY_CUSTOM, OFF(store.resolutions), "1m 1h 1d", 1000,
     INT64_C(31) * 86400000,
     "window lengths, finest first, each a whole multiple of the one before", key_resolutions,
     false),
    CUSTOM("store", "timezone", IOCD_KEY_CUSTOM, OFF(store.tz_offset_ms), "UTC", 0, 0,
     "the city's UTC offset (+07:00 for Vietnam); windows of a day or longer start at local "
     "midnight", key_timezone, false),
    CUSTOM("store", "retention", IOCD_KEY_CUSTOM, 0, "", 0, 0,
     "RES:DURATION pairs (1m:14d 1h:730d 1d:forever); unlisted: 14d below 1h, 730d below 1d, "
     "else forever", key_retention, false),
    KEY("store", "raw_retention", IOCD_KEY_DURATION, OFF(store.raw_retention_ms), "48h", 0,
     INT64_C(3650) * 86400000,
     "raw samples (the journal) kept for drill-down at least this long (0: only until every "
     "window holds them)"),
    KEY("store", "max_windows_per_flush", IOCD_KEY_INT64, OFF(store.max_windows_per_flush), "10000",
     100,
     INT64_C(10000000),
     "windows written per flush at most, longest-changed first; the rest wait in memory (their "
     "samples are already durable in the journal)"),
    KEY("store", "window_write_delay", IOCD_KEY_DURATION, OFF(store.window_write_delay_ms), "10s",
     0, 300000,
     "a changed window is written once it has waited this long, so a busy series' samples reach "
     "its stored row in one write (they are durable in the journal meanwhile; 0: at the next "
     "flush)"),
    KEY("store", "events_retention", IOCD_KEY_DURATION, OFF(store.events_retention_ms), "365d", 0,
     INT64_C(100) * 365 * 86400000, "how long raw events are kept (0: forever)"),
    KEY("store", "flush_interval", IOCD_KEY_DURATION, OFF(store.flush_interval_ms), "1s", 50, 60000,
     "how often changed windows are written, in one transaction, off the event loop"),
    KEY("store", "flush_when_quiet", IOCD_KEY_DURATION, OFF(store.flush_when_quiet_ms), "100ms", 0,
     60000,
     "when samples wait and no message has arrived for this long (a burst or a backlog "
     "ended), the flush starts now instead of at the next flush_interval (0: off)"),
    KEY("ingest", "max_payload", IOCD_KEY_SIZE, OFF(ingest.max_payload), "256KiB", 16, 16 << 20,
     "larger messages are rejected as too_large"),
    KEY("ingest", "max_clock_skew", IOCD_KEY_DURATION, OFF(ingest.max_clock_skew_ms), "5m", 0,
     INT64_C(86400000), "observation times further in the future are rejected as future_time"),
    KEY("ingest", "dedup_horizon", IOCD_KEY_INT64, OFF(ingest.dedup_horizon), "1000000", 0,
     INT64_C(100000000),
     "recent (series, observation time) keys remembered to drop redelivered duplicates "
     "(0: off)"),
    KEY("ingest", "max_series", IOCD_KEY_INT64, OFF(ingest.max_series), "1000000", 0,
     INT64_C(100000000),
     "distinct series accepted before new ones are rejected as series_limit (0: no limit)"),
    KEY("ingest", "dead_letter_topic", IOCD_KEY_STRING, OFF(ingest.dead_letter_topic), "", 0, 0,
     "publish every rejected message, with its reason, under TOPIC/ADAPTER (empty: off)"),
    KEY("ingest", "max_unwritten", IOCD_KEY_INT64, OFF(ingest.max_unwritten), "1000000", 1000,
     INT64_C(100000000),
     "accepted samples and events held but not yet written before iocd stops reading from the "
     "broker (back-pressure): the most a crash during a disk outage can lose; a quarter of it "
     "waiting starts a flush at once"),
    KEY("aqi", "adapter", IOCD_KEY_STRING, OFF(aqi.adapter), "", 0, 0,
     "the feed whose devices are air-quality stations: hourly and daily VN_AQI as series "
     "FEED/STATION/vn_aqi and vn_aqi_day (empty: off)"),
    KEY("aqi", "pm25", IOCD_KEY_STRING, OFF(aqi.pm25), "pm25", 0, 0, "metric of PM2.5 in ug/m3"),
    KEY("aqi", "pm10", IOCD_KEY_STRING, OFF(aqi.pm10), "pm10", 0, 0, "metric of PM10 in ug/m3"),
    KEY("aqi", "o3", IOCD_KEY_STRING, OFF(aqi.o3), "o3", 0, 0, "metric of O3 in ug/m3"),
    KEY("aqi", "co", IOCD_KEY_STRING, OFF(aqi.co), "co", 0, 0, "metric of CO in ug/m3"),
    KEY("aqi", "so2", IOCD_KEY_STRING, OFF(aqi.so2), "so2", 0, 0, "metric of SO2 in ug/m3"),
    KEY("aqi", "no2", IOCD_KEY_STRING, OFF(aqi.no2), "no2", 0, 0, "metric of NO2 in ug/m3"),
    KEY("aqi", "delay", IOCD_KEY_DURATION, OFF(aqi.delay_ms), "10m", 0, INT64_C(86400000),
     "an hour's AQI is computed this long after the hour ends (late samples still count)"),
    KEY("live", "prefix", IOCD_KEY_STRING, OFF(live.prefix), "ioc/v1", 0, 0,
     "republish every observation, event, alert, closed window and device status under this "
     "MQTT topic prefix (empty: no republish); see docs/api.md"),
    KEY("live", "protobuf", IOCD_KEY_BOOL, OFF(live.protobuf), "true", 0, 0,
     "publish ioc.v1 protobuf under PREFIX/obs/..., PREFIX/event/..., ..."),
    KEY("live", "json", IOCD_KEY_BOOL, OFF(live.json), "false", 0, 0,
     "also publish the JSON form, one message per item, under PREFIX/json/... for dashboards "
     "without protobuf"),
    KEY("live", "per_metric", IOCD_KEY_BOOL, OFF(live.per_metric), "false", 0, 0,
     "observations and closed windows one per metric on PREFIX/obs/SOURCE/DEVICE/METRIC and "
     "PREFIX/window/RES/SOURCE/DEVICE/METRIC (false: one ioc.v1.Batch per received message and "
     "device, one ioc.v1.WindowBatch per device and resolution)"),
    KEY("live", "observations", IOCD_KEY_BOOL, OFF(live.observations), "true", 0, 0,
     "republish every observation (false: only events, alerts, windows and status)"),
    KEY("live", "qos", IOCD_KEY_INT, OFF(live.qos), "0", 0, 2,
     "QoS of republished messages (device status is always retained)"),
    CUSTOM("live", "windows", IOCD_KEY_CUSTOM, OFF(live.windows), "1m", 0, 0,
     "resolutions whose closed windows are published (empty: none)", key_windows, false),
    KEY("live", "window_grace", IOCD_KEY_DURATION, OFF(live.window_grace_ms), "5s", 0, 3600000,
     "a window is published once its series moves past it, or this long after its end "
     "when no sample for it arrived for as long (late samples still merge into the stored row)"),
    KEY("live", "ring", IOCD_KEY_INT64, OFF(live.ring_items), "20000", 0, 10000000,
     "recent live items kept so a reconnecting client catches up (Last-Event-ID)"),
    KEY("devices", "stale_multiple", IOCD_KEY_DOUBLE, OFF(devices.stale_multiple), "3", 1, 1000,
     "a device is stale after this many of its usual intervals without a message"),
    KEY("devices", "offline_multiple", IOCD_KEY_DOUBLE, OFF(devices.offline_multiple), "10", 1,
     100000,
     "... and offline after this many"),
    KEY("devices", "default_interval", IOCD_KEY_DURATION, OFF(devices.default_interval_ms), "60s",
     1000,
     INT64_C(86400000), "usual interval assumed until a device's second message"),
    KEY("devices", "min_interval", IOCD_KEY_DURATION, OFF(devices.min_interval_ms), "1s", 100,
     INT64_C(86400000), "floor of a device's learned usual interval"),
    KEY("devices", "persist_interval", IOCD_KEY_DURATION, OFF(devices.persist_interval_ms), "60s",
     0,
     3600000,
     "a device that keeps reporting has its last-seen time stored this often (state changes at "
     "once; a graceful stop stores all): what a crash can make a device look older by"),
    KEY("devices", "max_devices", IOCD_KEY_INT64, OFF(devices.max_devices), "1000000", 1,
     INT64_C(100000000), "devices tracked at most"),
    CUSTOM("devices", "registry", IOCD_KEY_CUSTOM, OFF(devices.registry), "", 0, 0,
     "device registry, CSV or JSON (name, lat, lon, area, subsystem, tags per source/device; "
     "relative to the config file's directory; docs/registry.md); re-read on reload, a bad file "
     "keeps the old one (empty: none)", key_devices_registry, true),
    CUSTOM("http", "listen", IOCD_KEY_CUSTOM, OFF(http.listen), "127.0.0.1:8080", 0, 0,
     "HOST:PORT of the HTTP API and operator console (empty: off); any address but loopback "
     "requires token or users_file, and tls_cert or behind_proxy", key_http_listen, true),
    KEY("http", "token", IOCD_KEY_STRING, OFF(http.token), "", 0, 0,
     "shared bearer token, the account admin, required on every request but /healthz "
     "(off loopback this or users_file is required)"),
    KEY("http", "client_buffer", IOCD_KEY_SIZE, OFF(http.client_buffer), "1MiB", 4096, 256 << 20,
     "bytes queued per live-stream client; beyond it items are dropped and counted"),
    KEY("http", "max_clients", IOCD_KEY_INT64, OFF(http.max_clients), "64", 1, 100000,
     "live-stream clients at once"),
    KEY("http", "web_root", IOCD_KEY_STRING, OFF(http.web_root), "", 0, 0,
     "serve the console from this directory instead of the copy built into iocd"),
    CUSTOM("http", "allowed_hosts", IOCD_KEY_CUSTOM, OFF(http.allowed_hosts), "", 0, 0,
     "Host header values answered besides the loopback's (NAME or NAME:PORT, space-separated); "
     "checked on a loopback listen, and off loopback once set (others: 421)", key_allowed_hosts,
     true),
    CUSTOM("http", "tls_cert", IOCD_KEY_CUSTOM, OFF(http.tls_cert), "", 0, 0,
     "PEM certificate chain: serve HTTPS (empty: plain HTTP, allowed only on loopback or "
     "behind_proxy)", key_http_tls_file, true),
    CUSTOM("http", "tls_key", IOCD_KEY_CUSTOM, OFF(http.tls_key), "", 0, 0,
     "PEM private key of tls_cert (empty: read from tls_cert's file)", key_http_tls_file, true),
    CUSTOM("http", "tls_min_version", IOCD_KEY_CUSTOM, OFF(http.tls_min_version), "TLSv1.2", 0,
     0, "oldest TLS version accepted: TLSv1.2 or TLSv1.3", key_tls_min_version, false),
    KEY("http", "behind_proxy", IOCD_KEY_BOOL, OFF(http.behind_proxy), "false", 0, 0,
     "allow plain HTTP off loopback because a reverse proxy in front ends TLS (warned at every "
     "start)"),
    CUSTOM("http", "users_file", IOCD_KEY_CUSTOM, OFF(http.users_file), "", 0, 0,
     "named accounts, one NAME:ROLE:sha256:SALT:HASH a line (iocctl users add; relative to the "
     "config file's directory); re-read on reload. Set: every request but /healthz needs an "
     "account's token or session (empty: only token)", key_http_tls_file, true),
    KEY("http", "session_idle", IOCD_KEY_DURATION, OFF(http.session_idle_ms), "8h", 60000,
     INT64_C(30) * 86400000,
     "a console login session ends after this long without a request (sessions live in memory: "
     "a restart ends them all)"),
    CUSTOM("http", "map_tiles", IOCD_KEY_CUSTOM, OFF(http.map_tiles),
     "https://tile.openstreetmap.org/{z}/{x}/{y}.png", 0, 0,
     "the console map's tile server, a URL template with {z} {x} {y} (its origin is added to "
     "the console's Content-Security-Policy); empty: no tiles, a plain background",
     key_map_tiles, true),
    KEY("http", "map_attribution", IOCD_KEY_STRING, OFF(http.map_attribution),
     "© OpenStreetMap contributors", 0, 0, "the tiles' attribution, shown on the map"),
    CUSTOM("http", "map_areas", IOCD_KEY_CUSTOM, OFF(http.map_areas), "", 0, 0,
     "GeoJSON file of the areas' (wards') outlines drawn on the map, at most 8 MiB (relative to "
     "the config file's directory); read at start and on reload", key_http_tls_file, true),
    CUSTOM("http", "map_area_value", IOCD_KEY_CUSTOM, OFF(http.map_area_value), "", 0, 0,
     "the series whose latest value each area of map_areas shows, {area} standing for the "
     "feature's properties.name (e.g. air/ward:{area}/pm25, a [group]'s); empty: outlines only",
     key_map_area_value, true),
    CUSTOM("log", "level", IOCD_KEY_CUSTOM, OFF(log.level), "info", 0, 0,
     "error, warning, notice, info or debug", key_loglevel, false),
    KEY("log", "rate_limit_interval", IOCD_KEY_DURATION, OFF(log.rate_limit_interval_ms), "10s", 0,
     3600000, "per-topic/reason log lines are limited per this interval"),
    KEY("log", "rate_limit_burst", IOCD_KEY_INT, OFF(log.rate_limit_burst), "5", 1, 1000000,
     "lines allowed per key and interval before suppression"),
    CUSTOM("sparkplug", "host_id", IOCD_KEY_CUSTOM, OFF(sparkplug.host_id), "", 0, 0,
     "Sparkplug host application id: iocd publishes its STATE birth and death, retained, on "
     "spBv1.0/STATE/HOST_ID (empty: no STATE)", key_host_id, true),
};

const size_t iocd_core_n_keys = sizeof(iocd_core_keys) / sizeof(iocd_core_keys[0]);

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

static bool is_core_section(const char *name)
{
    for (size_t i = 0; i < iocd_core_n_keys; i++)
        if (strcmp(iocd_core_keys[i].section, name) == 0)
            return true;
    return false;
}

/* Every section but [adapter NAME], [alert NAME], [units] and [states], through the
 * table. */
static int read_core_sections(struct iocd_config *cfg, struct iocd_ini *ini,
                              struct iocd_error *err)
{
    for (size_t i = 0; i < ini->n_sections; i++) {
        struct iocd_ini_section *s = &ini->sections[i];
        if (strcmp(s->name, "adapter") == 0 || strcmp(s->name, "alert") == 0 ||
            strcmp(s->name, "notify") == 0 || strcmp(s->name, "group") == 0 ||
            strcmp(s->name, "units") == 0 || strcmp(s->name, "states") == 0)
            continue;
        if (!is_core_section(s->name))
            return iocd_error_at(err, ini->path, s->line,
                                 "unknown section [%s] (known: mqtt, store, ingest, aqi, "
                                 "live, devices, http, log, sparkplug, adapter NAME, alert NAME, "
                                 "notify NAME, group NAME, units, states)",
                                 s->name);
        if (s->arg)
            return iocd_error_at(err, ini->path, s->line, "[%s] takes no name", s->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ini->sections[j].name, s->name) == 0)
                return iocd_error_at(err, ini->path, s->line, "[%s] given twice (first on line %d)",
                                     s->name, ini->sections[j].line);
        if (iocd_keys_read(cfg, iocd_core_keys, iocd_core_n_keys, s->name, ini, s, err))
            return -1;
    }
    return 0;
}

int iocd_config_core_begin(struct iocd_config *cfg, const char *name, const char *text,
                           const char *path, struct iocd_ini *ini, struct iocd_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    memset(ini, 0, sizeof(*ini));
    if (iocd_keys_apply_defaults(cfg, iocd_core_keys, iocd_core_n_keys, err))
        return -1;
    if (path) {
        cfg->path = strdup(path);
        if (iocd_ini_load(ini, path, err))
            return -1;
    } else {
        if (name)
            cfg->path = strdup(name);
        if (iocd_ini_parse(ini, name ? name : "(defaults)", text, err))
            return -1;
    }
    return read_core_sections(cfg, ini, err);
}

/* The [http] rules across keys: a token and HTTPS (or an explicit
 * reverse proxy) off loopback; a key only with its certificate. */
static int core_finish_http(const struct iocd_config *cfg, const char *file,
                            struct iocd_error *err)
{
    const char *listen = cfg->http.listen;
    int at = cfg->http.listen_line;
    if (cfg->http.tls_key[0] && !cfg->http.tls_cert[0])
        return iocd_error_at(err, file, cfg->http.tls_key_line,
                             "[http] tls_key is set without tls_cert");
    if (!listen[0] || iocd_listen_is_loopback(listen))
        return 0;
    if (!cfg->http.token[0] && !cfg->http.users_file[0])
        return iocd_error_at(err, file, at,
                             "[http] listen %s is not a loopback address: set [http] token "
                             "or users_file (clients then send Authorization: Bearer TOKEN)",
                             listen);
    if (!cfg->http.tls_cert[0] && !cfg->http.behind_proxy)
        return iocd_error_at(err, file, at,
                             "[http] listen %s is not a loopback address: HTTPS is required "
                             "(set [http] tls_cert and tls_key), or set [http] behind_proxy = "
                             "true when a reverse proxy in front ends TLS",
                             listen);
    return 0;
}

int iocd_config_core_finish(struct iocd_config *cfg,
                            int (*consumed)(const struct iocd_config *cfg, int what,
                                            const char *file, struct iocd_error *err),
                            struct iocd_error *err)
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
        if (consumed && consumed(cfg, 0, file, err))
            return -1;
    }
    const char *pfx = cfg->live.prefix;
    if (pfx[0]) {
        if (strchr(pfx, '+') || strchr(pfx, '#') || pfx[strlen(pfx) - 1] == '/' ||
            strlen(pfx) > 200)
            return iocd_error_set(err, "%s: [live] prefix '%s' must be a plain topic without "
                                       "wildcards or a trailing '/' (at most 200 characters)",
                                  file, pfx);
        if (consumed && consumed(cfg, 1, file, err))
            return -1;
    }
    if (cfg->devices.offline_multiple < cfg->devices.stale_multiple)
        return iocd_error_set(err, "%s: [devices] offline_multiple must not be below "
                                   "stale_multiple",
                              file);
    return core_finish_http(cfg, file, err);
}


int iocd_config_core_load(struct iocd_config *cfg, const char *path, struct iocd_error *err)
{
    struct iocd_ini ini;
    int rc = iocd_config_core_begin(cfg, NULL, iocd_default_config, path, &ini, err);
    if (rc == 0) {
        /* The adapter, alert, notify, group and units sections are the full loader's. */
        for (size_t i = 0; i < ini.n_sections; i++) {
            struct iocd_ini_section *s = &ini.sections[i];
            if (strcmp(s->name, "adapter") == 0 || strcmp(s->name, "alert") == 0 ||
                strcmp(s->name, "notify") == 0 || strcmp(s->name, "group") == 0 ||
                strcmp(s->name, "units") == 0 || strcmp(s->name, "states") == 0)
                for (size_t j = 0; j < s->n_entries; j++)
                    s->entries[j].used = true;
        }
        rc = iocd_ini_check_unused(&ini, err);
    }
    if (rc == 0)
        rc = iocd_config_core_finish(cfg, NULL, err);
    iocd_ini_free(&ini);
    if (rc)
        iocd_config_core_free(cfg);
    return rc;
}

void iocd_config_core_free(struct iocd_config *cfg)
{
    iocd_users_free(&cfg->http.users);
    free(cfg->http.map_areas_json);
    cfg->http.map_areas_json = NULL;
    iocd_registry_free(cfg->devices.registry_data);
    cfg->devices.registry_data = NULL;
    free(cfg->http.users_path);
    cfg->http.users_path = NULL;
    iocd_keys_free(cfg, iocd_core_keys, iocd_core_n_keys);
    free(cfg->path);
    cfg->path = NULL;
}
