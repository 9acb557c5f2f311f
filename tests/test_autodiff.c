/* test_autodiff.c: g_grad against central finite differences on the CPU
 * reference, first order for every differentiable op, second order (double
 * backward) for every op, and the gradient-penalty networks MEG trains.
 * Suite "autodiff". */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define SH(...) ((const int[]){__VA_ARGS__})
#define FD_STEP 1e-6

/* ---- deterministic test data -------------------------------------------- */

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static double urand(void)   /* [0, 1) */
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

enum { SIGNED, POSITIVE, INDEX };

/* SIGNED: +-[0.2, 1.2] (away from kinks at 0); POSITIVE: [0.5, 2];
 * INDEX: integers -1..4 for 4-row tensors, some out of range (clamped) */
static void fill(double *v, size_t n, int kind)
{
    for (size_t j = 0; j < n; j++) {
        double u = urand();
        if (kind == SIGNED) v[j] = (urand() < 0.5 ? -1 : 1) * (0.2 + u);
        else if (kind == POSITIVE) v[j] = 0.5 + 1.5 * u;
        else v[j] = floor(u * 6) - 1;
    }
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

/* ---- per-op cases -------------------------------------------------------- */

typedef struct in_spec {
    int ndim;
    int shape[4];
    int kind;
    int diff;      /* differentiate with respect to it */
} in_spec;

typedef g_tensor *(*build_fn)(g_graph *g, g_tensor **x);

typedef struct op_case {
    const char *name;
    int nin;
    in_spec in[4];
    build_fn f;
} op_case;

/* order 1: y = sum(W * f(x)); order 2: h = sum_k ||dy/dx_k||^2 with
 * y = sum(W * f(x)^2), so h reaches f's forward value and its derivative. */
static void check_case(const op_case *c, int order)
{
    g_graph *g = g_graph_new();
    g_tensor *x[4], *wrt[4], *first[4], *second[4];
    double *vals[4];
    int nw = 0;
    char name[16];
    for (int k = 0; k < c->nin; k++) {
        snprintf(name, sizeof name, "x%d", k);
        x[k] = g_input(g, name, c->in[k].ndim, c->in[k].shape);
        if (c->in[k].diff) wrt[nw++] = x[k];
    }
    g_tensor *out = c->f(g, x);
    ck_assert_msg(out != NULL, "%s: %s", c->name, g_graph_error(g));
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
        fill(v, m, c->in[k].kind);
        ck_assert_int_eq(g_ref_write(r, x[k], v), 0);
        if (c->in[k].diff) vals[kw++] = v;
        else free(v);
    }
    size_t mo = g_numel(out);
    double *wo = malloc(mo * sizeof *wo);
    fill(wo, mo, SIGNED);
    g_ref_write(r, w, wo);
    free(wo);
    char what[96];
    snprintf(what, sizeof what, "%s (order %d)", c->name, order);
    compare_fd(r, target, wrt, vals, an, nw, order == 1 ? 1e-6 : 1e-5, what);
    for (int k = 0; k < nw; k++) free(vals[k]);
    g_ref_free(r);
    g_graph_free(g);
}

#define A235 {3, {2, 3, 5}, SIGNED, 1}
#define P235 {3, {2, 3, 5}, POSITIVE, 1}

