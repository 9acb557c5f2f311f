/* peak.c: `meg-bench peak`, the device's own limits (fp32 FMA throughput,
 * streaming bandwidth) measured with dedicated shaders; `kernels` rates
 * the project's kernels against them. */
#include "bench.h"

#include <string.h>

/* FMA shapes tried: scalar or vec4 fma, independent chains per invocation,
 * rounds of all chains per loop trip (llvmpipe pays much per loop trip). */
typedef struct fma_shape { int vec4, chains, unroll; } fma_shape;
static const fma_shape FMA_SHAPES[] = {{0, 8, 4}, {0, 16, 4}, {0, 8, 8}, {1, 4, 4},
                                       {1, 8, 4}, {1, 8, 8}, {1, 8, 1}};
enum { NSHAPES = sizeof FMA_SHAPES / sizeof FMA_SHAPES[0] };
enum { FMA_PER_INVOCATION = 1 << 15 };
static const double PEAK_TARGET_MS = 20.0;   /* per dispatch: the fixed dispatch cost stays under 1% */
enum { PEAK_ROUNDS = 3 };                     /* rounds over all shapes; the best dispatch counts */

/* Best and median milliseconds of one dispatch among `reps` recorded in one
 * command buffer: timestamps where the device has them, else the submit's
 * wall time over reps (for both). The caller warms the pipeline first. */
static int time_dispatches(rt_ctx *ctx, rt_kernel *k, const rt_binding *b, int nb, const void *push,
                           uint32_t push_size, const uint32_t g[3], int reps, double *best, double *med)
{
    rt_cmd *c = NULL;
    double t[256] = {0};
    int nt = 0;
    if (reps > 256) reps = 256;
    if (rt_cmd_begin(ctx, RT_CMD_TIMESTAMPS, &c)) return -1;
    for (int i = 0; i < reps; i++)
        if (rt_cmd_dispatch(c, k, b, nb, push, push_size, g[0], g[1], g[2], NULL)) goto fail;
    double t0 = app_now();
    if (rt_cmd_submit(c, 1)) goto fail;
    double wall = (app_now() - t0) * 1e3 / reps;
    for (int i = 0; i < reps; i++) {
        double ms;
        if (rt_cmd_timing(c, i, &ms, NULL)) break;
        t[nt++] = ms;
    }
    rt_cmd_free(c);
    if (nt == reps) {
        *best = t[0];
        for (int i = 1; i < nt; i++)
            if (t[i] < *best) *best = t[i];
        *med = tc_median(t, nt);
    } else {
        *best = *med = wall;
    }
    return 0;
fail:
    rt_cmd_free(c);
    return -1;
}

/* A calibrated FMA dispatch of one shape, and its best time so far. */
typedef struct fma_run {
    rt_kernel *k;
    rt_buffer *out;
    uint32_t g[3];
    size_t invocations;
    double flops, ms;
} fma_run;
static const struct { float m, c; } FMA_PUSH = {0.9999f, 1e-4f};   /* fixed point 1: no overflow, no denormals */

/* Warms the shape's pipeline (the JIT) and sizes its dispatch to take about
 * PEAK_TARGET_MS. */
