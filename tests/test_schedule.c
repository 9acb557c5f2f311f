/* test_schedule.c: planning and GLSL emission with no device: the units a
 * graph runs as, the source of each, and that the source compiles. Suite
 * "schedule"; it never creates a Vulkan context. */
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "graph.h"
#include "exec_internal.h"   /* x_compile: the SPIR-V compiler needs no device either */
#include "util.h"

static void assert_has(const char *text, const char *part)
{
    ck_assert_msg(text && strstr(text, part), "expected \"%s\" in:\n%s", part, text ? text : "(null)");
}

static int count_of(const char *text, const char *part)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, part)); p += strlen(part)) n++;
    return n;
}

static void assert_compiles(const char *glsl, int template)
{
    uint32_t *words;
    size_t nwords;
    char key[64];
    ck_assert_msg(x_compile(glsl, template, &words, &nwords, key, sizeof key) == 0, "%s", rt_error());
    ck_assert_uint_gt(nwords, 5);
    ck_assert_uint_eq(words[0], 0x07230203u);   /* the SPIR-V magic */
}

START_TEST(an_elementwise_chain_is_one_unit_whose_glsl_reads_both_inputs_once)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(3, 5));
    g_tensor *b = g_param(g, "b", 1, G_SHAPE(5), g_init_zeros());
    g_tensor *y = g_scale(g_relu(g_add(x, b)), 2.0f);
    g_schedule *s;
    ck_assert_msg(g_schedule_new(g, &y, 1, NULL, NULL, &s) == 0, "%s", rt_error());
    ck_assert_int_eq(g_schedule_units(s), 1);
    ck_assert_str_eq(g_schedule_label(s, 0), "add+relu+scale");
    char *glsl;
    int nb;
    ck_assert_int_eq(g_schedule_glsl(s, 0, &glsl, &nb), 0);
    ck_assert_int_eq(nb, 3);                               /* out0, in0 (x), in1 (b) */
    assert_has(glsl, "layout(local_size_x = 64) in;");
    assert_has(glsl, "if (i >= 15u) return;");             /* 3 x 5 invocations do work */
    assert_has(glsl, "LOAD1(in0, i)");                     /* x at the unit's own index */
    assert_has(glsl, "LOAD1(in1, (((i / 1u) % 5u) * 1u))");/* b broadcast along rows */
    assert_has(glsl, "max(a0, 0.0)");
    assert_has(glsl, "uintBitsToFloat(0x40000000u)");      /* 2.0 as its exact bits */
    ck_assert_int_eq(count_of(glsl, "out0[i] ="), 1);      /* only the root is stored */
    ck_assert_int_eq(count_of(glsl, "writeonly buffer"), 1);
    assert_compiles(glsl, X_TEMPLATE_NONE);
    free(glsl);
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(without_fusion_every_op_is_its_own_unit)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(7));
    g_tensor *y = g_exp(g_neg(g_square(x)));
    g_plan_opts o = {.no_fusion = 1};
    g_schedule *s;
    ck_assert_int_eq(g_schedule_new(g, &y, 1, &o, NULL, &s), 0);
    ck_assert_int_eq(g_schedule_units(s), 3);
    ck_assert_str_eq(g_schedule_label(s, 0), "square");
    ck_assert_str_eq(g_schedule_label(s, 2), "exp");
    g_plan_stats st;
    g_schedule_stats(s, &st);
    ck_assert_int_eq(st.dispatches, 3);
    ck_assert_int_eq(st.fused_groups, 0);
    ck_assert_uint_gt(st.arena_bytes, 0);   /* the two intermediates live in the arena */
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(a_matmul_unit_emits_an_epilogue_for_the_matmul_template)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(33, 19));
    g_tensor *w = g_param(g, "w", 2, G_SHAPE(19, 45), g_init_zeros());
    g_tensor *b = g_param(g, "b", 1, G_SHAPE(45), g_init_zeros());
    g_tensor *y = g_leaky_relu(g_add(g_matmul(x, w, 0, 0), b), 0.2f);
    g_schedule *s;
    ck_assert_int_eq(g_schedule_new(g, &y, 1, NULL, NULL, &s), 0);
    ck_assert_int_eq(g_schedule_units(s), 1);
    ck_assert_str_eq(g_schedule_label(s, 0), "matmul+add+leaky_relu");
    g_plan_stats st;
    g_schedule_stats(s, &st);
    ck_assert_double_eq(st.flops, 2.0 * 33 * 19 * 45);
    char *glsl;
    int nb;
    ck_assert_int_eq(g_schedule_glsl(s, 0, &glsl, &nb), 0);
    assert_has(glsl, "void meg_store(uint m, uint n, float acc)");
    ck_assert_ptr_null(strstr(glsl, "void main"));
    assert_has(glsl, "C[i] = v");                          /* the root is the template's C */
    ck_assert_int_eq(nb, 4);                               /* A, B, C, the bias */
    assert_compiles(glsl, X_TEMPLATE_MATMUL);
    assert_compiles(glsl, X_TEMPLATE_TILED);
    free(glsl);
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(a_weight_gradient_carries_its_bias_gradient_as_the_row_of_ones)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(64, 9));
    g_tensor *gy = g_input(g, "gy", 2, G_SHAPE(64, 17));
    g_tensor *roots[] = {g_matmul(x, gy, 1, 0), g_sum_to(gy, 1, G_SHAPE(17))};
    g_schedule *s;
    ck_assert_int_eq(g_schedule_new(g, roots, 2, NULL, NULL, &s), 0);
    ck_assert_int_eq(g_schedule_units(s), 1);
    ck_assert_str_eq(g_schedule_label(s, 0), "matmul|sum_to");
    char *glsl;
    ck_assert_int_eq(g_schedule_glsl(s, 0, &glsl, NULL), 0);
    assert_has(glsl, "if (m == M) {");
    assert_compiles(glsl, X_TEMPLATE_MATMUL);
    free(glsl);
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

