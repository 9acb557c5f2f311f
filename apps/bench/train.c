/* train.c: `meg-bench train`, MEG training iterations per second with the
 * whole iteration on the device, and what the plan costs. */
#include "bench.h"
#include "megrun.h"

enum { MIB = 1 << 20 };

static void train_row(bench_report *rep, const bench_opts *o, const megrun *r, const g_plan_stats *st, int its_done,
                      int submits, double its, double plan_s, double warm_s, const bench_peak_info *pk)
{
    bench_row row;
    bench_row_init(&row, "train", "train");
    row.record = 1;
    bench_str(&row, "data", NULL, NULL, o->data);
    bench_int(&row, "width", NULL, NULL, r->cfg.width);
    bench_int(&row, "hidden", NULL, NULL, r->cfg.hidden);
    bench_int(&row, "batch", NULL, NULL, r->cfg.batch);
    bench_int(&row, "n_energy", NULL, NULL, r->cfg.n_energy);
    bench_int(&row, "iters", NULL, NULL, its_done);
    bench_num(&row, "its_per_s", "iterations per second", "10.3", its);
    bench_int(&row, "dispatches_per_iter", "dispatches per iteration", "10", st->dispatches);
    bench_int(&row, "fused_dispatches_per_iter", "fused dispatches per iteration", "10", st->fused_groups);
    bench_num(&row, "submits_per_iter", "submits per iteration", "10.4", (double)submits / its_done);
    bench_unit(bench_int(&row, "arena_bytes", "arena", "10.2", (long long)st->arena_bytes), "MiB", 1.0 / MIB);
    bench_unit(bench_int(&row, "intermediate_bytes", "intermediates, without reuse", "10.2",
                         (long long)st->intermediate_bytes), "MiB", 1.0 / MIB);
    bench_unit(bench_int(&row, "param_bytes", "parameters", "10.2", (long long)st->param_bytes), "MiB", 1.0 / MIB);
    bench_unit(bench_int(&row, "state_bytes", "optimizer and generator state", "10.2", (long long)st->state_bytes),
               "MiB", 1.0 / MIB);
    bench_plan_fields(&row, "flops_per_iter", "FLOPs per iteration (matmul, conv)", st->flops, its, plan_s);
    bench_unit(bench_num(&row, "warmup_s", "first dispatches", "10.2", warm_s), "s", 0);
    if (rt_autotune_enabled(r->ctx))
        bench_int(&row, "autotune_measured", "matmul shapes autotuned (not cached)", "10", rt_autotune_measured(r->ctx));
    if (pk) {
        double share = pk->fma_gflops > 0 ? st->flops * its / 1e9 / pk->fma_gflops : 0;
        bench_unit(bench_num(&row, "fma_peak_gflops", "FMA peak (meg-bench peak)", "10.1", pk->fma_gflops), "GFLOP/s", 0);
        bench_unit(bench_num(&row, "share_of_fma_peak", "share of the FMA peak", "10.1", share), "%", 100);
    }
    bench_add(rep, &row);
}

int bench_train(const bench_opts *o, bench_report *rep, rt_ctx *unused)
{
    (void)unused;
    megrun r = {0};
    r.cfg = o->cfg;
    r.train_timestamps = o->profile;
    int rc = -1;
    if (megrun_load_data(&r, o->data, r.cfg.seed, NULL) || megrun_open(&r, o->device)) goto done;
    bench_device(rep, rt_ctx_device(r.ctx));
    double t0 = app_now();
    if (megrun_train_plan(&r)) goto done;
    double plan_s = app_now() - t0;
    g_plan_stats st;
    g_plan_stats_get(r.train, &st);
    /* warm-up: the driver compiles kernels at their first dispatch */
    t0 = app_now();
    if (g_plan_run(r.train, 2)) goto done;
    double warm_s = app_now() - t0;
    int done_its = 0, submits = 0;
    t0 = app_now();
    while (done_its < o->iters) {
        int k = o->iters - done_its < o->max_submit ? o->iters - done_its : o->max_submit;
        if (g_plan_run(r.train, k)) goto done;
        done_its += k;
        submits++;
    }
    double its = done_its / (app_now() - t0);
    bench_note(rep, "MEG training, %s, width %d, %d hidden, batch %d, %d energy updates", o->data, r.cfg.width,
               r.cfg.hidden, r.cfg.batch, r.cfg.n_energy);
    /* the peak after the timed iterations, so that its shaders do not warm
     * or cool anything the iterations use */
    bench_peak_info pk;
    if (o->peak && bench_measure_peak(r.ctx, o, NULL, &pk)) goto done;
    train_row(rep, o, &r, &st, done_its, submits, its, plan_s, warm_s, o->peak ? &pk : NULL);
    if (o->profile) {
        static char prof[1 << 16];
        if (g_plan_run(r.train, 1) || g_plan_profile(r.train, prof, sizeof prof)) goto done;
        fprintf(o->json ? stderr : stdout,
                "time per kernel of one iteration:\n%s"
                "(timed with a timestamp around every dispatch, which costs time of its own: the same\n"
                "iteration without them took %.1f ms above)\n",
                prof, its > 0 ? 1e3 / its : 0.0);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: train: %s\n", BENCH_PROG, rt_error());
    if (r.ctx && bench_validation(r.ctx)) rc = -1;
    megrun_close(&r);
    return rc ? 1 : 0;
}
