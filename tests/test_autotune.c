/* test_autotune.c: the matmul and convolution autotune (runtime/autotune.c):
 * a tuned matmul or convolution still matches the reference, each shape is
 * measured once and then read from the cache file, the file's choice is the
 * one used, and a file that does not read is measured over. Contexts of their own, with
 * $XDG_CACHE_HOME in the suite's temporary folder. */
#include "exec.h"
#include "filetest.h"
#include "graph.h"
#include "harness.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rt_ctx *tuned_ctx(int autotune)
{
    rt_options o = {.validation = 1, .autotune = autotune};
    rt_ctx *c;
    ck_assert_msg(rt_ctx_create(&o, &c) == 0, "%s", rt_error());
    return c;
}

static void use_cache(const char *name)
{
    ck_assert(setenv("XDG_CACHE_HOME", tpath(name), 1) == 0);
}

/* C = A B on the device against a double-precision product. */
static void check_product(rt_ctx *ctx, uint32_t m, uint32_t k, uint32_t n)
{
    float *a = malloc((size_t)m * k * 4), *b = malloc((size_t)k * n * 4), *c = malloc((size_t)m * n * 4);
    th_random(a, (size_t)m * k, m);
    th_random(b, (size_t)k * n, n);
    rt_buffer *ba, *bb, *bc;
    ck_assert(rt_buffer_create(ctx, (size_t)m * k * 4, &ba) == 0 && rt_buffer_create(ctx, (size_t)k * n * 4, &bb) == 0 &&
              rt_buffer_create(ctx, (size_t)m * n * 4, &bc) == 0);
    ck_assert(rt_buffer_write(ba, 0, a, (size_t)m * k * 4) == 0 && rt_buffer_write(bb, 0, b, (size_t)k * n * 4) == 0);
    rt_matmul_desc d = {.m = m, .k = k, .n = n};
    rt_cmd *cmd;
    ck_assert(rt_cmd_begin(ctx, 0, &cmd) == 0);
    rt_binding A = {ba, 0, 0, 0, 0}, B = {bb, 0, 0, 0, 0}, C = {bc, 0, 0, 0, 0};
    ck_assert_msg(rt_matmul(cmd, &d, A, B, C) == 0, "%s", rt_error());
    ck_assert_msg(rt_cmd_submit(cmd, 1) == 0, "%s", rt_error());
    rt_cmd_free(cmd);
    ck_assert(rt_buffer_read(bc, 0, c, (size_t)m * n * 4) == 0);
    for (uint32_t i = 0; i < m; i++)
        for (uint32_t j = 0; j < n; j++) {
            double s = 0, mag = 0;
            for (uint32_t t = 0; t < k; t++) {
                s += (double)a[i * k + t] * b[t * n + j];
                mag += fabs((double)a[i * k + t] * b[t * n + j]);
            }
            ck_assert_msg(fabs(c[i * n + j] - s) <= 1e-6 * mag + 1e-6, "%ux%ux%u: C[%u,%u] = %.9g, want %.9g", m, k, n,
                          i, j, c[i * n + j], s);
        }
    rt_buffer_destroy(ba);
    rt_buffer_destroy(bb);
    rt_buffer_destroy(bc);
    free(a);
    free(b);
    free(c);
}

static int lines_of(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF) n += ch == '\n';
    fclose(f);
    return n;
}

START_TEST(tuned_matmul_matches_reference_and_each_shape_is_measured_once)
{
    use_cache("cache1");
    rt_ctx *c = tuned_ctx(1);
    ck_assert(rt_autotune_enabled(c));
    check_product(c, 70, 45, 37);   /* 116,550 m n k: tuned */
    ck_assert_int_eq(rt_autotune_measured(c), 1);
    check_product(c, 70, 45, 37);
    ck_assert_int_eq(rt_autotune_measured(c), 1);
    check_product(c, 8, 8, 8);      /* dispatch-bound: never measured */
    ck_assert_int_eq(rt_autotune_measured(c), 1);
    char path[1024];
    snprintf(path, sizeof path, "%s", rt_autotune_path(c));
    ck_assert_int_eq(lines_of(path), 2);   /* the header and one shape */
    ck_assert_int_eq(rt_validation_count(c), 0);
    rt_ctx_destroy(c);
    /* a new context reads the file and measures nothing */
    c = tuned_ctx(1);
    check_product(c, 70, 45, 37);
    ck_assert_int_eq(rt_autotune_measured(c), 0);
    ck_assert_int_eq(rt_validation_count(c), 0);
    rt_ctx_destroy(c);
    ck_assert_int_eq(leftover_temps(), 0);
}
END_TEST

/* The cache file of this device (path) after one tuned shape, and its
 * header line. */
static void cache_header(char *path, char *header)
{
    rt_ctx *c = tuned_ctx(1);
    check_product(c, 70, 45, 37);
    snprintf(path, 1024, "%s", rt_autotune_path(c));
    rt_ctx_destroy(c);
    FILE *f = fopen(path, "r");
    ck_assert(f && fgets(header, 256, f));
    fclose(f);
}