/* The bug of issue 11: the workgroup-per-output form of a long reduction
 * emitted no sum for a constant input. A constant's sum is one product. */
START_TEST(a_long_reduction_of_a_constant_is_a_product_not_a_workgroup_sum)
{
    g_graph *g = g_graph_new();
    g_tensor *c = g_sum(g_const(g, 2.0f, 2, G_SHAPE(8, 1024)), 1, 0);
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(8, 1024));
    g_tensor *r = g_sum(x, 1, 0);
    g_tensor *roots[] = {c, r};
    g_schedule *s;
    ck_assert_int_eq(g_schedule_new(g, roots, 2, NULL, NULL, &s), 0);
    ck_assert_int_eq(g_schedule_units(s), 2);
    for (int u = 0; u < 2; u++) {
        char *glsl;
        ck_assert_int_eq(g_schedule_glsl(s, u, &glsl, NULL), 0);
        if (strstr(glsl, "LOAD1")) {
            assert_has(glsl, "shared float part[64];");   /* x: 8 outputs of 1024 each */
        } else {
            ck_assert_ptr_null(strstr(glsl, "shared"));
            assert_has(glsl, "acc = uintBitsToFloat(0x40000000u) * 1024.0;");
        }
        assert_compiles(glsl, X_TEMPLATE_NONE);
        free(glsl);
    }
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(convolutions_run_embedded_kernels_and_have_no_glsl)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(2, 3, 9, 9));
    g_tensor *w = g_param(g, "w", 4, G_SHAPE(4, 3, 5, 5), g_init_zeros());
    g_tensor *y = g_relu(g_conv2d(x, w, 2, 2));
    g_schedule *s;
    ck_assert_int_eq(g_schedule_new(g, &y, 1, NULL, NULL, &s), 0);
    ck_assert_int_eq(g_schedule_units(s), 2);
    ck_assert_str_eq(g_schedule_label(s, 0), "conv2d");
    char *glsl = (char *)1;
    int nb = -1;
    ck_assert_int_eq(g_schedule_glsl(s, 0, &glsl, &nb), 0);
    ck_assert_ptr_null(glsl);
    ck_assert_int_eq(nb, 0);
    ck_assert_int_eq(g_schedule_glsl(s, 1, &glsl, &nb), 0);   /* the relu reads the conv's output */
    assert_has(glsl, "max(a0, 0.0)");
    free(glsl);
    ck_assert_int_eq(g_schedule_glsl(s, 2, &glsl, &nb), -1);  /* no such unit */
    assert_has(rt_error(), "no unit 2");
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(bad_roots_and_broken_graphs_are_refused)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(4));
    g_schedule *s = (g_schedule *)1;
    ck_assert_int_eq(g_schedule_new(g, NULL, 0, NULL, NULL, &s), -1);
    ck_assert_ptr_null(s);
    g_tensor *none = NULL;
    ck_assert_int_eq(g_schedule_new(g, &none, 1, NULL, NULL, &s), -1);
    assert_has(rt_error(), "NULL");
    g_add(x, g_input(g, "y", 1, G_SHAPE(3)));   /* does not broadcast: the graph keeps the error */
    ck_assert_int_eq(g_schedule_new(g, &x, 1, NULL, NULL, &s), -1);
    assert_has(rt_error(), "graph has an error");
    g_graph_free(g);
}
END_TEST

