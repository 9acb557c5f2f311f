/* test_exec.c: the planner and executor against the CPU reference: every op
 * on the device (odd shapes), fused and unfused plans, effects, replays,
 * memory planning and bad input. Validation on. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "graphcheck.h"
#include "data.h"   /* meg_pixel_value */
#include "exec.h"
#include "graph.h"

static const uint64_t SEED = GC_SEED;

START_TEST(unary_ops_match_reference)
{
    typedef g_tensor *(*un)(g_tensor *);
    un fs[] = {g_neg, g_exp, g_square, g_abs, g_relu, g_tanh, g_sigmoid, g_softplus, g_log_sigmoid};
    for (int k = 0; k < 9; k++) {
        g_graph *g = g_graph_new();
        g_tensor *x = g_input(g, "x", 2, G_SHAPE(3, 17));
        g_tensor *y = fs[k](x);
        inval in = {x, 0, 4.0f};
        check_graph(g, &y, 1, &in, 1, 2e-6);
        g_graph_free(g);
    }
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 3, G_SHAPE(2, 5, 13));
    g_tensor *ys[] = {g_log(x), g_sqrt(x), g_scale(x, -2.5f), g_add_scalar(x, 0.75f), g_leaky_relu(g_neg(x), 0.2f)};
    inval in = {x, 1, 0};
    check_graph(g, ys, 5, &in, 1, 2e-6);
    g_graph_free(g);
}
END_TEST

START_TEST(binary_ops_broadcast_like_the_reference)
{
    typedef g_tensor *(*bin)(g_tensor *, g_tensor *);
    bin fs[] = {g_add, g_sub, g_mul, g_div, g_gt, g_ge, g_lt, g_le, g_eq};
    for (int k = 0; k < 9; k++) {
        g_graph *g = g_graph_new();
        g_tensor *a = g_input(g, "a", 3, G_SHAPE(5, 1, 7));
        g_tensor *b = g_input(g, "b", 2, G_SHAPE(3, 7));
        g_tensor *c = g_input(g, "c", 1, G_SHAPE(7));
        g_tensor *d = g_input(g, "d", 0, NULL);
        g_tensor *ys[] = {fs[k](a, b), fs[k](b, c), fs[k](c, b), fs[k](b, d), fs[k](b, b), fs[k](a, g_scalar(g, 0.5f))};
        inval in[] = {{a, k == 3, 0}, {b, k == 3, 0}, {c, k == 3, 0}, {d, k == 3, 0}};
        check_graph(g, ys, 6, in, 4, 2e-6);
        g_graph_free(g);
    }
}
END_TEST

START_TEST(select_expand_sum_to_reshape_match_reference)
{
    g_graph *g = g_graph_new();
    g_tensor *c = g_input(g, "c", 2, G_SHAPE(4, 9));
    g_tensor *a = g_input(g, "a", 2, G_SHAPE(4, 9));
    g_tensor *b = g_input(g, "b", 1, G_SHAPE(9));
    g_tensor *x = g_input(g, "x", 3, G_SHAPE(3, 5, 7));
    g_tensor *ys[] = {
        g_select(g_gt(c, g_scalar(g, 0.0f)), a, b),
        g_expand(b, 3, G_SHAPE(2, 4, 9)),
        g_sum_to(x, 2, G_SHAPE(1, 7)),
        g_sum_to(x, 3, G_SHAPE(3, 1, 7)),
        g_sum_to(x, 3, G_SHAPE(1, 5, 1)),
        g_sum(x, 1, 0),
        g_mean(x, -1, 1),
        g_sum_all(x),
        g_mean_all(a),
        g_reshape(g_add(x, x), 2, G_SHAPE(15, 7)),
        g_add(g_reshape(x, 2, G_SHAPE(7, 15)), g_scalar(g, 1.0f)),
    };
    inval in[] = {{c, 0, 0}, {a, 0, 0}, {b, 0, 0}, {x, 0, 0}};
    check_graph(g, ys, 11, in, 4, 2e-6);
    g_graph_free(g);
}
END_TEST

START_TEST(large_reductions_match_reference)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(300, 1001));
    g_tensor *ys[] = {g_sum_all(x), g_sum(x, 0, 1), g_sum(x, 1, 0), g_mean_all(g_square(x))};
    inval in = {x, 0, 0};
    check_graph(g, ys, 4, &in, 1, 2e-5);
    g_graph_free(g);
}
END_TEST

/* A reduction of a broadcast constant with at least 256 inputs per output
 * and fewer than 256 outputs took the workgroup-per-output path, which
 * summed nothing: 0 on the device, with only a stray message as a trace. */
START_TEST(reductions_of_broadcast_constants_sum_them)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(4096));
    g_tensor *b = g_param(g, "b", 1, G_SHAPE(1), g_init_const(0.5f));
    g_tensor *gb;
    ck_assert_int_eq(g_grad(g, g_sum_all(g_add(x, b)), &b, 1, &gb), 0);
    g_tensor *c = g_sum(g_const(g, 2.0f, 2, G_SHAPE(8, 1024)), 1, 0);        /* [8] of 2048 */
    g_tensor *call = g_sum_all(g_const(g, 0.25f, 2, G_SHAPE(300, 300)));     /* 22500 */
    g_tensor *cexp = g_sum(g_expand(g_const(g, 3.0f, 2, G_SHAPE(1, 1)), 2, G_SHAPE(2, 257)), 1, 1); /* [2, 1] of 771 */
    g_tensor *ys[] = {gb, c, call, cexp};
    inval in = {x, 0, 0};
    check_graph(g, ys, 4, &in, 1, 1e-6);
    /* and the values themselves, not only the agreement */
    g_session *s;
    ck_assert_msg(g_session_new(th_ctx(), g, SEED, &s) == 0, "%s", rt_error());
    g_plan *p;
    ck_assert_msg(g_plan_new(s, ys, 4, NULL, &p) == 0, "%s", rt_error());
    float *xv = calloc(4096, sizeof *xv), v[8];
    ck_assert_int_eq(g_session_write(s, x, xv), 0);
    ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
    ck_assert_int_eq(g_session_read(s, gb, v), 0);
    ck_assert_float_eq(v[0], 4096.0f);
    ck_assert_int_eq(g_session_read(s, c, v), 0);
    for (int i = 0; i < 8; i++) ck_assert_float_eq(v[i], 2048.0f);
    ck_assert_int_eq(g_session_read(s, call, v), 0);
    ck_assert_float_eq(v[0], 22500.0f);
    ck_assert_int_eq(g_session_read(s, cexp, v), 0);
    ck_assert_float_eq(v[0], 771.0f);
    ck_assert_float_eq(v[1], 771.0f);
    free(xv);
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(layout_ops_match_reference)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(2, 3, 5, 7));
    g_tensor *y = g_input(g, "y", 2, G_SHAPE(5, 3));
    g_tensor *z = g_input(g, "z", 2, G_SHAPE(5, 4));
    g_tensor *idx = g_input(g, "idx", 1, G_SHAPE(6));
    g_tensor *cat[] = {y, z, y};
    g_tensor *ys[] = {
        g_permute(x, G_SHAPE(3, 1, 0, 2)),
        g_transpose(y),
        g_concat(g, cat, 3, 1),
        g_concat(g, cat + 1, 2, 1),
        g_slice(x, 2, 1, 3),
        g_pad(y, 1, 2, 8),
        g_gather_rows(z, idx),
        g_scatter_add_rows(g_mul(z, z), g_slice(idx, 0, 0, 5), 4),
        g_add(g_transpose(y), g_scalar(g, 1.0f)),
    };
    inval in[] = {{x, 0, 0}, {y, 0, 0}, {z, 0, 0}, {idx, 1, 2.0f}};
    check_graph(g, ys, 9, in, 4, 1e-6);
    g_graph_free(g);
}
END_TEST

