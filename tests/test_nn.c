/* test_nn.c: the layers of models/nn/ on the device against the CPU
 * reference (g_ref_*) and against their definitions computed here: linear
 * layers and MLPs (names, shapes, PyTorch's initialisation, activations),
 * convolutions and transposed convolutions (shapes, both initialisations,
 * values and gradients), batch norm (training mode with its running
 * statistics, evaluation mode). Suite "nn", validation on. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "graph.h"
#include "nn.h"

static const uint64_t SEED = 99;

/* ---- device against reference -------------------------------------------------- */

/* Writes random values into the inputs (the same on both sides), runs roots
 * `runs` times on the device and in the reference, and compares every
 * tensor of `check` (values, or leaves after the effects). */
static void device_vs_ref(g_graph *g, g_tensor **roots, int nroots, g_tensor **inputs, int ninputs,
                          g_tensor **check, int ncheck, int runs, double tol)
{
    ck_assert_msg(!g_graph_error(g), "graph: %s", g_graph_error(g));
    g_session *s;
    ck_assert_msg(g_session_new(th_ctx(), g, SEED, &s) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(g, SEED);
    ck_assert_ptr_nonnull(r);
    for (int k = 0; k < ninputs; k++) {
        size_t n = g_numel(inputs[k]);
        float *v = malloc(n * sizeof *v);
        th_random(v, n, 7 + (uint64_t)k);
        ck_assert_msg(g_session_write(s, inputs[k], v) == 0, "%s", rt_error());
        ck_assert(g_ref_write_f(r, inputs[k], v) == 0);
        free(v);
    }
    g_plan *p;
    ck_assert_msg(g_plan_new(s, roots, nroots, NULL, &p) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_run(p, runs) == 0, "%s", rt_error());
    for (int i = 0; i < runs; i++) ck_assert_msg(g_ref_run(r, roots, nroots) == 0, "%s", g_ref_error(r));
    for (int i = 0; i < ncheck; i++) {
        size_t n = g_numel(check[i]);
        float *dv = malloc(n * sizeof *dv);
        ck_assert_msg(g_session_read(s, check[i], dv) == 0, "%s", rt_error());
        const double *rv = g_ref_value(r, check[i]);
        ck_assert_ptr_nonnull(rv);
        for (size_t j = 0; j < n; j++)
            ck_assert_msg(fabs(dv[j] - rv[j]) <= tol * (1 + fabs(rv[j])), "check %d '%s' element %zu: device %.9g, "
                          "reference %.9g", i, check[i]->name, j, dv[j], rv[j]);
        free(dv);
    }
    g_plan_free(p);
    g_ref_free(r);
    g_session_free(s);
}

/* A leaf's initial values as the device and the reference give them. */
static float *init_values(const g_tensor *t)
{
    float *v = malloc(g_numel(t) * sizeof *v);
    ck_assert(g_init_values(t, SEED, v) == 0);
    return v;
}

/* ---- linear layers and MLPs ------------------------------------------------------ */

START_TEST(mlp_names_shapes_and_init)
{
    g_graph *g = g_graph_new();
    meg_mlp m;
    ck_assert_msg(meg_mlp_make(g, "E", 3, 16, 2, 1, G_ACT_LEAKY_RELU, 0.2f, &m) == 0, "%s", rt_error());
    ck_assert_int_eq(m.nlayers, 3);
    g_tensor *ps[2 * MEG_MAX_LAYERS];
    ck_assert_int_eq(meg_mlp_params(&m, ps), 6);
    const char *names[] = {"E.w0", "E.b0", "E.w1", "E.b1", "E.w2", "E.b2"};
    const int ins[] = {3, 16, 16}, outs[] = {16, 16, 1};
    for (int l = 0; l < 3; l++) {
        g_tensor *w = ps[2 * l], *b = ps[2 * l + 1];
        ck_assert_str_eq(w->name, names[2 * l]);
        ck_assert_str_eq(b->name, names[2 * l + 1]);
        ck_assert_ptr_eq(g_graph_find(g, names[2 * l]), w);
        ck_assert(w->op == G_OP_PARAM && w->ndim == 2 && w->shape[0] == ins[l] && w->shape[1] == outs[l]);
        ck_assert(b->op == G_OP_PARAM && b->ndim == 1 && b->shape[0] == outs[l]);
        /* PyTorch's Linear: both uniform in +-1/sqrt(in), and not all alike */
        float *wv = init_values(w), bound = 1.0f / sqrtf((float)ins[l]), lo = 1, hi = -1;
        for (size_t i = 0; i < g_numel(w); i++) {
            ck_assert(fabsf(wv[i]) <= bound);
            lo = fminf(lo, wv[i]);
            hi = fmaxf(hi, wv[i]);
        }
        ck_assert_msg(hi - lo > bound, "layer %d: weights span only %g of +-%g", l, hi - lo, bound);
        free(wv);
    }
    /* one layer on its own, and too deep a network */
    meg_linear fc;
    ck_assert_int_eq(meg_linear_make(g, "fc", "", 4, 5, &fc), 0);
    ck_assert_str_eq(fc.w->name, "fc.w");
    ck_assert_str_eq(fc.b->name, "fc.b");
    ck_assert_int_eq(meg_mlp_make(g, "D", 2, 4, MEG_MAX_LAYERS, 1, G_ACT_RELU, 0, &m), -1);
    ck_assert_msg(strstr(rt_error(), "D: 8 hidden layers"), "%s", rt_error());
    ck_assert_int_eq(meg_linear_make(g, "fc", "", 4, 5, &fc), -1);   /* names are unique */
    ck_assert_msg(strstr(rt_error(), "fc.w"), "%s", rt_error());
    g_graph_free(g);
}
END_TEST

/* y = act(x W0 + b0) W1 + b1 computed here, against the device and the
 * reference, for each activation a layer can name. */
START_TEST(mlp_matches_its_definition)
{
    enum { N = 9, IN = 3, H = 7, OUT = 2 };
    const g_act acts[] = {G_ACT_RELU, G_ACT_LEAKY_RELU, G_ACT_TANH, G_ACT_SIGMOID, G_ACT_NONE};
    for (int k = 0; k < 5; k++) {
        g_graph *g = g_graph_new();
        meg_mlp m;
        ck_assert(meg_mlp_make(g, "M", IN, H, 1, OUT, acts[k], 0.3f, &m) == 0);
        g_tensor *x = g_input(g, "x", 2, G_SHAPE(N, IN));
        g_tensor *y = meg_mlp_apply(&m, x);
        device_vs_ref(g, &y, 1, &x, 1, &y, 1, 1, 2e-6);

        float xv[N * IN], *w0 = init_values(m.layer[0].w), *b0 = init_values(m.layer[0].b);
        float *w1 = init_values(m.layer[1].w), *b1 = init_values(m.layer[1].b);
        th_random(xv, N * IN, 7);   /* what device_vs_ref wrote */
        g_ref *r = g_ref_new(g, SEED);
        ck_assert(g_ref_write_f(r, x, xv) == 0 && g_ref_run(r, &y, 1) == 0);
        const double *yr = g_ref_value(r, y);
        for (int i = 0; i < N; i++)
            for (int o = 0; o < OUT; o++) {
                double acc = b1[o];
                for (int j = 0; j < H; j++) {
                    double h = b0[j];
                    for (int c = 0; c < IN; c++) h += (double)xv[i * IN + c] * w0[c * H + j];
                    h = acts[k] == G_ACT_RELU ? fmax(h, 0) : acts[k] == G_ACT_LEAKY_RELU ? (h > 0 ? h : 0.3 * h)
                      : acts[k] == G_ACT_TANH ? tanh(h) : acts[k] == G_ACT_SIGMOID ? 1 / (1 + exp(-h)) : h;
                    acc += h * w1[j * OUT + o];
                }
                ck_assert_msg(fabs(yr[i * OUT + o] - acc) < 1e-6, "act %d, y[%d, %d]: %.9g, by hand %.9g", k, i, o,
                              yr[i * OUT + o], acc);
            }
        g_ref_free(r);
        free(w0);
        free(b0);
        free(w1);
        free(b1);
        g_graph_free(g);
    }
}
END_TEST

/* ---- convolutions ------------------------------------------------------------------- */

/* Weights within +-bound (PyTorch's default), spanning most of it. */
static void check_uniform(const g_tensor *t, double bound)
{
    float *v = init_values(t), lo = 1e30f, hi = -1e30f;
    for (size_t i = 0; i < g_numel(t); i++) {
        ck_assert_msg(fabs(v[i]) <= bound, "%s: %g outside +-%g", t->name, v[i], bound);
        lo = fminf(lo, v[i]);
        hi = fmaxf(hi, v[i]);
    }
    ck_assert_msg(hi - lo > bound, "%s spans %g of +-%g", t->name, hi - lo, bound);
    free(v);
}

START_TEST(conv_layers_shapes_and_init)
{
    g_graph *g = g_graph_new();
    meg_conv2d c, t, d;
    ck_assert_msg(meg_conv2d_make(g, "D", "0", 3, 8, 5, 2, 2, 0, &c) == 0, "%s", rt_error());
    ck_assert_msg(meg_conv_transpose2d_make(g, "G", "1", 8, 4, 4, 2, 1, 0, 0, &t) == 0, "%s", rt_error());
    ck_assert_msg(meg_conv2d_make(g, "D", "dc", 4, 6, 3, 1, 1, 0.02f, &d) == 0, "%s", rt_error());
    ck_assert_str_eq(c.w->name, "D.w0");
    ck_assert_str_eq(t.b->name, "G.b1");
    ck_assert(c.w->shape[0] == 8 && c.w->shape[1] == 3 && c.w->shape[2] == 5 && c.w->shape[3] == 5);
    ck_assert(t.w->shape[0] == 8 && t.w->shape[1] == 4 && t.w->shape[2] == 4);     /* [in, out, k, k] */
    /* PyTorch's fan_in: in k^2 for conv2d, out k^2 for conv_transpose2d */
    check_uniform(c.w, 1 / sqrt(3 * 25.0));
    check_uniform(c.b, 1 / sqrt(3 * 25.0));
    check_uniform(t.w, 1 / sqrt(4 * 16.0));
    /* DCGAN: N(0, 0.02) weights, zero biases */
    float *w = init_values(d.w), *b = init_values(d.b);
    double ss = 0;
    for (size_t i = 0; i < g_numel(d.w); i++) ss += (double)w[i] * w[i];
    double sd = sqrt(ss / g_numel(d.w));     /* 216 values: within 15% of 0.02 */
    ck_assert_msg(fabs(sd - 0.02) < 0.003, "std %g", sd);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(b[i], 0);
    free(w);
    free(b);
    /* output shapes: 28 -> 14 with k 5 s 2 p 2; 7 -> 14 with k 4 s 2 p 1 */
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(2, 3, 28, 28)), *z = g_input(g, "z", 4, G_SHAPE(2, 8, 7, 7));
    g_tensor *y = meg_conv2d_apply(&c, x), *u = meg_conv2d_apply(&t, z);
    ck_assert(y && y->shape[1] == 8 && y->shape[2] == 14 && y->shape[3] == 14);
    ck_assert(u && u->shape[1] == 4 && u->shape[2] == 14 && u->shape[3] == 14);
    ck_assert_int_eq(meg_conv2d_make(g, "E", "", 3, 8, 0, 1, 0, 0, &c), -1);
    ck_assert_msg(strstr(rt_error(), "E: bad convolution"), "%s", rt_error());
    g_graph_free(g);
}
END_TEST

