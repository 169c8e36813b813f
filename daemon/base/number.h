/* daemon/base/number.h — the one formatter for every number iocd writes as
 * JSON (API, live stream, `iocd --try`, iocctl, republish).
 *
 * Owns: nothing allocated; it writes into the caller's array.
 *
 * The text is the shortest decimal that strtod reads back as exactly the same
 * double (0.1+0.2 is "0.30000000000000004", DBL_MAX "1.7976931348623157e+308",
 * 5e-324 "5e-324"), found exactly with 128-bit integer arithmetic (the
 * Schubfach idea: scale the rounding interval of v by a power of ten so it
 * holds one to ten integers and pick the shortest, then the closest), no
 * printf, no strtod, no heap. The layout is printf's %g with as many digits
 * as needed: integers under 1e15 whole ("12", "-3"), exponent form below
 * 1e-4 and from 1e15 on ("1e-05", "1e+15"; from 1e17 for 16 and 17 digits,
 * so 2^53 is "9007199254740992"). Negative zero is "-0"; NaN and infinities
 * "nan", "-nan", "inf", "-inf" (JSON has none: callers write null). */
#ifndef IOCD_NUMBER_H
#define IOCD_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

/* Room for any text iocd_number_format writes, NUL included. */
#define IOCD_NUMBER_MAX 32

/* Writes v's text and a NUL to out; returns the text's length (< 25). */
size_t iocd_number_format(char out[static IOCD_NUMBER_MAX], double v);

/* The same digits in printf's %g layout for that many digits, exponent form
 * from 10^digits on (1000000 is "1e+06"): the text a loop of %.{1..17}g
 * tries until strtod reads v back gave, without the loop (labels and
 * attribute texts built that way keep their texts). One digit shorter than
 * that loop where %.{n}g's correctly rounded text falls outside a binade's
 * narrower lower half and the shortest does not (2^-1017). */
size_t iocd_number_format_g(char out[static IOCD_NUMBER_MAX], double v);

/* The double a JSON number's text (`n` bytes, not NUL-terminated, at most
 * 63) reads as, exactly as strtod rounds it: short decimals (at most 19
 * significant digits whose value and power of ten are exact doubles, the
 * sensor values nearly every payload carries) by one multiplication or
 * division, which rounds correctly (Clinger's fast path); anything else
 * by strtod. false when the text is not a number, or is out of range
 * (*out is then strtod's infinity). */
bool iocd_number_parse(const char *s, size_t n, double *out);

#endif
