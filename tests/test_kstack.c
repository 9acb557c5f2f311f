/* test_kstack.c: K stacking (graph/exec/kstack.c), a sum of weight-gradient
 * products A_s^T B_s run as one matmul over their K laid end to end: the
 * values against the CPU reference and the unstacked plan, the bias
 * reductions that fold with them (a row of ones over the last segments
 * only), and the cases it must leave alone. Validation on. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "graphcheck.h"
#include "exec.h"
#include "graph.h"

/* Dispatches of roots planned with and without K stacking; *label gets
 * the label of the first unit holding `want` (NULL: none) when asked. */
static void dispatches(g_graph *g, g_tensor **roots, int n, int *with, int *without, const char *want, int *found)
{
    g_schedule *s;
    g_plan_opts o = {0};
    ck_assert_msg(g_schedule_new(g, roots, n, &o, NULL, &s) == 0, "%s", rt_error());
    *with = g_schedule_units(s);
    if (found) {
        *found = 0;
        for (int u = 0; u < *with; u++)
            if (strstr(g_schedule_label(s, u), want)) *found = 1;
    }
    g_schedule_free(s);
    o.no_kstack = 1;
    ck_assert_msg(g_schedule_new(g, roots, n, &o, NULL, &s) == 0, "%s", rt_error());
    *without = g_schedule_units(s);
    g_schedule_free(s);
}

/* dW = sum_s A_s^T B_s over intermediates A_s = tanh(a_s) [K_s, M] and
 * B_s = b_s * 0.5 [K_s, N], and with `bias` the bias gradient sum_to(B_s)
 * of the last `bias` products (an autodiff-like sum of sum_to's). Checked
 * against the reference; *with and *without the dispatch counts. */
static void weight_gradient_case(int M, int N, const int *K, int ns, int bias, int *with, int *without, int *stacked)
{
    /* fp32 sums of K terms, one after another, against the double reference */
    int ktot = 0;
    for (int s = 0; s < ns; s++) ktot += K[s];
    double tol = ktot > 256 ? 1e-5 : 2e-6;
    g_graph *g = g_graph_new();
    g_tensor *a[8], *b[8], *A[8], *B[8];
    inval in[16];
    for (int s = 0; s < ns; s++) {
        char na[8], nb[8];
        snprintf(na, sizeof na, "a%d", s);
        snprintf(nb, sizeof nb, "b%d", s);
        a[s] = g_input(g, na, 2, G_SHAPE(K[s], M));
        b[s] = g_input(g, nb, 2, G_SHAPE(K[s], N));
        A[s] = g_tanh(a[s]);
        B[s] = g_scale(b[s], 0.5f);
        in[2 * s] = (inval){a[s], 0, 0};
        in[2 * s + 1] = (inval){b[s], 0, 0};
    }
    g_tensor *w = NULL, *db = NULL;
    for (int s = 0; s < ns; s++) {
        g_tensor *p = g_matmul(A[s], B[s], 1, 0);
        w = w ? g_add(w, p) : p;
        if (s >= ns - bias) {
            g_tensor *r = g_sum_to(B[s], 1, G_SHAPE(N));
            db = db ? g_add(db, r) : r;
        }
    }
    g_tensor *roots[2] = {g_scale(w, -0.25f), db};
    int nroots = db ? 2 : 1;
    dispatches(g, roots, nroots, with, without, "matmul+matmul", stacked);
    check_graph(g, roots, nroots, in, 2 * ns, tol);
    /* the unstacked plan too (check_graph's unfused one has no stacking either way) */
    ck_assert_int_eq(setenv("MEG_KSTACK", "0", 1), 0);
    check_graph_ex(g, roots, nroots, in, 2 * ns, NULL, 0, tol, 0, 1);
    unsetenv("MEG_KSTACK");
    g_graph_free(g);
}

START_TEST(stacked_products_match_reference_at_odd_shapes)
{
    /* K of each product not a multiple of 4, M and N not of the blocks */
    struct { int m, n, k[4], ns, bias; } cs[] = {
        {20, 12, {13, 21, 7}, 3, 0},
        {20, 12, {13, 21, 7}, 3, 2},    /* the biases of the last two: the row of ones from k = 13 */
        {20, 12, {13, 21, 7}, 3, 3},    /* every product's bias */
        {129, 68, {256, 256, 256}, 3, 2},   /* MEG's three terms at an odd width */
        {36, 1, {64, 64}, 2, 2},        /* a layer of width 1 (E's last) */
        {4, 40, {5, 9, 17, 3}, 4, 1},
    };
    for (int i = 0; i < (int)(sizeof cs / sizeof cs[0]); i++) {
        int with, without, stacked;
        weight_gradient_case(cs[i].m, cs[i].n, cs[i].k, cs[i].ns, cs[i].bias, &with, &without, &stacked);
        ck_assert_msg(stacked, "case %d: no unit sums the products", i);
        ck_assert_msg(with <= without - (cs[i].ns - 1), "case %d: %d dispatches stacked, %d without", i, with,
                      without);
    }
}
END_TEST

