/* daemon/config/map_areas.h — [http] map_areas: the GeoJSON of the areas'
 * outlines the console map draws.
 *
 * Owns: nothing beyond the call; it fills cfg->http.map_areas_json (the
 * file's bytes, owned by struct iocd_config and freed with it). */
#ifndef IOCD_CONFIG_MAP_AREAS_H
#define IOCD_CONFIG_MAP_AREAS_H

#include "daemon/base/error.h"
#include "daemon/config/core.h"

#define IOCD_MAP_AREAS_MAX (8u << 20) /* bytes */

/* Read [http] map_areas (relative to the config file's directory) into
 * cfg->http.map_areas_json and check it is a GeoJSON FeatureCollection,
 * Feature or geometry object of at most IOCD_MAP_AREAS_MAX bytes: 0
 * (nothing to do when the key is empty), or -1 with err
 * "CONFIG:LINE: [http] map_areas: FILE: why". */
int iocd_config_http_map(struct iocd_config *cfg, struct iocd_error *err);

#endif
