/* test_runtime.c: the runtime layer and the first kernels against plain-C
 * references, with validation on. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "graph.h"
#include "exec.h"

/* The context the helpers below work on: the suite's, or a test's own
 * (one with lowered limits) while that test runs. */
static rt_ctx *own_ctx;
static rt_ctx *ctx_now(void) { return own_ctx ? own_ctx : th_ctx(); }

static rt_buffer *upload(const float *x, size_t n)
{
    rt_buffer *b;
    ck_assert_msg(rt_buffer_create(ctx_now(), n * 4, &b) == 0, "%s", rt_error());
    if (x) ck_assert_msg(rt_buffer_write(b, 0, x, n * 4) == 0, "%s", rt_error());
    return b;
}

static void download(rt_buffer *b, float *x, size_t n)
{
    ck_assert_msg(rt_buffer_read(b, 0, x, n * 4) == 0, "%s", rt_error());
}

START_TEST(buffer_round_trip_keeps_every_byte)
{
    size_t sizes[] = {4, 12, 4096, 3 << 20};
    for (int s = 0; s < 4; s++) {
        size_t n = sizes[s] / 4;
        float *x = malloc(n * 4), *y = malloc(n * 4);
        th_random(x, n, s);
        rt_buffer *b = upload(x, n);
        download(b, y, n);
        ck_assert(memcmp(x, y, n * 4) == 0);
        /* partial write at an offset */
        float v[3] = {1, 2, 3};
        if (n >= 5) {
            ck_assert(rt_buffer_write(b, 8, v, 12) == 0);
            download(b, y, n);
            ck_assert(y[2] == 1 && y[3] == 2 && y[4] == 3 && y[1] == x[1]);
        }
        rt_buffer_destroy(b);
        free(x);
        free(y);
    }
}
END_TEST

START_TEST(buffers_are_reused_after_free)
{
    size_t used0, used1;
    rt_memory_usage(th_ctx(), &used0, NULL);
    rt_buffer *b[20];
    for (int i = 0; i < 20; i++) b[i] = upload(NULL, 1000 + 37 * i);
    for (int i = 0; i < 20; i += 2) rt_buffer_destroy(b[i]);
    for (int i = 1; i < 20; i += 2) rt_buffer_destroy(b[i]);
    rt_memory_usage(th_ctx(), &used1, NULL);
    ck_assert_uint_eq(used0, used1);
}
END_TEST

START_TEST(out_of_range_access_is_an_error_naming_the_size)
{
    rt_buffer *b = upload(NULL, 16);
    float x[32] = {0};
    ck_assert_int_eq(rt_buffer_write(b, 0, x, sizeof x), -1);
    ck_assert_msg(strstr(rt_error(), "128 bytes") && strstr(rt_error(), "64 bytes"), "%s", rt_error());
    ck_assert_int_eq(rt_buffer_read(b, 60, x, 8), -1);
    rt_buffer_destroy(b);
}
END_TEST

START_TEST(huge_allocation_fails_with_the_request_size)
{
    rt_buffer *b = NULL;
    size_t huge = (size_t)1 << 42;
    ck_assert_int_eq(rt_buffer_create(th_ctx(), huge, &b), -1);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(rt_error(), "4398046511104"), "message does not name the size: %s", rt_error());
}
END_TEST

START_TEST(unknown_kernel_is_an_error)
{
    rt_kernel *k;
    ck_assert_int_eq(rt_kernel_get(th_ctx(), "no_such_kernel", NULL, 0, &k), -1);
    ck_assert_msg(strstr(rt_error(), "no_such_kernel"), "%s", rt_error());
}
END_TEST

START_TEST(wrong_binding_count_is_an_error)
{
    rt_kernel *k;
    ck_assert(rt_kernel_get(th_ctx(), "copy", NULL, 0, &k) == 0);
    ck_assert_int_eq(rt_kernel_binding_count(k), 2);
    rt_buffer *b = upload(NULL, 64);
    rt_binding bs[1] = {{b, 0, 0, 0}};
    rt_cmd *c;
    ck_assert(rt_cmd_begin(th_ctx(), 0, &c) == 0);
    ck_assert_int_eq(rt_cmd_dispatch(c, k, bs, 1, NULL, 0, 1, 1, 1, NULL), -1);
    ck_assert_msg(strstr(rt_error(), "2 bindings"), "%s", rt_error());
    rt_cmd_free(c);
    rt_buffer_destroy(b);
}
END_TEST