START_TEST(stacked_products_match_reference_on_the_tiled_kernel)
{
    /* the shared-memory kernel for GPUs sums the row of ones from a k too */
    ck_assert_int_eq(setenv("MEG_MATMUL_VARIANT", "20", 1), 0);
    int k[] = {13, 70, 7}, with, without, stacked;
    weight_gradient_case(20, 12, k, 3, 2, &with, &without, &stacked);
    ck_assert(stacked && with < without);
    weight_gradient_case(68, 76, k, 3, 3, &with, &without, &stacked);   /* past one 64 x 64 tile */
    ck_assert(stacked && with < without);
    unsetenv("MEG_MATMUL_VARIANT");
}
END_TEST

START_TEST(unaligned_stacks_stay_separate_and_correct)
{
    /* rows of 3 and 5 floats over K 7: a segment's bytes are not a multiple
     * of the 16-byte binding alignment, so no stack can keep every value's
     * own aligned offset */
    int k[] = {7, 6}, with, without, stacked;
    weight_gradient_case(3, 5, k, 2, 1, &with, &without, &stacked);
    ck_assert_msg(!stacked && with == without, "%d dispatches stacked, %d without", with, without);
}
END_TEST

START_TEST(a_product_read_elsewhere_is_not_folded)
{
    /* p1 is also a root: folding it would leave its own value unwritten */
    g_graph *g = g_graph_new();
    g_tensor *a0 = g_input(g, "a0", 2, G_SHAPE(8, 12)), *b0 = g_input(g, "b0", 2, G_SHAPE(8, 4));
    g_tensor *a1 = g_input(g, "a1", 2, G_SHAPE(8, 12)), *b1 = g_input(g, "b1", 2, G_SHAPE(8, 4));
    g_tensor *p0 = g_matmul(g_tanh(a0), g_tanh(b0), 1, 0), *p1 = g_matmul(g_tanh(a1), g_tanh(b1), 1, 0);
    g_tensor *roots[] = {g_scale(g_add(p0, p1), 2.0f), p1};
    inval in[] = {{a0, 0, 0}, {b0, 0, 0}, {a1, 0, 0}, {b1, 0, 0}};
    int with, without, stacked;
    dispatches(g, roots, 2, &with, &without, "matmul+matmul", &stacked);
    ck_assert_msg(!stacked && with == without, "%d dispatches stacked, %d without", with, without);
    check_graph(g, roots, 2, in, 4, 2e-6);
    /* nor a partial sum read elsewhere: the running sum holds more than it */
    g_tensor *s01 = g_add(p0, p1), *p2 = g_matmul(g_tanh(a0), g_tanh(b1), 1, 0);
    g_tensor *roots2[] = {g_add(s01, p2), g_scale(s01, 3.0f)};
    dispatches(g, roots2, 2, &with, &without, "matmul+matmul+matmul", &stacked);
    ck_assert_msg(!stacked, "a partial sum read twice was folded past");
    check_graph(g, roots2, 2, in, 4, 2e-6);
    g_graph_free(g);
}
END_TEST

START_TEST(products_of_leaves_are_not_folded)
{
    /* a param could be written by an update between the products: only
     * intermediates are stacked */
    g_graph *g = g_graph_new();
    g_tensor *a0 = g_input(g, "a0", 2, G_SHAPE(8, 12)), *b0 = g_input(g, "b0", 2, G_SHAPE(8, 4));
    g_tensor *a1 = g_input(g, "a1", 2, G_SHAPE(8, 12)), *b1 = g_input(g, "b1", 2, G_SHAPE(8, 4));
    g_tensor *w = g_add(g_matmul(a0, b0, 1, 0), g_matmul(a1, b1, 1, 0));
    inval in[] = {{a0, 0, 0}, {b0, 0, 0}, {a1, 0, 0}, {b1, 0, 0}};
    int with, without, stacked;
    dispatches(g, &w, 1, &with, &without, "matmul+matmul", &stacked);
    ck_assert_msg(!stacked && with == without, "%d dispatches stacked, %d without", with, without);
    check_graph(g, &w, 1, in, 4, 2e-6);
    g_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kstack");
    TCase *tc = tcase_create("kstack");
    th_validated(tc);
    tcase_add_test(tc, stacked_products_match_reference_at_odd_shapes);
    tcase_add_test(tc, stacked_products_match_reference_on_the_tiled_kernel);
    tcase_add_test(tc, unaligned_stacks_stay_separate_and_correct);
    tcase_add_test(tc, a_product_read_elsewhere_is_not_folded);
    tcase_add_test(tc, products_of_leaves_are_not_folded);
    suite_add_tcase(s, tc);
    return th_run(s);
}
