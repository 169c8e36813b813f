/* tests/unit/test_log.c — daemon/base/log.c under journald: the exact
 * journal fields each line sends (through a recording sender in place of
 * sd_journal_sendv), the stderr line when sending fails or stderr is not
 * the journal.
 *
 * Owns: the recorded fields and the temporary file standing in for
 * stderr while a test reads what was written there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/base/log.h"

#define MAX_SENT 16

static char sent[MAX_SENT][1200];
static int n_sent, n_calls, send_result;

static int record_send(const struct iovec *iov, int n)
{
    n_calls++;
    n_sent = 0;
    for (int i = 0; i < n && i < MAX_SENT; i++) {
        assert_true(iov[i].iov_len < sizeof(sent[i]));
        memcpy(sent[i], iov[i].iov_base, iov[i].iov_len);
        sent[i][iov[i].iov_len] = '\0';
        n_sent++;
    }
    return send_result;
}

/* JOURNAL_STREAM names stderr (or not), as systemd sets it. */
static void journal_stream_set(bool is_stderr)
{
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char v[64];
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (is_stderr ? 0 : 1));
    setenv("JOURNAL_STREAM", v, 1);
}

static int setup(void **state)
{
    (void)state;
    n_sent = n_calls = send_result = 0;
    journal_stream_set(true);
    iocd_log_init(LOG_INFO);
    iocd_log_journal_set(record_send);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    iocd_log_journal_set(NULL);
    unsetenv("JOURNAL_STREAM");
    return 0;
}

static void assert_sent(const char *const *want, int n)
{
    assert_int_equal(n_calls, 1);
    assert_int_equal(n_sent, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(sent[i], want[i]);
}

static void test_reject_fields(void **state)
{
    (void)state;
    struct iocd_log_fields f = {.feed = "air", .topic = "pleiku/air/GL-AQ01/data",
                                .reason = "bad_json"};
    iocd_log_fields(LOG_WARNING, "air", &f, "rejected message on '%s': %s", f.topic, f.reason);
    const char *want[] = {
        "MESSAGE=air: rejected message on 'pleiku/air/GL-AQ01/data': bad_json",
        "PRIORITY=4",
        "SYSLOG_IDENTIFIER=iocd",
        "IOCD_SUBSYSTEM=air",
        "IOCD_FEED=air",
        "IOCD_TOPIC=pleiku/air/GL-AQ01/data",
        "IOCD_REASON=bad_json",
    };
    assert_sent(want, 7);
}

static void test_series_field_and_plain_lines(void **state)
{
    (void)state;
    struct iocd_log_fields f = {.feed = "air", .series = "air/GL-AQ01/pm25"};
    iocd_log_fields(LOG_NOTICE, "alert", &f, "pm25_high raised");
    const char *want[] = {"MESSAGE=alert: pm25_high raised", "PRIORITY=5",
                          "SYSLOG_IDENTIFIER=iocd", "IOCD_SUBSYSTEM=alert", "IOCD_FEED=air",
                          "IOCD_SERIES=air/GL-AQ01/pm25"};
    assert_sent(want, 6);

    n_calls = 0;
    iocd_log_err("mqtt", "connection lost: %s", "timeout");
    const char *plain[] = {"MESSAGE=mqtt: connection lost: timeout", "PRIORITY=3",
                           "SYSLOG_IDENTIFIER=iocd", "IOCD_SUBSYSTEM=mqtt"};
    assert_sent(plain, 4);
}

static void test_control_characters_and_length(void **state)
{
    (void)state;
    char topic[1500];
    memset(topic, 't', sizeof(topic) - 1);
    topic[sizeof(topic) - 1] = '\0';
    topic[3] = '\n';
    struct iocd_log_fields f = {.topic = topic};
    iocd_log_fields(LOG_WARNING, "text", &f, "bad\tvalue\x1b[31m");
    assert_int_equal(n_calls, 1);
    assert_int_equal(n_sent, 5);
    assert_string_equal(sent[0], "MESSAGE=text: bad?value?[31m");
    /* A field is cut to 1099 bytes, name included, and made printable. */
    assert_int_equal(strlen(sent[4]), 1099);
    assert_memory_equal(sent[4], "IOCD_TOPIC=ttt?ttt", 18);
}

static void test_below_level_sends_nothing(void **state)
{
    (void)state;
    iocd_log_set_level(LOG_NOTICE);
    iocd_log_info("store", "flushed");
    iocd_log_debug("store", "details");
    assert_int_equal(n_calls, 0);
    iocd_log_set_level(LOG_INFO);
}

/* What fn writes to stderr, captured in a temporary file. */
static void stderr_capture(void (*fn)(void), char *out, size_t n)
{
    char path[] = "/tmp/iocd-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn();
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    ssize_t r = pread(fd, out, n - 1, 0);
    assert_true(r >= 0);
    out[r] = '\0';
    close(fd);
}

static void log_one_reject(void)
{
    struct iocd_log_fields f = {.feed = "air", .reason = "too_large"};
    iocd_log_fields(LOG_WARNING, "air", &f, "rejected: %s", "too_large");
}

static void test_failed_send_falls_back_to_stderr(void **state)
{
    (void)state;
    send_result = -1;
    char out[256];
    stderr_capture(log_one_reject, out, sizeof(out));
    assert_int_equal(n_calls, 1);
    assert_string_equal(out, "<4>air: rejected: too_large\n");
}

static void test_not_the_journal_keeps_plain_lines(void **state)
{
    (void)state;
    journal_stream_set(false);
    iocd_log_init(LOG_INFO);
    iocd_log_journal_set(record_send);
    char out[256];
    stderr_capture(log_one_reject, out, sizeof(out));
    assert_int_equal(n_calls, 0);
    /* "2026-11-22T10:00:00.123Z warning air: rejected: too_large\n" */
    assert_int_equal(strlen(out), 24 + strlen(" warning air: rejected: too_large\n"));
    assert_string_equal(out + 24, " warning air: rejected: too_large\n");
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[23], 'Z');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reject_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_field_and_plain_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_characters_and_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_below_level_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_send_falls_back_to_stderr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_the_journal_keeps_plain_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
