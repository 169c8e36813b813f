/* daemon/aggregate/sketch.h — mergeable quantile sketch (DDSketch-style, relative
 * error) for per-window quantiles, its compact binary encoding and the
 * SQLite functions that merge and query encoded sketches.
 *
 * Owns: a sketch's bin arrays (malloc'd, released by iocd_sketch_free) and
 * the buffers returned by iocd_sketch_encode (the caller frees them with
 * free()). No global state: distinct sketches may be used from distinct
 * threads; one sketch is not synchronised.
 *
 * A value v is counted in bin i = ceil(log_gamma(|v|)), gamma =
 * (1+alpha)/(1-alpha), of the positive or the negative store; |v| below
 * IOCD_SKETCH_MIN_INDEXABLE counts as zero. A quantile is answered with
 * the representative 2*gamma^i/(gamma+1) of the bin holding the value at
 * rank floor(q*(count-1)), so its relative error is at most alpha (see
 * docs/sketch.md for exactly when that holds). Merging is exact: the merge
 * of two sketches equals, bin for bin, the sketch of the union of their
 * samples, whatever the order of adds and merges.
 *
 * Return codes: 0 success, IOCD_SKETCH_EINVAL (-1) invalid argument,
 * malformed encoding, mismatched accuracy or a count that would overflow
 * (the sketch is then unchanged), IOCD_SKETCH_ENOMEM (-2) out of memory
 * (the sketch is then unchanged). */
#ifndef IOCD_SKETCH_H
#define IOCD_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#define IOCD_SKETCH_EINVAL (-1)
#define IOCD_SKETCH_ENOMEM (-2)

/* Relative accuracy is alpha = code / 1000 with code in 1..255; the
 * default code 10 is alpha = 0.01 (1 %). */
#define IOCD_SKETCH_ALPHA_CODE_DEFAULT 10
/* At most this many consecutive bins per store; beyond, the lowest-magnitude
 * bins are collapsed into the lowest kept one (docs/sketch.md). */
#define IOCD_SKETCH_MAX_BINS 2048
/* Values with |v| below this count as zero. */
#define IOCD_SKETCH_MIN_INDEXABLE 1e-9
/* Version byte of the encoding written by iocd_sketch_encode. */
#define IOCD_SKETCH_FORMAT_VERSION 1

/* One sign's bins: counts[k] is the count of bin index base + k. Entries
 * outside [lo, hi] are zero; lo and hi are bins with a nonzero count and
 * hi - lo < IOCD_SKETCH_MAX_BINS. Empty when n == 0 (then counts may still
 * be allocated). */
struct iocd_sketch_store {
    uint64_t *counts;
    uint64_t n; /* sum of counts */
    int32_t base;
    int32_t lo, hi;
    uint32_t cap; /* entries allocated in counts */
};

struct iocd_sketch {
    double gamma;      /* (1 + alpha) / (1 - alpha) */
    double log_gamma;  /* log(gamma) */
    int32_t min_index; /* index of IOCD_SKETCH_MIN_INDEXABLE */
    int32_t max_index; /* index of DBL_MAX */
    uint8_t alpha_code;
    uint64_t zero_count;
    struct iocd_sketch_store pos; /* v >= MIN_INDEXABLE, by index of v */
    struct iocd_sketch_store neg; /* v <= -MIN_INDEXABLE, by index of -v */
};

/* An empty sketch of accuracy alpha = 0.01. Allocates nothing. */
void iocd_sketch_init(struct iocd_sketch *s);
/* An empty sketch of accuracy alpha = alpha_code / 1000; EINVAL unless
 * alpha_code is in 1..255 (s is then initialised with the default). */
int iocd_sketch_init_alpha(struct iocd_sketch *s, unsigned alpha_code);
/* Releases the bins; s is left an empty sketch of the same accuracy, ready
 * for reuse. Safe to call again. */
void iocd_sketch_free(struct iocd_sketch *s);

/* Counts v once / n times. EINVAL if v is NaN or infinite or the total
 * count would exceed UINT64_MAX; n == 0 is a no-op. */
int iocd_sketch_add(struct iocd_sketch *s, double v);
int iocd_sketch_add_n(struct iocd_sketch *s, double v, uint64_t n);

/* Adds src's counts into dst (dst == src doubles every count). EINVAL if
 * the accuracies differ or the total would overflow. */
int iocd_sketch_merge(struct iocd_sketch *dst, const struct iocd_sketch *src);
/* dst (uninitialised) becomes an independent copy of src. */
int iocd_sketch_copy(struct iocd_sketch *dst, const struct iocd_sketch *src);

/* Samples counted. */
uint64_t iocd_sketch_count(const struct iocd_sketch *s);
/* Relative accuracy alpha. */
double iocd_sketch_alpha(const struct iocd_sketch *s);
/* Bytes of memory held: the struct plus its bin arrays. */
size_t iocd_sketch_bytes(const struct iocd_sketch *s);

/* The q-quantile, 0 <= q <= 1: the representative value of the bin holding
 * the sample at 0-based rank floor(q * (count - 1)) in ascending order (0
 * for the zero bin). EINVAL if q is not in [0, 1] or the sketch is empty. */
int iocd_sketch_quantile(const struct iocd_sketch *s, double q, double *out);
/* Representative value 2 * gamma^i / (gamma + 1) of positive bin i, capped
 * at DBL_MAX. */
double iocd_sketch_bin_value(const struct iocd_sketch *s, int32_t i);
/* Bin index of a finite v with |v| >= MIN_INDEXABLE (for other v: the
 * lowest or highest valid index). */
int32_t iocd_sketch_bin_index(const struct iocd_sketch *s, double v);

/* Encodes s into a new malloc'd buffer (*buf, *len; the caller frees it).
 * The encoding is canonical: equal sketches give equal bytes. */
int iocd_sketch_encode(const struct iocd_sketch *s, uint8_t **buf, size_t *len);
/* Decodes buf into *out, which is treated as uninitialised. Accepts only
 * the exact bytes iocd_sketch_encode would write for some sketch; anything
 * else is EINVAL. Allocates at most 2 * IOCD_SKETCH_MAX_BINS counts. On
 * failure *out is an empty default sketch holding no memory. */
int iocd_sketch_decode(const uint8_t *buf, size_t len, struct iocd_sketch *out);

struct sqlite3;
/* Registers, on db, the deterministic SQL functions
 *   iocd_sketch_merge(a BLOB, b BLOB) -> BLOB   (NULL + x = x, NULL + NULL = NULL)
 *   iocd_sketch_union(x BLOB) -> BLOB           (aggregate; NULLs skipped; NULL if none)
 *   iocd_sketch_quantile(x BLOB, q REAL) -> REAL (NULL if x is NULL or empty, or q
 *                                                 is NULL or not in [0, 1])
 * A malformed sketch is the SQL error "iocd_sketch: malformed sketch".
 * Returns an SQLite result code (SQLITE_OK on success). */
int iocd_sketch_sqlite_register(struct sqlite3 *db);

#endif