START_TEST(validation_messages_are_counted)
{
    /* A context of its own, so the provoked message does not fail the suite. */
    rt_options o = {.validation = 1, .quiet_validation = 1};
    rt_ctx *c;
    ck_assert_msg(rt_ctx_create(&o, &c) == 0, "%s", rt_error());
    ck_assert_int_eq(rt_validation_count(c), 0);
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 0,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    VkBuffer buf = VK_NULL_HANDLE;
    vkCreateBuffer(c->dev, &bi, NULL, &buf); /* size 0 is invalid usage */
    if (buf) vkDestroyBuffer(c->dev, buf, NULL);
    ck_assert_int_gt(rt_validation_count(c), 0);
    rt_ctx_destroy(c);
}
END_TEST

static void check_fill_copy_axpy(size_t n, size_t off_floats)
{
    float *x = malloc(n * 4), *y = malloc(n * 4), *out = malloc(n * 4);
    th_random(x, n, n);
    th_random(y, n, n + 1);
    size_t bytes = (n + off_floats) * 4;
    rt_buffer *bx = upload(NULL, n + off_floats), *by = upload(NULL, n + off_floats), *bz = upload(NULL, n + off_floats);
    ck_assert(rt_buffer_write(bx, off_floats * 4, x, n * 4) == 0);
    ck_assert(rt_buffer_write(by, off_floats * 4, y, n * 4) == 0);
    rt_cmd *c;
    ck_assert(rt_cmd_begin(ctx_now(), 0, &c) == 0);
    ck_assert_msg(rt_fill(c, bz, 0, n + off_floats, 7.5f) == 0, "%s", rt_error());
    ck_assert_msg(rt_axpy(c, -0.5f, bx, off_floats * 4, by, off_floats * 4, n) == 0, "%s", rt_error());
    ck_assert(rt_cmd_submit(c, 1) == 0);
    rt_cmd_free(c);
    float *z = malloc(bytes);
    ck_assert(rt_buffer_read(bz, 0, z, bytes) == 0);
    for (size_t i = 0; i < n + off_floats; i++) ck_assert_float_eq(z[i], 7.5f);
    ck_assert(rt_buffer_read(by, off_floats * 4, out, n * 4) == 0);
    for (size_t i = 0; i < n; i++) ck_assert_float_eq_tol(out[i], y[i] - 0.5f * x[i], 1e-6);
    /* copy x into z at the offset, leaving the rest */
    ck_assert(rt_cmd_begin(ctx_now(), 0, &c) == 0);
    ck_assert(rt_copy_kernel(c, bx, off_floats * 4, bz, off_floats * 4, n) == 0);
    ck_assert(rt_cmd_submit(c, 1) == 0);
    rt_cmd_free(c);
    ck_assert(rt_buffer_read(bz, 0, z, bytes) == 0);
    for (size_t i = 0; i < off_floats; i++) ck_assert_float_eq(z[i], 7.5f);
    for (size_t i = 0; i < n; i++) ck_assert_float_eq(z[off_floats + i], x[i]);
    rt_buffer_destroy(bx);
    rt_buffer_destroy(by);
    rt_buffer_destroy(bz);
    free(x);
    free(y);
    free(z);
    free(out);
}

START_TEST(fill_copy_axpy_match_reference_on_odd_sizes)
{
    size_t sizes[] = {1, 3, 17, 63, 64, 65, 255, 257, 4097, 100003};
    for (int i = 0; i < 10; i++) check_fill_copy_axpy(sizes[i], i % 2 ? 4 : 0);
}
END_TEST

START_TEST(fill_covers_more_than_65535_groups)
{
    size_t n = 65535u * 64u + 129u;
    check_fill_copy_axpy(n, 0);
}
END_TEST

/* C = op(A) op(B) in double, and the error bound per element. */
static void ref_matmul(const rt_matmul_desc *d, const float *a, const float *b, double *c, double *bound)
{
    for (uint32_t m = 0; m < d->m; m++)
        for (uint32_t n = 0; n < d->n; n++) {
            double s = 0, sa = 0;
            for (uint32_t k = 0; k < d->k; k++) {
                double av = d->transpose_a ? a[(size_t)k * d->m + m] : a[(size_t)m * d->k + k];
                double bv = d->transpose_b ? b[(size_t)n * d->k + k] : b[(size_t)k * d->n + n];
                s += av * bv;
                sa += fabs(av * bv);
            }
            c[(size_t)m * d->n + n] = s;
            /* fp32 accumulation error grows with K */
            bound[(size_t)m * d->n + n] = (2.0 * d->k + 8.0) * 6e-8 * sa + 1e-6;
        }
}

