/* test_graph.c: the graph IR, builders and their errors, the CPU reference
 * interpreter (values of every op, program order of effects, Adam), Philox
 * and the random ops. Suite "graph". */
#include "harness.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"


/* ---- helpers ------------------------------------------------------------ */

static void expect_error(g_graph *g, const g_tensor *t, const char *want)
{
    ck_assert_msg(t == NULL, "builder returned a node, expected error '%s'", want);
    const char *e = g_graph_error(g);
    ck_assert_msg(e != NULL, "no error recorded, expected '%s'", want);
    ck_assert_msg(strstr(e, want) != NULL, "error '%s' does not contain '%s'", e, want);
}

static void ok_run(g_ref *r, g_tensor **roots, int n)
{
    int rc = g_ref_run(r, roots, n);
    ck_assert_msg(rc == 0, "ref run failed: %s", g_ref_error(r));
}

static const double *eval1(g_ref *r, g_tensor *t)
{
    ok_run(r, &t, 1);
    const double *v = g_ref_value(r, t);
    ck_assert_ptr_nonnull(v);
    return v;
}

static void expect_vals(const double *got, const double *want, size_t n, double tol)
{
    for (size_t j = 0; j < n; j++)
        ck_assert_msg(fabs(got[j] - want[j]) <= tol * (1.0 + fabs(want[j])),
                      "element %zu: got %.12g, want %.12g", j, got[j], want[j]);
}

/* ---- graph container -------------------------------------------------- */

START_TEST(nodes_get_ids_in_creation_order_and_leaves_are_found_by_name)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(2, 3));
    g_tensor *w = g_param(g, "w", 1, G_SHAPE(3), g_init_normal(1.0f));
    g_tensor *y = g_add(x, w);
    ck_assert_int_eq(x->id, 0);
    ck_assert_int_eq(w->id, 1);
    ck_assert_int_eq(y->id, 2);
    ck_assert_int_eq(g_graph_size(g), 3);
    ck_assert_ptr_eq(g_graph_node(g, 2), y);
    ck_assert_ptr_null(g_graph_node(g, 3));
    ck_assert_ptr_eq(g_graph_find(g, "w"), w);
    ck_assert_ptr_null(g_graph_find(g, "nope"));
    ck_assert_ptr_eq(y->graph, g);
    ck_assert_int_eq(y->nsrc, 2);
    ck_assert_ptr_eq(y->src[0], x);
    ck_assert_ptr_eq(y->src[1], w);
    ck_assert_uint_eq(g_numel(y), 6);
    ck_assert(g_is_leaf(x) && g_is_leaf(w) && !g_is_leaf(y));
    char b[64];
    ck_assert_str_eq(g_shape_str(y, b, sizeof b), "[2, 3]");
    ck_assert_str_eq(g_shape_str(g_sum_all(y), b, sizeof b), "[]");
    ck_assert_str_eq(g_op_name(G_OP_CONV_TRANSPOSE2D), "conv_transpose2d");
    /* pointers stay valid as the graph grows */
    for (int i = 0; i < 1000; i++) g_add_scalar(y, 1.0f);
    ck_assert_int_eq(x->shape[1], 3);
    ck_assert_ptr_eq(g_graph_node(g, 0), x);
    ck_assert_ptr_null(g_graph_error(g));
    g_graph_free(g);
}
END_TEST

START_TEST(dump_lists_what_the_roots_need_in_program_order)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(3, 4));
    g_tensor *unused = g_exp(x);
    g_tensor *w = g_param(g, "w", 2, G_SHAPE(4, 2), g_init_zeros());
    g_tensor *y = g_leaky_relu(g_matmul(x, w, 0, 0), 0.25f);
    (void)unused;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    g_dump(g, &y, 1, f);
    fclose(f);
    ck_assert_str_eq(text, "n0 = input() 'x' [3, 4]\n"
                           "n2 = param() 'w' [4, 2]\n"
                           "n3 = matmul(n0, n2) ta=0 tb=0 [3, 2]\n"
                           "n4 = leaky_relu(n3) 0.25 [3, 2]\n");
    free(text);
    g_graph_free(g);
}
END_TEST

START_TEST(effects_have_no_value_and_zero_dims)
{
    g_graph *g = g_graph_new();
    g_tensor *p = g_param(g, "p", 1, G_SHAPE(2), g_init_const(1.0f));
    g_tensor *a = g_assign(p, g_scale(p, 2.0f));
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->ndim, 0);
    ck_assert(g_is_effect(a));
    ck_assert_uint_eq(g_numel(a), 0);
    expect_error(g, g_add(a, p), "add: operand 0 is an effect (assign)");
    g_graph_free(g);
}
END_TEST

/* ---- builder errors --------------------------------------------------- */

