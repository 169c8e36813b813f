/* adapters/senml.c — the `senml` adapter: RFC 8428 Sensor Measurement
 * Lists, JSON (application/senml+json) and CBOR (application/senml+cbor),
 * resolved per RFC 8428 §4.6 and mapped to ioc.v1 (see docs/adapters.md (senml)).
 *
 * Owns: struct senml_state (encoding, device rule, source name), built by
 * create() and freed by destroy(). decode() parses one pack — JSON with
 * cJSON (tree freed before returning), CBOR with the small in-place reader
 * below (no allocation; every declared length is checked against the bytes
 * left) — resolves its records one by one against the running base fields,
 * and puts every string it produces into the batch's arena.
 *
 * A message is rejected whole when it is not a well-formed pack (syntax,
 * a field of the wrong type, a version above 10, a '_' field we cannot
 * understand); a record whose resolved name, time, value or ids are
 * unusable is dropped with a `partial` note; when no record is left the
 * message is rejected with the first dropped record's reason. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/common.h"
#include "daemon/base/timeutil.h"

#define SENML_MAX_ID 128        /* bytes, device and metric (the pipeline's limit) */
#define SENML_MAX_UNIT 64       /* bytes */
#define SENML_MAX_TOPIC_LEVEL 255
#define SENML_MAX_VERSION 10    /* the version RFC 8428 defines */
#define SENML_CBOR_MAX_DEPTH 64 /* nesting of arrays, maps and tags */
#define SENML_REL_LIMIT 268435456.0 /* 2**28: smaller resolved times are relative */
#define SENML_EVENT_KIND "senml.value"

enum senml_encoding { ENC_AUTO = 0, ENC_JSON, ENC_CBOR };

struct senml_state {
    char *source; /* owned */
    enum senml_encoding encoding;
    int device_level;   /* topic[N] for every record; -1: device from the name */
    int fallback_level; /* topic[N] when a name has no separator; -1: drop the record */
    struct iocd_adapter_states states; /* states = ...: vs of these metrics are states; owned */
};

static void senml_destroy(void *state)
{
    struct senml_state *st = state;
    if (!st)
        return;
    iocd_adapter_states_free(&st->states);
    free(st->source);
    free(st);
}

/* ---- create ---- */

static int cfg_fail(const struct iocd_ini *ini, const char *section,
                    const struct iocd_ini_entry *e, struct iocd_error *err, const char *what)
{
    return iocd_error_at(err, ini->path, e->line, "[adapter %s] %s: %s", section, e->key, what);
}

/* The senml format's keys, declared once. */
struct senml_entries {
    struct iocd_ini_entry *encoding, *device, *device_fallback, *states;
};

static const struct iocd_key senml_keys[] = {
    IOCD_ADAPTER_KEY(struct senml_entries, encoding,
                     "auto, json or cbor (default auto)"),
    IOCD_ADAPTER_KEY(struct senml_entries, device,
                     "name (from each record's resolved name) or topic[N] (default name)"),
    IOCD_ADAPTER_KEY(struct senml_entries, device_fallback,
                     "with device = name: topic[N], the device of records whose name cannot be "
                     "split"),
    IOCD_ADAPTER_KEY(struct senml_entries, states,
                     "metric names whose vs (string) values are enumerated states instead of "
                     "senml.value events, or * for every vs (default: none; docs/states.md)"),
};

static int read_config(const struct iocd_adapter_cfg *c, void *state,
                       struct iocd_ini_section *section, const void *entries)
{
    struct senml_state *st = state;
    const struct senml_entries *k = entries;
    const struct iocd_ini *ini = c->ini;
    const char *name = c->section;
    struct iocd_error *err = c->err;
    (void)section;
    struct iocd_ini_entry *encoding = k->encoding, *device = k->device,
                          *fallback = k->device_fallback;
    st->encoding = ENC_AUTO;
    if (encoding) {
        if (strcmp(encoding->value, "auto") == 0)
            st->encoding = ENC_AUTO;
        else if (strcmp(encoding->value, "json") == 0)
            st->encoding = ENC_JSON;
        else if (strcmp(encoding->value, "cbor") == 0)
            st->encoding = ENC_CBOR;
        else
            return cfg_fail(ini, name, encoding, err, "expected auto, json or cbor");
    }

    st->device_level = -1;
    if (device && strcmp(device->value, "name") != 0 &&
        iocd_adapter_parse_topic_level(device->value, SENML_MAX_TOPIC_LEVEL, &st->device_level) != 1)
        return cfg_fail(ini, name, device, err,
                        "expected name, or topic[N] with N a topic level from 0 to 255");

    st->fallback_level = -1;
    if (fallback) {
        if (st->device_level >= 0)
            return cfg_fail(ini, name, fallback, err,
                            "has no effect with device = topic[N] (only with device = name)");
        if (iocd_adapter_parse_topic_level(fallback->value, SENML_MAX_TOPIC_LEVEL, &st->fallback_level) != 1)
            return cfg_fail(ini, name, fallback, err,
                            "expected topic[N] with N a topic level from 0 to 255");
    }
    return iocd_adapter_states_read(c, k->states, &st->states);
}

static const struct iocd_adapter_spec senml_spec = {
    senml_keys, sizeof(senml_keys) / sizeof(senml_keys[0]), sizeof(struct senml_entries),
    sizeof(struct senml_state), offsetof(struct senml_state, source), read_config, senml_destroy,
};

static int senml_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                        const char *source, void **state, struct iocd_error *err)
{
    return iocd_adapter_create(&senml_spec, ini, section, source, state, err);
}

/* ---- text checks ---- */

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_sep(char c)
{
    return c == ':' || c == '/' || c == '.';
}

/* ---- records ---- */

/* The SenML labels (RFC 8428 Table 1). */
enum label {
    L_BVER, L_BN, L_BT, L_BU, L_BV, L_BS,
    L_N, L_U, L_V, L_VS, L_VB, L_S, L_T, L_UT, L_VD,
    L__COUNT
};

enum ltype { T_STR, T_NUM, T_BOOL, T_DATA, T_VER };