static void check_matmul(rt_matmul_desc d)
{
    size_t na = (size_t)d.m * d.k, nb = (size_t)d.k * d.n, nc = (size_t)d.m * d.n;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4);
    double *ref = malloc(nc * 8), *bound = malloc(nc * 8);
    th_random(a, na, d.m * 7 + d.k);
    th_random(b, nb, d.n * 13 + d.k);
    rt_buffer *ba = upload(a, na), *bb = upload(b, nb), *bc = upload(NULL, nc);
    rt_cmd *cmd;
    ck_assert(rt_cmd_begin(ctx_now(), 0, &cmd) == 0);
    rt_binding A = {ba, 0, 0, 0}, B = {bb, 0, 0, 0}, C = {bc, 0, 0, 0};
    ck_assert_msg(rt_matmul(cmd, &d, A, B, C) == 0, "%s", rt_error());
    ck_assert_msg(rt_cmd_submit(cmd, 1) == 0, "%s", rt_error());
    rt_cmd_free(cmd);
    download(bc, c, nc);
    ref_matmul(&d, a, b, ref, bound);
    for (size_t i = 0; i < nc; i++) {
        double err = fabs(c[i] - ref[i]);
        ck_assert_msg(err <= bound[i], "matmul %ux%ux%u ta=%d tb=%d variant=%d: element %zu is %.9g, "
                      "reference %.9g (bound %.3g)", d.m, d.k, d.n, d.transpose_a, d.transpose_b,
                      d.variant, i, c[i], ref[i], bound[i]);
    }
    rt_buffer_destroy(ba);
    rt_buffer_destroy(bb);
    rt_buffer_destroy(bc);
    free(a); free(b); free(c); free(ref); free(bound);
}

/* (M, K, N): every one of 1, 3, 17, 255, 257 in every position, plus
 * multiples of 4 that take the vec4 paths. */
static const unsigned shapes[][3] = {
    {1, 1, 1},     {3, 17, 255},  {17, 255, 3},  {255, 3, 17},  {257, 1, 3},   {1, 257, 17},
    {3, 3, 257},   {17, 17, 1},   {255, 257, 1}, {1, 255, 257}, {64, 64, 64},  {68, 132, 260},
    {256, 2, 512}, {12, 784, 20}, {257, 255, 4}, {8, 4, 1},
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

START_TEST(matmul_matches_reference_all_layouts)
{
    int layout = _i;
    for (int s = 0; s < NSHAPES; s++) {
        rt_matmul_desc d = {.m = shapes[s][0], .k = shapes[s][1], .n = shapes[s][2],
                            .transpose_a = layout & 1, .transpose_b = (layout >> 1) & 1};
        check_matmul(d);
    }
}
END_TEST

START_TEST(matmul_every_variant_matches_reference)
{
    int nv = 0;
    for (int v = 1;; v++) {
        rt_matmul_desc d = {.m = 37, .k = 45, .n = 70, .variant = v};
        rt_matmul_plan p;
        if (rt_matmul_choose(th_ctx(), &d, 0, 0, 0, &p)) break;   /* past the last variant */
        nv++;
        check_matmul(d);
        d.m = 64; d.k = 36; d.n = 128; d.transpose_a = 1;
        check_matmul(d);
    }
    ck_assert_int_eq(nv, rt_matmul_variants() - 1);
    ck_assert_int_ge(nv, 20);
}
END_TEST

START_TEST(matmul_ones_row_gives_the_column_sums_of_b)
{
    /* row M of [op(A); 1 ... 1] op(B): the weight and bias gradients in one dispatch */
    for (int layout = 0; layout < 4; layout++) {
        rt_matmul_desc d = {.m = 33, .k = 45, .n = 19, .transpose_a = layout & 1, .transpose_b = layout >> 1,
                            .ones_row = 1};
        size_t na = (size_t)d.m * d.k, nb = (size_t)d.k * d.n, nc = (size_t)(d.m + 1) * d.n;
        float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4);
        th_random(a, na, 11);
        th_random(b, nb, 12);
        rt_buffer *ba = upload(a, na), *bb = upload(b, nb), *bc = upload(NULL, nc);
        rt_cmd *cmd;
        ck_assert(rt_cmd_begin(th_ctx(), 0, &cmd) == 0);
        rt_binding A = {ba, 0, 0, 0}, B = {bb, 0, 0, 0}, C = {bc, 0, 0, 0};
        ck_assert_msg(rt_matmul(cmd, &d, A, B, C) == 0, "%s", rt_error());
        ck_assert(rt_cmd_submit(cmd, 1) == 0);
        rt_cmd_free(cmd);
        download(bc, c, nc);
        for (uint32_t n = 0; n < d.n; n++) {
            double sum = 0, ref = 0;
            for (uint32_t k = 0; k < d.k; k++) sum += d.transpose_b ? b[(size_t)n * d.k + k] : b[(size_t)k * d.n + n];
            for (uint32_t k = 0; k < d.k; k++)
                ref += (d.transpose_a ? a[(size_t)k * d.m + 0] : a[k]) * (d.transpose_b ? b[(size_t)n * d.k + k] : b[(size_t)k * d.n + n]);
            ck_assert_msg(fabs(c[(size_t)d.m * d.n + n] - sum) < 1e-4, "layout %d: column %u sums to %g, not %g", layout,
                          n, c[(size_t)d.m * d.n + n], sum);
            ck_assert_msg(fabs(c[n] - ref) < 1e-4, "layout %d: row 0 disturbed", layout);
        }
        rt_buffer_destroy(ba);
        rt_buffer_destroy(bb);
        rt_buffer_destroy(bc);
        free(a); free(b); free(c);
    }
}
END_TEST