START_TEST(builder_errors_name_the_op_and_the_shapes)
{
    g_graph *g;
    g_tensor *a, *b;
#define FRESH() (g = g_graph_new())

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(3, 4));
    b = g_input(g, "b", 2, G_SHAPE(5, 2));
    expect_error(g, g_matmul(a, b, 0, 0), "matmul: inner dimensions differ: a [3, 4] (transposed 0) vs b [5, 2]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(3, 4));
    b = g_input(g, "b", 2, G_SHAPE(3, 2));
    ck_assert_ptr_nonnull(g_matmul(a, b, 1, 0));   /* [4,3]x[3,2] */
    expect_error(g, g_matmul(a, b, 0, 1), "matmul: inner dimensions differ: a [3, 4] (transposed 0) vs b [3, 2] (transposed 1)");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    b = g_input(g, "b", 1, G_SHAPE(4));
    expect_error(g, g_add(a, b), "add: shapes do not broadcast: a [2, 3] vs b [4]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    b = g_input(g, "b", 2, G_SHAPE(3, 1));
    expect_error(g, g_mul(a, b), "mul: shapes do not broadcast: a [2, 3] vs b [3, 1]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    b = g_input(g, "b", 1, G_SHAPE(2));
    expect_error(g, g_select(a, a, b), "select: shapes do not broadcast: cond [2, 3], a [2, 3], b [2]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    expect_error(g, g_sum(a, 2, 0), "sum: axis 2 out of range for x [2, 3]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    expect_error(g, g_mean(a, -3, 1), "mean: axis -3 out of range for x [2, 3]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    expect_error(g, g_slice(a, 1, 2, 2), "slice: range start 2 length 2 out of bounds for axis 1 of x [2, 3]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    expect_error(g, g_slice(a, 0, -1, 1), "slice: range start -1 length 1");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    expect_error(g, g_pad(a, 1, 2, 4), "pad: x [2, 3] does not fit at offset 2 in 4 along axis 1");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    expect_error(g, g_reshape(a, 2, G_SHAPE(4, 2)), "reshape: element counts differ: x [2, 3] (6) vs [4, 2] (8)");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 3, G_SHAPE(2, 3, 4));
    expect_error(g, g_permute(a, G_SHAPE(0, 2, 2)), "permute: entry 2 (2) does not make a permutation of the 3 axes of x [2, 3, 4]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 1, G_SHAPE(3));
    expect_error(g, g_transpose(a), "transpose: x [3] has fewer than 2 dimensions");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(2, 3));
    b = g_input(g, "b", 2, G_SHAPE(3, 3));
    g_tensor *xs[2] = {a, b};
    expect_error(g, g_concat(g, xs, 2, 1), "concat: input 1 [3, 3] does not match input 0 [2, 3] outside axis 1");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(3, 2));
    expect_error(g, g_expand(a, 2, G_SHAPE(4, 2)), "expand: cannot broadcast x [3, 2] to [4, 2]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(3, 2));
    expect_error(g, g_sum_to(a, 2, G_SHAPE(2, 2)), "sum_to: cannot sum x [3, 2] down to [2, 2]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(3, 2));
    b = g_input(g, "i", 2, G_SHAPE(3, 1));
    expect_error(g, g_gather_rows(a, b), "gather_rows: needs x with at least 1 dimension and a 1-d idx: x [3, 2], idx [3, 1]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "a", 2, G_SHAPE(3, 2));
    b = g_input(g, "i", 1, G_SHAPE(4));
    expect_error(g, g_scatter_add_rows(a, b, 5), "scatter_add_rows: needs a 1-d idx with one entry per row of x");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "x", 4, G_SHAPE(2, 3, 8, 8));
    b = g_input(g, "w", 4, G_SHAPE(4, 2, 3, 3));
    expect_error(g, g_conv2d(a, b, 1, 0), "conv2d: channels differ: x [2, 3, 8, 8] has 3, w [4, 2, 3, 3] expects 2");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "x", 4, G_SHAPE(2, 3, 2, 2));
    b = g_input(g, "w", 4, G_SHAPE(4, 3, 5, 5));
    expect_error(g, g_conv2d(a, b, 1, 1), "conv2d: kernel larger than the padded input: x [2, 3, 2, 2] pad 1, w [4, 3, 5, 5]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "x", 4, G_SHAPE(2, 3, 4, 4));
    b = g_input(g, "w", 4, G_SHAPE(3, 2, 3, 3));
    expect_error(g, g_conv_transpose2d(a, b, 2, 1, 2), "conv_transpose2d: needs stride >= 1, pad >= 0 and 0 <= output padding < stride; got stride 2 pad 1 output padding 2");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "x", 4, G_SHAPE(2, 3, 4, 4));
    b = g_input(g, "w", 4, G_SHAPE(2, 2, 3, 3));
    expect_error(g, g_conv_transpose2d(a, b, 1, 0, 0), "conv_transpose2d: channels differ: x [2, 3, 4, 4] has 3, w [2, 2, 3, 3] expects 2");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "xr", 4, G_SHAPE(2, 3, 5, 5));
    b = g_input(g, "gr", 4, G_SHAPE(2, 4, 4, 4));
    expect_error(g, g_conv2d_wgrad(a, b, 3, 3, 1, 0), "conv2d_wgrad: gr [2, 4, 4, 4] spatial size 4x4 is not the conv2d output 3x3 of xr [2, 3, 5, 5]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "x", 2, G_SHAPE(4, 3));
    b = g_input(g, "gamma", 1, G_SHAPE(4));
    expect_error(g, g_batchnorm_train(a, b, b, 1e-5f), "batchnorm_train: needs x [N,C] or [N,C,H,W] and gamma, beta [C]: x [4, 3], gamma [4], beta [4]");
    g_graph_free(g);

    FRESH();
    a = g_input(g, "x", 3, G_SHAPE(4, 3, 2));
    b = g_rng(g, "rng", 1);
    expect_error(g, g_shuffle(b, a, 0), "shuffle: x must be 2-d [R,C], got [4, 3, 2]");
    g_graph_free(g);

    FRESH();
    b = g_rng(g, "rng", 1);
    expect_error(g, g_rand_int(b, 0, 1, G_SHAPE(3)), "rand_int: n must be >= 1, got 0");
    g_graph_free(g);

    FRESH();
    expect_error(g, g_input(g, "x", 2, G_SHAPE(3, 0)), "input: dimension 1 of [3, 0] is not positive");
    g_graph_free(g);

    FRESH();
    expect_error(g, g_const(g, 1.0f, 5, G_SHAPE(1, 1, 1, 1, 1)), "const: 5 dimensions (0 to 4 allowed)");
    g_graph_free(g);

    FRESH();
    expect_error(g, g_param(g, "w", 1, G_SHAPE(3), g_init_torch(0)), "param 'w': torch init needs fan_in >= 1, got 0");
    g_graph_free(g);
#undef FRESH
}
END_TEST

START_TEST(repeated_leaf_names_are_rejected)
{
    g_graph *g = g_graph_new();
    ck_assert_ptr_nonnull(g_input(g, "x", 1, G_SHAPE(3)));
    expect_error(g, g_param(g, "x", 1, G_SHAPE(3), g_init_zeros()), "param: leaf name 'x' is already used");
    g_graph_free(g);

    g = g_graph_new();
    ck_assert_ptr_nonnull(g_rng(g, "r", 5));
    expect_error(g, g_state(g, "r", 1, G_SHAPE(1), g_init_zeros()), "state: leaf name 'r' is already used");
    g_graph_free(g);

    /* a parameter passed twice to one adam is an error */
    g = g_graph_new();
    g_tensor *p = g_param(g, "p", 1, G_SHAPE(2), g_init_zeros());
    g_tensor *ps[2] = {p, p}, *gs[2] = {p, p};
    g_adam_opts o = {0.1f, 0.9f, 0.999f, 1e-8f};
    expect_error(g, g_adam(g, "opt", ps, gs, 2, o), "adam: parameter 'p' is given twice");
    g_graph_free(g);

    /* a second adam with the same prefix reuses the states of the first */
    g = g_graph_new();
    p = g_param(g, "p", 1, G_SHAPE(2), g_init_zeros());
    ps[0] = gs[0] = p;
    ck_assert_ptr_nonnull(g_adam(g, "opt", ps, gs, 1, o));
    g_tensor *m1 = g_graph_find(g, "opt.m.p");
    int n1 = g_graph_size(g);
    ck_assert_ptr_nonnull(g_adam(g, "opt", ps, gs, 1, o));
    ck_assert_ptr_eq(g_graph_find(g, "opt.m.p"), m1);
    for (int id = n1; id < g_graph_size(g); id++) ck_assert(g_graph_node(g, id)->op != G_OP_STATE);
    /* ... and a state of another shape under its name is an error */
    g_tensor *q = g_param(g, "q", 1, G_SHAPE(3), g_init_zeros());
    ck_assert_ptr_nonnull(g_state(g, "opt2.m.q", 1, G_SHAPE(4), g_init_zeros()));
    g_tensor *qs[1] = {q};
    expect_error(g, g_adam(g, "opt2", qs, qs, 1, o), "adam: 'opt2.m.q' exists and is not a state of the parameter's shape");
    g_graph_free(g);

    g = g_graph_new();
    expect_error(g, g_input(g, "", 1, G_SHAPE(3)), "input: a leaf needs a name");
    g_graph_free(g);
}
END_TEST

START_TEST(assign_needs_a_leaf_target_of_the_same_shape)
{
    g_graph *g = g_graph_new();
    g_tensor *p = g_param(g, "p", 2, G_SHAPE(2, 3), g_init_zeros());
    g_tensor *v = g_input(g, "v", 2, G_SHAPE(3, 2));
    expect_error(g, g_assign(g_exp(p), p), "assign: target must be a leaf (input, param or state), got exp [2, 3]");
    g_graph_free(g);

    g = g_graph_new();
    p = g_param(g, "p", 2, G_SHAPE(2, 3), g_init_zeros());
    v = g_input(g, "v", 2, G_SHAPE(3, 2));
    expect_error(g, g_assign(p, v), "assign: shapes differ: target 'p' [2, 3] vs value [3, 2]");
    g_graph_free(g);

    g = g_graph_new();
    p = g_param(g, "p", 2, G_SHAPE(2, 3), g_init_zeros());
    v = g_input(g, "v", 1, G_SHAPE(3));
    expect_error(g, g_assign(p, v), "assign: shapes differ");   /* no broadcasting */
    g_graph_free(g);
}
END_TEST

START_TEST(u8_inputs_read_as_bytes_over_255_and_only_the_host_writes_them)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input_u8(g, "px", 1, G_SHAPE(4));
    g_tensor *f = g_input(g, "f", 1, G_SHAPE(4));
    ck_assert(g_is_u8(x) && !g_is_u8(f) && g_is_leaf(x) && x->op == G_OP_INPUT);
    g_tensor *y = g_add_scalar(g_scale(x, 2.0f), -1.0f);
    g_ref *r = g_ref_new(g, 1);
    uint8_t b[4] = {0, 1, 128, 255};
    double d[4] = {0};
    ck_assert_int_eq(g_ref_write(r, x, d), -1);   /* floats into bytes */
    ck_assert_msg(strstr(g_ref_error(r), "'px' is 8-bit"), "%s", g_ref_error(r));
    ck_assert_int_eq(g_ref_write_u8(r, f, b), -1);   /* bytes into floats */
    ck_assert_msg(strstr(g_ref_error(r), "'f' is not an 8-bit input"), "%s", g_ref_error(r));
    ck_assert(g_ref_write_u8(r, x, b) == 0 && g_ref_run(r, &y, 1) == 0);
    const double *v = g_ref_value(r, y);
    for (int i = 0; i < 4; i++) ck_assert_double_eq_tol(v[i], b[i] / 255.0 * 2 - 1, 1e-15);
    g_ref_free(r);
    char *text = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&text, &n);
    g_dump(g, &y, 1, m);
    fclose(m);
    ck_assert_msg(strstr(text, "input() 'px' u8 [4]"), "%s", text);
    free(text);
    expect_error(g, g_assign(x, f), "assign: target 'px' [4] is an 8-bit input (g_input_u8), which only the host writes");
    g_graph_free(g);
    g = g_graph_new();
    x = g_input_u8(g, "px", 1, G_SHAPE(4));
    g_tensor *gr = g_neg(x);
    g_adam_opts o = {0.1f, 0.9f, 0.99f, 1e-8f};
    expect_error(g, g_adam(g, "opt", &x, &gr, 1, o), "adam: entry 0 is not a param leaf but 8-bit input [4]");
    g_graph_free(g);
}
END_TEST

START_TEST(rng_ops_reject_a_tensor_that_is_not_a_generator)
{
    g_graph *g = g_graph_new();
    g_tensor *s = g_state(g, "s", 1, G_SHAPE(1), g_init_zeros());
    expect_error(g, g_rand_uniform(s, 1, G_SHAPE(4)), "rand_uniform: rng argument is not a generator made by g_rng: state 's' [1]");
    g_graph_free(g);

    g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(4, 3));
    expect_error(g, g_shuffle(x, x, 0), "shuffle: rng argument is not a generator made by g_rng: input 'x' [4, 3]");
    g_graph_free(g);

    g = g_graph_new();
    s = g_state(g, "s", 1, G_SHAPE(1), g_init_zeros());
    expect_error(g, g_rng_advance(s), "rng_advance: rng argument is not a generator");
    g_graph_free(g);
}
END_TEST

START_TEST(tensors_from_two_graphs_cannot_be_combined)
{
    g_graph *g1 = g_graph_new(), *g2 = g_graph_new();
    g_tensor *a = g_input(g1, "a", 1, G_SHAPE(3)), *b = g_input(g2, "b", 1, G_SHAPE(3));
    expect_error(g1, g_add(a, b), "add: operands belong to different graphs");
    ck_assert_ptr_null(g_graph_error(g2));
    g_tensor *xs[1] = {b};
    g_graph_free(g1);
    g1 = g_graph_new();
    expect_error(g1, g_concat(g1, xs, 1, 0), "concat: inputs belong to a different graph");
    g_graph_free(g1);
    g_graph_free(g2);
}
END_TEST

START_TEST(gradient_of_a_non_scalar_is_an_error)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(2, 3)), *out;
    ck_assert_int_eq(g_grad(g, g_exp(x), &x, 1, &out), -1);
    ck_assert_ptr_null(out);
    const char *e = g_graph_error(g);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(strstr(e, "grad: y must be a scalar (one element), got exp [2, 3]"), "got '%s'", e);
    g_graph_free(g);

    /* one element in any number of dimensions is a scalar */
    g = g_graph_new();
    x = g_input(g, "x", 2, G_SHAPE(1, 1));
    ck_assert_int_eq(g_grad(g, g_exp(x), &x, 1, &out), 0);
    ck_assert_ptr_nonnull(out);
    g_graph_free(g);
}
END_TEST

START_TEST(first_error_sticks_and_null_propagates_silently)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_input(g, "a", 1, G_SHAPE(3)), *b = g_input(g, "b", 1, G_SHAPE(4));
    /* NULL in, NULL out, no message */
    ck_assert_ptr_null(g_exp(NULL));
    ck_assert_ptr_null(g_add(a, NULL));
    ck_assert_ptr_null(g_matmul(NULL, NULL, 0, 0));
    ck_assert_ptr_null(g_graph_error(g));
    /* a chain checked once at the end */
    g_tensor *y = g_sum_all(g_exp(g_mul(g_add(a, b), a)));
    ck_assert_ptr_null(y);
    const char *e = g_graph_error(g);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e, "add: shapes do not broadcast: a [3] vs b [4]");
    /* a later error does not replace the first */
    ck_assert_ptr_null(g_slice(a, 0, 5, 1));
    ck_assert_str_eq(g_graph_error(g), "add: shapes do not broadcast: a [3] vs b [4]");
    g_graph_free(g);
}
END_TEST