static void matmul_epilogue_cases(void)
{
    /* the second size takes the 16 x 8 blocks, partial in both directions */
    for (int layout = 0; layout < 8; layout++) {
        int ta = layout & 1, tb = (layout >> 1) & 1;
        int M = layout < 4 ? 33 : 260, K = layout < 4 ? 19 : 36, N = layout < 4 ? 45 : 265;
        g_graph *g = g_graph_new();
        g_tensor *a = g_input(g, "a", 2, ta ? G_SHAPE(K, M) : G_SHAPE(M, K));
        g_tensor *b = g_input(g, "b", 2, tb ? G_SHAPE(N, K) : G_SHAPE(K, N));
        g_tensor *bias = g_input(g, "bias", 1, G_SHAPE(N));
        g_tensor *mm = g_matmul(a, b, ta, tb);
        g_tensor *pre = g_add(mm, bias);
        g_tensor *ys[] = {g_leaky_relu(pre, 0.2f), pre, g_sigmoid(g_matmul(a, b, ta, tb))};
        inval in[] = {{a, 0, 0}, {b, 0, 0}, {bias, 0, 0}};
        check_graph(g, ys, 3, in, 3, 1e-5);
        g_graph_free(g);
    }
    /* vec4 paths */
    g_graph *g = g_graph_new();
    g_tensor *a = g_input(g, "a", 2, G_SHAPE(64, 132));
    g_tensor *b = g_input(g, "b", 2, G_SHAPE(132, 260));
    /* a weight gradient with its bias gradient (the row of ones) at 16 x 8 blocks */
    g_tensor *c = g_input(g, "c", 2, G_SHAPE(260, 264));
    g_tensor *ys[] = {g_relu(g_matmul(a, b, 0, 0)), g_matmul(a, a, 1, 0), g_matmul(b, b, 0, 1),
                      g_matmul(c, c, 1, 0), g_sum(c, 0, 0)};
    inval in[] = {{a, 0, 0}, {b, 0, 0}, {c, 0, 0}};
    check_graph(g, ys, 5, in, 3, 3e-5);
    g_graph_free(g);
}

START_TEST(matmul_all_layouts_and_fused_epilogue_match_reference)
{
    matmul_epilogue_cases();
}
END_TEST

/* Matmuls over K = 1 of at least 2 x 2 outputs are outer products, run as
 * elementwise work (schedule.c): in every layout, with work fused after
 * them, feeding a matmul, from a shared operand, and beside the shapes that
 * stay matmuls (one row or one column). */
START_TEST(outer_products_match_reference_in_every_layout)
{
    struct { int m, n; } sz[] = {{37, 45}, {2, 2}, {1, 9}, {9, 1}, {260, 129}};
    for (int i = 0; i < (int)(sizeof sz / sizeof sz[0]); i++)
        for (int layout = 0; layout < 4; layout++) {
            int ta = layout & 1, tb = layout >> 1, M = sz[i].m, N = sz[i].n;
            g_graph *g = g_graph_new();
            g_tensor *a = g_input(g, "a", 2, ta ? G_SHAPE(1, M) : G_SHAPE(M, 1));
            g_tensor *b = g_input(g, "b", 2, tb ? G_SHAPE(N, 1) : G_SHAPE(1, N));
            g_tensor *w = g_input(g, "w", 2, G_SHAPE(N, 7)), *m = g_input(g, "m", 2, G_SHAPE(M, N));
            g_tensor *o = g_matmul(a, b, ta, tb);
            g_tensor *masked = g_select(g_gt(m, g_scalar(g, 0.0f)), o, g_scale(o, 0.2f));
            g_tensor *ys[] = {o, g_matmul(masked, w, 0, 0), g_add(g_matmul(a, b, ta, tb), m)};
            inval in[] = {{a, 0, 0}, {b, 0, 0}, {w, 0, 0}, {m, 0, 0}};
            check_graph(g, ys, 3, in, 4, 2e-6);
            g_graph_free(g);
        }
}
END_TEST

START_TEST(tiled_matmul_matches_reference_with_fused_epilogues)
{
    /* the shared-memory variant (for GPUs) carries the planner's epilogues
     * and the row of ones too; MEG_MATMUL_VARIANT puts it under every matmul */
    ck_assert_int_eq(setenv("MEG_MATMUL_VARIANT", "20", 1), 0);
    matmul_epilogue_cases();
    unsetenv("MEG_MATMUL_VARIANT");
}
END_TEST

START_TEST(random_ops_match_reference_bit_for_bit)
{
    g_graph *g = g_graph_new();
    g_tensor *rng = g_rng(g, "rng", 0x1234567890abcdefull);
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(37, 3));
    g_tensor *ys[] = {
        g_rand_uniform(rng, 2, G_SHAPE(5, 77)), g_rand_normal(rng, 1, G_SHAPE(1001)),
        g_rand_int(rng, 70000, 1, G_SHAPE(256)), g_shuffle(rng, x, 0), g_shuffle(rng, x, 1),
        g_add(g_rand_normal(rng, 2, G_SHAPE(37, 3)), x),
    };
    /* random numbers drawn inside a matmul epilogue and a reduction epilogue */
    g_tensor *w = g_input(g, "w", 2, G_SHAPE(3, 5));
    g_tensor *mm = g_add(g_matmul(x, w, 0, 0), g_rand_uniform(rng, 2, G_SHAPE(37, 5)));
    g_tensor *red = g_add(g_sum(x, 1, 0), g_rand_normal(rng, 1, G_SHAPE(37)));
    g_tensor *adv = g_rng_advance(rng);
    g_tensor *roots[] = {ys[0], ys[1], ys[2], ys[3], ys[4], ys[5], mm, red, adv};
    inval in[] = {{x, 0, 0}, {w, 0, 0}};
    /* three runs: the counter advances on the device as in the reference */
    check_graph_ex(g, roots, 9, in, 2, &rng, 1, 3e-6, 0, 3);
    check_graph_ex(g, roots, 9, in, 2, &rng, 1, 3e-6, 1, 2);
    g_graph_free(g);
}
END_TEST

/* Dropout with p = 0.3 on a million elements, two runs: the device draws
 * the reference's mask (p <= 1/2: every u below it is exact in fp32, so
 * the comparison cannot round the other way), keeps about 1 - p of x
 * scaled by 1/(1 - p), its gradient is that scaled mask, and the advanced
 * generator draws a new one. */
