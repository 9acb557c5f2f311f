/* test_autodiff.c: g_grad against central finite differences on the CPU
 * reference, first order for every differentiable op, second order (double
 * backward) for every op, and the gradient-penalty networks MEG trains.
 * Suite "autodiff". */
#include "harness.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "graph.h"
#include "meg.h"

#define FD_STEP 1e-6

/* Signed test data away from the kinks at 0, a new stream each call. */
static void fill_signed(double *v, size_t n)
{
    static uint64_t seed = 1;
    tc_input in = {.fill = TC_SIGNED};
    tc_fill(&in, v, n, seed++);
}

/* ---- finite-difference machinery --------------------------------------- */

static void ok_run(g_ref *r, g_tensor **roots, int n)
{
    int rc = g_ref_run(r, roots, n);
    ck_assert_msg(rc == 0, "ref run failed: %s", g_ref_error(r));
}

static double eval_scalar(g_ref *r, g_tensor *y)
{
    ok_run(r, &y, 1);
    return g_ref_value(r, y)[0];
}

/* Compares analytic gradients an[k] of y with central differences over every
 * entry of leaves wrt[k] (whose current values are vals[k]). Returns the
 * largest relative error. */
static double compare_fd(g_ref *r, g_tensor *y, g_tensor **wrt, double **vals, g_tensor **an,
                         int n, double tol, const char *what)
{
    double worst = 0, *a[8];
    ck_assert_int_le(n, 8);
    ok_run(r, an, n);
    for (int k = 0; k < n; k++) {   /* copied now: the FD runs evaluate only y */
        size_t m = g_numel(wrt[k]);
        a[k] = malloc(m * sizeof(double));
        memcpy(a[k], g_ref_value(r, an[k]), m * sizeof(double));
    }
    for (int k = 0; k < n; k++) {
        size_t m = g_numel(wrt[k]);
        for (size_t j = 0; j < m; j++) {
            double keep = vals[k][j];
            vals[k][j] = keep + FD_STEP;
            g_ref_write(r, wrt[k], vals[k]);
            double yp = eval_scalar(r, y);
            vals[k][j] = keep - FD_STEP;
            g_ref_write(r, wrt[k], vals[k]);
            double ym = eval_scalar(r, y);
            vals[k][j] = keep;
            g_ref_write(r, wrt[k], vals[k]);
            double fd = (yp - ym) / (2 * FD_STEP);
            double scale = fmax(1.0, fmax(fabs(fd), fabs(a[k][j])));
            double err = fabs(fd - a[k][j]) / scale;
            if (err > worst) worst = err;
            ck_assert_msg(err <= tol, "%s: d/d%s[%zu]: analytic %.12g vs finite difference %.12g",
                          what, wrt[k]->name, j, a[k][j], fd);
        }
    }
    for (int k = 0; k < n; k++) free(a[k]);
    if (getenv("AUTODIFF_VERBOSE")) fprintf(stderr, "%-40s worst relative error %.2e\n", what, worst);
    return worst;
}

/* ---- every op of the case table (tests/cases) ---------------------------------- */

/* order 1: y = sum(W * f(x)); order 2: h = sum_k ||dy/dx_k||^2 with
 * y = sum(W * f(x)^2), so h reaches f's forward value and its derivative. */
static void check_case(const tc_case *c, int order)
{
    g_graph *g = g_graph_new();
    g_tensor *x[4], *wrt[4], *first[4], *second[4];
    double *vals[4];
    int nw = 0;
    g_tensor *out = tc_build(c, g, x);
    ck_assert_msg(out != NULL, "%s: %s", c->name, g_graph_error(g));
    for (int k = 0; k < c->nin; k++)
        if (c->in[k].diff) wrt[nw++] = x[k];
    g_tensor *w = g_input(g, "w_out", out->ndim, out->shape);
    g_tensor *y = g_sum_all(g_mul(w, order == 1 ? out : g_square(out)));
    ck_assert_int_eq(g_grad(g, y, wrt, nw, first), 0);
    g_tensor *target = y, **an = first;
    if (order == 2) {
        g_tensor *h = NULL;
        for (int k = 0; k < nw; k++) {
            g_tensor *term = g_sum_all(g_square(first[k]));
            h = h ? g_add(h, term) : term;
        }
        ck_assert_int_eq(g_grad(g, h, wrt, nw, second), 0);
        target = h;
        an = second;
    }
    ck_assert_msg(g_graph_error(g) == NULL, "%s: %s", c->name, g_graph_error(g));

    g_ref *r = g_ref_new(g, 1);
    for (int k = 0, kw = 0; k < c->nin; k++) {
        size_t m = g_numel(x[k]);
        double *v = malloc(m * sizeof *v);
        tc_fill(&c->in[k], v, m, 10 + (uint64_t)k);
        ck_assert_int_eq(g_ref_write(r, x[k], v), 0);
        if (c->in[k].diff) vals[kw++] = v;
        else free(v);
    }
    size_t mo = g_numel(out);
    double *wo = malloc(mo * sizeof *wo);
    tc_input wi = {.fill = TC_SIGNED};
    tc_fill(&wi, wo, mo, 99);
    g_ref_write(r, w, wo);
    free(wo);
    char what[96];
    snprintf(what, sizeof what, "%s (order %d)", c->name, order);
    compare_fd(r, target, wrt, vals, an, nw, order == 1 ? 1e-6 : 1e-5, what);
    for (int k = 0; k < nw; k++) free(vals[k]);
    g_ref_free(r);
    g_graph_free(g);
}

