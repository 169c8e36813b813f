/* tests/fuzz/fuzz_event.c — libFuzzer target for the event adapter.
 *
 * Owns: three event adapters built once from fixed configs (one event per
 * object with every optional field mapped; a records array with '^' paths,
 * a severity map, lat/lon and an attribute list; a top-level array with
 * attributes = all) and their arena; all live until the process exits.
 * Each input is decoded as a payload by all three, and the adapter's
 * contract is checked on what comes out: a reject yields no event and no
 * note, every Event has a valid kind, clean device/area/status, a severity
 * in range, valid UTF-8 text and attributes within their limits (sorted),
 * a time in range and a finite location in range. abort() when broken.
 * Linked with libFuzzer's main (fuzz_event) or with replay.c
 * (the fuzz-replay-event test). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "daemon/base/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct iocd_adapter_ops iocd_adapter_event;

static const char config[] = "[adapter citizen]\n"
                             "topic = pleiku/citizen/+/report\n"
                             "format = event\n"
                             "kind = $.category\n"
                             "severity = $.severity\n"
                             "text = $.description\n"
                             "device = topic[2]\n"
                             "area = $.ward\n"
                             "status = $.status\n"
                             "statuses = new, received, assigned, in_progress, resolved, rejected\n"
                             "time = $.reported_at\n"
                             "time_offset = +07:00\n"
                             "location = $.location\n"
                             "\n"
                             "[adapter camera]\n"
                             "topic = pleiku/camera/+/analytics\n"
                             "format = event\n"
                             "records = $.detections\n"
                             "kind = $.type\n"
                             "device = ^$.camera\n"
                             "area = $.zone\n"
                             "severity = $.priority\n"
                             "severity_map = 1:critical, 2:major, 3:minor, p4:warning\n"
                             "status = topic[3]\n"
                             "time = ^$.ts\n"
                             "lat = $.lat\n"
                             "lon = $.lon\n"
                             "attributes = $.confidence, $.count, $.bbox, ^$.site, $['a b']\n"
                             "\n"
                             "[adapter list]\n"
                             "topic = pleiku/events\n"
                             "format = event\n"
                             "records = $\n"
                             "kind = $.k\n"
                             "device = $.d\n"
                             "text = $.t\n"
                             "time = $.ts\n"
                             "time_format = ms\n"
                             "location = $.gps\n";

static const char *const topics[] = {
    "pleiku/citizen/Hội Thương/report",
    "pleiku/camera/CAM-GL-007/analytics",
    "pleiku/events",
};
#define N_ADAPTERS (sizeof(topics) / sizeof(topics[0]))
#define RECEIVED INT64_C(1795341846500)

static struct {
    int ready;
    struct iocd_ini ini;
    void *adapter[N_ADAPTERS];
    struct iocd_arena arena;
} g;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_event: contract broken: %s (%s:%d)\n", #cond, __FILE__,          \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void setup_once(void)
{
    if (g.ready)
        return;
    struct iocd_error err = {{0}};
    if (iocd_ini_parse(&g.ini, "fuzz.conf", config, &err) != 0 || g.ini.n_sections != N_ADAPTERS) {
        fprintf(stderr, "fuzz_event: setup failed: %s\n", err.msg);
        abort();
    }
    for (size_t i = 0; i < N_ADAPTERS; i++) {
        struct iocd_ini_section *s = &g.ini.sections[i];
        if (iocd_adapter_event.create(&g.ini, s, s->arg, &g.adapter[i], &err) != 0) {
            fprintf(stderr, "fuzz_event: setup failed: %s\n", err.msg);
            abort();
        }
    }
    iocd_arena_init(&g.arena, 16u << 20);
    g.ready = 1;
}

/* Strict UTF-8 of s (NUL-terminated), at most max bytes; no control
 * characters when `no_ctl`. */
