/* daemon/base/units.c — the built-in unit table and exact conversions (see
 * units.h). Owns: the table below; nothing else. */
#include "daemon/base/units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One unit: a value v in it is (v × a + b) / c in its dimension's base
 * unit (the row with a = c = 1, b = 0). All exact integers. */
struct unit_row {
    const char *code;
    const char *dimension;
    int64_t a, b, c;
    const char *aliases; /* other accepted spellings, space-separated */
};

/* Exact definitions: inch 0.0254 m, foot 0.3048 m, international mile
 * 1609.344 m, knot 1852 m/h, psi 0.45359237 kg × 9.80665 m/s² / in²
 * (8896443230521/1290320000 Pa), mm[Hg] 133.322387415 Pa; temperatures
 * K - 273.15 and ([degF] - 32) × 5/9 Cel. ppm and ppb are mole fractions:
 * between them and a mass concentration lies each gas's molar mass and
 * the air's temperature and pressure, so no such factor is built in
 * ([units] declares one per metric: `metric.no2 = ug/m3, [ppb] * 1.88`).
 * "%" and "1" are not converted into each other: in iocd "1" is a count
 * or an index (vehicles, events, VN_AQI), never a fraction. */
static const struct unit_row rows[] = {
    {"ug/m3", "mass concentration", 1, 0, 1, "µg/m3 μg/m3 µg/m³ μg/m³ ug/m³"},
    {"ng/m3", "mass concentration", 1, 0, 1000, "ng/m³"},
    {"mg/m3", "mass concentration", 1000, 0, 1, "mg/m³"},
    {"g/m3", "mass concentration", 1000000, 0, 1, "g/m³"},
    {"ug/L", "mass concentration", 1000, 0, 1, "µg/L μg/L ug/l µg/l μg/l"},
    {"mg/L", "mass concentration", 1000000, 0, 1, "mg/l"},
    {"[ppb]", "mole fraction", 1, 0, 1, "ppb"},
    {"[ppm]", "mole fraction", 1000, 0, 1, "ppm"},
    {"Cel", "temperature", 1, 0, 1, "°C ℃ degC"},
    {"K", "temperature", 100, -27315, 100, ""},
    {"[degF]", "temperature", 5, -160, 9, "°F ℉ degF"},
    {"m", "length", 1, 0, 1, ""},
    {"mm", "length", 1, 0, 1000, ""},
    {"cm", "length", 1, 0, 100, ""},
    {"km", "length", 1000, 0, 1, ""},
    {"[in_i]", "length", 254, 0, 10000, "in"},
    {"[ft_i]", "length", 3048, 0, 10000, "ft"},
    {"m/s", "speed", 1, 0, 1, "m.s-1"},
    {"km/h", "speed", 5, 0, 18, "km.h-1 kph"},
    {"mm/h", "speed", 1, 0, 3600000, "mm.h-1"},
    {"[mi_i]/h", "speed", 1397, 0, 3125, "mph"},
    {"[kn_i]", "speed", 463, 0, 900, "kn kt"},
    {"Pa", "pressure", 1, 0, 1, ""},
    {"hPa", "pressure", 100, 0, 1, ""},
    {"mbar", "pressure", 100, 0, 1, ""},
    {"kPa", "pressure", 1000, 0, 1, ""},
    {"bar", "pressure", 100000, 0, 1, ""},
    {"[psi]", "pressure", 8896443230521, 0, 1290320000, "psi"},
    {"mm[Hg]", "pressure", 26664477483, 0, 200000000, "mmHg"},
    {"s", "time", 1, 0, 1, ""},
    {"ms", "time", 1, 0, 1000, ""},
    {"min", "time", 60, 0, 1, ""},
    {"h", "time", 3600, 0, 1, ""},
    {"d", "time", 86400, 0, 1, ""},
    {"m3/s", "volume flow", 1, 0, 1, "m³/s"},
    {"m3/h", "volume flow", 1, 0, 3600, "m³/h"},
    {"L/s", "volume flow", 1, 0, 1000, "l/s"},
    {"L/min", "volume flow", 1, 0, 60000, "l/min"},
    {"J", "energy", 1, 0, 1, ""},
    {"kJ", "energy", 1000, 0, 1, ""},
    {"Wh", "energy", 3600, 0, 1, ""},
    {"kWh", "energy", 3600000, 0, 1, ""},
    {"MWh", "energy", 3600000000, 0, 1, ""},
    {"W", "power", 1, 0, 1, ""},
    {"kW", "power", 1000, 0, 1, ""},
    {"MW", "power", 1000000, 0, 1, ""},
    {"V", "voltage", 1, 0, 1, ""},
    {"mV", "voltage", 1, 0, 1000, ""},
    {"A", "current", 1, 0, 1, ""},
    {"mA", "current", 1, 0, 1000, ""},
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))
#define EXACT_MAX (INT64_C(1) << 53)

