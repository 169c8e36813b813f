/* daemon/http/request.c — response and query-parameter helpers (see
 * request.h).
 *
 * Owns: nothing beyond a call: bodies are copied by h2o (h2o_send_inline)
 * and cJSON trees given to iocd_http_send_json are deleted here. */
#include "daemon/http/request.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/base/json_text.h"
#include "daemon/base/timeutil.h"
#include "daemon/config/config.h"
#include "daemon/query/query.h"

/* ------------------------------------------------------------------------
 * responses */

void iocd_http_add_header(h2o_req_t *req, const h2o_token_t *tok, const char *v)
{
    h2o_add_header(&req->pool, &req->res.headers, tok, NULL, v, strlen(v));
}

void iocd_http_send_body(h2o_req_t *req, int status, const char *type, const char *body,
                         size_t len)
{
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : "-";
    req->res.content_length = len;
    iocd_http_add_header(req, H2O_TOKEN_CONTENT_TYPE, type);
    h2o_send_inline(req, body, len);
}

/* Sends and deletes `j`. */
void iocd_http_send_json(h2o_req_t *req, int status, cJSON *j)
{
    char *s = j ? iocd_json_print(j) : NULL;
    cJSON_Delete(j);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        iocd_http_send_body(req, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    iocd_http_send_body(req, status, "application/json", s, strlen(s));
    free(s);
}

void iocd_http_send_error(h2o_req_t *req, int status, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    iocd_http_send_json(req, status, j);
}

/* ------------------------------------------------------------------------
 * request parsing */

/* The JSON body of a POST, or NULL with the request answered (415 not
 * JSON, 413 too large; a body that does not parse gives NULL unanswered:
 * *answered false). A page on another site cannot send a JSON body without
 * a CORS preflight, which iocd never grants. */
cJSON *iocd_http_json_body(h2o_req_t *req, bool *answered)
{
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t type = ct >= 0 ? req->headers.entries[ct].value : h2o_iovec_init(NULL, 0);
    *answered = true;
    if (type.len < 16 || strncasecmp(type.base, "application/json", 16) != 0)
        return iocd_http_send_error(req, 415, "the body must be application/json"), NULL;
    if (req->entity.len > 16384)
        return iocd_http_send_error(req, 413, "body over 16 KiB"), NULL;
    *answered = false;
    return req->entity.base ? cJSON_ParseWithLength(req->entity.base, req->entity.len) : NULL;
}


bool iocd_http_iov_is(h2o_iovec_t v, const char *s)
{
    size_t n = strlen(s);
    return v.len == n && memcmp(v.base, s, n) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (NUL-terminated): 0, or -1 when it is
 * malformed, too long or holds a NUL. */
static int url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* The query parameter `name`: 1 and its decoded value in out, 0 when
 * absent, -1 when malformed. */
int iocd_http_param(h2o_req_t *req, const char *name, char *out, size_t cap)
{
    if (req->query_at == SIZE_MAX || req->query_at >= req->path.len)
        return 0;
    const char *p = req->path.base + req->query_at + 1;
    const char *end = req->path.base + req->path.len;
    size_t nl = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        const char *ke = eq ? eq : e;
        if ((size_t)(ke - p) == nl && memcmp(p, name, nl) == 0) {
            const char *v = eq ? eq + 1 : e;
            return url_decode(v, (size_t)(e - v), out, cap) == 0 ? 1 : -1;
        }
        p = e + 1;
    }
    return 0;
}

/* An integer parameter in [min, max]: 0 (absent: *out = dflt), -1 bad. */
int iocd_http_param_int(h2o_req_t *req, const char *name, int64_t min, int64_t max,
                        int64_t dflt, int64_t *out)
{
    char buf[64];
    int r = iocd_http_param(req, name, buf, sizeof(buf));
    *out = dflt;
    if (r == 0)
        return 0;
    if (r < 0 || iocd_parse_int(buf, min, max, out) != 0)
        return -1;
    return 0;
}

int iocd_http_param_time(h2o_req_t *req, const char *name, int64_t dflt, int64_t *out)
{
    char buf[128];
    int r = iocd_http_param(req, name, buf, sizeof(buf));
    *out = dflt;
    if (r == 0)
        return 0;
    return r < 0 || iocd_query_parse_time(buf, out) != 0 ? -1 : 0;
}

/* A duration parameter in whole seconds > 0: 0 (absent: 0), -1 bad. */
int iocd_http_param_duration(h2o_req_t *req, const char *name, int64_t *ms)
{
    char buf[64];
    int r = iocd_http_param(req, name, buf, sizeof(buf));
    *ms = 0;
    if (r == 0)
        return 0;
    if (r < 0 || iocd_duration_parse(buf, ms) != 0 || *ms <= 0 || *ms % 1000 ||
        *ms > IOCD_TIME_MAX_MS)
        return -1;
    return 0;
}
