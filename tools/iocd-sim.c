/*
 * iocd-sim: a simulated city operations feed for Pleiku (Gia Lai, Vietnam,
 * UTC+7), every subsystem in the format its vendor would use.
 *
 * This file owns iocd-sim's main program: option parsing (--feeds, counts
 * and intervals per feed), turning the feed table into scheduler devices,
 * the publish schedule (per-device due times or a total --rate round robin,
 * in real time or as a fast replay from --start), MQTT flow control bounded
 * by --max-inflight, the Sparkplug B session of the lighting feed (NDEATH as
 * the will and at exit, rebirth after a reconnect or an NCMD), and the run
 * statistics. The feed models live in tools/sim/ (see sim.h).
 *
 * Adding a feed: its model in tools/sim/feed_*.c and one row appended to
 * SUBSYSTEMS[] (tools/sim/feeds.c). Ids, topics, --NAME and --interval-NAME
 * options, --feeds, --help text and scheduling all follow the table.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "sim/sim.h"

#if defined(__has_include)
#if __has_include("iocd_build.h")
#include "iocd_build.h"
#endif
#endif
#ifndef IOCD_VERSION
#define IOCD_VERSION "dev"
#endif

#define PREFIX_MAX 128
#define PAYLOAD_MAX (256 * 1024)
#define MAX_PER_SUBSYSTEM 100000L
#define MAX_SCALE 1000L
#define STATUS_PERIOD_US 5000000LL
#define CONNECT_WINDOW_US 10000000LL
#define DRAIN_WINDOW_US 5000000LL
#define SLEEP_SLICE_US 200000LL
#define NSUB SIM_NSUB
#define ALL_FEEDS ((1u << NSUB) - 1u)

/* ---------------------------------------------------------- wall time -- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_timespec(int64_t us)
{
    struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };
    return ts;
}

/* --start: epoch milliseconds, or ISO-8601 with Z / +HH:MM / +HHMM (no zone: Pleiku time). */
static int parse_start(const char *s, int64_t *out_ms)
{
    if (*s && strspn(s, "0123456789") == strlen(s)) {
        errno = 0;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (errno || *end)
            return -1;
        *out_ms = v;
        return 0;
    }
    int y, mo, d, h, mi, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5 || n == 0)
        return -1;
    const char *p = s + n;
    if (*p == ':') {
        int m = 0;
        if (sscanf(p, ":%2d%n", &sec, &m) != 1 || m != 3)
            return -1;
        p += m;
    }
    int64_t frac_ms = 0;
    if (*p == '.') {
        int64_t scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac_ms += (*p - '0') * scale;
    }
    long offset_s = LOCAL_OFFSET_S;
    if (*p == 'Z' || *p == 'z') {
        offset_s = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 &&
            sscanf(p + 1, "%2d%2d%n", &oh, &om, &m) != 2)
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset_s = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        p += 1 + m;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 ||
        h < 0 || mi < 0 || sec < 0)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                     .tm_hour = h, .tm_min = mi, .tm_sec = sec };
    time_t t = timegm(&tm);
    if (tm.tm_mday != d) /* normalised away, e.g. 2026-02-30 */
        return -1;
    *out_ms = ((int64_t)t - offset_s) * 1000 + frac_ms;
    return 0;
}

/* ------------------------------------------------------------ options -- */

struct options {
    const char *host;
    int port;
    char client_id[64];
    int qos;
    const char *prefix;
    long scale;
    unsigned feeds; /* bit i: SUBSYSTEMS[i] enabled */
    long counts[NSUB];
    int count_given[NSUB];
    double intervals[NSUB];
    double rate; /* < 0: per-device intervals */
    double duration_s; /* 0: none */
    uint64_t count;    /* 0: none */
    uint64_t seed;
    int fast;
    int64_t start_ms;
    long max_inflight;
    int quiet;
    const char *write_registry; /* write the devices' registry here and exit */
};

enum {
    OPT_HOST = 256, OPT_PORT, OPT_CLIENT_ID, OPT_QOS, OPT_PREFIX, OPT_SCALE, OPT_RATE,
    OPT_DURATION, OPT_COUNT, OPT_SEED, OPT_START, OPT_MAX_INFLIGHT, OPT_VERSION, OPT_FEEDS,
    OPT_WRITE_REGISTRY,
    OPT_SUBSYS = 512 /* + 2*i: --NAME, + 2*i + 1: --interval-NAME */
};

