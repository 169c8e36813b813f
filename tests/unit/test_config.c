/* tests/unit/test_config.c — the configuration (daemon/config.c): a file
 * setting every core key and two [adapter NAME] sections, the embedded
 * defaults, the store path derived from STATE_DIRECTORY, every error a bad
 * value, section or structure produces (exact message, file and line), the
 * shared value parsers, loading from a file, and the shipped example
 * config/iocd.conf when it exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config/config.h"

/* A minimal valid adapter section (5 lines) for texts testing core keys. */
#define AIR                                                                                        \
    "[adapter air]\n"                                                                              \
    "topic = city/air/+/data\n"                                                                    \
    "format = json\n"                                                                              \
    "device = $.id\n"                                                                              \
    "metric.x = $.x\n"

/* Loads `text` as "t.conf"; must fail with exactly `msg` and leave the
 * config emptied. */
static void expect_error(const char *text, const char *msg)
{
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    int rc = iocd_config_load_string(&cfg, "t.conf", text, &err);
    if (rc == 0)
        iocd_config_free(&cfg);
    assert_int_equal(rc, -1);
    assert_string_equal(err.msg, msg);
    assert_null(cfg.path);
    assert_null(cfg.adapters);
    assert_int_equal(cfg.n_adapters, 0);
    assert_null(cfg.mqtt.host);
    assert_null(cfg.store.path);
}

static void load_ok(struct iocd_config *cfg, const char *text)
{
    struct iocd_error err = {{0}};
    if (iocd_config_load_string(cfg, "t.conf", text, &err) != 0)
        fail_msg("load failed: %s", err.msg);
}

static void test_every_key(void **state)
{
    (void)state;
    static const char text[] = "# full config\n"                 /* 1 */
                               "[mqtt]\n"                        /* 2 */
                               "host = broker.example.org\n"     /* 3 */
                               "port = 8883\n"                   /* 4 */
                               "client_id = iocd-test\n"         /* 5 */
                               "qos = 2\n"                       /* 6 */
                               "keepalive = 45s\n"               /* 7 */
                               "username = user\n"               /* 8 */
                               "password = \"  secret  \"\n"     /* 9 */
                               "clean_session = yes\n"           /* 10 */
                               "reconnect_min = 500ms\n"         /* 11 */
                               "reconnect_max = 2m\n"            /* 12 */
                               "\n"                              /* 13 */
                               "[store]\n"                       /* 14 */
                               "path = /tmp/t.db\n"              /* 15 */
                               "resolutions = 10s, 1m 1h\t1d\n"  /* 16 */
                               "flush_interval = 250ms\n"        /* 17 */
                               "\n"                              /* 18 */
                               "[ingest]\n"                      /* 19 */
                               "max_payload = 64KiB\n"           /* 20 */
                               "max_clock_skew = 90s\n"          /* 21 */
                               "max_series = 5000\n"             /* 22 */
                               "\n"                              /* 23 */
                               "[log]\n"                         /* 24 */
                               "level = debug\n"                 /* 25 */
                               "rate_limit_interval = 1m\n"      /* 26 */
                               "rate_limit_burst = 7\n"          /* 27 */
                               "\n"                              /* 28 */
                               "[adapter air]\n"                 /* 29 */
                               "topic = city/air/+/data\n"       /* 30 */
                               "format = json\n"                 /* 31 */
                               "device = $.id\n"                 /* 32 */
                               "metric.x = $.x\n"                /* 33 */
                               "\n"                              /* 34 */
                               "[adapter water]\n"               /* 35 */
                               "topic = city/water/#\n"          /* 36 */
                               "format = json\n"                 /* 37 */
                               "source = hydro\n"                /* 38 */
                               "device = topic[2]\n"             /* 39 */
                               "metric.level = $.level cm\n";    /* 40 */
    struct iocd_config cfg;
    load_ok(&cfg, text);
    assert_string_equal(cfg.path, "t.conf");

    assert_string_equal(cfg.mqtt.host, "broker.example.org");
    assert_int_equal(cfg.mqtt.port, 8883);
    assert_string_equal(cfg.mqtt.client_id, "iocd-test");
    assert_int_equal(cfg.mqtt.qos, 2);
    assert_int_equal(cfg.mqtt.keepalive_ms, 45000);
    assert_string_equal(cfg.mqtt.username, "user");
    assert_string_equal(cfg.mqtt.password, "  secret  ");
    assert_true(cfg.mqtt.clean_session);
    assert_int_equal(cfg.mqtt.reconnect_min_ms, 500);
    assert_int_equal(cfg.mqtt.reconnect_max_ms, 120000);

    assert_string_equal(cfg.store.path, "/tmp/t.db");
    assert_int_equal(cfg.store.resolutions.n, 4);
    assert_int_equal(cfg.store.resolutions.ms[0], 10000);
    assert_int_equal(cfg.store.resolutions.ms[1], 60000);
    assert_int_equal(cfg.store.resolutions.ms[2], 3600000);
    assert_int_equal(cfg.store.resolutions.ms[3], 86400000);
    assert_int_equal(cfg.store.flush_interval_ms, 250);

    assert_int_equal(cfg.ingest.max_payload, 65536);
    assert_int_equal(cfg.ingest.max_clock_skew_ms, 90000);
    assert_int_equal(cfg.ingest.max_series, 5000);

    assert_int_equal(cfg.log.level, LOG_DEBUG);
    assert_int_equal(cfg.log.rate_limit_interval_ms, 60000);
    assert_int_equal(cfg.log.rate_limit_burst, 7);

    const struct iocd_adapter_ops *json = iocd_adapter_find("json");
    assert_non_null(json);
    assert_int_equal(cfg.n_adapters, 2);
    assert_string_equal(cfg.adapters[0].name, "air");
    assert_string_equal(cfg.adapters[0].topic, "city/air/+/data");
    assert_string_equal(cfg.adapters[0].source, "air");
    assert_int_equal(cfg.adapters[0].line, 29);
    assert_ptr_equal(cfg.adapters[0].ops, json);
    assert_non_null(cfg.adapters[0].state);
    assert_string_equal(cfg.adapters[1].name, "water");
    assert_string_equal(cfg.adapters[1].topic, "city/water/#");
    assert_string_equal(cfg.adapters[1].source, "hydro");
    assert_int_equal(cfg.adapters[1].line, 35);
    assert_ptr_equal(cfg.adapters[1].ops, json);
    assert_non_null(cfg.adapters[1].state);

    iocd_config_free(&cfg);
    assert_null(cfg.path);
    assert_null(cfg.adapters);
    assert_int_equal(cfg.n_adapters, 0);
}

