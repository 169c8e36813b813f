/* daemon/main.c — iocd's entry point: options, start-up, signals,
 * systemd notification and orderly shutdown.
 *
 * Owns: the libuv loop and the wiring between the concerns (config, store,
 * pipeline, router, MQTT session), and the reload that rewires them.
 * Signal handlers only start the work; the loop does it:
 *   SIGTERM/SIGINT → stop MQTT (clean DISCONNECT, the broker queues what
 *   comes next) → drain the pipeline (every window written) → close
 *   handles → exit 0.
 *   SIGHUP → load the file again; refused whole (and the old configuration
 *   kept) when it is invalid or changes a restart-only key; otherwise the
 *   new configuration replaces the old between two messages
 *   (docs/reload.md). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "iocd_build.h"
#if IOCD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

#include "daemon/config/config.h"
#include "daemon/config/diff.h"
#include "daemon/config/registry.h"
#include "daemon/live/feed.h"
#include "daemon/http/server.h"
#include "daemon/base/log.h"
#include "daemon/http/metrics.h"
#include "daemon/mqtt/dead_letter.h"
#include "daemon/mqtt/session.h"
#include "daemon/mqtt/sparkplug_host.h"
#include "daemon/notify/notify.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/mqtt/republish.h"
#include "daemon/ingest/router.h"
#include "daemon/store/sqlite.h"
#include "daemon/base/timeutil.h"
#include "daemon/ingest/try.h"

/* A flush in flight longer than IOCD_FLUSH_STUCK_MS means the disk is
 * stuck: stop petting the watchdog so systemd restarts us. */

struct iocd {
    uv_loop_t *loop;
    struct iocd_config cfg;
    struct iocd_store *store;
    struct iocd_pipeline pipe;
    struct iocd_router router;
    struct iocd_mqtt mqtt;
    struct iocd_feed *feed;
    struct iocd_notify *notify; /* webhooks of alert changes ([notify NAME]) */
    struct iocd_republish republish;
    struct iocd_sparkplug_host sparkplug; /* STATE; off without [sparkplug] host_id */
    struct iocd_http *http; /* NULL when [http] listen is empty */
    struct iocd_metrics_src metrics;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t watchdog;
    bool watchdog_on;
    bool ready_sent;
    bool shutting_down;
    /* What run has started, so that one teardown (close_all, free_all)
     * undoes exactly that, however far the start got. */
    bool pipe_open, mqtt_open, signals_open, closed;
};

static void notify(const char *state)
{
#if IOCD_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static void on_mqtt_message(void *ud, const struct mosquitto_message *msg,
                            const mosquitto_property *props)
{
    struct iocd *d = ud;
    if (iocd_sparkplug_host_message(&d->sparkplug, msg->topic, msg->payload,
                                    msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
                                    msg->retain, iocd_now_ms()))
        return;
    iocd_router_dispatch(&d->router, msg->topic, msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
                         iocd_now_ms(), props);
}

/* The pipeline's dead-letter hook: daemon/mqtt/dead_letter.c publishes. */
static int on_dead_letter(void *ud, const char *adapter, const struct iocd_message *msg,
                          enum iocd_reject reason, const char *detail)
{
    struct iocd *d = ud;
    const struct iocd_dead_letter dl = {
        .adapter = adapter,
        .topic = msg->topic,
        .payload = msg->payload,
        .len = msg->len,
        .received_ms = msg->received_ms,
        .reason = iocd_reject_name(reason),
        .detail = detail,
    };
    return iocd_dead_letter_publish(&d->mqtt, d->cfg.ingest.dead_letter_topic, &dl);
}

/* An adapter's command (a Sparkplug Rebirth request) to the broker. */
static int on_command(void *ud, const char *adapter, const struct iocd_command *c)
{
    (void)adapter;
    struct iocd *d = ud;
    return iocd_mqtt_publish(&d->mqtt, c->topic, c->payload, c->len, c->qos, c->retain);
}

/* Before each CONNECT: the Sparkplug STATE death as the will. */
static void on_mqtt_connecting(void *ud)
{
    struct iocd *d = ud;
    iocd_sparkplug_host_connecting(&d->sparkplug, iocd_now_ms());
}