static g_tensor *f_neg(g_graph *g, g_tensor **x) { (void)g; return g_neg(x[0]); }
static g_tensor *f_scale(g_graph *g, g_tensor **x) { (void)g; return g_scale(x[0], 2.5f); }
static g_tensor *f_add_scalar(g_graph *g, g_tensor **x) { (void)g; return g_add_scalar(x[0], 0.7f); }
static g_tensor *f_exp(g_graph *g, g_tensor **x) { (void)g; return g_exp(x[0]); }
static g_tensor *f_log(g_graph *g, g_tensor **x) { (void)g; return g_log(x[0]); }
static g_tensor *f_sqrt(g_graph *g, g_tensor **x) { (void)g; return g_sqrt(x[0]); }
static g_tensor *f_square(g_graph *g, g_tensor **x) { (void)g; return g_square(x[0]); }
static g_tensor *f_abs(g_graph *g, g_tensor **x) { (void)g; return g_abs(x[0]); }
static g_tensor *f_relu(g_graph *g, g_tensor **x) { (void)g; return g_relu(x[0]); }
static g_tensor *f_leaky_relu(g_graph *g, g_tensor **x) { (void)g; return g_leaky_relu(x[0], 0.2f); }
static g_tensor *f_tanh(g_graph *g, g_tensor **x) { (void)g; return g_tanh(x[0]); }
static g_tensor *f_sigmoid(g_graph *g, g_tensor **x) { (void)g; return g_sigmoid(x[0]); }
static g_tensor *f_softplus(g_graph *g, g_tensor **x) { (void)g; return g_softplus(x[0]); }
static g_tensor *f_log_sigmoid(g_graph *g, g_tensor **x) { (void)g; return g_log_sigmoid(x[0]); }
static g_tensor *f_add(g_graph *g, g_tensor **x) { (void)g; return g_add(x[0], x[1]); }
static g_tensor *f_sub(g_graph *g, g_tensor **x) { (void)g; return g_sub(x[0], x[1]); }
static g_tensor *f_mul(g_graph *g, g_tensor **x) { (void)g; return g_mul(x[0], x[1]); }
static g_tensor *f_div(g_graph *g, g_tensor **x) { (void)g; return g_div(x[0], x[1]); }
static g_tensor *f_select(g_graph *g, g_tensor **x)
{
    return g_select(g_gt(x[2], g_scalar(g, 0.0f)), x[0], x[1]);
}
static g_tensor *f_expand(g_graph *g, g_tensor **x) { (void)g; return g_expand(x[0], 3, SH(2, 3, 4)); }
static g_tensor *f_sum_to(g_graph *g, g_tensor **x) { (void)g; return g_sum_to(x[0], 2, SH(3, 1)); }
static g_tensor *f_sum(g_graph *g, g_tensor **x) { (void)g; return g_sum(x[0], 1, 0); }
static g_tensor *f_mean(g_graph *g, g_tensor **x) { (void)g; return g_mean(x[0], -1, 1); }
static g_tensor *f_sum_all(g_graph *g, g_tensor **x) { (void)g; return g_sum_all(x[0]); }
static g_tensor *f_mean_all(g_graph *g, g_tensor **x) { (void)g; return g_mean_all(x[0]); }
static g_tensor *f_reshape(g_graph *g, g_tensor **x) { (void)g; return g_reshape(x[0], 2, SH(5, 6)); }
static g_tensor *f_permute(g_graph *g, g_tensor **x) { (void)g; return g_permute(x[0], SH(2, 0, 1)); }
static g_tensor *f_transpose(g_graph *g, g_tensor **x) { (void)g; return g_transpose(x[0]); }
static g_tensor *f_concat(g_graph *g, g_tensor **x) { return g_concat(g, x, 3, 1); }
static g_tensor *f_slice(g_graph *g, g_tensor **x) { (void)g; return g_slice(x[0], 1, 1, 3); }
static g_tensor *f_pad(g_graph *g, g_tensor **x) { (void)g; return g_pad(x[0], 0, 1, 5); }
static g_tensor *f_gather(g_graph *g, g_tensor **x) { (void)g; return g_gather_rows(x[0], x[1]); }
static g_tensor *f_scatter(g_graph *g, g_tensor **x) { (void)g; return g_scatter_add_rows(x[0], x[1], 4); }
static g_tensor *f_matmul_nn(g_graph *g, g_tensor **x) { (void)g; return g_matmul(x[0], x[1], 0, 0); }
static g_tensor *f_matmul_tn(g_graph *g, g_tensor **x) { (void)g; return g_matmul(x[0], x[1], 1, 0); }
static g_tensor *f_matmul_nt(g_graph *g, g_tensor **x) { (void)g; return g_matmul(x[0], x[1], 0, 1); }
static g_tensor *f_matmul_tt(g_graph *g, g_tensor **x) { (void)g; return g_matmul(x[0], x[1], 1, 1); }
static g_tensor *f_conv2d(g_graph *g, g_tensor **x) { (void)g; return g_conv2d(x[0], x[1], 2, 1); }
static g_tensor *f_conv2d_s1(g_graph *g, g_tensor **x) { (void)g; return g_conv2d(x[0], x[1], 1, 0); }
static g_tensor *f_conv_transpose2d(g_graph *g, g_tensor **x)
{
    (void)g;
    return g_conv_transpose2d(x[0], x[1], 2, 1, 1);
}
static g_tensor *f_conv2d_wgrad(g_graph *g, g_tensor **x)
{
    (void)g;
    return g_conv2d_wgrad(x[0], x[1], 3, 3, 2, 1);
}
static g_tensor *f_shuffle(g_graph *g, g_tensor **x) { return g_shuffle(g_rng(g, "gen", 3), x[0], 0); }
static g_tensor *f_shuffle_rows(g_graph *g, g_tensor **x) { return g_shuffle(g_rng(g, "gen", 4), x[0], 1); }
static g_tensor *f_batchnorm(g_graph *g, g_tensor **x)
{
    (void)g;
    return g_batchnorm_train(x[0], x[1], x[2], 1e-5f);
}