/* Core keys left out take their defaults, also when parsed from a file. */
static void assert_core_defaults(const struct iocd_config *cfg)
{
    assert_string_equal(cfg->mqtt.host, "127.0.0.1");
    assert_int_equal(cfg->mqtt.port, 1883);
    assert_string_equal(cfg->mqtt.client_id, "iocd");
    assert_int_equal(cfg->mqtt.qos, 1);
    assert_int_equal(cfg->mqtt.keepalive_ms, 30000);
    assert_string_equal(cfg->mqtt.username, "");
    assert_string_equal(cfg->mqtt.password, "");
    assert_false(cfg->mqtt.clean_session);
    assert_int_equal(cfg->mqtt.reconnect_min_ms, 1000);
    assert_int_equal(cfg->mqtt.reconnect_max_ms, 30000);
    assert_int_equal(cfg->store.resolutions.n, 3);
    assert_int_equal(cfg->store.resolutions.ms[0], 60000);
    assert_int_equal(cfg->store.resolutions.ms[1], 3600000);
    assert_int_equal(cfg->store.resolutions.ms[2], 86400000);
    assert_int_equal(cfg->store.flush_interval_ms, 1000);
    assert_int_equal(cfg->ingest.max_payload, 262144);
    assert_int_equal(cfg->ingest.max_clock_skew_ms, 300000);
    assert_int_equal(cfg->ingest.max_series, 1000000);
    assert_int_equal(cfg->log.level, LOG_INFO);
    assert_int_equal(cfg->log.rate_limit_interval_ms, 10000);
    assert_int_equal(cfg->log.rate_limit_burst, 5);
}

/* Saves STATE_DIRECTORY around the tests that change it. */
static int setup_env(void **state)
{
    const char *v = getenv("STATE_DIRECTORY");
    char *saved = v ? strdup(v) : NULL;
    if (v && !saved)
        return -1;
    *state = saved;
    return 0;
}

static int teardown_env(void **state)
{
    char *saved = *state;
    int rc = saved ? setenv("STATE_DIRECTORY", saved, 1) : unsetenv("STATE_DIRECTORY");
    free(saved);
    return rc;
}

static void test_embedded_defaults(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("STATE_DIRECTORY"), 0);
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    if (iocd_config_load(&cfg, NULL, &err) != 0)
        fail_msg("defaults failed: %s", err.msg);
    assert_null(cfg.path);
    assert_core_defaults(&cfg);
    assert_string_equal(cfg.store.path, "iocd.db");
    assert_int_equal(cfg.store.tz_offset_ms, 7 * 3600000); /* the embedded feeds are Pleiku's */

    /* One feed per Pleiku subsystem, as iocd-sim publishes them. */
    static const struct {
        const char *name, *topic, *format;
        int line;
    } want[] = {
        {"air", "pleiku/air/+/data", "json", 5},
        {"traffic", "pleiku/traffic/+/count", "json", 15},
        {"water", "pleiku/water/+/level", "json", 23},
        {"weather", "pleiku/weather/+/senml", "senml", 31},
        {"rain", "pleiku/rain/+/intensity", "text", 34},
        {"violations", "pleiku/violations/+/event", "event", 41},
        {"lighting", "spBv1.0/pleiku-lighting/#", "sparkplug", 51},
        {"bus", "pleiku/bus/+/lp", "influx", 55},
        {"fire", "pleiku/fire/+/alarm", "event", 66},
        {"reports", "pleiku/reports/+/event", "event", 76},
        {"parking", "pleiku/parking/ngsi/+", "ngsi", 88},
    };
    assert_int_equal(cfg.n_adapters, 11);
    for (int i = 0; i < 11; i++) {
        assert_string_equal(cfg.adapters[i].name, want[i].name);
        assert_string_equal(cfg.adapters[i].topic, want[i].topic);
        assert_string_equal(cfg.adapters[i].source, want[i].name);
        assert_int_equal(cfg.adapters[i].line, want[i].line);
        assert_ptr_equal(cfg.adapters[i].ops, iocd_adapter_find(want[i].format));
        assert_non_null(cfg.adapters[i].state);
    }
    assert_string_equal(cfg.aqi.adapter, "air");
    /* [units]: the series lines first, then the metric. keys. */
    assert_int_equal(cfg.n_unit_rules, 3);
    assert_string_equal(cfg.unit_rules[0].match, "water/+/level");
    assert_string_equal(cfg.unit_rules[0].value.unit, "cm");
    assert_string_equal(cfg.unit_rules[1].match, "rain/+/intensity");
    assert_string_equal(cfg.unit_rules[2].metric, "no2");
    assert_int_equal(cfg.unit_rules[2].value.from[0].num, 47);
    iocd_config_free(&cfg);
}

static void test_defaults_in_file(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("STATE_DIRECTORY"), 0);
    struct iocd_config cfg;
    load_ok(&cfg, AIR);
    assert_core_defaults(&cfg);
    assert_string_equal(cfg.store.path, "iocd.db");
    assert_int_equal(cfg.n_adapters, 1);
    iocd_config_free(&cfg);
}

static void test_state_directory(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err = {{0}};

    assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/iocd", 1), 0);
    assert_int_equal(iocd_config_load(&cfg, NULL, &err), 0);
    assert_string_equal(cfg.store.path, "/var/lib/iocd/iocd.db");
    iocd_config_free(&cfg);

    assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/iocd:/var/lib/other", 1), 0);
    assert_int_equal(iocd_config_load(&cfg, NULL, &err), 0);
    assert_string_equal(cfg.store.path, "/var/lib/iocd/iocd.db");
    iocd_config_free(&cfg);

    assert_int_equal(setenv("STATE_DIRECTORY", "", 1), 0);
    assert_int_equal(iocd_config_load(&cfg, NULL, &err), 0);
    assert_string_equal(cfg.store.path, "iocd.db");
    iocd_config_free(&cfg);

    /* An explicit path wins over STATE_DIRECTORY. */
    assert_int_equal(setenv("STATE_DIRECTORY", "/var/lib/iocd", 1), 0);
    load_ok(&cfg, "[store]\npath = /srv/x.db\n" AIR);
    assert_string_equal(cfg.store.path, "/srv/x.db");
    iocd_config_free(&cfg);

    assert_int_equal(unsetenv("STATE_DIRECTORY"), 0);
    assert_int_equal(iocd_config_load(&cfg, NULL, &err), 0);
    assert_string_equal(cfg.store.path, "iocd.db");
    iocd_config_free(&cfg);
}

