/* daemon/base/timeparse.c — parsing the timestamps devices send (see timeutil.h):
 * ISO-8601 / RFC 3339 date-times and epoch numbers in s, ms or us.
 *
 * Owns no state. Calendar arithmetic is done here on the proleptic
 * Gregorian calendar, never through timegm/mktime, so the result does not
 * depend on TZ or the C library. */
#include <math.h>
#include <stdbool.h>

#include "daemon/base/timeutil.h"

/* A cursor over s[0..len). */
struct cur {
    const char *p, *end;
};

static bool at_end(const struct cur *c)
{
    return c->p == c->end;
}

static bool peek_is(const struct cur *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Exactly `n` decimal digits into *v. */
static bool take_digits(struct cur *c, int n, int *v)
{
    if (c->end - c->p < n)
        return false;
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(c->p[i]))
            return false;
        x = x * 10 + (c->p[i] - '0');
    }
    c->p += n;
    *v = x;
    return true;
}

static bool take_char(struct cur *c, char ch)
{
    if (!peek_is(c, ch))
        return false;
    c->p++;
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Leap years in [1, y]. */
static int64_t leaps_through(int64_t y)
{
    return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to y-m-d; valid for y >= 1970. */
static int64_t days_from_civil(int y, int m, int d)
{
    static const int before_month[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t days = (int64_t)365 * (y - 1970) + leaps_through(y - 1) - leaps_through(1969);
    days += before_month[m - 1];
    if (m > 2 && is_leap(y))
        days++;
    return days + (d - 1);
}

/* Offset after the time: "Z", "+hh:mm", "-hh:mm", "+hhmm", "+hh", or
 * nothing (then `dflt`). On success the cursor is at the end. */
static bool take_offset(struct cur *c, int dflt, int *off_s)
{
    if (at_end(c)) {
        *off_s = dflt;
        return true;
    }
    if (take_char(c, 'Z') || take_char(c, 'z')) {
        *off_s = 0;
        return at_end(c);
    }
    int sign;
    if (take_char(c, '+'))
        sign = 1;
    else if (take_char(c, '-'))
        sign = -1;
    else
        return false;
    int hh, mm = 0;
    if (!take_digits(c, 2, &hh))
        return false;
    if (take_char(c, ':')) {
        if (!take_digits(c, 2, &mm))
            return false;
    } else if (!at_end(c) && !take_digits(c, 2, &mm)) {
        return false;
    }
    if (hh > 23 || mm > 59 || !at_end(c))
        return false;
    *off_s = sign * (hh * 3600 + mm * 60);
    return true;
}

int iocd_time_parse_iso8601(const char *s, size_t len, int default_offset_s, int64_t *ms)
{
    if (!s)
        return -1;
    struct cur c = {s, s + len};
    int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, off_s;

    /* Date: YYYY-MM-DD (extended) or YYYYMMDD (basic). */
    if (!take_digits(&c, 4, &y))
        return -1;
    bool extended = take_char(&c, '-');
    if (!take_digits(&c, 2, &mo) || (extended && !take_char(&c, '-')) || !take_digits(&c, 2, &d))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;

    if (at_end(&c)) {
        /* Date only: midnight at the default offset; extended form only. */
        if (!extended)
            return -1;
        off_s = default_offset_s;
    } else {
        if (!(take_char(&c, 'T') || take_char(&c, 't') || (extended && take_char(&c, ' '))))
            return -1;
        /* Time: hh:mm[:ss[.frac]] or, in basic form, hhmmss[.frac]. */
        if (!take_digits(&c, 2, &h))
            return -1;
        bool have_sec = true;
        if (extended) {
            if (!take_char(&c, ':') || !take_digits(&c, 2, &mi))
                return -1;
            have_sec = take_char(&c, ':');
            if (have_sec && !take_digits(&c, 2, &sec))
                return -1;
        } else if (!take_digits(&c, 2, &mi) || !take_digits(&c, 2, &sec)) {
            return -1;
        }
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        /* Fraction, only after seconds: any number of digits, truncated. */
        if (have_sec && (take_char(&c, '.') || take_char(&c, ','))) {
            int ndig = 0;
            while (c.p < c.end && is_digit(*c.p)) {
                if (ndig < 3)
                    frac_ms = frac_ms * 10 + (*c.p - '0');
                ndig++;
                c.p++;
            }
            if (ndig == 0)
                return -1;
            for (int i = ndig; i < 3; i++)
                frac_ms *= 10;
        }
        if (!take_offset(&c, default_offset_s, &off_s))
            return -1;
    }

    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t = (t - off_s) * 1000 + frac_ms;
    if (t < 0 || t > IOCD_TIME_MAX_MS)
        return -1;
    *ms = t;
    return 0;
}

/* v * 1000 rounded toward minus infinity, except that a product within
 * two ulps of an integer is taken as that integer: 1763780000.123 s is
 * stored as a double slightly below the decimal value, and must still give
 * ...123 ms. Two ulps cover the error of v's representation (at most 1000
 * half-ulps of v, under one ulp of the product) plus the multiplication's. */
static double seconds_to_ms(double v)
{
    double x = v * 1000.0;
    double r = nearbyint(x);
    double ulp = nextafter(x, INFINITY) - x;
    if (fabs(x - r) <= 2 * ulp)
        return r;
    return floor(x);
}

int iocd_time_from_epoch(double v, enum iocd_time_unit unit, int64_t *ms)
{
    if (isnan(v) || isinf(v) || v < 0)
        return -1;
    if (unit == IOCD_TIME_AUTO)
        unit = v < 1e11 ? IOCD_TIME_S : v < 1e14 ? IOCD_TIME_MS : IOCD_TIME_US;
    /* Far past the range; below this bound every cast to int64 is defined. */
    if (v > (double)IOCD_TIME_MAX_MS * 1000.0 + 1000.0)
        return -1;
    int64_t r;
    switch (unit) {
    case IOCD_TIME_S: {
        double x = seconds_to_ms(v);
        if (x > (double)IOCD_TIME_MAX_MS)
            return -1;
        r = (int64_t)x;
        break;
    }
    case IOCD_TIME_MS:
        r = (int64_t)floor(v);
        break;
    case IOCD_TIME_US:
        /* Whole microseconds (exact below 2^53) divide exactly as integers. */
        if (v == floor(v) && v < 9007199254740992.0)
            r = (int64_t)v / 1000;
        else
            r = (int64_t)floor(v / 1000.0);
        break;
    default:
        return -1;
    }
    if (r < 0 || r > IOCD_TIME_MAX_MS)
        return -1;
    *ms = r;
    return 0;
}
