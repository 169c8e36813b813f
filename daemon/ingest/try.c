/* daemon/ingest/try.c — `iocd --try` (see try.h). */
#include "daemon/ingest/try.h"
#include "daemon/base/json_text.h"
#include "daemon/base/severity.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "daemon/base/arena.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/pipeline/unit_norm.h"
#include "daemon/base/timeutil.h"

#define TRY_MAX_FILE (16u << 20)

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[40];
    iocd_time_format(ms, buf, sizeof(buf));
    cJSON_AddStringToObject(o, key, buf);
}

static void add_location(cJSON *o, const Ioc__V1__Location *l)
{
    if (!l)
        return;
    cJSON *loc = cJSON_AddObjectToObject(o, "location");
    cJSON_AddNumberToObject(loc, "lat", l->lat);
    cJSON_AddNumberToObject(loc, "lon", l->lon);
}

static void print_line(FILE *out, cJSON *o)
{
    char *s = iocd_json_print(o);
    if (s)
        fprintf(out, "%s\n", s);
    free(s);
    cJSON_Delete(o);
}

static const char *quality_name(Ioc__V1__Quality q)
{
    switch (q) {
    case IOC__V1__QUALITY__QUALITY_GOOD:
        return "good";
    case IOC__V1__QUALITY__QUALITY_INVALID:
        return "invalid";
    case IOC__V1__QUALITY__QUALITY_SUSPECT:
        return "suspect";
    default:
        return "unspecified";
    }
}

/* What the series' canonical unit makes of the sample (docs/units.md). */
struct canonical {
    const char *unit; /* NULL: nothing to show */
    const char *origin;
    double value;
};

static void print_observation(FILE *out, const char *source, const Ioc__V1__Observation *ob,
                              const struct canonical *cn, enum iocd_reject r, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    char series[512];
    snprintf(series, sizeof(series), "%s/%s/%s", source, ob->device, ob->metric);
    cJSON_AddStringToObject(o, "observation", series);
    if (ob->state && ob->state[0]) /* docs/states.md */
        cJSON_AddStringToObject(o, "state", ob->state);
    else
        cJSON_AddNumberToObject(o, "value", ob->value);
    cJSON_AddStringToObject(o, "unit", ob->unit);
    add_time(o, "observed", ob->observed_ms);
    add_time(o, "received", ob->received_ms);
    cJSON_AddStringToObject(o, "quality", quality_name(ob->quality));
    add_location(o, ob->location);
    if (cn->unit) {
        cJSON *c = cJSON_AddObjectToObject(o, "canonical");
        if (r == IOCD_REJECT_NONE)
            cJSON_AddNumberToObject(c, "value", cn->value);
        cJSON_AddStringToObject(c, "unit", cn->unit);
        cJSON_AddStringToObject(c, "from", cn->origin);
    }
    if (ob->n_labels) {
        cJSON *l = cJSON_AddObjectToObject(o, "labels");
        for (size_t i = 0; i < ob->n_labels; i++)
            cJSON_AddStringToObject(l, ob->labels[i]->key, ob->labels[i]->value);
    }
    if (r != IOCD_REJECT_NONE) {
        cJSON_AddStringToObject(o, "rejected", iocd_reject_name(r));
        cJSON_AddStringToObject(o, "detail", detail);
    }
    print_line(out, o);
}

static void print_event(FILE *out, const char *source, const Ioc__V1__Event *ev,
                        enum iocd_reject r, const char *detail)
{
    const char *sev = iocd_severity_name(ev->severity);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", ev->kind);
    cJSON_AddStringToObject(o, "source", source);
    cJSON_AddStringToObject(o, "severity", sev ? sev : "unknown");
    cJSON_AddStringToObject(o, "text", ev->text);
    cJSON_AddStringToObject(o, "device", ev->device);
    cJSON_AddStringToObject(o, "area", ev->area);
    cJSON_AddStringToObject(o, "status", ev->status);
    add_time(o, "time", ev->time_ms);
    add_location(o, ev->location);
    cJSON *a = cJSON_AddObjectToObject(o, "attributes");
    for (size_t i = 0; i < ev->n_attributes; i++)
        cJSON_AddStringToObject(a, ev->attributes[i]->key, ev->attributes[i]->value);
    if (r != IOCD_REJECT_NONE) {
        cJSON_AddStringToObject(o, "rejected", iocd_reject_name(r));
        cJSON_AddStringToObject(o, "detail", detail);
    }
    print_line(out, o);
}

