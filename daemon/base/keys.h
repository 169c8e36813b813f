/* daemon/base/keys.h — typed configuration key tables.
 *
 * Owns: the key table type (struct iocd_key) and the generic routines that
 * read one INI section through a table, apply defaults, free the strings a
 * table owns, and print a table (`iocd --help-config`, plain or Markdown).
 * A table row says once what a key is: its name, type, where its value goes
 * (an offset into the caller's struct), default, bounds and help text.
 * Values that need more than a generic type are either parsed by the row's
 * own function (IOCD_KEY_CUSTOM) or handed over as the INI entry itself
 * (IOCD_KEY_ENTRY) for the owner to check. Depends only on daemon/base. */
#ifndef IOCD_KEYS_H
#define IOCD_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/base/error.h"
#include "daemon/base/ini.h"

enum iocd_key_type {
    IOCD_KEY_STRING,   /* char * slot, owned by the struct */
    IOCD_KEY_INT,      /* int slot; min..max */
    IOCD_KEY_INT64,    /* int64_t slot; min..max */
    IOCD_KEY_BOOL,     /* bool slot */
    IOCD_KEY_DURATION, /* int64_t ms slot; min..max ms */
    IOCD_KEY_SIZE,     /* int64_t bytes slot; min..max */
    IOCD_KEY_DOUBLE,   /* double slot; min..max */
    IOCD_KEY_CUSTOM,   /* parsed by the row's `parse` */
    IOCD_KEY_ENTRY,    /* struct iocd_ini_entry * slot (NULL when absent): the owner checks it */
    IOCD_KEY_PREFIX,   /* a pattern "metric.NAME": every key starting with the name up to
                        * and including its '.' ("metric."); the owner reads them */
};

struct iocd_key;
/* Parse `value` of key `k` into `obj`; 0, or -1 with err at file:line. */
typedef int (*iocd_key_parse_fn)(void *obj, const struct iocd_key *k, const char *value,
                                 const char *file, int line, struct iocd_error *err);

struct iocd_key {
    const char *section; /* "mqtt"; NULL in tables of one named section (adapter, alert) */
    const char *name;    /* "port"; for IOCD_KEY_PREFIX the pattern, "metric.NAME" */
    enum iocd_key_type type;
    size_t offset;       /* of the slot in the caller's struct */
    const char *def;     /* default, parsed like a file value; NULL = none */
    int64_t min, max;    /* bounds of ints, durations (ms), sizes and doubles */
    const char *help;    /* one line */
    iocd_key_parse_fn parse; /* IOCD_KEY_CUSTOM */
    bool owns_string;    /* IOCD_KEY_CUSTOM whose slot is a char * to free */
};

/* Value parsers; 0 on success, -1 on a bad value. */
int iocd_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
int iocd_parse_bool(const char *s, bool *out);
/* "64KiB", "1MiB", "512" (bytes). */
int iocd_parse_size(const char *s, int64_t *out);

/* Parse `value` into `obj` per row `k` (messages name "[SECTION] KEY"). */
int iocd_key_apply(void *obj, const struct iocd_key *k, const char *value, const char *file,
                   int line, struct iocd_error *err);
/* Apply every row's default (file "(defaults)", line 0). */
int iocd_keys_apply_defaults(void *obj, const struct iocd_key *keys, size_t n,
                             struct iocd_error *err);
/* Read section `s` through the rows whose section is `section` (NULL: all
 * rows): each key is looked up (a key given twice is an error) and applied;
 * IOCD_KEY_ENTRY rows get the entry (or NULL); IOCD_KEY_PREFIX rows are
 * left to the owner. Keys not in the table stay unused, for
 * iocd_ini_check_unused to report. */
int iocd_keys_read(void *obj, const struct iocd_key *keys, size_t n, const char *section,
                   const struct iocd_ini *ini, struct iocd_ini_section *s, struct iocd_error *err);
/* Free (and NULL) every string slot the table owns. */
void iocd_keys_free(void *obj, const struct iocd_key *keys, size_t n);
/* True when `key` ("metric.pm25") is one of prefix row k's keys. */
bool iocd_key_prefix_matches(const struct iocd_key *k, const char *key);

/* Print rows (all, or those of `section`): plain text lines
 * "NAME  default DEF  HELP" as `iocd --help-config` shows them, or
 * Markdown table rows "| `NAME` | `DEF` | HELP |" when markdown is true
 * (DEF `""` when empty, — when the key has no default of its own). */
void iocd_keys_print(FILE *out, const struct iocd_key *keys, size_t n, const char *section,
                     bool markdown);

#endif
