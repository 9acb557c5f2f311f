/* dispatch.c: `meg-bench dispatch`, the fixed cost of a dispatch: 1000
 * small fills in one command buffer, and one submit (and wait) each. */
#include "bench.h"

static void dispatch_row(bench_report *rep, const char *name, const char *what, int n, double us)
{
    bench_row row;
    bench_row_init(&row, name, "dispatch");
    bench_str(&row, NULL, "dispatch", "40", what);
    bench_int(&row, "dispatches", "dispatches", "10", n);
    bench_num(&row, "us_per_dispatch", "us per dispatch", "10.2", us);
    bench_add(rep, &row);
}

int bench_dispatch(const bench_opts *o, bench_report *rep, rt_ctx *ctx)
{
    (void)o;
    const int n = 1000, m = 200;
    rt_buffer *buf = NULL;
    rt_cmd *c = NULL;
    double t[5], one_cb, each;
    if (rt_buffer_create(ctx, (size_t)n * 256, &buf)) goto fail;
    /* warm-up (pipeline JIT) */
    if (rt_cmd_begin(ctx, 0, &c) || rt_fill(c, buf, 0, 64, 1.0f) || rt_cmd_submit(c, 1)) goto fail;
    rt_cmd_free(c);
    c = NULL;
    /* disjoint ranges: no barriers between them */
    if (rt_cmd_begin(ctx, 0, &c)) goto fail;
    for (int i = 0; i < n; i++)
        if (rt_fill(c, buf, (size_t)i * 256, 64, (float)i)) goto fail;
    if (rt_cmd_end(c)) goto fail;
    for (int r = 0; r < 5; r++) {
        double t0 = app_now();
        if (rt_cmd_submit(c, 1)) goto fail;
        t[r] = (app_now() - t0) * 1e6 / n;
    }
    one_cb = tc_median(t, 5);
    rt_cmd_free(c);
    c = NULL;
    if (rt_cmd_begin(ctx, 0, &c) || rt_fill(c, buf, 0, 64, 2.0f) || rt_cmd_end(c)) goto fail;
    for (int r = 0; r < 5; r++) {
        double t0 = app_now();
        for (int i = 0; i < m; i++)
            if (rt_cmd_submit(c, 1)) goto fail;
        t[r] = (app_now() - t0) * 1e6 / m;
    }
    each = tc_median(t, 5);
    rt_cmd_free(c);
    rt_buffer_destroy(buf);
    dispatch_row(rep, "dispatch_one_command_buffer", "1000 in one command buffer", n, one_cb);
    dispatch_row(rep, "dispatch_submit_each", "one submit and wait each", m, each);
    return 0;
fail:
    fprintf(stderr, "%s: dispatch: %s\n", BENCH_PROG, rt_error());
    rt_cmd_free(c);
    rt_buffer_destroy(buf);
    return 1;
}
