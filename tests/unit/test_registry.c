/* tests/unit/test_registry.c — the device registry's parser
 * (daemon/config/registry.c): CSV and JSON read into the same rows, the
 * refusals with their exact file:line (or file:[index]) messages, lookup,
 * tags, the reload's kept times, the id rule against the pipeline's, and
 * the bounding boxes of daemon/base/bbox.c; and the precedence between a
 * reported position and the registry's (daemon/alerts/devices.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/aggregate/series.h"
#include "daemon/alerts/devices.h"
#include "daemon/base/bbox.h"
#include "daemon/config/registry.h"

static const char csv[] =
    "source,device,name,lat,lon,area,subsystem,tags\n"
    "air,pk-01,\"Trạm \"\"A\"\", trường học\",13.9812,108.0021,Hội Thương,air,school; fixed\n"
    "# a comment, then a blank line\n"
    "\n"
    "air,pk-02,Trạm B,,,Tây Sơn,air,\r\n"
    "bus,GL-BUS01,\"Xe buýt số 1\",13.98,108,,bus,\n"
    "water,wl-1,,-90,180,,,\n";

static const char json[] =
    "[{\"source\":\"air\",\"device\":\"pk-01\",\"name\":\"Trạm \\\"A\\\", trường học\","
    "\"lat\":13.9812,\"lon\":108.0021,\"area\":\"Hội Thương\",\"subsystem\":\"air\","
    "\"tags\":[\"school\",\"fixed\"]},"
    "{\"source\":\"air\",\"device\":\"pk-02\",\"name\":\"Trạm B\",\"lat\":null,\"lon\":null,"
    "\"area\":\"Tây Sơn\",\"subsystem\":\"air\",\"tags\":\"\"},"
    "{\"source\":\"bus\",\"device\":\"GL-BUS01\",\"name\":\"Xe buýt số 1\",\"lat\":13.98,"
    "\"lon\":108,\"subsystem\":\"bus\"},"
    "{\"source\":\"water\",\"device\":\"wl-1\",\"lat\":-90,\"lon\":180}]";

static struct iocd_registry *parse_ok(const char *text)
{
    struct iocd_registry *r = NULL;
    struct iocd_error err = {{0}};
    int rc = iocd_registry_parse(text, strlen(text), "reg", 42, &r, &err);
    if (rc)
        fprintf(stderr, "unexpected: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(r);
    return r;
}

static void check_rows(const struct iocd_registry *r)
{
    assert_int_equal(iocd_registry_count(r), 4);
    const struct iocd_registry_entry *a = iocd_registry_at(r, 0);
    assert_string_equal(a->source, "air");
    assert_string_equal(a->device, "pk-01");
    assert_string_equal(a->name, "Trạm \"A\", trường học");
    assert_true(a->has_position);
    assert_true(a->lat == 13.9812 && a->lon == 108.0021);
    assert_string_equal(a->area, "Hội Thương");
    assert_string_equal(a->subsystem, "air");
    assert_string_equal(a->tags, "school;fixed");
    assert_int_equal(a->n_tags, 2);
    assert_true(a->fixed);
    assert_int_equal(a->changed_ms, 42);
    const struct iocd_registry_entry *b = iocd_registry_at(r, 1);
    assert_string_equal(b->device, "pk-02");
    assert_false(b->has_position);
    assert_false(b->fixed);
    assert_string_equal(b->tags, "");
    assert_int_equal(b->n_tags, 0);
    const struct iocd_registry_entry *c = iocd_registry_at(r, 2);
    assert_string_equal(c->name, "Xe buýt số 1");
    assert_string_equal(c->area, "");
    assert_true(c->lat == 13.98 && c->lon == 108);
    const struct iocd_registry_entry *d = iocd_registry_at(r, 3);
    assert_string_equal(d->name, "");
    assert_true(d->lat == -90 && d->lon == 180); /* the edges are in range */
    assert_null(iocd_registry_at(r, 4));
    /* lookup */
    assert_ptr_equal(iocd_registry_find(r, "air", "pk-02"), b);
    assert_ptr_equal(iocd_registry_find(r, "bus", "GL-BUS01"), c);
    assert_null(iocd_registry_find(r, "air", "pk-03"));
    assert_null(iocd_registry_find(r, "pk-01", "air"));
    assert_null(iocd_registry_find(NULL, "air", "pk-01"));
    assert_true(iocd_registry_has_tag(a, "school"));
    assert_true(iocd_registry_has_tag(a, "fixed"));
    assert_false(iocd_registry_has_tag(a, "schoo"));
    assert_false(iocd_registry_has_tag(b, ""));
}

