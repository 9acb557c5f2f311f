/* report.c: meg-bench's rows, and their two printers: aligned text as the
 * rows come, and one JSON object at the end (see bench.h). */
#include "bench.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void bench_row_init(bench_row *r, const char *name, const char *kind)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name ? name : "");
    r->kind = kind;
}

static bench_field *field(bench_row *r, bench_type t, const char *key, const char *label, const char *fmt)
{
    if (r->nf == BENCH_MAX_FIELDS) {   /* a programming error: raise BENCH_MAX_FIELDS */
        fprintf(stderr, "%s: row \"%s\" has over %d fields\n", BENCH_PROG, r->name, BENCH_MAX_FIELDS);
        abort();
    }
    bench_field *f = &r->f[r->nf++];
    memset(f, 0, sizeof *f);
    f->type = t;
    f->key = key;
    f->label = label;
    f->prec = 3;
    if (fmt && sscanf(fmt, "%d.%d", &f->width, &f->prec) < 1) f->width = 0;
    return f;
}

bench_field *bench_str(bench_row *r, const char *key, const char *label, const char *fmt, const char *v)
{
    bench_field *f = field(r, BENCH_STR, key, label, fmt);
    snprintf(f->s, sizeof f->s, "%s", v ? v : "");
    return f;
}

bench_field *bench_int(bench_row *r, const char *key, const char *label, const char *fmt, long long v)
{
    bench_field *f = field(r, BENCH_INT, key, label, fmt);
    f->i = v;
    return f;
}

bench_field *bench_num(bench_row *r, const char *key, const char *label, const char *fmt, double v)
{
    bench_field *f = field(r, BENCH_NUM, key, label, fmt);
    f->d = v;
    return f;
}

bench_field *bench_bool(bench_row *r, const char *key, const char *label, const char *fmt, int v)
{
    bench_field *f = field(r, BENCH_BOOL, key, label, fmt);
    f->i = v != 0;
    return f;
}

bench_field *bench_dims(bench_row *r, const char *key, const char *label, const char *fmt, const int *d, int nd)
{
    bench_field *f = field(r, BENCH_DIMS, key, label, fmt);
    f->nd = nd < BENCH_MAX_DIMS ? nd : BENCH_MAX_DIMS;
    if (f->nd > 0) memcpy(f->dims, d, (size_t)f->nd * sizeof *d);
    return f;
}

bench_field *bench_blank(bench_row *r, const char *label, const char *fmt)
{
    return field(r, BENCH_BLANK, NULL, label, fmt);
}

bench_field *bench_unit(bench_field *f, const char *unit, double scale)
{
    f->unit = unit;
    f->scale = scale;
    return f;
}

void bench_plan_fields(bench_row *r, const char *key, const char *label, double flops, double runs_per_s,
                       double plan_s)
{
    bench_unit(bench_num(r, key, label, "10.2", flops), "MFLOP", 1e-6);
    bench_num(r, "gflops", "GFLOP/s achieved", "10.2", flops * runs_per_s / 1e9);
    bench_unit(bench_num(r, "plan_s", "planning", "10.2", plan_s), "s", 0);
}

void bench_dims_text(char *buf, size_t n, const int *d, int nd)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < nd && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%d", i ? "x" : "", d[i]);
    if (nd == 0) snprintf(buf, n, "scalar");
}

/* ---- text ---- */

/* The value as text, in the field's display format (without its width). */
static void cell(const bench_field *f, char *buf, size_t n)
{
    double k = f->scale != 0 ? f->scale : 1;
    switch (f->type) {
    case BENCH_STR: snprintf(buf, n, "%s", f->s); break;
    case BENCH_INT:
        if (f->scale != 0) snprintf(buf, n, "%.*f", f->prec, (double)f->i * k);
        else snprintf(buf, n, "%lld", f->i);
        break;
    case BENCH_NUM: snprintf(buf, n, "%.*f", f->prec, f->d * k); break;
    case BENCH_BOOL: snprintf(buf, n, "%s", f->i ? "yes" : "no"); break;
    case BENCH_DIMS: bench_dims_text(buf, n, f->dims, f->nd); break;
    case BENCH_BLANK: buf[0] = 0; break;
    }
}

static void header_text(const bench_field *f, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", f->label, f->label[0] && f->unit ? " " : "", f->unit ? f->unit : "");
}

/* A table line: the headers (header != 0) or the values, each padded to
 * the wider of its header and its display width; text left, numbers right. */
