/* tests/fuzz/fuzz_json_scan.c — libFuzzer target for the JSON scanner
 * (daemon/base/json_scan.c), checked against cJSON on every input.
 *
 * Owns: the cJSON tree of each input, freed before returning. The scanner
 * looks for a fixed set of names, including an empty one and one with a
 * space. Whenever it accepts an input, cJSON must parse the same bytes to
 * an object, and for every wanted name the scanner's kind must be the type
 * of cJSON's first member of that name (absent when cJSON has none); a
 * string must be byte for byte cJSON's string and a number the same
 * double, as strtod reads the scanner's text. An input the scanner
 * declines is the full parser's to judge: no check. Violations abort. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/json_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_json_scan: %s:%d: check failed: %s\n", __FILE__, __LINE__, #c);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char *const names[] = {"a", "pm25", "ts", "device", "x y", "", "b", "nested"};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

static int cjson_kind(const cJSON *n)
{
    if (!n)
        return IOCD_JSON_ABSENT;
    switch (n->type & 0xff) {
    case cJSON_NULL: return IOCD_JSON_NULL;
    case cJSON_False: return IOCD_JSON_FALSE;
    case cJSON_True: return IOCD_JSON_TRUE;
    case cJSON_Number: return IOCD_JSON_NUMBER;
    case cJSON_String: return IOCD_JSON_STRING;
    case cJSON_Object: return IOCD_JSON_OBJECT;
    case cJSON_Array: return IOCD_JSON_ARRAY;
    default: return -1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct iocd_json_member m[N_NAMES];
    for (size_t i = 0; i < N_NAMES; i++) {
        m[i].name = names[i];
        m[i].name_len = strlen(names[i]);
    }
    if (!iocd_json_scan_object((const char *)data, size, m, N_NAMES))
        return 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)data, size, &end, false);
    CHECK(root != NULL);
    CHECK(cJSON_IsObject(root));
    for (size_t i = 0; i < N_NAMES; i++) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, names[i]);
        CHECK(cjson_kind(n) == (int)m[i].kind);
        if (m[i].kind == IOCD_JSON_STRING) {
            CHECK(strlen(n->valuestring) == m[i].text_len);
            CHECK(memcmp(n->valuestring, m[i].text, m[i].text_len) == 0);
        } else if (m[i].kind == IOCD_JSON_NUMBER) {
            char num[64];
            CHECK(m[i].text_len < sizeof(num));
            memcpy(num, m[i].text, m[i].text_len);
            num[m[i].text_len] = '\0';
            double v = strtod(num, NULL);
            CHECK(memcmp(&v, &n->valuedouble, sizeof(v)) == 0 || (isnan(v) && isnan(n->valuedouble)));
        }
    }
    cJSON_Delete(root);
    return 0;
}
