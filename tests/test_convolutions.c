/* test_convolutions.c: conv2d, conv_transpose2d and conv2d_wgrad on the
 * device against the CPU reference, with the default register blocks and
 * with every candidate the autotune may choose (graph/exec/conv_blocks.c).
 * Validation on. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphcheck.h"

/* Shapes cut across the kernels' register blocks (16 channels x 8 pixels by
 * default, the S x S pixel classes of conv_transpose2d): 9 to 20 channels,
 * odd, wide and non-square images and kernels, strides 1 to 3. */
static void convolution_cases(void)
{
    struct { int n, c, h, wd, o, k, kw, s, p, op; } cs[] = {
        {2, 3, 9, 9, 4, 5, 5, 2, 2, 1}, {1, 1, 7, 7, 2, 3, 3, 1, 1, 0}, {3, 2, 8, 8, 5, 4, 4, 2, 1, 0},
        {2, 9, 13, 10, 11, 5, 3, 2, 2, 1}, {1, 5, 11, 6, 17, 3, 2, 1, 0, 0}, {2, 4, 10, 9, 9, 5, 5, 3, 1, 2},
        {1, 3, 5, 21, 18, 3, 3, 1, 1, 0}, {2, 4, 6, 19, 20, 5, 5, 2, 2, 1},
    };
    for (int i = 0; i < (int)(sizeof cs / sizeof cs[0]); i++) {
        g_graph *g = g_graph_new();
        g_tensor *x = g_input(g, "x", 4, G_SHAPE(cs[i].n, cs[i].c, cs[i].h, cs[i].wd));
        g_tensor *w = g_input(g, "w", 4, G_SHAPE(cs[i].o, cs[i].c, cs[i].k, cs[i].kw));
        g_tensor *wt = g_input(g, "wt", 4, G_SHAPE(cs[i].c, cs[i].o, cs[i].k, cs[i].kw));
        g_tensor *y = g_conv2d(x, w, cs[i].s, cs[i].p);
        g_tensor *yt = g_conv_transpose2d(x, wt, cs[i].s, cs[i].p, cs[i].op);
        g_tensor *gy = g_input(g, "gy", y->ndim, y->shape);
        g_tensor *ys[] = {y, yt, g_conv2d_wgrad(x, gy, cs[i].k, cs[i].kw, cs[i].s, cs[i].p),
                          g_leaky_relu(g_conv2d(x, w, cs[i].s, cs[i].p), 0.2f)};
        ck_assert_msg(!g_graph_error(g), "case %d: %s", i, g_graph_error(g));
        inval in[] = {{x, 0, 0}, {w, 0, 0}, {wt, 0, 0}, {gy, 0, 0}};
        check_graph(g, ys, 4, in, 4, 2e-5);
        g_graph_free(g);
    }
}

START_TEST(convolutions_match_reference)
{
    convolution_cases();
}
END_TEST

/* Every register-block candidate the autotune may pick on another device
 * (graph/exec/conv_blocks.c), forced on every convolution. */
START_TEST(every_convolution_candidate_matches_reference)
{
    for (int k = 1; k < 10; k++) {
        char v[8];
        snprintf(v, sizeof v, "%d", k);
        ck_assert_int_eq(setenv("MEG_CONV_CANDIDATE", v, 1), 0);
        convolution_cases();
    }
    ck_assert_int_eq(setenv("MEG_CONV_CANDIDATE", "16", 1), 0);
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(1, 2, 5, 5)), *w = g_input(g, "w", 4, G_SHAPE(3, 2, 3, 3));
    g_tensor *y = g_conv2d(x, w, 1, 1);
    g_session *s;
    g_plan *p = NULL;
    ck_assert_msg(g_session_new(th_ctx(), g, GC_SEED, &s) == 0, "%s", rt_error());
    ck_assert_int_ne(g_plan_new(s, &y, 1, NULL, &p), 0);
    ck_assert_msg(strstr(rt_error(), "MEG_CONV_CANDIDATE=16") != NULL, "%s", rt_error());
    g_session_free(s);
    g_graph_free(g);
    unsetenv("MEG_CONV_CANDIDATE");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("convolutions");
    TCase *tc = tcase_create("convolutions");
    th_validated(tc);
    tcase_add_test(tc, convolutions_match_reference);
    tcase_add_test(tc, every_convolution_candidate_matches_reference);
    suite_add_tcase(s, tc);
    return th_run(s);
}
