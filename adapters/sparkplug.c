/* adapters/sparkplug.c — the `sparkplug` adapter: Eclipse Sparkplug B
 * (topic namespace spBv1.0, protobuf payloads described by
 * proto/sparkplug_b/sparkplug_b.proto; see docs/adapters.md (sparkplug)).
 *
 * Owns: struct sp_state — the source name, the config, and what the
 * adapter has learned from the messages it saw: one sp_entry per edge node
 * (group/edge) and per device (group/edge/device), each with the metric
 * definitions (alias → name, datatype, unit) of its last BIRTH, and per edge
 * node the last sequence number, the bdSeq of its NBIRTH and when it was
 * last asked to rebirth. Every entry is malloc'd, bounded by `max_devices`
 * entries of at most `max_metrics` metrics each, and freed by destroy() (a
 * device's entry also when its edge node is born again).
 *
 * The host application's duties that fall to a decoder: a Rebirth request
 * (NCMD `Node Control/Rebirth` = true, encoded here) when DATA cannot be
 * resolved or skips a sequence number, rate-limited per edge node; an
 * NDEATH that marks the node and all its devices offline; an NDEATH whose
 * bdSeq is not the current NBIRTH's is stale and rejected. The adapter
 * never publishes: requests go out as commands of the batch, which the
 * pipeline hands to the MQTT output. (STATE is daemon/mqtt/sparkplug_host.c.)
 * decode() unpacks the payload with protobuf-c into the batch's arena (an
 * arena-backed allocator, so nothing of a payload is ever freed by hand),
 * and puts every string it produces into the arena too. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/common.h"
#include "sparkplug_b/sparkplug_b.pb-c.h"
#include "daemon/base/timeutil.h"

typedef Iocd__SparkplugB__Payload SpPayload;
typedef Iocd__SparkplugB__Metric SpMetric;
typedef Iocd__SparkplugB__PropertySet SpPropertySet;
typedef Iocd__SparkplugB__PropertyValue SpPropertyValue;

#define SP_NAMESPACE "spBv1.0"
#define SP_MAX_ID 128   /* bytes in a device id, metric id, topic id */
#define SP_MAX_UNIT 64  /* bytes in an engUnit taken as the unit */
#define SP_MAX_DEPTH 32 /* nesting of messages inside a payload */
#define SP_MAX_DEVICES_DEFAULT 10000
#define SP_MAX_DEVICES_LIMIT 1000000
#define SP_MAX_METRICS_DEFAULT 10000
#define SP_MAX_METRICS_LIMIT 1000000
#define SP_REBIRTH_INTERVAL_DEFAULT "30s"
#define SP_REBIRTH_INTERVAL_MAX_MS INT64_C(86400000)
/* Rebirth requests one adapter sends in one second (receive time) at most,
 * over all edge nodes: a flood of unknown nodes cannot make iocd flood. */
#define SP_REBIRTH_PER_SECOND 100
#define SP_REBIRTH_METRIC "Node Control/Rebirth"

/* Sparkplug DataType numbers (proto/sparkplug_b/sparkplug_b.proto). */
enum sp_datatype {
    SP_UNKNOWN = 0,
    SP_INT8 = 1,
    SP_INT16 = 2,
    SP_INT32 = 3,
    SP_INT64 = 4,
    SP_UINT8 = 5,
    SP_UINT16 = 6,
    SP_UINT32 = 7,
    SP_UINT64 = 8,
    SP_FLOAT = 9,
    SP_DOUBLE = 10,
    SP_BOOLEAN = 11,
    SP_STRING = 12,
    SP_DATETIME = 13,
    SP_TEXT = 14,
    SP_DATATYPE_LAST = 34,
};

enum sp_kind { SP_NBIRTH, SP_NDATA, SP_NDEATH, SP_DBIRTH, SP_DDATA, SP_DDEATH };

static const char *const kind_names[] = {"NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH"};

enum sp_device_format { SP_FMT_DEVICE, SP_FMT_EDGE_DEVICE, SP_FMT_GROUP_EDGE_DEVICE };

/* One metric learned from a BIRTH. Strings point into the scope's block. */
struct sp_def {
    const char *name; /* the Sparkplug name; NULL when longer than SP_MAX_ID */
    const char *id;   /* the metric id it becomes; NULL when it cannot be one */
    const char *unit; /* from the "engUnit" property, else "" */
    uint64_t alias;
    bool has_alias;
    bool transient;
    uint32_t datatype;
};

/* The metric definitions of one BIRTH: defs, two hash indexes (alias and
 * name → index + 1, 0 = empty; open addressing, mask + 1 slots) and the
 * strings, all in one malloc'd block `mem` (owned). */
struct sp_scope {
    void *mem;
    struct sp_def *defs;
    size_t n;
    uint32_t *by_alias, *by_name;
    size_t mask;
    bool born; /* a BIRTH was seen */
};

/* A tracked edge node (device == NULL) or device. */
struct sp_entry {
    char *key;                  /* "group/edge" or "group/edge/device"; owned */
    struct sp_entry *hnext;     /* hash chain */
    struct sp_entry *node;      /* a device's edge node */
    struct sp_entry *first_dev; /* an edge node's devices */
    struct sp_entry *next_dev, *prev_dev;
    struct sp_scope scope;
    bool have_seq; /* edge nodes: `seq` is the last sequence number seen */
    uint8_t seq;
    /* Created by a message other than a BIRTH (to rate-limit Rebirth
     * requests, and so that an NDEATH reaches the devices): no sequence
     * check until a BIRTH. */
    bool tracked_only;
    bool dead;       /* NDEATH (devices: DDEATH or their node's NDEATH) seen, no BIRTH since */
    bool have_bdseq; /* edge nodes: `bdseq` is the bdSeq of the last NBIRTH */
    uint64_t bdseq;
    bool asked;              /* edge nodes: a Rebirth was requested ... */
    int64_t asked_ms;        /* ... at this receive time */
};

struct sp_state {
    char *source; /* owned */
    enum sp_device_format format;
    size_t max_devices; /* edge nodes + devices tracked */
    size_t max_metrics; /* metrics learned per BIRTH */
    int64_t rebirth_interval_ms; /* per edge node, between Rebirth requests; 0: never ask */
    int64_t rebirth_second;      /* receive-time second of the last request */
    unsigned rebirth_in_second;  /* requests sent in that second */
    struct sp_entry **buckets;
    size_t n_buckets, n_entries;
    struct iocd_adapter_states states; /* states = ...: String metrics that are states; owned */
};

/* ---- tracked entries ---- */

static uint64_t hash_bytes(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211u;
    }
    return h;
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    x ^= x >> 33;
    return x;
}

static void scope_clear(struct sp_scope *sc)
{
    free(sc->mem);
    memset(sc, 0, sizeof(*sc));
}

static struct sp_entry *entry_find(const struct sp_state *st, const char *key)
{
    if (!st->n_buckets)
        return NULL;
    struct sp_entry *e = st->buckets[hash_bytes(key) & (st->n_buckets - 1)];
    while (e && strcmp(e->key, key) != 0)
        e = e->hnext;
    return e;
}

