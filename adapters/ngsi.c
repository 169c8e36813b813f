/* adapters/ngsi.c — the `ngsi` adapter: FIWARE NGSI-v2 and NGSI-LD entities
 * (normalized or keyValues, alone, in an array or in a notification), one
 * Observation per numeric attribute, so that a city publishing Smart Data
 * Models connects without per-attribute configuration (see
 * docs/adapters.md (ngsi) for every rule).
 *
 * Owns: struct ngsi_state (the source name, the accepted form, the default
 * time offset, the `types` allow-list, max_labels, the metric prefix), built
 * by create() and freed by destroy(). decode() parses one payload with
 * cJSON, frees the tree before returning, and puts every string it produces
 * in the batch's arena; the observations of one entity share one label
 * array and one Location, both in the arena. The UN/CEFACT unit-code table
 * and the default units of well-known Smart Data Models attributes are
 * static tables below. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/adapter.h"
#include "adapters/common.h"
#include "daemon/base/timeutil.h"

#define NGSI_MAX_ID 128          /* bytes in a device id or a metric name */
#define NGSI_MAX_LABEL 128       /* bytes in a label value */
#define NGSI_MAX_LABELS 64       /* upper bound of max_labels */
#define NGSI_DEFAULT_LABELS 8    /* max_labels when not configured */
#define NGSI_MAX_PREFIX 64       /* bytes in metric_prefix */
#define NGSI_MAX_TYPE 128        /* bytes in one `types` entry */
#define NGSI_MAX_UNIT_CODE 32    /* bytes in an unknown unit code kept as "unece:CODE" */
#define NGSI_MAX_MEASURANDS 64   /* `measurand` entries looked at */

enum ngsi_form { NGSI_FORM_AUTO = 0, NGSI_FORM_NORMALIZED, NGSI_FORM_KEYVALUES };

struct ngsi_state {
    char *source;          /* owned */
    enum ngsi_form form;
    int time_offset_s;     /* for ISO-8601 times without an offset */
    char **types;          /* owned; NULL when every type is accepted */
    size_t n_types;
    unsigned max_labels;
    char *prefix;          /* owned; "" when none */
    size_t prefix_len;
    struct iocd_adapter_states states; /* states = ...: owned */
};

static void ngsi_destroy(void *state)
{
    struct ngsi_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->n_types; i++)
        free(st->types[i]);
    free(st->types);
    free(st->prefix);
    iocd_adapter_states_free(&st->states);
    free(st->source);
    free(st);
}

/* ---- create ---- */

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* "A, B,C" → st->types; every entry 1..128 bytes without blanks or
 * control characters. */
static int parse_types(const struct iocd_adapter_cfg *c, const struct iocd_ini_entry *e,
                       struct ngsi_state *st)
{
    static const char what[] =
        "expected a comma-separated list of entity types, e.g. AirQualityObserved,WeatherObserved";
    size_t n = 1;
    for (const char *p = e->value; *p; p++)
        n += *p == ',';
    st->types = calloc(n, sizeof(*st->types));
    if (!st->types)
        return iocd_error_set(c->err, "out of memory");
    const char *p = e->value;
    for (;;) {
        while (is_blank(*p))
            p++;
        const char *b = p;
        while (*p && *p != ',' && !is_blank(*p))
            p++;
        size_t len = (size_t)(p - b);
        while (is_blank(*p))
            p++;
        if (len == 0 || (*p && *p != ','))
            return iocd_adapter_cfg_fail(c, e, what);
        if (len > NGSI_MAX_TYPE)
            return iocd_adapter_cfg_fail(c, e, "an entity type is longer than 128 bytes");
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f)
                return iocd_adapter_cfg_fail(c, e, what);
        st->types[st->n_types] = strndup(b, len);
        if (!st->types[st->n_types])
            return iocd_error_set(c->err, "out of memory");
        st->n_types++;
        if (!*p)
            return 0;
        p++; /* ',' */
    }
}

/* The ngsi format's keys, declared once. */
struct ngsi_entries {
    struct iocd_ini_entry *form, *time_offset, *types, *max_labels, *metric_prefix, *states;
};

static const struct iocd_key ngsi_keys[] = {
    IOCD_ADAPTER_KEY(struct ngsi_entries, form,
                     "auto, normalized or keyvalues: how attributes are read (default auto)"),
    IOCD_ADAPTER_KEY(struct ngsi_entries, time_offset,
                     "UTC offset of times without one (default +00:00)"),
    IOCD_ADAPTER_KEY(struct ngsi_entries, types,
                     "comma-separated entity types to accept (default: every type)"),
    IOCD_ADAPTER_KEY(struct ngsi_entries, max_labels,
                     "text attributes that become labels, 0 to 64 (default 8)"),
    IOCD_ADAPTER_KEY(struct ngsi_entries, metric_prefix,
                     "prepended to every metric name (default none)"),
    IOCD_ADAPTER_KEY(struct ngsi_entries, states,
                     "attribute names (lower-case, before metric_prefix) whose text values are "
                     "enumerated states, or * for every text attribute (default: none; "
                     "docs/states.md)"),
};

static int read_config(const struct iocd_adapter_cfg *c, void *state,
                       struct iocd_ini_section *section, const void *entries)
{
    struct ngsi_state *st = state;
    const struct ngsi_entries *k = entries;
    struct iocd_ini_entry *form = k->form, *offset = k->time_offset, *types = k->types,
                          *labels = k->max_labels, *prefix = k->metric_prefix;
    st->form = NGSI_FORM_AUTO;
    if (form) {
        if (strcmp(form->value, "auto") == 0)
            st->form = NGSI_FORM_AUTO;
        else if (strcmp(form->value, "normalized") == 0)
            st->form = NGSI_FORM_NORMALIZED;
        else if (strcmp(form->value, "keyvalues") == 0)
            st->form = NGSI_FORM_KEYVALUES;
        else
            return iocd_adapter_cfg_fail(c, form, "expected auto, normalized or keyvalues");
    }

