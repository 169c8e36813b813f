/* tests/unit/test_config_core.c — the core-key loader (daemon/config/core.h)
 * on its own: this test links only iocd_config_core and iocd_base (no
 * adapters, no libmosquitto), loads the shipped config/iocd.conf and a
 * text with adapter and alert sections it must skip, and reports core
 * errors with the same file, line and reason as the full loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config/core.h"

static char *write_temp(const char *text)
{
    char tmpl[] = "/tmp/iocd-core-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return strdup(tmpl);
}

static void test_shipped_file(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_config_core_load(&cfg, IOCD_SOURCE_ROOT "/config/iocd.conf", &err), 0);
    assert_string_equal(cfg.mqtt.host, "127.0.0.1");
    assert_int_equal(cfg.mqtt.port, 1883);
    assert_int_equal(cfg.store.tz_offset_ms, 7 * 3600000);
    assert_int_equal(cfg.store.resolutions.n, 3);
    assert_int_equal(cfg.store.resolutions.ms[2], 86400000);
    assert_string_equal(cfg.aqi.adapter, "air");
    assert_string_equal(cfg.http.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.live.prefix, "ioc/v1");
    assert_int_equal(cfg.n_adapters, 0);
    assert_int_equal(cfg.n_alerts, 0);
    assert_null(cfg.adapters);
    iocd_config_core_free(&cfg);
    assert_null(cfg.mqtt.host);
    assert_null(cfg.path);
}

static void test_embedded_defaults(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_config_core_load(&cfg, NULL, &err), 0);
    assert_null(cfg.path);
    assert_int_equal(cfg.store.tz_offset_ms, 7 * 3600000);
    assert_string_equal(cfg.aqi.adapter, "air");
    assert_int_equal(cfg.ingest.max_payload, 256 * 1024);
    iocd_config_core_free(&cfg);
}

static void test_skips_adapters_and_alerts(void **state)
{
    (void)state;
    char *path = write_temp("[store]\npath = /tmp/x.db\n"
                            "[adapter air]\ntopic = a/+\nformat = nosuchformat\nwhatever = 1\n"
                            "[alert a]\ntype = nonsense\n"
                            "[http]\nlisten = 127.0.0.1:9\n");
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_config_core_load(&cfg, path, &err), 0);
    assert_string_equal(cfg.path, path);
    assert_string_equal(cfg.store.path, "/tmp/x.db");
    assert_string_equal(cfg.http.listen, "127.0.0.1:9");
    iocd_config_core_free(&cfg);
    unlink(path);
    free(path);
}

static void test_core_errors(void **state)
{
    (void)state;
    char *path = write_temp("[mqtt]\nport = 70000\n");
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    char want[600];
    assert_int_equal(iocd_config_core_load(&cfg, path, &err), -1);
    snprintf(want, sizeof(want), "%s:2: [mqtt] port: '70000' is not an integer in 1..65535", path);
    assert_string_equal(err.msg, want);
    unlink(path);
    free(path);

    path = write_temp("[mqtt]\nhots = x\n");
    assert_int_equal(iocd_config_core_load(&cfg, path, &err), -1);
    snprintf(want, sizeof(want), "%s:2: unknown key 'hots' in [mqtt]", path);
    assert_string_equal(err.msg, want);
    unlink(path);
    free(path);

    path = write_temp("[http]\nlisten = 0.0.0.0:8080\n");
    assert_int_equal(iocd_config_core_load(&cfg, path, &err), -1);
    snprintf(want, sizeof(want),
             "%s:2: [http] listen 0.0.0.0:8080 is not a loopback address: set [http] token "
             "or users_file (clients then send Authorization: Bearer TOKEN)",
             path);
    assert_string_equal(err.msg, want);
    unlink(path);
    free(path);
}

/* [http]: HTTPS off loopback unless behind_proxy; tls_key needs tls_cert;
 * tls_min_version and allowed_hosts values. */
static void test_http_tls_rules(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg; /* msg NULL: loads */
    } cases[] = {
        {"[http]\ntoken = t\nlisten = 0.0.0.0:8443\n",
         ":3: [http] listen 0.0.0.0:8443 is not a loopback address: HTTPS is required (set "
         "[http] tls_cert and tls_key), or set [http] behind_proxy = true when a reverse proxy in "
         "front ends TLS"},
        {"[http]\nlisten = 10.0.0.5:8443\ntoken = t\ntls_cert = /etc/iocd/c.pem\n", NULL},
        {"[http]\nlisten = [::]:8080\ntoken = t\nbehind_proxy = true\n", NULL},
        {"[http]\nlisten = 127.0.0.1:8080\n", NULL},
        {"[http]\n\ntls_key = /k.pem\n", ":3: [http] tls_key is set without tls_cert"},
        {"[http]\ntls_min_version = TLSv1.1\n",
         ":2: [http] tls_min_version: 'TLSv1.1' is not TLSv1.2 or TLSv1.3"},
        {"[http]\nallowed_hosts = ok.example bad/host\n",
         ":2: [http] allowed_hosts: 'bad/host' is not a host name or address, optionally with "
         ":PORT"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = write_temp(cases[i].text);
        struct iocd_config cfg;
        struct iocd_error err = {{0}};
        int rc = iocd_config_core_load(&cfg, path, &err);
        if (cases[i].msg) {
            char want[600];
            snprintf(want, sizeof(want), "%s%s", path, cases[i].msg);
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg, want);
        } else {
            if (rc)
                fail_msg("%s: %s", cases[i].text, err.msg);
            iocd_config_core_free(&cfg);
        }
        unlink(path);
        free(path);
    }
    char *path = write_temp("[http]\nlisten = 127.0.0.1:8443\ntls_cert = /c.pem\n"
                            "tls_key = /k.pem\ntls_min_version = TLSv1.3\n"
                            "allowed_hosts = iocd.city.example, 10.0.0.5:8443\n");
    struct iocd_config cfg;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_config_core_load(&cfg, path, &err), 0);
    assert_string_equal(cfg.http.tls_cert, "/c.pem");
    assert_int_equal(cfg.http.tls_cert_line, 3);
    assert_string_equal(cfg.http.tls_key, "/k.pem");
    assert_int_equal(cfg.http.tls_key_line, 4);
    assert_int_equal(cfg.http.tls_min_version, 13);
    assert_int_equal(cfg.http.listen_line, 2);
    assert_false(cfg.http.behind_proxy);
    assert_string_equal(cfg.http.allowed_hosts, "iocd.city.example, 10.0.0.5:8443");
    iocd_config_core_free(&cfg);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_embedded_defaults),
        cmocka_unit_test(test_skips_adapters_and_alerts),
        cmocka_unit_test(test_core_errors),
        cmocka_unit_test(test_http_tls_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