START_TEST(values_past_one_binding_are_refused_and_u8_glsl_is_unchanged)
{
    g_limits l;
    g_limits_default(&l);
    ck_assert(l.max_texels == 1u << 27 && l.max_storage_range == 1u << 27);   /* lavapipe's */
    l.max_texels = 1000;
    l.max_storage_range = 3000;
    g_graph *g = g_graph_new();
    g_tensor *x8 = g_input_u8(g, "x8", 2, G_SHAPE(10, 100)), *xf = g_input(g, "xf", 2, G_SHAPE(10, 100));
    g_tensor *a = g_input(g, "a", 2, G_SHAPE(10, 100));
    g_tensor *p = g_param(g, "p", 2, G_SHAPE(10, 100), g_init_zeros());
    g_tensor *ok[] = {g_sum(x8, 1, 0), g_sum(xf, 1, 0), g_max(a, 0, 0)};   /* inputs of 1000 values, only read */
    g_schedule *s;
    g_plan_opts apart = {.no_hfuse = 1};   /* one reduction a unit, to compare their sources */
    ck_assert_msg(g_schedule_new(g, ok, 3, &apart, &l, &s) == 0, "%s", rt_error());
    /* an 8-bit input is read by the same code as an fp32 one: the view's format differs, not the GLSL */
    char *c8, *cf;
    ck_assert(g_schedule_glsl(s, 0, &c8, NULL) == 0 && g_schedule_glsl(s, 1, &cf, NULL) == 0);
    assert_has(c8, "uniform samplerBuffer in0");
    assert_has(c8, "LOAD1(in0, ");
    free(c8);
    free(cf);
    g_schedule_free(s);
    g_tensor *y = g_exp(xf);   /* written: 4000 bytes, past one storage binding */
    ck_assert_int_eq(g_schedule_new(g, &y, 1, NULL, &l, &s), -1);
    assert_has(rt_error(), "exp [10, 100]): 4000 bytes");
    assert_has(rt_error(), "maxStorageBufferRange");
    g_tensor *gr = g_scale(p, 0.5f), *up = g_sgd(g, &p, &gr, 1, 0.1f);   /* a param an update writes */
    ck_assert_int_eq(g_schedule_new(g, &up, 1, NULL, &l, &s), -1);
    assert_has(rt_error(), "param 'p' [10, 100]: 4000 bytes");
    g_tensor *big = g_input_u8(g, "big", 2, G_SHAPE(11, 100)), *z = g_sum(big, 1, 0);
    ck_assert_int_eq(g_schedule_new(g, &z, 1, NULL, &l, &s), -1);
    assert_has(rt_error(), "8-bit input 'big' [11, 100]: 1100 values");
    assert_has(rt_error(), "split it into inputs of fewer rows");
    l.max_texels = l.max_storage_range = 0;   /* no limits */
    ck_assert_msg(g_schedule_new(g, &z, 1, NULL, &l, &s) == 0, "%s", rt_error());
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

/* ---- horizontal fusion (graph/exec/hfuse.c) -------------------------------- */

/* Adam on 4 params of 1, 17, 255 and 1000 values (none a multiple of the
 * workgroup) and an unrelated scale: 6 units without horizontal fusion (4
 * updates, the step counter, the scale); with it the updates and the
 * scale are one dispatch of 5 parts laid out at multiples of 64, and the
 * counter stays apart (the updates read it). */
static g_tensor *four_adams(g_graph *g, g_tensor **y)
{
    static const int sizes[4] = {1, 17, 255, 1000};
    g_tensor *ps[4], *gs[4];
    for (int k = 0; k < 4; k++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", k);
        ps[k] = g_param(g, name, 1, G_SHAPE(sizes[k]), g_init_normal(1.0f));
        snprintf(name, sizeof name, "g%d", k);
        gs[k] = g_input(g, name, 1, G_SHAPE(sizes[k]));
    }
    *y = g_scale(g_input(g, "x", 1, G_SHAPE(333)), 3.0f);
    g_adam_opts ao = {1e-2f, 0.5f, 0.9f, 1e-8f};
    return g_adam(g, "adam", ps, gs, 4, ao);
}

START_TEST(independent_adam_and_elementwise_units_are_one_dispatch)
{
    g_graph *g = g_graph_new();
    g_tensor *y, *step = four_adams(g, &y);
    g_tensor *roots[] = {step, y};
    g_plan_opts off = {.no_hfuse = 1};
    g_schedule *s0, *s1;
    ck_assert_msg(g_schedule_new(g, roots, 2, &off, NULL, &s0) == 0, "%s", rt_error());
    ck_assert_msg(g_schedule_new(g, roots, 2, NULL, NULL, &s1) == 0, "%s", rt_error());
    ck_assert_int_eq(g_schedule_units(s0), 6);
    ck_assert_int_eq(g_schedule_units(s1), 2);   /* 4 dispatches fewer */
    int merged = -1;
    for (int u = 0; u < 2; u++)
        if (strstr(g_schedule_label(s1, u), " & ")) merged = u;
    ck_assert_int_ge(merged, 0);
    ck_assert_int_eq(count_of(g_schedule_label(s1, merged), "adam"), 4);
    ck_assert_int_eq(count_of(g_schedule_label(s1, merged), "scale"), 1);
    ck_assert_int_eq(count_of(g_schedule_label(s1, 1 - merged), "assign"), 1);
    const x_unit *u = &s1->units[merged];
    ck_assert_int_eq(u->nparts, 5);
    size_t off_k = 0;
    for (int k = 0; k < u->nparts; k++) {
        ck_assert_uint_eq(u->parts[k].offset, off_k);
        off_k += (u->parts[k].numel + 63) / 64 * 64;
    }
    ck_assert_uint_eq(u->numel, off_k);
    char *glsl;
    int nb;
    ck_assert_int_eq(g_schedule_glsl(s1, merged, &glsl, &nb), 0);
    ck_assert_int_le(nb, 32);
    assert_has(glsl, "void meg_part4(uint i)");
    assert_has(glsl, "if (g - 64u < 17u) meg_part1(g - 64u);");
    assert_compiles(glsl, X_TEMPLATE_NONE);
    free(glsl);
    g_plan_stats st0, st1;
    g_schedule_stats(s0, &st0);
    g_schedule_stats(s1, &st1);
    ck_assert_int_eq(st0.dispatches - st1.dispatches, 4);
    g_schedule_free(s0);
    g_schedule_free(s1);
    /* $MEG_HFUSE=0 turns it off without the option */
    setenv("MEG_HFUSE", "0", 1);
    int rc = g_schedule_new(g, roots, 2, NULL, NULL, &s1);
    unsetenv("MEG_HFUSE");
    ck_assert_msg(rc == 0, "%s", rt_error());
    ck_assert_int_eq(g_schedule_units(s1), 6);
    g_schedule_free(s1);
    g_graph_free(g);
}
END_TEST

/* b reads a's value (at another index space, so the two are separate
 * units): b must run after a, never in a's dispatch; c is free and joins one
 * of them. */
START_TEST(a_unit_that_reads_another_is_not_merged_with_it)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 1, G_SHAPE(17));
    g_tensor *w = g_input(g, "w", 2, G_SHAPE(3, 17));
    g_tensor *a = g_sqrt(x);
    g_tensor *b = g_add(g_expand(g_reshape(a, 2, G_SHAPE(1, 17)), 2, G_SHAPE(3, 17)), w);
    g_tensor *c = g_neg(g_input(g, "z", 1, G_SHAPE(5)));
    g_tensor *roots[] = {a, b, c};
    g_schedule *s;
    ck_assert_msg(g_schedule_new(g, roots, 3, NULL, NULL, &s) == 0, "%s", rt_error());
    ck_assert_int_eq(g_schedule_units(s), 2);
    int ua = s->val[a->id].unit, ub = s->val[b->id].unit;
    ck_assert_int_ne(ua, ub);
    ck_assert_int_lt(ua, ub);
    g_schedule_free(s);
    /* the same with an update in between: q's gradient reads p after p's
     * update, so the two updates stay apart and in program order */
    g_tensor *p = g_param(g, "p", 1, G_SHAPE(17), g_init_normal(1.0f));
    g_tensor *q = g_param(g, "q", 1, G_SHAPE(17), g_init_normal(1.0f));
    g_tensor *gp = g_input(g, "gp", 1, G_SHAPE(17));
    g_tensor *up = g_sgd(g, &p, &gp, 1, 0.5f);
    g_tensor *gq = g_scale(p, 2.0f);
    g_tensor *uq = g_sgd(g, &q, &gq, 1, 0.5f);
    g_tensor *r2[] = {up, uq, c};
    ck_assert_msg(g_schedule_new(g, r2, 3, NULL, NULL, &s) == 0, "%s", rt_error());
    int n = g_schedule_units(s), found_p = -1, found_q = -1;
    for (int u = 0; u < n; u++) {
        const char *l = g_schedule_label(s, u);
        if (strstr(l, "scale+sgd")) found_q = u;
        else if (strstr(l, "sgd")) found_p = u;
    }
    ck_assert_msg(found_p >= 0 && found_q > found_p, "p's update %d, q's %d", found_p, found_q);
    ck_assert_int_eq(n, 2);   /* c rides along one of them */
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

