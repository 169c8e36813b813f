/* daemon/store/store.c — the store interface's dispatch (see store.h).
 *
 * Owns: nothing but the calls from iocd_store_* to the backend's table and
 * iocd_flush_free (the flush rows belong to no backend). */
#include "daemon/store/store.h"

#include <stdlib.h>

#include "daemon/aggregate/sketch.h"

int iocd_store_open(struct iocd_store **out, const struct iocd_store_backend *backend,
                    const char *path, struct iocd_error *err)
{
    struct iocd_store *st = NULL;
    if (backend->open(&st, path, err))
        return -1;
    st->backend = backend;
    if (backend->migrate(st, err)) {
        backend->close(st);
        return -1;
    }
    *out = st;
    return 0;
}

int iocd_store_migrate(struct iocd_store *st, struct iocd_error *err)
{
    return st->backend->migrate(st, err);
}

void iocd_store_close(struct iocd_store *st)
{
    if (st)
        st->backend->close(st);
}

int iocd_store_each_series(struct iocd_store *st, iocd_store_series_cb cb, void *ud,
                           struct iocd_error *err)
{
    return st->backend->each_series(st, cb, ud, err);
}

int iocd_store_set_meta(struct iocd_store *st, const char *key, const char *value,
                        struct iocd_error *err)
{
    return st->backend->set_meta(st, key, value, err);
}

int iocd_store_get_meta(struct iocd_store *st, const char *key, char **value,
                        struct iocd_error *err)
{
    return st->backend->get_meta(st, key, value, err);
}

void iocd_store_flush(struct iocd_store *st, struct iocd_flush *f)
{
    st->backend->flush(st, f);
}

int iocd_store_read_raw(struct iocd_store *st, size_t seed, iocd_store_sample_cb cb, void *ud,
                        uint64_t *next_journal_id, struct iocd_error *err)
{
    return st->backend->read_raw(st, seed, cb, ud, next_journal_id, err);
}

uint64_t iocd_store_window_jrnl(struct iocd_store *st, uint32_t series_id, uint32_t res_s,
                                int64_t start_ms)
{
    return st->backend->window_jrnl(st, series_id, res_s, start_ms);
}

int iocd_store_read_windows(struct iocd_store *st, const char *source, uint32_t res_s,
                            int64_t since_ms, iocd_store_window_cb cb, void *ud,
                            struct iocd_error *err)
{
    return st->backend->read_windows(st, source, res_s, since_ms, cb, ud, err);
}

int iocd_store_series_windows(struct iocd_store *st, uint32_t series_id, uint32_t res_s,
                              int64_t span_ms, iocd_store_row_cb cb, void *ud,
                              struct iocd_error *err)
{
    return st->backend->series_windows(st, series_id, res_s, span_ms, cb, ud, err);
}

int iocd_store_each_device(struct iocd_store *st, iocd_store_device_cb cb, void *ud,
                           struct iocd_error *err)
{
    return st->backend->each_device(st, cb, ud, err);
}

int iocd_store_each_raised_alert(struct iocd_store *st, int64_t since_ms, iocd_store_alert_cb cb,
                                 void *ud, struct iocd_error *err)
{
    return st->backend->each_raised_alert(st, since_ms, cb, ud, err);
}

int iocd_store_each_silence(struct iocd_store *st, int64_t now_ms, iocd_store_silence_cb cb,
                            void *ud, struct iocd_error *err)
{
    return st->backend->each_silence(st, now_ms, cb, ud, err);
}

int iocd_store_each_open_case(struct iocd_store *st, int64_t since_ms, iocd_store_case_cb cb,
                              void *ud, struct iocd_error *err)
{
    return st->backend->each_open_case(st, since_ms, cb, ud, err);
}

int iocd_store_each_state_series(struct iocd_store *st, iocd_store_state_cb cb, void *ud,
                                 struct iocd_error *err)
{
    return st->backend->each_state_series ? st->backend->each_state_series(st, cb, ud, err) : 0;
}

void iocd_flush_free(struct iocd_flush *f)
{
    while (f) {
        struct iocd_flush *next = f->next;
        iocd_series_new_free(f->series, f->n_series);
        for (size_t i = 0; i < f->n_events; i++)
            free(f->events[i].block);
        free(f->samples);
        for (size_t i = 0; i < f->n_windows; i++)
            iocd_window_release(&f->windows[i]);
        free(f->events);
        iocd_device_rows_free(f->devices, f->n_devices);
        free(f->windows);
        free(f->replaces);
        free(f->counters);
        free(f->state_rows);
        free(f->state_latest);
        free(f);
        f = next;
    }
}