    st->time_offset_s = 0;
    if (offset && iocd_adapter_parse_offset(offset->value, &st->time_offset_s))
        return iocd_adapter_cfg_fail(c, offset, "expected an offset such as +07:00, -05:30 or Z");

    if (types && parse_types(c, types, st))
        return -1;

    st->max_labels = NGSI_DEFAULT_LABELS;
    if (labels) {
        const char *p = labels->value;
        unsigned v = 0;
        bool ok = *p != '\0';
        for (; *p && ok; p++) {
            ok = *p >= '0' && *p <= '9' && v <= NGSI_MAX_LABELS;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (!ok || v > NGSI_MAX_LABELS)
            return iocd_adapter_cfg_fail(c, labels, "expected a whole number from 0 to 64");
        st->max_labels = v;
    }

    const char *pv = prefix ? prefix->value : "";
    size_t pn = strlen(pv);
    bool ok = pn <= NGSI_MAX_PREFIX;
    for (size_t i = 0; i < pn && ok; i++) {
        char ch = pv[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
             ch == '-' || ch == ':';
    }
    if (!ok)
        return iocd_adapter_cfg_fail(c, prefix,
                        "expected at most 64 characters of a-z, 0-9, '_', '.', '-' and ':'");
    st->prefix = strdup(pv);
    if (!st->prefix)
        return iocd_error_set(c->err, "out of memory");
    st->prefix_len = pn;
    return iocd_adapter_states_read(c, k->states, &st->states);
}

static const struct iocd_adapter_spec ngsi_spec = {
    ngsi_keys, sizeof(ngsi_keys) / sizeof(ngsi_keys[0]), sizeof(struct ngsi_entries),
    sizeof(struct ngsi_state), offsetof(struct ngsi_state, source), read_config, ngsi_destroy,
};

static int ngsi_create(const struct iocd_ini *ini, struct iocd_ini_section *section,
                       const char *source, void **state, struct iocd_error *err)
{
    return iocd_adapter_create(&ngsi_spec, ini, section, source, state, err);
}

/* ---- units ---- */

/* UN/CEFACT Recommendation 20 common codes (the `unitCode` of NGSI) and
 * their UCUM-style equivalents. */
static const struct {
    const char *code, *unit;
} unit_codes[] = {
    {"GQ", "ug/m3"},  {"GP", "mg/m3"},  {"GL", "g/L"},     {"M1", "mg/L"},  {"CEL", "Cel"},
    {"FAH", "[degF]"}, {"KEL", "K"},    {"P1", "%"},       {"C62", "1"},    {"59", "[ppm]"},
    {"61", "[ppb]"},  {"MTS", "m/s"},   {"KMH", "km/h"},   {"MTR", "m"},    {"CMT", "cm"},
    {"MMT", "mm"},    {"KTM", "km"},    {"A97", "hPa"},    {"PAL", "Pa"},   {"KPA", "kPa"},
    {"MBR", "mbar"},  {"BAR", "bar"},   {"SEC", "s"},      {"MIN", "min"},  {"HUR", "h"},
    {"WTT", "W"},     {"KWT", "kW"},    {"KWH", "kWh"},    {"VLT", "V"},    {"2Z", "mV"},
    {"AMP", "A"},     {"4K", "mA"},     {"HTZ", "Hz"},     {"D10", "S/m"},  {"H61", "mS/cm"},
    {"D54", "W/m2"},  {"LUX", "lx"},    {"DD", "deg"},     {"2N", "dB"},    {"LTR", "L"},
    {"MTQ", "m3"},    {"MQH", "m3/h"},  {"E32", "L/h"},    {"H67", "mm/h"}, {"KGM", "kg"},
    {"GRM", "g"},
};

/* Units of well-known Smart Data Models attributes sent without a unit
 * code: `type` NULL applies to every entity type, a type-specific line wins
 * over it. Names are the lowercased attribute names. */
static const struct {
    const char *type, *name, *unit;
} default_units[] = {
    /* WaterQualityObserved: "Default unit" lines of the model's spec and
     * Units:'mg/l' of its schema (its NO2 is mg/l, unlike air quality's). */
    {"WaterQualityObserved", "temperature", "Cel"},
    {"WaterQualityObserved", "conductivity", "S/m"},
    {"WaterQualityObserved", "conductance", "S/m"},
    {"WaterQualityObserved", "tss", "mg/L"},
    {"WaterQualityObserved", "tds", "mg/L"},
    {"WaterQualityObserved", "salinity", "[ppth]"},
    {"WaterQualityObserved", "ph", "[pH]"},
    {"WaterQualityObserved", "orp", "mV"},
    {"WaterQualityObserved", "o2", "mg/L"},
    {"WaterQualityObserved", "chla", "ug/L"},
    {"WaterQualityObserved", "pe", "ug/L"},
    {"WaterQualityObserved", "pc", "ug/L"},
    {"WaterQualityObserved", "nh4", "mg/L"},
    {"WaterQualityObserved", "nh3", "mg/L"},
    {"WaterQualityObserved", "cl-", "mg/L"},
    {"WaterQualityObserved", "no3", "mg/L"},
    {"WaterQualityObserved", "no2", "mg/L"},
    {"WaterQualityObserved", "po4", "mg/L"},
    {"WaterQualityObserved", "bod", "mg/L"},
    {"WaterQualityObserved", "cod", "mg/L"},
    {"WaterQualityObserved", "alkalinity", "mg/L"},
    {"WaterQualityObserved", "tkn", "mg/L"},
    {"WaterQualityObserved", "flow", "m3/h"},
    /* AirQualityObserved: "Atmospheric pressure (hPa)", "Input charging
     * voltage of the monitoring device". */
    {"AirQualityObserved", "pressure", "hPa"},
    {"AirQualityObserved", "charge", "V"},
    /* FloodMonitoring: the model's NGSI-LD example gives unitCode MTR. */
    {"FloodMonitoring", "alertlevel", "m"},
    {"FloodMonitoring", "dangerlevel", "m"},
    {"FloodMonitoring", "referencelevel", "m"},
    {"FloodMonitoring", "currentlevel", "m"},
    {"FloodMonitoring", "measureddistance", "m"},
    /* Streetlight: lanternHeight "Default unit: Meters"; illuminanceLevel
     * "a number between 0 and 1". */
    {"Streetlight", "lanternheight", "m"},
    {"Streetlight", "illuminancelevel", "1"},
    /* Any type. Weather (WeatherObserved, also used by AirQualityObserved). */
    {NULL, "temperature", "Cel"},
    {NULL, "feelsliketemperature", "Cel"},
    {NULL, "dewpoint", "Cel"},
    {NULL, "relativehumidity", "1"}, /* 0..1 in the models */
    {NULL, "windspeed", "m/s"},
    {NULL, "gustspeed", "m/s"},
    {NULL, "winddirection", "deg"},
    {NULL, "precipitation", "mm"}, /* "Liters per square meter" */
    {NULL, "atmosphericpressure", "hPa"},
    {NULL, "illuminance", "lx"},
    {NULL, "solarradiation", "W/m2"},
    {NULL, "snowheight", "cm"},
    {NULL, "streamgauge", "cm"},
    {NULL, "uvindexmax", "1"},
    /* Air quality: pollutant concentrations (unitCode GQ in the models). */
    {NULL, "pm1", "ug/m3"},
    {NULL, "pm25", "ug/m3"},
    {NULL, "pm4", "ug/m3"},
    {NULL, "pm10", "ug/m3"},
    {NULL, "tsp", "ug/m3"},
    {NULL, "no", "ug/m3"},
    {NULL, "no2", "ug/m3"},
    {NULL, "nox", "ug/m3"},
    {NULL, "so2", "ug/m3"},
    {NULL, "o3", "ug/m3"},
    {NULL, "co", "ug/m3"},
    {NULL, "airqualityindex", "1"},
    {NULL, "reliability", "1"}, /* "percentage, expressed in parts per one" */
    /* Traffic (TrafficFlowObserved) and parking. */
    {NULL, "intensity", "1"}, /* vehicles counted in the observation period */
    {NULL, "occupancy", "1"}, /* fraction of the period */
    {NULL, "averagevehiclespeed", "km/h"},
    {NULL, "averagevehiclelength", "m"},
    {NULL, "averagegapdistance", "m"},
    {NULL, "averageheadwaytime", "s"},
    {NULL, "availablespotnumber", "1"},
    {NULL, "totalspotnumber", "1"},
    /* Energy (Streetlight and others). */
    {NULL, "powerconsumption", "kWh"},
    {NULL, "powerfactor", "1"},
    {NULL, "voltage", "V"},
    {NULL, "current", "A"},
};

/* The unit for unit code `s`: the table's, else "unece:CODE"; NULL when
 * `s` is not a usable code (empty, too long, blanks or control characters)
 * or, with *nomem set, when the arena is full. */
static const char *unit_for_code(struct iocd_arena *a, const char *s, bool *nomem)
{
    size_t n = strlen(s);
    if (n == 0 || n > NGSI_MAX_UNIT_CODE)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return NULL;
    for (size_t i = 0; i < sizeof(unit_codes) / sizeof(unit_codes[0]); i++)
        if (strcasecmp(unit_codes[i].code, s) == 0)
            return unit_codes[i].unit;
    char *u = iocd_arena_printf(a, "unece:%s", s);
    if (!u)
        *nomem = true;
    return u;
}

static const char *default_unit(const char *type, const char *lname)
{
    size_t n = sizeof(default_units) / sizeof(default_units[0]);
    if (type)
        for (size_t i = 0; i < n; i++)
            if (default_units[i].type && strcmp(default_units[i].type, type) == 0 &&
                strcmp(default_units[i].name, lname) == 0)
                return default_units[i].unit;
    for (size_t i = 0; i < n; i++)
        if (!default_units[i].type && strcmp(default_units[i].name, lname) == 0)
            return default_units[i].unit;
    return NULL;
}

/* ---- text helpers ---- */

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/* What follows the last '/', '#' or ':' of an attribute name or entity
 * type (expanded or compact NGSI-LD IRIs); the whole of a plain name. */
static const char *short_name(const char *s)
{
    const char *r = s;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == '#' || *p == ':')
            r = p + 1;
    return r;
}

/* `name` lowercased into buf[cap]: ASCII letters folded, ASCII other than
 * a-z, 0-9, '_', '.', '-' turned into '_', UTF-8 sequences kept. Returns
 * the length, or -1 when empty, not shorter than cap or not UTF-8. */
static int fold_name(const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    if (n == 0 || n >= cap || !iocd_adapter_valid_utf8((const unsigned char *)name, n))
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch - 'A' + 'a');
        else if (!(ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                   ch == '_' || ch == '.' || ch == '-'))
            ch = '_';
        buf[i] = (char)ch;
    }
    buf[n] = '\0';
    return (int)n;
}

