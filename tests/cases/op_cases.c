/* op_cases.c: the one table of op cases (see cases.h). Rows used for
 * gradients (TC_GRAD) are small, since every input entry costs two CPU
 * reference runs; device rows (TC_DEVICE) sit at the thresholds where the
 * planner or the kernels change strategy; bench rows (TC_BENCH) have the
 * MEG and MNIST networks' shapes. */
#include "cases.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- builders: each reads its row's arguments ------------------------------ */

static g_tensor *b_unary(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return c->un(x[0]); }
static g_tensor *b_binary(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return c->bin(x[0], x[1]); }
static g_tensor *b_scale(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_scale(x[0], c->farg); }
static g_tensor *b_add_scalar(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_add_scalar(x[0], c->farg); }
static g_tensor *b_leaky(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_leaky_relu(x[0], c->farg); }
static g_tensor *b_select(g_graph *g, g_tensor **x, const tc_case *c)
{
    (void)c;
    return g_select(g_gt(x[2], g_scalar(g, 0.0f)), x[0], x[1]);
}
/* arg[0] dimensions, arg[1..] the shape */
static g_tensor *b_expand(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_expand(x[0], c->arg[0], c->arg + 1); }
static g_tensor *b_sum_to(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_sum_to(x[0], c->arg[0], c->arg + 1); }
static g_tensor *b_reshape(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_reshape(x[0], c->arg[0], c->arg + 1); }
/* arg[0] axis, arg[1] keepdim */
static g_tensor *b_sum(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_sum(x[0], c->arg[0], c->arg[1]); }
static g_tensor *b_mean(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_mean(x[0], c->arg[0], c->arg[1]); }
static g_tensor *b_sum_all(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; (void)c; return g_sum_all(x[0]); }
static g_tensor *b_mean_all(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; (void)c; return g_mean_all(x[0]); }
static g_tensor *b_permute(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_permute(x[0], c->arg); }
static g_tensor *b_transpose(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; (void)c; return g_transpose(x[0]); }
static g_tensor *b_concat(g_graph *g, g_tensor **x, const tc_case *c) { return g_concat(g, x, c->nin, c->arg[0]); }
/* arg: axis, start, length (slice) or axis, before, total (pad) */
static g_tensor *b_slice(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_slice(x[0], c->arg[0], c->arg[1], c->arg[2]); }
static g_tensor *b_pad(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_pad(x[0], c->arg[0], c->arg[1], c->arg[2]); }
static g_tensor *b_gather(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; (void)c; return g_gather_rows(x[0], x[1]); }
static g_tensor *b_scatter(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_scatter_add_rows(x[0], x[1], c->arg[0]); }
/* arg: transpose a, transpose b */
static g_tensor *b_matmul(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_matmul(x[0], x[1], c->arg[0], c->arg[1]); }
/* leaky_relu(op(a) op(b) + bias): the planner's fused epilogue */
static g_tensor *b_matmul_bias_leaky(g_graph *g, g_tensor **x, const tc_case *c)
{
    (void)g;
    return g_leaky_relu(g_add(g_matmul(x[0], x[1], c->arg[0], c->arg[1]), x[2]), 0.2f);
}
/* arg: stride, pad (, output padding) */
static g_tensor *b_conv2d(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_conv2d(x[0], x[1], c->arg[0], c->arg[1]); }
static g_tensor *b_conv_t(g_graph *g, g_tensor **x, const tc_case *c)
{
    (void)g;
    return g_conv_transpose2d(x[0], x[1], c->arg[0], c->arg[1], c->arg[2]);
}
/* arg: kh, kw, stride, pad */
static g_tensor *b_wgrad(g_graph *g, g_tensor **x, const tc_case *c)
{
    (void)g;
    return g_conv2d_wgrad(x[0], x[1], c->arg[0], c->arg[1], c->arg[2], c->arg[3]);
}
/* arg: whole rows, generator seed */
static g_tensor *b_shuffle(g_graph *g, g_tensor **x, const tc_case *c)
{
    return g_shuffle(g_rng(g, "gen", (uint64_t)c->arg[1]), x[0], c->arg[0]);
}
static g_tensor *b_batchnorm(g_graph *g, g_tensor **x, const tc_case *c)
{
    (void)g;
    (void)c;
    return g_batchnorm_train(x[0], x[1], x[2], 1e-5f);
}
/* A layout op (arg[0]: 0 permute, 1 slice, 2 pad, 3 gather, 4 scatter) of a
 * constant in another shape, plus x0 (the index of gather and scatter): a
 * constant has no buffer, so the op must read its value, not fetch it
 * (found by the differential tester, tests/difftest.c). */
static g_tensor *b_layout_of_const(g_graph *g, g_tensor **x, const tc_case *c)
{
    g_tensor *k = g_reshape(g_const(g, -0.75f, 1, G_SHAPE(3 * 17)), 2, G_SHAPE(3, 17));
    g_tensor *y;
    switch (c->arg[0]) {
    case 0: y = g_permute(k, G_SHAPE(1, 0)); break;
    case 1: y = g_slice(k, 1, 2, 9); break;
    case 2: y = g_pad(k, 0, 1, 5); break;
    case 3: return g_add(g_gather_rows(k, x[0]), g_reshape(x[0], 2, G_SHAPE(x[0]->shape[0], 1)));
    default: return g_add(g_scatter_add_rows(g_gather_rows(k, x[0]), x[0], 3), x[1]);
    }
    return g_add(y, x[0]);
}

