/* daemon/mqtt/sparkplug_host.c — the Sparkplug STATE birth and death (see
 * sparkplug_host.h). */
#include "daemon/mqtt/sparkplug_host.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/base/log.h"

#define STATE_QOS 1
#define ANSWER_INTERVAL_MS 1000

size_t iocd_sparkplug_state_json(char *buf, size_t n, bool online, int64_t timestamp_ms)
{
    int k = snprintf(buf, n, "{\"online\":%s,\"timestamp\":%" PRId64 "}",
                     online ? "true" : "false", timestamp_ms);
    return k < 0 ? 0 : (size_t)k < n ? (size_t)k : n - 1;
}

void iocd_sparkplug_host_init(struct iocd_sparkplug_host *h, const struct iocd_config *cfg,
                              struct iocd_mqtt *mqtt)
{
    memset(h, 0, sizeof(*h));
    h->mqtt = mqtt;
    if (cfg->sparkplug.host_id && cfg->sparkplug.host_id[0])
        snprintf(h->topic, sizeof(h->topic), "spBv1.0/STATE/%s", cfg->sparkplug.host_id);
}

const char *iocd_sparkplug_host_topic(const struct iocd_sparkplug_host *h)
{
    return h->topic[0] ? h->topic : NULL;
}

void iocd_sparkplug_host_connecting(struct iocd_sparkplug_host *h, int64_t now_ms)
{
    if (!h->topic[0])
        return;
    /* A new session gets a new T, later than any before it: edge nodes
     * ignore a STATE older than the last one they saw. */
    h->timestamp_ms = now_ms > h->timestamp_ms ? now_ms : h->timestamp_ms + 1;
    h->online = false;
    char json[64];
    size_t n = iocd_sparkplug_state_json(json, sizeof(json), false, h->timestamp_ms);
    if (iocd_mqtt_set_will(h->mqtt, h->topic, json, n, STATE_QOS, true)) {
        h->failures++;
        iocd_log_err("sparkplug", "cannot set the STATE death on '%s' as the MQTT will",
                     h->topic);
    }
}

static void publish_birth(struct iocd_sparkplug_host *h, const char *why)
{
    char json[64];
    size_t n = iocd_sparkplug_state_json(json, sizeof(json), true, h->timestamp_ms);
    if (iocd_mqtt_publish(h->mqtt, h->topic, json, n, STATE_QOS, true)) {
        h->failures++;
        iocd_log_warn("sparkplug", "could not publish the STATE birth on '%s'", h->topic);
        return;
    }
    h->online = true;
    h->births++;
    iocd_log_notice("sparkplug", "%s: %s on '%s'", why, json, h->topic);
}

void iocd_sparkplug_host_subscribed(struct iocd_sparkplug_host *h)
{
    if (!h->topic[0])
        return;
    publish_birth(h, "host application online");
}

bool iocd_sparkplug_host_message(struct iocd_sparkplug_host *h, const char *topic,
                                 const void *payload, size_t len, bool retained,
                                 int64_t now_ms)
{
    if (!h->topic[0] || strcmp(topic, h->topic) != 0)
        return false;
    /* The retained copy the subscription delivers predates this session's
     * birth (published after the SUBACK); only a death delivered live says
     * that the topic now reads offline. */
    if (retained || !h->online)
        return true;
    cJSON *j = payload && len ? cJSON_ParseWithLength(payload, len) : NULL;
    const cJSON *online = j ? cJSON_GetObjectItemCaseSensitive(j, "online") : NULL;
    bool death = cJSON_IsFalse(online);
    cJSON_Delete(j);
    if (!death)
        return true;
    if (h->answered_ms && now_ms >= h->answered_ms &&
        now_ms - h->answered_ms < ANSWER_INTERVAL_MS)
        return true;
    h->answered_ms = now_ms;
    h->answered++;
    publish_birth(h, "a STATE death on iocd's own topic while online: birth again");
    return true;
}

void iocd_sparkplug_host_stop(struct iocd_sparkplug_host *h)
{
    if (!h->topic[0] || !h->timestamp_ms)
        return;
    char json[64];
    size_t n = iocd_sparkplug_state_json(json, sizeof(json), false, h->timestamp_ms);
    if (iocd_mqtt_publish_final(h->mqtt, h->topic, json, n, STATE_QOS, true)) {
        /* Not connected: the broker publishes the will, or has already. */
        iocd_log_info("sparkplug", "not connected: the broker publishes the STATE death (will)");
        return;
    }
    h->online = false;
    h->deaths++;
    iocd_log_notice("sparkplug", "host application offline: %s on '%s'", json, h->topic);
}