static const struct unit_row *find_row(const char *unit)
{
    size_t len = strlen(unit);
    if (len == 0)
        return NULL;
    for (size_t i = 0; i < N_ROWS; i++) {
        if (strcmp(rows[i].code, unit) == 0)
            return &rows[i];
        for (const char *p = rows[i].aliases; *p;) {
            size_t k = strcspn(p, " ");
            if (k == len && memcmp(p, unit, len) == 0)
                return &rows[i];
            p += k;
            p += *p == ' ';
        }
    }
    return NULL;
}

const char *iocd_unit_code(const char *unit)
{
    const struct unit_row *r = find_row(unit);
    return r ? r->code : NULL;
}

const char *iocd_unit_dimension(const char *unit)
{
    const struct unit_row *r = find_row(unit);
    return r ? r->dimension : NULL;
}

const char *iocd_unit_at(size_t i, const char **dimension, const char **aliases)
{
    if (i >= N_ROWS)
        return NULL;
    if (dimension)
        *dimension = rows[i].dimension;
    if (aliases)
        *aliases = rows[i].aliases;
    return rows[i].code;
}

bool iocd_unit_conv_is_identity(const struct iocd_unit_conv *c)
{
    return c->n == 1 && c->o == 0 && c->d == 1;
}

static int64_t gcd64(int64_t x, int64_t y)
{
    x = x < 0 ? -x : x;
    y = y < 0 ? -y : y;
    while (y) {
        int64_t t = x % y;
        x = y;
        y = t;
    }
    return x;
}

static bool mul(int64_t x, int64_t y, int64_t *out)
{
    return !__builtin_mul_overflow(x, y, out);
}

/* (v × n + o) / d into *c, reduced; -1 when a term is not exact in a
 * double. */
static int make_conv(int64_t n, int64_t o, int64_t d, struct iocd_unit_conv *c)
{
    int64_t g = gcd64(gcd64(n, o), d);
    if (g > 1) {
        n /= g;
        o /= g;
        d /= g;
    }
    if (n <= 0 || d <= 0 || n > EXACT_MAX || d > EXACT_MAX || o > EXACT_MAX || o < -EXACT_MAX)
        return -1;
    *c = (struct iocd_unit_conv){.n = (double)n, .o = (double)o, .d = (double)d};
    return 0;
}

/* From row x to row y (same dimension) as integers n, o, d. */
static int row_terms(const struct unit_row *x, const struct unit_row *y, int64_t *n, int64_t *o,
                     int64_t *d)
{
    /* base = (v·ax + bx)/cx; w = (base·cy - by)/ay
     *   = (v·ax·cy + bx·cy - by·cx) / (cx·ay), with common factors
     * taken out before multiplying. */
    int64_t ax = x->a, ay = y->a, cx = x->c, cy = y->c;
    if (x->b == 0 && y->b == 0) {
        int64_t g1 = gcd64(ax, ay), g2 = gcd64(cx, cy);
        ax /= g1;
        ay /= g1;
        cx /= g2;
        cy /= g2;
        *o = 0;
        return mul(ax, cy, n) && mul(cx, ay, d) ? 0 : -1;
    }
    int64_t t1, t2;
    if (!mul(ax, cy, n) || !mul(cx, ay, d) || !mul(x->b, cy, &t1) || !mul(y->b, cx, &t2) ||
        __builtin_sub_overflow(t1, t2, o))
        return -1;
    return 0;
}

int iocd_unit_conversion(const char *from, const char *to, struct iocd_unit_conv *c)
{
    const struct unit_row *x = find_row(from), *y = find_row(to);
    if (!x || !y) {
        if (x || y || strcmp(from, to) != 0)
            return -1;
        *c = (struct iocd_unit_conv){1, 0, 1};
        return 0;
    }
    if (x == y) {
        *c = (struct iocd_unit_conv){1, 0, 1};
        return 0;
    }
    if (strcmp(x->dimension, y->dimension) != 0)
        return -1;
    int64_t n, o, d;
    if (row_terms(x, y, &n, &o, &d))
        return -1;
    return make_conv(n, o, d, c);
}