static const op_case case_neg = {"neg", 1, {A235}, f_neg};
static const op_case case_scale = {"scale", 1, {A235}, f_scale};
static const op_case case_add_scalar = {"add_scalar", 1, {A235}, f_add_scalar};
static const op_case case_exp = {"exp", 1, {A235}, f_exp};
static const op_case case_log = {"log", 1, {P235}, f_log};
static const op_case case_sqrt = {"sqrt", 1, {P235}, f_sqrt};
static const op_case case_square = {"square", 1, {A235}, f_square};
static const op_case case_abs = {"abs", 1, {A235}, f_abs};
static const op_case case_relu = {"relu", 1, {A235}, f_relu};
static const op_case case_leaky_relu = {"leaky_relu", 1, {A235}, f_leaky_relu};
static const op_case case_tanh = {"tanh", 1, {A235}, f_tanh};
static const op_case case_sigmoid = {"sigmoid", 1, {A235}, f_sigmoid};
static const op_case case_softplus = {"softplus", 1, {A235}, f_softplus};
static const op_case case_log_sigmoid = {"log_sigmoid", 1, {A235}, f_log_sigmoid};
/* binary ops broadcast both ways: [2,1,5] with [3,1] -> [2,3,5] */
static const op_case case_add = {"add", 2, {{3, {2, 1, 5}, SIGNED, 1}, {2, {3, 1}, SIGNED, 1}}, f_add};
static const op_case case_add_0d = {"add_0d", 2, {{2, {3, 4}, SIGNED, 1}, {0, {0}, SIGNED, 1}}, f_add};
static const op_case case_add_same = {"add_same", 2, {{2, {3, 4}, SIGNED, 1}, {2, {3, 4}, SIGNED, 1}}, f_add};
static const op_case case_sub = {"sub", 2, {{3, {2, 1, 5}, SIGNED, 1}, {2, {3, 1}, SIGNED, 1}}, f_sub};
static const op_case case_mul = {"mul", 2, {{3, {2, 1, 5}, SIGNED, 1}, {2, {3, 1}, SIGNED, 1}}, f_mul};
static const op_case case_div = {"div", 2, {{3, {2, 1, 5}, SIGNED, 1}, {2, {3, 1}, POSITIVE, 1}}, f_div};
static const op_case case_select = {"select", 3, {{3, {2, 3, 5}, SIGNED, 1}, {1, {5}, SIGNED, 1},
                                                  {2, {3, 1}, SIGNED, 0}}, f_select};
static const op_case case_expand = {"expand", 1, {{2, {3, 1}, SIGNED, 1}}, f_expand};
static const op_case case_sum_to = {"sum_to", 1, {{3, {2, 3, 4}, SIGNED, 1}}, f_sum_to};
static const op_case case_sum = {"sum", 1, {{3, {2, 3, 4}, SIGNED, 1}}, f_sum};
static const op_case case_mean = {"mean", 1, {{3, {2, 3, 5}, SIGNED, 1}}, f_mean};
static const op_case case_sum_all = {"sum_all", 1, {{2, {3, 5}, SIGNED, 1}}, f_sum_all};
static const op_case case_mean_all = {"mean_all", 1, {{2, {3, 5}, SIGNED, 1}}, f_mean_all};
static const op_case case_reshape = {"reshape", 1, {A235}, f_reshape};
static const op_case case_permute = {"permute", 1, {{3, {2, 3, 4}, SIGNED, 1}}, f_permute};
static const op_case case_transpose = {"transpose", 1, {{2, {3, 5}, SIGNED, 1}}, f_transpose};
static const op_case case_concat = {"concat", 3, {{3, {2, 1, 3}, SIGNED, 1}, {3, {2, 3, 3}, SIGNED, 1},
                                                  {3, {2, 2, 3}, SIGNED, 1}}, f_concat};
