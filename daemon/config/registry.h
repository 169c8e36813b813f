/* daemon/config/registry.h — the device registry of [devices] registry:
 * what the city knows about each device before it says anything (display
 * name, fixed position, ward/area, subsystem, tags), its two file formats
 * and their parser.
 *
 * Owns: struct iocd_registry (every row of one file, malloc'd by
 * iocd_registry_parse / iocd_registry_load, freed by iocd_registry_free).
 * No I/O but iocd_registry_load's read of the file; no logging. The
 * loaded registry belongs to the configuration that named it
 * (cfg->devices.registry_data), so a reload swaps it with the rest of the
 * configuration and a bad file keeps the old one. Read-only once loaded,
 * loop thread only. Formats, precedence and cost: docs/registry.md.
 *
 * CSV (RFC 4180 quoting; a header row naming the columns, in any order;
 * source and device required, the others optional):
 *   source,device,name,lat,lon,area,subsystem,tags
 *   air,pk-01,Trạm Hội Thương,13.9812,108.0021,Hội Thương,air,school;fixed
 * JSON: an array of objects with the same members (lat/lon numbers or
 * null, tags an array of strings or one ';'-separated string). */
#ifndef IOCD_CONFIG_REGISTRY_H
#define IOCD_CONFIG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/error.h"

#define IOCD_REGISTRY_ID_MAX 128        /* bytes of source, device, area, subsystem, a tag */
#define IOCD_REGISTRY_NAME_MAX 256      /* bytes of a display name */
#define IOCD_REGISTRY_TAGS_MAX 16       /* tags of one row */
#define IOCD_REGISTRY_ROWS_MAX 1000000  /* rows of one file */
#define IOCD_REGISTRY_FILE_MAX (64 << 20)

/* One device as the registry describes it. The strings point into `text`
 * ("source\0device\0name\0area\0subsystem\0tags\0"; tags ';'-joined; the
 * optional ones "" when not given). */
struct iocd_registry_entry {
    const char *source, *device, *name, *area, *subsystem, *tags;
    double lat, lon;
    int64_t changed_ms; /* when this row's position last changed (see keep_times) */
    int line;           /* CSV line, or JSON array index */
    uint8_t n_tags;
    bool has_position;
    bool fixed; /* tagged "fixed": its position wins over reported ones */
    char text[];
};

struct iocd_registry;

/* Parse a registry held in `text` (len bytes): JSON when it starts with
 * '[' (after blanks and a UTF-8 BOM), CSV otherwise. `file` names it in
 * errors ("FILE:LINE: why" for CSV, "FILE:[INDEX]: why" for JSON). Every
 * row's changed_ms is `changed_ms`. 0 with *out set, or -1 with err. */
int iocd_registry_parse(const char *text, size_t len, const char *file, int64_t changed_ms,
                        struct iocd_registry **out, struct iocd_error *err);
enum iocd_registry_format { IOCD_REGISTRY_AUTO, IOCD_REGISTRY_CSV, IOCD_REGISTRY_JSON };
/* As iocd_registry_parse, the format given (AUTO: by content). */
int iocd_registry_parse_as(const char *text, size_t len, const char *file,
                           enum iocd_registry_format format, int64_t changed_ms,
                           struct iocd_registry **out, struct iocd_error *err);
/* Read and parse the file at path (.json: JSON, .csv: CSV, else by
 * content; the file's modification time becomes every row's changed_ms). 0 or -1 with err. */
int iocd_registry_load(const char *path, struct iocd_registry **out, struct iocd_error *err);
void iocd_registry_free(struct iocd_registry *r);

/* Rows of `next` whose position (or absence of one) is what `prev` had
 * for the same device keep prev's changed_ms: a reload moves only the
 * rows it changes in front of reported positions. */
void iocd_registry_keep_times(struct iocd_registry *next, const struct iocd_registry *prev);

/* NULL when r is NULL or the device is not registered. */
const struct iocd_registry_entry *iocd_registry_find(const struct iocd_registry *r,
                                                     const char *source, const char *device);
size_t iocd_registry_count(const struct iocd_registry *r);
/* Row i in file order, or NULL past the end. */
const struct iocd_registry_entry *iocd_registry_at(const struct iocd_registry *r, size_t i);
/* Whether the row carries `tag` among its tags. */
bool iocd_registry_has_tag(const struct iocd_registry_entry *e, const char *tag);
/* The id rule of source, device, area, subsystem and tags: 1..128 bytes,
 * no '/', '+', '#', ';' or control characters (the pipeline's rule for
 * ids, daemon/aggregate/series.c, plus ';', the tag separator). */
bool iocd_registry_id_ok(const char *s, size_t n);

#endif
