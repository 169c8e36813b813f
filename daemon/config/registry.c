/* daemon/config/registry.c — the device registry's parser and lookup (see
 * registry.h, docs/registry.md).
 *
 * Owns: the rows of one registry file, each one malloc'd block (the row
 * and its strings), an array of them in file order and an open-addressing
 * hash table of their positions (linear probing, at most half full). A
 * parse builds a new registry or nothing: on the first bad row it frees
 * what it built and says file, line (CSV) or index (JSON) and why. */
#include "daemon/config/registry.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "daemon/base/topic.h"

struct iocd_registry {
    struct iocd_registry_entry **rows; /* file order */
    size_t n, cap;
    uint32_t *slots; /* position + 1; 0 empty; power of two */
    size_t n_slots;
};

/* The columns, in the order of the entry's strings. */
enum col { C_SOURCE, C_DEVICE, C_NAME, C_LAT, C_LON, C_AREA, C_SUBSYSTEM, C_TAGS, C__COUNT };
static const char *const col_names[C__COUNT] = {"source", "device", "name",      "lat",
                                                "lon",    "area",   "subsystem", "tags"};

/* A row as read, before it is checked: each field's bytes (not
 * terminated) or absent. */
struct field {
    const char *p;
    size_t n;
    bool set;
};

static uint64_t key_hash(const char *source, const char *device)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)source; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    h = (h ^ 0xffu) * 0x100000001b3u;
    for (const unsigned char *p = (const unsigned char *)device; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

bool iocd_registry_id_ok(const char *s, size_t n)
{
    /* A series level (IOCD_REGISTRY_ID_MAX is its 128 bytes), and no ';',
     * the CSV's tag separator. */
    return iocd_topic_level_ok(s, n) && !memchr(s, ';', n);
}

void iocd_registry_free(struct iocd_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->rows[i]);
    free(r->rows);
    free(r->slots);
    free(r);
}

size_t iocd_registry_count(const struct iocd_registry *r)
{
    return r ? r->n : 0;
}

const struct iocd_registry_entry *iocd_registry_at(const struct iocd_registry *r, size_t i)
{
    return r && i < r->n ? r->rows[i] : NULL;
}

static const struct iocd_registry_entry *find(const struct iocd_registry *r, const char *source,
                                              const char *device, uint64_t h)
{
    if (!r || !r->n_slots)
        return NULL;
    size_t mask = r->n_slots - 1;
    for (size_t j = h & mask; r->slots[j]; j = (j + 1) & mask) {
        const struct iocd_registry_entry *e = r->rows[r->slots[j] - 1];
        if (strcmp(e->source, source) == 0 && strcmp(e->device, device) == 0)
            return e;
    }
    return NULL;
}

const struct iocd_registry_entry *iocd_registry_find(const struct iocd_registry *r,
                                                     const char *source, const char *device)
{
    if (!r || !source || !device)
        return NULL;
    return find(r, source, device, key_hash(source, device));
}

