/* daemon/mqtt/republish.c — live items to MQTT (see republish.h). */
#include "daemon/mqtt/republish.h"

#include <string.h>

/* PREFIX + mid + KEY into topic (without printf: once an item, on the hot
 * path). false when it does not fit (not published). */
static bool topic_of(char *topic, size_t cap, const char *prefix, const char *mid,
                     const char *key)
{
    size_t lp = strlen(prefix), lm = strlen(mid), lk = strlen(key);
    if (lp + lm + lk + 1 > cap)
        return false;
    memcpy(topic, prefix, lp);
    memcpy(topic + lp, mid, lm);
    memcpy(topic + lp + lm, key, lk + 1);
    return true;
}

static void publish(struct iocd_republish *r, const char *topic, const void *p, size_t n,
                    bool retain)
{
    if (iocd_mqtt_publish(r->mqtt, topic, p, n, r->cfg->live.qos, retain))
        r->dropped++;
    else
        r->published++;
}

/* ioc.v1 protobuf under PREFIX/KEY: batches (or, per_metric, single
 * observations), events, alerts, windows, status. */
static void republish_pb(void *ud, const struct iocd_live_item *it)
{
    struct iocd_republish *r = ud;
    if (!it->pb || !(r->pb_kinds & (1u << it->kind)))
        return;
    char topic[1024];
    if (topic_of(topic, sizeof(topic), r->cfg->live.prefix, "/", it->key))
        publish(r, topic, it->pb, it->pb_len, it->retain);
    else
        r->dropped++;
}

/* The JSON twin under PREFIX/json/KEY, one message per item. */
static void republish_json(void *ud, const struct iocd_live_item *it)
{
    struct iocd_republish *r = ud;
    if (!(r->json_kinds & (1u << it->kind)))
        return;
    char topic[1024];
    if (topic_of(topic, sizeof(topic), r->cfg->live.prefix, "/json/", it->key))
        publish(r, topic, it->json, it->json_len, it->retain);
    else
        r->dropped++;
}

void iocd_republish_item(void *ud, const struct iocd_live_item *it)
{
    const struct iocd_republish *r = ud;
    if (!r->cfg->live.prefix[0])
        return;
    republish_pb(ud, it);
    if (it->json)
        republish_json(ud, it);
}

int iocd_republish_start(struct iocd_republish *r, const struct iocd_config *cfg,
                         struct iocd_mqtt *mqtt, struct iocd_live *live)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->mqtt = mqtt;
    r->live = live;
    if (!cfg->live.prefix[0])
        return 0;
    unsigned obs = cfg->live.observations ? 1u << IOCD_LIVE_OBS : 0u;
    unsigned win = 1u << IOCD_LIVE_WINDOW;
    unsigned other = IOCD_LIVE_STREAM_KINDS & ~(1u << IOCD_LIVE_OBS) & ~win;
    if (cfg->live.protobuf) {
        r->pb_kinds = other | (cfg->live.per_metric
                                   ? obs | win
                                   : (obs ? 1u << IOCD_LIVE_OBS_BATCH : 0u) |
                                         1u << IOCD_LIVE_WINDOW_BATCH);
        if (!(r->sink = iocd_live_add_sink(live, republish_pb, r, r->pb_kinds, IOCD_LIVE_PB)))
            return -1;
    }
    if (cfg->live.json) {
        r->json_kinds = other | obs | win;
        if (!(r->json_sink = iocd_live_add_sink(live, republish_json, r, r->json_kinds,
                                                IOCD_LIVE_JSON)))
            return -1;
    }
    return 0;
}

void iocd_republish_stop(struct iocd_republish *r)
{
    if (r->sink)
        iocd_live_remove_sink(r->live, r->sink);
    if (r->json_sink)
        iocd_live_remove_sink(r->live, r->json_sink);
    r->sink = r->json_sink = 0;
}
