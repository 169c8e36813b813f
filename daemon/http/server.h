/* daemon/http/server.h — iocd's HTTP server (h2o, on iocd's libuv loop).
 *
 * Owns: the listening socket, h2o's context, the live-stream (SSE) clients
 * and their bounded buffers, the read-only SQLite connections used by the
 * query endpoints (on libuv's worker threads, so the loop never waits on
 * the disk), and the embedded operator console. Endpoints: docs/api.md.
 * In-memory state (latest values, device status, active alerts, metrics)
 * comes through struct iocd_http_provider (provider.h), called on the loop
 * thread.
 *
 * The parts, each including only those below it: server.c (listen,
 * accept, token check, routing, lifecycle) → api.c (JSON endpoints, query
 * jobs, console files) and sse.c (the live stream) → request.c (response
 * and query-parameter helpers) → provider.h (shared types). */
#ifndef IOCD_HTTP_H
#define IOCD_HTTP_H

#include <stdint.h>
#include <uv.h>

#include "daemon/config/config.h"
#include "daemon/base/error.h"
#include "daemon/http/provider.h"
#include "daemon/live/hub.h"

struct iocd_http;

/* Listen on cfg->http.listen (HTTPS when cfg->http.tls_cert is set). -1
 * with err when it cannot (bad address, port taken, token or HTTPS missing
 * for a non-loopback address, certificate or key not loadable). */
int iocd_http_start(struct iocd_http **out, uv_loop_t *loop, const struct iocd_config *cfg,
                    struct iocd_live *live, const struct iocd_http_provider *prov,
                    struct iocd_error *err);
/* Stop listening and end every stream; handles close on the loop. */
void iocd_http_close(struct iocd_http *h);
/* After the loop has finished. */
void iocd_http_free(struct iocd_http *h);
void iocd_http_get_stats(const struct iocd_http *h, struct iocd_http_stats *out);
/* The port listened on (useful with port 0 in tests); -1 once closed. */
int iocd_http_port(const struct iocd_http *h);
/* Load cfg's [http] tls_cert and tls_key again (the certificate was
 * renewed) and accept new connections with them; connections already open
 * keep theirs. 0, or -1 with err (file:line and why; the old certificate
 * stays in use). Switching between HTTP and HTTPS is refused (restart).
 * Only the TLS keys of cfg are read; nothing of it is kept. */
int iocd_http_reload_tls(struct iocd_http *h, const struct iocd_config *cfg,
                         struct iocd_error *err);
/* At start and on every reload: [http] token and the accounts cfg's
 * loader read from users_file. Requests from now on need the new
 * credentials; sessions of removed accounts (or changed tokens) end at
 * their next request; live streams already open keep going. Warns when
 * the users file is readable by group or others. 0, or -1 out of memory
 * (the old credentials stay). Nothing of cfg is kept. */
int iocd_http_set_accounts(struct iocd_http *h, const struct iocd_config *cfg);
/* Live-stream keep-alive comment interval (default 15 s; tests shorten it). */
void iocd_http_set_ping_interval(struct iocd_http *h, uint64_t ms);

#endif
