/* tests/unit/test_http.c — the HTTP server (daemon/http/, daemon/query/)
 * against a real TCP client on 127.0.0.1: provider endpoints, /api/v1/meta, the
 * merged live stats, the bearer token (401 and its counter), refusal of a
 * non-loopback address without a token, the DB endpoints against a SQLite
 * file written by iocd_store_open + iocd_store_flush (series, windows with
 * quantiles, rolling, alert history with raise/clear pairing), the SSE
 * stream (order, filter, types, Last-Event-ID replay and reset, overflow
 * of a client that never reads with the dropped count, pings, the client
 * limit), a client that leaves before its query answers, shutdown ending
 * open streams and with a query in flight, and the console served from
 * [http] web_root (hidden files, symbolic links and .. refused). The test
 * pumps the loop itself between non-blocking socket reads; every wait is
 * bounded (2 s, or 10 s for the overflow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/live/feed.h"
#include "daemon/http/server.h"
#include "daemon/live/hub.h"
#include "daemon/aggregate/sketch.h"
#include "daemon/store/sqlite.h"
#include "daemon/http/web_assets.h"
#include "daemon/http/host_check.h"
#include "daemon/http/web_root.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <fcntl.h>

#define T0 INT64_C(1795330800000) /* 2026-11-22T07:00:00Z */

struct fix {
    uv_loop_t loop;
    struct iocd_config cfg;
    struct iocd_live *live;
    struct iocd_http *h;
    int port;
    char db[64];
};

/* ---- fake provider ------------------------------------------------------ */

static char last_match[256], last_state[32];

static cJSON *p_status(void *ud)
{
    return cJSON_Parse("{\"version\":\"t\",\"series\":3}");
}
static uint64_t last_after;
static size_t last_limit;
static char *p_latest(void *ud, const char *match, uint64_t after, size_t limit, size_t *len)
{
    snprintf(last_match, sizeof(last_match), "%s", match ? match : "(null)");
    last_after = after;
    last_limit = limit;
    static const char page[] = "{\"series\":[{\"series\":\"air/pk-01/pm25\",\"value\":35.2}]}";
    *len = sizeof(page) - 1;
    return strdup(page);
}
static struct iocd_devices_filter last_filter;
static char *p_devices(void *ud, const struct iocd_devices_filter *flt, uint64_t after,
                       size_t limit, size_t *len)
{
    last_filter = *flt;
    snprintf(last_match, sizeof(last_match), "%s", flt->match ? flt->match : "(null)");
    snprintf(last_state, sizeof(last_state), "%s", flt->state ? flt->state : "(null)");
    last_after = after;
    last_limit = limit;
    static const char page[] =
        "{\"devices\":[{\"source\":\"air\",\"device\":\"pk-01\",\"state\":\"online\"}]}";
    *len = sizeof(page) - 1;
    return strdup(page);
}
static cJSON *p_active(void *ud)
{
    return cJSON_Parse("[{\"id\":\"hot/air/pk-02/pm25\",\"state\":\"raised\"}]");
}
static char *p_metrics(void *ud)
{
    return strdup("iocd_fake_total 7\n");
}
static int fail_health;
static int p_health(void *ud, cJSON *body)
{
    cJSON_AddStringToObject(body, "broker", fail_health ? "down" : "connected");
    return fail_health;
}
static const struct iocd_http_provider prov = {
    .status = p_status, .latest = p_latest, .devices = p_devices, .alerts_active = p_active,
    .metrics = p_metrics, .health = p_health, .ud = NULL};

/* ---- loop and client ---------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct client {
    int fd;
    char *buf;
    size_t len, cap;
    int eof;
};

static void client_read(struct client *c)
{
    for (int i = 0; i < 1000; i++) {
        if (c->len + 65536 > c->cap) {
            c->cap = (c->len + 65536) * 2;
            c->buf = realloc(c->buf, c->cap);
            assert_non_null(c->buf);
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
        if (r > 0) {
            c->len += (size_t)r;
            c->buf[c->len] = '\0';
        } else {
            if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                c->eof = 1;
            return;
        }
    }
}

/* Runs the loop and reads until `until` is in the buffer (NULL: EOF) or
 * `ms` pass. */
static void pump(struct fix *f, struct client *c, const char *until, int ms)
{
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (c) {
            client_read(c);
            if (until ? c->buf && strstr(c->buf, until) != NULL : c->eof)
                return;
        }
        struct pollfd p = {.fd = c ? c->fd : -1, .events = POLLIN};
        poll(&p, 1, 2);
    }
}

static void client_open(struct fix *f, struct client *c, const char *request)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    size_t n = strlen(request);
    assert_int_equal(send(c->fd, request, n, 0), (ssize_t)n);
}

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

/* GET `path` (HTTP/1.1, Connection: close): status and body (malloc'd). */
static int get(struct fix *f, const char *path, const char *headers, char **body)
{
    char req[2048];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", path,
             headers ? headers : "");
    struct client c;
    client_open(f, &c, req);
    pump(f, &c, NULL, 2000);
    assert_true(c.eof);
    assert_non_null(c.buf);
    int status = 0;
    assert_int_equal(sscanf(c.buf, "HTTP/1.1 %d", &status), 1);
    char *b = strstr(c.buf, "\r\n\r\n");
    assert_non_null(b);
    *body = strdup(b + 4);
    client_close(&c);
    return status;
}

/* Sends `request` as it is and returns the whole answer, head and body
 * (malloc'd), once the server closes. */
static char *raw(struct fix *f, const char *request)
{
    struct client c;
    client_open(f, &c, request);
    pump(f, &c, NULL, 2000);
    assert_true(c.eof);
    assert_non_null(c.buf);
    c.buf[c.len] = '\0'; /* also when nothing came */
    char *out = c.buf;
    c.buf = NULL;
    client_close(&c);
    return out;
}

static void expect(struct fix *f, const char *path, const char *headers, int status,
                   const char *body)
{
    char *got;
    int st = get(f, path, headers, &got);
    if (st != status || strcmp(got, body) != 0)
        fail_msg("GET %s: %d %s\nexpected %d %s", path, st, got, status, body);
    free(got);
}

/* ---- fixture ------------------------------------------------------------ */

static void fix_init(struct fix *f, const char *listen, const char *token)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->cfg.http.listen = (char *)listen;
    f->cfg.http.token = (char *)token;
    f->cfg.http.client_buffer = 64 * 1024;
    f->cfg.http.max_clients = 4;
    f->cfg.http.web_root = (char *)"";
    snprintf(f->db, sizeof(f->db), "/tmp/test_http_%d.db", (int)getpid());
    f->cfg.store.path = f->db;
    f->live = iocd_live_new(4);
    assert_non_null(f->live);
}

static void fix_start(struct fix *f)
{
    struct iocd_error err = {0};
    int r = iocd_http_start(&f->h, &f->loop, &f->cfg, f->live, &prov, &err);
    if (r != 0)
        fail_msg("start: %s", err.msg);
    f->port = iocd_http_port(f->h);
    assert_true(f->port > 0);
}

static void fix_stop(struct fix *f)
{
    iocd_http_close(f->h);
    int64_t end = mono_ms() + 3000;
    while (uv_run(&f->loop, UV_RUN_NOWAIT) && mono_ms() < end)
        poll(NULL, 0, 2);
    assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT), 0); /* nothing left open */
    iocd_http_free(f->h);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    iocd_live_free(f->live);
    unlink(f->db);
    char p[80];
    snprintf(p, sizeof(p), "%s-wal", f->db);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", f->db);
    unlink(p);
}