START_TEST(every_op_gradient_matches_finite_differences) { check_case(tc_nth(TC_GRAD, _i), 1); }
END_TEST

START_TEST(every_op_second_gradient_matches_finite_differences) { check_case(tc_nth(TC_GRAD, _i), 2); }
END_TEST

/* Every differentiable op of ops.def has a gradient row in the table. */
START_TEST(the_case_table_covers_every_differentiable_op)
{
    for (int op = 0; op < G_OP_COUNT; op++) {
        const g_op_info *oi = g_op_info_of((g_op)op);
        if (!oi->diff) continue;
        int found = 0;
        for (int k = 0; k < tc_count(TC_GRAD) && !found; k++) {
            const tc_case *c = tc_nth(TC_GRAD, k);
            g_graph *g = g_graph_new();
            g_tensor *x[4];
            g_tensor *out = tc_build(c, g, x);
            for (int id = 0; out && id < g_graph_size(g); id++) found |= g_graph_node(g, id)->op == (g_op)op;
            g_graph_free(g);
        }
        ck_assert_msg(found, "op %s carries gradients but no TC_GRAD row of tests/cases builds it", oi->name);
    }
}
END_TEST

/* ---- structure of the backward graph ----------------------------------- */

START_TEST(gradient_accumulates_over_three_uses)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(3, 4)), *w = g_input(g, "w", 2, G_SHAPE(3, 4)), *gx;
    /* x feeds mul twice and scale once: d/dx sum(w (x x + 3 x)) = w (2x + 3) */
    g_tensor *y = g_sum_all(g_mul(w, g_add(g_mul(x, x), g_scale(x, 3.0f))));
    ck_assert_int_eq(g_grad(g, y, &x, 1, &gx), 0);
    ck_assert_int_eq(gx->op, G_OP_ADD);
    g_ref *r = g_ref_new(g, 0);
    double xv[12], wv[12];
    fill_signed(xv, 12);
    fill_signed(wv, 12);
    g_ref_write(r, x, xv);
    g_ref_write(r, w, wv);
    ok_run(r, &gx, 1);
    const double *v = g_ref_value(r, gx);
    for (int j = 0; j < 12; j++) ck_assert_double_eq_tol(v[j], wv[j] * (2 * xv[j] + 3), 1e-12);
    double *vals[1] = {xv};
    compare_fd(r, y, &x, vals, &gx, 1, 1e-6, "three uses");
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(unreachable_wrt_gets_zeros_and_no_other_nodes)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_input(g, "a", 1, G_SHAPE(3)), *b = g_input(g, "b", 2, G_SHAPE(2, 2)), *out[2];
    g_tensor *y = g_sum_all(g_exp(a));
    int n0 = g_graph_size(g);
    g_tensor *wrt[1] = {b};
    ck_assert_int_eq(g_grad(g, y, wrt, 1, out), 0);
    ck_assert_int_eq(g_graph_size(g), n0 + 1);
    ck_assert_int_eq(out[0]->op, G_OP_CONST);
    ck_assert(out[0]->attr.scalar == 0.0f);
    ck_assert(g_same_shape(out[0], b));
    /* a dependence only through a comparison carries no gradient either */
    g_tensor *z = g_sum_all(g_mul(g_gt(a, g_scalar(g, 0.0f)), a));
    g_tensor *gz;
    ck_assert_int_eq(g_grad(g, z, &a, 1, &gz), 0);
    g_ref *r = g_ref_new(g, 0);
    g_ref_write(r, a, (double[]){-1, 2, 3});
    ok_run(r, &gz, 1);
    const double *v = g_ref_value(r, gz);
    ck_assert(v[0] == 0 && v[1] == 1 && v[2] == 1);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(unrelated_branches_get_no_gradient_nodes)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_input(g, "a", 1, G_SHAPE(3)), *b = g_input(g, "b", 1, G_SHAPE(3)), *ga;
    g_tensor *eb = g_exp(b);
    g_tensor *y = g_add(g_sum_all(g_square(a)), g_sum_all(eb));
    int n0 = g_graph_size(g);
    ck_assert_int_eq(g_grad(g, y, &a, 1, &ga), 0);
    for (int id = n0; id < g_graph_size(g); id++) {
        g_tensor *t = g_graph_node(g, id);
        ck_assert_msg(t->op != G_OP_EXP, "node %d is an exp", id);
        for (int k = 0; k < t->nsrc; k++)
            ck_assert_msg(t->src[k] != b && t->src[k] != eb, "node %d (%s) reads the b branch", id,
                          g_op_name(t->op));
    }
    g_graph_free(g);
}
END_TEST

