/* adapters/registry.c — the list of known adapters. Adding a format adds
 * one line to `adapters[]` (and its file to adapters/meson.build). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"

extern const struct iocd_adapter_ops iocd_adapter_json;
extern const struct iocd_adapter_ops iocd_adapter_senml;
extern const struct iocd_adapter_ops iocd_adapter_sparkplug;
extern const struct iocd_adapter_ops iocd_adapter_ngsi;
extern const struct iocd_adapter_ops iocd_adapter_influx;
extern const struct iocd_adapter_ops iocd_adapter_text;
extern const struct iocd_adapter_ops iocd_adapter_event;

static const struct iocd_adapter_ops *const adapters[] = {
    &iocd_adapter_json,
    &iocd_adapter_senml,
    &iocd_adapter_sparkplug,
    &iocd_adapter_ngsi,
    &iocd_adapter_influx,
    &iocd_adapter_text,
    &iocd_adapter_event,
};

const struct iocd_adapter_ops *iocd_adapter_find(const char *format)
{
    for (size_t i = 0; i < sizeof(adapters) / sizeof(adapters[0]); i++)
        if (strcmp(adapters[i]->name, format) == 0)
            return adapters[i];
    return NULL;
}

const struct iocd_adapter_ops *iocd_adapter_at(size_t i)
{
    return i < sizeof(adapters) / sizeof(adapters[0]) ? adapters[i] : NULL;
}

const char *iocd_adapter_formats(void)
{
    static char list[256];
    if (!list[0]) {
        size_t off = 0;
        for (size_t i = 0; i < sizeof(adapters) / sizeof(adapters[0]); i++) {
            int n = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
                             adapters[i]->name);
            if (n < 0 || (size_t)n >= sizeof(list) - off)
                break;
            off += (size_t)n;
        }
    }
    return list;
}
