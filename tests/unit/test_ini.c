/* tests/unit/test_ini.c — the INI parser (daemon/ini.c): sections with and
 * without an argument, comments, blank lines, trimming, quoted values, the
 * line numbers of sections and entries, every parse error with its exact
 * message, iocd_ini_get (found, absent, duplicate), iocd_ini_check_unused,
 * and iocd_ini_load from real files (missing, NUL bytes, too large). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/base/ini.h"

/* Parses `text` as file "t.conf"; the parse must fail with exactly `msg`. */
static void expect_parse_error(const char *text, const char *msg)
{
    struct iocd_ini ini;
    struct iocd_error err = {{0}};
    int rc = iocd_ini_parse(&ini, "t.conf", text, &err);
    iocd_ini_free(&ini);
    assert_int_equal(rc, -1);
    assert_string_equal(err.msg, msg);
}

static void parse_ok(struct iocd_ini *ini, const char *text)
{
    struct iocd_error err = {{0}};
    if (iocd_ini_parse(ini, "t.conf", text, &err) != 0)
        fail_msg("parse failed: %s", err.msg);
}

static void assert_entry(const struct iocd_ini_entry *e, const char *key, const char *value,
                         int line)
{
    assert_string_equal(e->key, key);
    assert_string_equal(e->value, value);
    assert_int_equal(e->line, line);
    assert_false(e->used);
}

static void test_sections_comments_trimming(void **state)
{
    (void)state;
    static const char text[] =
        "# comment\n"                  /* 1 */
        "; another comment\n"          /* 2 */
        "\n"                           /* 3 */
        "[mqtt]\n"                     /* 4 */
        "host = example.org\n"         /* 5 */
        "  port=1884  \n"              /* 6 */
        "   \t \n"                     /* 7 */
        "[adapter air]\n"              /* 8 */
        "topic =  a/b/+  \n"           /* 9 */
        "quoted = \"  x y  \"\n"       /* 10 */
        "empty =\n"                    /* 11 */
        "\t  # indented comment\n"     /* 12 */
        "  ; indented too\n"           /* 13 */
        "url = a=b # not a comment\n"  /* 14 */
        "  [  store  ]  \n"            /* 15 */
        "path=/tmp/x.db";              /* 16, no final newline */
    struct iocd_ini ini;
    parse_ok(&ini, text);
    assert_string_equal(ini.path, "t.conf");
    assert_int_equal(ini.n_sections, 3);

    struct iocd_ini_section *s = &ini.sections[0];
    assert_string_equal(s->name, "mqtt");
    assert_null(s->arg);
    assert_int_equal(s->line, 4);
    assert_int_equal(s->n_entries, 2);
    assert_entry(&s->entries[0], "host", "example.org", 5);
    assert_entry(&s->entries[1], "port", "1884", 6);

    s = &ini.sections[1];
    assert_string_equal(s->name, "adapter");
    assert_string_equal(s->arg, "air");
    assert_int_equal(s->line, 8);
    assert_int_equal(s->n_entries, 4);
    assert_entry(&s->entries[0], "topic", "a/b/+", 9);
    assert_entry(&s->entries[1], "quoted", "  x y  ", 10);
    assert_entry(&s->entries[2], "empty", "", 11);
    assert_entry(&s->entries[3], "url", "a=b # not a comment", 14);

    s = &ini.sections[2];
    assert_string_equal(s->name, "store");
    assert_null(s->arg);
    assert_int_equal(s->line, 15);
    assert_int_equal(s->n_entries, 1);
    assert_entry(&s->entries[0], "path", "/tmp/x.db", 16);
    iocd_ini_free(&ini);
    assert_null(ini.sections);
    assert_int_equal(ini.n_sections, 0);
}

static void test_section_argument_spacing(void **state)
{
    (void)state;
    struct iocd_ini ini;
    parse_ok(&ini, "[adapter   water  ]\n[adapter ]\n[log]\n");
    assert_int_equal(ini.n_sections, 3);
    assert_string_equal(ini.sections[0].name, "adapter");
    assert_string_equal(ini.sections[0].arg, "water");
    assert_int_equal(ini.sections[0].line, 1);
    assert_int_equal(ini.sections[0].n_entries, 0);
    assert_string_equal(ini.sections[1].name, "adapter");
    assert_null(ini.sections[1].arg);
    assert_int_equal(ini.sections[1].line, 2);
    assert_string_equal(ini.sections[2].name, "log");
    assert_int_equal(ini.sections[2].line, 3);
    iocd_ini_free(&ini);
}

