/* daemon/base/topic.c — MQTT-style topic filter matching (declared in live.h).
 *
 * Owns: iocd_topic_matches, used wherever a user pattern selects names:
 * alert rules over series (SOURCE/DEVICE/METRIC) and devices
 * (SOURCE/DEVICE), REST `match=` parameters and live-stream filters over
 * item keys. Semantics are MQTT 3.1.1 section 4.7: levels are separated by
 * '/', '+' matches exactly one level (possibly empty), '#' as the last level
 * matches that level's parent and everything below it ("a/#" matches "a").
 * A pattern with '+' or '#' that is not a whole level, or '#' that is not
 * last, is invalid and matches nothing. As in MQTT, a wildcard in the first
 * level does not match a name starting with '$'. Also
 * iocd_topic_share_filter: the FILTER of "$share/GROUP/FILTER". No
 * allocation. */
#include "daemon/base/topic.h"

#include <stddef.h>
#include <string.h>

bool iocd_topic_matches(const char *pattern, const char *topic)
{
    if (!pattern || !topic || !*pattern || !*topic)
        return false;
    if (topic[0] == '$' && (pattern[0] == '+' || pattern[0] == '#'))
        return false;
    const char *p = pattern, *t = topic;
    for (;;) {
        /* At the start of a level in both. */
        if (p[0] == '#') {
            return p[1] == '\0'; /* '#' must be the whole last level */
        }
        if (p[0] == '+') {
            if (p[1] != '/' && p[1] != '\0')
                return false; /* "+x" is invalid */
            while (*t && *t != '/')
                t++;
            p++;
        } else {
            while (*p && *p != '/') {
                if (*p == '+' || *p == '#')
                    return false; /* wildcard inside a level: invalid */
                if (*p != *t)
                    return false;
                p++;
                t++;
            }
            if (*t && *t != '/')
                return false; /* topic level is longer */
        }
        /* Both at the end of a level: '\0' or '/'. */
        if (*p == '\0') {
            if (*t != '\0')
                return false;
            return true;
        }
        /* *p == '/' */
        if (*t == '\0') {
            /* The topic ended; only "/#" may still match (parent level). */
            return p[1] == '#' && p[2] == '\0';
        }
        p++;
        t++;
    }
}

const char *iocd_topic_share_filter(const char *sub)
{
    static const char prefix[] = "$share/";
    if (!sub || strncmp(sub, prefix, sizeof(prefix) - 1) != 0)
        return sub;
    const char *group = sub + sizeof(prefix) - 1;
    size_t n = strcspn(group, "/");
    if (n == 0 || group[n] != '/' || group[n + 1] == '\0' || strcspn(group, "+#") < n)
        return NULL;
    return group + n + 1;
}

bool iocd_topic_level_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '/' || c == '+' || c == '#')
            return false;
    }
    return true;
}
