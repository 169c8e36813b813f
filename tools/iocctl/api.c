/* tools/iocctl/api.c — where iocd's HTTP API is, and the requests iocctl's
 * API commands share (see api.h).
 *
 * Owns: the libcurl handles of one request, and the received body until it
 * is parsed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/json_text.h"
#include "tools/iocctl/api.h"
#include "tools/iocctl/iocctl.h"

/* "[http] listen" of the configuration into listen, its token into token
 * and its tls_cert (HTTPS when not "") into cert: EXIT_OK or EXIT_USAGE
 * (reported). */
static int api_from_config(const char *config_path, char *listen, size_t nl, char *token,
                           size_t nt, char *cert, size_t nc)
{
    struct iocctl_config cfg;
    if (iocctl_load_config(config_path, &cfg) != 0)
        return EXIT_USAGE;
    int rc = EXIT_OK;
    if (!cfg.http_listen[0]) {
        fprintf(stderr, "iocctl: %s: [http] listen is empty: iocd serves no API\n",
                config_path);
        rc = EXIT_USAGE;
    } else {
        snprintf(listen, nl, "%s", cfg.http_listen);
        snprintf(token, nt, "%s", cfg.http_token);
        snprintf(cert, nc, "%s", cfg.http_tls_cert);
    }
    iocctl_config_free(&cfg);
    return rc;
}

int iocctl_api_resolve(struct iocctl_api *a, const char *url, const char *token,
                       const char *config_path)
{
    memset(a, 0, sizeof(*a));
    const char *env_url = getenv("IOCD_URL"), *env_token = getenv("IOCD_TOKEN");
    char listen[300] = "127.0.0.1:8080", cfg_token[256] = "", cfg_cert[600] = "";
    if (config_path) {
        int rc = api_from_config(config_path, listen, sizeof(listen), cfg_token,
                                 sizeof(cfg_token), cfg_cert, sizeof(cfg_cert));
        if (rc != EXIT_OK)
            return rc;
    }
    if (url) {
        snprintf(a->base, sizeof(a->base), "%s", url);
    } else if (!config_path && env_url && *env_url) {
        snprintf(a->base, sizeof(a->base), "%s", env_url);
    } else {
        /* Listening on every address: ask on loopback. HTTPS when iocd
         * serves it, trusting the server's own certificate chain: the
         * certificate must then name the address asked. */
        const char *port = strrchr(listen, ':');
        const char *scheme = cfg_cert[0] ? "https" : "http";
        if (strncmp(listen, "0.0.0.0:", 8) == 0)
            snprintf(a->base, sizeof(a->base), "%s://127.0.0.1%s", scheme, port);
        else if (strncmp(listen, "[::]:", 5) == 0)
            snprintf(a->base, sizeof(a->base), "%s://[::1]%s", scheme, port);
        else
            snprintf(a->base, sizeof(a->base), "%s://%s", scheme, listen);
        snprintf(a->cacert, sizeof(a->cacert), "%s", cfg_cert);
    }
    const char *env_ca = getenv("IOCD_CACERT");
    if (env_ca && *env_ca)
        snprintf(a->cacert, sizeof(a->cacert), "%s", env_ca);
    size_t n = strlen(a->base);
    while (n && a->base[n - 1] == '/')
        a->base[--n] = '\0';
    snprintf(a->token, sizeof(a->token), "%s",
             token ? token : cfg_token[0] ? cfg_token : env_token ? env_token : "");
    return EXIT_OK;
}

size_t iocctl_body_collect(char *data, size_t size, size_t nmemb, void *ud)
{
    struct iocctl_body *b = ud;
    size_t n = size * nmemb;
    char *np = realloc(b->p, b->len + n + 1);
    if (!np) {
        b->oom = true;
        return 0;
    }
    b->p = np;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

int iocctl_api_path(char *out, size_t n, const char *path, const char *const *keys,
                    const char *const *vals, int nkeys)
{
    CURL *esc = curl_easy_init();
    if (!esc)
        return -1;
    snprintf(out, n, "%s", path);
    for (int i = 0; i < nkeys; i++) {
        if (!vals[i])
            continue;
        char *e = curl_easy_escape(esc, vals[i], 0);
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%c%s=%s", strchr(out, '?') ? '&' : '?', keys[i],
                 e ? e : "");
        curl_free(e);
    }
    curl_easy_cleanup(esc);
    return 0;
}