static const op_case case_slice = {"slice", 1, {{3, {3, 5, 2}, SIGNED, 1}}, f_slice};
static const op_case case_pad = {"pad", 1, {{2, {3, 2}, SIGNED, 1}}, f_pad};
static const op_case case_gather_rows = {"gather_rows", 2, {{2, {4, 3}, SIGNED, 1}, {1, {7}, INDEX, 0}}, f_gather};
static const op_case case_scatter_add_rows = {"scatter_add_rows", 2, {{2, {6, 3}, SIGNED, 1}, {1, {6}, INDEX, 0}}, f_scatter};
static const op_case case_matmul_nn = {"matmul_nn", 2, {{2, {3, 4}, SIGNED, 1}, {2, {4, 5}, SIGNED, 1}}, f_matmul_nn};
static const op_case case_matmul_tn = {"matmul_tn", 2, {{2, {4, 3}, SIGNED, 1}, {2, {4, 5}, SIGNED, 1}}, f_matmul_tn};
static const op_case case_matmul_nt = {"matmul_nt", 2, {{2, {3, 4}, SIGNED, 1}, {2, {5, 4}, SIGNED, 1}}, f_matmul_nt};
static const op_case case_matmul_tt = {"matmul_tt", 2, {{2, {4, 3}, SIGNED, 1}, {2, {5, 4}, SIGNED, 1}}, f_matmul_tt};
/* H 5, W 6 with stride 2, pad 1, kernel 3: the input gradient needs output
 * padding 0 on H and 1 on W */
static const op_case case_conv2d = {"conv2d", 2, {{4, {2, 3, 5, 6}, SIGNED, 1}, {4, {4, 3, 3, 3}, SIGNED, 1}}, f_conv2d};
static const op_case case_conv2d_s1 = {"conv2d_s1", 2, {{4, {2, 2, 4, 5}, SIGNED, 1}, {4, {3, 2, 2, 3}, SIGNED, 1}}, f_conv2d_s1};
static const op_case case_conv_transpose2d = {"conv_transpose2d", 2, {{4, {2, 3, 3, 4}, SIGNED, 1},
                                              {4, {3, 2, 3, 3}, SIGNED, 1}}, f_conv_transpose2d};
static const op_case case_conv2d_wgrad = {"conv2d_wgrad", 2, {{4, {2, 3, 5, 6}, SIGNED, 1},
                                          {4, {2, 4, 3, 3}, SIGNED, 1}}, f_conv2d_wgrad};
static const op_case case_shuffle = {"shuffle", 1, {{2, {6, 3}, SIGNED, 1}}, f_shuffle};
static const op_case case_shuffle_rows = {"shuffle_rows", 1, {{2, {7, 2}, SIGNED, 1}}, f_shuffle_rows};
static const op_case case_batchnorm_2d = {"batchnorm_2d", 3, {{2, {5, 3}, SIGNED, 1}, {1, {3}, SIGNED, 1},
                                          {1, {3}, SIGNED, 1}}, f_batchnorm};
static const op_case case_batchnorm_4d = {"batchnorm_4d", 3, {{4, {2, 3, 2, 3}, SIGNED, 1}, {1, {3}, SIGNED, 1},
                                          {1, {3}, SIGNED, 1}}, f_batchnorm};

#define OPS(X) \
    X(neg) X(scale) X(add_scalar) X(exp) X(log) X(sqrt) X(square) X(abs) X(relu) X(leaky_relu) \
    X(tanh) X(sigmoid) X(softplus) X(log_sigmoid) X(add) X(add_0d) X(add_same) X(sub) X(mul) \
    X(div) X(select) X(expand) X(sum_to) X(sum) X(mean) X(sum_all) X(mean_all) X(reshape) \
    X(permute) X(transpose) X(concat) X(slice) X(pad) X(gather_rows) X(scatter_add_rows) \
    X(matmul_nn) X(matmul_tn) X(matmul_nt) X(matmul_tt) X(conv2d) X(conv2d_s1) \
    X(conv_transpose2d) X(conv2d_wgrad) X(shuffle) X(shuffle_rows) X(batchnorm_2d) X(batchnorm_4d)