int iocd_unit_rule_conversion(const struct iocd_unit_rule *r, const char *from,
                              struct iocd_unit_conv *c)
{
    if (iocd_unit_conversion(from, r->unit, c) == 0)
        return 0;
    for (int i = 0; i < r->n_from; i++) {
        struct iocd_unit_conv first;
        if (iocd_unit_conversion(from, r->from[i].unit, &first) || first.o != 0)
            continue;
        /* from → FROM (n1/d1), then × num/den: both ratios of integers. */
        int64_t n1 = (int64_t)first.n, d1 = (int64_t)first.d;
        int64_t num = r->from[i].num, den = r->from[i].den;
        int64_t g1 = gcd64(n1, den), g2 = gcd64(num, d1);
        int64_t n, d;
        if (!mul(n1 / g1, num / g2, &n) || !mul(d1 / g2, den / g1, &d))
            continue;
        if (make_conv(n, 0, d, c) == 0)
            return 0;
    }
    return -1;
}

/* ---- [units] rule values ---- */

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A unit token at *p (up to a blank, ',' or '*') into out (canonical
 * code when built in). 0, or -1 with why. */
static int parse_unit(const char **p, char out[IOCD_UNIT_MAX + 1], char *why, size_t n)
{
    const char *s = *p;
    size_t k = 0;
    while (s[k] && !strchr(" \t,*", s[k])) {
        unsigned char ch = (unsigned char)s[k];
        if (ch < 0x20 || ch == 0x7f) {
            snprintf(why, n, "a unit may not contain control characters");
            return -1;
        }
        k++;
    }
    if (k == 0) {
        snprintf(why, n, "a unit is missing");
        return -1;
    }
    if (k > IOCD_UNIT_MAX) {
        snprintf(why, n, "a unit is longer than %d bytes", IOCD_UNIT_MAX);
        return -1;
    }
    char tok[IOCD_UNIT_MAX + 1];
    memcpy(tok, s, k);
    tok[k] = '\0';
    const char *code = iocd_unit_code(tok);
    snprintf(out, IOCD_UNIT_MAX + 1, "%s", code ? code : tok);
    *p = s + k;
    return 0;
}

/* A positive decimal "1.88", "1880", "0.5" into num/den exactly. */
static int parse_factor(const char **p, int64_t *num, int64_t *den, char *why, size_t n)
{
    const char *s = *p;
    int64_t v = 0, scale = 1;
    int digits = 0, frac = -1, seen = 0;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            seen++;
            if (digits || *s != '0')
                digits++;
            if (digits > 15) {
                snprintf(why, n, "a factor has more than 15 significant digits");
                return -1;
            }
            v = v * 10 + (*s - '0');
            if (frac >= 0) {
                frac++;
                scale *= 10;
                if (frac > 15) {
                    snprintf(why, n, "a factor has more than 15 decimals");
                    return -1;
                }
            }
        } else if (*s == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (!seen || s[-1] == '.' || **p == '.') {
        snprintf(why, n, "a factor must be a decimal number such as 1.88");
        return -1;
    }
    if (v == 0) {
        snprintf(why, n, "a factor must be above 0");
        return -1;
    }
    int64_t g = gcd64(v, scale);
    *num = v / g;
    *den = scale / g;
    *p = s;
    return 0;
}

int iocd_unit_rule_parse(const char *text, struct iocd_unit_rule *out, char *why, size_t n)
{
    memset(out, 0, sizeof(*out));
    const char *p = skip_blank(text);
    if (parse_unit(&p, out->unit, why, n))
        return -1;
    p = skip_blank(p);
    while (*p) {
        if (*p != ',') {
            snprintf(why, n, "expected ',' after '%s'", out->n_from ? "FACTOR" : out->unit);
            return -1;
        }
        if (out->n_from == IOCD_UNIT_RULE_MAX_FROM) {
            snprintf(why, n, "more than %d declared conversions", IOCD_UNIT_RULE_MAX_FROM);
            return -1;
        }
        p = skip_blank(p + 1);
        int i = out->n_from;
        if (parse_unit(&p, out->from[i].unit, why, n))
            return -1;
        p = skip_blank(p);
        if (*p != '*') {
            snprintf(why, n, "expected '* FACTOR' after '%s'", out->from[i].unit);
            return -1;
        }
        p = skip_blank(p + 1);
        if (parse_factor(&p, &out->from[i].num, &out->from[i].den, why, n))
            return -1;
        struct iocd_unit_conv built_in;
        if (iocd_unit_conversion(out->from[i].unit, out->unit, &built_in) == 0) {
            snprintf(why, n, "'%s' already converts to '%s' (built in)", out->from[i].unit,
                     out->unit);
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(out->from[j].unit, out->from[i].unit) == 0) {
                snprintf(why, n, "'%s' is declared twice", out->from[i].unit);
                return -1;
            }
        out->n_from++;
        p = skip_blank(p);
    }
    return 0;
}
