/* daemon/mqtt/tls.h — TLS to the broker: the OpenSSL client context iocd
 * hands libmosquitto, and what a failed handshake was about.
 *
 * Owns: the SSL_CTX built from the [mqtt] tls_* keys (the caller owns the
 * returned reference), and struct iocd_tls_state, which the context's
 * callbacks fill during a handshake (the caller owns it; it must outlive
 * the context). iocd builds the context itself instead of
 * mosquitto_tls_set because it connects libmosquitto to the address it
 * resolved (the loop never blocks on DNS), so libmosquitto would check the
 * certificate against, and send as SNI, that address; here the host name
 * of [mqtt] host is checked (X509_VERIFY_PARAM_set1_host) and sent as SNI,
 * and the verify and alert callbacks record why a handshake failed, which
 * libmosquitto reports only as "A TLS error occurred". */
#ifndef IOCD_MQTT_TLS_H
#define IOCD_MQTT_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/error.h"
#include "daemon/config/core.h"

struct iocd_tls_state {
    char sni[256]; /* sent as server name; "" when host is an address */
    /* What the last handshake showed (iocd_tls_state_reset before each). */
    bool handshake_done;
    int verify_error;         /* X509_V_OK (0) unless the broker's chain failed */
    int verify_depth;         /* 0: the broker's own certificate */
    char subject[200];        /* of the certificate that failed */
    char not_before[40], not_after[40];
    char names[200];          /* its DNS and IP names (for a host name mismatch) */
    char alert[64];           /* description of a fatal TLS alert, "" = none */
    bool alert_from_broker;   /* the broker sent it (else iocd did) */
    bool cert_requested;      /* the broker asked for a client certificate iocd has not */
    char lib_error[200];      /* libmosquitto's first error line (OpenSSL's reason) */
};

/* A client context for cfg's TLS keys (the files already resolved by
 * iocd_config_mqtt_files), with its callbacks writing to *state. NULL with
 * err ("FILE:LINE: [mqtt] KEY: ...") when a file cannot be used. */
SSL_CTX *iocd_tls_context_new(const struct iocd_config *cfg, struct iocd_tls_state *state,
                              struct iocd_error *err);
/* Build a context and free it: main runs it right after loading the
 * config (--check-config too) and iocd_mqtt_reconfigure before a reload
 * takes a config, so a bad certificate is refused with file and line.
 * (The config loader may not include daemon/mqtt: docs/layout.md.) */
int iocd_tls_check(const struct iocd_config *cfg, struct iocd_error *err);
/* Forget what the previous handshake showed (keeps sni). */
void iocd_tls_state_reset(struct iocd_tls_state *state);
/* One sentence saying why the handshake failed, naming the keys to look
 * at; false when nothing TLS-specific was seen. */
bool iocd_tls_explain(const struct iocd_tls_state *state, const struct iocd_config *cfg,
                      char *out, size_t n);
/* The client certificate's notAfter (out, "" without one); returns the
 * days until then (negative: expired), INT32_MAX without a certificate. */
int iocd_tls_client_cert_days(SSL_CTX *ctx, char *out, size_t n);
/* SHA-256 over everything a connection depends on: host, port, client id,
 * credentials, every TLS key and the contents of the files they name (so a
 * renewed certificate at the same path differs). */
void iocd_mqtt_settings_digest(const struct iocd_config *cfg, uint8_t out[32]);

#endif