/* A matmul cannot inline a constant operand, so a unit fills a buffer with
 * it first; the sum of the matmul's output could take that unit along only
 * by moving it past the matmul, which reads it. */
START_TEST(a_constant_filled_for_a_matmul_stays_before_it)
{
    g_graph *g = g_graph_new();
    g_tensor *w = g_input(g, "w", 2, G_SHAPE(3, 5));
    g_tensor *y = g_matmul(g_const(g, 2.0f, 2, G_SHAPE(4, 3)), w, 0, 0);
    g_tensor *z = g_sum(y, 1, 0);
    g_schedule *s;
    ck_assert_msg(g_schedule_new(g, &z, 1, NULL, NULL, &s) == 0, "%s", rt_error());
    ck_assert_int_eq(g_schedule_units(s), 3);
    int uc = s->val[x_storage_of(s, y->src[0]->id)].unit, um = s->val[y->id].unit, uz = s->val[z->id].unit;
    ck_assert_msg(uc >= 0 && uc < um && um < uz, "constant in unit %d, matmul %d, sum %d", uc, um, uz);
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(horizontal_fusion_respects_the_binding_limits)
{
    g_graph *g = g_graph_new();
    g_tensor *y, *step = four_adams(g, &y);
    g_tensor *roots[] = {step, y};
    g_limits l;
    g_limits_default(&l);
    l.max_storage_per_stage = 7;   /* two updates' outputs at most (3 each) */
    g_schedule *s;
    ck_assert_msg(g_schedule_new(g, roots, 2, NULL, &l, &s) == 0, "%s", rt_error());
    for (int u = 0; u < g_schedule_units(s); u++) {
        char *glsl;
        ck_assert_int_eq(g_schedule_glsl(s, u, &glsl, NULL), 0);
        ck_assert_int_le(count_of(glsl, "writeonly buffer"), 7);
        free(glsl);
    }
    ck_assert_int_gt(g_schedule_units(s), 2);
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

START_TEST(horizontal_fusion_keeps_to_nvidias_fast_descriptor_space)
{
    g_graph *g = g_graph_new();
    g_tensor *y, *step = four_adams(g, &y);
    g_tensor *roots[] = {step, y};
    g_limits l;
    g_limits_default(&l);
    l.fast_descriptor_bytes = 128;   /* about two updates' bindings (3 outputs of 16 bytes, texel views of 4) */
    g_schedule *s;
    ck_assert_msg(g_schedule_new(g, roots, 2, NULL, &l, &s) == 0, "%s", rt_error());
    int units = g_schedule_units(s);
    for (int u = 0; u < units; u++) {
        char *glsl;
        ck_assert_int_eq(g_schedule_glsl(s, u, &glsl, NULL), 0);
        int outs = count_of(glsl, "writeonly buffer"), ins = count_of(glsl, "samplerBuffer");
        int merged = strstr(g_schedule_label(s, u), " & ") != NULL;
        ck_assert_msg(!merged || 4 * ins + 16 * outs <= 128, "unit %d (%s): %d texel views, %d outputs", u,
                      g_schedule_label(s, u), ins, outs);
        free(glsl);
    }
    g_schedule_free(s);
    /* without the budget the same graph merges further */
    l.fast_descriptor_bytes = 0;
    ck_assert_msg(g_schedule_new(g, roots, 2, NULL, &l, &s) == 0, "%s", rt_error());
    ck_assert_int_lt(g_schedule_units(s), units);
    g_schedule_free(s);
    g_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("schedule");
    TCase *tc = tcase_create("schedule");
    tcase_add_test(tc, an_elementwise_chain_is_one_unit_whose_glsl_reads_both_inputs_once);
    tcase_add_test(tc, without_fusion_every_op_is_its_own_unit);
    tcase_add_test(tc, a_matmul_unit_emits_an_epilogue_for_the_matmul_template);
    tcase_add_test(tc, a_weight_gradient_carries_its_bias_gradient_as_the_row_of_ones);
    tcase_add_test(tc, a_long_reduction_of_a_constant_is_a_product_not_a_workgroup_sum);
    tcase_add_test(tc, convolutions_run_embedded_kernels_and_have_no_glsl);
    tcase_add_test(tc, bad_roots_and_broken_graphs_are_refused);
    tcase_add_test(tc, values_past_one_binding_are_refused_and_u8_glsl_is_unchanged);
    tcase_add_test(tc, independent_adam_and_elementwise_units_are_one_dispatch);
    tcase_add_test(tc, a_unit_that_reads_another_is_not_merged_with_it);
    tcase_add_test(tc, a_constant_filled_for_a_matmul_stays_before_it);
    tcase_add_test(tc, horizontal_fusion_respects_the_binding_limits);
    tcase_add_test(tc, horizontal_fusion_keeps_to_nvidias_fast_descriptor_space);
    suite_add_tcase(su, tc);
    return th_run(su);
}
