/* daemon/mqtt/session.c — the MQTT session on the libuv loop (see mqtt.h). */
#include "daemon/mqtt/session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"

#define STOP_TIMEOUT_MS 3000

static void schedule_reconnect(struct iocd_mqtt *m);
static void on_poll(uv_poll_t *h, int status, int events);
static void finish_stop(struct iocd_mqtt *m);
static void update_poll(struct iocd_mqtt *m);

/* A clean DISCONNECT (the broker keeps the session and drops the will),
 * queued after any PUBACKs not yet written; on_disconnect fires once it
 * has gone out. */
static void send_disconnect(struct iocd_mqtt *m)
{
    m->final_mid = 0;
    m->disconnect_waits = false;
    m->stop_deadline_ms = iocd_now_ms() + STOP_TIMEOUT_MS;
    if (mosquitto_disconnect(m->mosq) != MOSQ_ERR_SUCCESS)
        finish_stop(m);
    else
        update_poll(m);
}

const char *iocd_mqtt_state_name(enum iocd_mqtt_state s)
{
    static const char *const names[] = {"idle", "resolving", "connecting", "connected",
                                        "waiting", "stopping", "stopped", "paused"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static void poll_closed(uv_handle_t *h)
{
    free(h);
}

/* Stop watching the socket. libmosquitto may already have closed it; the
 * watch is dropped before any new socket can reuse the descriptor. */
static void drop_poll(struct iocd_mqtt *m)
{
    if (!m->poll)
        return;
    uv_poll_stop(m->poll);
    uv_close((uv_handle_t *)m->poll, poll_closed);
    m->poll = NULL;
}

static void update_poll(struct iocd_mqtt *m)
{
    if (!m->poll)
        return;
    int ev = UV_READABLE | (mosquitto_want_write(m->mosq) ? UV_WRITABLE : 0);
    /* Restarting a poll with the same events costs libuv an epoll_ctl
     * each time: after every publish and every read, under load. */
    if (ev != m->poll_events) {
        uv_poll_start(m->poll, ev, on_poll);
        m->poll_events = ev;
    }
}

static void finish_stop(struct iocd_mqtt *m)
{
    drop_poll(m);
    uv_timer_stop(&m->reconnect_timer);
    uv_timer_stop(&m->misc_timer);
    m->state = IOCD_MQTT_STOPPED;
    if (m->cb.stopped)
        m->cb.stopped(m->cb.ud);
}

/* The connection is gone (or never came): forget the socket and either
 * finish a stop or try again later. */
static void connection_lost(struct iocd_mqtt *m, const char *why)
{
    drop_poll(m);
    if (m->state == IOCD_MQTT_STOPPING) {
        finish_stop(m);
        return;
    }
    if (m->state == IOCD_MQTT_STOPPED || m->state == IOCD_MQTT_WAITING ||
        m->state == IOCD_MQTT_PAUSED)
        return;
    if (m->paused) {
        m->state = IOCD_MQTT_PAUSED;
        m->down_since_ms = 0;
        iocd_log_notice("mqtt", "disconnected for back-pressure; the broker queues meanwhile");
        return;
    }
    if (m->state == IOCD_MQTT_CONNECTED)
        iocd_log_warn("mqtt", "connection to %s:%d lost: %s", m->cfg->mqtt.host, m->cfg->mqtt.port,
                      why);
    if (!m->down_since_ms)
        m->down_since_ms = iocd_now_ms();
    schedule_reconnect(m);
}

static void on_connect(struct mosquitto *mosq, void *ud, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    struct iocd_mqtt *m = ud;
    if (rc != 0) {
        iocd_log_err("mqtt", "broker %s:%d refused the connection: %s", m->cfg->mqtt.host,
                     m->cfg->mqtt.port, mosquitto_connack_string(rc));
        return; /* the broker closes the socket; on_disconnect schedules a retry */
    }
    m->state = IOCD_MQTT_CONNECTED;
    m->attempts = 0;
    m->down_since_ms = 0;
    if (m->paused) { /* back-pressure came on while connecting */
        mosquitto_disconnect(m->mosq);
        update_poll(m);
        return;
    }
    m->outstanding = 0; /* QoS 1 publishes of the old session are resent by libmosquitto */
    m->connects++;
    iocd_log_notice("mqtt", "connected to %s:%d as '%s' (session %s)", m->cfg->mqtt.host,
                    m->cfg->mqtt.port, m->cfg->mqtt.client_id,
                    (flags & 1) ? "resumed" : "new");
    /* Always subscribe again: a resumed session may not hold every filter
     * (the broker may have lost it, or the config changed). */
    int n = m->cfg->n_adapters;
    char **topics = calloc((size_t)(n + m->n_extra_filters), sizeof(*topics));
    if (!topics) {
        iocd_log_err("mqtt", "out of memory subscribing; reconnecting");
        mosquitto_disconnect(m->mosq);
        return;
    }
    for (int i = 0; i < n; i++)
        topics[i] = m->cfg->adapters[i].topic;
    for (int i = 0; i < m->n_extra_filters; i++)
        topics[n + i] = m->extra_filters[i];
    int src = mosquitto_subscribe_multiple(m->mosq, &m->subscribe_mid, n + m->n_extra_filters,
                                           topics, m->cfg->mqtt.qos, 0, NULL);
    free(topics);
    if (src != MOSQ_ERR_SUCCESS) {
        iocd_log_err("mqtt", "subscribe failed: %s; reconnecting", mosquitto_strerror(src));
        mosquitto_disconnect(m->mosq);
    }
}

static void on_subscribe(struct mosquitto *mosq, void *ud, int mid, int n, const int *granted)
{
    (void)mosq;
    struct iocd_mqtt *m = ud;
    if (mid != m->subscribe_mid)
        return;
    m->subscribe_mid = 0;
    for (int i = 0; i < n && i < m->cfg->n_adapters; i++) {
        struct iocd_log_fields f = {.feed = m->cfg->adapters[i].name,
                                    .topic = m->cfg->adapters[i].topic};
        if (granted[i] > 2)
            iocd_log_fields(LOG_ERR, "mqtt", &f, "broker refused subscription '%s' of [adapter %s]",
                            f.topic, f.feed);
        else if (granted[i] < m->cfg->mqtt.qos)
            iocd_log_fields(LOG_WARNING, "mqtt", &f, "broker granted QoS %d instead of %d on '%s'",
                            granted[i], m->cfg->mqtt.qos, f.topic);
    }
    iocd_log_info("mqtt", "subscribed to %d topic filter(s)", n);
    if (m->cb.subscribed)
        m->cb.subscribed(m->cb.ud);
}

static void on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *msg)
{
    (void)mosq;
    struct iocd_mqtt *m = ud;
    m->messages++;
    if (m->cb.message)
        m->cb.message(m->cb.ud, msg);
}

static void on_publish(struct mosquitto *mosq, void *ud, int mid)
{
    (void)mosq;
    (void)mid;
    struct iocd_mqtt *m = ud;
    if (m->outstanding > 0)
        m->outstanding--;
    if (m->final_mid && mid == m->final_mid) {
        m->final_mid = 0;
        if (m->state == IOCD_MQTT_STOPPING && m->disconnect_waits)
            send_disconnect(m);
    }
}

int iocd_mqtt_publish(struct iocd_mqtt *m, const char *topic, const void *payload, size_t len,
                      int qos, bool retain)
{
    if (m->state != IOCD_MQTT_CONNECTED || m->outstanding >= IOCD_MQTT_MAX_OUTSTANDING ||
        len > (size_t)INT32_MAX)
        return -1;
    if (mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, qos, retain) !=
        MOSQ_ERR_SUCCESS)
        return -1;
    m->outstanding++;
    /* Inside a read, on_poll writes what was queued once the read is
     * done: toggling UV_WRITABLE here cost an epoll_ctl DEL and ADD per
     * message (libuv restarts the watcher). */
    if (!m->in_read)
        update_poll(m);
    return 0;
}