/* ---- provider endpoints, token, listen ---------------------------------- */

static void test_provider_endpoints(void **state)
{
    struct fix f;
    fix_init(&f, "127.0.0.1:0", "");
    fix_start(&f);
    expect(&f, "/healthz", NULL, 200, "{\"broker\":\"connected\",\"status\":\"ok\"}");
    fail_health = 1;
    expect(&f, "/healthz", NULL, 503, "{\"broker\":\"down\",\"status\":\"failing\"}");
    fail_health = 0;
    expect(&f, "/api/v1/status", NULL, 200,
           "{\"version\":\"t\",\"series\":3,\"live\":{\"clients\":0,\"sent\":0,\"dropped\":0}}");
    expect(&f, "/api/v1/latest?match=air/%2B/pm25", NULL, 200,
           "{\"series\":[{\"series\":\"air/pk-01/pm25\",\"value\":35.2}]}");
    assert_string_equal(last_match, "air/+/pm25");
    expect(&f, "/api/v1/latest", NULL, 200,
           "{\"series\":[{\"series\":\"air/pk-01/pm25\",\"value\":35.2}]}");
    assert_string_equal(last_match, "(null)");
    assert_int_equal(last_after, 0);
    assert_int_equal(last_limit, 1000); /* the default page */
    expect(&f, "/api/v1/latest?limit=2&after=41", NULL, 200,
           "{\"series\":[{\"series\":\"air/pk-01/pm25\",\"value\":35.2}]}");
    assert_int_equal(last_after, 41);
    assert_int_equal(last_limit, 2);
    expect(&f, "/api/v1/latest?limit=0", NULL, 400,
           "{\"error\":\"bad parameter (match, limit 1..2000, after)\"}");
    expect(&f, "/api/v1/latest?after=-1", NULL, 400,
           "{\"error\":\"bad parameter (match, limit 1..2000, after)\"}");
    expect(&f, "/api/v1/devices?state=stale&match=air%2F%23", NULL, 200,
           "{\"devices\":[{\"source\":\"air\",\"device\":\"pk-01\",\"state\":\"online\"}]}");
    assert_string_equal(last_match, "air/#");
    assert_string_equal(last_state, "stale");
    assert_int_equal(last_after, 0);
    assert_int_equal(last_limit, 1000);
    expect(&f, "/api/v1/devices?limit=5&after=7", NULL, 200,
           "{\"devices\":[{\"source\":\"air\",\"device\":\"pk-01\",\"state\":\"online\"}]}");
    assert_int_equal(last_after, 7);
    assert_int_equal(last_limit, 5);
    expect(&f, "/api/v1/devices?limit=2001", NULL, 400,
           "{\"error\":\"bad parameter (limit 1..2000, after)\"}");
    expect(&f, "/api/v1/devices?state=sleepy", NULL, 400,
           "{\"error\":\"bad state (online, stale, offline or unseen)\"}");
    /* the registry's filters reach the provider as given */
    expect(&f, "/api/v1/devices?bbox=107.9,13.9,108.1,14.05&area=H%E1%BB%99i%20Th%C6%B0%C6%A1ng"
               "&registered=false&state=unseen",
           NULL, 200,
           "{\"devices\":[{\"source\":\"air\",\"device\":\"pk-01\",\"state\":\"online\"}]}");
    assert_true(last_filter.has_bbox);
    assert_true(last_filter.bbox.min_lon == 107.9 && last_filter.bbox.min_lat == 13.9 &&
                last_filter.bbox.max_lon == 108.1 && last_filter.bbox.max_lat == 14.05);
    assert_string_equal(last_filter.area, "Hội Thương");
    assert_int_equal(last_filter.registered, 0);
    assert_string_equal(last_state, "unseen");
    expect(&f, "/api/v1/devices", NULL, 200,
           "{\"devices\":[{\"source\":\"air\",\"device\":\"pk-01\",\"state\":\"online\"}]}");
    assert_false(last_filter.has_bbox);
    assert_null(last_filter.area);
    assert_int_equal(last_filter.registered, -1);
    expect(&f, "/api/v1/devices?bbox=108.1,13.9,107.9", NULL, 400,
           "{\"error\":\"bad bbox (minlon,minlat,maxlon,maxlat: lon -180..180, lat -90..90, "
           "minlat <= maxlat)\"}");
    expect(&f, "/api/v1/devices?bbox=107.9,14.1,108.1,13.9", NULL, 400,
           "{\"error\":\"bad bbox (minlon,minlat,maxlon,maxlat: lon -180..180, lat -90..90, "
           "minlat <= maxlat)\"}");
    expect(&f, "/api/v1/devices?registered=yes", NULL, 400,
           "{\"error\":\"bad registered (true or false)\"}");
    expect(&f, "/api/v1/latest?match=%zz", NULL, 400,
           "{\"error\":\"bad parameter (match, limit 1..2000, after)\"}");
    expect(&f, "/api/v1/nope", NULL, 404, "{\"error\":\"no such endpoint\"}");
    expect(&f, "/../../etc/passwd", NULL, 404, "{\"error\":\"not found\"}");

    char *body;
    assert_int_equal(get(&f, "/metrics", NULL, &body), 200);
    assert_non_null(strstr(body, "iocd_fake_total 7\n"));
    assert_non_null(strstr(body, "\niocd_http_requests_total 21\n"));
    assert_non_null(strstr(body, "\niocd_live_clients 0\n"));
    assert_non_null(strstr(body, "\niocd_http_unauthorized_total 0\n"));
    free(body);

    /* not GET */
    struct client c;
    client_open(&f, &c, "POST /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                        "Content-Length: 0\r\n\r\n");
    pump(&f, &c, NULL, 2000);
    assert_non_null(c.buf);
    assert_memory_equal(c.buf, "HTTP/1.1 405", 12);
    client_close(&c);
    fix_stop(&f);
}

/* The console's names come from the daemon: ioc.v1.Severity 0..5 in order. */
static void test_meta(void **state)
{
    struct fix f;
    fix_init(&f, "127.0.0.1:0", "");
    fix_start(&f);
    expect(&f, "/api/v1/meta", NULL, 200,
           "{\"severities\":[\"unspecified\",\"info\",\"warning\",\"minor\",\"major\","
           "\"critical\"],\"map\":{\"tiles\":\"\",\"attribution\":\"\",\"areas\":false,"
           "\"area_value\":\"\"}}");
    fix_stop(&f);
    fix_init(&f, "127.0.0.1:0", "s3cret");
    fix_start(&f);
    expect(&f, "/api/v1/meta", NULL, 401, "{\"error\":\"unauthorized\"}");
    expect(&f, "/api/v1/meta", "Authorization: Bearer s3cret\r\n", 200,
           "{\"severities\":[\"unspecified\",\"info\",\"warning\",\"minor\",\"major\","
           "\"critical\"],\"map\":{\"tiles\":\"\",\"attribution\":\"\",\"areas\":false,"
           "\"area_value\":\"\"}}");
    fix_stop(&f);
}

static void live_open(struct fix *f, struct client *c, const char *query, const char *headers);

static void test_token(void **state)
{
    struct fix f;
    fix_init(&f, "localhost:0", "s3cret");
    fix_start(&f);
    expect(&f, "/api/v1/status", NULL, 401, "{\"error\":\"unauthorized\"}");
    expect(&f, "/api/v1/status", "Authorization: Bearer wrong!\r\n", 401,
           "{\"error\":\"unauthorized\"}");
    expect(&f, "/api/v1/live", "Authorization: Bearer s3cre\r\n", 401,
           "{\"error\":\"unauthorized\"}");
    expect(&f, "/healthz", NULL, 200, "{\"broker\":\"connected\",\"status\":\"ok\"}");
    /* the embedded console is public: no 401 */
    for (size_t i = 0; i < iocd_web_n_assets; i++) {
        char *body;
        assert_int_equal(get(&f, iocd_web_assets[i].path, NULL, &body), 200);
        assert_int_equal(strlen(body), iocd_web_assets[i].len);
        assert_memory_equal(body, iocd_web_assets[i].data, iocd_web_assets[i].len);
        free(body);
    }
    expect(&f, "/api/v1/status", "Authorization: Bearer s3cret\r\n", 200,
           "{\"version\":\"t\",\"series\":3,\"live\":{\"clients\":0,\"sent\":0,\"dropped\":0}}");
    /* access_token only on the live stream (EventSource sends no headers) */
    expect(&f, "/api/v1/status?access_token=s3cret", NULL, 401, "{\"error\":\"unauthorized\"}");
    expect(&f, "/api/v1/live?access_token=s3cre", NULL, 401, "{\"error\":\"unauthorized\"}");
    struct client c;
    live_open(&f, &c, "?access_token=s3cret", NULL);
    assert_non_null(strstr(c.buf, "HTTP/1.1 200"));
    client_close(&c);
    struct iocd_http_stats st;
    iocd_http_get_stats(f.h, &st);
    assert_int_equal(st.unauthorized, 5);
    assert_int_equal(st.requests, 8 + iocd_web_n_assets);
    char *body;
    assert_int_equal(get(&f, "/metrics", "Authorization: Bearer s3cret\r\n", &body), 200);
    assert_non_null(strstr(body, "\niocd_http_unauthorized_total 5\n"));
    free(body);
    fix_stop(&f);
}

static void test_listen_refused(void **state)
{
    static const struct {
        const char *listen, *token, *msg;
    } bad[] = {
        {"0.0.0.0:8080", "", "is not a loopback address"},
        {"192.168.1.5:8080", NULL, "is not a loopback address"},
        {"[::]:8080", "", "is not a loopback address"},
        {"127.0.0.1", "", "expected HOST:PORT"},
        {"127.0.0.1:99999", "", "expected HOST:PORT"},
        {"example.org:80", "", "expected HOST:PORT"},
        {"", "", "expected HOST:PORT"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fix f;
        fix_init(&f, bad[i].listen, bad[i].token);
        struct iocd_error err = {0};
        assert_int_equal(iocd_http_start(&f.h, &f.loop, &f.cfg, f.live, &prov, &err), -1);
        assert_null(f.h);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("%s: %s", bad[i].listen, err.msg);
        assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
        assert_int_equal(uv_loop_close(&f.loop), 0);
        iocd_live_free(f.live);
    }
    /* IPv6 loopback is fine without a token */
    struct fix f;
    fix_init(&f, "[::1]:0", "");
    fix_start(&f);
    fix_stop(&f);
}

/* ---- DB endpoints ------------------------------------------------------- */

/* One block owned by `name` (iocd_series_new_free frees only name). */
static struct iocd_series_new series(uint32_t id, const char *s, const char *d, const char *m,
                                     const char *unit)
{
    size_t ls = strlen(s) + 1, ld = strlen(d) + 1, lm = strlen(m) + 1;
    char *b = malloc(2 * (ls + ld + lm) + strlen(unit) + 1);
    assert_non_null(b);
    char *name = b;
    b += sprintf(b, "%s/%s/%s", s, d, m) + 1;
    char *ps = strcpy(b, s), *pd = strcpy(b + ls, d), *pm = strcpy(b + ls + ld, m);
    char *pu = strcpy(b + ls + ld + lm, unit);
    return (struct iocd_series_new){id, name, ps, pd, pm, pu, T0 - 3600000};
}

static struct iocd_window window(uint32_t id, uint32_t res_s, int64_t start, const double *v,
                                 int n)
{
    struct iocd_window w;
    iocd_window_init(&w, id, res_s, start, v[0], start + 1000);
    iocd_window_sketch_add(&w, v[0]);
    for (int i = 1; i < n; i++) {
        iocd_window_add(&w, v[i], start + 1000 * (i + 1));
        iocd_window_sketch_add(&w, v[i]);
    }
    return w;
}

static struct iocd_event_row alert_event(int64_t t, int sev, const char *id, const char *state,
                                         double value)
{
    char attrs[512];
    snprintf(attrs, sizeof(attrs),
             "{\"id\":\"%s\",\"rule\":\"pm25_high\",\"series\":\"air/pk-01/pm25\","
             "\"state\":\"%s\",\"value\":\"%g\",\"threshold\":\"55\","
             "\"raised_ms\":\"%" PRId64 "\"}",
             id, state, value, t);
    const char *parts[] = {"iocd", "alert", "PM2.5 high", "pk-01", "", state, attrs};
    size_t total = 0;
    for (int i = 0; i < 7; i++)
        total += strlen(parts[i]) + 1;
    char *block = malloc(total), *p = block;
    const char *ptr[7];
    for (int i = 0; i < 7; i++) {
        ptr[i] = p;
        strcpy(p, parts[i]);
        p += strlen(parts[i]) + 1;
    }
    return (struct iocd_event_row){.block = block, .source = ptr[0], .kind = ptr[1],
                                   .text = ptr[2], .device = ptr[3], .area = ptr[4],
                                   .status = ptr[5], .attributes = ptr[6], .severity = sev,
                                   .time_ms = t, .received_ms = t};
}

static void write_store(const char *path)
{
    struct iocd_store *st;
    struct iocd_error err = {0};
    unlink(path);
    if (iocd_store_open(&st, &iocd_store_sqlite, path, &err) != 0)
        fail_msg("store: %s", err.msg);
    struct iocd_flush *fl = calloc(1, sizeof(*fl));
    fl->n_series = 3;
    fl->series = calloc(3, sizeof(*fl->series));
    fl->series[0] = series(1, "air", "pk-01", "pm25", "ug/m3");
    fl->series[1] = series(2, "air", "pk-02", "pm25", "ug/m3");
    fl->series[2] = series(3, "water", "w1", "level", "m");
    static const double a[] = {10, 20, 30, 40}, b[] = {50}, c[] = {5, 5};
    fl->n_windows = 4;
    fl->windows = calloc(4, sizeof(*fl->windows));
    fl->windows[0] = window(1, 60, T0, a, 4);
    fl->windows[1] = window(1, 60, T0 + 60000, b, 1);
    fl->windows[2] = window(1, 60, T0 + 120000, c, 2);
    fl->windows[3] = window(1, 3600, T0, a, 4);
    fl->n_events = 4;
    fl->events = calloc(4, sizeof(*fl->events));
    fl->events[0] = alert_event(T0 + 1000, 2, "pm25_high/air/pk-01/pm25", "raised", 61.5);
    fl->events[1] = alert_event(T0 + 5000, 2, "pm25_high/air/pk-01/pm25", "cleared", 40);
    fl->events[2] = alert_event(T0 + 9000, 5, "pm25_high/air/pk-01/pm25", "raised", 70);
    fl->events[3] = alert_event(T0 - 7 * 86400000LL, 2, "old", "raised", 60);
    fl->now_ms = T0 + 200000;
    iocd_store_flush(st, fl);
    if (fl->rc != 0)
        fail_msg("write: %s", fl->error);
    iocd_flush_free(fl);
    iocd_store_close(st);
}

static void test_db_endpoints(void **state)
{
    struct fix f;
    fix_init(&f, "127.0.0.1:0", "");
    write_store(f.db);
    fix_start(&f);
    expect(&f, "/api/v1/series?match=air/%2B/pm25&limit=1", NULL, 200,
           "{\"total\":2,\"series\":[{\"name\":\"air/pk-01/pm25\",\"source\":\"air\","
           "\"device\":\"pk-01\",\"metric\":\"pm25\",\"unit\":\"ug/m3\","
           "\"created\":\"2026-11-22T06:00:00Z\",\"created_ms\":1795327200000}]}");
    expect(&f, "/api/v1/series?q=LEV", NULL, 200,
           "{\"total\":1,\"series\":[{\"name\":\"water/w1/level\",\"source\":\"water\","
           "\"device\":\"w1\",\"metric\":\"level\",\"unit\":\"m\","
           "\"created\":\"2026-11-22T06:00:00Z\",\"created_ms\":1795327200000}]}");
    expect(&f, "/api/v1/series?offset=1&limit=1&match=%23", NULL, 200,
           "{\"total\":3,\"series\":[{\"name\":\"air/pk-02/pm25\",\"source\":\"air\","
           "\"device\":\"pk-02\",\"metric\":\"pm25\",\"unit\":\"ug/m3\","
           "\"created\":\"2026-11-22T06:00:00Z\",\"created_ms\":1795327200000}]}");
    expect(&f, "/api/v1/series?limit=0", NULL, 400,
           "{\"error\":\"bad parameter (match, q, limit 1..10000, offset)\"}");

    /* windows: 1m default (the finest), from/to on start */
    expect(&f,
           "/api/v1/windows?series=air/pk-01/pm25&from=2026-11-22T07:01:00Z&to=1795330980000",
           NULL, 200,
           "{\"series\":\"air/pk-01/pm25\",\"unit\":\"ug/m3\",\"resolution\":\"1m\","
           "\"res_s\":60,\"windows\":[{\"start\":\"2026-11-22T07:01:00Z\","
           "\"start_ms\":1795330860000,\"count\":1,\"sum\":50,\"mean\":50,\"min\":50,"
           "\"max\":50,\"stddev\":0,\"first\":50,\"last\":50,\"p50\":50,\"p90\":50,"
           "\"p95\":50,\"p99\":50},{\"start\":\"2026-11-22T07:02:00Z\","
           "\"start_ms\":1795330920000,\"count\":2,\"sum\":10,\"mean\":5,\"min\":5,\"max\":5,"
           "\"stddev\":0,\"first\":5,\"last\":5,\"p50\":5,\"p90\":5,\"p95\":5,\"p99\":5}]}");
    /* quantiles of 10,20,30,40 from the sketch: within 1 % */
    char *body;
    assert_int_equal(get(&f, "/api/v1/windows?series=air/pk-01/pm25&resolution=1h&from=0"
                             "&to=1795334400000", NULL, &body), 200);
    cJSON *j = cJSON_Parse(body);
    free(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "resolution")->valuestring, "1h");
    cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "windows"), 0);
    assert_non_null(w);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "windows")), 1);
    assert_true(cJSON_GetObjectItem(w, "sum")->valuedouble == 100);
    assert_true(cJSON_GetObjectItem(w, "mean")->valuedouble == 25);
    assert_true(fabs(cJSON_GetObjectItem(w, "stddev")->valuedouble - sqrt(125)) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(w, "p50")->valuedouble - 20) <= 0.2);  /* rank 1 */
    assert_true(fabs(cJSON_GetObjectItem(w, "p90")->valuedouble - 30) <= 0.3);  /* rank 2 */
    assert_true(fabs(cJSON_GetObjectItem(w, "p99")->valuedouble - 30) <= 0.3);
    assert_true(cJSON_GetObjectItem(w, "first")->valuedouble == 10);
    assert_true(cJSON_GetObjectItem(w, "last")->valuedouble == 40);
    cJSON_Delete(j);

    /* rolling 2m every 1m: ends 07:01 (window 07:00), 07:02 (07:00+07:01),
     * 07:03 (07:01+07:02) */
    assert_int_equal(get(&f, "/api/v1/windows?series=air/pk-01/pm25&rolling=2m&step=1m"
                             "&from=2026-11-22T07:01:00Z&to=2026-11-22T07:03:00Z", NULL, &body),
                     200);
    j = cJSON_Parse(body);
    free(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "rolling")->valuestring, "2m");
    assert_string_equal(cJSON_GetObjectItem(j, "step")->valuestring, "1m");
    assert_string_equal(cJSON_GetObjectItem(j, "resolution")->valuestring, "1m");
    cJSON *pts = cJSON_GetObjectItem(j, "points");
    assert_int_equal(cJSON_GetArraySize(pts), 3);
    static const double counts[] = {4, 5, 3}, sums[] = {100, 150, 60}, maxs[] = {40, 50, 50};
    static const int64_t ends[] = {T0 + 60000, T0 + 120000, T0 + 180000};
    for (int i = 0; i < 3; i++) {
        cJSON *p = cJSON_GetArrayItem(pts, i);
        assert_true(cJSON_GetObjectItem(p, "end_ms")->valuedouble == (double)ends[i]);
        assert_true(cJSON_GetObjectItem(p, "count")->valuedouble == counts[i]);
        assert_true(cJSON_GetObjectItem(p, "sum")->valuedouble == sums[i]);
        assert_true(cJSON_GetObjectItem(p, "max")->valuedouble == maxs[i]);
    }
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pts, 2), "end")->valuestring,
                        "2026-11-22T07:03:00Z");
    cJSON_Delete(j);

    expect(&f, "/api/v1/windows?series=nope", NULL, 404, "{\"error\":\"no such series: nope\"}");
    expect(&f, "/api/v1/windows", NULL, 400, "{\"error\":\"series is required\"}");
    expect(&f, "/api/v1/windows?series=air/pk-01/pm25&resolution=5m", NULL, 400,
           "{\"error\":\"the series has no 5m windows\"}");
    expect(&f, "/api/v1/windows?series=air/pk-01/pm25&rolling=1h", NULL, 400,
           "{\"error\":\"rolling and step go together\"}");
    expect(&f, "/api/v1/windows?series=air/pk-01/pm25&from=yesterday", NULL, 400,
           "{\"error\":\"bad from or to (RFC 3339 or epoch milliseconds)\"}");
    expect(&f, "/api/v1/windows?series=water/w1/level", NULL, 200,
           "{\"series\":\"water/w1/level\",\"unit\":\"m\",\"resolution\":null,\"res_s\":null,"
           "\"windows\":[]}");

    /* alerts: the active ones from the provider, history newest raise first */
    expect(&f, "/api/v1/alerts?from=2026-11-22T06:00:00Z&to=2026-11-22T08:00:00Z", NULL, 200,
           "{\"active\":[{\"id\":\"hot/air/pk-02/pm25\",\"state\":\"raised\"}],\"history\":["
           "{\"id\":\"pm25_high/air/pk-01/pm25\",\"rule\":\"pm25_high\","
           "\"series\":\"air/pk-01/pm25\",\"severity\":\"critical\","
           "\"raised\":\"2026-11-22T07:00:09Z\",\"raised_ms\":1795330809000,"
           "\"cleared\":null,\"cleared_ms\":null,\"value\":70,\"threshold\":55,"
           "\"text\":\"PM2.5 high\",\"transitions\":[{\"action\":\"raised\","
           "\"time\":\"2026-11-22T07:00:09Z\",\"time_ms\":1795330809000}]},"
           "{\"id\":\"pm25_high/air/pk-01/pm25\",\"rule\":\"pm25_high\","
           "\"series\":\"air/pk-01/pm25\",\"severity\":\"warning\","
           "\"raised\":\"2026-11-22T07:00:01Z\",\"raised_ms\":1795330801000,"
           "\"cleared\":\"2026-11-22T07:00:05Z\",\"cleared_ms\":1795330805000,"
           "\"value\":61.5,\"threshold\":55,\"text\":\"PM2.5 high\",\"transitions\":["
           "{\"action\":\"raised\",\"time\":\"2026-11-22T07:00:01Z\",\"time_ms\":1795330801000},"
           "{\"action\":\"cleared\",\"time\":\"2026-11-22T07:00:05Z\","
           "\"time_ms\":1795330805000}]}]}");
    expect(&f, "/api/v1/alerts?from=2026-11-22T07:00:02Z&to=2026-11-22T07:00:08Z", NULL, 200,
           "{\"active\":[{\"id\":\"hot/air/pk-02/pm25\",\"state\":\"raised\"}],"
           "\"history\":[]}");

    /* a client that leaves before its answer: nothing breaks */
    struct client c;
    client_open(&f, &c, "GET /api/v1/series HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    uv_run(&f.loop, UV_RUN_NOWAIT);
    client_close(&c);
    pump(&f, NULL, NULL, 200);
    expect(&f, "/api/v1/series?q=w1", NULL, 200,
           "{\"total\":1,\"series\":[{\"name\":\"water/w1/level\",\"source\":\"water\","
           "\"device\":\"w1\",\"metric\":\"level\",\"unit\":\"m\","
           "\"created\":\"2026-11-22T06:00:00Z\",\"created_ms\":1795327200000}]}");

    /* shutdown while a query is on a worker thread: the loop still ends
     * with nothing left open (fix_stop checks) */
    struct iocd_http_stats st;
    iocd_http_get_stats(f.h, &st);
    uint64_t before = st.requests;
    client_open(&f, &c, "GET /api/v1/alerts?from=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    for (int i = 0; i < 1000 && st.requests == before; i++) {
        uv_run(&f.loop, UV_RUN_NOWAIT);
        poll(NULL, 0, 1);
        iocd_http_get_stats(f.h, &st);
    }
    assert_int_equal(st.requests, before + 1);
    fix_stop(&f);
    client_close(&c);
}

