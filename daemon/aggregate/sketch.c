/* daemon/aggregate/sketch.c — mergeable relative-error quantile sketch (see sketch.h
 * and docs/sketch.md): bins, collapse, quantiles, the canonical encoding
 * and the SQLite functions over encoded sketches.
 *
 * Owns: each store's counts array. An array covers bin indices
 * [base, base + cap); it starts unallocated and grows by half again (at
 * least to the span needed, at most IOCD_SKETCH_MAX_BINS entries). A store
 * whose bins would span more than IOCD_SKETCH_MAX_BINS indices folds every
 * bin below hi - MAX_BINS + 1 into that bin; since hi only grows, the
 * result depends only on the multiset of samples, never on the order of
 * adds and merges, which keeps merging exact. */
#include "daemon/aggregate/sketch.h"

#include <float.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 8u
#define ALPHA_CODE_MAX 255u

/* ---- indices and values ---------------------------------------------- */

static int32_t raw_index(double log_gamma, double a)
{
    return (int32_t)ceil(log(a) / log_gamma);
}

static void set_alpha(struct iocd_sketch *s, unsigned code)
{
    double alpha = (double)code / 1000.0;
    s->alpha_code = (uint8_t)code;
    s->gamma = (1.0 + alpha) / (1.0 - alpha);
    s->log_gamma = log(s->gamma);
    s->min_index = raw_index(s->log_gamma, IOCD_SKETCH_MIN_INDEXABLE);
    s->max_index = raw_index(s->log_gamma, DBL_MAX);
}

int32_t iocd_sketch_bin_index(const struct iocd_sketch *s, double v)
{
    double a = fabs(v);
    /* Out of the contract (zero bin, NaN, Inf): stay defined. */
    if (!(a >= IOCD_SKETCH_MIN_INDEXABLE))
        return s->min_index;
    if (a > DBL_MAX)
        return s->max_index;
    int32_t i = raw_index(s->log_gamma, a);
    /* log() is not guaranteed monotonic to the last ulp: clamp so that
     * every bin we create is one the decoder accepts. */
    if (i < s->min_index)
        i = s->min_index;
    if (i > s->max_index)
        i = s->max_index;
    return i;
}

double iocd_sketch_bin_value(const struct iocd_sketch *s, int32_t i)
{
    double v = 2.0 * pow(s->gamma, (double)i) / (s->gamma + 1.0);
    return v > DBL_MAX ? DBL_MAX : v;
}

/* ---- init / free ------------------------------------------------------ */

static void store_init(struct iocd_sketch_store *st)
{
    memset(st, 0, sizeof(*st));
}

void iocd_sketch_init(struct iocd_sketch *s)
{
    memset(s, 0, sizeof(*s));
    set_alpha(s, IOCD_SKETCH_ALPHA_CODE_DEFAULT);
}

int iocd_sketch_init_alpha(struct iocd_sketch *s, unsigned alpha_code)
{
    iocd_sketch_init(s);
    if (alpha_code < 1 || alpha_code > ALPHA_CODE_MAX)
        return IOCD_SKETCH_EINVAL;
    set_alpha(s, alpha_code);
    return 0;
}

void iocd_sketch_free(struct iocd_sketch *s)
{
    free(s->pos.counts);
    free(s->neg.counts);
    store_init(&s->pos);
    store_init(&s->neg);
    s->zero_count = 0;
}

uint64_t iocd_sketch_count(const struct iocd_sketch *s)
{
    /* Never overflows: every operation that raises a count checks the total. */
    return s->zero_count + s->pos.n + s->neg.n;
}

double iocd_sketch_alpha(const struct iocd_sketch *s)
{
    return (double)s->alpha_code / 1000.0;
}

size_t iocd_sketch_bytes(const struct iocd_sketch *s)
{
    return sizeof(*s) + ((size_t)s->pos.cap + s->neg.cap) * sizeof(uint64_t);
}

/* ---- stores ----------------------------------------------------------- */

/* Room for `need` (<= MAX_BINS) consecutive bins; the only step of an
 * update that can fail, so a failed update leaves the store unchanged. */
