/* tests/unit/test_notify.c — daemon/base/template.c (placeholders filled
 * JSON-escaped), daemon/notify/body.c (the default JSON body, templates,
 * the state of a change), daemon/notify/deliver.c (what an HTTP status
 * means), daemon/notify/queue.c (the on-disk queue: bound, order,
 * postpone, purge, kept across a reopen) and the [notify] defaults of
 * daemon/config/notify_channels.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/base/template.h"
#include "daemon/config/config.h"
#include "daemon/notify/body.h"
#include "daemon/notify/deliver.h"
#include "daemon/notify/queue.h"

static const char *const names[] = {"rule", "text", "value"};

static char *render(const char *tpl, const char *const *values)
{
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_template_render(&b, tpl, names, values, 3);
    assert_false(b.oom);
    return iocd_buf_take(&b);
}

static void test_template_substitution(void **state)
{
    (void)state;
    const char *v[] = {"pm25_high", "say \"hi\"\\\n\tend\x01", "60"};
    char *s = render("{\"text\": \"{rule}: {text}\", \"v\": {value}}", v);
    assert_string_equal(s, "{\"text\": \"pm25_high: say \\\"hi\\\"\\\\\\n\\tend\\u0001\", \"v\": 60}");
    free(s);
    /* Braces that do not form a placeholder are text; unknown names stay. */
    s = render("{} {{rule}} {Rule} {rule {ru-le} {unknown} {} {", v);
    assert_string_equal(s, "{} {pm25_high} {Rule} {rule {ru-le} {unknown} {} {");
    free(s);
    /* UTF-8 passes unchanged; NULL values are empty. */
    const char *v2[] = {"cảnh báo", NULL, "1"};
    s = render("{rule}|{text}|", v2);
    assert_string_equal(s, "cảnh báo||");
    free(s);
    s = render("", v);
    assert_string_equal(s, "");
    free(s);
    /* A name longer than 32 characters is never a placeholder. */
    s = render("{abcdefghijklmnopqrstuvwxyzabcdefg}", v);
    assert_string_equal(s, "{abcdefghijklmnopqrstuvwxyzabcdefg}");
    free(s);
}

static void test_template_check(void **state)
{
    (void)state;
    char bad[64];
    size_t at = 99;
    assert_int_equal(iocd_template_check("{\"a\": \"{rule} {value}\"}", names, 3, bad,
                                         sizeof(bad), &at), 0);
    assert_int_equal(iocd_template_check("x {rule} {vaule} {nope}", names, 3, bad, sizeof(bad),
                                         &at), -1);
    assert_string_equal(bad, "{vaule}");
    assert_int_equal(at, 9);
    assert_int_equal(iocd_template_check("{ rule } {RULE} {}", names, 3, bad, sizeof(bad), &at),
                     0);
}

static struct iocd_alert_rule rule = {.name = "pm25_high"};

static struct iocd_alert_change change(void)
{
    struct iocd_alert_change c = {
        .rule = &rule,
        .id = "pm25_high/air/pk-01/pm25",
        .series = "air/pk-01/pm25",
        .source = "air",
        .device = "pk-01",
        .raised = true,
        .severity = 4,
        .value = 60.5,
        .threshold = 55,
        .band = -1,
        .prev_band = -1,
        .time_ms = 1795330800120,
        .raised_ms = 1795330800000,
        .text = "PM2.5 \"high\"",
    };
    return c;
}

static void test_default_body(void **state)
{
    (void)state;
    struct iocd_alert_change c = change();
    struct iocd_notify_values v;
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_notify_values_fill(&v, &c, "ops", "11111111-2222-4333-8444-555555555555");
    iocd_notify_body(&b, NULL, &v);
    assert_string_equal(
        b.p, "{\"notification_id\":\"11111111-2222-4333-8444-555555555555\",\"channel\":\"ops\","
             "\"id\":\"pm25_high/air/pk-01/pm25\",\"rule\":\"pm25_high\",\"state\":\"raised\","
             "\"action\":\"\",\"severity\":\"major\",\"text\":\"PM2.5 \\\"high\\\"\","
             "\"source\":\"air\",\"device\":\"pk-01\",\"series\":\"air/pk-01/pm25\","
             "\"value\":60.5,\"threshold\":55,\"time\":\"2026-11-22T07:00:00.120Z\","
             "\"raised\":\"2026-11-22T07:00:00Z\",\"actor\":\"\",\"note\":\"\","
             "\"assignee\":\"\"}");
    /* An operator's resolve is a clear, with its action; a value that is
     * not finite is null. */
    c.raised = false;
    c.action = "resolved";
    c.actor = "lan";
    c.note = "xong";
    c.value = NAN;
    iocd_buf_reset(&b);
    iocd_notify_values_fill(&v, &c, "ops", "x");
    iocd_notify_body(&b, "{state}/{action}/{actor}/{note}/{value}/{assignee}", &v);
    assert_string_equal(b.p, "cleared/resolved/lan/xong/null/");
    iocd_buf_free(&b);
}