/* A strict JSON number in text ("12.5", "-3e2"), as NGSI-v2 brokers
 * sometimes send for Number-typed attributes. */
static bool parse_number_text(const char *s, double *v)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p)
        return false;
    *v = strtod(s, NULL);
    return true;
}

/* ---- attributes ---- */

/* One attribute with its NGSI wrapping removed. */
struct attr {
    const char *name;          /* the key as sent */
    const cJSON *value;        /* the value */
    const char *type;          /* NGSI attribute type; NULL when not given */
    const cJSON *unit_code;    /* LD unitCode or v2 metadata.unitCode */
    const cJSON *observed_at;  /* LD observedAt */
    const cJSON *meta_time;    /* v2 metadata.timestamp or metadata.TimeInstant */
};

/* {"type":..,"value":x} → x; anything else as it is. */
static const cJSON *meta_value(const cJSON *m)
{
    if (cJSON_IsObject(m))
        return cJSON_GetObjectItemCaseSensitive(m, "value");
    return m;
}

/* Fills *out from attribute node `a`. Normalized attributes are objects
 * with "value" (or "object" for NGSI-LD relationships); anything else is a
 * keyValues attribute. Returns false when the configured form excludes it
 * or its value is null. */
static bool unwrap(const struct ngsi_state *st, const cJSON *a, struct attr *out)
{
    memset(out, 0, sizeof(*out));
    out->name = a->string;
    if (st->form != NGSI_FORM_KEYVALUES && cJSON_IsObject(a)) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");
        if (!v)
            v = cJSON_GetObjectItemCaseSensitive(a, "object");
        if (v) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(a, "type");
            out->type = cJSON_IsString(t) ? t->valuestring : NULL;
            out->value = v;
            out->unit_code = cJSON_GetObjectItemCaseSensitive(a, "unitCode");
            out->observed_at = cJSON_GetObjectItemCaseSensitive(a, "observedAt");
            const cJSON *md = cJSON_GetObjectItemCaseSensitive(a, "metadata");
            if (cJSON_IsObject(md)) {
                if (!out->unit_code)
                    out->unit_code = meta_value(cJSON_GetObjectItemCaseSensitive(md, "unitCode"));
                out->meta_time = meta_value(cJSON_GetObjectItemCaseSensitive(md, "timestamp"));
                if (!out->meta_time)
                    out->meta_time =
                        meta_value(cJSON_GetObjectItemCaseSensitive(md, "TimeInstant"));
            }
            if (cJSON_IsNull(out->observed_at))
                out->observed_at = NULL;
            if (cJSON_IsNull(out->meta_time))
                out->meta_time = NULL;
            return !cJSON_IsNull(v);
        }
    }
    if (st->form == NGSI_FORM_NORMALIZED)
        return false;
    out->value = a;
    return !cJSON_IsNull(a);
}

