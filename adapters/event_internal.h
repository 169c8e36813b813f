/* adapters/event_internal.h — what the event adapter's two halves share:
 * event.c (decode and the text helpers) and event_config.c (the key table,
 * create and destroy). Private to adapters/event*.c.
 *
 * Owns: the definitions of struct event_state and its parts; nothing at
 * run time. */
#ifndef IOCD_EVENT_INTERNAL_H
#define IOCD_EVENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/adapter.h"
#include "adapters/common.h"
#include "daemon/base/jsonpath.h"
#include "daemon/base/timeutil.h"

#define EV_MAX_ID 64          /* bytes in a kind or status */
#define EV_MAX_LABEL 128      /* bytes in a device or area */
#define EV_MAX_TEXT 4096      /* bytes of text kept */
#define EV_MAX_ATTRS 32       /* attributes per event */
#define EV_MAX_ATTR_KEY 64    /* bytes in an attribute key */
#define EV_MAX_ATTR_VALUE 512 /* bytes in an attribute value */
#define EV_MAX_TOPIC_LEVEL 255
#define EV_MAX_LIST 64 /* entries of severity_map, statuses, attributes */
#define EV_MAX_OUTER (EV_MAX_LIST + 10) /* '^' paths: attributes and the other keys */
#define EV_MAX_SAFE_INT 9007199254740992.0 /* 2^53 */

/* ---- value sources: "$.path", "^$.path", "topic[N]", literals ---- */

enum src_type { SRC_NONE = 0, SRC_PATH, SRC_TOPIC, SRC_LITERAL };

struct value_src {
    enum src_type type;
    bool outer;                 /* "^$...": read in the message, not the record */
    struct iocd_jsonpath *path; /* SRC_PATH; owned */
    int slot;                   /* outer: its slot in the per-message cache */
    int level;                  /* SRC_TOPIC */
    char *literal;              /* SRC_LITERAL, normalised for its key; owned */
    char *text;                 /* the value as written, for messages; owned */
};

struct sev_entry {
    char *key; /* payload value, compared without regard to ASCII case; owned */
    int severity;
};

struct attr_path {
    char *key; /* owned */
    struct value_src src;
};

enum attr_mode { ATTR_ALL = 0, ATTR_NONE, ATTR_LIST };

struct event_state {
    char *source; /* owned */
    struct value_src kind, severity, text, device, area, status, time, lat, lon, location, case_id;
    int severity_fixed; /* when severity is not read from the message */
    struct sev_entry *sev_map; /* owned; NULL: the built-in names */
    size_t n_sev_map;
    char **statuses; /* owned; NULL: any status */
    size_t n_statuses;
    enum iocd_time_unit time_unit;
    int time_offset_s;
    enum attr_mode attr_mode;
    struct attr_path *attrs; /* ATTR_LIST; owned */
    size_t n_attrs;
    char **exclude; /* ATTR_ALL: top-level members the keys above read; owned */
    size_t n_exclude;
    struct iocd_jsonpath *records; /* owned; NULL: one event per message */
    int n_outer;                   /* '^' paths, numbered by value_src.slot */
};

/* ---- config half (event_config.c) ---- */

#define IOCD_EVENT_N_KEYS 17
/* The event format's keys (ops->keys). */
extern const struct iocd_key iocd_event_keys[IOCD_EVENT_N_KEYS];
/* ops->create and ops->destroy. */
int iocd_event_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                      const char *source, void **state, struct iocd_error *err);
void iocd_event_destroy(void *state);

/* ---- text helpers (event.c), used by both halves ---- */

enum id_result { ID_OK = 0, ID_EMPTY, ID_TOO_LONG };
/* A kind or status id from free text (see event.c); out has EV_MAX_ID + 1
 * bytes. */
enum id_result iocd_event_normalize_id(const char *s, size_t n, char *out);
/* s is 1 to 64 characters of letters, digits, '_', '.' and '-'. */
bool iocd_event_valid_id(const char *s);
/* A device or area label cleaned into out (EV_MAX_LABEL + 1 bytes): NULL,
 * or why it cannot be one. */
const char *iocd_event_clean_label(const char *s, size_t n, char *out);
/* s[0..n) without leading and trailing ASCII blanks. */
void iocd_event_trim(const char **s, size_t *n);
/* a[0..an) equals b, ignoring ASCII case. */
bool iocd_event_ci_equal(const char *a, size_t an, const char *b);
/* The severity named by s[0..n) (a name or 0..5), or -1. */
int iocd_event_severity_from_name(const char *s, size_t n);

#endif