/* The pipeline's back-pressure: stop and resume reading from the broker. */
static void on_pressure(void *ud, bool on)
{
    struct iocd *d = ud;
    iocd_mqtt_pause(&d->mqtt, on);
}

static void on_mqtt_subscribed(void *ud)
{
    struct iocd *d = ud;
    if (!d->ready_sent) {
        d->ready_sent = true;
        notify("READY=1\nSTATUS=subscribed, ingesting");
        iocd_log_notice("iocd", "ready: ingesting %d feed(s)", d->cfg.n_adapters);
    }
    /* After every connect, the first included, send every device's state
     * again (retained): a broker that restarted without persistence lost
     * them, and changes found while iocd was not connected were dropped. */
    if (d->republish.sink)
        iocd_feed_resend_status(d->feed, iocd_republish_item, &d->republish);
    iocd_sparkplug_host_subscribed(&d->sparkplug);
}

/* Close every handle run opened (they finish closing on the loop). Called
 * once the pipeline is drained, or when the start failed; once only. */
static void close_all(struct iocd *d)
{
    if (d->closed)
        return;
    d->closed = true;
    iocd_republish_stop(&d->republish);
    if (d->http)
        iocd_http_close(d->http);
    if (d->feed)
        iocd_feed_close(d->feed);
    if (d->mqtt_open)
        iocd_mqtt_close(&d->mqtt);
    if (d->pipe_open)
        iocd_pipeline_close(&d->pipe);
    if (d->signals_open) {
        uv_close((uv_handle_t *)&d->sig_term, NULL);
        uv_close((uv_handle_t *)&d->sig_int, NULL);
        uv_close((uv_handle_t *)&d->sig_hup, NULL);
        uv_close((uv_handle_t *)&d->watchdog, NULL);
        /* Everything is written; closing the last uv_signal restores the
         * default action, and a repeated SIGTERM must not turn a clean exit
         * into death by signal. */
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
    }
}

/* After close_all: let the closing handles finish, then free everything
 * run made (each free accepts what was never made). */
static void free_all(struct iocd *d)
{
    uv_run(d->loop, UV_RUN_DEFAULT);
    iocd_mqtt_free(&d->mqtt);
    iocd_http_free(d->http);
    iocd_router_free(&d->router);
    iocd_feed_free(d->feed);
    /* After the feed: no alert change comes any more. What waits is
     * written to the notification queue for the next start. */
    iocd_notify_free(d->notify);
    iocd_pipeline_free(&d->pipe);
    iocd_store_close(d->store);
    uv_loop_close(d->loop);
}

static void on_drained(struct iocd_pipeline *p, void *ud)
{
    (void)p;
    struct iocd *d = ud;
    struct iocd_error err;
    if (d->feed && iocd_feed_save_windows(d->feed, d->store, &err))
        iocd_log_warn("iocd", "%s; the open live windows start afresh next time", err.msg);
    iocd_log_notice("iocd", "all aggregates written; exiting");
    close_all(d);
}

static void on_mqtt_stopped(void *ud)
{
    struct iocd *d = ud;
    if (!d->shutting_down)
        return;
    iocd_log_info("iocd", "disconnected from the broker; writing what is held");
    iocd_pipeline_drain(&d->pipe, on_drained, d);
}

/* The filters of `c` that `other` does not have (pointers into c). */
static int filters_not_in(const struct iocd_config *c, const struct iocd_config *other,
                          char **out)
{
    int n = 0;
    for (int i = 0; i < c->n_adapters; i++) {
        bool found = false;
        for (int j = 0; j < other->n_adapters && !found; j++)
            found = strcmp(c->adapters[i].topic, other->adapters[j].topic) == 0;
        for (int j = 0; j < n && !found; j++)
            found = strcmp(c->adapters[i].topic, out[j]) == 0;
        if (!found)
            out[n++] = c->adapters[i].topic;
    }
    return n;
}

/* Put `next` in place of the running configuration (already checked by
 * iocd_config_diff): every stage that keeps something per feed or per rule
 * follows it by name; the rest read the configuration on each use. */