#define DEFINE_TESTS(op) \
    START_TEST(grad_matches_finite_difference_##op) { check_case(&case_##op, 1); } END_TEST \
    START_TEST(second_grad_matches_finite_difference_##op) { check_case(&case_##op, 2); } END_TEST
OPS(DEFINE_TESTS)

/* ---- structure of the backward graph ----------------------------------- */

START_TEST(gradient_accumulates_over_three_uses)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, SH(3, 4)), *w = g_input(g, "w", 2, SH(3, 4)), *gx;
    /* x feeds mul twice and scale once: d/dx sum(w (x x + 3 x)) = w (2x + 3) */
    g_tensor *y = g_sum_all(g_mul(w, g_add(g_mul(x, x), g_scale(x, 3.0f))));
    ck_assert_int_eq(g_grad(g, y, &x, 1, &gx), 0);
    ck_assert_int_eq(gx->op, G_OP_ADD);
    g_ref *r = g_ref_new(g, 0);
    double xv[12], wv[12];
    fill(xv, 12, SIGNED);
    fill(wv, 12, SIGNED);
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
    g_tensor *a = g_input(g, "a", 1, SH(3)), *b = g_input(g, "b", 2, SH(2, 2)), *out[2];
    g_tensor *y = g_sum_all(g_exp(a));
    int n0 = g_graph_size(g);
    g_tensor *wrt[1] = {b};
    ck_assert_int_eq(g_grad(g, y, wrt, 1, out), 0);
    ck_assert_int_eq(g_graph_size(g), n0 + 1);
    ck_assert_int_eq(out[0]->op, G_OP_CONST);
    ck_assert(out[0]->f[0] == 0.0f);
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
    g_tensor *a = g_input(g, "a", 1, SH(3)), *b = g_input(g, "b", 1, SH(3)), *ga;
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
    g_tensor *a = g_input(g, "a", 1, SH(4)), *w = g_input(g, "w", 1, SH(4));
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
    g_tensor *x = g_input(g, "x", 1, SH(3)), *g1, *g2, *g3;
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
    fill(xv, nx, SIGNED);
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
    g_tensor *x = g_input(g, "x", 2, SH(5, 3));
    g_tensor *w1 = g_param(g, "w1", 2, SH(3, 4), g_init_normal(0.8f));
    g_tensor *b1 = g_param(g, "b1", 1, SH(4), g_init_torch(3));
    g_tensor *w2 = g_param(g, "w2", 2, SH(4, 4), g_init_normal(0.6f));
    g_tensor *b2 = g_param(g, "b2", 1, SH(4), g_init_torch(4));
    g_tensor *w3 = g_param(g, "w3", 2, SH(4, 1), g_init_normal(0.6f));
    g_tensor *b3 = g_param(g, "b3", 1, SH(1), g_init_torch(4));
    g_tensor *h = g_leaky_relu(g_add(g_matmul(x, w1, 0, 0), b1), 0.2f);
    h = g_leaky_relu(g_add(g_matmul(h, w2, 0, 0), b2), 0.2f);
    g_tensor *e = g_add(g_matmul(h, w3, 0, 0), b3);   /* [5, 1] */
    g_tensor *params[6] = {w1, b1, w2, b2, w3, b3};
    check_penalty(g, x, e, params, 6, "mlp");
    g_graph_free(g);
}
END_TEST

START_TEST(penalty_grad_matches_finite_difference_conv_net)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 4, SH(2, 2, 6, 7));
    g_tensor *w1 = g_param(g, "w1", 4, SH(3, 2, 3, 3), g_init_normal(0.5f));
    g_tensor *w2 = g_param(g, "w2", 4, SH(2, 3, 2, 2), g_init_normal(0.5f));
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
    g_tensor *z = g_input(g, "z", 4, SH(2, 3, 3, 3));
    g_tensor *w1 = g_param(g, "w1", 4, SH(3, 2, 4, 4), g_init_normal(0.5f));
    g_tensor *w2 = g_param(g, "w2", 4, SH(2, 2, 3, 3), g_init_normal(0.5f));
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
    g_tensor *x = g_input(g, "x", 2, SH(5, 3));
    g_tensor *w1 = g_param(g, "w1", 2, SH(3, 4), g_init_normal(0.8f));
    g_tensor *ga = g_param(g, "gamma", 1, SH(4), g_init_const(1.3f));
    g_tensor *be = g_param(g, "beta", 1, SH(4), g_init_uniform(0.5f));
    g_tensor *w2 = g_param(g, "w2", 2, SH(4, 1), g_init_normal(0.6f));
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
#define ADD_TESTS(op) \
    tcase_add_test(tc, grad_matches_finite_difference_##op); \
    tcase_add_test(tc, second_grad_matches_finite_difference_##op);
    OPS(ADD_TESTS)
    tcase_add_test(tc, gradient_accumulates_over_three_uses);
    tcase_add_test(tc, unreachable_wrt_gets_zeros_and_no_other_nodes);
    tcase_add_test(tc, unrelated_branches_get_no_gradient_nodes);
    tcase_add_test(tc, gradient_wrt_y_is_one_and_wrt_an_intermediate_is_its_cotangent);
    tcase_add_test(tc, double_backward_of_a_cubic_is_exact);
    tcase_add_test(tc, penalty_grad_matches_finite_difference_mlp);
    tcase_add_test(tc, penalty_grad_matches_finite_difference_conv_net);
    tcase_add_test(tc, penalty_grad_matches_finite_difference_conv_transpose_net);
    tcase_add_test(tc, penalty_grad_matches_finite_difference_batchnorm_mlp);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(autodiff_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
