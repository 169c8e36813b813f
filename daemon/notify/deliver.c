/* daemon/notify/deliver.c — one webhook POST with libcurl (deliver.h).
 *
 * Owns: the request's header list and the first bytes of the answer (for
 * the log) for the length of one call. Redirects are not followed (a
 * webhook that moved is a configuration to fix: a 3xx is a permanent
 * failure), only http and https are spoken, and the attempt is abandoned
 * as soon as *stop is set (a clean stop does not wait for a slow
 * receiver; the notification stays queued). */
#include "daemon/notify/deliver.h"

#include <stdio.h>
#include <string.h>

enum iocd_notify_outcome iocd_notify_classify(long status)
{
    if (status >= 200 && status < 300)
        return IOCD_NOTIFY_DELIVERED;
    if (status == 0 || status == 408 || status == 429 || status >= 500)
        return IOCD_NOTIFY_RETRY;
    return IOCD_NOTIFY_PERMANENT;
}

struct answer {
    char text[160];
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t got = size * n, room = sizeof(a->text) - 1 - a->len;
    size_t take = got < room ? got : room;
    memcpy(a->text + a->len, p, take);
    a->len += take;
    a->text[a->len] = '\0';
    return got;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const atomic_bool *stop = ud;
    return atomic_load(stop) ? 1 : 0;
}

static bool add_header(struct curl_slist **h, const char *line)
{
    struct curl_slist *t = curl_slist_append(*h, line);
    if (t)
        *h = t;
    return t != NULL;
}

/* The answer's text for the log: control bytes as spaces. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

enum iocd_notify_outcome iocd_notify_post(CURL *curl, const struct iocd_notify_request *r,
                                          const atomic_bool *stop,
                                          struct iocd_notify_result *out)
{
    memset(out, 0, sizeof(*out));
    struct curl_slist *h = NULL;
    char line[96];
    snprintf(line, sizeof(line), "X-Iocd-Notification-Id: %s", r->uid);
    bool ok = add_header(&h, line) &&
              (r->has_content_type || add_header(&h, "Content-Type: application/json")) &&
              add_header(&h, "Expect:"); /* no 100-continue round trip */
    for (size_t i = 0; ok && i < r->n_headers; i++)
        ok = add_header(&h, r->headers[i]);
    if (!ok) {
        curl_slist_free_all(h);
        snprintf(out->error, sizeof(out->error), "out of memory");
        return IOCD_NOTIFY_RETRY;
    }
    struct answer a = {.len = 0};
    a.text[0] = '\0';
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, r->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, r->user_agent);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, r->tls_verify ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, r->tls_verify ? 2L : 0L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)stop);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(h);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(out->error, sizeof(out->error), "stopping");
        return IOCD_NOTIFY_ABORTED;
    }
    if (rc != CURLE_OK) {
        snprintf(out->error, sizeof(out->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        printable(out->error);
        return IOCD_NOTIFY_RETRY;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_off_t after = 0;
    if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
        out->retry_after_ms = (int64_t)after * 1000;
    printable(a.text);
    snprintf(out->error, sizeof(out->error), "HTTP %ld%s%s", out->status, a.len ? ": " : "",
             a.text);
    return iocd_notify_classify(out->status);
}