static void test_quotes(void **state)
{
    (void)state;
    struct iocd_ini ini;
    parse_ok(&ini, "[s]\n"
                   "a = \"\"\n"
                   "b = \"\n"
                   "c = \"open\n"
                   "d = \"x\" and \"y\"\n"
                   "e = \" \"\n");
    struct iocd_ini_section *s = &ini.sections[0];
    assert_int_equal(s->n_entries, 5);
    assert_entry(&s->entries[0], "a", "", 2);
    assert_entry(&s->entries[1], "b", "\"", 3);
    assert_entry(&s->entries[2], "c", "\"open", 4);
    assert_entry(&s->entries[3], "d", "x\" and \"y", 5);
    assert_entry(&s->entries[4], "e", " ", 6);
    iocd_ini_free(&ini);
}

static void test_crlf_and_tabs(void **state)
{
    (void)state;
    struct iocd_ini ini;
    parse_ok(&ini, "[mqtt]\r\nhost\t=\tbroker\r\n\r\nkey.with-all_chars9 = v\r\n");
    assert_int_equal(ini.n_sections, 1);
    assert_int_equal(ini.sections[0].n_entries, 2);
    assert_entry(&ini.sections[0].entries[0], "host", "broker", 2);
    assert_entry(&ini.sections[0].entries[1], "key.with-all_chars9", "v", 4);
    iocd_ini_free(&ini);
}

static void test_empty_text(void **state)
{
    (void)state;
    struct iocd_ini ini;
    parse_ok(&ini, "");
    assert_int_equal(ini.n_sections, 0);
    iocd_ini_free(&ini);
    parse_ok(&ini, "\n\n# only comments\n");
    assert_int_equal(ini.n_sections, 0);
    iocd_ini_free(&ini);
}

static void test_default_path_name(void **state)
{
    (void)state;
    struct iocd_ini ini;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_parse(&ini, NULL, "\nk = v\n", &err), -1);
    assert_string_equal(err.msg, "(defaults):2: key outside of any [section]");
    iocd_ini_free(&ini);
}

static void test_errors(void **state)
{
    (void)state;
    expect_parse_error("k = v\n", "t.conf:1: key outside of any [section]");
    expect_parse_error("# c\n\n; c\nk = v\n[s]\n", "t.conf:4: key outside of any [section]");
    expect_parse_error("[s]\na = 1\n[adapter air\n", "t.conf:3: section header without closing ']'");
    expect_parse_error("[s]\n = v\n", "t.conf:2: empty key");
    expect_parse_error("[s]\n=\n", "t.conf:2: empty key");
    expect_parse_error("[s]\n\nbad key = v\n", "t.conf:3: invalid key 'bad key'");
    expect_parse_error("[s]\nk$ = v\n", "t.conf:2: invalid key 'k$'");
    expect_parse_error("[s]\nk/x = v\n", "t.conf:2: invalid key 'k/x'");
    expect_parse_error("[s]\njust words\n", "t.conf:2: expected 'key = value' or '[section]'");
    expect_parse_error("[adapter a/b]\n",
                       "t.conf:1: section argument 'a/b' must be one word without '/'");
    expect_parse_error("[s]\n[adapter one two]\n",
                       "t.conf:2: section argument 'one two' must be one word without '/'");
    expect_parse_error("[adapter \"q\"]\n",
                       "t.conf:1: section argument '\"q\"' must be one word without '/'");
    expect_parse_error("[]\n", "t.conf:1: empty section name");
    expect_parse_error("[   ]\n", "t.conf:1: empty section name");
    expect_parse_error("[m.q]\n", "t.conf:1: invalid section name 'm.q'");
    expect_parse_error("[s]\nk = a\x01" "b\n", "t.conf:2: control character in line");
    expect_parse_error("[s]\nk = v\n\nx = a\x1b[0m\n", "t.conf:4: control character in line");
    expect_parse_error("[s]\nk = a\rb\n", "t.conf:2: control character in line");
}

static void test_get(void **state)
{
    (void)state;
    struct iocd_ini ini;
    parse_ok(&ini, "[mqtt]\n"       /* 1 */
                   "port = 1\n"     /* 2 */
                   "host = h\n"     /* 3 */
                   "\n"             /* 4 */
                   "port = 2\n"     /* 5 */
                   "port = 3\n");   /* 6 */
    struct iocd_ini_section *s = &ini.sections[0];
    struct iocd_error err = {{0}};
    bool dup = true;

    struct iocd_ini_entry *e = iocd_ini_get(&ini, s, "host", &dup, &err);
    assert_non_null(e);
    assert_ptr_equal(e, &s->entries[1]);
    assert_false(dup);
    assert_true(e->used);
    assert_string_equal(e->value, "h");
    assert_string_equal(err.msg, "");

    dup = true;
    assert_null(iocd_ini_get(&ini, s, "absent", &dup, &err));
    assert_false(dup);
    assert_string_equal(err.msg, "");

    assert_null(iocd_ini_get(&ini, s, "port", &dup, &err));
    assert_true(dup);
    assert_string_equal(err.msg, "t.conf:5: key 'port' given twice (first on line 2)");
    assert_true(s->entries[0].used);
    assert_true(s->entries[2].used);
    iocd_ini_free(&ini);
}