START_TEST(dropout_keeps_the_reference_mask_and_its_gradient_is_the_scaled_mask)
{
    const float p = 0.3f, keep = (float)(1.0 / (1.0 - (double)p));
    g_graph *g = g_graph_new();
    g_tensor *rng = g_rng(g, "rng", 99);
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(1000, 1001)), *gx;
    g_tensor *y = g_dropout(rng, x, p);
    ck_assert_int_eq(g_grad(g, g_sum_all(y), &x, 1, &gx), 0);
    g_tensor *roots[3] = {y, gx, g_rng_advance(rng)};
    ck_assert_msg(g_graph_error(g) == NULL, "%s", g_graph_error(g));
    size_t n = g_numel(x);
    float *xv = malloc(n * sizeof *xv), *yv = malloc(n * sizeof *yv), *gv = malloc(n * sizeof *gv);
    unsigned char *first = malloc(n);
    th_random(xv, n, 5);
    g_session *s;
    ck_assert_msg(g_session_new(th_ctx(), g, SEED, &s) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(g, SEED);
    ck_assert_msg(g_session_write(s, x, xv) == 0, "%s", rt_error());
    ck_assert_int_eq(g_ref_write_f(r, x, xv), 0);
    g_plan *pl;
    ck_assert_msg(g_plan_new(s, roots, 3, NULL, &pl) == 0, "%s", rt_error());
    for (int run = 0; run < 2; run++) {
        ck_assert_msg(g_plan_run(pl, 1) == 0, "%s", rt_error());
        ck_assert_msg(g_ref_run(r, roots, 3) == 0, "%s", g_ref_error(r));
        ck_assert_msg(g_session_read(s, y, yv) == 0 && g_session_read(s, gx, gv) == 0, "%s", rt_error());
        const double *ry = g_ref_value(r, y), *rg = g_ref_value(r, gx);
        size_t kept = 0, same = 0;
        for (size_t j = 0; j < n; j++) {
            ck_assert_msg(gv[j] == 0.0f || gv[j] == keep, "run %d: gradient element %zu is %.9g", run, j, gv[j]);
            ck_assert_msg(gv[j] == (float)rg[j], "run %d: mask element %zu: device %g, reference %g", run, j, gv[j], rg[j]);
            ck_assert_msg(yv[j] == xv[j] * gv[j] && yv[j] == (float)ry[j], "run %d: element %zu: %.9g, x %.9g, reference %.9g",
                          run, j, yv[j], xv[j], ry[j]);
            kept += gv[j] != 0.0f;
            if (run == 0) first[j] = gv[j] != 0.0f;
            else same += first[j] == (gv[j] != 0.0f);
        }
        ck_assert_double_eq_tol((double)kept / n, 1.0 - p, 0.005);
        /* independent masks agree on p^2 + (1-p)^2 of the elements */
        if (run == 1) ck_assert_double_eq_tol((double)same / n, p * p + (1 - p) * (1 - p), 0.005);
    }
    g_plan_free(pl);
    g_ref_free(r);
    g_session_free(s);
    g_graph_free(g);
    free(xv);
    free(yv);
    free(gv);
    free(first);
}
END_TEST

START_TEST(effects_update_params_in_program_order)
{
    g_graph *g = g_graph_new();
    g_tensor *w = g_param(g, "w", 2, G_SHAPE(7, 5), g_init_normal(1.0f));
    g_tensor *b = g_param(g, "b", 1, G_SHAPE(5), g_init_torch(7));
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(11, 7));
    g_tensor *before = g_sum_all(g_matmul(x, w, 0, 0));
    g_tensor *gw = g_matmul(x, g_expand(g_add(b, g_scalar(g, 1.0f)), 2, G_SHAPE(11, 5)), 1, 0);
    g_tensor *gb = g_sum(g_square(g_matmul(x, w, 0, 0)), 0, 0);
    g_tensor *params[] = {w, b}, *grads[] = {gw, gb};
    g_adam_opts ao = {0.01f, 0.5f, 0.9f, 1e-8f};
    g_tensor *step = g_adam(g, "adam", params, grads, 2, ao);
    g_tensor *after = g_sum_all(g_matmul(x, w, 0, 0));
    g_tensor *c = g_state(g, "c", 1, G_SHAPE(5), g_init_const(2.0f));
    g_tensor *as = g_assign(c, g_mul(c, b));
    g_tensor *roots[] = {before, step, after, as};
    g_tensor *leaves[] = {w, b, c};
    inval in = {x, 0, 0};
    check_graph_ex(g, roots, 4, &in, 1, leaves, 3, 2e-5, 0, 1);
    check_graph_ex(g, roots, 4, &in, 1, leaves, 3, 2e-5, 1, 1);
    check_graph_ex(g, roots, 4, &in, 1, leaves, 3, 5e-5, 0, 4);
    g_tensor *ps[] = {w};
    g_tensor *gs[] = {gw};
    g_tensor *sgd = g_sgd(g, ps, gs, 1, 0.1f);
    g_tensor *roots2[] = {sgd, g_sum_all(w)};
    check_graph_ex(g, roots2, 2, &in, 1, leaves, 1, 2e-5, 0, 2);
    g_graph_free(g);
}
END_TEST

/* A decaying rate: 5 runs of 2 updates each pass the schedule's end (4
 * steps), so both the ramp and the floor after it are compared. */
START_TEST(adam_with_a_decaying_rate_matches_reference_past_its_end)
{
    g_graph *g = g_graph_new();
    g_tensor *w = g_param(g, "w", 2, G_SHAPE(7, 5), g_init_normal(1.0f));
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(11, 7));
    g_tensor *gw = g_matmul(x, g_square(g_matmul(x, w, 0, 0)), 1, 0);
    g_adam_opts ao = {0.05f, 0.5f, 0.9f, 1e-8f, 4.0f, 0.2f};
    g_tensor *s1 = g_adam(g, "adam", &w, &gw, 1, ao);
    g_tensor *gw2 = g_matmul(x, g_square(g_matmul(x, w, 0, 0)), 1, 0);
    g_tensor *s2 = g_adam(g, "adam", &w, &gw2, 1, ao);
    g_tensor *roots[] = {s1, s2, g_sum_all(w)};
    inval in = {x, 0, 0};
    check_graph_ex(g, roots, 3, &in, 1, &w, 1, 5e-5, 0, 5);
    check_graph_ex(g, roots, 3, &in, 1, &w, 1, 5e-5, 1, 5);
    g_graph_free(g);
}
END_TEST

START_TEST(reads_of_a_param_stay_before_its_update)
{
    /* The first matmul's unit is still open (its epilogue may grow) when the
     * assign to w comes; it must still run before it. */
    g_graph *g = g_graph_new();
    g_tensor *w = g_param(g, "w", 2, G_SHAPE(6, 5), g_init_normal(1.0f));
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(4, 6));
    g_tensor *a = g_matmul(x, w, 0, 0);
    g_tensor *as = g_assign(w, g_scale(w, 2.0f));
    g_tensor *b = g_matmul(x, w, 0, 0);
    g_tensor *roots[] = {g_add_scalar(a, 1.0f), as, g_add_scalar(b, 1.0f)};
    inval in = {x, 0, 0};
    check_graph_ex(g, roots, 3, &in, 1, &w, 1, 2e-6, 0, 1);
    check_graph_ex(g, roots, 3, &in, 1, &w, 1, 2e-6, 1, 2);
    g_graph_free(g);
}
END_TEST

/* An elementwise unit that reads a param at another element's index (a
 * permute) was merged into the unit an SGD update of that param joined:
 * invocations then read values other invocations had already updated
 * (found by tests/difftest.c, seed 180). */
START_TEST(remapped_reads_of_a_param_are_not_merged_with_its_update)
{
    g_graph *g = g_graph_new();
    g_tensor *w = g_param(g, "w", 2, G_SHAPE(256, 257), g_init_uniform(1.0f));
    g_tensor *y = g_neg(g_permute(w, G_SHAPE(1, 0)));             /* open: an elementwise unit */
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(256, 8));
    g_tensor *v = g_param(g, "v", 2, G_SHAPE(8, 257), g_init_uniform(1.0f));
    g_tensor *grad = g_scale(g_matmul(x, v, 0, 0), 0.1f);         /* a matmul unit the update joins */
    g_tensor *ps[] = {w}, *gs[] = {grad};
    g_tensor *roots[] = {y, g_sgd(g, ps, gs, 1, 0.5f)};
    inval in = {x, 0, 0};
    check_graph_ex(g, roots, 2, &in, 1, &w, 1, 1e-5, 0, 1);
    check_graph_ex(g, roots, 2, &in, 1, &w, 1, 1e-5, 0, 3);
    g_graph_free(g);
}
END_TEST

