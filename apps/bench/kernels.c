/* kernels.c: `meg-bench kernels`, the project's kernels at the shapes the
 * models use, as a share of the device's peaks (peak.c). */
#include "bench.h"

#include <stdlib.h>

/* Appends what every row of `kernels` has after its shape fields, and adds
 * the row. rate is GFLOP/s when flops, else GB/s. For FLOP kernels, `bytes`
 * (inputs read once, the output written once) places the kernel on the
 * roofline: its arithmetic intensity, and the bound min(FMA peak,
 * intensity x bandwidth peak). */
static void kernel_row(bench_report *rep, bench_row *row, const char *role, double ms, int flops, double rate,
                       const bench_peak_info *pk, double bytes, int dispatches)
{
    double peak = flops ? pk->fma_gflops : pk->bw_gbps;
    double share = peak > 0 ? rate / peak : 0;
    bench_num(row, "ms", "ms", "9.3", ms);
    bench_num(row, flops ? "gflops" : "gbps", NULL, NULL, rate);
    bench_num(row, NULL, "rate", "9.2", rate);
    bench_str(row, NULL, "", "7", flops ? "GFLOP/s" : "GB/s");
    bench_unit(bench_num(row, "share_of_peak", "% peak", "6.1", share), NULL, 100);
    if (flops && bytes > 0) {
        double ai = rate * 1e9 * (ms * 1e-3) / bytes;
        double roof = ai * pk->bw_gbps < pk->fma_gflops ? ai * pk->bw_gbps : pk->fma_gflops;
        bench_int(row, "bytes", NULL, NULL, (long long)bytes);
        bench_num(row, "flop_per_byte", "FLOP/B", "7.1", ai);
        bench_num(row, "roofline_gflops", NULL, NULL, roof);
        bench_num(row, "share_of_roofline", NULL, NULL, roof > 0 ? rate / roof : 0);
        bench_str(row, "bound", NULL, NULL, roof < pk->fma_gflops ? "memory" : "compute");
    } else {
        bench_blank(row, "FLOP/B", "7");
    }
    bench_int(row, "dispatches", NULL, NULL, dispatches);
    bench_str(row, NULL, "what", NULL, role ? role : "");
    bench_add(rep, row);
}

/* A row's first fields: the kernel and its shape as text. */
static void kernel_start(bench_row *row, const char *name, const char *shape)
{
    bench_row_init(row, name, "kernels");
    bench_str(row, NULL, "kernel", "17", name);
    bench_str(row, NULL, "shape", "42", shape);
}

static int kernels_matmul(rt_ctx *ctx, const bench_opts *o, bench_report *rep, const bench_peak_info *pk)
{
    for (int s = 0; s < 6; s++) {
        const unsigned *sh = BENCH_MATMUL_SHAPES[s];
        rt_matmul_desc d = {.m = sh[0], .k = sh[1], .n = sh[2]};
        double best = 1e30;
        /* best of up to 3 medians (other load on the machine comes and goes),
         * fewer when one median already took over a second */
        for (int r = 0; r < 3 && (r == 0 || best * o->reps < 1e3); r++) {
            double ms;
            if (bench_time_matmul(ctx, &d, o->reps, &ms)) {
                rt_error_prefix("matmul %ux%ux%u", sh[0], sh[1], sh[2]);
                return -1;
            }
            if (ms < best) best = ms;
        }
        double flops = 2.0 * sh[0] * sh[1] * sh[2];
        double bytes = 4.0 * ((double)sh[0] * sh[1] + (double)sh[1] * sh[2] + (double)sh[0] * sh[2]);
        char shape[64];
        snprintf(shape, sizeof shape, "%ux%ux%u (M x K x N)", sh[0], sh[1], sh[2]);
        bench_row row;
        kernel_start(&row, "matmul", shape);
        bench_int(&row, "m", NULL, NULL, sh[0]);
        bench_int(&row, "k", NULL, NULL, sh[1]);
        bench_int(&row, "n", NULL, NULL, sh[2]);
        bench_int(&row, "flops", NULL, NULL, (long long)flops);
        kernel_row(rep, &row, NULL, best, 1, flops / (best * 1e-3) / 1e9, pk, bytes, 1);
    }
    return 0;
}

/* The graph-built cases of `kernels`. */
typedef enum gk_kind { GK_CONV, GK_CONVT, GK_WGRAD, GK_EW, GK_SUM, GK_SUM_ALL } gk_kind;
typedef struct gk_case {
    gk_kind kind;
    const char *role;        /* where the shape comes from */
    int a[4], b[4];          /* input shapes (b: conv weight or output gradient; unused otherwise) */
    int nd;                  /* dimensions of a (and b) */
    int out_pad;             /* conv_transpose2d */
    int axis;                /* GK_SUM */
} gk_case;