static int entries_grow(struct sp_state *st)
{
    size_t nb = st->n_buckets ? st->n_buckets * 2 : 64;
    struct sp_entry **b = calloc(nb, sizeof(*b));
    if (!b)
        return -1;
    for (size_t i = 0; i < st->n_buckets; i++) {
        struct sp_entry *e = st->buckets[i];
        while (e) {
            struct sp_entry *next = e->hnext;
            size_t k = hash_bytes(e->key) & (nb - 1);
            e->hnext = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->n_buckets = nb;
    return 0;
}

/* A new, empty entry for `key` (not yet present), or NULL out of memory. */
static struct sp_entry *entry_add(struct sp_state *st, const char *key)
{
    if (st->n_entries >= st->n_buckets && entries_grow(st))
        return NULL;
    struct sp_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->key = strdup(key);
    if (!e->key) {
        free(e);
        return NULL;
    }
    size_t k = hash_bytes(key) & (st->n_buckets - 1);
    e->hnext = st->buckets[k];
    st->buckets[k] = e;
    st->n_entries++;
    return e;
}

static void entry_free(struct sp_entry *e)
{
    scope_clear(&e->scope);
    free(e->key);
    free(e);
}

/* Unlinks a device from the hash table and its node, and frees it. */
static void device_remove(struct sp_state *st, struct sp_entry *d)
{
    struct sp_entry **pp = &st->buckets[hash_bytes(d->key) & (st->n_buckets - 1)];
    while (*pp && *pp != d)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = d->hnext;
    if (d->prev_dev)
        d->prev_dev->next_dev = d->next_dev;
    else if (d->node)
        d->node->first_dev = d->next_dev;
    if (d->next_dev)
        d->next_dev->prev_dev = d->prev_dev;
    st->n_entries--;
    entry_free(d);
}

static void sparkplug_destroy(void *state)
{
    struct sp_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_buckets; i++) {
        struct sp_entry *e = st->buckets[i];
        while (e) {
            struct sp_entry *next = e->hnext;
            entry_free(e);
            e = next;
        }
    }
    free(st->buckets);
    iocd_adapter_states_free(&st->states);
    free(st->source);
    free(st);
}

/* ---- create ---- */

/* Strict decimal in [lo, hi]. */
static int parse_size(const char *v, size_t lo, size_t hi, size_t *out)
{
    if (!*v)
        return -1;
    size_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (size_t)(*p - '0');
        if (n > hi)
            return -1;
    }
    if (n < lo)
        return -1;
    *out = n;
    return 0;
}

/* The sparkplug format's keys, declared once. */
struct sparkplug_entries {
    struct iocd_ini_entry *device_format, *max_devices, *max_metrics, *rebirth_interval, *states;
};

static const struct iocd_key sparkplug_keys[] = {
    IOCD_ADAPTER_KEY(struct sparkplug_entries, device_format,
                     "device, edge.device or group.edge.device: the device id (default device)"),
    IOCD_ADAPTER_KEY(struct sparkplug_entries, max_devices,
                     "edge nodes plus devices tracked, 1 to 1000000 (default 10000)"),
    IOCD_ADAPTER_KEY(struct sparkplug_entries, max_metrics,
                     "metrics learned from one BIRTH, 1 to 1000000 (default 10000)"),
    IOCD_ADAPTER_KEY(struct sparkplug_entries, rebirth_interval,
                     "ask an edge node to rebirth (NCMD Node Control/Rebirth) when its DATA "
                     "cannot be resolved or skips a seq, at most once per this interval per "
                     "node, up to 1d (default 30s; 0: never ask)"),
    IOCD_ADAPTER_KEY(struct sparkplug_entries, states,
                     "metric ids whose String or Text values are enumerated states, or * for "
                     "every String metric (default: none, String metrics are skipped; "
                     "docs/states.md)"),
};

static int read_config(const struct iocd_adapter_cfg *c, void *state,
                       struct iocd_ini_section *section, const void *entries)
{
    struct sp_state *st = state;
    const struct sparkplug_entries *k = entries;
    const struct iocd_ini *ini = c->ini;
    const char *name = c->section;
    struct iocd_error *err = c->err;
    (void)section;
    struct iocd_ini_entry *fmt = k->device_format, *maxd = k->max_devices,
                          *maxm = k->max_metrics, *reb = k->rebirth_interval;
    st->format = SP_FMT_DEVICE;
    if (fmt) {
        if (strcmp(fmt->value, "device") == 0)
            st->format = SP_FMT_DEVICE;
        else if (strcmp(fmt->value, "edge.device") == 0)
            st->format = SP_FMT_EDGE_DEVICE;
        else if (strcmp(fmt->value, "group.edge.device") == 0)
            st->format = SP_FMT_GROUP_EDGE_DEVICE;
        else
            return iocd_error_at(err, ini->path, fmt->line,
                                 "[adapter %s] device_format: expected device, edge.device or "
                                 "group.edge.device",
                                 name);
    }
    st->max_devices = SP_MAX_DEVICES_DEFAULT;
    if (maxd && parse_size(maxd->value, 1, SP_MAX_DEVICES_LIMIT, &st->max_devices))
        return iocd_error_at(err, ini->path, maxd->line,
                             "[adapter %s] max_devices: expected an integer from 1 to %d", name,
                             SP_MAX_DEVICES_LIMIT);
    st->max_metrics = SP_MAX_METRICS_DEFAULT;
    if (maxm && parse_size(maxm->value, 1, SP_MAX_METRICS_LIMIT, &st->max_metrics))
        return iocd_error_at(err, ini->path, maxm->line,
                             "[adapter %s] max_metrics: expected an integer from 1 to %d", name,
                             SP_MAX_METRICS_LIMIT);
    iocd_duration_parse(SP_REBIRTH_INTERVAL_DEFAULT, &st->rebirth_interval_ms);
    if (reb && (iocd_duration_parse(reb->value, &st->rebirth_interval_ms) ||
                st->rebirth_interval_ms < 0 ||
                st->rebirth_interval_ms > SP_REBIRTH_INTERVAL_MAX_MS))
        return iocd_error_at(err, ini->path, reb->line,
                             "[adapter %s] rebirth_interval: expected a duration from 0 to 1d "
                             "(e.g. 30s)",
                             name);
    return iocd_adapter_states_read(c, k->states, &st->states);
}

static const struct iocd_adapter_spec sparkplug_spec = {
    sparkplug_keys, sizeof(sparkplug_keys) / sizeof(sparkplug_keys[0]),
    sizeof(struct sparkplug_entries),
    sizeof(struct sp_state), offsetof(struct sp_state, source), read_config, sparkplug_destroy,
};

static int sparkplug_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                            const char *source, void **state, struct iocd_error *err)
{
    return iocd_adapter_create(&sparkplug_spec, ini, section, source, state, err);
}

/* ---- checks on names ---- */

/* Why `s[0..n)` cannot be an id (no '/' allowed when `slash` is false),
 * or NULL. */
static const char *id_problem(const char *s, size_t n, bool slash)
{
    if (n == 0)
        return "is empty";
    if (n > SP_MAX_ID)
        return "is longer than 128 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '+' || ch == '#')
            return "contains '+' or '#'";
        if (ch == '/' && !slash)
            return "contains '/'";
        if (ch < 0x20 || ch == 0x7f)
            return "contains a control character";
    }
    if (!iocd_adapter_valid_utf8((const unsigned char *)s, n))
        return "is not valid UTF-8";
    return NULL;
}

/* The metric id of Sparkplug name `name` into out[SP_MAX_ID + 1]: '/'
 * becomes '.', ' ' becomes '_'. Returns NULL, or why it cannot be one. */
static const char *metric_id(const char *name, char *out)
{
    size_t n = strlen(name);
    const char *why = id_problem(name, n, true);
    if (why)
        return why;
    for (size_t i = 0; i < n; i++)
        out[i] = name[i] == '/' ? '.' : name[i] == ' ' ? '_' : name[i];
    out[n] = '\0';
    return NULL;
}

/* Protocol bookkeeping rather than measurements: the bdSeq session counter
 * and the Node/Device Control metrics hosts write to. */
static bool is_control(const char *name)
{
    return strcmp(name, "bdSeq") == 0 || strncmp(name, "Node Control/", 13) == 0 ||
           strncmp(name, "Device Control/", 15) == 0;
}

/* ---- properties ---- */

static const SpPropertyValue *property(const SpPropertySet *ps, const char *key)
{
    if (!ps)
        return NULL;
    size_t n = ps->n_keys < ps->n_values ? ps->n_keys : ps->n_values;
    for (size_t i = 0; i < n; i++)
        if (ps->keys[i] && ps->values[i] && strcmp(ps->keys[i], key) == 0)
            return ps->values[i];
    return NULL;
}

