/* daemon/http/server.c — iocd's HTTP server: h2o (libuv build) on iocd's loop.
 *
 * Owns: struct iocd_http (malloc'd by iocd_http_start, freed by
 * iocd_http_free), the listening socket, h2o's global configuration and
 * context, the TLS context new connections are accepted with (replaced by
 * iocd_http_reload_tls), every accepted connection (tracked so
 * iocd_http_close can end them), the Host check, the security headers of
 * every answer, the routing and the role each route needs. Who sends a
 * request (token, accounts, sessions) is auth.c's; the endpoints, query
 * jobs and console are api.c's, the live stream sse.c's. Loop thread
 * only. Endpoint shapes are in docs/api.md.
 *
 * Shutdown (iocd_http_close) ends every stream and wakes every
 * connection; h2o's context is disposed once the last connection and the
 * last query job are gone. */
#include "daemon/http/server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"
#include "daemon/http/api.h"
#include "daemon/http/auth.h"
#include "daemon/http/host_check.h"
#include "daemon/http/request.h"
#include "daemon/http/sse.h"
#include "daemon/http/tls.h"

struct conn;

struct iocd_http {
    uv_loop_t *loop;
    const struct iocd_config *cfg;
    h2o_globalconf_t gconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t actx; /* actx.ssl_ctx: ours (NULL: plain HTTP) */
    h2o_hostconf_t *hostconf; /* its hostport is what h2o fills in for a missing Host */
    bool ctx_ready, ctx_disposed;
    uv_tcp_t *listener; /* NULL once closed */
    struct conn *conns;
    size_t n_conns;
    bool closing;
    struct iocd_http_auth *auth; /* token, accounts, sessions */
    bool host_check;     /* refuse Host values but the loopback's and allowed_hosts */
    char *allowed_hosts; /* "" = none */
    struct iocd_ratelimit host_log_limit;
    char *db_path; /* api.db_path points here */
    struct iocd_http_api api;
    struct iocd_http_sse *sse;
    struct iocd_http_stats stats;
};

struct conn {
    uv_tcp_t tcp; /* first: h2o's close callback gets &tcp */
    struct iocd_http *h;
    struct conn *prev, *next;
};

/* ------------------------------------------------------------------------
 * Host check and security headers */

/* The console's Content-Security-Policy: everything from iocd itself and
 * nothing inline (web/ has no inline script or style, and app.js sets no
 * style attribute); data: only for the empty favicon (<link rel=icon
 * href="data:,">); fetch and EventSource back to iocd; images also from
 * the map's tile server ([http] map_tiles), when one is set. */
#define CSP_CONSOLE_HEAD "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:"
#define CSP_CONSOLE_TAIL                                                                           \
    "; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
#define CSP_API "default-src 'none'; frame-ancestors 'none'"

static void add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value,
                          strlen(value));
}

/* The CSP source of the tile server of URL template `t` into out (cap
 * bytes): scheme and host, e.g. https: + //tile.example.org; a host label
 * with a placeholder such as {s} becomes the wildcard label *; "" when `t`
 * is empty. */
static void tile_origin(const char *t, char *out, size_t cap)
{
    out[0] = '\0';
    const char *host = t && t[0] ? strstr(t, "://") : NULL;
    if (!host)
        return;
    host += 3;
    size_t scheme = (size_t)(host - t), n = strcspn(host, "/");
    const char *brace = memchr(host, '{', n);
    if (brace) { /* "{s}.tile..." or "a{s}b.tile...": the label becomes "*" */
        const char *dot = memchr(brace, '.', (size_t)(host + n - brace));
        if (!dot)
            return;
        snprintf(out, cap, "%.*s*%.*s", (int)scheme, t, (int)(host + n - dot), dot);
        return;
    }
    snprintf(out, cap, "%.*s", (int)(scheme + n), t);
}

static void add_security_headers(struct iocd_http *h, h2o_req_t *req, bool console)
{
    if (!console) {
        add_header(req, "content-security-policy", CSP_API);
    } else {
        char origin[300], *csp = h2o_mem_alloc_pool(&req->pool, 600);
        tile_origin(h->cfg->http.map_tiles, origin, sizeof(origin));
        snprintf(csp, 600, "%s%s%s%s", CSP_CONSOLE_HEAD, origin[0] ? " " : "", origin,
                 CSP_CONSOLE_TAIL);
        add_header(req, "content-security-policy", csp);
    }
    add_header(req, "x-content-type-options", "nosniff");
    add_header(req, "referrer-policy", "no-referrer");
}

