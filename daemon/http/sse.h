/* daemon/http/sse.h — the live stream: GET /api/v1/live as server-sent
 * events (docs/api.md, "Live stream").
 *
 * Owns: the stream clients (each in its request's pool, with its two
 * bounded buffers malloc'd), the ping and flush timers and the SSE head
 * formatted once per item. Loop thread only. */
#ifndef IOCD_HTTP_SSE_H
#define IOCD_HTTP_SSE_H

#include <uv.h>

#include "daemon/config/config.h"
#include "daemon/http/provider.h"
#include "daemon/http/request.h"
#include "daemon/live/hub.h"

/* Live-stream batching: queued items leave at most this long after they
 * were emitted, or at once when a client has this many bytes queued. */
#define IOCD_HTTP_STREAM_FLUSH_MS 10
#define IOCD_HTTP_STREAM_FLUSH_BYTES 65536

struct iocd_http_sse;

/* The clients' figures are kept in `stats` (live_*), owned by the caller
 * and alive until iocd_http_sse_free. -1 on ENOMEM. */
int iocd_http_sse_new(struct iocd_http_sse **out, uv_loop_t *loop, const struct iocd_config *cfg,
                      struct iocd_live *live, struct iocd_http_stats *stats);
/* Answer GET /api/v1/live (the request is authorised already). */
void iocd_http_sse_on_request(struct iocd_http_sse *s, h2o_req_t *req);
/* Keep-alive comment interval (0: the default, 15 s). */
void iocd_http_sse_set_ping_interval(struct iocd_http_sse *s, uint64_t ms);
/* End every stream and close the timers; streams still held by h2o go
 * when their requests are freed. */
void iocd_http_sse_close(struct iocd_http_sse *s);
/* After the loop has finished (every request freed). NULL is allowed. */
void iocd_http_sse_free(struct iocd_http_sse *s);

#endif