/* The "engUnit" property as a unit, or NULL when absent or unusable. */
static const char *eng_unit(const SpPropertySet *ps)
{
    const SpPropertyValue *v = property(ps, "engUnit");
    if (!v || (v->has_is_null && v->is_null) ||
        v->value_case != IOCD__SPARKPLUG_B__PROPERTY_VALUE__VALUE_STRING_VALUE || !v->string_value)
        return NULL;
    size_t n = strlen(v->string_value);
    if (n > SP_MAX_UNIT || id_problem(v->string_value, n, true))
        return NULL;
    return v->string_value;
}

/* True when the "Quality" property says BAD (0). */
static bool quality_bad(const SpPropertySet *ps)
{
    const SpPropertyValue *v = property(ps, "Quality");
    if (!v || (v->has_is_null && v->is_null))
        return false;
    if (v->value_case == IOCD__SPARKPLUG_B__PROPERTY_VALUE__VALUE_INT_VALUE)
        return v->int_value == 0;
    if (v->value_case == IOCD__SPARKPLUG_B__PROPERTY_VALUE__VALUE_LONG_VALUE)
        return v->long_value == 0;
    return false;
}

/* ---- scopes (metric definitions of one BIRTH) ---- */

/* Metrics dropped from a message: how many, and the first one's reason. */
struct sp_drops {
    size_t n;
    enum iocd_reject first;
    char detail[160];
};