/* ---- live stream -------------------------------------------------------- */

static void emit(struct fix *f, enum iocd_live_kind k, const char *key, const char *json)
{
    iocd_live_emit(f->live, k, key, json, strlen(json), NULL, 0, false);
}

static void live_open(struct fix *f, struct client *c, const char *query, const char *headers)
{
    char req[1024];
    snprintf(req, sizeof(req), "GET /api/v1/live%s HTTP/1.0\r\n%s\r\n", query,
             headers ? headers : "");
    client_open(f, c, req);
    pump(f, c, "retry: 2000\n\n", 2000);
    assert_non_null(c->buf);
    assert_non_null(strstr(c->buf, "retry: 2000\n\n"));
}

static const char *sse_body(struct client *c)
{
    char *b = strstr(c->buf, "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

static void test_live_filter_order(void **state)
{
    struct fix f;
    fix_init(&f, "127.0.0.1:0", "");
    fix_start(&f);
    struct client c;
    live_open(&f, &c, "?match=obs/air/%23&types=obs,alert", NULL);
    assert_non_null(strstr(c.buf, "HTTP/1.1 200"));
    assert_non_null(strcasestr(c.buf, "\r\ncontent-type: text/event-stream\r\n"));
    assert_non_null(strcasestr(c.buf, "\r\ncache-control: no-cache\r\n"));
    assert_non_null(strcasestr(c.buf, "\r\nx-accel-buffering: no\r\n"));
    emit(&f, IOCD_LIVE_OBS, "obs/air/pk-01/pm25", "{\"v\":1}");
    emit(&f, IOCD_LIVE_OBS, "obs/water/w1/level", "{\"v\":2}");
    emit(&f, IOCD_LIVE_EVENT, "event/air/report/-", "{\"v\":3}");
    emit(&f, IOCD_LIVE_OBS, "obs/air/pk-02/pm25", "{\"v\":4}");
    pump(&f, &c, "{\"v\":4}\n\n", 2000);
    char want[512];
    uint64_t run = iocd_live_run_id(f.live);
    snprintf(want, sizeof(want),
             "retry: 2000\n\nid: %" PRIx64 "-1\nevent: obs\ndata: {\"v\":1}\n\n"
             "id: %" PRIx64 "-4\nevent: obs\ndata: {\"v\":4}\n\n",
             run, run);
    assert_string_equal(sse_body(&c), want);
    struct iocd_http_stats st;
    iocd_http_get_stats(f.h, &st);
    assert_int_equal(st.live_clients, 1);
    assert_int_equal(st.live_items_sent, 2);

    /* bad filters */
    expect(&f, "/api/v1/live?types=obs,bogus", NULL, 400,
           "{\"error\":\"bad types (obs, event, alert, window, status)\"}");

    /* ping */
    iocd_http_set_ping_interval(f.h, 30);
    pump(&f, &c, ": ping\n\n", 2000);
    assert_non_null(strstr(c.buf, "{\"v\":4}\n\n: ping\n\n"));

    /* shutdown ends the stream */
    iocd_http_close(f.h);
    pump(&f, &c, NULL, 2000);
    assert_true(c.eof);
    client_close(&c);
    fix_stop(&f);
}

static void test_live_replay(void **state)
{
    struct fix f;
    fix_init(&f, "127.0.0.1:0", ""); /* ring of 4 */
    fix_start(&f);
    uint64_t run = iocd_live_run_id(f.live);
    emit(&f, IOCD_LIVE_OBS, "obs/a/1/x", "{\"n\":1}");
    emit(&f, IOCD_LIVE_STATUS, "status/a/1", "{\"n\":2}");
    emit(&f, IOCD_LIVE_OBS, "obs/a/1/x", "{\"n\":3}");
    char hdr[128], want[512];
    struct client c;
    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %" PRIx64 "-1\r\n", run);
    live_open(&f, &c, "?types=obs", hdr);
    emit(&f, IOCD_LIVE_OBS, "obs/a/1/x", "{\"n\":4}");
    pump(&f, &c, "{\"n\":4}\n\n", 2000);
    snprintf(want, sizeof(want),
             "retry: 2000\n\nid: %" PRIx64 "-3\nevent: obs\ndata: {\"n\":3}\n\n"
             "id: %" PRIx64 "-4\nevent: obs\ndata: {\"n\":4}\n\n",
             run, run);
    assert_string_equal(sse_body(&c), want);
    client_close(&c);

    /* another run, and items gone from the ring (ring 4, last seq 4: 0 is
     * still there, so emit two more), get a reset */
    emit(&f, IOCD_LIVE_OBS, "obs/a/1/x", "{\"n\":5}");
    emit(&f, IOCD_LIVE_OBS, "obs/a/1/x", "{\"n\":6}");
    const char *ids[3];
    char other[64], old[64];
    snprintf(other, sizeof(other), "?last_event_id=%" PRIx64 "-2", run + 1);
    snprintf(old, sizeof(old), "?last_event_id=%" PRIx64 "-1", run);
    ids[0] = other;
    ids[1] = old;
    ids[2] = "?last_event_id=garbage";
    for (int i = 0; i < 3; i++) {
        live_open(&f, &c, ids[i], NULL);
        pump(&f, &c, "}\n\n", 2000);
        snprintf(want, sizeof(want),
                 "retry: 2000\n\nevent: reset\ndata: {\"run\":\"%" PRIx64 "\"}\n\n", run);
        assert_string_equal(sse_body(&c), want);
        client_close(&c);
    }
    pump(&f, NULL, NULL, 50);
    fix_stop(&f);
}

static void test_live_overflow(void **state)
{
    struct fix f;
    fix_init(&f, "127.0.0.1:0", "");
    f.cfg.http.client_buffer = 4096;
    f.cfg.http.max_clients = 1;
    fix_start(&f);
    struct client c;
    memset(&c, 0, sizeof(c));
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    const char *req = "GET /api/v1/live HTTP/1.0\r\n\r\n";
    send(c.fd, req, strlen(req), 0);
    pump(&f, &c, "retry: 2000\n\n", 2000);
    /* a second client is refused */
    expect(&f, "/api/v1/live", NULL, 503, "{\"error\":\"too many live clients\"}");

    /* the client does not read while 3000 items of ~1 KiB arrive */
    char json[1024];
    memset(json, 'x', sizeof(json));
    memcpy(json, "{\"p\":\"", 6);
    memcpy(json + sizeof(json) - 3, "\"}", 3);
    int n_items = 3000;
    for (int i = 0; i < n_items; i++) {
        emit(&f, IOCD_LIVE_OBS, "obs/a/b/c", json);
        uv_run(&f.loop, UV_RUN_NOWAIT);
    }
    struct iocd_http_stats st;
    iocd_http_get_stats(f.h, &st);
    assert_true(st.live_items_dropped > 0);
    assert_int_equal(st.live_items_sent + st.live_items_dropped, (uint64_t)n_items);
    /* now read everything: the records sent plus `event: dropped` counts
     * adding up to what was dropped */
    emit(&f, IOCD_LIVE_OBS, "obs/a/b/c", "{\"last\":1}");
    pump(&f, &c, "{\"last\":1}\n\n", 10000);
    assert_non_null(strstr(c.buf, "{\"last\":1}\n\n"));
    uint64_t dropped = 0, records = 0;
    for (const char *p = c.buf; (p = strstr(p, "event: dropped\ndata: {\"dropped\":")); p++)
        dropped += strtoull(p + 32, NULL, 10);
    for (const char *p = c.buf; (p = strstr(p, "\nevent: obs\n")); p++)
        records++;
    iocd_http_get_stats(f.h, &st);
    assert_int_equal(dropped, st.live_items_dropped);
    assert_int_equal(records, st.live_items_sent);
    /* a client that left is noticed at the next write (an item or the
     * ping): the kernel answers the first with a reset, the second fails */
    client_close(&c);
    for (int i = 0; i < 100 && st.live_clients; i++) {
        emit(&f, IOCD_LIVE_OBS, "obs/a/b/c", "{\"after\":1}");
        pump(&f, NULL, NULL, 10);
        iocd_http_get_stats(f.h, &st);
    }
    assert_int_equal(st.live_clients, 0);
    fix_stop(&f);
}

/* ---- console from a directory -------------------------------------------- */

static void test_web_root(void **state)
{
    char dir[] = "/tmp/test_http_web_XXXXXX", p[128];
    assert_non_null(mkdtemp(dir));
    static const struct {
        const char *name, *text;
    } files[] = {{"index.html", "<html>hi</html>"}, {"app.js", "let x = 1;"},
                 {".secret", "no"}, {"sub/style.css", "body{}"}};
    snprintf(p, sizeof(p), "%s/sub", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i].name);
        FILE *fp = fopen(p, "w");
        assert_non_null(fp);
        fputs(files[i].text, fp);
        fclose(fp);
    }
    char link[128], dirlink[128], inlink[128], fifo[128];
    snprintf(link, sizeof(link), "%s/passwd.txt", dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    /* A symlinked directory: GET /etcdir/passwd once returned /etc/passwd. */
    snprintf(dirlink, sizeof(dirlink), "%s/etcdir", dir);
    assert_int_equal(symlink("/etc", dirlink), 0);
    /* Even a link that stays inside the root is refused: no link at all. */
    snprintf(inlink, sizeof(inlink), "%s/sublink", dir);
    assert_int_equal(symlink("sub", inlink), 0);
    snprintf(fifo, sizeof(fifo), "%s/pipe.js", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);

    /* Both ways of resolving: openat2, and the walk older kernels take. */
    for (int walk = 0; walk < 2; walk++) {
        int fd = iocd_web_root_open(dir, "sub/style.css", walk);
        assert_true(fd >= 0);
        char b[16] = {0};
        assert_int_equal(read(fd, b, sizeof(b) - 1), 6);
        assert_string_equal(b, "body{}");
        close(fd);
        fd = iocd_web_root_open(dir, "app.js", walk);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(iocd_web_root_open(dir, "etcdir/passwd", walk), -ELOOP);
        assert_int_equal(iocd_web_root_open(dir, "passwd.txt", walk), -ELOOP);
        assert_int_equal(iocd_web_root_open(dir, "sublink/style.css", walk), -ELOOP);
        assert_int_equal(iocd_web_root_open(dir, "nope/x.js", walk), -ENOENT);
        assert_int_equal(iocd_web_root_open(dir, "/etc/passwd", walk), -EINVAL);
        fd = iocd_web_root_open(dir, "pipe.js", walk); /* opens without blocking */
        assert_true(fd >= 0);
        close(fd);
    }
    assert_int_equal(iocd_web_root_open(dir, "../../etc/passwd", true), -EINVAL);
    assert_int_equal(iocd_web_root_open(dir, "../../etc/passwd", false), -EXDEV);

    struct fix f;
    fix_init(&f, "127.0.0.1:0", "");
    f.cfg.http.web_root = dir;
    fix_start(&f);
    struct client c;
    client_open(&f, &c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    pump(&f, &c, NULL, 2000);
    assert_non_null(strcasestr(c.buf, "\r\ncontent-type: text/html; charset=utf-8\r\n"));
    client_close(&c);
    expect(&f, "/", NULL, 200, "<html>hi</html>");
    expect(&f, "/app.js", NULL, 200, "let x = 1;");
    expect(&f, "/sub/style.css", NULL, 200, "body{}");
    expect(&f, "/sub/../app.js", NULL, 200, "let x = 1;");
    expect(&f, "/.secret", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/passwd.txt", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/etcdir/passwd", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/etcdir/hostname", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/sublink/style.css", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/pipe.js", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/../../../../etc/passwd", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/%2e%2e/%2e%2e/etc/passwd", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/sub", NULL, 404, "{\"error\":\"not found\"}");
    expect(&f, "/nope.css", NULL, 404, "{\"error\":\"not found\"}");
    fix_stop(&f);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i].name);
        unlink(p);
    }
    unlink(link);
    unlink(dirlink);
    unlink(inlink);
    unlink(fifo);
    snprintf(p, sizeof(p), "%s/sub", dir);
    rmdir(p);
    rmdir(dir);
}