static void test_state_and_bits(void **state)
{
    (void)state;
    struct iocd_alert_change c = change();
    assert_string_equal(iocd_notify_state(&c), "raised");
    assert_int_equal(iocd_notify_change_bit(&c), IOCD_NOTIFY_ON_RAISED);
    c.action = "acknowledged";
    assert_string_equal(iocd_notify_state(&c), "acknowledged");
    assert_int_equal(iocd_notify_change_bit(&c), IOCD_NOTIFY_ON_ACKNOWLEDGED);
    c.action = "assigned";
    assert_int_equal(iocd_notify_change_bit(&c), IOCD_NOTIFY_ON_ASSIGNED);
    c.action = "resolved";
    c.raised = false;
    assert_string_equal(iocd_notify_state(&c), "cleared");
    assert_int_equal(iocd_notify_change_bit(&c), IOCD_NOTIFY_ON_CLEARED);
    c.action = NULL;
    assert_int_equal(iocd_notify_change_bit(&c), IOCD_NOTIFY_ON_CLEARED);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(iocd_notify_classify(200), IOCD_NOTIFY_DELIVERED);
    assert_int_equal(iocd_notify_classify(204), IOCD_NOTIFY_DELIVERED);
    assert_int_equal(iocd_notify_classify(0), IOCD_NOTIFY_RETRY);
    assert_int_equal(iocd_notify_classify(408), IOCD_NOTIFY_RETRY);
    assert_int_equal(iocd_notify_classify(429), IOCD_NOTIFY_RETRY);
    assert_int_equal(iocd_notify_classify(500), IOCD_NOTIFY_RETRY);
    assert_int_equal(iocd_notify_classify(503), IOCD_NOTIFY_RETRY);
    assert_int_equal(iocd_notify_classify(400), IOCD_NOTIFY_PERMANENT);
    assert_int_equal(iocd_notify_classify(401), IOCD_NOTIFY_PERMANENT);
    assert_int_equal(iocd_notify_classify(404), IOCD_NOTIFY_PERMANENT);
    assert_int_equal(iocd_notify_classify(301), IOCD_NOTIFY_PERMANENT);
}

static void count(void *ud, const char *channel, int64_t n)
{
    char *out = ud;
    char line[64];
    snprintf(line, sizeof(line), "%s=%lld;", channel, (long long)n);
    strcat(out, line);
}

