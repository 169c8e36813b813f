/* daemon/pipeline/pipeline.c — validation, aggregation and the flush cycle (see
 * pipeline.h). */
#include "daemon/pipeline/pipeline.h"
#include "daemon/config/diff.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/common.h"
#include "daemon/alerts/devices.h"
#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"

/* Remember which adapter series `id` belongs to (-1: none configured now). */
static int set_series_adapter(struct iocd_pipeline *p, uint32_t id, int idx)
{
    if (id >= p->n_series_adapter) {
        size_t n = p->n_series_adapter ? p->n_series_adapter : 1024;
        while (n <= id)
            n *= 2;
        int16_t *na = realloc(p->series_adapter, n * sizeof(*na));
        if (!na)
            return -1;
        for (size_t i = p->n_series_adapter; i < n; i++)
            na[i] = -1;
        p->series_adapter = na;
        p->n_series_adapter = n;
    }
    p->series_adapter[id] = (int16_t)idx;
    return 0;
}

/* At start, until the journal is replayed: the names of the AQI feed's
 * stored series by id (replayed samples carry only the id). */
static int keep_aqi_name(struct iocd_pipeline *p, uint32_t id, const char *name)
{
    if (id >= p->n_aqi_names) {
        size_t n = p->n_aqi_names ? p->n_aqi_names : 64;
        while (n <= id)
            n *= 2;
        char **nn = realloc(p->aqi_names, n * sizeof(*nn));
        if (!nn)
            return -1;
        memset(nn + p->n_aqi_names, 0, (n - p->n_aqi_names) * sizeof(*nn));
        p->aqi_names = nn;
        p->n_aqi_names = n;
    }
    free(p->aqi_names[id]);
    return (p->aqi_names[id] = strdup(name)) ? 0 : -1;
}

static void free_aqi_names(struct iocd_pipeline *p)
{
    for (size_t i = 0; i < p->n_aqi_names; i++)
        free(p->aqi_names[i]);
    free(p->aqi_names);
    p->aqi_names = NULL;
    p->n_aqi_names = 0;
}

/* A replayed sample of the AQI feed that its stored 1-hour window lacks:
 * the feed (restored from those windows) gets it too, so a crash neither
 * loses a pollutant sample for the AQI nor computes an emitted hour again. */
static void replay_aqi(struct iocd_pipeline *p, const struct iocd_sample *sm)
{
    const char *name = sm->series_id < p->n_aqi_names ? p->aqi_names[sm->series_id] : NULL;
    const char *dev = name ? strchr(name, '/') : NULL;
    const char *met = dev ? strchr(dev + 1, '/') : NULL;
    char station[IOCD_ID_MAX + 1];
    if (!met || (size_t)(met - dev - 1) > IOCD_ID_MAX)
        return;
    snprintf(station, sizeof(station), "%.*s", (int)(met - dev - 1), dev + 1);
    iocd_aqi_feed_replayed(p->aqi, station, met + 1, sm->t_ms, sm->value, iocd_mono_ms());
}

static int preload_series(void *ud, uint32_t id, const char *name, const char *unit)
{
    struct iocd_pipeline *p = ud;
    size_t n = strcspn(name, "/");
    int idx = -1;
    if (iocd_groups_resolve(p->groups, id, name))
        return -1;
    /* A group's own series belongs to no feed (and counts in none's
     * max_series); it is replayed at the [store] resolutions. */
    bool group = iocd_groups_owner(p->groups, id) >= 0;
    for (int i = 0; !group && i < p->cfg->n_adapters; i++)
        if (strlen(p->cfg->adapters[i].source) == n &&
            strncmp(p->cfg->adapters[i].source, name, n) == 0) {
            p->adapter_series[i]++;
            if (idx < 0)
                idx = i;
        }
    if (set_series_adapter(p, id, idx))
        return -1;
    if (idx >= 0 && idx == iocd_aqi_feed_adapter(p->aqi) && keep_aqi_name(p, id, name))
        return -1;
    if (iocd_unit_norm_preload(p->units, id, name, unit))
        return -1;
    return iocd_series_reg_preload(p->series, id, name);
}

static void restore_case(void *ud, const char *source, const char *case_id, int64_t first_ms)
{
    iocd_cases_restore(ud, source, case_id, first_ms);
}

static void restore_aqi(void *ud, const char *device, const char *metric, int64_t start_ms,
                        uint64_t count, double sum)
{
    iocd_aqi_feed_restore(ud, device, metric, start_ms, count, sum, iocd_mono_ms());
}

/* A stored state series, at its feed's resolutions (docs/states.md). */
static int restore_state(void *ud, uint32_t id, const char *names, const char *state,
                         int64_t last_ms, int64_t carried_ms)
{
    struct iocd_pipeline *p = ud;
    int idx = id < p->n_series_adapter ? p->series_adapter[id] : -1;
    const struct iocd_resolutions *res =
        idx >= 0 ? &p->cfg->adapters[idx].resolutions : &p->cfg->store.resolutions;
    return iocd_states_restore(p->states, id, res->ms, res->n, names, state, last_ms, carried_ms);
}

/* At start: remember every recent stored sample in the duplicate horizon
 * (a broker redelivers what the last run stored but had not acknowledged),
 * and put back every sample of the journal that a stored window does not
 * hold yet (crash replay), window by window. */
static int replay_sample(void *ud, uint64_t jrnl, const struct iocd_sample *sm, bool replay)
{
    struct iocd_pipeline *p = ud;
    /* State series: their windows are written whole with the journal
     * entry of their samples (docs/states.md); only the horizon. */
    if (iocd_states_has(p->states, sm->series_id)) {
        iocd_dedup_check(p->dedup, sm->series_id, sm->t_ms);
        return 0;
    }
    /* Group series: never deduplicated (two members may share a time),
     * and a gauge emits no boundary it already stored. Members: their
     * latest values, for the gauges. The group samples are journaled
     * beside the member samples they come from, so the replay puts back
     * both and derives nothing. */
    int owner = iocd_groups_owner(p->groups, sm->series_id);
    if (owner >= 0)
        iocd_groups_emitted(p->groups, owner, sm->t_ms);
    else
        iocd_groups_note(p->groups, sm->series_id, sm->value, sm->t_ms);
    if (!replay) {
        if (owner < 0)
            iocd_dedup_check(p->dedup, sm->series_id, sm->t_ms);
        return 0;
    }
    int idx = sm->series_id < p->n_series_adapter ? p->series_adapter[sm->series_id] : -1;
    const struct iocd_resolutions *res =
        idx >= 0 ? &p->cfg->adapters[idx].resolutions : &p->cfg->store.resolutions;
    if (owner < 0)
        iocd_dedup_check(p->dedup, sm->series_id, sm->t_ms);
    int64_t start0 = iocd_window_start(sm->t_ms, res->ms[0], p->cfg->store.tz_offset_ms);
    int64_t keep0 = iocd_config_retention_ms(p->cfg, res->ms[0]);
    if (res->n > 1 && iocd_agg_nests(p->agg, res->ms, res->n) &&
        !(keep0 > 0 && start0 < iocd_now_ms() - keep0)) {
        /* The sample's coarser rows were written with its finest window
         * (one window carries them all), so that row alone says whether it
         * is stored. A coarser row's own mark is no guide: another finest
         * window of the same hour or day, written by a later flush (the
         * window budget), moves it past samples it does not hold yet.
         * (A finest window past its retention may have been pruned: then
         * each row's own mark, below.) */
        if (iocd_store_window_jrnl(p->store, sm->series_id, (uint32_t)(res->ms[0] / 1000),
                                   start0) >= jrnl)
            return 0;
        if (iocd_agg_add_res(p->agg, sm->series_id, res->ms, res->n, sm->value, sm->t_ms, jrnl))
            return -1;
        for (int r = 0; r < res->n; r++)
            if (res->ms[r] == 3600000 && idx >= 0 && idx == iocd_aqi_feed_adapter(p->aqi))
                replay_aqi(p, sm);
        return 0;
    }
    for (int r = 0; r < res->n; r++) {
        int64_t start = iocd_window_start(sm->t_ms, res->ms[r], p->cfg->store.tz_offset_ms);
        if (iocd_store_window_jrnl(p->store, sm->series_id, (uint32_t)(res->ms[r] / 1000), start) >=
            jrnl)
            continue;
        if (iocd_agg_add_res(p->agg, sm->series_id, &res->ms[r], 1, sm->value, sm->t_ms, jrnl))
            return -1;
        if (res->ms[r] == 3600000 && idx >= 0 && idx == iocd_aqi_feed_adapter(p->aqi))
            replay_aqi(p, sm);
    }
    return 0;
}