static void test_value_forms(void **state)
{
    (void)state;
    struct iocd_config cfg;
    /* Booleans are case-insensitive; a bare duration is seconds; sizes
     * take K/M suffixes; one resolution is enough. */
    load_ok(&cfg, "[mqtt]\nclean_session = OFF\nkeepalive = 60\nqos = 0\n"
                  "[store]\nresolutions = 1s\n"
                  "[ingest]\nmax_payload = 1M\nmax_series = 0\nmax_clock_skew = 0\n"
                  "[log]\nlevel = error\n" AIR);
    assert_false(cfg.mqtt.clean_session);
    assert_int_equal(cfg.mqtt.keepalive_ms, 60000);
    assert_int_equal(cfg.mqtt.qos, 0);
    assert_int_equal(cfg.store.resolutions.n, 1);
    assert_int_equal(cfg.store.resolutions.ms[0], 1000);
    assert_int_equal(cfg.ingest.max_payload, 1048576);
    assert_int_equal(cfg.ingest.max_series, 0);
    assert_int_equal(cfg.ingest.max_clock_skew_ms, 0);
    assert_int_equal(cfg.log.level, LOG_ERR);
    iocd_config_free(&cfg);

    static const struct {
        const char *name;
        int level;
    } levels[] = {{"error", LOG_ERR},   {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
                  {"info", LOG_INFO},   {"debug", LOG_DEBUG}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "[log]\nlevel = %s\n" AIR, levels[i].name);
        load_ok(&cfg, text);
        assert_int_equal(cfg.log.level, levels[i].level);
        iocd_config_free(&cfg);
    }

    /* Eight resolutions is the maximum, 31d the longest; reconnect_max may
     * equal reconnect_min. */
    load_ok(&cfg, "[mqtt]\nreconnect_min = 5s\nreconnect_max = 5s\n"
                  "[store]\nresolutions = 1s 2s 4s 8s 16s 32s 64s 31d\n" AIR);
    assert_int_equal(cfg.store.resolutions.n, 8);
    assert_int_equal(cfg.store.resolutions.ms[6], 64000);
    assert_int_equal(cfg.store.resolutions.ms[7], INT64_C(31) * 86400000);
    assert_int_equal(cfg.mqtt.reconnect_max_ms, 5000);
    iocd_config_free(&cfg);

    /* Topic filters: wildcards standing alone (subscribing to everything
     * needs the republish off, or iocd would read its own output). */
    load_ok(&cfg, "[live]\nprefix =\n[adapter a]\ntopic = #\nformat = json\ndevice = $.id\nmetric.x = $.x\n"
                  "[adapter b]\ntopic = +/x/+\nformat = json\ndevice = $.id\nmetric.x = $.x\n"
                  "[adapter c]\ntopic = a/+/#\nformat = json\ndevice = $.id\nmetric.x = $.x\n");
    assert_int_equal(cfg.n_adapters, 3);
    assert_string_equal(cfg.adapters[0].topic, "#");
    assert_string_equal(cfg.adapters[1].topic, "+/x/+");
    assert_string_equal(cfg.adapters[2].topic, "a/+/#");
    iocd_config_free(&cfg);
}

static void test_errors_keys_and_sections(void **state)
{
    (void)state;
    expect_error("[mqtt]\nhost = h\nhots = x\n" AIR, "t.conf:3: unknown key 'hots' in [mqtt]");
    expect_error(AIR "colour = red\n", "t.conf:6: unknown key 'colour' in [adapter air]");
    expect_error("\n[mqtt2]\nhost = h\n" AIR,
                 "t.conf:2: unknown section [mqtt2] (known: mqtt, store, ingest, aqi, live, "
                 "devices, http, log, sparkplug, adapter NAME, alert NAME, notify NAME, "
                 "group NAME, units, states)");
    expect_error("[mqtt main]\n" AIR, "t.conf:1: [mqtt] takes no name");
    expect_error("[mqtt]\nport = 1\nhost = h\nport = 2\n" AIR,
                 "t.conf:4: key 'port' given twice (first on line 2)");
    expect_error("[adapter air]\ntopic = a\nformat = json\ntopic = b\n",
                 "t.conf:4: key 'topic' given twice (first on line 2)");
    expect_error("[mqtt]\nhost = h\n", "t.conf: no [adapter NAME] section: iocd would "
                                       "subscribe to nothing");
    expect_error("", "t.conf: no [adapter NAME] section: iocd would subscribe to nothing");
    /* Errors of the INI syntax come through unchanged. */
    expect_error(AIR "[log\n", "t.conf:6: section header without closing ']'");
}

/* [mqtt] protocol, session_expiry, receive_maximum and $share/GROUP/FILTER
 * topics: defaults, values, and each refusal with its file and line. */