/* A device that allows 16 workgroups per axis: every 1-D kernel continues
 * along y and z, every matmul variant's block rows along z, and all match
 * the reference; a job past 16 x 16 x 16 groups is refused naming them. */
START_TEST(kernels_split_their_groups_within_a_small_device_limit)
{
    rt_options o = {.validation = 1, .autotune = 0, .max_groups = 16};
    ck_assert_msg(rt_ctx_create(&o, &own_ctx) == 0, "%s", rt_error());
    for (int a = 0; a < 3; a++) ck_assert_uint_eq(rt_ctx_limits(own_ctx)->maxComputeWorkGroupCount[a], 16);
    uint32_t g[3];
    rt_groups_1d(own_ctx, 16u * 16u * 3u * 64u - 5u, 64, g);
    ck_assert(g[0] == 16 && g[1] == 16 && g[2] == 3);
    size_t sizes[] = {16 * 64 + 1, 16 * 16 * 64 + 7, 16 * 16 * 16 * 64};
    for (int i = 0; i < 3; i++) check_fill_copy_axpy(sizes[i], i % 2 ? 4 : 0);
    int nv = 0;
    for (int v = 1;; v++) {
        rt_matmul_desc d = {.m = 600, .k = 45, .n = 140, .variant = v};
        rt_matmul_plan p;
        if (rt_matmul_choose(own_ctx, &d, 0, 0, 0, &p)) break;   /* past the last variant */
        if (p.tiled) {   /* 64-row tiles: more rows to pass 16 block rows */
            d.m = 1100;
            ck_assert(rt_matmul_choose(own_ctx, &d, 0, 0, 0, &p) == 0);
        }
        ck_assert_msg(p.groups[2] > 1 && p.groups[0] <= 16 && p.groups[1] <= 16, "variant %d: %u x %u x %u groups",
                      v, p.groups[0], p.groups[1], p.groups[2]);
        check_matmul(d);
        d.transpose_a = 1;
        check_matmul(d);
        nv++;
    }
    ck_assert_int_eq(nv, rt_matmul_variants() - 1);
    rt_buffer *b;
    ck_assert(rt_buffer_create(own_ctx, (16 * 16 * 16 * 64 + 1) * 4, &b) == 0);
    rt_cmd *c;
    ck_assert(rt_cmd_begin(own_ctx, 0, &c) == 0);
    ck_assert_int_eq(rt_fill(c, b, 0, 16 * 16 * 16 * 64 + 1, 1.0f), -1);
    ck_assert_msg(strstr(rt_error(), "16 x 16 x 17 workgroups exceed the device's limit 16 x 16 x 16"), "%s", rt_error());
    rt_cmd_free(c);
    rt_buffer_destroy(b);
    ck_assert_int_eq(rt_validation_count(own_ctx), 0);
    rt_ctx_destroy(own_ctx);
    own_ctx = NULL;
}
END_TEST

/* Lowered descriptor limits are what the context reports, per stage and
 * per set; a kernel within them builds, one past them is refused with its
 * counts (shuffle reads 2 texel views, copy 1). */