bool iocd_registry_has_tag(const struct iocd_registry_entry *e, const char *tag)
{
    if (!e || !tag || !*tag)
        return false;
    size_t lt = strlen(tag);
    for (const char *p = e->tags; *p;) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == lt && memcmp(p, tag, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

void iocd_registry_keep_times(struct iocd_registry *next, const struct iocd_registry *prev)
{
    if (!next || !prev)
        return;
    for (size_t i = 0; i < next->n; i++) {
        struct iocd_registry_entry *e = next->rows[i];
        const struct iocd_registry_entry *o = iocd_registry_find(prev, e->source, e->device);
        if (o && o->has_position == e->has_position &&
            (!e->has_position || (o->lat == e->lat && o->lon == e->lon)))
            e->changed_ms = o->changed_ms;
    }
}

/* ------------------------------------------------------------------------
 * building rows */

struct build {
    struct iocd_registry *r;
    const char *file;
    bool json; /* where: "FILE:[INDEX]" rather than "FILE:LINE" */
    int64_t changed_ms;
    struct iocd_error *err;
};

static int fail(struct build *b, int where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct build *b, int where, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (b->json)
        return iocd_error_set(b->err, "%s:[%d]: %s", b->file, where, why);
    return iocd_error_at(b->err, b->file, where, "%s", why);
}

/* A coordinate: "" (none) or a finite decimal number within ±limit. */
static int coordinate(struct build *b, int where, const char *what, const struct field *f,
                      double limit, double *out, bool *given)
{
    *given = f->set && f->n > 0;
    if (!*given)
        return 0;
    char tmp[64];
    if (f->n >= sizeof(tmp))
        return fail(b, where, "%s is not a number", what);
    memcpy(tmp, f->p, f->n);
    tmp[f->n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    while (*end == ' ')
        end++;
    if (end == tmp || *end || errno == ERANGE || !isfinite(v))
        return fail(b, where, "%s '%s' is not a number", what, tmp);
    if (v < -limit || v > limit)
        return fail(b, where, "%s %s is out of range -%g..%g", what, tmp, limit, limit);
    *out = v;
    return 0;
}

static bool text_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return false;
    return true;
}

static int put_slot(struct iocd_registry *r, uint64_t h, uint32_t pos1)
{
    if ((r->n + 1) * 2 > r->n_slots) {
        size_t ns = r->n_slots ? r->n_slots * 2 : 64;
        uint32_t *s = calloc(ns, sizeof(*s));
        if (!s)
            return -1;
        for (size_t i = 0; i < r->n; i++) {
            const struct iocd_registry_entry *e = r->rows[i];
            size_t j = key_hash(e->source, e->device) & (ns - 1);
            while (s[j])
                j = (j + 1) & (ns - 1);
            s[j] = (uint32_t)(i + 1);
        }
        free(r->slots);
        r->slots = s;
        r->n_slots = ns;
    }
    size_t j = h & (r->n_slots - 1);
    while (r->slots[j])
        j = (j + 1) & (r->n_slots - 1);
    r->slots[j] = pos1;
    return 0;
}

/* Check the fields of one row and add it. */
static int add_row(struct build *b, int where, struct field f[C__COUNT])
{
    struct iocd_registry *r = b->r;
    static const char *const id_what[] = {[C_SOURCE] = "source", [C_DEVICE] = "device",
                                          [C_AREA] = "area", [C_SUBSYSTEM] = "subsystem"};
    for (int c = C_SOURCE; c <= C_DEVICE; c++)
        if (!f[c].set || f[c].n == 0)
            return fail(b, where, "%s is missing", col_names[c]);
    static const int ids[] = {C_SOURCE, C_DEVICE, C_AREA, C_SUBSYSTEM};
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        int c = ids[k];
        if (f[c].set && f[c].n && !iocd_registry_id_ok(f[c].p, f[c].n))
            return fail(b, where,
                        "%s '%.*s' is not a valid id (1..%d bytes, no / + # ; or control "
                        "characters)",
                        id_what[c], (int)(f[c].n > 64 ? 64 : f[c].n), f[c].p,
                        IOCD_REGISTRY_ID_MAX);
    }
    if (f[C_NAME].set && (f[C_NAME].n > IOCD_REGISTRY_NAME_MAX || !text_ok(f[C_NAME].p, f[C_NAME].n)))
        return fail(b, where, "name is longer than %d bytes or holds control characters",
                    IOCD_REGISTRY_NAME_MAX);
    double lat = 0, lon = 0;
    bool has_lat, has_lon;
    if (coordinate(b, where, "lat", &f[C_LAT], 90, &lat, &has_lat) ||
        coordinate(b, where, "lon", &f[C_LON], 180, &lon, &has_lon))
        return -1;
    if (has_lat != has_lon)
        return fail(b, where, "%s without %s", has_lat ? "lat" : "lon", has_lat ? "lon" : "lat");
    /* tags: ';'-separated ids; blanks around each and empty ones dropped */
    char tags[IOCD_REGISTRY_TAGS_MAX * (IOCD_REGISTRY_ID_MAX + 1)];
    size_t tl = 0;
    int n_tags = 0;
    if (f[C_TAGS].set) {
        const char *p = f[C_TAGS].p, *end = p + f[C_TAGS].n;
        while (p < end) {
            const char *q = memchr(p, ';', (size_t)(end - p));
            if (!q)
                q = end;
            const char *a = p, *z = q;
            while (a < z && *a == ' ')
                a++;
            while (z > a && z[-1] == ' ')
                z--;
            if (z > a) {
                if (!iocd_registry_id_ok(a, (size_t)(z - a)))
                    return fail(b, where, "tag '%.*s' is not a valid id", (int)((z - a) > 64 ? 64 : (z - a)), a);
                if (n_tags == IOCD_REGISTRY_TAGS_MAX)
                    return fail(b, where, "more than %d tags", IOCD_REGISTRY_TAGS_MAX);
                if (tl)
                    tags[tl++] = ';';
                memcpy(tags + tl, a, (size_t)(z - a));
                tl += (size_t)(z - a);
                n_tags++;
            }
            p = q + 1;
        }
    }
    tags[tl] = '\0';
    if (r->n >= IOCD_REGISTRY_ROWS_MAX)
        return fail(b, where, "more than %d rows", IOCD_REGISTRY_ROWS_MAX);
    /* the row, with its strings */
    const struct field *strs[5] = {&f[C_SOURCE], &f[C_DEVICE], &f[C_NAME], &f[C_AREA],
                                   &f[C_SUBSYSTEM]};
    size_t size = sizeof(struct iocd_registry_entry) + tl + 1;
    for (int k = 0; k < 5; k++)
        size += (strs[k]->set ? strs[k]->n : 0) + 1;
    struct iocd_registry_entry *e = malloc(size);
    if (!e)
        return fail(b, where, "out of memory");
    memset(e, 0, sizeof(*e));
    char *w = e->text;
    const char **dst[5] = {&e->source, &e->device, &e->name, &e->area, &e->subsystem};
    for (int k = 0; k < 5; k++) {
        size_t n = strs[k]->set ? strs[k]->n : 0;
        if (n)
            memcpy(w, strs[k]->p, n);
        w[n] = '\0';
        *dst[k] = w;
        w += n + 1;
    }
    memcpy(w, tags, tl + 1);
    e->tags = w;
    e->n_tags = (uint8_t)n_tags;
    e->lat = lat;
    e->lon = lon;
    e->has_position = has_lat;
    e->changed_ms = b->changed_ms;
    e->line = where;
    e->fixed = iocd_registry_has_tag(e, "fixed");
    uint64_t h = key_hash(e->source, e->device);
    const struct iocd_registry_entry *dup = find(r, e->source, e->device, h);
    if (dup) {
        int was = dup->line;
        free(e);
        return b->json ? fail(b, where, "duplicate of [%d] (the same source and device)", was)
                       : fail(b, where, "duplicate of line %d (the same source and device)", was);
    }
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        struct iocd_registry_entry **nr = realloc(r->rows, ncap * sizeof(*nr));
        if (!nr) {
            free(e);
            return fail(b, where, "out of memory");
        }
        r->rows = nr;
        r->cap = ncap;
    }
    if (put_slot(r, h, (uint32_t)(r->n + 1))) {
        free(e);
        return fail(b, where, "out of memory");
    }
    r->rows[r->n++] = e;
    return 0;
}

