/* daemon/config/map_areas.c — [http] map_areas read and checked (see map_areas.h).
 *
 * Owns: the file descriptor and a parse tree for the length of the call;
 * the bytes it keeps go to cfg->http.map_areas_json. The file is served
 * as it is (GET /api/v1/map/areas), so only its shape is checked here:
 * JSON, an object whose "type" is a GeoJSON type. */
#include "daemon/config/map_areas.h"

#include "daemon/config/credentials.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const geojson_types[] = {
    "FeatureCollection", "Feature", "Polygon", "MultiPolygon", "GeometryCollection",
    "LineString", "MultiLineString", "Point", "MultiPoint",
};

int iocd_config_http_map(struct iocd_config *cfg, struct iocd_error *err)
{
    const char *file = cfg->path ? cfg->path : "(defaults)";
    const char *v = cfg->http.map_areas;
    int line = cfg->http.map_areas_line;
    free(cfg->http.map_areas_json);
    cfg->http.map_areas_json = NULL;
    cfg->http.map_areas_len = 0;
    if (!v || !v[0])
        return 0;
    char path[4096];
    if (iocd_config_relative(cfg, v, path, sizeof(path)))
        return iocd_error_at(err, file, line, "[http] map_areas: path too long");
    FILE *f = fopen(path, "rb");
    if (!f)
        return iocd_error_at(err, file, line, "[http] map_areas: %s: %s", path, strerror(errno));
    char *buf = malloc(IOCD_MAP_AREAS_MAX + 1);
    size_t n = buf ? fread(buf, 1, IOCD_MAP_AREAS_MAX + 1, f) : 0;
    bool read_error = buf && ferror(f);
    fclose(f);
    const char *why = NULL;
    if (!buf)
        why = "out of memory";
    else if (read_error)
        why = "read error";
    else if (n > IOCD_MAP_AREAS_MAX)
        why = "larger than 8 MiB";
    cJSON *root = why ? NULL : cJSON_ParseWithLength(buf, n);
    if (!why && !root)
        why = "not valid JSON";
    const cJSON *type = root ? cJSON_GetObjectItemCaseSensitive(root, "type") : NULL;
    bool known = false;
    for (size_t i = 0; cJSON_IsString(type) && i < sizeof(geojson_types) / sizeof(*geojson_types);
         i++)
        known |= strcmp(type->valuestring, geojson_types[i]) == 0;
    if (!why && (!cJSON_IsObject(root) || !known))
        why = "not a GeoJSON object (its \"type\" is not FeatureCollection, Feature or a geometry)";
    cJSON_Delete(root);
    if (why) {
        free(buf);
        return iocd_error_at(err, file, line, "[http] map_areas: %s: %s", path, why);
    }
    cfg->http.map_areas_json = buf;
    cfg->http.map_areas_len = n;
    return 0;
}