START_TEST(a_kernel_past_the_descriptor_limits_is_refused_naming_its_counts)
{
    rt_options o = {.validation = 1, .autotune = 0, .max_storage_buffers = 4, .max_sampled = 1};
    ck_assert_msg(rt_ctx_create(&o, &own_ctx) == 0, "%s", rt_error());
    const VkPhysicalDeviceLimits *l = rt_ctx_limits(own_ctx);
    ck_assert_uint_eq(l->maxPerStageDescriptorStorageBuffers, 4);
    ck_assert_uint_eq(l->maxDescriptorSetStorageBuffers, 4);
    ck_assert_uint_eq(l->maxPerStageDescriptorSampledImages, 1);
    ck_assert_uint_eq(l->maxDescriptorSetSampledImages, 1);
    rt_kernel *k;
    ck_assert_msg(rt_kernel_get(own_ctx, "copy", NULL, 0, &k) == 0, "%s", rt_error());
    ck_assert_int_eq(rt_kernel_get(own_ctx, "shuffle", NULL, 0, &k), -1);
    ck_assert_msg(strstr(rt_error(), "kernel shuffle binds 1 storage buffers, 2 texel views (sampled descriptors) and "
                                     "3 resources in all; the device allows 4, 1 and"), "%s", rt_error());
    ck_assert_int_eq(rt_validation_count(own_ctx), 0);
    rt_ctx_destroy(own_ctx);
    own_ctx = NULL;
}
END_TEST

/* 65,538 block rows of 8, more than any device's y axis: continued along z. */
START_TEST(matmul_past_65535_block_rows_matches_reference)
{
    rt_matmul_desc d = {.m = 524300, .k = 3, .n = 8};
    rt_matmul_plan p;
    ck_assert(rt_matmul_choose(th_ctx(), &d, 0, 0, 0, &p) == 0);
    ck_assert_msg(p.groups[2] > 1 || p.groups[1] > 65535, "%u x %u x %u groups", p.groups[0], p.groups[1], p.groups[2]);
    check_matmul(d);
}
END_TEST

START_TEST(matmul_variant_from_the_environment_is_checked)
{
    rt_matmul_desc d = {.m = 8, .k = 8, .n = 8};
    rt_matmul_plan p;
    ck_assert_int_eq(setenv("MEG_MATMUL_VARIANT", "99", 1), 0);
    ck_assert_int_eq(rt_matmul_choose(th_ctx(), &d, 0, 0, 0, &p), -1);
    ck_assert_msg(strstr(rt_error(), "MEG_MATMUL_VARIANT=99: not a matmul variant"), "%s", rt_error());
    ck_assert_int_eq(setenv("MEG_MATMUL_VARIANT", "20", 1), 0);
    ck_assert_int_eq(rt_matmul_choose(th_ctx(), &d, 0, 0, 0, &p), 0);
    ck_assert_int_eq(p.tiled, 1);
    ck_assert_int_eq(p.groups[0] * p.groups[1], 1);   /* one 64 x 64 tile */
    unsetenv("MEG_MATMUL_VARIANT");
    ck_assert_int_eq(rt_matmul_choose(th_ctx(), &d, 0, 0, 0, &p), 0);
    ck_assert_int_eq(p.tiled, 0);
}
END_TEST

START_TEST(matmul_rejects_bad_shapes)
{
    rt_buffer *b = upload(NULL, 16);
    rt_cmd *c;
    ck_assert(rt_cmd_begin(th_ctx(), 0, &c) == 0);
    rt_binding x = {b, 0, 0, 0};
    rt_matmul_desc d = {.m = 8, .k = 8, .n = 8};
    ck_assert_int_eq(rt_matmul(c, &d, x, x, x), -1);
    ck_assert_msg(strstr(rt_error(), "8 x 8 x 8"), "%s", rt_error());
    d.m = 0;
    ck_assert_int_eq(rt_matmul(c, &d, x, x, x), -1);
    rt_cmd_free(c);
    rt_buffer_destroy(b);
}
END_TEST