/* Entity members that are never measurements nor labels (lowercased). */
static bool skip_name(const char *sn, const char *lname)
{
    static const char *const names[] = {
        "id",        "type",          "@context",   "@id",         "@type",
        "location",  "address",       "source",     "description", "seealso",
        "owner",     "measurand",     "observationdatetime",        "timeinstant",
        "createdat", "modifiedat",    "deletedat",  "observedat",  "datasetid",
        "scope",     "observationspace",            "operationspace",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(names[i], sn) == 0)
            return true;
    /* refDevice, refPointOfInterest, ...: relationships */
    if (strncmp(lname, "ref", 3) == 0 && sn[3] >= 'A' && sn[3] <= 'Z')
        return true;
    /* date, dateObserved, DateModified, dateLastLampChange, ...: times */
    if (strncmp(lname, "date", 4) == 0 && (sn[4] == '\0' || (sn[4] >= 'A' && sn[4] <= 'Z')))
        return true;
    return false;
}

/* NGSI attribute types that are never measurements nor labels. */
static bool skip_type(const char *t)
{
    static const char *const types[] = {
        "Relationship",     "ListRelationship", "DateTime",     "Date",
        "Time",             "geo:json",         "geo:point",    "geo:line",
        "geo:box",          "geo:polygon",      "GeoProperty",  "LanguageProperty",
        "VocabProperty",    "JsonProperty",
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(types[i], t) == 0)
            return true;
    return false;
}

/* laneId, stationID, feederID: identifiers, labels even when numeric. */
static bool is_identifier(const char *sn)
{
    size_t n = strlen(sn);
    return n > 2 && sn[n - 2] == 'I' && (sn[n - 1] == 'd' || sn[n - 1] == 'D');
}

static bool numeric_type(const char *t)
{
    return t && (strcasecmp(t, "Number") == 0 || strcasecmp(t, "Integer") == 0 ||
                 strcasecmp(t, "Float") == 0 || strcasecmp(t, "Double") == 0);
}

/* The attribute's number: a JSON number, or a number in text when the
 * attribute is typed Number/Integer/Float. */
static bool attr_number(const struct attr *at, double *v)
{
    if (cJSON_IsNumber(at->value)) {
        *v = at->value->valuedouble;
        return true;
    }
    if (cJSON_IsString(at->value) && numeric_type(at->type))
        return parse_number_text(at->value->valuestring, v);
    return false;
}

/* The string of a Text attribute value, NULL otherwise. */
static const char *attr_text(const struct attr *at)
{
    return cJSON_IsString(at->value) && !numeric_type(at->type) ? at->value->valuestring : NULL;
}

/* ---- times ---- */

/* The text of a time value: a string, or an NGSI-LD typed value
 * {"@type":"DateTime","@value":"..."}; NULL when neither. */
static const char *time_text(const cJSON *v)
{
    if (cJSON_IsObject(v))
        v = cJSON_GetObjectItemCaseSensitive(v, "@value");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An ISO-8601 instant, or an interval "start/end" whose end is taken. */
static int parse_when(const char *s, int off, int64_t *ms)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return iocd_time_parse_iso8601(s, strlen(s), off, ms);
    int64_t start;
    if (iocd_time_parse_iso8601(s, (size_t)(slash - s), off, &start))
        return -1;
    const char *e = slash + 1;
    if (iocd_time_parse_iso8601(e, strlen(e), off, ms) || *ms < start)
        return -1;
    return 0;
}

/* Parses time node `v` named `what` into *ms, or fails the batch. */
static enum iocd_reject get_when(const struct ngsi_state *st, const cJSON *v, const char *what,
                                 struct iocd_batch *out, int64_t *ms)
{
    char buf[48];
    const char *t = time_text(v);
    if (!t)
        return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "%s is %s, not a date-time", what,
                               iocd_adapter_json_type(v));
    if (parse_when(t, st->time_offset_s, ms))
        return iocd_batch_fail(out, IOCD_REJECT_BAD_TIME,
                               "%s '%s' is not an ISO-8601 time or interval", what,
                               iocd_adapter_printable(t, buf, sizeof(buf)));
    return IOCD_REJECT_NONE;
}

