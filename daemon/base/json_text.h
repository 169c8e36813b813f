/* daemon/base/json_text.h — the JSON text of a cJSON tree, numbers exact.
 *
 * Owns: nothing of the tree (read only); iocd_json_print's string belongs to
 * the caller (free()).
 *
 * The text is cJSON_PrintUnformatted's, byte for byte (same escapes, same
 * order, NaN and infinities as null), except numbers: cJSON prints them with
 * %.15g, else %.17g, so a value needing 16 digits came out with 17 and
 * -0 as 0; here every number is iocd_number_format's shortest text that
 * reads back as the same double (number.h). */
#ifndef IOCD_JSON_TEXT_H
#define IOCD_JSON_TEXT_H

#include <cjson/cJSON.h>

#include "daemon/base/buf.h"

/* Appends item's text to b. A tree cJSON could not print (an invalid item,
 * a raw item without text) sets b->oom, as cJSON would have returned NULL. */
void iocd_json_append(struct iocd_buf *b, const cJSON *item);

/* The escaped text of string s (no quotes around it) appended to b: what
 * goes between the quotes of a JSON string, escaped as above. NULL: nothing. */
void iocd_json_escape(struct iocd_buf *b, const char *s);
/* item's text as a malloc'd string the caller frees, NULL when out of
 * memory or when cJSON_PrintUnformatted would have returned NULL. */
char *iocd_json_print(const cJSON *item);

#endif
