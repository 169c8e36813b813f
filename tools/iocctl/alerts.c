/* tools/iocctl/alerts.c — `iocctl alerts`: the active alerts and the
 * raise/clear history from iocd's HTTP API (/api/v1/alerts), as a text
 * table or the API's JSON; and the operators' verbs `alerts ack|assign|
 * resolve ID` (POST /api/v1/alerts/VERB).
 *
 * Owns: the parsed answer of one run. */
#include <stdio.h>
#include <string.h>

#include "daemon/base/number.h"
#include "tools/iocctl/api.h"
#include "tools/iocctl/iocctl.h"

/* An API request's outcome as an exit code (iocctl_api_get_json's rc). */
static int api_exit(const struct iocctl_api *a, int rc)
{
    if (rc < 0)
        fprintf(stderr, "iocctl: %s: iocd is not answering (is it running? see --url)\n",
                a->base);
    return rc ? EXIT_RUNTIME : EXIT_OK;
}

static void alert_row(const cJSON *a, bool active)
{
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(a, "cleared");
    char value[IOCD_NUMBER_MAX], threshold[IOCD_NUMBER_MAX]; /* exact, not %.15g */
    iocd_number_format(value, iocctl_api_num(a, "value"));
    iocd_number_format(threshold, iocctl_api_num(a, "threshold"));
    printf("%-8s %-24s %-24s %-9s %12s %10s  %s\n",
           active ? "ACTIVE" : cJSON_IsString(cl) ? "cleared" : "raised",
           iocctl_api_str(a, "raised"), cJSON_IsString(cl) ? cl->valuestring : "-",
           iocctl_api_str(a, "severity"), value, threshold, iocctl_api_str(a, "id"));
}

static void alerts_text(const cJSON *j)
{
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "active");
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(j, "history");
    printf("%-8s %-24s %-24s %-9s %12s %10s  %s\n", "STATE", "RAISED", "CLEARED", "SEVERITY",
           "VALUE", "THRESHOLD", "ALERT");
    const cJSON *x;
    cJSON_ArrayForEach(x, act) alert_row(x, true);
    cJSON_ArrayForEach(x, hist) alert_row(x, false);
    printf("%d active, %d in the history\n", cJSON_GetArraySize(act), cJSON_GetArraySize(hist));
}

int iocctl_alerts(const struct iocctl_api *a, const char *from, const char *to,
                  const char *limit, bool json)
{
    static const char *const keys[] = {"from", "to", "limit"};
    const char *vals[] = {from, to, limit};
    char path[1200];
    if (iocctl_api_path(path, sizeof(path), "/api/v1/alerts", keys, vals, 3) != 0)
        return EXIT_RUNTIME;
    cJSON *j;
    int rc = iocctl_api_get_json(a, path, &j);
    if (rc)
        return api_exit(a, rc);
    if (json)
        iocctl_api_print_json(j);
    else
        alerts_text(j);
    cJSON_Delete(j);
    return EXIT_OK;
}

int iocctl_alert_act(const struct iocctl_api *a, const char *verb, const char *id,
                     const char *note, const char *to, bool json)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/alerts/%s", verb);
    cJSON *body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "id", id) ||
        (note && !cJSON_AddStringToObject(body, "note", note)) ||
        (to && !cJSON_AddStringToObject(body, "to", to))) {
        cJSON_Delete(body);
        return iocctl_oom();
    }
    cJSON *j;
    int rc = iocctl_api_post_json(a, path, body, &j);
    cJSON_Delete(body);
    if (rc)
        return api_exit(a, rc);
    if (json)
        iocctl_api_print_json(j);
    else
        printf("%s %s by %s\n", iocctl_api_str(j, "id"), iocctl_api_str(j, "action"),
               iocctl_api_str(j, "actor"));
    cJSON_Delete(j);
    return EXIT_OK;
}

int iocctl_silences(const struct iocctl_api *a, const struct iocctl_options *o)
{
    cJSON *j = NULL, *body = NULL;
    int rc;
    if (strcmp(o->verb, "silences") == 0) {
        rc = iocctl_api_get_json(a, "/api/v1/silences", &j);
    } else {
        body = cJSON_CreateObject();
        const char *keys[] = {"id", "rule", "source", "device", "area", "duration", "reason"};
        const char *vals[] = {o->alert_id, o->rule, o->source, o->device, o->area, o->duration,
                              o->reason};
        for (size_t i = 0; body && i < sizeof(keys) / sizeof(keys[0]); i++)
            if (vals[i] && !cJSON_AddStringToObject(body, keys[i], vals[i])) {
                cJSON_Delete(body);
                body = NULL;
            }
        if (!body)
            return iocctl_oom();
        rc = iocctl_api_post_json(a, strcmp(o->verb, "silence") == 0 ? "/api/v1/silences"
                                                                     : "/api/v1/silences/lift",
                                  body, &j);
        cJSON_Delete(body);
    }
    if (rc)
        return api_exit(a, rc);
    if (o->json) {
        iocctl_api_print_json(j);
    } else if (strcmp(o->verb, "silences") == 0) {
        printf("%-20s %-24s %-12s %-10s %-16s %-12s %s\n", "ID", "UNTIL", "RULE", "SOURCE",
               "DEVICE", "AREA", "REASON");
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "silences"))
            printf("%-20s %-24s %-12s %-10s %-16s %-12s %s\n", iocctl_api_str(x, "id"),
                   iocctl_api_str(x, "until"), iocctl_api_str(x, "rule"),
                   iocctl_api_str(x, "source"), iocctl_api_str(x, "device"),
                   iocctl_api_str(x, "area"), iocctl_api_str(x, "reason"));
    } else {
        const cJSON *sil = cJSON_GetObjectItemCaseSensitive(j, "silence");
        printf("silence %s %s until %s\n", iocctl_api_str(sil, "id"),
               strcmp(o->verb, "silence") == 0 ? "added" : "lifted", iocctl_api_str(sil, "until"));
    }
    cJSON_Delete(j);
    return EXIT_OK;
}
