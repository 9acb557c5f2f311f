/* test_nn.c: the layers of models/nn/ on the device against the CPU
 * reference (g_ref_*) and against their definitions computed here: linear
 * layers and MLPs (names, shapes, PyTorch's initialisation, activations).
 * Suite "nn", validation on. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = tcase_create("linear");
    th_validated(tc);
    tcase_add_test(tc, mlp_names_shapes_and_init);
    tcase_add_test(tc, mlp_matches_its_definition);
    suite_add_tcase(s, tc);
    return th_run(s);
}
