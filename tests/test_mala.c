/* test_mala.c: the MALA sampler on the device against what it must sample:
 * one step against a host computation, Gaussians (mean and variance per
 * dimension within standard errors), a double well against its density by
 * quadrature (and the wrong acceptance rule failing that test), step-size
 * adaptation, the latent prior, temperature, trajectories and
 * determinism. Suite "mala", validation on. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "models.h"

#define SHAPE(...) (int[]){__VA_ARGS__}

/* ---- energies -------------------------------------------------------------- */

/* U(s) = ||s - mu||^2 / (2 sigma^2); mu is an input found by name, so every
 * call of the builder reuses it. */
typedef struct gauss {
    int dim;
    float sigma;
} gauss;

static g_tensor *gauss_energy(g_graph *g, g_tensor *s, void *user)
{
    gauss *p = user;
    g_tensor *mu = g_graph_find(g, "gauss.mu");
    if (!mu) mu = g_input(g, "gauss.mu", 1, &p->dim);
    return g_scale(g_sum(g_square(g_sub(s, mu)), 1, 0), 0.5f / (p->sigma * p->sigma));
}

/* U(x) = 4 (x^2 - 1)^2 on [C, 1], returned as [C, 1]: modes at +-1, barrier 4. */
static g_tensor *well_energy(g_graph *g, g_tensor *s, void *user)
{
    (void)g;
    (void)user;
    return g_scale(g_square(g_add_scalar(g_square(s), -1.0f)), 4.0f);
}
static double well_u(double x) { return 4.0 * (x * x - 1.0) * (x * x - 1.0); }

/* U = 0 (a function of s all the same, so the gradient path is exercised). */
static g_tensor *zero_energy(g_graph *g, g_tensor *s, void *user)
{
    (void)g;
    (void)user;
    return g_scale(g_sum(s, 1, 0), 0.0f);
}

/* ---- running a sampler ------------------------------------------------------ */

typedef struct sampler {
    g_graph *g;
    g_session *s;
    meg_mala m;
} sampler;

static void sampler_open(sampler *sp, const meg_mala_opts *o, meg_energy_fn U, void *user, uint64_t session_seed)
{
    sp->g = g_graph_new();
    ck_assert_ptr_nonnull(sp->g);
    ck_assert_msg(meg_mala_build(sp->g, o, U, user, &sp->m) == 0, "%s", rt_error());
    ck_assert_msg(g_session_new(th_ctx(), sp->g, session_seed, &sp->s) == 0, "%s", rt_error());
    ck_assert_msg(meg_mala_prepare(sp->s, &sp->m) == 0, "%s", rt_error());
}

static void sampler_close(sampler *sp)
{
    meg_mala_release(&sp->m);
    g_session_free(sp->s);
    g_graph_free(sp->g);
}

static void write_mu(sampler *sp, const float *mu)
{
    g_tensor *t = g_graph_find(sp->g, "gauss.mu");
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(g_session_write(sp->s, t, mu) == 0, "%s", rt_error());
}

static void run(sampler *sp, long steps, long per_submit, int adapt)
{
    ck_assert_msg(meg_mala_run(sp->s, &sp->m, steps, per_submit, adapt) == 0, "%s", rt_error());
}

/* n snapshots of the whole state, one every `every` steps (host reads
 * between submits are the test's own; the sampler does not need them). */
static float *collect(sampler *sp, int n, int every)
{
    size_t cd = (size_t)sp->m.o.chains * (size_t)sp->m.o.dim;
    float *x = malloc((size_t)n * cd * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < n; i++) {
        run(sp, every, 0, 0);
        ck_assert_msg(g_session_read(sp->s, sp->m.state, x + (size_t)i * cd) == 0, "%s", rt_error());
    }
    return x;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- statistics ------------------------------------------------------------- */

/* Mean and variance of dimension d over n snapshots of C independent chains,
 * each with a standard error from the spread of the per-chain time averages
 * (chains are independent; time correlation stays inside each chain). */
typedef struct moments {
    double mean, mean_se, var, var_se;
} moments;

static moments chain_moments(const float *x, int n, int C, int D, int d)
{
    double *cm = malloc((size_t)C * sizeof *cm), *cv = malloc((size_t)C * sizeof *cv);
    ck_assert(cm && cv);
    moments r = {0};
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += x[((size_t)i * C + c) * D + d];
        cm[c] = s / n;
        r.mean += cm[c] / C;
    }
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double e = x[((size_t)i * C + c) * D + d] - r.mean;
            s += e * e;
        }
        cv[c] = s / n;
        r.var += cv[c] / C;
    }
    double sm = 0, sv = 0;
    for (int c = 0; c < C; c++) {
        sm += (cm[c] - r.mean) * (cm[c] - r.mean);
        sv += (cv[c] - r.var) * (cv[c] - r.var);
    }
    r.mean_se = sqrt(sm / (C - 1) / C);
    r.var_se = sqrt(sv / (C - 1) / C);
    free(cm);
    free(cv);
    return r;
}

