/* adapters/common.h — small helpers every format adapter used to write again.
 *
 * Owns: the config-error context and message ([adapter NAME] KEY: WHAT),
 * parsing "topic[N]" settings, UTC offsets and JSON paths, UTF-8 decoding
 * and validation, configured-unit validation, the printable (ASCII-only,
 * truncated) echo of untrusted text in messages, the decoders' JSON
 * prologue (parse the whole payload, name a node's type in a message), and
 * the config half every adapter shares: its typed key table read into a
 * struct of entries, and create() (state allocated, source copied, keys
 * read, destroyed on error).
 * Format-specific rules stay in each adapter. */
#ifndef IOCD_ADAPTER_COMMON_H
#define IOCD_ADAPTER_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <stdint.h>

#include "adapters/adapter.h"
#include "daemon/base/timeutil.h"
#include "daemon/base/keys.h"

/* Where a config error is reported: the file, the [adapter NAME] section
 * and the error to fill. */
struct iocd_adapter_cfg {
    const struct iocd_ini *ini;
    const char *section; /* the section's NAME */
    struct iocd_error *err;
};

/* A row of an adapter's key table: `field` of the entries struct `type`
 * (a struct iocd_ini_entry *) is key "field". */
#define IOCD_ADAPTER_KEY(type, field, help)                                                       \
    {NULL, #field, IOCD_KEY_ENTRY, offsetof(type, field), NULL, 0, 0, help, NULL, false}
/* A prefix row: every "metric.NAME" key; the adapter reads those itself. */
#define IOCD_ADAPTER_PREFIX(pattern, help)                                                        \
    {NULL, pattern, IOCD_KEY_PREFIX, 0, NULL, 0, 0, help, NULL, false}

/* How an adapter builds its state from its section. */
struct iocd_adapter_spec {
    const struct iocd_key *keys; /* the format's key table (ops->keys) */
    size_t n_keys;
    size_t entries_size;  /* of the struct the table's entry rows point into */
    size_t state_size;    /* of the adapter's state, allocated zeroed */
    size_t source_offset; /* of its `char *source` (owned) */
    /* Checks the entries and fills the state; 0, or -1 with err filled. */
    int (*read)(const struct iocd_adapter_cfg *c, void *state, struct iocd_ini_section *section,
                const void *entries);
    void (*destroy)(void *state);
};

/* ops->create for every adapter: allocates the state, copies `source`
 * (NULL: the section's NAME), reads the section through spec->keys (a key
 * given twice is an error) and calls spec->read. On error the state is
 * destroyed and *state is NULL. */
int iocd_adapter_create(const struct iocd_adapter_spec *spec, const struct iocd_ini *ini,
                        struct iocd_ini_section *section, const char *source, void **state,
                        struct iocd_error *err);

/* Non-zero when the key of section->entries[idx] appeared earlier in the
 * section: reports "[adapter NAME] KEY: given twice (first on line N)". */
int iocd_adapter_cfg_given_twice(const struct iocd_adapter_cfg *c,
                                 const struct iocd_ini_section *section, size_t idx);

/* How many keys of the section start with `prefix` ("metric."). */
size_t iocd_adapter_cfg_count_prefix(const struct iocd_ini_section *section, const char *prefix);

/* Reports "[adapter NAME] KEY: WHAT" at the entry's line; returns -1. */
int iocd_adapter_cfg_fail(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                          const char *what);

/* The same with WHAT formatted (at most 399 bytes). */
int iocd_adapter_cfg_failf(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                           const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses "topic[N]" with N decimal digits, 0 <= N <= max, into *level.
 * Returns 1 on success, 0 when V does not start with "topic[", and -1 when
 * it does but the rest is malformed or N is too large (*level untouched). */
int iocd_adapter_parse_topic_level(const char *v, int max, int *level);

/* Level `level` (0-based) of an MQTT topic (NULL reads as ""): its first
 * byte in *s and its length in *n (0 for an empty level). False, with *s
 * and *n untouched, when the topic has no such level. */
bool iocd_adapter_topic_level(const char *topic, int level, const char **s, size_t *n);

/* "Z", "+hh:mm", "-hh:mm", "+hhmm", "+hh" → seconds east of UTC in *off_s.
 * 0, or -1 on anything else (hours 0..23, minutes 0..59). */
int iocd_adapter_parse_offset(const char *v, int *off_s);

struct iocd_jsonpath;
/* Compile `expr` given as key `e`; on error reports
 * "[adapter NAME] KEY: bad path 'EXPR': WHY" and returns -1. */
int iocd_adapter_compile_path(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                              const char *expr, struct iocd_jsonpath **out);

/* The well-formed UTF-8 sequence at s[0..n) (n >= 1): its length (1..4)
 * with the code point in *cp, or 0 when it is not one (overlongs,
 * surrogates, > U+10FFFF, truncated; *cp untouched). */
size_t iocd_adapter_utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Index of the first byte of S[0..n) that does not start a well-formed
 * UTF-8 scalar value (no overlongs, surrogates or > U+10FFFF); n if none. */
size_t iocd_adapter_utf8_invalid_at(const unsigned char *s, size_t n);

/* True when S[0..n) is entirely well-formed UTF-8. */
bool iocd_adapter_valid_utf8(const unsigned char *s, size_t n);

/* Why S[0..n) cannot be a device id or metric name, or NULL when it can:
 * 1..128 bytes, no '/', '+', '#' or control character (checked byte by
 * byte, the first found is named), valid UTF-8. */
const char *iocd_adapter_id_problem(const char *s, size_t n);

/* True when U is 1..max bytes of printable ASCII without spaces. */
bool iocd_adapter_valid_unit(const char *u, size_t max);

/* Copies S into BUF (size n) for a message: bytes outside 0x20..0x7e become
 * '?', and text that does not fit is cut and ends in "...". Returns BUF. */
const char *iocd_adapter_printable(const char *s, char *buf, size_t n);

/* The same for the N bytes at S (which may hold NULs, shown as '?'). */
const char *iocd_adapter_printable_n(const char *s, size_t len, char *buf, size_t n);

/* JSON's insignificant whitespace: space, tab, LF, CR. */
bool iocd_adapter_json_space(unsigned char ch);

/* "a string", "a number", "a bool", "an object", "an array", "null" (or
 * "of unknown type"): a JSON node's type, for reject messages. */
const char *iocd_adapter_json_type(const cJSON *n);

/* The decoders' JSON prologue: parses the message's payload as one JSON
 * value, after which only JSON blanks, then NULs (C-string senders), may
 * follow. On success returns IOCD_REJECT_NONE and the tree in *root, which
 * the caller frees with cJSON_Delete. Otherwise fails OUT with
 * IOCD_REJECT_MALFORMED ("empty payload", "not valid JSON (at byte N)",
 * "not valid JSON (junk after the value at byte N)"), sets *root to NULL
 * and returns the code. */
enum iocd_reject iocd_adapter_json_parse(const struct iocd_message *msg, struct iocd_batch *out,
                                         cJSON **root);

/* A metric name or id of 1..max characters from [A-Za-z0-9_.-]. */
bool iocd_adapter_name_ok(const char *s, size_t n, size_t max);
/* `s` (n bytes) spells nan, inf or infinity, any case, optional sign: a
 * number that is not finite rather than not a number. */
bool iocd_adapter_nonfinite_word(const char *s, size_t n);
/* A `time_format =` value (auto, iso8601, s, ms, us): 0 and *unit, or -1
 * (message: IOCD_ADAPTER_TIME_FORMATS). */
#define IOCD_ADAPTER_TIME_FORMATS "expected auto, iso8601, s, ms or us"
int iocd_adapter_time_format(const char *value, enum iocd_time_unit *unit);

/* The `states` key of the json, ngsi, senml and sparkplug formats
 * (docs/states.md): the metrics whose string values are enumerated states
 * ("status, occupancy"), or every metric ("*"). */
#define IOCD_ADAPTER_STATES_MAX 64
struct iocd_adapter_states {
    char **names; /* owned, n of them */
    size_t n;
    bool all;
};

/* Reads `states = NAME[, NAME...]` or `*` (e NULL: none). 0, or -1 with
 * the error reported at the entry's line. */
int iocd_adapter_states_read(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                             struct iocd_adapter_states *s);
/* True when a string value of `metric` is a state. */
bool iocd_adapter_states_has(const struct iocd_adapter_states *s, const char *metric);
void iocd_adapter_states_free(struct iocd_adapter_states *s);

#endif