START_TEST(the_cache_file_decides_the_variant)
{
    use_cache("cache2");
    char path[1024], header[256];
    cache_header(path, header);
    rt_ctx *c;
    /* 300 x 200 x 100: variant 20 (shared-memory tiles); 100 x 200 x 300,
     * B transposed: variant 9 (lanes along M) */
    char text[512];
    snprintf(text, sizeof text, "%s300 200 100 0 0 0 1 1 20 1.0\n100 200 300 0 1 0 1 1 9 1.0\n", header);
    write_text(path, text);
    c = tuned_ctx(1);
    rt_matmul_plan p;
    rt_matmul_desc d = {.m = 300, .k = 200, .n = 100};
    ck_assert_msg(rt_matmul_choose(c, &d, 0, 0, 0, &p) == 0, "%s", rt_error());
    ck_assert_int_eq(p.tiled, 1);
    rt_matmul_desc e = {.m = 100, .k = 200, .n = 300, .transpose_b = 1};
    ck_assert_msg(rt_matmul_choose(c, &e, 0, 0, 0, &p) == 0, "%s", rt_error());
    ck_assert_int_eq(p.tiled, 0);
    ck_assert_uint_eq(p.spec[13], 1);   /* lanes along M */
    ck_assert_int_eq(rt_autotune_measured(c), 0);
    /* the same shapes with autotune off: the hand-picked choice */
    rt_ctx *off = tuned_ctx(0);
    ck_assert(rt_matmul_choose(off, &d, 0, 0, 0, &p) == 0);
    ck_assert_int_eq(p.tiled, 0);
    ck_assert_int_eq(rt_autotune_measured(off), 0);
    rt_ctx_destroy(off);
    rt_ctx_destroy(c);
}
END_TEST

START_TEST(a_cache_file_that_does_not_read_is_measured_over)
{
    use_cache("cache3");
    rt_ctx *c = tuned_ctx(1);
    char path[1024];
    snprintf(path, sizeof path, "%s", rt_autotune_path(c));
    rt_ctx_destroy(c);
    ck_assert(rt_mkdirs(tpath("cache3/meg")) == 0);
    write_text(path, "# meg autotune 1 0000\n70 45 37 0 0 0 1 1 20 1.0\n");   /* another driver's */
    c = tuned_ctx(1);
    check_product(c, 70, 45, 37);
    ck_assert_int_eq(rt_autotune_measured(c), 1);
    rt_ctx_destroy(c);
    write_text(path, "garbage\n");
    c = tuned_ctx(1);
    check_product(c, 70, 45, 37);
    ck_assert_int_eq(rt_autotune_measured(c), 1);
    rt_ctx_destroy(c);
    size_t n;
    char *t = read_bytes(path, &n);
    ck_assert_msg(n > 16 && !strncmp(t, "# meg autotune 1 ", 17), "rewritten file starts \"%.20s\"", t);
    ck_assert_int_eq(lines_of(path), 2);
    free(t);
}
END_TEST

START_TEST(autotune_off_measures_nothing_and_writes_no_file)
{
    use_cache("cache4");
    rt_ctx *c = tuned_ctx(0);
    ck_assert(!rt_autotune_enabled(c));
    check_product(c, 70, 45, 37);
    ck_assert_int_eq(rt_autotune_measured(c), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s", rt_autotune_path(c));
    ck_assert_int_eq(lines_of(path), -1);
    rt_ctx_destroy(c);
}
END_TEST

/* y = conv2d(x, w), x [4, 8, 14, 14], w [16, 8, 5, 5], stride 2, padding 2
 * (1.25 MFLOP: tuned), planned on ctx, against the CPU reference. */
static void check_conv(rt_ctx *ctx)
{
    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 4, G_SHAPE(4, 8, 14, 14)), *w = g_input(g, "w", 4, G_SHAPE(16, 8, 5, 5));
    g_tensor *y = g_conv2d(x, w, 2, 2);
    g_session *s;
    ck_assert_msg(g_session_new(ctx, g, 1, &s) == 0, "%s", rt_error());
    g_ref *r = g_ref_new(g, 1);
    g_tensor *in[] = {x, w};
    for (int k = 0; k < 2; k++) {
        size_t n = g_numel(in[k]);
        float *v = malloc(n * 4);
        th_random(v, n, 7 + (uint64_t)k);
        ck_assert(g_session_write(s, in[k], v) == 0 && g_ref_write_f(r, in[k], v) == 0);
        free(v);
    }
    g_plan *p;
    ck_assert_msg(g_plan_new(s, &y, 1, NULL, &p) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_run(p, 1) == 0, "%s", rt_error());
    ck_assert(g_ref_run(r, &y, 1) == 0);
    size_t n = g_numel(y);
    float *dv = malloc(n * 4);
    ck_assert(g_session_read(s, y, dv) == 0);
    const double *rv = g_ref_value(r, y);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(dv[i] - rv[i]) <= 2e-5 * (1 + fabs(rv[i])), "y[%zu] = %.9g, want %.9g", i, dv[i], rv[i]);
    free(dv);
    g_plan_free(p);
    g_ref_free(r);
    g_session_free(s);
    g_graph_free(g);
}

