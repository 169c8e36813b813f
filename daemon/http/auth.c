/* daemon/http/auth.c — accounts, roles and login sessions (see auth.h).
 *
 * Owns: struct iocd_http_auth: the shared token (malloc'd copy), the
 * accounts (a copy of the configuration's, replaced whole on reload), the
 * session table (a fixed array of IOCD_HTTP_SESSIONS_MAX) and the rate
 * limit of the "login refused" log line. A session holds no role of its
 * own: each request looks its account up again, so a reload that removes
 * an account or gives it a new token ends its sessions, and one that
 * changes its role changes what they may do. Loop thread only. */
#include "daemon/http/auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/base/timeutil.h"

#define SESSION_ID_LEN 32 /* random bytes; 64 hex digits in the cookie */
#define TOKEN_MAX 256     /* longer is no token of ours */

struct session {
    bool used;
    unsigned char id[SESSION_ID_LEN];
    char name[IOCD_USER_NAME_MAX + 1];
    bool shared; /* opened with the shared [http] token (account "admin") */
    /* The credential it was opened with: the account's stored hash, or
     * the SHA-256 of the shared token. Compared on every use. */
    unsigned char cred[IOCD_USER_HASH_LEN];
    int64_t last_ms;
};

struct iocd_http_auth {
    char *token; /* "" = none */
    unsigned char token_hash[IOCD_USER_HASH_LEN];
    bool accounts; /* a users_file is configured (even an empty one) */
    struct iocd_users users;
    int64_t idle_ms;
    bool secure_cookie;
    struct iocd_http_stats *stats;
    struct iocd_ratelimit log_limit;
    struct session sessions[IOCD_HTTP_SESSIONS_MAX];
};

static const unsigned char zero_salt[IOCD_USER_SALT_LEN];

struct iocd_http_auth *iocd_http_auth_new(bool secure_cookie, struct iocd_http_stats *stats)
{
    struct iocd_http_auth *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->token = strdup("");
    if (!a->token) {
        free(a);
        return NULL;
    }
    a->secure_cookie = secure_cookie;
    a->stats = stats;
    a->idle_ms = INT64_C(8) * 3600000;
    return a;
}

void iocd_http_auth_free(struct iocd_http_auth *a)
{
    if (!a)
        return;
    explicit_bzero(a->token, strlen(a->token));
    free(a->token);
    iocd_users_free(&a->users);
    explicit_bzero(a->sessions, sizeof(a->sessions));
    free(a);
}

int iocd_http_auth_set(struct iocd_http_auth *a, const char *token, bool accounts,
                       const struct iocd_users *users, int64_t idle_ms)
{
    token = token ? token : "";
    char *dup = strdup(token);
    struct iocd_users copy = {0};
    if (users && users->n) {
        copy.v = malloc(users->n * sizeof(*copy.v));
        copy.n = users->n;
        if (copy.v)
            memcpy(copy.v, users->v, users->n * sizeof(*copy.v));
    }
    if (!dup || (users && users->n && !copy.v)) {
        free(dup);
        free(copy.v);
        return -1;
    }
    explicit_bzero(a->token, strlen(a->token));
    free(a->token);
    a->token = dup;
    memset(a->token_hash, 0, sizeof(a->token_hash));
    if (token[0] && iocd_users_hash(zero_salt, token, strlen(token), a->token_hash) != 0)
        memset(a->token_hash, 0xff, sizeof(a->token_hash)); /* matches no session */
    iocd_users_free(&a->users);
    a->users = copy;
    a->accounts = accounts;
    a->idle_ms = idle_ms > 0 ? idle_ms : a->idle_ms;
    return 0;
}

bool iocd_http_auth_required(const struct iocd_http_auth *a)
{
    return a->token[0] || a->accounts;
}

static bool same_token(const char *a, size_t alen, const char *token)
{
    size_t tl = strlen(token);
    return alen == tl && iocd_users_same(a, token, tl);
}

/* The account of a token: 0 with *who, or -1. With cred: the credential
 * a session keeps (see struct session) and whether it is the shared one. */
static int who_by_token(const struct iocd_http_auth *a, const char *t, size_t len,
                        struct iocd_http_who *who, unsigned char *cred, bool *shared)
{
    if (len == 0 || len > TOKEN_MAX)
        return -1;
    if (a->token[0] && same_token(t, len, a->token)) {
        snprintf(who->name, sizeof(who->name), "admin");
        who->role = IOCD_ROLE_ADMIN;
        if (cred)
            memcpy(cred, a->token_hash, IOCD_USER_HASH_LEN);
        if (shared)
            *shared = true;
        return 0;
    }
    const struct iocd_user *u = iocd_users_check(&a->users, t, len);
    if (!u)
        return -1;
    snprintf(who->name, sizeof(who->name), "%s", u->name);
    who->role = u->role;
    if (cred)
        memcpy(cred, u->hash, IOCD_USER_HASH_LEN);
    if (shared)
        *shared = false;
    return 0;
}