/* ------------------------------------------------------------------------
 * CSV */

/* A line break at *p (CRLF, LF or a lone CR) skipped: 1, or 0 when none. */
static int skip_break(const char **p, const char *end)
{
    const char *s = *p;
    if (s < end && *s == '\r')
        s++;
    if (s < end && *s == '\n')
        s++;
    int found = s != *p;
    *p = s;
    return found;
}

/* One record starting at *p: its fields (at most max; *nf the count, more
 * than max counted but not kept), unquoted into `scratch` when quoted.
 * *lines receives the newlines it spans. 0, or -1 with *why. */
static int csv_record(const char **p, const char *end, struct field *f, int max, int *nf,
                      char *scratch, size_t scratch_cap, int *lines, const char **why)
{
    const char *s = *p;
    size_t used = 0;
    int n = 0;
    *lines = 0;
    for (;;) {
        struct field cur = {s, 0, true};
        if (s < end && *s == '"') {
            s++;
            cur.p = scratch + used;
            for (;;) {
                if (s >= end) {
                    *why = "a quoted field is not closed";
                    return -1;
                }
                if (*s == '"') {
                    if (s + 1 < end && s[1] == '"') {
                        s++;
                    } else {
                        s++;
                        break;
                    }
                }
                if (*s == '\n')
                    ++*lines;
                if (used >= scratch_cap) {
                    *why = "a field is too long";
                    return -1;
                }
                scratch[used++] = *s++;
                cur.n++;
            }
            if (s < end && *s != ',' && *s != '\n' && *s != '\r') {
                *why = "text after a quoted field's closing quote";
                return -1;
            }
        } else {
            while (s < end && *s != ',' && *s != '\n' && *s != '\r') {
                if (*s == '"') {
                    *why = "a quote inside an unquoted field";
                    return -1;
                }
                s++;
            }
            cur.n = (size_t)(s - cur.p);
        }
        if (n < max)
            f[n] = cur;
        n++;
        if (s < end && *s == ',') {
            s++;
            continue;
        }
        break;
    }
    *lines += skip_break(&s, end);
    *p = s;
    *nf = n;
    return 0;
}