static const struct {
    const char *name;
    int cbor;
    enum ltype type;
} labels[L__COUNT] = {
    [L_BVER] = {"bver", -1, T_VER}, [L_BN] = {"bn", -2, T_STR},  [L_BT] = {"bt", -3, T_NUM},
    [L_BU] = {"bu", -4, T_STR},     [L_BV] = {"bv", -5, T_NUM},  [L_BS] = {"bs", -6, T_NUM},
    [L_N] = {"n", 0, T_STR},        [L_U] = {"u", 1, T_STR},     [L_V] = {"v", 2, T_NUM},
    [L_VS] = {"vs", 3, T_STR},      [L_VB] = {"vb", 4, T_BOOL},  [L_S] = {"s", 5, T_NUM},
    [L_T] = {"t", 6, T_NUM},        [L_UT] = {"ut", 7, T_NUM},   [L_VD] = {"vd", 8, T_DATA},
};

#define HAS(r, l) (((r)->have >> (l)) & 1u)
#define BASE_LABELS                                                                                \
    ((1u << L_BVER) | (1u << L_BN) | (1u << L_BT) | (1u << L_BU) | (1u << L_BV) | (1u << L_BS))

/* One record as parsed, before resolution. Strings are NUL-terminated and
 * valid UTF-8 without NUL bytes; vd is base64url text. */
struct rec {
    unsigned have; /* 1 << label for each label present */
    const char *str[L__COUNT];
    double num[L__COUNT];
    bool vb;
    uint64_t bver;
};

static int label_by_name(const char *s)
{
    for (int l = 0; l < L__COUNT; l++)
        if (strcmp(labels[l].name, s) == 0)
            return l;
    return -1;
}

static int label_by_cbor(int64_t k)
{
    for (int l = 0; l < L__COUNT; l++)
        if (labels[l].cbor == k)
            return l;
    return -1;
}

/* Every failure message of one decode names the record (1-based). */
static enum iocd_reject rec_fail(struct iocd_batch *out, enum iocd_reject r, size_t idx,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum iocd_reject rec_fail(struct iocd_batch *out, enum iocd_reject r, size_t idx,
                                 const char *fmt, ...)
{
    char why[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return iocd_batch_fail(out, r, "record %zu: %s", idx, why);
}

/* A label present twice, or a field that must be understood (RFC 8428
 * §4.4: a label ending in '_'). */
static enum iocd_reject check_label(struct iocd_batch *out, size_t idx, struct rec *r, int l)
{
    if (HAS(r, l))
        return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "'%s' given twice", labels[l].name);
    r->have |= 1u << l;
    return IOCD_REJECT_NONE;
}

static enum iocd_reject check_unknown(struct iocd_batch *out, size_t idx, const char *key,
                                      size_t len)
{
    char buf[40];
    if (len > 0 && key[len - 1] == '_')
        return rec_fail(out, IOCD_REJECT_MALFORMED, idx,
                        "field '%s' must be understood (ends in '_') and is not supported",
                        iocd_adapter_printable(key, buf, sizeof(buf)));
    return IOCD_REJECT_NONE;
}

static enum iocd_reject check_text(struct iocd_batch *out, size_t idx, int l, const char *s,
                                   size_t len)
{
    if (memchr(s, 0, len))
        return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "'%s' contains a NUL byte",
                        labels[l].name);
    if (!iocd_adapter_valid_utf8((const unsigned char *)s, len))
        return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "'%s' is not valid UTF-8",
                        labels[l].name);
    return IOCD_REJECT_NONE;
}

static bool base64url_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!is_alnum(s[n]) && s[n] != '-' && s[n] != '_')
            return false;
    return n % 4 != 1;
}

/* bver: an unsigned integer (RFC 8428 §4.1 says positive). */
static enum iocd_reject set_version(struct iocd_batch *out, size_t idx, struct rec *r, uint64_t v)
{
    if (v == 0)
        return rec_fail(out, IOCD_REJECT_WRONG_TYPE, idx, "'bver' must be a positive integer");
    r->bver = v;
    return IOCD_REJECT_NONE;
}

/* ---- JSON ---- */

static enum iocd_reject json_record(struct iocd_batch *out, size_t idx, const cJSON *obj,
                                    struct rec *r)
{
    memset(r, 0, sizeof(*r));
    if (!cJSON_IsObject(obj))
        return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "is %s, not an object",
                        iocd_adapter_json_type(obj));
    for (const cJSON *c = obj->child; c; c = c->next) {
        const char *key = c->string ? c->string : "";
        int l = label_by_name(key);
        enum iocd_reject rj;
        if (l < 0) {
            rj = check_unknown(out, idx, key, strlen(key));
            if (rj != IOCD_REJECT_NONE)
                return rj;
            continue;
        }
        if ((rj = check_label(out, idx, r, l)) != IOCD_REJECT_NONE)
            return rj;
        switch (labels[l].type) {
        case T_STR:
        case T_DATA:
            if (!cJSON_IsString(c))
                return rec_fail(out, IOCD_REJECT_WRONG_TYPE, idx, "'%s' is %s, not a string",
                                labels[l].name, iocd_adapter_json_type(c));
            if ((rj = check_text(out, idx, l, c->valuestring, strlen(c->valuestring))) !=
                IOCD_REJECT_NONE)
                return rj;
            r->str[l] = c->valuestring;
            break;
        case T_NUM:
            if (!cJSON_IsNumber(c))
                return rec_fail(out, IOCD_REJECT_WRONG_TYPE, idx, "'%s' is %s, not a number",
                                labels[l].name, iocd_adapter_json_type(c));
            r->num[l] = c->valuedouble; /* 1e999 parses as infinity: caught at resolution */
            break;
        case T_BOOL:
            if (!cJSON_IsBool(c))
                return rec_fail(out, IOCD_REJECT_WRONG_TYPE, idx, "'%s' is %s, not a bool",
                                labels[l].name, iocd_adapter_json_type(c));
            r->vb = cJSON_IsTrue(c);
            break;
        case T_VER: {
            double v = c->valuedouble;
            if (!cJSON_IsNumber(c) || !(v >= 0 && v <= 9007199254740992.0) || v != floor(v))
                return rec_fail(out, IOCD_REJECT_WRONG_TYPE, idx,
                                "'bver' must be a positive integer");
            if ((rj = set_version(out, idx, r, (uint64_t)v)) != IOCD_REJECT_NONE)
                return rj;
            break;
        }
        }
    }
    return IOCD_REJECT_NONE;
}

/* ---- CBOR (RFC 8949), read in place ---- */

struct cb {
    const uint8_t *p, *end, *start;
};

/* One item head: major type, additional info, argument. -1 when truncated
 * or not well-formed (reserved additional info 28..30, indefinite length
 * on a type that has none). */
