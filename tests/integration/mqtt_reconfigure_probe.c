/* tests/integration/mqtt_reconfigure_probe.c — the MQTT session alone
 * (daemon/mqtt/session.c, TLS included) on a libuv loop, for
 * test_mqtt_tls.py to drive iocd_mqtt_reconfigure against a real broker.
 *
 * Owns: two configurations (the one in use and the one being loaded).
 * Usage: mqtt_reconfigure_probe CONFIG. It starts the session and prints
 * one line per event on stdout:
 *   subscribed CONNECTS          every filter acknowledged (after a connect)
 *   message TOPIC PAYLOAD        a message arrived
 *   reload 0 CONNECTS            iocd_mqtt_reconfigure took the file
 *   reload -1 ERROR              the file (or its TLS material) was refused
 * and reads commands on stdin, one a line:
 *   reload PATH                  load PATH and hand it to iocd_mqtt_reconfigure
 *   status                       prints "status STATE ATTEMPTS LAST_ERROR"
 *   quit                         stop cleanly and exit 0. */
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "daemon/base/log.h"
#include "daemon/config/config.h"
#include "daemon/mqtt/session.h"

static struct iocd_config cfgs[2];
static int current;
static struct iocd_mqtt mqtt;
static uv_pipe_t input;
static char line[8192];
static size_t used;
static uv_loop_t *loop;

static void on_message(void *ud, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)ud;
    (void)props;
    printf("message %s %.*s\n", msg->topic, msg->payloadlen, (const char *)msg->payload);
    fflush(stdout);
}

static void on_subscribed(void *ud)
{
    (void)ud;
    printf("subscribed %llu\n", (unsigned long long)mqtt.connects);
    fflush(stdout);
}

static void on_stopped(void *ud)
{
    (void)ud;
    iocd_mqtt_close(&mqtt);
    uv_close((uv_handle_t *)&input, NULL);
}

static void command(const char *cmd)
{
    if (strncmp(cmd, "reload ", 7) == 0) {
        struct iocd_error err;
        int next = 1 - current;
        if (iocd_config_load(&cfgs[next], cmd + 7, &err) ||
            iocd_mqtt_reconfigure(&mqtt, &cfgs[next], &err)) {
            if (cfgs[next].path || cfgs[next].n_adapters)
                iocd_config_free(&cfgs[next]);
            printf("reload -1 %s\n", err.msg);
        } else {
            iocd_config_free(&cfgs[current]);
            current = next;
            printf("reload 0 %llu\n", (unsigned long long)mqtt.connects);
        }
    } else if (strcmp(cmd, "status") == 0) {
        printf("status %s %d %s\n", iocd_mqtt_state_name(mqtt.state), mqtt.attempts,
               mqtt.last_error);
    } else if (strcmp(cmd, "quit") == 0) {
        uv_read_stop((uv_stream_t *)&input);
        iocd_mqtt_stop(&mqtt);
    }
    fflush(stdout);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(line + used, (unsigned)(sizeof(line) - used - 1));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0) {
        command("quit");
        return;
    }
    used += (size_t)n;
    line[used] = '\0';
    char *nl;
    while ((nl = strchr(line, '\n'))) {
        *nl = '\0';
        command(line);
        used -= (size_t)(nl + 1 - line);
        memmove(line, nl + 1, used + 1);
    }
    if (used >= sizeof(line) - 1)
        used = 0;
    (void)s;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mqtt_reconfigure_probe CONFIG\n");
        return 2;
    }
    struct iocd_error err;
    mosquitto_lib_init();
    if (iocd_config_load(&cfgs[0], argv[1], &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    iocd_log_init(cfgs[0].log.level);
    loop = uv_default_loop();
    struct iocd_mqtt_callbacks cb = {.message = on_message, .subscribed = on_subscribed,
                                     .stopped = on_stopped};
    if (iocd_mqtt_init(&mqtt, loop, &cfgs[0], &cb, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    uv_pipe_init(loop, &input, 0);
    uv_pipe_open(&input, 0);
    uv_read_start((uv_stream_t *)&input, on_alloc, on_read);
    iocd_mqtt_start(&mqtt);
    uv_run(loop, UV_RUN_DEFAULT);
    iocd_mqtt_free(&mqtt);
    iocd_config_free(&cfgs[current]);
    uv_loop_close(loop);
    mosquitto_lib_cleanup();
    return 0;
}