static int apply_config(struct iocd *d, struct iocd_config *next, const struct iocd_config_diff *df,
                        struct iocd_error *err)
{
    int n_old_rules = d->cfg.n_alerts > 0 ? d->cfg.n_alerts : 1;
    int *rule_to = malloc((size_t)n_old_rules * sizeof(*rule_to));
    char **gone = calloc((size_t)d->cfg.n_adapters + 1, sizeof(*gone));
    char **added = calloc((size_t)next->n_adapters + 1, sizeof(*added));
    if (!rule_to || !gone || !added) {
        free(rule_to);
        free(gone);
        free(added);
        return iocd_error_set(err, "out of memory");
    }
    for (int j = 0; j < n_old_rules; j++)
        rule_to[j] = -1;
    for (int i = 0; i < next->n_alerts; i++)
        if (df->rule_from[i] >= 0 && df->rule_keeps_state[i])
            rule_to[df->rule_from[i]] = i;
    /* An unchanged feed keeps its decoder's state (Sparkplug aliases,
     * cases): swapped, so the old configuration frees the fresh one. */
    for (int i = 0; i < next->n_adapters; i++)
        if (df->adapter_kind[i] == IOCD_DIFF_SAME) {
            struct iocd_adapter_conf *o = &d->cfg.adapters[df->adapter_from[i]];
            void *st = o->state;
            o->state = next->adapters[i].state;
            next->adapters[i].state = st;
        }
    struct iocd_config old = d->cfg;
    d->cfg = *next;
    free(next);
    d->mqtt.cfg = &d->cfg; /* iocd_mqtt_reconfigure took `next`: the same contents */
    int n_gone = filters_not_in(&old, &d->cfg, gone);
    int n_added = filters_not_in(&d->cfg, &old, added);
    int rc = 0;
    /* The channels first: alerts of removed rules are cleared (and
     * notified) by iocd_feed_reload, against the new channels. */
    if (iocd_notify_reload(d->notify))
        iocd_log_err("notify", "reload: out of memory; the previous channels stay");
    if (iocd_pipeline_reload(&d->pipe, &old, df) || iocd_feed_reload(d->feed, &old, rule_to)) {
        iocd_log_err("iocd", "out of memory applying the reload; counters or alerts may be off");
        rc = 0; /* the configuration is in place either way */
    }
    /* A session reconnecting with new settings subscribes the new list. */
    if (!d->mqtt.rebuild)
        iocd_mqtt_change_filters(&d->mqtt, gone, n_gone, added, n_added);
    if (d->http && iocd_http_set_accounts(d->http, &d->cfg))
        iocd_log_err("http", "reload: out of memory; the previous token and accounts stay");
    /* The API's certificate is read again on every reload: a renewed one
     * at the same path is picked up (new connections; open ones keep
     * theirs). A failure keeps the old one, said in the log. */
    if (d->http && d->cfg.http.tls_cert && d->cfg.http.tls_cert[0]) {
        struct iocd_error terr;
        if (iocd_http_reload_tls(d->http, &d->cfg, &terr))
            iocd_log_err("http", "reload: %s; the previous certificate stays", terr.msg);
    }
    if (df->log_changed)
        iocd_log_set_level(d->cfg.log.level);
    d->pipe.dead_letter = d->cfg.ingest.dead_letter_topic[0] ? on_dead_letter : NULL;
    d->pipe.dead_letter_ud = d;
    /* Registry rows whose position the reload did not change keep the time
     * it last changed: they do not move back in front of reported ones. */
    iocd_registry_keep_times(d->cfg.devices.registry_data, old.devices.registry_data);
    if (d->cfg.devices.registry_data)
        iocd_log_notice("iocd", "reload: device registry: %zu device(s) from %s",
                        iocd_registry_count(d->cfg.devices.registry_data),
                        d->cfg.devices.registry);
    free(rule_to);
    free(gone);
    free(added);
    iocd_config_free(&old);
    return rc;
}

/* SIGHUP: load the configuration file again and apply it, or keep the
 * running one and say why. */
