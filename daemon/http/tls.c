/* daemon/http/tls.c — the HTTPS server context (see tls.h).
 *
 * Owns: the SSL_CTX under construction (freed here on failure, else
 * handed to the caller) and OpenSSL's error queue while it builds (left
 * empty). Never logs a failure: it returns it, with the config's file:line,
 * for the caller to log once. HTTP/1.1 only: no ALPN is offered, so every
 * client speaks HTTP/1.1 over TLS, the protocol the live stream and the
 * rest of the server are tested with. */
#include "daemon/http/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "daemon/base/log.h"

/* The reason of OpenSSL's last error (or of fopen's), for a message. */
static const char *why(char *buf, size_t cap, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(buf, cap, "%s", strerror(errno));
    } else {
        fclose(fp);
        unsigned long e = ERR_peek_last_error();
        const char *r = e ? ERR_reason_error_string(e) : NULL;
        snprintf(buf, cap, "%s", r ? r : "not a PEM file");
    }
    ERR_clear_error();
    return buf;
}

static void warn_if_expired(SSL_CTX *ctx, const char *path)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    if (!cert)
        return;
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
        iocd_log_warn("http", "[http] tls_cert %s has expired: clients will refuse it", path);
    else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
        iocd_log_warn("http", "[http] tls_cert %s is not valid yet: clients will refuse it", path);
}

int iocd_http_tls_ctx_new(SSL_CTX **out, const struct iocd_config *cfg, struct iocd_error *err)
{
    *out = NULL;
    const char *file = cfg->path ? cfg->path : "(defaults)";
    const char *cert = cfg->http.tls_cert ? cfg->http.tls_cert : "";
    const char *key = cfg->http.tls_key && cfg->http.tls_key[0] ? cfg->http.tls_key : cert;
    int key_line = cfg->http.tls_key && cfg->http.tls_key[0] ? cfg->http.tls_key_line
                                                              : cfg->http.tls_cert_line;
    char reason[256];
    if (!cert[0])
        return iocd_error_at(err, file, cfg->http.tls_cert_line, "[http] tls_cert is empty");
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return iocd_error_set(err, "http: cannot create a TLS context: %s",
                              why(reason, sizeof(reason), "/"));
    int min = cfg->http.tls_min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    int rc = 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        rc = iocd_error_at(err, file, cfg->http.tls_cert_line,
                           "[http] tls_cert %s: cannot load the certificate: %s", cert,
                           why(reason, sizeof(reason), cert));
    else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            rc = iocd_error_at(err, file, key_line,
                               "[http] tls_key %s does not belong to the certificate in %s", key,
                               cert);
        else
            rc = iocd_error_at(err, file, key_line,
                               "[http] %s %s: cannot load the private key: %s",
                               key == cert ? "tls_cert (no tls_key)" : "tls_key", key,
                               why(reason, sizeof(reason), key));
    } else if (SSL_CTX_check_private_key(ctx) != 1)
        rc = iocd_error_at(err, file, key_line,
                           "[http] tls_key %s does not belong to the certificate in %s", key,
                           cert);
    ERR_clear_error();
    if (rc) {
        SSL_CTX_free(ctx);
        return rc;
    }
    warn_if_expired(ctx, cert);
    *out = ctx;
    return 0;
}
