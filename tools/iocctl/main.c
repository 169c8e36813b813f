/* tools/iocctl/main.c — iocctl, the operators' command-line view of iocd
 * (docs/iocctl.md is the manual, docs/storage.md the schema it reads).
 *
 * Owns: the dispatch: `tail`, `alerts` and (unless --db) `status` go to
 * the HTTP API (api.h); the others, and status when iocd does not answer,
 * read the database, opened read-only inside one read transaction
 * (db.c); `check FILE` opens FILE itself (backup.c); `users` edits iocd's
 * users file (users.c). iocctl never writes to the database (`backup`
 * writes only its own new FILE). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/iocctl/api.h"
#include "tools/iocctl/iocctl.h"

static int run_command(sqlite3 *db, const char *path, const struct iocctl_options *o,
                       const struct iocctl_values *v)
{
    switch (o->command) {
    case CMD_SERIES: return iocctl_cmd_series(db, o);
    case CMD_QUERY: return iocctl_cmd_query(db, o, v);
    case CMD_RAW: return iocctl_cmd_raw(db, o, v);
    case CMD_EVENTS: return iocctl_cmd_events(db, o, v);
    case CMD_STATUS: return iocctl_cmd_status(db, path, o->json);
    case CMD_BACKUP: return iocctl_cmd_backup(db, path, o, v);
    case CMD_TAIL:
    case CMD_CHECK:
    case CMD_USERS:
    case CMD_ALERTS:
    case CMD_DEVICES:
    case CMD_NONE: break;
    }
    return EXIT_USAGE;
}

/* The live status: -1 when iocd does not answer and the database may
 * answer instead (no --url given). */
static int status_api(const struct iocctl_options *o, const struct iocctl_api *api)
{
    int rc = iocctl_status_api(api, o->json);
    if (rc < 0 && !o->url) {
        fprintf(stderr, "iocctl: iocd is not answering at %s; status from the database\n",
                api->base);
    } else if (rc < 0) {
        fprintf(stderr, "iocctl: iocd is not answering at %s\n", api->base);
        rc = EXIT_RUNTIME;
    }
    return rc;
}

/* tail, alerts, and status unless --db: through iocd's HTTP API. Returns
 * an exit code, or -1 to go on with the database. */
static int run_api_command(const struct iocctl_options *o, const struct iocctl_values *v)
{
    if (o->command != CMD_TAIL && o->command != CMD_ALERTS && o->command != CMD_DEVICES &&
        !(o->command == CMD_STATUS && !o->db_path))
        return -1;
    int64_t count = 0;
    int rc;
    if (o->count && (rc = iocctl_count_parse(o->count, &count)) != EXIT_OK)
        return rc;
    struct iocctl_api api;
    if ((rc = iocctl_api_resolve(&api, o->url, o->token, o->config_path)) != EXIT_OK)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (o->command == CMD_DEVICES) {
        rc = iocctl_devices(&api, o);
    } else if (o->command == CMD_TAIL) {
        rc = iocctl_tail(&api, o->match, o->types, count, o->json);
    } else if (o->command == CMD_ALERTS && o->verb && strstr(o->verb, "silence")) {
        rc = iocctl_silences(&api, o);
    } else if (o->command == CMD_ALERTS && o->verb) {
        rc = iocctl_alert_act(&api, o->verb, o->alert_id, o->note, o->assignee, o->json);
    } else if (o->command == CMD_ALERTS) {
        /* Times as the API takes them: epoch ms (relative ones resolved here). */
        char from[32], to[32];
        snprintf(from, sizeof(from), "%" PRId64, v->from_ms);
        snprintf(to, sizeof(to), "%" PRId64, v->to_ms);
        rc = iocctl_alerts(&api, o->from ? from : NULL, o->to ? to : NULL, o->limit, o->json);
    } else {
        rc = status_api(o, &api);
    }
    curl_global_cleanup();
    return rc;
}

/* The database commands: an exit code. */
static int run_db_command(const struct iocctl_options *o, const struct iocctl_values *v)
{
    char *path = NULL;
    sqlite3 *db = NULL;
    int rc;
    if ((rc = iocctl_db_path_resolve(o, &path)) == EXIT_OK &&
        (rc = iocctl_db_open(path, &db)) == EXIT_OK) {
        rc = run_command(db, path, o, v);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL); /* ends the read transaction */
        sqlite3_close(db);
    }
    free(path);
    return rc;
}

int main(int argc, char **argv)
{
    struct iocctl_options o = {0};
    int rc = iocctl_args_parse(argc, argv, &o);
    if (rc < 0)
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
    if (rc != EXIT_OK)
        return rc;

    struct iocctl_values v;
    if ((rc = iocctl_values_parse(&o, &v)) != EXIT_OK)
        return rc;
    if ((rc = run_api_command(&o, &v)) >= 0)
        return fflush(stdout) == 0 && rc == EXIT_OK ? EXIT_OK : rc ? rc : EXIT_RUNTIME;

    rc = o.command == CMD_CHECK   ? iocctl_cmd_check(o.file, o.json)
         : o.command == CMD_USERS ? iocctl_cmd_users(&o)
                                  : run_db_command(&o, &v);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "iocctl: error writing output: %s\n", strerror(errno));
        if (rc == EXIT_OK)
            rc = EXIT_RUNTIME;
    }
    return rc;
}