START_TEST(batchnorm_matches_reference)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(3, 4, 5, 5));
    g_tensor *gamma = g_param(g, "gamma", 1, G_SHAPE(4), g_init_normal(1.0f));
    g_tensor *beta = g_param(g, "beta", 1, G_SHAPE(4), g_init_normal(1.0f));
    g_tensor *y = g_batchnorm_train(x, gamma, beta, 1e-5f);
    inval in = {x, 0, 3.0f};
    check_graph(g, &y, 1, &in, 1, 2e-5);
    g_graph_free(g);
}
END_TEST


START_TEST(fused_and_unfused_training_steps_agree)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(19, 3));
    g_tensor *params[16];
    int np = 0;
    g_tensor *e = tc_mlp(g, x, 24, 4, 1, params, &np);
    g_tensor *gx;
    ck_assert_msg(g_grad(g, g_sum_all(e), &x, 1, &gx) == 0, "%s", g_graph_error(g));
    g_tensor *loss = g_add(g_mean_all(e), g_scale(g_mean_all(g_sum(g_square(gx), 1, 0)), 0.1f));
    g_tensor *grads[16];
    ck_assert_msg(g_grad(g, loss, params, np, grads) == 0, "%s", g_graph_error(g));
    g_adam_opts ao = {1e-2f, 0.5f, 0.9f, 1e-8f};
    g_tensor *step = g_adam(g, "adam", params, grads, np, ao);
    g_tensor *roots[] = {loss, step};
    inval in = {x, 0, 0};
    check_graph_ex(g, roots, 2, &in, 1, params, np, 2e-5, 0, 1);
    check_graph_ex(g, roots, 2, &in, 1, params, np, 2e-5, 1, 1);
    check_graph_ex(g, roots, 2, &in, 1, params, np, 1e-4, 0, 3);
    g_graph_free(g);
}
END_TEST

START_TEST(arena_is_smaller_than_the_sum_of_intermediates)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(64, 2));
    g_tensor *params[16];
    int np = 0;
    g_tensor *e = tc_mlp(g, x, 128, 4, 1, params, &np);
    g_tensor *loss = g_mean_all(e);
    g_tensor *grads[16];
    ck_assert(g_grad(g, loss, params, np, grads) == 0);
    g_adam_opts ao = {1e-3f, 0.5f, 0.9f, 1e-8f};
    g_tensor *step = g_adam(g, "adam", params, grads, np, ao);
    g_tensor *roots[] = {loss, step};
    g_session *s;
    ck_assert(g_session_new(th_ctx(), g, 1, &s) == 0);
    float xv[128];
    th_random(xv, 128, 5);
    ck_assert(g_session_write(s, x, xv) == 0);
    for (int nf = 0; nf < 2; nf++) {
        g_plan_opts o = {.no_fusion = nf};
        g_plan *p;
        ck_assert_msg(g_plan_new(s, roots, 2, &o, &p) == 0, "%s", rt_error());
        g_plan_stats st;
        g_plan_stats_get(p, &st);
        ck_assert_msg(st.arena_bytes < st.intermediate_bytes, "arena %zu, intermediates %zu", st.arena_bytes,
                      st.intermediate_bytes);
        ck_assert_int_gt(st.dispatches, 0);
        ck_assert_uint_eq(st.param_bytes, (2 * 128 + 128 * 128 * 2 + 128 + 3 * 128 + 1) * 4);
        ck_assert(g_plan_run(p, 1) == 0);
        g_plan_free(p);
    }
    g_session_free(s);
    g_graph_free(g);
}
END_TEST

/* Arithmetic on constants (autodiff's loss seeds) is done at plan time: a
 * broadcast of it no longer needs a dispatch of its own before the matmul
 * and the reduction that read it, and the values are the reference's. */
START_TEST(arithmetic_on_constants_is_folded_at_plan_time)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(37, 1)), *w = g_input(g, "w", 2, G_SHAPE(5, 20));
    g_tensor *c = g_scalar(g, 0.3f);
    g_tensor *seed = g_scale(g_neg(g_add(c, g_mul(c, g_scalar(g, 7.0f)))), 1.0f / 37.0f);
    g_tensor *k = g_sub(g_add_scalar(seed, 0.5f), c);
    g_tensor *e = g_expand(seed, 2, G_SHAPE(37, 20));
    g_tensor *ys[] = {g_matmul(g_expand(k, 2, G_SHAPE(37, 5)), w, 0, 0), g_sum(g_mul(e, x), 0, 0), k};
    g_schedule *sc;
    ck_assert_msg(g_schedule_new(g, ys, 3, NULL, NULL, &sc) == 0, "%s", rt_error());
    /* the seed's ops run nowhere on the device (k, a root, is written by a unit of its own) */
    for (int u = 0; u < g_schedule_units(sc); u++)
        ck_assert_msg(!strstr(g_schedule_label(sc, u), "neg") && !strstr(g_schedule_label(sc, u), "scale"),
                      "unit %d computes the constants: %s", u, g_schedule_label(sc, u));
    g_schedule_free(sc);
    inval in[] = {{x, 0, 0}, {w, 0, 0}};
    check_graph(g, ys, 3, in, 2, 2e-6);
    g_graph_free(g);
}
END_TEST

