/* daemon/mqtt/session.h — iocd's MQTT session, driven by the libuv loop.
 *
 * Owns: the libmosquitto client, the uv_poll on its socket, its timers and
 * the reconnect schedule. libmosquitto runs no thread of its own: the poll
 * calls mosquitto_loop_read/write when the socket is ready, a 1 s timer
 * calls mosquitto_loop_misc for keepalives. The host name is resolved with
 * uv_getaddrinfo so not even DNS blocks the loop. Every (re)connect
 * subscribes every adapter's filter again, because a resumed session is
 * not guaranteed to hold them. The broker being away is never fatal:
 * reconnects back off exponentially, with jitter, up to a cap. With
 * [mqtt] tls the client speaks TLS through the context daemon/mqtt/tls.c
 * builds; a connect that fails is logged with its cause (the TLS verdict,
 * the broker's refusal) and kept in last_error for the status API. MQTT 3.1.1
 * or 5 ([mqtt] protocol): under 5 the session outlives a disconnect by
 * [mqtt] session_expiry, Receive Maximum bounds what is in flight, and the
 * broker's reason codes (CONNACK, SUBACK, DISCONNECT) are logged. */
#ifndef IOCD_MQTT_H
#define IOCD_MQTT_H

#include <mosquitto.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/config/config.h"
#include "daemon/mqtt/tls.h"

struct iocd_mqtt;

#define IOCD_MQTT_MAX_EXTRA_FILTERS 4

struct iocd_mqtt_callbacks {
    /* A message arrived (the loop thread, inside mosquitto_loop_read);
     * props: its MQTT v5 properties, NULL under 3.1.1 or when none. */
    void (*message)(void *ud, const struct mosquitto_message *msg,
                    const mosquitto_property *props);
    /* Every subscription was acknowledged (after each connect). */
    void (*subscribed)(void *ud);
    /* iocd_mqtt_stop finished: disconnected, nothing more will arrive. */
    void (*stopped)(void *ud);
    /* About to send CONNECT (each attempt): the moment to set the will
     * (iocd_mqtt_set_will). May be NULL. */
    void (*connecting)(void *ud);
    void *ud;
};

enum iocd_mqtt_state {
    IOCD_MQTT_IDLE,
    IOCD_MQTT_RESOLVING,
    IOCD_MQTT_CONNECTING,
    IOCD_MQTT_CONNECTED,
    IOCD_MQTT_WAITING, /* for the reconnect timer */
    IOCD_MQTT_STOPPING,
    IOCD_MQTT_STOPPED,
    IOCD_MQTT_PAUSED, /* back-pressure: disconnected on purpose until resumed */
};

struct iocd_mqtt {
    uv_loop_t *loop;
    const struct iocd_config *cfg; /* borrowed */
    struct iocd_mqtt_callbacks cb;
    struct mosquitto *mosq; /* owned */
    uv_poll_t *poll;        /* owned; NULL when no socket; freed in its close callback */
    int poll_events;        /* the events poll watches now (uv_poll_start only on a change) */
    bool in_read;           /* inside mosquitto_loop_read (its callbacks run) */
    uv_timer_t misc_timer;
    uv_idle_t drain; /* read-ahead bytes left at the end of a turn: read them next turn */
    uv_timer_t reconnect_timer;
    uv_getaddrinfo_t resolver;
    enum iocd_mqtt_state state;
    int attempts;        /* failed connects since the last success */
    int subscribe_mid;   /* mid of the pending SUBSCRIBE, 0 = none */
    uint64_t connects;   /* successful CONNACKs */
    uint64_t messages;   /* messages received */
    int outstanding;     /* own publishes not yet acknowledged / written */
    int64_t stop_deadline_ms;
    int final_mid;          /* of iocd_mqtt_publish_final's message until acknowledged, 0 = none */
    bool disconnect_waits;  /* stopping: DISCONNECT once final_mid is acknowledged ... */
    uint64_t disconnect_by; /* ... or at this uv_now() */
    bool paused;           /* back-pressure asked for no more messages */
    bool closing;          /* DISCONNECT queued: this connection is not read any more */
    int64_t down_since_ms; /* wall clock since the broker is unreachable, 0: it is not */
    int closing_handles;
    /* TLS and reconfiguration (iocd_mqtt_reconfigure). */
    SSL_CTX *tls_ctx;             /* owned reference (libmosquitto holds its own); NULL: no TLS */
    struct iocd_tls_state tls;    /* what the current handshake showed */
    uint8_t settings_digest[32];  /* iocd_mqtt_settings_digest of the settings in use */
    bool rebuild;                 /* connect with a client made afresh from cfg */
    bool connack_refused;         /* this attempt's CONNACK said no (already logged) */
    char socket_error[96];        /* the socket died during this attempt's TLS handshake */
    char last_error[256];         /* why the last connect failed, "" after a success */
    /* Filters subscribed at every connect besides the adapters' (the
     * Sparkplug STATE topic); owned. */
    char *extra_filters[IOCD_MQTT_MAX_EXTRA_FILTERS];
    int n_extra_filters;
};

