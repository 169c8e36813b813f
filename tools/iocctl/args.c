/* tools/iocctl/args.c — iocctl's command line: the usage text, the
 * options (getopt_long; options may come before or after the command) and
 * which command takes which option.
 *
 * Owns: nothing; struct iocctl_options points into argv. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "iocd_build.h"
#include "tools/iocctl/iocctl.h"

void iocctl_usage_print(FILE *out)
{
    fputs("Usage: iocctl [--db PATH | --config FILE] COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  series [--match GLOB] [--json]\n"
          "      List series, ordered by name.\n"
          "  query SERIES [--resolution DUR] [--from TIME] [--to TIME] [--quantile Q]... [--json]\n"
          "      Print the stored windows of one series, ordered by start.\n"
          "  query SERIES --rolling DUR --step DUR [--resolution DUR] [--from TIME] [--to TIME]\n"
          "        [--quantile Q]... [--json]\n"
          "      Rolling windows: every --step, the statistics of the last --rolling,\n"
          "      merged from the stored windows of --resolution.\n"
          "  raw SERIES [--from TIME] [--to TIME] [--limit N] [--json]\n"
          "      Print the raw samples of one series from the journal, by time.\n"
          "  events [--source S] [--kind K] [--area A] [--device D] [--status S]\n"
          "         [--min-severity LEVEL] [--bbox BOX] [--from TIME] [--to TIME] [--limit N]\n"
          "         [--json]\n"
          "      Print stored events, newest first.\n"
          "  devices [--match PATTERN] [--state STATE] [--area A] [--bbox BOX]\n"
          "          [--registered | --unregistered] [--json]\n"
          "      The running daemon's devices from its HTTP API: state, registry row\n"
          "      (name, area, subsystem, tags) and position.\n"
          "  status [--json]\n"
          "      The running daemon's status from its HTTP API (broker, devices online/\n"
          "      stale/offline, counters, flush); with --db, or when iocd does not\n"
          "      answer, the database summary.\n"
          "  alerts [--from TIME] [--to TIME] [--limit N] [--json]\n"
          "      Active alerts and the raise/clear history, from the HTTP API.\n"
          "  alerts ack|resolve ID [--note TEXT]\n"
          "      Acknowledge or resolve the active alert ID (RULE/SERIES), by the API.\n"
          "  alerts assign ID --assignee NAME [--note TEXT]\n"
          "      Assign the active alert ID to an operator.\n"
          "  alerts silences | unsilence ID\n"
          "      List the active silences, or lift one.\n"
          "  alerts silence [--rule R] [--source S] [--device D] [--area A] --for DUR\n"
          "         --reason TEXT\n"
          "      Add a silence: alerts it matches are recorded, not notified.\n"
          "  tail [--match PATTERN] [--types LIST] [--count N] [--json]\n"
          "      Follow the live feed (observations, events, alerts, closed windows,\n"
          "      device status) from the HTTP API until interrupted.\n"
          "  backup FILE [--method online|vacuum] [--pages N] [--pause DUR] [--json]\n"
          "      Copy the database into FILE (which must not exist) while iocd runs:\n"
          "      one consistent snapshot, written to FILE.tmp and renamed when complete.\n"
          "  check FILE [--json]\n"
          "      Check a database or backup: SQLite integrity check, schema version,\n"
          "      rows per table and the newest window of each resolution.\n"
          "  users add NAME --role ROLE [--file PATH]\n"
          "      Add an account to iocd's users file (created 0600 if missing) and print\n"
          "      its new token, once: the file keeps only a salted hash. Then reload iocd.\n"
          "  users list [--file PATH] [--json]\n"
          "      The accounts of the users file: names and roles.\n"
          "  users remove NAME [--file PATH]\n"
          "      Remove an account; after a reload its token and sessions stop working.\n"
          "\n"
          "Options (before or after the command):\n"
          "  --db PATH          database file, opened read-only\n"
          "  --config FILE      use the [store] path of this iocd configuration\n"
          "  --json             JSON output, one object per line\n"
          "  --match GLOB       series: names matching GLOB (SQLite GLOB: * ? [...])\n"
          "  --resolution DUR   query: window length, e.g. 1m, 60s, 1h, 1d\n"
          "                     (default: the finest stored for the series)\n"
          "  --from TIME        query: windows starting at or after TIME;\n"
          "                     events, raw: events, samples at or after TIME;\n"
          "                     rolling: first window end (default: 24 h before --to)\n"
          "  --to TIME          query: windows starting before TIME;\n"
          "                     events, raw: events, samples before TIME;\n"
          "                     rolling: last window end (default: now, rounded up)\n"
          "  --quantile Q       query: also the Q-quantile, 0 <= Q <= 1 (repeatable)\n"
          "  --rolling DUR      query: rolling window length, e.g. 2h, 24h\n"
          "  --step DUR         query: time between rolling window ends, e.g. 1h\n"
          "  --source S, --kind K, --area A, --device D, --status S\n"
          "                     events: only events with exactly this value\n"
          "  --min-severity LEVEL\n"
          "                     events: severity LEVEL or higher, one of unspecified,\n"
          "                     info, warning, minor, major, critical\n"
          "  --bbox BOX         events, devices: located within BOX =\n"
          "                     MINLON,MINLAT,MAXLON,MAXLAT (GeoJSON's order; edges\n"
          "                     included), e.g. 107.95,13.95,108.05,14.02\n"
          "  --state STATE      devices: online, stale, offline or unseen (registered,\n"
          "                     never heard from)\n"
          "  --area A           devices: the registry's area (ward), exactly\n"
          "  --registered, --unregistered\n"
          "                     devices: only those in (not in) the registry\n"
          "  --limit N          events: at most N events (default 100, 0: no limit);\n"
          "                     raw: at most N samples, the earliest (default 0: no limit)\n"
          "  --url URL          iocd's HTTP API (default: --config's [http] listen, else\n"
          "                     $IOCD_URL, else http://127.0.0.1:8080)\n"
          "  --token TOKEN      bearer token (default: --config's, else $IOCD_TOKEN)\n"
          "                     HTTPS: the server's certificate must chain to $IOCD_CACERT,\n"
          "                     else to --config's [http] tls_cert, else to the system's CAs\n"
          "  --match PATTERN    tail: MQTT filter over item keys, e.g. 'obs/air/#',\n"
          "                     'alert/#' (docs/api.md)\n"
          "  --types LIST       tail: obs,event,alert,window,status (default: all)\n"
          "  --count N          tail: stop after N items\n"
          "  --note TEXT        alerts ack|assign|resolve: the operator's note (500 bytes)\n"
          "  --assignee NAME    alerts assign: the operator the alert is assigned to\n"
          "  --rule R           alerts silence: only alerts of rule R (source, device and\n"
          "                     area options likewise; at least one of the four)\n"
          "  --for DUR          alerts silence: how long, e.g. 2h, 3d\n"
          "  --reason TEXT      alerts silence: why (shown and stored)\n"
          "  --role ROLE        users add: viewer (reads), operator (also acknowledges,\n"
          "                     assigns, resolves, silences) or admin (everything)\n"
          "  --file PATH        users: the users file (default: --config's [http]\n"
          "                     users_file)\n"
          "  --method M         backup: online (SQLite's backup API, in steps; the\n"
          "                     default) or vacuum (VACUUM INTO: compacted, one pass)\n"
          "  --pages N          backup: pages copied per step (default 1024)\n"
          "  --pause DUR        backup: sleep between steps, e.g. 10ms (default 0)\n"
          "  --version          print the version and exit\n"
          "  -h, --help         print this help and exit\n"
          "\n"
          "TIME: ISO-8601 (2026-11-22T10:00:00Z), epoch milliseconds, 'now',\n"
          "or relative to now: -15m, -24h, -7d.\n"
          "Database: --db, else --config's [store] path, else $STATE_DIRECTORY/iocd.db,\n"
          "else " IOCCTL_SYSTEM_DB " if it exists, else ./iocd.db.\n"
          "Exit status: 0 ok, 1 runtime error, 2 usage error; check: 3 the integrity\n"
          "check failed, 4 a schema version this iocctl does not read.\n",
          out);
}

int iocctl_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("iocctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    iocctl_usage_print(stderr);
    return EXIT_USAGE;
}

enum {
    OPT_DB = 256,
    OPT_CONFIG,
    OPT_MATCH,
    OPT_RESOLUTION,
    OPT_FROM,
    OPT_TO,
    OPT_JSON,
    OPT_VERSION,
    OPT_SOURCE,
    OPT_KIND,
    OPT_AREA,
    OPT_DEVICE,
    OPT_STATUS,
    OPT_MIN_SEVERITY,
    OPT_LIMIT,
    OPT_QUANTILE,
    OPT_ROLLING,
    OPT_STEP,
    OPT_URL,
    OPT_TOKEN,
    OPT_TYPES,
    OPT_COUNT,
    OPT_NOTE,
    OPT_ASSIGNEE,
    OPT_RULE,
    OPT_FOR,
    OPT_REASON,
    OPT_METHOD,
    OPT_PAGES,
    OPT_PAUSE,
    OPT_ROLE,
    OPT_FILE,
    OPT_STATE,
    OPT_BBOX,
    OPT_REGISTERED,
    OPT_UNREGISTERED,
};

static const char *const command_names[] = {
    [CMD_SERIES] = "series", [CMD_QUERY] = "query", [CMD_RAW] = "raw",
    [CMD_EVENTS] = "events", [CMD_STATUS] = "status", [CMD_TAIL] = "tail",
    [CMD_ALERTS] = "alerts", [CMD_BACKUP] = "backup", [CMD_CHECK] = "check",
    [CMD_USERS] = "users", [CMD_DEVICES] = "devices",
};
#define N_COMMANDS (sizeof(command_names) / sizeof(command_names[0]))

static enum iocctl_command command_by_name(const char *s)
{
    for (size_t c = CMD_SERIES; c < N_COMMANDS; c++)
        if (strcmp(s, command_names[c]) == 0)
            return (enum iocctl_command)c;
    return CMD_NONE;
}

const char *iocctl_command_name(enum iocctl_command c)
{
    return c > CMD_NONE && (size_t)c < N_COMMANDS ? command_names[c] : "?";
}

/* The commands an option applies to, ending with CMD_NONE. */
#define ONLY(...) ((const enum iocctl_command[]){__VA_ARGS__, CMD_NONE})