static int cb_head(struct cb *c, unsigned *major, unsigned *ai, uint64_t *val)
{
    if (c->p >= c->end)
        return -1;
    uint8_t b = *c->p++;
    *major = b >> 5;
    *ai = b & 31u;
    if (*ai < 24) {
        *val = *ai;
        return 0;
    }
    if (*ai <= 27) {
        size_t n = (size_t)1 << (*ai - 24);
        if ((size_t)(c->end - c->p) < n)
            return -1;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v = (v << 8) | c->p[i];
        c->p += n;
        *val = v;
        /* a simple value in a following byte must be >= 32 */
        if (*major == 7 && *ai == 24 && v < 32)
            return -1;
        return 0;
    }
    *val = 0;
    if (*ai == 31 && *major >= 2 && *major != 6)
        return 0; /* indefinite length, or "break" for major 7 */
    return -1;
}

static bool cb_at_break(const struct cb *c)
{
    return c->p < c->end && *c->p == 0xff;
}

/* Skip one whole item. Each step consumes at least one byte, so this ends
 * within the buffer; nesting is bounded by SENML_CBOR_MAX_DEPTH. */
static int cb_skip(struct cb *c, int depth)
{
    unsigned major, ai;
    uint64_t val;
    if (depth > SENML_CBOR_MAX_DEPTH || cb_head(c, &major, &ai, &val))
        return -1;
    switch (major) {
    case 0:
    case 1:
        return 0;
    case 2:
    case 3:
        if (ai != 31) {
            if (val > (uint64_t)(c->end - c->p))
                return -1;
            c->p += val;
            return 0;
        }
        while (!cb_at_break(c)) {
            unsigned m2, a2;
            uint64_t n;
            if (cb_head(c, &m2, &a2, &n) || m2 != major || a2 == 31 ||
                n > (uint64_t)(c->end - c->p))
                return -1;
            c->p += n;
        }
        c->p++;
        return 0;
    case 4:
    case 5:
        if (ai != 31) {
            if (val > (uint64_t)(c->end - c->p))
                return -1;
            uint64_t items = major == 5 ? val * 2 : val;
            for (uint64_t i = 0; i < items; i++)
                if (cb_skip(c, depth + 1))
                    return -1;
            return 0;
        }
        for (uint64_t i = 0; !cb_at_break(c); i++)
            if (cb_skip(c, depth + 1))
                return -1;
        c->p++;
        return 0;
    case 6:
        return cb_skip(c, depth + 1);
    default: /* 7 */
        return ai == 31 ? -1 : 0; /* a break outside an indefinite container */
    }
}

/* A text (major 3) or byte (major 2) string, definite or indefinite, as a
 * NUL-terminated arena copy. Returns 0, -1 (not that type), -2 (no memory).
 * The pack has been checked well-formed before. */
