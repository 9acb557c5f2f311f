/* mala.c: `meg-bench mala`, latent MALA steps per second on
 * U(z) = E(G(z)) + ||z||^2/2 of an untrained model. */
#include "bench.h"
#include "samplers.h"
#include "megrun.h"

#include <stdlib.h>

typedef struct mala_cb { const meg_model *m; } mala_cb;
static g_tensor *latent_energy(g_graph *g, g_tensor *z, void *user)
{
    (void)g;
    const mala_cb *cb = user;
    return meg_mlp_apply(&cb->m->E, meg_mlp_apply(&cb->m->G, z));
}

static void mala_row(bench_report *rep, const bench_opts *o, const megrun *r, const g_plan_stats *st, double sps,
                     double acc, double plan_s)
{
    bench_row row;
    bench_row_init(&row, "mala", "mala");
    row.record = 1;
    bench_str(&row, "space", NULL, NULL, "latent");
    bench_int(&row, "width", NULL, NULL, r->cfg.width);
    bench_int(&row, "chains", NULL, NULL, o->chains);
    bench_int(&row, "steps", NULL, NULL, o->steps);
    bench_num(&row, "steps_per_s", "steps per second", "10.2", sps);
    bench_num(&row, "chain_steps_per_s", "chain-steps per second", "10.0", sps * o->chains);
    bench_num(&row, "acceptance", "acceptance (step size 0.05)", "10.4", acc);
    bench_int(&row, "dispatches_per_step", "dispatches per step", "10", st->dispatches);
    bench_plan_fields(&row, "flops_per_step", "FLOPs per step", st->flops, sps, plan_s);
    bench_add(rep, &row);
}

int bench_mala(const bench_opts *o, bench_report *rep, rt_ctx *unused)
{
    (void)unused;
    megrun r = {0};
    r.cfg = o->cfg;
    r.n = 1;
    meg_mala mala = {0};
    int have = 0, rc = -1;
    float *z = NULL;
    if (megrun_open(&r, o->device)) goto done;
    bench_device(rep, rt_ctx_device(r.ctx));
    mala_cb cb = {&r.m};
    meg_mala_opts mo = {.prefix = "bench", .chains = o->chains, .dim = r.cfg.zdim, .step_size = 0.05f, .prior = 1,
                        .seed = 3};
    if (meg_mala_build(r.m.g, &mo, latent_energy, &cb, &mala)) goto done;
    have = 1;
    double t0 = app_now();
    if (meg_mala_prepare(r.s, &mala)) goto done;
    double plan_s = app_now() - t0;
    z = malloc((size_t)o->chains * r.cfg.zdim * sizeof *z);
    if (!z) {
        rt_set_error("out of host memory");
        goto done;
    }
    meg_latents(z, (size_t)o->chains, r.cfg.zdim, 5);
    if (meg_mala_set_state(r.s, &mala, z) || meg_mala_run(r.s, &mala, 5, 0, 0) || meg_mala_reset_stats(r.s, &mala))
        goto done;
    t0 = app_now();
    if (meg_mala_run(r.s, &mala, o->steps, o->max_submit, 0)) goto done;
    double sps = o->steps / (app_now() - t0), acc = 0;
    if (meg_mala_acceptance(r.s, &mala, &acc, NULL)) goto done;
    g_plan_stats st;
    g_plan_stats_get(mala.p_step, &st);
    bench_note(rep, "latent MALA on E(G(z)) + ||z||^2/2, width %d, %d chains, %d steps", r.cfg.width, o->chains,
               o->steps);
    mala_row(rep, o, &r, &st, sps, acc, plan_s);
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: mala: %s\n", BENCH_PROG, rt_error());
    if (r.ctx && bench_validation(r.ctx)) rc = -1;
    if (have) meg_mala_release(&mala);
    free(z);
    megrun_close(&r);
    return rc ? 1 : 0;
}