static void test_queue(void **state)
{
    (void)state;
    char path[] = "/tmp/iocd-test-queue-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct iocd_error err;
    struct iocd_notify_queue *q;
    assert_int_equal(iocd_notify_queue_open(&q, path, &err), 0);
    /* Bound 2 per channel: the oldest goes. */
    assert_int_equal(iocd_notify_queue_begin(q, &err), 0);
    assert_int_equal(iocd_notify_queue_push(q, "a", "u1", 1, "one", 3, 2, &err), 0);
    assert_int_equal(iocd_notify_queue_push(q, "a", "u2", 2, "two", 3, 2, &err), 0);
    assert_int_equal(iocd_notify_queue_push(q, "b", "u3", 3, "three", 5, 2, &err), 0);
    assert_int_equal(iocd_notify_queue_push(q, "a", "u4", 4, "four", 4, 2, &err), 1);
    assert_int_equal(iocd_notify_queue_commit(q, &err), 0);
    struct iocd_notify_item it;
    assert_int_equal(iocd_notify_queue_next(q, &it, &err), 1);
    assert_string_equal(it.uid, "u2");
    assert_string_equal(it.channel, "a");
    assert_string_equal(it.body, "two");
    assert_int_equal(it.len, 3);
    /* A postponed head holds its channel; the other channel goes first. */
    assert_int_equal(iocd_notify_queue_postpone(q, it.row, 1, INT64_C(1) << 50, &err), 0);
    iocd_notify_item_free(&it);
    assert_int_equal(iocd_notify_queue_next(q, &it, &err), 1);
    assert_string_equal(it.uid, "u3");
    assert_int_equal(iocd_notify_queue_remove(q, it.row, &err), 0);
    iocd_notify_item_free(&it);
    assert_int_equal(iocd_notify_queue_next(q, &it, &err), 1);
    assert_string_equal(it.uid, "u2");
    assert_int_equal(it.attempts, 1);
    assert_true(it.next_ms > 0);
    iocd_notify_item_free(&it);
    iocd_notify_queue_close(q);
    /* Reopened: every row is due at once, attempts kept. */
    assert_int_equal(iocd_notify_queue_open(&q, path, &err), 0);
    assert_int_equal(iocd_notify_queue_next(q, &it, &err), 1);
    assert_string_equal(it.uid, "u2");
    assert_int_equal(it.next_ms, 0);
    assert_int_equal(it.attempts, 1);
    iocd_notify_item_free(&it);
    char counts[256] = "";
    assert_int_equal(iocd_notify_queue_counts(q, count, counts, &err), 0);
    assert_string_equal(counts, "a=2;");
    /* Purge what no configured channel owns. */
    assert_int_equal(iocd_notify_queue_push(q, "c", "u5", 5, "five", 4, 10, &err), 0);
    const char *keep[] = {"c"};
    counts[0] = '\0';
    assert_int_equal(iocd_notify_queue_purge(q, keep, 1, count, counts, &err), 2);
    assert_string_equal(counts, "a=2;");
    assert_int_equal(iocd_notify_queue_next(q, &it, &err), 1);
    assert_string_equal(it.uid, "u5");
    assert_int_equal(iocd_notify_queue_remove(q, it.row, &err), 0);
    iocd_notify_item_free(&it);
    assert_int_equal(iocd_notify_queue_next(q, &it, &err), 0);
    iocd_notify_queue_close(q);
    unlink(path);
    char side[64];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct iocd_config cfg;
    struct iocd_error err;
    const char *text = "[adapter air]\ntopic = a/+\nformat = json\ndevice = $.d\n"
                       "metric.x = $.x\n"
                       "[alert hi]\ntype = threshold\nmatch = air/+/x\nabove = 1\n"
                       "[notify ops]\nurl = https://example.org/hook\n"
                       "[notify tg]\nurl = http://127.0.0.1:9/x\nrules = hi\non = assigned\n"
                       "min_severity = minor\nrate_limit = 0\nheader.Authorization = Bearer x\n"
                       "header.Content-Type = text/plain\ntimeout = 2s\nqueue_max = 5\n";
    assert_int_equal(iocd_config_load_string(&cfg, "t.conf", text, &err), 0);
    assert_int_equal(cfg.n_notify, 2);
    const struct iocd_notify_channel *c = &cfg.notify[0];
    assert_string_equal(c->name, "ops");
    assert_string_equal(c->url, "https://example.org/hook");
    assert_int_equal(c->n_rules, 0);
    assert_int_equal(c->min_severity, 0);
    assert_int_equal(c->on, IOCD_NOTIFY_ON_RAISED | IOCD_NOTIFY_ON_ACKNOWLEDGED |
                                IOCD_NOTIFY_ON_CLEARED);
    assert_null(c->template);
    assert_int_equal(c->timeout_ms, 10000);
    assert_int_equal(c->retry_min_ms, 1000);
    assert_int_equal(c->retry_max_ms, 300000);
    assert_int_equal(c->rate_count, 20);
    assert_int_equal(c->rate_period_ms, 60000);
    assert_int_equal(c->queue_max, 1000);
    assert_true(c->tls_verify);
    c = &cfg.notify[1];
    assert_int_equal(c->n_rules, 1);
    assert_string_equal(c->rules[0], "hi");
    assert_int_equal(c->on, IOCD_NOTIFY_ON_ASSIGNED);
    assert_int_equal(c->min_severity, 3);
    assert_int_equal(c->rate_count, 0);
    assert_int_equal(c->n_headers, 2);
    assert_string_equal(c->header_name[0], "Authorization");
    assert_string_equal(c->header_value[0], "Bearer x");
    assert_string_equal(c->header_name[1], "Content-Type");
    assert_int_equal(c->timeout_ms, 2000);
    assert_int_equal(c->queue_max, 5);
    iocd_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_substitution),
        cmocka_unit_test(test_template_check),
        cmocka_unit_test(test_default_body),
        cmocka_unit_test(test_state_and_bits),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_config_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
