/* matmul.c: `meg-bench matmul`, and the matmul timing `kernels` shares. */
#include "bench.h"

#include <stdlib.h>

const unsigned BENCH_MATMUL_SHAPES[6][3] = {{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024},
                                            {256, 2, 512},   {256, 512, 512}, {256, 784, 512}};

int bench_time_matmul(rt_ctx *ctx, const rt_matmul_desc *d, int reps, double *ms_out)
{
    size_t na = (size_t)d->m * d->k, nb = (size_t)d->k * d->n, nc = (size_t)d->m * d->n;
    rt_buffer *a = NULL, *b = NULL, *c = NULL;
    float *h = malloc((na > nb ? na : nb) * sizeof *h);
    int rc = -1;
    rt_cmd *cmd = NULL;
    if (!h) {
        rt_set_error("out of host memory");
        return -1;
    }
    if (rt_buffer_create(ctx, na * 4, &a) || rt_buffer_create(ctx, nb * 4, &b) || rt_buffer_create(ctx, nc * 4, &c))
        goto done;
    tc_random(h, na, 1);
    if (rt_buffer_write(a, 0, h, na * 4)) goto done;
    tc_random(h, nb, 2);
    if (rt_buffer_write(b, 0, h, nb * 4)) goto done;
    rt_binding ba = {a, 0, 0, 0}, bb = {b, 0, 0, 0}, bc = {c, 0, 0, 0};
    /* warm-up: the driver compiles at the first dispatch */
    if (rt_cmd_begin(ctx, 0, &cmd) || rt_matmul(cmd, d, ba, bb, bc) || rt_cmd_submit(cmd, 1)) goto done;
    rt_cmd_free(cmd);
    cmd = NULL;
    if (rt_cmd_begin(ctx, RT_CMD_TIMESTAMPS, &cmd)) goto done;
    for (int i = 0; i < reps; i++)
        if (rt_matmul(cmd, d, ba, bb, bc)) goto done;
    double t0 = app_now();
    if (rt_cmd_submit(cmd, 1)) goto done;
    double wall = (app_now() - t0) * 1e3 / reps;
    double t[256];
    int nt = 0;
    for (int i = 0; i < reps && i < 256; i++) {
        double ms;
        if (rt_cmd_timing(cmd, i, &ms, NULL)) break;
        t[nt++] = ms;
    }
    *ms_out = nt == reps ? tc_median(t, nt) : wall;
    rc = 0;
done:
    rt_cmd_free(cmd);
    rt_buffer_destroy(a);
    rt_buffer_destroy(b);
    rt_buffer_destroy(c);
    free(h);
    return rc;
}

int bench_matmul(const bench_opts *o, bench_report *rep, rt_ctx *ctx)
{
    int ns = o->nshapes ? o->nshapes : 6;
    int v0 = o->variant < 0 ? 0 : o->variant, v1 = o->variant < 0 ? rt_matmul_variants() - 1 : o->variant;
    const char *layout = o->ta ? (o->tb ? "tt" : "tn") : (o->tb ? "nt" : "nn");
    for (int s = 0; s < ns; s++) {
        const unsigned *sh = o->nshapes ? o->shapes[s] : BENCH_MATMUL_SHAPES[s];
        for (int v = v0; v <= v1; v++) {
            rt_matmul_desc d = {.m = sh[0], .k = sh[1], .n = sh[2], .transpose_a = o->ta, .transpose_b = o->tb,
                                .variant = v};
            double ms;
            if (bench_time_matmul(ctx, &d, o->reps, &ms)) {
                fprintf(stderr, "%s: matmul %ux%ux%u: %s\n", BENCH_PROG, sh[0], sh[1], sh[2], rt_error());
                return 1;
            }
            char name[64];
            snprintf(name, sizeof name, "%ux%ux%u", sh[0], sh[1], sh[2]);
            bench_row row;
            bench_row_init(&row, "matmul", "matmul");
            bench_str(&row, NULL, "matmul (M x K x N)", "22", name);
            bench_int(&row, "m", NULL, NULL, sh[0]);
            bench_int(&row, "k", NULL, NULL, sh[1]);
            bench_int(&row, "n", NULL, NULL, sh[2]);
            bench_str(&row, "layout", "layout", "8", layout);
            bench_int(&row, "variant", "variant", "7", v);
            bench_num(&row, "ms", "ms", "10.3", ms);
            bench_num(&row, "gflops", "GFLOP/s", "10.2", 2.0 * sh[0] * sh[1] * sh[2] / (ms * 1e-3) / 1e9);
            bench_add(rep, &row);
        }
    }
    return 0;
}