/* The seed's MNIST networks: 5x5 kernels, stride 2, padding 2, batch 64. */
static const gk_case GK_CASES[] = {
    {GK_CONV, "energy conv1", {64, 1, 28, 28}, {64, 1, 5, 5}, 4, 0, 0},
    {GK_CONV, "energy conv2", {64, 64, 14, 14}, {128, 64, 5, 5}, 4, 0, 0},
    {GK_CONVT, "generator deconv1; energy conv2 dx", {64, 128, 7, 7}, {128, 64, 5, 5}, 4, 1, 0},
    {GK_CONVT, "generator deconv2; energy conv1 dx", {64, 64, 14, 14}, {64, 1, 5, 5}, 4, 1, 0},
    {GK_WGRAD, "energy conv1 dw; generator deconv2 dw", {64, 1, 28, 28}, {64, 64, 14, 14}, 4, 0, 0},
    {GK_WGRAD, "energy conv2 dw; generator deconv1 dw", {64, 64, 14, 14}, {64, 128, 7, 7}, 4, 0, 0},
    {GK_EW, "add+leaky_relu+mul, fused", {256, 512}, {0}, 2, 0, 0},
    {GK_EW, "add+leaky_relu+mul, fused", {4096, 4096}, {0}, 2, 0, 0},
    {GK_SUM, "sum of each row", {256, 512}, {0}, 2, 0, 1},
    {GK_SUM, "sum of each column", {256, 512}, {0}, 2, 0, 0},
    {GK_SUM_ALL, "sum of all", {4096, 4096}, {0}, 2, 0, 0},
};
enum { NCASES = sizeof GK_CASES / sizeof GK_CASES[0] };
enum { CONV_K = 5, CONV_S = 2, CONV_P = 2 };

static const char *gk_name(gk_kind k)
{
    static const char *names[] = {"conv2d", "conv_transpose2d", "conv2d_wgrad", "elementwise", "sum", "sum"};
    return names[k];
}

/* Milliseconds per g_plan_run of plan p, after a warm-up run (the JIT).
 * Runs that take over KERNEL_ROUND_S: the better of two. Others: at least
 * reps runs per submit, more to fill about KERNEL_ROUND_S, best of 3 submits. */
static const double KERNEL_ROUND_S = 0.25;
static int time_plan(g_plan *p, int reps, double *ms)
{
    if (g_plan_run(p, 1)) return -1;
    double t0 = app_now();
    if (g_plan_run(p, 1)) return -1;
    double one = app_now() - t0;
    *ms = one * 1e3;
    if (one >= KERNEL_ROUND_S) {
        t0 = app_now();
        if (g_plan_run(p, 1)) return -1;
        double m = (app_now() - t0) * 1e3;
        if (m < *ms) *ms = m;
        return 0;
    }
    int runs = one > 0 && KERNEL_ROUND_S / one > reps ? (int)(KERNEL_ROUND_S / one) : reps;
    if (runs > 1000) runs = 1000;
    for (int r = 0; r < 3; r++) {
        t0 = app_now();
        if (g_plan_run(p, runs)) return -1;
        double m = (app_now() - t0) * 1e3 / runs;
        if (m < *ms) *ms = m;
    }
    return 0;
}

/* The case's graph: its inputs in[0..*nin) and its output. */
static g_tensor *gk_build(g_graph *g, const gk_case *kc, g_tensor *in[3], int *nin)
{
    *nin = 2;
    in[0] = g_input(g, "a", kc->nd, kc->a);
    switch (kc->kind) {
    case GK_CONV: return g_conv2d(in[0], in[1] = g_input(g, "w", 4, kc->b), CONV_S, CONV_P);
    case GK_CONVT:
        return g_conv_transpose2d(in[0], in[1] = g_input(g, "w", 4, kc->b), CONV_S, CONV_P, kc->out_pad);
    case GK_WGRAD: return g_conv2d_wgrad(in[0], in[1] = g_input(g, "dy", 4, kc->b), CONV_K, CONV_K, CONV_S, CONV_P);
    case GK_EW:
        in[1] = g_input(g, "b", kc->nd, kc->a);
        in[2] = g_input(g, "c", kc->nd, kc->a);
        *nin = 3;
        return g_mul(g_leaky_relu(g_add(in[0], in[1]), 0.2f), in[2]);
    case GK_SUM: *nin = 1; return g_sum(in[0], kc->axis, 0);
    case GK_SUM_ALL: *nin = 1; return g_sum_all(in[0]);
    }
    return NULL;
}

