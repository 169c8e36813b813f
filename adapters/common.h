/* adapters/common.h — small helpers every format adapter used to write again:
 * the config-error context and message ([adapter NAME] KEY: WHAT), parsing
 * "topic[N]" settings, UTC offsets and JSON paths, UTF-8 validation,
 * configured-unit validation and the printable (ASCII-only, truncated) echo
 * of untrusted text in messages.
 * Format-specific rules stay in each adapter. */
#ifndef IOCD_ADAPTER_COMMON_H
#define IOCD_ADAPTER_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "adapters/adapter.h"

/* Where a config error is reported: the file, the [adapter NAME] section
 * and the error to fill. */
struct iocd_adapter_cfg {
    const struct iocd_ini *ini;
    const char *section; /* the section's NAME */
    struct iocd_error *err;
};

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
