/* tools/iocctl/tail.c — `iocctl tail`: follows iocd's live feed
 * (/api/v1/live, server-sent events) and prints each item as a line of
 * text, or as the API's JSON, until interrupted or --count items.
 *
 * Owns: the stream's line and data buffers (struct tail) for one run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/json_text.h"
#include "daemon/base/number.h"
#include "tools/iocctl/api.h"
#include "tools/iocctl/iocctl.h"

struct tail {
    bool json;
    int64_t count, seen;
    struct iocctl_body line; /* the SSE bytes not yet split into lines */
    char event[32];
    struct iocctl_body data;
};

#define S(k) iocctl_api_str(j, k)
#define N(k) iocctl_api_num(j, k)

/* One live item as a line of text; its values as the API wrote them, the
 * shortest text that reads back exactly (number.h). */
static void print_item(const char *event, const cJSON *j)
{
    char nums[3][IOCD_NUMBER_MAX];
#define NUM(i, k) (iocd_number_format(nums[i], N(k)), nums[i])
    if (strcmp(event, "obs") == 0) {
        printf("%s obs %s %s %s\n", S("time"), S("series"), NUM(0, "value"), S("unit"));
    } else if (strcmp(event, "event") == 0) {
        printf("%s event %s/%s/%s %s %s\n", S("time"), S("source"), S("kind"),
               *S("device") ? S("device") : "-", S("severity"), S("text"));
    } else if (strcmp(event, "alert") == 0) {
        printf("%s alert %s %s %s value %s threshold %s: %s\n", S("time"),
               strcmp(S("state"), "raised") == 0 ? "RAISED" : "cleared", S("id"), S("severity"),
               NUM(0, "value"), NUM(1, "threshold"), S("text"));
    } else if (strcmp(event, "window") == 0) {
        printf("%s window %s %s count %.0f mean %s min %s max %s\n", S("start"),
               S("resolution"), S("series"), N("count"), NUM(0, "mean"), NUM(1, "min"),
               NUM(2, "max"));
    } else if (strcmp(event, "status") == 0) {
        printf("%s status %s/%s %s (last seen %s)\n", S("time"), S("source"), S("device"),
               S("state"), S("last_seen"));
    } else {
        char *s = iocd_json_print(j);
        printf("%s %s\n", event, s ? s : "");
        free(s);
    }
}

#undef NUM
#undef S
#undef N

/* Item kinds that count towards --count. */
static bool is_item(const char *event)
{
    static const char *const items[] = {"obs", "event", "alert", "window", "status"};
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
        if (strcmp(event, items[i]) == 0)
            return true;
    return false;
}

/* The end of one event (a blank line): print what it carried. */
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
    if (is_item(t->event))
        t->seen++;
    t->data.len = 0;
    t->data.p[0] = '\0';
    t->event[0] = '\0';
}

/* One line of the stream: false to end the transfer. */
static bool on_line(struct tail *t, char *line)
{
    if (!*line) {
        dispatch(t);
        return !(t->count && t->seen >= t->count); /* enough: end the transfer */
    }
    if (strncmp(line, "event:", 6) == 0) {
        snprintf(t->event, sizeof(t->event), "%s", line + 6 + (line[6] == ' '));
    } else if (strncmp(line, "data:", 5) == 0) {
        char *d = line + 5 + (line[5] == ' ');
        if (t->data.len)
            iocctl_body_collect("\n", 1, 1, &t->data);
        if (iocctl_body_collect(d, 1, strlen(d), &t->data) != strlen(d))
            return false;
    }
    return true;
}

static size_t on_stream(char *data, size_t size, size_t nmemb, void *ud)
{
    struct tail *t = ud;
    size_t n = size * nmemb;
    if (iocctl_body_collect(data, 1, n, &t->line) != n)
        return 0;
    char *start = t->line.p, *nl;
    while ((nl = memchr(start, '\n', t->line.len - (size_t)(start - t->line.p)))) {
        *nl = '\0';
        if (nl > start && nl[-1] == '\r')
            nl[-1] = '\0';
        if (!on_line(t, start))
            return 0;
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
    static const char *const keys[] = {"match", "types"};
    const char *vals[] = {match, types};
    char path[1200];
    if (iocctl_api_path(path, sizeof(path), "/api/v1/live", keys, vals, 2) != 0)
        return EXIT_RUNTIME;

    struct curl_slist *hdrs;
    CURL *c = iocctl_api_request(a, path, &hdrs);
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
