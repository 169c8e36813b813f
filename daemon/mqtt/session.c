/* daemon/mqtt/session.c — the MQTT session on the libuv loop (see mqtt.h). */
#include "daemon/mqtt/session.h"

#include <mqtt_protocol.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"
#include "daemon/config/credentials.h"
#include "daemon/mqtt/sockio.h"

#define STOP_TIMEOUT_MS 3000

static void schedule_reconnect(struct iocd_mqtt *m);
static void on_poll(uv_poll_t *h, int status, int events);
static void connect_now(struct iocd_mqtt *m);
static void note_connect_failure(struct iocd_mqtt *m, const char *why);
static void on_reconnect_timer(uv_timer_t *t);
static void finish_stop(struct iocd_mqtt *m);
static void update_poll(struct iocd_mqtt *m);

/* DISCONNECT queued behind every packet libmosquitto still holds; the
 * connection is not read from then on. libmosquitto 2.0 takes a PUBLISH
 * read after it for a protocol error and closes the socket at once,
 * throwing away the queued PUBACKs and the DISCONNECT: a stop during a QoS 1
 * backlog had 17,396 PUBACKs reach the broker for 74,641 messages taken,
 * and the broker sent the other 57,000 again (the duplicate horizon caught
 * them). Unread, the socket fills, the broker turns to reading iocd's
 * packets, and closes once it has read the DISCONNECT. */
static int request_disconnect(struct iocd_mqtt *m)
{
    m->closing = true;
    return mosquitto_disconnect(m->mosq);
}

/* A clean DISCONNECT (the broker keeps the session and drops the will),
 * queued after any PUBACKs not yet written; on_disconnect fires once it
 * has gone out. */
static void send_disconnect(struct iocd_mqtt *m)
{
    m->final_mid = 0;
    m->disconnect_waits = false;
    m->stop_deadline_ms = iocd_now_ms() + STOP_TIMEOUT_MS;
    if (request_disconnect(m) != MOSQ_ERR_SUCCESS)
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
    uv_idle_stop(&m->drain);
    uv_close((uv_handle_t *)m->poll, poll_closed);
    m->poll = NULL;
}

static bool pause_reads_only(const struct iocd_mqtt *m);

/* Back-pressure holds the reads, the connection stays (QoS 0). */
static bool reads_paused(const struct iocd_mqtt *m)
{
    return m->closing || (m->paused && pause_reads_only(m));
}

