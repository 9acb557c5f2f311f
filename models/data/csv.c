/* csv.c: numeric CSV files (comma separated, optional header line) into a
 * float array, with errors that name the file and the line. */
#include "data.h"
#include "util.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Lines longer than this are refused, so a file with no line ends
 * (/dev/zero, a binary) is not read until memory runs out. */
#define CSV_MAX_LINE (1u << 20)

typedef struct reader {
    const char *path;
    FILE *f;
    char *line;
    size_t line_cap;
    char **fields;
    size_t fields_cap;
    float *vals;
    size_t nvals, vals_cap;
} reader;

/* One line (with its '\n', if any) into r->line: its length, 0 at the end
 * of the file, -1 when it is longer than CSV_MAX_LINE, -2 out of memory,
 * -3 on a read error. NUL bytes are kept (the caller refuses them). */
static long read_line(reader *r)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(r->f)) != EOF) {
        if (n >= CSV_MAX_LINE) return -1;
        if (n + 2 > r->line_cap) {
            size_t cap = r->line_cap ? 2 * r->line_cap : 256;
            char *nl = realloc(r->line, cap);
            if (!nl) return -2;
            r->line = nl;
            r->line_cap = cap;
        }
        r->line[n++] = (char)c;
        if (c == '\n') break;
    }
    if (ferror(r->f)) return -3;
    if (r->line) r->line[n] = 0;
    return (long)n;
}

static void reader_free(reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->line);
    free(r->fields);
    free(r->vals);
}

char *meg_csv_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

size_t meg_csv_cells(char *s, char ***cells, size_t *cap)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    if (n > *cap) {
        char **nc = realloc(*cells, n * sizeof *nc);
        if (!nc)
            return 0;
        *cells = nc;
        *cap = n;
    }
    size_t k = 0;
    (*cells)[k++] = s;
    for (char *p = s; *p; p++)
        if (*p == ',') {
            *p = '\0';
            (*cells)[k++] = p + 1;
        }
    for (size_t i = 0; i < n; i++)
        (*cells)[i] = meg_csv_trim((*cells)[i]);
    return n;
}

/* Whole field is a number for strtod (which also takes "nan" and "inf"). */
static int is_number(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return *s && end != s && *end == '\0';
}

static int push(reader *r, float v)
{
    if (r->nvals == r->vals_cap) {
        size_t cap = r->vals_cap ? 2 * r->vals_cap : 1024;
        float *nv = realloc(r->vals, cap * sizeof *nv);
        if (!nv)
            return -1;
        r->vals = nv;
        r->vals_cap = cap;
    }
    r->vals[r->nvals++] = v;
    return 0;
}

static int fail(reader *r, size_t line, const char *detail)
{
    rt_set_error("%s:%zu: %s", r->path, line, detail);
    reader_free(r);
    return -1;
}

int meg_csv_read(const char *path, size_t *cols, float **data, size_t *rows)
{
    reader r = {.path = path};
    char msg[256];
    size_t want = *cols, nrows = 0, lineno = 0;
    int first = 1;
    long len;

    r.f = fopen(path, "r");
    if (!r.f) {
        rt_set_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while ((len = read_line(&r)) != 0) {
        lineno++;
        if (len == -1) {
            snprintf(msg, sizeof msg, "line longer than %u bytes (not a CSV file?)", CSV_MAX_LINE);
            return fail(&r, lineno, msg);
        }
        if (len == -2) return fail(&r, lineno, "out of memory");
        if (len == -3) break;
        if (strlen(r.line) != (size_t)len)
            return fail(&r, lineno, "NUL byte in line (not a text file?)");
        char *s = meg_csv_trim(r.line);
        if (!*s)
            continue;
        size_t nf = meg_csv_cells(s, &r.fields, &r.fields_cap);
        if (!nf)
            return fail(&r, lineno, "out of memory");
        if (first) {
            first = 0;
            if (!want)
                want = nf;
            int numbers = 0;
            double v;
            for (size_t i = 0; i < nf; i++)
                numbers += is_number(r.fields[i], &v);
            if (!numbers && nf == want)
                continue;             /* header line */
        }
        if (nf != want) {
            snprintf(msg, sizeof msg, "expected %zu columns, found %zu", want, nf);
            return fail(&r, lineno, msg);
        }
        for (size_t i = 0; i < nf; i++) {
            double v;
            const char *fs = r.fields[i];
            char shown[176];
            rt_escape(fs, 40, shown, sizeof shown);
            if (!*fs)
                snprintf(msg, sizeof msg, "column %zu is empty", i + 1);
            else if (!is_number(fs, &v))
                snprintf(msg, sizeof msg, "column %zu: '%s' is not a number", i + 1, shown);
            else if (!isfinite(v))
                snprintf(msg, sizeof msg, "column %zu: '%s' is not finite", i + 1, shown);
            else if (fabs(v) > FLT_MAX)
                snprintf(msg, sizeof msg, "column %zu: %s is out of float range", i + 1, shown);
            else if (push(&r, (float)v))
                snprintf(msg, sizeof msg, "out of memory");
            else
                continue;
            return fail(&r, lineno, msg);
        }
        nrows++;
    }
    if (ferror(r.f)) {
        rt_set_error("%s: read error after line %zu: %s", path, lineno, strerror(errno));
        reader_free(&r);
        return -1;
    }
    if (!nrows) {
        rt_set_error("%s: no data rows", path);
        reader_free(&r);
        return -1;
    }
    *cols = want;
    *rows = nrows;
    *data = r.vals;
    r.vals = NULL;
    reader_free(&r);
    return 0;
}