START_TEST(fusion_reduces_dispatches)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(16, 8));
    g_tensor *w = g_param(g, "w", 2, G_SHAPE(8, 8), g_init_torch(8));
    g_tensor *b = g_param(g, "b", 1, G_SHAPE(8), g_init_torch(8));
    g_tensor *y = g_tanh(g_leaky_relu(g_add(g_matmul(x, w, 0, 0), b), 0.2f));
    g_session *s;
    ck_assert(g_session_new(th_ctx(), g, 1, &s) == 0);
    int disp[2];
    for (int nf = 0; nf < 2; nf++) {
        g_plan_opts o = {.no_fusion = nf};
        g_plan *p;
        ck_assert_msg(g_plan_new(s, &y, 1, &o, &p) == 0, "%s", rt_error());
        g_plan_stats st;
        g_plan_stats_get(p, &st);
        disp[nf] = st.dispatches;
        g_plan_free(p);
    }
    ck_assert_int_eq(disp[0], 1);   /* matmul + bias + leaky_relu + tanh in one */
    ck_assert_int_eq(disp[1], 4);
    g_session_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(profile_gives_each_kinds_flops_and_rate)
{
    /* a fused matmul (2 x 64 x 100 x 50 = 0.64 MFLOP) and an elementwise kernel of its own (no FLOPs) */
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(64, 100));
    g_tensor *w = g_param(g, "w", 2, G_SHAPE(100, 50), g_init_torch(100));
    g_tensor *ys[] = {g_relu(g_matmul(x, w, 0, 0)), g_exp(g_input(g, "u", 1, G_SHAPE(37)))};
    g_session *s;
    ck_assert(g_session_new(th_ctx(), g, 1, &s) == 0);
    float xv[64 * 100], uv[37];
    for (int i = 0; i < 64 * 100; i++) xv[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < 37; i++) uv[i] = 0.1f * (float)i;
    ck_assert(g_session_write(s, x, xv) == 0 && g_session_write(s, ys[1]->src[0], uv) == 0);
    g_plan_opts o = {.timestamps = 1, .no_hfuse = 1};
    g_plan *p;
    ck_assert_msg(g_plan_new(s, ys, 2, &o, &p) == 0, "%s", rt_error());
    char buf[4096];
    ck_assert_msg(g_plan_profile(p, buf, sizeof buf) != 0, "a plan that has not run has no profile");
    ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_profile(p, buf, sizeof buf) == 0, "%s", rt_error());
    int seen_mm = 0, seen_ew = 0, seen_total = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        double ms, share;
        int calls;
        char mf[32], gf[32], label[128];
        if (sscanf(line, "%lf %d %lf%% %31s %31s %127s", &ms, &calls, &share, mf, gf, label) != 6) continue;
        if (strstr(label, "matmul")) {
            seen_mm = 1;
            ck_assert_str_eq(mf, "0.64");
            ck_assert_msg(atof(gf) > 0 && fabs(atof(gf) - 0.64e6 / (ms * 1e6)) < 0.01 * atof(gf) + 0.01,
                          "GFLOP/s %s over %.4f ms", gf, ms);
        } else if (!strcmp(label, "total")) {
            seen_total = 1;
            ck_assert_int_eq(calls, 2);
            ck_assert_str_eq(mf, "0.64");
        } else if (strstr(label, "exp")) {
            seen_ew = 1;
            ck_assert_str_eq(mf, "-");
            ck_assert_str_eq(gf, "-");
        }
    }
    ck_assert_msg(seen_mm && seen_ew && seen_total, "profile lines: matmul %d, exp %d, total %d", seen_mm, seen_ew,
                  seen_total);
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(wide_expressions_split_within_binding_limits)
{
    /* 40 inputs summed in one chain: one kernel cannot bind them all */
    g_graph *g = g_graph_new();
    inval in[40];
    g_tensor *y = NULL, *outs[40];
    for (int k = 0; k < 40; k++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", k);
        in[k] = (inval){g_input(g, name, 1, G_SHAPE(33)), 0, 0};
        y = y ? g_add(y, g_mul(in[k].t, in[k].t)) : in[k].t;
        outs[k] = y; /* every partial sum is wanted too */
    }
    check_graph(g, outs, 40, in, 40, 1e-5);
    g_graph_free(g);
}
END_TEST

/* ---- 8-bit inputs ------------------------------------------------------------
 * Every kind of kernel reads an 8-bit input through an R8_UNORM texel view
 * (RGBA8 where a matmul reads four at once): fused elementwise code, the
 * remapped reads of layout ops, reductions, matmuls (A and B, register and
 * shared-memory variants), the three convolutions and shuffle. Shapes are
 * not multiples of the kernels' tiles. */

START_TEST(u8_inputs_read_as_bytes_over_255_in_fused_ops_and_reductions)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input_u8(g, "x", 3, G_SHAPE(3, 67, 5));
    g_tensor *x4 = g_input_u8(g, "x4", 4, G_SHAPE(2, 3, 17, 15));
    g_tensor *a = g_input(g, "a", 1, G_SHAPE(5));
    g_tensor *ys[] = {
        x,                                                   /* read back: byte / 255 */
        g_tanh(g_add(g_mul(x, a), g_scale(x, -0.5f))),     /* fused, broadcast against fp32 */
        g_add_scalar(g_scale(x, 2.0f), -1.0f),               /* the pixel convention */
        g_sum(x, 1, 0),                                      /* reduction kernels */
        g_sum_all(x),
        g_max(x, 1, 1),
        g_argmax(x, 2, 0),
        g_permute(x, G_SHAPE(2, 0, 1)),                      /* remapped reads */
        g_slice(x, 1, 3, 60),
        g_concat(g, (g_tensor *[]){x, g_expand(a, 3, G_SHAPE(3, 2, 5))}, 2, 1),
        g_reshape(x, 2, G_SHAPE(201, 5)),
        g_max_pool2d(x4, 2),
    };
    inval in[] = {{x, 0, 0}, {a, 0, 0}, {x4, 0, 0}};
    check_graph(g, ys, 12, in, 3, 2e-6);
    g_graph_free(g);
}
END_TEST

