/* adapters/event.c — the `event` adapter: discrete events in JSON (citizen
 * reports, traffic violations, fire alarms, camera analytics, FIWARE Alerts)
 * decoded to ioc.v1.Event, one per message or one per element of a records
 * array (see docs/adapters.md (event)).
 *
 * Owns: decode and the text helpers both halves use. struct event_state
 * (the compiled value sources for kind, severity, text, device, area,
 * status, time and location, the severity map, the allowed statuses, the
 * attribute rule and the source name) is built by create() and freed by
 * destroy(), in event_config.c. decode() parses one payload with cJSON,
 * frees the tree before returning, and puts every string and struct it
 * produces into the batch's arena.
 *
 * Policy: the JSON shape, the kind, wrong JSON types and a bad time reject
 * (a whole message, or one record in records mode); an unusable value of an
 * optional field (location out of range, unknown severity or status, an
 * over-long area, an attribute over its limits) is dropped, the event kept,
 * and one `partial` note counted for the event. */
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
#include "adapters/event_internal.h"
#include "daemon/base/jsonpath.h"
#include "daemon/base/number.h"
#include "daemon/base/timeutil.h"

/* ---- text helpers shared by create and decode ---- */

/* Latin letters with diacritics (Latin-1, Vietnamese) → their lowercase
 * ASCII base letter, or 0. */
static char fold_letter(uint32_t cp)
{
    /* U+00C0..U+00FF; '*' is not a letter we fold. */
    static const char latin1[] = "aaaaaa*ceeeeiiii"
                                 "dnooooo*ouuuuy**"
                                 "aaaaaa*ceeeeiiii"
                                 "dnooooo*ouuuuy*y";
    /* U+1EA0..U+1EF9, Vietnamese: ạ ả ấ ầ ẩ ẫ ậ ắ ằ ẳ ẵ ặ, ẹ ẻ ẽ ế ề ể ễ ệ,
     * ỉ ị, ọ ỏ ố ồ ổ ỗ ộ ớ ờ ở ỡ ợ, ụ ủ ứ ừ ử ữ ự, ỳ ỵ ỷ ỹ (capital and small). */
    static const char viet[] = "aaaaaaaaaaaaaaaaaaaaaaaa"
                               "eeeeeeeeeeeeeeee"
                               "iiii"
                               "oooooooooooooooooooooooo"
                               "uuuuuuuuuuuuuu"
                               "yyyyyyyy";
    if (cp >= 0xc0 && cp <= 0xff)
        return latin1[cp - 0xc0] == '*' ? 0 : latin1[cp - 0xc0];
    if (cp >= 0x1ea0 && cp <= 0x1ef9)
        return viet[cp - 0x1ea0];
    switch (cp) {
    case 0x102: /* Ă */
    case 0x103: /* ă */
        return 'a';
    case 0x110: /* Đ */
    case 0x111: /* đ */
        return 'd';
    case 0x128: /* Ĩ */
    case 0x129: /* ĩ */
        return 'i';
    case 0x168: /* Ũ */
    case 0x169: /* ũ */
    case 0x1af: /* Ư */
    case 0x1b0: /* ư */
        return 'u';
    case 0x1a0: /* Ơ */
    case 0x1a1: /* ơ */
        return 'o';
    default:
        return 0;
    }
}

/* A kind or status id from free text: ASCII letters lowercased, letters
 * with diacritics folded (ệ → e, đ → d), combining marks dropped, [a-z0-9_.-]
 * kept, and every other run of characters (blanks, punctuation, other
 * scripts, invalid bytes) one '_' between kept characters. out has
 * EV_MAX_ID + 1 bytes. */
enum id_result iocd_event_normalize_id(const char *s, size_t n, char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = 0, i = 0;
    bool sep = false;
    while (i < n) {
        uint32_t cp;
        size_t k = iocd_adapter_utf8_next(u + i, n - i, &cp);
        char ch = 0;
        if (k == 0) {
            k = 1;
        } else if (cp < 0x80) {
            ch = (char)cp;
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                  ch == '.' || ch == '-'))
                ch = 0;
        } else if (cp >= 0x300 && cp <= 0x36f) {
            i += k; /* a combining mark: part of the letter before it */
            continue;
        } else {
            ch = fold_letter(cp);
        }
        i += k;
        if (!ch) {
            sep = true;
            continue;
        }
        if (sep && len > 0) {
            if (len >= EV_MAX_ID)
                return ID_TOO_LONG;
            out[len++] = '_';
        }
        sep = false;
        if (len >= EV_MAX_ID)
            return ID_TOO_LONG;
        out[len++] = ch;
    }
    out[len] = '\0';
    return len ? ID_OK : ID_EMPTY;
}

/* 1..64 characters of [A-Za-z0-9_.-]. */
bool iocd_event_valid_id(const char *s)
{
    return iocd_adapter_name_ok(s, strlen(s), EV_MAX_ID);
}