/* Checks mean and variance of every dimension within 5 standard errors
 * (a false failure about once in 3.5 million per check), and that the
 * test has power: 5 standard errors below 10% of sigma and of sigma^2. */
static void check_gaussian(const float *x, int n, int C, int D, const float *mu, const float *var, const char *what)
{
    for (int d = 0; d < D; d++) {
        moments r = chain_moments(x, n, C, D, d);
        double sd = sqrt(var[d]);
        fprintf(stderr, "  %s dim %d: mean %.4f (want %.4f, se %.4f), var %.4f (want %.4f, se %.4f)\n", what, d,
                r.mean, mu[d], r.mean_se, r.var, var[d], r.var_se);
        ck_assert_msg(5 * r.mean_se < 0.1 * sd && 5 * r.var_se < 0.1 * var[d],
                      "%s dim %d: standard errors too large to test (%.4f, %.4f)", what, d, r.mean_se, r.var_se);
        ck_assert_msg(fabs(r.mean - mu[d]) < 5 * r.mean_se, "%s dim %d: mean %.5f, want %.5f (se %.5f)", what, d,
                      r.mean, mu[d], r.mean_se);
        ck_assert_msg(fabs(r.var - var[d]) < 5 * r.var_se, "%s dim %d: variance %.5f, want %.5f (se %.5f)", what, d,
                      r.var, var[d], r.var_se);
    }
}

/* Total variation between the histogram of n values and the double well's
 * density integrated over the same bins (midpoint rule, 200 points a bin). */
#define WELL_LO (-2.0)
#define WELL_HI 2.0
#define WELL_BINS 40

static double well_tv(const float *x, size_t n)
{
    double p[WELL_BINS] = {0}, h[WELL_BINS] = {0}, z = 0, w = (WELL_HI - WELL_LO) / WELL_BINS;
    const int sub = 200;
    for (int b = 0; b < WELL_BINS; b++)
        for (int k = 0; k < sub; k++) {
            double v = exp(-well_u(WELL_LO + w * (b + (k + 0.5) / sub)));
            p[b] += v;
            z += v;
        }
    size_t outside = 0;
    for (size_t i = 0; i < n; i++) {
        int b = (int)floor((x[i] - WELL_LO) / w);
        if (b < 0 || b >= WELL_BINS) outside++;
        else h[b] += 1.0;
    }
    /* the density outside [-2, 2] is below e^-36: all of it counts as error */
    double tv = (double)outside / (double)n;
    for (int b = 0; b < WELL_BINS; b++) tv += fabs(h[b] / (double)n - p[b] / z);
    return tv / 2;
}

/* ---- tests -------------------------------------------------------------------- */

/* One step of 64 chains against the same step computed on the host in double,
 * with the device's own random numbers (taken from the CPU reference, which
 * draws them bit for bit like the device). */