static void drop(struct sp_drops *d, enum iocd_reject r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void drop(struct sp_drops *d, enum iocd_reject r, const char *fmt, ...)
{
    if (d->n++ == 0) {
        d->first = r;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
        va_end(ap);
    }
}

static size_t table_size(size_t n)
{
    size_t s = 16;
    while (s < 2 * n)
        s *= 2;
    return s;
}

static const struct sp_def *scope_by_alias(const struct sp_scope *sc, uint64_t alias)
{
    if (!sc->n)
        return NULL;
    for (size_t k = hash_u64(alias) & sc->mask;; k = (k + 1) & sc->mask) {
        uint32_t i = sc->by_alias[k];
        if (!i)
            return NULL;
        if (sc->defs[i - 1].alias == alias)
            return &sc->defs[i - 1];
    }
}

static const struct sp_def *scope_by_name(const struct sp_scope *sc, const char *name)
{
    if (!sc->n)
        return NULL;
    for (size_t k = hash_bytes(name) & sc->mask;; k = (k + 1) & sc->mask) {
        uint32_t i = sc->by_name[k];
        if (!i)
            return NULL;
        if (strcmp(sc->defs[i - 1].name, name) == 0)
            return &sc->defs[i - 1];
    }
}

/* Bytes of strings remembered for BIRTH metric `m`: its name and metric id
 * when the name can be looked up (at most SP_MAX_ID bytes; *name_len is
 * then its length, else SIZE_MAX), and its unit. */
static size_t def_strings(const SpMetric *m, size_t *name_len, size_t *unit_len)
{
    size_t nl = strlen(m->name);
    *name_len = nl <= SP_MAX_ID ? nl : SIZE_MAX;
    const char *u = eng_unit(m->properties);
    *unit_len = u ? strlen(u) : 0;
    return (nl <= SP_MAX_ID ? (nl + 1) * 2 : 0) + *unit_len + 1;
}

/* Learns the metrics of a BIRTH into `sc` (replacing what it held). The
 * first `max` metrics with a name are learned; oddities go to `drops`.
 * Returns 0, or -1 out of memory (sc is then empty). */

static int scope_learn(struct sp_scope *sc, const SpPayload *p, size_t max, const char *kind,
                       const char *where, struct sp_drops *drops)
{
    scope_clear(sc);
    size_t n = 0, strings = 0;
    for (size_t i = 0; i < p->n_metrics && n < max; i++) {
        const SpMetric *m = p->metrics[i];
        if (!m->name)
            continue;
        size_t nl, ul;
        strings += def_strings(m, &nl, &ul);
        n++;
    }
    size_t named = 0;
    for (size_t i = 0; i < p->n_metrics; i++)
        named += p->metrics[i]->name != NULL;
    if (named > n)
        drop(drops, IOCD_REJECT_SERIES_LIMIT,
             "%s of %s: %zu named metrics, only the first %zu (max_metrics) are learned", kind,
             where, named, max);
    size_t tsize = table_size(n);
    size_t defs_sz = n * sizeof(struct sp_def);
    size_t tab_sz = tsize * sizeof(uint32_t);
    char *mem = malloc(defs_sz + 2 * tab_sz + strings + 1);
    if (!mem)
        return -1;
    sc->mem = mem;
    sc->defs = (struct sp_def *)(void *)mem;
    sc->by_alias = (uint32_t *)(void *)(mem + defs_sz);
    sc->by_name = (uint32_t *)(void *)(mem + defs_sz + tab_sz);
    memset(sc->by_alias, 0, 2 * tab_sz);
    sc->mask = tsize - 1;
    sc->born = true;
    char *s = mem + defs_sz + 2 * tab_sz;
    for (size_t i = 0; i < p->n_metrics && sc->n < n; i++) {
        const SpMetric *m = p->metrics[i];
        if (!m->name)
            continue;
        struct sp_def *d = &sc->defs[sc->n];
        memset(d, 0, sizeof(*d));
        size_t nl, ul;
        def_strings(m, &nl, &ul);
        if (nl != SIZE_MAX) {
            memcpy(s, m->name, nl + 1);
            d->name = s;
            s += nl + 1;
            if (!metric_id(d->name, s))
                d->id = s;
            s += nl + 1;
        }
        const char *u = eng_unit(m->properties);
        memcpy(s, u ? u : "", ul);
        s[ul] = '\0';
        d->unit = s;
        s += ul + 1;
        d->datatype = m->has_datatype ? m->datatype : SP_UNKNOWN;
        d->transient = m->has_is_transient && m->is_transient;
        d->alias = m->alias;
        d->has_alias = m->has_alias;
        uint32_t idx = (uint32_t)(sc->n + 1);
        sc->n++;
        if (d->has_alias) {
            size_t k = hash_u64(d->alias) & sc->mask;
            while (sc->by_alias[k] && sc->defs[sc->by_alias[k] - 1].alias != d->alias)
                k = (k + 1) & sc->mask;
            if (sc->by_alias[k])
                drop(drops, IOCD_REJECT_MALFORMED, "%s of %s: alias %" PRIu64 " given twice", kind,
                     where, d->alias);
            else
                sc->by_alias[k] = idx;
        }
        if (d->name) {
            size_t k = hash_bytes(d->name) & sc->mask;
            while (sc->by_name[k] && strcmp(sc->defs[sc->by_name[k] - 1].name, d->name) != 0)
                k = (k + 1) & sc->mask;
            if (!sc->by_name[k])
                sc->by_name[k] = idx;
        }
    }
    return 0;
}

/* ---- decoding one payload ---- */

/* What one decode works with. */
struct sp_msg {
    struct sp_state *st;
    const struct iocd_message *msg;
    struct iocd_batch *out;
    enum sp_kind kind;
    const char *group, *edge, *device; /* topic levels (arena); device NULL for N* */
    const char *where;                 /* "group/edge[/device]" for details */
    const char *dev_id;                /* the Observation/Event device */
    const char *source;                /* arena copy */
    const SpPayload *p;
    struct sp_drops drops;
    struct sp_entry *node; /* the edge node, once looked up; NULL: not tracked */
    char rebirth_why[160]; /* why the node should rebirth; "" when it need not */
};

static void want_rebirth(struct sp_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void want_rebirth(struct sp_msg *m, const char *fmt, ...)
{
    if (m->rebirth_why[0])
        return; /* the first reason is the one reported */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->rebirth_why, sizeof(m->rebirth_why), fmt, ap);
    va_end(ap);
}

/* protobuf-c allocates through this into the batch's arena; `failed`
 * tells an arena at its limit from a malformed payload. */
struct pb_arena {
    struct iocd_arena *arena;
    bool failed;
};

static void *arena_pb_alloc(void *data, size_t size)
{
    struct pb_arena *a = data;
    void *p = iocd_arena_alloc(a->arena, size ? size : 1);
    if (!p)
        a->failed = true;
    return p;
}

static void arena_pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

static int read_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*i >= n)
            return -1;
        uint8_t b = p[(*i)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* The message types of the schema, for the nesting check. */
enum sp_pb {
    PB_LEAF,
    PB_PAYLOAD,
    PB_METRIC,
    PB_PROPERTYSET,
    PB_PROPERTYVALUE,
    PB_PROPERTYSETLIST,
    PB_DATASET,
    PB_TEMPLATE
};

/* The message type of field `f` of a `t`, when it can hold more messages. */
static enum sp_pb pb_child(enum sp_pb t, uint64_t f)
{
    switch (t) {
    case PB_PAYLOAD:
        return f == 2 ? PB_METRIC : PB_LEAF;
    case PB_METRIC:
        return f == 9 ? PB_PROPERTYSET : f == 17 ? PB_DATASET : f == 18 ? PB_TEMPLATE : PB_LEAF;
    case PB_PROPERTYSET:
        return f == 2 ? PB_PROPERTYVALUE : PB_LEAF;
    case PB_PROPERTYVALUE:
        return f == 9 ? PB_PROPERTYSET : f == 10 ? PB_PROPERTYSETLIST : PB_LEAF;
    case PB_PROPERTYSETLIST:
        return f == 1 ? PB_PROPERTYSET : PB_LEAF;
    case PB_DATASET: /* rows → values: two levels, no further nesting */
        return PB_LEAF;
    case PB_TEMPLATE:
        return f == 2 ? PB_METRIC : PB_LEAF;
    case PB_LEAF:
        break;
    }
    return PB_LEAF;
}

/* Walks the wire format and fails on bad framing or on messages nested
 * deeper than SP_MAX_DEPTH (protobuf-c recurses without a limit, so a
 * payload of nested templates could otherwise exhaust the stack). */
static int pb_check(const uint8_t *p, size_t n, enum sp_pb t, int depth)
{
    if (depth > SP_MAX_DEPTH)
        return -1;
    size_t i = 0;
    while (i < n) {
        uint64_t key, v;
        if (read_varint(p, n, &i, &key))
            return -1;
        uint64_t field = key >> 3;
        if (field == 0 || field > 0x1fffffff)
            return -1;
        switch (key & 7) {
        case 0:
            if (read_varint(p, n, &i, &v))
                return -1;
            break;
        case 1:
            if (n - i < 8)
                return -1;
            i += 8;
            break;
        case 5:
            if (n - i < 4)
                return -1;
            i += 4;
            break;
        case 2: {
            if (read_varint(p, n, &i, &v) || v > n - i)
                return -1;
            enum sp_pb c = pb_child(t, field);
            if (c != PB_LEAF && pb_check(p + i, (size_t)v, c, depth + 1))
                return -1;
            i += (size_t)v;
            break;
        }
        default:
            return -1; /* groups: never used by Sparkplug */
        }
    }
    return 0;
}

/* Splits the topic; fills the kind and ids or returns a reject. */
static enum iocd_reject parse_topic(struct sp_msg *m)
{
    struct iocd_batch *out = m->out;
    const char *topic = m->msg->topic ? m->msg->topic : "";
    char *t = iocd_arena_strdup(out->arena, topic);
    if (!t)
        return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory for the topic");
    char *lv[6];
    size_t n = 0;
    for (char *p = t;;) {
        if (n == 6)
            break;
        lv[n++] = p;
        char *s = strchr(p, '/');
        if (!s)
            break;
        *s = '\0';
        p = s + 1;
    }
    char buf[48];
    if (strcmp(lv[0], SP_NAMESPACE) != 0)
        return iocd_batch_fail(out, IOCD_REJECT_NO_ROUTE,
                               "topic namespace '%s' is not " SP_NAMESPACE " (Sparkplug B)",
                               iocd_adapter_printable(lv[0], buf, sizeof(buf)));
    if (n >= 2 && strcmp(lv[1], "STATE") == 0)
        return iocd_batch_fail(out, IOCD_REJECT_NO_ROUTE,
                               "command/state messages are not ingested");
    if (n >= 3 && (strcmp(lv[2], "NCMD") == 0 || strcmp(lv[2], "DCMD") == 0))
        return iocd_batch_fail(out, IOCD_REJECT_NO_ROUTE,
                               "command/state messages are not ingested");
    if (n < 4 || n > 5)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "topic is not " SP_NAMESPACE "/GROUP/TYPE/EDGE[/DEVICE]");
    size_t k = 0;
    while (k < sizeof(kind_names) / sizeof(kind_names[0]) && strcmp(lv[2], kind_names[k]) != 0)
        k++;
    if (k == sizeof(kind_names) / sizeof(kind_names[0]))
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "topic message type '%s' is not a Sparkplug B type",
                               iocd_adapter_printable(lv[2], buf, sizeof(buf)));
    m->kind = (enum sp_kind)k;
    bool dev = m->kind >= SP_DBIRTH;
    if (dev && n != 5)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "%s topic has no device id level",
                               kind_names[k]);
    if (!dev && n != 4)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "%s topic has a level after the edge node id", kind_names[k]);
    static const char *const level_names[] = {"", "group id", "", "edge node id", "device id"};
    for (size_t i = 1; i < n; i++) {
        if (i == 2)
            continue;
        const char *why = id_problem(lv[i], strlen(lv[i]), false);
        if (why)
            return iocd_batch_fail(out, *lv[i] ? IOCD_REJECT_BAD_ID : IOCD_REJECT_MALFORMED,
                                   "topic %s '%s' %s", level_names[i],
                                   iocd_adapter_printable(lv[i], buf, sizeof(buf)), why);
    }
    m->group = lv[1];
    m->edge = lv[3];
    m->device = dev ? lv[4] : NULL;
    m->where = dev ? iocd_arena_printf(out->arena, "%s/%s/%s", m->group, m->edge, m->device)
                   : iocd_arena_printf(out->arena, "%s/%s", m->group, m->edge);
    const char *d;
    switch (m->st->format) {
    case SP_FMT_EDGE_DEVICE:
        d = dev ? iocd_arena_printf(out->arena, "%s.%s", m->edge, m->device) : m->edge;
        break;
    case SP_FMT_GROUP_EDGE_DEVICE:
        d = dev ? iocd_arena_printf(out->arena, "%s.%s.%s", m->group, m->edge, m->device)
                : iocd_arena_printf(out->arena, "%s.%s", m->group, m->edge);
        break;
    default:
        d = dev ? m->device : m->edge;
        break;
    }
    m->source = iocd_arena_strdup(out->arena, m->st->source);
    if (!m->where || !d || !m->source)
        return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory for the ids");
    if (strlen(d) > SP_MAX_ID)
        return iocd_batch_fail(out, IOCD_REJECT_BAD_ID,
                               "device id '%s' (device_format) is longer than 128 bytes",
                               iocd_adapter_printable(d, buf, sizeof(buf)));
    m->dev_id = d;
    return IOCD_REJECT_NONE;
}

