/* daemon/base/number.c — shortest round-trip decimal text of a double.
 *
 * Owns: the algorithm and its power-of-ten table (number_pow10.h, generated
 * by gen_number_pow10.py, which also checks the integer log formulas below).
 *
 * v = c * 2^q. The doubles that read back as v are those in its rounding
 * interval R = [v - 2^q/2, v + 2^q/2] (from v - 2^q/4 below when c = 2^52
 * starts a binade), boundaries included when c is even (strtod rounds ties
 * to even). Choose k = floor(log10(width of R)), so R * 10^-k is 1 to 10
 * wide: it holds one or more integers, at most one multiple of ten. If it
 * holds a multiple of ten that is the shortest text; otherwise every integer
 * in it has as many digits and the closest to v * 10^-k, floor or ceiling,
 * is the answer (ties to even). The scaled values are computed as
 * 4 * x * 10^-k = (4c' << h) * g / 2^128 with g a 127-bit ceiling of 10^-k,
 * keeping the floor and a sticky bit (set when the value is not an integer),
 * which makes every comparison with a multiple of 2 exact. g is exact for
 * 0 <= -k <= 54; for k > 0 the value is an integer exactly when 5^k divides
 * 4c' and is then told by a divisibility test; elsewhere it is never an
 * integer and the 127-bit g keeps the floor exact (Giulietti's bound for 126
 * bits). tests/unit/test_number.c checks it against printf on millions of
 * doubles. */
#include "daemon/base/number.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/number_pow10.h"

typedef unsigned __int128 iocd_u128;

static const char DIGITS2[201] = "00010203040506070809101112131415161718192021222324252627282930313233"
                                 "34353637383940414243444546474849505152535455565758596061626364656667"
                                 "6869707172737475767778798081828384858687888990919293949596979899";

/* floor(log10(2^q)), floor(log10(3/4 * 2^q)), floor(log2(10^x)) for the
 * ranges number_pow10.h's generator checked. */
static inline int flog10_pow2(int q)
{
    return (int)(((int64_t)q * 315653) >> 20);
}

static inline int flog10_34_pow2(int q)
{
    return (int)(((int64_t)q * 315653 - 131237) >> 20);
}

static inline int flog2_pow10(int x)
{
    return (int)(((int64_t)x * 1741647) >> 19);
}

/* floor(cp * g / 2^128), g = {hi, lo}; *inexact when the remainder is not 0. */
static inline uint64_t mul_shift(const uint64_t g[2], uint64_t cp, bool *inexact)
{
    iocd_u128 lo = (iocd_u128)g[1] * cp;
    iocd_u128 mid = (iocd_u128)g[0] * cp + (uint64_t)(lo >> 64); /* < 2^127 + 2^64 */
    *inexact = ((uint64_t)mid | (uint64_t)lo) != 0;
    return (uint64_t)(mid >> 64);
}

static const uint64_t POW5[24] = {
    1u, 5u, 25u, 125u, 625u, 3125u, 15625u, 78125u, 390625u, 1953125u, 9765625u, 48828125u,
    244140625u, 1220703125u, 6103515625u, 30517578125u, 152587890625u, 762939453125u,
    3814697265625u, 19073486328125u, 95367431640625u, 476837158203125u, 2384185791015625u,
    11920928955078125u,
};

/* 4 * x * 10^-k for x = cp * 2^(q-2): the floor, its lowest bit set when
 * the value is not an integer. */
static inline uint64_t scaled(const uint64_t g[2], uint64_t cp, int h, int k)
{
    bool inexact;
    uint64_t r = mul_shift(g, cp << h, &inexact);
    if (inexact && k > 0 && k < 24 && cp % POW5[k] == 0)
        inexact = false; /* an integer; only the ceiling of g made it look inexact */
    return r | (uint64_t)inexact;
}

/* The shortest-then-closest decimal d * 10^e in the rounding interval of
 * c * 2^q (c > 0); d has no trailing zero. */
static void shortest(uint64_t c, int q, bool regular, uint64_t *d_out, int *e_out)
{
    int k = regular ? flog10_pow2(q) : flog10_34_pow2(q);
    int h = q + flog2_pow10(-k) + 2; /* 1..5 */
    const uint64_t *g = IOCD_POW10_G[k - IOCD_POW10_K_MIN];
    uint64_t cb = c << 2;
    uint64_t out = c & 1; /* bounds excluded when c is odd */
    uint64_t vb = scaled(g, cb, h, k);
    uint64_t vbl = scaled(g, regular ? cb - 2 : cb - 1, h, k);
    uint64_t vbr = scaled(g, cb + 2, h, k);
    uint64_t s = vb >> 2, d;
    if (s >= 10) {
        uint64_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
        bool upin = vbl + out <= sp10 << 2;
        bool wpin = (tp10 << 2) + out <= vbr;
        if (upin != wpin) {
            d = upin ? sp10 : tp10;
            goto trim;
        }
    }
    {
        uint64_t t = s + 1;
        bool uin = vbl + out <= s << 2;
        bool win = (t << 2) + out <= vbr;
        if (uin != win)
            d = uin ? s : t;
        else if (vb != (s << 2) + 2)
            d = vb < (s << 2) + 2 ? s : t;
        else
            d = (s & 1) ? t : s;
    }
trim:
    /* sensor readings (21.3 is 213 * 10^-1) come with up to 16 zeros to drop */
    while (d % 100000000 == 0) {
        d /= 100000000;
        k += 8;
    }
    if (d % 10000 == 0) {
        d /= 10000;
        k += 4;
    }
    if (d % 100 == 0) {
        d /= 100;
        k += 2;
    }
    if (d % 10 == 0) {
        d /= 10;
        k++;
    }
    *d_out = d;
    *e_out = k;
}

