/* bench/count.c — the floor of bench/run.py: a libmosquitto subscriber that
 * only counts.
 *
 * Owns nothing but its count: it subscribes to one topic filter at the QoS
 * given, counts the messages it receives (payloads are not looked at), and
 * exits after N of them or after the time limit. The CPU a message costs
 * this client is what receiving it from the broker costs at the least; iocd
 * is compared with it.
 *
 * With --id the session is persistent (clean session off), so the broker
 * queues messages while the client is away; --register subscribes, waits
 * for the SUBACK and disconnects (bench/run.py's backlog mode).
 *
 * Prints "subscribed" once the SUBACK arrived, then at the end
 * count=C elapsed_s=S (from the SUBACK, or from the connect when the
 * session was already subscribed, to the N-th message). Exits 0 when all N
 * arrived in time, 1 otherwise, 2 on bad usage. Never listens.
 */
#define _POSIX_C_SOURCE 200809L
#include <mosquitto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct options {
    const char *host;
    int port;
    const char *topic;
    const char *id; /* NULL: random id, clean session */
    long count;
    int qos;
    double timeout_s;
    bool register_only;
};

struct counter {
    long received;
    long wanted;
    bool connected;
    bool subscribed;
    int connack_rc; /* -1 until a CONNACK arrives */
};

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    struct counter *c = ud;
    c->connack_rc = rc;
    c->connected = rc == 0;
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
    (void)m;
    (void)mid;
    (void)n;
    (void)granted;
    struct counter *c = ud;
    c->subscribed = true;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void)m;
    (void)msg;
    struct counter *c = ud;
    c->received++;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-count [--host H] [--port P] [--topic FILTER] [--qos 0|1]\n"
                    "                   [--count N] [--timeout SECONDS] [--id ID [--register]]\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.host = "127.0.0.1", .port = 1883, .topic = "pleiku/env/aq/+",
                          .count = 300000, .qos = 1, .timeout_s = 300};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--register")) {
            o->register_only = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v)
            return -1;
        if (!strcmp(k, "--host"))
            o->host = v;
        else if (!strcmp(k, "--port"))
            o->port = atoi(v);
        else if (!strcmp(k, "--topic"))
            o->topic = v;
        else if (!strcmp(k, "--id"))
            o->id = v;
        else if (!strcmp(k, "--count"))
            o->count = atol(v);
        else if (!strcmp(k, "--qos"))
            o->qos = atoi(v);
        else if (!strcmp(k, "--timeout"))
            o->timeout_s = atof(v);
        else
            return -1;
    }
    if (o->count < 1 || o->qos < 0 || o->qos > 2 || o->port < 1 || o->port > 65535 ||
        o->timeout_s <= 0 || (o->register_only && !o->id))
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    mosquitto_lib_init();
    struct counter c = {.wanted = o.count, .connack_rc = -1};
    struct mosquitto *m = mosquitto_new(o.id, o.id == NULL, &c);
    if (!m) {
        fprintf(stderr, "bench-count: mosquitto_new failed\n");
        return 1;
    }
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_subscribe_callback_set(m, on_subscribe);
    mosquitto_message_callback_set(m, on_message);
    int rc = mosquitto_connect(m, o.host, o.port, 60);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench-count: connect to %s:%d: %s\n", o.host, o.port,
                mosquitto_strerror(rc));
        return 1;
    }
    double start = monotonic_s(), deadline = start + o.timeout_s;
    while (c.connack_rc < 0 && monotonic_s() < deadline)
        if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
            break;
    if (!c.connected) {
        fprintf(stderr, "bench-count: no CONNACK (rc %d)\n", c.connack_rc);
        return 1;
    }
    rc = mosquitto_subscribe(m, NULL, o.topic, o.qos);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench-count: subscribe: %s\n", mosquitto_strerror(rc));
        return 1;
    }
    /* A persistent session may already be draining a backlog: count from
     * the connect; a fresh one starts counting when it is subscribed. */
    bool announced = false;
    while (c.received < c.wanted && monotonic_s() < deadline) {
        if (c.subscribed && !announced) {
            announced = true;
            if (!o.id)
                start = monotonic_s();
            printf("subscribed\n");
            fflush(stdout);
            if (o.register_only)
                break;
        }
        rc = mosquitto_loop(m, 100, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "bench-count: %s\n", mosquitto_strerror(rc));
            break;
        }
    }
    double elapsed = monotonic_s() - start;
    if (o.register_only) {
        mosquitto_disconnect(m);
        mosquitto_loop(m, 100, 1);
    }
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    if (o.register_only)
        return announced ? 0 : 1;
    printf("count=%ld elapsed_s=%.6f\n", c.received, elapsed);
    return c.received >= c.wanted ? 0 : 1;
}