static int unhex_id(const char *s, size_t len, unsigned char out[SESSION_ID_LEN])
{
    if (len != 2 * SESSION_ID_LEN)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (unsigned char)(v << 4);
        else
            out[i / 2] |= (unsigned char)v;
    }
    return 0;
}

/* The session id of the request's cookie: 0, or -1 when there is none. */
static int cookie_id(h2o_req_t *req, unsigned char id[SESSION_ID_LEN])
{
    static const char name[] = IOCD_HTTP_SESSION_COOKIE "=";
    const size_t nl = sizeof(name) - 1;
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        size_t p = 0;
        while (p < v.len) {
            while (p < v.len && (v.base[p] == ' ' || v.base[p] == ';'))
                p++;
            size_t end = p;
            while (end < v.len && v.base[end] != ';')
                end++;
            if (end - p > nl && memcmp(v.base + p, name, nl) == 0 &&
                unhex_id(v.base + p + nl, end - p - nl, id) == 0)
                return 0;
            p = end;
        }
    }
    return -1;
}

static struct session *session_find(struct iocd_http_auth *a, const unsigned char id[SESSION_ID_LEN])
{
    struct session *found = NULL;
    for (size_t i = 0; i < IOCD_HTTP_SESSIONS_MAX; i++)
        if (a->sessions[i].used && iocd_users_same(a->sessions[i].id, id, SESSION_ID_LEN))
            found = &a->sessions[i];
    return found;
}

static void session_end(struct iocd_http_auth *a, struct session *s)
{
    explicit_bzero(s, sizeof(*s));
    if (a->stats->sessions)
        a->stats->sessions--;
}

/* The session's account as it is now: 0 with *who, or -1 (the session
 * has ended: idle too long, account gone, token changed). */
static int who_by_session(struct iocd_http_auth *a, struct session *s, int64_t now,
                          struct iocd_http_who *who)
{
    bool ok = now - s->last_ms <= a->idle_ms;
    if (ok && s->shared) {
        ok = a->token[0] && iocd_users_same(s->cred, a->token_hash, sizeof(s->cred));
        who->role = IOCD_ROLE_ADMIN;
    } else if (ok) {
        const struct iocd_user *u = iocd_users_find(&a->users, s->name);
        ok = u && iocd_users_same(s->cred, u->hash, sizeof(s->cred));
        who->role = u ? u->role : IOCD_ROLE_NONE;
    }
    if (!ok) {
        session_end(a, s);
        return -1;
    }
    s->last_ms = now;
    snprintf(who->name, sizeof(who->name), "%s", s->name);
    return 0;
}

int iocd_http_auth_identify(struct iocd_http_auth *a, h2o_req_t *req, bool allow_query,
                            struct iocd_http_who *who)
{
    memset(who, 0, sizeof(*who));
    if (!iocd_http_auth_required(a)) {
        snprintf(who->name, sizeof(who->name), "local");
        who->role = IOCD_ROLE_ADMIN;
        who->via = "none";
        return 0;
    }
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i >= 0) {
        h2o_iovec_t v = req->headers.entries[i].value;
        who->via = "token";
        if (v.len < 7 || strncasecmp(v.base, "Bearer ", 7) != 0)
            return -1;
        return who_by_token(a, v.base + 7, v.len - 7, who, NULL, NULL);
    }
    unsigned char id[SESSION_ID_LEN];
    if (cookie_id(req, id) == 0) {
        struct session *s = session_find(a, id);
        who->via = "session";
        if (s && who_by_session(a, s, iocd_now_ms(), who) == 0)
            return 0;
        /* A stale cookie: fall through to ?access_token= if any. */
    }
    char t[TOKEN_MAX + 1];
    if (allow_query && iocd_http_param(req, "access_token", t, sizeof(t)) == 1) {
        who->via = "access_token";
        int rc = who_by_token(a, t, strlen(t), who, NULL, NULL);
        explicit_bzero(t, sizeof(t));
        return rc;
    }
    return -1;
}

/* ------------------------------------------------------------------------
 * endpoints */

static void add_cookie(struct iocd_http_auth *a, h2o_req_t *req, const char *value, bool clear)
{
    char c[256];
    snprintf(c, sizeof(c), "%s=%s; HttpOnly; SameSite=Strict; Path=/%s%s",
             IOCD_HTTP_SESSION_COOKIE, value, clear ? "; Max-Age=0" : "",
             a->secure_cookie ? "; Secure" : "");
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL,
                   h2o_strdup(&req->pool, c, SIZE_MAX).base, strlen(c));
    iocd_http_add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
}