/* The sequence number check for any message but NDEATH of a tracked node. */
static void check_seq(struct sp_msg *m, struct sp_entry *node)
{
    const SpPayload *p = m->p;
    if (!p->has_seq || p->seq > 255) {
        if (p->has_seq && node->have_seq) {
            iocd_batch_note(m->out, IOCD_NOTE_SEQ_GAP,
                            "edge %s/%s: expected seq %u, got %" PRIu64 " (not 0..255)", m->group,
                            m->edge, (unsigned)((node->seq + 1) & 0xff), p->seq);
            want_rebirth(m, "sequence gap: expected seq %u, got %" PRIu64,
                         (unsigned)((node->seq + 1) & 0xff), p->seq);
        }
        node->have_seq = false;
        return;
    }
    unsigned expected = (node->seq + 1u) & 0xffu;
    if (node->have_seq && p->seq != expected) {
        iocd_batch_note(m->out, IOCD_NOTE_SEQ_GAP, "edge %s/%s: expected seq %u, got %u", m->group,
                        m->edge, expected, (unsigned)p->seq);
        want_rebirth(m, "sequence gap: expected seq %u, got %u", expected, (unsigned)p->seq);
    }
    node->seq = (uint8_t)p->seq;
    node->have_seq = true;
}

/* How the value of one metric turned out. */
enum sp_value { SP_VALUE_OK, SP_VALUE_SKIP, SP_VALUE_WRONG, SP_VALUE_RANGE, SP_VALUE_NOT_FINITE };

/* The raw integer of a metric and the width of the field it came in. */
static bool int_raw(const SpMetric *m, uint64_t *u, unsigned *bits)
{
    if (m->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_INT_VALUE) {
        *u = m->int_value;
        *bits = 32;
        return true;
    }
    if (m->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_LONG_VALUE) {
        *u = m->long_value;
        *bits = 64;
        return true;
    }
    return false;
}

/* A signed `w`-bit integer sent as the unsigned bit pattern `u` of a
 * `f`-bit field: either the w-bit pattern (0xFF for Int8 -1) or its sign
 * extension to the field (0xFFFFFFFF for Int8 -1). A field narrower than
 * the type holds the value sign-extended from the field's width. */
static int signed_value(uint64_t u, unsigned f, unsigned w, int64_t *out)
{
    uint64_t fmax = f == 64 ? UINT64_MAX : UINT64_C(0xffffffff);
    if (w >= f) {
        uint64_t half = (fmax >> 1) + 1; /* 2^(f-1) */
        *out = u < half ? (int64_t)u : -(int64_t)(fmax - u) - 1;
        return 0;
    }
    uint64_t lim = UINT64_C(1) << w; /* w ≤ 32 < f */
    if (u < lim) {
        *out = u >= lim / 2 ? (int64_t)u - (int64_t)lim : (int64_t)u;
        return 0;
    }
    if (u >= fmax - lim / 2 + 1) {
        *out = -(int64_t)(fmax - u) - 1;
        return 0;
    }
    return -1;
}

static unsigned type_bits(uint32_t dt)
{
    switch (dt) {
    case SP_INT8:
    case SP_UINT8:
        return 8;
    case SP_INT16:
    case SP_UINT16:
        return 16;
    case SP_INT32:
    case SP_UINT32:
        return 32;
    default:
        return 64;
    }
}

/* The numeric value of metric `m` of datatype `dt`. */
static enum sp_value metric_value(const SpMetric *m, uint32_t dt, double *v)
{
    uint64_t u;
    unsigned bits;
    switch (dt) {
    case SP_INT8:
    case SP_INT16:
    case SP_INT32:
    case SP_INT64: {
        int64_t s;
        if (!int_raw(m, &u, &bits))
            return SP_VALUE_WRONG;
        if (signed_value(u, bits, type_bits(dt), &s))
            return SP_VALUE_RANGE;
        *v = (double)s;
        return SP_VALUE_OK;
    }
    case SP_UINT8:
    case SP_UINT16:
    case SP_UINT32:
    case SP_UINT64:
        if (!int_raw(m, &u, &bits))
            return SP_VALUE_WRONG;
        if (type_bits(dt) < 64 && u >> type_bits(dt))
            return SP_VALUE_RANGE;
        *v = (double)u;
        return SP_VALUE_OK;
    case SP_FLOAT:
    case SP_DOUBLE:
    case SP_UNKNOWN:
        if (m->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_FLOAT_VALUE)
            *v = m->float_value;
        else if (m->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_DOUBLE_VALUE)
            *v = m->double_value;
        else if (m->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_BOOLEAN_VALUE &&
                 dt == SP_UNKNOWN)
            *v = m->boolean_value ? 1 : 0;
        else if (dt == SP_UNKNOWN && int_raw(m, &u, &bits))
            return SP_VALUE_WRONG; /* an integer of unknown signedness */
        else if (dt == SP_UNKNOWN)
            return SP_VALUE_SKIP;
        else
            return SP_VALUE_WRONG;
        return isfinite(*v) ? SP_VALUE_OK : SP_VALUE_NOT_FINITE;
    case SP_BOOLEAN:
        if (m->value_case != IOCD__SPARKPLUG_B__METRIC__VALUE_BOOLEAN_VALUE)
            return SP_VALUE_WRONG;
        *v = m->boolean_value ? 1 : 0;
        return SP_VALUE_OK;
    default: /* DateTime, strings, bytes, DataSet, Template, arrays, unknown */
        return SP_VALUE_SKIP;
    }
}

static const char *datatype_name(uint32_t dt)
{
    static const char *const names[] = {"Unknown", "Int8",    "Int16",  "Int32",  "Int64",
                                        "UInt8",   "UInt16",  "UInt32", "UInt64", "Float",
                                        "Double",  "Boolean", "String"};
    return dt < sizeof(names) / sizeof(names[0]) ? names[dt] : "?";
}

/* "'Inputs/A'" or "alias 7" into buf[48], for details. */
static const char *metric_label(const SpMetric *pm, const char *name, char *buf)
{
    char tmp[40];
    if (name)
        snprintf(buf, 48, "'%s'", iocd_adapter_printable(name, tmp, sizeof(tmp)));
    else
        snprintf(buf, 48, "alias %" PRIu64, pm->alias);
    return buf;
}

/* Turns payload metric `pm` into an Observation, or drops or skips it.
 * `scope_owner` is the node or device whose BIRTH definitions resolve
 * DATA metrics (NULL for BIRTH messages and untracked ones). Returns -1
 * only when out of memory. */