/* ---- entities ---- */

/* What one entity contributes to all its observations. */
struct entity {
    const char *source;     /* arena */
    const char *id;         /* as sent */
    const char *type;       /* short type; NULL when absent */
    const char *device;     /* arena */
    bool has_time;
    int64_t time_ms;        /* dateObserved, observationDateTime or TimeInstant */
    Ioc__V1__Location *location;
    Ioc__V1__Observation__LabelsEntry **labels;
    size_t n_labels, cap_labels;
    const cJSON *measurand; /* array of "NAME, value, CODE, description" */
    /* DeviceMeasurement */
    bool device_measurement;
    char dm_metric[NGSI_MAX_ID + 1];
    const cJSON *dm_unit;
    bool dm_outlier;
    bool parking_spot;
    /* metric names already used: open addressing, in the arena */
    const char **seen;
    size_t seen_cap;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* Adds `m` to the entity's metric set; false when it is already there. */
static bool seen_add(struct entity *e, const char *m)
{
    size_t i = (size_t)hash_str(m) & (e->seen_cap - 1);
    while (e->seen[i]) {
        if (strcmp(e->seen[i], m) == 0)
            return false;
        i = (i + 1) & (e->seen_cap - 1);
    }
    e->seen[i] = m;
    return true;
}

static int add_label(struct iocd_batch *out, struct entity *e, const char *key, const char *value)
{
    for (size_t i = 0; i < e->n_labels; i++)
        if (strcmp(e->labels[i]->key, key) == 0)
            return 0;
    Ioc__V1__Observation__LabelsEntry *en = iocd_arena_alloc(out->arena, sizeof(*en));
    if (!en)
        return -1;
    ioc__v1__observation__labels_entry__init(en);
    en->key = iocd_arena_strdup(out->arena, key);
    en->value = iocd_arena_strdup(out->arena, value);
    if (!en->key || !en->value)
        return -1;
    e->labels[e->n_labels++] = en;
    return 0;
}

static bool label_value_ok(const char *v)
{
    size_t n = strlen(v);
    return n > 0 && n <= NGSI_MAX_LABEL && !has_control(v, n) &&
           iocd_adapter_valid_utf8((const unsigned char *)v, n);
}

/* The device id: the entity id ('/' turned into ':') or, for a
 * DeviceMeasurement, its refDevice. */
static enum iocd_reject get_device(const struct ngsi_state *st, const cJSON *ent,
                                   struct entity *e, struct iocd_batch *out)
{
    const char *s = e->id, *what = "entity id";
    if (e->device_measurement) {
        const cJSON *rd = cJSON_GetObjectItemCaseSensitive(ent, "refDevice");
        struct attr at;
        if (rd && unwrap(st, rd, &at) && cJSON_IsString(at.value)) {
            s = at.value->valuestring;
            what = "refDevice";
        }
    }
    char buf[48];
    size_t n = strlen(s);
    const char *why = NULL;
    if (n == 0)
        why = "is empty";
    else if (n > NGSI_MAX_ID)
        why = "is longer than 128 bytes";
    else if (strpbrk(s, "+#"))
        why = "contains '+' or '#'";
    else if (has_control(s, n))
        why = "contains a control character";
    else if (!iocd_adapter_valid_utf8((const unsigned char *)s, n))
        why = "is not valid UTF-8";
    if (why)
        return iocd_batch_fail(out, IOCD_REJECT_BAD_ID, "%s '%s' %s", what,
                               iocd_adapter_printable(s, buf, sizeof(buf)), why);
    char *d = iocd_arena_strndup(out->arena, s, n);
    if (!d)
        return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY, "out of memory for the device id");
    for (char *p = d; *p; p++)
        if (*p == '/')
            *p = ':';
    e->device = d;
    return IOCD_REJECT_NONE;
}

/* The entity's own time: dateObserved, else observationDateTime, else
 * TimeInstant (names matched case-insensitively). */
static enum iocd_reject get_entity_time(const struct ngsi_state *st, const cJSON *ent,
                                        struct entity *e, struct iocd_batch *out)
{
    static const char *const names[] = {"dateObserved", "observationDateTime", "TimeInstant"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const cJSON *a = cJSON_GetObjectItem(ent, names[i]);
        struct attr at;
        if (!a || !unwrap(st, a, &at))
            continue;
        enum iocd_reject r = get_when(st, at.value, names[i], out, &e->time_ms);
        if (r == IOCD_REJECT_NONE)
            e->has_time = true;
        return r;
    }
    return IOCD_REJECT_NONE;
}

/* The location when it is a GeoJSON Point [lon, lat] (or a v2 geo:point
 * "lat, lon") inside the WGS84 ranges. Returns -1 when out of memory. */
static int get_location(const struct ngsi_state *st, const cJSON *ent, struct entity *e,
                        struct iocd_batch *out)
{
    const cJSON *a = cJSON_GetObjectItem(ent, "location");
    struct attr at;
    if (!a || !unwrap(st, a, &at))
        return 0;
    double lat, lon;
    if (at.type && strcasecmp(at.type, "geo:point") == 0 && cJSON_IsString(at.value)) {
        const char *s = at.value->valuestring;
        char *end;
        lat = strtod(s, &end);
        if (end == s || *end != ',')
            return 0;
        s = end + 1;
        lon = strtod(s, &end);
        while (is_blank(*end))
            end++;
        if (end == s || *end)
            return 0;
    } else if (cJSON_IsObject(at.value)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(at.value, "type");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(at.value, "coordinates");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "Point") != 0 || !cJSON_IsArray(c))
            return 0;
        const cJSON *x = c->child, *y = x ? x->next : NULL;
        if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y))
            return 0;
        lon = x->valuedouble;
        lat = y->valuedouble;
    } else {
        return 0;
    }
    if (!isfinite(lat) || !isfinite(lon) || fabs(lat) > 90 || fabs(lon) > 180)
        return 0;
    Ioc__V1__Location *loc = iocd_arena_alloc(out->arena, sizeof(*loc));
    if (!loc)
        return -1;
    ioc__v1__location__init(loc);
    loc->lat = lat;
    loc->lon = lon;
    e->location = loc;
    return 0;
}

