/* tools/iocctl_http.h — iocctl's commands that talk to a running iocd over
 * its HTTP API (docs/api.md): `tail`, `alerts` and the live `status`.
 *
 * Owns: the API address and token (from --url/--token, the --config file's
 * [http] section, $IOCD_URL/$IOCD_TOKEN, else http://127.0.0.1:8080), the
 * libcurl requests, and the text rendering of what the API returns. With
 * --json these commands print exactly the API's JSON. */
#ifndef IOCCTL_HTTP_H
#define IOCCTL_HTTP_H

#include <stdbool.h>
#include <stdint.h>

struct iocctl_api {
    char base[600]; /* http://HOST:PORT, no trailing '/' */
    char token[256];
};

/* Where the API is. 0, or 2 (usage) when the config cannot be read. */
int iocctl_api_resolve(struct iocctl_api *a, const char *url, const char *token,
                       const char *config_path);

/* Exit codes: 0 ok, 1 runtime error (daemon not answering, HTTP error). */
int iocctl_tail(const struct iocctl_api *a, const char *match, const char *types,
                int64_t count, bool json);
int iocctl_alerts(const struct iocctl_api *a, const char *from, const char *to,
                  const char *limit, bool json);
/* -1 when the daemon does not answer at all (the caller falls back to the
 * database), else an exit code. */
int iocctl_status_api(const struct iocctl_api *a, bool json);

#endif
