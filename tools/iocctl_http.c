/* tools/iocctl_http.c — `iocctl tail`, `alerts` and live `status` through
 * iocd's HTTP API (see iocctl_http.h). */
#include "tools/iocctl_http.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

int iocctl_api_resolve(struct iocctl_api *a, const char *url, const char *token,
                       const char *config_path)
{
    memset(a, 0, sizeof(*a));
    const char *env_url = getenv("IOCD_URL"), *env_token = getenv("IOCD_TOKEN");
    char listen[300] = "127.0.0.1:8080", cfg_token[256] = "";
    if (config_path) {
        struct iocd_config cfg;
        struct iocd_error err = {{0}};
        if (iocd_config_load(&cfg, config_path, &err) != 0) {
            fprintf(stderr, "iocctl: %s\n", err.msg);
            return EXIT_USAGE;
        }
        if (!cfg.http.listen[0]) {
            fprintf(stderr, "iocctl: %s: [http] listen is empty: iocd serves no API\n",
                    config_path);
            iocd_config_free(&cfg);
            return EXIT_USAGE;
        }
        snprintf(listen, sizeof(listen), "%s", cfg.http.listen);
        snprintf(cfg_token, sizeof(cfg_token), "%s", cfg.http.token);
        iocd_config_free(&cfg);
    }
    if (url) {
        snprintf(a->base, sizeof(a->base), "%s", url);
    } else if (!config_path && env_url && *env_url) {
        snprintf(a->base, sizeof(a->base), "%s", env_url);
    } else {
        /* Listening on every address: ask on loopback. */
        const char *port = strrchr(listen, ':');
        if (strncmp(listen, "0.0.0.0:", 8) == 0)
            snprintf(a->base, sizeof(a->base), "http://127.0.0.1%s", port);
        else if (strncmp(listen, "[::]:", 5) == 0)
            snprintf(a->base, sizeof(a->base), "http://[::1]%s", port);
        else
            snprintf(a->base, sizeof(a->base), "http://%s", listen);
    }
    size_t n = strlen(a->base);
    while (n && a->base[n - 1] == '/')
        a->base[--n] = '\0';
    snprintf(a->token, sizeof(a->token), "%s",
             token ? token : cfg_token[0] ? cfg_token : env_token ? env_token : "");
    return EXIT_OK;
}

struct body {
    char *p;
    size_t len;
    bool oom;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
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

static CURL *request(const struct iocctl_api *a, const char *path, struct curl_slist **hdrs)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", a->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    *hdrs = NULL;
    if (a->token[0]) {
        char h[300];
        snprintf(h, sizeof(h), "Authorization: Bearer %s", a->token);
        *hdrs = curl_slist_append(*hdrs, h);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    }
    return c;
}

/* GET path into *json. 0 ok; -1 no answer (connection failed); 1 other error
 * (said on stderr). */
static int get_json(const struct iocctl_api *a, const char *path, cJSON **json)
{
    struct curl_slist *hdrs;
    CURL *c = request(a, path, &hdrs);
    if (!c) {
        fprintf(stderr, "iocctl: cannot start an HTTP request\n");
        return 1;
    }
    struct body b = {0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    int ret = 0;
    *json = NULL;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        ret = -1;
    } else if (rc != CURLE_OK) {
        fprintf(stderr, "iocctl: %s%s: %s\n", a->base, path, curl_easy_strerror(rc));
        ret = 1;
    } else if (!(*json = b.p ? cJSON_Parse(b.p) : NULL)) {
        fprintf(stderr, "iocctl: %s%s: HTTP %ld, not JSON\n", a->base, path, status);
        ret = 1;
    } else if (status != 200) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(*json, "error");
        fprintf(stderr, "iocctl: %s%s: HTTP %ld: %s\n", a->base, path, status,
                cJSON_IsString(e) ? e->valuestring : "error");
        cJSON_Delete(*json);
        *json = NULL;
        ret = 1;
    }
    free(b.p);
    return ret;
}

static void print_json(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s) {
        puts(s);
        free(s);
    }
}

/* The string member k of o, made safe for a terminal: control characters
 * (C0, DEL, C1) as \xNN, so data sent by a device cannot drive the
 * terminal. Valid for the next SAFE_SLOTS calls. */
#define SAFE_SLOTS 8
static const char *str(const cJSON *o, const char *k)
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

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* ---- tail ---- */

struct tail {
    bool json;
    int64_t count, seen;
    struct body line; /* the SSE bytes not yet split into lines */
    char event[32];
    struct body data;
};