static int fma_prepare(rt_ctx *ctx, const fma_shape *sh, fma_run *r)
{
    uint32_t per_trip = (uint32_t)(sh->chains * sh->unroll * (sh->vec4 ? 4 : 1));
    uint32_t spec[4] = {FMA_PER_INVOCATION / per_trip, (uint32_t)sh->chains, (uint32_t)sh->vec4, (uint32_t)sh->unroll};
    if (rt_kernel_get(ctx, "peak_fma", spec, 4, &r->k)) return -1;
    size_t max_groups = rt_ctx_limits(ctx)->maxStorageBufferRange / (64 * 4);
    if (max_groups > (1u << 18)) max_groups = 1u << 18;
    size_t ng = 64;
    for (int pass = 0; pass < 2; pass++) {
        rt_groups_1d(ctx, ng * 64, 64, r->g);
        r->invocations = (size_t)r->g[0] * r->g[1] * r->g[2] * 64;
        rt_buffer_destroy(r->out);
        r->out = NULL;
        if (rt_buffer_create(ctx, r->invocations * 4, &r->out)) return -1;
        if (pass) break;
        rt_binding b = {r->out, 0, 0, 0};
        double best, med;
        if (time_dispatches(ctx, r->k, &b, 1, &FMA_PUSH, sizeof FMA_PUSH, r->g, 1, &best, &med) ||
            time_dispatches(ctx, r->k, &b, 1, &FMA_PUSH, sizeof FMA_PUSH, r->g, 2, &best, &med))
            return -1;
        double want = (double)ng * PEAK_TARGET_MS / (best > 1e-3 ? best : 1e-3);
        ng = want < 64 ? 64 : want > (double)max_groups ? max_groups : (size_t)want;
    }
    r->flops = 2.0 * spec[0] * per_trip * (double)r->invocations;
    r->ms = 1e30;
    return 0;
}

/* One command buffer of reps dispatches; keeps the best time. */
static int fma_round(rt_ctx *ctx, fma_run *r, int reps)
{
    rt_binding b = {r->out, 0, 0, 0};
    double best, med;
    if (time_dispatches(ctx, r->k, &b, 1, &FMA_PUSH, sizeof FMA_PUSH, r->g, reps, &best, &med)) return -1;
    if (best < r->ms) r->ms = best;
    return 0;
}

/* Streaming over n bytes (64 MiB, or the device's binding limit):
 * ms[0] peak_copy.comp copying and ms[1] reading (best dispatch,
 * timestamps), ms[2] vkCmdCopyBuffer (wall clock around one submit of reps
 * copies); PEAK_ROUNDS rounds of the three, the best of each counts.
 * *read_written: the bytes the read mode writes. */
static int peak_copy(rt_ctx *ctx, int reps, size_t *bytes, size_t *read_written, double ms[3])
{
    const VkPhysicalDeviceLimits *lim = rt_ctx_limits(ctx);
    size_t n = (size_t)64 << 20;
    if (n > lim->maxStorageBufferRange) n = lim->maxStorageBufferRange;
    if (n > (size_t)lim->maxTexelBufferElements * 16) n = (size_t)lim->maxTexelBufferElements * 16;
    n &= ~(((size_t)1 << 20) - 1);   /* read mode: whole loop trips in every workgroup */
    if (n == 0) {
        rt_set_error("the device's buffer bindings are under 1 MiB");
        return -1;
    }
    rt_buffer *src = NULL, *dst = NULL;
    rt_cmd *c = NULL;
    rt_kernel *k[2];
    uint32_t count = (uint32_t)(n / 16), g[2][3];
    rt_binding b[2][2];
    int cpu = rt_ctx_device(ctx)->type == RT_DEVICE_CPU;
    int rc = -1;
    if (rt_buffer_create(ctx, n, &src) || rt_buffer_create(ctx, n, &dst)) goto done;
    if (rt_cmd_begin(ctx, 0, &c) || rt_fill(c, src, 0, n / 4, 1.5f) || rt_cmd_submit(c, 1)) goto done;
    rt_cmd_free(c);
    c = NULL;
    for (int m = 0; m < 2; m++) {
        uint32_t spec = (uint32_t)m;
        /* read mode: a few large chunks per core on a CPU (each workgroup runs
         * on one thread), 1024 vec4s per workgroup elsewhere */
        size_t ngroups = m == 0 ? (count + 63) / 64 : cpu ? 64 : count / 1024;
        double best, med;
        if (rt_kernel_get(ctx, "peak_copy", &spec, 1, &k[m])) goto done;
        rt_groups_1d(ctx, ngroups * 64, 64, g[m]);
        b[m][0] = (rt_binding){src, 0, n, 1};
        b[m][1] = (rt_binding){dst, 0, m == 0 ? n : ngroups * 64 * 16, 0};
        /* warm-up: the JIT */
        if (time_dispatches(ctx, k[m], b[m], 2, &count, sizeof count, g[m], 1, &best, &med)) goto done;
    }
    if (rt_cmd_begin(ctx, 0, &c)) goto done;
    for (int i = 0; i < reps; i++)
        if (rt_cmd_copy(c, src, 0, dst, 0, n)) goto done;
    if (rt_cmd_end(c) || rt_cmd_submit(c, 1)) goto done;   /* warm-up */
    ms[0] = ms[1] = ms[2] = 1e30;
    for (int r = 0; r < PEAK_ROUNDS; r++) {
        for (int m = 0; m < 2; m++) {
            double best, med;
            if (time_dispatches(ctx, k[m], b[m], 2, &count, sizeof count, g[m], reps, &best, &med)) goto done;
            if (best < ms[m]) ms[m] = best;
        }
        double t0 = app_now();
        if (rt_cmd_submit(c, 1)) goto done;
        double t = (app_now() - t0) * 1e3 / reps;
        if (t < ms[2]) ms[2] = t;
    }
    *bytes = n;
    *read_written = b[1][1].size;
    rc = 0;
done:
    rt_cmd_free(c);
    rt_buffer_destroy(src);
    rt_buffer_destroy(dst);
    return rc;
}

