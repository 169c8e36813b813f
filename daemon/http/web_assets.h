/* daemon/http/web_assets.h — the operator console (web/) embedded in iocd.
 *
 * The table is generated at build time from web/ by tools/embed_web.py
 * (web/meson.build's `web_assets_c`). The HTTP server (daemon/http/api.c)
 * serves `path` ("/index.html", "/app.js", ...) with `content_type`; "/"
 * is served as "/index.html".
 *
 * Owns: nothing at run time; the table and bytes are read-only, static
 * storage. */
#ifndef IOCD_WEB_ASSETS_H
#define IOCD_WEB_ASSETS_H

#include <stddef.h>

struct iocd_web_asset {
    const char *path;         /* "/index.html": starts with '/' */
    const char *content_type; /* "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t len;
};

extern const struct iocd_web_asset iocd_web_assets[];
extern const size_t iocd_web_n_assets;

#endif