static void test_mqtt_v5_and_shared(void **state)
{
    (void)state;
    struct iocd_config cfg;
    load_ok(&cfg, AIR);
    assert_int_equal(cfg.mqtt.protocol, 4);
    assert_int_equal(cfg.mqtt.session_expiry_s, 86400);
    assert_int_equal(cfg.mqtt.receive_maximum, 100);
    assert_true(cfg.mqtt.socket_buffers);
    assert_ptr_equal(cfg.adapters[0].filter, cfg.adapters[0].topic);
    iocd_config_free(&cfg);

    load_ok(&cfg, "[mqtt]\nprotocol = 5\nsession_expiry = 90m\nreceive_maximum = 20\n"
                  "socket_buffers = false\n"
                  "[adapter air]\ntopic = $share/iocd/city/air/+/data\nformat = json\n"
                  "device = $.id\nmetric.x = $.x\n");
    assert_int_equal(cfg.mqtt.protocol, 5);
    assert_int_equal(cfg.mqtt.session_expiry_s, 5400);
    assert_int_equal(cfg.mqtt.receive_maximum, 20);
    assert_false(cfg.mqtt.socket_buffers);
    assert_string_equal(cfg.adapters[0].topic, "$share/iocd/city/air/+/data");
    assert_string_equal(cfg.adapters[0].filter, "city/air/+/data");
    assert_ptr_equal(cfg.adapters[0].filter, cfg.adapters[0].topic + 12);
    iocd_config_free(&cfg);

    load_ok(&cfg, "[mqtt]\nprotocol = 3.1.1\nsession_expiry = never\n" AIR);
    assert_int_equal(cfg.mqtt.protocol, 4);
    assert_int_equal(cfg.mqtt.session_expiry_s, INT64_C(4294967295));
    iocd_config_free(&cfg);
    load_ok(&cfg, "[mqtt]\nsession_expiry = 0\n" AIR);
    assert_int_equal(cfg.mqtt.session_expiry_s, 0);
    iocd_config_free(&cfg);

    expect_error("[mqtt]\nprotocol = 5.0\n" AIR,
                 "t.conf:2: [mqtt] protocol: '5.0' is not 3.1.1 or 5");
    expect_error("\n[mqtt]\nprotocol = 3\n" AIR,
                 "t.conf:3: [mqtt] protocol: '3' is not 3.1.1 or 5");
    expect_error("[mqtt]\nsession_expiry = 1500ms\n" AIR,
                 "t.conf:2: [mqtt] session_expiry: '1500ms' is not a whole number of seconds "
                 "up to 4294967295s, or never");
    expect_error("[mqtt]\nsession_expiry = 4294967296s\n" AIR,
                 "t.conf:2: [mqtt] session_expiry: '4294967296s' is not a whole number of "
                 "seconds up to 4294967295s, or never");
    expect_error("[mqtt]\nreceive_maximum = 0\n" AIR,
                 "t.conf:2: [mqtt] receive_maximum: '0' is not an integer in 1..65535");
    static const char *const bad_share[] = {"$share/iocd/", "$share//a/b", "$share/g+/a",
                                            "$share/#/a", "$share/g"};
    for (size_t i = 0; i < sizeof(bad_share) / sizeof(bad_share[0]); i++) {
        char text[256], msg[300];
        snprintf(text, sizeof(text), "[adapter a]\nformat = json\ntopic = %s\n", bad_share[i]);
        snprintf(msg, sizeof(msg),
                 "t.conf:3: [adapter a] topic '%s': a shared subscription is "
                 "$share/GROUP/FILTER (GROUP not empty, without '+' or '#'; FILTER not empty)",
                 bad_share[i]);
        expect_error(text, msg);
    }
    /* FILTER itself is checked like any topic filter. */
    expect_error("[adapter a]\nformat = json\ntopic = $share/g/a/b#\n",
                 "t.conf:3: topic 'a/b#': '#' must be the whole last level");
}

static void test_errors_values(void **state)
{
    (void)state;
    expect_error("[mqtt]\nport = 0\n" AIR,
                 "t.conf:2: [mqtt] port: '0' is not an integer in 1..65535");
    expect_error("[mqtt]\n\nport = 70000\n" AIR,
                 "t.conf:3: [mqtt] port: '70000' is not an integer in 1..65535");
    expect_error("[mqtt]\nport = abc\n" AIR,
                 "t.conf:2: [mqtt] port: 'abc' is not an integer in 1..65535");
    expect_error("[mqtt]\nport = 18 83\n" AIR,
                 "t.conf:2: [mqtt] port: '18 83' is not an integer in 1..65535");
    expect_error("[mqtt]\nport =\n" AIR,
                 "t.conf:2: [mqtt] port: '' is not an integer in 1..65535");
    expect_error("[mqtt]\nqos = 3\n" AIR, "t.conf:2: [mqtt] qos: '3' is not an integer in 0..2");
    expect_error("[mqtt]\nkeepalive = 10 s\n" AIR,
                 "t.conf:2: [mqtt] keepalive: '10 s' is not a duration between 5s and 1h "
                 "(units: ms, s, m, h, d)");
    expect_error("[mqtt]\nkeepalive = 2s\n" AIR,
                 "t.conf:2: [mqtt] keepalive: '2s' is not a duration between 5s and 1h "
                 "(units: ms, s, m, h, d)");
    expect_error("[store]\nflush_interval = 1x\n" AIR,
                 "t.conf:2: [store] flush_interval: '1x' is not a duration between 50ms and 1m "
                 "(units: ms, s, m, h, d)");
    expect_error("[store]\nflush_interval = -5s\n" AIR,
                 "t.conf:2: [store] flush_interval: '-5s' is not a duration between 50ms and 1m "
                 "(units: ms, s, m, h, d)");
    expect_error("[mqtt]\nclean_session = maybe\n" AIR,
                 "t.conf:2: [mqtt] clean_session: 'maybe' is not true or false");
    expect_error("[log]\nlevel = verbose\n" AIR,
                 "t.conf:2: [log] level: 'verbose' is not one of error, warning, notice, info, "
                 "debug");
    expect_error("[ingest]\nmax_payload = 10XB\n" AIR,
                 "t.conf:2: [ingest] max_payload: '10XB' is not a size between 16 and 16777216 "
                 "bytes (units: KiB, MiB)");
    expect_error("[ingest]\nmax_payload = 17MiB\n" AIR,
                 "t.conf:2: [ingest] max_payload: '17MiB' is not a size between 16 and 16777216 "
                 "bytes (units: KiB, MiB)");
    expect_error("[ingest]\nmax_payload = 15\n" AIR,
                 "t.conf:2: [ingest] max_payload: '15' is not a size between 16 and 16777216 "
                 "bytes (units: KiB, MiB)");
    expect_error("[mqtt]\nreconnect_min = 10s\nreconnect_max = 5s\n" AIR,
                 "t.conf: [mqtt] reconnect_max must not be below reconnect_min");
}