static const struct option BASE_OPTIONS[] = {
    { "host", required_argument, NULL, OPT_HOST },
    { "port", required_argument, NULL, OPT_PORT },
    { "client-id", required_argument, NULL, OPT_CLIENT_ID },
    { "qos", required_argument, NULL, OPT_QOS },
    { "prefix", required_argument, NULL, OPT_PREFIX },
    { "scale", required_argument, NULL, OPT_SCALE },
    { "feeds", required_argument, NULL, OPT_FEEDS },
    { "rate", required_argument, NULL, OPT_RATE },
    { "duration", required_argument, NULL, OPT_DURATION },
    { "count", required_argument, NULL, OPT_COUNT },
    { "seed", required_argument, NULL, OPT_SEED },
    { "start", required_argument, NULL, OPT_START },
    { "max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT },
    { "write-registry", required_argument, NULL, OPT_WRITE_REGISTRY },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
};
#define NBASE (sizeof BASE_OPTIONS / sizeof BASE_OPTIONS[0])

/* Prints 'text' (lines split at '\n') indented to the help's description column. */
static void help_lines(FILE *f, const char *text)
{
    while (*text) {
        size_t n = strcspn(text, "\n");
        fprintf(f, "  %-20s %.*s\n", "", (int)n, text);
        text += n + (text[n] == '\n');
    }
}

static void print_help(FILE *f)
{
    fprintf(f,
        "Usage: iocd-sim [OPTIONS]\n"
        "Publish a simulated city operations feed for Pleiku (Gia Lai, UTC+7) over\n"
        "MQTT: every subsystem in the format its vendor would use.\n\n"
        "Connection:\n"
        "  --host H             broker host (default 127.0.0.1)\n"
        "  --port P             broker port (default 1883)\n"
        "  --client-id ID       MQTT client id (default iocd-sim-<pid>)\n"
        "  --qos N              0, 1 or 2 (default 1), for every message (Sparkplug\n"
        "                       B asks QoS 0 of births and data: --qos 0); the\n"
        "                       lighting feed's NDEATH will is QoS 1\n"
        "  --prefix P           topic prefix (default pleiku; not for Sparkplug,\n"
        "                       whose topics start with spBv1.0)\n"
        "  --max-inflight N     at most N published but unacknowledged messages;\n"
        "                       publishing waits at the limit (default 1000)\n\n"
        "Feeds:\n"
        "  --feeds LIST         comma-separated feeds to publish (default all):\n");
    char line[160] = "";
    for (size_t i = 0; i < NSUB; i++) {
        char next[160];
        snprintf(next, sizeof next, "%s%s%s", line, SUBSYSTEMS[i].name, i + 1 < NSUB ? "," : "");
        if (strlen(next) > 54) {
            help_lines(f, line);
            snprintf(next, sizeof next, "%s%s", SUBSYSTEMS[i].name, i + 1 < NSUB ? "," : "");
        }
        snprintf(line, sizeof line, "%s", next);
    }
    help_lines(f, line);
    fprintf(f,
        "  --scale K            multiply every default count by K (1..%ld);\n"
        "                       an explicit --<name> count wins\n", MAX_SCALE);
    for (size_t i = 0; i < NSUB; i++) {
        const struct subsystem *s = &SUBSYSTEMS[i];
        char opt[48], what[160];
        snprintf(opt, sizeof opt, "--%s N", s->name);
        if (strncmp(s->id_prefix, "GL-", 3) == 0)
            snprintf(what, sizeof what, "number of %s %s%0*d.. (default %ld)", s->what,
                     s->id_prefix, s->id_width, 1, s->default_count);
        else
            snprintf(what, sizeof what, "number of %s (default %ld)", s->what,
                     s->default_count);
        fprintf(f, "  %-20s %s\n", opt, what);
        snprintf(opt, sizeof opt, "--interval-%s S", s->name);
        if (strlen(opt) > 20) /* too wide for the option column */
            fprintf(f, "  %s\n  %-20s %s,\n", opt, "", s->interval_help);
        else
            fprintf(f, "  %-20s %s,\n", opt, s->interval_help);
        fprintf(f, "  %-20s fractional ok (default %g)\n", "", s->default_interval_s);
        help_lines(f, s->topic_help);
    }
    fprintf(f,
        "\nSchedule:\n"
        "  --rate R             publish R msg/s in total, round robin over all devices,\n"
        "                       instead of per-device intervals; R=0: as fast as\n"
        "                       possible. Event feeds publish one event per turn;\n"
        "                       payload windows (interval_s) keep the configured\n"
        "                       intervals\n"
        "  --start TIME         fast replay: simulated clock starts at TIME (ISO-8601,\n"
        "                       e.g. 2026-11-22T00:00:00Z, no zone = +07:00; or epoch\n"
        "                       ms) and advances by the device intervals and the\n"
        "                       drawn event times without sleeping (with --rate: by\n"
        "                       1/R s per message, 1 ms if R=0). Without it, payloads\n"
        "                       carry the wall clock\n"
        "  --duration S         stop after S seconds (simulated seconds with --start)\n"
        "  --count N            stop after N published messages (the lighting feed's\n"
        "                       NDEATH at exit is not counted)\n"
        "                       (neither: run until SIGINT/SIGTERM)\n"
        "  --seed N             PRNG seed (default 1); same seed, options and --start\n"
        "                       give byte-identical payloads\n\n"
        "Output:\n"
        "  --write-registry FILE\n"
        "                       write iocd's device registry of the devices these\n"
        "                       options simulate to FILE (CSV; '-': stdout) and exit:\n"
        "                       names, positions, wards, subsystems and tags for\n"
        "                       [devices] registry (docs/registry.md)\n"
        "  -q, --quiet          no status line every 5 s on stderr\n"
        "  -h, --help           this text\n"
        "      --version        print the version\n\n"
        "At exit prints 'published N messages in T.TTT s (R msg/s)'. Exit status 0,\n"
        "1 if the broker cannot be reached within 10 s or a publish fails for good,\n"
        "2 on bad usage.\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < lo)
        return -1;
    *out = v;
    return 0;
}

/* "air,traffic" -> bit mask of SUBSYSTEMS rows; "all" for every feed. */
static int parse_feeds(const char *arg, unsigned *out)
{
    unsigned mask = 0;
    const char *p = arg;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 0)
            return -1;
        if (n == 3 && strncmp(p, "all", 3) == 0) {
            mask = ALL_FEEDS;
        } else {
            size_t i = 0;
            while (i < NSUB && !(strlen(SUBSYSTEMS[i].name) == n &&
                                 strncmp(SUBSYSTEMS[i].name, p, n) == 0))
                i++;
            if (i == NSUB) {
                fprintf(stderr, "iocd-sim: unknown feed '%.*s'\n", (int)n, p);
                return -1;
            }
            mask |= 1u << i;
        }
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *out = mask;
    return 0;
}

static int apply_subsystem_option(struct options *o, int code, const char *arg)
{
    size_t i = (size_t)(code - OPT_SUBSYS) / 2;
    if (i >= NSUB)
        return -1;
    if ((code - OPT_SUBSYS) % 2 == 0) {
        o->count_given[i] = 1;
        return parse_long(arg, 0, MAX_PER_SUBSYSTEM, &o->counts[i]);
    }
    return parse_double(arg, 0.001, 86400.0, &o->intervals[i]);
}

/* Returns 0 to run, 1 after --help/--version, -1 on bad usage. */
static int parse_options(int argc, char **argv, struct options *o)
{
    char names[NSUB][2][40];
    struct option longopts[NBASE + 2 * NSUB + 1];
    memcpy(longopts, BASE_OPTIONS, sizeof BASE_OPTIONS);
    for (size_t i = 0; i < NSUB; i++) {
        snprintf(names[i][0], sizeof names[i][0], "%s", SUBSYSTEMS[i].name);
        snprintf(names[i][1], sizeof names[i][1], "interval-%s", SUBSYSTEMS[i].name);
        for (int k = 0; k < 2; k++)
            longopts[NBASE + 2 * i + (size_t)k] = (struct option){
                names[i][k], required_argument, NULL, OPT_SUBSYS + (int)(2 * i) + k };
        o->intervals[i] = SUBSYSTEMS[i].default_interval_s;
    }
    memset(&longopts[NBASE + 2 * NSUB], 0, sizeof longopts[0]);

    long lv;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "hq", longopts, &idx)) != -1) {
        const char *arg = optarg;
        int rc = 0;
        switch (c) {
        case OPT_HOST: o->host = arg; break;
        case OPT_PORT: rc = parse_long(arg, 1, 65535, &lv); o->port = (int)lv; break;
        case OPT_CLIENT_ID:
            if (!*arg || strlen(arg) >= sizeof o->client_id)
                rc = -1;
            else
                snprintf(o->client_id, sizeof o->client_id, "%s", arg);
            break;
        case OPT_QOS: rc = parse_long(arg, 0, 2, &lv); o->qos = (int)lv; break;
        case OPT_PREFIX:
            if (!*arg || strlen(arg) > PREFIX_MAX || strpbrk(arg, "+#") ||
                mosquitto_validate_utf8(arg, (int)strlen(arg)) != MOSQ_ERR_SUCCESS)
                rc = -1;
            o->prefix = arg;
            break;
        case OPT_SCALE: rc = parse_long(arg, 1, MAX_SCALE, &o->scale); break;
        case OPT_FEEDS: rc = parse_feeds(arg, &o->feeds); break;
        case OPT_RATE: rc = parse_double(arg, 0.0, 1e9, &o->rate); break;
        case OPT_DURATION: rc = parse_double(arg, 0.001, 1e9, &o->duration_s); break;
        case OPT_COUNT: rc = parse_u64(arg, 1, &o->count); break;
        case OPT_SEED: rc = parse_u64(arg, 0, &o->seed); break;
        case OPT_START: rc = parse_start(arg, &o->start_ms); o->fast = 1; break;
        case OPT_MAX_INFLIGHT: rc = parse_long(arg, 1, 1000000, &o->max_inflight); break;
        case OPT_WRITE_REGISTRY:
            if (!*arg)
                rc = -1;
            o->write_registry = arg;
            break;
        case 'q': o->quiet = 1; break;
        case 'h': print_help(stdout); return 1;
        case OPT_VERSION: printf("iocd-sim %s\n", IOCD_VERSION); return 1;
        default:
            if (c >= OPT_SUBSYS) {
                rc = apply_subsystem_option(o, c, arg);
                break;
            }
            fprintf(stderr, "Try 'iocd-sim --help'.\n");
            return -1;
        }
        if (rc != 0) {
            fprintf(stderr, "iocd-sim: invalid value for --%s: '%s'\n", longopts[idx].name,
                    arg ? arg : "");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "iocd-sim: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    long total = 0;
    for (size_t i = 0; i < NSUB; i++) {
        if (!o->count_given[i])
            o->counts[i] = SUBSYSTEMS[i].default_count * o->scale;
        if (o->counts[i] > MAX_PER_SUBSYSTEM) {
            fprintf(stderr, "iocd-sim: at most %ld %s\n", MAX_PER_SUBSYSTEM, SUBSYSTEMS[i].what);
            return -1;
        }
        if (!(o->feeds & (1u << i)))
            o->counts[i] = 0;
        total += o->counts[i];
    }
    if (total == 0) {
        fprintf(stderr, "iocd-sim: no devices to simulate\n");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------- schedule -- */

static void devices_destroy(struct device *dev, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const struct subsystem *s = &SUBSYSTEMS[dev[k].sys];
        if (s->destroy)
            s->destroy(&dev[k]);
        else
            free(dev[k].ext);
    }
    free(dev);
}

static size_t feed_devices(const struct options *o, size_t i)
{
    const struct subsystem *s = &SUBSYSTEMS[i];
    if (o->counts[i] <= 0)
        return 0;
    return s->devices ? s->devices(o->counts[i]) : (size_t)o->counts[i];
}

static int devices_create(const struct options *o, int64_t start_ms, struct device **out,
                          size_t *n_out)
{
    size_t n = 0;
    for (size_t i = 0; i < NSUB; i++)
        n += feed_devices(o, i);
    struct device *dev = calloc(n, sizeof *dev);
    if (!dev)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < NSUB; i++) {
        const struct subsystem *s = &SUBSYSTEMS[i];
        size_t nd = feed_devices(o, i);
        struct feed_setup fs = { .prefix = o->prefix, .seed = o->seed, .count = o->counts[i],
                                 .ndev = nd, .start_ms = start_ms,
                                 .interval_s = o->intervals[i] };
        struct device *first = &dev[k];
        for (size_t unit = 0; unit < nd; unit++, k++) {
            struct device *d = &dev[k];
            long num = (long)unit + 1;
            d->sys = i;
            d->unit = unit;
            d->first = first;
            snprintf(d->id, sizeof d->id, "%s%0*ld", s->id_prefix, s->id_width, num);
            uint64_t mix = o->seed ^ ((uint64_t)(i + 1) << 56) ^ (uint64_t)num;
            splitmix64(&mix);
            d->rng = splitmix64(&mix);
            if (d->rng == 0)
                d->rng = 0x853C49E6748FEA9BULL;
            d->interval_us = llround(o->intervals[i] * 1e6);
            d->next_due_us = (int64_t)(rng_uniform(&d->rng) * (double)d->interval_us);
            d->last_ms = NO_SAMPLE;
            if (device_topic(d, o->prefix, s->name, d->id, s->leaf) != 0 ||
                (s->init && s->init(d, &fs) != 0)) {
                devices_destroy(dev, k + 1);
                return -1;
            }
        }
    }
    *out = dev;
    *n_out = n;
    return 0;
}

static int due_before(const struct device *dev, size_t a, size_t b)
{
    return dev[a].next_due_us < dev[b].next_due_us ||
           (dev[a].next_due_us == dev[b].next_due_us && a < b);
}

static void heap_sift_down(size_t *heap, size_t n, const struct device *dev, size_t pos)
{
    for (;;) {
        size_t l = 2 * pos + 1, r = l + 1, m = pos;
        if (l < n && due_before(dev, heap[l], heap[m]))
            m = l;
        if (r < n && due_before(dev, heap[r], heap[m]))
            m = r;
        if (m == pos)
            return;
        size_t tmp = heap[pos];
        heap[pos] = heap[m];
        heap[m] = tmp;
        pos = m;
    }
}

static void heap_build(size_t *heap, size_t n, const struct device *dev)
{
    for (size_t i = n / 2; i-- > 0;)
        heap_sift_down(heap, n, dev, i);
}

/* --------------------------------------------------------- MQTT side -- */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

struct app {
    const struct options *opt;
    struct mosquitto *mosq;
    /* guards inflight, connected, got_connack, connack_rc, ever_connected,
     * bdseq, rebirth (the network thread's callbacks write them) */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long inflight;
    int connected;
    int got_connack;
    int connack_rc;
    int ever_connected;
    uint64_t bdseq;  /* Sparkplug birth/death sequence of the current session */
    int rebirth;     /* Sparkplug: publish NBIRTH and every DBIRTH again */
    /* set before the network thread starts, read-only after */
    struct device *edge; /* the lighting feed's edge node, NULL without it */
    /* main thread only */
    struct device *dev;
    size_t ndev;
    size_t *heap;
    unsigned char *payload;
    uint64_t published, failed;
    int fatal;
    int64_t t_begin_us, next_status_us, last_status_us;
    uint64_t last_status_published;
    int64_t last_sim_ms;
};

/* Registers the lighting edge node's NDEATH for 'bdseq' as the connection's will. */
static int set_will(struct app *a, uint64_t bdseq, int64_t ts_ms)
{
    char topic[TOPIC_MAX];
    unsigned char buf[256];
    size_t len;
    if (lighting_death(bdseq, ts_ms, topic, sizeof topic, buf, sizeof buf, &len) != 0)
        return -1;
    return mosquitto_will_set(a->mosq, topic, (int)len, buf, 1, false) == MOSQ_ERR_SUCCESS ? 0
                                                                                         : -1;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct app *a = obj;
    if (rc == 0 && a->edge)
        mosquitto_subscribe(mosq, NULL, LIGHTING_NCMD_TOPIC, 0);
    pthread_mutex_lock(&a->lock);
    a->got_connack = 1;
    a->connack_rc = rc;
    a->connected = (rc == 0);
    if (rc == 0 && a->opt->qos == 0)
        a->inflight = 0; /* QoS 0 packets queued before a reconnect are gone */
    if (rc == 0 && a->ever_connected && a->edge)
        a->rebirth = 1; /* a new session: births again, with the will's bdSeq */
    if (rc == 0)
        a->ever_connected = 1;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct app *a = obj;
    (void)mosq;
    pthread_mutex_lock(&a->lock);
    a->connected = 0;
    if (rc != 0 && a->edge) {
        /* The broker publishes this session's NDEATH; the next one gets the next bdSeq.
         * The will is read when this thread reconnects, so setting it here is safe. */
        a->bdseq++;
        if (set_will(a, a->bdseq, wall_ms()) != 0)
            fprintf(stderr, "iocd-sim: cannot set the NDEATH will\n");
    }
    pthread_mutex_unlock(&a->lock);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    struct app *a = obj;
    (void)mosq;
    if (!a->edge || strcmp(m->topic, LIGHTING_NCMD_TOPIC) != 0 ||
        !lighting_is_rebirth_cmd(m->payload, (size_t)(m->payloadlen > 0 ? m->payloadlen : 0)))
        return;
    pthread_mutex_lock(&a->lock);
    a->rebirth = 1; /* same session, same bdSeq */
    pthread_mutex_unlock(&a->lock);
}

/* Main thread: takes a pending Sparkplug rebirth; 1 if there was one. */
static int take_rebirth(struct app *a)
{
    if (!a->edge)
        return 0;
    pthread_mutex_lock(&a->lock);
    int r = a->rebirth;
    uint64_t bdseq = a->bdseq;
    a->rebirth = 0;
    pthread_mutex_unlock(&a->lock);
    if (r)
        lighting_rebirth(a->edge, bdseq);
    return r;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct app *a = obj;
    (void)mosq;
    (void)mid;
    pthread_mutex_lock(&a->lock);
    if (a->inflight > 0)
        a->inflight--;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

/* Waits on the condition variable until 'deadline_us' (monotonic) at the latest. */
static void cond_wait_until(struct app *a, int64_t deadline_us)
{
    struct timespec ts = mono_timespec(deadline_us);
    pthread_cond_timedwait(&a->cond, &a->lock, &ts);
}

static void maybe_status(struct app *a)
{
    int64_t now = mono_us();
    if (a->opt->quiet || now < a->next_status_us)
        return;
    pthread_mutex_lock(&a->lock);
    long inflight = a->inflight;
    int connected = a->connected;
    pthread_mutex_unlock(&a->lock);
    double span = (double)(now - a->last_status_us) / 1e6;
    double rate = span > 0 ? (double)(a->published - a->last_status_published) / span : 0.0;
    char iso[32], sim[48] = "";
    if (a->opt->fast && a->last_sim_ms != NO_SAMPLE &&
        format_local_iso(a->last_sim_ms, iso, sizeof iso) == 0)
        snprintf(sim, sizeof sim, " sim=%s", iso);
    fprintf(stderr, "iocd-sim: %.1f s published=%" PRIu64 " rate=%.1f msg/s inflight=%ld%s%s",
            (double)(now - a->t_begin_us) / 1e6, a->published, rate, inflight,
            connected ? "" : " DISCONNECTED", sim);
    if (a->failed)
        fprintf(stderr, " failed=%" PRIu64, a->failed);
    fputc('\n', stderr);
    a->last_status_us = now;
    a->last_status_published = a->published;
    a->next_status_us += STATUS_PERIOD_US;
    if (a->next_status_us <= now)
        a->next_status_us = now + STATUS_PERIOD_US;
}

/* Sleeps until the monotonic time 'target_us'; -1 if interrupted by a stop signal. */
static int sleep_until(struct app *a, int64_t target_us)
{
    for (;;) {
        if (g_stop)
            return -1;
        int64_t now = mono_us();
        if (now >= target_us)
            return 0;
        int64_t until = target_us - now > SLEEP_SLICE_US ? now + SLEEP_SLICE_US : target_us;
        struct timespec ts = mono_timespec(until);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        maybe_status(a);
    }
}

/* Takes one in-flight slot, waiting while --max-inflight are outstanding. */
static int acquire_slot(struct app *a)
{
    for (;;) {
        pthread_mutex_lock(&a->lock);
        if (a->inflight < a->opt->max_inflight) {
            a->inflight++;
            pthread_mutex_unlock(&a->lock);
            return 0;
        }
        cond_wait_until(a, mono_us() + 100000);
        pthread_mutex_unlock(&a->lock);
        if (g_stop)
            return -1;
        maybe_status(a);
    }
}

/* Samples device 'd' at 'now_ms' and publishes what it emits: 0 sent or dropped
 * (broker away), 1 nothing to send, -1 stop (a->fatal set on errors that retrying
 * cannot fix). *gap_us and *idle: when the device wants its next call. */
static int sample_device(struct app *a, struct device *d, int64_t now_ms, int64_t *gap_us,
                         int *idle)
{
    if (a->edge && d->first == a->edge) {
        /* A Sparkplug edge node is silent while offline: what libmosquitto would queue
         * now would reach the broker after the NDEATH and before the next NBIRTH. */
        pthread_mutex_lock(&a->lock);
        int connected = a->connected;
        pthread_mutex_unlock(&a->lock);
        if (!connected) {
            *gap_us = d->interval_us;
            *idle = 0;
            return 1;
        }
    }
    struct sample s = { .now_ms = now_ms, .hour = local_hour(now_ms),
                        .interval_s = a->opt->intervals[d->sys], .seed = a->opt->seed };
    s.dt_s = d->last_ms == NO_SAMPLE ? s.interval_s : (double)(now_ms - d->last_ms) / 1000.0;
    s.dt_s = clampd(s.dt_s, 0.001, 86400.0);
    d->last_ms = now_ms;
    a->last_sim_ms = now_ms;

    struct emit e = { .topic = d->topic, .buf = a->payload, .cap = PAYLOAD_MAX,
                      .next_gap_us = d->interval_us };
    int got = SUBSYSTEMS[d->sys].emit(d, &s, &e);
    d->primed = 1;
    *gap_us = e.next_gap_us > 0 ? e.next_gap_us : 0;
    *idle = e.idle;
    if (got < 0) {
        fprintf(stderr, "iocd-sim: payload for %s does not fit\n", d->id);
        a->fatal = 1;
        return -1;
    }
    if (got == 0)
        return 1;
    if (acquire_slot(a) != 0)
        return -1;
    int rc = mosquitto_publish(a->mosq, NULL, e.topic, (int)e.len, e.buf, a->opt->qos, false);
    if (rc == MOSQ_ERR_SUCCESS) {
        a->published++;
        return 0;
    }
    pthread_mutex_lock(&a->lock);
    if (a->inflight > 0)
        a->inflight--;
    pthread_mutex_unlock(&a->lock);
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) { /* broker away: drop it */
        a->failed++;
        return sleep_until(a, mono_us() + 100000) < 0 ? -1 : 0;
    }
    fprintf(stderr, "iocd-sim: publish to %s failed: %s\n", e.topic, mosquitto_strerror(rc));
    a->fatal = 1;
    return -1;
}

static int count_reached(const struct app *a)
{
    return a->opt->count && a->published >= a->opt->count;
}

/* Per-device due times: a min-heap on each device's next due time. Periodic
 * devices come back every interval; event devices when their drawn gap says. */
static void run_schedule(struct app *a)
{
    const struct options *o = a->opt;
    int64_t base = o->fast ? o->start_ms * 1000 : a->t_begin_us;
    int64_t deadline = o->duration_s > 0 ? base + llround(o->duration_s * 1e6) : INT64_MAX;
    for (size_t i = 0; i < a->ndev; i++) {
        a->dev[i].next_due_us += base;
        a->heap[i] = i;
    }
    heap_build(a->heap, a->ndev, a->dev);

    while (!g_stop && !count_reached(a)) {
        if (take_rebirth(a)) { /* every lighting device due now: NBIRTH, then the DBIRTHs */
            int64_t now = o->fast ? a->dev[a->heap[0]].next_due_us : mono_us();
            for (size_t i = 0; i < a->ndev; i++)
                if (a->dev[i].first == a->edge)
                    a->dev[i].next_due_us = now;
            heap_build(a->heap, a->ndev, a->dev);
        }
        struct device *d = &a->dev[a->heap[0]];
        int64_t due = d->next_due_us, now_ms;
        if (o->fast) {
            if (due >= deadline)
                break;
            now_ms = floor_div(due, 1000);
        } else {
            if (sleep_until(a, due < deadline ? due : deadline) != 0 || mono_us() >= deadline)
                break;
            now_ms = wall_ms();
        }
        int64_t gap;
        int idle;
        if (sample_device(a, d, now_ms, &gap, &idle) < 0)
            break;
        if (idle) {
            d->next_due_us = INT64_MAX;
        } else {
            d->next_due_us = due + gap;
            int64_t now = mono_us();
            if (!o->fast && d->next_due_us < now) { /* fell behind */
                if (gap == d->interval_us) /* periodic: skip missed slots, keep the phase */
                    d->next_due_us += (now - d->next_due_us) / d->interval_us * d->interval_us +
                                      d->interval_us;
                else /* events: late, but none lost */
                    d->next_due_us = now;
            }
        }
        heap_sift_down(a->heap, a->ndev, a->dev, 0);
        maybe_status(a);
    }
}

/* --rate R: round robin over all devices, R messages per (real or simulated) second.
 * A device with nothing to send (the lighting edge node between births) passes its
 * turn to the next one. */
static void run_rate(struct app *a)
{
    const struct options *o = a->opt;
    double step_ms = o->rate > 0 ? 1000.0 / o->rate : 1.0; /* simulated, fast mode */
    int64_t sim_end = o->start_ms + llround(o->duration_s * 1000.0);
    int64_t deadline = o->duration_s > 0 ? a->t_begin_us + llround(o->duration_s * 1e6)
                                         : INT64_MAX;
    int64_t pace_base = a->t_begin_us;
    uint64_t k = 0, pace_k = 0;
    size_t next = 0, passed = 0;
    while (!g_stop && !count_reached(a)) {
        take_rebirth(a);
        int64_t now_ms;
        if (o->fast) {
            now_ms = o->start_ms + (int64_t)floor((double)k * step_ms);
            if (o->duration_s > 0 && now_ms >= sim_end)
                break;
        } else {
            if (o->rate > 0) {
                int64_t target = pace_base + (int64_t)((double)(k - pace_k) * 1e6 / o->rate);
                if (sleep_until(a, target < deadline ? target : deadline) != 0)
                    break;
                if (mono_us() > target + 1000000) { /* far behind: do not burst */
                    pace_base = mono_us();
                    pace_k = k;
                }
            }
            if (mono_us() >= deadline)
                break;
            now_ms = wall_ms();
        }
        int64_t gap;
        int idle;
        int rc = sample_device(a, &a->dev[next], now_ms, &gap, &idle);
        if (rc < 0)
            break;
        next = (next + 1) % a->ndev;
        if (rc == 1) {
            if (++passed >= a->ndev) { /* only a Sparkplug edge node, offline: wait */
                passed = 0;
                if (sleep_until(a, mono_us() + 100000) != 0)
                    break;
            }
            continue;
        }
        passed = 0;
        k++;
        maybe_status(a);
    }
}

/* Connects, retrying for up to 10 s, and waits for the CONNACK. */
static int connect_broker(struct app *a)
{
    const struct options *o = a->opt;
    int64_t deadline = mono_us() + CONNECT_WINDOW_US;
    int rc;
    for (;;) {
        rc = mosquitto_connect(a->mosq, o->host, o->port, 30);
        if (rc == MOSQ_ERR_SUCCESS)
            break;
        if (g_stop || mono_us() >= deadline) {
            fprintf(stderr, "iocd-sim: cannot connect to %s:%d: %s\n", o->host, o->port,
                    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
            return -1;
        }
        struct timespec ts = { 0, 250000000L };
        nanosleep(&ts, NULL);
    }
    /* The network thread must not take SIGINT/SIGTERM: keep them for main. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = mosquitto_loop_start(a->mosq);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "iocd-sim: cannot start network thread: %s\n", mosquitto_strerror(rc));
        return -1;
    }
    if (deadline < mono_us() + 2000000)
        deadline = mono_us() + 2000000;
    pthread_mutex_lock(&a->lock);
    while (!a->got_connack && !g_stop && mono_us() < deadline)
        cond_wait_until(a, mono_us() + 100000 < deadline ? mono_us() + 100000 : deadline);
    int got = a->got_connack, crc = a->connack_rc;
    pthread_mutex_unlock(&a->lock);
    if (!got || crc != 0) {
        fprintf(stderr, "iocd-sim: broker %s:%d %s\n", o->host, o->port,
                got ? mosquitto_connack_string(crc) : "did not answer CONNECT");
        mosquitto_disconnect(a->mosq);
        mosquitto_loop_stop(a->mosq, true);
        return -1;
    }
    return 0;
}

/* Waits up to 5 s for outstanding acknowledgements; returns how many are left. */
static long drain(struct app *a)
{
    int64_t deadline = mono_us() + DRAIN_WINDOW_US;
    pthread_mutex_lock(&a->lock);
    while (a->inflight > 0 && mono_us() < deadline)
        cond_wait_until(a, mono_us() + 100000 < deadline ? mono_us() + 100000 : deadline);
    long left = a->inflight;
    pthread_mutex_unlock(&a->lock);
    return left;
}

/* Sparkplug: the edge node's NDEATH before the DISCONNECT (which drops the will). */
static void publish_death(struct app *a)
{
    pthread_mutex_lock(&a->lock);
    uint64_t bdseq = a->bdseq;
    int connected = a->connected;
    pthread_mutex_unlock(&a->lock);
    if (!connected)
        return;
    const struct options *o = a->opt;
    int64_t ts = !o->fast ? wall_ms() : a->last_sim_ms != NO_SAMPLE ? a->last_sim_ms : o->start_ms;
    char topic[TOPIC_MAX];
    unsigned char buf[256];
    size_t len;
    if (lighting_death(bdseq, ts, topic, sizeof topic, buf, sizeof buf, &len) != 0)
        return;
    pthread_mutex_lock(&a->lock);
    a->inflight++;
    pthread_mutex_unlock(&a->lock);
    int rc = mosquitto_publish(a->mosq, NULL, topic, (int)len, buf, 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        pthread_mutex_lock(&a->lock);
        a->inflight--;
        pthread_mutex_unlock(&a->lock);
        fprintf(stderr, "iocd-sim: NDEATH not sent: %s\n", mosquitto_strerror(rc));
        return;
    }
    if (drain(a) > 0)
        fprintf(stderr, "iocd-sim: NDEATH unacknowledged after 5 s\n");
}

static int run(struct app *a)
{
    const struct options *o = a->opt;
    a->mosq = mosquitto_new(o->client_id, true, a);
    if (!a->mosq) {
        fprintf(stderr, "iocd-sim: mosquitto_new: %s\n", strerror(errno));
        return 1;
    }
    long send_max = o->max_inflight > 65535 ? 65535 : o->max_inflight;
    mosquitto_int_option(a->mosq, MOSQ_OPT_SEND_MAXIMUM, (int)send_max);
    mosquitto_reconnect_delay_set(a->mosq, 1, 2, false);
    mosquitto_connect_callback_set(a->mosq, on_connect);
    mosquitto_disconnect_callback_set(a->mosq, on_disconnect);
    mosquitto_publish_callback_set(a->mosq, on_publish);
    mosquitto_message_callback_set(a->mosq, on_message);
    if (a->edge && set_will(a, 0, o->fast ? o->start_ms : wall_ms()) != 0) {
        fprintf(stderr, "iocd-sim: cannot set the lighting feed's NDEATH will\n");
        mosquitto_destroy(a->mosq);
        return 1;
    }
    if (connect_broker(a) != 0) {
        mosquitto_destroy(a->mosq);
        return 1;
    }

    a->t_begin_us = a->last_status_us = mono_us();
    a->next_status_us = a->t_begin_us + STATUS_PERIOD_US;
    a->last_sim_ms = NO_SAMPLE;
    if (o->rate >= 0)
        run_rate(a);
    else
        run_schedule(a);

    long left = drain(a);
    int64_t t_end = mono_us();
    if (left > 0)
        fprintf(stderr, "iocd-sim: %ld message(s) unacknowledged after 5 s\n", left);
    if (a->failed > 0)
        fprintf(stderr, "iocd-sim: %" PRIu64 " message(s) dropped while disconnected\n",
                a->failed);
    if (a->edge)
        publish_death(a);
    mosquitto_disconnect(a->mosq);
    mosquitto_loop_stop(a->mosq, false);
    mosquitto_destroy(a->mosq);

    double secs = (double)(t_end - a->t_begin_us) / 1e6;
    printf("published %" PRIu64 " messages in %.3f s (%.1f msg/s)\n", a->published, secs,
           secs > 0 ? (double)a->published / secs : 0.0);
    return a->fatal ? 1 : 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps wake up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* --write-registry FILE: the devices these options make, as iocd's
 * registry, written to FILE.tmp and renamed (or to stdout for "-"). */
static int write_registry(const struct options *o)
{
    struct device *dev;
    size_t n;
    if (devices_create(o, o->fast ? o->start_ms : wall_ms(), &dev, &n) != 0) {
        fprintf(stderr, "iocd-sim: cannot create devices (out of memory or topic too long)\n");
        return 1;
    }
    int rc;
    if (strcmp(o->write_registry, "-") == 0) {
        rc = sim_registry_write(stdout, dev, n);
    } else {
        char tmp[4096];
        FILE *f = NULL;
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", o->write_registry) < sizeof tmp)
            f = fopen(tmp, "w");
        rc = f ? sim_registry_write(f, dev, n) : -1;
        if (f && fclose(f) != 0)
            rc = -1;
        if (rc == 0 && rename(tmp, o->write_registry) != 0)
            rc = -1;
        if (rc != 0 && f)
            remove(tmp);
    }
    devices_destroy(dev, n);
    if (rc != 0) {
        fprintf(stderr, "iocd-sim: cannot write %s: %s\n", o->write_registry, strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = { .host = "127.0.0.1", .port = 1883, .qos = 1, .prefix = "pleiku",
                         .scale = 1, .feeds = ALL_FEEDS, .rate = -1.0, .seed = 1,
                         .max_inflight = 1000 };
    snprintf(o.client_id, sizeof o.client_id, "iocd-sim-%ld", (long)getpid());
    int prc = parse_options(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;

    if (o.write_registry)
        return write_registry(&o);

    struct app a;
    memset(&a, 0, sizeof a);
    a.opt = &o;
    if (devices_create(&o, o.fast ? o.start_ms : wall_ms(), &a.dev, &a.ndev) != 0) {
        fprintf(stderr, "iocd-sim: cannot create devices (out of memory or topic too long)\n");
        return 1;
    }
    for (size_t i = 0; i < a.ndev; i++)
        if (SUBSYSTEMS[a.dev[i].sys].emit == lighting_emit && a.dev[i].unit == 0)
            a.edge = &a.dev[i];
    a.heap = calloc(a.ndev, sizeof *a.heap);
    a.payload = malloc(PAYLOAD_MAX);
    pthread_condattr_t ca;
    int sync_ok = pthread_condattr_init(&ca) == 0;
    if (sync_ok) {
        sync_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                  pthread_cond_init(&a.cond, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (sync_ok && pthread_mutex_init(&a.lock, NULL) != 0) {
        pthread_cond_destroy(&a.cond);
        sync_ok = 0;
    }
    if (!a.heap || !a.payload || !sync_ok) {
        fprintf(stderr, "iocd-sim: cannot allocate scheduler state\n");
        if (sync_ok) {
            pthread_cond_destroy(&a.cond);
            pthread_mutex_destroy(&a.lock);
        }
        free(a.payload);
        free(a.heap);
        devices_destroy(a.dev, a.ndev);
        return 1;
    }

    install_signals();
    mosquitto_lib_init();
    int rc = run(&a);
    mosquitto_lib_cleanup();

    pthread_cond_destroy(&a.cond);
    pthread_mutex_destroy(&a.lock);
    free(a.payload);
    free(a.heap);
    devices_destroy(a.dev, a.ndev);
    return rc;
}