START_TEST(u8_inputs_through_gather_rows_and_a_sum_of_rows_in_one_unit)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input_u8(g, "x", 2, G_SHAPE(70, 13));
    g_tensor *i = g_input(g, "i", 1, G_SHAPE(29));
    g_tensor *rows = g_gather_rows(x, i);
    g_tensor *ys[] = {rows, g_add_scalar(g_scale(rows, 2.0f), -1.0f), g_sum(rows, 0, 0)};
    /* indices -1 .. 70: both ends clamped */
    inval in[] = {{x, 0, 0}, {i, 0, 0}};
    ck_assert(!g_graph_error(g));
    g_session *s;
    ck_assert_msg(g_session_new(th_ctx(), g, SEED, &s) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(g, SEED);
    uint8_t *b = gc_input_bytes(x, 0);
    float iv[29];
    for (int k = 0; k < 29; k++) iv[k] = (float)((k * 37) % 72 - 1);
    ck_assert(g_session_write_u8(s, x, b) == 0 && g_ref_write_u8(r, x, b) == 0);
    ck_assert(g_session_write(s, i, iv) == 0 && g_ref_write_f(r, i, iv) == 0);
    g_plan *p;
    ck_assert_msg(g_plan_new(s, ys, 3, NULL, &p) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
    ck_assert(g_ref_run(r, ys, 3) == 0);
    float got[29 * 13];
    ck_assert(g_session_read(s, ys[0], got) == 0);
    for (int k = 0; k < 29; k++) {
        int row = iv[k] < 0 ? 0 : iv[k] > 69 ? 69 : (int)iv[k];
        for (int c = 0; c < 13; c++)
            ck_assert_msg(fabsf(got[k * 13 + c] - b[row * 13 + c] / 255.0f) <= 6e-8f, "row %d col %d: %.9g, byte %d",
                          k, c, got[k * 13 + c], b[row * 13 + c]);
    }
    ck_assert(g_session_read(s, ys[1], got) == 0);
    for (int k = 0; k < 29; k++) {
        int row = iv[k] < 0 ? 0 : iv[k] > 69 ? 69 : (int)iv[k];
        for (int c = 0; c < 13; c++)   /* the value a data set holds for the byte, within fp32 rounding */
            ck_assert_msg(fabsf(got[k * 13 + c] - meg_pixel_value(b[row * 13 + c])) <= 2.5e-7f,
                          "pixel %d, %d: %.9g for byte %d", k, c, got[k * 13 + c], b[row * 13 + c]);
    }
    g_plan_free(p);
    g_ref_free(r);
    g_session_free(s);
    free(b);
    check_graph(g, ys, 3, in, 2, 2e-6);   /* fused and unfused, indices in [-1, 1) */
    g_graph_free(g);
}
END_TEST

static void u8_matmuls(void)
{
    /* A and B 8-bit in every layout; K = 20 and N = 16 let the register
     * kernel read four bytes at once (RGBA8), 19 and 13 do not */
    struct { int m, k, n; } cs[] = {{37, 20, 16}, {9, 19, 13}, {65, 33, 70}};
    for (int c = 0; c < 3; c++)
        for (int t = 0; t < 4; t++) {
            int ta = t & 1, tb = t >> 1, m = cs[c].m, k = cs[c].k, n = cs[c].n;
            g_graph *g = g_graph_new();
            g_tensor *a8 = g_input_u8(g, "a8", 2, ta ? G_SHAPE(k, m) : G_SHAPE(m, k));
            g_tensor *b8 = g_input_u8(g, "b8", 2, tb ? G_SHAPE(n, k) : G_SHAPE(k, n));
            g_tensor *af = g_input(g, "af", 2, ta ? G_SHAPE(k, m) : G_SHAPE(m, k));
            g_tensor *bf = g_input(g, "bf", 2, tb ? G_SHAPE(n, k) : G_SHAPE(k, n));
            g_tensor *bias = g_input(g, "bias", 1, G_SHAPE(n));
            g_tensor *ys[] = {g_matmul(a8, bf, ta, tb), g_matmul(af, b8, ta, tb),
                              g_relu(g_add(g_matmul(a8, b8, ta, tb), bias))};
            ck_assert_msg(!g_graph_error(g), "%s", g_graph_error(g));
            inval in[] = {{a8, 0, 0}, {b8, 0, 0}, {af, 0, 0}, {bf, 0, 0}, {bias, 0, 0}};
            check_graph(g, ys, 3, in, 5, 1e-5);
            g_graph_free(g);
        }
}

START_TEST(u8_inputs_through_matmuls_in_every_layout)
{
    u8_matmuls();
    ck_assert_int_eq(setenv("MEG_MATMUL_VARIANT", "20", 1), 0);   /* the shared-memory variant */
    u8_matmuls();
    unsetenv("MEG_MATMUL_VARIANT");
}
END_TEST

START_TEST(u8_inputs_through_convolutions_and_shuffle)
{
    struct { int n, c, h, wd, o, k, s, p, op; } cs[] = {{2, 3, 9, 11, 5, 5, 2, 2, 1}, {3, 1, 28, 28, 17, 5, 1, 2, 0}};
    for (int i = 0; i < 2; i++) {
        g_graph *g = g_graph_new();
        g_tensor *x = g_input_u8(g, "x", 4, G_SHAPE(cs[i].n, cs[i].c, cs[i].h, cs[i].wd));
        g_tensor *w = g_input(g, "w", 4, G_SHAPE(cs[i].o, cs[i].c, cs[i].k, cs[i].k));
        g_tensor *w8 = g_input_u8(g, "w8", 4, G_SHAPE(cs[i].o, cs[i].c, cs[i].k, cs[i].k));
        g_tensor *wt = g_input(g, "wt", 4, G_SHAPE(cs[i].c, cs[i].o, cs[i].k, cs[i].k));
        g_tensor *y = g_conv2d(x, w, cs[i].s, cs[i].p);
        g_tensor *gy = g_input_u8(g, "gy", y->ndim, y->shape);
        g_tensor *xf = g_input(g, "xf", 4, x->shape);
        g_tensor *s8 = g_input_u8(g, "s8", 2, G_SHAPE(7 + i, 9));
        g_tensor *gen = g_rng(g, "gen", 3);
        g_tensor *ys[] = {y, g_conv2d(xf, w8, cs[i].s, cs[i].p), g_conv_transpose2d(x, wt, cs[i].s, cs[i].p, cs[i].op),
                          g_conv2d_wgrad(x, gy, cs[i].k, cs[i].k, cs[i].s, cs[i].p), g_shuffle(gen, s8, 0),
                          g_shuffle(gen, s8, 1)};
        ck_assert_msg(!g_graph_error(g), "case %d: %s", i, g_graph_error(g));
        inval in[] = {{x, 0, 0}, {w, 0, 0}, {w8, 0, 0}, {wt, 0, 0}, {gy, 0, 0}, {xf, 0, 0}, {s8, 0, 0}};
        check_graph(g, ys, 6, in, 7, 2e-5);
        g_graph_free(g);
    }
}
END_TEST

START_TEST(u8_inputs_are_written_as_bytes_and_never_by_the_graph)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input_u8(g, "pixels", 2, G_SHAPE(3, 5));
    g_tensor *f = g_input(g, "f", 2, G_SHAPE(3, 5));
    ck_assert(g_is_u8(x) && !g_is_u8(f));
    /* assigning to it or optimising it is refused when the graph is built */
    ck_assert_ptr_null(g_assign(x, f));
    ck_assert_msg(strstr(g_graph_error(g), "pixels") && strstr(g_graph_error(g), "8-bit"), "%s", g_graph_error(g));
    g_graph_free(g);
    g = g_graph_new();
    x = g_input_u8(g, "pixels", 2, G_SHAPE(3, 5));
    g_tensor *gr = g_scale(x, 1.0f);
    ck_assert_ptr_null(g_sgd(g, &x, &gr, 1, 0.1f));
    ck_assert_msg(strstr(g_graph_error(g), "8-bit input [3, 5]"), "%s", g_graph_error(g));
    g_graph_free(g);
    g = g_graph_new();
    x = g_input_u8(g, "pixels", 2, G_SHAPE(3, 5));
    f = g_input(g, "f", 2, G_SHAPE(3, 5));
    g_tensor *y = g_add(x, f);
    g_session *s;
    ck_assert(g_session_new(th_ctx(), g, 1, &s) == 0);
    float v[15] = {0};
    uint8_t b[15];
    for (int i = 0; i < 15; i++) b[i] = (uint8_t)(17 * i);
    /* floats into bytes and bytes into floats are refused, naming the input */
    ck_assert_int_eq(g_session_write(s, x, v), -1);
    ck_assert_msg(strstr(rt_error(), "'pixels' is 8-bit") && strstr(rt_error(), "g_session_write_u8"), "%s",
                  rt_error());
    ck_assert_int_eq(g_session_write_u8(s, f, b), -1);
    ck_assert_msg(strstr(rt_error(), "'f'") && strstr(rt_error(), "not an 8-bit input"), "%s", rt_error());
    g_ref *r = g_ref_new(g, 1);
    ck_assert_int_eq(g_ref_write_f(r, x, v), -1);
    ck_assert_msg(strstr(g_ref_error(r), "pixels"), "%s", g_ref_error(r));
    g_ref_free(r);
    ck_assert(g_session_write_u8(s, x, b) == 0 && g_session_write(s, f, v) == 0);
    g_plan *p;
    ck_assert_msg(g_plan_new(s, &y, 1, NULL, &p) == 0, "%s", rt_error());
    ck_assert(g_plan_run(p, 1) == 0);
    float got[15], back[15];
    ck_assert(g_session_read(s, y, got) == 0 && g_session_read(s, x, back) == 0);
    for (int i = 0; i < 15; i++) {
        ck_assert_msg(fabsf(got[i] - b[i] / 255.0f) <= 6e-8f, "element %d: %.9g for byte %d", i, got[i], b[i]);
        ck_assert_float_eq(back[i], b[i] / 255.0f);
    }
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(a_value_past_one_binding_is_refused_naming_it)
{
    /* a context whose limits are lowered as on a smaller device */
    rt_options o = {.validation = 1, .max_texels = 1000, .max_storage_range = 2000};
    rt_ctx *ctx;
    ck_assert_msg(rt_ctx_create(&o, &ctx) == 0, "%s", rt_error());
    ck_assert_uint_eq(rt_ctx_limits(ctx)->maxTexelBufferElements, 1000);
    g_limits lim;
    g_limits_of(ctx, &lim);
    ck_assert(lim.max_texels == 1000 && lim.max_storage_range == 2000);
    g_graph *g = g_graph_new();
    g_tensor *big = g_input_u8(g, "images", 2, G_SHAPE(40, 26));   /* 1040 texels: one view too many */
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(20, 26));           /* 520 values, 2080 bytes, only read */
    g_tensor *y1 = g_sum(big, 1, 0), *y2 = g_exp(x), *y3 = g_sum(x, 1, 0);
    g_session *s;
    ck_assert(g_session_new(ctx, g, 1, &s) == 0);
    g_plan *p;
    ck_assert_int_eq(g_plan_new(s, &y1, 1, NULL, &p), -1);
    ck_assert_msg(strstr(rt_error(), "8-bit input 'images' [40, 26]") && strstr(rt_error(), "1040 values") &&
                      strstr(rt_error(), "1000") && strstr(rt_error(), "split it"), "%s", rt_error());
    /* exp(x) is written: 2080 bytes, past one storage binding */
    ck_assert_int_eq(g_plan_new(s, &y2, 1, NULL, &p), -1);
    ck_assert_msg(strstr(rt_error(), "exp [20, 26]") && strstr(rt_error(), "2080 bytes") &&
                      strstr(rt_error(), "maxStorageBufferRange"), "%s", rt_error());
    /* an input that is only read may hold more bytes than a storage binding */
    ck_assert_msg(g_plan_new(s, &y3, 1, NULL, &p) == 0, "%s", rt_error());
    g_plan_free(p);
    /* the same refusal without a device, from the limits alone */
    g_schedule *sc;
    ck_assert_int_eq(g_schedule_new(g, &y1, 1, NULL, &lim, &sc), -1);
    ck_assert_msg(strstr(rt_error(), "'images'"), "%s", rt_error());
    g_session_free(s);
    g_graph_free(g);
    ck_assert_int_eq(rt_validation_count(ctx), 0);
    rt_ctx_destroy(ctx);
}
END_TEST