static void test_errors_resolutions(void **state)
{
    (void)state;
    expect_error("[store]\nresolutions = 1m 90s\n" AIR,
                 "t.conf:2: [store] resolutions: '90s' must be a larger whole multiple of the "
                 "resolution before it");
    expect_error("[store]\n\nresolutions = 1h 1m\n" AIR,
                 "t.conf:3: [store] resolutions: '1m' must be a larger whole multiple of the "
                 "resolution before it");
    expect_error("[store]\nresolutions = 1m 1m\n" AIR,
                 "t.conf:2: [store] resolutions: '1m' must be a larger whole multiple of the "
                 "resolution before it");
    expect_error("[store]\nresolutions = 1500ms\n" AIR,
                 "t.conf:2: [store] resolutions: '1500ms' is not a whole number of seconds "
                 "between 1s and 31d");
    expect_error("[store]\nresolutions = 1m 32d\n" AIR,
                 "t.conf:2: [store] resolutions: '32d' is not a whole number of seconds "
                 "between 1s and 31d");
    expect_error("[store]\nresolutions = 1m soon\n" AIR,
                 "t.conf:2: [store] resolutions: 'soon' is not a whole number of seconds "
                 "between 1s and 31d");
    expect_error("[store]\nresolutions =\n" AIR,
                 "t.conf:2: [store] resolutions: at least one is required");
    expect_error("[store]\nresolutions = 1s 2s 4s 8s 16s 32s 64s 128s 256s\n" AIR,
                 "t.conf:2: [store] resolutions: at most 8");
}

static void test_errors_adapters(void **state)
{
    (void)state;
    expect_error("[adapter]\ntopic = a\nformat = json\n",
                 "t.conf:1: [adapter] needs a name: [adapter NAME]");
    expect_error("[log]\n[adapter air]\nformat = json\ndevice = $.id\nmetric.x = $.x\n",
                 "t.conf:2: [adapter air] has no 'topic'");
    expect_error("[adapter air]\ntopic = a/b\ndevice = $.id\nmetric.x = $.x\n",
                 "t.conf:1: [adapter air] has no 'format' (one of: json, senml, sparkplug, ngsi, influx, text, event)");
    expect_error("[adapter air]\ntopic = a/b\n\nformat = xml\n",
                 "t.conf:4: [adapter air] format: unknown format 'xml' (one of: json, senml, sparkplug, ngsi, influx, text, event)");
    expect_error("[adapter air]\ntopic = a/b+/c\nformat = json\n",
                 "t.conf:2: topic 'a/b+/c': '+' must stand alone in its level");
    expect_error("[adapter air]\nformat = json\ntopic = +a\n",
                 "t.conf:3: topic '+a': '+' must stand alone in its level");
    expect_error("[adapter air]\ntopic = a/#/c\nformat = json\n",
                 "t.conf:2: topic 'a/#/c': '#' must be the whole last level");
    expect_error("[adapter air]\ntopic = a/b#\nformat = json\n",
                 "t.conf:2: topic 'a/b#': '#' must be the whole last level");
    expect_error("[adapter air]\ntopic =\nformat = json\n",
                 "t.conf:2: topic: must be 1 to 1024 characters");
    expect_error(AIR "\n" AIR, "t.conf:7: [adapter air] defined twice (first on line 1)");
    expect_error("[adapter iocd]\ntopic = a\nformat = json\n",
                 "t.conf:1: adapter name 'iocd' is reserved");
    expect_error("[adapter a+b]\ntopic = a\nformat = json\n",
                 "t.conf:1: adapter name 'a+b' may only contain letters, digits, '_', '-' "
                 "and '.'");
    expect_error("[adapter "
                 "a1234567890123456789012345678901234567890123456789012345678901234]\n"
                 "topic = a\nformat = json\n",
                 "t.conf:1: adapter name must be 1 to 64 characters");
    expect_error("[adapter air]\ntopic = a\nformat = json\nsource = a:b\n",
                 "t.conf:4: source 'a:b' may only contain letters, digits, '_', '-' and '.'");
}

/* An error from the adapter's own keys names the section; its exact text
 * belongs to the adapter's tests. The config is freed (ASan checks). */
static void test_adapter_create_error(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    static const char prefix[] = "t.conf:3: [adapter water] ";
    assert_int_equal(iocd_config_load_string(&cfg, "t.conf",
                                             "[log]\nlevel = info\n"
                                             "[adapter water]\ntopic = w\nformat = json\n"
                                             "metric.x = $.x\n",
                                             &err),
                     -1);
    assert_memory_equal(err.msg, prefix, sizeof(prefix) - 1);
    assert_null(cfg.adapters);

    /* A later adapter's failure frees the earlier adapters' state too. */
    assert_int_equal(iocd_config_load_string(&cfg, "t.conf",
                                             AIR "[adapter water]\ntopic = w\nformat = json\n"
                                                 "metric.x = $.x\n",
                                             &err),
                     -1);
    static const char prefix2[] = "t.conf:6: [adapter water] ";
    assert_memory_equal(err.msg, prefix2, sizeof(prefix2) - 1);
    assert_null(cfg.adapters);
}