static int parse_csv(struct build *b, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    int line = 1, map[C__COUNT + 1], n_cols = 0;
    bool header = false;
    char *scratch = malloc(len + 1);
    if (!scratch)
        return iocd_error_set(b->err, "%s: out of memory", b->file);
    int rc = 0;
    while (p < end && rc == 0) {
        /* blank lines and '#' comments (no id may start with '#') */
        if (*p == '\n' || *p == '\r' || *p == '#') {
            while (p < end && *p != '\n' && *p != '\r')
                p++;
            line += skip_break(&p, end);
            continue;
        }
        struct field f[C__COUNT + 1];
        int nf, lines;
        const char *why = NULL;
        int at = line;
        if (csv_record(&p, end, f, C__COUNT + 1, &nf, scratch, len, &lines, &why)) {
            rc = fail(b, at, "%s", why);
            break;
        }
        line += lines;
        if (!header) {
            if (nf > C__COUNT) {
                rc = fail(b, at, "the header has %d columns; the known ones are source, device, "
                                 "name, lat, lon, area, subsystem, tags", nf);
                break;
            }
            bool seen[C__COUNT] = {false};
            for (int i = 0; i < nf && rc == 0; i++) {
                int c = 0;
                while (c < C__COUNT && (strlen(col_names[c]) != f[i].n ||
                                        memcmp(col_names[c], f[i].p, f[i].n) != 0))
                    c++;
                if (c == C__COUNT)
                    rc = fail(b, at, "unknown column '%.*s' (source, device, name, lat, lon, "
                                     "area, subsystem, tags)", (int)(f[i].n > 64 ? 64 : f[i].n), f[i].p);
                else if (seen[c])
                    rc = fail(b, at, "column '%s' twice", col_names[c]);
                else
                    seen[c] = true;
                map[i] = c;
            }
            if (rc == 0 && (!seen[C_SOURCE] || !seen[C_DEVICE]))
                rc = fail(b, at, "the header must name the columns source and device (the "
                                 "first row is the header)");
            if (rc == 0 && seen[C_LAT] != seen[C_LON])
                rc = fail(b, at, "column %s without %s", seen[C_LAT] ? "lat" : "lon",
                          seen[C_LAT] ? "lon" : "lat");
            n_cols = nf;
            header = true;
            continue;
        }
        if (nf != n_cols) {
            rc = fail(b, at, "%d fields, the header has %d", nf, n_cols);
            break;
        }
        struct field row[C__COUNT];
        memset(row, 0, sizeof(row));
        for (int i = 0; i < nf; i++)
            row[map[i]] = f[i];
        rc = add_row(b, at, row);
    }
    if (rc == 0 && !header)
        rc = iocd_error_set(b->err, "%s: empty: no header row (source,device,name,lat,lon,area,"
                                    "subsystem,tags)", b->file);
    free(scratch);
    return rc;
}

/* ------------------------------------------------------------------------
 * JSON */

static int parse_json(struct build *b, const char *text, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1;
        for (const char *q = text; at && q < at && q < text + len; q++)
            line += *q == '\n';
        return iocd_error_at(b->err, b->file, line, "not valid JSON");
    }
    int rc = 0;
    if (!cJSON_IsArray(root))
        rc = iocd_error_set(b->err, "%s: a JSON registry is an array of objects", b->file);
    int idx = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, root)
    {
        if (rc)
            break;
        if (!cJSON_IsObject(o)) {
            rc = fail(b, idx, "not an object");
            break;
        }
        struct field f[C__COUNT];
        memset(f, 0, sizeof(f));
        char nums[2][64];
        /* tags given as an array, joined (lives as long as f[]) */
        char joined[IOCD_REGISTRY_TAGS_MAX * (IOCD_REGISTRY_ID_MAX + 1)];
        const cJSON *m;
        cJSON_ArrayForEach(m, o)
        {
            int c = 0;
            while (c < C__COUNT && strcmp(col_names[c], m->string) != 0)
                c++;
            if (c == C__COUNT) {
                rc = fail(b, idx, "unknown member '%.64s' (source, device, name, lat, lon, area, "
                                  "subsystem, tags)", m->string);
                break;
            }
            if (cJSON_IsNull(m))
                continue;
            if (c == C_LAT || c == C_LON) {
                if (!cJSON_IsNumber(m)) {
                    rc = fail(b, idx, "%s is not a number", col_names[c]);
                    break;
                }
                /* %.17g: the parse back gives the same double */
                int k = c == C_LAT ? 0 : 1;
                snprintf(nums[k], sizeof(nums[k]), "%.17g", m->valuedouble);
                f[c] = (struct field){nums[k], strlen(nums[k]), true};
            } else if (c == C_TAGS && cJSON_IsArray(m)) {
                /* joined into one ';' list: the CSV path checks it */
                size_t jl = 0;
                const cJSON *t;
                int nt = 0;
                cJSON_ArrayForEach(t, m)
                {
                    size_t tl = cJSON_IsString(t) ? strlen(t->valuestring) : 0;
                    if (!cJSON_IsString(t) || !iocd_registry_id_ok(t->valuestring, tl) ||
                        strchr(t->valuestring, ';')) {
                        rc = fail(b, idx, "tags[%d] is not a valid id", nt);
                        break;
                    }
                    if (++nt > IOCD_REGISTRY_TAGS_MAX) {
                        rc = fail(b, idx, "more than %d tags", IOCD_REGISTRY_TAGS_MAX);
                        break;
                    }
                    if (jl)
                        joined[jl++] = ';';
                    memcpy(joined + jl, t->valuestring, tl);
                    jl += tl;
                }
                if (rc)
                    break;
                f[c] = (struct field){joined, jl, true};
            } else if (cJSON_IsString(m)) {
                f[c] = (struct field){m->valuestring, strlen(m->valuestring), true};
            } else {
                rc = fail(b, idx, "%s is not a string", col_names[c]);
                break;
            }
        }
        if (rc == 0)
            rc = add_row(b, idx, f);
        idx++;
    }
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------------------ */