static int store_reserve(struct iocd_sketch_store *st, uint32_t need)
{
    if (need <= st->cap)
        return 0;
    uint32_t ncap = st->cap + st->cap / 2;
    if (ncap < need)
        ncap = need;
    if (ncap < MIN_CAP)
        ncap = MIN_CAP;
    if (ncap > IOCD_SKETCH_MAX_BINS)
        ncap = IOCD_SKETCH_MAX_BINS;
    uint64_t *c = realloc(st->counts, (size_t)ncap * sizeof(*c));
    if (!c)
        return IOCD_SKETCH_ENOMEM;
    memset(c + st->cap, 0, (size_t)(ncap - st->cap) * sizeof(*c));
    st->counts = c;
    st->cap = ncap;
    return 0;
}

/* An empty store's array is all zero: centre [a, b] in it so that later
 * bins on either side fit without moving anything. */
static void store_centre(struct iocd_sketch_store *st, int32_t a, int32_t b)
{
    st->base = a - (int32_t)((st->cap - (uint32_t)(b - a + 1)) / 2);
}

/* Folds every bin below a into bin a and moves the data so that [a, b]
 * lies inside the array. Needs cap >= b - a + 1 and, when the store is not
 * empty, hi <= b. Cannot fail. Leaves lo/hi for the caller to set. */
static void store_place(struct iocd_sketch_store *st, int32_t a, int32_t b)
{
    uint64_t folded = 0;
    int has = st->n > 0;
    if (has && st->lo < a) {
        int32_t end = st->hi < a ? st->hi : a - 1;
        for (int32_t i = st->lo; i <= end; i++) {
            folded += st->counts[i - st->base];
            st->counts[i - st->base] = 0;
        }
        has = st->hi >= a;
    }
    int64_t top = (int64_t)st->base + st->cap - 1;
    if (a < st->base || b > top) {
        int32_t nb = b > top ? a : (int32_t)((int64_t)b - st->cap + 1);
        if (has) {
            int32_t dlo = st->lo > a ? st->lo : a, dhi = st->hi;
            size_t nbins = (size_t)(dhi - dlo + 1);
            size_t from = (size_t)(dlo - st->base), to = (size_t)(dlo - nb);
            memmove(st->counts + to, st->counts + from, nbins * sizeof(uint64_t));
            memset(st->counts, 0, to * sizeof(uint64_t));
            memset(st->counts + to + nbins, 0, (st->cap - to - nbins) * sizeof(uint64_t));
        }
        /* else every entry is already zero */
        st->base = nb;
    }
    st->counts[a - st->base] += folded;
}

static int store_add(struct iocd_sketch_store *st, int32_t i, uint64_t n)
{
    int32_t a, b;
    if (st->n == 0) {
        a = b = i;
    } else {
        b = st->hi > i ? st->hi : i;
        int32_t bound = b - (IOCD_SKETCH_MAX_BINS - 1);
        a = st->lo < i ? st->lo : i;
        if (a < bound)
            a = bound;
        if (i < a)
            i = a; /* below the kept range: counted in its lowest bin */
    }
    int rc = store_reserve(st, (uint32_t)(b - a + 1));
    if (rc)
        return rc;
    if (st->n == 0)
        store_centre(st, a, b);
    store_place(st, a, b);
    st->counts[i - st->base] += n;
    if (st->n == 0) {
        st->lo = st->hi = i;
    } else {
        int32_t lo = st->lo > a ? st->lo : a;
        st->lo = lo < i ? lo : i;
        st->hi = b;
    }
    st->n += n;
    return 0;
}

static int store_merge(struct iocd_sketch_store *dst, const struct iocd_sketch_store *src)
{
    if (src->n == 0)
        return 0;
    int32_t a, b;
    if (dst->n == 0) {
        a = src->lo;
        b = src->hi;
    } else {
        b = dst->hi > src->hi ? dst->hi : src->hi;
        int32_t bound = b - (IOCD_SKETCH_MAX_BINS - 1);
        a = dst->lo < src->lo ? dst->lo : src->lo;
        if (a < bound)
            a = bound;
    }
    int rc = store_reserve(dst, (uint32_t)(b - a + 1));
    if (rc)
        return rc;
    if (dst->n == 0)
        store_centre(dst, a, b);
    store_place(dst, a, b);
    for (int32_t j = src->lo; j <= src->hi; j++) {
        uint64_t c = src->counts[j - src->base];
        int32_t k = j > a ? j : a;
        dst->counts[k - dst->base] += c;
    }
    int32_t slo = src->lo > a ? src->lo : a;
    if (dst->n == 0) {
        dst->lo = slo;
    } else {
        int32_t dlo = dst->lo > a ? dst->lo : a;
        dst->lo = dlo < slo ? dlo : slo;
    }
    dst->hi = b;
    dst->n += src->n;
    return 0;
}

