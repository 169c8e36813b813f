/* daemon/base/jsonpath.h — compiled paths into a cJSON tree.
 *
 * Owns: the compiled form of a path expression. Supported syntax (a
 * JSONPath subset): `$` root, `.name`, `['name with . or spaces']`,
 * `[N]` array index (0-based, negative counts from the end). The leading
 * `$` and `$.` are optional: "a.b[0]" equals "$.a.b[0]". Lookups never
 * allocate. */
#ifndef IOCD_JSONPATH_H
#define IOCD_JSONPATH_H

#include <cjson/cJSON.h>

#include "daemon/base/error.h"

struct iocd_jsonpath;

/* Returns 0 and *out (owned by the caller, free with iocd_jsonpath_free),
 * or -1 with err saying what is wrong with `expr` (no file/line: the
 * caller adds those). */
int iocd_jsonpath_compile(const char *expr, struct iocd_jsonpath **out, struct iocd_error *err);
/* The node at the path, or NULL when any step is missing or of the wrong
 * kind (a name step on an array, an index on an object). A member whose
 * `string` is the very pointer iocd_jsonpath_top_name returned is taken
 * at once, without comparing names: the JSON adapter's scanned payloads
 * name their members so (their names are distinct; a tree cJSON parsed
 * never shares a pointer with a path). */
const cJSON *iocd_jsonpath_get(const struct iocd_jsonpath *p, const cJSON *root);
/* The name when the path is one name step at the root ("$.pm25",
 * "['a b']"), else NULL: what daemon/base/json_scan.c can look up. */
const char *iocd_jsonpath_top_name(const struct iocd_jsonpath *p);
/* The expression as written, for messages. */
const char *iocd_jsonpath_text(const struct iocd_jsonpath *p);
void iocd_jsonpath_free(struct iocd_jsonpath *p);

#endif