static void table_line(const bench_row *row, int header)
{
    printf(" ");
    for (int i = 0; i < row->nf; i++) {
        const bench_field *f = &row->f[i];
        if (!f->label) continue;
        char h[128], v[256];
        header_text(f, h, sizeof h);
        int w = (int)strlen(h) > f->width ? (int)strlen(h) : f->width;
        int left = f->type == BENCH_STR || f->type == BENCH_DIMS || f->type == BENCH_BOOL;
        if (header) snprintf(v, sizeof v, "%s", h);
        else cell(f, v, sizeof v);
        printf(" %*s", left ? -w : w, v);
    }
    printf("\n");
}

static void record_lines(const bench_row *row)
{
    int lw = 0;
    for (int i = 0; i < row->nf; i++)
        if (row->f[i].label && (int)strlen(row->f[i].label) > lw) lw = (int)strlen(row->f[i].label);
    for (int i = 0; i < row->nf; i++) {
        const bench_field *f = &row->f[i];
        if (!f->label) continue;
        char v[256];
        cell(f, v, sizeof v);
        printf("  %-*s %*s%s%s\n", lw, f->label, f->width, v, f->unit ? " " : "", f->unit ? f->unit : "");
    }
}

static void print_text(bench_report *r, const bench_row *row)
{
    if (r->json) return;
    if (row->record) {
        record_lines(row);
        r->kind = NULL;
    } else {
        if (!r->kind || !row->kind || strcmp(r->kind, row->kind)) table_line(row, 1);
        table_line(row, 0);
        r->kind = row->kind;
    }
    fflush(stdout);
}

void bench_note(const bench_report *r, const char *fmt, ...)
{
    if (r->json) return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* ---- JSON ---- */

static void json_value(const bench_field *f)
{
    switch (f->type) {
    case BENCH_STR: app_json_string(stdout, f->s); break;
    case BENCH_INT: printf("%lld", f->i); break;
    case BENCH_NUM: app_json_num(stdout, f->d, 10); break;
    case BENCH_BOOL: printf("%s", f->i ? "true" : "false"); break;
    case BENCH_DIMS:
        printf("[");
        for (int i = 0; i < f->nd; i++) printf("%s%d", i ? ", " : "", f->dims[i]);
        printf("]");
        break;
    case BENCH_BLANK: printf("null"); break;
    }
}

static void json_row(const bench_row *row)
{
    const char *sep = "";
    printf("{");
    if (row->name[0]) {
        printf("\"name\": ");
        app_json_string(stdout, row->name);
        sep = ", ";
    }
    for (int i = 0; i < row->nf; i++) {
        const bench_field *f = &row->f[i];
        if (!f->key || f->type == BENCH_BLANK) continue;
        printf("%s", sep);
        app_json_string(stdout, f->key);
        printf(": ");
        json_value(f);
        sep = ", ";
    }
    printf("}");
}

/* ---- the report ---- */

void bench_begin(bench_report *r, const bench_opts *o, const char *list)
{
    memset(r, 0, sizeof *r);
    r->json = o->json;
    r->list = list ? list : "results";
}

void bench_device(bench_report *r, const rt_device_info *d)
{
    bench_device_row(&r->device, d);
    r->has_device = 1;
    bench_note(r, "device: %s (%s, %s)", d->name, d->type_name, d->driver);
}

void bench_add(bench_report *r, const bench_row *row)
{
    if (r->nrows == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        bench_row *n = realloc(r->rows, (size_t)cap * sizeof *n);
        if (!n) {
            r->oom = 1;
            return;
        }
        r->rows = n;
        r->cap = cap;
    }
    r->rows[r->nrows++] = *row;
    print_text(r, row);
}

void bench_object(bench_report *r, const char *key, const bench_row *row)
{
    if (r->nobj == (int)(sizeof r->obj / sizeof r->obj[0])) {
        r->oom = 1;
        return;
    }
    r->obj_key[r->nobj] = key;
    r->obj[r->nobj++] = *row;
    bench_row rec = *row;
    rec.record = 1;
    print_text(r, &rec);
}

int bench_end(bench_report *r, int rc)
{
    if (r->json) {
        printf("{");
        if (r->has_device) {
            printf("\"device\": ");
            json_row(&r->device);
            printf(", ");
        }
        app_json_string(stdout, r->list);
        printf(": [");
        for (int i = 0; i < r->nrows; i++) {
            if (i) printf(", ");
            json_row(&r->rows[i]);
        }
        printf("]");
        for (int i = 0; i < r->nobj; i++) {
            printf(", ");
            app_json_string(stdout, r->obj_key[i]);
            printf(": ");
            json_row(&r->obj[i]);
        }
        printf("}\n");
        fflush(stdout);
    }
    if (r->oom) fprintf(stderr, "%s: out of host memory for the report's rows\n", BENCH_PROG);
    free(r->rows);
    r->rows = NULL;
    r->nrows = r->cap = 0;
    return rc || r->oom ? 1 : 0;
}