static bool takes(const enum iocctl_command *commands, enum iocctl_command c)
{
    for (; *commands != CMD_NONE; commands++)
        if (*commands == c)
            return true;
    return false;
}

/* Options a command does not take are usage errors, not silently ignored. */
static int check_command_options(const struct iocctl_options *o)
{
    const struct {
        const char *value, *name;
        const enum iocctl_command *commands;
    } opts[] = {
        {o->match, "--match", ONLY(CMD_SERIES, CMD_TAIL, CMD_DEVICES)},
        {o->state, "--state", ONLY(CMD_DEVICES)},
        {o->bbox, "--bbox", ONLY(CMD_DEVICES, CMD_EVENTS)},
        {o->registered ? "" : NULL, "--registered", ONLY(CMD_DEVICES)},
        {o->unregistered ? "" : NULL, "--unregistered", ONLY(CMD_DEVICES)},
        {o->resolution, "--resolution", ONLY(CMD_QUERY)},
        {o->from, "--from", ONLY(CMD_QUERY, CMD_RAW, CMD_EVENTS, CMD_ALERTS)},
        {o->to, "--to", ONLY(CMD_QUERY, CMD_RAW, CMD_EVENTS, CMD_ALERTS)},
        {o->n_quantiles ? o->quantiles[0] : NULL, "--quantile", ONLY(CMD_QUERY)},
        {o->rolling, "--rolling", ONLY(CMD_QUERY)},
        {o->step, "--step", ONLY(CMD_QUERY)},
        {o->source, "--source", ONLY(CMD_EVENTS, CMD_ALERTS)},
        {o->kind, "--kind", ONLY(CMD_EVENTS)},
        {o->area, "--area", ONLY(CMD_EVENTS, CMD_ALERTS, CMD_DEVICES)},
        {o->device, "--device", ONLY(CMD_EVENTS, CMD_ALERTS)},
        {o->rule, "--rule", ONLY(CMD_ALERTS)},
        {o->duration, "--for", ONLY(CMD_ALERTS)},
        {o->reason, "--reason", ONLY(CMD_ALERTS)},
        {o->status, "--status", ONLY(CMD_EVENTS)},
        {o->min_severity, "--min-severity", ONLY(CMD_EVENTS)},
        {o->limit, "--limit", ONLY(CMD_EVENTS, CMD_RAW, CMD_ALERTS)},
        {o->types, "--types", ONLY(CMD_TAIL)},
        {o->count, "--count", ONLY(CMD_TAIL)},
        {o->note, "--note", ONLY(CMD_ALERTS)},
        {o->assignee, "--assignee", ONLY(CMD_ALERTS)},
        {o->url, "--url", ONLY(CMD_TAIL, CMD_ALERTS, CMD_STATUS, CMD_DEVICES)},
        {o->token, "--token", ONLY(CMD_TAIL, CMD_ALERTS, CMD_STATUS, CMD_DEVICES)},
        {o->method, "--method", ONLY(CMD_BACKUP)},
        {o->pages, "--pages", ONLY(CMD_BACKUP)},
        {o->pause, "--pause", ONLY(CMD_BACKUP)},
        {o->role, "--role", ONLY(CMD_USERS)},
        {o->users_file, "--file", ONLY(CMD_USERS)},
        {o->db_path, "--db", ONLY(CMD_SERIES, CMD_QUERY, CMD_RAW, CMD_EVENTS, CMD_STATUS,
                                  CMD_TAIL, CMD_ALERTS, CMD_BACKUP)},
        {o->config_path, "--config", ONLY(CMD_SERIES, CMD_QUERY, CMD_RAW, CMD_EVENTS,
                                          CMD_STATUS, CMD_TAIL, CMD_ALERTS, CMD_BACKUP,
                                          CMD_USERS, CMD_DEVICES)},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (opts[i].value && !takes(opts[i].commands, o->command))
            return iocctl_usage_error("option %s does not apply to '%s'", opts[i].name,
                                      iocctl_command_name(o->command));
    bool silence = o->verb && strcmp(o->verb, "silence") == 0;
    if ((o->rule || o->duration || o->reason || o->source || o->device || o->area) &&
        o->command == CMD_ALERTS && !silence)
        return iocctl_usage_error("--rule, --source, --device, --area, --for and --reason go "
                                  "with alerts silence");
    if (silence && (!o->duration || !o->reason))
        return iocctl_usage_error("alerts silence needs --for DUR and --reason TEXT");
    if ((o->note || o->assignee) && !(o->verb && o->alert_id))
        return iocctl_usage_error("--note and --assignee go with alerts ack|assign|resolve ID");
    if (o->verb && (o->from || o->to || o->limit))
        return iocctl_usage_error("alerts %s takes no --from, --to or --limit", o->verb);
    if (o->verb && (strcmp(o->verb, "assign") == 0) != (o->assignee != NULL))
        return iocctl_usage_error(o->assignee ? "--assignee goes with alerts assign"
                                              : "alerts assign needs --assignee NAME");
    if (o->command == CMD_USERS && (strcmp(o->user_verb, "add") == 0) != (o->role != NULL))
        return iocctl_usage_error(o->role ? "--role goes with users add"
                                          : "users add needs --role viewer|operator|admin");
    if (o->registered && o->unregistered)
        return iocctl_usage_error("--registered and --unregistered exclude each other");
    if (o->step && !o->rolling)
        return iocctl_usage_error("--step needs --rolling");
    if (o->rolling && !o->step)
        return iocctl_usage_error("--rolling needs --step");
    return EXIT_OK;
}

static const struct option longopts[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"match", required_argument, NULL, OPT_MATCH},
    {"resolution", required_argument, NULL, OPT_RESOLUTION},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"kind", required_argument, NULL, OPT_KIND},
    {"area", required_argument, NULL, OPT_AREA},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"status", required_argument, NULL, OPT_STATUS},
    {"min-severity", required_argument, NULL, OPT_MIN_SEVERITY},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"quantile", required_argument, NULL, OPT_QUANTILE},
    {"rolling", required_argument, NULL, OPT_ROLLING},
    {"step", required_argument, NULL, OPT_STEP},
    {"url", required_argument, NULL, OPT_URL},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"types", required_argument, NULL, OPT_TYPES},
    {"count", required_argument, NULL, OPT_COUNT},
    {"note", required_argument, NULL, OPT_NOTE},
    {"assignee", required_argument, NULL, OPT_ASSIGNEE},
    {"rule", required_argument, NULL, OPT_RULE},
    {"for", required_argument, NULL, OPT_FOR},
    {"reason", required_argument, NULL, OPT_REASON},
    {"method", required_argument, NULL, OPT_METHOD},
    {"pages", required_argument, NULL, OPT_PAGES},
    {"pause", required_argument, NULL, OPT_PAUSE},
    {"role", required_argument, NULL, OPT_ROLE},
    {"file", required_argument, NULL, OPT_FILE},
    {"state", required_argument, NULL, OPT_STATE},
    {"bbox", required_argument, NULL, OPT_BBOX},
    {"registered", no_argument, NULL, OPT_REGISTERED},
    {"unregistered", no_argument, NULL, OPT_UNREGISTERED},
    {"json", no_argument, NULL, OPT_JSON},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The option value's place in o, or NULL for the options that are not a
 * plain value. */