/* One live item as a line of text. */
static void print_item(const char *event, const cJSON *j)
{
    if (strcmp(event, "obs") == 0) {
        printf("%s obs %s %.15g %s\n", str(j, "time"), str(j, "series"), num(j, "value"),
               str(j, "unit"));
    } else if (strcmp(event, "event") == 0) {
        printf("%s event %s/%s/%s %s %s\n", str(j, "time"), str(j, "source"), str(j, "kind"),
               *str(j, "device") ? str(j, "device") : "-", str(j, "severity"), str(j, "text"));
    } else if (strcmp(event, "alert") == 0) {
        printf("%s alert %s %s %s value %.15g threshold %.15g: %s\n", str(j, "time"),
               strcmp(str(j, "state"), "raised") == 0 ? "RAISED" : "cleared", str(j, "id"),
               str(j, "severity"), num(j, "value"), num(j, "threshold"), str(j, "text"));
    } else if (strcmp(event, "window") == 0) {
        printf("%s window %s %s count %.0f mean %.15g min %.15g max %.15g\n", str(j, "start"),
               str(j, "resolution"), str(j, "series"), num(j, "count"), num(j, "mean"),
               num(j, "min"), num(j, "max"));
    } else if (strcmp(event, "status") == 0) {
        printf("%s status %s/%s %s (last seen %s)\n", str(j, "time"), str(j, "source"),
               str(j, "device"), str(j, "state"), str(j, "last_seen"));
    } else {
        char *s = cJSON_PrintUnformatted(j);
        printf("%s %s\n", event, s ? s : "");
        free(s);
    }
}

static void dispatch(struct tail *t)
{
    if (!t->data.len) {
        t->event[0] = '\0';
        return;
    }
    if (t->json) {
        puts(t->data.p);
    } else {
        cJSON *j = cJSON_Parse(t->data.p);
        if (j)
            print_item(t->event[0] ? t->event : "message", j);
        cJSON_Delete(j);
    }
    fflush(stdout);
    if (strcmp(t->event, "obs") == 0 || strcmp(t->event, "event") == 0 ||
        strcmp(t->event, "alert") == 0 || strcmp(t->event, "window") == 0 ||
        strcmp(t->event, "status") == 0)
        t->seen++;
    t->data.len = 0;
    t->data.p[0] = '\0';
    t->event[0] = '\0';
}

static size_t on_stream(char *data, size_t size, size_t nmemb, void *ud)
{
    struct tail *t = ud;
    size_t n = size * nmemb;
    if (collect(data, 1, n, &t->line) != n)
        return 0;
    char *start = t->line.p, *nl;
    while ((nl = memchr(start, '\n', t->line.len - (size_t)(start - t->line.p)))) {
        *nl = '\0';
        if (nl > start && nl[-1] == '\r')
            nl[-1] = '\0';
        if (!*start) {
            dispatch(t);
            if (t->count && t->seen >= t->count)
                return 0; /* enough: end the transfer */
        } else if (strncmp(start, "event:", 6) == 0) {
            snprintf(t->event, sizeof(t->event), "%s", start + 6 + (start[6] == ' '));
        } else if (strncmp(start, "data:", 5) == 0) {
            const char *d = start + 5 + (start[5] == ' ');
            if (t->data.len)
                collect("\n", 1, 1, &t->data);
            if (collect((char *)d, 1, strlen(d), &t->data) != strlen(d))
                return 0;
        }
        start = nl + 1;
    }
    size_t rest = t->line.len - (size_t)(start - t->line.p);
    memmove(t->line.p, start, rest);
    t->line.len = rest;
    return n;
}

int iocctl_tail(const struct iocctl_api *a, const char *match, const char *types, int64_t count,
                bool json)
{
    char path[1200] = "/api/v1/live";
    CURL *esc = curl_easy_init();
    if (!esc)
        return EXIT_RUNTIME;
    char *m = match ? curl_easy_escape(esc, match, 0) : NULL;
    char *ty = types ? curl_easy_escape(esc, types, 0) : NULL;
    snprintf(path, sizeof(path), "/api/v1/live%s%s%s%s%s", m || ty ? "?" : "",
             m ? "match=" : "", m ? m : "", m && ty ? "&" : "", ty ? "types=" : "");
    if (ty)
        strncat(path, ty, sizeof(path) - strlen(path) - 1);
    curl_free(m);
    curl_free(ty);
    curl_easy_cleanup(esc);

    struct curl_slist *hdrs;
    CURL *c = request(a, path, &hdrs);
    if (!c)
        return EXIT_RUNTIME;
    struct tail t = {.json = json, .count = count};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(t.line.p);
    free(t.data.p);
    if (count && t.seen >= count)
        return EXIT_OK;
    if (rc == CURLE_OK) {
        fprintf(stderr, "iocctl: %s: the stream ended (iocd stopped)\n", a->base);
        return EXIT_RUNTIME;
    }
    fprintf(stderr, "iocctl: %s%s: %s\n", a->base, path, curl_easy_strerror(rc));
    return EXIT_RUNTIME;
}