START_TEST(limits_from_the_environment_are_read_or_refused)
{
    /* the variables are unset before any check can stop the test */
    g_limits l, l0;
    ck_assert_int_eq(setenv("MEG_LIMIT_TEXELS", "4096", 1), 0);
    g_limits_default(&l);
    ck_assert_int_eq(setenv("MEG_LIMIT_TEXELS", "4k", 1), 0);
    rt_options o = {.validation = 1};   /* as the suite's context: a context shares volk's functions */
    rt_ctx *ctx = NULL;
    int rc = rt_ctx_create(&o, &ctx);
    unsetenv("MEG_LIMIT_TEXELS");
    g_limits_default(&l0);
    ck_assert_uint_eq(l.max_texels, 4096);
    ck_assert_uint_eq(l.max_storage_range, 1u << 27);
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(rt_error(), "MEG_LIMIT_TEXELS=4k") && strstr(rt_error(), "whole number"), "%s", rt_error());
    ck_assert_uint_eq(l0.max_texels, 1u << 27);
}
END_TEST

START_TEST(unwritten_input_is_an_error_naming_it)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "features", 1, G_SHAPE(5));
    g_tensor *y = g_exp(x);
    g_session *s;
    ck_assert(g_session_new(th_ctx(), g, 1, &s) == 0);
    g_plan *p;
    ck_assert_msg(g_plan_new(s, &y, 1, NULL, &p) == 0, "%s", rt_error());
    ck_assert_int_eq(g_plan_run(p, 1), -1);
    ck_assert_msg(strstr(rt_error(), "features"), "%s", rt_error());
    float v[5] = {0};
    ck_assert_int_eq(g_session_read(s, y, v), -1);
    ck_assert(g_session_write(s, x, v) == 0);
    ck_assert(g_plan_run(p, 1) == 0);
    ck_assert(g_session_read(s, y, v) == 0);
    ck_assert_float_eq(v[0], 1.0f);
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(graph_with_error_cannot_be_planned)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_input(g, "a", 2, G_SHAPE(3, 4));
    g_tensor *b = g_input(g, "b", 2, G_SHAPE(5, 6));
    ck_assert_ptr_null(g_matmul(a, b, 0, 0));
    g_session *s = NULL;
    ck_assert_int_eq(g_session_new(th_ctx(), g, 1, &s), -1);
    ck_assert_msg(strstr(rt_error(), "matmul"), "%s", rt_error());
    g_graph_free(g);
}
END_TEST

/* ---- horizontal fusion (graph/exec/hfuse.c) ------------------------------------ */

/* The values of every non-effect root and every leaf in `leaves`, end to
 * end, after `runs` runs of a plan made with or without horizontal fusion
 * in a fresh session (the same seed and inputs each time). */
static float *plan_values(g_graph *g, g_tensor **roots, int nroots, const inval *ins, int nins, g_tensor **leaves,
                          int nleaves, int no_hfuse, int runs, int *dispatches, size_t *count)
{
    g_session *s;
    ck_assert_msg(g_session_new(th_ctx(), g, SEED, &s) == 0, "%s", rt_error());
    for (int k = 0; k < nins; k++) {
        float *v = gc_input_values(&ins[k], k);
        ck_assert_msg(g_session_write(s, ins[k].t, v) == 0, "%s", rt_error());
        free(v);
    }
    g_plan_opts o = {.no_hfuse = no_hfuse};
    g_plan *p;
    ck_assert_msg(g_plan_new(s, roots, nroots, &o, &p) == 0, "%s", rt_error());
    g_plan_stats st;
    g_plan_stats_get(p, &st);
    *dispatches = st.dispatches;
    ck_assert_msg(g_plan_run(p, runs) == 0, "%s", rt_error());
    size_t n = 0;
    for (int i = 0; i < nroots + nleaves; i++) {
        g_tensor *t = i < nroots ? roots[i] : leaves[i - nroots];
        if (!g_is_effect(t)) n += g_numel(t);
    }
    float *all = malloc(n * sizeof *all), *at = all;
    for (int i = 0; i < nroots + nleaves; i++) {
        g_tensor *t = i < nroots ? roots[i] : leaves[i - nroots];
        if (g_is_effect(t)) continue;
        ck_assert_msg(g_session_read(s, t, at) == 0, "%s", rt_error());
        at += g_numel(t);
    }
    *count = n;
    g_plan_free(p);
    g_session_free(s);
    return all;
}

/* Adam on params of 1, 17, 255 and 1000 values, an unrelated scale, two
 * random draws and the generator's advance: with horizontal fusion the
 * updates and the draws are one dispatch (32 bindings), the scale and both
 * counters' increments (which the first reads) another; three runs
 * give the same bits as the plan without it (the random draws included:
 * Philox counters are per element of each draw) and the reference's
 * values. */
START_TEST(horizontally_fused_updates_and_draws_match_the_unfused_plan_bit_for_bit)
{
    static const int sizes[4] = {1, 17, 255, 1000};
    g_graph *g = g_graph_new();
    g_tensor *ps[4], *gs[4];
    inval in[5];
    for (int k = 0; k < 4; k++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", k);
        ps[k] = g_param(g, name, 1, G_SHAPE(sizes[k]), g_init_normal(1.0f));
        snprintf(name, sizeof name, "g%d", k);
        gs[k] = g_input(g, name, 1, G_SHAPE(sizes[k]));
        in[k] = (inval){gs[k], 0, 0};
    }
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(333));
    in[4] = (inval){x, 0, 0};
    g_tensor *rng = g_rng(g, "rng", 0x5eedull);
    g_adam_opts ao = {1e-2f, 0.5f, 0.9f, 1e-8f};
    g_tensor *step = g_adam(g, "adam", ps, gs, 4, ao);
    g_tensor *roots[] = {step, g_scale(x, 3.0f), g_rand_normal(rng, 1, G_SHAPE(1000)),
                         g_rand_int(rng, 1000, 2, G_SHAPE(3, 85)), g_rng_advance(rng)};
    g_tensor *leaves[] = {ps[0], ps[1], ps[2], ps[3], rng};
    int d0, d1;
    size_t n0, n1;
    float *v0 = plan_values(g, roots, 5, in, 5, leaves, 5, 1, 3, &d0, &n0);
    float *v1 = plan_values(g, roots, 5, in, 5, leaves, 5, 0, 3, &d1, &n1);
    ck_assert_uint_eq(n0, n1);
    for (size_t i = 0; i < n0; i++)
        ck_assert_msg(memcmp(&v0[i], &v1[i], sizeof *v0) == 0, "value %zu: %.9g unmerged, %.9g merged", i, v0[i],
                      v1[i]);
    free(v0);
    free(v1);
    fprintf(stderr, "horizontal fusion: %d dispatches without, %d with\n", d0, d1);
    ck_assert_int_eq(d0, 9);   /* 4 updates, their counter, the scale, 2 draws, the advance */
    ck_assert_int_eq(d1, 2);
    check_graph_ex(g, roots, 5, in, 5, leaves, 5, 3e-6, 0, 3);
    g_graph_free(g);
}
END_TEST