static void test_value_parsers(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(iocd_parse_size("512", &v), 0);
    assert_int_equal(v, 512);
    assert_int_equal(iocd_parse_size("5B", &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(iocd_parse_size("64KiB", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(iocd_parse_size("3K", &v), 0);
    assert_int_equal(v, 3072);
    assert_int_equal(iocd_parse_size("2MiB", &v), 0);
    assert_int_equal(v, 2097152);
    assert_int_equal(iocd_parse_size("1G", &v), 0);
    assert_int_equal(v, INT64_C(1073741824));
    v = 77;
    assert_int_equal(iocd_parse_size("", &v), -1);
    assert_int_equal(iocd_parse_size("-1", &v), -1);
    assert_int_equal(iocd_parse_size("1.5MiB", &v), -1);
    assert_int_equal(iocd_parse_size("KiB", &v), -1);
    assert_int_equal(iocd_parse_size("1kib", &v), -1);
    assert_int_equal(iocd_parse_size("9999999999GiB", &v), -1);
    assert_int_equal(iocd_parse_size("99999999999999999999", &v), -1);
    assert_int_equal(v, 77);

    bool b = false;
    assert_int_equal(iocd_parse_bool("TRUE", &b), 0);
    assert_true(b);
    assert_int_equal(iocd_parse_bool("no", &b), 0);
    assert_false(b);
    assert_int_equal(iocd_parse_bool("On", &b), 0);
    assert_true(b);
    assert_int_equal(iocd_parse_bool("0", &b), 0);
    assert_false(b);
    assert_int_equal(iocd_parse_bool("1", &b), 0);
    assert_true(b);
    assert_int_equal(iocd_parse_bool("", &b), -1);
    assert_int_equal(iocd_parse_bool("y", &b), -1);
    assert_int_equal(iocd_parse_bool("truee", &b), -1);
    assert_true(b);

    v = 0;
    assert_int_equal(iocd_parse_int("-5", -10, 10, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(iocd_parse_int("10", -10, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(iocd_parse_int("11", -10, 10, &v), -1);
    assert_int_equal(iocd_parse_int("-11", -10, 10, &v), -1);
    assert_int_equal(iocd_parse_int("", -10, 10, &v), -1);
    assert_int_equal(iocd_parse_int("5x", -10, 10, &v), -1);
    assert_int_equal(iocd_parse_int("99999999999999999999", 0, INT64_MAX, &v), -1);
    assert_int_equal(v, 10);
}

/* ---- files ---- */

static void test_load_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/iocd-test-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/iocd.conf", dir);

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[mqtt]\nport = 1884\n" AIR, f);
    assert_int_equal(fclose(f), 0);
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_config_load(&cfg, path, &err), 0);
    assert_string_equal(cfg.path, path);
    assert_int_equal(cfg.mqtt.port, 1884);
    assert_int_equal(cfg.n_adapters, 1);
    assert_int_equal(cfg.adapters[0].line, 3);
    iocd_config_free(&cfg);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[mqtt]\nport = 1884\nqos = 9\n" AIR, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(iocd_config_load(&cfg, path, &err), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: [mqtt] qos: '9' is not an integer in 0..2", path);
    assert_string_equal(err.msg, want);
    assert_null(cfg.path);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(iocd_config_load(&cfg, path, &err), -1);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err.msg, want);
    assert_null(cfg.path);
    assert_int_equal(rmdir(dir), 0);
}

/* Reads a whole text file into a malloc'd string, or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0)
            break;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* The example shipped in config/iocd.conf must load, describe the same
 * feeds as the embedded defaults, and, with every commented-out
 * "#key = value" line enabled, give exactly the defaults it documents. Its
 * path is found from this source file's path as the compiler saw it (meson
 * passes it relative to the build directory, where `meson test` runs
 * tests); when this source file cannot be found that way the test is
 * skipped. */
static void test_shipped_example(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("STATE_DIRECTORY"), 0);
    const char *self = __FILE__;
    const char *slash = strrchr(self, '/');
    struct stat st;
    if (!slash || stat(self, &st) != 0) {
        print_message("cannot locate the source tree from %s; skipped\n", self);
        skip();
    }
    char path[4096];
    snprintf(path, sizeof(path), "%.*s/../../config/iocd.conf", (int)(slash - self), self);
    if (stat(path, &st) != 0) {
        print_message("%s does not exist; skipped\n", path);
        skip();
    }

    struct iocd_config cfg, def;
    struct iocd_error err = {{0}};
    if (iocd_config_load(&cfg, path, &err) != 0)
        fail_msg("shipped example does not load: %s", err.msg);
    assert_string_equal(cfg.path, path);
    assert_core_defaults(&cfg);
    assert_string_equal(cfg.store.path, "iocd.db");
    assert_int_equal(iocd_config_load(&def, NULL, &err), 0);
    assert_int_equal(cfg.n_adapters, def.n_adapters);
    for (int i = 0; i < def.n_adapters; i++) {
        assert_string_equal(cfg.adapters[i].name, def.adapters[i].name);
        assert_string_equal(cfg.adapters[i].topic, def.adapters[i].topic);
        assert_string_equal(cfg.adapters[i].source, def.adapters[i].source);
        assert_ptr_equal(cfg.adapters[i].ops, def.adapters[i].ops);
    }
    assert_int_equal(cfg.n_alerts, 6);
    assert_int_equal(cfg.n_alerts, def.n_alerts);
    for (int i = 0; i < def.n_alerts; i++) {
        const struct iocd_alert_rule *a = &cfg.alerts[i], *b = &def.alerts[i];
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->match, b->match);
        assert_string_equal(a->text, b->text);
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->stat, b->stat);
        assert_int_equal(a->window_ms, b->window_ms);
        assert_int_equal(a->severity, b->severity);
        assert_true(a->level == b->level && a->clear == b->clear && a->above == b->above);
        assert_int_equal(a->n_bands, b->n_bands);
        assert_true(a->multiple == b->multiple && a->hysteresis == b->hysteresis);
    }
    /* The Pleiku roll-ups (docs/groups.md). */
    assert_int_equal(cfg.n_groups, 4);
    assert_int_equal(cfg.n_groups, def.n_groups);
    for (int i = 0; i < def.n_groups; i++) {
        assert_string_equal(cfg.groups[i].name, def.groups[i].name);
        assert_string_equal(cfg.groups[i].series, def.groups[i].series);
        assert_int_equal(cfg.groups[i].kind, def.groups[i].kind);
    }
    /* The lighting cabinets in fault (docs/states.md). */
    assert_string_equal(cfg.groups[3].state, "fault");
    assert_int_equal(cfg.groups[3].stat, IOCD_GROUP_COUNT);
    assert_int_equal(cfg.n_state_rules, def.n_state_rules);
    assert_int_equal(cfg.n_state_rules, 1);
    assert_int_equal(cfg.state_carry_ms, 86400000);
    iocd_config_free(&def);
    iocd_config_free(&cfg);

    /* Enable every "#key = value" line: the documented defaults must be
     * the real ones. */
    char *text = read_text(path);
    assert_non_null(text);
    int enabled = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char *eq = memchr(line, '=', len);
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && eq) {
            line[0] = ' ';
            enabled++;
        }
        line += len + (nl ? 1 : 0);
    }
    assert_true(enabled >= 19); /* one per core key */
    if (iocd_config_load_string(&cfg, "iocd.conf", text, &err) != 0)
        fail_msg("example with its defaults enabled does not load: %s", err.msg);
    free(text);
    assert_core_defaults(&cfg);
    assert_string_equal(cfg.store.path, "iocd.db");
    iocd_config_free(&cfg);
}

/* [store] timezone and retention, [ingest] dedup_horizon, and the feed's
 * own resolutions and max_series. */