static const uint64_t POW10[20] = {
    1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u,
    10000000000u, 100000000000u, 1000000000000u, 10000000000000u, 100000000000000u,
    1000000000000000u, 10000000000000000u, 100000000000000000u, 1000000000000000000u,
    10000000000000000000u,
};

/* Decimal digits of d (d < 10^19; 0 has one). */
static inline int digit_count(uint64_t d)
{
    int t = ((64 - __builtin_clzll(d | 1)) * 1233) >> 12; /* about log10 */
    return t + (d >= POW10[t]) + (d == 0);
}

/* Writes d's digits so that the last ends just before `end`. */
static inline void put_digits(char *end, uint64_t d)
{
    while (d >= 100) {
        uint64_t r = d % 100;
        d /= 100;
        end -= 2;
        memcpy(end, DIGITS2 + 2 * r, 2);
    }
    if (d >= 10)
        memcpy(end - 2, DIGITS2 + 2 * d, 2);
    else
        end[-1] = (char)('0' + d);
}

/* g: printf's %g layout for n digits (exponent form from 10^n on); else
 * whole numbers under 1e15 whole and the exponent form from 1e15 (1e17
 * for 16 and 17 digits), as iocd_json_number always printed them. */
static size_t format(char out[static IOCD_NUMBER_MAX], double v, bool g)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    char *p = out;
    if (bits >> 63)
        *p++ = '-';
    uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);
    int be = (int)((bits >> 52) & 0x7FF);
    if (be == 0x7FF) {
        memcpy(p, frac ? "nan" : "inf", 4);
        return (size_t)(p - out) + 3;
    }
    /* Whole numbers (counts, ids, most readings' sums): the integer itself. */
    double a = fabs(v);
    if (a == 0 || (!g && a < 1e15 && a == (double)(int64_t)a)) {
        int n = digit_count((uint64_t)a);
        put_digits(p + n, (uint64_t)a);
        p[n] = '\0';
        return (size_t)(p + n - out);
    }
    uint64_t c;
    int q;
    bool regular = true;
    if (be) {
        c = frac | (UINT64_C(1) << 52);
        q = be - 1075;
        regular = frac != 0 || be == 1;
    } else {
        c = frac;
        q = -1074;
    }
    uint64_t d;
    int e;
    shortest(c, q, regular, &d, &e);

    int n = digit_count(d);
    int x = e + n - 1; /* exponent of the first digit */
    if (x < -4 || x >= (g ? n : n <= 15 ? 15 : 17)) {
        put_digits(p + 1 + n, d); /* d.ddd: the first digit moves before the point */
        p[0] = p[1];
        if (n > 1) {
            p[1] = '.';
            p += n + 1;
        } else {
            p += 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100) {
            *p++ = (char)('0' + ax / 100);
            ax %= 100;
        }
        memcpy(p, DIGITS2 + 2 * ax, 2);
        p += 2;
    } else if (x >= 0) {
        if (n <= x + 1) {
            put_digits(p + n, d);
            p += n;
            memset(p, '0', (size_t)(x + 1 - n));
            p += x + 1 - n;
        } else {
            put_digits(p + 1 + n, d); /* the integer part moves before the point */
            for (int i = 0; i <= x; i++)
                p[i] = p[i + 1];
            p[x + 1] = '.';
            p += n + 1;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', (size_t)(-x - 1));
        p += -x - 1;
        put_digits(p + n, d);
        p += n;
    }
    *p = '\0';
    return (size_t)(p - out);
}

size_t iocd_number_format(char out[static IOCD_NUMBER_MAX], double v)
{
    return format(out, v, false);
}

size_t iocd_number_format_g(char out[static IOCD_NUMBER_MAX], double v)
{
    return format(out, v, true);
}

/* Powers of ten that are exact doubles. */
static const double exact_pow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

bool iocd_number_parse(const char *s, size_t n, double *out)
{
    if (n == 0 || n > 63)
        return false;
    const char *p = s, *end = s + n;
    bool neg = p < end && *p == '-';
    p += neg;
    uint64_t w = 0;
    int digits = 0, exp10 = 0;
    bool any = false, fast = true;
    for (; p < end && *p >= '0' && *p <= '9'; p++, any = true) {
        if (w || *p != '0')
            digits++;
        w = w * 10 + (uint64_t)(*p - '0'); /* wraps past 19 digits: then not fast */
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++, any = true) {
            if (w || *p != '0')
                digits++;
            w = w * 10 + (uint64_t)(*p - '0');
            exp10--;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = p < end && (*p == '-' || *p == '+') ? *p++ == '-' : false;
        int e = 0;
        bool edig = false;
        for (; p < end && *p >= '0' && *p <= '9'; p++, edig = true)
            if (e < 10000)
                e = e * 10 + (*p - '0');
        if (!edig)
            fast = false;
        exp10 += eneg ? -e : e;
    }
    if (!any || p != end || digits > 19)
        fast = false;
    if (fast && w <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        /* Both operands exact: one correctly rounded operation. */
        double v = (double)w;
        v = exp10 < 0 ? v / exact_pow10[-exp10] : v * exact_pow10[exp10];
        *out = neg ? -v : v;
        return true;
    }
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *e;
    double v = strtod(buf, &e);
    if (e != buf + n)
        return false;
    *out = v;
    return isfinite(v);
}