/* arg[0] axis, arg[1] keepdim */
static g_tensor *b_max(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_max(x[0], c->arg[0], c->arg[1]); }
static g_tensor *b_argmax(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_argmax(x[0], c->arg[0], c->arg[1]); }
/* argmax of x0 > 0: ties everywhere, the first of them must win */
static g_tensor *b_argmax_of_ties(g_graph *g, g_tensor **x, const tc_case *c)
{
    return g_argmax(g_gt(x[0], g_scalar(g, 0.0f)), c->arg[0], c->arg[1]);
}
/* max and argmax of a constant [3, 257], plus x0 [3]: no buffer to reduce */
static g_tensor *b_max_of_const(g_graph *g, g_tensor **x, const tc_case *c)
{
    (void)c;
    g_tensor *k = g_reshape(g_const(g, -0.75f, 1, G_SHAPE(3 * 257)), 2, G_SHAPE(3, 257));
    return g_add(g_add(g_max(k, 1, 0), g_argmax(k, 1, 0)), x[0]);
}
/* arg[0] axis */
static g_tensor *b_log_softmax(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_log_softmax(x[0], c->arg[0]); }
/* arg[0] classes */
static g_tensor *b_one_hot(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_one_hot(x[0], c->arg[0]); }
static g_tensor *b_cross_entropy(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; (void)c; return g_cross_entropy(x[0], x[1]); }
/* arg[0] window */
static g_tensor *b_max_pool(g_graph *g, g_tensor **x, const tc_case *c) { (void)g; return g_max_pool2d(x[0], c->arg[0]); }
static g_tensor *b_max_pool_grad(g_graph *g, g_tensor **x, const tc_case *c)
{
    (void)g;
    return g_max_pool2d_grad(x[0], x[1], c->arg[0]);
}
/* pooling's routing of x1 over x0 > 0: ties in most windows, the first must win */
static g_tensor *b_max_pool_grad_of_ties(g_graph *g, g_tensor **x, const tc_case *c)
{
    return g_max_pool2d_grad(g_gt(x[0], g_scalar(g, 0.0f)), x[1], c->arg[0]);
}
/* the routing of a constant gy (how the second-order adjoint finds the maxima) */
static g_tensor *b_max_pool_mask(g_graph *g, g_tensor **x, const tc_case *c)
{
    int k = c->arg[0], *s = x[0]->shape;
    g_tensor *ones = g_const(g, 1.0f, 4, G_SHAPE(s[0], s[1], s[2] / k, s[3] / k));
    return g_max_pool2d_grad(x[0], ones, k);
}
/* arg[0] generator seed, farg p */
static g_tensor *b_dropout(g_graph *g, g_tensor **x, const tc_case *c)
{
    return g_dropout(g_rng(g, "gen", (uint64_t)c->arg[0]), x[0], c->farg);
}

/* leaky_relu(x + b) * y: a fused elementwise chain of three inputs */
static g_tensor *b_ew_chain(g_graph *g, g_tensor **x, const tc_case *c)
{
    (void)g;
    (void)c;
    return g_mul(g_leaky_relu(g_add(x[0], x[1]), 0.2f), x[2]);
}

/* ---- the table -------------------------------------------------------------------- */

#define GD (TC_GRAD | TC_DEVICE)
#define DV TC_DEVICE
#define BN TC_BENCH
#define IN(nd, ...) {nd, {__VA_ARGS__}, TC_SIGNED, 1, 0}
#define POS(nd, ...) {nd, {__VA_ARGS__}, TC_POSITIVE, 1, 0}
#define CND(nd, ...) {nd, {__VA_ARGS__}, TC_SIGNED, 0, 0}         /* read, not differentiated */
#define IDX(rows, n) {1, {n}, TC_INDEX, 0, rows}
#define U8(nd, ...) {nd, {__VA_ARGS__}, TC_U8, 0, 0}           /* an 8-bit input: read, never differentiated */
#define A235 IN(3, 2, 3, 5)
#define P235 POS(3, 2, 3, 5)
#define UN(nm, f, use, ...) {nm, use, 1, {__VA_ARGS__}, b_unary, .un = f}
#define BI(nm, f, use, ...) {nm, use, 2, {__VA_ARGS__}, b_binary, .bin = f}