static void refused(const char *text, const char *message);

static void test_csv(void **state)
{
    (void)state;
    struct iocd_registry *r = parse_ok(csv);
    check_rows(r);
    /* line numbers count the comment and the blank line */
    assert_int_equal(iocd_registry_at(r, 0)->line, 2);
    assert_int_equal(iocd_registry_at(r, 1)->line, 5);
    assert_int_equal(iocd_registry_at(r, 2)->line, 6);
    assert_int_equal(iocd_registry_at(r, 3)->line, 7);

    iocd_registry_free(r);
    /* line breaks: CRLF, LF and a lone CR each end one line */
    r = parse_ok("source,device\r\rair,a\rair,b\r\n# c\rair,c\n\r\nair,d");
    assert_int_equal(iocd_registry_count(r), 4);
    assert_int_equal(iocd_registry_at(r, 0)->line, 3);
    assert_int_equal(iocd_registry_at(r, 1)->line, 4);
    assert_int_equal(iocd_registry_at(r, 2)->line, 6);
    assert_int_equal(iocd_registry_at(r, 3)->line, 8);
    iocd_registry_free(r);
    refused("source,device\rair,a\rair,a\r", "reg:3: duplicate of line 2 (the same source and "
                                              "device)");
    /* columns in another order, some left out; a UTF-8 BOM */
    r = parse_ok("\xef\xbb\xbf" "device,source,area\npk-01,air,Hội Phú\n");
    assert_int_equal(iocd_registry_count(r), 1);
    assert_string_equal(iocd_registry_at(r, 0)->area, "Hội Phú");
    assert_false(iocd_registry_at(r, 0)->has_position);
    iocd_registry_free(r);
    /* a header alone: an empty registry */
    r = parse_ok("source,device\n");
    assert_int_equal(iocd_registry_count(r), 0);
    iocd_registry_free(r);
}

static void test_json(void **state)
{
    (void)state;
    struct iocd_registry *r = parse_ok(json);
    check_rows(r);
    for (int i = 0; i < 4; i++)
        assert_int_equal(iocd_registry_at(r, (size_t)i)->line, i);
    iocd_registry_free(r);
    r = parse_ok("  \n[]");
    assert_int_equal(iocd_registry_count(r), 0);
    iocd_registry_free(r);
}

static void refused(const char *text, const char *message)
{
    struct iocd_registry *r = (struct iocd_registry *)1;
    struct iocd_error err = {{0}};
    assert_int_equal(iocd_registry_parse(text, strlen(text), "reg", 0, &r, &err), -1);
    assert_null(r);
    assert_string_equal(err.msg, message);
}