static int file_has(const char *path, const char *text)
{
    size_t n;
    char *t = read_bytes(path, &n);
    int has = t && strstr(t, text) != NULL;
    free(t);
    return has;
}

START_TEST(tuned_convolution_matches_reference_and_is_measured_once)
{
    use_cache("cache5");
    rt_ctx *c = tuned_ctx(1);
    check_conv(c);
    ck_assert_int_eq(rt_autotune_measured(c), 1);
    check_conv(c);
    ck_assert_int_eq(rt_autotune_measured(c), 1);
    char path[1024];
    snprintf(path, sizeof path, "%s", rt_autotune_path(c));
    ck_assert_msg(file_has(path, "\nK conv2d 11 14 4 8 14 14 16 5 5 2 2 7 7 "), "no conv2d line in %s", path);
    ck_assert_int_eq(rt_validation_count(c), 0);
    rt_ctx_destroy(c);
    c = tuned_ctx(1);
    check_conv(c);
    ck_assert_int_eq(rt_autotune_measured(c), 0);
    rt_ctx_destroy(c);
    /* off: the default, nothing measured */
    c = tuned_ctx(0);
    check_conv(c);
    ck_assert_int_eq(rt_autotune_measured(c), 0);
    rt_ctx_destroy(c);
}
END_TEST

START_TEST(the_cache_file_decides_the_kernel_candidate)
{
    use_cache("cache6");
    char path[1024], header[256];
    cache_header(path, header);
    rt_ctx *c;
    /* two conv2d blocks of check_conv's shape: 16 and 8 output channels */
    rt_tune_cand cand[2] = {
        {{4, 8, 14, 14, 16, 5, 5, 2, 2, 7, 7, 16, 7, 1}, 14, {1, 1, 1}},
        {{4, 8, 14, 14, 16, 5, 5, 2, 2, 7, 7, 8, 7, 1}, 14, {1, 2, 1}},
    };
    size_t bytes[3] = {4 * 8 * 14 * 14 * 4, 16 * 8 * 25 * 4, 4 * 16 * 49 * 4};
    double flops = 2.0 * 4 * 16 * 49 * 8 * 25;
    char text[512];
    snprintf(text, sizeof text, "%sK conv2d 11 14 4 8 14 14 16 5 5 2 2 7 7 8 7 1 0.5\n", header);
    write_text(path, text);
    c = tuned_ctx(1);
    int best = -1;
    ck_assert_msg(rt_autotune_kernel(c, "conv2d", 11, cand, 2, bytes, 3, flops, &best) == 0, "%s", rt_error());
    ck_assert_int_eq(best, 1);
    ck_assert_int_eq(rt_autotune_measured(c), 0);
    rt_ctx_destroy(c);
    /* a winner that is no longer a candidate: measured again, and saved */
    snprintf(text, sizeof text, "%sK conv2d 11 14 4 8 14 14 16 5 5 2 2 7 7 4 7 1 0.5\n", header);
    write_text(path, text);
    c = tuned_ctx(1);
    ck_assert_msg(rt_autotune_kernel(c, "conv2d", 11, cand, 2, bytes, 3, flops, &best) == 0, "%s", rt_error());
    ck_assert(best == 0 || best == 1);
    ck_assert_int_eq(rt_autotune_measured(c), 1);
    ck_assert_int_eq(lines_of(path), 2);
    ck_assert_int_eq(rt_validation_count(c), 0);
    /* too little work to time: the default, unmeasured */
    ck_assert(rt_autotune_kernel(c, "conv2d", 11, cand, 2, bytes, 3, 1000.0, &best) == 0);
    ck_assert_int_eq(best, 0);
    /* candidates of different shapes are refused */
    cand[1].spec[0] = 5;
    ck_assert_int_ne(rt_autotune_kernel(c, "conv2d", 11, cand, 2, bytes, 3, flops, &best), 0);
    ck_assert_msg(strstr(rt_error(), "candidate 1") != NULL, "%s", rt_error());
    rt_ctx_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("autotune");
    TCase *tc = tcase_create("autotune");
    th_validated(tc);
    tcase_add_test(tc, tuned_matmul_matches_reference_and_each_shape_is_measured_once);
    tcase_add_test(tc, the_cache_file_decides_the_variant);
    tcase_add_test(tc, a_cache_file_that_does_not_read_is_measured_over);
    tcase_add_test(tc, autotune_off_measures_nothing_and_writes_no_file);
    tcase_add_test(tc, tuned_convolution_matches_reference_and_is_measured_once);
    tcase_add_test(tc, the_cache_file_decides_the_kernel_candidate);
    suite_add_tcase(s, tc);
    return tf_run(s);
}