/* The bin holding the sample at 0-based rank r (< st->n) in ascending
 * index order. */
static int32_t store_bin_at(const struct iocd_sketch_store *st, uint64_t r)
{
    uint64_t seen = 0;
    for (int32_t i = st->lo; i < st->hi; i++) {
        seen += st->counts[i - st->base];
        if (seen > r)
            return i;
    }
    return st->hi;
}

/* ---- add / merge / copy / quantile ------------------------------------ */

int iocd_sketch_add_n(struct iocd_sketch *s, double v, uint64_t n)
{
    if (!isfinite(v))
        return IOCD_SKETCH_EINVAL;
    if (n == 0)
        return 0;
    if (n > UINT64_MAX - iocd_sketch_count(s))
        return IOCD_SKETCH_EINVAL;
    if (fabs(v) < IOCD_SKETCH_MIN_INDEXABLE) {
        s->zero_count += n;
        return 0;
    }
    int32_t i = iocd_sketch_bin_index(s, v);
    return store_add(v > 0 ? &s->pos : &s->neg, i, n);
}

int iocd_sketch_add(struct iocd_sketch *s, double v)
{
    return iocd_sketch_add_n(s, v, 1);
}

static int store_copy(struct iocd_sketch_store *dst, const struct iocd_sketch_store *src)
{
    store_init(dst);
    if (src->n == 0)
        return 0;
    uint32_t span = (uint32_t)(src->hi - src->lo + 1);
    dst->counts = malloc((size_t)span * sizeof(uint64_t));
    if (!dst->counts)
        return IOCD_SKETCH_ENOMEM;
    memcpy(dst->counts, src->counts + (src->lo - src->base), (size_t)span * sizeof(uint64_t));
    dst->cap = span;
    dst->base = dst->lo = src->lo;
    dst->hi = src->hi;
    dst->n = src->n;
    return 0;
}

int iocd_sketch_copy(struct iocd_sketch *dst, const struct iocd_sketch *src)
{
    struct iocd_sketch t = *src;
    if (store_copy(&t.pos, &src->pos) != 0)
        goto nomem;
    if (store_copy(&t.neg, &src->neg) != 0) {
        free(t.pos.counts);
        goto nomem;
    }
    *dst = t;
    return 0;
nomem:
    iocd_sketch_init(dst);
    return IOCD_SKETCH_ENOMEM;
}

int iocd_sketch_merge(struct iocd_sketch *dst, const struct iocd_sketch *src)
{
    if (dst->alpha_code != src->alpha_code)
        return IOCD_SKETCH_EINVAL;
    if (iocd_sketch_count(src) > UINT64_MAX - iocd_sketch_count(dst))
        return IOCD_SKETCH_EINVAL;
    if (dst == src) {
        struct iocd_sketch t;
        int rc = iocd_sketch_copy(&t, src);
        if (rc == 0)
            rc = iocd_sketch_merge(dst, &t);
        iocd_sketch_free(&t);
        return rc;
    }
    /* Reserve both stores before changing either, so that a failure leaves
     * dst unchanged (store_merge cannot fail once the room is there). */
    const struct iocd_sketch_store *ss[2] = {&src->pos, &src->neg};
    struct iocd_sketch_store *ds[2] = {&dst->pos, &dst->neg};
    for (int k = 0; k < 2; k++) {
        if (ss[k]->n == 0)
            continue;
        int32_t lo = ss[k]->lo, hi = ss[k]->hi;
        if (ds[k]->n > 0) {
            lo = ds[k]->lo < lo ? ds[k]->lo : lo;
            hi = ds[k]->hi > hi ? ds[k]->hi : hi;
        }
        int64_t need = (int64_t)hi - lo + 1;
        if (need > IOCD_SKETCH_MAX_BINS)
            need = IOCD_SKETCH_MAX_BINS;
        if (store_reserve(ds[k], (uint32_t)need) != 0)
            return IOCD_SKETCH_ENOMEM;
    }
    for (int k = 0; k < 2; k++)
        (void)store_merge(ds[k], ss[k]);
    dst->zero_count += src->zero_count;
    return 0;
}