static void test_refusals(void **state)
{
    (void)state;
    const char *h = "source,device,name,lat,lon,area,subsystem,tags\n";
    char buf[2048];
#define ROW(row) (snprintf(buf, sizeof(buf), "%s%s", h, row), buf)
    refused("", "reg: empty: no header row (source,device,name,lat,lon,area,subsystem,tags)");
    refused("name,lat\n", "reg:1: the header must name the columns source and device (the first "
                          "row is the header)");
    refused("source,device,lat\n", "reg:1: column lat without lon");
    refused("source,device,device\n", "reg:1: column 'device' twice");
    refused("source,device,colour\n", "reg:1: unknown column 'colour' (source, device, name, "
                                      "lat, lon, area, subsystem, tags)");
    refused(ROW("air,pk-01,A,91,108,,,\n"), "reg:2: lat 91 is out of range -90..90");
    refused(ROW("air,pk-01,A,-90.5,108,,,\n"), "reg:2: lat -90.5 is out of range -90..90");
    refused(ROW("air,pk-01,A,13,-181,,,\n"), "reg:2: lon -181 is out of range -180..180");
    refused(ROW("air,pk-01,A,13,east,,,\n"), "reg:2: lon 'east' is not a number");
    refused(ROW("air,pk-01,A,nan,108,,,\n"), "reg:2: lat 'nan' is not a number");
    refused(ROW("air,pk-01,A,,108,,,\n"), "reg:2: lon without lat");
    refused(ROW("air,,A,,,,,\n"), "reg:2: device is missing");
    refused(ROW(",pk-01,A,,,,,\n"), "reg:2: source is missing");
    refused(ROW("air,pk/01,A,,,,,\n"), "reg:2: device 'pk/01' is not a valid id (1..128 bytes, "
                                       "no / + # ; or control characters)");
    refused(ROW("air,pk-01,A,,,Ward #1,,\n"), "reg:2: area 'Ward #1' is not a valid id (1..128 "
                                              "bytes, no / + # ; or control characters)");
    refused(ROW("air,pk-01,A,,,,air+,\n"), "reg:2: subsystem 'air+' is not a valid id (1..128 "
                                           "bytes, no / + # ; or control characters)");
    refused(ROW("air,pk-01,A,,,,,a;b/c\n"), "reg:2: tag 'b/c' is not a valid id");
    refused(ROW("air,pk-01,A,,,,,1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17\n"),
            "reg:2: more than 16 tags");
    refused(ROW("air,pk-01,A,,,,\n"), "reg:2: 7 fields, the header has 8");
    refused(ROW("air,pk-01,A,,,,,,\n"), "reg:2: 9 fields, the header has 8");
    refused(ROW("air,pk-01,\"A,,,,,\n"), "reg:2: a quoted field is not closed");
    refused(ROW("air,pk-01,\"A\"x,,,,,\n"), "reg:2: text after a quoted field's closing quote");
    refused(ROW("air,pk-01,A\"B,,,,,\n"), "reg:2: a quote inside an unquoted field");
    refused(ROW("air,pk-01,A,,,,,\nair,pk-02,B,,,,,\n\nair,pk-01,C,,,,,\n"),
            "reg:5: duplicate of line 2 (the same source and device)");
    refused(ROW("air,pk-01,\"A\tB\",,,,,\n"),
            "reg:2: name is longer than 256 bytes or holds control characters");
    {
        struct iocd_registry *r = NULL;
        struct iocd_error err;
        assert_int_equal(iocd_registry_parse("source,device\nair\0,x\n", 21, "reg", 0, &r, &err),
                         -1);
        assert_string_equal(err.msg, "reg: holds a NUL byte: not a text file");
    }
    /* JSON */
    refused("[1]", "reg:[0]: not an object");
    refused("[{\"source\":\"air\"}]", "reg:[0]: device is missing");
    refused("[{\"source\":\"air\",\"device\":\"a\"},{\"source\":\"air\",\"device\":\"b\","
            "\"lat\":\"13\",\"lon\":108}]",
            "reg:[1]: lat is not a number");
    refused("[{\"source\":\"air\",\"device\":\"a\",\"lat\":13,\"lon\":200}]",
            "reg:[0]: lon 200 is out of range -180..180");
    refused("[{\"source\":\"air\",\"device\":\"a\",\"lat\":13}]", "reg:[0]: lat without lon");
    refused("[{\"source\":\"air\",\"device\":\"a\",\"name\":7}]", "reg:[0]: name is not a string");
    refused("[{\"source\":\"air\",\"device\":\"a\",\"tags\":[\"x\",3]}]",
            "reg:[0]: tags[1] is not a valid id");
    refused("[{\"source\":\"air\",\"device\":\"a\",\"colour\":\"red\"}]",
            "reg:[0]: unknown member 'colour' (source, device, name, lat, lon, area, subsystem, "
            "tags)");
    refused("[{\"source\":\"air\",\"device\":\"a\"},{\"source\":\"air\",\"device\":\"a\"}]",
            "reg:[1]: duplicate of [0] (the same source and device)");
    refused("[{\"source\":\"air\",\n\"device\":}]", "reg:2: not valid JSON");
    refused("{\"source\":\"air\"}", "reg:1: a quote inside an unquoted field");
    /* a quoted field may span lines, but no field may hold a newline; the
     * error names the line the row starts on, and later lines count it */
    refused(ROW("air,pk-01,\"A\nB\",,,,,\n"),
            "reg:2: name is longer than 256 bytes or holds control characters");
    refused(ROW("air,pk-01,,,,,,\"x\n\"\nair,pk-01,,,,,,\n"), "reg:2: tag 'x\n' is not a valid id");
#undef ROW
}

