/* daemon/config/credentials.h — the files named by [mqtt] keys (password,
 * TLS material): resolved, checked readable, the password read; and the
 * files other keys name (users_file, the device registry), loaded.
 *
 * Owns: nothing beyond the call; it rewrites cfg->mqtt's path slots and
 * password, which struct iocd_config owns (see credentials.c for the
 * credential:NAME form and relative paths). */
#ifndef IOCD_CONFIG_CREDENTIALS_H
#define IOCD_CONFIG_CREDENTIALS_H

#include "daemon/base/error.h"
#include "daemon/config/core.h"

/* Resolve every [mqtt] file key (credential:NAME, relative to the config
 * file), refuse one iocd cannot read (FILE:LINE: reason), check the keys
 * that go together (tls_cert_file with tls_key_file, tls_* with tls,
 * password_file with username and without password) and read the password
 * from password_file. 0, or -1 with err. */
int iocd_config_mqtt_files(struct iocd_config *cfg, struct iocd_error *err);
/* A value that may hold a secret ([notify NAME] url and header.*): as
 * written, or, for "credential:NAME" ($CREDENTIALS_DIRECTORY/NAME) and
 * "file:PATH" (relative to the config file's directory), the first line of
 * that file. *out is malloc'd (the caller frees it). `key` names the key
 * in messages ("[notify ops] url"); refusals are at file:line. 0 or -1. */
int iocd_config_secret(const struct iocd_config *cfg, const char *key, const char *value,
                       const char *file, int line, char **out, struct iocd_error *err);
/* `v` as a path: as written when absolute (or without a config file),
 * else relative to the config file's directory; into buf (cap bytes).
 * 0, or -1 when it does not fit. */
int iocd_config_relative(const struct iocd_config *cfg, const char *v, char *buf, size_t cap);
/* The permission bits of `path` (st_mode & 07777), -1 if it cannot be stat'ed. */
int iocd_config_file_mode(const char *path);
/* [http] users_file resolved into cfg->http.users_path and read into
 * cfg->http.users (its mode into users_mode): 0, or -1 with err
 * "CONFIG:LINE: [http] users_file: USERS:LINE: why". */
int iocd_config_http_users(struct iocd_config *cfg, struct iocd_error *err);
/* [devices] registry resolved like users_file and read into
 * cfg->devices.registry_data: 0, or -1 with err
 * "CONFIG:LINE: [devices] registry: REGISTRY:LINE: why". */
int iocd_config_devices_registry(struct iocd_config *cfg, struct iocd_error *err);

#endif
