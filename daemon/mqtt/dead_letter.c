/* daemon/mqtt/dead_letter.c — a rejected message as a dead letter (see
 * dead_letter.h).
 *
 * Owns: the base64 copy of the payload and the JSON text, both freed
 * within the call that made them. */
#include "daemon/mqtt/dead_letter.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/json_text.h"
#include "daemon/base/timeutil.h"

/* Base64 (RFC 4648, padded) of p[0..n), malloc'd; NULL on ENOMEM. */
static char *base64_encode(const uint8_t *p, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *enc = malloc(4 * ((n + 2) / 3) + 1);
    if (!enc)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        enc[k++] = b64[v >> 18 & 63];
        enc[k++] = b64[v >> 12 & 63];
        enc[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        enc[k++] = i + 2 < n ? b64[v & 63] : '=';
    }
    enc[k] = '\0';
    return enc;
}

char *iocd_dead_letter_json(const struct iocd_dead_letter *dl)
{
    size_t n = dl->len > IOCD_DEAD_LETTER_PAYLOAD_MAX ? IOCD_DEAD_LETTER_PAYLOAD_MAX : dl->len;
    char *enc = base64_encode(dl->payload, n);
    if (!enc)
        return NULL;
    char received[40];
    iocd_time_format(dl->received_ms, received, sizeof(received));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "topic", dl->topic);
    cJSON_AddStringToObject(o, "adapter", dl->adapter);
    cJSON_AddStringToObject(o, "reason", dl->reason);
    cJSON_AddStringToObject(o, "detail", dl->detail ? dl->detail : "");
    cJSON_AddStringToObject(o, "received", received);
    cJSON_AddNumberToObject(o, "payload_bytes", (double)dl->len);
    cJSON_AddBoolToObject(o, "truncated", n < dl->len);
    cJSON_AddStringToObject(o, "payload_base64", enc);
    free(enc);
    char *json = iocd_json_print(o);
    cJSON_Delete(o);
    return json;
}

int iocd_dead_letter_publish(struct iocd_mqtt *m, const char *prefix,
                             const struct iocd_dead_letter *dl)
{
    char *json = iocd_dead_letter_json(dl);
    if (!json)
        return -1;
    char topic[1200];
    snprintf(topic, sizeof(topic), "%s/%s", prefix, dl->adapter);
    int rc = iocd_mqtt_publish(m, topic, json, strlen(json), 1, false);
    free(json);
    return rc;
}
