/* daemon/base/json_text.c — cJSON trees as JSON text with exact numbers.
 *
 * Owns: the writer (see json_text.h); no state. Strings are escaped as cJSON
 * 1.7 does: \" \\ \b \f \n \r \t, other bytes below 0x20 as \u00xx, the rest
 * (UTF-8 included) as they are. */
#include "daemon/base/json_text.h"

#include <math.h>
#include <stdlib.h>

#include "daemon/base/number.h"

void iocd_json_escape(struct iocd_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (s) {
        const unsigned char *p = (const unsigned char *)s, *run = p;
        for (; *p; p++) {
            const char *esc = NULL;
            switch (*p) {
            case '"': esc = "\\\""; break;
            case '\\': esc = "\\\\"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            default:
                if (*p >= 0x20)
                    continue;
            }
            iocd_buf_append(b, (const char *)run, (size_t)(p - run));
            if (esc) {
                iocd_buf_append(b, esc, 2);
            } else {
                char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
                iocd_buf_append(b, u, sizeof(u));
            }
            run = p + 1;
        }
        iocd_buf_append(b, (const char *)run, (size_t)(p - run));
    }
}

static void append_string(struct iocd_buf *b, const char *s)
{
    iocd_buf_append(b, "\"", 1);
    iocd_json_escape(b, s);
    iocd_buf_append(b, "\"", 1);
}

void iocd_json_append(struct iocd_buf *b, const cJSON *item)
{
    if (!item) {
        b->oom = true;
        return;
    }
    switch (item->type & 0xFF) {
    case cJSON_NULL:
        iocd_buf_append(b, "null", 4);
        return;
    case cJSON_False:
        iocd_buf_append(b, "false", 5);
        return;
    case cJSON_True:
        iocd_buf_append(b, "true", 4);
        return;
    case cJSON_Number:
        if (!isfinite(item->valuedouble)) {
            iocd_buf_append(b, "null", 4);
        } else {
            char num[IOCD_NUMBER_MAX];
            iocd_buf_append(b, num, iocd_number_format(num, item->valuedouble));
        }
        return;
    case cJSON_Raw:
        if (!item->valuestring)
            b->oom = true;
        else
            iocd_buf_puts(b, item->valuestring);
        return;
    case cJSON_String:
        append_string(b, item->valuestring);
        return;
    case cJSON_Array:
    case cJSON_Object: {
        bool obj = (item->type & 0xFF) == cJSON_Object;
        iocd_buf_append(b, obj ? "{" : "[", 1);
        for (const cJSON *c = item->child; c && !b->oom; c = c->next) {
            if (c != item->child)
                iocd_buf_append(b, ",", 1);
            if (obj) {
                append_string(b, c->string);
                iocd_buf_append(b, ":", 1);
            }
            iocd_json_append(b, c);
        }
        iocd_buf_append(b, obj ? "}" : "]", 1);
        return;
    }
    default:
        b->oom = true;
        return;
    }
}

char *iocd_json_print(const cJSON *item)
{
    struct iocd_buf b;
    iocd_buf_init(&b);
    iocd_json_append(&b, item);
    return iocd_buf_take(&b); /* NULL after an oom; frees the buffer either way */
}