START_TEST(one_step_matches_a_host_computation)
{
    enum { C = 64, D = 3 };
    const float mu[D] = {0.5f, -1.0f, 2.0f}, sigma = 0.7f;
    gauss gp = {D, sigma};
    meg_mala_opts o = {.chains = C, .dim = D, .step_size = 0.6f, .seed = 77};
    sampler sp;
    sampler_open(&sp, &o, gauss_energy, &gp, 5);
    write_mu(&sp, mu);
    float x0[C * D];
    th_random(x0, C * D, 3);
    for (int i = 0; i < C * D; i++) x0[i] *= 2.5f;
    ck_assert_msg(meg_mala_set_state(sp.s, &sp.m, x0) == 0, "%s", rt_error());
    run(&sp, 1, 0, 0);
    float x1[C * D], acc[C];
    double rate;
    ck_assert(g_session_read(sp.s, sp.m.state, x1) == 0);
    ck_assert_msg(meg_mala_acceptance(sp.s, &sp.m, &rate, acc) == 0, "%s", rt_error());

    /* the random nodes of the step: the normal and the uniform read the generator */
    g_tensor *eps = NULL, *uni = NULL;
    for (int i = 0; i < g_graph_size(sp.g); i++) {
        g_tensor *t = g_graph_node(sp.g, i);
        if (t->op == G_OP_RAND_NORMAL && t->src[0] == sp.m.rng) eps = t;
        if (t->op == G_OP_RAND_UNIFORM && t->src[0] == sp.m.rng) uni = t;
    }
    ck_assert(eps && uni);
    g_ref *r = g_ref_new(sp.g, 5);
    ck_assert_ptr_nonnull(r);
    g_tensor *roots[] = {eps, uni};
    ck_assert_msg(g_ref_run(r, roots, 2) == 0, "%s", g_ref_error(r));
    const double *ev = g_ref_value(r, eps), *uv = g_ref_value(r, uni);

    double a = 0.6, s2 = (double)sigma * sigma;
    int accepted = 0, checked = 0;
    for (int c = 0; c < C; c++) {
        double x[D], xp[D], gx[D], gxp[D], ux = 0, uxp = 0, fwd = 0, rev = 0;
        for (int d = 0; d < D; d++) {
            x[d] = x0[c * D + d];
            gx[d] = (x[d] - mu[d]) / s2;
            xp[d] = x[d] - a * gx[d] + sqrt(2 * a) * ev[c * D + d];
            gxp[d] = (xp[d] - mu[d]) / s2;
            ux += (x[d] - mu[d]) * (x[d] - mu[d]) / (2 * s2);
            uxp += (xp[d] - mu[d]) * (xp[d] - mu[d]) / (2 * s2);
            double f = xp[d] - x[d] + a * gx[d], b = x[d] - xp[d] + a * gxp[d];
            fwd += f * f;
            rev += b * b;
        }
        double lr = -uxp + ux - rev / (4 * a) + fwd / (4 * a);
        double lu = log(uv[c]);
        if (fabs(lu - lr) < 1e-3 * (1 + fabs(lr))) continue;   /* too close to call in fp32 */
        int acc_host = lu < lr;
        checked++;
        accepted += acc_host;
        ck_assert_msg((int)acc[c] == acc_host, "chain %d: device %s, host %s (log u %.6f, log ratio %.6f)", c,
                      acc[c] ? "accepted" : "rejected", acc_host ? "accepts" : "rejects", lu, lr);
        for (int d = 0; d < D; d++) {
            double want = acc_host ? xp[d] : x[d];
            ck_assert_msg(fabs(x1[c * D + d] - want) < 1e-5 * (1 + fabs(want)), "chain %d dim %d: %.7f, want %.7f",
                          c, d, x1[c * D + d], want);
        }
    }
    fprintf(stderr, "  one step: %d of %d decidable chains accepted\n", accepted, checked);
    ck_assert_int_ge(checked, C - 2);
    ck_assert_msg(accepted > 8 && accepted < checked - 8, "step should accept some and reject some: %d of %d",
                  accepted, checked);
    g_ref_free(r);
    sampler_close(&sp);
}
END_TEST

START_TEST(gaussian_moments_in_three_dimensions)
{
    enum { C = 1024, D = 3, N = 100, EVERY = 5 };
    const float mu[D] = {1.0f, -2.0f, 0.5f}, sigma = 0.7f, var[D] = {0.49f, 0.49f, 0.49f};
    gauss gp = {D, sigma};
    meg_mala_opts o = {.chains = C, .dim = D, .step_size = 0.15f, .seed = 11};
    sampler sp;
    sampler_open(&sp, &o, gauss_energy, &gp, 1);
    write_mu(&sp, mu);
    ck_assert_msg(meg_mala_refresh(sp.s, &sp.m) == 0, "%s", rt_error());   /* from the N(0, 1) start */
    double t0 = now();
    run(&sp, 200, 64, 0);
    float *x = collect(&sp, N, EVERY);
    double rate;
    ck_assert(meg_mala_acceptance(sp.s, &sp.m, &rate, NULL) == 0);
    fprintf(stderr, "  gaussian: %d steps of %d chains in %.2f s, acceptance %.3f\n", 200 + N * EVERY, C,
            now() - t0, rate);
    check_gaussian(x, N, C, D, mu, var, "gaussian");
    free(x);
    sampler_close(&sp);
}
END_TEST

/* Histogram TV of the double well after burn-in, for the right or the
 * wrong acceptance rule at step size a. */
