/* bench/pub.c — the load of bench/run.py: N air-quality messages published
 * as fast as the broker takes them.
 *
 * Owns only the publishing side of the benchmark. 10,000 sensors (by
 * default) each report in turn, one round every PERIOD seconds of payload
 * time; message i comes from sensor i % sensors, topic
 * pleiku/env/aq/aq-NNNNN, a 13-field JSON object of about 200 bytes (id,
 * ISO-8601 time, ten numbers, firmware). The payload times end a minute
 * before now, so no two messages of one sensor share a time and none is in
 * the future. Payloads are built before the clock starts; the timed part is
 * the publishing alone.
 *
 * QoS 0: the next message is handed to libmosquitto only once the previous
 * ones left the socket (the broker's TCP window is the only limit). QoS 1:
 * at most --inflight messages wait for their PUBACK.
 *
 * Prints one line: sent=N elapsed_s=S rate=R start_epoch=E (the wall time
 * the first message was sent). Exits 0 when all N were sent (and, at QoS 1,
 * acknowledged) within the time limit, 1 otherwise, 2 on bad usage.
 * Never reads anything outside its arguments; never listens.
 */
#define _POSIX_C_SOURCE 200809L
#include <mosquitto.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct options {
    const char *host;
    int port;
    long count;
    int qos;
    int inflight;
    int sensors;
    int period_s;
    double timeout_s;
};

struct publisher {
    long acked;     /* PUBACKs received (QoS 1) */
    bool connected; /* CONNACK 0 received */
    int connack_rc; /* -1 until a CONNACK arrives */
};

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A small deterministic generator: the same N payloads on every run. */
static uint32_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*state >> 33);
}

/* A value in [lo, hi] with `decimals` digits after the point, as text. */
static int put_number(char *out, size_t size, uint64_t *rng, int lo, int hi, int decimals)
{
    int scale = decimals == 0 ? 1 : decimals == 1 ? 10 : 100;
    long span = (long)(hi - lo) * scale;
    long v = (long)lo * scale + (long)(next_random(rng) % (uint32_t)(span + 1));
    const char *sign = v < 0 ? "-" : "";
    long a = v < 0 ? -v : v;
    if (decimals == 0)
        return snprintf(out, size, "%s%ld", sign, a);
    return snprintf(out, size, "%s%ld.%0*ld", sign, a / scale, decimals, a % scale);
}

/* Message `i`'s payload into `out`; returns its length (or -1). */
static int build_payload(char *out, size_t size, long i, const struct options *o, int64_t first_ms,
                         uint64_t *rng)
{
    int sensor = (int)(i % o->sensors);
    long round = i / o->sensors;
    int64_t t_ms = first_ms + (int64_t)round * o->period_s * 1000 +
                   (int64_t)sensor * o->period_s * 1000 / o->sensors;
    time_t secs = (time_t)(t_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char when[40];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

    static const struct {
        const char *key;
        int lo, hi, decimals;
    } fields[10] = {
        {"pm25", 2, 150, 1},        {"pm10", 5, 240, 1},   {"no2", 1, 90, 1},
        {"o3", 5, 120, 1},          {"co", 0, 3, 2},       {"temp_c", 15, 38, 1},
        {"humidity", 35, 98, 0},    {"pressure_hpa", 995, 1020, 1},
        {"battery_v", 3, 4, 2},     {"rssi", -110, -45, 0},
    };
    int n = snprintf(out, size, "{\"sensor_id\":\"aq-%05d\",\"ts\":\"%s.%03dZ\"", sensor, when,
                     (int)(t_ms % 1000));
    for (int f = 0; f < 10 && n > 0 && (size_t)n < size; f++) {
        n += snprintf(out + n, size - (size_t)n, ",\"%s\":", fields[f].key);
        if ((size_t)n >= size)
            return -1;
        n += put_number(out + n, size - (size_t)n, rng, fields[f].lo, fields[f].hi,
                        fields[f].decimals);
    }
    if (n <= 0 || (size_t)n >= size)
        return -1;
    n += snprintf(out + n, size - (size_t)n, ",\"fw\":\"2.3.1\"}");
    return (size_t)n < size ? n : -1;
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    (void)m;
    struct publisher *p = ud;
    p->connack_rc = rc;
    p->connected = rc == 0;
}

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
    (void)m;
    (void)mid;
    struct publisher *p = ud;
    p->acked++;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-pub [--host H] [--port P] [--count N] [--qos 0|1] [--inflight K]\n"
            "                 [--sensors S] [--period SECONDS] [--timeout SECONDS]\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.host = "127.0.0.1", .port = 1883, .count = 300000, .qos = 1,
                          .inflight = 1000, .sensors = 10000, .period_s = 10, .timeout_s = 300};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        i++;
        if (!strcmp(k, "--host"))
            o->host = v;
        else if (!strcmp(k, "--port"))
            o->port = atoi(v);
        else if (!strcmp(k, "--count"))
            o->count = atol(v);
        else if (!strcmp(k, "--qos"))
            o->qos = atoi(v);
        else if (!strcmp(k, "--inflight"))
            o->inflight = atoi(v);
        else if (!strcmp(k, "--sensors"))
            o->sensors = atoi(v);
        else if (!strcmp(k, "--period"))
            o->period_s = atoi(v);
        else if (!strcmp(k, "--timeout"))
            o->timeout_s = atof(v);
        else
            return -1;
    }
    if (o->count < 1 || o->count > 50000000 || (o->qos != 0 && o->qos != 1) || o->inflight < 1 ||
        o->sensors < 1 || o->sensors > 999999 || o->period_s < 1 || o->port < 1 || o->port > 65535 ||
        o->timeout_s <= 0)
        return -1;
    return 0;
}