static int cb_string(struct cb *c, unsigned want, struct iocd_arena *a, char **out, size_t *len)
{
    unsigned major, ai;
    uint64_t val;
    const uint8_t *at = c->p;
    if (cb_head(c, &major, &ai, &val) || major != want) {
        c->p = at;
        return -1;
    }
    if (ai != 31) {
        /* raw bytes: a text string may hold a NUL (caught by check_text) */
        *out = iocd_arena_alloc(a, (size_t)val + 1);
        if (!*out)
            return -2;
        memcpy(*out, c->p, (size_t)val);
        (*out)[val] = '\0';
        *len = (size_t)val;
        c->p += val;
        return 0;
    }
    /* indefinite: first add up the chunks, then copy them */
    struct cb scan = *c;
    size_t total = 0;
    while (!cb_at_break(&scan)) {
        unsigned m2, a2;
        uint64_t n;
        if (cb_head(&scan, &m2, &a2, &n))
            return -1;
        scan.p += n;
        total += (size_t)n;
    }
    char *s = iocd_arena_alloc(a, total + 1);
    if (!s)
        return -2;
    size_t off = 0;
    while (!cb_at_break(c)) {
        unsigned m2, a2;
        uint64_t n;
        if (cb_head(c, &m2, &a2, &n))
            return -1;
        memcpy(s + off, c->p, (size_t)n);
        off += (size_t)n;
        c->p += n;
    }
    c->p++;
    s[off] = '\0';
    *out = s;
    *len = off;
    return 0;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f;
    double m = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m == 0 ? INFINITY : NAN;
    else
        v = ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* "-1-n" (a CBOR negative integer) or "n" in decimal. */
static void cb_int_text(unsigned major, uint64_t n, char *buf, size_t sz)
{
    if (major == 0)
        snprintf(buf, sz, "%" PRIu64, n);
    else if (n == UINT64_MAX)
        snprintf(buf, sz, "-18446744073709551616");
    else
        snprintf(buf, sz, "-%" PRIu64, n + 1);
}

/* A number: integer, half/single/double float, or decimal fraction
 * (tag 4 [exponent, mantissa], both integers). -1 when of another type. */
static int cb_number(struct cb *c, double *v)
{
    unsigned major, ai;
    uint64_t val;
    if (cb_head(c, &major, &ai, &val))
        return -1;
    switch (major) {
    case 0:
        *v = (double)val;
        return 0;
    case 1:
        /* -1 - val, rounded once */
        *v = val == UINT64_MAX ? -18446744073709551616.0 : -(double)(val + 1);
        return 0;
    case 6: {
        if (val != 4)
            return -1;
        unsigned m, a, me, mm;
        uint64_t n, ev, mv;
        if (cb_head(c, &m, &a, &n) || m != 4 || a == 31 || n != 2)
            return -1;
        if (cb_head(c, &me, &a, &ev) || me > 1 || cb_head(c, &mm, &a, &mv) || mm > 1)
            return -1;
        char ebuf[32], mbuf[32], text[72];
        cb_int_text(me, ev, ebuf, sizeof(ebuf));
        cb_int_text(mm, mv, mbuf, sizeof(mbuf));
        snprintf(text, sizeof(text), "%se%s", mbuf, ebuf);
        /* glibc's strtod rounds correctly; overflow gives inf, caught later */
        *v = strtod(text, NULL);
        return 0;
    }
    case 7:
        if (ai == 25) {
            *v = half_to_double((uint16_t)val);
            return 0;
        }
        if (ai == 26) {
            uint32_t bits = (uint32_t)val;
            float f;
            memcpy(&f, &bits, sizeof(f));
            *v = f;
            return 0;
        }
        if (ai == 27) {
            memcpy(v, &val, sizeof(*v));
            return 0;
        }
        return -1;
    default:
        return -1;
    }
}

static const char *cb_type(const uint8_t *p)
{
    static const char *const names[8] = {"an integer", "an integer",  "a byte string",
                                         "a text string", "an array", "a map", "a tagged item",
                                         "a simple value or float"};
    return names[*p >> 5];
}

/* bytes → base64url without padding (RFC 4648 §5), in the arena. */
static char *base64url(struct iocd_arena *a, const unsigned char *s, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *o = iocd_arena_alloc(a, n / 3 * 4 + 5);
    if (!o)
        return NULL;
    size_t j = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        o[j++] = alphabet[w >> 18];
        o[j++] = alphabet[(w >> 12) & 63];
        o[j++] = alphabet[(w >> 6) & 63];
        o[j++] = alphabet[w & 63];
    }
    if (n - i == 1) {
        uint32_t w = (uint32_t)s[i] << 16;
        o[j++] = alphabet[w >> 18];
        o[j++] = alphabet[(w >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t w = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        o[j++] = alphabet[w >> 18];
        o[j++] = alphabet[(w >> 12) & 63];
        o[j++] = alphabet[(w >> 6) & 63];
    }
    o[j] = '\0';
    return o;
}

static enum iocd_reject cb_nomem(struct iocd_batch *out)
{
    return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY,
                           "decode needs more memory than the arena allows");
}

/* One field's value for label `l`. */
static enum iocd_reject cb_value(struct cb *c, struct iocd_batch *out, size_t idx, int l,
                                 struct rec *r)
{
    const uint8_t *at = c->p;
    char *s;
    size_t len;
    int rc;
    switch (labels[l].type) {
    case T_STR: {
        rc = cb_string(c, 3, out->arena, &s, &len);
        if (rc == -2)
            return cb_nomem(out);
        if (rc)
            break;
        enum iocd_reject rj = check_text(out, idx, l, s, len);
        if (rj != IOCD_REJECT_NONE)
            return rj;
        r->str[l] = s;
        return IOCD_REJECT_NONE;
    }
    case T_DATA:
        rc = cb_string(c, 2, out->arena, &s, &len);
        if (rc == -2)
            return cb_nomem(out);
        if (rc)
            break;
        if (!(r->str[l] = base64url(out->arena, (const unsigned char *)s, len)))
            return cb_nomem(out);
        return IOCD_REJECT_NONE;
    case T_NUM:
        if (cb_number(c, &r->num[l]) == 0)
            return IOCD_REJECT_NONE;
        break;
    case T_BOOL:
        if (*at == 0xf4 || *at == 0xf5) {
            r->vb = *at == 0xf5;
            c->p++;
            return IOCD_REJECT_NONE;
        }
        break;
    case T_VER: {
        unsigned major, ai;
        uint64_t val;
        if (cb_head(c, &major, &ai, &val) == 0 && major == 0)
            return set_version(out, idx, r, val);
        return rec_fail(out, IOCD_REJECT_WRONG_TYPE, idx,
                        "'bver' must be an unsigned integer, not %s", cb_type(at));
    }
    }
    static const char *const want[] = {[T_STR] = "a text string", [T_NUM] = "a number",
                                       [T_BOOL] = "a bool", [T_DATA] = "a byte string",
                                       [T_VER] = "an unsigned integer"};
    return rec_fail(out, IOCD_REJECT_WRONG_TYPE, idx, "'%s' is %s, not %s", labels[l].name,
                    cb_type(at), want[labels[l].type]);
}

/* One record: a map with integer labels (RFC 8428 Table 4). String keys are
 * extensions (ignored unless they end in '_'); other keys are ignored. */
static enum iocd_reject cb_record(struct cb *c, struct iocd_batch *out, size_t idx,
                                  struct rec *r)
{
    memset(r, 0, sizeof(*r));
    const uint8_t *at = c->p;
    unsigned major, ai;
    uint64_t n;
    if (cb_head(c, &major, &ai, &n) || major != 5)
        return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "is %s, not a map", cb_type(at));
    bool indef = ai == 31;
    for (uint64_t i = 0; indef ? !cb_at_break(c) : i < n; i++) {
        unsigned km, ka;
        uint64_t kv;
        struct cb peek = *c;
        if (cb_head(&peek, &km, &ka, &kv))
            return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "truncated key");
        int l = -1;
        if (km == 0 && kv <= 8) {
            l = label_by_cbor((int64_t)kv);
            *c = peek;
        } else if (km == 1 && kv <= 5) {
            l = label_by_cbor(-1 - (int64_t)kv);
            *c = peek;
        } else if (km == 3) {
            char *s;
            size_t len;
            int rc = cb_string(c, 3, out->arena, &s, &len);
            if (rc == -2)
                return cb_nomem(out);
            if (rc)
                return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "bad key");
            enum iocd_reject rj = check_unknown(out, idx, s, len);
            if (rj != IOCD_REJECT_NONE)
                return rj;
        } else if (cb_skip(c, 1)) {
            return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "bad key");
        }
        if (l < 0) {
            if (cb_skip(c, 1))
                return rec_fail(out, IOCD_REJECT_MALFORMED, idx, "bad value");
            continue;
        }
        enum iocd_reject rj = check_label(out, idx, r, l);
        if (rj == IOCD_REJECT_NONE)
            rj = cb_value(c, out, idx, l, r);
        if (rj != IOCD_REJECT_NONE)
            return rj;
    }
    if (indef)
        c->p++; /* the break */
    return IOCD_REJECT_NONE;
}

/* ---- resolution (RFC 8428 §4.6) ---- */

struct resolver {
    const struct senml_state *st;
    const struct iocd_message *msg;
    struct iocd_batch *out;
    const char *source; /* arena copy */
    /* base fields in force */
    const char *bn, *bu;
    double bt, bv, bs;
    bool has_bs, has_bver;
    uint64_t bver;
    /* topic device: 0 not looked at yet, 1 found, -1 not usable */
    int topic_state;
    const char *topic_dev;
    enum iocd_reject topic_r;
    char topic_why[96];
    /* dropped records */
    size_t dropped;
    enum iocd_reject first_drop;
    char first_detail[sizeof(((struct iocd_batch *)0)->detail)];
};

