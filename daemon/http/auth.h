/* daemon/http/auth.h — who sends a request, and what that account may do:
 * the shared [http] token (the account "admin"), the named accounts of
 * [http] users_file, and the console's login sessions.
 *
 * Owns: struct iocd_http_auth (iocd_http_auth_new / _free): a copy of the
 * token and of the accounts (replaced on reload by iocd_http_auth_set) and
 * the sessions, in memory only (a restart ends them). Loop thread only.
 * Roles, cookie and endpoints: docs/api.md "Accounts and roles". */
#ifndef IOCD_HTTP_AUTH_H
#define IOCD_HTTP_AUTH_H

#include "daemon/config/users.h"
#include "daemon/http/provider.h"
#include "daemon/http/request.h"

#define IOCD_HTTP_SESSIONS_MAX 1000 /* open at once; the least recently used goes first */
#define IOCD_HTTP_SESSION_COOKIE "iocd_session"

struct iocd_http_auth;

/* Who a request comes from. */
struct iocd_http_who {
    char name[IOCD_USER_NAME_MAX + 1]; /* the actor: an account, "admin", or "local" */
    enum iocd_role role;
    const char *via; /* "token", "session", "access_token" or "none" (no accounts) */
};

/* secure_cookie: the session cookie gets Secure (HTTPS, or behind a proxy
 * that ends TLS). stats: counters the auth adds to. NULL out of memory. */
struct iocd_http_auth *iocd_http_auth_new(bool secure_cookie, struct iocd_http_stats *stats);
void iocd_http_auth_free(struct iocd_http_auth *a);
/* The credentials (at start and on every reload): token ("" none), the
 * accounts (copied; `accounts` false: no users_file), idle expiry of a
 * session. Sessions of an account that is gone, or whose token changed,
 * end at their next request; a changed role applies at once. 0 or -1 out
 * of memory (the previous credentials stay). */
int iocd_http_auth_set(struct iocd_http_auth *a, const char *token, bool accounts,
                       const struct iocd_users *users, int64_t idle_ms);
/* True when requests need a token or session (a token or users_file is set). */
bool iocd_http_auth_required(const struct iocd_http_auth *a);

/* Who sends req: 0 with *who, or -1 (no credentials or wrong ones: 401).
 * The Authorization header when present, else the session cookie, else
 * (with allow_query) ?access_token=. Without accounts every request is
 * "local", an admin. */
int iocd_http_auth_identify(struct iocd_http_auth *a, h2o_req_t *req, bool allow_query,
                            struct iocd_http_who *who);

/* POST /api/v1/login {"token": "..."}, POST /api/v1/logout and
 * GET /api/v1/whoami: each answers req. */
void iocd_http_auth_on_login(struct iocd_http_auth *a, h2o_req_t *req);
void iocd_http_auth_on_logout(struct iocd_http_auth *a, h2o_req_t *req);
void iocd_http_auth_on_whoami(struct iocd_http_auth *a, h2o_req_t *req,
                              const struct iocd_http_who *who);

#endif