static bool clean_utf8(const char *s, size_t max, bool no_ctl)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n > max)
        return false;
    for (size_t i = 0; i < n;) {
        unsigned char b = u[i];
        size_t len;
        uint32_t cp, min;
        if (b < 0x80) {
            if (no_ctl && (b < 0x20 || b == 0x7f))
                return false;
            i++;
            continue;
        } else if ((b & 0xe0) == 0xc0) {
            len = 2, cp = b & 0x1f, min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            len = 3, cp = b & 0x0f, min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* 1..64 of [A-Za-z0-9_.-]; "" allowed when `empty_ok`. */
static bool valid_id(const char *s, bool empty_ok)
{
    size_t n = strlen(s);
    if (n == 0)
        return empty_ok;
    if (n > 64)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void check_event(const Ioc__V1__Event *e, const char *source)
{
    CHECK(e && e->kind && e->text && e->device && e->source && e->status && e->area);
    CHECK(strcmp(e->source, source) == 0);
    CHECK(valid_id(e->kind, false));
    CHECK(valid_id(e->status, true));
    /* status ids are lowercase */
    for (const char *p = e->status; *p; p++)
        CHECK(!(*p >= 'A' && *p <= 'Z'));
    CHECK(e->severity >= IOC__V1__SEVERITY__SEVERITY_UNSPECIFIED &&
          e->severity <= IOC__V1__SEVERITY__SEVERITY_CRITICAL);
    CHECK(clean_utf8(e->device, 128, true) && !strpbrk(e->device, "/+#"));
    CHECK(clean_utf8(e->area, 128, true) && !strpbrk(e->area, "/+#"));
    /* labels are trimmed */
    size_t dl = strlen(e->device), al = strlen(e->area);
    CHECK(dl == 0 || (e->device[0] != ' ' && e->device[dl - 1] != ' '));
    CHECK(al == 0 || (e->area[0] != ' ' && e->area[al - 1] != ' '));
    CHECK(clean_utf8(e->text, 4096, false));
    CHECK(e->time_ms >= 0 && e->time_ms <= IOCD_TIME_MAX_MS);
    CHECK(e->received_ms == RECEIVED);
    if (e->location) {
        CHECK(isfinite(e->location->lat) && isfinite(e->location->lon));
        CHECK(fabs(e->location->lat) <= 90 && fabs(e->location->lon) <= 180);
    }
    CHECK(e->n_attributes <= 32);
    for (size_t i = 0; i < e->n_attributes; i++) {
        const Ioc__V1__Event__AttributesEntry *a = e->attributes[i];
        CHECK(a && a->key && a->value);
        CHECK(a->key[0] != '\0' && clean_utf8(a->key, 64, true));
        CHECK(clean_utf8(a->value, 512, false));
        if (i > 0)
            CHECK(strcmp(e->attributes[i - 1]->key, a->key) < 0);
    }
}

static void fuzz_decode(size_t idx, const uint8_t *data, size_t size)
{
    struct iocd_batch b;
    iocd_batch_init(&b, &g.arena);
    struct iocd_message m = {topics[idx], data, size, RECEIVED};
    enum iocd_reject r = iocd_adapter_event.decode(g.adapter[idx], &m, &b);
    CHECK((unsigned)r < IOCD_REJECT__COUNT);
    CHECK(b.n_obs == 0);
    CHECK(memchr(b.detail, '\0', sizeof(b.detail)) != NULL);
    CHECK(memchr(b.note_detail, '\0', sizeof(b.note_detail)) != NULL);
    CHECK(b.notes[IOCD_NOTE_SEQ_GAP] == 0);
    if (r == IOCD_REJECT_NONE) {
        CHECK(b.n_events > 0);
        /* at most one note per event and one for skipped records */
        CHECK(b.notes[IOCD_NOTE_PARTIAL] <= b.n_events + 1);
        for (size_t i = 0; i < b.n_events; i++)
            check_event(b.events[i], g.ini.sections[idx].arg);
    } else {
        CHECK(r != IOCD_REJECT_NOT_FINITE && r != IOCD_REJECT_INVALID);
        CHECK(b.n_events == 0);
        CHECK(b.notes[IOCD_NOTE_PARTIAL] == 0);
        CHECK(b.detail[0] != '\0');
    }
    iocd_batch_reset(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    for (size_t i = 0; i < N_ADAPTERS; i++)
        fuzz_decode(i, data, size);
    return 0;
}
