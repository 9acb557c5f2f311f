/* test_rbm.c: the restricted Boltzmann machine (models/rbm.h) against what
 * can be computed exactly: Bernoulli draws and their (absent) gradient; the
 * free-energy gradient against the explicit outer products; on an RBM of
 * 10 visible and 8 hidden units, AIS's log Z against enumeration and the
 * visible histogram of long Gibbs chains on the device against the exact
 * marginal (a wrong conditional must fail the same threshold); updates on
 * the device against the CPU reference; CD-1 and PCD-1 on a tiny set
 * raising its exact log-likelihood; checkpoints reloaded bit-exact.
 * Validation on. */
#include "harness.h"
#include "filetest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "rbm.h"

/* ---- Bernoulli draws ---------------------------------------------------------- */

START_TEST(bernoulli_frequencies_and_no_gradient)
{
    enum { PER = 20000, LEVELS = 5 };
    const float lv[LEVELS] = {0.0f, 0.1f, 0.5f, 0.93f, 1.0f};
    g_graph *g = g_graph_new();
    g_tensor *p = g_input(g, "p", 2, G_SHAPE(LEVELS, PER));
    g_tensor *rng = g_rng(g, "rng", 11);
    g_tensor *x = g_bernoulli(rng, p), *dp;
    ck_assert_msg(x && g_grad(g, g_sum_all(g_mul(x, p)), &p, 1, &dp) == 0, "%s", g_graph_error(g));
    float *pv = malloc(LEVELS * PER * sizeof *pv), *xv = malloc(LEVELS * PER * sizeof *xv);
    float *dv = malloc(LEVELS * PER * sizeof *dv);
    for (int l = 0; l < LEVELS; l++)
        for (int j = 0; j < PER; j++) pv[l * PER + j] = lv[l];
    g_session *s;
    g_plan *pl;
    g_tensor *roots[2] = {x, dp};
    ck_assert_msg(g_session_new(th_ctx(), g, 1, &s) == 0 && g_session_write(s, p, pv) == 0 &&
                  g_plan_new(s, roots, 2, NULL, &pl) == 0 && g_plan_run(pl, 1) == 0 &&
                  g_session_read(s, x, xv) == 0 && g_session_read(s, dp, dv) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(g, 1);
    ck_assert(r && g_ref_write_f(r, p, pv) == 0 && g_ref_run(r, roots, 2) == 0);
    const double *rx = g_ref_value(r, x);
    int differ = 0;
    for (int l = 0; l < LEVELS; l++) {
        double m = 0;
        for (int j = 0; j < PER; j++) {
            float v = xv[l * PER + j];
            ck_assert(v == 0.0f || v == 1.0f);
            ck_assert(dv[l * PER + j] == v);   /* d/dp of x p is x: nothing flows into the draw */
            differ += v != (float)rx[l * PER + j];
            m += v;
        }
        m /= PER;
        double sd = sqrt(lv[l] * (1 - lv[l]) / PER);
        ck_assert_msg(fabs(m - lv[l]) <= 5 * sd, "p %g: frequency %g (sd %g)", lv[l], m, sd);
    }
    ck_assert_msg(differ <= 2, "%d draws differ between the device and the reference", differ);
    g_ref_free(r);
    g_plan_free(pl);
    g_session_free(s);
    g_graph_free(g);
    free(pv), free(xv), free(dv);
    /* only a generator draws */
    g = g_graph_new();
    p = g_input(g, "p", 1, G_SHAPE(3));
    ck_assert_ptr_null(g_bernoulli(p, p));
    ck_assert_ptr_nonnull(strstr(g_graph_error(g), "bernoulli"));
    g_graph_free(g);
}
END_TEST

/* ---- the gradient of the free-energy difference ------------------------------------- */

START_TEST(free_energy_gradient_is_the_outer_products)
{
    enum { B = 5, V = 7, H = 4 };
    g_graph *g = g_graph_new();
    meg_rbm_net n;
    ck_assert_msg(meg_rbm_net_make(g, "rbm", V, H, 0.7f, &n) == 0, "%s", rt_error());
    g_tensor *v0 = g_input(g, "v0", 2, G_SHAPE(B, V)), *vk = g_input(g, "vk", 2, G_SHAPE(B, V));
    g_tensor *L = g_sub(g_mean_all(meg_rbm_free_energy(&n, v0)), g_mean_all(meg_rbm_free_energy(&n, g_stop_gradient(vk))));
    g_tensor *params[3] = {n.W, n.b, n.c}, *gr[3];
    ck_assert_msg(g_grad(g, L, params, 3, gr) == 0, "%s", g_graph_error(g));
    float a[B * V], bk[B * V];
    th_random(a, B * V, 1);
    th_random(bk, B * V, 2);
    for (int i = 0; i < B * V; i++) a[i] = a[i] > 0, bk[i] = bk[i] > 0.3f;
    g_ref *r = g_ref_new(g, 9);
    g_tensor *roots[4] = {gr[0], gr[1], gr[2], params[0]};
    ck_assert(g_ref_write_f(r, v0, a) == 0 && g_ref_write_f(r, vk, bk) == 0 && g_ref_run(r, roots, 4) == 0);
    const double *W = g_ref_value(r, n.W), *c = g_ref_value(r, n.c);
    /* (the means scale by 1/B as an fp32 constant: agreement to 1e-7, not 1e-15) */
    /* dL/dW = -(v0' sigma(v0 W + c) - vk' sigma(vk W + c)) / B; db = -(sum v0 - sum vk) / B; dc likewise */
    double eW[V * H] = {0}, eb[V] = {0}, ec[H] = {0};
    for (int s = 0; s < 2; s++) {
        const float *v = s ? bk : a;
        double sign = s ? 1.0 / B : -1.0 / B;
        for (int r0 = 0; r0 < B; r0++) {
            for (int j = 0; j < H; j++) {
                double act = c[j];
                for (int i = 0; i < V; i++) act += v[r0 * V + i] * W[i * H + j];
                double ph = 1 / (1 + exp(-act));
                ec[j] += sign * ph;
                for (int i = 0; i < V; i++) eW[i * H + j] += sign * v[r0 * V + i] * ph;
            }
            for (int i = 0; i < V; i++) eb[i] += sign * v[r0 * V + i];
        }
    }
    for (int i = 0; i < V * H; i++) ck_assert_msg(fabs(g_ref_value(r, gr[0])[i] - eW[i]) < 1e-7, "W %d: %.17g vs %.17g", i, g_ref_value(r, gr[0])[i], eW[i]);
    for (int i = 0; i < V; i++) ck_assert_double_eq_tol(g_ref_value(r, gr[1])[i], eb[i], 1e-7);
    for (int j = 0; j < H; j++) ck_assert_double_eq_tol(g_ref_value(r, gr[2])[j], ec[j], 1e-7);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

/* ---- a small RBM, exactly ---------------------------------------------------------- */

enum { SV = 10, SH = 8 };
static float sW[SV * SH], sb[SV], sc[SH];

/* W uniform on [-1.5, 1.5), biases on [-1, 1): couplings strong enough that the marginal is far from independent */
static meg_rbm_weights small_rbm(void)
{
    th_random(sW, SV * SH, 21);
    th_random(sb, SV, 22);
    th_random(sc, SH, 23);
    for (int i = 0; i < SV * SH; i++) sW[i] *= 1.5f;
    return (meg_rbm_weights){SV, SH, sW, sb, sc};
}

START_TEST(exact_log_z_agrees_both_ways)
{
    meg_rbm_weights w = small_rbm();
    double lz, lzt;
    ck_assert_msg(meg_rbm_log_z_exact(&w, &lz) == 0, "%s", rt_error());
    /* the transposed model (visible and hidden swapped) has the same Z; here it enumerates the other layer */
    float Wt[SV * SH];
    for (int i = 0; i < SV; i++)
        for (int j = 0; j < SH; j++) Wt[j * SV + i] = sW[i * SH + j];
    meg_rbm_weights t = {SH, SV, Wt, sc, sb};
    ck_assert_msg(meg_rbm_log_z_exact(&t, &lzt) == 0, "%s", rt_error());
    ck_assert_msg(fabs(lz - lzt) < 1e-10, "log Z %.12f and %.12f", lz, lzt);
    /* and a model with W = 0: log Z = sum softplus(b) + sum softplus(c) */
    float z[SV * SH] = {0};
    meg_rbm_weights w0 = {SV, SH, z, sb, sc};
    double want = 0;
    for (int i = 0; i < SV; i++) want += log1p(exp(sb[i]));
    for (int j = 0; j < SH; j++) want += log1p(exp(sc[j]));
    ck_assert_msg(meg_rbm_log_z_exact(&w0, &lz) == 0 && fabs(lz - want) < 1e-10, "%.12f vs %.12f", lz, want);
}
END_TEST

START_TEST(ais_log_z_matches_enumeration)
{
    meg_rbm_weights w = small_rbm();
    double exact;
    ck_assert(meg_rbm_log_z_exact(&w, &exact) == 0);
    float base[SV];
    for (int i = 0; i < SV; i++) base[i] = sb[i];   /* a base model with the RBM's visible biases */
    meg_rbm_ais_opts o;
    meg_rbm_ais_opts_default(&o);
    o.runs = 200;
    o.betas = 2000;
    o.per_submit = 500;
    o.seed = 3;
    o.base_b = base;
    meg_rbm_ais_result res;
    ck_assert_msg(meg_rbm_ais(th_ctx(), &w, &o, &res) == 0, "%s", rt_error());
    fprintf(stderr, "AIS: log Z %.4f [%.4f, %.4f] (sd of log w %.3f), exact %.4f, difference %.4f\n", res.log_z,
            res.log_z_lo, res.log_z_hi, res.logw_sd, exact, res.log_z - exact);
    /* stated tolerance: 0.05 nats, and the exact value inside the 3-sigma bounds */
    ck_assert_msg(fabs(res.log_z - exact) < 0.05, "AIS log Z %.4f, exact %.4f", res.log_z, exact);
    ck_assert_msg(res.log_z_lo <= exact && exact <= res.log_z_hi, "exact %.4f outside [%.4f, %.4f]", exact,
                  res.log_z_lo, res.log_z_hi);
    /* too few temperatures: still finite, and the bound is looser */
    o.betas = 3;
    o.base_b = NULL;
    meg_rbm_ais_result crude;
    ck_assert_msg(meg_rbm_ais(th_ctx(), &w, &o, &crude) == 0, "%s", rt_error());
    ck_assert(isfinite(crude.log_z) && crude.logw_sd > res.logw_sd);
}
END_TEST

/* Total variation between the exact marginal over the 2^SV visible states and
 * the histogram of `chains` device chains, sampled every 3 Gibbs steps. */
static double gibbs_tv(unsigned flags)
{
    enum { N = 500, BURN = 10, RUNS = 200, STEPS = 3 };
    meg_rbm_weights w = small_rbm();
    double lz;
    ck_assert(meg_rbm_log_z_exact(&w, &lz) == 0);
    g_graph *g = g_graph_new();
    meg_rbm_net n = {SV, SH, g_input(g, "W", 2, G_SHAPE(SV, SH)), g_input(g, "b", 1, G_SHAPE(SV)),
                     g_input(g, "c", 1, G_SHAPE(SH))};
    g_tensor *chain = g_input(g, "chain", 2, G_SHAPE(N, SV)), *rng = g_rng(g, "rng", 5 + flags);
    g_tensor *effects[2] = {g_assign(chain, meg_rbm_gibbs(&n, rng, chain, STEPS, flags, NULL)), g_rng_advance(rng)};
    g_tensor *step = g_group(g, effects, 2);
    ck_assert_msg(step, "%s", g_graph_error(g));
    float *v = calloc(N * SV, sizeof *v);
    for (int i = 0; i < N * SV; i++) v[i] = (float)((i * 7 + i / SV) % 3 == 0);
    g_session *s;
    g_plan *p;
    ck_assert_msg(g_session_new(th_ctx(), g, 1, &s) == 0 && g_session_write(s, n.W, sW) == 0 &&
                  g_session_write(s, n.b, sb) == 0 && g_session_write(s, n.c, sc) == 0 &&
                  g_session_write(s, chain, v) == 0 && g_plan_new(s, &step, 1, NULL, &p) == 0 &&
                  g_plan_run(p, BURN) == 0, "%s", rt_error());
    static double hist[1 << SV];
    memset(hist, 0, sizeof hist);
    for (int r = 0; r < RUNS; r++) {
        ck_assert_msg(g_plan_run(p, 1) == 0 && g_session_read(s, chain, v) == 0, "%s", rt_error());
        for (int c = 0; c < N; c++) {
            int st = 0;
            for (int i = 0; i < SV; i++) st |= (v[c * SV + i] != 0) << i;
            hist[st] += 1.0 / (N * RUNS);
        }
    }
    double tv = 0;
    float x[SV];
    for (int st = 0; st < 1 << SV; st++) {
        for (int i = 0; i < SV; i++) x[i] = (float)(st >> i & 1);
        tv += fabs(exp(-meg_rbm_free_energy_host(&w, x) - lz) - hist[st]);
    }
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
    free(v);
    return tv / 2;
}

/* threshold: sampling noise of 10^5 correlated draws over 1024 states stays well below it */
#define TV_MAX 0.06

START_TEST(gibbs_chain_matches_the_exact_marginal)
{
    double tv = gibbs_tv(0);
    fprintf(stderr, "Gibbs: total variation to the exact marginal %.4f (threshold %.2f)\n", tv, TV_MAX);
    ck_assert_msg(tv < TV_MAX, "total variation %.4f", tv);
}
END_TEST

START_TEST(a_wrong_conditional_fails_the_same_check)
{
    double tv = gibbs_tv(MEG_RBM_WRONG_NO_VBIAS);
    fprintf(stderr, "Gibbs without visible biases: total variation %.4f (must exceed %.2f)\n", tv, TV_MAX);
    ck_assert_msg(tv > TV_MAX, "total variation %.4f", tv);
}
END_TEST

/* ---- training ------------------------------------------------------------------------ */

enum { TV_ = 16, TN = 64 };

/* 4 x 4 bar images as a set of 16-vectors in {-1, 1}: the 4 rows and 4 columns, repeated */
static void bars(meg_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->name = strdup("bars");
    d->n = TN;
    d->ndim = 1;
    d->shape[0] = TV_;
    d->x = malloc(TN * TV_ * sizeof *d->x);
    for (int e = 0; e < TN; e++) {
        int k = e % 8;
        for (int p = 0; p < TV_; p++) d->x[e * TV_ + p] = (k < 4 ? p / 4 == k : p % 4 == k - 4) ? 1.0f : -1.0f;
    }
}

static void tiny_config(meg_rbm_config *c, int persistent)
{
    meg_rbm_config_default(c);
    c->visible = TV_;
    c->hidden = 8;
    c->batch = 16;
    c->k = 1;
    c->persistent = persistent;
    c->lr = 0.1f;
    c->init_std = 0.1f;
    c->samples = 4;
    c->seed = 7;
}

typedef struct tiny_run {
    meg_rbm m;
    g_session *s;
    g_plan *train;
} tiny_run;

static void tiny_open(tiny_run *t, const meg_rbm_config *c, const meg_dataset *d)
{
    ck_assert_msg(meg_rbm_build(&t->m, c, d, NULL, 8) == 0, "%s", rt_error());
    g_tensor *roots[4] = {t->m.step, t->m.fe_data, t->m.fe_model, t->m.recon};
    ck_assert_msg(g_session_new(th_ctx(), t->m.g, c->seed, &t->s) == 0 && meg_rbm_upload(t->s, &t->m, d) == 0 &&
                  g_plan_new(t->s, roots, 4, NULL, &t->train) == 0, "%s", rt_error());
}

static void tiny_close(tiny_run *t)
{
    g_plan_free(t->train);
    g_session_free(t->s);
    meg_rbm_free(&t->m);
}

/* the exact mean log-likelihood of the set's binary vectors, and the mean
 * free energy of the set less that of random binary vectors (*gap) */
static double exact_ll(tiny_run *t, const float *v, size_t n, double *gap)
{
    meg_rbm_weights w;
    double lz, ll = 0, fd = 0, fr = 0;
    ck_assert(meg_rbm_read_weights(t->s, &t->m.net, &w) == 0 && meg_rbm_log_z_exact(&w, &lz) == 0);
    for (size_t i = 0; i < n; i++) {
        double f = meg_rbm_free_energy_host(&w, v + i * TV_);
        ll -= f + lz;
        fd += f / (double)n;
    }
    float u[TV_];
    for (int r = 0; r < 1000; r++) {
        th_random(u, TV_, 100 + (uint64_t)r);
        for (int i = 0; i < TV_; i++) u[i] = u[i] > 0;
        fr += meg_rbm_free_energy_host(&w, u) / 1000;
    }
    *gap = fd - fr;
    free((void *)w.W), free((void *)w.b), free((void *)w.c);
    return ll / (double)n;
}

static void trains(int persistent)
{
    meg_dataset d;
    bars(&d);
    meg_rbm_config c;
    tiny_config(&c, persistent);
    tiny_run t = {0};
    tiny_open(&t, &c, &d);
    float v[TN * TV_], fe0, fe1, rc0, rc1;
    double gap0, gap1;
    ck_assert(meg_rbm_binarize_set(&d, TN, MEG_RBM_THRESHOLD, 0, v) == 0);
    double ll0 = exact_ll(&t, v, TN, &gap0);
    ck_assert_msg(g_plan_run(t.train, 1) == 0 && g_session_read(t.s, t.m.fe_data, &fe0) == 0 &&
                  g_session_read(t.s, t.m.recon, &rc0) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_run(t.train, 600) == 0 && g_session_read(t.s, t.m.fe_data, &fe1) == 0 &&
                  g_session_read(t.s, t.m.recon, &rc1) == 0, "%s", rt_error());
    double ll1 = exact_ll(&t, v, TN, &gap1);
    fprintf(stderr, "%s-1 on bars: exact log-likelihood %.3f -> %.3f nats, F(data) - F(random) %.3f -> %.3f, "
                    "minibatch F %.3f -> %.3f, reconstruction error %.3f -> %.3f\n", persistent ? "PCD" : "CD", ll0,
            ll1, gap0, gap1, fe0, fe1, rc0, rc1);
    ck_assert_msg(ll1 > ll0 + 2.0, "log-likelihood %.3f -> %.3f", ll0, ll1);
    ck_assert_msg(gap1 < gap0 - 2.0, "free energy of the data against random vectors %.3f -> %.3f", gap0, gap1);
    ck_assert_msg(rc1 < 0.5 * rc0, "reconstruction error %.3f -> %.3f", rc0, rc1);
    tiny_close(&t);
    meg_dataset_free(&d);
}

/* Three updates on the device and in the CPU reference (the same Philox
 * draws): CD-2 with SGD and PCD-1 with Adam, every leaf within fp32 rounding. */
START_TEST(updates_match_the_reference)
{
    meg_dataset d;
    bars(&d);
    for (int pcd = 0; pcd < 2; pcd++) {
        meg_rbm_config c;
        tiny_config(&c, pcd);
        c.k = pcd ? 1 : 2;
        c.adam = pcd;
        c.lr = pcd ? 0.01f : 0.1f;
        tiny_run t = {0};
        tiny_open(&t, &c, &d);
        g_ref *r = g_ref_new(t.m.g, c.seed);
        ck_assert_msg(r && meg_device_set_upload_ref(r, &t.m.data, &d) == 0, "%s", rt_error());
        for (int k = 0; k < 3; k++) {
            ck_assert_msg(g_ref_run(r, &t.m.step, 1) == 0, "%s", g_ref_error(r));
            ck_assert_msg(g_plan_run(t.train, 1) == 0, "%s", rt_error());
        }
        for (int id = 0; id < g_graph_size(t.m.g); id++) {
            g_tensor *x = g_graph_node(t.m.g, id);
            if (x->op != G_OP_PARAM && x->op != G_OP_STATE) continue;
            size_t n = g_numel(x);
            float *dv = malloc(n * sizeof *dv);
            ck_assert(g_session_read(t.s, x, dv) == 0);
            const double *rv = g_ref_value(r, x);
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(fabs(dv[i] - rv[i]) <= 1e-4 * (1 + fabs(rv[i])), "%s %s[%zu]: device %.7g, reference "
                              "%.7g", pcd ? "PCD" : "CD", x->name, i, dv[i], rv[i]);
            free(dv);
        }
        g_ref_free(r);
        tiny_close(&t);
    }
    meg_dataset_free(&d);
}
END_TEST

START_TEST(cd1_raises_the_exact_log_likelihood) { trains(0); }
END_TEST

START_TEST(pcd1_raises_the_exact_log_likelihood) { trains(1); }
END_TEST

/* every param and state leaf of two sessions of one graph, bit for bit */
static void same_leaves(tiny_run *a, tiny_run *b)
{
    for (int id = 0; id < g_graph_size(a->m.g); id++) {
        g_tensor *t = g_graph_node(a->m.g, id);
        if (t->op != G_OP_PARAM && t->op != G_OP_STATE) continue;
        size_t n = g_numel(t);
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        ck_assert(g_session_read(a->s, t, x) == 0 && g_session_read(b->s, g_graph_node(b->m.g, id), y) == 0);
        ck_assert_msg(memcmp(x, y, n * sizeof *x) == 0, "leaf %s differs", t->name);
        free(x), free(y);
    }
}

START_TEST(checkpoint_reloads_bit_exact)
{
    meg_dataset d;
    bars(&d);
    meg_rbm_config c;
    tiny_config(&c, 1);
    c.adam = 1;   /* moments and the step counter are in the file too */
    c.lr = 0.01f;
    tiny_run a = {0}, b = {0};
    tiny_open(&a, &c, &d);
    tiny_open(&b, &c, &d);
    ck_assert_msg(g_plan_run(a.train, 37) == 0, "%s", rt_error());
    const char *path = tpath("rbm.safetensors");
    meg_st_kv kv = {"model", "rbm"};
    ck_assert_msg(meg_checkpoint_save(path, a.s, a.m.g, &kv, 1) == 0, "%s", rt_error());
    meg_st_file *f;
    ck_assert_msg(meg_st_read(path, &f) == 0 && meg_checkpoint_load(f, b.s, b.m.g) == 0, "%s", rt_error());
    meg_st_free(f);
    same_leaves(&a, &b);
    /* and the runs go on identically: the generator's counter and the chains came along */
    ck_assert(g_plan_run(a.train, 5) == 0 && g_plan_run(b.train, 5) == 0);
    same_leaves(&a, &b);
    ck_assert(leftover_temps() == 0);
    tiny_close(&a);
    tiny_close(&b);
    meg_dataset_free(&d);
}
END_TEST

START_TEST(bad_configurations_are_refused)
{
    meg_dataset d;
    bars(&d);
    meg_rbm_config c;
    tiny_config(&c, 0);
    meg_rbm m;
    c.visible = 15;
    ck_assert_int_eq(meg_rbm_build(&m, &c, &d, NULL, 8), -1);
    assert_error_has("16 values per example, the model 15 visible units");
    tiny_config(&c, 0);
    c.k = 0;
    ck_assert_int_eq(meg_rbm_build(&m, &c, &d, NULL, 8), -1);
    assert_error_has("0 Gibbs steps");
    float W[4] = {0};
    meg_rbm_weights w = {30, 30, W, W, W};
    double lz;
    ck_assert_int_eq(meg_rbm_log_z_exact(&w, &lz), -1);
    assert_error_has("2^30 states");
    meg_dataset_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rbm");
    TCase *ops = tcase_create("ops");
    th_validated(ops);
    tcase_add_test(ops, bernoulli_frequencies_and_no_gradient);
    tcase_add_test(ops, free_energy_gradient_is_the_outer_products);
    suite_add_tcase(s, ops);
    TCase *exact = tcase_create("exact");
    th_validated(exact);
    tcase_add_test(exact, exact_log_z_agrees_both_ways);
    tcase_add_test(exact, ais_log_z_matches_enumeration);
    tcase_add_test(exact, gibbs_chain_matches_the_exact_marginal);
    tcase_add_test(exact, a_wrong_conditional_fails_the_same_check);
    suite_add_tcase(s, exact);
    TCase *train = tcase_create("training");
    th_validated(train);
    tcase_add_test(train, updates_match_the_reference);
    tcase_add_test(train, cd1_raises_the_exact_log_likelihood);
    tcase_add_test(train, pcd1_raises_the_exact_log_likelihood);
    tcase_add_test(train, checkpoint_reloads_bit_exact);
    tcase_add_test(train, bad_configurations_are_refused);
    suite_add_tcase(s, train);
    return tf_run(s);
}