static bool is_blank_or_ctl(unsigned char ch)
{
    return ch <= 0x20 || ch == 0x7f;
}

/* A device or area label: trimmed, each run of blanks and control
 * characters one space, '/', '+' and '#' → '-'. out has EV_MAX_LABEL + 1
 * bytes. Returns NULL (out may be "") or why the value is unusable. */
const char *iocd_event_clean_label(const char *s, size_t n, char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = 0, i = 0;
    bool blank = false;
    while (i < n) {
        if (is_blank_or_ctl(u[i])) {
            blank = true;
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = iocd_adapter_utf8_next(u + i, n - i, &cp);
        if (k == 0)
            return "is not valid UTF-8";
        size_t need = k + (blank && len > 0);
        if (len + need > EV_MAX_LABEL)
            return "is longer than 128 bytes";
        if (blank && len > 0)
            out[len++] = ' ';
        blank = false;
        if (k == 1 && (u[i] == '/' || u[i] == '+' || u[i] == '#'))
            out[len++] = '-';
        else
            memcpy(out + len, s + i, k), len += k;
        i += k;
    }
    out[len] = '\0';
    return NULL;
}

/* s[0..n) without leading and trailing ASCII blanks. */
void iocd_event_trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n' ||
                  (*s)[*n - 1] == '\r'))
        (*n)--;
}