static int emit_metric(struct sp_msg *m, const SpMetric *pm, const struct sp_entry *scope_owner)
{
    const struct sp_scope *sc = scope_owner ? &scope_owner->scope : NULL;
    const struct sp_def *def = NULL;
    const char *name = pm->name;
    bool birth = m->kind == SP_NBIRTH || m->kind == SP_DBIRTH;
    if (name) {
        if (sc && sc->born && !birth && strlen(name) <= SP_MAX_ID)
            def = scope_by_name(sc, name);
    } else if (birth) {
        drop(&m->drops, IOCD_REJECT_MISSING_FIELD, "a metric of %s %s has no name",
             kind_names[m->kind], m->where);
        return 0;
    } else if (pm->has_alias) {
        if (sc && sc->born)
            def = scope_by_alias(sc, pm->alias);
        if (!def) {
            if (sc && sc->born) {
                drop(&m->drops, IOCD_REJECT_MISSING_FIELD,
                     "alias %" PRIu64 " unknown: not in the %s of %s", pm->alias,
                     m->device ? "DBIRTH" : "NBIRTH", m->where);
                want_rebirth(m, "alias %" PRIu64 " unknown: not in the %s of %s", pm->alias,
                             m->device ? "DBIRTH" : "NBIRTH", m->where);
            } else {
                drop(&m->drops, IOCD_REJECT_MISSING_FIELD,
                     "alias %" PRIu64 " unknown: no BIRTH seen for %s", pm->alias, m->where);
                want_rebirth(m, "alias %" PRIu64 " unknown: no BIRTH seen for %s", pm->alias,
                             m->where);
            }
            return 0;
        }
        name = def->name;
    } else {
        drop(&m->drops, IOCD_REJECT_MISSING_FIELD, "a metric of %s has neither name nor alias",
             m->where);
        return 0;
    }
    if (pm->has_is_null && pm->is_null)
        return 0;
    if ((pm->has_is_transient && pm->is_transient) || (def && def->transient))
        return 0;
    if (name && is_control(name))
        return 0;
    uint32_t dt = pm->has_datatype ? pm->datatype : def ? def->datatype : SP_UNKNOWN;
    double v = 0;
    /* A String or Text value may be a state (docs/states.md), decided by
     * the metric id below; otherwise it is skipped as before. */
    const char *state = (dt == SP_STRING || dt == SP_TEXT) &&
                                pm->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_STRING_VALUE
                            ? pm->string_value
                            : NULL;
    enum sp_value r = state ? SP_VALUE_OK : metric_value(pm, dt, &v);
    if (r == SP_VALUE_SKIP)
        return 0;
    char lb[48];
    if (r == SP_VALUE_WRONG) {
        const char *label = metric_label(pm, name, lb);
        if (dt == SP_UNKNOWN)
            drop(&m->drops, IOCD_REJECT_WRONG_TYPE,
                 "%s of %s: integer value without a datatype (signedness unknown)", label,
                 m->where);
        else
            drop(&m->drops, IOCD_REJECT_WRONG_TYPE,
                 "%s of %s: datatype %s but the value is not in a field for it", label, m->where,
                 datatype_name(dt));
        return 0;
    }
    if (r == SP_VALUE_RANGE) {
        drop(&m->drops, IOCD_REJECT_WRONG_TYPE, "%s of %s: value out of range for %s",
             metric_label(pm, name, lb), m->where, datatype_name(dt));
        return 0;
    }
    if (r == SP_VALUE_NOT_FINITE) {
        drop(&m->drops, IOCD_REJECT_NOT_FINITE, "%s of %s: value is %s", metric_label(pm, name, lb),
             m->where, isnan(v) ? "NaN" : "infinite");
        return 0;
    }
    /* The metric id. */
    char idbuf[SP_MAX_ID + 1];
    const char *id = def ? def->id : NULL;
    if (!id) {
        /* no name here: the BIRTH's was too long to keep */
        const char *why = name ? metric_id(name, idbuf) : "is longer than 128 bytes";
        if (why) {
            drop(&m->drops, IOCD_REJECT_BAD_ID, "%s of %s: metric name %s",
                 metric_label(pm, name, lb), m->where, why);
            return 0;
        }
        id = idbuf;
    }
    if (state && !iocd_adapter_states_has(&m->st->states, id))
        return 0;
    /* The time. */
    uint64_t t = pm->has_timestamp     ? pm->timestamp
                 : m->p->has_timestamp ? m->p->timestamp
                                       : (uint64_t)m->msg->received_ms;
    if (t > (uint64_t)IOCD_TIME_MAX_MS) {
        drop(&m->drops, IOCD_REJECT_BAD_TIME, "%s of %s: timestamp %" PRIu64 " out of range",
             metric_label(pm, name, lb), m->where, t);
        return 0;
    }
    const char *unit = eng_unit(pm->properties);
    if (!unit)
        unit = def ? def->unit : "";
    Ioc__V1__Observation *o = iocd_batch_add_observation(m->out);
    if (!o)
        return -1;
    o->source = (char *)m->source;
    o->device = (char *)m->dev_id;
    o->metric = iocd_arena_strdup(m->out->arena, id);
    o->unit = iocd_arena_strdup(m->out->arena, unit);
    if (!o->metric || !o->unit)
        return -1;
    o->value = v;
    if (state && !(o->state = iocd_arena_strdup(m->out->arena, state)))
        return -1;
    o->observed_ms = (int64_t)t;
    o->received_ms = m->msg->received_ms;
    o->quality = quality_bad(pm->properties) ? IOC__V1__QUALITY__QUALITY_INVALID
                                             : IOC__V1__QUALITY__QUALITY_GOOD;
    return 0;
}

/* A device_online / device_offline event for `device` of this message's
 * edge node (NULL: the node itself) whose Event device is `dev_id`;
 * `why` ends the text (may be ""). */
static int emit_event_for(struct sp_msg *m, bool online, int64_t time_ms, const char *device,
                          const char *dev_id, const char *why)
{
    Ioc__V1__Event *e = iocd_batch_add_event(m->out);
    if (!e)
        return -1;
    e->kind = online ? "device_online" : "device_offline";
    e->severity = online ? IOC__V1__SEVERITY__SEVERITY_INFO : IOC__V1__SEVERITY__SEVERITY_WARNING;
    e->text = device ? iocd_arena_printf(m->out->arena, "device %s/%s/%s %s%s", m->group, m->edge,
                                         device, online ? "online" : "offline", why)
                     : iocd_arena_printf(m->out->arena, "edge node %s/%s %s%s", m->group, m->edge,
                                         online ? "online" : "offline", why);
    e->device = (char *)dev_id;
    e->source = (char *)m->source;
    e->time_ms = time_ms;
    e->received_ms = m->msg->received_ms;
    if (!e->text || iocd_event_add_attribute(m->out, e, "group", m->group) ||
        iocd_event_add_attribute(m->out, e, "edge_node", m->edge) ||
        (device && iocd_event_add_attribute(m->out, e, "device", device)))
        return -1;
    return 0;
}

/* The event for this message's node or device. */
static int emit_event(struct sp_msg *m, bool online, int64_t time_ms)
{
    return emit_event_for(m, online, time_ms, m->device, m->dev_id, "");
}

/* The Observation/Event device of `device` of this message's node, per
 * device_format (arena), or NULL when out of memory. */
static const char *device_id_of(struct sp_msg *m, const char *device)
{
    switch (m->st->format) {
    case SP_FMT_EDGE_DEVICE:
        return iocd_arena_printf(m->out->arena, "%s.%s", m->edge, device);
    case SP_FMT_GROUP_EDGE_DEVICE:
        return iocd_arena_printf(m->out->arena, "%s.%s.%s", m->group, m->edge, device);
    default:
        return iocd_arena_strdup(m->out->arena, device);
    }
}

static enum iocd_reject no_memory(struct iocd_batch *out)
{
    out->n_obs = 0;
    out->n_events = 0;
    return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY,
                           "decode needs more memory than the arena allows");
}

static char *key_of(struct sp_msg *m, bool device)
{
    return device ? iocd_arena_printf(m->out->arena, "%s/%s/%s", m->group, m->edge, m->device)
                  : iocd_arena_printf(m->out->arena, "%s/%s", m->group, m->edge);
}

/* Finds the edge node, creating it when `create`; sets *limit when it
 * would be one entry too many. */
static struct sp_entry *node_get(struct sp_msg *m, bool create, size_t extra, bool *limit,
                                 bool *nomem)
{
    char *key = key_of(m, false);
    if (!key) {
        *nomem = true;
        return NULL;
    }
    struct sp_entry *n = entry_find(m->st, key);
    if (n || !create)
        return n;
    if (m->st->n_entries + 1 + extra > m->st->max_devices) {
        *limit = true;
        return NULL;
    }
    n = entry_add(m->st, key);
    if (!n)
        *nomem = true;
    return n;
}

static enum iocd_reject limit_reject(struct sp_msg *m)
{
    return iocd_batch_fail(m->out, IOCD_REJECT_SERIES_LIMIT,
                           "%s %s: already tracking %zu edge nodes and devices (max_devices)",
                           m->device ? "device" : "edge node", m->where, m->st->n_entries);
}

/* After the metrics: accept, note a partial decode, or reject. */
static enum iocd_reject finish(struct sp_msg *m)
{
    struct iocd_batch *out = m->out;
    if (out->n_obs == 0 && out->n_events == 0) {
        if (m->drops.n)
            return iocd_batch_fail(out, m->drops.first, "%s", m->drops.detail);
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                               "%s of %s has no numeric metric value", kind_names[m->kind],
                               m->where);
    }
    if (m->drops.n == 1)
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "%s", m->drops.detail);
    else if (m->drops.n > 1)
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "%s (and %zu more metrics dropped)",
                        m->drops.detail, m->drops.n - 1);
    return IOCD_REJECT_NONE;
}