static void update_poll(struct iocd_mqtt *m)
{
    if (!m->poll)
        return;
    int ev = (reads_paused(m) ? 0 : UV_READABLE) |
             (mosquitto_want_write(m->mosq) || iocd_sockio_pending() ? UV_WRITABLE : 0);
    /* Restarting a poll with the same events costs libuv an epoll_ctl
     * each time: after every publish and every read, under load. */
    if (ev != m->poll_events) {
        if (ev)
            uv_poll_start(m->poll, ev, on_poll);
        else
            uv_poll_stop(m->poll);
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
    if (m->state == IOCD_MQTT_CONNECTING && !m->rebuild)
        note_connect_failure(m, why);
    if (m->rebuild && !m->paused) {
        /* A reload's reconnect: at once, but from the loop, never inside
         * libmosquitto's callback (the client is renewed first). */
        m->attempts = 0;
        m->state = IOCD_MQTT_WAITING;
        uv_timer_start(&m->reconnect_timer, on_reconnect_timer, 0, 0);
        return;
    }
    if (m->paused) {
        m->state = IOCD_MQTT_PAUSED;
        m->down_since_ms = 0;
        iocd_log_notice("mqtt", "disconnected for back-pressure; the broker queues meanwhile");
        return;
    }
    if (m->state == IOCD_MQTT_CONNECTED && !m->rebuild)
        iocd_log_warn("mqtt", "connection to %s:%d lost: %s", m->cfg->mqtt.host, m->cfg->mqtt.port,
                      why);
    if (!m->down_since_ms)
        m->down_since_ms = iocd_now_ms();
    schedule_reconnect(m);
}

/* The text of a reason code the broker sent, with its number and, when
 * it gave one, its Reason String: "Not authorized (reason 135)". */
static void reason_text(char *buf, size_t n, int rc, const mosquitto_property *props)
{
    char *why = NULL;
    if (props)
        mosquitto_property_read_string(props, MQTT_PROP_REASON_STRING, &why, false);
    /* libmosquitto refuses control characters in MQTT strings; a log line
     * stays one line whatever it lets through. */
    for (char *c = why; c && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    snprintf(buf, n, "%s (reason %d)%s%.200s%s", mosquitto_reason_string(rc), rc,
             why ? ": \"" : "", why ? why : "", why ? "\"" : "");
    free(why);
}

static void on_log(struct mosquitto *mosq, void *ud, int level, const char *str);

static void on_connect(struct mosquitto *mosq, void *ud, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)mosq;
    struct iocd_mqtt *m = ud;
    bool v5 = m->cfg->mqtt.protocol == 5;
    if (rc != 0) {
        char why[320];
        if (v5)
            reason_text(why, sizeof(why), rc, props);
        else
            snprintf(why, sizeof(why), "%s", mosquitto_connack_string(rc));
        /* 4 and 5 (3.1.1), 0x86 and 0x87 (5) are what brokers answer to a
         * wrong user name or password. */
        bool auth = rc == 4 || rc == 5 || rc == 0x86 || rc == 0x87;
        snprintf(m->last_error, sizeof(m->last_error), "the broker refused the connection: %.160s%s",
                 why,
                 auth ? (m->cfg->mqtt.password_file.path[0]
                             ? " (check username and the password in password_file)"
                             : " (check username and password)")
                      : "");
        m->connack_refused = true;
        const char *user = m->cfg->mqtt.username;
        iocd_log_err("mqtt", "broker %s:%d refused the connection%s%s%s: %s", m->cfg->mqtt.host,
                     m->cfg->mqtt.port, user[0] ? " as user '" : "", user, user[0] ? "'" : "",
                     m->last_error + strlen("the broker refused the connection: "));
        return; /* the broker closes the socket; on_disconnect schedules a retry */
    }
    m->state = IOCD_MQTT_CONNECTED;
    m->attempts = 0;
    /* The log callback is wanted only to explain a failed handshake: while
     * connected, libmosquitto would format (malloc, vsnprintf) a debug line
     * for every packet it sends or receives (13 % less CPU without it, measured
     * under load: docs/performance.md). */
    mosquitto_log_callback_set(m->mosq, NULL);
    iocd_sockio_established();
    m->last_error[0] = '\0';
    m->down_since_ms = 0;
    if (m->paused) { /* back-pressure came on while connecting */
        request_disconnect(m);
        update_poll(m);
        return;
    }
    m->outstanding = 0; /* QoS 1 publishes of the old session are resent by libmosquitto */
    m->connects++;
    if (!v5) {
        iocd_log_notice("mqtt", "connected to %s:%d as '%s' (session %s)", m->cfg->mqtt.host,
                        m->cfg->mqtt.port, m->cfg->mqtt.client_id,
                        (flags & 1) ? "resumed" : "new");
    } else {
        /* The broker may shorten the expiry iocd asked for (MQTT 5 3.2.2.3.2). */
        uint32_t expiry = m->cfg->mqtt.clean_session ? 0 : (uint32_t)m->cfg->mqtt.session_expiry_s;
        bool told = props && mosquitto_property_read_int32(
                                 props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, &expiry, false);
        iocd_log_notice("mqtt", "connected to %s:%d as '%s' (MQTT 5, session %s, expiry %" PRIu32
                        " s%s)",
                        m->cfg->mqtt.host, m->cfg->mqtt.port, m->cfg->mqtt.client_id,
                        (flags & 1) ? "resumed" : "new", expiry, told ? " set by the broker" : "");
    }
    /* Always subscribe again: a resumed session may not hold every filter
     * (the broker may have lost it, or the config changed). */
    int n = m->cfg->n_adapters;
    char **topics = calloc((size_t)(n + m->n_extra_filters), sizeof(*topics));
    if (!topics) {
        iocd_log_err("mqtt", "out of memory subscribing; reconnecting");
        request_disconnect(m);
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
        request_disconnect(m);
    }
}

static void on_subscribe(struct mosquitto *mosq, void *ud, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
    (void)mosq;
    struct iocd_mqtt *m = ud;
    if (mid != m->subscribe_mid)
        return;
    m->subscribe_mid = 0;
    for (int i = 0; i < n && i < m->cfg->n_adapters; i++) {
        struct iocd_log_fields f = {.feed = m->cfg->adapters[i].name,
                                    .topic = m->cfg->adapters[i].topic};
        /* 0x80 and above is a failure: 3.1.1 knows only 0x80, v5 says why. */
        if (granted[i] >= 0x80) {
            char why[320];
            if (m->cfg->mqtt.protocol == 5)
                reason_text(why, sizeof(why), granted[i], props);
            else
                snprintf(why, sizeof(why), "failure (return code %d)", granted[i]);
            iocd_log_fields(LOG_ERR, "mqtt", &f,
                            "broker refused subscription '%s' of [adapter %s]: %s", f.topic,
                            f.feed, why);
        } else if (granted[i] < m->cfg->mqtt.qos)
            iocd_log_fields(LOG_WARNING, "mqtt", &f, "broker granted QoS %d instead of %d on '%s'",
                            granted[i], m->cfg->mqtt.qos, f.topic);
    }
    iocd_log_info("mqtt", "subscribed to %d topic filter(s)", n);
    if (m->cb.subscribed)
        m->cb.subscribed(m->cb.ud);
}

/* props: NULL under 3.1.1 and for a v5 message without properties. */
static void on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)mosq;
    struct iocd_mqtt *m = ud;
    m->messages++;
    if (m->cb.message)
        m->cb.message(m->cb.ud, msg, props);
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

