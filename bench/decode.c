/* bench/decode.c — each adapter's decode rate on one core, beside the rate
 * of parsing the same payload with the bare library (cJSON for JSON-based
 * formats), measured in the same run.
 *
 * Owns nothing beyond main(). For every case: build the adapter from its
 * config section, decode the payload in a loop for ~1 s (bounded count and
 * time), then parse it bare for the same time. Prints messages/s for both
 * and their ratio. Usage: bench-decode [SECONDS-PER-CASE] */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"
#include "arena.h"
#include "ini.h"
#include "timeutil.h"

struct bench_case {
    const char *name;
    const char *config; /* one [adapter NAME] section */
    const char *topic;
    const char *payload;
    int json_baseline;  /* 1: compare with cJSON_Parse */
};

static const struct bench_case cases[] = {
    {"json (air station)",
     "[adapter air]\nformat = json\ndevice = $.station\ntime = $.ts\n"
     "metric.pm25 = $.pm25 ug/m3\nmetric.pm10 = $.pm10 ug/m3\nmetric.no2 = $.no2 ug/m3\n"
     "metric.temperature = $.temp Cel\nmetric.humidity = $.rh %\n",
     "pleiku/air/GL-AQ01/data",
     "{\"station\":\"GL-AQ01\",\"ts\":\"2026-11-22T17:04:05+07:00\",\"pm25\":23.4,\"pm10\":41.2,"
     "\"no2\":18.5,\"temp\":24.1,\"rh\":78.0}",
     1},
    {"json (traffic counter)",
     "[adapter traffic]\nformat = json\ndevice = $.counter\ntime = $.time_ms\ntime_format = ms\n"
     "metric.vehicles = $.vehicles 1\nmetric.speed = $.speed_kmh km/h\n",
     "pleiku/traffic/GL-TC001/count",
     "{\"counter\":\"GL-TC001\",\"time_ms\":1763780000000,\"vehicles\":42,\"speed_kmh\":31.5,"
     "\"interval_s\":5}",
     1},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define MAX_ITERATIONS 50000000L

static double rate_adapter(const struct bench_case *c, double secs, size_t *n_obs)
{
    struct iocd_ini ini;
    struct iocd_error err;
    if (iocd_ini_parse(&ini, "bench", c->config, &err)) {
        fprintf(stderr, "%s: %s\n", c->name, err.msg);
        exit(1);
    }
    struct iocd_ini_section *s = &ini.sections[0];
    const struct iocd_adapter_ops *ops = NULL;
    for (size_t i = 0; i < s->n_entries; i++)
        if (strcmp(s->entries[i].key, "format") == 0) {
            ops = iocd_adapter_find(s->entries[i].value);
            s->entries[i].used = 1;
        }
    void *state = NULL;
    if (!ops || ops->create(&ini, s, s->arg, &state, &err)) {
        fprintf(stderr, "%s: %s\n", c->name, ops ? err.msg : "unknown format");
        exit(1);
    }
    struct iocd_arena arena;
    struct iocd_batch b;
    iocd_arena_init(&arena, 0);
    iocd_batch_init(&b, &arena);
    struct iocd_message msg = {.topic = c->topic,
                               .payload = (const uint8_t *)c->payload,
                               .len = strlen(c->payload),
                               .received_ms = iocd_now_ms()};
    long n = 0;
    double t0 = now_s(), t;
    *n_obs = 0;
    do {
        for (int k = 0; k < 1000; k++, n++) {
            if (ops->decode(state, &msg, &b) != IOCD_REJECT_NONE) {
                fprintf(stderr, "%s: rejected: %s\n", c->name, b.detail);
                exit(1);
            }
            *n_obs = b.n_obs + b.n_events;
            iocd_batch_reset(&b);
        }
        t = now_s() - t0;
    } while (t < secs && n < MAX_ITERATIONS);
    iocd_arena_free(&arena);
    ops->destroy(state);
    iocd_ini_free(&ini);
    return (double)n / t;
}

static double rate_cjson(const char *payload, double secs)
{
    size_t len = strlen(payload);
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 1000; k++, n++) {
            cJSON *j = cJSON_ParseWithLength(payload, len);
            if (!j)
                exit(1);
            cJSON_Delete(j);
        }
        t = now_s() - t0;
    } while (t < secs && n < MAX_ITERATIONS);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    if (secs <= 0 || secs > 60)
        secs = 1.0;
    printf("%-28s %14s %14s %8s %5s\n", "adapter (payload)", "decode msg/s", "bare msg/s",
           "ratio", "obs");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n_obs;
        double a = rate_adapter(&cases[i], secs, &n_obs);
        if (cases[i].json_baseline) {
            double bare = rate_cjson(cases[i].payload, secs);
            printf("%-28s %14.0f %14.0f %8.2f %5zu\n", cases[i].name, a, bare, a / bare, n_obs);
        } else {
            printf("%-28s %14.0f %14s %8s %5zu\n", cases[i].name, a, "-", "-", n_obs);
        }
    }
    return 0;
}