static void reload(struct iocd *d)
{
    notify("RELOADING=1\nSTATUS=reloading the configuration");
    const char *path = d->cfg.path;
    struct iocd_error err;
    struct iocd_config *next = calloc(1, sizeof(*next));
    struct iocd_config_diff df;
    if (!next) {
        iocd_error_set(&err, "out of memory");
    } else if (iocd_config_load(next, path, &err)) {
        free(next);
        next = NULL;
    } else if (iocd_config_diff(&d->cfg, next, &df, &err)) {
        iocd_config_free(next);
        free(next);
        next = NULL;
    } else if (iocd_mqtt_reconfigure(&d->mqtt, next, &err)) {
        /* TLS files that cannot be used: the session keeps the old ones. */
        iocd_config_diff_free(&df);
        iocd_config_free(next);
        free(next);
        next = NULL;
    }
    if (!next) {
        iocd_log_err("iocd", "reload: refused: %s; still running on the previous configuration",
                     err.msg);
        notify("READY=1\nSTATUS=reload refused; running on the previous configuration");
        return;
    }
    char summary[256];
    snprintf(summary, sizeof(summary),
             "feeds %d added, %d removed, %d changed; alert rules %d added, %d removed, "
             "%d changed%s%s",
             df.adapters_added, df.adapters_removed, df.adapters_changed, df.rules_added,
             df.rules_removed, df.rules_changed, df.mqtt_changed ? "; [mqtt] changed" : "",
             df.log_changed ? "; [log] changed" : "");
    apply_config(d, next, &df, &err);
    iocd_config_diff_free(&df);
    iocd_log_notice("iocd", "reload: configuration applied from %s (%s)",
                    d->cfg.path ? d->cfg.path : "(defaults)", summary);
    notify("READY=1\nSTATUS=subscribed, ingesting (configuration reloaded)");
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct iocd *d = s->data;
    if (signum == SIGHUP) {
        if (d->shutting_down)
            iocd_log_notice("iocd", "SIGHUP while stopping: not reloading");
        else
            reload(d);
        return;
    }
    if (d->shutting_down) {
        iocd_log_notice("iocd", "%s again: still writing, please wait", strsignal(signum));
        return;
    }
    d->shutting_down = true;
    notify("STOPPING=1\nSTATUS=stopping: writing aggregates");
    iocd_log_notice("iocd", "%s: stopping", strsignal(signum));
    iocd_sparkplug_host_stop(&d->sparkplug); /* the DISCONNECT discards the will */
    iocd_mqtt_stop(&d->mqtt);
}

static void on_watchdog(uv_timer_t *t)
{
    struct iocd *d = t->data;
    /* The loop is turning (we are here); the flush must be moving too. */
    if (d->pipe.inflight && iocd_now_ms() - d->pipe.last_flush_done_ms > IOCD_FLUSH_STUCK_MS) {
        iocd_log_err("iocd", "flush stuck for over %d s; not petting the watchdog",
                     IOCD_FLUSH_STUCK_MS / 1000);
        return;
    }
    notify("WATCHDOG=1");
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: iocd [-c FILE] [--check-config]\n"
            "       iocd [-c FILE] --try ADAPTER PAYLOAD-FILE [--topic TOPIC]\n"
            "\n"
            "City operations centre daemon: ingests MQTT feeds, normalises them to ioc.v1,\n"
            "keeps windowed aggregates in SQLite.\n"
            "\n"
            "  -c, --config FILE   configuration file (default: embedded defaults: broker\n"
            "                      localhost:1883, the iocd-sim feeds, database in\n"
            "                      $STATE_DIRECTORY or the current directory)\n"
            "      --check-config  validate the configuration and exit (0 valid, 1 not)\n"
            "                      (SIGHUP makes a running iocd reload it: docs/reload.md)\n"
            "      --help-config   list every configuration key with its default\n"
            "      --markdown      with --help-config: as the Markdown tables of the docs\n"
            "      --try ADAPTER FILE  print the Observations and Events one payload (FILE,\n"
            "                      or - for stdin) becomes under [adapter ADAPTER], or why\n"
            "                      it is rejected; exit 0 accepted, 1 rejected\n"
            "      --topic TOPIC   the topic for --try (default: the adapter's filter with\n"
            "                      each wildcard replaced by x)\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          this help\n");
}

static cJSON *prov_status(void *ud)
{
    struct iocd *d = ud;
    cJSON *o = iocd_status_json(&d->metrics);
    cJSON *n = iocd_notify_status_json(d->notify);
    if (o && n)
        cJSON_AddItemToObject(o, "notify", n);
    else
        cJSON_Delete(n);
    return o;
}

