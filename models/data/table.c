/* table.c: CSV tables of named numeric columns (a header line, then one
 * number per cell), the user's own features for anomaly detection. Strict:
 * every bad cell is an error naming the file, the line and the column, so
 * that a model is never trained on a misread file. */
#include "data.h"
#include "util.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A longer line is not a table row (a binary file, /dev/zero); 16 MiB holds
 * some hundred thousand columns. */
#define TABLE_MAX_LINE ((size_t)1 << 24)
/* Columns: t->cols is an int, and a model's input is at most 65536 wide. */
#define TABLE_MAX_COLS ((size_t)1 << 20)

typedef struct reader {
    const char *path;
    FILE *f;
    char *line;
    size_t cap;
    size_t lineno;
    char **cells;
    size_t cells_cap;
} reader;

/* The next line, its end ("\n", "\r\n") cut, in r->line: 1, 0 at the end of
 * the file, -1 with the message set. */
static int next_line(reader *r)
{
    size_t n = 0;
    int c, any = 0;
    while ((c = getc_unlocked(r->f)) != EOF) {
        any = 1;
        if (c == '\n') break;
        if (n + 2 > r->cap) {
            if (r->cap >= TABLE_MAX_LINE) {
                rt_set_error("%s:%zu: line longer than %zu bytes (not a CSV file?)", r->path, r->lineno + 1,
                             TABLE_MAX_LINE);
                return -1;
            }
            size_t cap = r->cap ? 2 * r->cap : 4096;
            char *p = realloc(r->line, cap);
            if (!p) {
                rt_set_error("%s:%zu: out of host memory", r->path, r->lineno + 1);
                return -1;
            }
            r->line = p;
            r->cap = cap;
        }
        if (!c) {
            rt_set_error("%s:%zu: NUL byte in the line (not a text file?)", r->path, r->lineno + 1);
            return -1;
        }
        r->line[n++] = (char)c;
    }
    if (ferror(r->f)) {
        rt_set_error("%s: read error after line %zu: %s", r->path, r->lineno, strerror(errno));
        return -1;
    }
    if (!any) return 0;
    r->lineno++;
    if (n && r->line[n - 1] == '\r') n--;
    if (!r->line) {   /* an empty first line: nothing was allocated yet */
        r->line = malloc(4096);
        if (!r->line) {
            rt_set_error("%s:%zu: out of host memory", r->path, r->lineno);
            return -1;
        }
        r->cap = 4096;
    }
    r->line[n] = '\0';
    return 1;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return 0;
    return 1;
}