/* The unit code a `measurand` entry "NAME, value, CODE, description" gives
 * for attribute `lname`; NULL when none. The code is copied into buf. */
static const char *measurand_code(const struct entity *e, const char *lname, char *buf,
                                  size_t cap)
{
    if (!cJSON_IsArray(e->measurand))
        return NULL;
    size_t k = 0;
    for (const cJSON *m = e->measurand->child; m && k < NGSI_MAX_MEASURANDS; m = m->next, k++) {
        if (!cJSON_IsString(m))
            continue;
        const char *f[3];
        size_t fl[3];
        const char *p = m->valuestring;
        size_t nf = 0;
        while (nf < 3) {
            while (is_blank(*p))
                p++;
            const char *b = p;
            while (*p && *p != ',')
                p++;
            const char *end = p;
            while (end > b && is_blank(end[-1]))
                end--;
            f[nf] = b;
            fl[nf] = (size_t)(end - b);
            nf++;
            if (*p != ',')
                break;
            p++;
        }
        if (nf < 3 || fl[2] == 0 || fl[2] >= cap || fl[0] != strlen(lname))
            continue;
        bool same = true;
        for (size_t i = 0; i < fl[0] && same; i++) {
            char ch = f[0][i];
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            same = ch == lname[i];
        }
        if (!same)
            continue;
        memcpy(buf, f[2], fl[2]);
        buf[fl[2]] = '\0';
        return buf;
    }
    return NULL;
}

/* The unit of numeric attribute `at`: its unit code, else the entity's
 * measurand list, else the default table, else "". */
static const char *attr_unit(const struct entity *e, const struct attr *at, const char *lname,
                             const cJSON *fallback_code, struct iocd_batch *out, bool *nomem)
{
    const char *u = NULL;
    if (cJSON_IsString(at->unit_code))
        u = unit_for_code(out->arena, at->unit_code->valuestring, nomem);
    if (!u && cJSON_IsString(fallback_code))
        u = unit_for_code(out->arena, fallback_code->valuestring, nomem);
    if (!u) {
        char code[NGSI_MAX_UNIT_CODE + 1];
        if (measurand_code(e, lname, code, sizeof(code)))
            u = unit_for_code(out->arena, code, nomem);
    }
    if (!u)
        u = default_unit(e->type, lname);
    return u ? u : "";
}

/* The observed time of attribute `at`: its observedAt, else the entity's
 * time, else its metadata timestamp, else the receive time. */
static enum iocd_reject attr_time(const struct ngsi_state *st, const struct entity *e,
                                  const struct attr *at, const struct iocd_message *msg,
                                  struct iocd_batch *out, int64_t *ms)
{
    char what[NGSI_MAX_ID + 32];
    char buf[48];
    if (at->observed_at) {
        snprintf(what, sizeof(what), "%s observedAt", iocd_adapter_printable(at->name, buf, sizeof(buf)));
        return get_when(st, at->observed_at, what, out, ms);
    }
    if (e->has_time) {
        *ms = e->time_ms;
        return IOCD_REJECT_NONE;
    }
    if (at->meta_time) {
        snprintf(what, sizeof(what), "%s metadata timestamp",
                 iocd_adapter_printable(at->name, buf, sizeof(buf)));
        return get_when(st, at->meta_time, what, out, ms);
    }
    *ms = msg->received_ms;
    return IOCD_REJECT_NONE;
}

static enum iocd_reject no_memory(struct iocd_batch *out)
{
    return iocd_batch_fail(out, IOCD_REJECT_NO_MEMORY,
                           "decode needs more memory than the arena allows");
}

/* Adds one observation of metric `lname` (before the prefix). */
static enum iocd_reject add_obs(const struct ngsi_state *st, struct entity *e,
                                const struct iocd_message *msg, struct iocd_batch *out,
                                const struct attr *at, const char *lname, double value,
                                const char *state, const char *unit, Ioc__V1__Quality quality)
{
    char buf[48];
    if (!isfinite(value))
        return iocd_batch_fail(out, IOCD_REJECT_NOT_FINITE, "%s is not a finite number",
                               iocd_adapter_printable(at->name, buf, sizeof(buf)));
    size_t ln = strlen(lname);
    if (st->prefix_len + ln > NGSI_MAX_ID)
        return iocd_batch_fail(out, IOCD_REJECT_BAD_ID,
                               "metric '%s%s' is longer than 128 bytes", st->prefix,
                               iocd_adapter_printable(lname, buf, sizeof(buf)));
    char *metric = iocd_arena_printf(out->arena, "%s%s", st->prefix, lname);
    if (!metric)
        return no_memory(out);
    if (!seen_add(e, metric))
        return IOCD_REJECT_NONE; /* NO2 after no2: the first one wins */
    int64_t t;
    enum iocd_reject r = attr_time(st, e, at, msg, out, &t);
    if (r != IOCD_REJECT_NONE)
        return r;
    char *u = iocd_arena_strdup(out->arena, unit);
    Ioc__V1__Observation *o = iocd_batch_add_observation(out);
    if (!u || !o)
        return no_memory(out);
    o->source = (char *)e->source;
    o->device = (char *)e->device;
    o->metric = metric;
    o->value = value;
    if (state && !(o->state = iocd_arena_strdup(out->arena, state)))
        return no_memory(out);
    o->unit = u;
    o->observed_ms = t;
    o->received_ms = msg->received_ms;
    o->quality = quality;
    return IOCD_REJECT_NONE;
}