/* ---- Host check and security headers -------------------------------------- */

static void test_host_values(void **state)
{
    static const struct {
        const char *host, *allowed;
        bool ok;
    } cases[] = {
        {"127.0.0.1", NULL, true},          {"127.0.0.1:8080", NULL, true},
        {"127.9.8.7:1", NULL, true},        {"localhost", NULL, true},
        {"LocalHost:8080", NULL, true},     {"[::1]", NULL, true},
        {"[::1]:8080", NULL, true},         {"[0:0:0:0:0:0:0:1]:80", NULL, true},
        {"evil.example", NULL, false},      {"evil.example:8080", NULL, false},
        {"128.0.0.1", NULL, false},         {"127.0.0.1.evil.example", NULL, false},
        {"localhost.evil.example", NULL, false}, {"localhost.", NULL, false},
        {"[::2]", NULL, false},             {"::1", NULL, false},
        {"127.0.0.1:", NULL, false},        {"127.0.0.1:80x", NULL, false},
        {"127.0.0.1:1234567", NULL, false}, {"", NULL, false},
        {"[::1", NULL, false},              {"0x7f000001", NULL, false},
        {"iocd.city.example", "iocd.city.example", true},
        {"IOCD.City.Example:8443", "other, iocd.city.example", true},
        {"iocd.city.example:8443", "x iocd.city.example:8443", true},
        {"iocd.city.example:8444", "iocd.city.example:8443", false},
        {"iocd.city.example", "iocd.city.example:8443", false},
        {"city.example", "iocd.city.example", false},
        {"10.0.0.5:8080", "10.0.0.5", true},
        {"[fd00::5]:8080", "[fd00::5]", true},
        {"evil.example", "", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (iocd_http_host_allowed(cases[i].host, strlen(cases[i].host), cases[i].allowed) !=
            cases[i].ok)
            fail_msg("Host '%s' with allowed '%s': expected %s", cases[i].host,
                     cases[i].allowed ? cases[i].allowed : "(none)",
                     cases[i].ok ? "allowed" : "refused");
    assert_true(iocd_http_host_is_loopback("127.0.0.1:1", 11));
    assert_false(iocd_http_host_is_loopback("iocd.city.example", 17));
}

static void expect_raw(struct fix *f, const char *request, const char *head, const char *body)
{
    char *got = raw(f, request);
    const char *b = strstr(got, "\r\n\r\n");
    if (strncmp(got, head, strlen(head)) != 0 || !b || strcmp(b + 4, body) != 0)
        fail_msg("%s\ngot:\n%s\nexpected %s ... %s", request, got, head, body);
    free(got);
}

#define STATUS_OK "{\"version\":\"t\",\"series\":3,\"live\":{\"clients\":0,\"sent\":0,\"dropped\":0}}"
#define FOREIGN "{\"error\":\"misdirected request: Host not allowed\"}"

static void test_host_header(void **state)
{
    struct fix f;
    fix_init(&f, "127.0.0.1:0", "");
    f.cfg.http.allowed_hosts = (char *)"iocd.city.example other.example:8443";
    f.cfg.log.rate_limit_interval_ms = 10000;
    f.cfg.log.rate_limit_burst = 2;
    fix_start(&f);
    static const struct {
        const char *host;
        bool ok;
    } hosts[] = {
        {"127.0.0.1", true},           {"localhost:8080", true},
        {"[::1]:8080", true},          {"127.1.2.3", true},
        {"iocd.city.example", true},   {"iocd.city.example:9", true},
        {"other.example:8443", true},  {"other.example:8444", false},
        {"evil.example", false},       {"evil.example:8080", false},
        {"localhost.evil.example", false},
    };
    int foreign = 0;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req),
                 "GET /api/v1/status HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                 hosts[i].host);
        expect_raw(&f, req, hosts[i].ok ? "HTTP/1.1 200" : "HTTP/1.1 421",
                   hosts[i].ok ? STATUS_OK : FOREIGN);
        foreign += !hosts[i].ok;
    }
    /* The console and /healthz are checked too: a rebinding page can read
     * any of them. */
    expect_raw(&f, "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
               "HTTP/1.1 421", FOREIGN);
    expect_raw(&f, "GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
               "HTTP/1.1 421", FOREIGN);
    foreign += 2;
    /* HTTP/1.1 requires Host; HTTP/1.0 has none to check. */
    expect_raw(&f, "GET /api/v1/status HTTP/1.1\r\nConnection: close\r\n\r\n",
               "HTTP/1.1 400", "{\"error\":\"missing Host header\"}");
    expect_raw(&f, "GET /api/v1/status HTTP/1.0\r\n\r\n", "HTTP/1.1 200", STATUS_OK);
    /* The live stream is refused before it opens. */
    expect_raw(&f, "GET /api/v1/live HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
               "HTTP/1.1 421", FOREIGN);
    foreign++;
    struct iocd_http_stats st;
    iocd_http_get_stats(f.h, &st);
    assert_int_equal(st.foreign_host, foreign);
    assert_int_equal(st.missing_host, 1);
    char *body;
    assert_int_equal(get(&f, "/metrics", NULL, &body), 200);
    char want[128];
    snprintf(want, sizeof(want), "\niocd_http_host_refused_total{reason=\"foreign_host\"} %d\n",
             foreign);
    assert_non_null(strstr(body, want));
    assert_non_null(strstr(body, "\niocd_http_host_refused_total{reason=\"missing_host\"} 1\n"));
    free(body);
    fix_stop(&f);

    /* A token does not lift the check on loopback. */
    fix_init(&f, "127.0.0.1:0", "s3cret");
    fix_start(&f);
    expect_raw(&f,
               "GET /api/v1/status HTTP/1.1\r\nHost: evil.example\r\n"
               "Authorization: Bearer s3cret\r\nConnection: close\r\n\r\n",
               "HTTP/1.1 421", FOREIGN);
    fix_stop(&f);
}