int iocd_pipeline_init(struct iocd_pipeline *p, uv_loop_t *loop, const struct iocd_config *cfg,
                       struct iocd_store *store, struct iocd_error *err)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->cfg = cfg;
    p->store = store;
    p->series = iocd_series_reg_new(cfg->ingest.max_series);
    p->agg = iocd_agg_new(cfg->store.resolutions.ms, cfg->store.resolutions.n);
    p->n_scopes = (size_t)cfg->n_adapters + 1;
    p->scopes = calloc(p->n_scopes, sizeof(*p->scopes));
    p->adapter_series = calloc(p->n_scopes, sizeof(*p->adapter_series));
    if (!p->series || !p->agg || !p->scopes || !p->adapter_series)
        return iocd_error_set(err, "out of memory");
    iocd_agg_set_timezone(p->agg, cfg->store.tz_offset_ms);
    if (!(p->groups = iocd_groups_new(cfg)))
        return iocd_error_set(err, "out of memory");
    p->dedup = iocd_dedup_new((size_t)cfg->ingest.dedup_horizon);
    p->aqi = iocd_aqi_feed_new(cfg);
    p->cases = iocd_cases_new(IOCD_CASES_MAX);
    p->units = iocd_unit_norm_new(cfg);
    p->states = iocd_states_new(cfg->state_carry_ms > 0 ? cfg->state_carry_ms : 86400000,
                                cfg->store.tz_offset_ms);
    if (!p->cases || !p->units || !p->states)
        return iocd_error_set(err, "out of memory");
    iocd_groups_set_states(p->groups, p->states);
    if (iocd_store_each_open_case(store, iocd_now_ms() - IOCD_CASES_HORIZON_MS, restore_case,
                                  p->cases, err))
        return -1;
    if (iocd_cases_open(p->cases))
        iocd_log_info("iocd", "open cases: %zu (their resolve times continue)",
                      iocd_cases_open(p->cases));
    for (int i = 0; i < cfg->n_adapters; i++)
        snprintf(p->scopes[i].name, IOCD_SCOPE_MAX, "%s", cfg->adapters[i].name);
    snprintf(p->scopes[cfg->n_adapters].name, IOCD_SCOPE_MAX, "iocd");
    if (iocd_store_each_series(store, preload_series, p, err))
        return -1;
    iocd_unit_norm_preload_done(p->units);
    if (p->aqi) {
        /* The last 48 hours: pollutant sums, and which hours and days
         * already have their VN_AQI (and which), as stored; the journal
         * replay below adds what the stored windows lack. */
        const char *src = cfg->adapters[iocd_aqi_feed_adapter(p->aqi)].source;
        int64_t since = iocd_now_ms() - INT64_C(48) * 3600000;
        if (iocd_store_read_windows(store, src, 3600, since, restore_aqi, p->aqi, err))
            return -1;
    }
    if (iocd_store_each_state_series(store, restore_state, p, err))
        return -1;
    int rc = iocd_store_read_raw(store, (size_t)cfg->ingest.dedup_horizon, replay_sample, p,
                                 &p->next_journal, err);
    free_aqi_names(p);
    if (rc)
        return -1;
    /* Windows replayed from earlier entries are old: written at once. */
    p->old_enough_jrnl = p->next_journal ? p->next_journal - 1 : 0;
    if (!(p->closed = calloc(IOCD_PIPELINE_JRNL_RING, sizeof(*p->closed))))
        return iocd_error_set(err, "out of memory");
    iocd_groups_tick(p->groups, iocd_now_ms(), NULL, NULL); /* arms the gauges' clocks */
    uv_timer_init(loop, &p->flush_timer);
    p->flush_timer.data = p;
    uv_timer_init(loop, &p->quiet_timer);
    p->quiet_timer.data = p;
    p->last_flush_done_ms = iocd_now_ms();
    return 0;
}

static void log_reject(struct iocd_pipeline *p, struct iocd_counter_scope *sc,
                       enum iocd_reject reason, const char *topic, const char *detail)
{
    uint64_t suppressed;
    if (!iocd_ratelimit_allow(&sc->log_limit[reason], iocd_now_ms(),
                              p->cfg->log.rate_limit_interval_ms, p->cfg->log.rate_limit_burst,
                              &suppressed))
        return;
    struct iocd_log_fields f = {.feed = sc->name, .reason = iocd_reject_name(reason)};
    if (suppressed)
        iocd_log_fields(LOG_WARNING, sc->name, &f, "%" PRIu64 " more %s rejections were not logged",
                        suppressed, iocd_reject_name(reason));
    f.topic = topic;
    iocd_log_fields(LOG_WARNING, sc->name, &f, "rejected message on '%.200s': %s%s%s", topic,
                    iocd_reject_name(reason), detail && *detail ? ": " : "",
                    detail ? detail : "");
}

static void count_reject(struct iocd_pipeline *p, struct iocd_counter_scope *sc,
                         enum iocd_reject reason, const char *topic, const char *detail)
{
    sc->value[IOCD_CTR_REJECT_BASE + reason]++;
    log_reject(p, sc, reason, topic, detail);
}

static enum iocd_reject check_time(const struct iocd_config *cfg, int64_t t, int64_t now_ms,
                                   char *detail, size_t n)
{
    if (t < 0 || t > IOCD_TIME_MAX_MS) {
        snprintf(detail, n, "time %" PRId64 " ms out of range", t);
        return IOCD_REJECT_BAD_TIME;
    }
    if (t > now_ms + cfg->ingest.max_clock_skew_ms) {
        char ts[40];
        iocd_time_format(t, ts, sizeof(ts));
        snprintf(detail, n, "time %s is %" PRId64 " s in the future", ts, (t - now_ms) / 1000);
        return IOCD_REJECT_FUTURE_TIME;
    }
    return IOCD_REJECT_NONE;
}

enum iocd_reject iocd_pipeline_check_event(const struct iocd_config *cfg, const Ioc__V1__Event *e,
                                           int64_t now_ms, char *detail, size_t n)
{
    if (!iocd_series_valid_id(e->kind) || strlen(e->kind) > IOCD_ID_MAX - 6) {
        snprintf(detail, n, "event kind '%.64s' is not a valid id", e->kind);
        return IOCD_REJECT_BAD_ID;
    }
    if ((e->area[0] && !iocd_series_valid_id(e->area)) ||
        (e->device[0] && !iocd_series_valid_id(e->device))) {
        snprintf(detail, n, "event area or device longer than %d bytes or has / + #",
                 IOCD_ID_MAX);
        return IOCD_REJECT_BAD_ID;
    }
    if (e->location && (!isfinite(e->location->lat) || !isfinite(e->location->lon) ||
                        fabs(e->location->lat) > 90 || fabs(e->location->lon) > 180)) {
        snprintf(detail, n, "event location out of range");
        return IOCD_REJECT_NOT_FINITE;
    }
    return check_time(cfg, e->time_ms, now_ms, detail, n);
}

enum iocd_reject iocd_pipeline_check_observation(const struct iocd_config *cfg,
                                                 const Ioc__V1__Observation *o, int64_t now_ms,
                                                 char *detail, size_t n)
{
    if (o->quality == IOC__V1__QUALITY__QUALITY_INVALID) {
        snprintf(detail, n, "%.64s/%.64s flagged invalid by the device", o->device, o->metric);
        return IOCD_REJECT_INVALID;
    }
    if (!isfinite(o->value)) {
        snprintf(detail, n, "%.64s/%.64s value is %s", o->device, o->metric,
                 isnan(o->value) ? "NaN" : "infinite");
        return IOCD_REJECT_NOT_FINITE;
    }
    if (!iocd_series_valid_id(o->device) || !iocd_series_valid_id(o->metric)) {
        snprintf(detail, n, "device or metric id empty, longer than %d bytes, or has / + #",
                 IOCD_ID_MAX);
        return IOCD_REJECT_BAD_ID;
    }
    if (o->state && o->state[0]) { /* docs/states.md */
        char shown[48];
        if (!iocd_state_valid(o->state)) {
            snprintf(detail, n,
                     "%.40s/%.40s: state '%.40s' is not 1 to 32 letters, digits, '_', '-', '.'",
                     o->device, o->metric, iocd_adapter_printable(o->state, shown, sizeof(shown)));
            return IOCD_REJECT_BAD_STATE;
        }
        if (!iocd_config_state_allowed(cfg, o->metric, o->state)) {
            snprintf(detail, n, "%.32s/%.32s: state '%.32s' is not in [states] metric.%.32s",
                     o->device, o->metric, o->state, o->metric);
            return IOCD_REJECT_UNKNOWN_STATE;
        }
    }
    return check_time(cfg, o->observed_ms, now_ms, detail, n);
}

