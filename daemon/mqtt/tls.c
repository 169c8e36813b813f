/* daemon/mqtt/tls.c — TLS to the broker (see tls.h).
 *
 * Owns: building the OpenSSL client context from the [mqtt] tls_* keys, its
 * verify and info callbacks (which only record into struct
 * iocd_tls_state: nothing here logs), the sentence that explains a failed
 * handshake, and the digest of the connection settings and TLS files that
 * tells a reload whether to reconnect. */
#include "daemon/mqtt/tls.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first error OpenSSL queued, as text; the queue is emptied. */
static const char *ssl_reason(char *buf, size_t n)
{
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e)
        return "no reason given";
    ERR_error_string_n(e, buf, n);
    const char *r = ERR_reason_error_string(e);
    if (r)
        snprintf(buf, n, "%s", r);
    return buf;
}

static bool is_address(const char *host)
{
    unsigned char a[16];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static void asn1_time_text(const ASN1_TIME *t, char *out, size_t n)
{
    out[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return;
    if (t && ASN1_TIME_print(b, t)) {
        int len = BIO_read(b, out, (int)n - 1);
        out[len > 0 ? len : 0] = '\0';
    }
    BIO_free(b);
}

/* "DNS:a, IP:127.0.0.1" from the subjectAltName of cert. */
static void cert_names(X509 *cert, char *out, size_t n)
{
    out[0] = '\0';
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    size_t used = 0;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && used + 1 < n; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char one[INET6_ADDRSTRLEN + 8] = "";
        if (g->type == GEN_DNS) {
            snprintf(one, sizeof(one), "DNS:%.*s", ASN1_STRING_length(g->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        } else if (g->type == GEN_IPADD) {
            char ip[INET6_ADDRSTRLEN] = "?";
            int len = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
            if (len == 4 || len == 16)
                inet_ntop(len == 4 ? AF_INET : AF_INET6, d, ip, sizeof(ip));
            snprintf(one, sizeof(one), "IP:%s", ip);
        } else {
            continue;
        }
        used += (size_t)snprintf(out + used, n - used, "%s%s", used ? ", " : "", one);
    }
    GENERAL_NAMES_free(gens);
    if (!out[0]) { /* no SAN: the common name is all there is */
        X509_NAME *subj = X509_get_subject_name(cert);
        int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
        if (idx >= 0) {
            ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
            snprintf(out, n, "CN %.*s only", ASN1_STRING_length(cn),
                     (const char *)ASN1_STRING_get0_data(cn));
        }
    }
}

static struct iocd_tls_state *state_of(const SSL *ssl)
{
    return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* OpenSSL's verdict stands; the first failure is kept for the log. */
static int on_verify(int ok, X509_STORE_CTX *x)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct iocd_tls_state *st = ssl ? state_of(ssl) : NULL;
    if (ok || !st || st->verify_error)
        return ok;
    st->verify_error = X509_STORE_CTX_get_error(x);
    st->verify_depth = X509_STORE_CTX_get_error_depth(x);
    X509 *cert = X509_STORE_CTX_get_current_cert(x);
    if (cert) {
        X509_NAME_oneline(X509_get_subject_name(cert), st->subject, sizeof(st->subject));
        asn1_time_text(X509_get0_notBefore(cert), st->not_before, sizeof(st->not_before));
        asn1_time_text(X509_get0_notAfter(cert), st->not_after, sizeof(st->not_after));
        cert_names(cert, st->names, sizeof(st->names));
    }
    return ok;
}

static void on_info(const SSL *ssl, int where, int ret)
{
    struct iocd_tls_state *st = state_of(ssl);
    if (!st)
        return;
    if (where & SSL_CB_HANDSHAKE_START) {
        /* libmosquitto set the address it connected to as the server
         * name; the ClientHello is not built yet: send the host's name
         * (none for an address, as RFC 6066 asks). */
        char *name = st->sni[0] ? st->sni : NULL; /* the macro casts its argument */
        SSL_set_tlsext_host_name((SSL *)ssl, name);
    }
    if (where & SSL_CB_HANDSHAKE_DONE)
        st->handshake_done = true;
    if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL && !st->alert[0]) {
        /* OpenSSL 3.0 has no names for the alerts TLS 1.3 added. */
        static const struct {
            int code;
            const char *name;
        } tls13[] = {{109, "missing extension"}, {116, "certificate required"},
                     {120, "no application protocol"}};
        const char *name = SSL_alert_desc_string_long(ret);
        for (size_t i = 0; i < sizeof(tls13) / sizeof(tls13[0]); i++)
            if ((ret & 0xff) == tls13[i].code)
                name = tls13[i].name;
        snprintf(st->alert, sizeof(st->alert), "%s", name);
        st->alert_from_broker = (where & SSL_CB_READ) != 0;
    }
}

/* Called only when the broker asks for a client certificate and none is
 * configured: noted (TLS 1.3 brokers may close without a readable alert),
 * and the handshake goes on without one. */
static int on_cert_request(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    (void)x509;
    (void)pkey;
    struct iocd_tls_state *st = state_of(ssl);
    if (st)
        st->cert_requested = true;
    return 0;
}

/* A passphrase-protected key must not make OpenSSL prompt on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *ud)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)ud;
    return 0;
}

/* "mqtt,x-amzn-mqtt-ca" into ALPN's wire format. */
static int set_alpn(SSL_CTX *ctx, const char *list, const char *file, struct iocd_error *err)
{
    unsigned char wire[512];
    size_t used = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        while (len && *s == ' ')
            s++, len--;
        while (len && s[len - 1] == ' ')
            len--;
        if (len == 0 || len > 255 || used + 1 + len > sizeof(wire))
            return iocd_error_set(err, "%s: [mqtt] tls_alpn: '%s' is not a comma-separated list "
                                       "of protocol names (1 to 255 bytes each)",
                                  file, list);
        wire[used++] = (unsigned char)len;
        memcpy(wire + used, s, len);
        used += len;
        p = s + len;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
    }
    if (used && SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)used) != 0)
        return iocd_error_set(err, "%s: [mqtt] tls_alpn: OpenSSL refused '%s'", file, list);
    return 0;
}