#define CSP_CONSOLE                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static void test_security_headers(void **state)
{
    struct fix f;
    fix_init(&f, "127.0.0.1:0", "");
    fix_start(&f);
    static const struct {
        const char *path, *csp;
    } cases[] = {
        {"/", CSP_CONSOLE},
        {"/app.js", CSP_CONSOLE},
        {"/style.css", CSP_CONSOLE},
        {"/nope.html", CSP_CONSOLE},
        {"/api/v1/status", "default-src 'none'; frame-ancestors 'none'"},
        {"/healthz", "default-src 'none'; frame-ancestors 'none'"},
        {"/metrics", "default-src 'none'; frame-ancestors 'none'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[256], want[512];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                 cases[i].path);
        char *got = raw(&f, req);
        char *end = strstr(got, "\r\n\r\n");
        assert_non_null(end);
        end[2] = '\0'; /* the head only, each line ending in CRLF */
        snprintf(want, sizeof(want), "\r\ncontent-security-policy: %s\r\n", cases[i].csp);
        if (!strstr(got, want) || !strstr(got, "\r\nx-content-type-options: nosniff\r\n") ||
            !strstr(got, "\r\nreferrer-policy: no-referrer\r\n"))
            fail_msg("GET %s:\n%s", cases[i].path, got);
        /* each once */
        assert_null(strstr(strstr(got, "content-security-policy:") + 1, "content-security-policy:"));
        free(got);
    }
    fix_stop(&f);
}

/* ---- HTTPS and its reload ------------------------------------------------ */

struct tls_client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

/* Connects to the server with TLS, verifying it against `ca` for the name
 * localhost, pumping the loop while the handshake goes on: 0, or -1 when
 * the handshake fails. */
static int tls_open(struct fix *f, struct tls_client *t, const char *ca)
{
    struct client c;
    client_open(f, &c, "");
    t->fd = c.fd;
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
    t->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(t->ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(t->ctx, ca, NULL), 1);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    t->ssl = SSL_new(t->ctx);
    SSL_set_fd(t->ssl, t->fd);
    SSL_set1_host(t->ssl, "localhost");
    int64_t end = mono_ms() + 3000;
    while (mono_ms() < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        int r = SSL_connect(t->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(t->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
        poll(NULL, 0, 2);
    }
    ERR_clear_error();
    return -1;
}

static void tls_close(struct tls_client *t)
{
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    close(t->fd);
}

/* The common name of the certificate the server showed. */
static void tls_peer_cn(struct tls_client *t, char *out, size_t cap)
{
    X509 *x = SSL_get1_peer_certificate(t->ssl);
    assert_non_null(x);
    out[0] = '\0';
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    X509_free(x);
}

/* GET `path` over the connection (Connection: close): the whole answer. */
static char *tls_get(struct fix *f, struct tls_client *t, const char *path)
{
    char req[256], *buf = calloc(1, 65536);
    size_t len = 0;
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
    int64_t end = mono_ms() + 3000;
    bool sent = false;
    while (mono_ms() < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (!sent) {
            sent = SSL_write(t->ssl, req, n) == n;
            continue;
        }
        int r = SSL_read(t->ssl, buf + len, (int)(65535 - len));
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break; /* closed */
        poll(NULL, 0, 2);
    }
    ERR_clear_error();
    return buf;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* A CA and two server certificates (CN one and two) for localhost and
 * 127.0.0.1, made with the openssl command in `dir`. */
static void make_certs(const char *dir)
{
    assert_int_equal(
        sh("cd %s && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext && "
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           "-keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null && "
           "for n in one two; do openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
           "-nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null && "
           "openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
           "-extfile san.ext -out $n.pem 2>/dev/null || exit 1; done",
           dir),
        0);
}

static void test_https_reload(void **state)
{
    char dir[] = "/tmp/test_http_tls_XXXXXX", ca[96], cert[96], key[96], cert2[96], key2[96];
    assert_non_null(mkdtemp(dir));
    make_certs(dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/one.pem", dir);
    snprintf(key, sizeof(key), "%s/one.key", dir);
    snprintf(cert2, sizeof(cert2), "%s/two.pem", dir);
    snprintf(key2, sizeof(key2), "%s/two.key", dir);

    /* A certificate that cannot be loaded stops the start, naming its line. */
    struct fix f;
    struct iocd_error err = {0};
    fix_init(&f, "127.0.0.1:0", "");
    f.cfg.path = (char *)"iocd.conf";
    f.cfg.http.tls_cert = (char *)"/nonexistent/cert.pem";
    f.cfg.http.tls_cert_line = 7;
    f.cfg.http.tls_key = (char *)"";
    assert_int_equal(iocd_http_start(&f.h, &f.loop, &f.cfg, f.live, &prov, &err), -1);
    assert_string_equal(err.msg, "iocd.conf:7: [http] tls_cert /nonexistent/cert.pem: cannot "
                                 "load the certificate: No such file or directory");
    f.cfg.http.tls_cert = cert;
    f.cfg.http.tls_key = key2;
    f.cfg.http.tls_key_line = 8;
    assert_int_equal(iocd_http_start(&f.h, &f.loop, &f.cfg, f.live, &prov, &err), -1);
    char want[512];
    snprintf(want, sizeof(want),
             "iocd.conf:8: [http] tls_key %s does not belong to the certificate in %s", key2,
             cert);
    assert_string_equal(err.msg, want);
    assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f.loop), 0);
    iocd_live_free(f.live);

    fix_init(&f, "127.0.0.1:0", "");
    f.cfg.path = (char *)"iocd.conf";
    f.cfg.http.tls_cert = cert;
    f.cfg.http.tls_key = key;
    fix_start(&f);
    struct tls_client a, b, c;
    char cn[64];
    assert_int_equal(tls_open(&f, &a, ca), 0);
    tls_peer_cn(&a, cn, sizeof(cn));
    assert_string_equal(cn, "one");
    char *got = tls_get(&f, &a, "/api/v1/status");
    assert_non_null(strstr(got, "HTTP/1.1 200"));
    assert_non_null(strstr(got, "\r\n\r\n" STATUS_OK));
    free(got);
    tls_close(&a);

    /* Plain HTTP to the HTTPS port gets no HTTP answer. */
    char *plain = raw(&f, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_string_equal(plain, "");
    free(plain);

    /* Reload: a connection made before keeps its certificate and works;
     * new ones get the new one. */
    assert_int_equal(tls_open(&f, &a, ca), 0);
    struct iocd_config next = f.cfg;
    next.http.tls_cert = cert2;
    next.http.tls_key = key2;
    assert_int_equal(iocd_http_reload_tls(f.h, &next, &err), 0);
    assert_int_equal(tls_open(&f, &b, ca), 0);
    tls_peer_cn(&b, cn, sizeof(cn));
    assert_string_equal(cn, "two");
    tls_peer_cn(&a, cn, sizeof(cn));
    assert_string_equal(cn, "one");
    got = tls_get(&f, &a, "/healthz");
    assert_non_null(strstr(got, "\r\n\r\n{\"broker\":\"connected\",\"status\":\"ok\"}"));
    free(got);
    got = tls_get(&f, &b, "/healthz");
    assert_non_null(strstr(got, "\r\n\r\n{\"broker\":\"connected\",\"status\":\"ok\"}"));
    free(got);
    tls_close(&a);
    tls_close(&b);

    /* A reload that fails keeps the certificate in use. */
    next.http.tls_cert = (char *)"/nonexistent/new.pem";
    next.http.tls_cert_line = 9;
    assert_int_equal(iocd_http_reload_tls(f.h, &next, &err), -1);
    assert_string_equal(err.msg, "iocd.conf:9: [http] tls_cert /nonexistent/new.pem: cannot "
                                 "load the certificate: No such file or directory");
    next.http.tls_cert = (char *)"";
    assert_int_equal(iocd_http_reload_tls(f.h, &next, &err), -1);
    assert_string_equal(err.msg, "iocd.conf:9: [http] tls_cert: switching between HTTP and "
                                 "HTTPS needs a restart");
    assert_int_equal(tls_open(&f, &c, ca), 0);
    tls_peer_cn(&c, cn, sizeof(cn));
    assert_string_equal(cn, "two");
    tls_close(&c);
    /* Stopping with a connection still in its handshake (it sent nothing)
     * and one that finished it ends both (fix_stop: nothing left open). */
    struct client idle;
    client_open(&f, &idle, "");
    assert_int_equal(tls_open(&f, &c, ca), 0);
    pump(&f, NULL, NULL, 50);
    fix_stop(&f);
    client_read(&idle);
    assert_true(idle.eof);
    client_close(&idle);
    tls_close(&c);

    /* A plain server cannot turn into HTTPS by reload. */
    fix_init(&f, "127.0.0.1:0", "");
    fix_start(&f);
    next = f.cfg;
    next.path = (char *)"iocd.conf";
    next.http.tls_cert = cert;
    next.http.tls_cert_line = 4;
    assert_int_equal(iocd_http_reload_tls(f.h, &next, &err), -1);
    assert_string_equal(err.msg, "iocd.conf:4: [http] tls_cert: switching between HTTP and "
                                 "HTTPS needs a restart");
    fix_stop(&f);
    assert_int_equal(sh("rm -rf %s", dir), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_endpoints), cmocka_unit_test(test_token),
        cmocka_unit_test(test_meta),
        cmocka_unit_test(test_listen_refused),     cmocka_unit_test(test_db_endpoints),
        cmocka_unit_test(test_live_filter_order),  cmocka_unit_test(test_live_replay),
        cmocka_unit_test(test_live_overflow),      cmocka_unit_test(test_web_root),
        cmocka_unit_test(test_host_values),        cmocka_unit_test(test_host_header),
        cmocka_unit_test(test_security_headers),   cmocka_unit_test(test_https_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