static void drop(struct resolver *rs, enum iocd_reject r, size_t idx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void drop(struct resolver *rs, enum iocd_reject r, size_t idx, const char *fmt, ...)
{
    char why[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    iocd_batch_note(rs->out, IOCD_NOTE_PARTIAL, "record %zu dropped: %s", idx, why);
    if (rs->dropped++ == 0) {
        rs->first_drop = r;
        snprintf(rs->first_detail, sizeof(rs->first_detail), "record %zu: %s", idx, why);
    }
}

/* Level `level` of the topic as the device id; NULL when the topic has no
 * usable such level (rs->topic_r and rs->topic_why say why). Looked at once
 * per message: an adapter uses only one topic level. */
static const char *topic_device(struct resolver *rs, int level)
{
    if (rs->topic_state != 0)
        return rs->topic_state > 0 ? rs->topic_dev : NULL;
    rs->topic_state = -1;
    rs->topic_r = IOCD_REJECT_BAD_ID;
    const char *s;
    size_t n;
    if (!iocd_adapter_topic_level(rs->msg->topic, level, &s, &n)) {
        rs->topic_r = IOCD_REJECT_MISSING_FIELD;
        snprintf(rs->topic_why, sizeof(rs->topic_why), "topic has no level %d", level);
        return NULL;
    }
    const char *problem = NULL;
    if (n == 0)
        problem = "is empty";
    else if (n > SENML_MAX_ID)
        problem = "is longer than 128 bytes";
    else if (memchr(s, '+', n) || memchr(s, '#', n))
        problem = "contains '+' or '#'";
    else if (!iocd_adapter_valid_utf8((const unsigned char *)s, n))
        problem = "is not valid UTF-8";
    for (size_t i = 0; !problem && i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            problem = "contains a control character";
    if (problem) {
        snprintf(rs->topic_why, sizeof(rs->topic_why), "topic level %d %s", level, problem);
        return NULL;
    }
    rs->topic_dev = iocd_arena_strndup(rs->out->arena, s, n);
    if (!rs->topic_dev) {
        rs->topic_r = IOCD_REJECT_NO_MEMORY;
        snprintf(rs->topic_why, sizeof(rs->topic_why), "out of memory");
        return NULL;
    }
    rs->topic_state = 1;
    return rs->topic_dev;
}

/* Seconds (a double) to ms, rounded to the nearest ms with halves away from
 * zero, exactly: s*1000 = p + e with e from fma, so the decision is made on
 * the true product, not on its rounded value. -1 when out of range. */
static int sec_to_ms(double s, int64_t *ms)
{
    if (!isfinite(s))
        return -1;
    double p = s * 1000.0;
    if (!(fabs(p) < 4503599627370496.0)) /* 2**52: 0.5 is still a multiple of ulp(p) */
        return -1;
    double e = fma(s, 1000.0, -p);
    double a = fabs(p), ea = p < 0 ? -e : e;
    double q = floor(a), d = a - q; /* exact */
    int64_t r = (int64_t)q;
    if (d > 0.5 || (d == 0.5 && ea >= 0))
        r++;
    *ms = p < 0 ? -r : r;
    return 0;
}

/* The metric a record without its own name gets from its unit:
 * '%' → "pct", '/' → "_per_" ("/" alone → "ratio"), other characters
 * outside A-Z a-z 0-9 _ . - → '_'; no unit → "value". */
static char *unit_metric(struct iocd_arena *a, const char *unit)
{
    if (!*unit)
        return iocd_arena_strdup(a, "value");
    if (strcmp(unit, "/") == 0)
        return iocd_arena_strdup(a, "ratio");
    char *m = iocd_arena_alloc(a, strlen(unit) * 5 + 1);
    if (!m)
        return NULL;
    size_t j = 0;
    for (const char *p = unit; *p; p++) {
        if (*p == '%') {
            memcpy(m + j, "pct", 3);
            j += 3;
        } else if (*p == '/') {
            memcpy(m + j, "_per_", 5);
            j += 5;
        } else {
            m[j++] = is_alnum(*p) || *p == '_' || *p == '.' || *p == '-' ? *p : '_';
        }
    }
    m[j] = '\0';
    return m;
}

static void slash_to_colon(char *s)
{
    for (; *s; s++)
        if (*s == '/')
            *s = ':';
}

/* Device and metric of one record; 0, or -1 after drop() / -2 no memory. */
static int split_ids(struct resolver *rs, size_t idx, const char *name, size_t bn_len,
                     bool own_name, const char *unit, const char **device, char **metric)
{
    struct iocd_arena *a = rs->out->arena;
    size_t len = strlen(name);
    char buf[48];
    if (rs->st->device_level >= 0) {
        *device = topic_device(rs, rs->st->device_level);
        if (!*device) /* checked by resolver_start() before any record */
            return -2;
        if (own_name) {
            *metric = iocd_arena_strdup(a, name);
        } else {
            size_t n = len;
            while (n > 1 && is_sep(name[n - 1]))
                n--;
            char *um = *unit ? unit_metric(a, unit) : NULL;
            *metric = um ? iocd_arena_printf(a, "%.*s.%s", (int)n, name, um)
                         : iocd_arena_strndup(a, name, n);
        }
        if (!*metric)
            return -2;
    } else if (!own_name) {
        /* The base name alone names the sensor (RFC 8428 §4.2): it is the
         * device, and records tell their quantities apart by unit. */
        size_t n = len;
        while (n > 1 && is_sep(name[n - 1]))
            n--;
        char *d = iocd_arena_strndup(a, name, n);
        *metric = unit_metric(a, unit);
        if (!d || !*metric)
            return -2;
        *device = d;
    } else {
        /* The last separator within the base name (or just after it), or
         * in the whole name when there is no base name; both parts non-empty. */
        size_t found = 0;
        if (len >= 3) {
            size_t hi = bn_len > 0 && bn_len < len - 2 ? bn_len : len - 2;
            for (size_t i = hi; i >= 1 && !found; i--)
                if (is_sep(name[i]))
                    found = i;
        }
        if (found) {
            char *d = iocd_arena_strndup(a, name, found);
            *metric = iocd_arena_strdup(a, name + found + 1);
            if (!d || !*metric)
                return -2;
            *device = d;
        } else if (rs->st->fallback_level >= 0) {
            *device = topic_device(rs, rs->st->fallback_level);
            if (!*device) {
                if (rs->topic_r == IOCD_REJECT_NO_MEMORY)
                    return -2;
                drop(rs, rs->topic_r, idx, "name '%s' has no ':', '/' or '.' and device_fallback: %s",
                     iocd_adapter_printable(name, buf, sizeof(buf)), rs->topic_why);
                return -1;
            }
            *metric = iocd_arena_strdup(a, name);
            if (!*metric)
                return -2;
        } else {
            drop(rs, IOCD_REJECT_MISSING_FIELD, idx,
                 "name '%s' has no ':', '/' or '.' to split off the device",
                 iocd_adapter_printable(name, buf, sizeof(buf)));
            return -1;
        }
    }
    char *d = (char *)*device;
    if (*device != rs->topic_dev)
        slash_to_colon(d);
    slash_to_colon(*metric);
    if (strlen(*device) > SENML_MAX_ID) {
        drop(rs, IOCD_REJECT_BAD_ID, idx, "device '%s' is longer than 128 bytes",
             iocd_adapter_printable(*device, buf, sizeof(buf)));
        return -1;
    }
    if (strlen(*metric) > SENML_MAX_ID) {
        drop(rs, IOCD_REJECT_BAD_ID, idx, "metric '%s' is longer than 128 bytes",
             iocd_adapter_printable(*metric, buf, sizeof(buf)));
        return -1;
    }
    return 0;
}

static Ioc__V1__Observation *add_obs(struct resolver *rs, const char *device, const char *metric,
                                     const char *unit, double value, int64_t t)
{
    Ioc__V1__Observation *o = iocd_batch_add_observation(rs->out);
    if (!o)
        return NULL;
    o->source = (char *)rs->source;
    o->device = (char *)device;
    o->metric = (char *)metric;
    o->unit = (char *)unit;
    o->value = value;
    o->observed_ms = t;
    o->received_ms = rs->msg->received_ms;
    o->quality = IOC__V1__QUALITY__QUALITY_GOOD;
    return o;
}

/* What one record resolves to (§4.5), filled step by step. */
struct resolved {
    char *name;       /* bn + n, in the arena */
    const char *unit; /* u, else bu; "" for none */
    int64_t t_ms;
    double value, sum;
    bool has_sum;
    const char *device;
    char *metric, *sum_metric; /* in the arena; sum_metric only with has_sum */
};

/* The base fields of record `idx` apply to it and those after it (§4.1).
 * Returns IOCD_REJECT_NONE or why the whole message is rejected. */
static enum iocd_reject apply_base(struct resolver *rs, const struct rec *r, size_t idx)
{
    if (HAS(r, L_BVER)) {
        if (r->bver > SENML_MAX_VERSION)
            return rec_fail(rs->out, IOCD_REJECT_MALFORMED, idx,
                            "SenML version %" PRIu64 " is newer than 10", r->bver);
        if (rs->has_bver && r->bver != rs->bver)
            return rec_fail(rs->out, IOCD_REJECT_MALFORMED, idx,
                            "version %" PRIu64 " differs from the pack's %" PRIu64, r->bver,
                            rs->bver);
        rs->has_bver = true;
        rs->bver = r->bver;
    }
    if (HAS(r, L_BN))
        rs->bn = r->str[L_BN];
    if (HAS(r, L_BU))
        rs->bu = r->str[L_BU];
    if (HAS(r, L_BT))
        rs->bt = r->num[L_BT];
    if (HAS(r, L_BV))
        rs->bv = r->num[L_BV];
    if (HAS(r, L_BS)) {
        rs->bs = r->num[L_BS];
        rs->has_bs = true;
    }
    return IOCD_REJECT_NONE;
}

/* The steps below return 0, -1 when they dropped the record (noted with
 * drop()), or -2 when the arena is full. */

/* Name = bn + n (§4.5.1), into v->name. */
static int resolve_name(struct resolver *rs, const struct rec *r, size_t idx, struct resolved *v)
{
    char buf[48];
    const char *bn = rs->bn ? rs->bn : "";
    const char *n = HAS(r, L_N) ? r->str[L_N] : "";
    char *name = iocd_arena_printf(rs->out->arena, "%s%s", bn, n);
    if (!name)
        return -2;
    if (!*name) {
        drop(rs, IOCD_REJECT_MISSING_FIELD, idx, "no name (no bn and no n)");
        return -1;
    }
    if (!is_alnum(name[0])) {
        drop(rs, IOCD_REJECT_BAD_ID, idx, "name '%s' does not start with a letter or digit",
             iocd_adapter_printable(name, buf, sizeof(buf)));
        return -1;
    }
    for (const char *p = name; *p; p++)
        if (!is_alnum(*p) && *p != '-' && *p != ':' && *p != '.' && *p != '/' && *p != '_') {
            drop(rs, IOCD_REJECT_BAD_ID, idx,
                 "name '%s' has characters outside A-Z a-z 0-9 - : . / _",
                 iocd_adapter_printable(name, buf, sizeof(buf)));
            return -1;
        }
    v->name = name;
    return 0;
}

/* Unit = u, else bu (§4.5.2), into v->unit. */
static int resolve_unit(struct resolver *rs, const struct rec *r, size_t idx, struct resolved *v)
{
    char buf[48];
    const char *unit = HAS(r, L_U) && *r->str[L_U] ? r->str[L_U] : rs->bu ? rs->bu : "";
    if (strlen(unit) > SENML_MAX_UNIT) {
        drop(rs, IOCD_REJECT_MALFORMED, idx, "unit is longer than 64 bytes");
        return -1;
    }
    for (const char *p = unit; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            drop(rs, IOCD_REJECT_MALFORMED, idx, "unit '%s' has a blank or control character",
                 iocd_adapter_printable(unit, buf, sizeof(buf)));
            return -1;
        }
    v->unit = unit;
    return 0;
}

/* Time = bt + t; below 2**28 relative to now = the receive time (§4.5.3),
 * into v->t_ms. */
static int resolve_time(struct resolver *rs, const struct rec *r, size_t idx, struct resolved *v)
{
    double tsum = rs->bt + (HAS(r, L_T) ? r->num[L_T] : 0.0);
    int64_t t_ms;
    if (!isfinite(tsum)) {
        drop(rs, IOCD_REJECT_NOT_FINITE, idx, "time is not finite");
        return -1;
    }
    if (tsum >= SENML_REL_LIMIT) {
        if (sec_to_ms(tsum, &t_ms) || t_ms > IOCD_TIME_MAX_MS) {
            drop(rs, IOCD_REJECT_BAD_TIME, idx, "time %.17g s is after 9999", tsum);
            return -1;
        }
    } else {
        int64_t rel;
        if (sec_to_ms(tsum, &rel) || __builtin_add_overflow(rs->msg->received_ms, rel, &t_ms) ||
            t_ms < 0 || t_ms > IOCD_TIME_MAX_MS) {
            drop(rs, IOCD_REJECT_BAD_TIME, idx, "relative time %.17g s is out of range", tsum);
            return -1;
        }
    }
    v->t_ms = t_ms;
    return 0;
}

/* Value = bv + v; sum = bs + s (§4.5.4), into v->value and v->sum; a vd
 * must be unpadded base64url. */
static int resolve_values(struct resolver *rs, const struct rec *r, size_t idx,
                          struct resolved *v)
{
    if (HAS(r, L_V)) {
        v->value = rs->bv + r->num[L_V];
        if (!isfinite(v->value)) {
            drop(rs, IOCD_REJECT_NOT_FINITE, idx, "value is not finite");
            return -1;
        }
    } else if (HAS(r, L_VB)) {
        v->value = r->vb ? 1.0 : 0.0;
    }
    if (v->has_sum) {
        v->sum = (rs->has_bs ? rs->bs : 0.0) + (HAS(r, L_S) ? r->num[L_S] : 0.0);
        if (!isfinite(v->sum)) {
            drop(rs, IOCD_REJECT_NOT_FINITE, idx, "sum is not finite");
            return -1;
        }
    }
    if (HAS(r, L_VD) && !base64url_ok(r->str[L_VD])) {
        drop(rs, IOCD_REJECT_MALFORMED, idx, "vd is not unpadded base64url");
        return -1;
    }
    return 0;
}

/* The device and metric ids from the name (split_ids), and the sum's
 * metric "METRIC.sum" when there is a sum. */
static int resolve_ids(struct resolver *rs, const struct rec *r, size_t idx, struct resolved *v)
{
    char buf[48];
    size_t bn_len = rs->bn ? strlen(rs->bn) : 0;
    bool has_n = HAS(r, L_N) && *r->str[L_N];
    int rc = split_ids(rs, idx, v->name, bn_len, has_n, v->unit, &v->device, &v->metric);
    if (rc)
        return rc;
    if (v->has_sum) {
        v->sum_metric = iocd_arena_printf(rs->out->arena, "%s.sum", v->metric);
        if (!v->sum_metric)
            return -2;
        if (strlen(v->sum_metric) > SENML_MAX_ID) {
            drop(rs, IOCD_REJECT_BAD_ID, idx, "metric '%s.sum' is longer than 128 bytes",
                 iocd_adapter_printable(v->metric, buf, sizeof(buf)));
            return -1;
        }
    }
    return 0;
}

/* Emits a resolved record: an observation for v or vb, one for the sum,
 * and a senml.value event for vs or vd. */
static enum iocd_reject emit_record(struct resolver *rs, const struct rec *r,
                                    const struct resolved *v)
{
    struct iocd_batch *out = rs->out;
    struct iocd_arena *a = out->arena;
    char *unit_copy = iocd_arena_strdup(a, v->unit);
    if (!unit_copy)
        return cb_nomem(out);

    if (HAS(r, L_V) || HAS(r, L_VB))
        if (!add_obs(rs, v->device, v->metric, unit_copy, v->value, v->t_ms))
            return cb_nomem(out);
    if (v->has_sum) {
        /* the sum is in unit × seconds (§4.2) */
        const char *su = !*v->unit || strcmp(v->unit, "/") == 0 || strcmp(v->unit, "1") == 0
                             ? "s"
                             : iocd_arena_printf(a, "%s.s", v->unit);
        if (!su || !add_obs(rs, v->device, v->sum_metric, su, v->sum, v->t_ms))
            return cb_nomem(out);
    }
    if (HAS(r, L_VS) && iocd_adapter_states_has(&rs->st->states, v->metric)) {
        /* A state (docs/states.md): an observation carrying it. */
        Ioc__V1__Observation *o = add_obs(rs, v->device, v->metric, unit_copy, 0, v->t_ms);
        if (!o || !(o->state = iocd_arena_strdup(a, r->str[L_VS])))
            return cb_nomem(out);
    } else if (HAS(r, L_VS) || HAS(r, L_VD)) {
        Ioc__V1__Event *e = iocd_batch_add_event(out);
        if (!e)
            return cb_nomem(out);
        e->kind = iocd_arena_strdup(a, SENML_EVENT_KIND);
        e->severity = IOC__V1__SEVERITY__SEVERITY_INFO;
        e->device = (char *)v->device;
        e->time_ms = v->t_ms;
        e->source = (char *)rs->source;
        e->received_ms = rs->msg->received_ms;
        bool is_vs = HAS(r, L_VS);
        if (!e->kind || iocd_event_add_attribute(out, e, "name", v->name) ||
            iocd_event_add_attribute(out, e, "metric", v->metric) ||
            iocd_event_add_attribute(out, e, "type", is_vs ? "vs" : "vd") ||
            iocd_event_add_attribute(out, e, "value", is_vs ? r->str[L_VS] : r->str[L_VD]) ||
            (*v->unit && iocd_event_add_attribute(out, e, "unit", v->unit)))
            return cb_nomem(out);
    }
    return IOCD_REJECT_NONE;
}

/* Resolve record `idx` against the base fields in force and emit what it
 * says. Returns IOCD_REJECT_NONE (emitted, dropped or skipped) or a reason
 * to reject the whole message. */
static enum iocd_reject resolve_record(struct resolver *rs, const struct rec *r, size_t idx)
{
    enum iocd_reject rej = apply_base(rs, r, idx);
    if (rej != IOCD_REJECT_NONE)
        return rej;

    int nvalues = HAS(r, L_V) + HAS(r, L_VS) + HAS(r, L_VB) + HAS(r, L_VD);
    struct resolved v = {.has_sum = HAS(r, L_S) || rs->has_bs};
    if (nvalues > 1) {
        drop(rs, IOCD_REJECT_MALFORMED, idx, "more than one of v, vs, vb, vd");
        return IOCD_REJECT_NONE;
    }
    if (nvalues == 0 && !v.has_sum) {
        unsigned regular = (1u << L_N) | (1u << L_U) | (1u << L_T) | (1u << L_UT);
        if ((r->have & BASE_LABELS) && !(r->have & regular))
            return IOCD_REJECT_NONE; /* only sets base fields (§5.1.7) */
        drop(rs, IOCD_REJECT_MISSING_FIELD, idx, "no value (v, vs, vb, vd) and no sum");
        return IOCD_REJECT_NONE;
    }
    int rc = resolve_name(rs, r, idx, &v);
    if (rc == 0)
        rc = resolve_unit(rs, r, idx, &v);
    if (rc == 0)
        rc = resolve_time(rs, r, idx, &v);
    if (rc == 0)
        rc = resolve_values(rs, r, idx, &v);
    if (rc == 0)
        rc = resolve_ids(rs, r, idx, &v);
    if (rc == -2)
        return cb_nomem(rs->out);
    if (rc)
        return IOCD_REJECT_NONE;
    return emit_record(rs, r, &v);
}

/* ---- decode ---- */

/* Everything emitted so far is withdrawn: a rejected message yields
 * nothing, and its dropped records are not counted as notes. */
static enum iocd_reject withdraw(struct iocd_batch *out, enum iocd_reject r)
{
    out->n_obs = 0;
    out->n_events = 0;
    memset(out->notes, 0, sizeof(out->notes));
    out->note_detail[0] = '\0';
    return r;
}

static enum iocd_reject resolver_start(struct resolver *rs, const struct senml_state *st,
                                       const struct iocd_message *msg, struct iocd_batch *out)
{
    memset(rs, 0, sizeof(*rs));
    rs->st = st;
    rs->msg = msg;
    rs->out = out;
    rs->source = iocd_arena_strdup(out->arena, st->source);
    if (!rs->source)
        return cb_nomem(out);
    if (st->device_level >= 0 && !topic_device(rs, st->device_level))
        return iocd_batch_fail(out, rs->topic_r, "device: %s", rs->topic_why);
    return IOCD_REJECT_NONE;
}

static enum iocd_reject finish(struct resolver *rs, size_t n_records)
{
    struct iocd_batch *out = rs->out;
    if (out->n_obs + out->n_events > 0)
        return IOCD_REJECT_NONE;
    if (n_records == 0)
        return withdraw(out, iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                                             "the pack has no records"));
    if (rs->dropped == 0)
        return withdraw(out, iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                                             "no record has a value (only base fields)"));
    return withdraw(out, iocd_batch_fail(out, rs->first_drop, "no usable record; %s",
                                         rs->first_detail));
}

static enum iocd_reject decode_json(const struct senml_state *st, const struct iocd_message *msg,
                                    struct iocd_batch *out)
{
    cJSON *root;
    enum iocd_reject r = iocd_adapter_json_parse(msg, out, &root);
    if (r != IOCD_REJECT_NONE)
        return r;
    if (!cJSON_IsArray(root))
        r = iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "payload is JSON %s, not an array",
                            iocd_adapter_json_type(root));
    struct resolver rs;
    if (r == IOCD_REJECT_NONE)
        r = resolver_start(&rs, st, msg, out);
    size_t idx = 0;
    if (r == IOCD_REJECT_NONE) {
        for (const cJSON *c = root->child; c && r == IOCD_REJECT_NONE; c = c->next) {
            struct rec rec;
            r = json_record(out, ++idx, c, &rec);
            if (r == IOCD_REJECT_NONE)
                r = resolve_record(&rs, &rec, idx);
        }
        r = r != IOCD_REJECT_NONE ? withdraw(out, r) : finish(&rs, idx);
    }
    cJSON_Delete(root);
    return r;
}

