/* daemon/mqtt/dead_letter.h — dead letters: a rejected message, its reason
 * and its payload published as JSON under [ingest] dead_letter_topic/ADAPTER
 * (docs/adapters.md, "Dead letters").
 *
 * Owns: nothing beyond a call; the JSON and the encoded payload are freed
 * before iocd_dead_letter_publish returns. Loop thread (the session's). */
#ifndef IOCD_MQTT_DEAD_LETTER_H
#define IOCD_MQTT_DEAD_LETTER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/mqtt/session.h"

/* Payloads longer than this are cut (the letter says "truncated"). */
#define IOCD_DEAD_LETTER_PAYLOAD_MAX 65536

/* One rejected message; every string NUL-terminated (detail may be NULL). */
struct iocd_dead_letter {
    const char *adapter;
    const char *topic;
    const uint8_t *payload;
    size_t len;
    int64_t received_ms;
    const char *reason; /* the stable reject name */
    const char *detail;
};

/* The letter's JSON (malloc'd, the caller frees), NULL on ENOMEM. */
char *iocd_dead_letter_json(const struct iocd_dead_letter *dl);
/* Publish the letter at QoS 1 under PREFIX/ADAPTER: 0, or -1 when it was
 * dropped (out of memory, or the session refused it). */
int iocd_dead_letter_publish(struct iocd_mqtt *m, const char *prefix,
                             const struct iocd_dead_letter *dl);

#endif
