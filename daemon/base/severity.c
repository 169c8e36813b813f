/* daemon/base/severity.c — the one table of ioc.v1.Severity names
 * (severity.h). */
#include <string.h>

#include "daemon/base/severity.h"

static const char *const names[IOCD_SEVERITY__COUNT] = {
    "unspecified", "info", "warning", "minor", "major", "critical",
};

const char *iocd_severity_name(int64_t severity)
{
    return severity >= 0 && severity < IOCD_SEVERITY__COUNT ? names[severity] : NULL;
}

int iocd_severity_parse(const char *name)
{
    for (int i = 0; i < IOCD_SEVERITY__COUNT; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}