#if OPENSSL_VERSION_NUMBER < 0x30000000L /* the 3.0 names, on 1.1 */
static int SSL_CTX_load_verify_file(SSL_CTX *ctx, const char *file)
{
    return SSL_CTX_load_verify_locations(ctx, file, NULL);
}
static int SSL_CTX_load_verify_dir(SSL_CTX *ctx, const char *dir)
{
    return SSL_CTX_load_verify_locations(ctx, NULL, dir);
}
#endif

static int load_material(SSL_CTX *ctx, const struct iocd_config *cfg, const char *file,
                         struct iocd_error *err)
{
    char why[256];
    const struct iocd_config_path *ca = &cfg->mqtt.tls_ca_file, *cadir = &cfg->mqtt.tls_ca_dir;
    const struct iocd_config_path *crt = &cfg->mqtt.tls_cert_file, *key = &cfg->mqtt.tls_key_file;
    ERR_clear_error();
    if (ca->path[0] && SSL_CTX_load_verify_file(ctx, ca->path) != 1)
        return iocd_error_at(err, file, ca->line,
                             "[mqtt] tls_ca_file: %s holds no usable PEM certificate: %s",
                             ca->path, ssl_reason(why, sizeof(why)));
    if (cadir->path[0] && SSL_CTX_load_verify_dir(ctx, cadir->path) != 1)
        return iocd_error_at(err, file, cadir->line, "[mqtt] tls_ca_dir: %s: %s", cadir->path,
                             ssl_reason(why, sizeof(why)));
    if (!ca->path[0] && !cadir->path[0] && SSL_CTX_set_default_verify_paths(ctx) != 1)
        return iocd_error_set(err, "%s: [mqtt] tls: cannot load the system's trust store: %s",
                              file, ssl_reason(why, sizeof(why)));
    if (crt->path[0] && SSL_CTX_use_certificate_chain_file(ctx, crt->path) != 1)
        return iocd_error_at(err, file, crt->line,
                             "[mqtt] tls_cert_file: %s is not a PEM certificate: %s", crt->path,
                             ssl_reason(why, sizeof(why)));
    if (key->path[0] && SSL_CTX_use_PrivateKey_file(ctx, key->path, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            return iocd_error_at(err, file, key->line,
                                 "[mqtt] tls_key_file: %s is not the key of tls_cert_file %s",
                                 key->path, crt->path);
        }
        return iocd_error_at(err, file, key->line,
                             "[mqtt] tls_key_file: %s is not an unencrypted PEM private key: %s",
                             key->path, ssl_reason(why, sizeof(why)));
    }
    if (key->path[0] && SSL_CTX_check_private_key(ctx) != 1)
        return iocd_error_at(err, file, key->line,
                             "[mqtt] tls_key_file: %s is not the key of tls_cert_file %s",
                             key->path, crt->path);
    return 0;
}