static enum iocd_reject decode_cbor(const struct senml_state *st, const struct iocd_message *msg,
                                    struct iocd_batch *out)
{
    struct cb c = {msg->payload, msg->payload + msg->len, msg->payload};
    /* an optional self-described CBOR tag (55799, d9 d9 f7) */
    if (msg->len >= 3 && c.p[0] == 0xd9 && c.p[1] == 0xd9 && c.p[2] == 0xf7)
        c.p += 3;
    /* well-formed first: everything after may trust the lengths */
    struct cb check = c;
    if (cb_skip(&check, 0))
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "not well-formed CBOR (truncated, reserved or nested deeper "
                               "than %d)",
                               SENML_CBOR_MAX_DEPTH);
    if (check.p != c.end)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "not valid CBOR (junk after the pack at byte %zu)",
                               (size_t)(check.p - c.start));
    const uint8_t *at = c.p;
    unsigned major, ai;
    uint64_t n;
    if (cb_head(&c, &major, &ai, &n) || major != 4)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "payload is CBOR %s, not an array",
                               cb_type(at));
    struct resolver rs;
    enum iocd_reject r = resolver_start(&rs, st, msg, out);
    if (r != IOCD_REJECT_NONE)
        return r;
    bool indef = ai == 31;
    size_t idx = 0;
    for (uint64_t i = 0; indef ? !cb_at_break(&c) : i < n; i++) {
        struct rec rec;
        r = cb_record(&c, out, ++idx, &rec);
        if (r == IOCD_REJECT_NONE)
            r = resolve_record(&rs, &rec, idx);
        if (r != IOCD_REJECT_NONE)
            return withdraw(out, r);
    }
    return finish(&rs, idx);
}