int iocd_sketch_quantile(const struct iocd_sketch *s, double q, double *out)
{
    uint64_t count = iocd_sketch_count(s);
    if (!(q >= 0.0 && q <= 1.0) || count == 0)
        return IOCD_SKETCH_EINVAL;
    double rf = floor(q * (double)(count - 1));
    /* (double)(count - 1) may round up past count - 1 above 2^53. */
    uint64_t r = rf >= (double)(count - 1) ? count - 1 : (uint64_t)rf;
    if (r < s->neg.n) {
        /* Negative samples in ascending order are the negative store's
         * bins in descending index order. */
        *out = -iocd_sketch_bin_value(s, store_bin_at(&s->neg, s->neg.n - 1 - r));
    } else if (r - s->neg.n < s->zero_count) {
        *out = 0.0;
    } else {
        *out = iocd_sketch_bin_value(s, store_bin_at(&s->pos, r - s->neg.n - s->zero_count));
    }
    return 0;
}

/* ---- encoding --------------------------------------------------------- */

/* A writer that only counts when p is NULL. */
struct wbuf {
    uint8_t *p;
    size_t n;
};

static void put_byte(struct wbuf *w, uint8_t b)
{
    if (w->p)
        w->p[w->n] = b;
    w->n++;
}

static void put_varint(struct wbuf *w, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_byte(w, (uint8_t)v);
}

static uint64_t zigzag(int64_t v)
{
    return v < 0 ? ((uint64_t)(-(v + 1)) << 1) | 1u : (uint64_t)v << 1;
}

static void put_store(struct wbuf *w, const struct iocd_sketch_store *st)
{
    if (st->n == 0) {
        put_varint(w, 0);
        return;
    }
    put_varint(w, (uint64_t)(st->hi - st->lo + 1));
    put_varint(w, zigzag(st->lo));
    for (int32_t i = st->lo; i <= st->hi; i++) {
        uint64_t c = st->counts[i - st->base];
        if (c) {
            put_varint(w, c);
            continue;
        }
        int32_t j = i;
        while (st->counts[j + 1 - st->base] == 0)
            j++; /* stops at hi at the latest, which is nonzero */
        put_byte(w, 0);
        put_varint(w, (uint64_t)(j - i)); /* run length - 1 */
        i = j;
    }
}

static void put_sketch(struct wbuf *w, const struct iocd_sketch *s)
{
    put_byte(w, IOCD_SKETCH_FORMAT_VERSION);
    put_byte(w, s->alpha_code);
    put_varint(w, s->zero_count);
    put_store(w, &s->pos);
    put_store(w, &s->neg);
}

int iocd_sketch_encode(const struct iocd_sketch *s, uint8_t **buf, size_t *len)
{
    struct wbuf w = {NULL, 0};
    put_sketch(&w, s);
    size_t n = w.n;
    w.p = malloc(n);
    if (!w.p)
        return IOCD_SKETCH_ENOMEM;
    w.n = 0;
    put_sketch(&w, s);
    *buf = w.p;
    *len = n;
    return 0;
}

/* ---- decoding --------------------------------------------------------- */

struct rbuf {
    const uint8_t *p;
    size_t n, off;
};

/* LEB128, at most 10 bytes, minimal (no trailing 0x00 group), <= 2^64-1. */
static int get_varint(struct rbuf *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned k = 0;; k++) {
        if (r->off >= r->n)
            return -1;
        uint8_t b = r->p[r->off++];
        if (k == 9 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << (7 * k);
        if (!(b & 0x80)) {
            if (k > 0 && b == 0)
                return -1;
            *out = v;
            return 0;
        }
    }
}

