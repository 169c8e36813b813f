/* adapters/common.h — small helpers every format adapter used to write again:
 * the config-error context and message ([adapter NAME] KEY: WHAT), parsing
 * "topic[N]" settings, UTC offsets and JSON paths, UTF-8 validation,
 * configured-unit validation and the printable (ASCII-only, truncated) echo
 * of untrusted text in messages, and the config half every adapter shares:
 * its typed key table read into a struct of entries, and create() (state
 * allocated, source copied, keys read, destroyed on error).
 * Format-specific rules stay in each adapter. */
#ifndef IOCD_ADAPTER_COMMON_H
#define IOCD_ADAPTER_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "adapters/adapter.h"
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

/* "Z", "+hh:mm", "-hh:mm", "+hhmm", "+hh" → seconds east of UTC in *off_s.
 * 0, or -1 on anything else (hours 0..23, minutes 0..59). */
int iocd_adapter_parse_offset(const char *v, int *off_s);

struct iocd_jsonpath;
/* Compile `expr` given as key `e`; on error reports
 * "[adapter NAME] KEY: bad path 'EXPR': WHY" and returns -1. */
int iocd_adapter_compile_path(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                              const char *expr, struct iocd_jsonpath **out);

/* Index of the first byte of S[0..n) that does not start a well-formed
 * UTF-8 scalar value (no overlongs, surrogates or > U+10FFFF); n if none. */
size_t iocd_adapter_utf8_invalid_at(const unsigned char *s, size_t n);

/* True when S[0..n) is entirely well-formed UTF-8. */
bool iocd_adapter_valid_utf8(const unsigned char *s, size_t n);

/* True when U is 1..max bytes of printable ASCII without spaces. */
bool iocd_adapter_valid_unit(const char *u, size_t max);

/* Copies S into BUF (size n) for a message: bytes outside 0x20..0x7e become
 * '?', and text that does not fit is cut and ends in "...". Returns BUF. */
const char *iocd_adapter_printable(const char *s, char *buf, size_t n);

#endif