/* At most 100 printable characters of `v`, for a log line. */
static void printable(h2o_iovec_t v, char *out, size_t cap)
{
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = v.base[i] >= 0x20 && v.base[i] < 0x7f ? v.base[i] : '?';
    out[n] = '\0';
}

/* 0 when the request may go on; else it has been answered: 400 for an
 * HTTP/1.1 request without Host, 421 for a Host the server does not
 * answer (DNS rebinding: the attacker's page sends its own name). */
static int check_host(struct iocd_http *h, h2o_req_t *req)
{
    /* h2o gives a request without Host the host configuration's name. */
    bool missing = req->input.authority.base == h->hostconf->authority.hostport.base;
    const char *reason;
    int status;
    if (missing && req->version >= 0x101) {
        h->stats.missing_host++;
        reason = "missing_host";
        status = 400;
    } else if (!missing && h->host_check &&
               !iocd_http_host_allowed(req->input.authority.base, req->input.authority.len,
                                       h->allowed_hosts)) {
        h->stats.foreign_host++;
        reason = "foreign_host";
        status = 421;
    } else {
        return 0;
    }
    uint64_t suppressed = 0;
    if (iocd_ratelimit_allow(&h->host_log_limit, iocd_now_ms(), h->cfg->log.rate_limit_interval_ms,
                             h->cfg->log.rate_limit_burst, &suppressed)) {
        char host[101], path[101];
        printable(missing ? h2o_iovec_init(NULL, 0) : req->input.authority, host, sizeof(host));
        printable(req->path_normalized, path, sizeof(path));
        if (suppressed)
            iocd_log_warn("http", "%" PRIu64 " more refused Host headers were not logged",
                          suppressed);
        if (missing)
            iocd_log_warn("http", "refused %s without a Host header (%s): 400", path, reason);
        else
            iocd_log_warn("http", "refused Host '%s' for %s (%s: not the loopback's nor in "
                                  "[http] allowed_hosts): 421", host, path, reason);
    }
    iocd_http_send_error(req, status, missing ? "missing Host header"
                                              : "misdirected request: Host not allowed");
    return -1;
}

/* ------------------------------------------------------------------------
 * routing */

