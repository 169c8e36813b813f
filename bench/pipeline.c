/* bench/pipeline.c — the aggregation engine and write path, without a
 * broker: the real pipeline (validation, series registry, duplicate
 * horizon, windows) and the real SQLite flush on libuv's worker.
 *
 *   bench-pipeline throughput [SAMPLES]        samples/s on one core, no flush
 *   bench-pipeline rss SERIES                  RSS per active series
 *   bench-pipeline flush [RATE DEVICES METRICS SECONDS]
 *       a paced feed of RATE msg/s, METRICS samples each, round robin over
 *       DEVICES devices, flushed every 1 s: flush durations against the
 *       interval (the target: under half of it).
 * Every mode is bounded in count and time. Database files go to $TMPDIR. */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "adapters/adapter.h"
#include "daemon/base/arena.h"
#include "daemon/config/config.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/store/sqlite.h"
#include "daemon/base/timeutil.h"

static const char *metric_names[] = {"vehicles", "speed", "occupancy", "m4", "m5", "m6"};

struct bench {
    struct iocd_config cfg;
    struct iocd_store *store;
    struct iocd_pipeline pipe;
    uv_loop_t *loop;
    struct iocd_arena arena;
    struct iocd_batch batch;
    char path[256];
    long rate, devices, metrics, seconds;
    long sent, next_device;
    int64_t started_ms;
    uv_timer_t feed;
    int64_t last_done;
    int64_t flush_us[4096];
    size_t n_flush;
    char device_buf[32];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static void setup(struct bench *b, const char *extra)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(b->path, sizeof(b->path), "%s/iocd-bench-%d.db", tmp, (int)getpid());
    char text[2048];
    snprintf(text, sizeof(text),
             "[store]\npath = %s\nflush_interval = 1s\nretention = 1m:forever 1h:forever\n%s"
             "[ingest]\nmax_series = 0\n"
             "[adapter traffic]\ntopic = t/#\nformat = json\ndevice = $.d\nmetric.x = $.x\n",
             b->path, extra ? extra : "");
    struct iocd_error err;
    if (iocd_config_load_string(&b->cfg, "bench", text, &err) ||
        iocd_store_open(&b->store, &iocd_store_sqlite, b->path, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    b->loop = uv_default_loop();
    if (iocd_pipeline_init(&b->pipe, b->loop, &b->cfg, b->store, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    iocd_arena_init(&b->arena, 0);
    iocd_batch_init(&b->batch, &b->arena);
}

static void teardown(struct bench *b)
{
    iocd_pipeline_close(&b->pipe);
    uv_run(b->loop, UV_RUN_DEFAULT);
    iocd_pipeline_free(&b->pipe);
    iocd_store_close(b->store);
    iocd_config_free(&b->cfg);
    iocd_arena_free(&b->arena);
    char p[300];
    unlink(b->path);
    snprintf(p, sizeof(p), "%s-wal", b->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", b->path);
    unlink(p);
}

/* One message of `device` with `metrics` samples at time t. */
static void ingest_one(struct bench *b, long device, int metrics, int64_t t, double v)
{
    snprintf(b->device_buf, sizeof(b->device_buf), "TC-%06ld", device);
    for (int m = 0; m < metrics; m++) {
        Ioc__V1__Observation *o = iocd_batch_add_observation(&b->batch);
        o->device = b->device_buf;
        o->metric = (char *)metric_names[m];
        o->unit = "1";
        o->value = v + m;
        o->observed_ms = t;
        o->received_ms = t;
    }
    struct iocd_message msg = {.topic = "t/x", .payload = (const uint8_t *)"", .len = 0,
                               .received_ms = t};
    iocd_pipeline_ingest(&b->pipe, 0, &msg, IOCD_REJECT_NONE, &b->batch);
    iocd_batch_reset(&b->batch);
}

static int mode_throughput(long samples)
{
    struct bench b = {0};
    setup(&b, NULL);
    long devices = 10000, msgs = samples / 3;
    int64_t t0 = iocd_now_ms() - 3600000;
    double s0 = now_s();
    for (long i = 0; i < msgs; i++) {
        ingest_one(&b, i % devices, 3, t0 + i, (double)(i % 100));
        if (b.pipe.n_samples > 300000)
            b.pipe.n_samples = 0; /* what a flush does: it takes the journal buffer */
    }
    double dt = now_s() - s0;
    printf("aggregation: %ld samples (%ld msgs x 3, %ld devices, 3 resolutions) in %.3f s = "
           "%.0f samples/s on one core\n",
           msgs * 3, msgs, devices, dt, (double)msgs * 3 / dt);
    teardown(&b);
    return 0;
}

static void on_drained(struct iocd_pipeline *p, void *ud)
{
    (void)p;
    (void)ud;
}

static int mode_rss(long series)
{
    struct bench b = {0};
    long before = rss_kib();
    setup(&b, NULL);
    long base = rss_kib();
    int64_t t = iocd_now_ms() - 60000;
    long devices = (series + 2) / 3;
    for (long i = 0; i < devices; i++)
        ingest_one(&b, i, 3, t, 1.0);
    long held = rss_kib();
    struct mallinfo2 mh = mallinfo2();
    size_t held_heap = mh.uordblks + mh.hblkhd;
    iocd_pipeline_drain(&b.pipe, on_drained, NULL);
    uv_run(b.loop, UV_RUN_DEFAULT);
    malloc_trim(0); /* give freed window memory back, so RSS shows what is still held */
    long after = rss_kib();
    struct mallinfo2 ma = mallinfo2();
    size_t after_heap = ma.uordblks + ma.hblkhd;
    double ns = (double)(devices * 3);
    printf("rss: %ld series: RSS %ld KiB before start, %ld KiB started; holding one window each "
           "at 3 resolutions: RSS %ld KiB (%.0f B/series), heap in use %.0f B/series; after the "
           "flush: RSS %ld KiB (%.0f B/series), heap in use %.0f B/series (registry + duplicate "
           "horizon)\n",
           devices * 3, before, base, held, (double)(held - base) * 1024 / ns,
           (double)held_heap / ns, after, (double)(after - base) * 1024 / ns,
           (double)after_heap / ns);
    teardown(&b);
    return 0;
}

static void on_feed(uv_timer_t *t)
{
    struct bench *b = t->data;
    int64_t now = iocd_now_ms();
    long due = (long)((now - b->started_ms) * b->rate / 1000);
    if (due > b->rate * b->seconds)
        due = b->rate * b->seconds;
    for (; b->sent < due; b->sent++) {
        ingest_one(b, b->next_device, (int)b->metrics, now, (double)(b->sent % 100));
        b->next_device = (b->next_device + 1) % b->devices;
    }
    if (b->pipe.last_flush_done_ms != b->last_done && b->pipe.last_flush_us &&
        b->n_flush < sizeof(b->flush_us) / sizeof(b->flush_us[0])) {
        b->last_done = b->pipe.last_flush_done_ms;
        b->flush_us[b->n_flush++] = b->pipe.last_flush_us;
    }
    if (b->sent >= b->rate * b->seconds) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, NULL);
        iocd_pipeline_drain(&b->pipe, on_drained, NULL);
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int mode_flush(long rate, long devices, long metrics, long seconds)
{
    struct bench b = {0};
    setup(&b, NULL);
    b.rate = rate;
    b.devices = devices;
    b.metrics = metrics;
    b.seconds = seconds;
    b.started_ms = iocd_now_ms();
    iocd_pipeline_start(&b.pipe);
    uv_timer_init(b.loop, &b.feed);
    b.feed.data = &b;
    uv_timer_start(&b.feed, on_feed, 10, 10);
    uv_run(b.loop, UV_RUN_DEFAULT);
    qsort(b.flush_us, b.n_flush, sizeof(b.flush_us[0]), cmp64);
    size_t n = b.n_flush;
    printf("flush: %ld msg/s x %ld metrics over %ld devices for %ld s, 3 resolutions, "
           "flush every 1 s: %zu flushes, duration p50 %.0f ms, p99 %.0f ms, max %.0f ms "
           "(target: under 500 ms)\n",
           rate, metrics, devices, seconds, n, n ? b.flush_us[n / 2] / 1e3 : 0,
           n ? b.flush_us[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3 : 0,
           n ? b.flush_us[n - 1] / 1e3 : 0);
    teardown(&b);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "throughput";
    if (strcmp(mode, "throughput") == 0)
        return mode_throughput(argc > 2 ? atol(argv[2]) : 3000000);
    if (strcmp(mode, "rss") == 0)
        return mode_rss(argc > 2 ? atol(argv[2]) : 100000);
    if (strcmp(mode, "flush") == 0)
        return mode_flush(argc > 2 ? atol(argv[2]) : 10000, argc > 3 ? atol(argv[3]) : 100000,
                          argc > 4 ? atol(argv[4]) : 3, argc > 5 ? atol(argv[5]) : 30);
    fprintf(stderr, "usage: bench-pipeline throughput [SAMPLES] | rss SERIES | "
                    "flush [RATE DEVICES METRICS SECONDS]\n");
    return 2;
}