START_TEST(gradient_wrt_y_is_one_and_wrt_an_intermediate_is_its_cotangent)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_input(g, "a", 1, G_SHAPE(4)), *w = g_input(g, "w", 1, G_SHAPE(4));
    g_tensor *u = g_scale(a, 2.0f);
    g_tensor *y = g_sum_all(g_mul(w, g_exp(u)));
    g_tensor *wrt[2] = {y, u}, *out[2];
    ck_assert_int_eq(g_grad(g, y, wrt, 2, out), 0);
    g_ref *r = g_ref_new(g, 0);
    double av[4] = {0.1, -0.3, 0.5, 0.7}, wv[4] = {1, 2, -1, 0.5};
    g_ref_write(r, a, av);
    g_ref_write(r, w, wv);
    ok_run(r, out, 2);
    ck_assert_double_eq(g_ref_value(r, out[0])[0], 1.0);
    for (int j = 0; j < 4; j++)
        ck_assert_double_eq_tol(g_ref_value(r, out[1])[j], wv[j] * exp(2 * av[j]), 1e-12);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(double_backward_of_a_cubic_is_exact)
{
    /* y = sum(x^3) via x*x*x: dy/dx = 3x^2, d/dx sum(dy/dx) = 6x, d/dx of that sum = 6 */
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(3)), *g1, *g2, *g3;
    ck_assert_int_eq(g_grad(g, g_sum_all(g_mul(g_mul(x, x), x)), &x, 1, &g1), 0);
    ck_assert_int_eq(g_grad(g, g_sum_all(g1), &x, 1, &g2), 0);
    ck_assert_int_eq(g_grad(g, g_sum_all(g2), &x, 1, &g3), 0);
    g_ref *r = g_ref_new(g, 0);
    g_ref_write(r, x, (double[]){1, -2, 0.5});
    g_tensor *roots[3] = {g1, g2, g3};
    ok_run(r, roots, 3);
    const double want1[3] = {3, 12, 0.75}, want2[3] = {6, -12, 3};
    for (int j = 0; j < 3; j++) {
        ck_assert_double_eq_tol(g_ref_value(r, g1)[j], want1[j], 1e-12);
        ck_assert_double_eq_tol(g_ref_value(r, g2)[j], want2[j], 1e-12);
        ck_assert_double_eq_tol(g_ref_value(r, g3)[j], 6, 1e-12);
    }
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

/* ---- the gradient-penalty networks -------------------------------------- */

/* P = (1/N) sum ||dE/dx||^2 with E summed over the batch; checks dP/dparams
 * against finite differences over every parameter entry. */