/* Values and the gradients of a loss with respect to input, weight and
 * bias (the bias broadcast's adjoint included), device against reference. */
START_TEST(conv_layers_match_the_reference)
{
    for (int tr = 0; tr < 2; tr++) {
        g_graph *g = g_graph_new();
        meg_conv2d c;
        g_tensor *x;
        if (tr) {
            ck_assert(meg_conv_transpose2d_make(g, "G", "", 4, 3, 4, 2, 1, 1, 0, &c) == 0);
            x = g_input(g, "x", 4, G_SHAPE(2, 4, 5, 5));
        } else {
            ck_assert(meg_conv2d_make(g, "D", "", 3, 4, 3, 2, 1, 0, &c) == 0);
            x = g_input(g, "x", 4, G_SHAPE(2, 3, 9, 9));
        }
        g_tensor *y = meg_conv2d_apply(&c, x);
        g_tensor *wrt[3] = {x, c.w, c.b}, *gr[3];
        ck_assert(g_grad(g, g_sum_all(g_square(y)), wrt, 3, gr) == 0);
        g_tensor *roots[4] = {y, gr[0], gr[1], gr[2]};
        device_vs_ref(g, roots, 4, &x, 1, roots, 4, 1, 1e-4);
        g_graph_free(g);
    }
}
END_TEST