/* The case's row: shape fields, then kernel_row's. */
static void gk_row(bench_report *rep, const gk_case *kc, g_tensor *const in[3], const g_tensor *y,
                   const g_plan_stats *st, double ms, double bytes, const bench_peak_info *pk)
{
    char t0[48], t1[48], t2[48], shape[192];
    bench_dims_text(t0, sizeof t0, in[0]->shape, in[0]->ndim);
    bench_dims_text(t1, sizeof t1, in[1] ? in[1]->shape : NULL, in[1] ? in[1]->ndim : 0);
    bench_dims_text(t2, sizeof t2, y->shape, y->ndim);
    int conv = kc->kind == GK_CONV || kc->kind == GK_CONVT || kc->kind == GK_WGRAD;
    if (conv) snprintf(shape, sizeof shape, "%s, %s %s -> %s", t0, kc->kind == GK_WGRAD ? "dy" : "w", t1, t2);
    else if (kc->kind == GK_EW) snprintf(shape, sizeof shape, "3 x %s -> %s", t0, t2);
    else snprintf(shape, sizeof shape, "%s -> %s", t0, t2);
    bench_row row;
    kernel_start(&row, gk_name(kc->kind), shape);
    bench_str(&row, conv ? "role" : "op", NULL, NULL, kc->role);
    if (kc->kind == GK_EW) bench_int(&row, "inputs", NULL, NULL, 3);
    bench_dims(&row, "input", NULL, NULL, in[0]->shape, in[0]->ndim);
    if (conv) bench_dims(&row, kc->kind == GK_WGRAD ? "grad" : "weight", NULL, NULL, in[1]->shape, in[1]->ndim);
    bench_dims(&row, "output", NULL, NULL, y->shape, y->ndim);
    if (conv) {
        bench_int(&row, "kernel", NULL, NULL, CONV_K);
        bench_int(&row, "stride", NULL, NULL, CONV_S);
        bench_int(&row, "pad", NULL, NULL, CONV_P);
        bench_int(&row, "out_pad", NULL, NULL, kc->out_pad);
        bench_int(&row, "flops", NULL, NULL, (long long)st->flops);
        kernel_row(rep, &row, kc->role, ms, 1, st->flops / (ms * 1e-3) / 1e9, pk, bytes, st->dispatches);
    } else {
        bench_int(&row, "bytes", NULL, NULL, (long long)bytes);
        kernel_row(rep, &row, kc->role, ms, 0, bytes / (ms * 1e-3) / 1e9, pk, 0, st->dispatches);
    }
}

static int kernels_graph_case(rt_ctx *ctx, const bench_opts *o, bench_report *rep, const bench_peak_info *pk,
                              const gk_case *kc)
{
    g_graph *g = g_graph_new();
    g_session *s = NULL;
    g_plan *p = NULL;
    float *h = NULL;
    int rc = -1, nin;
    if (!g) {
        rt_set_error("out of host memory");
        return -1;
    }
    g_tensor *in[3] = {NULL, NULL, NULL}, *y = gk_build(g, kc, in, &nin);
    if (!y) {
        rt_set_error("building the graph: %s", g_graph_error(g) ? g_graph_error(g) : "unknown error");
        goto done;
    }
    if (g_session_new(ctx, g, 1, &s)) goto done;
    size_t in_elems = 0;
    for (int i = 0; i < nin; i++) {
        size_t ne = g_numel(in[i]);
        float *nh = realloc(h, ne * sizeof *h);
        if (!nh) {
            rt_set_error("out of host memory");
            goto done;
        }
        h = nh;
        tc_random(h, ne, 10 + (unsigned)i);
        if (g_session_write(s, in[i], h)) goto done;
        in_elems += ne;
    }
    if (g_plan_new(s, &y, 1, NULL, &p)) goto done;
    g_plan_stats st;
    g_plan_stats_get(p, &st);
    double ms;
    if (time_plan(p, o->reps, &ms)) goto done;
    double bytes = 4.0 * ((double)in_elems + (double)g_numel(y));   /* inputs read, output written */
    gk_row(rep, kc, in, y, &st, ms, bytes, pk);
    rc = 0;
done:
    if (rc) rt_error_prefix("%s (%s)", gk_name(kc->kind), kc->role);
    free(h);
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
    return rc;
}

int bench_kernels(const bench_opts *o, bench_report *rep, rt_ctx *ctx)
{
    bench_peak_info pk;
    bench_note(rep, "measuring the peaks (meg-bench peak) ...");
    int rc = bench_measure_peak(ctx, o, NULL, &pk) ? 1 : 0;
    if (!rc && pk.fma_gflops > 0 && pk.bw_gbps > 0) bench_peak_object(rep, &pk);
    if (!rc)
        bench_note(rep,
                   "%% peak: share of the FMA peak for matmul and convolutions, of the bandwidth peak (bytes read +\n"
                   "written) for the rest; FLOP/B: arithmetic intensity (FLOPs per byte of inputs read once and\n"
                   "output written once; below this device's ridge, FMA peak / bandwidth peak = %.1f, a kernel\n"
                   "is memory-bound); ms per call include the fixed cost of a dispatch",
                   pk.bw_gbps > 0 ? pk.fma_gflops / pk.bw_gbps : 0);
    if (!rc && kernels_matmul(ctx, o, rep, &pk)) rc = 1;
    for (int i = 0; !rc && i < NCASES; i++)
        if (kernels_graph_case(ctx, o, rep, &pk, &GK_CASES[i])) rc = 1;
    if (rc) fprintf(stderr, "%s: kernels: %s\n", BENCH_PROG, rt_error());
    return rc;
}