static enum iocd_reject unit_mismatch(const char *source, const char *device, const char *metric,
                                      const char *unit, const char *canonical, char *detail,
                                      size_t n)
{
    /* Cut to fit the detail (192 bytes): a long device id loses its end. */
    snprintf(detail, n, "%.24s/%.40s/%.32s: unit '%.24s' does not convert to its unit '%.24s'",
             source, device, metric, unit, canonical);
    return IOCD_REJECT_UNIT_MISMATCH;
}

/* The id of series SOURCE/device/metric of adapter `idx`, created if new
 * and within the limits, and *unit and *v, the sample's, brought to its
 * canonical unit (docs/units.md); IOCD_REJECT_NONE or why not. A sample
 * refused creates no series. */
static enum iocd_reject series_of(struct iocd_pipeline *p, int idx, const char *device,
                                  const char *metric, const char **unit, double *v, int64_t now,
                                  uint32_t *out_id, char *detail, size_t n)
{
    const struct iocd_adapter_conf *a = &p->cfg->adapters[idx];
    uint32_t id = *out_id; /* already found by the caller, or 0 */
    bool at_limit = a->max_series > 0 && p->adapter_series[idx] >= a->max_series;
    enum iocd_series_result sr =
        id ? IOCD_SERIES_FOUND : iocd_series_find(p->series, a->source, device, metric, &id);
    if (sr == IOCD_SERIES_FOUND) {
        const char *canonical;
        if (iocd_unit_norm_convert(p->units, id, *unit, v, &canonical))
            return unit_mismatch(a->source, device, metric, *unit, canonical, detail, n);
        *unit = canonical;
    } else if (!at_limit) {
        /* New: its canonical unit first, so a refused sample creates
         * nothing and the stored unit is the canonical one. */
        const struct iocd_unit_profile *prof =
            iocd_unit_norm_profile(p->units, a->source, device, metric, *unit);
        if (!prof) {
            snprintf(detail, n, "unit table (%d distinct units)", IOCD_UNIT_NORM_MAX_PROFILES);
            return IOCD_REJECT_NO_MEMORY;
        }
        const char *canonical = iocd_unit_profile_unit(prof);
        double cv = *v;
        if (iocd_unit_norm_convert_profile(p->units, prof, *unit, &cv))
            return unit_mismatch(a->source, device, metric, *unit, canonical, detail, n);
        sr = iocd_series_lookup(p->series, a->source, device, metric, canonical, now, &id);
        if (sr == IOCD_SERIES_CREATED && iocd_unit_norm_bind(p->units, id, prof)) {
            snprintf(detail, n, "unit table");
            return IOCD_REJECT_NO_MEMORY;
        }
        *v = cv;
        *unit = canonical;
    }
    switch (sr) {
    case IOCD_SERIES_FOUND:
        break;
    case IOCD_SERIES_CREATED: {
        p->adapter_series[idx]++;
        char name[3 * (IOCD_ID_MAX + 1)];
        snprintf(name, sizeof(name), "%s/%s/%s", a->source, device, metric);
        if (set_series_adapter(p, id, idx) || iocd_groups_resolve(p->groups, id, name)) {
            snprintf(detail, n, "series table");
            return IOCD_REJECT_NO_MEMORY;
        }
        break;
    }
    case IOCD_SERIES_OVER_LIMIT:
        snprintf(detail, n, "new series %.64s/%.64s over max_series %" PRId64, device, metric,
                 at_limit ? a->max_series : p->cfg->ingest.max_series);
        return IOCD_REJECT_SERIES_LIMIT;
    case IOCD_SERIES_NO_MEMORY:
        snprintf(detail, n, "series registry");
        return IOCD_REJECT_NO_MEMORY;
    }
    int owner = iocd_groups_owner(p->groups, id);
    if (owner >= 0) {
        snprintf(detail, n, "%.48s/%.48s is [group %.40s]'s own series", device, metric,
                 p->cfg->groups[owner].name);
        return IOCD_REJECT_BAD_ID;
    }
    *out_id = id;
    return IOCD_REJECT_NONE;
}

/* Room for `k` more samples in the next journal entry. */
static enum iocd_reject sample_room(struct iocd_pipeline *p, size_t k, char *detail, size_t n)
{
    if (p->n_samples + k <= p->cap_samples)
        return IOCD_REJECT_NONE;
    size_t ncap = p->cap_samples ? p->cap_samples * 2 : 1024;
    while (ncap < p->n_samples + k)
        ncap *= 2;
    struct iocd_sample *ns =
        ncap <= IOCD_PIPELINE_MAX_SAMPLES ? realloc(p->samples, ncap * sizeof(*ns)) : NULL;
    if (!ns) {
        snprintf(detail, n, "journal buffer (%zu samples held)", p->n_samples);
        return IOCD_REJECT_NO_MEMORY;
    }
    p->samples = ns;
    p->cap_samples = ncap;
    return IOCD_REJECT_NONE;
}

/* One sample of group `g`'s own series (created with the unit of the
 * first sample if new): windows at the [store] resolutions, journaled
 * like any sample, on the live feed and seen by the alert rules. Never
 * deduplicated: two members' samples of one time are both counted (a
 * member's duplicate was dropped before it got here). Room in the journal
 * buffer is the caller's. false when the series cannot be created (over
 * [ingest] max_series) or out of memory: logged, rate-limited. */
static bool group_sample(struct iocd_pipeline *p, int g, const char *unit, double v, int64_t t,
                         int64_t now)
{
    const struct iocd_group_conf *gc = &p->cfg->groups[g];
    uint32_t id;
    const char *why = NULL;
    if (!iocd_groups_series_id(p->groups, g, &id)) {
        switch (iocd_series_lookup(p->series, gc->source, gc->device, gc->metric, unit, now,
                                   &id)) {
        case IOCD_SERIES_FOUND:
        case IOCD_SERIES_CREATED:
            if (set_series_adapter(p, id, -1) || iocd_groups_resolve(p->groups, id, gc->series))
                why = "out of memory";
            break;
        case IOCD_SERIES_OVER_LIMIT:
            why = "over [ingest] max_series";
            break;
        case IOCD_SERIES_NO_MEMORY:
            why = "out of memory";
            break;
        }
    }
    if (!why && iocd_agg_add_res(p->agg, id, p->cfg->store.resolutions.ms,
                                 p->cfg->store.resolutions.n, v, t, p->next_journal))
        why = "out of memory (window table)";
    if (why) {
        uint64_t suppressed;
        if (iocd_ratelimit_allow(&p->group_limit, iocd_now_ms(), p->cfg->log.rate_limit_interval_ms,
                                 p->cfg->log.rate_limit_burst, &suppressed))
            iocd_log_warn("groups", "[group %s]: a sample of %s was not counted: %s (%" PRIu64
                          " more not logged)",
                          gc->name, gc->series, why, suppressed);
        return false;
    }
    p->samples[p->n_samples++] = (struct iocd_sample){.series_id = id, .t_ms = t, .value = v};
    if (!p->batch_since_ms)
        p->batch_since_ms = now;
    if (p->feed) {
        Ioc__V1__Observation o = IOC__V1__OBSERVATION__INIT;
        o.source = gc->source;
        o.device = gc->device;
        o.metric = gc->metric;
        o.unit = (char *)(unit ? unit : "");
        o.value = v;
        o.observed_ms = t;
        o.received_ms = now;
        iocd_feed_rollup(p->feed, id, gc->source, &o);
    }
    return true;
}

/* A gauge group's value at an interval boundary: one sample of its series. */
static void emit_gauge(void *ud, int g, int64_t t_ms, double v, size_t n_fresh)
{
    struct iocd_pipeline *p = ud;
    char detail[64];
    (void)n_fresh;
    if (sample_room(p, 1, detail, sizeof(detail)) == IOCD_REJECT_NONE &&
        group_sample(p, g, "", v, t_ms, iocd_now_ms()) && p->feed)
        iocd_feed_message_end(p->feed);
}

/* Add one sample of adapter `idx` to series SOURCE/device/metric at the
 * adapter's resolutions; IOCD_REJECT_NONE or why not. *unit and *vp come
 * back in the series' canonical unit. `dedup`: drop it if the same series
 * and time were seen within the horizon. *out_id: in, the series' id if
 * the caller found it (0: look it up, create it if new); out, its id. */