static enum iocd_reject bad_time_reject(struct sp_msg *m)
{
    return iocd_batch_fail(m->out, IOCD_REJECT_BAD_TIME,
                           "%s of %s: payload timestamp %" PRIu64 " out of range",
                           kind_names[m->kind], m->where, m->p->timestamp);
}

/* A BIRTH's metrics: learnt into `scope` (names, aliases, types, units),
 * then the online event and an observation per metric. */
static enum iocd_reject birth_emit(struct sp_msg *m, struct sp_scope *scope, const char *kind,
                                   int64_t msg_ms)
{
    const SpPayload *p = m->p;
    if (scope_learn(scope, p, m->st->max_metrics, kind, m->where, &m->drops))
        return no_memory(m->out);
    if (emit_event(m, true, msg_ms))
        return no_memory(m->out);
    for (size_t i = 0; i < p->n_metrics; i++)
        if (emit_metric(m, p->metrics[i], NULL))
            return no_memory(m->out);
    return finish(m);
}

/* ---- Rebirth requests ---- */

/* The NCMD payload of a Rebirth request sent at `t_ms` (Sparkplug 3.0,
 * "Rebirth Request"): payload timestamp t, no seq, one metric
 * "Node Control/Rebirth" of datatype Boolean, value true, timestamp t.
 * Packed into `a`; NULL when out of memory. */
static uint8_t *rebirth_payload(struct iocd_arena *a, uint64_t t_ms, size_t *len)
{
    SpMetric metric = IOCD__SPARKPLUG_B__METRIC__INIT;
    metric.name = (char *)SP_REBIRTH_METRIC;
    metric.has_timestamp = 1;
    metric.timestamp = t_ms;
    metric.has_datatype = 1;
    metric.datatype = SP_BOOLEAN;
    metric.value_case = IOCD__SPARKPLUG_B__METRIC__VALUE_BOOLEAN_VALUE;
    metric.boolean_value = 1;
    SpMetric *metrics[1] = {&metric};
    SpPayload p = IOCD__SPARKPLUG_B__PAYLOAD__INIT;
    p.has_timestamp = 1;
    p.timestamp = t_ms;
    p.n_metrics = 1;
    p.metrics = metrics;
    *len = iocd__sparkplug_b__payload__get_packed_size(&p);
    uint8_t *buf = iocd_arena_alloc(a, *len);
    if (buf)
        iocd__sparkplug_b__payload__pack(&p, buf);
    return buf;
}

/* When this message gave a reason (m->rebirth_why), asks its edge node to
 * rebirth: an NCMD on spBv1.0/GROUP/NCMD/EDGE, QoS 0, not retained, as a
 * command of the batch. Not when requests are off (rebirth_interval 0);
 * noted rebirth_limited instead when the node could not be tracked, was
 * asked less than rebirth_interval ago (receive time), or the adapter has
 * already asked SP_REBIRTH_PER_SECOND nodes in this second. */
static void request_rebirth(struct sp_msg *m)
{
    struct sp_state *st = m->st;
    struct sp_entry *node = m->node;
    int64_t now = m->msg->received_ms;
    if (!m->rebirth_why[0] || st->rebirth_interval_ms == 0)
        return;
    if (!node) {
        iocd_batch_note(m->out, IOCD_NOTE_REBIRTH_LIMITED,
                        "no Rebirth requested from %s/%s (%s): already tracking %zu edge nodes and "
                        "devices (max_devices)",
                        m->group, m->edge, m->rebirth_why, st->n_entries);
        return;
    }
    if (node->asked && now >= node->asked_ms && now - node->asked_ms < st->rebirth_interval_ms) {
        iocd_batch_note(m->out, IOCD_NOTE_REBIRTH_LIMITED,
                        "no Rebirth requested from %s/%s (%s): asked %" PRId64
                        " ms ago (rebirth_interval)",
                        m->group, m->edge, m->rebirth_why, now - node->asked_ms);
        return;
    }
    int64_t second = now / 1000;
    if (second != st->rebirth_second) {
        st->rebirth_second = second;
        st->rebirth_in_second = 0;
    }
    if (st->rebirth_in_second >= SP_REBIRTH_PER_SECOND) {
        iocd_batch_note(m->out, IOCD_NOTE_REBIRTH_LIMITED,
                        "no Rebirth requested from %s/%s (%s): %d requests in this second already",
                        m->group, m->edge, m->rebirth_why, SP_REBIRTH_PER_SECOND);
        return;
    }
    size_t len = 0;
    uint8_t *payload = rebirth_payload(m->out->arena, (uint64_t)now, &len);
    char *topic = iocd_arena_printf(m->out->arena, SP_NAMESPACE "/%s/NCMD/%s", m->group, m->edge);
    char *why = iocd_arena_printf(m->out->arena, "Rebirth request to %s/%s: %s", m->group,
                                  m->edge, m->rebirth_why);
    if (!payload || !topic || !why ||
        iocd_batch_add_command(m->out, topic, payload, len, 0, false, why)) {
        iocd_batch_note(m->out, IOCD_NOTE_REBIRTH_LIMITED,
                        "no Rebirth requested from %s/%s (%s): out of memory", m->group, m->edge,
                        m->rebirth_why);
        return;
    }
    node->asked = true;
    node->asked_ms = now;
    st->rebirth_in_second++;
}

/* ---- message types ---- */

/* The bdSeq metric of a BIRTH or DEATH payload. */
static bool payload_bdseq(const SpPayload *p, uint64_t *out)
{
    for (size_t i = 0; i < p->n_metrics; i++) {
        const SpMetric *pm = p->metrics[i];
        if (!pm->name || strcmp(pm->name, "bdSeq") != 0)
            continue;
        if (pm->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_LONG_VALUE)
            *out = pm->long_value;
        else if (pm->value_case == IOCD__SPARKPLUG_B__METRIC__VALUE_INT_VALUE)
            *out = pm->int_value;
        else
            return false;
        return true;
    }
    return false;
}

/* The message's edge node; one not tracked yet is tracked from now on
 * (tracked_only). NULL when max_devices entries are tracked already. */
static struct sp_entry *track_node(struct sp_msg *m, bool *nomem)
{
    bool limit = false;
    struct sp_entry *n = node_get(m, false, 0, &limit, nomem);
    if (n || *nomem)
        return n;
    n = node_get(m, true, 0, &limit, nomem);
    if (n)
        n->tracked_only = true;
    return n;
}

/* A new device entry `key` of `node`, or NULL when max_devices entries are
 * tracked (*nomem false) or out of memory (*nomem true). */
static struct sp_entry *device_add(struct sp_state *st, struct sp_entry *node, const char *key,
                                   bool *nomem)
{
    if (st->n_entries >= st->max_devices)
        return NULL;
    struct sp_entry *dev = entry_add(st, key);
    if (!dev) {
        *nomem = true;
        return NULL;
    }
    dev->node = node;
    dev->next_dev = node->first_dev;
    if (node->first_dev)
        node->first_dev->prev_dev = dev;
    node->first_dev = dev;
    return dev;
}

/* A node's reasons to rebirth that need no payload: never born, or dead. */
static void check_born(struct sp_msg *m, const struct sp_entry *node)
{
    if (!node || !node->scope.born)
        want_rebirth(m, "%s without an NBIRTH seen for %s/%s", kind_names[m->kind], m->group,
                     m->edge);
    else if (node->dead)
        want_rebirth(m, "%s after the NDEATH of %s/%s, without an NBIRTH since",
                     kind_names[m->kind], m->group, m->edge);
}

/* NDEATH: no seq; the will message's timestamp is from when it was set
 * (the connect), so the receive time says when the node died. The node and
 * every device of it the adapter knows go offline, unless the bdSeq says
 * the death is from an earlier session (a will delivered late). */