static void test_calendar_retention_feed_keys(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    const char *feed = "[adapter air]\ntopic = a/+\nformat = json\ndevice = $.id\nmetric.x = $.x\n";
    char text[1024];
    snprintf(text, sizeof(text),
             "[store]\ntimezone = -05:30\nretention = 1m:2d, 1d:forever\n"
             "[ingest]\ndedup_horizon = 0\n%sresolutions = 10s 1m\nmax_series = 7\n", feed);
    if (iocd_config_load_string(&cfg, "t.conf", text, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(cfg.store.tz_offset_ms, -(5 * 3600000 + 30 * 60000));
    assert_int_equal(iocd_config_retention_ms(&cfg, 60000), 2 * 86400000LL);
    assert_int_equal(iocd_config_retention_ms(&cfg, 86400000), 0);
    assert_int_equal(iocd_config_retention_ms(&cfg, 3600000), 730 * 86400000LL); /* default */
    assert_int_equal(iocd_config_retention_ms(&cfg, 10000), 14 * 86400000LL);    /* default */
    assert_int_equal(cfg.ingest.dedup_horizon, 0);
    assert_int_equal(cfg.adapters[0].resolutions.n, 2);
    assert_int_equal(cfg.adapters[0].resolutions.ms[0], 10000);
    assert_int_equal(cfg.adapters[0].resolutions.ms[1], 60000);
    assert_int_equal(cfg.adapters[0].max_series, 7);
    iocd_config_free(&cfg);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"[store]\ntimezone = Asia/Ho_Chi_Minh\n",
         "t.conf:2: [store] timezone: 'Asia/Ho_Chi_Minh' is not UTC or an offset like +07:00"},
        {"[store]\ntimezone = +15:00\n",
         "t.conf:2: [store] timezone: '+15:00' is not UTC or an offset like +07:00"},
        {"[store]\nretention = 1m\n",
         "t.conf:2: [store] retention: '1m' is not RESOLUTION:DURATION (or RESOLUTION:forever)"},
        {"[store]\nretention = 1h:30m\n",
         "t.conf:2: [store] retention: 1h windows kept less than one window"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "%s%s", bad[i].text, feed);
        assert_int_equal(iocd_config_load_string(&cfg, "t.conf", text, &err), -1);
        assert_string_equal(err.msg, bad[i].msg);
    }
    snprintf(text, sizeof(text), "%sresolutions = 1m 90s\n", feed);
    assert_int_equal(iocd_config_load_string(&cfg, "t.conf", text, &err), -1);
    assert_string_equal(err.msg, "t.conf:6: [adapter air] resolutions: '90s' must be a larger "
                                 "whole multiple of the resolution before it");
}

/* [alert NAME], [live], [devices] and [http]. */
static void test_alerts_live_http(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err;
    const char *text = "[live]\nprefix = city/out\nwindows = 1m 1h\njson = false\n"
                       "[devices]\nstale_multiple = 2.5\noffline_multiple = 8\n"
                       "[http]\nlisten = 0.0.0.0:9000\ntoken = s3cret\ntls_cert = /etc/iocd/tls/cert.pem\n" AIR
                       "[alert pm]\ntype = threshold\nmatch = air/+/pm25\nstat = mean\n"
                       "window = 1h\nabove = 55\nclear = 50\nseverity = major\n"
                       "[alert aqi]\ntype = band\nmatch = air/+/vn_aqi\nbands = 50 100,150\n"
                       "hysteresis = 5\n"
                       "[alert lvl]\ntype = threshold\nmatch = water/+/level\nbelow = 10\n"
                       "[alert silent]\ntype = stale\nmatch = +/+\nmultiple = 4\n";
    assert_int_equal(iocd_config_load_string(&cfg, "t.conf", text, &err), 0);
    assert_string_equal(cfg.live.prefix, "city/out");
    assert_int_equal(cfg.live.windows.n, 2);
    assert_int_equal(cfg.live.windows.ms[1], 3600000);
    assert_false(cfg.live.json);
    assert_true(cfg.live.protobuf);
    assert_true(cfg.devices.stale_multiple == 2.5);
    assert_string_equal(cfg.http.listen, "0.0.0.0:9000");
    assert_string_equal(cfg.http.tls_cert, "/etc/iocd/tls/cert.pem");
    assert_int_equal(cfg.n_alerts, 4);
    const struct iocd_alert_rule *r = &cfg.alerts[0];
    assert_string_equal(r->name, "pm");
    assert_int_equal(r->type, IOCD_ALERT_THRESHOLD);
    assert_int_equal(r->stat, IOCD_STAT_MEAN);
    assert_int_equal(r->window_ms, 3600000);
    assert_true(r->above && r->level == 55 && r->clear == 50);
    assert_int_equal(r->severity, 4);
    r = &cfg.alerts[1];
    assert_int_equal(r->type, IOCD_ALERT_BAND);
    assert_int_equal(r->stat, IOCD_STAT_LAST);
    assert_int_equal(r->n_bands, 3);
    assert_true(r->bands[0] == 50 && r->bands[2] == 150 && r->hysteresis == 5);
    assert_int_equal(r->severity, 2);
    r = &cfg.alerts[2];
    assert_true(!r->above && r->level == 10 && r->clear == 10);
    r = &cfg.alerts[3];
    assert_int_equal(r->type, IOCD_ALERT_STALE);
    assert_true(r->multiple == 4);
    iocd_config_free(&cfg);

    expect_error("[http]\nlisten = 10.0.0.5:8080\n" AIR,
                 "t.conf:2: [http] listen 10.0.0.5:8080 is not a loopback address: set [http] "
                 "token or users_file (clients then send Authorization: Bearer TOKEN)");
    expect_error("[http]\nlisten = 10.0.0.5:8080\ntoken = t\n" AIR,
                 "t.conf:2: [http] listen 10.0.0.5:8080 is not a loopback address: HTTPS is "
                 "required (set [http] tls_cert and tls_key), or set [http] behind_proxy = true "
                 "when a reverse proxy in front ends TLS");
    expect_error("[http]\nlisten = 8080\n" AIR,
                 "t.conf:2: [http] listen: '8080' is not HOST:PORT (e.g. 127.0.0.1:8080, "
                 "[::1]:8080)");
    expect_error("[live]\nprefix = city/+\n" AIR,
                 "t.conf: [live] prefix 'city/+' must be a plain topic without wildcards or a "
                 "trailing '/' (at most 200 characters)");
    expect_error("[live]\nprefix = city/air\n" AIR,
                 "t.conf: [live] prefix 'city/air' would be consumed by [adapter air] (topic "
                 "city/air/+/data): iocd never takes its own output");
    expect_error("[devices]\nstale_multiple = 5\noffline_multiple = 4\n" AIR,
                 "t.conf: [devices] offline_multiple must not be below stale_multiple");
    expect_error("[devices]\nstale_multiple = x\n" AIR,
                 "t.conf:2: [devices] stale_multiple: 'x' is not a number between 1 and 1000");
    expect_error(AIR "[alert]\ntype = stale\n", "t.conf:6: [alert] needs a name: [alert NAME]");
    expect_error(AIR "[alert a]\nmatch = x\n",
                 "t.conf:6: [alert a] has no 'type' (threshold, band, stale or event)");
    expect_error(AIR "[alert a]\ntype = spike\nmatch = x\n",
                 "t.conf:7: [alert a] type: 'spike' is not threshold, band, stale or event");
    expect_error(AIR "[alert a]\ntype = stale\n",
                 "t.conf:6: [alert a] has no 'match' (a series pattern)");
    expect_error(AIR "[alert a]\ntype = stale\nmatch = a/#/b\n",
                 "t.conf:8: topic 'a/#/b': '#' must be the whole last level");
    expect_error(AIR "[alert a]\ntype = stale\nmatch = a\nabove = 3\n",
                 "t.conf:9: [alert a] above: not a key of a stale rule");
    expect_error(AIR "[alert a]\ntype = threshold\nmatch = a\n",
                 "t.conf:6: [alert a] a threshold rule needs exactly one of 'above' and 'below'");
    expect_error(AIR "[alert a]\ntype = threshold\nmatch = a\nabove = 5\nbelow = 3\n",
                 "t.conf:9: [alert a] a threshold rule needs exactly one of 'above' and 'below'");
    expect_error(AIR "[alert a]\ntype = threshold\nmatch = a\nabove = 5\nclear = 6\n",
                 "t.conf:10: [alert a] clear: 6 must be at or below the level 5");
    expect_error(AIR "[alert a]\ntype = threshold\nmatch = a\nabove = nan\n",
                 "t.conf:9: [alert a] above: 'nan' is not a number");
    expect_error(AIR "[alert a]\ntype = threshold\nmatch = a\nabove = 5\nstat = max\n",
                 "t.conf:10: [alert a] stat: 'max' needs a 'window'");
    expect_error(AIR "[alert a]\ntype = band\nmatch = a\nbands = 50 40\n",
                 "t.conf:9: [alert a] bands: '40' is not a number above the edge before it");
    expect_error(AIR "[alert a]\ntype = band\nmatch = a\n",
                 "t.conf:6: [alert a] a band rule needs 'bands'");
    expect_error(AIR "[alert a]\ntype = stale\nmatch = a\nseverity = loud\n",
                 "t.conf:9: [alert a] severity: 'loud' is not info, warning, minor, major or "
                 "critical");
    expect_error(AIR "[alert a]\ntype = stale\nmatch = a\n[alert a]\ntype = stale\nmatch = b\n",
                 "t.conf:9: [alert a] defined twice (first on line 6)");
    expect_error(AIR "[alert a]\ntype = stale\nmatch = a\ncolour = red\n",
                 "t.conf:9: unknown key 'colour' in [alert a]");
}