const tc_case tc_cases[] = {
    /* elementwise unary; device rows around the 64-invocation groups and
     * past 65,535 groups (4,194,240 invocations), where y takes the rest */
    UN("neg", g_neg, GD, A235),
    {"scale", GD, 1, {A235}, b_scale, .farg = 2.5f},
    {"add_scalar", GD, 1, {A235}, b_add_scalar, .farg = 0.7f},
    UN("exp", g_exp, GD, A235),
    UN("log", g_log, GD, P235),
    UN("sqrt", g_sqrt, GD, P235),
    UN("square", g_square, GD, A235),
    UN("abs", g_abs, GD, A235),
    UN("relu", g_relu, GD, A235),
    {"leaky_relu", GD, 1, {A235}, b_leaky, .farg = 0.2f},
    UN("tanh", g_tanh, GD, A235),
    UN("sigmoid", g_sigmoid, GD, A235),
    UN("softplus", g_softplus, GD, A235),
    UN("log_sigmoid", g_log_sigmoid, GD, A235),
    UN("exp_1", g_exp, DV, IN(1, 1)),
    UN("tanh_63", g_tanh, DV, IN(1, 63)),
    UN("sigmoid_64", g_sigmoid, DV, IN(1, 64)),
    UN("softplus_65", g_softplus, DV, IN(1, 65)),
    UN("log_sigmoid_255x257", g_log_sigmoid, DV, IN(2, 255, 257)),
    UN("sqrt_256x256", g_sqrt, DV, POS(2, 256, 256)),
    UN("abs_past_65535_groups", g_abs, DV, IN(1, 4194305)),
    {"ew_chain_256x512", BN, 3, {IN(2, 256, 512), IN(1, 512), IN(2, 256, 512)}, b_ew_chain},
    {"ew_chain_4096x4096", BN, 3, {IN(2, 4096, 4096), IN(1, 4096), IN(2, 4096, 4096)}, b_ew_chain},

    /* binary, broadcasting both ways: [2,1,5] with [3,1] -> [2,3,5] */
    BI("add", g_add, GD, IN(3, 2, 1, 5), IN(2, 3, 1)),
    BI("add_0d", g_add, GD, IN(2, 3, 4), IN(0, 0)),
    BI("add_same", g_add, GD, IN(2, 3, 4), IN(2, 3, 4)),
    BI("sub", g_sub, GD, IN(3, 2, 1, 5), IN(2, 3, 1)),
    BI("mul", g_mul, GD, IN(3, 2, 1, 5), IN(2, 3, 1)),
    BI("div", g_div, GD, IN(3, 2, 1, 5), POS(2, 3, 1)),
    BI("mul_257x255_by_row", g_mul, DV, IN(2, 257, 255), IN(1, 255)),
    BI("sub_column_by_256x3", g_sub, DV, IN(2, 256, 1), IN(2, 256, 3)),
    BI("div_3x1x257_by_255x1", g_div, DV, IN(3, 3, 1, 257), POS(2, 255, 1)),
    BI("ge_65x1_by_1x63", g_ge, DV, IN(2, 65, 1), IN(2, 1, 63)),
    BI("gt_63x65_by_65", g_gt, DV, IN(2, 63, 65), IN(1, 65)),
    BI("lt_255_by_scalar", g_lt, DV, IN(1, 255), IN(0, 0)),
    BI("le_3x257_by_3x1", g_le, DV, IN(2, 3, 257), IN(2, 3, 1)),
    BI("eq_of_small_integers", g_eq, DV, IDX(3, 257), IDX(3, 257)),
    {"select", GD, 3, {IN(3, 2, 3, 5), IN(1, 5), CND(2, 3, 1)}, b_select},
    {"select_257", DV, 3, {IN(2, 3, 257), IN(1, 257), CND(2, 3, 1)}, b_select},

    /* broadcasting and reductions; device rows on both sides of 256 outputs
     * and 256 inputs per output, where a workgroup per output takes over */
    {"expand", GD, 1, {IN(2, 3, 1)}, b_expand, .arg = {3, 2, 3, 4}},
    {"expand_257", DV, 1, {IN(2, 1, 257)}, b_expand, .arg = {3, 3, 255, 257}},
    {"sum_to", GD, 1, {IN(3, 2, 3, 4)}, b_sum_to, .arg = {2, 3, 1}},
    {"sum", GD, 1, {IN(3, 2, 3, 4)}, b_sum, .arg = {1, 0}},
    {"mean", GD, 1, {IN(3, 2, 3, 5)}, b_mean, .arg = {-1, 1}},
    {"sum_all", GD, 1, {IN(2, 3, 5)}, b_sum_all},
    {"mean_all", GD, 1, {IN(2, 3, 5)}, b_mean_all},
    {"sum_255_rows_of_256", DV, 1, {IN(2, 255, 256)}, b_sum, .arg = {1, 0}, .tol = 1e-5},
    {"sum_256_rows_of_255", DV, 1, {IN(2, 256, 255)}, b_sum, .arg = {1, 0}, .tol = 1e-5},
    {"sum_257_rows_of_257", DV, 1, {IN(2, 257, 257)}, b_sum, .arg = {1, 1}, .tol = 1e-5},
    {"sum_3_columns_of_300", DV, 1, {IN(2, 300, 3)}, b_sum, .arg = {0, 0}, .tol = 1e-5},
    {"sum_to_1x1x7_of_3x255x7", DV, 1, {IN(3, 3, 255, 7)}, b_sum_to, .arg = {3, 1, 1, 7}, .tol = 1e-5},
    {"sum_all_257x255", DV, 1, {IN(2, 257, 255)}, b_sum_all, .tol = 2e-5},
    {"sum_rows_256x512", BN, 1, {IN(2, 256, 512)}, b_sum, .arg = {1, 0}},
    {"sum_columns_256x512", BN, 1, {IN(2, 256, 512)}, b_sum, .arg = {0, 0}},
    {"sum_all_4096x4096", BN, 1, {IN(2, 4096, 4096)}, b_sum_all},

    /* maxima along an axis (reductions: the same thresholds as sums) and
     * what a classifier builds from them; ties must go to the first */
    {"max", GD, 1, {IN(3, 2, 3, 5)}, b_max, .arg = {1, 0}},
    {"max_last_keepdim", GD, 1, {IN(2, 3, 5)}, b_max, .arg = {-1, 1}},
    {"log_softmax", GD, 1, {IN(2, 3, 5)}, b_log_softmax, .arg = {1}},
    {"log_softmax_axis0", GD, 1, {IN(3, 4, 3, 2)}, b_log_softmax, .arg = {0}},
    {"cross_entropy", GD, 2, {IN(2, 5, 7), IDX(7, 5)}, b_cross_entropy},
    {"max_257_rows_of_255", DV, 1, {IN(2, 257, 255)}, b_max, .arg = {1, 0}},
    {"max_3x7_over_257_strided", DV, 1, {IN(3, 3, 257, 7)}, b_max, .arg = {1, 1}},
    {"argmax_255_rows_of_257", DV, 1, {IN(2, 255, 257)}, b_argmax, .arg = {-1, 0}},
    {"argmax_3_columns_of_300", DV, 1, {IN(2, 300, 3)}, b_argmax, .arg = {0, 1}},
    {"argmax_of_ties_3_columns_of_300", DV, 1, {IN(2, 300, 3)}, b_argmax_of_ties, .arg = {0, 0}},
    {"argmax_of_ties_257_rows_of_63", DV, 1, {IN(2, 257, 63)}, b_argmax_of_ties, .arg = {1, 0}},
    {"max_and_argmax_of_a_constant", DV, 1, {IN(1, 3)}, b_max_of_const},
    UN("stop_gradient_257", g_stop_gradient, DV, IN(1, 257)),
    {"one_hot_257_of_10", DV, 1, {IDX(10, 257)}, b_one_hot, .arg = {10}},
    {"log_softmax_257x10", DV, 1, {IN(2, 257, 10)}, b_log_softmax, .arg = {1}, .tol = 1e-5},
    {"log_softmax_3x300", DV, 1, {IN(2, 3, 300)}, b_log_softmax, .arg = {-1}, .tol = 1e-5},
    {"log_softmax_axis0_65x3x5", DV, 1, {IN(3, 65, 3, 5)}, b_log_softmax, .arg = {0}, .tol = 1e-5},
    {"cross_entropy_257x10", DV, 2, {IN(2, 257, 10), IDX(10, 257)}, b_cross_entropy, .tol = 1e-5},
    {"log_softmax_256x10", BN, 1, {IN(2, 256, 10)}, b_log_softmax, .arg = {1}},
    {"cross_entropy_256x10", BN, 2, {IN(2, 256, 10), IN(1, 256)}, b_cross_entropy},

    /* layout */
    {"reshape", GD, 1, {A235}, b_reshape, .arg = {2, 5, 6}},
    {"permute", GD, 1, {IN(3, 2, 3, 4)}, b_permute, .arg = {2, 0, 1}},
    {"transpose", GD, 1, {IN(2, 3, 5)}, b_transpose},
    {"concat", GD, 3, {IN(3, 2, 1, 3), IN(3, 2, 3, 3), IN(3, 2, 2, 3)}, b_concat, .arg = {1}},
    {"slice", GD, 1, {IN(3, 3, 5, 2)}, b_slice, .arg = {1, 1, 3}},
    {"pad", GD, 1, {IN(2, 3, 2)}, b_pad, .arg = {0, 1, 5}},
    {"gather_rows", GD, 2, {IN(2, 4, 3), IDX(4, 7)}, b_gather},
    {"scatter_add_rows", GD, 2, {IN(2, 6, 3), IDX(4, 6)}, b_scatter, .arg = {4}},
    {"permute_3x257x2", DV, 1, {IN(3, 3, 257, 2)}, b_permute, .arg = {1, 2, 0}},
    {"transpose_255x257", DV, 1, {IN(2, 255, 257)}, b_transpose},
    {"concat_255_and_257", DV, 2, {IN(2, 3, 255), IN(2, 3, 257)}, b_concat, .arg = {1}},
    {"slice_255_of_257", DV, 1, {IN(2, 257, 3)}, b_slice, .arg = {0, 1, 255}},
    {"pad_255_into_257", DV, 1, {IN(2, 4, 255)}, b_pad, .arg = {1, 1, 257}},
    {"gather_257_rows", DV, 2, {IN(2, 65, 3), IDX(65, 257)}, b_gather},
    {"permute_of_a_constant", DV, 1, {IN(2, 17, 3)}, b_layout_of_const, .arg = {0}},
    {"slice_of_a_constant", DV, 1, {IN(2, 3, 9)}, b_layout_of_const, .arg = {1}},
    {"pad_of_a_constant", DV, 1, {IN(2, 5, 17)}, b_layout_of_const, .arg = {2}},
    {"gather_of_a_constant", DV, 1, {IDX(3, 9)}, b_layout_of_const, .arg = {3}},
    {"scatter_of_a_constant", DV, 2, {IDX(3, 9), IN(2, 3, 17)}, b_layout_of_const, .arg = {4}},
    {"scatter_257_rows_into_65", DV, 2, {IN(2, 257, 3), IDX(65, 257)}, b_scatter, .arg = {65}, .tol = 1e-5},

    /* matmul in every layout; device rows at the register blocks' edges
     * (8 x 8, and 16 x 8 from 256 x 256 outputs; few columns: 8 x N) */
    {"matmul_nn", GD, 2, {IN(2, 3, 4), IN(2, 4, 5)}, b_matmul, .arg = {0, 0}},
    {"matmul_tn", GD, 2, {IN(2, 4, 3), IN(2, 4, 5)}, b_matmul, .arg = {1, 0}},
    {"matmul_nt", GD, 2, {IN(2, 3, 4), IN(2, 5, 4)}, b_matmul, .arg = {0, 1}},
    {"matmul_tt", GD, 2, {IN(2, 4, 3), IN(2, 5, 4)}, b_matmul, .arg = {1, 1}},
    {"matmul_1x1x1", DV, 2, {IN(2, 1, 1), IN(2, 1, 1)}, b_matmul, .arg = {0, 0}},
    /* K = 1: an outer product, elementwise work in the planner */
    {"matmul_40x1x33_outer_tn", GD, 2, {IN(2, 1, 40), IN(2, 1, 33)}, b_matmul, .arg = {1, 0}},
    {"matmul_9x1x70_outer_nt", GD, 2, {IN(2, 9, 1), IN(2, 70, 1)}, b_matmul, .arg = {0, 1}},
    {"matmul_7x9x15_tt", DV, 2, {IN(2, 9, 7), IN(2, 15, 9)}, b_matmul, .arg = {1, 1}, .tol = 1e-5},
    {"matmul_300x5x3_few_columns", DV, 2, {IN(2, 300, 5), IN(2, 5, 3)}, b_matmul, .arg = {0, 0}, .tol = 1e-5},
    {"matmul_255x64x257_nt", DV, 2, {IN(2, 255, 64), IN(2, 257, 64)}, b_matmul, .arg = {0, 1}, .tol = 1e-5},
    /* 129 block rows of 8: along y and z under 64 workgroups per axis (the
     * cases_small_device test) */
    {"matmul_1030x7x20_rows_past_64_groups", DV, 2, {IN(2, 1030, 7), IN(2, 7, 20)}, b_matmul, .arg = {0, 0}, .tol = 1e-5},
    {"matmul_256x255x256_tn", DV, 2, {IN(2, 255, 256), IN(2, 255, 256)}, b_matmul, .arg = {1, 0}, .tol = 2e-5},
    {"matmul_bias_leaky_257x33x255", DV, 3, {IN(2, 257, 33), IN(2, 33, 255), IN(1, 255)}, b_matmul_bias_leaky,
     .arg = {0, 0}, .tol = 1e-5},
    {"matmul_bias_leaky_264x17x260_tn", DV, 3, {IN(2, 17, 264), IN(2, 17, 260), IN(1, 260)}, b_matmul_bias_leaky,
     .arg = {1, 0}, .tol = 1e-5},
    {"matmul_256x256x256", BN, 2, {IN(2, 256, 256), IN(2, 256, 256)}, b_matmul, .arg = {0, 0}},
    {"matmul_512x512x512", BN, 2, {IN(2, 512, 512), IN(2, 512, 512)}, b_matmul, .arg = {0, 0}},
    {"matmul_1024x1024x1024", BN, 2, {IN(2, 1024, 1024), IN(2, 1024, 1024)}, b_matmul, .arg = {0, 0}},
    {"matmul_256x2x512", BN, 2, {IN(2, 256, 2), IN(2, 2, 512)}, b_matmul, .arg = {0, 0}},
    {"matmul_256x512x512", BN, 2, {IN(2, 256, 512), IN(2, 512, 512)}, b_matmul, .arg = {0, 0}},
    {"matmul_256x784x512", BN, 2, {IN(2, 256, 784), IN(2, 784, 512)}, b_matmul, .arg = {0, 0}},

    /* convolutions. H 5, W 6 with stride 2, pad 1, kernel 3: the input
     * gradient needs output padding 0 on H and 1 on W. Device rows cut
     * across the kernels' blocks (16 channels x 8 pixels, and the S x S
     * pixel classes of conv_transpose2d). Bench rows: the MNIST networks,
     * batch 64, 5 x 5 kernels, stride 2, padding 2. */
    {"conv2d", GD, 2, {IN(4, 2, 3, 5, 6), IN(4, 4, 3, 3, 3)}, b_conv2d, .arg = {2, 1}},
    {"conv2d_s1", GD, 2, {IN(4, 2, 2, 4, 5), IN(4, 3, 2, 2, 3)}, b_conv2d, .arg = {1, 0}},
    {"conv_transpose2d", GD, 2, {IN(4, 2, 3, 3, 4), IN(4, 3, 2, 3, 3)}, b_conv_t, .arg = {2, 1, 1}},
    {"conv2d_wgrad", GD, 2, {IN(4, 2, 3, 5, 6), IN(4, 2, 4, 3, 3)}, b_wgrad, .arg = {3, 3, 2, 1}},
    {"conv2d_17_channels_width_9", DV, 2, {IN(4, 2, 5, 9, 9), IN(4, 17, 5, 3, 3)}, b_conv2d, .arg = {1, 1}, .tol = 1e-5},
    {"conv2d_16_channels_width_8", DV, 2, {IN(4, 1, 3, 8, 16), IN(4, 16, 3, 3, 3)}, b_conv2d, .arg = {2, 1}, .tol = 1e-5},
    {"conv_transpose2d_15_channels_s3", DV, 2, {IN(4, 2, 4, 5, 7), IN(4, 4, 15, 4, 4)}, b_conv_t, .arg = {3, 1, 2},
     .tol = 1e-5},
    {"conv2d_wgrad_17_by_9", DV, 2, {IN(4, 2, 9, 7, 7), IN(4, 2, 17, 4, 4)}, b_wgrad, .arg = {3, 3, 2, 1}, .tol = 1e-5},
    /* the pixel blocks (at most 8: TN columns x RB rows; 2 x 2, 3 x 2 with a
     * partial row block, 4 x 2), channel blocks (16 outputs; conv_transpose2d's
     * 16-channel input blocks), the classes of a transposed conv filled
     * across images (batch 1 and 3), output padding 0 and 1, stride 1 */
    {"conv2d_2x2_out_batch_3", DV, 2, {IN(4, 3, 5, 4, 4), IN(4, 17, 5, 5, 5)}, b_conv2d, .arg = {2, 2}, .tol = 1e-5},
    {"conv2d_3x3_out", DV, 2, {IN(4, 2, 4, 6, 6), IN(4, 5, 4, 3, 3)}, b_conv2d, .arg = {2, 1}, .tol = 1e-5},
    {"conv2d_7_to_4_batch_1_33_channels", DV, 2, {IN(4, 1, 6, 7, 7), IN(4, 33, 6, 5, 5)}, b_conv2d, .arg = {2, 2},
     .tol = 1e-5},
    {"conv_transpose2d_2_to_4_17_channels", DV, 2, {IN(4, 3, 17, 2, 2), IN(4, 17, 19, 5, 5)}, b_conv_t,
     .arg = {2, 2, 1}, .tol = 1e-5},
    {"conv_transpose2d_4_to_7", DV, 2, {IN(4, 2, 5, 4, 4), IN(4, 5, 3, 5, 5)}, b_conv_t, .arg = {2, 2, 0}, .tol = 1e-5},
    {"conv_transpose2d_7_to_14_batch_1_33_channels", DV, 2, {IN(4, 1, 33, 7, 7), IN(4, 33, 17, 5, 5)}, b_conv_t,
     .arg = {2, 2, 1}, .tol = 1e-5},
    {"conv_transpose2d_14_to_28_1_channel", DV, 2, {IN(4, 2, 4, 14, 14), IN(4, 4, 1, 5, 5)}, b_conv_t,
     .arg = {2, 2, 1}, .tol = 1e-5},
    {"conv_transpose2d_s1", DV, 2, {IN(4, 2, 3, 5, 6), IN(4, 3, 4, 3, 3)}, b_conv_t, .arg = {1, 1, 0}, .tol = 1e-5},
    /* E (and T's trunk): conv C->64->128->256->512, 28->14->7->4->2; their
     * data gradients are G's transposed convs (the same shapes), weight
     * gradients of E's and G's layers share shapes too. Classifier: stride 1. */
    {"conv2d_1_to_64_28x28", BN, 2, {IN(4, 64, 1, 28, 28), IN(4, 64, 1, 5, 5)}, b_conv2d, .arg = {2, 2}},
    {"conv2d_3_to_64_28x28", BN, 2, {IN(4, 64, 3, 28, 28), IN(4, 64, 3, 5, 5)}, b_conv2d, .arg = {2, 2}},
    {"conv2d_64_to_128_14x14", BN, 2, {IN(4, 64, 64, 14, 14), IN(4, 128, 64, 5, 5)}, b_conv2d, .arg = {2, 2}},
    {"conv2d_128_to_256_7x7", BN, 2, {IN(4, 64, 128, 7, 7), IN(4, 256, 128, 5, 5)}, b_conv2d, .arg = {2, 2}},
    {"conv2d_256_to_512_4x4", BN, 2, {IN(4, 64, 256, 4, 4), IN(4, 512, 256, 5, 5)}, b_conv2d, .arg = {2, 2}},
    {"conv2d_s1_1_to_16_28x28", BN, 2, {IN(4, 64, 1, 28, 28), IN(4, 16, 1, 5, 5)}, b_conv2d, .arg = {1, 2}},
    {"conv2d_s1_16_to_32_14x14", BN, 2, {IN(4, 64, 16, 14, 14), IN(4, 32, 16, 5, 5)}, b_conv2d, .arg = {1, 2}},
    {"conv_transpose2d_512_to_256_2x2", BN, 2, {IN(4, 64, 512, 2, 2), IN(4, 512, 256, 5, 5)}, b_conv_t, .arg = {2, 2, 1}},
    {"conv_transpose2d_256_to_128_4x4", BN, 2, {IN(4, 64, 256, 4, 4), IN(4, 256, 128, 5, 5)}, b_conv_t, .arg = {2, 2, 0}},
    {"conv_transpose2d_128_to_64_7x7", BN, 2, {IN(4, 64, 128, 7, 7), IN(4, 128, 64, 5, 5)}, b_conv_t, .arg = {2, 2, 1}},
    {"conv_transpose2d_64_to_1_14x14", BN, 2, {IN(4, 64, 64, 14, 14), IN(4, 64, 1, 5, 5)}, b_conv_t, .arg = {2, 2, 1}},
    {"conv_transpose2d_64_to_3_14x14", BN, 2, {IN(4, 64, 64, 14, 14), IN(4, 64, 3, 5, 5)}, b_conv_t, .arg = {2, 2, 1}},
    {"conv2d_wgrad_1_to_64", BN, 2, {IN(4, 64, 1, 28, 28), IN(4, 64, 64, 14, 14)}, b_wgrad, .arg = {5, 5, 2, 2}},
    {"conv2d_wgrad_3_to_64", BN, 2, {IN(4, 64, 3, 28, 28), IN(4, 64, 64, 14, 14)}, b_wgrad, .arg = {5, 5, 2, 2}},
    {"conv2d_wgrad_64_to_128", BN, 2, {IN(4, 64, 64, 14, 14), IN(4, 64, 128, 7, 7)}, b_wgrad, .arg = {5, 5, 2, 2}},
    {"conv2d_wgrad_128_to_256", BN, 2, {IN(4, 64, 128, 7, 7), IN(4, 64, 256, 4, 4)}, b_wgrad, .arg = {5, 5, 2, 2}},
    {"conv2d_wgrad_256_to_512", BN, 2, {IN(4, 64, 256, 4, 4), IN(4, 64, 512, 2, 2)}, b_wgrad, .arg = {5, 5, 2, 2}},
    {"conv2d_wgrad_s1_16_to_32", BN, 2, {IN(4, 64, 16, 14, 14), IN(4, 64, 32, 14, 14)}, b_wgrad, .arg = {5, 5, 1, 2}},

    /* max pooling: H and W not multiples of k (unused rows and columns);
     * device rows past the 64-invocation groups, with ties. Bench rows: an
     * MNIST classifier's first pooling, batch 64, 32 channels */
    {"max_pool2d", GD, 1, {IN(4, 2, 3, 5, 7)}, b_max_pool, .arg = {2}},
    {"max_pool2d_k3", GD, 1, {IN(4, 1, 2, 7, 8)}, b_max_pool, .arg = {3}},
    {"max_pool2d_grad", GD, 2, {CND(4, 2, 3, 5, 7), IN(4, 2, 3, 2, 3)}, b_max_pool_grad, .arg = {2}},
    {"max_pool2d_3x5x17x15", DV, 1, {IN(4, 3, 5, 17, 15)}, b_max_pool, .arg = {2}},
    {"max_pool2d_k3_2x3x29x31", DV, 1, {IN(4, 2, 3, 29, 31)}, b_max_pool, .arg = {3}},
    {"max_pool2d_grad_3x5x17x15", DV, 2, {CND(4, 3, 5, 17, 15), IN(4, 3, 5, 8, 7)}, b_max_pool_grad, .arg = {2}},
    {"max_pool2d_grad_of_ties", DV, 2, {IN(4, 2, 3, 9, 11), IN(4, 2, 3, 4, 5)}, b_max_pool_grad_of_ties, .arg = {2}},
    {"max_pool2d_grad_of_a_constant_gy", DV, 1, {IN(4, 2, 3, 9, 11)}, b_max_pool_mask, .arg = {3}},
    {"max_pool2d_64x32x28x28", BN, 1, {IN(4, 64, 32, 28, 28)}, b_max_pool, .arg = {2}},
    {"max_pool2d_grad_64x32x28x28", BN, 2, {IN(4, 64, 32, 28, 28), IN(4, 64, 32, 14, 14)}, b_max_pool_grad, .arg = {2}},

    /* dropout: the mask is the generator's, the same on the device */
    {"dropout", GD, 1, {IN(2, 5, 7)}, b_dropout, .arg = {3}, .farg = 0.3f},
    {"dropout_257x255", DV, 1, {IN(2, 257, 255)}, b_dropout, .arg = {7}, .farg = 0.5f},

    /* random permutations and normalisation */
    {"shuffle", GD, 1, {IN(2, 6, 3)}, b_shuffle, .arg = {0, 3}},
    {"shuffle_rows", GD, 1, {IN(2, 7, 2)}, b_shuffle, .arg = {1, 4}},
    {"shuffle_257x3", DV, 1, {IN(2, 257, 3)}, b_shuffle, .arg = {0, 5}},
    {"batchnorm_2d", GD, 3, {IN(2, 5, 3), IN(1, 3), IN(1, 3)}, b_batchnorm},
    {"batchnorm_4d", GD, 3, {IN(4, 2, 3, 2, 3), IN(1, 3), IN(1, 3)}, b_batchnorm},
    {"batchnorm_17_channels_9x9", DV, 3, {IN(4, 3, 17, 9, 9), IN(1, 17), IN(1, 17)}, b_batchnorm, .tol = 2e-5},

    /* 8-bit inputs (data sets of bytes) read by each kind of kernel through
     * R8_UNORM texel views (RGBA8 where a matmul reads four at once) */
    BI("u8_mul_255x67_by_row", g_mul, DV, U8(2, 255, 67), IN(1, 67)),
    {"u8_sum_257_rows_of_255", DV, 1, {U8(2, 257, 255)}, b_sum, .arg = {1, 0}, .tol = 1e-5},
    {"u8_max_3x7_over_257", DV, 1, {U8(3, 3, 257, 7)}, b_max, .arg = {1, 1}},
    {"u8_gather_257_rows", DV, 2, {U8(2, 65, 13), IDX(65, 257)}, b_gather},
    {"u8_transpose_255x257", DV, 1, {U8(2, 255, 257)}, b_transpose},
    {"u8_matmul_37x20x16", DV, 2, {U8(2, 37, 20), IN(2, 20, 16)}, b_matmul, .arg = {0, 0}, .tol = 1e-5},
    {"u8_matmul_255x64x257_nt_both", DV, 2, {U8(2, 255, 64), U8(2, 257, 64)}, b_matmul, .arg = {0, 1}, .tol = 1e-5},
    {"u8_matmul_bias_leaky_264x17x260_tn", DV, 3, {IN(2, 17, 264), U8(2, 17, 260), IN(1, 260)}, b_matmul_bias_leaky,
     .arg = {1, 0}, .tol = 1e-5},
    {"u8_conv2d_17_channels_28x28", DV, 2, {U8(4, 3, 1, 28, 28), IN(4, 17, 1, 5, 5)}, b_conv2d, .arg = {1, 2},
     .tol = 1e-5},
    {"u8_conv_transpose2d_15_channels_s3", DV, 2, {U8(4, 2, 4, 5, 7), IN(4, 4, 15, 4, 4)}, b_conv_t, .arg = {3, 1, 2},
     .tol = 1e-5},
    {"u8_conv2d_wgrad_17_by_9", DV, 2, {U8(4, 2, 9, 7, 7), IN(4, 2, 17, 4, 4)}, b_wgrad, .arg = {3, 3, 2, 1},
     .tol = 1e-5},
    {"u8_max_pool2d_3x5x17x15", DV, 1, {U8(4, 3, 5, 17, 15)}, b_max_pool, .arg = {2}},
    {"u8_shuffle_257x3", DV, 1, {U8(2, 257, 3)}, b_shuffle, .arg = {0, 5}},
};