bool iocd_event_ci_equal(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

/* Severity names, matched without regard to ASCII case; -1 when unknown. */
int iocd_event_severity_from_name(const char *s, size_t n)
{
    static const struct {
        const char *name;
        int severity;
    } names[] = {
        {"unspecified", IOC__V1__SEVERITY__SEVERITY_UNSPECIFIED},
        {"unknown", IOC__V1__SEVERITY__SEVERITY_UNSPECIFIED},
        {"info", IOC__V1__SEVERITY__SEVERITY_INFO},
        {"informational", IOC__V1__SEVERITY__SEVERITY_INFO},
        {"notice", IOC__V1__SEVERITY__SEVERITY_INFO},
        {"warning", IOC__V1__SEVERITY__SEVERITY_WARNING},
        {"warn", IOC__V1__SEVERITY__SEVERITY_WARNING},
        {"low", IOC__V1__SEVERITY__SEVERITY_WARNING},
        {"minor", IOC__V1__SEVERITY__SEVERITY_MINOR},
        {"medium", IOC__V1__SEVERITY__SEVERITY_MINOR},
        {"moderate", IOC__V1__SEVERITY__SEVERITY_MINOR},
        {"major", IOC__V1__SEVERITY__SEVERITY_MAJOR},
        {"high", IOC__V1__SEVERITY__SEVERITY_MAJOR},
        {"severe", IOC__V1__SEVERITY__SEVERITY_MAJOR},
        {"critical", IOC__V1__SEVERITY__SEVERITY_CRITICAL},
        {"emergency", IOC__V1__SEVERITY__SEVERITY_CRITICAL},
        {"fatal", IOC__V1__SEVERITY__SEVERITY_CRITICAL},
        {"extreme", IOC__V1__SEVERITY__SEVERITY_CRITICAL},
    };
    iocd_event_trim(&s, &n);
    if (n == 1 && s[0] >= '0' && s[0] <= '5')
        return s[0] - '0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (iocd_event_ci_equal(s, n, names[i].name))
            return names[i].severity;
    return -1;
}

/* Shortest text that reads back as `v` (finite): 0 for either zero,
 * integers up to 2^53 without a fraction, others by iocd_number_format_g
 * (number.h: the texts of the %.{1..17}g / strtod loop it replaced).
 * n >= IOCD_NUMBER_MAX. */
static void format_number(double v, char *buf, size_t n)
{
    if (v == 0) {
        snprintf(buf, n, "0");
        return;
    }
    if (v == floor(v) && fabs(v) <= EV_MAX_SAFE_INT) {
        snprintf(buf, n, "%" PRId64, (int64_t)v);
        return;
    }
    char t[IOCD_NUMBER_MAX];
    size_t len = iocd_number_format_g(t, v);
    snprintf(buf, n, "%.*s", (int)len, t);
}

/* ---- decode ---- */

/* One decode: the message, its parsed root, the record being decoded (the
 * root itself outside records mode) and what has been dropped from it. */
struct ctx {
    const struct event_state *st;
    const struct iocd_message *msg;
    const cJSON *root;
    const cJSON *rec;
    long index; /* record index, or -1 outside records mode */
    struct iocd_batch *out;
    /* '^' paths give the same node for every record: looked up once */
    const cJSON *outer[EV_MAX_OUTER];
    bool outer_done[EV_MAX_OUTER];
    char *source;        /* st->source in the arena, made once per message */
    unsigned drops;      /* values dropped from this event */
    char first_drop[120]; /* the first one, for the note */
};

static void drop(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void drop(struct ctx *x, const char *fmt, ...)
{
    if (x->drops++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->first_drop, sizeof(x->first_drop), fmt, ap);
        va_end(ap);
    }
}

/* What a value source gives for this record: a JSON node, or text (a
 * topic level or a literal), or nothing. */
struct val {
    const cJSON *node;
    const char *s;
    size_t n;
};

static bool fetch(struct ctx *x, const struct value_src *src, struct val *v)
{
    memset(v, 0, sizeof(*v));
    switch (src->type) {
    case SRC_NONE:
        return false;
    case SRC_LITERAL:
        v->s = src->literal;
        v->n = strlen(src->literal);
        return true;
    case SRC_TOPIC:
        return iocd_adapter_topic_level(x->msg->topic, src->level, &v->s, &v->n) && v->n > 0;
    case SRC_PATH:
        if (!src->outer) {
            v->node = iocd_jsonpath_get(src->path, x->rec);
        } else {
            if (!x->outer_done[src->slot]) {
                x->outer[src->slot] = iocd_jsonpath_get(src->path, x->root);
                x->outer_done[src->slot] = true;
            }
            v->node = x->outer[src->slot];
        }
        return v->node && !cJSON_IsNull(v->node);
    }
    return false;
}

/* The text of an id-like value (a string, or an integer number as decimal
 * text) into *s / *n; a reject for other types. `num` holds number text. */
static enum iocd_reject id_text(struct ctx *x, const struct value_src *src, const char *key,
                                const struct val *v, char num[32], const char **s, size_t *n)
{
    if (!v->node) {
        *s = v->s;
        *n = v->n;
        return IOCD_REJECT_NONE;
    }
    if (cJSON_IsString(v->node)) {
        *s = v->node->valuestring;
        *n = strlen(*s);
        return IOCD_REJECT_NONE;
    }
    if (cJSON_IsNumber(v->node)) {
        double d = v->node->valuedouble;
        if (!(d == floor(d) && fabs(d) <= EV_MAX_SAFE_INT))
            return iocd_batch_fail(x->out, IOCD_REJECT_WRONG_TYPE,
                                   "%s %s is a number but not an integer", key, src->text);
        snprintf(num, 32, "%" PRId64, (int64_t)d);
        *s = num;
        *n = strlen(num);
        return IOCD_REJECT_NONE;
    }
    return iocd_batch_fail(x->out, IOCD_REJECT_WRONG_TYPE, "%s %s is %s", key, src->text,
                           iocd_adapter_json_type(v->node));
}

static enum iocd_reject get_kind(struct ctx *x, const char **kind)
{
    const struct value_src *src = &x->st->kind;
    struct val v;
    if (!fetch(x, src, &v)) {
        if (src->type == SRC_TOPIC)
            return iocd_batch_fail(x->out, IOCD_REJECT_MISSING_FIELD,
                                   "kind %s: the topic has no such level or it is empty",
                                   src->text);
        return iocd_batch_fail(x->out, IOCD_REJECT_MISSING_FIELD, "kind %s is missing",
                               src->text);
    }
    if (src->type == SRC_LITERAL) {
        *kind = src->literal;
        return IOCD_REJECT_NONE;
    }
    char num[32], id[EV_MAX_ID + 1], buf[48];
    const char *s;
    size_t n;
    enum iocd_reject r = id_text(x, src, "kind", &v, num, &s, &n);
    if (r != IOCD_REJECT_NONE)
        return r;
    switch (iocd_event_normalize_id(s, n, id)) {
    case ID_OK:
        break;
    case ID_EMPTY:
        return iocd_batch_fail(x->out, IOCD_REJECT_BAD_ID, "kind %s '%s' has no letter or digit",
                               src->text, iocd_adapter_printable_n(s, n, buf, sizeof(buf)));
    case ID_TOO_LONG:
        return iocd_batch_fail(x->out, IOCD_REJECT_BAD_ID,
                               "kind %s '%s' is longer than 64 characters", src->text,
                               iocd_adapter_printable_n(s, n, buf, sizeof(buf)));
    }
    *kind = iocd_arena_strdup(x->out->arena, id);
    return *kind ? IOCD_REJECT_NONE
                 : iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for the kind");
}

/* device and area: "" when absent or dropped. */
static enum iocd_reject get_label(struct ctx *x, const struct value_src *src, const char *key,
                                  const char **label)
{
    struct val v;
    *label = "";
    if (!fetch(x, src, &v))
        return IOCD_REJECT_NONE;
    if (src->type == SRC_LITERAL) {
        *label = src->literal;
        return IOCD_REJECT_NONE;
    }
    char num[32], buf[EV_MAX_LABEL + 1], show[48];
    const char *s;
    size_t n;
    enum iocd_reject r = id_text(x, src, key, &v, num, &s, &n);
    if (r != IOCD_REJECT_NONE)
        return r;
    const char *why = iocd_event_clean_label(s, n, buf);
    if (why) {
        drop(x, "%s %s '%s' %s", key, src->text, iocd_adapter_printable_n(s, n, show, sizeof(show)),
             why);
        return IOCD_REJECT_NONE;
    }
    *label = iocd_arena_strdup(x->out->arena, buf);
    return *label ? IOCD_REJECT_NONE
                  : iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for the %s",
                                    key);
}