static enum iocd_reject decode_ndeath(struct sp_msg *m)
{
    bool limit = false, nomem = false;
    struct sp_entry *node = node_get(m, false, 0, &limit, &nomem);
    if (nomem)
        return no_memory(m->out);
    uint64_t bdseq;
    if (node && node->have_bdseq && payload_bdseq(m->p, &bdseq) && bdseq != node->bdseq)
        return iocd_batch_fail(m->out, IOCD_REJECT_STALE,
                               "NDEATH of %s: bdSeq %" PRIu64 " is not the %" PRIu64
                               " of its NBIRTH (a death from an earlier session); ignored",
                               m->where, bdseq, node->bdseq);
    if (emit_event(m, false, m->msg->received_ms))
        return no_memory(m->out);
    if (!node)
        return IOCD_REJECT_NONE;
    node->have_seq = false;
    node->dead = true;
    size_t prefix = strlen(m->group) + 1 + strlen(m->edge) + 1; /* "group/edge/" */
    for (struct sp_entry *d = node->first_dev; d; d = d->next_dev) {
        if (d->dead)
            continue; /* its DDEATH said so already */
        d->dead = true;
        const char *device = d->key + prefix;
        const char *dev_id = device_id_of(m, device);
        if (!dev_id || emit_event_for(m, false, m->msg->received_ms, device, dev_id,
                                      " (NDEATH of its edge node)"))
            return no_memory(m->out);
    }
    return IOCD_REJECT_NONE;
}

static enum iocd_reject decode_nbirth(struct sp_msg *m, bool bad_time, int64_t msg_ms)
{
    struct sp_state *st = m->st;
    const SpPayload *p = m->p;
    bool limit = false, nomem = false;
    if (bad_time)
        return bad_time_reject(m);
    struct sp_entry *node = node_get(m, true, 0, &limit, &nomem);
    if (nomem)
        return no_memory(m->out);
    if (limit)
        return limit_reject(m);
    m->node = node;
    while (node->first_dev) /* a rebirth: the devices are born again too */
        device_remove(st, node->first_dev);
    node->have_seq = false;
    if (p->has_seq && p->seq <= 255) {
        node->seq = (uint8_t)p->seq;
        node->have_seq = true;
    }
    node->tracked_only = false;
    node->dead = false;
    node->have_bdseq = payload_bdseq(p, &node->bdseq);
    return birth_emit(m, &node->scope, "NBIRTH", msg_ms);
}

static enum iocd_reject decode_dbirth(struct sp_msg *m, bool bad_time, int64_t msg_ms)
{
    struct sp_state *st = m->st;
    const SpPayload *p = m->p;
    bool limit = false, nomem = false;
    struct sp_entry *node = node_get(m, false, 0, &limit, &nomem);
    if (nomem)
        return no_memory(m->out);
    m->node = node;
    if (node && !node->tracked_only)
        check_seq(m, node);
    check_born(m, node);
    if (bad_time)
        return bad_time_reject(m);
    char *key = key_of(m, true);
    if (!key)
        return no_memory(m->out);
    struct sp_entry *dev = node ? entry_find(st, key) : NULL;
    if (!dev && !node) {
        node = node_get(m, true, 1, &limit, &nomem);
        if (nomem)
            return no_memory(m->out);
        if (limit)
            return limit_reject(m);
        m->node = node;
        node->tracked_only = true;
    }
    if (node->tracked_only) { /* the sequence starts here */
        node->tracked_only = false;
        node->have_seq = false;
        if (p->has_seq && p->seq <= 255) {
            node->seq = (uint8_t)p->seq;
            node->have_seq = true;
        }
    }
    if (!dev) {
        dev = device_add(st, node, key, &nomem);
        if (nomem)
            return no_memory(m->out);
        if (!dev)
            return limit_reject(m);
    }
    dev->dead = false;
    return birth_emit(m, &dev->scope, "DBIRTH", msg_ms);
}

/* NDATA, DDATA and DDEATH. */
static enum iocd_reject decode_data(struct sp_msg *m, bool bad_time, int64_t msg_ms)
{
    const SpPayload *p = m->p;
    bool nomem = false;
    struct sp_entry *node = track_node(m, &nomem);
    if (nomem)
        return no_memory(m->out);
    m->node = node;
    if (node && !node->tracked_only)
        check_seq(m, node);
    check_born(m, node);
    if (bad_time)
        return bad_time_reject(m);
    struct sp_entry *owner = node;
    if (m->device) {
        char *key = key_of(m, true);
        if (!key)
            return no_memory(m->out);
        owner = node ? entry_find(m->st, key) : NULL;
        if (!owner && node && m->kind == SP_DDATA) {
            owner = device_add(m->st, node, key, &nomem); /* NDEATH reaches it */
            if (nomem)
                return no_memory(m->out);
        }
        if (owner)
            owner->dead = m->kind == SP_DDEATH;
        if (m->kind == SP_DDATA && (!owner || !owner->scope.born))
            want_rebirth(m, "DDATA without a DBIRTH seen for %s", m->where);
    }
    if (m->kind == SP_DDEATH) {
        if (emit_event(m, false, msg_ms))
            return no_memory(m->out);
        return IOCD_REJECT_NONE;
    }
    for (size_t i = 0; i < p->n_metrics; i++)
        if (emit_metric(m, p->metrics[i], owner))
            return no_memory(m->out);
    return finish(m);
}

static enum iocd_reject decode_payload(struct sp_msg *m)
{
    const SpPayload *p = m->p;
    int64_t msg_ms = p->has_timestamp ? (int64_t)p->timestamp : m->msg->received_ms;

    /* Checked after the sequence number: a message with a broken clock
     * still came in sequence. */
    bool bad_time = p->has_timestamp && p->timestamp > (uint64_t)IOCD_TIME_MAX_MS;

    enum iocd_reject r;
    switch (m->kind) {
    case SP_NDEATH:
        return decode_ndeath(m);
    case SP_NBIRTH:
        return decode_nbirth(m, bad_time, msg_ms);
    case SP_DBIRTH:
        r = decode_dbirth(m, bad_time, msg_ms);
        break;
    case SP_NDATA:
    case SP_DDATA:
    case SP_DDEATH:
        r = decode_data(m, bad_time, msg_ms);
        break;
    default:
        return iocd_batch_fail(m->out, IOCD_REJECT_MALFORMED, "unknown message type");
    }
    request_rebirth(m);
    return r;
}

static enum iocd_reject sparkplug_decode(void *state, const struct iocd_message *msg,
                                         struct iocd_batch *out)
{
    struct sp_msg m;
    memset(&m, 0, sizeof(m));
    m.st = state;
    m.msg = msg;
    m.out = out;
    enum iocd_reject r = parse_topic(&m);
    if (r != IOCD_REJECT_NONE)
        return r;
    const uint8_t *data = msg->payload ? msg->payload : (const uint8_t *)"";
    size_t len = msg->payload ? msg->len : 0;
    if (pb_check(data, len, PB_PAYLOAD, 0))
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "%s of %s: not a Sparkplug B protobuf payload (bad framing or "
                               "nested deeper than %d)",
                               kind_names[m.kind], m.where, SP_MAX_DEPTH);
    struct pb_arena pa = {out->arena, false};
    ProtobufCAllocator alloc = {arena_pb_alloc, arena_pb_free, &pa};
    m.p = iocd__sparkplug_b__payload__unpack(&alloc, len, data);
    if (!m.p && pa.failed)
        return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY,
                               "%s of %s: unpacking %zu bytes needs more memory than the arena "
                               "allows",
                               kind_names[m.kind], m.where, len);
    if (!m.p)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "%s of %s: not a Sparkplug B protobuf payload", kind_names[m.kind],
                               m.where);
    return decode_payload(&m);
}

const struct iocd_adapter_ops iocd_adapter_sparkplug = {
    .name = "sparkplug",
    .keys = sparkplug_keys,
    .n_keys = sizeof(sparkplug_keys) / sizeof(sparkplug_keys[0]),
    .create = sparkplug_create,
    .decode = sparkplug_decode,
    .destroy = sparkplug_destroy,
};
