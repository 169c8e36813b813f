/* daemon/http/request.h — helpers for answering one h2o request: response
 * bodies (JSON, errors) and decoded query parameters.
 *
 * Owns: nothing; a response body is copied by h2o or lives in the
 * request's pool. Loop thread only. Every part of the HTTP server includes
 * h2o through this header (H2O_USE_LIBUV must be set first). */
#ifndef IOCD_HTTP_REQUEST_H
#define IOCD_HTTP_REQUEST_H

#define H2O_USE_LIBUV 1
#include <cjson/cJSON.h>
#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARAM_MAX 1024 /* a query parameter's decoded length */

/* Responses. iocd_http_send_json sends and deletes `j` (NULL: out of memory). */
void iocd_http_add_header(h2o_req_t *req, const h2o_token_t *tok, const char *v);
void iocd_http_send_body(h2o_req_t *req, int status, const char *type, const char *body,
                         size_t len);
void iocd_http_send_json(h2o_req_t *req, int status, cJSON *j);
void iocd_http_send_error(h2o_req_t *req, int status, const char *msg);

/* Query parameters: 1 (present, decoded into out), 0 (absent), -1 (bad);
 * the typed ones return 0 (absent: the default) or -1. */
int iocd_http_param(h2o_req_t *req, const char *name, char *out, size_t cap);
int iocd_http_param_int(h2o_req_t *req, const char *name, int64_t min, int64_t max, int64_t dflt,
                        int64_t *out);
int iocd_http_param_time(h2o_req_t *req, const char *name, int64_t dflt, int64_t *out);
int iocd_http_param_duration(h2o_req_t *req, const char *name, int64_t *ms);

/* The JSON body of a POST (delete it with cJSON_Delete), or NULL: with
 * *answered true the request was answered (415 not application/json, 413
 * over 16 KiB); false: the body does not parse (the caller says 400). */
cJSON *iocd_http_json_body(h2o_req_t *req, bool *answered);

/* True when `v` is exactly the string `s`. */
bool iocd_http_iov_is(h2o_iovec_t v, const char *s);

#endif
