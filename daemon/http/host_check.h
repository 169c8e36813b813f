/* daemon/http/host_check.h — which Host header values the HTTP server
 * answers (the defence against DNS rebinding: a page from another site
 * whose name was made to resolve to 127.0.0.1 still sends its own name).
 *
 * Owns: nothing (pure functions on the caller's bytes). Any thread. */
#ifndef IOCD_HTTP_HOST_CHECK_H
#define IOCD_HTTP_HOST_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* True when `host` (a Host value, `n` bytes) names the loopback:
 * 127.0.0.0/8 as a dotted quad, [::1], or localhost (any case), each bare
 * or with :PORT. */
bool iocd_http_host_is_loopback(const char *host, size_t n);
/* True when `host` names the loopback or one of `allowed` (NULL or a
 * list separated by spaces or commas: "iocd.city.example
 * 10.0.0.5:8443"). A name compares without case; an entry without a port
 * admits any port, one with a port only that port. */
bool iocd_http_host_allowed(const char *host, size_t n, const char *allowed);

#endif
