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