static enum iocd_reject get_status(struct ctx *x, const char **status)
{
    const struct event_state *st = x->st;
    const struct value_src *src = &st->status;
    struct val v;
    *status = "";
    if (!fetch(x, src, &v))
        return IOCD_REJECT_NONE;
    if (src->type == SRC_LITERAL) {
        *status = src->literal; /* checked against statuses by create() */
        return IOCD_REJECT_NONE;
    }
    char num[32], id[EV_MAX_ID + 1], buf[48];
    const char *s;
    size_t n;
    enum iocd_reject r = id_text(x, src, "status", &v, num, &s, &n);
    if (r != IOCD_REJECT_NONE)
        return r;
    switch (iocd_event_normalize_id(s, n, id)) {
    case ID_OK:
        break;
    case ID_EMPTY:
        return IOCD_REJECT_NONE;
    case ID_TOO_LONG:
        drop(x, "status %s '%s' is longer than 64 characters", src->text,
             iocd_adapter_printable_n(s, n, buf, sizeof(buf)));
        return IOCD_REJECT_NONE;
    }
    if (st->statuses) {
        size_t i = 0;
        while (i < st->n_statuses && strcmp(st->statuses[i], id) != 0)
            i++;
        if (i == st->n_statuses) {
            drop(x, "status %s '%s' is not in statuses", src->text, id);
            return IOCD_REJECT_NONE;
        }
    }
    *status = iocd_arena_strdup(x->out->arena, id);
    return *status ? IOCD_REJECT_NONE
                   : iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for the status");
}

static enum iocd_reject get_severity(struct ctx *x, Ioc__V1__Severity *sev)
{
    const struct event_state *st = x->st;
    const struct value_src *src = &st->severity;
    *sev = (Ioc__V1__Severity)st->severity_fixed;
    if (src->type == SRC_NONE || src->type == SRC_LITERAL)
        return IOCD_REJECT_NONE;
    struct val v;
    *sev = IOC__V1__SEVERITY__SEVERITY_UNSPECIFIED;
    if (!fetch(x, src, &v))
        return IOCD_REJECT_NONE; /* the source did not say */
    char num[40], buf[48];
    const char *s;
    size_t n;
    bool is_number = false;
    double d = 0;
    if (!v.node) {
        s = v.s, n = v.n;
    } else if (cJSON_IsString(v.node)) {
        s = v.node->valuestring, n = strlen(s);
    } else if (cJSON_IsNumber(v.node)) {
        d = v.node->valuedouble;
        if (!isfinite(d)) {
            drop(x, "severity %s is not a finite number", src->text);
            return IOCD_REJECT_NONE;
        }
        format_number(d, num, sizeof(num));
        s = num, n = strlen(num);
        is_number = true;
    } else {
        return iocd_batch_fail(x->out, IOCD_REJECT_WRONG_TYPE, "severity %s is %s", src->text,
                               iocd_adapter_json_type(v.node));
    }
    int found = -1;
    if (st->sev_map) {
        const char *t = s;
        size_t tn = n;
        iocd_event_trim(&t, &tn);
        for (size_t i = 0; i < st->n_sev_map && found < 0; i++)
            if (iocd_event_ci_equal(t, tn, st->sev_map[i].key))
                found = st->sev_map[i].severity;
    } else if (is_number) {
        if (d == floor(d) && d >= 0 && d <= 5)
            found = (int)d;
    } else {
        found = iocd_event_severity_from_name(s, n);
    }
    if (found < 0) {
        drop(x, "severity %s '%s' is not a known severity", src->text,
             iocd_adapter_printable_n(s, n, buf, sizeof(buf)));
        return IOCD_REJECT_NONE;
    }
    *sev = (Ioc__V1__Severity)found;
    return IOCD_REJECT_NONE;
}

/* Valid UTF-8 copy of s[0..n) in the arena, each byte that starts no valid
 * sequence replaced by U+FFFD, cut at a character boundary to at most `max`
 * bytes. NULL when out of memory. */
static char *utf8_copy(struct iocd_arena *a, const char *s, size_t n, size_t max, bool *bad,
                       bool *cut)
{
    size_t cap = n <= max / 3 ? n * 3 : max;
    char *o = iocd_arena_alloc(a, cap + 1);
    if (!o)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t len = 0, i = 0;
    *bad = *cut = false;
    while (i < n) {
        uint32_t cp;
        size_t k = iocd_adapter_utf8_next(u + i, n - i, &cp);
        const char *src = s + i;
        size_t w = k;
        if (k == 0) {
            src = "\xef\xbf\xbd";
            w = 3;
            k = 1;
            *bad = true;
        }
        if (len + w > max) {
            *cut = true;
            break;
        }
        memcpy(o + len, src, w);
        len += w;
        i += k;
    }
    o[len] = '\0';
    return o;
}

