/* daemon/base/units.h — units of measurement and exact conversions.
 *
 * Owns: the one built-in table of units iocd converts between (UCUM-style
 * codes, the other spellings accepted for each, the dimension, and each
 * unit's exact relation to its dimension's base unit as integers), the
 * conversion of a value between two units, and the parser of a [units]
 * rule value ("UNIT[, FROM * FACTOR]..."). Pure: no allocation, no I/O, no
 * state; safe from any thread. docs/units.md lists the table.
 *
 * A conversion is out = (v × n + o) / d with integers n, o, d (exact in a
 * double, at most 2^53): a metric prefix is one multiplication or one
 * division (1.2 mg/m3 is 1200 ug/m3 exactly, 1234 ug/m3 is the double
 * nearest 1.234 mg/m3); an affine one (temperatures) is one fused
 * multiply-add and one division, so 300 K is 26.85 Cel and 98.6 [degF]
 * is 37 Cel, each the double nearest the decimal result. */
#ifndef IOCD_UNITS_H
#define IOCD_UNITS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes in a unit as written in a [units] rule or stored with a series. */
#define IOCD_UNIT_MAX 64
/* Declared conversions ("FROM * FACTOR") in one [units] rule. */
#define IOCD_UNIT_RULE_MAX_FROM 8

struct iocd_unit_conv {
    double n, o, d;
};

/* The identity conversion: n 1, o 0, d 1. */
bool iocd_unit_conv_is_identity(const struct iocd_unit_conv *c);

static inline double iocd_unit_conv_apply(const struct iocd_unit_conv *c, double v)
{
    double t = c->o == 0 ? v * c->n : fma(v, c->n, c->o);
    return c->d == 1 ? t : t / c->d;
}

/* The canonical code of a built-in unit given in any accepted spelling
 * ("µg/m³" and "ug/m3" give "ug/m3"), or NULL when `unit` is not built
 * in. Case matters, as in UCUM ("Pa" is not "pa"). */
const char *iocd_unit_code(const char *unit);
/* The dimension of a built-in unit ("mass concentration"), or NULL. */
const char *iocd_unit_dimension(const char *unit);
/* How to convert values in unit `from` into unit `to` (any accepted
 * spellings). 0 with *c filled (the identity when both are the same
 * unit, or the same text when not built in), or -1 when they cannot be
 * converted: unknown, or of different dimensions. */
int iocd_unit_conversion(const char *from, const char *to, struct iocd_unit_conv *c);

/* The built-in units, for docs and tests: the i-th code (NULL past the
 * last), its dimension and its other spellings (space-separated, "" none). */
const char *iocd_unit_at(size_t i, const char **dimension, const char **aliases);

/* A [units] rule value: the canonical unit and the conversions declared
 * into it ("[ppb] * 1.88": a value in [ppb], or in a unit convertible to
 * [ppb] by a built-in factor, times 1.88). */
struct iocd_unit_rule {
    char unit[IOCD_UNIT_MAX + 1]; /* its canonical code when built in */
    int n_from;
    struct {
        char unit[IOCD_UNIT_MAX + 1]; /* canonical code when built in */
        int64_t num, den;             /* the factor, exactly: num / den */
    } from[IOCD_UNIT_RULE_MAX_FROM];
};

/* Parse "UNIT[, FROM * FACTOR]..." (FACTOR a positive decimal such as
 * 1.88 or 1880, at most 15 significant digits, no exponent). 0, or -1
 * with `why` (n bytes) saying what is wrong. */
int iocd_unit_rule_parse(const char *text, struct iocd_unit_rule *out, char *why, size_t n);
/* How to convert values in unit `from` into r->unit: built in, or through
 * one of the rule's declared factors. 0 with *c, or -1. */
int iocd_unit_rule_conversion(const struct iocd_unit_rule *r, const char *from,
                              struct iocd_unit_conv *c);

#endif