static int get_store(struct rbuf *r, const struct iocd_sketch *s, struct iocd_sketch_store *st,
                     uint64_t *total)
{
    uint64_t span, zz;
    if (get_varint(r, &span) != 0)
        return IOCD_SKETCH_EINVAL;
    if (span == 0)
        return 0;
    if (span > IOCD_SKETCH_MAX_BINS || get_varint(r, &zz) != 0)
        return IOCD_SKETCH_EINVAL;
    /* |lo| <= 2^31 keeps the arithmetic below in range. */
    if (zz > ((uint64_t)1 << 32))
        return IOCD_SKETCH_EINVAL;
    int64_t lo = (zz & 1) ? -(int64_t)(zz >> 1) - 1 : (int64_t)(zz >> 1);
    if (lo < s->min_index || lo + (int64_t)span - 1 > s->max_index)
        return IOCD_SKETCH_EINVAL;
    uint64_t *counts = calloc((size_t)span, sizeof(uint64_t));
    if (!counts)
        return IOCD_SKETCH_ENOMEM;
    uint64_t pos = 0, n = 0;
    int prev_zero = 1; /* the first bin must be nonzero */
    while (pos < span) {
        uint64_t c, run;
        if (get_varint(r, &c) != 0)
            goto bad;
        if (c == 0) {
            /* A run of run+1 zero bins: not first, not after another run,
             * and followed by at least one nonzero bin. */
            if (prev_zero || get_varint(r, &run) != 0 || run >= span - pos - 1)
                goto bad;
            pos += run + 1;
            prev_zero = 1;
            continue;
        }
        if (c > UINT64_MAX - *total - n)
            goto bad;
        counts[pos++] = c;
        n += c;
        prev_zero = 0;
    }
    st->counts = counts;
    st->cap = (uint32_t)span;
    st->base = st->lo = (int32_t)lo;
    st->hi = (int32_t)(lo + (int64_t)span - 1);
    st->n = n;
    *total += n;
    return 0;
bad:
    free(counts);
    return IOCD_SKETCH_EINVAL;
}

