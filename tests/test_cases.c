/* test_cases.c: every TC_DEVICE row of the case table (tests/cases) on the
 * device against the CPU reference, fused and unfused, alone and with an
 * elementwise consumer fused after it. Validation on. Suite "cases". */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "exec.h"
#include "graph.h"

static const uint64_t SEED = 77;

/* The row's output y and tanh(y) * 0.5 (an epilogue the planner fuses into
 * y's kernel where it can) on the device and in the reference. */
static void check_row(const tc_case *c, int no_fusion)
{
    g_graph *g = g_graph_new();
    g_tensor *x[4];
    g_tensor *y = tc_build(c, g, x);
    ck_assert_msg(y && !g_graph_error(g), "%s: %s", c->name, g_graph_error(g));
    g_tensor *roots[2] = {y, g_scale(g_tanh(y), 0.5f)};
    g_session *s;
    ck_assert_msg(g_session_new(th_ctx(), g, SEED, &s) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(g, SEED);
    for (int k = 0; k < c->nin; k++) {
        size_t n = g_numel(x[k]);
        if (c->in[k].fill == TC_U8) {
            uint8_t *b = malloc(n);
            tc_fill_u8(b, n, 500 + (uint64_t)k);
            ck_assert_msg(g_session_write_u8(s, x[k], b) == 0, "%s", rt_error());
            ck_assert_int_eq(g_ref_write_u8(r, x[k], b), 0);
            free(b);
            continue;
        }
        double *v = malloc(n * sizeof *v);
        float *f = malloc(n * sizeof *f);
        tc_fill(&c->in[k], v, n, 500 + (uint64_t)k);
        for (size_t j = 0; j < n; j++) f[j] = (float)v[j];
        ck_assert_msg(g_session_write(s, x[k], f) == 0, "%s", rt_error());
        ck_assert_int_eq(g_ref_write_f(r, x[k], f), 0);
        free(v);
        free(f);
    }
    g_plan_opts o = {.no_fusion = no_fusion};
    g_plan *p;
    ck_assert_msg(g_plan_new(s, roots, 2, &o, &p) == 0, "%s: %s", c->name, rt_error());
    ck_assert_msg(g_plan_run(p, 1) == 0, "%s: %s", c->name, rt_error());
    ck_assert_msg(g_ref_run(r, roots, 2) == 0, "%s", g_ref_error(r));
    double tol = c->tol > 0 ? c->tol : 2e-6;
    for (int i = 0; i < 2; i++) {
        size_t n = g_numel(roots[i]);
        float *dv = malloc(n * sizeof *dv);
        ck_assert_msg(g_session_read(s, roots[i], dv) == 0, "%s", rt_error());
        const double *rv = g_ref_value(r, roots[i]);
        for (size_t j = 0; j < n; j++) {
            double err = fabs(dv[j] - rv[j]);
            ck_assert_msg(err <= tol * (1.0 + fabs(rv[j])),
                          "%s%s (fusion %s): element %zu of %zu is %.9g on the device, %.9g in the reference",
                          c->name, i ? " then tanh" : "", no_fusion ? "off" : "on", j, n, dv[j], rv[j]);
        }
        free(dv);
    }
    g_plan_free(p);
    g_ref_free(r);
    g_session_free(s);
    g_graph_free(g);
}

START_TEST(every_device_case_matches_the_reference_fused) { check_row(tc_nth(TC_DEVICE, _i), 0); }
END_TEST

START_TEST(every_device_case_matches_the_reference_unfused) { check_row(tc_nth(TC_DEVICE, _i), 1); }
END_TEST

/* Every op of ops.def that computes a value runs on the device in some row. */
START_TEST(the_case_table_runs_every_value_op_on_the_device)
{
    int seen[G_OP_COUNT] = {0};
    for (int k = 0; k < tc_count(TC_DEVICE); k++) {
        g_graph *g = g_graph_new();
        g_tensor *x[4];
        if (tc_build(tc_nth(TC_DEVICE, k), g, x))
            for (int id = 0; id < g_graph_size(g); id++) seen[g_graph_node(g, id)->op] = 1;
        g_graph_free(g);
    }
    for (int op = 0; op < G_OP_COUNT; op++) {
        g_op_kind kind = g_op_info_of((g_op)op)->kind;
        if (kind == G_KIND_LEAF || kind == G_KIND_EFFECT || kind == G_KIND_RANDOM) continue;
        ck_assert_msg(seen[op], "op %s is in no TC_DEVICE row of tests/cases", g_op_name((g_op)op));
    }
}
END_TEST

int main(void)
{
    Suite *su = suite_create("cases");
    TCase *tc = tcase_create("device");
    th_validated(tc);
    tcase_add_loop_test(tc, every_device_case_matches_the_reference_fused, 0, tc_count(TC_DEVICE));
    tcase_add_loop_test(tc, every_device_case_matches_the_reference_unfused, 0, tc_count(TC_DEVICE));
    tcase_add_test(tc, the_case_table_runs_every_value_op_on_the_device);
    suite_add_tcase(su, tc);
    return th_run(su);
}
