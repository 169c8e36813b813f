/* daemon/mqtt/sparkplug_host.h — iocd's Sparkplug host application STATE.
 *
 * Owns: the STATE topic spBv1.0/STATE/HOST_ID ([sparkplug] host_id) and
 * the timestamp of the current MQTT session (Sparkplug 3.0, "Sparkplug
 * Host Application Session Establishment" and "... Termination"):
 *   - before every CONNECT, the death certificate
 *     {"online":false,"timestamp":T} (T: the current time, ms) is set as
 *     the MQTT will, QoS 1, retained;
 *   - once the subscriptions, this topic's included, are acknowledged, the
 *     birth certificate {"online":true,"timestamp":T} is published, QoS 1,
 *     retained, with the same T;
 *   - a clean stop publishes the death (same T) before the DISCONNECT,
 *     which makes the broker discard the will;
 *   - an online=false STATE delivered live on its own topic while iocd is
 *     online (a late will of an earlier connection, another client) is
 *     answered by the birth again, at most once a second.
 * The Rebirth requests are the sparkplug adapter's (commands through the
 * pipeline); this file only talks about iocd itself. Every call is a no-op
 * when host_id is empty. Loop thread only. */
#ifndef IOCD_SPARKPLUG_HOST_H
#define IOCD_SPARKPLUG_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config/config.h"
#include "daemon/mqtt/session.h"

struct iocd_sparkplug_host {
    struct iocd_mqtt *mqtt; /* borrowed */
    char topic[IOCD_SPARKPLUG_HOST_ID_MAX + 16]; /* "" = off */
    int64_t timestamp_ms; /* T of the current session's will and birth; 0 before a connect */
    bool online;          /* this session's birth was published */
    int64_t answered_ms;  /* when a foreign death was last answered */
    uint64_t births;      /* birth certificates published (answers included) */
    uint64_t deaths;      /* death certificates published at a clean stop */
    uint64_t answered;    /* births published again after a death on the topic */
    uint64_t failures;    /* STATE that could not be set or queued */
};

void iocd_sparkplug_host_init(struct iocd_sparkplug_host *h, const struct iocd_config *cfg,
                              struct iocd_mqtt *mqtt);
/* The STATE topic to subscribe to, or NULL when off. */
const char *iocd_sparkplug_host_topic(const struct iocd_sparkplug_host *h);
/* Before each CONNECT: a new T, and the death with it as the will. */
void iocd_sparkplug_host_connecting(struct iocd_sparkplug_host *h, int64_t now_ms);
/* The subscriptions are acknowledged: publish the birth. */
void iocd_sparkplug_host_subscribed(struct iocd_sparkplug_host *h);
/* A message arrived: true when it is on the STATE topic (handled here, not
 * ingested). `retained`: delivered from the broker's retained store. */
bool iocd_sparkplug_host_message(struct iocd_sparkplug_host *h, const char *topic,
                                 const void *payload, size_t len, bool retained,
                                 int64_t now_ms);
/* A clean stop is about to DISCONNECT: publish the death. */
void iocd_sparkplug_host_stop(struct iocd_sparkplug_host *h);
/* {"online":ONLINE,"timestamp":T} into buf; its length. */
size_t iocd_sparkplug_state_json(char *buf, size_t n, bool online, int64_t timestamp_ms);

#endif