int iocd_mqtt_change_filters(struct iocd_mqtt *m, char *const *gone, int n_gone,
                             char *const *added, int n_added)
{
    if (m->state != IOCD_MQTT_CONNECTED)
        return 0; /* the next connect subscribes the configuration's filters */
    int rc = MOSQ_ERR_SUCCESS;
    if (n_gone > 0)
        rc = mosquitto_unsubscribe_multiple(m->mosq, NULL, n_gone, gone, NULL);
    if (rc == MOSQ_ERR_SUCCESS && n_added > 0)
        rc = mosquitto_subscribe_multiple(m->mosq, NULL, n_added, added, m->cfg->mqtt.qos, 0,
                                          NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        /* A reconnect subscribes the whole new list. */
        iocd_log_err("mqtt", "changing the subscriptions failed: %s; reconnecting",
                     mosquitto_strerror(rc));
        request_disconnect(m);
    }
    if (!m->in_read)
        update_poll(m);
    return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

/* rc is libmosquitto's error for a connection it lost, or, under v5, the
 * reason code of the broker's DISCONNECT: those that end a connection
 * are 0x80 and above, libmosquitto's errors all below. */
static void on_disconnect(struct mosquitto *mosq, void *ud, int rc,
                          const mosquitto_property *props)
{
    (void)mosq;
    struct iocd_mqtt *m = ud;
    char why[360] = "disconnected";
    if (m->cfg->mqtt.protocol == 5 && rc >= 0x80) {
        char reason[320];
        reason_text(reason, sizeof(reason), rc, props);
        snprintf(why, sizeof(why), "the broker sent DISCONNECT: %s", reason);
    } else if (rc != 0) {
        snprintf(why, sizeof(why), "%s", mosquitto_strerror(rc));
    }
    connection_lost(m, why);
}

/* libmosquitto 2.0 takes a socket error during the TLS handshake (the
 * broker refused the TCP connection, or closed it before answering) for
 * "try again" and would be polled in a busy loop forever: look at the
 * socket itself while a TLS connect is pending. True (m->socket_error
 * says why) when it is dead. */
static bool tls_step_failed(struct iocd_mqtt *m)
{
    if (!m->tls_ctx || m->state != IOCD_MQTT_CONNECTING || !m->poll)
        return false;
    int fd = mosquitto_socket(m->mosq);
    if (fd < 0)
        return false;
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    char c;
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr) {
        snprintf(m->socket_error, sizeof(m->socket_error), "%s", strerror(soerr));
        return true;
    }
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
        return false;
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0)
        snprintf(m->socket_error, sizeof(m->socket_error), "%s", strerror(ECONNREFUSED));
    else
        snprintf(m->socket_error, sizeof(m->socket_error), "%s",
                 n == 0 ? "closed by the broker" : strerror(errno));
    return true;
}

