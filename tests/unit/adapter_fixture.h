/* tests/unit/adapter_fixture.h — the fixture the adapter tests share.
 *
 * Owns: one adapter built from config text (its parsed config and state),
 * the arena and a batch to decode into, and the receive time the tests'
 * messages carry (RECEIVED unless a test sets f->received); fx_free frees
 * them all.
 *
 * Define FX_OPS as the adapter's ops (e.g. iocd_adapter_influx) before
 * including; define FX_CHECK_USED to also require that create() marks every
 * key it read as used (all but the core's own: topic, format, source). */
#ifndef IOCD_TEST_ADAPTER_FIXTURE_H
#define IOCD_TEST_ADAPTER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/adapter.h"
#include "daemon/base/arena.h"
#include "daemon/base/ini.h"

#define RECEIVED INT64_C(1795341846500) /* 2026-11-22T10:04:06.500Z */

struct fx {
    struct iocd_ini ini;
    void *state;
    struct iocd_arena arena;
    struct iocd_batch batch;
    int64_t received; /* RECEIVED after fx_create */
};

/* Parses `text` as test.conf and runs create() on its first section with
 * source = the section's NAME. Returns create's result; err has the message. */
static inline int fx_create(struct fx *f, const char *text, struct iocd_error *err)
{
    memset(f, 0, sizeof(*f));
    iocd_arena_init(&f->arena, 0);
    iocd_batch_init(&f->batch, &f->arena);
    f->received = RECEIVED;
    if (iocd_ini_parse(&f->ini, "test.conf", text, err) != 0)
        fail_msg("config did not parse: %s", err->msg);
    assert_true(f->ini.n_sections >= 1);
    struct iocd_ini_section *s = &f->ini.sections[0];
    f->state = (void *)f; /* create must set it */
    int rc = FX_OPS.create(&f->ini, s, s->arg, &f->state, err);
    if (rc != 0) {
        assert_null(f->state);
    } else {
        assert_non_null(f->state);
#ifdef FX_CHECK_USED
        /* every key create() read is marked used; the core's own too */
        for (size_t i = 0; i < s->n_entries; i++)
            if (strcmp(s->entries[i].key, "topic") && strcmp(s->entries[i].key, "format") &&
                strcmp(s->entries[i].key, "source") && !s->entries[i].used)
                fail_msg("key '%s' not marked used", s->entries[i].key);
#endif
    }
    return rc;
}

static inline struct fx *fx_new(const char *text)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct iocd_error err = {{0}};
    if (fx_create(f, text, &err) != 0)
        fail_msg("create failed: %s", err.msg);
    return f;
}

static inline void fx_free(struct fx *f)
{
    FX_OPS.destroy(f->state);
    iocd_arena_free(&f->arena);
    iocd_ini_free(&f->ini);
    free(f);
}

#endif