int iocd_registry_parse(const char *text, size_t len, const char *file, int64_t changed_ms,
                        struct iocd_registry **out, struct iocd_error *err)
{
    return iocd_registry_parse_as(text, len, file, IOCD_REGISTRY_AUTO, changed_ms, out, err);
}

int iocd_registry_parse_as(const char *text, size_t len, const char *file,
                           enum iocd_registry_format format, int64_t changed_ms,
                           struct iocd_registry **out, struct iocd_error *err)
{
    *out = NULL;
    if (len > IOCD_REGISTRY_FILE_MAX)
        return iocd_error_set(err, "%s: larger than %d MiB", file, IOCD_REGISTRY_FILE_MAX >> 20);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (memchr(text, '\0', len))
        return iocd_error_set(err, "%s: holds a NUL byte: not a text file", file);
    struct build b = {.file = file, .changed_ms = changed_ms, .err = err};
    if (!(b.r = calloc(1, sizeof(*b.r))))
        return iocd_error_set(err, "%s: out of memory", file);
    int rc_early = 0;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    b.json = i < len && text[i] == '[';
    if (format == IOCD_REGISTRY_JSON && !b.json)
        rc_early = iocd_error_set(err, "%s: a .json registry is an array of objects: it starts "
                                       "with '['", file);
    else if (format == IOCD_REGISTRY_CSV && b.json)
        rc_early = iocd_error_set(err, "%s: a .csv registry starts with its header row "
                                       "(source,device,...), not '['", file);
    if (rc_early) {
        iocd_registry_free(b.r);
        return -1;
    }
    int rc = b.json ? parse_json(&b, text, len) : parse_csv(&b, text, len);
    if (rc) {
        iocd_registry_free(b.r);
        return -1;
    }
    *out = b.r;
    return 0;
}

int iocd_registry_load(const char *path, struct iocd_registry **out, struct iocd_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return iocd_error_set(err, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return iocd_error_set(err, "%s: not a regular file", path);
    }
    if (sb.st_size > IOCD_REGISTRY_FILE_MAX) {
        fclose(fp);
        return iocd_error_set(err, "%s: larger than %d MiB", path, IOCD_REGISTRY_FILE_MAX >> 20);
    }
    size_t size = (size_t)sb.st_size;
    char *text = malloc(size + 1);
    if (!text) {
        fclose(fp);
        return iocd_error_set(err, "%s: out of memory", path);
    }
    size_t got = fread(text, 1, size, fp);
    int rerr = ferror(fp);
    fclose(fp);
    if (rerr || got != size) {
        free(text);
        return iocd_error_set(err, "%s: read error", path);
    }
    text[size] = '\0';
    int64_t mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
    size_t pl = strlen(path);
    enum iocd_registry_format format = IOCD_REGISTRY_AUTO;
    if (pl > 5 && strcasecmp(path + pl - 5, ".json") == 0)
        format = IOCD_REGISTRY_JSON;
    else if (pl > 4 && strcasecmp(path + pl - 4, ".csv") == 0)
        format = IOCD_REGISTRY_CSV;
    int rc = iocd_registry_parse_as(text, size, path, format, mtime_ms, out, err);
    free(text);
    return rc;
}