static void test_format_by_name(void **state)
{
    (void)state;
    struct iocd_registry *r = NULL;
    struct iocd_error err;
    assert_int_equal(iocd_registry_parse_as("source,device\n", 14, "reg.json", IOCD_REGISTRY_JSON,
                                            0, &r, &err),
                     -1);
    assert_string_equal(err.msg, "reg.json: a .json registry is an array of objects: it starts "
                                 "with '['");
    assert_int_equal(iocd_registry_parse_as("[]", 2, "reg.csv", IOCD_REGISTRY_CSV, 0, &r, &err),
                     -1);
    assert_string_equal(err.msg, "reg.csv: a .csv registry starts with its header row "
                                 "(source,device,...), not '['");
    assert_int_equal(iocd_registry_load("/nonexistent/reg.csv", &r, &err), -1);
    assert_string_equal(err.msg, "/nonexistent/reg.csv: No such file or directory");
}

static void test_keep_times(void **state)
{
    (void)state;
    struct iocd_registry *old = NULL, *next = NULL;
    struct iocd_error err;
    const char *a = "source,device,lat,lon\nair,a,1,2\nair,b,3,4\nair,c,,\nair,d,5,6\n";
    const char *b = "source,device,lat,lon,name\nair,a,1,2,renamed\nair,b,3,4.5,\nair,c,,,\n"
                    "air,e,7,8,\n";
    assert_int_equal(iocd_registry_parse(a, strlen(a), "old", 100, &old, &err), 0);
    assert_int_equal(iocd_registry_parse(b, strlen(b), "new", 200, &next, &err), 0);
    iocd_registry_keep_times(next, old);
    assert_int_equal(iocd_registry_find(next, "air", "a")->changed_ms, 100); /* same position */
    assert_int_equal(iocd_registry_find(next, "air", "b")->changed_ms, 200); /* moved */
    assert_int_equal(iocd_registry_find(next, "air", "c")->changed_ms, 100); /* none, still */
    assert_int_equal(iocd_registry_find(next, "air", "e")->changed_ms, 200); /* new */
    iocd_registry_keep_times(next, NULL);
    iocd_registry_free(old);
    iocd_registry_free(next);
}

