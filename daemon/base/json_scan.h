/* daemon/base/json_scan.h — one pass over a JSON object for a few top-level members.
 *
 * Owns: nothing (no allocation, no state between calls). The scanner
 * checks a whole payload against strict JSON (RFC 8259) and reports where
 * the wanted top-level members are, so that an adapter reading a handful of
 * fields does not build a tree of every value. It accepts only a subset it
 * can answer for exactly as cJSON would; for anything else it says so, and
 * the caller parses with cJSON, which then accepts or rejects as before:
 * the scanner changes speed, never a result (tests/fuzz/fuzz_json_scan.c
 * compares the two on every input). */
#ifndef IOCD_JSON_SCAN_H
#define IOCD_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

enum iocd_json_kind {
    IOCD_JSON_ABSENT = 0,
    IOCD_JSON_NULL,
    IOCD_JSON_FALSE,
    IOCD_JSON_TRUE,
    IOCD_JSON_NUMBER, /* text: the number as written (at most 63 bytes) */
    IOCD_JSON_STRING, /* text: the contents between the quotes, no escapes in them */
    IOCD_JSON_OBJECT,
    IOCD_JSON_ARRAY,
};

/* A wanted member: `name` (len bytes) in; kind and text out. */
struct iocd_json_member {
    const char *name;
    size_t name_len;
    enum iocd_json_kind kind;
    const char *text; /* into the payload (NUMBER, STRING) */
    size_t text_len;
};

/* Scan `len` bytes: one JSON object, then only JSON whitespace. Fills the
 * first occurrence of each wanted member (the others stay ABSENT). Returns
 * true when the payload is in the scanner's subset; false when the caller
 * must parse it another way: not strict JSON, not an object at the top,
 * nested deeper than 64, a number longer than 63 bytes, a key with an
 * escape, a wanted string with an escape, a control byte in a string, or
 * trailing NUL bytes. */
bool iocd_json_scan_object(const char *text, size_t len, struct iocd_json_member *m, size_t n);

#endif
