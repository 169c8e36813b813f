/* daemon/base/ini.c — INI parser with line numbers (see ini.h). */
#include "daemon/base/ini.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INI_MAX_FILE (4u << 20)

static char *ini_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

static int add_section(struct iocd_ini *ini, const char *b, const char *e, int line,
                       struct iocd_error *err)
{
    trim(&b, &e);
    const char *sp = b;
    while (sp < e && !isspace((unsigned char)*sp))
        sp++;
    if (sp == b)
        return iocd_error_at(err, ini->path, line, "empty section name");
    const char *ab = sp, *ae = e;
    trim(&ab, &ae);
    for (const char *p = b; p < sp; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
            return iocd_error_at(err, ini->path, line, "invalid section name '%.*s'", (int)(sp - b), b);
    for (const char *p = ab; p < ae; p++)
        if (isspace((unsigned char)*p) || *p == '/' || *p == '"')
            return iocd_error_at(err, ini->path, line,
                                 "section argument '%.*s' must be one word without '/'",
                                 (int)(ae - ab), ab);
    struct iocd_ini_section *s = realloc(ini->sections, (ini->n_sections + 1) * sizeof(*s));
    if (!s)
        return iocd_error_at(err, ini->path, line, "out of memory");
    ini->sections = s;
    s = &ini->sections[ini->n_sections++];
    memset(s, 0, sizeof(*s));
    s->line = line;
    s->name = ini_strndup(b, (size_t)(sp - b));
    s->arg = ae > ab ? ini_strndup(ab, (size_t)(ae - ab)) : NULL;
    if (!s->name || (ae > ab && !s->arg))
        return iocd_error_at(err, ini->path, line, "out of memory");
    return 0;
}

static int add_entry(struct iocd_ini *ini, const char *b, const char *e, int line,
                     struct iocd_error *err)
{
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if (!eq)
        return iocd_error_at(err, ini->path, line, "expected 'key = value' or '[section]'");
    if (ini->n_sections == 0)
        return iocd_error_at(err, ini->path, line, "key outside of any [section]");
    const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
    trim(&kb, &ke);
    trim(&vb, &ve);
    if (kb == ke)
        return iocd_error_at(err, ini->path, line, "empty key");
    for (const char *p = kb; p < ke; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
            return iocd_error_at(err, ini->path, line, "invalid key '%.*s'", (int)(ke - kb), kb);
    if (ve - vb >= 2 && *vb == '"' && ve[-1] == '"') {
        vb++;
        ve--;
    }
    struct iocd_ini_section *s = &ini->sections[ini->n_sections - 1];
    struct iocd_ini_entry *en = realloc(s->entries, (s->n_entries + 1) * sizeof(*en));
    if (!en)
        return iocd_error_at(err, ini->path, line, "out of memory");
    s->entries = en;
    en = &s->entries[s->n_entries++];
    en->key = ini_strndup(kb, (size_t)(ke - kb));
    en->value = ini_strndup(vb, (size_t)(ve - vb));
    en->line = line;
    en->used = false;
    if (!en->key || !en->value)
        return iocd_error_at(err, ini->path, line, "out of memory");
    return 0;
}

int iocd_ini_parse(struct iocd_ini *ini, const char *path, const char *text, struct iocd_error *err)
{
    memset(ini, 0, sizeof(*ini));
    ini->path = strdup(path ? path : "(defaults)");
    if (!ini->path)
        return iocd_error_set(err, "out of memory");
    int line = 0;
    const char *p = text;
    while (*p) {
        line++;
        const char *e = strchr(p, '\n');
        const char *next = e ? e + 1 : p + strlen(p);
        if (!e)
            e = next;
        const char *b = p, *le = e;
        trim(&b, &le);
        for (const char *q = b; q < le; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                return iocd_error_at(err, ini->path, line, "control character in line");
        if (b == le || *b == '#' || *b == ';') {
            /* blank or comment */
        } else if (*b == '[') {
            if (le[-1] != ']')
                return iocd_error_at(err, ini->path, line, "section header without closing ']'");
            if (add_section(ini, b + 1, le - 1, line, err))
                return -1;
        } else if (add_entry(ini, b, le, line, err)) {
            return -1;
        }
        p = next;
    }
    return 0;
}

int iocd_ini_load(struct iocd_ini *ini, const char *path, struct iocd_error *err)
{
    memset(ini, 0, sizeof(*ini));
    FILE *f = fopen(path, "rb");
    if (!f)
        return iocd_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(INI_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return iocd_error_set(err, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, INI_MAX_FILE + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || n > INI_MAX_FILE) {
        free(buf);
        return iocd_error_set(err, "%s: %s", path, rerr ? "read error" : "file larger than 4 MiB");
    }
    if (memchr(buf, '\0', n)) {
        free(buf);
        return iocd_error_set(err, "%s: binary file (contains NUL bytes)", path);
    }
    buf[n] = '\0';
    int rc = iocd_ini_parse(ini, path, buf, err);
    free(buf);
    return rc;
}

void iocd_ini_free(struct iocd_ini *ini)
{
    for (size_t i = 0; i < ini->n_sections; i++) {
        struct iocd_ini_section *s = &ini->sections[i];
        for (size_t j = 0; j < s->n_entries; j++) {
            free(s->entries[j].key);
            free(s->entries[j].value);
        }
        free(s->entries);
        free(s->name);
        free(s->arg);
    }
    free(ini->sections);
    free(ini->path);
    memset(ini, 0, sizeof(*ini));
}

struct iocd_ini_entry *iocd_ini_get(const struct iocd_ini *ini, struct iocd_ini_section *s,
                                    const char *key, bool *dup, struct iocd_error *err)
{
    struct iocd_ini_entry *found = NULL;
    *dup = false;
    for (size_t i = 0; i < s->n_entries; i++) {
        struct iocd_ini_entry *e = &s->entries[i];
        if (strcmp(e->key, key) != 0)
            continue;
        e->used = true;
        if (found) {
            *dup = true;
            iocd_error_at(err, ini->path, e->line, "key '%s' given twice (first on line %d)", key,
                          found->line);
            return NULL;
        }
        found = e;
    }
    return found;
}

int iocd_ini_check_unused(const struct iocd_ini *ini, struct iocd_error *err)
{
    for (size_t i = 0; i < ini->n_sections; i++) {
        const struct iocd_ini_section *s = &ini->sections[i];
        for (size_t j = 0; j < s->n_entries; j++) {
            const struct iocd_ini_entry *e = &s->entries[j];
            if (!e->used)
                return iocd_error_at(err, ini->path, e->line, "unknown key '%s' in [%s%s%s]",
                                     e->key, s->name, s->arg ? " " : "", s->arg ? s->arg : "");
        }
    }
    return 0;
}
