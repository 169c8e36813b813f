/* tests/fuzz/fuzz_sketch.c — libFuzzer target for the quantile sketch
 * decoder (daemon/sketch.c), which reads BLOBs from disk.
 *
 * Owns: the per-input sketches and buffers, and one in-memory SQLite
 * database with the sketch functions, opened on first use and kept for the
 * process. For every input: decode either fails cleanly (leaving an empty
 * sketch holding no memory) or succeeds, and then re-encoding gives back
 * exactly the input (the format is canonical), decoding that again gives
 * the same sketch, quantiles are finite and nondecreasing in q, merging the
 * sketch with itself doubles the count and keeps the extreme bins, and the
 * SQL functions agree (error exactly when decode fails). Violations abort. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/aggregate/sketch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_sketch: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static sqlite3 *db;
static sqlite3_stmt *q_stmt, *m_stmt;

static void sql_open(void)
{
    if (db)
        return;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK(iocd_sketch_sqlite_register(db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT iocd_sketch_quantile(?1, 0.5)", -1, &q_stmt, NULL) ==
          SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT iocd_sketch_merge(?1, NULL)", -1, &m_stmt, NULL) ==
          SQLITE_OK);
}

/* Runs stmt on the input as a BLOB: SQLITE_ROW or SQLITE_ERROR. */
static int sql_run(sqlite3_stmt *stmt, const uint8_t *data, size_t size)
{
    static const uint8_t none[1];
    CHECK(sqlite3_bind_blob(stmt, 1, size ? (const void *)data : none, (int)size,
                            SQLITE_STATIC) == SQLITE_OK);
    int rc = sqlite3_step(stmt);
    CHECK(rc == SQLITE_ROW || rc == SQLITE_ERROR);
    return rc;
}

static void sql_done(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

static void check_quantiles(const struct iocd_sketch *s)
{
    double prev = -INFINITY, v;
    int empty = iocd_sketch_count(s) == 0;
    for (int k = 0; k <= 32; k++) {
        int rc = iocd_sketch_quantile(s, k / 32.0, &v);
        if (empty) {
            CHECK(rc == IOCD_SKETCH_EINVAL);
            continue;
        }
        CHECK(rc == 0);
        CHECK(isfinite(v));
        CHECK(v >= prev);
        prev = v;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    sql_open();
    struct iocd_sketch s, t, u;
    int rc = iocd_sketch_decode(data, size, &s);
    CHECK(rc == 0 || rc == IOCD_SKETCH_EINVAL);

    int qrc = sql_run(q_stmt, data, size);
    CHECK((qrc == SQLITE_ROW) == (rc == 0));
    if (qrc == SQLITE_ERROR)
        CHECK(strcmp(sqlite3_errmsg(db), "iocd_sketch: malformed sketch") == 0);

    if (rc != 0) {
        sql_done(q_stmt);
        CHECK(iocd_sketch_count(&s) == 0 && !s.pos.counts && !s.neg.counts);
        return 0;
    }
    double med;
    if (iocd_sketch_count(&s) == 0) {
        CHECK(sqlite3_column_type(q_stmt, 0) == SQLITE_NULL);
    } else {
        CHECK(iocd_sketch_quantile(&s, 0.5, &med) == 0);
        CHECK(sqlite3_column_double(q_stmt, 0) == med);
    }
    sql_done(q_stmt);

    CHECK(sql_run(m_stmt, data, size) == SQLITE_ROW);
    CHECK((size_t)sqlite3_column_bytes(m_stmt, 0) == size);
    CHECK(memcmp(sqlite3_column_blob(m_stmt, 0), data, size) == 0);
    sql_done(m_stmt);

    /* Canonical: re-encoding gives the input back, and decodes again. */
    uint8_t *buf, *buf2;
    size_t len, len2;
    CHECK(iocd_sketch_encode(&s, &buf, &len) == 0);
    CHECK(len == size && memcmp(buf, data, size) == 0);
    CHECK(iocd_sketch_decode(buf, len, &t) == 0);
    CHECK(iocd_sketch_count(&t) == iocd_sketch_count(&s));
    CHECK(iocd_sketch_encode(&t, &buf2, &len2) == 0);
    CHECK(len2 == len && memcmp(buf2, buf, len) == 0);
    free(buf2);
    check_quantiles(&s);

    /* Merge with an equal sketch: counts double, the extremes stay. */
    uint64_t n = iocd_sketch_count(&s);
    CHECK(iocd_sketch_copy(&u, &s) == 0);
    rc = iocd_sketch_merge(&u, &t);
    if (n > UINT64_MAX - n) {
        CHECK(rc == IOCD_SKETCH_EINVAL);
        CHECK(iocd_sketch_count(&u) == n);
    } else {
        CHECK(rc == 0);
        CHECK(iocd_sketch_count(&u) == 2 * n);
        if (n > 0) {
            double a, b;
            CHECK(iocd_sketch_quantile(&s, 0.0, &a) == 0 && iocd_sketch_quantile(&u, 0.0, &b) == 0);
            CHECK(a == b);
            CHECK(iocd_sketch_quantile(&s, 1.0, &a) == 0 && iocd_sketch_quantile(&u, 1.0, &b) == 0);
            CHECK(a == b);
        }
        check_quantiles(&u);
    }
    /* Adding to a decoded sketch keeps it consistent and encodable. */
    double extra = size % 3 == 0 ? (double)size : size % 3 == 1 ? -1e300 : 1e-12;
    rc = iocd_sketch_add(&u, extra);
    CHECK(rc == 0 || iocd_sketch_count(&u) == UINT64_MAX);
    check_quantiles(&u);
    CHECK(iocd_sketch_encode(&u, &buf2, &len2) == 0);
    iocd_sketch_free(&t);
    CHECK(iocd_sketch_decode(buf2, len2, &t) == 0);
    CHECK(iocd_sketch_count(&t) == iocd_sketch_count(&u));
    free(buf2);

    free(buf);
    iocd_sketch_free(&s);
    iocd_sketch_free(&t);
    iocd_sketch_free(&u);
    return 0;
}
