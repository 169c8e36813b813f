/* daemon/http/tls.h — the server's TLS context (HTTPS through h2o) built
 * from [http] tls_cert, tls_key and tls_min_version.
 *
 * Owns: nothing kept; the SSL_CTX returned is the caller's (SSL_CTX_free).
 * Connections take their own reference to the context they were accepted
 * with (SSL_new), so a replaced context is freed safely while they run.
 * Loop thread (reads files: called at start and on reload only). */
#ifndef IOCD_HTTP_TLS_H
#define IOCD_HTTP_TLS_H

#include <openssl/ssl.h>

#include "daemon/base/error.h"
#include "daemon/config/core.h"

/* A server context for cfg's certificate and key: 0 and *out, or -1 with
 * err naming the file:line of the key that failed and why (missing file,
 * not PEM, key not matching the certificate). An expired certificate is
 * loaded, with a warning logged. */
int iocd_http_tls_ctx_new(SSL_CTX **out, const struct iocd_config *cfg, struct iocd_error *err);

#endif
