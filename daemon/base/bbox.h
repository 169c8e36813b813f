/* daemon/base/bbox.h — a bounding box as the API and iocctl take it:
 * "minlon,minlat,maxlon,maxlat", GeoJSON's order (RFC 7946 §5).
 *
 * Owns: nothing (a value type, its parser and its test). Edges are
 * inside; a box whose min_lon is greater than its max_lon crosses the
 * antimeridian (170,-10,-170,10 holds 175 and -175). */
#ifndef IOCD_BBOX_H
#define IOCD_BBOX_H

#include <stdbool.h>

struct iocd_bbox {
    double min_lon, min_lat, max_lon, max_lat;
};

/* Four finite decimal numbers separated by ',' (blanks allowed around
 * them), longitudes within -180..180, latitudes within -90..90 and
 * min_lat <= max_lat. 0, or -1 (out untouched). */
int iocd_bbox_parse(const char *s, struct iocd_bbox *out);
bool iocd_bbox_contains(const struct iocd_bbox *b, double lat, double lon);

#endif