static enum iocd_reject get_text(struct ctx *x, const char **text)
{
    const struct value_src *src = &x->st->text;
    struct val v;
    *text = "";
    if (!fetch(x, src, &v))
        return IOCD_REJECT_NONE;
    if (!cJSON_IsString(v.node))
        return iocd_batch_fail(x->out, IOCD_REJECT_WRONG_TYPE, "text %s is %s", src->text,
                               iocd_adapter_json_type(v.node));
    bool bad, cut;
    const char *s = v.node->valuestring;
    *text = utf8_copy(x->out->arena, s, strlen(s), EV_MAX_TEXT, &bad, &cut);
    if (!*text)
        return iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for the text");
    if (cut)
        drop(x, "text %s cut to %d bytes", src->text, EV_MAX_TEXT);
    else if (bad)
        drop(x, "text %s is not valid UTF-8 (bad bytes replaced by U+FFFD)", src->text);
    return IOCD_REJECT_NONE;
}

static enum iocd_reject get_time(struct ctx *x, int64_t *ms)
{
    const struct event_state *st = x->st;
    const struct value_src *src = &st->time;
    struct val v;
    *ms = x->msg->received_ms;
    if (!fetch(x, src, &v)) {
        if (src->type != SRC_NONE)
            drop(x, "time %s is missing (the receive time is used)", src->text);
        return IOCD_REJECT_NONE;
    }
    const cJSON *t = v.node;
    char buf[48];
    if (cJSON_IsNumber(t)) {
        if (st->time_unit == IOCD_TIME_ISO8601)
            return iocd_batch_fail(x->out, IOCD_REJECT_WRONG_TYPE,
                                   "time %s is a number, time_format is iso8601", src->text);
        if (iocd_time_from_epoch(t->valuedouble, st->time_unit, ms))
            return iocd_batch_fail(x->out, IOCD_REJECT_BAD_TIME, "time %s %.17g is out of range",
                                   src->text, t->valuedouble);
        return IOCD_REJECT_NONE;
    }
    if (cJSON_IsString(t)) {
        if (st->time_unit != IOCD_TIME_AUTO && st->time_unit != IOCD_TIME_ISO8601)
            return iocd_batch_fail(x->out, IOCD_REJECT_WRONG_TYPE,
                                   "time %s is a string, time_format expects a number", src->text);
        size_t n = strlen(t->valuestring);
        if (iocd_time_parse_iso8601(t->valuestring, n, st->time_offset_s, ms))
            return iocd_batch_fail(x->out, IOCD_REJECT_BAD_TIME,
                                   "time %s '%s' is not a valid ISO-8601 time", src->text,
                                   iocd_adapter_printable_n(t->valuestring, n, buf, sizeof(buf)));
        return IOCD_REJECT_NONE;
    }
    return iocd_batch_fail(x->out, IOCD_REJECT_WRONG_TYPE, "time %s is %s", src->text,
                           iocd_adapter_json_type(t));
}

/* A decimal number in s[0..n), blanks around it allowed: no hex, no
 * nan/inf, finite. */
static bool parse_decimal(const char *s, size_t n, double *out)
{
    iocd_event_trim(&s, &n);
    if (n == 0 || n > 40)
        return false;
    char buf[48];
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '+' || ch == 'e' ||
              ch == 'E'))
            return false;
        buf[i] = ch;
    }
    buf[n] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (end != buf + n || !isfinite(d))
        return false;
    *out = d;
    return true;
}

/* A coordinate: a finite number or a numeric string. */
static bool coord_value(const cJSON *n, double *out)
{
    if (cJSON_IsNumber(n)) {
        *out = n->valuedouble;
        return isfinite(*out);
    }
    if (cJSON_IsString(n))
        return parse_decimal(n->valuestring, strlen(n->valuestring), out);
    return false;
}

