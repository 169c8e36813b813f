/* daemon/notify/deliver.h — one webhook POST and what its answer means.
 *
 * Owns: nothing between calls but the caller's CURL handle (kept by the
 * notifier thread, so connections to a receiver are reused). A call
 * blocks for at most the request's timeout: call it only off the loop
 * thread. */
#ifndef IOCD_NOTIFY_DELIVER_H
#define IOCD_NOTIFY_DELIVER_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iocd_notify_request {
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t n_headers;
    bool has_content_type; /* else Content-Type: application/json */
    const char *uid;       /* X-Iocd-Notification-Id */
    const char *body;
    size_t len;
    int64_t timeout_ms;
    bool tls_verify;
    const char *user_agent;
};

enum iocd_notify_outcome {
    IOCD_NOTIFY_DELIVERED, /* a 2xx answer */
    IOCD_NOTIFY_RETRY,     /* no answer (connection, timeout), 408, 429 or 5xx: try again */
    IOCD_NOTIFY_PERMANENT, /* any other answer (4xx, 3xx, 1xx): never try again */
    IOCD_NOTIFY_ABORTED,   /* *stop became true during the attempt: not tried, as it were */
};

struct iocd_notify_result {
    long status;            /* HTTP status, 0 without an answer */
    int64_t retry_after_ms; /* the answer's Retry-After (seconds form), 0 without */
    char error[256];        /* why, for the log */
};

/* Classify an HTTP status (0: no answer). */
enum iocd_notify_outcome iocd_notify_classify(long status);
/* POST r->body to r->url on `curl`. */
enum iocd_notify_outcome iocd_notify_post(CURL *curl, const struct iocd_notify_request *r,
                                          const atomic_bool *stop,
                                          struct iocd_notify_result *out);

#endif