/* Runs the network until nothing waits to be written, or the deadline. */
static int drain_writes(struct mosquitto *m, double deadline)
{
    while (mosquitto_want_write(m)) {
        int rc = mosquitto_loop(m, 10, 1);
        if (rc != MOSQ_ERR_SUCCESS || monotonic_s() > deadline)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) < 0) {
        usage();
        return 2;
    }

    /* Payloads first, outside the timed part. */
    enum { MAX_PAYLOAD = 320 };
    char *arena = malloc((size_t)o.count * MAX_PAYLOAD);
    int *lengths = malloc(sizeof(int) * (size_t)o.count);
    char(*topics)[32] = malloc(sizeof(*topics) * (size_t)o.sensors);
    if (!arena || !lengths || !topics) {
        fprintf(stderr, "bench-pub: out of memory for %ld payloads\n", o.count);
        return 1;
    }
    long rounds = (o.count + o.sensors - 1) / o.sensors;
    int64_t first_ms = ((int64_t)wall_s() - 60 - (int64_t)rounds * o.period_s) * 1000;
    uint64_t rng = 20261206;
    for (int s = 0; s < o.sensors; s++)
        snprintf(topics[s], sizeof(topics[s]), "pleiku/env/aq/aq-%05d", s);
    for (long i = 0; i < o.count; i++) {
        lengths[i] = build_payload(arena + (size_t)i * MAX_PAYLOAD, MAX_PAYLOAD, i, &o, first_ms, &rng);
        if (lengths[i] < 0) {
            fprintf(stderr, "bench-pub: payload %ld too long\n", i);
            return 1;
        }
    }

    mosquitto_lib_init();
    struct publisher pub = {.connack_rc = -1};
    struct mosquitto *m = mosquitto_new(NULL, true, &pub);
    if (!m) {
        fprintf(stderr, "bench-pub: mosquitto_new failed\n");
        return 1;
    }
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_publish_callback_set(m, on_publish);
    mosquitto_max_inflight_messages_set(m, (unsigned)o.inflight);
    int rc = mosquitto_connect(m, o.host, o.port, 60);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench-pub: connect to %s:%d: %s\n", o.host, o.port, mosquitto_strerror(rc));
        return 1;
    }
    double deadline = monotonic_s() + o.timeout_s;
    while (pub.connack_rc < 0 && monotonic_s() < deadline)
        if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS)
            break;
    if (!pub.connected) {
        fprintf(stderr, "bench-pub: no CONNACK (rc %d)\n", pub.connack_rc);
        return 1;
    }

    double start_wall = wall_s(), start = monotonic_s();
    long sent = 0;
    bool late = false;
    for (long i = 0; i < o.count && !late; i++) {
        rc = mosquitto_publish(m, NULL, topics[i % o.sensors], lengths[i],
                               arena + (size_t)i * MAX_PAYLOAD, o.qos, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "bench-pub: publish %ld: %s\n", i, mosquitto_strerror(rc));
            break;
        }
        sent++;
        if (o.qos == 1) {
            while (sent - pub.acked >= o.inflight && !late) {
                if (mosquitto_loop(m, 10, 1) != MOSQ_ERR_SUCCESS)
                    late = true;
                late = late || monotonic_s() > deadline;
            }
        } else if (mosquitto_want_write(m)) {
            late = drain_writes(m, deadline) < 0;
        } else if ((i & 255) == 255) {
            mosquitto_loop(m, 0, 1); /* answer pings, notice a closed socket */
        }
    }
    late = late || drain_writes(m, deadline) < 0;
    while (o.qos == 1 && pub.acked < sent && !late) {
        if (mosquitto_loop(m, 10, 1) != MOSQ_ERR_SUCCESS)
            break;
        late = monotonic_s() > deadline;
    }
    double elapsed = monotonic_s() - start;
    bool all = sent == o.count && (o.qos == 0 || pub.acked == sent) && !late;
    mosquitto_disconnect(m);
    drain_writes(m, monotonic_s() + 2);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();

    printf("sent=%ld elapsed_s=%.6f rate=%.0f start_epoch=%.6f\n", sent, elapsed,
           elapsed > 0 ? (double)sent / elapsed : 0.0, start_wall);
    if (!all)
        fprintf(stderr, "bench-pub: %ld of %ld sent, %ld acknowledged%s\n", sent, o.count,
                pub.acked, late ? " (time limit)" : "");
    free(arena);
    free(lengths);
    free(topics);
    return all ? 0 : 1;
}
