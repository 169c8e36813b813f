/* adapters/adapter.h — the one interface every format decoder implements.
 *
 * An adapter turns the bytes of one MQTT message into canonical ioc.v1
 * Observations and Events. It never touches the network, the store or the
 * clock: it gets the topic, payload and receive time, and fills a batch
 * whose memory lives in the batch's arena (reset by the caller after every
 * message) or, for names taken from its configuration, in its own state,
 * which outlives every batch (a batch is used and reset before a reload
 * can free the state). What it wants published in answer (a Sparkplug Rebirth
 * request) it queues in the batch as a command; the pipeline hands it to
 * the MQTT output, so data still flows one way. Validation common to all formats (finite values, clock
 * skew, series limits) happens later, in the pipeline.
 *
 * Adding a format: write adapters/NAME.c with its key table and ending in
 *     const struct iocd_adapter_ops iocd_adapter_NAME = { .name = "NAME", .keys = ..., ... };
 * and add one line to adapters/registry.c. */
#ifndef IOCD_ADAPTER_H
#define IOCD_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/arena.h"
#include "daemon/base/error.h"
#include "daemon/base/ini.h"
#include "daemon/base/keys.h"
#include "ioc/v1/ioc.pb-c.h"

/* Why a message (or one sample of it) was rejected. The names returned by
 * iocd_reject_name() are stable: they appear in counters, logs and APIs. */
enum iocd_reject {
    IOCD_REJECT_NONE = 0,
    IOCD_REJECT_MALFORMED,     /* "malformed": not parseable in the adapter's format */
    IOCD_REJECT_WRONG_TYPE,    /* "wrong_type": a mapped field has the wrong type */
    IOCD_REJECT_MISSING_FIELD, /* "missing_field": device id or every metric absent */
    IOCD_REJECT_BAD_TIME,      /* "bad_time": timestamp unparseable or before 1970 */
    IOCD_REJECT_TOO_LARGE,     /* "too_large": payload above [ingest] max_payload */
    IOCD_REJECT_NOT_FINITE,    /* "not_finite": NaN or infinite value */
    IOCD_REJECT_FUTURE_TIME,   /* "future_time": beyond [ingest] max_clock_skew */
    IOCD_REJECT_NO_ROUTE,      /* "no_route": no adapter subscribes to the topic */
    IOCD_REJECT_BAD_ID,        /* "bad_id": device/metric empty, too long or has '/' */
    IOCD_REJECT_INVALID,       /* "invalid_sample": the device flagged it invalid */
    IOCD_REJECT_SERIES_LIMIT,  /* "series_limit": a new series over [ingest] max_series */
    IOCD_REJECT_NO_MEMORY,     /* "no_memory": decode needed more than its arena allows */
    IOCD_REJECT_DUPLICATE,     /* "duplicate": same series and observation time seen recently */
    IOCD_REJECT_STALE,         /* "stale": from an earlier session (Sparkplug NDEATH, old bdSeq) */
    IOCD_REJECT_UNIT_MISMATCH, /* "unit_mismatch": a unit that does not convert to the series'
                                * canonical unit (docs/units.md) */
    IOCD_REJECT_BAD_STATE,     /* "bad_state": a state that is not a 1-32 byte token, or a state
                                * for a numeric series and vice versa (docs/states.md) */
    IOCD_REJECT_UNKNOWN_STATE, /* "unknown_state": a state outside its metric's [states] set */
    IOCD_REJECT_STATE_ORDER,   /* "state_out_of_order": older than its state series' last sample */
    IOCD_REJECT_TOO_MANY_STATES, /* "too_many_states": a 17th distinct state of one series */
    IOCD_REJECT__COUNT
};

const char *iocd_reject_name(enum iocd_reject r);

/* Something worth counting about a message that was still decoded (the
 * names appear as counters "note.<name>" and in logs). */
enum iocd_note {
    IOCD_NOTE_SEQ_GAP = 0,   /* "seq_gap": a sequence number was skipped (Sparkplug) */
    IOCD_NOTE_PARTIAL,       /* "partial": some records of the message were dropped */
    IOCD_NOTE_PROPERTY_DROPPED, /* "property_dropped": an MQTT v5 user property was not made a
                                 * label (over the count or length limits, or a repeated name) */
    IOCD_NOTE_REBIRTH_LIMITED, /* "rebirth_limited": a Rebirth request was due but rate-limited */
    IOCD_NOTE__COUNT
};

const char *iocd_note_name(enum iocd_note n);

/* An MQTT v5 user property of a message: name and value, NUL-terminated
 * UTF-8 (docs/mqtt_v5.md#user-properties-as-labels). */