/* Looks at one attribute: an observation, a label, or nothing. */
static enum iocd_reject visit(const struct ngsi_state *st, struct entity *e,
                              const struct iocd_message *msg, struct iocd_batch *out,
                              const cJSON *a)
{
    char buf[48];
    const char *sn = short_name(a->string);
    char lname[NGSI_MAX_ID + 1];
    int ln = fold_name(sn, lname, sizeof(lname));
    if (ln >= 0 && skip_name(sn, lname))
        return IOCD_REJECT_NONE;
    struct attr at;
    if (!unwrap(st, a, &at) || (at.type && skip_type(at.type)))
        return IOCD_REJECT_NONE;
    const char *text = attr_text(&at);
    bool nomem = false;

    /* A state (docs/states.md), before the models' own readings of it. */
    if (text && ln >= 0 && iocd_adapter_states_has(&st->states, lname))
        return add_obs(st, e, msg, out, &at, lname, 0, text, "",
                       IOC__V1__QUALITY__QUALITY_GOOD);

    if (e->parking_spot && ln >= 0 && strcmp(lname, "status") == 0) {
        if (!text || (strcmp(text, "free") != 0 && strcmp(text, "occupied") != 0))
            return IOCD_REJECT_NONE; /* closed, unknown */
        return add_obs(st, e, msg, out, &at, "occupied", strcmp(text, "occupied") == 0, NULL, "1",
                       IOC__V1__QUALITY__QUALITY_GOOD);
    }
    if (e->device_measurement && ln >= 0 &&
        (strcmp(lname, "controlledproperty") == 0 || strcmp(lname, "unit") == 0 ||
         strcmp(lname, "outlier") == 0))
        return IOCD_REJECT_NONE;

    double v;
    if (attr_number(&at, &v) && !is_identifier(sn)) {
        if (ln < 0)
            return iocd_batch_fail(out, IOCD_REJECT_BAD_ID,
                                   "attribute name '%s' is empty, longer than 128 bytes or not "
                                   "UTF-8",
                                   iocd_adapter_printable(a->string, buf, sizeof(buf)));
        Ioc__V1__Quality q = IOC__V1__QUALITY__QUALITY_GOOD;
        const char *metric = lname;
        const cJSON *fallback = NULL;
        if (e->device_measurement && strcmp(lname, "numvalue") == 0) {
            if (e->dm_metric[0])
                metric = e->dm_metric;
            fallback = e->dm_unit;
            if (e->dm_outlier)
                q = IOC__V1__QUALITY__QUALITY_SUSPECT;
        }
        const char *unit = attr_unit(e, &at, metric, fallback, out, &nomem);
        if (nomem)
            return no_memory(out);
        return add_obs(st, e, msg, out, &at, metric, v, NULL, unit, q);
    }

    /* labels */
    if (ln < 0 || e->n_labels >= e->cap_labels || strcmp(lname, "type") == 0)
        return IOCD_REJECT_NONE;
    char num[32];
    if (!text && cJSON_IsNumber(at.value) && is_identifier(sn)) {
        double d = at.value->valuedouble;
        if (d == floor(d) && fabs(d) <= 9007199254740992.0)
            snprintf(num, sizeof(num), "%" PRId64, (int64_t)d);
        else
            snprintf(num, sizeof(num), "%.17g", d);
        text = num;
    }
    if (!text || !label_value_ok(text))
        return IOCD_REJECT_NONE;
    if (add_label(out, e, lname, text))
        return no_memory(out);
    return IOCD_REJECT_NONE;
}

static bool type_allowed(const struct ngsi_state *st, const char *full, const char *shrt)
{
    for (size_t i = 0; i < st->n_types; i++)
        if (strcmp(st->types[i], full) == 0 || strcmp(st->types[i], shrt) == 0)
            return true;
    return false;
}

/* Special-model preparation: DeviceMeasurement's controlledProperty, unit
 * and outlier. */
static void prepare_device_measurement(const struct ngsi_state *st, const cJSON *ent,
                                       struct entity *e)
{
    struct attr at;
    const cJSON *a = cJSON_GetObjectItem(ent, "controlledProperty");
    if (a && unwrap(st, a, &at) && cJSON_IsString(at.value)) {
        if (fold_name(short_name(at.value->valuestring), e->dm_metric, sizeof(e->dm_metric)) < 0)
            e->dm_metric[0] = '\0';
    }
    a = cJSON_GetObjectItem(ent, "unit");
    if (a && unwrap(st, a, &at))
        e->dm_unit = at.value;
    a = cJSON_GetObjectItem(ent, "outlier");
    e->dm_outlier = a && unwrap(st, a, &at) && cJSON_IsTrue(at.value);
}