static char *prov_latest(void *ud, const char *match, uint64_t after, size_t limit, size_t *len)
{
    return iocd_feed_latest_text(((struct iocd *)ud)->feed, match, after, limit, len);
}

static char *prov_devices(void *ud, const struct iocd_devices_filter *flt, uint64_t after,
                          size_t limit, size_t *len)
{
    return iocd_feed_devices_text(((struct iocd *)ud)->feed, flt, after, limit, len);
}

static cJSON *prov_alerts(void *ud)
{
    return iocd_feed_alerts_active_json(((struct iocd *)ud)->feed);
}

static int prov_alert_act(void *ud, const char *action, const char *id, const char *actor,
                          const char *note, const char *to, cJSON **out)
{
    return iocd_feed_alert_act(((struct iocd *)ud)->feed, action, id, actor, note, to, out);
}

static int prov_silence(void *ud, const char *op, const char *id, const char *const fields[4],
                        int64_t duration_ms, const char *reason, const char *actor, cJSON **out)
{
    struct iocd_feed *feed = ((struct iocd *)ud)->feed;
    if (strcmp(op, "list") == 0) {
        *out = iocd_feed_silences_json(feed);
        return 200;
    }
    if (strcmp(op, "lift") == 0)
        return iocd_feed_unsilence(feed, id, actor, out);
    struct iocd_silence s = {0};
    snprintf(s.rule, sizeof(s.rule), "%s", fields[0]);
    snprintf(s.source, sizeof(s.source), "%s", fields[1]);
    snprintf(s.device, sizeof(s.device), "%s", fields[2]);
    snprintf(s.area, sizeof(s.area), "%s", fields[3]);
    snprintf(s.by, sizeof(s.by), "%s", actor);
    snprintf(s.reason, sizeof(s.reason), "%s", reason);
    s.until_ms = iocd_now_ms() + duration_ms;
    return iocd_feed_silence(feed, &s, out);
}

static char *prov_metrics(void *ud)
{
    struct iocd *d = ud;
    char *text = iocd_metrics_render(&d->metrics);
    if (!text)
        return NULL;
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_buf_puts(&b, text);
    free(text);
    iocd_notify_metrics(d->notify, &b);
    return iocd_buf_take(&b);
}

static void on_alert_change(void *ud, const struct iocd_alert_change *c)
{
    iocd_notify_alert(ud, c);
}

static int prov_health(void *ud, cJSON *body)
{
    return iocd_health(&((struct iocd *)ud)->metrics, body);
}

static int store_alert(void *ud, const char *source, const Ioc__V1__Event *e)
{
    return iocd_pipeline_hold_event(ud, source, e);
}

/* The store, with this start recorded in its meta rows. */
static int open_store(struct iocd *d)
{
    struct iocd_error err;
    if (iocd_store_open(&d->store, &iocd_store_sqlite, d->cfg.store.path, &err)) {
        iocd_log_err("store", "%s", err.msg);
        return -1;
    }
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)iocd_now_ms());
    if (iocd_store_set_meta(d->store, "iocd_version", IOCD_VERSION, &err) ||
        iocd_store_set_meta(d->store, "started_ms", buf, &err)) {
        iocd_log_err("store", "%s", err.msg);
        return -1;
    }
    return 0;
}