/* [states], the adapters' `states` and [group] state (docs/states.md):
 * refused with file, line and reason. */
static void test_errors_states(void **unused)
{
    (void)unused;
    expect_error(AIR "[states]\ncarry = 0s\n",
                 "t.conf:7: [states] carry: '0s' is not a duration from 1s to 7d");
    expect_error(AIR "[states]\nmetric.status = on, on\n",
                 "t.conf:7: [states] metric.status = on, on: a state is listed twice");
    expect_error(AIR "[states]\nmetric.status = on, bad state\n",
                 "t.conf:7: [states] metric.status = on, bad state: each state is 1 to 32 "
                 "letters, digits, '_', '-' or '.', comma-separated");
    expect_error(AIR "[states]\nmetric.status = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n",
                 "t.conf:7: [states] metric.status = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q: at "
                 "most 16 states");
    expect_error(AIR "[states]\nmetric.a+b = on\n", "t.conf:7: invalid key 'metric.a+b'");
    expect_error(AIR "[states]\nwhatever = 1\n", "t.conf:7: unknown key 'whatever' in [states]");
    expect_error(AIR "[states]\n[states]\n", "t.conf:7: [states] given twice (first on line 6)");
    expect_error(AIR "states = on off\n",
                 "t.conf:6: [adapter air] states: expects * or up to 64 metric names (letters, "
                 "digits, '_', '.', '-')");
    expect_error(AIR "[group g]\nkind = gauge\nmembers = air/+/x\nseries = air/all/x\n"
                     "stat = sum\nstate = fault\n",
                 "t.conf:11: [group g] state: counts members in a state, so stat is count (or "
                 "left out), not sum");
    expect_error(AIR "[group g]\nkind = gauge\nmembers = air/+/x\nseries = air/all/x\n"
                     "state = bad state\n",
                 "t.conf:10: [group g] state: 'bad state' is not 1 to 32 letters, digits, '_', "
                 "'-' or '.'");
    expect_error(AIR "[group g]\nkind = merged\nmembers = air/+/x\nseries = air/all/x\n"
                     "state = fault\n",
                 "t.conf:10: [group g] state: only gauge groups have it (a merged group counts "
                 "every member sample)");
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_config_load_string(&cfg, "t.conf",
                                             AIR "states = x\n[states]\ncarry = 2h\n"
                                                 "metric.x = on , off\n",
                                             &err),
                     0);
    assert_int_equal(cfg.state_carry_ms, 7200000);
    assert_int_equal(cfg.n_state_rules, 1);
    assert_true(iocd_config_state_allowed(&cfg, "x", "off"));
    assert_false(iocd_config_state_allowed(&cfg, "x", "fault"));
    assert_true(iocd_config_state_allowed(&cfg, "y", "fault"));
    iocd_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test_setup_teardown(test_embedded_defaults, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_defaults_in_file, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_state_directory, setup_env, teardown_env),
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_errors_keys_and_sections),
        cmocka_unit_test(test_errors_values),
        cmocka_unit_test(test_errors_states),
        cmocka_unit_test(test_mqtt_v5_and_shared),
        cmocka_unit_test(test_errors_resolutions),
        cmocka_unit_test(test_errors_adapters),
        cmocka_unit_test(test_adapter_create_error),
        cmocka_unit_test(test_value_parsers),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_calendar_retention_feed_keys),
        cmocka_unit_test(test_alerts_live_http),
        cmocka_unit_test_setup_teardown(test_shipped_example, setup_env, teardown_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