/* The event's location, or none; unusable locations are dropped. */
static enum iocd_reject get_location(struct ctx *x, Ioc__V1__Location **loc)
{
    const struct event_state *st = x->st;
    double lat, lon;
    *loc = NULL;
    if (st->lat.type != SRC_NONE) {
        struct val va, vo;
        bool has_lat = fetch(x, &st->lat, &va), has_lon = fetch(x, &st->lon, &vo);
        if (!has_lat && !has_lon)
            return IOCD_REJECT_NONE;
        if (!has_lat || !has_lon) {
            drop(x, "location: %s is missing", has_lat ? st->lon.text : st->lat.text);
            return IOCD_REJECT_NONE;
        }
        if (!coord_value(va.node, &lat) || !coord_value(vo.node, &lon)) {
            drop(x, "location: %s or %s is not a finite number", st->lat.text, st->lon.text);
            return IOCD_REJECT_NONE;
        }
    } else if (st->location.type != SRC_NONE) {
        struct val v;
        const char *path = st->location.text;
        if (!fetch(x, &st->location, &v))
            return IOCD_REJECT_NONE;
        const cJSON *n = v.node;
        if (cJSON_IsObject(n)) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(n, "type");
            const cJSON *co = cJSON_GetObjectItemCaseSensitive(n, "coordinates");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "Point") != 0) {
                drop(x, "location %s is not a GeoJSON Point", path);
                return IOCD_REJECT_NONE;
            }
            int size = 0; /* counted up to 4: the array may be long */
            for (const cJSON *el = cJSON_IsArray(co) ? co->child : NULL; el && size < 4;
                 el = el->next)
                size++;
            if (size < 2 || size > 3 || !cJSON_IsNumber(co->child) ||
                !cJSON_IsNumber(co->child->next) || !isfinite(co->child->valuedouble) ||
                !isfinite(co->child->next->valuedouble)) {
                drop(x, "location %s: coordinates are not [lon, lat]", path);
                return IOCD_REJECT_NONE;
            }
            lon = co->child->valuedouble;
            lat = co->child->next->valuedouble;
        } else if (cJSON_IsString(n)) {
            const char *s = n->valuestring, *comma = strchr(s, ',');
            if (!comma || !parse_decimal(s, (size_t)(comma - s), &lat) ||
                !parse_decimal(comma + 1, strlen(comma + 1), &lon)) {
                drop(x, "location %s is not a 'lat,lon' string", path);
                return IOCD_REJECT_NONE;
            }
        } else {
            drop(x, "location %s is %s", path, iocd_adapter_json_type(n));
            return IOCD_REJECT_NONE;
        }
    } else {
        return IOCD_REJECT_NONE;
    }
    if (fabs(lat) > 90 || fabs(lon) > 180) {
        drop(x, "location lat %.17g lon %.17g is out of range", lat, lon);
        return IOCD_REJECT_NONE;
    }
    *loc = iocd_arena_alloc(x->out->arena, sizeof(**loc));
    if (!*loc)
        return iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for the location");
    ioc__v1__location__init(*loc);
    (*loc)->lat = lat;
    (*loc)->lon = lon;
    return IOCD_REJECT_NONE;
}

/* ---- attributes ---- */

struct attrs {
    Ioc__V1__Event__AttributesEntry *e[EV_MAX_ATTRS];
    size_t n;
    unsigned over; /* attributes past EV_MAX_ATTRS */
};

/* The attribute text for `node` into *value (arena); NULL without a
 * reject when the value is null or was dropped. */
static enum iocd_reject attr_value(struct ctx *x, const char *key, const cJSON *node,
                                   const char **value)
{
    char buf[EV_MAX_ATTR_VALUE + 64];
    const char *s;
    bool bad, cut;
    *value = NULL;
    if (cJSON_IsNull(node)) {
        return IOCD_REJECT_NONE;
    } else if (cJSON_IsBool(node)) {
        s = cJSON_IsTrue(node) ? "true" : "false";
    } else if (cJSON_IsNumber(node)) {
        if (!isfinite(node->valuedouble)) {
            drop(x, "attribute '%.40s' is not a finite number", key);
            return IOCD_REJECT_NONE;
        }
        format_number(node->valuedouble, buf, sizeof(buf));
        s = buf;
    } else if (cJSON_IsString(node)) {
        s = node->valuestring;
    } else if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
        if (!cJSON_PrintPreallocated((cJSON *)node, buf, (int)sizeof(buf), 0) ||
            strlen(buf) > EV_MAX_ATTR_VALUE) {
            drop(x, "attribute '%.40s': its JSON text is longer than 512 bytes", key);
            return IOCD_REJECT_NONE;
        }
        s = buf;
    } else {
        drop(x, "attribute '%.40s' is %s", key, iocd_adapter_json_type(node));
        return IOCD_REJECT_NONE;
    }
    *value = utf8_copy(x->out->arena, s, strlen(s), EV_MAX_ATTR_VALUE, &bad, &cut);
    if (!*value)
        return iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for attributes");
    if (cut)
        drop(x, "attribute '%.40s' cut to 512 bytes", key);
    else if (bad)
        drop(x, "attribute '%.40s' is not valid UTF-8 (bad bytes replaced by U+FFFD)", key);
    return IOCD_REJECT_NONE;
}

static enum iocd_reject add_attr(struct ctx *x, struct attrs *a, const char *key,
                                 const cJSON *node)
{
    const char *value;
    if (a->n == EV_MAX_ATTRS) {
        a->over += !cJSON_IsNull(node);
        return IOCD_REJECT_NONE;
    }
    enum iocd_reject r = attr_value(x, key, node, &value);
    if (r != IOCD_REJECT_NONE || !value)
        return r;
    Ioc__V1__Event__AttributesEntry *en = iocd_arena_alloc(x->out->arena, sizeof(*en));
    char *k = iocd_arena_strdup(x->out->arena, key);
    if (!en || !k)
        return iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for attributes");
    ioc__v1__event__attributes_entry__init(en);
    en->key = k;
    en->value = (char *)value;
    a->e[a->n++] = en;
    return IOCD_REJECT_NONE;
}