/* Pipeline, live feed, router and MQTT session, wired together. */
static int start_stages(struct iocd *d)
{
    struct iocd_error err;
    if (iocd_pipeline_init(&d->pipe, d->loop, &d->cfg, d->store, &err)) {
        iocd_log_err("iocd", "%s", err.msg);
        return -1;
    }
    d->pipe_open = true;
    if (iocd_feed_new(&d->feed, d->loop, &d->cfg)) {
        iocd_log_err("iocd", "out of memory for the live feed");
        return -1;
    }
    if (iocd_feed_restore(d->feed, d->store, &err))
        iocd_log_warn("iocd", "%s; devices and raised alerts not restored", err.msg);
    iocd_feed_set_store(d->feed, store_alert, &d->pipe);
    /* Webhooks: their queue is a SQLite file of its own beside the database. */
    char queue[4200];
    snprintf(queue, sizeof(queue), "%s%s", d->cfg.store.path,
             strcmp(d->cfg.store.path, ":memory:") == 0 ? "" : "-notify");
    d->notify = iocd_notify_new(&d->cfg, queue, "iocd/" IOCD_VERSION);
    if (!d->notify) {
        iocd_log_err("iocd", "out of memory for the notifier");
        return -1;
    }
    iocd_feed_set_notify(d->feed, on_alert_change, d->notify);
    d->pipe.feed = d->feed;
    iocd_router_init(&d->router, &d->cfg, &d->pipe);
    struct iocd_mqtt_callbacks cb = {
        .message = on_mqtt_message,
        .subscribed = on_mqtt_subscribed,
        .stopped = on_mqtt_stopped,
        .connecting = on_mqtt_connecting,
        .ud = d,
    };
    if (iocd_mqtt_init(&d->mqtt, d->loop, &d->cfg, &cb, &err)) {
        iocd_log_err("mqtt", "%s", err.msg);
        return -1;
    }
    d->mqtt_open = true;
    iocd_sparkplug_host_init(&d->sparkplug, &d->cfg, &d->mqtt);
    const char *state_topic = iocd_sparkplug_host_topic(&d->sparkplug);
    if (state_topic && iocd_mqtt_add_filter(&d->mqtt, state_topic)) {
        iocd_log_err("mqtt", "out of memory for the subscription to '%s'", state_topic);
        return -1;
    }
    d->pipe.command = on_command;
    d->pipe.command_ud = d;
    if (d->cfg.ingest.dead_letter_topic[0]) {
        d->pipe.dead_letter = on_dead_letter;
        d->pipe.dead_letter_ud = d;
    }
    d->pipe.pressure = on_pressure;
    d->pipe.pressure_ud = d;
    return 0;
}

/* What leaves the daemon besides the store: metrics, the republisher and
 * the HTTP server. */
static int start_outputs(struct iocd *d)
{
    d->metrics = (struct iocd_metrics_src){
        .pipe = &d->pipe,
        .mqtt = &d->mqtt,
        .feed = d->feed,
        .republish = &d->republish,
        .sparkplug = &d->sparkplug,
        .started_ms = iocd_now_ms(),
    };
    if (iocd_republish_start(&d->republish, &d->cfg, &d->mqtt, iocd_feed_live(d->feed))) {
        iocd_log_err("iocd", "out of memory for the republisher");
        return -1;
    }
    if (!d->cfg.http.listen[0])
        return 0;
    static const struct iocd_http_provider prov = {
        .status = prov_status,
        .latest = prov_latest,
        .devices = prov_devices,
        .alerts_active = prov_alerts,
        .alert_act = prov_alert_act,
        .silence = prov_silence,
        .metrics = prov_metrics,
        .health = prov_health,
    };
    struct iocd_http_provider p = prov;
    p.ud = d;
    struct iocd_error err;
    if (iocd_http_start(&d->http, d->loop, &d->cfg, iocd_feed_live(d->feed), &p, &err)) {
        iocd_log_err("http", "%s", err.msg);
        return -1;
    }
    return 0;
}

/* A SIGHUP before the loop's handler is in place (opening a large
 * database takes a while) must not kill iocd: it is noted, and answered
 * once the loop runs. */
static volatile sig_atomic_t early_hup;

static void on_early_hup(int signum)
{
    (void)signum;
    early_hup = 1;
}

static void start_signals(struct iocd *d)
{
    uv_signal_init(d->loop, &d->sig_term);
    uv_signal_init(d->loop, &d->sig_int);
    uv_signal_init(d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_signal_start(&d->sig_term, on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, on_signal, SIGINT);
    uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
    uv_timer_init(d->loop, &d->watchdog);
    d->watchdog.data = d;
    d->signals_open = true;
    if (early_hup)
        iocd_log_notice("iocd", "SIGHUP during start-up: the configuration was just read; "
                                "nothing to reload");
#if IOCD_HAVE_SYSTEMD
    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000)
        uv_timer_start(&d->watchdog, on_watchdog, wd_usec / 2000, wd_usec / 2000);
#endif
}

/* Start everything, run the loop until the pipeline is drained after a
 * signal, and tear down: one path whether the start got through or not. */
