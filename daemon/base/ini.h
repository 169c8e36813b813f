/* daemon/base/ini.h — systemd-style INI files with line numbers.
 *
 * Owns: the parsed file (sections, keys, values, their line numbers). It
 * knows nothing of what keys mean: config.c and the adapters look keys up
 * and mark them used, and iocd_ini_check_unused() turns every key nobody
 * used into an "unknown key" error with its file and line.
 *
 * Syntax: `[name]` or `[name ARG]` section headers, `key = value` lines,
 * comments on lines starting with `#` or `;`, blank lines ignored. Values
 * are trimmed; a value may be wrapped in double quotes to keep leading or
 * trailing spaces. Keys may repeat only where the consumer allows it.
 * (We parse ourselves because Debian's inih is built without
 * INI_HANDLER_LINENO, so it cannot say on which line an unknown key is.) */
#ifndef IOCD_INI_H
#define IOCD_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/base/error.h"

struct iocd_ini_entry {
    char *key;
    char *value;
    int line;
    bool used;
};

struct iocd_ini_section {
    char *name; /* "mqtt", "adapter" */
    char *arg;  /* "air" in [adapter air]; NULL when absent */
    int line;
    struct iocd_ini_entry *entries;
    size_t n_entries;
};

struct iocd_ini {
    char *path; /* for messages; "(defaults)" when parsed from a string */
    struct iocd_ini_section *sections;
    size_t n_sections;
};

int iocd_ini_load(struct iocd_ini *ini, const char *path, struct iocd_error *err);
/* Parse `text`; `path` is only used in messages. */
int iocd_ini_parse(struct iocd_ini *ini, const char *path, const char *text, struct iocd_error *err);
void iocd_ini_free(struct iocd_ini *ini);

/* Find the one `key` in `s` and mark it used. Returns NULL when absent.
 * A key given twice is an error (err filled, *dup set to true). */
struct iocd_ini_entry *iocd_ini_get(const struct iocd_ini *ini, struct iocd_ini_section *s,
                                    const char *key, bool *dup, struct iocd_error *err);
/* Error for every entry not marked used, the first one reported. */
int iocd_ini_check_unused(const struct iocd_ini *ini, struct iocd_error *err);

#endif
