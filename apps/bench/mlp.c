/* mlp.c: `meg-bench mlp`, a 4-layer 512-wide MLP (batch 256) forward and
 * backward, planned with and without fusion. */
#include "bench.h"

#include <stdlib.h>

enum { B = 256, W = 512, L = 4, MIB = 1 << 20 };

/* Plans roots (fused or not), runs it twice (the JIT), then times reps runs in one submit. */
static int mlp_run(const bench_opts *o, bench_report *rep, g_session *s, g_tensor **roots, int nroots, int fusion)
{
    g_plan_opts po = {.no_fusion = !fusion};
    g_plan *p;
    if (g_plan_new(s, roots, nroots, &po, &p)) return -1;
    g_plan_stats st;
    g_plan_stats_get(p, &st);
    double t0 = 0, ms = 0;
    int rc = g_plan_run(p, 2);
    if (!rc) {
        t0 = app_now();
        rc = g_plan_run(p, o->reps);
        ms = (app_now() - t0) * 1e3 / o->reps;
    }
    g_plan_free(p);
    if (rc) return -1;
    bench_row row;
    bench_row_init(&row, "mlp", "mlp");
    bench_bool(&row, "fusion", "fusion", "6", fusion);
    bench_int(&row, "dispatches", "dispatches", "10", st.dispatches);
    bench_int(&row, "fused_groups", "fused", "8", st.fused_groups);
    bench_unit(bench_int(&row, "arena_bytes", "arena", "10.2", (long long)st.arena_bytes), "MiB", 1.0 / MIB);
    bench_unit(bench_int(&row, "intermediate_bytes", "intermediates", "10.2", (long long)st.intermediate_bytes),
               "MiB", 1.0 / MIB);
    bench_num(&row, "ms_per_run", "ms/run", "10.2", ms);
    bench_add(rep, &row);
    return 0;
}

int bench_mlp(const bench_opts *o, bench_report *rep, rt_ctx *ctx)
{
    g_graph *g = g_graph_new();
    g_session *s = NULL;
    float *xv = malloc((size_t)B * W * sizeof *xv);
    g_tensor *params[2 * L], *roots[2 * L + 1];
    int np = 0, rc = 1;
    if (!g || !xv) {
        rt_set_error("out of host memory");
        goto done;
    }
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(B, W));
    g_tensor *h = tc_mlp(g, x, W, L, W, params, &np);
    roots[0] = h ? g_mean_all(g_square(h)) : NULL;
    if (!roots[0] || g_grad(g, roots[0], params, 2 * L, roots + 1) || g_session_new(ctx, g, 1, &s)) goto done;
    tc_random(xv, (size_t)B * W, 3);
    if (g_session_write(s, x, xv)) goto done;
    bench_note(rep, "4-layer MLP, width %d, batch %d: forward and backward (gradients of all 8 parameters), "
                    "%d runs in one submit", W, B, o->reps);
    if (mlp_run(o, rep, s, roots, 2 * L + 1, 1) || mlp_run(o, rep, s, roots, 2 * L + 1, 0)) goto done;
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: mlp: %s\n", BENCH_PROG, g && g_graph_error(g) ? g_graph_error(g) : rt_error());
    free(xv);
    g_session_free(s);
    g_graph_free(g);
    return rc;
}