/* ---- reference values ------------------------------------------------- */

START_TEST(reference_unary_ops_match_hand_values)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(4));
    static const double xv[4] = {-2.0, -0.5, 0.25, 3.0};
    g_tensor *ts[14] = {
        g_neg(x), g_scale(x, 3.0f), g_add_scalar(x, -1.5f), g_exp(x), g_square(x), g_abs(x),
        g_relu(x), g_leaky_relu(x, 0.25f), g_tanh(x), g_sigmoid(x), g_softplus(x),
        g_log_sigmoid(x), g_log(g_abs(x)), g_sqrt(g_abs(x)),
    };
    const double want[14][4] = {
        {2, 0.5, -0.25, -3},
        {-6, -1.5, 0.75, 9},
        {-3.5, -2, -1.25, 1.5},
        {exp(-2.0), exp(-0.5), exp(0.25), exp(3.0)},
        {4, 0.25, 0.0625, 9},
        {2, 0.5, 0.25, 3},
        {0, 0, 0.25, 3},
        {-0.5, -0.125, 0.25, 3},
        {tanh(-2.0), tanh(-0.5), tanh(0.25), tanh(3.0)},
        {1 / (1 + exp(2.0)), 1 / (1 + exp(0.5)), 1 / (1 + exp(-0.25)), 1 / (1 + exp(-3.0))},
        {log(1 + exp(-2.0)), log(1 + exp(-0.5)), log(1 + exp(0.25)), log(1 + exp(3.0))},
        {-log(1 + exp(2.0)), -log(1 + exp(0.5)), -log(1 + exp(-0.25)), -log(1 + exp(-3.0))},
        {log(2.0), log(0.5), log(0.25), log(3.0)},
        {sqrt(2.0), sqrt(0.5), 0.5, sqrt(3.0)},
    };
    g_ref *r = g_ref_new(g, 1);
    ck_assert_int_eq(g_ref_write(r, x, xv), 0);
    ok_run(r, ts, 14);
    for (int k = 0; k < 14; k++) {
        const double *v = g_ref_value(r, ts[k]);
        ck_assert_ptr_nonnull(v);
        for (int j = 0; j < 4; j++)
            ck_assert_msg(fabs(v[j] - want[k][j]) < 1e-12, "%s element %d: %.15g vs %.15g",
                          g_op_name(ts[k]->op), j, v[j], want[k][j]);
    }
    /* softplus and log_sigmoid stay finite far out */
    g_tensor *big = g_input(g, "big", 1, G_SHAPE(2));
    g_tensor *sp = g_softplus(big), *ls = g_log_sigmoid(big);
    ck_assert_int_eq(g_ref_write(r, big, (double[]){800.0, -800.0}), 0);
    g_tensor *roots[2] = {sp, ls};
    ok_run(r, roots, 2);
    ck_assert_double_eq_tol(g_ref_value(r, sp)[0], 800.0, 1e-9);
    ck_assert_double_eq_tol(g_ref_value(r, sp)[1], 0.0, 1e-9);
    ck_assert_double_eq_tol(g_ref_value(r, ls)[0], 0.0, 1e-9);
    ck_assert_double_eq_tol(g_ref_value(r, ls)[1], -800.0, 1e-9);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_binary_ops_broadcast_like_numpy)
{
    g_graph *g = g_graph_new();
    g_ref *r = NULL;
    g_tensor *a = g_input(g, "a", 3, G_SHAPE(2, 1, 3));   /* a[i,0,k] = 10 i + k */
    g_tensor *b = g_input(g, "b", 2, G_SHAPE(2, 1));      /* b[j,0] = j + 1 */
    g_tensor *ops[9] = {g_add(a, b), g_sub(a, b), g_mul(a, b), g_div(a, b), g_gt(a, b),
                        g_ge(a, b), g_lt(a, b), g_le(a, b), g_eq(a, b)};
    for (int k = 0; k < 9; k++) {
        ck_assert_int_eq(ops[k]->ndim, 3);
        ck_assert_int_eq(ops[k]->shape[0], 2);
        ck_assert_int_eq(ops[k]->shape[1], 2);
        ck_assert_int_eq(ops[k]->shape[2], 3);
    }
    r = g_ref_new(g, 0);
    double av[6] = {0, 1, 2, 10, 11, 12}, bv[2] = {1, 2};
    ck_assert_int_eq(g_ref_write(r, a, av), 0);
    ck_assert_int_eq(g_ref_write(r, b, bv), 0);
    ok_run(r, ops, 9);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++) {
                double x = av[i * 3 + k], y = bv[j];
                double want[9] = {x + y, x - y, x * y, x / y, x > y, x >= y, x < y, x <= y, x == y};
                int o = (i * 2 + j) * 3 + k;
                for (int q = 0; q < 9; q++)
                    ck_assert_msg(g_ref_value(r, ops[q])[o] == want[q], "%s at %d,%d,%d",
                                  g_op_name(ops[q]->op), i, j, k);
            }
    /* a 0-d operand broadcasts against anything */
    g_tensor *s = g_mul(a, g_scalar(g, 2.0f));
    const double *v = eval1(r, s);
    expect_vals(v, (double[]){0, 2, 4, 20, 22, 24}, 6, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_select_broadcasts_three_ways)
{
    g_graph *g = g_graph_new();
    g_ref *r = NULL;
    g_tensor *c = g_input(g, "c", 2, G_SHAPE(2, 1));
    g_tensor *a = g_input(g, "a", 1, G_SHAPE(3));
    g_tensor *s = g_select(c, a, g_scalar(g, -1.0f));
    ck_assert_int_eq(s->ndim, 2);
    ck_assert_int_eq(s->shape[0], 2);
    ck_assert_int_eq(s->shape[1], 3);
    r = g_ref_new(g, 0);
    g_ref_write(r, c, (double[]){0.0, 0.5});
    g_ref_write(r, a, (double[]){1, 2, 3});
    expect_vals(eval1(r, s), (double[]){-1, -1, -1, 1, 2, 3}, 6, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_reductions_and_broadcasts)
{
    g_graph *g = g_graph_new();
    g_ref *r = NULL;
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(2, 3));   /* 1 2 3 / 4 5 6 */
    g_tensor *t[10];
    t[0] = g_sum(x, 0, 0);         /* [5 7 9] */
    t[1] = g_sum(x, -1, 1);        /* [[6],[15]] */
    t[2] = g_mean(x, 1, 0);        /* [2 5] */
    t[3] = g_sum_all(x);           /* 21 */
    t[4] = g_mean_all(x);          /* 3.5 */
    t[5] = g_sum_to(x, 1, G_SHAPE(3));  /* fewer dims: [5 7 9] */
    t[6] = g_sum_to(x, 2, G_SHAPE(2, 1));
    t[7] = g_expand(g_input(g, "c", 2, G_SHAPE(2, 1)), 3, G_SHAPE(2, 2, 3));
    t[8] = g_sum_to(x, 1, G_SHAPE(1));  /* 21 in a [1] */
    t[9] = g_mean(x, 0, 1);        /* [[2.5 3.5 4.5]] */
    ck_assert_int_eq(t[0]->ndim, 1);
    ck_assert_int_eq(t[1]->ndim, 2);
    ck_assert_int_eq(t[3]->ndim, 0);
    ck_assert_int_eq(t[9]->ndim, 2);
    r = g_ref_new(g, 0);
    g_ref_write(r, x, (double[]){1, 2, 3, 4, 5, 6});
    g_ref_write(r, g_graph_find(g, "c"), (double[]){7, 8});
    ok_run(r, t, 10);
    expect_vals(g_ref_value(r, t[0]), (double[]){5, 7, 9}, 3, 0);
    expect_vals(g_ref_value(r, t[1]), (double[]){6, 15}, 2, 0);
    expect_vals(g_ref_value(r, t[2]), (double[]){2, 5}, 2, 1e-7);
    expect_vals(g_ref_value(r, t[3]), (double[]){21}, 1, 0);
    expect_vals(g_ref_value(r, t[4]), (double[]){3.5}, 1, 1e-7);
    expect_vals(g_ref_value(r, t[5]), (double[]){5, 7, 9}, 3, 0);
    expect_vals(g_ref_value(r, t[6]), (double[]){6, 15}, 2, 0);
    expect_vals(g_ref_value(r, t[7]), (double[]){7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8}, 12, 0);
    expect_vals(g_ref_value(r, t[8]), (double[]){21}, 1, 0);
    expect_vals(g_ref_value(r, t[9]), (double[]){2.5, 3.5, 4.5}, 3, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_layout_ops)
{
    g_graph *g = g_graph_new();
    g_ref *r = NULL;
    g_tensor *x = g_input(g, "x", 3, G_SHAPE(2, 3, 4));   /* x = 0..23 */
    g_tensor *a = g_input(g, "a", 2, G_SHAPE(2, 1));      /* 100 101 */
    g_tensor *t[8];
    t[0] = g_permute(x, G_SHAPE(2, 0, 1));   /* [4,2,3]: out[k,i,j] = x[i,j,k] */
    t[1] = g_transpose(g_reshape(x, 2, G_SHAPE(6, 4)));
    t[2] = g_slice(x, 1, 1, 2);          /* [2,2,4] */
    t[3] = g_pad(a, 1, 1, 3);            /* [2,3]: 0 100 0 / 0 101 0 */
    g_tensor *cs[3] = {a, g_reshape(g_slice(g_slice(x, 2, 0, 1), 1, 0, 1), 2, G_SHAPE(2, 1)), a};
    t[4] = g_concat(g, cs, 3, 1);        /* [2,3]: 100 0 100 / 101 12 101 */
    t[5] = g_reshape(x, 1, G_SHAPE(24));
    t[6] = g_concat(g, cs, 3, 0);        /* [6,1] */
    t[7] = g_permute(x, G_SHAPE(0, 1, 2));
    ck_assert_int_eq(t[0]->shape[0], 4);
    ck_assert_int_eq(t[0]->shape[1], 2);
    ck_assert_int_eq(t[0]->shape[2], 3);
    ck_assert_int_eq(t[1]->shape[0], 4);
    ck_assert_int_eq(t[1]->shape[1], 6);
    r = g_ref_new(g, 0);
    double xv[24];
    for (int j = 0; j < 24; j++) xv[j] = j;
    g_ref_write(r, x, xv);
    g_ref_write(r, a, (double[]){100, 101});
    ok_run(r, t, 8);
    const double *p = g_ref_value(r, t[0]);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) ck_assert(p[(k * 2 + i) * 3 + j] == xv[(i * 3 + j) * 4 + k]);
    p = g_ref_value(r, t[1]);
    for (int k = 0; k < 4; k++)
        for (int m = 0; m < 6; m++) ck_assert(p[k * 6 + m] == xv[m * 4 + k]);
    expect_vals(g_ref_value(r, t[2]), (double[]){4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23}, 16, 0);
    expect_vals(g_ref_value(r, t[3]), (double[]){0, 100, 0, 0, 101, 0}, 6, 0);
    expect_vals(g_ref_value(r, t[4]), (double[]){100, 0, 100, 101, 12, 101}, 6, 0);
    expect_vals(g_ref_value(r, t[5]), xv, 24, 0);
    expect_vals(g_ref_value(r, t[6]), (double[]){100, 101, 0, 12, 100, 101}, 6, 0);
    expect_vals(g_ref_value(r, t[7]), xv, 24, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_gather_clamps_and_scatter_adds_duplicates)
{
    g_graph *g = g_graph_new();
    g_ref *r = NULL;
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(3, 2));        /* rows (1,2) (3,4) (5,6) */
    g_tensor *idx = g_input(g, "idx", 1, G_SHAPE(5));
    g_tensor *ga = g_gather_rows(x, idx);
    g_tensor *sv = g_input(g, "sv", 2, G_SHAPE(5, 2));
    g_tensor *sc = g_scatter_add_rows(sv, idx, 4);
    ck_assert_int_eq(ga->shape[0], 5);
    ck_assert_int_eq(sc->shape[0], 4);
    ck_assert_int_eq(sc->attr.rows, 4);
    r = g_ref_new(g, 0);
    /* truncation toward zero, then clamp: -1 -> 0, 1.9 -> 1, 7 -> last, -0.5 -> 0, 2 -> 2 */
    g_ref_write(r, idx, (double[]){-1, 1.9, 7, -0.5, 2});
    g_ref_write(r, x, (double[]){1, 2, 3, 4, 5, 6});
    g_ref_write(r, sv, (double[]){1, 10, 2, 20, 3, 30, 4, 40, 5, 50});
    g_tensor *roots[2] = {ga, sc};
    ok_run(r, roots, 2);
    expect_vals(g_ref_value(r, ga), (double[]){1, 2, 3, 4, 5, 6, 1, 2, 5, 6}, 10, 0);
    /* scatter clamps to its own row count (4): 7 -> 3 */
    expect_vals(g_ref_value(r, sc), (double[]){5, 50, 2, 20, 5, 50, 3, 30}, 8, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_matmul_all_transpose_cases)
{
    g_graph *g = g_graph_new();
    g_ref *r = NULL;
    g_tensor *a = g_input(g, "a", 2, G_SHAPE(2, 3));   /* 1 2 3 / 4 5 6 */
    g_tensor *b = g_input(g, "b", 2, G_SHAPE(3, 2));   /* 1 2 / 3 4 / 5 6 */
    g_tensor *c = g_input(g, "c", 2, G_SHAPE(2, 3));   /* = b^T layout: 1 3 5 / 2 4 6 */
    g_tensor *t[4] = {g_matmul(a, b, 0, 0), g_matmul(b, a, 1, 1), g_matmul(a, c, 0, 1),
                      g_matmul(a, a, 1, 0)};
    r = g_ref_new(g, 0);
    g_ref_write(r, a, (double[]){1, 2, 3, 4, 5, 6});
    g_ref_write(r, b, (double[]){1, 2, 3, 4, 5, 6});
    g_ref_write(r, c, (double[]){1, 3, 5, 2, 4, 6});
    ok_run(r, t, 4);
    expect_vals(g_ref_value(r, t[0]), (double[]){22, 28, 49, 64}, 4, 0);
    /* b^T a^T = (a b)^T */
    expect_vals(g_ref_value(r, t[1]), (double[]){22, 49, 28, 64}, 4, 0);
    expect_vals(g_ref_value(r, t[2]), (double[]){22, 28, 49, 64}, 4, 0);
    /* a^T a */
    expect_vals(g_ref_value(r, t[3]), (double[]){17, 22, 27, 22, 29, 36, 27, 36, 45}, 9, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_conv2d_hand_cases)
{
    g_graph *g = g_graph_new();
    g_ref *r = NULL;
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(1, 1, 3, 3));   /* 1..9 */
    g_tensor *w = g_input(g, "w", 4, G_SHAPE(1, 1, 2, 2));   /* 1 2 / 3 4 */
    g_tensor *c1 = g_conv2d(x, w, 1, 0), *c2 = g_conv2d(x, w, 2, 1);
    /* with a 2x2 cotangent equal to w, the weight gradient is the same correlation */
    g_tensor *gr = g_reshape(w, 4, G_SHAPE(1, 1, 2, 2));
    g_tensor *wg = g_conv2d_wgrad(x, gr, 2, 2, 1, 0);
    ck_assert_int_eq(wg->shape[0], 1);
    ck_assert_int_eq(wg->shape[2], 2);
    ck_assert_int_eq(c1->shape[2], 2);
    ck_assert_int_eq(c2->shape[2], 2);
    ck_assert_int_eq(c2->shape[3], 2);
    r = g_ref_new(g, 0);
    g_ref_write(r, x, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    g_ref_write(r, w, (double[]){1, 2, 3, 4});
    g_tensor *roots[3] = {c1, c2, wg};
    ok_run(r, roots, 3);
    expect_vals(g_ref_value(r, c1), (double[]){37, 47, 67, 77}, 4, 0);
    expect_vals(g_ref_value(r, wg), (double[]){37, 47, 67, 77}, 4, 0);
    expect_vals(g_ref_value(r, c2), (double[]){4, 18, 36, 77}, 4, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_conv_transpose2d_hand_cases)
{
    g_graph *g = g_graph_new();
    g_ref *r = NULL;
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(1, 1, 2, 2));   /* 1 2 / 3 4 */
    g_tensor *w = g_input(g, "w", 4, G_SHAPE(1, 1, 2, 2));   /* ones */
    g_tensor *t1 = g_conv_transpose2d(x, w, 2, 0, 0);   /* 4x4 blocks */
    g_tensor *t2 = g_conv_transpose2d(x, w, 1, 0, 0);   /* 3x3 */
    g_tensor *t3 = g_conv_transpose2d(x, w, 2, 1, 1);   /* (2-1)2-2+2+1 = 3 */
    ck_assert_int_eq(t1->shape[2], 4);
    ck_assert_int_eq(t2->shape[3], 3);
    ck_assert_int_eq(t3->shape[2], 3);
    r = g_ref_new(g, 0);
    g_ref_write(r, x, (double[]){1, 2, 3, 4});
    g_ref_write(r, w, (double[]){1, 1, 1, 1});
    g_tensor *roots[3] = {t1, t2, t3};
    ok_run(r, roots, 3);
    expect_vals(g_ref_value(r, t1), (double[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16, 0);
    expect_vals(g_ref_value(r, t2), (double[]){1, 3, 2, 4, 10, 6, 3, 7, 4}, 9, 0);
    /* t1 cropped by one on each side; the output-padding row/col is t1's row 3 */
    expect_vals(g_ref_value(r, t3), (double[]){1, 2, 2, 3, 4, 4, 3, 4, 4}, 9, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

static uint64_t lcg_state = 88172645463325252ull;
static double frand(void)   /* in [-1, 1) */
{
    lcg_state ^= lcg_state << 13;
    lcg_state ^= lcg_state >> 7;
    lcg_state ^= lcg_state << 17;
    return (double)(lcg_state >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

START_TEST(reference_conv_ops_are_adjoint)
{
    /* <conv2d(x,w), y> = <x, conv_transpose2d(y,w)> = <w, conv2d_wgrad(x,y)> */
    const int cfg[3][4] = {{6, 7, 2, 1}, {5, 5, 1, 0}, {7, 6, 3, 2}};   /* H W stride pad */
    for (int c = 0; c < 3; c++) {
        int H = cfg[c][0], W = cfg[c][1], s = cfg[c][2], p = cfg[c][3];
        g_graph *g = g_graph_new();
        g_tensor *x = g_input(g, "x", 4, G_SHAPE(2, 3, H, W)), *w = g_input(g, "w", 4, G_SHAPE(4, 3, 3, 3));
        g_tensor *cv = g_conv2d(x, w, s, p);
        g_tensor *y = g_input(g, "y", 4, cv->shape);
        int op = H - ((cv->shape[2] - 1) * s - 2 * p + 3);
        int opw = W - ((cv->shape[3] - 1) * s - 2 * p + 3);
        g_tensor *ct = g_conv_transpose2d(y, w, s, p, op > opw ? op : opw);
        g_tensor *wg = g_conv2d_wgrad(x, y, 3, 3, s, p);
        ck_assert_ptr_nonnull(ct);
        ck_assert_ptr_nonnull(wg);
        g_ref *r = g_ref_new(g, 0);
        g_tensor *ins[3] = {x, w, y};
        double *buf[3];
        for (int k = 0; k < 3; k++) {
            size_t n = g_numel(ins[k]);
            buf[k] = malloc(n * sizeof(double));
            for (size_t j = 0; j < n; j++) buf[k][j] = frand();
            g_ref_write(r, ins[k], buf[k]);
        }
        g_tensor *roots[3] = {cv, ct, wg};
        ok_run(r, roots, 3);
        double lhs = dot(g_ref_value(r, cv), buf[2], g_numel(cv));
        /* the transposed conv may be larger than x (shared output padding): compare on x's extent */
        const double *tv = g_ref_value(r, ct);
        double mid = 0;
        for (int n = 0; n < 2; n++)
            for (int ch = 0; ch < 3; ch++)
                for (int h = 0; h < H; h++)
                    for (int ww = 0; ww < W; ww++)
                        mid += buf[0][((n * 3 + ch) * H + h) * W + ww] *
                               tv[((n * 3 + ch) * ct->shape[2] + h) * ct->shape[3] + ww];
        double rhs = dot(g_ref_value(r, wg), buf[1], g_numel(w));
        ck_assert_msg(fabs(lhs - mid) < 1e-9 * (1 + fabs(lhs)), "conv vs transpose: %g %g", lhs, mid);
        ck_assert_msg(fabs(lhs - rhs) < 1e-9 * (1 + fabs(lhs)), "conv vs wgrad: %g %g", lhs, rhs);
        for (int k = 0; k < 3; k++) free(buf[k]);
        g_ref_free(r);
        g_graph_free(g);
    }
}
END_TEST

START_TEST(reference_batchnorm_normalises_per_channel)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(3, 2, 2, 2));
    g_tensor *gam = g_input(g, "gamma", 1, G_SHAPE(2)), *bet = g_input(g, "beta", 1, G_SHAPE(2));
    g_tensor *y = g_batchnorm_train(x, gam, bet, 1e-5f);
    ck_assert_ptr_nonnull(y);
    ck_assert(g_same_shape(x, y));
    g_ref *r = g_ref_new(g, 0);
    double xv[24];
    for (int j = 0; j < 24; j++) xv[j] = 3 * frand() + (j / 4 % 2 ? 5 : -2);
    g_ref_write(r, x, xv);
    g_ref_write(r, gam, (double[]){2, 0.5});
    g_ref_write(r, bet, (double[]){1, -1});
    const double *v = eval1(r, y);
    for (int c = 0; c < 2; c++) {
        double m = 0, m2 = 0, xm = 0, xv2 = 0;
        for (int n = 0; n < 3; n++)
            for (int k = 0; k < 4; k++) xm += xv[(n * 2 + c) * 4 + k] / 12;
        for (int n = 0; n < 3; n++)
            for (int k = 0; k < 4; k++) {
                double d = xv[(n * 2 + c) * 4 + k] - xm;
                xv2 += d * d / 12;
            }
        for (int n = 0; n < 3; n++)
            for (int k = 0; k < 4; k++) {
                int o = (n * 2 + c) * 4 + k;
                double want = (xv[o] - xm) / sqrt(xv2 + (double)1e-5f) * (c ? 0.5 : 2) + (c ? -1 : 1);
                ck_assert_msg(fabs(v[o] - want) < 1e-6, "bn %d: %g vs %g", o, v[o], want);
                m += v[o] / 12;
                m2 += v[o] * v[o] / 12;
            }
        double gm = c ? 0.5 : 2, bm = c ? -1 : 1;
        ck_assert_double_eq_tol(m, bm, 1e-6);
        ck_assert_double_eq_tol(m2 - m * m, gm * gm, 1e-3);   /* biased variance, eps */
    }
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

/* ---- leaves, init ----------------------------------------------------- */

/* g_init_like: a leaf that starts with another's values (its name keys the
 * draw), a like of a like too; one of another shape is refused. */
START_TEST(init_like_copies_another_leafs_values)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_param(g, "net.w", 2, G_SHAPE(30, 7), g_init_torch(30));
    g_tensor *b = g_state(g, "avg.net.w", 2, G_SHAPE(30, 7), g_init_like(a));
    g_tensor *c = g_state(g, "avg2.net.w", 2, G_SHAPE(30, 7), g_init_like(b));
    static float va[210], vb[210], vc[210];
    ck_assert(g_init_values(a, 5, va) == 0 && g_init_values(b, 5, vb) == 0 && g_init_values(c, 5, vc) == 0);
    ck_assert_mem_eq(va, vb, sizeof va);
    ck_assert_mem_eq(va, vc, sizeof va);
    ck_assert_ptr_null(g_state(g, "bad", 2, G_SHAPE(7, 30), g_init_like(a)));
    ck_assert_msg(strstr(g_graph_error(g), "initialised like 'net.w'"), "%s", g_graph_error(g));
    g_graph_free(g);
}
END_TEST

START_TEST(init_values_are_deterministic_in_seed_and_name)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_param(g, "layer.w", 1, G_SHAPE(4000), g_init_normal(0.5f));
    g_tensor *b = g_param(g, "layer.v", 1, G_SHAPE(4000), g_init_normal(0.5f));
    g_tensor *u = g_param(g, "u", 1, G_SHAPE(4000), g_init_uniform(2.0f));
    g_tensor *t = g_param(g, "t", 2, G_SHAPE(50, 80), g_init_torch(16));
    g_tensor *c = g_state(g, "c", 1, G_SHAPE(3), g_init_const(1.5f));
    g_tensor *z = g_state(g, "z", 1, G_SHAPE(3), g_init_zeros());
    g_tensor *in = g_input(g, "in", 1, G_SHAPE(3));
    static float v1[4000], v2[4000], v3[4000];
    ck_assert_int_eq(g_init_values(a, 7, v1), 0);
    ck_assert_int_eq(g_init_values(a, 7, v2), 0);
    ck_assert_mem_eq(v1, v2, sizeof v1);
    ck_assert_int_eq(g_init_values(a, 8, v3), 0);
    ck_assert(memcmp(v1, v3, sizeof v1) != 0);
    ck_assert_int_eq(g_init_values(b, 7, v3), 0);
    ck_assert(memcmp(v1, v3, sizeof v1) != 0);
    double m = 0, s2 = 0;
    for (int j = 0; j < 4000; j++) {
        m += v1[j] / 4000.0;
        s2 += (double)v1[j] * v1[j] / 4000.0;
    }
    ck_assert_double_eq_tol(m, 0.0, 0.03);
    ck_assert_double_eq_tol(sqrt(s2), 0.5, 0.03);
    ck_assert_int_eq(g_init_values(u, 1, v1), 0);
    m = 0;
    for (int j = 0; j < 4000; j++) {
        ck_assert(v1[j] > -2.0f && v1[j] < 2.0f);
        m += fabs(v1[j]) / 4000.0;
    }
    ck_assert_double_eq_tol(m, 1.0, 0.05);
    ck_assert_int_eq(g_init_values(t, 1, v1), 0);
    float mx = 0;
    for (int j = 0; j < 4000; j++) mx = fabsf(v1[j]) > mx ? fabsf(v1[j]) : mx;
    ck_assert(mx <= 0.25f && mx > 0.24f);
    ck_assert_int_eq(g_init_values(c, 1, v1), 0);
    ck_assert(v1[0] == 1.5f && v1[2] == 1.5f);
    ck_assert_int_eq(g_init_values(z, 1, v1), 0);
    ck_assert(v1[0] == 0.0f && v1[2] == 0.0f);
    ck_assert_int_eq(g_init_values(in, 1, v1), -1);
    /* the reference starts from the same values */
    g_ref *r = g_ref_new(g, 7);
    ck_assert_int_eq(g_init_values(a, 7, v2), 0);
    const double *ra = g_ref_value(r, a);
    ck_assert_ptr_nonnull(ra);
    for (int j = 0; j < 4000; j++) ck_assert(ra[j] == (double)v2[j]);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

/* ---- effects and program order ----------------------------------------- */

START_TEST(assign_is_seen_by_nodes_created_after_it_only)
{
    g_graph *g = g_graph_new();
    g_tensor *p = g_state(g, "p", 1, G_SHAPE(2), g_init_const(1.0f));
    g_tensor *before = g_scale(p, 2.0f);
    g_tensor *asg = g_assign(p, g_add_scalar(p, 10.0f));
    g_tensor *after = g_scale(p, 2.0f);
    g_tensor *unrelated = g_assign(p, g_const(g, 0.0f, 1, G_SHAPE(2)));
    ck_assert_ptr_null(g_ref_value(NULL, p));
    g_ref *r = g_ref_new(g, 0);
    g_tensor *roots[3] = {before, asg, after};
    ok_run(r, roots, 3);
    expect_vals(g_ref_value(r, before), (double[]){2, 2}, 2, 0);
    expect_vals(g_ref_value(r, after), (double[]){22, 22}, 2, 0);
    expect_vals(g_ref_value(r, p), (double[]){11, 11}, 2, 0);
    ck_assert_ptr_null(g_ref_value(r, asg));          /* effects have no value */
    ck_assert_ptr_null(g_ref_value(r, unrelated));
    /* state persists across runs; the unrelated assign (not a root) never ran */
    ok_run(r, roots, 3);
    expect_vals(g_ref_value(r, before), (double[]){22, 22}, 2, 0);
    expect_vals(g_ref_value(r, after), (double[]){42, 42}, 2, 0);
    /* nodes not evaluated by the last run have no value */
    ok_run(r, &before, 1);
    ck_assert_ptr_null(g_ref_value(r, after));
    expect_vals(g_ref_value(r, before), (double[]){42, 42}, 2, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(unwritten_input_read_fails_naming_the_input)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "batch_x", 2, G_SHAPE(2, 2));
    g_tensor *p = g_state(g, "p", 2, G_SHAPE(2, 2), g_init_zeros());
    g_tensor *asg = g_assign(p, g_add_scalar(p, 1.0f));
    g_tensor *y = g_add(x, p);
    g_ref *r = g_ref_new(g, 0);
    g_tensor *roots[2] = {asg, y};
    ck_assert_int_eq(g_ref_run(r, roots, 2), -1);
    const char *e = g_ref_error(r);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(strstr(e, "input 'batch_x'") != NULL, "got '%s'", e);
    /* nothing ran: the assign before the failing read did not happen */
    expect_vals(g_ref_value(r, p), (double[]){0, 0, 0, 0}, 4, 0);
    ck_assert_ptr_null(g_ref_value(r, x));
    /* params and states never need writing; after a write the run succeeds */
    ok_run(r, &asg, 1);
    g_ref_write(r, x, (double[]){1, 2, 3, 4});
    ok_run(r, roots, 2);
    expect_vals(g_ref_value(r, y), (double[]){3, 4, 5, 6}, 4, 0);
    g_ref_free(r);
    g_graph_free(g);

    /* an input written by an assign earlier in the same run is valid */
    g = g_graph_new();
    x = g_input(g, "x", 1, G_SHAPE(2));
    asg = g_assign(x, g_const(g, 3.0f, 1, G_SHAPE(2)));
    y = g_scale(x, 2.0f);
    r = g_ref_new(g, 0);
    g_tensor *rs[2] = {asg, y};
    ok_run(r, rs, 2);
    expect_vals(g_ref_value(r, y), (double[]){6, 6}, 2, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(adam_one_and_two_steps_match_hand_computation)
{
    g_graph *g = g_graph_new();
    g_tensor *w = g_param(g, "w", 1, G_SHAPE(3), g_init_zeros());
    g_tensor *b = g_param(g, "b", 0, NULL, g_init_const(0.5f));
    g_tensor *gw = g_input(g, "gw", 1, G_SHAPE(3)), *gb = g_input(g, "gb", 0, NULL);
    g_tensor *ps[2] = {w, b}, *gs[2] = {gw, gb};
    g_adam_opts o = {0.1f, 0.9f, 0.999f, 1e-8f};
    g_tensor *step = g_adam(g, "opt", ps, gs, 2, o);
    ck_assert_msg(step != NULL, "%s", g_graph_error(g));
    ck_assert_int_eq(step->op, G_OP_GROUP);
    ck_assert_int_eq(step->nsrc, 3);
    ck_assert_int_eq(step->src[0]->op, G_OP_ADAM);
    ck_assert_int_eq(step->src[1]->op, G_OP_ADAM);
    ck_assert_int_eq(step->src[2]->op, G_OP_ASSIGN);
    ck_assert(step->src[2]->id > step->src[1]->id);
    g_tensor *m = g_graph_find(g, "opt.m.w"), *v = g_graph_find(g, "opt.v.w");
    g_tensor *t = g_graph_find(g, "opt.t");
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_nonnull(g_graph_find(g, "opt.m.b"));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->op, G_OP_STATE);
    ck_assert_int_eq(step->src[0]->src[2]->id, m->id);
    ck_assert_int_eq(step->src[0]->src[4]->id, t->id);   /* the count before the step */

    g_ref *r = g_ref_new(g, 3);
    double wv[3] = {1.0, -2.0, 0.5}, gv[2][3] = {{0.1, -0.3, 2.0}, {0.2, 0.2, -1.0}};
    double gbv[2] = {-0.7, 0.4};
    g_ref_write(r, w, wv);
    double lr = 0.1f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    double mm[4] = {0}, vv[4] = {0}, pv[4] = {wv[0], wv[1], wv[2], 0.5};
    for (int s = 1; s <= 2; s++) {
        g_ref_write(r, gw, gv[s - 1]);
        g_ref_write(r, gb, &gbv[s - 1]);
        ok_run(r, &step, 1);
        for (int j = 0; j < 4; j++) {
            double gj = j < 3 ? gv[s - 1][j] : gbv[s - 1];
            mm[j] = b1 * mm[j] + (1 - b1) * gj;
            vv[j] = b2 * vv[j] + (1 - b2) * gj * gj;
            double mh = mm[j] / (1 - pow(b1, s)), vh = vv[j] / (1 - pow(b2, s));
            pv[j] -= lr * mh / (sqrt(vh) + eps);
        }
        expect_vals(g_ref_value(r, w), pv, 3, 1e-12);
        expect_vals(g_ref_value(r, b), pv + 3, 1, 1e-12);
        expect_vals(g_ref_value(r, m), mm, 3, 1e-12);
        expect_vals(g_ref_value(r, v), vv, 3, 1e-12);
        ck_assert_double_eq(g_ref_value(r, t)[0], s);
        if (s == 1) {
            /* bias-corrected first step: each entry moves by lr against its gradient's sign */
            expect_vals(g_ref_value(r, w), (double[]){0.9, -1.9, 0.4}, 3, 1e-6);
            expect_vals(g_ref_value(r, b), (double[]){0.6}, 1, 1e-6);
        }
    }
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

/* The linear schedule: step s uses lr (1 - (1 - f) min(s / D, 1)), so with
 * D = 2, f = 0.25 the three steps use 0.625 lr, 0.25 lr and 0.25 lr. */
START_TEST(adam_decay_follows_its_linear_schedule_then_stays)
{
    g_graph *g = g_graph_new();
    g_tensor *w = g_param(g, "w", 1, G_SHAPE(2), g_init_zeros());
    g_tensor *gw = g_input(g, "gw", 1, G_SHAPE(2));
    g_adam_opts o = {0.1f, 0.5f, 0.9f, 1e-8f, 2.0f, 0.25f};
    g_tensor *step = g_adam(g, "opt", &w, &gw, 1, o);
    ck_assert_msg(step != NULL, "%s", g_graph_error(g));
    g_ref *r = g_ref_new(g, 3);
    double gv[3][2] = {{0.3, -1.0}, {-0.2, 0.5}, {0.7, 0.1}}, mm[2] = {0}, vv[2] = {0}, pv[2] = {0};
    double lr = 0.1f, b1 = 0.5f, b2 = 0.9f, eps = 1e-8f, scale[3] = {0.625, 0.25, 0.25};
    for (int s = 1; s <= 3; s++) {
        g_ref_write(r, gw, gv[s - 1]);
        ok_run(r, &step, 1);
        for (int j = 0; j < 2; j++) {
            mm[j] = b1 * mm[j] + (1 - b1) * gv[s - 1][j];
            vv[j] = b2 * vv[j] + (1 - b2) * gv[s - 1][j] * gv[s - 1][j];
            pv[j] -= scale[s - 1] * lr * (mm[j] / (1 - pow(b1, s))) / (sqrt(vv[j] / (1 - pow(b2, s))) + eps);
        }
        expect_vals(g_ref_value(r, w), pv, 2, 1e-12);
    }
    g_ref_free(r);
    /* a bad schedule fails the call, naming both numbers */
    g_tensor *q = g_param(g, "q", 1, G_SHAPE(2), g_init_zeros());
    expect_error(g, g_adam(g, "opt2", &q, &gw, 1, (g_adam_opts){0.1f, 0.5f, 0.9f, 1e-8f, 10.0f, 1.5f}),
                 "adam: decay_steps 10 must be >= 0 and lr_final 1.5 in [0, 1]");
    g_graph_free(g);
}
END_TEST

START_TEST(sgd_step_matches_hand_computation)
{
    g_graph *g = g_graph_new();
    g_tensor *w = g_param(g, "w", 1, G_SHAPE(2), g_init_const(1.0f));
    g_tensor *loss = g_sum_all(g_square(w));
    g_tensor *gw;
    ck_assert_int_eq(g_grad(g, loss, &w, 1, &gw), 0);
    g_tensor *step = g_sgd(g, &w, &gw, 1, 0.25f);
    ck_assert_ptr_nonnull(step);
    g_ref *r = g_ref_new(g, 0);
    ok_run(r, &step, 1);
    expect_vals(g_ref_value(r, w), (double[]){0.5, 0.5}, 2, 0);   /* 1 - 0.25 * 2 */
    ok_run(r, &step, 1);
    expect_vals(g_ref_value(r, w), (double[]){0.25, 0.25}, 2, 0);
    g_ref_free(r);
    g_graph_free(g);

    g = g_graph_new();
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(2));
    expect_error(g, g_sgd(g, &x, &x, 1, 0.1f), "sgd: entry 0 is not a param leaf but input [2]");
    g_graph_free(g);
}
END_TEST

/* ---- Philox and random ops -------------------------------------------- */

START_TEST(philox_matches_published_known_answers)
{
    const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                                {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                                {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    const uint32_t key[3][2] = {{0, 0}, {0xffffffffu, 0xffffffffu}, {0xa4093822u, 0x299f31d0u}};
    const uint32_t want[3][4] = {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
                                 {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
                                 {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    for (int k = 0; k < 3; k++) {
        uint32_t out[4];
        g_philox(key[k][0], key[k][1], ctr[k], out);
        for (int j = 0; j < 4; j++)
            ck_assert_msg(out[j] == want[k][j], "vector %d word %d: %08x vs %08x", k, j, out[j],
                          want[k][j]);
    }
}
END_TEST

START_TEST(rng_leaf_and_rand_ops_carry_seed_and_stream)
{
    g_graph *g = g_graph_new();
    g_tensor *rng = g_rng(g, "gen", 0x123456789abcull);
    ck_assert_int_eq(rng->op, G_OP_STATE);
    ck_assert_int_eq(rng->ndim, 1);
    ck_assert_int_eq(rng->shape[0], 1);
    ck_assert_int_eq(rng->init.kind, G_INIT_ZEROS);
    ck_assert(rng->attr.rand.seed == 0x123456789abcull);
    g_tensor *u = g_rand_uniform(rng, 1, G_SHAPE(3));
    g_tensor *n = g_rand_normal(rng, 2, G_SHAPE(2, 2));
    ck_assert(u->attr.rand.seed == rng->attr.rand.seed && n->attr.rand.seed == rng->attr.rand.seed);
    ck_assert_int_eq(u->attr.rand.stream, u->id);
    ck_assert_int_eq(n->attr.rand.stream, n->id);
    ck_assert_ptr_eq(u->src[0], rng);
    g_tensor *k = g_rand_int(rng, 5, 1, G_SHAPE(4));
    g_tensor *adv = g_rng_advance(rng);
    ck_assert_int_eq(adv->op, G_OP_ASSIGN);
    ck_assert_ptr_eq(adv->src[0], rng);
    ck_assert_int_eq(adv->src[1]->op, G_OP_ADD_SCALAR);
    /* element 0 of u follows the documented mapping */
    g_ref *r = g_ref_new(g, 0);
    g_tensor *roots[4] = {u, n, k, adv};
    for (int run = 0; run < 3; run++) {
        ok_run(r, roots, 4);
        uint32_t ctr[4] = {1, (uint32_t)u->attr.rand.stream, (uint32_t)run, 0x4d454721u}, w[4];
        g_philox(0x56789abcu, 0x1234u, ctr, w);
        ck_assert_double_eq(g_ref_value(r, u)[1], ((w[0] >> 8) + 0.5) / 16777216.0);
        /* element 3 of the normal op: Box-Muller on words 0 and 1 */
        uint32_t cn[4] = {3, (uint32_t)n->attr.rand.stream, (uint32_t)run, 0x4d454721u};
        g_philox(0x56789abcu, 0x1234u, cn, w);
        double u1 = ((w[0] >> 8) + 0.5) / 16777216.0, u2 = (w[1] >> 8) / 16777216.0;
        ck_assert_double_eq_tol(g_ref_value(r, n)[3], sqrt(-2 * log(u1)) * cos(2 * M_PI * u2), 1e-12);
        /* element 2 of rand_int(5): floor(u * 5) */
        uint32_t ci[4] = {2, (uint32_t)k->attr.rand.stream, (uint32_t)run, 0x4d454721u};
        g_philox(0x56789abcu, 0x1234u, ci, w);
        ck_assert_double_eq(g_ref_value(r, k)[2], floor(((w[0] >> 8) + 0.5) / 16777216.0 * 5));
        ck_assert_double_eq(g_ref_value(r, rng)[0], run + 1);
    }
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(rand_uniform_and_normal_have_the_right_moments)
{
    g_graph *g = g_graph_new();
    g_tensor *rng = g_rng(g, "gen", 42);
    g_tensor *u = g_rand_uniform(rng, 2, G_SHAPE(100, 200)), *n = g_rand_normal(rng, 1, G_SHAPE(20000));
    g_tensor *u2 = g_rand_uniform(rng, 2, G_SHAPE(100, 200));
    g_tensor *adv = g_rng_advance(rng);
    g_ref *r = g_ref_new(g, 0);
    g_tensor *roots[4] = {u, n, u2, adv};
    ok_run(r, roots, 4);
    const double *uv = g_ref_value(r, u), *nv = g_ref_value(r, n), *uv2 = g_ref_value(r, u2);
    double m = 0, s2 = 0, nm = 0, ns2 = 0;
    int same = 0;
    for (int j = 0; j < 20000; j++) {
        ck_assert(uv[j] > 0.0 && uv[j] < 1.0);
        m += uv[j] / 20000;
        s2 += uv[j] * uv[j] / 20000;
        nm += nv[j] / 20000;
        ns2 += nv[j] * nv[j] / 20000;
        same += uv[j] == uv2[j];
    }
    ck_assert_double_eq_tol(m, 0.5, 0.01);
    ck_assert_double_eq_tol(s2 - m * m, 1.0 / 12, 0.004);
    ck_assert_double_eq_tol(nm, 0.0, 0.03);
    ck_assert_double_eq_tol(ns2 - nm * nm, 1.0, 0.05);
    ck_assert_int_lt(same, 5);   /* two ops draw different streams */
    /* the next run (advanced counter) draws new numbers; a rerun of the same counter repeats */
    double first[4] = {uv[0], uv[1], uv[2], uv[3]};
    ok_run(r, roots, 4);
    ck_assert(g_ref_value(r, u)[0] != first[0] || g_ref_value(r, u)[1] != first[1]);
    g_ref *r2 = g_ref_new(g, 0);
    ok_run(r2, roots, 4);
    expect_vals(g_ref_value(r2, u), first, 4, 0);
    g_ref_free(r2);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(rand_int_stays_in_range_with_a_flat_histogram)
{
    g_graph *g = g_graph_new();
    g_tensor *rng = g_rng(g, "gen", 9);
    g_tensor *k = g_rand_int(rng, 7, 1, G_SHAPE(14000));
    ck_assert_int_eq(k->attr.rand.n, 7);
    g_ref *r = g_ref_new(g, 0);
    const double *v = eval1(r, k);
    int hist[7] = {0};
    for (int j = 0; j < 14000; j++) {
        ck_assert(v[j] >= 0 && v[j] <= 6 && v[j] == floor(v[j]));
        hist[(int)v[j]]++;
    }
    double chi2 = 0;
    for (int b = 0; b < 7; b++) chi2 += (hist[b] - 2000.0) * (hist[b] - 2000.0) / 2000.0;
    ck_assert_msg(chi2 < 22.5, "chi2 %g (6 dof, p = 0.001)", chi2);
    /* n = 1 gives only zeros */
    g_tensor *z = g_rand_int(rng, 1, 1, G_SHAPE(50));
    v = eval1(r, z);
    for (int j = 0; j < 50; j++) ck_assert(v[j] == 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(shuffle_permutes_each_column_and_its_adjoint_inverts_it)
{
    enum { R = 40, C = 3 };
    g_graph *g = g_graph_new();
    g_tensor *rng = g_rng(g, "gen", 5);
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(R, C));
    g_tensor *s = g_shuffle(rng, x, 0);
    ck_assert_int_eq(s->attr.rand.whole_rows, 0);
    ck_assert_int_eq(s->attr.rand.inverse, 0);
    ck_assert_int_eq(s->attr.rand.stream, s->id);
    /* the adjoint comes from autodiff: d/dx sum(shuffle(x) * w) = inverse shuffle of w */
    g_tensor *w = g_input(g, "w", 2, G_SHAPE(R, C)), *inv;
    ck_assert_int_eq(g_grad(g, g_sum_all(g_mul(s, w)), &x, 1, &inv), 0);
    ck_assert_int_eq(inv->op, G_OP_SHUFFLE);
    ck_assert_int_eq(inv->attr.rand.inverse, 1);
    ck_assert_int_eq(inv->attr.rand.stream, s->attr.rand.stream);
    ck_assert(inv->attr.rand.seed == s->attr.rand.seed);
    g_ref *r = g_ref_new(g, 0);
    double xv[R * C], col[2][R];
    for (int i = 0; i < R; i++)
        for (int c = 0; c < C; c++) xv[i * C + c] = 1000 * c + i;
    g_ref_write(r, x, xv);
    const double *sv = eval1(r, s);
    int moved = 0, differ = 0;
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < R; i++) {
            col[0][i] = sv[i * C + c];
            moved += sv[i * C + c] != xv[i * C + c];
            if (c > 0) differ += (int)(sv[i * C + c] - 1000 * c) != (int)sv[i * C];
        }
        qsort(col[0], R, sizeof(double), cmp_double);
        for (int i = 0; i < R; i++) ck_assert(col[0][i] == 1000 * c + i);   /* a permutation */
    }
    ck_assert_int_gt(moved, R);
    ck_assert_int_gt(differ, 0);   /* columns are shuffled independently */
    /* the inverse applied to the shuffled values gives x back */
    double keep[R * C];
    memcpy(keep, sv, sizeof keep);
    g_ref_write(r, w, keep);
    expect_vals(eval1(r, inv), xv, R * C, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(shuffle_rows_mode_moves_whole_rows)
{
    enum { R = 30, C = 4 };
    g_graph *g = g_graph_new();
    g_tensor *rng = g_rng(g, "gen", 77);
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(R, C));
    g_tensor *s = g_shuffle(rng, x, 1);
    ck_assert_int_eq(s->attr.rand.whole_rows, 1);
    g_tensor *w = g_input(g, "w", 2, G_SHAPE(R, C)), *inv;
    ck_assert_int_eq(g_grad(g, g_sum_all(g_mul(s, w)), &x, 1, &inv), 0);
    g_ref *r = g_ref_new(g, 0);
    double xv[R * C], rows[R];
    for (int i = 0; i < R; i++)
        for (int c = 0; c < C; c++) xv[i * C + c] = 100 * i + c;
    g_ref_write(r, x, xv);
    const double *sv = eval1(r, s);
    int moved = 0;
    for (int i = 0; i < R; i++) {
        double base = sv[i * C];
        for (int c = 0; c < C; c++) ck_assert(sv[i * C + c] == base + c);
        rows[i] = base;
        moved += base != 100 * i;
    }
    qsort(rows, R, sizeof(double), cmp_double);
    for (int i = 0; i < R; i++) ck_assert(rows[i] == 100 * i);
    ck_assert_int_gt(moved, R / 2);
    double keep[R * C];
    memcpy(keep, sv, sizeof keep);
    g_ref_write(r, w, keep);
    expect_vals(eval1(r, inv), xv, R * C, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(shuffle_orders_rows_by_key_then_row)
{
    /* the documented rule, recomputed here for rows mode */
    enum { R = 9 };
    g_graph *g = g_graph_new();
    g_tensor *rng = g_rng(g, "gen", 0xfeedbeef00000001ull);
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(R, 1));
    g_tensor *s = g_shuffle(rng, x, 1);
    g_ref *r = g_ref_new(g, 0);
    double xv[R];
    for (int i = 0; i < R; i++) xv[i] = i;
    g_ref_write(r, x, xv);
    const double *sv = eval1(r, s);
    uint32_t key[R];
    for (int i = 0; i < R; i++) {
        uint32_t ctr[4] = {(uint32_t)i, (uint32_t)s->attr.rand.stream, 0, 0x4d454721u}, w[4];
        g_philox(0x00000001u, 0xfeedbeefu, ctr, w);
        key[i] = w[0];
    }
    for (int i = 0; i < R; i++) {
        int rank = 0;
        for (int j = 0; j < R; j++) rank += key[j] < key[i] || (key[j] == key[i] && j < i);
        ck_assert(sv[rank] == xv[i]);
    }
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

/* ---- maxima, pooling, classification ----------------------------------- */

START_TEST(pooling_maxima_and_classification_builders_name_the_problem)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_input(g, "a", 2, G_SHAPE(2, 3)), *x4 = g_input(g, "x4", 4, G_SHAPE(1, 1, 3, 5));
    g_tensor *l = g_input(g, "l", 1, G_SHAPE(4)), *rng = g_rng(g, "gen", 1);
    ck_assert_ptr_eq(g_dropout(rng, a, 0.0f), a);   /* p = 0: nothing dropped, no node */
    ck_assert_ptr_null(g_graph_error(g));
    g_graph_free(g);
    /* each case in a fresh graph: the first error sticks */
#define CASE(expr, want)                                                                   \
    do {                                                                                   \
        g = g_graph_new();                                                                 \
        a = g_input(g, "a", 2, G_SHAPE(2, 3));                                             \
        x4 = g_input(g, "x4", 4, G_SHAPE(1, 1, 3, 5));                                     \
        l = g_input(g, "l", 1, G_SHAPE(4));                                                \
        rng = g_rng(g, "gen", 1);                                                          \
        expect_error(g, (expr), want);                                                     \
        g_graph_free(g);                                                                   \
    } while (0)
    CASE(g_max_pool2d(a, 2), "max_pool2d: needs x [N,C,H,W] with H and W at least the window k >= 1: x [2, 3], k 2");
    CASE(g_max_pool2d(x4, 4), "max_pool2d: needs x [N,C,H,W] with H and W at least the window k >= 1: x [1, 1, 3, 5], k 4");
    CASE(g_max_pool2d(x4, 0), "max_pool2d: needs x [N,C,H,W] with H and W at least the window k >= 1: x [1, 1, 3, 5], k 0");
    CASE(g_max_pool2d_grad(x4, g_input(g, "gy", 4, G_SHAPE(1, 1, 1, 3)), 2),
         "max_pool2d_grad: gy [1, 1, 1, 3] is not the pooled shape [1, 1, 1, 2] of x [1, 1, 3, 5] with k 2");
    CASE(g_max(a, 2, 0), "max: axis 2 out of range for x [2, 3]");
    CASE(g_argmax(a, -3, 1), "argmax: axis -3 out of range for x [2, 3]");
    CASE(g_log_softmax(a, 5), "log_softmax: axis 5 out of range for x [2, 3]");
    CASE(g_one_hot(a, 3), "one_hot: needs 1-d labels [N] and k >= 1: labels [2, 3], k 3");
    CASE(g_one_hot(l, 0), "one_hot: needs 1-d labels [N] and k >= 1: labels [4], k 0");
    CASE(g_cross_entropy(a, l), "cross_entropy: needs logits [N, K] and labels [N]: logits [2, 3], labels [4]");
    CASE(g_cross_entropy(l, l), "cross_entropy: needs logits [N, K] and labels [N]: logits [4], labels [4]");
    CASE(g_dropout(rng, a, 1.0f), "dropout: p 1 must be in [0, 1) (x [2, 3])");
    CASE(g_dropout(rng, a, -0.5f), "dropout: p -0.5 must be in [0, 1) (x [2, 3])");
    CASE(g_dropout(rng, a, NAN), "dropout: p nan must be in [0, 1)");
    CASE(g_dropout(a, a, 0.5f), "dropout: rng argument is not a generator made by g_rng: input 'a' [2, 3]");
#undef CASE
}
END_TEST

START_TEST(reference_maxima_take_the_first_of_ties_in_value_and_gradient)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(2, 4));   /* 1 3 3 2 / 4 -5 4 2 */
    g_tensor *w = g_input(g, "w", 1, G_SHAPE(2));
    g_tensor *t[5], *gx;
    t[0] = g_max(x, 1, 0);         /* [3 4] */
    t[1] = g_argmax(x, -1, 0);     /* [1 0]: the first of the tied 3s and 4s */
    t[2] = g_argmax(x, 0, 1);      /* [[1 0 1 0]]: the tie in the last column goes to row 0 */
    t[3] = g_max(x, 0, 0);         /* [4 3 4 2] */
    ck_assert_int_eq(t[2]->ndim, 2);
    ck_assert_int_eq(t[3]->ndim, 1);
    ck_assert_int_eq(g_grad(g, g_sum_all(g_mul(w, t[0])), &x, 1, &gx), 0);
    t[4] = gx;
    g_ref *r = g_ref_new(g, 0);
    g_ref_write(r, x, (double[]){1, 3, 3, 2, 4, -5, 4, 2});
    g_ref_write(r, w, (double[]){10, 20});
    ok_run(r, t, 5);
    expect_vals(g_ref_value(r, t[0]), (double[]){3, 4}, 2, 0);
    expect_vals(g_ref_value(r, t[1]), (double[]){1, 0}, 2, 0);
    expect_vals(g_ref_value(r, t[2]), (double[]){1, 0, 1, 0}, 4, 0);
    expect_vals(g_ref_value(r, t[3]), (double[]){4, 3, 4, 2}, 4, 0);
    expect_vals(g_ref_value(r, gx), (double[]){0, 10, 0, 0, 20, 0, 0, 0}, 8, 0);
    g_ref_free(r);
    g_graph_free(g);

    /* pooling: 2x2 windows of a 3x5 image; row 2 and column 4 (the 9s) are in no window */
    g = g_graph_new();
    g_tensor *im = g_input(g, "im", 4, G_SHAPE(1, 1, 3, 5)), *gy = g_input(g, "gy", 4, G_SHAPE(1, 1, 1, 2));
    g_tensor *p = g_max_pool2d(im, 2), *routed = g_max_pool2d_grad(im, gy, 2), *gi;
    ck_assert_int_eq(p->shape[2], 1);
    ck_assert_int_eq(p->shape[3], 2);
    ck_assert_int_eq(g_grad(g, g_sum_all(g_mul(gy, p)), &im, 1, &gi), 0);
    r = g_ref_new(g, 0);
    g_ref_write(r, im, (double[]){1, 2, 2, 0, 9, 0, 2, 1, 2, 9, 9, 9, 9, 9, 9});
    g_ref_write(r, gy, (double[]){5, 7});
    g_tensor *roots[3] = {p, routed, gi};
    ok_run(r, roots, 3);
    expect_vals(g_ref_value(r, p), (double[]){2, 2}, 2, 0);
    const double want[15] = {0, 5, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    expect_vals(g_ref_value(r, routed), want, 15, 0);
    expect_vals(g_ref_value(r, gi), want, 15, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

START_TEST(reference_log_softmax_is_stable_and_cross_entropy_picks_the_label)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(2, 3)), *lab = g_input(g, "lab", 1, G_SHAPE(2));
    g_tensor *bad = g_input(g, "bad", 1, G_SHAPE(2)), *l5 = g_input(g, "l5", 1, G_SHAPE(5));
    g_tensor *t[4] = {g_log_softmax(x, 1), g_cross_entropy(x, lab), g_cross_entropy(x, bad), g_one_hot(l5, 3)};
    ck_assert_int_eq(t[1]->ndim, 0);
    ck_assert_int_eq(t[3]->ndim, 2);
    ck_assert_int_eq(t[3]->shape[1], 3);
    g_ref *r = g_ref_new(g, 0);
    g_ref_write(r, x, (double[]){1000, 1001, 1002, -1, 0, 1});   /* exp(1000) overflows without the shift */
    g_ref_write(r, lab, (double[]){2, 0});
    g_ref_write(r, bad, (double[]){3, -1});
    g_ref_write(r, l5, (double[]){2, 0, 3, -1, 1});
    ok_run(r, t, 4);
    double lse = log(1 + exp(-1.0) + exp(-2.0));
    expect_vals(g_ref_value(r, t[0]), (double[]){-2 - lse, -1 - lse, -lse, -2 - lse, -1 - lse, -lse}, 6, 1e-12);
    expect_vals(g_ref_value(r, t[1]), (double[]){(lse + 2 + lse) / 2}, 1, 1e-7);   /* -1/N as a float */
    expect_vals(g_ref_value(r, t[2]), (double[]){0}, 1, 0);   /* no label in range: nothing picked */
    expect_vals(g_ref_value(r, t[3]), (double[]){0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 15, 0);
    g_ref_free(r);
    g_graph_free(g);
}
END_TEST

static Suite *graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, nodes_get_ids_in_creation_order_and_leaves_are_found_by_name);
    tcase_add_test(tc, effects_have_no_value_and_zero_dims);
    tcase_add_test(tc, dump_lists_what_the_roots_need_in_program_order);
    tcase_add_test(tc, builder_errors_name_the_op_and_the_shapes);
    tcase_add_test(tc, repeated_leaf_names_are_rejected);
    tcase_add_test(tc, assign_needs_a_leaf_target_of_the_same_shape);
    tcase_add_test(tc, u8_inputs_read_as_bytes_over_255_and_only_the_host_writes_them);
    tcase_add_test(tc, rng_ops_reject_a_tensor_that_is_not_a_generator);
    tcase_add_test(tc, tensors_from_two_graphs_cannot_be_combined);
    tcase_add_test(tc, gradient_of_a_non_scalar_is_an_error);
    tcase_add_test(tc, first_error_sticks_and_null_propagates_silently);
    tcase_add_test(tc, reference_unary_ops_match_hand_values);
    tcase_add_test(tc, reference_binary_ops_broadcast_like_numpy);
    tcase_add_test(tc, reference_select_broadcasts_three_ways);
    tcase_add_test(tc, reference_reductions_and_broadcasts);
    tcase_add_test(tc, reference_layout_ops);
    tcase_add_test(tc, reference_gather_clamps_and_scatter_adds_duplicates);
    tcase_add_test(tc, reference_matmul_all_transpose_cases);
    tcase_add_test(tc, reference_conv2d_hand_cases);
    tcase_add_test(tc, reference_conv_transpose2d_hand_cases);
    tcase_add_test(tc, reference_conv_ops_are_adjoint);
    tcase_add_test(tc, reference_batchnorm_normalises_per_channel);
    tcase_add_test(tc, init_values_are_deterministic_in_seed_and_name);
    tcase_add_test(tc, init_like_copies_another_leafs_values);
    tcase_add_test(tc, assign_is_seen_by_nodes_created_after_it_only);
    tcase_add_test(tc, unwritten_input_read_fails_naming_the_input);
    tcase_add_test(tc, adam_one_and_two_steps_match_hand_computation);
    tcase_add_test(tc, adam_decay_follows_its_linear_schedule_then_stays);
    tcase_add_test(tc, sgd_step_matches_hand_computation);
    tcase_add_test(tc, philox_matches_published_known_answers);
    tcase_add_test(tc, rng_leaf_and_rand_ops_carry_seed_and_stream);
    tcase_add_test(tc, rand_uniform_and_normal_have_the_right_moments);
    tcase_add_test(tc, rand_int_stays_in_range_with_a_flat_histogram);
    tcase_add_test(tc, shuffle_permutes_each_column_and_its_adjoint_inverts_it);
    tcase_add_test(tc, shuffle_rows_mode_moves_whole_rows);
    tcase_add_test(tc, shuffle_orders_rows_by_key_then_row);
    tcase_add_test(tc, pooling_maxima_and_classification_builders_name_the_problem);
    tcase_add_test(tc, reference_maxima_take_the_first_of_ties_in_value_and_gradient);
    tcase_add_test(tc, reference_log_softmax_is_stable_and_cross_entropy_picks_the_label);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return th_run(graph_suite());
}