static char *read_file(const char *path, size_t *len, FILE *errout)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(errout, "iocd: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(TRY_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, TRY_MAX_FILE + 1, f) : 0;
    int bad = !buf || ferror(f) || n > TRY_MAX_FILE;
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(errout, "iocd: %s: cannot read (or larger than 16 MiB)\n", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The filter with every wildcard level replaced by "x". */
static char *example_topic(const char *filter)
{
    size_t n = strlen(filter);
    char *t = malloc(n + 1);
    if (!t)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        t[i] = (filter[i] == '+' || filter[i] == '#') ? 'x' : filter[i];
    return t;
}

int iocd_try_run(const struct iocd_config *cfg, const char *adapter, const char *path,
                 const char *topic, FILE *out, FILE *errout)
{
    const struct iocd_adapter_conf *a = NULL;
    for (int i = 0; i < cfg->n_adapters; i++)
        if (strcmp(cfg->adapters[i].name, adapter) == 0)
            a = &cfg->adapters[i];
    if (!a) {
        fprintf(errout, "iocd: --try: no [adapter %s] in %s\n", adapter,
                cfg->path ? cfg->path : "the embedded defaults");
        return 2;
    }
    size_t len;
    char *payload = read_file(path, &len, errout);
    if (!payload)
        return 2;
    char *owned_topic = topic ? NULL : example_topic(a->filter);
    struct iocd_message msg = {
        .topic = topic ? topic : owned_topic,
        .payload = (const uint8_t *)payload,
        .len = len,
        .received_ms = iocd_now_ms(),
    };
    struct iocd_arena arena;
    struct iocd_batch b;
    iocd_arena_init(&arena, 64u << 20);
    iocd_batch_init(&b, &arena);
    int rc = 0;
    enum iocd_reject r;
    if ((int64_t)len > cfg->ingest.max_payload)
        r = iocd_batch_fail(&b, IOCD_REJECT_TOO_LARGE, "%zu bytes, [ingest] max_payload is %lld",
                            len, (long long)cfg->ingest.max_payload);
    else
        r = a->ops->decode(a->state, &msg, &b);
    if (r == IOCD_REJECT_NONE && b.n_obs == 0 && b.n_events == 0)
        r = iocd_batch_fail(&b, IOCD_REJECT_MISSING_FIELD, "decoded to nothing");
    if (r != IOCD_REJECT_NONE) {
        fprintf(out, "rejected: %s: %s\n", iocd_reject_name(r), b.detail);
        rc = 1;
    } else {
        char detail[192];
        /* Units as the pipeline takes them for a new series: [units] and
         * [aqi] are known here, the units of stored series are not. */
        struct iocd_unit_norm *units = iocd_unit_norm_new(cfg);
        for (size_t i = 0; i < b.n_obs; i++) {
            const Ioc__V1__Observation *ob = b.obs[i];
            detail[0] = '\0';
            enum iocd_reject or = iocd_pipeline_check_observation(cfg, ob, msg.received_ms,
                                                                  detail, sizeof(detail));
            struct canonical cn = {NULL, NULL, ob->value};
            const struct iocd_unit_profile *prof =
                or == IOCD_REJECT_NONE && units && !(ob->state && ob->state[0])
                    ? iocd_unit_norm_profile(units, a->source, ob->device, ob->metric, ob->unit)
                    : NULL;
            if (prof && strcmp(iocd_unit_profile_unit(prof), ob->unit) != 0) {
                cn.unit = iocd_unit_profile_unit(prof);
                cn.origin = iocd_unit_profile_origin(prof);
                if (iocd_unit_norm_convert_profile(units, prof, ob->unit, &cn.value)) {
                    or = IOCD_REJECT_UNIT_MISMATCH;
                    snprintf(detail, sizeof(detail),
                             "unit '%.40s' does not convert to the series' unit '%.40s'",
                             ob->unit, cn.unit);
                }
            }
            print_observation(out, a->source, ob, &cn, or, detail);
            rc |= or != IOCD_REJECT_NONE;
        }
        iocd_unit_norm_free(units);
        for (size_t i = 0; i < b.n_events; i++) {
            detail[0] = '\0';
            enum iocd_reject er = iocd_pipeline_check_event(cfg, b.events[i], msg.received_ms,
                                                            detail, sizeof(detail));
            print_event(out, a->source, b.events[i], er, detail);
            rc |= er != IOCD_REJECT_NONE;
        }
        for (int n = 0; n < IOCD_NOTE__COUNT; n++)
            if (b.notes[n])
                fprintf(out, "note: %s (%u): %s\n", iocd_note_name((enum iocd_note)n), b.notes[n],
                        b.note_text[n]);
    }
    /* What iocd would publish for this message (not published here). */
    for (size_t i = 0; i < b.n_commands; i++)
        fprintf(out, "command: %s (%zu bytes, QoS %d%s): %s\n", b.commands[i]->topic,
                b.commands[i]->len, b.commands[i]->qos, b.commands[i]->retain ? ", retained" : "",
                b.commands[i]->why);
    iocd_arena_free(&arena);
    free(owned_topic);
    free(payload);
    return rc;
}
