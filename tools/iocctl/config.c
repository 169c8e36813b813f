/* tools/iocctl/config.c — the one place iocctl reads an iocd configuration
 * file (--config): the [store] path and the [http] listen address,
 * token, tls_cert and users_file, nothing else.
 *
 * Owns: the strings of struct iocctl_config (iocctl_config_free). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The core-keys-only loader: [adapter] and [alert] sections are skipped,
 * so iocctl links no decoder and no libmosquitto. */
#include "daemon/config/core.h"
#include "tools/iocctl/iocctl.h"

int iocctl_load_config(const char *path, struct iocctl_config *cfg)
{
    struct iocd_config full;
    struct iocd_error err = {{0}};
    memset(cfg, 0, sizeof(*cfg));
    memset(&full, 0, sizeof(full));
    if (iocd_config_core_load(&full, path, &err) != 0) {
        fprintf(stderr, "iocctl: %s\n", err.msg[0] ? err.msg : "cannot load the configuration");
        return -1;
    }
    bool have_store = full.store.path && *full.store.path;
    cfg->store_path = have_store ? iocctl_strdup(full.store.path) : NULL;
    cfg->http_listen = iocctl_strdup(full.http.listen);
    cfg->http_token = iocctl_strdup(full.http.token);
    cfg->http_tls_cert = iocctl_strdup(full.http.tls_cert);
    /* As iocd reads it: relative to the configuration file's directory. */
    const char *uf = full.http.users_file ? full.http.users_file : "";
    const char *slash = strrchr(path, '/');
    if (uf[0] && uf[0] != '/' && slash) {
        size_t n = (size_t)(slash - path) + 1 + strlen(uf) + 1;
        cfg->users_file = malloc(n);
        if (cfg->users_file)
            snprintf(cfg->users_file, n, "%.*s/%s", (int)(slash - path), path, uf);
    } else {
        cfg->users_file = iocctl_strdup(uf);
    }
    bool oom = (have_store && !cfg->store_path) || !cfg->http_listen || !cfg->http_token ||
               !cfg->http_tls_cert || !cfg->users_file;
    iocd_config_core_free(&full);
    if (oom) {
        iocctl_config_free(cfg);
        iocctl_oom();
        return -1;
    }
    return 0;
}

void iocctl_config_free(struct iocctl_config *cfg)
{
    free(cfg->store_path);
    free(cfg->http_listen);
    free(cfg->http_token);
    free(cfg->http_tls_cert);
    free(cfg->users_file);
    memset(cfg, 0, sizeof(*cfg));
}