void meg_csv_table_free(meg_csv_table *t)
{
    if (t->names)
        for (int j = 0; j < t->cols; j++)
            free(t->names[j]);
    free(t->names);
    free(t->lines);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* The header's cells as the column names: a byte order mark and a pair of
 * double quotes around a name dropped (spreadsheets write both). */
static int read_header(reader *r, char *s, meg_csv_table *t)
{
    if ((unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
        s += 3;
    size_t n = meg_csv_cells(s, &r->cells, &r->cells_cap);
    if (n > TABLE_MAX_COLS) {
        rt_set_error("%s:%zu: the header names %zu columns, more than %zu", r->path, r->lineno, n, TABLE_MAX_COLS);
        return -1;
    }
    if (!n || !(t->names = calloc(n, sizeof *t->names))) {
        rt_set_error("%s:%zu: out of host memory for %zu columns", r->path, r->lineno, n);
        return -1;
    }
    t->cols = (int)n;
    for (size_t j = 0; j < n; j++) {
        char *c = r->cells[j];
        size_t len = strlen(c);
        if (len >= 2 && c[0] == '"' && c[len - 1] == '"') {
            c[len - 1] = '\0';
            c++;
        }
        if (!(t->names[j] = strdup(c))) {
            rt_set_error("%s:%zu: out of host memory", r->path, r->lineno);
            return -1;
        }
    }
    return 0;
}

/* "column 3 (name)" for messages, the name escaped. */
static const char *column_label(const meg_csv_table *t, size_t j, char *buf, size_t n)
{
    char shown[176];
    snprintf(buf, n, "column %zu (%s)", j + 1, rt_escape(t->names[j], 40, shown, sizeof shown));
    return buf;
}

/* One data row's cells into t->v + row * cols; -1 with the message. */
static int read_row(reader *r, size_t ncells, meg_csv_table *t, double *out)
{
    char col[256], shown[176];
    size_t want = (size_t)t->cols;
    if (ncells < want) {
        rt_set_error("%s:%zu: %s is missing: %zu cells, the header names %zu columns", r->path, r->lineno,
                     column_label(t, ncells, col, sizeof col), ncells, want);
        return -1;
    }
    if (ncells > want) {
        rt_set_error("%s:%zu: column %zu is past the last named one: %zu cells, the header names %zu columns",
                     r->path, r->lineno, want + 1, ncells, want);
        return -1;
    }
    for (size_t j = 0; j < want; j++) {
        const char *c = r->cells[j];
        char *end;
        column_label(t, j, col, sizeof col);
        rt_escape(c, 40, shown, sizeof shown);
        if (!*c) {
            rt_set_error("%s:%zu: %s is empty", r->path, r->lineno, col);
            return -1;
        }
        errno = 0;
        double v = strtod(c, &end);
        if (end == c || *end) {
            rt_set_error("%s:%zu: %s: '%s' is not a number", r->path, r->lineno, col, shown);
            return -1;
        }
        if (!isfinite(v)) {
            rt_set_error("%s:%zu: %s: '%s' is not finite", r->path, r->lineno, col, shown);
            return -1;
        }
        if (fabs(v) > FLT_MAX) {
            rt_set_error("%s:%zu: %s: '%s' is out of float range", r->path, r->lineno, col, shown);
            return -1;
        }
        out[j] = v;
    }
    return 0;
}

/* Room for one more row in t (capacity *cap rows). */
static int grow(meg_csv_table *t, size_t *cap)
{
    if (t->rows < *cap) return 0;
    size_t c = *cap ? 2 * *cap : 256;
    double *v = realloc(t->v, c * (size_t)t->cols * sizeof *v);
    if (v) t->v = v;
    size_t *l = realloc(t->lines, c * sizeof *l);
    if (l) t->lines = l;
    if (!v || !l) return -1;
    *cap = c;
    return 0;
}

int meg_csv_table_read(const char *path, meg_csv_table *t)
{
    reader r = {.path = path};
    size_t cap = 0;
    int rc = -1, got;
    memset(t, 0, sizeof *t);
    r.f = fopen(path, "r");
    if (!r.f) {
        rt_set_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while ((got = next_line(&r)) == 1) {
        if (blank(r.line)) continue;
        if (!t->names) {
            if (read_header(&r, r.line, t)) goto done;
            continue;
        }
        size_t n = meg_csv_cells(r.line, &r.cells, &r.cells_cap);
        if (!n || grow(t, &cap)) {
            rt_set_error("%s:%zu: out of host memory", path, r.lineno);
            goto done;
        }
        if (read_row(&r, n, t, t->v + t->rows * (size_t)t->cols)) goto done;
        t->lines[t->rows++] = r.lineno;
    }
    if (got < 0) goto done;
    if (!t->names)
        rt_set_error("%s: empty file (a CSV table needs a header line of column names, then data rows)", path);
    else if (!t->rows)
        rt_set_error("%s: a header and no data rows", path);
    else
        rc = 0;
done:
    fclose(r.f);
    free(r.line);
    free(r.cells);
    if (rc) meg_csv_table_free(t);
    return rc;
}

int meg_csv_table_column(const meg_csv_table *t, const char *path, const char *name)
{
    int found = -1;
    char shown[176];
    for (int j = 0; j < t->cols; j++) {
        if (strcmp(t->names[j], name)) continue;
        if (found >= 0) {
            rt_set_error("%s: columns %d and %d are both named '%s'", path, found + 1, j + 1,
                         rt_escape(name, 40, shown, sizeof shown));
            return -1;
        }
        found = j;
    }
    if (found < 0) {
        char list[512] = "";
        for (int j = 0; j < t->cols && strlen(list) < 400; j++) {
            char s[64];
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", j ? ", " : "",
                     rt_escape(t->names[j], 30, s, sizeof s));
        }
        rt_set_error("%s: no column is named '%s' (the header names %s%s)", path,
                     rt_escape(name, 40, shown, sizeof shown), list, strlen(list) >= 400 ? ", ..." : "");
    }
    return found;
}