int iocd_mqtt_init(struct iocd_mqtt *m, uv_loop_t *loop, const struct iocd_config *cfg,
                   const struct iocd_mqtt_callbacks *cb, struct iocd_error *err);
/* Resolve, connect, subscribe; keeps reconnecting until stopped. */
void iocd_mqtt_start(struct iocd_mqtt *m);
/* Stop taking messages: DISCONNECT cleanly (so the broker keeps the
 * session and queues what arrives meanwhile), then call cb.stopped. A
 * final publish (iocd_mqtt_publish_final) not yet acknowledged is waited
 * for first, up to 3 s. */
void iocd_mqtt_stop(struct iocd_mqtt *m);
/* Back-pressure: on, disconnect cleanly and stay away (the broker's
 * persistent session queues meanwhile; what was not acknowledged is sent
 * again); off, connect again. */
void iocd_mqtt_pause(struct iocd_mqtt *m, bool on);
/* How long the broker has been unreachable at wall-clock now_ms (not
 * connected although iocd wants to be), 0 when it is not. */
int64_t iocd_mqtt_unreachable_ms(const struct iocd_mqtt *m, int64_t now_ms);
/* Publish (iocd's own output). Returns 0 when queued, -1 when not
 * connected or when IOCD_MQTT_MAX_OUTSTANDING publishes are still
 * unacknowledged (the caller counts the drop). */
/* Enough for bursts of the republish (every observation, as protobuf and
 * JSON: ~10 publishes for one air-quality message) while the broker reads
 * behind; beyond it the broker is not keeping up and items are dropped. */
#define IOCD_MQTT_MAX_OUTSTANDING 20000
int iocd_mqtt_publish(struct iocd_mqtt *m, const char *topic, const void *payload, size_t len,
                      int qos, bool retain);
/* A reload changed the feeds: unsubscribe the filters `gone`, subscribe
 * `added` (at [mqtt] qos), when connected; otherwise the next connect
 * subscribes the configuration's list anyway. 0, or -1 when the requests
 * could not be sent (the session then reconnects, subscribing anew). */
int iocd_mqtt_change_filters(struct iocd_mqtt *m, char *const *gone, int n_gone,
                             char *const *added, int n_added);
/* Take `cfg` (borrowed; replaces m->cfg, which the caller may free once
 * this returns 0) for a reload: a config loaded afresh, so its password
 * was read from password_file again; the TLS files are read again here,
 * so a certificate renewed at the same path counts as a change.
 * When anything a connection depends on changed (host, port, client id,
 * clean_session, user name or password, a tls_* key or a TLS file's
 * contents), the session disconnects cleanly (the broker keeps the QoS 1
 * session and what arrives meanwhile) and connects with a client made from
 * the new settings; otherwise the connection is kept. A TLS file that
 * cannot be used returns -1 with err, and nothing changes (m->cfg is kept).
 * Subscriptions are not touched here when the connection is kept. */
int iocd_mqtt_reconfigure(struct iocd_mqtt *m, const struct iocd_config *cfg,
                          struct iocd_error *err);
/* Like iocd_mqtt_publish, for the last message before iocd_mqtt_stop (the
 * Sparkplug STATE death): with QoS > 0 the stop sends its DISCONNECT only
 * once the broker has acknowledged it, so that the DISCONNECT is not lost
 * to a connection reset by the unread PUBACK. 0, or -1 when not queued. */
int iocd_mqtt_publish_final(struct iocd_mqtt *m, const char *topic, const void *payload,
                            size_t len, int qos, bool retain);
/* The will the broker publishes if the connection is lost without a
 * DISCONNECT, sent with every later CONNECT (call it from cb.connecting to
 * change it per connect). 0, or -1 (the previous will stays). */
int iocd_mqtt_set_will(struct iocd_mqtt *m, const char *topic, const void *payload, size_t len,
                       int qos, bool retain);
/* One more filter to subscribe to at every connect, with the adapters'
 * (before iocd_mqtt_start). 0, or -1 when too many or out of memory. */
int iocd_mqtt_add_filter(struct iocd_mqtt *m, const char *filter);
/* Close the loop handles; call once stopped, before the final uv_run. */
void iocd_mqtt_close(struct iocd_mqtt *m);
/* After the loop has finished. */
void iocd_mqtt_free(struct iocd_mqtt *m);
const char *iocd_mqtt_state_name(enum iocd_mqtt_state s);

#endif
