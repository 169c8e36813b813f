/* daemon/mqtt/republish.c — live items to MQTT (see republish.h). */
#include "daemon/mqtt/republish.h"

#include <stdio.h>
#include <string.h>

void iocd_republish_item(void *ud, const struct iocd_live_item *it)
{
    struct iocd_republish *r = ud;
    const struct iocd_config *cfg = r->cfg;
    if (it->kind == IOCD_LIVE_OBS && !cfg->live.observations)
        return;
    char topic[1024];
    if (cfg->live.protobuf && it->pb) {
        snprintf(topic, sizeof(topic), "%s/%s", cfg->live.prefix, it->key);
        if (iocd_mqtt_publish(r->mqtt, topic, it->pb, it->pb_len, cfg->live.qos, it->retain))
            r->dropped++;
        else
            r->published++;
    }
    if (cfg->live.json) {
        snprintf(topic, sizeof(topic), "%s/json/%s", cfg->live.prefix, it->key);
        if (iocd_mqtt_publish(r->mqtt, topic, it->json, it->json_len, cfg->live.qos, it->retain))
            r->dropped++;
        else
            r->published++;
    }
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
    unsigned kinds = IOCD_LIVE_ALL_KINDS & ~(cfg->live.observations ? 0u : 1u << IOCD_LIVE_OBS);
    unsigned forms = (cfg->live.protobuf ? IOCD_LIVE_PB : 0u) | (cfg->live.json ? IOCD_LIVE_JSON : 0u);
    if (!forms)
        return 0; /* neither form: nothing to publish */
    r->sink = iocd_live_add_sink(live, iocd_republish_item, r, kinds, forms);
    return r->sink ? 0 : -1;
}

void iocd_republish_stop(struct iocd_republish *r)
{
    if (r->sink)
        iocd_live_remove_sink(r->live, r->sink);
    r->sink = 0;
}