/* ---- batch norm ------------------------------------------------------------------------ */

START_TEST(batchnorm_training_and_running_statistics)
{
    enum { N = 6, C = 3, H = 4, W = 5, HW = H * W, RUNS = 3 };
    g_graph *g = g_graph_new();
    meg_batchnorm bn;
    ck_assert_msg(meg_batchnorm_make(g, "bn", "0", C, 1e-5f, 0.1f, 0, &bn) == 0, "%s", rt_error());
    ck_assert_str_eq(bn.run_var->name, "bn.run_var0");
    ck_assert(bn.run_mean->op == G_OP_STATE && bn.gamma->op == G_OP_PARAM);
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(N, C, H, W)), *update;
    g_tensor *y = meg_batchnorm_train(&bn, x, &update);
    ck_assert_ptr_nonnull(update);
    g_tensor *roots[2] = {y, update}, *check[3] = {y, bn.run_mean, bn.run_var};
    /* three updates of the same batch on both sides */
    device_vs_ref(g, roots, 2, &x, 1, check, 3, RUNS, 2e-5);

    /* by hand: the output has mean 0 and variance 1 per channel; the running
     * statistics after 3 updates from (0, 1) are (1 - 0.9^3) of the batch's,
     * the variance unbiased */
    float xv[N * C * HW];
    th_random(xv, N * C * HW, 7);   /* what device_vs_ref wrote */
    g_ref *r = g_ref_new(g, SEED);
    ck_assert(g_ref_write_f(r, x, xv) == 0);
    for (int i = 0; i < RUNS; i++) ck_assert(g_ref_run(r, roots, 2) == 0);
    const double *yr = g_ref_value(r, y), *rm = g_ref_value(r, bn.run_mean), *rv = g_ref_value(r, bn.run_var);
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0, ys = 0, yss = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t k = ((size_t)n * C + c) * HW + i;
                s += xv[k];
                ss += (double)xv[k] * xv[k];
                ys += yr[k];
                yss += yr[k] * yr[k];
            }
        double cnt = N * HW, mean = s / cnt, var = ss / cnt - mean * mean, keep = 1 - pow(0.9, RUNS);
        ck_assert_msg(fabs(ys / cnt) < 1e-6 && fabs(yss / cnt - var / (var + 1e-5)) < 1e-5, "channel %d: "
                      "output mean %g, variance %g", c, ys / cnt, yss / cnt);
        ck_assert_msg(fabs(rm[c] - keep * mean) < 1e-6, "channel %d: running mean %g, want %g", c, rm[c],
                      keep * mean);
        double want = pow(0.9, RUNS) + keep * var * cnt / (cnt - 1);
        ck_assert_msg(fabs(rv[c] - want) < 1e-6, "channel %d: running var %g, want %g", c, rv[c], want);
    }
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(batchnorm_evaluation_uses_the_running_statistics)
{
    enum { N = 5, C = 4 };
    g_graph *g = g_graph_new();
    meg_batchnorm bn;
    ck_assert(meg_batchnorm_make(g, "bn", "", C, 1e-3f, 0.5f, 0, &bn) == 0);
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(N, C)), *update;
    g_tensor *yt = meg_batchnorm_train(&bn, x, &update);
    g_tensor *ye = meg_batchnorm_eval(&bn, x);
    ck_assert(yt && ye);
    /* one training step moves the running statistics, then evaluation uses them */
    g_tensor *train[2] = {yt, update};
    device_vs_ref(g, train, 2, &x, 1, &bn.run_var, 1, 1, 2e-6);
    g_session *s;
    ck_assert(g_session_new(th_ctx(), g, SEED, &s) == 0);
    float xv[N * C], mean[C], var[C], gamma[C] = {0.5f, 1, 2, -1}, beta[C] = {0, 0.25f, -1, 3}, y[N * C];
    th_random(xv, N * C, 3);
    th_random(mean, C, 4);
    th_random(var, C, 5);
    for (int c = 0; c < C; c++) var[c] = 0.2f + fabsf(var[c]);
    ck_assert(g_session_write(s, x, xv) == 0 && g_session_write(s, bn.run_mean, mean) == 0 &&
              g_session_write(s, bn.run_var, var) == 0 && g_session_write(s, bn.gamma, gamma) == 0 &&
              g_session_write(s, bn.beta, beta) == 0);
    g_plan *p;
    ck_assert_msg(g_plan_new(s, &ye, 1, NULL, &p) == 0, "%s", rt_error());
    ck_assert(g_plan_run(p, 1) == 0 && g_session_read(s, ye, y) == 0);
    for (int i = 0; i < N * C; i++) {
        int c = i % C;
        double want = (xv[i] - mean[c]) / sqrt(var[c] + 1e-3) * gamma[c] + beta[c];
        ck_assert_msg(fabs(y[i] - want) < 1e-5 * (1 + fabs(want)), "y[%d] %g, want %g", i, y[i], want);
    }
    g_plan_free(p);
    g_session_free(s);
    ck_assert_int_eq(meg_batchnorm_make(g, "b2", "", C, 0, 0.1f, 0, &bn), -1);
    ck_assert_msg(strstr(rt_error(), "b2: batch norm"), "%s", rt_error());
    g_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("linear");
    th_validated(tc);
    tcase_add_test(tc, mlp_names_shapes_and_init);
    tcase_add_test(tc, mlp_matches_its_definition);
    suite_add_tcase(s, tc);
    tc = tcase_create("conv");
    th_validated(tc);
    tcase_add_test(tc, conv_layers_shapes_and_init);
    tcase_add_test(tc, conv_layers_match_the_reference);
    suite_add_tcase(s, tc);
    tc = tcase_create("batchnorm");
    th_validated(tc);
    tcase_add_test(tc, batchnorm_training_and_running_statistics);
    tcase_add_test(tc, batchnorm_evaluation_uses_the_running_statistics);
    suite_add_tcase(s, tc);
    return th_run(s);
}