struct handler {
    h2o_handler_t super;
    struct iocd_http *h;
};

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct iocd_http *h = ((struct handler *)self)->h;
    h2o_iovec_t p = req->path_normalized;
    h->stats.requests++;
    bool api = iocd_http_iov_is(p, "/metrics") || iocd_http_iov_is(p, "/healthz") ||
               (p.len >= 5 && memcmp(p.base, "/api/", 5) == 0);
    add_security_headers(h, req, !api);
    if (check_host(h, req))
        return 0;
    bool head = iocd_http_iov_is(req->method, "HEAD");
    /* The operators' actions, and login and logout, are the only POSTs. */
    static const struct {
        const char *path, *act;
    } acts[] = {{"/api/v1/alerts/ack", "ack"},
                {"/api/v1/alerts/assign", "assign"},
                {"/api/v1/alerts/resolve", "resolve"}};
    const char *act = NULL;
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
        if (iocd_http_iov_is(p, acts[i].path))
            act = acts[i].act;
    bool post = iocd_http_iov_is(req->method, "POST");
    /* /api/v1/silences: GET lists, POST adds; /lift is POST only. */
    bool silences = iocd_http_iov_is(p, "/api/v1/silences");
    bool lift = iocd_http_iov_is(p, "/api/v1/silences/lift");
    bool login = iocd_http_iov_is(p, "/api/v1/login");
    bool logout = iocd_http_iov_is(p, "/api/v1/logout");
    bool post_only = act || lift || login || logout;
    if (post_only ? !post
                  : (!iocd_http_iov_is(req->method, "GET") && !head && !(silences && post))) {
        iocd_http_add_header(req, H2O_TOKEN_ALLOW, post_only ? "POST"
                                                   : silences ? "GET, HEAD, POST"
                                                              : "GET, HEAD");
        iocd_http_send_error(req, 405, "method not allowed");
        return 0;
    }
    if (iocd_http_iov_is(p, "/healthz")) {
        iocd_http_on_healthz(&h->api, req);
        return 0;
    }
    if (h->closing && (login || logout)) {
        iocd_http_send_error(req, 503, "shutting down");
        return 0;
    }
    /* Login and logout need no account: the token is the body's. */
    if (login || logout) {
        (login ? iocd_http_auth_on_login : iocd_http_auth_on_logout)(h->auth, req);
        return 0;
    }
    /* The console's files are public (the same code as in the source
     * tree; a browser cannot add a header when it opens the page): the
     * accounts guard the data, /api/ and /metrics. */
    bool guarded = iocd_http_iov_is(p, "/metrics") || (p.len >= 5 && memcmp(p.base, "/api/", 5) == 0);
    struct iocd_http_who who = {.name = "", .via = "none"}; /* unguarded paths: no one */
    if (guarded && iocd_http_auth_identify(h->auth, req, iocd_http_iov_is(p, "/api/v1/live"),
                                           &who) != 0) {
        h->stats.unauthorized++;
        iocd_http_add_header(req, H2O_TOKEN_WWW_AUTHENTICATE, "Bearer realm=\"iocd\"");
        iocd_http_send_error(req, 401, "unauthorized");
        return 0;
    }
    /* Viewers read; every POST acts and needs an operator (or admin). */
    enum iocd_role need = post ? IOCD_ROLE_OPERATOR : IOCD_ROLE_VIEWER;
    if (guarded && who.role < need) {
        h->stats.forbidden++;
        char msg[160];
        snprintf(msg, sizeof(msg), "forbidden: %s is a %s; this needs an operator or admin",
                 who.name, iocd_role_name(who.role));
        iocd_http_send_error(req, 403, msg);
        return 0;
    }
    if (h->closing) {
        iocd_http_send_error(req, 503, "shutting down");
        return 0;
    }
    /* Who acts: the account (the shared token's is admin); without
     * accounts (loopback only) the operator at this machine, local. */
    const char *actor = who.name;
    if (act)
        iocd_http_on_alert_act(&h->api, req, act, actor);
    else if (silences || lift)
        iocd_http_on_silences(&h->api, req, lift ? "lift" : post ? "add" : "list", actor);
    else if (iocd_http_iov_is(p, "/api/v1/whoami"))
        iocd_http_auth_on_whoami(h->auth, req, &who);
    else if (iocd_http_iov_is(p, "/metrics"))
        iocd_http_on_metrics(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/status"))
        iocd_http_on_status(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/meta"))
        iocd_http_on_meta(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/map/areas"))
        iocd_http_on_map_areas(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/latest"))
        iocd_http_on_latest(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/devices"))
        iocd_http_on_devices(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/series"))
        iocd_http_on_series(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/windows"))
        iocd_http_on_windows(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/alerts"))
        iocd_http_on_alerts(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/events"))
        iocd_http_on_events(&h->api, req);
    else if (iocd_http_iov_is(p, "/api/v1/live") && head)
        iocd_http_send_error(req, 405, "the live stream is GET only");
    else if (iocd_http_iov_is(p, "/api/v1/live"))
        iocd_http_sse_on_request(h->sse, req);
    else if (p.len >= 5 && memcmp(p.base, "/api/", 5) == 0)
        iocd_http_send_error(req, 404, "no such endpoint");
    else
        iocd_http_on_static(&h->api, req);
    return 0;
}

/* ------------------------------------------------------------------------
 * connections and lifecycle */

/* Dispose h2o's context once closing and nothing is left open. */
static void finish_close(struct iocd_http *h)
{
    if (h->closing && h->n_conns == 0 && h->api.jobs == 0 && h->ctx_ready && !h->ctx_disposed) {
        h2o_context_dispose(&h->ctx); /* closes h2o's timers on the loop */
        h->ctx_disposed = true;
    }
}

static void conn_unlink(struct conn *c)
{
    struct iocd_http *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->n_conns--;
}

static void on_conn_closed(uv_handle_t *hd)
{
    struct conn *c = (struct conn *)hd;
    struct iocd_http *h = c->h;
    conn_unlink(c);
    free(c);
    finish_close(h);
}

static void on_accept(uv_stream_t *l, int status)
{
    struct iocd_http *h = l->data;
    if (status != 0 || h->closing)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->h = h;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
    uv_tcp_init(h->loop, &c->tcp);
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
    h2o_accept(&h->actx, sock);
}

/* HOST:PORT, [V6]:PORT, localhost:PORT into *sa; *loopback. 0 or -1. */
static int parse_listen(const char *s, struct sockaddr_storage *sa, bool *loopback)
{
    char host[128];
    const char *colon;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
            return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host) || memchr(s, ':', (size_t)(colon - s)))
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    int64_t port;
    if (iocd_parse_int(colon + 1, 0, 65535, &port) != 0)
        return -1;
    memset(sa, 0, sizeof(*sa));
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (uv_ip4_addr(host, (int)port, v4) == 0) {
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        return 0;
    }
    if (uv_ip6_addr(host, (int)port, v6) == 0) {
        static const unsigned char lo6[16] = {[15] = 1};
        *loopback = memcmp(&v6->sin6_addr, lo6, 16) == 0;
        return 0;
    }
    return -1;
}

static void free_handle(uv_handle_t *hd)
{
    free(hd);
}

static void on_job_ended(void *ud)
{
    finish_close(ud);
}

/* The [http] settings iocd_http_start needs: 0, or -1 with err. */
static int check_config(const struct iocd_config *cfg, struct sockaddr_storage *sa,
                        struct iocd_error *err)
{
    const char *listen = cfg->http.listen ? cfg->http.listen : "";
    bool loopback = false;
    if (parse_listen(listen, sa, &loopback) != 0)
        return iocd_error_set(err, "[http] listen = %s: expected HOST:PORT (IPv4 or [IPv6] "
                                   "literal, or localhost)", listen);
    if (!loopback && !(cfg->http.token && cfg->http.token[0]) &&
        !(cfg->http.users_file && cfg->http.users_file[0]))
        return iocd_error_set(err, "[http] listen = %s is not a loopback address: set [http] token "
                                   "or users_file", listen);
    if (!loopback && !(cfg->http.tls_cert && cfg->http.tls_cert[0]) && !cfg->http.behind_proxy)
        return iocd_error_set(err, "[http] listen = %s is not a loopback address: set [http] "
                                   "tls_cert (HTTPS) or behind_proxy", listen);
    if (!cfg->store.path || !cfg->store.path[0])
        return iocd_error_set(err, "http: no [store] path to read from");
    return 0;
}

int iocd_http_set_accounts(struct iocd_http *h, const struct iocd_config *cfg)
{
    bool accounts = cfg->http.users_file && cfg->http.users_file[0];
    if (iocd_http_auth_set(h->auth, cfg->http.token, accounts, &cfg->http.users,
                           cfg->http.session_idle_ms) != 0)
        return -1;
    /* Hashes of 256-bit tokens are no easy target, but still secrets. */
    if (accounts && cfg->http.users_mode >= 0 && (cfg->http.users_mode & 077))
        iocd_log_warn("http", "[http] users_file %s is readable by group or others (mode %04o): "
                              "chmod 600 it",
                      cfg->http.users_path ? cfg->http.users_path : cfg->http.users_file,
                      (unsigned)cfg->http.users_mode);
    if (accounts)
        iocd_log_info("http", "%zu account(s) from %s", cfg->http.users.n,
                      cfg->http.users_path ? cfg->http.users_path : cfg->http.users_file);
    return 0;
}

/* Frees what iocd_http_start allocated before h2o's context exists. */
static void start_undo(struct iocd_http *h)
{
    if (h->listener)
        uv_close((uv_handle_t *)h->listener, free_handle);
    h2o_config_dispose(&h->gconf);
    if (h->actx.ssl_ctx)
        SSL_CTX_free(h->actx.ssl_ctx);
    iocd_http_auth_free(h->auth);
    free(h->allowed_hosts);
    free(h->db_path);
    free(h);
}

int iocd_http_start(struct iocd_http **out, uv_loop_t *loop, const struct iocd_config *cfg,
                    struct iocd_live *live, const struct iocd_http_provider *prov,
                    struct iocd_error *err)
{
    *out = NULL;
    struct sockaddr_storage sa;
    if (check_config(cfg, &sa, err))
        return -1;
    bool tls = cfg->http.tls_cert && cfg->http.tls_cert[0];
    SSL_CTX *ssl_ctx = NULL;
    if (tls && iocd_http_tls_ctx_new(&ssl_ctx, cfg, err))
        return -1;
    const char *listen = cfg->http.listen;
    struct iocd_http *h = calloc(1, sizeof(*h));
    if (!h) {
        SSL_CTX_free(ssl_ctx);
        return iocd_error_set(err, "http: out of memory");
    }
    h->actx.ssl_ctx = ssl_ctx;
    h->loop = loop;
    h->cfg = cfg;
    h->auth = iocd_http_auth_new(tls || cfg->http.behind_proxy, &h->stats);
    h->allowed_hosts = strdup(cfg->http.allowed_hosts ? cfg->http.allowed_hosts : "");
    bool loopback = false;
    parse_listen(listen, &sa, &loopback);
    h->host_check = loopback || h->allowed_hosts[0];
    h->db_path = strdup(cfg->store.path);
    h->api = (struct iocd_http_api){
        .loop = loop,
        .cfg = cfg,
        .db_path = h->db_path,
        .stats = &h->stats,
        .job_ended = on_job_ended,
        .job_ended_ud = h,
    };
    if (prov)
        h->api.prov = *prov;
    h2o_config_init(&h->gconf);
    h->gconf.server_name = h2o_iovec_init(H2O_STRLIT("iocd"));
    h2o_hostconf_t *host =
        h2o_config_register_host(&h->gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h->hostconf = host;
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    struct handler *hd = (struct handler *)h2o_create_handler(pc, sizeof(*hd));
    hd->super.on_req = on_req;
    hd->h = h;
    h->listener = malloc(sizeof(*h->listener));
    if (!h->auth || iocd_http_set_accounts(h, cfg) != 0 || !h->allowed_hosts || !h->db_path ||
        !h->listener) {
        free(h->listener);
        h->listener = NULL;
        start_undo(h);
        return iocd_error_set(err, "http: out of memory");
    }
    uv_tcp_init(loop, h->listener);
    h->listener->data = h;
    int r = uv_tcp_bind(h->listener, (struct sockaddr *)&sa, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)h->listener, 128, on_accept);
    if (r != 0 || iocd_http_sse_new(&h->sse, loop, cfg, live, &h->stats) != 0) {
        iocd_error_set(err, "http: listen on %s: %s", listen,
                       r ? uv_strerror(r) : "out of memory");
        start_undo(h);
        return -1;
    }
    h2o_context_init(&h->ctx, loop, &h->gconf);
    h->ctx_ready = true;
    h->actx.ctx = &h->ctx;
    h->actx.hosts = h->gconf.hosts;
    iocd_log_info("http", "listening on %s (%s%s%s)", listen,
                  tls ? (cfg->http.tls_min_version == 13 ? "HTTPS, TLSv1.3" : "HTTPS, TLSv1.2+")
                      : "plain HTTP",
                  iocd_http_auth_required(h->auth) ? ", token or session required" : "",
                  h->host_check ? ", Host checked" : "");
    if (cfg->http.behind_proxy && tls)
        iocd_log_notice("http", "[http] behind_proxy = true is moot: tls_cert is set, so %s "
                                "serves HTTPS", listen);
    else if (cfg->http.behind_proxy)
        iocd_log_warn("http", "[http] behind_proxy = true: %s serves plain HTTP; only a "
                              "reverse proxy that ends TLS may reach it",
                      listen);
    *out = h;
    return 0;
}

void iocd_http_set_ping_interval(struct iocd_http *h, uint64_t ms)
{
    iocd_http_sse_set_ping_interval(h->sse, ms);
}

int iocd_http_port(const struct iocd_http *h)
{
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    if (!h->listener || uv_tcp_getsockname(h->listener, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    if (sa.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&sa)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
}

void iocd_http_close(struct iocd_http *h)
{
    if (!h || h->closing)
        return;
    h->closing = true;
    if (h->listener) {
        uv_close((uv_handle_t *)h->listener, free_handle);
        h->listener = NULL;
    }
    iocd_http_sse_close(h->sse);
    /* Wake every connection: h2o sees end-of-stream (or a write error) and
     * closes it through its own path; on_conn_closed counts them down. */
    for (struct conn *c = h->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RDWR);
    }
    finish_close(h);
}

void iocd_http_free(struct iocd_http *h)
{
    if (!h)
        return;
    if (h->ctx_ready && !h->ctx_disposed)
        iocd_log_warn("http", "freed with %zu connection(s) and %u job(s) open",
                 h->n_conns, h->api.jobs);
    else
        h2o_config_dispose(&h->gconf);
    iocd_http_sse_free(h->sse);
    if (h->actx.ssl_ctx)
        SSL_CTX_free(h->actx.ssl_ctx);
    iocd_http_auth_free(h->auth);
    free(h->allowed_hosts);
    free(h->db_path);
    free(h);
}

int iocd_http_reload_tls(struct iocd_http *h, const struct iocd_config *cfg,
                         struct iocd_error *err)
{
    bool tls = cfg->http.tls_cert && cfg->http.tls_cert[0];
    const char *file = cfg->path ? cfg->path : "(defaults)";
    if (tls != (h->actx.ssl_ctx != NULL))
        return iocd_error_at(err, file, cfg->http.tls_cert_line,
                             "[http] tls_cert: switching between HTTP and HTTPS needs a "
                             "restart");
    if (!tls)
        return 0;
    SSL_CTX *fresh;
    if (iocd_http_tls_ctx_new(&fresh, cfg, err))
        return -1;
    /* Connections hold their own reference to the context they began with. */
    SSL_CTX_free(h->actx.ssl_ctx);
    h->actx.ssl_ctx = fresh;
    iocd_log_info("http", "TLS certificate reloaded from %s", cfg->http.tls_cert);
    return 0;
}

void iocd_http_get_stats(const struct iocd_http *h, struct iocd_http_stats *out)
{
    *out = h->stats;
}