static void check_penalty(g_graph *g, g_tensor *x, g_tensor *e, g_tensor **params, int np,
                          const char *what)
{
    g_tensor *gx, *gp[8];
    ck_assert_int_eq(g_grad(g, g_sum_all(e), &x, 1, &gx), 0);
    g_tensor *p = g_scale(g_sum_all(g_square(gx)), 1.0f / (float)x->shape[0]);
    ck_assert_int_eq(g_grad(g, p, params, np, gp), 0);
    ck_assert_msg(g_graph_error(g) == NULL, "%s: %s", what, g_graph_error(g));
    g_ref *r = g_ref_new(g, 11);
    size_t nx = g_numel(x);
    double *xv = malloc(nx * sizeof *xv), *vals[8];
    fill_signed(xv, nx);
    g_ref_write(r, x, xv);
    for (int k = 0; k < np; k++) {
        size_t m = g_numel(params[k]);
        vals[k] = malloc(m * sizeof(double));
        memcpy(vals[k], g_ref_value(r, params[k]), m * sizeof(double));   /* the init values */
    }
    /* the penalty must actually depend on the first weight */
    ok_run(r, gp, 1);
    double mx = 0;
    for (size_t j = 0; j < g_numel(params[0]); j++) mx = fmax(mx, fabs(g_ref_value(r, gp[0])[j]));
    ck_assert_msg(mx > 1e-3, "%s: dP/d%s is (nearly) zero", what, params[0]->name);
    compare_fd(r, p, params, vals, gp, np, 1e-5, what);
    for (int k = 0; k < np; k++) free(vals[k]);
    free(xv);
    g_ref_free(r);
}

START_TEST(penalty_grad_matches_finite_difference_mlp)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(5, 3));
    g_tensor *w1 = g_param(g, "w1", 2, G_SHAPE(3, 4), g_init_normal(0.8f));
    g_tensor *b1 = g_param(g, "b1", 1, G_SHAPE(4), g_init_torch(3));
    g_tensor *w2 = g_param(g, "w2", 2, G_SHAPE(4, 4), g_init_normal(0.6f));
    g_tensor *b2 = g_param(g, "b2", 1, G_SHAPE(4), g_init_torch(4));
    g_tensor *w3 = g_param(g, "w3", 2, G_SHAPE(4, 1), g_init_normal(0.6f));
    g_tensor *b3 = g_param(g, "b3", 1, G_SHAPE(1), g_init_torch(4));
    g_tensor *h = g_leaky_relu(g_add(g_matmul(x, w1, 0, 0), b1), 0.2f);
    h = g_leaky_relu(g_add(g_matmul(h, w2, 0, 0), b2), 0.2f);
    g_tensor *e = g_add(g_matmul(h, w3, 0, 0), b3);   /* [5, 1] */
    g_tensor *params[6] = {w1, b1, w2, b2, w3, b3};
    check_penalty(g, x, e, params, 6, "mlp");
    g_graph_free(g);
}
END_TEST

/* WGAN-GP's penalty (meg_wgan_penalty) through a 2-layer critic: its
 * gradient in the critic's weights (a double backward through the norm's
 * square root) against central differences, at fixed interpolation weights. */
typedef struct critic2 { g_tensor *w1, *b1, *w2; } critic2;

static g_tensor *critic2_apply(void *user, g_tensor *x)
{
    const critic2 *c = user;
    g_tensor *h = g_leaky_relu(g_add(g_matmul(x, c->w1, 0, 0), c->b1), 0.2f);
    return g_matmul(h, c->w2, 0, 0);
}

START_TEST(wgan_penalty_grad_matches_finite_difference)
{
    g_graph *g = g_graph_new();
    g_tensor *xr = g_input(g, "xr", 2, G_SHAPE(5, 3)), *xf = g_input(g, "xf", 2, G_SHAPE(5, 3));
    g_tensor *alpha = g_input(g, "alpha", 1, G_SHAPE(5));
    critic2 c = {g_param(g, "w1", 2, G_SHAPE(3, 4), g_init_normal(0.9f)), g_param(g, "b1", 1, G_SHAPE(4), g_init_torch(3)),
                 g_param(g, "w2", 2, G_SHAPE(4, 1), g_init_normal(0.9f))};
    g_tensor *pen = meg_wgan_penalty(critic2_apply, &c, xr, xf, alpha), *params[3] = {c.w1, c.b1, c.w2}, *gp[3];
    ck_assert_msg(pen && g_grad(g, pen, params, 3, gp) == 0, "%s", g_graph_error(g));
    g_ref *r = g_ref_new(g, 5);
    double a[5] = {0.1, 0.5, 0.9, 0.3, 0.7}, v[15], u[15], *vals[3];
    fill_signed(v, 15);
    fill_signed(u, 15);
    g_ref_write(r, xr, v);
    g_ref_write(r, xf, u);
    g_ref_write(r, alpha, a);
    for (int k = 0; k < 3; k++) {
        size_t m = g_numel(params[k]);
        vals[k] = malloc(m * sizeof(double));
        memcpy(vals[k], g_ref_value(r, params[k]), m * sizeof(double));
    }
    double p = eval_scalar(r, pen);
    ck_assert_msg(p > 1e-3, "the penalty %g is (nearly) zero: the check would prove little", p);
    compare_fd(r, pen, params, vals, gp, 3, 1e-5, "wgan penalty");
    for (int k = 0; k < 3; k++) free(vals[k]);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(penalty_grad_matches_finite_difference_conv_net)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(2, 2, 6, 7));
    g_tensor *w1 = g_param(g, "w1", 4, G_SHAPE(3, 2, 3, 3), g_init_normal(0.5f));
    g_tensor *w2 = g_param(g, "w2", 4, G_SHAPE(2, 3, 2, 2), g_init_normal(0.5f));
    g_tensor *h = g_leaky_relu(g_conv2d(x, w1, 2, 1), 0.2f);   /* [2,3,3,4] */
    g_tensor *e = g_conv2d(h, w2, 1, 0);                       /* [2,2,2,3] */
    g_tensor *params[2] = {w1, w2};
    check_penalty(g, x, e, params, 2, "conv net");
    g_graph_free(g);
}
END_TEST