struct iocd_user_property {
    const char *name;
    const char *value;
};

/* One received message, as the router hands it to an adapter. */
struct iocd_message {
    const char *topic;      /* NUL-terminated */
    const uint8_t *payload; /* not NUL-terminated; may contain any bytes */
    size_t len;
    int64_t received_ms; /* ms since the epoch UTC */
    /* The message's MQTT v5 user properties (in the batch's arena; NULL
     * under 3.1.1 and when there are none), in the order sent, names
     * distinct. After decode the router adds them to every Observation as
     * labels and to every Event as attributes (daemon/ingest/properties.h);
     * a decoder may read them too. */
    const struct iocd_user_property *properties;
    size_t n_properties;
};

/* A message an adapter asks iocd to publish on the broker, e.g. a
 * Sparkplug Rebirth request. Adapters never publish: the pipeline hands
 * each command to the MQTT output after the decode (and counts it as sent
 * or dropped), whether the message was accepted or not. */
struct iocd_command {
    const char *topic;
    const uint8_t *payload;
    size_t len;
    int qos;
    bool retain;
    const char *why; /* for the log: "alias 10 unknown: no BIRTH seen for G/E" */
};

/* What one decode produced. The pointer arrays and everything they point
 * to live in `arena`. */
struct iocd_batch {
    struct iocd_arena *arena;
    Ioc__V1__Observation **obs;
    size_t n_obs, cap_obs;
    Ioc__V1__Event **events;
    size_t n_events, cap_events;
    char detail[160]; /* why a decode failed, for the log: "$.pm25 is a string" */
    unsigned notes[IOCD_NOTE__COUNT]; /* iocd_batch_note counts */
    char note_detail[160];            /* the last note's text, for the log */
    char note_text[IOCD_NOTE__COUNT][160]; /* the last text of each note, for the log */
    struct iocd_command **commands;   /* to publish after this decode */
    size_t n_commands, cap_commands;
};

void iocd_batch_init(struct iocd_batch *b, struct iocd_arena *arena);
/* Empties the batch and resets its arena. */
void iocd_batch_reset(struct iocd_batch *b);
/* A new Observation (initialised, strings ""), or NULL when out of memory. */
Ioc__V1__Observation *iocd_batch_add_observation(struct iocd_batch *b);
Ioc__V1__Event *iocd_batch_add_event(struct iocd_batch *b);
/* Append a label / attribute; key and value are copied into the arena. */
int iocd_observation_add_label(struct iocd_batch *b, Ioc__V1__Observation *o, const char *key,
                               const char *value);
int iocd_event_add_attribute(struct iocd_batch *b, Ioc__V1__Event *e, const char *key,
                             const char *value);
/* Queue a command (topic, payload and why are copied into the arena).
 * 0, or -1 when out of memory. */
int iocd_batch_add_command(struct iocd_batch *b, const char *topic, const void *payload,
                           size_t len, int qos, bool retain, const char *why);
/* Fill b->detail; returns `r` so decoders can `return iocd_batch_fail(...)`. */
enum iocd_reject iocd_batch_fail(struct iocd_batch *b, enum iocd_reject r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Count a note for this message (the message is still accepted). */
void iocd_batch_note(struct iocd_batch *b, enum iocd_note n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct iocd_adapter_ops {
    const char *name; /* the `format =` value that selects this adapter */
    /* The format's keys, declared once: create() reads them through this
     * table, and --help-config and the docs list them from it. */
    const struct iocd_key *keys;
    size_t n_keys;
    /* Read this format's keys from `section` (marking each key used with
     * iocd_ini_get or by setting entry->used) and build the adapter's
     * state. `source` is the series source name ([adapter NAME] unless
     * overridden). Returns 0, or -1 with err filled with file and line. */
    int (*create)(const struct iocd_ini *ini, struct iocd_ini_section *section, const char *source,
                  void **state, struct iocd_error *err);
    /* Decode one message. Returns IOCD_REJECT_NONE with at least one
     * Observation or Event in `out`, or a reject reason (out->detail says
     * more). Must never crash, whatever the bytes. */
    enum iocd_reject (*decode)(void *state, const struct iocd_message *msg, struct iocd_batch *out);
    void (*destroy)(void *state);
};

/* The adapter for a `format =` value, or NULL. */
const struct iocd_adapter_ops *iocd_adapter_find(const char *format);
/* The i-th known adapter (registry order), NULL past the last. */
const struct iocd_adapter_ops *iocd_adapter_at(size_t i);
/* Comma-separated list of known formats, for error messages. */
const char *iocd_adapter_formats(void);

#endif