/* Reductions of one invocation per output (sum_to, max, argmax over short
 * rows, 17 to 1000 outputs) with epilogues, and an elementwise unit, all
 * independent: one dispatch, the same bits as apart, the reference's values. */
START_TEST(horizontally_fused_reductions_match_the_unfused_plan_bit_for_bit)
{
    g_graph *g = g_graph_new();
    g_tensor *a = g_input(g, "a", 2, G_SHAPE(3, 17));
    g_tensor *b = g_input(g, "b", 2, G_SHAPE(255, 7));
    g_tensor *c = g_input(g, "c", 2, G_SHAPE(1000, 2));
    g_tensor *d = g_input(g, "d", 1, G_SHAPE(1));
    g_tensor *roots[] = {g_scale(g_sum_to(a, 1, G_SHAPE(17)), 0.5f), g_max(b, 1, 0), g_argmax(b, 1, 0),
                         g_exp(g_sum(c, 1, 0)), g_neg(d)};
    inval in[] = {{a, 0, 0}, {b, 0, 0}, {c, 0, 0}, {d, 0, 0}};
    int d0, d1;
    size_t n0, n1;
    float *v0 = plan_values(g, roots, 5, in, 4, NULL, 0, 1, 1, &d0, &n0);
    float *v1 = plan_values(g, roots, 5, in, 4, NULL, 0, 0, 1, &d1, &n1);
    ck_assert_int_eq(d0, 5);
    ck_assert_int_eq(d1, 1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_int_eq(memcmp(v0, v1, n0 * sizeof *v0), 0);
    free(v0);
    free(v1);
    check_graph_ex(g, roots, 5, in, 4, NULL, 0, 1e-5, 0, 1);
    g_graph_free(g);
}
END_TEST

/* A graph where each unit depends on the one before (through a param's
 * update and through values of other sizes): horizontal fusion finds
 * nothing to merge, and the results are the reference's. */
START_TEST(a_chain_of_dependent_units_is_not_merged)
{
    g_graph *g = g_graph_new();
    g_tensor *p = g_param(g, "p", 1, G_SHAPE(17), g_init_normal(1.0f));
    g_tensor *q = g_param(g, "q", 2, G_SHAPE(3, 17), g_init_normal(1.0f));
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(17));
    g_tensor *up = g_sgd(g, &p, &x, 1, 0.5f);
    g_tensor *gq = g_mul(g_expand(g_reshape(g_sqrt(g_abs(p)), 2, G_SHAPE(1, 17)), 2, G_SHAPE(3, 17)), q);
    g_tensor *uq = g_sgd(g, &q, &gq, 1, 0.5f);
    g_tensor *roots[] = {up, uq};
    g_tensor *leaves[] = {p, q};
    inval in = {x, 0, 0};
    int d0, d1;
    size_t n0, n1;
    float *v0 = plan_values(g, roots, 2, &in, 1, leaves, 2, 1, 2, &d0, &n0);
    float *v1 = plan_values(g, roots, 2, &in, 1, leaves, 2, 0, 2, &d1, &n1);
    ck_assert_int_eq(d0, d1);
    ck_assert_int_ge(d1, 2);
    ck_assert_int_eq(memcmp(v0, v1, n0 * sizeof *v0), 0);
    free(v0);
    free(v1);
    check_graph_ex(g, roots, 2, &in, 1, leaves, 2, 1e-6, 0, 2);
    g_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exec");
    TCase *tc = tcase_create("ops");
    th_validated(tc);
    tcase_add_test(tc, unary_ops_match_reference);
    tcase_add_test(tc, binary_ops_broadcast_like_the_reference);
    tcase_add_test(tc, select_expand_sum_to_reshape_match_reference);
    tcase_add_test(tc, large_reductions_match_reference);
    tcase_add_test(tc, reductions_of_broadcast_constants_sum_them);
    tcase_add_test(tc, layout_ops_match_reference);
    tcase_add_test(tc, matmul_all_layouts_and_fused_epilogue_match_reference);
    tcase_add_test(tc, tiled_matmul_matches_reference_with_fused_epilogues);
    tcase_add_test(tc, outer_products_match_reference_in_every_layout);
    tcase_add_test(tc, random_ops_match_reference_bit_for_bit);
    tcase_add_test(tc, dropout_keeps_the_reference_mask_and_its_gradient_is_the_scaled_mask);
    tcase_add_test(tc, effects_update_params_in_program_order);
    tcase_add_test(tc, adam_with_a_decaying_rate_matches_reference_past_its_end);
    tcase_add_test(tc, reads_of_a_param_stay_before_its_update);
    tcase_add_test(tc, remapped_reads_of_a_param_are_not_merged_with_its_update);
    tcase_add_test(tc, batchnorm_matches_reference);
    suite_add_tcase(s, tc);
    tc = tcase_create("plans");
    th_validated(tc);
    tcase_add_test(tc, fused_and_unfused_training_steps_agree);
    tcase_add_test(tc, arena_is_smaller_than_the_sum_of_intermediates);
    tcase_add_test(tc, fusion_reduces_dispatches);
    tcase_add_test(tc, profile_gives_each_kinds_flops_and_rate);
    tcase_add_test(tc, arithmetic_on_constants_is_folded_at_plan_time);
    tcase_add_test(tc, wide_expressions_split_within_binding_limits);
    tcase_add_test(tc, unwritten_input_is_an_error_naming_it);
    tcase_add_test(tc, graph_with_error_cannot_be_planned);
    tcase_add_test(tc, horizontally_fused_updates_and_draws_match_the_unfused_plan_bit_for_bit);
    tcase_add_test(tc, horizontally_fused_reductions_match_the_unfused_plan_bit_for_bit);
    tcase_add_test(tc, a_chain_of_dependent_units_is_not_merged);
    suite_add_tcase(s, tc);
    tc = tcase_create("u8 and limits");   /* CK_RUN_CASE="u8 and limits" runs these alone */
    th_validated(tc);
    tcase_add_test(tc, u8_inputs_read_as_bytes_over_255_in_fused_ops_and_reductions);
    tcase_add_test(tc, u8_inputs_through_gather_rows_and_a_sum_of_rows_in_one_unit);
    tcase_add_test(tc, u8_inputs_through_matmuls_in_every_layout);
    tcase_add_test(tc, u8_inputs_through_convolutions_and_shuffle);
    tcase_add_test(tc, u8_inputs_are_written_as_bytes_and_never_by_the_graph);
    tcase_add_test(tc, a_value_past_one_binding_is_refused_naming_it);
    tcase_add_test(tc, limits_from_the_environment_are_read_or_refused);
    suite_add_tcase(s, tc);
    return th_run(s);
}
