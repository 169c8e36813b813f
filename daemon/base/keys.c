/* daemon/base/keys.c — typed configuration key tables (see keys.h).
 *
 * Owns: nothing beyond the call: the strings it stores in a caller's slots
 * belong to the caller's struct, freed by iocd_keys_free. Error messages
 * say "[SECTION] KEY: 'VALUE' is not ..." at the value's file and line. */
#include "daemon/base/keys.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/base/timeutil.h"

int iocd_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int iocd_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

int iocd_parse_size(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {{"", 1}, {"B", 1}, {"KiB", 1024}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
                 {"K", 1024}, {"M", 1 << 20}, {"G", 1 << 30}};
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > (unsigned long long)(INT64_MAX / units[i].mult))
                return -1;
            *out = (int64_t)v * units[i].mult;
            return 0;
        }
    }
    return -1;
}

static int apply_string(char **slot, const char *v, const char *file, int line,
                        struct iocd_error *err)
{
    char *dup = strdup(v);
    if (!dup)
        return iocd_error_at(err, file, line, "out of memory");
    free(*slot);
    *slot = dup;
    return 0;
}

static int apply_duration(int64_t *slot, const struct iocd_key *k, const char *v,
                          const char *file, int line, struct iocd_error *err)
{
    int64_t n;
    if (iocd_duration_parse(v, &n) || n < k->min || n > k->max) {
        char lo[32], hi[32];
        iocd_duration_format(k->min, lo, sizeof(lo));
        iocd_duration_format(k->max, hi, sizeof(hi));
        return iocd_error_at(err, file, line,
                             "[%s] %s: '%s' is not a duration between %s and %s "
                             "(units: ms, s, m, h, d)",
                             k->section, k->name, v, lo, hi);
    }
    *slot = n;
    return 0;
}

static int apply_double(double *slot, const struct iocd_key *k, const char *v, const char *file,
                        int line, struct iocd_error *err)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !(d >= (double)k->min && d <= (double)k->max))
        return iocd_error_at(err, file, line,
                             "[%s] %s: '%s' is not a number between %" PRId64 " and %" PRId64,
                             k->section, k->name, v, k->min, k->max);
    *slot = d;
    return 0;
}

int iocd_key_apply(void *obj, const struct iocd_key *k, const char *v, const char *file,
                   int line, struct iocd_error *err)
{
    char *slot = (char *)obj + k->offset;
    int64_t n;
    bool b;
    switch (k->type) {
    case IOCD_KEY_STRING:
        return apply_string((char **)slot, v, file, line, err);
    case IOCD_KEY_INT:
    case IOCD_KEY_INT64:
        if (iocd_parse_int(v, k->min, k->max, &n))
            return iocd_error_at(err, file, line,
                                 "[%s] %s: '%s' is not an integer in %" PRId64 "..%" PRId64,
                                 k->section, k->name, v, k->min, k->max);
        if (k->type == IOCD_KEY_INT)
            *(int *)slot = (int)n;
        else
            *(int64_t *)slot = n;
        return 0;
    case IOCD_KEY_BOOL:
        if (iocd_parse_bool(v, &b))
            return iocd_error_at(err, file, line, "[%s] %s: '%s' is not true or false",
                                 k->section, k->name, v);
        *(bool *)slot = b;
        return 0;
    case IOCD_KEY_DURATION:
        return apply_duration((int64_t *)slot, k, v, file, line, err);
    case IOCD_KEY_SIZE:
        if (iocd_parse_size(v, &n) || n < k->min || n > k->max)
            return iocd_error_at(err, file, line,
                                 "[%s] %s: '%s' is not a size between %" PRId64 " and %" PRId64
                                 " bytes (units: KiB, MiB)",
                                 k->section, k->name, v, k->min, k->max);
        *(int64_t *)slot = n;
        return 0;
    case IOCD_KEY_DOUBLE:
        return apply_double((double *)slot, k, v, file, line, err);
    case IOCD_KEY_CUSTOM:
        return k->parse(obj, k, v, file, line, err);
    case IOCD_KEY_ENTRY:
    case IOCD_KEY_PREFIX:
        break;
    }
    return iocd_error_at(err, file, line, "internal: bad key type");
}

int iocd_keys_apply_defaults(void *obj, const struct iocd_key *keys, size_t n,
                             struct iocd_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i].def && keys[i].type != IOCD_KEY_ENTRY && keys[i].type != IOCD_KEY_PREFIX &&
            iocd_key_apply(obj, &keys[i], keys[i].def, "(defaults)", 0, err))
            return -1;
    return 0;
}

int iocd_keys_read(void *obj, const struct iocd_key *keys, size_t n, const char *section,
                   const struct iocd_ini *ini, struct iocd_ini_section *s, struct iocd_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct iocd_key *k = &keys[i];
        if (k->type == IOCD_KEY_PREFIX || (section && (!k->section || strcmp(k->section, section))))
            continue;
        bool dup;
        struct iocd_ini_entry *e = iocd_ini_get(ini, s, k->name, &dup, err);
        if (dup)
            return -1;
        if (k->type == IOCD_KEY_ENTRY)
            *(struct iocd_ini_entry **)((char *)obj + k->offset) = e;
        else if (e && iocd_key_apply(obj, k, e->value, ini->path, e->line, err))
            return -1;
    }
    return 0;
}

void iocd_keys_free(void *obj, const struct iocd_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i].type == IOCD_KEY_STRING ||
            (keys[i].type == IOCD_KEY_CUSTOM && keys[i].owns_string)) {
            char **slot = (char **)((char *)obj + keys[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

bool iocd_key_prefix_matches(const struct iocd_key *k, const char *key)
{
    const char *dot = strchr(k->name, '.');
    size_t n = dot ? (size_t)(dot - k->name) + 1 : strlen(k->name);
    return strncmp(key, k->name, n) == 0;
}

void iocd_keys_print(FILE *out, const struct iocd_key *keys, size_t n, const char *section,
                     bool markdown)
{
    for (size_t i = 0; i < n; i++) {
        const struct iocd_key *k = &keys[i];
        if (section && (!k->section || strcmp(k->section, section) != 0))
            continue;
        const char *def = k->def && k->def[0] ? k->def : "(empty)";
        if (markdown)
            fprintf(out, "| `%s` | %s%s%s | %s |\n", k->name, k->def ? "`" : "",
                    k->def ? (k->def[0] ? k->def : "\"\"") : "—", k->def ? "`" : "", k->help);
        else if (k->def)
            fprintf(out, "%-20s default %-12s %s\n", k->name, def, k->help);
        else
            fprintf(out, "%-20s %s\n", k->name, k->help);
    }
}