int iocd_sketch_decode(const uint8_t *buf, size_t len, struct iocd_sketch *out)
{
    struct iocd_sketch s;
    iocd_sketch_init(&s);
    iocd_sketch_init(out);
    struct rbuf r = {buf, len, 0};
    /* Every nonzero byte is a valid alpha code (ALPHA_CODE_MAX is 255). */
    if (len < 2 || buf[0] != IOCD_SKETCH_FORMAT_VERSION || buf[1] == 0)
        return IOCD_SKETCH_EINVAL;
    set_alpha(&s, buf[1]);
    r.off = 2;
    uint64_t total;
    if (get_varint(&r, &total) != 0)
        return IOCD_SKETCH_EINVAL;
    s.zero_count = total;
    int rc = get_store(&r, &s, &s.pos, &total);
    if (rc == 0)
        rc = get_store(&r, &s, &s.neg, &total);
    if (rc == 0 && r.off != len)
        rc = IOCD_SKETCH_EINVAL;
    if (rc != 0) {
        iocd_sketch_free(&s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- SQLite functions ------------------------------------------------- */

static const char MALFORMED[] = "iocd_sketch: malformed sketch";

/* Decodes an SQL argument: 1 for NULL, 0 decoded into *out (free it), -1
 * after reporting the error on ctx. */
static int sql_arg(sqlite3_context *ctx, sqlite3_value *v, struct iocd_sketch *out)
{
    int t = sqlite3_value_type(v);
    if (t == SQLITE_NULL)
        return 1;
    if (t != SQLITE_BLOB) {
        sqlite3_result_error(ctx, MALFORMED, -1);
        return -1;
    }
    const uint8_t *p = sqlite3_value_blob(v);
    int n = sqlite3_value_bytes(v);
    int rc = p && n > 0 ? iocd_sketch_decode(p, (size_t)n, out) : IOCD_SKETCH_EINVAL;
    if (rc == IOCD_SKETCH_ENOMEM) {
        sqlite3_result_error_nomem(ctx);
        return -1;
    }
    if (rc != 0) {
        sqlite3_result_error(ctx, MALFORMED, -1);
        return -1;
    }
    return 0;
}

/* Merges b into a, reporting any error on ctx: 0 or -1. */
static int sql_merge(sqlite3_context *ctx, struct iocd_sketch *a, const struct iocd_sketch *b)
{
    if (a->alpha_code != b->alpha_code) {
        sqlite3_result_error(ctx, "iocd_sketch: cannot merge sketches of different accuracy", -1);
        return -1;
    }
    int rc = iocd_sketch_merge(a, b);
    if (rc == IOCD_SKETCH_ENOMEM) {
        sqlite3_result_error_nomem(ctx);
        return -1;
    }
    if (rc != 0) {
        sqlite3_result_error(ctx, "iocd_sketch: count overflow", -1);
        return -1;
    }
    return 0;
}

static void sql_result_sketch(sqlite3_context *ctx, const struct iocd_sketch *s)
{
    uint8_t *buf;
    size_t len;
    if (iocd_sketch_encode(s, &buf, &len) != 0) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_blob64(ctx, buf, len, free);
}

static void sql_merge_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct iocd_sketch a, b;
    int ra = sql_arg(ctx, argv[0], &a);
    if (ra < 0)
        return;
    int rb = sql_arg(ctx, argv[1], &b);
    if (rb < 0) {
        if (ra == 0)
            iocd_sketch_free(&a);
        return;
    }
    if (ra == 1 && rb == 1) {
        sqlite3_result_null(ctx);
    } else if (ra == 1) {
        sqlite3_result_value(ctx, argv[1]); /* valid, hence canonical */
    } else if (rb == 1) {
        sqlite3_result_value(ctx, argv[0]);
    } else if (sql_merge(ctx, &a, &b) == 0) {
        sql_result_sketch(ctx, &a);
    }
    if (ra == 0)
        iocd_sketch_free(&a);
    if (rb == 0)
        iocd_sketch_free(&b);
}

struct union_state {
    struct iocd_sketch s;
    int have;   /* s holds a sketch */
    int failed; /* an error was reported; the result is not ours to set */
};

static void sql_union_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct union_state *u = sqlite3_aggregate_context(ctx, (int)sizeof(*u));
    if (!u) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (u->failed)
        return;
    struct iocd_sketch x;
    int rx = sql_arg(ctx, argv[0], &x);
    if (rx < 0) {
        u->failed = 1;
        return;
    }
    if (rx == 1)
        return;
    if (!u->have) {
        u->s = x;
        u->have = 1;
        return;
    }
    if (sql_merge(ctx, &u->s, &x) != 0)
        u->failed = 1;
    iocd_sketch_free(&x);
}

static void sql_union_final(sqlite3_context *ctx)
{
    struct union_state *u = sqlite3_aggregate_context(ctx, 0);
    if (!u || !u->have) {
        if (!u || !u->failed)
            sqlite3_result_null(ctx);
        return;
    }
    if (!u->failed)
        sql_result_sketch(ctx, &u->s);
    iocd_sketch_free(&u->s);
    u->have = 0;
}

static void sql_quantile_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct iocd_sketch s;
    int rs = sql_arg(ctx, argv[0], &s);
    if (rs < 0)
        return;
    if (rs == 1) {
        sqlite3_result_null(ctx);
        return;
    }
    int t = sqlite3_value_type(argv[1]);
    double v;
    if ((t == SQLITE_INTEGER || t == SQLITE_FLOAT) &&
        iocd_sketch_quantile(&s, sqlite3_value_double(argv[1]), &v) == 0)
        sqlite3_result_double(ctx, v);
    else
        sqlite3_result_null(ctx);
    iocd_sketch_free(&s);
}

int iocd_sketch_sqlite_register(struct sqlite3 *db)
{
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function_v2(db, "iocd_sketch_merge", 2, flags, NULL, sql_merge_fn,
                                        NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db, "iocd_sketch_union", 1, flags, NULL, NULL,
                                        sql_union_step, sql_union_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db, "iocd_sketch_quantile", 2, flags, NULL,
                                        sql_quantile_fn, NULL, NULL, NULL);
    return rc;
}