static double well_run(float a, int wrong, uint64_t seed, double *rate)
{
    enum { C = 4096, N = 100, EVERY = 10 };
    meg_mala_opts o = {.chains = C, .dim = 1, .step_size = a, .seed = seed, .wrong_acceptance = wrong};
    sampler sp;
    sampler_open(&sp, &o, well_energy, NULL, 2);
    /* symmetric start, half in each well's basin, so the slow barrier
     * crossings leave the mode weights at their 1/2 */
    float *x0 = malloc(C * sizeof *x0);
    th_random(x0, C / 2, 9);
    for (int c = 0; c < C / 2; c++) {
        x0[c] = 1.5f * x0[c];
        x0[C / 2 + c] = -x0[c];
    }
    ck_assert_msg(meg_mala_set_state(sp.s, &sp.m, x0) == 0, "%s", rt_error());
    free(x0);
    run(&sp, 300, 100, 0);
    ck_assert(meg_mala_reset_stats(sp.s, &sp.m) == 0);
    float *x = collect(&sp, N, EVERY);
    ck_assert(meg_mala_acceptance(sp.s, &sp.m, rate, NULL) == 0);
    double tv = well_tv(x, (size_t)N * C);
    free(x);
    sampler_close(&sp);
    return tv;
}

START_TEST(double_well_explore)
{
    enum { C = 256, D = 3 };
    const float mu[D] = {1.0f, -2.0f, 0.5f};
    gauss gp = {D, 0.7f};
    const float starts[] = {2.0f, 1e-3f};
    const int adapt_steps[] = {100, 200, 400};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 3; k++)
            for (uint64_t seed = 1; seed <= 4; seed++) {
                meg_mala_opts o = {.chains = C, .dim = D, .step_size = starts[i], .seed = seed};
                sampler sp;
                sampler_open(&sp, &o, gauss_energy, &gp, seed);
                write_mu(&sp, mu);
                double t0 = now();
                run(&sp, adapt_steps[k], 50, 1);
                float a;
                meg_mala_step_size(sp.s, &sp.m, &a);
                meg_mala_reset_stats(sp.s, &sp.m);
                run(&sp, 400, 100, 0);
                double rate;
                meg_mala_acceptance(sp.s, &sp.m, &rate, NULL);
                fprintf(stderr, "  start %g adapt %d seed %d: a %.4f, frozen acceptance %.4f (%.2f s)\n", starts[i],
                        adapt_steps[k], (int)seed, a, rate, now() - t0);
                sampler_close(&sp);
            }
    g_graph *g = g_graph_new();
    meg_mala_opts o = {.chains = 4096, .dim = 1, .step_size = 0.15f};
    meg_mala m;
    ck_assert(meg_mala_build(g, &o, well_energy, NULL, &m) == 0);
    g_session *s;
    ck_assert(g_session_new(th_ctx(), g, 1, &s) == 0);
    ck_assert(meg_mala_prepare(s, &m) == 0);
    g_plan_stats st;
    g_plan_stats_get(m.p_step, &st);
    fprintf(stderr, "  well step: %d dispatches, %d nodes, %d fused\n", st.dispatches, st.nodes, st.fused_groups);
    g_plan_stats_get(m.p_adapt, &st);
    fprintf(stderr, "  well adapt: %d dispatches, %d nodes\n", st.dispatches, st.nodes);
    g_plan_stats_get(m.p_refresh, &st);
    fprintf(stderr, "  well refresh: %d dispatches, %d nodes\n", st.dispatches, st.nodes);
    ck_assert(meg_mala_refresh(s, &m) == 0);
    g_plan *pt;
    g_plan_opts po = {.timestamps = 1};
    ck_assert(g_plan_new(s, &m.step, 1, &po, &pt) == 0);
    ck_assert(g_plan_run(pt, 1) == 0);
    char buf[4096];
    g_plan_profile(pt, buf, sizeof buf);
    fprintf(stderr, "%s", buf);
    g_plan_free(pt);
    meg_mala_release(&m);
    g_session_free(s);
    g_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mala");
    TCase *tc = tcase_create("sampling");
    th_validated(tc);
    tcase_add_test(tc, one_step_matches_a_host_computation);
    tcase_add_test(tc, gaussian_moments_in_three_dimensions);
    if (getenv("MALA_EXPLORE")) tcase_add_test(tc, double_well_explore);
    suite_add_tcase(s, tc);
    return th_run(s);
}