static enum iocd_reject senml_decode(void *state, const struct iocd_message *msg,
                                     struct iocd_batch *out)
{
    const struct senml_state *st = state;
    if (msg->len == 0 || !msg->payload)
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "empty payload");
    enum senml_encoding enc = st->encoding;
    if (enc == ENC_AUTO) {
        size_t i = 0;
        while (i < msg->len && iocd_adapter_json_space(msg->payload[i]))
            i++;
        if (i < msg->len && msg->payload[i] == '[') {
            enc = ENC_JSON;
        } else {
            uint8_t b = msg->payload[0];
            if ((b >> 5) != 4 && !(b == 0xd9 && msg->len >= 3 && msg->payload[1] == 0xd9 &&
                                   msg->payload[2] == 0xf7))
                return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                                       "neither a JSON array ('[') nor a CBOR array "
                                       "(first byte 0x%02x)",
                                       b);
            enc = ENC_CBOR;
        }
    }
    return enc == ENC_JSON ? decode_json(st, msg, out) : decode_cbor(st, msg, out);
}

const struct iocd_adapter_ops iocd_adapter_senml = {
    .name = "senml",
    .keys = senml_keys,
    .n_keys = sizeof(senml_keys) / sizeof(senml_keys[0]),
    .create = senml_create,
    .decode = senml_decode,
    .destroy = senml_destroy,
};