/* Packets read in one turn of the loop at most (then the loop serves the
 * rest: timers, HTTP). */
#define IOCD_MQTT_READS_PER_TURN 256

/* More bytes from the broker wait: in the read-ahead (daemon/mqtt/sockio.c)
 * when it is on and the last read took some, else in the socket (TLS: raw
 * bytes). */
static bool bytes_waiting(const struct iocd_mqtt *m, uint64_t *taken)
{
    if (m->cfg->mqtt.socket_buffers) {
        uint64_t t = iocd_sockio_taken();
        bool more = t != *taken && iocd_sockio_buffered() > 0;
        *taken = t;
        return more;
    }
    int fd = mosquitto_socket(m->mosq);
    char b;
    return fd >= 0 && recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void on_drain(uv_idle_t *idle)
{
    struct iocd_mqtt *m = idle->data;
    uv_idle_stop(idle);
    if (m->poll && iocd_sockio_buffered() > 0 && !reads_paused(m))
        on_poll(m->poll, 0, UV_READABLE);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct iocd_mqtt *m = h->data;
    int rc = MOSQ_ERR_SUCCESS;
    if (status < 0) {
        connection_lost(m, uv_strerror(status));
        return;
    }
    /* During a TLS handshake libmosquitto's packet write does nothing;
     * mosquitto_loop_read takes the handshake's next step (its own loop does
     * that on writable too), else a ClientHello that met a full socket
     * would never be sent. */
    bool tls_step = (events & UV_WRITABLE) && m->tls_ctx && m->state == IOCD_MQTT_CONNECTING;
    /* Writes are gathered into one until iocd_sockio_end (sockio.h); not
     * while connecting, where a write's error (a refused TCP connect) is
     * how the handshake learns that it failed. */
    if (m->state == IOCD_MQTT_CONNECTED)
        iocd_sockio_begin();
    if ((events & UV_WRITABLE) && iocd_sockio_pending() && iocd_sockio_flush() != 0 &&
        errno != EAGAIN) {
        iocd_sockio_end();
        connection_lost(m, strerror(errno));
        return;
    }
    if (((events & UV_READABLE) && !reads_paused(m)) || tls_step) {
        m->in_read = true; /* publishes from the callbacks: written below */
        uint64_t taken = iocd_sockio_taken();
        rc = mosquitto_loop_read(m->mosq, 1);
        /* libmosquitto reads one packet a call. The packets already read
         * ahead (or, without the read-ahead, waiting in the socket: a
         * recv(MSG_PEEK) each) are taken in this turn, up to a bound,
         * instead of a loop turn and an epoll_wait each. Stops at once when
         * back-pressure or a stop disconnects. */
        for (int i = 1; i < IOCD_MQTT_READS_PER_TURN && rc == MOSQ_ERR_SUCCESS && m->poll == h &&
                        !reads_paused(m) && m->state == IOCD_MQTT_CONNECTED &&
                        bytes_waiting(m, &taken);
             i++)
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
    iocd_sockio_end();
    /* Bytes read ahead but not taken (the bound above, a stop) have no
     * socket event to wake the loop: the next turn takes them. */
    if (rc == MOSQ_ERR_SUCCESS && m->poll == h && iocd_sockio_buffered() > 0 &&
        !reads_paused(m))
        uv_idle_start(&m->drain, on_drain);
    if (rc == MOSQ_ERR_SUCCESS && tls_step_failed(m)) {
        connection_lost(m, m->socket_error);
        return;
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        if (m->poll == h)
            connection_lost(m, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return;
    }
    update_poll(m);
}

static void watch_socket(struct iocd_mqtt *m)
{
    m->closing = false; /* a new connection */
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
        request_disconnect(m);
        schedule_reconnect(m);
        return;
    }
    m->poll->data = m;
    iocd_sockio_attach(fd, m->cfg->mqtt.socket_buffers);
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
    if (m->rebuild) { /* reconfigured meanwhile: the host may have changed */
        uv_freeaddrinfo(res);
        connect_now(m);
        return;
    }
    char ip[64] = "";
    if (status == 0 && res)
        uv_ip_name(res->ai_addr, ip, sizeof(ip));
    uv_freeaddrinfo(res);
    if (status != 0 || !ip[0]) {
        snprintf(m->last_error, sizeof(m->last_error), "cannot resolve '%s': %s",
                 m->cfg->mqtt.host, status ? uv_strerror(status) : "no address");
        iocd_log_warn("mqtt", "cannot resolve broker host '%s': %s", m->cfg->mqtt.host,
                      status ? uv_strerror(status) : "no address");
        schedule_reconnect(m);
        return;
    }
    m->state = IOCD_MQTT_CONNECTING;
    if (m->cb.connecting)
        m->cb.connecting(m->cb.ud);
    int keepalive = (int)(m->cfg->mqtt.keepalive_ms / 1000);
    mosquitto_log_callback_set(m->mosq, on_log); /* off again once connected */
    int rc = mosquitto_connect_async(m->mosq, ip, m->cfg->mqtt.port, keepalive);
    if (rc == MOSQ_ERR_TLS && m->tls_ctx) { /* the handshake failed at once */
        note_connect_failure(m, mosquitto_strerror(rc));
        schedule_reconnect(m);
        return;
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        /* Refused at once (a loopback connect may fail before it returns):
         * the same cause, and the same line, as a connect that fails later. */
        snprintf(m->socket_error, sizeof(m->socket_error), "%s",
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        note_connect_failure(m, m->socket_error);
        schedule_reconnect(m);
        return;
    }
    watch_socket(m);
}

/* A client made afresh from m->cfg (reload): the old one, its TLS context
 * and anything it still queued are dropped; the broker keeps the session. */
static int client_configure(struct iocd_mqtt *m, struct iocd_error *err);
static int rebuild_client(struct iocd_mqtt *m)
{
    struct iocd_error err;
    if (m->cfg->mqtt.socket_buffers)
        iocd_sockio_capture_begin();
    int rc = mosquitto_reinitialise(m->mosq, m->cfg->mqtt.client_id, m->cfg->mqtt.clean_session,
                                    m);
    iocd_sockio_capture_end();
    if (rc != MOSQ_ERR_SUCCESS) {
        iocd_log_err("mqtt", "cannot renew the client: %s", mosquitto_strerror(rc));
        return -1;
    }
    if (client_configure(m, &err)) {
        iocd_log_err("mqtt", "%s", err.msg);
        return -1;
    }
    m->rebuild = false;
    m->subscribe_mid = 0;
    m->outstanding = 0;
    return 0;
}

static void connect_now(struct iocd_mqtt *m)
{
    if (m->rebuild && rebuild_client(m)) {
        schedule_reconnect(m);
        return;
    }
    iocd_tls_state_reset(&m->tls);
    m->connack_refused = false;
    m->socket_error[0] = '\0';
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

/* Back-pressure under QoS 0: the connection stays and iocd stops reading
 * it. A disconnect would lose what the broker has already queued for the
 * connection (QoS 0 is never redelivered); unread, it waits in the socket
 * and the broker's memory (TCP flow control). libmosquitto still sends its
 * keepalives; a pause longer than about keepalive drops the connection,
 * and iocd then connects again when the pause ends (docs/storage.md). */
static bool pause_reads_only(const struct iocd_mqtt *m)
{
    return m->cfg->mqtt.qos == 0 && m->state == IOCD_MQTT_CONNECTED;
}

void iocd_mqtt_pause(struct iocd_mqtt *m, bool on)
{
    if (m->paused == on)
        return;
    m->paused = on;
    if (pause_reads_only(m)) {
        iocd_log_notice("mqtt", on ? "back-pressure: not reading (QoS 0: the connection stays)"
                                   : "back-pressure off: reading again");
        update_poll(m);
        if (!on && m->poll && iocd_sockio_buffered() > 0)
            uv_idle_start(&m->drain, on_drain);
        return;
    }
    if (on) {
        if (m->state == IOCD_MQTT_CONNECTED && request_disconnect(m) == MOSQ_ERR_SUCCESS)
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

/* --- TLS, the cause of a failed connect, and reconfiguration --- */

/* libmosquitto's own error lines: the first one of an attempt that names
 * OpenSSL's reason is kept for the explanation of a failed handshake. */
static void on_log(struct mosquitto *mosq, void *ud, int level, const char *str)
{
    (void)mosq;
    struct iocd_mqtt *m = ud;
    const char *tag = "OpenSSL Error";
    if (level != MOSQ_LOG_ERR || m->tls.lib_error[0] || strncmp(str, tag, strlen(tag)) != 0)
        return;
    const char *colon = strstr(str, "]: ");
    snprintf(m->tls.lib_error, sizeof(m->tls.lib_error), "%s", colon ? colon + 3 : str);
}

/* Warn about a secret file others may read (a credentials directory is
 * private to the service; a file under /etc often is not). */
static void warn_if_exposed(const char *key, const char *path)
{
    int mode = path[0] ? iocd_config_file_mode(path) : -1;
    if (mode >= 0 && (mode & 077))
        iocd_log_warn("mqtt", "[mqtt] %s %s is readable by group or others (mode %04o): "
                              "chmod 600 it, or use credential:NAME with LoadCredential=",
                      key, path, (unsigned)mode);
}

/* The TLS context of m->cfg, handed to libmosquitto (which takes a
 * reference of its own), and the warnings that belong to every start. */
static int tls_configure(struct iocd_mqtt *m, struct iocd_error *err)
{
    const struct iocd_config *cfg = m->cfg;
    SSL_CTX_free(m->tls_ctx);
    m->tls_ctx = NULL;
    mosquitto_log_callback_set(m->mosq, on_log);
    warn_if_exposed("password_file", cfg->mqtt.password_file.path);
    if (!cfg->mqtt.tls)
        return 0;
    m->tls_ctx = iocd_tls_context_new(cfg, &m->tls, err);
    if (!m->tls_ctx)
        return -1;
    /* Without this libmosquitto would add its own defaults, and insist on
     * a CA file of its own. */
    if (mosquitto_int_option(m->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0) != MOSQ_ERR_SUCCESS ||
        mosquitto_void_option(m->mosq, MOSQ_OPT_SSL_CTX, m->tls_ctx) != MOSQ_ERR_SUCCESS)
        return iocd_error_set(err, "mqtt: this libmosquitto cannot take a TLS context");
    warn_if_exposed("tls_key_file", cfg->mqtt.tls_key_file.path);
    if (cfg->mqtt.tls_insecure)
        iocd_log_warn("mqtt", "[mqtt] tls_insecure = true: the broker's certificate is not "
                              "checked against host '%s'; anyone holding a certificate from "
                              "the same CA can pose as the broker",
                      cfg->mqtt.host);
    char until[64];
    int days = iocd_tls_client_cert_days(m->tls_ctx, until, sizeof(until));
    if (days < 0)
        iocd_log_err("mqtt", "[mqtt] tls_cert_file %s expired on %s: the broker will refuse it",
                     cfg->mqtt.tls_cert_file.path, until);
    else if (days < 14)
        iocd_log_warn("mqtt", "[mqtt] tls_cert_file %s expires in %d day(s), on %s",
                      cfg->mqtt.tls_cert_file.path, days, until);
    iocd_log_info("mqtt", "TLS to %s:%d: at least TLS 1.%d, trusting %s%s%s%s", cfg->mqtt.host,
                  cfg->mqtt.port, cfg->mqtt.tls_version % 10,
                  cfg->mqtt.tls_ca_file.path[0]  ? cfg->mqtt.tls_ca_file.path
                  : cfg->mqtt.tls_ca_dir.path[0] ? cfg->mqtt.tls_ca_dir.path
                                                 : "the system's trust store",
                  cfg->mqtt.tls_cert_file.path[0] ? ", client certificate " : "",
                  cfg->mqtt.tls_cert_file.path, cfg->mqtt.tls_insecure ? ", host not checked" : "");
    return 0;
}

/* A connect attempt ended before CONNACK: say why, once per cause (and
 * every tenth attempt), and keep it for the status API. A refusal in
 * CONNACK was logged by on_connect. */
static void note_connect_failure(struct iocd_mqtt *m, const char *lost)
{
    if (m->connack_refused)
        return;
    char why[sizeof(m->last_error)];
    bool tls_verdict = m->tls.verify_error || m->tls.alert[0] || m->tls.cert_requested;
    if (m->socket_error[0] && !tls_verdict && !m->tls.handshake_done &&
        strcmp(m->socket_error, "closed by the broker") != 0) {
        snprintf(why, sizeof(why), "%s", m->socket_error);
    } else if (m->cfg->mqtt.tls) {
        char cause[sizeof(why) - 32];
        if (!iocd_tls_explain(&m->tls, m->cfg, cause, sizeof(cause)))
            snprintf(cause, sizeof(cause), "the broker closed the connection before CONNACK");
        snprintf(why, sizeof(why), "TLS handshake failed: %s", cause);
    } else if (strcmp(lost, mosquitto_strerror(MOSQ_ERR_CONN_LOST)) == 0) {
        snprintf(why, sizeof(why), "the broker closed the connection before CONNACK (a TLS "
                                   "listener? then set tls = true)");
    } else {
        snprintf(why, sizeof(why), "%s", lost);
    }
    bool same = strcmp(why, m->last_error) == 0;
    if (!same || m->attempts == 0 || (m->attempts + 1) % 10 == 0)
        iocd_log_warn("mqtt", "cannot connect to %s:%d: %s; retrying (attempt %d)",
                      m->cfg->mqtt.host, m->cfg->mqtt.port, why, m->attempts + 1);
    memcpy(m->last_error, why, sizeof(why));
}

int iocd_mqtt_reconfigure(struct iocd_mqtt *m, const struct iocd_config *cfg,
                          struct iocd_error *err)
{
    /* New TLS files are checked before anything changes. */
    if (iocd_tls_check(cfg, err))
        return -1;
    uint8_t digest[sizeof(m->settings_digest)];
    iocd_mqtt_settings_digest(cfg, digest);
    m->cfg = cfg;
    if (memcmp(digest, m->settings_digest, sizeof(digest)) == 0) {
        iocd_log_info("mqtt", "reload: connection settings and TLS files unchanged; "
                              "connection kept");
        return 0;
    }
    memcpy(m->settings_digest, digest, sizeof(digest));
    m->rebuild = true;
    iocd_log_notice("mqtt", "reload: connection settings or TLS files changed; reconnecting to "
                            "%s:%d as '%s'",
                    cfg->mqtt.host, cfg->mqtt.port, cfg->mqtt.client_id);
    switch (m->state) {
    case IOCD_MQTT_CONNECTED:
    case IOCD_MQTT_CONNECTING:
        /* A clean DISCONNECT: the broker keeps the session; on_disconnect
         * (connection_lost) connects again with the new client. */
        if (request_disconnect(m) == MOSQ_ERR_SUCCESS && m->poll) {
            update_poll(m);
            break;
        }
        drop_poll(m);
        m->state = IOCD_MQTT_WAITING;
        /* fall through */
    case IOCD_MQTT_WAITING:
        uv_timer_stop(&m->reconnect_timer);
        m->attempts = 0;
        connect_now(m);
        break;
    case IOCD_MQTT_IDLE:
    case IOCD_MQTT_PAUSED:
        if (rebuild_client(m)) /* connects later, when started or resumed */
            m->rebuild = true;
        break;
    default: /* resolving: on_resolved starts over; stopping: nothing to do */
        break;
    }
    return 0;
}

/* MQTT 5: the protocol, the Receive Maximum (libmosquitto sends it in
 * CONNECT) and, unless clean_session, the Session Expiry Interval.
 *
 * libmosquitto 2.0 takes CONNECT properties only through the blocking
 * mosquitto_connect_bind_v5, which would hold the loop for the TCP
 * handshake. That function keeps its properties (every later connect
 * sends them, mosquitto_connect_async included) before it checks its
 * other arguments: called with keepalive 1, which it refuses, it stores
 * them and returns MOSQ_ERR_INVAL without connecting. test_mqtt_v5
 * (ConnectAndDisconnectTest) reads the CONNECT iocd sends, reconnects
 * included, and fails if a libmosquitto ever stops doing so. */
static int set_v5_options(struct mosquitto *mosq, const struct iocd_config *cfg)
{
    const bool clean = cfg->mqtt.clean_session;
    const int64_t expiry = cfg->mqtt.session_expiry_s;
    if (mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5) ||
        mosquitto_int_option(mosq, MOSQ_OPT_RECEIVE_MAXIMUM, cfg->mqtt.receive_maximum))
        return -1;
    if (clean || expiry == 0)
        return 0; /* expiry 0, the default: the session ends with the connection */
    mosquitto_property *props = NULL;
    if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     (uint32_t)expiry)) {
        mosquitto_property_free_all(&props);
        return -1;
    }
    int rc = mosquitto_connect_bind_v5(mosq, "", 0, 1, NULL, props);
    mosquitto_property_free_all(&props);
    return rc == MOSQ_ERR_INVAL ? 0 : -1;
}

int iocd_mqtt_init(struct iocd_mqtt *m, uv_loop_t *loop, const struct iocd_config *cfg,
                   const struct iocd_mqtt_callbacks *cb, struct iocd_error *err)
{
    memset(m, 0, sizeof(*m));
    m->loop = loop;
    m->cfg = cfg;
    m->cb = *cb;
    if (cfg->mqtt.socket_buffers)
        iocd_sockio_capture_begin(); /* its wake-up pipe (sockio.h) */
    m->mosq = mosquitto_new(cfg->mqtt.client_id, cfg->mqtt.clean_session, m);
    iocd_sockio_capture_end();
    if (!m->mosq)
        return iocd_error_set(err, "mqtt: cannot create client: %s", strerror(errno));
    if (client_configure(m, err))
        return -1;
    iocd_mqtt_settings_digest(cfg, m->settings_digest);
    uv_timer_init(loop, &m->misc_timer);
    uv_timer_init(loop, &m->reconnect_timer);
    uv_idle_init(loop, &m->drain);
    m->drain.data = m;
    m->misc_timer.data = m;
    m->reconnect_timer.data = m;
    m->state = IOCD_MQTT_IDLE;
    return 0;
}

/* Everything set on a client made by mosquitto_new or renewed by
 * mosquitto_reinitialise (which forgets every option and callback). */
static int client_configure(struct iocd_mqtt *m, struct iocd_error *err)
{
    const struct iocd_config *cfg = m->cfg;
    if (cfg->mqtt.protocol == 5) {
        if (set_v5_options(m->mosq, cfg))
            return iocd_error_set(err, "mqtt: cannot set the MQTT 5 connect properties");
    } else {
        mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    }
    /* TCP_NODELAY stays off: it cut the republish latency a little (p50
     * about 1 ms) but sent every PUBACK in a segment of its own, and
     * draining a backlog was ~10 % slower (bench/ingest.py --backlog). */
    if (cfg->mqtt.username[0] &&
        mosquitto_username_pw_set(m->mosq, cfg->mqtt.username,
                                  cfg->mqtt.password[0] ? cfg->mqtt.password : NULL))
        return iocd_error_set(err, "mqtt: cannot set credentials");
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_subscribe_v5_callback_set(m->mosq, on_subscribe);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    return tls_configure(m, err);
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
    uv_close((uv_handle_t *)&m->drain, NULL);
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
    SSL_CTX_free(m->tls_ctx);
    m->tls_ctx = NULL;
}