/* A member name usable as a key: 1..64 bytes of UTF-8, no control characters. */
static const char *key_problem(const char *k)
{
    size_t n = strlen(k);
    if (n == 0)
        return "is empty";
    if (n > EV_MAX_ATTR_KEY)
        return "is longer than 64 bytes";
    const unsigned char *u = (const unsigned char *)k;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = iocd_adapter_utf8_next(u + i, n - i, &cp);
        if (len == 0)
            return "is not valid UTF-8";
        if (cp < 0x20 || cp == 0x7f)
            return "has a control character";
        i += len;
    }
    return NULL;
}

static int attr_cmp(const void *a, const void *b)
{
    const Ioc__V1__Event__AttributesEntry *const *x = a, *const *y = b;
    return strcmp((*x)->key, (*y)->key);
}

static enum iocd_reject get_attributes(struct ctx *x, Ioc__V1__Event *ev)
{
    const struct event_state *st = x->st;
    struct attrs a;
    a.n = 0;
    a.over = 0;
    enum iocd_reject r = IOCD_REJECT_NONE;
    if (st->attr_mode == ATTR_LIST) {
        for (size_t i = 0; i < st->n_attrs && r == IOCD_REJECT_NONE; i++) {
            struct val v;
            if (fetch(x, &st->attrs[i].src, &v))
                r = add_attr(x, &a, st->attrs[i].key, v.node);
        }
    } else if (st->attr_mode == ATTR_ALL) {
        for (const cJSON *m = x->rec->child; m && r == IOCD_REJECT_NONE; m = m->next) {
            const char *k = m->string ? m->string : "";
            size_t i = 0;
            while (i < st->n_exclude && strcmp(st->exclude[i], k) != 0)
                i++;
            if (i < st->n_exclude)
                continue;
            char show[48];
            const char *why = key_problem(k);
            if (why) {
                drop(x, "attribute key '%s' %s",
                     iocd_adapter_printable_n(k, strlen(k), show, sizeof(show)), why);
                continue;
            }
            if (cJSON_IsNull(m))
                continue;
            /* a repeated member: the first one kept counts */
            bool seen = false;
            for (size_t j = 0; j < a.n && !seen; j++)
                seen = strcmp(a.e[j]->key, k) == 0;
            if (seen) {
                drop(x, "attribute '%s' repeated",
                     iocd_adapter_printable_n(k, strlen(k), show, sizeof(show)));
                continue;
            }
            r = add_attr(x, &a, k, m);
        }
    }
    if (r != IOCD_REJECT_NONE)
        return r;
    if (a.over)
        drop(x, "%u attributes over the limit of %d", a.over, EV_MAX_ATTRS);
    if (a.n == 0)
        return IOCD_REJECT_NONE;
    qsort(a.e, a.n, sizeof(a.e[0]), attr_cmp);
    ev->attributes = iocd_arena_alloc(x->out->arena, a.n * sizeof(*ev->attributes));
    if (!ev->attributes)
        return iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for attributes");
    memcpy(ev->attributes, a.e, a.n * sizeof(*ev->attributes));
    ev->n_attributes = a.n;
    return IOCD_REJECT_NONE;
}

/* One event from x->rec; nothing is added to the batch on a reject. */
static enum iocd_reject decode_event(struct ctx *x)
{
    const char *kind, *text, *device, *area, *status, *case_id;
    Ioc__V1__Severity sev;
    int64_t time_ms;
    Ioc__V1__Location *loc;
    enum iocd_reject r;
    x->drops = 0;
    x->first_drop[0] = '\0';
    if ((r = get_kind(x, &kind)) || (r = get_time(x, &time_ms)) || (r = get_text(x, &text)) ||
        (r = get_label(x, &x->st->device, "device", &device)) ||
        (r = get_label(x, &x->st->area, "area", &area)) ||
        (r = get_label(x, &x->st->case_id, "case", &case_id)) || (r = get_status(x, &status)) ||
        (r = get_severity(x, &sev)) || (r = get_location(x, &loc)))
        return r;
    Ioc__V1__Event tmp;
    ioc__v1__event__init(&tmp);
    if ((r = get_attributes(x, &tmp)))
        return r;
    if (!x->source)
        x->source = iocd_arena_strdup(x->out->arena, x->st->source);
    Ioc__V1__Event *ev = x->source ? iocd_batch_add_event(x->out) : NULL;
    if (!ev)
        return iocd_batch_fail(x->out, IOCD_REJECT_NO_MEMORY, "out of memory for the event");
    ev->kind = (char *)kind;
    ev->severity = sev;
    ev->text = (char *)text;
    ev->device = (char *)device;
    ev->location = loc;
    ev->time_ms = time_ms;
    ev->n_attributes = tmp.n_attributes;
    ev->attributes = tmp.attributes;
    ev->source = x->source;
    ev->status = (char *)status;
    ev->area = (char *)area;
    ev->case_id = (char *)case_id;
    ev->received_ms = x->msg->received_ms;
    if (x->drops) {
        char more[32] = "";
        if (x->drops > 1)
            snprintf(more, sizeof(more), " (and %u more)", x->drops - 1);
        if (x->index >= 0)
            iocd_batch_note(x->out, IOCD_NOTE_PARTIAL, "record %ld: dropped %s%s", x->index,
                            x->first_drop, more);
        else
            iocd_batch_note(x->out, IOCD_NOTE_PARTIAL, "dropped %s%s", x->first_drop, more);
    }
    return IOCD_REJECT_NONE;
}