START_TEST(barriers_only_between_dependent_dispatches)
{
    rt_buffer *b = upload(NULL, 4096);
    rt_cmd *c;
    ck_assert(rt_cmd_begin(th_ctx(), 0, &c) == 0);
    /* four fills of disjoint ranges: independent */
    for (int i = 0; i < 4; i++) ck_assert(rt_fill(c, b, (size_t)i * 1024, 256, (float)i) == 0);
    ck_assert_int_eq(rt_cmd_barrier_count(c), 0);
    /* axpy reads range 0 and writes range 1 (both written above): one barrier */
    ck_assert(rt_axpy(c, 2.0f, b, 0, b, 1024, 256) == 0);
    ck_assert_int_eq(rt_cmd_barrier_count(c), 1);
    /* writes range 2, which nobody touched since the barrier: none */
    ck_assert(rt_fill(c, b, 2048, 256, 5.0f) == 0);
    ck_assert_int_eq(rt_cmd_barrier_count(c), 1);
    /* overwrites range 0 that the axpy read (write after read): one more */
    ck_assert(rt_fill(c, b, 0, 256, 9.0f) == 0);
    ck_assert_int_eq(rt_cmd_barrier_count(c), 2);
    ck_assert(rt_cmd_submit(c, 1) == 0);
    rt_cmd_free(c);
    float h[4096];
    download(b, h, 4096);
    /* offsets above are in bytes: range i starts at float 256 * i */
    ck_assert_float_eq(h[0], 9.0f);
    ck_assert_float_eq(h[256 + 5], 1.0f + 2.0f * 0.0f);
    ck_assert_float_eq(h[512], 5.0f);
    ck_assert_float_eq(h[768], 3.0f);
    rt_buffer_destroy(b);
}
END_TEST

/* Synchronization validation is on with validation: a fill and a copy that
 * reads what it wrote, recorded without the barrier between them, must be
 * reported (so the setting is known to be active); with the barrier, not. */
START_TEST(synchronization_validation_reports_a_missing_barrier)
{
    rt_ctx *ctx;
    rt_options o = {.validation = 1, .quiet_validation = 1};
    ck_assert_msg(rt_ctx_create(&o, &ctx) == 0, "%s", rt_error());
    int counts[2];
    for (int planted = 0; planted < 2; planted++) {
        rt_buffer *a, *b;
        ck_assert_int_eq(rt_buffer_create(ctx, 4096 * 4, &a), 0);
        ck_assert_int_eq(rt_buffer_create(ctx, 4096 * 4, &b), 0);
        int before = rt_validation_count(ctx);
        rt_cmd *c;
        ck_assert_int_eq(rt_cmd_begin(ctx, planted ? RT_CMD_NO_BARRIERS : 0, &c), 0);
        ck_assert_int_eq(rt_fill(c, a, 0, 4096, 1.0f), 0);
        ck_assert_int_eq(rt_copy_kernel(c, a, 0, b, 0, 4096), 0);
        ck_assert_int_eq(rt_cmd_end(c), 0);
        ck_assert_int_eq(rt_cmd_barrier_count(c), planted ? 0 : 1);
        ck_assert_int_eq(rt_cmd_submit(c, 1), 0);
        rt_cmd_free(c);
        counts[planted] = rt_validation_count(ctx) - before;
        rt_buffer_destroy(a);
        rt_buffer_destroy(b);
    }
    ck_assert_int_eq(counts[0], 0);
    ck_assert_msg(counts[1] > 0, "no validation message for a read-after-write with no barrier");
    rt_ctx_destroy(ctx);
}
END_TEST

/* Best practices (validation = 2, with the AMD and NVIDIA checks) find
 * nothing in what a MEG step does: runtime kernels with push constants, a
 * matmul, a small two-layer step with its gradient and Adam replayed three
 * times in one submit. Provoked messages then show that the runtime's own
 * barrier budget, best practices and the AMD checks are on (501 barriers in
 * one buffer; a pool of resettable buffers; a pipeline layout of 32 DWORDs),
 * so the first count is known to mean something. */