const int tc_ncases = (int)(sizeof tc_cases / sizeof tc_cases[0]);

const tc_case *tc_find(const char *name)
{
    for (int i = 0; i < tc_ncases; i++)
        if (!strcmp(tc_cases[i].name, name)) return &tc_cases[i];
    return NULL;
}

int tc_count(int use)
{
    int n = 0;
    for (int i = 0; i < tc_ncases; i++) n += (tc_cases[i].uses & use) != 0;
    return n;
}

const tc_case *tc_nth(int use, int k)
{
    for (int i = 0; i < tc_ncases; i++)
        if ((tc_cases[i].uses & use) && k-- == 0) return &tc_cases[i];
    return NULL;
}

void tc_fill_u8(uint8_t *b, size_t n, uint64_t seed)
{
    uint64_t s = seed * G_GOLDEN64 + 0x2545F4914F6CDD1Dull;
    for (size_t j = 0; j < n; j++) b[j] = j < 2 ? (uint8_t)(j ? 255 : 0) : (uint8_t)(tc_next(&s) >> 56);
}

void tc_fill(const tc_input *in, double *v, size_t n, uint64_t seed)
{
    if (in->fill == TC_U8) {
        uint8_t *b = malloc(n ? n : 1);
        if (!b) return;
        tc_fill_u8(b, n, seed);
        for (size_t j = 0; j < n; j++) v[j] = b[j] / 255.0;
        free(b);
        return;
    }
    uint64_t s = seed * G_GOLDEN64 + 0x2545F4914F6CDD1Dull;
    for (size_t j = 0; j < n; j++) {
        tc_next(&s);
        double u = (double)(s >> 11) / 9007199254740992.0, sign = (s & 1) ? -1.0 : 1.0;
        if (in->fill == TC_SIGNED) v[j] = sign * (0.2 + u);          /* away from the kinks at 0 */
        else if (in->fill == TC_POSITIVE) v[j] = 0.5 + 1.5 * u;
        else v[j] = floor(u * (in->rows + 2)) - 1;                   /* -1 .. rows: some clamped */
    }
}

g_tensor *tc_build(const tc_case *c, g_graph *g, g_tensor **inputs)
{
    char name[16];
    for (int k = 0; k < c->nin; k++) {
        snprintf(name, sizeof name, "x%d", k);
        inputs[k] = c->in[k].fill == TC_U8 ? g_input_u8(g, name, c->in[k].ndim, c->in[k].shape)
                                           : g_input(g, name, c->in[k].ndim, c->in[k].shape);
    }
    return c->build(g, inputs, c);
}
