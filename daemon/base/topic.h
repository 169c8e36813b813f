/* daemon/base/topic.h — MQTT-style topic filter matching.
 *
 * Owns nothing: iocd_topic_matches (topic.c) is a pure function, used
 * wherever a user pattern selects names (alert rules, REST `match=`,
 * live-stream filters, adapter topic filters). */
#ifndef IOCD_TOPIC_H
#define IOCD_TOPIC_H

#include <stdbool.h>

/* MQTT topic filter matching (+ and #) of `topic` against `pattern`. */
bool iocd_topic_matches(const char *pattern, const char *topic);

#endif