static enum iocd_reject aggregate(struct iocd_pipeline *p, int idx, const char *device,
                                  const char *metric, const char **unit, double *vp, int64_t t,
                                  int64_t now, bool dedup, uint32_t *out_id, char *detail,
                                  size_t n)
{
    const struct iocd_adapter_conf *a = &p->cfg->adapters[idx];
    uint32_t id = out_id ? *out_id : 0;
    enum iocd_reject r = series_of(p, idx, device, metric, unit, vp, now, &id, detail, n);
    double v = *vp;
    if (r != IOCD_REJECT_NONE)
        return r;
    if (iocd_states_has(p->states, id)) {
        snprintf(detail, n, "%.64s/%.64s is a state series, not a number", device, metric);
        return IOCD_REJECT_BAD_STATE;
    }
    if (dedup && iocd_dedup_check(p->dedup, id, t)) {
        char ts[40];
        iocd_time_format(t, ts, sizeof(ts));
        snprintf(detail, n, "%.64s/%.64s at %s already counted", device, metric, ts);
        return IOCD_REJECT_DUPLICATE;
    }
    size_t n_groups;
    const uint16_t *groups = iocd_groups_of(p->groups, id, &n_groups);
    /* Room for the sample and its merged groups' copies up front: a
     * member sample is accepted with all of them or not at all. */
    if ((r = sample_room(p, 1 + n_groups, detail, n)) != IOCD_REJECT_NONE)
        return r;
    if (iocd_agg_add_res(p->agg, id, a->resolutions.ms, a->resolutions.n, v, t, p->next_journal)) {
        snprintf(detail, n, "window table");
        return IOCD_REJECT_NO_MEMORY;
    }
    p->samples[p->n_samples++] = (struct iocd_sample){.series_id = id, .t_ms = t, .value = v};
    if (n_groups) {
        iocd_groups_note(p->groups, id, v, t);
        for (size_t g = 0; g < n_groups; g++)
            if (p->cfg->groups[groups[g]].kind == IOCD_GROUP_MERGED)
                group_sample(p, groups[g], *unit, v, t, now);
    }
    if (!p->batch_since_ms)
        p->batch_since_ms = now;
    if (idx == iocd_aqi_feed_adapter(p->aqi))
        iocd_aqi_feed_sample(p->aqi, device, metric, t, v, iocd_mono_ms());
    if (out_id)
        *out_id = id;
    return IOCD_REJECT_NONE;
}

/* Add state sample `o` of adapter `idx` (its state checked by
 * iocd_pipeline_check_observation) to its state series (docs/states.md);
 * IOCD_REJECT_NONE or why not. Journaled with the state's index as its
 * value. */
static enum iocd_reject aggregate_state(struct iocd_pipeline *p, int idx,
                                        const Ioc__V1__Observation *o, int64_t now,
                                        uint32_t *out_id, char *detail, size_t n)
{
    const struct iocd_adapter_conf *a = &p->cfg->adapters[idx];
    uint32_t id;
    enum iocd_reject r;
    if (iocd_series_find(p->series, a->source, o->device, o->metric, &id) == IOCD_SERIES_FOUND) {
        if (!iocd_states_has(p->states, id)) {
            snprintf(detail, n, "%.64s/%.64s is a numeric series, not a state", o->device,
                     o->metric);
            return IOCD_REJECT_BAD_STATE;
        }
    } else {
        const char *unit = "";
        double v = 0;
        id = 0;
        if ((r = series_of(p, idx, o->device, o->metric, &unit, &v, now, &id, detail, n)) !=
            IOCD_REJECT_NONE)
            return r;
    }
    if (o->observed_ms != o->received_ms && iocd_dedup_check(p->dedup, id, o->observed_ms)) {
        char ts[40];
        iocd_time_format(o->observed_ms, ts, sizeof(ts));
        snprintf(detail, n, "%.64s/%.64s at %s already counted", o->device, o->metric, ts);
        return IOCD_REJECT_DUPLICATE;
    }
    if ((r = sample_room(p, 1, detail, n)) != IOCD_REJECT_NONE)
        return r;
    int si;
    r = iocd_states_add(p->states, id, a->resolutions.ms, a->resolutions.n, o->state,
                        o->observed_ms, &si, detail, n);
    if (r != IOCD_REJECT_NONE)
        return r;
    p->samples[p->n_samples++] =
        (struct iocd_sample){.series_id = id, .t_ms = o->observed_ms, .value = si};
    iocd_groups_note(p->groups, id, si, o->observed_ms);
    if (!p->batch_since_ms)
        p->batch_since_ms = now;
    *out_id = id;
    return IOCD_REJECT_NONE;
}

/* A corrected sample of adapter `idx` (a VN_AQI hour or day computed
 * again): journaled like any sample, but held as a replacement of its
 * windows for the next flush, never added to the window table (that would
 * count it beside the value it corrects). */
static enum iocd_reject correct(struct iocd_pipeline *p, int idx, const char *device,
                                const char *metric, const char *unit, double v, int64_t t,
                                int64_t now, uint32_t *out_id, char *detail, size_t n)
{
    const struct iocd_resolutions *res = &p->cfg->adapters[idx].resolutions;
    uint32_t id = 0;
    enum iocd_reject r = series_of(p, idx, device, metric, &unit, &v, now, &id, detail, n);
    if (r == IOCD_REJECT_NONE)
        r = sample_room(p, 1, detail, n);
    if (r != IOCD_REJECT_NONE)
        return r;
    if (p->n_replaces == p->cap_replaces) {
        size_t ncap = p->cap_replaces ? p->cap_replaces * 2 : 16;
        struct iocd_replace *nr = realloc(p->replaces, ncap * sizeof(*nr));
        if (!nr) {
            snprintf(detail, n, "correction buffer");
            return IOCD_REJECT_NO_MEMORY;
        }
        p->replaces = nr;
        p->cap_replaces = ncap;
    }
    struct iocd_replace *rp = &p->replaces[p->n_replaces++];
    *rp = (struct iocd_replace){.series_id = id, .t_ms = t, .value = v, .n_res = res->n};
    for (int i = 0; i < res->n; i++) {
        rp->res_s[i] = (uint32_t)(res->ms[i] / 1000);
        rp->start_ms[i] = iocd_window_start(t, res->ms[i], p->cfg->store.tz_offset_ms);
    }
    p->samples[p->n_samples++] = (struct iocd_sample){.series_id = id, .t_ms = t, .value = v};
    if (!p->batch_since_ms)
        p->batch_since_ms = now;
    *out_id = id;
    return IOCD_REJECT_NONE;
}

