/* tests/fuzz/fuzz_json.c — libFuzzer target for the json adapter, the
 * ISO-8601 parser and the JSON path compiler.
 *
 * Owns: four json adapters built once from a fixed config (fuzz_common.h's
 * set-up), the arena, and a small JSON tree for the paths; all live until
 * the process exits. Each input is decoded as the payload of a message on
 * pleiku/air/GL-AQ01/data and on pleiku/gw/GW-1/data, parsed as a
 * timestamp and compiled as a path. It is also decoded by `fast` (every
 * path a top-level name: daemon/base/json_scan.c's path) and by `full`
 * (the same plus a label on a deeper path that no input is expected to
 * have, so cJSON parses it whole): both must give the same verdict, the
 * same reason text and the same observations, bit for bit. Besides the sanitizers, it checks the adapter's
 * contract and aborts when it is broken. Linked with libFuzzer's main
 * (fuzz_json) or with replay.c (the fuzz-replay-json test). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_TARGET "fuzz_json"
#include "fuzz_common.h"

#include "daemon/base/jsonpath.h"
#include "daemon/base/timeutil.h"

extern const struct iocd_adapter_ops iocd_adapter_json;

static const char config[] = "[adapter air]\n"
                             "topic = pleiku/air/+/data\n"
                             "format = json\n"
                             "device = $.station\n"
                             "time = $.ts\n"
                             "time_offset = +07:00\n"
                             "metric.pm25 = $.pm25 ug/m3\n"
                             "metric.pm10 = $.pm10 ug/m3\n"
                             "metric.no2 = $.no2 ug/m3\n"
                             "metric.temperature = $.temp Cel\n"
                             "metric.humidity = $.rh %\n"
                             "metric.first = $.readings[0].v\n"
                             "metric.last = $.readings[-1]['v']\n"
                             "metric.deep = $.a.b.c.d[2] m\n"
                             "metric.spaced = $['with space'] 1\n"
                             "metric.status = $.status\n"
                             "states = status, pm10\n"
                             /* A gateway: records, envelope paths, status, labels, scale. */
                             "[adapter gw]\n"
                             "topic = pleiku/gw/+/data\n"
                             "format = json\n"
                             "records = $.data\n"
                             "device = $.station\n"
                             "time = ^$.ts\n"
                             "status = $.status\n"
                             "invalid = calibrating, error\n"
                             "label.gateway = ^$.gateway\n"
                             "labels = all_strings\n"
                             "metric.pm25 = $.pm25 ug/m3\n"
                             "metric.temp = $.t_dC Cel scale=0.1 offset=0\n"
                             /* The scanner's path and the full parse, to agree. */
                             "[adapter fast]\n"
                             "topic = pleiku/fast/+/data\n"
                             "format = json\n"
                             "device = $.station\n"
                             "time = $.ts\n"
                             "status = $.status\n"
                             "invalid = calibrating\n"
                             "label.gateway = $.gateway\n"
                             "metric.pm25 = $.pm25 ug/m3\n"
                             "metric.temp = $.t_dC Cel scale=0.1 offset=0\n"
                             "metric.spaced = $['with space'] 1\n"
                             "metric.again = $.pm25 ug/m3\n"
                             "states = pm25, spaced\n"
                             "[adapter full]\n"
                             "topic = pleiku/fast/+/data\n"
                             "format = json\n"
                             "device = $.station\n"
                             "time = $.ts\n"
                             "status = $.status\n"
                             "invalid = calibrating\n"
                             "label.gateway = $.gateway\n"
                             "label.never = $.zz_never.zz\n"
                             "metric.pm25 = $.pm25 ug/m3\n"
                             "metric.temp = $.t_dC Cel scale=0.1 offset=0\n"
                             "metric.spaced = $['with space'] 1\n"
                             "metric.again = $.pm25 ug/m3\n"
                             "states = pm25, spaced\n";

/* A small tree for the compiled paths to walk. */
static const char path_doc[] = "{\"a\":{\"b\":[1,{\"c\":\"x\"},[true,null]]},\"with space\":1,"
                               "\"$\":{\"[\":2},\"list\":[[[[0]]]]}";

static struct fuzz_setup g;
static cJSON *doc;

static void setup_once(void)
{
    if (g.ready)
        return;
    fuzz_setup_once(&g, &iocd_adapter_json, config, 4, true, 4u << 20);
    doc = cJSON_Parse(path_doc);
    CHECK(doc != NULL);
}

