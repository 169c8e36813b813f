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
#include <string.h>

#define FUZZ_TARGET "fuzz_event"
#include "fuzz_common.h"

#include "adapters/common.h"
#include "daemon/base/timeutil.h"

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

static struct fuzz_setup g;

/* Strict UTF-8 of s (NUL-terminated), at most max bytes; no control
 * characters when `no_ctl`. */
static bool clean_utf8(const char *s, size_t max, bool no_ctl)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n > max)
        return false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = iocd_adapter_utf8_next(u + i, n - i, &cp);
        if (len == 0 || (no_ctl && (cp < 0x20 || cp == 0x7f)))
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
    CHECK(e->received_ms == FUZZ_RECEIVED);
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

static void decode(size_t idx, const uint8_t *data, size_t size)
{
    struct iocd_batch b;
    enum iocd_reject r = fuzz_decode(&g, g.adapter[idx], topics[idx], data, size, &b);
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
    fuzz_setup_once(&g, &iocd_adapter_event, config, N_ADAPTERS, true, 16u << 20);
    for (size_t i = 0; i < N_ADAPTERS; i++)
        decode(i, data, size);
    return 0;
}