START_TEST(best_practices_find_nothing_in_a_training_step)
{
    const char *user_enables = getenv("VK_LAYER_ENABLES");
    int vendor_checks = !user_enables || strstr(user_enables, "VENDOR_SPECIFIC_AMD");
    rt_options o = {.validation = 2, .quiet_validation = 1};
    rt_ctx *ctx;
    if (rt_ctx_create(&o, &ctx)) {
        ck_assert_msg(strstr(rt_error(), "not installed"), "%s", rt_error());
        fprintf(stderr, "best practices: skipped (%s)\n", rt_error());
        return;
    }
    rt_buffer *a, *b, *m;
    ck_assert_int_eq(rt_buffer_create(ctx, 64 * 64 * 4, &a), 0);
    ck_assert_int_eq(rt_buffer_create(ctx, 64 * 64 * 4, &b), 0);
    ck_assert_int_eq(rt_buffer_create(ctx, 64 * 64 * 4, &m), 0);
    rt_cmd *c;
    ck_assert_int_eq(rt_cmd_begin(ctx, 0, &c), 0);
    ck_assert_int_eq(rt_fill(c, a, 0, 64 * 64, 0.5f), 0);
    ck_assert_int_eq(rt_fill(c, b, 0, 64 * 64, 2.0f), 0);
    ck_assert_int_eq(rt_axpy(c, 1.0f, a, 0, b, 0, 64 * 64), 0);
    rt_matmul_desc d = {.m = 64, .n = 64, .k = 64};
    ck_assert_msg(rt_matmul(c, &d, (rt_binding){.buf = a}, (rt_binding){.buf = b}, (rt_binding){.buf = m}) == 0, "%s",
                  rt_error());
    ck_assert_int_eq(rt_copy_kernel(c, m, 0, a, 0, 64 * 64), 0);
    ck_assert_int_eq(rt_cmd_submit(c, 1), 0);
    rt_cmd_free(c);
    float h[64];
    ck_assert_int_eq(rt_buffer_read(a, 0, h, sizeof h), 0);
    ck_assert_float_eq_tol(h[0], 64 * 0.5f * 2.5f, 1e-3f);

    g_graph *g = g_graph_new();
    g_tensor *x = g_input(g, "x", 2, G_SHAPE(16, 2));
    g_tensor *w1 = g_param(g, "w1", 2, G_SHAPE(2, 32), g_init_torch(2));
    g_tensor *w2 = g_param(g, "w2", 2, G_SHAPE(32, 1), g_init_torch(32));
    g_tensor *e = g_mean(g_matmul(g_relu(g_matmul(x, w1, 0, 0)), w2, 0, 0), 0, 0);
    g_tensor *params[] = {w1, w2}, *grads[2];
    ck_assert_msg(g_grad(g, e, params, 2, grads) == 0, "%s", rt_error());
    g_tensor *step = g_adam(g, "adam", params, grads, 2, (g_adam_opts){1e-3f, 0.5f, 0.9f, 1e-8f});
    g_session *s;
    ck_assert_msg(g_session_new(ctx, g, 1, &s) == 0, "%s", rt_error());
    float xv[32];
    for (int i = 0; i < 32; i++) xv[i] = (float)i / 32.0f - 0.5f;
    ck_assert_int_eq(g_session_write(s, x, xv), 0);
    g_plan *p;
    g_tensor *roots[] = {e, step};
    ck_assert_msg(g_plan_new(s, roots, 2, NULL, &p) == 0, "%s", rt_error());
    ck_assert_msg(g_plan_run(p, 3) == 0, "%s", rt_error());
    g_plan_free(p);
    g_session_free(s);
    g_graph_free(g);
    ck_assert_int_eq(rt_validation_count(ctx), 0);

    /* the per-buffer barrier budget: 501 barriers between 502 fills of one range */
    ck_assert_int_eq(rt_cmd_begin(ctx, 0, &c), 0);
    for (int i = 0; i < 502; i++) ck_assert_int_eq(rt_fill(c, a, 0, 1, (float)i), 0);
    ck_assert_int_eq(rt_cmd_submit(c, 1), 0);
    ck_assert_int_eq(rt_cmd_barrier_count(c), 501);
    rt_cmd_free(c);
    rt_buffer_destroy(a);
    rt_buffer_destroy(b);
    rt_buffer_destroy(m);
    ck_assert_msg(rt_validation_count(ctx) == 1, "%d messages", rt_validation_count(ctx));

    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = ctx->queue_family};
    VkCommandPool pool;
    ck_assert_int_eq(vkCreateCommandPool(ctx->dev, &pci, NULL, &pool), VK_SUCCESS);
    vkDestroyCommandPool(ctx->dev, pool, NULL);
    ck_assert_msg(rt_validation_count(ctx) == 2, "best practices are not on: %d messages",
                  rt_validation_count(ctx));
    if (vendor_checks) {
        VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 128};
        VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                         .pushConstantRangeCount = 1, .pPushConstantRanges = &pr};
        VkPipelineLayout layout;
        ck_assert_int_eq(vkCreatePipelineLayout(ctx->dev, &pl, NULL, &layout), VK_SUCCESS);
        vkDestroyPipelineLayout(ctx->dev, layout, NULL);
        ck_assert_msg(rt_validation_count(ctx) == 3, "the AMD checks are not on: %d messages",
                      rt_validation_count(ctx));
    }
    rt_ctx_destroy(ctx);
}
END_TEST