static int run(struct iocd *d)
{
    d->loop = uv_default_loop();
    int rc = 1;
    if (open_store(d) == 0 && start_stages(d) == 0 && start_outputs(d) == 0) {
        start_signals(d);
        iocd_log_notice("iocd", "iocd %s starting: %d feed(s), broker %s:%d, database %s",
                        IOCD_VERSION, d->cfg.n_adapters, d->cfg.mqtt.host, d->cfg.mqtt.port,
                        d->cfg.store.path);
        iocd_pipeline_start(&d->pipe);
        iocd_feed_start(d->feed);
        iocd_mqtt_start(&d->mqtt);
        uv_run(d->loop, UV_RUN_DEFAULT);
        rc = 0;
    }
    close_all(d);
    free_all(d);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'C'},
        {"help-config", no_argument, NULL, 'K'},
        {"markdown", no_argument, NULL, 'M'},
        {"try", required_argument, NULL, 'T'},
        {"topic", required_argument, NULL, 't'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* Every flush hands over arrays of tens of MB (windows, samples). A
     * fixed mmap threshold keeps glibc from raising its own after freeing
     * them, which moved later ones onto the heap, where freed space is not
     * given back: 20 % less peak RSS at 100,000 series (bench/mem.sh). */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    const char *config_path = NULL;
    const char *try_adapter = NULL, *try_topic = NULL;
    bool check_only = false, help_config = false, markdown = false;
    int c;
    while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 'C':
            check_only = true;
            break;
        case 'K':
            help_config = true;
            break;
        case 'M':
            markdown = true;
            break;
        case 'T':
            try_adapter = optarg;
            break;
        case 't':
            try_topic = optarg;
            break;
        case 'V':
            printf("iocd %s\n", IOCD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (help_config) {
        iocd_config_print_keys(stdout, markdown);
        return 0;
    }
    const char *try_file = NULL;
    if (try_adapter && optind < argc)
        try_file = argv[optind++];
    if (try_adapter && !try_file) {
        fprintf(stderr, "iocd: --try needs ADAPTER and PAYLOAD-FILE\n");
        usage(stderr);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "iocd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction hup = {.sa_handler = on_early_hup};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);
    mosquitto_lib_init();
    static struct iocd d;
    struct iocd_error err;
    /* The TLS material is parsed too (certificates, key, CA): refused here,
     * with its file and line, rather than at the first connect. */
    if (iocd_config_load(&d.cfg, config_path, &err) || iocd_tls_check(&d.cfg, &err)) {
        fprintf(stderr, "iocd: %s\n", err.msg);
        if (d.cfg.path)
            iocd_config_free(&d.cfg);
        mosquitto_lib_cleanup();
        return 1;
    }
    if (try_adapter) {
        int trc = iocd_try_run(&d.cfg, try_adapter, try_file, try_topic, stdout, stderr);
        iocd_config_free(&d.cfg);
        mosquitto_lib_cleanup();
        return trc;
    }
    if (check_only) {
        char reg[64] = "";
        if (d.cfg.devices.registry_data)
            snprintf(reg, sizeof(reg), ", registry of %zu device(s)",
                     iocd_registry_count(d.cfg.devices.registry_data));
        printf("%s: ok (%d feed(s), database %s%s)\n", config_path ? config_path : "(defaults)",
               d.cfg.n_adapters, d.cfg.store.path, reg);
        iocd_config_free(&d.cfg);
        mosquitto_lib_cleanup();
        return 0;
    }
    iocd_log_init(d.cfg.log.level);
    if (d.cfg.devices.registry_data)
        iocd_log_notice("iocd", "device registry: %zu device(s) from %s",
                        iocd_registry_count(d.cfg.devices.registry_data), d.cfg.devices.registry);
#if IOCD_HAVE_SYSTEMD
    /* Under journald: one entry a line, with IOCD_FEED=, IOCD_TOPIC=, ... */
    iocd_log_journal_set(sd_journal_sendv);
#endif
    srand((unsigned)iocd_now_ms() ^ (unsigned)getpid());
    int rc = run(&d);
    iocd_config_free(&d.cfg);
    mosquitto_lib_cleanup();
    return rc;
}
