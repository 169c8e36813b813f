/* daemon/base/bbox.c — bounding boxes (see bbox.h).
 *
 * Owns: nothing beyond one call. */
#include "daemon/base/bbox.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int iocd_bbox_parse(const char *s, struct iocd_bbox *out)
{
    if (!s)
        return -1;
    double v[4];
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        while (*p == ' ')
            p++;
        errno = 0;
        v[i] = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(v[i]))
            return -1;
        p = end;
        while (*p == ' ')
            p++;
        if (i < 3 && *p++ != ',')
            return -1;
    }
    if (*p)
        return -1;
    if (fabs(v[0]) > 180 || fabs(v[2]) > 180 || fabs(v[1]) > 90 || fabs(v[3]) > 90 ||
        v[1] > v[3])
        return -1;
    *out = (struct iocd_bbox){v[0], v[1], v[2], v[3]};
    return 0;
}

bool iocd_bbox_contains(const struct iocd_bbox *b, double lat, double lon)
{
    if (!(lat >= b->min_lat && lat <= b->max_lat))
        return false;
    if (b->min_lon <= b->max_lon)
        return lon >= b->min_lon && lon <= b->max_lon;
    return lon >= b->min_lon || lon <= b->max_lon; /* across the antimeridian */
}
