/* tools/iocctl/text.c — iocctl's output text: JSON lines (names come from
 * devices: invalid UTF-8 becomes U+FFFD, C0 and C1 controls are \u-escaped
 * so a JSON line is safe on a terminal too; numbers as the daemon writes
 * them, iocd_json_number) and terminal-safe text for the tables.
 *
 * Owns: nothing beyond the caller's iocd_buf it appends to. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/base/buf.h"
#include "daemon/base/timeutil.h"
#include "tools/iocctl/iocctl.h"

int iocctl_oom(void)
{
    fprintf(stderr, "iocctl: out of memory\n");
    return EXIT_RUNTIME;
}

char *iocctl_strdup(const char *s)
{
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_buf_puts(&b, s ? s : "");
    return iocd_buf_take(&b);
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* A C1 control (U+0080..U+009F) at s, given its sequence length. */
static bool is_c1(const unsigned char *s, size_t len)
{
    return len == 2 && s[0] == 0xC2 && s[1] < 0xA0;
}

/* The escape of a C0 control in a JSON string. */
static void json_control(struct iocd_buf *b, unsigned char c)
{
    switch (c) {
    case '\b': iocd_buf_puts(b, "\\b"); break;
    case '\f': iocd_buf_puts(b, "\\f"); break;
    case '\n': iocd_buf_puts(b, "\\n"); break;
    case '\r': iocd_buf_puts(b, "\\r"); break;
    case '\t': iocd_buf_puts(b, "\\t"); break;
    default: iocd_buf_printf(b, "\\u%04x", c); break;
    }
}

void iocctl_json_string(struct iocd_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    iocd_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x20 || c == '"' || c == '\\' ? 1 : utf8_seq_len(s + i, n - i);
        if (c == '"' || c == '\\') {
            iocd_buf_printf(b, "\\%c", c);
        } else if (c < 0x20) {
            json_control(b, c);
        } else if (len == 0) {
            iocd_buf_puts(b, "\\ufffd");
            len = 1;
        } else if (is_c1(s + i, len)) {
            iocd_buf_printf(b, "\\u%04x", (unsigned)s[i + 1]);
        } else {
            iocd_buf_append(b, (const char *)s + i, len);
        }
        i += len;
    }
    iocd_buf_append(b, "\"", 1);
}

void iocctl_json_double(struct iocd_buf *b, double v)
{
    if (!isfinite(v)) {
        iocd_buf_puts(b, "null");
        return;
    }
    char tmp[40];
    iocd_json_number(tmp, sizeof(tmp), v);
    iocd_buf_puts(b, tmp);
}

/* ',' unless b is empty or ends where a member or element begins. */
static void json_sep(struct iocd_buf *b)
{
    char last = b->len ? b->p[b->len - 1] : '{';
    if (last != '{' && last != '[' && last != ':')
        iocd_buf_append(b, ",", 1);
}

void iocctl_json_key(struct iocd_buf *b, const char *key)
{
    json_sep(b);
    iocctl_json_string(b, key);
    iocd_buf_append(b, ":", 1);
}

void iocctl_json_str(struct iocd_buf *b, const char *key, const char *v)
{
    iocctl_json_key(b, key);
    iocctl_json_string(b, v);
}

void iocctl_json_num(struct iocd_buf *b, const char *key, double v)
{
    iocctl_json_key(b, key);
    iocctl_json_double(b, v);
}

void iocctl_json_int(struct iocd_buf *b, const char *key, int64_t v)
{
    iocctl_json_key(b, key);
    iocd_buf_printf(b, "%" PRId64, v);
}

void iocctl_json_time(struct iocd_buf *b, const char *key, int64_t ms)
{
    char t[40];
    iocd_time_format(ms, t, sizeof(t));
    iocctl_json_str(b, key, t);
}

void iocctl_json_null(struct iocd_buf *b, const char *key)
{
    iocctl_json_key(b, key);
    iocd_buf_puts(b, "null");
}

void iocctl_text_sanitized(struct iocd_buf *b, const char *str, size_t max_width)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    size_t width = 0, cut = SIZE_MAX; /* b->len where "..." would go */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x20 || c == 0x7f ? 0 : utf8_seq_len(s + i, n - i);
        size_t w = len == 0 ? 4 /* \xNN */ : is_c1(s + i, len) ? 6 /* \u00NN */ : 1;
        if (len == 0)
            len = 1;
        if (max_width > 3 && cut == SIZE_MAX && width + w > max_width - 3)
            cut = b->len;
        if (w == 4)
            iocd_buf_printf(b, "\\x%02x", c);
        else if (w == 6)
            iocd_buf_printf(b, "\\u%04x", (unsigned)s[i + 1]);
        else
            iocd_buf_append(b, (const char *)s + i, len);
        width += w;
        i += len;
    }
    if (max_width > 3 && width > max_width && !b->oom) {
        b->len = cut;
        b->p[cut] = '\0';
        iocd_buf_puts(b, "...");
    }
}

const char *iocctl_text_safe(struct iocd_buf *b, const char *s)
{
    iocd_buf_init(b);
    iocctl_text_sanitized(b, s, 0);
    return b->oom ? "?" : b->p;
}

size_t iocctl_text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

void iocctl_text_double(struct iocd_buf *b, double v)
{
    if (isfinite(v))
        iocctl_json_double(b, v);
    else
        iocd_buf_printf(b, "%g", v);
}

int iocctl_line_write(const struct iocd_buf *b)
{
    if (b->oom)
        return iocctl_oom();
    fwrite(b->p, 1, b->len, stdout);
    putchar('\n');
    return EXIT_OK;
}