/* ---- alerts ---- */

static void alert_row(const cJSON *a, bool active)
{
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(a, "cleared");
    printf("%-8s %-24s %-24s %-9s %12.15g %10.15g  %s\n",
           active ? "ACTIVE" : cJSON_IsString(cl) ? "cleared" : "raised", str(a, "raised"),
           cJSON_IsString(cl) ? cl->valuestring : "-", str(a, "severity"), num(a, "value"),
           num(a, "threshold"), str(a, "id"));
}

int iocctl_alerts(const struct iocctl_api *a, const char *from, const char *to,
                  const char *limit, bool json)
{
    char path[1200] = "/api/v1/alerts";
    CURL *esc = curl_easy_init();
    if (!esc)
        return EXIT_RUNTIME;
    const char *keys[] = {"from", "to", "limit"}, *vals[] = {from, to, limit};
    for (int i = 0; i < 3; i++) {
        if (!vals[i])
            continue;
        char *e = curl_easy_escape(esc, vals[i], 0);
        size_t n = strlen(path);
        snprintf(path + n, sizeof(path) - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', keys[i],
                 e ? e : "");
        curl_free(e);
    }
    curl_easy_cleanup(esc);
    cJSON *j;
    int rc = get_json(a, path, &j);
    if (rc < 0)
        fprintf(stderr, "iocctl: %s: iocd is not answering (is it running? see --url)\n",
                a->base);
    if (rc)
        return EXIT_RUNTIME;
    if (json) {
        print_json(j);
    } else {
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "active");
        const cJSON *hist = cJSON_GetObjectItemCaseSensitive(j, "history");
        printf("%-8s %-24s %-24s %-9s %12s %10s  %s\n", "STATE", "RAISED", "CLEARED",
               "SEVERITY", "VALUE", "THRESHOLD", "ALERT");
        const cJSON *x;
        cJSON_ArrayForEach(x, act) alert_row(x, true);
        cJSON_ArrayForEach(x, hist) alert_row(x, false);
        printf("%d active, %d in the history\n", cJSON_GetArraySize(act),
               cJSON_GetArraySize(hist));
    }
    cJSON_Delete(j);
    return EXIT_OK;
}

/* ---- status ---- */

int iocctl_status_api(const struct iocctl_api *a, bool json)
{
    cJSON *j;
    int rc = get_json(a, "/api/v1/status", &j);
    if (rc < 0)
        return -1;
    if (rc)
        return EXIT_RUNTIME;
    if (json) {
        print_json(j);
        cJSON_Delete(j);
        return EXIT_OK;
    }
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "broker");
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(j, "flush");
    printf("iocd %s at %s, up %.0f s\n", str(j, "version"), a->base,
           (num(j, "now_ms") - num(j, "started_ms")) / 1000.0);
    printf("broker:  %s (%.0f connects)\n", str(b, "state"), num(b, "connects"));
    printf("series:  %.0f   alerts active: %.0f\n", num(j, "series"), num(j, "alerts_active"));
    printf("flush:   last %.3f ms, max %.3f ms, %.0f windows pending\n",
           num(fl, "last_us") / 1000.0, num(fl, "max_us") / 1000.0, num(fl, "pending_windows"));
    printf("\n%-12s %10s %10s %12s %8s  %s\n", "ADAPTER", "MESSAGES", "ACCEPTED", "OBSERVATIONS",
           "EVENTS", "REJECTS");
    const cJSON *ad;
    cJSON_ArrayForEach(ad, cJSON_GetObjectItemCaseSensitive(j, "adapters"))
    {
        printf("%-12s %10.0f %10.0f %12.0f %8.0f ", ad->string, num(ad, "messages"),
               num(ad, "accepted"), num(ad, "observations"), num(ad, "events"));
        const cJSON *r;
        bool any = false;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ad, "rejects"))
        {
            printf(" %s=%.0f", r->string, r->valuedouble);
            any = true;
        }
        printf("%s\n", any ? "" : " -");
    }
    printf("\n%-12s %8s %8s %8s\n", "DEVICES", "ONLINE", "STALE", "OFFLINE");
    const cJSON *dv;
    cJSON_ArrayForEach(dv, cJSON_GetObjectItemCaseSensitive(j, "devices"))
        printf("%-12s %8.0f %8.0f %8.0f\n", dv->string, num(dv, "online"), num(dv, "stale"),
               num(dv, "offline"));
    cJSON_Delete(j);
    return EXIT_OK;
}