/* The registry's id rule is the pipeline's, and ';' besides. */
static void test_id_rule(void **state)
{
    (void)state;
    const char *ids[] = {"pk-01", "Hội Thương", "a b", "x/y", "x+y", "x#y", "x;y", "\x01", "",
                         "urn:ngsi-ld:OffStreetParking:GL-PK01", "\x7f"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        bool want = iocd_series_valid_id(ids[i]) && !strchr(ids[i], ';');
        assert_int_equal(iocd_registry_id_ok(ids[i], strlen(ids[i])), want);
    }
    char longest[IOCD_ID_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    longest[IOCD_ID_MAX] = '\0';
    assert_true(iocd_registry_id_ok(longest, IOCD_ID_MAX));
    assert_true(iocd_series_valid_id(longest));
    longest[IOCD_ID_MAX] = 'a';
    longest[IOCD_ID_MAX + 1] = '\0';
    assert_false(iocd_registry_id_ok(longest, IOCD_ID_MAX + 1));
    assert_false(iocd_series_valid_id(longest));
}

static void test_bbox(void **state)
{
    (void)state;
    struct iocd_bbox b;
    assert_int_equal(iocd_bbox_parse("107.9,13.9,108.1,14.1", &b), 0);
    assert_true(b.min_lon == 107.9 && b.min_lat == 13.9 && b.max_lon == 108.1 &&
                b.max_lat == 14.1);
    assert_true(iocd_bbox_contains(&b, 13.9, 107.9)); /* corners are inside */
    assert_true(iocd_bbox_contains(&b, 14.1, 108.1));
    assert_false(iocd_bbox_contains(&b, 14.100001, 108));
    assert_false(iocd_bbox_contains(&b, 14, 107.89999));
    assert_int_equal(iocd_bbox_parse(" -180 , -90 , 180 , 90 ", &b), 0);
    assert_true(iocd_bbox_contains(&b, -90, 180));
    /* across the antimeridian */
    assert_int_equal(iocd_bbox_parse("170,-10,-170,10", &b), 0);
    assert_true(iocd_bbox_contains(&b, 0, 175));
    assert_true(iocd_bbox_contains(&b, 0, -175));
    assert_true(iocd_bbox_contains(&b, 10, -170));
    assert_false(iocd_bbox_contains(&b, 0, 0));
    const char *bad[] = {"", "1,2,3", "1,2,3,4,5", "a,2,3,4", "1,2,3,4x", "181,0,182,1",
                         "0,-91,1,0", "0,2,1,1", "nan,0,1,1", "0,0,inf,1", "1e999,0,1,1",
                         "1,,2,3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(iocd_bbox_parse(bad[i], &b), -1);
}

static void test_position_precedence(void **state)
{
    (void)state;
    struct iocd_registry *r = NULL;
    struct iocd_error err;
    const char *t = "source,device,lat,lon,tags\nair,a,1,2,\nair,f,3,4,fixed\nair,n,,,\n";
    assert_int_equal(iocd_registry_parse(t, strlen(t), "reg", 1000, &r, &err), 0);
    const struct iocd_registry_entry *a = iocd_registry_find(r, "air", "a");
    const struct iocd_registry_entry *f = iocd_registry_find(r, "air", "f");
    const struct iocd_registry_entry *n = iocd_registry_find(r, "air", "n");
    struct iocd_device_info older = {.has_position = true, .lat = 9, .lon = 9, .position_ms = 999};
    struct iocd_device_info same = {.has_position = true, .lat = 8, .lon = 8, .position_ms = 1000};
    struct iocd_device_info none = {.has_position = false};
    struct iocd_device_position p = iocd_device_position_of(&older, a);
    assert_int_equal(p.source, IOCD_POSITION_REGISTRY);
    assert_true(p.lat == 1 && p.lon == 2 && p.time_ms == 1000);
    p = iocd_device_position_of(&same, a); /* a report at the change's time wins */
    assert_int_equal(p.source, IOCD_POSITION_REPORTED);
    assert_true(p.lat == 8 && p.time_ms == 1000);
    p = iocd_device_position_of(&same, f); /* fixed: the registry, always */
    assert_int_equal(p.source, IOCD_POSITION_REGISTRY);
    assert_true(p.lat == 3 && p.lon == 4);
    p = iocd_device_position_of(&older, n); /* the registry has none */
    assert_int_equal(p.source, IOCD_POSITION_REPORTED);
    p = iocd_device_position_of(&older, NULL);
    assert_int_equal(p.source, IOCD_POSITION_REPORTED);
    p = iocd_device_position_of(NULL, a); /* never heard from */
    assert_int_equal(p.source, IOCD_POSITION_REGISTRY);
    p = iocd_device_position_of(&none, n);
    assert_int_equal(p.source, IOCD_POSITION_NONE);
    p = iocd_device_position_of(NULL, NULL);
    assert_int_equal(p.source, IOCD_POSITION_NONE);
    assert_string_equal(iocd_position_source_name(IOCD_POSITION_REPORTED), "reported");
    assert_string_equal(iocd_position_source_name(IOCD_POSITION_REGISTRY), "registry");
    iocd_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_format_by_name),
        cmocka_unit_test(test_keep_times),
        cmocka_unit_test(test_id_rule),
        cmocka_unit_test(test_bbox),
        cmocka_unit_test(test_position_precedence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
