/* daemon/http/host_check.c — Host header values the server answers (see
 * host_check.h).
 *
 * Owns: nothing; parses the caller's bytes in place. */
#include "daemon/http/host_check.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 253

struct hostport {
    char name[NAME_MAX_LEN + 1]; /* without brackets, NUL-terminated */
    bool bracketed;              /* "[::1]" */
    const char *port;            /* digits after ':', NULL when none */
    size_t port_len;
};

/* NAME, NAME:PORT, [V6], [V6]:PORT; 0, or -1 when malformed. */
static int split(const char *s, size_t n, struct hostport *out)
{
    memset(out, 0, sizeof(*out));
    const char *name = s, *rest;
    size_t name_len;
    if (n && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return -1;
        name = s + 1;
        name_len = (size_t)(rb - name);
        rest = rb + 1;
        out->bracketed = true;
    } else {
        const char *colon = memchr(s, ':', n);
        name_len = colon ? (size_t)(colon - s) : n;
        rest = s + name_len;
    }
    size_t rest_len = n - (size_t)(rest - s);
    if (name_len == 0 || name_len > NAME_MAX_LEN || memchr(name, '\0', name_len))
        return -1;
    memcpy(out->name, name, name_len);
    out->name[name_len] = '\0';
    if (rest_len == 0)
        return 0;
    if (rest[0] != ':' || rest_len < 2 || rest_len > 6)
        return -1;
    for (size_t i = 1; i < rest_len; i++)
        if (rest[i] < '0' || rest[i] > '9')
            return -1;
    out->port = rest + 1;
    out->port_len = rest_len - 1;
    return 0;
}

static bool loopback(const struct hostport *hp)
{
    if (hp->bracketed) {
        struct in6_addr a6;
        return inet_pton(AF_INET6, hp->name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, hp->name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return strcasecmp(hp->name, "localhost") == 0;
}

bool iocd_http_host_is_loopback(const char *host, size_t n)
{
    struct hostport hp;
    return split(host, n, &hp) == 0 && loopback(&hp);
}

bool iocd_http_host_allowed(const char *host, size_t n, const char *allowed)
{
    struct hostport hp;
    if (split(host, n, &hp) != 0)
        return false;
    if (loopback(&hp))
        return true;
    const char *p = allowed ? allowed : "";
    while (*p) {
        size_t skip = strspn(p, " ,\t"), len;
        p += skip;
        len = strcspn(p, " ,\t");
        struct hostport want;
        if (len && split(p, len, &want) == 0 && want.bracketed == hp.bracketed &&
            strcasecmp(want.name, hp.name) == 0 &&
            (!want.port ||
             (hp.port && want.port_len == hp.port_len && !memcmp(want.port, hp.port, hp.port_len))))
            return true;
        p += len;
    }
    return false;
}
