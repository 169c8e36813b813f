/* tools/iocctl/devices.c — `iocctl devices`: the running daemon's devices
 * (/api/v1/devices): state, registry row and position, filtered by match,
 * state, area, registration and bounding box, every page followed; a text
 * table, or with --json one API object per line.
 *
 * Owns: the parsed pages of one run. */
#include <stdio.h>
#include <string.h>

#include "daemon/base/number.h"
#include "tools/iocctl/api.h"
#include "tools/iocctl/iocctl.h"

#define DEVICES_PAGE "1000"

static void device_row(const cJSON *d)
{
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(d, "lat");
    const cJSON *lon = cJSON_GetObjectItemCaseSensitive(d, "lon");
    char la[IOCD_NUMBER_MAX] = "-", lo[IOCD_NUMBER_MAX] = "-";
    if (cJSON_IsNumber(lat) && cJSON_IsNumber(lon)) {
        iocd_number_format(la, lat->valuedouble);
        iocd_number_format(lo, lon->valuedouble);
    }
    bool reg = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "registered"));
    const char *name = iocctl_api_str(d, "name"), *area = iocctl_api_str(d, "area");
    const char *pos = iocctl_api_str(d, "position");
    printf("%-10s %-16s %-8s %-3s %-12s %-11s %-11s %-8s %s\n", iocctl_api_str(d, "source"),
           iocctl_api_str(d, "device"), iocctl_api_str(d, "state"), reg ? "yes" : "no",
           *area ? area : "-", la, lo, *pos ? pos : "-", *name ? name : "-");
}

int iocctl_devices(const struct iocctl_api *a, const struct iocctl_options *o)
{
    static const char *const keys[] = {"match", "state", "area", "bbox", "registered",
                                       "limit", "after"};
    const char *registered = o->unregistered ? "false" : o->registered ? "true" : NULL;
    char after[32] = "";
    size_t n = 0;
    if (!o->json)
        printf("%-10s %-16s %-8s %-3s %-12s %-11s %-11s %-8s %s\n", "SOURCE", "DEVICE", "STATE",
               "REG", "AREA", "LAT", "LON", "POSITION", "NAME");
    for (;;) {
        const char *vals[] = {o->match, o->state, o->area, o->bbox, registered, DEVICES_PAGE,
                              after[0] ? after : NULL};
        char path[2048];
        if (iocctl_api_path(path, sizeof(path), "/api/v1/devices", keys, vals, 7) != 0)
            return EXIT_RUNTIME;
        cJSON *j;
        int rc = iocctl_api_get_json(a, path, &j);
        if (rc < 0)
            fprintf(stderr, "iocctl: %s: iocd is not answering (is it running? see --url)\n",
                    a->base);
        if (rc)
            return EXIT_RUNTIME;
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(j, "devices"))
        {
            if (o->json)
                iocctl_api_print_json(d);
            else
                device_row(d);
            n++;
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next");
        bool more = cJSON_IsString(next) && strlen(next->valuestring) < sizeof(after);
        if (more)
            snprintf(after, sizeof(after), "%s", next->valuestring);
        cJSON_Delete(j);
        if (!more)
            break;
    }
    if (!o->json)
        printf("%zu device(s)\n", n);
    return EXIT_OK;
}