/* records mode: one event per usable element of the array. */
static enum iocd_reject decode_records(struct ctx *x, const cJSON *arr)
{
    struct iocd_batch *out = x->out;
    const char *path = iocd_jsonpath_text(x->st->records);
    unsigned saved_notes = out->notes[IOCD_NOTE_PARTIAL];
    char saved_detail[sizeof(out->note_detail)], saved_text[sizeof(out->note_detail)];
    memcpy(saved_detail, out->note_detail, sizeof(saved_detail));
    memcpy(saved_text, out->note_text[IOCD_NOTE_PARTIAL], sizeof(saved_text));
    enum iocd_reject first = IOCD_REJECT_NONE;
    char first_detail[sizeof(out->detail) + 32] = "";
    long skipped = 0, total = 0;
    for (const cJSON *el = arr->child; el; el = el->next, total++) {
        enum iocd_reject r;
        if (!cJSON_IsObject(el)) {
            r = iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "%s[%ld] is %s, not an object", path,
                                total, iocd_adapter_json_type(el));
        } else {
            x->rec = el;
            x->index = total;
            r = decode_event(x);
        }
        if (r == IOCD_REJECT_NO_MEMORY) {
            out->n_events = 0;
            out->notes[IOCD_NOTE_PARTIAL] = saved_notes;
            memcpy(out->note_detail, saved_detail, sizeof(saved_detail));
            memcpy(out->note_text[IOCD_NOTE_PARTIAL], saved_text, sizeof(saved_text));
            return r;
        }
        if (r != IOCD_REJECT_NONE) {
            if (skipped++ == 0) {
                first = r;
                snprintf(first_detail, sizeof(first_detail), "record %ld: %s", total,
                         out->detail);
            }
        }
    }
    if (total == 0)
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "records %s is empty", path);
    if (out->n_events == 0) {
        out->notes[IOCD_NOTE_PARTIAL] = saved_notes;
        memcpy(out->note_detail, saved_detail, sizeof(saved_detail));
        memcpy(out->note_text[IOCD_NOTE_PARTIAL], saved_text, sizeof(saved_text));
        return iocd_batch_fail(out, first, "no usable record of %ld; %s", total, first_detail);
    }
    out->detail[0] = '\0';
    if (skipped)
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "%ld of %ld records skipped; %s", skipped, total,
                        first_detail);
    return IOCD_REJECT_NONE;
}

static enum iocd_reject decode_root(const struct event_state *st, const struct iocd_message *msg,
                                    const cJSON *root, struct iocd_batch *out)
{
    struct ctx x = {.st = st, .msg = msg, .root = root, .rec = root, .index = -1, .out = out};
    if (!st->records) {
        if (!cJSON_IsObject(root))
            return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "payload is JSON %s, not an object",
                                   iocd_adapter_json_type(root));
        return decode_event(&x); /* notes are counted only for an accepted event */
    }
    const char *path = iocd_jsonpath_text(st->records);
    bool at_root = strcmp(path, "$") == 0;
    if (at_root && !cJSON_IsArray(root))
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED,
                               "payload is JSON %s, not an array (records = $)",
                               iocd_adapter_json_type(root));
    if (!at_root && !cJSON_IsObject(root))
        return iocd_batch_fail(out, IOCD_REJECT_MALFORMED, "payload is JSON %s, not an object",
                               iocd_adapter_json_type(root));
    const cJSON *arr = iocd_jsonpath_get(st->records, root);
    if (!arr || cJSON_IsNull(arr))
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "records %s is missing", path);
    if (!cJSON_IsArray(arr))
        return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "records %s is %s, not an array", path,
                               iocd_adapter_json_type(arr));
    return decode_records(&x, arr);
}

static enum iocd_reject event_decode(void *state, const struct iocd_message *msg,
                                     struct iocd_batch *out)
{
    const struct event_state *st = state;
    cJSON *root;
    enum iocd_reject r = iocd_adapter_json_parse(msg, out, &root);
    if (r != IOCD_REJECT_NONE)
        return r;
    r = decode_root(st, msg, root, out);
    cJSON_Delete(root);
    return r;
}

const struct iocd_adapter_ops iocd_adapter_event = {
    .name = "event",
    .keys = iocd_event_keys,
    .n_keys = IOCD_EVENT_N_KEYS,
    .create = iocd_event_create,
    .decode = event_decode,
    .destroy = iocd_event_destroy,
};