static const char **option_value(struct iocctl_options *o, int c)
{
    switch (c) {
    case OPT_DB: return &o->db_path;
    case OPT_CONFIG: return &o->config_path;
    case OPT_MATCH: return &o->match;
    case OPT_RESOLUTION: return &o->resolution;
    case OPT_FROM: return &o->from;
    case OPT_TO: return &o->to;
    case OPT_SOURCE: return &o->source;
    case OPT_KIND: return &o->kind;
    case OPT_AREA: return &o->area;
    case OPT_DEVICE: return &o->device;
    case OPT_STATUS: return &o->status;
    case OPT_MIN_SEVERITY: return &o->min_severity;
    case OPT_LIMIT: return &o->limit;
    case OPT_ROLLING: return &o->rolling;
    case OPT_STEP: return &o->step;
    case OPT_URL: return &o->url;
    case OPT_TOKEN: return &o->token;
    case OPT_TYPES: return &o->types;
    case OPT_COUNT: return &o->count;
    case OPT_NOTE: return &o->note;
    case OPT_ASSIGNEE: return &o->assignee;
    case OPT_RULE: return &o->rule;
    case OPT_FOR: return &o->duration;
    case OPT_REASON: return &o->reason;
    case OPT_METHOD: return &o->method;
    case OPT_PAGES: return &o->pages;
    case OPT_PAUSE: return &o->pause;
    case OPT_ROLE: return &o->role;
    case OPT_FILE: return &o->users_file;
    case OPT_STATE: return &o->state;
    case OPT_BBOX: return &o->bbox;
    default: return NULL;
    }
}

