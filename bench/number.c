/* bench/number.c — ns per number of iocd_number_format (daemon/base/number.c)
 * beside snprintf %.17g, today's former iocd_json_number (%.15g, strtod,
 * %.17g when needed) and the %.{1..17}g / strtod loop adapters used, on
 * three sets of doubles: sensor readings k/10 and k/100, random bit
 * patterns (17-digit values, the hard case) and whole numbers.
 *
 * Owns nothing beyond main() and its static arrays. Each method formats
 * every number of a set repeatedly for ~SECONDS (default 0.5) and reports
 * the mean; a checksum of the texts keeps the work from being optimised
 * away. Then the text of an API-like answer, 2000 windows of six numbers
 * (means are 17-digit values), by cJSON_PrintUnformatted and by
 * iocd_json_print (json_text.c), in microseconds per answer.
 * Usage: bench-number [SECONDS-PER-CASE] */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/base/json_text.h"
#include "daemon/base/number.h"

#define N_VALUES 4096

static double values[3][N_VALUES];
static const char *set_names[3] = {"sensor k/10^d", "random bits", "whole numbers"};

static size_t with_number(char *out, double v)
{
    return iocd_number_format(out, v);
}

static size_t with_printf17(char *out, double v)
{
    return (size_t)snprintf(out, IOCD_NUMBER_MAX, "%.17g", v);
}

/* iocd_json_number before number.c */
static size_t with_printf_roundtrip(char *out, double v)
{
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v && !(v == 0 && signbit(v)))
        return (size_t)snprintf(out, IOCD_NUMBER_MAX, "%lld", (long long)v);
    int n = snprintf(out, IOCD_NUMBER_MAX, "%.15g", v);
    if (strtod(out, NULL) != v)
        n = snprintf(out, IOCD_NUMBER_MAX, "%.17g", v);
    return (size_t)n;
}

static size_t with_printf_loop(char *out, double v)
{
    int n = 0;
    for (int p = 1; p <= 17; p++) {
        n = snprintf(out, IOCD_NUMBER_MAX, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return (size_t)n;
}

static const struct {
    const char *name;
    size_t (*fn)(char *, double);
} methods[] = {
    {"iocd_number_format", with_number},
    {"snprintf %.17g", with_printf17},
    {"%.15g+strtod(+%.17g)", with_printf_roundtrip},
    {"%.{1..17}g+strtod loop", with_printf_loop},
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    if (!(secs > 0))
        secs = 0.5;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < N_VALUES; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values[0][i] = (double)((int64_t)(x % 200000) - 50000) / ((x >> 32) & 1 ? 10.0 : 100.0);
        uint64_t b = x & 0x7FEFFFFFFFFFFFFFu;
        memcpy(&values[1][i], &b, sizeof(b));
        values[2][i] = (double)(x % 100000000);
    }
    printf("%-24s %-16s %10s\n", "method", "set", "ns/number");
    unsigned long sum = 0;
    char out[IOCD_NUMBER_MAX];
    for (int s = 0; s < 3; s++) {
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            unsigned long count = 0;
            double t0 = now_s(), t;
            do {
                for (int i = 0; i < N_VALUES; i++)
                    sum += methods[m].fn(out, values[s][i]) + (unsigned char)out[0];
                count += N_VALUES;
                t = now_s() - t0;
            } while (t < secs);
            printf("%-24s %-16s %10.1f\n", methods[m].name, set_names[s], t * 1e9 / (double)count);
        }
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *wins = cJSON_AddArrayToObject(root, "windows");
    for (int i = 0; i < 2000; i++) {
        cJSON *w = cJSON_CreateObject();
        double cnt = (double)(1 + i % 60), total = 0, lo = 1e9, hi = -1e9;
        for (int j = 0; j < (int)cnt; j++) {
            double r = values[0][(i * 61 + j) % N_VALUES];
            total += r;
            lo = r < lo ? r : lo;
            hi = r > hi ? r : hi;
        }
        cJSON_AddNumberToObject(w, "start_ms", 1765000000000.0 + 60000.0 * i);
        cJSON_AddNumberToObject(w, "count", cnt);
        cJSON_AddNumberToObject(w, "mean", total / cnt);
        cJSON_AddNumberToObject(w, "min", lo);
        cJSON_AddNumberToObject(w, "max", hi);
        cJSON_AddNumberToObject(w, "sum", total);
        cJSON_AddItemToArray(wins, w);
    }
    for (int m = 0; m < 2; m++) {
        unsigned long count = 0;
        double t0 = now_s(), t;
        do {
            char *text = m ? iocd_json_print(root) : cJSON_PrintUnformatted(root);
            sum += text ? strlen(text) : 0;
            free(text);
            count++;
            t = now_s() - t0;
        } while (t < secs);
        printf("%-24s %-16s %10.1f us/answer\n", m ? "iocd_json_print" : "cJSON_PrintUnformatted",
               "2000 windows", t * 1e6 / (double)count);
    }
    cJSON_Delete(root);
    printf("(checksum %lu)\n", sum);
    return 0;
}