static void fma_row(bench_report *rep, const fma_shape *sh, const char *shape, const fma_run *r, double gf)
{
    bench_row row;
    bench_row_init(&row, "peak_fma", "peak_fma");
    bench_str(&row, NULL, "shape", "34", shape);
    bench_str(&row, "fma", NULL, NULL, sh->vec4 ? "vec4" : "scalar");
    bench_int(&row, "chains", NULL, NULL, sh->chains);
    bench_int(&row, "unroll", NULL, NULL, sh->unroll);
    bench_int(&row, "fma_per_invocation", NULL, NULL, FMA_PER_INVOCATION);
    bench_int(&row, "invocations", "invocations", "12", (long long)r->invocations);
    bench_unit(bench_num(&row, "flops", "GFLOP", "10.3", r->flops), NULL, 1e-9);
    bench_num(&row, "ms", "ms", "10.3", r->ms);
    bench_num(&row, "gflops", "GFLOP/s", "10.2", gf);
    bench_add(rep, &row);
}

static void copy_row(bench_report *rep, const char *name, const char *what, double rd, double wr, double ms,
                     double gbps)
{
    bench_row row;
    bench_row_init(&row, name, "bandwidth");
    bench_str(&row, NULL, "what", "62", what);
    bench_int(&row, "bytes_read", NULL, NULL, (long long)rd);
    bench_int(&row, "bytes_written", NULL, NULL, (long long)wr);
    bench_num(&row, "ms", "ms", "9.3", ms);
    bench_num(&row, "gbps", "GB/s", "8.2", gbps);
    bench_add(rep, &row);
}

/* The bandwidth peak: the best of peak_copy.comp copying and reading and of
 * vkCmdCopyBuffer. */
static int measure_bandwidth(rt_ctx *ctx, int reps, bench_report *rep, bench_peak_info *pk)
{
    size_t n = 0, read_written = 0;
    double ms[3] = {0, 0, 0};
    if (peak_copy(ctx, reps, &n, &read_written, ms)) {
        rt_error_prefix("peak_copy");
        return -1;
    }
    /* bytes read and written by each */
    double rd[3] = {(double)n, (double)n, (double)n}, wr[3] = {(double)n, (double)read_written, (double)n};
    double *gbps[3] = {&pk->copy_gbps, &pk->read_gbps, &pk->copy_buffer_gbps};
    static const char *what[3] = {"peak_copy.comp copy (RGBA32F texel read, vec4 storage write)",
                                  "peak_copy.comp read (RGBA32F texel reads, 1/16 as many written)",
                                  "vkCmdCopyBuffer"};
    static const char *key[3] = {"peak_copy", "peak_read", "copy_buffer"};
    if (rep)
        bench_note(rep, "bandwidth (%zu MiB read per dispatch or copy; GB/s counts bytes read + written; "
                        "best of %d x %d)", n >> 20, PEAK_ROUNDS, reps);
    for (int i = 0; i < 3; i++) {
        *gbps[i] = (rd[i] + wr[i]) / (ms[i] * 1e-3) / 1e9;
        if (*gbps[i] > pk->bw_gbps) {
            pk->bw_gbps = *gbps[i];
            pk->bw_source = key[i];
        }
        if (rep) copy_row(rep, key[i], what[i], rd[i], wr[i], ms[i], *gbps[i]);
    }
    return 0;
}