/* One option getopt_long returned: EXIT_OK, EXIT_USAGE (reported), or -1
 * for --help and --version (handled). */
static int take_option(struct iocctl_options *o, int c, char **argv)
{
    const char **value = option_value(o, c);
    if (value) {
        *value = optarg;
        return EXIT_OK;
    }
    switch (c) {
    case OPT_QUANTILE:
        if (o->n_quantiles == IOCCTL_MAX_QUANTILES)
            return iocctl_usage_error("too many --quantile options (at most %d)",
                                      IOCCTL_MAX_QUANTILES);
        o->quantiles[o->n_quantiles++] = optarg;
        return EXIT_OK;
    case OPT_JSON: o->json = true; return EXIT_OK;
    case OPT_REGISTERED: o->registered = true; return EXIT_OK;
    case OPT_UNREGISTERED: o->unregistered = true; return EXIT_OK;
    case OPT_VERSION: printf("iocctl %s\n", IOCD_VERSION); return -1;
    case 'h': iocctl_usage_print(stdout); return -1;
    case ':': return iocctl_usage_error("option %s needs a value", argv[optind - 1]);
    default:
        if (optopt > 0 && optopt < 256)
            return iocctl_usage_error("unknown option -%c", optopt);
        return iocctl_usage_error("unknown option %s", argv[optind - 1]);
    }
}

