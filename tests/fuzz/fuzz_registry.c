/* tests/fuzz/fuzz_registry.c — libFuzzer target for the device registry's
 * parser (daemon/config/registry.c), which reads [devices] registry at
 * start and on every reload.
 *
 * Owns: the per-input registry. For every input, as CSV or JSON by its
 * content: the parse either fails with a "reg:..." message and no
 * registry, or succeeds with rows whose source and device are valid ids,
 * whose positions are finite and in range (both or neither), with at most
 * IOCD_REGISTRY_TAGS_MAX tags each, found again by their own key, with
 * distinct keys and lines (CSV) or indexes (JSON) in increasing order.
 * Violations abort. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_registry: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iocd_registry *r = (struct iocd_registry *)data; /* must be reset */
    struct iocd_error err = {{0}};
    int rc = iocd_registry_parse((const char *)data, size, "reg", 7, &r, &err);
    if (rc != 0) {
        CHECK(rc == -1);
        CHECK(r == NULL);
        CHECK(strncmp(err.msg, "reg", 3) == 0);
        return 0;
    }
    CHECK(r != NULL);
    size_t n = iocd_registry_count(r);
    CHECK(n <= IOCD_REGISTRY_ROWS_MAX);
    for (size_t i = 0; i < n; i++) {
        const struct iocd_registry_entry *e = iocd_registry_at(r, i);
        CHECK(e);
        CHECK(iocd_registry_id_ok(e->source, strlen(e->source)));
        CHECK(iocd_registry_id_ok(e->device, strlen(e->device)));
        CHECK(!e->area[0] || iocd_registry_id_ok(e->area, strlen(e->area)));
        CHECK(!e->subsystem[0] || iocd_registry_id_ok(e->subsystem, strlen(e->subsystem)));
        CHECK(strlen(e->name) <= IOCD_REGISTRY_NAME_MAX);
        CHECK(e->n_tags <= IOCD_REGISTRY_TAGS_MAX);
        CHECK((e->n_tags == 0) == (e->tags[0] == '\0'));
        if (e->has_position)
            CHECK(isfinite(e->lat) && isfinite(e->lon) && fabs(e->lat) <= 90 &&
                  fabs(e->lon) <= 180);
        CHECK(e->changed_ms == 7);
        CHECK(e->fixed == iocd_registry_has_tag(e, "fixed"));
        CHECK(iocd_registry_find(r, e->source, e->device) == e);
        CHECK(i == 0 || e->line > iocd_registry_at(r, i - 1)->line);
    }
    CHECK(iocd_registry_at(r, n) == NULL);
    iocd_registry_keep_times(r, r); /* against itself: every time stays */
    for (size_t i = 0; i < n; i++)
        CHECK(iocd_registry_at(r, i)->changed_ms == 7);
    iocd_registry_free(r);
    return 0;
}
