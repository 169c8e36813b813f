/* tools/iocctl/status_api.c — `iocctl status` from the running daemon
 * (/api/v1/status): broker, flush, adapters' counters and devices online,
 * stale and offline, as text or the API's JSON. status.c is the database
 * fallback.
 *
 * Owns: the parsed answer of one run. */
#include <stdio.h>

#include "tools/iocctl/api.h"
#include "tools/iocctl/iocctl.h"

#define S(o, k) iocctl_api_str(o, k)
#define N(o, k) iocctl_api_num(o, k)

static void adapters_text(const cJSON *j)
{
    printf("\n%-12s %10s %10s %12s %8s  %s\n", "ADAPTER", "MESSAGES", "ACCEPTED", "OBSERVATIONS",
           "EVENTS", "REJECTS");
    const cJSON *ad;
    cJSON_ArrayForEach(ad, cJSON_GetObjectItemCaseSensitive(j, "adapters"))
    {
        printf("%-12s %10.0f %10.0f %12.0f %8.0f ", ad->string, N(ad, "messages"),
               N(ad, "accepted"), N(ad, "observations"), N(ad, "events"));
        const cJSON *r;
        bool any = false;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ad, "rejects"))
        {
            printf(" %s=%.0f", r->string, r->valuedouble);
            any = true;
        }
        printf("%s\n", any ? "" : " -");
    }
}

static void status_text(const struct iocctl_api *a, const cJSON *j)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "broker");
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(j, "flush");
    printf("iocd %s at %s, up %.0f s\n", S(j, "version"), a->base,
           (N(j, "now_ms") - N(j, "started_ms")) / 1000.0);
    printf("broker:  %s (%.0f connects)\n", S(b, "state"), N(b, "connects"));
    printf("series:  %.0f   alerts active: %.0f\n", N(j, "series"), N(j, "alerts_active"));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "health");
    const cJSON *bp = cJSON_GetObjectItemCaseSensitive(j, "backpressure");
    const char *reason = S(h, "reason");
    printf("health:  %s%s%s\n", S(h, "status"), reason[0] ? ": " : "", reason);
    printf("flush:   last %.3f ms, max %.3f ms, %.0f windows pending, %.0f committed, "
           "%.0f failed\n",
           N(fl, "last_us") / 1000.0, N(fl, "max_us") / 1000.0, N(fl, "pending_windows"),
           N(fl, "committed"), N(fl, "failures"));
    printf("unwritten: %.0f of %.0f (oldest %.1f s), back-pressure %s (%.0f times)\n",
           N(bp, "unwritten"), N(bp, "max_unwritten"), N(bp, "oldest_age_ms") / 1000.0,
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bp, "on")) ? "ON" : "off",
           N(bp, "pauses"));
    adapters_text(j);
    printf("\n%-12s %8s %8s %8s\n", "DEVICES", "ONLINE", "STALE", "OFFLINE");
    const cJSON *dv;
    cJSON_ArrayForEach(dv, cJSON_GetObjectItemCaseSensitive(j, "devices"))
        printf("%-12s %8.0f %8.0f %8.0f\n", dv->string, N(dv, "online"), N(dv, "stale"),
               N(dv, "offline"));
}

int iocctl_status_api(const struct iocctl_api *a, bool json)
{
    cJSON *j;
    int rc = iocctl_api_get_json(a, "/api/v1/status", &j);
    if (rc < 0)
        return -1;
    if (rc)
        return EXIT_RUNTIME;
    if (json)
        iocctl_api_print_json(j);
    else
        status_text(a, j);
    cJSON_Delete(j);
    return EXIT_OK;
}