int bench_measure_peak(rt_ctx *ctx, const bench_opts *o, bench_report *rep, bench_peak_info *pk)
{
    memset(pk, 0, sizeof *pk);
    pk->bw_source = "none";
    int reps = o->reps < 3 ? 3 : o->reps;
    if (rep)
        bench_note(rep, "fp32 FMA (peak_fma.comp: %d fma per invocation, 2 FLOPs each; best of %d x %d dispatches)",
                   FMA_PER_INVOCATION, PEAK_ROUNDS, reps);
    fma_run runs[NSHAPES];
    char shape[NSHAPES][48];
    int rc = -1;
    memset(runs, 0, sizeof runs);
    for (int i = 0; i < NSHAPES; i++) {
        const fma_shape *sh = &FMA_SHAPES[i];
        snprintf(shape[i], sizeof shape[i], "%s fma, %d chains, unroll %d", sh->vec4 ? "vec4" : "scalar",
                 sh->chains, sh->unroll);
        if (fma_prepare(ctx, sh, &runs[i])) {
            rt_error_prefix("peak_fma (%s)", shape[i]);
            goto done;
        }
    }
    /* rounds over all shapes, so that other load on the machine, which comes
     * and goes, does not favour one shape */
    for (int r = 0; r < PEAK_ROUNDS; r++)
        for (int i = 0; i < NSHAPES; i++)
            if (fma_round(ctx, &runs[i], reps)) {
                rt_error_prefix("peak_fma (%s)", shape[i]);
                goto done;
            }
    for (int i = 0; i < NSHAPES; i++) {
        double gf = runs[i].flops / (runs[i].ms * 1e-3) / 1e9;
        if (gf > pk->fma_gflops) {
            pk->fma_gflops = gf;
            memcpy(pk->fma_shape, shape[i], sizeof pk->fma_shape);
        }
        if (rep) fma_row(rep, &FMA_SHAPES[i], shape[i], &runs[i], gf);
    }
    rc = measure_bandwidth(ctx, reps, rep, pk);
done:
    for (int i = 0; i < NSHAPES; i++) rt_buffer_destroy(runs[i].out);
    return rc;
}

void bench_peak_object(bench_report *rep, const bench_peak_info *pk)
{
    bench_row row;
    bench_row_init(&row, NULL, "peak");
    bench_num(&row, "fma_gflops", "fp32 FMA", "10.2", pk->fma_gflops)->unit = "GFLOP/s";
    bench_str(&row, "fma_shape", "  best shape", NULL, pk->fma_shape);
    bench_num(&row, "bandwidth_gbps", "bandwidth", "10.2", pk->bw_gbps)->unit = "GB/s";
    bench_str(&row, "bandwidth_source", "  from", NULL, pk->bw_source);
    bench_num(&row, "copy_gbps", "  shader copy", "10.2", pk->copy_gbps)->unit = "GB/s";
    bench_num(&row, "read_gbps", "  shader read", "10.2", pk->read_gbps)->unit = "GB/s";
    bench_num(&row, "copy_buffer_gbps", "  vkCmdCopyBuffer", "10.2", pk->copy_buffer_gbps)->unit = "GB/s";
    bench_note(rep, "peak:");
    bench_object(rep, "peak", &row);
}

int bench_peak(const bench_opts *o, bench_report *rep, rt_ctx *ctx)
{
    bench_peak_info pk;
    if (bench_measure_peak(ctx, o, rep, &pk)) {
        fprintf(stderr, "%s: peak: %s\n", BENCH_PROG, rt_error());
        return 1;
    }
    bench_peak_object(rep, &pk);
    return 0;
}
