/* tests/fuzz/fuzz_template.c — libFuzzer target for [notify] templates:
 * the {NAME} placeholder scanner and the JSON-escaped fill
 * (daemon/base/template.c).
 *
 * Owns: per input, its NUL-terminated copies and the rendered texts
 * (freed before return). The input is NUL-separated: a template, then up
 * to three values for the names "a", "b" and "c". Checked: iocd_template_check
 * accepts the template exactly when every placeholder it finds is one of
 * the names, and the offset it reports starts the placeholder it names;
 * the template rendered with empty values is the template without its
 * known placeholders; each value, filled between two quotes, is one valid
 * JSON string holding no raw control byte, so no value can end the string
 * it stands in or break the body around it. Violations abort. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_template: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char *const names[] = {"a", "b", "c"};

/* s is one JSON string: quotes around, escapes valid, no raw control byte,
 * no unescaped quote inside. */
static void check_json_string(const char *s, size_t n)
{
    CHECK(n >= 2 && s[0] == '"' && s[n - 1] == '"');
    for (size_t i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        CHECK(c >= 0x20 && c != '"');
        if (c != '\\')
            continue;
        CHECK(i + 2 < n);
        char e = s[++i];
        if (e == 'u') {
            CHECK(i + 5 < n);
            for (int k = 1; k <= 4; k++)
                CHECK(strchr("0123456789abcdef", s[i + k]) && s[i + k]);
            i += 4;
        } else {
            CHECK(strchr("\"\\/bfnrt", e) && e);
        }
    }
}

/* The template with every placeholder of names[] removed, by a second,
 * independent scan. */
static char *strip(const char *t)
{
    size_t n = strlen(t);
    char *out = malloc(n + 1), *o = out;
    CHECK(out);
    for (size_t i = 0; i < n;) {
        if (t[i] == '{' && i + 2 < n && t[i + 2] == '}' && strchr("abc", t[i + 1]) && t[i + 1]) {
            i += 3;
            continue;
        }
        *o++ = t[i++];
    }
    *o = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';
    const char *part[4] = {text, "", "", ""};
    size_t np = 1;
    for (size_t i = 0; i < size && np < 4; i++)
        if (text[i] == '\0')
            part[np++] = text + i + 1;

    const char *tpl = part[0];
    char bad[64] = "";
    size_t at = 0;
    int rc = iocd_template_check(tpl, names, 3, bad, sizeof(bad), &at);
    if (rc) {
        CHECK(at < strlen(tpl) && tpl[at] == '{');
        CHECK(strncmp(tpl + at, bad, strlen(bad)) == 0 && bad[strlen(bad) - 1] == '}');
    }

    const char *empty[3] = {"", NULL, ""};
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_template_render(&b, tpl, names, empty, 3);
    CHECK(!b.oom);
    char *want = strip(tpl);
    CHECK(strcmp(b.p, want) == 0);
    free(want);

    const char *values[3] = {part[1], part[2], part[3]};
    for (int k = 0; k < 3; k++) {
        char one[6] = {'"', '{', names[k][0], '}', '"', '\0'};
        iocd_buf_reset(&b);
        iocd_template_render(&b, one, names, values, 3);
        CHECK(!b.oom);
        check_json_string(b.p, b.len);
    }
    iocd_buf_reset(&b);
    iocd_template_render(&b, tpl, names, values, 3);
    CHECK(!b.oom);
    iocd_buf_free(&b);
    free(text);
    return 0;
}