static void decode(void *adapter, const char *topic, const char *source, const uint8_t *data,
                   size_t size)
{
    struct iocd_batch b;
    enum iocd_reject r = fuzz_decode(&g, adapter, topic, data, size, &b);
    if (r == IOCD_REJECT_NONE) {
        CHECK(b.n_obs > 0);
        for (size_t i = 0; i < b.n_obs; i++) {
            const Ioc__V1__Observation *o = b.obs[i];
            CHECK(o && o->source && o->device && o->metric && o->unit);
            CHECK(strcmp(o->source, source) == 0);
            size_t dl = strlen(o->device);
            CHECK(dl > 0 && dl <= 128 && !strpbrk(o->device, "/+#"));
            CHECK(o->observed_ms >= 0 && o->observed_ms <= IOCD_TIME_MAX_MS);
            CHECK(o->received_ms == FUZZ_RECEIVED);
            CHECK(o->quality == IOC__V1__QUALITY__QUALITY_GOOD ||
                  o->quality == IOC__V1__QUALITY__QUALITY_INVALID);
            /* Touch the value: an uninitialised read shows up under MSan. */
            CHECK(o->value == o->value || isnan(o->value));
        }
    } else {
        fuzz_check_rejected(&b);
    }
    iocd_batch_reset(&b);
}

/* The verdict of `adapter` on the input as text: the reason and its
 * detail, or every observation (but its source: the section's name) with
 * its value's bits and its labels. */
static size_t verdict(void *adapter, const uint8_t *data, size_t size, char *out, size_t cap)
{
    struct iocd_batch b;
    enum iocd_reject r = fuzz_decode(&g, adapter, "pleiku/fast/F-1/data", data, size, &b);
    size_t n = (size_t)snprintf(out, cap, "%d %s|", (int)r, r ? b.detail : "");
    for (size_t i = 0; r == IOCD_REJECT_NONE && i < b.n_obs && n < cap; i++) {
        const Ioc__V1__Observation *o = b.obs[i];
        uint64_t bits;
        memcpy(&bits, &o->value, sizeof(bits));
        n += (size_t)snprintf(out + n, cap - n, "%s %s %016llx %s %lld %d", o->device, o->metric, (unsigned long long)bits, o->unit,
                              (long long)o->observed_ms, (int)o->quality);
        for (size_t k = 0; k < o->n_labels && n < cap; k++)
            n += (size_t)snprintf(out + n, cap - n, " %s=%s", o->labels[k]->key,
                                  o->labels[k]->value);
        if (n < cap)
            out[n++] = '\n';
    }
    iocd_batch_reset(&b);
    return n < cap ? n : cap;
}

static void fuzz_fast_vs_full(const uint8_t *data, size_t size)
{
    static char a[1 << 14], b[1 << 14];
    size_t na = verdict(g.adapter[2], data, size, a, sizeof(a));
    size_t nb = verdict(g.adapter[3], data, size, b, sizeof(b));
    if (na != nb || memcmp(a, b, na) != 0) {
        fprintf(stderr, "fuzz_json: fast and full paths differ:\n%.*s\n---\n%.*s\n", (int)na, a,
                (int)nb, b);
        abort();
    }
}

static void fuzz_time(const uint8_t *data, size_t size)
{
    int64_t ms = -1;
    if (iocd_time_parse_iso8601((const char *)data, size, 25200, &ms) == 0)
        CHECK(ms >= 0 && ms <= IOCD_TIME_MAX_MS);
    if (size >= sizeof(double)) {
        double v;
        memcpy(&v, data, sizeof(v));
        for (int u = IOCD_TIME_AUTO; u <= IOCD_TIME_US; u++) {
            ms = -1;
            if (iocd_time_from_epoch(v, (enum iocd_time_unit)u, &ms) == 0)
                CHECK(ms >= 0 && ms <= IOCD_TIME_MAX_MS);
        }
    }
}

static void fuzz_path(const uint8_t *data, size_t size)
{
    char *expr = malloc(size + 1);
    CHECK(expr != NULL);
    memcpy(expr, data, size);
    expr[size] = '\0';
    struct iocd_jsonpath *p = NULL;
    struct iocd_error err = {{0}};
    if (iocd_jsonpath_compile(expr, &p, &err) == 0) {
        CHECK(p != NULL);
        CHECK(strcmp(iocd_jsonpath_text(p), expr) == 0);
        (void)iocd_jsonpath_get(p, doc);
        iocd_jsonpath_free(p);
    } else {
        CHECK(p == NULL && err.msg[0] != '\0');
    }
    free(expr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    decode(g.adapter[0], "pleiku/air/GL-AQ01/data", "air", data, size);
    decode(g.adapter[1], "pleiku/gw/GW-1/data", "gw", data, size);
    fuzz_fast_vs_full(data, size);
    fuzz_time(data, size);
    fuzz_path(data, size);
    return 0;
}
