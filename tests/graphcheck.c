/* graphcheck.c: a graph on the device against the CPU reference (the
 * planner's and executor's suites share it): inputs written to both, the
 * plan run fused or not, every root compared. */
#include "graphcheck.h"

#include <math.h>
#include <stdlib.h>

#include "cases.h"   /* tc_next */
#include "harness.h"

/* Bytes of an 8-bit input: every value 0 .. 255 turns up, both ends included. */
uint8_t *gc_input_bytes(const g_tensor *t, int k)
{
    size_t n = g_numel(t);
    uint8_t *b = malloc(n);
    uint64_t st = 977 + (uint64_t)k;
    for (size_t i = 0; i < n; i++) b[i] = i < 2 ? (uint8_t)(i ? 255 : 0) : (uint8_t)(tc_next(&st) >> 56);
    return b;
}

float *gc_input_values(const inval *in, int k)
{
    size_t n = g_numel(in->t);
    float *v = malloc(n * sizeof *v);
    th_random(v, n, 100 + (uint64_t)k);
    for (size_t i = 0; i < n; i++) {
        if (in->positive) v[i] = fabsf(v[i]) * 2.0f + 0.1f;
        if (in->scale) v[i] *= in->scale;
    }
    return v;
}

/* Runs roots on the device (fused or not, `runs` times) and in the
 * reference, and compares every non-effect root, and every leaf in `leaves`. */
void check_graph_ex(g_graph *g, g_tensor **roots, int nroots, const inval *ins, int nins, g_tensor **leaves,
                           int nleaves, double tol, int no_fusion, int runs)
{
    ck_assert_msg(g_graph_error(g) == NULL, "graph error: %s", g_graph_error(g));
    g_session *s;
    ck_assert_msg(g_session_new(th_ctx(), g, GC_SEED, &s) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(g, GC_SEED);
    ck_assert_ptr_nonnull(r);
    for (int k = 0; k < nins; k++) {
        if (g_is_u8(ins[k].t)) {
            uint8_t *b = gc_input_bytes(ins[k].t, k);
            ck_assert_msg(g_session_write_u8(s, ins[k].t, b) == 0, "%s", rt_error());
            ck_assert_msg(g_ref_write_u8(r, ins[k].t, b) == 0, "%s", g_ref_error(r));
            free(b);
            continue;
        }
        float *v = gc_input_values(&ins[k], k);
        ck_assert_msg(g_session_write(s, ins[k].t, v) == 0, "%s", rt_error());
        ck_assert_msg(g_ref_write_f(r, ins[k].t, v) == 0, "%s", g_ref_error(r));
        free(v);
    }
    g_plan_opts o = {.no_fusion = no_fusion};
    g_plan *p;
    ck_assert_msg(g_plan_new(s, roots, nroots, &o, &p) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_run(p, runs) == 0, "%s", rt_error());
    for (int i = 0; i < runs; i++) ck_assert_msg(g_ref_run(r, roots, nroots) == 0, "%s", g_ref_error(r));
    for (int i = 0; i < nroots + nleaves; i++) {
        g_tensor *t = i < nroots ? roots[i] : leaves[i - nroots];
        if (g_is_effect(t)) continue;
        size_t n = g_numel(t);
        float *dv = malloc(n * sizeof *dv);
        ck_assert_msg(g_session_read(s, t, dv) == 0, "%s", rt_error());
        const double *rv = g_ref_value(r, t);
        ck_assert_ptr_nonnull(rv);
        for (size_t j = 0; j < n; j++) {
            double err = fabs(dv[j] - rv[j]);
            ck_assert_msg(err <= tol * (1.0 + fabs(rv[j])),
                          "%s (node %d, fusion %s): element %zu is %.9g on the device, %.9g in the reference",
                          g_op_name(t->op), t->id, no_fusion ? "off" : "on", j, dv[j], rv[j]);
        }
        free(dv);
    }
    g_plan_free(p);
    g_ref_free(r);
    g_session_free(s);
}

void check_graph(g_graph *g, g_tensor **roots, int nroots, const inval *ins, int nins, double tol)
{
    check_graph_ex(g, roots, nroots, ins, nins, NULL, 0, tol, 0, 1);
    check_graph_ex(g, roots, nroots, ins, nins, NULL, 0, tol, 1, 1);
}
