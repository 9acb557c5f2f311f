/* kernels.c: `meg-bench kernels`, the project's kernels at the shapes the
 * models use (the TC_BENCH rows of the case table, tests/cases), as a share
 * of the device's peaks (peak.c). */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    bench_str(row, NULL, "kernel", "30", name);
    bench_str(row, NULL, "shape", "42", shape);
}

/* CPU seconds of this process, all threads (a CPU device's driver threads
 * included): on a shared machine, less disturbed by other load than wall time. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Milliseconds per g_plan_run of plan p, after a warm-up run (the JIT), and
 * the least CPU milliseconds per run of the same rounds (*cpu_ms).
 * Runs that take over KERNEL_ROUND_S: the better of two. Others: at least
 * reps runs per submit, more to fill about KERNEL_ROUND_S, best of 3 submits. */
static const double KERNEL_ROUND_S = 0.25;
static int time_plan(g_plan *p, int reps, double *ms, double *cpu_ms)
{
    if (g_plan_run(p, 1)) return -1;
    double t0 = app_now(), c0 = cpu_now();
    if (g_plan_run(p, 1)) return -1;
    double one = app_now() - t0;
    *ms = one * 1e3;
    *cpu_ms = (cpu_now() - c0) * 1e3;
    if (one >= KERNEL_ROUND_S) {
        t0 = app_now();
        c0 = cpu_now();
        if (g_plan_run(p, 1)) return -1;
        double m = (app_now() - t0) * 1e3, cm = (cpu_now() - c0) * 1e3;
        if (m < *ms) *ms = m;
        if (cm < *cpu_ms) *cpu_ms = cm;
        return 0;
    }
    int runs = one > 0 && KERNEL_ROUND_S / one > reps ? (int)(KERNEL_ROUND_S / one) : reps;
    if (runs > 1000) runs = 1000;
    for (int r = 0; r < 3; r++) {
        t0 = app_now();
        c0 = cpu_now();
        if (g_plan_run(p, runs)) return -1;
        double m = (app_now() - t0) * 1e3 / runs, cm = (cpu_now() - c0) * 1e3 / runs;
        if (m < *ms) *ms = m;
        if (cm < *cpu_ms) *cpu_ms = cm;
    }
    return 0;
}

/* A matmul with nothing fused: the runtime's kernel timed on its own, as
 * `meg-bench matmul` does (the same kernel a plan records). */
static int time_bare_matmul(rt_ctx *ctx, const bench_opts *o, const g_tensor *y, double *best)
{
    const g_tensor *a = y->src[0], *b = y->src[1];
    rt_matmul_desc d = {.m = (uint32_t)y->shape[0], .n = (uint32_t)y->shape[1],
                        .k = (uint32_t)a->shape[y->attr.matmul.transpose_a ? 0 : 1],
                        .transpose_a = y->attr.matmul.transpose_a, .transpose_b = y->attr.matmul.transpose_b};
    (void)b;
    *best = 1e30;
    /* best of up to 3 medians (other load on the machine comes and goes),
     * fewer when one median already took over a second */
    for (int r = 0; r < 3 && (r == 0 || *best * o->reps < 1e3); r++) {
        double ms;
        if (bench_time_matmul(ctx, &d, o->reps, &ms)) return -1;
        if (ms < *best) *best = ms;
    }
    return 0;
}

/* One TC_BENCH row of the case table (tests/cases): its op on random
 * inputs, planned as the models plan it, timed. */
static int kernels_case(rt_ctx *ctx, const bench_opts *o, bench_report *rep, const bench_peak_info *pk,
                        const tc_case *c)
{
    g_graph *g = g_graph_new();
    g_session *s = NULL;
    g_plan *p = NULL;
    float *h = NULL;
    int rc = -1;
    if (!g) {
        rt_set_error("out of host memory");
        return -1;
    }
    g_tensor *in[4] = {NULL}, *y = tc_build(c, g, in);
    if (!y) {
        rt_set_error("building the graph: %s", g_graph_error(g) ? g_graph_error(g) : "unknown error");
        goto done;
    }
    if (g_session_new(ctx, g, 1, &s)) goto done;
    size_t in_elems = 0;
    for (int i = 0; i < c->nin; i++) {
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
    double ms, cpu_ms = 0;
    if (y->op == G_OP_MATMUL ? time_bare_matmul(ctx, o, y, &ms) : time_plan(p, o->reps, &ms, &cpu_ms)) goto done;
    double bytes = 4.0 * ((double)in_elems + (double)g_numel(y));   /* inputs read, output written */
    /* the row: the case, its op, the shapes, then kernel_row's fields */
    char shape[192], t[48];
    size_t k = 0;
    for (int i = 0; i < c->nin && k < sizeof shape; i++) {
        bench_dims_text(t, sizeof t, in[i]->shape, in[i]->ndim);
        k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%s", i ? ", " : "", t);
    }
    bench_dims_text(t, sizeof t, y->shape, y->ndim);
    if (k < sizeof shape) snprintf(shape + k, sizeof shape - k, " -> %s", t);
    bench_row row;
    kernel_start(&row, c->name, shape);
    const char *op = g_plan_schedule(p) && g_schedule_units(g_plan_schedule(p)) == 1
                         ? g_schedule_label(g_plan_schedule(p), 0) : g_op_name(y->op);
    bench_str(&row, "op", NULL, NULL, op);
    bench_int(&row, "inputs", NULL, NULL, c->nin);
    for (int i = 0; i < c->nin && i < 3; i++) {
        static const char *keys[] = {"input", "input1", "input2"};
        bench_dims(&row, keys[i], NULL, NULL, in[i]->shape, in[i]->ndim);
    }
    bench_dims(&row, "output", NULL, NULL, y->shape, y->ndim);
    if (cpu_ms > 0) bench_num(&row, "cpu_ms", NULL, NULL, cpu_ms);
    if (st.flops > 0) {
        bench_int(&row, "flops", NULL, NULL, (long long)st.flops);
        kernel_row(rep, &row, op, ms, 1, st.flops / (ms * 1e-3) / 1e9, pk, bytes, st.dispatches);
    } else {
        bench_int(&row, "bytes", NULL, NULL, (long long)bytes);
        kernel_row(rep, &row, op, ms, 0, bytes / (ms * 1e-3) / 1e9, pk, 0, st.dispatches);
    }
    rc = 0;
done:
    if (rc) rt_error_prefix("%s", c->name);
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
    for (int i = 0; !rc && i < tc_count(TC_BENCH); i++) {
        const tc_case *c = tc_nth(TC_BENCH, i);
        if (o->only && !strstr(c->name, o->only)) continue;
        if (kernels_case(ctx, o, rep, &pk, c)) rc = 1;
    }
    if (rc) fprintf(stderr, "%s: kernels: %s\n", BENCH_PROG, rt_error());
    return rc;
}