static void log_refused(struct iocd_http_auth *a, h2o_req_t *req, const char *why)
{
    uint64_t suppressed = 0;
    if (!iocd_ratelimit_allow(&a->log_limit, iocd_now_ms(), 10000, 5, &suppressed))
        return;
    char host[NI_MAXHOST] = "?";
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername
                       ? req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss)
                       : 0;
    if (sl == 0 || h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, host) == SIZE_MAX)
        snprintf(host, sizeof(host), "?");
    if (suppressed)
        iocd_log_warn("http", "%" PRIu64 " more refused logins were not logged", suppressed);
    iocd_log_warn("http", "login refused from %s: %s", host, why);
}

static cJSON *who_json(const struct iocd_http_who *who)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", who->name);
    cJSON_AddStringToObject(j, "role", iocd_role_name(who->role));
    return j;
}

/* A free slot, or the least recently used one (its session ends). */
static struct session *session_slot(struct iocd_http_auth *a, int64_t now)
{
    struct session *oldest = &a->sessions[0];
    for (size_t i = 0; i < IOCD_HTTP_SESSIONS_MAX; i++) {
        struct session *s = &a->sessions[i];
        if (s->used && now - s->last_ms > a->idle_ms)
            session_end(a, s);
        if (!s->used)
            return s;
        if (s->last_ms < oldest->last_ms)
            oldest = s;
    }
    session_end(a, oldest);
    return oldest;
}

void iocd_http_auth_on_login(struct iocd_http_auth *a, h2o_req_t *req)
{
    bool answered;
    cJSON *body = iocd_http_json_body(req, &answered);
    if (answered)
        return;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "token");
    if (!cJSON_IsString(t) || !t->valuestring[0]) {
        cJSON_Delete(body);
        return iocd_http_send_error(req, 400, "token: the account's token is required");
    }
    if (!iocd_http_auth_required(a)) {
        cJSON_Delete(body);
        return iocd_http_send_error(req, 400, "no accounts: iocd has no [http] token or "
                                              "users_file, the console needs no login");
    }
    struct iocd_http_who who = {.via = "session"};
    size_t len = strlen(t->valuestring);
    unsigned char cred[IOCD_USER_HASH_LEN];
    bool shared = false;
    int rc = who_by_token(a, t->valuestring, len, &who, cred, &shared);
    explicit_bzero(t->valuestring, len);
    cJSON_Delete(body);
    if (rc != 0) {
        a->stats->login_failures++;
        log_refused(a, req, "no account has this token");
        iocd_http_add_header(req, H2O_TOKEN_WWW_AUTHENTICATE, "Bearer realm=\"iocd\"");
        return iocd_http_send_error(req, 401, "unknown token");
    }
    int64_t now = iocd_now_ms();
    struct session *s = session_slot(a, now);
    if (iocd_users_random(s->id, sizeof(s->id)) != 0) {
        explicit_bzero(s, sizeof(*s));
        return iocd_http_send_error(req, 500, "no random bytes for a session id");
    }
    s->used = true;
    s->last_ms = now;
    snprintf(s->name, sizeof(s->name), "%s", who.name);
    s->shared = shared;
    memcpy(s->cred, cred, sizeof(s->cred));
    a->stats->logins++;
    a->stats->sessions++;
    char hexid[2 * SESSION_ID_LEN + 1];
    for (size_t i = 0; i < SESSION_ID_LEN; i++)
        snprintf(hexid + 2 * i, 3, "%02x", s->id[i]);
    add_cookie(a, req, hexid, false);
    iocd_log_info("http", "%s (%s) logged in", who.name, iocd_role_name(who.role));
    iocd_http_send_json(req, 200, who_json(&who));
}

void iocd_http_auth_on_logout(struct iocd_http_auth *a, h2o_req_t *req)
{
    unsigned char id[SESSION_ID_LEN];
    struct session *s = cookie_id(req, id) == 0 ? session_find(a, id) : NULL;
    bool ended = s != NULL;
    if (s)
        session_end(a, s);
    add_cookie(a, req, "", true);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "ended", ended);
    iocd_http_send_json(req, 200, j);
}

void iocd_http_auth_on_whoami(struct iocd_http_auth *a, h2o_req_t *req,
                              const struct iocd_http_who *who)
{
    cJSON *j = who_json(who);
    cJSON_AddStringToObject(j, "via", who->via);
    cJSON_AddBoolToObject(j, "accounts", iocd_http_auth_required(a));
    iocd_http_send_json(req, 200, j);
}
