/* daemon/base/topic.h — MQTT-style topic filter matching.
 *
 * Owns nothing: iocd_topic_matches (topic.c) is a pure function, used
 * wherever a user pattern selects names (alert rules, REST `match=`,
 * live-stream filters, adapter topic filters); iocd_topic_share_filter
 * splits an MQTT shared subscription ($share/GROUP/FILTER);
 * iocd_topic_level_ok checks one level of a series name. */
#ifndef IOCD_TOPIC_H
#define IOCD_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stddef.h>

/* MQTT topic filter matching (+ and #) of `topic` against `pattern`. */
bool iocd_topic_matches(const char *pattern, const char *topic);
/* Whether s[0..n) can be one level of a series name (SOURCE, DEVICE or
 * METRIC): 1 to 128 bytes, no '/', '+', '#' or control character. The
 * pipeline checks the same per observation (iocd_series_valid_id). */
bool iocd_topic_level_ok(const char *s, size_t n);

/* The filter the topics of messages under subscription `sub` match: for a
 * shared subscription "$share/GROUP/FILTER" (MQTT 5 section 4.8.2, which
 * mosquitto also grants 3.1.1 clients) FILTER, a pointer into `sub`; for
 * any other `sub`, `sub` itself. NULL when `sub` starts with "$share/" but
 * GROUP is empty or has '+' or '#', or FILTER is empty. The FILTER's own
 * syntax is the caller's to check. */
const char *iocd_topic_share_filter(const char *sub);

#endif