CURL *iocctl_api_request(const struct iocctl_api *a, const char *path, struct curl_slist **hdrs)
{
    *hdrs = NULL;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", a->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    if (a->cacert[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, a->cacert);
    if (a->token[0]) {
        char h[300];
        snprintf(h, sizeof(h), "Authorization: Bearer %s", a->token);
        *hdrs = curl_slist_append(*hdrs, h);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    }
    return c;
}

/* The answer to a GET as JSON (see iocctl_api_get_json). */
static int answer_json(const struct iocctl_api *a, const char *path, CURLcode rc, long status,
                       const struct iocctl_body *b, cJSON **json)
{
    *json = NULL;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        return -1;
    if (rc != CURLE_OK) {
        fprintf(stderr, "iocctl: %s%s: %s\n", a->base, path, curl_easy_strerror(rc));
        return 1;
    }
    if (!(*json = b->p ? cJSON_Parse(b->p) : NULL)) {
        fprintf(stderr, "iocctl: %s%s: HTTP %ld, not JSON\n", a->base, path, status);
        return 1;
    }
    if (status != 200) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(*json, "error");
        fprintf(stderr, "iocctl: %s%s: HTTP %ld: %s\n", a->base, path, status,
                cJSON_IsString(e) ? e->valuestring : "error");
        cJSON_Delete(*json);
        *json = NULL;
        return 1;
    }
    return 0;
}

/* Run request c (headers hdrs) and read its answer as JSON; cleans both. */
static int perform_json(const struct iocctl_api *a, const char *path, CURL *c,
                        struct curl_slist *hdrs, cJSON **json)
{
    struct iocctl_body b = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, iocctl_body_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    int ret = answer_json(a, path, rc, status, &b, json);
    free(b.p);
    return ret;
}

int iocctl_api_get_json(const struct iocctl_api *a, const char *path, cJSON **json)
{
    struct curl_slist *hdrs;
    CURL *c = iocctl_api_request(a, path, &hdrs);
    if (!c) {
        fprintf(stderr, "iocctl: cannot start an HTTP request\n");
        return 1;
    }
    return perform_json(a, path, c, hdrs, json);
}

int iocctl_api_post_json(const struct iocctl_api *a, const char *path, const cJSON *body,
                         cJSON **json)
{
    char *text = cJSON_PrintUnformatted(body);
    struct curl_slist *hdrs;
    CURL *c = text ? iocctl_api_request(a, path, &hdrs) : NULL;
    if (!c) {
        free(text);
        fprintf(stderr, "iocctl: cannot start an HTTP request\n");
        return 1;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    int ret = perform_json(a, path, c, hdrs, json);
    free(text);
    return ret;
}

void iocctl_api_print_json(const cJSON *j)
{
    char *s = iocd_json_print(j);
    if (s) {
        puts(s);
        free(s);
    }
}

#define SAFE_SLOTS 8
const char *iocctl_api_str(const cJSON *o, const char *k)
{
    static char slots[SAFE_SLOTS][1024];
    static unsigned next;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(v))
        return "";
    char *out = slots[next++ % SAFE_SLOTS];
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)v->valuestring; *c && n < 1016; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            n += (size_t)snprintf(out + n, 8, "\\x%02x", *c);
        } else if (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {
            n += (size_t)snprintf(out + n, 8, "\\x%02x", c[1]);
            c++;
        } else {
            out[n++] = (char)*c;
        }
    }
    out[n] = '\0';
    return out;
}

double iocctl_api_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}