START_TEST(penalty_grad_matches_finite_difference_conv_transpose_net)
{
    g_graph *g = g_graph_new();
    g_tensor *z = g_input(g, "z", 4, G_SHAPE(2, 3, 3, 3));
    g_tensor *w1 = g_param(g, "w1", 4, G_SHAPE(3, 2, 4, 4), g_init_normal(0.5f));
    g_tensor *w2 = g_param(g, "w2", 4, G_SHAPE(2, 2, 3, 3), g_init_normal(0.5f));
    g_tensor *h = g_leaky_relu(g_conv_transpose2d(z, w1, 2, 1, 0), 0.2f);   /* [2,2,6,6] */
    g_tensor *e = g_conv2d(h, w2, 2, 1);                                   /* [2,2,3,3] */
    g_tensor *params[2] = {w1, w2};
    check_penalty(g, z, e, params, 2, "conv_transpose net");
    g_graph_free(g);
}
END_TEST

START_TEST(penalty_grad_matches_finite_difference_batchnorm_mlp)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(5, 3));
    g_tensor *w1 = g_param(g, "w1", 2, G_SHAPE(3, 4), g_init_normal(0.8f));
    g_tensor *ga = g_param(g, "gamma", 1, G_SHAPE(4), g_init_const(1.3f));
    g_tensor *be = g_param(g, "beta", 1, G_SHAPE(4), g_init_uniform(0.5f));
    g_tensor *w2 = g_param(g, "w2", 2, G_SHAPE(4, 1), g_init_normal(0.6f));
    /* a nonlinearity after the last layer: a batch sum of low-order functions of
     * normalised values is (nearly) constant, which would make P vanish */
    g_tensor *h = g_leaky_relu(g_batchnorm_train(g_matmul(x, w1, 0, 0), ga, be, 1e-5f), 0.2f);
    g_tensor *e = g_softplus(g_matmul(h, w2, 0, 0));
    g_tensor *params[4] = {w1, ga, be, w2};
    check_penalty(g, x, e, params, 4, "batchnorm mlp");
    g_graph_free(g);
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

static Suite *autodiff_suite(void)
{
    Suite *s = suite_create("autodiff");
    TCase *tc = tcase_create("autodiff");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, every_op_gradient_matches_finite_differences, 0, tc_count(TC_GRAD));
    tcase_add_loop_test(tc, every_op_second_gradient_matches_finite_differences, 0, tc_count(TC_GRAD));
    tcase_add_test(tc, the_case_table_covers_every_differentiable_op);
    tcase_add_test(tc, gradient_accumulates_over_three_uses);
    tcase_add_test(tc, unreachable_wrt_gets_zeros_and_no_other_nodes);
    tcase_add_test(tc, unrelated_branches_get_no_gradient_nodes);
    tcase_add_test(tc, gradient_wrt_y_is_one_and_wrt_an_intermediate_is_its_cotangent);
    tcase_add_test(tc, double_backward_of_a_cubic_is_exact);
    tcase_add_test(tc, penalty_grad_matches_finite_difference_mlp);
    tcase_add_test(tc, penalty_grad_matches_finite_difference_conv_net);
    tcase_add_test(tc, penalty_grad_matches_finite_difference_conv_transpose_net);
    tcase_add_test(tc, wgan_penalty_grad_matches_finite_difference);
    tcase_add_test(tc, penalty_grad_matches_finite_difference_batchnorm_mlp);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run(autodiff_suite());
}