SSL_CTX *iocd_tls_context_new(const struct iocd_config *cfg, struct iocd_tls_state *state,
                              struct iocd_error *err)
{
    const char *file = cfg->path ? cfg->path : "(defaults)";
    char why[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        iocd_error_set(err, "mqtt: cannot create a TLS context: %s", ssl_reason(why, sizeof(why)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, cfg->mqtt.tls_version == 13 ? TLS1_3_VERSION
                                                                   : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    int rc = 0;
    ERR_clear_error();
    if (cfg->mqtt.tls_ciphers[0] && SSL_CTX_set_cipher_list(ctx, cfg->mqtt.tls_ciphers) != 1)
        rc = iocd_error_set(err, "%s: [mqtt] tls_ciphers: OpenSSL knows none of '%s': %s", file,
                            cfg->mqtt.tls_ciphers, ssl_reason(why, sizeof(why)));
    if (!rc && cfg->mqtt.tls_ciphersuites[0] &&
        SSL_CTX_set_ciphersuites(ctx, cfg->mqtt.tls_ciphersuites) != 1)
        rc = iocd_error_set(err, "%s: [mqtt] tls_ciphersuites: OpenSSL knows none of '%s': %s",
                            file, cfg->mqtt.tls_ciphersuites, ssl_reason(why, sizeof(why)));
    if (!rc && cfg->mqtt.tls_alpn[0])
        rc = set_alpn(ctx, cfg->mqtt.tls_alpn, file, err);
    if (!rc)
        rc = load_material(ctx, cfg, file, err);
    if (rc) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    const char *host = cfg->mqtt.host;
    bool address = is_address(host);
    if (!cfg->mqtt.tls_insecure) {
        X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (address ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1
                    : X509_VERIFY_PARAM_set1_host(param, host, 0) != 1) {
            iocd_error_set(err, "%s: [mqtt] host '%s' cannot be checked against a certificate",
                           file, host);
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
    if (state) {
        memset(state, 0, sizeof(*state));
        snprintf(state->sni, sizeof(state->sni), "%s", address ? "" : host);
        SSL_CTX_set_app_data(ctx, state);
        SSL_CTX_set_info_callback(ctx, on_info);
        if (!cfg->mqtt.tls_cert_file.path[0])
            SSL_CTX_set_client_cert_cb(ctx, on_cert_request);
    }
    return ctx;
}

int iocd_tls_check(const struct iocd_config *cfg, struct iocd_error *err)
{
    if (!cfg->mqtt.tls)
        return 0;
    SSL_CTX *ctx = iocd_tls_context_new(cfg, NULL, err);
    if (!ctx)
        return -1;
    SSL_CTX_free(ctx);
    return 0;
}

void iocd_tls_state_reset(struct iocd_tls_state *st)
{
    char sni[sizeof(st->sni)];
    memcpy(sni, st->sni, sizeof(sni));
    memset(st, 0, sizeof(*st));
    memcpy(st->sni, sni, sizeof(sni));
}

static const char *trust_source(const struct iocd_config *cfg, char *buf, size_t n)
{
    if (cfg->mqtt.tls_ca_file.path[0])
        snprintf(buf, n, "tls_ca_file %s", cfg->mqtt.tls_ca_file.path);
    else if (cfg->mqtt.tls_ca_dir.path[0])
        snprintf(buf, n, "tls_ca_dir %s", cfg->mqtt.tls_ca_dir.path);
    else
        snprintf(buf, n, "the system's trust store");
    return buf;
}

static void explain_verify(const struct iocd_tls_state *st, const struct iocd_config *cfg,
                           char *out, size_t n)
{
    char trust[300];
    const char *which = st->verify_depth == 0 ? "the broker's certificate"
                                              : "a CA certificate of the broker's chain";
    switch (st->verify_error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        snprintf(out, n, "%s has expired (notAfter %s; %s)", which, st->not_after, st->subject);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        snprintf(out, n, "%s is not valid yet (notBefore %s; %s): is this host's clock right?",
                 which, st->not_before, st->subject);
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(out, n,
                 "the broker's certificate is not for host '%s' (it names %s): set [mqtt] host "
                 "to a name it lists",
                 cfg->mqtt.host, st->names[0] ? st->names : "nothing");
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        snprintf(out, n,
                 "the broker's certificate does not chain to a CA iocd trusts (%s, at %s; iocd "
                 "trusts %s): wrong CA?",
                 X509_verify_cert_error_string(st->verify_error), st->subject,
                 trust_source(cfg, trust, sizeof(trust)));
        break;
    default:
        snprintf(out, n, "%s failed verification: %s (%s)", which,
                 X509_verify_cert_error_string(st->verify_error), st->subject);
    }
}

static void explain_alert(const struct iocd_tls_state *st, const struct iocd_config *cfg,
                          char *out, size_t n)
{
    const char *a = st->alert, *crt = cfg->mqtt.tls_cert_file.path;
    if (strcmp(a, "certificate required") == 0 || (!crt[0] && strstr(a, "certificate")))
        snprintf(out, n, "the broker requires a client certificate (set tls_cert_file and "
                         "tls_key_file)");
    else if (crt[0] && (strstr(a, "certificate") || strstr(a, "unknown CA") ||
                        strstr(a, "decrypt error") || strstr(a, "access denied")))
        snprintf(out, n,
                 "the broker did not accept iocd's client certificate (alert '%s'; tls_cert_file "
                 "%s)",
                 a, crt);
    else if (strcmp(a, "protocol version") == 0)
        snprintf(out, n,
                 "the broker speaks no TLS version iocd offers (alert '%s'; tls_version = "
                 "tlsv1.%d)",
                 a, cfg->mqtt.tls_version % 10);
    else if (strcmp(a, "no application protocol") == 0)
        snprintf(out, n, "the broker accepts none of the ALPN protocols '%s' (alert '%s'; "
                         "tls_alpn)", cfg->mqtt.tls_alpn, a);
    else if (strcmp(a, "handshake failure") == 0 || strcmp(a, "insufficient security") == 0)
        snprintf(out, n,
                 "the broker and iocd have no TLS version, cipher or ALPN protocol in common "
                 "(alert '%s'; tls_version, tls_ciphers, tls_ciphersuites, tls_alpn)",
                 a);
    else
        snprintf(out, n, "the broker ended the TLS handshake with alert '%s'", a);
}

bool iocd_tls_explain(const struct iocd_tls_state *st, const struct iocd_config *cfg, char *out,
                      size_t n)
{
    if (st->verify_error)
        explain_verify(st, cfg, out, n);
    else if (st->cert_requested && (!st->alert[0] || strstr(st->alert, "certificate")))
        snprintf(out, n, "the broker requires a client certificate (set tls_cert_file and "
                         "tls_key_file)");
    else if (st->alert[0] && st->alert_from_broker)
        explain_alert(st, cfg, out, n);
    else if (st->alert[0])
        snprintf(out, n, "iocd ended the TLS handshake (alert '%s'%s%s)", st->alert,
                 st->lib_error[0] ? "; " : "", st->lib_error);
    else if (st->lib_error[0])
        snprintf(out, n, "TLS error: %s", st->lib_error);
    else if (!st->handshake_done)
        snprintf(out, n,
                 "the connection closed during the TLS handshake (is port %d the broker's TLS "
                 "listener?)",
                 cfg->mqtt.port);
    else if (cfg->mqtt.tls_cert_file.path[0])
        /* TLS 1.3: the broker checks the client certificate after iocd
         * considers the handshake done; its alert is often lost in the reset. */
        snprintf(out, n,
                 "the broker closed the connection right after the TLS handshake: did it refuse "
                 "tls_cert_file %s?",
                 cfg->mqtt.tls_cert_file.path);
    else
        return false;
    return true;
}

int iocd_tls_client_cert_days(SSL_CTX *ctx, char *out, size_t n)
{
    out[0] = '\0';
    X509 *c = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
    int days = 0, secs = 0;
    if (!c || !ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(c)))
        return INT32_MAX;
    asn1_time_text(X509_get0_notAfter(c), out, n);
    return days < 0 || secs < 0 ? (days < 0 ? days : -1) : days;
}

/* --- what a connection depends on --- */

static void digest_str(EVP_MD_CTX *md, const char *s)
{
    uint64_t len = s ? strlen(s) : 0;
    EVP_DigestUpdate(md, &len, sizeof(len));
    if (len)
        EVP_DigestUpdate(md, s, len);
}

/* The bytes of `path` (at most 16 MiB: certificates and keys are small). */
static void digest_file(EVP_MD_CTX *md, const char *path)
{
    digest_str(md, path);
    FILE *f = path[0] ? fopen(path, "re") : NULL;
    if (!f)
        return;
    unsigned char buf[8192];
    size_t got, total = 0;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0 && total < (16u << 20)) {
        EVP_DigestUpdate(md, buf, got);
        total += got;
    }
    fclose(f);
}

/* Every file of a CA directory, in name order. */
static void digest_dir(EVP_MD_CTX *md, const char *dir)
{
    digest_str(md, dir);
    struct dirent **names = NULL;
    int n = dir[0] ? scandir(dir, &names, NULL, alphasort) : 0;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        if (names[i]->d_name[0] != '.' &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < sizeof(path))
            digest_file(md, path);
        free(names[i]);
    }
    free(names);
}

void iocd_mqtt_settings_digest(const struct iocd_config *cfg, uint8_t out[32])
{
    const struct iocd_config *c = cfg;
    char num[64];
    memset(out, 0, 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return;
    }
    digest_str(md, c->mqtt.host);
    snprintf(num, sizeof(num), "%d %d %d %d %d %d %lld %d %d", c->mqtt.port,
             c->mqtt.clean_session, c->mqtt.tls, c->mqtt.tls_version, c->mqtt.tls_insecure,
             c->mqtt.protocol, (long long)c->mqtt.session_expiry_s, c->mqtt.receive_maximum,
             c->mqtt.socket_buffers);
    digest_str(md, num);
    digest_str(md, c->mqtt.client_id);
    digest_str(md, c->mqtt.username);
    digest_str(md, c->mqtt.password);
    digest_str(md, c->mqtt.tls_ciphers);
    digest_str(md, c->mqtt.tls_ciphersuites);
    digest_str(md, c->mqtt.tls_alpn);
    if (c->mqtt.tls) {
        digest_file(md, c->mqtt.tls_ca_file.path);
        digest_dir(md, c->mqtt.tls_ca_dir.path);
        digest_file(md, c->mqtt.tls_cert_file.path);
        digest_file(md, c->mqtt.tls_key_file.path);
    }
    unsigned len = 0;
    EVP_DigestFinal_ex(md, out, &len);
    EVP_MD_CTX_free(md);
}
