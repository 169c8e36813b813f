/* tools/iocctl/api.h — iocctl's commands that talk to a running iocd over
 * its HTTP API (docs/api.md): `tail` (tail.c), `alerts` (alerts.c), the
 * live `status` (status_api.c), `devices` (devices.c), and the requests
 * they share (api.c).
 *
 * Owns: the API address and token (from --url/--token, the --config file's
 * [http] section, $IOCD_URL/$IOCD_TOKEN, else http://127.0.0.1:8080). With
 * --json these commands print exactly the API's JSON. */
#ifndef IOCCTL_API_H
#define IOCCTL_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

struct iocctl_api {
    char base[600]; /* http://HOST:PORT or https://..., no trailing '/' */
    char token[256];
    char cacert[600]; /* PEM file the server's certificate must chain to ("": the system's) */
};

/* Where the API is. 0, or 2 (usage) when the config cannot be read. */
int iocctl_api_resolve(struct iocctl_api *a, const char *url, const char *token,
                       const char *config_path);

/* Exit codes: 0 ok, 1 runtime error (daemon not answering, HTTP error). */
int iocctl_tail(const struct iocctl_api *a, const char *match, const char *types,
                int64_t count, bool json);
int iocctl_alerts(const struct iocctl_api *a, const char *from, const char *to,
                  const char *limit, bool json);
/* `alerts silences|silence|unsilence`: GET or POST /api/v1/silences. */
struct iocctl_options;
int iocctl_silences(const struct iocctl_api *a, const struct iocctl_options *o);
/* `alerts ack|assign|resolve ID`: POST /api/v1/alerts/VERB. */
int iocctl_alert_act(const struct iocctl_api *a, const char *verb, const char *id,
                     const char *note, const char *to, bool json);
/* `devices`: GET /api/v1/devices with o's filters, every page. */
int iocctl_devices(const struct iocctl_api *a, const struct iocctl_options *o);
/* -1 when the daemon does not answer at all (the caller falls back to the
 * database), else an exit code. */
int iocctl_status_api(const struct iocctl_api *a, bool json);

/* ---- shared by the API commands ---- */

/* Bytes received, NUL-terminated; p is malloc'd (the holder frees it). */
struct iocctl_body {
    char *p;
    size_t len;
    bool oom;
};
/* A CURLOPT_WRITEFUNCTION appending to the struct iocctl_body ud. */
size_t iocctl_body_collect(char *data, size_t size, size_t nmemb, void *ud);

/* path + "?k=v&..." for the given keys[i] whose vals[i] are not NULL,
 * each value URL-escaped. 0, or -1 when curl cannot start. */
int iocctl_api_path(char *out, size_t n, const char *path, const char *const *keys,
                    const char *const *vals, int nkeys);
/* A GET of base + path with the token; *hdrs freed by the caller
 * (curl_slist_free_all) after curl_easy_cleanup. NULL if curl fails. */
CURL *iocctl_api_request(const struct iocctl_api *a, const char *path, struct curl_slist **hdrs);
/* GET path into *json (the caller frees it). 0 ok; -1 no answer
 * (connection failed); 1 other error (said on stderr). */
int iocctl_api_get_json(const struct iocctl_api *a, const char *path, cJSON **json);
/* POST `body` (JSON) to path; the answer as iocctl_api_get_json. */
int iocctl_api_post_json(const struct iocctl_api *a, const char *path, const cJSON *body,
                         cJSON **json);
void iocctl_api_print_json(const cJSON *j); /* one line on stdout */
/* The string member k of o, made safe for a terminal: control characters
 * (C0, DEL, C1) as \xNN, so data sent by a device cannot drive the
 * terminal. Valid for the next 8 calls. */
const char *iocctl_api_str(const cJSON *o, const char *k);
double iocctl_api_num(const cJSON *o, const char *k); /* 0 when not a number */

#endif