static enum iocd_reject decode_entity_inner(const struct ngsi_state *st,
                                            const struct iocd_message *msg, const char *source,
                                            const cJSON *ent, struct iocd_batch *out)
{
    char buf[48];
    if (!cJSON_IsObject(ent))
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "entity is JSON %s, not an object",
                               iocd_adapter_json_type(ent));
    struct entity e;
    memset(&e, 0, sizeof(e));
    e.source = source;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(ent, "id");
    if (!id || cJSON_IsNull(id))
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "no entity id");
    if (!cJSON_IsString(id))
        return iocd_batch_fail(out, IOCD_REJECT_WRONG_TYPE, "entity id is %s",
                               iocd_adapter_json_type(id));
    e.id = id->valuestring;

    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ent, "type");
    const char *full = cJSON_IsString(type) ? type->valuestring : NULL;
    e.type = full ? short_name(full) : NULL;
    if (st->types && !full)
        return iocd_batch_fail(out, IOCD_REJECT_NO_ROUTE, "entity '%s' has no type",
                               iocd_adapter_printable(e.id, buf, sizeof(buf)));
    if (st->types && !type_allowed(st, full, e.type)) {
        char tb[48];
        return iocd_batch_fail(out, IOCD_REJECT_NO_ROUTE, "entity type %s not in types",
                               iocd_adapter_printable(full, tb, sizeof(tb)));
    }
    e.device_measurement = e.type && strcmp(e.type, "DeviceMeasurement") == 0;
    e.parking_spot = e.type && strcmp(e.type, "ParkingSpot") == 0;

    enum iocd_reject r = get_device(st, ent, &e, out);
    if (r != IOCD_REJECT_NONE)
        return r;
    r = get_entity_time(st, ent, &e, out);
    if (r != IOCD_REJECT_NONE)
        return r;
    if (get_location(st, ent, &e, out))
        return no_memory(out);
    const cJSON *meas = cJSON_GetObjectItem(ent, "measurand");
    struct attr mat;
    if (meas && unwrap(st, meas, &mat))
        e.measurand = mat.value;
    if (e.device_measurement)
        prepare_device_measurement(st, ent, &e);

    size_t n_members = 0;
    for (const cJSON *a = ent->child; a; a = a->next)
        n_members++;
    e.seen_cap = 16;
    while (e.seen_cap < 2 * n_members + 2)
        e.seen_cap *= 2;
    e.seen = iocd_arena_alloc(out->arena, e.seen_cap * sizeof(*e.seen));
    e.cap_labels = (size_t)st->max_labels + 1;
    e.labels = iocd_arena_alloc(out->arena, e.cap_labels * sizeof(*e.labels));
    if (!e.seen || !e.labels)
        return no_memory(out);
    if (e.type && label_value_ok(e.type) && add_label(out, &e, "type", e.type))
        return no_memory(out);

    size_t first = out->n_obs;
    for (const cJSON *a = ent->child; a; a = a->next) {
        if (!a->string)
            continue;
        r = visit(st, &e, msg, out, a);
        if (r != IOCD_REJECT_NONE)
            return r;
    }
    if (out->n_obs == first)
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                               "entity '%s' has no numeric attribute",
                               iocd_adapter_printable(e.id, buf, sizeof(buf)));
    for (size_t i = first; i < out->n_obs; i++) {
        out->obs[i]->labels = e.labels;
        out->obs[i]->n_labels = e.n_labels;
        out->obs[i]->location = e.location;
    }
    return IOCD_REJECT_NONE;
}

/* One entity, all of its observations or none. */
static enum iocd_reject decode_entity(const struct ngsi_state *st, const struct iocd_message *msg,
                                      const char *source, const cJSON *ent,
                                      struct iocd_batch *out)
{
    size_t mark = out->n_obs;
    enum iocd_reject r = decode_entity_inner(st, msg, source, ent, out);
    if (r != IOCD_REJECT_NONE)
        out->n_obs = mark;
    return r;
}

/* The entities of an array or a notification's "data": the good ones are
 * kept, the bad ones counted as a `partial` note. */
static enum iocd_reject decode_list(const struct ngsi_state *st, const struct iocd_message *msg,
                                    const char *source, const cJSON *list, const char *what,
                                    struct iocd_batch *out)
{
    if (!list->child)
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD, "%s has no entities", what);
    size_t i = 0, bad = 0;
    enum iocd_reject first = IOCD_REJECT_NONE;
    char first_detail[sizeof(out->detail)];
    first_detail[0] = '\0';
    for (const cJSON *ent = list->child; ent; ent = ent->next, i++) {
        enum iocd_reject r = decode_entity(st, msg, source, ent, out);
        if (r == IOCD_REJECT_NONE)
            continue;
        if (r == IOCD_REJECT_NO_MEMORY) {
            out->n_obs = 0;
            return r;
        }
        if (bad++ == 0) {
            first = r;
            if (snprintf(first_detail, sizeof(first_detail), "entity %zu: %s", i, out->detail) <
                0)
                first_detail[0] = '\0';
        }
    }
    if (out->n_obs == 0) {
        snprintf(out->detail, sizeof(out->detail), "%s", first_detail);
        return first;
    }
    out->detail[0] = '\0';
    if (bad)
        iocd_batch_note(out, IOCD_NOTE_PARTIAL, "%zu of %zu entities dropped; %s", bad, i,
                        first_detail);
    return IOCD_REJECT_NONE;
}

static enum iocd_reject decode_root(const struct ngsi_state *st, const struct iocd_message *msg,
                                    const cJSON *root, struct iocd_batch *out)
{
    const char *source = iocd_arena_strdup(out->arena, st->source);
    if (!source)
        return no_memory(out);
    if (cJSON_IsArray(root))
        return decode_list(st, msg, source, root, "array", out);
    if (!cJSON_IsObject(root))
        return iocd_batch_fail(out, IOCD_REJECT_MISSING_FIELD,
                               "payload is JSON %s, not an NGSI entity",
                               iocd_adapter_json_type(root));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(root, "subscriptionId");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (cJSON_IsArray(data) &&
        (sub || (cJSON_IsString(type) && strcmp(type->valuestring, "Notification") == 0)))
        return decode_list(st, msg, source, data, "notification", out);
    return decode_entity(st, msg, source, root, out);
}

static enum iocd_reject ngsi_decode(void *state, const struct iocd_message *msg,
                                    struct iocd_batch *out)
{
    const struct ngsi_state *st = state;
    cJSON *root;
    enum iocd_reject r = iocd_adapter_json_parse(msg, out, &root);
    if (r != IOCD_REJECT_NONE)
        return r;
    r = decode_root(st, msg, root, out);
    cJSON_Delete(root);
    if (r != IOCD_REJECT_NONE)
        out->n_obs = 0;
    return r;
}

const struct iocd_adapter_ops iocd_adapter_ngsi = {
    .name = "ngsi",
    .keys = ngsi_keys,
    .n_keys = sizeof(ngsi_keys) / sizeof(ngsi_keys[0]),
    .create = ngsi_create,
    .decode = ngsi_decode,
    .destroy = ngsi_destroy,
};