START_TEST(resubmitting_replays_the_recorded_work)
{
    rt_buffer *x = upload(NULL, 100), *y = upload(NULL, 100);
    float one[100], zero[100] = {0}, out[100];
    for (int i = 0; i < 100; i++) one[i] = 1.0f;
    ck_assert(rt_buffer_write(x, 0, one, sizeof one) == 0);
    ck_assert(rt_buffer_write(y, 0, zero, sizeof zero) == 0);
    rt_cmd *c;
    /* without RT_CMD_REPEAT (no simultaneous use) one submit holds it once */
    ck_assert(rt_cmd_begin(th_ctx(), 0, &c) == 0);
    ck_assert(rt_fill(c, y, 0, 1, 0.0f) == 0);
    ck_assert_int_eq(rt_cmd_submit(c, 2), -1);
    ck_assert_msg(strstr(rt_error(), "RT_CMD_REPEAT") != NULL, "%s", rt_error());
    ck_assert(rt_cmd_submit(c, 1) == 0);
    rt_cmd_free(c);
    ck_assert(rt_cmd_begin(th_ctx(), RT_CMD_REPEAT, &c) == 0);
    ck_assert(rt_axpy(c, 1.0f, x, 0, y, 0, 100) == 0);
    ck_assert(rt_axpy(c, 1.0f, x, 0, y, 0, 100) == 0);
    ck_assert_msg(rt_cmd_submit(c, 5) == 0, "%s", rt_error());   /* five copies in one submit */
    ck_assert(rt_cmd_submit(c, 2) == 0);
    rt_cmd_free(c);
    download(y, out, 100);
    for (int i = 0; i < 100; i++) ck_assert_float_eq(out[i], 14.0f);
    rt_buffer_destroy(x);
    rt_buffer_destroy(y);
}
END_TEST

START_TEST(timestamps_give_a_time_per_dispatch)
{
    rt_buffer *b = upload(NULL, 1 << 16);
    rt_cmd *c;
    ck_assert(rt_cmd_begin(th_ctx(), RT_CMD_TIMESTAMPS, &c) == 0);
    ck_assert(rt_fill(c, b, 0, 1 << 16, 1.0f) == 0);
    ck_assert(rt_fill(c, b, 0, 1 << 16, 2.0f) == 0);
    ck_assert(rt_cmd_submit(c, 1) == 0);
    double ms;
    const char *label;
    ck_assert_msg(rt_cmd_timing(c, 1, &ms, &label) == 0, "%s", rt_error());
    ck_assert_str_eq(label, "fill");
    ck_assert(ms >= 0 && ms < 10000);
    ck_assert_int_eq(rt_cmd_timing(c, 2, &ms, &label), -1);
    rt_cmd_free(c);
    rt_buffer_destroy(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("memory");
    th_validated(tc);
    tcase_add_test(tc, buffer_round_trip_keeps_every_byte);
    tcase_add_test(tc, buffers_are_reused_after_free);
    tcase_add_test(tc, out_of_range_access_is_an_error_naming_the_size);
    tcase_add_test(tc, huge_allocation_fails_with_the_request_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("kernels");
    th_validated(tc);
    tcase_add_test(tc, unknown_kernel_is_an_error);
    tcase_add_test(tc, wrong_binding_count_is_an_error);
    tcase_add_test(tc, validation_messages_are_counted);
    tcase_add_test(tc, fill_copy_axpy_match_reference_on_odd_sizes);
    tcase_add_test(tc, fill_covers_more_than_65535_groups);
    tcase_add_loop_test(tc, matmul_matches_reference_all_layouts, 0, 4);
    tcase_add_test(tc, matmul_every_variant_matches_reference);
    tcase_add_test(tc, matmul_ones_row_gives_the_column_sums_of_b);
    tcase_add_test(tc, matmul_variant_from_the_environment_is_checked);
    tcase_add_test(tc, kernels_split_their_groups_within_a_small_device_limit);
    tcase_add_test(tc, a_kernel_past_the_descriptor_limits_is_refused_naming_its_counts);
    tcase_add_test(tc, matmul_past_65535_block_rows_matches_reference);
    tcase_add_test(tc, matmul_rejects_bad_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("synchronization");
    tcase_add_test(tc, synchronization_validation_reports_a_missing_barrier);
    tcase_add_test(tc, best_practices_find_nothing_in_a_training_step);
    suite_add_tcase(s, tc);
    tc = tcase_create("recording");
    th_validated(tc);
    tcase_add_test(tc, barriers_only_between_dependent_dispatches);
    tcase_add_test(tc, resubmitting_replays_the_recorded_work);
    tcase_add_test(tc, timestamps_give_a_time_per_dispatch);
    suite_add_tcase(s, tc);
    return th_run(s);
}
