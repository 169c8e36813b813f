/* tests/fuzz/fuzz_units.c — libFuzzer target for the [units] rule parser
 * and the unit table (daemon/base/units.c).
 *
 * Owns: the per-input rule. An input is "RULE\nUNIT": the rule is parsed,
 * and UNIT converted into the rule's unit (built in or declared) and to
 * and from every built-in unit. For every input: a refused rule says why;
 * a parsed one has a unit of 1 to 64 bytes, at most 8 declared
 * conversions with positive factors in lowest terms; every conversion
 * found has exact positive terms and maps 1 to a finite value, and the
 * identity maps every value to itself. Violations abort. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_units: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int64_t gcd(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void check_conv(const struct iocd_unit_conv *c)
{
    CHECK(c->n >= 1 && c->n <= 9007199254740992.0 && c->n == floor(c->n));
    CHECK(c->d >= 1 && c->d <= 9007199254740992.0 && c->d == floor(c->d));
    CHECK(fabs(c->o) <= 9007199254740992.0 && c->o == floor(c->o));
    CHECK(isfinite(iocd_unit_conv_apply(c, 1.0)));
    if (iocd_unit_conv_is_identity(c))
        CHECK(iocd_unit_conv_apply(c, 12.34) == 12.34);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char text[4097];
    memcpy(text, data, size);
    text[size] = '\0';
    char *unit = strchr(text, '\n');
    if (unit)
        *unit++ = '\0';
    else
        unit = text + size;

    struct iocd_unit_rule r;
    char why[160] = "";
    if (iocd_unit_rule_parse(text, &r, why, sizeof(why)) != 0) {
        CHECK(why[0] != '\0');
    } else {
        size_t ul = strlen(r.unit);
        CHECK(ul >= 1 && ul <= IOCD_UNIT_MAX);
        CHECK(r.n_from >= 0 && r.n_from <= IOCD_UNIT_RULE_MAX_FROM);
        for (int i = 0; i < r.n_from; i++) {
            CHECK(r.from[i].num > 0 && r.from[i].den > 0);
            CHECK(gcd(r.from[i].num, r.from[i].den) == 1);
            CHECK(strcmp(r.from[i].unit, r.unit) != 0);
            struct iocd_unit_conv c;
            CHECK(iocd_unit_rule_conversion(&r, r.from[i].unit, &c) == 0);
            check_conv(&c);
        }
        struct iocd_unit_conv c;
        if (iocd_unit_rule_conversion(&r, unit, &c) == 0)
            check_conv(&c);
    }
    const char *code = iocd_unit_code(unit);
    CHECK(!code || iocd_unit_dimension(unit) != NULL);
    for (size_t i = 0; iocd_unit_at(i, NULL, NULL); i++) {
        const char *b = iocd_unit_at(i, NULL, NULL);
        struct iocd_unit_conv c;
        if (iocd_unit_conversion(unit, b, &c) == 0) {
            CHECK(code != NULL);
            check_conv(&c);
        }
        if (iocd_unit_conversion(b, unit, &c) == 0)
            check_conv(&c);
    }
    return 0;
}