static void on_disconnect(struct mosquitto *mosq, void *ud, int rc)
{
    (void)mosq;
    struct iocd_mqtt *m = ud;
    connection_lost(m, rc == 0 ? "disconnected" : mosquitto_strerror(rc));
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct iocd_mqtt *m = h->data;
    int rc = MOSQ_ERR_SUCCESS;
    if (status < 0) {
        connection_lost(m, uv_strerror(status));
        return;
    }
    if (events & UV_READABLE) {
        m->in_read = true; /* publishes from the callbacks: written below */
        rc = mosquitto_loop_read(m->mosq, 1);
        m->in_read = false;
    }
    /* A read error has already closed the socket and called on_disconnect.
     * What the read queued (acknowledgements, republished batches) is
     * written right away: the socket is nearly always writable, and
     * waiting for UV_WRITABLE cost two epoll_ctl and a loop turn a read. */
    if (rc == MOSQ_ERR_SUCCESS && m->poll == h &&
        ((events & UV_WRITABLE) || mosquitto_want_write(m->mosq)))
        rc = mosquitto_loop_write(m->mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
        if (m->poll == h)
            connection_lost(m, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return;
    }
    update_poll(m);
}

static void watch_socket(struct iocd_mqtt *m)
{
    int fd = mosquitto_socket(m->mosq);
    if (fd < 0) {
        connection_lost(m, "no socket");
        return;
    }
    m->poll = malloc(sizeof(*m->poll));
    if (!m->poll || uv_poll_init_socket(m->loop, m->poll, fd) != 0) {
        free(m->poll);
        m->poll = NULL;
        iocd_log_err("mqtt", "cannot watch the broker socket");
        mosquitto_disconnect(m->mosq);
        schedule_reconnect(m);
        return;
    }
    m->poll->data = m;
    /* CONNECT is queued: wait for writable, then for CONNACK. */
    m->poll_events = UV_READABLE | UV_WRITABLE;
    uv_poll_start(m->poll, m->poll_events, on_poll);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct iocd_mqtt *m = req->data;
    if (m->state != IOCD_MQTT_RESOLVING) { /* stopped meanwhile */
        uv_freeaddrinfo(res);
        if (m->state == IOCD_MQTT_STOPPING)
            finish_stop(m);
        return;
    }
    char ip[64] = "";
    if (status == 0 && res)
        uv_ip_name(res->ai_addr, ip, sizeof(ip));
    uv_freeaddrinfo(res);
    if (status != 0 || !ip[0]) {
        iocd_log_warn("mqtt", "cannot resolve broker host '%s': %s", m->cfg->mqtt.host,
                      status ? uv_strerror(status) : "no address");
        schedule_reconnect(m);
        return;
    }
    m->state = IOCD_MQTT_CONNECTING;
    if (m->cb.connecting)
        m->cb.connecting(m->cb.ud);
    int keepalive = (int)(m->cfg->mqtt.keepalive_ms / 1000);
    int rc = mosquitto_connect_async(m->mosq, ip, m->cfg->mqtt.port, keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        if (m->attempts == 0 || iocd_log_enabled(LOG_DEBUG))
            iocd_log_warn("mqtt", "cannot connect to %s:%d (%s): %s", m->cfg->mqtt.host,
                          m->cfg->mqtt.port, ip,
                          rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        schedule_reconnect(m);
        return;
    }
    watch_socket(m);
}

static void connect_now(struct iocd_mqtt *m)
{
    char port[8];
    snprintf(port, sizeof(port), "%d", m->cfg->mqtt.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    m->state = IOCD_MQTT_RESOLVING;
    m->resolver.data = m;
    int rc = uv_getaddrinfo(m->loop, &m->resolver, on_resolved, m->cfg->mqtt.host, port, &hints);
    if (rc) {
        iocd_log_warn("mqtt", "cannot resolve '%s': %s", m->cfg->mqtt.host, uv_strerror(rc));
        schedule_reconnect(m);
    }
}

static void on_reconnect_timer(uv_timer_t *t)
{
    struct iocd_mqtt *m = t->data;
    if (m->state == IOCD_MQTT_WAITING) {
        if (m->paused) {
            m->state = IOCD_MQTT_PAUSED;
            m->down_since_ms = 0;
        } else {
            connect_now(m);
        }
    }
}

void iocd_mqtt_pause(struct iocd_mqtt *m, bool on)
{
    if (m->paused == on)
        return;
    m->paused = on;
    if (on) {
        if (m->state == IOCD_MQTT_CONNECTED && mosquitto_disconnect(m->mosq) == MOSQ_ERR_SUCCESS)
            update_poll(m); /* on_disconnect moves to PAUSED */
        else if (m->state == IOCD_MQTT_WAITING) {
            uv_timer_stop(&m->reconnect_timer);
            m->state = IOCD_MQTT_PAUSED;
            m->down_since_ms = 0;
        }
        return;
    }
    if (m->state == IOCD_MQTT_PAUSED) {
        iocd_log_notice("mqtt", "back-pressure off: connecting again");
        connect_now(m);
    }
}

int64_t iocd_mqtt_unreachable_ms(const struct iocd_mqtt *m, int64_t now_ms)
{
    return m->down_since_ms && now_ms > m->down_since_ms ? now_ms - m->down_since_ms : 0;
}

static void schedule_reconnect(struct iocd_mqtt *m)
{
    int64_t delay = m->cfg->mqtt.reconnect_min_ms;
    for (int i = 0; i < m->attempts && delay < m->cfg->mqtt.reconnect_max_ms; i++)
        delay *= 2;
    if (delay > m->cfg->mqtt.reconnect_max_ms)
        delay = m->cfg->mqtt.reconnect_max_ms;
    /* Jitter in [delay/2, delay] so a fleet does not reconnect in step. */
    delay = delay / 2 + (int64_t)((uint64_t)rand() % (uint64_t)(delay / 2 + 1));
    m->attempts++;
    m->state = IOCD_MQTT_WAITING;
    if (m->attempts == 1 || m->attempts % 10 == 0)
        iocd_log_info("mqtt", "reconnecting to %s:%d in %lld ms (attempt %d)", m->cfg->mqtt.host,
                      m->cfg->mqtt.port, (long long)delay, m->attempts);
    uv_timer_start(&m->reconnect_timer, on_reconnect_timer, (uint64_t)delay, 0);
}

static void on_misc_timer(uv_timer_t *t)
{
    struct iocd_mqtt *m = t->data;
    if (m->state == IOCD_MQTT_STOPPING && m->disconnect_waits && m->final_mid &&
        uv_now(m->loop) >= m->disconnect_by) {
        iocd_log_warn("mqtt", "the final publish was not acknowledged in time; disconnecting");
        send_disconnect(m);
    }
    if (m->state == IOCD_MQTT_STOPPING && iocd_now_ms() > m->stop_deadline_ms) {
        iocd_log_warn("mqtt", "broker did not confirm the disconnect in time; closing");
        finish_stop(m);
        return;
    }
    if (m->state == IOCD_MQTT_CONNECTED || m->state == IOCD_MQTT_CONNECTING ||
        m->state == IOCD_MQTT_STOPPING) {
        /* Sends PINGREQ when due; on a keepalive timeout it closes the
         * socket and calls on_disconnect. */
        mosquitto_loop_misc(m->mosq);
        update_poll(m);
    }
}

int iocd_mqtt_init(struct iocd_mqtt *m, uv_loop_t *loop, const struct iocd_config *cfg,
                   const struct iocd_mqtt_callbacks *cb, struct iocd_error *err)
{
    memset(m, 0, sizeof(*m));
    m->loop = loop;
    m->cfg = cfg;
    m->cb = *cb;
    m->mosq = mosquitto_new(cfg->mqtt.client_id, cfg->mqtt.clean_session, m);
    if (!m->mosq)
        return iocd_error_set(err, "mqtt: cannot create client: %s", strerror(errno));
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    /* TCP_NODELAY stays off: it cut the republish latency a little (p50
     * about 1 ms) but sent every PUBACK in a segment of its own, and
     * draining a backlog was ~10 % slower (bench/ingest.py --backlog). */
    if (cfg->mqtt.username[0] &&
        mosquitto_username_pw_set(m->mosq, cfg->mqtt.username,
                                  cfg->mqtt.password[0] ? cfg->mqtt.password : NULL))
        return iocd_error_set(err, "mqtt: cannot set credentials");
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
    mosquitto_message_callback_set(m->mosq, on_message);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    uv_timer_init(loop, &m->misc_timer);
    uv_timer_init(loop, &m->reconnect_timer);
    m->misc_timer.data = m;
    m->reconnect_timer.data = m;
    m->state = IOCD_MQTT_IDLE;
    return 0;
}

void iocd_mqtt_start(struct iocd_mqtt *m)
{
    m->down_since_ms = iocd_now_ms(); /* until the first CONNACK */
    uv_timer_start(&m->misc_timer, on_misc_timer, 1000, 1000);
    connect_now(m);
}

void iocd_mqtt_stop(struct iocd_mqtt *m)
{
    switch (m->state) {
    case IOCD_MQTT_CONNECTED:
    case IOCD_MQTT_CONNECTING: {
        bool connected = m->state == IOCD_MQTT_CONNECTED;
        m->state = IOCD_MQTT_STOPPING;
        m->stop_deadline_ms = iocd_now_ms() + STOP_TIMEOUT_MS;
        if (connected && m->final_mid) {
            /* The final publish (the Sparkplug STATE death) first: closing
             * with its PUBACK unread resets the connection, and the broker
             * may then lose the DISCONNECT. At most STOP_TIMEOUT_MS by the
             * loop's clock (the wall clock may be pinned in tests). */
            m->disconnect_waits = true;
            m->disconnect_by = uv_now(m->loop) + STOP_TIMEOUT_MS;
            update_poll(m);
            break;
        }
        send_disconnect(m);
        break;
    }
    case IOCD_MQTT_RESOLVING:
        m->state = IOCD_MQTT_STOPPING; /* on_resolved finishes the stop */
        uv_cancel((uv_req_t *)&m->resolver);
        break;
    case IOCD_MQTT_STOPPING:
    case IOCD_MQTT_STOPPED:
        break;
    default:
        finish_stop(m);
    }
}

void iocd_mqtt_close(struct iocd_mqtt *m)
{
    drop_poll(m);
    uv_close((uv_handle_t *)&m->misc_timer, NULL);
    uv_close((uv_handle_t *)&m->reconnect_timer, NULL);
}

int iocd_mqtt_publish_final(struct iocd_mqtt *m, const char *topic, const void *payload,
                            size_t len, int qos, bool retain)
{
    int mid = 0;
    if (m->state != IOCD_MQTT_CONNECTED || len > (size_t)INT32_MAX ||
        mosquitto_publish(m->mosq, &mid, topic, (int)len, payload, qos, retain) !=
            MOSQ_ERR_SUCCESS)
        return -1;
    m->outstanding++;
    m->final_mid = qos > 0 ? mid : 0;
    if (!m->in_read)
        update_poll(m);
    return 0;
}

int iocd_mqtt_set_will(struct iocd_mqtt *m, const char *topic, const void *payload, size_t len,
                       int qos, bool retain)
{
    if (len > (size_t)INT32_MAX ||
        mosquitto_will_set(m->mosq, topic, (int)len, payload, qos, retain) != MOSQ_ERR_SUCCESS)
        return -1;
    return 0;
}

int iocd_mqtt_add_filter(struct iocd_mqtt *m, const char *filter)
{
    if (m->n_extra_filters == IOCD_MQTT_MAX_EXTRA_FILTERS)
        return -1;
    char *dup = strdup(filter);
    if (!dup)
        return -1;
    m->extra_filters[m->n_extra_filters++] = dup;
    return 0;
}

void iocd_mqtt_free(struct iocd_mqtt *m)
{
    for (int i = 0; i < m->n_extra_filters; i++)
        free(m->extra_filters[i]);
    m->n_extra_filters = 0;
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    m->mosq = NULL;
}
