/* bench.h: what meg-bench's subcommands share: the options, the report
 * (rows of typed fields, printed as aligned text or as one JSON object) and
 * the timing helpers. Only apps/bench/ includes it. */
#ifndef MEG_BENCH_H
#define MEG_BENCH_H

#include "cases.h"
#include "common.h"
#include "meg.h"

#define BENCH_PROG "meg-bench"

typedef struct bench_opts {
    const char *device;
    const char *data;     /* train */
    meg_config cfg;       /* train, mala */
    int iters, max_submit, profile;
    int peak;             /* train: measure the FMA peak too, for the iteration's share of it */
    int chains, steps;    /* mala */
    int json;
    int reps;
    int variant;          /* matmul: -1 all */
    int ta, tb;           /* matmul: transposed operands */
    int nshapes;
    unsigned shapes[16][3];
    const char *only;     /* kernels: only rows whose name contains it */
} bench_opts;

/* ---- the report ---------------------------------------------------------
 * A row is a name (its JSON "name", first), a kind and typed fields. Each
 * field has a JSON key (NULL: text only) and a text label (NULL: JSON only),
 * and for text a display format (bench_fmt), a unit and a scale.
 *
 * Text: rows of one kind form one table, printed as the rows come (a
 * header of the labels, "label unit", when the kind changes), or, for a
 * record row, one line per field: label, value, unit.
 * JSON: {"device": {...}, "<list>": [rows], "<key>": {...}}, one line,
 * printed by bench_end; a number that is not finite is null. */

typedef enum bench_type { BENCH_STR, BENCH_INT, BENCH_NUM, BENCH_BOOL, BENCH_DIMS, BENCH_BLANK } bench_type;
enum { BENCH_MAX_FIELDS = 32, BENCH_MAX_DIMS = 4 };

typedef struct bench_field {
    const char *key;      /* JSON key; NULL: text only */
    const char *label;    /* text column header or line label; NULL: JSON only */
    const char *unit;     /* text: after the label in a header, after the value on a record line */
    int width, prec;      /* text: minimum width, decimals (numbers and scaled integers) */
    double scale;         /* text: shows value x scale (0: as it is) */
    bench_type type;
    long long i;          /* BENCH_INT, BENCH_BOOL */
    double d;             /* BENCH_NUM */
    int nd, dims[BENCH_MAX_DIMS];
    char s[256];          /* BENCH_STR */
} bench_field;

typedef struct bench_row {
    char name[48];        /* JSON "name"; empty: none */
    const char *kind;     /* text: the table it belongs to */
    int record;           /* text: one line per field instead of a table line */
    int nf;
    bench_field f[BENCH_MAX_FIELDS];
} bench_row;

void bench_row_init(bench_row *r, const char *name, const char *kind);
/* Appends a field; fmt is the text display format "W" or "W.P" (minimum
 * width, decimals; NULL: the label's width, 3 decimals). Each returns the
 * field, for a unit or a scale. */
bench_field *bench_str(bench_row *r, const char *key, const char *label, const char *fmt, const char *v);
bench_field *bench_int(bench_row *r, const char *key, const char *label, const char *fmt, long long v);
bench_field *bench_num(bench_row *r, const char *key, const char *label, const char *fmt, double v);
bench_field *bench_bool(bench_row *r, const char *key, const char *label, const char *fmt, int v);
bench_field *bench_dims(bench_row *r, const char *key, const char *label, const char *fmt, const int *d, int nd);
bench_field *bench_blank(bench_row *r, const char *label, const char *fmt);   /* an empty text cell */
bench_field *bench_unit(bench_field *f, const char *unit, double scale);
/* What train and mala report of their plan: FLOPs per run (key, label;
 * text in MFLOP), "gflops" achieved at runs_per_s, "plan_s". */
void bench_plan_fields(bench_row *r, const char *key, const char *label, double flops, double runs_per_s,
                       double plan_s);
/* "64x1x28x28" ("scalar" for nd = 0). */
void bench_dims_text(char *buf, size_t n, const int *d, int nd);

typedef struct bench_report {
    int json;
    const char *list;         /* the JSON key of the rows: "results" or "devices" */
    int has_device;
    bench_row device;
    bench_row *rows;
    int nrows, cap;
    const char *obj_key[4];   /* top-level objects after the list */
    bench_row obj[4];
    int nobj;
    const char *kind;         /* text: the table being printed */
    int oom;
} bench_report;

void bench_begin(bench_report *r, const bench_opts *o, const char *list);
/* The device's fields (index, name, type, driver, memory, subgroup size; devices.c). */
void bench_device_row(bench_row *row, const rt_device_info *d);
/* The device the results are from: JSON "device"; text, a line. */
void bench_device(bench_report *r, const rt_device_info *d);
/* A row of the list (text: printed at once). */
void bench_add(bench_report *r, const bench_row *row);
/* A top-level JSON object (text: printed at once as a record). */
void bench_object(bench_report *r, const char *key, const bench_row *row);
/* Text: a line of its own (titles, notes); nothing in JSON. */
void bench_note(const bench_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the JSON (with --json) and frees the rows; rc, or 1 when rows were lost. */
int bench_end(bench_report *r, int rc);

/* ---- the subcommands ----------------------------------------------------
 * Each fills rows into rep. ctx: the device, opened by main for those that
 * need it (train and mala open their own through megrun). 0 or 1. */
typedef int bench_fn(const bench_opts *o, bench_report *rep, rt_ctx *ctx);
bench_fn bench_matmul, bench_dispatch, bench_train, bench_mala, bench_mlp, bench_peak, bench_kernels,
    bench_devices;

/* ---- timing ---------------------------------------------------------- */
/* The default matmul shapes (M x K x N) of `matmul` and `kernels`. */
extern const unsigned BENCH_MATMUL_SHAPES[6][3];
/* Median milliseconds of one matmul, from `reps` dispatches in one command
 * buffer (timestamps where the device has them, else wall time). */
int bench_time_matmul(rt_ctx *ctx, const rt_matmul_desc *d, int reps, double *ms);
/* Fails (1) when the context saw Vulkan validation messages. */
int bench_validation(rt_ctx *ctx);

/* The device's peaks (peak.c), which `kernels` rates its kernels against. */
typedef struct bench_peak_info {
    double fma_gflops;          /* the best FMA shape */
    char fma_shape[48];
    double copy_gbps;           /* peak_copy.comp, copy mode */
    double read_gbps;           /* peak_copy.comp, read mode */
    double copy_buffer_gbps;    /* vkCmdCopyBuffer */
    double bw_gbps;             /* the bandwidth peak: the best of the three */
    const char *bw_source;
} bench_peak_info;
/* Measures the peaks; with rep, reports every shape tried. */
int bench_measure_peak(rt_ctx *ctx, const bench_opts *o, bench_report *rep, bench_peak_info *pk);
/* The "peak" object (text: a record). */
void bench_peak_object(bench_report *rep, const bench_peak_info *pk);

#endif