/* The attributes of `e` as a JSON object text (malloc'd), or NULL. */
static char *attributes_json(const Ioc__V1__Event *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    for (size_t i = 0; i < e->n_attributes; i++)
        if (!cJSON_AddStringToObject(o, e->attributes[i]->key, e->attributes[i]->value)) {
            cJSON_Delete(o);
            return NULL;
        }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Keep `e` for the next flush. 0, or -1 when out of memory or over the bound. */
static int hold_event(struct iocd_pipeline *p, const char *source, const Ioc__V1__Event *e)
{
    if (p->n_events >= IOCD_PIPELINE_MAX_EVENTS)
        return -1;
    if (p->n_events == p->cap_events) {
        size_t ncap = p->cap_events ? p->cap_events * 2 : 64;
        struct iocd_event_row *nr = realloc(p->events, ncap * sizeof(*nr));
        if (!nr)
            return -1;
        p->events = nr;
        p->cap_events = ncap;
    }
    char *attrs = attributes_json(e);
    if (!attrs)
        return -1;
    const char *parts[] = {source,    e->kind, e->text, e->device, e->area,
                           e->status, attrs,   e->case_id ? e->case_id : ""};
    size_t len[8], total = 0;
    for (int i = 0; i < 8; i++)
        total += (len[i] = strlen(parts[i])) + 1;
    char *block = malloc(total);
    if (!block) {
        free(attrs);
        return -1;
    }
    struct iocd_event_row *r = &p->events[p->n_events++];
    if (!p->batch_since_ms)
        p->batch_since_ms = iocd_now_ms();
    const char **dst[] = {&r->source, &r->kind,   &r->text,       &r->device,
                          &r->area,   &r->status, &r->attributes, &r->case_id};
    char *q = block;
    for (int i = 0; i < 8; i++) {
        memcpy(q, parts[i], len[i] + 1);
        *dst[i] = q;
        q += len[i] + 1;
    }
    free(attrs);
    r->block = block;
    r->severity = (int)e->severity;
    r->time_ms = e->time_ms;
    r->received_ms = e->received_ms;
    r->has_location = e->location != NULL;
    r->lat = e->location ? e->location->lat : 0;
    r->lon = e->location ? e->location->lon : 0;
    return 0;
}

int iocd_pipeline_hold_event(struct iocd_pipeline *p, const char *source, const Ioc__V1__Event *e)
{
    return hold_event(p, source, e);
}

/* A case of `e`'s source resolved after `seconds`: SOURCE/_all/resolve_time
 * and, with an area, SOURCE/AREA/resolve_time (unit s; quantiles from the
 * windows' sketches). */
static enum iocd_reject resolve_time(struct iocd_pipeline *p, int idx, const Ioc__V1__Event *e,
                                     double seconds, int64_t now, char *detail, size_t n)
{
    const char *unit = "s";
    double v = seconds;
    enum iocd_reject r = aggregate(p, idx, IOCD_EVENT_ALL_AREAS, "resolve_time", &unit, &v,
                                   e->time_ms, now, false, NULL, detail, n);
    unit = "s";
    v = seconds;
    if (r == IOCD_REJECT_NONE && e->area[0])
        r = aggregate(p, idx, e->area, "resolve_time", &unit, &v, e->time_ms, now, false, NULL,
                      detail, n);
    return r;
}

/* Validate, store and count one event: per kind, per area and city-wide. */
static enum iocd_reject ingest_event(struct iocd_pipeline *p, int idx, const Ioc__V1__Event *e,
                                     int64_t now, char *detail, size_t n)
{
    const char *source = p->cfg->adapters[idx].source;
    enum iocd_reject r = iocd_pipeline_check_event(p->cfg, e, now, detail, n);
    if (r != IOCD_REJECT_NONE)
        return r;
    char metric[IOCD_ID_MAX + 8];
    snprintf(metric, sizeof(metric), "event.%s", e->kind);
    const char *unit = "1";
    double one = 1.0;
    r = aggregate(p, idx, IOCD_EVENT_ALL_AREAS, metric, &unit, &one, e->time_ms, now, false, NULL,
                  detail, n);
    unit = "1";
    one = 1.0;
    if (r == IOCD_REJECT_NONE && e->area[0])
        r = aggregate(p, idx, e->area, metric, &unit, &one, e->time_ms, now, false, NULL, detail,
                      n);
    if (r == IOCD_REJECT_NONE && hold_event(p, source, e)) {
        snprintf(detail, n, "event buffer (%d held)", IOCD_PIPELINE_MAX_EVENTS);
        r = IOCD_REJECT_NO_MEMORY;
    }
    /* The event is kept whatever happens to its resolve time: one that
     * cannot be added (a series over its limit) is dropped. */
    int64_t took;
    char ignored[64];
    if (r == IOCD_REJECT_NONE && e->case_id && e->case_id[0] &&
        iocd_cases_update(p->cases, source, e->case_id, e->time_ms, e->status, &took) == 1)
        (void)resolve_time(p, idx, e, (double)took / 1000.0, now, ignored, sizeof(ignored));
    if (r == IOCD_REJECT_NONE && p->feed)
        iocd_feed_event(p->feed, source, e);
    return r;
}

static void count_notes(struct iocd_pipeline *p, struct iocd_counter_scope *sc,
                        const struct iocd_batch *b, const char *topic)
{
    for (int n = 0; n < IOCD_NOTE__COUNT; n++) {
        if (!b->notes[n])
            continue;
        sc->value[IOCD_CTR_NOTE_BASE + n] += b->notes[n];
        uint64_t suppressed;
        if (!iocd_ratelimit_allow(&sc->note_limit[n], iocd_now_ms(),
                                  p->cfg->log.rate_limit_interval_ms,
                                  p->cfg->log.rate_limit_burst, &suppressed))
            continue;
        struct iocd_log_fields f = {.feed = sc->name,
                                    .reason = iocd_note_name((enum iocd_note)n)};
        if (suppressed)
            iocd_log_fields(LOG_NOTICE, sc->name, &f, "%" PRIu64 " more %s notes were not logged",
                            suppressed, f.reason);
        f.topic = topic;
        iocd_log_fields(LOG_NOTICE, sc->name, &f, "%s on '%.200s': %s", f.reason, topic,
                        b->note_text[n]);
    }
}

static void dead_letter(struct iocd_pipeline *p, const char *adapter,
                        const struct iocd_message *msg, enum iocd_reject reason,
                        const char *detail)
{
    if (!p->dead_letter)
        return;
    struct iocd_counter_scope *daemon = &p->scopes[p->n_scopes - 1];
    if (p->dead_letter(p->dead_letter_ud, adapter, msg, reason, detail) == 0)
        daemon->value[IOCD_CTR_DEAD_LETTERS]++;
    else
        daemon->value[IOCD_CTR_DEAD_LETTER_DROPS]++;
}

/* Hand the commands the adapter asked for to the MQTT output, counted as
 * sent or dropped in the adapter's scope; each logged (rate-limited, as
 * the notes are) with why the adapter asked. */
static void send_commands(struct iocd_pipeline *p, struct iocd_counter_scope *sc,
                          const struct iocd_batch *b)
{
    for (size_t i = 0; i < b->n_commands; i++) {
        const struct iocd_command *c = b->commands[i];
        bool sent = p->command && p->command(p->command_ud, sc->name, c) == 0;
        sc->value[sent ? IOCD_CTR_COMMANDS : IOCD_CTR_COMMAND_DROPS]++;
        uint64_t suppressed;
        if (!iocd_ratelimit_allow(&sc->command_limit, iocd_now_ms(),
                                  p->cfg->log.rate_limit_interval_ms,
                                  p->cfg->log.rate_limit_burst, &suppressed))
            continue;
        struct iocd_log_fields f = {.feed = sc->name, .topic = c->topic};
        if (suppressed)
            iocd_log_fields(LOG_NOTICE, sc->name, &f, "%" PRIu64 " more commands were not logged",
                            suppressed);
        iocd_log_fields(sent ? LOG_NOTICE : LOG_WARNING, sc->name, &f, "%s '%.200s': %s",
                        sent ? "published" : "could not publish (broker away or queue full)",
                        c->topic, c->why);
    }
}

/* Count one rejected observation or event of `msg`; the first reason of
 * the message (and its detail) goes to the dead letter. */
static void note_reject(struct iocd_pipeline *p, struct iocd_counter_scope *sc,
                        const struct iocd_message *msg, enum iocd_reject r, const char *detail,
                        enum iocd_reject *first, char *first_detail, size_t n)
{
    count_reject(p, sc, r, msg->topic, detail);
    if (*first == IOCD_REJECT_NONE) {
        *first = r;
        snprintf(first_detail, n, "%s", detail);
    }
}

size_t iocd_pipeline_unwritten(const struct iocd_pipeline *p)
{
    return p->n_samples + p->n_events + p->chain_held;
}

int64_t iocd_pipeline_unwritten_age_ms(const struct iocd_pipeline *p, int64_t now_ms)
{
    int64_t since = p->chain_since_ms;
    if (p->batch_since_ms && (!since || p->batch_since_ms < since))
        since = p->batch_since_ms;
    return since && now_ms > since ? now_ms - since : 0;
}

/* Turn back-pressure on at [ingest] max_unwritten, off again once half of
 * that is left and no flush is failing. */
static void check_pressure(struct iocd_pipeline *p)
{
    size_t held = iocd_pipeline_unwritten(p);
    size_t max = (size_t)p->cfg->ingest.max_unwritten;
    if (!p->paused && held >= max) {
        p->paused = true;
        p->pauses++;
        iocd_log_warn("ingest", "back-pressure: %zu samples and events not yet written "
                      "(max_unwritten %zu); not reading from the broker until half are written",
                      held, max);
        if (p->pressure)
            p->pressure(p->pressure_ud, true);
    } else if (p->paused && held <= max / 2 && !p->failing) {
        p->paused = false;
        iocd_log_notice("ingest", "back-pressure off: %zu not yet written; reading again", held);
        if (p->pressure)
            p->pressure(p->pressure_ud, false);
    }
}

/* [store] flush_when_quiet: a burst (or a backlog drained) is committed
 * when it ends, not up to flush_interval later. The loop's cached time is
 * read per message (no clock call); the timer is armed once a quiet period,
 * and checks again when it fires. */
static void flush_start(struct iocd_pipeline *p);

static bool quiet_enough(struct iocd_pipeline *p)
{
    return uv_now(p->quiet_timer.loop) - p->last_sample_loop_ms >=
           (uint64_t)p->cfg->store.flush_when_quiet_ms;
}

/* Accepted samples or events wait for a flush that flush_when_quiet may
 * start. */
static bool quiet_flush_wanted(const struct iocd_pipeline *p)
{
    return p->cfg->store.flush_when_quiet_ms && (p->n_samples || p->n_events) && !p->draining;
}

static void on_quiet_timer(uv_timer_t *t)
{
    struct iocd_pipeline *p = t->data;
    if (!quiet_flush_wanted(p))
        return;
    if (!quiet_enough(p)) { /* messages came meanwhile: wait for the rest */
        uint64_t left = p->last_sample_loop_ms + (uint64_t)p->cfg->store.flush_when_quiet_ms -
                        uv_now(t->loop);
        uv_timer_start(t, on_quiet_timer, left, 0);
        return;
    }
    if (!p->inflight && !p->failed) /* else flush_done looks again */
        flush_start(p);
}

/* A quarter of [ingest] max_unwritten waits and no flush runs: the flush
 * starts now, not at the next tick. A feed faster than max_unwritten a
 * flush_interval (90,000 ten-metric messages a second against the default
 * 1,000,000) otherwise met back-pressure while the store kept up; under
 * QoS 1 that is a disconnect, and the broker sends again what it had
 * already pushed into the socket (bench/run.py, backlog of 300,000). */
static bool batch_full(const struct iocd_pipeline *p)
{
    return p->n_samples + p->n_events >= (size_t)p->cfg->ingest.max_unwritten / 4 &&
           !p->inflight && !p->failed && !p->draining;
}

static void note_arrival(struct iocd_pipeline *p)
{
    p->last_sample_loop_ms = uv_now(p->quiet_timer.loop);
    if (p->cfg->store.flush_when_quiet_ms && !uv_is_active((uv_handle_t *)&p->quiet_timer))
        uv_timer_start(&p->quiet_timer, on_quiet_timer,
                       (uint64_t)p->cfg->store.flush_when_quiet_ms, 0);
}

void iocd_pipeline_ingest(struct iocd_pipeline *p, int idx, const struct iocd_message *msg,
                          enum iocd_reject reason, const struct iocd_batch *b)
{
    struct iocd_counter_scope *sc = &p->scopes[idx];
    sc->value[IOCD_CTR_MESSAGES]++;
    count_notes(p, sc, b, msg->topic);
    send_commands(p, sc, b);
    if (reason != IOCD_REJECT_NONE) {
        count_reject(p, sc, reason, msg->topic, b->detail);
        dead_letter(p, sc->name, msg, reason, b->detail);
        return;
    }
    enum iocd_reject first = IOCD_REJECT_NONE;
    char first_detail[192] = "";
    int64_t now = iocd_now_ms();
    uint64_t accepted = 0, events = 0;
    char detail[192];
    /* The hash tables' cache misses of a message's observations overlap:
     * their series are looked up together (iocd_series_find_many), then
     * their duplicate-horizon and window-table slots are loaded, before
     * the observations are taken one by one (the profile had these lookups
     * at a cache miss each, the largest cost per observation). */
    const struct iocd_adapter_conf *ac = &p->cfg->adapters[idx];
    /* The device's liveness record, touched once per message by the feed:
     * its slot now, its record after the first chunk's lookups. */
    struct iocd_devices *dv = p->feed && b->n_obs ? iocd_feed_devices(p->feed) : NULL;
    if (dv)
        iocd_devices_prefetch(dv, ac->source, b->obs[0]->device, 0);
    for (size_t at = 0; at < b->n_obs; at += IOCD_SERIES_FIND_MANY) {
        size_t k = b->n_obs - at < IOCD_SERIES_FIND_MANY ? b->n_obs - at : IOCD_SERIES_FIND_MANY;
        const char *devs[IOCD_SERIES_FIND_MANY], *mets[IOCD_SERIES_FIND_MANY];
        uint32_t ids[IOCD_SERIES_FIND_MANY];
        for (size_t i = 0; i < k; i++) {
            devs[i] = b->obs[at + i]->device;
            mets[i] = b->obs[at + i]->metric;
        }
        iocd_series_find_many(p->series, ac->source, devs, mets, k, ids);
        iocd_dedup_prefetch_evictions(p->dedup, k);
        for (size_t i = 0; i < k; i++) {
            if (!ids[i])
                continue;
            iocd_dedup_prefetch(p->dedup, ids[i], b->obs[at + i]->observed_ms);
            iocd_agg_prefetch(p->agg, ids[i], ac->resolutions.ms, ac->resolutions.n,
                              b->obs[at + i]->observed_ms);
        }
        if (dv && at == 0)
            iocd_devices_prefetch(dv, ac->source, b->obs[0]->device, 1);
        for (size_t i = 0; i < k; i++) {
            const Ioc__V1__Observation *o = b->obs[at + i];
            uint32_t id = ids[i];
            enum iocd_reject r =
                iocd_pipeline_check_observation(p->cfg, o, now, detail, sizeof(detail));
            /* The series source is the adapter's, whatever the decoder set. */
            const char *unit = o->unit;
            double v = o->value;
            if (r == IOCD_REJECT_NONE && o->state && o->state[0])
                r = aggregate_state(p, idx, o, now, &id, detail, sizeof(detail));
            else if (r == IOCD_REJECT_NONE)
                /* A sample stamped with its receive time (the payload had no
                 * time) cannot be recognised when redelivered, and two such
                 * samples in one millisecond are distinct: no dedup for them. */
                r = aggregate(p, idx, o->device, o->metric, &unit, &v, o->observed_ms, now,
                              o->observed_ms != o->received_ms, &id, detail, sizeof(detail));
            if (r != IOCD_REJECT_NONE) {
                note_reject(p, sc, msg, r, detail, &first, first_detail, sizeof(first_detail));
                continue;
            }
            accepted++;
            if (p->feed && unit == o->unit && v == o->value) {
                iocd_feed_observation(p->feed, id, p->cfg->adapters[idx].source, o);
            } else if (p->feed) {
                /* Live, alerts and republish see the canonical unit too. */
                Ioc__V1__Observation c = *o;
                c.unit = (char *)unit;
                c.value = v;
                iocd_feed_observation(p->feed, id, p->cfg->adapters[idx].source, &c);
            }
        }
    }
    if (p->feed)
        iocd_feed_message_end(p->feed);
    for (size_t i = 0; i < b->n_events; i++) {
        enum iocd_reject r = ingest_event(p, idx, b->events[i], now, detail, sizeof(detail));
        if (r != IOCD_REJECT_NONE) {
            note_reject(p, sc, msg, r, detail, &first, first_detail, sizeof(first_detail));
            continue;
        }
        events++;
    }
    if (first != IOCD_REJECT_NONE)
        dead_letter(p, sc->name, msg, first, first_detail);
    if (accepted || events)
        sc->value[IOCD_CTR_ACCEPTED]++;
    sc->value[IOCD_CTR_OBSERVATIONS] += accepted;
    sc->value[IOCD_CTR_EVENTS] += events;
    if (accepted || events) {
        check_pressure(p);
        note_arrival(p);
        if (batch_full(p))
            flush_start(p);
    }
}

void iocd_pipeline_reject_unrouted(struct iocd_pipeline *p, const struct iocd_message *msg,
                                   enum iocd_reject reason)
{
    count_reject(p, &p->scopes[p->n_scopes - 1], reason, msg->topic, NULL);
    dead_letter(p, "iocd", msg, reason, "no adapter takes this topic");
}

/* ---- flush cycle ---- */

static void flush_work(uv_work_t *w)
{
    struct iocd_pipeline *p = w->data;
    iocd_store_flush(p->store, p->inflight);
}

static bool nothing_held(const struct iocd_pipeline *p)
{
    if (p->inflight || p->failed || iocd_agg_size(p->agg) || p->n_events || p->n_samples ||
        p->n_replaces || iocd_states_pending(p->states) ||
        (p->feed && iocd_devices_dirty_count(iocd_feed_devices(p->feed))))
        return false;
    for (size_t s = 0; s < p->n_scopes; s++)
        for (int c = 0; c < IOCD_CTR__COUNT; c++)
            if (p->scopes[s].value[c] != p->scopes[s].flushed[c])
                return false;
    return true;
}

const int64_t iocd_flush_buckets_us[IOCD_FLUSH_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000, INT64_MAX,
};

static void flush_done(uv_work_t *w, int status)
{
    struct iocd_pipeline *p = w->data;
    struct iocd_flush *f = p->inflight;
    p->inflight = NULL;
    p->last_flush_done_ms = iocd_now_ms();
    if (status == 0 && f->rc == 0) {
        p->last_flush_us = f->duration_us;
        if (f->duration_us > p->max_flush_us)
            p->max_flush_us = f->duration_us;
        for (int i = 0; i < IOCD_FLUSH_BUCKETS; i++)
            if (i == IOCD_FLUSH_BUCKETS - 1 || f->duration_us <= iocd_flush_buckets_us[i])
                p->flush_hist[i]++;
        p->flush_total_us += f->duration_us;
        p->flushes_committed++;
        p->failing = false;
        p->chain_held = 0;
        p->chain_since_ms = 0;
        iocd_log_debug("store", "flushed %zu windows, %zu new series in %" PRId64 " us",
                       f->n_windows, f->n_series, f->duration_us);
        iocd_flush_free(f);
    } else {
        p->flush_failures++;
        p->failing = true;
        iocd_log_err("store", "flush failed, will retry with the next one: %s",
                     status ? uv_strerror(status) : f->error);
        p->failed = f;
    }
    check_pressure(p);
    /* The messages stopped while this flush ran, or the next batch is
     * full already: the rest goes now. */
    if ((!p->failed && quiet_flush_wanted(p) && quiet_enough(p)) || batch_full(p))
        flush_start(p);
    if (p->draining) {
        if (nothing_held(p)) {
            uv_timer_stop(&p->flush_timer);
            p->draining = false;
            p->drained_cb(p, p->drained_ud);
        } else if (!p->failed) {
            flush_start(p);
        }
    }
}

/* Rows deleted per flush at most: enough to keep up with any feed that the
 * flush itself keeps up with, small enough never to stall it. */
#define PRUNE_LIMIT 5000

/* Device records written per flush at most; the rest stay dirty for the
 * next flush (a table of a few hundred thousand devices all changing at
 * once is written over several flushes). */
#define IOCD_PIPELINE_MAX_DEVICE_ROWS 20000

static void add_prune(struct iocd_flush *f, const struct iocd_config *cfg, int64_t res_ms)
{
    for (int i = 0; i < f->n_prune; i++)
        if (f->prune[i].res_s == res_ms / 1000)
            return;
    int64_t keep = iocd_config_retention_ms(cfg, res_ms);
    if (keep <= 0 || f->n_prune == (int)(sizeof(f->prune) / sizeof(f->prune[0])))
        return;
    f->prune[f->n_prune].res_s = res_ms / 1000;
    f->prune[f->n_prune].before_ms = f->now_ms - keep;
    f->n_prune++;
}

/* Which expired rows this flush may delete. */
static void plan_prune(const struct iocd_pipeline *p, struct iocd_flush *f)
{
    const struct iocd_config *cfg = p->cfg;
    for (int r = 0; r < cfg->store.resolutions.n; r++)
        add_prune(f, cfg, cfg->store.resolutions.ms[r]);
    for (int a = 0; a < cfg->n_adapters; a++)
        for (int r = 0; r < cfg->adapters[a].resolutions.n; r++)
            add_prune(f, cfg, cfg->adapters[a].resolutions.ms[r]);
    f->events_before_ms =
        cfg->store.events_retention_ms > 0 ? f->now_ms - cfg->store.events_retention_ms : 0;
    f->prune_limit = PRUNE_LIMIT;
}

/* Note that journal entry `jrnl` was closed at `now_ms`. */
static void note_closed(struct iocd_pipeline *p, uint64_t jrnl, int64_t now_ms)
{
    if (!p->closed)
        return;
    size_t at = (p->closed_head + p->n_closed) % IOCD_PIPELINE_JRNL_RING;
    if (p->n_closed == IOCD_PIPELINE_JRNL_RING) {
        /* Pushed out: counts as old enough from now on (only ever sooner
         * than the delay, never later, so the table cannot grow forever). */
        p->old_enough_jrnl = p->closed[p->closed_head].jrnl;
        p->closed_head = (p->closed_head + 1) % IOCD_PIPELINE_JRNL_RING;
        p->n_closed--;
        at = (p->closed_head + p->n_closed) % IOCD_PIPELINE_JRNL_RING;
    }
    p->closed[at] = (struct iocd_jrnl_closed){jrnl, now_ms};
    p->n_closed++;
}

/* The newest journal entry whose windows have waited [store]
 * window_write_delay: a window first dirtied in entry J got its first
 * sample before J was closed, so J closed at least the delay ago is old
 * enough. Entries found old enough leave the ring. */
static uint64_t old_enough(struct iocd_pipeline *p, int64_t now_ms)
{
    int64_t delay = p->cfg->store.window_write_delay_ms;
    if (delay <= 0)
        return UINT64_MAX;
    while (p->n_closed && p->closed[p->closed_head].ms <= now_ms - delay) {
        p->old_enough_jrnl = p->closed[p->closed_head].jrnl;
        p->closed_head = (p->closed_head + 1) % IOCD_PIPELINE_JRNL_RING;
        p->n_closed--;
    }
    return p->old_enough_jrnl;
}

/* The windows flush `f` writes: every held window of a series it corrects
 * (a replacement must find the stored rows complete), then, draining,
 * everything, else at most the budget of those that waited [store]
 * window_write_delay, the longest-changed first (their samples are in the
 * journal). 0, or -1 out of memory (nothing taken). */
static int take_windows(struct iocd_pipeline *p, struct iocd_flush *f, uint64_t *replay_from)
{
    struct iocd_window *first = NULL;
    size_t n_first = 0;
    if (p->n_replaces && !p->draining) {
        uint32_t *ids = malloc(p->n_replaces * sizeof(*ids));
        if (!ids)
            return -1;
        for (size_t i = 0; i < p->n_replaces; i++)
            ids[i] = p->replaces[i].series_id;
        first = iocd_agg_take_series(p->agg, ids, p->n_replaces, &n_first);
        free(ids);
        if (!first && n_first)
            return -1;
    }
    size_t n_rest = 0;
    struct iocd_window *rest =
        p->draining ? iocd_agg_take(p->agg, &n_rest)
                    : iocd_agg_take_oldest(p->agg, (size_t)p->cfg->store.max_windows_per_flush,
                                           old_enough(p, f->now_ms), &n_rest, replay_from);
    if (!rest && n_rest) {
        /* Out of memory: the table kept them; the series' windows go out
         * alone (still before the correction), and a crash replays from
         * the start of the journal (stored windows are skipped by jrnl). */
        if (!n_first)
            return -1;
        n_rest = 0;
        *replay_from = 1;
    }
    if (!n_first) {
        f->windows = rest;
        f->n_windows = n_rest;
        return 0;
    }
    if (n_rest) {
        struct iocd_window *all = realloc(first, (n_first + n_rest) * sizeof(*all));
        if (!all) {
            /* Keep the series' windows; the others wait for the next flush
             * (their samples are journaled, replay_from covers them). */
            for (size_t i = 0; i < n_rest; i++)
                iocd_window_release(&rest[i]);
            free(rest);
            f->windows = first;
            f->n_windows = n_first;
            *replay_from = 1;
            return 0;
        }
        memcpy(all + n_first, rest, n_rest * sizeof(*all));
        free(rest);
        first = all;
    }
    f->windows = first;
    f->n_windows = n_first + n_rest;
    return 0;
}

static void flush_start(struct iocd_pipeline *p)
{
    if (p->inflight)
        return;
    struct iocd_flush *f = calloc(1, sizeof(*f));
    if (!f) {
        iocd_log_err("store", "out of memory preparing a flush; will retry");
        return;
    }
    f->now_ms = iocd_now_ms();
    f->tz_offset_ms = p->cfg->store.tz_offset_ms;
    /* Draining writes everything; otherwise at most the budget, the
     * longest-changed windows first (their samples are in the journal). */
    uint64_t replay_from = 0;
    if (take_windows(p, f, &replay_from)) {
        iocd_log_err("store", "out of memory taking windows; will retry");
        free(f);
        return;
    }
    f->replaces = p->replaces;
    f->n_replaces = p->n_replaces;
    p->replaces = NULL;
    p->n_replaces = p->cap_replaces = 0;
    f->series = iocd_series_take_new(p->series, &f->n_series);
    if (iocd_states_take(p->states, &f->state_rows, &f->n_state_rows, &f->state_latest,
                         &f->n_state_latest))
        iocd_log_err("store", "out of memory taking state windows; the next flush takes them");
    f->events = p->events;
    f->n_events = p->n_events;
    p->events = NULL;
    p->n_events = p->cap_events = 0;
    if (p->feed)
        f->devices = iocd_devices_take_dirty(iocd_feed_devices(p->feed),
                                             IOCD_PIPELINE_MAX_DEVICE_ROWS, &f->n_devices);
    /* From here on these wait in the flush chain until it commits. */
    p->chain_held += p->n_samples + f->n_events;
    if (p->batch_since_ms && (!p->chain_since_ms || p->batch_since_ms < p->chain_since_ms))
        p->chain_since_ms = p->batch_since_ms;
    p->batch_since_ms = 0;
    f->samples = p->samples;
    f->n_samples = p->n_samples;
    p->samples = NULL;
    p->n_samples = p->cap_samples = 0;
    if (f->n_samples || f->n_windows) {
        f->journal_id = p->next_journal++;
        f->replay_from = replay_from ? replay_from : p->next_journal;
        note_closed(p, f->journal_id, f->now_ms);
    }
    f->raw_before_ms =
        f->now_ms - (p->cfg->store.raw_retention_ms > 0 ? p->cfg->store.raw_retention_ms : 0);
    if (f->n_windows || f->n_series || f->n_events || p->failed)
        p->scopes[p->n_scopes - 1].value[IOCD_CTR_FLUSHES]++; /* this flush counts itself */
    size_t nc = iocd_counters_take(p->scopes, p->n_scopes, &f->counters);
    f->n_counters = nc == (size_t)-1 ? 0 : nc;
    plan_prune(p, f);
    f->next = p->failed;
    p->failed = NULL;
    if (!f->next && !f->n_windows && !f->n_series && !f->n_counters && !f->n_events &&
        !f->n_samples && !f->n_devices && !f->n_replaces && !f->n_state_rows &&
        !f->n_state_latest) {
        free(f);
        return;
    }
    p->inflight = f;
    p->work.data = p;
    int rc = uv_queue_work(p->loop, &p->work, flush_work, flush_done);
    if (rc) {
        iocd_log_err("store", "cannot queue flush: %s", uv_strerror(rc));
        p->inflight = NULL;
        p->failed = f;
    }
}

/* A VN_AQI value: a sample of the AQI feed's own series. */
static void emit_aqi(void *ud, const char *station, const char *metric, int64_t t_ms, double v,
                     bool correction)
{
    struct iocd_pipeline *p = ud;
    int idx = iocd_aqi_feed_adapter(p->aqi);
    char detail[192];
    uint32_t id = 0;
    int64_t now = iocd_now_ms();
    const char *unit = "1";
    enum iocd_reject r =
        correction
            ? correct(p, idx, station, metric, unit, v, t_ms, now, &id, detail, sizeof(detail))
            : aggregate(p, idx, station, metric, &unit, &v, t_ms, now, false, &id, detail,
                        sizeof(detail));
    if (r == IOCD_REJECT_NONE) {
        p->scopes[idx].value[IOCD_CTR_OBSERVATIONS]++;
        if (p->feed) {
            Ioc__V1__Observation o = IOC__V1__OBSERVATION__INIT;
            o.source = (char *)p->cfg->adapters[idx].source;
            o.device = (char *)station;
            o.metric = (char *)metric;
            o.unit = "1";
            o.value = v;
            o.observed_ms = t_ms;
            o.received_ms = now;
            o.correction = correction;
            iocd_feed_observation(p->feed, id, o.source, &o);
            iocd_feed_message_end(p->feed);
        }
    } else
        count_reject(p, &p->scopes[idx], r, "(vn_aqi)", detail);
}

static void on_flush_timer(uv_timer_t *t)
{
    struct iocd_pipeline *p = t->data;
    iocd_aqi_feed_tick(p->aqi, iocd_now_ms(), iocd_mono_ms(), emit_aqi, p);
    iocd_groups_tick(p->groups, iocd_now_ms(), emit_gauge, p);
    /* State time up to the windows closed [live] window_grace ago. */
    iocd_states_tick(p->states, iocd_now_ms() - p->cfg->live.window_grace_ms);
    flush_start(p);
    if (p->draining && nothing_held(p)) {
        uv_timer_stop(&p->flush_timer);
        p->draining = false;
        p->drained_cb(p, p->drained_ud);
    }
}

void iocd_pipeline_start(struct iocd_pipeline *p)
{
    uint64_t iv = (uint64_t)p->cfg->store.flush_interval_ms;
    uv_timer_start(&p->flush_timer, on_flush_timer, iv, iv);
}

void iocd_pipeline_drain(struct iocd_pipeline *p, iocd_pipeline_drained_cb cb, void *ud)
{
    p->draining = true;
    if (p->feed) /* a graceful stop leaves every device's last-seen time exact */
        iocd_devices_mark_unsaved(iocd_feed_devices(p->feed));
    p->drained_cb = cb;
    p->drained_ud = ud;
    if (!uv_is_active((uv_handle_t *)&p->flush_timer))
        iocd_pipeline_start(p);
    /* Do not wait for the next tick: write now (a failed flush is retried
     * on the timer, so a broken disk does not spin the loop). */
    on_flush_timer(&p->flush_timer);
}

int iocd_pipeline_reload(struct iocd_pipeline *p, const struct iocd_config *old,
                         const struct iocd_config_diff *d)
{
    const struct iocd_config *cfg = p->cfg;
    size_t na = (size_t)cfg->n_adapters, cap = p->n_scopes + na;
    struct iocd_counter_scope *sc = calloc(cap, sizeof(*sc));
    int64_t *ser = calloc(cap, sizeof(*ser));
    int *to = calloc(p->n_scopes, sizeof(*to)); /* old scope -> new scope */
    if (!sc || !ser || !to) {
        free(sc);
        free(ser);
        free(to);
        return -1;
    }
    for (size_t j = 0; j < p->n_scopes; j++)
        to[j] = -1;
    /* Each feed of the new configuration: its old scope (by index when it
     * was there, else a retired one of the same name), or a new one. */
    for (size_t i = 0; i < na; i++) {
        int from = d->adapter_from[i];
        if (from < 0)
            for (size_t j = (size_t)old->n_adapters; j + 1 < p->n_scopes; j++)
                if (to[j] < 0 && strcmp(p->scopes[j].name, cfg->adapters[i].name) == 0)
                    from = (int)j;
        if (from >= 0) {
            sc[i] = p->scopes[from];
            ser[i] = p->adapter_series[from];
            to[from] = (int)i;
        } else {
            snprintf(sc[i].name, IOCD_SCOPE_MAX, "%s", cfg->adapters[i].name);
        }
    }
    /* Then the retired ones, then "iocd". */
    size_t n = na;
    for (size_t j = 0; j + 1 < p->n_scopes; j++)
        if (to[j] < 0) {
            sc[n] = p->scopes[j];
            ser[n] = p->adapter_series[j];
            to[j] = (int)n++;
        }
    sc[n] = p->scopes[p->n_scopes - 1];
    to[p->n_scopes - 1] = (int)n++;
    /* A series' feed, by index (only the start-up replay reads it). */
    for (size_t k = 0; k < p->n_series_adapter; k++) {
        int j = p->series_adapter[k];
        int ni = j >= 0 ? to[j] : -1;
        p->series_adapter[k] = (int16_t)(ni >= 0 && (size_t)ni < na ? ni : -1);
    }
    if (p->aqi) {
        int idx = -1;
        for (size_t i = 0; i < na; i++)
            if (strcmp(cfg->adapters[i].name, cfg->aqi.adapter) == 0)
                idx = (int)i;
        iocd_aqi_feed_set_adapter(p->aqi, idx);
    }
    free(to);
    free(p->scopes);
    free(p->adapter_series);
    p->scopes = sc;
    p->adapter_series = ser;
    p->n_scopes = n;
    return 0;
}

void iocd_pipeline_close(struct iocd_pipeline *p)
{
    if (!uv_is_closing((uv_handle_t *)&p->flush_timer))
        uv_close((uv_handle_t *)&p->flush_timer, NULL);
    if (!uv_is_closing((uv_handle_t *)&p->quiet_timer))
        uv_close((uv_handle_t *)&p->quiet_timer, NULL);
}

void iocd_pipeline_free(struct iocd_pipeline *p)
{
    iocd_flush_free(p->failed);
    iocd_flush_free(p->inflight);
    for (size_t i = 0; i < p->n_events; i++)
        free(p->events[i].block);
    free(p->events);
    p->events = NULL;
    p->n_events = 0;
    iocd_agg_free(p->agg);
    iocd_dedup_free(p->dedup);
    p->dedup = NULL;
    iocd_aqi_feed_free(p->aqi);
    p->aqi = NULL;
    iocd_cases_free(p->cases);
    p->cases = NULL;
    iocd_groups_free(p->groups);
    p->groups = NULL;
    iocd_unit_norm_free(p->units);
    p->units = NULL;
    iocd_states_free(p->states);
    p->states = NULL;
    iocd_series_reg_free(p->series);
    free(p->scopes);
    free(p->adapter_series);
    p->adapter_series = NULL;
    free(p->series_adapter);
    p->series_adapter = NULL;
    free(p->samples);
    p->samples = NULL;
    free(p->replaces);
    p->replaces = NULL;
    free(p->closed);
    p->closed = NULL;
    free_aqi_names(p);
    p->failed = p->inflight = NULL;
    p->agg = NULL;
    p->series = NULL;
    p->scopes = NULL;
}