/* The words that are not options: the command, SERIES or FILE, the first
 * extra. */
struct positional {
    const char *word[3];
    int n;
    const char *extra;
};

static void take_word(struct positional *p, const char *w)
{
    if (p->n < 3)
        p->word[p->n++] = w;
    else if (!p->extra)
        p->extra = w;
}

/* The command and its SERIES from the words. */
static int take_command(struct iocctl_options *o, struct positional *p)
{
    if (p->n == 0)
        return iocctl_usage_error("no command given");
    o->command = command_by_name(p->word[0]);
    if (o->command == CMD_NONE)
        return iocctl_usage_error("unknown command '%s'", p->word[0]);
    if (o->command == CMD_QUERY || o->command == CMD_RAW) {
        if (p->n < 2)
            return iocctl_usage_error("%s needs a SERIES name", iocctl_command_name(o->command));
        o->series = p->word[1];
    } else if (o->command == CMD_BACKUP || o->command == CMD_CHECK) {
        if (p->n < 2)
            return iocctl_usage_error("%s needs a FILE name", iocctl_command_name(o->command));
        o->file = p->word[1];
    } else if (o->command == CMD_ALERTS && p->n > 1) {
        o->verb = p->word[1];
        bool by_id = strcmp(o->verb, "ack") == 0 || strcmp(o->verb, "assign") == 0 ||
                     strcmp(o->verb, "resolve") == 0 || strcmp(o->verb, "unsilence") == 0;
        if (!by_id && strcmp(o->verb, "silence") != 0 && strcmp(o->verb, "silences") != 0)
            return iocctl_usage_error("alerts: '%s' is not ack, assign, resolve, silence, "
                                      "silences or unsilence", o->verb);
        if (by_id && p->n < 3)
            return iocctl_usage_error("alerts %s needs an ID", o->verb);
        if (by_id)
            o->alert_id = p->word[2];
    } else if (o->command == CMD_USERS) {
        if (p->n < 2)
            return iocctl_usage_error("users needs add, list or remove");
        o->user_verb = p->word[1];
        bool named = strcmp(o->user_verb, "add") == 0 || strcmp(o->user_verb, "remove") == 0;
        if (!named && strcmp(o->user_verb, "list") != 0)
            return iocctl_usage_error("users: '%s' is not add, list or remove", o->user_verb);
        if (named && p->n < 3)
            return iocctl_usage_error("users %s needs a NAME", o->user_verb);
        if (named)
            o->user_name = p->word[2];
        else if (p->n > 2)
            p->extra = p->word[2];
    } else if (p->n > 1) {
        p->extra = p->word[1];
    }
    if (!p->extra && p->n > 2 && !o->alert_id && !o->user_name && o->command != CMD_USERS)
        p->extra = p->word[2];
    if (p->extra)
        return iocctl_usage_error("unexpected argument '%s'", p->extra);
    return EXIT_OK;
}

int iocctl_args_parse(int argc, char **argv, struct iocctl_options *o)
{
    struct positional p = {{NULL, NULL, NULL}, 0, NULL};
    opterr = 0;
    /* '-': non-options come back in order as 1, so options may follow the
     * command even under POSIXLY_CORRECT; ':': missing values return ':'. */
    int c, rc;
    while ((c = getopt_long(argc, argv, "-:h", longopts, NULL)) != -1) {
        if (c == 1)
            take_word(&p, optarg);
        else if ((rc = take_option(o, c, argv)) != EXIT_OK)
            return rc;
    }
    for (; optind < argc; optind++) /* after "--" */
        take_word(&p, argv[optind]);
    if ((rc = take_command(o, &p)) != EXIT_OK)
        return rc;
    if (o->db_path && !*o->db_path)
        return iocctl_usage_error("--db needs a file name");
    if (o->config_path && !*o->config_path)
        return iocctl_usage_error("--config needs a file name");
    return check_command_options(o);
}
