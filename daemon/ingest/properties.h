/* daemon/ingest/properties.h — MQTT v5 user properties of a message, as labels.
 *
 * Owns: taking the user properties (MQTT 5 section 3.3.2.3.7) of one
 * received message into its struct iocd_message, copied into the router's
 * arena, and, once an adapter has decoded the message, adding them to
 * every Observation of the batch as labels and to every Event as
 * attributes, whatever the format. The label key is the property name,
 * unchanged; a label or attribute the adapter set itself under the same
 * name wins. At most IOCD_USER_PROPERTIES_MAX properties per message are
 * taken, names of 1 to IOCD_USER_PROPERTY_NAME_MAX bytes, values of at most
 * IOCD_USER_PROPERTY_VALUE_MAX bytes, the first of a repeated name; every
 * other one is dropped and counted as the note "property_dropped".
 * A message without user properties (every MQTT 3.1.1 message) costs one
 * NULL test: nothing is allocated or copied. Never blocks, keeps nothing
 * past the message (the arena is reset after each). */
#ifndef IOCD_INGEST_PROPERTIES_H
#define IOCD_INGEST_PROPERTIES_H

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "adapters/adapter.h"

#define IOCD_USER_PROPERTIES_MAX 16
#define IOCD_USER_PROPERTY_NAME_MAX 64
#define IOCD_USER_PROPERTY_VALUE_MAX 256

/* Set msg->properties from the user properties in `props` (NULL: none),
 * copied into b->arena; those dropped are noted in `b`. 0, or -1 when the
 * arena is out of memory (msg then has none). */
int iocd_properties_take(const mosquitto_property *props, struct iocd_message *msg,
                         struct iocd_batch *b);

/* Add msg's user properties to every Observation (labels) and Event
 * (attributes) in `b`, skipping names the adapter already set. Shared
 * label arrays of a decoder are not modified: each item gets its own.
 * 0, or -1 when the arena is out of memory. */
int iocd_properties_apply(const struct iocd_message *msg, struct iocd_batch *b);

#endif