static void test_check_unused(void **state)
{
    (void)state;
    struct iocd_ini ini;
    parse_ok(&ini, "[mqtt]\n"          /* 1 */
                   "host = h\n"        /* 2 */
                   "x = 1\n"           /* 3 */
                   "[adapter air]\n"   /* 4 */
                   "topic = t\n"       /* 5 */
                   "colour = red\n");  /* 6 */
    struct iocd_error err = {{0}};
    bool dup;
    assert_non_null(iocd_ini_get(&ini, &ini.sections[0], "host", &dup, &err));
    assert_non_null(iocd_ini_get(&ini, &ini.sections[1], "topic", &dup, &err));

    assert_int_equal(iocd_ini_check_unused(&ini, &err), -1);
    assert_string_equal(err.msg, "t.conf:3: unknown key 'x' in [mqtt]");

    ini.sections[0].entries[1].used = true;
    assert_int_equal(iocd_ini_check_unused(&ini, &err), -1);
    assert_string_equal(err.msg, "t.conf:6: unknown key 'colour' in [adapter air]");

    ini.sections[1].entries[1].used = true;
    memset(&err, 0, sizeof(err));
    assert_int_equal(iocd_ini_check_unused(&ini, &err), 0);
    assert_string_equal(err.msg, "");
    iocd_ini_free(&ini);
}

/* ---- files ---- */

struct tmpdir {
    char dir[64];
    char file[128];
};

static int setup_tmp(void **state)
{
    struct tmpdir *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "/tmp/iocd-test-ini-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->file, sizeof(t->file), "%s/t.conf", t->dir);
    *state = t;
    return 0;
}

static int teardown_tmp(void **state)
{
    struct tmpdir *t = *state;
    unlink(t->file);
    int rc = rmdir(t->dir);
    free(t);
    return rc;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_load_file(void **state)
{
    struct tmpdir *t = *state;
    static const char text[] = "\n[store]\npath = x.db\n";
    write_file(t->file, text, sizeof(text) - 1);
    struct iocd_ini ini;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_load(&ini, t->file, &err), 0);
    assert_string_equal(ini.path, t->file);
    assert_int_equal(ini.n_sections, 1);
    assert_int_equal(ini.sections[0].line, 2);
    assert_entry(&ini.sections[0].entries[0], "path", "x.db", 3);
    iocd_ini_free(&ini);

    /* Messages carry the file's path. */
    static const char bad[] = "[store]\npath\n";
    write_file(t->file, bad, sizeof(bad) - 1);
    assert_int_equal(iocd_ini_load(&ini, t->file, &err), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s:2: expected 'key = value' or '[section]'", t->file);
    assert_string_equal(err.msg, want);
    iocd_ini_free(&ini);
}

static void test_load_missing(void **state)
{
    struct tmpdir *t = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/absent.conf", t->dir);
    struct iocd_ini ini;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_load(&ini, path, &err), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err.msg, want);
    assert_int_equal(ini.n_sections, 0);
    iocd_ini_free(&ini);
}

static void test_load_nul_bytes(void **state)
{
    struct tmpdir *t = *state;
    static const char text[] = "[mqtt]\nhost = a\0b\n";
    write_file(t->file, text, sizeof(text) - 1);
    struct iocd_ini ini;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_load(&ini, t->file, &err), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s: binary file (contains NUL bytes)", t->file);
    assert_string_equal(err.msg, want);
    iocd_ini_free(&ini);
}

static void test_load_too_large(void **state)
{
    struct tmpdir *t = *state;
    size_t n = (4u << 20) + 1;
    char *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, '\n', n);
    write_file(t->file, buf, n);
    struct iocd_ini ini;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_ini_load(&ini, t->file, &err), -1);
    char want[256];
    snprintf(want, sizeof(want), "%s: file larger than 4 MiB", t->file);
    assert_string_equal(err.msg, want);
    iocd_ini_free(&ini);

    /* Exactly 4 MiB of blank lines is accepted. */
    write_file(t->file, buf, n - 1);
    assert_int_equal(iocd_ini_load(&ini, t->file, &err), 0);
    assert_int_equal(ini.n_sections, 0);
    iocd_ini_free(&ini);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sections_comments_trimming),
        cmocka_unit_test(test_section_argument_spacing),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_crlf_and_tabs),
        cmocka_unit_test(test_empty_text),
        cmocka_unit_test(test_default_path_name),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_check_unused),
        cmocka_unit_test_setup_teardown(test_load_file, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_missing, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_nul_bytes, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_too_large, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
